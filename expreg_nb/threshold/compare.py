"""Part III: where each construction wins, and the laws of the stage sizes, through the exact formulas.

* :func:`deep_neurons` is the neuron count of this book's memorizer at (n, delta, d) from
  :func:`stage_formula` (:func:`formula_info`'s parameters: the first F2 draws of a seed),
  with the largest group at its least value ``"least"`` (ceil(n / r)), a ``"typical"``
  value (:func:`typical_group_size`) or the accepted maximum ``"largest"`` (3 ceil(sqrt n)),
  and a first layer of the union-bound width or, with ``first_layer="smallest"``, of
  ceil(log2 n) units, the least any injective first layer can have (so the most favourable
  case for the deep network).
* :func:`crossover_n` finds, on a log grid of n, the first n where the deep network has
  fewer neurons than Baum's construction in general position (:func:`baum_neurons`), and
  the n from which it stays below; :func:`crossover_d` the largest d at which it wins at a
  given n (Baum's count falls like n / d, the deep count does not depend on d).
* :data:`STAGE_FORMS` are the predicted forms of the stages ({eq}`eq-thr-size-informative`),
  with l = log2(n^2 / eta): k1 ~ l / delta, compression ~ l^2 / delta, hashing ~ l^3,
  lifting ~ sqrt(n) l, memorization ~ sqrt(n); :func:`stage_table` evaluates both.
"""
from __future__ import annotations

import math

import numpy as np

from ..stats import loglog_slope
from ..validation import check_int, check_open_unit, check_sphere_distance
from .baselines import baum_neurons
from .hyperplanes import hyperplane_budget
from .network import STAGES
from .sizes import formula_info, group_bits, max_group_size, stage_formula

#: Where the largest group is put in the formula (see :func:`deep_neurons`).
GROUPS = ("least", "typical", "largest")


def typical_group_size(n) -> int:
    """ceil(mu + sqrt(2 mu ln r)), mu = n / r: the usual size of the largest of r groups of a
    uniform hash of n points (the Gaussian approximation of the maximum of r counts of mean mu)."""
    n = check_int(n, "n")
    r = 2 ** group_bits(n)
    mu = n / r
    return max(1, math.ceil(mu + math.sqrt(2 * mu * math.log(r)))) if r > 1 else n


def _group_size(n, group):
    if group == "least":
        return None
    if group == "typical":
        return min(typical_group_size(n), max_group_size(n))
    if group == "largest":
        return max_group_size(n)
    raise ValueError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")


def deep_sizes(n, delta, d, *, eta=0.01, group="typical", first_layer="union_bound", seed=0):
    """The exact per-stage sizes (:func:`stage_formula`) of the memorizer at (n, delta, d)."""
    n = check_int(n, "n", minimum=2)
    if first_layer == "union_bound":
        k1 = hyperplane_budget(n, delta, eta)
    elif first_layer == "smallest":
        k1 = max(1, math.ceil(math.log2(n)))
    else:
        raise ValueError(f"first_layer must be 'union_bound' or 'smallest', got {first_layer!r}")
    info = formula_info(n, delta, d, eta=eta, seed=seed, group_size=_group_size(n, group), k1=k1)
    return stage_formula(info)


def deep_neurons(n, delta, d, **kwargs) -> int:
    """Neurons of the memorizer at (n, delta, d) by the exact formula (see the module text)."""
    return sum(row["neurons"] for row in deep_sizes(n, delta, d, **kwargs).values())


def crossover_n(d, delta, *, eta=0.01, group="typical", first_layer="union_bound", seed=0,
                n_min=128, n_max=10**9, per_decade=60):
    """``(n_enter, n_stay)`` on a log grid of n in [n_min, n_max]: the first n where the deep
    network has fewer neurons than Baum's 2 ceil(floor(n/2) / d) + 1, and the first n from which
    it stays below up to n_max (None where there is none)."""
    d = check_int(d, "d", minimum=2)
    delta = check_sphere_distance(delta)
    eta = check_open_unit(eta, "eta")
    n_min, n_max, per_decade = check_int(n_min, "n_min", minimum=2), check_int(n_max, "n_max"), \
        check_int(per_decade, "per_decade")
    ns = np.unique(np.logspace(math.log10(n_min), math.log10(n_max),
                               int(per_decade * math.log10(n_max / n_min)) + 1).astype(np.int64))
    wins = np.array([deep_neurons(int(n), delta, d, eta=eta, group=group, first_layer=first_layer,
                                  seed=seed) < baum_neurons(int(n), d) for n in ns])
    enter = int(ns[np.argmax(wins)]) if wins.any() else None
    losing = np.flatnonzero(~wins)
    stay = None if wins[-1] == 0 else int(ns[losing[-1] + 1]) if losing.size else int(ns[0])
    return enter, stay


def crossover_d(n, delta, *, eta=0.01, group="typical", first_layer="union_bound", seed=0):
    """The largest d at which the deep network has fewer neurons than Baum at n points (0 if none)."""
    n = check_int(n, "n", minimum=2)
    N = deep_neurons(n, delta, 2, eta=eta, group=group, first_layer=first_layer, seed=seed)
    if baum_neurons(n, 2) <= N:
        return 0
    lo, hi = 2, max(2, n)  # Baum(n, lo) > N; Baum(n, hi) = 3 <= N
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if baum_neurons(n, mid) > N else (lo, mid)
    return lo


def _ell(n, eta):
    return math.log2(n * n / eta)


#: The predicted form of each stage's neuron count, f(n, delta, eta), l = log2(n^2 / eta).
STAGE_FORMS = {
    "gaussian": lambda n, delta, eta: _ell(n, eta) / delta,
    "compression": lambda n, delta, eta: _ell(n, eta) ** 2 / delta,
    "hashing": lambda n, delta, eta: _ell(n, eta) ** 3,
    "lifting": lambda n, delta, eta: math.sqrt(n) * _ell(n, eta),
    "memorization": lambda n, delta, eta: math.sqrt(n),
}


def stage_table(ns, delta, d, *, eta=0.01, group="typical", seed=0):
    """A DataFrame, one row per n: each stage's neurons by the exact formula and its predicted
    form (columns ``STAGE`` and ``STAGE_form``), and the total ``neurons``."""
    import pandas as pd

    rows = []
    for n in ns:
        sizes = deep_sizes(int(n), delta, d, eta=eta, group=group, seed=seed)
        row = {"n": int(n), "neurons": sum(s["neurons"] for s in sizes.values())}
        for stage in STAGES:
            row[stage] = sizes[stage]["neurons"]
            if stage in STAGE_FORMS:
                row[f"{stage}_form"] = STAGE_FORMS[stage](int(n), delta, eta)
        rows.append(row)
    return pd.DataFrame(rows)


def law_slopes(table, column=None):
    """The least-squares slope of log(count) on log(predicted form) for each stage of
    :func:`stage_table` (1 when the stage follows its form); with ``column`` (an array of
    counts, e.g. the neurons plus n) the slope of that column against the lifting form."""
    if column is not None:
        return loglog_slope(table["lifting_form"], np.asarray(column, dtype=float))
    return {s: loglog_slope(table[f"{s}_form"], table[s]) for s in STAGE_FORMS}


__all__ = ["GROUPS", "STAGE_FORMS", "crossover_d", "crossover_n", "deep_neurons", "deep_sizes", "law_slopes",
           "stage_table", "typical_group_size"]
