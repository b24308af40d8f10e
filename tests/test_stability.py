"""Tests of expreg_nb.stability: the step-size search, the stability verdict, stalls, and the
closed-form run of a constant kernel."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import stability as st
from expreg_nb.training import gradient_descent


def _threshold_run(c_star, log):
    """A run that is stable exactly for c <= c_star (records what was tried)."""
    def run(c):
        log.append(c)
        return st.Attempt(c, c <= c_star + 1e-12, "stable" if c <= c_star + 1e-12 else "unstable")
    return run


@pytest.mark.parametrize("start", [0, 2, 5, 13])
@pytest.mark.parametrize("k_star", [0, 1, 4, 9, 13])
def test_largest_stable_finds_the_threshold_from_any_start(start, k_star):
    grid = st.GRID
    log = []
    out = st.largest_stable(_threshold_run(grid[k_star], log), grid, start)
    # rules out: a search that only lowers c (from a start below the threshold it must go up),
    # or that stops at the first stable scale instead of the largest
    assert out.c == grid[k_star] and out.attempt.c == grid[k_star]
    # rules out: an answer not backed by a run one grid step above that failed
    assert (math.isnan(out.c_above) if k_star == 0 else out.c_above == grid[k_star - 1])
    if k_star > 0:
        assert grid[k_star - 1] in log
    # rules out: a linear scan of the whole grid (bisection after a doubling bracket)
    assert out.tries <= 2 * math.ceil(math.log2(len(grid))) + 2
    assert out.tries == len(set(log))


def test_largest_stable_when_nothing_is_stable_and_validation():
    out = st.largest_stable(_threshold_run(0.0, []), st.GRID, 3)
    # rules out: returning an unstable scale when no grid scale is stable
    assert out.attempt is None and math.isnan(out.c)
    with pytest.raises(ValueError, match="decreasing"):
        st.largest_stable(_threshold_run(1.0, []), [0.1, 0.2])
    with pytest.raises(ValueError, match="start"):
        st.largest_stable(_threshold_run(1.0, []), st.GRID, 99)
    with pytest.raises(TypeError, match="Attempt"):
        st.largest_stable(lambda c: True, st.GRID)
    with pytest.raises(TypeError, match="run"):
        st.largest_stable(3.0)


def test_judge_every_branch():
    falling = np.array([4.0, 2.0, 1.0, 0.5])
    assert st.judge(1.0, falling, 1.2).stable
    # rules out: accepting a run whose curvature proxy passed the margin
    a = st.judge(1.0, falling, st.ACCEPT)
    assert not a.stable and "lambda_max" in a.reason
    # rules out: accepting a run whose loss rose by more than MAX_RISE in a step
    rising = np.array([4.0, 2.0, 2.0 * (1 + 2 * st.MAX_RISE), 0.5])
    b = st.judge(1.0, rising, 1.0)
    assert not b.stable and "rose" in b.reason and b.rises == 1
    # a rise below the threshold is recorded but accepted
    small = np.array([4.0, 2.0, 2.0 * (1 + 0.5 * st.MAX_RISE), 0.5])
    c = st.judge(1.0, small, 1.0)
    assert c.stable and c.rises == 1 and abs(c.max_rise - 0.5 * st.MAX_RISE) < 1e-12
    d = st.judge(1.0, np.array([1.0, np.inf]), 1.0)
    assert not d.stable and "diverged" in d.reason
    e = st.judge(1.0, falling, 1.0, aborted="lambda_max too large at step 3")
    assert not e.stable and e.result is None


def test_loss_rises_and_stall():
    assert st.loss_rises([3.0, 2.0, 2.5, 1.0, 1.1]) == (2, 0.25)
    assert st.loss_rises([3.0]) == (0, 0.0)
    assert st.stall_window(1000, 10) == 100 and st.stall_window(15, 10) == 10
    assert st.stalled(0.9999, 1.0) and not st.stalled(0.99, 1.0)


def _quadratic(n=30, seed=0, null=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1e-3, 1.0, n)
    lam[:null] = 0.0
    K = (Q * lam) @ Q.T
    return K, rng.standard_normal(n)


def test_linear_run_is_gradient_descent_on_the_quadratic():
    K, e0 = _quadratic()
    lam, V = np.linalg.eigh(K)
    mu, beta = lam / lam[-1], (V.T @ e0) ** 2
    c, tol, steps = 1.2, 1e-3, 20000
    run = st.linear_run(mu, beta, c, steps=steps, tol=tol, record_every=7)
    # the same descent, iterated: e <- e - (c / lambda_max) K e
    e, k = e0.copy(), 0
    L0 = 0.5 * e0 @ e0
    while 0.5 * e @ e > tol * L0:
        e = e - (c / lam[-1]) * (K @ e)
        k += 1
    # rules out: a closed form off by one step, or checking tol only at recorded steps
    assert run.converged and run.steps == k
    assert abs(run.loss[-1] - 0.5 * e @ e) < 1e-9 * L0
    # rules out: a wrong exponent (e.g. (1 - c mu)^t instead of ^(2t) on the squared coefficients)
    params, hist = gradient_descent({"e": e0}, lambda p: (p["e"], {"e": K @ p["e"]}), {"e": c / lam[-1]}, 50,
                                    progress=False)
    r50 = st.linear_run(mu, beta, c, steps=50, tol=1e-30, record_every=50)
    assert abs(r50.loss[-1] - hist.loss[-1]) < 1e-10 * hist.loss[0]


def test_linear_run_stalls_on_a_null_direction_and_reports_the_floor():
    K, e0 = _quadratic(null=3)
    lam, V = np.linalg.eigh(K)
    mu, beta = np.clip(lam / lam[-1], 0, 1), (V.T @ e0) ** 2
    run = st.linear_run(mu, beta, 1.6, steps=100000, tol=1e-6, record_every=10)
    floor = beta[:3].sum() / beta.sum()
    # rules out: a floor other than the mass of e(0) on the null space
    assert abs(run.floor - floor) < 1e-9
    # rules out: running a stuck descent to the end of a large budget (a stall stops it)
    assert run.stalled and not run.converged and run.steps < 100000
    assert run.relative_loss >= floor * (1 - 1e-12)
    with pytest.raises(ValueError, match="diverges"):
        st.linear_run(mu, beta, 2.5, steps=10, tol=1e-3)
    with pytest.raises(ValueError, match="mu"):
        st.linear_run(mu * 3, beta, 1.0, steps=10, tol=1e-3)
    with pytest.raises(ValueError, match="beta"):
        st.linear_run(mu, -beta, 1.0, steps=10, tol=1e-3)


def test_grid_is_geometric_and_reaches_the_exact_limit():
    g = np.array(st.GRID)
    # rules out: a grid top that caps a constant-kernel model below its exact limit c < 2
    # (the earlier 1.6 with a 1.8 margin), or a top at the limit itself
    assert 1.98 <= g[0] < st.ACCEPT == 2.0 and np.allclose(g[1:] / g[:-1], 2 ** -0.25)
