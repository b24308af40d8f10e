"""Part III: the sizes each lemma prescribes, and the exact size of a network from its parameters.

:func:`compression_bits`, :func:`block_count`, :func:`group_bits`, :func:`max_group_size`,
:func:`block_bits` are the parameters of the stages; :func:`stage_formula` gives the exact
per-stage (layers, neurons, weights) from them, and :func:`formula_info` computes the
parameters the builder would use at (n, delta, d) without building anything
(:func:`expected_info`: the same with the expected row sizes of the F2 matrices instead of a
draw, cheap at any k1).  :func:`build_bytes` predicts the memory a build takes and
:func:`check_buildable` refuses, before anything is built, a network that would not fit
(:class:`NetworkTooLargeError`).
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..seeding import make_rng
from ..validation import (check_alloc, check_choice, check_int, check_int_sequence, check_mapping,
                          check_open_unit, check_sphere_distance)
from .gadgets import MAX_BITS, flat_parity_cost, nonzero_f2_matrix, parity_tree_cost
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


def block_bits(L) -> int:
    """b = max(1, ceil(log2(2 L))): bits of a block hash, so that T = 2^b >= 2 L for groups of at
    most L points ({prf:ref}`lem-thr-private`)."""
    L = check_int(L, "L")
    return max(1, math.ceil(math.log2(2 * L)))


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


#: Exact size of the parity layers of each kind (``build_memorizer(..., parity=...)``).
PARITY_COSTS = {"tree": parity_tree_cost, "flat": flat_parity_cost}


def _checked_info(info, caller, extra=()):
    """``info`` (a mapping with the keys of :data:`_FORMULA_KEYS` and ``extra``) checked: a copy with
    ints, row-size lists and an optional ``parity`` in :data:`PARITY_COSTS`."""
    info = check_mapping(info, "info", "a dict of the network's parameters (ThresholdNetwork.info or "
                                       "formula_info)")
    keys = _FORMULA_KEYS + tuple(extra)
    missing = [k for k in keys if k not in info]
    if missing:
        raise ValueError(f"info lacks the keys {missing}; {caller} needs {list(keys)}")
    info = dict(info)
    for key, low in (("d", 1), ("n", 1), ("k1", 1), ("B", 1), ("b", 1), ("b0", 0)) + tuple((k, 1) for k in extra):
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
    info["parity"] = check_choice(info.get("parity", "tree"), "info['parity']", PARITY_COSTS)
    return info


def stage_formula(info) -> dict:
    """Exact ``{stage: {"layers", "neurons", "weights"}}`` of a network from its parameters.

    ``info`` needs d, n, k1, compression_rows, hash_rows, b0, B, b (as in
    ``ThresholdNetwork.info``, or from :func:`formula_info`).  With T = 2^b, r = 2^b0:
    gaussian 1 / k1 / d k1; compression and hashing :func:`parity_tree_cost` of their row
    sizes (:func:`flat_parity_cost` if ``info["parity"] == "flat"``); lifting 1 / B T + r / B T b + r b0;
    memorization 1 / r / n + r; output 1 / 1 / r.
    """
    return _stage_formula(_checked_info(info, "stage_formula"))


def _stage_formula(info):
    T, r = 2 ** info["b"], 2 ** info["b0"]
    cost = PARITY_COSTS[info.get("parity", "tree")]
    comp = cost(info["compression_rows"])
    hashing = cost(info["hash_rows"])
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
    b = block_bits(L)
    check_alloc(itemsize=1, what="the compression matrix (m x k1)", m=m, k1=k1)
    check_alloc(itemsize=1, what="the hash matrix (B b x m)", Bb=B * b, m=m)
    comp = nonzero_f2_matrix(make_rng(seed, "threshold", "compress", 0), m, k1).sum(axis=1)
    rng = make_rng(seed, "threshold", "hash", 0)
    rows = np.r_[nonzero_f2_matrix(rng, b0, m).sum(axis=1),
                 nonzero_f2_matrix(rng, B * b, m).sum(axis=1)]
    return {"n": n, "d": d, "k1": k1, "m": m, "b0": b0, "B": B, "b": b, "max_group": L,
            "compression_rows": comp.tolist(), "hash_rows": rows.tolist()}




def expected_info(n, delta, d, *, eta=0.01, k1=None, group_size=None, parity="tree"):
    """As :func:`formula_info`, with every F2 row of its expected size ceil(cols / 2) instead
    of a random draw, so that it costs nothing at any k1 (for :func:`check_buildable`)."""
    n, d = check_int(n, "n"), check_int(d, "d", minimum=2)
    delta = check_sphere_distance(delta)
    eta = check_open_unit(eta, "eta")
    parity = check_choice(parity, "parity", PARITY_COSTS)
    # k1 and the row sizes are held in int64
    k1 = hyperplane_budget(n, delta, eta) if k1 is None else check_int(k1, "k1", maximum=2**62)
    m = compression_bits(n, eta)
    b0, B = group_bits(n), block_count(n, eta)
    L = -(-n // 2**b0) if group_size is None else check_int(group_size, "group_size", minimum=-(-n // 2**b0))
    b = block_bits(L)
    check_alloc(what="the hash rows (b0 + B b)", rows=b0 + B * b)
    return {"n": n, "d": d, "k1": k1, "m": m, "b0": b0, "B": B, "b": b, "max_group": L,
            "parity": parity, "compression_rows": np.full(m, -(-k1 // 2), np.int64),
            "hash_rows": np.full(b0 + B * b, -(-m // 2), np.int64)}


def build_bytes(info) -> int:
    """Predicted peak bytes of :func:`build_memorizer` for the parameters ``info`` (as from
    :func:`expected_info`), beyond the data: the largest of its phases (Gaussian codes,
    compression, hashing, verification), plus the stored layers.  Calibrated against
    measured peaks in ``tests/test_threshold_audit.py``; meant to be an upper estimate.
    ``info`` needs the keys of :func:`stage_formula` and ``m``."""
    return _build_bytes(_checked_info(info, "build_bytes", extra=("m",)))


def _build_bytes(info):
    n, d, k1, m = info["n"], info["d"], info["k1"], info["m"]
    bits = info["b0"] + info["B"] * info["b"]
    sizes = _stage_formula(info)
    neurons = sum(row["neurons"] for row in sizes.values())
    weights = sum(row["weights"] for row in sizes.values())
    nnz_c = int(np.sum(info["compression_rows"]))
    block = 2 * 32 * 2**20  # forward blocks in flight
    gaussian = 3 * k1 * n + 8 * k1 * d
    compression = k1 * n + 9 * m * k1 + 100 * nnz_c + m * n + 4 * k1 * min(n, F2_CHUNK)
    hashing = (2 * m + 2 * bits + 9 * info["B"] + 96) * n
    layers = 40 * weights + 16 * neurons
    return int(max(gaussian, compression, hashing) + layers + block + 32 * 2**20)


#: Columns (points) per block of the F2 products of the builder.
F2_CHUNK = 2**16

#: Environment variable: the most memory (GiB) a build may take (default: 80% of the machine's).
MEMORY_ENV = "EXPREG_MEMORY_GIB"


def memory_limit_bytes() -> int:
    """The memory a build may take: ``$EXPREG_MEMORY_GIB`` GiB if set, else 80% of physical memory."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if raw:
        try:
            gib = float(raw)
        except ValueError:
            raise ValueError(f"{MEMORY_ENV} must be a number of GiB, got {raw!r}") from None
        if not (gib > 0 and math.isfinite(gib)):
            raise ValueError(f"{MEMORY_ENV} must be a positive number of GiB, got {raw!r}")
        return int(gib * 2**30)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 16 GiB
        total = 16 * 2**30
    return int(0.8 * total)


class NetworkTooLargeError(MemoryError, ValueError):
    """The network the lemmas prescribe would not fit in memory; raised before anything is built.

    A :class:`MemoryError` (what it is about) and a :class:`ValueError` (the arguments ask for a
    network too large, as :func:`expreg_nb.validation.check_alloc` says of an array)."""


def _count_text(v):
    """An int for a message: in full (with separators) below 10^15, else as a power of ten."""
    return f"{v:,}" if v < 10**15 else f"about 10^{len(str(v)) - 1}"


def _float_text(v, unit=1):
    """``v / unit`` to three digits for a message, or a power of ten where it leaves float64."""
    return f"{v / unit:.3g}" if v < 10**300 else f"10^{len(str(v // unit)) - 1}"


def check_buildable(n, delta, d, *, eta=0.01, k1=None, parity="tree", limit=None):
    """Raise :class:`NetworkTooLargeError` if :func:`build_bytes` of the prescribed network exceeds
    ``limit`` bytes (default :func:`memory_limit_bytes`); return the predicted bytes otherwise."""
    n = check_int(n, "n")
    info = expected_info(n, delta, d, eta=eta, k1=k1, parity=parity, group_size=max_group_size(n))
    limit = memory_limit_bytes() if limit is None else check_int(limit, "limit")
    need = _build_bytes(info)  # info from expected_info: checked by construction
    if need > limit:
        sizes = _stage_formula(info)
        neurons = sum(row["neurons"] for row in sizes.values())
        raise NetworkTooLargeError(
            f"the network for n={_count_text(info['n'])}, d={_count_text(info['d'])}, delta={delta:g}, "
            f"eta={eta:g} would have k1={_count_text(info['k1'])} Gaussian hyperplanes and about "
            f"{_float_text(neurons)} neurons; building it needs about {_float_text(need, 2**30)} GiB, more than the {_float_text(limit, 2**30)} GiB allowed "
            f"(set {MEMORY_ENV}; default 80% of this machine's memory). Nothing was built. k1 grows "
            f"like log(n) / delta: a larger delta, or a first layer sized to the data (first_layer="
            f"'smallest', when the data are easier than the worst case), makes it smaller.")
    return need


__all__ = ["F2_CHUNK", "MEMORY_ENV", "NetworkTooLargeError", "PARITY_COSTS", "block_bits", "block_count", "build_bytes",
           "check_buildable", "compression_bits", "expected_info", "formula_info", "group_bits",
           "group_size_failure_bound", "max_group_size", "memory_limit_bytes", "stage_formula"]
