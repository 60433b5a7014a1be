"""Regularisers: differentiable penalties added to the task loss (`_protocols.Regularizer`).

Each has a ``name`` (its key in the training history, as ``penalty_<name>``) and
``penalty(model, output) -> scalar tensor``, already multiplied by its ``strength``. Penalties
are means over entries, so a strength carries over between network sizes and trial lengths.
"""

from __future__ import annotations

from typing import Any

import torch

from rnndyn._validation import check_choice, check_number

__all__ = ["ActivityPenalty", "WeightPenalty"]


class ActivityPenalty:
    """Energy cost of activity (Ali et al. 2022, Patterns 3:100639).

    penalty = strength * mean_{b,t,i} |a_bti|^power

    with ``a`` the rates ``phi(gain x)`` (``kind="rates"``) or the currents ``x``
    (``kind="preactivation"``; for alpha = 1 exactly the synaptic input W r + B u + b, the
    preactivation Ali et al. penalise as the cost of synaptic transmission). It can be the only
    objective: train with ``task_weight=0``.

    Parameters
    ----------
    strength : float
        >= 0.
    kind : {"rates", "preactivation"}, default "rates"
    power : float, default 2
        > 0; 1 gives the L1 cost of Ali et al.
    """

    def __init__(self, strength: float, kind: str = "rates", power: float = 2) -> None:
        self.strength = check_number("strength", strength, low=0.0)
        self.kind = check_choice("kind", kind, ("rates", "preactivation"))
        self.power = check_number("power", power, low=0.0, low_inclusive=False)
        self.name = f"activity_{self.kind}"

    def penalty(self, model: Any, output: Any) -> torch.Tensor:
        activity = output.rates if self.kind == "rates" else output.states
        return self.strength * _mean_power(activity, self.power)

    def __repr__(self) -> str:
        return (f"ActivityPenalty(strength={self.strength:g}, kind={self.kind!r}, "
                f"power={self.power:g})")


class WeightPenalty:
    """L1 or L2 penalty on one weight matrix.

    penalty = strength * mean_{ij} |W_ij|^p

    ``which="recurrent"`` penalises the effective ``model.recurrent_weights`` (after Dale signs,
    mask and low-rank product: the connectome the penalty is about), ``"input"`` ``model.w_in``
    and ``"readout"`` ``model.w_out``.

    Parameters
    ----------
    strength : float
        >= 0.
    p : {1, 2}, default 2
    which : {"recurrent", "input", "readout"}, default "recurrent"
    """

    def __init__(self, strength: float, p: int = 2, which: str = "recurrent") -> None:
        self.strength = check_number("strength", strength, low=0.0)
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"p must be 1 or 2, got {p!r}")
        self.p = int(p)
        self.which = check_choice("which", which, ("recurrent", "input", "readout"))
        self.name = f"weight_l{self.p}_{self.which}"

    def penalty(self, model: Any, output: Any) -> torch.Tensor:
        weights = {"recurrent": lambda: model.recurrent_weights,
                   "input": lambda: model.w_in, "readout": lambda: model.w_out}[self.which]()
        return self.strength * _mean_power(weights, self.p)

    def __repr__(self) -> str:
        return f"WeightPenalty(strength={self.strength:g}, p={self.p}, which={self.which!r})"


def _mean_power(values: torch.Tensor, power: float) -> torch.Tensor:
    # Computed in float32 at least, so a bfloat16 forward pass does not round the penalty.
    values = values.float() if values.dtype in (torch.float16, torch.bfloat16) else values
    if values.numel() == 0:
        return values.new_zeros(())
    if power == 2:
        return values.square().mean()
    return values.abs().pow(power).mean()
