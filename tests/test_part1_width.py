"""Tests of Part I's width law (expreg_nb.exponential.widthlaw and the exp-width-* sweeps)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expreg_nb import exponential as ex
from expreg_nb import sweep, to_numpy
from expreg_nb.exponential import sweeps as exsw
from expreg_nb.exponential import widthlaw as wl


# --------------------------------------------------------------------------- grid and data
def test_width_grid_steps_and_reach():
    g = wl.width_grid(1024)
    assert g[0] == 1 and g[-1] == 1024                      # rules out: a grid short of n^2 = 1024 at n = 32
    big = np.array([m for m in g if m >= 16], dtype=float)
    # rules out: a factor-2 grid (the old one)
    assert np.all(big[1:] / big[:-1] <= 2**0.25 * 1.06)
    gc = wl.width_grid(100, coupled=True)
    assert all(m % 2 == 0 for m in gc) and gc[0] == 2       # rules out: odd coupled widths
    assert len(set(g)) == len(g) and g == sorted(g)
    with pytest.raises(ValueError):
        wl.width_grid(0)


def test_paired_sphere_sets_lambda_by_the_angle():
    X = wl.paired_sphere(16, 8, 0.1, seed=0)
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0)
    assert math.acos(float(X[0] @ X[1])) == pytest.approx(0.1)     # rules out: another angle
    lam = [ex.lambda_min_star(wl.paired_sphere(16, 8, t, seed=0)) for t in (0.08, 0.04)]
    assert lam[0] / lam[1] == pytest.approx(4.0, rel=0.05)          # rules out: lambda not ~ theta^2
    with pytest.raises(ValueError):
        wl.paired_sphere(16, 8, 4.0, seed=0)


# --------------------------------------------------------------------------- stall rule
def _boundaries(f, T0=100, K=14):
    return [f(T0 * 2**k) for k in range(K)]


def test_stall_rule_spares_linear_and_power_law_runs():
    linear = _boundaries(lambda t: 30 * math.exp(-t / 3000))
    slow_linear = _boundaries(lambda t: 30 * math.exp(-t / 300000))
    power = _boundaries(lambda t: 30 * (t / 100) ** -0.3)
    # rules out: a rule that stops a run converging linearly or like a power law (it reaches eps)
    assert wl.stall_boundary(linear, 0.05) is None
    assert wl.stall_boundary(slow_linear, 0.05) is None
    assert wl.stall_boundary(power, 0.05) is None


def test_stall_rule_fires_on_a_positive_limit_and_on_oscillation():
    plateau = _boundaries(lambda t: 1.0 + 20 * (t / 100) ** -0.5, K=24)
    k = wl.stall_boundary(plateau, 0.05)
    assert k is not None                                     # rules out: a rule blind to a positive limit
    # a 10x stricter margin needs more evidence: it fires later, never earlier
    k10 = wl.stall_boundary(plateau, 0.05, margin=10)
    assert k10 is not None and k10 > k                       # rules out: margin ignored
    osc = [5.0, 3.0, 2.0, 2.5, 1.9, 2.4, 2.2, 2.6, 2.3, 2.5]
    # rules out: an oscillating loss (no new low) counted as progress
    assert wl.stall_boundary(osc, 0.05) is not None
    # patience: one flagged boundary is not enough
    assert wl.stall_boundary(plateau[:k], 0.05) is None
    assert wl.stall_boundary(plateau, 0.05, patience=1) < k     # rules out: patience ignored


def test_stall_rule_lets_a_finishing_run_finish():
    # progress shrinks, but the tail still covers the distance to eps
    near = [1.0, 0.3, 0.12, 0.08, 0.07, 0.064]
    assert wl.stall_boundary(near, 0.06) is None             # rules out: stopping a run at eps's door


# --------------------------------------------------------------------------- search
def test_search_width_finds_a_monotone_threshold_from_either_side():
    grid = list(range(1, 41))
    for threshold in (1, 2, 7, 20, 39, 40):
        for start in (0, 5, 30, 39):
            calls = []
            hi, lo = wl.search_width(grid, start, lambda i: calls.append(i) or grid[i] >= threshold)
            assert grid[hi] == threshold                     # rules out: an off-by-one bisection
            assert lo is None if threshold == 1 else grid[lo] == threshold - 1
            assert len(calls) <= len(grid) // 4 + 4             # rules out: a linear scan
    assert wl.search_width(grid, 3, lambda i: False) == (None, len(grid) - 1)


# --------------------------------------------------------------------------- runs
def _run(m, *, n=12, d=6, c=0.5, normalized=True, coupled=False):
    X, y = wl.width_data(n, d, 0)
    lam = ex.lambda_min_star(X)
    return wl._start_run(X, y, m, normalized=normalized, coupled=coupled, seed=0, c=c,
                         eps=wl.WIDTH_EPS, lam=lam)


def test_run_reaches_eps_at_a_wide_width_and_reports_the_step():
    r = _run(256)
    v = r.verdict()
    assert v.reason == "reached" and v.err <= wl.WIDTH_EPS        # rules out: a pass above eps
    assert 0 < v.step < wl.CAP_FACTOR * r.pred_steps
    # the predicted time is ln(||e(0)|| / eps) / (eta lambda_min(K(0))) with eta = c / lambda_max(K(0))
    K0 = to_numpy(ex.gram(ex.init_params(256, 6, seed=0)[0], r.X))
    ev = np.linalg.eigvalsh(K0)
    assert r.eta == pytest.approx(wl.WIDTH_C / ev[-1])            # rules out: eta not scaled to K(0)
    assert r.pred_steps == pytest.approx(math.log(r.err0 / wl.WIDTH_EPS) / (r.eta * ev[0]))
    # every variant sees the same trajectory: a run that ended before the cap ends the same way
    for cap, margin in wl.VARIANTS.values():
        assert r.verdict(cap, margin) == v


def test_run_stops_at_the_cap_and_extends_for_a_larger_one():
    r = _run(256)
    tiny = r.verdict(cap_factor=1e-3)
    assert tiny.reason == "cap" and tiny.step == math.ceil(1e-3 * r.pred_steps)
    assert tiny.err > wl.WIDTH_EPS
    assert r.verdict().reason == "reached"                        # rules out: a cap that stays binding
    assert r.verdict(cap_factor=1e-3) == tiny                     # rules out: a cap verdict that moves


def test_run_diverges_with_a_huge_step_and_stalls_when_too_narrow():
    assert _run(64, c=200.0).verdict().reason == "diverged"       # rules out: divergence hidden as a stall
    narrow = _run(1, n=24, d=6)                                   # m d = 6 < n = 24: cannot fit
    v = narrow.verdict()
    assert v.reason == "stalled" and v.err > wl.WIDTH_EPS         # rules out: a hang or a false pass


def test_unnormalized_run_uses_the_kernel_m_h():
    a, b = _run(64, normalized=False), _run(64)
    assert a.eta == pytest.approx(b.eta / 64)                     # rules out: the unnormalized kernel not m H
    assert a.lam0_ratio == pytest.approx(b.lam0_ratio)
    assert a.err0 > 4 * b.err0                                    # rules out: the 1/sqrt(m) kept
    c = _run(64, coupled=True, normalized=False)
    X, y = wl.width_data(12, 6, 0)
    assert c.err0 == pytest.approx(float(np.linalg.norm(to_numpy(y))))   # coupled: F(W(0)) = 0


# --------------------------------------------------------------------------- the task
@pytest.fixture(scope="module")
def cell():
    return wl.width_search_task(n=12, d=6, normalized=True, coupled=False, data_seed=0, init_seed=0)


def test_task_reports_a_passing_m_star_and_a_failing_neighbour(cell):
    runs = wl.runs_frame(pd.DataFrame([{"n": 12, **cell}]))
    assert set(runs["reason"]) <= set(wl.STOP_REASONS)
    by_m = runs.drop_duplicates("m").set_index("m")["reason"]
    assert by_m[int(cell["m_star"])] == "reached"                 # rules out: m* at a failing width
    assert by_m[int(cell["m_fail"])] == cell["reason_fail"] != "reached"
    grid = wl.width_grid(144)
    assert grid.index(int(cell["m_star"])) == grid.index(int(cell["m_fail"])) + 1   # adjacent on the grid
    for suffix in ("", "_cap10", "_cap100", "_margin10", "_rate4", "_rate40", "_rate400"):
        assert cell[f"m_star{suffix}"] > 0
    assert cell["n_runs"] >= len(by_m) and cell["n_cap"] == int((runs["reason"] == "cap").sum())


def test_rate_matched_criteria_are_ordered_and_checked_against_the_trajectory(cell):
    """m*_c falls (weakly) as the time allowance c grows, and each verdict is the trajectory's."""
    ms = [cell[f"m_star_rate{c}"] for c in (4, 40, 400)]
    # rules out: a rate criterion whose allowance does not enter (or enters backwards)
    assert ms[0] >= ms[1] >= ms[2] > 0
    X, y = wl.width_data(12, 6, 0)
    lam = float(np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))[0])
    m = int(ms[0])
    model = ex.model()
    p0 = model.init(m, 6, 0)
    err0 = float(np.linalg.norm(to_numpy(model.forward(p0, X) - y)))
    eta = wl.WIDTH_C / float(np.linalg.eigvalsh(to_numpy(model.gram(p0, X, ("W",))["W"]))[-1])
    T4 = math.ceil(4 * math.log(err0 / wl.WIDTH_EPS) / (eta * lam))
    res = ex.train(X, y, m=m, eta=eta, steps=T4, seed=0, progress=False)
    # rules out: m*_4 at a width that does not reach eps by the theorem's time T (c = 4)
    assert math.sqrt(2 * float(res.history.loss[-1])) <= wl.WIDTH_EPS


@pytest.mark.parametrize("coupled", [False, True])
def test_linear_control_is_the_counting_bound(coupled):
    """The frozen linearization under the budget-free criterion: m* is the smallest m with rank K(0) = n."""
    n, d = 24, 4
    c = wl.linear_width_search(n=n, d=d, normalized=True, coupled=coupled, data_seed=0, init_seed=0)
    distinct = 2 if coupled else 1            # the coupled initialization has m / 2 distinct neurons
    # rules out: a control above the counting bound by more than a grid step or below it
    assert n / d * distinct <= c["m_star"] <= 1.25 * n / d * distinct + 2
    # rules out: rate criteria weaker than the budget-free one (T_c is finite, the cap is not less)
    assert c["m_star_rate4"] >= c["m_star_rate40"] >= c["m_star_rate400"] >= c["m_star"]


def test_variant_table_and_runs_frame(cell):
    t = pd.DataFrame([{"n": 12, **cell}])
    v = wl.variant_table(t, "cap x10")
    assert v["m_star"].iloc[0] == cell["m_star_cap10"]            # rules out: the baseline column reused
    with pytest.raises(ValueError, match="variant"):
        wl.variant_table(t, "cap x3")


# --------------------------------------------------------------------------- exponents
def _synthetic(a, seeds=10, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"n": n, "data_seed": s, "m_star": 3.0 * n**a * math.exp(noise * rng.standard_normal())}
            for n in (16, 32, 64, 128, 256, 512) for s in range(seeds)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("a", [0.0, 1.0, 2.0])
def test_exponent_interval_covers_the_true_slope_and_excludes_others(a):
    iv = wl.exponent_interval(_synthetic(a))
    assert iv[1] <= a <= iv[2]                                    # rules out: an interval missing the truth
    others = [s for s in (0.0, 1.0, 2.0) if s != a]
    assert wl.interval_excludes(iv, *others)                      # rules out: an interval too wide to decide
    assert not wl.interval_excludes(iv, a)


def test_exponent_interval_joint_fit_and_groups():
    rng = np.random.default_rng(1)
    rows = [{"n": n, "lam": lam, "m_star": n**1.0 * lam**-0.5 * math.exp(0.1 * rng.standard_normal()),
             "g": s} for n in (16, 64, 256) for lam in (0.01, 0.1, 1.0) for s in range(6)]
    est, lo, hi = wl.exponent_interval(pd.DataFrame(rows), x=["n", "lam"], groups="g")
    assert lo[0] <= 1.0 <= hi[0] and lo[1] <= -0.5 <= hi[1]       # rules out: a swapped or unsigned exponent
    # fewer groups, wider interval (the cluster bootstrap resamples groups, not rows)
    wide = wl.exponent_interval(_synthetic(1.0), groups="data_seed")
    narrow = wl.exponent_interval(_synthetic(1.0))
    assert wide[2] - wide[1] > 0 and narrow[2] - narrow[1] > 0


def test_exponent_interval_refuses_missing_m_star():
    t = _synthetic(1.0)
    t.loc[3, "m_star"] = float("nan")
    with pytest.raises(ValueError, match="m_star"):              # rules out: a censored cell dropped silently
        wl.exponent_interval(t)
    with pytest.raises(TypeError):
        wl.exponent_interval(t.to_dict())


# --------------------------------------------------------------------------- sweeps
def test_width_sweeps_cover_every_combination_and_the_issue_grid():
    reg = sweep.registry()
    for suffix, (nz, cp) in exsw.COMBOS.items():
        s = reg[f"exp-width-{suffix}"]
        pts = s.points("full")
        ns = sorted({p["n"] for p in pts})
        # The issue asks for n over 1.5 decades and ten seed cells per n (README, "Part I's width
        # law at scale").
        assert math.log10(ns[-1] / ns[0]) >= 1.5                  # rules out: less than 1.5 decades of n
        for n in ns:                                              # rules out: fewer than 10 seed cells per n
            assert len({(p["data_seed"], p["init_seed"]) for p in pts if p["n"] == n}) >= 10
        # rules out: a grid that stops short of n^2 at the largest n (a slope of 2 could not show)
        assert max(wl.width_grid(min(ns[-1] ** 2, wl.M_MAX))) >= min(ns[-1] ** 2, wl.M_MAX) / 2**0.25
        assert {(p["normalized"], p["coupled"]) for p in pts} == {(nz, cp)}
        assert s.fn is wl.width_search_task
    lam = reg["exp-width-lambda"].points("full")
    thetas = sorted({p["theta"] for p in lam})
    assert thetas[-1] / thetas[0] >= 8 and len({p["n"] for p in lam}) == 1    # lambda over >= 1.8 decades


def test_synthetic_table_has_the_requested_exponent_and_the_same_scatter():
    t = _synthetic(0.3, noise=0.4)
    for slope in (0.0, 2.0):
        syn = wl.synthetic_table(t, slope)
        est = wl.exponent_interval(syn)[0]
        assert est == pytest.approx(slope, abs=1e-9)             # rules out: a synthetic law of another slope
        spread = lambda df: df.groupby("n")["m_star"].apply(lambda v: np.log(v).std())
        assert np.allclose(spread(syn), spread(t))               # rules out: a synthetic table without scatter


def test_cells_changed_counts_moved_cells(cell):
    t = pd.DataFrame([{"n": 12, **cell}, {"n": 12, **{**cell, "m_star_cap10": cell["m_star"] + 1}}])
    assert wl.cells_changed(wl.variant_table(t, "cap x10")) == 1   # rules out: a count blind to a moved m*
    assert wl.cells_changed(wl.variant_table(t, "baseline")) == 0
    with pytest.raises(ValueError):
        wl.cells_changed(t)


def test_the_documented_command_line_lists_the_width_sweeps():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "expreg_nb.sweep", "--list"], capture_output=True,
                         text=True, timeout=120)
    # rules out: `python -m expreg_nb.sweep` failing on its own Sweep class (run as __main__)
    assert out.returncode == 0, out.stderr
    assert "exp-width-norm-indep" in out.stdout and "exp-width-lambda" in out.stdout


def test_hard_cap_bracket_lowers_m_star_to_one_step_above_the_last_settled_failure():
    # grid at n = 8 (m <= 64): 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, ...
    rows = [
        # 5 stalled, 8 undecided at the cap, 10 reached: m* = 10 could be as low as 6
        {"n": 8, "coupled": False, "m_star": 10.0, "trace": "5:stalled:100;8:cap:1000000;10:reached:50"},
        # the failing neighbour stalled: nothing a cap could change
        {"n": 8, "coupled": False, "m_star": 4.0, "trace": "2:stalled:100;5:reached:9;3:diverged:7;4:reached:9"},
        # nothing below m* settled: the bracket reaches the bottom of the grid
        {"n": 8, "coupled": False, "m_star": 4.0, "trace": "2:cap:5000;4:reached:10"},
    ]
    b = wl.hard_cap_bracket(pd.DataFrame(rows))
    # rules out: a capped run counted as a settled failure, or a bracket off the grid
    assert list(b["m_star"]) == [6.0, 4.0, 1.0]
    # rules out: a count blind to the cells a cap could move
    assert wl.cells_changed(b) == 2
    # with the counting bound m d >= n as a floor (d = 2: m >= 4), never above m*
    f = wl.hard_cap_bracket(pd.DataFrame(rows), floor_d=2)
    # rules out: a floor ignored, or a floor that raises m* above the stored one
    assert list(f["m_star"]) == [6.0, 4.0, 4.0]
    with pytest.raises(ValueError, match="trace"):
        wl.hard_cap_bracket(pd.DataFrame(rows).drop(columns="trace"))
    with pytest.raises(TypeError, match="floor_d"):
        wl.hard_cap_bracket(pd.DataFrame(rows), floor_d="16")
