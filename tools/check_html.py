"""Browser check of the built book: headless Chromium opens every chapter page.

For each chapter of ``_toc.yml`` (a MyST notebook), Chromium (the OS package, no
Selenium) loads ``_build/html/<chapter>.html`` from disk, runs its scripts and dumps
the DOM, which BeautifulSoup then checks:

* **figures**: every image in a cell output is an existing, non-empty file, and a
  chapter whose source plots (``plt.``/``.subplots``) shows at least one figure;
* **no error output**: no traceback, error or stderr output is on the page;
* **lemma and equation numbers**: every ``{prf:...}`` label of the source is an anchor
  whose title carries a number ("Lemma 2.3"), every ``$$ ... $$ (eq-...)`` has its
  number "(2.3)";
* **notebook download and launch**: the download menu links an ``.ipynb`` that exists,
  is a valid notebook and starts with the install cell; the Colab and Binder buttons
  open that notebook's path (``_notebooks/`` holds what the Pages workflow publishes).

Usage: ``python tools/check_html.py [_build/html]`` (``make check-html``).  Prints one
line per page; exits 1 if a check fails, 0 with a ``SKIP`` line where Chromium or the
built book is missing.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PLOTS = re.compile(r"\bplt\.(?!close)|\.subplots\(|\bax\.|\baxes\[")
PRF_LABEL = re.compile(r"```\{prf:(\w+)\}[^\n]*\n:label:\s*(\S+)")
EQ_LABEL = re.compile(r"^\$\$\s*\((eq-[\w-]+)\)", re.M)
NUMBER = re.compile(r"\d+(\.\d+)+")


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) or Path(env).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def dump_dom(chromium: str, page: Path, timeout: float = 120) -> str:
    """The DOM of ``page`` after Chromium loaded it and ran its scripts."""
    with tempfile.TemporaryDirectory(prefix="check-html-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--allow-file-access-from-files", f"--user-data-dir={profile}",
               "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"chromium failed on {page} (rc {proc.returncode}): {proc.stderr[-800:]}")
    return proc.stdout


def check_page(dom: str, page: Path, source_text: str, html_root: Path) -> list[str]:
    """Everything wrong with one rendered chapter page (an empty list: all good)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(dom, "html.parser")
    problems = []
    article = soup.select_one("article") or soup

    # figures
    imgs = article.select("div.cell_output img")
    for img in imgs:
        src = img.get("src", "")
        if src.startswith("data:"):
            continue
        target = (page.parent / src.split("#")[0]).resolve()
        if not target.is_file() or target.stat().st_size == 0:
            problems.append(f"figure {src} is missing")
    if PLOTS.search(_code(source_text)) and not imgs:
        problems.append("the chapter plots but the page shows no figure")
    cards = source_text.count("{grid-item-card}")
    if cards:  # the landing figure: one panel per card, each a link to its chapter
        shown = article.select(".landing-card img")
        links = [a for a in article.select(".landing-card a[href]") if a["href"].endswith(".html")]
        if len(shown) < cards or len(links) < cards:
            problems.append(f"landing figure: {len(shown)} panels and {len(links)} chapter links "
                            f"for {cards} cards")
        for img in shown:
            src = img.get("src", "")
            if not src.startswith("data:") and not (page.parent / src).resolve().is_file():
                problems.append(f"landing panel {src} is missing")

    # error output
    for sel, what in [("div.output.error", "error output"), ("div.output.traceback", "a traceback"),
                      ("div.output.stderr", "stderr output")]:
        for node in article.select(sel):
            problems.append(f"{what}: {node.get_text(' ', strip=True)[:160]!r}")
    if "Traceback (most recent call last)" in article.get_text():
        problems.append("a Python traceback is shown")

    # lemma and equation numbers
    for kind, label in PRF_LABEL.findall(source_text):
        node = soup.find(id=label)
        title = node.select_one(".admonition-title, .caption-number") if node else None
        text = title.get_text(" ", strip=True) if title else ""
        if not node or not NUMBER.search(text):
            problems.append(f"{kind} {label} has no number ({text!r})")
    for label in EQ_LABEL.findall(source_text):
        node = soup.find(id=f"equation-{label.lower()}") or soup.find(id=f"equation-{label}")
        eqno = node.select_one(".eqno") if node else None
        if not eqno or not re.search(r"\(\d+(\.\d+)+\)", eqno.get_text()):
            problems.append(f"equation {label} has no number")

    # notebook download and launch buttons
    links = [a.get("href", "") for a in soup.select("a[href]")]
    downloads = [h for h in links if h.endswith(".ipynb") and not h.startswith("http")]
    if not downloads:
        problems.append("no .ipynb in the download menu")
    for href in downloads:
        problems += _check_notebook((page.parent / href).resolve(), href)
    rel = page.relative_to(html_root).with_suffix(".ipynb").as_posix()
    for host in ("colab.research.google.com", "mybinder.org"):
        hits = [h for h in links if host in h]
        if not hits:
            problems.append(f"no {host} button")
        elif not any(h.endswith(rel) or h.endswith(rel.replace("/", "%2F")) for h in hits):
            problems.append(f"the {host} button does not open {rel}: {hits[0]}")
    if not (html_root / "_notebooks" / rel).is_file():
        problems.append(f"_notebooks/{rel} (published for Colab) is missing")
    return problems


def _check_notebook(path: Path, href: str) -> list[str]:
    import nbformat

    import notebooks

    if not path.is_file():
        return [f"the download link {href} is broken"]
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001  (any unreadable notebook is the finding)
        return [f"the downloaded notebook {href} is not a valid notebook: {exc}"]
    first = nb.cells[0] if nb.cells else None
    if first is None or notebooks.INSTALL_TAG not in first.get("metadata", {}).get("tags", []):
        return [f"the downloaded notebook {href} does not start with the install cell"]
    return []


def _code(text: str) -> str:
    return "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S))


def chapter_pages(html_root: Path) -> list[tuple[Path, Path]]:
    """(source .md, built .html) of every chapter notebook."""
    import notebooks

    return [(md, html_root / md.relative_to(ROOT).with_suffix(".html")) for md in notebooks.chapters()]


def main(argv: list[str]) -> int:
    html_root = Path(argv[1] if len(argv) > 1 else ROOT / "_build" / "html").resolve()
    chromium = find_chromium()
    if chromium is None:
        print("SKIP check-html: no Chromium (apt-get install chromium, or set CHROMIUM=...)")
        return 0
    if not (html_root / "index.html").is_file():
        print(f"SKIP check-html: no built book at {html_root} (run make book)")
        return 0
    failed = 0
    for md, page in chapter_pages(html_root):
        name = page.relative_to(html_root).as_posix()
        if not page.is_file():
            print(f"FAIL {name}: page not built")
            failed += 1
            continue
        problems = check_page(dump_dom(chromium, page), page, md.read_text(encoding="utf-8"),
                              html_root)
        print(("FAIL " if problems else "ok   ") + name)
        for p in problems:
            print(f"     - {p}")
        failed += bool(problems)
    print(f"check-html: {failed} of {len(chapter_pages(html_root))} chapter pages failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
