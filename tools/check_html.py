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
  open that notebook's path (``_notebooks/`` holds what the Pages workflow publishes);
* **citable results**: every lemma and theorem shows its label as a permalink and has a
  BibTeX entry; every page's ids are unique.

**Nothing cut, nothing squeezed** (issue 22).  Chromium loads each chapter page again at
1400 px and at 420 px with a measuring script added (``MEASURE``; it runs after MathJax has
typeset the page and writes what it measured into the DOM) and these fail:

* ``wide equation``: a display equation wider than its column at 1400 px (it scrolls
  sideways, its number on the cut);
* ``wide output``: a cell output (printed text, a table, a SymPy expression) wider than
  its column at 1400 px;
* ``squeezed figure``: a figure shown below 90% of its natural size at 1400 px (its
  fonts shrink with it; the landing cards are scaled on purpose and not checked);
* ``wrapped code``: a code or output line that wraps at 420 px (a phone), so that its
  continuation starts at column 0 and Python looks mis-indented;
* ``leaked label``: an internal label ("(lem-exp-grad-bound)") in printed output, or in a
  string of a code cell (a figure's title or legend, a printed line), where a reader should
  see a number.

Without Chromium the static checks still run: duplicate ids and leaked labels (the built
HTML and the sources) and figures whose PNG is wider than the column allows at 90%.
The chapter-level findings that phase 2 of issue 22 fixes in the chapters are listed per
page in ``tools/known_violations.yml``: a finding listed there is reported but does not
fail; a finding not listed fails; a listed one that no longer occurs is reported as fixed
(drop it: the list only shrinks).

Usage: ``python tools/check_html.py [_build/html] [--write-known]`` (``make check-html``).
Prints one line per page; exits 1 if a check fails, 0 with a ``SKIP`` line for the browser
checks where Chromium is missing (the static checks run anyway) and where the built book is
missing.  ``--write-known`` rewrites ``tools/known_violations.yml`` with today's findings
(for a merge that moves them; review its diff).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PLOTS = re.compile(r"\bplt\.(?!close)|\.subplots\(|\bax\.|\baxes\[")
PRF_LABEL = re.compile(r"```\{prf:(\w+)\}[^\n]*\n:label:\s*(\S+)")
EQ_LABEL = re.compile(r"^\$\$\s*\((eq-[\w-]+)\)", re.M)
NUMBER = re.compile(r"\d+(\.\d+)+")
KNOWN_FILE = Path(__file__).resolve().parent / "known_violations.yml"
DESKTOP, MOBILE = 1400, 420
SQUEEZE = 0.90          # a figure below 90% of its natural width is squeezed
COLUMN_PX = 784         # the text column of sphinx-book-theme at 1400 px (static figure check)
# Findings that depend on the chapters' content (gated by known_violations.yml); the others
# (the tooling's own: ids, numbers, notebooks, labels and permalinks) always fail.
CONTENT_KINDS = ("wide equation", "wide output", "squeezed figure", "wrapped code",
                 "leaked label")


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) or Path(env).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def dump_dom(chromium: str, page: Path, timeout: float = 120, width: int = DESKTOP,
             script: str = "", offline: bool = False) -> str:
    """The DOM of ``page`` after Chromium loaded it at ``width`` px and ran its scripts
    (and ``script``, added at the end of the body of a copy next to the page).
    ``offline``: no network at all (every host resolves nowhere)."""
    target = page
    if script:
        target = page.with_name(f".check-{width}-{page.name}")
        text = page.read_text(encoding="utf-8")
        target.write_text(text.replace("</body>", f"<script>{script}</script></body>"),
                          encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="check-html-") as profile:
            cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-dev-shm-usage", "--no-first-run", "--disable-quic",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--hide-scrollbars", "--allow-file-access-from-files",
                   f"--user-data-dir={profile}", f"--window-size={width},1000",
                   "--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw"]
            if offline:
                cmd += ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]
            cmd += ["--dump-dom", target.resolve().as_uri()]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    finally:
        if target != page:
            target.unlink(missing_ok=True)
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"chromium failed on {page} (rc {proc.returncode}): {proc.stderr[-800:]}")
    return proc.stdout


# Runs in the page once MathJax has typeset it; writes JSON into <pre id="check-html-result">.
MEASURE = r"""
(function () {
  function cellOf(el) {
    const cells = Array.from(document.querySelectorAll('article div.cell'));
    const cell = el.closest('div.cell');
    return cell ? cells.indexOf(cell) + 1 : 0;
  }
  function nameOf(el) {
    const m = el.closest('[id^="equation-"]');
    if (m) return m.id;
    const c = cellOf(el);
    if (c) return 'cell ' + c;
    let p = el;
    while (p && !p.id) p = p.parentElement;
    return p ? p.id : '?';
  }
  function wide(el) { return el.scrollWidth > el.clientWidth + 2; }
  function run() {
    const out = {width: window.innerWidth, equations: [], outputs: [], figures: [], wrapped: [],
                 math: document.querySelectorAll('mjx-container').length,
                 rawmath: document.body.innerText.indexOf('\\[') >= 0};
    const article = document.querySelector('article') || document.body;
    const right = article.getBoundingClientRect().right;
    document.querySelectorAll('article div.math, article mjx-container[display="true"]').forEach(el => {
      const box = el.getBoundingClientRect();
      if (box.width === 0) return;
      if (wide(el) || box.right > right + 2 ||
          (el.firstElementChild && el.firstElementChild.getBoundingClientRect().right > right + 2)) {
        out.equations.push({name: nameOf(el), px: el.scrollWidth, column: el.clientWidth,
                            output: !!el.closest('div.cell_output')});
      }
    });
    document.querySelectorAll('article div.cell_output > div, article div.cell_output pre, article div.cell_output table').forEach(el => {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || el.closest('div.math')) return;
      if (wide(el) || box.right > right + 2) {
        out.outputs.push({name: nameOf(el), px: el.scrollWidth, column: el.clientWidth});
      }
    });
    document.querySelectorAll('article div.cell_output img, article .pasted-figure img').forEach(img => {
      if (img.closest('.landing-card') || !img.naturalWidth) return;
      const w = img.getBoundingClientRect().width;
      out.figures.push({name: nameOf(img), ratio: w / img.naturalWidth, shown: w,
                        natural: img.naturalWidth});
    });
    document.querySelectorAll('article div.cell_input pre, article div.cell_output pre').forEach(pre => {
      const lines = pre.textContent.replace(/\n$/, '').split('\n').length;
      const lh = parseFloat(getComputedStyle(pre).lineHeight) || 16;
      const pad = parseFloat(getComputedStyle(pre).paddingTop) + parseFloat(getComputedStyle(pre).paddingBottom);
      const shown = Math.round((pre.clientHeight - pad) / lh);
      if (shown > lines + 0.5 && pre.getBoundingClientRect().width > 0) {
        out.wrapped.push({name: nameOf(pre), lines: lines, shown: shown,
                          input: !!pre.closest('div.cell_input')});
      }
    });
    const res = document.createElement('pre');
    res.id = 'check-html-result';
    res.textContent = JSON.stringify(out);
    document.body.appendChild(res);
  }
  function start() {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(() => setTimeout(run, 200), () => run());
    } else {
      setTimeout(run, 500);
    }
  }
  if (document.readyState === 'complete') start(); else window.addEventListener('load', start);
})();
"""


def measure(chromium: str, page: Path, width: int) -> dict:
    """What ``MEASURE`` found on ``page`` at ``width`` px."""
    from bs4 import BeautifulSoup

    dom = dump_dom(chromium, page, width=width, script=MEASURE)
    node = BeautifulSoup(dom, "html.parser").find(id="check-html-result")
    if node is None:
        raise RuntimeError(f"the measuring script did not run on {page} at {width} px")
    return json.loads(node.get_text())


def layout_findings(desktop: dict, mobile: dict) -> list[str]:
    """Content findings from the two measurements (``wide ...``, ``squeezed ...``)."""
    found = []
    seen = set()
    for eq in desktop.get("equations", []):
        kind = "wide output" if eq.get("output") else "wide equation"
        key = f"{kind} {eq['name']}"
        if key not in seen:
            seen.add(key)
            found.append(f"{key} ({eq['px']} px in a {eq['column']} px column)")
    for out in desktop.get("outputs", []):
        key = f"wide output {out['name']}"
        if key not in seen:
            seen.add(key)
            found.append(f"{key} ({out['px']} px in a {out['column']} px column)")
    for fig in desktop.get("figures", []):
        if fig["ratio"] < SQUEEZE:
            key = f"squeezed figure {fig['name']}"
            if key not in seen:
                seen.add(key)
                found.append(f"{key} (shown at {fig['ratio']:.0%}: {fig['shown']:.0f} of "
                             f"{fig['natural']} px)")
    for pre in mobile.get("wrapped", []):
        key = f"wrapped code {pre['name']}"
        if key not in seen:
            seen.add(key)
            what = "code" if pre["input"] else "output"
            found.append(f"{key} ({what}: {pre['lines']} lines shown on {pre['shown']} at "
                         f"{MOBILE} px, continuing at column 0)")
    return found


def static_findings(html: str, page: Path, source_text: str, labels: set[str],
                    leaks: list[tuple[int, str]]) -> list[str]:
    """Checks that need no browser: duplicate ids, leaked labels (printed output and
    strings in the code), figures whose PNG is too wide for the column."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    found = []
    counts = Counter(tag["id"] for tag in soup.find_all(id=True))
    for ident, n in sorted(counts.items()):
        if n > 1:
            found.append(f"duplicate id {ident} ({n} elements)")
    cells = soup.select("article div.cell")
    for k, cell in enumerate(cells, 1):
        for out in cell.select("div.cell_output"):
            text = out.get_text(" ")
            for label in sorted(labels):
                if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text):
                    found.append(f"leaked label {label} in cell {k} (printed output)")
        for k2, img in enumerate(cell.select("div.cell_output img")):
            width = png_width((page.parent / img.get("src", "")).resolve())
            if width and width * SQUEEZE > COLUMN_PX:
                found.append(f"squeezed figure cell {k} (static: {width} px wide PNG, "
                             f"column {COLUMN_PX} px)")
    for line, label in leaks:
        found.append(f"leaked label {label} in code (source line {line})")
    return found


def png_width(path: Path) -> int | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">I", head[16:20])[0]


def finding_key(finding: str) -> str:
    """The part of a finding that names it (kind and place), without its measurements."""
    return re.sub(r"\s*\(.*$", "", finding).strip()


def load_known(path: Path = KNOWN_FILE) -> dict[str, set[str]]:
    import yaml

    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {page: set(items or []) for page, items in data.items()}


def write_known(findings: dict[str, list[str]], path: Path = KNOWN_FILE, pdf: bool = False) -> None:
    """Rewrite the known findings of the HTML pages (or, ``pdf``, of the PDF's ``pdf:...``
    entries) from ``findings``; the other kind's entries are kept as they are."""
    keep = {page: keys for page, keys in load_known(path).items()
            if page.startswith("pdf:") != pdf}
    new = {}
    for page, items in findings.items():
        keys = {finding_key(f) for f in items}
        keys = {k for k in keys if k.startswith(CONTENT_KINDS + ("overfull hbox",))}
        if keys:
            new[page] = keys
    merged = {**keep, **new}
    lines = ["# Chapter-level findings of tools/check_html.py (HTML pages) and tools/check_pdf.py",
             "# (pdf:<chapter>) that phase 2 of issue 22 fixes in the chapters.  A finding listed",
             "# here is reported and tolerated; one not listed fails make check-html / make pdf.",
             "# This list only shrinks: drop what is fixed (the checks say so).  `--write-known`",
             "# of either tool rewrites its own entries from a build (for a merge; review the diff)."]
    for page in sorted(merged):
        lines.append(f"{page}:")
        lines += [f"  - {json.dumps(k)}" for k in sorted(merged[page])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def gate(page: str, findings: list[str], known: dict[str, set[str]]) -> tuple[list[str], list[str], list[str]]:
    """(failing, tolerated, fixed) for one page: a content finding listed in ``known``
    is tolerated; every other finding fails; a listed key no longer found is fixed."""
    listed = known.get(page, set())
    failing, tolerated = [], []
    keys = set()
    for f in findings:
        key = finding_key(f)
        keys.add(key)
        (tolerated if key.startswith(CONTENT_KINDS) and key in listed else failing).append(f)
    fixed = sorted(k for k in listed if k not in keys)
    return failing, tolerated, fixed


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

    # citable results: label as a permalink, a BibTeX entry
    for kind, label in PRF_LABEL.findall(source_text):
        node = soup.find(id=label)
        if node is None:
            continue
        tag = node.select_one(f'a.result-tag[href="#{label}"]')
        if tag is None or tag.get_text(strip=True) != label:
            problems.append(f"{kind} {label} does not show its label as a permalink")
        bib = node.select_one("details.result-cite pre")
        if bib is None or f"#{label}" not in bib.get_text():
            problems.append(f"{kind} {label} has no BibTeX entry with its anchor")
    for label in EQ_LABEL.findall(source_text):
        anchor = f"equation-{label}".lower()
        node = soup.find(id=anchor)
        nxt = node.find_next_sibling() if node else None
        if not nxt or not nxt.select_one(f'a.result-tag[href="#{anchor}"]'):
            problems.append(f"equation {label} does not show its label as a permalink")
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


def print_gate(failing: list[str], tolerated: list[str], fixed: list[str], fail: str = "- ") -> None:
    """The findings of a gate: failing, tolerated (known) and fixed (to drop from the list)."""
    for p in failing:
        print(f"     {fail}{p}")
    for p in tolerated:
        print(f"     ~ known: {p}")
    for key in fixed:
        print(f"     + fixed: {key} (drop it from tools/known_violations.yml)")


def other_pages(html_root: Path) -> list[Path]:
    """The built pages of the toc that are not chapters (index, blueprint, cite, ...)."""
    import notebooks
    import results

    chapters = set(notebooks.chapters())
    return [html_root / p.relative_to(ROOT).with_suffix(".html") for p in results.toc_sources()
            if p not in chapters]


def browser_findings(chromium: str, md: Path, page: Path, html_root: Path) -> tuple[list[str], list[str]]:
    """(tooling problems, content findings) that need the browser."""
    source = md.read_text(encoding="utf-8")
    problems = check_page(dump_dom(chromium, page), page, source, html_root)
    desktop = measure(chromium, page, DESKTOP)
    mobile = measure(chromium, page, MOBILE)
    if "$" in source and (desktop.get("math", 0) == 0 or desktop.get("rawmath")):
        problems.append("math is not rendered with the network off (MathJax is not served "
                        "with the book?)")
    return problems, layout_findings(desktop, mobile)


def main(argv: list[str]) -> int:
    import results

    flags = {a for a in argv[1:] if a.startswith("--")}
    args = [a for a in argv[1:] if not a.startswith("--")]
    html_root = Path(args[0] if args else ROOT / "_build" / "html").resolve()
    if not (html_root / "index.html").is_file():
        print(f"SKIP check-html: no built book at {html_root} (run make book)")
        return 0
    chromium = find_chromium()
    if chromium is None:
        print("SKIP check-html browser checks: no Chromium (apt-get install chromium, or set "
              "CHROMIUM=...); the static checks run")
    book = results.load_book()
    labels = results.known_labels(book)
    leaks: dict[Path, list[tuple[int, str]]] = {}
    for path, line, label in results.leaked_labels(book):
        leaks.setdefault(path.resolve(), []).append((line, label))
    known = load_known()
    failed, all_findings, n_tolerated, n_fixed = 0, {}, 0, 0
    pages = [(md, page) for md, page in chapter_pages(html_root)]
    pages += [(None, page) for page in other_pages(html_root)]
    for md, page in pages:
        name = page.relative_to(html_root).as_posix()
        if not page.is_file():
            print(f"FAIL {name}: page not built")
            failed += 1
            continue
        findings = []
        if md is not None and chromium is not None:
            problems, content = browser_findings(chromium, md, page, html_root)
            findings += problems + content
        source = md.read_text(encoding="utf-8") if md is not None else ""
        static = static_findings(page.read_text(encoding="utf-8"), page, source,
                                 labels if md is not None else set(),
                                 leaks.get(md.resolve(), []) if md is not None else [])
        keys = {finding_key(f) for f in findings}
        findings += [f for f in static if finding_key(f) not in keys]  # the browser's wins
        all_findings[name] = findings
        failing, tolerated, fixed = gate(name, findings, known)
        n_tolerated += len(tolerated)
        n_fixed += len(fixed)
        print(("FAIL " if failing else "ok   ") + name
              + (f"  ({len(tolerated)} known findings, tools/known_violations.yml)" if tolerated else ""))
        print_gate(failing, tolerated, fixed)
        failed += bool(failing)
    if "--write-known" in flags:
        write_known(all_findings)
        print(f"wrote {KNOWN_FILE}")
    print(f"check-html: {failed} of {len(pages)} pages failed ({n_tolerated} known chapter "
          f"findings tolerated, {n_fixed} fixed)" + ("" if chromium else "; browser checks skipped"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
