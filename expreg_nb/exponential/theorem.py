r"""Part I: the complete convergence theorem's quantities, as fixed points in m (this book's derivation).

The width conditions of :prf:ref:`thm-exp-convergence-constants` depend on m through the truncation
level B = B(m) (:func:`expreg_nb.exponential.bounds.truncation_bound`), so each width the book
reports is the smallest fixed point of its condition, computed from m = 1 upward (B grows with m,
so the iteration increases to the fixed point).  Everything here is scalar and host-side.

=================================  ===================================================
:func:`chernoff_fixed_width`       m with (1 - eps(m)) (lam - bias(m)) >= (3/4) lam at B = B(m)
:func:`hoeffding_fixed_width`      m = 32 n^2 B(m)^4 log(8 n^2 / delta) / lam^2
:func:`initial_residual_bound`     E_0 >= ||e(0)|| without looking at W(0) (coupled: sqrt(n))
:func:`deterministic_theorem_width`  the theorem's width with ||e(0)|| replaced by E_0
:func:`theorem_steps`              T = ceil(4 ln(E_0 / eps) / (eta lam)), eta = 1 / (e^{0.2} n B^2)
=================================  ===================================================
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import as_host_real, check_bool, check_int
from .bounds import (_arg, _out, chernoff_width_biased, moved_level, safe_radius, theorem_step_size,
                     truncation_bound)

__all__ = ["chernoff_fixed_width", "deterministic_theorem_width", "hoeffding_fixed_width",
           "initial_residual_bound", "theorem_steps"]


def chernoff_fixed_width(lam, gram_norm, n, delta, *, level=0.75, iters=100):
    """The smallest width m whose own truncation level B(m) = truncation_bound(m, n, delta) gives
    chernoff_lambda_min >= ``level`` lam: the fixed point m = chernoff_width_biased(lam, B(m), ...).

    B grows with m, so the iteration from m = 1 increases to the fixed point.  Scalars only.
    """
    for value, name in ((lam, "lam"), (gram_norm, "gram_norm"), (n, "n"), (delta, "delta"), (level, "level")):
        as_host_real(value, name, scalar_only=True)
    iters = check_int(iters, "iters")
    m = 1.0
    for _ in range(iters):
        new = chernoff_width_biased(lam, truncation_bound(m, n, delta), gram_norm, n, delta, level=level)
        if abs(new - m) <= 1e-12 * new:
            return new
        m = new
    raise ArithmeticError(f"chernoff_fixed_width did not reach its fixed point in {iters} iterations (last m={m:.6g})")


def hoeffding_fixed_width(lam, n, delta, *, iters=100):
    """The fixed point m = 32 n^2 B(m)^4 log(8 n^2 / delta) / lam^2, B(m) = truncation_bound(m, n, delta).

    At that width the Hoeffding bound (bias aside) is n B^2 sqrt(2 log(8 n^2/delta) / m) = lam / 4.
    Scalars only.
    """
    for value, name in ((lam, "lam"), (n, "n"), (delta, "delta")):
        as_host_real(value, name, scalar_only=True)
    lam, n = float(_arg(lam, "lam")), float(_arg(n, "n"))
    delta = float(_arg(delta, "delta", below_one=True))
    iters = check_int(iters, "iters")
    m = 1.0
    for _ in range(iters):
        new = 32.0 * n**2 * truncation_bound(m, n, delta) ** 4 * math.log(8.0 * n**2 / delta) / lam**2
        if abs(new - m) <= 1e-12 * new:
            return new
        m = new
    raise ArithmeticError(f"hoeffding_fixed_width did not reach its fixed point in {iters} iterations (last m={m:.6g})")


def initial_residual_bound(n, B, delta, *, coupled=False):
    """E_0, a bound on ||e(0)|| that holds without looking at W(0) (labels in [-1, 1], ||y|| <= sqrt(n)).

    Coupled initialization: F(W(0)) = 0, so ||e(0)|| = ||y|| <= sqrt(n).  Independent: on the
    truncation event, the initial-residual lemma gives ||e(0)|| <= sqrt(n) + sqrt(n) B sqrt(2 log(8n/delta))
    with probability >= 1 - delta/4 over the signs (:func:`expreg_nb.exponential.reference.initial_residual_tail`).
    """
    from .reference import initial_residual_tail

    for value, name in ((n, "n"), (B, "B"), (delta, "delta")):
        as_host_real(value, name, scalar_only=True)
    n, B = _arg(n, "n"), _arg(B, "B")
    delta = _arg(delta, "delta", below_one=True)
    if check_bool(coupled, "coupled"):
        return _out(np.sqrt(n))
    return initial_residual_tail(int(n), float(B), float(delta))


def deterministic_theorem_width(lam, n, gram_norm, delta, *, coupled=False, iters=100):
    """The theorem's width with ||e(0)|| replaced by its bound E_0: a function of (lam, n, ||G||, delta) only.

    The smallest fixed point m of
    m = max(chernoff_width_biased(lam, B, ||G||, n, delta), (4 B_1 sqrt(n) E_0 / (lam R))^2),
    B = truncation_bound(m, n, delta), R = safe_radius(lam, n, B), B_1 = e^R B and
    E_0 = :func:`initial_residual_bound` (n, B, delta, coupled=coupled).  Scalars only.
    """
    for value, name in ((lam, "lam"), (n, "n"), (gram_norm, "gram_norm"), (delta, "delta")):
        as_host_real(value, name, scalar_only=True)
    iters = check_int(iters, "iters")
    coupled = check_bool(coupled, "coupled")
    lam, n, gram_norm = float(_arg(lam, "lam")), float(_arg(n, "n")), float(_arg(gram_norm, "gram_norm"))
    delta = float(_arg(delta, "delta", below_one=True))
    m = 1.0
    try:
        for _ in range(iters):
            B = truncation_bound(m, n, delta)
            R = safe_radius(lam, n, B)
            E0 = initial_residual_bound(n, B, delta, coupled=coupled)
            new = max(chernoff_width_biased(lam, B, gram_norm, n, delta),
                      (4.0 * moved_level(B, R) * math.sqrt(n) * E0 / (lam * R)) ** 2)
            if abs(new - m) <= 1e-12 * new:
                return new
            m = new
    except (OverflowError, ZeroDivisionError):
        raise FloatingPointError("deterministic_theorem_width: the iteration left the float64 range for "
                                 "these arguments; use arguments of moderate size") from None
    raise ArithmeticError(f"deterministic_theorem_width did not reach its fixed point in {iters} iterations "
                          f"(last m={m:.6g})")


def theorem_steps(lam, n, B, err0, eps):
    """T = ceil(4 ln(||e(0)|| / eps) / (eta lam)) with eta = theorem_step_size(n, B): then ||e(T)|| <= eps.

    From L(t) <= (1 - eta lam / 2)^t L(0): ||e(T)|| <= (1 - eta lam / 2)^{T/2} ||e(0)||
    <= exp(-eta lam T / 4) ||e(0)|| <= eps.  Returns 0 when ||e(0)|| <= eps.  Scalars only.
    """
    for value, name in ((lam, "lam"), (n, "n"), (B, "B"), (err0, "err0"), (eps, "eps")):
        as_host_real(value, name, scalar_only=True)
    lam, err0, eps = float(_arg(lam, "lam")), float(_arg(err0, "err0")), float(_arg(eps, "eps"))
    eta = theorem_step_size(n, B)
    if err0 <= eps:
        return 0
    return int(math.ceil(4.0 * math.log(err0 / eps) / (eta * lam)))
