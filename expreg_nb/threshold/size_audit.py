"""Part III: a size audit of a built memorizer that reads neither the builder's record nor its code.

:func:`audit` recomputes what each lemma of ``book/part3/construction.md`` prescribes for
the data, and compares it with a recount of the network's layers:

* the parameters k1, m, b0, B come from the lemmas at (n, delta, eta) alone
  (:func:`prescription`), with delta the data's own separation (measured from X when not
  given; a given delta is checked against X when X is small enough to measure); b from the
  largest group, measured from the hash of the data;
* with the builder's ``seed``, the group hash must be the **first acceptable draw** of that
  seed's stream ({prf:ref}`lem-thr-group-size`: redraw only while a group is too large or a
  point has no private coordinate), so a builder that picks the worst of its draws fails;
* the F2 matrices of stages 2 and 3 are read off the network's *function*: its
  compression (hashing) layers are run on the unit vectors e_j, which gives the columns of
  the matrix, and on random inputs, which must give the same matrix times the input mod 2;
  the row sizes so measured fix the exact cost of the XOR trees (:func:`parity_tree_cost`);
* the row sizes must look like uniform F2 rows (about half of the columns each);
* the stage sizes the lemmas prescribe (:func:`stage_formula` on these parameters) must
  equal the recount of the layers (:meth:`ThresholdNetwork.stage_sizes`), stage by stage.

Nothing of ``net.info`` is used, so a builder that takes more hashes, more bits, wider
layers or extra units anywhere fails (``tests/test_threshold_audit.py`` builds such
builders).  The result is an :class:`Audit`; ``audit.ok`` is what a chapter asserts.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from unittest import mock

import numpy as np

from ..backend import to_numpy
from ..seeding import check_seed, make_rng
from ..validation import as_float_array, check_choice, check_int, check_open_unit, check_sphere_distance
from .gadgets import _bits_value, _f2_product, nonzero_f2_matrix
from .hyperplanes import distinct_rows, hyperplane_budget, hyperplanes_to_separate, min_distance
from . import construction
from .network import STAGES, ThresholdNetwork, run_layers
from .sizes import _stage_formula, block_bits, block_count, compression_bits, group_bits, max_group_size

#: Random inputs on which each probed F2 map is checked for linearity.
LINEARITY_PROBES = 64

#: A row-size total further than this many standard deviations from half the entries fails.
ROW_SIZE_SIGMAS = 6.0

#: Draws of the seed's group-hash stream searched for the network's group hash (the builder's
#: default ``max_attempts``).
HASH_DRAWS = 20

#: Up to this many points the audit measures the data's separation (O(n^2) distances, chunked).
MEASURE_MAX = 2**15


def _acceptable(G, Hrows, z, L_max, B):
    """Would the lemma accept the group hash G (b0 x m) with block rows from ``Hrows(b)``: largest
    group <= L_max and a private coordinate for every point?  Returns (ok, L)."""
    b0 = G.shape[0]
    group = _bits_value(construction._f2(G, z)) if b0 else np.zeros(z.shape[1], np.int64)
    L = int(np.bincount(group, minlength=2**b0).max())
    if L > L_max:
        return False, L
    b = block_bits(L)
    Hm = Hrows(B * b)
    private = np.zeros(z.shape[1], bool)
    for j in range(B):
        hv = _bits_value(construction._f2(Hm[j * b:(j + 1) * b], z))
        _, inv, counts = np.unique(group * 2**b + hv, return_inverse=True, return_counts=True)
        private |= counts[inv] == 1
    return bool(private.all()), L


def _hash_draw_problems(H, z, seed, b0, B, L_max):
    """Problems with the network's group hash H[:b0] against the seed's stream of draws."""
    m = z.shape[0]
    G_net = H[:b0].astype(bool)
    for attempt in range(HASH_DRAWS):
        rng = make_rng(seed, "threshold", "hash", attempt)
        G = nonzero_f2_matrix(rng, b0, m)
        if np.array_equal(G, G_net):
            return []
        ok, L = _acceptable(G, lambda rows, rng=rng: nonzero_f2_matrix(rng, rows, m), z, L_max, B)
        if ok:
            return [f"the group hash is not the seed's first acceptable draw: draw {attempt} (largest group {L}) "
                    f"was acceptable, and the lemma takes the first one"]
    return [f"the group hash is none of the first {HASH_DRAWS} draws of seed {seed}"]


@dataclass(frozen=True)
class Audit:
    """The outcome of :func:`audit`: ``ok``, the per-stage comparison ``frame`` (stage,
    prescribed and built layers/neurons/weights), the ``parameters`` (prescribed and measured)
    and the list of ``problems`` (empty when ``ok``)."""

    ok: bool
    frame: object
    parameters: dict
    problems: list = field(default_factory=list)

    def __str__(self):
        head = "audit passes" if self.ok else "audit FAILS: " + "; ".join(self.problems)
        return f"{head}\n{self.frame.to_string(index=False)}"


def prescription(n, delta, *, eta=0.01):
    """The parameters the lemmas prescribe at (n, delta, eta): k1
    ({prf:ref}`lem-thr-all-pairs`), m ({prf:ref}`lem-thr-compression`), b0 and the largest
    accepted group ({prf:ref}`lem-thr-group-size`), B ({prf:ref}`lem-thr-private`)."""
    n = check_int(n, "n")
    delta = check_sphere_distance(delta)
    eta = check_open_unit(eta, "eta")
    return {"k1": hyperplane_budget(n, delta, eta), "m": compression_bits(n, eta), "b0": group_bits(n),
            "B": block_count(n, eta), "max_group": max_group_size(n)}


def _stage_layers(net):
    """Consecutive runs of layers by stage, in pipeline order (a stage may have no layers)."""
    out = {s: [] for s in STAGES}
    order = []
    for layer in net.layers:
        if layer.stage not in out:
            raise ValueError(f"layer stage {layer.stage!r} is not one of {STAGES}")
        if order and order[-1] != layer.stage and layer.stage in order:
            raise ValueError(f"the layers of stage {layer.stage!r} are not consecutive")
        if not order or order[-1] != layer.stage:
            order.append(layer.stage)
        out[layer.stage].append(layer)
    if [s for s in STAGES if s in order] != order:
        raise ValueError(f"stages out of order: {order}")
    return out


def _probe(layers, width_in, rng):
    """The 0/1 matrix R (out x width_in) of the F2-linear map the ``layers`` compute, read from
    their outputs on 0 and on the unit vectors; ``linear`` says whether it also holds on random
    inputs."""
    E = np.c_[np.zeros((width_in, 1), np.int8), np.eye(width_in, dtype=np.int8)]
    out = to_numpy(run_layers(layers, E, np)).astype(np.int8)
    zero, R = out[:, 0], out[:, 1:]
    H = rng.integers(0, 2, size=(width_in, LINEARITY_PROBES)).astype(np.int8)
    linear = bool(not zero.any() and np.array_equal(to_numpy(run_layers(layers, H, np)), _f2_product(R, H)))
    return R.astype(bool), linear


def _uniform_rows(R):
    """Do the entries of R look like independent fair bits (total within ROW_SIZE_SIGMAS sd)?"""
    total, cells = int(R.sum()), R.size
    return abs(total - cells / 2) <= ROW_SIZE_SIGMAS * math.sqrt(cells / 4) + 1


def _rows(R, count, cols):
    """Row sizes of the first ``count`` rows of R, padded with the expected ceil(cols / 2)."""
    sizes = R.sum(axis=1)[:count].astype(np.int64)
    return np.r_[np.maximum(sizes, 1), np.full(count - sizes.size, max(1, -(-cols // 2)), np.int64)]


def audit(net, X, *, delta=None, eta=0.01, first_layer="union_bound", seed=None, parity="tree"):
    """Audit the sizes of the memorizer ``net`` built on the rows of ``X`` (see the module text).

    ``delta`` is the separation **of the data** (a certified value, e.g. of lattice points; never
    the builder's record ``net.info["delta"]``, which an inflated builder can shrink); by default
    it is measured from ``X`` (up to :data:`MEASURE_MAX` points), and a given one is checked
    against X's minimum distance up to that size.  ``eta`` is the failure probability the
    network was built for.  ``seed`` (the builder's) also checks that the group hash is the
    first acceptable draw of the seed's stream.  ``first_layer="smallest"
    (with the builder's ``seed``) prescribes k1 = the smallest separating prefix of that
    seed's Gaussian draw instead of the union bound; ``parity="flat"`` prescribes the flat
    parities of :func:`flat_parity_layers` instead of XOR trees.  Returns an :class:`Audit`.
    """
    import pandas as pd

    if not isinstance(net, ThresholdNetwork):
        raise TypeError(f"net must be a ThresholdNetwork, got {type(net).__name__}")
    X = to_numpy(as_float_array(X, "X", ndim=2))
    if X.shape[1] != net.d:
        raise ValueError(f"X must have net.d = {net.d} columns (the network's inputs), got {X.shape[1]}")
    first_layer = check_choice(first_layer, "first_layer", construction.FIRST_LAYER)
    parity = check_choice(parity, "parity", construction.PARITY)
    seed = None if seed is None else check_seed(seed)
    net = net.to(np)  # the audit runs on the host, whatever the backend of the network
    n, d = X.shape
    problems = []
    if delta is None or n <= MEASURE_MAX:
        if n > MEASURE_MAX:
            raise ValueError(f"delta must be given (the data's certified separation) for n > {MEASURE_MAX} "
                             f"points, got n={n}")
        dmin = min_distance(X) if n > 1 else 2.0
        if delta is None:
            if dmin == 0.0:
                raise ValueError("X has duplicate rows (distance 0): no separation delta to audit against")
            delta = min(dmin, 2.0)
        elif dmin < check_sphere_distance(delta) * (1 - 1e-9):
            problems.append(f"delta={delta} exceeds the minimum distance {dmin:.6g} of the rows of X")
    want = prescription(n, delta, eta=eta)
    if first_layer == "smallest":
        if seed is None:
            raise ValueError("first_layer='smallest' needs the builder's seed")
        want["k1"] = hyperplanes_to_separate(X, seed=seed)
    stages = _stage_layers(net)
    rng = np.random.default_rng(0)
    first = stages["gaussian"]
    k1 = first[0].width if len(first) == 1 else -1
    if k1 != want["k1"]:
        problems.append(f"Gaussian layer of width {k1}, the lemma prescribes k1={want['k1']}")
    # stage 2, read from the function of its layers
    codes = np.ascontiguousarray(to_numpy(net.hidden(X, 0)).T) if len(first) == 1 else np.zeros((0, n), np.int8)
    if stages["compression"]:
        A, linear = _probe(stages["compression"], max(k1, 1), rng)
    else:  # trees over single inputs need no layer: the map is a selection we cannot read
        A, linear = np.zeros((0, max(k1, 1)), bool), False
    if not linear:
        problems.append("the compression layers do not compute an F2-linear map of the codes")
    if A.shape[0] != want["m"]:
        problems.append(f"compression to {A.shape[0]} bits, the lemma prescribes m={want['m']}")
    if A.size and not _uniform_rows(A):
        problems.append(f"compression rows hold {int(A.sum())} ones of {A.size}: not uniform F2 rows")
    # stage 3: the hash matrix, the groups of the data, and b from the largest group
    H, linear = _probe(stages["hashing"], max(A.shape[0], 1), rng) if stages["hashing"] else \
        (np.zeros((0, max(A.shape[0], 1)), bool), False)
    if not linear:
        problems.append("the hashing layers do not compute an F2-linear map of z")
    b0, B = want["b0"], want["B"]
    z = construction._f2(A, codes) if A.size and codes.shape[0] == A.shape[1] else \
        np.zeros((A.shape[0], n), np.int8)
    del codes
    if H.shape[0] >= b0 and H.shape[1] == z.shape[0]:
        group = _bits_value(construction._f2(H[:b0], z))
        L = int(np.bincount(group, minlength=2**b0).max())
    else:
        L = want["max_group"]
    b = block_bits(L)
    if seed is not None and H.shape[0] >= b0 and H.shape[1] == z.shape[0] and z.shape[0]:
        problems += _hash_draw_problems(H, z, seed, b0, B, want["max_group"])
    if L > want["max_group"]:
        problems.append(f"largest group {L} > {want['max_group']}, the most the group-size lemma accepts")
    if H.shape[0] != b0 + B * b:
        problems.append(f"{H.shape[0]} hash bits, the lemmas prescribe b0 + B b = {b0} + {B}*{b} = "
                        f"{b0 + B * b}")
    if H.size and not _uniform_rows(H):
        problems.append(f"hash rows hold {int(H.sum())} ones of {H.size}: not uniform F2 rows")
    if A.size and not distinct_rows(z.T):
        problems.append("the compression merges two points")
    # the trees the lemmas prescribe: m (b0 + B b) rows, of the sizes measured where they exist (unchecked
    # formula: a measured row may read more inputs than the prescribed k1, a finding reported above)
    prescribed = _stage_formula({"n": n, "d": d, "k1": want["k1"], "b0": b0, "B": B, "b": b, "parity": parity,
                                "compression_rows": _rows(A, want["m"], want["k1"]),
                                "hash_rows": _rows(H, b0 + B * b, want["m"])})
    built = net.stage_sizes()
    rows = []
    for s in STAGES:
        p, q = prescribed[s], built.get(s, {"layers": 0, "neurons": 0, "weights": 0})
        rows.append((s, p["layers"], q["layers"], p["neurons"], q["neurons"], p["weights"], q["weights"],
                     p == q))
        if p != q:
            problems.append(f"{s}: built {q['neurons']} neurons / {q['weights']} weights / {q['layers']} layers, "
                            f"the lemmas prescribe {p['neurons']} / {p['weights']} / {p['layers']}")
    rows.append(("total", sum(r[1] for r in rows), net.depth, sum(r[3] for r in rows), net.n_neurons,
                 sum(r[5] for r in rows), net.n_weights, False))
    frame = pd.DataFrame(rows, columns=["stage", "layers (lemmas)", "layers (built)", "neurons (lemmas)",
                                        "neurons (built)", "weights (lemmas)", "weights (built)", "equal"])
    frame.loc[frame.index[-1], "equal"] = bool(frame["equal"].iloc[:-1].all()
                                               and frame.iloc[-1, 3] == frame.iloc[-1, 4])
    params = {**want, "delta": float(delta), "b": b, "largest_group": L, "hash_draw_checked": seed is not None, "k1_built": k1, "m_built": int(A.shape[0]),
              "hash_bits_built": int(H.shape[0])}
    return Audit(not problems, frame, params, problems)


#: The stages :func:`inflated` can inflate, and how.
INFLATIONS = {
    "gaussian": "twice the Gaussian hyperplanes the union bound asks for",
    "compression": "twice the compressed bits m",
    "hashing": "four times the block hashes B",
    "lifting": "one more bit per block hash (T doubled)",
    "memorization": "n extra (silent) units in the memorization layer: one per point",
    "output": "n extra (silent) units in the output layer: one per point",
    "worst_group": "the group hash redrawn within the 20 tries, keeping the largest group it accepts",
    "delta": "delta/2 recorded and k1 sized to it (an audit given net.info['delta'] would agree)",
    "dense_rows": "F2 rows of density 3/4 instead of 1/2 (larger XOR trees)",
}


def _dense_f2_matrix(rng, rows, cols):
    """Nonzero F2 rows with entries 1 with probability 3/4 (a correct but larger choice)."""
    A = rng.random((rows, cols)) < 0.75
    A[~A.any(axis=1), 0] = True
    return A


def _pad(layer, extra):
    """``layer`` with ``extra`` more units that never fire (zero weights, bias -1)."""
    idx, w, b = to_numpy(layer.index), to_numpy(layer.weight), to_numpy(layer.bias)
    return replace(layer, index=np.r_[idx, np.zeros((extra, idx.shape[1]), idx.dtype)],
                   weight=np.r_[w, np.zeros((extra, w.shape[1]), w.dtype)],
                   bias=np.r_[b, np.full(extra, -1, b.dtype)])


@contextlib.contextmanager
def inflated(stage):
    """Within the block, :func:`build_memorizer` builds a correct memorizer that is larger than the
    lemmas prescribe in ``stage`` (see :data:`INFLATIONS`): a wrong builder that a size audit
    must catch.  Nothing outside the ``construction`` module is changed."""
    stage = check_choice(stage, "stage", tuple(INFLATIONS))
    C = construction
    if stage == "gaussian":
        orig = C.hyperplane_budget
        patch = mock.patch.object(C, "hyperplane_budget", lambda n, delta, eta=0.01: 2 * orig(n, delta, eta))
    elif stage == "compression":
        orig = C.compression_bits
        patch = mock.patch.object(C, "compression_bits", lambda n, eta=0.01: 2 * orig(n, eta))
    elif stage == "hashing":
        orig = C.block_count
        patch = mock.patch.object(C, "block_count", lambda n, eta=0.01: 4 * orig(n, eta))
    elif stage == "lifting":
        orig = C.block_bits
        patch = mock.patch.object(C, "block_bits", lambda L: orig(L) + 1)
    elif stage == "worst_group":
        orig, orig_rng = C._hashing_stage, C.make_rng

        def worst(z, z_pos, *, seed, eta, max_attempts, parity):
            n, m = z.shape[1], z.shape[0]
            b0, L_max = group_bits(n), max_group_size(n)
            sizes = []
            for a in range(max_attempts):
                G = nonzero_f2_matrix(orig_rng(seed, "threshold", "hash", a), b0, m)
                sizes.append(int(np.bincount(_bits_value(C._f2(G, z)), minlength=2**b0).max()))
            order = sorted(range(max_attempts), key=lambda a: (sizes[a] > L_max, -sizes[a]))

            def rng(s, *keys):  # the builder's attempt a reads the a-th largest accepted draw
                if keys[:2] == ("threshold", "hash"):
                    keys = keys[:2] + (order[keys[2]],)
                return orig_rng(s, *keys)

            with mock.patch.object(C, "make_rng", rng):
                return orig(z, z_pos, seed=seed, eta=eta, max_attempts=max_attempts, parity=parity)

        patch = mock.patch.object(C, "_hashing_stage", worst)
    elif stage == "delta":
        orig = C.check_setting

        def halved(X, delta=None, *, verify_delta=True):
            X, delta = orig(X, delta, verify_delta=verify_delta)
            return X, delta / 2

        patch = mock.patch.object(C, "check_setting", halved)
    elif stage == "dense_rows":
        patch = mock.patch.object(C, "nonzero_f2_matrix", _dense_f2_matrix)
    else:  # the builder calls the unchecked stage function
        orig = C._memorization_stage

        def wrapped(group, *args, **kwargs):
            (mem, out), slots, M = orig(group, *args, **kwargs)
            n = group.shape[0]
            return ([_pad(mem, n), out] if stage == "memorization" else [mem, _pad(out, n)]), slots, M

        patch = mock.patch.object(C, "_memorization_stage", wrapped)
    with patch:
        yield


__all__ = ["Audit", "HASH_DRAWS", "INFLATIONS", "LINEARITY_PROBES", "MEASURE_MAX", "ROW_SIZE_SIGMAS", "audit",
           "inflated", "prescription"]
