"""Part III memorizer: build time per stage, forward pass per point, and extra memory.

    .venv/bin/python benchmarks/bench_threshold.py                    # n=131072, d=16
    .venv/bin/python benchmarks/bench_threshold.py --n 16384 --d 16   # a quick run

Prints one table: each stage of ``threshold.build_memorizer`` (with the exact minimum
distance that ``check_setting`` computes), the forward pass on the training points and on
fresh points, and the floor of the forward pass (the same products of every layer on the
same inputs in the same blocks of points, without the comparisons with the biases: see
:func:`forward_floor`).  Times are medians over ``--repeat`` runs, the floor and the forward
pass it bounds minima of interleaved rounds.  Extra memory is the growth of the peak resident set size over the data; the script
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


def _times(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def median_time(fn, repeat):
    return statistics.median(_times(fn, repeat))


def forward_floor(net, X, repeat):
    """Seconds of the floor of ``net.predict(X)``: the same products on the same inputs in the same blocks.

    ``predict`` cuts the points into the blocks of ``point_chunks`` and, per block, forms the first
    layer's products W1 x, compares them with the bias, and for every later layer forms the integer
    products W h (``SparseLayer.product``) and compares them with the bias.  The floor does the
    products only, on the very inputs each layer gets in ``predict`` (computed once beforehand), in
    the same blocks: a subset of ``predict``'s work in the same order and memory layout, so it cannot
    be slower than ``predict`` except by timing noise.  Minimum over ``repeat`` rounds.
    """
    xp = np
    widest = max(layer.width for layer in net.layers)
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
                layer.product(h, xp)

    return min_time(products, repeat)


def min_time(fn, repeat):
    return min(_times(fn, repeat))


def measure(n=131_072, d=16, repeat=1, floor_points=4096, floor_repeat=5):
    """Build, verify and predict a memorizer for ``n`` random points on S^(d-1): a dict of the results."""
    X = data.sphere(n, d, seed=0)
    y = make_rng(0, "bench", "labels").integers(0, 2, n)
    fresh = data.sphere(n, d, seed=1)
    base = peak_gib()
    rows, nets = {}, []
    start_all = time.perf_counter()
    for _ in range(repeat):
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
    extra = peak_gib() - base
    return {"n": n, "d": d, "repeat": repeat, "neurons": net.n_neurons, "weights": net.n_weights,
            "depth": net.depth, "k1": net.info["k1"], "delta": net.info["delta"],
            "max_group": net.info["max_group"], "stages": {k: statistics.median(v) for k, v in rows.items()},
            "predict_train": pred_train, "predict_fresh": pred_fresh, "floor_points": floor_points,
            "api_per_point": min(api) / floor_points, "floor_per_point": min(floor) / floor_points,
            "extra_gib": extra, "wall": time.perf_counter() - start_all}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=131_072)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1, help="builds and full passes to take the median of")
    ap.add_argument("--floor-points", type=int, default=4096)
    ap.add_argument("--max-gib", type=float, default=4.0)
    args = ap.parse_args(argv)
    r = measure(args.n, args.d, args.repeat, args.floor_points)
    print(f"n={r['n']}, d={r['d']}: {r['neurons']} neurons ({r['neurons'] / r['n']:.2f} n), "
          f"{r['weights']} weights, depth {r['depth']}, k1={r['k1']}, "
          f"delta={r['delta']:.4f}, largest group {r['max_group']}")
    print(f"{'stage':38s} {'median s':>10s}")
    for name, sec in r["stages"].items():
        print(f"{name:38s} {sec:10.2f}")
    print(f"{'predict, training points':38s} {r['predict_train']:10.2f}")
    print(f"{'predict, fresh points':38s} {r['predict_fresh']:10.2f}")
    print(f"forward pass per point ({r['floor_points']} points): API {1e6 * r['api_per_point']:.1f} us, "
          f"floor {1e6 * r['floor_per_point']:.1f} us (the same products, no comparisons), "
          f"ratio {r['api_per_point'] / r['floor_per_point']:.2f}")
    print(f"extra memory (peak RSS growth over the data): {r['extra_gib']:.2f} GiB (limit {args.max_gib})")
    return 0 if r["extra_gib"] <= args.max_gib else 1


if __name__ == "__main__":
    sys.exit(main())
