"""Reproducible synthetic data (drawn on the host, returned on the active backend)."""
from __future__ import annotations

import functools
import math

import numpy as np

from .backend import check_xp, to_device, to_numpy
from .seeding import check_seed, make_rng
from .validation import as_float_array, check_alloc, check_int, check_real

__all__ = ["LABEL_KINDS", "PAIR_CHUNK_BYTES", "ball", "gaussian", "great_circle", "great_circle_arc", "labels",
           "lattice_shell", "min_distance", "orthogonal_circles", "separated_points", "shell_points",
           "simplex_points", "sphere"]

LABEL_KINDS = ("uniform", "sign")


def _unit_rows(rng, n, d):
    g = rng.standard_normal((n, d))
    return g / ((g * g).sum(axis=1, keepdims=True) ** 0.5)


def sphere(n, d, *, seed, xp=None):
    """``n`` points drawn uniformly on the unit sphere S^{d-1} (rows of an n x d array)."""
    n, d, xp = check_int(n, "n"), check_int(d, "d"), check_xp(xp)
    check_alloc(n=n, d=d)
    return to_device(_unit_rows(make_rng(seed, "data", "sphere"), n, d), xp)


def ball(n, d, *, seed, xp=None):
    """``n`` points drawn uniformly in the closed unit ball of R^d."""
    n, d, xp = check_int(n, "n"), check_int(d, "d"), check_xp(xp)
    check_alloc(n=n, d=d)
    rng = make_rng(seed, "data", "ball")
    radii = rng.random(n) ** (1.0 / d)
    return to_device(_unit_rows(rng, n, d) * radii[:, None], xp)


def gaussian(n, d, *, seed, xp=None):
    """``n`` points with i.i.d. N(0, I_d) coordinates."""
    n, d, xp = check_int(n, "n"), check_int(d, "d"), check_xp(xp)
    check_alloc(n=n, d=d)
    return to_device(make_rng(seed, "data", "gaussian").standard_normal((n, d)), xp)


def labels(n, *, seed, kind="uniform", xp=None):
    """Labels in [-1, 1]: ``"uniform"`` on [-1, 1] or ``"sign"`` (Rademacher +-1)."""
    n, xp = check_int(n, "n"), check_xp(xp)
    check_alloc(n=n)
    if not isinstance(kind, str) or kind not in LABEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LABEL_KINDS)}, got {kind!r}")
    rng = make_rng(seed, "data", "labels", kind)
    if kind == "uniform":
        y = rng.uniform(-1.0, 1.0, n)
    elif kind == "sign":
        y = rng.integers(0, 2, n) * 2.0 - 1.0
    else:
        raise ValueError(f"kind must be one of {', '.join(LABEL_KINDS)}, got {kind!r}")
    return to_device(y, xp)


# ---------------------------------------------------------------------------
# Points on the sphere for Part III (memorization with threshold networks)
# ---------------------------------------------------------------------------

#: Size of one (rows x n) float64 block of pairwise quantities, in bytes.
PAIR_CHUNK_BYTES = 32 * 2**20


def _host_rows(X, name="X"):
    """``X`` as a finite 2-D float64 NumPy array (CuPy arrays are copied to the host)."""
    return np.ascontiguousarray(to_numpy(as_float_array(X, name, ndim=2)))


def _check_delta(delta, name="delta"):
    delta = check_real(delta, name, positive=True)
    if delta > 2.0:
        raise ValueError(f"{name} must be in (0, 2] for points on the unit sphere, got {delta}")
    return delta


def _pow2_scale(X):
    """A power of two s with max |X / s| in [1/2, 1): dividing by it is exact."""
    top = float(np.abs(X).max()) if X.size else 0.0
    return 1.0 if top == 0.0 else math.ldexp(1.0, math.frexp(top)[1])


def _chunk_rows(n_cols):
    return max(1, PAIR_CHUNK_BYTES // (8 * max(n_cols, 1)))


def min_distance(X) -> float:
    """Smallest pairwise Euclidean distance between the rows of ``X`` (inf for one row).

    Exact to rounding, in O(n * chunk) memory: blocks of the Gram form
    ||x_i||^2 + ||x_j||^2 - 2 <x_i, x_j>, in float32 and one matrix product per block of
    rows, find the candidate pairs, i.e. those within the screen's rounding error ``tol``
    of the best pair so far, and each candidate is recomputed exactly as ||x_i - x_j||
    in float64.  ``X`` is first
    divided by a power of two (exact), so huge or tiny coordinates neither overflow nor
    underflow.
    """
    X = _host_rows(X)
    n, d = X.shape
    if n < 2:
        return math.inf
    s = _pow2_scale(X)
    Xs = X / s
    sq = np.einsum("ij,ij->i", Xs, Xs)
    # screen in float32 with one product per block: [x, |x|^2, 1] . [-2 x', 1, |x'|^2]
    left = np.c_[Xs, sq, np.ones(n)].astype(np.float32)
    right = np.c_[-2.0 * Xs, np.ones(n), sq].astype(np.float32)
    # rounding of the screen (inputs and sums) is below (d + 4) eps32 max|x|^2 per term
    tol = 16.0 * (d + 4) * float(np.finfo(np.float32).eps) * float(sq.max())
    best = math.inf  # exact squared distance of the best pair found so far
    rows = 2 * _chunk_rows(n)
    per = max(1, PAIR_CHUNK_BYTES // (8 * d))
    for a in range(0, n - 1, rows):
        b = min(a + rows, n)
        D2 = left[a:b] @ right[a:].T  # columns j >= a
        D2[np.arange(b - a), np.arange(b - a)] = np.inf  # the pair (i, i)
        low = float(D2.min())
        thr = min(best, low + tol) + tol
        if low > thr:
            continue
        i, j = np.nonzero(D2 <= thr)
        for c in range(0, i.size, per):  # exact recomputation of the candidates
            diff = Xs[a + i[c:c + per]] - Xs[a + j[c:c + per]]
            best = min(best, float(np.einsum("ij,ij->i", diff, diff).min()))
    return math.sqrt(best) * s


def _clashes(cand, kept, delta2, tol, *, earlier):
    """For each row of ``cand``: is some row of ``kept`` (or, with ``earlier``, some earlier
    row of ``cand`` itself) at squared Gram-form distance < delta2 + tol?"""
    out = np.zeros(cand.shape[0], dtype=bool)
    other = cand if earlier else kept
    if other.shape[0] == 0:
        return out
    rows = _chunk_rows(other.shape[0])
    for a in range(0, cand.shape[0], rows):
        b = min(a + rows, cand.shape[0])
        hi = b if earlier else other.shape[0]
        D2 = 2.0 - 2.0 * (cand[a:b] @ other[:hi].T)  # unit rows
        if earlier:  # only j < i counts
            D2[np.arange(hi)[None, :] >= np.arange(a, b)[:, None]] = np.inf
        out[a:b] = (D2 < delta2 + tol).any(axis=1)
    return out


def separated_points(n, d, delta, *, seed, batch=None, max_batches=200, xp=None):
    """``n`` points on S^{d-1} with pairwise distance >= ``delta`` (random sequential addition).

    Candidates are drawn uniformly (:func:`sphere`) in batches; a candidate is kept if it
    is at distance >= delta from every kept point and from every earlier candidate of its
    batch.  Distances come from blocks of Gram products (memory O(batch * chunk)); a pair
    is rejected when its Gram-form distance is within rounding of delta, so the kept
    points are delta-separated exactly.  Raises ValueError if ``n`` points are not found
    within ``max_batches`` batches (delta too large for n in dimension d).
    """
    n, d = check_int(n, "n"), check_int(d, "d", minimum=2)
    delta = _check_delta(delta)
    max_batches = check_int(max_batches, "max_batches")
    batch = 4 * n if batch is None else check_int(batch, "batch")
    seed = check_seed(seed)
    check_alloc(what="the points", n=n, d=d)
    check_alloc(what="a batch of candidates", batch=batch, d=d)
    tol = 4.0 * (d + 2) * np.finfo(float).eps
    kept = np.zeros((0, d))
    for t in range(max_batches):
        cand = _unit_rows(make_rng(seed * 1_000_003 + t, "data", "sphere"), batch, d)
        cand = cand[~_clashes(cand, kept, delta**2, tol, earlier=False)]
        cand = cand[~_clashes(cand, None, delta**2, tol, earlier=True)]
        kept = np.concatenate([kept, cand], axis=0)[:n]
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
    check_alloc(n=n, d=d)
    t = 2.0 * np.pi * np.arange(n) / n
    X = np.zeros((n, d))
    X[:, 0], X[:, 1] = np.cos(t), np.sin(t)
    return to_device(X, xp)


def great_circle_arc(n, delta, d=3, *, xp=None):
    """``n`` points along the great circle of the (e1, e2) plane with consecutive distance
    exactly ``delta`` (requires n * 2 arcsin(delta/2) <= 2 pi): the worst case at a given delta."""
    n, d = check_int(n, "n"), check_int(d, "d", minimum=2)
    delta = _check_delta(delta)
    check_alloc(n=n, d=d)
    step = 2.0 * math.asin(delta / 2.0)
    if n > 1 and n * step > 2 * np.pi * (1 + 1e-12):
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
    check_alloc(n_per_circle=n_per_circle, n_circles=n_circles, d=d)
    circle = to_numpy(great_circle(n_per_circle, 2, xp=np))
    X = np.zeros((n_circles * n_per_circle, d))
    rows = np.arange(n_circles * n_per_circle)
    plane = rows // n_per_circle
    X[rows, 2 * plane] = np.tile(circle[:, 0], n_circles)
    X[rows, 2 * plane + 1] = np.tile(circle[:, 1], n_circles)
    return to_device(X, xp)


def simplex_points(n, delta, d=None, *, xp=None):
    """``n`` unit vectors in R^d (``d`` >= n, default n) with every pairwise distance exactly
    ``delta`` in (0, sqrt 2]: x_i = a e_i + c (e_1 + ... + e_n), a = delta / sqrt 2, c > 0 chosen
    so that ||x_i|| = 1 (a scaled, shifted regular simplex)."""
    n = check_int(n, "n", minimum=2)
    d = n if d is None else check_int(d, "d")
    if d < n:
        raise ValueError(f"d must be >= n = {n}, got {d}")
    delta = _check_delta(delta)
    if delta > math.sqrt(2):
        raise ValueError(f"delta must be at most sqrt(2) for simplex_points, got {delta}")
    check_alloc(what="the simplex points", n=n, d=d)
    a = delta / math.sqrt(2)
    # ||a e_i + c 1||^2 = a^2 + 2 a c + n c^2 = 1
    c = (-a + math.sqrt(a * a - n * (a * a - 1))) / n
    X = np.zeros((n, d))
    X[:, :n] = c
    X[np.arange(n), np.arange(n)] += a
    return to_device(X, xp)


def lattice_shell(d, norm):
    """Every v in Z^d with ||v||^2 = ``norm`` (rows of a read-only int8 array), for small ``norm``
    (cached: the norm-8 shell of Z^16 takes a few seconds to enumerate).

    Two distinct such vectors have ||u - v||^2 = 2 norm - 2 u.v >= 2 (u.v is an integer below
    norm), so the normalized points v / sqrt(norm) are sqrt(2 / norm)-separated exactly:
    e.g. 3,994,080 points on S^15 at distance >= 1/2 for d = 16, norm = 8.
    """
    d, norm = check_int(d, "d"), check_int(norm, "norm")
    if norm > 12:
        raise ValueError(f"norm must be at most 12 (the shell is enumerated), got {norm}")
    check_alloc(itemsize=1, what=f"the norm-{norm} shell of Z^d", vectors=_shell_size(d, norm), d=d)
    return _lattice_shell(d, norm)


def _patterns(rest, largest):
    """Nonincreasing positive integers whose squares sum to ``rest`` (each at most ``largest``)."""
    if rest == 0:
        yield ()
        return
    for a in range(min(largest, math.isqrt(rest)), 0, -1):
        for tail in _patterns(rest - a * a, a):
            yield (a,) + tail


def _shell_size(d, norm):
    """The number of v in Z^d with ||v||^2 = ``norm`` (the rows of :func:`lattice_shell`), counted
    without enumerating them: for each multiset of nonzero |v_i|, its placements times 2^k signs."""
    d, norm = check_int(d, "d"), check_int(norm, "norm")
    if norm > 12:
        raise ValueError(f"norm must be at most 12 (the shell is enumerated), got {norm}")
    total = 0
    for pat in _patterns(norm, math.isqrt(norm)):
        k = len(pat)
        if k > d:
            continue
        ways, free = 1, d
        for a in set(pat):
            c = pat.count(a)
            ways *= math.comb(free, c)
            free -= c
        total += ways * 2**k
    return total


@functools.lru_cache(maxsize=4)
def _lattice_shell(d, norm):
    """The enumeration behind :func:`lattice_shell` (by multisets of squares, positions, signs)."""
    import itertools

    blocks = []
    for pat in _patterns(norm, math.isqrt(norm)):
        k = len(pat)
        if k > d:
            continue
        # distinct placements of the multiset pat: positions for each value in turn
        placements = np.zeros((1, d), np.int8)
        free = np.ones((1, d), bool)
        for a in sorted(set(pat), reverse=True):
            count = pat.count(a)
            new_p, new_f = [], []
            for row, fr in zip(placements, free):
                slots = np.flatnonzero(fr)
                combos = np.array(list(itertools.combinations(slots, count)), np.int64)
                P = np.repeat(row[None, :], len(combos), axis=0)
                F = np.repeat(fr[None, :], len(combos), axis=0)
                P[np.arange(len(combos))[:, None], combos] = a
                F[np.arange(len(combos))[:, None], combos] = False
                new_p.append(P)
                new_f.append(F)
            placements, free = np.concatenate(new_p), np.concatenate(new_f)
        signs = 1 - 2 * ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(np.int8)
        nz = placements != 0  # k nonzeros per row, in column order
        cols = np.nonzero(nz)[1].reshape(-1, k)
        out = np.repeat(placements, 2**k, axis=0)
        rows = np.arange(out.shape[0])[:, None]
        out[rows, np.repeat(cols, 2**k, axis=0)] *= np.tile(signs, (placements.shape[0], 1))
        blocks.append(out)
    out = np.concatenate(blocks) if blocks else np.zeros((0, d), np.int8)
    out.flags.writeable = False
    return out


def shell_points(n, *, seed, d=16, norm=8, xp=None):
    """``n`` distinct points drawn uniformly without replacement from :func:`lattice_shell` (d, norm),
    normalized to the unit sphere: sqrt(2 / norm)-separated by construction (no distance check
    needed, so any n up to the shell's size costs O(n d))."""
    n = check_int(n, "n")
    seed = check_seed(seed)
    xp = check_xp(xp)
    if n > _shell_size(d, norm):
        raise ValueError(f"n={n} exceeds the {_shell_size(d, norm)} points of the norm-{norm} shell of Z^{d}")
    shell = lattice_shell(d, norm)
    if n > shell.shape[0]:
        raise ValueError(f"n={n} exceeds the {shell.shape[0]} points of the norm-{norm} shell of Z^{d}")
    pick = make_rng(seed, "data", "shell").choice(shell.shape[0], n, replace=False)
    return to_device(shell[pick].astype(np.float64) / math.sqrt(norm), xp)
