"""Seeding: the one place where random streams are made.

All randomness is drawn on the host from :func:`numpy.random.default_rng` and
then moved to the active backend, so a seed gives the same numbers with NumPy
and with CuPy.  Independent streams for different purposes (data, weights,
signs, ...) are derived from one integer seed and a stream name, so drawing the
data never shifts the initial weights.
"""
from __future__ import annotations

import zlib

import numpy as np

from .backend import to_device


def check_seed(seed, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return int(seed)


def make_rng(seed, *stream: str | int) -> np.random.Generator:
    """A host generator for ``seed`` and an optional stream name.

    ``make_rng(0, "init")`` and ``make_rng(0, "data")`` are independent, and
    each is reproducible.
    """
    seed = check_seed(seed)
    key = tuple(zlib.crc32(s.encode()) if isinstance(s, str) else int(s) for s in stream)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def standard_normal(shape, seed, *stream: str | int, xp=None):
    """Standard normal draws of ``shape`` from :func:`make_rng`, on the active backend."""
    return to_device(make_rng(seed, *stream).standard_normal(shape), xp)


def rademacher(size, seed, *stream: str | int, xp=None):
    """Independent uniform signs in {-1, +1} (float64), on the active backend."""
    signs = make_rng(seed, *stream).integers(0, 2, size=size) * 2.0 - 1.0
    return to_device(signs, xp)
