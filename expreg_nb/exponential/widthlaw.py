r"""Part I: the smallest width at which gradient descent reaches ||F(W(T), X) - y|| <= eps, free of a step budget.

A run of gradient descent at width m stops for one of four reasons (:data:`STOP_REASONS`):

``reached``
    ||e(t)|| <= eps (the run passes);
``diverged``
    the loss became non-finite (:class:`~expreg_nb.training.DivergenceError`);
``stalled``
    the stall rule of :func:`stall_boundary` fired: progress per doubling of time shrinks
    geometrically, and even the whole geometric tail of future progress falls short of the
    distance ln(||e(t)|| / eps) still to go;
``cap``
    the step cap ``cap_factor * T_pred`` was reached, with T_pred = ln(||e(0)|| / eps) /
    (eta lambda_min(K(0))) the time the initial kernel K(0) predicts.

The stall rule never looks at the cap: it compares progress with progress.  On a linearly
converging run the progress per doubling window grows (it is proportional to the window), so the
rule cannot fire; it fires on runs that approach a positive loss.  Only runs that stop at the cap
can change their verdict when the cap grows, so the verdicts at 10x and 100x the cap (and at a
10x stricter stall margin) are computed in the same task by continuing the same trajectories
(:data:`VARIANTS`): one gradient-descent run per width, extended as far as any variant needs.

The smallest passing width m* is found per seed cell by a search on a grid of 2^{1/4} steps
(:func:`width_grid`, :func:`search_width`): bracketing by factors of 2 from a start near twice the
counting bound n/d, then bisection.  The grid reaches ``min(n^2, M_MAX)``, so a law as steep as
n^2 could be observed at small n.

:func:`width_search_task` is the sweep task (``exp-width-search``); :func:`runs_frame` expands the
per-run trace of a table, :func:`variant_table` gives the table a variant would have produced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import data, sweep
from ..backend import to_numpy
from ..training import DivergenceError
from ..training import train as _train
from ..validation import (check_bool, check_choice, check_dataframe, check_int, check_int_sequence, check_names,
                          check_real, check_seed, check_str, real_array)
from . import network as ex

__all__ = [
    "CAP_FACTOR",
    "HARD_CAP",
    "M_MAX",
    "STALL_MARGIN",
    "STALL_PATIENCE",
    "STOP_REASONS",
    "VARIANTS",
    "WIDTH_C",
    "WIDTH_D",
    "WIDTH_EPS",
    "Run",
    "Verdict",
    "paired_sphere",
    "runs_frame",
    "search_width",
    "stall_boundary",
    "variant_table",
    "width_data",
    "width_dim",
    "width_grid",
    "width_search_task",
    "RATE_VARIANTS",
    "linear_width_search",
]

#: Target: ||F(W(T), X) - y||_2 <= WIDTH_EPS (the abstract's eps in (0, 0.1)).
WIDTH_EPS = 0.05
#: Step size: eta * lambda_max(K(0)) = WIDTH_C, K the model's own kernel (m H unnormalized).
WIDTH_C = 0.5
#: Step cap, in units of the predicted time T_pred = ln(||e(0)|| / eps) / (eta lambda_min(K(0))).
#: Generous on purpose: with a cap of 10 T_pred the m* of 8 of 100 stored seed cells moved at
#: 100 T_pred and 9 at 1000 T_pred (mostly small n, where the kernel changes most): the cap is a
#: guard against runs that never end, the stall rule and the hard cap decide the failures.
CAP_FACTOR = 1000.0
#: A window is flagged when STALL_MARGIN * (the geometric tail of future progress) < ln(||e|| / eps) ...
STALL_MARGIN = 1.0
#: ... and a run stalls at this many consecutive flagged windows.
STALL_PATIENCE = 3
#: No cap exceeds this many steps, in any variant: it binds only where K(0) is nearly singular
#: (m d close to n), and a run stopped there is counted in ``n_hard`` (undecided in every variant).
HARD_CAP = 10**6
#: Largest width a search tries (beyond n^2 at every n <= 128).
M_MAX = 2**14
#: Stop reasons, in the order of the module docstring.
STOP_REASONS = ("reached", "diverged", "stalled", "cap")
#: The protocol variants computed from the same trajectories: name -> (cap factor, stall margin).
VARIANTS = {
    "baseline": (CAP_FACTOR, STALL_MARGIN),
    "cap x10": (10 * CAP_FACTOR, STALL_MARGIN),
    "cap x100": (100 * CAP_FACTOR, STALL_MARGIN),
    "stall margin x10": (CAP_FACTOR, 10 * STALL_MARGIN),
}
#: The rate-matched criteria: name -> c.  A run passes when ||e(t)|| <= eps by
#: T_c = c ln(||e(0)|| / eps) / (eta lambda_min(K*)), K* = H* normalized and m H* unnormalized: the
#: time the infinite-width kernel's rate allows (c = 4 is the theorem's T), not the run's own K(0).
RATE_VARIANTS = {"rate c=4": 4.0, "rate c=40": 40.0, "rate c=400": 400.0}
#: Column suffix of each variant in the task's output.
_SUFFIX = {"baseline": "", "cap x10": "_cap10", "cap x100": "_cap100", "stall margin x10": "_margin10",
           "rate c=4": "_rate4", "rate c=40": "_rate40", "rate c=400": "_rate400"}


#: Input dimension of the width experiment: fixed, so the counting bound m >= n / d grows like n.
WIDTH_D = 16


def width_dim(n: int) -> int:
    """The input dimension d = n // 2 + 32 of the second design, which grows with n.

    Growing d with n keeps lambda_min(H*) and the condition number of H* in a fixed band
    (points on the unit sphere of a fixed R^d crowd together as n grows, and lambda -> 0);
    the counting bound m d >= n then reads m >= n / d, which tends to 2.
    """
    n = check_int(n, "n")
    return n // 2 + 32


def paired_sphere(n, d, theta, *, seed):
    """``data.sphere(n, d, seed=seed)`` with point 1 moved to angle ``theta`` from point 0 (host array).

    The pair sets lambda_min(H*), which falls like theta^2 as theta -> 0, while the other
    n - 2 points, the counting bound and the labels stay as they were: the knob that varies
    lambda at fixed n and d.
    """
    n, d = check_int(n, "n", minimum=2), check_int(d, "d", minimum=2)
    theta = check_real(theta, "theta", positive=True)
    if theta > math.pi:
        raise ValueError(f"theta must lie in (0, pi], got {theta}")
    X = np.array(to_numpy(data.sphere(n, d, seed=seed)), dtype=float)
    u = X[1] - (X[1] @ X[0]) * X[0]
    u /= np.linalg.norm(u)
    X[1] = math.cos(theta) * X[0] + math.sin(theta) * u
    return X


def width_data(n, d, data_seed, *, theta=None):
    """(X, y): n points on the unit sphere of R^d (:func:`paired_sphere` if ``theta``), labels in [-1, 1]."""
    n, d, data_seed = check_int(n, "n"), check_int(d, "d"), check_seed(data_seed, "data_seed")
    X = data.sphere(n, d, seed=data_seed) if theta is None else paired_sphere(n, d, theta, seed=data_seed)
    return X, data.labels(n, seed=data_seed)


def width_grid(m_max, *, coupled=False, per_octave=4):
    """Widths round(2^{k / per_octave}) (even ones for the coupled initialization) up to ``m_max``."""
    m_max = check_int(m_max, "m_max", minimum=2 if coupled else 1, maximum=2**30)
    per_octave = check_int(per_octave, "per_octave")
    coupled = check_bool(coupled, "coupled")
    out, k = [], 0
    while True:
        v = 2.0 ** (k / per_octave)
        m = 2 * max(1, round(v / 2)) if coupled else max(1, round(v))
        if m > m_max:
            break
        if not out or m != out[-1]:
            out.append(m)
        k += 1
    return out


def stall_boundary(norms, eps, *, margin=STALL_MARGIN, patience=STALL_PATIENCE):
    r"""The first boundary index k at which the stall rule fires, or ``None``.

    ``norms[k]`` is the smallest ||e(t)|| over t <= t_k, at boundaries t_k = T0 2^k (so window
    j = [t_{j-1}, t_j] is twice as long as window j - 1; a running minimum, so an oscillating loss
    counts only its new lows).  The progress over two consecutive windows is
    Q_k = ln(norms[k-2] / norms[k]).  If the progress per window shrinks geometrically by
    r = Q_k / Q_{k-1} < 1, all future progress adds up to the tail F_k = Q_k r^2 / (1 - r^2); F_k
    is infinite when r >= 1 or Q_{k-1} = 0 (progress not shrinking: a linear rate has r near 2, a
    power law r = 1) and 0 when Q_k = 0 (no new low for two windows).  Boundary k is flagged when
    ``margin * F_k < ln(norms[k] / eps)``, the distance still to go, and the rule fires at the
    ``patience``-th consecutive flag.
    """
    margin = check_real(margin, "margin", positive=True)
    patience = check_int(patience, "patience")
    eps = check_real(eps, "eps", positive=True)
    norms = real_array(norms, "norms", low=0.0, high=math.inf, low_open=True)
    if norms.ndim != 1 or norms.size == 0:
        raise ValueError(f"norms must be a non-empty 1-dimensional array, got shape {norms.shape}")
    N = np.minimum.accumulate(norms)
    run = 0
    for k in range(3, N.size):
        q1, q2 = math.log(N[k - 3] / N[k - 1]), math.log(N[k - 2] / N[k])
        if q2 <= 0:
            future = 0.0
        elif q1 <= 0 or q2 >= q1:
            future = math.inf
        else:
            r2 = (q2 / q1) ** 2
            future = q2 * r2 / (1.0 - r2)
        run = run + 1 if margin * future < math.log(N[k] / eps) else 0
        if run >= patience:
            return k
    return None


@dataclass
class Verdict:
    """How one run ended under one variant: ``reason`` (one of :data:`STOP_REASONS`), ``step``, ``err``."""

    reason: str
    step: int
    err: float


@dataclass
class Run:
    """One gradient-descent trajectory at one width, extended on demand (see :meth:`verdict`)."""

    model: object
    X: object
    y: object
    eta: float
    eps: float
    err0: float
    lam0_ratio: float          #: lambda_min(H(0)) / lambda
    pred_steps: float          #: ln(||e(0)|| / eps) / (eta lambda_min(K(0)))
    T0: int                    #: first boundary; boundaries are T0 2^k
    params: dict
    step: int = 0
    norms: list = field(default_factory=list)   #: running min of ||e|| at the boundaries so far
    end: Verdict | None = None                  #: reached / diverged, once it happened
    max_rise: float = 1.0                       #: max_t ||e(t)|| / ||e(0)||
    rises: int = 0                              #: steps at which the loss increased
    norms_now: float = math.nan                 #: ||e|| at ``step``
    best: float = math.inf                      #: min over t <= ``step`` of ||e(t)||
    marks: dict = field(default_factory=dict)   #: ||e|| at the caps stopped at
    t_star: float = math.nan                    #: ln(||e(0)|| / eps) / (eta lambda_min(K*))

    def reaches_by(self, T) -> bool:
        """Whether the run reaches eps within ``T`` steps (no stall rule; never beyond HARD_CAP)."""
        T = min(int(math.ceil(T)), HARD_CAP)
        if self.end is None and self.step < T:
            self._advance(T)
        return self.end is not None and self.end.reason == "reached" and self.end.step <= T

    def _advance(self, to):
        """Train from ``self.step`` to step ``to`` (or until reached / diverged)."""
        if self.end is not None or to <= self.step:
            return
        start = self.norms_now
        try:
            res = _train(self.model, self.X, self.y, init=self.params, rates={"W": self.eta},
                         steps=to - self.step, tol=(self.eps / start) ** 2, progress=False)
        except DivergenceError as exc:
            self.end = Verdict("diverged", self.step + exc.step, math.inf)
            self.step = self.end.step
            return
        L = res.history.loss
        err = np.sqrt(2.0 * L)
        self.max_rise = max(self.max_rise, float(err.max()) / self.err0)
        self.rises += int(np.count_nonzero(np.diff(L) > 0))
        self.params, self.step, self.norms_now = res.params, self.step + res.history.steps, float(err[-1])
        self.best = min(self.best, float(err.min()))
        if err[-1] <= self.eps:
            self.end = Verdict("reached", self.step, float(err[-1]))

    def verdict(self, cap_factor=CAP_FACTOR, margin=STALL_MARGIN) -> Verdict:
        """The verdict with cap ``cap_factor * pred_steps`` and the stall rule at ``margin``.

        Extends the trajectory as far as needed; the trajectory is the same for every variant,
        so a verdict decided before the smaller cap is the same under every larger one.
        """
        raw = check_real(cap_factor, "cap_factor", positive=True) * self.pred_steps
        cap = math.ceil(raw) if raw < HARD_CAP else HARD_CAP
        k = 0
        while True:
            t_k = self.T0 * 2**k
            if self.end is not None and self.end.step <= min(t_k, cap):
                return self.end
            if t_k > cap:
                self._advance(cap)
                if self.end is not None and self.end.step <= cap:
                    return self.end
                self.marks.setdefault(cap, self.norms_now)
                return Verdict("cap", cap, self.marks[cap])
            if len(self.norms) <= k:
                self._advance(t_k)
                if self.end is not None:
                    continue
                self.norms.append(self.best)
            s = stall_boundary(self.norms[: k + 1], self.eps, margin=margin)
            if s is not None:
                return Verdict("stalled", self.T0 * 2**s, self.norms[s])  # the best ||e|| reached
            k += 1


def _start_run(X, y, m, *, normalized, coupled, seed, c, eps, lam):
    model = ex.model(normalized=normalized, coupled=coupled)
    p0 = model.init(m, X.shape[1], seed)
    err0 = float(np.linalg.norm(to_numpy(model.forward(p0, X) - y)))
    ev = np.linalg.eigvalsh(to_numpy(model.gram(p0, X, ("W",))["W"]))
    scale = 1.0 if normalized else float(m)           # K(0) = m H(0) for the unnormalized model
    eta = c / float(ev[-1])
    dist = math.log(max(err0 / eps, 1.0))
    pred = dist / (eta * max(float(ev[0]), 1e-300))   # infinite for a singular K(0) (m d < n)
    t_star = dist / (eta * scale * lam)               # the infinite-width kernel's time
    run = Run(model=model, X=X, y=y, eta=eta, eps=eps, err0=err0,
              lam0_ratio=float(ev[0]) / scale / lam, pred_steps=pred,
              T0=max(8, int(math.ceil(t_star / 2))), params=p0, t_star=t_star)
    run.norms_now = run.best = err0
    if err0 <= eps:
        run.end = Verdict("reached", 0, err0)
    return run


def _check_cell(n, d, normalized, coupled, data_seed, init_seed, eps, c):
    """The checked arguments of one seed cell (:func:`width_search_task`, :func:`linear_width_search`)."""
    return (check_int(n, "n", minimum=2), check_int(d, "d"), check_bool(normalized, "normalized"),
            check_bool(coupled, "coupled"), check_seed(data_seed, "data_seed"),
            check_seed(init_seed, "init_seed"), check_real(eps, "eps", positive=True),
            check_real(c, "c", positive=True))


def search_width(grid, start, passes, *, per_octave=4):
    """Smallest index i of ``grid`` with ``passes(i)``, assuming passing is monotone in the width.

    Brackets by ``per_octave`` indices (a factor 2) from ``start``, then bisects.  Returns
    ``(i_pass, i_fail)``: the smallest passing index found and the largest failing index below
    it (``None`` when grid[0] passes), or ``(None, last index)`` when no width passes.
    """
    grid = check_int_sequence(grid, "grid")
    if any(b <= a for a, b in zip(grid, grid[1:])):
        raise ValueError("grid must be strictly increasing")
    start = check_int(start, "start", minimum=0)
    per_octave = check_int(per_octave, "per_octave")
    if not callable(passes):
        raise TypeError(f"passes must be callable (index -> bool), got {type(passes).__name__}")
    hi = lo = None
    i = min(start, len(grid) - 1)
    if passes(i):
        hi = i
        while hi > 0:
            j = max(0, hi - per_octave)
            if passes(j):
                hi = j
            else:
                lo = j
                break
        if lo is None:
            return hi, None
    else:
        lo = i
        while lo < len(grid) - 1:
            j = min(len(grid) - 1, lo + per_octave)
            if passes(j):
                hi = j
                break
            lo = j
        if hi is None:
            return None, lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi, lo


@sweep.task("exp-width-search")
def width_search_task(*, n, d, normalized, coupled, data_seed, init_seed, theta=None, eps=WIDTH_EPS,
                      c=WIDTH_C):
    r"""The smallest width m* at which gradient descent reaches ||e|| <= ``eps``, for one seed cell.

    Data :func:`width_data` (``theta``: the pair angle of :func:`paired_sphere`), initialization
    seed ``data_seed * 1000 + init_seed``, step eta = c / lambda_max(K(0)).  Searches the grid
    :func:`width_grid` up to min(n^2, :data:`M_MAX`) for every variant of :data:`VARIANTS`,
    sharing one trajectory per width.  Returns ``m_star`` (NaN when no width passes), ``m_fail``
    (the largest failing width below it), ``reason_fail`` and, for each variant, ``m_star_<v>``;
    the baseline run at m*: ``lam0_ratio``, ``err0``, ``steps``, ``pred_steps``, ``max_rise``,
    ``rises``; ``lam``, ``kappa`` of H*; ``n_runs``, ``n_cap`` (baseline runs stopped at the cap),
    ``n_hard`` (runs still undecided at :data:`HARD_CAP` steps, the same in every variant) and ``trace`` ("m:reason:step" for every baseline run of the search, in the order run).
    """
    n, d, normalized, coupled, data_seed, init_seed, eps, c = _check_cell(
        n, d, normalized, coupled, data_seed, init_seed, eps, c)
    X, y = width_data(n, d, data_seed, theta=theta)
    ev_star = np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))
    lam = float(ev_star[0])
    grid = width_grid(min(n * n, M_MAX), coupled=coupled)
    start = int(np.searchsorted(grid, 2.0 * n / d))
    seed = data_seed * 1000 + init_seed
    runs: dict[int, Run] = {}

    def run_at(i):
        m = grid[i]
        if m not in runs:
            runs[m] = _start_run(X, y, m, normalized=normalized, coupled=coupled, seed=seed, c=c,
                                 eps=eps, lam=lam)
        return runs[m]

    out = {"lam": lam, "kappa": float(ev_star[-1] / ev_star[0])}
    trace = []
    for name, (cap_factor, margin) in VARIANTS.items():
        def passes(i, cap_factor=cap_factor, margin=margin, name=name):
            v = run_at(i).verdict(cap_factor, margin)
            if name == "baseline":
                trace.append(f"{grid[i]}:{v.reason}:{v.step}")
            return v.reason == "reached"

        i_pass, i_fail = search_width(grid, start, passes)
        out[f"m_star{_SUFFIX[name]}"] = float(grid[i_pass]) if i_pass is not None else math.nan
        if name == "baseline":
            base_pass, base_fail = i_pass, i_fail
    for name, c_rate in RATE_VARIANTS.items():
        i_pass, _ = search_width(grid, start, lambda i, c_rate=c_rate: run_at(i).reaches_by(c_rate * run_at(i).t_star))
        out[f"m_star{_SUFFIX[name]}"] = float(grid[i_pass]) if i_pass is not None else math.nan
    out["m_fail"] = float(grid[base_fail]) if base_fail is not None else math.nan
    out["reason_fail"] = run_at(base_fail).verdict().reason if base_fail is not None else ""
    star = run_at(base_pass) if base_pass is not None else None
    v = star.verdict() if star is not None else None
    out.update(
        lam0_ratio=star.lam0_ratio if star else math.nan, err0=star.err0 if star else math.nan,
        steps=v.step if v else math.nan, pred_steps=star.pred_steps if star else math.nan,
        max_rise=star.max_rise if star else math.nan, rises=star.rises if star else math.nan,
        lam0_ratio_fail=run_at(base_fail).lam0_ratio if base_fail is not None else math.nan,
        n_runs=len(runs), n_cap=sum(t.split(":")[1] == "cap" for t in dict.fromkeys(trace)),
        n_hard=sum(r.end is None and r.step >= HARD_CAP for r in runs.values()),
        trace=";".join(dict.fromkeys(trace)),
    )
    return out


def linear_width_search(*, n, d, normalized, coupled, data_seed, init_seed, theta=None, eps=WIDTH_EPS,
                        c=WIDTH_C):
    """The referee's control: the same searches on the frozen linearization at W(0), in closed form.

    The linearization's residual is e(t) = (I - eta K(0))^t e(0) exactly, so
    ||e(t)||^2 = sum_k <v_k, e(0)>^2 (1 - eta lambda_k)^{2t} over the eigenpairs of K(0), and its first
    time below ``eps`` is found by bisection in t.  It never stalls (every mode decays geometrically),
    so under the baseline protocol it passes when it reaches eps within min(CAP_FACTOR T_pred, HARD_CAP),
    and under a rate-matched criterion within c T*.  Same data, initialization, step, grid and search as
    :func:`width_search_task`; returns ``m_star`` and ``m_star_<rate>`` for :data:`RATE_VARIANTS`.
    """
    n, d, normalized, coupled, data_seed, init_seed, eps, c = _check_cell(
        n, d, normalized, coupled, data_seed, init_seed, eps, c)
    X, y = width_data(n, d, data_seed, theta=theta)
    lam = float(np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))[0])
    grid = width_grid(min(n * n, M_MAX), coupled=coupled)
    start = int(np.searchsorted(grid, 2.0 * n / d))
    model = ex.model(normalized=normalized, coupled=coupled)
    y_host = np.asarray(to_numpy(y), dtype=float)
    cache = {}

    def at(i):
        if i not in cache:
            m = grid[i]
            p0 = model.init(m, d, data_seed * 1000 + init_seed)
            e0 = np.asarray(to_numpy(model.forward(p0, X)), dtype=float) - y_host
            ev, V = np.linalg.eigh(to_numpy(model.gram(p0, X, ("W",))["W"]))
            eta = c / float(ev[-1])
            err0 = float(np.linalg.norm(e0))
            dist = math.log(max(err0 / eps, 1.0))
            scale = 1.0 if normalized else float(m)
            w2, logq = (V.T @ e0) ** 2, np.log(np.clip(1.0 - eta * ev, 1e-300, None))

            def norm_at(t):
                return math.sqrt(float(np.sum(w2 * np.exp(2.0 * t * logq))))

            if err0 <= eps:
                t_hit = 0
            elif norm_at(HARD_CAP) > eps:
                t_hit = math.inf
            else:
                lo, hi = 0, HARD_CAP
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    lo, hi = (lo, mid) if norm_at(mid) <= eps else (mid, hi)
                t_hit = hi
            pred = dist / (eta * max(float(ev[0]), 1e-300))
            cache[i] = (t_hit, min(math.ceil(CAP_FACTOR * pred), HARD_CAP), dist / (eta * scale * lam))
        return cache[i]

    out = {"lam": lam}
    i_pass, _ = search_width(grid, start, lambda i: at(i)[0] <= at(i)[1])
    out["m_star"] = float(grid[i_pass]) if i_pass is not None else math.nan
    for name, c_rate in RATE_VARIANTS.items():
        i_pass, _ = search_width(grid, start, lambda i, c_rate=c_rate: at(i)[0] <= min(c_rate * at(i)[2], HARD_CAP))
        out[f"m_star{_SUFFIX[name]}"] = float(grid[i_pass]) if i_pass is not None else math.nan
    return out


def runs_frame(table, keys=("n", "normalized", "coupled", "data_seed", "init_seed")):
    """One row per baseline run of a ``exp-width-search`` table: the cell ``keys``, ``m``, ``reason``, ``step``."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or "trace" not in table.columns:
        raise TypeError("table must be a DataFrame with a 'trace' column (an exp-width-* table)")
    keys = [k for k in check_names(keys, "keys", distinct=True) if k in table.columns]
    rows = []
    for _, r in table.iterrows():
        for item in str(r["trace"]).split(";"):
            if item:
                m, reason, step = item.split(":")
                rows.append({**{k: r[k] for k in keys}, "m": int(m), "reason": reason, "step": int(step)})
    return pd.DataFrame(rows)


def variant_table(table, variant):
    """The table with ``m_star`` replaced by the variant's column (a name of :data:`VARIANTS`)."""
    table = _width_frame(table)
    variant = check_choice(variant, "variant", tuple(VARIANTS) + tuple(RATE_VARIANTS))
    col = f"m_star{_SUFFIX[variant]}"
    if col not in table.columns:
        raise ValueError(f"table has no column {col!r} (an exp-width-* table has one per variant)")
    return table.assign(m_star=table[col], m_star_baseline=table["m_star"])


def cells_changed(table) -> int:
    """How many seed cells of a :func:`variant_table` have an m* other than the baseline's."""
    check_dataframe(table, "table")
    if "m_star_baseline" not in table.columns:
        raise ValueError("table must come from variant_table (it needs the m_star_baseline column)")
    a, b = table["m_star"].to_numpy(dtype=float), table["m_star_baseline"].to_numpy(dtype=float)
    return int(np.sum(~((a == b) | (np.isnan(a) & np.isnan(b)))))


def synthetic_table(table, slope, *, x="n"):
    """The table with m* replaced by a law of exponent ``slope`` in ``x`` that keeps each cell's scatter.

    Cell c at x gets m*_c(x) / g(x) * g(x_min) * (x / x_min)^slope, with g(x) the geometric mean of
    m* at x: the same spread between seeds, and a least-squares exponent of exactly ``slope`` (with
    equally many cells per x).  Used to check that an assert on the measured interval would fail
    for a law of another exponent.
    """
    table = _width_frame(table)
    slope = check_real(slope, "slope")
    if not isinstance(x, str) or x not in table.columns:
        raise ValueError(f"x must name a column of table, got {x!r}")
    xv = table[x].to_numpy(dtype=float)
    if not np.all(np.isfinite(xv) & (xv > 0)):
        raise ValueError(f"column x={x!r} must be positive and finite")
    logm = np.log(table["m_star"].astype(float))
    g = np.exp(logm.groupby(table[x]).transform("mean"))
    x0 = float(table[x].min())
    base = float(np.exp(logm[table[x] == x0].mean()))
    return table.assign(m_star=table["m_star"] / g * base * (table[x] / x0) ** slope)


def _width_frame(table, name="table"):
    """``table`` as a DataFrame with an ``m_star`` column (an exp-width-* table)."""
    check_dataframe(table, name)
    if "m_star" not in table.columns:
        raise ValueError(f"{name} must be an exp-width-* table (it has no 'm_star' column)")
    return table


# the exponents (log-log fits with cluster-bootstrap intervals) live in widthfit; re-exported here
from .widthfit import exponent_interval, hard_cap_bracket, interval_excludes  # noqa: E402

__all__ += ["cells_changed", "exponent_interval", "hard_cap_bracket", "interval_excludes", "synthetic_table"]
