"""Citable results, the results index and the verification blueprint (Sphinx side).

Connected by ``book_ext.setup``; the model of the results is ``results.py`` (read from the
MyST sources).  What it does to a build:

* **unique ids** (``doctree-read``): sphinx-proof gives every proof the id ``proof`` and
  every statement ``proof-content``; they become ``proof-<label>`` and
  ``<label>-statement`` (a proof takes the label of the result before it), so no page
  repeats an id.  A code cell with a ``# checks: <label>`` comment gets the id
  ``check-<label>-<k>`` (the blueprint links to it).
* **label, permalink and BibTeX** (``doctree-resolved``, HTML): each lemma or theorem shows
  its label as a permalink after its title, Stacks-project style, and ends with a
  "Cite" disclosure holding a copyable BibTeX entry whose URL carries the book's version
  and the anchor; each labelled equation shows its label as a permalink under it.
* ``{results-index}`` and ``{blueprint}`` directives (``book/results.md``,
  ``book/blueprint.md``): the numbered index of every result, and the dependency graph
  of every result (graphviz's ``dot`` through ``sphinx.ext.graphviz``; a list where
  ``dot`` is not installed) with each node marked by how it is checked and linked to the
  cells and tests that check it.
* **the gate** (``env-check-consistency``): a warning, so a failed build under ``-W``, for
  each of the book's own results with no check that ``results.UNCHECKED`` does not list,
  and for each label in that list that is checked or gone (the list must only shrink).
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

import results

logger = logging.getLogger(__name__)

ROOT = results.ROOT
KIND_TEXT = {
    "sympy": "SymPy identity",
    "numeric": "numerical assert",
    "stored": "stored full-scale result",
    "test": "unit test",
    "cited": "the paper's (or a textbook's) statement, cited",
    "unchecked": "not checked",
}
KIND_STYLE = {  # graphviz node style per kind of check
    "sympy": 'style=filled fillcolor="#c7e9c0" color="#238b45"',
    "numeric": 'style=filled fillcolor="#c6dbef" color="#2171b5"',
    "stored": 'style=filled fillcolor="#dadaeb" color="#6a51a3"',
    "test": 'style=filled fillcolor="#ccece6" color="#238b8b"',
    "cited": 'style="filled,dashed" fillcolor="#f0f0f0" color="#737373"',
    "unchecked": 'style=filled fillcolor="#fcbba1" color="#cb181d" penwidth=2',
}


# ----------------------------------------------------------------------------------------
# The book's version and how it is cited (CITATION.cff is the one source)

def citation(root: Path = ROOT) -> dict:
    """CITATION.cff, with ``preferred-citation`` (the book, ``type: book``) filled in."""
    import yaml

    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    book = dict(cff.get("preferred-citation") or {})
    for key in ("title", "authors", "version", "url", "date-released"):
        book.setdefault(key, cff.get(key))
    book["repository-code"] = cff.get("repository-code")
    return book


def release(root: Path = ROOT) -> tuple[str, bool]:
    """(version, released): released when the commit built is the tag ``v<version>``
    (the Pages workflow sets ``BOOK_RELEASE`` to the tag it builds)."""
    version = str(citation(root)["version"])
    tag = os.environ.get("BOOK_RELEASE", "")
    if not tag:
        try:
            tag = subprocess.run(["git", "describe", "--tags", "--exact-match"], cwd=root,
                                 capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            tag = ""
    return version, tag == f"v{version}"


def commit(root: Path = ROOT) -> str:
    """The short commit being built ("" outside git)."""
    sha = os.environ.get("GITHUB_SHA", "")
    if not sha:
        try:
            sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                 text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            sha = ""
    return sha[:10]


def versioned_url(root: Path = ROOT) -> str:
    """Where this build is published: ``<url>/v<version>/`` for a release, else ``<url>/``."""
    book = citation(root)
    version, released = release(root)
    base = str(book["url"]).rstrip("/") + "/"
    return base + (f"v{version}/" if released else "")


def _authors(book: dict) -> str:
    names = []
    for a in book.get("authors") or []:
        if "name" in a:
            names.append("{" + a["name"] + "}")
        else:
            names.append(f"{a.get('family-names', '')}, {a.get('given-names', '')}".strip(", "))
    return " and ".join(names)


def book_bibtex(root: Path = ROOT) -> str:
    """The @book entry of the whole book (the How to cite page), from CITATION.cff."""
    book = citation(root)
    version, released = release(root)
    year = str(book.get("date-released") or "")[:4]
    note = f"Jupyter Book, version {version}" + (
        "" if released else f" (development build of commit {commit(root)} after v{version}: "
        "cite a released version)")
    return (
        "@book{expregnb" + year + ",\n"
        f"  title   = {{{book['title']}}},\n"
        f"  author  = {{{_authors(book)}}},\n"
        f"  year    = {{{year}}},\n"
        f"  edition = {{{version}}},\n"
        f"  note    = {{{note}}},\n"
        f"  url     = {{{versioned_url(root)}}}\n"
        "}"
    )


def result_bibtex(label: str, realtype: str, number: str, title: str, chapter: str,
                  page: str, root: Path = ROOT) -> str:
    """An @inbook entry for one result: the book, the chapter, the number and the label."""
    book = citation(root)
    version, released = release(root)
    year = str(book.get("date-released") or "")[:4]
    url = f"{versioned_url(root)}{page}#{label}"
    what = f"{realtype.title()} {number}".strip()
    plain_title = re.sub(r"[{}]", "", title)
    note = f"{what}" + (f" ({plain_title})" if plain_title else "") + f", label {label}, version {version}"
    if not released:
        note += f" (development build of commit {commit(root)}: cite a released version)"
    return (
        "@inbook{expregnb" + year + ":" + label + ",\n"
        f"  title   = {{{book['title']}}},\n"
        f"  chapter = {{{chapter}}},\n"
        f"  author  = {{{_authors(book)}}},\n"
        f"  year    = {{{year}}},\n"
        f"  edition = {{{version}}},\n"
        f"  note    = {{{note}}},\n"
        f"  url     = {{{url}}}\n"
        "}"
    )


# ----------------------------------------------------------------------------------------
# doctree-read: unique ids, anchors for checking cells

def unique_ids(app, doctree):
    from sphinx_proof.nodes import NODE_TYPES, proof_node, unenumerable_node

    result_types = tuple(set(NODE_TYPES.values())) + (unenumerable_node,)
    last = None
    used: set[str] = set()
    for node in doctree.findall(lambda n: isinstance(n, (*result_types, proof_node))):
        if isinstance(node, proof_node):
            for adm in node.findall(nodes.admonition):
                if "proof" in adm["ids"]:
                    base = f"proof-{last}" if last else "proof"
                    new, k = base, 1
                    while new in used or new in doctree.ids:
                        k += 1
                        new = f"{base}-{k}"
                    adm["ids"] = [new if i == "proof" else i for i in adm["ids"]]
                    used.add(new)
                    doctree.ids[new] = adm
            continue
        last = node.get("label") or None
        for sec in node.findall(nodes.section):
            if "proof-content" in sec["ids"]:
                sec["ids"] = [f"{last or 'result'}-statement" if i == "proof-content" else i
                              for i in sec["ids"]]
    counts: dict[str, int] = {}
    for cell in doctree.findall(nodes.container):
        if "cell" not in cell["classes"]:
            continue
        inputs = [c for c in cell.children if isinstance(c, nodes.container)
                  and "cell_input" in c["classes"]]
        code = "\n".join(b.astext() for c in inputs for b in c.findall(nodes.literal_block))
        for m in results.CHECKS.finditer(code):
            for label in results._labels(m.group(1)):
                counts[label] = counts.get(label, 0) + 1
                cell["ids"].append(f"check-{label}-{counts[label]}")


# ----------------------------------------------------------------------------------------
# doctree-resolved: label, permalink, BibTeX; the index and the blueprint

def _number(env, docname: str, countertype: str, label: str) -> str:
    num = env.toc_fignumbers.get(docname, {}).get(countertype, {}).get(label)
    return ".".join(map(str, num)) if num else ""


def _eq_number(env, docname: str, label: str) -> str:
    num = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(f"equation-{label}")
    return ".".join(map(str, num)) if num else ""


def _page(app, docname: str) -> str:
    return docname + app.builder.out_suffix if hasattr(app.builder, "out_suffix") else docname


def decorate(app, doctree, docname):
    if app.builder.format != "html":
        return
    from sphinx_proof.nodes import NODE_TYPES

    env = app.builder.env
    chapter = env.titles.get(docname).astext() if docname in env.titles else ""
    for node in doctree.findall(lambda n: isinstance(n, tuple(set(NODE_TYPES.values())))):
        label, realtype = node.get("label"), node.get("realtype", "")
        if not label or realtype not in results.RESULT_TYPES:
            continue
        number = _number(env, docname, node.get("countertype", ""), label)
        title = next(iter(node.findall(nodes.title)), None)
        if title is not None:
            title += nodes.raw("", f'<a class="result-tag reference internal" href="#{label}" '
                               f'title="Permalink to {realtype.title()} {number}">{label}</a>',
                               format="html")
        entry = result_bibtex(label, realtype, number, node.get("title", "").strip(" ()"),
                              chapter, _page(app, docname))
        node += nodes.raw("", (
            f'<details class="result-cite"><summary>Cite {realtype.title()} {number}</summary>'
            '<div class="highlight-bibtex notranslate"><div class="highlight"><pre>'
            f"{html.escape(entry)}</pre></div></div></details>"), format="html")
    for block in list(doctree.findall(nodes.math_block)):
        label = block.get("label")
        if not label or block.get("nowrap"):
            continue
        anchor = nodes.make_id(f"equation-{label}")
        tag = nodes.raw("", f'<div class="equation-tag"><a class="result-tag reference internal" '
                        f'href="#{anchor}" title="Permalink to this equation">{label}</a></div>',
                        format="html")
        block.parent.insert(block.parent.index(block) + 1, tag)


class results_placeholder(nodes.General, nodes.Element):
    """Replaced at doctree-resolved by the results index or the blueprint."""


class ResultsIndex(Directive):
    def run(self):
        return [results_placeholder(what="index")]


class Blueprint(Directive):
    def run(self):
        return [results_placeholder(what="blueprint")]


def _link(app, fromdoc: str, todoc: str, anchor: str, *children) -> nodes.reference:
    uri = app.builder.get_relative_uri(fromdoc, todoc) + (f"#{anchor}" if anchor else "")
    ref = nodes.reference("", "", *children, internal=True, refuri=uri)
    return ref


def _inline_math(text: str) -> list[nodes.Node]:
    """``$...$`` in a title as math nodes, the rest as text."""
    out = []
    for k, part in enumerate(re.split(r"\$([^$]+)\$", text)):
        if part:
            out.append(nodes.math(part, part) if k % 2 else nodes.Text(part))
    return out


def fill_placeholders(app, doctree, docname):
    for node in list(doctree.findall(results_placeholder)):
        book = results.load_book(Path(app.srcdir))
        make = _index if node["what"] == "index" else _blueprint
        node.replace_self(make(app, book, docname))


def _result_rows(app, book, docname):
    env = app.builder.env
    rows = []
    for r in book.results:
        countertype = env.config.prf_realtyp_to_countertyp.get(r.realtype, r.realtype)
        number = _number(env, r.docname, countertype, r.label)
        rows.append((r, f"{r.realtype.title()} {number}".strip()))
    return rows


def _table(classes: str, widths: tuple, header: list[str]):
    """(table, body): a docutils table with a header row."""
    table = nodes.table(classes=[classes])
    group = nodes.tgroup(cols=len(widths))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    _row(header, head)
    return table, body


def _row(cells, parent):
    tr = nodes.row()
    for c in cells:
        entry = nodes.entry()
        entry += c if isinstance(c, nodes.Node) else nodes.paragraph("", c)
        tr += entry
    parent += tr


def _title_and_chapter(app, r) -> nodes.paragraph:
    title = nodes.paragraph("", "", *_inline_math(r.title))
    chapter = app.builder.env.titles.get(r.docname)
    if chapter is not None:
        title += nodes.Text(" — ")
        title += nodes.emphasis("", chapter.astext())
    return title


def _as_list(rows: list[list]) -> nodes.bullet_list:
    """Rows as a bullet list (the PDF: a table's long titles would run off the page)."""
    out = nodes.bullet_list()
    for cells in rows:
        para = nodes.paragraph()
        for k, c in enumerate(cells):
            if k:
                para += nodes.Text(" · ")
            if isinstance(c, nodes.paragraph):
                para.extend(c.children)
            elif isinstance(c, nodes.Node):
                para += c.deepcopy() if c.parent is not None else c
            else:
                para += nodes.Text(str(c))
        out += nodes.list_item("", para)
    return out


def _index(app, book, docname):
    """A table (a list in the PDF): number, title and chapter, label, how it is checked."""
    rows = []
    for r, number in _result_rows(app, book, docname):
        rows.append([nodes.paragraph("", "", _link(app, docname, r.docname, r.label,
                                                   nodes.Text(number))),
                     _title_and_chapter(app, r),
                     nodes.paragraph("", "", _link(app, docname, r.docname, r.label,
                                                   nodes.literal(r.label, r.label))),
                     KIND_TEXT[r.kind]])
    if app.builder.format != "html":
        return [_as_list(rows)]
    table, body = _table("results-index", (14, 50, 26, 18),
                         ["result", "title", "label (permalink)", "checked by"])
    for cells in rows:
        _row(cells, body)
    return [table]


def _blueprint(app, book, docname):
    out: list[nodes.Node] = []
    rows = _result_rows(app, book, docname)
    numbers = {r.label: n for r, n in rows}
    dot_exe = shutil.which(getattr(app.config, "graphviz_dot", "dot") or "dot")
    parts: dict[str, list] = {}
    for r in book.results:
        parts.setdefault(r.docname.rsplit("/", 1)[0], []).append(r)
    if dot_exe and app.builder.format in ("html", "latex"):
        from sphinx.ext.graphviz import graphviz

        # one graph per Part, left to right: chains read along a line, independent
        # results stack, and each graph fits the column at a readable size
        for part, members in parts.items():
            node = graphviz()
            node["code"] = _dot(app, members, docname, numbers)
            node["options"] = {}
            node["alt"] = f"dependency graph of the results of {part}"
            node["classes"] = ["blueprint-graph"]
            caption = env_part_caption(app, members[0].docname) or part
            out.append(nodes.rubric("", caption))
            out.append(node)
    else:
        out.append(nodes.paragraph("", "(graphviz's dot is not installed: the graph is "
                                   "shown as the table below only.)"))
    # legend
    legend = nodes.bullet_list()
    for kind, text in KIND_TEXT.items():
        n = sum(1 for r in book.results if r.kind == kind)
        fill = re.search(r'fillcolor="([^"]+)"', KIND_STYLE[kind]).group(1)
        swatch = nodes.raw("", f'<span class="blueprint-swatch" style="background:{fill}"></span>',
                           format="html")
        legend += nodes.list_item("", nodes.paragraph("", "", swatch, nodes.strong("", text),
                                                      nodes.Text(f": {n} results")))
    out.insert(0, legend)
    # one row per result: what it uses, what uses it, what checks it
    used_by: dict[str, list[str]] = {}
    for r in book.results:
        for u in r.uses:
            used_by.setdefault(u, []).append(r.label)
    table, body = _table("blueprint-table", (22, 18, 30, 30),
                         ["result", "uses / used by", "checked by", "title"])
    repo = str(citation(Path(app.srcdir)).get("repository-code") or "").rstrip("/")

    def refs(labels):
        p = nodes.paragraph()
        for k, lab in enumerate(labels):
            if k:
                p += nodes.Text(", ")
            other = book.result(lab)
            p += _link(app, docname, other.docname, lab, nodes.Text(numbers.get(lab, lab)))
        return p

    flat = []
    for r, number in rows:
        first = nodes.paragraph("", "", _link(app, docname, r.docname, r.label, nodes.Text(number)),
                                nodes.Text(" "), nodes.literal(r.label, r.label))
        rel = nodes.paragraph()
        rel += nodes.Text("uses: ")
        rel.extend(refs(r.uses).children or [nodes.Text("—")])
        rel2 = nodes.paragraph()
        rel2 += nodes.Text("used by: ")
        rel2.extend(refs(used_by.get(r.label, [])).children or [nodes.Text("—")])
        relc = nodes.container()
        relc += rel
        relc += rel2
        checks = nodes.paragraph("", "", nodes.strong("", KIND_TEXT[r.kind]))
        for c in r.checks:
            checks += nodes.Text("; ")
            if c.kind == "test":
                path = c.path.relative_to(ROOT).as_posix()
                checks += nodes.reference("", f"{path}::{c.name}",
                                          refuri=f"{repo}/blob/main/{path}#L{c.line}")
            else:
                checks += _link(app, docname, r.docname, c.anchor,
                                nodes.Text(f"{c.name} ({c.kind})"))
        title = nodes.paragraph("", "", *_inline_math(r.title))
        _row([first, relc, checks, title], body)
        flat.append([first.deepcopy(), title.deepcopy(), rel.deepcopy(), rel2.deepcopy(),
                     checks.deepcopy()])
    out.append(table if app.builder.format == "html" else _as_list(flat))
    return out


def env_part_caption(app, docname: str) -> str:
    """The caption of the _toc.yml part that lists ``docname`` ("Part I: ...")."""
    import yaml

    toc = yaml.safe_load((Path(app.srcdir) / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts") or []:
        if any(c.get("file") == docname for c in part.get("chapters") or []):
            return part.get("caption", "")
    return ""


def _dot(app, members, docname, numbers) -> str:
    lines = ["digraph blueprint {", '  rankdir=LR; nodesep=0.12; ranksep=0.35;',
             '  node [shape=box fontname="Helvetica" fontsize=11 margin="0.08,0.03"];',
             '  edge [color="#555555" arrowsize=0.6];']
    inside = {r.label for r in members}
    for r in members:
        uri = app.builder.get_relative_uri(docname, r.docname) + f"#{r.label}"
        tip = re.sub(r'["\\$]', "", r.title)
        lines.append(f'  "{r.label}" [label="{numbers[r.label]}  {r.label}" '
                     f'{KIND_STYLE[r.kind]} href="{uri}" target="_top" tooltip="{tip}"];')
    for r in members:
        for u in r.uses:
            if u in inside:
                lines.append(f'  "{u}" -> "{r.label}";')
    lines.append("}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# The gate: the book's own results have a check (UNCHECKED must only shrink)

def gate_problems(book) -> list[str]:
    problems = []
    labels = {r.label for r in book.results}
    for r in book.unchecked_own():
        if r.label not in results.UNCHECKED:
            problems.append(f"{r.docname}.md:{r.line}: {r.realtype} {r.label} is this book's "
                            "derivation and nothing checks it: mark the cell or test that does "
                            f"with '# checks: {r.label}'")
    for label in sorted(results.UNCHECKED):
        r = book.result(label)
        if label not in labels:
            problems.append(f"results.UNCHECKED lists {label}, which no chapter defines: drop it")
        elif r.kind != "unchecked":
            problems.append(f"results.UNCHECKED lists {label}, which is checked now ({r.kind}): "
                            "drop it (the list only shrinks)")
    return problems


def check_gate(app, env):
    for problem in gate_problems(results.load_book(Path(app.srcdir))):
        logger.warning(problem, type="blueprint", subtype="unchecked")


class BookBibtex(Directive):
    """The @book entry of the whole book, from CITATION.cff (never typed)."""

    def run(self):
        entry = book_bibtex(ROOT)
        block = nodes.literal_block(entry, entry, language="bibtex")
        return [block]


def pdf_page_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{pdf-page}`label``: the page of the PDF on which the result ``label`` stands.

    In the PDF, LaTeX's ``\\pageref`` (of the label ``book_ext.py`` puts inside the result's
    box); in the HTML a placeholder that ``tools/check_pdf.py`` (run by ``make pdf``)
    replaces with the page read from the PDF build's ``book.aux``, and that says "see the
    PDF" where no PDF was built."""
    label = text.strip()
    html_node = nodes.raw("", f'<span class="pdf-page" data-label="{html.escape(label)}">'
                          "(page: see the PDF)</span>", format="html")
    latex_node = nodes.raw("", "\\pageref{" + f"result-page:{label}" + "}", format="latex")
    return [html_node, latex_node], []


def setup(app):
    app.add_directive("book-bibtex", BookBibtex)
    app.add_role("pdf-page", pdf_page_role)
    app.add_node(results_placeholder)
    app.add_directive("results-index", ResultsIndex)
    app.add_directive("blueprint", Blueprint)
    app.connect("doctree-read", unique_ids)
    app.connect("doctree-resolved", decorate)
    app.connect("doctree-resolved", fill_placeholders)
    app.connect("env-check-consistency", check_gate)
