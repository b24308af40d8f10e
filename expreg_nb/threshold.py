"""Part III: memorization with deep threshold networks.

This module builds, layer by layer, a threshold network that memorizes any 0/1
labeling of ``n`` points on the unit sphere S^{d-1} with pairwise distance at
least ``delta``.  The pipeline follows the four stages that Rajput, Sreenivasan,
Papailiopoulos and Karbasi (2021, arXiv 2106.07724) describe for their
construction; the details of each stage are **this book's reconstruction**
(the paper's body was not available to us):

1. ``gaussian``     c = 1[W1 x >= 0], W1 Gaussian (k1 x d), k1 = O(log n / delta);
2. ``compression``  z = A c mod 2, A a random F2 matrix (m = O(log n) rows),
                    computed by trees of XOR gadgets with weights in {-1, 0, 1};
3. ``hashing``      random F2-linear hashes of z: a group hash (b0 bits, r = 2^b0
                    ~ sqrt(n) groups) and B block hashes of b bits each;
   ``lifting``      one-hot units phi_{beta,v} = 1[h_beta(z) = v] and group
                    membership units mu_g = 1[gamma(z) = g];
4. ``memorization`` one neuron per group, weights +-1 on private one-hot
                    coordinates (the only label-dependent weights) and M on mu_g;
   ``output``       the OR of the group neurons.

The activation is sigma(t) = 1[t >= 0].  All layers after the first have integer
weights and integer biases and are evaluated in exact integer arithmetic.

Layers after the first are stored in ELLPACK form: neuron ``j`` reads the
previous layer at ``index[j, :]`` with integer weights ``weight[j, :]`` (padding
slots have weight 0 and are not counted as weights).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import data
from .backend import array_module, to_device, to_numpy
from .chunks import neuron_slices
from .seeding import check_seed, make_rng
from .validation import as_float_array, check_int, check_real

#: Tolerance on | ||x_i|| - 1 | for inputs to :func:`build_memorizer`.
SPHERE_TOL = 1e-6

STAGES = ("gaussian", "compression", "hashing", "lifting", "memorization", "output")


class MemorizationError(RuntimeError):
    """The randomized construction did not succeed within ``max_attempts`` draws."""


# ---------------------------------------------------------------------------
# Layers and the network
# ---------------------------------------------------------------------------


class _LayerSize:
    """Width and nonzero-weight count, shared by both layer kinds."""

    @property
    def width(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_weights(self) -> int:
        return int(np.count_nonzero(to_numpy(self.weight)))


@dataclass(frozen=True)
class DenseLayer(_LayerSize):
    """h -> 1[h W^T + bias >= 0] with a dense float weight matrix (the Gaussian layer)."""

    weight: object  # (out, in) float64
    bias: object  # (out,) float64
    stage: str

    def preactivation(self, h, xp):
        return h @ self.weight.T + self.bias


@dataclass(frozen=True)
class SparseLayer(_LayerSize):
    """h -> 1[sum_k weight[:, k] * h[:, index[:, k]] + bias >= 0], integer weights (ELLPACK)."""

    index: object  # (out, K) int64 into the previous layer
    weight: object  # (out, K) int64
    bias: object  # (out,) int64
    stage: str

    def preactivation(self, h, xp):
        pre = xp.zeros((h.shape[0], self.width), dtype=xp.int64) + self.bias
        for k in range(self.weight.shape[1]):  # fan-in slots, not neurons
            pre += h[:, self.index[:, k]].astype(xp.int64) * self.weight[:, k]
        return pre

    def dense(self, width_in: int):
        """The same layer as a dense (out, width_in) integer matrix (for small layers)."""
        idx, w = to_numpy(self.index), to_numpy(self.weight)
        out = np.zeros((self.width, width_in), dtype=np.int64)
        rows = np.repeat(np.arange(self.width), idx.shape[1])
        np.add.at(out, (rows, idx.ravel()), w.ravel())
        return out


@dataclass(frozen=True)
class ThresholdNetwork:
    """A feed-forward threshold network; ``predict`` is its exact forward pass."""

    layers: tuple
    d: int
    #: for each training point: (group, slot) of its label weight in the memorization layer
    label_slots: tuple = field(default=(), repr=False)
    info: dict = field(default_factory=dict, repr=False)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def n_neurons(self) -> int:
        return sum(layer.width for layer in self.layers)

    @property
    def n_weights(self) -> int:
        return sum(layer.n_weights for layer in self.layers)

    def stage_sizes(self) -> dict:
        """``{stage: {"layers", "neurons", "weights"}}`` in pipeline order."""
        out = {s: {"layers": 0, "neurons": 0, "weights": 0} for s in STAGES}
        for layer in self.layers:
            row = out[layer.stage]
            row["layers"] += 1
            row["neurons"] += layer.width
            row["weights"] += layer.n_weights
        return out

    def hidden(self, X, upto: int):
        """The 0/1 outputs (int8) of layer ``upto`` (0-based) on the rows of ``X``."""
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.d:
            raise ValueError(f"X must have {self.d} columns, got {X.shape[1]}")
        upto = check_int(upto, "upto", minimum=0)
        if upto >= self.depth:
            raise ValueError(f"upto must be < depth={self.depth}, got {upto}")
        xp = array_module(X)
        widest = max(layer.width for layer in self.layers)
        parts = []
        for rows in neuron_slices(X.shape[0], widest):
            h = X[rows]
            for layer in self.layers[: upto + 1]:
                h = (layer.preactivation(h, xp) >= 0).astype(xp.int8)
            parts.append(h)
        if not parts:
            return xp.zeros((0, self.layers[upto].width), dtype=xp.int8)
        return xp.concatenate(parts, axis=0)

    def predict(self, X):
        """0/1 output (int64) for each row of ``X``, on the backend of ``X``."""
        return self.hidden(X, self.depth - 1)[:, 0].astype(array_module(X).int64)

    def with_labels(self, y):
        """The same network with only the +-1 label weights of the memorization layer changed."""
        y = _check_labels(y, len(self.label_slots))
        mem_pos = [i for i, layer in enumerate(self.layers) if layer.stage == "memorization"]
        pos = mem_pos[0]
        layer = self.layers[pos]
        xp = array_module(layer.weight)
        weight = to_numpy(layer.weight).copy()
        slots = np.asarray(self.label_slots, dtype=np.int64).reshape(-1, 2)
        weight[slots[:, 0], slots[:, 1]] = 2 * y - 1
        new = replace(layer, weight=to_device(weight, xp))
        layers = self.layers[:pos] + (new,) + self.layers[pos + 1 :]
        return replace(self, layers=layers)

    def to(self, xp):
        """A copy with every array moved to the array module ``xp``."""
        moved = []
        for layer in self.layers:
            if isinstance(layer, DenseLayer):
                moved.append(replace(layer, weight=to_device(to_numpy(layer.weight), xp),
                                     bias=to_device(to_numpy(layer.bias), xp)))
            else:
                moved.append(replace(layer, index=to_device(to_numpy(layer.index), xp),
                                     weight=to_device(to_numpy(layer.weight), xp),
                                     bias=to_device(to_numpy(layer.bias), xp)))
        return replace(self, layers=tuple(moved))


# ---------------------------------------------------------------------------
# Sizes prescribed by the lemmas
# ---------------------------------------------------------------------------


def separation_angle(delta):
    """theta = 2 arcsin(delta / 2): the angle between unit vectors at distance ``delta``."""
    return 2.0 * np.arcsin(np.asarray(delta, dtype=float) / 2.0)


def hyperplane_budget(n, delta, eta=0.01) -> int:
    """Gaussian hyperplanes k1 that give n delta-separated points distinct codes w.p. >= 1 - eta.

    k1 = ceil( ln(C(n,2)/eta) / -ln(1 - theta/pi) ),  theta = 2 arcsin(delta/2)
    (union bound over pairs); at least 1.  It is <= (pi/delta) ln(C(n,2)/eta) + 1.
    """
    n = check_int(n, "n")
    delta = check_real(delta, "delta", positive=True)
    eta = _check_eta(eta)
    if delta > 2:
        raise ValueError(f"delta must be <= 2 for points on the unit sphere, got {delta}")
    pairs = n * (n - 1) / 2
    if pairs < 1:
        return 1
    p_miss = 1.0 - float(separation_angle(delta)) / math.pi
    if p_miss <= 0.0:
        return 1
    return max(1, math.ceil(math.log(pairs / eta) / -math.log(p_miss)))


def union_bound_width(n, delta, eta=0.01):
    """The simplified union bound (pi/delta) ln(C(n,2)/eta) (a real number, for plots)."""
    n = np.asarray(n, dtype=float)
    return np.pi / np.asarray(delta, dtype=float) * np.log(np.maximum(n * (n - 1) / 2, 1.0) / eta)


def compression_bits(n, eta=0.01) -> int:
    """m = ceil(log2(C(n,2)/eta)): F2 rows that keep n distinct codes distinct w.p. >= 1 - eta."""
    n = check_int(n, "n")
    eta = _check_eta(eta)
    return max(1, math.ceil(math.log2(max(n * (n - 1) / 2, 1) / eta)))


def block_count(n, eta=0.01) -> int:
    """B = ceil(log2(n/eta)): block hashes so that every point has a private coordinate w.p. >= 1 - eta."""
    n = check_int(n, "n")
    eta = _check_eta(eta)
    return max(1, math.ceil(math.log2(n / eta)))


def group_bits(n) -> int:
    """b0 = ceil(log2(n) / 2): r = 2^b0 >= sqrt(n) groups."""
    n = check_int(n, "n")
    return math.ceil(math.log2(n) / 2) if n > 1 else 0


def max_group_size(n) -> int:
    """Largest group the builder accepts: 3 ceil(sqrt n)."""
    n = check_int(n, "n")
    return 3 * math.isqrt(n - 1) + 3 if n > 1 else 1


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def min_distance(X) -> float:
    """Smallest pairwise Euclidean distance between the rows of ``X`` (inf for one row)."""
    X = as_float_array(X, "X", ndim=2)
    n = X.shape[0]
    if n < 2:
        return math.inf
    xp = array_module(X)
    sq = (X * X).sum(axis=1)
    G = X @ X.T
    D2 = sq[:, None] + sq[None, :] - 2.0 * G
    D2 = D2 + xp.diag(xp.full(n, xp.inf))
    # recompute the closest pair exactly (the Gram form loses digits for close pairs)
    flat = int(to_numpy(xp.argmin(D2)))
    i, j = divmod(flat, n)
    exact = float(to_numpy(xp.sqrt(((X[i] - X[j]) ** 2).sum())))
    return min(exact, math.sqrt(max(float(to_numpy(D2.min())), 0.0)))


def separated_points(n, d, delta, *, seed, batch=None, max_batches=200, xp=None):
    """``n`` points on S^{d-1} with pairwise distance >= ``delta`` (random sequential addition).

    Candidates are drawn uniformly (``data.sphere``) in batches; a candidate is kept
    if it is at distance >= delta from every kept point and from every earlier
    surviving candidate of its batch.  Raises ValueError if ``n`` points are not
    found within ``max_batches`` batches (delta too large for n in dimension d).
    """
    n, d = check_int(n, "n"), check_int(d, "d", minimum=2)
    delta = check_real(delta, "delta", positive=True)
    max_batches = check_int(max_batches, "max_batches")
    batch = 4 * n if batch is None else check_int(batch, "batch")
    kept = np.zeros((0, d))
    for t in range(max_batches):
        cand = to_numpy(data.sphere(batch, d, seed=check_seed(seed) * 1_000_003 + t, xp=np))
        # unit vectors: ||u - v||^2 = 2 - 2 <u, v>
        if kept.shape[0]:
            far = (2.0 - 2.0 * (cand @ kept.T)).min(axis=1) >= delta**2
            cand = cand[far]
        D2 = 2.0 - 2.0 * (cand @ cand.T)
        clash = np.triu(D2 < delta**2, k=1).any(axis=0)
        kept = np.concatenate([kept, cand[~clash]], axis=0)[:n]
        if kept.shape[0] == n:
            return to_device(kept, xp)
    raise ValueError(
        f"could not place n={n} points with separation delta={delta} on S^{d - 1} "
        f"in {max_batches} batches of {batch}; lower n or delta"
    )


def great_circle(n, d=2, *, xp=None):
    """``n`` equally spaced points on the great circle of the (e1, e2) plane of R^d.

    Their separation is 2 sin(pi/n): the worst case for hyperplane separation.
    """
    n, d = check_int(n, "n", minimum=2), check_int(d, "d", minimum=2)
    t = 2.0 * np.pi * np.arange(n) / n
    X = np.zeros((n, d))
    X[:, 0], X[:, 1] = np.cos(t), np.sin(t)
    return to_device(X, xp)


def great_circle_arc(n, delta, d=3, *, xp=None):
    """``n`` points along the great circle of the (e1, e2) plane with consecutive distance
    exactly ``delta`` (requires n * 2 arcsin(delta/2) <= 2 pi): the worst case at a given delta."""
    n, d = check_int(n, "n"), check_int(d, "d", minimum=2)
    delta = check_real(delta, "delta", positive=True)
    step = float(separation_angle(min(delta, 2.0)))
    if delta > 2 or (n > 1 and n * step > 2 * np.pi * (1 + 1e-12)):
        raise ValueError(f"n={n} points at consecutive distance delta={delta} do not fit on a circle")
    t = step * np.arange(n)
    X = np.zeros((n, d))
    X[:, 0], X[:, 1] = np.cos(t), np.sin(t)
    return to_device(X, xp)


def orthogonal_circles(n_per_circle, n_circles, d=None, *, xp=None):
    """``n_circles`` great circles in the coordinate planes span(e_{2a-1}, e_{2a}), each with
    ``n_per_circle`` equally spaced points; ``d`` defaults to 2 * n_circles."""
    n_per_circle = check_int(n_per_circle, "n_per_circle", minimum=2)
    n_circles = check_int(n_circles, "n_circles")
    d = 2 * n_circles if d is None else check_int(d, "d")
    if d < 2 * n_circles:
        raise ValueError(f"d must be >= 2 * n_circles = {2 * n_circles}, got {d}")
    circle = to_numpy(great_circle(n_per_circle, 2, xp=np))
    X = np.zeros((n_circles * n_per_circle, d))
    rows = np.arange(n_circles * n_per_circle)
    plane = rows // n_per_circle
    X[rows, 2 * plane] = np.tile(circle[:, 0], n_circles)
    X[rows, 2 * plane + 1] = np.tile(circle[:, 1], n_circles)
    return to_device(X, xp)


# ---------------------------------------------------------------------------
# Random hyperplanes (Chapter 1)
# ---------------------------------------------------------------------------


def gaussian_hyperplanes(k, d, *, seed, attempt=0, xp=None):
    """k x d standard Gaussian normals: row r is the r-th hyperplane through the origin.

    Prefixes are nested: the first k rows for a seed are the same whatever the total
    number drawn, so "the first k hyperplanes" is well defined.
    """
    k, d = check_int(k, "k"), check_int(d, "d")
    rng = make_rng(seed, "threshold", "gaussian", attempt)
    return to_device(rng.standard_normal((k, d)), xp)


def hyperplane_codes(X, W):
    """The binary codes 1[W x_i >= 0] (int8, one row per point)."""
    X = as_float_array(X, "X", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"W must have {X.shape[1]} columns (the dimension of X), got {W.shape[1]}")
    xp = array_module(X)
    return (X @ W.T >= 0).astype(xp.int8)


def distinct_rows(codes) -> bool:
    """True when the rows of a 0/1 matrix are pairwise distinct."""
    c = to_numpy(codes).astype(np.uint8)
    if c.shape[0] < 2:
        return True
    packed = np.packbits(c, axis=1)
    return np.unique(packed, axis=0).shape[0] == c.shape[0]


def hyperplanes_to_separate(X, *, seed, k_max=1 << 16):
    """The smallest k such that the first k Gaussian hyperplanes of ``seed`` give the rows
    of ``X`` distinct codes (binary search over nested prefixes; monotone in k)."""
    X = as_float_array(X, "X", ndim=2)
    k_max = check_int(k_max, "k_max")
    if X.shape[0] < 2:
        return 1
    if min_distance(X) == 0.0:
        raise ValueError("X has duplicate rows: no set of hyperplanes separates them")
    k = 16
    while True:
        k = min(k, k_max)
        codes = to_numpy(hyperplane_codes(X, gaussian_hyperplanes(k, X.shape[1], seed=seed,
                                                                    xp=array_module(X))))
        if distinct_rows(codes):
            break
        if k == k_max:
            raise ValueError(f"k_max={k_max} hyperplanes do not separate the rows of X")
        k *= 2
    lo, hi = 0, k  # distinct at hi, (vacuously) not at lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if distinct_rows(codes[:, :mid]):
            hi = mid
        else:
            lo = mid
    return hi


def circle_separation_cdf(n, k):
    """P[k_min <= k] for n equally spaced points on a circle (n even) and Gaussian central
    hyperplanes: a coupon collector over the n/2 antipodal arc pairs."""
    n = check_int(n, "n", minimum=2)
    if n % 2:
        raise ValueError(f"n must be even, got {n}")
    m = n // 2
    k = np.asarray(k, dtype=float)
    j = np.arange(m + 1)
    log_binom = np.array([math.lgamma(m + 1) - math.lgamma(i + 1) - math.lgamma(m - i + 1) for i in j])
    base = np.clip(1.0 - j / m, 0.0, None)
    kk = k.reshape(-1, 1)
    with np.errstate(divide="ignore"):
        log_base = np.where(base > 0, np.log(np.where(base > 0, base, 1.0)), -np.inf)
    log_pow = np.where(kk == 0, 0.0, kk * np.where(np.isfinite(log_base), log_base, 0.0))
    log_pow = np.where((kk > 0) & ~np.isfinite(log_base)[None, :], -np.inf, log_pow)
    terms = (-1.0) ** j * np.exp(log_binom[None, :] + log_pow)
    # the alternating sum cancels badly far below the mean, where the cdf is ~0
    return np.clip(terms.sum(axis=1), 0.0, 1.0).reshape(k.shape)


def circle_separation_mean(n) -> float:
    """E[k_min] = (n/2) H_{n/2} for n equally spaced points on a circle (n even)."""
    n = check_int(n, "n", minimum=2)
    m = n // 2
    return m * float(sum(1.0 / i for i in range(1, m + 1)))


def vershynin_width_log10(delta, eps=0.1) -> float:
    """log10 of 1/p(tau*) for this book's reconstruction of the sparse first layer of
    Vershynin (2020): tau* solves q/p = eps, with p = P[g.x >= tau] and the bound
    q <= P[g.(x+x') >= 2 tau] for ||x - x'|| = delta.  Computed with mpmath."""
    import mpmath as mp

    delta = check_real(delta, "delta", positive=True)
    eps = check_real(eps, "eps", positive=True)
    rho = 1.0 - delta**2 / 2.0
    factor = mp.sqrt(2.0 / (1.0 + rho))

    def log_tail(t):
        return mp.log(mp.erfc(t / mp.sqrt(2)) / 2)

    def gap(tau):
        return log_tail(tau * factor) - log_tail(tau) - mp.log(eps)

    lo, hi = mp.mpf(0), mp.mpf(1)
    while gap(hi) > 0:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
    return float(-log_tail(hi) / mp.log(10))


# ---------------------------------------------------------------------------
# Integer gadgets
# ---------------------------------------------------------------------------


def _sparse(index, weight, bias, stage):
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
    S = np.asarray(subsets, dtype=bool)
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
        layers += [_sparse(idx_a, w_a, b_a, stage), _sparse(idx_b, w_b, b_b, stage)]
        nodes, tree = np.arange(heads.size), tree[heads]
    return layers, nodes


def _nonzero_f2_matrix(rng, rows, cols):
    """Uniform F2 matrix conditioned on every row being nonzero."""
    A = rng.integers(0, 2, size=(rows, cols)).astype(bool)
    bad = ~A.any(axis=1)
    while bad.any():
        A[bad] = rng.integers(0, 2, size=(int(bad.sum()), cols)).astype(bool)
        bad = ~A.any(axis=1)
    return A


def _bits(values, nbits):
    """Binary digits (most significant first) of each value, shape (len, nbits)."""
    values = np.asarray(values, dtype=np.int64)
    shifts = np.arange(nbits - 1, -1, -1)
    return (values[:, None] >> shifts[None, :]) & 1


def _equality_layer(inputs, n_blocks, nbits, n_values):
    """Units 1[bits == v] for v = 0..n_values-1 over the input positions ``inputs`` (nbits each).

    ``inputs`` has shape (n_blocks, nbits); the result has n_blocks * n_values units,
    block-major.  Weights 2 v_j - 1, bias -|v|.
    """
    inputs = np.asarray(inputs, np.int64).reshape(n_blocks, nbits)
    V = _bits(np.arange(n_values), nbits)  # (n_values, nbits)
    index = np.repeat(inputs, n_values, axis=0)
    weight = np.tile(2 * V - 1, (inputs.shape[0], 1))
    bias = -np.tile(V.sum(axis=1), inputs.shape[0])
    return index, weight, bias


# ---------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------


def _check_eta(eta):
    eta = check_real(eta, "eta", positive=True)
    if eta >= 1:
        raise ValueError(f"eta must be in (0, 1), got {eta}")
    return eta


def _check_labels(y, n):
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"y must be an array of 0/1 labels, got {type(y).__name__}")
    y_host = to_numpy(y)
    if y_host.dtype == bool:
        y_host = y_host.astype(np.int64)
    y_f = to_numpy(as_float_array(y_host, "y", ndim=1))
    if y_f.shape[0] != n:
        raise ValueError(f"y has {y_f.shape[0]} labels but X has {n} rows; they must match")
    if not np.isin(y_f, (0.0, 1.0)).all():
        raise ValueError("y must contain only the labels 0 and 1")
    return y_f.astype(np.int64)


def check_setting(X, delta=None):
    """Validate points for :func:`build_memorizer`; return (X on its backend, delta).

    Raises ValueError for points off the unit sphere (beyond :data:`SPHERE_TOL`),
    duplicate points, or a ``delta`` larger than the data's minimum distance.
    """
    X = as_float_array(X, "X", ndim=2)
    n, d = X.shape
    if n < 1:
        raise ValueError("X must contain at least one point")
    if d < 2:
        raise ValueError(f"X must have d >= 2 columns (points on S^(d-1)), got d={d}")
    norms = to_numpy((X * X).sum(axis=1) ** 0.5)
    worst = float(np.abs(norms - 1.0).max())
    if worst > SPHERE_TOL:
        raise ValueError(f"X rows must lie on the unit sphere: a row has | ||x|| - 1 | = {worst:.2e} "
                         f"> {SPHERE_TOL:g}")
    dmin = min_distance(X)
    if dmin <= 1e-12:
        raise ValueError("X has duplicate rows (distance 0): no network can memorize every labeling")
    if delta is None:
        delta = min(dmin, 2.0)
    else:
        delta = check_real(delta, "delta", positive=True)
        if delta > 2.0:
            raise ValueError(f"delta must be <= 2 for points on the unit sphere, got {delta}")
        if dmin < delta * (1 - 1e-9):
            raise ValueError(f"delta={delta} exceeds the minimum distance {dmin:.6g} of the rows of X")
    return X, float(delta)


def build_memorizer(X, y, *, seed=0, delta=None, eta=0.01, max_attempts=20):
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

    The result is verified: its forward pass reproduces ``y`` on ``X`` exactly, and
    every point owns a private lifted coordinate, so any other labeling is memorized
    by :meth:`ThresholdNetwork.with_labels`.
    """
    seed = check_seed(seed)
    X, delta = check_setting(X, delta)
    n, d = X.shape
    y = _check_labels(y, n)
    eta = _check_eta(eta)
    max_attempts = check_int(max_attempts, "max_attempts")
    xp = array_module(X)
    Xh = to_numpy(X)

    # Stage 1: Gaussian codes, redrawn until injective on X
    k1 = hyperplane_budget(n, delta, eta)
    for attempt in range(max_attempts):
        W1 = gaussian_hyperplanes(k1, d, seed=seed, attempt=attempt, xp=np)
        codes = to_numpy(hyperplane_codes(Xh, W1))
        if distinct_rows(codes):
            break
    else:
        raise MemorizationError(f"{max_attempts} Gaussian layers of width {k1} all left two points "
                                f"with the same code; is delta={delta} right for X?")
    layers = [DenseLayer(W1, np.zeros(k1), "gaussian")]
    info = {"n": n, "d": d, "delta": delta, "eta": eta, "k1": k1, "gaussian_attempts": attempt + 1}

    # Stage 2: z = A c mod 2, redrawn until injective on the codes
    m = compression_bits(n, eta)
    for attempt in range(max_attempts):
        A = _nonzero_f2_matrix(make_rng(seed, "threshold", "compress", attempt), m, k1)
        z = (codes.astype(np.int64) @ A.T.astype(np.int64)) % 2
        if distinct_rows(z):
            break
    else:
        raise MemorizationError(f"{max_attempts} compressions to m={m} bits were not injective")
    comp_layers, z_pos = parity_layers(A, "compression")
    layers += comp_layers
    info.update(m=m, compression_attempts=attempt + 1)

    # Stage 3: group hash (b0 bits) and B block hashes (b bits), redrawn until groups are
    # small and every point has a private coordinate in its group
    b0, B = group_bits(n), block_count(n, eta)
    r, L_max = 2**b0, max_group_size(n)
    for attempt in range(max_attempts):
        rng = make_rng(seed, "threshold", "hash", attempt)
        Gm = _nonzero_f2_matrix(rng, b0, m)
        group = (z @ Gm.T.astype(np.int64)) % 2 @ (1 << np.arange(b0 - 1, -1, -1)) if b0 else np.zeros(n, np.int64)
        L = int(np.bincount(group, minlength=r).max())
        if L > L_max:
            continue
        b = max(1, math.ceil(math.log2(2 * L)))
        T = 2**b
        Hm = _nonzero_f2_matrix(rng, B * b, m)
        hv = ((z @ Hm.T.astype(np.int64)) % 2).reshape(n, B, b) @ (1 << np.arange(b - 1, -1, -1))
        key = group[:, None] * (B * T) + np.arange(B)[None, :] * T + hv  # (n, B)
        _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        private = counts[inv.reshape(n, B)] == 1
        if private.any(axis=1).all():
            break
    else:
        raise MemorizationError(f"{max_attempts} hash draws left a point without a private coordinate "
                                f"or a group larger than {L_max}")
    hash_rows = np.concatenate([Gm, Hm], axis=0)
    hash_layers, h_pos = parity_layers(hash_rows[:, :], "hashing")
    # hashes read z: re-index the first hashing layer's inputs to z's positions
    if hash_layers:
        first = hash_layers[0]
        hash_layers[0] = replace(first, index=np.asarray(z_pos)[first.index])
        layers += hash_layers
    else:
        h_pos = np.asarray(z_pos)[h_pos]
    info.update(b0=b0, r=r, B=B, b=b, T=T, max_group=L, hash_attempts=attempt + 1)

    # Lifting: one-hot units of every block hash, then membership units of the group hash
    idx_phi, w_phi, b_phi = _equality_layer(h_pos[b0:], B, b, T)
    idx_mu, w_mu, b_mu = _equality_layer(h_pos[:b0], 1, b0, r)
    K = max(b, b0)
    idx_l = np.zeros((B * T + r, K), np.int64)
    w_l = np.zeros((B * T + r, K), np.int64)
    idx_l[: B * T, :b], w_l[: B * T, :b] = idx_phi, w_phi
    idx_l[B * T :, :b0], w_l[B * T :, :b0] = idx_mu, w_mu
    layers.append(_sparse(idx_l, w_l, np.r_[b_phi, b_mu], "lifting"))

    # Memorization: group g reads the private coordinate of each member, and mu_g
    first_private = private.argmax(axis=1)  # a block where point i is alone in its group
    phi_index = first_private * T + hv[np.arange(n), first_private]
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(r))
    slot = np.empty(n, np.int64)
    slot[order] = np.arange(n) - starts[group[order]]
    M = B + 1
    idx_m = np.zeros((r, L + 1), np.int64)
    w_m = np.zeros((r, L + 1), np.int64)
    idx_m[group, slot] = phi_index
    idx_m[:, L] = B * T + np.arange(r)
    w_m[:, L] = M
    layers.append(_sparse(idx_m, w_m, np.full(r, -M), "memorization"))
    layers.append(_sparse(np.arange(r)[None, :], np.ones((1, r)), [-1], "output"))
    info.update(M=M)

    net = ThresholdNetwork(tuple(layers), d, tuple(map(tuple, np.c_[group, slot])), info)
    net = net.with_labels(y).to(xp)
    if not bool((net.predict(X) == to_device(y, xp)).all()):
        raise MemorizationError("the constructed network does not reproduce y (this is a bug)")
    return net


def size_bound(n, delta, d, eta=0.01):
    """Upper bounds (neurons, weights) on the network :func:`build_memorizer` returns.

    With k1 = hyperplane_budget, m = compression_bits, h = b0 + B b the number of hash bits,
    b <= log2(4 L_max), T <= 4 L_max, and the XOR-tree counts (3 neurons and 6 weights per
    XOR, 2 per copy and level):
      neurons <= k1 + 3 m k1 + 2 m D1 + 3 h m + 2 h D2 + (B T + r) + r + 1
      weights <= d k1 + 6 m k1 + 2 m D1 + 6 h m + 2 h D2 + (B T b + r b0) + (n + r) + r
    where D1 = ceil(log2 k1), D2 = ceil(log2 m) are the numbers of XOR levels.
    """
    k1 = hyperplane_budget(n, delta, eta)
    m = compression_bits(n, eta)
    b0, B, L = group_bits(n), block_count(n, eta), max_group_size(n)
    r = 2**b0
    b = max(1, math.ceil(math.log2(2 * L)))
    T = 2**b
    h = b0 + B * b
    D1, D2 = math.ceil(math.log2(k1)) if k1 > 1 else 0, math.ceil(math.log2(m)) if m > 1 else 0
    neurons = k1 + 3 * m * k1 + 2 * m * D1 + 3 * h * m + 2 * h * D2 + (B * T + r) + r + 1
    weights = d * k1 + 6 * m * k1 + 2 * m * D1 + 6 * h * m + 2 * h * D2 + (B * T * b + r * b0) + (n + r) + r
    return neurons, weights


__all__ = [
    "DenseLayer",
    "MemorizationError",
    "SPHERE_TOL",
    "STAGES",
    "SparseLayer",
    "ThresholdNetwork",
    "block_count",
    "build_memorizer",
    "check_setting",
    "circle_separation_cdf",
    "circle_separation_mean",
    "compression_bits",
    "distinct_rows",
    "gaussian_hyperplanes",
    "great_circle",
    "great_circle_arc",
    "group_bits",
    "hyperplane_budget",
    "hyperplane_codes",
    "hyperplanes_to_separate",
    "max_group_size",
    "min_distance",
    "orthogonal_circles",
    "parity_layers",
    "separated_points",
    "separation_angle",
    "size_bound",
    "union_bound_width",
    "vershynin_width_log10",
]
