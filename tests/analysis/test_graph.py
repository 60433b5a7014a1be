"""Graph measures of weight matrices, checked on graphs with known answers."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import torch

from rnndyn.analysis import _graph_kernels as kernels
from rnndyn.analysis.graph import (
    communicability,
    distance_matrix,
    grid_coordinates,
    modularity,
    small_worldness,
    weight_distance,
    wiring_cost,
)


def _planted(k: int, s: int, between: float) -> np.ndarray:
    """Symmetric S: weight 1 inside each of k blocks of s neurons, ``between`` across."""
    labels = np.repeat(np.arange(k), s)
    S = np.where(labels[:, None] == labels[None, :], 1.0, between)
    np.fill_diagonal(S, 0.0)
    return S


def _directed_signed(S: np.ndarray, seed: int) -> np.ndarray:
    """A W with random signs, each pair's weight put in one random direction (x 2), and a
    nonzero diagonal: (|W| + |W|^T) / 2 off the diagonal is S again."""
    rng = np.random.default_rng(seed)
    coin = rng.random(S.shape) < 0.5
    upper = np.triu(np.ones(S.shape, dtype=bool), 1)
    forward = (upper & coin) | (upper & ~coin).T  # per pair, exactly one of (i, j), (j, i)
    W = np.where(forward, 2 * S, 0.0) * rng.choice([-1.0, 1.0], size=S.shape)
    np.fill_diagonal(W, 5.0)
    return W


def test_modularity_planted_partition_recovers_blocks_and_closed_form_q():
    k, s, between = 4, 10, 0.1
    S = _planted(k, s, between)
    W = _directed_signed(S, seed=0)
    np.testing.assert_allclose((np.abs(W) + np.abs(W).T)[~np.eye(k * s, dtype=bool)] / 2,
                               S[~np.eye(k * s, dtype=bool)])
    result = modularity(W, n_repeats=3, seed=1)
    np.testing.assert_array_equal(result.labels, np.repeat(np.arange(k), s))
    assert result.n_communities == k
    # By hand: every node has strength d = (s - 1) + (N - s) * between, 2m = N d, and each
    # block holds s (s - 1) of the within sum, so Q = k s (s - 1) / (N d) - k (s d / N d)^2
    #   = (s - 1) / d - 1 / k.
    d = (s - 1) + (k * s - s) * between
    assert result.Q == pytest.approx((s - 1) / d - 1 / k, abs=1e-12)
    assert result.Q == pytest.approx(max(result.Q_repeats))
    graph = nx.from_numpy_array(S)
    assert result.Q == pytest.approx(nx.community.modularity(graph, result.communities), abs=1e-12)
    # W holds each within-block pair once, with |W| = 2 (between: 0.2). Binarised at the
    # density of those k s (s - 1) / 2 entries: k disjoint equal cliques, Q = 1 - 1/k.
    binary = modularity(W, density=k * s * (s - 1) / 2 / (k * s * (k * s - 1)), seed=2)
    assert binary.Q == pytest.approx(1 - 1 / k, abs=1e-12)
    # Same seed, same answer.
    again = modularity(W, n_repeats=3, seed=1)
    np.testing.assert_array_equal(again.labels, result.labels)
    np.testing.assert_array_equal(again.Q_repeats, result.Q_repeats)


def test_small_worldness_watts_strogatz_and_erdos_renyi():
    ws = nx.to_numpy_array(nx.watts_strogatz_graph(100, 6, 0.05, seed=1))
    for null in ("rewire", "shuffle"):
        result = small_worldness(ws, density=None, null=null, n_null=40, seed=0)
        # Lattice-like clustering (C ~ 0.5 against ~0.05 in the nulls) with a path length
        # close to random: sigma ~ 8; anything above 3 is unambiguous.
        assert result.sigma > 3, null
        assert result.gamma > 5 and result.lam < 1.5
    # An Erdos-Renyi graph is its own null. Over 40 G(100, 1000) graphs sigma had mean 0.998
    # and sd 0.02 (both nulls), so 0.1 is 5 sd.
    er = nx.to_numpy_array(nx.gnm_random_graph(100, 1000, seed=3))
    for null in ("rewire", "shuffle"):
        result = small_worldness(er, density=None, null=null, n_null=40, seed=0)
        assert abs(result.sigma - 1) < 0.1, (null, result.sigma)


def test_small_worldness_ring_lattice_closed_forms():
    n, k = 60, 6
    ring = nx.to_numpy_array(nx.watts_strogatz_graph(n, k, 0.0))
    result = small_worldness(ring, density=None, path_length="mean", n_null=5, seed=0)
    # Ring lattice, k/2 neighbours each side: C = 3 (k - 2) / (4 (k - 1)) exactly.
    assert result.C == pytest.approx(3 * (k - 2) / (4 * (k - 1)), abs=1e-12)
    # Offset r around the ring costs ceil(min(r, n - r) / (k / 2)) hops.
    hops = [math.ceil(min(r, n - r) / (k // 2)) for r in range(1, n)]
    assert result.L == pytest.approx(np.mean(hops), abs=1e-12)
    harmonic = small_worldness(ring, density=None, n_null=5, seed=0)
    assert harmonic.L == pytest.approx(1 / np.mean(1 / np.array(hops)), abs=1e-12)
    assert result.n_edges == n * k // 2 and result.density == pytest.approx(k / (n - 1))


def test_small_worldness_binarisation_weighting_and_seeds():
    W = np.random.default_rng(0).normal(size=(50, 50))
    result = small_worldness(W, density=0.1, n_null=10, seed=4)
    graph = result.graph
    assert np.array_equal(graph, graph.T) and not np.any(np.diag(graph))
    kept = round(0.1 * 50 * 49)  # directed entries kept; a pair is an edge if either is
    assert kept / 2 <= result.n_edges <= kept
    off = ~np.eye(50, dtype=bool)
    strongest = np.sort(np.abs(W)[off])[-kept]
    assert np.all(graph[(np.abs(W) >= strongest) & off] == 1)
    assert np.count_nonzero(((np.abs(W) >= strongest) & off) | ((np.abs(W.T) >= strongest) & off)
                            ) == 2 * result.n_edges
    same = small_worldness(W, density=0.1, n_null=10, seed=4)
    assert same.sigma == result.sigma
    np.testing.assert_array_equal(same.C_null_samples, result.C_null_samples)
    weighted = small_worldness(W, density=0.1, weighted=True, n_null=10, seed=4)
    assert weighted.null == "shuffle" and result.null == "rewire"
    S = (np.abs(W) + np.abs(W).T) / 2
    np.testing.assert_allclose(weighted.graph, np.where(graph > 0, S, 0.0))
    # Weighted clustering agrees with networkx (Onnela, weights over the maximum).
    expected = np.mean(list(nx.clustering(nx.from_numpy_array(weighted.graph),
                                          weight="weight").values()))
    assert weighted.C == pytest.approx(expected, rel=1e-12)


def test_null_models_keep_what_they_promise():
    rng = np.random.default_rng(0)
    A = nx.to_numpy_array(nx.watts_strogatz_graph(40, 4, 0.1, seed=0))
    weights = np.triu(A * rng.uniform(0.1, 1, A.shape), 1)
    weights += weights.T
    iu = np.triu_indices(40, 1)
    for nulls in (kernels.rewire_nulls(weights, 8, 5, rng), kernels.shuffle_nulls(weights, 8, rng)):
        assert np.array_equal(nulls, nulls.transpose(0, 2, 1))
        assert not np.any(np.diagonal(nulls, axis1=1, axis2=2))
        for g in nulls:  # same weight distribution, hence the same number of edges
            np.testing.assert_array_equal(np.sort(g[iu]), np.sort(weights[iu]))
    rewired = kernels.rewire_nulls(weights, 8, 5, rng)
    np.testing.assert_array_equal(np.count_nonzero(rewired, axis=2),
                                  np.broadcast_to(np.count_nonzero(weights, axis=1), (8, 40)))
    assert np.all(np.any(rewired != weights, axis=(1, 2)))


def _random_weights(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.0, (n, n)) * rng.choice([-1.0, 1.0], (n, n))


def test_communicability_matches_scipy_and_the_sernn_convention():
    W = _random_weights(12, 0)
    A = np.abs(W)
    out = A.sum(axis=0)  # out-strength: W[i, j] is j -> i, so column sums
    expected = scipy.linalg.expm(A / np.sqrt(np.outer(out, out)))
    np.testing.assert_allclose(communicability(W), expected, rtol=1e-13, atol=0)
    inn = A.sum(axis=1)
    np.testing.assert_allclose(communicability(W, strength="in"),
                               scipy.linalg.expm(A / np.sqrt(np.outer(inn, inn))), rtol=1e-13)
    np.testing.assert_allclose(communicability(W, normalise=False), scipy.linalg.expm(A),
                               rtol=1e-13)
    # seRNN (Keras) stores U = W^T and normalises by the row sums of |U|: ours is its transpose.
    U = np.abs(W.T)
    d = np.diag(U.sum(axis=1) ** -0.5)
    np.testing.assert_allclose(communicability(W), scipy.linalg.expm(d @ U @ d).T, rtol=1e-13)
    # A node without outgoing weights gets s^(-1/2) = 0 instead of inf.
    W[:, 3] = 0.0
    C = communicability(W)
    assert np.all(np.isfinite(C)) and C[3, 3] == pytest.approx(1.0)


def test_communicability_torch_agrees_and_differentiates():
    W = _random_weights(10, 1)
    for normalise in (True, False):
        for strength in ("out", "in"):
            t = communicability(torch.tensor(W), normalise, strength=strength)
            assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
            np.testing.assert_allclose(t.numpy(), communicability(W, normalise, strength=strength),
                                       rtol=0, atol=1e-10)
    x = torch.tensor(_random_weights(6, 2), requires_grad=True)
    assert torch.autograd.gradcheck(lambda w: communicability(w), (x,), eps=1e-6, atol=1e-7)
    assert torch.autograd.gradcheck(lambda w: communicability(w, strength="in"), (x,))
    # seRNN's penalty sum |W| C d stays differentiable with a zero-strength node.
    y = torch.tensor(_random_weights(6, 3))
    y[:, 0] = 0.0
    y.requires_grad_(True)
    penalty = (y.abs() * communicability(y) * torch.rand(6, 6, dtype=torch.float64)).sum()
    penalty.backward()
    assert torch.all(torch.isfinite(y.grad))
    f32 = communicability(torch.tensor(W, dtype=torch.float32))
    assert f32.dtype == torch.float32


def test_grid_distances_and_wiring_cost_by_hand():
    x = grid_coordinates(100)
    assert x.shape == (100, 3) and len({tuple(p) for p in x}) == 100
    np.testing.assert_array_equal(x.max(axis=0), [4, 4, 3])
    # seRNN order (numpy.meshgrid, "xy"): z fastest, then x, then y.
    np.testing.assert_array_equal(x[[0, 1, 4, 20]], [[0, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    D = distance_matrix(grid_coordinates(100, spacing=2.0))
    assert np.array_equal(D, D.T) and not np.any(np.diag(D))
    assert D[~np.eye(100, dtype=bool)].min() == 2.0 and D.max() == pytest.approx(2 * math.sqrt(41))
    assert grid_coordinates(7, shape=(3, 3)).shape == (7, 2)
    coords = np.array([[0.0, 0, 0], [3, 4, 0], [0, 0, 1]])  # d01 = 5, d02 = 1, d12 = sqrt(26)
    W = np.array([[9.0, -1, 2], [0.5, 7, 0], [0, -3, 1]])
    by_hand = 1 * 5 + 2 * 1 + 0.5 * 5 + 3 * math.sqrt(26)
    assert wiring_cost(W, coords) == pytest.approx(by_hand, rel=1e-14)
    t = torch.tensor(W, requires_grad=True)
    cost = wiring_cost(t, coords)
    assert float(cost.detach()) == pytest.approx(by_hand, rel=1e-14)
    cost.backward()
    np.testing.assert_allclose(t.grad.numpy(), np.sign(W) * distance_matrix(coords))


def test_weight_distance_negative_for_distance_decay():
    rng = np.random.default_rng(0)
    x = grid_coordinates(100)
    d = distance_matrix(x)
    W = np.exp(-d / 1.5) * rng.lognormal(0, 0.3, d.shape) * rng.choice([-1, 1], d.shape)
    result = weight_distance(W, x, bins=6)
    assert result.n_pairs == 9900 and result.count.sum() == 9900
    assert result.r < -0.5 and result.rho < -0.5
    assert np.all(np.diff(result.mean_weight) < 0)
    shuffled = weight_distance(rng.permutation(W.ravel()).reshape(100, 100), x)
    assert abs(shuffled.r) < 0.05
    W[np.abs(W) < 0.1] = 0.0
    sparse = weight_distance(W, x, nonzero_only=True)
    assert sparse.n_pairs == np.count_nonzero(W[~np.eye(100, dtype=bool)])


def test_spatial_network_is_more_modular_and_small_world_than_its_shuffle():
    # The seRNN comparison in miniature: distance-decaying weights on the 5 x 5 x 4 grid
    # against the same weights placed at random (same distribution, hence same sparsity).
    rng = np.random.default_rng(1)
    d = distance_matrix(grid_coordinates(100))
    spatial = np.exp(-d) * rng.lognormal(0, 0.5, d.shape) * rng.choice([-1, 1], d.shape)
    shuffled = rng.permutation(spatial.ravel()).reshape(d.shape)
    assert modularity(spatial, n_repeats=2, seed=0).Q > modularity(shuffled, n_repeats=2,
                                                                    seed=0).Q + 0.1
    sigma_spatial = small_worldness(spatial, n_null=10, seed=0).sigma
    sigma_shuffled = small_worldness(shuffled, n_null=10, seed=0).sigma
    assert sigma_spatial > 2 and abs(sigma_shuffled - 1) < 0.15


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: modularity(np.ones((3, 4))), "W"),
        (lambda: small_worldness(np.ones((3, 4))), "W"),
        (lambda: communicability(np.ones(4)), "W"),
        (lambda: communicability(torch.ones(3, 4)), "W"),
        (lambda: communicability(np.array([[1.0, np.nan], [0, 1]])), "W"),
        (lambda: communicability(torch.tensor([[1.0, float("nan")], [0, 1]])), "W"),
        (lambda: modularity(np.array([[0.0, np.inf], [1, 0]])), "W"),
        (lambda: modularity(np.zeros((4, 4))), "W"),
        (lambda: modularity(np.ones((4, 4)), resolution=0), "resolution"),
        (lambda: modularity(np.ones((4, 4)), n_repeats=0), "n_repeats"),
        (lambda: small_worldness(np.ones((4, 4)), density=-0.1), "density"),
        (lambda: small_worldness(np.ones((4, 4)), density=1.5), "density"),
        (lambda: modularity(np.ones((4, 4)), density=-0.1), "density"),
        (lambda: small_worldness(np.ones((4, 4)), n_null=0), "n_null"),
        (lambda: small_worldness(np.ones((4, 4)), null="random"), "null"),
        (lambda: small_worldness(np.ones((4, 4)), path_length="max"), "path_length"),
        (lambda: small_worldness(np.eye(4), density=None), "W"),
        (lambda: communicability(np.ones((3, 3)), strength="total"), "strength"),
        (lambda: wiring_cost(np.ones((3, 3)), np.zeros((4, 3))), "coordinates"),
        (lambda: weight_distance(np.ones((3, 3)), np.zeros(3)), "coordinates"),
        (lambda: distance_matrix(np.zeros((3, 0))), "coordinates"),
        (lambda: grid_coordinates(101), "n"),
        (lambda: grid_coordinates(10, spacing=0), "spacing"),
        (lambda: modularity(np.ones((4, 4)), seed=-1), "seed"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
