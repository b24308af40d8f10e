"""Part I: the named sweeps (:mod:`expreg_nb.sweep`), listed under the ``expreg_nb.sweeps`` entry point.

The width law (book/part1/convergence.md, "The smallest width that works") is one task,
:func:`~expreg_nb.exponential.widthlaw.width_search_task`, run on five grids: one per
initialization x parameterization against n at fixed d = 16, and one against lambda at fixed n
(the pair angle theta of :func:`~expreg_nb.exponential.widthlaw.paired_sphere`).  Each row is
one seed cell; its columns carry m* under every protocol variant
(:data:`~expreg_nb.exponential.widthlaw.VARIANTS`).
"""
from __future__ import annotations

import math

from .. import sweep
from ..validation import check_bool, check_int, check_int_sequence, check_real
from .widthlaw import WIDTH_D, width_search_task

#: The four initialization x parameterization combinations: sweep suffix -> (normalized, coupled).
COMBOS = {
    "norm-indep": (True, False),
    "norm-coupled": (True, True),
    "unnorm-indep": (False, False),
    "unnorm-coupled": (False, True),
}
#: n of the full-scale width sweeps (1.5 decades) and of the book-scale ones.  Sized to the compute
#: of this book's runs (2 shared cores): a cell at n >= 64 costs about a minute (runs near the
#: counting bound go on for 10^5 - 10^6 steps before they stall or hit the hard cap), n <= 16
#: seconds; factors of 4 above n = 16 keep the four full sweeps near an hour of one core.
FULL_NS = (8, 16, 64, 256)
BOOK_NS = (8, 16)
#: Seed cells per n: data seeds 0..9 (each with its own initialization seed data_seed * 1000).
FULL_SEEDS = tuple(range(10))
BOOK_SEEDS = (0, 1, 2)
#: Seed cells per angle of the lambda sweep (its cells at small angles cost minutes each).
LAMBDA_SEEDS = tuple(range(5))
#: The largest n or d a grid point may name (a sweep of a larger one would not fit in memory).
MAX_SIZE = 2**16
#: The lambda sweep: n = LAMBDA_N points, the pair at angle theta = 2^-k, so lambda ~ theta^2
#: (down to theta = 1/8: at smaller angles a cell costs many minutes of the shared cores).
LAMBDA_N = 16
LAMBDA_THETAS = (1.0, 0.5, 0.25, 0.125)


def width_points(ns, seeds, *, normalized, coupled, d=WIDTH_D):
    """Grid points of a width-law sweep: one per (n, data seed)."""
    ns = check_int_sequence(ns, "ns", minimum=2, maximum=MAX_SIZE)
    seeds = check_int_sequence(seeds, "seeds", minimum=0)
    normalized, coupled = check_bool(normalized, "normalized"), check_bool(coupled, "coupled")
    d = check_int(d, "d", maximum=MAX_SIZE)
    return sweep.grid(n=list(ns), d=[d], normalized=[normalized], coupled=[coupled],
                      data_seed=list(seeds), init_seed=[0])


def lambda_points(thetas, seeds, *, n=LAMBDA_N, d=WIDTH_D):
    """Grid points of the lambda sweep (normalized model, independent initialization)."""
    thetas = [check_real(t, f"thetas[{i}]", positive=True, maximum=math.pi) for i, t in
              enumerate(_check_sequence(thetas, "thetas"))]
    seeds = check_int_sequence(seeds, "seeds", minimum=0)
    n, d = check_int(n, "n", minimum=2, maximum=MAX_SIZE), check_int(d, "d", minimum=2, maximum=MAX_SIZE)
    return sweep.grid(n=[n], d=[d], normalized=[True], coupled=[False], data_seed=list(seeds),
                      init_seed=[0], theta=list(thetas))


def _check_sequence(values, name):
    """``values`` as a non-empty list (a str, dict or scalar is a TypeError)."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__}")
    out = list(values)
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


#: Named sweeps of Part I (see :mod:`expreg_nb.sweep`).
SWEEPS = [
    sweep.Sweep(
        name=f"exp-width-{suffix}",
        fn=width_search_task,
        description=(f"smallest width m* at which GD reaches ||F(W,X) - y|| <= 0.05 without a step budget "
                     f"({'normalized' if nz else 'unnormalized'}, {'coupled' if cp else 'independent'} "
                     f"initialization), d = {WIDTH_D}, one row per seed cell, m* under cap x1/x10/x100 "
                     f"and a 10x stricter stall margin"),
        grids={
            "book": width_points(BOOK_NS, BOOK_SEEDS, normalized=nz, coupled=cp),
            "full": width_points(FULL_NS, FULL_SEEDS, normalized=nz, coupled=cp),
        },
    )
    for suffix, (nz, cp) in COMBOS.items()
] + [
    sweep.Sweep(
        name="exp-width-lambda",
        fn=width_search_task,
        description=(f"m* against lambda = lambda_min(H*) at n = {LAMBDA_N}, d = {WIDTH_D}: one pair of "
                     f"points at angle theta, lambda ~ theta^2 (normalized, independent)"),
        grids={
            "book": lambda_points(LAMBDA_THETAS[::2], BOOK_SEEDS[:2]),
            "full": lambda_points(LAMBDA_THETAS, LAMBDA_SEEDS),
        },
    ),
]

__all__ = ["BOOK_NS", "COMBOS", "FULL_NS", "FULL_SEEDS", "LAMBDA_N", "LAMBDA_SEEDS", "LAMBDA_THETAS", "SWEEPS",
           "lambda_points", "width_points"]
