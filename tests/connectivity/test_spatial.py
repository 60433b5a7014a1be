"""spatial_grid: positions on a regular 3D grid and their Euclidean distances."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from rnndyn.connectivity import SpatialGrid, spatial_grid


def test_serrn_grid_distances_match_brute_force() -> None:
    grid = spatial_grid((5, 5, 4), spacing=1.0)
    assert isinstance(grid, SpatialGrid)
    assert grid.n == 100
    assert grid.shape == (5, 5, 4)
    assert grid.positions.shape == (100, 3)
    assert grid.positions.dtype == np.float64
    expected = np.zeros((100, 100))
    for i, j in itertools.product(range(100), repeat=2):
        expected[i, j] = math.sqrt(sum((grid.positions[i] - grid.positions[j]) ** 2))
    np.testing.assert_allclose(grid.distances, expected, rtol=1e-14, atol=0)
    assert np.all(np.diag(grid.distances) == 0)


def test_positions_are_row_major_grid_indices_times_spacing() -> None:
    grid = spatial_grid((2, 3, 4), spacing=0.5)
    expected = [(a, b, c) for a in range(2) for b in range(3) for c in range(4)]
    np.testing.assert_array_equal(grid.positions, 0.5 * np.array(expected, dtype=float))
    # i = (a shape[1] + b) shape[2] + c
    a, b, c = 1, 2, 3
    np.testing.assert_array_equal(grid.positions[(a * 3 + b) * 4 + c], [0.5, 1.0, 1.5])
    assert grid.distances[0, -1] == pytest.approx(0.5 * math.sqrt(1 + 4 + 9), rel=1e-15)


@pytest.mark.parametrize(
    ("shape", "padded"),
    [((7,), (7, 1, 1)), ((3, 2), (3, 2, 1)), (4, (4, 1, 1)), ([2, 2, 2], (2, 2, 2))],
)
def test_shape_is_padded_to_three_dimensions(shape: object, padded: tuple) -> None:
    grid = spatial_grid(shape)
    assert grid.shape == padded
    assert grid.n == math.prod(padded)
    assert np.all(grid.positions[:, len(np.atleast_1d(shape)):] == 0.0)


def test_line_distances_are_index_differences() -> None:
    grid = spatial_grid((6,), spacing=2.0)
    indices = np.arange(6)
    np.testing.assert_array_equal(grid.distances, 2.0 * np.abs(indices[:, None] - indices))


def test_grid_is_frozen_and_read_only() -> None:
    grid = spatial_grid((2, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        grid.spacing = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        grid.distances[0, 1] = 5.0


@pytest.mark.parametrize(
    ("shape", "spacing", "message"),
    [
        ((), 1.0, "shape must have 1 to 3 entries, got 0"),
        ((2, 2, 2, 2), 1.0, "shape must have 1 to 3 entries, got 4"),
        ((2, 0), 1.0, r"shape\[1\] must be an integer >= 1, got 0"),
        ((2, -1), 1.0, r"shape\[1\] must be an integer >= 1, got -1"),
        ((2.5,), 1.0, r"shape\[0\] must be an integer >= 1, got 2.5"),
        ("abc", 1.0, "shape must be a tuple of 1 to 3 positive integers"),
        (0, 1.0, r"shape\[0\] must be an integer >= 1, got 0"),
        ((2,), 0.0, "spacing must be a finite number > 0, got 0.0"),
        ((2,), -1.0, "spacing must be a finite number > 0"),
        ((2,), float("nan"), "spacing must be a finite number > 0, got nan"),
    ],
)
def test_spatial_grid_rejects_bad_input(shape: object, spacing: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spatial_grid(shape, spacing)
