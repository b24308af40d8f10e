r"""Part I: over-parameterized exponential regression (Gao, Mahadevan, Song 2023).

Model (normalized form, the default)::

    u_i = F(W, x_i) = (1/sqrt(m)) * sum_r a_r exp(<w_r, x_i>)

with ``W`` of shape (m, d) (row r is w_r), fixed signs ``a`` in {-1, +1}^m,
data ``X`` of shape (n, d) and labels ``y`` of shape (n,).  ``normalized=False``
drops the 1/sqrt(m), which is the form written in the paper's abstract.

Everything is written as matrix products over chunks of neurons
(:func:`expreg_nb.chunks.neuron_slices`), so no m x n x d array is formed and
the extra memory of :func:`gram` is O(n^2 + n * chunk).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import array_module, get_xp
from ..chunks import FeatureBlocks, check_dtype, neuron_slices
from ..seeding import check_seed, rademacher, standard_normal
from ..training import RECORDABLE, Model, TrainResult  # one vocabulary for every model
from ..training import train as _train
from ..validation import (
    LOG_MAX,
    as_float_array,
    check_alloc,
    check_bool,
    check_int,
    check_labels,
    check_network,
    check_real,
    check_same_backend,
    input_scale,
    not_representable,
)



# --------------------------------------------------------------------------- helpers
def _scale(m: int, normalized: bool) -> float:
    return 1.0 / math.sqrt(m) if normalized else 1.0






def _finite_or_raise(value, what: str, W, X, stage: str = "sum"):
    """``value`` if finite, else a FloatingPointError saying which step overflowed.

    ``stage`` names what is formed from the finite exp(<w_r, x_i>) once they are:
    ``"sum"`` (the weighted sum over neurons), ``"product"`` (the products
    exp(<w_r, x_i>) exp(<w_r, x_j>) of the Gram matrix), ``"gradient"`` (products
    with the residual).
    """
    xp = array_module(value)
    if bool(xp.isfinite(value).all()):
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        zmax = max(float((X @ W[s].T).max()) for s in neuron_slices(W.shape[0], X.shape[0]))
    if not math.isfinite(zmax):
        cause = "the inner products <w_r, x_i> themselves overflowed"
    elif zmax > LOG_MAX:
        cause = f"exp(<w_r, x_i>) overflowed: max <w_r, x_i> = {zmax:.4g} > log(float64 max) = {LOG_MAX:.1f}"
    elif stage == "product" and 2 * zmax > LOG_MAX:
        cause = (f"every exp(<w_r, x_i>) is finite (max <w_r, x_i> = {zmax:.4g}) but the products "
                 f"exp(<w_r, x_i> + <w_r, x_j>) overflowed (exponent up to {2 * zmax:.4g} > {LOG_MAX:.1f})")
    elif stage == "gradient":
        cause = (f"every exp(<w_r, x_i>) is finite (max <w_r, x_i> = {zmax:.4g}) but their products with "
                 f"the residual u - y and the inputs overflowed")
    else:
        cause = (f"every exp(<w_r, x_i>) is finite (max <w_r, x_i> = {zmax:.4g} <= {LOG_MAX:.1f}) but their "
                 f"sum over the m={W.shape[0]} neurons overflowed")
    raise not_representable(what, cause, X)


def _exp_features(W, X, sl, out=None):
    """The n x c block E^T[:, sl] with entries exp(<w_r, x_i>), exponentiated in place (one n x c array).

    ``out``: an n x c C-contiguous array to compute into (see :class:`~expreg_nb.chunks.FeatureBlocks`).
    """
    xp = array_module(W)
    if out is None:
        E = X @ W[sl].T
    else:
        E = xp.matmul(X, W[sl].T, out=out)
    xp.exp(E, out=E)
    return E






# --------------------------------------------------------------------------- API
def init_params(m, d, *, seed, coupled=False, dtype=None):
    """Initial weights and signs ``(W, a)`` on the active backend.

    ``W`` has i.i.d. N(0, 1) entries (w_r(0) ~ N(0, I_d)); ``a`` holds
    independent uniform signs.  With ``coupled=True`` neurons come in pairs
    (rows 2k and 2k+1) with equal weights and opposite signs, so that
    F(W(0), x) = 0 for every x; ``m`` must then be even.  ``dtype``
    (``"float64"``, the default, or ``"float32"``) rounds the same float64 draws.
    """
    m, d = check_int(m, "m"), check_int(d, "d")
    check_alloc(m=m, d=d)
    seed = check_seed(seed)
    coupled = check_bool(coupled, "coupled")
    dt = check_dtype(dtype)
    xp = get_xp()
    if not coupled:
        W, a = standard_normal((m, d), seed, "exp-init", "W"), rademacher(m, seed, "exp-init", "a")
    else:
        if m % 2:
            raise ValueError(f"m must be even for the coupled initialization, got m={m}")
        half = standard_normal((m // 2, d), seed, "exp-init", "W")
        signs = rademacher(m // 2, seed, "exp-init", "a")
        W, a = xp.repeat(half, 2, axis=0), xp.stack([signs, -signs], axis=1).reshape(m)
    return W.astype(dt, copy=False), a.astype(dt, copy=False)


def forward(W, a, X, *, normalized=True, chunk=None):
    """Model outputs ``u`` (shape (n,)) for the rows of ``X``."""
    W, a, X = check_network(W, a, X)
    normalized = check_bool(normalized, "normalized")
    return _finite_or_raise(_forward(W, a, X, _scale(W.shape[0], normalized), chunk), "the model output", W, X)


def _forward(W, a, X, scale, chunk=None):
    xp = array_module(W)
    n = X.shape[0]
    u = xp.zeros(n, dtype=X.dtype)

    feat = functools.partial(_exp_features, W, X)  # feat(slice, out): the block of those neurons

    with FeatureBlocks(xp, n, W.shape[0], X.dtype, chunk) as fb:
        for i, sl in enumerate(fb.slices):
            u += fb.form(i, feat) @ a[sl]
    return u * scale


def loss(W, a, X, y, *, normalized=True, chunk=None):
    """Quadratic loss L(W) = 0.5 * ||u - y||^2 (a float)."""
    W, a, X = check_network(W, a, X)
    y = check_labels(y, X)
    u = forward(W, a, X, normalized=normalized, chunk=chunk)
    return _loss_value(u, y)


def _loss_value(u, y):
    with np.errstate(over="ignore"):
        value = 0.5 * float(((u - y) ** 2).sum())
    if not math.isfinite(value):
        raise FloatingPointError(
            f"the loss 0.5 ||u - y||^2 is not representable in float64: the outputs are finite "
            f"(max |u_i - y_i| = {float(array_module(u).abs(u - y).max()):.4g}) but the sum of the squared "
            f"residuals overflowed; rescale the inputs or the labels."
        )
    return value


def _residual_and_grad(W, a, X, y, scale, chunk=None):
    """(u - y, dL/dW), every exp(<w_r, x_i>) computed once while the features fit the budget.

    Features that fit :func:`expreg_nb.chunks.feature_budget` are computed once and
    kept for the gradient (one n x m block when ``chunk`` is None); the
    gradient needs e = u - y, hence every chunk, so the blocks beyond the budget
    are formed a second time in the gradient pass.
    """
    xp = array_module(W)
    n, m = X.shape[0], W.shape[0]

    feat = functools.partial(_exp_features, W, X)  # feat(slice, out): the block of those neurons

    fb = FeatureBlocks(xp, n, m, X.dtype, chunk, twice=True)
    if fb.small:  # one small block: the straight-line formulas (the least Python overhead)
        Et = fb.form(0, feat)
        e = (Et @ a) * scale - y
        g = Et.T @ (e[:, None] * X)
        g *= (a * scale)[:, None]
        return e, g
    if not fb.slices:
        return -y, xp.empty_like(W)
    with fb:
        u = xp.zeros(n, dtype=X.dtype)
        for i, sl in enumerate(fb.slices):
            u += fb.form(i, feat) @ a[sl]
        e = u * scale - y
        eX = e[:, None] * X
        g = xp.empty_like(W)
        for i, sl in enumerate(fb.slices):
            g[sl] = fb.again(i, feat).T @ eX
    g *= (a * scale)[:, None]
    return e, g


def grad(W, a, X, y, *, normalized=True, chunk=None):
    r"""Gradient of the loss with respect to ``W`` (shape of ``W``).

    Matrix form: grad = (1/sqrt m) diag(a) E diag(u - y) X with E_{ri} = exp(<w_r, x_i>).
    """
    W, a, X = check_network(W, a, X)
    y = check_labels(y, X)
    normalized = check_bool(normalized, "normalized")
    _, g = _residual_and_grad(W, a, X, y, _scale(W.shape[0], normalized), chunk)
    return _finite_or_raise(g, "the gradient", W, X, "gradient")


def gram(W, X, *, normalized=True, chunk=None):
    r"""The Gram (NTK) matrix H(W), shape (n, n).

    H_{ij} = (1/m) sum_r <x_i, x_j> exp(<w_r, x_i> + <w_r, x_j>) = (X X^T) o (E^T E) / m,
    accumulated over chunks of neurons.  ``normalized=False`` gives the NTK of
    the unnormalized model, m times larger.  The signs a_r^2 = 1 drop out.
    """
    W = as_float_array(W, "W", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    check_same_backend(W=W, X=X)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W has d={W.shape[1]}; they must match")
    normalized = check_bool(normalized, "normalized")
    return _finite_or_raise(_gram(W, X, normalized, chunk), "the Gram matrix", W, X, "product")


def _gram(W, X, normalized, chunk=None):
    """(X X^T) o (E^T E) [/ m], streamed over chunks; E_c E_c^T is one symmetric rank-c update.

    NumPy's matmul recognizes ``A @ A.T`` (one buffer, transposed) and calls BLAS
    ``syrk``, which does half the multiplications of a general product and gives
    an exactly symmetric result.
    """
    xp = array_module(W)
    n, m = X.shape[0], W.shape[0]
    K = xp.zeros((n, n), dtype=X.dtype)

    feat = functools.partial(_exp_features, W, X)  # feat(slice, out): the block of those neurons

    with FeatureBlocks(xp, n, m, X.dtype, chunk) as fb:
        for i in range(len(fb.slices)):
            Et = fb.form(i, feat)
            K += Et @ Et.T
        Et = None
    K *= X @ X.T
    if normalized:
        K /= m
    return K


def _pair_geometry(X):
    """(xp, G, s): the module, the Gram matrix G = X X^T of the inputs and its diagonal s_i = ||x_i||^2."""
    X = as_float_array(X, "X", ndim=2)
    xp = array_module(X)
    with np.errstate(over="ignore", invalid="ignore"):
        G = X @ X.T
    if not bool(xp.isfinite(G).all()):
        raise FloatingPointError(
            f"the inner products <x_i, x_j> are not representable in float64 (they overflowed); "
            f"the input scale is max |x_ik| = {input_scale(X):.4g}: rescale the inputs (smaller ||x_i||)."
        )
    return xp, G, xp.diagonal(G).copy()


def _star_overflow(what, exponent, X):
    return FloatingPointError(
        f"{what} is not representable in float64: exp(||x_i + x_j||^2 / 2) overflowed "
        f"(max ||x_i + x_j||^2 / 2 = {float(exponent.max()):.4g} > log(float64 max) = {LOG_MAX:.1f}); "
        f"the input scale is max |x_ik| = {input_scale(X):.4g}: rescale the inputs (smaller ||x_i||)."
    )


def gram_star(X):
    r"""The infinite-width Gram matrix H*_{ij} = <x_i, x_j> exp(||x_i + x_j||^2 / 2).

    A matrix that float64 cannot hold raises :class:`FloatingPointError`.  (Log space
    would not help: ||x_i + x_j||^2 / 2 <= max(2 ||x_i||^2, 2 ||x_j||^2), so an entry's
    exp overflows only where a diagonal entry ||x_i||^2 exp(2 ||x_i||^2), with
    ||x_i||^2 > 354, is itself beyond float64.)
    """
    xp, G, s = _pair_geometry(X)
    E = 0.5 * (s[:, None] + s[None, :]) + G
    with np.errstate(over="ignore", invalid="ignore"):
        H = G * xp.exp(E)
    if not bool(xp.isfinite(H).all()):
        raise _star_overflow("H*", E, X)
    return H


def lambda_min_star(X) -> float:
    """lambda = lambda_min(H*), the constant of the convergence theorem."""
    H = gram_star(X)
    try:
        lam = float(array_module(H).linalg.eigvalsh(H)[0])
    except np.linalg.LinAlgError as exc:  # pragma: no cover - finite symmetric input
        raise FloatingPointError(f"lambda_min(H*) could not be computed ({exc}); rescale the inputs") from None
    if not math.isfinite(lam):
        raise FloatingPointError("lambda_min(H*) is not representable in float64; rescale the inputs")
    return lam


def gram_star_variance(X):
    r"""Variance of one summand of H(W(0))_{ij}, w ~ N(0, I_d), shape (n, n).

    The summand <x_i, x_j> exp(<w, x_i + x_j>) has mean H*_{ij} and second moment
    <x_i, x_j>^2 exp(2 ||x_i + x_j||^2), so its variance is
    <x_i, x_j>^2 (exp(2 S_ij) - exp(S_ij)) with S_ij = ||x_i + x_j||^2.
    H(W(0))_{ij} averages m independent summands: its variance is this over m.
    """
    xp, G, s = _pair_geometry(X)
    S = s[:, None] + s[None, :] + 2.0 * G
    with np.errstate(over="ignore", invalid="ignore"):
        V = G**2 * (xp.exp(2.0 * S) - xp.exp(S))
    if not bool(xp.isfinite(V).all()):
        raise _star_overflow("the variance of H(W(0))", S, X)
    return V


def lambda_star_lower_bound(X) -> float:
    r"""Schur-product lower bound on lambda_min(H*) (a float, >= 0).

    With D^2 = diag(exp(||x_i||^2)), G = X X^T and the Gaussian kernel
    K_ij = exp(-||x_i - x_j||^2 / 2), H* = D^2 (G o K) D^2, and
    lambda_min(A o B) >= lambda_min(A) min_i B_ii gives::

        lambda_min(H*) >= min_i exp(2 ||x_i||^2) * max(min_i ||x_i||^2 lambda_min(K), lambda_min(G)).
    """
    xp, G, s = _pair_geometry(X)
    K = xp.exp(G - 0.5 * (s[:, None] + s[None, :]))
    lam_K = float(xp.linalg.eigvalsh(K)[0])
    lam_G = float(xp.linalg.eigvalsh(G)[0])
    inner, s_min = max(float(s.min()) * lam_K, lam_G), float(s.min())
    if inner <= 0:
        return 0.0
    if 2.0 * s_min + math.log(inner) > LOG_MAX:
        raise FloatingPointError(
            f"the lower bound exp(2 min_i ||x_i||^2) * {inner:.4g} is not representable in float64 "
            f"(min_i ||x_i||^2 = {s_min:.4g}); rescale the inputs (smaller ||x_i||)."
        )
    with np.errstate(over="ignore"):
        return max(0.0, float(xp.exp(2.0 * s).min()) * inner)


# --------------------------------------------------------------------------- the model
def _jvp(W, a, X, dW, scale, chunk=None):
    """du = s sum_r a_r E_ir <dW_r, x_i>, the change of the outputs along the tangent ``dW``."""
    xp = array_module(W)
    n = X.shape[0]
    du = xp.zeros(n, dtype=X.dtype)

    feat = functools.partial(_exp_features, W, X)  # feat(slice, out): the block of those neurons

    with FeatureBlocks(xp, n, W.shape[0], X.dtype, chunk) as fb:
        for i, sl in enumerate(fb.slices):
            F = fb.form(i, feat)
            F *= X @ dW[sl].T
            du += F @ a[sl]
    return du * scale


def _vjp(W, a, X, e, scale, chunk=None):
    """J^T e = s diag(a) E diag(e) X, the gradient of 0.5 ||u - y||^2 when e = u - y."""
    xp = array_module(W)
    eX = e[:, None] * X
    g = xp.empty_like(W)

    feat = functools.partial(_exp_features, W, X)  # feat(slice, out): the block of those neurons

    with FeatureBlocks(xp, X.shape[0], W.shape[0], X.dtype, chunk) as fb:
        if not fb.slices:
            return g
        for i, sl in enumerate(fb.slices):
            g[sl] = fb.form(i, feat).T @ eX
    g *= (a * scale)[:, None]
    return g


def _check_params(params, X, *, what="init"):
    W, a, X = check_network(params["W"], params["a"], X)
    if a.shape[0] and not bool(((a == 1.0) | (a == -1.0)).all()):
        raise ValueError(f"{what}: the signs a must all be +1 or -1 (the Gram matrix and the "
                         f"monitors use a_r^2 = 1)")
    return {"W": W, "a": a}


def model(*, normalized=True, coupled=False, chunk=None, dtype=None):
    """Part I's model as a :class:`~expreg_nb.training.Model` (blocks ``W``, trained, and ``a``, fixed signs).

    ``coupled`` only affects the initialization drawn by :func:`expreg_nb.training.train`
    (it is ignored when ``init`` is given).  ``dtype="float32"`` keeps the
    parameters in float32 and computes every step, Jacobian product and kernel in
    float32 (the data are rounded to float32 each step); the residual is returned
    in float64, so the loss is summed in float64.  The default, float64, is
    unchanged bit for bit.
    """
    normalized = check_bool(normalized, "normalized")
    coupled = check_bool(coupled, "coupled")
    if chunk is not None:
        check_int(chunk, "chunk")
    dt = check_dtype(dtype)
    wide = dt.name == "float64"

    def s(p):
        return _scale(p["W"].shape[0], normalized)

    def init(m, d, seed):
        W, a = init_params(m, d, seed=seed, coupled=coupled, dtype=dt)
        return {"W": W, "a": a}

    def check(params, X, *, what="init"):
        p = _check_params(params, X, what=what)
        return p if wide else {k: v.astype(dt) for k, v in p.items()}

    def fwd(p, X):
        if wide:
            return forward(p["W"], p["a"], X, normalized=normalized, chunk=chunk)
        return _forward(p["W"], p["a"], X.astype(dt, copy=False), s(p), chunk)

    def cast(x):  # data of another float type (float32 X given directly) is computed in the model's dtype
        return x if x.dtype is dt else x.astype(dt, copy=False)

    def residual_and_grads(p, X, y, need):
        if wide:
            e, g = _residual_and_grad(p["W"], p["a"], cast(X), cast(y), s(p), chunk)
            return e, {"W": g}
        e, g = _residual_and_grad(p["W"], p["a"], X.astype(dt, copy=False), y.astype(dt, copy=False),
                                  s(p), chunk)
        return e.astype("float64"), {"W": g}

    def jvp(p, X, tangents):
        if wide:
            return _jvp(p["W"], p["a"], cast(X), cast(tangents["W"]), s(p), chunk)
        return _jvp(p["W"], p["a"], X.astype(dt, copy=False), tangents["W"].astype(dt, copy=False),
                    s(p), chunk)

    def vjp(p, X, e, need):
        if wide:
            return {"W": _vjp(p["W"], p["a"], cast(X), cast(e), s(p), chunk)}
        return {"W": _vjp(p["W"], p["a"], X.astype(dt, copy=False), e.astype(dt, copy=False), s(p), chunk)}

    def gram_blocks(p, X, need):
        if wide:
            return {"W": gram(p["W"], X, normalized=normalized, chunk=chunk)}
        return {"W": _gram(p["W"], X.astype(dt, copy=False), normalized, chunk)}

    def gram_limit(X):
        # The unnormalized NTK is m H(W): it has no finite limit.
        return {"W": gram_star(X)} if normalized else None

    return Model(
        name="exp-regression", blocks=("W", "a"), trainable=("W",), init=init, forward=fwd,
        residual_and_grads=residual_and_grads, jvp=jvp, vjp=vjp, gram=gram_blocks,
        check_params=check, gram_limit=gram_limit, flips=None,
        options={"normalized": normalized, "coupled": coupled, **({} if wide else {"dtype": dt.name})},
    )


def train(X, y, *, m, eta, steps, seed, normalized=True, coupled=False, init=None, chunk=None,
          dtype=None, **options) -> TrainResult:
    """Gradient descent W(t+1) = W(t) - eta * grad L(W(t)): :func:`expreg_nb.training.train` on :func:`model`.

    ``init=(W0, a)`` starts from given weights and signs (a in {-1, +1}); then
    ``seed`` and ``coupled`` are ignored.  ``dtype="float32"`` trains in float32
    (see :func:`model`).  ``options`` are those of :func:`expreg_nb.training.train`:
    ``record`` (names from :data:`~expreg_nb.training.RECORDABLE`; the kernel it
    monitors is eta H(W(t))), ``record_every``, ``monitors``, ``tol``, ``progress``.
    Returns a :class:`~expreg_nb.training.TrainResult` (``res.W``, ``res.a``,
    ``res.W0``, ``res.movement()`` per neuron).
    """
    eta = check_real(eta, "eta", positive=True)
    return _train(model(normalized=normalized, coupled=coupled, chunk=chunk, dtype=dtype), X, y,
                  rates={"W": eta}, steps=steps, m=m, seed=seed, init=init,
                  rate_names={"W": "eta"}, **options)


# --------------------------------------------------------------------------- Chapter 3: perturbation
def truncation_level(W, X, *, chunk=None) -> float:
    """The truncation level max_{r,i} exp(|<w_r, x_i>|) of weights ``W`` on data ``X`` (a float)."""
    W = as_float_array(W, "W", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    check_same_backend(W=W, X=X)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W has d={W.shape[1]}; they must match")
    with np.errstate(over="ignore", invalid="ignore"):
        zmax = max(float(array_module(W).abs(X @ W[sl].T).max()) for sl in neuron_slices(W.shape[0], X.shape[0], chunk))
    if not zmax <= LOG_MAX:
        raise FloatingPointError(
            f"the truncation level exp(max |<w_r, x_i>|) is not representable in float64: max |<w_r, x_i>| = "
            f"{zmax:.4g} > log(float64 max) = {LOG_MAX:.1f}; the input scale is max |x_ik| = "
            f"{input_scale(X):.4g}: rescale the inputs (smaller ||x_i||)."
        )
    return math.exp(zmax)


def gram_ascent_perturbation(W0, X, R, *, iters=5, normalized=True, chunk=None):
    r"""Weights ``W`` with ||w_r - W0_r|| = R for every r that make ||H(W) - H(W0)||_2 large.

    Alternating ascent: with v the eigenvector of the largest-magnitude eigenvalue s of
    H(W) - H(W0) (of H(W0) at the start), each neuron moves by R along the unit vector
    that maximizes the linearization of sign(s) v^T H(W) v, which is
    g_r = sum_i v_i E_ri c_ri x_i with c_ri = sum_j <x_i, x_j> v_j E_rj (matrix products
    per chunk of neurons).  Returns the best ``W`` found in ``iters`` rounds.
    """
    W0 = as_float_array(W0, "W0", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    check_same_backend(W0=W0, X=X)
    if X.shape[1] != W0.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W0 has d={W0.shape[1]}; they must match")
    R = check_real(R, "R", nonnegative=True)
    iters = check_int(iters, "iters", minimum=1)
    normalized = check_bool(normalized, "normalized")
    xp = array_module(W0)
    G = X @ X.T
    H0 = gram(W0, X, normalized=normalized, chunk=chunk)
    evals, evecs = xp.linalg.eigh(H0)
    v, sign = evecs[:, -1], 1.0
    best_W, best = W0, -1.0
    for _ in range(iters):
        g = xp.empty_like(W0)
        for sl in neuron_slices(W0.shape[0], X.shape[0], chunk):
            VE = _exp_features(W0, X, sl) * v[:, None]       # n x c: v_i E_ri
            g[sl] = (VE * (G @ VE)).T @ X                     # c x d
        _finite_or_raise(g, "the ascent direction", W0, X, "product")
        norms = (g**2).sum(axis=1, keepdims=True) ** 0.5
        direction = xp.where(norms > 0, g / xp.where(norms > 0, norms, 1.0), 0.0)
        W = W0 + (sign * R) * direction
        evals, evecs = xp.linalg.eigh(gram(W, X, normalized=normalized, chunk=chunk) - H0)
        k = int(xp.argmax(xp.abs(evals)))
        size = float(abs(evals[k]))
        if size > best:
            best_W, best = W, size
        v, sign = evecs[:, k], (1.0 if float(evals[k]) >= 0 else -1.0)
    return best_W


__all__ = [
    "RECORDABLE",
    "TrainResult",
    "forward",
    "grad",
    "gram",
    "gram_ascent_perturbation",
    "gram_star",
    "gram_star_variance",
    "init_params",
    "lambda_min_star",
    "lambda_star_lower_bound",
    "loss",
    "model",
    "train",
    "truncation_level",
]
