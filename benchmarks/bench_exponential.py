"""Benchmarks of Part I (expreg_nb.exponential): the gradient step and the Gram matrix against their floor and PyTorch.

Run from the repository root::

    .venv/bin/python benchmarks/bench_exponential.py                   # default shapes, a minute or two on 2 cores
    .venv/bin/python benchmarks/bench_exponential.py --shapes 1024x64x16384 --repeat 9
    .venv/bin/python benchmarks/bench_exponential.py --dtype float32
    .venv/bin/python benchmarks/bench_exponential.py --memory-check    # n=2048, d=32, m=2^18 gram() under 1 GiB extra
    EXPREG_BACKEND=cupy .venv/bin/python benchmarks/bench_exponential.py

See benchmarks/README.md for the meaning of the columns.
"""
from __future__ import annotations

import argparse
import math
import resource
import sys
import time
import tracemalloc

from _timing import (
    fmt_ms,
    fmt_ratio,
    interleaved_medians,
    load,
    machine,
    parse_shape,
    to_torch,
    torch_device,
    torch_or_none,
    torch_sync,
)

from expreg_nb import backend, data
from expreg_nb import exponential as ex

DEFAULT_SHAPES = ("64x16x4096", "256x32x16384", "1024x64x16384")
MEMORY_SHAPE = (2048, 32, 2**18)
MEMORY_LIMIT_BYTES = 2**30


def problem(n, d, m, dtype):
    X = data.sphere(n, d, seed=0).astype(dtype)
    y = data.labels(n, seed=0).astype(dtype)
    W, a = ex.init_params(m, d, seed=0, dtype=dtype)
    return X, y, W, a


def candidates(X, y, W, a, xp, torch):
    """The step and Gram candidates: (ours, floor, torch) for each."""
    m = W.shape[0]
    s = 1.0 / math.sqrt(m)
    model = ex.model(dtype=X.dtype.name)
    params = {"W": W, "a": a}

    def step():  # what train() calls per step: e = u - y and dL/dW
        return model.residual_and_grads(params, X, y, ("W",))

    def step_floor():  # unchunked: Z = X W^T, exp in place, u = E a, E^T (e X); one fresh n x m array
        E = X @ W.T
        xp.exp(E, out=E)
        e = (E @ a) * s - y
        g = E.T @ (e[:, None] * X)
        g *= (a * s)[:, None]
        return e, g

    def gram():
        return model.gram(params, X, ("W",))

    def gram_floor():  # unchunked: E E^T (syrk where the backend has one), o X X^T, / m
        E = X @ W.T
        xp.exp(E, out=E)
        K = E @ E.T
        K *= X @ X.T
        K /= m
        return K

    steps = {"ours": step, "floor": step_floor, "torch": None}
    grams = {"ours": gram, "floor": gram_floor, "torch": None}
    if torch is not None:
        dev = torch_device(torch, xp)
        Xt, yt, at = (to_torch(torch, v, dev) for v in (X, y, a))
        Wt = to_torch(torch, W, dev).requires_grad_(True)

        def step_torch():  # autograd on the same loss
            Wt.grad = None
            u = torch.exp(Xt @ Wt.T) @ at * s
            loss = 0.5 * ((u - yt) ** 2).sum()
            loss.backward()
            torch_sync(torch, dev)
            return Wt.grad

        Wd = Wt.detach()

        def gram_torch():
            with torch.no_grad():
                E = torch.exp(Xt @ Wd.T)
                K = (E @ E.T) * (Xt @ Xt.T) / m
            torch_sync(torch, dev)
            return K

        steps["torch"], grams["torch"] = step_torch, gram_torch
    return steps, grams


def run_shapes(shapes, repeat: int, dtype: str = "float64", *, out=print) -> list[dict]:
    """Time every shape; print a table; return its rows."""
    xp = backend.get_xp()
    torch = torch_or_none()
    out(f"Part I (exponential), {dtype}: {machine()}")
    if torch is None:
        out("PyTorch not installed (pip install -e '.[bench]'): its columns are skipped.")
    else:
        out(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    header = (f"{'n':>5} {'d':>3} {'m':>6} | {'step ms':>8} {'floor':>8} {'torch':>8} {'/floor':>6} {'torch/':>6} | "
              f"{'gram ms':>8} {'floor':>8} {'torch':>8} {'/floor':>6} {'torch/':>6}")
    out(header)
    out("-" * len(header))
    rows = []
    for n, d, m in shapes:
        X, y, W, a = problem(n, d, m, dtype)
        steps, grams = candidates(X, y, W, a, xp, torch)
        before = load()
        ts = interleaved_medians(steps, xp, repeat)
        tg = interleaved_medians(grams, xp, repeat)
        row = {"path": "exponential", "dtype": dtype, "n": n, "d": d, "m": m, "load": before,
               **{f"step_{k}": v for k, v in ts.items()}, **{f"gram_{k}": v for k, v in tg.items()}}
        rows.append(row)
        out(f"{n:>5} {d:>3} {m:>6} | {fmt_ms(ts['ours']):>8} {fmt_ms(ts['floor']):>8} {fmt_ms(ts.get('torch')):>8} "
            f"{fmt_ratio(ts['ours'], ts['floor']):>6} {fmt_ratio(ts.get('torch'), ts['ours']):>6} | "
            f"{fmt_ms(tg['ours']):>8} {fmt_ms(tg['floor']):>8} {fmt_ms(tg.get('torch')):>8} "
            f"{fmt_ratio(tg['ours'], tg['floor']):>6} {fmt_ratio(tg.get('torch'), tg['ours']):>6}   ({before})")
    out(f"medians of {repeat} interleaved rounds; '/floor' = ours / floor, 'torch/' = torch / ours (> 1: we are faster)")
    return rows


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def memory_check() -> int:
    """gram() at n=2048, d=32, m=2^18 must not grow peak memory by more than 1 GiB; returns an exit code."""
    n, d, m = MEMORY_SHAPE
    xp = backend.get_xp()
    print(machine())
    X = data.sphere(n, d, seed=0)
    W, _ = ex.init_params(m, d, seed=0)
    backend.synchronize(xp)
    naive = 8 * n * m
    print(f"gram() at n={n}, d={d}, m={m}: inputs W {8 * m * d / 2**20:.0f} MiB, X {8 * n * d / 2**20:.1f} MiB; "
          f"an unchunked n x m feature matrix alone would take {naive / 2**30:.1f} GiB")
    if xp is not backend.np:
        pool = xp.get_default_memory_pool()
        before = pool.total_bytes()
        start = time.perf_counter()
        ex.gram(W, X)
        backend.synchronize(xp)
        elapsed = time.perf_counter() - start
        extra = pool.total_bytes() - before
        print(f"time {elapsed:.1f} s; device memory pool grew by {extra / 2**20:.0f} MiB")
    else:
        rss_before = max_rss_bytes()
        tracemalloc.start()
        start = time.perf_counter()
        ex.gram(W, X)
        elapsed = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = max(0, max_rss_bytes() - rss_before)
        extra = max(traced_peak, rss_growth)
        print(f"time {elapsed:.1f} s; peak traced allocations during gram() {traced_peak / 2**20:.0f} MiB; "
              f"growth of the peak RSS {rss_growth / 2**20:.0f} MiB")
    ok = extra <= MEMORY_LIMIT_BYTES
    print(f"extra memory {extra / 2**20:.0f} MiB {'<=' if ok else '>'} limit {MEMORY_LIMIT_BYTES / 2**20:.0f} MiB: "
          f"{'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", type=parse_shape, default=[parse_shape(s) for s in DEFAULT_SHAPES],
                        metavar="NxDxM", help=f"problem sizes (default: {' '.join(DEFAULT_SHAPES)})")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds per measurement; medians (default 7)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--memory-check", action="store_true",
                        help="instead of timing, check that gram() at n=2048, d=32, m=2^18 stays under 1 GiB extra")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    if args.memory_check:
        return memory_check()
    run_shapes(args.shapes, args.repeat, args.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
