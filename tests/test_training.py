"""The shared gradient-descent loop."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb.training import DivergenceError, gradient_descent


def _linear_problem(A, b):
    def objective(p):
        r = A @ p["x"] - b
        return r, {"x": A.T @ r}

    return objective


def test_converges_on_least_squares_and_records():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 5))
    b = rng.standard_normal(20)
    eta = 1.0 / np.linalg.eigvalsh(A.T @ A)[-1]
    params, hist = gradient_descent(
        {"x": np.zeros(5)}, _linear_problem(A, b), {"x": eta}, 2000,
        monitors={"norm": lambda p: np.linalg.norm(p["x"])}, record_every=100,
    )
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(params["x"], x_star, rtol=1e-8)
    assert hist.steps == 2000 and len(hist.loss) == 2001
    assert hist.record_steps[0] == 0 and hist.record_steps[-1] == 2000
    assert hist["norm"].shape == hist.record_steps.shape
    assert np.all(np.diff(hist.loss) <= 1e-12)


def test_tol_stops_early():
    A = np.eye(3)
    params, hist = gradient_descent({"x": np.ones(3)}, _linear_problem(A, np.zeros(3)), {"x": 0.5}, 500, tol=1e-10)
    assert hist.converged and hist.steps < 500
    assert hist.relative_loss[-1] <= 1e-10


def test_frozen_block_does_not_move():
    def objective(p):
        r = p["x"] + p["z"]
        return r, {"x": r, "z": r}

    params, _ = gradient_descent({"x": np.ones(2), "z": np.ones(2)}, objective, {"x": 0.1, "z": 0.0}, 10)
    np.testing.assert_array_equal(params["z"], np.ones(2))
    assert np.all(params["x"] < 1)


def test_divergence_names_step_and_suggests_smaller_rate():
    A = np.eye(2) * 10.0
    with pytest.raises(DivergenceError, match=r"diverged at step \d+.*smaller one \(e\.g\. eta=") as info:
        gradient_descent({"x": np.ones(2)}, _linear_problem(A, np.zeros(2)), {"x": 1.0}, 10_000,
                         rate_names={"x": "eta"})
    assert info.value.step > 0


def test_bad_arguments():
    obj = _linear_problem(np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="steps must be >= 0"):
        gradient_descent({"x": np.ones(2)}, obj, {"x": 0.1}, -1)
    with pytest.raises(ValueError, match=r"rates\['x'\] must be >= 0"):
        gradient_descent({"x": np.ones(2)}, obj, {"x": -0.1}, 1)
    with pytest.raises(ValueError, match="unknown parameter blocks"):
        gradient_descent({"x": np.ones(2)}, obj, {"y": 0.1}, 1)
    with pytest.raises(KeyError, match="recorded: loss"):
        gradient_descent({"x": np.ones(2)}, obj, {"x": 0.1}, 1)[1]["nope"]
