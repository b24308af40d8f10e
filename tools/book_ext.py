"""The book's Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``).

1. **Figure style without code.**  Points ``MATPLOTLIBRC`` at ``book/_static/matplotlibrc``
   before any chapter runs; the kernels that myst-nb starts inherit the environment,
   so every chapter gets the style and no chapter carries a line for it.
2. **Notebooks for the launch and download buttons.**  When an HTML build starts, writes
   ``book/**/<chapter>.ipynb`` next to every chapter (``tools/notebooks.py``: jupytext plus
   an install cell).  sphinx-book-theme then points the Colab and Binder buttons at the
   ``.ipynb``.  When the build ends, copies each notebook to ``_sources/`` (the download
   menu's ``.ipynb``; the theme would otherwise offer the executed notebook without the
   install cell) and ``_notebooks/`` (published on the ``notebooks`` branch, which the
   Colab button opens), and removes the generated files from the source tree.  They are
   excluded from the Sphinx sources (``exclude_patterns``) and ignored by git.
3. **LaTeX.**  Defines the MathJax macros of ``_config.yml`` for LaTeX too, so the PDF
   typesets the same formulas, and numbers lemmas and theorems as the HTML does
   (see :func:`_latex_proof_numbers`).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import notebooks  # noqa: E402  (tools/notebooks.py)

STYLE = ROOT / "book" / "_static" / "matplotlibrc"


_GENERATED: list[tuple[Path, Path]] = []  # (chapter .md, generated .ipynb) of this build


def _generated(app) -> list[tuple[Path, Path]]:
    return _GENERATED


def _pair_notebooks(app):
    if app.builder.format != "html":
        return
    srcdir = Path(app.srcdir)
    pairs = _generated(app)
    for md in notebooks.chapters(srcdir / "book"):
        ipynb = md.with_suffix(".ipynb")
        notebooks.write_notebook(md, ipynb, repo_url=_repo_url(app))
        pairs.append((md, ipynb))


def _repo_url(app) -> str:
    opts = app.config.html_theme_options or {}
    return opts.get("repository_url") or notebooks.REPO_URL


def _publish_notebooks(app, exception):
    pairs = _generated(app)
    try:
        if exception is None and app.builder.format == "html":
            srcdir, outdir = Path(app.srcdir), Path(app.outdir)
            for md, ipynb in pairs:
                rel = ipynb.relative_to(srcdir)
                for target in (outdir / "_sources" / rel, outdir / "_notebooks" / rel):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(ipynb, target)
    finally:
        for _, ipynb in pairs:
            ipynb.unlink(missing_ok=True)
        pairs.clear()


def _latex_macros(app, config):
    """\\newcommand for every MathJax macro, appended to the LaTeX preamble."""
    macros = ((config.mathjax3_config or {}).get("tex") or {}).get("macros") or {}
    lines = []
    for name, body in macros.items():
        if isinstance(body, (list, tuple)):  # [body, number of arguments]
            args = f"[{int(body[1])}]"
            body = body[0]
        else:
            args = ""
        lines.append(f"\\providecommand{{\\{name}}}{{}}\\renewcommand{{\\{name}}}{args}{{{body}}}")
    elements = dict(config.latex_elements or {})
    # Latin Modern Math (XeLaTeX, unicode-math) has no glyph for \setminus (U+29F5)
    preamble = elements.get("preamble", "") + "\n\\AtBeginDocument{\\renewcommand{\\setminus}{\\smallsetminus}}"
    preamble += "\n% MathJax macros of _config.yml\n"
    elements["preamble"] = preamble + "\n".join(lines) + "\n"
    config.latex_elements = elements


def _latex_proof_numbers(app, env):
    """Lemma and theorem numbers in the PDF as in the HTML ("Lemma 1.2", not "Lemma 1.3.2").

    For a book with parts, sphinx-jupyterbook-latex sets ``numfig_secnum_depth = 2`` in
    LaTeX builds, so that LaTeX resets the equation counter per chapter under ``\\part``.
    sphinx-proof takes its LaTeX numbers from ``env.toc_fignumbers``, which Sphinx computes
    with that same depth: chapter *and section* numbers as the prefix.  Recompute them with
    the HTML's depth 1 (chapter number, then the counter); LaTeX keeps depth 2 for the
    equations, which it numbers itself.
    """
    from sphinx.builders.latex import LaTeXBuilder
    from sphinx.environment.collectors.toctree import TocTreeCollector

    if not isinstance(app.builder, LaTeXBuilder):
        return []
    depth = env.config.numfig_secnum_depth
    env.config.numfig_secnum_depth = 1
    try:
        TocTreeCollector().assign_figure_numbers(env)
    finally:
        env.config.numfig_secnum_depth = depth
    return []


def setup(app):
    os.environ.setdefault("MATPLOTLIBRC", str(STYLE))
    app.connect("config-inited", _latex_macros)
    app.connect("builder-inited", _pair_notebooks)
    app.connect("build-finished", _publish_notebooks)
    app.connect("env-get-updated", _latex_proof_numbers, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
