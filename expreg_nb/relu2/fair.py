r"""Part II: the network against its linearization, each at its own largest stable step.

:func:`fair_compare` gives the network and its first-order Taylor model at
initialization (the NTK or lazy control) the same rule
(:func:`expreg_nb.stability.largest_stable`): rates ``c`` times the model's own
unit rates (lambda_max(K(0)) = 1 with the ratio eta_a/eta_w fixed), and the
largest ``c`` of one grid whose whole run is stable (finite, recorded
max_t lambda_max(K(t)) < ACCEPT, no step raising the loss by more than
MAX_RISE).  The linearization's kernel is constant, so its runs are computed in
closed form from one eigendecomposition of K(0) (:func:`expreg_nb.stability.linear_run`,
checked against :func:`expreg_nb.training.linearize` in the tests and the chapter).
Both stop on success, a stall or the same step budget.

The **criterion** (:func:`compare_fits`) has five outcomes: ``"net only"`` (the
network reaches L_T/L_0 <= tol, the linearization does not), ``"lin only"``,
``"neither"``, and when both fit ``"net faster"`` / ``"lin faster"`` (one needs at
least :data:`SLOWER` times the other's steps) or ``"comparable"``.  A run is
*beyond the NTK by speed* when the outcome is "net only" or "net faster";
:func:`speedup` is lin_steps / net_steps (inf: only the network fits; 0: only
the linearization).

:func:`fair_task` is one row of a sweep: both runs, the criterion, the kernel's
change from K(0) to K(T) (:func:`expreg_nb.relu2.kernels.kernel_report`), dead
inputs, per-neuron movement, the loss's rises, and the drift of the two-rate
conservation law.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np

from .. import stability as st
from .. import sweep
from ..backend import to_numpy
from ..training import DivergenceError, Model, train
from ..validation import (as_float_array, check_bool, check_choice, check_int, check_labels, check_params,
                          check_real, check_seed)
from . import kernels as kr
from . import network as relu2

__all__ = ["FAST_GRID", "MIN_STEPS", "OUTCOMES", "SLOWER", "STEP_RULES", "budget_steps", "compare_fits", "fair_compare",
           "fair_task", "kappa_bound", "lin_attempt", "meanfield_model", "net_attempt", "resolve_ratio", "speedup"]

#: "Much faster": one model needs at least this many times the other's steps.
SLOWER = 2.0
#: The outcomes of :func:`compare_fits`.
OUTCOMES = ("net only", "net faster", "comparable", "lin faster", "lin only", "neither")
#: How c is chosen: the largest stable c for each model (the book's rule); the stable c with the
#: fewest steps to tolerance for each model; the network's largest stable c for both (the rule
#: this chapter replaced: the linearization at the network's step); ``"fastest"``: for each model
#: the c of FAST_GRID with the fewest steps to tolerance among all runs that do not diverge,
#: whatever their curvature or loss rises (edge-of-stability runs included).
STEP_RULES = ("largest", "own_best", "network_c", "fastest")
#: The scales the "fastest" rule tries above a model's largest stable scale: 4 * 2^(-k/2), from
#: twice the quadratic limit down (every second value of a grid 19% apart).
FAST_GRID = tuple(4.0 * 2.0 ** (-k / 2) for k in range(22))
#: The curvature and loss-rise limits of the "fastest" rule: none (only divergence rejects a run).
_NO_LIMIT = 1e300
#: Fewest steps in a budget.
MIN_STEPS = 500


def _params(model, p0, X, name):
    """``p0`` checked by the model's own rules (any model: the tests' toy models have 1-d blocks),
    every error naming ``name``."""
    if not isinstance(p0, Mapping):
        raise TypeError(f"{name} must be a dict with the blocks {model.blocks}, got {type(p0).__name__}")
    if set(p0) != set(model.blocks):
        raise ValueError(f"{name} must be a dict with exactly the blocks {model.blocks}, got {sorted(map(str, p0))}")
    try:
        model.check_params(dict(p0), X)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None


def resolve_ratio(ratio, m, d) -> float:
    """eta_a / eta_w: a number, ``"lecun"`` (m/d: the standard parameterization with one rate), or inf."""
    if isinstance(ratio, str):
        if ratio != "lecun":
            raise ValueError(f"ratio must be a number >= 0, inf or 'lecun', got {ratio!r}")
        return check_int(m, "m") / check_int(d, "d")
    check_int(m, "m"), check_int(d, "d")
    if isinstance(ratio, (float, np.floating)) and ratio == math.inf:
        return math.inf
    return check_real(ratio, "ratio", nonnegative=True)


@functools.lru_cache(maxsize=64)
def _limit_extremes(n, d, data_seed):
    from .experiments import problem

    X, _ = problem(n, d, data_seed=data_seed)
    H1, H2 = (to_numpy(H) for H in relu2.gram_infinite(X))
    e1, e2 = np.linalg.eigvalsh(H1), np.linalg.eigvalsh(H2)
    return float(e1[0]), float(e1[-1]), float(e2[0]), float(e2[-1])


def kappa_bound(n, d, data_seed, ratio) -> float:
    r"""Weyl's upper bound on kappa(H1inf + ratio H2inf) of the data of ``data_seed``:
    (lmax1 + ratio lmax2) / (lmin1 + ratio lmin2) (``ratio = inf``: kappa(H2inf)); the extreme
    eigenvalues of the two limit kernels are computed once per data set (cached)."""
    n, d, data_seed = check_int(n, "n", minimum=2), check_int(d, "d"), check_seed(data_seed, "data_seed")
    ratio = resolve_ratio(ratio, 1, 1)
    lo1, hi1, lo2, hi2 = _limit_extremes(int(n), int(d), int(data_seed))
    if ratio == math.inf:
        return hi2 / lo2
    return (hi1 + ratio * hi2) / (lo1 + ratio * lo2)


def budget_steps(n, d, data_seed, ratio, budget, tol) -> int:
    r"""The step budget: ``budget`` x kappa x ln(1/tol), at least :data:`MIN_STEPS`, with kappa
    :func:`kappa_bound` of the limit kernel K^inf = H1inf + ratio H2inf of the data.

    The linearized infinite-width model needs about kappa ln(1/tol) / (2c) steps to fit
    every direction, so the budget scales with the conditioning and ``budget`` is in
    units of that time.
    """
    budget = check_real(budget, "budget", positive=True)
    tol = check_real(tol, "tol", positive=True)
    if isinstance(ratio, str):
        raise TypeError("ratio must be a number here (resolve 'lecun' with resolve_ratio first)")
    ratio = resolve_ratio(ratio, 1, 1)
    kappa = kappa_bound(n, d, data_seed, ratio)
    return int(max(MIN_STEPS, math.ceil(budget * kappa * math.log(1.0 / tol))))


def net_attempt(model, p0, X, y, rates1, c, *, steps, tol, record_every=10, accept=st.ACCEPT,
                max_rise=st.MAX_RISE, drop=st.STALL_DROP) -> st.Attempt:
    """One gradient-descent run of ``model`` at rates ``c * rates1``, judged by :func:`expreg_nb.stability.judge`.

    The run records lambda_max(K(t)) every ``record_every`` steps and stops early on
    tolerance, on a stall, or as soon as lambda_max reaches ``accept`` (unstable).
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    X = st._data(X)
    check_labels(y, X)
    _params(model, p0, X, "p0")
    if not isinstance(rates1, dict) or not rates1:
        raise TypeError(f"rates1 must be a dict from parameter block to unit rate, got {type(rates1).__name__}")
    rates1 = {k: check_real(v, f"rates1[{k!r}]", nonnegative=True) for k, v in rates1.items()}
    if set(rates1) - set(model.trainable):
        raise ValueError(f"rates1 names blocks the model cannot train: {sorted(map(str, rates1))}")
    c = check_real(c, "c", positive=True)
    steps, tol = check_int(steps, "steps"), check_real(tol, "tol", positive=True)
    record_every = check_int(record_every, "record_every")
    accept = check_real(accept, "accept", positive=True)
    max_rise = check_real(max_rise, "max_rise", positive=True)
    drop = check_real(drop, "drop", positive=True)
    rates = {k: c * v for k, v in rates1.items()}
    lam = st.lambda_max_monitor(model, X, {k: v for k, v in rates.items() if v > 0})
    state = {"lam": [], "abort": None, "stalled": False, "checked": 0}
    window = st.stall_window(steps, record_every)

    def mon(p):
        v = lam(p)
        state["lam"].append(v)
        return v

    def stop(losses):
        t = len(losses) - 1
        if state["lam"][-1] >= accept:
            state["abort"] = f"lambda_max(K) = {state['lam'][-1]:.3g} >= {accept:g} at step {t}"
            return True
        # the loss-rise rule of judge, applied as the run goes (the same verdict, sooner)
        _, rise = st.loss_rises(losses[max(state["checked"] - 1, 0):])
        state["checked"] = len(losses)
        if rise > max_rise:
            state["abort"] = f"the loss rose by {rise:.2%} in one step (more than {max_rise:.0%}) by step {t}"
            return True
        if t >= window and st.stalled(losses[t], losses[t - window], drop):
            state["stalled"] = True
            return True
        return False

    try:
        res = train(model, X, y, init=p0, rates={k: v for k, v in rates.items() if v > 0}, steps=steps,
                    tol=tol, record_every=record_every, monitors={"lambda_max": mon}, stop=stop,
                    progress=False)
    except DivergenceError as exc:
        return st.Attempt(c, False, f"diverged at step {exc.step}", None, max(state["lam"], default=math.nan))
    out = st.judge(c, res.history.loss, max(state["lam"]), result=res, accept=accept, max_rise=max_rise,
                   stalled=state["stalled"], aborted=state["abort"])
    return out


def lin_attempt(mu, beta, c, *, steps, tol, record_every=10, accept=st.ACCEPT, max_rise=st.MAX_RISE,
                drop=st.STALL_DROP) -> st.Attempt:
    """The linearization's run at scale ``c`` (closed form, constant kernel with lambda_max = c)."""
    c = check_real(c, "c", positive=True)
    accept = check_real(accept, "accept", positive=True)
    max_rise = check_real(max_rise, "max_rise", positive=True)
    if c >= 2:
        return st.Attempt(c, False, f"lambda_max(K) = c = {c:g} >= 2: diverges")
    run = st.linear_run(mu, beta, c, steps=steps, tol=tol, record_every=record_every, drop=drop)
    return st.judge(c, run.loss, c, result=run, accept=accept, max_rise=max_rise, stalled=run.stalled,
                    steps=run.steps)


def _fit(attempt, tol):
    if attempt is None or attempt.result is None:
        return False, 0, math.nan
    rel = attempt.result.relative_loss
    return bool(rel <= tol), int(attempt.steps), float(rel)


def compare_fits(net_fit, net_steps, lin_fit, lin_steps, slower=SLOWER) -> str:
    """The criterion: one of :data:`OUTCOMES` (see the module docstring)."""
    slower = check_real(slower, "slower", positive=True)
    if slower < 1:
        raise ValueError(f"slower must be >= 1 (a factor of steps), got {slower}")
    net_fit, lin_fit = check_bool(net_fit, "net_fit"), check_bool(lin_fit, "lin_fit")
    net_steps, lin_steps = check_int(net_steps, "net_steps", minimum=0), check_int(lin_steps, "lin_steps",
                                                                                   minimum=0)
    if net_fit and not lin_fit:
        return "net only"
    if lin_fit and not net_fit:
        return "lin only"
    if not net_fit:
        return "neither"
    net_steps, lin_steps = check_int(net_steps, "net_steps", minimum=0), check_int(lin_steps, "lin_steps",
                                                                                   minimum=0)
    if lin_steps >= slower * max(net_steps, 1):
        return "net faster"
    if net_steps >= slower * max(lin_steps, 1):
        return "lin faster"
    return "comparable"


def speedup(net_fit, net_steps, lin_fit, lin_steps) -> float:
    """lin_steps / net_steps when both fit; inf when only the network fits, 0 when only the
    linearization does, NaN when neither."""
    net_fit, lin_fit = check_bool(net_fit, "net_fit"), check_bool(lin_fit, "lin_fit")
    net_steps, lin_steps = check_int(net_steps, "net_steps", minimum=0), check_int(lin_steps, "lin_steps",
                                                                                   minimum=0)
    if net_fit and lin_fit:
        return float(lin_steps) / max(float(net_steps), 1.0)
    if net_fit:
        return math.inf
    return 0.0 if lin_fit else math.nan


def _best(search, run, grid, tol):
    """From the largest stable c downward, the stable run that fits in the fewest steps."""
    if search.attempt is None:
        return search
    i = list(grid).index(search.c)
    best, tried = search.attempt, list(search.attempts)
    last = _fit(best, tol)
    for j in range(i + 1, len(grid)):
        a = run(grid[j])
        tried.append(a)
        f = _fit(a, tol)
        if not (a.stable and f[0]) or (last[0] and f[1] >= last[1]):
            break
        best, last = a, f
    return st.Search(best.c, best, search.c_above, tried)


def _fastest(search, c_stable, run, tol):
    """The "fastest" rule above a model's largest stable scale ``c_stable``: every scale of
    FAST_GRID from its top down to ``c_stable`` run with no curvature or loss-rise limit (``run``);
    the fitting run with the fewest steps, against ``search``'s answer (the fastest stable run).
    A model with no stable scale keeps the search's answer."""
    if search.attempt is None:
        return search
    best, tried = search.attempt, list(search.attempts)
    fit_best = _fit(best, tol)
    for c in FAST_GRID:
        if c <= c_stable:
            break
        a = run(c)
        tried.append(a)
        f = _fit(a, tol)
        if a.stable and f[0] and (not fit_best[0] or f[1] < fit_best[1]):
            best, fit_best = a, f
    return st.Search(best.c, best, math.nan, tried)


def fair_compare(model, p0, X, y, *, ratio, steps, tol=1e-3, record_every=10, step_rule="largest",
                 start=4, grid=st.GRID):
    r"""Train ``model`` and its linearization at ``p0`` each at its own step (``step_rule``).

    Returns a dict: ``net``, ``lin`` (:class:`~expreg_nb.stability.Search`; the accepted
    attempt's ``result`` is a TrainResult, resp. a LinearRun), ``rates1`` (unit
    rates), ``K0`` (the unit step kernel at ``p0``, lambda_max = 1), ``eig0``
    (its eigenvalues and eigenvectors), ``e0`` (the initial residual, host).
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    step_rule = check_choice(step_rule, "step_rule", STEP_RULES)
    X = st._data(X)
    check_labels(y, X)
    _params(model, p0, X, "p0")
    steps = check_int(steps, "steps")
    tol = check_real(tol, "tol", positive=True)
    record_every = check_int(record_every, "record_every")
    r = resolve_ratio(ratio, 1, 1)
    raw = {"W": 0.0, "a": 1.0} if r == math.inf else {"W": 1.0, "a": r}
    need = tuple(k for k, v in raw.items() if v > 0)
    H = model.gram(p0, X, need)
    # one eigendecomposition of K0 gives the unit rates (expreg_nb.stability.unit_rates), the
    # linearization's closed form and the kernel report at t = 0
    lam, V = np.linalg.eigh(to_numpy(sum(raw[k] * H[k] for k in need)))
    if not (lam[-1] > 0 and math.isfinite(1.0 / lam[-1])):
        raise ValueError(f"the kernel of the trained layers has lambda_max = {lam[-1]:.3g} at the start: "
                         f"no step size normalizes it")
    rates1 = {k: v / lam[-1] for k, v in raw.items()}
    lam = lam / lam[-1]
    K0 = to_numpy(sum(rates1[k] * H[k] for k in need))
    e0 = to_numpy(model.forward(p0, X) - y)
    mu = np.clip(lam, 0.0, 1.0)
    beta = (V.T @ e0) ** 2
    kw = dict(steps=steps, tol=tol, record_every=record_every)

    def lin_run(c):
        return lin_attempt(mu, beta, c, **kw)

    def net_run(c):
        return net_attempt(model, p0, X, y, rates1, c, **kw)

    net = st.largest_stable(net_run, grid, start)
    if step_rule == "network_c":
        lin_a = lin_run(net.c) if net.attempt is not None else None
        lin = st.Search(net.c, lin_a, math.nan, [lin_a] if lin_a is not None else [])
    else:
        lin = st.largest_stable(lin_run, grid, start)
    if step_rule == "own_best":
        net, lin = _best(net, net_run, grid, tol), _best(lin, lin_run, grid, tol)
    if step_rule == "fastest":
        # below the largest stable scale as "own_best" searches, above it with no limits
        loose = dict(accept=_NO_LIMIT, max_rise=_NO_LIMIT)
        net = _fastest(_best(net, net_run, grid, tol), net.c,
                       lambda c: net_attempt(model, p0, X, y, rates1, c, **kw, **loose), tol)
        lin = _fastest(_best(lin, lin_run, grid, tol), lin.c,
                       lambda c: lin_attempt(mu, beta, c, **kw, **loose), tol)
    return {"net": net, "lin": lin, "rates1": rates1, "K0": K0, "eig0": (lam, V), "e0": e0}


def meanfield_model(params0, X):
    r"""The mean-field network f(p, x) = (1/m) sum_r a_r relu(<w_r, x>/sqrt(d)), centered at ``params0``.

    Written out (not through :func:`expreg_nb.relu2.experiments.alpha_model`):
    u = (1/m) relu(Z) a - u(p0), gradients (1/m) relu(Z)^T e and
    (1/(m sqrt(d))) diag(a) 1[Z > 0]^T diag(e) X, kernels H / m of the network's.
    Centering makes it start from the zero function, like the centered output-scaled
    models; its rates come from the same unit-rate rule, which rescales time by m.
    """
    base = relu2.model()
    X = st._data(X)  # the caller's array itself: the model compares its data by identity
    check_params(base, params0, X, "params0")
    p0 = base.check_params(dict(params0), X)
    m = p0["W"].shape[0]
    X0 = X

    def raw(p, X):
        return relu2.forward(p["W"], p["a"], X) / math.sqrt(m)   # (1/m) sum_r a_r relu(z_ir)

    f0 = raw(p0, X)

    def _check_X(X):
        # the same data: the same array, or (a backend's converted copy) equal entries
        if X is not X0 and not (getattr(X, "shape", None) == X0.shape and bool((X == X0).all())):
            raise ValueError("meanfield_model is centered on the data it was built with; pass that X")

    def forward(p, X):
        _check_X(X)
        return raw(p, X) - f0

    def vjp(p, X, e, need):
        return {k: g / math.sqrt(m) for k, g in base.vjp(p, X, e, need).items()}

    def residual_and_grads(p, X, y, need):
        e = forward(p, X) - y
        return e, vjp(p, X, e, need)

    return Model(
        name="relu2 mean field (1/m) centered", blocks=base.blocks, trainable=base.trainable,
        init=base.init, forward=forward, residual_and_grads=residual_and_grads,
        jvp=lambda p, X, t: base.jvp(p, X, t) / math.sqrt(m), vjp=vjp,
        gram=lambda p, X, need: {k: H / m for k, H in base.gram(p, X, need).items()},
        check_params=base.check_params, gram_limit=None, flips=base.flips,
        options={"output_scale": "1/m", "centered": True},
    )


def _model_for(kind, alpha, p0, X):
    from .experiments import alpha_model

    if kind == "meanfield":
        return meanfield_model(p0, X)
    if kind != "net":
        raise ValueError(f"model must be 'net' or 'meanfield', got {kind!r}")
    alpha = check_real(alpha, "alpha", nonnegative=True)
    return relu2.model() if alpha == 0 else alpha_model(alpha, p0, X)


@sweep.task("relu2-fair")
def fair_task(*, n, d, md_over_n, ratio, data_seed, init_seed, labels="sign", budget=5.0, tol=1e-3,
              step_rule="largest", model="net", alpha=0.0, record_every=10):
    """One row: the network (``model``/``alpha``) and its linearization at fair steps.

    ``ratio``: eta_a/eta_w, or ``"lecun"`` (m/d).  ``budget``: the step budget in units
    of kappa(K^inf) ln(1/tol) (:func:`budget_steps`).  ``model="meanfield"`` trains the
    centered 1/m model, ``alpha > 0`` the centered alpha-scaled one, ``alpha = 0`` this
    book's network.  Columns: see the Part II chapter (``m``, ``ratio_value``, ``steps``,
    ``net_*``, ``lin_*``, ``outcome``, ``beyond``, ``speedup``, the kernel report, dead
    inputs, movement, rises, the conservation drift).
    """
    from .experiments import problem, width_for

    n, init_seed = check_int(n, "n", minimum=2), check_seed(init_seed, "init_seed")
    m = width_for(md_over_n, n, d)
    r = resolve_ratio(ratio, m, d)
    X, y = problem(n, d, data_seed=data_seed, labels=labels, ratio=r)
    steps = budget_steps(n, d, data_seed, r, budget, tol)
    base = relu2.model()
    p0 = base.init(m, d, init_seed)
    mod = _model_for(model, alpha, p0, X)
    cmp = fair_compare(mod, p0, X, y, ratio=r, steps=steps, tol=tol, record_every=record_every,
                       step_rule=step_rule)
    net, lin = cmp["net"], cmp["lin"]
    net_fit, net_steps, net_rel = _fit(net.attempt, tol)
    lin_fit, lin_steps, lin_rel = _fit(lin.attempt, tol)
    row = {"m": m, "ratio_value": r, "steps": steps, "params_over_n": m * (d + 1) / n,
           "net_c": net.c, "net_c_above": net.c_above, "net_tries": net.tries,
           "net_fit": net_fit, "net_steps": net_steps, "net_rel_loss": net_rel,
           "lin_c": lin.c, "lin_fit": lin_fit, "lin_steps": lin_steps, "lin_rel_loss": lin_rel,
           "outcome": compare_fits(net_fit, net_steps, lin_fit, lin_steps) if net.attempt is not None
           else "no stable step"}
    row["beyond"] = row["outcome"] in ("net only", "net faster")
    row["speedup"] = speedup(net_fit, net_steps, lin_fit, lin_steps)
    row["lin_floor"] = float(lin.attempt.result.floor) if lin.attempt is not None else math.nan
    above = [a for a in net.attempts if a.c == net.c_above]
    row["net_above_reason"] = above[0].reason if above else ""
    if net.attempt is None:
        return row
    # the rule this chapter replaced: the linearization at the network's step (closed form, free)
    lam0 = cmp["eig0"][0]
    old = lin_attempt(np.clip(lam0, 0, 1), (cmp["eig0"][1].T @ cmp["e0"]) ** 2, net.c, steps=steps, tol=tol,
                      record_every=record_every)
    row["lin_fit_at_net_c"], row["lin_steps_at_net_c"], _ = _fit(old, tol)
    a = net.attempt
    res = a.result
    row.update(net_stalled=a.stalled, lin_stalled=lin.attempt.stalled if lin.attempt else False,
               max_lambda_max=a.max_lambda_max, rises=a.rises, max_rise=a.max_rise,
               lambda_max_growth=a.max_lambda_max / net.c)
    W0, a0, W, aT = (to_numpy(v) for v in (p0["W"], p0["a"], res.W, res.a))
    Xh, yh = to_numpy(X), to_numpy(y)
    need = tuple(k for k, v in res.rates.items() if v > 0)
    HT = mod.gram(res.params, X, need)
    KT = to_numpy(sum(res.rates[k] * HT[k] for k in need))
    dead0, deadT = kr.dead_inputs(W0, Xh), kr.dead_inputs(W, Xh)
    lam, V = cmp["eig0"]
    rep = kr.kernel_report(net.c * cmp["K0"], KT, yh, ~dead0, ~deadT, eig0=(net.c * lam, V))
    row.update(rep)
    eT = to_numpy(res.model.forward(res.params, X)) - yh
    mw, ma = kr.neuron_movement(W0, a0, W, aT)
    eta_w, eta_a = res.rates.get("W", 0.0), res.rates.get("a", 0.0)
    row.update(dead0=int(dead0.sum()), deadT=int(deadT.sum()),
               dead_loss=float(0.5 * (eT[deadT] ** 2).sum() / res.history.loss[0]),
               moveW_max=float(mw.max()), moveW_med=float(np.median(mw)),
               movea_max=float(ma.max()), movea_med=float(np.median(ma)),
               flipped=float(relu2.flipped_fraction(res.W, p0["W"], X)),
               balance_drift=kr.balance_drift(W0, a0, W, aT, eta_w, eta_a))
    return row
