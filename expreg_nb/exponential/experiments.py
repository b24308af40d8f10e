r"""Part I, Chapter 4: reusable experiment logic for the convergence of gradient descent.

Every experiment here calls :func:`expreg_nb.exponential.train` (the one
gradient-descent loop); nothing re-implements it.

=============================  =====================================================
:func:`late_rate`              per-step contraction factor of ||u - y|| late in a run
:func:`one_step_remainder`     the split u(t+1) - u(t) = -eta H(t) e(t) + v(t) at one W
:func:`step_size_threshold`    bisection over eta for the largest stable step size
:func:`smallest_width`         smallest width at which GD converges and keeps lambda_min(H(t)) >= lam/2
:func:`movement_sweep`         RMS / max neuron movement against the width m
=============================  =====================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import data, sweep
from . import network as ex
from ..backend import array_module, to_numpy
from ..stats import loglog_slope
from ..chunks import neuron_slices
from ..training import DivergenceError, train
from ..validation import (as_float_array, check_bool, check_int, check_int_sequence, check_labels,
                         check_network, check_real, check_seed)

CRITERIA = ("diverge", "monotone")

__all__ = [
    "CRITERIA",
    "WIDTH_BUDGET",
    "WIDTH_C",
    "WIDTH_EPS",
    "init_width_task",
    "smallest_passing",
    "width_dim",
    "width_points",
    "width_task",
    "MovementSweep",
    "StepSplit",
    "WidthSearch",
    "late_rate",
    "movement_sweep",
    "one_step_remainder",
    "smallest_width",
    "step_size_threshold",
]


def _host_vector(x, name):
    arr = np.asarray(to_numpy(as_float_array(x, name, ndim=1)), dtype=float)
    return arr


def late_rate(loss, *, window=(1e-24, 1e-14)) -> float:
    r"""The per-step factor q with ||e(t+1)|| ~ q ||e(t)||, fitted late in a run.

    Fits ``log L(t)`` linearly over the steps with ``window[0] < L(t)/L(0) < window[1]``
    (late enough that the slowest mode dominates, early enough to stay above
    float64 rounding) and returns ``exp(slope / 2)``: the loss is ||e||^2 / 2.
    """
    L = _host_vector(loss, "loss")
    try:
        pair = not isinstance(window, (str, bytes)) and len(window) == 2
    except TypeError:
        pair = False
    if not pair:
        raise TypeError(f"window must be a pair (low, high), got {window!r}")
    lo, hi = (check_real(v, "window", positive=True) for v in window)
    if not lo < hi:
        raise ValueError(f"window must be (low, high) with low < high, got {window!r}")
    if L.size == 0 or L[0] <= 0:
        raise ValueError("loss must start at a positive value")
    rel = L / L[0]
    t = np.flatnonzero((rel > lo) & (rel < hi))
    if t.size < 3:
        raise ValueError(
            f"only {t.size} steps have L(t)/L(0) inside window={window!r}; run longer or widen the window"
        )
    slope = np.polyfit(t, np.log(L[t]), 1)[0]
    return float(math.exp(slope / 2.0))


@dataclass
class StepSplit:
    """One gradient step from ``W``, split as e(t+1) = (I - eta H) e(t) + v (NumPy arrays, host)."""

    e: np.ndarray          #: residual u(t) - y
    e_next: np.ndarray     #: residual after the step
    linear: np.ndarray     #: -eta H(t) e(t), the first-order change
    v: np.ndarray          #: the remainder e_next - e - linear
    delta_max: float       #: max_{r,i} |<w_r(t+1) - w_r(t), x_i>|
    B1: float              #: max_{r,i} exp(<w_r(t), x_i>), the realized level at W


def one_step_remainder(W, a, X, y, *, eta, chunk=None) -> StepSplit:
    r"""Take one gradient step of the normalized model from ``W`` and split the change of the outputs.

    u(t+1) - u(t) = -eta H(W) e + v, with
    v_i = m^{-1/2} sum_r a_r E_ri (exp(delta_ri) - 1 - delta_ri) and
    delta_ri = <w_r(t+1) - w_r(t), x_i>.  ``v`` is computed as the difference
    e(t+1) - e(t) + eta H e, i.e. from the code of the model, not from the formula.
    """
    W, a, X = check_network(W, a, X)
    y = check_labels(y, X)
    eta = check_real(eta, "eta", positive=True)
    xp = array_module(W)
    e = ex.forward(W, a, X, chunk=chunk) - y
    W1 = W - eta * ex.grad(W, a, X, y, chunk=chunk)
    e_next = ex.forward(W1, a, X, chunk=chunk) - y
    linear = -eta * (ex.gram(W, X, chunk=chunk) @ e)
    dW = W1 - W
    delta_max, zmax = 0.0, -math.inf
    for sl in neuron_slices(W.shape[0], X.shape[0], chunk):
        delta_max = max(delta_max, float(xp.abs(X @ dW[sl].T).max()))
        zmax = max(zmax, float((X @ W[sl].T).max()))
    return StepSplit(e=to_numpy(e), e_next=to_numpy(e_next), linear=to_numpy(linear),
                     v=to_numpy(e_next - e - linear), delta_max=delta_max, B1=math.exp(zmax))


def _unstable(X, y, *, m, eta, steps, seed, criterion, normalized, coupled, chunk) -> bool:
    try:
        r = ex.train(X, y, m=m, eta=eta, steps=steps, seed=seed, normalized=normalized,
                     coupled=coupled, progress=False, chunk=chunk,
                     tol=1e-12 if criterion == "monotone" else None)
    except DivergenceError:
        return True
    L = r.history.loss
    if criterion == "diverge":
        return bool(L[-1] > L[0])
    return bool(np.any(np.diff(L) > 0))


def step_size_threshold(X, y, *, m, seed, eta_lo, eta_hi, steps=300, iters=8,
                        criterion="diverge", normalized=True, coupled=False, chunk=None):
    r"""Bracket the step size at which gradient descent stops being stable, by bisection in log eta.

    A run of ``steps`` steps from the seeded initialization is *unstable* when

    * ``criterion="diverge"``: the loss becomes non-finite (:class:`~expreg_nb.DivergenceError`)
      or ends above its initial value, L(T) > L(0);
    * ``criterion="monotone"``: the loss increases at some step (runs stop at L(t)/L(0) <= 1e-12,
      above float64 rounding).

    ``eta_lo`` must give a stable run and ``eta_hi`` an unstable one (both are checked).
    Returns ``(stable, unstable)`` after ``iters`` halvings of the log-bracket, so
    ``unstable / stable = (eta_hi / eta_lo) ** (2 ** -iters)``.
    """
    if not isinstance(criterion, str) or criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    lo = check_real(eta_lo, "eta_lo", positive=True)
    hi = check_real(eta_hi, "eta_hi", positive=True)
    if not lo < hi:
        raise ValueError(f"eta_lo must be < eta_hi, got {lo} and {hi}")
    iters = check_int(iters, "iters", minimum=0)
    kw = dict(m=check_int(m, "m"), steps=check_int(steps, "steps"), seed=seed, criterion=criterion,
              normalized=check_bool(normalized, "normalized"), coupled=check_bool(coupled, "coupled"),
              chunk=chunk)
    if _unstable(X, y, eta=lo, **kw):
        raise ValueError(f"eta_lo={lo:.4g} is already unstable ({criterion}); choose a smaller eta_lo")
    if not _unstable(X, y, eta=hi, **kw):
        raise ValueError(f"eta_hi={hi:.4g} is stable ({criterion}); choose a larger eta_hi")
    for _ in range(iters):
        mid = math.sqrt(lo * hi)
        if _unstable(X, y, eta=mid, **kw):
            hi = mid
        else:
            lo = mid
    return lo, hi


@dataclass
class WidthSearch:
    """Result of :func:`smallest_width`: the smallest passing width and the pass fraction per width tried."""

    m_min: int | None
    widths: np.ndarray
    passed: np.ndarray       #: fraction of seeds that passed, per width tried
    init_failed: np.ndarray  #: fraction of seeds with lambda_min(H(W(0))) < lam/2, per width tried


def smallest_width(X, y, *, lam, eta, steps, widths, seeds=(0, 1, 2), tol=1e-6,
                   record_every=5, coupled=False, chunk=None) -> WidthSearch:
    r"""The smallest width in ``widths`` at which every seed passes (normalized model).

    A seed passes at width m when gradient descent with step ``eta`` reaches
    L(t)/L(0) <= ``tol`` within ``steps`` steps and lambda_min(H(W(t))) >= lam/2 at
    every recorded step (every ``record_every`` steps, and at the first and last).
    The widths are tried in increasing order and the search stops at the first
    width where all seeds pass; a seed whose lambda_min(H(W(0))) < lam/2 fails
    without training.  ``m_min`` is ``None`` if no width passes.
    """
    lam = check_real(lam, "lam", positive=True)
    eta = check_real(eta, "eta", positive=True)
    steps = check_int(steps, "steps")
    widths = sorted(check_int_sequence(widths, "widths"))
    seeds = tuple(check_int_sequence(seeds, "seeds", minimum=0))
    tol = check_real(tol, "tol", positive=True)
    record_every = check_int(record_every, "record_every")
    coupled = check_bool(coupled, "coupled")
    X = as_float_array(X, "X", ndim=2)
    y = check_labels(y, X)
    xp = array_module(X)
    tried, passed, init_failed = [], [], []
    for m in widths:
        ok = bad_init = 0
        for seed in seeds:
            W0, a = ex.init_params(m, X.shape[1], seed=seed, coupled=coupled)
            W0, a = xp.asarray(W0), xp.asarray(a)
            H0 = ex.gram(W0, X, chunk=chunk)
            if float(xp.linalg.eigvalsh(H0)[0]) < lam / 2:
                bad_init += 1
                continue
            try:
                r = ex.train(X, y, m=m, eta=eta, steps=steps, seed=seed, init=(W0, a), tol=tol,
                             record=("lambda_min",), record_every=record_every, progress=False,
                             chunk=chunk)
            except DivergenceError:
                continue
            ok += bool(r.history.converged and r.history["lambda_min"].min() / eta >= lam / 2)  # step kernel eta H
        tried.append(m)
        passed.append(ok / len(seeds))
        init_failed.append(bad_init / len(seeds))
        if ok == len(seeds):
            break
    else:
        m = None
    return WidthSearch(m, np.asarray(tried), np.asarray(passed), np.asarray(init_failed))


@dataclass
class MovementSweep:
    """Result of :func:`movement_sweep` (medians over seeds, one entry per width)."""

    widths: np.ndarray
    rms: np.ndarray          #: sqrt(mean_r ||w_r(T) - w_r(0)||^2)
    max: np.ndarray          #: max_r ||w_r(T) - w_r(0)||
    steps: np.ndarray        #: steps taken to reach the tolerance


def movement_sweep(X, y, *, widths, eta, seeds=(0, 1), normalized=True, coupled=False,
                   steps=5000, tol=1e-8, chunk=None) -> MovementSweep:
    r"""Train to L(T)/L(0) <= ``tol`` at each width and measure how far the neurons moved.

    ``eta`` is the step size of the *normalized* model.  The unnormalized model
    (``normalized=False``) has the Gram matrix m H(W), so it runs with ``eta / m``:
    both then take the same number of steps on the same kernel.  Its labels are
    the given ``y`` unchanged, which for the normalized model would be ``y / sqrt(m)``.
    Raises :class:`ValueError` if some run does not reach ``tol`` in ``steps`` steps.
    """
    eta = check_real(eta, "eta", positive=True)
    widths = check_int_sequence(widths, "widths")
    seeds = check_int_sequence(seeds, "seeds", minimum=0)
    normalized, coupled = check_bool(normalized, "normalized"), check_bool(coupled, "coupled")
    steps, tol = check_int(steps, "steps"), check_real(tol, "tol", positive=True)
    rms, mx, st = [], [], []
    for m in widths:
        runs = []
        for seed in seeds:
            r = ex.train(X, y, m=m, eta=eta if normalized else eta / m, steps=steps, seed=seed,
                         normalized=normalized, coupled=coupled, tol=tol, progress=False, chunk=chunk)
            if not r.history.converged:
                raise ValueError(f"m={m}, seed={seed} did not reach tol={tol} in steps={steps}; raise steps")
            d = r.movement()
            runs.append((math.sqrt(float(np.mean(d**2))), float(d.max()), r.history.steps))
        runs = np.asarray(runs)
        rms.append(np.median(runs[:, 0]))
        mx.append(np.median(runs[:, 1]))
        st.append(np.median(runs[:, 2]))
    return MovementSweep(np.asarray(widths), np.asarray(rms), np.asarray(mx), np.asarray(st))


# =========================================================================== the width experiment
# The smallest width at which gradient descent reaches ||F(W(T), X) - y|| <= eps, against n,
# on data whose lambda = lambda_min(H*) and kappa(H*) stay in a fixed band as n grows
# (book/part1/convergence.md, "The smallest width that works").

#: Target of the width experiment: ||F(W(T), X) - y||_2 <= WIDTH_EPS (the abstract's eps in (0, 0.1)).
WIDTH_EPS = 0.05
#: Step budget factor: T = ceil(WIDTH_BUDGET * kappa(H*) * ln(||e(0)|| / eps) / WIDTH_C).
WIDTH_BUDGET = 10.0
#: Step size of the width experiment: eta * lambda_max(K(0)) = WIDTH_C.
WIDTH_C = 0.5


def width_dim(n: int) -> int:
    """The input dimension d = n // 2 + 32 used with n points in the width experiment.

    Growing d with n keeps lambda_min(H*) and the condition number of H* in a fixed band
    (points on the unit sphere of a fixed R^d crowd together as n grows, and lambda -> 0).
    """
    n = check_int(n, "n")
    return n // 2 + 32


def width_points(ns, *, models=(True, False), data_seeds=(0, 1), init_seeds=(0, 1),
                 high=2) -> list[dict]:
    """Grid points of the width experiment: per n, widths 2^k from max(2, n / 64) to ``high`` * n."""
    ns = check_int_sequence(ns, "ns")
    high = check_real(high, "high", positive=True)
    for name, seq in (("models", models), ("data_seeds", data_seeds), ("init_seeds", init_seeds)):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__") or not list(seq):
            raise ValueError(f"{name} must be a non-empty sequence, got {seq!r}")
    models = [check_bool(v, f"models[{i}]") for i, v in enumerate(models)]
    data_seeds = check_int_sequence(data_seeds, "data_seeds", minimum=0)
    init_seeds = check_int_sequence(init_seeds, "init_seeds", minimum=0)
    if min(ns) * high < 2:
        raise ValueError(f"high * n must be >= 2 (the smallest width), got high={high} with n={min(ns)}")
    points = []
    for n in ns:
        k_lo = max(1, int(math.log2(max(2, n // 64))))
        widths = [2**k for k in range(k_lo, int(math.log2(high * n)) + 1)]
        points += sweep.grid(n=[n], m=widths, normalized=list(models), data_seed=list(data_seeds),
                             init_seed=list(init_seeds))
    return points


@sweep.task("exp-width")
def width_task(*, n, m, normalized, data_seed, init_seed, eps=WIDTH_EPS, budget=WIDTH_BUDGET,
               c=WIDTH_C):
    r"""One run of the width experiment: does gradient descent reach ||F(W(T), X) - y|| <= ``eps``?

    Data: ``n`` points on the unit sphere of R^d, d = :func:`width_dim` (n), labels uniform in
    [-1, 1] (both from ``data_seed``); independent initialization from ``init_seed`` (the
    abstract's), model normalized or not (the abstract's form).  The step is
    eta = c / lambda_max(K(0)) for the model's own kernel K (m H for the unnormalized model),
    the budget T = ceil(budget * kappa(H*) * ln(||e(0)|| / eps) / c) steps: ``budget`` times
    the steps that the linear rate 1 - eta lambda of H* would need.

    Returns a dict: ``d``, ``lam`` = lambda_min(H*), ``kappa`` = kappa(H*), ``err0`` = ||e(0)||,
    ``lam0_ratio`` = lambda_min(H(0)) / lam, ``budget_steps``, ``steps``, ``reached``
    (||e(T)|| <= eps), ``final_err`` and ``max_lambda_max`` = max_t lambda_max(eta K(t))
    over t = 0, 20, 40, ... and the last step (stable while < 2).
    """
    n, m = check_int(n, "n"), check_int(m, "m")
    data_seed, init_seed = check_seed(data_seed, "data_seed"), check_seed(init_seed, "init_seed")
    normalized = check_bool(normalized, "normalized")
    eps = check_real(eps, "eps", positive=True)
    budget = check_real(budget, "budget", positive=True)
    c = check_real(c, "c", positive=True)
    d = width_dim(n)
    X = data.sphere(n, d, seed=data_seed)
    y = data.labels(n, seed=data_seed)
    ev_star = np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))
    lam, kappa = float(ev_star[0]), float(ev_star[-1] / ev_star[0])
    model = ex.model(normalized=bool(normalized))
    p0 = model.init(m, d, data_seed * 1000 + init_seed)
    err0 = float(np.linalg.norm(to_numpy(model.forward(p0, X) - y)))
    K0 = to_numpy(model.gram(p0, X, ("W",))["W"])
    ev0 = np.linalg.eigvalsh(K0)
    H0_min = float(ev0[0]) / (1.0 if normalized else m)
    eta = c / float(ev0[-1])
    steps = int(math.ceil(budget * kappa * math.log(max(err0 / eps, 1.0)) / c))
    out = {"d": d, "lam": lam, "kappa": kappa, "err0": err0, "lam0_ratio": H0_min / lam,
           "eta": eta, "budget_steps": steps}
    res = train(model, X, y, init=p0, rates={"W": eta}, steps=steps, tol=(eps / err0) ** 2,
                record=("lambda_max",), record_every=20, progress=False)
    final = math.sqrt(2.0 * float(res.history.loss[-1]))
    out.update(steps=res.history.steps, reached=bool(final <= eps), final_err=final,
               max_lambda_max=float(np.max(res.history["lambda_max"])))
    return out


@sweep.task("exp-init-width")
def init_width_task(*, n, m, data_seed, init_seed):
    """lambda_min(H(0)) / lambda and ||H(0) - H*||_2 / lambda on the width experiment's data (no training)."""
    n, m = check_int(n, "n"), check_int(m, "m")
    data_seed, init_seed = check_seed(data_seed, "data_seed"), check_seed(init_seed, "init_seed")
    d = width_dim(n)
    X = data.sphere(n, d, seed=data_seed)
    H_star = to_numpy(ex.gram_star(X))
    lam = float(np.linalg.eigvalsh(H_star)[0])
    W0, _ = ex.init_params(m, d, seed=data_seed * 1000 + init_seed)
    H0 = to_numpy(ex.gram(W0, X))
    return {"d": d, "lam": lam, "lam0_ratio": float(np.linalg.eigvalsh(H0)[0]) / lam,
            "dev_ratio": float(np.linalg.norm(H0 - H_star, 2)) / lam}


def smallest_passing(df, *, by, ok, width="m"):
    """Per group of ``by``: the smallest width from which every larger width in the table passes.

    ``ok`` is a boolean column; a group whose largest width fails gets NaN.  Returns a DataFrame
    with the ``by`` columns and ``m_star``.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if isinstance(by, str) or not hasattr(by, "__iter__") or not list(by) \
            or not all(isinstance(b, str) for b in by):
        raise TypeError(f"by must be a non-empty list of column names, got {by!r}")
    missing = sorted((set(by) | {ok, width}) - set(df.columns)) if isinstance(ok, str) and \
        isinstance(width, str) else None
    if missing is None:
        raise TypeError(f"ok and width must be column names (str), got {ok!r} and {width!r}")
    if missing:
        raise ValueError(f"the table has no columns {missing}; by, ok and width must name its columns")
    rows = []
    for key, g in df.groupby(list(by)):
        g = g.sort_values(width)
        passed = g[ok].fillna(False).astype(bool).to_numpy()
        widths = g[width].to_numpy()
        fail = np.flatnonzero(~passed)
        if fail.size == 0:
            m_star = float(widths[0])
        elif fail[-1] == len(widths) - 1:
            m_star = float("nan")
        else:
            m_star = float(widths[fail[-1] + 1])
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), m_star=m_star))
    return pd.DataFrame(rows)
