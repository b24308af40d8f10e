"""expreg_nb: the helper package of the book *Why over-parameterized networks train and memorize*.

Submodules
----------
backend      NumPy/CuPy selection (``EXPREG_BACKEND``), ``to_numpy``
scale        problem sizes (``EXPREG_SCALE``)
seeding      reproducible host-side random streams
training     the one gradient-descent loop, with history and divergence checks
data         synthetic data sets
exponential  Part I, exponential regression
"""
from __future__ import annotations

from .backend import backend_name, get_xp, to_device, to_numpy
from .scale import current_scale, pick
from .training import DivergenceError, History

__version__ = "0.1.0"


def describe() -> str:
    """One line with the backend and scale a chapter runs with."""
    from . import backend

    return f"expreg_nb {__version__} | backend: {backend.describe()} | EXPREG_SCALE={current_scale()}"


__all__ = [
    "DivergenceError",
    "History",
    "backend_name",
    "current_scale",
    "describe",
    "get_xp",
    "pick",
    "to_device",
    "to_numpy",
    "__version__",
]
