r"""Small statistics shared by the experiments: success-rate intervals and log-log slopes.

:func:`wilson_interval` is the Wilson score interval for a binomial proportion
(Wilson 1927): with p = k/N and z the normal quantile,

    center = (p + z^2/(2N)) / (1 + z^2/N),
    half   = z sqrt(p(1-p)/N + z^2/(4N^2)) / (1 + z^2/N).

Unlike the Wald interval p +- z sqrt(p(1-p)/N) it stays inside [0, 1] and does
not collapse to a point at 0/N or N/N, which is where the success rates of a
width sweep live.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .backend import to_numpy
from .validation import as_float_array

__all__ = ["loglog_slope", "wilson_interval"]


def _check_count(v, name):
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
        if isinstance(v, (numbers.Real, np.floating)) and float(v).is_integer():
            return int(v)
        raise TypeError(f"{name} must be an integer count, got {v!r}")
    return int(v)


def wilson_interval(successes, trials, z: float = 1.96):
    """Wilson score interval ``(low, high)`` for ``successes`` out of ``trials`` (z = 1.96: 95%).

    ``successes`` and ``trials`` may be integers or integer arrays of one shape;
    the result is then a pair of float arrays.  ``trials`` must be >= 1 and
    ``0 <= successes <= trials``.
    """
    if isinstance(z, bool) or not isinstance(z, numbers.Real) or not math.isfinite(z) or z <= 0:
        raise ValueError(f"z must be a positive finite number, got {z!r}")
    scalar = np.ndim(successes) == 0 and np.ndim(trials) == 0
    if scalar:
        k = np.asarray(_check_count(successes, "successes"), dtype=float)
        N = np.asarray(_check_count(trials, "trials"), dtype=float)
    else:
        k = np.asarray(successes)
        N = np.asarray(trials)
        for arr, name in ((k, "successes"), (N, "trials")):
            if arr.dtype.kind not in "iub" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
                raise TypeError(f"{name} must hold integer counts, got dtype {arr.dtype}")
        k, N = np.broadcast_arrays(k.astype(float), N.astype(float))
    if np.any(N < 1):
        raise ValueError(f"trials must be >= 1, got {trials!r}")
    if np.any(k < 0) or np.any(k > N):
        raise ValueError(f"successes must lie in [0, trials], got {successes!r} of {trials!r}")
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
