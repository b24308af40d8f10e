r"""Small statistics shared by the experiments: success-rate intervals, log-log slopes and a
cluster bootstrap.

:func:`wilson_interval` is the Wilson score interval for a binomial proportion
(Wilson 1927): with p = k/N and z the normal quantile,

    center = (p + z^2/(2N)) / (1 + z^2/N),
    half   = z sqrt(p(1-p)/N + z^2/(4N^2)) / (1 + z^2/N).

Unlike the Wald interval p +- z sqrt(p(1-p)/N) it stays inside [0, 1] and does
not collapse to a point at 0/N or N/N, which is where the success rates of a
width sweep live.

:func:`bootstrap_interval` is a *cluster* (group) bootstrap: rows that share a
group (a data seed, say) are not independent, so whole groups are resampled with
replacement and the statistic recomputed on each resample; the interval is the
percentile interval of the resampled statistics.  Resampling rows instead would
treat 75 runs on 5 data sets as 75 independent samples and give an interval far
too narrow.  A resample is a vector of group multiplicities (multinomial, G
draws among G groups); a row's weight is its group's multiplicity.  A
*vectorized* statistic takes those weights for all resamples at once (shape
``(n_boot, n)``), so no Python loop runs over resamples; any other statistic is
called once per resample on the rows repeated by their weights.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable, NamedTuple

import numpy as np

from .backend import to_numpy
from .validation import (as_float_array, check_alloc, check_bool, check_callable, check_choice, check_int,
                         check_open_unit, check_real, int_array)

__all__ = ["BootstrapInterval", "MAX_Z", "NAN_POLICIES", "bootstrap_interval", "loglog_slope", "loglog_slope_interval",
           "wilson_interval"]

#: What :func:`bootstrap_interval` does when the statistic is not finite on some resamples.
NAN_POLICIES = ("raise", "omit")

#: Fewer resamples than this give percentile intervals dominated by Monte Carlo noise.
MIN_BOOT = 100


#: Largest z accepted: the two-sided normal tail beyond z = 38 is below 1e-300 (float64's range).
MAX_Z = 38.0


def wilson_interval(successes, trials, z: float = 1.96):
    """Wilson score interval ``(low, high)`` for ``successes`` out of ``trials`` (z = 1.96: 95%).

    ``successes`` and ``trials`` may be integers or integer arrays of one shape;
    the result is then a pair of float arrays.  ``trials`` must be >= 1 and
    ``0 <= successes <= trials``.  Counts are ints (a float or a bool is a
    :class:`TypeError`); ``z`` is a real number in (0, :data:`MAX_Z`], computed in
    float64 whatever its type.
    """
    z = check_real(z, "z", positive=True, maximum=MAX_Z)
    k = int_array(successes, "successes", minimum=0)
    N = int_array(trials, "trials", minimum=1)
    try:
        k, N = np.broadcast_arrays(k, N)
    except ValueError:
        raise ValueError(f"successes has shape {k.shape} but trials has {N.shape}; they must broadcast") from None
    if k.size == 0:
        raise ValueError("successes and trials must not be empty")
    if np.any(k > N):
        raise ValueError(f"successes must lie in [0, trials], got {successes!r} of {trials!r}")
    scalar = k.ndim == 0
    k, N = k.astype(float), N.astype(float)
    p = k / N
    denom = 1.0 + z * z / N
    center = (p + z * z / (2 * N)) / denom
    half = z * np.sqrt(p * (1 - p) / N + z * z / (4 * N * N)) / denom
    low, high = np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)
    if scalar:
        return float(low), float(high)
    return low, high


def loglog_slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (both positive, at least two distinct x)."""
    x = np.asarray(to_numpy(as_float_array(x, "x", ndim=1)), dtype=float)
    y = np.asarray(to_numpy(as_float_array(y, "y", ndim=1)), dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} entries but y has {y.size}; they must match")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive for a log-log fit")
    if np.unique(x).size < 2:
        raise ValueError("x needs at least two distinct values for a slope")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


class BootstrapInterval(NamedTuple):
    """A statistic on the data and its bootstrap interval; unpacks as ``estimate, low, high``."""

    estimate: float
    low: float
    high: float


def _group_codes(groups, n):
    if isinstance(groups, (str, bytes, dict)) or not hasattr(groups, "__len__"):
        raise TypeError(f"groups must be a sequence of group labels (one per row), got {type(groups).__name__}")
    try:
        labels = np.asarray(to_numpy(groups))
    except (ValueError, TypeError) as exc:  # ragged sequences
        raise TypeError(f"groups must be a sequence of group labels (one per row) ({exc})") from None
    if labels.ndim != 1:
        raise ValueError(f"groups must be 1-dimensional (one label per row), got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"groups has {labels.shape[0]} labels but arrays[0] (the data) has {n} rows; "
                         f"they must match")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("groups must not contain NaN or inf labels")
    if labels.dtype.kind == "O" and any(v is None or (isinstance(v, float) and math.isnan(v)) for v in labels):
        raise ValueError("groups must not contain None or NaN labels")
    try:
        uniq, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"groups must hold comparable labels of one kind ({exc})") from None
    if uniq.size < 2:
        raise ValueError(f"groups holds {uniq.size} distinct group(s); a group bootstrap needs at least 2 "
                         f"(it resamples whole groups, so one group has no spread to measure)")
    return codes.reshape(-1), uniq.size


def bootstrap_interval(statistic: Callable, *arrays, groups, n_boot: int = 2000, seed: int = 0,
                       level: float = 0.95, vectorized: bool = False, nan_policy: str = "raise"):
    """Cluster-bootstrap percentile interval of ``statistic(*arrays)`` resampling whole ``groups``.

    Parameters
    ----------
    statistic
        With ``vectorized=False``: ``statistic(*arrays) -> float``, called on the
        data and once per resample on the rows of the resampled groups (a group
        drawn twice contributes its rows twice).  With ``vectorized=True``:
        ``statistic(*arrays, weights=W) -> array (k,)`` where ``W`` has shape
        ``(k, n)`` and row ``b`` holds each data row's multiplicity in resample
        ``b`` (the data themselves are ``W = ones((1, n))``).
    arrays
        One or more arrays whose first axis indexes the ``n`` rows.
    groups
        ``n`` labels (ints or strings): rows with one label are resampled together.
        At least 2 distinct groups; with fewer than about 5 the interval is crude.
    n_boot, seed, level
        Number of resamples (>= 100), the seed of ``numpy.random.default_rng``
        and the coverage of the percentile interval, in (0, 1).
    nan_policy
        ``"raise"`` (default): a ``ValueError`` if the statistic is NaN or inf on
        any resample, saying on how many.  ``"omit"``: such resamples are dropped
        with a ``RuntimeWarning`` giving their number; a ``ValueError`` if more
        than half are.  A non-finite statistic on the data themselves is always a
        ``ValueError``.

    Returns
    -------
    BootstrapInterval
        ``(estimate, low, high)``: the statistic on the data and the
        ``(1-level)/2`` and ``(1+level)/2`` quantiles of the resampled statistics.
    """
    check_callable(statistic, "statistic")
    if not arrays:
        raise TypeError("arrays: bootstrap_interval needs at least one data array after statistic")
    data = []
    for i, a in enumerate(arrays):
        if isinstance(a, (str, bytes, dict)) or a is None:
            raise TypeError(f"arrays[{i}] must be an array (rows on the first axis), got {type(a).__name__}")
        arr = np.asarray(a)
        if arr.ndim == 0:
            raise ValueError(f"arrays[{i}] must have at least one axis (the rows), got a scalar")
        data.append(arr)
    n = data[0].shape[0]
    for i, arr in enumerate(data[1:], 1):
        if arr.shape[0] != n:
            raise ValueError(f"arrays[{i}] has {arr.shape[0]} rows but arrays[0] has {n}; they must match")
    codes, n_groups = _group_codes(groups, n)
    n_boot = check_int(n_boot, "n_boot", minimum=MIN_BOOT)
    check_alloc(n_boot=n_boot, rows=max(n, n_groups), what="the bootstrap's resample weights")
    seed = check_int(seed, "seed", minimum=0)
    level = check_open_unit(level, "level")
    vectorized = check_bool(vectorized, "vectorized")
    check_choice(nan_policy, "nan_policy", NAN_POLICIES)

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot)   # (n_boot, G)
    weights = counts[:, codes]                                                           # (n_boot, n)
    if vectorized:
        estimate = _vector_result(statistic(*data, weights=np.ones((1, n))), 1)[0]
        reps = _vector_result(statistic(*data, weights=weights.astype(float)), n_boot)
    else:
        estimate = _scalar_result(statistic(*data))
        rows = np.arange(n)
        reps = np.array([_scalar_result(statistic(*(arr[np.repeat(rows, w)] for arr in data)))
                         for w in weights])
    if not math.isfinite(estimate):
        raise ValueError(f"statistic(*arrays) is {estimate} on the data themselves; nothing to bootstrap")
    bad = ~np.isfinite(reps)
    if bad.any():
        what = (f"the statistic is NaN or inf on {int(bad.sum())} of {n_boot} resamples of {n_groups} groups "
                f"(e.g. a resample that repeats one group has no spread)")
        if nan_policy == "raise":
            raise ValueError(f"{what}; pass nan_policy='omit' to drop them, or use more groups")
        if bad.sum() * 2 > n_boot:
            raise ValueError(f"{what}: more than half, so no interval is given")
        warnings.warn(f"{what}; they were omitted", RuntimeWarning, stacklevel=2)
        reps = reps[~bad]
    low, high = np.quantile(reps, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return BootstrapInterval(float(estimate), float(low), float(high))


def _scalar_result(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)) \
            or np.ndim(value) != 0:
        raise TypeError(f"statistic must return one real number, got {type(value).__name__} "
                        f"{np.shape(value) if hasattr(value, 'shape') else ''}".rstrip())
    return float(value)


def _vector_result(value, k):
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"a vectorized statistic must return real numbers, got dtype {arr.dtype}")
    if arr.shape != (k,):
        raise ValueError(f"a vectorized statistic given weights of shape ({k}, n) must return shape ({k},), "
                         f"got {arr.shape}")
    return arr.astype(float)


# --------------------------------------------------------------------------- log-log slopes with intervals
def _weighted_slope(lx, ly, *, weights):
    """Least-squares slope of ly on lx for each row of weights (k, n); NaN where lx has no spread."""
    w = weights / weights.sum(axis=1, keepdims=True)
    mx, my = w @ lx, w @ ly
    dx = lx[None, :] - mx[:, None]
    sxx = (w * dx * dx).sum(axis=1)
    sxy = (w * dx * (ly[None, :] - my[:, None])).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sxx > 1e-12 * max(1.0, float(np.abs(lx).max()) ** 2), sxy / sxx, np.nan)


def loglog_slope_interval(x, y, groups, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                          nan_policy: str = "raise") -> BootstrapInterval:
    """Slope of log y on log x (:func:`loglog_slope`) with a group-bootstrap interval.

    Whole groups (e.g. data seeds: one m* per size n and seed) are resampled
    with replacement (:func:`bootstrap_interval`); each
    resample's slope is the weighted least-squares slope, computed for all
    resamples at once.  A resample whose x values all coincide has no slope
    (``nan_policy`` decides: ``"raise"`` or ``"omit"``).  Returns
    ``(estimate, low, high)``.
    """
    xv = np.asarray(to_numpy(as_float_array(x, "x", ndim=1)))     # host float64 (a device array is copied)
    yv = np.asarray(to_numpy(as_float_array(y, "y", ndim=1)))
    estimate = loglog_slope(xv, yv)          # validates: same length, positive, two distinct x
    _, low, high = bootstrap_interval(_weighted_slope, np.log(xv), np.log(yv), groups=groups, n_boot=n_boot,
                                      seed=seed, level=level, vectorized=True, nan_policy=nan_policy)
    return BootstrapInterval(estimate, low, high)
