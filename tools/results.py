"""The book's labelled results, read from the MyST sources (no build needed).

One model of what the chapters state, shared by the Sphinx extension (``book_ext.py``: the
results index, the verification blueprint, the per-result BibTeX), the generated notebooks
(``notebooks.py``) and the checks (``check_html.py``, ``tests/test_book.py``):

* **results**: every ``{prf:lemma}``, ``{prf:theorem}``, ... with its ``:label:``, title,
  statement and the proof that follows it;
* **equations**: every labelled display equation, ``$$ ... $$ (eq-label)`` or
  ``{glue:math}`` with ``:label:``, and the result whose statement contains it;
* **dependencies**: result A uses result B when A's statement or proof refers to B
  (``{prf:ref}``) or to an equation inside B's statement (``{eq}``);
* **checks**: what checks a result, by an explicit convention a reviewer can read: a
  comment ``# checks: lem-a, lem-b`` in a chapter's code cell (the cell must assert
  something) or in a test file (it attributes the ``def test_...`` that follows).  A cell's
  kind is read from its code: ``sympy`` (a SymPy identity: the cell uses ``sp.``/``sympy``),
  ``stored`` (a stored full-scale result: ``load_result``) or ``numeric`` (a numerical
  assert); a test is ``test``.  A result whose statement is a paper's or a textbook's,
  cited in its title or first sentence and not marked "this book's", is ``cited``;
* **provenance**: a result is *this book's own* unless it is cited as above.  The build
  fails when one of the book's own lemmas has no check (``book_ext.py``), except for the
  labels listed in ``UNCHECKED`` below, a list that must only shrink.

Command line: ``python tools/results.py`` prints every result, its kind of check and what
uses it; ``--unchecked`` prints the book's own results without a check.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TESTS = ROOT / "tests"

RESULT_TYPES = ("lemma", "theorem", "corollary", "proposition")
FENCE = re.compile(r"^(`{3,}|:{3,})\{([\w:-]+)\}\s*(.*?)\s*$")
OPTION = re.compile(r"^:([\w-]+):\s*(.*?)\s*$")
TARGET = re.compile(r"^\(([\w-]+)\)=\s*$")
PRF_REF = re.compile(r"\{prf:ref\}`(?:[^`<]*<)?([\w-]+)>?`")
EQ_REF = re.compile(r"\{eq\}`([\w-]+)`")
CHECKS = re.compile(r"#\s*checks:\s*([\w\s,-]+?)\s*(?:\(|$)", re.M)
OWN = re.compile(r"this book's\s+(derivation|construction|reconstruction)", re.I)
CITE = re.compile(r"\{cite(?::\w+)?\}`|et al\.|\(\w+ (19|20)\d\d\)|as stated in the abstract", re.I)
EQ_CLOSE = re.compile(r"\$\$\s*(?:\((eq-[\w-]+)\))?\s*$")

# The book's own results that no cell or test is marked as checking yet (issue 22,
# phase 2 adds `# checks:` comments in the chapters).  This list must only shrink:
# tests/test_book.py fails on a label here that is checked (drop it) or that no longer
# exists, and the build fails on an own result without a check that is not listed.
UNCHECKED: set[str] = set()


@dataclass
class Check:
    kind: str            # "sympy" | "stored" | "numeric" | "test"
    path: Path           # the chapter or test file
    line: int            # 1-based line of the `# checks:` comment
    name: str            # "cell 12" or the test function
    anchor: str = ""     # HTML id of the cell (chapters: "check-<label>-<k>")


@dataclass
class Result:
    label: str
    realtype: str        # lemma, theorem, ...
    title: str
    docname: str         # "book/part1/model_and_gradient"
    line: int
    statement: str
    proof: str = ""
    uses: list[str] = field(default_factory=list)     # labels of results it refers to
    checks: list[Check] = field(default_factory=list)

    @property
    def own(self) -> bool:
        """This book's derivation (not a paper's or a textbook's statement, cited)."""
        head = f"{self.title}\n{_first_paragraph(self.statement)}"
        return bool(OWN.search(head)) or not CITE.search(head)

    @property
    def kind(self) -> str:
        """How it is checked: sympy, stored, numeric, test, cited or unchecked."""
        kinds = {c.kind for c in self.checks}
        for k in ("sympy", "stored", "numeric", "test"):
            if k in kinds:
                return k
        return "unchecked" if self.own else "cited"


@dataclass
class Equation:
    label: str
    docname: str
    line: int
    tex: str             # the TeX between $$ ... $$ ("" for a glued equation)
    glue_key: str = ""   # {glue:math} key
    within: str = ""     # label of the result whose statement contains it


@dataclass
class Cell:
    line: int            # 1-based line of the cell's first code line (after its options)
    index: int           # 0-based index among the chapter's code cells
    code: str


@dataclass
class Chapter:
    path: Path
    docname: str
    title: str
    results: list[Result]
    equations: list[Equation]
    targets: list[tuple[str, str, int]]   # (label, heading text, line)
    cells: list[Cell]


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n", 1)[0]


def _docname(path: Path, root: Path = ROOT) -> str:
    return path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()


def parse_chapter(path: Path, root: Path = ROOT) -> Chapter:
    """Results, equations, targets and code cells of one MyST source."""
    lines = path.read_text(encoding="utf-8").split("\n")
    doc = _docname(path, root)
    results: list[Result] = []
    equations: list[Equation] = []
    targets: list[tuple[str, str, int]] = []
    cells: list[Cell] = []
    title = ""
    pending_target = None
    last_result: Result | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if m:
            fence, name, arg = m.groups()
            j = i + 1
            opts = {}
            while j < len(lines) and OPTION.match(lines[j]):
                k, v = OPTION.match(lines[j]).groups()
                opts[k] = v
                j += 1
            end = j
            close = re.compile("^" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
            while end < len(lines) and not close.match(lines[end]):
                end += 1
            body = "\n".join(lines[j:end])
            if name == "code-cell":
                cells.append(Cell(j + 1, len(cells), body))
            elif name.startswith("prf:") and name[4:] in RESULT_TYPES and "label" in opts:
                last_result = Result(opts["label"], name[4:], arg, doc, i + 1, body)
                results.append(last_result)
                for eq in _equations(body, doc, i + 1 + (j - i)):
                    eq.within = last_result.label
                    equations.append(eq)
            elif name == "prf:proof" and last_result is not None and not last_result.proof:
                last_result.proof = body
            elif name == "glue:math" and "label" in opts:
                equations.append(Equation(opts["label"], doc, i + 1, "", glue_key=arg))
            elif fence.startswith(":"):  # colon fences nest: parse their inside too
                i += 1
                continue
            i = end + 1
            continue
        t = TARGET.match(line)
        if t:
            pending_target = (t.group(1), i + 1)
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
            if not title and line.startswith("# "):
                title = heading
            if pending_target:
                targets.append((pending_target[0], heading, pending_target[1]))
            pending_target = None
        elif line.lstrip().startswith("$$"):
            end = i if EQ_CLOSE.search(line[line.index("$$") + 2:]) else i + 1
            while end < len(lines) and not EQ_CLOSE.search(lines[end]) and end != i:
                end += 1
            block = "\n".join(lines[i:end + 1])
            equations += _equations(block, doc, i + 1)
            i = end + 1
            continue
        i += 1
    return Chapter(path, doc, title, results, equations, targets, cells)


def _equations(text: str, doc: str, first_line: int) -> list[Equation]:
    found = []
    for m in re.finditer(r"\$\$(.*?)\$\$[ \t]*\((eq-[\w-]+)\)", text, flags=re.S):
        found.append(Equation(m.group(2), doc, first_line + text[:m.start()].count("\n"),
                              m.group(1).strip()))
    return found


def toc_sources(root: Path = ROOT) -> list[Path]:
    """Every source file of ``_toc.yml``, in the book's order."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    out = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    out.append(root / f"{node[key]}.md")
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    walk(child)

    walk(toc)
    return [p for p in out if p.is_file()]


@dataclass
class Book:
    chapters: list[Chapter]

    @property
    def results(self) -> list[Result]:
        return [r for c in self.chapters for r in c.results]

    @property
    def equations(self) -> list[Equation]:
        return [e for c in self.chapters for e in c.equations]

    def result(self, label: str) -> Result | None:
        return next((r for r in self.results if r.label == label), None)

    def unchecked_own(self) -> list[Result]:
        return [r for r in self.results if r.kind == "unchecked"]


def load_book(root: Path = ROOT, tests: Path | None = None) -> Book:
    """Parse every chapter of the toc, link dependencies and attribute checks."""
    chapters = [parse_chapter(p, root) for p in toc_sources(root)]
    book = Book(chapters)
    by_label = {r.label: r for r in book.results}
    order = {r.label: k for k, r in enumerate(book.results)}
    eq_owner = {e.label: e.within for e in book.equations if e.within}
    for r in book.results:
        text = r.statement + "\n" + r.proof
        uses = [lab for lab in PRF_REF.findall(text) if lab in by_label]
        uses += [eq_owner[lab] for lab in EQ_REF.findall(text) if lab in eq_owner]
        # a reference forward ("used in Theorem 4.1") is not a dependency
        uses = [u for u in uses if order[u] < order[r.label]]
        r.uses = sorted(set(uses), key=uses.index)
    for chap in chapters:
        counts: dict[str, int] = {}
        for cell in chap.cells:
            for m in CHECKS.finditer(cell.code):
                for label in _labels(m.group(1)):
                    if label in by_label:
                        counts[label] = counts.get(label, 0) + 1
                        line = cell.line + cell.code[:m.start()].count("\n")
                        by_label[label].checks.append(Check(
                            cell_kind(cell.code), chap.path, line, f"cell {cell.index + 1}",
                            f"check-{label}-{counts[label]}"))
    for path in sorted((tests or root / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for m in CHECKS.finditer(text):
            after = re.search(r"^\s*def\s+(test_\w+)", text[m.end():], flags=re.M)
            name = after.group(1) if after else path.name
            line = text[:m.start()].count("\n") + 1
            for label in _labels(m.group(1)):
                if label in by_label:
                    by_label[label].checks.append(Check("test", path, line, name))
    return book


def _labels(text: str) -> list[str]:
    return [s for s in re.split(r"[\s,]+", text.strip()) if s]


def cell_kind(code: str) -> str:
    if "load_result" in code:
        return "stored"
    if re.search(r"\bsp\.|\bsympy\b", code):
        return "sympy"
    return "numeric"


def known_labels(book: Book) -> set[str]:
    """Every label a reader could see leak: results, equations and section targets."""
    labels = {r.label for r in book.results} | {e.label for e in book.equations}
    labels |= {t[0] for c in book.chapters for t in c.targets}
    return labels


STRING = re.compile(r"""(?P<q>[rRfFbBuU]{0,2}(['"]))(?P<s>.*?)(?<!\\)\2""")


def leaked_labels(book: Book) -> list[tuple[Path, int, str]]:
    """(chapter, line, label) for every label written inside a string literal of a code
    cell: figure titles, legends and printed lines would show "(lem-x)" instead of a number."""
    labels = known_labels(book)
    found = []
    for chap in book.chapters:
        for cell in chap.cells:
            for k, line in enumerate(cell.code.split("\n")):
                code = line.split("#", 1)[0] if "#" in line and not re.search(r"['\"].*#", line) else line
                for m in STRING.finditer(code):
                    for lab in re.findall(r"[\w-]+", m.group("s")):
                        if lab in labels:
                            found.append((chap.path, cell.line + k, lab))
    return found


def main(argv: list[str]) -> int:
    book = load_book()
    if "--unchecked" in argv:
        for r in book.unchecked_own():
            print(f"{r.label}\t{r.docname}.md:{r.line}")
        return 0
    for r in book.results:
        where = ", ".join(f"{c.path.relative_to(ROOT)}:{c.line}" for c in r.checks) or "-"
        print(f"{r.label:34s} {r.kind:9s} own={r.own!s:5s} uses={','.join(r.uses) or '-'}  checks: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
