"""Input checks shared by the public functions.

Each check raises :class:`TypeError` (wrong kind of object) or
:class:`ValueError` (right kind, wrong shape or value) with a message that
names the argument and what was expected.

The checks are the one home of every rule a public function applies to its
arguments, so that two functions never disagree about the same kind of argument:

* counts (sizes, steps, seeds, attempts): :func:`check_int` -- a Python or NumPy
  integer, never a bool and never a float (``2.0`` and ``2.5`` are both a
  :class:`TypeError`); arrays of counts: :func:`int_array`;
* reals: :func:`check_real` (scalars, computed in float64 whatever their type),
  :func:`as_host_real` and :func:`real_array` (host arrays), :func:`check_open_unit`;
* arrays of data: :func:`as_float_array` (float64, finite, real, on their
  backend), 0/1 matrices: :func:`as_binary_matrix`, labels: :func:`check_labels`,
  :func:`check_binary_labels`, points on the sphere: :func:`check_unit_rows`;
* choices, flags, strings, names, paths, mappings and callables: :func:`check_choice`,
  :func:`check_bool`, :func:`check_str`, :func:`check_names`, :func:`check_path`,
  :func:`check_mapping`, :func:`check_callable`;
* tables and runners: :func:`check_dataframe`, :func:`check_executor`,
  :func:`check_progress`, :func:`check_exception_types`;
* sizes that cannot be allocated: :func:`check_alloc` (a clear
  :class:`ValueError` saying what was asked, never a raw :class:`MemoryError`).
"""
from __future__ import annotations

import functools
import math
import numbers
import os
from typing import Mapping

import numpy as np

from .backend import array_kind, array_module, is_device_array, to_numpy

__all__ = ["LOG_MAX", "MAX_ENTRIES", "as_binary_matrix", "as_float_array", "as_host_real", "check_alloc",
           "check_binary_labels", "check_bool", "check_callable", "check_choice", "check_dataframe",
           "check_exception_types", "check_executor", "check_finite_result", "check_int",
           "check_int_sequence", "check_labels", "check_mapping", "check_monitors", "check_names",
           "check_network", "check_nonzero_norm", "check_open_unit", "check_optional_real", "check_params",
           "check_path", "check_progress", "check_rates", "check_real", "check_rows", "check_same_backend",
           "check_seed", "check_sphere_distance", "check_str", "check_unit_rows", "input_scale", "int_array",
           "not_representable", "real_array"]

#: log of the largest float64: exp(z) overflows for z above it.
LOG_MAX = math.log(np.finfo(np.float64).max)


def _real_dtype_or_raise(arr, name):
    dt = arr.dtype
    if dt == bool or dt.kind not in "fiu":
        what = {"b": "booleans", "c": "complex numbers", "O": "Python objects (a ragged or mixed sequence?)",
                "U": "strings", "S": "bytes", "M": "datetimes", "m": "timedeltas"}.get(dt.kind, f"dtype {dt}")
        raise TypeError(f"{name} must hold real numbers, got {what} (dtype {dt})")


def as_float_array(x, name: str, *, ndim: int | None = None, finite: bool = True, nonempty: bool = True,
                   empty_rows: bool = False):
    """``x`` as a float64 array of the same backend, checked.

    Accepts NumPy and device (CuPy) arrays and, on the host, nested sequences of
    numbers.  Rejects booleans, complex numbers, strings and objects
    (:class:`TypeError`), the wrong number of dimensions, NaN/inf and (unless
    ``nonempty=False``) a zero size along any axis (:class:`ValueError`);
    ``empty_rows=True`` allows zero rows (first axis) but no other empty axis, for
    functions that map each row to a result (no rows: an empty result).
    """
    if is_device_array(x):
        xp = array_module(x)
        arr = x
    else:
        xp = np
        if isinstance(x, (str, bytes, dict, set, frozenset, bool, np.bool_)) or x is None or callable(x):
            raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists, device arrays inside lists, and the like
            raise TypeError(f"{name} must be an array of real numbers ({type(exc).__name__}: {exc})") from None
    _real_dtype_or_raise(arr, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {tuple(arr.shape)}")
    if nonempty and arr.ndim and 0 in tuple(arr.shape)[(1 if empty_rows else 0):]:
        raise ValueError(f"{name} must not be empty, got shape {tuple(arr.shape)} (every size must be >= 1)")
    arr = arr.astype(xp.float64, copy=False)
    if finite and arr.size and not bool(xp.isfinite(arr).all()):
        raise ValueError(f"{name} must be finite (it contains NaN or inf)")
    return arr


def as_host_real(value, name: str, *, scalar_only: bool = False):
    """A host real number (returned as ``float``) or array of them (float64 ``numpy.ndarray``), checked.

    For host-side formulas (:mod:`expreg_nb.bounds`): rejects bools (Python and
    NumPy, also as arrays), complex numbers, strings, ``None``, objects and device
    arrays (:class:`TypeError`) and NaN/inf (:class:`ValueError`).
    """
    if is_device_array(value):
        raise TypeError(f"{name} must be a host number or NumPy array, got a device array "
                        f"(use expreg_nb.to_numpy)")
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or an array of them, got {type(value).__name__}")
    scalar = isinstance(value, numbers.Real)
    if not scalar and scalar_only:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception:
        raise TypeError(f"{name} must be a real number or an array of them, got {type(value).__name__}") from None
    _real_dtype_or_raise(arr, name)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(arr) if scalar else arr


def check_finite_result(value, what: str, hint: str = "rescale the inputs"):
    """``value`` (array or float) if every entry is finite; else a :class:`FloatingPointError` naming ``what``.

    A result that float64 cannot represent is an error, never returned as inf/NaN.
    """
    if isinstance(value, numbers.Real):
        ok = math.isfinite(value)
    else:
        xp = array_module(value)
        ok = bool(xp.isfinite(value).all())
    if not ok:
        raise FloatingPointError(f"{what} is not representable in float64 (it overflowed); {hint}")
    return value


def input_scale(X) -> float:
    """max |x_ik|, the scale of the inputs quoted in overflow messages."""
    return float(array_module(X).abs(X).max()) if X.size else 0.0


def check_int(value, name: str, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int`` (Python or NumPy integer; not a bool, not a float such as 2.0 or 2.7).

    The one rule for every count of the package: a count given as a float is a
    :class:`TypeError` whether or not it is integral.
    """
    if type(value) is not int and (isinstance(value, (bool, np.bool_))
                                   or not isinstance(value, numbers.Integral)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r:.60}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {_int_text(value)}")
    return int(value)


def _int_text(value) -> str:
    """An int for a message: in full below 10^15, else as a power of ten (no float conversion)."""
    value = int(value)
    return str(value) if abs(value) < 10**15 else f"about 10^{len(str(abs(value))) - 1}"


def check_seed(seed, name: str = "seed") -> int:
    """A seed: a non-negative Python or NumPy int (not a bool, not a float)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {type(seed).__name__} {seed!r:.60}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return int(seed)


def check_int_sequence(values, name: str, *, minimum: int | None = 1, nonempty: bool = True,
                       maximum: int | None = None) -> list[int]:
    """A non-empty sequence of ints (each checked by :func:`check_int`), as a list."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values).__name__}")
    if is_device_array(values):
        raise TypeError(f"{name} must be a host sequence of ints (use expreg_nb.to_numpy)")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be a 1-dimensional sequence of ints, got shape {values.shape}")
    out = [check_int(v, f"{name}[{i}]", minimum=minimum, maximum=maximum) for i, v in enumerate(values)]
    if nonempty and not out:
        raise ValueError(f"{name} must not be empty")
    return out


#: More entries than this cannot be allocated on any machine this book runs on (8 TiB of float64).
MAX_ENTRIES = 2**40


@functools.lru_cache(maxsize=1)
def _physical_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not every platform
        return None


def _bytes_text(b: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} B"


def check_alloc(*, itemsize: int = 8, what: str | None = None, **sizes) -> None:
    """The product of the named sizes (e.g. ``m=..., d=...``) must be an allocatable array.

    A :class:`ValueError` saying what was asked and why it cannot fit (more than
    :data:`MAX_ENTRIES` entries, or more bytes than this machine's memory), instead
    of a raw :class:`MemoryError` from deep inside NumPy.
    """
    total = 1
    for v in sizes.values():
        total *= int(v)
    detail = " x ".join(f"{k}={v}" for k, v in sizes.items())
    label = f"{what}: " if what else ""
    need = total * itemsize
    if total > MAX_ENTRIES:
        raise ValueError(f"{label}{detail} = {total:.3g} entries ({_bytes_text(need)}) is too large to "
                         f"allocate (limit {MAX_ENTRIES:.3g} entries)")
    phys = _physical_bytes()
    if phys is not None and need > phys:
        raise ValueError(f"{label}{detail} = {total:.3g} entries need {_bytes_text(need)}, more than this "
                         f"machine's memory ({_bytes_text(phys)}); use smaller sizes")


def check_real(value, name: str, *, positive: bool = False, nonnegative: bool = False,
               maximum: float | None = None, allow_inf: bool = False) -> float:
    """A real scalar (Python or NumPy, any float or int type) as a Python ``float`` (float64).

    Rejects bools, complex numbers, strings, arrays and objects (:class:`TypeError`)
    and NaN, inf (unless ``allow_inf``), a sign or a size out of range (:class:`ValueError`).
    """
    if type(value) is not float and type(value) is not int and (
            isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_optional_real(value, name: str) -> float:
    """A real scalar as a Python ``float`` where NaN ("none") and +-inf are values too (a verdict's
    number or interval end); bools, complex numbers, strings and objects are a :class:`TypeError`."""
    if type(value) is not float and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number (NaN for none), got {type(value).__name__} {value!r:.60}")
    return float(value)


def check_same_backend(**arrays) -> None:
    kinds = {k: array_kind(v) for k, v in arrays.items()}
    if len(set(kinds.values())) > 1:
        detail = ", ".join(f"{k}: {c}" for k, c in kinds.items())
        raise TypeError(f"arrays must all live on one backend ({detail}); use expreg_nb.to_device")


def check_rows(name_a: str, a, name_b: str, b) -> None:
    """``a`` and ``b`` must have the same number of rows (first axis)."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} has {a.shape[0]} rows but {name_b} has {b.shape[0]}; they must match"
        )


def check_network(W, a, X):
    """Validate a two-layer model's ``W`` (m, d), ``a`` (m,) and data ``X`` (n, d); return float arrays."""
    W = as_float_array(W, "W", ndim=2)
    a = as_float_array(a, "a", ndim=1)
    X = as_float_array(X, "X", ndim=2)
    check_same_backend(W=W, a=a, X=X)
    if a.shape[0] != W.shape[0]:
        raise ValueError(f"a has {a.shape[0]} entries but W has {W.shape[0]} rows (neurons); they must match")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W has d={W.shape[1]}; they must match")
    return W, a, X


def check_labels(y, X):
    """Validate labels ``y`` (n,) against data ``X`` (n, d); return a float array."""
    if not hasattr(X, "shape") or getattr(X, "ndim", 0) != 2:
        X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_same_backend(X=X, y=y)
    check_rows("X", X, "y", y)
    return y


def check_bool(value, name: str) -> bool:
    """``value`` must be ``True`` or ``False`` (or a NumPy bool): no truthiness of strings or None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def not_representable(what: str, cause: str, X, hint: str = "rescale the inputs (smaller ||x_i||)"):
    """The :class:`FloatingPointError` for a model quantity that float64 cannot hold: what, why, the input scale."""
    return FloatingPointError(
        f"{what} is not representable in float64: {cause}. The input scale is max |x_ik| = "
        f"{input_scale(X):.4g}; {hint}."
    )


def check_open_unit(value, name: str) -> float:
    """A real number in the open interval (0, 1) (a failure probability such as ``eta``)."""
    value = check_real(value, name, positive=True)
    if value >= 1:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return value


def check_sphere_distance(delta, name: str = "delta") -> float:
    """A distance between points of the unit sphere: a real number in (0, 2]."""
    delta = check_real(delta, name, positive=True)
    if delta > 2.0:
        raise ValueError(f"{name} must be in (0, 2] for points on the unit sphere, got {delta}")
    return delta


def real_array(x, name: str, *, low: float, high: float, low_open: bool = False):
    """A host float array (or 0-d array) of ``x``, every entry finite and in [low, high]
    (``(low, high]`` with ``low_open``); bools and non-numbers are rejected."""
    if isinstance(x, (bool, np.bool_, str, bytes, dict, set)) or x is None or callable(x):
        raise TypeError(f"{name} must be a real number or an array of them, got {type(x).__name__}")
    try:
        arr = np.asarray(_host(x))
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a real number or an array of them ({type(exc).__name__})") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating)
                                 or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real number or an array of them, got dtype {arr.dtype}")
    arr = arr.astype(float)
    bad = ~np.isfinite(arr) | (arr > high) | ((arr <= low) if low_open else (arr < low))
    if bad.any():
        interval = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must be finite and in {interval}, got {arr[bad].ravel()[0]}")
    return arr


def int_array(x, name: str, *, minimum: int | None, maximum: int | None = None, ndim: int | None = None):
    """An int64 host array (or 0-d array) of ``x``: integer dtype only (no floats, no bools)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or an array of ints, got bool")
    if isinstance(x, (str, bytes, dict, set)) or x is None or callable(x):
        raise TypeError(f"{name} must be an int or an array of ints, got {type(x).__name__}")
    if isinstance(x, numbers.Integral):
        if abs(int(x)) >= 2**63:
            raise ValueError(f"{name} must fit in int64, got {x:.6g}")
        arr = np.asarray(int(x))
    else:
        try:
            arr = np.asarray(_host(x))
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be an int or an array of ints ({type(exc).__name__}: {exc})") from None
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            what = "floats" if arr.dtype.kind == "f" else f"dtype {arr.dtype}"
            raise TypeError(f"{name} must be an int or an array of ints, got {what} (dtype {arr.dtype})")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if minimum is not None and (arr < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}, got {arr[arr < minimum].ravel()[0]}")
    if maximum is not None and (arr > maximum).any():
        raise ValueError(f"{name} must be <= {maximum}, got {arr[arr > maximum].ravel()[0]}")
    return arr.astype(np.int64)


def check_binary_labels(y, n: int, name: str = "y"):
    """0/1 labels for ``n`` points as a host int64 vector (bools accepted as 0/1)."""
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"{name} must be an array of 0/1 labels, got {type(y).__name__}")
    y_host = to_numpy(y)
    if y_host.dtype == bool:
        y_host = y_host.astype(np.int64)
    y_f = as_float_array(y_host, name, ndim=1)
    if y_f.shape[0] != n:
        raise ValueError(f"{name} has {y_f.shape[0]} labels but X has {n} rows; they must match")
    if not np.isin(y_f, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only the labels 0 and 1")
    return y_f.astype(np.int64)


def _host(x):
    """A device array copied to the host; anything else unchanged."""
    return to_numpy(x) if is_device_array(x) else x


def check_choice(value, name: str, choices) -> str:
    """``value`` must be one of the strings ``choices`` (no other type, no near miss)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r:.60}")
    return value


def check_mapping(value, name: str, what: str = "a dict", *, optional: bool = False):
    """``value`` must be a mapping (a dict); returns a plain ``dict`` copy (``optional``: ``None`` too,
    returned as ``None``)."""
    if optional and value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be {what}{' or None' if optional else ''}, got {type(value).__name__}")
    return dict(value)


def check_str(value, name: str, *, nonempty: bool = False) -> str:
    """``value`` must be a string (``nonempty``: with a non-blank character)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r:.60}")
    if nonempty and not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return str(value)


def check_names(values, name: str, *, nonempty: bool = True, distinct: bool = False) -> tuple[str, ...]:
    """A sequence of names (non-empty strings; not one string) as a tuple: column names, grid keys."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__") or is_device_array(values):
        raise TypeError(f"{name} must be a sequence of names (str), got {type(values).__name__} {values!r:.60}")
    out = tuple(check_str(v, f"{name}[{i}]", nonempty=True) for i, v in enumerate(values))
    if nonempty and not out:
        raise ValueError(f"{name} must name at least one key, got an empty sequence")
    if distinct and len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a name, got {out}")
    return out


def check_path(value, name: str, *, optional: bool = False):
    """A filesystem path (a ``str`` or ``os.PathLike``) as a :class:`pathlib.Path`; with ``optional``,
    ``None`` is returned as ``None``."""
    from pathlib import Path

    if optional and value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike){' or None' if optional else ''}, "
                        f"got {type(value).__name__}")
    return Path(value)


def check_dataframe(value, name: str, *, nonempty: bool = False, what: str = "a pandas DataFrame"):
    """``value`` must be a :class:`pandas.DataFrame` (``nonempty``: with at least one row)."""
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    if nonempty and len(value) == 0:
        raise ValueError(f"{name} has no rows (columns: {list(value.columns)[:8]})")
    return value


def check_executor(executor, name: str = "executor"):
    """``None`` (serial) or a :class:`concurrent.futures.Executor` (anything with a ``submit`` method)."""
    import concurrent.futures as cf

    if executor is not None and not isinstance(executor, cf.Executor) \
            and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"{name} must be a concurrent.futures.Executor, got {type(executor).__name__}")
    return executor


def check_progress(progress, name: str = "progress"):
    """A progress switch: ``True``, ``False`` or ``None`` (automatic)."""
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"{name} must be True, False or None, got {progress!r:.60}")
    return None if progress is None else bool(progress)


def check_exception_types(value, name: str) -> tuple:
    """A sequence of exception classes (e.g. the errors a sweep records as rows), as a tuple."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a tuple of exception types, got {type(value).__name__}")
    out = tuple(value)
    if not all(isinstance(c, type) and issubclass(c, BaseException) for c in out):
        raise TypeError(f"{name} must be a tuple of exception types, got {out!r:.80}")
    return out


def check_callable(value, name: str):
    """``value`` must be callable (a function)."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def as_binary_matrix(x, name: str, *, ndim: int = 2, nonempty: bool = True):
    """``x`` as a host int8 array of 0/1 entries (bool or integer dtype; a device array is copied).

    Floats, complex numbers and objects are a :class:`TypeError`; other values than 0
    and 1, the wrong number of dimensions or (with ``nonempty``) an empty axis a
    :class:`ValueError`.
    """
    if isinstance(x, (str, bytes, dict, set, bool, np.bool_)) or x is None or callable(x):
        raise TypeError(f"{name} must be a 0/1 array, got {type(x).__name__}")
    try:
        arr = np.asarray(_host(x))
    except Exception as exc:
        raise TypeError(f"{name} must be a 0/1 array ({type(exc).__name__}: {exc})") from None
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be a bool or integer 0/1 array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if nonempty and 0 in arr.shape:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape} (every size must be >= 1)")
    if arr.dtype != bool and arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"{name} must contain only 0 and 1")
    return arr.astype(np.int8, copy=False)


def check_unit_rows(X, name: str = "X", *, tol: float = 1e-6):
    """Every row of ``X`` (checked by :func:`as_float_array`, no rows allowed) must have Euclidean norm 1
    within ``tol`` (points on the sphere); returns the float64 array."""
    X = as_float_array(X, name, ndim=2, empty_rows=True)
    xp = array_module(X)
    if X.shape[0] == 0:
        return X
    norms = xp.sqrt((X * X).sum(axis=1))
    worst = float(xp.abs(norms - 1.0).max())
    if not worst <= tol:
        raise ValueError(f"{name} rows must lie on the unit sphere: a row has | ||x|| - 1 | = {worst:.2e} "
                         f"> {tol:g}")
    return X


def check_nonzero_norm(x, name: str):
    """A float array (checked by :func:`as_float_array`) whose Euclidean norm is > 0 (e.g. labels that
    quantities are relative to)."""
    x = as_float_array(x, name, ndim=1)
    xp = array_module(x)
    if x.size == 0 or not float(xp.abs(x).max()) > 0:
        raise ValueError(f"{name} must not be all zeros (quantities are relative to ||{name}||)")
    return x


# --------------------------------------------------------------------------- the trainer's arguments
def check_monitors(monitors) -> dict:
    """``monitors``: ``None`` or a mapping from a name (str) to a function of the parameters."""
    if monitors is None:
        return {}
    if not isinstance(monitors, Mapping):
        raise TypeError(f"monitors must be a mapping from name to function, got {type(monitors).__name__}")
    monitors = dict(monitors)
    for k, fn in monitors.items():
        if not isinstance(k, str):
            raise TypeError(f"monitors must be keyed by names (str), got the key {k!r}")
        if not callable(fn):
            raise TypeError(f"monitor {k!r} must be callable, got {type(fn).__name__} "
                            f"(monitors maps names to functions of the parameters)")
    return monitors


def check_rates(rates, params):
    """``rates``: a mapping from parameter block (a key of ``params``) to a step size >= 0."""
    if not isinstance(rates, Mapping):
        raise TypeError(f"rates must be a mapping from parameter block to step size, got {type(rates).__name__}")
    rates = {k: check_real(v, f"rates[{k!r}]", nonnegative=True) for k, v in rates.items()}
    unknown = set(rates) - set(params)
    if unknown:
        raise ValueError(f"rates name unknown parameter blocks {sorted(unknown)}; have {sorted(params)}")
    return rates


def check_params(model, params, X=None, name: str = "params"):
    """``params`` for ``model``, checked: a dict with exactly the model's blocks, real finite arrays on
    one backend, and the model's own rules (block shapes, signs, ...) through ``model.check_params``
    against ``X`` (default: a probe of the input dimension of the first, (neurons x d) block).

    Every error names ``name`` (e.g. ``"params0"``, ``"p0"``).
    """
    from .training import Model

    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not isinstance(params, Mapping):
        raise TypeError(f"{name} must be a dict with the blocks {model.blocks}, got {type(params).__name__}")
    if set(params) != set(model.blocks):
        raise ValueError(f"{name} must be a dict with exactly the blocks {model.blocks}, got "
                         f"{sorted(map(str, params))}")
    p = {k: as_float_array(v, f"{name}[{k!r}]") for k, v in params.items()}
    check_same_backend(**{f"{name}[{k!r}]": v for k, v in p.items()})
    first = p[model.blocks[0]]
    if first.ndim != 2:
        raise ValueError(f"{name}[{model.blocks[0]!r}] must be 2-dimensional (neurons x d), got shape "
                         f"{tuple(first.shape)}")
    if X is None:  # the model checks its blocks against data of their input dimension
        X = array_module(first).zeros((1, first.shape[1]), dtype=first.dtype)
    try:
        p = model.check_params(p, X)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
    return {k: p[k] for k in params}
