"""Part I: exponents of the width law, log-log least squares with cluster-bootstrap intervals.

:func:`exponent_interval` fits log y = c + sum_k a_k log x_k over the rows of a table (one row per
seed cell) and resamples whole groups; :func:`interval_excludes` is the assertion the chapter makes
on the result.  Used by :mod:`expreg_nb.exponential.widthlaw`, which re-exports both.
"""
from __future__ import annotations

import numpy as np

from ..validation import check_dataframe, check_int, check_names, check_real, check_str

__all__ = ["exponent_interval", "interval_excludes"]


# =========================================================================== exponents
def _coefficient(j):
    """A vectorized statistic: coefficient j of the weighted least-squares fit of ly on the columns of Z."""
    def stat(Z, ly, *, weights):
        A = np.einsum("br,ri,rk->bik", weights, Z, Z)
        b = np.einsum("br,ri,r->bi", weights, Z, ly)
        with np.errstate(all="ignore"):
            ok = np.linalg.cond(A) < 1e12
            out = np.full(weights.shape[0], np.nan)
            out[ok] = np.linalg.solve(A[ok], b[ok][..., None])[:, j, 0]
        return out
    return stat


def exponent_interval(table, x="n", *, y="m_star", groups=None, n_boot=2000, seed=0, level=0.95):
    r"""Least-squares exponents of ``y`` in the columns ``x`` (log-log), with a cluster-bootstrap interval.

    Fits log y = c + sum_k a_k log x_k over every row (one row per seed cell), so the scatter
    between cells enters the fit; a NaN or non-positive ``y`` is an error (a cell whose search
    found no passing width must be handled before, not dropped silently).  The interval is
    :func:`expreg_nb.stats.loglog_slope_interval` for one column and
    :func:`expreg_nb.stats.bootstrap_interval` for several: whole ``groups`` (a column name or a
    sequence of labels; default every row its own group) resampled with replacement.  Returns
    ``(estimate, low, high)`` for one column ``x``, or three arrays (one entry per column).
    """
    from ..stats import bootstrap_interval, loglog_slope_interval

    check_dataframe(table, "table")
    cols = [x] if isinstance(x, str) else list(check_names(x, "x", distinct=True))
    y = check_str(y, "y", nonempty=True)
    for name, c in [("x", c) for c in cols] + [("y", y)]:
        if c not in table.columns:
            raise ValueError(f"{name}={c!r} is not a column of table")
    yv = table[y].to_numpy(dtype=float)
    if not np.all(np.isfinite(yv) & (yv > 0)):
        raise ValueError(f"column {y!r} must be positive and finite in every row "
                         f"({int((~np.isfinite(yv) | (yv <= 0)).sum())} rows are not)")
    if groups is None:
        labels = np.arange(len(table))
    elif isinstance(groups, str):
        if groups not in table.columns:
            raise ValueError(f"groups must name a column of table, got {groups!r}")
        labels = table[groups].to_numpy()
    elif isinstance(groups, (list, tuple, np.ndarray)) and len(groups) == len(table):
        labels = np.asarray(groups)
    else:
        raise TypeError(f"groups must be None, a column name or one label per row, got {type(groups).__name__}")
    kw = dict(n_boot=n_boot, seed=seed, level=level)
    if len(cols) == 1:
        return tuple(loglog_slope_interval(table[cols[0]].to_numpy(dtype=float), yv, labels,
                                           nan_policy="omit", **kw))
    Z = np.column_stack([np.ones(len(table))] + [np.log(table[c].to_numpy(dtype=float)) for c in cols])
    if not np.all(np.isfinite(Z)):
        raise ValueError(f"the columns {cols} must be positive in every row")
    ivs = [bootstrap_interval(_coefficient(j + 1), Z, np.log(yv), groups=labels, vectorized=True,
                              nan_policy="omit", **kw) for j in range(len(cols))]
    return tuple(np.array(v) for v in zip(*ivs))


def interval_excludes(interval, *slopes):
    """True when the interval ``(estimate, low, high)`` excludes every slope in ``slopes``
    (by more than 1e-9 relative: a zero-width interval from identical cells contains its estimate)."""
    if isinstance(interval, (str, bytes, dict)) or not hasattr(interval, "__len__") or len(interval) != 3:
        raise TypeError(f"interval must be (estimate, low, high), got {interval!r:.60}")
    _, lo, hi = (check_real(v, f"interval[{i}]") for i, v in enumerate(interval))
    slopes = [check_real(v, f"slopes[{i}]") for i, v in enumerate(slopes)]
    # a degenerate interval (every cell the same m*: zero width) still contains its own estimate
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    return all(not (lo - tol <= s <= hi + tol) for s in slopes)


# =========================================================================== the hard cap's bracket
#: Baseline verdicts that settle a width as failing under any cap (a "cap" verdict does not).
DEFINITE_FAILURES = ("stalled", "diverged")


def hard_cap_bracket(table, *, floor_d=None):
    """The table with ``m_star`` replaced by the lower end of the bracket a finite cap leaves it.

    A width whose baseline run stopped at a cap (the relative cap or the hard cap, where it was
    still neither reached nor stalled) might pass with more steps.  Assuming passing is monotone
    in the width (as the search does), the true m* of a cell lies between m* and the grid width one
    step above the largest width below m* that the search settled as failing (stalled or
    diverged; the bottom of the grid when there is none).  That lower end is ``m_star`` here, and
    ``m_star_baseline`` the stored one, so :func:`~expreg_nb.exponential.widthlaw.cells_changed`
    counts the cells a cap could still move and :func:`exponent_interval` fits the most
    favourable law the stored runs allow.  ``floor_d``: also assume that no width below the
    counting bound m d >= n passes (``d = floor_d``), so the lower end is at least the smallest
    grid width with m * floor_d >= n (and never above the stored m*).
    """
    from .widthlaw import M_MAX, runs_frame, width_grid

    check_dataframe(table, "table")
    for col in ("m_star", "n", "coupled", "trace"):
        if col not in table.columns:
            raise ValueError(f"table has no column {col!r} (an exp-width-* table has one)")
    if floor_d is not None:
        floor_d = check_int(floor_d, "floor_d", maximum=2**20)  # an input dimension
    runs = runs_frame(table.assign(_row=np.arange(len(table))), keys=("_row",))
    failed = runs[runs["reason"].isin(DEFINITE_FAILURES)]
    low = []
    for i, row in enumerate(table.itertuples(index=False)):
        grid = width_grid(min(int(row.n) ** 2, M_MAX), coupled=bool(row.coupled))
        below = failed.loc[(failed["_row"] == i) & (failed["m"] < row.m_star), "m"]
        lo = grid[grid.index(int(below.max())) + 1] if len(below) else grid[0]
        if floor_d is not None:
            lo = max(lo, min(next((m for m in grid if m * floor_d >= row.n), grid[-1]), row.m_star))
        low.append(float(lo))
    return table.assign(m_star=low, m_star_baseline=table["m_star"])


__all__ += ["DEFINITE_FAILURES", "hard_cap_bracket"]
