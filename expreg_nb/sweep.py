r"""Sweeps: one function over a grid of parameters, one table row per run, on any executor.

:func:`run` calls ``fn(**point)`` for every point of a grid (:func:`grid` builds
the cartesian product of named axes) and returns a :class:`pandas.DataFrame`
with one row per point, its parameters first, then what ``fn`` returned (a
dict, or a number stored as ``value``), the wall time of the task and an
``error`` column.  Where the work runs is the caller's choice of
:class:`concurrent.futures.Executor`:

* serial (the default, ``executor=None``);
* a laptop's cores: ``concurrent.futures.ProcessPoolExecutor()``;
* a cluster: ``dask.distributed.Client(address).get_executor()`` (Dask is the
  engine for more than one machine; this module schedules nothing itself).

Each task seeds itself from its own grid point (put the seeds in the grid, or
derive one with :func:`point_seed`), so the table is the same whatever the
executor and the order in which tasks finish.  A task that fails with one of
the *expected* errors (divergence of gradient descent, a memorizer that could
not be built, or whatever ``catch`` names) becomes a row with its error, not a
crash of the sweep; any other exception is a bug and propagates.

**Tasks and named sweeps.**  A task function is registered under an explicit,
stable id with the :func:`task` decorator (``@sweep.task("exp-width")``); a
:class:`Sweep` names a registered task and a grid per scale (``book`` or
``full``).  The id, not the function's module path, enters the grid hash, so
moving a function changes nothing.  The runner names no experiment module: each
Part lists its sweeps under the ``expreg_nb.sweeps`` entry-point group of the
package metadata (``pyproject.toml``), and :func:`registry` loads them.

**The results store.**  ``python -m expreg_nb.sweep NAME --scale full`` runs a
named sweep and writes ``table.csv`` and ``provenance.json`` under
``ROOT/NAME/SCALE/``, where ``ROOT`` is :func:`results_root`: ``$EXPREG_RESULTS``
if set, else the package's own ``expreg_nb/results`` (package data, so a
non-editable install carries the stored results).  A chapter reads a result back
with :func:`load_result`, which refuses a table whose grid hash no longer matches
the sweep's current definition and reruns a seeded sample of its rows with the
current code, comparing every column (:mod:`expreg_nb.recheck`;
``$EXPREG_RECHECK``), so a stale result fails the build;
``python -m expreg_nb.sweep [NAME] --recheck [all]`` does the same from the shell.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as _dt
import hashlib
import importlib.metadata
import itertools
import json
import math
import numbers
import os
import platform
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tqdm.auto import tqdm

from .errors import StaleResultError
from .recheck import RECHECK_ENV, recheck_sample, recheck_summary
from .provenance import git_state, package_versions
from .scale import SCALES, current_scale
from .validation import (check_bool, check_exception_types, check_executor, check_int, check_path,
                         check_progress, check_real, check_str)

#: The package's own results store (package data): ``RESULTS_DIR/NAME/SCALE/``.
RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Environment variable that moves the results store (a directory).
RESULTS_ENV = "EXPREG_RESULTS"

#: Entry-point group under which each Part lists its named sweeps (a list of :class:`Sweep`).
ENTRY_POINT_GROUP = "expreg_nb.sweeps"

ERROR_COLUMN = "error"
TIME_COLUMN = "seconds"



# --------------------------------------------------------------------------- tasks
_TASKS: dict[str, Callable] = {}
_TASK_ATTR = "__sweep_task_id__"


def task(task_id: str):
    """Register the decorated module-level function as the sweep task ``task_id``.

    The id is what stored results refer to (it enters :meth:`Sweep.grid_hash`), so it
    must never change for a task whose results are stored; the function may move freely.
    """
    if not isinstance(task_id, str) or not task_id.strip() or task_id != task_id.strip():
        raise ValueError(f"task_id must be a non-empty string without surrounding spaces, got {task_id!r}")

    def register(fn):
        if not callable(fn):
            raise TypeError(f"@task({task_id!r}) must decorate a function, got {type(fn).__name__}")
        other = _TASKS.get(task_id)
        if other is not None and (other.__module__, other.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"task id {task_id!r} is already registered for "
                             f"{other.__module__}.{other.__qualname__}")
        _TASKS[task_id] = fn
        setattr(fn, _TASK_ATTR, task_id)
        return fn

    return register


def task_id(fn) -> str:
    """The registered id of a task function (:class:`ValueError` if it was never registered)."""
    tid = getattr(fn, _TASK_ATTR, None)
    if tid is None:
        name = getattr(fn, "__qualname__", repr(fn))
        raise ValueError(f"{name} is not a registered sweep task; decorate it with @expreg_nb.sweep.task('ID')")
    return tid


def get_task(tid: str) -> Callable:
    """The task function registered under ``tid`` (every Part's sweeps are loaded first)."""
    if not isinstance(tid, str):
        raise TypeError(f"tid must be a task id (a str), got {type(tid).__name__}")
    registry()
    if tid not in _TASKS:
        raise ValueError(f"tid {tid!r} is no registered sweep task; known: {', '.join(sorted(_TASKS)) or 'none'}")
    return _TASKS[tid]


# --------------------------------------------------------------------------- grids
def grid(**axes) -> list[dict]:
    """The cartesian product of named axes, in the order given: ``grid(m=[8, 16], seed=[0, 1])``.

    Each axis is a non-empty sequence of plain values (numbers but not NaN, strings, bools, None).
    """
    if not axes:
        raise ValueError("grid needs at least one axis, e.g. grid(seed=[0, 1])")
    values = []
    for name, vals in axes.items():
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) and not hasattr(vals, "__iter__"):
            raise TypeError(f"axis {name!r} must be a sequence of values, got {type(vals).__name__}")
        vals = list(vals)
        if not vals:
            raise ValueError(f"axis {name!r} is empty")
        values.append([plain_value(v, f"axis {name!r}") for v in vals])
    return [dict(zip(axes, combo)) for combo in itertools.product(*values)]


def plain_value(v, name: str):
    """A grid value as a plain Python scalar (NumPy scalars included), so it hashes and pickles.

    ``name`` (a str) is what an error calls the value; NaN is refused (it equals nothing, not even
    itself, so a point holding it could never be found again), inf is a value.
    """
    check_str(name, "name")
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        return str(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        if math.isnan(v):
            raise ValueError(f"{name} is NaN; grid values must be numbers (not NaN), strings, bools or None")
        return float(v)
    if hasattr(v, "item") and getattr(v, "ndim", None) == 0:
        return plain_value(v.item(), name)
    raise TypeError(f"{name} holds {type(v).__name__}; grid values must be numbers, strings, "
                    f"bools or None")


def _check_table(df, name="df"):
    """A sweep table: a DataFrame with the :data:`ERROR_COLUMN` that :func:`run` writes."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame (a sweep table), got {type(df).__name__}")
    if ERROR_COLUMN not in df.columns:
        raise ValueError(f"{name} has no {ERROR_COLUMN!r} column: it is not a table made by "
                         f"expreg_nb.sweep.run (columns: {list(df.columns)[:8]})")
    return df


def point_seed(point: Mapping, *, exclude: Sequence[str] = ()) -> int:
    """A seed derived from a grid point (stable across processes and machines): CRC32 of its JSON."""
    if not isinstance(point, Mapping):
        raise TypeError(f"point must be a mapping, got {type(point).__name__}")
    if isinstance(exclude, (str, bytes)) or not hasattr(exclude, "__iter__"):
        raise TypeError(f"exclude must be a sequence of names, got {type(exclude).__name__}")
    exclude = set(exclude)
    for k in point:
        if not isinstance(k, str):
            raise TypeError(f"point must be keyed by parameter names (str), got the key {k!r}")
    # the same normalization as grid: NumPy scalars hash as the plain values they stand for
    key = {k: plain_value(v, f"point[{k!r}]") for k, v in point.items() if k not in exclude}
    return zlib.crc32(json.dumps(key, sort_keys=True).encode())


def _default_catch():
    from .errors import MemorizationError
    from .training import DivergenceError

    return (DivergenceError, MemorizationError)


def _call(fn, point, catch):
    """Run one task with one BLAS thread; an expected error becomes ``{"error": "Type: message"}``.

    One thread makes a task's floats independent of the machine's BLAS threading (a threaded
    eigenvalue solver rounds differently: a singular kernel's lambda_min of ~1e-18 came out
    twice as large with more threads), so a stored table and its recheck agree to 1e-9
    wherever they run; sweeps parallelize over tasks instead (``--workers``).
    """
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            out = fn(**point)
    except catch as exc:
        out = {ERROR_COLUMN: f"{type(exc).__name__}: {exc}"}
    else:
        if not isinstance(out, Mapping):
            out = {"value": out}
        out = dict(out)
        clash = sorted(set(out) & (set(point) | {ERROR_COLUMN, TIME_COLUMN}))
        if clash:
            raise ValueError(f"the task returned keys {clash} that clash with the grid or the sweep's columns")
        out[ERROR_COLUMN] = None
    out[TIME_COLUMN] = time.perf_counter() - start
    return out


# --------------------------------------------------------------------------- running
def run(fn: Callable, points: Sequence[Mapping], *, executor: cf.Executor | None = None,
        catch=None, progress: bool | None = None, desc: str = "sweep"):
    """Run ``fn(**point)`` for every point and return a DataFrame, one row per point, in grid order.

    Parameters
    ----------
    fn
        The task: a module-level function (so a process or a Dask worker can
        import it) taking the grid's names as keyword arguments and returning a
        dict of results (or one number, stored as ``value``).
    points
        The grid: a list of dicts, e.g. from :func:`grid`.
    executor
        Any :class:`concurrent.futures.Executor`; ``None`` runs serially here.
    catch
        Exception types that turn a task into an error row; default
        :class:`~expreg_nb.training.DivergenceError` and
        :class:`~expreg_nb.errors.MemorizationError`.
    progress
        tqdm bar counting tasks (``None``: shown for more than one task, and
        silenced by ``TQDM_DISABLE``).
    """
    import pandas as pd

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(points, (Mapping, str, bytes)) or not isinstance(points, Sequence) \
            or not all(isinstance(p, Mapping) for p in points):
        raise TypeError("points must be a list of dicts (use expreg_nb.sweep.grid)")
    points = [dict(p) for p in points]
    if not points:
        raise ValueError("points is empty: nothing to run")
    if any(not all(isinstance(k, str) for k in p) for p in points):
        raise TypeError("every point must be a dict keyed by parameter names")
    catch = _default_catch() if catch is None else check_exception_types(catch, "catch")
    check_executor(executor)
    progress = check_progress(progress)
    check_str(desc, "desc")
    disable = progress is False or (progress is None and len(points) < 2)
    results: list = [None] * len(points)
    with tqdm(total=len(points), desc=desc, leave=False, disable=disable) as bar:
        if executor is None:
            for i, p in enumerate(points):
                results[i] = _call(fn, p, catch)
                bar.update(1)
        else:
            futures = {executor.submit(_call, fn, p, catch): i for i, p in enumerate(points)}
            for fut in cf.as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update(1)
    return _error_and_time_last(pd.DataFrame([{**p, **r} for p, r in zip(points, results)]))


def _error_and_time_last(df):
    """``df`` with the error and wall-time columns last (the layout of every stored table)."""
    cols = [c for c in df.columns if c not in (ERROR_COLUMN, TIME_COLUMN)] + [ERROR_COLUMN, TIME_COLUMN]
    return df[cols]


def failed(df):
    """The rows of a sweep table whose task raised an expected error."""
    _check_table(df)
    return df[df[ERROR_COLUMN].notna()]


# --------------------------------------------------------------------------- named sweeps
@dataclass(frozen=True)
class Sweep:
    """A named sweep: a task function and its grid at each scale.

    ``grids`` maps a scale (``"book"``, ``"full"``) to the list of grid points.
    ``version`` is bumped when the task's meaning changes without its grid
    changing, so stored results go stale too.
    """

    name: str
    fn: Callable
    grids: Mapping[str, Sequence[Mapping]]
    description: str = ""
    version: int = 1
    catch: tuple = field(default=())

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        task_id(self.fn)  # a named sweep runs a registered task
        if not isinstance(self.grids, Mapping) or not self.grids:
            raise TypeError(f"grids must be a non-empty mapping from scale to grid points, got "
                            f"{type(self.grids).__name__}")
        for scale, pts in self.grids.items():
            if scale not in SCALES:
                raise ValueError(f"grids has the scale {scale!r}; scales are {SCALES}")
            if isinstance(pts, Mapping) or not isinstance(pts, Sequence) or not pts \
                    or not all(isinstance(p, Mapping) for p in pts):
                raise TypeError(f"grids[{scale!r}] must be a non-empty list of dicts (expreg_nb.sweep.grid)")
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a str, got {type(self.description).__name__}")
        object.__setattr__(self, "version", check_int(self.version, "version"))
        if not isinstance(self.catch, tuple) or not all(isinstance(c, type) and issubclass(c, BaseException)
                                                        for c in self.catch):
            raise TypeError("catch must be a tuple of exception types")

    def points(self, scale: str | None = None) -> list[dict]:
        scale = current_scale() if scale is None else scale
        if not isinstance(scale, str) or scale not in self.grids:
            raise ValueError(f"sweep {self.name!r} has no grid for scale {scale!r}; has {sorted(self.grids)}")
        return [dict(p) for p in self.grids[scale]]

    def grid_hash(self, scale: str | None = None) -> str:
        """SHA-256 of the task's name, the version and the grid: what a stored result must match."""
        spec = {"sweep": self.name, "task": task_id(self.fn), "version": self.version,
                "points": self.points(scale)}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()

    def run(self, scale: str | None = None, *, executor=None, progress=None):
        return run(self.fn, self.points(scale), executor=executor, progress=progress,
                   catch=self.catch or None, desc=self.name)


def registry() -> dict[str, Sweep]:
    """Every named sweep of the installed package, by name.

    Each entry point of the group :data:`ENTRY_POINT_GROUP` (declared in
    ``pyproject.toml``) loads a list of :class:`Sweep`.
    """
    out: dict[str, Sweep] = {}
    points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    if not points:
        raise RuntimeError(f"no entry points in group {ENTRY_POINT_GROUP!r}: is expreg_nb installed "
                           f"(pip install -e .)?")
    for ep in sorted(points, key=lambda e: e.name):
        sweeps = ep.load()
        for s in sweeps:
            if not isinstance(s, Sweep):
                raise TypeError(f"entry point {ep.name!r} ({ep.value}) holds {type(s).__name__}, not a Sweep")
            if s.name in out:
                raise ValueError(f"two named sweeps are called {s.name!r}")
            out[s.name] = s
    return out


def get(name: str) -> Sweep:
    """The named sweep ``name``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of a sweep (a str), got {type(name).__name__}")
    reg = registry()
    if name not in reg:
        raise ValueError(f"name {name!r} is no named sweep; known: {', '.join(sorted(reg)) or 'none'}")
    return reg[name]


def provenance(sweep: Sweep, scale: str, wall_seconds: float, executor_desc: str) -> dict:
    """The provenance record of a stored result (what :func:`store` writes as ``provenance.json``)."""
    from . import __version__, backend

    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be an expreg_nb.sweep.Sweep, got {type(sweep).__name__}")
    if not isinstance(scale, str) or scale not in sweep.grids:
        raise ValueError(f"scale must be one of the sweep's scales {sorted(sweep.grids)}, got {scale!r}")
    wall_seconds = check_real(wall_seconds, "wall_seconds", nonnegative=True)
    if not isinstance(executor_desc, str):
        raise TypeError(f"executor_desc must be a str, got {type(executor_desc).__name__}")

    commit, dirty = git_state()
    return {
        "sweep": sweep.name,
        "description": sweep.description,
        "scale": scale,
        "grid_hash": sweep.grid_hash(scale),
        "task": task_id(sweep.fn),
        "version": sweep.version,
        "points": len(sweep.points(scale)),
        "grid": sweep.points(scale),
        "package_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "versions": package_versions(),
        "backend": backend.describe(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": sys.version.split()[0],
        "executor": executor_desc,
        "wall_seconds": round(wall_seconds, 2),
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def results_root(root: Path | str | None = None) -> Path:
    """The results store: ``root`` if given, else ``$EXPREG_RESULTS``, else :data:`RESULTS_DIR`."""
    if root is not None:
        return check_path(root, "root")
    env = os.environ.get(RESULTS_ENV, "").strip()
    return Path(env) if env else RESULTS_DIR


def result_dir(name: str, scale: str, root: Path | None = None) -> Path:
    """Where the result of sweep ``name`` at ``scale`` is stored (``results_root(root)/name/scale``)."""
    for value, what in ((name, "name"), (scale, "scale")):
        if not isinstance(value, str) or not value.strip() or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError(f"{what} must be a plain non-empty name (no path separators), got {value!r}")
    return results_root(root) / name / scale


def store(name: str, scale: str, *, executor=None, executor_desc: str = "serial",
          root: Path | None = None, progress=None, reuse: bool = False):
    """Run the named sweep at ``scale`` and write ``table.csv`` and ``provenance.json``; return both.

    ``reuse=True`` extends a stored result instead of redoing it: a grid point that the stored
    provenance's ``grid`` lists (the same dict) takes its stored row, and only the other points
    run.  The stored result must be of the same sweep, task and version; the provenance then
    records ``reused`` (how many rows, and the commit, finish time and wall time they came
    from), and the rechecks of :func:`load_result` rerun reused rows like any other.
    """
    import pandas as pd

    if not isinstance(scale, str) or scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    check_str(executor_desc, "executor_desc")
    check_executor(executor)
    progress = check_progress(progress)
    reuse = check_bool(reuse, "reuse")
    out = result_dir(name, scale, root)  # checks name and root before anything runs
    sweep = get(name)
    points = sweep.points(scale)
    old_rows, old_prov = (_reusable(sweep, scale, out) if reuse else ({}, None))
    todo = [p for p in points if _point_key(p) not in old_rows]
    start = time.perf_counter()
    new = run(sweep.fn, todo, executor=executor, progress=progress, catch=sweep.catch or None,
              desc=sweep.name) if todo else None
    wall = time.perf_counter() - start
    new_rows = iter(new.to_dict("records")) if new is not None else iter(())
    rows = [old_rows[_point_key(p)] if _point_key(p) in old_rows else next(new_rows) for p in points]
    df = _error_and_time_last(pd.DataFrame(rows))
    prov = provenance(sweep, scale, wall, executor_desc)
    if old_prov is not None:
        prov["reused"] = {"rows": len(points) - len(todo),
                          **{k: old_prov.get(k) for k in ("git_commit", "git_dirty", "finished",
                                                          "wall_seconds")}}
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "table.csv", index=False)
    (out / "provenance.json").write_text(json.dumps(prov, indent=1) + "\n")
    return df, prov


def _point_key(point: Mapping) -> str:
    return json.dumps(point, sort_keys=True)


def _reusable(sweep: Sweep, scale: str, out: Path) -> tuple[dict, dict | None]:
    """The stored rows of ``sweep`` at ``scale`` by grid point (``{}`` when nothing is stored)."""
    import pandas as pd

    if not (out / "table.csv").exists() or not (out / "provenance.json").exists():
        return {}, None
    prov = json.loads((out / "provenance.json").read_text())
    same = (prov.get("sweep") == sweep.name and prov.get("scale") == scale
            and prov.get("task", task_id(sweep.fn)) == task_id(sweep.fn)
            and prov.get("version", sweep.version) == sweep.version)
    if not same:
        raise ValueError(f"cannot reuse the stored result in {out}: it is not of sweep {sweep.name!r} "
                         f"({scale}), task {task_id(sweep.fn)!r}, version {sweep.version}")
    table = pd.read_csv(out / "table.csv")
    grid = prov.get("grid")
    if not isinstance(grid, list) or len(grid) != len(table):
        raise ValueError(f"cannot reuse the stored result in {out}: its provenance's grid does not "
                         f"list its {len(table)} rows")
    keep = table[table[ERROR_COLUMN].isna()] if ERROR_COLUMN in table.columns else table.iloc[:0]
    return {_point_key(grid[i]): row for i, row in zip(keep.index, keep.to_dict("records"))}, prov


def load_result(name: str, scale: str = "full", *, root: Path | None = None, check: bool = True,
                recheck: str | bool | None = None):
    """The stored ``(table, provenance)`` of a named sweep.

    With ``check=True`` (the default) a :class:`StaleResultError` is raised when
    the stored grid hash differs from the sweep's current definition, and rows of
    the stored table are run again with the current code and compared column by
    column (:mod:`expreg_nb.recheck`): ``recheck="sample"`` (a seeded sample,
    :func:`recheck_sample`), ``"all"`` or ``"off"``; ``None`` (the default) reads
    ``$EXPREG_RECHECK`` (default ``sample``).  A difference raises
    :class:`StaleResultError` naming the sweep, row, column and both values.  The
    report of what was rechecked is ``provenance["recheck"]``;
    :func:`recheck_summary` turns it into the line a chapter prints.
    ``check=False`` skips both checks (unless ``recheck`` is given).
    """
    import pandas as pd

    check = check_bool(check, "check")
    out = result_dir(name, scale, root)
    if not (out / "table.csv").exists():
        raise FileNotFoundError(f"no stored result for sweep {name!r} at scale {scale!r} in {out}; "
                                f"run: python -m expreg_nb.sweep {name} --scale {scale}")
    prov_path = out / "provenance.json"
    try:
        prov = json.loads(prov_path.read_text())
    except FileNotFoundError:
        raise StaleResultError(f"the stored result of {name!r} ({scale}) has a table but no {prov_path}; "
                               f"rerun: python -m expreg_nb.sweep {name} --scale {scale}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StaleResultError(f"the provenance of {name!r} ({scale}) is not valid JSON ({prov_path}: {exc}); "
                               f"rerun: python -m expreg_nb.sweep {name} --scale {scale}") from None
    if not isinstance(prov, dict):
        raise StaleResultError(f"the provenance of {name!r} ({scale}) in {prov_path} is a "
                               f"{type(prov).__name__}, not a JSON object; rerun the sweep")
    if check:
        current = get(name).grid_hash(scale)
        if prov.get("grid_hash") != current:
            raise StaleResultError(
                f"the stored result of {name!r} ({scale}) was made with grid hash "
                f"{prov.get('grid_hash', '?')[:12]}, but the sweep's definition now hashes to "
                f"{current[:12]}; rerun: python -m expreg_nb.sweep {name} --scale {scale}")
    try:
        table = pd.read_csv(out / "table.csv")
    except pd.errors.EmptyDataError:
        raise StaleResultError(f"the stored table of {name!r} ({scale}) in {out / 'table.csv'} is empty; "
                               f"rerun: python -m expreg_nb.sweep {name} --scale {scale}") from None
    except pd.errors.ParserError as exc:
        raise StaleResultError(f"the stored table of {name!r} ({scale}) cannot be parsed ({exc}); "
                               f"rerun: python -m expreg_nb.sweep {name} --scale {scale}") from None
    if ERROR_COLUMN not in table.columns:
        raise StaleResultError(f"the stored table of {name!r} ({scale}) has no {ERROR_COLUMN!r} column: "
                               f"it was not written by expreg_nb.sweep; rerun the sweep")
    if check or recheck is not None:
        prov["recheck"] = _recheck_stored(name, scale, table, prov, recheck)
    return table, prov


def _recheck_stored(name: str, scale: str, table, prov: dict, mode) -> dict:
    """Rerun rows of a stored table (:func:`expreg_nb.recheck.recheck`) and return the report."""
    from .recheck import recheck, recheck_mode

    return recheck(table, get(name), scale, prov, mode=recheck_mode(mode))


# --------------------------------------------------------------------------- command line
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m expreg_nb.sweep",
                                 description="Run a named sweep and store its table and provenance.")
    ap.add_argument("name", nargs="?", help="the named sweep (see --list)")
    ap.add_argument("--scale", choices=SCALES, default=None, help="grid size (default: EXPREG_SCALE)")
    ap.add_argument("--workers", type=int, default=1, help="local processes (default 1: serial)")
    ap.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster (scheduler address)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"results root (default ${RESULTS_ENV}, else {RESULTS_DIR})")
    ap.add_argument("--list", action="store_true", help="list the named sweeps and exit")
    ap.add_argument("--reuse", action="store_true",
                    help="extend the stored result: keep its rows for the grid points it has, run the rest "
                         "(the provenance records what was reused)")
    ap.add_argument("--recheck", nargs="?", const="sample", choices=("sample", "all"), default=None,
                    help="instead of running: rerun a seeded sample of the stored table of NAME (or with "
                         "'all' every row) and compare it with the current code; without NAME, every "
                         "stored table (scale default: full)")
    args = ap.parse_args(argv)
    if args.recheck:
        return _recheck_main(args.name, args.scale or "full", args.recheck, args.out)
    if args.list or not args.name:
        for name, s in sorted(registry().items()):
            sizes = ", ".join(f"{k}: {len(v)} runs" for k, v in s.grids.items())
            print(f"{name:32s} {sizes}  {s.description}")
        return 0
    scale = args.scale or current_scale()
    if args.dask:
        from dask.distributed import Client

        with Client(args.dask) as client:
            df, prov = store(args.name, scale, executor=client.get_executor(),
                             executor_desc=f"dask {args.dask}", root=args.out, reuse=args.reuse)
    elif args.workers > 1:
        with cf.ProcessPoolExecutor(args.workers) as ex:
            df, prov = store(args.name, scale, executor=ex,
                             executor_desc=f"{args.workers} processes", root=args.out, reuse=args.reuse)
    else:
        df, prov = store(args.name, scale, root=args.out, reuse=args.reuse)
    n_err = int(df[ERROR_COLUMN].notna().sum())
    print(f"{args.name} ({scale}): {len(df)} runs, {n_err} error rows, {prov['wall_seconds']:.1f} s -> "
          f"{result_dir(args.name, scale, args.out)}")
    return 0


def _recheck_main(name: str | None, scale: str, mode: str, root) -> int:
    """``--recheck``: one line per stored table; status 1 if any is stale."""
    names = [name] if name else sorted(n for n in registry() if (result_dir(n, scale, root) / "table.csv").exists())
    if not names:
        print(f"no stored tables at scale {scale!r} in {results_root(root)}")
        return 0
    stale = 0
    for n in names:
        try:
            _, prov = load_result(n, scale, root=root, recheck=mode)
        except StaleResultError as exc:
            stale += 1
            print(f"STALE {exc}", flush=True)
        else:
            print(recheck_summary(prov), flush=True)
    return 1 if stale else 0


if __name__ == "__main__":  # pragma: no cover
    # run the package's own module, not this __main__ copy: the entry points' Sweep objects are
    # instances of expreg_nb.sweep.Sweep, which a second copy of this module would not recognize
    from expreg_nb.sweep import main as _main

    raise SystemExit(_main())


__all__ = ["ENTRY_POINT_GROUP", "ERROR_COLUMN", "RECHECK_ENV", "RESULTS_DIR", "RESULTS_ENV",
           "TIME_COLUMN", "Sweep", "StaleResultError", "failed", "get", "get_task", "grid",
           "load_result", "plain_value", "point_seed", "provenance", "recheck_sample",
           "recheck_summary", "registry", "result_dir", "results_root", "run", "store", "task", "task_id"]
