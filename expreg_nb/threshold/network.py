"""Part III: threshold networks and their exact forward pass.

A :class:`ThresholdNetwork` is a stack of layers h -> 1[W h + b >= 0]: a dense real
first layer (:class:`DenseLayer`) and integer layers after it (:class:`SparseLayer`,
ELLPACK form: neuron ``j`` reads the previous layer at ``index[j, :]`` with integer
weights ``weight[j, :]``; padding slots have weight 0 and are not counted as weights).
The integer layers are evaluated in exact integer arithmetic, one sparse matrix product
per layer (scipy.sparse on the CPU, cupyx.scipy.sparse on a GPU), in blocks of points
(:data:`FORWARD_CHUNK_BYTES`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..backend import array_module, check_xp, sparse_module, to_device, to_numpy
from ..validation import as_binary_matrix, as_float_array, check_binary_labels, check_int

STAGES = ("gaussian", "compression", "hashing", "lifting", "memorization", "output")

#: Bytes of one (width x points) block of pre-activations in a forward pass.
FORWARD_CHUNK_BYTES = 32 * 2**20

# ---------------------------------------------------------------------------
# Layers and the network
# ---------------------------------------------------------------------------


def point_chunks(n_points, width):
    """Slices of points such that a (width x points) int32 block stays within :data:`FORWARD_CHUNK_BYTES`."""
    n_points = check_int(n_points, "n_points", minimum=0)
    width = check_int(width, "width", minimum=0)
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
    ``onehot`` optionally declares the layer a set of equality units: a tuple of blocks
    ``(first_unit, positions)``, the 2^len(positions) units from ``first_unit`` on being
    1[h[positions] = v] for v = 0, 1, ... (weights 2 v_j - 1, bias -|v|).  On the CPU such a
    layer is then evaluated by reading the value of h[positions] (exactly one unit per block
    fires) and its output kept sparse; the declaration is checked against the weights once,
    so it cannot change what the layer computes.
    """

    index: object  # (out, K) int64 into the previous layer
    weight: object  # (out, K) int64
    bias: object  # (out,) int64
    stage: str
    onehot: tuple = ()

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

    def _onehot_blocks(self):
        """The declared equality blocks as (first_unit, positions array), checked once against
        the weights and biases (ValueError if the declaration does not describe the layer)."""
        cache = self.__dict__.setdefault("_cache", {})
        if "onehot" not in cache:
            idx, w, b = to_numpy(self.index), to_numpy(self.weight), to_numpy(self.bias)
            blocks, covered = [], 0
            for first, positions in self.onehot:
                pos = np.asarray(positions, np.int64)
                k = pos.size
                v = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)[None, :]) & 1
                rows = slice(int(first), int(first) + 2**k)
                if (first != covered or not np.array_equal(idx[rows, :k], np.tile(pos, (2**k, 1)))
                        or not np.array_equal(w[rows, :k], 2 * v - 1) or np.any(w[rows, k:])
                        or not np.array_equal(b[rows], -v.sum(axis=1))):
                    raise ValueError(f"the onehot declaration of layer {self.stage!r} does not match "
                                     f"its weights at units {first}..{first + 2**k - 1}")
                blocks.append((int(first), pos))
                covered += 2**k
            if covered != self.width:
                raise ValueError(f"the onehot blocks of layer {self.stage!r} cover {covered} of "
                                 f"{self.width} units")
            cache["onehot"] = blocks
        return cache["onehot"]

    def _apply_onehot(self, H):
        """Sparse (out, points) output of a declared equality layer on dense 0/1 ``H``."""
        sps = sparse_module(np)
        H = H.toarray() if sps.issparse(H) else H
        blocks = self._onehot_blocks()
        pts = H.shape[1]
        rows = np.empty((pts, len(blocks)), np.int64)
        for j, (first, pos) in enumerate(blocks):
            weights = (1 << np.arange(pos.size - 1, -1, -1)).astype(np.int64)
            rows[:, j] = first + weights @ H[pos].astype(np.int64)
        indptr = np.arange(0, pts * len(blocks) + 1, len(blocks))
        return sps.csc_matrix((np.ones(rows.size, np.int8), rows.ravel(), indptr),
                              shape=(self.width, pts))

    def product(self, H, xp):
        """The integer products (out, points) of the weights with the previous layer's outputs ``H``
        (in, points): what :meth:`apply` compares with the bias (the floor of a forward pass)."""
        return self._product(H, xp)[0]

    def apply(self, H, xp):
        """0/1 outputs (out, points) int8 from the previous layer's outputs ``H`` (in, points).

        On the CPU the output of a declared equality layer, and of any layer that reads a
        sparse input and has only negative biases, is a ``scipy.sparse`` matrix.
        """
        if xp is np and self.onehot:
            return self._apply_onehot(H)
        if xp is np and sparse_module(np).issparse(H):
            sps = sparse_module(np)
            S, neg_bias = self._matrix(np, H.shape[0])
            P = (S @ H).tocoo()
            nb = neg_bias[:, 0]
            if np.any(nb <= 0):  # a unit that fires on a zero pre-activation: dense output
                return (P.toarray() >= neg_bias).view(np.int8)
            keep = P.data >= nb[P.row]
            return sps.csc_matrix((np.ones(int(keep.sum()), np.int8), (P.row[keep], P.col[keep])),
                                  shape=(self.width, H.shape[1]))
        P, neg_bias = self._product(H, xp)
        return (P >= neg_bias).view(xp.int8)

    def preactivation(self, h, xp):
        """Integer pre-activations (points, out) of the rows of ``h`` (points, in)."""
        P, neg_bias = self._product(xp.ascontiguousarray(h.T), xp)
        return (P.astype(xp.int64) - neg_bias.astype(xp.int64)).T


def _dense_width(layer, xp):
    """Width of the dense block a layer's output takes in a forward pass (0 for an equality
    layer evaluated sparsely on the CPU)."""
    return 0 if xp is np and getattr(layer, "onehot", ()) else layer.width


def run_layers(layers, H, xp):
    """Outputs (width, points) of the last of ``layers`` on ``H`` (in, points), in blocks of
    points so that a dense block of the widest layer stays within :data:`FORWARD_CHUNK_BYTES`."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a sequence of SparseLayer, got {type(layers).__name__}")
    layers = list(layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, SparseLayer):
            raise TypeError(f"layers[{i}] must be a SparseLayer (integer layers after the first), "
                            f"got {type(layer).__name__}")
    xp = check_xp(xp)
    if xp is None:
        raise TypeError("xp must be an array module (numpy or cupy), got None")
    if array_module(H) is not np or xp is not np:
        if array_module(H) is not xp:
            raise TypeError("H must live on the backend xp (use expreg_nb.to_device)")
        if H.ndim != 2 or H.dtype.kind not in "biu" or bool(((H != 0) & (H != 1)).any()):
            raise TypeError(f"H must be a 2-dimensional 0/1 integer array (inputs x points), got {H.dtype}")
    else:
        H = as_binary_matrix(H, "H", nonempty=False)
    if layers and layers[0].index.size and int(to_numpy(layers[0].index).max()) >= H.shape[0]:
        raise ValueError(f"the first layer reads input {int(to_numpy(layers[0].index).max())} but H has "
                         f"{H.shape[0]} rows (inputs)")
    return _run_layers(layers, H, xp)


def _run_layers(layers, H, xp):
    if not layers:
        return H
    if H.shape[1] == 0:  # no points: an empty output of the last layer's width
        return xp.zeros((layers[-1].width, 0), dtype=xp.int8)
    widest = max(_dense_width(layer, xp) for layer in layers)
    parts = []
    for cols in point_chunks(H.shape[1], widest):
        h = H[:, cols]
        for layer in layers:
            h = layer.apply(h, xp)
        if xp is np and sparse_module(np).issparse(h):
            h = h.toarray().astype(np.int8)
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
        X = as_float_array(X, "X", ndim=2, empty_rows=True)
        if X.shape[1] != self.d:
            raise ValueError(f"X must have {self.d} columns, got {X.shape[1]}")
        return X

    def _blocks(self, X, upto):
        """Yield the outputs (width, points) of layer ``upto`` for blocks of rows of ``X``."""
        xp = array_module(X)
        widest = max(_dense_width(layer, xp) for layer in self.layers[: upto + 1])
        for rows in point_chunks(X.shape[0], widest):
            h = self.layers[0].apply(X[rows], xp)
            yield _run_layers(self.layers[1: upto + 1], h, xp)

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
        y = check_binary_labels(y, len(self.label_slots))
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
        if xp is None:
            raise TypeError("xp must be an array module (numpy or cupy), got None")
        xp = check_xp(xp)
        moved = []
        for layer in self.layers:
            names = ("weight", "bias") if isinstance(layer, DenseLayer) else ("index", "weight", "bias")
            moved.append(replace(layer, **{k: to_device(to_numpy(getattr(layer, k)), xp)
                                           for k in names}))
        return replace(self, layers=tuple(moved))




__all__ = ["DenseLayer", "FORWARD_CHUNK_BYTES", "STAGES", "SparseLayer", "ThresholdNetwork", "point_chunks",
           "run_layers"]
