"""Spatial embedding of a network: grid coordinates, distances, wiring cost, weight vs distance.

Public through `rnndyn.analysis.graph`. Conventions: ``W[i, j]`` is the weight from j to i;
only ``|W|`` enters (excitation and inhibition cost the same wire), and the distance
``d_ij = ||x_i - x_j||`` is symmetric, so direction does not matter here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from rnndyn._validation import check_array, check_int, check_number


def as_weight_array(W: Any, name: str = "W") -> np.ndarray:
    """``W`` (array or tensor) as a finite float64 (N, N) array, or a ValueError naming it."""
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().to(torch.float64).numpy()
    w = check_array(name, W, ndim=2)
    if w.shape[0] != w.shape[1] or w.shape[0] == 0:
        raise ValueError(f"{name} must be a square (N, N) matrix with N >= 1, got shape {w.shape}")
    return w


def check_coordinates(coordinates: Any, n: int | None = None) -> np.ndarray:
    """``coordinates`` as a finite (N, d) float64 array (N = n when given), or a ValueError."""
    if isinstance(coordinates, torch.Tensor):
        coordinates = coordinates.detach().cpu().to(torch.float64).numpy()
    x = check_array("coordinates", coordinates, ndim=2)
    if x.shape[1] == 0 or (n is not None and x.shape[0] != n):
        want = "(N, d) with d >= 1" if n is None else f"({n}, d), one row per neuron of W,"
        raise ValueError(f"coordinates must have shape {want} got {x.shape}")
    return x


def grid_coordinates(
    n: int, shape: tuple[int, ...] = (5, 5, 4), spacing: float = 1.0
) -> np.ndarray:
    """Positions of ``n`` neurons on a regular grid (the seRNN embedding: 100 on 5 x 5 x 4).

    Points are ordered as in the seRNN code (``numpy.meshgrid`` of ``arange(shape[k])`` with its
    default ``"xy"`` indexing, raveled), and the first ``n`` are returned.

    Parameters
    ----------
    n : int >= 1
        Number of neurons, at most ``prod(shape)``.
    shape : tuple of int >= 1
        Points along each axis.
    spacing : float > 0
        Distance between neighbouring grid points.

    Returns
    -------
    ndarray (n, len(shape))
        ``x_k = spacing * (i_1, ..., i_D)`` for integer grid indices ``i``.

    Examples
    --------
    >>> grid_coordinates(100).shape
    (100, 3)
    """
    n = check_int("n", n)
    shape = tuple(check_int(f"shape[{k}]", s) for k, s in enumerate(shape))
    if not shape:
        raise ValueError("shape must hold at least one axis length, got ()")
    spacing = check_number("spacing", spacing, low=0.0, low_inclusive=False)
    if n > math.prod(shape):
        raise ValueError(f"n must be <= prod(shape) = {math.prod(shape)}, got {n}")
    axes = np.meshgrid(*(np.arange(s, dtype=np.float64) for s in shape))
    return spacing * np.stack([a.ravel() for a in axes], axis=1)[:n]


def distance_matrix(coordinates: Any) -> np.ndarray:
    """Euclidean distances ``d_ij = sqrt(sum_k (x_ik - x_jk)^2)`` between the rows of (N, d)."""
    x = check_coordinates(coordinates)
    diff = x[:, None, :] - x[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def wiring_cost(W: Any, coordinates: Any) -> float | torch.Tensor:
    """Total wiring cost ``sum_ij |W_ij| d_ij`` (the seRNN spatial penalty without its factor).

    Parameters
    ----------
    W : array or Tensor (N, N)
        Weights, ``W[i, j]`` from j to i. A tensor gives a 0-d tensor that keeps its autograd
        graph (the cost is differentiable wherever no ``W_ij`` is exactly 0).
    coordinates : array (N, d)
        Neuron positions.

    Returns
    -------
    float or 0-d Tensor
    """
    w = as_weight_array(W)
    d = distance_matrix(check_coordinates(coordinates, w.shape[0]))
    if isinstance(W, torch.Tensor):
        return (W.abs() * torch.as_tensor(d, dtype=W.dtype, device=W.device)).sum()
    return float(np.sum(np.abs(w) * d))


@dataclass(frozen=True)
class WeightDistance:
    """How connection strength falls off with distance.

    Attributes
    ----------
    r : float
        Pearson correlation between ``|W_ij|`` and ``d_ij`` over the pairs used (negative:
        strong connections are short). NaN when either is constant.
    rho : float
        Spearman rank correlation of the same pairs.
    n_pairs : int
        Ordered pairs ``i != j`` used (``N (N - 1)``, fewer with ``nonzero_only``).
    bin_edges : ndarray (n_bins + 1,)
    mean_weight : ndarray (n_bins,)
        Mean ``|W_ij|`` of the pairs whose distance falls in each bin (NaN for an empty bin).
    count : ndarray (n_bins,)
        Pairs per bin.
    """

    r: float
    rho: float
    n_pairs: int
    bin_edges: np.ndarray
    mean_weight: np.ndarray
    count: np.ndarray

    @property
    def bin_centers(self) -> np.ndarray:
        """Midpoints of the distance bins."""
        return 0.5 * (self.bin_edges[1:] + self.bin_edges[:-1])


def weight_distance(
    W: Any, coordinates: Any, *, bins: int | Any = 10, nonzero_only: bool = False
) -> WeightDistance:
    """Correlation between connection strength ``|W_ij|`` and distance ``d_ij``, and binned means.

    Every ordered pair ``i != j`` is one point (``W_ij`` and ``W_ji`` both count; self-
    connections have no length and are left out).

    Parameters
    ----------
    W : array or Tensor (N, N)
        Weights, ``W[i, j]`` from j to i; the sign is ignored.
    coordinates : array (N, d)
        Neuron positions.
    bins : int or array of edges
        Distance bins for the means (``numpy.histogram`` semantics).
    nonzero_only : bool
        Use only pairs with ``W_ij != 0`` (as the seRNN analysis of pruned networks does).

    Returns
    -------
    WeightDistance

    Raises
    ------
    ValueError
        If W is not a finite square matrix, coordinates do not have one row per neuron, or
        fewer than two pairs remain.
    """
    w = np.abs(as_weight_array(W))
    d = distance_matrix(check_coordinates(coordinates, w.shape[0]))
    use = ~np.eye(w.shape[0], dtype=bool)
    if nonzero_only:
        use &= w > 0
    wv, dv = w[use], d[use]
    if wv.size < 2:
        raise ValueError(f"W must have at least two usable pairs i != j, got {wv.size}")
    if wv.std() > 0 and dv.std() > 0:
        r = float(np.corrcoef(wv, dv)[0, 1])
        rho = float(spearmanr(wv, dv).statistic)
    else:
        r = rho = float("nan")
    edges = np.histogram_bin_edges(dv, bins=bins)
    count = np.histogram(dv, edges)[0]
    sums = np.histogram(dv, edges, weights=wv)[0]
    mean = np.divide(sums, count, out=np.full(sums.shape, np.nan), where=count > 0)
    return WeightDistance(r=r, rho=rho, n_pairs=int(wv.size), bin_edges=edges,
                          mean_weight=mean, count=count)
