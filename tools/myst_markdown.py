"""MyST markdown as Jupyter markdown: what the generated notebooks (``notebooks.py``) show.

Jupyter, Colab and GitHub render CommonMark with ``$``-math, not MyST.  For each markdown cell
of a chapter:

* ``{prf:lemma}``/``{prf:theorem}``/... become a framed block headed by its number, title
  and label ("**Lemma 1.2** (Gradient) · `lem-exp-grad`", the label linked to the online
  page); ``{prf:proof}`` a framed "*Proof.* ... ∎"; other admonitions a framed block with
  their title; ``{grid}``/``{grid-item-card}`` their content and the card's link;
* ``$$ ... $$ (eq-x)`` gets ``\\tag{n}`` (its number) and an anchor ``equation-eq-x``;
  ``{glue:math}`` becomes that equation with the glued TeX; ``{glue}`` figures become
  attachments; ``(label)=`` targets become anchors;
* ``{eq}``, ``{prf:ref}``, ``{ref}`` and ``{doc}`` become their number or title linked to
  the online page (``Index.base_url``); ``{cite}`` an author-year link to the paper;
  ``{glue:text}`` (``{glue}``, ``{glue:md}``) the glued value formatted as the page shows it;
* the first markdown cell defines the book's MathJax macros (``_config.yml``).

The numbers, titles and glued values come from a build: ``book_ext.py`` writes
``_build/labels.json`` (from the Sphinx environment) and myst-nb ``_build/jupyter_execute/
<doc>.glue.json`` (the glued outputs of the executed notebook).  Without a build
(:meth:`Index.from_sources`) a reference shows its label (still a link), a glued value the
placeholder ``‹key›``, a glued equation or figure a note, and :class:`Report` counts each.
A construct this module does not know is left as it is, and ``tests/test_book.py`` fails
on any MyST role or directive left in a generated notebook.
"""
from __future__ import annotations

import base64

from docutils.nodes import make_id
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

LABELS_JSON = "labels.json"          # under _build/, written by book_ext.py
GLUE_DIR = "jupyter_execute"         # under _build/, written by myst-nb
ONLINE = "https://expreg-nb.github.io/expreg-nb/"

ROLE = re.compile(r"\{([a-z][\w:-]*)\}`([^`]*)`")
FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w:-]+)\}\s*(.*?)\s*$")
OPTION = re.compile(r"^\s*:([\w-]+):\s*(.*?)\s*$")
TARGET = re.compile(r"^\(([\w-]+)\)=\s*$")
LEFTOVER = re.compile(r"\{[a-z][\w:-]*\}`|^\s*(`{3,}|:{3,})\{[\w:-]+\}|^\([\w-]+\)=\s*$", re.M)
RESULTS = ("lemma", "theorem", "corollary", "proposition", "definition", "remark",
           "example", "assumption", "conjecture", "axiom", "criterion", "property",
           "observation", "notation", "algorithm")
ADMONITIONS = ("note", "warning", "tip", "important", "caution", "attention", "danger",
               "error", "hint", "seealso", "admonition", "dropdown")
BOX = ('<div style="border-left: 3px solid {color}; padding: 0.1em 0 0.1em 0.9em; '
       'margin: 0.6em 0;">')


def leftover_myst(markdown: str) -> list[str]:
    """MyST roles, directives or targets left in a markdown string (outside code)."""
    text = re.sub(r"^```(?!\{).*?^```", "", markdown, flags=re.S | re.M)  # fenced code
    text = re.sub(r"``.+?``", "", text)  # double-backtick code spans show roles literally
    return [m.group(0) for m in LEFTOVER.finditer(text)]


@dataclass
class Report:
    """What a conversion could not substitute (no build, or a key the build lacks)."""
    missing: dict[str, list[str]] = field(default_factory=dict)

    def add(self, what: str, item: str):
        self.missing.setdefault(what, []).append(item)

    def summary(self) -> str:
        if not self.missing:
            return "everything substituted"
        return "not substituted: " + "; ".join(f"{len(v)} {k}" for k, v in self.missing.items())


@dataclass
class Index:
    base_url: str = ONLINE
    labels: dict = field(default_factory=dict)   # label -> {doc, anchor, text}
    docs: dict = field(default_factory=dict)     # docname -> title
    glue: dict = field(default_factory=dict)     # docname -> {key: output data}
    bib: dict = field(default_factory=dict)      # key -> (author-year, url)
    macros: dict = field(default_factory=dict)   # MathJax macros of _config.yml
    built: bool = False

    @classmethod
    def from_sources(cls, root: Path, base_url: str | None = None) -> "Index":
        """What the sources alone give: chapter titles, labels (as their own text),
        the bibliography and the macros."""
        import results

        index = cls(base_url=base_url or _base_url(root), bib=read_bib(root / "book" / "references.bib"),
                    macros=read_macros(root / "_config.yml"))
        book = results.Book([results.parse_chapter(p, root) for p in results.toc_sources(root)])
        for chap in book.chapters:
            index.docs[chap.docname] = chap.title
            for r in chap.results:
                index.labels[r.label] = {"doc": chap.docname, "anchor": r.label, "text": r.label,
                                         "title": r.title, "numbered": False}
            for e in chap.equations:
                index.labels[e.label] = {"doc": chap.docname, "anchor": make_id(f"equation-{e.label}"),
                                         "text": e.label, "numbered": False}
            for lab, heading, _ in chap.targets:
                index.labels[lab] = {"doc": chap.docname, "anchor": lab, "text": heading}
        return index

    @classmethod
    def from_build(cls, build: Path, root: Path | None = None) -> "Index":
        """The numbers and titles of ``build/labels.json`` and the glued values of
        ``build/jupyter_execute``."""
        root = root or build.resolve().parent
        data = json.loads((build / LABELS_JSON).read_text(encoding="utf-8"))
        index = cls.from_sources(root, base_url=data.get("base_url"))
        index.labels.update(data["labels"])
        index.docs.update(data["docs"])
        index.built = True
        for path in (build / GLUE_DIR).rglob("*.glue.json"):
            doc = path.relative_to(build / GLUE_DIR).as_posix()[: -len(".glue.json")]
            index.glue[doc] = {k: v.get("data", {}) for k, v in
                               json.loads(path.read_text(encoding="utf-8")).items()}
        return index

    def url(self, doc: str, anchor: str = "") -> str:
        return self.base_url + doc + ".html" + (f"#{anchor}" if anchor else "")


def _base_url(root: Path) -> str:
    try:
        import book_results

        return book_results.versioned_url(root)
    except Exception:  # noqa: BLE001  (outside the repository: the published book)
        return ONLINE


def read_macros(config: Path) -> dict:
    import yaml

    conf = yaml.safe_load(config.read_text(encoding="utf-8"))
    return (((conf.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {}) \
        .get("tex", {}).get("macros", {})


def macro_definitions(macros: dict) -> str:
    """``\\newcommand``s of the macros, as inline math that renders as nothing."""
    defs = []
    for name, body in macros.items():
        if isinstance(body, (list, tuple)):
            defs.append(f"\\newcommand{{\\{name}}}[{int(body[1])}]{{{body[0]}}}")
        else:
            defs.append(f"\\newcommand{{\\{name}}}{{{body}}}")
    return "$" + "".join(defs) + "$"


def read_bib(path: Path) -> dict:
    """key -> ("Gao et al., 2023", url) for every entry of the book's BibTeX file."""
    from pybtex.database import parse_file

    out = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author", [])
        last = [" ".join(p.last_names) for p in people]
        last = [re.sub(r"[{}\\']|\\[a-z]+", "", n).replace("'", "") for n in last]
        if len(last) > 2:
            who = f"{last[0]} et al."
        elif len(last) == 2:
            who = f"{last[0]} and {last[1]}"
        else:
            who = last[0] if last else key
        year = entry.fields.get("year", "")
        url = entry.fields.get("url") or (f"https://doi.org/{entry.fields['doi']}"
                                          if "doi" in entry.fields else "")
        out[key] = (f"{who}, {year}", url)
    return out


# ----------------------------------------------------------------------------------------

def convert_notebook(nb, docname: str, index: Index, report: Report) -> None:
    """Convert every markdown cell of ``nb`` in place; macros go into the first one."""
    first = True
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text, attachments = to_markdown(cell.source, docname, index, report)
        if first and index.macros:
            text = macro_definitions(index.macros) + "\n\n" + text
            first = False
        cell.source = text
        if attachments:
            cell["attachments"] = attachments


def to_markdown(text: str, docname: str, index: Index, report: Report) -> tuple[str, dict]:
    """One markdown cell: (Jupyter markdown, attachments)."""
    attachments: dict = {}
    out = _blocks(text.split("\n"), docname, index, report, attachments)
    return "\n".join(out), attachments


def _blocks(lines: list[str], doc: str, index: Index, report: Report, att: dict) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if m:
            indent, fence, name, arg = m.groups()
            j, opts = i + 1, {}
            if j < len(lines) and lines[j].strip() == "---":  # YAML options block
                k = j + 1
                while k < len(lines) and lines[k].strip() != "---":
                    if ":" in lines[k]:
                        key, _, value = lines[k].strip().partition(":")
                        opts[key.strip()] = value.strip()
                    k += 1
                j = k + 1
            while j < len(lines) and OPTION.match(lines[j]):
                key, value = OPTION.match(lines[j]).groups()
                opts[key] = value
                j += 1
            close = re.compile(r"^\s*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
            end = j
            while end < len(lines) and not close.match(lines[end]):
                end += 1
            body = lines[j:end]
            out += _directive(name, arg, opts, body, doc, index, report, att)
            i = end + 1
            continue
        t = TARGET.match(line)
        if t:
            out.append(f'<a id="{t.group(1)}"></a>')
            i += 1
            continue
        if line.lstrip().startswith("$$"):
            end = i
            rest = line.lstrip()[2:]
            if not re.search(r"\$\$\s*(\([\w-]+\))?\s*$", rest):
                end = i + 1
                while end < len(lines) and not re.search(r"\$\$\s*(\([\w-]+\))?\s*$", lines[end]):
                    end += 1
            block = "\n".join(lines[i:end + 1])
            out += _display_math(block, index, report)
            i = end + 1
            continue
        out.append(_roles(line, doc, index, report))
        i += 1
    return out


def _display_math(block: str, index: Index, report: Report) -> list[str]:
    m = re.match(r"^\s*\$\$(.*)\$\$\s*(?:\(([\w-]+)\))?\s*$", block, flags=re.S)
    if not m:
        return [block]
    tex, label = m.group(1).strip("\n"), m.group(2)
    if not label:
        return ["$$", tex.strip(), "$$"]
    info = index.labels.get(label)
    number = _eq_number(info)
    if number is None:
        report.add("equation numbers", label)
        number = label
    return [f'<a id="{make_id("equation-" + label)}"></a>', "", "$$", tex.strip(),
            f"\\tag{{{number}}}", "$$"]


def _eq_number(info) -> str | None:
    if not info or not info.get("numbered", True):
        return None
    return info["text"].strip("()")


def _directive(name, arg, opts, body, doc, index, report, att) -> list[str]:
    inner = _blocks(body, doc, index, report, att)
    if name.startswith("prf:") and name[4:] in RESULTS:
        label = opts.get("label", "")
        info = index.labels.get(label, {})
        head = info.get("text") if info.get("numbered", True) and info else None
        if not head:
            if label:
                report.add("result numbers", label)
            head = name[4:].title()
        title = f" ({_roles(arg, doc, index, report)})" if arg else ""
        tag = (f' <a id="{label}"></a>· [`{label}`]({index.url(info.get("doc", doc), label)})'
               if label else "")
        return [BOX.format(color="#3d8fd1"), "", f"**{head}**{title}{tag}", "", *inner, "",
                "</div>"]
    if name == "prf:proof":
        text = "\n".join(inner).strip()
        return [BOX.format(color="#bbbbbb"), "", f"*Proof.* {text} ∎", "", "</div>"]
    if name == "glue:math":
        label = opts.get("label", "")
        data = index.glue.get(doc, {}).get(arg, {})
        tex = data.get("text/latex", "")
        anchor = [f'<a id="{make_id("equation-" + label)}"></a>', ""] if label else []
        if not tex:
            report.add("glued equations", arg)
            return anchor + [f"*(Equation {label or arg}: computed by the code above; run the "
                             f"notebook, or see it on the [online page]"
                             f"({index.url(doc, make_id('equation-' + label))}).)*"]
        tex = re.sub(r"^\$+|\$+$", "", tex.strip()).replace("\\displaystyle", "").strip()
        number = _eq_number(index.labels.get(label)) if label else None
        if label and number is None:
            report.add("equation numbers", label)
            number = label
        return anchor + ["$$", tex] + ([f"\\tag{{{number}}}"] if label else []) + ["$$"]
    if name in ("glue", "glue:", "glue:any", "glue:figure"):
        data = index.glue.get(doc, {}).get(arg, {})
        for mime in ("image/png", "image/jpeg", "image/svg+xml"):
            if mime in data:
                fname = f"{arg}.{mime.split('/')[1].split('+')[0]}"
                payload = data[mime]
                if mime == "image/svg+xml" and not isinstance(payload, str):
                    payload = "".join(payload)
                if mime == "image/svg+xml":
                    payload = base64.b64encode(payload.encode()).decode()
                att[fname] = {mime: payload}
                return [f"![{arg}](attachment:{fname})", *inner]
        if "text/plain" in data:
            return [_plain(data["text/plain"]), *inner]
        report.add("glued figures", arg)
        return [f"*(Figure {arg}: drawn by the code above.)*", *inner]
    if name == "grid":
        return inner
    if name == "grid-item-card":
        link = opts.get("link", "")
        out = [f"**{arg}**", ""] if arg else []
        out += inner
        if link:
            if opts.get("link-type") == "doc":
                target = _resolve_doc(doc, link)
                out += ["", f"→ [{index.docs.get(target, target)}]({index.url(target)})"]
            else:
                out += ["", f"→ <{link}>"]
        return [BOX.format(color="#dddddd"), "", *out, "", "</div>"]
    if name in ADMONITIONS:
        title = arg if name in ("admonition", "dropdown") and arg else name.title()
        return [BOX.format(color="#e0a800"), "", f"**{_roles(title, doc, index, report)}**", "",
                *inner, "", "</div>"]
    if name in ("math",):
        return ["$$", *body, "$$"]
    if name in ("code-block", "code", "sourcecode"):
        return [f"```{arg}", *body, "```"]
    return [f"```{{{name}}} {arg}".rstrip(), *body, "```"]  # unknown: left for the test


def _resolve_doc(current: str, target: str) -> str:
    target = re.sub(r"\.(md|ipynb)$", "", target)
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(current), target))


def _plain(text) -> str:
    if isinstance(text, list):
        text = "".join(text)
    try:
        import ast

        value = ast.literal_eval(text)
        return str(value)
    except (ValueError, SyntaxError):
        return text


def _format(text, spec: str) -> str:
    from myst_nb.core.variables import format_plain_text  # the page's own formatting

    if isinstance(text, list):
        text = "".join(text)
    return format_plain_text(text, spec)


def _roles(line: str, doc: str, index: Index, report: Report) -> str:
    def sub(m):
        role, content = m.group(1), m.group(2)
        explicit = re.match(r"^(.*?)\s*<([^<>]+)>$", content, flags=re.S)
        text, target = (explicit.group(1), explicit.group(2)) if explicit else (None, content)
        if role == "eq":
            info = index.labels.get(target)
            number = _eq_number(info)
            if number is None:
                report.add("equation numbers", target)
            shown = text or (f"({number})" if number else f"({target})")
            anchor = (info or {}).get("anchor") or make_id("equation-" + target)
            return f"[{shown}]({index.url((info or {}).get('doc', doc), anchor)})"
        if role in ("prf:ref", "ref", "numref"):
            info = index.labels.get(target)
            if not info:
                report.add("references", target)
                return f"`{target}`"
            shown = text or info["text"]
            if role == "prf:ref" and not info.get("numbered", True):
                report.add("result numbers", target)
            return f"[{shown}]({index.url(info['doc'], info['anchor'])})"
        if role == "doc":
            target_doc = _resolve_doc(doc, target)
            shown = text or index.docs.get(target_doc) or target_doc
            return f"[{shown}]({index.url(target_doc)})"
        if role.startswith("cite"):
            parts = []
            for key in [k.strip() for k in target.split(",") if k.strip()]:
                who, url = index.bib.get(key, (key, ""))
                if key not in index.bib:
                    report.add("citations", key)
                url = url or index.url("book/references")
                parts.append(f"[{who}]({url})")
            return "(" + "; ".join(parts) + ")"
        if role in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
            key, _, spec = target.rpartition(":") if ":" in target else (target, "", "")
            if "::" in target:  # another document's value: doc::key[:spec]
                other, _, rest = target.partition("::")
                key, _, spec = rest.rpartition(":") if ":" in rest else (rest, "", "")
                values = index.glue.get(_resolve_doc(doc, other), {})
            else:
                values = index.glue.get(doc, {})
            data = values.get(key)
            if data is None or "text/plain" not in data:
                report.add("glued values", key)
                return f"`‹{key}›`"
            if role == "glue:md" and "text/markdown" in data:
                return "".join(data["text/markdown"])
            try:
                return _format(data["text/plain"], spec) if role == "glue:text" else _plain(data["text/plain"])
            except (ValueError, TypeError):
                report.add("glued values", key)
                return f"`‹{key}›`"
        if role == "math":
            return f"${content}$"
        return m.group(0)  # unknown: left for the test

    return ROLE.sub(sub, line)
