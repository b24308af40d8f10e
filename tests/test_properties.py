"""Property-based tests (Hypothesis) of the public API, plus the exhaustive bad-input table.

* **Valid inputs** (generated sizes and values): results are finite and shaped as
  documented, inputs are never mutated, lists work where arrays do, and seeds
  reproduce bit for bit.
* **Overflow**: at any input scale a function returns a finite result or raises
  :class:`FloatingPointError` saying to rescale; it never returns inf/NaN.
* **Invalid inputs**: every public callable (``tests/api_table.py``: one entry per
  name in every module's ``__all__``, checked by ``test_the_table_covers_the_public_api``),
  every argument, every way of getting it wrong (``api_table.corruptions``): a
  :class:`ValueError` or :class:`TypeError` whose message names the argument; an
  equivalent value of another type (float32 data, a list, a NumPy scalar) gives the
  same result as the reference call.  ``test_every_bad_input`` walks the whole table at a
  fixed size; Hypothesis draws sizes, values, argument and corruption in
  ``test_bad_input_generated``.

Profiles (``tests/conftest.py``): ``ci`` (default; fixed example count,
``derandomize=True``) and ``dev`` (``--hypothesis-profile=dev``, many more examples).
"""
from __future__ import annotations

import copy
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import importlib
import importlib.util
import pkgutil
from pathlib import Path

import matplotlib.pyplot as plt

import expreg_nb
from api_table import (BOUND_FUNCTIONS, EXEMPT, MATRIX, NAN_SENTINELS, SCALAR_ONLY_BOUNDS, SPEC_IDS, SPECS,
                       VECTOR, _BOUND_VALUES, Problem, all_bad_calls, classify, fixed_problem, has_nonfinite,
                       kinds_of, public_callables, uncovered)
from expreg_nb import data, seeding, stats, training
from expreg_nb import exponential as ex
from expreg_nb import relu2
from expreg_nb import threshold as th
from expreg_nb.exponential import bounds
from expreg_nb.exponential import experiments as E
from expreg_nb.validation import check_bool, check_int, check_real

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# =========================================================================== problems
def _finite(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def problems(draw, max_n=6, max_d=4, max_m=8, sphere=False):
    """A :class:`api_table.Problem` of drawn sizes and values (``sphere``: rows of X on the unit sphere)."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(2 if sphere else 1, max_d))
    m = draw(st.integers(1, max_m))
    X = draw(hnp.arrays(np.float64, (n, d), elements=_finite(-1, 1)))
    if sphere:
        norms = np.sqrt((X * X).sum(axis=1, keepdims=True))
        assume(np.all(norms > 1e-3))
        X = X / norms
        assume(n < 2 or data.min_distance(X) > 1e-3)
    y = draw(hnp.arrays(np.float64, (n,), elements=_finite(-1, 1)))
    W = draw(hnp.arrays(np.float64, (m, d), elements=_finite(-2, 2)))
    a = np.where(draw(hnp.arrays(np.bool_, (m,))), 1.0, -1.0)
    Wr = draw(hnp.arrays(np.float64, (m, d), elements=_finite(-2, 2)))
    ar = draw(hnp.arrays(np.float64, (m,), elements=_finite(-2, 2)))
    return Problem(X, y, W, a, Wr, ar)


# =========================================================================== invalid inputs
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_every_bad_input(spec, numpy_backend):
    """The whole table at one fixed problem: every argument, every corruption, the expected outcome."""
    p = fixed_problem()
    call = spec.build(p)
    failures = [detail for arg, c in all_bad_calls(spec, p)
                if (detail := classify(spec, call, arg, c)[1]) is not None]
    assert not failures, "\n".join(failures)


#: Entries whose valid call depends on the drawn arrays (the rest take fixed small values).
ARRAY_SPECS = [s for s in SPECS if s.valid and any(
    k in (MATRIX, VECTOR, "matrix_nonzero_rows", "matrix_rows_ok", "points", "unit_rows")
    for k in kinds_of(s, s.build(fixed_problem())).values())]


@pytest.mark.parametrize("spec", ARRAY_SPECS, ids=[s.name for s in ARRAY_SPECS])
@settings(max_examples=max(4, settings().max_examples // 8))   # ci: 5 per entry; dev: 125
@given(p=problems(max_n=4, max_d=3, max_m=5, sphere=True), pick=st.data())
def test_bad_input_generated(spec, p, pick, numpy_backend):
    """Hypothesis draws the sizes, values, argument and corruption (on a drawn problem where the
    valid call is valid: e.g. not all-zero labels for a stability bracket)."""
    try:
        call = spec.build(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.call(dict(call))
    except (ValueError, FloatingPointError, th.MemorizationError):
        assume(False)
    cases = list(all_bad_calls(spec, p))
    arg, corruption = pick.draw(st.sampled_from(cases), label="corruption")
    category, detail = classify(spec, call, arg, corruption)
    assert category == "clear", detail


def test_valid_calls_of_the_table_succeed(numpy_backend):
    """The valid call each entry corrupts is valid (so the errors above come from the corruption)."""
    p = fixed_problem()
    for spec in SPECS:
        if not spec.valid:  # sweep.store would run a whole named sweep
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = spec.call(spec.build(p))
        # rules out: a valid call of the table returning NaN or inf
        assert spec.name in NAN_SENTINELS or not has_nonfinite(out), spec.name
    plt.close("all")


def test_the_table_covers_the_public_api():
    """Every callable in every module's __all__ (found with pkgutil) has an entry or a stated reason."""
    names = public_callables()
    # rules out: a coverage test that enumerates nothing (a broken walk would pass vacuously)
    assert len(names) > 150 and "expreg_nb.threshold.construction.gaussian_stage" in names
    missing = uncovered()
    # rules out: a public function added without an entry in tests/api_table.py
    assert not missing, f"public callables without a table entry (add a Spec or an EXEMPT reason): {missing}"
    for qual in EXEMPT:  # every exemption still names something public
        assert qual in names or any(q.startswith(qual + ".") for q in names) or \
            importlib.util.find_spec(qual) is not None, qual


def test_every_module_has_all():
    for info in pkgutil.walk_packages(expreg_nb.__path__, "expreg_nb."):
        mod = importlib.import_module(info.name)
        # rules out: a module whose public names are whatever it happens to import
        assert isinstance(getattr(mod, "__all__", None), (list, tuple)), info.name
        for name in mod.__all__:
            assert hasattr(mod, name), f"{info.name}.__all__ names {name!r}, which it does not define"


def test_tests_and_chapters_use_public_names_only():
    """No test or chapter reaches into a private name of the package (``module._name``)."""
    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"\b(?:ex|relu2|th|chunks|training|network|bounds|E|R2|sweep|data|stats|landing|"
                         r"backend|seeding|ref|reference|validation|V|experiments|construction|gadgets|"
                         r"hyperplanes|sizes|baselines|errors|scale|strict|size_audit|compare|sweeps|ts|tsw|bl|"
                         r"rb|robustness|recheck)\.(_[a-zA-Z][a-zA-Z0-9_]*)\b")
    hits = []
    for path in list((root / "tests").glob("*.py")) + list((root / "book").rglob("*.md")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                hits.append(f"{path.relative_to(root)}:{i}: {m.group(0)}")
    # rules out: tests pinned to private helpers (they break on every refactor and test nothing public)
    assert not hits, "\n".join(hits)


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
