"""Input checks shared by the public functions.

Each check raises :class:`TypeError` (wrong kind of object) or
:class:`ValueError` (right kind, wrong shape or value) with a message that
names the argument and what was expected.
"""
from __future__ import annotations

import numbers

import numpy as np

from .backend import array_module, is_cupy_array


def as_float_array(x, name: str, *, ndim: int | None = None, finite: bool = True):
    """``x`` as a float64 array of the same backend, checked.

    Accepts NumPy and CuPy arrays and (for NumPy) nested sequences of numbers.
    """
    if is_cupy_array(x):
        xp = array_module(x)
        arr = x
    else:
        xp = np
        if isinstance(x, (str, bytes)) or x is None:
            raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {tuple(arr.shape)}")
    arr = arr.astype(xp.float64, copy=False)
    if finite and arr.size and not bool(xp.isfinite(arr).all()):
        raise ValueError(f"{name} must be finite (it contains NaN or inf)")
    return arr


def check_int(value, name: str, *, minimum: int | None = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_real(value, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_same_backend(**arrays) -> None:
    kinds = {k: is_cupy_array(v) for k, v in arrays.items()}
    if len(set(kinds.values())) > 1:
        detail = ", ".join(f"{k}: {'cupy' if c else 'numpy'}" for k, c in kinds.items())
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
    y = as_float_array(y, "y", ndim=1)
    check_same_backend(X=X, y=y)
    check_rows("X", X, "y", y)
    return y


def check_bool(value, name: str) -> bool:
    """``value`` must be ``True`` or ``False`` (or a NumPy bool): no truthiness of strings or None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")
