"""The one place that decides the array module (NumPy or CuPy).

``EXPREG_BACKEND`` selects it:

``auto`` (default)
    CuPy when :func:`cupy.is_available` is true (a driver and a device are
    usable), NumPy otherwise.  ``import cupy`` alone is not a test: on a machine
    without a driver the import succeeds and the first allocation fails.
``numpy``
    NumPy, even where a GPU is usable (useful for reproducing a CPU run).
``cupy``
    CuPy, and fail at once with one sentence if no GPU is usable.
``strict`` (tests only)
    :mod:`expreg_nb.testing.strict`, a CPU stand-in for CuPy that follows its
    rules (its own array type, ``.get()`` to the host, implicit conversion to
    NumPy raises).  Accepted only when ``EXPREG_ALLOW_STRICT=1`` is also set,
    so a reader can never select it by accident.

Every numerical function in :mod:`expreg_nb` computes with the module of its
input arrays (:func:`array_module`) and creates new arrays with :func:`get_xp`.
Results meant for plotting go through :func:`to_numpy`.
"""
from __future__ import annotations

import functools
import importlib
import os

import numpy as np

from .errors import ConfigError, env_choice

__all__ = ["BACKENDS", "ENV_VAR", "STRICT_ENV_VAR", "STRICT_MODULE", "BackendError", "array_kind",
           "array_module", "backend_name", "check_xp", "describe", "get_xp", "gpu_available", "is_cupy_array",
           "is_device_array", "requested_backend", "reset_cache", "sparse_module", "strict_allowed",
           "synchronize", "to_device", "to_numpy"]

ENV_VAR = "EXPREG_BACKEND"
BACKENDS = ("auto", "numpy", "cupy")
#: Test-only switch that makes ``EXPREG_BACKEND=strict`` a known value.
STRICT_ENV_VAR = "EXPREG_ALLOW_STRICT"
#: The module of the strict device arrays (test-only CuPy stand-in).
STRICT_MODULE = "expreg_nb.testing.strict"


class BackendError(ConfigError, RuntimeError):
    """The requested array backend cannot be used on this machine."""


def requested_backend() -> str:
    """The value of ``EXPREG_BACKEND`` (default ``auto``), validated."""
    return env_choice(ENV_VAR, _backends(), BackendError, "backend")


def strict_allowed() -> bool:
    """True when the test-only strict backend may be selected (``EXPREG_ALLOW_STRICT=1``)."""
    return os.environ.get(STRICT_ENV_VAR, "").strip() == "1"


def _backends() -> tuple[str, ...]:
    return BACKENDS + ("strict",) if strict_allowed() else BACKENDS


@functools.lru_cache(maxsize=1)
def _cupy_status() -> tuple[object | None, str]:
    """Import CuPy once and ask whether a GPU is usable.

    Returns ``(module or None, reason)``; ``reason`` says why CuPy is unusable.
    """
    try:
        cupy = importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a broken CUDA install
        return None, f"CuPy is not installed or does not import ({type(exc).__name__}: {exc})"
    try:
        usable = bool(cupy.is_available())
    except Exception as exc:  # pragma: no cover - depends on the driver
        return None, f"cupy.is_available() failed ({type(exc).__name__}: {exc})"
    if not usable:
        return None, "CuPy is installed but no usable CUDA GPU/driver was found (cupy.is_available() is False)"
    return cupy, ""


def reset_cache() -> None:
    """Forget the cached CuPy probe (for tests that mock ``cupy``)."""
    _cupy_status.cache_clear()


def gpu_available() -> bool:
    """True when CuPy imports and :func:`cupy.is_available` is true."""
    return _cupy_status()[0] is not None


def get_xp():
    """The array module selected by ``EXPREG_BACKEND``: :mod:`numpy` or :mod:`cupy`."""
    choice = requested_backend()
    if choice == "numpy":
        return np
    if choice == "strict":
        return importlib.import_module(STRICT_MODULE)
    cupy, reason = _cupy_status()
    if cupy is not None:
        return cupy
    if choice == "cupy":
        raise BackendError(
            f"{ENV_VAR}=cupy but no GPU backend is usable: {reason}; "
            f"install the GPU extra (pip install '.[gpu]') on a machine with an NVIDIA GPU, "
            f"or set {ENV_VAR}=numpy."
        )
    return np


def backend_name() -> str:
    """``"numpy"``, ``"cupy"`` (or ``"strict"`` in tests): the backend :func:`get_xp` resolves to now."""
    xp = get_xp()
    if xp is np:
        return "numpy"
    return "strict" if xp.__name__ == STRICT_MODULE else "cupy"


def _device_kind(x) -> str | None:
    """``"cupy"`` or ``"strict"`` for a device array, ``None`` otherwise."""
    mod = type(x).__module__
    if mod.split(".")[0] == "cupy":
        return "cupy"
    if mod == STRICT_MODULE:
        return "strict"
    return None


def is_device_array(x) -> bool:
    """True for an array that lives on a device (CuPy, or the test-only strict backend)."""
    return _device_kind(x) is not None


#: Older name of :func:`is_device_array`.
is_cupy_array = is_device_array


def array_kind(x) -> str:
    """``"numpy"``, ``"cupy"`` or ``"strict"``: where ``x`` lives (anything not on a device is host)."""
    return _device_kind(x) or "numpy"


def array_module(*arrays):
    """The module of the given arrays: CuPy (or the strict module) if any of them is a device array, else NumPy."""
    for x in arrays:
        kind = _device_kind(x)
        if kind == "cupy":
            return importlib.import_module("cupy")
        if kind == "strict":
            return importlib.import_module(STRICT_MODULE)
    return np


def sparse_module(xp):
    """The sparse-matrix module that goes with array module ``xp``: :mod:`scipy.sparse` for NumPy,
    :mod:`cupyx.scipy.sparse` for CuPy, and the strict module's stand-in in tests."""
    xp = _array_module_arg(xp)
    if xp is np:
        import scipy.sparse

        return scipy.sparse
    if xp.__name__ == STRICT_MODULE:
        return xp.sparse
    return importlib.import_module("cupyx.scipy.sparse")


def to_numpy(x):
    """A NumPy copy/view of ``x`` (device arrays are copied to the host with ``.get()``)."""
    if is_device_array(x):
        return x.get()
    return np.asarray(x)


def check_xp(xp, name: str = "xp"):
    """``xp`` must be ``None`` (the active backend) or an array module (numpy, cupy, strict)."""
    if xp is None or xp is np:
        return xp
    if getattr(xp, "__name__", None) in ("cupy", STRICT_MODULE):
        return xp
    raise TypeError(f"{name} must be None or an array module (numpy or cupy), got {xp!r}")


def _array_module_arg(xp, name: str = "xp"):
    """``xp`` must be an array module (numpy, cupy or the strict stand-in); ``None`` is not one."""
    if xp is None:
        raise TypeError(f"{name} must be an array module (numpy or cupy), got None")
    return check_xp(xp, name)


def to_device(x, xp=None):
    """Move a host array to the active backend (or to ``xp`` when given)."""
    xp = get_xp() if xp is None else check_xp(xp)
    if xp is np:
        return to_numpy(x)
    return xp.asarray(x)


def synchronize(xp) -> None:
    """Wait for queued GPU work (no-op on NumPy); used by timings."""
    xp = _array_module_arg(xp)
    if xp is not np and getattr(xp, "__name__", "") == "cupy":
        xp.cuda.Device().synchronize()


def describe() -> str:
    """One line naming the backend and its version, e.g. for a chapter's first cell."""
    xp = get_xp()
    if xp is np:
        return f"numpy {np.__version__} (CPU)"
    if xp.__name__ == STRICT_MODULE:
        return f"strict (test-only CuPy stand-in on numpy {np.__version__}, CPU)"
    dev = xp.cuda.Device()
    name = xp.cuda.runtime.getDeviceProperties(dev.id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    return f"cupy {xp.__version__} on GPU {dev.id} ({name})"
