"""Part III baselines: Baum's one-hidden-layer memorizer and the counting lower bound.

* :func:`build_baum` is this book's implementation of the construction of Baum (1988)
  for points in general position in R^d: the minority class is cut into groups of d
  points; the d points of a group span an affine hyperplane {x : w.x = 1} that meets no
  other data point, and two parallel threshold units 1[w.x - 1 + eps >= 0] and
  1[w.x - 1 - eps >= 0] differ exactly on a slab around it.  The output adds the
  differences of the pairs: 2 ceil(n_min / d) + 1 <= 2 ceil(n / (2d)) + 1 neurons.
* :func:`counting_lower_bound`: a network that memorizes every labeling of n points
  shatters them, and a threshold network with P parameters (weights and biases) and
  N units has VC dimension at most 2 P log2(e N) (Baum and Haussler 1989), so
  P >= n / (2 log2(e N)); with N <= P this gives the least P, and a feed-forward net
  of N units on d inputs has P <= N (d + 1) + N (N - 1) / 2, which gives the least N.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import to_numpy
from ..validation import as_float_array, check_binary_labels, check_int, check_seed
from .network import DenseLayer, SparseLayer, ThresholdNetwork


#: Largest n and d of :func:`counting_lower_bound` (its iteration is exact in float64 below 2^53).
MAX_COUNT = 2**53


class GeneralPositionError(ValueError):
    """The points are not (numerically) in general position for Baum's construction."""


def _hyperplanes(P):
    """w with P_g w = 1 for each stack of d points P_g (groups, d, d)."""
    ones = np.ones(P.shape[:2] + (1,))
    try:
        return np.linalg.solve(P, ones)[..., 0]
    except np.linalg.LinAlgError:
        raise GeneralPositionError("d points of a group span no affine hyperplane "
                                   "(the points are not in general position)") from None


def build_baum(X, y, *, seed=0):
    """One hidden layer of 2 ceil(n_min / d) threshold units (n_min = size of the smaller
    class) and one output unit, memorizing the 0/1 labels ``y`` of the rows of ``X``.

    A group with fewer than d points is completed with Gaussian points (drawn from
    ``seed``), which keeps general position almost surely.  Raises
    :class:`GeneralPositionError` if a slab cannot be made to hold exactly its group.
    The result is checked by a forward pass.
    """
    X = to_numpy(as_float_array(X, "X", ndim=2))
    seed = check_seed(seed)
    n, d = X.shape
    if n < 1:
        raise ValueError("X must contain at least one point")
    y = check_binary_labels(y, n)
    flip = int(y.sum() * 2 > n)  # memorize the smaller class, flip the output if needed
    members = np.flatnonzero(y != flip)
    g = -(-members.size // d)
    if g == 0:
        W, c = np.zeros((0, d)), np.zeros(0)
    else:
        pad = g * d - members.size
        extra = np.random.default_rng(seed).standard_normal((pad, d))
        P = np.concatenate([X[members], extra]).reshape(g, d, d)
        w = _hyperplanes(P)  # (g, d)
        vals = X @ w.T - 1.0  # (n, g): 0 on the group, away from 0 elsewhere
        scale = np.abs(P).max() * np.abs(w).sum(axis=1) + 1.0
        own = np.zeros((n, g), dtype=bool)
        own[members, np.arange(members.size) // d] = True
        inside = np.where(own, np.abs(vals), 0.0).max(axis=0)
        outside = np.where(own, np.inf, np.abs(vals)).min(axis=0)
        if np.any(outside <= 1e3 * (inside + 1e-12 * scale)):
            raise GeneralPositionError("a data point lies (numerically) on the hyperplane of "
                                       "another group: the points are not in general position")
        eps = np.sqrt(np.maximum(inside, 1e-12 * scale) * outside)  # geometric middle
        W = np.repeat(w, 2, axis=0)
        c = np.repeat(-1.0, 2 * g) + np.tile([1.0, -1.0], g) * np.repeat(eps, 2)
    hidden = DenseLayer(W, c, "hidden")
    sign = 1 - 2 * flip
    out = SparseLayer(np.arange(2 * g, dtype=np.int64)[None, :] if g else np.zeros((1, 1), np.int64),
                      (sign * np.tile([1, -1], g))[None, :].astype(np.int64) if g
                      else np.zeros((1, 1), np.int64),
                      np.array([-1 if not flip else 0], dtype=np.int64), "output")
    net = ThresholdNetwork((hidden, out), d, (), {"n": n, "d": d, "groups": g, "flip": flip})
    if g == 0:  # a constant labeling: the output is the constant
        net = ThresholdNetwork((DenseLayer(np.zeros((1, d)), np.zeros(1), "hidden"),
                                SparseLayer(np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64),
                                            np.array([-1 + flip], np.int64), "output")),
                               d, (), {"n": n, "d": d, "groups": 0, "flip": flip})
    if not np.array_equal(to_numpy(net.predict(X)), y):
        raise GeneralPositionError("the slabs do not reproduce y: the points are too close to "
                                   "general-position degeneracy for float64")
    return net


def baum_neurons(n, d):
    """Neurons of :func:`build_baum` for a balanced labeling: 2 ceil(floor(n/2) / d) + 1."""
    n, d = check_int(n, "n"), check_int(d, "d")
    return 2 * (-(-(n // 2) // d)) + 1


def counting_lower_bound(n, d):
    """(P, N): the least number of parameters P and of units N of any threshold network
    on d inputs that memorizes every labeling of some n points (see the module text)."""
    n, d = check_int(n, "n", maximum=MAX_COUNT), check_int(d, "d", maximum=MAX_COUNT)
    P = 1
    while n > 2 * P * math.log2(math.e * P):  # P >= n / (2 log2(e N)) with N <= P
        P = max(P + 1, math.ceil(n / (2 * math.log2(math.e * P))))
    # the least N with N (d + 1) + N (N - 1) / 2 >= P: the root of the quadratic, then exact steps
    c = d + 0.5
    N = max(1, math.isqrt(max(0, int(2 * P + c * c))) - int(c) - 1)
    while N > 1 and (N - 1) * (d + 1) + (N - 1) * (N - 2) // 2 >= P:
        N -= 1
    while N * (d + 1) + N * (N - 1) // 2 < P:
        N += 1
    return P, N


__all__ = ["MAX_COUNT", "GeneralPositionError", "baum_neurons", "build_baum", "counting_lower_bound"]
