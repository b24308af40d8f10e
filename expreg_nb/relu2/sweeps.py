"""Part II: the named sweeps (:mod:`expreg_nb.sweep`), listed under the ``expreg_nb.sweeps`` entry point."""
from __future__ import annotations

from ..sweep import Sweep, grid
from .experiments import alpha_task, fit_task

# --------------------------------------------------------------------------- named sweeps
# n varied at fixed d (d = 8) and at fixed n/d (= 4); success over data and initialization seeds.
_BOOK_CONFIGS = [(16, 8), (32, 8), (64, 8), (16, 4), (64, 16)]
_FULL_CONFIGS = [(16, 8), (32, 8), (64, 8), (128, 8), (16, 4), (64, 16), (128, 32)]
# n = 256 at both d = 8 and n/d = 4, with twice the step budget (the steps to fit grow with n);
# md/n = 0.5 is left out there (no run of any smaller n fits at md/n <= 1).  A GPU-scale design
# would go on to n = 512, 1024 with 4 x 4 seeds; the stored result was made on 2 shared CPU cores.
_FULL_256 = [(256, 8), (256, 64)]


def _width_grid(configs, mults, data_seeds, init_seeds, steps):
    pts = []
    for n, d in configs:
        pts += grid(n=[n], d=[d], md_over_n=mults, ratio=[1.0], data_seed=data_seeds,
                    init_seed=init_seeds, steps=[steps])
    return pts


SWEEPS = [
    Sweep(
        name="relu2-width",
        fn=fit_task,
        description="two-rate ReLU net vs its linearization: fit of random signs over md/n, n, d, seeds",
        grids={
            # the live check in the chapter: a subset of the "full" points (same steps), so the
            # chapter can compare its rows with the stored ones
            "book": _width_grid(_BOOK_CONFIGS, [2.0, 4.0], [0], [0, 1], 6000),
            "full": _width_grid(_FULL_CONFIGS, [0.5, 1.0, 2.0, 3.0, 4.0], [0, 1], [0, 1], 6000)
            + _width_grid(_FULL_256, [1.0, 2.0, 3.0, 4.0], [0, 1], [0, 1], 12000),
        },
        version=2,
    ),
    Sweep(
        name="relu2-phase",
        fn=fit_task,
        description="success over md/n x eta_a/eta_w for random and kernel-worst-case labels",
        grids={
            "book": grid(n=[32], d=[8], md_over_n=[4.0], ratio=[0.0, 1.0, 16.0],
                         labels=["sign", "worst"], data_seed=[0], init_seed=[0], steps=[4000]),
            "full": grid(n=[32], d=[8], md_over_n=[1.0, 2.0, 4.0, 8.0],
                         ratio=[0.0, 0.25, 1.0, 4.0, 16.0], labels=["sign", "worst"],
                         data_seed=[0, 1], init_seed=[0, 1], steps=[4000]),
        },
    ),
    Sweep(
        name="relu2-alpha",
        fn=alpha_task,
        description="lazy vs rich: centered output scale alpha (0 = the uncentered network)",
        version=2,
        grids={
            "book": grid(n=[32], d=[8], md_over_n=[4.0], alpha=[0.0, 0.1, 10.0],
                         data_seed=[0], init_seed=[0], steps=[4000]),
            "full": grid(n=[32], d=[8], md_over_n=[2.0, 4.0],
                         alpha=[0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0],
                         data_seed=[0, 1], init_seed=[0, 1], steps=[4000]),
        },
    ),
]

__all__ = ["SWEEPS"]
