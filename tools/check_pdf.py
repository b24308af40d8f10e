"""Check the PDF (`make pdf`): the HTML's numbers, no overfull lines, and its page numbers.

1. **Numbers.**  Reads every chapter page of ``_build/html``: the number of each
   sphinx-proof block ("Lemma 2.3", "Theorem 4.1") and of each numbered equation ("(2.3)"),
   and looks for the same strings in the text of ``_build/latex/book.pdf`` (``pdftotext``).
2. **Nothing runs off the page.**  Every ``Overfull \\hbox`` of the LaTeX log wider than
   ``OVERFULL_PT`` (20 pt) fails, attributed to the chapter whose part of ``book.tex`` it
   is in; those that the chapters still cause (long SymPy equations: phase 2 of issue 22)
   are listed under ``pdf:<chapter>`` in ``tools/known_violations.yml`` and tolerated
   (that list only shrinks, as for the browser check).
3. **Page numbers.**  Reads the page of every lemma and theorem from LaTeX's ``book.aux``
   (``\\newlabel``), writes them to ``_build/latex/pages.json`` and fills the ``{pdf-page}``
   placeholders of the HTML (the How to cite page) with them, so no page number is typed.

Usage: ``python tools/check_pdf.py [_build/latex/book.pdf] [_build/html] [--write-known]``
(``--write-known`` rewrites the ``pdf:`` entries of ``tools/known_violations.yml``).  Exits 1 and
lists what fails; 0 with a ``SKIP`` line where pdftotext or a build is missing.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

OVERFULL_PT = 20.0
OVERFULL = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) "
                      r"(?:in paragraph at lines (\d+)--(\d+)|detected at line (\d+)|"
                      r"in alignment at lines (\d+)--(\d+))", re.M)
NEWLABEL = re.compile(r"^\\newlabel\{([^{}]+)\}\{\{([^{}]*)\}\{([^{}]*)\}", re.M)


def html_numbers(html_root: Path) -> list[tuple[str, str]]:
    """(page, "Lemma 2.3" or "(2.3)") for every numbered lemma-like block and equation."""
    from bs4 import BeautifulSoup

    import notebooks

    found = []
    for md in notebooks.chapters():
        page = html_root / md.relative_to(ROOT).with_suffix(".html")
        if not page.is_file():
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for span in soup.select("div.proof p.admonition-title span.caption-number, "
                                "div.admonition p.admonition-title span.caption-number"):
            text = " ".join(span.get_text(" ", strip=True).split())
            if re.fullmatch(r"[A-Z][a-z]+ \d+(\.\d+)+", text):
                found.append((page.name, text))
        for eqno in soup.select("span.eqno"):
            m = re.search(r"\(\d+(\.\d+)+\)", eqno.get_text())
            if m:
                found.append((page.name, m.group(0)))
    return found


def pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


def compare(pdf: Path, html_root: Path) -> list[str]:
    text = pdf_text(pdf)
    numbers = html_numbers(html_root)
    if not numbers:
        return [f"no numbered lemma or equation found in {html_root}"]
    return [f"{page}: '{num}' of the HTML is not in the PDF" for page, num in numbers
            if num not in text]


# ----------------------------------------------------------------------------------------
# Overfull boxes

def _chapter_starts(tex: str) -> list[tuple[int, str]]:
    """(line, docname) where each document starts in the merged ``book.tex``."""
    starts = []
    for k, line in enumerate(tex.split("\n"), 1):
        m = re.search(r"\\label\{\\detokenize\{([\w/.-]+?)::doc\}\}", line)
        if m:
            starts.append((k, m.group(1)))
    return starts


def overfull(log: str, tex: str, limit: float = OVERFULL_PT) -> list[tuple[str, float, int]]:
    """(docname, points, tex line) of every overfull hbox wider than ``limit``."""
    starts = _chapter_starts(tex)
    found = []
    for m in OVERFULL.finditer(log):
        pt = float(m.group(1))
        if pt <= limit:
            continue
        line = int(next(g for g in m.groups()[1:] if g))
        doc = "preamble"
        for start, name in starts:
            if start <= line:
                doc = name
        found.append((doc, pt, line))
    return found


def overfull_findings(latex_dir: Path) -> dict[str, list[str]]:
    """``pdf:<docname>`` -> findings ``overfull hbox <k> (291 pt, book.tex line 1234)``."""
    log = (latex_dir / "book.log").read_text(encoding="utf-8", errors="replace")
    tex = (latex_dir / "book.tex").read_text(encoding="utf-8", errors="replace")
    out: dict[str, list[str]] = {}
    for doc, pt, line in overfull(log, tex):
        items = out.setdefault(f"pdf:{doc}", [])
        items.append(f"overfull hbox {len(items) + 1} ({pt:.0f} pt, book.tex line {line})")
    return out


def gate_overfull(findings: dict[str, list[str]], known: dict[str, set[str]]):
    """(failing, tolerated, fixed) over all documents (see check_html.gate)."""
    import check_html

    failing, tolerated, fixed = [], [], []
    pages = set(findings) | {p for p in known if p.startswith("pdf:")}
    for page in sorted(pages):
        listed = known.get(page, set())
        keys = set()
        for f in findings.get(page, []):
            key = check_html.finding_key(f)
            keys.add(key)
            (tolerated if key in listed else failing).append(f"{page}: {f}")
        fixed += [f"{page}: {k}" for k in sorted(listed - keys)]
    return failing, tolerated, fixed


# ----------------------------------------------------------------------------------------
# Page numbers

def result_pages(aux: Path) -> dict[str, str]:
    """label -> printed page of every labelled result of the PDF (LaTeX's own \\pageref)."""
    import results

    labels = {r.label for r in results.load_book().results}
    pages, fallback = {}, {}
    for name, _number, page in NEWLABEL.findall(aux.read_text(encoding="utf-8", errors="replace")):
        label = name.rsplit(":", 1)[-1]
        if label not in labels:
            continue
        if name.startswith("result-page:"):  # inside the result's box (book_ext.py)
            pages[label] = page
        else:                                # sphinx-proof's, before the box
            fallback.setdefault(label, page)
    return {**fallback, **pages}


def fill_pages(html_root: Path, pages: dict[str, str]) -> int:
    """Replace every ``<span class="pdf-page" data-label=...>`` of the built HTML with the
    page; returns how many were filled."""
    pattern = re.compile(r'(<span class="pdf-page" data-label="([\w-]+)">)(.*?)(</span>)')
    filled = 0
    for page in html_root.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if 'class="pdf-page"' not in text:
            continue

        def sub(m):
            nonlocal filled
            if m.group(2) in pages:
                filled += 1
                return m.group(1) + pages[m.group(2)] + m.group(4)
            return m.group(0)

        page.write_text(pattern.sub(sub, text), encoding="utf-8")
    return filled


def main(argv: list[str]) -> int:
    import check_html

    args = [a for a in argv[1:] if not a.startswith("--")]
    pdf = Path(args[0]) if args else ROOT / "_build" / "latex" / "book.pdf"
    html = Path(args[1]) if len(args) > 1 else ROOT / "_build" / "html"
    if not shutil.which("pdftotext"):
        print("SKIP check-pdf: no pdftotext (apt-get install poppler-utils)")
        return 0
    if not pdf.is_file() or not (html / "index.html").is_file():
        print(f"SKIP check-pdf: needs {pdf} (make pdf) and {html} (make book)")
        return 0
    problems = compare(pdf, html)
    for p in problems:
        print(f"FAIL {p}")
    print(f"check-pdf: {len(html_numbers(html)) - len(problems)} of {len(html_numbers(html))} "
          "HTML numbers found in the PDF")
    latex = pdf.parent
    if (latex / "book.log").is_file() and (latex / "book.tex").is_file():
        findings = overfull_findings(latex)
        if "--write-known" in argv:
            check_html.write_known(findings, pdf=True)
        failing, tolerated, fixed = gate_overfull(findings, check_html.load_known())
        check_html.print_gate([f"{f}: wider than {OVERFULL_PT:.0f} pt" for f in failing],
                              tolerated, fixed, fail="FAIL ")
        print(f"check-pdf: {len(failing)} overfull boxes over {OVERFULL_PT:.0f} pt not known, "
              f"{len(tolerated)} known")
        problems += failing
    aux = latex / "book.aux"
    if aux.is_file():
        pages = result_pages(aux)
        (latex / "pages.json").write_text(json.dumps(pages, indent=1, sort_keys=True),
                                          encoding="utf-8")
        filled = fill_pages(html, pages)
        print(f"check-pdf: pages of {len(pages)} results read from book.aux; {filled} page "
              "numbers filled into the HTML")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
