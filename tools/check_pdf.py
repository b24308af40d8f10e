"""Check that the PDF (`make pdf`) carries the HTML book's lemma and equation numbers.

Reads every chapter page of ``_build/html``: the number of each sphinx-proof block
("Lemma 2.3", "Theorem 4.1") and of each numbered equation ("(2.3)"), and looks for
the same strings in the text of ``_build/latex/book.pdf`` (``pdftotext``).

Usage: ``python tools/check_pdf.py [_build/latex/book.pdf] [_build/html]``.  Exits 1 and
lists what is missing; 0 with a ``SKIP`` line where pdftotext or a build is missing.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


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


def main(argv: list[str]) -> int:
    pdf = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "latex" / "book.pdf"
    html = Path(argv[2]) if len(argv) > 2 else ROOT / "_build" / "html"
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
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
