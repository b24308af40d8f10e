"""Seeding: the one place where random streams are made.

All randomness is drawn on the host from :func:`numpy.random.default_rng` and
then moved to the active backend, so a seed gives the same numbers with NumPy
and with CuPy.  Independent streams for different purposes (data, weights,
signs, ...) are derived from one integer seed and a stream name, so drawing the
data never shifts the initial weights.
"""
from __future__ import annotations

import math
import zlib

import numpy as np

from .backend import to_device
from .validation import check_alloc, check_seed

__all__ = ["check_seed", "make_rng", "rademacher", "standard_normal"]


def _stream_key(part, i: int) -> int:
    """One part of a stream name: a string (hashed) or a non-negative int (not a float: 1.5 is not 1)."""
    if isinstance(part, str):
        return zlib.crc32(part.encode())
    return check_seed(part, f"stream part {i} (a str or a non-negative int)")


def _check_shape(shape, name: str):
    parts = shape if isinstance(shape, tuple) else (shape,)
    for p in parts:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)) or p < 0:
            raise TypeError(f"{name} must be a non-negative int or a tuple of them, got {shape!r}")
    check_alloc(**{name: math.prod(int(p) for p in parts)})
    return shape


def make_rng(seed, *stream: str | int) -> np.random.Generator:
    """A host generator for ``seed`` and an optional stream name.

    ``make_rng(0, "init")`` and ``make_rng(0, "data")`` are independent, and
    each is reproducible.
    """
    seed = check_seed(seed)
    key = tuple(_stream_key(s, i) for i, s in enumerate(stream))
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def standard_normal(shape, seed, *stream: str | int, xp=None):
    """Standard normal draws of ``shape`` from :func:`make_rng`, on the active backend."""
    shape = _check_shape(shape, "shape")
    return to_device(make_rng(seed, *stream).standard_normal(shape), xp)


def rademacher(size, seed, *stream: str | int, xp=None):
    """Independent uniform signs in {-1, +1} (float64), on the active backend."""
    size = _check_shape(size, "size")
    signs = make_rng(seed, *stream).integers(0, 2, size=size) * 2.0 - 1.0
    return to_device(signs, xp)
