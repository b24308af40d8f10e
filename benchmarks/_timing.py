"""Shared timing helpers of the benchmark scripts (not part of expreg_nb).

Every comparison is measured side by side in one process: the candidates of a
row (ours, the floor, PyTorch) are called in turn, ``repeat`` rounds, and each
reports the median of its rounds, so a change of machine load during the run
hits all of them alike.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from expreg_nb import backend


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"NxDxM"`` -> (n, d, m)."""
    try:
        n, d, m = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must look like NxDxM (e.g. 256x32x16384), got {text!r}") from None
    if min(n, d, m) < 1:
        raise argparse.ArgumentTypeError(f"n, d and m must be >= 1, got {text!r}")
    return n, d, m


def interleaved_medians(fns: dict, xp, repeat: int) -> dict:
    """``{name: median seconds}`` of ``repeat`` rounds; each round calls every fn once, in turn.

    One warm-up call each first; GPU work is synchronized around every call.
    ``None`` values (a candidate that is not available) are skipped.
    """
    fns = {k: f for k, f in fns.items() if f is not None}
    for f in fns.values():
        f()
        backend.synchronize(xp)
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            backend.synchronize(xp)
            start = time.perf_counter()
            f()
            backend.synchronize(xp)
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def load() -> str:
    """The 1/5/15-minute load averages, e.g. ``"load 3.10 2.80 2.05 on 2 CPUs"``."""
    try:
        one, five, fifteen = os.getloadavg()
        return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
    except OSError:  # pragma: no cover - not on every platform
        return f"load unknown on {os.cpu_count()} CPUs"


def machine() -> str:
    """One line naming the machine, the backend and the thread settings."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs; {backend.describe()}; Python {platform.python_version()}"


def torch_or_none():
    """``torch`` when the optional ``bench`` extra is installed, else ``None``."""
    try:
        import torch
    except Exception:  # ImportError, or a broken install
        return None
    return torch


def torch_device(torch, xp):
    """The torch device matching the active backend (``cuda`` for CuPy, ``cpu`` for NumPy)."""
    return torch.device("cuda") if xp is not backend.np and torch.cuda.is_available() else torch.device("cpu")


def to_torch(torch, x, device):
    """A torch tensor with the data of a NumPy/CuPy array (copied, same dtype)."""
    return torch.as_tensor(backend.to_numpy(x).copy(), device=device)


def torch_sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def fmt_ms(seconds) -> str:
    return "-" if seconds is None else f"{1e3 * seconds:.2f}"


def fmt_ratio(a, b) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}"


# --------------------------------------------------------------------------- step + Gram tables
#: The shapes (n x d x m) the step-and-Gram benchmarks run by default.
DEFAULT_SHAPES = ("64x16x4096", "256x32x16384", "1024x64x16384")


def shape_parser(doc: str) -> argparse.ArgumentParser:
    """The command line shared by the step-and-Gram benchmarks: --shapes, --repeat, --dtype."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", type=parse_shape,
                        default=[parse_shape(s) for s in DEFAULT_SHAPES], metavar="NxDxM",
                        help=f"problem sizes (default: {' '.join(DEFAULT_SHAPES)})")
    parser.add_argument("--repeat", type=int, default=7,
                        help="interleaved rounds per measurement; medians (default 7)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    return parser


def parse_shape_args(parser: argparse.ArgumentParser, argv):
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    return args


def sphere_problem(init_params):
    """``problem(n, d, m, dtype) -> (X, y, W, a)``: seeded sphere data and ``init_params``'s weights."""
    from expreg_nb import data

    def problem(n, d, m, dtype):
        X = data.sphere(n, d, seed=0).astype(dtype)
        y = data.labels(n, seed=0).astype(dtype)
        return (X, y, *init_params(m, d, seed=0, dtype=dtype))

    return problem


def step_gram_table(title, path, gram_label, shapes, repeat, dtype, make_problem, candidates, *,
                    out=print) -> list[dict]:
    """Time the step and the Gram of every shape side by side; print a table; return its rows.

    ``make_problem(n, d, m, dtype) -> (X, y, W, a)``; ``candidates(X, y, W, a, xp, torch)
    -> (steps, grams)``, each a dict of ``ours``, ``floor`` and (optional) ``torch``.
    """
    xp = backend.get_xp()
    torch = torch_or_none()
    out(f"{title}, {dtype}: {machine()}")
    if torch is None:
        out("PyTorch not installed (pip install -e '.[bench]'): its columns are skipped.")
    else:
        out(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    header = (f"{'n':>5} {'d':>3} {'m':>6} | {'step ms':>8} {'floor':>8} {'torch':>8} {'/floor':>6} "
              f"{'torch/':>6} | {gram_label + ' ms':>8} {'floor':>8} {'torch':>8} {'/floor':>6} "
              f"{'torch/':>6}")
    out(header)
    out("-" * len(header))
    rows = []
    for n, d, m in shapes:
        X, y, W, a = make_problem(n, d, m, dtype)
        steps, grams = candidates(X, y, W, a, xp, torch)
        before = load()
        ts = interleaved_medians(steps, xp, repeat)
        tg = interleaved_medians(grams, xp, repeat)
        rows.append({"path": path, "dtype": dtype, "n": n, "d": d, "m": m, "load": before,
                     **{f"step_{k}": v for k, v in ts.items()},
                     **{f"gram_{k}": v for k, v in tg.items()}})
        cols = []
        for tt in (ts, tg):
            cols.append(f"{fmt_ms(tt['ours']):>8} {fmt_ms(tt['floor']):>8} {fmt_ms(tt.get('torch')):>8} "
                        f"{fmt_ratio(tt['ours'], tt['floor']):>6} {fmt_ratio(tt.get('torch'), tt['ours']):>6}")
        out(f"{n:>5} {d:>3} {m:>6} | {cols[0]} | {cols[1]}   ({before})")
    out(f"medians of {repeat} interleaved rounds; '/floor' = ours / floor, "
        f"'torch/' = torch / ours (> 1: we are faster)")
    return rows
