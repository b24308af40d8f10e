r"""Rechecks of stored results: a seeded sample of a stored table re-executed and compared column by column.

A stored result (``expreg_nb/results/NAME/SCALE/table.csv``) was made by the code of
one commit.  The grid hash (:meth:`expreg_nb.sweep.Sweep.grid_hash`) catches a changed
grid, but not a changed computation.  So every time a chapter reads a stored table
(:func:`expreg_nb.sweep.load_result`), a sample of its rows is run again with the
code that is installed now and every column is compared with the stored one:

* integers, strings and bools exactly; floats to :data:`RTOL` (1e-9) relative,
  ``|stored - live| <= RTOL * max(|stored|, |live|)``; a missing value (NaN, None)
  equals only a missing value; the wall-time column ``seconds`` is not compared;
* the live rows are written and read back through CSV exactly as
  :func:`expreg_nb.sweep.store` writes them, so the comparison sees what a rerun
  would have stored;
* any difference raises :class:`~expreg_nb.errors.StaleResultError` naming the
  sweep, the row (its index and grid point), the column and both values.

**Which rows** (:func:`recheck_sample`, seeded, the same every build):

1. A table of at most ``min_rows`` (8) rows is rechecked whole.
2. *Coverage first*: for each grid axis that takes two or more values in the table,
   rows are added until the sample shows at least two distinct values of it.
3. Then up to ``min_rows`` rows in all (mandatory), then up to ``fraction`` (5 %)
   of the table (optional).
4. *Cheap by the stored cost*: each pick draws uniformly at random (seeded by
   ``seed`` and the sweep's name) among the candidate rows whose stored ``seconds``
   fit the fair share of what is left of the time budget,
   ``(budget_s - spent) / picks still wanted``; where none fits, a mandatory pick
   (coverage, the first ``min_rows``) takes the cheapest candidate, and an optional
   pick takes the cheapest row that still fits the budget, or stops.  A row with
   no stored cost counts as the table's most expensive one.  So cheapness is
   preferred only among rows that keep the coverage, and the 5 % are rechecked
   only where they fit the budget.

**Where**: on the kind of device the table was stored with (its provenance's
``backend``): a table stored by NumPy is rerun with ``EXPREG_BACKEND=numpy`` for
the duration of the recheck, even in a chapter running on CuPy (or on the test-only
strict backend), because float sums on another device differ in the last bits and
thousands of gradient steps can carry that past 1e-9.  A table stored on a GPU is
rerun on CuPy, and where no GPU is usable its recheck is skipped and says so.

**The budget** :data:`RECHECK_BUDGET_S` = 3 s of stored wall time per table.  The
book loads five stored tables (two in Part I's convergence chapter, three in Part
II's beyond-the-NTK chapter).  Their samples come to 29 s of stored wall time (the
mandatory rows of the dearer Part II tables exceed the budget: relu2-alpha's
cheapest row costs 1 s), measured at about 10 s of CPU in all on 2 cores (about 2 s
in Part I's chapter, 8 s in Part II's): well under a minute for the book, and no
chapter near one (README, "The results store").  ``EXPREG_RECHECK=all`` reruns
every row (the tables' full cost: minutes to tens of minutes) and ``off`` none.
"""
from __future__ import annotations

import contextlib
import io
import math
import numbers
import os
import time
import zlib
from typing import Mapping, Sequence

import numpy as np

from .errors import ConfigError, StaleResultError, env_choice
from .validation import (check_choice, check_dataframe, check_int, check_mapping, check_names, check_real,
                         check_str)

#: Environment variable choosing how much of a stored table :func:`expreg_nb.sweep.load_result` reruns.
RECHECK_ENV = "EXPREG_RECHECK"
#: Its values: a seeded sample (the default), nothing, every row.
RECHECK_MODES = ("sample", "off", "all")
#: Relative tolerance for float columns.
RTOL = 1e-9
#: Default time budget of one table's sampled recheck, in stored wall seconds (module docstring).
RECHECK_BUDGET_S = 3.0
#: Default number of rows rechecked at least (all rows of a smaller table).
MIN_ROWS = 8
#: Default fraction of the rows rechecked where it fits the budget.
FRACTION = 0.05

_TIME_COLUMN = "seconds"  # = expreg_nb.sweep.TIME_COLUMN (sweep imports this module)


class RecheckModeError(ConfigError, ValueError):
    """``EXPREG_RECHECK`` (or a ``recheck=`` argument) is not one of :data:`RECHECK_MODES`."""


def recheck_mode(mode: str | bool | None = None) -> str:
    """The recheck mode: ``mode`` if given (``True`` = ``"sample"``, ``False`` = ``"off"``), else
    ``$EXPREG_RECHECK`` (default ``"sample"``)."""
    if mode is None:
        return env_choice(RECHECK_ENV, RECHECK_MODES, RecheckModeError, "recheck mode")
    if isinstance(mode, (bool, np.bool_)):
        return "sample" if mode else "off"
    if not isinstance(mode, str) or mode.strip().lower() not in RECHECK_MODES:
        raise RecheckModeError(f"recheck must be one of {', '.join(RECHECK_MODES)} (or True, False; mode None "
                               f"reads ${RECHECK_ENV}), got {mode!r:.60}")
    return mode.strip().lower()


# --------------------------------------------------------------------------- which rows
def _check_stored(table, sweep, scale):
    """The arguments every recheck shares: a stored table with rows, a named sweep and one of its scales."""
    from .sweep import Sweep

    check_dataframe(table, "table", nonempty=True, what="a pandas DataFrame (the stored table)")
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be an expreg_nb.sweep.Sweep, got {type(sweep).__name__}")
    return check_choice(scale, "scale", tuple(sweep.grids))


def _check_sample_rule(seed, min_rows, fraction, budget_s):
    return (check_int(seed, "seed", minimum=0), check_int(min_rows, "min_rows", minimum=1),
            check_real(fraction, "fraction", nonnegative=True, maximum=1.0),
            check_real(budget_s, "budget_s", nonnegative=True))


def _axes(sweep, scale: str, table) -> list[str]:
    axes: list[str] = []
    for p in sweep.points(scale):
        axes += [k for k in p if k not in axes]
    missing = [a for a in axes if a not in table.columns]
    if missing:
        raise StaleResultError(f"the stored table of {sweep.name!r} ({scale}) has no column for the grid "
                               f"axes {missing}; rerun: python -m expreg_nb.sweep {sweep.name} --scale {scale}")
    return axes


def _costs(table) -> np.ndarray:
    if _TIME_COLUMN not in table.columns:
        return np.ones(len(table))
    cost = np.array(table[_TIME_COLUMN], dtype=float)
    bad = ~np.isfinite(cost) | (cost < 0)
    if bad.all():
        return np.ones(len(table))
    cost[bad] = cost[~bad].max()
    return cost


def recheck_sample(table, sweep, scale: str = "full", *, seed: int = 0, min_rows: int = MIN_ROWS,
                   fraction: float = FRACTION, budget_s: float = RECHECK_BUDGET_S) -> list[int]:
    """The positions (``0 .. len(table)-1``, sorted) of the stored rows a recheck reruns.

    The rule (seeded, so the same every build; see the module docstring): coverage of
    every grid axis of ``sweep`` at ``scale`` by two distinct values first, then
    ``min_rows`` rows in all (every row of a smaller table), then ``fraction`` of the
    rows where that fits ``budget_s`` seconds of stored wall time (column ``seconds``);
    each pick draws at random among the rows that fit the fair share of the budget left.
    """
    seed, min_rows, fraction, budget_s = _check_sample_rule(seed, min_rows, fraction, budget_s)
    scale = _check_stored(table, sweep, scale)
    axes = _axes(sweep, scale, table)
    n = len(table)
    if n <= min_rows:
        return list(range(n))
    want_total = min(n, max(min_rows, math.ceil(fraction * n)))
    cost = _costs(table)
    rng = np.random.default_rng([seed, zlib.crc32(sweep.name.encode())])
    values = {a: table[a].astype(str).to_numpy() for a in axes}
    chosen: list[int] = []
    free = np.ones(n, dtype=bool)
    spent = 0.0

    def pick(candidates: np.ndarray, wanted: int, mandatory: bool) -> bool:
        nonlocal spent
        idx = np.flatnonzero(candidates & free)
        if idx.size == 0:
            return False
        left = budget_s - spent
        fits = idx[cost[idx] <= left / max(wanted, 1)]
        if fits.size:
            i = int(rng.choice(fits))
        else:
            if not mandatory:
                idx = idx[cost[idx] <= left]
                if idx.size == 0:
                    return False
            i = int(idx[np.argmin(cost[idx])])
        chosen.append(i)
        free[i] = False
        spent += float(cost[i])
        return True

    def needing() -> list[str]:
        return [a for a in axes if len(set(values[a])) >= 2 and len(set(values[a][chosen])) < 2]

    while needing():
        todo = needing()
        a = todo[0]
        new = ~np.isin(values[a], list(set(values[a][chosen])))
        pick(new, max(min_rows - len(chosen), len(todo)), mandatory=True)
    while len(chosen) < min_rows:
        pick(np.ones(n, dtype=bool), min_rows - len(chosen), mandatory=True)
    while len(chosen) < want_total and pick(np.ones(n, dtype=bool), want_total - len(chosen), mandatory=False):
        pass
    return sorted(chosen)


# --------------------------------------------------------------------------- comparing rows
def _scalar(v):
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, TypeError):
            return v
    return v


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _same(s, l, rtol: float) -> tuple[bool, str]:
    """Whether stored ``s`` and live ``l`` agree, and the rule that decided."""
    if _missing(s) or _missing(l):
        return _missing(s) and _missing(l), "a missing value equals only a missing value"
    if isinstance(s, bool) or isinstance(l, bool) or isinstance(s, str) or isinstance(l, str):
        return type(s) is type(l) and s == l, "strings and bools must be equal"
    if isinstance(s, numbers.Integral) and isinstance(l, numbers.Integral):
        return s == l, "integers must be equal"
    if isinstance(s, numbers.Real) and isinstance(l, numbers.Real):
        if s == l:
            return True, ""
        ok = abs(s - l) <= rtol * max(abs(s), abs(l))  # False for inf vs finite and for NaN
        return bool(ok), f"floats must agree to {rtol:g} relative"
    return s == l, "values must be equal"


def compare_rows(stored, live, *, rtol: float = RTOL, skip: Sequence[str] = (_TIME_COLUMN,)) -> list[dict]:
    """Every disagreement between two tables whose rows correspond one to one.

    Returns a list of ``{"row", "column", "stored", "live", "rule"}`` (``row`` is the
    position in ``stored``; ``None`` for a column only one table has).  Rules: see the
    module docstring.
    """
    check_dataframe(stored, "stored")
    check_dataframe(live, "live")
    rtol = check_real(rtol, "rtol", nonnegative=True)
    skip = check_names(skip, "skip", nonempty=False)
    if len(stored) != len(live):
        raise ValueError(f"stored and live must have the same number of rows, got {len(stored)} and {len(live)}")
    out = []
    for col in [c for c in stored.columns if c not in skip and c not in live.columns]:
        out.append({"row": None, "column": col, "stored": "present", "live": "absent",
                    "rule": "the task no longer returns this column"})
    for col in [c for c in live.columns if c not in skip and c not in stored.columns]:
        out.append({"row": None, "column": col, "stored": "absent", "live": "present",
                    "rule": "the task returns a column the stored table lacks"})
    cols = [c for c in stored.columns if c not in skip and c in live.columns]
    for i in range(len(stored)):
        for col in cols:
            s, l = _scalar(stored[col].iloc[i]), _scalar(live[col].iloc[i])
            ok, rule = _same(s, l, rtol)
            if not ok:
                out.append({"row": i, "column": col, "stored": s, "live": l, "rule": rule})
    return out


def as_stored(df):
    """``df`` written and read back as :func:`expreg_nb.sweep.store` writes a table (CSV)."""
    import pandas as pd

    check_dataframe(df, "df")
    return pd.read_csv(io.StringIO(df.to_csv(index=False)))


# --------------------------------------------------------------------------- the recheck
def stored_backend(prov: Mapping | None) -> str:
    """``"cupy"`` for a table stored on a GPU, else ``"numpy"`` (NumPy or the strict CPU stand-in)."""
    prov = check_mapping(prov, "prov", "the provenance mapping of a stored result", optional=True) or {}
    desc = check_str(prov.get("backend", "numpy"), "prov['backend']")
    return "cupy" if desc.strip().lower().startswith("cupy") else "numpy"


@contextlib.contextmanager
def _backend(name: str):
    """``EXPREG_BACKEND=name`` for the duration of the block (restored after)."""
    from .backend import ENV_VAR

    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = name
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old


def _point_text(point: Mapping) -> str:
    return "{" + ", ".join(f"{k}={_scalar(v)!r}" for k, v in point.items()) + "}"


def recheck(table, sweep, scale: str = "full", prov: Mapping | None = None, *, mode: str = "sample",
            seed: int = 0, min_rows: int = MIN_ROWS, fraction: float = FRACTION,
            budget_s: float = RECHECK_BUDGET_S, rtol: float = RTOL) -> dict:
    """Rerun rows of the stored ``table`` of ``sweep`` at ``scale`` and compare every column.

    ``mode``: ``"sample"`` (:func:`recheck_sample` with ``seed``, ``min_rows``, ``fraction``,
    ``budget_s``), ``"all"`` or ``"off"``.  Returns the
    report (``mode``, ``rows``, ``of``, ``axes`` with the values rechecked, ``columns``,
    ``estimated_seconds`` from the stored costs, ``seconds`` measured, ``budget_s``,
    ``seed``, ``rtol``); raises :class:`~expreg_nb.errors.StaleResultError` on any
    difference, naming the sweep, the row (index and grid point), column and both values.
    """
    from .sweep import run

    scale = _check_stored(table, sweep, scale)
    prov = check_mapping(prov, "prov", "the provenance mapping of a stored result", optional=True)
    mode = recheck_mode(mode)
    seed, min_rows, fraction, budget_s = _check_sample_rule(seed, min_rows, fraction, budget_s)
    rtol = check_real(rtol, "rtol", nonnegative=True)
    report = {"sweep": sweep.name, "scale": scale, "mode": mode, "of": len(table), "rows": [],
              "seed": seed, "rtol": rtol, "budget_s": budget_s}
    if prov is not None:
        report["stored_commit"] = prov.get("git_commit", "unknown")
    if mode == "off":
        return report
    from .backend import describe, gpu_available

    device = stored_backend(prov)
    if device == "cupy" and not gpu_available():
        report.update(mode="skipped", why="stored on a GPU (CuPy) and no GPU is usable here: floats "
                                          "from another device are not comparable to 1e-9")
        return report
    axes = _axes(sweep, scale, table)
    if mode == "all":
        rows = list(range(len(table)))
    else:
        rows = recheck_sample(table, sweep, scale, seed=seed, min_rows=min_rows, fraction=fraction,
                              budget_s=budget_s)
    defined = sweep.points(scale)
    pts = []
    for i in rows:
        from_table = {a: _scalar(table[a].iloc[i]) for a in axes}
        # the sweep's own point (exact types) where the table is in its grid order
        pts.append(dict(defined[i]) if len(defined) == len(table) else from_table)
    start = time.perf_counter()
    with _backend(device):
        report["backend"] = describe()
        live = run(sweep.fn, pts, catch=sweep.catch or None, progress=False, desc=f"recheck {sweep.name}")
    live = as_stored(live)
    seconds = time.perf_counter() - start
    stored = table.iloc[rows].reset_index(drop=True)
    bad = compare_rows(stored, live, rtol=rtol)
    cost = _costs(table)
    report.update(rows=rows, seconds=round(seconds, 2),
                  estimated_seconds=round(float(cost[rows].sum()), 2),
                  columns=[c for c in table.columns if c != _TIME_COLUMN],
                  axes={a: sorted({_scalar(v) for v in table[a].iloc[rows]}, key=str) for a in axes})
    if bad:
        raise StaleResultError(_stale_message(sweep.name, scale, rows, pts, bad, prov))
    return report


def _stale_message(name, scale, rows, pts, bad, prov) -> str:
    first = bad[0]
    if first["row"] is None:
        where = f"column {first['column']!r}: {first['rule']}"
    else:
        r = first["row"]
        where = (f"row {rows[r]} {_point_text(pts[r])}, column {first['column']!r}: "
                 f"stored {first['stored']!r}, live {first['live']!r} ({first['rule']})")
    more = ""
    if len(bad) > 1:
        cols = sorted({b["column"] for b in bad})
        nrows = len({b["row"] for b in bad if b["row"] is not None})
        more = f"; {len(bad)} differences in all, in {nrows} of the {len(rows)} rows rechecked, columns {cols}"
    commit = f" (stored at commit {prov.get('git_commit', 'unknown')})" if prov else ""
    return (f"the stored result of sweep {name!r} ({scale}){commit} is stale: the current code gives "
            f"a different value at {where}{more}; rerun: python -m expreg_nb.sweep {name} --scale {scale}")


#: The entries of a recheck report that :func:`recheck_summary` reads.
_REPORT_KEYS = ("mode", "rows", "of", "seed", "axes", "seconds", "columns", "rtol")


def recheck_summary(prov: Mapping) -> str:
    """One line saying what :func:`expreg_nb.sweep.load_result` rechecked (``prov["recheck"]``)."""
    check_mapping(prov, "prov", "the provenance mapping load_result returns")
    rep = check_mapping(prov.get("recheck"), "prov['recheck']", "the report of expreg_nb.recheck.recheck",
                        optional=True)
    name = prov.get("sweep", "?")
    scale = prov.get("scale", "?")
    if rep is None or rep.get("mode") in ("off", "skipped"):
        why = "load_result(check=False)" if rep is None else rep.get("why", "recheck off")
        return f"{name} ({scale}): stored table not rechecked ({why})"
    missing = [k for k in _REPORT_KEYS if k not in rep]
    if missing or rep["mode"] not in RECHECK_MODES or not isinstance(rep["axes"], Mapping):
        raise ValueError(f"prov['recheck'] is not a report of expreg_nb.recheck.recheck (mode {rep.get('mode')!r}, "
                         f"missing {missing}); pass the provenance that load_result returns")
    n = len(rep["rows"])
    how = "every row" if rep["mode"] == "all" else f"seeded sample, seed {rep['seed']}"
    axes = ", ".join(f"{a} x{len(v)}" for a, v in rep["axes"].items())
    return (f"{name} ({scale}): reran {n} of {rep['of']} stored rows ({how}; values per axis: {axes}) "
            f"in {rep['seconds']:.1f} s; all {len(rep['columns'])} columns equal the stored ones "
            f"(integers, strings, bools exactly, floats to {rep['rtol']:g} relative)")


__all__ = ["FRACTION", "MIN_ROWS", "RECHECK_BUDGET_S", "RECHECK_ENV", "RECHECK_MODES", "RTOL",
           "RecheckModeError", "StaleResultError", "as_stored", "compare_rows", "recheck", "recheck_mode",
           "recheck_sample", "recheck_summary", "stored_backend"]
