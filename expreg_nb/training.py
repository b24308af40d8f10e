"""The one gradient-descent loop of the book.

Every model (Part I's exponential regression, Part II's two-layer ReLU network)
supplies a function ``objective(params) -> (residual, grads)`` and a learning
rate per parameter block; :func:`gradient_descent` runs

    params[k] <- params[k] - rates[k] * grads[k]      (blocks with rate 0 stay frozen)

on the quadratic loss ``L = 0.5 * ||residual||^2``, records the loss at every
step, evaluates optional monitors every ``record_every`` steps, shows a tqdm
progress bar for long runs, and stops with :class:`DivergenceError` at the
first non-finite loss.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from tqdm.auto import tqdm

from .backend import to_numpy
from .validation import check_int, check_real

#: Runs with at least this many steps show a progress bar when ``progress=None``.
PROGRESS_MIN_STEPS = 2000


class DivergenceError(FloatingPointError):
    """Gradient descent produced a non-finite loss."""

    def __init__(self, step: int, loss: float, rates: Mapping[str, float]):
        self.step, self.loss, self.rates = step, loss, dict(rates)
        # ``rates`` is keyed by the names the user knows (eta, eta_w, ...).
        rate_txt = ", ".join(f"{k}={v:.3g}" for k, v in self.rates.items())
        halved = ", ".join(f"{k}={v / 2:.3g}" for k, v in self.rates.items() if v > 0)
        super().__init__(
            f"training diverged at step {step}: the loss is {loss} with step sizes {rate_txt}. "
            f"The step size is too large for this data and width; use a smaller one (e.g. {halved})."
        )


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
        """``loss[t] / loss[0]``."""
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
        Step size per block, ``>= 0``; a block with rate 0 is frozen.
    steps
        Maximum number of steps.
    monitors
        ``name -> fn(params)`` evaluated at step 0, every ``record_every`` steps
        and at the last step; each returns a number or a small array.
    tol
        Stop early once ``loss[t] / loss[0] <= tol``.
    rate_names
        How to call each rate in error messages (``{"W": "eta"}``).
    progress
        ``True``/``False`` to force the tqdm bar on/off; ``None`` shows it for
        runs of at least :data:`PROGRESS_MIN_STEPS` steps (and respects
        ``TQDM_DISABLE``).

    Returns
    -------
    (final params, :class:`History`)
    """
    steps = check_int(steps, "steps", minimum=0)
    record_every = check_int(record_every, "record_every", minimum=1)
    rates = {k: check_real(v, f"rate for {k!r}", nonnegative=True) for k, v in rates.items()}
    unknown = set(rates) - set(params)
    if unknown:
        raise ValueError(f"rates name unknown parameter blocks {sorted(unknown)}; have {sorted(params)}")
    if tol is not None:
        tol = check_real(tol, "tol", positive=True)
    monitors = dict(monitors or {})

    params = dict(params)
    losses: list[float] = []
    rec_steps: list[int] = []
    recs: dict[str, list] = {k: [] for k in monitors}

    def record(t):
        rec_steps.append(t)
        for k, fn in monitors.items():
            val = fn(params)
            recs[k].append(float(val) if np.ndim(to_numpy(val)) == 0 else to_numpy(val))

    bar_kw = {}
    if progress is False or (progress is None and steps < PROGRESS_MIN_STEPS):
        bar_kw["disable"] = True
    bar = tqdm(total=steps, desc=desc, leave=False, **bar_kw)
    converged = False
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for t in range(steps + 1):
                residual, grads = objective(params)
                loss = 0.5 * float((residual * residual).sum())
                if not math.isfinite(loss):
                    names = rate_names or {}
                    raise DivergenceError(t, loss, {names.get(k, k): v for k, v in rates.items()})
                losses.append(loss)
                converged = tol is not None and loss <= tol * losses[0]
                last = t == steps or converged
                if t % record_every == 0 or last:
                    record(t)
                if last:
                    break
                for k, eta in rates.items():
                    if eta > 0:
                        params[k] = params[k] - eta * grads[k]
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
