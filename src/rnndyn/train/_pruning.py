"""`MagnitudePruning`: gradual magnitude pruning of W (public via `rnndyn.train.constraints`)."""

from __future__ import annotations

import math
from typing import Any

import torch

from rnndyn._validation import check_choice, check_int, check_number

__all__ = ["MagnitudePruning"]


class MagnitudePruning:
    """Gradual magnitude pruning of the recurrent weights (Zhu & Gupta 2017, arXiv:1710.01878).

    A constraint (`rnndyn.train._protocols.Constraint`): after the optimiser step of every
    step ``t`` it prunes, and then keeps at exactly zero, the smallest-magnitude entries of the
    effective W = ``model.recurrent_weights``. The scheduled sparsity is

        s(t) = s_f (1 - (1 - p)^3)        (schedule="cubic", Zhu & Gupta)
        s(t) = s_f p                      (schedule="linear")
        p    = clip((t - start_step) / (end_step - start_step), 0, 1)   (1 if end = start)

    with ``s_f = final_sparsity``. The mask is updated at the pruning steps
    ``t = start_step, start_step + frequency, ...`` up to ``end_step`` (always included): at
    each, the entries with the smallest |W_ij| among the not-yet-pruned are added to the
    pruned set until ``round(s(t) * n)`` of the ``n`` prunable entries (those the model's
    ``mask`` allows) are pruned. The set only grows. Between pruning steps the sparsity stays
    at the last value, and after ``end_step`` at ``round(s_f n) / n``; `scheduled_sparsity`
    gives it. The cubic schedule prunes fast early, while many weights are redundant, and
    slowly near the end, giving the network time to recover.

    Pruned entries are set to zero in the raw parameter ``w_rec`` after every step, so every
    forward pass sees exact zeros. (They still receive gradients and Adam moments between the
    optimiser step and the re-zeroing; nothing of those reaches the forward pass.) For a Dale
    model ``w_rec`` holds the magnitudes, W = |w_rec| * sign, so pruning zeroes |W_ij| and signs
    are untouched; masked-out entries are never counted or pruned. Low-rank models are refused
    (ValueError): a zero entry of M N^T / N is not a free parameter.

    One instance belongs to one model. If it is first applied after ``start_step`` (training
    resumed from a checkpoint), the entries of W that are already exactly zero are taken as
    pruned, so the mask survives the restart.

    Parameters
    ----------
    final_sparsity : float
        s_f in [0, 1): fraction of prunable entries pruned at the end.
    start_step, end_step : int
        0 <= start_step <= end_step: the (0-based) trainer steps of the first and last update.
    frequency : int, default 10
        >= 1; steps between mask updates.
    schedule : {"cubic", "linear"}, default "cubic"

    Examples
    --------
    >>> pruning = MagnitudePruning(0.9, start_step=0, end_step=100, frequency=10)
    >>> [round(pruning.scheduled_sparsity(t), 3) for t in (0, 9, 10, 40, 100, 500)]
    [0.0, 0.0, 0.244, 0.706, 0.9, 0.9]
    """

    def __init__(self, final_sparsity: float, start_step: int, end_step: int,
                 frequency: int = 10, schedule: str = "cubic") -> None:
        self.final_sparsity = check_number("final_sparsity", final_sparsity, low=0.0)
        if self.final_sparsity >= 1.0:
            raise ValueError(f"final_sparsity must be < 1 (pruning every weight leaves no "
                             f"network), got {final_sparsity!r}")
        self.start_step = check_int("start_step", start_step, low=0)
        self.end_step = check_int("end_step", end_step, low=0)
        if self.end_step < self.start_step:
            raise ValueError(f"end_step must be >= start_step={self.start_step}, "
                             f"got {end_step!r}")
        self.frequency = check_int("frequency", frequency)
        self.schedule = check_choice("schedule", schedule, ("cubic", "linear"))
        self.name = "pruning"
        self._pruned: torch.Tensor | None = None

    # --- schedule ----------------------------------------------------------------------------
    def is_pruning_step(self, step: int) -> bool:
        """Whether the mask is updated after step ``step``."""
        return self.start_step <= step <= self.end_step and (
            (step - self.start_step) % self.frequency == 0 or step == self.end_step)

    def target_sparsity(self, step: int) -> float:
        """s(step) of the schedule (the value a mask update at ``step`` aims for)."""
        if step < self.start_step:
            return 0.0
        span = self.end_step - self.start_step
        p = 1.0 if span == 0 else min((step - self.start_step) / span, 1.0)
        if self.schedule == "linear":
            return self.final_sparsity * p
        return self.final_sparsity * (1.0 - (1.0 - p) ** 3)

    def scheduled_sparsity(self, step: int) -> float:
        """Sparsity of the mask once ``apply(model, step)`` has run: s at the last update."""
        if step < self.start_step:
            return 0.0
        last = min(step, self.end_step)
        if last < self.end_step:
            last = self.start_step + (last - self.start_step) // self.frequency * self.frequency
        return self.target_sparsity(last)

    # --- state -------------------------------------------------------------------------------
    @property
    def mask(self) -> torch.Tensor | None:
        """Bool (N, N): True where the connection survives pruning (None before `apply`)."""
        return None if self._pruned is None else ~self._pruned

    def sparsity(self, model: Any) -> float:
        """Fraction of the prunable entries (those ``model.mask`` allows) of W exactly 0."""
        with torch.no_grad():
            w = model.recurrent_weights
            allowed = _allowed(model, w)
            return float(((w == 0) & allowed).sum()) / max(int(allowed.sum()), 1)

    # --- constraint --------------------------------------------------------------------------
    def apply(self, model: Any, step: int) -> None:
        if getattr(model, "rank", None) is not None or getattr(model, "w_rec", None) is None:
            raise ValueError("MagnitudePruning needs a full-rank model with a w_rec parameter; "
                             f"this model has rank={getattr(model, 'rank', None)} (entries of a "
                             "low-rank product M N^T are not free parameters and cannot be "
                             "pruned one by one)")
        with torch.no_grad():
            w = model.recurrent_weights
            allowed = _allowed(model, w)
            if self._pruned is None or self._pruned.shape != w.shape:
                self._pruned = torch.zeros(w.shape, dtype=torch.bool, device=w.device)
                if step > self.start_step:  # resumed: zeros of W were pruned before
                    self._pruned |= allowed & (w == 0)
            self._pruned = self._pruned.to(w.device)
            if self.is_pruning_step(step):
                self._prune_to(w, allowed, self.target_sparsity(step))
            model.w_rec.masked_fill_(self._pruned, 0.0)

    def _prune_to(self, w: torch.Tensor, allowed: torch.Tensor, sparsity: float) -> None:
        n_allowed = int(allowed.sum())
        want = math.floor(sparsity * n_allowed + 0.5)
        pruned = self._pruned & allowed
        more = want - int(pruned.sum())
        if more <= 0:
            return
        score = w.abs().to(torch.float64).masked_fill(pruned | ~allowed, math.inf).flatten()
        # Stable sort: ties (e.g. exact zeros) are broken by position, reproducibly.
        order = torch.sort(score, stable=True).indices[:more]
        self._pruned.view(-1)[order] = True

    def __repr__(self) -> str:
        return (f"MagnitudePruning(final_sparsity={self.final_sparsity:g}, "
                f"start_step={self.start_step}, end_step={self.end_step}, "
                f"frequency={self.frequency}, schedule={self.schedule!r})")


def _allowed(model: Any, w: torch.Tensor) -> torch.Tensor:
    mask = getattr(model, "mask", None)
    return torch.ones(w.shape, dtype=torch.bool, device=w.device) if mask is None else mask != 0
