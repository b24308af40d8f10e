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

import math
import resource
import sys
import time
import tracemalloc

from _timing import (
    machine,
    parse_shape_args,
    shape_parser,
    sphere_problem,
    step_gram_table,
    to_torch,
    torch_device,
    torch_sync,
)

from expreg_nb import backend, data
from expreg_nb import exponential as ex

MEMORY_SHAPE = (2048, 32, 2**18)
MEMORY_LIMIT_BYTES = 2**30


problem = sphere_problem(ex.init_params)


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
    return step_gram_table("Part I (exponential)", "exponential", "gram", shapes, repeat, dtype, problem, candidates,
                           out=out)


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def memory_check(shape=MEMORY_SHAPE, result=None) -> int:
    """gram() at n=2048, d=32, m=2^18 must not grow peak memory by more than 1 GiB; returns an exit code.

    ``result`` (a dict), when given, receives the measured numbers."""
    n, d, m = shape
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
    if result is not None:
        result.update(n=n, d=d, m=m, seconds=elapsed, extra=extra, naive=naive, ok=ok,
                      traced=traced_peak if xp is backend.np else None,
                      rss=rss_growth if xp is backend.np else None)
    print(f"extra memory {extra / 2**20:.0f} MiB {'<=' if ok else '>'} limit {MEMORY_LIMIT_BYTES / 2**20:.0f} MiB: "
          f"{'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = shape_parser(__doc__)
    parser.add_argument("--memory-check", action="store_true",
                        help="instead of timing, check that gram() at n=2048, d=32, m=2^18 stays under 1 GiB extra")
    args = parse_shape_args(parser, argv)
    if args.memory_check:
        return memory_check()
    run_shapes(args.shapes, args.repeat, args.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
