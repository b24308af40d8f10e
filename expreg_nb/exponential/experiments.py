r"""Part I, Chapter 4: reusable experiment logic for the convergence of gradient descent.

Every experiment here calls :func:`expreg_nb.exponential.train` (the one
gradient-descent loop); nothing re-implements it.

=============================  =====================================================
:func:`late_rate`              per-step contraction factor of ||u - y|| late in a run
:func:`one_step_remainder`     the split u(t+1) - u(t) = -eta H(t) e(t) + v(t) at one W
:func:`step_size_threshold`    bisection over eta for the largest stable step size
:func:`smallest_width`         smallest width at which GD keeps the proof's hypotheses within a step budget
:func:`movement_sweep`         RMS / max neuron movement against the width m
=============================  =====================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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


# =========================================================================== lazy training
@dataclass
class LazyRun:
    """One network and its linearization at W(0), same data, step and initialization (NumPy, host)."""

    m: int
    seed: int
    eta: float
    e_net: np.ndarray        #: residuals of the network, shape (steps + 1, n)
    e_lin: np.ndarray        #: residuals of the linearization at W(0), same shape
    lam0: np.ndarray         #: eigenvalues of H(W(0)), ascending
    V0: np.ndarray           #: their eigenvectors (columns)
    lamT_min: float          #: lambda_min(H(W(T))) of the trained network


def lazy_runs(X, y, *, widths, seeds, eta, steps, chunk=None) -> list[LazyRun]:
    r"""Train the network and follow its linearization at W(0) side by side.

    The network starts from the seeded W(0) and takes ``steps`` steps of size ``eta`` (normalized
    model, independent initialization), its residual e(t) = u(t) - y recorded at every step.  The
    linearization at W(0) (:func:`expreg_nb.training.linearize`) has the residual
    e(t + 1) = (I - eta H(0)) e(t) exactly; it is computed by that recursion
    (:func:`expreg_nb.exponential.reference.kernel_residuals`), which the chapter checks against
    the trained linearized model.
    """
    from ..training import train as _train_model
    from .reference import kernel_residuals

    eta = check_real(eta, "eta", positive=True)
    steps = check_int(steps, "steps")
    widths = check_int_sequence(widths, "widths")
    seeds = check_int_sequence(seeds, "seeds", minimum=0)
    X = as_float_array(X, "X", ndim=2)
    y = check_labels(y, X)
    model = ex.model(chunk=chunk)
    out = []
    for m in widths:
        for seed in seeds:
            p0 = model.init(m, X.shape[1], seed)
            r = _train_model(model, X, y, init=p0, rates={"W": eta}, steps=steps, progress=False,
                             monitors={"e": lambda p: to_numpy(model.forward(p, X) - y)})
            e_net = np.asarray(r.history["e"])
            H0 = to_numpy(ex.gram(p0["W"], X, chunk=chunk))
            lam0, V0 = np.linalg.eigh(H0)
            lamT = float(np.linalg.eigvalsh(to_numpy(ex.gram(r.params["W"], X, chunk=chunk)))[0])
            out.append(LazyRun(m=m, seed=seed, eta=eta, e_net=e_net,
                               e_lin=kernel_residuals(H0, e_net[0], eta, steps), lam0=lam0, V0=V0,
                               lamT_min=lamT))
    return out


def _check_lazy_run(run, name="run"):
    if not isinstance(run, LazyRun):
        raise TypeError(f"{name} must be a LazyRun (an entry of lazy_runs' list), got {type(run).__name__}")
    return run


def relative_gap(run: LazyRun) -> np.ndarray:
    """||e_net(t) - e_lin(t)|| / ||e_lin(t)|| at every step t."""
    _check_lazy_run(run)
    return np.linalg.norm(run.e_net - run.e_lin, axis=1) / np.linalg.norm(run.e_lin, axis=1)


def progress_step(run: LazyRun, level=1e-3) -> int:
    """The first step at which the linearization's residual is at most ``level`` times ||e(0)||."""
    _check_lazy_run(run)
    level = check_real(level, "level", positive=True)
    norms = np.linalg.norm(run.e_lin, axis=1)
    hit = np.flatnonzero(norms <= level * norms[0])
    if hit.size == 0:
        raise ValueError(f"the linearized residual never falls to {level} ||e(0)|| in {norms.size - 1} steps; "
                         f"run longer")
    return int(hit[0])


def late_rate_ratio(run: LazyRun, *, window=(1e-20, 1e-10)) -> float:
    """ln q_net / ln q_lin: how much faster (> 1) the network's late per-step factor is than its linearization's."""
    _check_lazy_run(run)
    q = [late_rate(0.5 * np.sum(e**2, axis=1), window=window) for e in (run.e_net, run.e_lin)]
    return math.log(q[0]) / math.log(q[1])


def mode_rate_errors(run: LazyRun, *, decay=10.0, min_share=0.1):
    r"""Per eigenmode k of H(0): the network's decay rate against the prediction (1 - eta lambda_k)^t.

    For each mode whose initial component |<v_k, e(0)>| is at least ``min_share`` ||e(0)|| / sqrt(n),
    t_k is the step at which the prediction has fallen by ``decay``; the network's per-step factor over
    [0, t_k] is q_k = (|<v_k, e_net(t_k)>| / |<v_k, e(0)>|)^{1 / t_k}.  Returns ``(k, err)``: the modes
    used and |ln q_k / ln(1 - eta lambda_k) - 1| for each (0 for a network that decays exactly like
    its linearization).
    """
    _check_lazy_run(run)
    decay = check_real(decay, "decay", positive=True)
    if decay <= 1.0:
        raise ValueError(f"decay must be > 1 (the factor by which the prediction falls), got {decay}")
    min_share = check_real(min_share, "min_share", nonnegative=True)
    C = run.e_net @ run.V0                                   # components, (steps + 1, n)
    c0 = C[0]
    n = c0.size
    factor = 1.0 - run.eta * run.lam0
    if np.any(factor <= 0) or np.any(factor >= 1):
        raise ValueError("every mode needs 0 < 1 - eta lambda_k < 1 (eta below 1 / lambda_max(H(0)))")
    t_k = np.ceil(math.log(decay) / -np.log(factor)).astype(int)
    keep = (np.abs(c0) >= min_share * np.linalg.norm(c0) / math.sqrt(n)) & (t_k < C.shape[0])
    k = np.flatnonzero(keep)
    if k.size == 0:
        raise ValueError("no mode qualifies; lower min_share or run longer")
    ratio = np.abs(C[t_k[k], k] / c0[k])
    logq = np.log(np.maximum(ratio, 1e-300)) / t_k[k]
    return k, np.abs(logq / np.log(factor[k]) - 1.0)


__all__ += ["LazyRun", "lazy_runs", "late_rate_ratio", "mode_rate_errors", "progress_step", "relative_gap"]
