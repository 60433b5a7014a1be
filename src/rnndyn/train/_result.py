"""`TrainingResult`: what `train` returns, with its conversion to an xarray Dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["TrainingResult"]


@dataclass
class TrainingResult:
    """History and outcome of a `train` run (including steps done before a resume).

    Attributes
    ----------
    history : dict[str, ndarray]
        Per training step: ``step`` (0-based), ``loss`` (the optimised total),
        ``task_loss``, ``penalty_<name>`` for each regulariser and ``grad_norm`` (before
        clipping). Per evaluation on the held-out batch (every ``eval_every`` steps and at the
        end): ``eval_step``, ``eval_loss`` (task loss) and ``eval_<metric>`` for each metric of
        ``task.score``.
    best_step : int
        The evaluation step with the lowest ``eval_loss`` (the training step with the lowest
        ``loss`` when there was no evaluation); -1 when no step was run.
    stopped : str
        "n_steps" (ran to the end) or "target_loss" (early stop).
    wall_time : float
        Seconds spent in this call of `train`.
    parameters : dict
        The training arguments, the task name and the model configuration.
    """

    history: dict[str, np.ndarray]
    best_step: int
    stopped: str
    wall_time: float
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        """Number of training steps done."""
        return int(self.history["step"].shape[0])

    @property
    def final_loss(self) -> float:
        """The last step's ``loss`` (NaN when no step was run)."""
        loss = self.history["loss"]
        return float(loss[-1]) if loss.size else float("nan")

    def to_dataset(self) -> xr.Dataset:
        """The history as a Dataset: per-step metrics on ``step``, ``eval_*`` on ``eval_step``.

        ``attrs`` hold ``best_step``, ``stopped``, ``wall_time`` and the parameters as JSON,
        so ``rnndyn.io.save`` can store it.
        """
        steps = self.history["step"]
        evals = self.history.get("eval_step", np.zeros(0, dtype=np.int64))
        variables = {}
        for name, values in self.history.items():
            if name in ("step", "eval_step"):
                continue
            dim = "eval_step" if name.startswith("eval_") else "step"
            variables[name] = xr.DataArray(np.asarray(values), dims=(dim,))
        ds = xr.Dataset(variables, coords={"step": steps, "eval_step": evals})
        ds.attrs.update({
            "rnndyn_kind": "training",
            "best_step": self.best_step,
            "stopped": self.stopped,
            "wall_time": self.wall_time,
            "parameters": json.dumps(self.parameters, default=str),
        })
        return ds

    def __repr__(self) -> str:
        return (f"TrainingResult(n_steps={self.n_steps}, final_loss={self.final_loss:.4g}, "
                f"best_step={self.best_step}, stopped={self.stopped!r}, "
                f"wall_time={self.wall_time:.3g}s)")
