"""Part I: the named sweeps (:mod:`expreg_nb.sweep`), listed under the ``expreg_nb.sweeps`` entry point."""
from __future__ import annotations

from .. import sweep
from .experiments import init_width_task, width_points, width_task

#: Named sweeps of Part I (see :mod:`expreg_nb.sweep`).
SWEEPS = [
    sweep.Sweep(
        name="exp-width",
        fn=width_task,
        description="smallest width at which GD reaches ||F(W(T),X) - y|| <= 0.05, against n "
                    "(d = n/2 + 32), normalized and unnormalized model, data and init seeds",
        grids={
            "book": width_points([16], high=4) + width_points([32, 64, 128]),
            "full": width_points([32, 64, 128, 256, 512], data_seeds=(0, 1, 2)),
        },
    ),
    sweep.Sweep(
        name="exp-init-width",
        fn=init_width_task,
        description="lambda_min(H(0)) / lambda against the width m (no training), d = n/2 + 32",
        grids={
            "book": sweep.grid(n=[16, 32, 64, 128], m=[2**k for k in range(6, 15)],
                               data_seed=[0, 1], init_seed=[0, 1]),
            "full": sweep.grid(n=[32, 64, 128, 256, 512], m=[2**k for k in range(6, 18)],
                               data_seed=[0, 1, 2], init_seed=[0, 1]),
        },
    ),
]

__all__ = ["SWEEPS"]
