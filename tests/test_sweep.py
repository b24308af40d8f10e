"""The sweep runner: one table whatever the executor, error rows, named sweeps and the results store."""
from __future__ import annotations

import concurrent.futures as cf
import json
import pathlib

import numpy as np
import pandas as pd
import pytest

from expreg_nb import provenance, sweep
from expreg_nb.relu2.experiments import sharpening_task

# Small but real runs of a Part II task at a fixed step scale c; c = 600 makes gradient descent
# diverge (an error row).
POINTS = sweep.grid(n=[8], d=[4], md_over_n=[2.0, 4.0], ratio=[1.0], data_seed=[0, 1],
                    init_seed=[0], c=[0.5, 600.0], steps=[150])


def _table(executor):
    df = sweep.run(sharpening_task, POINTS, executor=executor, progress=False)
    return df.drop(columns=[sweep.TIME_COLUMN])


@pytest.fixture(scope="module")
def serial():
    return _table(None)


def test_serial_table_shape_and_error_rows(serial):
    # rules out: rows lost, reordered or not one per grid point
    assert len(serial) == len(POINTS)
    assert serial[list(POINTS[0])].to_dict("records") == POINTS
    bad = sweep.failed(serial)
    # rules out: a diverging run crashing the sweep, or a silently "successful" diverged run
    assert set(bad["c"]) == {600.0} and len(bad) == 4
    assert bad["error"].str.startswith("DivergenceError").all()
    assert serial.loc[serial["c"] == 0.5, "error"].isna().all()
    assert serial.loc[serial["c"] == 0.5, "max_lambda_max"].notna().all()


def test_process_pool_gives_the_same_table(serial):
    with cf.ProcessPoolExecutor(2) as ex:
        df = _table(ex)
    # rules out: results that depend on the executor or on the completion order
    pd.testing.assert_frame_equal(df, serial)


def test_dask_local_cluster_gives_the_same_table(serial):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        df = _table(client.get_executor())
    # rules out: a Dask run that differs from the serial one
    pd.testing.assert_frame_equal(df, serial)


def _boom(x):
    raise TypeError("a bug, not an expected failure")


@sweep.task("test-scalar")
def _scalar(x):
    return 2 * x


def test_unexpected_errors_propagate_and_scalars_are_values():
    with pytest.raises(TypeError, match="a bug"):
        sweep.run(_boom, sweep.grid(x=[1, 2]), progress=False)
    df = sweep.run(_scalar, sweep.grid(x=[1, 2]), progress=False)
    assert list(df["value"]) == [2, 4]


def test_grid_and_seed_helpers():
    g = sweep.grid(a=[1, 2], b=["x"], c=np.array([0.5]))
    assert g == [{"a": 1, "b": "x", "c": 0.5}, {"a": 2, "b": "x", "c": 0.5}]
    assert type(g[0]["c"]) is float
    assert sweep.point_seed({"a": 1, "b": 2}) == sweep.point_seed({"b": 2, "a": 1})
    assert sweep.point_seed({"a": 1}) != sweep.point_seed({"a": 2})
    with pytest.raises(ValueError, match="axis 'a' is empty"):
        sweep.grid(a=[])
    with pytest.raises(TypeError, match="axis 'a' must be a sequence"):
        sweep.grid(a="abc")
    with pytest.raises(TypeError, match="grid values must be"):
        sweep.grid(a=[object()])
    with pytest.raises(ValueError, match="nothing to run"):
        sweep.run(_scalar, [])
    with pytest.raises(TypeError, match="points must be a list"):
        sweep.run(_scalar, {"x": 1})


def test_store_and_load_with_grid_hash(tmp_path, monkeypatch):
    s = sweep.Sweep(name="tiny", fn=_scalar, grids={"book": sweep.grid(x=[1, 2, 3])})
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s})
    df, prov = sweep.store("tiny", "book", root=tmp_path)
    back, prov2 = sweep.load_result("tiny", "book", root=tmp_path)
    assert list(back["value"]) == [2, 4, 6] and prov2["grid_hash"] == s.grid_hash("book")
    for key in ("package_version", "git_commit", "git_dirty", "versions", "backend", "wall_seconds", "grid",
                "machine"):
        assert key in prov2
    # rules out: a provenance without the commit, its dirty flag or the versions that computed it
    assert prov2["git_dirty"] in (True, False) and len(prov2["git_commit"]) == 40
    assert set(prov2["versions"]) >= {"python", "expreg_nb", "numpy", "scipy", "pandas", "blas"}
    assert prov2["versions"]["numpy"] == np.__version__ and prov2["versions"]["pandas"] == pd.__version__
    # loading reran the stored rows (3 rows: all of them) and says so
    assert prov2["recheck"]["rows"] == [0, 1, 2] and prov2["recheck"]["mode"] == "sample"
    assert sweep.recheck_summary(prov2).startswith("tiny (book): reran 3 of 3 stored rows")
    # a changed definition makes the stored result stale
    s2 = sweep.Sweep(name="tiny", fn=_scalar, grids={"book": sweep.grid(x=[1, 2, 3, 4])})
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s2})
    # rules out: a stale result accepted after its grid changed
    with pytest.raises(sweep.StaleResultError, match="rerun"):
        sweep.load_result("tiny", "book", root=tmp_path)
    s3 = sweep.Sweep(name="tiny", fn=_scalar, grids={"book": sweep.grid(x=[1, 2, 3])}, version=2)
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s3})
    # rules out: a changed task meaning (version) accepted with an old table
    with pytest.raises(sweep.StaleResultError):
        sweep.load_result("tiny", "book", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m expreg_nb.sweep tiny"):
        sweep.load_result("tiny", "full", root=tmp_path)
    json.loads((tmp_path / "tiny" / "book" / "provenance.json").read_text())


_CALLS = []


@sweep.task("test-counted")
def _counted(*, x):
    _CALLS.append(x)
    return {"value": 10 * x}


def test_store_with_reuse_runs_only_the_new_points(tmp_path, monkeypatch):
    s = sweep.Sweep(name="tiny", fn=_counted, grids={"book": sweep.grid(x=[1, 2, 3])})
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s})
    sweep.store("tiny", "book", root=tmp_path)
    _CALLS.clear()
    s2 = sweep.Sweep(name="tiny", fn=_counted, grids={"book": sweep.grid(x=[0, 2, 3, 4])})
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s2})
    df, prov = sweep.store("tiny", "book", root=tmp_path, reuse=True)
    # rules out: stored points run again, or a point dropped
    assert sorted(_CALLS) == [0, 4]
    # rules out: rows out of grid order or a reused row with the wrong value
    assert list(df["x"]) == [0, 2, 3, 4] and list(df["value"]) == [0, 20, 30, 40]
    # rules out: a provenance silent about the reused rows
    assert prov["reused"]["rows"] == 2 and prov["task"] == "test-counted"
    back, _ = sweep.load_result("tiny", "book", root=tmp_path, recheck="all")
    assert list(back["value"]) == [0, 20, 30, 40]
    s3 = sweep.Sweep(name="tiny", fn=_counted, grids={"book": sweep.grid(x=[1])}, version=2)
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s3})
    # rules out: rows of another version of the task reused
    with pytest.raises(ValueError, match="cannot reuse"):
        sweep.store("tiny", "book", root=tmp_path, reuse=True)
    with pytest.raises(TypeError, match="reuse"):
        sweep.store("tiny", "book", root=tmp_path, reuse="yes")


def test_command_line_lists_and_runs(tmp_path, capsys, monkeypatch):
    s = sweep.Sweep(name="tiny", fn=_scalar, grids={"book": sweep.grid(x=[1, 2])})
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s})
    assert sweep.main(["--list"]) == 0
    assert "tiny" in capsys.readouterr().out
    assert sweep.main(["tiny", "--scale", "book", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tiny" / "book" / "table.csv").exists()
    with pytest.raises(ValueError, match="no named sweep"):
        monkeypatch.undo()
        sweep.get("does-not-exist")


def test_git_state_ignores_the_results_store_but_not_the_code(tmp_path):
    import subprocess
    run = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)
    run("init", "-q")
    (tmp_path / "expreg_nb" / "results").mkdir(parents=True)
    (tmp_path / "expreg_nb" / "results" / "t.csv").write_text("a\n1\n")
    (tmp_path / "expreg_nb" / "code.py").write_text("x = 1\n")
    run("add", ".")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    assert provenance.git_state(tmp_path)[1] is False
    (tmp_path / "expreg_nb" / "results" / "t.csv").write_text("a\n2\n")
    # rules out: a stored table marking the checkout dirty for the next sweep
    assert provenance.git_state(tmp_path)[1] is False
    (tmp_path / "expreg_nb" / "code.py").write_text("x = 2\n")
    # rules out: a modified source file not counted as dirty
    assert provenance.git_state(tmp_path)[1] is True


def test_git_state_outside_a_checkout(tmp_path):
    # rules out: a made-up commit (or a crash) where there is no git checkout (a non-editable install)
    assert provenance.git_state(tmp_path) == ("unknown", None)


def test_module_runs_as_a_script():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "expreg_nb.sweep", "--list"], capture_output=True, text=True,
                          timeout=120)
    # rules out: `python -m expreg_nb.sweep` rejecting the Parts' Sweep objects (its __main__ copy of the
    # module has its own Sweep class)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "relu2-width" in proc.stdout and "exp-width" in proc.stdout


def test_registry_has_the_named_sweeps():
    reg = sweep.registry()
    assert "relu2-width" in reg
    assert len(reg["relu2-width"].points("full")) > len(reg["relu2-width"].points("book"))


def test_task_ids_not_module_paths_enter_the_hash(monkeypatch):
    s = sweep.Sweep(name="tiny", fn=_scalar, grids={"book": sweep.grid(x=[1, 2])})
    before = s.grid_hash("book")
    # moving the function to another module (or renaming it) changes nothing
    monkeypatch.setattr(_scalar, "__module__", "somewhere.else")
    monkeypatch.setattr(_scalar, "__qualname__", "renamed")
    # rules out: a hash keyed on where the code lives (a move would make every stored result stale)
    assert s.grid_hash("book") == before
    assert sweep.task_id(_scalar) == "test-scalar" and sweep.get_task("test-scalar") is _scalar
    # rules out: a sweep over an unregistered function (its results could not be found again)
    with pytest.raises(ValueError, match="not a registered sweep task"):
        sweep.Sweep(name="bad", fn=lambda x: x, grids={"book": sweep.grid(x=[1])})
    # rules out: one id silently rebound to a different function
    with pytest.raises(ValueError, match="already registered"):
        sweep.task("test-scalar")(_boom)
    with pytest.raises(ValueError, match="task_id"):
        sweep.task(" padded ")


def test_runner_names_no_experiment_module_and_store_is_configurable(tmp_path, monkeypatch):
    import inspect

    src = inspect.getsource(sweep)
    # rules out: the runner importing the Parts by name (moving them would break it)
    for part in ("exponential", "relu2", "threshold", "experiments"):
        assert f"expreg_nb.{part}" not in src
    monkeypatch.setenv(sweep.RESULTS_ENV, str(tmp_path))
    # rules out: a store location fixed to the source tree
    assert sweep.result_dir("x", "full") == tmp_path / "x" / "full"
    monkeypatch.delenv(sweep.RESULTS_ENV)
    # rules out: a default store outside the package (a non-editable install would not carry it)
    assert sweep.results_root() == pathlib.Path(sweep.__file__).resolve().parent / "results"
    assert (sweep.results_root() / "relu2-width" / "full" / "table.csv").exists()


def test_corrupt_or_empty_stored_results_are_clear_errors(tmp_path, monkeypatch):
    s = sweep.Sweep(name="tiny", fn=_scalar, grids={"book": sweep.grid(x=[1, 2])})
    monkeypatch.setattr(sweep, "registry", lambda: {"tiny": s})
    sweep.store("tiny", "book", root=tmp_path)
    out = tmp_path / "tiny" / "book"
    (out / "provenance.json").write_text("{not json")
    # rules out: a raw JSONDecodeError from a damaged provenance file
    with pytest.raises(sweep.StaleResultError, match="provenance.json"):
        sweep.load_result("tiny", "book", root=tmp_path)
    sweep.store("tiny", "book", root=tmp_path)
    (out / "table.csv").write_text("")
    # rules out: pandas' EmptyDataError (or a KeyError: 'error' later) from an empty table
    with pytest.raises(sweep.StaleResultError, match="empty"):
        sweep.load_result("tiny", "book", root=tmp_path)
    # rules out: KeyError: 'error' from failed() on a table that is not a sweep table
    with pytest.raises(ValueError, match="'error' column"):
        sweep.failed(pd.DataFrame())


def test_point_seed_normalises_numpy_scalars_like_grid():
    point = {"m": np.int64(8), "eta": np.float64(0.5), "flag": np.bool_(True)}
    # rules out: TypeError (not JSON serializable) for the NumPy ints that grid() itself normalises
    assert sweep.point_seed(point) == sweep.point_seed({"m": 8, "eta": 0.5, "flag": True})
    assert sweep.point_seed(sweep.grid(m=np.array([8]))[0]) == sweep.point_seed({"m": 8})
