"""The book's landing figure: one small panel per headline result, at book scale.

Each function runs a small version of its chapter's experiment (a few seconds on a
2-core CPU) and returns ``(figure, facts)``, where ``facts`` are the numbers the intro
checks with ``assert``.  The chapters hold the full experiments and the proofs.
"""
from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np

from . import data, relu2
from . import exponential as ex
from . import threshold as th
from .backend import to_numpy
from .seeding import make_rng
from .validation import check_int, check_int_sequence, check_real, check_sphere_distance

__all__ = ["convergence", "beyond_ntk", "memorization", "PANEL_SIZE"]

#: One panel of the landing grid (three a row on a wide screen, stacked on a phone).
PANEL_SIZE = (3.4, 3.0)
#: Larger fonts than a chapter figure: a panel is shown at a third of the page width.
PANEL_RC = {"font.size": 14, "axes.titlesize": 14, "axes.labelsize": 14, "legend.fontsize": 11,
            "xtick.labelsize": 12, "ytick.labelsize": 12, "figure.facecolor": "white",
            "savefig.facecolor": "white", "lines.linewidth": 2}


def _panel(fn):
    """Run ``fn`` with the panel style, so every text it draws gets the panel's sizes."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(PANEL_RC):
            fig, facts = fn(*args, **kwargs)
            fig.tight_layout()
        return fig, facts
    return wrapper


def _figure():
    return plt.subplots(figsize=PANEL_SIZE)


@_panel
def convergence(n=16, d=8, widths=(64, 1024), steps=1500):
    """Part I: gradient descent on exponential regression, relative loss against the step."""
    n, d, steps = check_int(n, "n"), check_int(d, "d"), check_int(steps, "steps")
    widths = check_int_sequence(widths, "widths")
    X, y = data.sphere(n, d, seed=0), data.labels(n, seed=0)
    fig, ax = _figure()
    facts = {}
    for m in widths:
        W0, a = ex.init_params(m, d, seed=0)
        eta = 0.9 / float(np.linalg.eigvalsh(to_numpy(ex.gram(W0, X)))[-1])
        run = ex.train(X, y, m=m, eta=eta, steps=steps, seed=0, tol=1e-12, progress=False)
        L = to_numpy(run.history.loss)
        ax.semilogy(L / L[0], label=f"$m={m}$")
        facts[m] = float(L[-1] / L[0])
    ax.set_xlabel("step $t$")
    ax.set_ylabel("$L(t)/L(0)$")
    ax.set_title("Part I: linear convergence")
    ax.legend()
    return fig, facts


@_panel
def beyond_ntk(n=32, d=8, md_over_n=4.0, ratio="lecun", data_seed=0, init_seed=0, budget=5.0, tol=1e-3):
    """Part II: the two-rate ReLU network and its linearization, each at its own largest stable step.

    The chapter's rule (:func:`expreg_nb.relu2.fair_compare`): rates c times each model's
    unit rates, c the largest scale of one grid (top 1.99) whose whole run is stable (loss
    finite, max_t lambda_max(K(t)) < 2, no step raising the loss by more than 1%).  The panel
    shows L(t)/L(0) of both runs; the facts carry the scales, the stability record and
    the steps to ``tol``.
    """
    n, d = check_int(n, "n", minimum=2), check_int(d, "d")
    data_seed, init_seed = check_int(data_seed, "data_seed", minimum=0), check_int(init_seed, "init_seed", minimum=0)
    md_over_n = check_real(md_over_n, "md_over_n", positive=True)
    budget = check_real(budget, "budget", positive=True)
    tol = check_real(tol, "tol", positive=True)
    m = relu2.width_for(md_over_n, n, d)
    r = relu2.resolve_ratio(ratio, m, d)
    X, y = relu2.problem(n, d, data_seed=data_seed)
    model = relu2.model()
    p0 = model.init(m, d, init_seed)
    steps = relu2.budget_steps(n, d, data_seed, r, budget, tol)
    out = relu2.fair_compare(model, p0, X, y, ratio=r, steps=steps, tol=tol)
    net, lin = out["net"].attempt, out["lin"].attempt
    L = to_numpy(net.result.history.loss)
    fig, ax = _figure()
    ax.semilogy(L / L[0], label=f"network, $c={net.c:.2f}$")
    ax.semilogy(lin.result.record_steps, lin.result.loss / lin.result.loss[0], "--",
                label=f"linearized, $c={lin.c:.2f}$")
    ax.axhline(tol, color="k", ls=":", lw=1)
    ax.set_xlabel("step $t$")
    ax.set_ylabel("$L(t)/L(0)$")
    ax.set_title("Part II: fair steps")
    ax.legend()
    return fig, {"m": m, "net_c": net.c, "lin_c": lin.c, "net_steps": net.steps, "lin_steps": lin.steps,
                 "net_rel_loss": float(L[-1] / L[0]), "lin_rel_loss": lin.result.relative_loss,
                 "max_lambda_max": net.max_lambda_max, "rises": net.rises, "max_rise": net.max_rise}


@_panel
def memorization(ns=(128, 256, 512, 1024), d=16, delta=0.5, n_max=10**8):
    """Part III: neurons of the memorizing threshold network against n, built (small n) and by the
    exact formula (to ``n_max``), beside Baum's one-hidden-layer count on d inputs; the crossover
    is where the deep network gets below Baum."""
    ns = check_int_sequence(ns, "ns", minimum=2)
    d, delta = check_int(d, "d", minimum=2), check_sphere_distance(delta)
    n_max = check_int(n_max, "n_max", minimum=max(ns) + 1, maximum=th.MAX_N)
    ns = np.asarray(ns)
    built, baum_built = [], []
    for n in ns:
        X = data.separated_points(int(n), d, delta, seed=1)
        y = make_rng(int(n), "part3", "size-n").integers(0, 2, n)
        net = th.build_memorizer(X, y, seed=0, delta=delta)
        if not np.array_equal(to_numpy(net.predict(X)), y):
            raise AssertionError(f"the network built for n={n} does not memorize its points")
        built.append(net.n_neurons)
        baum_built.append(th.baum_neurons(int(n), d, int(min(y.sum(), n - y.sum()))))
    far = np.unique(np.logspace(np.log10(ns[0]), np.log10(n_max), 40).astype(np.int64))
    deep = np.array([th.deep_neurons(int(v), delta, d) for v in far])
    baum = np.array([th.baum_neurons(int(v), d) for v in far])
    enter, _ = th.crossover_n(d, delta, n_min=int(ns[0]), n_max=int(n_max), per_decade=30)
    fig, ax = _figure()
    ax.loglog(far, deep, "-", color="C0", label="deep (formula)")
    ax.loglog(ns, built, "o", color="C0", label="deep (built)")
    ax.loglog(far, baum, "--", color="C1", label=f"Baum, $d={d}$")
    if enter is not None:
        ax.axvline(enter, color="k", ls=":", lw=1)
    ax.set_xlabel(rf"points $n$ ($\delta={delta}$)")
    ax.set_ylabel("neurons")
    ax.set_title("Part III: deep vs. one layer")
    ax.legend(fontsize=9)
    return fig, {"neurons": built, "baum": baum_built, "crossover": enter,
                 "deep_at_max": int(deep[-1]), "baum_at_max": int(baum[-1])}
