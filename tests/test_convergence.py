"""Tests of Part I, Chapter 4: expreg_nb.exponential.experiments and the Chapter 4 section of expreg_nb.exponential.bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import data, to_numpy
from expreg_nb.exponential import bounds
from expreg_nb.exponential import theorem as th
from expreg_nb.exponential import experiments as exps
from expreg_nb.stats import loglog_slope
from expreg_nb import exponential as ex


@pytest.fixture
def small(xp):
    X = data.sphere(6, 4, seed=1)
    y = data.labels(6, seed=1)
    return X, y


# --------------------------------------------------------------------------- loglog_slope, late_rate
def test_loglog_slope_recovers_power_law():
    x = np.array([2.0, 4.0, 8.0, 16.0])
    assert loglog_slope(x, 3.0 * x**-0.5) == pytest.approx(-0.5, abs=1e-12)
    assert loglog_slope(x, x**2) == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize("x, y, err", [
    ([1.0, 2.0], [1.0], ValueError),
    ([1.0, -2.0], [1.0, 1.0], ValueError),
    ([2.0, 2.0], [1.0, 3.0], ValueError),
    ("ab", [1.0], TypeError),
])
def test_loglog_slope_validates(x, y, err):
    with pytest.raises(err):
        loglog_slope(x, y)


def test_late_rate_of_geometric_loss():
    q = 0.93
    loss = 5.0 * q ** (2 * np.arange(600))
    assert exps.late_rate(loss) == pytest.approx(q, rel=1e-12)


def test_late_rate_validates():
    with pytest.raises(ValueError, match="window"):
        exps.late_rate(np.ones(10))
    with pytest.raises(ValueError, match="window"):
        exps.late_rate(np.ones(10), window=(1e-2, 1e-3))
    with pytest.raises(ValueError, match="positive"):
        exps.late_rate(np.zeros(10))


# --------------------------------------------------------------------------- one-step split
def test_one_step_remainder_matches_formula_and_bound(small, xp):
    X, y = small
    W, a = ex.init_params(64, 4, seed=3)
    eta = 0.02
    s = exps.one_step_remainder(W, a, X, y, eta=eta)
    # direct formula v_i = m^{-1/2} sum_r a_r E_ri (e^delta - 1 - delta)
    Wn, an, Xn = to_numpy(W), to_numpy(a), to_numpy(X)
    W1 = Wn - eta * to_numpy(ex.grad(W, a, X, y))
    E, D = np.exp(Wn @ Xn.T), (W1 - Wn) @ Xn.T
    v = an @ (E * (np.expm1(D) - D)) / math.sqrt(64)
    assert np.allclose(s.v, v, rtol=1e-7, atol=1e-13)
    assert np.allclose(s.e_next - s.e, s.linear + s.v, atol=1e-12)
    assert s.delta_max == pytest.approx(np.abs(D).max(), rel=1e-12)
    assert s.B1 == pytest.approx(E.max(), rel=1e-12)
    if s.delta_max <= bounds.R_MAX:
        assert np.linalg.norm(s.v) <= bounds.remainder_bound(eta, s.B1, 6, 64, np.linalg.norm(s.e))


def test_one_step_remainder_validates(small):
    X, y = small
    W, a = ex.init_params(8, 4, seed=0)
    with pytest.raises(ValueError, match="eta"):
        exps.one_step_remainder(W, a, X, y, eta=0.0)
    with pytest.raises(ValueError, match="y"):
        exps.one_step_remainder(W, a, X, y[:3], eta=0.1)


# --------------------------------------------------------------------------- step-size threshold
def test_step_size_threshold_brackets_near_quadratic_limit(small):
    X, y = small
    m = 256
    W0, _ = ex.init_params(m, 4, seed=0)
    edge = 2.0 / float(np.linalg.eigvalsh(to_numpy(ex.gram(W0, X)))[-1])
    lo, hi = exps.step_size_threshold(X, y, m=m, seed=0, eta_lo=0.5 * edge, eta_hi=4 * edge,
                                      steps=200, iters=6, criterion="monotone")
    assert lo < hi and hi / lo == pytest.approx(8 ** (2.0**-6), rel=1e-9)
    assert 0.8 <= lo / edge <= 1.3


def test_step_size_threshold_validates(small):
    X, y = small
    with pytest.raises(ValueError, match="criterion"):
        exps.step_size_threshold(X, y, m=16, seed=0, eta_lo=0.01, eta_hi=1.0, criterion="nope")
    with pytest.raises(ValueError, match="eta_lo"):
        exps.step_size_threshold(X, y, m=16, seed=0, eta_lo=1.0, eta_hi=0.5)
    with pytest.raises(ValueError, match="eta_hi"):
        exps.step_size_threshold(X, y, m=64, seed=0, eta_lo=1e-4, eta_hi=2e-4, steps=20)


# --------------------------------------------------------------------------- smallest width
def test_smallest_width_finds_a_passing_width(small):
    X, y = small
    H = to_numpy(ex.gram_star(X))
    ev = np.linalg.eigvalsh(H)
    eta = 1.0 / ev[-1]
    res = exps.smallest_width(X, y, lam=ev[0], eta=eta, steps=int(3 * math.log(1e6) / (eta * ev[0])),
                              widths=[8, 32, 128, 512, 2048], seeds=(0, 1))
    assert res.m_min is not None
    assert res.passed[-1] == 1.0 and np.all(res.passed[:-1] < 1.0)
    assert res.widths[-1] == res.m_min
    assert np.all(res.init_failed <= 1.0 - res.passed)
    # an impossible requirement fails everywhere
    none = exps.smallest_width(X, y, lam=1e3, eta=eta, steps=10, widths=[8, 16], seeds=(0,))
    assert none.m_min is None and np.all(none.passed == 0) and np.all(none.init_failed == 1)


def test_smallest_width_validates(small):
    X, y = small
    with pytest.raises(ValueError, match="widths"):
        exps.smallest_width(X, y, lam=1.0, eta=0.1, steps=10, widths=[])
    with pytest.raises(ValueError, match="lam"):
        exps.smallest_width(X, y, lam=-1.0, eta=0.1, steps=10, widths=[8])


# --------------------------------------------------------------------------- movement
def test_movement_sweep_scalings(small):
    X, y = small
    eta = 1.0 / float(np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))[-1])
    widths = [512, 2048, 8192]
    norm = exps.movement_sweep(X, y, widths=widths, eta=eta, seeds=(0,), coupled=True)
    unnorm = exps.movement_sweep(X, y, widths=widths, eta=eta, seeds=(0,), normalized=False, coupled=True)
    assert np.all(norm.max >= norm.rms)
    assert -0.7 <= loglog_slope(widths, norm.rms) <= -0.35
    assert -1.2 <= loglog_slope(widths, unnorm.rms) <= -0.8


def test_movement_sweep_reports_non_convergence(small):
    X, y = small
    with pytest.raises(ValueError, match="steps"):
        exps.movement_sweep(X, y, widths=[64], eta=1e-4, seeds=(0,), steps=3)


def test_same_seed_same_numbers(small):
    X, y = small
    a = exps.movement_sweep(X, y, widths=[128], eta=0.05, seeds=(4,))
    b = exps.movement_sweep(X, y, widths=[128], eta=0.05, seeds=(4,))
    assert np.array_equal(a.rms, b.rms)


# --------------------------------------------------------------------------- Chapter 4 bounds
def test_remainder_bound_formula_and_validation():
    val = bounds.remainder_bound(0.01, 3.0, 16, 1024, 2.0)
    assert val == pytest.approx(bounds.TAYLOR_C * 1e-4 * 27 * 64 * 4 / 32, rel=1e-12)
    with pytest.raises(ValueError, match="eta"):
        bounds.remainder_bound(0.0, 3.0, 16, 1024, 2.0)
    with pytest.raises(TypeError, match="B1"):
        bounds.remainder_bound(0.1, "x", 16, 1024, 2.0)


def test_step_sizes():
    B = bounds.truncation_bound(1024, 16, 0.1)
    eta = bounds.theorem_step_size(16, B)
    # eta * n * B_1^2 = 1 at R = R_MAX
    assert eta * 16 * bounds.moved_level(B, bounds.R_MAX) ** 2 == pytest.approx(1.0, rel=1e-12)
    assert bounds.du_style_step_size(2.0, 16, B) == pytest.approx(2.0 / (256 * B**4), rel=1e-12)
    assert not hasattr(bounds, "paper_step_size")   # rules out: calling it the paper's step size
    assert np.allclose(bounds.theorem_step_size(np.array([4.0, 8.0]), 2.0), [1 / (16 * math.e**0.2), 1 / (32 * math.e**0.2)])
    with pytest.raises(ValueError, match="n"):
        bounds.theorem_step_size(0, B)


def test_theorem_width_is_a_fixed_point():
    lam, n, e0, g, delta = 1.8, 16, 4.0, 3.0, 0.1
    m = bounds.theorem_width(lam, n, e0, g, delta)
    B = bounds.truncation_bound(m, n, delta)
    R = bounds.safe_radius(lam, n, B)
    B1 = bounds.moved_level(B, R)
    assert bounds.movement_bound(B1, n, m, e0, lam) <= R * (1 + 1e-9)
    assert m >= bounds.chernoff_width(lam, B, g, n, delta) * (1 - 1e-9)
    # the concentration condition includes the truncation bias: (1 - eps)(lam - bias) >= 3 lam / 4
    assert m >= bounds.chernoff_width_biased(lam, B, g, n, delta) * (1 - 1e-9)
    assert bounds.chernoff_lambda_min(lam, m, B, g, n, delta) >= 0.75 * lam
    # more points need more width
    assert bounds.theorem_width(lam, 2 * n, e0, g, delta) > m
    with pytest.raises(ValueError, match="delta"):
        bounds.theorem_width(lam, n, e0, g, 1.5)


# --------------------------------------------------------------------------- the complete theorem
def test_deterministic_theorem_width_is_a_fixed_point_with_the_residual_bound():
    lam, n, G, delta = 2.0, 32, 3.0, 0.1
    for coupled in (False, True):
        m = th.deterministic_theorem_width(lam, n, G, delta, coupled=coupled)
        B = bounds.truncation_bound(m, n, delta)
        R = bounds.safe_radius(lam, n, B)
        E0 = th.initial_residual_bound(n, B, delta, coupled=coupled)
        rhs = max(bounds.chernoff_width_biased(lam, B, G, n, delta),
                  (4 * bounds.moved_level(B, R) * math.sqrt(n) * E0 / (lam * R)) ** 2)
        assert m == pytest.approx(rhs, rel=1e-9)                  # rules out: not a fixed point
        # rules out: a residual bound other than the lemma's (independent) or ||y|| <= sqrt(n) (coupled)
        want = math.sqrt(n) if coupled else math.sqrt(n) * (1 + B * math.sqrt(2 * math.log(8 * n / delta)))
        assert E0 == pytest.approx(want)
    assert th.deterministic_theorem_width(lam, n, G, delta) > th.deterministic_theorem_width(
        lam, n, G, delta, coupled=True)                           # rules out: the initial residual ignored
    with pytest.raises(ValueError, match="delta"):
        th.deterministic_theorem_width(lam, n, G, 2.0)


def test_theorem_steps_reach_eps():
    lam, n, B, e0, eps = 1.5, 16, 40.0, 12.0, 0.05
    T = th.theorem_steps(lam, n, B, e0, eps)
    eta = bounds.theorem_step_size(n, B)
    envelope = lambda t: (1 - eta * lam / 2) ** (t / 2) * e0     # ||e(t)|| <= sqrt(L-envelope)
    assert envelope(T) <= eps                                      # rules out: a T short of eps
    assert math.exp(-eta * lam * (T - 1) / 4) * e0 > eps           # rules out: a T larger than the formula
    assert th.theorem_steps(lam, n, B, 0.01, eps) == 0


# --------------------------------------------------------------------------- lazy training
def _exact_lazy(eta=0.05, steps=400, n=6, seed=0, speed=1.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T / n + np.eye(n)
    lam, V = np.linalg.eigh(H)
    e0 = rng.standard_normal(n)
    t = np.arange(steps + 1)[:, None]
    lin = ((1 - eta * lam) ** t * (V.T @ e0)) @ V.T
    net = ((1 - eta * speed * lam) ** t * (V.T @ e0)) @ V.T
    return exps.LazyRun(m=8, seed=seed, eta=eta, e_net=net, e_lin=lin, lam0=lam, V0=V,
                        lamT_min=speed * lam[0])


def test_lazy_measures_on_exact_dynamics():
    same = _exact_lazy()
    assert np.allclose(exps.relative_gap(same), 0)                       # rules out: a gap without a difference
    k, err = exps.mode_rate_errors(same)
    assert len(k) >= 3 and np.allclose(err, 0, atol=1e-9)               # rules out: errors on exact decay
    assert exps.late_rate_ratio(same, window=(1e-12, 1e-4)) == pytest.approx(1.0, rel=1e-6)
    fast = _exact_lazy(speed=1.3)
    # rules out: a ratio that is not ln q_net / ln q_lin (here the rates scale by 1.3)
    assert exps.late_rate_ratio(fast, window=(1e-12, 1e-4)) == pytest.approx(
        math.log(1 - 0.05 * 1.3 * fast.lam0[0]) / math.log(1 - 0.05 * fast.lam0[0]), rel=1e-3)
    k, err = exps.mode_rate_errors(fast)
    assert np.all(err > 0.2)                                             # rules out: blind to a 30% faster decay
    norms = np.linalg.norm(same.e_lin, axis=1)
    t3 = exps.progress_step(same, 1e-3)
    assert norms[t3] <= 1e-3 * norms[0] < norms[t3 - 1]                 # rules out: an off-by-one step
    with pytest.raises(ValueError, match="run longer"):
        exps.progress_step(same, 1e-30)


def test_lazy_runs_linearization_is_the_kernel_recursion(small):
    X, y = small
    eta = 0.5 / np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))[-1]
    runs = exps.lazy_runs(X, y, widths=[16, 64], seeds=[0], eta=eta, steps=30)
    assert [r.m for r in runs] == [16, 64]
    for r in runs:
        assert r.e_net.shape == r.e_lin.shape == (31, X.shape[0])
        assert np.allclose(r.e_net[0], r.e_lin[0])                       # rules out: different starts
        W0, _ = ex.init_params(r.m, X.shape[1], seed=0)
        H0 = to_numpy(ex.gram(W0, X))
        assert np.allclose(r.lam0, np.linalg.eigvalsh(H0))               # rules out: a kernel other than H(0)
        e1 = r.e_lin[0] - eta * H0 @ r.e_lin[0]
        assert np.allclose(r.e_lin[1], e1)                               # rules out: a recursion other than I - eta H(0)
    with pytest.raises(ValueError):
        exps.lazy_runs(X, y, widths=[], seeds=[0], eta=eta, steps=3)
