"""Test-only helpers (not used by the book): :mod:`expreg_nb.testing.strict`, a CPU stand-in for CuPy."""

__all__: list[str] = []
