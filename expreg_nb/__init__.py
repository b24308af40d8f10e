"""expreg_nb: the helper package of the book *Why over-parameterized networks train and memorize*.

Submodules
----------
backend      NumPy/CuPy selection (``EXPREG_BACKEND``), ``to_numpy``
scale        problem sizes (``EXPREG_SCALE``)
seeding      reproducible host-side random streams
training     models as pure functions, the one trainer (train, TrainResult), linearize
stability    one step rule for every model: the largest stable step of a grid, stalls,
             closed-form runs of constant kernels, a matrix-free lambda_max monitor
sweep        grids of runs on any executor (serial, processes, Dask), named sweeps, results store
recheck      stored results rerun on load: the seeded sample rule, the column comparison
provenance   the git state and package versions recorded with a stored result
robustness   a headline claim re-evaluated under named perturbations of the protocol
stats        Wilson intervals, log-log slopes, the cluster (group) bootstrap
data         synthetic data sets
chunks       feature blocks within a memory budget (the kernels' streaming)
validation   the input checks every public function shares
landing      the landing page's panels

One subpackage per Part, named after its model (each ``__init__`` re-exports its public names):

exponential/  Part I, exponential regression: network, bounds, reference, experiments, sweeps
relu2/        Part II, two-layer ReLU network with two learning rates: network, kernels, fair,
              experiments, tables, sweeps
threshold/    Part III, deep threshold memorizer: network, gadgets, hyperplanes, sizes,
              construction, baselines
"""
from __future__ import annotations

from .backend import backend_name, get_xp, to_device, to_numpy
from .scale import current_scale, pick
from .training import DivergenceError, History

__version__ = "0.1.0"


def describe() -> str:
    """One line with the backend and scale a chapter runs with."""
    from . import backend

    return f"expreg_nb {__version__} | backend: {backend.describe()} | EXPREG_SCALE={current_scale()}"


__all__ = [
    "DivergenceError",
    "History",
    "backend_name",
    "current_scale",
    "describe",
    "get_xp",
    "pick",
    "to_device",
    "to_numpy",
    "__version__",
]
