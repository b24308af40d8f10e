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
the sweep's current definition, so a stale result fails the build.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as _dt
import hashlib
import importlib.metadata
import itertools
import json
import numbers
import os
import platform
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tqdm.auto import tqdm

from .scale import SCALES, current_scale

#: The package's own results store (package data): ``RESULTS_DIR/NAME/SCALE/``.
RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Environment variable that moves the results store (a directory).
RESULTS_ENV = "EXPREG_RESULTS"

#: Entry-point group under which each Part lists its named sweeps (a list of :class:`Sweep`).
ENTRY_POINT_GROUP = "expreg_nb.sweeps"

ERROR_COLUMN = "error"
TIME_COLUMN = "seconds"


class StaleResultError(RuntimeError):
    """A stored result does not match the current definition of its sweep."""


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
    registry()
    if tid not in _TASKS:
        raise ValueError(f"no sweep task {tid!r}; known: {', '.join(sorted(_TASKS)) or 'none'}")
    return _TASKS[tid]


# --------------------------------------------------------------------------- grids
def grid(**axes) -> list[dict]:
    """The cartesian product of named axes, in the order given: ``grid(m=[8, 16], seed=[0, 1])``.

    Each axis is a non-empty sequence of plain values (numbers, strings, bools, None).
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
        values.append([plain_value(v, name) for v in vals])
    return [dict(zip(axes, combo)) for combo in itertools.product(*values)]


def plain_value(v, name):
    """A grid value as a plain Python scalar (NumPy scalars included), so it hashes and pickles."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if hasattr(v, "item"):
        return plain_value(v.item(), name)
    raise TypeError(f"axis {name!r} holds {type(v).__name__}; grid values must be numbers, strings, "
                    f"bools or None")


def point_seed(point: Mapping, *, exclude: Sequence[str] = ()) -> int:
    """A seed derived from a grid point (stable across processes and machines): CRC32 of its JSON."""
    if not isinstance(point, Mapping):
        raise TypeError(f"point must be a mapping, got {type(point).__name__}")
    key = {k: v for k, v in point.items() if k not in exclude}
    return zlib.crc32(json.dumps(key, sort_keys=True).encode())


def _default_catch():
    from .errors import MemorizationError
    from .training import DivergenceError

    return (DivergenceError, MemorizationError)


def _call(fn, point, catch):
    """Run one task; an expected error becomes ``{"error": "Type: message"}``."""
    start = time.perf_counter()
    try:
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
    if isinstance(points, Mapping) or not isinstance(points, Sequence):
        raise TypeError("points must be a list of dicts (use expreg_nb.sweep.grid)")
    points = [dict(p) for p in points]
    if not points:
        raise ValueError("points is empty: nothing to run")
    if any(not all(isinstance(k, str) for k in p) for p in points):
        raise TypeError("every point must be a dict keyed by parameter names")
    catch = _default_catch() if catch is None else tuple(catch)
    if not all(isinstance(c, type) and issubclass(c, BaseException) for c in catch):
        raise TypeError("catch must be a tuple of exception types")
    if executor is not None and not isinstance(executor, cf.Executor) and not hasattr(executor, "submit"):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
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
    rows = [{**p, **r} for p, r in zip(points, results)]
    df = pd.DataFrame(rows)
    cols = [c for c in df.columns if c not in (ERROR_COLUMN, TIME_COLUMN)] + [ERROR_COLUMN, TIME_COLUMN]
    return df[cols]


def failed(df):
    """The rows of a sweep table whose task raised an expected error."""
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
        task_id(self.fn)  # a named sweep runs a registered task

    def points(self, scale: str | None = None) -> list[dict]:
        scale = current_scale() if scale is None else scale
        if scale not in self.grids:
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
    reg = registry()
    if name not in reg:
        raise ValueError(f"no named sweep {name!r}; known: {', '.join(sorted(reg)) or 'none'}")
    return reg[name]


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(sweep: Sweep, scale: str, wall_seconds: float, executor_desc: str) -> dict:
    from . import __version__, backend

    return {
        "sweep": sweep.name,
        "description": sweep.description,
        "scale": scale,
        "grid_hash": sweep.grid_hash(scale),
        "points": len(sweep.points(scale)),
        "grid": sweep.points(scale),
        "package_version": __version__,
        "git_commit": _git_commit(Path(__file__).resolve().parent.parent),
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
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path, got {type(root).__name__}")
        return Path(root)
    env = os.environ.get(RESULTS_ENV, "").strip()
    return Path(env) if env else RESULTS_DIR


def result_dir(name: str, scale: str, root: Path | None = None) -> Path:
    """Where the result of sweep ``name`` at ``scale`` is stored (``results_root(root)/name/scale``)."""
    return results_root(root) / name / scale


def store(name: str, scale: str, *, executor=None, executor_desc: str = "serial",
          root: Path | None = None, progress=None):
    """Run the named sweep at ``scale`` and write ``table.csv`` and ``provenance.json``; return both."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    sweep = get(name)
    start = time.perf_counter()
    df = sweep.run(scale, executor=executor, progress=progress)
    prov = provenance(sweep, scale, time.perf_counter() - start, executor_desc)
    out = result_dir(name, scale, root)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "table.csv", index=False)
    (out / "provenance.json").write_text(json.dumps(prov, indent=1) + "\n")
    return df, prov


def load_result(name: str, scale: str = "full", *, root: Path | None = None, check: bool = True):
    """The stored ``(table, provenance)`` of a named sweep.

    With ``check=True`` (the default) a :class:`StaleResultError` is raised when
    the stored grid hash differs from the sweep's current definition.
    """
    import pandas as pd

    out = result_dir(name, scale, root)
    if not (out / "table.csv").exists():
        raise FileNotFoundError(f"no stored result for sweep {name!r} at scale {scale!r} in {out}; "
                                f"run: python -m expreg_nb.sweep {name} --scale {scale}")
    prov = json.loads((out / "provenance.json").read_text())
    if check:
        current = get(name).grid_hash(scale)
        if prov.get("grid_hash") != current:
            raise StaleResultError(
                f"the stored result of {name!r} ({scale}) was made with grid hash "
                f"{prov.get('grid_hash', '?')[:12]}, but the sweep's definition now hashes to "
                f"{current[:12]}; rerun: python -m expreg_nb.sweep {name} --scale {scale}")
    return pd.read_csv(out / "table.csv"), prov


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
    args = ap.parse_args(argv)
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
                             executor_desc=f"dask {args.dask}", root=args.out)
    elif args.workers > 1:
        with cf.ProcessPoolExecutor(args.workers) as ex:
            df, prov = store(args.name, scale, executor=ex,
                             executor_desc=f"{args.workers} processes", root=args.out)
    else:
        df, prov = store(args.name, scale, root=args.out)
    n_err = int(df[ERROR_COLUMN].notna().sum())
    print(f"{args.name} ({scale}): {len(df)} runs, {n_err} error rows, {prov['wall_seconds']:.1f} s -> "
          f"{result_dir(args.name, scale, args.out)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    # run the package's own module, not this __main__ copy: the entry points' Sweep objects are
    # instances of expreg_nb.sweep.Sweep, which a second copy of this module would not recognize
    from expreg_nb.sweep import main as _main

    raise SystemExit(_main())


__all__ = ["ENTRY_POINT_GROUP", "ERROR_COLUMN", "RESULTS_DIR", "RESULTS_ENV", "TIME_COLUMN", "Sweep",
           "StaleResultError", "failed", "get", "get_task", "grid", "load_result", "plain_value", "point_seed", "provenance",
           "registry", "result_dir", "results_root", "run", "store", "task", "task_id"]
