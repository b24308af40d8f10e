"""Property-based tests (Hypothesis) of the public API, plus an exhaustive bad-input table.

* **Valid inputs** (generated sizes and values): results are finite and shaped as
  documented, inputs are never mutated, lists work where arrays do, and seeds
  reproduce bit for bit.
* **Overflow**: at any input scale a function returns a finite result or raises
  :class:`FloatingPointError` saying to rescale; it never returns inf/NaN.
* **Invalid inputs**: every public function (:data:`SPECS`), every argument, every
  way of getting it wrong (:func:`corruptions`): a :class:`ValueError` or
  :class:`TypeError` whose message names the argument.  Hypothesis draws the
  sizes, the values, the argument and the corruption; ``test_every_bad_input``
  walks the whole table once at a fixed size, so that breaking any one check is
  caught whatever Hypothesis draws.

Profiles (``tests/conftest.py``): ``ci`` (default; fixed example count,
``derandomize=True``) and ``dev`` (``--hypothesis-profile=dev``, many more examples).
"""
from __future__ import annotations

import copy
import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from expreg_nb import data, seeding, stats, training
from expreg_nb.exponential import bounds
from expreg_nb.exponential import experiments as E
from expreg_nb import exponential as ex
from expreg_nb import relu2
from expreg_nb.validation import check_bool, check_int, check_real

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# =========================================================================== problems
@dataclass
class Problem:
    """One small, valid problem: data X (n, d), labels y, Part I weights W with signs a, Part II (Wr, ar)."""

    X: np.ndarray
    y: np.ndarray
    W: np.ndarray
    a: np.ndarray
    Wr: np.ndarray
    ar: np.ndarray

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def d(self):
        return self.X.shape[1]

    @property
    def m(self):
        return self.W.shape[0]


def _finite(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def problems(draw, max_n=6, max_d=4, max_m=8):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    m = draw(st.integers(1, max_m))
    X = draw(hnp.arrays(np.float64, (n, d), elements=_finite(-1, 1)))
    y = draw(hnp.arrays(np.float64, (n,), elements=_finite(-1, 1)))
    W = draw(hnp.arrays(np.float64, (m, d), elements=_finite(-2, 2)))
    a = np.where(draw(hnp.arrays(np.bool_, (m,))), 1.0, -1.0)
    Wr = draw(hnp.arrays(np.float64, (m, d), elements=_finite(-2, 2)))
    ar = draw(hnp.arrays(np.float64, (m,), elements=_finite(-2, 2)))
    return Problem(X, y, W, a, Wr, ar)


def fixed_problem(n=5, d=3, m=6, seed=0):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    return Problem(data.sphere(n, d, seed=seed, xp=np), data.labels(n, seed=seed, xp=np),
                   rng.standard_normal((m, d)), a, rng.standard_normal((m, d)), rng.standard_normal(m))


# =========================================================================== the API table
@dataclass
class Spec:
    """A public function, a valid call built from a :class:`Problem`, and the kind of each argument.

    ``kinds`` maps an argument to a kind of :func:`corruptions`; ``partners`` to the
    arguments whose shapes it must agree with (``"rows"``/``"cols"``/``"len"``);
    ``names`` to the word the error message must contain (default: the argument).
    """

    name: str
    fn: Callable
    build: Callable
    kinds: dict
    partners: dict | None = None
    names: dict | None = None

    def call(self, kwargs):
        return self.fn(**kwargs)


def _rows(p):
    return {}


MATRIX, VECTOR = "matrix", "vector"
SPECS = [
    # ------------------------------------------------------------------ Part I
    Spec("ex.init_params", ex.init_params, lambda p: dict(m=p.m, d=p.d, seed=0, coupled=False),
         dict(m="int_pos", d="int_pos", seed="seed", coupled="flag")),
    Spec("ex.forward", ex.forward, lambda p: dict(W=p.W, a=p.a, X=p.X, normalized=True, chunk=2),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, normalized="flag", chunk="chunk"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W")])),
    Spec("ex.loss", ex.loss, lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, normalized=True),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, y=VECTOR, normalized="flag"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W"), ("rows", "y")],
              y=[("len", "X")])),
    Spec("ex.grad", ex.grad, lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, normalized=False),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, y=VECTOR, normalized="flag"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W"), ("rows", "y")],
              y=[("len", "X")])),
    Spec("ex.gram", ex.gram, lambda p: dict(W=p.W, X=p.X, normalized=True, chunk=3),
         dict(W=MATRIX, X=MATRIX, normalized="flag", chunk="chunk"),
         dict(W=[("cols", "X")], X=[("cols", "W")])),
    Spec("ex.gram_star", ex.gram_star, lambda p: dict(X=p.X), dict(X=MATRIX)),
    Spec("ex.gram_star_variance", ex.gram_star_variance, lambda p: dict(X=p.X), dict(X=MATRIX)),
    Spec("ex.lambda_min_star", ex.lambda_min_star, lambda p: dict(X=p.X), dict(X=MATRIX)),
    Spec("ex.lambda_star_lower_bound", ex.lambda_star_lower_bound, lambda p: dict(X=p.X), dict(X=MATRIX)),
    Spec("ex.truncation_level", ex.truncation_level, lambda p: dict(W=p.W, X=p.X),
         dict(W=MATRIX, X=MATRIX), dict(W=[("cols", "X")], X=[("cols", "W")])),
    Spec("ex.gram_ascent_perturbation", ex.gram_ascent_perturbation,
         lambda p: dict(W0=p.W, X=p.X, R=0.1, iters=1, normalized=True),
         dict(W0=MATRIX, X=MATRIX, R="real_nonneg", iters="int_pos", normalized="flag"),
         dict(W0=[("cols", "X")], X=[("cols", "W0")])),
    Spec("ex.model", ex.model, lambda p: dict(normalized=True, coupled=False, chunk=None),
         dict(normalized="flag", coupled="flag", chunk="chunk")),
    Spec("ex.train", ex.train,
         lambda p: dict(X=p.X, y=p.y, m=4, eta=0.05, steps=2, seed=0, normalized=True, coupled=False,
                        record_every=1, tol=1e-3, progress=False),
         dict(X=MATRIX, y=VECTOR, m="int_pos", eta="real_pos", steps="int_nonneg", seed="seed",
              normalized="flag", coupled="flag", record_every="int_pos", tol="tol", progress="progress"),
         dict(X=[("rows", "y")], y=[("len", "X")])),
    # ------------------------------------------------------------------ Part II
    Spec("relu2.init_params", relu2.init_params, lambda p: dict(m=p.m, d=p.d, seed=1),
         dict(m="int_pos", d="int_pos", seed="seed")),
    Spec("relu2.forward", relu2.forward, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, chunk=2),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, chunk="chunk"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W")])),
    Spec("relu2.loss", relu2.loss, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, y=p.y),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, y=VECTOR),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W"), ("rows", "y")],
              y=[("len", "X")])),
    Spec("relu2.grads", relu2.grads, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, y=p.y),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, y=VECTOR),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W"), ("rows", "y")],
              y=[("len", "X")])),
    Spec("relu2.gram_layers", relu2.gram_layers, lambda p: dict(W=p.Wr, a=p.ar, X=p.X),
         dict(W=MATRIX, a=VECTOR, X=MATRIX),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W")])),
    Spec("relu2.combined_kernel", relu2.combined_kernel,
         lambda p: dict(W=p.Wr, a=p.ar, X=p.X, eta_w=0.5, eta_a=0.25),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, eta_w="real_nonneg", eta_a="real_nonneg"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W")])),
    Spec("relu2.arccos_kernels", relu2.arccos_kernels, lambda p: dict(rho=np.clip(p.X, -1, 1)),
         dict(rho="correlation")),
    Spec("relu2.gram_infinite", relu2.gram_infinite, lambda p: dict(X=p.X), dict(X="matrix_nonzero_rows")),
    Spec("relu2.step_sizes", relu2.step_sizes, lambda p: dict(W=p.Wr, a=p.ar, X=p.X, ratio=1.0, c=0.5),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, ratio="ratio", c="real_pos"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W")])),
    Spec("relu2.flipped_fraction", relu2.flipped_fraction, lambda p: dict(W=p.Wr, W0=p.W, X=p.X),
         dict(W=MATRIX, W0=MATRIX, X=MATRIX),
         dict(W=[("cols", "X"), ("rows", "W0")], W0=[("rows", "W")], X=[("cols", "W")])),
    Spec("relu2.lecun_form", relu2.lecun_form, lambda p: dict(W=p.Wr, a=p.ar),
         dict(W=MATRIX, a=VECTOR), dict(W=[("rows", "a")], a=[("len", "W")])),
    Spec("relu2.model", relu2.model, lambda p: dict(chunk=None), dict(chunk="chunk")),
    Spec("relu2.train", relu2.train,
         lambda p: dict(X=p.X, y=p.y, m=4, eta_w=0.1, eta_a=0.1, steps=2, seed=0, record_every=1,
                        tol=1e-3, progress=False),
         dict(X=MATRIX, y=VECTOR, m="int_pos", eta_w="real_nonneg", eta_a="real_nonneg",
              steps="int_nonneg", seed="seed", record_every="int_pos", tol="tol", progress="progress"),
         dict(X=[("rows", "y")], y=[("len", "X")])),
    # ------------------------------------------------------------------ data and seeding
    *[Spec(f"data.{f.__name__}", f, lambda p: dict(n=p.n, d=p.d, seed=0, xp=None),
           dict(n="int_pos", d="int_pos", seed="seed", xp="xp"))
      for f in (data.sphere, data.ball, data.gaussian)],
    Spec("data.labels", data.labels, lambda p: dict(n=p.n, seed=0, kind="sign", xp=None),
         dict(n="int_pos", seed="seed", kind="label_kind", xp="xp")),
    Spec("seeding.make_rng", lambda seed, stream: seeding.make_rng(seed, "s", stream),
         lambda p: dict(seed=0, stream=1), dict(seed="seed", stream="stream")),
    Spec("seeding.standard_normal", seeding.standard_normal, lambda p: dict(shape=(p.n, p.d), seed=0),
         dict(shape="shape", seed="seed")),
    Spec("seeding.rademacher", seeding.rademacher, lambda p: dict(size=p.n, seed=0),
         dict(size="shape", seed="seed")),
    # ------------------------------------------------------------------ Part I experiments
    Spec("stats.loglog_slope", stats.loglog_slope, lambda p: dict(x=np.array([1.0, 2.0, 4.0]), y=np.array([1.0, 3.0, 8.0])),
         dict(x="pos_vector", y="pos_vector"), dict(x=[("len", "y")], y=[("len", "x")])),
    Spec("E.late_rate", E.late_rate, lambda p: dict(loss=0.5 ** np.arange(120.0), window=(1e-30, 1e-3)),
         dict(loss=VECTOR, window="window")),
    Spec("E.one_step_remainder", E.one_step_remainder,
         lambda p: dict(W=p.W, a=p.a, X=p.X, y=p.y, eta=0.01),
         dict(W=MATRIX, a=VECTOR, X=MATRIX, y=VECTOR, eta="real_pos"),
         dict(W=[("cols", "X"), ("rows", "a")], a=[("len", "W")], X=[("cols", "W"), ("rows", "y")],
              y=[("len", "X")])),
    Spec("E.smallest_width", E.smallest_width,
         lambda p: dict(X=p.X, y=p.y, lam=0.01, eta=0.05, steps=2, widths=[2], seeds=[0], tol=0.5,
                        record_every=1, coupled=False),
         dict(X=MATRIX, y=VECTOR, lam="real_pos", eta="real_pos", steps="int_pos", widths="int_list",
              seeds="seed_list", tol="real_pos", record_every="int_pos", coupled="flag"),
         dict(X=[("rows", "y")], y=[("len", "X")])),
    Spec("E.movement_sweep", E.movement_sweep,
         lambda p: dict(X=p.X, y=p.y, widths=[2], eta=0.05, seeds=[0], normalized=True, coupled=False,
                        steps=2, tol=10.0),
         dict(X=MATRIX, y=VECTOR, widths="int_list", eta="real_pos", seeds="seed_list", normalized="flag",
              coupled="flag", steps="int_pos", tol="real_pos"),
         dict(X=[("rows", "y")], y=[("len", "X")])),
    Spec("E.step_size_threshold", E.step_size_threshold,
         lambda p: dict(X=p.X, y=p.y, m=2, seed=0, eta_lo=1e-3, eta_hi=1e3, steps=2, iters=0,
                        criterion="diverge", normalized=True, coupled=False),
         dict(X=MATRIX, y=VECTOR, m="int_pos", seed="seed", eta_lo="real_pos", eta_hi="real_pos",
              steps="int_pos", iters="int_nonneg", criterion="criterion", normalized="flag", coupled="flag"),
         dict(X=[("rows", "y")], y=[("len", "X")])),
    # ------------------------------------------------------------------ the trainer
    Spec("training.gradient_descent", training.gradient_descent,
         lambda p: dict(params={"w": np.ones(2)}, objective=lambda q: (q["w"], {"w": q["w"]}),
                        rates={"w": 0.1}, steps=2, monitors={"n": lambda q: 0.0}, record_every=1,
                        tol=1e-3, progress=False),
         dict(params="mapping", objective="callable", rates="rates", steps="int_nonneg",
              monitors="monitors", record_every="int_pos", tol="tol", progress="progress"),
),
    Spec("training.train", training.train,
         lambda p: dict(model=relu2.model(), X=p.X, y=p.y, rates={"W": 0.1, "a": 0.1}, steps=2, m=3, seed=0,
                        record=("lambda_min",), record_every=1, tol=1e-3, progress=False),
         dict(model="model", X=MATRIX, y=VECTOR, rates="rates", steps="int_nonneg", m="int_pos",
              seed="seed", record="record", record_every="int_pos", tol="tol", progress="progress"),
         dict(X=[("rows", "y")], y=[("len", "X")])),
]

# ------------------------------------------------------------------ bounds: every function, every argument
_BOUND_KINDS = {"delta": "prob", "R": "real_nonneg", "err_norm": "real_nonneg", "err0": "real_nonneg",
                "bias": "flag", "iters": "int_pos", "level": "prob"}
_BOUND_VALUES = {"m": 100.0, "n": 10.0, "delta": 0.1, "B": 2.0, "R": 0.05, "lam": 0.5, "gram_norm": 3.0,
                 "B1": 2.5, "err_norm": 1.0, "err0": 1.0, "eta": 0.01, "bias": True, "iters": 100,
                 "level": 0.75}


#: Bounds defined by a search (bisection, fixed point): scalars only.
SCALAR_ONLY_BOUNDS = (bounds.theorem_width, bounds.chernoff_width_biased)


def _bound_spec(fn):
    import inspect

    params = [q for q in inspect.signature(fn).parameters]
    kinds = {q: _BOUND_KINDS.get(q, "real_pos") for q in params}
    if fn is bounds.gram_perturbation:  # R <= R_MAX there
        kinds["R"] = "radius"
    if fn in SCALAR_ONLY_BOUNDS:
        kinds = {q: ("scalar_" + k if k in ("real_pos", "real_nonneg", "prob") else k) for q, k in kinds.items()}
    return Spec(f"bounds.{fn.__name__}", fn, lambda p, params=params: {q: _BOUND_VALUES[q] for q in params}, kinds)


BOUND_FUNCTIONS = [getattr(bounds, f) for f in bounds.__all__ if callable(getattr(bounds, f))]
SPECS += [_bound_spec(f) for f in BOUND_FUNCTIONS]
SPEC_IDS = [s.name for s in SPECS]


# =========================================================================== corruptions
_BAD_SCALARS = [("None", None), ("str", "1"), ("list", [1]), ("complex", 1 + 1j), ("nan", math.nan)]


def corruptions(kind, value, p, partners=(), call=None):
    """``(label, bad value)`` pairs: every way of getting an argument of ``kind`` wrong."""
    out = []
    if kind == "matrix_nonzero_rows":
        out += [("zero row", _set_row(value, 0.0))]
        kind = MATRIX
    if kind in (MATRIX, VECTOR, "pos_vector"):
        arr = np.asarray(value, dtype=float)
        out += [("nan", _set_first(arr, math.nan)), ("inf", _set_first(arr, math.inf)),
                ("-inf", _set_first(arr, -math.inf)),
                ("complex", arr.astype(complex) + 1j), ("bool", arr > 0), ("str", "abc"), ("None", None),
                ("object", np.array([{"k": 1}] * max(arr.size, 1), dtype=object)),
                ("ragged", [[1.0, 2.0], [3.0]]), ("dict", {"x": 1}), ("0-d", np.float64(1.0)),
                ("ndim+1", arr[..., None]), ("empty", arr[:0])]
        if arr.ndim == 2:
            out += [("ndim-1", arr[0]), ("no columns", arr[:, :0]), ("strings", arr.astype(str))]
        else:
            out += [("ndim+1b", arr[None, :])]
        if kind == "pos_vector":
            out += [("nonpositive", _set_first(arr, -1.0))]
        if partners and call is not None and call.get("_same_backend", True):
            from expreg_nb.testing import strict  # a device array where the others are on the host

            out.append(("on another backend", strict.asarray(arr)))
        for how, other in partners:
            if how == "cols":
                out.append((f"cols != {other}", np.concatenate([arr, arr[:, :1]], axis=1)))
            elif how in ("rows", "len"):
                out.append((f"len != {other}", np.concatenate([arr, arr[:1]], axis=0)))
    elif kind == "correlation":
        arr = np.asarray(value, dtype=float)
        out += [("nan", _set_first(arr, math.nan)), ("above 1", _set_first(arr, 2.0)),
                ("complex", arr.astype(complex)), ("bool", arr > 0), ("str", "abc"), ("None", None)]
    elif kind == "stream":  # a str or a non-negative int
        out += [("float", 1.5), ("integral float", 1.0), ("bool", True), ("None", None), ("negative", -1),
                ("bytes", b"s")]
    elif kind in ("int_pos", "int_nonneg", "seed", "chunk"):
        out += [("float", 2.5), ("integral float", 2.0), ("np.float64", np.float64(3.0)), ("bool", True),
                ("np.bool_", np.bool_(True)), ("str", "3"), ("negative", -1), ("array", np.array([2]))]
        if kind != "chunk":  # chunk=None is the default
            out.append(("None", None))
        if kind in ("int_pos", "chunk"):
            out.append(("zero", 0))
    elif kind in ("real_pos", "real_nonneg", "ratio", "prob", "radius", "tol",
                  "scalar_real_pos", "scalar_real_nonneg", "scalar_prob"):
        out += [("negative", -1.0), ("nan", math.nan), ("bool", True), ("np.bool_", np.bool_(True)),
                ("str", "1"), ("complex", 1 + 1j), ("bool array", np.array([True, False])),
                ("complex array", np.array([1 + 1j])), ("object", object())]
        if kind != "ratio":
            out.append(("inf", math.inf))
        if kind in ("real_pos", "prob", "scalar_real_pos", "scalar_prob", "tol"):
            out.append(("zero", 0.0))
        if kind in ("prob", "scalar_prob"):
            out += [("one", 1.0), ("above one", 1.5)]
        if kind == "radius":
            out.append(("above R_MAX", 2 * bounds.R_MAX))
        if kind.startswith("scalar_"):
            out.append(("array", np.array([0.5, 0.6])))
        if kind == "real_pos":
            out.append(("None", None))
    elif kind == "progress":  # True, False or None
        out += [("str 'no'", "no"), ("int 0", 0), ("int 1", 1), ("array", np.array([True]))]
    elif kind == "flag":
        out += [("str 'no'", "no"), ("None", None), ("int 0", 0), ("int 1", 1), ("str 'True'", "True"),
                ("array", np.array([True])), ("float", 1.0)]
    elif kind == "xp":
        out += [("str", "numpy"), ("int", 1), ("module", math)]
    elif kind == "label_kind":
        out += [("unknown", "gauss"), ("float", 1.5), ("None", None)]
    elif kind == "shape":
        out += [("negative", -1), ("float", 2.5), ("str", "3"), ("None", None), ("tuple with float", (2, 1.5))]
    elif kind in ("int_list", "seed_list"):
        out += [("float entry", [2.7]), ("integral float entry", [2.0]), ("empty", []), ("scalar", 3),
                ("str", "4"), ("bool entry", [True]), ("None", None)]
        out.append(("negative entry", [-1]) if kind == "seed_list" else ("zero entry", [0]))
    elif kind == "window":
        out += [("scalar", 3), ("too long", (1e-9, 1e-6, 1e-3)), ("str entry", (1e-9, "a")),
                ("reversed", (1e-3, 1e-9)), ("None", None), ("negative", (-1.0, 1.0))]
    elif kind == "criterion":
        out += [("unknown", "explode"), ("None", None), ("int", 1)]
    elif kind == "mapping":
        out += [("list", [np.ones(2)]), ("None", None), ("array", np.ones(2))]
    elif kind == "callable":
        out += [("None", None), ("str", "loss"), ("int", 3)]
    elif kind == "rates":
        out += [("list", [0.1]), ("None", None), ("negative", {k: -0.1 for k in (value or {"W": 0})}),
                ("str", {k: "0.1" for k in (value or {"W": 0})}), ("unknown block", {"zz": 0.1}),
                ("float", 0.1)]
    elif kind == "monitors":
        out += [("non-callable", {"n": 3.0}), ("str value", {"n": "loss"}), ("list", [lambda q: 0.0]),
                ("callable", lambda q: 0.0), ("str", "n")]
    elif kind == "model":
        out += [("str", "relu2"), ("None", None), ("module", relu2)]
    elif kind == "record":
        out += [("str", "lambda_min"), ("unknown", ("lambda_mid",)), ("int", 3), ("None", None)]
    else:  # pragma: no cover - a typo in SPECS
        raise AssertionError(f"unknown kind {kind!r}")
    return out


def _set_row(arr, v):
    arr = np.array(arr, dtype=float, copy=True)
    arr[0] = v
    return arr


def _set_first(arr, v):
    arr = np.array(arr, dtype=float, copy=True)
    if arr.size:
        arr.flat[0] = v
    return arr


def _names_argument(msg, name):
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z_])", msg) is not None


def _check_bad_call(spec, call, arg, label, bad):
    kwargs = dict(call)
    kwargs[arg] = bad
    name = (spec.names or {}).get(arg, arg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.call(kwargs)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        if not _names_argument(msg, name):
            return f"{spec.name}({arg}={label}): {type(exc).__name__} does not name {name!r}: {msg}"
        return None
    except Exception as exc:  # noqa: BLE001 - any other class is the bug we look for
        return f"{spec.name}({arg}={label}): unclear {type(exc).__name__}: {exc}"
    return f"{spec.name}({arg}={label}): accepted {bad!r:.80} without an error"


#: Functions that move their data to the active backend themselves (mixing host and device is fine there).
MOVES_DATA = {"ex.train", "relu2.train", "training.train", "E.movement_sweep", "E.step_size_threshold",
              "stats.loglog_slope"}


def _all_bad_calls(spec, p):
    call = spec.build(p)
    for arg, kind in spec.kinds.items():
        partners = [(how, other) for how, other in (spec.partners or {}).get(arg, []) if other in call]
        flags = {"_same_backend": spec.name not in MOVES_DATA}
        for label, bad in corruptions(kind, call[arg], p, partners, flags):
            yield arg, label, bad


# =========================================================================== invalid inputs
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_every_bad_input(spec, numpy_backend):
    """The whole table at one fixed problem: every argument, every corruption, a clear error."""
    p = fixed_problem()
    call = spec.build(p)
    failures = [f for arg, label, bad in _all_bad_calls(spec, p)
                if (f := _check_bad_call(spec, call, arg, label, bad)) is not None]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@given(p=problems(max_n=4, max_d=3, max_m=5), pick=st.data())
def test_bad_input_generated(spec, p, pick, numpy_backend):
    """Hypothesis draws the sizes, values, argument and corruption."""
    assume(np.all(np.abs(p.X).sum(axis=1) > 0))  # relu2.gram_infinite needs nonzero rows
    call = spec.build(p)
    cases = list(_all_bad_calls(spec, p))
    arg, label, bad = pick.draw(st.sampled_from(cases), label="corruption")
    failure = _check_bad_call(spec, call, arg, label, bad)
    assert failure is None, failure


def test_valid_calls_of_the_table_succeed(numpy_backend):
    """The valid call each entry corrupts is valid (so the errors above come from the corruption)."""
    p = fixed_problem()
    for spec in SPECS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.call(spec.build(p))


def test_the_table_covers_the_public_api():
    names = set(SPEC_IDS)
    for mod, prefix in ((ex.network, "ex"), (relu2.network, "relu2")):
        public = {f for f in mod.__all__ if callable(getattr(mod, f)) and not isinstance(getattr(mod, f), type)} \
            if hasattr(mod, "__all__") else set()
        public |= {"init_params", "forward", "loss", "model", "train"}
        missing = {f"{prefix}.{f}" for f in public} - names - {"relu2.lecun_form"} - {f"{prefix}.{x}" for x in ()}
        assert not {m for m in missing if m.split(".")[1] not in ("RECORDABLE", "TrainResult")}, missing
    for f in BOUND_FUNCTIONS:
        assert f"bounds.{f.__name__}" in names


# =========================================================================== valid inputs
def _copies(*arrays):
    return [np.array(a, copy=True) for a in arrays]


def _unchanged(before, after):
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a)


@given(p=problems(), normalized=st.booleans(), chunk=st.sampled_from([None, 1, 3]))
def test_exponential_valid(p, normalized, chunk, numpy_backend):
    before = _copies(p.W, p.a, p.X, p.y)
    u = ex.forward(p.W, p.a, p.X, normalized=normalized, chunk=chunk)
    assert u.shape == (p.n,) and np.all(np.isfinite(u))
    L = ex.loss(p.W, p.a, p.X, p.y, normalized=normalized)
    assert isinstance(L, float) and math.isfinite(L) and L >= 0
    assert math.isclose(L, 0.5 * float(((u - p.y) ** 2).sum()), rel_tol=1e-12, abs_tol=1e-300)
    g = ex.grad(p.W, p.a, p.X, p.y, normalized=normalized, chunk=chunk)
    assert g.shape == p.W.shape and np.all(np.isfinite(g))
    H = ex.gram(p.W, p.X, normalized=normalized, chunk=chunk)
    assert H.shape == (p.n, p.n) and np.all(np.isfinite(H))
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)
    assert np.linalg.eigvalsh(H)[0] >= -1e-9 * max(1.0, np.abs(H).max())
    B = ex.truncation_level(p.W, p.X)
    assert math.isfinite(B) and B >= 1.0
    # lists are accepted wherever arrays are, with the same result
    assert ex.loss(p.W.tolist(), p.a.tolist(), p.X.tolist(), p.y.tolist(), normalized=normalized) == L
    np.testing.assert_array_equal(ex.forward(p.W.tolist(), p.a, p.X.tolist(), normalized=normalized,
                                             chunk=chunk), u)
    _unchanged(before, (p.W, p.a, p.X, p.y))


@given(p=problems())
def test_infinite_width_quantities_valid(p, numpy_backend):
    before = _copies(p.X)
    Hs = ex.gram_star(p.X)
    assert Hs.shape == (p.n, p.n) and np.all(np.isfinite(Hs))
    V = ex.gram_star_variance(p.X)
    assert V.shape == (p.n, p.n) and np.all(np.isfinite(V)) and np.all(V >= -1e-12 * max(1.0, V.max()))
    lam = ex.lambda_min_star(p.X)
    low = ex.lambda_star_lower_bound(p.X)
    assert math.isfinite(lam) and math.isfinite(low) and low >= 0
    assert low <= lam + 1e-8 * max(1.0, abs(lam), float(np.abs(Hs).max()))
    _unchanged(before, (p.X,))


@given(p=problems(), ratio=st.sampled_from([0.0, 0.5, 1.0, 4.0, math.inf]), c=_finite(0.1, 1.9))
def test_relu2_valid(p, ratio, c, numpy_backend):
    before = _copies(p.Wr, p.ar, p.X, p.y)
    u = relu2.forward(p.Wr, p.ar, p.X)
    assert u.shape == (p.n,) and np.all(np.isfinite(u))
    L = relu2.loss(p.Wr, p.ar, p.X, p.y)
    assert math.isfinite(L) and L >= 0
    gW, ga = relu2.grads(p.Wr, p.ar, p.X, p.y)
    assert gW.shape == p.Wr.shape and ga.shape == p.ar.shape
    assert np.all(np.isfinite(gW)) and np.all(np.isfinite(ga))
    H1, H2 = relu2.gram_layers(p.Wr, p.ar, p.X)
    assert H1.shape == H2.shape == (p.n, p.n) and np.all(np.isfinite(H1)) and np.all(np.isfinite(H2))
    frac = relu2.flipped_fraction(p.Wr, p.W, p.X)
    assert 0.0 <= frac <= 1.0
    try:
        eta_w, eta_a = relu2.step_sizes(p.Wr, p.ar, p.X, ratio=ratio, c=c)
    except ValueError as exc:  # a zero kernel (all neurons dead on X): a clear error, not a division by 0
        assert "kernel" in str(exc)
    else:
        assert math.isfinite(eta_w) and math.isfinite(eta_a) and eta_w >= 0 and eta_a >= 0
        K = eta_w * H1 + eta_a * H2
        assert math.isclose(np.linalg.eigvalsh(K)[-1], c, rel_tol=1e-8)
    U, v = relu2.lecun_form(p.Wr, p.ar)
    assert U.shape == p.Wr.shape and v.shape == p.ar.shape
    _unchanged(before, (p.Wr, p.ar, p.X, p.y))


@given(p=problems())
def test_relu2_infinite_width_valid(p, numpy_backend):
    assume(np.all(np.abs(p.X).sum(axis=1) > 0))
    H1, H2 = relu2.gram_infinite(p.X)
    assert H1.shape == H2.shape == (p.n, p.n) and np.all(np.isfinite(H1)) and np.all(np.isfinite(H2))
    k0, k1 = relu2.arccos_kernels(np.clip(p.X, -1, 1))
    assert k0.shape == k1.shape == p.X.shape and np.all((k0 >= 0) & (k0 <= 0.5 + 1e-15))


@given(p=problems(max_n=4, max_m=6), steps=st.integers(0, 3), seed=st.integers(0, 2**32),
       model=st.sampled_from(["exp", "relu2"]))
def test_train_valid_and_reproducible(p, steps, seed, model, numpy_backend):
    before = _copies(p.X, p.y)
    if model == "exp":
        run = lambda: ex.train(p.X, p.y, m=4, eta=0.01, steps=steps, seed=seed, progress=False,  # noqa: E731
                               record=("lambda_min", "movement"))
    else:
        run = lambda: relu2.train(p.X, p.y, m=4, eta_w=0.05, eta_a=0.05, steps=steps, seed=seed,  # noqa: E731
                                  progress=False, record=("lambda_max", "flipped", "movement"))
    r1, r2 = run(), run()
    assert r1.history.steps == steps and np.all(np.isfinite(r1.history.loss))
    np.testing.assert_array_equal(r1.history.loss, r2.history.loss)   # bit for bit
    np.testing.assert_array_equal(r1.W, r2.W)
    assert r1.movement().shape == (4,)
    _unchanged(before, (p.X, p.y))


@given(n=st.integers(1, 20), d=st.integers(1, 6), seed=st.integers(0, 2**63),
       kind=st.sampled_from(data.LABEL_KINDS))
def test_data_shapes_and_reproducible(n, d, seed, kind, numpy_backend):
    S = data.sphere(n, d, seed=seed)
    assert S.shape == (n, d)
    np.testing.assert_allclose((S * S).sum(axis=1), 1.0, rtol=1e-12)
    Bl = data.ball(n, d, seed=seed)
    assert Bl.shape == (n, d) and np.all((Bl * Bl).sum(axis=1) <= 1 + 1e-12)
    np.testing.assert_array_equal(data.gaussian(n, d, seed=seed), data.gaussian(n, d, seed=seed))
    y = data.labels(n, seed=seed, kind=kind)
    assert y.shape == (n,) and np.all(np.abs(y) <= 1)
    np.testing.assert_array_equal(seeding.make_rng(seed, "a", 3).random(4), seeding.make_rng(seed, "a", 3).random(4))


_POS = _finite(1.0, 1e3)


@given(m=_POS, n=_POS, delta=_finite(1e-6, 0.99), B=_finite(1.0, 50.0), R=_finite(0.0, bounds.R_MAX),
       lam=_finite(1e-3, 10.0), g=_finite(1e-3, 100.0), err=_finite(0.0, 10.0), eta=_finite(1e-6, 1.0))
def test_bounds_valid(m, n, delta, B, R, lam, g, err, eta):
    vals = {"m": m, "n": n, "delta": delta, "B": B, "R": R, "lam": lam, "gram_norm": g, "B1": B * math.exp(R),
            "err_norm": err, "err0": err, "eta": eta, "bias": True}
    import inspect

    for fn in BOUND_FUNCTIONS:
        if fn in SCALAR_ONLY_BOUNDS:
            continue
        kw = {q: vals[q] for q in inspect.signature(fn).parameters if q in vals}
        try:
            out = fn(**kw)
        except FloatingPointError as exc:  # too large for float64: said so, never inf
            assert "float64" in str(exc)
            continue
        assert isinstance(out, float) and math.isfinite(out), (fn.__name__, out)
        # arrays broadcast to the same values
        arr = fn(**{k: (np.array([v, v]) if k != "bias" else v) for k, v in kw.items()})
        assert isinstance(arr, np.ndarray) and arr.shape == (2,)
        np.testing.assert_allclose(arr, out, rtol=1e-12)


# =========================================================================== overflow
_SCALE_LIST = [1.0, 30.0, 250.0, 1e3, 1e20, 1e100, 1e160, 1e200, 1e300, 1e305, 1e308]
_SCALES = st.sampled_from(_SCALE_LIST)


def _finite_or_clear(fn, *args, **kw):
    try:
        out = fn(*args, **kw)
    except FloatingPointError as exc:
        msg = str(exc)
        assert "float64" in msg and "rescale" in msg, msg
        return None
    for o in (out if isinstance(out, tuple) else (out,)):
        assert np.all(np.isfinite(o)), (fn.__name__, o)
    return out


@given(p=problems(max_n=4, max_d=3, max_m=5), scale=_SCALES)
def test_overflow_is_an_error_never_inf(p, scale, numpy_backend):
    X = p.X * scale
    _finite_or_clear(ex.forward, p.W, p.a, X)
    _finite_or_clear(ex.loss, p.W, p.a, X, p.y)
    _finite_or_clear(ex.grad, p.W, p.a, X, p.y)
    _finite_or_clear(ex.gram, p.W, X)
    _finite_or_clear(ex.gram_star, X)
    _finite_or_clear(ex.gram_star_variance, X)
    _finite_or_clear(ex.lambda_min_star, X)
    _finite_or_clear(ex.lambda_star_lower_bound, X)
    _finite_or_clear(ex.truncation_level, p.W, X)
    _finite_or_clear(relu2.forward, p.Wr, p.ar, X)
    _finite_or_clear(relu2.loss, p.Wr, p.ar, X, p.y)
    _finite_or_clear(relu2.grads, p.Wr, p.ar, X, p.y)
    _finite_or_clear(relu2.gram_layers, p.Wr, p.ar, X)
    _finite_or_clear(relu2.flipped_fraction, p.Wr, p.W, X)
    with np.errstate(over="ignore"):
        Wbig, W0big = p.Wr * scale, p.W * scale
    if np.all(np.isfinite(Wbig)):   # only W's pre-activations overflow
        _finite_or_clear(relu2.flipped_fraction, Wbig, p.W, p.X)
    if np.all(np.isfinite(W0big)):
        _finite_or_clear(relu2.flipped_fraction, p.Wr, W0big, p.X)
    if np.all(np.abs(p.X).sum(axis=1) > 0):
        _finite_or_clear(relu2.gram_infinite, X)


@pytest.mark.parametrize("fn", [f for f in BOUND_FUNCTIONS if f is not bounds.theorem_width],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("big", [1e100, 1e200, 1e300])
def test_bounds_overflow_is_an_error_never_inf(fn, big):
    import inspect

    kw = {q: v for q, v in _BOUND_VALUES.items() if q in inspect.signature(fn).parameters}
    for q in kw:
        if q in ("delta", "R", "bias", "iters", "level"):
            continue
        trial = dict(kw, **{q: big})
        try:
            out = fn(**trial)
        except FloatingPointError as exc:
            assert "float64" in str(exc)
        else:
            assert math.isfinite(out), (fn.__name__, q, out)
    with pytest.raises(FloatingPointError):   # every argument large at once overflows somewhere
        bounds.concentration_bound(1e300, 1.0, 1e300, 0.5)


def test_cross_argument_constraints(numpy_backend):
    """Constraints between arguments: a clear error naming them, never a silent result."""
    p = fixed_problem()
    cases = [
        (lambda: relu2.combined_kernel(p.Wr, p.ar, p.X, 0.0, 0.0), ValueError, "eta_w and eta_a"),
        (lambda: relu2.train(p.X, p.y, m=3, eta_w=0.0, eta_a=0.0, steps=1, seed=0), ValueError, "eta_w and eta_a"),
        (lambda: E.step_size_threshold(p.X, p.y, m=2, seed=0, eta_lo=1.0, eta_hi=0.5), ValueError, "eta_lo"),
        (lambda: ex.init_params(3, 2, seed=0, coupled=True), ValueError, "m must be even"),
        (lambda: ex.train(p.X, p.y, m=p.m, eta=0.1, steps=1, seed=0, init=(p.W, 0.5 * p.a)), ValueError, "signs a"),
        (lambda: ex.train(p.X, p.y, m=p.m + 1, eta=0.1, steps=1, seed=0, init=(p.W, p.a)), ValueError, "m="),
        (lambda: ex.train(p.X, p.y, m=4, eta=0.1, steps=1, seed=0, record=("flipped",)), ValueError, "flipped"),
        (lambda: training.train(ex.model(), p.X, p.y, rates={"a": 0.1, "W": 0.1}, steps=1, m=3, seed=0),
         ValueError, "fixed"),
        (lambda: training.train(relu2.model(), p.X, p.y, rates={"W": 0.0, "a": 0.0}, steps=1, m=3, seed=0),
         ValueError, "every rate is 0"),
        (lambda: relu2.flipped_fraction(p.Wr, p.W[:-1], p.X), ValueError, "W0"),
        (lambda: relu2.step_sizes(p.Wr, 0 * p.ar, p.X, ratio=0.0), ValueError, "kernel"),
        (lambda: stats.loglog_slope([1.0, 1.0], [1.0, 2.0]), ValueError, "two distinct"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


def test_zero_baselines_are_errors_or_skipped(numpy_backend):
    p = fixed_problem()
    y = ex.forward(p.W, p.a, p.X)                # the initialization already fits: L(0) = 0
    r = ex.train(p.X, y, m=p.m, eta=0.1, steps=2, seed=0, init=(p.W, p.a), progress=False)
    with pytest.raises(ValueError, match="L\\(0\\) = 0"):
        r.relative_loss
    W0 = np.zeros_like(p.W)
    with pytest.warns(UserWarning, match="movement_W_rel"):
        r = ex.train(p.X, p.y, m=p.m, eta=0.1, steps=2, seed=0, init=(W0, p.a), record=("movement",),
                     progress=False)
    assert "movement_W_rel" not in r.history
    with pytest.raises(ValueError, match="initial W is zero"):
        r.movement(kind="relative")
    with pytest.warns(UserWarning, match="K\\(0\\) = 0"):   # all neurons dead: a zero kernel
        r = relu2.train(p.X, p.y, m=p.m, eta_w=0.1, eta_a=0.0, steps=1, seed=0, init=(p.Wr, 0 * p.ar),
                        record=("kernel_drift",), progress=False)
    assert "kernel_drift_rel" not in r.history and np.all(np.isfinite(r.history["kernel_drift"]))


@given(p=problems(max_n=4, max_d=3, max_m=1), scale=_finite(1.0, 60.0))
def test_gram_star_raises_only_when_unrepresentable(p, scale, numpy_backend):
    """H* and its variance raise exactly when some entry's true magnitude is beyond float64."""
    X = p.X * scale
    G = X @ X.T
    s = np.diag(G)
    E = 0.5 * (s[:, None] + s[None, :]) + G
    with np.errstate(divide="ignore"):
        log_abs = np.log(np.abs(G)) + E              # log |H*_ij|
    LOG_MAX = math.log(np.finfo(np.float64).max)
    if log_abs.max() < LOG_MAX - 1e-9:
        H = ex.gram_star(X)
        assert np.all(np.isfinite(H))
    elif log_abs.max() > LOG_MAX + 1e-9:
        with pytest.raises(FloatingPointError, match="rescale the inputs"):
            ex.gram_star(X)


@pytest.mark.parametrize("scale", _SCALE_LIST)
def test_overflow_table(scale, numpy_backend):
    """Every scale, every function of the data: a finite result or a FloatingPointError saying to rescale."""
    test_overflow_is_an_error_never_inf.hypothesis.inner_test(p=fixed_problem(n=4, d=3, m=6), scale=scale,
                                                              numpy_backend=numpy_backend)


def test_overflow_messages_say_what_overflowed(numpy_backend):
    W = np.array([[1e308, 1e308, -1e308, -1e308]])       # <w, x> = 0 exactly, but the float sum overflows
    with pytest.raises(FloatingPointError, match="pre-activations of W"):
        relu2.flipped_fraction(W, np.ones_like(W), np.ones((1, 4)))
    with pytest.raises(FloatingPointError, match="pre-activations of W0"):
        relu2.flipped_fraction(np.ones_like(W), W, np.ones((1, 4)))
    p = fixed_problem(n=5, d=3, m=8)
    with pytest.raises(FloatingPointError, match=r"products exp\(<w_r, x_i> \+ <w_r, x_j>\)"):
        ex.gram(p.W, 200 * p.X)
    with pytest.raises(FloatingPointError, match="sum of the squared residuals"):
        ex.loss(p.W, p.a, 250 * p.X, p.y)
    with pytest.raises(FloatingPointError, match=r"exp\(<w_r, x_i>\) overflowed: max <w_r, x_i> = .* > log"):
        ex.forward(p.W, p.a, 1000 * p.X)


# =========================================================================== the checks themselves
@given(v=st.one_of(st.floats(), st.booleans(), st.text(max_size=3), st.none(), st.complex_numbers()))
def test_check_int_accepts_only_ints(v):
    with pytest.raises(TypeError, match="k must be an int"):
        check_int(v, "k")


@given(v=st.integers(1, 2**70))
def test_check_int_keeps_ints(v):
    assert check_int(v, "k") == v and check_int(np.int64(min(v, 2**62)), "k") == min(v, 2**62)


@given(v=st.one_of(st.text(max_size=3), st.none(), st.integers(), st.floats()))
def test_check_bool_accepts_only_bools(v):
    with pytest.raises(TypeError, match="flag must be True or False"):
        check_bool(v, "flag")


@given(v=st.one_of(st.booleans(), st.text(max_size=2), st.none(), st.complex_numbers()))
def test_check_real_rejects_non_reals(v):
    with pytest.raises(TypeError, match="x must be a real number"):
        check_real(v, "x")


def test_seed_streams_are_exact_ints():
    with pytest.raises(TypeError, match="stream part"):
        seeding.make_rng(0, 1.5)
    with pytest.raises(TypeError, match="stream part"):
        seeding.make_rng(0, 1.0)
    a = seeding.make_rng(0, 1).random(3)
    np.testing.assert_array_equal(a, seeding.make_rng(0, np.int64(1)).random(3))


def test_copy_of_spec_table_is_deep_enough():
    # the table's valid calls are rebuilt per use, so a corruption never leaks into the next one
    p = fixed_problem()
    call = SPECS[1].build(p)
    assert copy.deepcopy(call)["W"] is not call["W"]


# =========================================================================== the strict device backend
@given(p=problems(max_n=5, max_d=3, max_m=6))
def test_strict_device_results_equal_numpy(p, strict_backend):
    """The same calls on strict device arrays stay on the device and give NumPy's numbers bit for bit."""
    from expreg_nb import to_numpy
    from expreg_nb.testing import strict

    dev = {k: strict.asarray(getattr(p, k)) for k in ("X", "y", "W", "a", "Wr", "ar")}
    calls = [
        (ex.forward, ("W", "a", "X")), (ex.grad, ("W", "a", "X", "y")), (ex.gram, ("W", "X")),
        (ex.gram_star, ("X",)), (ex.gram_star_variance, ("X",)),
        (relu2.forward, ("Wr", "ar", "X")), (relu2.gram_layers, ("Wr", "ar", "X")),
        (relu2.grads, ("Wr", "ar", "X", "y")),
    ]
    for fn, names in calls:
        host = fn(*(getattr(p, k) for k in names))
        out = fn(*(dev[k] for k in names))
        for h, o in zip(host if isinstance(host, tuple) else (host,), out if isinstance(out, tuple) else (out,)):
            assert isinstance(o, strict.ndarray), fn.__name__
            np.testing.assert_array_equal(to_numpy(o), h)
    for fn, names in ((ex.loss, ("W", "a", "X", "y")), (ex.lambda_min_star, ("X",)),
                      (ex.lambda_star_lower_bound, ("X",)), (ex.truncation_level, ("W", "X")),
                      (relu2.loss, ("Wr", "ar", "X", "y")), (relu2.flipped_fraction, ("Wr", "W", "X"))):
        assert fn(*(dev[k] for k in names)) == fn(*(getattr(p, k) for k in names)), fn.__name__
