"""What a stored result was computed with: the git state of the source and the versions of the stack.

:func:`git_state` and :func:`package_versions` feed :func:`expreg_nb.sweep.provenance`, the
record written beside every stored table (``provenance.json``).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .validation import check_path

__all__ = ["RESULTS_PATH", "THREAD_ENV", "git_state", "package_versions"]

#: Environment variables that set the BLAS / OpenMP thread counts (recorded in the provenance).
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


#: The results store inside the checkout, relative to its root (not counted as a modification).
RESULTS_PATH = "expreg_nb/results"


def git_state(root: Path | str | None = None) -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the git checkout holding ``root`` (default: this package's source).

    ``("unknown", None)`` outside a checkout (a non-editable install) or without git;
    ``dirty`` is whether tracked files differ from the commit, the results store
    (``expreg_nb/results/``) excluded: a sweep run from a clean checkout writes its table there,
    and that must not mark the next sweep of the same run as made by modified code.
    """
    root = check_path(root, "root", optional=True) or Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode != 0:
            return "unknown", None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no",
                                "--", ".", f":(exclude){RESULTS_PATH}"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip(), bool(dirty)
    except (OSError, subprocess.SubprocessError):
        return "unknown", None


def package_versions() -> dict:
    """Versions of what computes a stored result: Python, expreg_nb, NumPy, SciPy, pandas, and the
    BLAS NumPy was built with, with the thread settings of the environment."""
    import numpy
    import pandas
    import scipy

    from . import __version__

    blas = "unknown"
    try:
        dep = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{dep.get('name', '?')} {dep.get('version', '?')}"
        if dep.get("openblas configuration"):
            blas += f" ({dep['openblas configuration'].strip()})"
    except Exception:  # noqa: BLE001 - older NumPy: no dict form; the version line is enough
        pass
    return {"python": sys.version.split()[0], "expreg_nb": __version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__, "pandas": pandas.__version__, "blas": blas,
            "threads": {k: os.environ.get(k) for k in THREAD_ENV if os.environ.get(k) is not None}}
