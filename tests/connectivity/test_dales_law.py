"""dale: excitatory/inhibitory columns, balance, row balance, Rajan & Abbott (2006)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnndyn.connectivity import DaleConnectivity, dale

from ._helpers import assert_apply_matches_dense, assert_top_eigenvalues_match_dense

HALF_NORMAL_VARIANCE = 1.0 - 2.0 / math.pi


def test_dale_columns_have_one_sign() -> None:
    conn = dale(50, frac_excitatory=0.8, seed=0)
    assert isinstance(conn, DaleConnectivity)
    matrix = conn.to_dense()
    assert conn.n_excitatory == 40
    np.testing.assert_array_equal(conn.signs, [1] * 40 + [-1] * 10)
    assert np.all(matrix[:, :40] >= 0.0)
    assert np.all(matrix[:, 40:] <= 0.0)


@pytest.mark.parametrize(("n", "frac", "expected"), [(10, 0.75, 8), (10, 0.74, 7), (3, 0.5, 2)])
def test_dale_excitatory_count_rounds_half_up(n: int, frac: float, expected: int) -> None:
    conn = dale(n, frac_excitatory=frac, g_i=1.0, balanced=False, seed=0)
    assert conn.n_excitatory == expected


def test_dale_entry_statistics_match_half_normal() -> None:
    n, g_e, g_i = 500, 1.0, 2.0
    conn = dale(n, frac_excitatory=0.5, g_e=g_e, g_i=g_i, balanced=False, seed=1)
    matrix = conn.to_dense()
    excitatory, inhibitory = matrix[:, :250].ravel(), matrix[:, 250:].ravel()
    sigma_e = g_e / math.sqrt(n * HALF_NORMAL_VARIANCE)
    sigma_i = g_i / math.sqrt(n * HALF_NORMAL_VARIANCE)
    count = excitatory.size
    # Means sigma sqrt(2/pi); SE of a sample mean = sqrt(Var / count) with Var = g^2 / n.
    mean_e, mean_i = sigma_e * math.sqrt(2 / math.pi), -sigma_i * math.sqrt(2 / math.pi)
    assert abs(excitatory.mean() - mean_e) < 5 * (g_e / math.sqrt(n)) / math.sqrt(count)
    assert abs(inhibitory.mean() - mean_i) < 5 * (g_i / math.sqrt(n)) / math.sqrt(count)
    assert conn.params["mean_excitatory"] == pytest.approx(mean_e, rel=1e-12)
    assert conn.params["mean_inhibitory"] == pytest.approx(mean_i, rel=1e-12)
    # Variance g^2 / n; half-normal kurtosis makes the relative SE of the sample variance
    # sqrt((E|z|^4 - ...)/count) < 2 / sqrt(count); 5 of those.
    assert abs(excitatory.var() / (g_e**2 / n) - 1.0) < 10 / math.sqrt(count)
    assert abs(inhibitory.var() / (g_i**2 / n) - 1.0) < 10 / math.sqrt(count)


def test_dale_balanced_means_cancel() -> None:
    n = 400
    conn = dale(n, frac_excitatory=0.8, g_e=1.5, seed=2)
    params = conn.params
    f_e = conn.n_excitatory / n
    assert params["g_i"] == pytest.approx(1.5 * 0.8 / 0.2, rel=1e-12)
    balance = f_e * params["mean_excitatory"] + (1 - f_e) * params["mean_inhibitory"]
    assert abs(balance) < 1e-15
    # Empirical mean of all entries is 0 up to its SE sqrt(mean variance / n^2).
    mean_variance = (f_e * 1.5**2 + (1 - f_e) * params["g_i"] ** 2) / n
    assert abs(conn.to_dense().mean()) < 5 * math.sqrt(mean_variance) / n


def test_dale_row_balance_zero_row_sums_and_signs() -> None:
    conn = dale(200, frac_excitatory=0.7, g_e=1.0, row_balance=True, seed=3)
    matrix = conn.to_dense()
    row_scale = np.abs(matrix).sum(axis=1)
    # Exact up to floating-point summation: a few ulps of the row's absolute sum.
    assert np.all(np.abs(matrix.sum(axis=1)) <= 1e-13 * row_scale)
    assert np.all(matrix[:, :140] >= 0.0)
    assert np.all(matrix[:, 140:] <= 0.0)
    # Only inhibitory weights change, each row by one positive factor.
    plain = dale(200, frac_excitatory=0.7, g_e=1.0, row_balance=False, seed=3).to_dense()
    np.testing.assert_array_equal(matrix[:, :140], plain[:, :140])
    factors = matrix[:, 140:] / plain[:, 140:]
    assert np.all(factors > 0)
    np.testing.assert_allclose(factors, factors[:, :1] * np.ones((1, 60)), rtol=1e-12)


@pytest.mark.slow  # one dense eigendecomposition at n = 1000: ~0.5 s, more on a loaded machine
def test_dale_row_balance_rajan_abbott_radius() -> None:
    # Rajan & Abbott (2006): with zero row sums the bulk eigenvalues fill the disc of radius
    # sqrt(f_E g_e^2 + f_I g_i^2) = sqrt(0.8 + 0.2 * 16) = 2 here. At n = 1000 the largest
    # |lambda| exceeds the asymptotic radius by finite-size edge fluctuations of a few
    # percent (0-9% over 8 seeds, matching RA's exact construction), so a 10% tolerance;
    # requiring >= 0.95 checks the spectrum really reaches the predicted edge.
    n, g_e = 1000, 1.0
    conn = dale(n, frac_excitatory=0.8, g_e=g_e, row_balance=True, seed=3)
    f_e = conn.n_excitatory / n
    radius = math.sqrt(f_e * g_e**2 + (1 - f_e) * conn.params["g_i"] ** 2)
    assert radius == pytest.approx(2.0)
    moduli = np.abs(conn.eigvals())
    assert 0.95 < moduli.max() / radius < 1.10


def test_dale_apply_and_eigvals_match_dense() -> None:
    conn = dale(60, row_balance=True, seed=4)
    assert_apply_matches_dense(conn)
    assert_top_eigenvalues_match_dense(conn, 4)


def test_dale_unbalanced_takes_g_i_as_given() -> None:
    conn = dale(20, frac_excitatory=0.5, g_e=1.0, g_i=3.0, balanced=False, seed=5)
    assert conn.params["g_i"] == 3.0
    only_excitatory = dale(10, frac_excitatory=1.0, g_i=0.0, balanced=False, seed=5)
    assert only_excitatory.n_excitatory == 10
    assert np.all(only_excitatory.to_dense() >= 0)


def test_dale_accepts_consistent_g_i() -> None:
    conn = dale(10, frac_excitatory=0.8, g_e=1.0, g_i=4.0, seed=0)
    assert conn.params["g_i"] == pytest.approx(4.0)


def test_dale_connectivity_checks_signs() -> None:
    matrix = np.array([[1.0, -1.0], [2.0, -0.5]])
    conn = DaleConnectivity(matrix, [1, -1])
    assert conn.n_excitatory == 1
    assert conn.describe()["kind"] == "dale_matrix"
    with pytest.raises(ValueError, match=r"matrix violates Dale's law for signs in columns \[1\]"):
        DaleConnectivity(matrix, [1, 1])
    with pytest.raises(ValueError, match="signs must contain only"):
        DaleConnectivity(matrix, [1, 0])
    with pytest.raises(ValueError, match=r"signs must have shape \(2\)"):
        DaleConnectivity(matrix, [1, -1, 1])
    with pytest.raises(ValueError, match="matrix must be square"):
        DaleConnectivity(np.ones((2, 3)), [1, 1, 1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1, got 0"),
        ({"frac_excitatory": 1.2}, "frac_excitatory must be a finite number >= 0 and <= 1"),
        ({"frac_excitatory": float("nan")}, "frac_excitatory must be a finite number"),
        ({"frac_excitatory": 1.0}, "frac_excitatory must leave at least one excitatory and one"),
        ({"frac_excitatory": 0.01}, r"frac_excitatory must leave .* \(n_E = 0 of n = 10\)"),
        ({"g_e": -1.0}, "g_e must be a finite number >= 0, got -1.0"),
        ({"g_i": 3.0}, r"g_i must equal g_e f_E / f_I = 4.0 when balanced=True .* got 3.0"),
        ({"g_i": -1.0}, "g_i must be a finite number >= 0, got -1.0"),
        ({"balanced": False}, "g_i must be a finite number >= 0 when balanced=False, got None"),
        ({"balanced": False, "g_i": float("inf")}, "g_i must be a finite number >= 0, got inf"),
        ({"balanced": 1}, "balanced must be True or False, got 1"),
        ({"row_balance": "yes"}, "row_balance must be True or False"),
        ({"row_balance": True, "g_e": 0.0}, "row_balance=True needs n_E >= 1, n_I >= 1, g_e > 0"),
        ({"row_balance": True, "balanced": False, "g_i": 0.0}, "row_balance=True needs"),
        ({"row_balance": True, "balanced": False, "g_i": 1.0, "frac_excitatory": 1.0},
         "row_balance=True needs"),
    ],
)
def test_dale_rejects_bad_input(kwargs: dict, message: str) -> None:
    arguments = {"n": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        dale(**arguments)
