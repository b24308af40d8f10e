"""How long the README's commands take, measured by running them (never typed).

``python tools/timings.py run NAME -- COMMAND ...`` runs the command, measures its wall
time and the CPU time (user + sys) of everything it started, and records both with the
machine's core count in ``tools/timings.json``.  For ``make test`` it also records pytest's
summary and the reasons of its skips (it sets ``PYTEST_ADDOPTS=-rs`` for the run).
``python tools/timings.py reparse NAME LOG`` re-reads the summary and skips from the saved
output of that run.  ``python tools/timings.py readme`` writes the table of the recorded runs to
``benchmarks/generated/timings.md`` and includes it into the README between the generated-block
markers of ``benchmarks/write_docs.py`` (one mechanism for every measured number in the documents;
``tests/test_docs_numbers.py`` checks the block against the file).

Wall-clock times on a shared machine are inflated by other work; the CPU time is the
machine-independent part, so the table gives both.
"""
from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = Path(__file__).resolve().parent / "timings.json"
GENERATED = ROOT / "benchmarks" / "generated" / "timings.md"
WHAT = {  # what each command gives (the README's words)
    "make test": "every unit test and every chapter under nbval (creates `.venv` on first use)",
    "make book": "the HTML book, every chapter executed: `_build/html/index.html`",
    "make pdf": "the book as one PDF (needs TeX): `_build/latex/book.pdf`, checked against the HTML",
    "make check-html": "headless Chromium opens every page at 1400 and 420 px (needs a built book)",
    "make env": "only the environment: `.venv` with the locked toolchain",
}


def load() -> dict:
    return json.loads(STORE.read_text(encoding="utf-8")) if STORE.is_file() else {}


def run(name: str, command: list[str]) -> int:
    env = dict(os.environ)
    if "test" in name:
        env["PYTEST_ADDOPTS"] = (env.get("PYTEST_ADDOPTS", "") + " -rs").strip()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    rc = proc.wait()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    record = {"command": " ".join(command), "rc": rc, "wall_s": round(wall, 1),
              "cpu_s": round(cpu, 1), "cores": os.cpu_count(), "date": date.today().isoformat(),
              "machine": platform.machine()}
    record.update(parse_output("".join(lines)))
    data = load()
    data[name] = record
    STORE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"timings: {name}: {wall:.0f} s wall, {cpu:.0f} s CPU (rc {rc}) -> {STORE}")
    return rc


def parse_output(out: str) -> dict:
    """pytest's summary line and its skips by reason (``-rs``), from a run's output."""
    found = {}
    summary = re.findall(r"^=+ (.*(?:passed|failed).*?) in [\d.]+s", out, flags=re.M)
    if summary:
        found["summary"] = summary[-1]
    skips = Counter()
    for count, reason in re.findall(r"^SKIPPED \[(\d+)\] [^:\s]+(?::\d+)?: (.*)$", out, flags=re.M):
        skips[_reason(reason)] += int(count)
    if skips:
        found["skips"] = dict(skips.most_common())
    return found


def _reason(reason: str) -> str:
    """Skip reasons grouped: the same reason for different parameters counts once."""
    reason = re.sub(r"\s+", " ", reason).strip()
    return re.sub(r"'[^']*'|\d+(\.\d+)?", "…", reason) if len(reason) > 90 else reason


def table(data: dict) -> str:
    rows = ["| command | gives | wall time | CPU time (user+sys) |", "|---|---|---|---|"]
    for name in ("make env", "make test", "make book", "make check-html", "make pdf"):
        r = data.get(name)
        if not r:
            continue
        rows.append(f"| `{name}` | {WHAT.get(name, '')} | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s |")
    machines = {(r["cores"], r["date"]) for r in data.values()}
    out = "\n".join(rows)
    out += ("\n\nMeasured by `python tools/timings.py run NAME -- COMMAND` on a "
            + ", ".join(f"{c}-core machine ({d})" for c, d in sorted(machines))
            + " shared with other work, so the wall times are upper bounds; "
            "the CPU time is what the command itself needs.")
    test = data.get("make test", {})
    if test.get("summary"):
        out += f"\n\n`make test` ended with: {test['summary']}."
    if test.get("skips"):
        out += " Its skips, by reason:\n\n| skipped | why |\n|---|---|\n"
        out += "\n".join(f"| {n} | {reason} |" for reason, n in test["skips"].items())
    return out


def readme(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from write_docs import splice

    GENERATED.write_text(table(load()) + "\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    path.write_text(splice(text, GENERATED.parent), encoding="utf-8")
    print(f"timings: wrote {GENERATED} and included it into {path}")


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "reparse":  # NAME LOG: re-read a run's saved output
        data = load()
        data[argv[2]].update(parse_output(Path(argv[3]).read_text(encoding="utf-8")))
        STORE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return 0
    if len(argv) >= 4 and argv[1] == "run" and "--" in argv:
        k = argv.index("--")
        return run(" ".join(argv[2:k]), argv[k + 1:])
    if len(argv) >= 2 and argv[1] == "readme":
        readme(Path(argv[2]) if len(argv) > 2 else ROOT / "README.md")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
