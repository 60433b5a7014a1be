"""Stationary currents of the multiregion mean-field theory: against the low-rank theory (an
independent implementation of the R = 1 case), the linear criterion and simulation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnndyn import ConvergenceError
from rnndyn.models import MultiRegionModel
from rnndyn.simulate import Projection, simulate
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.gaussian import mean_activity
from rnndyn.theory.lowrank import GaussianLatentDynamics, solve_chaotic, solve_fixed_point
from rnndyn.theory.multiregion import (
    effective_interaction_matrix,
    find_current_fixed_points,
    integrate_currents,
    solve_currents,
)

EXCHANGE = np.zeros((2, 2, 2))
EXCHANGE[0, 1, 0] = 2.0  # S^{01} is driven by S^{10}
EXCHANGE[1, 0, 1] = 1.5  # and S^{10} by S^{01}: a loop of gain sqrt(3)
IDENTITY_U = np.stack([np.eye(2)] * 2)


@pytest.mark.parametrize("g", [0.0, 0.5])
def test_one_region_equals_the_rank_one_low_rank_theory(g):
    # R = 1: x = m S + disorder, S = <n phi(x)>: the rank-one fixed point of
    # theory.lowrank (kappa = S, Sigma_nm = T, Sigma_mm = U), solved by different code.
    t, u = np.array([[[1.7]]]), np.array([[[1.3]]])
    point = solve_currents(t, u, g, "erf", initial_currents=[[1.0]])
    dyn = GaussianLatentDynamics([[1.3, 1.7], [1.7, 4.0]], rank=1, phi="erf")
    expected = solve_fixed_point(dyn, np.array([1.0]), g=g)
    assert point.currents[0, 0] == pytest.approx(float(expected.kappa[0]), rel=1e-7)
    assert point.stable


def test_one_chaotic_region_equals_structured_chaos_of_the_low_rank_theory():
    t, u = np.array([[[2.5]]]), np.array([[[1.0]]])
    point = solve_currents(t, u, 2.0, "tanh", initial_currents=[[1.0]])
    dyn = GaussianLatentDynamics([[1.0, 2.5], [2.5, 9.0]], rank=1, phi="tanh")
    expected = solve_chaotic(dyn, 2.0, kappa0=np.array([1.0]))
    assert abs(point.currents[0, 0]) == pytest.approx(abs(float(expected.kappa[0])), rel=1e-6)
    assert point.variance[0] == pytest.approx(expected.delta0, rel=1e-6)


@pytest.mark.parametrize("g", [0.5, 1.5])
def test_quiescent_currents_are_governed_by_t_hat(g):
    # At S = 0 the region gains are psi = <phi'>(0, Delta0(g)) of the bare random network, and
    # the current Jacobian is T_hat(psi) - I exactly (a closed form built from the DMFT).
    points = find_current_fixed_points(EXCHANGE, IDENTITY_U, g, "erf", n_starts=4)
    zero = points[0]
    assert np.allclose(zero.currents, 0)
    psi = float(mean_activity("erf", 0.0, solve_random_network(g, "erf").delta0,
                              part="derivative"))
    expected = np.linalg.eigvals(effective_interaction_matrix(EXCHANGE, [psi, psi]) - np.eye(4))
    np.testing.assert_allclose(np.sort_complex(zero.eigenvalues), np.sort_complex(expected),
                               atol=1e-6)
    # sqrt(3) psi > 1: the quiescent state is unstable and a symmetric pair of stable
    # exchange states exists.
    assert not zero.stable
    assert len(points) == 3 and all(p.stable for p in points[1:])
    np.testing.assert_allclose(points[1].currents, -points[2].currents, atol=1e-8)


def _exchange(strength: float) -> np.ndarray:
    return EXCHANGE * strength


def _simulated_currents(g: float, n: int, seed: int, strength: float = 1.0) -> np.ndarray:
    model = MultiRegionModel((n, n), (g, g), _exchange(strength), IDENTITY_U, phi="erf")
    network = model.network(seed=seed)
    conn = network.connectivity
    rng = np.random.default_rng(seed + 100)
    # Start on the +S branch: x = m^{01} + m^{10} plus noise.
    x0 = np.concatenate([conn.couplings[(0, 1)][0].ravel(), conn.couplings[(1, 0)][0].ravel()])
    x0 = x0 + 0.5 * rng.standard_normal(2 * n)
    ds = simulate(network, t_max=60.0, dt=0.2,
                  x0=x0, record=[Projection.currents(conn, every=2)], dtype=torch.float32,
                  seed=seed, progress=False)
    current = ds["current"].isel(trial=0)
    # |S| averaged over time: at g > 1 a finite network's chaos can carry the currents from
    # the +S state to the -S one (both stable in theory; the slowest eigenvalue is only -0.18),
    # so the signed average would mix the two branches.
    late = abs(current.where(current["current_time"] > 30.0, drop=True)).median("current_time")
    out = np.zeros((2, 2))
    for k in range(current.sizes["current_component"]):
        out[int(current["target_region"][k]), int(current["source_region"][k])] = float(late[k])
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("g", "strength"), [(0.5, 1.0), (1.5, 1.6)])
def test_stationary_currents_match_simulation(g, strength):
    # Currents are averages over N = 1000 neurons of n phi(x): their finite-N error is
    # O(|S| / sqrt(N)) ~ 3% per network, plus chaotic temporal fluctuations at g = 1.5 averaged
    # over t = 30. Averaging 3 networks, 8% of the current covers both. Amid chaos the
    # exchange is made stronger (loop gain 2.8 instead of 1.7): near the onset of the currents
    # their size depends steeply on the O(1/sqrt(N)) shifts of the realised overlaps.
    points = find_current_fixed_points(_exchange(strength), IDENTITY_U, g, "erf", n_starts=4)
    theory = max(points, key=lambda p: p.currents[0, 1]).currents
    simulated = np.mean([_simulated_currents(g, 1000, seed, strength) for seed in range(3)],
                        axis=0)
    for index in [(0, 1), (1, 0)]:
        assert simulated[index] == pytest.approx(abs(theory[index]), rel=0.08)
    for index in [(0, 0), (1, 1)]:  # no interaction feeds these: O(1/sqrt(N)) only
        assert abs(simulated[index]) < 0.1


def test_bad_input_and_convergence():
    with pytest.raises(ValueError, match="interactions"):
        solve_currents(np.zeros((2, 2)), IDENTITY_U, initial_currents=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="input_overlaps"):
        solve_currents(EXCHANGE, np.zeros((3, 2, 2)), initial_currents=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="disorder"):
        solve_currents(EXCHANGE, IDENTITY_U, [-1.0, 0.5], initial_currents=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="initial_currents"):
        solve_currents(EXCHANGE, IDENTITY_U, initial_currents=np.zeros(3))
    with pytest.raises(ConvergenceError, match="residual"):
        solve_currents(EXCHANGE, IDENTITY_U, initial_currents=np.ones((2, 2)), max_iterations=2)


def test_current_dynamics_without_disorder_match_simulation():
    # g = 0 and x(0) in the span of the m's: the network is exactly a current ODE with sample
    # averages over the N loadings; the mean-field ODE replaces them by Gaussian averages, so
    # trajectories agree up to the O(|T| / sqrt(N)) ~ 4% error of the realised overlaps.
    # Three regions with a loop 0 -> 1 -> 2 -> 0 and a self-current in region 1 (which the
    # loop's variance in region 1 eventually quenches through psi^1).
    r = 3
    t = np.zeros((r, r, r))
    t[1, 0, 2] = 2.0   # S^{10} (0 -> 1) is fed by S^{02} (2 -> 0), read out in region 0
    t[2, 1, 0] = 2.0   # S^{21} is fed by S^{10}
    t[0, 2, 1] = 2.0   # S^{02} is fed by S^{21}
    t[1, 1, 1] = 1.2   # S^{11} sustains itself
    u = np.stack([np.eye(r)] * r)
    s0 = np.zeros((r, r))
    s0[1, 0], s0[2, 1], s0[0, 2], s0[1, 1] = 0.3, -0.2, 0.1, 0.5
    grid = np.arange(0.0, 20.0 + 1e-9, 0.5)
    theory = integrate_currents(t, u, s0, grid, "erf")
    n = 2000
    model = MultiRegionModel((n, n, n), 0.0, t, u, phi="erf")
    network = model.network(seed=11)
    conn = network.connectivity
    x0 = np.concatenate([
        sum(conn.couplings[(nu, rho)][0].ravel() * s0[nu, rho] for rho in range(r))
        for nu in range(r)
    ])
    ds = simulate(network, t_max=20.0, dt=0.05, x0=x0, record=[Projection.currents(conn)],
                  record_every=10, seed=0, progress=False)
    current = ds["current"].isel(trial=0)
    # The recorded current is the instantaneous readout n . phi(x) / N, which equals
    # F(S) = S + dS/dt; compare it with the theory's F(S(t)) on the same grid.
    rhs = np.gradient(theory.currents, grid, axis=0) + theory.currents
    scale = np.abs(rhs).max()
    for k in range(current.sizes["current_component"]):
        mu, nu = int(current["target_region"][k]), int(current["source_region"][k])
        times = current[current.dims[0]].values
        simulated = np.interp(grid[1:], times, current[:, k].values)
        np.testing.assert_allclose(simulated, rhs[1:, mu, nu], atol=0.08 * scale)
    assert theory.variance.shape == (grid.size, r)
    # Not a vacuous comparison: the currents move by O(1) over the run.
    assert np.ptp(theory.currents, axis=0).max() > 0.3
