"""Theory at fixed connectivity: the linear-equivalent network's covariances and response.

Three kinds of checks:
1. the matrix machinery (eigenbasis, partial fractions, the causal filter) against exact
   results of linear networks: a network driven by Ornstein-Uhlenbeck residuals, whose
   covariance solves a Lyapunov equation, and matrix inverses / exponentials;
2. the large-N self-consistency with the single-site DMFT (trace identities);
3. the nonlinear chaotic network simulated at the same J (tests/theory/
   test_fixed_connectivity_simulation.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from rnndyn.connectivity import dense
from rnndyn.theory.fixed_connectivity import (
    LinearEquivalentNetwork,
    covariance,
    linear_equivalent,
    participation_ratio,
    response,
    response_kernel,
)

N_SMALL = 80


def _gaussian(n: int, g: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, n)) * g / np.sqrt(n)


@pytest.fixture(scope="module")
def network() -> LinearEquivalentNetwork:
    return linear_equivalent(_gaussian(N_SMALL, 2.0, 0), "tanh")


class _OrnsteinUhlenbeck(LinearEquivalentNetwork):
    """The same linear-equivalent network, with residuals of autocorrelation exp(-k |tau|)."""

    rate = 0.7
    _decay_time = 60.0  # exp(-0.7 * 60) ~ 1e-18: the lag integrals' cut-off

    def residual_autocorrelation(self, tau):
        return np.exp(-self.rate * np.abs(np.asarray(tau, dtype=float)))

    def residual_spectrum(self, omega):
        omega = np.asarray(omega, dtype=float)
        return 2 * self.rate / (self.rate**2 + omega**2)


def _lyapunov_reference(net: LinearEquivalentNetwork, rate: float):
    """z = (x, r): dx = (-(I - aJ) x + J r) dt, dr = -k r dt + sqrt(2k) dW. Returns the
    function tau -> <z(t + tau) z(t)^T> mapped to (x, phi = a x + r)."""
    n, a, j = net.n, net.gain, net.connectivity
    drift = np.block([[-(np.eye(n) - a * j), j], [np.zeros((n, n)), -rate * np.eye(n)]])
    noise = np.vstack([np.zeros((n, n)), np.sqrt(2 * rate) * np.eye(n)])
    stationary = scipy.linalg.solve_continuous_lyapunov(drift, -noise @ noise.T)
    to_rates = np.block([[np.eye(n), np.zeros((n, n))], [a * np.eye(n), np.eye(n)]])

    def lagged(tau: float) -> np.ndarray:
        if tau >= 0:
            cz = scipy.linalg.expm(drift * tau) @ stationary
        else:
            cz = (scipy.linalg.expm(-drift * tau) @ stationary).T
        return to_rates @ cz @ to_rates.T

    return lagged


@pytest.mark.parametrize("tau", [0.0, 1.3, -0.8])
def test_lagged_covariances_solve_the_linear_network_exactly(network, tau):
    # With OU residuals the linear-equivalent network is a linear SDE, whose covariances are
    # exact (Lyapunov equation). The causal filter is second order in its step (0.02) and
    # C_r = exp(-k|tau|) has a kink at 0, so ~1e-5 relative error is expected; 1e-4 bounds it.
    ou = _OrnsteinUhlenbeck(network.connectivity, network.phi, network.g, network.dmft,
                            network.gain)
    exact = _lyapunov_reference(ou, ou.rate)(tau)
    n = ou.n
    blocks = {"x": slice(0, n), "phi": slice(n, 2 * n)}
    for variables in ("x", "phi", "x,phi", "phi,x"):
        left, right = (variables.split(",") * 2)[:2]
        reference = exact[blocks[left], blocks[right]]
        predicted = ou.covariance(lags=tau, variables=variables)
        assert np.abs(predicted - reference).max() < 1e-4 * np.abs(reference).max()


def test_spectral_covariance_and_response_are_the_matrix_formulas(network):
    omega = np.array([0.0, 0.9, -2.5])
    a, j, n = network.gain, network.connectivity, network.n
    spectra = network.residual_spectrum(omega)
    predicted_x = network.covariance(omega=omega)
    predicted_phi = network.covariance(omega=omega, variables="phi")
    predicted_cross = network.covariance(omega=omega, variables="x,phi")
    chis = network.response(omega)
    assert predicted_x.shape == (3, n, n) and chis.shape == (3, n, n)
    for k, w in enumerate(omega):
        chi = np.linalg.inv((1 + 1j * w) * np.eye(n) - a * j)
        np.testing.assert_allclose(chis[k], chi, atol=1e-10)
        np.testing.assert_allclose(predicted_x[k], spectra[k] * chi @ j @ j.T @ chi.conj().T,
                                   atol=1e-9)
        np.testing.assert_allclose(predicted_phi[k],
                                   spectra[k] * (1 + w**2) * chi @ chi.conj().T, atol=1e-9)
        # x = chi J r and phi = (1 + i w) chi r: C^{x phi} = S_r (1 - i w) chi J chi^H
        np.testing.assert_allclose(predicted_cross[k],
                                   spectra[k] * (1 - 1j * w) * chi @ j @ chi.conj().T,
                                   atol=1e-9)
    kernel = network.response_kernel([1.5, -1.0])
    np.testing.assert_allclose(kernel[0], scipy.linalg.expm(-(np.eye(n) - a * j) * 1.5),
                               atol=1e-10)
    assert np.all(kernel[1] == 0)  # causal


def test_lagged_covariance_is_the_transform_of_the_spectral_one(network):
    # C(tau) = int dw/2pi e^{i w tau} C(w) by brute-force quadrature: w = 0.2 sinh(u) on a
    # uniform u grid (fine where the peak of width ~ the stability margin sits, |w| < 40;
    # C^x(w) decays like w^-6 so the cut-off is negligible), trapezoid in u.
    u = np.linspace(-6.0, 6.0, 1501)
    omega, jacobian = 0.2 * np.sinh(u), 0.2 * np.cosh(u) * (u[1] - u[0])
    tau = 0.7
    spectral = network.covariance(omega=omega, variables="x")
    weights = np.exp(1j * omega * tau) * jacobian / (2 * np.pi)
    weights[[0, -1]] /= 2
    integral = np.tensordot(weights, spectral, axes=1).real
    lagged = network.covariance(lags=tau)
    # Both sides carry ~1e-4 discretisation errors (the filter's and cosine transform's steps,
    # the u grid); 1e-3 relative bounds them.
    assert np.abs(lagged - integral).max() < 1e-3 * np.abs(integral).max()


def test_residual_spectrum_and_single_site_consistency(network):
    # S_r = S_phi - a^2 S_x >= 0 (the residual is Price-orthogonal to x), and the DMFT
    # relation S_x (1 + w^2) = g^2 S_phi holds for the transforms of its autocorrelations
    # (to the quadrature's ~1e-4 relative accuracy).
    omega = np.array([0.0, 0.3, 1.0, 3.0])
    s_x, s_phi = network.spectrum(omega, "x"), network.spectrum(omega, "phi")
    residual = network.residual_spectrum(omega)
    np.testing.assert_allclose(residual, s_phi - network.gain**2 * s_x, rtol=1e-10)
    assert np.all(residual > 0)
    np.testing.assert_allclose(s_x * (1 + omega**2), network.g**2 * s_phi, rtol=1e-3)
    # int S_x dw / 2 pi = Delta(0)
    u = np.linspace(-6.0, 6.0, 1201)
    grid = 0.2 * np.sinh(u)
    total = np.trapezoid(network.spectrum(grid, "x") * 0.2 * np.cosh(u), u) / (2 * np.pi)
    assert total == pytest.approx(network.dmft.delta0, rel=1e-3)


@pytest.mark.slow  # eigendecompositions at N = 1000: ~2 s each
@pytest.mark.parametrize("g", [2.0, 3.0])
def test_diagonal_reproduces_the_dmft_at_large_n(g):
    # (1/N) tr C^x(0) -> Delta(0) and (1/N) tr C^phi(0) -> C_phi(0) by the trace identity
    # (1/N) tr[(z - aJ)^{-1} (z - aJ)^{-H}] = 1 / (|z|^2 - a^2 g^2). The linear-equivalent
    # network of tanh is near-critical (a g = 0.97 at g = 2, 0.96 at g = 3), so the finite-N
    # error is large near w = 0: ~3% at N = 1000 for these seeds, while ~25% at N = 400; 8%.
    net = linear_equivalent(_gaussian(1000, g, 1), "tanh", g=g)
    assert np.mean(np.diag(net.covariance(lags=0.0))) == pytest.approx(net.dmft.delta0,
                                                                        rel=0.08)
    assert np.mean(np.diag(net.covariance(lags=0.0, variables="phi"))) == pytest.approx(
        float(net.autocorrelation(0.0, "phi")), rel=0.08)
    # The trace of the response: (1/N) tr chi(w) = 1 / (1 + i w) at any N up to O(1/N)
    # fluctuations of tr J^k (exact in expectation); 2% at N = 1000.
    chi = net.response(0.5)
    assert np.trace(chi) / net.n == pytest.approx(1 / (1 + 0.5j), rel=0.02)


def test_leading_order_is_the_single_site_dmft(network):
    c0 = network.covariance(lags=0.0, correction=False)
    np.testing.assert_allclose(c0, np.eye(network.n) * network.variance, atol=1e-12)
    assert network.variance == network.dmft.delta0  # tanh: no static part
    cross = network.covariance(lags=0.5, variables="x,phi", correction=False)
    np.testing.assert_allclose(np.diag(cross), network.gain * network.dmft.autocorrelation(0.5),
                               rtol=1e-12)
    np.testing.assert_allclose(network.response(1.0, correction=False),
                               np.eye(network.n) / (1 + 1j), atol=1e-15)
    np.testing.assert_allclose(network.response_kernel(2.0, correction=False),
                               np.eye(network.n) * np.exp(-2.0), atol=1e-15)
    assert network.dimension(correction=False) == pytest.approx(network.n)


def test_participation_ratio_of_the_linear_network_follows_hu_sompolinsky():
    # For C = (I - gJ)^{-1} (I - gJ)^{-T} with J Ginibre (variance 1/N), Hu & Sompolinsky
    # (2022): mean eigenvalue 1/(1 - g^2), second moment 1/(1 - g^2)^4, so PR/N = (1 - g^2)^2.
    # Finite-N: 1-2% at N = 1500 for g = 0.5 (the tail of the spectrum converges slowly).
    n, g = 1500, 0.5
    j = _gaussian(n, 1.0, 3)
    inverse = np.linalg.inv(np.eye(n) - g * j)
    assert participation_ratio(inverse @ inverse.T) / n == pytest.approx((1 - g**2) ** 2,
                                                                          rel=0.03)
    assert participation_ratio(np.eye(7)) == pytest.approx(7.0)
    assert participation_ratio(np.diag([1.0, 0.0, 0.0])) == pytest.approx(1.0)


def test_functions_accept_connectivity_objects_and_prepared_networks(network):
    conn = dense(network.connectivity)
    direct = covariance(conn, lags=0.0, phi="tanh")
    np.testing.assert_allclose(direct, network.covariance(lags=0.0), atol=1e-10)
    np.testing.assert_allclose(response(network, 0.3), network.response(0.3))
    np.testing.assert_allclose(response_kernel(network, [0.0, 1.0]),
                               network.response_kernel([0.0, 1.0]))
    assert network.covariance_spectrum().shape == (network.n,)
    assert np.all(network.covariance_spectrum() > 0)


def test_erf_network(network):
    net = linear_equivalent(network.connectivity, "erf")
    c = net.covariance(lags=0.0, variables="phi")
    np.testing.assert_allclose(c, c.T, atol=1e-10)
    assert net.gain != pytest.approx(network.gain)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.ones((3, 4)),), {}, "square"),
        ((np.full((4, 4), np.nan),), {}, "NaN"),
        ((_gaussian(50, 0.5, 0),), {}, "chaotic"),
        ((_gaussian(50, 2.0, 0), "relu"), {}, "relu|static|activity"),
        ((_gaussian(50, 2.0, 0),), {"g": -1.0}, "g must be"),
        ((_gaussian(50, 2.0, 0),), {"closure": "exact"}, "closure"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        linear_equivalent(*args, **kwargs)


def test_bad_arguments(network):
    with pytest.raises(ValueError, match="exactly one"):
        network.covariance()
    with pytest.raises(ValueError, match="variables"):
        network.covariance(lags=0.0, variables="y")
    with pytest.raises(ValueError, match="omega"):
        network.response(np.nan)
    with pytest.raises(ValueError, match="variables must be 'x' or 'phi'"):
        network.dimension("x,phi")
    with pytest.raises(ValueError, match="square"):
        participation_ratio(np.ones(3))
    # An outlier eigenvalue (a rank-one term) makes the linear-equivalent network unstable.
    j = network.connectivity + 5.0 * np.ones((N_SMALL, N_SMALL)) / N_SMALL
    with pytest.raises(ValueError, match="unstable"):
        covariance(j, lags=0.0)


def test_self_consistent_closure_solves_its_equation_and_reuses_the_eigenbasis(network):
    closed = linear_equivalent(network, closure="self_consistent")
    # The defining equation: (1/N) tr C^x(0; g_eff) = Delta(0; g_eff). brentq stops at
    # |dg| < 1e-6, so the residual is limited by the O(1e-4) quadrature error of the lag
    # integrals, not by the root finder.
    mean_variance = np.trace(closed.covariance(lags=0.0)).real / closed.n
    assert mean_variance == pytest.approx(closed.variance, rel=1e-3)
    assert closed.stability_margin > 0
    # The default closure's mean variance is off by far more than that at N = 80: the closure
    # moved g by an amount that matters.
    before = np.trace(network.covariance(lags=0.0)).real / network.n
    assert abs(before / network.variance - 1) > 0.05
    assert closed._eigen is network._eigen  # no second O(N^3) eigendecomposition
    fresh = linear_equivalent(network.connectivity, "tanh", closure="self_consistent")
    assert fresh.g == pytest.approx(closed.g, rel=1e-5)
    back = linear_equivalent(closed, closure="dmft")
    assert back.g == pytest.approx(network.g, rel=1e-12)
