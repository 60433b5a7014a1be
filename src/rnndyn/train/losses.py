"""Task losses of the trainer: named losses and the signature of a user-given one.

A loss is ``loss(outputs, batch) -> scalar tensor`` with ``outputs`` (batch, time, n_outputs)
and ``batch`` the `TrialBatch`; the name "mse" picks `masked_mse`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rnndyn.train._protocols import TrialBatch

__all__ = ["LOSSES", "get_loss", "masked_mse"]

LossFunction = Callable[[torch.Tensor, TrialBatch], torch.Tensor]


def masked_mse(outputs: torch.Tensor, batch: TrialBatch) -> torch.Tensor:
    """Mask-weighted mean squared error.

    L = sum_{b,t,o} m_bto (y_bto - y*_bto)^2 / sum_{b,t,o} m_bto

    Normalised by the total mask weight (not by the number of entries), so L is the mean error
    per scored entry: it does not change with the length of unscored periods (fixation, delay)
    or with the batch size, and a learning rate carries over between tasks.
    """
    mask = batch.mask.to(outputs.dtype)
    error = (outputs - batch.targets.to(outputs.dtype)).square() * mask
    # clamp: a batch with nothing scored gives 0, not 0/0.
    return error.sum() / mask.sum().clamp_min(torch.finfo(mask.dtype).tiny)


LOSSES: dict[str, LossFunction] = {"mse": masked_mse}


def get_loss(loss: str | LossFunction) -> LossFunction:
    """The loss called ``loss`` (see `LOSSES`), or ``loss`` itself if it is callable."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} or a callable "
                     f"loss(outputs, batch) -> scalar tensor, got {loss!r}")
