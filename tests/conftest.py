"""Shared fixtures: tests run on every usable backend; GPU-only tests are skipped without a GPU.

The ``xp`` fixture runs a test with NumPy, with CuPy (where a GPU is usable) and
with the test-only *strict* device backend (:mod:`expreg_nb.testing.strict`),
which follows CuPy's rules on the CPU: a test that passes under ``strict`` does
not move device arrays to the host by accident nor mix host and device arrays.

Hypothesis profiles (``tests/test_properties.py``): ``ci`` (the default: a fixed
number of examples, ``derandomize=True``, reproducible) and ``dev`` (many more
examples, random); pick one with ``--hypothesis-profile=dev`` or
``HYPOTHESIS_PROFILE=dev``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from expreg_nb import backend

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    settings = None
else:
    _common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                   print_blob=True)
    settings.register_profile("ci", max_examples=40, derandomize=True, database=None, **_common)
    settings.register_profile("dev", max_examples=1000, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    # ``--hypothesis-profile=NAME`` (Hypothesis' own option) wins over the default above.
    profile = config.getoption("hypothesis_profile", None) if settings is not None else None
    if profile:
        settings.load_profile(profile)


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy with a usable CUDA GPU (cupy.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["numpy", "strict", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request, monkeypatch):
    """The array module of one backend, with EXPREG_BACKEND set to it for the test."""
    if request.param == "strict":
        monkeypatch.setenv(backend.STRICT_ENV_VAR, "1")
    monkeypatch.setenv(backend.ENV_VAR, request.param)
    return backend.get_xp()


@pytest.fixture
def strict_backend(monkeypatch):
    """The strict device module, selected as the active backend."""
    monkeypatch.setenv(backend.STRICT_ENV_VAR, "1")
    monkeypatch.setenv(backend.ENV_VAR, "strict")
    return backend.get_xp()


@pytest.fixture
def numpy_backend(monkeypatch):
    monkeypatch.setenv(backend.ENV_VAR, "numpy")
    return np
