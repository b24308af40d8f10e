r"""The largest stable step of any model, found by one rule, and the runs it judges.

Gradient descent with a step kernel K(t) = sum_k rates[k] H_k(t) (see
:mod:`expreg_nb.training`) is stable on a quadratic while lambda_max(K) < 2.  A
network's kernel moves during training (progressive sharpening), so a step that
is safe at t = 0 need not stay safe, and a *control* (the linearization, whose
kernel never moves) trained at the network's step runs far below its own limit.
This module gives every model the same treatment:

* the rates are ``c`` times *unit rates* with lambda_max(K(0)) = 1 (each model's
  own K(0)), and ``c`` runs over one geometric grid :data:`GRID`;
* a run at ``c`` is **stable** when it stays finite, its recorded
  max_t lambda_max(K(t)) is below :data:`ACCEPT` and no step raises the loss by
  more than the fraction :data:`MAX_RISE` (:func:`judge`): stability is about the
  loss falling, and lambda_max is its curvature proxy;
* :func:`largest_stable` searches the grid for the largest stable ``c`` from any
  start, raising ``c`` as well as lowering it (stability is assumed monotone in
  ``c``: stable at ``c`` implies stable below ``c``), and returns every attempt;
* a run stops on success (L(t)/L(0) <= tol), divergence, instability or a
  **stall** (:func:`stalled`: the loss fell by less than :data:`STALL_DROP`
  relative over the last tenth of the budget), so a budget ten times larger is
  also ten times more patient.

:func:`linear_run` is the same run for a model with a *constant* kernel (a
linearization) in closed form: e(t) = (I - K)^t e(0), so
L(t) = 0.5 sum_k (1 - mu_k)^{2t} beta_k with mu_k the eigenvalues of K and
beta_k the squared coefficients of e(0) on its eigenvectors; its steps to
tolerance are exact, and it can be judged by the same :func:`judge`.
:func:`lambda_max_monitor` records lambda_max(K(t)) of any model: a dense
eigenvalue problem for small n, warm-started Lanczos on Jacobian products
(``model.vjp`` then ``model.jvp``) for large n.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .backend import array_module, to_device, to_numpy
from .validation import (as_float_array, check_bool, check_int, check_optional_real, check_params,
                         check_real, check_same_backend, check_str)

__all__ = ["ACCEPT", "Attempt", "DENSE_MAX", "GRID", "LinearRun", "MAX_RISE", "STALL_DROP",
           "STALL_FRACTION", "Search", "judge", "lambda_max_monitor", "largest_stable", "linear_run",
           "loss_rises", "stall_window", "stalled", "unit_rates"]

#: A run is stable only if its recorded max_t lambda_max(K(t)) is below this: the exact limit of
#: gradient descent on a quadratic, the same for every model (a model whose kernel is constant
#: has lambda_max = c at every step; between two recordings of a moving kernel, the loss-rise
#: rule below catches an excursion past 2).
ACCEPT = 2.0
#: ... and no single step raises the loss by more than this fraction of its value.
MAX_RISE = 1e-2
#: The scales c tried, largest first: 1.99 * 2^(-k/4), k = 0..39 (ratio 2^(1/4), 19% apart; down
#: to 0.0024).  The top is just below the limit c = 2 that lambda_max(K(0)) = 1 sets for every
#: model, so no model's largest stable step is cut off by the grid.
GRID = tuple(1.99 * 2.0 ** (-k / 4) for k in range(40))
#: The stall window is the budget divided by this.
STALL_FRACTION = 10
#: A run has stalled when its loss fell by less than this fraction over the stall window.
STALL_DROP = 1e-3
#: Up to this many data points lambda_max(K) is a dense eigenvalue problem; above, Lanczos.
DENSE_MAX = 64


def loss_rises(loss) -> tuple[int, float]:
    """``(count, largest)``: the number of steps on which the loss rose, and the largest rise
    (L(t+1) - L(t)) / L(t) (0.0 when it never rose)."""
    loss = np.asarray(to_numpy(as_float_array(loss, "loss", ndim=1)), dtype=float)
    if (loss < 0).any():
        raise ValueError(f"loss must be >= 0 (a squared error), got {loss[loss < 0][0]}")
    if loss.size < 2:
        return 0, 0.0
    diff = np.diff(loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(loss[:-1] > 0, diff / loss[:-1], np.where(diff > 0, np.inf, 0.0))
    up = diff > 0
    return int(up.sum()), float(rel[up].max()) if up.any() else 0.0


def stall_window(steps: int, record_every: int) -> int:
    """The stall window for a budget of ``steps``: steps // STALL_FRACTION rounded up to a
    multiple of ``record_every`` (at least one recording)."""
    steps = check_int(steps, "steps")
    record_every = check_int(record_every, "record_every")
    w = max(steps // STALL_FRACTION, record_every)
    return int(math.ceil(w / record_every) * record_every)


def stalled(loss_now: float, loss_before: float, drop: float = STALL_DROP) -> bool:
    """True when the loss fell by less than ``drop`` relative over the window: L(t) > (1 - drop) L(t - w)."""
    drop = check_real(drop, "drop", positive=True)
    loss_now = check_real(loss_now, "loss_now", nonnegative=True)
    loss_before = check_real(loss_before, "loss_before", nonnegative=True)
    return bool(loss_now > (1.0 - drop) * loss_before)


@dataclass
class Attempt:
    """One run at the scale ``c``: whether it is stable (and why not), what it recorded.

    ``result`` is what the run returned (a :class:`~expreg_nb.training.TrainResult`
    or :class:`LinearRun`), ``None`` if it was aborted as unstable.
    """

    c: float
    stable: bool
    reason: str
    result: object = None
    max_lambda_max: float = math.nan
    rises: int = 0
    max_rise: float = 0.0
    steps: int = 0
    stalled: bool = False


def judge(c, loss, max_lambda_max, *, result=None, accept=ACCEPT, max_rise=MAX_RISE, stalled=False,
          aborted=None, steps=None) -> Attempt:
    """The stability verdict on one run at scale ``c`` (see the module docstring).

    ``loss``: the losses at every step (or, for a run known to be monotone, at its
    recorded steps); ``max_lambda_max``: max_t lambda_max(K(t)) over its records;
    ``aborted``: a reason string when the run was stopped as unstable; ``steps``: the steps
    taken (default: one per loss after the first).
    """
    c = check_real(c, "c", positive=True)
    accept = check_real(accept, "accept", positive=True)
    max_rise = check_real(max_rise, "max_rise", positive=True)
    max_lambda_max = check_optional_real(max_lambda_max, "max_lambda_max")
    stalled = check_bool(stalled, "stalled")
    if aborted is not None:
        aborted = check_str(aborted, "aborted", nonempty=True)
    loss = np.asarray(to_numpy(as_float_array(loss, "loss", ndim=1, finite=False)), dtype=float)
    rises, largest = loss_rises(loss[np.isfinite(loss)]) if np.isfinite(loss).any() else (0, 0.0)
    steps = int(loss.size - 1) if steps is None else check_int(steps, "steps", minimum=0)
    if aborted is not None:
        return Attempt(c, False, str(aborted), None, float(max_lambda_max), rises, largest, steps, False)
    if not np.isfinite(loss).all():
        return Attempt(c, False, f"diverged at step {int(np.argmin(np.isfinite(loss)))}", result,
                       float(max_lambda_max), rises, largest, steps, False)
    if not max_lambda_max < accept:
        reason = f"max lambda_max(K(t)) = {max_lambda_max:.3g} >= {accept:g}"
        return Attempt(c, False, reason, result, float(max_lambda_max), rises, largest, steps, stalled)
    if largest > max_rise:
        reason = f"the loss rose by {largest:.2%} in one step (more than {max_rise:.0%})"
        return Attempt(c, False, reason, result, float(max_lambda_max), rises, largest, steps, stalled)
    return Attempt(c, True, "stable", result, float(max_lambda_max), rises, largest, steps, stalled)


@dataclass
class Search:
    """What :func:`largest_stable` found: the accepted attempt (``None`` if no grid scale was
    stable), its scale ``c`` (NaN if none), ``c_above`` the next larger grid scale, which was
    tried and found unstable (NaN when ``c`` is the top of the grid), and every attempt."""

    c: float
    attempt: Attempt | None
    c_above: float
    attempts: list = field(default_factory=list)

    @property
    def tries(self) -> int:
        return len(self.attempts)


def largest_stable(run: Callable, grid: Sequence[float] = GRID, start: int = 3) -> Search:
    """The largest scale of ``grid`` whose run is stable, by a search that can go up or down.

    ``run(c) -> Attempt``.  From ``grid[start]`` (grid sorted largest first) it moves
    up (while runs are stable) or down (until one is) by doubling strides, then
    bisects the bracket.  Under monotone stability the answer does not
    depend on ``start``.  Every run is kept in ``Search.attempts``.
    """
    if not callable(run):
        raise TypeError(f"run must be callable, got {type(run).__name__}")
    try:
        flat = np.ndim(grid) == 1
    except ValueError:  # a ragged sequence
        flat = False
    if isinstance(grid, (str, bytes, dict)) or not hasattr(grid, "__len__") or not flat:
        raise TypeError(f"grid must be a 1-dimensional sequence of scales, got {type(grid).__name__}")
    grid = [check_real(g, "grid", positive=True) for g in grid]
    if not grid or any(b >= a for a, b in zip(grid, grid[1:])):
        raise ValueError("grid must be a non-empty sequence of scales in decreasing order")
    start = check_int(start, "start", minimum=0)
    if start >= len(grid):
        raise ValueError(f"start must index the grid (0..{len(grid) - 1}), got {start}")
    tried: dict[int, Attempt] = {}

    def at(i):
        if i not in tried:
            a = run(grid[i])
            if not isinstance(a, Attempt):
                raise TypeError(f"run must return an Attempt, got {type(a).__name__}")
            tried[i] = a
        return tried[i]

    # good: a stable index, bad: an unstable one (good > bad: smaller scales are stable);
    # a doubling stride brackets the boundary from the start, bisection closes the bracket
    good = bad = None
    if at(start).stable:
        good, stride = start, 1
        while bad is None and good > 0:
            j = max(good - stride, 0)
            if at(j).stable:
                good, stride = j, stride * 2
            else:
                bad = j
        if bad is None:
            bad = -1
    else:
        bad, stride = start, 1
        while good is None and bad < len(grid) - 1:
            j = min(bad + stride, len(grid) - 1)
            if at(j).stable:
                good = j
            else:
                bad, stride = j, stride * 2
    if good is not None:
        while good - bad > 1:
            mid = (good + bad) // 2
            if at(mid).stable:
                good = mid
            else:
                bad = mid
    attempts = [tried[k] for k in sorted(tried)]
    if good is None:
        return Search(math.nan, None, grid[-1], attempts)
    above = grid[good - 1] if good > 0 else math.nan
    return Search(grid[good], tried[good], above, attempts)


def unit_rates(model, params, X, ratio) -> dict:
    """Rates ``{"W": e, "a": ratio * e}`` (``ratio = inf``: ``{"W": 0, "a": e}``) with
    lambda_max(sum_k rates[k] H_k) = 1 at ``params``, from ``model.gram``.

    The rates of a run at scale ``c`` are ``c`` times these: every model is normalized
    by its own kernel at its own starting point.
    """
    from .training import Model

    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    X = as_float_array(X, "X", ndim=2)
    params = check_params(model, params, X, "params")
    is_inf = isinstance(ratio, (float, np.floating)) and ratio == math.inf
    ratio = math.inf if is_inf else check_real(ratio, "ratio", nonnegative=True)
    need = ("a",) if is_inf else (("W",) if ratio == 0 else ("W", "a"))
    H = model.gram(params, X, need)
    K = H["a"] if is_inf else (H["W"] if ratio == 0 else H["W"] + ratio * H["a"])
    lam = float(array_module(K).linalg.eigvalsh(K)[-1])
    if not (lam > 0 and math.isfinite(1.0 / lam)):
        raise ValueError(f"the kernel of the trained layers has lambda_max = {lam:.3g} at the start: "
                         f"no step size normalizes it")
    if is_inf:
        return {"W": 0.0, "a": 1.0 / lam}
    return {"W": 1.0 / lam, "a": ratio / lam}


# --------------------------------------------------------------------------- lambda_max along a run
def _kernel_matvec(model, params, X, rates):
    need = tuple(k for k, v in rates.items() if v > 0)

    def mv(v):
        g = model.vjp(params, X, v, need)
        return model.jvp(params, X, {k: rates[k] * g[k] for k in need})
    return mv


def _data(X):
    """``X`` checked (2-d, real, finite); an array is returned as it is, not copied, since the centered
    models compare their data by identity."""
    arr = as_float_array(X, "X", ndim=2)
    return X if hasattr(X, "shape") and getattr(X, "dtype", None) == arr.dtype else arr


def _check_rates(rates, model):
    """``rates``: a mapping from trainable blocks of ``model`` to step sizes >= 0."""
    if not isinstance(rates, Mapping):
        raise TypeError(f"rates must be a mapping from parameter block to step size, got {type(rates).__name__}")
    out = {k: check_real(v, f"rates[{k!r}]", nonnegative=True) for k, v in rates.items()}
    unknown = sorted(set(out) - set(model.trainable), key=str)
    if unknown:
        raise ValueError(f"rates name blocks {unknown} that the model cannot train (trainable: {model.trainable})")
    return out


def lambda_max_monitor(model, X, rates: Mapping[str, float], *, dense_max: int = DENSE_MAX,
                       iters: int = 6) -> Callable:
    """A monitor ``params -> lambda_max(K(params))`` for :func:`expreg_nb.training.train`.

    n <= ``dense_max``: the dense step kernel from ``model.gram`` and its top eigenvalue.
    Larger n: ``iters`` Lanczos steps on v -> J diag(rates) J^T v (two Jacobian
    products, no n x n matrix), started from the previous call's top Ritz vector, so
    that along a run few steps suffice; the Ritz value is a lower bound that is exact
    to rounding once the top eigenvalue is resolved.
    """
    from .training import Model

    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    X = _data(X)
    rates = _check_rates(rates, model)
    dense_max = check_int(dense_max, "dense_max", minimum=0)
    iters = check_int(iters, "iters", minimum=2)
    n = X.shape[0]
    need = tuple(k for k, v in rates.items() if v > 0)
    if n <= dense_max:
        def dense(params):
            H = model.gram(params, X, need)
            K = sum(rates[k] * H[k] for k in need)
            return float(array_module(K).linalg.eigvalsh(K)[-1])
        return dense
    state = {"v": None}

    def lanczos(params):
        mv = _kernel_matvec(model, params, X, rates)
        xp = array_module(X)
        v = state["v"]
        if v is None:
            v = to_device(np.random.default_rng(0).standard_normal(n), xp)
        k = min(iters, n)
        V = xp.zeros((k, n), dtype=X.dtype)
        alpha, beta = np.zeros(k), np.zeros(k)
        V[0] = v / float(xp.linalg.norm(v))
        used = k
        for j in range(k):
            w = mv(V[j])
            alpha[j] = float(V[j] @ w)
            w = w - V[: j + 1].T @ (V[: j + 1] @ w)      # full reorthogonalization (k is small)
            w = w - V[: j + 1].T @ (V[: j + 1] @ w)
            if j + 1 < k:
                beta[j] = float(xp.linalg.norm(w))
                if beta[j] <= 1e-12 * max(abs(alpha[: j + 1]).max(), 1e-300):
                    used = j + 1
                    break
                V[j + 1] = w / beta[j]
        T = np.diag(alpha[:used]) + np.diag(beta[: used - 1], 1) + np.diag(beta[: used - 1], -1)
        theta, S = np.linalg.eigh(T)
        state["v"] = V[:used].T @ to_device(S[:, -1], xp)
        return float(theta[-1])
    return lanczos


# --------------------------------------------------------------------------- constant kernels
@dataclass
class LinearRun:
    """Gradient descent with a constant kernel, in closed form (:func:`linear_run`).

    ``loss`` holds L(t) at ``record_steps``; ``steps`` is the step it stopped at
    (the first with L(t)/L(0) <= tol when ``converged``), ``floor`` the limit
    L(inf)/L(0) (the mass of e(0) on the kernel's null space).
    """

    record_steps: np.ndarray
    loss: np.ndarray
    steps: int
    converged: bool
    stalled: bool
    floor: float

    @property
    def relative_loss(self) -> float:
        return float(self.loss[-1] / self.loss[0])


def linear_run(mu, beta, c, *, steps, tol, record_every=10, drop=STALL_DROP, null_tol=1e-10) -> LinearRun:
    r"""Gradient descent e <- (I - c K/lambda_max(K)) e in closed form.

    ``mu``: the eigenvalues of K divided by its largest (in [0, 1]); ``beta``: the
    squared coefficients of e(0) on the eigenvectors (so L(0) = sum(beta) / 2).  The
    loss is evaluated at every ``record_every`` steps until tolerance (then the exact
    first step below it is found by bisection: every term is nonincreasing, since
    |1 - c mu_k| <= 1 for c <= 2), a stall (:func:`stalled` over :func:`stall_window`)
    or the budget ``steps``.  ``c`` > 2 is refused (that run diverges).
    """
    check_same_backend(mu=mu, beta=beta)
    null_tol = check_real(null_tol, "null_tol", positive=True)
    mu = np.asarray(to_numpy(as_float_array(mu, "mu", ndim=1)), dtype=float)
    beta = np.asarray(to_numpy(as_float_array(beta, "beta", ndim=1)), dtype=float)
    if mu.shape != beta.shape:
        raise ValueError(f"mu has {mu.size} entries but beta has {beta.size}; they must match")
    if (beta < 0).any() or not beta.sum() > 0:
        raise ValueError("beta must be nonnegative with a positive sum (squared coefficients of e(0) != 0)")
    if mu.min() < -1e-9 or mu.max() > 1 + 1e-9:
        raise ValueError("mu must lie in [0, 1] (eigenvalues divided by the largest)")
    c = check_real(c, "c", positive=True)
    if c > 2:
        raise ValueError(f"c = {c} > 2: gradient descent with this constant kernel diverges")
    steps = check_int(steps, "steps")
    record_every = check_int(record_every, "record_every")
    tol = check_real(tol, "tol", positive=True)
    mu = np.clip(mu, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        logf = 2.0 * np.log(np.abs(1.0 - c * mu))           # log of the per-step factor on beta_k
    null = mu <= null_tol
    total = float(beta.sum())
    floor = float(beta[null].sum() / total)

    def rel(t):
        t = np.asarray(t, dtype=float)
        with np.errstate(invalid="ignore"):
            terms = np.where(t[:, None] == 0, 1.0, np.exp(np.outer(t, logf)))
        return terms @ beta / total

    window = stall_window(steps, record_every)
    rec = list(range(0, steps + 1, record_every))
    if rec[-1] != steps:
        rec.append(steps)
    vals: list[float] = []
    seen: dict[int, float] = {}
    stop_at, conv, stall = steps, False, False
    block = 256
    for b in range(0, len(rec), block):
        ts = rec[b:b + block]
        for t, v in zip(ts, rel(ts)):
            vals.append(float(v))
            seen[t] = float(v)
            if v <= tol:
                stop_at, conv = t, True
                break
            if t >= window and t % record_every == 0 and stalled(v, seen[t - window], drop):
                stop_at, stall = t, True
                break
        if conv or stall:
            break
    rs = rec[: len(vals)]
    if conv and stop_at > 0:                        # the exact first step below tol
        lo, hi = max(rs[-2] if len(rs) > 1 else 0, 0), stop_at
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if rel([mid])[0] <= tol:
                hi = mid
            else:
                lo = mid
        stop_at = hi
        rs[-1] = stop_at
        vals[-1] = float(rel([stop_at])[0])
    return LinearRun(np.asarray(rs, dtype=int), 0.5 * total * np.asarray(vals), int(stop_at), conv, stall, floor)
