"""The one trainer of the book: models as pure functions, one gradient-descent loop.

A **model** (:class:`Model`) is a handful of pure functions over a dict of
parameter blocks, in the spirit of neural-tangents' ``stax`` triples:

``init(m, d, seed) -> params``
    seeded initial parameters (host randomness, moved to the active backend);
``forward(params, X) -> u``
    the outputs on the rows of ``X``;
``residual_and_grads(params, X, y, need) -> (u - y, {block: dL/dblock})``
    the residual and the gradients of L = 0.5 ||u - y||^2 for the blocks in ``need``;
``jvp(params, X, tangents) -> du`` and ``vjp(params, X, e, need) -> {block: J_block^T e}``
    Jacobian products at ``params`` (the linearized model, :func:`linearize`, uses them);
``gram(params, X, need) -> {block: H_block}``
    the empirical kernel of each block, H_block = J_block J_block^T;
``gram_limit(X) -> {block: H_block^inf}`` (or ``None``)
    its infinite-width limit where one exists;
``flips(params, params0, X) -> float`` (or ``None``)
    the fraction of activation signs that differ, for models with activations.

:func:`train` runs gradient descent ``p[k] <- p[k] - rates[k] * grads[k]`` on any
model and returns one :class:`TrainResult` with one vocabulary for what it
records (:data:`RECORDABLE`):

``lambda_min``, ``lambda_max``
    extreme eigenvalues of the **step kernel** K(t) = sum_k rates[k] H_k(t), the
    matrix with u(t+1) - u(t) = -K(t) (u(t) - y) to first order.  It carries the
    rates, so ``lambda_max < 2`` is the stability condition of every model and
    ``1 - lambda_min`` the late per-step contraction.  (For a single block with
    rate eta, lambda_min(H) = lambda_min / eta.)
``kernel_drift``
    records ``kernel_drift`` = ||K(t) - K(0)||_2 and ``kernel_drift_rel`` =
    ||K(t) - K(0)||_2 / ||K(0)||_2;
``movement``
    for every trainable block k (a frozen one reads 0): ``movement_k_max`` and ``movement_k_rms``, the
    largest and the root-mean-square per-neuron distance (rows of a matrix
    block, entries of a vector block), and ``movement_k_rel`` =
    ||p_k(t) - p_k(0)||_F / ||p_k(0)||_F;
``flipped``
    the fraction of activation signs that differ from initialization (models
    that have activations).

The loop itself is :func:`gradient_descent`: it records the loss at every step,
evaluates monitors every ``record_every`` steps, shows a tqdm bar for long runs,
and stops with :class:`DivergenceError` at the first non-finite loss.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from tqdm.auto import tqdm

from .backend import array_module, get_xp, to_device, to_numpy
from .validation import (as_float_array, check_callable, check_int, check_labels, check_mapping,
                         check_monitors, check_params, check_rates, check_real, check_str)

__all__ = ["PROGRESS_MIN_STEPS", "RECORDABLE", "DivergenceError", "History", "Model", "TrainResult",
           "gradient_descent", "linearize", "train"]

#: Runs with at least this many steps show a progress bar when ``progress=None``.
PROGRESS_MIN_STEPS = 2000

#: What :func:`train` can record (see the module docstring for the names it writes).
RECORDABLE = ("lambda_min", "lambda_max", "kernel_drift", "movement", "flipped")


class DivergenceError(FloatingPointError):
    """Gradient descent produced a non-finite loss."""

    def __init__(self, step: int, loss: float, rates: Mapping[str, float]):
        self.step, self.loss, self.rates = step, loss, dict(rates)
        # ``rates`` is keyed by the names the user knows (eta, eta_w, ...).
        rate_txt = ", ".join(f"{k}={v:.3g}" for k, v in self.rates.items())
        if step == 0:
            msg = (
                f"the initial loss is {loss}: no step was taken, so the step size is not the "
                f"cause. The model output or the residual overflows at initialization; rescale "
                f"the inputs (smaller ||x_i||) or the labels."
            )
        else:
            halved = ", ".join(f"{k}={v / 2:.3g}" for k, v in self.rates.items() if v > 0)
            msg = (
                f"training diverged at step {step}: the loss is {loss} with step sizes "
                f"{rate_txt}. The step size is too large for this data and width; use a "
                f"smaller one (e.g. {halved})."
            )
        super().__init__(msg)


@dataclass
class History:
    """Per-step record of a run (NumPy arrays on the host).

    ``loss[t]`` is the loss of the iterate after ``t`` steps (``loss[0]`` at
    initialization).  Monitors are recorded at ``record_steps`` and read with
    ``history["name"]``.
    """

    loss: np.ndarray
    record_steps: np.ndarray
    records: dict = field(default_factory=dict)
    converged: bool = False

    @property
    def steps(self) -> int:
        """Number of gradient steps taken."""
        return len(self.loss) - 1

    @property
    def relative_loss(self) -> np.ndarray:
        """``loss[t] / loss[0]``; a ValueError when L(0) = 0 (the start already fits)."""
        if self.loss[0] == 0:
            raise ValueError("L(0) = 0: the initialization already fits the labels, "
                             "so the loss relative to L(0) is undefined")
        return self.loss / self.loss[0]

    def __getitem__(self, key: str) -> np.ndarray:
        if key == "loss":
            return self.loss
        try:
            return self.records[key]
        except KeyError:
            known = ", ".join(["loss", *self.records])
            raise KeyError(f"history has no record {key!r}; recorded: {known}") from None

    def __contains__(self, key: str) -> bool:
        return key == "loss" or key in self.records


def _stack(values):
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return list(values)




def _record_value(name, val, t):
    """A monitor's value as a float or a host array; NaN or inf is an error naming the monitor and step."""
    host = to_numpy(val)
    if np.ndim(host) == 0:
        try:
            out = float(host)
        except (TypeError, ValueError):
            raise TypeError(f"monitor {name!r} returned {type(val).__name__}, not a number or an array") from None
        ok = math.isfinite(out)
    else:
        out = host
        if out.dtype.kind not in "biuf":
            raise TypeError(f"monitor {name!r} returned an array of dtype {out.dtype}, not of numbers")
        ok = bool(np.isfinite(out).all())
    if not ok:
        raise FloatingPointError(f"monitors[{name!r}] returned a non-finite value (NaN or inf) at step {t}; "
                                 f"a record is never stored as NaN")
    return out


def gradient_descent(
    params: dict,
    objective: Callable,
    rates: Mapping[str, float],
    steps: int,
    *,
    monitors: Mapping[str, Callable] | None = None,
    record_every: int = 1,
    tol: float | None = None,
    progress: bool | None = None,
    desc: str = "gradient descent",
    rate_names: Mapping[str, str] | None = None,
    stop: Callable | None = None,
) -> tuple[dict, History]:
    """Run full-batch gradient descent on ``0.5 * ||residual(params)||^2``.

    Parameters
    ----------
    params
        Parameter blocks (backend arrays); they are not modified in place.
    objective
        ``objective(params) -> (residual, grads)`` with ``grads[k]`` shaped like
        ``params[k]`` for every ``k`` with a positive rate.
    rates
        Step size per block, ``>= 0``; a block with rate 0 (or absent) is frozen.
    steps
        Maximum number of steps.
    monitors
        ``name -> fn(params)`` evaluated at step 0, every ``record_every`` steps
        and at the last step; each returns a number or a small array.
    tol
        Stop early once ``loss[t] / loss[0] <= tol``.
    rate_names
        How to call each rate in error messages (``{"W": "eta"}``).
    stop
        ``stop(losses) -> bool``, called at every recorded step after the monitors
        with the losses so far; ``True`` ends the run there (a stall rule, say).
    progress
        ``True``/``False`` to force the tqdm bar on/off; ``None`` shows it for
        runs of at least :data:`PROGRESS_MIN_STEPS` steps (and respects
        ``TQDM_DISABLE``).

    Returns
    -------
    (final params, :class:`History`)
    """
    check_mapping(params, "params", "a dict of parameter blocks")
    check_callable(objective, "objective")
    steps = check_int(steps, "steps", minimum=0)
    record_every = check_int(record_every, "record_every", minimum=1)
    rates = check_rates(rates, params)
    if tol is not None:
        tol = check_real(tol, "tol", positive=True)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    stop = None if stop is None else check_callable(stop, "stop")
    check_str(desc, "desc")
    check_mapping(rate_names, "rate_names", "a mapping from block to the rate's name", optional=True)
    monitors = check_monitors(monitors)

    params = dict(params)
    losses: list[float] = []
    rec_steps: list[int] = []
    recs: dict[str, list] = {k: [] for k in monitors}
    active = [k for k, eta in rates.items() if eta > 0]

    def record(t):
        rec_steps.append(t)
        for k, fn in monitors.items():
            recs[k].append(_record_value(k, fn(params), t))

    bar_kw = {}
    if progress is False or (progress is None and steps < PROGRESS_MIN_STEPS):
        bar_kw["disable"] = True
    bar = tqdm(total=steps, desc=desc, leave=False, **bar_kw)
    converged = False
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for t in range(steps + 1):
                try:
                    out = objective(params)
                except FloatingPointError as exc:
                    # a model output that overflows after a step is the run diverging (it can jump
                    # past inf between two losses): report it as such, naming the step
                    if t == 0 or isinstance(exc, DivergenceError):
                        raise
                    names = rate_names or {}
                    raise DivergenceError(t, math.inf, {names.get(k, k): v for k, v in rates.items()}) from exc
                if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping)):
                    raise TypeError(f"objective must return a pair (residual, {{block: gradient}}), "
                                    f"got {type(out).__name__}")
                residual, grads = out
                loss = 0.5 * float((residual * residual).sum())
                if not math.isfinite(loss):
                    names = rate_names or {}
                    raise DivergenceError(t, loss, {names.get(k, k): v for k, v in rates.items()})
                losses.append(loss)
                converged = tol is not None and loss <= tol * losses[0]
                last = t == steps or converged
                if t % record_every == 0 or last:
                    record(t)
                    if not last and stop is not None and stop(losses):
                        last = True
                if last:
                    break
                for k in active:
                    if k not in grads:
                        raise KeyError(f"objective returned no gradient for block {k!r}, which has a positive rate")
                    g = grads[k]
                    if tuple(g.shape) != tuple(params[k].shape):
                        raise ValueError(
                            f"objective returned a gradient of shape {tuple(g.shape)} for block {k!r}, "
                            f"which has shape {tuple(params[k].shape)}"
                        )
                    params[k] = params[k] - rates[k] * g
                bar.update(1)
                if t % 50 == 0:
                    bar.set_postfix(loss=f"{loss:.3e}", refresh=False)
        finally:
            bar.close()
    history = History(
        loss=np.asarray(losses),
        record_steps=np.asarray(rec_steps, dtype=int),
        records={k: _stack(v) for k, v in recs.items()},
        converged=converged,
    )
    return params, history


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Model:
    """A model as pure functions over a dict of parameter blocks (see the module docstring).

    ``blocks`` lists every parameter block in order; ``trainable`` the blocks that
    may get a positive rate (Part I's signs ``a`` are fixed, for instance).
    ``check_params(params, X) -> params`` validates user-given parameters.
    """

    name: str
    blocks: tuple
    trainable: tuple
    init: Callable
    forward: Callable
    residual_and_grads: Callable
    jvp: Callable
    vjp: Callable
    gram: Callable
    check_params: Callable
    gram_limit: Callable | None = None
    flips: Callable | None = None
    options: dict = field(default_factory=dict)

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"Model({self.name}{', ' if opts else ''}{opts})"


def linearize(model: Model, params0: Mapping) -> Model:
    r"""The first-order Taylor expansion of ``model`` at ``params0`` (the "NTK" or lazy model).

    u_lin(p, x) = u(p0, x) + J(p0, x) (p - p0): its gradient is J(p0)^T e at every
    step and its kernel is the kernel of ``model`` at ``params0``, constant in time.
    Trained with :func:`train` (``init=params0``, the same rates and steps) it is
    the control that says whether the network did anything its initial kernel
    could not.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    check_mapping(params0, "params0", f"a dict with the blocks {model.blocks}")
    if set(params0) != set(model.blocks):
        raise ValueError(f"params0 must be a dict with the blocks {model.blocks}, got {sorted(map(str, params0))}")
    p0 = check_params(model, params0, name="params0")

    def forward(params, X):
        tangents = {k: params[k] - p0[k] for k in model.trainable}
        return model.forward(p0, X) + model.jvp(p0, X, tangents)

    def residual_and_grads(params, X, y, need):
        e = forward(params, X) - y
        return e, model.vjp(p0, X, e, need)

    def gram(params, X, need):
        return model.gram(p0, X, need)

    return Model(
        name=f"{model.name} (linearized)",
        blocks=model.blocks,
        trainable=model.trainable,
        init=model.init,
        forward=forward,
        residual_and_grads=residual_and_grads,
        jvp=lambda params, X, tangents: model.jvp(p0, X, tangents),
        vjp=lambda params, X, e, need: model.vjp(p0, X, e, need),
        gram=gram,
        check_params=model.check_params,
        gram_limit=model.gram_limit,
        flips=None,
        options={**model.options, "linearized_at": "params0"},
    )


def _per_neuron(diff):
    """Per-neuron distances: row norms of a matrix block, absolute values of a vector block."""
    xp = array_module(diff)
    if diff.ndim == 1:
        return xp.abs(diff)
    return xp.sqrt((diff * diff).reshape(diff.shape[0], -1).sum(axis=1))


@dataclass
class TrainResult:
    """What :func:`train` returns: parameters before and after, rates, model and :class:`History`.

    Blocks read as attributes: ``res.W``, ``res.a`` (final) and ``res.W0``,
    ``res.a0`` (initial).
    """

    model: Model
    params: dict
    params0: dict
    rates: dict
    history: History

    def __getattr__(self, name):
        # Only called for attributes not found normally: expose the blocks.
        d = self.__dict__
        if "params" in d and name in d["params"]:
            return d["params"][name]
        if "params0" in d and name.endswith("0") and name[:-1] in d["params0"]:
            return d["params0"][name[:-1]]
        raise AttributeError(f"TrainResult has no attribute {name!r}")

    @property
    def final_loss(self) -> float:
        """L(T)."""
        return float(self.history.loss[-1])

    @property
    def relative_loss(self) -> float:
        """L(T) / L(0)."""
        return float(self.history.relative_loss[-1])

    def movement(self, block: str = "W", kind: str = "neuron"):
        """How far ``block`` moved: per neuron (``kind="neuron"``, a NumPy array of
        ||w_r(T) - w_r(0)||, or |a_r(T) - a_r(0)| for a vector block) or relative
        (``kind="relative"``, the float ||p(T) - p(0)||_F / ||p(0)||_F)."""
        if block not in self.params:
            raise ValueError(f"block must be one of {sorted(self.params)}, got {block!r}")
        diff = self.params[block] - self.params0[block]
        if kind == "neuron":
            return to_numpy(_per_neuron(diff))
        if kind == "relative":
            xp = array_module(diff)
            base = float(xp.linalg.norm(self.params0[block]))
            if base == 0.0:
                raise ValueError(f"the initial {block} is zero: movement relative to it is undefined")
            return float(xp.linalg.norm(diff)) / base
        raise ValueError(f"kind must be 'neuron' or 'relative', got {kind!r}")


class _KernelCache:
    """The step kernel K = sum_k rates[k] H_k at the current parameters, computed once per step.

    It holds references to the parameter arrays it was computed from, so an
    array id cannot be reused by Python while the cache compares against it.
    """

    def __init__(self, model, X, rates):
        self.model, self.X, self.rates = model, X, rates
        self.need = tuple(k for k, v in rates.items() if v > 0)
        self.arrays, self.K, self.eig, self.drift_value = None, None, None, None

    def kernel(self, params):
        arrays = tuple(params[k] for k in self.model.blocks)
        if self.arrays is None or any(a is not b for a, b in zip(arrays, self.arrays)):
            H = self.model.gram(params, self.X, self.need)
            self.K = sum(self.rates[k] * H[k] for k in self.need)
            self.arrays, self.eig, self.drift_value = arrays, None, None
        return self.K

    def drift(self, params, K0):
        """||K - K0||_2, once per step: the largest |eigenvalue| of the symmetric difference."""
        K = self.kernel(params)
        if self.drift_value is None:
            ev = array_module(K).linalg.eigvalsh(K - K0)
            self.drift_value = float(max(abs(float(ev[0])), abs(float(ev[-1]))))
        return self.drift_value

    def eigvals(self, params):
        K = self.kernel(params)
        if self.eig is None:
            self.eig = array_module(K).linalg.eigvalsh(K)
        return self.eig


def _record_monitors(model, X, rates, params0, record):
    try:
        ok = not isinstance(record, str) and all(isinstance(r, str) for r in record)
    except TypeError:
        ok = False
    if not ok or set(record) - set(RECORDABLE):
        raise ValueError(f"record must be a collection of names from {RECORDABLE}, got {record!r}")
    cache = _KernelCache(model, X, rates)
    monitors = {}
    if "lambda_min" in record:
        monitors["lambda_min"] = lambda p: cache.eigvals(p)[0]
    if "lambda_max" in record:
        monitors["lambda_max"] = lambda p: cache.eigvals(p)[-1]
    if "kernel_drift" in record:
        K0 = cache.kernel(params0)
        xp = array_module(K0)
        K0_norm = float(xp.linalg.norm(K0, 2))
        monitors["kernel_drift"] = lambda p: cache.drift(p, K0)
        if K0_norm > 0:
            monitors["kernel_drift_rel"] = lambda p: cache.drift(p, K0) / K0_norm
        else:
            warnings.warn("K(0) = 0: the relative kernel drift is undefined and not recorded", stacklevel=3)
    if "movement" in record:
        for k in model.trainable:  # a frozen block is recorded too (it reads 0)
            p0 = params0[k]
            xp = array_module(p0)
            monitors[f"movement_{k}_max"] = lambda p, k=k, p0=p0: _per_neuron(p[k] - p0).max()
            monitors[f"movement_{k}_rms"] = (
                lambda p, k=k, p0=p0, xp=xp: xp.sqrt((_per_neuron(p[k] - p0) ** 2).mean())
            )
            base = float(xp.linalg.norm(p0))
            if base > 0:
                monitors[f"movement_{k}_rel"] = (
                    lambda p, k=k, p0=p0, xp=xp, base=base: xp.linalg.norm(p[k] - p0) / base
                )
            else:
                warnings.warn(f"the initial {k} is zero: movement_{k}_rel is undefined and not recorded",
                              stacklevel=3)
    if "flipped" in record:
        if model.flips is None:
            raise ValueError(f"record='flipped' needs a model with activations; {model.name} has none")
        monitors["flipped"] = lambda p: model.flips(p, params0, X)
    return monitors


def train(
    model: Model,
    X,
    y,
    *,
    rates: Mapping[str, float],
    steps: int,
    m: int | None = None,
    seed: int | None = None,
    init=None,
    record=(),
    record_every: int = 1,
    monitors: Mapping[str, Callable] | None = None,
    tol: float | None = None,
    progress: bool | None = None,
    rate_names: Mapping[str, str] | None = None,
    stop: Callable | None = None,
) -> TrainResult:
    """Gradient descent on ``model``: ``p[k] <- p[k] - rates[k] * dL/dp[k]`` for ``steps`` steps.

    Parameters
    ----------
    model
        A :class:`Model`, e.g. ``exponential.model()``, ``relu2.model()`` or a
        :func:`linearize`-d one.
    X, y
        Data (n, d) and labels (n,).  Host arrays are moved to the active backend
        when the initialization is drawn here (``init=None``).
    rates
        Step size per trainable block, e.g. ``{"W": 0.5}`` or ``{"W": eta_w, "a": eta_a}``;
        blocks not named (or with rate 0) stay frozen.
    steps
        Maximum number of steps (>= 0).
    m, seed
        Width and seed of the initialization ``model.init(m, d, seed)``; both are
        required when ``init`` is not given and ignored (may be ``None``) when it is.
    init
        Initial parameters: a dict with every block of the model, or a tuple in
        the order of ``model.blocks`` (checked by ``model.check_params``).
    record
        Names from :data:`RECORDABLE`, evaluated at step 0, every ``record_every``
        steps and at the last step.
    monitors
        Extra ``name -> fn(params)`` to record alongside (e.g. to store parameters).
    tol
        Stop early once L(t)/L(0) <= tol.
    progress
        tqdm progress bar: ``None`` shows it for long runs, ``False`` silences it.
    rate_names
        Names of the rates in error messages (``{"W": "eta"}``).
    stop
        ``stop(losses) -> bool`` at every recorded step: ``True`` ends the run
        (see :func:`gradient_descent`).

    Raises :class:`DivergenceError` (naming the step) when the loss stops being finite.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be an expreg_nb.training.Model, got {type(model).__name__}")
    X = as_float_array(X, "X", ndim=2)
    if init is None:
        if m is None or seed is None:
            raise ValueError("m and seed are required when init is not given")
        m = check_int(m, "m")
        xp = get_xp()
        X = to_device(X, xp)
        y = to_device(as_float_array(y, "y", ndim=1), xp)
        params0 = model.init(m, X.shape[1], seed)
    else:
        if isinstance(init, (tuple, list)):
            if len(init) != len(model.blocks):
                raise TypeError(f"init must be a pair/tuple {model.blocks} or a dict with those "
                                f"blocks, got a sequence of {len(init)}")
            init = dict(zip(model.blocks, init))
        if not isinstance(init, Mapping) or set(init) != set(model.blocks):
            raise TypeError(f"init must be a pair/tuple {model.blocks} or a dict with exactly "
                            f"those blocks, got {type(init).__name__}")
        params0 = model.check_params(dict(init), X)
        if m is not None and check_int(m, "m") != params0[model.blocks[0]].shape[0]:
            raise ValueError(f"init has {params0[model.blocks[0]].shape[0]} neurons but m={m}")
    y = check_labels(y, X)
    if X.shape[0] == 0:
        raise ValueError("X has no rows: there is nothing to train on (n must be >= 1)")
    rates = check_rates(rates, params0)
    frozen = sorted(k for k, v in rates.items() if v > 0 and k not in model.trainable)
    if frozen:
        raise ValueError(f"blocks {frozen} of {model.name} are fixed and cannot have a positive rate; "
                         f"trainable: {model.trainable}")
    if not any(v > 0 for v in rates.values()):
        raise ValueError("every rate is 0: at least one block must be trained")
    need = tuple(k for k, v in rates.items() if v > 0)
    mons = _record_monitors(model, X, rates, params0, record)
    for k, fn in check_monitors(monitors).items():
        if k in mons:
            raise ValueError(f"monitor name {k!r} clashes with a recorded quantity")
        mons[k] = fn

    def objective(p):
        return model.residual_and_grads(p, X, y, need)

    params, history = gradient_descent(
        params0, objective, rates, steps, monitors=mons, record_every=record_every, tol=tol,
        progress=progress, desc=f"{model.name} m={params0[model.blocks[0]].shape[0]}",
        rate_names=rate_names, stop=stop,
    )
    return TrainResult(model=model, params=params, params0=params0, rates=dict(rates), history=history)
