"""Measure, and write every measured number of README.md and benchmarks/README.md.

Each table (or sentence) with a measured number is a file ``benchmarks/generated/NAME.md`` that this
script writes, and the documents include it between the markers::

    <!-- generated: NAME.md by benchmarks/write_docs.py; do not edit -->
    ...
    <!-- end generated: NAME.md -->

``tests/test_docs_numbers.py`` checks that every marked block equals its file, that no time or
speed-up is typed outside the blocks, and that this script runs (``--quick``, tiny sizes, into a
temporary folder).

    .venv/bin/python benchmarks/write_docs.py                  # everything (15-30 minutes on 2 cores)
    .venv/bin/python benchmarks/write_docs.py --only steps     # one table: steps accuracy memory threshold
                                                               # past_crossover chapters
    .venv/bin/python benchmarks/write_docs.py --quick --out /tmp/docs   # tiny sizes; the documents untouched
"""
from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

RESULTS = HERE / "generated"
DOCUMENTS = (ROOT / "README.md", HERE / "README.md")
TABLES = ("steps", "accuracy", "memory", "threshold", "threshold_summary", "past_crossover",
          "past_crossover_summary", "chapters")
#: Files written together with another table (a sentence for README.md beside a table).
SUMMARIES = {"threshold_summary": "threshold", "past_crossover_summary": "past_crossover"}
#: The stored full-scale result whose record ``past_crossover`` reads (the build is not rerun).
PAST_CROSSOVER = "thr-past-crossover"
BEGIN = "<!-- generated: {name}.md by benchmarks/write_docs.py; do not edit -->"
END = "<!-- end generated: {name}.md -->"
BLOCK_RE = re.compile(r"<!-- generated: (\S+)\.md by benchmarks/write_docs\.py; do not edit -->\n(.*?)"
                      r"<!-- end generated: \1\.md -->", re.S)


def _stamp():
    from _timing import load, machine

    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured {now} by `benchmarks/write_docs.py` on {machine()}; {load()} at the start."


def _ms(v):
    return "-" if v is None else f"{1e3 * v:.1f}"


def _ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def steps_table(quick):
    import bench_exponential
    import bench_relu2
    from _timing import DEFAULT_SHAPES, parse_shape

    shapes = [(32, 8, 256), (64, 8, 512)] if quick else [parse_shape(s) for s in DEFAULT_SHAPES]
    repeat = 2 if quick else 7
    stamp = _stamp()
    rows = []
    for dt in ("float64", "float32"):
        for mod in (bench_exponential, bench_relu2):
            rows += mod.run_shapes(shapes, repeat, dt, out=lambda *a: None)
    lines = [stamp + f" Medians of {repeat} interleaved rounds (ours, the floor and PyTorch called in turn), "
             "milliseconds; `/floor` = ours / floor, `torch/` = PyTorch / ours (above 1: ours is faster); "
             "`-`: PyTorch is not installed.", "",
             "| dtype | part | n×d×m | step | floor | torch | /floor | torch/ | Gram | floor | torch | /floor "
             "| torch/ | load at the start |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        part = "I" if r["path"] == "exponential" else "II"
        lines.append(
            f"| {r['dtype']} | {part} | {r['n']}×{r['d']}×{r['m']} | {_ms(r['step_ours'])} | "
            f"{_ms(r['step_floor'])} | {_ms(r.get('step_torch'))} | {_ratio(r['step_ours'], r['step_floor'])} | "
            f"{_ratio(r.get('step_torch'), r['step_ours'])} | {_ms(r['gram_ours'])} | {_ms(r['gram_floor'])} | "
            f"{_ms(r.get('gram_torch'))} | {_ratio(r['gram_ours'], r['gram_floor'])} | "
            f"{_ratio(r.get('gram_torch'), r['gram_ours'])} | {r['load'].replace('load ', '')} |")
    return "\n".join(lines) + "\n"


def accuracy_table(quick):
    import bench_all

    n, d, m, steps = (16, 4, 64, 300) if quick else (32, 8, 512, 3000)
    stamp = _stamp()
    rows = bench_all.accuracy(n, d, m, steps, out=lambda *a: None)
    lines = [stamp + f" n = {n}, d = {d}, m = {m}, {steps} steps, the same seed in both dtypes.", "",
             "| model | dtype | L(0) | L(T)/L(0) | loss floor min L/L0 | late rate | max relative loss difference "
             "| s/step |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['dtype']} | {r['L0']:.3g} | {r['final']:.1e} | {r['floor']:.1e} | "
                     f"{r['rate']:.6f} | {r['agree']:.1e} | {r['per_step']:.0e} |")
    return "\n".join(lines) + "\n"


def memory_text(quick):
    import io
    from contextlib import redirect_stdout

    import bench_exponential

    shape = (256, 8, 2**14) if quick else bench_exponential.MEMORY_SHAPE
    stamp = _stamp()
    res = {}
    with redirect_stdout(io.StringIO()):
        bench_exponential.memory_check(shape, res)
    n, d, m = shape
    parts = [f"time {res['seconds']:.1f} s"]
    if res.get("traced") is not None:
        parts += [f"peak traced allocations {res['traced'] / 2**20:.0f} MiB",
                  f"growth of the peak RSS {res['rss'] / 2**20:.0f} MiB"]
    verdict = "OK" if res["ok"] else "FAILED"
    return (f"{stamp} `gram()` at n = {n}, d = {d}, m = {m} (an unchunked feature matrix would take "
            f"{res['naive'] / 2**30:.2f} GiB): {'; '.join(parts)}; **extra memory "
            f"{res['extra'] / 2**20:.0f} MiB ≤ 1024 MiB: {verdict}**.\n")


def threshold_tables(quick):
    import bench_threshold

    n, d = (1024, 8) if quick else (131_072, 16)
    stamp = _stamp()
    r = bench_threshold.measure(n, d, repeat=1, floor_points=512 if quick else 4096)
    lines = [stamp + f" n = {n:,} random points on S^{d - 1} with random 0/1 labels, one build "
             "(`--repeat 1`).", "", "| stage | seconds |", "|---|---:|"]
    for name, sec in r["stages"].items():
        lines.append(f"| {name} | {sec:.1f} |")
    lines += [f"| predict, {n:,} training points | {r['predict_train']:.1f} |",
              f"| predict, {n:,} fresh points | {r['predict_fresh']:.1f} |",
              f"| extra memory (peak RSS growth), GiB | {r['extra_gib']:.2f} |", "",
              f"The network has {r['neurons']:,} neurons ({r['neurons'] / n:.2f} per point), {r['weights']:,} "
              f"weights, depth {r['depth']}, k1 = {r['k1']} at the data's δ = {r['delta']:.4f}, largest group "
              f"{r['max_group']}; its stage sizes equal `threshold.stage_formula` exactly.  Forward pass on "
              f"{r['floor_points']:,} points: {1e6 * r['api_per_point']:.1f} µs per point against a floor of "
              f"{1e6 * r['floor_per_point']:.1f} µs (ratio {r['api_per_point'] / r['floor_per_point']:.2f}; "
              "minima of 5 interleaved rounds)."]
    summary = (f"On {stamp.split(' on ', 1)[1].split(';')[0]}, a memorizer for {n:,} random points in "
               f"$d={d}$ ({r['neurons']:,} neurons) is built, verified and predicted in "
               f"{r['wall'] / 60:.1f} minutes with {r['extra_gib']:.2f} GiB of extra memory "
               f"(`benchmarks/write_docs.py`, {stamp.split(' by ')[0].replace('Measured ', '')}).\n")
    return "\n".join(lines) + "\n", summary


def past_crossover_tables(quick):
    """The record of the stored build past the crossover with Baum, read from its table and provenance
    (``expreg_nb/results/thr-past-crossover/full``): nothing is rerun, so ``quick`` changes nothing."""
    import inspect

    from expreg_nb import sweep

    table, prov = sweep.load_result(PAST_CROSSOVER, "full", check=False)
    r = table.loc[table["n"].idxmax()]
    limit = inspect.signature(sweep.get(PAST_CROSSOVER).fn).parameters["max_gib"].default
    source = (f"Read by `benchmarks/write_docs.py` from the stored result `{PAST_CROSSOVER}` (full scale, "
              f"{prov['points']} rows, `expreg_nb/results/{PAST_CROSSOVER}/full/`), not rerun: commit "
              f"{prov['git_commit'][:7]}{' (dirty)' if prov.get('git_dirty') else ''}, {prov['machine']}, "
              f"{prov['backend']}, {prov['executor']} executor, finished {prov['finished']}.")
    lines = [source, "", "| quantity | value |", "|---|---|",
             f"| points | n = {int(r['n']):,} (seed {int(r['seed'])}), δ = {r['delta']:g} |",
             f"| network | {int(r['neurons']):,} neurons (Baum on the same labels: {int(r['baum_neurons']):,}), "
             f"{int(r['weights']):,} weights, depth {int(r['depth'])}, $k_1={int(r['k1'])}$, largest group "
             f"{int(r['largest_group']):,}, $T={int(r['T'])}$ |",
             f"| memorized (a second `predict` of every point) / size audit | {bool(r['memorized'])} / "
             f"{'passes' if r['audit_ok'] else 'FAILS'} |",
             f"| labels kept under moves of $10^{{-6}}$ | {r['kept_at_1e-6']:.4f} |",
             f"| predicted peak memory (`th.build_bytes`) | {r['predicted_gib']:.2f} GiB |",
             f"| measured peak resident memory within the task's limit of {limit:g} GiB | {bool(r['within_limit'])} |",
             f"| the row (build, second predict, audit, probes), wall | {r['seconds'] / 60:.1f} minutes |",
             f"| the whole sweep ({prov['points']} rows), wall | {prov['wall_seconds'] / 60:.1f} minutes |"]
    summary = (f"{int(r['neurons']):,} neurons against Baum's {int(r['baum_neurons']):,} on the same labels, "
               f"memorized and audited, in {r['seconds'] / 60:.1f} minutes of wall time (stored row, commit "
               f"{prov['git_commit'][:7]}, {prov['machine'].split(', Linux')[0]}) with a predicted peak of "
               f"{r['predicted_gib']:.2f} GiB (`benchmarks/write_docs.py`, from the stored record).\n")
    return "\n".join(lines) + "\n", summary


def chapters_table(quick):
    import bench_all

    stamp = _stamp()
    res = bench_all.chapter_times_pytest(ROOT, ["book/part1/model_and_gradient.md"] if quick else ["book/"])
    lines = [stamp + f" `pytest -p no:xdist --durations=0` of the chapters: {res['wall']:.0f} s wall, exit "
             f"status {res['rc']}; seconds per chapter (the sum of its cells).", "",
             "| chapter | seconds |", "|---|---:|"]
    for chapter, secs in sorted(res["times"].items()):
        lines.append(f"| `{chapter}` | {secs:.1f} |")
    lines.append(f"| total | {sum(res['times'].values()):.1f} |")
    return "\n".join(lines) + "\n"


def generate(names, quick, out):
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    pairs = {"threshold": threshold_tables, "past_crossover": past_crossover_tables}
    for name in names:
        if name in SUMMARIES:
            continue
        if name in pairs:
            table, summary = pairs[name](quick)
            written[name], written[f"{name}_summary"] = table, summary
        else:
            written[name] = {"steps": steps_table, "accuracy": accuracy_table, "memory": memory_text,
                             "chapters": chapters_table}[name](quick)
        print(f"measured {name}", flush=True)
    for name, text in written.items():
        (out / f"{name}.md").write_text(text, encoding="utf-8")
    return written


def splice(text, results=RESULTS):
    """``text`` with every generated block replaced by the current content of its file."""
    def block(m):
        path = results / f"{m.group(1)}.md"
        if not path.exists():  # not measured yet: the block stays as it is
            return m.group(0)
        body = path.read_text(encoding="utf-8")
        return f"{BEGIN.format(name=m.group(1))}\n{body}{END.format(name=m.group(1))}"

    return BLOCK_RE.sub(block, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=[t for t in TABLES if t not in SUMMARIES],
                    default=None, help="measure these tables only")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test: the documents are not touched)")
    ap.add_argument("--out", type=Path, default=None, help=f"where the tables go (default {RESULTS})")
    args = ap.parse_args(argv)
    names = args.only or [t for t in TABLES if t not in SUMMARIES]
    out = args.out or RESULTS
    if args.quick and args.out is None:
        ap.error("--quick writes tiny-size tables: give --out (the documents keep the real ones)")
    generate(names, args.quick, out)
    if out.resolve() == RESULTS.resolve():
        for doc in DOCUMENTS:
            doc.write_text(splice(doc.read_text(encoding="utf-8")), encoding="utf-8")
            print(f"updated {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
