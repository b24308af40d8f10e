"""Classic ``.ipynb`` notebooks generated from the book's MyST chapters (a build output).

Colab and Binder cannot open a MyST ``.md`` file, so every chapter also exists as a
notebook that jupytext writes from it at build time.  The generated notebook:

* has no jupytext metadata (Colab would otherwise try to pair it) and the ``python3`` kernel;
* starts with an *install cell*: when ``expreg_nb`` (or ``myst_nb``, for chapters that
  glue values into the text) cannot be imported, it ``%pip install``s it, the package from
  the book's repository.  In the book's own environment the imports succeed and the cell
  does nothing.  On a Colab GPU runtime CuPy is preinstalled, so the chapter runs on it;
* renders the chapter's MyST as Jupyter markdown (``tools/myst_markdown.py``): each lemma, theorem
  and proof a formatted block with its number, title and label; ``{eq}``, ``{prf:ref}``,
  ``{ref}`` and ``{doc}`` their numbers or titles, linked to the online page;
  ``{cite}`` an author-year link; glued values substituted from the executed build; the
  book's MathJax macros defined in the first markdown cell;
* applies the book's matplotlib style (``book/_static/matplotlibrc``) in that cell, so a
  chapter looks the same in Colab as in the book, where the style comes from the
  environment (``MATPLOTLIBRC``, set by ``tools/book_ext.py`` and ``book/conftest.py``).

``tools/book_ext.py`` writes these notebooks next to their ``.md`` sources when an HTML
build starts (the book theme only links a Colab/Binder button and the download menu to an
``.ipynb`` it finds there); when the build ends it writes them again, now with the numbers
and glued values of the build, into ``_build/html/_sources`` (the download menu) and
``_build/html/_notebooks`` (what the Pages workflow publishes on the ``notebooks``
branch), and deletes the first ones from the source tree.  They are ignored by
git and never committed.

Command line::

    python tools/notebooks.py OUTDIR [CHAPTER.md ...]   # write OUTDIR/<path>.ipynb

(with the numbers and glued values of ``_build`` when ``make book`` has run; it prints,
per notebook, what it could not substitute.)
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STYLE = BOOK / "_static" / "matplotlibrc"
REPO_URL = "https://github.com/expreg-nb/expreg-nb"
INSTALL_TAG = "install-expreg-nb"


def chapters(book: Path = BOOK) -> list[Path]:
    """Every executable chapter: a ``.md`` under ``book/`` with a jupytext kernelspec."""
    return sorted(p for p in book.rglob("*.md")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(book).parts)
                  and "kernelspec:" in p.read_text(encoding="utf-8")[:2000])


def style_rc(style: Path = STYLE) -> dict[str, str]:
    """The ``key: value`` lines of the book's matplotlibrc."""
    rc = {}
    for line in style.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" in line:
            key, value = line.split(":", 1)
            rc[key.strip()] = value.strip()
    return rc


def package_spec(repo_url: str = REPO_URL, ref: str | None = None) -> str:
    """The pip requirement that installs expreg_nb from the repository at ``ref``.

    ``ref`` defaults to the commit being built in CI (``GITHUB_SHA``), else ``main``.
    """
    ref = ref or os.environ.get("GITHUB_SHA") or "main"
    return f"expreg-nb @ git+{repo_url.rstrip('/')}@{ref}"


def install_cell(source_text: str, *, repo_url: str = REPO_URL, ref: str | None = None):
    needs = [("expreg_nb", package_spec(repo_url, ref))]
    if re.search(r"^\s*(from|import)\s+myst_nb\b", source_text, flags=re.M):
        needs.append(("myst_nb", "myst-nb"))
    lines = [
        "# Run the chapter outside the book's environment (Colab, Binder, a fresh Python):",
        "# pip-install what is missing.   On a Colab GPU runtime CuPy is preinstalled and the",
        "# chapter runs on the GPU (EXPREG_BACKEND=auto).  In the book's environment this",
        "# cell installs nothing.",
        "import importlib",
        "import importlib.util",
        "import subprocess",
        "import sys",
        "",
        "missing = [spec for module, spec in [",
        *[f"    ({m!r}, {s!r})," for m, s in needs],
        "] if importlib.util.find_spec(module) is None]",
        "if missing:",
        "    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet', *missing])",
        "    importlib.invalidate_caches()",
        "",
        "# the book's figure style (book/_static/matplotlibrc)",
        "import matplotlib as mpl",
        "",
        "mpl.rcParams.update({",
        *[f"    {k!r}: {v!r}," for k, v in style_rc().items()],
        "})",
    ]
    return nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [INSTALL_TAG]})


def to_notebook(md: Path, *, repo_url: str = REPO_URL, ref: str | None = None,
                index=None, report=None):
    """The notebook of one chapter: its cells, after an install cell, with the MyST of its
    markdown cells turned into Jupyter markdown (``tools/myst_markdown.py``).

    ``index`` holds the numbers, titles and glued values of a build
    (:meth:`myst_markdown.Index.from_build`); without one, references show their labels and glued
    values a placeholder, and ``report`` lists what was not substituted.
    """
    import myst_markdown as myst

    text = md.read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="md:myst")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    index = index if index is not None else myst.Index.from_sources(ROOT)
    report = report if report is not None else myst.Report()
    docname = md.resolve().relative_to(ROOT).with_suffix("").as_posix()
    myst.convert_notebook(nb, docname, index, report)
    nb.cells.insert(0, install_cell(text, repo_url=repo_url, ref=ref))
    nbformat.validate(nb)
    return nb


def write_notebook(md: Path, out: Path, **kw) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(to_notebook(md, **kw), str(out))
    return out


def main(argv: list[str]) -> int:
    import myst_markdown as myst

    if len(argv) < 2:
        print(__doc__.rsplit("Command line::", 1)[1])
        return 2
    outdir = Path(argv[1])
    sources = [Path(a).resolve() for a in argv[2:]] or chapters()
    build = ROOT / "_build"
    index = myst.Index.from_build(build) if (build / myst.LABELS_JSON).is_file() else None
    if index is None:
        print(f"no {build / myst.LABELS_JSON} (run make book): references show their labels, "
              "glued values a placeholder")
    for md in sources:
        out = outdir / md.relative_to(ROOT).with_suffix(".ipynb")
        report = myst.Report()
        write_notebook(md, out, index=index, report=report)
        print(out, report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
