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
