"""Benchmarks of Part I (expreg_nb.exponential): how close the step and the Gram matrix are to the bare matrix products.

Run from the repository root::

    .venv/bin/python benchmarks/bench_exponential.py                  # default shapes, under a minute on 2 cores
    .venv/bin/python benchmarks/bench_exponential.py --shapes 512x32x65536
    .venv/bin/python benchmarks/bench_exponential.py --memory-check   # n=2048, m=2^18, d=32 gram() under 1 GiB extra
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

import expreg_nb
from expreg_nb import backend, data
from expreg_nb import exponential as ex
from expreg_nb.chunks import neuron_slices

DEFAULT_SHAPES = ("64x16x4096", "256x32x16384", "1024x32x16384")
MEMORY_SHAPE = (2048, 32, 2**18)
MEMORY_LIMIT_BYTES = 2**30


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"NxDxM"`` -> (n, d, m)."""
    try:
        n, d, m = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must look like NxDxM (e.g. 256x32x16384), got {text!r}") from None
    if min(n, d, m) < 1:
        raise argparse.ArgumentTypeError(f"n, d and m must be >= 1, got {text!r}")
    return n, d, m


def best_time(fn, xp, repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn`` (seconds), after one warm-up call."""
    fn()
    backend.synchronize(xp)
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        backend.synchronize(xp)
        best = min(best, time.perf_counter() - start)
    return best


def floors(X, W, a, y, xp, repeat: int) -> tuple[float, float]:
    """Time of the same matrix products and exponentials alone, on pre-made arrays of one neuron chunk.

    Returns (step floor, gram floor) in seconds: the per-chunk cost times the number of chunks,
    with the chunk size that expreg_nb uses.  Step: Z = X W_c^T, E = exp(Z), E a_c and E^T (e X).
    Gram: Z = X W_c^T, E = exp(Z), E E^T.
    """
    n, m = X.shape[0], W.shape[0]
    slices = neuron_slices(m, n)
    c = slices[0].stop - slices[0].start
    Wc, ac = W[:c], a[:c]
    Zc = X @ Wc.T
    Ec = xp.exp(Zc)
    eX = y[:, None] * X
    t_z = best_time(lambda: X @ Wc.T, xp, repeat)
    t_exp = best_time(lambda: xp.exp(Zc), xp, repeat)
    t_fwd = best_time(lambda: Ec @ ac, xp, repeat)
    t_back = best_time(lambda: Ec.T @ eX, xp, repeat)
    t_gram = best_time(lambda: Ec @ Ec.T, xp, repeat)
    scale = m / c
    # A step forms each chunk's features once if everything fits one chunk, twice otherwise.
    passes = 1 if len(slices) == 1 else 2
    step = scale * (passes * (t_z + t_exp) + t_fwd + t_back)
    gram = scale * (t_z + t_exp + t_gram)
    return step, gram


def run_shapes(shapes, repeat: int) -> None:
    xp = backend.get_xp()
    print(expreg_nb.describe())
    header = (f"{'n':>6} {'d':>4} {'m':>8} | {'step ms':>9} {'floor ms':>9} {'ratio':>6} | "
              f"{'gram ms':>9} {'floor ms':>9} {'ratio':>6} {'GFLOP/s':>8}")
    print(header)
    print("-" * len(header))
    for n, d, m in shapes:
        X = data.sphere(n, d, seed=0)
        y = data.labels(n, seed=0)
        W, a = ex.init_params(m, d, seed=0)
        t_step = best_time(lambda: ex.grad(W, a, X, y), xp, repeat)
        t_gram = best_time(lambda: ex.gram(W, X), xp, repeat)
        f_step, f_gram = floors(X, W, a, y, xp, repeat)
        gflops = (2.0 * m * n * d + 2.0 * m * n * n) / t_gram / 1e9
        print(f"{n:>6} {d:>4} {m:>8} | {1e3 * t_step:>9.2f} {1e3 * f_step:>9.2f} {t_step / f_step:>6.2f} | "
              f"{1e3 * t_gram:>9.2f} {1e3 * f_gram:>9.2f} {t_gram / f_gram:>6.2f} {gflops:>8.1f}")


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def memory_check() -> int:
    """gram() at n=2048, d=32, m=2^18 must not grow peak memory by more than 1 GiB; returns an exit code."""
    n, d, m = MEMORY_SHAPE
    xp = backend.get_xp()
    print(expreg_nb.describe())
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
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per measurement; the best is kept (default 3)")
    parser.add_argument("--memory-check", action="store_true",
                        help="instead of timing, check that gram() at n=2048, d=32, m=2^18 stays under 1 GiB extra")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    if args.memory_check:
        return memory_check()
    run_shapes(args.shapes, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
