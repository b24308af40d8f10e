r"""Protocol robustness: a headline claim re-evaluated under named changes of the protocol.

A headline conclusion of the book is a function of a results table: a
:class:`Claim` maps a sweep table to a :class:`Verdict` (does it hold, its key
number, an interval on that number).  A :class:`Perturbation` maps the grid
points of the sweep to perturbed grid points (a budget ten times larger, each
model's own best step, fresh seeds), optionally with another task (an inflated
builder, a different stopping rule).  :func:`check` runs the task over the
baseline grid and each perturbed grid through :func:`expreg_nb.sweep.run` (any
executor), evaluates the claim on every table and returns a
:class:`RobustnessTable`: one row per table (the baseline first) with the
verdict, the number, its interval and whether it agrees with the baseline.
:func:`evaluate` builds the same table from tables that already exist (stored
results), so a chapter can show it without rerunning anything.

The three-line use::

    claim = Claim("m* exponent in n", "m* grows like n^a with a in [0.9, 1.1]", exponent_verdict)
    table = check(claim, width_task, points, [budget(10), budget(100), fresh_seeds()])
    table.summary()          # "m* exponent in n: robust under 3 of 3 perturbations (baseline holds, ...)"

Rules, so that a robustness table cannot pass for the wrong reason:

* Error rows (the sweep's ``error`` column is not null: a run that diverged,
  a memorizer that could not be built) are passed to the claim with the rest;
  the claim decides what an error row means.  Nothing is dropped here.
* A perturbation that leaves the grid unchanged and keeps the task tests
  nothing; :func:`check` refuses it (``ValueError``).
* ``agrees`` compares ``holds`` with the baseline's by default; a claim may
  pass ``agree(baseline, perturbed) -> bool`` to ask for more (e.g. the number
  inside the baseline's interval).
* The ready-made perturbations (:func:`scale_key`, :func:`budget`,
  :func:`tolerance`, :func:`set_key`, :func:`fresh_seeds`, :func:`compose`) are
  pure (new dicts; the points given are not changed), keep an int key an int,
  and raise ``ValueError`` naming a key that is absent from every point.
  :func:`fresh_seeds` refuses an offset that would reuse a seed of the grid.

How the three Parts state their claims:

* Part I, "m* grows like n^a, a in [lo, hi]": ``evaluate`` fits
  :func:`expreg_nb.stats.loglog_slope_interval` (slope of log m* on log n, bootstrap over data
  seeds) and holds when the interval lies in [lo, hi]; perturbations
  ``budget(10)``, ``budget(100)`` (the step cap) and ``fresh_seeds()``.
* Part II, "the network fits faster than its linearization": ``evaluate``
  takes the fraction of cells where the network is faster, with
  :func:`expreg_nb.stats.bootstrap_interval` over data seeds; perturbations
  ``set_key("step_rule", "own_best")``, ``budget(10)``, ``tolerance(0.1)``,
  ``fresh_seeds()``.
* Part III, size audits: ``Perturbation("inflated builder", ..., apply=lambda
  p: p, task=inflated_task)`` must *flip* the audit (a check that cannot fail a
  wrong builder is no check); :meth:`RobustnessTable.fragile` lists the flips.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from . import sweep
from .validation import (check_bool, check_callable, check_dataframe, check_executor, check_exception_types,
                         check_int, check_mapping, check_names, check_optional_real, check_real, check_str)

__all__ = ["BASELINE", "COLUMNS", "Claim", "Perturbation", "RobustnessTable", "Verdict", "budget", "check",
           "compose", "evaluate", "fresh_seeds", "scale_key", "set_key", "tolerance"]

#: The name of the baseline row of a :class:`RobustnessTable` (and its key in :func:`evaluate`).
BASELINE = "baseline"

#: The columns of :attr:`RobustnessTable.frame`.
COLUMNS = ("perturbation", "description", "holds", "number", "low", "high", "agrees", "detail")


def _check_name(value, name):
    return check_str(value, name, nonempty=True)


# --------------------------------------------------------------------------- verdicts and claims
@dataclass(frozen=True)
class Verdict:
    """What a claim says of one table: whether it holds, its key number and an interval on it.

    ``number`` may be NaN (nothing to measure, e.g. no run converged); ``low``
    and ``high`` are NaN when the claim gives no interval, and ``low <= high``
    when both are finite.
    """

    holds: bool
    number: float
    low: float = math.nan
    high: float = math.nan
    detail: str = ""

    def __post_init__(self):
        object.__setattr__(self, "holds", check_bool(self.holds, "holds"))
        for name in ("number", "low", "high"):
            object.__setattr__(self, name, check_optional_real(getattr(self, name), name))
        if self.low > self.high:
            raise ValueError(f"low must be <= high, got the interval [{self.low}, {self.high}]")
        check_str(self.detail, "detail")

    @classmethod
    def from_interval(cls, holds, interval: BootstrapInterval, detail: str = "") -> "Verdict":
        """A verdict whose number and interval are an ``(estimate, low, high)`` triple."""
        try:
            values = None if isinstance(interval, (str, bytes, Mapping)) else list(interval)
        except TypeError:  # not iterable
            values = None
        if values is None or len(values) != 3:
            raise TypeError(f"interval must be an (estimate, low, high) triple such as a "
                            f"stats.BootstrapInterval, got {type(interval).__name__} {interval!r:.60}")
        estimate, low, high = (check_optional_real(v, f"interval[{i}]") for i, v in enumerate(values))
        return cls(holds, estimate, low, high, detail)


def _same_holds(baseline: Verdict, other: Verdict) -> bool:
    return baseline.holds == other.holds


@dataclass(frozen=True)
class Claim:
    """A headline claim: a name, a sentence and ``evaluate(table) -> Verdict``.

    ``agree(baseline, perturbed) -> bool`` decides whether a perturbed verdict
    agrees with the baseline one (default: the same ``holds``).
    """

    name: str
    statement: str
    evaluate: Callable
    agree: Callable = field(default=_same_holds)

    def __post_init__(self):
        _check_name(self.name, "name")
        check_str(self.statement, "statement")
        for name in ("evaluate", "agree"):
            check_callable(getattr(self, name), name)

    def __call__(self, table) -> Verdict:
        check_dataframe(table, "table", what=f"a pandas DataFrame (claim {self.name!r} evaluates a sweep table)")
        out = self.evaluate(table)
        if not isinstance(out, Verdict):
            raise TypeError(f"the evaluate function of claim {self.name!r} must return a Verdict, "
                            f"got {type(out).__name__}")
        return out


# --------------------------------------------------------------------------- perturbations
@dataclass(frozen=True)
class Perturbation:
    """A named change of the protocol: ``apply(points) -> new points``, optionally another ``task``.

    ``apply`` receives copies of the grid points, so it cannot change the
    caller's; it returns a non-empty list of dicts.  ``task`` (default: the
    task given to :func:`check`) replaces the task for the perturbed runs.
    """

    name: str
    description: str
    apply: Callable
    task: Callable | None = None

    def __post_init__(self):
        _check_name(self.name, "name")
        check_str(self.description, "description")
        check_callable(self.apply, "apply")
        if self.task is not None:
            check_callable(self.task, "task")

    def __call__(self, points) -> list[dict]:
        points = _points(points)
        out = self.apply([dict(p) for p in points])
        if isinstance(out, Mapping) or not isinstance(out, Sequence) or not out \
                or not all(isinstance(p, Mapping) for p in out):
            raise TypeError(f"perturbation {self.name!r}: apply must return a non-empty list of dicts")
        return [dict(p) for p in out]


def _points(points) -> list[dict]:
    if isinstance(points, Mapping) or not isinstance(points, Sequence):
        raise TypeError(f"points must be a list of dicts (use expreg_nb.sweep.grid), got {type(points).__name__}")
    if not points:
        raise ValueError("points is empty: nothing to perturb")
    if not all(isinstance(p, Mapping) for p in points):
        raise TypeError("points must be a list of dicts (use expreg_nb.sweep.grid)")
    if not all(isinstance(k, str) for p in points for k in p):
        raise TypeError("points must be keyed by parameter names (str)")
    return [dict(p) for p in points]


def _require_key(points, key, what):
    if not any(key in p for p in points):
        present = sorted({k for p in points for k in p})
        raise ValueError(f"{what}: key {key!r} is absent from every grid point (keys: {', '.join(present)})")


def _number_at(p, key, i, what):
    v = p[key]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{what}: point {i} has {key}={v!r}; it must be a number")
    return v


def _factor_text(factor):
    if factor >= 1 or not math.isclose(1 / factor, round(1 / factor), rel_tol=1e-9):
        return f"x{factor:g}"
    return f"/{round(1 / factor):g}"


def scale_key(key: str, factor: float, *, name: str | None = None, integer: bool | None = None) -> Perturbation:
    """Multiply ``point[key]`` by ``factor`` in every point that has ``key``.

    ``integer=None`` keeps an int an int (rounded) and a float a float;
    ``True``/``False`` forces one or the other.  An int that would round to 0
    from a nonzero value is a ``ValueError``.  Default name: ``"KEY x10"`` or
    ``"KEY /10"``.
    """
    _check_name(key, "key")
    factor = check_real(factor, "factor", positive=True)
    if factor == 1.0:
        raise ValueError("factor must differ from 1 (a factor of 1 leaves the grid unchanged)")
    if integer is not None:
        integer = check_bool(integer, "integer")
    label = f"{key} {_factor_text(factor)}" if name is None else _check_name(name, "name")

    def apply(points):
        _require_key(points, key, label)
        out = []
        for i, p in enumerate(points):
            if key in p:
                v = _number_at(p, key, i, label)
                as_int = isinstance(v, numbers.Integral) if integer is None else integer
                new = v * factor
                if as_int:
                    new = int(round(new))
                    if new == 0 and v != 0:
                        raise ValueError(f"{label}: {key}={v} times {factor:g} rounds to 0")
                else:
                    new = float(new)
                p = {**p, key: new}
            out.append(dict(p))
        return out

    return Perturbation(label, f"{key} multiplied by {factor:g}", apply)


def budget(factor: float, key: str = "steps") -> Perturbation:
    """The step budget (``key``, default ``"steps"``) times ``factor``: ``budget(10)`` is ``"budget x10"``."""
    factor = check_real(factor, "factor", positive=True)
    p = scale_key(key, factor, name=f"budget {_factor_text(factor)}")
    return Perturbation(p.name, f"step budget ({key}) multiplied by {factor:g}", p.apply)


def tolerance(factor: float, key: str = "tol") -> Perturbation:
    """The stopping tolerance (``key``, default ``"tol"``) times ``factor``: ``tolerance(0.1)`` is
    ``"tolerance /10"``."""
    factor = check_real(factor, "factor", positive=True)
    p = scale_key(key, factor, name=f"tolerance {_factor_text(factor)}", integer=False)
    return Perturbation(p.name, f"stopping tolerance ({key}) multiplied by {factor:g}", p.apply)


def set_key(key: str, value, *, name: str | None = None, add: bool = False) -> Perturbation:
    """Set ``point[key] = value`` in every point (e.g. the step rule to ``"own_best"``).

    The key must be in some point unless ``add=True`` (then it is added to
    every point: for a task argument the baseline grid leaves at its default).
    """
    _check_name(key, "key")
    value = sweep.plain_value(value, "value")
    add = check_bool(add, "add")
    label = f"{key} = {value!r}" if name is None else _check_name(name, "name")

    def apply(points):
        if not add:
            _require_key(points, key, label)
        return [{**p, key: value} if (add or key in p) else dict(p) for p in points]

    return Perturbation(label, f"{key} set to {value!r}", apply)


def fresh_seeds(keys: Sequence[str] = ("data_seed", "init_seed"), offset: int = 1000) -> Perturbation:
    """Every seed axis in ``keys`` shifted by ``offset``: the same grid on seeds it has not seen.

    Each key must be in some point and hold ints; an ``offset`` that would make
    a shifted seed equal to one of the grid's seeds of that key is a ``ValueError``.
    """
    keys = check_names(keys, "keys", distinct=True)
    offset = check_int(offset, "offset", minimum=1)
    label = "fresh seeds"

    def apply(points):
        out = [dict(p) for p in points]
        for key in keys:
            _require_key(points, key, label)
            old = set()
            for i, p in enumerate(points):
                if key in p:
                    v = _number_at(p, key, i, label)
                    if not isinstance(v, numbers.Integral):
                        raise TypeError(f"{label}: point {i} has {key}={v!r}; a seed must be an int")
                    old.add(int(v))
            if {s + offset for s in old} & old:
                raise ValueError(f"{label}: offset {offset} reuses seeds of {key!r} (they span {min(old)}.."
                                 f"{max(old)}); use offset > {max(old) - min(old)}")
            for q in out:
                if key in q:
                    q[key] = int(q[key]) + offset
        return out

    return Perturbation(label, f"{', '.join(keys)} shifted by {offset} (seeds the grid has not used)", apply)


def compose(*perturbations: Perturbation, name: str | None = None) -> Perturbation:
    """Several perturbations applied in order (e.g. budget x10 on fresh seeds), as one."""
    if len(perturbations) < 2 or not all(isinstance(p, Perturbation) for p in perturbations):
        raise TypeError(f"perturbations: compose needs at least two Perturbation objects, got "
                        f"{[type(p).__name__ for p in perturbations]}")
    tasks = {p.task for p in perturbations if p.task is not None}
    if len(tasks) > 1:
        raise ValueError("perturbations: at most one of the perturbations composed may replace the task")
    label = " + ".join(p.name for p in perturbations) if name is None else _check_name(name, "name")

    def apply(points):
        for p in perturbations:
            points = p(points)
        return points

    return Perturbation(label, "; ".join(p.description for p in perturbations), apply,
                        task=next(iter(tasks), None))


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True, eq=False, repr=False)
class RobustnessTable:
    """The verdicts of one claim on the baseline table and each perturbed table.

    ``frame`` is a DataFrame with :data:`COLUMNS`, the baseline row first;
    ``verdicts`` and ``tables`` map each row's name to its verdict and its sweep
    table.  ``str(table)`` is plain text and a notebook shows it as HTML.
    """

    claim: Claim
    frame: object
    verdicts: Mapping[str, Verdict]
    tables: Mapping[str, object]

    @property
    def baseline(self) -> Verdict:
        return self.verdicts[BASELINE]

    @property
    def perturbed(self):
        """The rows of the perturbations (the baseline row left out)."""
        return self.frame[self.frame["perturbation"] != BASELINE]

    @property
    def robust(self) -> bool:
        """True iff the verdict under every perturbation agrees with the baseline verdict."""
        return bool(self.frame["agrees"].all())

    def fragile(self):
        """The rows whose verdict disagrees with the baseline."""
        return self.frame[~self.frame["agrees"]]

    def summary(self) -> str:
        """One line: ``"CLAIM: robust under 4 of 4 perturbations (baseline holds, number 0.39 [0.3, 0.5])"``."""
        base = self.baseline
        k = len(self.perturbed)
        ival = f" [{base.low:.3g}, {base.high:.3g}]" if math.isfinite(base.low) else ""
        where = f"baseline {'holds' if base.holds else 'does NOT hold'}, number {base.number:.3g}{ival}"
        flips = list(self.fragile()["perturbation"])
        if not flips:
            return f"{self.claim.name}: robust under {k} of {k} perturbations ({where})"
        return (f"{self.claim.name}: NOT robust: flips under {', '.join(flips)} ({len(flips)} of {k} "
                f"perturbations; {where})")

    def __str__(self) -> str:
        return f"{self.summary()}\n{self.frame.to_string(index=False)}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p>{escape(self.summary())}</p>\n{self.frame.to_html(index=False)}"


def evaluate(claim: Claim, tables: Mapping, *, descriptions: Mapping[str, str] | None = None) -> RobustnessTable:
    """The robustness table of ``claim`` from tables that exist already (e.g. stored results).

    ``tables`` maps a name to a sweep table; the one named :data:`BASELINE`
    (``"baseline"``) is the baseline, the others are perturbations, in the
    mapping's order.  ``descriptions`` optionally maps names to a sentence.
    """
    import pandas as pd

    _check_claim(claim)
    tables = check_mapping(tables, "tables", "a mapping name -> DataFrame")
    if BASELINE not in tables:
        raise ValueError(f"tables must hold the baseline under the key {BASELINE!r}; got {list(tables)}")
    if len(tables) < 2:
        raise ValueError("tables holds only the baseline: at least one perturbed table is needed")
    descriptions = check_mapping(descriptions, "descriptions", "a mapping name -> str", optional=True) or {}
    unknown = sorted(set(descriptions) - set(tables), key=str)
    if unknown:
        raise ValueError(f"descriptions names {unknown}, which are not in tables")
    for key, text in descriptions.items():
        check_str(text, f"descriptions[{key!r}]")
    for key, df in tables.items():
        _check_name(key, "tables keys")
        check_dataframe(df, f"tables[{key!r}]")
        if df.empty:
            raise ValueError(f"tables[{key!r}] is empty")
    order = [BASELINE] + [k for k in tables if k != BASELINE]
    verdicts = {k: _judge(claim, k, tables[k]) for k in order}
    base = verdicts[BASELINE]
    rows = []
    for k in order:
        v = verdicts[k]
        agrees = True if k == BASELINE else claim.agree(base, v)
        if not isinstance(agrees, (bool, np.bool_)):
            raise TypeError(f"the agree function of claim {claim.name!r} must return a bool, "
                            f"got {type(agrees).__name__}")
        desc = descriptions.get(k, "the protocol as run" if k == BASELINE else "")
        rows.append((k, desc, v.holds, v.number, v.low, v.high, bool(agrees), v.detail))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return RobustnessTable(claim, frame, verdicts, {k: tables[k] for k in order})


def _check_claim(claim):
    if not isinstance(claim, Claim):
        raise TypeError(f"claim must be a Claim, got {type(claim).__name__}")


def _judge(claim, name, table):
    try:
        return claim(table)
    except Exception as exc:
        if hasattr(exc, "add_note"):
            exc.add_note(f"(while evaluating claim {claim.name!r} on the {name!r} table)")
        raise


def check(claim: Claim, task: Callable, points, perturbations: Sequence[Perturbation], *, executor=None,
          baseline_table=None, catch=None, progress: bool = False) -> RobustnessTable:
    """Run ``task`` on ``points`` and on each perturbed grid; return the claim's robustness table.

    Parameters
    ----------
    claim, task, points
        The claim, the sweep task (a module-level function, see
        :func:`expreg_nb.sweep.run`) and the baseline grid.
    perturbations
        One or more :class:`Perturbation` with distinct names (not ``"baseline"``).
    executor, catch, progress
        Passed to :func:`expreg_nb.sweep.run` for every table (any
        ``concurrent.futures`` executor; ``catch`` names the expected errors).
    baseline_table
        An already computed table of ``task`` over ``points`` (e.g. a stored
        full-scale result): used as the baseline instead of running it again.
        It must have a column for every key of ``points`` and one row per point.
    """
    _check_claim(claim)
    check_callable(task, "task")
    points = _points(points)
    if isinstance(perturbations, (Perturbation, str)) or not isinstance(perturbations, Sequence):
        raise TypeError(f"perturbations must be a list of Perturbation objects, got {type(perturbations).__name__}")
    if not perturbations:
        raise ValueError("perturbations is empty: a claim is not shown robust by changing nothing")
    for p in perturbations:
        if not isinstance(p, Perturbation):
            raise TypeError(f"perturbations must hold Perturbation objects, got {type(p).__name__}")
    names = [p.name for p in perturbations]
    if BASELINE in names or len(set(names)) != len(names):
        raise ValueError(f"perturbations must have distinct names, none of them {BASELINE!r}; got {names}")
    check_executor(executor)
    if catch is not None:
        catch = check_exception_types(catch, "catch")
    progress = check_bool(progress, "progress")
    if baseline_table is not None:
        check_dataframe(baseline_table, "baseline_table")
        missing = sorted({k for p in points for k in p} - set(baseline_table.columns))
        if missing:
            raise ValueError(f"baseline_table lacks the grid's columns {missing}: is it a table of these points?")
        if len(baseline_table) != len(points):
            raise ValueError(f"baseline_table has {len(baseline_table)} rows but points has {len(points)}; "
                             f"it must be the table of these points")
    grids = {}
    for p in perturbations:
        new = p(points)
        if p.task is None and new == points:
            raise ValueError(f"perturbations: {p.name!r} leaves the grid unchanged (and keeps the task): "
                             f"it cannot test anything")
        grids[p.name] = new

    def run(fn, pts, desc):
        return sweep.run(fn, pts, executor=executor, catch=catch, progress=progress, desc=desc)

    tables = {BASELINE: run(task, points, BASELINE) if baseline_table is None else baseline_table}
    for p in perturbations:
        tables[p.name] = run(p.task or task, grids[p.name], p.name)
    return evaluate(claim, tables, descriptions={p.name: p.description for p in perturbations})
