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
from ..validation import (check_alloc, check_int, check_int_sequence, check_mapping, check_open_unit,
                          check_sphere_distance)
from .gadgets import MAX_BITS, nonzero_f2_matrix, parity_tree_cost
from .hyperplanes import hyperplane_budget
from .network import STAGES

#: Below this n the sizes use the float formulas of the lemmas as written; above it (where
#: n^2 would leave float64) the same formulas in logarithms.
_EXACT = 10**150


def compression_bits(n, eta=0.01) -> int:
    """m = ceil(log2(C(n,2)/eta)): F2 rows that keep n distinct codes distinct w.p. >= 1 - eta."""
    n = check_int(n, "n")
    eta = check_open_unit(eta, "eta")
    if n < _EXACT:
        return max(1, math.ceil(math.log2(max(n * (n - 1) / 2, 1) / eta)))
    return max(1, math.ceil(math.log2(n) + math.log2(n - 1) - 1 - math.log2(eta)))  # beyond float: logs


def block_count(n, eta=0.01) -> int:
    """B = ceil(log2(n/eta)): block hashes so that every point has a private coordinate w.p. >= 1 - eta."""
    n = check_int(n, "n")
    eta = check_open_unit(eta, "eta")
    if n < _EXACT:
        return max(1, math.ceil(math.log2(n / eta)))
    return max(1, math.ceil(math.log2(n) - math.log2(eta)))


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
    n = check_int(n, "n", maximum=2**53)  # the bound is a float formula: n beyond 2^53 is not exact
    if n == 1:
        return 0.0
    t = max_group_size(n) + 1 - n / 2 ** group_bits(n)
    return min(1.0, n / t**2)


# ---------------------------------------------------------------------------
# Exact sizes
# ---------------------------------------------------------------------------


_FORMULA_KEYS = ("d", "n", "k1", "compression_rows", "hash_rows", "b0", "B", "b")


def stage_formula(info) -> dict:
    """Exact ``{stage: {"layers", "neurons", "weights"}}`` of a network from its parameters.

    ``info`` needs d, n, k1, compression_rows, hash_rows, b0, B, b (as in
    ``ThresholdNetwork.info``, or from :func:`formula_info`).  With T = 2^b, r = 2^b0:
    gaussian 1 / k1 / d k1; compression and hashing :func:`parity_tree_cost` of their row
    sizes; lifting 1 / B T + r / B T b + r b0; memorization 1 / r / n + r; output 1 / 1 / r.
    """
    info = check_mapping(info, "info", "a dict of the network's parameters (ThresholdNetwork.info or "
                                       "formula_info)")
    missing = [k for k in _FORMULA_KEYS if k not in info]
    if missing:
        raise ValueError(f"info lacks the keys {missing}; stage_formula needs {list(_FORMULA_KEYS)}")
    info = dict(info)
    for key, low in (("d", 1), ("n", 1), ("k1", 1), ("B", 1), ("b", 1), ("b0", 0)):
        info[key] = check_int(info[key], f"info[{key!r}]", minimum=low,
                              maximum=MAX_BITS if key in ("b", "b0") else None)
    for key in ("compression_rows", "hash_rows"):
        rows = check_int_sequence(info[key], f"info[{key!r}]")
        if key == "compression_rows" and max(rows) > info["k1"]:
            raise ValueError(f"info['compression_rows'] has a row of {max(rows)} inputs but k1={info['k1']}")
        info[key] = rows
    if len(info["hash_rows"]) != info["b0"] + info["B"] * info["b"]:
        raise ValueError(f"info['hash_rows'] has {len(info['hash_rows'])} rows but b0 + B b = "
                         f"{info['b0'] + info['B'] * info['b']}; they must match")
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
    # n beyond 2^53: the F2 matrices whose row sizes are drawn here grow like log(n)^3 entries
    n, d = check_int(n, "n", maximum=2**53), check_int(d, "d", minimum=2)
    delta = check_sphere_distance(delta)
    eta = check_open_unit(eta, "eta")
    seed = check_int(seed, "seed", minimum=0)
    k1 = hyperplane_budget(n, delta, eta) if k1 is None else check_int(k1, "k1")
    m = compression_bits(n, eta)
    b0, B = group_bits(n), block_count(n, eta)
    L = -(-n // 2**b0) if group_size is None else check_int(group_size, "group_size", minimum=-(-n // 2**b0))
    b = max(1, math.ceil(math.log2(2 * L)))
    check_alloc(itemsize=1, what="the compression matrix (m x k1)", m=m, k1=k1)
    check_alloc(itemsize=1, what="the hash matrix (B b x m)", Bb=B * b, m=m)
    comp = nonzero_f2_matrix(make_rng(seed, "threshold", "compress", 0), m, k1).sum(axis=1)
    rng = make_rng(seed, "threshold", "hash", 0)
    rows = np.r_[nonzero_f2_matrix(rng, b0, m).sum(axis=1),
                 nonzero_f2_matrix(rng, B * b, m).sum(axis=1)]
    return {"n": n, "d": d, "k1": k1, "m": m, "b0": b0, "B": B, "b": b, "max_group": L,
            "compression_rows": comp.tolist(), "hash_rows": rows.tolist()}




__all__ = ["block_count", "compression_bits", "formula_info", "group_bits", "group_size_failure_bound",
           "max_group_size", "stage_formula"]
