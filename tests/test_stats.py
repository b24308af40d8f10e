"""Tests of expreg_nb.stats: the Wilson score interval and the cluster bootstrap."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb.stats import bootstrap_interval, wilson_interval


def test_known_values():
    # Reference values (Wilson 1927 formula, z = 1.96), e.g. Newcombe (1998), Table I: 81/263
    lo, hi = wilson_interval(81, 263)
    # rules out: the Wald interval p +- z sqrt(p(1-p)/N) = (0.2522, 0.3638)
    assert abs(lo - 0.2553) < 5e-4 and abs(hi - 0.3662) < 5e-4
    # rules out: an interval that collapses to a point at 0/N or N/N (Wald gives (0, 0))
    lo0, hi0 = wilson_interval(0, 4)
    assert lo0 == 0.0 and abs(hi0 - 0.4899) < 5e-4
    lo4, hi4 = wilson_interval(4, 4)
    assert abs(lo4 - 0.5101) < 5e-4 and hi4 == 1.0


def test_coverage_by_simulation():
    rng = np.random.default_rng(0)
    N, p = 20, 0.3
    k = rng.binomial(N, p, size=20000)
    lo, hi = wilson_interval(k, np.full_like(k, N))
    cover = np.mean((lo <= p) & (p <= hi))
    # rules out: a wrong z (z = 1 covers about 0.68) or a swapped center
    assert 0.93 < cover < 0.98


def test_arrays_and_validation():
    lo, hi = wilson_interval(np.array([0, 2, 4]), np.array([4, 4, 4]))
    assert lo.shape == (3,) and (lo <= hi).all() and (0 <= lo).all() and (hi <= 1).all()
    assert abs(lo[1] + hi[1] - 1.0) < 1e-12            # symmetric at p = 1/2
    with pytest.raises(ValueError, match="trials"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 4)
    with pytest.raises(TypeError, match="successes"):
        wilson_interval(1.5, 4)
    with pytest.raises(ValueError, match="z"):
        wilson_interval(1, 4, z=-1.0)


# --------------------------------------------------------------------------- bootstrap_interval
def _clustered(rng, groups=8, per=12, between=1.0, within=0.1):
    """Rows whose values share a strong group effect: group g has mean 5 + between * z_g."""
    means = 5.0 + between * rng.standard_normal(groups)
    values = np.repeat(means, per) + within * rng.standard_normal(groups * per)
    return values, np.repeat(np.arange(groups), per), means


def _weighted_mean(v, weights):
    return weights @ v / weights.sum(axis=1)


def test_bootstrap_modes_resample_the_same_groups():
    v, g, _ = _clustered(np.random.default_rng(0))
    vec = bootstrap_interval(_weighted_mean, v, groups=g, n_boot=300, seed=3, vectorized=True)
    loop = bootstrap_interval(np.mean, v, groups=g, n_boot=300, seed=3)
    # rules out: the vectorized (weights) and the per-resample (repeated rows) modes drawing different
    # resamples, or weights that are not the groups' multiplicities
    np.testing.assert_allclose(vec, loop, rtol=1e-12)
    assert vec.estimate == pytest.approx(v.mean(), rel=1e-12) and vec.low < vec.estimate < vec.high
    # rules out: a seed that is ignored (same seed, same interval; another seed, another one)
    assert bootstrap_interval(np.mean, v, groups=g, n_boot=300, seed=3) == loop
    assert bootstrap_interval(np.mean, v, groups=g, n_boot=300, seed=4) != loop


def test_bootstrap_width_is_set_by_the_groups():
    v, g, means = _clustered(np.random.default_rng(1))
    est, low, high = bootstrap_interval(_weighted_mean, v, groups=g, n_boot=4000, vectorized=True)
    # the group bootstrap of a balanced mean has the spread of the group means: sd(means) / sqrt(G)
    expected = 2 * 1.96 * means.std() / np.sqrt(means.size)
    # rules out: resampling rows (12 rows per group: about sqrt(12) = 3.5 times narrower)
    assert 0.85 * expected < high - low < 1.15 * expected
    _, rlow, rhigh = bootstrap_interval(_weighted_mean, v, groups=np.arange(v.size), n_boot=4000,
                                        vectorized=True)
    assert rhigh - rlow < 0.5 * (high - low)
    # rules out: a level that is ignored (a 50% interval is about 2.9 times narrower than a 95% one)
    _, l50, h50 = bootstrap_interval(_weighted_mean, v, groups=g, n_boot=4000, vectorized=True, level=0.5)
    assert 2.3 < (high - low) / (h50 - l50) < 3.5


def test_bootstrap_non_finite_resamples():
    # NaN whenever group 0 is missing from a resample: (2/3)^3 = 30% of resamples of 3 groups
    g = np.repeat([0, 1, 2], 4)
    v = np.arange(12.0)

    def needs_group_0(x, labels):
        return float(x.mean()) if (labels == 0).any() else np.nan

    # rules out: NaN replicates passed silently into the quantiles
    with pytest.raises(ValueError, match="NaN or inf on [0-9]+ of 500 resamples"):
        bootstrap_interval(needs_group_0, v, g, groups=g, n_boot=500)
    with pytest.warns(RuntimeWarning, match="omitted"):
        est, low, high = bootstrap_interval(needs_group_0, v, g, groups=g, n_boot=500, nan_policy="omit")
    assert np.isfinite([est, low, high]).all() and low <= est <= high
    g4 = np.repeat([0, 1, 2, 3], 3)            # all four present in only 4!/4^4 = 9% of resamples

    def needs_all(x, labels):
        return float(x.mean()) if np.unique(labels).size == 4 else np.nan

    with pytest.raises(ValueError, match="more than half"):
        bootstrap_interval(needs_all, v, g4, groups=g4, n_boot=500, nan_policy="omit")
    with pytest.raises(ValueError, match="on the data"):
        bootstrap_interval(lambda x: np.nan, v, groups=g, n_boot=100)


def test_bootstrap_validation():
    v, g = np.arange(6.0), np.repeat([0, 1, 2], 2)
    # rules out: a one-group "bootstrap" returning a zero-width interval instead of an error
    with pytest.raises(ValueError, match="groups holds 1 distinct group"):
        bootstrap_interval(np.mean, v, groups=np.zeros(6))
    with pytest.raises(ValueError, match="groups has 5 labels"):
        bootstrap_interval(np.mean, v, groups=g[:5])
    with pytest.raises(ValueError, match="groups must not contain NaN"):
        bootstrap_interval(np.mean, v, groups=np.array([0, 1, np.nan, 1, 0, 1]))
    with pytest.raises(TypeError, match="statistic"):
        bootstrap_interval(3.0, v, groups=g)
    with pytest.raises(TypeError, match="at least one data array"):
        bootstrap_interval(np.mean, groups=g)
    with pytest.raises(ValueError, match="arrays\\[1\\] has 5 rows"):
        bootstrap_interval(np.mean, v, v[:5], groups=g)
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(np.mean, v, groups=g, level=95)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_interval(np.mean, v, groups=g, n_boot=10)
    with pytest.raises(TypeError, match="seed"):
        bootstrap_interval(np.mean, v, groups=g, seed=0.5)
    with pytest.raises(ValueError, match="nan_policy"):
        bootstrap_interval(np.mean, v, groups=g, nan_policy="ignore")
    with pytest.raises(TypeError, match="one real number"):
        bootstrap_interval(lambda x: x, v, groups=g)
    with pytest.raises(ValueError, match="must return shape"):
        bootstrap_interval(lambda x, weights: float(x.mean()), v, groups=g, vectorized=True)
