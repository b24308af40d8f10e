"""The Part I API (expreg_nb.exponential) against direct definitions, on every usable backend."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import DivergenceError, data, to_numpy
from expreg_nb import exponential as ex
from expreg_nb.seeding import make_rng


def _problem(xp, n=6, d=3, m=10, seed=0):
    X = data.sphere(n, d, seed=seed, xp=xp)
    y = data.labels(n, seed=seed, xp=xp)
    W, a = ex.init_params(m, d, seed=seed)
    return X, y, xp.asarray(W), xp.asarray(a)


def _direct(W, a, X, y):
    """Forward, gradient and Gram matrix written out from their definitions (NumPy, small sizes)."""
    W, a, X, y = (to_numpy(v) for v in (W, a, X, y))
    m = W.shape[0]
    E = np.exp(W @ X.T)                                             # m x n
    u = (a[:, None] * E).sum(axis=0) / math.sqrt(m)
    e = u - y
    g = (a[:, None, None] * (e[None, :, None] * E[:, :, None] * X[None, :, :])).sum(axis=1) / math.sqrt(m)
    S = X[:, None, :] + X[None, :, :]                               # x_i + x_j
    H = (X @ X.T) * np.exp(S @ W.T).mean(axis=2)
    return u, g, H


# --------------------------------------------------------------------------- init_params
def test_init_params_shapes_and_reproducible(xp):
    (W, a), again, other = ([to_numpy(v) for v in ex.init_params(7, 4, seed=s)] for s in (3, 3, 4))
    assert W.shape == (7, 4) and a.shape == (7,)
    assert set(np.unique(a)) <= {-1.0, 1.0}
    assert all(np.array_equal(u, v) for u, v in zip((W, a), again))
    assert not np.array_equal(W, other[0])


def test_init_params_same_numbers_on_every_backend(xp):
    """The draws come from the host generator, so both backends see the same numbers."""
    W, _ = ex.init_params(5, 3, seed=11)
    expected = make_rng(11, "exp-init", "W").standard_normal((5, 3))
    np.testing.assert_array_equal(to_numpy(W), expected)


def test_init_params_coupled(xp):
    W, a = ex.init_params(8, 3, seed=1, coupled=True)
    Wn, an = to_numpy(W), to_numpy(a)
    np.testing.assert_array_equal(Wn[0::2], Wn[1::2])
    np.testing.assert_array_equal(an[0::2], -an[1::2])
    X = data.sphere(5, 3, seed=1, xp=xp)
    assert np.all(to_numpy(ex.forward(W, a, X)) == 0.0)
    with pytest.raises(ValueError, match="m must be even"):
        ex.init_params(7, 3, seed=1, coupled=True)


# --------------------------------------------------------------------------- forward / grad / gram
@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_forward_grad_gram_match_definitions(xp, chunk):
    X, y, W, a = _problem(xp)
    u, g, H = _direct(W, a, X, y)
    np.testing.assert_allclose(to_numpy(ex.forward(W, a, X, chunk=chunk)), u, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(ex.grad(W, a, X, y, chunk=chunk)), g, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(to_numpy(ex.gram(W, X, chunk=chunk)), H, rtol=1e-12)
    assert ex.loss(W, a, X, y, chunk=chunk) == pytest.approx(0.5 * ((u - to_numpy(y)) ** 2).sum(), rel=1e-12)


def test_grad_matches_central_differences(xp):
    X, y, W, a = _problem(xp, n=8, d=4, m=16, seed=2)
    G = to_numpy(ex.grad(W, a, X, y))
    rng = np.random.default_rng(5)
    h = 1e-5
    for _ in range(3):
        V = rng.standard_normal(W.shape)
        Vd = xp.asarray(V)
        fd = (ex.loss(W + h * Vd, a, X, y) - ex.loss(W - h * Vd, a, X, y)) / (2 * h)
        assert fd == pytest.approx(float((G * V).sum()), rel=1e-6)


def test_gram_is_jacobian_product(xp):
    X, _, W, a = _problem(xp, n=5, d=3, m=9, seed=4)
    Wn, an, Xn = to_numpy(W), to_numpy(a), to_numpy(X)
    m = Wn.shape[0]
    J = (an[None, :, None] * np.exp(Xn @ Wn.T)[:, :, None] * Xn[:, None, :]).reshape(Xn.shape[0], -1) / math.sqrt(m)
    np.testing.assert_allclose(to_numpy(ex.gram(W, X)), J @ J.T, rtol=1e-12)


def test_unnormalized_scaling(xp):
    X, y, W, a = _problem(xp, m=12)
    m = W.shape[0]
    np.testing.assert_allclose(to_numpy(ex.forward(W, a, X, normalized=False)),
                               math.sqrt(m) * to_numpy(ex.forward(W, a, X)), rtol=1e-13)
    np.testing.assert_allclose(to_numpy(ex.gram(W, X, normalized=False)),
                               m * to_numpy(ex.gram(W, X)), rtol=1e-13)


# --------------------------------------------------------------------------- H* and its helpers
def test_gram_star_monte_carlo(xp):
    X = data.sphere(5, 3, seed=6, xp=xp)
    m = 200_000
    W, _ = ex.init_params(m, 3, seed=6)
    H = to_numpy(ex.gram(xp.asarray(W), X))
    Hs = to_numpy(ex.gram_star(X))
    sd = np.sqrt(to_numpy(ex.gram_star_variance(X)) / m)
    # loose on purpose: the summands are log-normal, so allow 6 standard deviations
    assert np.all(np.abs(H - Hs) <= 6 * sd)
    assert ex.lambda_min_star(X) == pytest.approx(float(np.linalg.eigvalsh(Hs)[0]), rel=1e-12)


def test_gram_star_variance_formula(xp):
    X = data.ball(4, 3, seed=7, xp=xp)
    Xn = to_numpy(X)
    G = Xn @ Xn.T
    S = ((Xn[:, None] + Xn[None]) ** 2).sum(-1)
    np.testing.assert_allclose(to_numpy(ex.gram_star_variance(X)), G**2 * (np.exp(2 * S) - np.exp(S)), rtol=1e-13)


def test_lambda_star_lower_bound(xp):
    for seed in range(3):
        X = data.ball(12, 4, seed=seed, xp=xp)
        low = ex.lambda_star_lower_bound(X)
        assert 0 < low <= ex.lambda_min_star(X)
    dup = xp.asarray(np.vstack([to_numpy(X), to_numpy(X)[:1]]))
    assert ex.lambda_star_lower_bound(dup) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- train
def test_train_converges_and_records(xp):
    X = data.sphere(6, 4, seed=8, xp=xp)
    y = data.labels(6, seed=8, xp=xp)
    eta = 0.5 / float(np.linalg.eigvalsh(to_numpy(ex.gram_star(X)))[-1])
    res = ex.train(X, y, m=256, eta=eta, steps=1500, seed=8, progress=False,
                   record=("lambda_min", "movement", "kernel_drift"), record_every=100)
    h = res.history
    assert h.loss[-1] <= 1e-6 * h.loss[0]
    for key in ("lambda_min", "movement_W_max", "movement_W_rms", "kernel_drift"):
        assert key in h and len(h[key]) == len(h.record_steps)
    assert h["kernel_drift"][0] == 0.0 and h["movement_W_max"][0] == 0.0
    assert np.all(h["lambda_min"] > 0)
    assert res.movement().shape == (256,)
    assert res.final_loss == h.loss[-1]


def test_train_tol_stops_early(xp):
    X = data.sphere(5, 3, seed=9, xp=xp)
    y = data.labels(5, seed=9, xp=xp)
    res = ex.train(X, y, m=128, eta=0.05, steps=5000, seed=9, tol=1e-2, progress=False)
    assert res.history.converged
    assert res.history.steps < 5000
    assert res.history.loss[-1] <= 1e-2 * res.history.loss[0]


def test_train_divergence_names_step_and_suggests_smaller_eta(xp):
    X = data.sphere(5, 3, seed=10, xp=xp)
    y = data.labels(5, seed=10, xp=xp)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+.*eta=.*smaller one \(e\.g\. eta=") as info:
        ex.train(X, y, m=64, eta=1e3, steps=200, seed=10, progress=False)
    assert info.value.step >= 1
    assert "eta=500" in str(info.value)


# --------------------------------------------------------------------------- bad input
def test_bad_shapes(xp):
    X, y, W, a = _problem(xp)
    with pytest.raises(ValueError, match="X has 6 rows but y has 5"):
        ex.grad(W, a, X, y[:5])
    with pytest.raises(ValueError, match="X has d=3 columns but W has d=2"):
        ex.forward(W[:, :2], a, X)
    with pytest.raises(ValueError, match="X has d=3 columns but W has d=2"):
        ex.gram(W[:, :2], X)
    with pytest.raises(ValueError, match="a has 9 entries but W has 10 rows"):
        ex.forward(W, a[:9], X)
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        ex.gram_star(X[0])
    with pytest.raises(ValueError, match="X has 6 rows but y has 5"):
        ex.train(X, y[:5], m=4, eta=0.1, steps=1, seed=0)


def test_non_finite_inputs(xp):
    X, y, W, a = _problem(xp)
    Xbad = X.copy()
    Xbad[0, 0] = np.nan
    ybad = y.copy()
    ybad[1] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        ex.forward(W, a, Xbad)
    with pytest.raises(ValueError, match="y must be finite"):
        ex.loss(W, a, X, ybad)
    with pytest.raises(ValueError, match="X must be finite"):
        ex.train(Xbad, y, m=4, eta=0.1, steps=1, seed=0)


@pytest.mark.parametrize(
    "kwargs, exc, pattern",
    [
        ({"m": 0}, ValueError, "m must be >= 1"),
        ({"m": -3}, ValueError, "m must be >= 1"),
        ({"m": 2.5}, TypeError, "m must be an int"),
        ({"eta": 0.0}, ValueError, "eta must be > 0"),
        ({"eta": -1.0}, ValueError, "eta must be > 0"),
        ({"steps": -1}, ValueError, "steps must be >= 0"),
        ({"record": ("lambda_min", "nonsense")}, ValueError, "record must be a collection of"),
        ({"record": "lambda_min"}, ValueError, "record must be a collection of"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative int"),
        ({"seed": -1}, ValueError, "seed must be a non-negative int"),
    ],
)
def test_train_bad_arguments(xp, kwargs, exc, pattern):
    X = data.sphere(4, 3, seed=0, xp=xp)
    y = data.labels(4, seed=0, xp=xp)
    args = {"m": 8, "eta": 0.1, "steps": 2, "seed": 0, "progress": False, **kwargs}
    with pytest.raises(exc, match=pattern):
        ex.train(X, y, **args)


def test_init_params_bad_arguments(xp):
    with pytest.raises(ValueError, match="m must be >= 1"):
        ex.init_params(0, 3, seed=0)
    with pytest.raises(ValueError, match="d must be >= 1"):
        ex.init_params(4, 0, seed=0)
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        ex.init_params(4, 3, seed="0")
