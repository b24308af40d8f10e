"""Part III: sweep tasks and the named sweeps (:mod:`expreg_nb.sweep`), listed under the
``expreg_nb.sweeps`` entry point as ``threshold``.

Tasks (registered ids):

``thr-past-crossover``  the memorizer built, verified and used to predict on n points of the
                        norm-8 shell of Z^16 (delta = 1/2 exactly, :func:`expreg_nb.data.shell_points`),
                        beside Baum's count on the same labels; peak memory and time per stage
``thr-crossover``       the crossover in n with Baum by the exact formula (:func:`crossover_n`)
``thr-map``             the deep memorizer, Baum and the Huang-style staircase built on the same data
``thr-audit``           the size audit of one build, optionally with an inflated builder
"""
from __future__ import annotations

import math
import resource
import sys
import time

import numpy as np

from .. import data, sweep
from ..backend import to_numpy
from ..seeding import check_seed, make_rng
from ..validation import check_alloc, check_choice, check_int, check_real
from .baselines import GeneralPositionError, baum_neurons, build_baum, build_huang
from .compare import crossover_n, deep_neurons, typical_group_size
from .construction import build_memorizer
from .size_audit import INFLATIONS, audit, inflated
from .sizes import check_buildable, max_group_size

#: Data kinds of ``thr-map``: random delta-separated points, the circle, orthogonal circles,
#: the simplex (every pair at exactly delta), clusters of close points.
MAP_KINDS = ("random", "circle", "orthogonal", "simplex", "clusters")


def reset_peak_memory():
    """Start a new peak-RSS window (Linux: /proc/self/clear_refs), so that the peak measured
    after it is that of the build (with the data resident), not of earlier work."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_memory_gib():
    """Peak resident memory of this process (GiB) since :func:`reset_peak_memory` (VmHWM), or ever."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


#: Above this many points :func:`past_crossover_task` reports its times and peak memory on stderr.
LOUD_N = 2**20


@sweep.task("thr-past-crossover")
def past_crossover_task(n, seed=0, eta=0.01, d=16, norm=8, probes=20000, max_gib=12.0):
    """Build the memorizer on ``n`` shell points (d = 16, norm 8: delta = 1/2 exactly) with random
    labels, verify it (the builder's own pass and a second ``predict``), audit its sizes, and
    predict on ``probes`` points moved by 1e-6; compare with Baum on the same labels.

    Only deterministic values are returned (a stored row is rerun and compared column by
    column, :mod:`expreg_nb.recheck`): the predicted memory ``predicted_gib``
    (:func:`build_bytes`) and ``within_limit``, whether the measured peak resident memory
    stayed below ``max_gib`` (the task raises MemoryError otherwise).  The measured times and
    peak go to stderr for n >= :data:`LOUD_N` (the benchmark record, benchmarks/README.md).
    """
    n, seed = check_int(n, "n"), check_seed(seed)
    probes = check_int(probes, "probes")
    max_gib = check_real(max_gib, "max_gib", positive=True)
    t0 = time.perf_counter()
    X = data.shell_points(n, seed=seed, d=d, norm=norm)
    delta = math.sqrt(2 / norm)
    y = make_rng(seed, "part3", "past-crossover").integers(0, 2, n)
    predicted = check_buildable(n, delta, d, eta=eta, limit=int(max_gib * 2**30)) / 2**30
    reset_peak_memory()
    t = time.perf_counter()
    net = build_memorizer(X, y, seed=seed, delta=delta, eta=eta, verify_delta=False)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    memorized = bool(np.array_equal(to_numpy(net.predict(X)), y))
    predict_s = time.perf_counter() - t
    t = time.perf_counter()
    report = audit(net, X, delta=delta, eta=eta, seed=seed)
    audit_s = time.perf_counter() - t
    m = min(probes, n)
    near = data.sphere(m, d, seed=seed + 1) * 1e-6 + X[:m]  # tiny moves: labels must stay
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    kept = float(np.mean(to_numpy(net.predict(near)) == y[:m]))
    peak = peak_memory_gib()
    if n >= LOUD_N:
        sec = net.info["seconds"]
        print(f"thr-past-crossover n={n}: build {build_s:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in sec.items())}), "
              f"predict {predict_s:.1f} s, audit {audit_s:.1f} s, total {time.perf_counter() - t0:.1f} s; "
              f"peak resident memory {peak:.2f} GiB (predicted {predicted:.2f} GiB)", file=sys.stderr, flush=True)
    if peak > max_gib:
        raise MemoryError(f"the build of n={n} points took {peak:.2f} GiB, more than max_gib={max_gib}")
    n_min = int(min(y.sum(), n - y.sum()))
    return {"delta": delta, "neurons": net.n_neurons, "weights": net.n_weights, "depth": net.depth,
            "k1": net.info["k1"], "largest_group": net.info["max_group"], "T": net.info["T"],
            "baum_neurons": baum_neurons(n, d, n_min), "memorized": memorized, "audit_ok": report.ok,
            "formula_typical": deep_neurons(n, delta, d, eta=eta, group="typical", seed=seed),
            "typical_group": typical_group_size(n), "max_group_accepted": max_group_size(n),
            "kept_at_1e-6": kept, "predicted_gib": round(predicted, 6), "within_limit": True}


@sweep.task("thr-crossover")
def crossover_task(d, delta, eta=0.01, group="typical", first_layer="union_bound", seed=0, per_decade=60):
    """The first n at which the deep network has fewer neurons than Baum, and the n from which it
    stays below (exact formula, up to 10^9, changes searched on ``per_decade`` points per decade)."""
    enter, stay = crossover_n(d, delta, eta=eta, group=group, first_layer=first_layer, seed=seed,
                              per_decade=per_decade)
    return {"n_enter": math.nan if enter is None else float(enter),
            "n_stay": math.nan if stay is None else float(stay)}


def map_data(kind, n, d, data_seed):
    """The points of ``thr-map``: (X, delta)."""
    kind = check_choice(kind, "kind", MAP_KINDS)
    n, d = check_int(n, "n", minimum=2), check_int(d, "d", minimum=2)
    data_seed = check_seed(data_seed, "data_seed")
    check_alloc(what="the points", n=n, d=d)
    if kind == "random":
        delta = 0.5 if d > 2 else None
        X = data.separated_points(n, d, delta, seed=data_seed) if d > 2 else data.great_circle(n)
    elif kind == "circle":
        X = data.great_circle(n, d)
    elif kind == "orthogonal":
        X = data.orthogonal_circles(max(2, n // (d // 2)), d // 2)
    elif kind == "simplex":
        X = data.simplex_points(n, 0.5, max(n, d))
    else:  # "clusters"
        rng = make_rng(data_seed, "part3", "clusters")
        centres = to_numpy(data.separated_points(max(1, n // 8), d, 0.5, seed=data_seed))  # host: noise added
        X = np.repeat(centres, 8, axis=0)[:n] + 0.02 * rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, data.min_distance(X)


@sweep.task("thr-map")
def map_task(kind, n, d, data_seed=0, seed=0):
    """The deep memorizer (union-bound first layer), Baum and the Huang-style staircase built on the
    same data and labels; neurons, weights and depth of each (NaN where Baum cannot be built)."""
    X, delta = map_data(kind, n, d, data_seed)
    seed = check_seed(seed)
    y = make_rng(data_seed, "part3", "map", kind).integers(0, 2, X.shape[0])
    out = {"points": X.shape[0], "dim": X.shape[1], "delta": delta}
    delta = min(delta, 2.0)  # the data's separation, measured by map_data (not the builder's record)
    deep = build_memorizer(X, y, seed=seed, delta=delta)
    out.update(deep_neurons=deep.n_neurons, deep_weights=deep.n_weights, deep_depth=deep.depth,
               deep_ok=bool(np.array_equal(to_numpy(deep.predict(X)), y)),
               deep_audit_ok=audit(deep, X, delta=delta, seed=seed).ok)
    try:
        baum = build_baum(X, y, seed=seed)
        out.update(baum_neurons=baum.n_neurons, baum_weights=baum.n_weights, baum_splits=baum.info["splits"],
                   baum_ok=bool(np.array_equal(to_numpy(baum.predict(X)), y)))
    except GeneralPositionError:
        out.update(baum_neurons=math.nan, baum_weights=math.nan, baum_splits=math.nan, baum_ok=False)
    huang = build_huang(X, y, seed=seed)
    out.update(huang_neurons=huang.n_neurons, huang_weights=huang.n_weights,
               huang_ok=bool(np.array_equal(to_numpy(huang.predict(X)), y)))
    return out


@sweep.task("thr-audit")
def audit_task(n, d, delta, data_seed=0, seed=0, eta=0.01, inflate="none", first_layer="union_bound",
               labelings=1):
    """Build on delta-separated points (with the builder inflated in stage ``inflate``, or not) and
    audit: ``audit_ok``, the neurons, and whether it memorizes its labels and ``labelings - 1``
    further random labelings by relabeling only (``memorized``)."""
    data_seed = check_seed(data_seed, "data_seed")
    inflate = check_choice(inflate, "inflate", ("none",) + tuple(INFLATIONS))
    labelings = check_int(labelings, "labelings")
    X = data.separated_points(n, d, delta, seed=data_seed)
    y = make_rng(data_seed, "part3", "audit").integers(0, 2, n)
    kw = dict(seed=seed, delta=delta, eta=eta, first_layer=first_layer)
    if inflate == "none":
        net = build_memorizer(X, y, **kw)
    else:
        with inflated(inflate):
            net = build_memorizer(X, y, **kw)
    rep = audit(net, X, delta=delta, eta=eta, first_layer=first_layer, seed=seed)
    ok = bool(np.array_equal(to_numpy(net.predict(X)), y))
    for t in range(1, labelings):
        y_t = make_rng(data_seed, "part3", "audit", t).integers(0, 2, n)
        ok &= bool(np.array_equal(to_numpy(net.with_labels(y_t).predict(X)), y_t))
    return {"audit_ok": rep.ok, "neurons": net.n_neurons, "memorized": ok}


#: Named sweeps of Part III (see :mod:`expreg_nb.sweep`).
SWEEPS = [
    sweep.Sweep(
        name="thr-past-crossover",
        fn=past_crossover_task,
        description="the memorizer built, verified, audited and used to predict on n points of the norm-8 "
                    "shell of Z^16 (delta = 1/2), beside Baum's 2 ceil(n_min/16) + 1 neurons on the same labels",
        # the small rows are what a recheck reruns (the cheapest rows that show every axis);
        # the last row is the build past the first crossover (in a window of the sawtooth)
        grids={"book": sweep.grid(n=[256, 2**12], seed=[0, 1]),
               "full": sweep.grid(n=[256, 512, 1024, 2048], seed=[0, 1]) + [{"n": 3_500_000, "seed": 0}]},
    ),
]

__all__ = ["MAP_KINDS", "SWEEPS", "audit_task", "crossover_task", "map_data", "map_task", "past_crossover_task",
           "peak_memory_gib", "reset_peak_memory"]
