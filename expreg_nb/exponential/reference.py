r"""Part I: numerical helpers the chapters used to define inline, now tested here.

=================================  ===================================================
:func:`hessian_vector`             Hessian-vector product of the loss, eq. (eq-exp-hessian)
:func:`jacobian`                   the literal Jacobian J = du / dvec(W), n x (m d)
:func:`gram_literal`               H from its definition, one exp(<w_r, x_i + x_j>) per pair
:func:`du_relu_forward`            Du et al.'s ReLU network (1/sqrt m) sum_r a_r relu(<w_r, x>)
:func:`du_relu_grad`               its gradient with respect to W (first layer only)
:func:`expected_initial_residual`  E ||u(0) - y||^2 = ||y||^2 + sum_i exp(2 ||x_i||^2)
:func:`initial_residual_tail`      Hoeffding bound on ||u(0) - y|| given the truncation level
:func:`kernel_residuals`           the linear recursion e(t+1) = (I - eta H) e(t)
=================================  ===================================================

All of these are host-side (NumPy) and meant for the chapters' checks at small
sizes: :func:`jacobian` and :func:`gram_literal` form m x n x d or n x n x m
arrays on purpose (they are the literal definitions the GEMM code is compared with).
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import to_numpy
from ..validation import as_float_array, check_alloc, check_bool, check_int, check_network, check_open_unit, check_real, not_representable

__all__ = [
    "du_relu_forward",
    "du_relu_grad",
    "expected_initial_residual",
    "gram_literal",
    "hessian_vector",
    "initial_residual_tail",
    "jacobian",
    "kernel_residuals",
]


def _host(x, name, ndim):
    """``x`` as a checked float64 host array (real, finite, no empty axis: :func:`~expreg_nb.validation.as_float_array`)."""
    return to_numpy(as_float_array(x, name, ndim=ndim))


def _exp(Z, what, X):
    """exp(Z) (a host array), or a FloatingPointError saying it overflowed."""
    with np.errstate(over="ignore"):
        E = np.exp(Z)
    if not np.isfinite(E).all():
        raise not_representable(what, f"exp(<w_r, x_i>) overflowed (max <w_r, x_i> = {float(Z.max()):.4g})", X)
    return E


def _finite(value, what, X):
    if not np.all(np.isfinite(value)):
        raise not_representable(what, "a product of finite exponentials overflowed", X)
    return value


def _network(W, a, X):
    return check_network(_host(W, "W", 2), _host(a, "a", 1), _host(X, "X", 2))


def _scale(m, normalized):
    return 1.0 / math.sqrt(m) if check_bool(normalized, "normalized") else 1.0


def hessian_vector(W, a, X, y, V, *, normalized=True):
    r"""(nabla^2 L) V for the exponential model, from eq. (eq-exp-hessian), with matrix products only.

    Gauss-Newton part J^T (J V) plus the curvature part sum_i e_i (nabla^2 u_i) V.
    """
    W, a, X = _network(W, a, X)
    y, V = _host(y, "y", 1), _host(V, "V", 2)
    if V.shape != W.shape:
        raise ValueError(f"V must have the shape of W {W.shape}, got {V.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has n={X.shape[0]} rows")
    s = _scale(W.shape[0], normalized)
    E = _exp(W @ X.T, "the Hessian-vector product", X)  # m x n
    with np.errstate(over="ignore", invalid="ignore"):
        e = s * (a @ E) - y                                  # residual
        XV = V @ X.T                                         # <v_r, x_i>
        JV = s * (a[:, None] * E * XV).sum(axis=0)           # J vec(V), length n
        gauss_newton = s * (a[:, None] * E) @ (JV[:, None] * X)
        curvature = s * a[:, None] * ((E * XV * e[None, :]) @ X)
        out = gauss_newton + curvature
    return _finite(out, "the Hessian-vector product", X)


def jacobian(W, a, X, *, normalized=True):
    """The literal Jacobian J[i, (r, k)] = s a_r exp(<w_r, x_i>) x_ik (row-major in (r, k)), n x (m d)."""
    W, a, X = _network(W, a, X)
    s = _scale(W.shape[0], normalized)
    E = _exp(X @ W.T, "the Jacobian", X)                 # n x m
    with np.errstate(over="ignore", invalid="ignore"):
        J = (s * (a[None, :, None] * E[:, :, None]) * X[:, None, :]).reshape(X.shape[0], -1)
    return _finite(J, "the Jacobian", X)


def gram_literal(W, X, *, normalized=True):
    """H_ij = (1/m) sum_r <x_i, x_j> exp(<w_r, x_i + x_j>), one exponential per neuron and pair."""
    W, X = _host(W, "W", 2), _host(X, "X", 2)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W has d={W.shape[1]}")
    normalized = check_bool(normalized, "normalized")
    check_alloc(what="gram_literal's n x n x m array", n=X.shape[0], n2=X.shape[0], m=W.shape[0])
    pair_sums = X[:, None, :] + X[None, :, :]            # n x n x d
    with np.errstate(over="ignore", invalid="ignore"):
        S = _exp(pair_sums @ W.T, "the literal Gram matrix", X).sum(axis=2)  # sum over neurons
        H = (X @ X.T) * S / (W.shape[0] if normalized else 1.0)
    return _finite(H, "the literal Gram matrix", X)


def du_relu_forward(W, a, X):
    """Du et al.'s network f(x) = (1/sqrt m) sum_r a_r relu(<w_r, x>) on the rows of X."""
    W, a, X = _network(W, a, X)
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.maximum(X @ W.T, 0.0) @ a / math.sqrt(W.shape[0])
    return _finite(u, "the ReLU network's output", X)


def du_relu_grad(W, a, X, y):
    """dL/dW of L = 0.5 ||f(W, X) - y||^2 for :func:`du_relu_forward` (indicator 1{<w_r, x_i> > 0})."""
    W, a, X = _network(W, a, X)
    y = _host(y, "y", 1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has n={X.shape[0]} rows")
    e = du_relu_forward(W, a, X) - y
    active = (X @ W.T > 0).astype(float)                 # n x m
    with np.errstate(over="ignore", invalid="ignore"):
        g = a[:, None] * (active.T @ (e[:, None] * X)) / math.sqrt(W.shape[0])
    return _finite(g, "the ReLU network's gradient", X)


def expected_initial_residual(X, y):
    r"""E ||u(0) - y||^2 = ||y||^2 + sum_i exp(2 ||x_i||^2): normalized model, independent init.

    E u_i(0) = 0 because the signs are symmetric, and E u_i(0)^2 = E exp(2 <w, x_i>) = exp(2 ||x_i||^2).
    """
    X, y = _host(X, "X", 2), _host(y, "y", 1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has n={X.shape[0]} rows")
    with np.errstate(over="ignore"):
        value = float((y**2).sum() + np.exp(2.0 * (X**2).sum(axis=1)).sum())
    return _finite(value, "E ||u(0) - y||^2", X)


def initial_residual_tail(n, B, delta, *, y_norm=None):
    r"""||u(0) - y|| <= ||y|| + sqrt(n) B sqrt(2 log(8 n / delta)), w.p. >= 1 - delta/4 given max E_ri <= B.

    Conditional on W(0), u_i(0) = m^{-1/2} sum_r a_r E_ri is a sum of independent signs times numbers
    in [0, B]: Hoeffding gives |u_i(0)| <= B sqrt(2 log(8n/delta)) for all i at level delta/4.
    ``y_norm`` defaults to sqrt(n) (labels in [-1, 1]).
    """
    n = check_int(n, "n")
    B = check_real(B, "B", positive=True)
    delta = check_open_unit(delta, "delta")
    if y_norm is not None:
        y_norm = check_real(y_norm, "y_norm", nonnegative=True)
    if n < 2**1000:
        y_norm = math.sqrt(n) if y_norm is None else y_norm
        out = y_norm + math.sqrt(n) * B * math.sqrt(2.0 * math.log(8.0 * n / delta))
    else:  # n beyond float64: the same formula through logarithms
        root_n = math.exp(0.5 * math.log(n))
        y_norm = root_n if y_norm is None else y_norm
        out = y_norm + root_n * B * math.sqrt(2.0 * (math.log(8.0) + math.log(n) - math.log(delta)))
    if not math.isfinite(out):
        raise FloatingPointError("initial_residual_tail: the bound is not representable in float64 (it "
                                 "overflowed); use smaller arguments")
    return out


def kernel_residuals(H, e0, eta, steps):
    """Residuals of the linear dynamics e(t+1) = (I - eta H) e(t), t = 0..steps, shape (steps + 1, n).

    Computed in the eigenbasis of the symmetric ``H``: e(t) = V (1 - eta lam)^t V^T e(0).
    """
    H, e0 = _host(H, "H", 2), _host(e0, "e0", 1)
    if H.shape != (e0.shape[0], e0.shape[0]):
        raise ValueError(f"H must be n x n with n = len(e0) = {e0.shape[0]}, got {H.shape}")
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(H).max()))):
        raise ValueError("H must be symmetric")
    eta = check_real(eta, "eta", positive=True)
    steps = check_int(steps, "steps", minimum=0)
    check_alloc(what="the residuals (steps + 1) x n", steps=steps + 1, n=e0.shape[0])
    lam, V = np.linalg.eigh(H)
    c0 = V.T @ e0
    with np.errstate(over="ignore", invalid="ignore"):
        factors = (1.0 - eta * lam)[None, :] ** np.arange(steps + 1)[:, None]
        out = (factors * c0[None, :]) @ V.T
    if not np.isfinite(out).all():
        raise FloatingPointError("the residuals of the linear dynamics are not representable in float64: "
                                 "|1 - eta lambda| > 1 makes them grow without bound; use a smaller eta "
                                 "or fewer steps")
    return out
