"""Tests of expreg_nb.threshold: the builder on adversarial inputs, the gadgets, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from expreg_nb import data, threshold as th, to_device, to_numpy
from expreg_nb.seeding import make_rng


def _labels(n, seed):
    return make_rng(seed, "test", "labels").integers(0, 2, n)


def _memorizes(net, X, y):
    return np.array_equal(to_numpy(net.predict(X)), np.asarray(y))


def _check_integer_layers(net):
    # rules out: a first layer stored as integers
    assert np.issubdtype(to_numpy(net.layers[0].weight).dtype, np.floating)
    for layer in net.layers[1:]:
        # rules out: a float weight after the first layer
        assert np.issubdtype(to_numpy(layer.weight).dtype, np.integer)
        # rules out: a float bias after the first layer
        assert np.issubdtype(to_numpy(layer.bias).dtype, np.integer)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_n(xp, n):
    X = data.sphere(n, 3, seed=n, xp=xp)
    for y in ([0] * n, [1] * n, _labels(n, 0)):
        net = th.build_memorizer(X, np.asarray(y), seed=0)
        # rules out: a builder that fails tiny n
        assert _memorizes(net, X, y)
        # rules out: predict leaving the backend of X
        assert type(net.predict(X)) is type(X)


# checks: lem-thr-memorization (every labeling of the circle, one first layer)
def test_d2_circle_all_labelings(xp):
    X = data.great_circle(8, xp=xp)
    net = th.build_memorizer(X, np.zeros(8, int), seed=1)
    _check_integer_layers(net)
    for code in range(2**8):
        y = (code >> np.arange(8)) & 1
        # rules out: a labeling of the circle that relabeling cannot memorize
        assert _memorizes(net.with_labels(y), X, y)


def test_pair_at_exactly_delta(xp):
    delta = 1e-3
    theta = th.separation_angle(delta)
    X = np.array([[1.0, 0.0, 0.0], [np.cos(theta), np.sin(theta), 0.0], [0.0, 0.0, 1.0]])
    # rules out: the Gram value (1e-3 - 4e-11) instead of the exact distance
    assert math.isclose(data.min_distance(X), delta, rel_tol=1e-9)
    for y in ([0, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, 0]):
        net = th.build_memorizer(to_device(X, xp), np.array(y), seed=2, delta=delta)
        # rules out: a pair at exactly delta being merged
        assert _memorizes(net, to_device(X, xp), y)


@pytest.mark.parametrize("kind", ["zeros", "ones", "alternating"])
def test_structured_labels(kind):
    X = data.separated_points(200, 6, 0.4, seed=3)
    y = {"zeros": np.zeros(200, int), "ones": np.ones(200, int),
         "alternating": np.arange(200) % 2}[kind]
    net = th.build_memorizer(X, y, seed=4)
    assert _memorizes(net, X, y)  # rules out: a builder that ignores structured labelings
    # rules out: a stage that spends one neuron (or weight) per point beyond the lemmas
    assert th.audit(net, X, seed=4).ok


# checks: lem-thr-memorization (only the n label weights, each +-1, depend on y)
def test_label_swap_changes_only_label_weights():
    X = data.sphere(300, 8, seed=5)
    y = _labels(300, 1)
    net = th.build_memorizer(X, y, seed=0)
    other = net.with_labels(1 - y)
    # rules out: relabeling that fails the complement labeling
    assert _memorizes(other, X, 1 - y)
    changed = [i for i, (a, b) in enumerate(zip(net.layers, other.layers))
               if not np.array_equal(to_numpy(a.weight), to_numpy(b.weight))]
    # rules out: relabeling that touches other layers
    assert [net.layers[i].stage for i in changed] == ["memorization"]
    diff = to_numpy(net.layers[changed[0]].weight) != to_numpy(other.layers[changed[0]].weight)
    # rules out: a label weight left unchanged
    assert diff.sum() == 300
    # rules out: label weights other than +-1
    assert set(np.unique(to_numpy(other.layers[changed[0]].weight)[diff])) <= {-1, 1}


def test_same_seed_same_network_and_counts():
    X = data.sphere(100, 5, seed=7)
    y = _labels(100, 2)
    a, b = th.build_memorizer(X, y, seed=3), th.build_memorizer(X, y, seed=3)
    for la, lb in zip(a.layers, b.layers):
        # rules out: a builder that is not reproducible for a seed
        assert np.array_equal(to_numpy(la.weight), to_numpy(lb.weight))
    sizes = a.stage_sizes()
    # rules out: stage_sizes missing neurons
    assert sum(s["neurons"] for s in sizes.values()) == a.n_neurons
    # rules out: stage_sizes missing weights
    assert sum(s["weights"] for s in sizes.values()) == a.n_weights
    # rules out: stage_sizes missing layers
    assert sum(s["layers"] for s in sizes.values()) == a.depth
    # rules out: a first layer of another width than the lemma's
    assert sizes["gaussian"]["neurons"] == th.hyperplane_budget(100, a.info["delta"])


@pytest.mark.gpu
def test_numpy_and_cupy_agree():
    import cupy

    X = data.sphere(200, 6, seed=8, xp=np)
    y = _labels(200, 3)
    net_np = th.build_memorizer(X, y, seed=1)
    net_cp = th.build_memorizer(cupy.asarray(X), y, seed=1)
    for la, lb in zip(net_np.layers, net_cp.layers):
        # rules out: NumPy and CuPy drawing different weights
        assert np.array_equal(to_numpy(la.weight), to_numpy(lb.weight))
    # rules out: a CuPy forward pass that differs
    assert np.array_equal(to_numpy(net_cp.predict(cupy.asarray(X))), y)


# checks: lem-thr-xor (parity on all 2^11 inputs, the level cost bound)
def test_parity_layers_truth_table():
    rng = np.random.default_rng(0)
    S = rng.integers(0, 2, size=(7, 11)).astype(bool)
    S[:, 0] = True
    layers, out = th.parity_layers(S, "compression")
    inputs = (np.arange(2**11)[:, None] >> np.arange(11)) & 1
    h = inputs.astype(np.int8)
    for layer in layers:
        h = (layer.preactivation(h, np) >= 0).astype(np.int8)
    # rules out: XOR trees computing anything but the parity
    assert np.array_equal(h[:, out], (inputs @ S.T.astype(int)) % 2)
    # each level costs 3 neurons per XOR, 2 per carried value
    # rules out: trees costing more than 3 neurons per XOR plus 2 per carried value
    assert sum(layer.width for layer in layers) <= 3 * S.sum() + 2 * 7 * math.ceil(math.log2(11))


def test_hyperplane_prefixes_nested_and_kmin():
    W = th.gaussian_hyperplanes(40, 3, seed=1)
    # rules out: hyperplane prefixes that are not nested
    assert np.array_equal(W[:10], th.gaussian_hyperplanes(10, 3, seed=1))
    X = data.great_circle(16)
    k = th.hyperplanes_to_separate(X, seed=2)
    # rules out: a circle of 16 points separated by fewer than 16/2 lines (impossible: a bug)
    assert k >= 8
    codes = th.hyperplane_codes(X, th.gaussian_hyperplanes(k, 2, seed=2))
    # rules out: a returned k that does not separate
    assert th.distinct_rows(codes)
    # rules out: a returned k that is not the smallest
    assert not th.distinct_rows(codes[:, : k - 1])


def test_circle_cdf_small_case():
    # m = 2 arc pairs: P[k_min <= k] = 1 - 2^(1-k) for k >= 1
    # rules out: a wrong coupon-collector cdf
    assert np.allclose(th.circle_separation_cdf(4, np.array([1, 2, 3, 5])),
                       [1 - 2.0 ** (1 - k) for k in (1, 2, 3, 5)])
    # rules out: a wrong coupon-collector mean
    assert math.isclose(th.circle_separation_mean(4), 3.0)


def test_separated_points_and_generators():
    X = data.separated_points(300, 4, 0.35, seed=0)
    # rules out: a wrong number of points
    assert X.shape == (300, 4)
    # rules out: points closer than delta
    assert data.min_distance(X) >= 0.35
    # rules out: points off the sphere
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0)
    C = data.orthogonal_circles(10, 3)
    # rules out: a wrong circle layout or separation
    assert C.shape == (30, 6) and math.isclose(data.min_distance(C), 2 * math.sin(math.pi / 10))
    with pytest.raises(ValueError, match="delta"):
        data.separated_points(50, 2, 1.9, seed=0, max_batches=3)


@pytest.mark.parametrize(
    "X, y, kwargs, err, match",
    [
        (np.array([[1.0, 0.0], [1.0, 0.0]]), [0, 1], {}, ValueError, "duplicate"),
        (np.array([[1.0, 0.0], [0.0, 1.1]]), [0, 1], {}, ValueError, "unit sphere"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 2], {}, ValueError, "0 and 1"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0.5, 1], {}, ValueError, "0 and 1"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1, 1], {}, ValueError, "must match"),
        (np.array([1.0, 0.0]), [0], {}, ValueError, "X must be 2-dimensional"),
        (np.array([[1.0], [-1.0]]), [0, 1], {}, ValueError, "d >= 2"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1], {"delta": 1.5}, ValueError, "exceeds"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1], {"eta": 1.0}, ValueError, "eta"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1], {"seed": -1}, ValueError, "seed"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1], {"seed": 1.5}, TypeError, "seed"),
        ("points", [0, 1], {}, TypeError, "X"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), "ab", {}, TypeError, "y"),
        (np.array([[1.0, 0.0], [np.nan, 1.0]]), [0, 1], {}, ValueError, "finite"),
    ],
)
def test_bad_input(X, y, kwargs, err, match):
    with pytest.raises(err, match=match):
        th.build_memorizer(X, y, **kwargs)


def test_builder_raises_instead_of_failing_silently():
    # a Gaussian layer too narrow to separate 16 points on a circle (delta = 2 prescribes k1 = 1
    # hyperplane): every redraw fails, and the stage build_memorizer runs first says so
    assert th.hyperplane_budget(16, 2.0) == 1
    # rules out: a builder that returns a network which fails to memorize
    with pytest.raises(th.MemorizationError, match="same code"):
        th.gaussian_stage(data.great_circle(16), 2.0, seed=0, max_attempts=4)


def test_predict_checks_its_input():
    net = th.build_memorizer(data.sphere(10, 3, seed=0), _labels(10, 0))
    with pytest.raises(ValueError, match="3 columns"):
        net.predict(np.ones((2, 4)))
