"""gaussian(n, g, mean): i.i.d. N(mean/n, g^2/n) entries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnndyn.connectivity import gaussian

from ._helpers import assert_apply_matches_dense


def test_gaussian_entry_mean_and_variance() -> None:
    n, g, mean = 400, 1.5, 2.0
    entries = gaussian(n, g, mean=mean, seed=0).to_dense().ravel()
    count = entries.size
    # Standard error of the sample mean: (g / sqrt(n)) / sqrt(n^2); allow 5 standard errors
    # (a false failure has probability ~6e-7).
    assert abs(entries.mean() - mean / n) < 5 * (g / math.sqrt(n)) / math.sqrt(count)
    # Relative standard error of a Gaussian sample variance: sqrt(2 / count); 5 of them.
    variance = entries.var()
    assert abs(variance / (g**2 / n) - 1.0) < 5 * math.sqrt(2.0 / count)


def test_gaussian_circular_law_radius() -> None:
    # Girko's circular law: the spectrum fills the disc of radius g. At n = 400 the largest
    # |lambda| of a Ginibre matrix exceeds g by O(sqrt(log n / n)) ~ a few percent, so 10%.
    g = 1.3
    values = gaussian(400, g, seed=1).eigvals()
    assert abs(np.abs(values).max() / g - 1.0) < 0.10
    # Uniform density: the fraction inside radius g / 2 is 1/4 (binomial SE ~ 0.02).
    assert abs(np.mean(np.abs(values) < g / 2) - 0.25) < 0.06


def test_gaussian_mean_gives_outlier_at_mean() -> None:
    # Rank-one mean structure mean/n * 1 1^T adds an outlier at ~mean when |mean| > g; its
    # fluctuation is O(g / sqrt(n)) = 0.05 here.
    values = gaussian(400, 1.0, mean=3.0, seed=2).eigvals(1)
    assert abs(values[0] - 3.0) < 0.25


def test_gaussian_apply_matches_dense() -> None:
    assert_apply_matches_dense(gaussian(60, 1.0, mean=0.3, seed=3))


def test_gaussian_params() -> None:
    conn = gaussian(10, 2, mean=1, seed=4)
    assert conn.params == {"kind": "gaussian", "n": 10, "g": 2.0, "mean": 1.0, "seed": 4}
    assert gaussian(10, 0.0, seed=0).to_dense().max() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1, got 0"),
        ({"n": -3}, "n must be an integer >= 1, got -3"),
        ({"n": 2.5}, "n must be an integer >= 1, got 2.5"),
        ({"g": -1.0}, "g must be a finite number >= 0, got -1.0"),
        ({"g": float("nan")}, "g must be a finite number >= 0, got nan"),
        ({"g": float("inf")}, "g must be a finite number >= 0, got inf"),
        ({"mean": float("nan")}, "mean must be a finite number, got nan"),
    ],
)
def test_gaussian_rejects_bad_input(kwargs: dict, message: str) -> None:
    arguments = {"n": 5, "g": 1.0, "mean": 0.0, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        gaussian(**arguments)
