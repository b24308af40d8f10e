r"""Part II: shallow ReLU networks with both layers trained at two rates (Razborov 2022).

Canonical model (NTK-style scaling, both layers O(1))::

    u_i = f(x_i) = (1/sqrt(m)) * sum_r a_r relu(<w_r, x_i> / sqrt(d))

with ``W`` of shape (m, d) (row r is w_r), output weights ``a`` of shape (m,),
data ``X`` of shape (n, d) and labels ``y`` of shape (n,).  Initialization:
w_r ~ N(0, I_d), a_r ~ N(0, 1).  Loss L = 0.5 * ||u - y||^2.  Gradient descent
updates ``W`` with rate ``eta_w`` and ``a`` with rate ``eta_a``; either rate may
be 0 (that layer frozen), not both.

The derivative of relu at 0 is taken to be 0 (the activation indicator is
``z > 0``); this is a measure-zero convention for Gaussian weights.

Per-layer Gram matrices (Jacobian Gram per layer), so that under gradient flow
du/dt = -(eta_w H1 + eta_a H2)(u - y)::

    H1_ij = (<x_i, x_j>/d) * (1/m) sum_r a_r^2 1[z_ir > 0] 1[z_jr > 0]
    H2_ij = (1/m) sum_r relu(z_ir) relu(z_jr),        z_ir = <w_r, x_i>/sqrt(d)

Infinite-width limits (arc-cosine kernels of order 0 and 1, Cho & Saul 2009)
are in :func:`gram_infinite`.  Everything is written as matrix products over
chunks of neurons (:func:`expreg_nb.chunks.neuron_slices`).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import array_module
from ..chunks import FeatureBlocks, check_dtype, neuron_slices
from ..seeding import check_seed, standard_normal
from ..training import RECORDABLE, Model, TrainResult  # one vocabulary for every model
from ..training import train as _train
from ..validation import (
    as_float_array,
    check_alloc,
    check_int,
    check_labels,
    check_network,
    check_real,
    check_same_backend,
    input_scale,
    not_representable,
)

# --------------------------------------------------------------------------- checks
def _finite_or_raise(value, what: str, W, X, stage: str = "sum"):
    """``value`` if finite, else a FloatingPointError saying which step overflowed (``stage``:
    ``"sum"`` the weighted sum over neurons, ``"product"`` the Gram products, ``"gradient"``)."""
    xp = array_module(value)
    if bool(xp.isfinite(value).all()):
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        zmax = max(float(xp.abs(_preact(W, X, sl)).max()) for sl in neuron_slices(W.shape[0], X.shape[0]))
    if not math.isfinite(zmax):
        cause = "the pre-activations <w_r, x_i>/sqrt(d) themselves overflowed"
    elif stage == "product":
        cause = (f"the pre-activations are finite (max |<w_r, x_i>|/sqrt(d) = {zmax:.4g}) but the products "
                 f"relu(z_ir) relu(z_jr) or <x_i, x_j> a_r^2 overflowed")
    elif stage == "gradient":
        cause = (f"the outputs are finite (max |<w_r, x_i>|/sqrt(d) = {zmax:.4g}) but their products with "
                 f"the residual u - y and the inputs overflowed")
    else:
        cause = (f"the pre-activations are finite (max |<w_r, x_i>|/sqrt(d) = {zmax:.4g}) but the weighted sum "
                 f"sum_r a_r relu(z_ir) over the m={W.shape[0]} neurons overflowed")
    raise not_representable(what, cause, X, "rescale the inputs (or the weights)")




def _check_rates(eta_w, eta_a):
    eta_w = check_real(eta_w, "eta_w", nonnegative=True)
    eta_a = check_real(eta_a, "eta_a", nonnegative=True)
    if eta_w == 0 and eta_a == 0:
        raise ValueError("eta_w and eta_a are both 0: at least one layer must be trained")
    return eta_w, eta_a


# --------------------------------------------------------------------------- blocks
def _preact(W, X, sl, out=None):
    """The n x c block of pre-activations z_ir = <w_r, x_i>/sqrt(d) for the neurons in ``sl``.

    ``out``: an n x c C-contiguous array to compute into.
    """
    Z = X @ W[sl].T if out is None else array_module(W).matmul(X, W[sl].T, out=out)
    Z *= 1.0 / math.sqrt(X.shape[1])
    return Z


def _relu_features(W, X, sl, out=None):
    """The n x c block relu(z_ir), computed in place (one n x c array, ``out`` when given)."""
    A = _preact(W, X, sl, out)
    array_module(A).maximum(A, 0.0, out=A)
    return A






def _residual_and_grads(W, a, X, y, chunk=None, need=("W", "a")):
    """(u - y, {block: gradient}), each block relu(Z) formed once while the features fit the budget.

    With A = relu(Z) kept, u = A a, g_a = A^T e, and the activation pattern
    1[Z > 0] = sign(A) is formed in place of A for g_W.  One n x m block when
    ``chunk`` is None and it fits :func:`expreg_nb.chunks.feature_budget`;
    otherwise chunks, of which those beyond the budget are formed a second time
    in the gradient pass (the gradient needs e = u - y, hence every chunk).
    """
    xp = array_module(W)
    m, d = W.shape
    n = X.shape[0]
    s = 1.0 / math.sqrt(m)

    feat = functools.partial(_relu_features, W, X)  # feat(slice, out): the block of those neurons

    fb = FeatureBlocks(xp, n, m, X.dtype, chunk, twice=True)
    if fb.small:  # one small block: the straight-line formulas (the least Python overhead)
        Z = fb.form(0, lambda sl, out: _preact(W, X, sl))
        A = xp.maximum(Z, 0.0)
        e = (A @ a) * s - y
        grads = {}
        if "W" in need:
            # (D diag(e))^T X: the n x m block is scaled, not the n x d data (no n x d temporary)
            grads["W"] = (a[:, None] * (s / math.sqrt(d))) * (((Z > 0) * e[:, None]).T @ X)
        if "a" in need:
            grads["a"] = (A.T @ e) * s
        return e, grads
    gW = xp.empty_like(W) if "W" in need else None
    ga = xp.empty_like(a) if "a" in need else None
    if not fb.slices:
        return -y, {k: v for k, v in (("W", gW), ("a", ga)) if v is not None}
    with fb:
        u = xp.zeros(n, dtype=X.dtype)
        for i, sl in enumerate(fb.slices):
            u += fb.form(i, feat) @ a[sl]
        e = u * s - y
        for i, sl in enumerate(fb.slices):
            A = fb.again(i, feat)
            if ga is not None:
                ga[sl] = A.T @ e
            if gW is not None:
                xp.sign(A, out=A)  # 1[z > 0] as 0/1 in the same buffer
                A *= e[:, None]    # D diag(e): scale the n x c block, not the n x d data
                gW[sl] = A.T @ X
    grads = {}
    if gW is not None:
        gW *= (a * (s / math.sqrt(d)))[:, None]
        grads["W"] = gW
    if ga is not None:
        ga *= s
        grads["a"] = ga
    return e, grads


def _vjp(W, a, X, e, need, chunk=None):
    """J^T e per block: gW = (1/sqrt(m d)) diag(a) D^T diag(e) X, ga = (1/sqrt(m)) relu(Z)^T e."""
    xp = array_module(W)
    m, d = W.shape
    s = 1.0 / math.sqrt(m)
    gW = xp.empty_like(W) if "W" in need else None
    ga = xp.empty_like(a) if "a" in need else None

    feat = functools.partial(_relu_features, W, X)  # feat(slice, out): the block of those neurons

    with FeatureBlocks(xp, X.shape[0], m, X.dtype, chunk) as fb:
        for i, sl in enumerate(fb.slices):
            A = fb.form(i, feat)
            if ga is not None:
                ga[sl] = A.T @ e
            if gW is not None:
                xp.sign(A, out=A)  # 1[z > 0]
                A *= e[:, None]
                gW[sl] = A.T @ X
    if gW is not None:
        gW *= (a * (s / math.sqrt(d)))[:, None]
    if ga is not None:
        ga *= s
    return {k: v for k, v in (("W", gW), ("a", ga)) if v is not None}


def _jvp(W, a, X, tangents, chunk=None):
    """du = (1/sqrt m) sum_r [da_r relu(z_ir) + a_r 1[z_ir > 0] <dW_r, x_i>/sqrt(d)]."""
    xp = array_module(W)
    m, d = W.shape
    dW, da = tangents.get("W"), tangents.get("a")
    du = xp.zeros(X.shape[0], dtype=X.dtype)

    feat = functools.partial(_relu_features, W, X)  # feat(slice, out): the block of those neurons

    with FeatureBlocks(xp, X.shape[0], m, X.dtype, chunk) as fb:
        for i, sl in enumerate(fb.slices):
            A = fb.form(i, feat)
            if da is not None:
                du += A @ da[sl]
            if dW is not None:
                xp.sign(A, out=A)  # 1[z > 0]
                A *= X @ dW[sl].T
                du += A @ a[sl] * (1.0 / math.sqrt(d))
    return du * (1.0 / math.sqrt(m))


# --------------------------------------------------------------------------- API
def init_params(m, d, *, seed, dtype=None):
    """Initial weights ``(W, a)`` on the active backend: W_rk ~ N(0, 1), a_r ~ N(0, 1), i.i.d.

    ``dtype`` (``"float64"``, the default, or ``"float32"``) rounds the same float64 draws.
    """
    m, d = check_int(m, "m"), check_int(d, "d")
    check_alloc(m=m, d=d)
    seed = check_seed(seed)
    dt = check_dtype(dtype)
    W, a = standard_normal((m, d), seed, "relu2-init", "W"), standard_normal(m, seed, "relu2-init", "a")
    return W.astype(dt, copy=False), a.astype(dt, copy=False)


def forward(W, a, X, *, chunk=None):
    """Model outputs ``u`` (shape (n,)): u_i = m^{-1/2} sum_r a_r relu(<w_r, x_i>/sqrt(d))."""
    W, a, X = check_network(W, a, X)
    return _finite_or_raise(_forward(W, a, X, chunk), "the model output", W, X)


def _forward(W, a, X, chunk=None):
    xp = array_module(W)
    u = xp.zeros(X.shape[0], dtype=X.dtype)

    feat = functools.partial(_relu_features, W, X)  # feat(slice, out): the block of those neurons

    with np.errstate(over="ignore", invalid="ignore"):
        with FeatureBlocks(xp, X.shape[0], W.shape[0], X.dtype, chunk) as fb:
            for i, sl in enumerate(fb.slices):
                u += fb.form(i, feat) @ a[sl]
        u = u * (1.0 / math.sqrt(W.shape[0]))
    return u


def loss(W, a, X, y, *, chunk=None):
    """Quadratic loss L(W, a) = 0.5 * ||u - y||^2 (a float)."""
    W, a, X = check_network(W, a, X)
    y = check_labels(y, X)
    u = forward(W, a, X, chunk=chunk)
    with np.errstate(over="ignore"):
        value = 0.5 * float(((u - y) ** 2).sum())
    if not math.isfinite(value):
        raise FloatingPointError(
            "the loss 0.5 ||u - y||^2 is not representable in float64: the outputs are finite but the sum "
            "of the squared residuals overflowed; rescale the inputs or the labels."
        )
    return value


def grads(W, a, X, y, *, chunk=None):
    r"""Gradients ``(gW, ga)`` of the loss with respect to both layers.

    Matrix form, with Z_{ir} = <w_r, x_i>/sqrt(d), D = 1[Z > 0], e = u - y::

        gW = (1/sqrt(m d)) diag(a) D^T diag(e) X,      ga = (1/sqrt(m)) relu(Z)^T e.
    """
    W, a, X = check_network(W, a, X)
    y = check_labels(y, X)
    with np.errstate(over="ignore", invalid="ignore"):
        _, g = _residual_and_grads(W, a, X, y, chunk)
    return (_finite_or_raise(g["W"], "the gradient in W", W, X, "gradient"),
            _finite_or_raise(g["a"], "the gradient in a", W, X, "gradient"))


def gram_layers(W, a, X, *, chunk=None):
    r"""The per-layer Gram matrices ``(H1, H2)``, each of shape (n, n).

    H1 = (X X^T / d) o (D diag(a^2) D^T) / m  and  H2 = relu(Z) relu(Z)^T / m,
    accumulated over chunks of neurons (``o`` is the entrywise product).
    """
    W, a, X = check_network(W, a, X)
    H1, H2 = _gram_layers(W, a, X, chunk)
    return (_finite_or_raise(H1, "the Gram matrix H1", W, X, "product"),
            _finite_or_raise(H2, "the Gram matrix H2", W, X, "product"))


def _gram_layers(W, a, X, chunk=None):
    """(H1, H2) streamed over chunks; A A^T and (D |a|)(D |a|)^T are symmetric (syrk) products."""
    xp = array_module(W)
    n, m = X.shape[0], W.shape[0]
    K1 = xp.zeros((n, n), dtype=X.dtype)
    K2 = xp.zeros((n, n), dtype=X.dtype)

    feat = functools.partial(_relu_features, W, X)  # feat(slice, out): the block of those neurons

    with np.errstate(over="ignore", invalid="ignore"):
        with FeatureBlocks(xp, n, m, X.dtype, chunk) as fb:
            for i, sl in enumerate(fb.slices):
                A = fb.form(i, feat)
                K2 += A @ A.T
                xp.sign(A, out=A)  # D = 1[z > 0]
                A *= xp.abs(a[sl])[None, :]  # D diag(|a|): (D|a|)(D|a|)^T = D diag(a^2) D^T
                K1 += A @ A.T
            A = None
        H1 = K1 * (X @ X.T) * (1.0 / (X.shape[1] * m))
        H2 = K2 * (1.0 / m)
    return H1, H2


def combined_kernel(W, a, X, eta_w, eta_a, *, chunk=None):
    """The kernel of the two-rate dynamics, eta_w H1 + eta_a H2 (a layer with rate 0 drops out)."""
    eta_w, eta_a = _check_rates(eta_w, eta_a)
    H1, H2 = gram_layers(W, a, X, chunk=chunk)
    return eta_w * H1 + eta_a * H2


def arccos_kernels(rho):
    r"""The arc-cosine kernels ``(k0, k1)`` of a correlation ``rho`` in [-1, 1] (array of any shape).

    k0 = (pi - theta)/(2 pi),  k1 = (sin theta + (pi - theta) cos theta)/(2 pi),  theta = arccos rho.
    """
    rho = as_float_array(rho, "rho", nonempty=False)
    xp = array_module(rho)
    if rho.size and float(xp.abs(rho).max()) > 1.0 + 1e-9:
        raise ValueError(f"rho must lie in [-1, 1] (a correlation), got max |rho| = {float(xp.abs(rho).max()):.6g}")
    rho = xp.clip(rho, -1.0, 1.0)
    theta = xp.arccos(rho)
    k0 = (math.pi - theta) / (2 * math.pi)
    k1 = (xp.sqrt(1.0 - rho * rho) + (math.pi - theta) * rho) / (2 * math.pi)
    return k0, k1


def gram_infinite(X):
    r"""The infinite-width limits ``(H1inf, H2inf)`` of :func:`gram_layers` (E a_r^2 = 1).

    H1inf_ij = (<x_i, x_j>/d) (pi - theta_ij)/(2 pi),
    H2inf_ij = (||x_i|| ||x_j||/d) (sin theta_ij + (pi - theta_ij) cos theta_ij)/(2 pi),
    with theta_ij the angle between x_i and x_j.  Rows of ``X`` must be nonzero.
    """
    X = as_float_array(X, "X", ndim=2)
    xp = array_module(X)
    with np.errstate(over="ignore", invalid="ignore"):
        G = X @ X.T
    if not bool(xp.isfinite(G).all()):
        raise FloatingPointError(f"the inner products <x_i, x_j> are not representable in float64 (they "
                                 f"overflowed); the input scale is max |x_ik| = {input_scale(X):.4g}: rescale "
                                 f"the inputs")
    norms = xp.sqrt(xp.diagonal(G).copy())
    rowmax = xp.abs(X).max(axis=1)
    if X.shape[0] and not bool((rowmax > 0).all()):
        raise ValueError("X must have nonzero rows: the angle to a zero vector is undefined")
    if bool((norms > 1e-150).all()):
        N = norms[:, None] * norms[None, :]
        rho = G / N
    else:  # tiny rows, ||x_i||^2 underflows: angles from rows rescaled by their largest entry
        Xs = X / rowmax[:, None]
        ns = xp.sqrt((Xs * Xs).sum(axis=1))
        rho = (Xs @ Xs.T) / (ns[:, None] * ns[None, :])
        N = (rowmax * ns)[:, None] * (rowmax * ns)[None, :]
    xp.fill_diagonal(rho, 1.0)
    k0, k1 = arccos_kernels(rho)
    d = X.shape[1]
    return G * k0 / d, N * k1 / d


def step_sizes(W, a, X, *, ratio, c=1.0, chunk=None):
    r"""Rates ``(eta_w, eta_a)`` with eta_a / eta_w = ``ratio`` and lambda_max(eta_w H1 + eta_a H2) = c at (W, a).

    ``ratio=0`` trains the first layer only, ``ratio=math.inf`` the second only.
    Gradient descent on a quadratic with curvature lambda_max is stable for
    rate * lambda_max < 2, so ``c`` in (0, 2) is a step size in units of that limit.
    """
    is_inf = isinstance(ratio, (float, np.floating)) and ratio == math.inf
    ratio = math.inf if is_inf else check_real(ratio, "ratio", nonnegative=True)
    c = check_real(c, "c", positive=True)
    H1, H2 = gram_layers(W, a, X, chunk=chunk)
    xp = array_module(H1)
    with np.errstate(over="ignore", invalid="ignore"):
        K = H2 if ratio == math.inf else H1 + ratio * H2
    lam = float(xp.linalg.eigvalsh(_finite_or_raise(K, "the kernel H1 + ratio H2", W, X, "product"))[-1])
    if not lam > 0:
        raise ValueError(
            "the kernel of the trained layers is zero at (W, a) on X (no neuron is active on any x_i, "
            "or the output weights a are 0): no step size gives lambda_max = c"
        )
    if not math.isfinite(c / lam):
        raise ValueError(f"the kernel of the trained layers is nearly zero at (W, a) on X (lambda_max = {lam:.3g}): "
                         f"the step size c / lambda_max is beyond float64")
    if ratio == math.inf:
        return 0.0, c / lam
    eta_w = c / lam
    if not math.isfinite(ratio * eta_w):
        raise ValueError(f"eta_a = ratio * eta_w = {ratio:.3g} * {eta_w:.3g} is beyond float64; use a smaller ratio")
    return eta_w, ratio * eta_w


def flipped_fraction(W, W0, X, *, chunk=None) -> float:
    """Fraction of the activation signs 1[<w_r, x_i> > 0] that differ between ``W`` and ``W0``."""
    W = as_float_array(W, "W", ndim=2)
    W0 = as_float_array(W0, "W0", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    check_same_backend(W=W, W0=W0, X=X)
    if W.shape != W0.shape:
        raise ValueError(f"W has shape {tuple(W.shape)} but W0 has {tuple(W0.shape)}; they must match")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W has d={W.shape[1]}; they must match")
    flips = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for sl in neuron_slices(W.shape[0], X.shape[0], chunk):
            Z, Z0 = X @ W[sl].T, X @ W0[sl].T
            _finite_or_raise(Z, "the pre-activations of W", W, X)
            _finite_or_raise(Z0, "the pre-activations of W0", W0, X)
            flips += int(((Z > 0) != (Z0 > 0)).sum())
    return flips / (X.shape[0] * W.shape[0])


def _check_params(params, X):
    W, a, X = check_network(params["W"], params["a"], X)
    return {"W": W, "a": a}


def model(*, chunk=None, dtype=None):
    """Part II's network as a :class:`~expreg_nb.training.Model` (blocks ``W`` and ``a``, both trainable).

    ``dtype="float32"`` keeps the parameters in float32 and computes every step,
    Jacobian product and kernel in float32 (the data are rounded to float32 each
    step); the residual is returned in float64, so the loss is summed in float64.
    The default, float64, is unchanged bit for bit.
    """
    if chunk is not None:
        check_int(chunk, "chunk")
    dt = check_dtype(dtype)
    wide = dt.name == "float64"

    def cast(x):  # data of another float type (float32 X given directly) is computed in the model's dtype
        return x if x.dtype is dt else x.astype(dt, copy=False)

    def init(m, d, seed):
        W, a = init_params(m, d, seed=seed, dtype=dt)
        return {"W": W, "a": a}

    def check(params, X):
        p = _check_params(params, X)
        return p if wide else {k: v.astype(dt) for k, v in p.items()}

    def fwd(p, X):
        if wide:
            return forward(p["W"], p["a"], X, chunk=chunk)
        return _forward(p["W"], p["a"], cast(X), chunk)

    def residual_and_grads(p, X, y, need):
        e, g = _residual_and_grads(p["W"], p["a"], cast(X), cast(y), chunk, need)
        return (e if wide else e.astype("float64")), g

    def jvp(p, X, tangents):
        return _jvp(p["W"], p["a"], cast(X), {k: cast(v) for k, v in tangents.items()}, chunk)

    def vjp(p, X, e, need):
        return _vjp(p["W"], p["a"], cast(X), cast(e), need, chunk)

    def gram_blocks(p, X, need):
        if wide:
            H1, H2 = gram_layers(p["W"], p["a"], X, chunk=chunk)
        else:
            H1, H2 = _gram_layers(p["W"], p["a"], cast(X), chunk)
        return {"W": H1, "a": H2}

    def gram_limit(X):
        H1, H2 = gram_infinite(X)
        return {"W": H1, "a": H2}

    def flips(p, p0, X):
        return flipped_fraction(p["W"], p0["W"], X, chunk=chunk)

    return Model(
        name="relu2", blocks=("W", "a"), trainable=("W", "a"), init=init, forward=fwd,
        residual_and_grads=residual_and_grads, jvp=jvp, vjp=vjp, gram=gram_blocks,
        check_params=check, gram_limit=gram_limit, flips=flips,
        options={} if wide else {"dtype": dt.name},
    )


def train(X, y, *, m, eta_w, eta_a, steps, seed, init=None, chunk=None, dtype=None,
          **options) -> TrainResult:
    """Gradient descent on both layers: :func:`expreg_nb.training.train` on :func:`model`.

    W <- W - eta_w grad_W L and a <- a - eta_a grad_a L; a layer with rate 0 stays
    frozen (not both).  ``init=(W0, a0)`` starts from given weights (e.g. +-1
    signs ``a0`` with ``eta_a=0`` for the model of Du et al.); ``seed`` is then
    ignored.  ``dtype="float32"`` trains in float32 (see :func:`model`).  ``options``
    are those of :func:`expreg_nb.training.train`: ``record`` (the kernel it
    monitors is K = eta_w H1 + eta_a H2), ``record_every``, ``monitors``, ``tol``,
    ``progress``.
    """
    eta_w, eta_a = _check_rates(eta_w, eta_a)
    return _train(model(chunk=chunk, dtype=dtype), X, y, rates={"W": eta_w, "a": eta_a},
                  steps=steps, m=m, seed=seed, init=init,
                  rate_names={"W": "eta_w", "a": "eta_a"}, **options)


def lecun_form(W, a):
    """The same network in standard parameterization with LeCun initialization: ``(W/sqrt(d), a/sqrt(m))``.

    f(x) = sum_r v_r relu(<u_r, x>) with u_r = w_r/sqrt(d), v_r = a_r/sqrt(m) is
    exactly the canonical model; see Part II, Chapter 1 for how the rates map.
    """
    W = as_float_array(W, "W", ndim=2)
    a = as_float_array(a, "a", ndim=1)
    check_same_backend(W=W, a=a)
    if a.shape[0] != W.shape[0]:
        raise ValueError(f"a has {a.shape[0]} entries but W has {W.shape[0]} rows (neurons); they must match")
    m, d = W.shape
    return W / math.sqrt(d), a / math.sqrt(m)


__all__ = [
    "RECORDABLE",
    "TrainResult",
    "arccos_kernels",
    "combined_kernel",
    "flipped_fraction",
    "forward",
    "gram_infinite",
    "gram_layers",
    "grads",
    "init_params",
    "lecun_form",
    "loss",
    "model",
    "step_sizes",
    "train",
]
