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
   At the end of the build the notebooks are written again with the build's numbers,
   titles and glued values (``_build/labels.json``, written here from the Sphinx
   environment, and myst-nb's ``_build/jupyter_execute/*.glue.json``; see
   ``tools/myst_markdown.py``).
3. **LaTeX.**  Defines the MathJax macros of ``_config.yml`` for LaTeX too, so the PDF
   typesets the same formulas, and numbers lemmas and theorems as the HTML does
   (see :func:`_latex_proof_numbers`).
4. **MathJax served with the book.**  ``mathjax_path`` points at a local copy of MathJax 3
   (the PyPI package ``django-static-mathjax``, a plain copy of MathJax's ``es5`` build),
   copied into ``_build/html/_static/mathjax``, so an offline build renders its math.
   Where the package is missing the CDN stays (and the build says so).
5. **Citable results** (``tools/book_results.py``): unique ids, each result's label as a
   permalink, a BibTeX entry per result, the results index and the verification blueprint.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import book_results  # noqa: E402  (tools/book_results.py)
import myst_markdown  # noqa: E402  (tools/myst_markdown.py)
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
    """Write the notebooks with the build's numbers and glued values into ``_sources/``
    and ``_notebooks/``; remove the placeholders from the source tree."""
    pairs = _generated(app)
    try:
        if exception is None and app.builder.format == "html":
            srcdir, outdir = Path(app.srcdir), Path(app.outdir)
            build = outdir.parent
            write_labels(app, build / myst_markdown.LABELS_JSON)
            index = myst_markdown.Index.from_build(build, root=srcdir)
            for md, ipynb in pairs:
                rel = ipynb.relative_to(srcdir)
                report = myst_markdown.Report()
                first = outdir / "_sources" / rel
                notebooks.write_notebook(md, first, repo_url=_repo_url(app), index=index,
                                         report=report)
                target = outdir / "_notebooks" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(first, target)
                if report.missing:
                    logger.info(f"notebook {rel}: {report.summary()}")
    finally:
        for _, ipynb in pairs:
            ipynb.unlink(missing_ok=True)
        pairs.clear()


def labels_of(app) -> dict:
    """Number and title of every result, equation and section label, and every page's
    title, from the Sphinx environment (what the pages show)."""
    env = app.env
    labels = {}
    mapping = env.config.prf_realtyp_to_countertyp or {}
    for label, info in getattr(env, "proof_list", {}).items():
        doc, real = info["docname"], info["realtype"]
        counter = mapping.get(real, real)
        num = env.toc_fignumbers.get(doc, {}).get(counter, {}).get(label)
        if num:
            labels[label] = {"doc": doc, "anchor": label,
                             "text": f"{real.title()} {'.'.join(map(str, num))}"}
    from docutils.nodes import make_id

    for label, (doc, _) in env.get_domain("math").equations.items():
        anchor = make_id(f"equation-{label}")  # ids are lower case ("...-movement-d")
        nums = env.toc_fignumbers.get(doc, {}).get("displaymath", {})
        num = nums.get(anchor) or nums.get(f"equation-{label}")
        if num:
            labels[label] = {"doc": doc, "anchor": anchor,
                             "text": f"({'.'.join(map(str, num))})"}
    for label, (doc, anchor, title) in env.domaindata["std"]["labels"].items():
        if title and label not in labels:
            labels[label] = {"doc": doc, "anchor": anchor, "text": str(title)}
    docs = {doc: str(title.astext()) for doc, title in env.titles.items()}
    return {"base_url": book_results.versioned_url(Path(app.srcdir)), "labels": labels,
            "docs": docs}


def write_labels(app, path: Path) -> Path:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labels_of(app), indent=1, sort_keys=True), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------
# MathJax served with the book

MATHJAX_FILES = ("tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors",
                 "sre", "loader.js", "startup.js", "core.js")


def mathjax_source() -> Path | None:
    """MathJax 3's es5 build inside the django-static-mathjax package, if installed."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("mathjax")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    es5 = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    return es5 if (es5 / "tex-mml-chtml.js").is_file() else None


def _mathjax_local(app, config):
    if mathjax_source() is None:
        logger.info("MathJax: django-static-mathjax is not installed; the pages load it from "
                    "the CDN (make env installs it)")
        return
    config.mathjax_path = "mathjax/tex-mml-chtml.js"  # relative: under _static/


def _copy_mathjax(app, exception):
    src = mathjax_source()
    if exception is not None or src is None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    for rel in MATHJAX_FILES:
        s, d = src / rel, dest / rel
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.is_file():
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(s, d)


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
    # code at the size that fits the chapters' 88 columns on the page, so lines do not wrap
    # (Sphinx would break them anywhere, mid-identifier)
    elements.setdefault("fvset", "\\fvset{fontsize=\\footnotesize}")
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


def _latex_doctree(app, doctree, docname):
    """LaTeX only: proofs without an empty admonition title bar (a plain paragraph block
    ending in a square), and the back matter unnumbered (not chapters 11, 12, ...)."""
    from sphinx.builders.latex import LaTeXBuilder
    from sphinx_proof.nodes import proof_node

    if not isinstance(app.builder, LaTeXBuilder):
        return
    from docutils import nodes
    from sphinx_proof.nodes import NODE_TYPES

    # a label inside each result's box, where its statement starts: its page is the page
    # the reader sees the result on (sphinx-proof's own label sits before the box, which
    # may start at the foot of the previous page); check_pdf.py reads it from book.aux
    for node in list(doctree.findall(lambda n: isinstance(n, tuple(set(NODE_TYPES.values()))))):
        label = node.get("label")
        statement = next(iter(node.findall(nodes.section)), None)
        if label and statement is not None:
            statement.insert(0, nodes.raw("", f"\\label{{result-page:{label}}}", format="latex"))

    for node in list(doctree.findall(proof_node)):
        for adm in list(node.findall(nodes.admonition)):
            box = nodes.container(classes=["proof-latex"])
            box += nodes.raw("", "\\par\\medskip\\noindent", format="latex")
            box.extend(adm.children)
            paragraphs = [p for p in box.findall(nodes.paragraph)]
            square = nodes.raw("", "\\hfill$\\square$", format="latex")
            if paragraphs:
                paragraphs[-1] += square
            else:
                box += square
            box += nodes.raw("", "\\par\\medskip", format="latex")
            adm.replace_self(box)
    # the landing cards: each card's link (an invisible "stretched link" in the HTML) becomes
    # a visible line right after its text, so no link drifts into the next card
    for card in list(doctree.findall(nodes.container)):
        if "sd-card" not in card["classes"]:
            continue
        for ref in list(card.findall(nodes.reference)):
            if "sd-stretched-link" not in ref.get("classes", []):
                continue
            holder = ref.parent
            ref["classes"] = [c for c in ref["classes"] if not c.startswith("sd-")]
            line = nodes.paragraph("", "", nodes.Text("→ "), ref.deepcopy())
            holder.parent.remove(holder) if holder is not card and holder.parent else card.remove(ref)
            card += line
        card += nodes.raw("", "\\par\\medskip", format="latex")
    from sphinx import addnodes

    first_back, caption = _first_unnumbered(Path(app.srcdir))
    for sof in list(doctree.findall(addnodes.start_of_file)):
        if sof.get("docname") == first_back:
            # before the part that jupyterbook-latex makes of the toc caption, if any, so
            # that neither the part nor its chapters get a number
            target, up = sof, sof.parent
            while up is not None and up.parent is not None:
                title = next(iter(up.findall(nodes.title)), None) if isinstance(up, nodes.section) else None
                if title is not None and title.astext().strip() == caption:
                    target = up
                    break
                up = up.parent
            target.parent.insert(target.parent.index(target), nodes.raw(
                "", "\\setcounter{secnumdepth}{-2}\n", format="latex"))
            break


def _first_unnumbered(root: Path) -> tuple[str | None, str | None]:
    """(first file, caption) of the first part of _toc.yml that is not numbered (the back
    matter)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts") or []:
        if not part.get("numbered") and part.get("chapters"):
            return part["chapters"][0]["file"], str(part.get("caption", "")).strip()
    return None, None


def setup(app):
    os.environ.setdefault("MATPLOTLIBRC", str(STYLE))
    app.connect("config-inited", _latex_macros)
    app.connect("config-inited", _mathjax_local)
    app.connect("build-finished", _copy_mathjax)
    app.connect("doctree-resolved", _latex_doctree)
    book_results.setup(app)
    app.connect("builder-inited", _pair_notebooks)
    app.connect("build-finished", _publish_notebooks)
    app.connect("env-get-updated", _latex_proof_numbers, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
