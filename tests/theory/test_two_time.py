"""Two-time DMFT against closed forms, the stationary DMFT and network simulations.

References used here, none produced by the code under test:

- pure leak (g = 0): ``Delta(t, s) = v0 e^{-t-s} + sigma^2/2 (e^{-|t-s|} - e^{-t-s})`` and the
  mean ``mu' = -mu + I(t)`` solved by hand;
- linear network (phi = identity, J_ij ~ N(0, g^2/N)): ``(1/N) tr[J^k J^T^l] -> delta_kl g^(2k)``
  gives ``Delta(t, s) = v0 e^{-t-s} I_0(2 g sqrt(t s)) + sigma^2 int_0^min(t,s) e^{-(t-u)-(s-u)}
  I_0(2 g sqrt((t-u)(s-u))) du`` (modified Bessel I_0; the integral by QUADPACK);
- the stationary DMFT (`rnndyn.theory.dmft`, an independent solver by the energy method);
- direct simulations of networks with `rnndyn.simulate`;
- the nested quadrature of `rnndyn.theory.gaussian` for the pair averages.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, special

from rnndyn import ConvergenceError
from rnndyn.nonlinearities import get_nonlinearity
from rnndyn.theory._two_time_quadrature import MehlerPairAverager
from rnndyn.theory.gaussian import gaussian_pair_expectation
from rnndyn.theory.two_time import TwoTimeSolution, solve_two_time

# QUADPACK may warn about round-off where the reference is already at machine precision.
pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")


def _index(sol: TwoTimeSolution, t: float) -> int:
    i = round(t / sol.dt)
    assert abs(sol.time[i] - t) < 1e-9
    return i


# --- pair averages ------------------------------------------------------------------------------
@pytest.mark.parametrize("phi", ["tanh", "erf", "tanh*2"])
def test_mehler_pair_averages_match_nested_quadrature(phi):
    # gaussian_pair_expectation integrates to ~1e-12 (its own tests against QUADPACK); the
    # Mehler series has a truncation bound of 1e-10 relative to sqrt(E phi^2 E phi^2) <= 1 and
    # coefficients accurate to ~1e-11, so 1e-9 leaves an order of magnitude.
    rng = np.random.default_rng(0)
    m = 120
    std = rng.uniform(0.1, 3.5, m)  # up to Gaussians 3.5 (7 for tanh*2) times wider than phi
    ma, mb = rng.uniform(-1.5, 1.5, m), rng.uniform(-1.5, 1.5, m)
    va, vb = std**2, (std * rng.uniform(0.7, 1.3, m)) ** 2
    r = rng.uniform(-1.0, 1.0, m)
    r[:40] = 1.0 - rng.uniform(0.0, 1e-2, 40)  # the diagonal band of a two-time grid
    r[40:50] = 1.0
    cov = r * np.sqrt(va * vb)
    averager = MehlerPairAverager(get_nonlinearity(phi))
    got = averager.pairs(ma, va, mb, vb, cov)
    ref = gaussian_pair_expectation(phi, mean_a=ma, mean_b=mb, variance_a=va, variance_b=vb,
                                    covariance=cov, method="quadrature")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def test_mehler_pair_averages_relu_match_arc_cosine_kernel():
    # Zero-mean relu: E[relu(a) relu(b)] = s_a s_b (sin t + (pi - t) cos t) / (2 pi),
    # cos t = r (Cho & Saul 2009), written out here independently of the package.
    rng = np.random.default_rng(1)
    m = 100
    va, vb = rng.uniform(0.1, 4.0, m), rng.uniform(0.1, 4.0, m)
    r = rng.uniform(-1.0, 1.0, m)
    r[:20] = 1.0 - rng.uniform(0.0, 1e-3, 20)
    theta = np.arccos(r)
    exact = np.sqrt(va * vb) * (np.sin(theta) + (np.pi - theta) * r) / (2 * np.pi)
    averager = MehlerPairAverager(get_nonlinearity("relu"))
    zeros = np.zeros(m)
    got = averager.pairs(zeros, va, zeros, vb, r * np.sqrt(va * vb))
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-9)


def _relu_pair_reference(ma, va, mb, vb, cov):
    """E[relu(a) relu(b)] as a 1D integral over a's standard score u, by QUADPACK.

    Given u, b is Gaussian with mean mb + sb r u and std w = sb sqrt(1 - r^2), and
    E[relu(b) | u] = m Phi(m / w) + w phi(m / w). The integrand is split at the kinks and
    around the layer of width sqrt(1 - r^2) / r where the inner average is a smoothed kink.
    """
    sa, sb = math.sqrt(va), math.sqrt(vb)
    r = cov / (sa * sb)
    w = sb * math.sqrt(max(1.0 - r * r, 0.0))

    def integrand(u):
        m = mb + sb * r * u
        inner = max(m, 0.0) if w == 0 else (
            m * special.ndtr(m / w) + w * math.exp(-0.5 * (m / w) ** 2) / math.sqrt(2 * math.pi))
        return (ma + sa * u) * inner * math.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)

    lower = -ma / sa
    points = []
    if r != 0:
        kink_b = -mb / (sb * r)
        layer = math.sqrt(max(1.0 - r * r, 0.0)) / abs(r)
        points = [kink_b + c * layer for c in (-8, -3, -1, 0, 1, 3, 8)]
    edges = [lower, *sorted(p for p in points if lower < p < 12.0), 12.0]
    return sum(integrate.quad(integrand, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
               for a, b in itertools.pairwise(edges))


def test_mehler_pair_averages_relu_nonzero_means_near_diagonal():
    # Near r = 1 the conditional average of relu is a kink smoothed over a layer of width
    # ~sqrt(1 - r^2): the direct quadrature must resolve it (1e-9; the reference is QUADPACK
    # at 1e-13 on the split pieces).
    rng = np.random.default_rng(2)
    m = 40
    ma, mb = rng.uniform(-1.0, 1.0, m), rng.uniform(-1.0, 1.0, m)
    va = rng.uniform(0.1, 4.0, m)
    vb = va * rng.uniform(0.7, 1.3, m)
    r = 1.0 - 10.0 ** rng.uniform(-8, -1, m)
    r[:5] = 1.0
    r[5:15] = rng.uniform(-1.0, 0.9, 10)
    cov = r * np.sqrt(va * vb)
    ref = np.array([_relu_pair_reference(*args) for args in zip(ma, va, mb, vb, cov, strict=True)])
    averager = MehlerPairAverager(get_nonlinearity("relu"))
    np.testing.assert_allclose(averager.pairs(ma, va, mb, vb, cov), ref, rtol=0, atol=1e-9)


# --- closed forms -------------------------------------------------------------------------------
def test_pure_leak_with_noise_is_exact():
    # g = 0: the noise and initial-condition terms are added in closed form and the mean source
    # is constant, which the exponential trapezoid integrates exactly: agreement to round-off.
    m0, v0, sigma, drive = 1.5, 0.3, 0.7, 0.4
    sol = solve_two_time(0.0, "tanh", t_max=6.0, dt=0.1, drive=drive, noise_std=sigma,
                         initial_mean=m0, initial_variance=v0)
    t = sol.time
    tt, ss = np.meshgrid(t, t, indexing="ij")
    exact = v0 * np.exp(-tt - ss) + sigma**2 / 2 * (np.exp(-np.abs(tt - ss)) - np.exp(-tt - ss))
    np.testing.assert_allclose(sol.correlation[0], exact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.mean[:, 0], m0 * np.exp(-t) + drive * (1 - np.exp(-t)),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.variance[:, 0], np.diagonal(exact), rtol=0, atol=1e-12)
    assert sol.iterations == 1  # the predictor is exact when nothing depends on the rates


def test_mean_follows_sinusoidal_drive():
    # mu(t) = m0 e^{-t} + (sin wt - w cos wt + w e^{-t}) / (1 + w^2) for I(t) = sin(w t).
    # The scheme interpolates I linearly between grid points; that error is at most
    # dt^2/8 max|I''| = dt^2 w^2 / 8, and the leak filter does not amplify it.
    m0, w, dt = -0.5, 2.0, 0.02
    t_grid = np.arange(0, round(5.0 / dt) + 1) * dt
    exact = m0 * np.exp(-t_grid) + (
        np.sin(w * t_grid) - w * np.cos(w * t_grid) + w * np.exp(-t_grid)) / (1 + w**2)
    bound = dt**2 * w**2 / 8
    callable_sol = solve_two_time(0.0, "tanh", t_max=5.0, dt=dt, initial_mean=m0,
                                  drive=lambda t: math.sin(w * t))
    array_sol = solve_two_time(0.0, "tanh", t_max=5.0, dt=dt, initial_mean=m0,
                               drive=np.sin(w * t_grid))
    assert np.max(np.abs(callable_sol.mean[:, 0] - exact)) <= bound
    # The two ways of giving the drive sample the same values on the grid.
    np.testing.assert_array_equal(callable_sol.mean, array_sol.mean)


def _linear_delta(g: float, sigma: float, v0: float, t: float, s: float) -> float:
    base = v0 * math.exp(-t - s) * special.i0(2 * g * math.sqrt(t * s))

    def noise(u: float) -> float:
        return math.exp(-(t - u) - (s - u)) * special.i0(2 * g * math.sqrt((t - u) * (s - u)))

    value, _ = integrate.quad(noise, 0.0, min(t, s), epsabs=1e-14, epsrel=1e-13)
    return base + sigma**2 * value


def test_linear_network_matches_bessel_closed_form_at_second_order():
    # phi = identity makes the pair average exact (Mehler series of order 1), so the only error
    # is the O(dt^2) of the exponential trapezoid: it must be small and fall ~4x per halving.
    g, sigma, v0 = 0.8, 0.5, 1.0
    points = [(2.0, 2.0), (5.0, 3.0), (3.0, 5.0), (8.0, 8.0), (8.0, 1.0), (10.0, 10.0)]
    exact = np.array([_linear_delta(g, sigma, v0, t, s) for t, s in points])
    errors = []
    for dt in (0.1, 0.05):
        sol = solve_two_time(g, "identity", t_max=10.0, dt=dt, noise_std=sigma,
                             initial_variance=v0)
        got = np.array([sol.correlation[0, _index(sol, t), _index(sol, s)] for t, s in points])
        errors.append(np.max(np.abs(got - exact)))
        np.testing.assert_allclose(sol.mean, 0.0, atol=1e-15)
    # ~dt^2 times the scale of Delta'' (order 1): 1e-3 relative at dt = 0.05 is generous.
    assert errors[1] < 1e-3 * np.max(exact)
    assert 3.5 < errors[0] / errors[1] < 4.5


def test_linear_mean_with_mean_coupling():
    # Identity phi: <phi> = mu, so mu' = -(1 - J0) mu + I for any g:
    # mu = I/(1-J0) + (m0 - I/(1-J0)) e^{-(1-J0) t}. The O(dt^2) error is bounded by
    # dt^2/8 max|f''| / (1 - J0) with f = J0 mu + I, |f''| <= J0 (1-J0)^2 |m0 - I/(1-J0)|.
    j0, drive, m0, dt = 0.5, 0.2, 1.0, 0.05
    sol = solve_two_time(0.6, "identity", t_max=8.0, dt=dt, mean_coupling=j0, drive=drive,
                         initial_mean=m0)
    rate = 1 - j0
    fixed = drive / rate
    exact = fixed + (m0 - fixed) * np.exp(-rate * sol.time)
    bound = dt**2 / 8 * j0 * rate**2 * abs(m0 - fixed) / rate
    assert np.max(np.abs(sol.mean[:, 0] - exact)) <= bound
    np.testing.assert_allclose(sol.rate_mean[:, 0], sol.mean[:, 0], atol=1e-12)


# --- stationary limit ---------------------------------------------------------------------------
def test_long_time_limit_matches_stationary_dmft():
    dmft = pytest.importorskip("rnndyn.theory.dmft")
    g = 2.0
    stationary = dmft.solve_random_network(g, phi="tanh")
    sol = solve_two_time(g, "tanh", t_max=80.0, dt=0.1, initial_variance=1.0)
    tau = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    lags, delta = sol.stationary_autocorrelation(60.0, max_lag=4.0)
    idx = np.round(tau / sol.dt).astype(int)
    np.testing.assert_allclose(lags[idx], tau)
    # Two error sources: the transient, which relaxes to the stationary state at a rate ~0.08
    # for g = 2 (from Delta(0, 0) = 1 it is below 1e-3 after t = 60), and the O(dt^2)
    # discretisation, ~dt^2 |Delta''| ~ 1e-3 at dt = 0.1. Delta(0) ~ 1.9, so 2e-3 is 0.1%.
    np.testing.assert_allclose(delta[idx, 0], stationary.autocorrelation(tau), rtol=0, atol=2e-3)
    _, rates = sol.stationary_autocorrelation(60.0, max_lag=4.0, variable="rates")
    np.testing.assert_allclose(rates[idx, 0], stationary.rate_autocorrelation(tau), rtol=0,
                               atol=2e-3)
    assert abs(sol.variance[-1, 0] - stationary.delta0) < 2e-3
    np.testing.assert_allclose(sol.mean, 0.0, atol=1e-12)  # odd phi, zero mean coupling


def test_long_time_limit_with_noise_bias_and_mean_coupling():
    dmft = pytest.importorskip("rnndyn.theory.dmft")
    g, j0, bias, sigma = 1.5, 0.5, 0.3, 0.6
    stationary = dmft.solve_random_network(g, phi="tanh", mean_coupling=j0, bias=bias,
                                           noise_std=sigma)
    sol = solve_two_time(g, "tanh", t_max=60.0, dt=0.1, mean_coupling=j0, drive=bias,
                         noise_std=sigma, initial_mean=0.0, initial_variance=0.5)
    tau = np.array([0.0, 0.5, 1.0, 3.0])
    _, delta = sol.stationary_autocorrelation(40.0, max_lag=3.0)
    idx = np.round(tau / sol.dt).astype(int)
    # Same error budget as above; the noise cusp at tau = 0 is treated exactly.
    np.testing.assert_allclose(delta[idx, 0], stationary.autocorrelation(tau), rtol=0, atol=2e-3)
    assert abs(sol.mean[-1, 0] - stationary.mean) < 2e-3


# --- simulations --------------------------------------------------------------------------------
@pytest.fixture
def one_torch_thread():
    # Small dense products: one thread is faster, and much faster on a busy machine.
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _simulated_moments(build, labels, n_networks, batch, t_max, m0, v0, *, noise_std=None,
                       drive=None, phi="tanh", bias=None, seed=0):
    """Population mean and variance over time, one row per independent network.

    ``build(rng)`` returns the (n, n) coupling matrix; ``labels[i]`` is neuron i's population.
    """
    from rnndyn.simulate import Network, simulate

    n_pop = int(labels.max()) + 1
    means, variances = [], []
    for k in range(n_networks):
        rng = np.random.default_rng([seed, k])
        weights = np.eye(n_pop)[labels] if drive is not None else None
        net = Network(build(rng), phi, input_weights=weights, bias=bias)
        x0 = m0[labels] + np.sqrt(v0[labels]) * rng.standard_normal((batch, labels.size))
        ds = simulate(net, t_max=t_max, dt=0.1, x0=x0, batch=batch, inputs=drive,
                      noise_std=0.0 if noise_std is None else noise_std[labels],
                      record_every=10, seed=rng, progress=False)
        x = ds.x.values.astype(np.float64)  # (time, trial, neuron)
        means.append([x[..., labels == p].mean(-1).mean(-1) for p in range(n_pop)])
        variances.append([x[..., labels == p].var(-1).mean(-1) for p in range(n_pop)])
    # -> (network, population, time)
    return ds.time.values, np.array(means), np.array(variances)


def _assert_matches_simulation(sol, times, sims, n, what):
    """Compare theory (T, P) with per-network estimates (network, P, time).

    Allowed: 4 standard errors over the independent networks (sampling, quenched disorder
    included) plus scale / sqrt(N), the finite-size bias, which for chaotic networks reaches a
    few percent at N = 1000 (largest near the spectral edge, during exponential growth).
    """
    idx = np.round(times / sol.dt).astype(int)
    theory = (sol.mean if what == "mean" else sol.variance)[idx].T  # (P, time)
    estimate = sims.mean(axis=0)
    sem = sims.std(axis=0, ddof=1) / np.sqrt(sims.shape[0])
    scale = np.abs(theory) + (np.sqrt(sol.variance[idx].T) if what == "mean" else 0.0)
    tolerance = 4 * sem + scale / np.sqrt(n)
    assert np.all(np.abs(estimate - theory) <= tolerance), (what, estimate, theory, tolerance)


@pytest.mark.slow
def test_relaxation_with_mean_coupling_matches_simulation(one_torch_thread):
    from rnndyn.connectivity import gaussian

    n, g, j0, m0, v0, t_max = 1000, 0.8, 1.0, 2.0, 0.5, 8.0
    sol = solve_two_time(g, "tanh", t_max=t_max, dt=0.05, mean_coupling=j0, initial_mean=m0,
                         initial_variance=v0)
    labels = np.zeros(n, dtype=int)
    times, means, variances = _simulated_moments(
        lambda rng: gaussian(n, g, mean=j0, seed=rng), labels, 12, 8, t_max,
        np.array([m0]), np.array([v0]), seed=1)
    _assert_matches_simulation(sol, times, means, n, "mean")
    _assert_matches_simulation(sol, times, variances, n, "variance")


@pytest.mark.slow
def test_chaotic_growth_from_small_variance_matches_simulation(one_torch_thread):
    from rnndyn.connectivity import gaussian

    n, g, v0, t_max = 1000, 1.5, 0.1, 8.0
    sol = solve_two_time(g, "tanh", t_max=t_max, dt=0.05, initial_variance=v0)
    labels = np.zeros(n, dtype=int)
    times, means, variances = _simulated_moments(
        lambda rng: gaussian(n, g, seed=rng), labels, 12, 8, t_max, np.array([0.0]),
        np.array([v0]), seed=2)
    # The variance first decays (leak) then grows ~7-fold: the transient is far from trivial.
    assert sol.variance[-1, 0] > 5 * sol.variance[:, 0].min()
    _assert_matches_simulation(sol, times, variances, n, "variance")
    _assert_matches_simulation(sol, times, means, n, "mean")


@pytest.mark.slow
def test_two_populations_with_drive_and_noise_match_simulation(one_torch_thread):
    from rnndyn.connectivity import dense

    n = 1000
    fractions = np.array([0.4, 0.6])
    gains = np.array([[1.2, 0.8], [1.0, 0.5]])
    j0 = np.array([[0.5, -1.0], [1.0, -0.5]])
    m0, v0 = np.array([1.0, -0.5]), np.array([0.5, 1.0])
    sigma = np.array([0.4, 0.0])
    t_max = 8.0

    def drive(t):
        return np.array([0.5 * math.sin(0.8 * t), 0.3])

    labels = np.repeat([0, 1], (fractions * n).astype(int))

    def build(rng):
        # J_ij ~ N(J0_PQ / N, g_PQ^2 / N) for i in P, j in Q (normalization="total").
        std = gains[labels[:, None], labels[None, :]] / math.sqrt(n)
        return dense(rng.standard_normal((n, n)) * std + j0[labels[:, None], labels[None, :]] / n)

    sol = solve_two_time(gains, "tanh", t_max=t_max, dt=0.05, fractions=fractions,
                         mean_coupling=j0, drive=drive, noise_std=sigma, initial_mean=m0,
                         initial_variance=v0)
    times, means, variances = _simulated_moments(
        build, labels, 12, 8, t_max, m0, v0, noise_std=sigma, drive=drive, seed=3)
    _assert_matches_simulation(sol, times, means, n, "mean")
    _assert_matches_simulation(sol, times, variances, n, "variance")


@pytest.mark.slow
def test_relu_network_with_bias_and_noise_matches_simulation(one_torch_thread):
    from rnndyn.connectivity import gaussian

    n, g, j0, bias, sigma, m0, v0, t_max = 1000, 1.2, -0.5, 0.5, 0.2, 0.5, 0.5, 6.0
    sol = solve_two_time(g, "relu", t_max=t_max, dt=0.1, mean_coupling=j0, drive=bias,
                         noise_std=sigma, initial_mean=m0, initial_variance=v0)
    times, means, variances = _simulated_moments(
        lambda rng: gaussian(n, g, mean=j0, seed=rng), np.zeros(n, dtype=int), 8, 8, t_max,
        np.array([m0]), np.array([v0]), noise_std=np.array([sigma]), phi="relu", bias=bias,
        seed=4)
    _assert_matches_simulation(sol, times, means, n, "mean")
    _assert_matches_simulation(sol, times, variances, n, "variance")


# --- structure and conventions ------------------------------------------------------------------
def test_solution_structure():
    sol = solve_two_time(1.5, "tanh", t_max=3.0, dt=0.1, noise_std=0.2)
    n_time = 31
    assert sol.time.shape == (n_time,)
    assert sol.mean.shape == sol.variance.shape == sol.rate_mean.shape == (n_time, 1)
    assert sol.correlation.shape == sol.rate_correlation.shape == (1, n_time, n_time)
    np.testing.assert_array_equal(sol.correlation, np.transpose(sol.correlation, (0, 2, 1)))
    np.testing.assert_array_equal(sol.variance[:, 0], np.diagonal(sol.correlation[0]))
    assert sol.residual <= 1e-8
    assert 1 <= sol.iterations <= sol.total_iterations
    # Delta is a covariance: positive semi-definite, |Delta(t, s)| <= sqrt(Delta(t,t) Delta(s,s)).
    assert np.linalg.eigvalsh(sol.correlation[0]).min() > -1e-10
    lags, values = sol.stationary_autocorrelation(1.0, max_lag=0.5)
    np.testing.assert_allclose(lags, np.arange(6) * 0.1)
    # Lag 0 averages the variance over t >= 1.
    assert values[0, 0] == pytest.approx(sol.variance[10:, 0].mean())
    assert values.shape == (6, 1)


def test_identical_populations_reduce_to_one():
    # Splitting one population into two identical halves changes nothing (normalization
    # "total": G_PQ = alpha_Q g^2 sums back to g^2); "population" with g_PQ^2 = alpha_Q g^2 too.
    kwargs = {"t_max": 4.0, "dt": 0.1, "noise_std": 0.3, "initial_mean": 0.4, "drive": 0.1}
    one = solve_two_time(1.7, "tanh", mean_coupling=0.5, **kwargs)
    two = solve_two_time(np.full((2, 2), 1.7), "tanh", fractions=[0.5, 0.5],
                         mean_coupling=np.full((2, 2), 0.5), **kwargs)
    per_pop = solve_two_time(np.full((2, 2), 1.7 * math.sqrt(0.5)), "tanh",
                             mean_coupling=np.full((2, 2), 0.25), normalization="population",
                             **kwargs)
    for sol in (two, per_pop):
        for p in range(2):
            np.testing.assert_allclose(sol.correlation[p], one.correlation[0], atol=1e-12)
            np.testing.assert_allclose(sol.mean[:, p], one.mean[:, 0], atol=1e-12)


# --- errors -------------------------------------------------------------------------------------
def test_convergence_error_when_max_iter_too_small():
    with pytest.raises(ConvergenceError, match=r"residual .* > tol"):
        solve_two_time(1.5, "tanh", t_max=2.0, dt=0.1, max_iter=1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"g": -1.0}, "g"),
        ({"g": float("nan")}, "g"),
        ({"g": np.ones((2, 2)), "fractions": [0.3, 0.3]}, "fractions"),
        ({"g": np.ones((2, 2)), "fractions": [1.2, -0.2]}, "fractions"),
        ({"g": np.ones((3, 3)), "fractions": [0.5, 0.5]}, "g"),
        ({"g": [[1.0, -0.5], [0.5, 1.0]]}, "g"),
        ({"g": np.ones((2, 2)), "mean_coupling": np.ones((3, 3))}, "mean_coupling"),
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"t_max": 0.05}, "t_max"),
        ({"t_max": float("inf")}, "t_max"),
        ({"initial_variance": -0.1}, "initial_variance"),
        ({"initial_mean": float("nan")}, "initial_mean"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"g": np.ones((2, 2)), "noise_std": [0.1, 0.2, 0.3]}, "noise_std"),
        ({"drive": np.zeros((5, 1))}, "drive"),
        ({"drive": lambda t: [1.0, 2.0]}, "drive"),
        ({"drive": [float("nan")] * 11}, "drive"),
        ({"damping": 1.0}, "damping"),
        ({"tol": 0.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"normalization": "sizes"}, "normalization"),
        ({"phi": "softsign"}, "phi"),
    ],
)
def test_bad_input_raises_value_error_naming_it(kwargs, name):
    args = {"g": 1.0, "phi": "tanh", "t_max": 1.0, "dt": 0.1}
    args.update(kwargs)
    g, phi = args.pop("g"), args.pop("phi")
    with pytest.raises(ValueError, match=name):
        solve_two_time(g, phi, **args)


def test_stationary_autocorrelation_rejects_bad_arguments():
    sol = solve_two_time(1.0, "tanh", t_max=1.0, dt=0.1)
    with pytest.raises(ValueError, match="t_start"):
        sol.stationary_autocorrelation(2.0)
    with pytest.raises(ValueError, match="variable"):
        sol.stationary_autocorrelation(0.0, variable="phi")
    with pytest.raises(ValueError, match="max_lag"):
        sol.stationary_autocorrelation(0.0, max_lag=-1.0)
