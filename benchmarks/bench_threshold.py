"""Part III memorizer: build time per stage, forward pass per point, and extra memory.

    .venv/bin/python benchmarks/bench_threshold.py                    # n=131072, d=16
    .venv/bin/python benchmarks/bench_threshold.py --n 16384 --d 16   # a quick run

Prints one table: each stage of ``threshold.build_memorizer`` (with the exact minimum
distance that ``check_setting`` computes), the forward pass on the training points and on
fresh points, and the floor of the forward pass (the bare sparse products of every layer
on pre-made 0/1 inputs, plus the dense first layer).  Times are medians over ``--repeat``
runs.  Extra memory is the growth of the peak resident set size over the data; the script
exits with status 1 if it exceeds ``--max-gib`` (default 4).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import numpy as np

from expreg_nb import data, threshold as th
from expreg_nb.seeding import make_rng


def peak_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=131_072)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1, help="builds and full passes to take the median of")
    ap.add_argument("--floor-points", type=int, default=4096)
    ap.add_argument("--max-gib", type=float, default=4.0)
    args = ap.parse_args(argv)

    X = data.sphere(args.n, args.d, seed=0)
    y = make_rng(0, "bench", "labels").integers(0, 2, args.n)
    fresh = data.sphere(args.n, args.d, seed=1)
    base = peak_gib()

    rows, nets = {}, []
    for _ in range(args.repeat):
        t = time.perf_counter()
        th.check_setting(X)
        rows.setdefault("min distance (check_setting)", []).append(time.perf_counter() - t)
        t = time.perf_counter()
        net = th.build_memorizer(X, y, seed=0)
        total = time.perf_counter() - t
        for stage, sec in net.info["seconds"].items():
            rows.setdefault(f"build: {stage}", []).append(sec)
        rows.setdefault("build: total (incl. check_setting)", []).append(total)
        nets.append(net)
    net = nets[0]
    assert net.stage_sizes() == th.stage_formula(net.info)  # the counts below are exact
    pred_train = median_time(lambda: net.predict(X), args.repeat)
    if not np.array_equal(net.predict(X), y):
        print("predict does not reproduce y", file=sys.stderr)
        return 1
    pred_fresh = median_time(lambda: net.predict(fresh), args.repeat)
    sub = args.floor_points
    api = median_time(lambda: net.predict(X[:sub]), 3)
    floor = forward_floor(net, sub, 3)
    extra = peak_gib() - base

    print(f"n={args.n}, d={args.d}: {net.n_neurons} neurons ({net.n_neurons / args.n:.2f} n), "
          f"{net.n_weights} weights, depth {net.depth}, k1={net.info['k1']}, "
          f"delta={net.info['delta']:.4f}, largest group {net.info['max_group']}")
    print(f"{'stage':38s} {'median s':>10s}")
    for name, vals in rows.items():
        print(f"{name:38s} {statistics.median(vals):10.2f}")
    print(f"{'predict, training points':38s} {pred_train:10.2f}")
    print(f"{'predict, fresh points':38s} {pred_fresh:10.2f}")
    print(f"forward pass per point ({sub} points): API {1e6 * api / sub:.1f} us, "
          f"floor {1e6 * floor / sub:.1f} us (bare products), ratio {api / floor:.2f}")
    print(f"extra memory (peak RSS growth over the data): {extra:.2f} GiB (limit {args.max_gib})")
    return 0 if extra <= args.max_gib else 1


if __name__ == "__main__":
    sys.exit(main())
