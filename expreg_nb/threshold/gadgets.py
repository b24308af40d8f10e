"""Part III: integer gadgets: XOR trees, F2 arithmetic and equality units.

:func:`parity_layers` computes XORs of subsets of the previous layer with threshold
gadgets (weights in {-1, 0, 1}); :func:`parity_tree_cost` is their exact size;
:func:`f2_product`, :func:`nonzero_f2_matrix`, :func:`bits_value` are the F2 arithmetic
the construction checks its layers against.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import is_device_array, to_numpy
from ..validation import int_array
from .network import STAGES, SparseLayer

# ---------------------------------------------------------------------------
# Integer gadgets
# ---------------------------------------------------------------------------


def sparse_layer(index, weight, bias, stage):
    """A :class:`SparseLayer` of int64 arrays (ELLPACK index and weights, bias) for ``stage``."""
    return SparseLayer(np.asarray(index, np.int64), np.asarray(weight, np.int64),
                       np.asarray(bias, np.int64), stage)


def parity_layers(subsets, stage):
    """Layers computing XOR over each row of the 0/1 matrix ``subsets`` (trees x width_in).

    Trees of XOR gadgets run in lockstep; each level is two layers:
    OR = 1[a + b - 1 >= 0], AND = 1[a + b - 2 >= 0], then XOR = 1[OR - AND - 1 >= 0];
    an unpaired value is copied by 1[a - 1 >= 0].  Returns ``(layers, out)`` where
    ``out[t]`` is the position of tree t's result in the last layer (or, if no layer
    was needed, in the input).  Every row of ``subsets`` must be nonzero.
    """
    if isinstance(subsets, (str, bytes)) or subsets is None:
        raise TypeError(f"subsets must be a 0/1 matrix, got {type(subsets).__name__}")
    raw = np.asarray(to_numpy(subsets) if is_device_array(subsets) else subsets)
    if raw.dtype != bool:
        if not np.issubdtype(raw.dtype, np.integer):
            raise TypeError(f"subsets must be a bool or integer 0/1 matrix, got dtype {raw.dtype}")
        if not np.isin(raw, (0, 1)).all():
            raise ValueError("subsets must contain only 0 and 1")
    if raw.ndim != 2:
        raise ValueError(f"subsets must be 2-dimensional, got shape {raw.shape}")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    S = raw.astype(bool)
    if not S.any(axis=1).all():
        raise ValueError("every row of subsets must contain at least one input")
    tree, nodes = np.nonzero(S)  # row-major: sorted by tree
    layers = []
    n_trees = S.shape[0]
    while nodes.size > n_trees:
        starts = np.r_[0, np.flatnonzero(np.diff(tree)) + 1]
        sizes = np.diff(np.r_[starts, nodes.size])
        pos = np.arange(nodes.size) - np.repeat(starts, sizes)
        size_of = np.repeat(sizes, sizes)
        heads = np.flatnonzero(pos % 2 == 0)
        paired = pos[heads] + 1 < size_of[heads]
        partner = np.where(paired, heads + 1, heads)
        # layer a: [OR, AND] for a pair, [COPY] for a single
        n_a = np.where(paired, 2, 1)
        off = np.r_[0, np.cumsum(n_a)[:-1]]
        total = int(n_a.sum())
        idx_a = np.zeros((total, 2), np.int64)
        w_a = np.zeros((total, 2), np.int64)
        b_a = np.zeros(total, np.int64)
        p_off, s_off = off[paired], off[~paired]
        for row, bias in ((p_off, -1), (p_off + 1, -2)):
            idx_a[row, 0], idx_a[row, 1] = nodes[heads[paired]], nodes[partner[paired]]
            w_a[row] = 1
            b_a[row] = bias
        idx_a[s_off, 0], w_a[s_off, 0], b_a[s_off] = nodes[heads[~paired]], 1, -1
        # layer b: XOR of (OR, AND) for a pair, COPY for a single
        idx_b = np.zeros((heads.size, 2), np.int64)
        w_b = np.zeros((heads.size, 2), np.int64)
        idx_b[:, 0] = off
        idx_b[paired, 1] = off[paired] + 1
        w_b[:, 0] = 1
        w_b[paired, 1] = -1
        b_b = np.full(heads.size, -1, np.int64)
        layers += [sparse_layer(idx_a, w_a, b_a, stage), sparse_layer(idx_b, w_b, b_b, stage)]
        nodes, tree = np.arange(heads.size), tree[heads]
    return layers, nodes


def parity_tree_cost(sizes):
    """Exact (layers, neurons, weights) of :func:`parity_layers` for trees over ``sizes``
    inputs each, run in lockstep for D = ceil(log2 max(sizes)) levels.

    With c_l = ceil(s / 2^l) values left in a tree at level l (l = 0..D-1), the level
    costs c_l + ceil(c_l / 2) neurons and 6 floor(c_l / 2) + 2 (c_l mod 2) weights
    (3 neurons and 6 weights per XOR, 2 and 2 per copied value).
    """
    s = int_array(sizes, "sizes", minimum=1).ravel()
    if s.size == 0:
        return 0, 0, 0
    D = int(math.ceil(math.log2(int(s.max())))) if s.max() > 1 else 0
    c = -(-s[:, None] // (2 ** np.arange(D))[None, :])  # ceil(s / 2^l), (trees, D)
    neurons = int((c + (c + 1) // 2).sum())
    weights = int((6 * (c // 2) + 2 * (c % 2)).sum())
    return 2 * D, neurons, weights


def flat_parity_layers(subsets, stage):
    """Two layers computing XOR over each row of the 0/1 matrix ``subsets``, without a tree:
    a thermometer 1[sum_{i in S} h_i - j >= 0] for j = 1..|S|, then the alternating sum
    1[sum_j (-1)^(j+1) t_j - 1 >= 0] (one when an odd number of inputs is on).

    Depth 2 whatever |S|, but |S| + 1 neurons and |S|^2 + |S| weights per parity, against
    the 2 ceil(log2 |S|) layers, about 3 |S| neurons and 6 |S| weights of :func:`parity_layers`.
    Returns ``(layers, out)`` as :func:`parity_layers` does.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    S = np.asarray(to_numpy(subsets) if is_device_array(subsets) else subsets).astype(bool)
    if S.ndim != 2 or not S.any(axis=1).all():
        raise ValueError("subsets must be a 2-D 0/1 matrix whose every row contains an input")
    sizes = S.sum(axis=1)
    K = int(sizes.max())
    tree = np.repeat(np.arange(S.shape[0]), sizes)  # thermometer unit -> its parity
    level = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1  # j = 1..|S|
    inputs = [np.flatnonzero(row) for row in S]
    idx_a = np.zeros((tree.size, K), np.int64)
    w_a = np.zeros((tree.size, K), np.int64)
    for t, cols in enumerate(inputs):  # one row pattern per parity (rows of A), not per point
        rows = np.flatnonzero(tree == t)
        idx_a[rows, : cols.size] = cols
        w_a[rows, : cols.size] = 1
    first = sparse_layer(idx_a, w_a, -level, stage)
    idx_b = np.zeros((S.shape[0], K), np.int64)
    w_b = np.zeros((S.shape[0], K), np.int64)
    starts = np.cumsum(sizes) - sizes
    cols = np.arange(K)[None, :]
    mask = cols < sizes[:, None]
    idx_b[mask] = (starts[:, None] + cols)[mask]
    w_b[mask] = np.where(cols % 2 == 0, 1, -1).repeat(S.shape[0], axis=0)[mask]
    second = sparse_layer(idx_b, w_b, np.full(S.shape[0], -1), stage)
    return [first, second], np.arange(S.shape[0])


def flat_parity_cost(sizes):
    """Exact (layers, neurons, weights) of :func:`flat_parity_layers` for parities over ``sizes``
    inputs each: 2 layers, sum (s + 1) neurons, sum (s^2 + s) weights."""
    s = int_array(sizes, "sizes", minimum=1).ravel()
    if s.size == 0:
        return 0, 0, 0
    return 2, int((s + 1).sum()), int((s * s + s).sum())


def nonzero_f2_matrix(rng, rows, cols):
    """Uniform F2 matrix conditioned on every row being nonzero."""
    A = rng.integers(0, 2, size=(rows, cols)).astype(bool)
    bad = ~A.any(axis=1)
    while bad.any():
        A[bad] = rng.integers(0, 2, size=(int(bad.sum()), cols)).astype(bool)
        bad = ~A.any(axis=1)
    return A


def f2_product(R, H):
    """(R H) mod 2 for a 0/1 matrix R (rows x in) and 0/1 columns H (in x points), as int8;
    a float32 product is exact since every sum is at most in < 2^24."""
    return (np.rint(R.astype(np.float32) @ H.astype(np.float32)).astype(np.int64) % 2).astype(np.int8)


def bits_of(values, nbits):
    """Binary digits (most significant first) of each value, shape (len, nbits)."""
    values = np.asarray(values, dtype=np.int64)
    shifts = np.arange(nbits - 1, -1, -1)
    return (values[:, None] >> shifts[None, :]) & 1


def bits_value(H):
    """The integers whose binary digits (most significant first) are the rows of H (bits x points)."""
    nbits = H.shape[0]
    return (1 << np.arange(nbits - 1, -1, -1)) @ H.astype(np.int64) if nbits else np.zeros(H.shape[1], np.int64)


def equality_layer(inputs, n_blocks, nbits, n_values):
    """Units 1[bits == v] for v = 0..n_values-1 over the input positions ``inputs`` (nbits each).

    ``inputs`` has shape (n_blocks, nbits); the result has n_blocks * n_values units,
    block-major.  Weights 2 v_j - 1, bias -|v|.
    """
    inputs = np.asarray(inputs, np.int64).reshape(n_blocks, nbits)
    V = bits_of(np.arange(n_values), nbits)  # (n_values, nbits)
    index = np.repeat(inputs, n_values, axis=0)
    weight = np.tile(2 * V - 1, (inputs.shape[0], 1))
    bias = -np.tile(V.sum(axis=1), inputs.shape[0])
    return index, weight, bias




__all__ = ["bits_value", "equality_layer", "f2_product", "flat_parity_cost", "flat_parity_layers",
           "nonzero_f2_matrix", "parity_layers", "parity_tree_cost", "sparse_layer", "bits_of"]
