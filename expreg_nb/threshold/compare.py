"""Part III: where each construction wins, and the laws of the stage sizes, through the exact formulas.

* :func:`deep_neurons` is the neuron count of this book's memorizer at (n, delta, d) from
  :func:`stage_formula` (:func:`formula_info`'s parameters: the first F2 draws of a seed),
  with the largest group at its least value ``"least"`` (ceil(n / r)), a ``"typical"``
  value (:func:`typical_group_size`) or the accepted maximum ``"largest"`` (3 ceil(sqrt n)),
  and a first layer of the union-bound width or, with ``first_layer="smallest"``, of
  ceil(log2 n) units, the least any injective first layer can have (so the most favourable
  case for the deep network).
* :func:`sign_changes` lists every n where the winner changes (the count has a sawtooth: T and
  r double at powers of two), each located exactly by bisection; :func:`crossover_n` finds from
  them the first n where the deep network has
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
from ..seeding import check_seed
from ..validation import as_float_array, check_choice, check_int, check_int_sequence, check_open_unit, check_sphere_distance
from .baselines import baum_neurons
from .hyperplanes import hyperplane_budget
from .network import STAGES
from .sizes import (block_bits, block_count, compression_bits, expected_info, formula_info, group_bits,
                    max_group_size, stage_formula)

#: Where the largest group is put in the formula (see :func:`deep_neurons`).
GROUPS = ("least", "typical", "largest")

#: First layers of the formula: the union-bound width, or the least injective width ceil(log2 n).
FIRST_LAYERS = ("union_bound", "smallest")

#: Largest n of the formulas here (:func:`formula_info` draws F2 matrices exact in float64 below 2^53).
MAX_N = 2**53

#: Most points of the log grid of :func:`crossover_n` (each costs one evaluation of the formula).
MAX_GRID = 10**5


def _check_formula_args(delta, d, eta, group, first_layer, seed):
    """The arguments every formula of this module takes, checked (at the root, so errors name them)."""
    return (check_sphere_distance(delta), check_int(d, "d", minimum=2), check_open_unit(eta, "eta"),
            check_choice(group, "group", GROUPS), check_choice(first_layer, "first_layer", FIRST_LAYERS),
            check_seed(seed))


def typical_group_size(n) -> int:
    """ceil(mu + sqrt(2 mu ln r)), mu = n / r: the usual size of the largest of r groups of a
    uniform hash of n points (the Gaussian approximation of the maximum of r counts of mean mu)."""
    n = check_int(n, "n", maximum=MAX_N)
    r = 2 ** group_bits(n)
    mu = n / r
    return max(1, math.ceil(mu + math.sqrt(2 * mu * math.log(r)))) if r > 1 else n


def _group_size(n, group):
    if group == "least":
        return None
    if group == "typical":
        return min(typical_group_size(n), max_group_size(n))
    return max_group_size(n)  # "largest"


def deep_sizes(n, delta, d, *, eta=0.01, group="typical", first_layer="union_bound", seed=0):
    """The exact per-stage sizes (:func:`stage_formula`) of the memorizer at (n, delta, d);
    ``n`` in [2, 2^53]."""
    n = check_int(n, "n", minimum=2, maximum=MAX_N)
    return _deep_sizes(n, *_check_formula_args(delta, d, eta, group, first_layer, seed))


def _deep_sizes(n, delta, d, eta, group, first_layer, seed):
    if first_layer == "union_bound":
        k1 = hyperplane_budget(n, delta, eta)
    else:  # "smallest"
        k1 = max(1, math.ceil(math.log2(n)))
    info = formula_info(n, delta, d, eta=eta, seed=seed, group_size=_group_size(n, group), k1=k1)
    return stage_formula(info)


def _deep_neurons(n, *args):
    return sum(row["neurons"] for row in _deep_sizes(n, *args).values())


def deep_neurons(n, delta, d, **kwargs) -> int:
    """Neurons of the memorizer at (n, delta, d) by the exact formula (see the module text)."""
    return sum(row["neurons"] for row in deep_sizes(n, delta, d, **kwargs).values())


def _wins(n, d, args):
    return _deep_neurons(int(n), *args) < baum_neurons(int(n), d)


def _sign_changes(d, args, n_min, n_max, per_decade):
    """(ns, wins on the grid, [(n, wins from n on)] at each change, located exactly by bisection)."""
    points = int(per_decade * math.log10(n_max / n_min)) + 1
    if points > MAX_GRID:
        raise ValueError(f"per_decade={per_decade} gives a grid of {points} values of n between n_min and "
                         f"n_max, more than {MAX_GRID}; take fewer per decade")
    ns = np.unique(np.r_[np.logspace(math.log10(n_min), math.log10(n_max), points).astype(np.int64), n_max])
    wins = np.array([_wins(n, d, args) for n in ns])
    changes = []
    for i in np.flatnonzero(wins[1:] != wins[:-1]):
        lo, hi = int(ns[i]), int(ns[i + 1])  # state(lo) != state(hi): the first n of hi's state
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _wins(mid, d, args) == wins[i] else (lo, mid)
        changes.append((hi, bool(wins[i + 1])))
    return ns, wins, changes


def sign_changes(d, delta, *, eta=0.01, group="typical", first_layer="union_bound", seed=0,
                 n_min=128, n_max=10**9, per_decade=60):
    """Every change of the winner between the deep network and Baum's 2 ceil(floor(n/2) / d) + 1
    neurons on a log grid of n in [n_min, n_max], each located exactly (bisection between its grid
    neighbours): a DataFrame with one row per change, ``n`` (the first n of the new state),
    ``deep_wins`` (from n on), ``deep`` and ``baum`` (the two counts at n).  Changes closer
    together than the grid's step can be missed: take ``per_decade`` large."""
    import pandas as pd

    args = _check_formula_args(delta, d, eta, group, first_layer, seed)
    n_min = check_int(n_min, "n_min", minimum=2, maximum=MAX_N)
    n_max = check_int(n_max, "n_max", minimum=n_min, maximum=MAX_N)
    per_decade = check_int(per_decade, "per_decade")
    _, _, changes = _sign_changes(args[1], args, n_min, n_max, per_decade)
    return pd.DataFrame({"n": [c[0] for c in changes], "deep_wins": [c[1] for c in changes],
                         "deep": [_deep_neurons(c[0], *args) for c in changes],
                         "baum": [baum_neurons(c[0], args[1]) for c in changes]},
                        columns=["n", "deep_wins", "deep", "baum"])


def crossover_n(d, delta, *, eta=0.01, group="typical", first_layer="union_bound", seed=0,
                n_min=128, n_max=10**9, per_decade=60):
    """``(n_enter, n_stay)`` for n in [n_min, n_max]: the first n where the deep network has fewer
    neurons than Baum's 2 ceil(floor(n/2) / d) + 1, and the first n from which it stays below up
    to n_max (None where there is none); both exact at the changes :func:`sign_changes` finds
    on a log grid of ``per_decade`` points per decade."""
    args = _check_formula_args(delta, d, eta, group, first_layer, seed)
    d = args[1]
    n_min = check_int(n_min, "n_min", minimum=2, maximum=MAX_N)
    n_max = check_int(n_max, "n_max", minimum=n_min, maximum=MAX_N)
    per_decade = check_int(per_decade, "per_decade")
    ns, wins, changes = _sign_changes(d, args, n_min, n_max, per_decade)
    if not wins.any():
        return None, None
    enter = int(ns[0]) if wins[0] else next(n for n, w in changes if w)
    if not wins[-1]:
        return enter, None
    ups = [n for n, w in changes if w]
    return enter, ups[-1] if ups else int(ns[0])


def crossover_d(n, delta, *, eta=0.01, group="typical", first_layer="union_bound", seed=0):
    """The largest d at which the deep network has fewer neurons than Baum at n points (0 if none)."""
    n = check_int(n, "n", minimum=2, maximum=MAX_N)
    delta, _, eta, group, first_layer, seed = _check_formula_args(delta, 2, eta, group, first_layer, seed)
    N = _deep_neurons(n, delta, 2, eta, group, first_layer, seed)
    if baum_neurons(n, 2) <= N:
        return 0
    lo, hi = 2, max(2, n)  # Baum(n, lo) > N; Baum(n, hi) = 3 <= N
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if baum_neurons(n, mid) > N else (lo, mid)
    return lo


#: Most extra group bits :func:`group_bits_table` takes (r = 2^(b0 + extra) groups).
MAX_EXTRA_BITS = 16


def _typical_for(n, r):
    mu = n / r
    return max(1, math.ceil(mu + math.sqrt(2 * mu * math.log(r)))) if r > 1 else n


def _neurons_with_bits(n, delta, d, eta, j):
    """Neurons of the formula with r = 2^(group_bits(n) + j) groups, the typical largest group for
    that r and every F2 row at its expected size (:func:`expected_info`)."""
    info = expected_info(n, delta, d, eta=eta)
    b0 = info["b0"] + j
    L = min(_typical_for(n, 2**b0), n)
    b = block_bits(L)
    info.update(b0=b0, b=b, max_group=L,
                hash_rows=np.full(b0 + info["B"] * b, -(-info["m"] // 2), np.int64))
    return sum(row["neurons"] for row in stage_formula(info).values())


def group_bits_table(n, delta, d, *, eta=0.01, extra=4):
    """The memorizer's neuron count at (n, delta, d) with more groups than the construction takes:
    r = 2^(b0 + j), b0 = :func:`group_bits` (the fewest the group-size lemma allows, r >= sqrt n),
    for j = 0..``extra``.  More groups keep every lemma's hypothesis (the groups only get smaller,
    T = 2^ceil(log2 2L) with L the typical largest group for r) and trade B T lifting units for r
    group units.  Every F2 row at its expected size (:func:`expected_info`), so the rows compare
    like with like.  A DataFrame: j, b0, r, L, neurons, baum (Baum's count on the same n, d)."""
    import pandas as pd

    n = check_int(n, "n", minimum=2, maximum=MAX_N)
    delta, d, eta = check_sphere_distance(delta), check_int(d, "d", minimum=2), check_open_unit(eta, "eta")
    extra = check_int(extra, "extra", minimum=0, maximum=MAX_EXTRA_BITS)
    b0 = group_bits(n)
    rows = [(j, b0 + j, 2 ** (b0 + j), min(_typical_for(n, 2 ** (b0 + j)), n),
             _neurons_with_bits(n, delta, d, eta, j), baum_neurons(n, d)) for j in range(extra + 1)]
    return pd.DataFrame(rows, columns=["j", "b0", "r", "L", "neurons", "baum"])


def best_groups_sign_changes(d, delta, *, eta=0.01, extra=4, n_min=128, n_max=10**9, per_decade=60):
    """As :func:`sign_changes`, for the deep network at its own best number of groups: the least
    count of :func:`group_bits_table` over j = 0..``extra`` at every n, against Baum.  One row per
    change of the winner (``n`` the first n of the new state, ``deep_wins`` from n on, ``deep``,
    ``baum``), each located exactly by bisection between grid neighbours."""
    import pandas as pd

    delta, d, eta = check_sphere_distance(delta), check_int(d, "d", minimum=2), check_open_unit(eta, "eta")
    extra = check_int(extra, "extra", minimum=0, maximum=MAX_EXTRA_BITS)
    n_min = check_int(n_min, "n_min", minimum=2, maximum=MAX_N)
    n_max = check_int(n_max, "n_max", minimum=n_min, maximum=MAX_N)
    per_decade = check_int(per_decade, "per_decade")
    points = int(per_decade * math.log10(n_max / n_min)) + 1
    if points > MAX_GRID:
        raise ValueError(f"per_decade={per_decade} gives a grid of {points} values of n between n_min and "
                         f"n_max, more than {MAX_GRID}; take fewer per decade")

    def best(n):
        return min(_neurons_with_bits(int(n), delta, d, eta, j) for j in range(extra + 1))

    def wins(n):
        return best(n) < baum_neurons(int(n), d)

    ns = np.unique(np.r_[np.logspace(math.log10(n_min), math.log10(n_max), points).astype(np.int64), n_max])
    state = np.array([wins(n) for n in ns])
    out = []
    for i in np.flatnonzero(state[1:] != state[:-1]):
        lo, hi = int(ns[i]), int(ns[i + 1])
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if wins(mid) == state[i] else (lo, mid)
        out.append((hi, bool(state[i + 1]), best(hi), baum_neurons(hi, d)))
    return pd.DataFrame(out, columns=["n", "deep_wins", "deep", "baum"])


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

    ns = check_int_sequence(ns, "ns", minimum=2, maximum=MAX_N)
    args = _check_formula_args(delta, d, eta, group, "union_bound", seed)
    delta, eta = args[0], args[2]
    rows = []
    for n in ns:
        sizes = _deep_sizes(int(n), *args)
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
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame (from stage_table), got {type(table).__name__}")
    missing = [c for s in STAGE_FORMS for c in (s, f"{s}_form") if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing} (a table from stage_table has them)")
    if column is not None:
        column = as_float_array(column, "column", ndim=1)
        if column.shape[0] != len(table):
            raise ValueError(f"column has {column.shape[0]} entries but table has {len(table)} rows; they must match")
        return loglog_slope(table["lifting_form"], column)
    return {s: loglog_slope(table[f"{s}_form"], table[s]) for s in STAGE_FORMS}


__all__ = ["FIRST_LAYERS", "GROUPS", "MAX_EXTRA_BITS", "MAX_GRID", "MAX_N", "STAGE_FORMS", "best_groups_sign_changes",
           "crossover_d", "crossover_n", "deep_neurons", "deep_sizes", "group_bits_table", "law_slopes",
           "sign_changes", "stage_table", "typical_group_size"]
