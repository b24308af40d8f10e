"""Part III memorizer: build time per stage, forward pass per point, and extra memory.

    .venv/bin/python benchmarks/bench_threshold.py                    # n=131072, d=16
    .venv/bin/python benchmarks/bench_threshold.py --n 16384 --d 16   # a quick run
    .venv/bin/python benchmarks/bench_threshold.py --data shell --n 3500000 --plan 65536,262144,524288 \
        --max-gib 12                                                  # past the crossover with Baum

``--data shell`` draws the points from the norm-8 shell of Z^16 (delta = 1/2 exactly, no O(n^2)
distance check: ``verify_delta=False``) and prints Baum's neuron count on the same labels.
``--plan N1,N2,...`` first runs the same benchmark at those smaller n (each in its own process),
fits the peak memory linearly in n, and stops before the big run if the fit predicts more than
``--max-gib``.

Prints one table: each stage of ``threshold.build_memorizer`` (with the exact minimum
distance that ``check_setting`` computes), the forward pass on the training points and on
fresh points, and the floor of the forward pass (the bare sparse products of every layer
on pre-made 0/1 inputs, plus the dense first layer).  Times are medians over ``--repeat``
runs.  Extra memory is the growth of the peak resident set size over the data; the script
exits with status 1 if it exceeds ``--max-gib`` (default 4).
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
from expreg_nb.threshold.sweeps import peak_memory_gib, reset_peak_memory
from expreg_nb.seeding import make_rng


def peak_gib():
    """Peak resident memory (GiB) since the last :func:`reset_peak_memory` (Linux), else ever."""
    return peak_memory_gib()


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def forward_floor(net, points, repeat):
    """Seconds of the bare products of every layer on ``points`` pre-made random inputs."""
    rng = np.random.default_rng(0)
    X = data.sphere(points, net.d, seed=5)
    first = net.layers[0]
    total = median_time(lambda: first.weight @ X.T, repeat)
    width_in = first.width
    for layer in net.layers[1:]:
        H = rng.integers(0, 2, size=(width_in, points), dtype=np.int8)
        S, _ = layer._matrix(np, width_in)
        total += median_time(lambda: S @ H, repeat)
        width_in = layer.width
    return total


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
    if args.plan:
        sizes = [int(v) for v in args.plan.split(",")]
        peaks, predicted = plan(sizes, args)
        print(f"plan: predicted peak at n={args.n}: {predicted:.2f} GiB (limit {args.max_gib})")
        if predicted > args.max_gib:
            print("plan: the big run would exceed the limit; not started", file=sys.stderr)
            return 1

    if args.data == "shell":
        if args.d != 16:
            ap.error("--data shell has d = 16")
        X = data.shell_points(args.n, seed=0)
        fresh = data.shell_points(min(args.n, 2**16), seed=1)
        kw = {"delta": 0.5, "verify_delta": False}
    else:
        X = data.sphere(args.n, args.d, seed=0)
        fresh = data.sphere(args.n, args.d, seed=1)
        kw = {}
    y = make_rng(0, "bench", "labels").integers(0, 2, args.n)
    reset_peak_memory()  # the peak from here on: the data resident, the shell enumeration not
    base = peak_gib()

    rows, nets = {}, []
    for _ in range(args.repeat):
        if args.data == "sphere":
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
    t = time.perf_counter()
    report = th.audit(net, X, delta=net.info["delta"])
    audit_s = time.perf_counter() - t
    pred_train = median_time(lambda: net.predict(X), args.repeat)
    if not np.array_equal(net.predict(X), y):
        print("predict does not reproduce y", file=sys.stderr)
        return 1
    pred_fresh = median_time(lambda: net.predict(fresh), args.repeat)
    sub = args.floor_points
    api = median_time(lambda: net.predict(X[:sub]), 3)
    floor = forward_floor(net, sub, 3)
    peak = peak_gib()
    extra = peak - base
    baum = th.baum_neurons(args.n, args.d, int(min(y.sum(), args.n - y.sum())))
    if args.json:
        print(json.dumps({"n": args.n, "neurons": net.n_neurons, "baum": baum, "peak_gib": peak,
                          "extra_gib": extra, "audit_ok": report.ok}))
        return 0

    print(f"n={args.n}, d={args.d} ({args.data}): {net.n_neurons} neurons ({net.n_neurons / args.n:.3f} n), "
          f"{net.n_weights} weights, depth {net.depth}, k1={net.info['k1']}, "
          f"delta={net.info['delta']:.4f}, largest group {net.info['max_group']}")
    print(f"Baum's construction on the same labels (general position, its best case): {baum} neurons; "
          f"the memorizer has {net.n_neurons / baum:.2f} of it")
    print(f"size audit against the lemmas: {'passes' if report.ok else 'FAILS'} ({audit_s:.1f} s)")
    print(f"{'stage':38s} {'median s':>10s}")
    for name, vals in rows.items():
        print(f"{name:38s} {statistics.median(vals):10.2f}")
    print(f"{'predict, training points':38s} {pred_train:10.2f}")
    print(f"{'predict, fresh points':38s} {pred_fresh:10.2f}")
    print(f"forward pass per point ({sub} points): API {1e6 * api / sub:.1f} us, "
          f"floor {1e6 * floor / sub:.1f} us (bare products), ratio {api / floor:.2f}")
    print(f"peak memory {peak:.2f} GiB; extra (peak RSS growth over the data): {extra:.2f} GiB "
          f"(limit {args.max_gib})")
    return 0 if extra <= args.max_gib and report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
