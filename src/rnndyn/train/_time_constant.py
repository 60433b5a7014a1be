"""`TimeConstantPenalty`: target time constants per neuron or region (see `train.constraints`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_array, check_int, check_number
from rnndyn.analysis._graph_spatial import check_coordinates

__all__ = ["TimeConstantPenalty"]


class TimeConstantPenalty:
    """Pull trained time constants toward per-neuron (or per-region) targets.

    penalty = strength * mean_i (log tau_i - log tau*_i)^2

    with ``tau_i = exp(log_tau_i)`` the model's trained time constants and ``tau*_i`` the
    targets: one value for all neurons, one per neuron, one per region (``regions`` maps each
    neuron to a region, ``tau*_i = target_tau[regions[i]]``), or a spatial gradient
    (`along_axis`: log tau* rises linearly along one coordinate axis, a hierarchy of
    integration time scales from sensory to association areas, as in Murray et al. 2014 and
    Chaudhuri et al. 2015).

    The squared error is taken on log tau because the model trains ``log_tau``: the penalty is
    then a quadratic bowl in the trained parameter (gradient ``2 strength (log tau_i -
    log tau*_i) / N``), and a factor-2 error costs the same for a 1 ms and a 1 s time scale.
    The mean over neurons keeps strengths comparable across network sizes. With a scalar
    trained tau the target must be uniform.

    Parameters
    ----------
    strength : float
        >= 0.
    target_tau : float or array
        A float (every neuron), an array (N,) (per neuron) or, with ``regions``, an array
        (n_regions,) (per region); every entry > 0. Targets must be >= the model's ``dt``.
    regions : array of int (N,), optional
        Region label in ``0 .. len(target_tau) - 1`` of each neuron.

    Raises
    ------
    ValueError
        For bad targets or labels here; in `penalty`, for a model without ``train_tau=True``,
        a target of the wrong length, targets below ``dt``, or a non-uniform target for a
        model with a single (scalar) tau.

    Examples
    --------
    >>> import numpy as np
    >>> from rnndyn.train import RateRNN
    >>> model = RateRNN(1, 4, 1, tau=np.ones(4), train_tau=True, seed=0)
    >>> pen = TimeConstantPenalty(1.0, [1.0, 10.0], regions=[0, 0, 1, 1])
    >>> round(float(pen.penalty(model, None).detach()), 4)   # mean of (0, 0, log 10^2, log 10^2)
    2.6509
    """

    def __init__(self, strength: float, target_tau: Any, regions: Any = None) -> None:
        self.strength = check_number("strength", strength, low=0.0)
        self.name = "time_constant"
        self._axis: tuple[int, float, float, np.ndarray | None] | None = None
        if np.ndim(target_tau) == 0:
            target = np.asarray(check_number("target_tau", target_tau, low=0.0,
                                             low_inclusive=False))
        else:
            target = check_array("target_tau", target_tau, ndim=1)
            if target.size == 0 or np.any(target <= 0):
                raise ValueError("target_tau must hold at least one value, every one > 0")
        self.regions = None
        if regions is not None:
            if target.ndim == 0:
                raise ValueError("regions needs target_tau as an array with one value per "
                                 "region, got a single number")
            labels = check_array("regions", regions, ndim=1)
            if np.any(labels != np.round(labels)) or np.any(labels < 0) or \
                    np.any(labels >= target.size):
                raise ValueError(f"regions must hold integer labels in 0 .. {target.size - 1} "
                                 f"(one per entry of target_tau)")
            self.regions = labels.astype(np.int64)
            target = target[self.regions]
        self.target_tau = target

    @classmethod
    def along_axis(cls, strength: float, tau_range: tuple[float, float], axis: int = 0,
                   coordinates: Any = None) -> TimeConstantPenalty:
        """Targets on a spatial gradient: log tau* linear in one coordinate.

        log tau*_i = log tau_lo + (log tau_hi - log tau_lo) (x_i - min x) / (max x - min x)

        with ``x_i = coordinates[i, axis]`` (``model.coordinates`` when None, read at each
        `penalty` call) and ``(tau_lo, tau_hi) = tau_range``.
        """
        lo, hi = (check_number(f"tau_range[{k}]", v, low=0.0, low_inclusive=False)
                  for k, v in enumerate(_pair(tau_range)))
        axis = check_int("axis", axis, low=0)
        coords = None if coordinates is None else check_coordinates(coordinates)
        if coords is not None:
            _along(coords, axis, lo, hi)  # validates axis and spread now
        pen = cls(strength, lo)
        pen._axis = (axis, lo, hi, coords)
        return pen

    def targets(self, model: Any) -> torch.Tensor:
        """tau* for ``model``: shape () or (N,), in the dtype and on the device of log_tau."""
        log_tau = model.log_tau
        n = int(model.n_neurons)
        if self._axis is not None:
            axis, lo, hi, coords = self._axis
            if coords is None:
                if getattr(model, "coordinates", None) is None:
                    raise ValueError("TimeConstantPenalty.along_axis without coordinates needs "
                                     "a model with coordinates (RateRNN(coordinates=...))")
                coords = model.coordinates.detach().cpu().to(torch.float64).numpy()
            target = _along(check_coordinates(coords, n), axis, lo, hi)
        else:
            target = self.target_tau
        if target.ndim == 1 and target.shape[0] != n:
            raise ValueError(f"target_tau must have one value per neuron: {target.shape[0]} "
                             f"values for a model with {n} neurons")
        if np.min(target) < model.dt * (1 - 1e-12):
            raise ValueError(f"target_tau must be >= the model's dt={model.dt:g} (alpha = "
                             f"dt / tau <= 1), got min {float(np.min(target)):g}")
        if log_tau.ndim == 0 and target.ndim == 1 and np.ptp(target) > 0:
            raise ValueError("a target_tau that varies across neurons needs a per-neuron tau: "
                             "build the model with tau=array of shape (N,) and train_tau=True")
        return torch.as_tensor(target, dtype=log_tau.dtype, device=log_tau.device)

    def penalty(self, model: Any, output: Any = None) -> torch.Tensor:
        if not model.log_tau.requires_grad:
            raise ValueError("TimeConstantPenalty needs a model with trained time constants "
                             "(RateRNN(..., train_tau=True)); this model's tau is fixed")
        error = model.log_tau - self.targets(model).log()
        if error.ndim == 0 or error.shape[0] != model.n_neurons:
            error = error.expand(model.n_neurons)
        return self.strength * error.square().mean()

    def __repr__(self) -> str:
        if self._axis is not None:
            axis, lo, hi, _ = self._axis
            return (f"TimeConstantPenalty.along_axis(strength={self.strength:g}, "
                    f"tau_range=({lo:g}, {hi:g}), axis={axis})")
        target = (f"{float(self.target_tau):g}" if self.target_tau.ndim == 0
                  else f"array({self.target_tau.shape[0]})")
        by = "" if self.regions is None else ", regions=array"
        return f"TimeConstantPenalty(strength={self.strength:g}, target_tau={target}{by})"


def _pair(value: Any) -> tuple[Any, Any]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValueError(f"tau_range must be a pair (tau_lo, tau_hi), got {value!r}") from None
    return lo, hi


def _along(coords: np.ndarray, axis: int, lo: float, hi: float) -> np.ndarray:
    if axis >= coords.shape[1]:
        raise ValueError(f"axis must be < the number of coordinate dimensions "
                         f"{coords.shape[1]}, got {axis}")
    x = coords[:, axis]
    spread = float(x.max() - x.min())
    if spread == 0:
        raise ValueError(f"coordinates must vary along axis {axis} for a gradient of time "
                         f"constants; all neurons sit at {float(x[0]):g}")
    return np.exp(np.log(lo) + (np.log(hi) - np.log(lo)) * (x - x.min()) / spread)
