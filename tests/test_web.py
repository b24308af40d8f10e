"""Read, run and cite anywhere (issue 22): the generated notebooks' markdown, the browser and
PDF checks' findings and their gate, citable results, the blueprint's check attribution."""
from __future__ import annotations

import json
import pathlib
import re
import struct
import sys
import zlib

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import book_results  # noqa: E402
import check_html  # noqa: E402
import check_pdf  # noqa: E402
import myst_markdown as myst  # noqa: E402
import notebooks  # noqa: E402
import results  # noqa: E402

BUILD = ROOT / "_build"


# --------------------------------------------------------------------------------------
# Notebooks that read as Jupyter

def _build_index():
    """The index of the last `make book`, or None (then the sources alone)."""
    if (BUILD / myst.LABELS_JSON).is_file():
        return myst.Index.from_build(BUILD, root=ROOT)
    return None


@pytest.mark.parametrize("md", notebooks.chapters(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_myst_survives_in_a_generated_notebook(md):
    """No role, directive or target of MyST is left in any markdown cell.  With a build
    present, every number, title and glued value that the build has is substituted (what the
    build lacks, for a chapter changed since, is reported, as without a build)."""
    index = _build_index()
    report = myst.Report()
    nb = notebooks.to_notebook(md, index=index, report=report)
    nbformat.validate(nb)
    left = [(k, x) for k, c in enumerate(nb.cells) if c.cell_type == "markdown"
            for x in myst.leftover_myst(c.source)]
    assert not left, f"MyST left in the notebook of {md.name}: {left[:10]}"
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    assert "\\newcommand{\\R}" in first_md.source, "the macros are defined in the first markdown cell"
    if index is None:
        return
    doc = md.resolve().relative_to(ROOT).with_suffix("").as_posix()
    glue = index.glue.get(doc, {})
    unexpected = [key for key in report.missing.get("glued values", []) if key in glue]
    unexpected += [lab for what in ("equation numbers", "result numbers")
                   for lab in report.missing.get(what, []) if lab in index.labels
                   and index.labels[lab].get("numbered", True)]
    assert not unexpected, f"the build has these but the notebook did not substitute them: {unexpected}"


def test_markdown_conversion_of_each_construct():
    index = myst.Index(base_url="https://b/", macros={"R": "\\mathbb{R}", "f": ["#1^2", 1]})
    index.labels = {
        "lem-a": {"doc": "book/p/c", "anchor": "lem-a", "text": "Lemma 2.3"},
        "eq-a": {"doc": "book/p/c", "anchor": "equation-eq-a", "text": "(2.4)"},
        "sec-a": {"doc": "book/p/d", "anchor": "sec-a", "text": "A section"},
    }
    index.docs = {"book/p/d": "Other chapter"}
    index.glue = {"book/p/c": {"v": {"text/plain": "0.123456"}, "m": {"text/latex": "$\\displaystyle x^2$"}}}
    index.bib = {"gao": ("Gao et al., 2023", "https://arxiv.org/abs/1")}
    text = ("(sec-here)=\n# T\n\n```{prf:lemma} Title $x$\n:label: lem-a\n\nBody {eq}`eq-a`.\n```\n\n"
            "```{prf:proof}\nEasy.\n```\n\n$$\nx = 1\n$$ (eq-a)\n\n"
            "See {prf:ref}`lem-a`, {ref}`sec-a`, {doc}`d`, {cite}`gao`, {glue:text}`v:.2f`, "
            "{prf:ref}`that one <lem-a>`.\n\n```{glue:math} m\n:label: eq-a\n```\n\n"
            ":::{note}\nA {math}`y` note.\n:::\n")
    report = myst.Report()
    out, _ = myst.to_markdown(text, "book/p/c", index, report)
    assert not myst.leftover_myst(out), out
    assert '<a id="sec-here"></a>' in out
    assert "**Lemma 2.3** (Title $x$)" in out and "[`lem-a`](https://b/book/p/c.html#lem-a)" in out
    assert "*Proof.* Easy. ∎" in out
    assert "\\tag{2.4}" in out and '<a id="equation-eq-a"></a>' in out
    assert "[(2.4)](https://b/book/p/c.html#equation-eq-a)" in out
    assert "[Lemma 2.3](https://b/book/p/c.html#lem-a)" in out
    assert "[A section](https://b/book/p/d.html#sec-a)" in out
    assert "[Other chapter](https://b/book/p/d.html)" in out
    assert "([Gao et al., 2023](https://arxiv.org/abs/1))" in out
    assert "0.12," in out, "the glued value formatted with its spec"
    assert "[that one](https://b/book/p/c.html#lem-a)" in out
    assert "$$\nx^2\n\\tag{2.4}\n$$" in out, "the glued equation with its number"
    assert "**Note**" in out and "$y$" in out
    assert not report.missing
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T")])
    myst.convert_notebook(nb, "book/p/c", index, report)
    assert nb.cells[0].source.startswith("$\\newcommand{\\R}{\\mathbb{R}}\\newcommand{\\f}[1]{#1^2}$")


def test_without_a_build_the_notebook_says_what_it_did_not_substitute():
    index = myst.Index(base_url="https://b/")
    index.labels = {"lem-a": {"doc": "book/p/c", "anchor": "lem-a", "text": "lem-a", "numbered": False}}
    report = myst.Report()
    out, _ = myst.to_markdown("{glue:text}`k:.2f` and {prf:ref}`lem-a` and {eq}`eq-b`", "book/p/c",
                              index, report)
    assert not myst.leftover_myst(out)
    assert "`‹k›`" in out and "[lem-a](https://b/book/p/c.html#lem-a)" in out
    assert report.missing == {"glued values": ["k"], "result numbers": ["lem-a"],
                              "equation numbers": ["eq-b"]}
    assert "1 glued values" in report.summary()


def test_leftover_detection_finds_roles_directives_and_targets():
    assert myst.leftover_myst("a {eq}`x` b")
    assert myst.leftover_myst("```{prf:lemma} T\nx\n```")
    assert myst.leftover_myst("(sec-x)=\n# H")
    assert not myst.leftover_myst("plain $x$ and `code` and ```python\nx = {1}\n```")


# --------------------------------------------------------------------------------------
# The browser check: findings and the gate of known chapter-level findings

def _png(path, width, height=10):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff" * width * 3 for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_static_findings(tmp_path):
    _png(tmp_path / "wide.png", 1100)
    _png(tmp_path / "ok.png", 700)
    html = ('<html><body><article><div id="proof"></div><div id="proof"></div>'
            '<div class="cell"><div class="cell_output"><pre>bound (lem-b) holds</pre>'
            '<img src="wide.png"></div></div>'
            '<div class="cell"><div class="cell_output"><img src="ok.png"></div></div></article></body></html>')
    found = check_html.static_findings(html, tmp_path / "p.html", "", {"lem-b"}, [(12, "eq-c")])
    text = "\n".join(found)
    assert "duplicate id proof (2 elements)" in text
    assert "leaked label lem-b in cell 1 (printed output)" in text
    assert "squeezed figure cell 1 (static" in text and "cell 2" not in text
    assert "leaked label eq-c in code (source line 12)" in text


def test_layout_findings_from_measurements():
    desktop = {"equations": [{"name": "equation-eq-a", "px": 900, "column": 784, "output": False},
                             {"name": "cell 3", "px": 1000, "column": 784, "output": True}],
               "outputs": [{"name": "cell 4", "px": 850, "column": 784}],
               "figures": [{"name": "cell 5", "ratio": 0.72, "shown": 784, "natural": 1087},
                           {"name": "cell 6", "ratio": 0.95, "shown": 700, "natural": 737}]}
    mobile = {"wrapped": [{"name": "cell 1", "lines": 10, "shown": 12, "input": True}]}
    found = [check_html.finding_key(f) for f in check_html.layout_findings(desktop, mobile)]
    assert found == ["wide equation equation-eq-a", "wide output cell 3", "wide output cell 4",
                     "squeezed figure cell 5", "wrapped code cell 1"]


def test_a_page_not_on_the_known_list_fails_the_check():
    findings = ["wide equation equation-eq-a (900 px in a 784 px column)",
                "squeezed figure cell 5 (shown at 72%)"]
    known = {"book/a.html": {"wide equation equation-eq-a", "squeezed figure cell 5",
                             "wrapped code cell 9"}}
    failing, tolerated, fixed = check_html.gate("book/a.html", findings, known)
    assert failing == [] and len(tolerated) == 2 and fixed == ["wrapped code cell 9"]
    failing, tolerated, _ = check_html.gate("book/b.html", findings, known)
    assert failing == findings and tolerated == [], "a page not on the list fails"
    failing, _, _ = check_html.gate("book/a.html", findings + ["duplicate id proof (2 elements)"], known)
    assert failing == ["duplicate id proof (2 elements)"], "tooling findings are never tolerated"


def test_known_violations_file_lists_only_content_findings():
    known = check_html.load_known()
    for page, keys in known.items():
        for key in keys:
            assert key.startswith(check_html.CONTENT_KINDS + ("overfull hbox",)), (page, key)
            assert check_html.finding_key(key) == key, "keys carry no measurements"


# --------------------------------------------------------------------------------------
# The PDF check

def test_overfull_boxes_are_attributed_and_gated():
    tex = ("\\begin{document}\n\\label{\\detokenize{book/p/a::doc}}\nx\nx\n"
           "\\label{\\detokenize{book/p/b::doc}}\nx\nx\nx\n")
    log = ("Overfull \\hbox (291.5pt too wide) in paragraph at lines 3--4\n"
           "Overfull \\hbox (3.2pt too wide) in paragraph at lines 6--6\n"
           "Overfull \\hbox (45.0pt too wide) detected at line 7\n")
    found = check_pdf.overfull(log, tex)
    assert found == [("book/p/a", 291.5, 3), ("book/p/b", 45.0, 7)], "20 pt is the limit"
    findings = {"pdf:book/p/a": ["overfull hbox 1 (292 pt, book.tex line 3)"],
                "pdf:book/p/b": ["overfull hbox 1 (45 pt, book.tex line 7)"]}
    failing, tolerated, fixed = check_pdf.gate_overfull(findings, {"pdf:book/p/a": {"overfull hbox 1"}})
    assert len(tolerated) == 1 and failing == ["pdf:book/p/b: overfull hbox 1 (45 pt, book.tex line 7)"]


def test_pages_come_from_the_aux_file_and_fill_the_html(tmp_path):
    aux = tmp_path / "book.aux"
    aux.write_text("\\newlabel{book/part1/model_and_gradient:lem-exp-grad}{{1.1}{9}{Lemma}{x}{}}\n"
                   "\\newlabel{result-page:lem-exp-grad}{{1.1}{10}{Lemma}{x}{}}\n"
                   "\\newlabel{book/part1/model_and_gradient:lem-exp-hessian}{{1.2}{12}{}{}{}}\n"
                   "\\newlabel{book/x:not-a-result}{{1}{2}{}{}{}}\n")
    pages = check_pdf.result_pages(aux)
    assert pages == {"lem-exp-grad": "10", "lem-exp-hessian": "12"}, "the label inside the box wins"
    page = tmp_path / "html" / "cite.html"
    page.parent.mkdir()
    page.write_text('p. <span class="pdf-page" data-label="lem-exp-grad">(page: see the PDF)</span>')
    assert check_pdf.fill_pages(page.parent, pages) == 1
    assert '>10</span>' in page.read_text()


# --------------------------------------------------------------------------------------
# Citable results

def test_one_counter_for_lemmas_and_theorems():
    conf = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert conf["prf_realtyp_to_countertyp"]["lemma"] == "theorem"


def test_citation_is_one_book_everywhere():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["type"] == "software" and cff["preferred-citation"]["type"] == "book"
    assert str(cff["version"]) == str(cff["preferred-citation"]["version"])
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == str(cff["version"]), "the package and the book share a version"
    entry = book_results.book_bibtex(ROOT)
    assert entry.startswith("@book{") and f"edition = {{{cff['version']}}}" in entry
    cite = (ROOT / "book" / "cite.md").read_text()
    assert "{book-bibtex}" in cite and "@book{" not in cite, "the page's BibTeX is generated"
    assert re.search(r"p\. \d", cite) is None, "no typed page number"
    workflow = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    assert "tags:" in workflow and "BOOK_RELEASE" in workflow


def test_result_bibtex_carries_version_and_anchor(monkeypatch):
    monkeypatch.setenv("BOOK_RELEASE", "v" + str(book_results.citation(ROOT)["version"]))
    entry = book_results.result_bibtex("lem-x", "lemma", "2.3", "T", "Chapter", "book/p/c.html", ROOT)
    version = book_results.citation(ROOT)["version"]
    assert f"/v{version}/book/p/c.html#lem-x" in entry and "Lemma 2.3" in entry
    monkeypatch.setenv("BOOK_RELEASE", "v0.0.0-not-this")
    assert "development build" in book_results.result_bibtex("lem-x", "lemma", "2.3", "T", "C", "p", ROOT)


# --------------------------------------------------------------------------------------
# The verification blueprint

def test_checks_are_attributed_by_the_explicit_convention(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/c\n")
    (tmp_path / "book" / "c.md").write_text(
        "# C\n\n```{prf:lemma} A (this book's derivation)\n:label: lem-a\n\nx\n```\n\n"
        "```{prf:lemma} B\n:label: lem-b\n\nBy {prf:ref}`lem-a`.\n```\n\n"
        "```{prf:proof}\nUse {prf:ref}`lem-a`.\n```\n\n"
        "```{prf:theorem} C (Gao et al. 2023)\n:label: thm-c\n\nAs {cite}`gao` state.\n```\n\n"
        "```{code-cell} ipython3\n# checks: lem-a\nassert sp.simplify(x - x) == 0\n```\n\n"
        "```{code-cell} ipython3\nprint('(lem-b)')\n```\n")
    (tmp_path / "tests" / "test_x.py").write_text("# checks: lem-b\ndef test_b():\n    assert True\n")
    book = results.load_book(tmp_path)
    a, b, c = book.results
    assert (a.kind, b.kind, c.kind) == ("sympy", "test", "cited")
    assert b.uses == ["lem-a"] and a.checks[0].anchor == "check-lem-a-1"
    assert b.checks[0].name == "test_b"
    assert results.leaked_labels(book) == [(tmp_path / "book" / "c.md", 31, "lem-b")]
    (tmp_path / "tests" / "test_x.py").write_text("def test_b():\n    assert True\n")
    book = results.load_book(tmp_path)
    assert [r.label for r in book.unchecked_own()] == ["lem-b"], "own lemmas without a check"
    assert any("lem-b" in p for p in book_results.gate_problems(book))


def test_unchecked_lemmas_only_shrink():
    """The build's gate, without the build: every own result without a check is listed in
    results.UNCHECKED, and every listed one exists and is still unchecked."""
    problems = book_results.gate_problems(results.load_book())
    assert not problems, "\n".join(problems)


def test_blueprint_and_index_pages_are_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    assert "book/blueprint" in toc and "book/results" in toc
    assert "{blueprint}" in (ROOT / "book" / "blueprint.md").read_text()
    assert "{results-index}" in (ROOT / "book" / "results.md").read_text()
    intro = (ROOT / "book" / "intro.md").read_text()
    for page in ("results", "blueprint", "cite"):
        assert f"{{doc}}`{page}`" in intro, f"the landing page links {page}"


# --------------------------------------------------------------------------------------
# A built book (skipped without one): ids, labels, MathJax served with the book

def _built(page):
    path = BUILD / "html" / page
    if not path.is_file():
        pytest.skip("run make book first")
    return path.read_text(encoding="utf-8")


def test_built_pages_have_unique_ids_and_permalinks():
    from collections import Counter

    from bs4 import BeautifulSoup

    for md in notebooks.chapters():
        html = _built(md.relative_to(ROOT).with_suffix(".html").as_posix())
        soup = BeautifulSoup(html, "html.parser")
        dup = [k for k, n in Counter(t["id"] for t in soup.find_all(id=True)).items() if n > 1]
        assert not dup, f"{md.name}: duplicate ids {dup}"
    labels = json.loads((BUILD / myst.LABELS_JSON).read_text())["labels"]
    assert labels["lem-exp-grad"]["text"].startswith("Lemma ")


def test_mathjax_is_served_with_the_book():
    html = _built("book/part1/model_and_gradient.html")
    assert "_static/mathjax/tex-mml-chtml.js" in html and "cdn.jsdelivr" not in html
    assert (BUILD / "html" / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


def test_readme_timings_are_generated_from_measured_runs():
    """The README's table of times is tools/timings.py's output for tools/timings.json."""
    import timings

    readme = (ROOT / "README.md").read_text()
    # rules out: a table typed by hand, or not regenerated after a measured run
    assert timings.GENERATED.read_text(encoding="utf-8").strip() == timings.table(timings.load()).strip(), \
        "run: python tools/timings.py readme"
    assert "<!-- generated: timings.md by benchmarks/write_docs.py" in readme
    for name in ("make test", "make book"):
        assert name in timings.load(), f"no measured run of {name}"
