"""Structure of the book: the table of contents, the chapters' conventions, and nbval collection."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    yield node[key]
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    yield from walk(child)

    return list(walk(toc))


def _chapters():
    """Every executable chapter (MyST notebook) under book/."""
    return sorted(p for p in BOOK.rglob("*.md") if "kernelspec:" in p.read_text(encoding="utf-8")[:2000])


def test_toc_lists_existing_files_only():
    for entry in _toc_files():
        assert (ROOT / f"{entry}.md").is_file() or (ROOT / entry).is_file(), f"_toc.yml lists missing {entry}"


def test_every_chapter_is_in_the_toc():
    listed = {str(ROOT / f"{e}.md") for e in _toc_files()}
    orphans = [str(p.relative_to(ROOT)) for p in _chapters() if str(p) not in listed]
    assert not orphans, f"chapters missing from _toc.yml: {orphans}"


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: str(p.relative_to(BOOK)))
def test_chapter_conventions(path):
    text = path.read_text(encoding="utf-8")
    assert re.search(r"kernelspec:\s*\n(\s+.*\n)*?\s+name: python3", text), "kernel must be python3"
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)
    assert cells, "a chapter notebook has code cells"
    assert "describe()" in cells[0], "the first code cell prints expreg_nb.describe()"
    assert re.search(r"^\s*assert\s", "\n".join(cells), flags=re.M), "chapters check their claims with assert"
    for directive in re.findall(r"```\{prf:(?:lemma|theorem|corollary|proposition)\}[^\n]*\n(.*?)\n", text):
        assert directive.strip().startswith(":label:"), "every lemma/theorem carries a :label:"


def test_labels_are_unique_across_the_book():
    seen = {}
    for path in BOOK.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        labels = re.findall(r"^:label:\s*(\S+)", text, flags=re.M)
        labels += re.findall(r"^\$\$\s*\((eq-[\w-]+)\)", text, flags=re.M)
        for label in labels:
            assert label not in seen, f"label {label} in {path.name} and {seen[label]}"
            seen[label] = path.name


def test_nbval_collects_every_chapter():
    """book/conftest.py makes nbval collect MyST notebooks; each chapter yields its cells."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "book"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in _chapters():
        rel = str(path.relative_to(ROOT))
        assert f"{rel}::Cell 0" in proc.stdout, f"nbval did not collect {rel}"
