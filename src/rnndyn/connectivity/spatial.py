"""Neuron positions on a regular 3D grid, for spatially embedded networks.

Spatially embedded RNNs (seRNNs; Achterberg, Akarca et al. 2023, Nature Machine Intelligence)
place 100 units on a 5 x 5 x 4 grid and penalise each weight by the Euclidean distance
between the units it connects; `spatial_grid((5, 5, 4))` gives those positions and distances.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.spatial.distance

from rnndyn._validation import check_int, check_number


@dataclasses.dataclass(frozen=True, eq=False)
class SpatialGrid:
    """Positions of neurons on a regular grid and their pairwise distances.

    Attributes
    ----------
    shape : tuple of 3 ints
        Number of grid points along x, y and z (padded with 1s).
    spacing : float
        Distance between neighbouring grid points.
    positions : numpy.ndarray of shape (n, 3)
        Neuron i sits at spacing * (a, b, c) for its grid index (a, b, c); neurons are ordered
        row-major (C order) over the grid, i.e. i = (a shape[1] + b) shape[2] + c.
    distances : numpy.ndarray of shape (n, n)
        Euclidean distances d_ij = ||positions_i - positions_j||.
    """

    shape: tuple[int, int, int]
    spacing: float
    positions: np.ndarray
    distances: np.ndarray

    @property
    def n(self) -> int:
        """Number of neurons, prod(shape)."""
        return int(self.positions.shape[0])


def spatial_grid(shape: int | Sequence[int], spacing: float = 1.0) -> SpatialGrid:
    """Place neurons on a regular 3D grid.

    position(a, b, c) = spacing * (a, b, c),   d_ij = ||position_i - position_j||_2

    Parameters
    ----------
    shape : int or sequence of 1 to 3 ints >= 1
        Grid points per axis; shorter shapes are padded with 1s to 3D, so (10,) is a line
        along x and (5, 5, 4) the seRNN grid.
    spacing : float > 0
        Distance between neighbouring grid points.

    Returns
    -------
    SpatialGrid
        Frozen; its arrays are read-only.

    Raises
    ------
    ValueError
        If shape has no or more than 3 entries or a non-positive/non-integer entry, or spacing
        is not a finite number > 0.
    """
    dims: Any = (shape,) if isinstance(shape, int | np.integer) else shape
    if isinstance(dims, str | bytes) or not isinstance(dims, Sequence | np.ndarray):
        raise ValueError(f"shape must be a tuple of 1 to 3 positive integers, got {shape!r}")
    if not 1 <= len(dims) <= 3:
        raise ValueError(f"shape must have 1 to 3 entries, got {len(dims)} in {shape!r}")
    dims = tuple(check_int(f"shape[{axis}]", size, low=1) for axis, size in enumerate(dims))
    padded = (*dims, *(1,) * (3 - len(dims)))
    spacing = check_number("spacing", spacing, low=0.0, low_inclusive=False)
    indices = np.indices(padded, dtype=np.float64).reshape(3, -1).T
    positions = np.ascontiguousarray(indices * spacing)
    distances = scipy.spatial.distance.squareform(
        scipy.spatial.distance.pdist(positions, metric="euclidean")
    )
    positions.setflags(write=False)
    distances.setflags(write=False)
    return SpatialGrid(shape=padded, spacing=spacing, positions=positions, distances=distances)
