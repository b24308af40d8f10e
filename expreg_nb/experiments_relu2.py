r"""Part II: reusable experiments on the two-rate ReLU network, run through :mod:`expreg_nb.sweep`.

:func:`fit_task` trains the network and its linearization at initialization
(:func:`expreg_nb.training.linearize`, the NTK control) on the same data, from
the same initialization, with the same rates and steps, and reports whether
each reached the tolerance, in how many steps, and the largest step-kernel
eigenvalue max_t lambda_max(K(t)) of the network's run (stable while < 2).

Named sweeps (``python -m expreg_nb.sweep --list``) are in :data:`SWEEPS`.
"""
from __future__ import annotations

import math

import numpy as np

from . import data, relu2
from .backend import to_numpy
from .sweep import Sweep, grid
from .training import linearize, train

__all__ = ["SWEEPS", "fit_task", "width_for"]


def width_for(md_over_n: float, n: int, d: int) -> int:
    """The width m with m d / n closest to ``md_over_n`` from above (at least 1)."""
    return max(1, math.ceil(md_over_n * n / d - 1e-9))


def fit_task(*, n, d, md_over_n, ratio, data_seed, init_seed, c=0.5, steps=4000, tol=1e-3,
             labels="sign"):
    """One run of the network and of its linearization on Gaussian data with random labels.

    The rates have eta_a / eta_w = ``ratio`` and eta * lambda_max(K(0)) = ``c``
    (:func:`expreg_nb.relu2.step_sizes`).  Returns a dict: ``m``, ``net_fit`` /
    ``lin_fit`` (L(T)/L(0) <= ``tol``), ``net_steps`` / ``lin_steps``, ``net_rel_loss`` /
    ``lin_rel_loss``, and ``max_lambda_max`` = max_t lambda_max(K(t)) of the network's run.
    """
    m = width_for(md_over_n, n, d)
    X = data.gaussian(n, d, seed=data_seed)
    y = data.labels(n, seed=data_seed, kind=labels)
    model = relu2.model()
    p0 = model.init(m, d, init_seed)
    eta_w, eta_a = relu2.step_sizes(p0["W"], p0["a"], X, ratio=ratio, c=c)
    rates = {"W": eta_w, "a": eta_a}
    net = train(model, X, y, init=p0, rates=rates, steps=steps, tol=tol, record=("lambda_max",),
                record_every=10, progress=False)
    lin = train(linearize(model, p0), X, y, init=p0, rates=rates, steps=steps, tol=tol,
                progress=False)
    return {
        "m": m,
        "net_fit": bool(net.history.converged), "net_steps": net.history.steps,
        "net_rel_loss": net.relative_loss,
        "lin_fit": bool(lin.history.converged), "lin_steps": lin.history.steps,
        "lin_rel_loss": lin.relative_loss,
        "max_lambda_max": float(np.max(to_numpy(net.history["lambda_max"]))),
    }


SWEEPS = [
    Sweep(
        name="relu2-width",
        fn=fit_task,
        description="two-rate ReLU net vs its linearization: fit of random signs over md/n, n, seeds",
        grids={
            "book": grid(n=[16, 32], d=[8], md_over_n=[1.0, 2.0, 4.0], ratio=[1.0],
                         data_seed=[0, 1], init_seed=[0, 1]),
            "full": grid(n=[32, 64, 128], d=[8], md_over_n=[0.5, 1.0, 2.0, 4.0, 8.0], ratio=[1.0],
                         data_seed=[0, 1, 2], init_seed=[0, 1, 2]),
        },
    ),
]
