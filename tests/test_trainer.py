"""The one trainer (expreg_nb.training.train): models as pure functions, one vocabulary of records.

Every recorded value of every monitor is checked against a recomputation from the
parameters stored at that step, at several ``record_every``: a stale cache (the
old identity-keyed kernel cache of relu2) or a monitor computing the wrong
quantity fails here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import data, exponential as ex, relu2, training
from expreg_nb.backend import to_numpy
from expreg_nb.training import RECORDABLE, Model, TrainResult, linearize, train


def _problem(xp, n=24, d=8, seed=0, scale=1.0):
    X = data.sphere(n, d, seed=seed, xp=xp) * scale
    y = data.labels(n, seed=seed, xp=xp)
    return X, y


CASES = {
    # name: (model factory, rates, record, data scale)
    "relu2": (lambda: relu2.model(), {"W": 0.4, "a": 0.4}, RECORDABLE, 1.0),
    "relu2-first-layer": (lambda: relu2.model(), {"W": 0.5}, RECORDABLE, 1.0),
    "exp": (lambda: ex.model(), {"W": 0.3},
            ("lambda_min", "lambda_max", "kernel_drift", "movement"), 0.5),
    "exp-unnormalized": (lambda: ex.model(normalized=False), {"W": 0.3 / 40},
                         ("lambda_min", "lambda_max", "kernel_drift", "movement"), 0.5),
}


def _recompute(model, X, rates, p, p0):
    """Every recordable quantity from stored parameters, computed from scratch (host NumPy)."""
    need = [k for k, v in rates.items() if v > 0]
    H = model.gram(p, X, need)
    H0 = model.gram(p0, X, need)
    K = to_numpy(sum(rates[k] * H[k] for k in need))
    K0 = to_numpy(sum(rates[k] * H0[k] for k in need))
    ev = np.linalg.eigvalsh(K)
    out = {"lambda_min": ev[0], "lambda_max": ev[-1],
           "kernel_drift": np.linalg.norm(K - K0, 2),
           "kernel_drift_rel": np.linalg.norm(K - K0, 2) / np.linalg.norm(K0, 2)}
    for k in model.trainable:
        diff = to_numpy(p[k] - p0[k])
        per = np.abs(diff) if diff.ndim == 1 else np.linalg.norm(diff, axis=1)
        out[f"movement_{k}_max"] = per.max()
        out[f"movement_{k}_rms"] = np.sqrt(np.mean(per**2))
        out[f"movement_{k}_rel"] = np.linalg.norm(diff) / np.linalg.norm(to_numpy(p0[k]))
    if model.flips is not None:
        Xh = to_numpy(X)
        out["flipped"] = np.mean((Xh @ to_numpy(p["W"]).T > 0) != (Xh @ to_numpy(p0["W"]).T > 0))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("record_every", [1, 7, 13, 22, 26])
def test_every_recorded_value_matches_a_recomputation(xp, case, record_every):
    make, rates, record, scale = CASES[case]
    model = make()
    X, y = _problem(xp, scale=scale)
    store = {f"param_{k}": (lambda p, k=k: p[k]) for k in model.blocks}
    res = train(model, X, y, m=40, seed=3, rates=rates, steps=60, record=record,
                record_every=record_every, monitors=store, progress=False)
    h = res.history
    steps = h.record_steps
    # rules out: records taken at the wrong steps (every step, or missing the last one)
    assert list(steps) == sorted(set(range(0, 61, record_every)) | {60})
    p0 = res.params0
    checked = 0
    for j, t in enumerate(steps):
        p = {k: xp.asarray(h[f"param_{k}"][j]) for k in model.blocks}
        want = _recompute(model, X, rates, p, p0)
        for name, value in want.items():
            if name not in h:
                continue
            # rules out: a stale cached kernel (values repeated from an earlier step) or a
            # monitor of the wrong quantity (absolute vs relative, per-neuron vs Frobenius)
            assert h[name][j] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, t)
            checked += 1
    # rules out: a record silently missing (each recordable name must have been compared)
    expected_names = {n for n in _recompute(model, X, rates, p0, p0) if n in h}
    assert len(expected_names) >= 6 and checked == len(expected_names) * len(steps)


def test_old_identity_cache_bug_is_gone(xp):
    """The reproduction of the issue: n=24, m=40, record_every=7; the drift must keep rising."""
    X, y = _problem(xp)
    res = relu2.train(X, y, m=40, eta_w=0.5, eta_a=0.5, steps=200, seed=0,
                      record=("kernel_drift",), record_every=7, progress=False)
    drift = res.history["kernel_drift_rel"]
    # rules out: a drift frozen at an earlier value (the stale-cache symptom)
    assert len(np.unique(np.round(drift, 12))) == len(drift)


@pytest.mark.parametrize("which", ["exp", "relu2"])
def test_jacobian_products_agree(xp, which):
    """jvp against finite differences, vjp as its adjoint, and gram = J J^T through both."""
    X, y = _problem(xp, n=10, d=5, scale=0.5)
    model = ex.model() if which == "exp" else relu2.model()
    p = model.init(30, 5, 1)
    rng = np.random.default_rng(0)
    t = {k: xp.asarray(rng.standard_normal(p[k].shape)) for k in model.trainable}
    e = xp.asarray(rng.standard_normal(10))
    h = 1e-6
    plus = {k: p[k] + h * t[k] if k in t else p[k] for k in p}
    minus = {k: p[k] - h * t[k] if k in t else p[k] for k in p}
    fd = (to_numpy(model.forward(plus, X)) - to_numpy(model.forward(minus, X))) / (2 * h)
    jv = to_numpy(model.jvp(p, X, t))
    # rules out: a wrong jvp (missing the second-layer term, a wrong 1/sqrt(m) or 1/sqrt(d))
    np.testing.assert_allclose(jv, fd, rtol=1e-6, atol=1e-8)
    g = model.vjp(p, X, e, model.trainable)
    lhs = float(to_numpy(e) @ jv)
    rhs = sum(float((to_numpy(t[k]) * to_numpy(g[k])).sum()) for k in model.trainable)
    # rules out: a vjp that is not the adjoint of the jvp
    assert lhs == pytest.approx(rhs, rel=1e-10)
    H = model.gram(p, X, model.trainable)
    Ke = sum(to_numpy(H[k]) @ to_numpy(e) for k in model.trainable)
    # rules out: a Gram matrix that is not J J^T (wrong normalization, a missing block)
    np.testing.assert_allclose(to_numpy(model.jvp(p, X, g)), Ke, rtol=1e-10, atol=1e-12)
    # the fused residual-and-gradient path is the vjp of the residual
    r, gr = model.residual_and_grads(p, X, y, model.trainable)
    g2 = model.vjp(p, X, r, model.trainable)
    for k in model.trainable:
        np.testing.assert_allclose(to_numpy(gr[k]), to_numpy(g2[k]), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("chunk", [None, 7])
def test_linearized_model(xp, chunk):
    X, y = _problem(xp, n=12, d=6)
    model = relu2.model(chunk=chunk)
    p0 = model.init(50, 6, 2)
    lin = linearize(model, p0)
    rates = {"W": 0.3, "a": 0.3}
    r_lin = train(lin, X, y, init=p0, rates=rates, steps=40, record=("kernel_drift", "lambda_min"),
                  progress=False)
    # rules out: a linearization whose kernel moves (it must be K(0) at every step)
    assert np.all(r_lin.history["kernel_drift"] == 0)
    # the linear model's residual obeys e(t+1) = (I - K0) e(t) exactly
    K0 = sum(rates[k] * to_numpy(model.gram(p0, X, ("W", "a"))[k]) for k in rates)
    e = to_numpy(model.forward(p0, X) - y)
    for _ in range(40):
        e = e - K0 @ e
    # rules out: a linearized model that is not linear in the parameters
    assert 0.5 * float(e @ e) == pytest.approx(r_lin.final_loss, rel=1e-9)
    # one small step: the network and its linearization agree to second order
    r_net = train(model, X, y, init=p0, rates={"W": 1e-4, "a": 1e-4}, steps=1, progress=False)
    r_l1 = train(lin, X, y, init=p0, rates={"W": 1e-4, "a": 1e-4}, steps=1, progress=False)
    diff = np.linalg.norm(to_numpy(model.forward(r_net.params, X) - lin.forward(r_l1.params, X)))
    step = np.linalg.norm(to_numpy(model.forward(r_net.params, X) - model.forward(p0, X)))
    # rules out: a linearization at the wrong point (the difference would be first order)
    assert diff < 1e-3 * step


def test_train_result_vocabulary(xp):
    X, y = _problem(xp, n=8, d=4)
    res = relu2.train(X, y, m=16, eta_w=0.2, eta_a=0.1, steps=5, seed=0, progress=False)
    assert isinstance(res, TrainResult) and res.W.shape == (16, 4) and res.a0.shape == (16,)
    assert res.movement("W").shape == (16,) and res.movement("a").shape == (16,)
    assert res.movement("a", "relative") == pytest.approx(
        float(np.linalg.norm(to_numpy(res.a - res.a0)) / np.linalg.norm(to_numpy(res.a0))))
    assert res.rates == {"W": 0.2, "a": 0.1}
    with pytest.raises(AttributeError):
        res.nonsense
    with pytest.raises(ValueError, match="block must be one of"):
        res.movement("V")
    with pytest.raises(ValueError, match="kind must be"):
        res.movement("W", "percent")


def test_train_validates(xp):
    X, y = _problem(xp, n=8, d=4)
    model = ex.model()
    with pytest.raises(TypeError, match="model must be"):
        train("relu2", X, y, rates={"W": 0.1}, steps=1, m=4, seed=0)
    with pytest.raises(ValueError, match="m and seed are required"):
        train(model, X, y, rates={"W": 0.1}, steps=1)
    with pytest.raises(ValueError, match="fixed and cannot have a positive rate"):
        train(model, X, y, rates={"W": 0.1, "a": 0.1}, steps=1, m=4, seed=0)
    with pytest.raises(ValueError, match="unknown parameter blocks"):
        train(model, X, y, rates={"V": 0.1}, steps=1, m=4, seed=0)
    with pytest.raises(TypeError, match="rates must be a mapping"):
        train(model, X, y, rates=[0.1], steps=1, m=4, seed=0)
    with pytest.raises(ValueError, match="every rate is 0"):
        train(model, X, y, rates={"W": 0.0}, steps=1, m=4, seed=0)
    with pytest.raises(ValueError, match="needs a model with activations"):
        train(model, X, y, rates={"W": 0.1}, steps=1, m=4, seed=0, record=("flipped",))
    W0, a = ex.init_params(4, 4, seed=0)
    with pytest.raises(ValueError, match="signs a must all be"):
        ex.train(X, y, m=4, eta=0.1, steps=1, seed=0, init=(W0, 0.5 * a))
    with pytest.raises(TypeError, match="normalized must be True or False"):
        ex.model(normalized=None)
    with pytest.raises(TypeError, match="coupled must be True or False"):
        ex.train(X, y, m=4, eta=0.1, steps=1, seed=0, coupled="no")


def test_divergence_at_step_zero_blames_the_data(xp):
    X, y = _problem(xp, n=6, d=4)
    with pytest.raises(training.DivergenceError, match="no step was taken.*rescale the inputs"):
        ex.train(800.0 * X, y, m=8, eta=0.1, steps=3, seed=0, progress=False)


def test_gradient_descent_checks_the_objective():
    p = {"w": np.zeros(3)}
    with pytest.raises(ValueError, match="gradient of shape"):
        training.gradient_descent(p, lambda q: (q["w"] - 1, {"w": np.zeros((2, 3))}), {"w": 0.1}, 2)
    with pytest.raises(KeyError, match="no gradient for block"):
        training.gradient_descent(p, lambda q: (q["w"] - 1, {}), {"w": 0.1}, 2)
    with pytest.raises(TypeError, match="objective must be callable"):
        training.gradient_descent(p, None, {"w": 0.1}, 2)
    with pytest.raises(TypeError, match="monitor 'x' must be callable"):
        training.gradient_descent(p, lambda q: (q["w"], {"w": q["w"]}), {"w": 0.1}, 2, monitors={"x": 3})


def test_relative_loss_with_a_perfect_start():
    h = training.History(loss=np.array([0.0, 0.0]), record_steps=np.array([0, 1]))
    with pytest.raises(ValueError, match="L\\(0\\) = 0"):
        h.relative_loss


def test_model_repr_and_linearize_checks():
    model = ex.model(normalized=False)
    assert "normalized=False" in repr(model) and isinstance(model, Model)
    with pytest.raises(ValueError, match="params0 must be a dict"):
        linearize(model, {"W": np.zeros((2, 2))})
    assert math.isfinite(float(ex.model().gram_limit(np.eye(3) * 0.5)["W"].sum()))
    assert ex.model(normalized=False).gram_limit(np.eye(3)) is None
