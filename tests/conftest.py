"""Shared fixtures: tests run on every usable backend; GPU-only tests are skipped without a GPU."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb import backend


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy with a usable CUDA GPU (cupy.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request, monkeypatch):
    """The array module of one backend, with EXPREG_BACKEND set to it for the test."""
    monkeypatch.setenv(backend.ENV_VAR, request.param)
    return backend.get_xp()


@pytest.fixture
def numpy_backend(monkeypatch):
    monkeypatch.setenv(backend.ENV_VAR, "numpy")
    return np
