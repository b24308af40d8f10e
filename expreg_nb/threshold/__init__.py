"""Part III: memorization with deep threshold networks.

This subpackage builds, layer by layer, a threshold network that memorizes any 0/1
labeling of ``n`` points on the unit sphere S^{d-1} with pairwise distance at
least ``delta``.  The four stages are those the abstract and a third-party
transcription of Figure 1 of Rajput, Sreenivasan, Papailiopoulos and Karbasi
(2021, arXiv 2106.07724) describe; the details of each stage are **this book's
reconstruction** (the paper's body was not available to us).  One function per
stage, each the construction of one lemma of ``book/part3/construction.md``:

1. :func:`gaussian_stage`      c = 1[W1 x >= 0], W1 Gaussian (k1 x d);
2. :func:`compression_stage`   z = A c mod 2, A a random F2 matrix (m = O(log n) rows),
                               computed by trees of XOR gadgets (weights in {-1, 0, 1});
3. :func:`hashing_stage`       random F2-linear hashes of z: a group hash (b0 bits,
                               r = 2^b0 >= sqrt(n) groups) and B block hashes of b bits;
   :func:`lifting_stage`       one-hot units phi_{beta,v} = 1[h_beta(z) = v] and group
                               membership units mu_g = 1[gamma(z) = g];
4. :func:`memorization_stage`  one neuron per group, weights +-1 on private one-hot
                               coordinates (the only label-dependent weights) and M on
                               mu_g, then the output, the OR of the group neurons.

The activation is sigma(t) = 1[t >= 0].  All layers after the first have integer
weights and integer biases and are evaluated in exact integer arithmetic, one sparse
matrix product per layer (scipy.sparse on the CPU, cupyx.scipy.sparse on a GPU).
Layers after the first are stored in ELLPACK form: neuron ``j`` reads the previous
layer at ``index[j, :]`` with integer weights ``weight[j, :]`` (padding slots have
weight 0 and are not counted as weights).

Modules (everything public is re-exported here, so ``from expreg_nb import threshold as th;
th.build_memorizer(...)`` works):

network       ThresholdNetwork, DenseLayer, SparseLayer: the network and its exact forward pass
gadgets       XOR trees (parity_layers), F2 arithmetic, equality units
hyperplanes   Gaussian hyperplanes, codes, separation (Chapter 1), Vershynin's first layer
sizes         the stage parameters the lemmas prescribe, exact sizes (stage_formula, formula_info)
construction  the four stages and build_memorizer
baselines     Baum's one-hidden-layer construction, a Huang-style staircase, the counting lower bounds
compare       where each construction wins (crossovers), the stage laws, by the exact formula
size_audit    the size audit: each built network against the lemmas' prescription, by recount
"""
from __future__ import annotations

from . import baselines, compare, size_audit, construction, gadgets, hyperplanes, network, sizes
from .size_audit import *  # noqa: F401,F403
from .baselines import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .construction import *  # noqa: F401,F403
from .gadgets import *  # noqa: F401,F403
from .hyperplanes import *  # noqa: F401,F403
from .network import *  # noqa: F401,F403
from .sizes import *  # noqa: F401,F403

__all__ = sorted(set(baselines.__all__ + compare.__all__ + size_audit.__all__ + construction.__all__ + gadgets.__all__ + hyperplanes.__all__
                     + network.__all__ + sizes.__all__))
