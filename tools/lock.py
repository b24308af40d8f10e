"""Write requirements/book-lock.txt: exact pins of everything the book's venv resolved.

The lock pins the toolchain that `make env` (and so `make test`, `make book` and CI)
installs: jupyter-book, Sphinx, myst-nb, myst-parser, sphinx-book-theme,
pydata-sphinx-theme, sphinx-proof, sphinxcontrib-bibtex, nbval, pytest, jupytext,
ipykernel, ... and the numerical stack.  The ranges users install from stay in
pyproject.toml.  Regenerate with `make lock` (it resolves the ranges afresh in a
scratch venv, then freezes it); commit the result after `make test` and `make book` pass.

Usage: python tools/lock.py PYTHON [OUT]   (PYTHON: the interpreter of the venv to freeze)
"""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "book-lock.txt"
# Never pinned: the project itself, and pip's own tooling.
SKIP = {"expreg-nb", "pip", "setuptools", "wheel"}


def freeze(python: str) -> list[str]:
    out = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable", "--all"],
                         check=True, capture_output=True, text=True).stdout
    pins = []
    for line in out.splitlines():
        if "==" not in line or line.startswith("#"):
            continue
        name = line.split("==")[0].strip()
        if name.lower().replace("_", "-") not in SKIP:
            pins.append(line.strip())
    return sorted(pins, key=str.lower)


def main(argv: list[str]) -> int:
    python = argv[1] if len(argv) > 1 else sys.executable
    out = Path(argv[2]) if len(argv) > 2 else LOCK
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    minor = ".".join(version.split(".")[:2])
    header = [
        "# Lock of the book toolchain: exact versions for `make env` (pip install -c).",
        f"# Resolved on CPython {minor} ({platform.system()}); regenerate with `make lock`.",
        "# The Makefile applies it only on this Python minor version; ranges: pyproject.toml.",
        f"# python: {minor}",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(header + freeze(python)) + "\n")
    print(f"wrote {out} ({minor})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
