"""Errors shared across the package: the environment configuration (``EXPREG_BACKEND``,
``EXPREG_SCALE``) and the expected failures of a run (:class:`MemorizationError`), and a stored result that the
current code no longer reproduces (:class:`StaleResultError`).

A script that lets a :class:`ConfigError` escape (``python -c ...``) prints it
as one line, ``expreg_nb: <message>``, and exits with status 1, instead of a
traceback: the message already says what to change.  Every other exception, and
IPython/Jupyter kernels (which do not use :data:`sys.excepthook`), are untouched.
"""
from __future__ import annotations

import os
import sys


__all__ = ["ConfigError", "MemorizationError", "env_choice"]


class ConfigError(Exception):
    """An environment variable of expreg_nb has a value that cannot be used here."""


class MemorizationError(RuntimeError):
    """A randomized construction (Part III's memorizer) did not succeed within ``max_attempts`` draws."""


class StaleResultError(RuntimeError):
    """A stored result does not match the current definition of its sweep or what the current code computes."""


def env_choice(var: str, choices: tuple[str, ...], error: type[ConfigError], what: str) -> str:
    """The value of environment variable ``var`` (case-insensitive; unset or empty gives
    ``choices[0]``), or ``error`` naming the allowed values."""
    if not isinstance(var, str) or not var:
        raise TypeError(f"var must be the name of an environment variable (a str), got {var!r}")
    if isinstance(choices, (str, bytes)) or not isinstance(choices, tuple) or not choices \
            or not all(isinstance(c, str) for c in choices):
        raise TypeError(f"choices must be a non-empty tuple of str, got {choices!r}")
    if not (isinstance(error, type) and issubclass(error, ConfigError)):
        raise TypeError(f"error must be a subclass of ConfigError, got {error!r}")
    if not isinstance(what, str):
        raise TypeError(f"what must be a str, got {type(what).__name__}")
    raw = os.environ.get(var, "")
    value = raw.strip().lower() or choices[0]
    if value not in choices:
        raise error(f"{var}={raw!r} is not a known {what}; expected one of {', '.join(choices)}.")
    return value


def _excepthook(exc_type, exc, tb, _previous=sys.excepthook):
    if isinstance(exc, ConfigError):
        print(f"expreg_nb: {exc}", file=sys.stderr)
        return
    _previous(exc_type, exc, tb)


if not getattr(sys.excepthook, "_expreg_nb", False):
    _excepthook._expreg_nb = True
    sys.excepthook = _excepthook


__all__ = ["ConfigError", "MemorizationError", "StaleResultError", "env_choice"]
