r"""Part II: problems, output-scaled models and the sharpening experiment.

* :func:`problem` -- Gaussian data with Rademacher, kernel-worst-case or planted
  single-index-teacher labels (:data:`LABELS`); :func:`width_for` the width of a
  parameters-per-sample ratio md/n.
* :func:`alpha_model` -- the output-scaled, centered network
  f_alpha(p, x) = alpha (f(p, x) - f(p0, x)) of Chizat, Oyallon and Bach
  (large alpha lazy, small alpha rich); its kernels are alpha^2 times the network's,
  so the unit-rate rule of :mod:`expreg_nb.stability` trains it with the network's
  rates divided by alpha^2.  The mean-field model is
  :func:`expreg_nb.relu2.fair.meanfield_model`.
* :func:`sharpening_run` / :func:`sharpening_task` -- a run at a *fixed* scale
  c = eta lambda_max(K(0)), recording lambda_max(K(t)): how far a step chosen at
  t = 0 is from stable along the run.

The network against its linearization at fair steps is :mod:`expreg_nb.relu2.fair`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import data, sweep
from . import network as relu2
from ..backend import array_module, to_device, to_numpy
from ..stability import _data, loss_rises
from ..training import Model, train
from ..seeding import make_rng
from ..validation import as_float_array, check_int, check_params, check_real, check_seed

__all__ = ["LABELS", "alpha_model", "problem", "sharpening_run", "sharpening_task", "teacher_labels",
           "width_for", "worst_case_labels"]

#: Label kinds: Rademacher signs, the kernel-worst-case direction (see :func:`worst_case_labels`),
#: or a planted single-index teacher (see :func:`teacher_labels`).
LABELS = ("sign", "worst", "teacher")


def width_for(md_over_n: float, n: int, d: int) -> int:
    """The width m with m d / n closest to ``md_over_n`` from above (at least 1)."""
    md_over_n = check_real(md_over_n, "md_over_n", positive=True)
    n, d = check_int(n, "n", maximum=2**53), check_int(d, "d", maximum=2**53)
    return max(1, math.ceil(md_over_n * n / d - 1e-9))


def worst_case_labels(X, ratio):
    r"""The labels an adversary who knows the limit kernel picks: sqrt(n) times the unit
    eigenvector of lambda_min(H1inf + ratio H2inf), the direction the linearized
    infinite-width dynamics fit most slowly (host array, ||y||^2 = n)."""
    ratio = check_real(ratio, "ratio", nonnegative=True)
    X = as_float_array(X, "X", ndim=2)
    H1, H2 = (to_numpy(H) for H in relu2.gram_infinite(X))
    _, vec = np.linalg.eigh(H1 + ratio * H2)
    v = vec[:, 0]
    v = v * np.sign(v[np.argmax(np.abs(v))])         # a fixed sign: deterministic labels
    return v * math.sqrt(X.shape[0])


def teacher_labels(X, *, seed):
    r"""Labels of a planted single-index teacher: y_i = phi(<theta, x_i>) with theta a uniformly
    random unit vector (from ``seed``) and phi(z) = (relu(z) - 1/sqrt(2 pi)) / sqrt(1/2 - 1/(2 pi)),
    the ReLU centered and scaled so that E y = 0, E y^2 = 1 for x ~ N(0, I) (host array)."""
    X = np.asarray(to_numpy(as_float_array(X, "X", ndim=2)), dtype=float)
    theta = make_rng(seed, "relu2", "teacher").standard_normal(X.shape[1])
    theta /= np.linalg.norm(theta)
    z = X @ theta
    return (np.maximum(z, 0.0) - 1.0 / math.sqrt(2 * math.pi)) / math.sqrt(0.5 - 1.0 / (2 * math.pi))


def problem(n, d, *, data_seed, labels="sign", ratio=1.0):
    """Gaussian data X (n, d) and labels of kind ``labels`` (one of :data:`LABELS`), on the backend.

    ``"worst"`` labels are built from the *limit* kernel H1inf + ratio H2inf of the data
    (:func:`worst_case_labels`), not from K(0) of a particular initialization.
    """
    data_seed = check_seed(data_seed, "data_seed")
    if not isinstance(labels, str) or labels not in LABELS:
        raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
    ratio = check_real(ratio, "ratio", nonnegative=True)
    X = data.gaussian(n, d, seed=data_seed)
    if labels == "sign":
        return X, data.labels(n, seed=data_seed, kind="sign")
    if labels == "teacher":
        return X, to_device(teacher_labels(X, seed=data_seed), array_module(X))
    return X, to_device(worst_case_labels(X, ratio), array_module(X))


# --------------------------------------------------------------------------- lazy vs rich
def alpha_model(alpha, params0, X):
    r"""The centered, output-scaled network f_alpha(p) = alpha (f(p, X) - f(p0, X)) as a Model.

    Built from :func:`expreg_nb.relu2.model`'s functions on the fixed data ``X``
    (the model only evaluates on ``X``).  Its per-block kernels are alpha^2 times
    the network's, so training it with the network's rates divided by alpha^2
    gives the same step kernel at t = 0 and the same linearization; alpha -> inf
    is the lazy limit, small alpha the rich one.
    """
    alpha = check_real(alpha, "alpha", positive=True)
    base = relu2.model()
    X = _data(X)  # the caller's array itself: the model compares its data by identity
    p0 = check_params(base, params0, X, "params0")
    f0 = base.forward(p0, X)
    X0 = X

    def _check_X(X):
        # the same data: the same array, or (a backend's converted copy) equal entries
        if X is not X0 and not (getattr(X, "shape", None) == X0.shape and bool((X == X0).all())):
            raise ValueError("alpha_model is centered on the data it was built with; pass that X")

    def forward(p, X):
        _check_X(X)
        return alpha * (base.forward(p, X) - f0)

    def residual_and_grads(p, X, y, need):
        e = forward(p, X) - y
        return e, {k: alpha * g for k, g in base.vjp(p, X, e, need).items()}

    return Model(
        name=f"relu2 alpha={alpha:g} centered", blocks=base.blocks, trainable=base.trainable,
        init=base.init, forward=forward, residual_and_grads=residual_and_grads,
        jvp=lambda p, X, t: alpha * base.jvp(p, X, t),
        vjp=lambda p, X, e, need: {k: alpha * g for k, g in base.vjp(p, X, e, need).items()},
        gram=lambda p, X, need: {k: alpha**2 * H for k, H in base.gram(p, X, need).items()},
        check_params=base.check_params, gram_limit=None, flips=base.flips,
        options={"alpha": alpha, "centered": True},
    )


# --------------------------------------------------------------------------- sharpening
def sharpening_run(*, n, d, md_over_n, c, data_seed, init_seed, ratio=1.0, steps=3000, tol=1e-3,
                   record_every=5):
    """One network run at a *fixed* scale c = eta * lambda_max(K(0)) (no halving), recording
    lambda_max(K(t)) every ``record_every`` steps: a :class:`~expreg_nb.training.TrainResult`."""
    data_seed, init_seed = check_seed(data_seed, "data_seed"), check_seed(init_seed, "init_seed")
    m = width_for(md_over_n, n, d)
    X, y = problem(n, d, data_seed=data_seed, ratio=ratio)
    model = relu2.model()
    p0 = model.init(m, d, init_seed)
    eta_w, eta_a = relu2.step_sizes(p0["W"], p0["a"], X, ratio=ratio, c=c)
    return train(model, X, y, init=p0, rates={"W": eta_w, "a": eta_a}, steps=steps, tol=tol,
                 record=("lambda_max",), record_every=record_every, progress=False)


@sweep.task("relu2-sharpening")
def sharpening_task(*, n, d, md_over_n, c, data_seed, init_seed, ratio=1.0, steps=3000, tol=1e-3):
    """:func:`sharpening_run` summarized: how far lambda_max(K(t)) grows at a fixed c.

    Returns ``m``, ``lambda_max0``, ``max_lambda_max``, their ratio ``growth``, the
    number of steps on which the loss rose (``rises``), ``net_fit`` and ``net_steps``;
    a diverged run is an error row of the sweep.
    """
    data_seed, init_seed = check_seed(data_seed, "data_seed"), check_seed(init_seed, "init_seed")
    res = sharpening_run(n=n, d=d, md_over_n=md_over_n, c=c, data_seed=data_seed,
                         init_seed=init_seed, ratio=ratio, steps=steps, tol=tol)
    lam = res.history["lambda_max"]
    rises, largest = loss_rises(res.history.loss)
    return {"m": res.W.shape[0], "lambda_max0": float(lam[0]), "max_lambda_max": float(lam.max()),
            "growth": float(lam.max() / lam[0]), "rises": rises, "max_rise": largest,
            "net_fit": bool(res.relative_loss <= tol), "net_steps": res.history.steps}
