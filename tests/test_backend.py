"""Backend selection (EXPREG_BACKEND), tested without a GPU by mocking ``cupy``."""
from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

from expreg_nb import backend
from expreg_nb.errors import ConfigError


class _FakeArray:
    """Stands in for cupy.ndarray: its module name starts with ``cupy``."""


_FakeArray.__module__ = "cupy._core.core"


def _fake_cupy(available: bool):
    mod = types.ModuleType("cupy")
    mod.is_available = lambda: available
    mod.__version__ = "0.0-fake"
    mod.ndarray = _FakeArray
    return mod


@pytest.fixture
def fake_cupy(monkeypatch):
    """Install a fake ``cupy`` module; yields a setter for its availability."""

    def install(available: bool):
        monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(available))
        backend.reset_cache()
        return sys.modules["cupy"]

    yield install
    backend.reset_cache()


@pytest.fixture(autouse=True)
def _clear_cache():
    backend.reset_cache()
    yield
    backend.reset_cache()


def test_default_is_auto(monkeypatch):
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    assert backend.requested_backend() == "auto"


@pytest.mark.parametrize("value", ["numpy", "NumPy", " numpy "])
def test_numpy_forced(monkeypatch, fake_cupy, value):
    fake_cupy(True)
    monkeypatch.setenv(backend.ENV_VAR, value)
    assert backend.get_xp() is np
    assert backend.backend_name() == "numpy"


def test_auto_takes_cupy_when_available(monkeypatch, fake_cupy):
    cp = fake_cupy(True)
    monkeypatch.setenv(backend.ENV_VAR, "auto")
    assert backend.get_xp() is cp
    assert backend.backend_name() == "cupy"
    assert backend.gpu_available()


def test_auto_falls_back_when_cupy_imports_but_no_gpu(monkeypatch, fake_cupy):
    # The real situation on a machine without a driver: import works, is_available() is False.
    fake_cupy(False)
    monkeypatch.setenv(backend.ENV_VAR, "auto")
    assert backend.get_xp() is np
    assert not backend.gpu_available()


def test_auto_falls_back_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    backend.reset_cache()
    monkeypatch.setenv(backend.ENV_VAR, "auto")
    assert backend.get_xp() is np


def test_cupy_forced_without_gpu_fails_with_one_sentence(monkeypatch, fake_cupy):
    fake_cupy(False)
    monkeypatch.setenv(backend.ENV_VAR, "cupy")
    with pytest.raises(backend.BackendError, match="EXPREG_BACKEND=cupy but no GPU backend is usable") as info:
        backend.get_xp()
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ConfigError)


def test_cupy_forced_with_gpu(monkeypatch, fake_cupy):
    cp = fake_cupy(True)
    monkeypatch.setenv(backend.ENV_VAR, "cupy")
    assert backend.get_xp() is cp


def test_unknown_value_lists_allowed(monkeypatch):
    monkeypatch.setenv(backend.ENV_VAR, "tpu")
    with pytest.raises(backend.BackendError, match="auto, numpy, cupy"):
        backend.get_xp()


def test_array_module_and_to_numpy(fake_cupy):
    fake_cupy(True)
    x = np.arange(3.0)
    assert backend.array_module(x) is np
    assert backend.array_module(x, _FakeArray()) is sys.modules["cupy"]
    assert backend.to_numpy([1, 2]).tolist() == [1, 2]


def test_cli_without_gpu_prints_one_line(tmp_path):
    """`EXPREG_BACKEND=cupy python -c ...` on a CPU machine: non-zero exit, one line naming the GPU/CuPy."""
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    env = {"EXPREG_BACKEND": "cupy", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "import expreg_nb.backend as b; b.get_xp()"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "GPU" in lines[0] and "CuPy" in lines[0]


def test_describe_names_backend_and_scale(numpy_backend):
    import expreg_nb

    text = expreg_nb.describe()
    assert "backend: numpy" in text and "EXPREG_SCALE=" in text


@pytest.mark.gpu
def test_same_seed_same_numbers_on_both_backends(monkeypatch):
    from expreg_nb import exponential as ex

    monkeypatch.setenv(backend.ENV_VAR, "numpy")
    W_np, a_np = ex.init_params(64, 5, seed=3)
    monkeypatch.setenv(backend.ENV_VAR, "cupy")
    W_cp, a_cp = ex.init_params(64, 5, seed=3)
    assert backend.is_cupy_array(W_cp)
    np.testing.assert_array_equal(backend.to_numpy(W_cp), W_np)
    np.testing.assert_array_equal(backend.to_numpy(a_cp), a_np)


def test_sparse_module_follows_the_array_module(monkeypatch):
    import scipy.sparse

    from expreg_nb.testing import strict

    assert backend.sparse_module(np) is scipy.sparse
    S = backend.sparse_module(strict).csr_matrix(
        (strict.asarray([1.0, 2.0]), (strict.asarray([0, 1]), strict.asarray([1, 0]))), shape=(2, 2))
    out = S @ strict.asarray([[3.0], [4.0]])
    # rules out: a sparse product that returns host arrays or accepts them silently
    assert isinstance(out, strict.ndarray) and out.get().ravel().tolist() == [4.0, 6.0]
    with pytest.raises(TypeError):
        S @ np.ones((2, 1))
