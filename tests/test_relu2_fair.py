"""Tests of expreg_nb.relu2.fair: the fair comparison of a model and its linearization, every branch
of the criterion on constructed models where the answer is known, and the sweep task's row."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import relu2, stability as st
from expreg_nb.relu2 import experiments as ex
from expreg_nb.relu2 import fair
from expreg_nb.training import DivergenceError, Model, linearize, train


def toy(g, jac, theta0):
    """A Model with outputs u = g(theta) (blocks "W" = theta and an inert "a")."""
    def forward(p, X):
        return g(p["W"])

    def vjp(p, X, e, need):
        out = {}
        if "W" in need:
            out["W"] = jac(p["W"]).T @ e
        if "a" in need:
            out["a"] = np.zeros(1)
        return out

    def jvp(p, X, t):
        return jac(p["W"]) @ t.get("W", np.zeros_like(p["W"]))

    def gram(p, X, need):
        J = jac(p["W"])
        return {k: (J @ J.T if k == "W" else np.zeros((J.shape[0],) * 2)) for k in need}

    def rg(p, X, y, need):
        e = forward(p, X) - y
        return e, vjp(p, X, e, need)

    p0 = {"W": np.asarray(theta0, dtype=float), "a": np.zeros(1)}
    return Model("toy", ("W", "a"), ("W", "a"), lambda m, d, s: dict(p0), forward, rg, jvp, vjp, gram,
                 lambda p, X: {k: np.asarray(v, dtype=float) for k, v in p.items()}), p0


def _outcome(model, p0, y, steps=4000, tol=1e-3):
    X = np.zeros((len(y), 1))
    out = fair.fair_compare(model, p0, X, np.asarray(y, dtype=float), ratio=0.0, steps=steps, tol=tol)
    nf, ns, _ = fair._fit(out["net"].attempt, tol)
    lf, ls, _ = fair._fit(out["lin"].attempt, tol)
    return fair.compare_fits(nf, ns, lf, ls), out


def test_network_only_where_the_linearization_is_rank_deficient():
    # u = (theta, theta^2): the curve passes through y = (1, 1), its tangent line at 0.2 does not
    m, p0 = toy(lambda t: np.array([t[0], t[0] ** 2]), lambda t: np.array([[1.0], [2 * t[0]]]), [0.2])
    outcome, out = _outcome(m, p0, [1.0, 1.0])
    # rules out: a criterion that calls a fit by the network "comparable" when its control cannot fit
    assert outcome == "net only"
    assert out["lin"].attempt.result.floor > 1e-2 and out["lin"].attempt.stalled


def test_neither_when_the_target_is_off_the_curve():
    m, p0 = toy(lambda t: np.array([t[0], t[0] ** 2]), lambda t: np.array([[1.0], [2 * t[0]]]), [0.2])
    outcome, out = _outcome(m, p0, [1.0, -1.0])
    # rules out: a stall (or a budget) counted as a fit
    assert outcome == "neither" and out["net"].attempt.stalled


def test_linearization_faster_when_the_network_sharpens():
    # u = (theta_1^3, eps theta_2): from theta_1 = 0.5 to 1 the kernel 9 theta_1^4 grows 16x, so the
    # network's stable c is ~16x smaller, and the direction both must fit (eps) is slower by as much
    # (the linearization at c = 1.99 fits its top direction at |1 - c| = 0.99 a step: ~300 steps)
    eps = math.sqrt(0.01)
    m, p0 = toy(lambda t: np.array([t[0] ** 3, eps * t[1]]), lambda t: np.diag([3 * t[0] ** 2, eps]), [0.5, 0.0])
    outcome, out = _outcome(m, p0, [1.0, 1.0])
    # rules out: a network trained at the linearization's step (it would diverge) or vice versa
    assert outcome == "lin faster"
    assert out["net"].c <= st.ACCEPT / 16 + 1e-12 and out["lin"].c == st.GRID[0]
    assert out["net"].attempt.max_lambda_max < st.ACCEPT


def test_network_faster_when_its_slow_direction_speeds_up():
    # u = (theta_1, theta_2^2 / 2): the second direction's kernel theta_2^2 grows from 0.01 to 1
    m, p0 = toy(lambda t: np.array([t[0], t[1] ** 2 / 2]), lambda t: np.diag([1.0, t[1]]), [0.0, 0.1])
    outcome, out = _outcome(m, p0, [1.0, 0.5])
    # rules out: a criterion that never favours the network
    assert outcome == "net faster"
    assert fair.speedup(True, out["net"].attempt.steps, True, out["lin"].attempt.steps) >= fair.SLOWER


def test_comparable_for_a_linear_model():
    A = np.random.default_rng(0).standard_normal((5, 5))
    m, p0 = toy(lambda t: A @ t, lambda t: A, np.zeros(5))
    outcome, out = _outcome(m, p0, np.ones(5))
    # rules out: a model and its own linearization judged differently (same rule, same steps)
    assert outcome == "comparable" and out["net"].c == out["lin"].c
    assert out["net"].attempt.steps == out["lin"].attempt.steps


@pytest.mark.parametrize("args, expected", [
    ((True, 10, False, 0), "net only"), ((False, 0, True, 10), "lin only"), ((False, 0, False, 0), "neither"),
    ((True, 10, True, 20), "net faster"), ((True, 20, True, 10), "lin faster"), ((True, 10, True, 19), "comparable"),
    ((True, 19, True, 10), "comparable"),
])
def test_compare_fits_branches(args, expected):
    # rules out: a factor other than SLOWER, or a branch that ignores one model
    assert fair.compare_fits(*args) == expected
    with pytest.raises(ValueError, match="slower"):
        fair.compare_fits(True, 1, True, 1, slower=0.5)


def test_speedup_values():
    assert fair.speedup(True, 10, True, 30) == 3.0 and fair.speedup(True, 5, False, 0) == math.inf
    assert fair.speedup(False, 0, True, 5) == 0.0 and math.isnan(fair.speedup(False, 0, False, 0))


def test_closed_form_linearization_matches_training_linearize():
    X, y = ex.problem(24, 6, data_seed=3)
    model = relu2.model()
    p0 = model.init(8, 6, 3)
    out = fair.fair_compare(model, p0, X, y, ratio=1.0, steps=3000, tol=1e-3)
    lin = out["lin"].attempt
    rates = {k: lin.c * v for k, v in out["rates1"].items()}
    res = train(linearize(model, p0), X, y, init=p0, rates=rates, steps=3000, tol=1e-3, progress=False)
    # rules out: a closed form that is not the linearization's gradient descent
    assert res.history.steps == lin.steps
    assert abs(res.relative_loss - lin.result.relative_loss) < 1e-8


def test_fair_task_row_is_consistent():
    row = fair.fair_task(n=32, d=8, md_over_n=3.0, ratio="lecun", data_seed=0, init_seed=0)
    assert row["m"] == 12 and row["ratio_value"] == 12 / 8
    # rules out: a reported run outside the stability rule
    assert row["max_lambda_max"] < st.ACCEPT and row["max_rise"] <= st.MAX_RISE
    assert row["net_fit"] == (row["net_rel_loss"] <= 1e-3)
    assert row["outcome"] == fair.compare_fits(row["net_fit"], row["net_steps"], row["lin_fit"],
                                               row["lin_steps"])
    assert row["beyond"] == (row["outcome"] in ("net only", "net faster"))
    # the linearization's largest stable step is the top of the grid (its kernel never moves)
    assert row["lin_c"] == st.GRID[0]
    assert row["kappa0"] > 0 and row["lmin0"] <= row["lmax0"] and 0 <= row["angle_max"] <= 90
    assert 0 <= row["balance_drift"] < 0.2


def test_budget_scales_with_kappa_and_validation():
    b1 = fair.budget_steps(64, 8, 0, 1.0, 5.0, 1e-3)
    b2 = fair.budget_steps(64, 8, 0, 1.0, 50.0, 1e-3)
    k = fair.kappa_bound(64, 8, 0, 1.0)
    assert b2 >= 9.9 * b1 and b1 == max(fair.MIN_STEPS, math.ceil(5.0 * k * math.log(1e3)))
    H1, H2 = (np.asarray(H) for H in relu2.gram_infinite(ex.problem(64, 8, data_seed=0)[0]))
    lam = np.linalg.eigvalsh(H1 + H2)
    # rules out: a budget from a condition number smaller than the limit kernel's (a too-short budget)
    assert k >= lam[-1] / lam[0] * (1 - 1e-9)
    with pytest.raises(ValueError, match="ratio"):
        fair.resolve_ratio("standard", 4, 2)
    with pytest.raises(TypeError, match="model"):
        fair.fair_compare("net", None, None, None, ratio=1.0, steps=10)
    with pytest.raises(ValueError, match="step_rule"):
        X, y = ex.problem(8, 2, data_seed=0)
        fair.fair_compare(relu2.model(), relu2.model().init(4, 2, 0), X, y, ratio=1.0, steps=10, step_rule="best")


def test_meanfield_model_is_the_one_over_m_network_centered():
    X, y = ex.problem(12, 4, data_seed=1)
    base = relu2.model()
    p0 = base.init(9, 4, 2)
    mf = fair.meanfield_model(p0, X)
    al = ex.alpha_model(1 / 3.0, p0, X)          # alpha = m^{-1/2}
    p = {"W": p0["W"] + 0.1, "a": p0["a"] * 1.2}
    W, a = np.asarray(p["W"]), np.asarray(p["a"])
    direct = np.maximum(np.asarray(X) @ W.T / 2.0, 0) @ a / 9 - np.maximum(np.asarray(X) @ np.asarray(p0["W"]).T / 2.0, 0) @ np.asarray(p0["a"]) / 9
    # rules out: a 1/sqrt(m) output (the NTK scaling) or an uncentered model
    assert np.allclose(mf.forward(p, X), direct, rtol=1e-12, atol=1e-14)
    assert np.allclose(mf.forward(p, X), al.forward(p, X), rtol=1e-12, atol=1e-14)
    g1, g2 = mf.residual_and_grads(p, X, y, ("W", "a"))[1], al.residual_and_grads(p, X, y, ("W", "a"))[1]
    assert all(np.allclose(g1[k], g2[k], rtol=1e-12, atol=1e-14) for k in "Wa")
    assert np.allclose(mf.gram(p, X, ("W",))["W"], base.gram(p, X, ("W",))["W"] / 9)


def test_fair_task_validation_names_the_argument():
    with pytest.raises(ValueError, match="model"):
        fair.fair_task(n=8, d=2, md_over_n=2.0, ratio=1.0, data_seed=0, init_seed=0, model="wide")
    with pytest.raises(ValueError, match="alpha"):
        fair.fair_task(n=8, d=2, md_over_n=2.0, ratio=1.0, data_seed=0, init_seed=0, alpha=-1.0)
    with pytest.raises(ValueError, match="step_rule"):
        fair.fair_task(n=8, d=2, md_over_n=2.0, ratio=1.0, data_seed=0, init_seed=0, step_rule="x")
    with pytest.raises(ValueError, match="budget"):
        fair.fair_task(n=8, d=2, md_over_n=2.0, ratio=1.0, data_seed=0, init_seed=0, budget=0.0)
    X, _ = ex.problem(8, 2, data_seed=0)
    p0 = relu2.model().init(4, 2, 0)
    mf = fair.meanfield_model(p0, X)
    with pytest.raises(ValueError, match="centered"):
        mf.forward(p0, X + 1.0)


def test_step_rules_own_best_and_network_c():
    X, y = ex.problem(24, 6, data_seed=1)
    model = relu2.model()
    p0 = model.init(12, 6, 1)
    kw = dict(ratio=1.0, steps=4000, tol=1e-3)
    largest = fair.fair_compare(model, p0, X, y, **kw)
    best = fair.fair_compare(model, p0, X, y, step_rule="own_best", **kw)
    netc = fair.fair_compare(model, p0, X, y, step_rule="network_c", **kw)
    # rules out: an "own best" that needs more steps than the largest stable step
    assert best["net"].attempt.steps <= largest["net"].attempt.steps
    assert best["lin"].attempt.steps <= largest["lin"].attempt.steps
    # rules out: the old rule not being the linearization at the network's step
    assert netc["lin"].c == netc["net"].c == largest["net"].c
    assert netc["lin"].attempt.steps >= largest["lin"].attempt.steps


def test_loss_rise_stops_a_run_early_with_the_judges_verdict():
    # u = theta^3 from 0.5 towards 1: the kernel grows 16x, so at c = 0.15 the loss oscillates and
    # rises; with the curvature rule switched off (accept huge) only the loss-rise rule can reject
    m, p0 = toy(lambda t: t ** 3, lambda t: np.diag(3 * t ** 2), [0.5])
    X, y, rates1 = np.zeros((1, 1)), np.array([1.0]), {"W": 1 / 0.5625}
    a = fair.net_attempt(m, p0, X, y, rates1, 0.15, steps=2000, tol=1e-6, accept=1e9)
    full = train(m, X, y, init=p0, rates={"W": 0.15 / 0.5625}, steps=2000, tol=1e-6, progress=False)
    verdict = st.judge(0.15, full.history.loss, 1.0, accept=1e9)
    # rules out: a run stopped on a rise that judge would accept, or run on past one it rejects
    assert not a.stable and not verdict.stable and "loss rose" in a.reason and "loss rose" in verdict.reason
    # rules out: an early stop that does not save the rest of the run
    assert a.steps < full.history.steps


def test_an_output_overflow_after_a_step_is_a_divergence_naming_the_step():
    # u = theta^5, whose value the model refuses to hold past 1e30 (as relu2's forward does when
    # float64 overflows): the run jumps past inf between two losses at a large step
    def g(t):
        if np.abs(t).max() > 1e30:
            raise FloatingPointError("the model output is not representable in float64")
        return t ** 5

    m, p0 = toy(g, lambda t: np.diag(5 * t ** 4), [1.0])
    X, y = np.zeros((1, 1)), np.array([0.0])
    with pytest.raises(DivergenceError) as info:
        train(m, X, y, init=p0, rates={"W": 1.0}, steps=50, progress=False)
    # rules out: the model's overflow passed on without the step that caused it
    assert info.value.step >= 1 and "diverged at step" in str(info.value)
    # at unit rates (lambda_max(K(0)) = 1) and c = 1.99 the run towards y = 100 overshoots and
    # overflows between two recordings of lambda_max
    a = fair.net_attempt(m, p0, X, np.array([100.0]), {"W": 1 / 25}, 1.99, steps=50, tol=1e-6)
    # rules out: a sweep task that crashes on an overflowing run instead of calling it unstable
    assert not a.stable and a.reason.startswith("diverged at step")


def test_fastest_rule_takes_any_scale_that_does_not_diverge():
    X, y = ex.problem(32, 8, data_seed=0)
    model = relu2.model()
    p0 = model.init(12, 8, 0)
    kw = dict(ratio=12 / 8, steps=5000, tol=1e-3)
    base = fair.fair_compare(model, p0, X, y, **kw)
    fast = fair.fair_compare(model, p0, X, y, step_rule="fastest", **kw)
    net, lin = fast["net"].attempt, fast["lin"].attempt
    # rules out: a "fastest" step slower than the largest stable one, or a diverged run chosen
    assert net.steps <= base["net"].attempt.steps and lin.steps <= base["lin"].attempt.steps
    assert net.result is not None and net.result.relative_loss <= 1e-3
    # rules out: a rule that still stops at the stability limits (this problem's fastest network
    # run sharpens past lambda_max = 2 and raises its loss by more than MAX_RISE)
    assert net.c > base["net"].c and net.max_lambda_max >= 2 and net.max_rise > st.MAX_RISE
    # the linearization cannot pass c = 2 (its quadratic diverges)
    assert lin.c < 2 and all(a.c in fair.FAST_GRID or a.c in st.GRID for a in fast["net"].attempts)
