"""Part III: the memorizer, built one stage at a time (one lemma each).

1. :func:`gaussian_stage`      c = 1[W1 x >= 0], W1 Gaussian (k1 x d);
2. :func:`compression_stage`   z = A c mod 2, A a random F2 matrix (m = O(log n) rows),
                               computed by trees of XOR gadgets (weights in {-1, 0, 1});
3. :func:`hashing_stage`       random F2-linear hashes of z: a group hash (b0 bits,
                               r = 2^b0 >= sqrt(n) groups) and B block hashes of b bits;
   :func:`lifting_stage`       one-hot units phi_{beta,v} = 1[h_beta(z) = v] and group
                               membership units mu_g = 1[gamma(z) = g];
4. :func:`memorization_stage`  one neuron per group, weights +-1 on private one-hot
                               coordinates (the only label-dependent weights) and M on
                               mu_g, then the output, the OR of the group neurons.

:func:`build_memorizer` runs them in order and verifies f(X) = y in the same pass.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..backend import array_module, to_numpy
from ..errors import MemorizationError
from ..seeding import check_seed, make_rng
from ..validation import (as_binary_matrix, as_float_array, check_alloc, check_binary_labels, check_bool,
                          check_choice, check_int, check_open_unit, check_sphere_distance, check_unit_rows,
                          int_array)
from .gadgets import (MAX_BITS, _bits_value, _equality_layer, _f2_product, _layer, flat_parity_layers,
                      nonzero_f2_matrix, parity_layers)
from .hyperplanes import (distinct_rows, gaussian_hyperplanes, hyperplane_budget, hyperplanes_to_separate,
                          min_distance)
from .network import DenseLayer, ThresholdNetwork, _run_layers, point_chunks
from .sizes import (F2_CHUNK, PARITY_COSTS, block_bits, block_count, check_buildable, compression_bits,
                    group_bits, max_group_size, memory_limit_bytes)

#: Tolerance on | ||x_i|| - 1 | for inputs to :func:`build_memorizer`.
SPHERE_TOL = 1e-6

#: How the width k1 of the Gaussian layer is chosen (:func:`build_memorizer`).
FIRST_LAYER = ("union_bound", "smallest")

#: How the XORs of stages 2 and 3 are computed: trees of two-input gadgets (depth 2 log2 s)
#: or a flat thermometer (depth 2, s^2 weights); see :func:`expreg_nb.threshold.flat_parity_layers`.
PARITY = tuple(PARITY_COSTS)
_PARITY_LAYERS = {"tree": parity_layers, "flat": flat_parity_layers}


def _f2(R, H):
    """(R H) mod 2 in blocks of :data:`F2_CHUNK` columns (bounded memory at any n)."""
    if H.shape[1] <= F2_CHUNK:
        return _f2_product(R, H)
    return np.concatenate([_f2_product(R, H[:, s:s + F2_CHUNK]) for s in range(0, H.shape[1], F2_CHUNK)],
                          axis=1)


# ---------------------------------------------------------------------------
# The builder: one function per stage (one lemma each)
# ---------------------------------------------------------------------------


def check_setting(X, delta=None, *, verify_delta=True):
    """Validate points for :func:`build_memorizer`; return (X on its backend, delta).

    Raises ValueError for points off the unit sphere (beyond :data:`SPHERE_TOL`),
    duplicate points, or a ``delta`` larger than the data's minimum distance.
    ``verify_delta=False`` (with a ``delta`` known by construction, e.g. lattice points)
    skips the O(n^2) minimum distance; duplicates then surface as colliding codes.
    """
    verify_delta = check_bool(verify_delta, "verify_delta")
    X = as_float_array(X, "X", ndim=2)
    n, d = X.shape
    if n < 1:
        raise ValueError("X must contain at least one point")
    if d < 2:
        raise ValueError(f"X must have d >= 2 columns (points on S^(d-1)), got d={d}")
    check_unit_rows(X, "X", tol=SPHERE_TOL)
    if not verify_delta:
        if delta is None:
            raise ValueError("verify_delta=False needs the separation delta (known by construction)")
        return X, float(check_sphere_distance(delta))
    dmin = min_distance(X)
    if dmin == 0.0:
        raise ValueError("X has duplicate rows (distance 0): no network can memorize every labeling")
    if delta is None:
        delta = min(dmin, 2.0)
    else:
        delta = check_sphere_distance(delta)
        if dmin < delta * (1 - 1e-9):
            raise ValueError(f"delta={delta} exceeds the minimum distance {dmin:.6g} of the rows of X")
    return X, float(delta)


def _check_draws(seed, eta, max_attempts):
    """The arguments every randomized stage takes: its seed, failure probability and redraw budget."""
    return check_seed(seed), check_open_unit(eta, "eta"), check_int(max_attempts, "max_attempts")


def gaussian_stage(X, delta, *, seed, eta=0.01, first_layer="union_bound", max_attempts=20):
    """Stage 1 ({prf:ref}`lem-thr-all-pairs`): the Gaussian layer and the codes it gives X.

    ``first_layer="union_bound"``: k1 = :func:`hyperplane_budget`, redrawn until the codes
    are distinct; ``"smallest"``: k1 = :func:`hyperplanes_to_separate` for ``seed``, the
    smallest prefix of the first draw that separates X (distinct by construction).
    Returns ``(layer, codes (k1 x n) int8, info)``.
    """
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] < 2:
        raise ValueError(f"X must have d >= 2 columns (points on S^(d-1)), got d={X.shape[1]}")
    check_unit_rows(X, "X", tol=SPHERE_TOL)
    if np.unique(to_numpy(X), axis=0).shape[0] < X.shape[0]:
        raise ValueError("X has duplicate rows (distance 0): no hyperplanes give them distinct codes")
    delta = check_sphere_distance(delta)
    seed, eta, max_attempts = _check_draws(seed, eta, max_attempts)
    first_layer = check_choice(first_layer, "first_layer", FIRST_LAYER)
    return _gaussian_stage(X, delta, seed=seed, eta=eta, first_layer=first_layer, max_attempts=max_attempts)


def _gaussian_stage(X, delta, *, seed, eta, first_layer, max_attempts):
    n, d = X.shape
    xp = array_module(X)
    if first_layer == "smallest":  # the search holds n x k codes and projections: bound k by memory
        k_cap = max(16, min(1 << 24, memory_limit_bytes() // (10 * n + 8 * d)))
        k1 = hyperplanes_to_separate(X, seed=seed, k_max=k_cap)
    else:
        k1 = hyperplane_budget(n, delta, eta)
    for attempt in range(max_attempts):
        W1 = gaussian_hyperplanes(k1, d, seed=seed, attempt=attempt, xp=xp)
        layer = DenseLayer(W1, xp.zeros(k1), "gaussian")
        codes = to_numpy(xp.concatenate([layer.apply(X[rows], xp)
                                         for rows in point_chunks(n, k1)], axis=1))
        if distinct_rows(codes.T):
            return layer, codes, {"k1": k1, "first_layer": first_layer,
                                  "gaussian_attempts": attempt + 1}
    raise MemorizationError(f"{max_attempts} Gaussian layers of width {k1} all left two points "
                            f"with the same code; is delta={delta} right for X?")


def compression_stage(codes, *, seed, eta=0.01, max_attempts=20, parity="tree"):
    """Stage 2 ({prf:ref}`lem-thr-compression`, gadgets of {prf:ref}`lem-thr-xor`):
    z = A c mod 2 with m = :func:`compression_bits` rows, A redrawn until injective on the
    codes.  Returns ``(layers, z_pos, z (m x n) int8, info)``: ``z_pos`` are the positions
    of z in the last layer (in the codes if no layer was needed).  ``parity``: see :data:`PARITY`.

    ``codes`` is the (k1 x n) 0/1 matrix of :func:`gaussian_stage`, one distinct column per point."""
    codes = as_binary_matrix(codes, "codes")
    if not distinct_rows(codes.T):
        raise ValueError("codes must give every point (column) a distinct code: no compression of equal "
                         "codes is injective")
    seed, eta, max_attempts = _check_draws(seed, eta, max_attempts)
    parity = check_choice(parity, "parity", PARITY)
    return _compression_stage(codes, seed=seed, eta=eta, max_attempts=max_attempts, parity=parity)


def _compression_stage(codes, *, seed, eta, max_attempts, parity):
    k1, n = codes.shape
    m = compression_bits(n, eta)
    for attempt in range(max_attempts):
        A = nonzero_f2_matrix(make_rng(seed, "threshold", "compress", attempt), m, k1)
        z = _f2(A, codes)
        if distinct_rows(z.T):
            layers, z_pos = _PARITY_LAYERS[parity](A, "compression")
            info = {"m": m, "compression_attempts": attempt + 1,
                    "compression_rows": A.sum(axis=1).tolist()}
            return layers, np.asarray(z_pos), z, info
    raise MemorizationError(f"{max_attempts} compressions to m={m} bits were not injective")


def hashing_stage(z, z_pos, *, seed, eta=0.01, max_attempts=20, parity="tree"):
    """Stage 3a ({prf:ref}`lem-thr-group-size`, {prf:ref}`lem-thr-private`): a group hash of
    b0 = :func:`group_bits` bits and B = :func:`block_count` block hashes of b bits, all
    F2-linear in z, redrawn until the largest group has at most :func:`max_group_size`
    points and every point has a private coordinate in its group.

    Returns ``(layers, h_pos, hv_bits, info)``: ``h_pos`` are the positions of the b0 + B b
    hash bits (group bits first) in the last layer, ``hv_bits`` their values (bits x n).
    ``parity``: see :data:`PARITY`.

    ``z`` is the (m x n) 0/1 matrix of :func:`compression_stage` (distinct columns), ``z_pos``
    the m positions of its rows in the previous layer.
    """
    z = as_binary_matrix(z, "z")
    z_pos = int_array(z_pos, "z_pos", minimum=0, ndim=1)
    if z_pos.shape[0] != z.shape[0]:
        raise ValueError(f"z_pos has {z_pos.shape[0]} positions but z has {z.shape[0]} rows; they must match")
    if not distinct_rows(z.T):
        raise ValueError("z must give every point (column) a distinct value: equal points cannot get "
                         "private coordinates")
    seed, eta, max_attempts = _check_draws(seed, eta, max_attempts)
    parity = check_choice(parity, "parity", PARITY)
    return _hashing_stage(z, z_pos, seed=seed, eta=eta, max_attempts=max_attempts, parity=parity)


def _hashing_stage(z, z_pos, *, seed, eta, max_attempts, parity):
    m, n = z.shape
    b0, B = group_bits(n), block_count(n, eta)
    r, L_max = 2**b0, max_group_size(n)
    for attempt in range(max_attempts):
        rng = make_rng(seed, "threshold", "hash", attempt)
        Gm = nonzero_f2_matrix(rng, b0, m)
        group = _bits_value(_f2(Gm, z))
        L = int(np.bincount(group, minlength=r).max())
        if L > L_max:
            continue
        b = block_bits(L)
        T = 2**b
        Hm = nonzero_f2_matrix(rng, B * b, m)
        hv = np.empty((n, B), np.int64 if r * T >= 2**31 else np.int32)
        private = np.empty((n, B), bool)
        for j in range(B):  # one block at a time (memory O(n) per block, not O(n B))
            hv[:, j] = _bits_value(_f2(Hm[j * b:(j + 1) * b], z))
            _, inv, counts = np.unique(group * T + hv[:, j], return_inverse=True, return_counts=True)
            private[:, j] = counts[inv] == 1  # alone in its group with this value of block j
        if private.any(axis=1).all():
            break
    else:
        raise MemorizationError(f"{max_attempts} hash draws left a point without a private coordinate "
                                f"or a group larger than {L_max}")
    rows = np.concatenate([Gm, Hm], axis=0)
    layers, h_pos = _PARITY_LAYERS[parity](rows, "hashing")
    if layers:  # the hashes read z: re-index the first hashing layer's inputs to z's positions
        layers[0] = replace(layers[0], index=z_pos[layers[0].index])
    else:
        h_pos = z_pos[h_pos]
    info = {"b0": b0, "r": r, "B": B, "b": b, "T": T, "max_group": L,
            "hash_attempts": attempt + 1, "hash_rows": rows.sum(axis=1).tolist()}
    return layers, np.asarray(h_pos), (group, hv, private), info


def lifting_stage(h_pos, *, b0, B, b):
    """Stage 3b ({prf:ref}`lem-thr-private`, {eq}`eq-thr-onehot`): one layer of one-hot units
    phi_{beta,v} = 1[h_beta = v] (B T of them) and group units mu_g = 1[gamma = g] (r).

    ``h_pos``: the b0 + B b positions of the hash bits (group bits first), ``b0`` >= 0,
    ``B`` >= 1, ``b`` >= 1 (as in the ``info`` of :func:`hashing_stage`)."""
    b0 = check_int(b0, "b0", minimum=0, maximum=MAX_BITS)
    B = check_int(B, "B")
    b = check_int(b, "b", maximum=MAX_BITS)
    check_alloc(what="the lifting layer", B=B, T=2**b, b=max(b, b0))
    check_alloc(what="the lifting layer", r=2**b0, b0=max(b0, 1))
    h_pos = int_array(h_pos, "h_pos", minimum=0, ndim=1)
    if h_pos.shape[0] != b0 + B * b:
        raise ValueError(f"h_pos has {h_pos.shape[0]} positions but b0 + B b = {b0 + B * b}; they must match")
    return _lifting_stage(h_pos, b0=b0, B=B, b=b)


def _lifting_stage(h_pos, *, b0, B, b):
    T, r = 2**b, 2**b0
    idx_phi, w_phi, b_phi = _equality_layer(h_pos[b0:], B, b, T)
    idx_mu, w_mu, b_mu = _equality_layer(h_pos[:b0], 1, b0, r)
    K = max(b, b0)
    idx = np.zeros((B * T + r, K), np.int64)
    w = np.zeros((B * T + r, K), np.int64)
    idx[: B * T, :b], w[: B * T, :b] = idx_phi, w_phi
    idx[B * T:, :b0], w[B * T:, :b0] = idx_mu, w_mu
    # declared equality blocks: evaluated by reading the hash values (network.SparseLayer.onehot)
    blocks = tuple((beta * T, tuple(map(int, h_pos[b0 + beta * b: b0 + (beta + 1) * b])))
                   for beta in range(B)) + ((B * T, tuple(map(int, h_pos[:b0]))),)
    return replace(_layer(idx, w, np.r_[b_phi, b_mu], "lifting"), onehot=blocks)


def memorization_stage(group, hv, private, y, *, b0, B, b, L, unmatched=0):
    """Stage 4 ({prf:ref}`lem-thr-memorization`, {eq}`eq-thr-memorize`): one neuron per group
    with weight 2 y_i - 1 on a private coordinate of each member and M = B + 1 on mu_g, bias
    -M - 1 (``unmatched=0``) or -M (``unmatched=1``), then the OR of the groups.

    ``unmatched`` is the output on a point whose group has no active private coordinate
    ({prf:ref}`lem-thr-unseen`).  Returns ``(layers, label_slots, M)``.

    ``group`` (n,) in [0, 2^b0), ``hv`` (n, B) in [0, 2^b), ``private`` (n, B) 0/1 with a 1 in
    every row, ``y`` (n,) 0/1 labels, ``L`` >= the largest group (as :func:`hashing_stage` gives them).
    """
    b0 = check_int(b0, "b0", minimum=0, maximum=MAX_BITS)
    B = check_int(B, "B")
    b = check_int(b, "b", maximum=MAX_BITS)
    group = int_array(group, "group", minimum=0, maximum=2**b0 - 1, ndim=1)
    n = group.shape[0]
    if n == 0:
        raise ValueError("group must not be empty (one entry per point)")
    hv = int_array(hv, "hv", minimum=0, maximum=2**b - 1, ndim=2)
    private = as_binary_matrix(private, "private").astype(bool)
    for name, arr in (("hv", hv), ("private", private)):
        if arr.shape != (n, B):
            raise ValueError(f"{name} must have shape (n, B) = {(n, B)} (n = len(group), B = {B}), "
                             f"got {arr.shape}")
    if not private.any(axis=1).all():
        raise ValueError("private must give every point (row) at least one private coordinate")
    y = check_binary_labels(y, n)
    L = check_int(L, "L", minimum=int(np.bincount(group).max()))
    check_alloc(what="the memorization layer", r=2**b0, L=L + 1)
    unmatched = check_int(unmatched, "unmatched", minimum=0, maximum=1)
    return _memorization_stage(group, hv, private, y, b0=b0, B=B, b=b, L=L, unmatched=unmatched)


def _memorization_stage(group, hv, private, y, *, b0, B, b, L, unmatched):
    n = group.shape[0]
    T, r = 2**b, 2**b0
    first_private = private.argmax(axis=1)  # a block where point i is alone in its group
    phi_index = first_private * T + hv[np.arange(n), first_private]
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(r))
    slot = np.empty(n, np.int64)
    slot[order] = np.arange(n) - starts[group[order]]
    M = B + 1
    idx = np.zeros((r, L + 1), np.int64)
    w = np.zeros((r, L + 1), np.int64)
    idx[group, slot] = phi_index
    w[group, slot] = 2 * y - 1
    idx[:, L] = B * T + np.arange(r)
    w[:, L] = M
    bias = np.full(r, -M - (1 - unmatched))
    mem = _layer(idx, w, bias, "memorization")
    out = _layer(np.arange(r)[None, :], np.ones((1, r)), [-1], "output")
    return [mem, out], tuple(map(tuple, np.c_[group, slot])), M


def build_memorizer(X, y, *, seed=0, delta=None, eta=0.01, max_attempts=20,
                    first_layer="union_bound", unmatched=0, parity="tree", verify_delta=True):
    """Build a threshold network f with f(x_i) = y_i for every row of ``X``.

    Parameters
    ----------
    X : (n, d) array of points on S^{d-1} (NumPy or CuPy), pairwise distinct
    y : (n,) 0/1 labels
    seed : int; every random draw derives from it (``expreg_nb.seeding``)
    delta : separation to size the Gaussian layer for (default: the data's minimum distance)
    eta : failure probability each randomized stage is sized for
    max_attempts : redraws of a randomized stage (with a new derived seed) before
        :class:`MemorizationError` is raised
    first_layer : ``"union_bound"`` (k1 from {prf:ref}`lem-thr-all-pairs`, for any
        delta-separated data) or ``"smallest"`` (the smallest separating Gaussian prefix
        for this X)
    unmatched : 0 or 1, the output on a point that activates no private coordinate of its
        group (see {prf:ref}`lem-thr-unseen`)
    parity : ``"tree"`` (XOR trees, the default) or ``"flat"`` (two-layer thermometer parities)
    verify_delta : False skips the O(n^2) check that ``delta`` is at most the minimum distance
        (for a delta known by construction); the end-to-end check f(X) = y is unchanged

    Before anything is built, :func:`expreg_nb.threshold.check_buildable` refuses
    (:class:`NetworkTooLargeError`) a network whose predicted memory exceeds the limit.

    The stages run in order, each computing its output on X through its own layers (the
    forward pass the network will do), so the final check f(X) = y costs no second pass.
    Every point owns a private lifted coordinate, so any other labeling is memorized by
    :meth:`ThresholdNetwork.with_labels`.
    """
    seed = check_seed(seed)
    X, delta = check_setting(X, delta, verify_delta=verify_delta)
    n, d = X.shape
    y = check_binary_labels(y, n)
    eta = check_open_unit(eta, "eta")
    max_attempts = check_int(max_attempts, "max_attempts")
    first_layer = check_choice(first_layer, "first_layer", FIRST_LAYER)
    unmatched = check_int(unmatched, "unmatched", minimum=0, maximum=1)
    parity = check_choice(parity, "parity", PARITY)
    if first_layer == "union_bound":  # refuse before anything is built
        check_buildable(n, delta, d, eta=eta, parity=parity)
    xp = array_module(X)
    info = {"n": n, "d": d, "delta": delta, "eta": eta, "unmatched": int(unmatched), "parity": parity}
    clock = [time.perf_counter()]
    seconds = info["seconds"] = {}

    def lap(name):  # wall time of each stage, in info["seconds"]
        clock.append(time.perf_counter())
        seconds[name] = clock[-1] - clock[-2]

    gauss, codes, more = _gaussian_stage(X, delta, seed=seed, eta=eta, first_layer=first_layer,
                                        max_attempts=max_attempts)
    info.update(more)
    if first_layer == "smallest":  # k1 is known now: refuse before the later stages
        check_buildable(n, delta, d, eta=eta, k1=info["k1"], parity=parity)
    lap("gaussian")
    comp, z_pos, z, more = _compression_stage(codes, seed=seed, eta=eta, max_attempts=max_attempts,
                                              parity=parity)
    info.update(more)
    # the network's own compression layers, run once on the codes, must give z
    last = _run_layers(comp, codes, np)
    if not np.array_equal(last[z_pos], z):
        raise MemorizationError("the compression layers do not compute A c mod 2 (this is a bug)")
    lap("compression")
    del codes
    hashing, h_pos, (group, hv, private), more = _hashing_stage(z, z_pos, seed=seed, eta=eta,
                                                                max_attempts=max_attempts, parity=parity)
    info.update(more)
    hashed = _run_layers(hashing, last, np)
    del z, last
    lap("hashing")
    lift = _lifting_stage(h_pos, b0=info["b0"], B=info["B"], b=info["b"])
    tail, slots, M = _memorization_stage(group, hv, private, y, b0=info["b0"], B=info["B"],
                                        b=info["b"], L=info["max_group"], unmatched=unmatched)
    info.update(M=M)
    lap("lifting+memorization")
    out = _run_layers([lift] + tail, hashed, np)[0]
    if not np.array_equal(out, y):
        raise MemorizationError("the constructed network does not reproduce y (this is a bug)")
    lap("verification")
    layers = tuple([DenseLayer(to_numpy(gauss.weight), to_numpy(gauss.bias), "gaussian")]
                   + comp + hashing + [lift] + tail)
    return ThresholdNetwork(layers, d, slots, info).to(xp)




__all__ = ["FIRST_LAYER", "MemorizationError", "PARITY", "SPHERE_TOL", "build_memorizer", "check_setting",
           "compression_stage", "gaussian_stage", "hashing_stage", "lifting_stage", "memorization_stage"]
