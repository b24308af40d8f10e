"""Problem sizes: the one place that reads ``EXPREG_SCALE``.

``book`` (default)
    CPU-sized runs: every chapter executes in well under a minute on two cores.
``full``
    Paper-sized runs meant for a GPU (``EXPREG_BACKEND=cupy``).

Chapters choose sizes with :func:`pick`, e.g. ``m = pick(book=1024, full=2**16)``.
"""
from __future__ import annotations

from .errors import ConfigError, env_choice

__all__ = ["ENV_VAR", "SCALES", "ScaleError", "current_scale", "pick"]

ENV_VAR = "EXPREG_SCALE"
SCALES = ("book", "full")


class ScaleError(ConfigError, ValueError):
    """``EXPREG_SCALE`` has a value that is not one of :data:`SCALES`."""


def current_scale() -> str:
    """``"book"`` (default) or ``"full"``, from ``EXPREG_SCALE``."""
    return env_choice(ENV_VAR, SCALES, ScaleError, "scale")


def pick(*, book, full):
    """Return ``book`` or ``full`` according to :func:`current_scale`."""
    return full if current_scale() == "full" else book
