"""low_rank and random_low_rank: J = M N^T / N."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnndyn.connectivity import LowRankConnectivity, low_rank, random_low_rank

from ._helpers import assert_apply_matches_dense, assert_top_eigenvalues_match_dense


def test_low_rank_dense_is_outer_product_over_n() -> None:
    rng = np.random.default_rng(0)
    left, right = rng.standard_normal((30, 3)), rng.standard_normal((30, 3))
    conn = low_rank(left, right)
    assert isinstance(conn, LowRankConnectivity)
    assert conn.shape == (30, 30)
    assert conn.rank == 3
    expected = sum(np.outer(left[:, r], right[:, r]) for r in range(3)) / 30
    np.testing.assert_allclose(conn.to_dense(), expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(conn.left, left)
    np.testing.assert_array_equal(conn.right, right)
    assert not conn.left.flags.writeable


def test_low_rank_one_dimensional_vectors_mean_rank_one() -> None:
    m, n_vec = np.arange(4.0), np.ones(4)
    conn = low_rank(m, n_vec)
    assert conn.rank == 1
    np.testing.assert_array_equal(conn.to_dense(), np.outer(m, n_vec) / 4)
    out = conn.apply(torch.ones(1, 4, dtype=torch.float64))
    np.testing.assert_array_equal(out.numpy(), [m])  # n^T 1 / N = 1


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_low_rank_apply_matches_dense(rank: int) -> None:
    conn = random_low_rank(50, rank, seed=rank)
    assert_apply_matches_dense(conn)


def test_low_rank_eigenvalues_equal_overlap_eigenvalues() -> None:
    # Closed form: nonzero eigenvalues of M N^T / N are those of O = N^T M / N (R x R).
    rng = np.random.default_rng(1)
    n, rank = 40, 3
    left = rng.standard_normal((n, rank)) + 0.5
    right = rng.standard_normal((n, rank)) + 0.3 * left
    conn = low_rank(left, right)
    overlap = right.T @ left / n
    np.testing.assert_allclose(conn.overlap_matrix(), overlap, rtol=1e-14)
    expected = np.sort_complex(np.linalg.eigvals(overlap))
    top = conn.eigvals()[:rank]
    np.testing.assert_allclose(np.sort_complex(top), expected, atol=1e-8)
    np.testing.assert_allclose(np.sort_complex(conn.eigvals(rank)), expected, atol=1e-8)
    assert np.abs(conn.eigvals()[rank:]).max() < 1e-8  # the rest is the null space


def test_low_rank_eigvals_k_matches_dense() -> None:
    assert_top_eigenvalues_match_dense(random_low_rank(60, 3, seed=2), 3)


def test_random_low_rank_uses_symmetric_square_root_of_covariance() -> None:
    # Documented draw: loadings = z @ C^(1/2) + mean, z = standard_normal((n, 2R)).
    covariance = np.array([[2.0, 0.6], [0.6, 1.0]])
    mean = np.array([0.5, -1.0])
    conn = random_low_rank(25, 1, covariance=covariance, mean=mean, seed=3)
    values, vectors = np.linalg.eigh(covariance)
    square_root = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    loadings = np.random.default_rng(3).standard_normal((25, 2)) @ square_root + mean
    np.testing.assert_allclose(conn.left[:, 0], loadings[:, 0], rtol=1e-12)
    np.testing.assert_allclose(conn.right[:, 0], loadings[:, 1], rtol=1e-12)


def test_random_low_rank_default_is_standard_normal() -> None:
    conn = random_low_rank(10, 2, seed=4)
    loadings = np.random.default_rng(4).standard_normal((10, 4))
    np.testing.assert_array_equal(conn.left, loadings[:, :2])
    np.testing.assert_array_equal(conn.right, loadings[:, 2:])


def test_random_low_rank_sample_statistics() -> None:
    n = 20000
    covariance = np.array([[1.0, 0.5], [0.5, 1.0]])
    mean = np.array([1.0, 0.3])
    conn = random_low_rank(n, 1, covariance=covariance, mean=mean, seed=5)
    loadings = np.column_stack([conn.left[:, 0], conn.right[:, 0]])
    # Sample mean SE = sqrt(var / n) = 0.007; sample covariance SE <= sqrt(2 / n) = 0.01.
    np.testing.assert_allclose(loadings.mean(axis=0), mean, atol=5 * math.sqrt(1.0 / n))
    np.testing.assert_allclose(np.cov(loadings.T), covariance, atol=5 * math.sqrt(2.0 / n))
    # The one nonzero eigenvalue is mean(m n) -> mean_m mean_n + cov(m, n) = 0.8; the SE of
    # the mean of m n is sqrt(Var(m n) / n) < sqrt(4 / n) = 0.014.
    assert abs(conn.overlap_matrix()[0, 0] - 0.8) < 5 * math.sqrt(4.0 / n)


def test_random_low_rank_accepts_singular_covariance() -> None:
    # C = [[1, 1], [1, 1]] forces m_i = n_i exactly.
    conn = random_low_rank(30, 1, covariance=np.ones((2, 2)), seed=6)
    np.testing.assert_allclose(conn.left, conn.right, rtol=1e-12, atol=1e-14)


def test_random_low_rank_params() -> None:
    conn = random_low_rank(10, 2, seed=7)
    assert conn.params["kind"] == "random_low_rank"
    assert conn.params["rank"] == 2
    assert conn.describe()["covariance"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"rank": 0}, "rank must be an integer >= 1, got 0"),
        ({"rank": 1.5}, "rank must be an integer >= 1, got 1.5"),
        ({"covariance": np.eye(3)}, r"covariance must have shape \(4, 4\)"),
        ({"covariance": np.array([[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])},
         "covariance must be symmetric"),
        ({"covariance": -np.eye(4)}, "covariance must be positive semi-definite"),
        ({"covariance": np.full((4, 4), np.nan)}, "covariance must be finite"),
        ({"mean": np.zeros(3)}, r"mean must have shape \(4\)"),
        ({"mean": np.array([0, 0, np.inf, 0])}, "mean must be finite"),
    ],
)
def test_random_low_rank_rejects_bad_input(kwargs: dict, message: str) -> None:
    arguments = {"n": 10, "rank": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        random_low_rank(**arguments)


@pytest.mark.parametrize(
    ("m", "n_vecs", "message"),
    [
        (np.ones((5, 2)), np.ones((5, 3)), r"n_vecs must have the shape of m, \(5, 2\)"),
        (np.ones((5, 2)), np.ones((4, 2)), "n_vecs must have the shape of m"),
        (np.ones((5, 2, 1)), np.ones((5, 2)), "m must have 1 or 2 dimensions"),
        (np.ones((5, 0)), np.ones((5, 0)), "m must have at least one row and one column"),
        (np.ones(5), np.array([1, 1, np.nan, 1, 1]), "n_vecs must be finite"),
    ],
)
def test_low_rank_rejects_bad_vectors(m: np.ndarray, n_vecs: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        low_rank(m, n_vecs)
