r"""Part I: the book's bound formulas for exponential regression, in one place.

These are *this book's derivations*, following Du et al. (2019) and Song & Yang
(2019); they are not quoted from Gao, Mahadevan & Song (2023), whose full text
the book does not have.  Chapter 3 (``book/part1/perturbation.md``) derives and
measures each one; Chapter 4 imports them to close the convergence argument.

Notation (normalized model, :mod:`expreg_nb.exponential`): ``n`` points with
``||x_i|| <= 1``, width ``m``, failure probability ``delta``, truncation level
``B`` (a bound on ``max_{r,i} exp(|<w_r(0), x_i>|)``), radius ``R`` (a bound on
``max_r ||w_r - w_r(0)||``), ``lam = lambda_min(H*)``.

==========================  ==================================================
:func:`truncation_tau`      tau = sqrt(2 log(8 m n / delta))
:func:`truncation_bound`    B = e^tau, holds with probability >= 1 - delta/4
:func:`moved_level`         B_1 = e^R B, bounds exp(<w_r, x_i>) inside the R-ball
:func:`truncation_bias`     n e^4 sqrt(delta / (4 m)), the cost of truncating
:func:`concentration_bound` Hoeffding bound on ||H(0) - H*||_F
:func:`chernoff_lambda_min` matrix-Chernoff lower bound on lambda_min(H(0))
:func:`chernoff_width`      width m at which eps = 1/4 (bias ignored: gives < (3/4) lam)
:func:`chernoff_width_biased` smallest m with (1 - eps)(lam - bias) >= (3/4) lam
:func:`gram_entry_bound`    B^2 (e^{2R} - 1), bound on |H(W)_ij - H(W0)_ij|
:func:`gram_perturbation`   GRAM_C n B^2 R, bound on ||H(W) - H(W0)||
:func:`safe_radius`         largest R <= R_MAX with GRAM_C n B^2 R <= lam / 4
:func:`grad_neuron_bound`   B_1 sqrt(n/m) ||e||, bound on ||dL/dw_r||
:func:`grad_total_bound`    sqrt(n) B_1 ||e||, bound on ||grad L||_F
:func:`movement_bound`      D = 4 B_1 sqrt(n) ||e(0)|| / (sqrt(m) lam)
==========================  ==================================================

Constants: :data:`R_MAX` = 0.1, :data:`GRAM_C` = (e^{0.2} - 1)/0.1 (so that
e^{2R} - 1 <= GRAM_C R on [0, R_MAX]) and :data:`TAYLOR_C` = e^{0.1}/2 (so that
|e^s - 1 - s| <= TAYLOR_C s^2 for |s| <= R_MAX).

Every function takes scalars or NumPy arrays (broadcast), validates that its
arguments are positive (``delta`` in (0, 1)), and returns a float or a NumPy
array.  These are host-side formulas: pass plain numbers, not device arrays.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from ..validation import as_host_real, check_bool, check_int

#: Largest radius for which the linearized constants below hold.
R_MAX = 0.1
#: e^{2R} - 1 <= GRAM_C * R for 0 <= R <= R_MAX (chord of a convex function).
GRAM_C = (math.exp(2 * R_MAX) - 1.0) / R_MAX
#: |e^s - 1 - s| <= TAYLOR_C * s^2 for |s| <= R_MAX.
TAYLOR_C = math.exp(R_MAX) / 2.0

__all__ = [
    "GRAM_C",
    "R_MAX",
    "TAYLOR_C",
    "chernoff_lambda_min",
    "chernoff_width",
    "chernoff_width_biased",
    "concentration_bound",
    "grad_neuron_bound",
    "grad_total_bound",
    "gram_entry_bound",
    "gram_perturbation",
    "moved_level",
    "movement_bound",
    "safe_radius",
    "truncation_bias",
    "truncation_bound",
    "truncation_tau",
]


def _arg(value, name, *, positive=True, below_one=False, at_most=None):
    """``value`` as a float (scalar) or float64 ndarray, checked elementwise."""
    arr = as_host_real(value, name)
    scalar = isinstance(arr, float)
    if positive and not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if not positive and not np.all(arr >= 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if below_one and not np.all(arr < 1):
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    if at_most is not None and not np.all(arr <= at_most):
        raise ValueError(f"{name} must be <= {at_most}, got {value!r}")
    # NumPy scalars overflow to inf (caught by _out) where Python floats raise OverflowError.
    return np.float64(arr) if scalar else arr


def _out(x):
    if not np.all(np.isfinite(x)):
        caller = sys._getframe(1).f_code.co_name
        raise FloatingPointError(f"{caller}: the bound is not representable in float64 for these arguments "
                                 f"(it overflowed); use smaller arguments")
    return float(x) if np.ndim(x) == 0 else x


def truncation_tau(m, n, delta):
    """tau = sqrt(2 log(8 m n / delta)): w.p. >= 1 - delta/4, max_{r,i} |<w_r(0), x_i>| <= tau."""
    m, n, delta = _arg(m, "m"), _arg(n, "n"), _arg(delta, "delta", below_one=True)
    return _out(np.sqrt(2.0 * np.log(8.0 * m * n / delta)))


def truncation_bound(m, n, delta):
    """B = exp(tau): w.p. >= 1 - delta/4, exp(|<w_r(0), x_i>|) <= B for all r, i."""
    return _out(np.exp(truncation_tau(m, n, delta)))


def moved_level(B, R):
    """B_1 = e^R B: exp(<w_r, x_i>) <= B_1 whenever ||w_r - w_r(0)|| <= R and ||x_i|| <= 1."""
    B, R = _arg(B, "B"), _arg(R, "R", positive=False)
    return _out(np.exp(R) * B)


def truncation_bias(n, m, delta):
    """n e^4 sqrt(delta/(4m)): Frobenius bound on E[truncated H(0)] - H* (Cauchy-Schwarz)."""
    n, m, delta = _arg(n, "n"), _arg(m, "m"), _arg(delta, "delta", below_one=True)
    return _out(n * math.exp(4.0) * np.sqrt(delta / (4.0 * m)))


def concentration_bound(n, m, B, delta, *, bias=True):
    """Hoeffding bound n B^2 sqrt(2 log(8 n^2/delta)/m) on ||H(0) - H*||_F (w.p. >= 1 - delta/2).

    ``bias=True`` adds :func:`truncation_bias`.
    """
    n, m, B = _arg(n, "n"), _arg(m, "m"), _arg(B, "B")
    delta = _arg(delta, "delta", below_one=True)
    bias = check_bool(bias, "bias")
    out = n * B**2 * np.sqrt(2.0 * np.log(8.0 * n**2 / delta) / m)
    if bias:
        out = out + truncation_bias(n, m, delta)
    return _out(out)


def chernoff_lambda_min(lam, m, B, gram_norm, n, delta):
    """Matrix-Chernoff lower bound on lambda_min(H(0)) (w.p. >= 1 - delta/2).

    (1 - eps) (lam - bias) with eps = sqrt(2 ||G|| B^2 log(4n/delta) / (m (lam - bias))),
    ``gram_norm`` = ||X X^T||_2 and bias = :func:`truncation_bias`.  The bound is
    vacuous (returned as is, possibly negative) while eps >= 1.
    """
    lam, m, B = _arg(lam, "lam"), _arg(m, "m"), _arg(B, "B")
    gram_norm, n = _arg(gram_norm, "gram_norm"), _arg(n, "n")
    delta = _arg(delta, "delta", below_one=True)
    mu = lam - truncation_bias(n, m, delta)
    mu_pos = np.where(mu > 0, mu, 1.0)  # eps is only used where mu > 0
    eps = np.sqrt(2.0 * gram_norm * B**2 * np.log(4.0 * n / delta) / (m * mu_pos))
    return _out(np.where(mu > 0, (1.0 - eps) * mu, mu))


def chernoff_width(lam, B, gram_norm, n, delta):
    """m = 32 ||G|| B^2 log(4n/delta) / lam: the width at which eps = 1/4 in :func:`chernoff_lambda_min`."""
    lam, B, gram_norm = _arg(lam, "lam"), _arg(B, "B"), _arg(gram_norm, "gram_norm")
    n, delta = _arg(n, "n"), _arg(delta, "delta", below_one=True)
    return _out(32.0 * gram_norm * B**2 * np.log(4.0 * n / delta) / lam)


def chernoff_width_biased(lam, B, gram_norm, n, delta, *, level=0.75):
    """The smallest width m at which :func:`chernoff_lambda_min` (truncation bias included) is >= ``level`` lam.

    (1 - eps(m)) (lam - b(m)) increases with m at fixed ``B`` (b = :func:`truncation_bias`,
    eps as in :func:`chernoff_lambda_min`), so a bisection in log m finds it; the answer lies
    above :func:`chernoff_width`, where eps = 1/4 but lam - b < lam.  Arrays broadcast like
    every other bound (one bisection per entry).
    """
    lam, B, gram_norm = _arg(lam, "lam"), _arg(B, "B"), _arg(gram_norm, "gram_norm")
    n, delta = _arg(n, "n"), _arg(delta, "delta", below_one=True)
    level = _arg(level, "level", below_one=True)
    try:
        args = np.broadcast_arrays(lam, B, gram_norm, n, delta, level)
    except ValueError:
        raise ValueError("lam, B, gram_norm, n, delta and level must broadcast to one shape") from None
    out = np.empty(args[0].shape)
    for idx in np.ndindex(out.shape):
        out[idx] = _chernoff_width_biased_scalar(*(float(a[idx]) for a in args))
    return _out(out if out.ndim else np.float64(out))


def _chernoff_width_biased_scalar(lam, B, gram_norm, n, delta, level):
    try:
        return _chernoff_width_biased_search(lam, B, gram_norm, n, delta, level)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, ValueError) and "finite" not in str(exc):
            raise
        raise FloatingPointError("chernoff_width_biased: the width left the float64 range for these "
                                 "arguments; use arguments of moderate size") from None


def _chernoff_lambda_min_value(lam, m, B, gram_norm, n, delta):
    """:func:`chernoff_lambda_min` of checked scalars, the same float64 operations without the checks
    (the bisection below calls it a few hundred times per width)."""
    lam, m, B, gram_norm, n, delta = (np.float64(v) for v in (lam, m, B, gram_norm, n, delta))
    mu = lam - n * math.exp(4.0) * np.sqrt(delta / (4.0 * m))
    mu_pos = np.where(mu > 0, mu, 1.0)
    eps = np.sqrt(2.0 * gram_norm * B**2 * np.log(4.0 * n / delta) / (m * mu_pos))
    return _out(np.where(mu > 0, (1.0 - eps) * mu, mu))


def _chernoff_width_biased_search(lam, B, gram_norm, n, delta, level):
    def ok(m):
        if not math.isfinite(m):
            raise OverflowError
        return _chernoff_lambda_min_value(lam, m, B, gram_norm, n, delta) >= level * lam

    lo = hi = max(1.0, chernoff_width(lam, B, gram_norm, n, delta) * (1 - level) / 0.25)
    while ok(lo) and lo > 1.0:
        lo = max(1.0, lo / 2)
    if ok(lo):
        return lo
    while not ok(hi):
        hi *= 2
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
        if hi / lo - 1 <= 1e-12:
            break
    return hi


def gram_entry_bound(B, R):
    """B^2 (e^{2R} - 1): bound on |H(W)_ij - H(W0)_ij| when max_r ||w_r - w_r(0)|| <= R."""
    B, R = _arg(B, "B"), _arg(R, "R", positive=False)
    return _out(B**2 * np.expm1(2.0 * R))


def gram_perturbation(n, B, R):
    """GRAM_C n B^2 R: bound on ||H(W) - H(W0)||_2 (and _F) for R <= R_MAX."""
    n, B = _arg(n, "n"), _arg(B, "B")
    R = _arg(R, "R", positive=False, at_most=R_MAX)
    return _out(GRAM_C * n * B**2 * R)


def safe_radius(lam, n, B):
    """min(R_MAX, lam / (4 GRAM_C n B^2)): inside it, ||H(W) - H(W0)|| <= lam/4."""
    lam, n, B = _arg(lam, "lam"), _arg(n, "n"), _arg(B, "B")
    return _out(np.minimum(R_MAX, lam / (4.0 * GRAM_C * n * B**2)))


def grad_neuron_bound(B1, n, m, err_norm):
    """B_1 sqrt(n/m) ||e||: bound on ||dL/dw_r|| (normalized model, ||x_i|| <= 1)."""
    B1, n, m = _arg(B1, "B1"), _arg(n, "n"), _arg(m, "m")
    err_norm = _arg(err_norm, "err_norm", positive=False)
    return _out(B1 * np.sqrt(n / m) * err_norm)


def grad_total_bound(B1, n, err_norm):
    """sqrt(n) B_1 ||e||: bound on ||grad L||_F, from ||grad L||_F^2 = e^T H e <= n B_1^2 ||e||^2."""
    B1, n = _arg(B1, "B1"), _arg(n, "n")
    err_norm = _arg(err_norm, "err_norm", positive=False)
    return _out(np.sqrt(n) * B1 * err_norm)


def movement_bound(B1, n, m, err0, lam):
    """D = 4 B_1 sqrt(n) ||e(0)|| / (sqrt(m) lam): bound on ||w_r(t) - w_r(0)|| under (1 - eta lam/4) decay."""
    B1, n, m = _arg(B1, "B1"), _arg(n, "n"), _arg(m, "m")
    err0, lam = _arg(err0, "err0", positive=False), _arg(lam, "lam")
    return _out(4.0 * B1 * np.sqrt(n) * err0 / (np.sqrt(m) * lam))


# =========================================================================== Chapter 4
# One-step contraction and the closed induction (book/part1/convergence.md).
# Also this book's derivation, following Du et al. (2019) and Song & Yang (2019).

#: The contraction lemma asks eta * lam <= CONTRACTION_X_MAX (so that (1 - 3x/4)^2 <= 1 - x, x = eta lam / 2).
CONTRACTION_X_MAX = 16.0 / 9.0

__all__ += [
    "CONTRACTION_X_MAX",
    "du_style_step_size",
    "remainder_bound",
    "theorem_step_size",
    "theorem_width",
]


def remainder_bound(eta, B1, n, m, err_norm):
    """TAYLOR_C eta^2 B_1^3 n^{3/2} ||e||^2 / sqrt(m): bound on ||v(t)||, the second-order part of u(t+1) - u(t).

    Valid when every |<w_r(t+1) - w_r(t), x_i>| <= R_MAX, which eta B_1 sqrt(n/m) ||e|| <= R_MAX guarantees.
    """
    eta, B1, n, m = _arg(eta, "eta"), _arg(B1, "B1"), _arg(n, "n"), _arg(m, "m")
    err_norm = _arg(err_norm, "err_norm", positive=False)
    return _out(TAYLOR_C * eta**2 * B1**3 * n**1.5 * err_norm**2 / np.sqrt(m))


def theorem_step_size(n, B):
    """1 / (e^{2 R_MAX} n B^2) = 1 / (n B_1^2) at R = R_MAX: then eta * lambda_max(H(t)) <= eta * tr H(t) <= 1."""
    n, B = _arg(n, "n"), _arg(B, "B")
    return _out(1.0 / (math.exp(2.0 * R_MAX) * n * B**2))


def du_style_step_size(lam, n, B):
    """lam / (n^2 B^4): the step-size shape of a Du et al. / Song & Yang style expansion (constant set to 1).

    Not the paper's step size (the book does not have its full text): the shape
    lam / n^2 of Du et al. (2019) with the exponential's B^4 in place of the ReLU's 1.
    """
    lam, n, B = _arg(lam, "lam"), _arg(n, "n"), _arg(B, "B")
    return _out(lam / (n**2 * B**4))


def theorem_width(lam, n, err0, gram_norm, delta, *, iters=100):
    """The width the closed induction asks for: the smallest fixed point m of

        m = max(chernoff_width_biased(lam, B, ||G||, n, delta), (4 B_1 sqrt(n) ||e(0)|| / (lam R))^2),

    with B = truncation_bound(m, n, delta), R = safe_radius(lam, n, B), B_1 = e^R B.
    The first term makes the matrix-Chernoff bound, truncation bias included, give
    lambda_min(H(0)) >= (3/4) lam; the second is movement_bound(B_1, n, m, ||e(0)||, lam) <= R
    solved for m.
    B grows like exp(sqrt(2 log m)), so the iteration from m = 1 increases to the fixed point.
    Scalars only.
    """
    for value, name in ((lam, "lam"), (n, "n"), (err0, "err0"), (gram_norm, "gram_norm"), (delta, "delta")):
        as_host_real(value, name, scalar_only=True)
    iters = check_int(iters, "iters")
    lam, n, gram_norm = float(_arg(lam, "lam")), float(_arg(n, "n")), float(_arg(gram_norm, "gram_norm"))
    err0 = float(_arg(err0, "err0"))
    delta = float(_arg(delta, "delta", below_one=True))
    try:
        return _theorem_width_iterate(lam, n, err0, gram_norm, delta, iters)
    except (OverflowError, ZeroDivisionError):
        raise FloatingPointError("theorem_width: the iteration left the float64 range for these arguments "
                                 "(overflow or underflow); use arguments of moderate size") from None


def _theorem_width_iterate(lam, n, err0, gram_norm, delta, iters):
    m = 1.0
    for _ in range(iters):
        B = truncation_bound(m, n, delta)
        R = safe_radius(lam, n, B)
        B1 = moved_level(B, R)
        new = max(_chernoff_width_biased_scalar(lam, B, gram_norm, n, delta, 0.75),
                  (4.0 * B1 * math.sqrt(n) * err0 / (lam * R)) ** 2)
        if abs(new - m) <= 1e-12 * new:
            return new
        m = new
    raise ArithmeticError(f"theorem_width did not reach its fixed point in {iters} iterations (last m={m:.6g})")
