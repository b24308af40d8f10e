"""Tests of Part I's width experiment (expreg_nb.exponential.experiments: width_task, init_width_task, SWEEPS)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expreg_nb import data, sweep, to_numpy
from expreg_nb.exponential import experiments as exps
from expreg_nb import exponential as ex


def test_width_dim_grows_with_n():
    assert [exps.width_dim(n) for n in (16, 128, 512)] == [40, 96, 288]
    with pytest.raises(ValueError):
        exps.width_dim(0)


def test_width_points_per_n():
    pts = exps.width_points([16, 512], models=(True,), data_seeds=(0,), init_seeds=(0,))
    widths = {n: sorted(p["m"] for p in pts if p["n"] == n) for n in (16, 512)}
    assert widths[16] == [2, 4, 8, 16, 32]          # rules out: a grid that misses 2n or starts above 2
    assert widths[512] == [8, 16, 32, 64, 128, 256, 512, 1024]


def test_width_task_reaches_eps_and_reports_its_step():
    out = exps.width_task(n=8, m=64, normalized=True, data_seed=0, init_seed=0)
    X = data.sphere(8, exps.width_dim(8), seed=0)
    ev = np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))
    assert out["lam"] == pytest.approx(ev[0]) and out["kappa"] == pytest.approx(ev[-1] / ev[0])
    assert out["reached"] and out["final_err"] <= exps.WIDTH_EPS
    # the step is c / lambda_max(K(0)): the first recorded eigenvalue of eta K is c
    assert out["max_lambda_max"] >= exps.WIDTH_C * (1 - 1e-9)  # rules out: eta not scaled to K(0)
    budget = math.ceil(exps.WIDTH_BUDGET * out["kappa"] * math.log(out["err0"] / exps.WIDTH_EPS)
                       / exps.WIDTH_C)
    assert out["budget_steps"] == budget                        # rules out: a different budget
    assert out["steps"] < out["budget_steps"]


def test_width_task_unnormalized_has_sqrt_m_residual():
    a = exps.width_task(n=8, m=256, normalized=False, data_seed=0, init_seed=1)
    b = exps.width_task(n=8, m=256, normalized=True, data_seed=0, init_seed=1)
    # same init: F_u = sqrt(m) F, so the unnormalized residual is about sqrt(m) times larger
    assert 4 < a["err0"] / b["err0"] < 64                       # rules out: the 1/sqrt(m) kept
    assert a["lam0_ratio"] == pytest.approx(b["lam0_ratio"])    # rules out: H(0) not divided by m


def test_width_task_fails_when_too_narrow():
    out = exps.width_task(n=32, m=2, normalized=True, data_seed=0, init_seed=0)
    assert not out["reached"] and out["steps"] == out["budget_steps"]


def test_init_width_task_matches_gram():
    out = exps.init_width_task(n=8, m=128, data_seed=1, init_seed=0)
    X = data.sphere(8, exps.width_dim(8), seed=1)
    W0, _ = ex.init_params(128, exps.width_dim(8), seed=1000)
    H0, Hs = to_numpy(ex.gram(W0, X)), to_numpy(ex.gram_star(X))
    lam = np.linalg.eigvalsh(Hs)[0]
    assert out["lam0_ratio"] == pytest.approx(np.linalg.eigvalsh(H0)[0] / lam, rel=1e-10)
    assert out["dev_ratio"] == pytest.approx(np.linalg.norm(H0 - Hs, 2) / lam, rel=1e-10)


def test_smallest_passing():
    df = pd.DataFrame({"g": [0] * 4 + [1] * 3 + [2] * 2,
                       "m": [2, 4, 8, 16, 2, 4, 8, 2, 4],
                       "ok": [False, True, False, True, True, True, True, True, False]})
    out = exps.smallest_passing(df, by=("g",), ok="ok").set_index("g")["m_star"]
    assert out[0] == 16    # rules out: the first passing width (4) when a larger one fails
    assert out[1] == 2
    assert math.isnan(out[2])


def test_part1_sweeps_are_registered():
    reg = sweep.registry()
    assert {"exp-width", "exp-init-width"} <= set(reg)
    for name in ("exp-width", "exp-init-width"):
        ns = {p["n"] for p in reg[name].grids["book"]}
        assert max(ns) == 128
        assert max(p["n"] for p in reg[name].grids["full"]) >= 512
