"""Tests of expreg_nb.exponential.reference against the library's model and independent recomputations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import data, to_numpy
from expreg_nb import exponential as ex
from expreg_nb.exponential import reference as ref


@pytest.fixture
def net():
    X = to_numpy(data.sphere(5, 3, seed=0))
    y = to_numpy(data.labels(5, seed=0))
    W, a = (to_numpy(v) for v in ex.init_params(7, 3, seed=1))
    return W, a, X, y


@pytest.mark.parametrize("normalized", [True, False])
def test_hessian_vector_matches_finite_differences(net, normalized):
    W, a, X, y = net
    V = np.random.default_rng(2).standard_normal(W.shape)
    h = 1e-5
    fd = (to_numpy(ex.grad(W + h * V, a, X, y, normalized=normalized))
          - to_numpy(ex.grad(W - h * V, a, X, y, normalized=normalized))) / (2 * h)
    hv = ref.hessian_vector(W, a, X, y, V, normalized=normalized)
    assert np.linalg.norm(hv - fd) / np.linalg.norm(fd) < 1e-7   # rules out: a wrong 1/m or a dropped term


def test_hessian_vector_is_the_full_hessian(net):
    W, a, X, y = net
    md = W.size
    H = np.column_stack([ref.hessian_vector(W, a, X, y, np.eye(md)[k].reshape(W.shape)).ravel()
                         for k in range(md)])
    assert np.allclose(H, H.T, atol=1e-10)
    J = ref.jacobian(W, a, X)
    e = to_numpy(ex.forward(W, a, X)) - y
    # at e = 0 only Gauss-Newton remains: check the curvature part is e-linear
    assert not np.allclose(H, J.T @ J)       # rules out: the curvature term dropped (e != 0 here)
    H0 = np.column_stack([ref.hessian_vector(W, a, X, to_numpy(ex.forward(W, a, X)),
                                            np.eye(md)[k].reshape(W.shape)).ravel() for k in range(md)])
    assert np.allclose(H0, J.T @ J, rtol=1e-12, atol=1e-12)
    assert np.linalg.norm(e) > 0


def test_jacobian_and_literal_gram(net):
    W, a, X, y = net
    J = ref.jacobian(W, a, X)
    assert J.shape == (5, 21)
    assert np.allclose(J @ J.T, to_numpy(ex.gram(W, X)), rtol=1e-12)
    assert np.allclose(ref.gram_literal(W, X), to_numpy(ex.gram(W, X)), rtol=1e-12)
    assert np.allclose(ref.gram_literal(W, X, normalized=False), 7 * ref.gram_literal(W, X), rtol=1e-12)
    # the Jacobian is the derivative of forward
    V = np.random.default_rng(3).standard_normal(W.shape)
    h = 1e-6
    fd = (to_numpy(ex.forward(W + h * V, a, X)) - to_numpy(ex.forward(W - h * V, a, X))) / (2 * h)
    assert np.allclose(J @ V.ravel(), fd, rtol=1e-6)


def test_du_relu_model():
    rng = np.random.default_rng(0)
    W, X = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    a, y = rng.choice([-1.0, 1.0], 6), rng.uniform(-1, 1, 4)
    f = ref.du_relu_forward(W, a, X)
    assert np.allclose(f, [sum(a[r] * max(W[r] @ X[i], 0) for r in range(6)) / math.sqrt(6)
                           for i in range(4)])
    V = rng.standard_normal(W.shape)
    h = 1e-6

    def L(Wv):
        return 0.5 * np.sum((ref.du_relu_forward(Wv, a, X) - y) ** 2)

    fd = (L(W + h * V) - L(W - h * V)) / (2 * h)
    assert abs(np.sum(ref.du_relu_grad(W, a, X, y) * V) - fd) < 1e-6 * max(1, abs(fd))


def test_expected_initial_residual_monte_carlo():
    X = to_numpy(data.ball(4, 3, seed=1))
    y = to_numpy(data.labels(4, seed=1))
    exact = ref.expected_initial_residual(X, y)
    assert exact == pytest.approx(np.sum(y**2) + np.sum(np.exp(2 * np.sum(X**2, 1))))
    draws = np.array([np.sum((to_numpy(ex.forward(*ex.init_params(64, 3, seed=s), X)) - y) ** 2)
                      for s in range(400)])
    se = draws.std(ddof=1) / math.sqrt(draws.size)
    assert abs(draws.mean() - exact) < 4 * se          # rules out: exp(||x||^2) instead of exp(2||x||^2)


def test_initial_residual_tail_formula():
    assert ref.initial_residual_tail(16, 10.0, 0.1) == pytest.approx(
        4 + 4 * 10 * math.sqrt(2 * math.log(8 * 16 / 0.1)))
    with pytest.raises(ValueError):
        ref.initial_residual_tail(16, 10.0, 1.5)


def test_kernel_residuals():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 4))
    H = A @ A.T
    e0 = rng.standard_normal(4)
    eta = 0.5 / np.linalg.eigvalsh(H)[-1]
    out = ref.kernel_residuals(H, e0, eta, 3)
    e = e0.copy()
    for t in range(4):
        assert np.allclose(out[t], e)
        e = e - eta * H @ e
    with pytest.raises(ValueError):
        ref.kernel_residuals(A, e0, eta, 3)


@pytest.mark.parametrize("call, exc", [
    (lambda: ref.hessian_vector(np.ones((2, 2)), np.ones(3), np.ones((2, 2)), np.ones(2), np.ones((2, 2))),
     ValueError),
    (lambda: ref.jacobian("W", np.ones(2), np.ones((2, 2))), TypeError),
    (lambda: ref.jacobian(np.ones((2, 2)), np.ones(2), np.ones((2, 2)), normalized=1), TypeError),
    (lambda: ref.expected_initial_residual(np.ones((2, 2)), np.ones(3)), ValueError),
])
def test_validation(call, exc):
    with pytest.raises(exc):
        call()


def test_part1_text_fixes_stay_fixed():
    """Prose fixes of issue 19 that no numerical assert can see."""
    from pathlib import Path

    book = Path(__file__).resolve().parents[1] / "book" / "part1"
    mg, pt, cv = ((book / f).read_text() for f in ("model_and_gradient.md", "perturbation.md",
                                                   "convergence.md"))
    # rules out: the notation line defining H(0) by itself
    assert "$H(0)$ is short for $H(W(0))$" in mg and "$H(0)$ is short for $H(0)$" not in mg
    # rules out: epsilon <= 1/4 at the plain Chernoff width (the bias makes it larger)
    assert "gives $\\epsilon\\le\\frac14$" not in pt and "slightly *above*" in pt
    # rules out: claiming SymPy proves the remainder chain, or a constant-1 n^2 curve
    assert "SymPy composes the chain of inequalities" not in cv
    assert "SymPy does not prove the inequalities themselves" in cv
    assert "with constant 1" not in cv
