"""Checkpoints and mixed precision of `rnndyn.train.train`.

A checkpoint holds the model and optimiser states, the number of steps done, the base seed and
the history, written atomically (temp file + ``os.replace``) so a crash mid-write leaves the
previous checkpoint intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rnndyn.train._files import atomic_torch_save, torch_load
from rnndyn.train._protocols import Task

__all__ = ["autocast", "load_checkpoint", "mixed_precision_setup", "save_checkpoint"]

_CHECKPOINT_KIND = "training_checkpoint"


class _NoScaler:
    """Stands in for a GradScaler when no float16 scaling is needed."""

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        return loss

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        pass

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        optimizer.step()

    def update(self) -> None:
        pass

    def is_enabled(self) -> bool:
        return False

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def mixed_precision_setup(enabled: bool, device: torch.device) -> tuple[torch.dtype | None, Any]:
    if not enabled:
        return None, _NoScaler()
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        # float16 has a narrow exponent range: scale the loss so small gradients survive.
        return torch.float16, torch.amp.GradScaler("cuda")
    return torch.bfloat16, _NoScaler()


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def save_checkpoint(path: Path, model: Any, optimizer: torch.optim.Optimizer, scaler: Any,
                     step: int, base: int, history: dict[str, list[float]], task: Task) -> None:
    atomic_torch_save({
        "rnndyn_kind": _CHECKPOINT_KIND,
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer_state": optimizer.state_dict(),
        "scaler_state": scaler.state_dict(),
        "next_step": step,
        "seed_base": base,
        "history": {k: list(v) for k, v in history.items()},
        "task_name": str(task.name),
    }, path)


def load_checkpoint(path: Path, model: Any, optimizer: torch.optim.Optimizer, scaler: Any,
                     names: list[str]) -> tuple[int, int, dict[str, list[float]]]:
    data = torch_load(path, _CHECKPOINT_KIND)
    own = model.state_dict()
    saved = data["model_state"]
    for key in set(own) | set(saved):
        if key not in own or key not in saved or own[key].shape != saved[key].shape:
            raise ValueError(
                f"checkpoint {str(path)!r} was written for another model: parameter {key!r} "
                f"is {tuple(saved[key].shape) if key in saved else 'absent'} there and "
                f"{tuple(own[key].shape) if key in own else 'absent'} here")
    history = data["history"]
    missing = [k for k in ("step", "loss", "task_loss", *names, "grad_norm") if k not in history]
    if missing:
        raise ValueError(f"checkpoint {str(path)!r} was written with other regularizers "
                         f"(its history lacks {missing})")
    model.load_state_dict(saved)
    optimizer.load_state_dict(data["optimizer_state"])
    scaler.load_state_dict(data["scaler_state"])
    return int(data["next_step"]), int(data["seed_base"]), history
