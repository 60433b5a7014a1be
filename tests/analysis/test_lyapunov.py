"""Tangent-space Lyapunov exponents against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from rnndyn import SimulationError
from rnndyn.analysis import lyapunov_spectrum
from rnndyn.connectivity import dense, gaussian
from rnndyn.simulate import Network


def test_linear_network_exponents_are_the_real_parts_of_the_eigenvalues():
    # For phi = identity the tangent dynamics is dv/dt = (J - I) v with a constant matrix, so the
    # exponents are the sorted real parts of the eigenvalues of J - I (with multiplicity). The
    # transient (100 >> 1/gap ~ 20) aligns the basis; what is left is O(1e-3) round-off of the
    # time average.
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 30))
    j = 0.4 * (a + a.T) / np.sqrt(2 * 30)
    expected = np.sort(np.linalg.eigvalsh(j - np.eye(30)))[::-1][:4]
    result = lyapunov_spectrum(Network(dense(j), phi="identity"), t_max=200.0,
                               n_exponents=4, t_transient=100.0, seed=1)
    np.testing.assert_allclose(result.exponents, expected, atol=5e-3)
    assert result.exponents.shape == (4,)
    assert np.all(np.diff(result.exponents) < 0)


def test_non_normal_linear_network_with_tau():
    # Non-normal J: exponents are still the real parts of the eigenvalues, divided by tau.
    j = np.array([[0.2, 3.0, 0.0], [0.0, -0.5, 0.0], [0.0, 0.0, 0.1]])
    result = lyapunov_spectrum(Network(dense(j), phi="identity", tau=2.0), t_max=400.0,
                               n_exponents=3, t_transient=0.0, seed=2)
    expected = np.sort(np.diag(j) - 1.0)[::-1] / 2.0
    # The 3.0 off-diagonal term adds an O(log(3)/T) ~ 3e-3 finite-time offset.
    np.testing.assert_allclose(result.exponents, expected, atol=1e-2)


def test_subcritical_random_network_contracts_at_the_bulk_edge():
    # g < 1, tanh, no bias: the fixed point x = 0 is attracting, the Jacobian there is J - I,
    # whose rightmost eigenvalue for a finite Gaussian matrix is known exactly by computing it.
    conn = gaussian(300, g=0.6, seed=3)
    eig = np.linalg.eigvals(conn.to_dense())
    expected = float(np.max(eig.real)) - 1.0
    result = lyapunov_spectrum(Network(conn), t_max=300.0, t_transient=100.0, batch=2, seed=4)
    # The pair of rightmost eigenvalues may be complex: the exponent still equals their real
    # part; 0.01 covers the O(1/T) finite-time error.
    assert result.largest == pytest.approx(expected, abs=1e-2)
    assert result.per_trial.shape == (2, 1)
    assert result.convergence.shape[1] == 1


def test_chaotic_network_has_positive_exponent_and_bias_is_used():
    conn = gaussian(200, g=2.0, seed=5)
    chaotic = lyapunov_spectrum(Network(conn), t_max=60.0, t_transient=20.0, seed=6)
    assert chaotic.largest > 0.05
    # A strong bias saturates tanh, kills the gain and makes the dynamics contract.
    quiet = lyapunov_spectrum(Network(conn, bias=5.0), t_max=60.0, t_transient=20.0, seed=6)
    assert quiet.largest < -0.5


def test_bad_input():
    net = Network(gaussian(20, g=1.0, seed=0))
    with pytest.raises(ValueError, match="t_max"):
        lyapunov_spectrum(net, t_max=-1.0)
    with pytest.raises(ValueError, match="n_exponents"):
        lyapunov_spectrum(net, t_max=1.0, n_exponents=21)
    with pytest.raises(ValueError, match="x0"):
        lyapunov_spectrum(net, t_max=1.0, x0=np.zeros(5))
    with pytest.raises(ValueError, match="network"):
        lyapunov_spectrum("not a network", t_max=1.0)


def test_blow_up_raises_simulation_error():
    net = Network(dense(np.array([[5.0]])), phi="identity")
    with pytest.raises(SimulationError, match="non-finite"):
        lyapunov_spectrum(net, t_max=1000.0, t_transient=0.0, orthonormalize_every=1.0, seed=0)


def test_sum_of_all_exponents_is_the_mean_divergence_of_the_flow():
    # Liouville: the full spectrum sums to the time average of tr(Jacobian) = sum_i
    # (-1 + J_ii phi'(x_i)) along the trajectory. Compared on the same RK4 trajectory
    # (simulate from the same x0; t = 30 keeps round-off differences, amplified by
    # e^{lambda t} ~ e^{10}, far below 1e-9), the two agree to the RK4 / Simpson
    # discretisation error (~1e-5 here); 1e-3 on sum(lambda) + N, which is O(0.1-1).
    import torch
    from scipy.integrate import simpson

    from rnndyn.simulate import simulate

    n = 30
    conn = gaussian(n, g=2.0, seed=7)
    net = Network(conn)
    x0 = np.random.default_rng(8).standard_normal(n)
    result = lyapunov_spectrum(net, t_max=20.0, n_exponents=n, t_transient=10.0, x0=x0,
                               seed=9, dt=0.05)
    ds = simulate(net, t_max=30.0, dt=0.05, x0=x0, record=["x"], method="rk4",
                  dtype=torch.float64, progress=False)
    times = ds.time.values
    late = times >= 10.0 - 1e-9
    x = ds.x.values[late, 0]
    divergence = np.diag(conn.to_dense()) @ (1.0 / np.cosh(x.T) ** 2)  # sum J_ii phi'(x_i)
    expected = simpson(divergence, x=times[late]) / 20.0
    assert np.sum(result.exponents) + n == pytest.approx(expected, abs=1e-3)
    assert abs(expected) > 0.05  # the diagonal term matters: the test can fail


def test_kaplan_yorke_dimension_entropy_rate_and_confidence_interval():
    from rnndyn.analysis.lyapunov import LyapunovResult

    def result(exponents):
        e = np.asarray(exponents, dtype=float)
        blocks = e[None, None, :] + np.array([-0.01, 0.01])[None, :, None]
        return LyapunovResult(e, e[None], np.full(e.size, 0.01), e[None], np.ones(1), blocks)

    # partial sums 0.5, 0.5, -0.5: j = 2, D = 2 + 0.5 / 1
    assert result([0.5, 0.0, -1.0, -2.0]).kaplan_yorke_dimension == pytest.approx(2.5)
    assert result([0.5, 0.0, -1.0, -2.0]).entropy_rate == pytest.approx(0.5)
    assert result([-0.1, -1.0]).kaplan_yorke_dimension == 0.0
    assert np.isnan(result([0.3, 0.2]).kaplan_yorke_dimension)  # needs more exponents
    interval = result([0.5, -1.0]).confidence_interval(0.95)
    # Two blocks: t quantile with 1 degree of freedom at 97.5% is 12.706.
    np.testing.assert_allclose(interval[:, 1] - interval[:, 0], 2 * 12.706 * 0.01, rtol=1e-3)
    with pytest.raises(ValueError, match="level"):
        result([0.5]).confidence_interval(1.5)


def test_blocks_give_a_standard_error_with_one_trial():
    conn = gaussian(100, g=2.0, seed=5)
    result = lyapunov_spectrum(Network(conn), t_max=100.0, t_transient=20.0, seed=6,
                               n_blocks=5)
    assert result.per_block.shape == (1, 5, 1)
    assert np.all(np.isfinite(result.standard_error)) and result.standard_error[0] > 0
    np.testing.assert_allclose(result.per_block.mean(axis=1)[0], result.exponents, rtol=1e-12)
    low, high = result.confidence_interval()[0]
    assert low < result.largest < high


def test_linear_map_exponents_are_the_logs_of_the_eigenvalue_moduli():
    # x -> (1 - a) x + a A x: the multipliers are the eigenvalues of (1 - a) I + a A, so the
    # exponents per iteration are log |eig| (sorted, with multiplicity); 2000 iterations after
    # a 300-iteration alignment leave an O(1e-3) finite-time error.
    from rnndyn.simulate import DiscreteNetwork

    rng = np.random.default_rng(3)
    a = rng.standard_normal((20, 20))
    matrix = 0.5 * (a + a.T) / np.sqrt(2 * 20)
    leak = 0.7
    expected = np.sort(np.log(np.abs(np.linalg.eigvalsh((1 - leak) * np.eye(20)
                                                         + leak * matrix))))[::-1][:3]
    result = lyapunov_spectrum(DiscreteNetwork(dense(matrix), phi="identity", leak=leak),
                               t_max=2000, n_exponents=3, t_transient=300, seed=4)
    np.testing.assert_allclose(result.exponents, expected, atol=5e-3)
    # A chaotic tanh map (gain 3) has a positive exponent.
    chaotic = lyapunov_spectrum(DiscreteNetwork(gaussian(200, g=3.0, seed=5)), t_max=500,
                                t_transient=100, seed=6)
    assert chaotic.largest > 0.1


@pytest.mark.slow
def test_largest_exponent_approaches_the_dmft_from_below():
    # The DMFT (Sompolinsky, Crisanti & Sommers 1988) gives the N -> infinity exponent. A finite
    # network's exponent lies below it by c / N: benchmarks/bench_lyapunov.py measured
    # lambda(N) = 0.089, 0.100 at N = 500, 1000 against the DMFT's 0.1125 at g = 2 (c ~ 12,
    # -11% at N = 1000; the 5% criterion is checked there, at N = 2000-4000). Here:
    # two networks of N = 1000, two initial states each, t = 200. Their mean's noise
    # (network-to-network scatter 0.004 and temporal SE ~0.004 per run) is ~0.003 = 3%, so
    # the window [-20%, +5%] around the DMFT holds the expected -11% with 3 SE to spare
    # on each side, and still fails for a DMFT value off by 10% either way or a sign error.
    import torch

    from rnndyn.theory import solve_random_network

    torch.set_num_threads(1)
    theory = solve_random_network(2.0, "tanh").lyapunov_exponent()
    values = [lyapunov_spectrum(Network(gaussian(1000, g=2.0, seed=40 + k)), t_max=200.0,
                                t_transient=50.0, batch=2, seed=50 + k).largest
              for k in range(2)]
    relative = (np.mean(values) - theory) / theory
    assert -0.20 < relative < 0.05, (values, theory)
