"""Part III: the sizes each lemma prescribes, and the exact size of a network from its parameters.

:func:`compression_bits`, :func:`block_count`, :func:`group_bits`, :func:`max_group_size`
are the parameters of the stages; :func:`stage_formula` gives the exact per-stage
(layers, neurons, weights) from them, and :func:`formula_info` computes the parameters the
builder would use at (n, delta, d) without building anything.
"""
from __future__ import annotations

import math

import numpy as np

from ..seeding import make_rng
from ..validation import check_int, check_open_unit
from .gadgets import nonzero_f2_matrix, parity_tree_cost
from .hyperplanes import hyperplane_budget
from .network import STAGES

def compression_bits(n, eta=0.01) -> int:
    """m = ceil(log2(C(n,2)/eta)): F2 rows that keep n distinct codes distinct w.p. >= 1 - eta."""
    n = check_int(n, "n")
    eta = check_open_unit(eta, "eta")
    return max(1, math.ceil(math.log2(max(n * (n - 1) / 2, 1) / eta)))


def block_count(n, eta=0.01) -> int:
    """B = ceil(log2(n/eta)): block hashes so that every point has a private coordinate w.p. >= 1 - eta."""
    n = check_int(n, "n")
    eta = check_open_unit(eta, "eta")
    return max(1, math.ceil(math.log2(n / eta)))


def group_bits(n) -> int:
    """b0 = ceil(log2(n) / 2): r = 2^b0 >= sqrt(n) groups."""
    n = check_int(n, "n")
    return math.ceil(math.log2(n) / 2) if n > 1 else 0


def max_group_size(n) -> int:
    """Largest group the builder accepts: 3 ceil(sqrt n)."""
    n = check_int(n, "n")
    return 3 * math.isqrt(n - 1) + 3 if n > 1 else 1


def group_size_failure_bound(n) -> float:
    """Upper bound n / (L_max + 1 - n/r)^2 on P[largest group > L_max] for one group-hash draw
    ({prf:ref}`lem-thr-group-size`: Chebyshev per group and a union bound over groups)."""
    n = check_int(n, "n")
    if n == 1:
        return 0.0
    t = max_group_size(n) + 1 - n / 2 ** group_bits(n)
    return min(1.0, n / t**2)


# ---------------------------------------------------------------------------
# Exact sizes
# ---------------------------------------------------------------------------


def stage_formula(info) -> dict:
    """Exact ``{stage: {"layers", "neurons", "weights"}}`` of a network from its parameters.

    ``info`` needs d, n, k1, compression_rows, hash_rows, b0, B, b (as in
    ``ThresholdNetwork.info``, or from :func:`formula_info`).  With T = 2^b, r = 2^b0:
    gaussian 1 / k1 / d k1; compression and hashing :func:`parity_tree_cost` of their row
    sizes; lifting 1 / B T + r / B T b + r b0; memorization 1 / r / n + r; output 1 / 1 / r.
    """
    T, r = 2 ** info["b"], 2 ** info["b0"]
    comp = parity_tree_cost(info["compression_rows"])
    hashing = parity_tree_cost(info["hash_rows"])
    rows = {
        "gaussian": (1, info["k1"], info["d"] * info["k1"]),
        "compression": comp,
        "hashing": hashing,
        "lifting": (1, info["B"] * T + r, info["B"] * T * info["b"] + r * info["b0"]),
        "memorization": (1, r, info["n"] + r),
        "output": (1, 1, r),
    }
    return {s: dict(zip(("layers", "neurons", "weights"), map(int, rows[s]))) for s in STAGES}


def formula_info(n, delta, d, *, eta=0.01, seed=0, group_size=None, k1=None):
    """The parameters :func:`build_memorizer` would use at (n, delta, d) without building it:
    k1 from :func:`hyperplane_budget` (or the given ``k1``), the first draws of the F2 row
    sizes, and b from the largest group ``group_size`` (default ceil(n / r), the smallest
    possible: a lower value of T; pass :func:`max_group_size` for the largest accepted)."""
    n, d = check_int(n, "n"), check_int(d, "d", minimum=2)
    k1 = hyperplane_budget(n, delta, eta) if k1 is None else check_int(k1, "k1")
    m = compression_bits(n, eta)
    b0, B = group_bits(n), block_count(n, eta)
    L = -(-n // 2**b0) if group_size is None else check_int(group_size, "group_size")
    b = max(1, math.ceil(math.log2(2 * L)))
    comp = nonzero_f2_matrix(make_rng(seed, "threshold", "compress", 0), m, k1).sum(axis=1)
    rng = make_rng(seed, "threshold", "hash", 0)
    rows = np.r_[nonzero_f2_matrix(rng, b0, m).sum(axis=1),
                 nonzero_f2_matrix(rng, B * b, m).sum(axis=1)]
    return {"n": n, "d": d, "k1": k1, "m": m, "b0": b0, "B": B, "b": b, "max_group": L,
            "compression_rows": comp.tolist(), "hash_rows": rows.tolist()}




__all__ = ["block_count", "compression_bits", "formula_info", "group_bits", "group_size_failure_bound",
           "max_group_size", "stage_formula"]
