"""Benchmarks of Part II (expreg_nb.relu2): the two-layer step and the layer Grams against their floor and PyTorch.

Run from the repository root::

    .venv/bin/python benchmarks/bench_relu2.py                         # default shapes
    .venv/bin/python benchmarks/bench_relu2.py --shapes 1024x64x16384 --repeat 9 --dtype float32

See benchmarks/README.md for the meaning of the columns.
"""
from __future__ import annotations

import math
import sys

from _timing import (
    parse_shape_args,
    shape_parser,
    sphere_problem,
    step_gram_table,
    to_torch,
    torch_device,
    torch_sync,
)

from expreg_nb import relu2



problem = sphere_problem(relu2.init_params)


def candidates(X, y, W, a, xp, torch):
    """The step (both layers) and layer-Gram candidates: (ours, floor, torch) for each."""
    n, d = X.shape
    m = W.shape[0]
    s = 1.0 / math.sqrt(m)
    model = relu2.model(dtype=X.dtype.name)
    params = {"W": W, "a": a}

    def step():  # what train() calls per step with both rates > 0
        return model.residual_and_grads(params, X, y, ("W", "a"))

    def step_floor():  # unchunked, one fresh n x m array: A = relu(X W^T / sqrt d), u = A a, A^T e, 1[A > 0]^T (e X)
        A = X @ W.T
        A *= 1.0 / math.sqrt(d)
        xp.maximum(A, 0.0, out=A)
        e = (A @ a) * s - y
        ga = (A.T @ e) * s
        xp.sign(A, out=A)
        gW = A.T @ (e[:, None] * X)
        gW *= (a * (s / math.sqrt(d)))[:, None]
        return e, gW, ga

    def gram():
        return model.gram(params, X, ("W", "a"))

    def gram_floor():  # unchunked: A A^T and (D|a|)(D|a|)^T (syrk where the backend has one)
        A = X @ W.T
        A *= 1.0 / math.sqrt(d)
        xp.maximum(A, 0.0, out=A)
        K2 = A @ A.T
        xp.sign(A, out=A)
        A *= xp.abs(a)[None, :]
        K1 = A @ A.T
        return K1 * (X @ X.T) * (1.0 / (d * m)), K2 * (1.0 / m)

    steps = {"ours": step, "floor": step_floor, "torch": None}
    grams = {"ours": gram, "floor": gram_floor, "torch": None}
    if torch is not None:
        dev = torch_device(torch, xp)
        Xt, yt = (to_torch(torch, v, dev) for v in (X, y))
        Wt = to_torch(torch, W, dev).requires_grad_(True)
        at = to_torch(torch, a, dev).requires_grad_(True)

        def step_torch():  # autograd on the same loss, both layers
            Wt.grad = at.grad = None
            u = torch.relu(Xt @ Wt.T * (1.0 / math.sqrt(d))) @ at * s
            loss = 0.5 * ((u - yt) ** 2).sum()
            loss.backward()
            torch_sync(torch, dev)
            return Wt.grad, at.grad

        Wd, ad = Wt.detach(), at.detach()

        def gram_torch():
            with torch.no_grad():
                Z = Xt @ Wd.T * (1.0 / math.sqrt(d))
                A = torch.relu(Z)
                K2 = A @ A.T / m
                D = (Z > 0).to(Z.dtype) * ad.abs()[None, :]
                K1 = (D @ D.T) * (Xt @ Xt.T) / (d * m)
            torch_sync(torch, dev)
            return K1, K2

        steps["torch"], grams["torch"] = step_torch, gram_torch
    return steps, grams


def run_shapes(shapes, repeat: int, dtype: str = "float64", *, out=print) -> list[dict]:
    """Time every shape; print a table; return its rows."""
    return step_gram_table("Part II (relu2, both layers)", "relu2", "grams", shapes, repeat, dtype, problem, candidates,
                           out=out)


def main(argv=None) -> int:
    parser = shape_parser(__doc__)
    args = parse_shape_args(parser, argv)
    run_shapes(args.shapes, args.repeat, args.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
