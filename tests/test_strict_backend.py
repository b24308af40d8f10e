"""The test-only strict device backend follows CuPy's rules, and backend.py is the one place that selects it."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from expreg_nb import backend, data, to_numpy
from expreg_nb import exponential as ex
from expreg_nb.errors import ConfigError
from expreg_nb.testing import strict


def test_strict_needs_the_test_switch(monkeypatch):
    monkeypatch.delenv(backend.STRICT_ENV_VAR, raising=False)
    monkeypatch.setenv(backend.ENV_VAR, "strict")
    with pytest.raises(ConfigError, match="auto, numpy, cupy"):
        backend.get_xp()
    monkeypatch.setenv(backend.STRICT_ENV_VAR, "1")
    assert backend.get_xp() is strict
    assert backend.backend_name() == "strict"
    assert "strict" in backend.describe()


def test_arrays_are_their_own_type_and_go_to_the_host_explicitly():
    x = strict.asarray(np.arange(6.0).reshape(2, 3))
    assert not isinstance(x, np.ndarray) and backend.is_device_array(x)
    assert backend.array_module(x) is strict and backend.array_kind(x) == "strict"
    host = x.get()
    assert isinstance(host, np.ndarray) and host.tolist() == [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(to_numpy(x), host)
    np.testing.assert_array_equal(strict.asnumpy(x), host)
    assert pickle.loads(pickle.dumps(x)).get().tolist() == host.tolist()


@pytest.mark.parametrize("convert", [np.asarray, np.array, np.asanyarray, lambda x: np.testing.assert_allclose(x, 0),
                                     float, int, bool, lambda x: f"{x:.3f}", memoryview])
def test_implicit_host_conversion_raises(convert):
    x = strict.asarray([1.0, 2.0])
    with pytest.raises(TypeError):
        convert(x)


def test_zero_d_arrays_convert():
    x = strict.asarray([1.0, 2.0])
    s = x.sum()
    assert isinstance(s, strict.ndarray) and s.ndim == 0     # reductions stay on the device
    assert float(s) == 3.0 and int(s) == 3 and bool(s > 2) and f"{s:.1f}" == "3.0"
    assert float(x[1]) == 2.0


@pytest.mark.parametrize("mix", [
    lambda x, h: x + h, lambda x, h: h + x, lambda x, h: x @ h, lambda x, h: np.add(x, h),
    lambda x, h: strict.maximum(x, h), lambda x, h: np.concatenate([x, h]), lambda x, h: x.__setitem__(0, h[:1]),
])
def test_mixing_host_and_device_arrays_raises(mix):
    x, h = strict.asarray([1.0, 2.0]), np.array([3.0, 4.0])
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        mix(x, h)


def test_scalars_and_numpy_functions_work_on_the_device():
    x = strict.asarray([[2.0, 1.0], [1.0, 2.0]])
    for y in (x * 2.0, np.float64(2.0) * x, np.exp(x), np.mean(x, axis=0), strict.linalg.eigvalsh(x), x.T @ x):
        assert isinstance(y, strict.ndarray)
    w, v = strict.linalg.eigh(x)
    assert isinstance(w, strict.ndarray) and isinstance(v, strict.ndarray)
    y = strict.zeros((2, 2))
    y += x
    y[0] = strict.asarray([5.0, 6.0])
    assert y.get().tolist() == [[5.0, 6.0], [1.0, 2.0]]


def test_package_keeps_arrays_on_the_device(strict_backend):
    X = data.sphere(5, 3, seed=0)
    y = data.labels(5, seed=0)
    assert isinstance(X, strict.ndarray)
    W, a = ex.init_params(8, 3, seed=0)
    for out in (ex.forward(W, a, X), ex.grad(W, a, X, y), ex.gram(W, X), ex.gram_star(X)):
        assert isinstance(out, strict.ndarray)
    with pytest.raises(TypeError, match="one backend"):
        ex.forward(W, to_numpy(a), X)
