r"""Part II: reusable experiments on the two-rate ReLU network, run through :mod:`expreg_nb.sweep`.

**The network against its linearization.**  :func:`compare` trains the network
and its first-order Taylor model at initialization (:func:`expreg_nb.training.linearize`,
the NTK or lazy control) on the same data, from the same initialization, with the
same rates and step budget, and records both outputs u_net(t), u_lin(t) so that
their separation ||u_net(t) - u_lin(t)|| / ||y|| can be read along the run.
:func:`fit_task` is its one-row summary for a sweep.

**Step sizes that are stable for the whole run.**  The rates have a fixed ratio
eta_a / eta_w and a scale set by eta * lambda_max(K(0)) = c.  Because
lambda_max(K(t)) grows during training (progressive sharpening), a scale that
is safe at t = 0 need not stay safe.  :func:`compare` therefore starts at
``c`` and halves it (at most :data:`MAX_HALVINGS` times) until the recorded
max_t lambda_max(K(t)) of the network's run stays below :data:`ACCEPT` (< 2,
with room for the steps between two recordings); ``max_lambda_max`` and the
``c`` used are reported for every run, and the chapters assert < 2 on them.

**What "beyond the NTK regime" means here** (:func:`fit_task`): the network
reaches L(T)/L(0) <= tol and its linearization either does not within the same
budget or needs at least :data:`SLOWER` times as many steps (``beyond_ntk``);
separately, ``separated`` says that the two output vectors differed at some
recorded step by more than :data:`SEPARATION` ||y||.

**Lazy versus rich.**  :func:`alpha_model` is the output-scaled, centered
network f_alpha(p, x) = alpha (f(p, x) - f(p0, x)) of Chizat, Oyallon and Bach
(trained with rates / alpha^2 so that its step kernel at t = 0 equals the
network's): large alpha is lazy (it tends to the linearization), small alpha
rich.  Our network is alpha = 1 uncentered; the mean-field scaling 1/m of the
output is alpha = 1/sqrt(m).

Named sweeps (``python -m expreg_nb.sweep --list``) are in :data:`SWEEPS`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import data, sweep
from . import network as relu2
from ..backend import array_module, to_device, to_numpy
from ..sweep import grid
from ..training import RECORDABLE, DivergenceError, Model, linearize, train
from ..validation import (as_float_array, check_int, check_labels, check_nonzero_norm, check_params,
                          check_real, check_seed)

__all__ = ["ACCEPT", "LABELS", "MAX_HALVINGS", "SEPARATION", "SLOWER", "alpha_model",
           "alpha_task", "compare", "critical_md_over_n", "fit_task", "problem", "sharpening_run",
           "sharpening_task",
           "success_table", "width_for", "worst_case_labels"]

#: A run is accepted as stable when its recorded max_t lambda_max(K(t)) is below this (< 2).
ACCEPT = 1.8
#: How many times :func:`compare` may halve the scale c before giving up.
MAX_HALVINGS = 4
#: "Much slower": the linearization needs at least this many times the network's steps.
SLOWER = 2.0
#: Outputs "separate" when max_t ||u_net(t) - u_lin(t)|| exceeds this fraction of ||y||.
SEPARATION = 0.1
#: Label kinds: Rademacher signs, or the kernel-worst-case direction (see :func:`worst_case_labels`).
LABELS = ("sign", "worst")


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


def problem(n, d, *, data_seed, labels="sign", ratio=1.0):
    """Gaussian data X (n, d) and labels of kind ``labels`` (``"sign"`` or ``"worst"``), on the backend."""
    data_seed = check_seed(data_seed, "data_seed")
    if not isinstance(labels, str) or labels not in LABELS:
        raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
    ratio = check_real(ratio, "ratio", nonnegative=True)
    X = data.gaussian(n, d, seed=data_seed)
    if labels == "sign":
        return X, data.labels(n, seed=data_seed, kind="sign")
    return X, to_device(worst_case_labels(X, ratio), array_module(X))


def _outputs(model, X):
    return {"u": lambda p: model.forward(p, X)}


def compare(model, p0, X, y, *, ratio, c=0.5, steps=4000, tol=1e-3, record_every=10,
            record=("lambda_max",), rate_scale=1.0, accept=ACCEPT, max_halvings=MAX_HALVINGS):
    r"""Train ``model`` from ``p0`` and its linearization at ``p0`` with the same rates and budget.

    The rates are ``relu2.step_sizes(W0, a0, X, ratio=ratio, c=c')`` times ``rate_scale``,
    with c' = c, c/2, ... (at most ``max_halvings`` halvings) until the network's run
    has max_t lambda_max(K(t)) < ``accept`` at every recorded step and a finite loss.
    Returns a dict: ``net``, ``lin`` (:class:`~expreg_nb.training.TrainResult`, outputs
    recorded as ``u``), ``rates``, ``c`` (the scale used), ``halvings``,
    ``separation`` (steps, ||u_net - u_lin|| / ||y|| at the recorded steps both runs reached).
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    X = as_float_array(X, "X", ndim=2)
    y = check_nonzero_norm(check_labels(y, X), "y")  # separations are relative to ||y||
    p0 = check_params(model, p0, X, "p0")
    if isinstance(record, str) or not hasattr(record, "__iter__") or not all(isinstance(r, str) for r in record):
        raise ValueError(f"record must be a collection of names from {RECORDABLE}, got {record!r}")
    record = tuple(record)
    c = check_real(c, "c", positive=True)
    accept = check_real(accept, "accept", positive=True)
    rate_scale = check_real(rate_scale, "rate_scale", positive=True)
    max_halvings = check_int(max_halvings, "max_halvings", minimum=0)
    if "lambda_max" not in record:
        record = (*record, "lambda_max")
    halvings = 0
    # the rates are linear in c: one eigenproblem at p0, then halve them with c
    eta_w1, eta_a1 = relu2.step_sizes(p0["W"], p0["a"], X, ratio=ratio, c=1.0)
    while True:
        rates = {"W": c * eta_w1 * rate_scale, "a": c * eta_a1 * rate_scale}
        try:
            net = train(model, X, y, init=p0, rates=rates, steps=steps, tol=tol, record=record,
                        record_every=record_every, monitors=_outputs(model, X), progress=False)
            stable = float(np.max(net.history["lambda_max"])) < accept
        except DivergenceError:
            if halvings >= max_halvings:
                raise
            stable = False
        if stable or halvings >= max_halvings:
            break
        c, halvings = c / 2, halvings + 1
    lin_model = linearize(model, p0)
    lin = train(lin_model, X, y, init=p0, rates=rates, steps=steps, tol=tol, record_every=record_every,
                monitors=_outputs(lin_model, X), progress=False)
    k = min(len(net.history.record_steps), len(lin.history.record_steps))
    # both runs record at 0, record_every, ... and at their last step; compare the common grid
    common = [i for i in range(k) if net.history.record_steps[i] == lin.history.record_steps[i]]
    un, ul = net.history["u"], lin.history["u"]
    ynorm = float(np.linalg.norm(to_numpy(y)))
    sep = np.array([np.linalg.norm(un[i] - ul[i]) / ynorm for i in common])
    return {"net": net, "lin": lin, "rates": rates, "c": c, "halvings": halvings,
            "separation": (net.history.record_steps[common], sep)}


def _summary(cmp, tol):
    net, lin = cmp["net"], cmp["lin"]
    net_fit = bool(net.relative_loss <= tol)
    lin_fit = bool(lin.relative_loss <= tol)
    sep = cmp["separation"][1]
    return {
        "net_fit": net_fit, "net_steps": net.history.steps, "net_rel_loss": net.relative_loss,
        "lin_fit": lin_fit, "lin_steps": lin.history.steps, "lin_rel_loss": lin.relative_loss,
        "beyond_ntk": net_fit and (not lin_fit or lin.history.steps >= SLOWER * net.history.steps),
        "sep_max": float(sep.max()), "separated": bool(sep.max() > SEPARATION),
        "max_lambda_max": float(np.max(net.history["lambda_max"])),
        "lambda_max_growth": float(np.max(net.history["lambda_max"]) / net.history["lambda_max"][0]),
        "c_used": cmp["c"], "halvings": cmp["halvings"],
        "eta_w": cmp["rates"]["W"], "eta_a": cmp["rates"]["a"],
    }


@sweep.task("relu2-fit")
def fit_task(*, n, d, md_over_n, ratio, data_seed, init_seed, c=0.5, steps=4000, tol=1e-3,
             labels="sign"):
    """One run of the network and of its linearization on Gaussian data (a row of a sweep).

    The rates have eta_a / eta_w = ``ratio``; their scale starts at
    eta * lambda_max(K(0)) = ``c`` and is halved until the whole run is stable
    (:func:`compare`).  Returns a dict: ``m``, ``net_fit`` / ``lin_fit``
    (L(T)/L(0) <= ``tol``), ``net_steps`` / ``lin_steps``, ``net_rel_loss`` /
    ``lin_rel_loss``, ``beyond_ntk``, ``sep_max``, ``separated``,
    ``max_lambda_max`` = max_t lambda_max(K(t)) of the network's run, its growth
    over lambda_max(K(0)), the scale ``c_used`` and the rates.
    """
    data_seed, init_seed = check_seed(data_seed, "data_seed"), check_seed(init_seed, "init_seed")
    m = width_for(md_over_n, n, d)
    X, y = problem(n, d, data_seed=data_seed, labels=labels, ratio=ratio)
    model = relu2.model()
    p0 = model.init(m, d, init_seed)
    cmp = compare(model, p0, X, y, ratio=ratio, c=c, steps=steps, tol=tol)
    return {"m": m, **_summary(cmp, tol)}


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
    X = as_float_array(X, "X", ndim=2)
    p0 = check_params(base, params0, X, "params0")
    f0 = base.forward(p0, X)
    X0 = X

    def _check_X(X):
        if X is not X0:
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


@sweep.task("relu2-alpha")
def alpha_task(*, n, d, md_over_n, alpha, data_seed, init_seed, ratio=1.0, c=0.5, steps=4000,
               tol=1e-3, labels="sign"):
    """Lazy versus rich: the centered alpha-scaled network and its (alpha-free) linearization.

    ``alpha=0`` is a sentinel for the uncentered network itself (this book's model).
    Returns the :func:`fit_task` columns plus ``moveW`` = ||W_T - W_0||_F / ||W_0||_F,
    ``flipped`` (fraction of activation signs changed), ``drift`` =
    ||H(T) - H(0)||_2 / ||H(0)||_2 of the kernel in the network's units, and ``var_f0``,
    the variance over the data of the *uncentered* alpha-scaled output at t = 0.
    """
    data_seed, init_seed = check_seed(data_seed, "data_seed"), check_seed(init_seed, "init_seed")
    alpha = check_real(alpha, "alpha", nonnegative=True)
    m = width_for(md_over_n, n, d)
    X, y = problem(n, d, data_seed=data_seed, labels=labels, ratio=ratio)
    base = relu2.model()
    p0 = base.init(m, d, init_seed)
    f0 = to_numpy(base.forward(p0, X))
    if alpha == 0:
        model, scale, a_ = base, 1.0, 1.0
    else:
        a_ = check_real(alpha, "alpha", positive=True)
        model, scale = alpha_model(a_, p0, X), 1.0 / a_**2
    # small alpha sharpens far more (lambda_max(K(t)) grows 30-60x): allow up to 8 halvings
    cmp = compare(model, p0, X, y, ratio=ratio, c=c, steps=steps, tol=tol, rate_scale=scale,
                  record=("lambda_max", "kernel_drift", "flipped"), max_halvings=8)
    net = cmp["net"]
    out = {"m": m, **_summary(cmp, tol)}
    out.update(moveW=net.movement("W", "relative"), flipped=float(net.history["flipped"][-1]),
               drift=float(net.history["kernel_drift_rel"][-1]), var_f0=float(np.var(a_ * f0)))
    return out


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
    return {"m": res.W.shape[0], "lambda_max0": float(lam[0]), "max_lambda_max": float(lam.max()),
            "growth": float(lam.max() / lam[0]),
            "rises": int((np.diff(res.history.loss) > 0).sum()),
            "net_fit": bool(res.relative_loss <= tol), "net_steps": res.history.steps}


# --------------------------------------------------------------------------- tables
def success_table(df, by, col="net_fit", z=1.96):
    """Success counts per group of a sweep table with Wilson intervals.

    Returns a DataFrame indexed by ``by`` with ``k`` (successes), ``N`` (runs),
    ``rate``, ``low``, ``high`` (Wilson, ``z``).  Error rows count as failures.
    """
    import pandas as pd

    from ..stats import wilson_interval

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (a sweep table), got {type(df).__name__}")
    if not isinstance(by, (list, tuple)) or not by:
        raise TypeError(f"by must be a non-empty list of column names, got {by!r}")
    if not isinstance(col, str):
        raise TypeError(f"col must be a column name (a str), got {col!r}")
    if isinstance(by, str) or not all(isinstance(b, str) for b in by):
        raise TypeError(f"by must be a list of column names, got {by!r}")
    missing = sorted((set(by) | {col}) - set(df.columns))
    if missing:
        raise ValueError(f"the table has no columns {missing}; by and col must name its columns")
    ok = df[col].astype("boolean").fillna(False).astype(bool)
    g = ok.groupby([df[b] for b in by])
    out = g.agg(k="sum", N="count")
    out["k"] = out["k"].astype(int)
    out["rate"] = out["k"] / out["N"]
    out["low"], out["high"] = wilson_interval(out["k"].to_numpy(), out["N"].to_numpy(), z=z)
    return out


def critical_md_over_n(table, level=0.5):
    r"""The critical md/n of one success curve (``table`` indexed by md/n, from :func:`success_table`).

    Returns ``(crit, lo, hi)``: ``crit`` the smallest md/n whose success rate is at least
    ``level``; the bracket [lo, hi] runs from the largest md/n below it whose Wilson
    interval lies wholly under ``level`` (0 if none) to the smallest md/n whose Wilson
    interval lies wholly above ``level`` (inf if none).  ``crit`` is inf when no md/n reaches it.
    """
    import pandas as pd

    level = check_real(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame from success_table, got {type(table).__name__}")
    if not {"rate", "low", "high"} <= set(table.columns):
        raise ValueError("table must come from success_table (columns rate, low, high)")
    t = table.sort_index()
    x = t.index.to_numpy(dtype=float)
    crit = next((xi for xi, r in zip(x, t["rate"]) if r >= level), math.inf)
    hi = next((xi for xi, lo_ in zip(x, t["low"]) if lo_ > level), math.inf)
    below = [xi for xi, h in zip(x, t["high"]) if h < level and xi <= min(crit, hi)]
    lo = max(below) if below else 0.0
    return crit, lo, hi
