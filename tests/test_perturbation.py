"""Chapter 3 (perturbation lemmas): expreg_nb.bounds and the perturbation helpers of expreg_nb.exponential."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb.exponential import bounds as bd
from expreg_nb.exponential import theorem as th
from expreg_nb import data, exponential as ex, to_numpy


def test_constants():
    s = np.linspace(0.0, bd.R_MAX, 1001)
    assert np.all(np.expm1(2 * s) <= bd.GRAM_C * s + 1e-15)
    t = np.linspace(-bd.R_MAX, bd.R_MAX, 1001)
    assert np.all(np.abs(np.expm1(t) - t) <= bd.TAYLOR_C * t**2 + 1e-15)
    assert 2.214 < bd.GRAM_C < 2.2141 and 0.5525 < bd.TAYLOR_C < 0.553


def test_formulas_values():
    tau = bd.truncation_tau(100, 10, 0.1)
    assert tau == pytest.approx(math.sqrt(2 * math.log(8 * 100 * 10 / 0.1)))
    assert bd.truncation_bound(100, 10, 0.1) == pytest.approx(math.exp(tau))
    assert bd.moved_level(3.0, 0.1) == pytest.approx(3.0 * math.exp(0.1))
    assert bd.gram_entry_bound(2.0, 0.05) == pytest.approx(4.0 * math.expm1(0.1))
    assert bd.gram_perturbation(5, 2.0, 0.05) == pytest.approx(bd.GRAM_C * 5 * 4 * 0.05)
    assert bd.movement_bound(2.0, 16, 64, 3.0, 0.5) == pytest.approx(4 * 2 * 4 * 3 / (8 * 0.5))
    assert bd.grad_neuron_bound(2.0, 16, 64, 3.0) == pytest.approx(2 * 0.5 * 3)
    assert bd.grad_total_bound(2.0, 16, 3.0) == pytest.approx(24.0)
    lam, B, n = 1.5, 10.0, 8
    assert bd.gram_perturbation(n, B, bd.safe_radius(lam, n, B)) == pytest.approx(lam / 4)
    assert bd.safe_radius(100.0, 1, 1.0) == bd.R_MAX
    # eps = 1/4 at chernoff_width, up to the truncation bias in mu
    m_star = bd.chernoff_width(lam, B, 3.0, n, 0.1)
    eps = 1 - bd.chernoff_lambda_min(lam, m_star, B, 3.0, n, 0.1) / (lam - bd.truncation_bias(n, m_star, 0.1))
    assert eps == pytest.approx(0.25 * math.sqrt(lam / (lam - bd.truncation_bias(n, m_star, 0.1))))
    # the truncation bias n e^4 sqrt(delta / (4 m)) (Cauchy-Schwarz with E xi^2 <= e^8)
    assert bd.truncation_bias(16, 1000, 0.1) == pytest.approx(16 * math.exp(4) * math.sqrt(0.1 / 4000))
    assert bd.concentration_bound(16, 1000, 5.0, 0.1) == pytest.approx(
        bd.concentration_bound(16, 1000, 5.0, 0.1, bias=False) + bd.truncation_bias(16, 1000, 0.1))
    # rules out: dropping the truncation bias. At chernoff_width (eps = 1/4) the bound is below
    # 3/4 lam; chernoff_width_biased is the smallest width where it reaches 3/4 lam.
    Xs = data.sphere(16, 8, seed=0)
    lam_s, G_s = ex.lambda_min_star(Xs), float(np.linalg.norm(to_numpy(Xs @ Xs.T), 2))
    B_s = bd.truncation_bound(1e8, 16, 0.1)
    m_c = bd.chernoff_width(lam_s, B_s, G_s, 16, 0.1)
    assert bd.chernoff_lambda_min(lam_s, m_c, B_s, G_s, 16, 0.1) < 0.75 * lam_s
    m_b = bd.chernoff_width_biased(lam_s, B_s, G_s, 16, 0.1)
    assert m_b > m_c
    assert bd.chernoff_lambda_min(lam_s, m_b, B_s, G_s, 16, 0.1) >= 0.75 * lam_s
    assert bd.chernoff_lambda_min(lam_s, m_b * (1 - 1e-6), B_s, G_s, 16, 0.1) < 0.75 * lam_s
    assert bd.chernoff_width_biased(lam_s, B_s, G_s, 16, 0.1, level=0.5) < m_c
    # arrays broadcast; bound decreases in m
    ms = np.array([1e2, 1e4, 1e6])
    c = bd.concentration_bound(8, ms, 5.0, 0.1)
    assert c.shape == (3,) and np.all(np.diff(c) < 0)
    assert isinstance(bd.concentration_bound(8, 100, 5.0, 0.1), float)


def test_fixed_point_widths():
    Xs = data.sphere(16, 8, seed=0)
    lam, G = ex.lambda_min_star(Xs), float(np.linalg.norm(to_numpy(Xs @ Xs.T), 2))
    w = th.chernoff_fixed_width(lam, G, 16, 0.1)
    B = bd.truncation_bound(w, 16, 0.1)
    # rules out: a width whose own B is not the one used (B frozen at another m)
    assert bd.chernoff_width_biased(lam, B, G, 16, 0.1) == pytest.approx(w, rel=1e-9)
    assert bd.chernoff_lambda_min(lam, w, B, G, 16, 0.1) >= 0.75 * lam * (1 - 1e-9)
    assert w > bd.chernoff_width_biased(lam, bd.truncation_bound(1e8, 16, 0.1), G, 16, 0.1)
    h = th.hoeffding_fixed_width(lam, 16, 0.1)
    Bh = bd.truncation_bound(h, 16, 0.1)
    # rules out: a Hoeffding width that misses lam / 4 at its own B
    assert bd.concentration_bound(16, h, Bh, 0.1, bias=False) == pytest.approx(lam / 4, rel=1e-9)
    with pytest.raises(TypeError):
        th.chernoff_fixed_width(np.array([lam]), G, 16, 0.1)
    with pytest.raises(ValueError, match="delta"):
        th.hoeffding_fixed_width(lam, 16, 1.5)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: bd.truncation_tau(0, 10, 0.1), ValueError),
        (lambda: bd.truncation_tau(10, 10, 1.5), ValueError),
        (lambda: bd.truncation_bound(10, "n", 0.1), TypeError),
        (lambda: bd.gram_perturbation(4, 2.0, 0.2), ValueError),
        (lambda: bd.moved_level(2.0, -0.1), ValueError),
        (lambda: bd.movement_bound(1.0, 4, 4, 1.0, 0.0), ValueError),
        (lambda: bd.grad_total_bound(True, 4, 1.0), TypeError),
        (lambda: bd.concentration_bound(4, float("nan"), 2.0, 0.1), ValueError),
    ],
)
def test_validation(call, exc):
    with pytest.raises(exc):
        call()


def test_validation_names_argument():
    with pytest.raises(ValueError, match="delta"):
        bd.truncation_bound(10, 10, 2.0)
    with pytest.raises(ValueError, match="R"):
        bd.gram_perturbation(4, 2.0, 0.5)


def test_truncation_level(xp):
    X = data.sphere(7, 3, seed=1)
    W, _ = ex.init_params(50, 3, seed=1)
    expected = np.exp(np.abs(to_numpy(X) @ to_numpy(W).T).max())
    assert ex.truncation_level(W, X) == pytest.approx(expected, rel=1e-14)
    assert ex.truncation_level(W, X, chunk=7) == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="d="):
        ex.truncation_level(W, X[:, :2])


def test_gram_perturbation_lemma_holds(xp):
    """Random and ascent perturbations inside the R-ball satisfy the entry and norm bounds."""
    n, d, m, R = 10, 4, 200, 0.1
    X = data.sphere(n, d, seed=3)
    W0, _ = ex.init_params(m, d, seed=3)
    B = ex.truncation_level(W0, X)
    H0 = to_numpy(ex.gram(W0, X))
    rng = np.random.default_rng(0)
    V = rng.standard_normal((m, d))
    V *= R * rng.random((m, 1)) / np.linalg.norm(V, axis=1, keepdims=True)
    W_asc = ex.gram_ascent_perturbation(W0, X, R, iters=3)
    assert np.allclose(np.linalg.norm(to_numpy(W_asc - W0), axis=1), R, rtol=1e-12)
    for W in (W0 + xp.asarray(V), W_asc):
        dH = to_numpy(ex.gram(W, X)) - H0
        assert np.abs(dH).max() <= bd.gram_entry_bound(B, R)
        assert np.linalg.norm(dH, 2) <= bd.gram_perturbation(n, B, R)
    # the ascent finds a larger change than the random perturbation
    assert np.linalg.norm(to_numpy(ex.gram(W_asc, X)) - H0, 2) > np.linalg.norm(
        to_numpy(ex.gram(W0 + xp.asarray(V), X)) - H0, 2)


def test_gram_ascent_same_on_chunks_and_validates(xp):
    X = data.sphere(6, 3, seed=4)
    W0, _ = ex.init_params(40, 3, seed=4)
    A = to_numpy(ex.gram_ascent_perturbation(W0, X, 0.05, iters=2))
    Bc = to_numpy(ex.gram_ascent_perturbation(W0, X, 0.05, iters=2, chunk=7))
    assert np.allclose(A, Bc, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="R"):
        ex.gram_ascent_perturbation(W0, X, -1.0)
    with pytest.raises(TypeError, match="iters"):
        ex.gram_ascent_perturbation(W0, X, 0.1, iters=1.5)


def test_grad_bounds(xp):
    n, d, m = 12, 5, 300
    X, y = data.sphere(n, d, seed=5), data.labels(n, seed=5)
    W, a = ex.init_params(m, d, seed=5)
    B1 = ex.truncation_level(W, X)  # R = 0: B_1 = B
    e = np.linalg.norm(to_numpy(ex.forward(W, a, X) - y))
    g = to_numpy(ex.grad(W, a, X, y))
    assert np.linalg.norm(g, axis=1).max() <= bd.grad_neuron_bound(B1, n, m, e)
    ev = to_numpy(ex.forward(W, a, X) - y)
    assert np.sum(g**2) == pytest.approx(ev @ to_numpy(ex.gram(W, X)) @ ev, rel=1e-10)
    assert np.linalg.norm(g) <= bd.grad_total_bound(B1, n, e)
