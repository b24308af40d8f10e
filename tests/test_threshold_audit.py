"""Part III baselines, bounds and audits get the same tests as the model: the counting bound
against brute force, Baum's and the staircase's sizes pinned, the size audit against inflated
builders, the memory refusal, the sparse forward pass, Vershynin's exact q, the crossovers."""
from __future__ import annotations

import math
import os
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from expreg_nb import data, threshold as th, to_numpy
from expreg_nb.stats import loglog_slope
from expreg_nb.seeding import make_rng
from expreg_nb.threshold import baselines as bl, sweeps


def _labels(n, seed=0):
    return make_rng(seed, "test", "audit").integers(0, 2, n)


def _memorizes(net, X, y):
    return np.array_equal(to_numpy(net.predict(X)), np.asarray(y))


# --------------------------------------------------------------------------- counting bound
def _brute_P(n):
    P = 1
    while n > 2 * P * math.log2(math.e * P):
        P += 1
    return P


def _brute_N(n, d):
    N = 1
    while n > 2 * (N * (d + 1) + N * (N - 1) // 2) * math.log2(math.e * N):
        N += 1
    return N


@pytest.mark.parametrize("d", [1, 2, 16, 256])
def test_counting_bound_matches_brute_force(d):
    for n in list(range(1, 300)) + [1000, 4096, 65536]:
        # rules out: a bisection that overshoots or undershoots the least P or N (the old 0.35 n)
        assert bl.counting_lower_bound(n, d) == (_brute_P(n), _brute_N(n, d))


def test_counting_bound_is_the_least_and_not_035n():
    n = 131_072
    P, N = bl.counting_lower_bound(n, 16)
    # rules out: the overshoot to 45,427 = 0.35 n the issue measured
    assert P == 4795 and P < 0.05 * n
    # rules out: a P that does not satisfy the VC inequality, or one that is not the least
    assert bl.vc_capacity(P, P) >= n > bl.vc_capacity(P - 1, P - 1)
    # rules out: an N that does not satisfy it with the largest architecture, or not the least
    assert bl.vc_capacity(bl.max_parameters(N, 16), N) >= n > bl.vc_capacity(bl.max_parameters(N - 1, 16), N - 1)


# --------------------------------------------------------------------------- Baum and Huang
@pytest.mark.parametrize("n, d", [(200, 3), (400, 16), (512, 64), (300, 256), (97, 8)])
def test_baum_size_pinned_in_general_position(n, d):
    X = data.separated_points(n, d, 0.3 if d > 3 else 0.1, seed=n)
    y = _labels(n, d)
    net = bl.build_baum(X, y, seed=1)
    n_min = int(min(y.sum(), n - y.sum()))
    g = -(-n_min // d)
    assert _memorizes(net, X, y)  # rules out: a Baum network that fails its labels
    # rules out: a Baum construction whose neuron count drifts from 2 ceil(n_min / d) + 1
    assert net.n_neurons == 2 * g + 1 == bl.baum_neurons(n, d, n_min)
    # rules out: a weight count other than 2 g d (dense hidden rows) + 2 g (output)
    assert net.n_weights == 2 * g * d + 2 * g and net.info["splits"] == 0


def test_baum_constant_and_balanced_labels():
    X = data.separated_points(64, 8, 0.3, seed=0)
    for y in (np.zeros(64, int), np.ones(64, int)):
        net = bl.build_baum(X, y)
        # rules out: a constant labeling that is not memorized or costs hidden pairs
        assert _memorizes(net, X, y) and net.n_neurons == 2
    # rules out: a baum_neurons that is not 2 ceil(floor(n/2)/d) + 1 for balanced labels
    assert bl.baum_neurons(64, 8) == 2 * 4 + 1 and bl.baum_neurons(65, 8) == 9
    with pytest.raises(ValueError, match="n_min"):
        bl.baum_neurons(10, 2, 6)


@pytest.mark.parametrize("kind", ["arc", "orthogonal", "circle2"])
def test_baum_splits_on_degenerate_data(kind):
    X = {"arc": data.great_circle_arc(60, 0.08, 3), "orthogonal": data.orthogonal_circles(16, 4),
         "circle2": data.great_circle(128)}[kind]
    n, d = X.shape
    y = _labels(n, 4)
    net = bl.build_baum(X, y)
    assert _memorizes(net, X, y)  # rules out: degenerate data breaking the construction
    n_min = int(min(y.sum(), n - y.sum()))
    # rules out: fewer neurons than general position allows, or splits not counted
    assert net.n_neurons == 2 * net.info["groups"] + 1 >= bl.baum_neurons(n, d, n_min)
    # on a great circle in R^3 every group of 3 lies in one plane with all the others: split
    if kind != "circle2":
        assert net.info["splits"] > 0  # rules out: a degenerate case that was not detected


def test_baum_refuses_duplicates():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(bl.GeneralPositionError):
        bl.build_baum(X, [1, 0, 0])  # rules out: a silent wrong network on duplicate points


@pytest.mark.parametrize("kind", ["random", "circle", "orthogonal", "clusters"])
def test_huang_staircase_any_distinct_points(kind):
    X = {"random": data.sphere(300, 5, seed=0), "circle": data.great_circle(64, 3),
         "orthogonal": data.orthogonal_circles(10, 3),
         "clusters": data.great_circle_arc(40, 1e-6, 4)}[kind]
    n = X.shape[0]
    y = _labels(n, 9)
    net = bl.build_huang(X, y, seed=2)
    assert _memorizes(net, X, y)  # rules out: a staircase that fails on some data
    u = to_numpy(net.layers[0].weight)[0]
    changes = int(np.count_nonzero(np.diff(y[np.argsort(X @ u, kind="stable")])))
    # rules out: a hidden layer other than one unit per label change along u
    assert net.n_neurons == max(changes, 1) + 1 <= n
    with pytest.raises(bl.GeneralPositionError):
        bl.build_huang(np.array([[1.0, 0.0], [1.0, 0.0]]), [0, 1])  # rules out: duplicates passing


# --------------------------------------------------------------------------- the size audit
@pytest.mark.parametrize("setting", ["union", "smallest", "flat", "circle"])
def test_audit_passes_honest_builds(setting):
    if setting == "circle":
        X, delta = data.great_circle(128), None
    else:
        X, delta = data.separated_points(300, 6, 0.4, seed=1), 0.4
    y = _labels(X.shape[0], 2)
    kw = {"first_layer": "smallest"} if setting == "smallest" else {"parity": "flat"} if setting == "flat" else {}
    net = th.build_memorizer(X, y, seed=3, delta=delta, **kw)
    rep = th.audit(net, X, delta=delta, seed=3, **kw)  # the data's delta (None: measured)
    assert rep.ok, rep.problems  # rules out: an audit that rejects a correct build
    # rules out: an audit that reads the builder's record instead of the lemmas
    assert rep.parameters["k1"] == (th.hyperplanes_to_separate(X, seed=3) if setting == "smallest"
                                    else th.hyperplane_budget(X.shape[0], rep.parameters["delta"]))


@pytest.mark.parametrize("stage", sorted(th.INFLATIONS))
def test_inflated_builder_fails_the_audit(stage):
    X = data.separated_points(300, 6, 0.4, seed=1)
    y = _labels(300, 2)
    honest = th.build_memorizer(X, y, seed=0, delta=0.4)
    with th.inflated(stage):
        fat = th.build_memorizer(X, y, seed=0, delta=0.4)
    assert _memorizes(fat, X, y)  # the inflated builder is a *correct* builder, only larger
    assert fat.n_neurons > honest.n_neurons
    rep = th.audit(fat, X, delta=0.4, seed=0)
    assert not rep.ok  # rules out: a size audit that a larger-than-prescribed builder passes
    assert th.audit(honest, X, delta=0.4, seed=0).ok  # rules out: the patch leaking past the block


def test_audit_takes_delta_from_the_data_not_the_record():
    X = data.separated_points(300, 6, 0.4, seed=1)
    y = _labels(300, 2)
    with th.inflated("delta"):
        half = th.build_memorizer(X, y, seed=0)
    # the loophole: an audit handed the builder's record agrees with it
    assert th.audit(half, X, delta=half.info["delta"], seed=0).ok
    # rules out: an audit that measures nothing (the data's own separation rejects the build)
    assert not th.audit(half, X, seed=0).ok
    honest = th.build_memorizer(X, y, seed=0)
    assert th.audit(honest, X, seed=0).ok  # rules out: a measured delta that fails honest builds
    # rules out: a given delta larger than the data's separation passing unnoticed
    assert "exceeds the minimum distance" in " ".join(th.audit(honest, X, delta=1.9, seed=0).problems)


def test_worst_group_hash_needs_the_seed_check():
    X = data.separated_points(300, 6, 0.4, seed=1)
    y = _labels(300, 2)
    with th.inflated("worst_group"):
        fat = th.build_memorizer(X, y, seed=0, delta=0.4)
    honest = th.build_memorizer(X, y, seed=0, delta=0.4)
    # the worst accepted draw doubles T here: a larger network of consistent stages
    assert fat.info["T"] > honest.info["T"] and _memorizes(fat, X, y)
    rep = th.audit(fat, X, delta=0.4, seed=0)
    # rules out: an audit that accepts any acceptable draw, not the seed's first
    assert not rep.ok and "first acceptable draw" in rep.problems[0]


def test_inflated_builder_fails_the_chapter_check_by_monkeypatch(monkeypatch):
    """The chapters assert ``th.audit(net, X, delta=...).ok``; a builder taking four times the
    block hashes (the referee's example) fails it, while the old check (the formula evaluated on
    net.info) passed it."""
    orig = th.construction.block_count
    monkeypatch.setattr(th.construction, "block_count", lambda n, eta=0.01: 4 * orig(n, eta))
    X = data.separated_points(400, 8, 0.3, seed=0)
    y = make_rng(0, "part3", "construction").integers(0, 2, 400)
    net = th.build_memorizer(X, y, seed=0, delta=0.3)
    # the old check read the builder's own record: it passed (this is what the issue found)
    assert net.stage_sizes() == th.stage_formula(net.info)
    # rules out: the chapter's audit passing the inflated builder
    assert not th.audit(net, X, delta=0.3).ok


def test_one_extra_neuron_per_point_fails_the_audit():
    X = data.separated_points(300, 6, 0.4, seed=3)
    net = th.build_memorizer(X, _labels(300, 1), seed=0)
    pad = th.SparseLayer(np.zeros((300, 1), np.int64), np.ones((300, 1), np.int64),
                         np.zeros(300, np.int64), "memorization")
    fat = th.ThresholdNetwork(net.layers[:-2] + (pad,) + net.layers[-2:], net.d)
    # rules out: an audit loose enough that n extra neurons (one more layer) pass it
    assert not th.audit(fat, X, seed=0).ok
    mixed = th.ThresholdNetwork(net.layers[:2] + net.layers[-1:] + net.layers[2:], net.d)
    with pytest.raises(ValueError, match="consecutive|order"):  # rules out: stages out of order passing
        th.audit(mixed, X, seed=0)
    out = net.layers[-1]  # the output layer with 300 more units that never fire (zero weights, bias -1)
    silent = th.SparseLayer(np.r_[out.index, np.zeros((300, out.index.shape[1]), np.int64)],
                            np.r_[out.weight, np.zeros((300, out.weight.shape[1]), np.int64)],
                            np.r_[out.bias, np.full(300, -1, np.int64)], "output")
    wide = replace(net, layers=net.layers[:-1] + (silent,))
    assert not th.audit(wide, X, seed=0).ok  # rules out: n silent output units passing


def test_audit_task_flips_under_inflation():
    base = sweeps.audit_task(200, 6, 0.4)
    fat = sweeps.audit_task(200, 6, 0.4, inflate="lifting")
    # rules out: an audit task whose verdict does not depend on the builder
    assert base["audit_ok"] and base["memorized"] and not fat["audit_ok"] and fat["memorized"]


# --------------------------------------------------------------------------- memory refusal
def test_refusal_before_any_build_for_a_close_pair():
    X = np.zeros((2, 3))
    t = th.separation_angle(1e-7)
    X[0, 0], X[1, 0], X[1, 1] = 1.0, math.cos(t), math.sin(t)
    tracemalloc.start()
    with pytest.raises(th.NetworkTooLargeError, match=r"GiB.*EXPREG_MEMORY_GIB.*Nothing was built"):
        th.build_memorizer(X, [0, 1], seed=0, delta=1e-7)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # rules out: a refusal that comes after allocating (the raw MemoryError of 5.39 GiB)
    assert peak < 64 * 2**20
    t = th.separation_angle(1e-3)
    X[1, 0], X[1, 1] = math.cos(t), math.sin(t)
    net = th.build_memorizer(X, [0, 1], seed=0, delta=1e-3)
    assert _memorizes(net, X, [0, 1])  # rules out: refusing a build that fits


def test_memory_limit_from_the_environment(monkeypatch):
    X = data.separated_points(200, 6, 0.4, seed=0)
    monkeypatch.setenv(th.MEMORY_ENV, "0.001")
    with pytest.raises(th.NetworkTooLargeError):  # rules out: the limit being ignored
        th.build_memorizer(X, _labels(200), seed=0)
    monkeypatch.setenv(th.MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match=th.MEMORY_ENV):  # rules out: a bad value read as no limit
        th.memory_limit_bytes()
    monkeypatch.delenv(th.MEMORY_ENV)
    # rules out: a default limit of nothing or of more than the machine has
    assert 2**28 < th.memory_limit_bytes() < os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@pytest.mark.parametrize("n, d, delta", [(2000, 8, 0.3), (4000, 16, 0.5), (64, 3, 0.05)])
def test_build_bytes_is_an_upper_estimate(n, d, delta):
    X = data.separated_points(n, d, delta, seed=0)
    y = _labels(n)
    tracemalloc.start()
    th.build_memorizer(X, y, seed=0, delta=delta)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    est = th.check_buildable(n, delta, d)
    # rules out: a prediction below the measured peak (a refusal that lets too large builds through)
    # or so far above it (10x) that it refuses builds that fit
    assert peak <= est <= 10 * peak + 2**27


# --------------------------------------------------------------------------- forward pass
def test_onehot_fast_path_equals_the_dense_product():
    X = data.separated_points(300, 6, 0.4, seed=2)
    net = th.build_memorizer(X, _labels(300, 5), seed=0)
    dense = replace(net, layers=tuple(replace(L, onehot=()) if getattr(L, "onehot", ()) else L
                                      for L in net.layers))
    U = data.sphere(3000, 6, seed=4)
    # rules out: an equality-layer shortcut that computes anything but the threshold units
    assert np.array_equal(to_numpy(net.predict(U)), to_numpy(dense.predict(U)))
    pos = [i for i, L in enumerate(net.layers) if L.stage == "lifting"][0]
    assert np.array_equal(net.hidden(U, pos), dense.hidden(U, pos))  # rules out: a wrong sparse output
    lift = net.layers[pos]
    lie = replace(lift, onehot=((0, lift.onehot[0][1][::-1]),) + lift.onehot[1:])
    with pytest.raises(ValueError, match="onehot"):  # rules out: a declaration that can lie
        lie.apply(np.zeros((net.layers[pos - 1].width, 4), np.int8), np)


# --------------------------------------------------------------------------- Vershynin, exact
@pytest.mark.parametrize("tau, delta", [(0.0, 1.0), (1.0, 0.8), (2.0, 1.2), (0.5, 1.9)])
def test_vershynin_overlap_against_bivariate_normal(tau, delta):
    from scipy import stats

    rho = 1 - delta**2 / 2
    q = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([-tau, -tau])
    # rules out: an integral off the exact bivariate orthant probability (e.g. the union bound)
    assert th.vershynin_overlap(tau, delta) == pytest.approx(q / stats.norm.sf(tau), rel=1e-5)


def test_vershynin_overlap_against_monte_carlo_and_bound():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((2_000_000, 2))
    delta, tau = 0.9, 2.0
    rho = 1 - delta**2 / 2
    a, b = g[:, 0], rho * g[:, 0] + math.sqrt(1 - rho**2) * g[:, 1]
    emp = np.mean((a >= tau) & (b >= tau)) / np.mean(a >= tau)
    exact = th.vershynin_overlap(tau, delta)
    assert abs(emp - exact) < 0.01  # rules out: a q/p that simulation contradicts
    # rules out: the exact width not below the union-type bound's (the bound is loose)
    assert th.vershynin_width_log10(0.3) < th.vershynin_width_log10_bound(0.3) - 10


def test_vershynin_limit_law():
    from scipy import integrate, special

    for s in (0.5, 1.0, 1.6449):
        limit = integrate.quad(lambda e: math.exp(-e) * special.ndtr(-(s - e / (2 * s))), 0, np.inf)[0]
        # rules out: a wrong limit law q/p -> 2 Pbar(s)
        assert limit == pytest.approx(2 * special.ndtr(-s), rel=1e-8)
    small = np.array([0.2, 0.15, 0.1])
    lw = np.array([th.vershynin_width_log10(float(dl)) for dl in small])
    slope = np.polyfit(1 / small**2, lw, 1)[0]
    # rules out: a limit slope that the small-delta widths do not approach (e.g. the bound's 4)
    assert slope == pytest.approx(th.vershynin_limit_slope(0.1), rel=0.02)


def test_vershynin_threshold_and_layer():
    tau = th.vershynin_threshold(1.0, 0.1)
    # rules out: a threshold not at q/p = eps
    assert th.vershynin_overlap(tau, 1.0) == pytest.approx(0.1, rel=1e-6)
    assert th.vershynin_threshold(1.99, 0.1) == 0.0  # rules out: a positive tau where tau = 0 suffices
    X = data.simplex_points(8, 1.2)
    k, worst = th.vershynin_layer_width(X, tau=th.vershynin_threshold(1.2), chunk=256, seed=1)
    # rules out: a measured width that is not eps-orthogonal, or far from 1/p(tau*) (about 33)
    assert worst <= 0.2 and 33 <= k <= 33 * 1000
    with pytest.raises(ValueError, match="k_max"):  # rules out: a search that silently gives up
        th.vershynin_layer_width(X, tau=6.0, k_max=1024, chunk=256)


# --------------------------------------------------------------------------- formulas and crossovers
def test_stage_laws_and_one_extra_neuron_per_point():
    ns = np.unique(np.logspace(np.log10(128), 8, 24).astype(int))
    table = th.stage_table(ns, 0.5, 16)
    slopes = th.law_slopes(table)
    # rules out: a stage growing faster or slower than its predicted form
    assert all(0.85 <= v <= 1.15 for v in slopes.values()), slopes
    # rules out: a fit that cannot see one neuron per point (N + n against sqrt(n) l)
    assert th.law_slopes(table, table["memorization"] + table["n"]) > 1.5
    top = table[table.n >= 10**6]
    assert loglog_slope(top.n, top.neurons) < 0.7  # the total at the top: below sqrt(n) l's 0.56 + slack
    # rules out: the same fit passing N + n
    assert loglog_slope(top.n, top.neurons + top.n) > 0.9


def test_crossover_with_baum():
    enter, stay = th.crossover_n(16, 0.5, n_min=10**5, n_max=10**8, per_decade=40)
    # rules out: the misreported crossover of 1.1e5 (below n neurons, not below Baum)
    assert 10**6 < enter <= stay < 10**7
    assert th.deep_neurons(stay, 0.5, 16) < bl.baum_neurons(stay, 16)  # rules out: a wrong side
    assert th.deep_neurons(enter // 2, 0.5, 16) > bl.baum_neurons(enter // 2, 16)
    # rules out: a crossover in d that does not invert Baum's count
    d_star = th.crossover_d(10**7, 0.5)
    assert bl.baum_neurons(10**7, d_star) > th.deep_neurons(10**7, 0.5, 2) >= bl.baum_neurons(10**7, d_star + 1)
    assert th.crossover_n(256, 0.5, n_min=10**5, n_max=10**8, per_decade=20) == (None, None)


def test_sign_changes_are_exact_and_agree_with_crossover_n():
    ch = th.sign_changes(16, 0.5, n_min=10**6, n_max=10**7, per_decade=200)
    for n, w in zip(ch.n, ch.deep_wins):  # rules out: a change mislocated by the grid
        assert (th.deep_neurons(int(n), 0.5, 16) < bl.baum_neurons(int(n), 16)) == w
        assert (th.deep_neurons(int(n) - 1, 0.5, 16) < bl.baum_neurons(int(n) - 1, 16)) != w
    # rules out: a single crossover (the sawtooth of T and r: wins, loses, wins again)
    assert list(ch.deep_wins) == [True, False, True, False, True]
    assert ch.n.iloc[-1] == 2**22 + 1  # rules out: "for good" anywhere but where r doubles
    # rules out: crossover_n disagreeing with the changes it is computed from
    assert th.crossover_n(16, 0.5, n_min=10**6, n_max=10**7, per_decade=200) == (ch.n.iloc[0], ch.n.iloc[-1])
    assert th.sign_changes(256, 0.5, n_min=10**5, n_max=10**6, per_decade=20).empty  # no change: no row


def test_deep_formula_matches_builds():
    for n in (512, 2048):
        X = data.separated_points(n, 16, 0.5, seed=1)
        net = th.build_memorizer(X, _labels(n), seed=0, delta=0.5)
        band = [th.deep_neurons(n, 0.5, 16, group=g) for g in ("least", "largest")]
        # rules out: a formula band that misses the built network
        assert band[0] <= net.n_neurons <= band[1]
        # rules out: a typical group size far from the built one
        assert abs(th.typical_group_size(n) - net.info["max_group"]) <= 0.35 * net.info["max_group"]


# --------------------------------------------------------------------------- data for Part III
def test_lattice_shell_and_shell_points():
    S = data.lattice_shell(4, 2)
    brute = np.array([v for v in np.ndindex(*(3,) * 4) if sum((c - 1) ** 2 for c in v) == 2]) - 1
    # rules out: a shell enumeration that misses or repeats vectors
    assert sorted(map(tuple, S.tolist())) == sorted(map(tuple, brute.tolist()))
    # rules out: a wrong count of the norm-8 shell of Z^16 (12870*256 + 16*1365*32 + 120*4)
    assert data.lattice_shell(16, 8).shape[0] == 3_994_080
    X = data.shell_points(2000, seed=0)
    # rules out: points off the sphere or closer than sqrt(2/8) = 1/2
    assert np.allclose(np.linalg.norm(X, axis=1), 1) and data.min_distance(X) >= 0.5 - 1e-12
    with pytest.raises(ValueError, match="exceeds"):
        data.shell_points(25, seed=0, d=4, norm=2)


def test_simplex_points():
    X = data.simplex_points(12, 0.7, 20)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)[~np.eye(12, dtype=bool)]
    # rules out: a simplex whose pairs are not all at exactly delta, or off the sphere
    assert np.allclose(D, 0.7) and np.allclose(np.linalg.norm(X, axis=1), 1)
    with pytest.raises(ValueError, match="sqrt"):
        data.simplex_points(4, 1.6)


def test_map_task_rows():
    row = sweeps.map_task("orthogonal", 48, 8)
    # rules out: a map row where a construction fails its data
    assert row["deep_ok"] and row["baum_ok"] and row["huang_ok"]
    # rules out: Baum counted as if in general position on degenerate data
    assert row["baum_splits"] > 0


def test_past_crossover_task_small():
    row = sweeps.past_crossover_task(4096, probes=500)
    # rules out: a big-build task that does not verify, audit and predict
    assert row["memorized"] and row["audit_ok"] and row["kept_at_1e-6"] == 1.0
    assert row["delta"] == 0.5 and row["within_limit"] and 0 < row["predicted_gib"] < 12
    # rules out: a task whose row is not reproducible (the results recheck compares every column)
    assert sweeps.past_crossover_task(4096, probes=500) == row
    with pytest.raises(th.NetworkTooLargeError):  # rules out: a memory cap that is not enforced
        sweeps.past_crossover_task(4096, probes=500, max_gib=1e-4)


def test_more_groups_remove_the_sawtooth():
    n = 3_994_080  # the whole Z^16 shell: with the fewest groups Baum is smaller there
    t = th.group_bits_table(n, 0.5, 16, extra=4)
    # rules out: a j = 0 row that is not the construction's number of groups
    assert t.r.iloc[0] == 2 ** th.group_bits(n) and list(t.j) == [0, 1, 2, 3, 4]
    # rules out: more groups never helping (then the number of groups would decide nothing)
    assert t.neurons.min() < bl.baum_neurons(n, 16) < t.neurons.iloc[0]
    ch = th.best_groups_sign_changes(16, 0.5, extra=4, n_min=10**5, n_max=10**8, per_decade=50)
    # rules out: a sawtooth left at the best number of groups
    assert len(ch) == 1 and bool(ch.deep_wins.iloc[0])
    n0 = int(ch.n.iloc[0])
    # rules out: a change located off by one (the winner at n0 - 1 is Baum)
    assert th.group_bits_table(n0, 0.5, 16, extra=4).neurons.min() < bl.baum_neurons(n0, 16)
    # rules out: the same, at n0 - 1
    assert th.group_bits_table(n0 - 1, 0.5, 16, extra=4).neurons.min() >= bl.baum_neurons(n0 - 1, 16)
