"""Fuzz the whole public API: every public function x every argument x every corruption.

Each call is classified as

* **clear**: what must happen (a ``ValueError``/``TypeError`` naming the argument, or, for
  an equivalent or degenerate-but-valid value, the same or a finite result; a
  ``FloatingPointError`` saying float64 cannot hold the result);
* **unclear**: another exception (a raw NumPy/Python error), or an error that does not name
  the argument, or an error for a valid value;
* **silent**: garbage accepted, NaN/inf returned, or a result that differs from the call with
  the equivalent value (e.g. float32 data computed in float32);
* **hang**: no answer within ``--timeout`` seconds.

The table of functions, valid calls and corruptions is ``tests/api_table.py`` (the property
suite walks the same table).  Also run: every function on degenerate shapes (0 rows, 0
columns, 0 neurons, one point, one column, one neuron), where any outcome but a hang or an
unclear error is fine.

    .venv/bin/python tools/fuzz_api.py              # prints the counts, lists every non-clear case
    .venv/bin/python tools/fuzz_api.py --only th.   # the entries whose name starts with th.

Exit status 1 if any call is silent or hangs, or unclear calls reach 1% of all.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("EXPREG_BACKEND", "numpy")
os.environ.setdefault("TQDM_DISABLE", "1")

import api_table as T  # noqa: E402


def fuzz(only="", timeout=10.0, degenerate=True, out=print):
    counts = collections.Counter()
    cases = collections.defaultdict(list)
    start = time.perf_counter()
    p = T.fixed_problem()
    for spec in T.SPECS:
        if not spec.name.startswith(only):
            continue
        try:
            call = T.with_timeout(timeout, spec.build, p)
            if spec.valid:
                T.with_timeout(timeout, spec.call, dict(call))
        except T.Hang:
            counts["hang"] += 1
            cases["hang"].append(f"{spec.name}: the valid call did not finish in {timeout} s")
            continue
        for arg, corruption in T.all_bad_calls(spec, p):
            try:
                category, detail = T.with_timeout(timeout, T.classify, spec, call, arg, corruption)
            except T.Hang:
                category, detail = "hang", f"{spec.name}({arg}={corruption.label}): no answer in {timeout} s"
            counts[category] += 1
            if detail:
                cases[category].append(detail)
        if degenerate and spec.valid:
            for shape, q in T.degenerate_problems().items():
                category, detail = T.degenerate_call(spec, q, shape, timeout)
                counts[category] += 1
                if detail:
                    cases[category].append(detail)
    wall = time.perf_counter() - start
    total = sum(counts.values())
    for category in ("silent", "hang", "unclear"):
        for line in cases[category]:
            out(f"{category.upper():8s} {line}")
    out(f"{total} calls in {wall:.1f} s: " + ", ".join(f"{counts[c]} {c}" for c in ("clear", "unclear", "silent",
                                                                                  "hang")))
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the table entries whose name starts with this")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per call before it counts as a hang")
    ap.add_argument("--no-degenerate", action="store_true", help="skip the degenerate shapes")
    args = ap.parse_args(argv)
    counts = fuzz(args.only, args.timeout, not args.no_degenerate)
    total = sum(counts.values())
    bad = counts["silent"] or counts["hang"] or counts["unclear"] >= 0.01 * total
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
