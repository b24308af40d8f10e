"""Part III: integer gadgets: XOR trees, F2 arithmetic and equality units.

:func:`parity_layers` computes XORs of subsets of the previous layer with threshold
gadgets (weights in {-1, 0, 1}); :func:`parity_tree_cost` is their exact size;
:func:`f2_product`, :func:`nonzero_f2_matrix`, :func:`bits_value` are the F2 arithmetic
the construction checks its layers against.
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import as_binary_matrix, check_alloc, check_choice, check_int, int_array
from .network import STAGES, SparseLayer

#: Bits of one integer value at most (values are held in int64).
MAX_BITS = 62

# ---------------------------------------------------------------------------
# Integer gadgets
# ---------------------------------------------------------------------------


def sparse_layer(index, weight, bias, stage):
    """A :class:`SparseLayer` of int64 arrays (ELLPACK index and weights, bias) for ``stage``.

    ``index`` and ``weight`` are (out, K) integer arrays of one shape (``index`` >= 0),
    ``bias`` an (out,) integer vector, ``stage`` a name (a non-empty str).
    """
    index = int_array(index, "index", minimum=0, ndim=2)
    weight = int_array(weight, "weight", minimum=None, ndim=2)
    bias = int_array(bias, "bias", minimum=None, ndim=1)
    if weight.shape != index.shape:
        raise ValueError(f"weight has shape {weight.shape} but index has {index.shape}; they must match")
    if bias.shape[0] != index.shape[0]:
        raise ValueError(f"bias has {bias.shape[0]} entries but index has {index.shape[0]} rows; they must match")
    if not isinstance(stage, str) or not stage:
        raise TypeError(f"stage must be a non-empty str, got {stage!r}")
    return SparseLayer(index, weight, bias, stage)


def _layer(index, weight, bias, stage):
    """:func:`sparse_layer` without the checks, for arrays the builders made themselves."""
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
    S = as_binary_matrix(subsets, "subsets").astype(bool)
    stage = check_choice(stage, "stage", STAGES)
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
        layers += [_layer(idx_a, w_a, b_a, stage), _layer(idx_b, w_b, b_b, stage)]
        nodes, tree = np.arange(heads.size), tree[heads]
    return layers, nodes


def parity_tree_cost(sizes):
    """Exact (layers, neurons, weights) of :func:`parity_layers` for trees over ``sizes``
    inputs each, run in lockstep for D = ceil(log2 max(sizes)) levels.

    With c_l = ceil(s / 2^l) values left in a tree at level l (l = 0..D-1), the level
    costs c_l + ceil(c_l / 2) neurons and 6 floor(c_l / 2) + 2 (c_l mod 2) weights
    (3 neurons and 6 weights per XOR, 2 and 2 per copied value).
    """
    s = _check_sizes(sizes)
    if s.size == 0:
        return 0, 0, 0
    D = int(math.ceil(math.log2(int(s.max())))) if s.max() > 1 else 0
    c = -(-s[:, None] // (2 ** np.arange(D))[None, :])  # ceil(s / 2^l), (trees, D)
    neurons = int((c + (c + 1) // 2).sum())
    weights = int((6 * (c // 2) + 2 * (c % 2)).sum())
    return 2 * D, neurons, weights


def _check_sizes(sizes):
    """``sizes`` (an int or a 1-D array of ints >= 1) as a flat int64 array."""
    s = int_array(sizes, "sizes", minimum=1)
    if s.ndim > 1:
        raise ValueError(f"sizes must be an int or a 1-dimensional array of them, got shape {s.shape}")
    return s.ravel()


def flat_parity_layers(subsets, stage):
    """Two layers computing XOR over each row of the 0/1 matrix ``subsets``, without a tree:
    a thermometer 1[sum_{i in S} h_i - j >= 0] for j = 1..|S|, then the alternating sum
    1[sum_j (-1)^(j+1) t_j - 1 >= 0] (one when an odd number of inputs is on).

    Depth 2 whatever |S|, but |S| + 1 neurons and |S|^2 + |S| weights per parity, against
    the 2 ceil(log2 |S|) layers, about 3 |S| neurons and 6 |S| weights of :func:`parity_layers`.
    Returns ``(layers, out)`` as :func:`parity_layers` does.  Every row of ``subsets`` must be
    nonzero.
    """
    S = as_binary_matrix(subsets, "subsets").astype(bool)
    stage = check_choice(stage, "stage", STAGES)
    if not S.any(axis=1).all():
        raise ValueError("every row of subsets must contain at least one input")
    sizes = S.sum(axis=1)
    K = int(sizes.max())
    check_alloc(what="the flat parity layers", units=int(sizes.sum()), K=K)
    tree = np.repeat(np.arange(S.shape[0]), sizes)  # thermometer unit -> its parity
    level = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1  # j = 1..|S|
    inputs = [np.flatnonzero(row) for row in S]
    idx_a = np.zeros((tree.size, K), np.int64)
    w_a = np.zeros((tree.size, K), np.int64)
    for t, cols in enumerate(inputs):  # one row pattern per parity (rows of A), not per point
        rows = np.flatnonzero(tree == t)
        idx_a[rows, : cols.size] = cols
        w_a[rows, : cols.size] = 1
    first = _layer(idx_a, w_a, -level, stage)
    idx_b = np.zeros((S.shape[0], K), np.int64)
    w_b = np.zeros((S.shape[0], K), np.int64)
    starts = np.cumsum(sizes) - sizes
    cols = np.arange(K)[None, :]
    mask = cols < sizes[:, None]
    idx_b[mask] = (starts[:, None] + cols)[mask]
    w_b[mask] = np.where(cols % 2 == 0, 1, -1).repeat(S.shape[0], axis=0)[mask]
    second = _layer(idx_b, w_b, np.full(S.shape[0], -1), stage)
    return [first, second], np.arange(S.shape[0])


def flat_parity_cost(sizes):
    """Exact (layers, neurons, weights) of :func:`flat_parity_layers` for parities over ``sizes``
    inputs each: 2 layers, sum (s + 1) neurons, sum (s^2 + s) weights."""
    s = _check_sizes(sizes)
    if s.size == 0:
        return 0, 0, 0
    return 2, int((s + 1).sum()), int((s * s + s).sum())


def nonzero_f2_matrix(rng, rows, cols):
    """Uniform F2 matrix conditioned on every row being nonzero (``rows`` >= 0, ``cols`` >= 1).

    ``rng`` is a :class:`numpy.random.Generator` (e.g. :func:`expreg_nb.seeding.make_rng`).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (expreg_nb.seeding.make_rng), "
                        f"got {type(rng).__name__}")
    rows = check_int(rows, "rows", minimum=0)
    cols = check_int(cols, "cols", minimum=1)  # no nonzero row has 0 columns: redrawing would never end
    check_alloc(itemsize=1, what="the F2 matrix", rows=rows, cols=cols)
    A = rng.integers(0, 2, size=(rows, cols)).astype(bool)
    bad = ~A.any(axis=1)
    while bad.any():
        A[bad] = rng.integers(0, 2, size=(int(bad.sum()), cols)).astype(bool)
        bad = ~A.any(axis=1)
    return A


def f2_product(R, H):
    """(R H) mod 2 for a 0/1 matrix R (rows x in) and 0/1 columns H (in x points), as int8;
    a float32 product is exact since every sum is at most in < 2^24."""
    R = as_binary_matrix(R, "R", nonempty=False)
    H = as_binary_matrix(H, "H", nonempty=False)
    if R.shape[1] != H.shape[0]:
        raise ValueError(f"R has {R.shape[1]} columns but H has {H.shape[0]} rows; they must match")
    if R.shape[1] >= 2**24:
        raise ValueError(f"R has {R.shape[1]} columns: the float32 product is exact only below 2^24")
    return _f2_product(R, H)


def _f2_product(R, H):
    return (np.rint(R.astype(np.float32) @ H.astype(np.float32)).astype(np.int64) % 2).astype(np.int8)


def bits_of(values, nbits):
    """Binary digits (most significant first) of each value, shape (len, nbits).

    ``values``: non-negative ints below 2^nbits (a 1-D array), ``nbits`` in [0, 62].
    """
    nbits = check_int(nbits, "nbits", minimum=0, maximum=MAX_BITS)
    values = int_array(values, "values", minimum=0, ndim=1)
    if values.size and int(values.max()) >= 2**nbits:
        raise ValueError(f"values must be < 2^nbits = {2**nbits} (nbits={nbits}), got {int(values.max())}")
    return _bits_of(values, nbits)


def _bits_of(values, nbits):
    values = np.asarray(values, dtype=np.int64)
    shifts = np.arange(nbits - 1, -1, -1)
    return (values[:, None] >> shifts[None, :]) & 1


def bits_value(H):
    """The integers whose binary digits (most significant first) are the rows of H (bits x points);
    at most 62 bits."""
    H = as_binary_matrix(H, "H", nonempty=False)
    if H.shape[0] > MAX_BITS:
        raise ValueError(f"H has {H.shape[0]} rows (bits): at most {MAX_BITS} fit an int64 value")
    return _bits_value(H)


def _bits_value(H):
    nbits = H.shape[0]
    return (1 << np.arange(nbits - 1, -1, -1)) @ H.astype(np.int64) if nbits else np.zeros(H.shape[1], np.int64)


def equality_layer(inputs, n_blocks, nbits, n_values):
    """Units 1[bits == v] for v = 0..n_values-1 over the input positions ``inputs`` (nbits each).

    ``inputs`` has shape (n_blocks, nbits); the result has n_blocks * n_values units,
    block-major.  Weights 2 v_j - 1, bias -|v|.
    """
    n_blocks = check_int(n_blocks, "n_blocks", minimum=1)
    nbits = check_int(nbits, "nbits", minimum=0, maximum=MAX_BITS)
    n_values = check_int(n_values, "n_values", minimum=1)
    if n_values > 2**nbits:
        raise ValueError(f"n_values must be <= 2^nbits = {2**nbits} (nbits={nbits}), got {n_values}")
    check_alloc(what="the equality units", n_blocks=n_blocks, n_values=n_values, nbits=max(nbits, 1))
    inputs = int_array(inputs, "inputs", minimum=0)
    if inputs.ndim > 2 or (inputs.ndim == 2 and inputs.shape != (n_blocks, nbits)) \
            or inputs.size != n_blocks * nbits:
        raise ValueError(f"inputs must have n_blocks * nbits = {n_blocks * nbits} entries (shape "
                         f"({n_blocks}, {nbits}) or flat), got shape {inputs.shape}")
    return _equality_layer(inputs, n_blocks, nbits, n_values)


def _equality_layer(inputs, n_blocks, nbits, n_values):
    inputs = np.asarray(inputs, np.int64).reshape(n_blocks, nbits)
    V = _bits_of(np.arange(n_values), nbits)  # (n_values, nbits)
    index = np.repeat(inputs, n_values, axis=0)
    weight = np.tile(2 * V - 1, (inputs.shape[0], 1))
    bias = -np.tile(V.sum(axis=1), inputs.shape[0])
    return index, weight, bias




__all__ = ["MAX_BITS", "bits_of", "bits_value", "equality_layer", "f2_product", "flat_parity_cost",
           "flat_parity_layers", "nonzero_f2_matrix", "parity_layers", "parity_tree_cost", "sparse_layer"]
