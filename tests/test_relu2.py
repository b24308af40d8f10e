"""Tests of expreg_nb.relu2: the two-layer ReLU network trained at two rates (Part II)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import data, relu2, to_device, to_numpy
from expreg_nb.training import DivergenceError


def _problem(xp, n=12, d=5, m=40, seed=0):
    X = to_device(to_numpy(data.gaussian(n, d, seed=seed)), xp)
    y = to_device(np.random.default_rng(seed).standard_normal(n), xp)
    W, a = relu2.init_params(m, d, seed=seed)
    return X, y, xp.asarray(W), xp.asarray(a)


def _jacobians(W, a, X):
    """Dense Jacobians of u with respect to W (n x m*d) and a (n x m), straight from the definition."""
    m, d = W.shape
    Z = X @ W.T / np.sqrt(d)
    JW = ((a[None, :] * (Z > 0))[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1) / np.sqrt(m * d)
    Ja = np.maximum(Z, 0) / np.sqrt(m)
    return JW, Ja


def test_init_shapes_and_reproducible(xp):
    W, a = relu2.init_params(7, 3, seed=4)
    assert W.shape == (7, 3) and a.shape == (7,)
    W2, a2 = relu2.init_params(7, 3, seed=4)
    np.testing.assert_array_equal(to_numpy(W), to_numpy(W2))
    np.testing.assert_array_equal(to_numpy(a), to_numpy(a2))
    W3, _ = relu2.init_params(7, 3, seed=5)
    assert not np.allclose(to_numpy(W), to_numpy(W3))


def test_forward_matches_definition(xp):
    X, y, W, a = _problem(xp)
    Xn, Wn, an = map(to_numpy, (X, W, a))
    d, m = Xn.shape[1], Wn.shape[0]
    u_ref = np.maximum(Xn @ Wn.T / np.sqrt(d), 0) @ an / np.sqrt(m)
    u = relu2.forward(W, a, X)
    assert type(u) is type(X)
    np.testing.assert_allclose(to_numpy(u), u_ref, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(relu2.forward(W, a, X, chunk=3)), u_ref, rtol=1e-12)


def test_grads_match_jacobian_and_finite_differences(xp):
    X, y, W, a = _problem(xp)
    gW, ga = relu2.grads(W, a, X, y)
    gW3, ga3 = relu2.grads(W, a, X, y, chunk=7)
    np.testing.assert_allclose(to_numpy(gW3), to_numpy(gW), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(to_numpy(ga3), to_numpy(ga), rtol=1e-12, atol=1e-15)
    Xn, yn, Wn, an = map(to_numpy, (X, y, W, a))
    JW, Ja = _jacobians(Wn, an, Xn)
    e = to_numpy(relu2.forward(W, a, X)) - yn
    np.testing.assert_allclose(to_numpy(gW).ravel(), JW.T @ e, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(ga), Ja.T @ e, rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(1)
    VW, Va = rng.standard_normal(Wn.shape), rng.standard_normal(an.shape)
    h = 1e-6
    VWd, Vad = to_device(VW, xp), to_device(Va, xp)
    fd = (relu2.loss(W + h * VWd, a + h * Vad, X, y) - relu2.loss(W - h * VWd, a - h * Vad, X, y)) / (2 * h)
    exact = float((to_numpy(gW) * VW).sum() + (to_numpy(ga) * Va).sum())
    assert abs(fd - exact) < 1e-6 * abs(exact)


def test_gram_layers_are_jacobian_grams(xp):
    X, y, W, a = _problem(xp)
    H1, H2 = relu2.gram_layers(W, a, X)
    JW, Ja = _jacobians(*map(to_numpy, (W, a, X)))
    np.testing.assert_allclose(to_numpy(H1), JW @ JW.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(H2), Ja @ Ja.T, rtol=1e-12, atol=1e-14)
    H1c, H2c = relu2.gram_layers(W, a, X, chunk=5)
    np.testing.assert_allclose(to_numpy(H1c), to_numpy(H1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(H2c), to_numpy(H2), rtol=1e-12, atol=1e-14)
    K = relu2.combined_kernel(W, a, X, 0.3, 0.7)
    np.testing.assert_allclose(to_numpy(K), 0.3 * to_numpy(H1) + 0.7 * to_numpy(H2), rtol=1e-13)


def test_gram_infinite_is_the_wide_limit(xp):
    n, d, m = 6, 4, 200_000
    X = data.gaussian(n, d, seed=3, xp=xp)
    W, a = relu2.init_params(m, d, seed=3)
    H1, H2 = relu2.gram_layers(xp.asarray(W), xp.asarray(a), X)
    H1i, H2i = relu2.gram_infinite(X)
    # entries are averages of m i.i.d. terms of size O(1): error O(1/sqrt(m)) ~ 2e-3
    assert np.abs(to_numpy(H1) - to_numpy(H1i)).max() < 0.02
    assert np.abs(to_numpy(H2) - to_numpy(H2i)).max() < 0.02
    # diagonal in closed form: H1inf_ii = ||x||^2/(2d), H2inf_ii = ||x||^2/(2d)
    sq = to_numpy((X * X).sum(axis=1)) / (2 * d)
    np.testing.assert_allclose(np.diag(to_numpy(H1i)), sq, rtol=1e-14)
    np.testing.assert_allclose(np.diag(to_numpy(H2i)), sq, rtol=1e-14)


def test_arccos_kernels_values():
    k0, k1 = relu2.arccos_kernels(np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_allclose(k0, [0.0, 0.25, 0.5], atol=1e-15)
    np.testing.assert_allclose(k1, [0.0, 1 / (2 * np.pi), 0.5], atol=1e-15)


def test_train_fits_and_records(xp):
    X, y, W, a = _problem(xp, n=10, d=5, m=60)
    eta_w, eta_a = relu2.step_sizes(W, a, X, ratio=1.0, c=1.0)
    assert eta_w == eta_a > 0
    res = relu2.train(X, y, m=60, eta_w=eta_w, eta_a=eta_a, steps=3000, seed=0, tol=1e-6,
                      record=relu2.RECORDABLE, record_every=50, progress=False)
    assert res.relative_loss <= 1e-6 and res.history.converged
    h = res.history
    for key in ("lambda_min", "lambda_max", "kernel_drift", "kernel_drift_rel", "flipped",
                "movement_W_rel", "movement_a_rel", "movement_W_max", "movement_a_rms"):
        assert key in h and len(h[key]) == len(h.record_steps)
    assert h["kernel_drift"][0] == 0 and h["flipped"][0] == 0 and h["movement_W_rel"][0] == 0
    assert 0 <= h["flipped"][-1] <= 1
    assert h["lambda_min"][0] <= h["lambda_max"][0]
    mW, ma = res.movement("W", "relative"), res.movement("a", "relative")
    assert math.isclose(mW, h["movement_W_rel"][-1], rel_tol=1e-12)
    assert math.isclose(ma, h["movement_a_rel"][-1], rel_tol=1e-12)


def test_frozen_layers_and_init(xp):
    X, y, W, a = _problem(xp, m=30)
    signs = xp.asarray(np.where(np.arange(30) % 2, 1.0, -1.0))
    res = relu2.train(X, y, m=30, eta_w=0.5, eta_a=0.0, steps=20, seed=0, init=(W, signs), progress=False)
    np.testing.assert_array_equal(to_numpy(res.a), to_numpy(signs))
    assert res.history.loss[-1] < res.history.loss[0]
    np.testing.assert_array_equal(to_numpy(res.W0), to_numpy(W))
    res2 = relu2.train(X, y, m=30, eta_w=0.0, eta_a=0.05, steps=20, seed=0, progress=False)
    np.testing.assert_array_equal(to_numpy(res2.W), to_numpy(res2.W0))
    assert res2.history.loss[-1] < res2.history.loss[0]
    eta_w, eta_a = relu2.step_sizes(W, a, X, ratio=math.inf)
    assert eta_w == 0 and eta_a > 0
    eta_w, eta_a = relu2.step_sizes(W, a, X, ratio=0.0)
    assert eta_w > 0 and eta_a == 0


def test_train_same_seed_same_numbers(xp):
    X, y, _, _ = _problem(xp)
    r1 = relu2.train(X, y, m=20, eta_w=0.2, eta_a=0.02, steps=10, seed=9, progress=False)
    r2 = relu2.train(X, y, m=20, eta_w=0.2, eta_a=0.02, steps=10, seed=9, progress=False)
    np.testing.assert_array_equal(r1.history.loss, r2.history.loss)


def test_lecun_form_is_the_same_network(xp):
    X, y, W, a = _problem(xp)
    U, v = relu2.lecun_form(W, a)
    u_std = xp.maximum(X @ U.T, 0) @ v
    np.testing.assert_allclose(to_numpy(u_std), to_numpy(relu2.forward(W, a, X)), rtol=1e-12)


def test_divergence_names_both_rates(numpy_backend):
    X, y, _, _ = _problem(np)
    with pytest.raises(DivergenceError, match="eta_w=.*eta_a="):
        relu2.train(X, y, m=20, eta_w=1e3, eta_a=1e3, steps=200, seed=0, progress=False)


def test_bad_input(numpy_backend):
    X, y, W, a = _problem(np)
    with pytest.raises(ValueError, match="a has 39 entries"):
        relu2.forward(W, a[:-1], X)
    with pytest.raises(ValueError, match="X has d=4 columns"):
        relu2.forward(W, a, X[:, :4])
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        relu2.forward(W, a, X[0])
    with pytest.raises(ValueError, match="X has 12 rows but y has 11"):
        relu2.grads(W, a, X, y[:-1])
    Xbad = X.copy()
    Xbad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        relu2.gram_layers(W, a, Xbad)
    with pytest.raises(ValueError, match="y must be finite"):
        relu2.train(X, np.full(12, np.inf), m=40, eta_w=0.1, eta_a=0.1, steps=1, seed=0)
    with pytest.raises(ValueError, match="eta_w must be >= 0"):
        relu2.train(X, y, m=40, eta_w=-0.1, eta_a=0.1, steps=1, seed=0)
    with pytest.raises(ValueError, match="eta_a must be >= 0"):
        relu2.train(X, y, m=40, eta_w=0.1, eta_a=-1.0, steps=1, seed=0)
    with pytest.raises(ValueError, match="both 0"):
        relu2.train(X, y, m=40, eta_w=0, eta_a=0.0, steps=1, seed=0)
    with pytest.raises(TypeError, match="eta_w must be a real number"):
        relu2.train(X, y, m=40, eta_w="0.1", eta_a=0.1, steps=1, seed=0)
    with pytest.raises(ValueError, match="init has 40 neurons but m=10"):
        relu2.train(X, y, m=10, eta_w=0.1, eta_a=0.1, steps=1, seed=0, init=(W, a))
    with pytest.raises(TypeError, match="init must be a pair"):
        relu2.train(X, y, m=40, eta_w=0.1, eta_a=0.1, steps=1, seed=0, init=W[:3])
    with pytest.raises(ValueError, match="record must be"):
        relu2.train(X, y, m=40, eta_w=0.1, eta_a=0.1, steps=1, seed=0, record=("nope",))
    with pytest.raises(ValueError, match="record must be"):
        relu2.train(X, y, m=40, eta_w=0.1, eta_a=0.1, steps=1, seed=0, record="flipped")
    with pytest.raises(ValueError, match="m must be >= 1"):
        relu2.init_params(0, 3, seed=0)
    with pytest.raises(ValueError, match="nonzero rows"):
        relu2.gram_infinite(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="ratio must be >= 0"):
        relu2.step_sizes(W, a, X, ratio=-1.0)
    with pytest.raises(ValueError, match="W0 has"):
        relu2.flipped_fraction(W, W[:3], X)


@pytest.mark.gpu
def test_same_numbers_on_both_backends(monkeypatch):
    import cupy

    from expreg_nb import backend

    out = {}
    for name in ("numpy", "cupy"):
        monkeypatch.setenv(backend.ENV_VAR, name)
        X = data.gaussian(16, 4, seed=1)
        y = data.labels(16, seed=1)
        res = relu2.train(X, y, m=64, eta_w=0.3, eta_a=0.05, steps=50, seed=2, progress=False,
                          record=("flipped",))
        out[name] = (res.history.loss, to_numpy(relu2.gram_infinite(X)[1]))
        assert isinstance(res.W, cupy.ndarray) == (name == "cupy")
    np.testing.assert_allclose(out["numpy"][0], out["cupy"][0], rtol=1e-9)
    np.testing.assert_allclose(out["numpy"][1], out["cupy"][1], rtol=1e-12)


# --------------------------------------------------------------------------- kernels.py
def test_dead_inputs_make_zero_rows_and_the_live_spectrum():
    X = data.gaussian(20, 4, seed=3)
    W, a = relu2.init_params(8, 4, seed=3)
    Xn, Wn = to_numpy(X).copy(), to_numpy(W).copy()
    Wn[:, 0] = np.abs(Wn[:, 0]) + 1.0          # every neuron has w_r1 > 0 ...
    Xn[0] = [-1.0, 0.0, 0.0, 0.0]              # ... so x_0 is inactive for all of them
    dead = relu2.dead_inputs(Wn, Xn)
    # rules out: a mask that is not "every neuron inactive"
    assert dead[0] and dead.sum() == (~((Xn @ Wn.T) > 0).any(axis=1)).sum()
    K = to_numpy(relu2.combined_kernel(to_device(Wn), a, to_device(Xn), 1.0, 1.0))
    assert np.all(K[dead] == 0) and np.all(K[:, dead] == 0)
    lo, hi, kap = relu2.spectrum(K, ~dead)
    lam = np.linalg.eigvalsh(K[np.ix_(~dead, ~dead)])
    # rules out: lambda_min taken over the dead inputs (it would be 0)
    assert lo == lam[0] > 0 and hi == lam[-1] and kap == hi / lo
    rep = relu2.kernel_report(K, K, np.ones(20) - 2 * (np.arange(20) % 2), ~dead, ~dead)
    assert rep["lmin0"] == pytest.approx(lo) and rep["drift"] == 0 and rep["angle_max"] < 1e-5


def test_centered_alignment_formula_and_bounds():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((15, 15))
    K = A @ A.T
    y = rng.standard_normal(15)
    H = np.eye(15) - 1 / 15
    expected = (H @ y) @ (H @ K @ H) @ (H @ y) / (np.linalg.norm(H @ K @ H) * (H @ y) @ (H @ y))
    # rules out: an uncentered alignment, or a normalization by ||K|| instead of ||HKH||
    assert relu2.centered_alignment(K, y) == pytest.approx(expected, rel=1e-12)
    yc = H @ y
    assert relu2.centered_alignment(np.outer(yc, yc), y) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="centered"):
        relu2.centered_alignment(np.ones((4, 4)), np.ones(4))


def test_eigenspace_angles_and_movement():
    Q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((6, 6)))
    assert np.allclose(relu2.top_eigenspace_angles(Q[:, :2], Q[:, :2]), 0, atol=1e-7)
    # rules out: angles that are not principal angles (orthogonal spans are at pi/2)
    assert np.allclose(relu2.top_eigenspace_angles(Q[:, :2], Q[:, 2:4]), np.pi / 2)
    W0, a0 = np.ones((3, 2)), np.array([1.0, -1.0, 1.0])
    mw, ma = relu2.neuron_movement(W0, a0, W0 * np.array([[2.0], [1.0], [1.0]]), a0 + [0, 0, 0.5])
    assert np.allclose(mw, [1, 0, 0]) and np.allclose(ma, [0, 0, 0.5])


def test_balance_is_conserved_to_second_order():
    X = data.gaussian(16, 4, seed=4)
    y = data.labels(16, seed=4, kind="sign")
    W, a = relu2.init_params(10, 4, seed=4)
    drifts = []
    for c in (0.2, 0.1):
        eta_w, eta_a = relu2.step_sizes(W, a, X, ratio=3.0, c=c)
        r = relu2.train(X, y, m=10, eta_w=eta_w, eta_a=eta_a, steps=int(40 / c), seed=0, init=(W, a),
                        progress=False)
        drifts.append(relu2.balance_drift(W, a, r.W, r.a, eta_w, eta_a))
        # rules out: a conserved quantity with the rates on the wrong layers (it drifts at first order)
        wrong = np.abs((eta_w * (to_numpy(r.W) ** 2).sum(1) - eta_a * to_numpy(r.a) ** 2)
                       - (eta_w * (to_numpy(W) ** 2).sum(1) - eta_a * to_numpy(a) ** 2)).max()
        assert wrong > 10 * drifts[-1] * np.abs(relu2.balance(W, a, eta_w, eta_a)).max()
    # the same time (c x steps fixed): the drift halves with the step
    assert 1.5 < drifts[0] / drifts[1] < 2.7
    with pytest.raises(ValueError, match="rows"):
        relu2.balance(np.ones((3, 2)), np.ones(2), 1.0, 1.0)
