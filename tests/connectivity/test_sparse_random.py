"""sparse(n, p, g): Bernoulli(p) mask with N(0, g^2 / (n p)) weights, applied as torch CSR."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import scipy.sparse
import torch

from rnndyn.connectivity import SparseConnectivity, sparse
from rnndyn.connectivity.sparse_random import _bernoulli_flat_indices

from ._helpers import assert_apply_matches_dense, assert_top_eigenvalues_match_dense


def test_sparse_density_and_entry_variance() -> None:
    n, p, g = 400, 0.1, 1.5
    conn = sparse(n, p, g, seed=0)
    count = n * n
    # Binomial SE of the density: sqrt(p (1 - p) / n^2); 5 SE.
    assert abs(conn.nnz / count - p) < 5 * math.sqrt(p * (1 - p) / count)
    values = conn.to_scipy().data
    # Nonzero weights are N(0, g^2 / (n p)): relative SE of their sample variance is
    # sqrt(2 / nnz); 5 SE.
    assert abs(np.mean(values**2) / (g**2 / (n * p)) - 1.0) < 5 * math.sqrt(2.0 / values.size)
    # Over all n^2 entries (zeros included) E[J^2] = g^2 / n; Var[J^2] / E[J^2]^2 = 3/p - 1.
    entries = conn.to_dense().ravel()
    assert abs(np.mean(entries**2) / (g**2 / n) - 1.0) < 5 * math.sqrt((3 / p - 1) / count)
    assert abs(entries.mean()) < 5 * (g / math.sqrt(n)) / n


def test_sparse_entries_are_independent_bernoulli() -> None:
    # Independent entries give Binomial(n, p) row and column counts, with variance
    # n p (1 - p) (a fixed-count construction would give 0). The sample variance of n counts
    # has relative SE ~ sqrt(2 / n) = 0.07; allow 0.3.
    n, p = 400, 0.05
    mask = sparse(n, p, 1.0, seed=1).to_dense() != 0
    for counts in (mask.sum(axis=1), mask.sum(axis=0)):
        assert abs(counts.mean() / (n * p) - 1.0) < 5 * math.sqrt((1 - p) / (n * n * p))
        assert abs(counts.var() / (n * p * (1 - p)) - 1.0) < 0.3


def test_bernoulli_indices_are_sorted_unique_and_in_range() -> None:
    rng = np.random.default_rng(2)
    for total, p in [(1, 0.5), (10, 0.99), (1000, 0.01), (5000, 0.5)]:
        flat = _bernoulli_flat_indices(rng, total, p)
        assert np.all(np.diff(flat) > 0)
        assert flat.size == 0 or (flat[0] >= 0 and flat[-1] < total)
    np.testing.assert_array_equal(_bernoulli_flat_indices(rng, 7, 1.0), np.arange(7))


def test_sparse_p_one_is_dense_gaussian() -> None:
    conn = sparse(30, 1.0, 1.0, seed=3)
    assert conn.nnz == 900
    assert np.all(conn.to_dense() != 0)


def test_sparse_circular_law_radius() -> None:
    # Sparse i.i.d. matrices with n p = 100 follow the circular law of radius g; finite-size
    # excess of max |lambda| at n = 400 is a few percent, so 10%.
    g = 1.2
    values = sparse(400, 0.25, g, seed=4).eigvals()
    assert abs(np.abs(values).max() / g - 1.0) < 0.10


def test_sparse_does_not_allocate_dense_size() -> None:
    # n^2 float64 would be 800 MB; the builder must stay O(nnz) (~1e6 entries here).
    tracemalloc.start()
    try:
        conn = sparse(10_000, 0.01, 1.0, seed=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert conn.nnz == pytest.approx(1e6, rel=0.01)
    assert peak < 100e6


def test_sparse_apply_matches_dense_and_scipy() -> None:
    conn = sparse(80, 0.2, 1.0, seed=6)
    assert_apply_matches_dense(conn)
    x = np.random.default_rng(0).standard_normal((3, 80))
    out = conn.apply(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, (conn.to_scipy() @ x.T).T, rtol=1e-12, atol=1e-14)


def test_sparse_eigvals_k_uses_csr_and_matches_dense() -> None:
    conn = sparse(80, 0.2, 1.0, seed=7)
    assert conn._scipy_operator() is conn._csr  # ARPACK runs on the CSR matrix itself
    assert_top_eigenvalues_match_dense(conn, 4)


def test_sparse_with_no_nonzeros() -> None:
    conn = sparse(3, 1e-9, 1.0, seed=0)
    assert conn.nnz == 0
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    out = conn.apply(x)
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((2, 3)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(conn.eigvals(1), [0.0])
    np.testing.assert_array_equal(conn.eigvals(), np.zeros(3))
    with pytest.raises(ValueError, match="k must be an integer in"):
        conn.eigvals(4)
    with pytest.raises(ValueError, match="which must be one of"):
        conn.eigvals(1, which="XX")


def test_to_scipy_returns_an_independent_csr_copy() -> None:
    conn = sparse(20, 0.3, 1.0, seed=8)
    matrix = conn.to_scipy()
    assert matrix.format == "csr"
    assert matrix.dtype == np.float64
    matrix.data[:] = 0.0
    assert np.any(conn.to_dense() != 0)


def test_sparse_connectivity_wraps_any_scipy_matrix() -> None:
    coo = scipy.sparse.coo_array(([1.0, 2.0, 3.0], ([0, 0, 2], [1, 1, 0])), shape=(3, 4))
    conn = SparseConnectivity(coo)
    expected = np.array([[0, 3.0, 0, 0], [0, 0, 0, 0], [3.0, 0, 0, 0]])  # duplicates summed
    np.testing.assert_array_equal(conn.to_dense(), expected)
    assert conn.describe()["matrix"] == {
        "shape": [3, 4], "dtype": "float64", "nnz": 2, "format": "csr"
    }
    assert_apply_matches_dense(conn)
    with pytest.raises(ValueError, match="matrix must be a scipy sparse matrix, got ndarray"):
        SparseConnectivity(np.eye(3))
    with pytest.raises(ValueError, match="matrix must be finite"):
        SparseConnectivity(scipy.sparse.csr_array(np.array([[np.nan, 1.0]])))
    with pytest.raises(ValueError, match="matrix must be 2D with non-empty axes"):
        SparseConnectivity(scipy.sparse.csr_array((0, 3)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1, got 0"),
        ({"n": 3.5}, "n must be an integer >= 1, got 3.5"),
        ({"p": 0.0}, r"p must be a finite number > 0 and <= 1, got 0.0"),
        ({"p": 1.5}, r"p must be a finite number > 0 and <= 1, got 1.5"),
        ({"p": -0.1}, "p must be a finite number > 0"),
        ({"p": float("nan")}, "p must be a finite number > 0"),
        ({"g": -2.0}, "g must be a finite number >= 0, got -2.0"),
        ({"g": float("inf")}, "g must be a finite number >= 0"),
    ],
)
def test_sparse_rejects_bad_input(kwargs: dict, message: str) -> None:
    arguments = {"n": 10, "p": 0.5, "g": 1.0, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        sparse(**arguments)
