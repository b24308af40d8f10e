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
