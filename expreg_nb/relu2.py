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

import math
from dataclasses import dataclass

from .backend import array_module
from .chunks import neuron_slices
from .seeding import check_seed, standard_normal
from .training import History, gradient_descent
from .validation import (
    as_float_array,
    check_int,
    check_labels,
    check_network,
    check_real,
    check_same_backend,
)

#: Quantities :func:`train` can record on request.
#:
#: ``lambda_min`` / ``lambda_max``
#:     extreme eigenvalues of the combined kernel eta_w H1(t) + eta_a H2(t);
#: ``kernel_drift``
#:     ||K(t) - K(0)||_2 / ||K(0)||_2 for that combined kernel K;
#: ``flipped``
#:     fraction of the n*m activation signs 1[z_ir > 0] that differ from initialization;
#: ``movement``
#:     records ``movement_W`` = ||W(t) - W(0)||_F / ||W(0)||_F and
#:     ``movement_a`` = ||a(t) - a(0)|| / ||a(0)||.
RECORDABLE = ("lambda_min", "lambda_max", "kernel_drift", "flipped", "movement")


# --------------------------------------------------------------------------- checks




def _check_rates(eta_w, eta_a):
    eta_w = check_real(eta_w, "eta_w", nonnegative=True)
    eta_a = check_real(eta_a, "eta_a", nonnegative=True)
    if eta_w == 0 and eta_a == 0:
        raise ValueError("eta_w and eta_a are both 0: at least one layer must be trained")
    return eta_w, eta_a


# --------------------------------------------------------------------------- blocks
def _preact(W, X, sl):
    """The n x c block of pre-activations z_ir = <w_r, x_i>/sqrt(d) for the neurons in ``sl``."""
    return (X @ W[sl].T) * (1.0 / math.sqrt(X.shape[1]))


def _residual_and_grads(W, a, X, y, chunk=None, need=("W", "a")):
    """(u - y, {block: gradient}) computing each chunk's pre-activations at most twice."""
    xp = array_module(W)
    m, d = W.shape
    s = 1.0 / math.sqrt(m)
    slices = neuron_slices(m, X.shape[0], chunk)
    if len(slices) == 1:
        Z = _preact(W, X, slices[0])
        A = xp.maximum(Z, 0.0)
        e = (A @ a) * s - y
        grads = {}
        if "W" in need:
            grads["W"] = (a[:, None] * (s / math.sqrt(d))) * ((Z > 0).astype(Z.dtype).T @ (e[:, None] * X))
        if "a" in need:
            grads["a"] = (A.T @ e) * s
        return e, grads
    u = xp.zeros(X.shape[0])
    for sl in slices:
        u += xp.maximum(_preact(W, X, sl), 0.0) @ a[sl]
    e = u * s - y
    eX = e[:, None] * X
    gW = xp.empty_like(W) if "W" in need else None
    ga = xp.empty_like(a) if "a" in need else None
    for sl in slices:
        Z = _preact(W, X, sl)
        if gW is not None:
            gW[sl] = (a[sl, None] * (s / math.sqrt(d))) * ((Z > 0).astype(Z.dtype).T @ eX)
        if ga is not None:
            ga[sl] = (xp.maximum(Z, 0.0).T @ e) * s
    grads = {k: v for k, v in (("W", gW), ("a", ga)) if v is not None}
    return e, grads


# --------------------------------------------------------------------------- API
def init_params(m, d, *, seed):
    """Initial weights ``(W, a)`` on the active backend: W_rk ~ N(0, 1), a_r ~ N(0, 1), i.i.d."""
    m, d = check_int(m, "m"), check_int(d, "d")
    seed = check_seed(seed)
    return standard_normal((m, d), seed, "relu2-init", "W"), standard_normal(m, seed, "relu2-init", "a")


def forward(W, a, X, *, chunk=None):
    """Model outputs ``u`` (shape (n,)): u_i = m^{-1/2} sum_r a_r relu(<w_r, x_i>/sqrt(d))."""
    W, a, X = check_network(W, a, X)
    xp = array_module(W)
    u = xp.zeros(X.shape[0])
    for sl in neuron_slices(W.shape[0], X.shape[0], chunk):
        u += xp.maximum(_preact(W, X, sl), 0.0) @ a[sl]
    return u * (1.0 / math.sqrt(W.shape[0]))


def loss(W, a, X, y, *, chunk=None):
    """Quadratic loss L(W, a) = 0.5 * ||u - y||^2 (a float)."""
    u = forward(W, a, X, chunk=chunk)
    y = check_labels(y, X)
    return 0.5 * float(((u - y) ** 2).sum())


def grads(W, a, X, y, *, chunk=None):
    r"""Gradients ``(gW, ga)`` of the loss with respect to both layers.

    Matrix form, with Z_{ir} = <w_r, x_i>/sqrt(d), D = 1[Z > 0], e = u - y::

        gW = (1/sqrt(m d)) diag(a) D^T diag(e) X,      ga = (1/sqrt(m)) relu(Z)^T e.
    """
    W, a, X = check_network(W, a, X)
    y = check_labels(y, X)
    _, g = _residual_and_grads(W, a, X, y, chunk)
    return g["W"], g["a"]


def gram_layers(W, a, X, *, chunk=None):
    r"""The per-layer Gram matrices ``(H1, H2)``, each of shape (n, n).

    H1 = (X X^T / d) o (D diag(a^2) D^T) / m  and  H2 = relu(Z) relu(Z)^T / m,
    accumulated over chunks of neurons (``o`` is the entrywise product).
    """
    W, a, X = check_network(W, a, X)
    xp = array_module(W)
    n, m = X.shape[0], W.shape[0]
    K1 = xp.zeros((n, n))
    K2 = xp.zeros((n, n))
    for sl in neuron_slices(m, n, chunk):
        Z = _preact(W, X, sl)
        D = (Z > 0).astype(Z.dtype)
        A = xp.maximum(Z, 0.0)
        K1 += (D * (a[sl] ** 2)[None, :]) @ D.T
        K2 += A @ A.T
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
    xp = array_module(rho)
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
    G = X @ X.T
    norms = xp.sqrt(xp.diagonal(G).copy())
    if X.shape[0] and not bool((norms > 0).all()):
        raise ValueError("X must have nonzero rows: the angle to a zero vector is undefined")
    N = norms[:, None] * norms[None, :]
    rho = G / N
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
    ratio = check_real(ratio, "ratio", nonnegative=True) if ratio != math.inf else math.inf
    c = check_real(c, "c", positive=True)
    H1, H2 = gram_layers(W, a, X, chunk=chunk)
    xp = array_module(H1)
    if ratio == math.inf:
        return 0.0, c / float(xp.linalg.eigvalsh(H2)[-1])
    eta_w = c / float(xp.linalg.eigvalsh(H1 + ratio * H2)[-1])
    return eta_w, ratio * eta_w


@dataclass
class TrainResult:
    """Result of :func:`train`: final and initial weights of both layers, the rates and the :class:`History`."""

    W: object
    a: object
    W0: object
    a0: object
    eta_w: float
    eta_a: float
    history: History

    @property
    def final_loss(self) -> float:
        return float(self.history.loss[-1])

    @property
    def relative_loss(self) -> float:
        """L(T) / L(0)."""
        return float(self.history.loss[-1] / self.history.loss[0])

    def movement(self):
        """(||W(T) - W(0)||_F / ||W(0)||_F, ||a(T) - a(0)|| / ||a(0)||) as floats."""
        xp = array_module(self.W)
        return (float(xp.linalg.norm(self.W - self.W0) / xp.linalg.norm(self.W0)),
                float(xp.linalg.norm(self.a - self.a0) / xp.linalg.norm(self.a0)))


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
    for sl in neuron_slices(W.shape[0], X.shape[0], chunk):
        flips += int(((X @ W[sl].T > 0) != (X @ W0[sl].T > 0)).sum())
    return flips / (X.shape[0] * W.shape[0])


def train(
    X,
    y,
    *,
    m,
    eta_w,
    eta_a,
    steps,
    seed,
    init=None,
    record=(),
    record_every=1,
    tol=None,
    progress=None,
    chunk=None,
):
    """Gradient descent on both layers, W <- W - eta_w grad_W L, a <- a - eta_a grad_a L.

    Parameters
    ----------
    X, y
        Data (n, d) and labels (n,), NumPy or CuPy arrays.
    m, steps, seed
        Width, number of steps (>= 0), seed of the initialization.
    eta_w, eta_a
        Rates of the first and second layer, >= 0, not both 0; a layer with
        rate 0 stays frozen at its initial value.
    init
        Optional ``(W0, a0)`` to start from instead of :func:`init_params`
        (e.g. ``a0`` = +-1 signs with ``eta_a=0`` for the model of Du et al.).
    record
        Any of :data:`RECORDABLE`, evaluated every ``record_every`` steps.
    tol
        Stop early once L(t)/L(0) <= tol.
    progress
        tqdm progress bar: ``None`` shows it for long runs, ``False`` silences it.

    Returns
    -------
    :class:`TrainResult`.  Raises :class:`~expreg_nb.training.DivergenceError`
    (naming the step and both rates) when the loss stops being finite.
    """
    X = as_float_array(X, "X", ndim=2)
    y = check_labels(y, X)
    m = check_int(m, "m")
    eta_w, eta_a = _check_rates(eta_w, eta_a)
    steps = check_int(steps, "steps", minimum=0)
    unknown = set(record) - set(RECORDABLE)
    if isinstance(record, str) or unknown:
        raise ValueError(f"record must be a collection of {RECORDABLE}, got {record!r}")
    if init is None:
        W0, a0 = init_params(m, X.shape[1], seed=seed)
        xp = array_module(X)
        W0, a0 = xp.asarray(W0), xp.asarray(a0)
    else:
        try:
            W0, a0 = init
        except (TypeError, ValueError):
            raise TypeError("init must be a pair (W0, a0)") from None
        W0, a0, X = check_network(W0, a0, X)
        if W0.shape[0] != m:
            raise ValueError(f"init has {W0.shape[0]} neurons but m={m}")
    xp = array_module(W0)
    rates = {"W": eta_w, "a": eta_a}
    need = tuple(k for k, v in rates.items() if v > 0)

    def objective(p):
        return _residual_and_grads(p["W"], p["a"], X, y, chunk, need)

    cache = {}

    def K_of(p):
        if cache.get("key") != (id(p["W"]), id(p["a"])):
            H1, H2 = gram_layers(p["W"], p["a"], X, chunk=chunk)
            cache.update(key=(id(p["W"]), id(p["a"])), K=eta_w * H1 + eta_a * H2, eig=None)
        return cache["K"]

    def eig_of(p):
        K = K_of(p)
        if cache["eig"] is None:
            cache["eig"] = xp.linalg.eigvalsh(K)
        return cache["eig"]

    monitors = {}
    if "lambda_min" in record:
        monitors["lambda_min"] = lambda p: eig_of(p)[0]
    if "lambda_max" in record:
        monitors["lambda_max"] = lambda p: eig_of(p)[-1]
    if "kernel_drift" in record:
        H1_0, H2_0 = gram_layers(W0, a0, X, chunk=chunk)
        K0 = eta_w * H1_0 + eta_a * H2_0
        K0_norm = float(xp.linalg.norm(K0, 2))
        monitors["kernel_drift"] = lambda p: xp.linalg.norm(K_of(p) - K0, 2) / K0_norm
    if "flipped" in record:
        monitors["flipped"] = lambda p: flipped_fraction(p["W"], W0, X, chunk=chunk)
    if "movement" in record:
        nW0, na0 = xp.linalg.norm(W0), xp.linalg.norm(a0)
        monitors["movement_W"] = lambda p: xp.linalg.norm(p["W"] - W0) / nW0
        monitors["movement_a"] = lambda p: xp.linalg.norm(p["a"] - a0) / na0

    params, history = gradient_descent(
        {"W": W0, "a": a0},
        objective,
        rates,
        steps,
        monitors=monitors,
        record_every=record_every,
        tol=tol,
        progress=progress,
        desc=f"relu2 m={m}",
        rate_names={"W": "eta_w", "a": "eta_a"},
    )
    return TrainResult(W=params["W"], a=params["a"], W0=W0, a0=a0,
                       eta_w=eta_w, eta_a=eta_a, history=history)


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
    "step_sizes",
    "train",
]
