"""The interfaces shared by tasks, the trainer and the constraints of `rnndyn.train`.

Written down first so that tasks, models, regularisers and constraints can be developed and
tested separately and still compose: the trainer only relies on these attributes and methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch


@dataclass(frozen=True)
class TrialBatch:
    """One batch of trials of a task.

    Attributes
    ----------
    inputs : Tensor (batch, time, n_inputs), float32
        The input u(t) at each time step.
    targets : Tensor (batch, time, n_outputs), float32
        The desired output.
    mask : Tensor (batch, time, n_outputs), float32
        Weight of each target entry in the loss (0: not scored, e.g. during fixation of a
        decision task's output or the delay of a recall task).
    periods : dict[str, Tensor (batch, time) bool]
        Named epochs of each trial ("fixation", "stimulus", "delay", "decision", ...); trials
        of a batch may have different period boundaries.
    conditions : dict[str, ndarray (batch,)]
        Per-trial labels (coherence, correct choice, context, ...) for scoring and analysis.
    dt : float
        Time step in units of tau (the network's integration step: alpha = dt / tau).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    periods: dict[str, torch.Tensor] = field(default_factory=dict)
    conditions: dict[str, np.ndarray] = field(default_factory=dict)
    dt: float = 0.1

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.inputs.shape[1])


@runtime_checkable
class Task(Protocol):
    """A task: a seeded generator of `TrialBatch`es and a behavioural score."""

    name: str
    n_inputs: int
    n_outputs: int
    dt: float

    def batch(self, batch_size: int, seed: int | np.random.Generator | None = None
              ) -> TrialBatch:
        """``batch_size`` trials drawn with ``seed``."""
        ...

    def score(self, outputs: torch.Tensor, batch: TrialBatch) -> dict[str, float]:
        """Behavioural metrics (e.g. ``{"accuracy": ...}``) of network ``outputs``
        (batch, time, n_outputs) on ``batch``."""
        ...


@runtime_checkable
class Regularizer(Protocol):
    """A differentiable penalty added to the task loss."""

    name: str

    def penalty(self, model: Any, output: Any) -> torch.Tensor:
        """Scalar tensor (already multiplied by the regulariser's strength); ``model`` is the
        trained module, ``output`` its forward result on the current batch (with rates and
        states), so activity penalties can use it."""
        ...


@runtime_checkable
class Constraint(Protocol):
    """A projection or schedule applied to the parameters after each optimiser step
    (pruning, sign constraints, masks)."""

    name: str

    def apply(self, model: Any, step: int) -> None:
        """Modify ``model``'s parameters in place (under ``torch.no_grad()``) after step
        ``step`` (0-based)."""
        ...
