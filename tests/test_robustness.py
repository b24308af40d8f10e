"""Protocol robustness: claims re-evaluated under perturbations of a toy gradient-descent protocol.

The toy task is gradient descent on f(w) = h w^2 / 2 (curvature h from the data seed, start w0 from
the init seed): w(t) = w0 (1 - rate h)^t, stopped when |w| <= tol or after ``steps`` steps.  A claim
about *where* runs converge is then set by the budget; a claim about the contraction factor is not.
"""
from __future__ import annotations

import concurrent.futures as cf
import copy
import math

import numpy as np
import pandas as pd
import pytest

from expreg_nb import robustness as rb
from expreg_nb import sweep
from expreg_nb import stats
from expreg_nb.stats import loglog_slope
from expreg_nb.stats import bootstrap_interval
from expreg_nb.training import DivergenceError

RATES = [0.05, 0.1, 0.2, 0.5, 1.0, 1.5]
POINTS = sweep.grid(rate=RATES, steps=[40], tol=[1e-6], data_seed=[0, 1, 2, 3], init_seed=[0, 1])
STANDARD = [rb.budget(10), rb.budget(100), rb.tolerance(0.1), rb.fresh_seeds()]


def gd_task(rate, steps, tol, data_seed, init_seed, scale=1.0):
    h = 0.9 + 0.2 * np.random.default_rng(data_seed).random()
    w0 = 1.0 + np.random.default_rng(10_000 + init_seed).random()
    w = w0 * (1.0 - rate * h) ** np.arange(steps + 1)
    loss = 0.5 * h * w * w
    blown = np.flatnonzero(loss > 1e12 * loss[0])
    if blown.size:
        raise DivergenceError(int(blown[0]), float(loss[blown[0]]), {"rate": rate})
    done = np.flatnonzero(np.abs(w) <= tol)
    used = int(done[0]) if done.size else steps
    return {"converged": bool(done.size), "steps_used": used,
            "factor": float((abs(w[used]) / w0) ** (1.0 / used)), "size": scale * 10.0}


def inflated_task(**point):
    return gd_task(**point, scale=4.0)


def _boundary(table):
    ok = table[table["error"].isna()].groupby("rate")["converged"].all()
    r0 = float(ok[ok].index.min()) if ok.any() else math.nan
    return rb.Verdict(bool(r0 > 0.3), r0, detail=f"smallest rate at which every run converged: {r0}")


def _contraction(table):
    f = table["factor"].to_numpy()
    largest = bootstrap_interval(lambda v, weights: np.where(weights > 0, v, -np.inf).max(axis=1),
                                 f, groups=table["data_seed"].to_numpy(), n_boot=200, vectorized=True)
    return rb.Verdict.from_interval(largest.high < 1.0, largest, detail="largest factor, bootstrap over data seeds")


BOUNDARY = rb.Claim("convergence boundary", "runs with rate < 0.3 do not converge within the budget",
                    _boundary)
CONTRACTION = rb.Claim("contraction", "every run contracts: the measured factor |w(T)/w0|^(1/T) < 1",
                       _contraction)


@pytest.fixture(scope="module")
def baseline():
    return sweep.run(gd_task, POINTS, progress=False)


@pytest.fixture(scope="module")
def boundary(baseline):
    return rb.check(BOUNDARY, gd_task, POINTS, STANDARD, baseline_table=baseline)


# --------------------------------------------------------------------------- check
def test_budget_decided_claim_flips(boundary):
    assert boundary.baseline.holds and boundary.baseline.number == 0.5
    # rules out: a check that reports every claim robust, or one that lost the budget perturbation
    assert not boundary.robust
    # rules out: a flip blamed on the wrong perturbation (tolerance /10 and fresh seeds keep it)
    assert list(boundary.fragile()["perturbation"]) == ["budget x10", "budget x100"]
    # rules out: a perturbed table that was not rerun at the larger budget (the boundary would stay 0.5)
    assert boundary.verdicts["budget x10"].number == 0.05
    assert (boundary.tables["budget x100"]["steps"] == 4000).all()
    # rules out: a summary that hides the flip or names no perturbation
    assert boundary.summary().startswith("convergence boundary: NOT robust: flips under budget x10, budget x100")


def test_true_claim_is_robust():
    table = rb.check(CONTRACTION, gd_task, POINTS, STANDARD)
    # rules out: a check that flags every perturbation, or compares numbers instead of verdicts
    assert table.robust and table.fragile().empty
    assert table.summary().startswith("contraction: robust under 4 of 4 perturbations (baseline holds")
    # rules out: rows lost or the baseline row missing from the rendered table
    assert list(table.frame["perturbation"]) == ["baseline", "budget x10", "budget x100", "tolerance /10",
                                                 "fresh seeds"]
    assert list(table.frame.columns) == list(rb.COLUMNS)
    # rules out: an interval that does not bracket its number
    assert (table.frame["low"] <= table.frame["number"]).all() and (table.frame["number"] <= table.frame["high"]).all()
    # rules out: a rendering that drops the summary (text and HTML)
    assert str(table).splitlines()[0] == table.summary() and "<table" in table._repr_html_()


def test_baseline_table_is_used_not_recomputed():
    stored = sweep.run(gd_task, rb.budget(10)(POINTS), progress=False)      # a "stored" result at 10x
    table = rb.check(BOUNDARY, gd_task, POINTS, [rb.tolerance(0.1)], baseline_table=stored)
    # rules out: recomputing the baseline from points (which would give holds=True, number 0.5)
    assert table.baseline.number == 0.05 and not table.baseline.holds
    assert table.tables["baseline"] is stored
    with pytest.raises(ValueError, match="rows"):
        rb.check(BOUNDARY, gd_task, POINTS, [rb.tolerance(0.1)], baseline_table=stored.iloc[:3])
    with pytest.raises(ValueError, match="columns"):
        rb.check(BOUNDARY, gd_task, POINTS, [rb.tolerance(0.1)], baseline_table=stored.drop(columns="rate"))


def test_executors_give_the_same_table(boundary):
    points = POINTS[:12]
    serial = rb.check(CONTRACTION, gd_task, points, [rb.budget(10), rb.fresh_seeds()])
    with cf.ThreadPoolExecutor(2) as pool:
        threaded = rb.check(CONTRACTION, gd_task, points, [rb.budget(10), rb.fresh_seeds()], executor=pool)
    # rules out: results attached to the wrong rows when tasks finish out of order
    pd.testing.assert_frame_equal(serial.frame, threaded.frame)
    for name in serial.tables:
        pd.testing.assert_frame_equal(serial.tables[name].drop(columns="seconds"),
                                      threaded.tables[name].drop(columns="seconds"))


def test_error_rows_reach_the_claim():
    seen = []

    def no_divergence(table):
        seen.append(len(table))
        n_err = int(table["error"].notna().sum())
        return rb.Verdict(n_err == 0, n_err, detail=f"{n_err} runs diverged")

    points = sweep.grid(rate=[0.5, 3.0], steps=[40], tol=[1e-6], data_seed=[0, 1], init_seed=[0])
    claim = rb.Claim("no divergence", "no run diverges", no_divergence)
    table = rb.check(claim, gd_task, points, [rb.fresh_seeds()])
    # rules out: error rows dropped before the claim sees the table
    assert seen == [4, 4]
    # rules out: a diverged run counted as a result (number 0) or the claim reporting it holds
    assert table.baseline.number == 2 and not table.baseline.holds
    assert table.tables["baseline"]["error"].str.startswith("DivergenceError").sum() == 2


def test_task_replacing_perturbation_flips_an_audit():
    def audit(table):
        excess = float(table["size"].max() / 10.0)
        return rb.Verdict(excess <= 1.0, excess, detail="size / prescribed size")

    claim = rb.Claim("size audit", "the network has the prescribed size", audit)
    inflated = rb.Perturbation("inflated builder", "four times the prescribed size", lambda p: p,
                               task=inflated_task)
    table = rb.check(claim, gd_task, POINTS[:4], [inflated, rb.fresh_seeds()])
    # rules out: an audit that cannot fail a wrong builder (the perturbed task was not run)
    assert list(table.fragile()["perturbation"]) == ["inflated builder"]
    assert table.verdicts["inflated builder"].number == 4.0


def test_check_refuses_perturbations_that_test_nothing():
    # rules out: a no-op perturbation counted as evidence of robustness
    with pytest.raises(ValueError, match="unchanged"):
        rb.check(BOUNDARY, gd_task, POINTS[:2], [rb.set_key("steps", 40)])
    with pytest.raises(ValueError, match="empty"):
        rb.check(BOUNDARY, gd_task, POINTS[:2], [])
    with pytest.raises(ValueError, match="distinct"):
        rb.check(BOUNDARY, gd_task, POINTS[:2], [rb.budget(10), rb.budget(10)])
    with pytest.raises(TypeError, match="claim"):
        rb.check(_boundary, gd_task, POINTS[:2], [rb.budget(10)])
    with pytest.raises(TypeError, match="Perturbation"):
        rb.check(BOUNDARY, gd_task, POINTS[:2], [lambda p: p])


# --------------------------------------------------------------------------- evaluate
def test_evaluate_from_stored_tables(baseline, boundary):
    tables = {"baseline": baseline, "budget x10": sweep.run(gd_task, rb.budget(10)(POINTS), progress=False)}
    table = rb.evaluate(BOUNDARY, tables, descriptions={"budget x10": "cap x10"})
    # rules out: evaluate and check disagreeing on the same tables
    pd.testing.assert_frame_equal(table.frame.drop(columns="description"),
                                  boundary.frame.iloc[:2].drop(columns="description"))
    assert table.frame["description"].tolist() == ["the protocol as run", "cap x10"]
    assert not table.robust and table.summary().count("budget x10") == 1
    with pytest.raises(ValueError, match="baseline"):
        rb.evaluate(BOUNDARY, {"budget x10": baseline})
    with pytest.raises(ValueError, match="descriptions"):
        rb.evaluate(BOUNDARY, tables, descriptions={"budget x1000": "?"})
    with pytest.raises(TypeError, match="DataFrame"):
        rb.evaluate(BOUNDARY, {"baseline": baseline, "x": POINTS})


def test_custom_agreement_and_verdict_checks(baseline):
    strict = rb.Claim("contraction within baseline interval", "", _contraction,
                      agree=lambda b, v: b.holds == v.holds and b.low <= v.number <= b.high)
    other = baseline.assign(factor=baseline["factor"] * 0.5)
    table = rb.evaluate(strict, {"baseline": baseline, "halved": other})
    # rules out: the claim's agree function ignored in favour of comparing holds alone
    assert table.frame["holds"].all() and not table.robust
    with pytest.raises(TypeError, match="holds"):
        rb.Verdict("yes", 1.0)
    with pytest.raises(ValueError, match="low"):
        rb.Verdict(True, 1.0, 2.0, 0.5)
    with pytest.raises(ValueError, match="name"):
        rb.Claim(" ", "", _boundary)
    with pytest.raises(TypeError, match="evaluate"):
        rb.Claim("c", "", None)
    bad = rb.Claim("bad", "", lambda t: 0.5)
    with pytest.raises(TypeError, match="Verdict"):
        bad(baseline)


# --------------------------------------------------------------------------- perturbation factories
def test_scale_key_keeps_ints_and_is_pure():
    for pert in (rb.budget(10), rb.tolerance(0.1), rb.scale_key("rate", 2.0), rb.fresh_seeds(),
                 rb.set_key("steps", 7)):
        points = copy.deepcopy(POINTS)
        out = pert.apply(points)          # the raw function, without the copy Perturbation.__call__ makes
        # rules out: a factory that edits the caller's points in place
        assert points == POINTS and out != POINTS
    out = rb.budget(10)(POINTS)
    # rules out: 40 * 10 stored as the float 400.0 (a step count must stay an int)
    assert all(type(p["steps"]) is int and p["steps"] == 400 for p in out)
    tol = rb.tolerance(0.1)(POINTS)
    assert rb.tolerance(0.1).name == "tolerance /10" and rb.budget(100).name == "budget x100"
    # rules out: tolerance scaled the wrong way, or other keys changed
    assert all(math.isclose(p["tol"], 1e-7) and p["rate"] == q["rate"] for p, q in zip(tol, POINTS))
    assert [p["steps"] for p in rb.scale_key("steps", 0.25)(POINTS)][:1] == [10]
    with pytest.raises(ValueError, match="rounds to 0"):
        rb.scale_key("steps", 0.01)(POINTS)


def test_factories_validate():
    # rules out: a typo in a key silently giving an unperturbed grid
    with pytest.raises(ValueError, match="'stepz'"):
        rb.budget(10, key="stepz")(POINTS)
    with pytest.raises(ValueError, match="'seed'"):
        rb.fresh_seeds(keys=("seed",))(POINTS)
    with pytest.raises(ValueError, match="'step_rule'"):
        rb.set_key("step_rule", "own_best")(POINTS)
    assert {p["step_rule"] for p in rb.set_key("step_rule", "own_best", add=True)(POINTS)} == {"own_best"}
    with pytest.raises(ValueError, match="factor"):
        rb.budget(-10)
    with pytest.raises(ValueError, match="factor"):
        rb.scale_key("steps", 1)
    with pytest.raises(TypeError, match="key"):
        rb.scale_key(3, 10)
    with pytest.raises(TypeError, match="offset"):
        rb.fresh_seeds(offset=1.5)
    with pytest.raises(TypeError, match="keys"):
        rb.fresh_seeds(keys="data_seed")
    with pytest.raises(TypeError, match="rate"):
        rb.scale_key("rate", 2.0)([{"rate": "fast"}])


def test_fresh_seeds_are_unseen():
    out = rb.fresh_seeds()(POINTS)
    for key in ("data_seed", "init_seed"):
        old, new = {p[key] for p in POINTS}, {p[key] for p in out}
        # rules out: "fresh" seeds that overlap the grid's (a reused data set is not a new sample)
        assert not old & new and len(new) == len(old)
    assert [{k: v for k, v in p.items() if not k.endswith("seed")} for p in out] == \
        [{k: v for k, v in p.items() if not k.endswith("seed")} for p in POINTS]
    # rules out: an offset that reuses seeds accepted (0..3 shifted by 2 overlaps 2..3)
    with pytest.raises(ValueError, match="reuses seeds"):
        rb.fresh_seeds(keys=("data_seed",), offset=2)(POINTS)
    both = rb.compose(rb.budget(10), rb.fresh_seeds())
    p = both(POINTS)[0]
    assert both.name == "budget x10 + fresh seeds" and p["steps"] == 400 and p["data_seed"] == 1000


# --------------------------------------------------------------------------- Part I's fit
def _power_law(rng, groups=10, spread=0.15):
    # y = x^2 * noise, the noise correlated within a data seed: each seed tilts the power law about the
    # middle of the range (its own exponent 2 + b), so rows of one seed are not independent samples
    x = np.geomspace(1, 64, 7)
    tilt = spread * rng.standard_normal(groups)
    y = x**2 * (x / 8.0)[None, :] ** tilt[:, None] * np.exp(0.05 * rng.standard_normal((groups, x.size)))
    return np.tile(x, groups), y.ravel(), np.repeat(np.arange(groups), x.size)


def test_loglog_slope_interval_on_a_power_law():
    x, y, g = _power_law(np.random.default_rng(1))
    est, low, high = stats.loglog_slope_interval(x, y, g)
    # rules out: a re-implemented fit that differs from experiments.loglog_slope
    assert est == loglog_slope(x, y)
    # rules out: an interval missing the truth, or too wide to exclude the exponents 0 and 4
    assert 1.5 < low < 2.0 < high < 2.5
    with pytest.raises(ValueError, match="groups"):
        stats.loglog_slope_interval(x, y, np.zeros(x.size))
    with pytest.raises(ValueError, match="rows"):
        stats.loglog_slope_interval(x, y, g[:-1])


def test_group_bootstrap_covers_where_a_row_bootstrap_does_not():
    rng = np.random.default_rng(2)
    cover = {"groups": 0, "rows": 0}
    sims = 100
    for _ in range(sims):
        x, y, g = _power_law(rng)
        for kind, labels in (("groups", g), ("rows", np.arange(x.size))):
            _, low, high = stats.loglog_slope_interval(x, y, labels, n_boot=400)
            cover[kind] += low <= 2.0 <= high
    # rules out: an interval that ignores the clustering of rows by data seed (the row bootstrap
    # below treats the 70 rows as independent and covers far less often)
    assert cover["groups"] / sims > 0.82
    assert cover["rows"] / sims < 0.75
