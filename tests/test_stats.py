"""Tests of expreg_nb.stats: the Wilson score interval."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb.stats import wilson_interval


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
