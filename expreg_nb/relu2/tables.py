r"""Part II: per-cell summaries of the fair sweeps, with intervals over data seeds, and the claims.

A *cell* is one configuration (n, d, md/n, rate ratio, labels, ...); its trials
differ only in their data and initialization seeds.  Nothing is pooled across
cells.  Every interval is a cluster bootstrap over **data seeds**
(:func:`expreg_nb.stats.bootstrap_interval`: the trials of one data seed are
resampled together, since they share the data):

* :func:`cell_rate` -- the fraction of trials where a boolean column holds;
* :func:`cell_median` -- the median of a numeric column (inf allowed);
* :func:`critical_table` -- per (n, d) the critical md/n: where the success rate,
  linearly interpolated in md/n, first reaches ``level`` (inf if never);
* :func:`critical_slope` -- the slope of log(critical md/n) against log n, with an
  interval from resampling the data seeds of every n at once;
* :func:`own_best_ratio` -- one row per trial from runs of it at several rate ratios, each
  model at the ratio where it fits in the fewest steps (its own best ratio).

The ``claim_*`` functions turn a sweep table into a
:class:`expreg_nb.robustness.Verdict`, so that the chapter can put each headline
through :func:`expreg_nb.robustness.evaluate` on stored perturbed tables.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..robustness import Claim, Verdict
from ..stats import bootstrap_interval
from ..validation import check_dataframe, check_int, check_open_unit, check_real, check_seed, check_str

__all__ = ["CLAIMS", "N_BOOT", "cell_median", "cell_rate", "claim_fit", "claim_kernel", "claim_net_faster",
           "claim_rank", "claim_slope", "bracketed", "critical_point", "critical_slope", "critical_table",
           "fit_floor", "fit_gap", "own_best_ratio"]

#: Bootstrap resamples per interval.
N_BOOT = 1000
#: What identifies one trial of the width sweeps (a cell without the ratio, and the seeds).
TRIAL = ("n", "d", "md_over_n", "labels", "data_seed", "init_seed")


def _columns(df, cols, name="df"):
    missing = sorted(set(cols) - set(df.columns))
    if missing:
        raise ValueError(f"{name}: the table has no columns {missing}")


def _table(df, name="df"):
    return check_dataframe(df, name, what="a sweep table (a pandas DataFrame)")


def _column(df, value, name):
    """``value`` (argument ``name``) must name a column of ``df``."""
    value = check_str(value, name, nonempty=True)
    if value not in df.columns:
        raise ValueError(f"{name} must name a column of the table, got {value!r}")
    return value


def _by(by, df=None):
    if isinstance(by, str) or not isinstance(by, (list, tuple)) or not by \
            or not all(isinstance(b, str) for b in by):
        raise TypeError(f"by must be a non-empty list of column names, got {by!r:.60}")
    if df is not None:
        _columns(df, by, "by")
    return list(by)


def _boot(n_boot, seed):
    return check_int(n_boot, "n_boot", minimum=100), check_seed(seed, "seed")


_BIG = 1e300


def _unbig(v):
    return math.copysign(math.inf, v) if abs(v) >= _BIG / 2 else v


def _key(key):
    return key if isinstance(key, tuple) else (key,)


def _weighted_mean(x, *, weights):
    return weights @ x / weights.sum(axis=1)


def _weighted_median(x, *, weights):
    order = np.argsort(x, kind="stable")
    xs, w = x[order], weights[:, order]
    cw = np.cumsum(w, axis=1)
    idx = (cw >= 0.5 * cw[:, -1:]).argmax(axis=1)
    return xs[idx]


def _interval(stat, x, groups, n_boot, seed):
    if len(np.unique(groups)) < 2:
        est = float(stat(x, weights=np.ones((1, x.size)))[0])
        return est, math.nan, math.nan
    with np.errstate(invalid="ignore"):
        return tuple(bootstrap_interval(stat, x, groups=groups, n_boot=n_boot, seed=seed, vectorized=True))


def cell_rate(df, by, col, *, groups="data_seed", n_boot=N_BOOT, seed=0):
    """Per cell: ``k`` trials where ``col`` is true (error rows count as false), ``N``, ``rate`` and its
    bootstrap interval ``low``, ``high`` over ``groups`` (NaN with fewer than two groups)."""
    import pandas as pd

    df = _table(df)
    by = _by(by, df)
    col, groups = _column(df, col, "col"), _column(df, groups, "groups")
    n_boot, seed = _boot(n_boot, seed)
    ok = df[col].astype("boolean").fillna(False).astype(float).to_numpy()
    rows = []
    for key, idx in df.groupby(by, sort=True).indices.items():
        est, lo, hi = _interval(_weighted_mean, ok[idx], df[groups].to_numpy()[idx], n_boot, seed)
        rows.append((*_key(key), int(ok[idx].sum()), len(idx), est, lo, hi))
    return pd.DataFrame(rows, columns=by + ["k", "N", "rate", "low", "high"]).set_index(by)


def cell_median(df, by, col, *, groups="data_seed", where=None, n_boot=N_BOOT, seed=0):
    """Per cell: the median of ``col`` (rows with NaN left out; inf allowed), ``N`` and its bootstrap
    interval.  ``where``: a boolean column restricting the rows (e.g. ``"net_fit"``)."""
    import pandas as pd

    df = _table(df)
    by = _by(by, df)
    col, groups = _column(df, col, "col"), _column(df, groups, "groups")
    if where is not None:
        where = _column(df, where, "where")
    n_boot, seed = _boot(n_boot, seed)
    d = df if where is None else df[df[where].astype("boolean").fillna(False).astype(bool)]
    d = d[d[col].notna()]
    # +-inf (e.g. a speed-up where only one model fits) rank beyond every finite value: carried
    # through the bootstrap as +-BIG and given back as +-inf
    x = np.clip(d[col].to_numpy(dtype=float), -_BIG, _BIG)
    rows = []
    for key, idx in d.groupby(by, sort=True).indices.items():
        est, lo, hi = (_unbig(v) for v in _interval(_weighted_median, x[idx], d[groups].to_numpy()[idx],
                                                    n_boot, seed))
        rows.append((*_key(key), len(idx), est, lo, hi))
    return pd.DataFrame(rows, columns=by + ["N", "median", "low", "high"]).set_index(by)


def critical_point(x, rate, level=0.5) -> float:
    """The first ``x`` (sorted ascending) where ``rate`` reaches ``level``, linearly interpolated
    from the previous grid point (inf if it never does; the first x if it starts above)."""
    from ..validation import as_float_array, check_same_backend, real_array

    check_same_backend(x=x, rate=rate)
    x = np.asarray(as_float_array(x, "x", ndim=1), dtype=float)
    rate = np.asarray(real_array(rate, "rate", low=0.0, high=1.0), dtype=float)
    level = check_open_unit(level, "level")
    if rate.ndim != 1 or x.shape != rate.shape:
        raise ValueError(f"x and rate must be 1-dimensional arrays of one length, got x {x.shape}, "
                         f"rate {rate.shape}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    return _critical_point(x, rate, level)


def _critical_point(x, rate, level):
    hit = np.nonzero(rate >= level)[0]
    if hit.size == 0:
        return math.inf
    j = int(hit[0])
    if j == 0:
        return float(x[0])
    r0, r1 = rate[j - 1], rate[j]
    return float(x[j - 1] + (level - r0) / (r1 - r0) * (x[j] - x[j - 1]))


def _crits(weights, fit, onehot, grids, level):
    """Critical points per resample (rows of ``weights``) and per cell: ``onehot`` (N, J) marks each
    row's (cell, md/n) column, ``grids`` lists each cell's md/n values (in column order)."""
    num = weights @ (onehot * fit[:, None])
    den = weights @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = num / den
    out = np.empty((weights.shape[0], len(grids)))
    col = 0
    for c, grid in enumerate(grids):
        r = rate[:, col:col + grid.size]
        col += grid.size
        out[:, c] = [_critical_point(grid, ri, level) if np.isfinite(ri).all() else math.nan for ri in r]
    return out


def _design(df, by, x):
    """The one-hot (row -> (cell, x value)) matrix, the cells and their x grids."""
    keys = df[by].to_numpy()
    cells = np.unique(keys)
    xv = df[x].to_numpy(dtype=float)
    grids, cols = [], np.empty(len(df), int)
    start = 0
    for c in cells:
        sel = keys == c
        grid, code = np.unique(xv[sel], return_inverse=True)
        cols[sel] = start + code
        grids.append(grid)
        start += grid.size
    onehot = np.zeros((len(df), start))
    onehot[np.arange(len(df)), cols] = 1.0
    return onehot, cells, grids


def _curve_args(df, level, col, by, x, groups, n_boot, seed, need_groups=True):
    df = _table(df)
    level = check_open_unit(level, "level")
    col, by, x = _column(df, col, "col"), _column(df, by, "by"), _column(df, x, "x")
    if need_groups or groups is not None:
        groups = _column(df, groups, "groups")
    n_boot, seed = _boot(n_boot, seed)
    return df, level, col, by, x, groups, n_boot, seed


def critical_table(df, *, level=0.5, col="net_fit", by="n", x="md_over_n", groups="data_seed",
                   n_boot=N_BOOT, seed=0):
    """Per value of ``by``: the critical ``x`` (:func:`critical_point` of the success rate of ``col``)
    with a bootstrap interval over ``groups`` (inf when no resample reaches ``level``)."""
    import pandas as pd

    df, level, col, by, x, groups, n_boot, seed = _curve_args(df, level, col, by, x, groups, n_boot, seed)
    fit = df[col].astype("boolean").fillna(False).astype(float).to_numpy()
    onehot, cells, grids = _design(df, by, x)

    def stat(f, *, weights):
        return _crits(weights, f, onehot, grids, level)

    est = stat(fit, weights=np.ones((1, len(df))))[0]
    rows = []
    keys = df[by].to_numpy()
    for c, key in enumerate(cells):
        sel = keys == key
        g = df[groups].to_numpy()[sel]
        lo = hi = math.nan
        if len(np.unique(g)) >= 2:
            oh, gr = onehot[sel], grids

            def one(f, *, weights, oh=oh, c=c):
                return _crits(weights, f, oh, gr, level)[:, c]
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                # a resample whose curve never reaches the level has no critical point: dropped
                warnings.simplefilter("ignore", RuntimeWarning)
                _, lo, hi = bootstrap_interval(one, fit[sel], groups=g, n_boot=n_boot, seed=seed,
                                               vectorized=True, nan_policy="omit")
        rows.append((key, float(est[c]), lo, hi, int(sel.sum())))
    return pd.DataFrame(rows, columns=[by, "critical", "low", "high", "trials"]).set_index(by)


def critical_slope(df, *, level=0.5, col="net_fit", by="n", x="md_over_n", groups="data_seed",
                   n_boot=N_BOOT, seed=0):
    """``(slope, low, high)``: least-squares slope of log(critical x) on log(``by``), the data seeds
    of every ``by`` value resampled together (a group is one (``by``, seed) pair)."""
    df, level, col, by, x, groups, n_boot, seed = _curve_args(df, level, col, by, x, groups, n_boot, seed)
    fit = df[col].astype("boolean").fillna(False).astype(float).to_numpy()
    onehot, cells, grids = _design(df, by, x)
    if len(cells) < 2:
        raise ValueError(f"the table needs at least two values of {by!r} for a slope")
    A = np.vstack([np.log(cells.astype(float)), np.ones(len(cells))]).T

    def slope(f, *, weights):
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.log(_crits(weights, f, onehot, grids, level))
        out = np.full(weights.shape[0], np.nan)
        ok = np.isfinite(ly).all(axis=1)
        if ok.any():
            out[ok] = np.linalg.lstsq(A, ly[ok].T, rcond=None)[0][0]
        return out

    est = float(slope(fit, weights=np.ones((1, len(df))))[0])
    g = [f"{k}|{s}" for k, s in zip(df[by], df[groups])]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, lo, hi = bootstrap_interval(slope, fit, groups=g, n_boot=n_boot, seed=seed, vectorized=True,
                                       nan_policy="omit")
    return est, lo, hi


def bracketed(df, *, level=0.5, col="net_fit", by="n", x="md_over_n"):
    """The values of ``by`` whose success curve starts below ``level`` and reaches it on the grid: the
    crossing is bracketed there, not pinned to an end of the grid."""
    df, level, col, by, x, _, _, _ = _curve_args(df, level, col, by, x, None, N_BOOT, 0, need_groups=False)
    rate = df.assign(_f=df[col].astype("boolean").fillna(False).astype(float)).groupby([by, x])["_f"].mean()
    out = []
    for key, r in rate.groupby(level=0):
        r = r.droplevel(0).sort_index()
        if r.iloc[0] < level <= r.max():
            out.append(key)
    return out


def fit_floor(df):
    """Rows below the rank threshold m (d + 1) < n, where the linearization's floor is positive."""
    df = _table(df)
    _columns(df, ["params_over_n"])
    return df[df["params_over_n"] < 1]


# --------------------------------------------------------------------------- claims
_CELL = ("n", "d", "md_over_n", "ratio", "labels", "alpha", "model")


def _cells(df):
    return [c for c in _CELL if c in df.columns]


def _eligible(df, min_fit=0.5):
    """Cells where both models fit on at least ``min_fit`` of the trials (speed is comparable there)."""
    by = _cells(df)
    both = df.assign(_both=df["net_fit"].astype(bool) & df["lin_fit"].astype(bool))
    frac = both.groupby(by)["_both"].mean()
    return by, frac[frac >= min_fit].index


def claim_net_faster(df) -> Verdict:
    """"At fair steps the network is faster": over the cells where both models fit on half the
    trials or more, the median speed-up lin_steps / net_steps (every trial where one of them fits:
    0 when only the linearization does, inf when only the network does) has its bootstrap interval
    above 1 in at least half of the cells and below 1 in none.  Number: that fraction of cells."""
    df = _table(df)
    _columns(df, ["net_fit", "lin_fit", "speedup", "data_seed"])
    by, cells = _eligible(df)
    if len(cells) == 0:
        return Verdict(False, math.nan, detail="no cell where both models fit on half the trials")
    med = cell_median(df, by, "speedup")
    med = med[med.index.isin(cells)]
    above, below = int((med["low"] > 1).sum()), int((med["high"] < 1).sum())
    frac = above / len(med)
    return Verdict(bool(frac >= 0.5 and below == 0), frac,
                   detail=f"{len(med)} cells: interval above 1 in {above}, below 1 in {below}; cell medians "
                          f"{med['median'].min():.2f} to {med['median'].max():.2f}")


def fit_gap(df, *, groups="data_seed", n_boot=N_BOOT, seed=0):
    """Per cell: the mean of net_fit - lin_fit over the trials (``gap``) with its bootstrap interval
    over ``groups`` (negative: the linearization fits more often)."""
    import pandas as pd

    df = _table(df)
    by = _cells(df)
    _columns(df, by + ["net_fit", "lin_fit"])
    groups = _column(df, groups, "groups")
    n_boot, seed = _boot(n_boot, seed)
    if not by:
        raise ValueError(f"df has none of the cell columns {_CELL}")
    diff = (df["net_fit"].astype(float) - df["lin_fit"].astype(float)).to_numpy()
    rows = []
    for key, idx in df.groupby(by, sort=True).indices.items():
        est, lo, hi = _interval(_weighted_mean, diff[idx], df[groups].to_numpy()[idx], n_boot, seed)
        rows.append((*_key(key), len(idx), est, lo, hi))
    return pd.DataFrame(rows, columns=by + ["N", "gap", "low", "high"]).set_index(by)


def claim_fit(df) -> Verdict:
    """"The network fits no more often than its linearization": in no cell does the bootstrap
    interval of the mean of net_fit - lin_fit (:func:`fit_gap`) lie above 0, and in some it lies
    below 0.  Number: the most negative cell mean, with its interval."""
    t = fit_gap(df)
    if t.empty:
        return Verdict(False, math.nan, detail="an empty table")
    worst = t["gap"].idxmin()
    r = t.loc[worst]
    above, below = int((t["low"] > 0).sum()), int((t["high"] < 0).sum())
    return Verdict(bool(above == 0 and below > 0), float(r["gap"]), float(r["low"]), float(r["high"]),
                   detail=f"{len(t)} cells: network more often in {above}, less often in {below}; "
                          f"largest gap at {worst}")


def claim_rank(df) -> Verdict:
    """"Below the rank threshold m (d + 1) < n the network does not fit": no run there fits.
    Number: the largest per-cell fit rate below the threshold, with its interval."""
    below = fit_floor(df)
    _columns(df, ["net_fit", "data_seed"])
    if below.empty:
        return Verdict(False, math.nan, detail="no cell below the rank threshold")
    t = cell_rate(below, [c for c in _cells(df) if c not in ("alpha", "model")], "net_fit")
    r = t.loc[t["rate"].idxmax()]
    return Verdict(bool(t["k"].sum() == 0), float(r["rate"]), float(r["low"]), float(r["high"]),
                   detail=f"{len(t)} cells, {int(t['N'].sum())} runs below m(d+1) = n")


def claim_kernel(df, min_fits=4) -> Verdict:
    """"The kernel's conditioning changes": in every cell with at least ``min_fits`` network fits the
    median of kappa(K(0)) / kappa(K(T)) (on the live inputs) has its bootstrap interval above 1.
    Number: the smallest cell median, with its interval.  The default ``min_fits`` = 4 is every
    trial of a 4-trial cell, a quarter of a 16-trial one (relu2-width)."""
    df = _table(df)
    min_fits = check_int(min_fits, "min_fits")
    _columns(df, ["net_fit", "kappa0", "kappaT", "data_seed"])
    d = df[df["net_fit"].astype("boolean").fillna(False).astype(bool)]
    d = d.assign(kappa_fall=d["kappa0"] / d["kappaT"])
    med = cell_median(d, _cells(df), "kappa_fall") if len(d) else None
    med = med[med["N"] >= min_fits] if med is not None else d.iloc[:0]
    if med.empty:
        return Verdict(False, math.nan, detail=f"no cell with {min_fits} network fits")
    worst = med["median"].idxmin()
    r = med.loc[worst]
    holds = bool((med["low"].fillna(med["median"]) > 1).all())
    return Verdict(holds, float(r["median"]), float(r["low"]), float(r["high"]),
                   detail=f"{len(med)} cells; smallest median fall of kappa at {worst}")


def claim_slope(df, below=0.5) -> Verdict:
    """"The critical md/n at fixed n/d does not grow like a power of n": the bootstrap interval of
    the slope of log(critical md/n) on log n lies below ``below`` (md ~ n^2 would give 1)."""
    below = check_real(below, "below", positive=True)
    s, lo, hi = critical_slope(df)
    return Verdict(bool(np.isfinite(hi) and hi < below), s, lo, hi, detail=f"{df['n'].nunique()} values of n")


CLAIMS = {
    "rank": Claim("no fit below the rank threshold",
                  "below m(d+1) = n the network does not reach the tolerance", claim_rank),
    "fit": Claim("the linearization fits at least as often",
                 "in no cell does the network fit significantly more often than its linearization",
                 claim_fit),
    "speed": Claim("the network is faster at fair steps",
                   "each model at its own largest stable step, the network needs significantly fewer "
                   "steps in at least half the cells and more in none", claim_net_faster),
    "kernel": Claim("the kernel changes",
                    "kappa(K) falls from t = 0 to the end of the fitting runs in every cell", claim_kernel),
    "slope": Claim("critical md/n grows slower than n^0.5",
                   "at fixed n/d the slope of log critical md/n on log n lies below 0.5", claim_slope),
}


def own_best_ratio(df, trial=TRIAL):
    """One row per trial (``trial``: the columns that identify it, those of ``TRIAL`` the table has)
    from its runs at several rate ratios: each model at its own best ratio.

    The network's columns (``net_*``, the kernel report, movement, ...) come from the row where
    it fits in the fewest steps (if it fits at no ratio: where its final loss is lowest); the
    linearization's ``lin_*`` columns from its own such row.  ``net_ratio`` / ``lin_ratio`` say
    which ratio each got; ``outcome``, ``beyond`` and ``speedup`` are recomputed from the two
    (:func:`expreg_nb.relu2.fair.compare_fits`, :func:`~expreg_nb.relu2.fair.speedup`);
    ``ratio`` is ``"own best"`` so that the cells no longer split by ratio.
    """
    import pandas as pd

    from .fair import compare_fits, speedup

    df = _table(df)
    if isinstance(trial, str) or not isinstance(trial, (list, tuple)) or not trial:
        raise TypeError(f"trial must be a non-empty list of column names, got {trial!r:.60}")
    keys = [c for c in trial if c in df.columns]
    if not keys:
        raise ValueError(f"df has none of the trial columns {list(trial)}")
    _columns(df, ["ratio", "net_fit", "net_steps", "net_rel_loss", "lin_fit", "lin_steps", "lin_rel_loss"])
    if df["ratio"].astype(str).nunique() < 2:
        raise ValueError("df holds one rate ratio only: nothing to choose from")
    d = df.reset_index(drop=True)

    def pick(prefix):
        fit = d[f"{prefix}_fit"].astype("boolean").fillna(False).astype(bool)
        # fitting runs first, by steps; then the rest, by final loss
        order = pd.DataFrame({"unfit": ~fit, "steps": np.where(fit, d[f"{prefix}_steps"], 0),
                              "rel": d[f"{prefix}_rel_loss"].fillna(np.inf)})
        ranked = d.assign(_u=order["unfit"], _s=order["steps"], _r=order["rel"]).sort_values(
            ["_u", "_s", "_r"], kind="stable")
        return ranked.drop_duplicates(keys, keep="first").drop(columns=["_u", "_s", "_r"]).set_index(keys)

    net, lin = pick("net"), pick("lin")
    out = net.copy()
    lin_cols = [c for c in d.columns if c.startswith("lin_")]
    out[lin_cols] = lin.loc[out.index, lin_cols]
    out["net_ratio"] = net["ratio"].astype(str)
    out["lin_ratio"] = lin.loc[out.index, "ratio"].astype(str)
    out["ratio"] = "own best"
    nf, lf = out["net_fit"].astype(bool), out["lin_fit"].astype(bool)
    ns = out["net_steps"].fillna(0).astype(int)
    ls = out["lin_steps"].fillna(0).astype(int)
    out["outcome"] = [compare_fits(bool(a), int(b), bool(c), int(e)) for a, b, c, e in zip(nf, ns, lf, ls)]
    out["beyond"] = out["outcome"].isin(["net only", "net faster"])
    out["speedup"] = [speedup(bool(a), int(b), bool(c), int(e)) for a, b, c, e in zip(nf, ns, lf, ls)]
    return out.reset_index()
