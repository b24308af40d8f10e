"""The step's feature budget: each feature block formed once while it fits, the same numbers on every path."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb import chunks, data, relu2, to_numpy
from expreg_nb import exponential as ex
from expreg_nb.errors import ConfigError


@pytest.fixture
def budget(monkeypatch):
    """Set chunks.FEATURE_BYTES for one test (restored afterwards)."""
    def set_budget(value):
        monkeypatch.setattr(chunks, "FEATURE_BYTES", value)
    return set_budget


def _step(model):
    """``step(W, a, X, y)``: the model's residual and gradients, as ``training.train`` calls them per step."""
    def step(W, a, X, y):
        e, g = model.residual_and_grads({"W": W, "a": a}, X, y, model.trainable)
        return e, g
    return step


CHUNK = 7
CASES = [_step(ex.model(normalized=False, chunk=CHUNK)), _step(relu2.model(chunk=CHUNK))]


def _problem(xp, n=9, d=3, m=40):
    X, y = data.sphere(n, d, seed=3, xp=xp), data.labels(n, seed=3, xp=xp)
    W, a = ex.init_params(m, d, seed=3)
    return W, a, X, y


@pytest.mark.parametrize("step", CASES, ids=["exponential", "relu2"])
def test_features_formed_once_within_the_budget(xp, budget, step):
    W, a, X, y = _problem(xp)
    assert X.shape[0] * W.shape[0] * 8 < chunks.SMALL_BYTES  # also covers the small straight-line path
    n, m = X.shape[0], W.shape[0]
    results = {}
    for label, limit, expected in [("all", 10**9, m),            # every block kept: each formed once
                                   ("none", 0, 2 * m),            # nothing kept: formed for u, again for the gradient
                                   ("some", 8 * n * 14, 2 * m - 14)]:  # the first two chunks of 7 kept
        budget(limit)
        with chunks.trace_features() as formed:
            results[label] = step(W, a, X, y)
        assert sum(formed) == expected, label
    for label in ("none", "some"):
        e, g = results[label]
        np.testing.assert_allclose(to_numpy(e), to_numpy(results["all"][0]), rtol=1e-13, atol=1e-15)
        gs = g if isinstance(g, dict) else {"W": g}
        ref = results["all"][1] if isinstance(g, dict) else {"W": results["all"][1]}
        for k in gs:
            np.testing.assert_allclose(to_numpy(gs[k]), to_numpy(ref[k]), rtol=1e-13, atol=1e-15)


def test_one_block_when_unchunked_and_within_budget(xp, budget):
    W, a, X, y = _problem(xp, m=300)
    step = _step(ex.model(normalized=False))
    budget(10**9)
    with chunks.trace_features() as formed:
        step(W, a, X, y)
    assert formed == [300]
    # Over the budget, but the streamed chunks of CHUNK_BYTES hold all 300 neurons in one chunk:
    # a single chunk is formed once all the same.
    budget(0)
    with chunks.trace_features() as formed:
        step(W, a, X, y)
    assert formed == [300]


def test_public_results_do_not_depend_on_the_budget(xp, budget):
    W, a, X, y = _problem(xp, m=50)
    budget(10**9)
    ref = [to_numpy(v) for v in (ex.grad(W, a, X, y), *relu2.grads(W, a, X, y))]
    for limit, chunk in [(0, None), (0, 3), (8 * 9 * 10, 4), (10**9, 6)]:
        budget(limit)
        got = [to_numpy(v) for v in (ex.grad(W, a, X, y, chunk=chunk), *relu2.grads(W, a, X, y, chunk=chunk))]
        for r, g in zip(ref, got):
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


def test_feature_budget_overrides(monkeypatch):
    monkeypatch.setattr(chunks, "FEATURE_BYTES", None)
    monkeypatch.setenv(chunks.BUDGET_ENV_VAR, "12345")
    assert chunks.feature_budget() == 12345
    monkeypatch.setattr(chunks, "FEATURE_BYTES", 77)
    assert chunks.feature_budget() == 77           # the module setting wins
    monkeypatch.setattr(chunks, "FEATURE_BYTES", None)
    monkeypatch.setenv(chunks.BUDGET_ENV_VAR, "lots")
    with pytest.raises(ConfigError, match="EXPREG_FEATURE_BYTES must be a non-negative number of bytes"):
        chunks.feature_budget()
    monkeypatch.delenv(chunks.BUDGET_ENV_VAR)
    default = chunks.feature_budget()
    assert default >= chunks.CHUNK_BYTES and default == chunks.feature_budget()  # cached: a run never switches


def test_kept_chunks():
    sl = chunks.neuron_slices(10, 4, chunk=3)     # widths 3, 3, 3, 1
    old = chunks.FEATURE_BYTES
    try:
        for budget_bytes, kept in [(0, 0), (4 * 8 * 3, 1), (4 * 8 * 8, 2), (4 * 8 * 10, 4)]:
            chunks.FEATURE_BYTES = budget_bytes
            assert chunks.kept_chunks(sl, 4, 8) == kept
    finally:
        chunks.FEATURE_BYTES = old


def test_workspace_is_reused_and_never_returned(numpy_backend, budget, monkeypatch):
    budget(10**9)
    monkeypatch.setattr(chunks, "SMALL_BYTES", 0)  # these blocks are small: use the workspace all the same
    chunks.release_workspace()
    W, a, X, y = _problem(np, m=64)
    step, step2 = _step(ex.model(normalized=False)), _step(relu2.model())
    e1, g1 = step(W, a, X, y)
    g1 = g1["W"]
    buf = chunks.kept_workspace()
    assert buf is not None and buf.size == X.shape[0] * 64
    e2, g2 = step(W, a, X, y)
    g2 = g2["W"]
    assert chunks.kept_workspace() is buf                 # the same memory, no new n x m array
    for v in (e1, g1, e2, g2):
        assert not np.shares_memory(v, buf)
    np.testing.assert_array_equal(g1, g2)
    # A smaller step views the same buffer; a larger one replaces it.
    step(W[:10], a[:10], X, y)
    assert chunks.kept_workspace() is buf
    step2(np.vstack([W, W]), np.hstack([a, a]), X, y)
    assert chunks.kept_workspace() is not buf and chunks.kept_workspace().size == X.shape[0] * 128
    budget(0)                                        # nothing is kept beyond the budget
    chunks.release_workspace()
    step(W, a, X, y)
    assert chunks.kept_workspace() is None
    chunks.release_workspace()


def test_gram_is_exactly_symmetric(xp):
    W, a, X, _ = _problem(xp, n=30, m=100)
    H = to_numpy(ex.gram(W, X))
    np.testing.assert_array_equal(H, H.T)
    for Hk in relu2.gram_layers(W, a, X):
        Hk = to_numpy(Hk)
        np.testing.assert_array_equal(Hk, Hk.T)


@pytest.mark.parametrize("small", [None, 0])
def test_large_path_same_numbers(xp, monkeypatch, small):
    """With SMALL_BYTES = 0 the workspace path runs at test sizes: the same numbers as the straight-line one."""
    W, a, X, y = _problem(xp, m=50)
    ref = [to_numpy(v) for v in (ex.grad(W, a, X, y), *relu2.grads(W, a, X, y), ex.gram(W, X),
                                 *relu2.gram_layers(W, a, X), ex.forward(W, a, X), relu2.forward(W, a, X))]
    if small is not None:
        monkeypatch.setattr(chunks, "SMALL_BYTES", small)
    for chunk in (None, 4):
        got = [to_numpy(v) for v in (ex.grad(W, a, X, y, chunk=chunk), *relu2.grads(W, a, X, y, chunk=chunk),
                                     ex.gram(W, X, chunk=chunk), *relu2.gram_layers(W, a, X, chunk=chunk),
                                     ex.forward(W, a, X, chunk=chunk), relu2.forward(W, a, X, chunk=chunk))]
        for r, g in zip(ref, got):
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)
    chunks.release_workspace()
