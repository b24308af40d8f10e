"""Part III at scale: exact minimum distance in bounded memory, the exact stage-count
formulas, the first layer sized to the data, unseen points, and input validation."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from expreg_nb import data, threshold as th, to_numpy
from expreg_nb.seeding import make_rng


def _pair(dist, d=3, scale=1.0):
    t = th.separation_angle(dist)
    X = np.zeros((3, d))
    X[0, 0], X[1, 0], X[1, 1], X[2, 2] = 1.0, math.cos(t), math.sin(t), 1.0
    return scale * X


@pytest.mark.parametrize("dist", [1e-5, 1e-7, 1e-8, 1e-10])
def test_min_distance_exact_for_close_pairs(dist):
    # rules out: the Gram value (9.996e-8 at 1e-7, 0 at 1e-8) winning over the exact one
    assert math.isclose(data.min_distance(_pair(dist)), dist, rel_tol=1e-6)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 3.0])
def test_min_distance_scale_invariant(scale):
    # rules out: overflow of |x|^2 to inf (1e300) or underflow to 0 (1e-300)
    assert math.isclose(data.min_distance(_pair(1e-3, scale=scale)), 1e-3 * scale, rel_tol=1e-9)


def test_check_setting_accepts_pair_at_1e_7():
    # rules out: rejecting delta=1e-7 because the Gram form says 9.996e-8
    X, delta = th.check_setting(_pair(1e-7), delta=1e-7)
    assert delta == 1e-7  # rules out: a delta silently lowered to the Gram value


def test_min_distance_memory_is_linear_in_n():
    X = data.sphere(20_000, 4, seed=1)
    tracemalloc.start()
    value = data.min_distance(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # rules out: an n x n float64 array (3.2 GB here) or a (4n)^2 Gram matrix
    assert peak < 160 * 2**20
    sub = X[:2000]
    brute = np.sqrt(((sub[:, None, :] - sub[None, :, :]) ** 2).sum(-1) + np.eye(2000) * 9).min()
    # rules out: a chunked minimum that skips pairs across chunks
    assert math.isclose(data.min_distance(sub), brute, rel_tol=1e-12)
    assert value <= brute  # rules out: a minimum over a subset of the pairs of X


def test_build_at_ci_scale_and_formula():
    n = 16_384
    X = data.sphere(n, 16, seed=2)
    y = make_rng(0, "test", "big").integers(0, 2, n)
    net = th.build_memorizer(X, y, seed=0)
    assert np.array_equal(to_numpy(net.predict(X)), y)  # rules out: a wrong forward pass
    # rules out: any stage with more (or fewer) neurons, weights or layers than its lemma
    assert th.audit(net, X, seed=0).ok
    # measured 33,121 neurons (2.02 n): rules out a stage count that drifts by n or more
    assert 1.5 * n < net.n_neurons < 2.5 * n


def test_size_check_fails_for_one_neuron_per_point():
    X = data.separated_points(300, 6, 0.4, seed=3)
    net = th.build_memorizer(X, make_rng(1, "t").integers(0, 2, 300), seed=0)
    pad = th.SparseLayer(np.zeros((300, 1), np.int64), np.ones((300, 1), np.int64),
                         np.zeros(300, np.int64), "memorization")
    fat = th.ThresholdNetwork(net.layers[:-2] + (pad,) + net.layers[-2:], net.d,
                              net.label_slots, net.info)
    # rules out: a size check loose enough that n extra neurons pass it
    assert fat.stage_sizes() != th.stage_formula(net.info)
    assert not th.audit(fat, X, seed=0).ok
    assert th.audit(net, X, seed=0).ok  # rules out: an audit failing a good build


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_tree_cost_matches_recount(seed):
    rng = np.random.default_rng(seed)
    S = rng.integers(0, 2, size=(9, 37)).astype(bool)
    S[:, 0] = True
    layers, _ = th.parity_layers(S, "hashing")
    recount = (len(layers), sum(L.width for L in layers), sum(L.n_weights for L in layers))
    # rules out: a cost formula off by the copied values or by one level
    assert th.parity_tree_cost(S.sum(axis=1)) == recount


def test_smallest_first_layer_saves_neurons():
    X = data.great_circle(256)
    y = make_rng(2, "t").integers(0, 2, 256)
    union = th.build_memorizer(X, y, seed=0)
    small = th.build_memorizer(X, y, seed=0, first_layer="smallest")
    assert np.array_equal(to_numpy(small.predict(X)), y)  # rules out: an unseparated prefix
    # rules out: "smallest" returning the union-bound width
    assert small.info["k1"] == th.hyperplanes_to_separate(X, seed=0) < union.info["k1"]
    # rules out: a data-sized network off the lemmas' prescription for it
    assert th.audit(small, X, first_layer="smallest", seed=0).ok


# checks: lem-thr-unseen (default u on fresh points, output 1 only with a matched vote)
def test_unseen_points_get_the_defined_default():
    X = data.separated_points(400, 8, 0.3, seed=0)
    U = data.sphere(5000, 8, seed=9)
    zeros = np.zeros(400, np.int64)
    net0 = th.build_memorizer(X, zeros, seed=0)
    net1 = th.build_memorizer(X, zeros, seed=0, unmatched=1)
    # rules out: the all-zeros memorizer labeling fresh points 1 (85.7% before the fix)
    assert to_numpy(net0.predict(U)).sum() == 0
    # rules out: unmatched=1 having no effect
    assert to_numpy(net1.predict(U)).mean() > 0.5
    y = make_rng(3, "t").integers(0, 2, 400)
    net = th.build_memorizer(X, y, seed=0)
    pos = [i for i, L in enumerate(net.layers) if L.stage == "lifting"][0]
    lift = to_numpy(net.hidden(U, pos))
    W = to_numpy(net.layers[pos + 1].weight)
    idx = to_numpy(net.layers[pos + 1].index)
    group = lift[:, -net.info["r"]:].argmax(axis=1)
    label_slot = np.abs(W[group]) == 1
    matched = (lift[np.arange(len(U))[:, None], idx[group]] * label_slot).sum(axis=1)
    pred = to_numpy(net.predict(U))
    # rules out: an unmatched fresh point getting output 1 under unmatched=0
    assert matched.min() == 0 and pred[matched == 0].max() == 0


# checks: lem-thr-group-size (failure rate of L > 3 ceil(sqrt n) under the bound)
def test_group_size_lemma_bound_holds():
    n = 1024
    z = make_rng(0, "t", "z").choice(2**20, n, replace=False)
    Z = ((z[None, :] >> np.arange(20)[:, None]) & 1).astype(np.int8)
    b0, L_max = th.group_bits(n), th.max_group_size(n)
    over = 0
    draws = 300
    for t in range(draws):
        G = th.nonzero_f2_matrix(make_rng(t, "t", "g"), b0, 20)
        sizes = np.bincount(th.bits_value(th.f2_product(G, Z)), minlength=2**b0)
        over += int(sizes.max() > L_max)
    # rules out: a bound smaller than the measured failure rate
    assert over / draws <= th.group_size_failure_bound(n) < 0.25


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: th.separation_angle(3.0), ValueError, "delta"),
        (lambda: th.separation_angle(True), TypeError, "delta"),
        (lambda: th.union_bound_width(8, 0.3, 0), ValueError, "eta"),
        (lambda: th.union_bound_width(8.5, 0.3), TypeError, "n"),
        (lambda: th.union_bound_width(8, 0.0), ValueError, "delta"),
        (lambda: th.circle_separation_cdf(8, -1), ValueError, "k"),
        (lambda: th.circle_separation_cdf(8, 2.7), TypeError, "k"),
        (lambda: th.circle_separation_cdf(8, np.array([1.5])), TypeError, "k"),
        (lambda: th.circle_separation_mean(7), ValueError, "even"),
        (lambda: th.parity_layers(np.array([[0.3, 1.0]]), "hashing"), TypeError, "subsets"),
        (lambda: th.parity_layers(np.array([[2, 1]]), "hashing"), ValueError, "0 and 1"),
        (lambda: th.parity_layers(np.array([[1, 1]]), "nope"), ValueError, "stage"),
        (lambda: th.vershynin_width_log10(0.5, 1.0), ValueError, "eps"),
        (lambda: th.vershynin_width_log10(2.5), ValueError, "delta"),
        (lambda: th.vershynin_width_log10(1e-300), ValueError, "delta"),
        (lambda: th.hyperplane_budget(2.7, 0.3), TypeError, "n"),
        (lambda: th.hyperplane_budget(True, 0.3), TypeError, "n"),
        (lambda: th.gaussian_hyperplanes(3, 2, seed=0, attempt=1.5), TypeError, "attempt"),
        (lambda: th.distinct_rows(np.array([[0.5, 1.0]])), TypeError, "codes"),
        (lambda: th.parity_tree_cost([0, 2]), ValueError, "sizes"),
        (lambda: data.separated_points(10, 3, 2.5, seed=0), ValueError, "delta"),
        (lambda: data.great_circle_arc(4, 3.0), ValueError, "delta"),
        (lambda: th.build_memorizer(data.great_circle(4), [0, 1, 0, 1], unmatched=2),
         ValueError, "unmatched"),
        (lambda: th.build_memorizer(data.great_circle(4), [0, 1, 0, 1], first_layer="x"),
         ValueError, "first_layer"),
    ],
)
def test_validation(call, err, match):
    # rules out: NaN, inf, truncation or a raw library error instead of a named ValueError
    with pytest.raises(err, match=match):
        call()


def test_vershynin_small_and_edge_deltas():
    # rules out: the float rho = 1 - delta^2/2 rounding to 1 (endless loop, OverflowError)
    small = th.vershynin_width_log10(1e-8)
    assert math.isfinite(small) and 1e15 < small < 1e17
    # rules out: ZeroDivisionError at antipodal points; the width tends to 2
    assert th.vershynin_width_log10(2.0) == pytest.approx(math.log10(2.0))
    assert th.vershynin_width_log10(1.99) == pytest.approx(math.log10(2.0), abs=0.2)
