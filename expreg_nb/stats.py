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

import numpy as np

from .backend import to_numpy
from .validation import as_float_array, check_real, int_array

__all__ = ["MAX_Z", "loglog_slope", "wilson_interval"]


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
