"""multiregion: random within-region blocks plus low-rank couplings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnndyn.connectivity import MultiRegionConnectivity, multiregion

from ._helpers import (
    FLOAT64_RTOL,
    assert_apply_matches_dense,
    assert_top_eigenvalues_match_dense,
    relative_error,
)


def explicit_couplings(sizes: list[int], seed: int = 10) -> dict:
    """(target, source) -> (U, V) arrays including a within-region (r == r') term."""
    rng = np.random.default_rng(seed)
    return {
        (0, 1): (rng.standard_normal((sizes[0], 2)), rng.standard_normal((sizes[1], 2))),
        (1, 1): (rng.standard_normal(sizes[1]), rng.standard_normal(sizes[1])),  # rank 1, 1D
        (2, 0): (rng.standard_normal((sizes[2], 3)), rng.standard_normal((sizes[0], 3))),
    }


CASES = {
    "equal-drawn": ([12, 12, 12], [1.5, 0.5, 1.0], {(0, 1): 2, (1, 1): 1, (2, 0): 3}),
    "unequal-drawn": ([10, 15, 7], [1.5, 0.5, 1.0], {(0, 1): 2, (1, 1): 1, (2, 0): 3}),
    "equal-explicit": ([12, 12, 12], 0.8, explicit_couplings([12, 12, 12])),
    "unequal-explicit": ([10, 15, 7], [1.5, 0.0, 1.0], explicit_couplings([10, 15, 7])),
    "no-couplings": ([9, 5], [1.0, 2.0], None),
    "one-region": ([20], 1.2, {(0, 0): 2}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_multiregion_apply_matches_dense(case: str) -> None:
    sizes, gains, couplings = CASES[case]
    conn = multiregion(sizes, gains, couplings, seed=1)
    assert conn.shape == (sum(sizes), sum(sizes))
    assert_apply_matches_dense(conn)


@pytest.mark.parametrize("case", ["equal-drawn", "unequal-explicit"])
def test_multiregion_eigvals_k_matches_dense(case: str) -> None:
    sizes, gains, couplings = CASES[case]
    assert_top_eigenvalues_match_dense(multiregion(sizes, gains, couplings, seed=2), 4)


def test_multiregion_matches_independent_block_construction() -> None:
    # Rebuild J from the documented draw order with np.block, without using to_dense.
    sizes, gains = [6, 9, 4], [1.5, 0.7, 2.0]
    rng_explicit = np.random.default_rng(99)
    u_20, v_20 = rng_explicit.standard_normal((4, 1)), rng_explicit.standard_normal((6, 1))
    couplings = {(2, 0): (u_20, v_20), (1, 1): 2, (0, 2): 1}
    conn = multiregion(sizes, gains, couplings, seed=5)

    rng = np.random.default_rng(5)
    chi = [rng.standard_normal((size, size)) / math.sqrt(size) for size in sizes]
    u_02, v_02 = rng.standard_normal((6, 1)), rng.standard_normal((4, 1))  # key (0, 2) first
    u_11, v_11 = rng.standard_normal((9, 2)), rng.standard_normal((9, 2))
    blocks = [[np.zeros((sizes[r], sizes[s])) for s in range(3)] for r in range(3)]
    for r in range(3):
        blocks[r][r] = gains[r] * chi[r]
    blocks[0][2] = blocks[0][2] + u_02 @ v_02.T / sizes[2]
    blocks[1][1] = blocks[1][1] + u_11 @ v_11.T / sizes[1]
    blocks[2][0] = blocks[2][0] + u_20 @ v_20.T / sizes[0]
    expected = np.block(blocks)

    x = np.random.default_rng(0).standard_normal((4, sum(sizes)))
    out = conn.apply(torch.from_numpy(x)).numpy()
    assert relative_error(out, x @ expected.T) < FLOAT64_RTOL
    np.testing.assert_allclose(conn.to_dense(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(conn.couplings[(1, 1)][0], u_11)
    np.testing.assert_array_equal(conn.couplings[(2, 0)][1], v_20)


def test_multiregion_attributes() -> None:
    conn = multiregion([3, 2, 4], [1.0, 2.0, 3.0], {(2, 0): 1, (0, 1): 2}, seed=0)
    assert isinstance(conn, MultiRegionConnectivity)
    assert conn.sizes == (3, 2, 4)
    assert conn.n_regions == 3
    np.testing.assert_array_equal(conn.gains, [1.0, 2.0, 3.0])
    assert conn.region_slices == [slice(0, 3), slice(3, 5), slice(5, 9)]
    np.testing.assert_array_equal(conn.region_labels, [0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert conn.region_labels.dtype.kind == "i"
    assert list(conn.couplings) == [(0, 1), (2, 0)]  # sorted by key
    assert conn.coupling_rank == 3
    for block, chi, gain in zip(conn.random_blocks, conn.within_blocks, conn.gains, strict=True):
        np.testing.assert_array_equal(block, gain * chi)
    assert conn.params["couplings"] == {(0, 1): 2, (2, 0): 1}


def test_multiregion_scalar_gain_is_broadcast() -> None:
    conn = multiregion([4, 4], 0.5, seed=0)
    np.testing.assert_array_equal(conn.gains, [0.5, 0.5])
    reference = multiregion([4, 4], [0.5, 0.5], seed=0)
    np.testing.assert_array_equal(conn.to_dense(), reference.to_dense())


def test_multiregion_within_block_statistics() -> None:
    # chi_r entries ~ N(0, 1 / N_r): the variance of g_r chi_r is g_r^2 / N_r; with N_r^2
    # entries the relative SE of a sample variance is sqrt(2) / N_r; allow 5 of them.
    sizes, gains = [150, 100], [2.0, 0.5]
    conn = multiregion(sizes, gains, seed=3)
    for block, size, gain in zip(conn.random_blocks, sizes, gains, strict=True):
        assert abs(block.var() / (gain**2 / size) - 1.0) < 5 * math.sqrt(2.0) / size


def test_readout_and_input_vectors_give_cross_region_currents() -> None:
    sizes = [10, 15, 7]
    conn = multiregion(sizes, [1.0, 1.0, 1.0], {(0, 1): 2, (1, 1): 1, (2, 0): 3}, seed=4)
    readout, labels = conn.readout_vectors()
    inputs = conn.input_vectors()
    assert readout.shape == inputs.shape == (32, 6)
    assert labels == [(0, 1, 0), (0, 1, 1), (1, 1, 0), (2, 0, 0), (2, 0, 1), (2, 0, 2)]
    rates = np.tanh(np.random.default_rng(0).standard_normal((3, 32)))
    currents = rates @ readout
    slices = conn.region_slices
    for column, (target, source, component) in enumerate(labels):
        u, v = conn.couplings[(target, source)]
        expected = rates[:, slices[source]] @ v[:, component] / sizes[source]
        np.testing.assert_allclose(currents[:, column], expected, rtol=1e-12)
        outside = np.ones(32, dtype=bool)
        outside[slices[target]] = False
        assert np.all(inputs[outside, column] == 0.0)
        np.testing.assert_array_equal(inputs[slices[target], column], u[:, component])
    # J = blockdiag(g_r chi_r) + U_big V_big^T
    block_diagonal = np.zeros((32, 32))
    for region, block in zip(slices, conn.random_blocks, strict=True):
        block_diagonal[region, region] = block
    np.testing.assert_allclose(
        conn.to_dense(), block_diagonal + inputs @ readout.T, rtol=1e-12, atol=1e-14
    )


def test_multiregion_class_accepts_explicit_blocks() -> None:
    blocks = [np.eye(2), 2 * np.eye(3)]
    conn = MultiRegionConnectivity(blocks, [1.0, 0.5], {(0, 1): (np.ones(2), np.ones(3))})
    expected = np.zeros((5, 5))
    expected[:2, :2] = np.eye(2)
    expected[2:, 2:] = np.eye(3)
    expected[:2, 2:] = 1.0 / 3.0
    np.testing.assert_allclose(conn.to_dense(), expected, rtol=1e-15)
    assert conn.describe()["kind"] == "multiregion"
    with pytest.raises(ValueError, match="within_blocks must contain at least one block"):
        MultiRegionConnectivity([], 1.0)
    with pytest.raises(ValueError, match=r"within_blocks\[1\] must be a non-empty square"):
        MultiRegionConnectivity([np.eye(2), np.ones((2, 3))], 1.0)
    with pytest.raises(ValueError, match="within_blocks must be a sequence"):
        MultiRegionConnectivity(np.eye(2), 1.0)
    with pytest.raises(ValueError, match="couplings must be a mapping"):
        MultiRegionConnectivity([np.eye(2)], 1.0, couplings=[1, 2])


@pytest.mark.parametrize(
    ("sizes", "gains", "couplings", "message"),
    [
        ([], 1.0, None, "sizes must contain at least one region"),
        (5, 1.0, None, "sizes must be a sequence of positive integers"),
        ([4, 0], 1.0, None, r"sizes\[1\] must be an integer >= 1, got 0"),
        ([4, 2.5], 1.0, None, r"sizes\[1\] must be an integer >= 1, got 2.5"),
        ([4, -1], 1.0, None, r"sizes\[1\] must be an integer >= 1"),
        ([4, 4], [1.0], None, r"gains must be a number or a sequence of length len\(sizes\) = 2"),
        ([4, 4], [1.0, 1.0, 1.0], None, "gains must be a number or a sequence of length"),
        ([4, 4], [1.0, -0.5], None, r"gains\[1\] must be a finite number >= 0, got -0.5"),
        ([4, 4], [1.0, np.nan], None, r"gains\[1\] must be a finite number >= 0"),
        ([4, 4], -1.0, None, "gains must be a finite number >= 0, got -1.0"),
        ([4, 4], 1.0, {(0, 2): 1}, r"couplings keys must be \(target, source\) pairs .* \[0, 1\]"),
        ([4, 4], 1.0, {(-1, 0): 1}, "couplings keys must be"),
        ([4, 4], 1.0, {0: 1}, "couplings keys must be"),
        ([4, 4], 1.0, {(0, 1, 1): 1}, "couplings keys must be"),
        ([4, 4], 1.0, {(0, 1): 0}, r"couplings\[\(0, 1\)\] must be an integer >= 1, got 0"),
        ([4, 4], 1.0, {(0, 1): 1.5}, r"couplings\[\(0, 1\)\] must be an int rank >= 1 or a pair"),
        ([4, 4], 1.0, {(0, 1): np.ones(3)}, r"couplings\[\(0, 1\)\] must be an int rank"),
        ([4, 4], 1.0, [(0, 1)], "couplings must be a mapping"),
        ([4, 3], 1.0, {(0, 1): (np.ones((4, 2)), np.ones((4, 2)))},
         r"couplings\[\(0, 1\)\] V must have shape \(3, rank >= 1\) .* sizes\[1\] = 3"),
        ([4, 3], 1.0, {(1, 0): (np.ones((4, 2)), np.ones((4, 2)))},
         r"couplings\[\(1, 0\)\] U must have shape \(3, rank >= 1\)"),
        ([4, 3], 1.0, {(0, 1): (np.ones((4, 2)), np.ones((3, 1)))},
         "U and V must have the same number of columns"),
        ([4, 3], 1.0, {(0, 1): (np.ones((4, 0)), np.ones((3, 0)))}, "U must have shape"),
        ([4, 3], 1.0, {(0, 1): (np.full(4, np.nan), np.ones(3))}, r"couplings\[\(0, 1\)\] U"),
    ],
)
def test_multiregion_rejects_bad_input(
    sizes: object, gains: object, couplings: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        multiregion(sizes, gains, couplings, seed=0)
