"""Machinery shared by the tasks: durations, epochs, batch assembly and scoring helpers.

Time is in units of the network time constant tau. A duration is a number (fixed) or a
``(low, high)`` pair (drawn per trial, uniformly over the whole numbers of steps in between);
it becomes ``round(duration / dt)`` steps. A trial is a sequence of named epochs; when some
epoch has a variable length the batch lasts as long as the longest possible trial and the
steps after a trial's end form its "padding" period (mask 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_int, check_number
from rnndyn.connectivity._random import resolve_seed
from rnndyn.train._protocols import TrialBatch

Duration = float | tuple[float, float]


def check_dt(dt: Any) -> float:
    """``dt`` as a float > 0, or a ValueError naming it."""
    return check_number("dt", dt, low=0.0, low_inclusive=False)


def check_duration(name: str, value: Any) -> tuple[float, float]:
    """``(low, high)`` in time units from a number >= 0 or a pair ``low <= high``."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number >= 0 or a (low, high) pair, got {value!r}")
        low, high = (check_number(name, v, low=0.0) for v in value)
        if high < low:
            raise ValueError(f"{name} must have low <= high, got {value!r}")
        return low, high
    number = check_number(name, value, low=0.0)
    return number, number


def to_steps(duration: float, dt: float) -> int:
    """Number of steps of ``duration`` (rounded to the nearest step)."""
    return round(duration / dt + 1e-9)   # + 1e-9: halves round up despite round-off


def check_levels(name: str, values: Any, *, low: float = 0.0, high: float = 100.0
                 ) -> np.ndarray:
    """A non-empty 1-D array of distinct numbers in [low, high] (coherences in %)."""
    try:
        array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    bad = (array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array))
           or np.any(array < low) or np.any(array > high)
           or np.unique(array).size != array.size)
    if bad:
        raise ValueError(f"{name} must be distinct numbers in [{low:g}, {high:g}], "
                         f"got {values!r}")
    return array


class Epochs:
    """Consecutive named epochs with fixed or per-trial random lengths.

    Parameters
    ----------
    durations : sequence of (name, duration)
        In trial order; a duration is a number or a (low, high) pair, in time units.
    dt : float
    """

    def __init__(self, durations: Sequence[tuple[str, Any]], dt: float) -> None:
        self.names = [name for name, _ in durations]
        ranges = [check_duration(name, value) for name, value in durations]
        self.steps = [(to_steps(lo, dt), to_steps(hi, dt)) for lo, hi in ranges]
        self.n_steps = sum(hi for _, hi in self.steps)
        self.variable = sum(lo for lo, _ in self.steps) < self.n_steps

    def sample(self, rng: np.random.Generator, batch_size: int
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-trial boundaries ``(batch, n_epochs + 1)`` and ``(batch, time)`` period masks."""
        lengths = np.stack([
            np.full(batch_size, lo) if lo == hi else rng.integers(lo, hi + 1, batch_size)
            for lo, hi in self.steps], axis=1)
        bounds = np.concatenate([np.zeros((batch_size, 1), int), np.cumsum(lengths, 1)], 1)
        t = np.arange(self.n_steps)
        periods = {name: (t >= bounds[:, [i]]) & (t < bounds[:, [i + 1]])
                   for i, name in enumerate(self.names)}
        if self.variable:
            periods["padding"] = t >= bounds[:, [-1]]
        return bounds, periods


def make_batch(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
               periods: dict[str, np.ndarray], conditions: dict[str, Any], dt: float
               ) -> TrialBatch:
    """A `TrialBatch` of float32 tensors, bool period masks and numpy conditions."""
    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return TrialBatch(
        inputs=tensor(inputs), targets=tensor(targets), mask=tensor(mask),
        periods={k: torch.from_numpy(np.ascontiguousarray(v, dtype=bool))
                 for k, v in periods.items()},
        conditions={k: np.asarray(v) for k, v in conditions.items()}, dt=float(dt))


def as_array(outputs: Any) -> np.ndarray:
    """``outputs`` (tensor or array) as a float64 numpy array, detached from autograd."""
    if isinstance(outputs, torch.Tensor):
        return outputs.detach().to("cpu", torch.float64).numpy()
    return np.asarray(outputs, dtype=np.float64)


def period_mean(values: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (batch, time, k) over the steps where ``period`` (batch, time) is
    true, per trial: (batch, k); NaN for a trial with no such step."""
    weight = np.asarray(period, dtype=np.float64)[..., None]
    count = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (values * weight).sum(axis=1) / count


def level_key(value: float) -> str:
    """A stable text form of a coherence level for metric names (``51.2``, ``-5``, ``0``)."""
    return f"{float(value) + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def accuracy_by(correct: np.ndarray, levels: np.ndarray, prefix: str) -> dict[str, float]:
    """``{prefix + level: accuracy}`` over the trials of each level (sorted)."""
    return {f"{prefix}{level_key(v)}": float(np.mean(correct[levels == v]))
            for v in np.unique(levels)}


def regression_scores(outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray
                      ) -> dict[str, float]:
    """Mask-weighted ``mse``, ``nrmse`` (RMSE / target standard deviation) and ``r2``
    (1 - SSE / SST, SST around the weighted target mean)."""
    weight = mask.sum()
    if weight <= 0:
        return {"mse": float("nan"), "nrmse": float("nan"), "r2": float("nan")}
    mse = float((mask * (outputs - targets) ** 2).sum() / weight)
    mean = (mask * targets).sum() / weight
    var = float((mask * (targets - mean) ** 2).sum() / weight)
    nrmse = float(np.sqrt(mse / var)) if var > 0 else float("nan")
    r2 = 1.0 - mse / var if var > 0 else float("nan")
    return {"mse": mse, "nrmse": nrmse, "r2": r2}


class TaskBase:
    """Common behaviour of the tasks: seed handling, argument checks and ``repr``.

    Subclasses set ``name``, ``n_inputs``, ``n_outputs``, ``dt`` and ``_params`` (for
    ``repr``) and implement ``_generate(rng, batch_size)``.
    """

    name: str = ""
    n_inputs: int = 0
    n_outputs: int = 0
    dt: float = 0.1
    _params: dict[str, Any]

    def batch(self, batch_size: int, seed: int | np.random.Generator | None = None
              ) -> TrialBatch:
        """``batch_size`` trials drawn with ``seed`` (int, Generator or None).

        The same int seed gives the same batch; a Generator is advanced.
        """
        batch_size = check_int("batch_size", batch_size)
        rng, _ = resolve_seed(seed)
        return self._generate(rng, batch_size)

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        raise NotImplementedError

    def _outputs(self, outputs: Any, batch: TrialBatch) -> np.ndarray:
        """``outputs`` as float64 (batch, time, n_outputs), or a ValueError."""
        array = as_array(outputs)
        want = (batch.batch_size, batch.n_steps, self.n_outputs)
        if array.shape != want:
            raise ValueError(f"outputs must have shape {want} (batch, time, n_outputs), "
                             f"got {tuple(array.shape)}")
        return array

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in getattr(self, "_params", {}).items())
        return f"{type(self).__name__}({args})"


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is a bool, or a ValueError naming it."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
