"""Stored results cannot go stale silently: the sample rule, the column comparison, and real stored tables
rerun, altered and caught (expreg_nb.recheck through sweep.load_result)."""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from expreg_nb import recheck as rc
from expreg_nb import sweep

STORED = sorted(p.parent.parent.name for p in (sweep.RESULTS_DIR).glob("*/full/table.csv"))


@sweep.task("test-recheck-affine")
def _affine(a, b, c):
    return {"y": 2.0 * a + b, "k": int(a) * 10 + int(b), "tag": f"{c}-{a}", "ok": a > b}


def _sweep(points, name="tiny-recheck"):
    return sweep.Sweep(name=name, fn=_affine, grids={"full": points})


def _table(points, seconds):
    df = sweep.run(_affine, points, progress=False)
    df[sweep.TIME_COLUMN] = seconds
    return rc.as_stored(df)


def _values(table, rows, axis):
    return set(table[axis].iloc[rows])


# --------------------------------------------------------------------------- the sample rule
def test_small_tables_are_rechecked_whole():
    pts = sweep.grid(a=[1, 2], b=[0, 1, 2], c=["x"])
    t = _table(pts, 100.0)
    # rules out: a sample that skips rows of a table no larger than the minimum (8)
    assert sweep.recheck_sample(t, _sweep(pts), "full") == list(range(6))


def test_sample_covers_every_axis_even_over_budget():
    pts = sweep.grid(a=list(range(10)), b=list(range(10)), c=["x", "y"])
    cost = np.full(len(pts), 0.01)
    # c = "y" only on expensive rows: the cheapest rows would all have c = "x"
    cost[[i for i, p in enumerate(pts) if p["c"] == "y"]] = 50.0
    t = _table(pts, cost)
    rows = sweep.recheck_sample(t, _sweep(pts), "full", budget_s=1.0)
    for axis in ("a", "b", "c"):
        # rules out: a cheapest-rows sample that never reruns a value of some axis
        assert len(_values(t, rows, axis)) >= 2, axis
    # rules out: paying for more than one expensive row when one gives the coverage
    assert (t[sweep.TIME_COLUMN].iloc[rows] > 1).sum() == 1
    # rules out: fewer than 8 rows, or the optional 5 % (10 of 200) pursued after the coverage
    # spent the budget
    assert len(rows) == 8 and len(set(rows)) == len(rows)
    # with the budget for it, the 5 %
    assert len(sweep.recheck_sample(t, _sweep(pts), "full", budget_s=51.0)) == 10


def test_five_percent_within_budget_and_cheap_rows_preferred():
    pts = sweep.grid(a=list(range(20)), b=list(range(20)), c=["x"])
    rng = np.random.default_rng(0)
    cost = 10.0 ** rng.uniform(-3, 1, len(pts))  # 1 ms to 10 s, a heavy tail like the stored tables
    t = _table(pts, cost)
    s = _sweep(pts)
    rows = sweep.recheck_sample(t, s, "full", budget_s=3.0)
    # rules out: missing the 5 % (20 of 400 rows) when cheap rows can pay for it
    assert len(rows) == math.ceil(0.05 * len(pts))
    # rules out: a sample that ignores the stored cost
    assert t[sweep.TIME_COLUMN].iloc[rows].sum() <= 3.0
    tight = sweep.recheck_sample(t, s, "full", budget_s=0.0)
    # rules out: optional rows rechecked with no budget left, or the mandatory 8 skipped
    assert len(tight) == 8
    # the mandatory rows then are the cheapest that keep the coverage
    assert t[sweep.TIME_COLUMN].iloc[tight].max() < np.sort(cost)[12]
    generous = sweep.recheck_sample(t, s, "full", budget_s=1e6)
    # rules out: a rule that always reruns only the cheapest rows (expensive rows never rechecked)
    assert t[sweep.TIME_COLUMN].iloc[generous].max() > 1.0


def test_sample_is_seeded():
    pts = sweep.grid(a=list(range(20)), b=list(range(20)), c=["x"])
    t = _table(pts, 0.001)
    s = _sweep(pts)
    first = sweep.recheck_sample(t, s, "full", seed=0)
    # rules out: a sample that changes from one build to the next
    assert sweep.recheck_sample(t, s, "full", seed=0) == first
    # rules out: a "seed" that changes nothing (always the same rows whatever the seed)
    assert sweep.recheck_sample(t, s, "full", seed=1) != first
    # and each sweep draws its own rows
    assert sweep.recheck_sample(t, _sweep(pts, "other-name"), "full", seed=0) != first


def test_sample_rule_checks_its_inputs():
    pts = sweep.grid(a=list(range(10)), b=[0], c=["x"])
    t = _table(pts, 0.1)
    s = _sweep(pts)
    with pytest.raises(ValueError, match="fraction"):
        sweep.recheck_sample(t, s, "full", fraction=1.5)
    with pytest.raises(ValueError, match="budget_s"):
        sweep.recheck_sample(t, s, "full", budget_s=-1)
    with pytest.raises(ValueError, match="min_rows"):
        sweep.recheck_sample(t, s, "full", min_rows=0)
    with pytest.raises(TypeError, match="table"):
        sweep.recheck_sample(t.to_dict(), s, "full")
    # rules out: a table without a grid axis column silently sampled
    with pytest.raises(sweep.StaleResultError, match=r"axes \['b'\]"):
        sweep.recheck_sample(t.drop(columns=["b"]), s, "full")


@pytest.mark.parametrize("name", STORED)
def test_default_sample_of_each_stored_table(name):
    table, _ = sweep.load_result(name, "full", recheck="off")
    s = sweep.get(name)
    rows = sweep.recheck_sample(table, s, "full")
    # rules out: fewer than 8 rows, or a grid axis rechecked at a single value
    assert len(rows) >= min(8, len(table))
    for axis in s.points("full")[0]:
        if table[axis].nunique() >= 2:
            assert len(_values(table, rows, axis)) >= 2, axis
    # rules out: the 5 % dropped although it fits the budget
    est = table[sweep.TIME_COLUMN].iloc[rows].sum()
    assert len(rows) >= math.ceil(0.05 * len(table)) or est > rc.RECHECK_BUDGET_S * 0.5


# --------------------------------------------------------------------------- the comparison rules
def test_compare_rows_rules():
    stored = pd.DataFrame({"i": [3, 4], "f": [1.0, 0.0], "s": ["a", "b"], "b": [True, False],
                           "nan": [np.nan, 1.0], sweep.TIME_COLUMN: [1.0, 2.0]})
    same = stored.assign(f=[1.0 * (1 + 4e-10), 0.0], seconds=[9.0, 9.0])
    # rules out: floats compared exactly (sums that differ in the last bits), or seconds compared
    assert rc.compare_rows(stored, same) == []
    cases = {"i": ([3, 5], 1), "f": ([1.0 + 3e-9, 0.0], 0), "s": (["a", "B"], 1), "b": ([True, True], 1),
             "nan": ([0.0, 1.0], 0)}
    for col, (vals, row) in cases.items():
        bad = rc.compare_rows(stored, stored.assign(**{col: vals}))
        # rules out: an integer, a float beyond 1e-9, a string, a bool or a NaN-vs-number difference let through
        assert [(b["column"], b["row"]) for b in bad] == [(col, row)], col
    # a float zero must stay zero (relative tolerance has no absolute floor)
    assert rc.compare_rows(stored, stored.assign(f=[1.0, 1e-300]))[0]["column"] == "f"
    # rules out: a column the task stopped returning (or started returning) going unnoticed
    gone = rc.compare_rows(stored, stored.drop(columns=["s"]).assign(new=1))
    assert {(b["column"], b["row"]) for b in gone} == {("s", None), ("new", None)}


def test_recheck_modes_and_their_variable(monkeypatch):
    assert rc.recheck_mode(None) == "sample"
    monkeypatch.setenv(rc.RECHECK_ENV, "off")
    assert rc.recheck_mode(None) == "off" and rc.recheck_mode("all") == "all"
    monkeypatch.setenv(rc.RECHECK_ENV, "sometimes")
    # rules out: a misspelt mode silently read as a default
    with pytest.raises(rc.RecheckModeError, match="EXPREG_RECHECK='sometimes'"):
        rc.recheck_mode(None)
    with pytest.raises(rc.RecheckModeError, match="recheck must be one of"):
        rc.recheck_mode("everything")


# --------------------------------------------------------------------------- real stored tables
def _copy_store(tmp_path, name):
    shutil.copytree(sweep.RESULTS_DIR / name, tmp_path / name)
    return tmp_path / name / "full" / "table.csv"


def _row_of(message):
    return int(re.search(r"at row (\d+) \{", message).group(1))


@pytest.mark.parametrize("column, change", [("net_rel_loss", lambda v: v * (1 + 1e-6)), ("d", lambda v: v + 1)])
def test_an_altered_stored_table_fails_naming_sweep_row_column_and_values(tmp_path, monkeypatch, column, change):
    path = _copy_store(tmp_path, "relu2-width")
    monkeypatch.setenv(sweep.RESULTS_ENV, str(tmp_path))
    monkeypatch.delenv(rc.RECHECK_ENV, raising=False)
    table, prov = sweep.load_result("relu2-width", "full")
    # the copy as stored passes, and the report says what was rerun
    assert prov["recheck"]["mode"] == "sample" and len(prov["recheck"]["rows"]) >= 8
    assert re.match(rf"relu2-width \(full\): reran \d+ of {len(table)} stored rows", sweep.recheck_summary(prov))
    original = table.copy()
    table[column] = change(table[column])
    table.to_csv(path, index=False)
    with pytest.raises(sweep.StaleResultError) as err:
        sweep.load_result("relu2-width", "full")
    msg = str(err.value)
    row = _row_of(msg)
    point = sweep.get("relu2-width").points("full")[row]
    # rules out: a message that does not say which sweep, row (grid point), column and values
    assert "'relu2-width'" in msg and f"column {column!r}" in msg
    assert "{" + ", ".join(f"{k}={v!r}" for k, v in point.items()) + "}" in msg
    assert f"stored {table[column].iloc[row].item()!r}" in msg
    assert f"live {original[column].iloc[row].item()!r}" in msg
    # the escape hatch: EXPREG_RECHECK=off reads the altered table without rerunning it
    monkeypatch.setenv(rc.RECHECK_ENV, "off")
    _, prov_off = sweep.load_result("relu2-width", "full")
    assert prov_off["recheck"]["rows"] == [] and "not rechecked" in sweep.recheck_summary(prov_off)


def test_command_line_recheck(tmp_path, capsys, monkeypatch):
    path = _copy_store(tmp_path, "relu2-width")
    assert sweep.main(["relu2-width", "--recheck", "--out", str(tmp_path)]) == 0
    assert "reran" in capsys.readouterr().out
    table = pd.read_csv(path)
    table["net_rel_loss"] = table["net_rel_loss"] * 2
    table.to_csv(path, index=False)
    # rules out: a command line that reports a stale table with exit status 0
    assert sweep.main(["--recheck", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("STALE") and "column 'net_rel_loss'" in out


@pytest.mark.parametrize("name", STORED)
def test_stored_tables_reproduce(name):
    """A few rows of every stored table (the coverage rows, the cheapest that show every axis
    at two values) rerun to the stored values, columns by the 1e-9 rule."""
    table, prov = sweep.load_result(name, "full", recheck="off")
    rep = rc.recheck(table, sweep.get(name), "full", prov, min_rows=2, fraction=0.0, budget_s=0.0)
    # rules out: a stored table the current code no longer reproduces (recheck raises)
    assert rep["rows"] and len(rep["columns"]) == len(table.columns) - 1


def _with_two_blas_threads(code):
    """Run ``code`` in a fresh interpreter whose BLAS may use two threads."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_rerun_does_not_depend_on_blas_threads():
    code = ("from expreg_nb import sweep, recheck as rc\n"
            "for name in ('exp-width-norm-indep', 'relu2-phase'):\n"
            "    t, p = sweep.load_result(name, 'full', recheck='off')\n"
            "    r = rc.recheck(t, sweep.get(name), 'full', p, min_rows=2, fraction=0.0, budget_s=0.0)\n"
            "    print(name, len(r['rows']))\n")
    proc = _with_two_blas_threads(code)
    # rules out: stored floats that only a particular BLAS thread count reproduces
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_rerun_on_the_device_kind_the_table_was_stored_with(monkeypatch):
    from expreg_nb import backend

    table, prov = sweep.load_result("relu2-width", "full", recheck="off")
    s = sweep.get("relu2-width")
    monkeypatch.setenv(backend.STRICT_ENV_VAR, "1")
    monkeypatch.setenv(backend.ENV_VAR, "strict")
    rep = rc.recheck(table, s, "full", prov, min_rows=2, fraction=0.0, budget_s=0.0)
    # rules out: a CPU-stored table rerun on whatever device the chapter runs on (a GPU's sums differ)
    assert rep["backend"].startswith("numpy") and rep["rows"]
    # and the chapter's own backend is left as it was
    assert os.environ[backend.ENV_VAR] == "strict"
    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    gpu_prov = {**prov, "backend": "cupy 13.3.0 on GPU 0 (NVIDIA H100)"}
    rep = rc.recheck(table, s, "full", gpu_prov)
    # rules out: a GPU-stored table compared at 1e-9 with a CPU rerun (or skipped without saying so)
    assert rep["mode"] == "skipped" and rep["rows"] == []
    assert "not rechecked (stored on a GPU" in sweep.recheck_summary({**gpu_prov, "recheck": rep})


def test_a_singular_kernels_row_reruns_the_same_with_threaded_blas():
    # relu2-width below the rank threshold: lambda_min(K(0)) is rounding noise (~1e-18), which a
    # threaded eigensolver used to round differently (the book build failed on this row)
    code = ("from expreg_nb import sweep, recheck as rc\n"
            "t, p = sweep.load_result('relu2-width', 'full', recheck='off')\n"
            "s = sweep.get('relu2-width')\n"
            "row = t[(t.n == 256) & (t.md_over_n == 0.75) & (t.data_seed == 3) & (t.init_seed == 0)]\n"
            "pts = [pt for pt in s.points('full') if pt['n'] == 256 and pt['md_over_n'] == 0.75\n"
            "       and pt['data_seed'] == 3 and pt['init_seed'] == 0]\n"
            "live = sweep.run(s.fn, pts, progress=False)\n"
            "bad = rc.compare_rows(row.reset_index(drop=True), live)\n"
            "assert not bad, bad\n")
    proc = _with_two_blas_threads(code)
    # rules out: stored floats that only a particular BLAS thread count reproduces
    assert proc.returncode == 0, proc.stderr[-2000:]
