"""One command for every hot path: our time, the floor, PyTorch and the ratios, on the active backend.

Run from the repository root::

    .venv/bin/python benchmarks/bench_all.py                    # Parts I and II (and III when bench_threshold.py exists)
    .venv/bin/python benchmarks/bench_all.py --repeat 9 --dtype float32
    .venv/bin/python benchmarks/bench_all.py --accuracy         # + float32 vs float64: loss floor and late rate
    .venv/bin/python benchmarks/bench_all.py --chapters         # + per-chapter times of the nbval run (minutes)
    .venv/bin/python benchmarks/bench_all.py --book             # + per-chapter execution times of the book build (minutes)

PyTorch comes with the optional ``bench`` extra (``pip install -e '.[bench]'``); without it its
columns are skipped with a note.  See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import bench_exponential
import bench_relu2
from _timing import DEFAULT_SHAPES, load, machine, parse_shape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ISSUE_SHAPE = "1024x64x16384"


def threshold(repeat: int) -> int:
    """Part III: run benchmarks/bench_threshold.py (its own numbers) when it exists."""
    script = HERE / "bench_threshold.py"
    if not script.exists():
        print("\nPart III: benchmarks/bench_threshold.py not present; skipped.")
        return 0
    print(f"\nPart III: {script.name} ({load()})", flush=True)
    return subprocess.call([sys.executable, str(script)], cwd=ROOT)


def late_rate(loss, window: int) -> float:
    """Per-step contraction over the last ``window`` steps before the loss reaches its floor: exp(slope of log L)."""
    import numpy as np

    loss = np.asarray(loss)
    end = len(loss) - 1
    start = max(0, end - window)
    return math.exp((math.log(loss[end]) - math.log(loss[start])) / max(1, end - start))


def accuracy(n=32, d=8, m=512, steps=3000, out=print) -> list[dict]:
    """float32 against float64 on one problem per part: loss floor, late rate, agreement, time (rows)."""
    import numpy as np

    from expreg_nb import data, relu2
    from expreg_nb import exponential as ex

    X = data.sphere(n, d, seed=1)
    y = 0.5 * data.labels(n, seed=1)
    runs = {
        "exponential": lambda dt: ex.train(X, y, m=m, eta=0.02, steps=steps, seed=1, progress=False, dtype=dt),
        "relu2": lambda dt: relu2.train(X, y, m=m, eta_w=0.5, eta_a=0.5, steps=steps, seed=1, progress=False,
                                        dtype=dt),
    }
    out(f"\nfloat32 vs float64: n={n}, d={d}, m={m}, {steps} steps of gradient descent ({load()})")
    out(f"{'model':>12} {'dtype':>8} | {'L(0)':>9} {'L(T)/L(0)':>10} {'min L/L0':>10} {'rate@1e-6':>10} "
        f"{'max |dL|/L':>10} {'s/step':>8}")
    rows = []
    for name, run in runs.items():
        res = {}
        for dt in ("float64", "float32"):
            start = time.perf_counter()
            r = run(dt)
            res[dt] = (r, (time.perf_counter() - start) / steps)
        L64 = res["float64"][0].history.loss
        for dt, (r, per_step) in res.items():
            L = r.history.loss
            rel = L / L[0]
            # the late rate, measured where both dtypes are still above float32's floor:
            # the 500 steps before L/L0 first drops below 1e-6
            below = np.nonzero(rel < 1e-6)[0]
            stop = int(below[0]) if below.size else len(L) - 1
            rate = late_rate(L[: stop + 1], 500)
            agree = float(np.max(np.abs(L[:stop + 1] - L64[:stop + 1]) / L64[:stop + 1]))
            rows.append({"model": name, "dtype": dt, "L0": float(L[0]), "final": float(rel[-1]),
                         "floor": float(rel.min()), "rate": rate, "agree": agree, "per_step": per_step})
            out(f"{name:>12} {dt:>8} | {L[0]:>9.3g} {rel[-1]:>10.2e} {rel.min():>10.2e} {rate:>10.6f} "
                f"{agree:>10.1e} {per_step:>8.5f}")
    return rows


CHAPTER_RE = re.compile(r"^\s*([0-9.]+)s\s+(call|setup|teardown)\s+(\S+?\.md)(::.*)?$")


def chapter_times_pytest(root: Path, targets=("book/",)) -> dict:
    """Run ``pytest -p no:xdist --durations=0 book/`` in ``root``; seconds per chapter (sum of its cells)."""
    env = dict(os.environ, TQDM_DISABLE="1", PYTHONPATH=str(root))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:xdist", "--durations=0", "-q", *targets]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    times = parse_pytest_durations(proc.stdout)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:])
    return {"times": times, "wall": wall, "rc": proc.returncode}


def parse_pytest_durations(text: str) -> dict:
    times = defaultdict(float)
    for line in text.splitlines():
        hit = CHAPTER_RE.match(line)
        if hit:
            times[hit.group(3)] += float(hit.group(1))
    return dict(times)


def chapter_times_book(root: Path) -> dict:
    """Build the book (as ``make book``, into a temporary folder); execution seconds per chapter from the log."""
    jb = Path(sys.executable).with_name("jupyter-book")
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, TQDM_DISABLE="1", PYTHONPATH=str(root))
        env.pop("MPLBACKEND", None)
        cmd = [str(jb), "build", str(root), "--all", "-W", "-n", "--keep-going", "--path-output", out]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    times = parse_build_log(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:])
    return {"times": times, "wall": wall, "rc": proc.returncode}


def parse_build_log(text: str) -> dict:
    """myst-nb logs 'Executing notebook ... <path>' then 'Executed notebook in X seconds' for each chapter."""
    times, current = {}, None
    for line in text.splitlines():
        hit = re.search(r"(book/\S+?\.md)", line)
        if "Executing notebook" in line or (hit and "Executed" in line):
            current = hit.group(1) if hit else current
        done = re.search(r"Executed notebook in ([0-9.]+) seconds", line)
        if done and current:
            times[current] = float(done.group(1))
            current = None
    return times


def print_chapters(title: str, result: dict) -> None:
    print(f"\n{title}: {result['wall']:.0f} s wall, exit status {result['rc']} ({load()} at the end)")
    for chapter, secs in sorted(result["times"].items()):
        print(f"  {chapter:<40} {secs:>7.1f} s")
    print(f"  {'total of the chapters':<40} {sum(result['times'].values()):>7.1f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", type=parse_shape, default=None, metavar="NxDxM",
                        help=f"problem sizes for Parts I and II (default: each script's, ending with {ISSUE_SHAPE})")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds per measurement (default 7)")
    parser.add_argument("--dtype", choices=("float64", "float32", "both"), default="float64")
    parser.add_argument("--accuracy", action="store_true", help="float32 vs float64: loss floor and late rate")
    parser.add_argument("--chapters", action="store_true",
                        help="per-chapter times of `pytest -p no:xdist --durations=0 book/` (several minutes)")
    parser.add_argument("--book", action="store_true",
                        help="per-chapter execution times of the book build (several minutes)")
    parser.add_argument("--no-threshold", action="store_true", help="skip Part III's bench_threshold.py")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    print(f"{machine()}; {load()}; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    for dt in dtypes:
        for mod in (bench_exponential, bench_relu2):
            shapes = args.shapes or [parse_shape(s) for s in DEFAULT_SHAPES]
            print()
            mod.run_shapes(shapes, args.repeat, dt)
    status = 0
    if not args.no_threshold:
        status = threshold(args.repeat)
    if args.accuracy:
        accuracy()
    if args.chapters:
        print_chapters("Chapters under nbval (pytest -p no:xdist --durations=0 book/)", chapter_times_pytest(ROOT))
    if args.book:
        print_chapters("Chapters in the book build (jupyter-book build --all)", chapter_times_book(ROOT))
    return status


if __name__ == "__main__":
    sys.exit(main())
