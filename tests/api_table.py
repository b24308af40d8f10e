"""The public API of expreg_nb as a table: every public callable, a valid call, and the kind of each argument.

Used by ``tests/test_properties.py`` (every argument corrupted in every way must give a
clear error), ``tests/test_api_hang.py`` (degenerate shapes, no hang) and
``tools/fuzz_api.py`` (the classification of every call: clear error, unclear error,
silent result, hang).

* :data:`SPECS`: one :class:`Spec` per public callable (and the public methods of the
  Part III network).  ``build(problem)`` gives a valid call as keyword arguments;
  ``kinds`` says what each argument is (default: :data:`KIND_BY_NAME`).
* :func:`corruptions`: every way of getting an argument of a kind wrong, each with
  what must happen: ``"error"`` (a :class:`ValueError` or :class:`TypeError` naming the
  argument), ``"same"`` (an equivalent value of another type: the result must equal
  the reference call's, e.g. float32 data computed in float64) or ``"ok"`` (a
  degenerate but valid value: a finite result).
* :func:`public_callables`: every callable named in the ``__all__`` of every module of
  the package (found with :mod:`pkgutil`); :data:`EXEMPT` lists, with a reason, the
  public callables that are not functions of user data.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import pkgutil
import re
import signal
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import expreg_nb
from expreg_nb import backend, chunks, data, errors, landing, provenance, relu2, scale, seeding, stats, sweep, training
from expreg_nb import recheck as RC
from expreg_nb import robustness as RB
from expreg_nb import exponential as ex
from expreg_nb import threshold as th
from expreg_nb import validation as V
from expreg_nb.exponential import bounds, experiments as E, reference as ref, theorem as thm, widthlaw as wl
from expreg_nb.exponential import sweeps as exsw
from expreg_nb import stability as st
from expreg_nb.relu2 import experiments as R2
from expreg_nb.relu2 import fair as RF
from expreg_nb.relu2 import kernels as RK
from expreg_nb.relu2 import sweeps as RS
from expreg_nb.relu2 import tables as RT
from expreg_nb.threshold import sweeps as tsw

MATRIX, VECTOR = "matrix", "vector"


def _enter(context):
    """Enter and leave a context manager (its checks run on entry), returning None."""
    with context:
        return None


# =========================================================================== problems
@dataclass
class Problem:
    """One small valid problem: data X (n, d) on the sphere, labels y, Part I weights (W, a),
    Part II weights (Wr, ar), 0/1 labels ys, and Part III's network and stage outputs on X."""

    X: np.ndarray
    y: np.ndarray
    W: np.ndarray
    a: np.ndarray
    Wr: np.ndarray
    ar: np.ndarray
    ys: np.ndarray = None
    cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.ys is None:
            self.ys = (np.arange(self.X.shape[0]) % 2).astype(np.int64)

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def d(self):
        return self.X.shape[1]

    @property
    def m(self):
        return self.W.shape[0]

    def _get(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    @property
    def net(self):
        return self._get("net", lambda: th.build_memorizer(self.X, self.ys, seed=0))

    @property
    def stage1(self):
        return self._get("stage1", lambda: th.gaussian_stage(self.X, th.check_setting(self.X)[1], seed=0))

    @property
    def stage2(self):
        return self._get("stage2", lambda: th.compression_stage(self.stage1[1], seed=0))

    @property
    def stage3(self):
        return self._get("stage3", lambda: th.hashing_stage(self.stage2[2], self.stage2[1], seed=0))

    @property
    def hinfo(self):
        return self.stage3[3]

    @property
    def model(self):
        return self._get("model", relu2.model)

    @property
    def p0(self):
        return {"W": self.Wr, "a": self.ar}

    @property
    def fair_table(self):
        """A small table of the shape of the fair sweeps (relu2-width): two n, three md/n, two data seeds."""
        import pandas as pd

        def make():
            rows = []
            for n in (8, 16):
                for md, fits in ((0.5, (0, 0)), (1.0, (1, 0)), (2.0, (1, 1))):
                    for s in (0, 1):
                        nf, lf = bool(fits[s] or md > 1), bool(md >= 1)
                        rows.append(dict(n=n, d=n // 4, md_over_n=md, data_seed=s, init_seed=0, net_fit=nf,
                                         lin_fit=lf, net_steps=10 + s, lin_steps=25 + 3 * s,
                                         speedup=RF.speedup(nf, 10 + s, lf, 25 + 3 * s),
                                         params_over_n=md * (n // 4 + 1) / n * 4 / 4 if md >= 1 else 0.5,
                                         net_rel_loss=1e-4 if nf else 0.5, lin_floor=0.0 if md >= 1 else 0.3,
                                         kappa0=40.0 + s, kappaT=10.0 + s, error=None))
            return pd.DataFrame(rows)
        return self._get("fair_table", make)

    @property
    def ratio_table(self):
        """fair_table at two rate ratios (the shape of relu2-robust-ratio with its baseline)."""
        import pandas as pd

        def make():
            t = self.fair_table.assign(lin_rel_loss=1e-4)
            return pd.concat([t.assign(ratio="lecun"), t.assign(ratio=1.0, net_steps=t["net_steps"] + 5)],
                             ignore_index=True)
        return self._get("ratio_table", make)

    @property
    def table(self):
        """A small sweep table (the shape of relu2's stored tables)."""
        import pandas as pd

        return self._get("table", lambda: pd.DataFrame({
            "md_over_n": [1.0, 1.0, 2.0, 2.0, 4.0, 4.0], "ratio": [1.0] * 6,
            "net_fit": [False, True, True, True, True, True], "m": [2, 2, 4, 4, 8, 8],
            "error": [None] * 6}))


def make_problem(n=5, d=3, m=6, seed=0):
    """A :class:`Problem` of any shape, 0 rows, columns or neurons included (for degenerate shapes)."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    norms = np.sqrt((G * G).sum(axis=1, keepdims=True)) if d else np.ones((n, 1))
    X = G / np.where(norms > 0, norms, 1.0)
    a = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    return Problem(X, rng.uniform(-1, 1, n), rng.standard_normal((m, d)), a, rng.standard_normal((m, d)),
                   rng.standard_normal(m))


def fixed_problem(n=5, d=3, m=6, seed=0):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    return Problem(data.sphere(n, d, seed=seed, xp=np), data.labels(n, seed=seed, xp=np),
                   rng.standard_normal((m, d)), a, rng.standard_normal((m, d)), rng.standard_normal(m))


# =========================================================================== the table
@dataclass
class Spec:
    """A public callable, a valid call built from a :class:`Problem`, and the kind of each argument.

    ``kinds`` maps an argument to a kind of :func:`corruptions`; ``partners`` to the
    arguments whose shapes it must agree with (``"rows"``/``"cols"``/``"len"``);
    ``names`` to the word the error message must contain (default: the argument);
    ``covers``: the public object(s) this entry covers (default ``fn``); ``valid=False``
    marks an entry whose valid call is not run (it would run a whole named sweep).
    """

    name: str
    fn: Callable
    build: Callable
    kinds: dict = None
    partners: dict = None
    names: dict = None
    covers: tuple = ()
    valid: bool = True
    moves_data: bool = False
    #: "values": an equivalent argument must give the same result; "none": not compared (workspace
    #: buffers: memory reused between calls); "skip": equivalent arguments not tried (each call draws a
    #: figure: the landing panels)
    same: str = "values"

    def call(self, kwargs):
        return self.fn(**kwargs)


#: Default kind of an argument by its name (a Spec's ``kinds`` overrides it).
KIND_BY_NAME = {
    "X": MATRIX, "W": MATRIX, "W0": MATRIX, "V": MATRIX, "a": VECTOR, "y": VECTOR, "e0": VECTOR,
    "m": "int_pos", "d": "int_pos", "n": "int_pos", "seed": "seed", "chunk": "chunk", "normalized": "flag",
    "coupled": "flag", "dtype": "dtype", "xp": "xp", "eta": "real_pos", "steps": "int_nonneg",
    "tol": "tol", "record_every": "int_pos", "progress": "progress", "iters": "int_pos",
    "data_seed": "seed", "init_seed": "seed", "max_attempts": "int_pos", "eps": "real_pos", "c": "real_pos",
    "budget": "real_pos", "ratio": "ratio", "md_over_n": "real_pos", "labels": "choice", "eta_w": "real_nonneg",
    "eta_a": "real_nonneg", "lam": "real_pos", "level": "prob", "attempt": "int_nonneg",
}


def S(name, fn, build, kinds=None, partners=None, **kw):
    return Spec(name, fn, build, kinds or {}, partners or {}, **kw)


NETWORK = dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W")])
NETWORK_Y = dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W"), ("rows", "y")],
                 y=[("len", "X")])
XY = dict(X=[("rows", "y")], y=[("len", "X")])
WX = dict(W=[("cols", "X")], X=[("cols", "W")])


def _registered_task(**kw):
    return kw


def _tmp_root():
    return Path(tempfile.mkdtemp(prefix="expreg-api-"))


# ------------------------------------------------------------------ toys of the robustness and recheck entries
@sweep.task("api-table-affine")
def _affine_task(a, b):
    """A registered sweep task of two grid axes: what the recheck entries rerun."""
    return {"y": 2.0 * a + b, "k": 10 * a + b}


#: A named sweep of the toy task (12 points at scale "full"), not in the registry.
TOY_SWEEP = sweep.Sweep(name="api-table-toy", fn=_affine_task, grids={"full": sweep.grid(a=[1, 2, 3], b=[0, 1, 2, 3])})
TOY_PROV = {"sweep": TOY_SWEEP.name, "scale": "full", "backend": "numpy (test)", "git_commit": "0" * 40}


@functools.lru_cache(maxsize=None)
def _toy_stored():
    df = sweep.run(_affine_task, TOY_SWEEP.points("full"), progress=False)
    df[sweep.TIME_COLUMN] = 0.01        # a fixed stored cost: the sample is the same on every run
    return RC.as_stored(df)


def toy_stored():
    """The toy sweep's table as :func:`expreg_nb.sweep.store` would have stored it (a fresh copy)."""
    return _toy_stored().copy()


def _rb_task(rate, steps, tol, data_seed, init_seed):
    """Gradient descent on h w^2 / 2 in closed form, |w0 (1 - rate h)^steps| (``tol`` is the axis that
    tolerance() scales): the robustness entries' task."""
    h = 1.0 + 0.1 * data_seed
    return {"value": float(abs((1.0 + 0.1 * init_seed) * (1.0 - rate * h) ** steps))}


RB_POINTS = sweep.grid(rate=[0.1, 0.5], steps=[4], tol=[1e-3], data_seed=[0, 1], init_seed=[0])


def _rb_verdict(table):
    v = table["value"].to_numpy(dtype=float)
    return RB.Verdict(bool(v.max() < 1.0), float(v.mean()), float(v.min()), float(v.max()), "toy")


RB_CLAIM = RB.Claim("toy contraction", "every run contracts", _rb_verdict)


@functools.lru_cache(maxsize=None)
def _rb_tables():
    return {RB.BASELINE: sweep.run(_rb_task, RB_POINTS, progress=False),
            "budget x10": sweep.run(_rb_task, RB.budget(10)(RB_POINTS), progress=False)}


def rb_tables():
    """A baseline and a perturbed table of the toy task (fresh copies)."""
    return {k: v.copy() for k, v in _rb_tables().items()}


def _other_task(**point):
    return _rb_task(**point)


@functools.lru_cache(maxsize=None)
def _lazy_run():
    X, y = data.sphere(5, 3, seed=0, xp=np), data.labels(5, seed=0, xp=np)
    H = ex.gram(ex.init_params(16, 3, seed=0)[0], X)
    eta = 0.5 / float(np.linalg.eigvalsh(H)[-1])
    return E.lazy_runs(X, y, widths=[16], seeds=[0], eta=eta, steps=400)[0]


def lazy_run():
    """A small LazyRun (normalized network and its linearization side by side)."""
    return _lazy_run()


@functools.lru_cache(maxsize=None)
def _width_table():
    """Four seed cells in the shape of an exp-width-* table (hand-made: parsing and fitting only)."""
    import pandas as pd

    rows = []
    for n, s, m, trace in ((3, 0, 3, "2:stalled:2048;6:reached:22;3:reached:16"), (3, 1, 4, "4:reached:40;3:cap:900"),
                           (6, 0, 5, "4:stalled:608;6:reached:79;5:reached:300"), (6, 1, 6, "6:reached:88;5:stalled:512")):
        rows.append({"n": n, "data_seed": s, "init_seed": 0, "normalized": True, "coupled": False,
                     **{c: float(m) for c in ("m_star", "m_star_cap10", "m_star_cap100", "m_star_margin10",
                                              "m_star_rate4", "m_star_rate40", "m_star_rate400")},
                     "trace": trace})
    out = pd.DataFrame(rows)
    out.loc[0, "m_star_cap10"] = 2.0       # one cell that a variant moves
    return out


def width_table():
    """A small exp-width-* table (two n, two seed cells each; a fresh copy)."""
    return _width_table().copy()


SPECS: list[Spec] = [
    # ------------------------------------------------------------------ Part I: the model
    S("ex.init_params", ex.init_params, lambda p: dict(m=p.m, d=p.d, seed=0, coupled=False, dtype=None),
      dict(m="size", d="size")),
    S("ex.forward", ex.forward, lambda p: dict(W=p.W, a=p.a, X=p.X, normalized=True, chunk=2), {}, NETWORK),
    S("ex.loss", ex.loss, lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, normalized=True, chunk=None), {}, NETWORK_Y),
    S("ex.grad", ex.grad, lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, normalized=False, chunk=3), {}, NETWORK_Y),
    S("ex.gram", ex.gram, lambda p: dict(W=p.W, X=p.X, normalized=True, chunk=3), {}, WX),
    S("ex.gram_star", ex.gram_star, lambda p: dict(X=p.X)),
    S("ex.gram_star_variance", ex.gram_star_variance, lambda p: dict(X=p.X)),
    S("ex.lambda_min_star", ex.lambda_min_star, lambda p: dict(X=p.X)),
    S("ex.lambda_star_lower_bound", ex.lambda_star_lower_bound, lambda p: dict(X=p.X)),
    S("ex.truncation_level", ex.truncation_level, lambda p: dict(W=p.W, X=p.X, chunk=2), {}, WX),
    S("ex.gram_ascent_perturbation", ex.gram_ascent_perturbation,
      lambda p: dict(W0=p.W, X=p.X, R=0.1, iters=1, normalized=True, chunk=None),
      dict(R="real_nonneg"), dict(W0=[("cols", "X")], X=[("cols", "W0")])),
    S("ex.model", ex.model, lambda p: dict(normalized=True, coupled=False, chunk=None, dtype=None)),
    S("ex.train", ex.train,
      lambda p: dict(X=p.X, y=p.y, m=4, eta=0.05, steps=2, seed=0, normalized=True, coupled=False,
                     chunk=None, dtype=None, record_every=1, tol=1e-3, progress=False),
      dict(m="size"), XY, moves_data=True),
    # ------------------------------------------------------------------ Part I: reference implementations
    S("ref.hessian_vector", ref.hessian_vector,
      lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, V=0.1 * p.W, normalized=True), {},
      dict(NETWORK_Y, V=[("rows", "W"), ("cols", "W")]), moves_data=True),
    S("ref.jacobian", ref.jacobian, lambda p: dict(W=p.W, a=p.a, X=p.X, normalized=True), {}, NETWORK,
      moves_data=True),
    S("ref.gram_literal", ref.gram_literal, lambda p: dict(W=p.W, X=p.X, normalized=True), {}, WX, moves_data=True),
    S("ref.du_relu_forward", ref.du_relu_forward, lambda p: dict(W=p.Wr, a=p.ar, X=p.X), {}, NETWORK,
      moves_data=True),
    S("ref.du_relu_grad", ref.du_relu_grad, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, y=p.y), {}, NETWORK_Y,
      moves_data=True),
    S("ref.expected_initial_residual", ref.expected_initial_residual, lambda p: dict(X=p.X, y=p.y), {}, XY,
      moves_data=True),
    S("ref.initial_residual_tail", ref.initial_residual_tail,
      lambda p: dict(n=p.n, B=2.0, delta=0.1, y_norm=1.0),
      dict(n="count", B="real_pos", delta="prob", y_norm="real_nonneg_or_none")),
    S("ref.kernel_residuals", ref.kernel_residuals,
      lambda p: dict(H=ex.gram(p.W, p.X), e0=p.y, eta=0.01, steps=3),
      dict(H="sym_matrix", e0=VECTOR, eta="real_pos", steps="size0"),
      dict(H=[("rows", "e0"), ("cols", "e0")], e0=[("len", "H")]), moves_data=True),
    # ------------------------------------------------------------------ Part I: experiments
    S("E.late_rate", E.late_rate, lambda p: dict(loss=0.5 ** np.arange(120.0), window=(1e-30, 1e-3)),
      dict(loss="pos_vector", window="window")),
    S("E.one_step_remainder", E.one_step_remainder,
      lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, eta=0.01, chunk=None), {}, NETWORK_Y),
    S("E.smallest_width", E.smallest_width,
      lambda p: dict(X=p.X, y=p.y, lam=0.01, eta=0.05, steps=2, widths=[2], seeds=[0], tol=0.5,
                     record_every=1, coupled=False, chunk=None),
      dict(steps="int_pos", widths="int_list", seeds="seed_list", tol="real_pos"), XY),
    S("E.movement_sweep", E.movement_sweep,
      lambda p: dict(X=p.X, y=p.y, widths=[2], eta=0.05, seeds=[0], normalized=True, coupled=False,
                     steps=2, tol=10.0, chunk=None),
      dict(widths="int_list", seeds="seed_list", steps="int_pos", tol="real_pos"), XY, moves_data=True),
    S("E.step_size_threshold", E.step_size_threshold,
      lambda p: dict(X=p.X, y=p.y, m=2, seed=0, eta_lo=1e-3, eta_hi=1e3, steps=2, iters=0,
                     criterion="diverge", normalized=True, coupled=False, chunk=None),
      dict(m="size", eta_lo="real_pos", eta_hi="real_pos", steps="int_pos", iters="int_nonneg",
           criterion="choice"), XY, moves_data=True),
    # ------------------------------------------------------------------ Part I: lazy training
    S("E.lazy_runs", E.lazy_runs,
      lambda p: dict(X=p.X, y=p.y, widths=[2], seeds=[0], eta=0.05, steps=2, chunk=None),
      dict(widths="int_list", seeds="seed_list", steps="int_pos"), XY, moves_data=True),
    S("E.relative_gap", E.relative_gap, lambda p: dict(run=lazy_run()), dict(run="lazy_run")),
    S("E.progress_step", E.progress_step, lambda p: dict(run=lazy_run(), level=0.5),
      dict(run="lazy_run", level="real_pos")),
    S("E.late_rate_ratio", E.late_rate_ratio, lambda p: dict(run=lazy_run(), window=(1e-12, 1e-4)),
      dict(run="lazy_run", window="window")),
    S("E.mode_rate_errors", E.mode_rate_errors, lambda p: dict(run=lazy_run(), decay=2.0, min_share=0.0),
      dict(run="lazy_run", decay="real_pos", min_share="real_nonneg")),
    # ------------------------------------------------------------------ Part I: the width law
    S("wl.width_dim", wl.width_dim, lambda p: dict(n=p.n), dict(n="count")),
    S("wl.paired_sphere", wl.paired_sphere, lambda p: dict(n=4, d=3, theta=0.5, seed=0),
      dict(n="size_2", d="size_d2", theta="real_pos")),
    S("wl.width_data", wl.width_data, lambda p: dict(n=4, d=3, data_seed=0, theta=None),
      dict(n="size", d="size", theta="real_pos_or_none")),
    S("wl.width_grid", wl.width_grid, lambda p: dict(m_max=20, coupled=False, per_octave=4),
      dict(m_max="size", per_octave="int_pos")),
    S("wl.stall_boundary", wl.stall_boundary,
      lambda p: dict(norms=np.array([1.0, 0.9, 0.85, 0.84, 0.839, 0.8389, 0.83889]), eps=0.05, margin=1.0,
                     patience=3),
      dict(norms="pos_vector", eps="real_pos", margin="real_pos", patience="int_pos")),
    S("wl.search_width", wl.search_width,
      lambda p: dict(grid=[1, 2, 3, 4, 6, 8], start=1, passes=lambda i: i >= 3, per_octave=2),
      dict(grid="int_list", start="int_nonneg", passes="callable", per_octave="int_pos")),
    S("wl.width_search_task", wl.width_search_task,   # n = 2: every run decides within a few hundred steps
      lambda p: dict(n=2, d=3, normalized=True, coupled=False, data_seed=0, init_seed=0, theta=None, eps=0.1,
                     c=0.5),
      dict(n="size_2", d="size", theta="real_pos_or_none")),
    S("wl.linear_width_search", wl.linear_width_search,
      lambda p: dict(n=4, d=3, normalized=True, coupled=False, data_seed=0, init_seed=0, theta=None, eps=0.5,
                     c=0.5),
      dict(n="size_2", d="size", theta="real_pos_or_none")),
    S("wl.runs_frame", wl.runs_frame, lambda p: dict(table=width_table(), keys=("n", "data_seed")),
      dict(table="width_table", keys="names_tuple")),
    S("wl.variant_table", wl.variant_table, lambda p: dict(table=width_table(), variant="cap x10"),
      dict(table="width_table", variant="choice")),
    S("wl.cells_changed", wl.cells_changed,
      lambda p: dict(table=wl.variant_table(width_table(), "cap x10")), dict(table="variant_frame")),
    S("wl.hard_cap_bracket", wl.hard_cap_bracket, lambda p: dict(table=width_table(), floor_d=None),
      dict(table="width_table", floor_d="size_or_none")),
    S("wl.synthetic_table", wl.synthetic_table, lambda p: dict(table=width_table(), slope=1.0, x="n"),
      dict(table="width_table", slope="scalar_real", x="column")),
    S("wl.exponent_interval", wl.exponent_interval,
      lambda p: dict(table=width_table(), x="n", y="m_star", groups=None, n_boot=100, seed=0, level=0.9),
      dict(table="width_table", x="column", y="column", groups="column_or_none", n_boot="size", level="prob")),
    S("wl.interval_excludes",
      lambda interval, slopes: wl.interval_excludes(interval, *(slopes if isinstance(slopes, tuple) else [slopes])),
      lambda p: dict(interval=(1.0, 0.5, 1.5), slopes=(0.0, 2.0)), dict(interval="interval", slopes="real_list"),
      covers=(wl.interval_excludes,)),
    S("exsw.width_points", exsw.width_points,
      lambda p: dict(ns=[8], seeds=[0], normalized=True, coupled=False, d=16),
      dict(ns="int_list", seeds="seed_list", d="size")),
    S("exsw.lambda_points", exsw.lambda_points, lambda p: dict(thetas=[0.5], seeds=[0], n=8, d=16),
      dict(thetas="pos_vector", seeds="seed_list", n="size_2", d="size_d2")),
    # ------------------------------------------------------------------ Part I: the theorem's fixed points
    S("thm.chernoff_fixed_width", thm.chernoff_fixed_width,
      lambda p: dict(lam=0.5, gram_norm=3.0, n=10.0, delta=0.1, level=0.75, iters=100),
      dict(lam="scalar_real_pos", gram_norm="scalar_real_pos", n="scalar_real_pos", delta="scalar_prob",
           level="scalar_prob", iters="int_pos")),
    S("thm.hoeffding_fixed_width", thm.hoeffding_fixed_width,
      lambda p: dict(lam=0.5, n=10.0, delta=0.1, iters=100),
      dict(lam="scalar_real_pos", n="scalar_real_pos", delta="scalar_prob", iters="int_pos")),
    S("thm.initial_residual_bound", thm.initial_residual_bound,
      lambda p: dict(n=10.0, B=2.0, delta=0.1, coupled=False),
      dict(n="scalar_real_pos", B="scalar_real_pos", delta="scalar_prob")),
    S("thm.deterministic_theorem_width", thm.deterministic_theorem_width,
      lambda p: dict(lam=0.5, n=10.0, gram_norm=3.0, delta=0.1, coupled=False, iters=100),
      dict(lam="scalar_real_pos", n="scalar_real_pos", gram_norm="scalar_real_pos", delta="scalar_prob",
           iters="int_pos")),
    S("thm.theorem_steps", thm.theorem_steps, lambda p: dict(lam=0.5, n=10.0, B=2.0, err0=3.0, eps=0.1),
      dict(lam="scalar_real_pos", n="scalar_real_pos", B="scalar_real_pos", err0="scalar_real_pos",
           eps="scalar_real_pos")),
    # ------------------------------------------------------------------ Part II: the model
    S("relu2.init_params", relu2.init_params, lambda p: dict(m=p.m, d=p.d, seed=1, dtype=None),
      dict(m="size", d="size")),
    S("relu2.forward", relu2.forward, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, chunk=2), {}, NETWORK),
    S("relu2.loss", relu2.loss, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, y=p.y, chunk=None), {}, NETWORK_Y),
    S("relu2.grads", relu2.grads, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, y=p.y, chunk=None), {}, NETWORK_Y),
    S("relu2.gram_layers", relu2.gram_layers, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, chunk=None), {}, NETWORK),
    S("relu2.combined_kernel", relu2.combined_kernel,
      lambda p: dict(W=p.Wr, a=p.ar, X=p.X, eta_w=0.5, eta_a=0.25, chunk=None), {}, NETWORK),
    S("relu2.arccos_kernels", relu2.arccos_kernels, lambda p: dict(rho=np.clip(p.X, -1, 1)),
      dict(rho="correlation")),
    S("relu2.gram_infinite", relu2.gram_infinite, lambda p: dict(X=p.X), dict(X="matrix_nonzero_rows")),
    S("relu2.step_sizes", relu2.step_sizes,
      lambda p: dict(W=p.Wr, a=p.ar, X=p.X, ratio=1.0, c=0.5, chunk=None), {}, NETWORK),
    S("relu2.flipped_fraction", relu2.flipped_fraction, lambda p: dict(W=p.Wr, W0=p.W, X=p.X, chunk=None), {},
      dict(W=[("cols", "X"), ("rows", "W0")], W0=[("rows", "W")], X=[("cols", "W")])),
    S("relu2.lecun_form", relu2.lecun_form, lambda p: dict(W=p.Wr, a=p.ar), {},
      dict(W=[("rows", "a")], a=[("len", "W")])),
    S("relu2.model", relu2.model, lambda p: dict(chunk=None, dtype=None)),
    S("relu2.train", relu2.train,
      lambda p: dict(X=p.X, y=p.y, m=4, eta_w=0.1, eta_a=0.1, steps=2, seed=0, chunk=None, dtype=None,
                     record_every=1, tol=1e-3, progress=False),
      dict(m="size"), XY, moves_data=True),
    # ------------------------------------------------------------------ Part II: experiments
    S("R2.width_for", R2.width_for, lambda p: dict(md_over_n=2.0, n=8, d=4),
      dict(n="count_capped", d="count_capped")),
    S("R2.worst_case_labels", R2.worst_case_labels, lambda p: dict(X=p.X, ratio=1.0),
      dict(X="matrix_nonzero_rows", ratio="real_nonneg")),
    S("R2.problem", R2.problem, lambda p: dict(n=4, d=2, data_seed=0, labels="sign", ratio=1.0),
      dict(n="size", d="size", ratio="real_nonneg")),
    S("R2.alpha_model", R2.alpha_model, lambda p: dict(alpha=2.0, params0=p.p0, X=p.X),
      dict(alpha="real_pos", params0="params")),
    S("R2.sharpening_run", R2.sharpening_run,
      lambda p: dict(n=4, d=2, md_over_n=1.0, c=0.5, data_seed=0, init_seed=0, ratio=1.0, steps=2, tol=1e-3,
                     record_every=1),
      dict(n="size", d="size")),
    S("R2.sharpening_task", R2.sharpening_task,
      lambda p: dict(n=4, d=2, md_over_n=1.0, c=0.5, data_seed=0, init_seed=0, ratio=1.0, steps=2, tol=1e-3),
      dict(n="size", d="size")),
    # ------------------------------------------------------------------ Part II: the fair step rule
    S("st.loss_rises", st.loss_rises, lambda p: dict(loss=np.array([3.0, 2.0, 2.5, 1.0])), dict(loss="pos_vector")),
    S("st.stall_window", st.stall_window, lambda p: dict(steps=100, record_every=10), dict(steps="int_pos")),
    S("st.stalled", st.stalled, lambda p: dict(loss_now=1.0, loss_before=2.0, drop=1e-3),
      dict(loss_now="real_nonneg", loss_before="real_nonneg", drop="real_pos")),
    S("st.judge", st.judge,
      lambda p: dict(c=0.5, loss=np.array([2.0, 1.0]), max_lambda_max=1.0, result=None, accept=1.8,
                     max_rise=0.01, stalled=False, aborted=None, steps=None),
      dict(loss="any", max_lambda_max="real_or_nan", result="any", accept="real_pos", max_rise="real_pos",
           stalled="flag", aborted="label_or_none", steps="seed_or_none")),
    S("st.largest_stable", st.largest_stable,
      lambda p: dict(run=lambda c: st.judge(c, [1.0, 0.5], c), grid=(1.6, 0.8, 0.4), start=1),
      dict(run="callable", grid="pos_vector", start="int_nonneg")),
    S("st.unit_rates", st.unit_rates, lambda p: dict(model=p.model, params=p.p0, X=p.X, ratio=1.0),
      dict(model="model", params="params")),
    S("st.lambda_max_monitor", st.lambda_max_monitor,
      lambda p: dict(model=p.model, X=p.X, rates={"W": 0.1, "a": 0.1}, dense_max=64, iters=6),
      dict(model="model", rates="rates", dense_max="int_nonneg", iters="int_pos")),
    S("st.linear_run", st.linear_run,
      lambda p: dict(mu=np.array([0.2, 0.5, 1.0]), beta=np.array([1.0, 0.5, 0.25]), c=0.5, steps=50, tol=1e-3,
                     record_every=10, drop=1e-3, null_tol=1e-10),
      dict(mu="pos_vector", beta="pos_vector", drop="real_pos", null_tol="real_pos"),
      dict(mu=[("len", "beta")], beta=[("len", "mu")])),
    # ------------------------------------------------------------------ Part II: fair comparison
    S("RF.resolve_ratio", RF.resolve_ratio, lambda p: dict(ratio=1.0, m=4, d=2), dict(m="int_pos", d="int_pos")),
    S("RF.kappa_bound", RF.kappa_bound, lambda p: dict(n=8, d=2, data_seed=0, ratio=1.0),
      dict(n="size", d="size")),
    S("RF.budget_steps", RF.budget_steps, lambda p: dict(n=8, d=2, data_seed=0, ratio=1.0, budget=1.0, tol=1e-3),
      dict(n="size", d="size")),
    S("RF.compare_fits", RF.compare_fits,
      lambda p: dict(net_fit=True, net_steps=10, lin_fit=True, lin_steps=30, slower=2.0),
      dict(net_fit="flag", lin_fit="flag", net_steps="int_nonneg", lin_steps="int_nonneg", slower="real_pos")),
    S("RF.speedup", RF.speedup, lambda p: dict(net_fit=True, net_steps=10, lin_fit=True, lin_steps=30),
      dict(net_fit="flag", lin_fit="flag", net_steps="int_nonneg", lin_steps="int_nonneg")),
    S("RF.lin_attempt", RF.lin_attempt,
      lambda p: dict(mu=np.array([0.2, 0.5, 1.0]), beta=np.array([1.0, 0.5, 0.25]), c=0.5, steps=50, tol=1e-3,
                     record_every=10, accept=1.8, max_rise=0.01, drop=1e-3),
      dict(mu="pos_vector", beta="pos_vector", accept="real_pos", max_rise="real_pos", drop="real_pos"),
      dict(mu=[("len", "beta")], beta=[("len", "mu")])),
    S("RF.net_attempt", RF.net_attempt,
      lambda p: dict(model=p.model, p0=p.p0, X=p.X, y=p.y, rates1={"W": 0.1, "a": 0.1}, c=0.5, steps=5, tol=1e-3,
                     record_every=1, accept=1.8, max_rise=0.01, drop=1e-3),
      dict(model="model", p0="params", rates1="rates", accept="real_pos", max_rise="real_pos", drop="real_pos"),
      XY),
    S("RF.fair_compare", RF.fair_compare,
      lambda p: dict(model=p.model, p0=p.p0, X=p.X, y=p.y, ratio=1.0, steps=5, tol=1e-3, record_every=1,
                     step_rule="largest", start=2, grid=(1.6, 0.8, 0.4)),
      dict(model="model", p0="params", step_rule="choice", start="int_nonneg", grid="pos_vector"), XY),
    S("RF.meanfield_model", RF.meanfield_model, lambda p: dict(params0=p.p0, X=p.X), dict(params0="params")),
    S("RF.fair_task", RF.fair_task,
      lambda p: dict(n=4, d=2, md_over_n=1.0, ratio=1.0, data_seed=0, init_seed=0, labels="sign", budget=0.01,
                     tol=1e-3, step_rule="largest", model="net", alpha=0.0, record_every=10),
      dict(n="size_2", d="size", step_rule="choice", model="choice", alpha="real_nonneg")),
    S("R2.teacher_labels", R2.teacher_labels, lambda p: dict(X=p.X, seed=0)),
    S("RS.robust_points", RS.robust_points, lambda p: dict(scale="book"), dict(scale="scale")),
    S("RS.ratio_points", RS.ratio_points, lambda p: dict(scale="book"), dict(scale="scale")),
    # ------------------------------------------------------------------ Part II: the kernel's change
    S("RK.dead_inputs", RK.dead_inputs, lambda p: dict(W=p.Wr, X=p.X), {}, WX),
    S("RK.spectrum", RK.spectrum,
      lambda p: dict(K=relu2.combined_kernel(p.Wr, p.ar, p.X, 0.5, 0.5), live=np.ones(p.n, bool), eig=None),
      dict(K="sym_matrix", live="mask_or_none", eig="any"), dict(K=[("rows", "live")], live=[("len", "K")])),
    S("RK.centered_alignment", RK.centered_alignment,
      lambda p: dict(K=relu2.combined_kernel(p.Wr, p.ar, p.X, 0.5, 0.5), y=p.y),
      dict(K="sym_matrix"), dict(K=[("rows", "y")], y=[("len", "K")])),
    S("RK.top_eigenspace_angles", RK.top_eigenspace_angles, lambda p: dict(V0=p.Wr[:, :2], V1=p.W[:, :2]),
      dict(V0=MATRIX, V1=MATRIX), dict(V0=[("rows", "V1")], V1=[("rows", "V0")])),
    S("RK.neuron_movement", RK.neuron_movement, lambda p: dict(W0=p.Wr, a0=p.ar, W=p.W, a=p.a),
      dict(a0=VECTOR), dict(W0=[("rows", "a0")], a0=[("len", "W0")], W=[("rows", "a")], a=[("len", "W")])),
    S("RK.balance", RK.balance, lambda p: dict(W=p.Wr, a=p.ar, eta_w=0.5, eta_a=0.25), {},
      dict(W=[("rows", "a")], a=[("len", "W")])),
    S("RK.balance_drift", RK.balance_drift,
      lambda p: dict(W0=p.Wr, a0=p.ar, W=p.W, a=p.a, eta_w=0.5, eta_a=0.25),
      dict(a0=VECTOR), dict(W0=[("rows", "a0")], a0=[("len", "W0")], W=[("rows", "a")], a=[("len", "W")])),
    S("RK.kernel_report", RK.kernel_report,
      lambda p: dict(K0=relu2.combined_kernel(p.Wr, p.ar, p.X, 0.5, 0.5),
                     KT=relu2.combined_kernel(p.W, p.a, p.X, 0.5, 0.5), y=p.y, live0=np.ones(p.n, bool),
                     liveT=np.ones(p.n, bool), top=2, eig0=None),
      dict(K0="sym_matrix", KT="sym_matrix", live0="mask", liveT="mask", top="int_pos", eig0="any"),
      dict(K0=[("rows", "KT")], KT=[("rows", "K0")], y=[("len", "K0")], live0=[("len", "K0")],
           liveT=[("len", "K0")])),
    # ------------------------------------------------------------------ Part II: per-cell tables and claims
    S("RT.cell_rate", RT.cell_rate,
      lambda p: dict(df=p.fair_table, by=["n", "md_over_n"], col="net_fit", groups="data_seed", n_boot=100, seed=0),
      dict(df="dataframe", by="columns", col="column", groups="column", n_boot="int_pos", seed="seed")),
    S("RT.cell_median", RT.cell_median,
      lambda p: dict(df=p.fair_table, by=["n"], col="speedup", groups="data_seed", where="net_fit", n_boot=100,
                     seed=0),
      dict(df="dataframe", by="columns", col="column", groups="column", where="column_or_none",
           n_boot="int_pos", seed="seed")),
    S("RT.critical_point", RT.critical_point,
      lambda p: dict(x=np.array([0.5, 1.0, 2.0]), rate=np.array([0.0, 0.5, 1.0]), level=0.5),
      dict(x=VECTOR, rate=VECTOR, level="prob"), dict(x=[("len", "rate")], rate=[("len", "x")])),
    S("RT.critical_table", RT.critical_table,
      lambda p: dict(df=p.fair_table, level=0.5, col="net_fit", by="n", x="md_over_n", groups="data_seed",
                     n_boot=100, seed=0),
      dict(df="dataframe", col="column", by="column", x="column", groups="column", n_boot="int_pos")),
    S("RT.critical_slope", RT.critical_slope,
      lambda p: dict(df=p.fair_table, level=0.5, col="net_fit", by="n", x="md_over_n", groups="data_seed",
                     n_boot=100, seed=0),
      dict(df="dataframe", col="column", by="column", x="column", groups="column", n_boot="int_pos")),
    S("RT.bracketed", RT.bracketed,
      lambda p: dict(df=p.fair_table, level=0.5, col="net_fit", by="n", x="md_over_n"),
      dict(df="dataframe", col="column", by="column", x="column")),
    S("RT.fit_floor", RT.fit_floor, lambda p: dict(df=p.fair_table), dict(df="dataframe")),
    S("RT.fit_gap", RT.fit_gap, lambda p: dict(df=p.fair_table, groups="data_seed", n_boot=100, seed=0),
      dict(df="dataframe", groups="column", n_boot="int_pos")),
    S("RT.claim_fit", RT.claim_fit, lambda p: dict(df=p.fair_table), dict(df="dataframe")),
    S("RT.claim_rank", RT.claim_rank, lambda p: dict(df=p.fair_table), dict(df="dataframe")),
    S("RT.claim_net_faster", RT.claim_net_faster, lambda p: dict(df=p.fair_table), dict(df="dataframe")),
    S("RT.claim_kernel", RT.claim_kernel, lambda p: dict(df=p.fair_table, min_fits=1),
      dict(df="dataframe", min_fits="int_pos")),
    S("RT.claim_slope", RT.claim_slope, lambda p: dict(df=p.fair_table, below=0.5),
      dict(df="dataframe", below="real_pos")),
    S("RT.own_best_ratio", RT.own_best_ratio,
      lambda p: dict(df=p.ratio_table, trial=["n", "md_over_n", "data_seed", "init_seed"]),
      dict(df="dataframe", trial="columns")),
    # ------------------------------------------------------------------ the trainer
    S("training.gradient_descent", training.gradient_descent,
      lambda p: dict(params={"w": np.ones(2)}, objective=lambda q: (q["w"], {"w": q["w"]}),
                     rates={"w": 0.1}, steps=2, monitors={"n": lambda q: 0.0}, record_every=1,
                     tol=1e-3, progress=False, desc="gd", rate_names={"w": "eta"}),
      dict(params="mapping", objective="callable", rates="rates", monitors="monitors", desc="str",
           rate_names="names_map")),
    S("training.train", training.train,
      lambda p: dict(model=p.model, X=p.X, y=p.y, rates={"W": 0.1, "a": 0.1}, steps=2, m=3, seed=0,
                     record=("lambda_min",), record_every=1, monitors={"u0": lambda q: 0.0}, tol=1e-3,
                     progress=False, rate_names={"W": "eta_w"}),
      dict(model="model", rates="rates", m="size", record="record", monitors="monitors",
           rate_names="names_map"), XY, moves_data=True),
    S("training.linearize", training.linearize, lambda p: dict(model=p.model, params0=p.p0),
      dict(model="model", params0="params")),
    S("V.check_params", V.check_params,
      lambda p: dict(model=p.model, params=p.p0, X=p.X, name="p0"),
      dict(model="model", params="params", X="matrix_or_none", name="str"), names={"params": "p0"}),
    # ------------------------------------------------------------------ data and seeding
    *[S(f"data.{f.__name__}", f, lambda p: dict(n=p.n, d=p.d, seed=0, xp=None), dict(n="size", d="size"))
      for f in (data.sphere, data.ball, data.gaussian)],
    S("data.labels", data.labels, lambda p: dict(n=p.n, seed=0, kind="sign", xp=None),
      dict(n="size", kind="choice")),
    S("data.min_distance", data.min_distance, lambda p: dict(X=p.X)),
    S("data.separated_points", data.separated_points,
      lambda p: dict(n=4, d=3, delta=0.5, seed=0, batch=8, max_batches=5, xp=None),
      dict(n="size", d="size_d2", delta="distance", batch="size_or_none", max_batches="int_pos")),
    S("data.great_circle", data.great_circle, lambda p: dict(n=6, d=3, xp=None),
      dict(n="size_2", d="size_d2")),
    S("data.great_circle_arc", data.great_circle_arc, lambda p: dict(n=6, delta=0.5, d=3, xp=None),
      dict(n="size", delta="distance", d="size_d2")),
    S("data.simplex_points", data.simplex_points, lambda p: dict(n=4, delta=0.5, d=6, xp=None),
      dict(n="size", delta="distance", d="size_or_none")),
    S("data.lattice_shell", data.lattice_shell, lambda p: dict(d=4, norm=2), dict(d="size", norm="int_pos")),
    S("data.shell_points", data.shell_points, lambda p: dict(n=10, seed=0, d=4, norm=2, xp=None),
      dict(n="size", d="size", norm="int_pos")),
    S("data.orthogonal_circles", data.orthogonal_circles, lambda p: dict(n_per_circle=4, n_circles=2, d=5, xp=None),
      dict(n_per_circle="size_2", n_circles="size", d="size_or_none")),
    S("seeding.make_rng", lambda seed, stream: seeding.make_rng(seed, "s", stream),
      lambda p: dict(seed=0, stream=1), dict(stream="stream"), names={"stream": "stream part"},
      covers=(seeding.make_rng,)),
    S("seeding.standard_normal", seeding.standard_normal, lambda p: dict(shape=(p.n, p.d), seed=0, xp=None),
      dict(shape="shape")),
    S("seeding.rademacher", seeding.rademacher, lambda p: dict(size=p.n, seed=0, xp=None), dict(size="shape")),
    S("seeding.check_seed", seeding.check_seed, lambda p: dict(seed=3, name="seed"), dict(name="any")),
    # ------------------------------------------------------------------ stats
    S("stats.loglog_slope", stats.loglog_slope,
      lambda p: dict(x=np.array([1.0, 2.0, 4.0]), y=np.array([1.0, 3.0, 8.0])),
      dict(x="pos_vector", y="pos_vector"), dict(x=[("len", "y")], y=[("len", "x")]), moves_data=True),
    S("stats.wilson_interval", stats.wilson_interval, lambda p: dict(successes=3, trials=7, z=1.96),
      dict(successes="count0_array", trials="count_array", z="z")),
    S("stats.bootstrap_interval",
      lambda statistic, arrays, groups, n_boot, seed, level, vectorized, nan_policy: stats.bootstrap_interval(
          statistic, *arrays, groups=groups, n_boot=n_boot, seed=seed, level=level, vectorized=vectorized,
          nan_policy=nan_policy),
      lambda p: dict(statistic=np.mean, arrays=(np.arange(6.0),), groups=np.repeat([0, 1, 2], 2), n_boot=100, seed=0,
                     level=0.9, vectorized=False, nan_policy="raise"),
      dict(statistic="callable", arrays="data_arrays", groups="groups", n_boot="size", level="prob",
           vectorized="flag", nan_policy="choice"), covers=(stats.bootstrap_interval,)),
    S("stats.loglog_slope_interval", stats.loglog_slope_interval,
      lambda p: dict(x=np.tile([1.0, 2.0, 4.0, 8.0], 3), y=np.tile([1.0, 3.0, 7.0, 20.0], 3) * np.repeat([1.0, 1.1, 0.9], 4),
                     groups=np.repeat([0, 1, 2], 4), n_boot=100, seed=0, level=0.9, nan_policy="raise"),
      dict(x="pos_vector", y="pos_vector", groups="groups", n_boot="size", level="prob", nan_policy="choice"),
      dict(x=[("len", "y")], y=[("len", "x")]), moves_data=True),
    # ------------------------------------------------------------------ sweeps
    S("sweep.grid", lambda axes: sweep.grid(**axes), lambda p: dict(axes={"m": [8, 16], "seed": [0]}),
      dict(axes="axes"), names={"axes": "axis"}, covers=(sweep.grid,)),
    S("sweep.point_seed", sweep.point_seed, lambda p: dict(point={"m": 8, "seed": 1}, exclude=("seed",)),
      dict(point="point", exclude="names")),
    S("sweep.run", sweep.run,
      lambda p: dict(fn=stats.wilson_interval, points=[{"successes": 1, "trials": 2}], executor=None, catch=None,
                     progress=False, desc="t"),
      dict(fn="callable", points="point_list", executor="executor", catch="catch", desc="str")),
    S("sweep.failed", sweep.failed, lambda p: dict(df=p.table), dict(df="sweep_table")),
    S("sweep.task", sweep.task, lambda p: dict(task_id="some-new-id"), dict(task_id="task_id")),
    S("sweep.task_id", sweep.task_id, lambda p: dict(fn=wl.width_search_task), dict(fn="task_fn"), names={"fn": "task"}),
    S("sweep.get_task", sweep.get_task, lambda p: dict(tid="exp-width-search"), dict(tid="known_name"),
      ),
    S("sweep.get", sweep.get, lambda p: dict(name="exp-width-norm-indep"), dict(name="known_name")),
    S("sweep.registry", sweep.registry, lambda p: dict()),
    S("sweep.Sweep", sweep.Sweep,
      lambda p: dict(name="t", fn=wl.width_search_task, grids={"book": [{"n": 4}]}, description="", version=1, catch=()),
      dict(name="str", fn="task_fn", grids="grids", description="str", version="int_pos", catch="catch_tuple"),
      names={"fn": "task"}),
    S("sweep.provenance", sweep.provenance,
      lambda p: dict(sweep=sweep.get("exp-width-norm-indep"), scale="full", wall_seconds=1.0, executor_desc="serial"),
      dict(sweep="sweep_obj", scale="scale", wall_seconds="real_nonneg", executor_desc="str")),
    S("sweep.results_root", sweep.results_root, lambda p: dict(root=None), dict(root="path_or_none")),
    S("sweep.result_dir", sweep.result_dir, lambda p: dict(name="exp-width-norm-indep", scale="full", root=None),
      dict(name="plain_name", scale="plain_name", root="path_or_none")),
    S("sweep.load_result", sweep.load_result,
      lambda p: dict(name="thr-past-crossover", scale="full", root=None, check=True, recheck="off"),
      dict(name="plain_name", scale="plain_name", root="path_or_none", check="flag", recheck="any")),
    S("sweep.store", sweep.store,
      lambda p: dict(name="exp-width-norm-indep", scale="book", executor=None, executor_desc="serial", root=_tmp_root(),
                     progress=False),
      dict(name="known_name", scale="scale", executor="executor", executor_desc="str", root="path_or_none"),
      valid=False),
    S("provenance.git_state", provenance.git_state, lambda p: dict(root=None), dict(root="path_or_none")),
    S("provenance.package_versions", provenance.package_versions, lambda p: dict()),
    S("sweep.plain_value", sweep.plain_value, lambda p: dict(v=3, name="v"), dict(v="plain_value", name="str")),
    # ------------------------------------------------------------------ stored-result rechecks (a toy sweep)
    S("recheck.recheck_mode", RC.recheck_mode, lambda p: dict(mode="sample"), dict(mode="recheck_mode")),
    S("recheck.recheck_sample", RC.recheck_sample,
      lambda p: dict(table=toy_stored(), sweep=TOY_SWEEP, scale="full", seed=0, min_rows=4, fraction=0.5,
                     budget_s=0.05),
      dict(table="stored_table", sweep="sweep_obj", scale="scale", min_rows="int_pos", fraction="unit_closed",
           budget_s="real_nonneg")),
    S("recheck.recheck", RC.recheck,
      lambda p: dict(table=toy_stored(), sweep=TOY_SWEEP, scale="full", prov=dict(TOY_PROV), mode="sample", seed=0,
                     min_rows=4, fraction=0.5, budget_s=0.05, rtol=1e-9),
      dict(table="stored_table", sweep="sweep_obj", scale="scale", prov="prov", mode="recheck_mode",
           min_rows="int_pos", fraction="unit_closed", budget_s="real_nonneg", rtol="real_nonneg")),
    S("recheck.compare_rows", RC.compare_rows,
      lambda p: dict(stored=toy_stored(), live=toy_stored().assign(y=lambda t: t["y"] * (1 + 1e-6)), rtol=1e-9,
                     skip=(sweep.TIME_COLUMN,)),
      dict(stored="frame_rows", live="frame_rows", rtol="real_nonneg", skip="names_seq")),
    S("recheck.as_stored", RC.as_stored, lambda p: dict(df=toy_stored()), dict(df="dataframe")),
    S("recheck.stored_backend", RC.stored_backend, lambda p: dict(prov=dict(TOY_PROV)), dict(prov="prov")),
    S("recheck.recheck_summary", RC.recheck_summary,
      lambda p: dict(prov={**TOY_PROV, "recheck": RC.recheck(toy_stored(), TOY_SWEEP, "full", TOY_PROV,
                                                             min_rows=4, budget_s=0.05)}),
      dict(prov="prov_report")),
    # ------------------------------------------------------------------ robustness tables (a toy protocol)
    S("rb.Verdict", RB.Verdict, lambda p: dict(holds=True, number=0.5, low=0.25, high=0.75, detail="d"),
      dict(holds="flag", number="real_or_nan", low="real_or_nan", high="real_or_nan", detail="str")),
    S("rb.Verdict.from_interval", lambda holds, interval, detail: RB.Verdict.from_interval(holds, interval, detail),
      lambda p: dict(holds=True, interval=stats.BootstrapInterval(0.5, 0.25, 0.75), detail=""),
      dict(holds="flag", interval="interval", detail="str"), covers=()),
    S("rb.Claim", RB.Claim,
      lambda p: dict(name="c", statement="s", evaluate=_rb_verdict, agree=lambda b, v: b.holds == v.holds),
      dict(name="label", statement="str", evaluate="callable", agree="callable")),
    S("rb.Claim.__call__", lambda self, table: self(table), lambda p: dict(self=RB_CLAIM, table=rb_tables()["baseline"]),
      dict(self="any", table="dataframe"), covers=()),
    S("rb.Perturbation", RB.Perturbation,
      lambda p: dict(name="reversed", description="the grid in reverse order", apply=lambda q: q[::-1], task=None),
      dict(name="label", description="str", apply="callable", task="callable_or_none")),
    S("rb.Perturbation.__call__", lambda self, points: self(points),
      lambda p: dict(self=RB.budget(10), points=list(RB_POINTS)), dict(self="any", points="point_list"), covers=()),
    S("rb.scale_key", lambda key, factor, name, integer: RB.scale_key(key, factor, name=name, integer=integer)(RB_POINTS),
      lambda p: dict(key="steps", factor=2.0, name=None, integer=None),
      dict(key="point_key", factor="real_pos", name="label_or_none", integer="flag_or_none"), covers=(RB.scale_key,)),
    S("rb.budget", lambda factor, key: RB.budget(factor, key)(RB_POINTS), lambda p: dict(factor=10.0, key="steps"),
      dict(factor="real_pos", key="point_key"), covers=(RB.budget,)),
    S("rb.tolerance", lambda factor, key: RB.tolerance(factor, key)(RB_POINTS), lambda p: dict(factor=0.1, key="tol"),
      dict(factor="real_pos", key="point_key"), covers=(RB.tolerance,)),
    S("rb.set_key", lambda key, value, name, add: RB.set_key(key, value, name=name, add=add)(RB_POINTS),
      lambda p: dict(key="steps", value=7, name=None, add=False),
      dict(key="point_key", value="plain_value", name="label_or_none", add="flag"), covers=(RB.set_key,)),
    S("rb.fresh_seeds", lambda keys, offset: RB.fresh_seeds(keys, offset)(RB_POINTS),
      lambda p: dict(keys=("data_seed", "init_seed"), offset=1000), dict(keys="point_keys", offset="int_pos"),
      covers=(RB.fresh_seeds,)),
    S("rb.compose", lambda perturbations, name: RB.compose(*perturbations, name=name)(RB_POINTS),
      lambda p: dict(perturbations=(RB.budget(10), RB.fresh_seeds()), name=None),
      dict(perturbations="compose_list", name="label_or_none"), covers=(RB.compose,)),
    S("rb.check", RB.check,
      lambda p: dict(claim=RB_CLAIM, task=_rb_task, points=list(RB_POINTS), perturbations=[RB.budget(10), RB.fresh_seeds()],
                     executor=None, baseline_table=rb_tables()["baseline"], catch=None, progress=False),
      dict(claim="claim", task="callable", points="point_list", perturbations="perturbation_list",
           executor="executor", baseline_table="baseline_table", catch="catch", progress="flag")),
    S("rb.evaluate", RB.evaluate,
      lambda p: dict(claim=RB_CLAIM, tables=rb_tables(), descriptions={"budget x10": "x10"}),
      dict(claim="claim", tables="tables", descriptions="descriptions")),
    # ------------------------------------------------------------------ landing panels (tiny sizes)
    S("landing.convergence", landing.convergence, lambda p: dict(n=4, d=2, widths=(4,), steps=2),
      dict(n="size", d="size", widths="int_list", steps="int_pos"), same="skip"),
    S("landing.beyond_ntk", landing.beyond_ntk,
      lambda p: dict(n=4, d=2, md_over_n=1.0, ratio=1.0, data_seed=0, init_seed=0, budget=0.01, tol=1e-3),
      dict(n="size_2", d="size", budget="real_pos", tol="real_pos"), same="skip"),
    S("landing.memorization", landing.memorization, lambda p: dict(ns=(4, 6), d=3, delta=0.5, n_max=200),
      dict(ns="int_list", d="size_d2", delta="distance", n_max="count_capped"), same="skip"),
    # ------------------------------------------------------------------ chunks
    S("chunks.neuron_slices", chunks.neuron_slices, lambda p: dict(m=10, n=4, chunk=3, itemsize=8),
      dict(m="int_nonneg", n="int_nonneg", itemsize="int_pos")),
    S("chunks.check_dtype", chunks.check_dtype, lambda p: dict(dtype="float32")),
    S("chunks.feature_budget", chunks.feature_budget, lambda p: dict(xp=None)),
    S("chunks.kept_chunks", chunks.kept_chunks,
      lambda p: dict(slices=chunks.neuron_slices(10, 4, chunk=3), n=4, itemsize=8, xp=None),
      dict(slices="slices", n="int_nonneg", itemsize="int_pos")),
    S("chunks.step_slices", chunks.step_slices, lambda p: dict(m=10, n=4, chunk=None, itemsize=8, xp=np),
      dict(m="int_nonneg", n="int_nonneg", itemsize="int_pos", xp="xp")),
    S("chunks.take_workspace", chunks.take_workspace, lambda p: dict(xp=np, size=12, dtype=np.dtype("float64")),
      dict(xp="module", size="size0"), same="none"),
    S("chunks.give_workspace", chunks.give_workspace, lambda p: dict(buf=np.empty(4)), dict(buf="buffer")),
    S("chunks.release_workspace", chunks.release_workspace, lambda p: dict()),
    S("chunks.kept_workspace", chunks.kept_workspace, lambda p: dict()),
    S("chunks.trace_features", chunks.trace_features, lambda p: dict()),
    S("chunks.scratch", chunks.scratch,
      lambda p: dict(xp=np, n=4, slices=chunks.neuron_slices(10, 4, chunk=3), dtype=np.dtype("float64")),
      dict(xp="module", n="int_nonneg", slices="slices"), same="none"),
    S("chunks.step_blocks", chunks.step_blocks,
      lambda p: dict(xp=np, n=4, slices=chunks.neuron_slices(10, 4, chunk=3), keep=1, dtype=np.dtype("float64")),
      dict(xp="module", n="int_nonneg", slices="slices", keep="int_nonneg"), same="none"),
    S("chunks.FeatureBlocks", chunks.FeatureBlocks,
      lambda p: dict(xp=np, n=4, m=10, dtype=np.dtype("float64"), chunk=3, twice=True),
      dict(xp="module", n="int_nonneg", m="int_nonneg", twice="flag")),
    # ------------------------------------------------------------------ backend, scale, errors
    S("backend.check_xp", backend.check_xp, lambda p: dict(xp=np, name="xp"), dict(name="any")),
    S("backend.sparse_module", backend.sparse_module, lambda p: dict(xp=np), dict(xp="module")),
    S("backend.synchronize", backend.synchronize, lambda p: dict(xp=np), dict(xp="module")),
    S("backend.to_device", backend.to_device, lambda p: dict(x=p.X, xp=np), dict(x="any")),
    *[S(f"backend.{f.__name__}", f, lambda p: dict(x=p.X), dict(x="any"))
      for f in (backend.to_numpy, backend.array_kind, backend.is_device_array)],
    S("backend.array_module", lambda arrays: backend.array_module(*arrays), lambda p: dict(arrays=(p.X, p.y)),
      dict(arrays="any"), covers=(backend.array_module,)),
    *[S(f"backend.{f.__name__}", f, lambda p: dict())
      for f in (backend.backend_name, backend.describe, backend.get_xp, backend.gpu_available,
                backend.requested_backend, backend.reset_cache, backend.strict_allowed)],
    S("scale.current_scale", scale.current_scale, lambda p: dict()),
    S("scale.pick", scale.pick, lambda p: dict(book=1, full=2), dict(book="any", full="any")),
    S("errors.env_choice", errors.env_choice,
      lambda p: dict(var="EXPREG_API_TABLE_UNSET", choices=("a", "b"), error=errors.ConfigError, what="thing"),
      dict(var="str", choices="str_tuple", error="config_error", what="str")),
    # ------------------------------------------------------------------ Part III: hyperplanes
    S("th.separation_angle", th.separation_angle, lambda p: dict(delta=0.5), dict(delta="distance_array")),
    S("th.hyperplane_budget", th.hyperplane_budget, lambda p: dict(n=p.n, delta=0.5, eta=0.01),
      dict(n="count", delta="distance", eta="prob")),
    S("th.union_bound_width", th.union_bound_width, lambda p: dict(n=8, delta=0.5, eta=0.01),
      dict(n="count2_array", delta="distance_array", eta="prob")),
    S("th.gaussian_hyperplanes", th.gaussian_hyperplanes, lambda p: dict(k=4, d=p.d, seed=0, attempt=0, xp=None),
      dict(k="size", d="size")),
    S("th.hyperplane_codes", th.hyperplane_codes, lambda p: dict(X=p.X, W=p.W),
      dict(X="matrix_rows_ok"), WX),
    S("th.distinct_rows", th.distinct_rows, lambda p: dict(codes=p.stage1[1].T), dict(codes="binary_any")),
    S("th.hyperplanes_to_separate", th.hyperplanes_to_separate, lambda p: dict(X=p.X, seed=0, k_max=1 << 10),
      dict(k_max="size")),
    S("th.circle_separation_cdf", th.circle_separation_cdf, lambda p: dict(n=8, k=3),
      dict(n="even", k="count0_array")),
    S("th.circle_separation_mean", th.circle_separation_mean, lambda p: dict(n=8), dict(n="even")),
    S("th.vershynin_width_log10", th.vershynin_width_log10, lambda p: dict(delta=0.5, eps=0.1),
      dict(delta="distance", eps="prob")),
    S("th.vershynin_width_log10_bound", th.vershynin_width_log10_bound, lambda p: dict(delta=0.5, eps=0.1),
      dict(delta="distance", eps="prob")),
    S("th.vershynin_overlap", th.vershynin_overlap, lambda p: dict(tau=1.5, delta=0.5),
      dict(tau="real_nonneg", delta="distance")),
    S("th.vershynin_threshold", th.vershynin_threshold, lambda p: dict(delta=0.5, eps=0.1),
      dict(delta="distance", eps="prob")),
    S("th.vershynin_limit_slope", th.vershynin_limit_slope, lambda p: dict(eps=0.1), dict(eps="prob")),
    S("th.vershynin_layer_width", th.vershynin_layer_width,
      lambda p: dict(X=p.X, tau=0.0, eps=0.5, slack=2.0, seed=0, k_max=1 << 12, chunk=1 << 8),
      dict(tau="real_nonneg", eps="prob", slack="real_pos", k_max="int_pos", chunk="size")),
    # ------------------------------------------------------------------ Part III: sizes
    *[S(f"th.{f.__name__}", f, lambda p: dict(n=p.n, eta=0.01), dict(n="count", eta="prob"))
      for f in (th.compression_bits, th.block_count)],
    *[S(f"th.{f.__name__}", f, lambda p: dict(n=p.n), dict(n="count"))
      for f in (th.group_bits, th.max_group_size)],
    S("th.group_size_failure_bound", th.group_size_failure_bound, lambda p: dict(n=p.n), dict(n="count_capped")),
    S("th.stage_formula", th.stage_formula, lambda p: dict(info=p.net.info), dict(info="info")),
    S("th.block_bits", th.block_bits, lambda p: dict(L=3), dict(L="count")),
    S("th.expected_info", th.expected_info,
      lambda p: dict(n=p.n, delta=0.5, d=p.d, eta=0.01, k1=None, group_size=None, parity="tree"),
      dict(n="count", delta="distance", d="count_d2", eta="prob", k1="count_capped_or_none",
           group_size="count_or_none", parity="choice")),
    S("th.build_bytes", th.build_bytes, lambda p: dict(info=th.expected_info(p.n, 0.5, p.d)), dict(info="info")),
    S("th.check_buildable", th.check_buildable,
      lambda p: dict(n=p.n, delta=0.5, d=p.d, eta=0.01, k1=None, parity="flat", limit=None),
      dict(n="count_capped", delta="distance", d="count_capped", eta="prob", k1="count_capped_or_none",
           parity="choice", limit="count_or_none")),
    S("th.memory_limit_bytes", th.memory_limit_bytes, lambda p: dict()),
    S("th.formula_info", th.formula_info,
      lambda p: dict(n=p.n, delta=0.5, d=p.d, eta=0.01, seed=0, group_size=None, k1=None),
      dict(n="count_capped", delta="distance", d="count_d2", eta="prob", group_size="count_or_none",
           k1="size_or_none")),
    # ------------------------------------------------------------------ Part III: gadgets
    S("th.sparse_layer", th.sparse_layer,
      lambda p: dict(index=[[0, 1]], weight=[[1, 1]], bias=[-1], stage="hashing"),
      dict(index="int_matrix", weight="int_matrix_signed", bias="int_vector_signed", stage="str"),
      dict(index=[("rows", "bias")], weight=[("rows", "bias")], bias=[("len", "index")])),
    S("th.parity_layers", th.parity_layers, lambda p: dict(subsets=[[1, 1, 0], [0, 1, 1]], stage="hashing"),
      dict(subsets="binary", stage="choice")),
    S("th.parity_tree_cost", th.parity_tree_cost, lambda p: dict(sizes=[2, 3]), dict(sizes="count_array")),
    S("th.flat_parity_layers", th.flat_parity_layers,
      lambda p: dict(subsets=[[1, 1, 0], [0, 1, 1]], stage="hashing"), dict(subsets="binary", stage="choice")),
    S("th.flat_parity_cost", th.flat_parity_cost, lambda p: dict(sizes=[2, 3]), dict(sizes="count_array")),
    S("th.nonzero_f2_matrix", th.nonzero_f2_matrix, lambda p: dict(rng=seeding.make_rng(0), rows=3, cols=4),
      dict(rng="rng", rows="size0", cols="size")),
    S("th.f2_product", th.f2_product, lambda p: dict(R=[[1, 0, 1]], H=[[1], [1], [0]]),
      dict(R="binary_any", H="int_matrix01"), dict(R=[("cols", "H")], H=[("rows", "R")])),
    S("th.bits_of", th.bits_of, lambda p: dict(values=[1, 2, 3], nbits=2),
      dict(values="int_vector", nbits="bits")),
    S("th.bits_value", th.bits_value, lambda p: dict(H=[[1, 0], [0, 1]]), dict(H="binary_any")),
    S("th.equality_layer", th.equality_layer, lambda p: dict(inputs=[0, 1, 2, 3], n_blocks=2, nbits=2, n_values=4),
      dict(inputs="int_vector", n_blocks="size", nbits="bits", n_values="size")),
    # ------------------------------------------------------------------ Part III: network and construction
    S("th.point_chunks", th.point_chunks, lambda p: dict(n_points=10, width=4),
      dict(n_points="int_nonneg", width="int_nonneg")),
    S("th.run_layers", th.run_layers,
      lambda p: dict(layers=p.stage2[0], H=p.stage1[1], xp=np), dict(layers="layers", H="int_matrix01", xp="module")),
    S("th.ThresholdNetwork.predict", lambda self, X: self.predict(X), lambda p: dict(self=p.net, X=p.X),
      dict(self="any", X="matrix_rows_ok"), covers=()),
    S("th.ThresholdNetwork.hidden", lambda self, X, upto: self.hidden(X, upto),
      lambda p: dict(self=p.net, X=p.X, upto=1), dict(self="any", X="matrix_rows_ok", upto="int_nonneg"),
      covers=()),
    S("th.ThresholdNetwork.with_labels", lambda self, y: self.with_labels(y),
      lambda p: dict(self=p.net, y=1 - p.ys), dict(self="any", y="labels01"), covers=()),
    S("th.ThresholdNetwork.to", lambda self, xp: self.to(xp), lambda p: dict(self=p.net, xp=np),
      dict(self="any", xp="module"), covers=()),
    S("th.check_setting", th.check_setting, lambda p: dict(X=p.X, delta=None, verify_delta=True),
      dict(X="points", delta="distance_or_none", verify_delta="flag")),
    S("th.gaussian_stage", th.gaussian_stage,
      lambda p: dict(X=p.X, delta=th.check_setting(p.X)[1], seed=0, eta=0.01, first_layer="union_bound",
                     max_attempts=3),
      dict(X="points", delta="distance", eta="prob", first_layer="choice")),
    S("th.compression_stage", th.compression_stage, lambda p: dict(codes=p.stage1[1], seed=0, eta=0.01,
                                                                  max_attempts=3, parity="flat"),
      dict(codes="codes", eta="prob", parity="choice")),
    S("th.hashing_stage", th.hashing_stage,
      lambda p: dict(z=p.stage2[2], z_pos=p.stage2[1], seed=0, eta=0.01, max_attempts=3, parity="flat"),
      dict(z="codes", z_pos="int_vector", eta="prob", parity="choice"),
      dict(z=[("rows", "z_pos")], z_pos=[("len", "z")])),
    S("th.lifting_stage", th.lifting_stage,
      lambda p: dict(h_pos=p.stage3[1], b0=p.hinfo["b0"], B=p.hinfo["B"], b=p.hinfo["b"]),
      dict(h_pos="int_vector", b0="bits0", B="size", b="bits")),
    S("th.memorization_stage", th.memorization_stage,
      lambda p: dict(group=p.stage3[2][0], hv=p.stage3[2][1], private=p.stage3[2][2], y=p.ys, b0=p.hinfo["b0"],
                     B=p.hinfo["B"], b=p.hinfo["b"], L=p.hinfo["max_group"], unmatched=0),
      dict(group="int_vector", hv="int_matrix", private="binary", y="labels01", b0="bits0", B="size",
           b="bits", L="size", unmatched="zero_one"),
      dict(group=[("len", "y")], y=[("len", "group")])),
    S("th.build_memorizer", th.build_memorizer,
      lambda p: dict(X=p.X, y=p.ys, seed=0, delta=None, eta=0.01, max_attempts=3, first_layer="union_bound",
                     unmatched=0, parity="tree", verify_delta=True),
      dict(X="points", y="labels01", delta="distance_or_none", eta="prob", first_layer="choice",
           unmatched="zero_one", parity="choice", verify_delta="flag"), dict(X=[("rows", "y")], y=[("len", "X")]),
      moves_data=True),
    S("th.build_baum", th.build_baum, lambda p: dict(X=p.X, y=p.ys, seed=0), dict(y="labels01"),
      dict(X=[("rows", "y")], y=[("len", "X")]), moves_data=True),
    S("th.baum_neurons", th.baum_neurons, lambda p: dict(n=p.n, d=p.d), dict(n="count", d="count")),
    S("th.counting_lower_bound", th.counting_lower_bound, lambda p: dict(n=p.n, d=p.d),
      dict(n="count_capped", d="count_capped")),
    S("th.build_huang", th.build_huang, lambda p: dict(X=p.X, y=p.ys, seed=0, max_attempts=3), dict(y="labels01"),
      dict(X=[("rows", "y")], y=[("len", "X")]), moves_data=True),
    S("th.max_parameters", th.max_parameters, lambda p: dict(N=7, d=p.d), dict(N="count", d="count")),
    S("th.vc_capacity", th.vc_capacity, lambda p: dict(P=40, N=7), dict(P="count_capped", N="count_capped")),
    # ------------------------------------------------------------------ Part III: crossovers and stage laws
    S("th.typical_group_size", th.typical_group_size, lambda p: dict(n=1000), dict(n="count_capped")),
    *[S(f"th.{f.__name__}", f,
        lambda p: dict(n=1000, delta=0.5, d=16, eta=0.01, group="typical", first_layer="union_bound", seed=0),
        dict(n="count_capped", delta="distance", d="count_d2", eta="prob", group="choice", first_layer="choice"))
      for f in (th.deep_sizes, th.deep_neurons)],
    S("th.group_bits_table", th.group_bits_table,
      lambda p: dict(n=1000, delta=0.5, d=16, eta=0.01, extra=2),
      dict(n="count_capped", delta="distance", d="count_d2", eta="prob", extra="bits0")),
    S("th.best_groups_sign_changes", th.best_groups_sign_changes,
      lambda p: dict(d=16, delta=0.5, eta=0.01, extra=1, n_min=128, n_max=10**4, per_decade=4),
      dict(d="count_d2", delta="distance", eta="prob", extra="bits0", n_min="count_capped",
           n_max="count_capped", per_decade="int_pos")),
    S("th.crossover_n", th.crossover_n,
      lambda p: dict(d=16, delta=0.5, eta=0.01, group="typical", first_layer="union_bound", seed=0, n_min=128,
                     n_max=10**4, per_decade=4),
      dict(d="count_d2", delta="distance", eta="prob", group="choice", first_layer="choice", n_min="count_capped",
           n_max="count_capped", per_decade="int_pos")),
    S("th.sign_changes", th.sign_changes,
      lambda p: dict(d=16, delta=0.5, eta=0.01, group="typical", first_layer="union_bound", seed=0, n_min=128,
                     n_max=10**4, per_decade=4),
      dict(d="count_d2", delta="distance", eta="prob", group="choice", first_layer="choice", n_min="count_capped",
           n_max="count_capped", per_decade="int_pos")),
    S("th.crossover_d", th.crossover_d,
      lambda p: dict(n=10**6, delta=0.5, eta=0.01, group="typical", first_layer="union_bound", seed=0),
      dict(n="count_capped", delta="distance", eta="prob", group="choice", first_layer="choice")),
    S("th.stage_table", th.stage_table,
      lambda p: dict(ns=[256, 1024], delta=0.5, d=16, eta=0.01, group="typical", seed=0),
      dict(ns="int_list", delta="distance", d="count_d2", eta="prob", group="choice")),
    S("th.law_slopes", th.law_slopes, lambda p: dict(table=th.stage_table([256, 1024, 4096], 0.5, 16)),
      dict(table="dataframe")),
    # ------------------------------------------------------------------ Part III: the size audit
    S("th.prescription", th.prescription, lambda p: dict(n=p.n, delta=0.5, eta=0.01),
      dict(n="count", delta="distance", eta="prob")),
    S("th.audit", th.audit,
      lambda p: dict(net=p.net, X=p.X, delta=p.net.info["delta"], eta=0.01, first_layer="union_bound", seed=0,
                     parity="tree"),
      dict(net="threshold_net", X=MATRIX, delta="distance_or_none", eta="prob", first_layer="choice", seed="seed_or_none",
           parity="choice")),
    S("th.inflated", lambda stage: _enter(th.inflated(stage)), lambda p: dict(stage="lifting"),
      dict(stage="choice"), covers=(th.inflated,)),
    # ------------------------------------------------------------------ Part III: sweep tasks
    S("tsw.audit_task", tsw.audit_task,
      lambda p: dict(n=24, d=6, delta=0.4, data_seed=0, seed=0, eta=0.01, inflate="none",
                     first_layer="union_bound", labelings=2),
      dict(n="size", d="size_d2", delta="distance", inflate="choice", first_layer="choice", labelings="int_pos")),
    S("tsw.crossover_task", tsw.crossover_task,
      lambda p: dict(d=16, delta=0.5, eta=0.01, group="typical", first_layer="union_bound", seed=0, per_decade=4),
      dict(d="count_d2", delta="distance", eta="prob", group="choice", first_layer="choice",
           per_decade="int_pos")),
    S("tsw.map_data", tsw.map_data, lambda p: dict(kind="random", n=16, d=4, data_seed=0),
      dict(kind="choice", n="size_2", d="size_d2")),
    S("tsw.map_task", tsw.map_task, lambda p: dict(kind="random", n=16, d=4, data_seed=0, seed=0),
      dict(kind="choice", n="size_2", d="size_d2")),
    S("tsw.past_crossover_task", tsw.past_crossover_task,
      lambda p: dict(n=16, seed=0, eta=0.01, d=4, norm=2, probes=10, max_gib=100.0),
      dict(n="size", d="size", norm="int_pos", probes="int_pos", max_gib="real_pos")),
    S("tsw.peak_memory_gib", tsw.peak_memory_gib, lambda p: dict(), same="none"),
    S("tsw.reset_peak_memory", tsw.reset_peak_memory, lambda p: dict()),
]

# ------------------------------------------------------------------ the checks themselves
_CHECK_SPECS = [
    S("V.as_float_array", V.as_float_array, lambda p: dict(x=p.X, name="X", ndim=2, finite=True, nonempty=True,
                                                           empty_rows=False),
      dict(x=MATRIX, name="any", ndim="any", finite="any", nonempty="any", empty_rows="any"), names={"x": "X"}),
    S("V.as_host_real", V.as_host_real, lambda p: dict(value=0.5, name="v", scalar_only=True),
      dict(value="scalar_real", name="any", scalar_only="any"), names={"value": "v"}),
    S("V.as_binary_matrix", V.as_binary_matrix, lambda p: dict(x=[[0, 1]], name="B", ndim=2, nonempty=True),
      dict(x="binary", name="any", ndim="any", nonempty="any"), names={"x": "B"}),
    S("V.check_int", V.check_int, lambda p: dict(value=3, name="k", minimum=1, maximum=None),
      dict(value="int_pos", name="any", minimum="any", maximum="any"), names={"value": "k"}),
    S("V.check_seed", V.check_seed, lambda p: dict(seed=3, name="seed"), dict(name="any")),
    S("V.check_int_sequence", V.check_int_sequence,
      lambda p: dict(values=[1, 2], name="ks", minimum=1, nonempty=True, maximum=None),
      dict(values="int_list", name="any", minimum="any", nonempty="any", maximum="any"), names={"values": "ks"}),
    S("V.int_array", V.int_array, lambda p: dict(x=[1, 2], name="ks", minimum=0, maximum=None, ndim=None),
      dict(x="count0_array", name="any", minimum="any", maximum="any", ndim="any"), names={"x": "ks"}),
    S("V.check_alloc", lambda sizes: V.check_alloc(**sizes), lambda p: dict(sizes={"m": 4, "d": 3}),
      dict(sizes="alloc_sizes"), names={"sizes": "m"}, covers=(V.check_alloc,)),
    S("V.check_real", V.check_real,
      lambda p: dict(value=0.5, name="r", positive=True, nonnegative=False, maximum=None, allow_inf=False),
      dict(value="real_pos", name="any", positive="any", nonnegative="any", maximum="any", allow_inf="any"),
      names={"value": "r"}),
    S("V.check_open_unit", V.check_open_unit, lambda p: dict(value=0.5, name="eta"),
      dict(value="prob", name="any"), names={"value": "eta"}),
    S("V.check_sphere_distance", V.check_sphere_distance, lambda p: dict(delta=0.5, name="delta"),
      dict(delta="distance", name="any")),
    S("V.real_array", V.real_array, lambda p: dict(x=[0.5, 1.0], name="r", low=0.0, high=2.0, low_open=True),
      dict(x="distance_array", name="any", low="any", high="any", low_open="any"), names={"x": "r"}),
    S("V.check_bool", V.check_bool, lambda p: dict(value=True, name="flag"), dict(value="flag", name="any"),
      names={"value": "flag"}),
    S("V.check_choice", V.check_choice, lambda p: dict(value="a", name="kind", choices=("a", "b")),
      dict(value="choice", name="any", choices="any"), names={"value": "kind"}),
    S("V.check_mapping", V.check_mapping, lambda p: dict(value={"a": 1}, name="opts", what="a dict"),
      dict(value="mapping", name="any", what="any"), names={"value": "opts"}),
    S("V.check_monitors", V.check_monitors, lambda p: dict(monitors={"n": len}), dict(monitors="monitors_static")),
    S("V.check_rates", V.check_rates, lambda p: dict(rates={"W": 0.1}, params={"W": p.W, "a": p.a}),
      dict(rates="rates", params="any")),
    S("V.check_callable", V.check_callable, lambda p: dict(value=len, name="fn"),
      dict(value="callable", name="any"), names={"value": "fn"}),
    S("V.check_same_backend", lambda arrays: V.check_same_backend(**arrays), lambda p: dict(arrays={"A": p.X, "B": p.y}),
      dict(arrays="backend_pair"), names={"arrays": "backend"}, covers=(V.check_same_backend,)),
    S("V.check_rows", V.check_rows, lambda p: dict(name_a="X", a=p.X, name_b="y", b=p.y),
      dict(name_a="any", name_b="any", a="rows_of", b="rows_of"), names={"a": "X", "b": "y"}),
    S("V.check_network", V.check_network, lambda p: dict(W=p.W, a=p.a, X=p.X), {}, NETWORK),
    S("V.check_labels", V.check_labels, lambda p: dict(y=p.y, X=p.X), dict(X="rows_of"), XY),
    S("V.check_binary_labels", V.check_binary_labels, lambda p: dict(y=p.ys, n=p.n, name="y"),
      dict(y="labels01", n="any", name="any")),
    S("V.check_unit_rows", V.check_unit_rows, lambda p: dict(X=p.X, name="X", tol=1e-6),
      dict(X="unit_rows", name="any", tol="any")),
    S("V.check_nonzero_norm", V.check_nonzero_norm, lambda p: dict(x=p.y, name="y"),
      dict(x="nonzero_vector", name="any"), names={"x": "y"}),
    S("V.check_finite_result", V.check_finite_result, lambda p: dict(value=p.y, what="the output", hint="h"),
      dict(value="finite_result", what="any", hint="any"), names={"value": "the output"}),
    S("V.input_scale", V.input_scale, lambda p: dict(X=p.X), dict(X="any")),
    S("V.check_optional_real", V.check_optional_real, lambda p: dict(value=0.5, name="number"),
      dict(value="real_or_nan", name="any"), names={"value": "number"}),
    S("V.check_str", V.check_str, lambda p: dict(value="a", name="s", nonempty=True), dict(value="label", name="any",
                                                                                         nonempty="any"),
      names={"value": "s"}),
    S("V.check_names", V.check_names, lambda p: dict(values=("a", "b"), name="keys", nonempty=True, distinct=True),
      dict(values="names_tuple", name="any", nonempty="any", distinct="any"), names={"values": "keys"}),
    S("V.check_path", V.check_path, lambda p: dict(value="/tmp", name="root", optional=True),
      dict(value="path_or_none", name="any", optional="any"), names={"value": "root"}),
    S("V.check_dataframe", V.check_dataframe, lambda p: dict(value=toy_stored(), name="table", nonempty=True),
      dict(value="stored_table", name="any", nonempty="any"), names={"value": "table"}),
    S("V.check_executor", V.check_executor, lambda p: dict(executor=None, name="executor"),
      dict(executor="executor", name="any")),
    S("V.check_progress", V.check_progress, lambda p: dict(progress=None, name="progress"), dict(name="any")),
    S("V.check_exception_types", V.check_exception_types, lambda p: dict(value=(ValueError,), name="catch"),
      dict(value="catch", name="any"), names={"value": "catch"}),
    S("V.not_representable", V.not_representable, lambda p: dict(what="H", cause="c", X=p.X, hint="h"),
      dict(what="any", cause="any", X="any", hint="any")),
]
SPECS += _CHECK_SPECS


# ------------------------------------------------------------------ bounds: every function, every argument
_BOUND_KINDS = {"delta": "prob", "R": "real_nonneg", "err_norm": "real_nonneg", "err0": "real_nonneg",
                "bias": "flag", "iters": "int_pos", "level": "prob"}
_BOUND_VALUES = {"m": 100.0, "n": 10.0, "delta": 0.1, "B": 2.0, "R": 0.05, "lam": 0.5, "gram_norm": 3.0,
                 "B1": 2.5, "err_norm": 1.0, "err0": 1.0, "eta": 0.01, "bias": True, "iters": 100,
                 "level": 0.75}

#: Bounds defined by a fixed-point iteration: scalars only.
SCALAR_ONLY_BOUNDS = (bounds.theorem_width,)


def _bound_spec(fn):
    params = list(inspect.signature(fn).parameters)
    kinds = {q: _BOUND_KINDS.get(q, "real_pos") for q in params}
    if fn is bounds.gram_perturbation:  # R <= R_MAX there
        kinds["R"] = "radius"
    if fn in SCALAR_ONLY_BOUNDS:
        kinds = {q: ("scalar_" + k if k in ("real_pos", "real_nonneg", "prob") else k) for q, k in kinds.items()}
    return Spec(f"bounds.{fn.__name__}", fn, lambda p, params=params: {q: _BOUND_VALUES[q] for q in params},
                kinds, {})


BOUND_FUNCTIONS = [getattr(bounds, f) for f in bounds.__all__ if callable(getattr(bounds, f))]
SPECS += [_bound_spec(f) for f in BOUND_FUNCTIONS]
SPEC_IDS = [s.name for s in SPECS]
assert len(set(SPEC_IDS)) == len(SPEC_IDS), "two table entries share a name"


def kinds_of(spec, call):
    """The kind of every argument of a valid ``call`` of ``spec`` (the spec's, else by name)."""
    out = {}
    for arg in call:
        kind = spec.kinds.get(arg, KIND_BY_NAME.get(arg))
        if kind is None:
            raise AssertionError(f"{spec.name}: no kind for argument {arg!r}; add it to the Spec")
        out[arg] = kind
    return out


# =========================================================================== coverage
#: Public callables that are not functions of user data, each with the reason it has no entry.
EXEMPT = {
    "expreg_nb.training.Model": "a record of the model's functions; train and linearize check that they get one "
                                "and check what its functions return",
    "expreg_nb.training.History": "the record of a run, built by gradient_descent",
    "expreg_nb.training.TrainResult": "the result of train, built by it",
    "expreg_nb.exponential.experiments.StepSplit": "a result record of one_step_remainder",
    "expreg_nb.exponential.experiments.WidthSearch": "a result record of smallest_width",
    "expreg_nb.exponential.experiments.MovementSweep": "a result record of movement_sweep",
    "expreg_nb.exponential.experiments.LazyRun": "a result record of lazy_runs; the functions that read it "
                                                 "(relative_gap, progress_step, ...) check that they get one",
    "expreg_nb.exponential.widthlaw.Run": "the trajectory record that width_search_task builds and extends",
    "expreg_nb.exponential.widthlaw.Verdict": "a result record of Run.verdict (reason, step, err)",
    "expreg_nb.threshold.network.DenseLayer": "a frozen layer record built by build_memorizer and build_baum "
                                             "(which check their inputs); the network's methods are in the table",
    "expreg_nb.threshold.network.SparseLayer": "a frozen layer record; built from user input by sparse_layer, "
                                              "which is in the table",
    "expreg_nb.threshold.network.ThresholdNetwork": "the network record built by build_memorizer and build_baum; "
                                                   "its public methods (predict, hidden, with_labels, to) are in "
                                                   "the table",
    "expreg_nb.stats.BootstrapInterval": "a result record (a NamedTuple: estimate, low, high) of "
                                         "bootstrap_interval and loglog_slope_interval, which check their inputs",
    "expreg_nb.robustness.RobustnessTable": "the result record of check and evaluate (which check their inputs "
                                            "and build it); its methods read its own frame",
    "expreg_nb.threshold.size_audit.Audit": "the result record of audit, built by it",
    "expreg_nb.stability.Attempt": "a result record of judge (one run at one scale), built by it",
    "expreg_nb.stability.LinearRun": "a result record of linear_run, built by it",
    "expreg_nb.stability.Search": "a result record of largest_stable, built by it",
    "expreg_nb.testing.strict": "the test-only CuPy stand-in: its functions mirror NumPy's (asarray, array, "
                                "asnumpy, get_array_module, ndarray) and are tested by test_strict_backend.py",
}


def public_callables():
    """``{qualified name: object}`` of every callable in the ``__all__`` of every module of expreg_nb.

    Exception classes are left out (they are raised, not called with user data); an object
    re-exported by several modules appears once, under the module that defines it.
    """
    out = {}
    for info in pkgutil.walk_packages(expreg_nb.__path__, "expreg_nb."):
        mod = importlib.import_module(info.name)
        if not hasattr(mod, "__all__"):
            raise AssertionError(f"{info.name} has no __all__")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not callable(obj) or isinstance(obj, type) and issubclass(obj, BaseException):
                continue
            home = getattr(obj, "__module__", info.name)
            out.setdefault(id(obj), (f"{home}.{getattr(obj, '__qualname__', name)}", home, obj))
    return {qual: (home, obj) for qual, home, obj in out.values()}


def uncovered():
    """Public callables with neither a table entry nor an :data:`EXEMPT` reason."""
    covered = {id(o) for s in SPECS for o in (s.covers or (s.fn,))}
    missing = []
    for qual, (home, obj) in public_callables().items():
        if id(obj) in covered or qual in EXEMPT or home in EXEMPT:
            continue
        missing.append(qual)
    return sorted(missing)


# =========================================================================== corruptions
@dataclass
class Corruption:
    label: str
    value: object
    expect: str = "error"      # "error", "same" (equal to the call with ``ref``), "ok" (a finite result)
    ref: object = None


def _set_first(arr, v):
    arr = np.array(arr, dtype=float, copy=True)
    if arr.size:
        arr.flat[0] = v
    return arr


def _set_row(arr, v):
    arr = np.array(arr, dtype=float, copy=True)
    arr[0] = v
    return arr


_E = Corruption


def _array_corruptions(arr, partners, other_backend, *, rows_ok=False):
    out = [_E("nan", _set_first(arr, math.nan)), _E("inf", _set_first(arr, math.inf)),
           _E("-inf", _set_first(arr, -math.inf)), _E("complex", arr.astype(complex) + 1j),
           _E("bool", arr > 0), _E("str", "abc"), _E("None", None),
           _E("object", np.array([{"k": 1}] * max(arr.size, 1), dtype=object)),
           _E("ragged", [[1.0, 2.0], [3.0]]), _E("dict", {"x": 1}), _E("0-d", np.float64(1.0)),
           _E("ndim+1", arr[..., None]),
           _E("float32", arr.astype(np.float32), "same", arr.astype(np.float32).astype(np.float64)),
           _E("list", arr.tolist(), "same", arr)]
    if arr.ndim == 2:
        out += [_E("ndim-1", arr[0]), _E("no columns", arr[:, :0]), _E("strings", arr.astype(str))]
        out.append(_E("no rows", arr[:0], "ok") if rows_ok else _E("empty", arr[:0]))
    else:
        out += [_E("ndim+1b", arr[None, :]), _E("empty", arr[:0])]
    if other_backend:
        from expreg_nb.testing import strict  # a device array where the others are on the host

        out.append(_E("on another backend", strict.asarray(arr)))
    for how, other in partners:
        if how == "cols":
            out.append(_E(f"cols != {other}", np.concatenate([arr, arr[:, :1]], axis=1)))
        elif how in ("rows", "len"):
            out.append(_E(f"len != {other}", np.concatenate([arr, arr[:1]], axis=0)))
    return out


_INT_BAD = [("float", 2.5), ("integral float", 2.0), ("np.float64", np.float64(3.0)), ("bool", True),
            ("np.bool_", np.bool_(True)), ("str", "3"), ("array", np.array([2])), ("complex", 2 + 0j)]
_REAL_BAD = [("nan", math.nan), ("bool", True), ("np.bool_", np.bool_(True)), ("str", "1"), ("complex", 1 + 1j),
             ("bool array", np.array([True, False])), ("complex array", np.array([1 + 1j])), ("object", object())]


def corruptions(kind, value, partners=(), *, other_backend=False):
    """Every way of getting an argument of ``kind`` (valid value ``value``) wrong: a list of :class:`Corruption`."""
    out = []
    if kind == "any":
        return out
    if kind in ("matrix_nonzero_rows", "sym_matrix", "points", "unit_rows", "nonzero_vector"):
        arr = np.asarray(value, dtype=float)
        if kind == "matrix_nonzero_rows":
            extra = [_E("zero row", _set_row(arr, 0.0))]
        elif kind == "sym_matrix":
            extra = [_E("not symmetric", arr + np.triu(np.ones_like(arr), 1))] if len(arr) > 1 else []
        elif kind == "points":
            extra = [_E("off the sphere", 2.0 * arr), _E("one column", arr[:, :1])]
            if len(arr) > 1:
                extra.append(_E("duplicate rows", np.concatenate([arr[:1], arr[:-1]])))
        elif kind == "unit_rows":
            extra = [_E("off the sphere", 2.0 * arr)]
        else:
            extra = [_E("zeros", 0.0 * arr)]
        out += extra
        out += _array_corruptions(arr, partners, other_backend, rows_ok=kind == "unit_rows")
        if kind == "points":  # float32 rows are off the sphere by 1e-8: fine at SPHERE_TOL
            pass
        return out
    if kind == "matrix_or_none":
        return [c for c in corruptions(MATRIX, value, partners, other_backend=other_backend) if c.label != "None"]
    if kind in (MATRIX, VECTOR, "pos_vector", "matrix_rows_ok"):
        arr = np.asarray(value, dtype=float)
        out += _array_corruptions(arr, partners, other_backend, rows_ok=kind == "matrix_rows_ok")
        if kind == "pos_vector":
            out.append(_E("nonpositive", _set_first(arr, -1.0)))
        return out
    if kind == "correlation":
        arr = np.asarray(value, dtype=float)
        return [_E("nan", _set_first(arr, math.nan)), _E("above 1", _set_first(arr, 2.0)),
                _E("complex", arr.astype(complex)), _E("bool", arr > 0), _E("str", "abc"), _E("None", None),
                _E("float32", arr.astype(np.float32), "same", arr.astype(np.float32).astype(np.float64)),
                _E("empty", arr[:0], "ok")]
    if kind in ("binary", "binary_any", "codes", "int_matrix01"):
        arr = np.asarray(value)
        ai = arr.astype(np.int64)
        out = [_E("floats", arr.astype(float)), _E("value 2", np.where(np.arange(ai.size).reshape(ai.shape) == 0, 2, ai)),
               _E("negative", -np.ones(arr.shape, np.int64)), _E("complex", arr.astype(complex)), _E("str", "01"),
               _E("None", None), _E("ndim-1", arr[0]), _E("ndim+1", arr[..., None]),
               _E("object", np.array([{"k": 1}] * 2, dtype=object)), _E("ragged", [[0, 1], [1]]),
               _E("list", arr.tolist(), "same", arr), _E("bool", arr.astype(bool), "same", arr)]
        if kind == "binary_any":
            out.append(_E("empty", arr[:0], "ok"))
        elif kind == "int_matrix01":  # columns are points: none is an empty result
            out += [_E("empty", arr[:0]), _E("no columns", arr[:, :0], "ok")]
        else:
            out += [_E("empty", arr[:0]), _E("no columns", arr[:, :0])]
        if kind == "codes":
            out.append(_E("equal columns", np.concatenate([arr[:, :1], arr[:, :-1]], axis=1)))
        for how, other in partners:
            if how in ("rows", "len"):
                out.append(_E(f"len != {other}", np.concatenate([arr, arr[:1]], axis=0)))
            elif how == "cols":
                out.append(_E(f"cols != {other}", np.concatenate([arr, arr[:, :1]], axis=1)))
        return out
    if kind in ("int_vector", "int_matrix", "int_matrix_signed", "int_vector_signed", "count_array",
                "count0_array", "count2_array"):
        arr = np.asarray(value)
        out = [_E("floats", arr.astype(float) + 0.5), _E("integral floats", arr.astype(float)),
               _E("bool", arr > 0), _E("complex", arr.astype(complex)), _E("str", "12"), _E("None", None),
               _E("object", np.array([{"k": 1}], dtype=object)), _E("ragged", [[0, 1], [1]]),
               _E("list", arr.tolist(), "same", arr), _E("np.int32", arr.astype(np.int32), "same", arr)]
        if kind in ("int_vector", "int_matrix", "count_array", "count0_array", "count2_array"):
            out.append(_E("negative", -np.ones_like(arr) * (1 + int(arr.max(initial=0)))))
        if kind in ("int_vector", "int_vector_signed"):
            out += [_E("ndim+1", arr[None, :] if arr.ndim == 1 else arr[..., None])]
        if kind in ("int_matrix", "int_matrix_signed"):
            out += [_E("ndim-1", arr[0])]
        if kind == "count_array":
            out.append(_E("zero", np.zeros_like(arr)))
        if kind == "count2_array":
            out.append(_E("one", np.ones_like(arr)))
        for how, other in partners:
            if how in ("rows", "len"):
                out.append(_E(f"len != {other}", np.concatenate([arr, arr[:1]], axis=0)))
        return out
    if kind == "labels01":
        arr = np.asarray(value)
        return [_E("value 2", np.where(np.arange(arr.size) == 0, 2, arr)), _E("value 0.5", arr * 0.5),
                _E("nan", _set_first(arr, math.nan)), _E("str", "ab"), _E("None", None),
                _E("ndim+1", arr[None, :]), _E("len+1", np.concatenate([arr, arr[:1]])), _E("empty", arr[:0]),
                _E("complex", arr.astype(complex)), _E("bool", arr.astype(bool), "same", arr),
                _E("list", arr.tolist(), "same", arr)]
    if kind == "stream":  # a str or a non-negative int
        return [_E("float", 1.5), _E("integral float", 1.0), _E("bool", True), _E("None", None),
                _E("negative", -1), _E("bytes", b"s"), _E("np.int64", np.int64(1), "same", 1)]
    if kind in ("int_pos", "int_nonneg", "seed", "chunk", "size", "size0", "size_2", "size_d2", "count",
                "count_capped", "even", "bits", "bits0", "zero_one", "size_or_none", "count_d2", "count_or_none",
                "count_capped_or_none", "seed_or_none"):
        out = [_E(lbl, v) for lbl, v in _INT_BAD]
        if isinstance(value, (int, np.integer)):
            out.append(_E("np.int64", np.int64(value), "same", value))
        if kind not in ("chunk", "size_or_none", "count_or_none", "count_capped_or_none", "seed_or_none"):
            out.append(_E("None", None))  # None is the default of the others
        if kind not in ("int_nonneg", "seed", "size0", "bits0", "zero_one", "seed_or_none"):
            out.append(_E("zero", 0))
        out.append(_E("negative", -1))
        if kind in ("size", "size0", "size_2", "size_d2", "size_or_none"):
            out.append(_E("huge", 10**13))            # more memory than any machine: a clear error
        if kind in ("count", "count_d2", "count_or_none"):
            out.append(_E("huge", 10**400, "ok"))     # a formula: a finite answer, never an overflow
        if kind in ("count_capped", "count_capped_or_none"):
            out.append(_E("beyond float", 10**400))
        if kind in ("size_2", "even"):
            out.append(_E("one", 1))
        if kind in ("size_d2", "count_d2"):
            out.append(_E("one", 1))
        if kind == "even":
            out.append(_E("odd", 7))
        if kind in ("bits", "bits0"):
            out.append(_E("above 62", 63))
        if kind == "zero_one":
            out.append(_E("two", 2))
        return out
    if kind in ("real_pos", "real_nonneg", "ratio", "prob", "radius", "tol", "z", "distance", "distance_or_none",
                "real_nonneg_or_none", "scalar_real_pos", "scalar_real_nonneg", "scalar_prob", "scalar_real_pos0"):
        out = [_E(lbl, v) for lbl, v in _REAL_BAD]
        out.append(_E("negative", -1.0))
        if isinstance(value, float):
            out.append(_E("float32", np.float32(value), "same", float(np.float32(value))))
            out.append(_E("np.float64", np.float64(value), "same", value))
        if kind != "ratio":
            out.append(_E("inf", math.inf))
        if kind in ("real_pos", "prob", "scalar_real_pos", "scalar_prob", "tol", "z", "distance",
                    "distance_or_none"):
            out.append(_E("zero", 0.0))
        if kind in ("prob", "scalar_prob"):
            out += [_E("one", 1.0), _E("above one", 1.5)]
        if kind in ("distance", "distance_or_none"):
            out.append(_E("above 2", 2.5))
        if kind == "radius":
            out.append(_E("above R_MAX", 2 * bounds.R_MAX))
        if kind == "z":
            out.append(_E("absurd", 1e200))
        if kind.startswith("scalar_"):
            out.append(_E("array", np.array([0.5, 0.6])))
        if kind in ("real_pos", "real_nonneg", "prob", "distance", "z"):
            out.append(_E("None", None))
        return out
    if kind == "scalar_real":  # any sign
        return [_E(lbl, v) for lbl, v in _REAL_BAD] + [_E("inf", math.inf), _E("array", np.array([0.5, 0.6])),
                                                        _E("negative", -1.0, "ok"), _E("None", None)]
    if kind == "distance_array":
        return [_E(lbl, v) for lbl, v in _REAL_BAD if lbl != "bool array"] + [
            _E("negative", -1.0), _E("inf", math.inf), _E("above 2", 2.5), _E("None", None),
            _E("array", np.array([0.5, 1.0]), "ok"), _E("ragged", [[0.5], [0.5, 1.0]])]
    if kind == "progress":  # True, False or None
        return [_E("str 'no'", "no"), _E("int 0", 0), _E("int 1", 1), _E("array", np.array([True]))]
    if kind == "flag":
        return [_E("str 'no'", "no"), _E("None", None), _E("int 0", 0), _E("int 1", 1), _E("str 'True'", "True"),
                _E("array", np.array([True])), _E("float", 1.0), _E("np.bool_", np.bool_(value), "same", value)]
    if kind == "flag_list":
        return [_E("str", "True"), _E("None", None), _E("int entry", [1]), _E("empty", [])]
    if kind in ("xp", "module"):
        out = [_E("str", "numpy"), _E("int", 1), _E("module", math)]
        if kind == "module":
            out.append(_E("None", None))
        return out
    if kind == "choice":
        return [_E("unknown", "zzz-unknown"), _E("None", None), _E("int", 1), _E("list", [value])]
    if kind == "dtype":
        return [_E("float16", "float16"), _E("int", 3), _E("int64", "int64"), _E("unknown", "fp64")]
    if kind == "shape":
        return [_E("negative", -1), _E("float", 2.5), _E("str", "3"), _E("None", None),
                _E("tuple with float", (2, 1.5)), _E("huge", (10**7, 10**7))]
    if kind in ("int_list", "seed_list", "int_list2"):
        out = [_E("float entry", [2.7]), _E("integral float entry", [2.0]), _E("empty", []), _E("scalar", 3),
               _E("str", "4"), _E("bool entry", [True]), _E("None", None)]
        out.append(_E("negative entry", [-1]) if kind == "seed_list" else _E("zero entry", [0]))
        if kind == "int_list2":
            out.append(_E("one size", [value[0]]))
        return out
    if kind == "window":
        return [_E("scalar", 3), _E("too long", (1e-9, 1e-6, 1e-3)), _E("str entry", (1e-9, "a")),
                _E("reversed", (1e-3, 1e-9)), _E("None", None), _E("negative", (-1.0, 1.0))]
    if kind == "mapping":
        return [_E("list", [np.ones(2)]), _E("None", None), _E("array", np.ones(2))]
    if kind == "callable":
        return [_E("None", None), _E("str", "loss"), _E("int", 3)]
    if kind == "rates":
        keys = value or {"W": 0}
        return [_E("list", [0.1]), _E("None", None), _E("negative", {k: -0.1 for k in keys}),
                _E("str", {k: "0.1" for k in keys}), _E("unknown block", {"zz": 0.1}), _E("float", 0.1),
                _E("nan", {k: math.nan for k in keys})]
    if kind == "monitors_static":  # checked without being called
        return [c for c in corruptions("monitors", value) if c.label != "returns NaN"]
    if kind == "monitors":
        return [_E("non-callable", {"n": 3.0}), _E("str value", {"n": "loss"}), _E("list", [lambda q: 0.0]),
                _E("callable", lambda q: 0.0), _E("str", "n"), _E("pairs", [("n", lambda q: 0.0)]),
                _E("returns NaN", {"n": lambda q: math.nan}), _E("int key", {1: lambda q: 0.0})]
    if kind == "names_map":
        return [_E("list", ["eta"]), _E("str", "eta")]
    if kind == "model":
        return [_E("str", "relu2"), _E("None", None), _E("module", relu2)]
    if kind == "record":
        return [_E("str", "lambda_min"), _E("unknown", ("lambda_mid",)), _E("int", 3), _E("None", None)]
    if kind == "params":
        W, a = value["W"], value["a"]
        return [_E("None", None), _E("list", [W, a]), _E("missing block", {"W": W}),
                _E("extra block", {"W": W, "a": a, "b": a}), _E("W with nan", {"W": _set_first(W, math.nan), "a": a}),
                _E("W 3-d", {"W": W[..., None], "a": a}), _E("a too long", {"W": W, "a": np.r_[a, a[:1]]}),
                _E("W str", {"W": "abc", "a": a}), _E("a complex", {"W": W, "a": a.astype(complex)})]
    if kind in ("dataframe", "sweep_table"):
        import pandas as pd

        out = [_E("None", None), _E("list", [1, 2]), _E("dict", {"a": [1]}), _E("array", np.ones((2, 2)))]
        if kind == "sweep_table":
            out += [_E("empty table", pd.DataFrame()), _E("no error column", value.drop(columns=["error"]))]
        return out
    if kind == "success_table":
        import pandas as pd

        return [_E("None", None), _E("list", [1]), _E("raw table", pd.DataFrame({"x": [1.0]}))]
    if kind == "columns":
        return [_E("str", "ratio"), _E("None", None), _E("int entry", [1]), _E("unknown", ["zzz"]), _E("empty", [])]
    if kind == "column":
        return [_E("unknown", "zzz"), _E("None", None), _E("int", 1)]
    if kind == "column_or_none":
        return [_E("unknown", "zzz"), _E("int", 1), _E("list", [value])]
    if kind in ("mask", "mask_or_none"):   # a boolean array of one entry per row of its partner
        arr = np.asarray(value, dtype=bool)
        out = [_E("str", "abc"), _E("floats", arr.astype(float)), _E("too long", np.r_[arr, arr[:1]]),
               _E("2-d", arr[None, :]), _E("int", 3)]
        if kind == "mask":
            out.append(_E("None", None))
        return out
    if kind == "lazy_run":
        return [_E("None", None), _E("dict", {"e_net": np.ones((2, 2))}), _E("str", "run")]
    if kind in ("width_table", "variant_frame"):
        import pandas as pd

        out = [_E("None", None), _E("list", [1, 2]), _E("dict", {"a": [1]}), _E("array", np.ones((2, 2)))]
        if kind == "width_table":
            out += [_E("no trace or m_star", pd.DataFrame({"n": [4, 8]}))]
        else:
            out += [_E("no baseline column", value.drop(columns=["m_star_baseline"]))]
        return out
    if kind == "real_list":
        return [_E("None", None), _E("str", "ab"), _E("str entry", ("a",)), _E("nan entry", (math.nan,)),
                _E("bool entry", (True,))]
    if kind == "real_pos_or_none":
        return [_E(lbl, v) for lbl, v in _REAL_BAD] + [_E("negative", -1.0), _E("zero", 0.0), _E("inf", math.inf)]
    if kind == "str":
        return [_E("None", None), _E("int", 3), _E("list", ["a"])]
    if kind == "str_tuple":
        return [_E("str", "ab"), _E("None", None), _E("int entries", (1, 2)), _E("empty", ())]
    if kind == "config_error":
        return [_E("ValueError", ValueError), _E("None", None), _E("str", "ConfigError")]
    if kind == "rng":
        return [_E("None", None), _E("int", 0), _E("str", "rng"), _E("legacy RandomState", np.random.RandomState(0))]
    if kind == "slices":
        return [_E("None", None), _E("str", "0:3"), _E("ints", [0, 3]), _E("negative slice", [slice(-1, 2)]),
                _E("reversed slice", [slice(3, 1)])]
    if kind == "buffer":
        return [_E("int", 3), _E("str", "buf"), _E("list", [1.0])]
    if kind == "axes":
        return [_E("empty", {}), _E("scalar axis", {"m": 8}), _E("str axis", {"m": "816"}),
                _E("empty axis", {"m": []}), _E("object value", {"m": [object()]})]
    if kind == "point":
        return [_E("None", None), _E("list", [1]), _E("int key", {1: 2}), _E("object value", {"m": object()}),
                _E("np.int64 value", {"m": np.int64(8), "seed": 1}, "same", {"m": 8, "seed": 1})]
    if kind == "names":
        return [_E("str", "seed"), _E("int", 3)]
    if kind == "point_list":
        return [_E("dict", {"m": 1}), _E("empty", []), _E("int entries", [1]), _E("str", "abc"), _E("None", None)]
    if kind == "executor":
        return [_E("str", "processes"), _E("int", 2)]
    if kind in ("catch", "catch_tuple"):
        return [_E("non-exception", (int,)), _E("str", "DivergenceError")]
    if kind == "task_id":
        return [_E("None", None), _E("int", 3), _E("blank", "  "), _E("padded", " id ")]
    if kind == "task_fn":
        return [_E("unregistered", math.sqrt), _E("None", None)]
    if kind == "known_name":
        return [_E("unknown", "no-such-sweep"), _E("None", None), _E("int", 3), _E("list", ["exp-width"])]
    if kind == "plain_name":
        return [_E("None", None), _E("int", 3), _E("path", "../x"), _E("empty", "")]
    if kind == "scale":
        return [_E("unknown", "huge"), _E("None", None), _E("int", 1)]
    if kind == "path_or_none":
        return [_E("int", 3), _E("list", ["/tmp"])]
    if kind == "grids":
        return [_E("None", None), _E("list", [{"n": 4}]), _E("unknown scale", {"tiny": [{"n": 4}]}),
                _E("empty grid", {"book": []}), _E("dict grid", {"book": {"n": 4}})]
    if kind == "sweep_obj":
        return [_E("None", None), _E("str", "exp-width")]
    if kind == "info":
        info = dict(value)
        return [_E("None", None), _E("list", [1]), _E("missing k1", {k: v for k, v in info.items() if k != "k1"}),
                _E("k1 float", dict(info, k1=2.5)), _E("b negative", dict(info, b=-1)), _E("d zero", dict(info, d=0)),
                _E("rows str", dict(info, hash_rows="abc")), _E("rows short", dict(info, hash_rows=info["hash_rows"][:1]))]
    if kind == "threshold_net":
        return [_E("None", None), _E("str", "net"), _E("int", 3), _E("layer tuple", value.layers)]
    if kind == "layers":
        return [_E("None", None), _E("int entries", [1]), _E("str", "layers")]
    if kind == "alloc_sizes":
        return [_E("huge", {"m": 10**7, "d": 10**7})]
    if kind == "backend_pair":
        from expreg_nb.testing import strict

        return [_E("mixed", {"A": np.ones(2), "B": strict.asarray(np.ones(2))})]
    if kind == "rows_of":
        return [_E("one more row", np.concatenate([value, value[:1]]))]
    # ------------------------------------------------------------------ robustness, recheck, intervals
    if kind in ("label", "label_or_none", "point_key"):   # a non-empty string (a name, a grid key)
        out = [_E("int", 3), _E("list", ["a"]), _E("blank", "  "), _E("bytes", b"ab")]
        if kind != "label_or_none":
            out.append(_E("None", None))
        if kind == "point_key":
            out.append(_E("absent", "zz-absent"))
        return out
    if kind in ("names_tuple", "point_keys", "names_seq"):  # a sequence of names, not one name
        out = [_E("str", "ab"), _E("None", None), _E("int entries", (1, 2)), _E("int", 3),
               _E("list", list(value), "same", value)]
        if kind != "names_seq":
            out += [_E("empty", ()), _E("repeated", (value[0], value[0]))]
        if kind == "point_keys":
            out.append(_E("absent", ("zz-absent",)))
        return out
    if kind == "callable_or_none":
        return [_E("str", "loss"), _E("int", 3)]
    if kind == "flag_or_none":
        return [c for c in corruptions("flag", True) if c.label not in ("None", "np.bool_")]
    if kind == "real_or_nan":  # NaN means "none" (documented), +-inf is a number
        return [_E(lbl, v) for lbl, v in _REAL_BAD if lbl != "nan"] + [
            _E("nan", math.nan, "ok"), _E("None", None),
            _E("np.float64", np.float64(value), "same", value),
            _E("float32", np.float32(value), "same", float(np.float32(value)))]
    if kind == "interval":
        return [_E("None", None), _E("str", "abc"), _E("pair", tuple(value)[:2]), _E("dict", {"low": 0.0}),
                _E("str entry", (value[0], "a", value[2])), _E("bool entry", (value[0], True, value[2])),
                _E("list", list(value), "same", value), _E("tuple", tuple(value), "same", value)]
    if kind == "plain_value":  # a grid value: a number (not NaN), a string, a bool or None
        out = [_E("list", [1]), _E("dict", {"a": 1}), _E("object", object()), _E("array", np.array([1, 2])),
               _E("nan", math.nan), _E("complex", 1 + 2j), _E("bytes", b"ab"), _E("np.str_", np.str_("a"), "same", "a"),
               _E("np.bool_", np.bool_(True), "same", True), _E("0-d array", np.array(value), "same", value)]
        if isinstance(value, int):
            out.append(_E("np.int64", np.int64(value), "same", value))
        return out
    if kind == "compose_list":
        two = RB.Perturbation("other task", "", lambda q: q, task=_other_task)
        return [_E("none", ()), _E("one", tuple(value)[:1]), _E("non-perturbation", (value[0], "budget")),
                _E("two tasks", (two, RB.Perturbation("another task", "", lambda q: q, task=_rb_task)))]
    if kind == "claim":
        return [_E("None", None), _E("str", "claim"), _E("function", _rb_verdict)]
    if kind == "perturbation_list":
        return [_E("None", None), _E("one, not a list", value[0]), _E("empty", []), _E("function", [lambda q: q]),
                _E("str", "budget"), _E("repeated name", [value[0], value[0]]),
                _E("named baseline", [RB.Perturbation(RB.BASELINE, "", lambda q: q[::-1])]),
                _E("no-op", [RB.set_key("steps", RB_POINTS[0]["steps"])])]
    if kind == "baseline_table":
        return [_E("list", [1]), _E("dict", {"rate": [0.1]}), _E("one row short", value.iloc[:-1]),
                _E("no grid column", value.drop(columns=["rate"]))]
    if kind == "tables":
        base = value[RB.BASELINE]
        return [_E("None", None), _E("list", [base]), _E("only the baseline", {RB.BASELINE: base}),
                _E("no baseline", {k: v for k, v in value.items() if k != RB.BASELINE} | {"x": base}),
                _E("non-table", {**value, "p": [1]}), _E("empty table", {**value, "p": base.iloc[:0]}),
                _E("int key", {**value, 3: base})]
    if kind == "descriptions":
        key = next(iter(value))
        return [_E("list", [key]), _E("str", "abc"), _E("unknown name", {"zz-absent": "?"}),
                _E("non-str text", {key: 3}), _E("None", None, "ok")]
    if kind == "recheck_mode":
        return [_E("unknown", "sometimes"), _E("int", 1), _E("list", [value]), _E("padded", " SAMPLE ", "same", "sample"),
                _E("bool", True, "same", "sample"), _E("np.bool_", np.bool_(False), "same", "off")]
    if kind in ("stored_table", "frame_rows", "dataframe_rows"):
        import pandas as pd

        out = [_E("None", None), _E("list", [1, 2]), _E("dict", {"a": [1]}), _E("array", np.ones((2, 2)))]
        if kind == "stored_table":
            out.append(_E("no rows", value.iloc[:0]))
        if kind == "frame_rows":
            out.append(_E("one more row", pd.concat([value, value.iloc[:1]], ignore_index=True)))
        return out
    if kind == "unit_closed":  # a fraction in [0, 1]
        return [_E(lbl, v) for lbl, v in _REAL_BAD] + [
            _E("negative", -0.1), _E("above one", 1.5), _E("inf", math.inf), _E("None", None),
            _E("zero", 0.0, "ok"), _E("one", 1.0, "ok"),
            _E("float32", np.float32(value), "same", float(np.float32(value)))]
    if kind in ("prov", "prov_report"):
        out = [_E("list", [1]), _E("str", "numpy"), _E("int", 3)]
        if kind == "prov":
            out += [_E("backend int", {**value, "backend": 3}), _E("None", None, "ok")]
        else:
            rep = value["recheck"]
            out += [_E("None", None), _E("report int", {**value, "recheck": 3}),
                    _E("report without rows", {**value, "recheck": {"mode": "sample"}}),
                    _E("report unknown mode", {**value, "recheck": {**rep, "mode": "some"}}),
                    _E("report axes int", {**value, "recheck": {**rep, "axes": 3}})]
        return out
    if kind == "data_arrays":  # the data a statistic is bootstrapped over: rows on the first axis
        v = value[0]
        return [_E("none", ()), _E("None entry", (None,)), _E("str entry", ("abc",)), _E("dict entry", ({"x": 1},)),
                _E("scalar", (np.float64(1.0),)), _E("one row short", (v[:-1],)), _E("nan", (_set_first(v, math.nan),)),
                _E("second array short", (v, v[:-1])), _E("list", (v.tolist(),), "same", (v,))]
    if kind == "groups":
        g = np.asarray(value)
        return [_E("None", None), _E("str", "ab"), _E("dict", {"a": 1}), _E("2-d", g[None, :]), _E("scalar", 3),
                _E("one label more", np.concatenate([g, g[:1]])), _E("one group", np.zeros_like(g)),
                _E("nan label", _set_first(g, math.nan)), _E("None label", np.array([None] * g.size, dtype=object)),
                _E("ragged", [[0], [0, 1]] + [[0]] * (g.size - 2)),
                _E("list", g.tolist(), "same", g), _E("np.int32", g.astype(np.int32), "same", g)]
    if kind == "finite_result":
        return [_E("nan", _set_first(value, math.nan)), _E("inf", math.inf)]
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover - a typo in SPECS


# =========================================================================== checking one call
def names_argument(msg, name):
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z_])", msg) is not None


def all_bad_calls(spec, p):
    """``(arg, Corruption)`` for every argument of the valid call and every corruption of its kind."""
    call = spec.build(p)
    for arg, kind in kinds_of(spec, call).items():
        partners = [(how, other) for how, other in spec.partners.get(arg, []) if other in call]
        other_backend = bool(partners) and not spec.moves_data
        for c in corruptions(kind, call[arg], partners, other_backend=other_backend):
            if c.expect == "same" and spec.same == "skip":
                continue
            yield arg, c


def _flat(value, path=""):
    """(path, leaf) pairs of the numbers inside a result (arrays, scalars, tuples, dicts, dataclasses, tables)."""
    import pandas as pd

    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating, str)) or value is None:
        yield path, value
    elif isinstance(value, np.ndarray) or backend.is_device_array(value):
        yield path, backend.to_numpy(value)
    elif isinstance(value, pd.DataFrame):
        yield f"{path}.index@table", np.asarray(value.index)
        for c in value.columns:
            if c != "seconds":
                yield f"{path}.{c}@table", value[c].to_numpy()
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _flat(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ("seconds", "wall_seconds", "finished", "git_commit"):
                continue
            yield from _flat(v, f"{path}.{k}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name in ("model", "info"):
                continue
            yield from _flat(getattr(value, f.name), f"{path}.{f.name}")


def _fresh(call):
    """A copy of a valid call whose random generators are fresh copies (a call consumes its generator)."""
    import copy

    return {k: copy.deepcopy(v) if isinstance(v, np.random.Generator) else v for k, v in call.items()}


def same_result(a, b, shapes_only=False):
    fa, fb = list(_flat(a)), list(_flat(b))
    if [p for p, _ in fa] != [p for p, _ in fb]:
        return False
    for (_, x), (_, y) in zip(fa, fb):
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
            if x.shape != y.shape or x.dtype != y.dtype:
                return False
            if shapes_only:
                continue
            if x.dtype.kind in "fc" and not np.array_equal(x, y, equal_nan=True):
                return False
            if x.dtype.kind not in "fc" and not np.array_equal(x, y):
                return False
        elif type(x) is not type(y):
            if not (isinstance(x, float) and isinstance(y, float)):
                return False
        elif x != y and not (isinstance(x, float) and math.isnan(x) and math.isnan(y)):
            return False
    return True


def has_nonfinite(value):
    """True when a result holds NaN or inf (an array or a float anywhere in it; tables are data: aside)."""
    for path, leaf in _flat(value):
        if path.endswith("@table"):
            continue
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc" and not np.isfinite(leaf).all():
            return True
        if isinstance(leaf, (float, np.floating)) and not math.isfinite(leaf):
            return True
    return False


#: Functions whose results hold documented NaN sentinels (not garbage): skipped by :func:`has_nonfinite`.
NAN_SENTINELS = {"R2.critical_md_over_n", "data.min_distance",
                 "wl.width_search_task", "wl.linear_width_search",  # NaN m*: none on the grid; NaN m_fail:
                 #                                                  the grid's first width passes
                 # Part II's fair rule: NaN is "no stable scale" / "no interval with one data seed", inf a
                 # speed-up where only the network fits or a critical md/n never reached
                 "RF.fair_task", "RF.fair_compare", "RF.speedup", "st.judge", "st.largest_stable", "RT.cell_rate", "RT.cell_median",
                 "RT.critical_point", "RT.critical_table", "RT.critical_slope", "RT.fit_gap", "RT.claim_fit",
                 "RT.claim_rank", "RT.claim_net_faster", "RT.claim_kernel", "RT.claim_slope", "RK.spectrum",
                 "RK.kernel_report",
                 "rb.Verdict", "V.check_optional_real",  # a verdict's number and interval: NaN is "none"
                 "tsw.crossover_task"}  # NaN: no crossover up to 10^9


def _close_figures():
    import sys

    if "matplotlib.pyplot" in sys.modules:  # the landing panels return figures: close them
        sys.modules["matplotlib.pyplot"].close("all")


def classify(spec, call, arg, corruption):
    try:
        return _classify(spec, call, arg, corruption)
    finally:
        if spec.name.startswith("landing."):
            _close_figures()


def _classify(spec, call, arg, corruption):
    """``(category, detail)`` of one corrupted call: ``"clear"`` (the expected outcome), ``"unclear"``
    (another exception, or an error that does not name the argument), ``"silent"`` (garbage accepted,
    NaN/inf returned, or a different result for an equivalent value)."""
    kwargs = _fresh(call)
    kwargs[arg] = corruption.value
    name = (spec.names or {}).get(arg, arg)
    where = f"{spec.name}({arg}={corruption.label})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = spec.call(kwargs)
    except (TypeError, ValueError) as exc:
        if corruption.expect != "error":
            return "unclear", f"{where}: {type(exc).__name__} for a valid value: {exc}"
        if not names_argument(str(exc), name):
            return "unclear", f"{where}: {type(exc).__name__} does not name {name!r}: {exc}"
        return "clear", None
    except Hang:
        raise
    except FloatingPointError as exc:
        if any(w in str(exc) for w in ("float64", "overflow", "non-finite", "NaN")):
            return "clear", None
        return "unclear", f"{where}: FloatingPointError without saying why: {exc}"
    except Exception as exc:  # noqa: BLE001 - any other class is the bug we look for
        return "unclear", f"{where}: {type(exc).__name__}: {exc}"
    if corruption.expect == "error":
        return "silent", f"{where}: accepted {corruption.value!r:.80} without an error"
    if spec.name not in NAN_SENTINELS and has_nonfinite(out):
        return "silent", f"{where}: returned NaN or inf"
    if corruption.expect == "same":
        ref_kwargs = _fresh(call)
        ref_kwargs[arg] = corruption.ref
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = spec.call(ref_kwargs)
        if spec.same != "none" and not same_result(out, expected):
            return "silent", f"{where}: the result differs from the call with the equivalent {corruption.ref!r:.60}"
    return "clear", None


# =========================================================================== timeouts
class Hang(Exception):
    """A call ran past its time limit."""


def _alarm(signum, frame):
    raise Hang()


def with_timeout(seconds, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or :class:`Hang` after ``seconds`` (SIGALRM: main thread, Unix)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@functools.lru_cache(maxsize=None)
def degenerate_problems():
    """Problems of degenerate shape: 0 rows, 0 columns, 0 neurons, one point, one column, one neuron."""
    return {"0 rows": make_problem(n=0), "0 columns": make_problem(d=0), "0 neurons": make_problem(m=0),
            "1 point": make_problem(n=1), "1 column": make_problem(d=1), "1 neuron": make_problem(m=1)}


def degenerate_call(spec, q, shape, timeout):
    """``(category, detail)`` of one call of ``spec`` built from a degenerate problem ``q``: a result
    or a clear error ("clear"), an unclear error, or a "hang" (no answer within ``timeout`` seconds)."""
    try:
        call = with_timeout(timeout, spec.build, q)
    except Hang:
        return "hang", f"{spec.name} [{shape}]: building the call did not finish in {timeout} s"
    except Exception:  # noqa: BLE001 - the builder itself refused the shape (e.g. no network on 0 points)
        return "clear", None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with_timeout(timeout, spec.call, call)
    except Hang:
        return "hang", f"{spec.name} [{shape}]: no answer in {timeout} s"
    except (TypeError, ValueError, FloatingPointError, ArithmeticError, errors.MemorizationError,
            th.GeneralPositionError, sweep.StaleResultError):
        return "clear", None
    except Exception as exc:  # noqa: BLE001 - a raw error from deep inside: the bug looked for
        return "unclear", f"{spec.name} [{shape}]: {type(exc).__name__}: {exc}"
    finally:
        if spec.name.startswith("landing."):
            _close_figures()
    return "clear", None


#: Kinds of argument that a :class:`Problem` supplies (their entries change with the problem's shape).
ARRAY_KINDS = {MATRIX, VECTOR, "matrix_nonzero_rows", "matrix_rows_ok", "points", "unit_rows", "sym_matrix",
               "nonzero_vector", "codes", "binary", "binary_any", "int_matrix01", "int_vector", "int_matrix",
               "labels01", "params", "correlation", "info", "rows_of", "layers"}


def array_specs():
    """The entries whose valid call is built from the problem's arrays (and is run)."""
    p = fixed_problem()
    return [s for s in SPECS if s.valid and set(kinds_of(s, s.build(p)).values()) & ARRAY_KINDS]
