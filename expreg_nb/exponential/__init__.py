"""Part I: over-parameterized exponential regression (Gao, Mahadevan, Song 2023).

F(W, x) = (1/sqrt(m)) sum_r a_r exp(<w_r, x>) (``normalized=False``: the abstract's form
without 1/sqrt(m)), a_r fixed random signs, w_r(0) ~ N(0, I_d).  Every public name of the
modules below is re-exported here, so ``from expreg_nb import exponential as ex;
ex.gram(W, X)`` works.

network      the model: forward pass, gradients, Gram matrices H(W) and H*, the trainer wrapper
bounds       this book's bound formulas (truncation, concentration, perturbation, the theorem's width)
reference    reference implementations the GEMM code is checked against (literal Jacobian, Gram,
             Hessian-vector product), Du et al.'s ReLU network, the initial-residual formulas
experiments  the experiments of Chapter 4 (rates, step-size thresholds, movement, lazy training)
theorem      the complete theorem's widths and T, as fixed points in m
widthlaw     the smallest width that reaches eps, free of a step budget (search, stop rules, controls)
widthfit     the width law's exponents with cluster-bootstrap intervals
sweeps       the named sweeps of Part I (results store)
"""
from __future__ import annotations

from . import bounds, experiments, network, reference, sweeps, theorem, widthfit, widthlaw
from .bounds import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .network import *  # noqa: F401,F403
from .reference import *  # noqa: F401,F403
from .sweeps import *  # noqa: F401,F403
from .theorem import *  # noqa: F401,F403
from .widthfit import *  # noqa: F401,F403
from .widthlaw import *  # noqa: F401,F403

__all__ = sorted(set(bounds.__all__ + experiments.__all__ + network.__all__ + reference.__all__
                     + sweeps.__all__ + theorem.__all__ + widthfit.__all__ + widthlaw.__all__))
