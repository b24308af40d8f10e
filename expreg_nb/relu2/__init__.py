"""Part II: shallow ReLU networks with both layers trained at two rates (Razborov 2022).

f(x) = (1/sqrt(m)) sum_r a_r relu(<w_r, x> / sqrt(d)), w_r ~ N(0, I_d), a_r ~ N(0, 1);
gradient descent with rate eta_w on W and eta_a on a.  Every public name of the modules
below is re-exported here, so ``from expreg_nb import relu2; relu2.gram_layers(...)`` works.

network      the model: forward pass, gradients, per-layer Grams H1, H2, their arc-cosine limits
experiments  the experiments of Chapter 7 (network against its linearization, phase diagram,
             output scale, sharpening)
sweeps       the named sweeps of Part II (results store)
"""
from __future__ import annotations

from . import experiments, network, sweeps
from .experiments import *  # noqa: F401,F403
from .network import *  # noqa: F401,F403
from .sweeps import *  # noqa: F401,F403

__all__ = sorted(set(experiments.__all__ + network.__all__ + sweeps.__all__))
