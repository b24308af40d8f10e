"""The ``dtype`` option: float32 training for sweeps; float64 stays the default, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb import data, relu2, to_numpy
from expreg_nb import exponential as ex
from expreg_nb.chunks import check_dtype


def _data(xp, n=16, d=4, seed=0):
    return data.sphere(n, d, seed=seed, xp=xp), 0.5 * data.labels(n, seed=seed, xp=xp)


def _exp_run(X, y, steps=3000, **kw):
    return ex.train(X, y, m=512, eta=0.05, steps=steps, seed=0, progress=False, **kw)


def _relu_run(X, y, steps=3000, **kw):
    return relu2.train(X, y, m=512, eta_w=0.5, eta_a=0.5, steps=steps, seed=0, progress=False, **kw)


def test_check_dtype():
    assert check_dtype(None) == np.float64
    assert check_dtype("float32") == np.float32 and check_dtype(np.float32) == np.float32
    for bad in ("float16", "int64", np.int32, "double precision", object()):
        with pytest.raises(ValueError, match="dtype must be one of float64, float32"):
            check_dtype(bad)
    with pytest.raises(ValueError, match="dtype"):
        ex.model(dtype="float16")
    with pytest.raises(ValueError, match="dtype"):
        relu2.train(np.ones((2, 2)), np.ones(2), m=2, eta_w=1.0, eta_a=1.0, steps=1, seed=0, dtype="bfloat16")


@pytest.mark.parametrize("mod", [ex, relu2])
def test_init_float32_rounds_the_float64_draws(xp, mod):
    W64, a64 = mod.init_params(9, 3, seed=4)
    W32, a32 = mod.init_params(9, 3, seed=4, dtype="float32")
    assert W32.dtype == np.float32 and a32.dtype == np.float32 and W64.dtype == np.float64
    np.testing.assert_array_equal(to_numpy(W32), to_numpy(W64).astype(np.float32))
    np.testing.assert_array_equal(to_numpy(a32), to_numpy(a64).astype(np.float32))


@pytest.mark.parametrize("run", [_exp_run, _relu_run])
def test_default_is_float64_bit_for_bit(xp, run):
    X, y = _data(xp)
    default, explicit = run(X, y, steps=40), run(X, y, steps=40, dtype="float64")
    assert default.W.dtype == np.float64 and default.a.dtype == np.float64
    np.testing.assert_array_equal(default.history.loss, explicit.history.loss)
    np.testing.assert_array_equal(to_numpy(default.W), to_numpy(explicit.W))
    assert "dtype" not in default.model.options


def test_float64_step_bit_for_bit_with_the_unchunked_formula(xp):
    """The one-block step computes exactly the straightforward unchunked formulas of before."""
    X, y = _data(xp, n=12, d=5)
    W, a = ex.init_params(64, 5, seed=1)
    s = 1.0 / np.sqrt(64)
    E = xp.exp(X @ W.T)
    e_ref = (E @ a) * s - y
    g_ref = (a[:, None] * s) * ((E * e_ref[:, None]).T @ X)   # E diag(e), then X: n x m, not n x d
    e, g = ex.model().residual_and_grads({"W": W, "a": a}, X, y, ("W",))
    g = g["W"]
    np.testing.assert_array_equal(to_numpy(e), to_numpy(e_ref))
    np.testing.assert_array_equal(to_numpy(g), to_numpy(g_ref))
    W2, a2 = relu2.init_params(64, 5, seed=1)
    Z = (X @ W2.T) * (1.0 / np.sqrt(5))
    A = xp.maximum(Z, 0.0)
    e_ref = (A @ a2) * s - y
    gW_ref = (a2[:, None] * (s / np.sqrt(5))) * (((Z > 0) * e_ref[:, None]).T @ X)
    ga_ref = (A.T @ e_ref) * s
    e, g = relu2.model().residual_and_grads({"W": W2, "a": a2}, X, y, ("W", "a"))
    np.testing.assert_array_equal(to_numpy(e), to_numpy(e_ref))
    np.testing.assert_array_equal(to_numpy(g["W"]), to_numpy(gW_ref))
    np.testing.assert_array_equal(to_numpy(g["a"]), to_numpy(ga_ref))


@pytest.mark.parametrize("run", [_exp_run, _relu_run])
def test_float32_training(xp, run):
    """float32 keeps its dtype, sums the loss in float64, tracks float64 and reaches its stated floor."""
    X, y = _data(xp)
    r64, r32 = run(X, y), run(X, y, dtype="float32")
    assert r32.W.dtype == np.float32 and r32.a.dtype == np.float32 and r32.W0.dtype == np.float32
    assert r32.model.options["dtype"] == "float32"
    L64, L32 = r64.history.loss, r32.history.loss
    assert L32.dtype == np.float64
    # Same seed: the same run to float32 accuracy while the loss is well above float32's floor.
    early = L64 > 1e-6 * L64[0]
    np.testing.assert_allclose(L32[early], L64[early], rtol=1e-3)
    np.testing.assert_allclose(to_numpy(r32.W), to_numpy(r64.W), rtol=0, atol=1e-4)
    # The loss floor of float32 on this problem: L(T)/L(0) <= 1e-9 (float64 goes on to ~1e-24 or 1e-10).
    assert L32[-1] <= 1e-9 * L32[0]


@pytest.mark.parametrize("mod", [ex, relu2])
def test_float32_model_functions(xp, mod):
    X, y = _data(xp, n=10, d=3)
    model64, model32 = mod.model(), mod.model(dtype="float32")
    p64 = model64.init(40, 3, 2)
    p32 = model32.init(40, 3, 2)
    need = model32.trainable
    e64, g64 = model64.residual_and_grads(p64, X, y, need)
    e32, g32 = model32.residual_and_grads(p32, X, y, need)
    assert e32.dtype == np.float64
    np.testing.assert_allclose(to_numpy(e32), to_numpy(e64), rtol=1e-5, atol=1e-5)
    for k in need:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(to_numpy(g32[k]), to_numpy(g64[k]), rtol=1e-4, atol=1e-5)
    u32 = model32.forward(p32, X)
    assert u32.dtype == np.float32
    np.testing.assert_allclose(to_numpy(u32), to_numpy(model64.forward(p64, X)), rtol=1e-5, atol=1e-5)
    tangents = {k: xp.ones_like(p64[k]) for k in need}
    du32 = model32.jvp(p32, X, {k: v.astype(np.float32) for k, v in tangents.items()})
    assert du32.dtype == np.float32
    np.testing.assert_allclose(to_numpy(du32), to_numpy(model64.jvp(p64, X, tangents)), rtol=1e-4, atol=1e-4)
    v32 = model32.vjp(p32, X, e64, need)
    v64 = model64.vjp(p64, X, e64, need)
    for k in need:
        assert v32[k].dtype == np.float32
        np.testing.assert_allclose(to_numpy(v32[k]), to_numpy(v64[k]), rtol=1e-4, atol=1e-5)
    H32, H64 = model32.gram(p32, X, need), model64.gram(p64, X, need)
    for k in need:
        assert H32[k].dtype == np.float32
        np.testing.assert_allclose(to_numpy(H32[k]), to_numpy(H64[k]), rtol=1e-4, atol=1e-5)
    # Given parameters are rounded to the model's dtype.
    checked = model32.check_params(p64, X)
    assert all(v.dtype == np.float32 for v in checked.values())
