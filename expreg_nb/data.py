"""Reproducible synthetic data (drawn on the host, returned on the active backend)."""
from __future__ import annotations

from .backend import check_xp, to_device
from .seeding import make_rng
from .validation import check_alloc, check_int

LABEL_KINDS = ("uniform", "sign")


def _unit_rows(rng, n, d):
    g = rng.standard_normal((n, d))
    return g / ((g * g).sum(axis=1, keepdims=True) ** 0.5)


def sphere(n, d, *, seed, xp=None):
    """``n`` points drawn uniformly on the unit sphere S^{d-1} (rows of an n x d array)."""
    n, d, xp = check_int(n, "n"), check_int(d, "d"), check_xp(xp)
    check_alloc(n=n, d=d)
    return to_device(_unit_rows(make_rng(seed, "data", "sphere"), n, d), xp)


def ball(n, d, *, seed, xp=None):
    """``n`` points drawn uniformly in the closed unit ball of R^d."""
    n, d, xp = check_int(n, "n"), check_int(d, "d"), check_xp(xp)
    check_alloc(n=n, d=d)
    rng = make_rng(seed, "data", "ball")
    radii = rng.random(n) ** (1.0 / d)
    return to_device(_unit_rows(rng, n, d) * radii[:, None], xp)


def gaussian(n, d, *, seed, xp=None):
    """``n`` points with i.i.d. N(0, I_d) coordinates."""
    n, d, xp = check_int(n, "n"), check_int(d, "d"), check_xp(xp)
    check_alloc(n=n, d=d)
    return to_device(make_rng(seed, "data", "gaussian").standard_normal((n, d)), xp)


def labels(n, *, seed, kind="uniform", xp=None):
    """Labels in [-1, 1]: ``"uniform"`` on [-1, 1] or ``"sign"`` (Rademacher +-1)."""
    n, xp = check_int(n, "n"), check_xp(xp)
    check_alloc(n=n)
    if not isinstance(kind, str) or kind not in LABEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LABEL_KINDS)}, got {kind!r}")
    rng = make_rng(seed, "data", "labels", kind)
    if kind == "uniform":
        y = rng.uniform(-1.0, 1.0, n)
    elif kind == "sign":
        y = rng.integers(0, 2, n) * 2.0 - 1.0
    else:
        raise ValueError(f"kind must be one of {', '.join(LABEL_KINDS)}, got {kind!r}")
    return to_device(y, xp)
