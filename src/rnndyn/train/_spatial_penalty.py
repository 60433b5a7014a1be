"""`SpatialRegularizer`: the seRNN wiring penalty (public through `rnndyn.train.constraints`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_number
from rnndyn.analysis._graph_communicability import communicability
from rnndyn.analysis._graph_spatial import check_coordinates, distance_matrix, grid_coordinates

__all__ = ["SpatialRegularizer", "default_coordinates"]


def default_coordinates(n: int) -> np.ndarray:
    """Grid positions of ``n`` neurons when neither the regulariser nor the model has any.

    The first ``n`` points of seRNN's 5 x 5 x 4 grid (unit spacing; exactly that grid for
    n = 100) when n <= 100, else the first ``n`` points of a k x k x k cube, k = ceil(n^(1/3)).
    """
    if n <= 100:
        return grid_coordinates(n)
    side = math.ceil(round(n ** (1 / 3), 9))
    return grid_coordinates(n, (side, side, side))


class SpatialRegularizer:
    """Spatially embedded RNN (seRNN) penalty of Achterberg, Akarca et al. (2023).

    penalty = strength * sum_{i,j} |W_ij| * C_ij * D_ij        (communicability=True)
    penalty = strength * sum_{i,j} |W_ij| * D_ij               (communicability=False)

    on the effective recurrent weights W = ``model.recurrent_weights`` (``W[i, j]`` is the
    weight from neuron j to neuron i; Dale signs and the mask are applied, and only |W|
    enters), with

    * ``D_ij = ||x_i - x_j||``, the Euclidean distance between the neuron positions x (the
      ``coordinates`` given here, else ``model.coordinates``, else `default_coordinates`:
      seRNN's 5 x 5 x 4 grid for N = 100);
    * ``C = expm(S^-1/2 |W| S^-1/2)`` with its diagonal set to 0, the weighted communicability
      of Crofts & Higham (2009), ``S = diag(s)`` the **out-strengths**
      ``s_j = sum_i |W_ij|`` (column sums: the total weight leaving neuron j). This is seRNN's
      normalisation: its Keras kernel is ``U = W^T`` and it divides by the row sums of |U|, so
      ``C`` here is seRNN's communicability matrix transposed, aligned with ``W[i, j]``. A
      neuron with zero out-strength gets ``s^-1/2 = 0`` (seRNN would divide by zero).

    The diagonal of C does not change the value (``D_ii = 0``); it is zeroed to match seRNN.
    The penalty is a *sum* over entries, as in seRNN (unlike the means of `WeightPenalty`),
    so seRNN's strengths carry over; it grows with N and the scale of the coordinates.

    Gradients: with ``detach_communicability=False`` (default) the gradient flows through C
    as well as |W|: seRNN computes C inside the loss with TensorFlow ops and no stop-gradient,
    so its optimiser differentiates through ``tf.linalg.expm`` and the strength normalisation.
    The default keeps that, so results compare with the paper. ``detach_communicability=True``
    treats C as a constant of the current step; the gradient is then exactly
    ``strength * sign(W_ij) C_ij D_ij`` with respect to W (a communicability-weighted wiring
    cost, cheaper and easier to interpret). ``communicability=False`` is the distance-only
    wiring cost (seRNN's "SE1" regulariser; `rnndyn.analysis.graph.wiring_cost` times strength).

    Parameters
    ----------
    strength : float
        >= 0.
    coordinates : array (N, d), optional
        Neuron positions; overrides ``model.coordinates``.
    communicability : bool, default True
        Weight each connection's cost by C_ij.
    detach_communicability : bool, default False
        Stop gradients through C (needs ``communicability=True``).

    Examples
    --------
    >>> from rnndyn.train import RateRNN
    >>> reg = SpatialRegularizer(0.01)
    >>> float(reg.penalty(RateRNN(1, 100, 1, seed=0), None).detach()) > 0
    True
    """

    def __init__(self, strength: float, coordinates: Any = None, communicability: bool = True,
                 detach_communicability: bool = False) -> None:
        self.strength = check_number("strength", strength, low=0.0)
        self.coordinates = None if coordinates is None else check_coordinates(coordinates)
        self.communicability = _check_bool("communicability", communicability)
        self.detach_communicability = _check_bool("detach_communicability",
                                                  detach_communicability)
        if self.detach_communicability and not self.communicability:
            raise ValueError("detach_communicability=True needs communicability=True (there is "
                             "no communicability to detach)")
        self.name = "spatial" if self.communicability else "wiring"
        self._fixed: dict[tuple[Any, ...], torch.Tensor] = {}

    def distances(self, model: Any) -> torch.Tensor:
        """``D`` (N, N) in the dtype and on the device of ``model.recurrent_weights``."""
        w = model.recurrent_weights
        n = int(w.shape[0])
        own = getattr(model, "coordinates", None)
        if self.coordinates is None and own is not None:
            x = own.detach().to(torch.float64)
            diff = x[:, None, :] - x[None, :, :]
            return diff.square().sum(-1).sqrt().to(dtype=w.dtype, device=w.device)
        key = (n, w.dtype, w.device)
        if key not in self._fixed:
            if self.coordinates is not None and self.coordinates.shape[0] != n:
                raise ValueError(f"coordinates must have one row per neuron: shape "
                                 f"{self.coordinates.shape} for a model with {n} neurons")
            x = default_coordinates(n) if self.coordinates is None else self.coordinates
            self._fixed[key] = torch.as_tensor(distance_matrix(x), dtype=w.dtype,
                                               device=w.device)
        return self._fixed[key]

    def communicability_matrix(self, model: Any) -> torch.Tensor:
        """``C`` (N, N) with zero diagonal, as used by `penalty` (detached if asked)."""
        return self._communicability(model.recurrent_weights)

    def _communicability(self, w: torch.Tensor) -> torch.Tensor:
        c = communicability(w, normalise=True, strength="out")
        c = c * (1.0 - torch.eye(c.shape[0], dtype=c.dtype, device=c.device))
        return c.detach() if self.detach_communicability else c

    def penalty(self, model: Any, output: Any = None) -> torch.Tensor:
        w = model.recurrent_weights
        if w.dtype in (torch.float16, torch.bfloat16):
            w = w.float()
        cost = w.abs() * self.distances(model).to(w.dtype)
        if self.communicability:
            cost = cost * self._communicability(w)
        return self.strength * cost.sum()

    def __repr__(self) -> str:
        where = "model_or_grid" if self.coordinates is None else f"array{self.coordinates.shape}"
        return (f"SpatialRegularizer(strength={self.strength:g}, coordinates={where}, "
                f"communicability={self.communicability}, "
                f"detach_communicability={self.detach_communicability})")


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
