"""Tests of expreg_nb.relu2.experiments and .tables and .sweeps: labels, the alpha-scaled model,
sharpening, per-cell bootstrap tables, critical md/n and its slope, the claims, the named sweeps."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expreg_nb import data, relu2, robustness as rb, to_numpy
from expreg_nb.relu2 import experiments as ex
from expreg_nb.relu2 import sweeps, tables
from expreg_nb.training import linearize, train


def test_worst_case_labels_are_the_slowest_direction_of_the_limit_kernel():
    X = data.gaussian(12, 3, seed=1)
    y = ex.worst_case_labels(X, 1.0)
    H1, H2 = (to_numpy(H) for H in relu2.gram_infinite(X))
    K = H1 + H2
    lam = np.linalg.eigvalsh(K)
    assert abs(y @ y - 12) < 1e-9
    # rules out: the top eigenvector, or labels not aligned with the smallest eigenvalue
    assert abs(y @ K @ y / 12 - lam[0]) < 1e-9
    with pytest.raises(ValueError, match="labels"):
        ex.problem(8, 2, data_seed=0, labels="adversarial")


def test_teacher_labels_are_a_centered_single_index_function():
    X = data.gaussian(20000, 5, seed=2)
    y = ex.teacher_labels(X, seed=2)
    # rules out: an uncentered or unscaled teacher (E y = 0, E y^2 = 1 for Gaussian data)
    assert abs(y.mean()) < 0.03 and abs((y * y).mean() - 1) < 0.05
    # single index: y = (relu(<theta, x>) - c) / s, so it is constant (-c/s) on a half-space through
    # the origin and exactly affine in x, with intercept -c/s, on the other half
    Xn = to_numpy(X)
    c, sd = 1 / math.sqrt(2 * math.pi), math.sqrt(0.5 - 1 / (2 * math.pi))
    low = np.isclose(y, -c / sd, rtol=0, atol=1e-12)
    assert 0.45 < low.mean() < 0.55
    A = np.hstack([Xn[~low], np.ones((int((~low).sum()), 1))])
    coef, *_ = np.linalg.lstsq(A, y[~low], rcond=None)
    assert np.abs(A @ coef - y[~low]).max() < 1e-10 and abs(coef[-1] + c / sd) < 1e-10
    theta = coef[:-1] * sd
    assert abs(np.linalg.norm(theta) - 1) < 1e-10 and (Xn[low] @ theta <= 1e-12).all()
    _, y2 = ex.problem(50, 5, data_seed=2, labels="teacher")
    assert np.allclose(to_numpy(y2), ex.teacher_labels(data.gaussian(50, 5, seed=2), seed=2))


def test_alpha_model_kernel_and_lazy_limit():
    X, y = ex.problem(12, 4, data_seed=2)
    base = relu2.model()
    p0 = base.init(10, 4, 3)
    mod = ex.alpha_model(4.0, p0, X)
    assert np.allclose(to_numpy(mod.forward(p0, X)), 0.0)      # centered: f_alpha(p0) = 0
    H = base.gram(p0, X, ("W", "a"))
    Ha = mod.gram(p0, X, ("W", "a"))
    # rules out: a kernel scaled by alpha instead of alpha^2
    assert np.allclose(to_numpy(Ha["W"]), 16 * to_numpy(H["W"]))
    e, g = mod.residual_and_grads(p0, X, y, ("W", "a"))
    rng = np.random.default_rng(0)
    dW = rng.standard_normal(p0["W"].shape) * 1e-6
    lp = 0.5 * np.sum(to_numpy(mod.forward({"W": p0["W"] + dW, "a": p0["a"]}, X) - y) ** 2)
    lm = 0.5 * np.sum(to_numpy(mod.forward({"W": p0["W"] - dW, "a": p0["a"]}, X) - y) ** 2)
    assert abs((lp - lm) / 2 - float(np.sum(to_numpy(g["W"]) * dW))) < 1e-9 * max(1.0, abs(lp))
    eta_w, eta_a = relu2.step_sizes(p0["W"], p0["a"], X, ratio=1.0, c=0.5)
    lin = train(linearize(base, p0), X, y + base.forward(p0, X), init=p0,
                rates={"W": eta_w, "a": eta_a}, steps=200, progress=False)
    gaps = []
    for alpha in (1.0, 100.0):
        r = train(ex.alpha_model(alpha, p0, X), X, y, init=p0,
                  rates={"W": eta_w / alpha**2, "a": eta_a / alpha**2}, steps=200, progress=False)
        gaps.append(abs(r.final_loss - lin.final_loss) / lin.history.loss[0])
    # rules out: an alpha that does not make training lazy (gap not shrinking ~ 1/alpha)
    assert gaps[1] < 0.05 * gaps[0]
    with pytest.raises(ValueError, match="alpha"):
        ex.alpha_model(0.0, p0, X)


def test_sharpening_task_reports_growth_and_rises():
    row = ex.sharpening_task(n=24, d=6, md_over_n=4.0, c=1.0, data_seed=0, init_seed=0, steps=400)
    assert row["growth"] == pytest.approx(row["max_lambda_max"] / row["lambda_max0"])
    assert row["rises"] >= 0 and (row["max_rise"] > 0) == (row["rises"] > 0)


def _frame():
    rng = np.random.default_rng(0)
    rows = []
    for n, crit in ((32, 1.5), (128, 3.0), (512, 6.0)):        # crit ~ n^0.5
        for md in (1.0, 2.0, 4.0, 8.0):
            for s in range(8):
                for i in range(2):
                    rows.append(dict(n=n, d=n // 4, md_over_n=md, data_seed=s, init_seed=i,
                                     net_fit=bool(md >= crit * rng.uniform(0.6, 1.6))))
    return pd.DataFrame(rows)


def test_cell_rate_and_median_are_per_cell_with_intervals():
    df = _frame()
    t = tables.cell_rate(df, ["n", "md_over_n"], "net_fit")
    assert len(t) == 12 and (t["N"] == 16).all()
    assert np.allclose(t["rate"], df.groupby(["n", "md_over_n"])["net_fit"].mean())
    # rules out: an interval that does not contain its estimate, or a pooled one (same for every cell)
    assert ((t["low"] <= t["rate"]) & (t["rate"] <= t["high"])).all() and t["high"].nunique() > 1
    df["x"] = df["data_seed"] * 1.0
    med = tables.cell_median(df, ["n"], "x")
    assert (med["median"] == 3.0).all() and (med["low"] < 3).all() and (med["high"] > 3).all()
    # an infinite speed-up (only the network fits) ranks above every finite one
    df["x"] = np.where(df["data_seed"] >= 3, np.inf, df["data_seed"])
    med = tables.cell_median(df, ["n"], "x")
    assert (med["median"] == np.inf).all() and (med["low"] < np.inf).all() and (med["high"] == np.inf).all()


def test_critical_point_and_slope():
    assert tables.critical_point([1, 2, 4], [0.0, 0.25, 0.75], 0.5) == 3.0
    assert tables.critical_point([1, 2], [0.6, 1.0]) == 1.0 and tables.critical_point([1, 2], [0, 0.4]) == math.inf
    df = _frame()
    crit = tables.critical_table(df)
    assert list(crit.index) == [32, 128, 512]
    assert (crit["low"] <= crit["critical"]).all() and (crit["critical"] <= crit["high"]).all()
    s, lo, hi = tables.critical_slope(df)
    # rules out: a slope fit on something other than log(critical) against log(n) (true slope 0.5)
    assert 0.3 < s < 0.7 and lo <= s <= hi and lo < hi
    # a curve that starts above the level (crossing pinned to the grid's end) is not bracketed
    early = df.assign(net_fit=np.where(df["n"] == 512, True, df["net_fit"]))
    assert tables.bracketed(df) == [32, 128, 512] and tables.bracketed(early) == [32, 128]
    v = tables.claim_slope(df)
    # rules out: a claim that holds for a critical md/n growing like n^0.5
    assert not v.holds
    flat = df.assign(net_fit=df["md_over_n"] >= 2.0)
    assert tables.claim_slope(flat).holds


def test_claims_on_constructed_tables():
    base = dict(n=64, d=16, ratio="lecun", labels="sign")
    rows = []
    for md, pn in ((0.5, 0.6), (2.0, 2.4), (3.0, 3.6)):
        for s in range(8):
            for i in range(2):
                fit = md > 1
                rows.append(dict(base, md_over_n=md, data_seed=s, init_seed=i, params_over_n=pn,
                                 net_fit=fit and not (md == 2.0 and s < 4), lin_fit=fit,
                                 speedup=(1.5 + 0.01 * s if not (md == 2.0 and s < 4) else 0.0) if fit
                                 else np.nan, kappa0=100.0, kappaT=20.0 + s))
    df = pd.DataFrame(rows)
    for name in ("rank", "fit", "speed", "kernel"):
        assert tables.CLAIMS[name](df).holds, name
    # rules out: claims that cannot fail (each flips when its table says the opposite)
    assert not tables.claim_rank(df.assign(net_fit=True)).holds
    assert not tables.claim_fit(df.assign(net_fit=df["md_over_n"] > 1, lin_fit=False)).holds
    slower = df.assign(speedup=df["speedup"] / 4)
    assert not tables.claim_net_faster(slower).holds
    assert not tables.claim_kernel(df.assign(kappaT=150.0)).holds
    v = tables.claim_fit(df)
    # the cell where the network fails on half the trials is the largest gap, with an interval
    assert v.number == -0.5 and v.low < -0.5 < v.high < 0
    table = rb.evaluate(tables.CLAIMS["speed"], {"baseline": df, "slower": slower})
    assert not table.robust


def test_own_best_ratio_gives_each_model_its_fastest_ratio():
    base = dict(n=32, d=8, md_over_n=2.0, data_seed=0, init_seed=0, lin_floor=0.0, params_over_n=2.2,
                kappa0=10.0, kappaT=5.0, net_rel_loss=1e-4, lin_rel_loss=1e-4)
    rows = [  # trial 0: the network is fastest at ratio 4, the linearization at 0.25
        dict(base, ratio="lecun", net_fit=True, net_steps=300, lin_fit=True, lin_steps=200),
        dict(base, ratio=4.0, net_fit=True, net_steps=100, lin_fit=True, lin_steps=400, kappaT=2.0),
        dict(base, ratio=0.25, net_fit=False, net_steps=900, net_rel_loss=0.5, lin_fit=True, lin_steps=50),
        # trial 1: the network never fits (lowest final loss at 4), the linearization only at lecun
        dict(base, data_seed=1, ratio="lecun", net_fit=False, net_steps=900, net_rel_loss=0.3,
             lin_fit=True, lin_steps=70),
        dict(base, data_seed=1, ratio=4.0, net_fit=False, net_steps=900, net_rel_loss=0.1,
             lin_fit=False, lin_steps=900, lin_rel_loss=0.2),
    ]
    out = tables.own_best_ratio(pd.DataFrame(rows)).set_index("data_seed")
    t0, t1 = out.loc[0], out.loc[1]
    # rules out: one shared ratio for both models, or a pick by something other than fewest steps
    assert (t0["net_ratio"], t0["lin_ratio"]) == ("4.0", "0.25")
    assert (t0["net_steps"], t0["lin_steps"]) == (100, 50) and t0["speedup"] == 0.5
    assert t0["outcome"] == "lin faster" and t0["kappaT"] == 2.0  # the network's row's kernel
    # rules out: a non-fitting model given the first row instead of its lowest final loss
    assert t1["net_ratio"] == "4.0" and t1["lin_ratio"] == "lecun" and t1["outcome"] == "lin only"
    assert (out["ratio"] == "own best").all() and len(out) == 2
    with pytest.raises(ValueError, match="one rate ratio"):
        tables.own_best_ratio(pd.DataFrame(rows[:1]))


def test_named_sweeps_vary_n_and_the_robust_grids_are_the_perturbations():
    s = {sw.name: sw for sw in sweeps.SWEEPS}
    full = s["relu2-width"].points("full")
    # rules out: n never varied at fixed n/d, or short of the two decades (32 ... 4096)
    large = s["relu2-width-large"].points("full")
    ns = {p["n"] for p in full} | {p["n"] for p in large}
    assert all(p["n"] == 4 * p["d"] for p in full + large) and max(ns) >= 4096 and min(ns) <= 40
    assert len({p["n"] for p in s["relu2-width-d8"].points("full")}) >= 4
    # rules out: fewer than 16 trials or 8 data seeds a cell at n <= 512 (the minimum)
    cells = pd.DataFrame(full).groupby(["n", "md_over_n"])
    assert (cells.size() >= 16).all() and (cells["data_seed"].nunique() >= 8).all()
    # rules out: large-n cells with fewer than 8 data seeds
    assert (pd.DataFrame(large).groupby(["n", "md_over_n"])["data_seed"].nunique() >= 8).all()
    base = sweeps.robust_points("full")
    for name, pert in sweeps.PERTURBATIONS.items():
        # rules out: a stored robustness table that is not the perturbation of the baseline grid
        assert s[name].points("full") == pert(base)
    assert all(p in full for p in base)
    # rules out: a ratio table that is not the baseline at the other ratios (LeCun's is the baseline)
    ratio_pts = s["relu2-robust-ratio"].points("full")
    assert "lecun" not in sweeps.RATIO_GRID and len(ratio_pts) == len(base) * len(sweeps.RATIO_GRID)
    assert all({**p, "ratio": "lecun"} in base for p in ratio_pts)
    # rules out: a combined table that is not the ratio points at the fastest rule
    assert s["relu2-robust-ratio-fastest"].points("full") == [{**p, "step_rule": "fastest"} for p in ratio_pts]


def test_part2_citations_are_in_the_bibliography():
    import pathlib
    import re

    book = pathlib.Path(__file__).resolve().parent.parent / "book"
    keys = set(re.findall(r"^@\w+\{([\w-]+),", (book / "references.bib").read_text(), flags=re.M))
    cited = set()
    for path in (book / "part2").glob("*.md"):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text()):
            cited |= {k.strip() for k in group.split(",")}
    # rules out: a chapter citing a key the bibliography lacks (chizat2019lazy was one)
    assert cited <= keys, sorted(cited - keys)
    # the lazy-training and mean-field references the chapter relies on are cited
    assert {"chizat2019lazy", "mei2018mean", "du2018algorithmic"} <= cited
