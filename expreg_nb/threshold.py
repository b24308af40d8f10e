"""Part III: memorization with deep threshold networks.

This module builds, layer by layer, a threshold network that memorizes any 0/1
labeling of ``n`` points on the unit sphere S^{d-1} with pairwise distance at
least ``delta``.  The four stages are those the abstract and a third-party
transcription of Figure 1 of Rajput, Sreenivasan, Papailiopoulos and Karbasi
(2021, arXiv 2106.07724) describe; the details of each stage are **this book's
reconstruction** (the paper's body was not available to us).  One function per
stage, each the construction of one lemma of ``book/part3/construction.md``:

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

The activation is sigma(t) = 1[t >= 0].  All layers after the first have integer
weights and integer biases and are evaluated in exact integer arithmetic, one sparse
matrix product per layer (scipy.sparse on the CPU, cupyx.scipy.sparse on a GPU).
Layers after the first are stored in ELLPACK form: neuron ``j`` reads the previous
layer at ``index[j, :]`` with integer weights ``weight[j, :]`` (padding slots have
weight 0 and are not counted as weights).
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field, replace

import numpy as np

from . import data
from .backend import array_module, is_cupy_array, sparse_module, to_device, to_numpy
from .seeding import check_seed, make_rng
from .validation import as_float_array, check_int, check_real

#: Tolerance on | ||x_i|| - 1 | for inputs to :func:`build_memorizer`.
SPHERE_TOL = 1e-6

STAGES = ("gaussian", "compression", "hashing", "lifting", "memorization", "output")

#: How the width k1 of the Gaussian layer is chosen (:func:`build_memorizer`).
FIRST_LAYER = ("union_bound", "smallest")

#: Bytes of one (width x points) block of pre-activations in a forward pass.
FORWARD_CHUNK_BYTES = 32 * 2**20

min_distance = data.min_distance


class MemorizationError(RuntimeError):
    """The randomized construction did not succeed within ``max_attempts`` draws."""


# ---------------------------------------------------------------------------
# Input checks used only here
# ---------------------------------------------------------------------------


def _check_eta(eta):
    eta = check_real(eta, "eta", positive=True)
    if eta >= 1:
        raise ValueError(f"eta must be in (0, 1), got {eta}")
    return eta


def _check_delta(delta, name="delta"):
    delta = check_real(delta, name, positive=True)
    if delta > 2:
        raise ValueError(f"{name} must be in (0, 2] for points on the unit sphere, got {delta}")
    return delta


def _real_array(x, name, *, low, high, low_open=False):
    """A float array (or scalar) of ``x``, every entry finite and in [low, high]
    (``(low, high]`` with ``low_open``); bools and non-numbers are rejected."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or an array of them, got bool")
    arr = np.asarray(to_numpy(x) if is_cupy_array(x) else x)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating)
                                 or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real number or an array of them, got dtype {arr.dtype}")
    arr = arr.astype(float)
    bad = ~np.isfinite(arr) | (arr > high) | ((arr <= low) if low_open else (arr < low))
    if bad.any():
        interval = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must be finite and in {interval}, got {arr[bad].ravel()[0]}")
    return arr


def _int_array(x, name, *, minimum):
    """An int64 array (or scalar) of ``x``: integer dtype only (no floats, no bools)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or an array of ints, got bool")
    if isinstance(x, numbers.Integral):
        arr = np.asarray(int(x))
    else:
        arr = np.asarray(to_numpy(x) if is_cupy_array(x) else x)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must be an int or an array of ints, got dtype {arr.dtype}")
    if (arr < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}, got {arr[arr < minimum].ravel()[0]}")
    return arr.astype(np.int64)


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


# ---------------------------------------------------------------------------
# Layers and the network
# ---------------------------------------------------------------------------


def _point_chunks(n_points, width):
    rows = max(1, FORWARD_CHUNK_BYTES // (4 * max(width, 1)))
    return [slice(s, min(s + rows, n_points)) for s in range(0, n_points, rows)]


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
    """h -> 1[W h + bias >= 0] with a dense float weight matrix (a real-valued first layer)."""

    weight: object  # (out, in) float64
    bias: object  # (out,) float64
    stage: str

    def preactivation(self, h, xp):
        """Pre-activations (points, out) of the rows of ``h`` (points, in)."""
        return h @ self.weight.T + self.bias

    def apply(self, H, xp):
        """0/1 outputs (out, points) int8 of the input points ``H`` given as rows (points, in)."""
        return (self.weight @ H.T + self.bias[:, None] >= 0).astype(xp.int8)


@dataclass(frozen=True)
class SparseLayer(_LayerSize):
    """h -> 1[sum_k weight[:, k] * h[index[:, k]] + bias >= 0], integer weights (ELLPACK).

    Evaluated as one sparse product: the (out x in) matrix is built once per backend.
    """

    index: object  # (out, K) int64 into the previous layer
    weight: object  # (out, K) int64
    bias: object  # (out,) int64
    stage: str

    def _matrix(self, xp, n_in):
        cache = self.__dict__.setdefault("_cache", {})
        key = ("numpy" if xp is np else "cupy", int(n_in))
        if key not in cache:
            idx, w = to_numpy(self.index), to_numpy(self.weight)
            b = to_numpy(self.bias)
            rows = np.repeat(np.arange(self.width), idx.shape[1])
            keep = w.ravel() != 0
            bound = int(np.abs(w).sum(axis=1).max(initial=0) + np.abs(b).max(initial=0))
            if xp is np:
                sps = sparse_module(xp)
                dtype = np.int16 if bound < 2**15 else np.int32 if bound < 2**31 else np.int64
                S = sps.csr_matrix((w.ravel()[keep].astype(dtype),
                                    (rows[keep], idx.ravel()[keep])), shape=(self.width, n_in))
                cache[key] = (S, -b.astype(dtype)[:, None])
            else:  # cuSPARSE multiplies floats: exact for integers below 2^24 (float32)
                cps = sparse_module(xp)

                dtype = np.float32 if bound < 2**24 else np.float64
                S = cps.csr_matrix((xp.asarray(w.ravel()[keep].astype(dtype)),
                                    (xp.asarray(rows[keep]), xp.asarray(idx.ravel()[keep]))),
                                   shape=(self.width, n_in))
                cache[key] = (S, xp.asarray(-b.astype(dtype))[:, None])
        return cache[key]

    def _product(self, H, xp):
        S, neg_bias = self._matrix(xp, H.shape[0])
        H = H if xp is np else H.astype(S.dtype)
        return S @ H, neg_bias

    def apply(self, H, xp):
        """0/1 outputs (out, points) int8 from the previous layer's outputs ``H`` (in, points)."""
        P, neg_bias = self._product(H, xp)
        return (P >= neg_bias).view(xp.int8)

    def preactivation(self, h, xp):
        """Integer pre-activations (points, out) of the rows of ``h`` (points, in)."""
        P, neg_bias = self._product(xp.ascontiguousarray(h.T), xp)
        return (P.astype(xp.int64) - neg_bias.astype(xp.int64)).T


def _run(layers, H, xp):
    """Outputs (width, points) of the last of ``layers`` on ``H`` (in, points), in blocks of
    points so that a block of the widest layer stays within :data:`FORWARD_CHUNK_BYTES`."""
    if not layers:
        return H
    widest = max(layer.width for layer in layers)
    parts = []
    for cols in _point_chunks(H.shape[1], widest):
        h = H[:, cols]
        for layer in layers:
            h = layer.apply(h, xp)
        parts.append(h)
    return xp.concatenate(parts, axis=1)


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
        """``{stage: {"layers", "neurons", "weights"}}`` in pipeline order (a recount)."""
        names = [layer.stage for layer in self.layers]
        keys = STAGES if set(names) <= set(STAGES) else tuple(dict.fromkeys(names))
        out = {s: {"layers": 0, "neurons": 0, "weights": 0} for s in keys}
        for layer in self.layers:
            row = out[layer.stage]
            row["layers"] += 1
            row["neurons"] += layer.width
            row["weights"] += layer.n_weights
        return out

    def _check_input(self, X):
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.d:
            raise ValueError(f"X must have {self.d} columns, got {X.shape[1]}")
        return X

    def _blocks(self, X, upto):
        """Yield the outputs (width, points) of layer ``upto`` for blocks of rows of ``X``."""
        xp = array_module(X)
        widest = max(layer.width for layer in self.layers[: upto + 1])
        for rows in _point_chunks(X.shape[0], widest):
            h = self.layers[0].apply(X[rows], xp)
            yield _run(self.layers[1: upto + 1], h, xp)

    def hidden(self, X, upto: int):
        """The 0/1 outputs (int8, points x width) of layer ``upto`` (0-based) on the rows of ``X``."""
        X = self._check_input(X)
        upto = check_int(upto, "upto", minimum=0)
        if upto >= self.depth:
            raise ValueError(f"upto must be < depth={self.depth}, got {upto}")
        xp = array_module(X)
        parts = [h.T for h in self._blocks(X, upto)]
        if not parts:
            return xp.zeros((0, self.layers[upto].width), dtype=xp.int8)
        return xp.ascontiguousarray(xp.concatenate(parts, axis=0))

    def predict(self, X):
        """0/1 output (int64) for each row of ``X``, on the backend of ``X``."""
        X = self._check_input(X)
        xp = array_module(X)
        parts = [h[0] for h in self._blocks(X, self.depth - 1)]
        if not parts:
            return xp.zeros(0, dtype=xp.int64)
        return xp.concatenate(parts).astype(xp.int64)

    def with_labels(self, y):
        """The same network with only the +-1 label weights of the memorization layer changed."""
        if not self.label_slots:
            raise ValueError("this network has no label weights to rewrite (not built by "
                             "build_memorizer)")
        y = _check_labels(y, len(self.label_slots))
        pos = [i for i, layer in enumerate(self.layers) if layer.stage == "memorization"][0]
        layer = self.layers[pos]
        xp = array_module(layer.weight)
        weight = to_numpy(layer.weight).copy()
        slots = np.asarray(self.label_slots, dtype=np.int64).reshape(-1, 2)
        weight[slots[:, 0], slots[:, 1]] = 2 * y - 1
        new = replace(layer, weight=to_device(weight, xp))
        layers = self.layers[:pos] + (new,) + self.layers[pos + 1:]
        return replace(self, layers=layers)

    def to(self, xp):
        """A copy with every array moved to the array module ``xp``."""
        moved = []
        for layer in self.layers:
            names = ("weight", "bias") if isinstance(layer, DenseLayer) else ("index", "weight", "bias")
            moved.append(replace(layer, **{k: to_device(to_numpy(getattr(layer, k)), xp)
                                           for k in names}))
        return replace(self, layers=tuple(moved))


# ---------------------------------------------------------------------------
# Sizes prescribed by the lemmas
# ---------------------------------------------------------------------------


def separation_angle(delta):
    """theta = 2 arcsin(delta / 2): the angle between unit vectors at distance ``delta``
    (a number or an array, every entry in [0, 2])."""
    arr = _real_array(delta, "delta", low=0.0, high=2.0)
    out = 2.0 * np.arcsin(arr / 2.0)
    return float(out) if out.ndim == 0 else out


def hyperplane_budget(n, delta, eta=0.01) -> int:
    """Gaussian hyperplanes k1 that give n delta-separated points distinct codes w.p. >= 1 - eta.

    k1 = ceil( ln(C(n,2)/eta) / -ln(1 - theta/pi) ),  theta = 2 arcsin(delta/2)
    (union bound over pairs); at least 1.  It is <= (pi/delta) ln(C(n,2)/eta) + 1.
    """
    n = check_int(n, "n")
    delta = _check_delta(delta)
    eta = _check_eta(eta)
    pairs = n * (n - 1) / 2
    if pairs < 1:
        return 1
    p_miss = 1.0 - separation_angle(delta) / math.pi
    if p_miss <= 0.0:
        return 1
    return max(1, math.ceil(math.log(pairs / eta) / -math.log(p_miss)))


def union_bound_width(n, delta, eta=0.01):
    """The simplified union bound (pi/delta) ln(C(n,2)/eta) (a real number, for plots);
    ``n`` an int >= 2 or an array of them, ``delta`` in (0, 2], ``eta`` in (0, 1)."""
    n = _int_array(n, "n", minimum=2).astype(float)
    delta = _real_array(delta, "delta", low=0.0, high=2.0, low_open=True)
    eta = _check_eta(eta)
    out = np.pi / delta * np.log(n * (n - 1) / 2 / eta)
    return float(out) if out.ndim == 0 else out


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


def group_size_failure_bound(n) -> float:
    """Upper bound n / (L_max + 1 - n/r)^2 on P[largest group > L_max] for one group-hash draw
    ({prf:ref}`lem-thr-group-size`: Chebyshev per group and a union bound over groups)."""
    n = check_int(n, "n")
    if n == 1:
        return 0.0
    t = max_group_size(n) + 1 - n / 2 ** group_bits(n)
    return min(1.0, n / t**2)


# ---------------------------------------------------------------------------
# Random hyperplanes (Chapter 1)
# ---------------------------------------------------------------------------


def gaussian_hyperplanes(k, d, *, seed, attempt=0, xp=None):
    """k x d standard Gaussian normals: row r is the r-th hyperplane through the origin.

    Prefixes are nested: the first k rows for a seed are the same whatever the total
    number drawn, so "the first k hyperplanes" is well defined.
    """
    k, d = check_int(k, "k"), check_int(d, "d")
    attempt = check_int(attempt, "attempt", minimum=0)
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
    """Are the rows of the 0/1 matrix ``codes`` pairwise distinct?"""
    if isinstance(codes, (str, bytes)) or codes is None:
        raise TypeError(f"codes must be a 0/1 matrix, got {type(codes).__name__}")
    c = np.asarray(to_numpy(codes))
    if c.dtype != bool and not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"codes must be a bool or integer 0/1 matrix, got dtype {c.dtype}")
    if c.ndim != 2:
        raise ValueError(f"codes must be 2-dimensional, got shape {c.shape}")
    if c.size and (c.min() < 0 or c.max() > 1):
        raise ValueError("codes must contain only 0 and 1")
    if c.shape[0] < 2:
        return True
    packed = np.packbits(c.astype(np.uint8, copy=False), axis=1)
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
    hyperplanes: a coupon collector over the n/2 antipodal arc pairs.  ``k``: an int >= 0
    or an array of them."""
    n = check_int(n, "n", minimum=2)
    if n % 2:
        raise ValueError(f"n must be even, got {n}")
    k = _int_array(k, "k", minimum=0).astype(float)
    m = n // 2
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
    out = np.clip(terms.sum(axis=1), 0.0, 1.0).reshape(k.shape)
    return float(out) if out.ndim == 0 else out


def circle_separation_mean(n) -> float:
    """E[k_min] = (n/2) H_{n/2} for n equally spaced points on a circle (n even)."""
    n = check_int(n, "n", minimum=2)
    if n % 2:
        raise ValueError(f"n must be even, got {n}")
    m = n // 2
    return m * float(sum(1.0 / i for i in range(1, m + 1)))


def vershynin_width_log10(delta, eps=0.1) -> float:
    """log10 of 1/p(tau*) for this book's reconstruction of the sparse first layer of
    Vershynin (2020): tau* solves q/p = eps, with p = P[g.x >= tau] and the bound
    q <= P[g.(x+x') >= 2 tau] for ||x - x'|| = delta.  Computed with mpmath at a
    precision that resolves sqrt(4 / (4 - delta^2)) - 1 ~ delta^2 / 8.

    ``delta`` in (0, 2]: at delta = 2 (antipodal points) q = 0 for every tau > 0 and the
    width is its limit 2; ``eps`` in (0, 1).  Raises ValueError when the result does not
    fit in a float (delta below about 1e-150).
    """
    import mpmath as mp

    delta = _check_delta(delta)
    eps = check_real(eps, "eps", positive=True)
    if eps >= 1:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    if delta == 2.0:
        return math.log10(2.0)
    if delta < 1e-140:  # log10 width ~ 4 log10(1/eps) / delta^2 exceeds the float range
        raise ValueError(f"delta={delta} is too small: log10 of the width does not fit a float")
    with mp.workdps(30 + int(max(0.0, -2 * math.log10(delta)))):
        dl = mp.mpf(delta)
        factor = 2 / mp.sqrt(4 - dl**2)  # sqrt(2 / (1 + rho)), rho = 1 - delta^2 / 2

        def log_tail(t):
            return mp.log(mp.erfc(t / mp.sqrt(2)) / 2)

        def gap(tau):
            return log_tail(tau * factor) - log_tail(tau) - mp.log(eps)

        # gap(tau) <= -tau^2 (factor^2 - 1) / 2 + O(log tau) - log eps: this tau makes it < 0
        hi = mp.sqrt(8 * (1 - mp.log(eps)) / (factor**2 - 1)) + 2
        lo = mp.mpf(0)
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
            if hi - lo <= hi * mp.mpf(2) ** -60:
                break
        out = -log_tail(hi) / mp.log(10)
    if not mp.isfinite(out) or out > 1e300:
        raise ValueError(f"delta={delta} is too small: log10 of the width does not fit a float")
    return float(out)


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
    if isinstance(subsets, (str, bytes)) or subsets is None:
        raise TypeError(f"subsets must be a 0/1 matrix, got {type(subsets).__name__}")
    raw = np.asarray(to_numpy(subsets) if is_cupy_array(subsets) else subsets)
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
        layers += [_sparse(idx_a, w_a, b_a, stage), _sparse(idx_b, w_b, b_b, stage)]
        nodes, tree = np.arange(heads.size), tree[heads]
    return layers, nodes


def parity_tree_cost(sizes):
    """Exact (layers, neurons, weights) of :func:`parity_layers` for trees over ``sizes``
    inputs each, run in lockstep for D = ceil(log2 max(sizes)) levels.

    With c_l = ceil(s / 2^l) values left in a tree at level l (l = 0..D-1), the level
    costs c_l + ceil(c_l / 2) neurons and 6 floor(c_l / 2) + 2 (c_l mod 2) weights
    (3 neurons and 6 weights per XOR, 2 and 2 per copied value).
    """
    s = _int_array(sizes, "sizes", minimum=1).ravel()
    if s.size == 0:
        return 0, 0, 0
    D = int(math.ceil(math.log2(int(s.max())))) if s.max() > 1 else 0
    c = -(-s[:, None] // (2 ** np.arange(D))[None, :])  # ceil(s / 2^l), (trees, D)
    neurons = int((c + (c + 1) // 2).sum())
    weights = int((6 * (c // 2) + 2 * (c % 2)).sum())
    return 2 * D, neurons, weights


def _nonzero_f2_matrix(rng, rows, cols):
    """Uniform F2 matrix conditioned on every row being nonzero."""
    A = rng.integers(0, 2, size=(rows, cols)).astype(bool)
    bad = ~A.any(axis=1)
    while bad.any():
        A[bad] = rng.integers(0, 2, size=(int(bad.sum()), cols)).astype(bool)
        bad = ~A.any(axis=1)
    return A


def _f2_product(R, H):
    """(R H) mod 2 for a 0/1 matrix R (rows x in) and 0/1 columns H (in x points), as int8;
    a float32 product is exact since every sum is at most in < 2^24."""
    return (np.rint(R.astype(np.float32) @ H.astype(np.float32)).astype(np.int64) % 2).astype(np.int8)


def _bits(values, nbits):
    """Binary digits (most significant first) of each value, shape (len, nbits)."""
    values = np.asarray(values, dtype=np.int64)
    shifts = np.arange(nbits - 1, -1, -1)
    return (values[:, None] >> shifts[None, :]) & 1


def _bits_value(H):
    """The integers whose binary digits (most significant first) are the rows of H (bits x points)."""
    nbits = H.shape[0]
    return (1 << np.arange(nbits - 1, -1, -1)) @ H.astype(np.int64) if nbits else np.zeros(H.shape[1], np.int64)


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
# The builder: one function per stage (one lemma each)
# ---------------------------------------------------------------------------


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
    if dmin == 0.0:
        raise ValueError("X has duplicate rows (distance 0): no network can memorize every labeling")
    if delta is None:
        delta = min(dmin, 2.0)
    else:
        delta = _check_delta(delta)
        if dmin < delta * (1 - 1e-9):
            raise ValueError(f"delta={delta} exceeds the minimum distance {dmin:.6g} of the rows of X")
    return X, float(delta)


def gaussian_stage(X, delta, *, seed, eta=0.01, first_layer="union_bound", max_attempts=20):
    """Stage 1 ({prf:ref}`lem-thr-all-pairs`): the Gaussian layer and the codes it gives X.

    ``first_layer="union_bound"``: k1 = :func:`hyperplane_budget`, redrawn until the codes
    are distinct; ``"smallest"``: k1 = :func:`hyperplanes_to_separate` for ``seed``, the
    smallest prefix of the first draw that separates X (distinct by construction).
    Returns ``(layer, codes (k1 x n) int8, info)``.
    """
    if first_layer not in FIRST_LAYER:
        raise ValueError(f"first_layer must be one of {', '.join(FIRST_LAYER)}, got {first_layer!r}")
    n, d = X.shape
    xp = array_module(X)
    if first_layer == "smallest":
        k1 = hyperplanes_to_separate(X, seed=seed, k_max=1 << 24)
    else:
        k1 = hyperplane_budget(n, delta, eta)
    for attempt in range(max_attempts):
        W1 = gaussian_hyperplanes(k1, d, seed=seed, attempt=attempt, xp=xp)
        layer = DenseLayer(W1, xp.zeros(k1), "gaussian")
        codes = to_numpy(xp.concatenate([layer.apply(X[rows], xp)
                                         for rows in _point_chunks(n, k1)], axis=1))
        if distinct_rows(codes.T):
            return layer, codes, {"k1": k1, "first_layer": first_layer,
                                  "gaussian_attempts": attempt + 1}
    raise MemorizationError(f"{max_attempts} Gaussian layers of width {k1} all left two points "
                            f"with the same code; is delta={delta} right for X?")


def compression_stage(codes, *, seed, eta=0.01, max_attempts=20):
    """Stage 2 ({prf:ref}`lem-thr-compression`, gadgets of {prf:ref}`lem-thr-xor`):
    z = A c mod 2 with m = :func:`compression_bits` rows, A redrawn until injective on the
    codes.  Returns ``(layers, z_pos, z (m x n) int8, info)``: ``z_pos`` are the positions
    of z in the last layer (in the codes if no layer was needed)."""
    k1, n = codes.shape
    m = compression_bits(n, eta)
    for attempt in range(max_attempts):
        A = _nonzero_f2_matrix(make_rng(seed, "threshold", "compress", attempt), m, k1)
        z = _f2_product(A, codes)
        if distinct_rows(z.T):
            layers, z_pos = parity_layers(A, "compression")
            info = {"m": m, "compression_attempts": attempt + 1,
                    "compression_rows": A.sum(axis=1).tolist()}
            return layers, np.asarray(z_pos), z, info
    raise MemorizationError(f"{max_attempts} compressions to m={m} bits were not injective")


def hashing_stage(z, z_pos, *, seed, eta=0.01, max_attempts=20):
    """Stage 3a ({prf:ref}`lem-thr-group-size`, {prf:ref}`lem-thr-private`): a group hash of
    b0 = :func:`group_bits` bits and B = :func:`block_count` block hashes of b bits, all
    F2-linear in z, redrawn until the largest group has at most :func:`max_group_size`
    points and every point has a private coordinate in its group.

    Returns ``(layers, h_pos, hv_bits, info)``: ``h_pos`` are the positions of the b0 + B b
    hash bits (group bits first) in the last layer, ``hv_bits`` their values (bits x n).
    """
    m, n = z.shape
    b0, B = group_bits(n), block_count(n, eta)
    r, L_max = 2**b0, max_group_size(n)
    for attempt in range(max_attempts):
        rng = make_rng(seed, "threshold", "hash", attempt)
        Gm = _nonzero_f2_matrix(rng, b0, m)
        group = _bits_value(_f2_product(Gm, z))
        L = int(np.bincount(group, minlength=r).max())
        if L > L_max:
            continue
        b = max(1, math.ceil(math.log2(2 * L)))
        T = 2**b
        Hm = _nonzero_f2_matrix(rng, B * b, m)
        hb = _f2_product(Hm, z)
        hv = np.stack([_bits_value(hb[j * b:(j + 1) * b]) for j in range(B)], axis=1)  # (n, B)
        key = group[:, None] * (B * T) + np.arange(B)[None, :] * T + hv
        _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        private = counts[inv.reshape(n, B)] == 1
        if private.any(axis=1).all():
            break
    else:
        raise MemorizationError(f"{max_attempts} hash draws left a point without a private coordinate "
                                f"or a group larger than {L_max}")
    rows = np.concatenate([Gm, Hm], axis=0)
    layers, h_pos = parity_layers(rows, "hashing")
    if layers:  # the hashes read z: re-index the first hashing layer's inputs to z's positions
        layers[0] = replace(layers[0], index=z_pos[layers[0].index])
    else:
        h_pos = z_pos[h_pos]
    info = {"b0": b0, "r": r, "B": B, "b": b, "T": T, "max_group": L,
            "hash_attempts": attempt + 1, "hash_rows": rows.sum(axis=1).tolist()}
    return layers, np.asarray(h_pos), (group, hv, private), info


def lifting_stage(h_pos, *, b0, B, b):
    """Stage 3b ({prf:ref}`lem-thr-private`, {eq}`eq-thr-onehot`): one layer of one-hot units
    phi_{beta,v} = 1[h_beta = v] (B T of them) and group units mu_g = 1[gamma = g] (r)."""
    T, r = 2**b, 2**b0
    idx_phi, w_phi, b_phi = _equality_layer(h_pos[b0:], B, b, T)
    idx_mu, w_mu, b_mu = _equality_layer(h_pos[:b0], 1, b0, r)
    K = max(b, b0)
    idx = np.zeros((B * T + r, K), np.int64)
    w = np.zeros((B * T + r, K), np.int64)
    idx[: B * T, :b], w[: B * T, :b] = idx_phi, w_phi
    idx[B * T:, :b0], w[B * T:, :b0] = idx_mu, w_mu
    return _sparse(idx, w, np.r_[b_phi, b_mu], "lifting")


def memorization_stage(group, hv, private, y, *, b0, B, b, L, unmatched=0):
    """Stage 4 ({prf:ref}`lem-thr-memorization`, {eq}`eq-thr-memorize`): one neuron per group
    with weight 2 y_i - 1 on a private coordinate of each member and M = B + 1 on mu_g, bias
    -M - 1 (``unmatched=0``) or -M (``unmatched=1``), then the OR of the groups.

    ``unmatched`` is the output on a point whose group has no active private coordinate
    ({prf:ref}`lem-thr-unseen`).  Returns ``(layers, label_slots, M)``.
    """
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
    mem = _sparse(idx, w, bias, "memorization")
    out = _sparse(np.arange(r)[None, :], np.ones((1, r)), [-1], "output")
    return [mem, out], tuple(map(tuple, np.c_[group, slot])), M


def build_memorizer(X, y, *, seed=0, delta=None, eta=0.01, max_attempts=20,
                    first_layer="union_bound", unmatched=0):
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

    The stages run in order, each computing its output on X through its own layers (the
    forward pass the network will do), so the final check f(X) = y costs no second pass.
    Every point owns a private lifted coordinate, so any other labeling is memorized by
    :meth:`ThresholdNetwork.with_labels`.
    """
    seed = check_seed(seed)
    X, delta = check_setting(X, delta)
    n, d = X.shape
    y = _check_labels(y, n)
    eta = _check_eta(eta)
    max_attempts = check_int(max_attempts, "max_attempts")
    if isinstance(unmatched, bool) or unmatched not in (0, 1):
        raise ValueError(f"unmatched must be 0 or 1, got {unmatched!r}")
    xp = array_module(X)
    info = {"n": n, "d": d, "delta": delta, "eta": eta, "unmatched": int(unmatched)}
    clock = [time.perf_counter()]
    seconds = info["seconds"] = {}

    def lap(name):  # wall time of each stage, in info["seconds"]
        clock.append(time.perf_counter())
        seconds[name] = clock[-1] - clock[-2]

    gauss, codes, more = gaussian_stage(X, delta, seed=seed, eta=eta, first_layer=first_layer,
                                        max_attempts=max_attempts)
    info.update(more)
    lap("gaussian")
    comp, z_pos, z, more = compression_stage(codes, seed=seed, eta=eta, max_attempts=max_attempts)
    info.update(more)
    # the network's own compression layers, run once on the codes, must give z
    last = _run(comp, codes, np)
    if not np.array_equal(last[z_pos], z):
        raise MemorizationError("the compression layers do not compute A c mod 2 (this is a bug)")
    lap("compression")
    hashing, h_pos, (group, hv, private), more = hashing_stage(z, z_pos, seed=seed, eta=eta,
                                                                max_attempts=max_attempts)
    info.update(more)
    hashed = _run(hashing, last, np)
    lap("hashing")
    lift = lifting_stage(h_pos, b0=info["b0"], B=info["B"], b=info["b"])
    tail, slots, M = memorization_stage(group, hv, private, y, b0=info["b0"], B=info["B"],
                                        b=info["b"], L=info["max_group"], unmatched=unmatched)
    info.update(M=M)
    lap("lifting+memorization")
    out = _run([lift] + tail, hashed, np)[0]
    if not np.array_equal(out, y):
        raise MemorizationError("the constructed network does not reproduce y (this is a bug)")
    lap("verification")
    layers = tuple([DenseLayer(to_numpy(gauss.weight), to_numpy(gauss.bias), "gaussian")]
                   + comp + hashing + [lift] + tail)
    return ThresholdNetwork(layers, d, slots, info).to(xp)


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
    comp = _nonzero_f2_matrix(make_rng(seed, "threshold", "compress", 0), m, k1).sum(axis=1)
    rng = make_rng(seed, "threshold", "hash", 0)
    rows = np.r_[_nonzero_f2_matrix(rng, b0, m).sum(axis=1),
                 _nonzero_f2_matrix(rng, B * b, m).sum(axis=1)]
    return {"n": n, "d": d, "k1": k1, "m": m, "b0": b0, "B": B, "b": b, "max_group": L,
            "compression_rows": comp.tolist(), "hash_rows": rows.tolist()}


__all__ = [
    "DenseLayer",
    "FIRST_LAYER",
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
    "compression_stage",
    "distinct_rows",
    "formula_info",
    "gaussian_hyperplanes",
    "gaussian_stage",
    "group_bits",
    "group_size_failure_bound",
    "hashing_stage",
    "hyperplane_budget",
    "hyperplane_codes",
    "hyperplanes_to_separate",
    "lifting_stage",
    "max_group_size",
    "memorization_stage",
    "min_distance",
    "parity_layers",
    "parity_tree_cost",
    "separation_angle",
    "stage_formula",
    "union_bound_width",
    "vershynin_width_log10",
]
