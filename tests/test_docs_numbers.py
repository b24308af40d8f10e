"""Documentation numbers are produced by the code: README.md and benchmarks/README.md include the tables
that ``benchmarks/write_docs.py`` writes, and type no measured time or speed-up of their own."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "benchmarks" / "write_docs.py"
RESULTS = ROOT / "benchmarks" / "generated"
DOCUMENTS = (ROOT / "README.md", ROOT / "benchmarks" / "README.md")
BLOCK_RE = re.compile(r"<!-- generated: (\S+)\.md by benchmarks/write_docs\.py; do not edit -->\n(.*?)"
                      r"<!-- end generated: \1\.md -->", re.S)
#: A measured time or speed-up typed in prose: "12.5 ms", "3 s", "4.5 minutes", "1.7× faster".
MEASURED_RE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*(?:ms|µs|us|s|seconds?|minutes?)\b|\d+(?:\.\d+)?\s*×")


def _blocks(text):
    return {m.group(1): m.group(2) for m in BLOCK_RE.finditer(text)}


def _outside_blocks_and_code(text):
    text = BLOCK_RE.sub("", text)
    return re.sub(r"```.*?```", "", text, flags=re.S)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_generated_block_matches_its_last_generated_file(doc):
    blocks = _blocks(doc.read_text(encoding="utf-8"))
    # rules out: a document whose numbers were typed instead of included (no block at all)
    assert blocks, f"{doc.name} includes no generated table"
    for name, body in blocks.items():
        path = RESULTS / f"{name}.md"
        assert path.exists(), f"{doc.name} includes {name}.md, which benchmarks/write_docs.py has not written"
        # rules out: a number edited by hand in the document, or a table not regenerated after a run
        assert body == path.read_text(encoding="utf-8"), (
            f"{doc.name}: the block {name}.md differs from {path.relative_to(ROOT)}; "
            f"run .venv/bin/python benchmarks/write_docs.py")


def test_every_generated_file_is_included_somewhere():
    included = set()
    for doc in DOCUMENTS:
        included |= set(_blocks(doc.read_text(encoding="utf-8")))
    files = {p.stem for p in RESULTS.glob("*.md")}
    # rules out: a table measured but shown nowhere (or a block naming a file that is gone)
    assert files == included, (files, included)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_measured_number_is_typed_outside_the_generated_blocks(doc):
    hits = MEASURED_RE.findall(_outside_blocks_and_code(doc.read_text(encoding="utf-8")))
    # rules out: a time or a speed-up typed into the prose, where no command keeps it true
    assert not hits, f"{doc.name} types measured numbers outside the generated blocks: {hits}"


def test_the_pattern_catches_typed_numbers():
    # rules out: a regular expression that matches nothing (the test above would pass vacuously)
    assert MEASURED_RE.findall("it took 4.5 minutes, 12 ms per step, 1.7× faster") == ["4.5 minutes", "12 ms",
                                                                                       "1.7×"]
    assert MEASURED_RE.findall("32 MiB chunks, d = 16, 131,072 points") == []


def test_the_generator_exists_and_runs_on_a_tiny_size(tmp_path):
    assert GENERATOR.exists()
    env = dict(os.environ, TQDM_DISABLE="1", EXPREG_BACKEND="numpy")
    proc = subprocess.run([sys.executable, str(GENERATOR), "--quick", "--out", str(tmp_path), "--only",
                           "steps", "accuracy", "memory", "threshold"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    written = {p.stem for p in tmp_path.glob("*.md")}
    # rules out: a generator that silently skips a table the documents include
    assert {"steps", "accuracy", "memory", "threshold", "threshold_summary"} <= written
    steps = (tmp_path / "steps.md").read_text(encoding="utf-8")
    assert steps.startswith("Measured ") and "| float64 | I | 32×8×256 |" in steps
    threshold = (tmp_path / "threshold.md").read_text(encoding="utf-8")
    assert "against a floor of" in threshold and "build: total" in threshold
