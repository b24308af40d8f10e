"""Part III memorizer: build time per stage, forward pass per point, and extra memory.

    .venv/bin/python benchmarks/bench_threshold.py                    # n=131072, d=16
    .venv/bin/python benchmarks/bench_threshold.py --n 16384 --d 16   # a quick run
    .venv/bin/python benchmarks/bench_threshold.py --data shell --n 3500000 --plan 65536,262144,524288 \
        --max-gib 12                                                  # past the first crossover with Baum

``--data shell`` draws the points from the norm-8 shell of Z^16 (delta = 1/2 exactly, no O(n^2)
distance check: ``verify_delta=False``).  ``--plan N1,N2,...`` first runs the same benchmark at
those smaller n (each in its own process), fits the peak memory linearly in n, and stops before
the big run if the fit predicts more than ``--max-gib``.

Prints one table: each stage of ``threshold.build_memorizer`` (with the exact minimum
distance that ``check_setting`` computes, for sphere data), the forward pass on the training
points and on fresh points, and the floor of the forward pass (the same products of every layer on
the same inputs in the same blocks of points, without the comparisons with the biases: see
:func:`forward_floor`), the size audit against the lemmas and Baum's neuron count on the same
labels.  Times are medians over ``--repeat`` runs, the floor and the forward pass it bounds minima
of interleaved rounds.  Extra memory is the growth of the peak resident set size over the data; the
script exits with status 1 if it exceeds ``--max-gib`` (default 4) or the audit fails.
:func:`measure` returns the same numbers as a dict (``benchmarks/write_docs.py`` writes its table).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from expreg_nb import data, threshold as th
from expreg_nb.seeding import make_rng
from expreg_nb.threshold.sweeps import peak_memory_gib, reset_peak_memory


def peak_gib():
    """Peak resident memory (GiB) since the last :func:`reset_peak_memory` (Linux), else ever."""
    return peak_memory_gib()


def _times(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def median_time(fn, repeat):
    return statistics.median(_times(fn, repeat))


def _dense_width(layer):
    """Rows of the dense block a layer's output takes in ``predict`` on the CPU (0 for a declared
    equality layer, whose output is sparse): ``predict``'s blocks of points follow the widest."""
    return 0 if getattr(layer, "onehot", ()) else layer.width


def forward_floor(net, X, repeat):
    """Seconds of the floor of ``net.predict(X)``: the same products on the same inputs in the same blocks.

    ``predict`` cuts the points into the blocks of ``point_chunks`` and, per block, forms the first
    layer's products W1 x, compares them with the bias, and for every later layer forms the integer
    products W h (``SparseLayer.product``) and compares them with the bias; a declared equality
    layer (``SparseLayer.onehot``) reads the value of its inputs instead, and the floor does the same
    (that lookup is its whole work).  The floor does the products only, on the very inputs each layer
    gets in ``predict`` (computed once beforehand), in the same blocks: a subset of ``predict``'s work
    in the same order and memory layout, so it cannot be slower than ``predict`` except by timing
    noise.  Minimum over ``repeat`` rounds.
    """
    xp = np
    widest = max(_dense_width(layer) for layer in net.layers)
    first, rest = net.layers[0], net.layers[1:]
    blocks = []
    for rows in th.point_chunks(X.shape[0], widest):
        Xb = X[rows]
        inputs, h = [], first.apply(Xb, xp)
        for layer in rest:
            inputs.append(h)
            h = layer.apply(h, xp)
        blocks.append((Xb, inputs))

    def products():
        for Xb, inputs in blocks:
            first.weight @ Xb.T
            for layer, h in zip(rest, inputs):
                if layer.onehot:
                    layer.apply(h, xp)
                else:
                    layer.product(h, xp)

    return min_time(products, repeat)


def min_time(fn, repeat):
    return min(_times(fn, repeat))


def points(n, d, kind="sphere"):
    """Training points, fresh points and the build keywords for ``kind`` ("sphere" or "shell")."""
    if kind == "shell":
        if d != 16:
            raise ValueError("shell data have d = 16")
        return (data.shell_points(n, seed=0), data.shell_points(min(n, 2**16), seed=1),
                {"delta": 0.5, "verify_delta": False})
    return data.sphere(n, d, seed=0), data.sphere(n, d, seed=1), {}


def measure(n=131_072, d=16, repeat=1, floor_points=4096, floor_repeat=5, kind="sphere", audit=False):
    """Build, verify and predict a memorizer for ``n`` points (random on S^(d-1), or the shell with
    ``kind="shell"``): a dict of the results (with the size audit if ``audit``)."""
    X, fresh, kw = points(n, d, kind)
    y = make_rng(0, "bench", "labels").integers(0, 2, n)
    reset_peak_memory()  # the peak from here on: the data resident, the shell enumeration not
    base = peak_gib()
    rows, nets = {}, []
    start_all = time.perf_counter()
    for _ in range(repeat):
        if kind == "sphere":
            t = time.perf_counter()
            th.check_setting(X)
            rows.setdefault("min distance (check_setting)", []).append(time.perf_counter() - t)
        t = time.perf_counter()
        net = th.build_memorizer(X, y, seed=0, **kw)
        total = time.perf_counter() - t
        for stage, sec in net.info["seconds"].items():
            rows.setdefault(f"build: {stage}", []).append(sec)
        rows.setdefault("build: total (incl. check_setting)", []).append(total)
        nets.append(net)
    net = nets[0]
    if net.stage_sizes() != th.stage_formula(net.info):  # the counts reported below are exact
        raise AssertionError("the network's stage sizes differ from stage_formula")
    pred_train = median_time(lambda: net.predict(X), repeat)
    if not np.array_equal(net.predict(X), y):
        raise AssertionError("predict does not reproduce y")
    pred_fresh = median_time(lambda: net.predict(fresh), repeat)
    sub = X[:floor_points]
    api, floor = [], []
    for _ in range(floor_repeat):  # interleaved: predict, then its floor, in turn
        api.append(min_time(lambda: net.predict(sub), 1))
        floor.append(forward_floor(net, sub, 1))
    wall = time.perf_counter() - start_all
    report, audit_s = None, None
    if audit:
        t = time.perf_counter()
        report = th.audit(net, X, delta=kw["delta"] if "delta" in kw else th.check_setting(X)[1], seed=0)
        audit_s = time.perf_counter() - t
    peak = peak_gib()
    return {"n": n, "d": d, "kind": kind, "repeat": repeat, "neurons": net.n_neurons, "weights": net.n_weights,
            "depth": net.depth, "k1": net.info["k1"], "delta": net.info["delta"],
            "max_group": net.info["max_group"], "stages": {k: statistics.median(v) for k, v in rows.items()},
            "predict_train": pred_train, "predict_fresh": pred_fresh, "floor_points": floor_points,
            "api_per_point": min(api) / floor_points, "floor_per_point": min(floor) / floor_points,
            "baum": th.baum_neurons(n, d, int(min(y.sum(), n - y.sum()))),
            "audit_ok": None if report is None else report.ok, "audit_s": audit_s,
            "peak_gib": peak, "extra_gib": peak - base, "wall": wall}


def plan(sizes, args):
    """Peak GiB of the benchmark at each of ``sizes`` (own processes), and the linear fit in n."""
    peaks = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--n", str(n), "--d", str(args.d), "--data", args.data,
               "--max-gib", "1e9", "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        peaks.append(json.loads(out.strip().splitlines()[-1])["peak_gib"])
        print(f"plan: n={n}: peak {peaks[-1]:.2f} GiB", flush=True)
    slope, icpt = np.polyfit(np.asarray(sizes, float), peaks, 1)
    return peaks, slope * args.n + icpt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=131_072)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--data", choices=("sphere", "shell"), default="sphere")
    ap.add_argument("--repeat", type=int, default=1, help="builds and full passes to take the median of")
    ap.add_argument("--floor-points", type=int, default=4096)
    ap.add_argument("--max-gib", type=float, default=4.0)
    ap.add_argument("--plan", default="", help="comma-separated smaller n to extrapolate the peak from")
    ap.add_argument("--json", action="store_true", help="print one JSON line (for --plan)")
    args = ap.parse_args(argv)
    if args.data == "shell" and args.d != 16:
        ap.error("--data shell has d = 16")
    if args.plan:
        sizes = [int(v) for v in args.plan.split(",")]
        peaks, predicted = plan(sizes, args)
        print(f"plan: predicted peak at n={args.n}: {predicted:.2f} GiB (limit {args.max_gib})")
        if predicted > args.max_gib:
            print("plan: the big run would exceed the limit; not started", file=sys.stderr)
            return 1
    r = measure(args.n, args.d, args.repeat, args.floor_points, kind=args.data, audit=True)
    if args.json:
        print(json.dumps({k: r[k] for k in ("n", "neurons", "baum", "peak_gib", "extra_gib", "audit_ok")}))
        return 0
    print(f"n={r['n']}, d={r['d']} ({r['kind']}): {r['neurons']} neurons ({r['neurons'] / r['n']:.3f} n), "
          f"{r['weights']} weights, depth {r['depth']}, k1={r['k1']}, "
          f"delta={r['delta']:.4f}, largest group {r['max_group']}")
    print(f"Baum's construction on the same labels (general position, its best case): {r['baum']} neurons; "
          f"the memorizer has {r['neurons'] / r['baum']:.2f} of it")
    print(f"size audit against the lemmas: {'passes' if r['audit_ok'] else 'FAILS'} ({r['audit_s']:.1f} s)")
    print(f"{'stage':38s} {'median s':>10s}")
    for name, sec in r["stages"].items():
        print(f"{name:38s} {sec:10.2f}")
    print(f"{'predict, training points':38s} {r['predict_train']:10.2f}")
    print(f"{'predict, fresh points':38s} {r['predict_fresh']:10.2f}")
    print(f"forward pass per point ({r['floor_points']} points): API {1e6 * r['api_per_point']:.1f} us, "
          f"floor {1e6 * r['floor_per_point']:.1f} us (the same products, no comparisons), "
          f"ratio {r['api_per_point'] / r['floor_per_point']:.2f}")
    print(f"peak memory {r['peak_gib']:.2f} GiB; extra (peak RSS growth over the data): {r['extra_gib']:.2f} GiB "
          f"(limit {args.max_gib})")
    return 0 if r["extra_gib"] <= args.max_gib and r["audit_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
