"""Tests of expreg_nb.relu2.experiments: the network-vs-linearization task, stable step sizes,
worst-case labels, the alpha-scaled model, and the success/critical-width tables."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expreg_nb import data, relu2, to_numpy
from expreg_nb.relu2 import experiments as ex
from expreg_nb.relu2 import sweeps
from expreg_nb.training import linearize, train


def test_compare_is_stable_for_the_whole_run_and_halves_when_needed():
    X, y = ex.problem(16, 4, data_seed=0)
    model = relu2.model()
    p0 = model.init(8, 4, 0)
    out = ex.compare(model, p0, X, y, ratio=1.0, c=1.0, steps=800)
    lam = out["net"].history["lambda_max"]
    # rules out: a rule that only controls lambda_max(K(0)) (c = 1 grows past 2 here)
    assert lam.max() < ex.ACCEPT and out["halvings"] >= 1 and out["c"] < 1.0
    eta_w, eta_a = relu2.step_sizes(p0["W"], p0["a"], X, ratio=1.0, c=out["c"])
    # rules out: the linearization trained at other rates than the network
    assert out["rates"] == {"W": eta_w, "a": eta_a} == out["lin"].rates
    steps, sep = out["separation"]
    un = to_numpy(out["net"].model.forward(out["net"].params, X))
    assert steps[0] == 0 and sep[0] == 0.0           # same start
    # rules out: separation measured against the wrong run (the linearized output at its end)
    ul = to_numpy(out["lin"].model.forward(out["lin"].params, X))
    if out["net"].history.steps == out["lin"].history.steps:
        assert abs(sep[-1] - np.linalg.norm(un - ul) / np.linalg.norm(to_numpy(y))) < 1e-12


def test_fit_task_row_and_beyond_ntk_criterion():
    row = ex.fit_task(n=16, d=8, md_over_n=4.0, ratio=1.0, data_seed=0, init_seed=0, steps=3000)
    assert row["m"] == 8 and row["max_lambda_max"] < 2
    assert row["net_fit"] == (row["net_rel_loss"] <= 1e-3)
    expected = row["net_fit"] and (not row["lin_fit"] or row["lin_steps"] >= ex.SLOWER * row["net_steps"])
    # rules out: a criterion that ignores the linearization
    assert row["beyond_ntk"] == expected
    assert row["separated"] == (row["sep_max"] > ex.SEPARATION)


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
    # gradients against finite differences of 0.5 ||f_alpha - y||^2
    e, g = mod.residual_and_grads(p0, X, y, ("W", "a"))
    rng = np.random.default_rng(0)
    dW = rng.standard_normal(p0["W"].shape) * 1e-6
    lp = 0.5 * np.sum(to_numpy(mod.forward({"W": p0["W"] + dW, "a": p0["a"]}, X) - y) ** 2)
    lm = 0.5 * np.sum(to_numpy(mod.forward({"W": p0["W"] - dW, "a": p0["a"]}, X) - y) ** 2)
    assert abs((lp - lm) / 2 - float(np.sum(to_numpy(g["W"]) * dW))) < 1e-9 * max(1.0, abs(lp))
    # lazy limit: with rates / alpha^2 a large alpha follows the linearization
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


def test_success_table_and_critical_bracket():
    df = pd.DataFrame({"k": [1.0] * 4 + [2.0] * 4 + [4.0] * 4,
                       "net_fit": [False] * 4 + [True, False, True, False] + [True] * 4})
    t = ex.success_table(df, ["k"])
    assert list(t["k"]) == [0, 2, 4] and list(t["N"]) == [4, 4, 4]
    crit, lo, hi = ex.critical_md_over_n(t)
    # rules out: a bracket that ignores the intervals (2/4 is not clearly above 1/2)
    assert (crit, lo, hi) == (2.0, 1.0, 4.0)
    never = ex.critical_md_over_n(ex.success_table(df.assign(net_fit=False), ["k"]))
    assert never[0] == math.inf and never[2] == math.inf
    with pytest.raises(ValueError, match="columns"):
        ex.success_table(df, ["n"])
    with pytest.raises(TypeError, match="by"):
        ex.success_table(df, "k")
    with pytest.raises(ValueError, match="level"):
        ex.critical_md_over_n(t, level=1.5)


def test_input_validation_names_the_argument():
    X, y = ex.problem(8, 2, data_seed=0)
    p0 = relu2.model().init(4, 2, 0)
    with pytest.raises(TypeError, match="model"):
        ex.compare("relu2", p0, X, y, ratio=1.0)
    with pytest.raises(ValueError, match="c"):
        ex.compare(relu2.model(), p0, X, y, ratio=1.0, c=-1.0)
    with pytest.raises(ValueError, match="md_over_n"):
        ex.width_for(0.0, 8, 2)
    with pytest.raises(ValueError, match="alpha"):
        ex.alpha_task(n=8, d=2, md_over_n=2.0, alpha=-1.0, data_seed=0, init_seed=0)


def test_named_sweeps_vary_n_at_fixed_d_and_fixed_ratio():
    s = {sw.name: sw for sw in sweeps.SWEEPS}
    for scale in ("book", "full"):
        cfg = {(p["n"], p["d"]) for p in s["relu2-width"].points(scale)}
        # rules out: n never varied (one n), at fixed d or at fixed n/d
        assert len({n for n, d in cfg if d == 8}) >= 3
        assert len({n for n, d in cfg if n == 4 * d}) >= 3
    assert len(s["relu2-width"].points("full")) > len(s["relu2-width"].points("book"))
