"""Part III baselines: Baum's one-hidden-layer memorizer, a one-hidden-layer staircase in the
style of Huang and Babri, and the counting lower bounds.

* :func:`build_baum` is this book's implementation of the construction of Baum (1988)
  for points in general position in R^d: the minority class is cut into groups of d
  points; the d points of a group span an affine hyperplane {x : w.x + c = 0} that meets
  no other data point, and two parallel threshold units differ exactly on a slab around
  it.  The output adds the differences of the pairs: 2 ceil(n_min / d) + 1 neurons, at
  most 2 ceil(floor(n/2) / d) + 1 (:func:`baum_neurons`).  On data that are *not* in
  general position (points of a great circle in R^3, orthogonal circles) a group's
  hyperplane may contain other data points; then (this book's extension, not Baum's) the
  group is split in two and each half gets a random hyperplane through it, recursively,
  which costs more neurons.  ``net.info["splits"]`` counts the splits.
* :func:`build_huang` is a one-hidden-layer threshold network in the style of Huang and
  Babri (1998), whose theorem gives n hidden units for n distinct samples: project on a
  random direction u (distinct projections almost surely), sort, and put one unit
  1[u.x >= t] at each label change between consecutive projections; the output adds them
  with alternating signs.  It works on *any* distinct points, with at most n - 1 hidden
  units (about n/2 for random labels).
* :func:`counting_lower_bound`: an architecture whose parameter settings memorize every
  labeling of n points shatters them (one setting per labeling; one network computes one
  function), and a threshold architecture with P parameters (weights and biases) and N
  units has VC dimension at most 2 P log2(e N) (Baum and Haussler 1989), so
  n <= 2 P log2(e N).  With N <= P (every unit has a bias) the least P follows by
  bisection; a feed-forward architecture of N units on d inputs has at most
  P_max(N) = N (d + 1) + N (N - 1) / 2 parameters, so the least N is the least with
  n <= 2 P_max(N) log2(e N), also by bisection.  Stated per labeling: for every
  architecture below these sizes *some* labeling of the n points is not memorized.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, to_numpy
from ..seeding import check_seed, make_rng
from ..validation import as_float_array, check_binary_labels, check_int
from .network import DenseLayer, SparseLayer, ThresholdNetwork

#: Bytes of one (points x groups) float64 block when Baum's hyperplanes are checked.
BAUM_CHUNK_BYTES = 32 * 2**20

#: Largest n and d of :func:`counting_lower_bound` (its bounds are float64 formulas, exact in the
#: integers below 2^53).
MAX_COUNT = 2**53


class GeneralPositionError(ValueError):
    """The points are too degenerate (numerically) for Baum's construction."""


def _hyperplanes(P, rng):
    """Unit vectors (w, c) with P_g w + c = 0 for each stack of k <= d points P_g (G, k, d): the
    null space of [P_g, 1] when k = d, else a random member of it; ``ok`` is False for a group
    whose points are affinely dependent (no hyperplane is determined by them)."""
    G, k, d = P.shape
    A = np.concatenate([P, np.ones((G, k, 1))], axis=2)
    _, s, Vt = np.linalg.svd(A, full_matrices=True)  # Vt (G, d + 1, d + 1)
    ok = s[:, -1] > 1e-10 * np.maximum(1.0, s[:, 0])  # rank k
    null = Vt[:, k:, :]  # (G, d + 1 - k, d + 1)
    v = np.einsum("gj,gjc->gc", rng.standard_normal((G, d + 1 - k)), null)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v[:, :d], v[:, d], ok


def _slabs(X, groups, rng, max_splits):
    """Hyperplanes w.x + c = 0 and slab half-widths eps, one per final group (lists of point
    indices); a group whose hyperplane holds another data point is split in two."""
    n, d = X.shape
    scale = float(np.abs(X).max()) + 1.0
    todo, out, splits = list(groups), [], 0
    step = max(1, BAUM_CHUNK_BYTES // (8 * n))
    while todo:
        size = len(todo[0])
        batch = [g for g in todo if len(g) == size][:step]
        taken = {id(g) for g in batch}
        todo = [g for g in todo if id(g) not in taken]
        idx = np.array(batch)  # (G, size)
        G = idx.shape[0]
        w, c, ok = _hyperplanes(X[idx], rng)
        vals = np.abs(X @ w.T + c)  # (n, G): ~0 on the group
        cols = np.repeat(np.arange(G), size)
        inside = vals[idx.ravel(), cols].reshape(G, size).max(axis=1)
        vals[idx.ravel(), cols] = np.inf
        outside = vals.min(axis=0)
        tol = 1e-12 * (scale * np.abs(w).sum(axis=1) + np.abs(c))
        good = ok & (outside > 1e3 * np.maximum(inside, tol))
        eps = np.sqrt(np.maximum(inside, tol) * np.where(np.isfinite(outside), outside, 1.0))
        out += [(w[j], c[j], eps[j]) for j in np.flatnonzero(good)]
        bad = [batch[j] for j in np.flatnonzero(~good)]
        if bad and (size == 1 or splits + len(bad) > max_splits):
            raise GeneralPositionError(
                "a data point lies (numerically) on the hyperplane of a group of "
                f"{size} point(s): the points are too degenerate for Baum's construction")
        splits += len(bad)
        todo += [h for g in bad for h in (g[: size // 2], g[size // 2:])]
    return out, splits


def build_baum(X, y, *, seed=0, max_splits=None):
    """One hidden layer of threshold units, in pairs (one pair per group of the smaller class),
    and one output unit, memorizing the 0/1 labels ``y`` of the rows of ``X``.

    In general position every group has d points and there are 2 ceil(n_min / d) hidden
    units.  A group whose hyperplane holds another data point is split in two (at most
    ``max_splits`` times in all, default n), each half getting a random hyperplane through
    it drawn from ``seed``; :class:`GeneralPositionError` is raised past that, or when even a
    single point's hyperplane cannot avoid the others.  The result is checked by a forward
    pass.  ``net.info``: n, d, groups, flip, splits.
    """
    X = as_float_array(X, "X", ndim=2)
    xp = array_module(X)  # the network is returned on the backend of X (built on the host)
    X = to_numpy(X)
    n, d = X.shape
    y = check_binary_labels(y, n)
    seed = check_seed(seed)
    max_splits = n if max_splits is None else check_int(max_splits, "max_splits", minimum=0)
    flip = int(y.sum() * 2 > n)  # memorize the smaller class, flip the output if needed
    members = np.flatnonzero(y != flip)
    groups = [members[s:s + d] for s in range(0, members.size, d)]
    rng = make_rng(seed, "threshold", "baum")
    planes, splits = _slabs(X, groups, rng, max_splits) if groups else ([], 0)
    g = len(planes)
    info = {"n": n, "d": d, "groups": g, "flip": flip, "splits": splits}
    if g == 0:  # a constant labeling: the output is the constant
        hidden = DenseLayer(np.zeros((1, d)), np.zeros(1), "hidden")
        out = SparseLayer(np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64),
                          np.array([-1 + flip], np.int64), "output")
        return ThresholdNetwork((hidden, out), d, (), info).to(xp)
    w = np.array([p[0] for p in planes])
    c = np.array([p[1] for p in planes])
    eps = np.array([p[2] for p in planes])
    # with t = w.x + c: 1[t + eps >= 0] - 1[t - eps >= 0] = 1 exactly when -eps <= t < eps
    W = np.repeat(w, 2, axis=0)
    bias = np.repeat(c, 2) + np.tile([1.0, -1.0], g) * np.repeat(eps, 2)
    hidden = DenseLayer(W, bias, "hidden")
    sign = 1 - 2 * flip
    out = SparseLayer(np.arange(2 * g, dtype=np.int64)[None, :],
                      (sign * np.tile([1, -1], g))[None, :].astype(np.int64),
                      np.array([-1 if not flip else 0], dtype=np.int64), "output")
    net = ThresholdNetwork((hidden, out), d, (), info)
    if not np.array_equal(to_numpy(net.predict(X)), y):
        raise GeneralPositionError("the slabs do not reproduce y: the points are too close to "
                                   "general-position degeneracy for float64")
    return net.to(xp)


def baum_neurons(n, d, n_min=None):
    """Neurons of :func:`build_baum` in general position: 2 ceil(n_min / d) + 1, with n_min the size
    of the smaller class (default floor(n/2), a balanced labeling); 2 for a constant labeling."""
    n, d = check_int(n, "n"), check_int(d, "d")
    n_min = n // 2 if n_min is None else check_int(n_min, "n_min", minimum=0)
    if n_min > n // 2:
        raise ValueError(f"n_min must be at most floor(n/2) = {n // 2}, got {n_min}")
    return 2 * (-(-n_min // d)) + 1 if n_min else 2


def build_huang(X, y, *, seed=0, max_attempts=20):
    """One hidden layer: one threshold unit 1[u.x - t_k >= 0] per label change along a random
    direction u, and an output unit that adds them with alternating signs (style of Huang and
    Babri 1998).  Works on any distinct points; at most n - 1 hidden units.

    u is redrawn (from ``seed``) while two projections are closer than float64 can
    separate reliably.  ``net.info``: n, d, changes, attempts.
    """
    X = as_float_array(X, "X", ndim=2)
    xp = array_module(X)  # the network is returned on the backend of X (built on the host)
    X = to_numpy(X)
    n, d = X.shape
    y = check_binary_labels(y, n)
    seed = check_seed(seed)
    max_attempts = check_int(max_attempts, "max_attempts")
    scale = float(np.abs(X).max()) * math.sqrt(d) + 1e-300
    for attempt in range(max_attempts):
        u = make_rng(seed, "threshold", "huang", attempt).standard_normal(d)
        u /= np.linalg.norm(u)
        s = X @ u
        order = np.argsort(s, kind="stable")
        gaps = np.diff(s[order])
        if n < 2 or gaps.min() > 1e-12 * scale:
            break
    else:
        raise GeneralPositionError(f"{max_attempts} random directions left two points with (numerically) "
                                   "equal projections: are the points distinct?")
    ys = y[order]
    change = np.flatnonzero(np.diff(ys) != 0)  # a unit between sorted points k and k + 1
    t = (s[order][change] + s[order][change + 1]) / 2
    k = change.size
    first = int(ys[0]) if n else 0
    if k == 0:
        hidden = DenseLayer(np.zeros((1, d)), np.zeros(1), "hidden")
        out = SparseLayer(np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64),
                          np.array([first - 1], np.int64), "output")
    else:
        hidden = DenseLayer(np.tile(u, (k, 1)), -t, "hidden")
        signs = np.where(np.arange(k) % 2 == 0, 1 - 2 * first, 2 * first - 1)
        out = SparseLayer(np.arange(k, dtype=np.int64)[None, :], signs[None, :].astype(np.int64),
                          np.array([first - 1], np.int64), "output")
    net = ThresholdNetwork((hidden, out), d, (), {"n": n, "d": d, "changes": k, "attempts": attempt + 1})
    if not np.array_equal(to_numpy(net.predict(X)), y):
        raise GeneralPositionError("the staircase does not reproduce y: projections too close for float64")
    return net.to(xp)


def _least(predicate, hi=1):
    """The least integer k >= 1 with predicate(k) (predicate monotone), by doubling and bisection."""
    while not predicate(hi):
        hi *= 2
    lo = hi // 2  # predicate(lo) is False (or lo = 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if predicate(mid) else (mid, hi)
    return hi


def max_parameters(N, d):
    """Parameters of the largest feed-forward threshold architecture of N units on d inputs:
    unit i reads the d inputs and the i - 1 earlier units, plus a bias."""
    N, d = check_int(N, "N"), check_int(d, "d")
    return N * (d + 1) + N * (N - 1) // 2


def vc_capacity(P, N):
    """2 P log2(e N): the Baum-Haussler bound on the VC dimension of a threshold architecture
    with P parameters and N units (both at most :data:`MAX_COUNT`: a float64 formula)."""
    P, N = check_int(P, "P", maximum=MAX_COUNT), check_int(N, "N", maximum=MAX_COUNT)
    return _vc_capacity(P, N)


def _vc_capacity(P, N):
    return 2 * P * math.log2(math.e * N)


def counting_lower_bound(n, d):
    """(P, N): below P parameters, or below N units, no threshold architecture on d inputs
    memorizes every labeling of n points (some labeling fails; see the module text).

    P is the least integer with n <= 2 P log2(e P); N the least with
    n <= 2 P_max(N) log2(e N), P_max(N) = N (d + 1) + N (N - 1) / 2; both by bisection.
    """
    n, d = check_int(n, "n", maximum=MAX_COUNT), check_int(d, "d", maximum=MAX_COUNT)
    P = _least(lambda p: n <= _vc_capacity(p, p))
    N = _least(lambda k: n <= _vc_capacity(k * (d + 1) + k * (k - 1) // 2, k))
    return P, N


__all__ = ["BAUM_CHUNK_BYTES", "MAX_COUNT", "GeneralPositionError", "baum_neurons", "build_baum", "build_huang",
           "counting_lower_bound", "max_parameters", "vc_capacity"]
