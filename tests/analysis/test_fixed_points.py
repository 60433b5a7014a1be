"""Fixed points of networks whose fixed points are known in closed form.

- Rank one, ``J = (s/N) m m^T`` with ``m_i = +-1`` (tanh): ``x = kappa m`` with
  ``kappa = s tanh(kappa)``; Jacobian eigenvalues ``-1 + s sech^2(kappa)`` (along m) and -1.
- Three such modules side by side (a 3-bit flip-flop): 27 fixed points, those with ``j``
  zero bits have ``j`` unstable directions (8 stable, 12, 6 and 1).
- Hopfield network with orthogonal (Hadamard) patterns: memories ``x = kappa xi`` with
  ``kappa = beta tanh(kappa)``.
- Ring: ``m_i = sqrt(2) (cos theta_i, sin theta_i)`` on evenly spaced angles, ``n = lam m``:
  rotations by ``2 pi / N`` are exact symmetries and the dependence on the angle between them
  is a Fourier mode of order N of an analytic function (~exp(-N)), so at N = 64 the ring is
  exact to round-off: a circle of fixed points with one zero eigenvalue (marginal).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import hadamard
from scipy.optimize import brentq

from rnndyn.analysis.fixed_points import (
    FixedPoints,
    find_fixed_points,
    find_fixed_points_latent,
    sample_initial_states,
)
from rnndyn.connectivity import dense, gaussian, low_rank
from rnndyn.simulate import DiscreteNetwork, Network

torch.set_num_threads(1)
KAPPA = brentq(lambda k: 2.0 * np.tanh(k) - k, 0.5, 3.0)  # kappa = 2 tanh(kappa), 1.9150...


def signs(n, seed=0):
    return np.random.default_rng(seed).choice([-1.0, 1.0], n)


def flip_flop(n_per_bit=10, gain=2.0, seed=0):
    """Three independent rank-one bistable modules with set/reset inputs along M."""
    n = 3 * n_per_bit
    m = np.zeros((n, 3))
    for bit in range(3):
        m[bit * n_per_bit:(bit + 1) * n_per_bit, bit] = signs(n_per_bit, seed + bit)
    # J = M (3 gain M)^T / n: within a module (gain / n_per_bit) m m^T.
    return Network(low_rank(m, 3 * gain * m), input_weights=m), m


def residual(network, x):
    """max |F(x)| computed directly in NumPy, independent of the torch code."""
    j = network.connectivity.to_dense()
    return np.max(np.abs(-x + np.tanh(x) @ j.T), axis=-1)


def test_rank_one_bistable_continuous():
    n = 40
    m = signs(n)
    net = Network(low_rank(m, 2.0 * m), tau=2.0)
    fps = find_fixed_points(net, n_initial=32, seed=1)
    assert len(fps) == 3 and fps.is_fixed.all()
    # Sorted stable first, then unstable (the origin).
    assert list(fps.stability) == ["stable", "stable", "unstable"]
    np.testing.assert_allclose(np.sort(fps.points[:2] @ m / n), [-KAPPA, KAPPA], rtol=1e-10)
    np.testing.assert_allclose(fps.points[2], 0.0, atol=1e-10)
    # Newton reaches the tolerance: |F| <= 1e-10 (F = drift, divided by tau = 2).
    assert np.all(residual(net, fps.points) / 2.0 <= 1e-10)
    assert np.all(fps.q <= 0.5 * n * 1e-20)
    # Eigenvalues divided by tau: (-1 + 2 sech^2 kappa) / 2 along m, -1/2 elsewhere (n - 1).
    top = (-1.0 + 2.0 / np.cosh(KAPPA) ** 2) / 2.0
    np.testing.assert_allclose(fps.eigenvalues[0, 0].real, top, rtol=1e-8)
    np.testing.assert_allclose(fps.eigenvalues[2, 0].real, (2.0 - 1.0) / 2.0, rtol=1e-8)
    np.testing.assert_allclose(fps.eigenvalues[:, 1:].real, -0.5, atol=1e-8)
    # The leading eigenvector is +-m / |m|.
    assert abs(abs(fps.eigenvectors[0, :, 0].real @ m) / np.sqrt(n) - 1.0) < 1e-8
    assert fps.jacobians.shape == (3, n, n)


def test_rank_one_bistable_map_with_leak():
    # x = tanh(A x), A = (2/n) m m^T: x = tanh(c) m with c = 2 tanh(c); the map's Jacobian has
    # eigenvalue (1 - a) + a 2 sech^2(c) along m and 1 - a elsewhere.
    n, leak = 30, 0.5
    m = signs(n, 3)
    net = DiscreteNetwork(low_rank(m, 2.0 * m), leak=leak)
    fps = find_fixed_points(net, n_initial=32, seed=2)
    assert fps.discrete and list(fps.stability) == ["stable", "stable", "unstable"]
    np.testing.assert_allclose(np.sort(fps.points[:2] @ m / n), [-np.tanh(KAPPA),
                                                                   np.tanh(KAPPA)], rtol=1e-10)
    lead = np.abs(fps.eigenvalues[:, 0])
    np.testing.assert_allclose(lead, [1 - leak + leak * 2 / np.cosh(KAPPA) ** 2] * 2
                               + [1 - leak + 2 * leak], rtol=1e-8)
    latent = find_fixed_points_latent(net)
    np.testing.assert_allclose(latent.points, fps.points, atol=1e-9)
    assert list(latent.stability) == list(fps.stability)


def test_flip_flop_has_27_fixed_points_with_the_expected_saddles():
    net, m = flip_flop()
    # The 12 one-zero saddles are found from convex combinations of two attractors that differ
    # in that bit only (1/32 of the pairs) with the mixing weight in the saddle's q-basin
    # (|2a - 1| < 0.46): ~1.4% of the 512 mixed starts, ~7 per saddle, so missing one has a
    # probability ~12 exp(-7) ~ 1%; 1024 starts (~15 per saddle) make it ~1e-5.
    fps = find_fixed_points(net, n_initial=1024, seed=3)
    assert len(fps) == 27 and fps.is_fixed.all()
    kappa = fps.points @ m / 10  # per-module latent: each bit is 0 or +-KAPPA
    bits = np.round(kappa / KAPPA)
    np.testing.assert_allclose(kappa, bits * KAPPA, atol=1e-9)
    assert len({tuple(b) for b in bits}) == 27
    unstable_dims = np.sum(fps.eigenvalues.real > 1e-6, axis=1)
    zeros = np.sum(bits == 0, axis=1)
    np.testing.assert_array_equal(unstable_dims, zeros)
    assert fps.stable.sum() == 8 and np.all(zeros[fps.stable] == 0)


def test_sr_latch_input_selects_one_state():
    # One module (set/reset input along m): with u the latent obeys kappa = 2 tanh(kappa + u)
    # and x = m (kappa + u); for |u| = 1 there is a single root (the latch is set or reset).
    n = 20
    m = signs(n, 5)
    net = Network(low_rank(m, 2.0 * m), input_weights=m)
    for u in (1.0, -1.0):
        fps = find_fixed_points(net, u=[u], n_initial=32, seed=4)
        root = brentq(lambda k, u=u: 2.0 * np.tanh(k + u) - k, -3.0, 3.0)
        assert len(fps) == 1 and list(fps.stability) == ["stable"]
        np.testing.assert_allclose(fps.points[0], m * (root + u), rtol=1e-10)
        assert np.sign(root) == np.sign(u)
    assert len(find_fixed_points(net, u=[0.0], n_initial=32, seed=4)) == 3


def test_hopfield_memories_are_stable_fixed_points():
    n, n_patterns, beta = 16, 4, 2.0
    patterns = hadamard(n)[1:n_patterns + 1].astype(float)  # orthogonal +-1 patterns
    j = beta / n * patterns.T @ patterns
    net = Network(dense(j))
    fps = find_fixed_points(net, n_initial=192, seed=6)
    assert np.all(residual(net, fps.points) <= 1e-10)
    stable = fps.points[fps.stable]
    for xi in patterns:
        for sign in (1.0, -1.0):
            distance = np.min(np.max(np.abs(stable - sign * KAPPA * xi), axis=1))
            assert distance < 1e-9
    # At a memory phi' = sech^2(kappa) everywhere: eigenvalues -1 + beta sech^2(kappa) on the
    # span of the patterns (4 times) and -1 on the rest (12 times).
    memory = np.argmin(np.linalg.norm(fps.points - KAPPA * patterns[0], axis=1))
    expected = np.sort([-1 + beta / np.cosh(KAPPA) ** 2] * 4 + [-1.0] * 12)
    np.testing.assert_allclose(np.sort(fps.eigenvalues[memory].real), expected, atol=1e-9)
    origin = np.argmin(np.linalg.norm(fps.points, axis=1))
    np.testing.assert_allclose(fps.points[origin], 0.0, atol=1e-10)
    assert fps.stability[origin] == "unstable"


def ring_network(n=64, lam=2.0):
    theta = 2 * np.pi * np.arange(n) / n
    m = np.sqrt(2.0) * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    radius = brentq(lambda r: lam * np.mean(np.sqrt(2) * np.cos(theta)
                                            * np.tanh(np.sqrt(2) * r * np.cos(theta))) - r,
                    0.1, 5.0)
    return Network(low_rank(m, lam * m)), m, radius


def test_ring_attractor_points_are_marginal_and_on_the_circle():
    net, m, radius = ring_network()
    fps = find_fixed_points(net, n_initial=48, seed=7)
    kappa = fps.points @ m / 64  # (for this M, kappa = M^T x / N exactly as Sigma_mm = I)
    on_ring = fps.stability == "marginal"
    assert on_ring.sum() >= 5  # a continuum: many distinct points survive deduplication
    np.testing.assert_allclose(np.linalg.norm(kappa[on_ring], axis=1), radius, rtol=1e-9)
    # One zero eigenvalue (|.| at round-off) and one negative radial one; the origin is unstable.
    assert np.all(np.abs(fps.eigenvalues[on_ring, 0].real) < 1e-8)
    assert np.all(fps.eigenvalues[on_ring, 1].real < -0.1)
    assert list(fps.stability[~on_ring]) == ["unstable"]
    # The exact latent search of the theory core lands on the same circle.
    latent = find_fixed_points_latent(net, n_starts=8)
    ring = latent.stability == "marginal"
    assert ring.sum() >= 2
    # x = M kappa, and M^T M / N = I here, so kappa is the same projection as above.
    np.testing.assert_allclose(np.linalg.norm(latent.latent[ring], axis=1), radius, rtol=1e-9)


def test_latent_search_with_bias_and_input_matches_full_search():
    n = 24
    m = signs(n, 8)
    net = Network(low_rank(m, 2.0 * m), input_weights=m[:, None], bias=0.1 * signs(n, 9))
    # Starts spread along m (the bias and input favour one state, so trajectories from random
    # states rarely visit the other): this compares the two solvers, not the sampling.
    rng = np.random.default_rng(10)
    starts = np.linspace(-3, 3, 16)[:, None] * m + 0.1 * rng.standard_normal((16, n))
    full = find_fixed_points(net, starts, u=[0.2])
    latent = find_fixed_points_latent(net, u=[0.2])
    assert len(full) == len(latent) == 3
    np.testing.assert_allclose(full.points, latent.points, atol=1e-9)
    np.testing.assert_array_equal(full.stability, latent.stability)


def test_slow_point_of_a_saddle_node_ghost():
    # J = (2/n) m m^T with bias b m: on x = k m, k' = g(k) = -k + 2 tanh(k) + b (the orthogonal
    # part decays). g has a local minimum at k_c = -arccosh(sqrt 2) (2 sech^2 k = 1), where
    # g = b - b_c with b_c = sqrt(2) - arccosh(sqrt 2) = 0.5328: past the saddle-node
    # (b > b_c) the two negative fixed points are gone and leave a ghost, a local minimum of
    # q = n g^2 / 2 > 0 (the gradient of q off the line vanishes there by symmetry).
    n, b = 10, 0.55
    m = signs(n, 11)
    b_c = np.sqrt(2.0) - np.arccosh(np.sqrt(2.0))
    net = Network(low_rank(m, 2.0 * m), bias=b * m)
    rng = np.random.default_rng(12)
    starts = np.linspace(-3, 3, 25)[:, None] * m + 0.05 * rng.standard_normal((25, n))
    fps = find_fixed_points(net, initial_states=starts, q_slow=1e-2)
    assert fps.is_fixed.sum() == 1 and fps.stability[fps.is_fixed][0] == "stable"
    assert float(fps.points[fps.is_fixed][0] @ m / n) > 0
    slow = fps.subset(~fps.is_fixed)
    assert len(slow) == 1
    # The polish is Gauss-Newton on a non-zero residual there (linear convergence); 1e-4 in k
    # is far tighter than the 1e-2 merging distance yet loose for the 100 damped steps.
    assert float(slow.points[0] @ m / n) == pytest.approx(-np.arccosh(np.sqrt(2.0)), abs=1e-4)
    assert slow.q[0] == pytest.approx(0.5 * n * (b - b_c) ** 2, rel=1e-4)


def test_save_and_load_round_trip(tmp_path):
    n = 12
    m = signs(n, 13)
    fps = find_fixed_points_latent(Network(low_rank(m, 2.0 * m)), n_modes=2)
    path = fps.save(tmp_path / "fps.nc")
    back = FixedPoints.load(path)
    for name in ("points", "q", "is_fixed", "jacobians", "eigenvalues", "eigenvectors",
                 "stability", "latent"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fps, name))
    assert back.eigenvectors.shape == (3, n, 2) and back.discrete is False
    assert back.parameters["method"] == "latent"
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_user_initial_states_and_sampling():
    rng = np.random.default_rng(0)
    traj = rng.standard_normal((5, 2, 4))
    drawn = sample_initial_states(traj, 7, skip=2, seed=1)
    assert drawn.shape == (7, 4)
    assert all(any(np.array_equal(d, s) for s in traj[2:].reshape(-1, 4)) for d in drawn)
    net = Network(gaussian(4, g=0.5, seed=1))  # g < 1: the origin is the only fixed point
    fps = find_fixed_points(net, initial_states=drawn)
    assert len(fps) == 1 and fps.stable[0]
    np.testing.assert_allclose(fps.points[0], 0.0, atol=1e-10)


def test_bad_input_names_the_parameter():
    net = Network(gaussian(5, g=0.5, seed=0))
    bad = np.ones((3, 5))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="initial_states"):
        find_fixed_points(net, initial_states=bad)
    with pytest.raises(ValueError, match="initial_states"):
        find_fixed_points(net, initial_states=np.ones((3, 4)))
    with pytest.raises(ValueError, match="n_modes"):
        find_fixed_points(net, initial_states=np.ones((1, 5)), n_modes=6)
    with pytest.raises(ValueError, match="skip"):
        sample_initial_states(np.ones((4, 1, 5)), 3, skip=4)
    with pytest.raises(ValueError, match="trajectories"):
        sample_initial_states(np.full((4, 5), np.inf), 3)
    with pytest.raises(ValueError, match="tol"):
        find_fixed_points(net, initial_states=np.ones((1, 5)), tol=0.0)
    with pytest.raises(ValueError, match="u was given"):
        find_fixed_points(net, initial_states=np.ones((1, 5)), u=[1.0])
    with pytest.raises(ValueError, match="low-rank"):
        find_fixed_points_latent(net)
    with pytest.raises(ValueError, match="network"):
        find_fixed_points("not a network")
