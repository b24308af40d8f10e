"""Let nbval collect the book's MyST-markdown notebooks (``*.md`` with a jupytext header).

nbval only collects ``*.ipynb``.  :class:`MystNotebook` reuses nbval's collector
and reads the ``.md`` file with jupytext instead of nbformat, so every chapter
runs in a fresh kernel, cell by cell, with its ``assert`` cells as the checks.
Relies on nbval 0.11's ``IPyNbFile.collect`` reading through
``nbval.plugin.nbformat.read`` (pinned in pyproject.toml; tests/test_book.py
checks that every chapter is collected).

It also gives the chapters the book's figure style (``MATPLOTLIBRC``, as
``tools/book_ext.py`` does for the book build), and ignores the ``.ipynb`` files
that a running book build generates next to the chapters, so no chapter runs twice.
"""
from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbval.plugin as _nbval
from nbval.plugin import IPyNbFile


class MystNotebook(IPyNbFile):
    def collect(self):
        original = _nbval.nbformat.read
        _nbval.nbformat.read = lambda fp, as_version=4: jupytext.read(fp, fmt="md:myst")
        try:
            yield from super().collect()
        finally:
            _nbval.nbformat.read = original


os.environ.setdefault("MATPLOTLIBRC", str(Path(__file__).parent / "_static" / "matplotlibrc"))


def pytest_ignore_collect(collection_path, config):
    """A generated notebook (``x.ipynb`` beside the chapter ``x.md``) is not a test."""
    if collection_path.suffix == ".ipynb" and collection_path.with_suffix(".md").is_file():
        return True
    return None


def is_myst_notebook(path) -> bool:
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and file_path.suffix == ".md" and is_myst_notebook(file_path):
        return MystNotebook.from_parent(parent, path=file_path)
