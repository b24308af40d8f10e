"""Part II: shallow ReLU networks with both layers trained at two rates (Razborov 2022).

f(x) = (1/sqrt(m)) sum_r a_r relu(<w_r, x> / sqrt(d)), w_r ~ N(0, I_d), a_r ~ N(0, 1);
gradient descent with rate eta_w on W and eta_a on a.  Every public name of the modules
below is re-exported here, so ``from expreg_nb import relu2; relu2.gram_layers(...)`` works.

network      the model: forward pass, gradients, per-layer Grams H1, H2, their arc-cosine limits
kernels      what changes in the kernel along a run (spectrum on live inputs, alignment,
             eigenspace angles, dead inputs, movement) and the two-rate conservation law
fair         the network against its linearization, each at its own largest stable step
experiments  problems (random, worst-case, teacher labels), output-scaled models, sharpening
tables       per-cell summaries with bootstrap intervals over data seeds; the chapter's claims
sweeps       the named sweeps of Part II (results store)
"""
from __future__ import annotations

from . import experiments, fair, kernels, network, sweeps, tables
from .experiments import *  # noqa: F401,F403
from .fair import *  # noqa: F401,F403
from .kernels import *  # noqa: F401,F403
from .network import *  # noqa: F401,F403
from .sweeps import *  # noqa: F401,F403
from .tables import *  # noqa: F401,F403

__all__ = sorted(set(experiments.__all__ + fair.__all__ + kernels.__all__ + network.__all__ + sweeps.__all__
                     + tables.__all__))
