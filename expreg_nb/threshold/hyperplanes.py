"""Part III, Chapter 1: random hyperplanes through the origin and the codes they give points.

The angle between points at distance delta (:func:`separation_angle`), the width k1 of
the Gaussian layer the union bound prescribes (:func:`hyperplane_budget`), Gaussian
hyperplanes with nested prefixes, codes, the smallest separating prefix, the exact
law of k_min on a circle, and this book's reconstruction of Vershynin's sparse first layer.
"""
from __future__ import annotations

import math

import numpy as np

from .. import data
from ..backend import array_module, to_device, to_numpy
from ..seeding import check_seed, make_rng
from ..validation import (as_binary_matrix, as_float_array, check_alloc, check_int, check_open_unit,
                          check_real, check_same_backend, check_sphere_distance, int_array, real_array)

min_distance = data.min_distance

# ---------------------------------------------------------------------------
# The angle between separated points and the width k1 of the Gaussian layer
# ---------------------------------------------------------------------------


def separation_angle(delta):
    """theta = 2 arcsin(delta / 2): the angle between unit vectors at distance ``delta``
    (a number or an array, every entry in [0, 2])."""
    arr = real_array(delta, "delta", low=0.0, high=2.0)
    out = 2.0 * np.arcsin(arr / 2.0)
    return float(out) if out.ndim == 0 else out


def hyperplane_budget(n, delta, eta=0.01) -> int:
    """Gaussian hyperplanes k1 that give n delta-separated points distinct codes w.p. >= 1 - eta.

    k1 = ceil( ln(C(n,2)/eta) / -ln(1 - theta/pi) ),  theta = 2 arcsin(delta/2)
    (union bound over pairs); at least 1.  It is <= (pi/delta) ln(C(n,2)/eta) + 1.
    """
    n = check_int(n, "n")
    delta = check_sphere_distance(delta)
    eta = check_open_unit(eta, "eta")
    if n < 2:
        return 1
    # ln(C(n,2) / eta) in logarithms once n^2 would leave float64
    log_pairs = math.log(n * (n - 1) / 2 / eta) if n < 10**150 else \
        math.log(n) + math.log(n - 1) - math.log(2.0) - math.log(eta)
    theta = separation_angle(delta)
    p_miss = 1.0 - theta / math.pi
    if p_miss <= 0.0:
        return 1
    # -ln(1 - theta/pi): log1p where theta/pi is below float64's resolution of 1 (tiny delta)
    rate = -math.log(p_miss) if theta / math.pi > 1e-8 else -math.log1p(-theta / math.pi)
    return max(1, math.ceil(log_pairs / rate))


def union_bound_width(n, delta, eta=0.01):
    """The simplified union bound (pi/delta) ln(C(n,2)/eta) (a real number, for plots);
    ``n`` an int >= 2 or an array of them, ``delta`` in (0, 2], ``eta`` in (0, 1)."""
    n = int_array(n, "n", minimum=2).astype(float)
    delta = real_array(delta, "delta", low=0.0, high=2.0, low_open=True)
    eta = check_open_unit(eta, "eta")
    try:
        np.broadcast_shapes(n.shape, delta.shape)
    except ValueError:
        raise ValueError(f"n has shape {n.shape} but delta has {delta.shape}; they must broadcast") from None
    out = np.pi / delta * np.log(n * (n - 1) / 2 / eta)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------
# Random hyperplanes (Chapter 1)
# ---------------------------------------------------------------------------


def gaussian_hyperplanes(k, d, *, seed, attempt=0, xp=None):
    """k x d standard Gaussian normals: row r is the r-th hyperplane through the origin.

    Prefixes are nested: the first k rows for a seed are the same whatever the total
    number drawn, so "the first k hyperplanes" is well defined.
    """
    k, d = check_int(k, "k"), check_int(d, "d")
    check_alloc(what="the Gaussian hyperplanes", k=k, d=d)
    attempt = check_int(attempt, "attempt", minimum=0)
    rng = make_rng(seed, "threshold", "gaussian", attempt)
    return to_device(rng.standard_normal((k, d)), xp)


def hyperplane_codes(X, W):
    """The binary codes 1[W x_i >= 0] (int8, one row per point)."""
    X = as_float_array(X, "X", ndim=2, empty_rows=True)
    W = as_float_array(W, "W", ndim=2)
    check_same_backend(X=X, W=W)
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"W must have {X.shape[1]} columns (the dimension of X), got {W.shape[1]}")
    xp = array_module(X)
    return (X @ W.T >= 0).astype(xp.int8)


def distinct_rows(codes) -> bool:
    """Are the rows of the 0/1 matrix ``codes`` pairwise distinct?"""
    c = as_binary_matrix(codes, "codes", nonempty=False)
    if c.shape[0] < 2:
        return True
    if c.shape[1] == 0:  # every code is the empty word
        return False
    packed = np.packbits(c.astype(np.uint8, copy=False), axis=1)
    return np.unique(packed, axis=0).shape[0] == c.shape[0]


def hyperplanes_to_separate(X, *, seed, k_max=1 << 16):
    """The smallest k such that the first k Gaussian hyperplanes of ``seed`` give the rows
    of ``X`` distinct codes (binary search over nested prefixes; monotone in k)."""
    X = as_float_array(X, "X", ndim=2)
    seed = check_int(seed, "seed", minimum=0)
    k_max = check_int(k_max, "k_max")
    check_alloc(itemsize=1, what="the codes of k_max hyperplanes", n=X.shape[0], k_max=k_max)
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
    k = int_array(k, "k", minimum=0).astype(float)
    m = n // 2
    check_alloc(what="the coupon-collector terms", k=max(k.size, 1), pairs=m + 1)
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
    if m <= 10**6:
        return m * float(sum(1.0 / i for i in range(1, m + 1)))
    from scipy.special import digamma  # H_m = psi(m + 1) + Euler's gamma, for m beyond a summed loop

    return m * float(digamma(m + 1.0) + np.euler_gamma)


# ---------------------------------------------------------------------------
# This book's reconstruction of Vershynin's sparse, almost orthogonal first layer
# ---------------------------------------------------------------------------


def _log_tail(t):
    """log P[N(0,1) >= t] in float64 for any real t (erfcx keeps it finite far in the tail)."""
    from scipy import special

    return math.log(special.erfcx(t / math.sqrt(2)) / 2) - t * t / 2 if t > 0 else \
        math.log(special.ndtr(-t))


def vershynin_overlap(tau, delta) -> float:
    """q/p exactly: P[g.x' >= tau | g.x >= tau] for unit x, x' at distance ``delta``, g Gaussian.

    With X = g.x, Y = g.x' standard normal of correlation rho = 1 - delta^2/2 and
    X = tau + u given X >= tau,

        q/p = int_0^inf phi(tau + u) / Pbar(tau) * Pbar((tau (1 - rho) - rho u) / sqrt(1 - rho^2)) du,

    a one-dimensional integral (scipy ``quad``) in the variable v = max(tau, 1) u, with
    phi(tau + u) / Pbar(tau) = exp(-tau u - u^2/2) 2 / (sqrt(2 pi) erfcx(tau / sqrt 2)), so
    nothing underflows however small p is.  ``tau >= 0``, ``delta`` in (0, 2].
    """
    from scipy import integrate, special

    tau = check_real(tau, "tau", nonnegative=True)
    delta = check_sphere_distance(delta)
    one_minus = delta * delta / 2  # 1 - rho, exact
    rho = 1.0 - one_minus
    root = delta * math.sqrt(max(0.0, 1.0 - delta * delta / 4))  # sqrt(1 - rho^2)
    if root == 0.0:  # antipodal: Y = -X, both >= tau > 0 never; at tau = 0 only X = 0
        return 0.0
    c = 2.0 / (math.sqrt(2 * math.pi) * special.erfcx(tau / math.sqrt(2)))
    scale = max(tau, 1.0)

    def f(v):
        u = v / scale
        return math.exp(-tau * u - u * u / 2) * c * special.ndtr(-(tau * one_minus - rho * u) / root) / scale

    value, _ = integrate.quad(f, 0.0, np.inf, limit=200, epsabs=0.0, epsrel=1e-11)
    return min(1.0, value)


def vershynin_threshold(delta, eps=0.1) -> float:
    """tau*: the least tau >= 0 with q/p <= eps (:func:`vershynin_overlap`, decreasing in tau)."""
    from scipy import optimize

    delta = check_sphere_distance(delta)
    eps = check_open_unit(eps, "eps")
    gap = lambda t: math.log(max(vershynin_overlap(t, delta), 1e-300)) - math.log(eps)
    if gap(0.0) <= 0:
        return 0.0
    # start from the small-delta law tau* ~ 2 Pbar^{-1}(eps/2) / delta (vershynin_limit_slope)
    guess = max(0.5, 2 * math.sqrt(vershynin_limit_slope(eps) * math.log(10) / 2) / delta)
    lo, hi = 0.0, guess
    while gap(hi) > 0:
        lo, hi = hi, 2 * hi
        if hi > 1e160:
            raise ValueError(f"delta={delta} is too small: tau* does not fit a float")
    if lo == 0.0 and gap(hi / 2) > 0:
        lo = hi / 2
    return float(optimize.brentq(gap, lo, hi, xtol=1e-13 * hi, rtol=1e-13))


def vershynin_width_log10(delta, eps=0.1) -> float:
    """log10 of 1/p(tau*), p = P[g.x >= tau*], tau* = :func:`vershynin_threshold`: the width
    (up to a factor independent of delta) at which a layer of features 1[g.x >= tau*] has
    active features at every point while pairs at distance delta overlap in a fraction
    eps of them (this book's reconstruction of Vershynin's sparse first layer), with the
    exact q.  ``delta`` in (0, 2] (at 2, tau* = 0 and the width is 2), ``eps`` in (0, 1).
    Raises ValueError when the result does not fit in a float (delta below about 1e-150).
    """
    delta = check_sphere_distance(delta)
    return -_log_tail(vershynin_threshold(delta, eps)) / math.log(10)


def vershynin_limit_slope(eps=0.1) -> float:
    """The limit of log10(width) * delta^2 as delta -> 0: 2 z^2 / ln 10, z = Pbar^{-1}(eps/2).

    As delta -> 0 with s = tau delta / 2 fixed, q/p -> E[Pbar(s - E/(2 s))] (E standard
    exponential: the overshoot tau X - tau^2 of X >= tau) = 2 Pbar(s) (integration by parts),
    so s* = Pbar^{-1}(eps/2), tau* ~ 2 s* / delta and log(1/p) ~ tau*^2 / 2 = 2 s*^2 / delta^2.
    """
    from scipy import special

    eps = check_open_unit(eps, "eps")
    z = -float(special.ndtri(eps / 2))
    return 2 * z * z / math.log(10)


def vershynin_layer_width(X, *, tau, eps=0.1, slack=2.0, seed=0, k_max=1 << 22, chunk=1 << 14):
    """The width at which a layer of features 1[g_r.x >= tau] (g_r Gaussian, nested prefixes of
    ``seed``'s draw) makes the rows of ``X`` eps-orthogonal: every point has an active feature
    and every pair overlaps in at most ``slack * eps`` of the geometric mean of their counts,
    <phi_i, phi_j> <= slack eps sqrt(|phi_i| |phi_j|).  Checked at multiples of ``chunk``;
    returns ``(width, max normalized overlap at that width)``, or raises ValueError past
    ``k_max``.  Memory O(n^2 + chunk n)."""
    X = np.asarray(to_numpy(as_float_array(X, "X", ndim=2)), dtype=float)
    tau = check_real(tau, "tau", nonnegative=True)
    eps = check_open_unit(eps, "eps")
    slack = check_real(slack, "slack", positive=True)
    seed = check_seed(seed)
    k_max, chunk = check_int(k_max, "k_max"), check_int(chunk, "chunk")
    n, d = X.shape
    if d == 0:
        raise ValueError("X must have at least one column (the points' coordinates)")
    check_alloc(what="the pair overlaps", n=n, n_again=n)
    check_alloc(what="a chunk of features", chunk=chunk, n=max(n, d))
    rng = make_rng(seed, "threshold", "vershynin")
    counts = np.zeros(n)
    overlap = np.zeros((n, n))
    off = ~np.eye(n, dtype=bool)
    k = 0
    while k < k_max:
        F = (rng.standard_normal((chunk, d)) @ X.T >= tau).astype(np.float64)  # (chunk, n)
        counts += F.sum(axis=0)
        overlap += F.T @ F
        k += chunk
        if counts.min() > 0:
            worst = float((overlap / np.sqrt(np.outer(counts, counts)))[off].max()) if n > 1 else 0.0
            if worst <= slack * eps:
                return k, worst
    raise ValueError(f"k_max={k_max} features at tau={tau:g} do not make the points "
                     f"{slack * eps:g}-orthogonal")


def vershynin_width_log10_bound(delta, eps=0.1) -> float:
    """log10 of 1/p(tau) where tau makes the *bound* q <= P[g.(x+x') >= 2 tau] equal to eps p
    (p = P[g.x >= tau], ||x - x'|| = delta): the width a union-type bound asks of the sparse
    first layer, larger than the exact :func:`vershynin_width_log10`.  Computed with mpmath at a
    precision that resolves sqrt(4 / (4 - delta^2)) - 1 ~ delta^2 / 8.

    ``delta`` in (0, 2]: at delta = 2 (antipodal points) q = 0 for every tau > 0 and the
    width is its limit 2; ``eps`` in (0, 1).  Raises ValueError when the result does not
    fit in a float (delta below about 1e-150).
    """
    import mpmath as mp

    delta = check_sphere_distance(delta)
    eps = check_open_unit(eps, "eps")
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




__all__ = ["circle_separation_cdf", "circle_separation_mean", "distinct_rows", "gaussian_hyperplanes",
           "hyperplane_budget", "hyperplane_codes", "hyperplanes_to_separate", "min_distance",
           "separation_angle", "union_bound_width", "vershynin_layer_width", "vershynin_limit_slope",
           "vershynin_overlap", "vershynin_threshold", "vershynin_width_log10", "vershynin_width_log10_bound"]
