"""Low-rank mean-field theory: known results, agreement of backends, simulations, errors.

Known results (Mastrogiuseppe & Ostojic 2018; Beiran et al. 2021), tanh, zero-mean loadings:

- rank one, no bulk: ``F(kappa) = sigma_mn kappa <phi'>(0, kappa^2)``; non-trivial fixed points
  exist iff ``sigma_mn <phi'>(0, 0) = sigma_mn > 1`` (pitchfork: ``kappa^2 = eps + O(eps^2)`` at
  ``sigma_mn = 1 + eps``, since ``<phi'>(0, D) = 1 - D + 2 D^2 + ...`` for tanh);
- rank two, ``Sigma_nm = [[lam, -om], [om, lam]]`` (``Sigma_nm[r, s] = Cov(n_r, m_s)``),
  ``Sigma_mm = I``: in polar coordinates ``dr/dt = r (lam <phi'>(0, r^2) - 1)``,
  ``dtheta/dt = om <phi'>(0, r^2)``; the cycle has ``lam <phi'>(0, r*^2) = 1``, so its angular
  velocity is ``om / lam`` and its period ``2 pi lam / om`` (4 pi here); its non-trivial
  Floquet multiplier is ``exp(T * 2 lam r*^2 d<phi'>/dD)``;
- ``Sigma_nm = lam I``: every point of the circle of that radius is a fixed point, with one zero
  eigenvalue (along the ring) and one radial eigenvalue ``2 lam r*^2 d<phi'>/dD < 0``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg
from scipy.optimize import brentq

from rnndyn import ConvergenceError
from rnndyn.connectivity import gaussian, low_rank, random_low_rank
from rnndyn.connectivity import sum as sum_connectivities
from rnndyn.simulate import MeanVariance, Network, Projection, simulate
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.gaussian import gaussian_expectation, mean_activity
from rnndyn.theory.lowrank import (
    PHASE_LABELS,
    FiniteLatentDynamics,
    GaussianLatentDynamics,
    MixtureLatentDynamics,
    SampledLatentDynamics,
    find_fixed_points,
    find_limit_cycle,
    phase_diagram_rank_one,
    solve_chaotic,
    solve_fixed_point,
    split_loadings,
)

LAM, OM = 1.6, 0.8
ROTATION = np.array([[LAM, -OM], [OM, LAM]])


@pytest.fixture(autouse=True, scope="module")
def _single_torch_thread():
    """Simulations here use vectors of <= 4000 entries, for which torch's intra-op threads only
    add synchronisation (100x slower per op on a loaded 2-core machine); restore afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gain(delta: float) -> float:
    """<phi'>(0, delta) for tanh."""
    return float(mean_activity("tanh", 0.0, delta, part="derivative"))


def gain_slope(delta: float, h: float = 1e-5) -> float:
    """d<phi'>(0, D)/dD by central differences (error ~1e-9)."""
    return (gain(delta + h) - gain(delta - h)) / (2 * h)


def critical_radius(lam: float) -> float:
    """r* with lam <phi'>(0, r*^2) = 1."""
    return math.sqrt(brentq(lambda d: lam * gain(d) - 1.0, 1e-12, 50.0, xtol=1e-15, rtol=1e-15))


def rank_one_covariance(sigma: float, sigma_nn: float = 4.0) -> np.ndarray:
    return np.array([[1.0, sigma], [sigma, sigma_nn]])


def rank_two_covariance(sigma_nm: np.ndarray) -> np.ndarray:
    return np.block([[np.eye(2), sigma_nm.T], [sigma_nm, sigma_nm @ sigma_nm.T + np.eye(2)]])


def random_gaussian(rank: int, n_inputs: int, seed: int) -> GaussianLatentDynamics:
    """Gaussian loadings with nonzero means and a random positive definite covariance."""
    rng = np.random.default_rng(seed)
    dim = 2 * rank + n_inputs
    a = rng.standard_normal((dim, dim))
    cov = 0.5 * a @ a.T / dim + 0.5 * np.eye(dim)
    mean = 0.5 * rng.standard_normal(dim)
    return GaussianLatentDynamics(cov, mean, rank=rank, bulk_variance=0.2)


# --- known results -----------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.95, 1.05])
def test_rank_one_bistability_appears_at_unit_overlap(sigma):
    fps = find_fixed_points(GaussianLatentDynamics.from_overlaps(sigma))
    origin = fps[0]
    assert np.allclose(origin.kappa, 0.0)
    # Trivial fixed point: eigenvalue -1 + sigma_mn phi'(0).
    assert origin.eigenvalues[0].real == pytest.approx(sigma - 1.0, abs=1e-12)
    if sigma < 1:
        assert len(fps) == 1 and origin.stable
        return
    assert len(fps) == 3 and not origin.stable
    expected = critical_radius(sigma)
    for point in fps[1:]:
        assert abs(point.kappa[0]) == pytest.approx(expected, rel=1e-9)
        assert point.stable and point.residual <= 1e-10
    assert fps[1].kappa[0] == pytest.approx(-fps[2].kappa[0], rel=1e-9)


def test_kappa_vanishes_continuously_at_the_pitchfork():
    kappas = []
    for eps in [1e-1, 1e-2, 1e-3, 1e-4]:
        fps = find_fixed_points(GaussianLatentDynamics.from_overlaps(1.0 + eps), n_starts=4,
                                n_integrate=0)
        assert len(fps) == 3
        kappa = float(fps.kappas.max())
        kappas.append(kappa)
        # Normal form kappa^2 = eps + eps^2 + O(eps^3) with |O(eps^3)| < eps^3 (see module doc).
        assert abs(kappa**2 / eps - 1.0 - eps) < eps**2
    assert np.all(np.diff(kappas) < 0) and kappas[-1] < 0.011


def test_rank_two_rotation_has_the_predicted_limit_cycle():
    dyn = GaussianLatentDynamics.from_overlaps(ROTATION)
    cycle = find_limit_cycle(dyn, kappa0=[0.3, 0.1], t_transient=30.0)
    r_star = critical_radius(LAM)
    assert cycle.period == pytest.approx(2 * np.pi * LAM / OM, rel=1e-8)
    assert cycle.period == pytest.approx(4 * np.pi, rel=1e-8)
    radii = np.linalg.norm(cycle.orbit, axis=1)
    assert np.max(np.abs(radii - r_star)) < 1e-7
    assert cycle.mean_radius == pytest.approx(r_star, rel=1e-7)
    # Uniform rotation at angular velocity omega / lambda.
    angles = np.unwrap(np.arctan2(cycle.orbit[:, 1], cycle.orbit[:, 0]))
    assert np.allclose(np.diff(angles) / np.diff(cycle.times), OM / LAM, rtol=1e-6)
    # Floquet multipliers: 1 along the orbit, exp(T * radial rate) across it.
    radial_rate = 2 * LAM * r_star**2 * gain_slope(r_star**2)
    assert cycle.multipliers[0] == pytest.approx(1.0, abs=1e-6)
    assert cycle.multipliers[1].real == pytest.approx(np.exp(cycle.period * radial_rate),
                                                      rel=1e-4)
    assert cycle.stable and cycle.residual < 1e-8


def test_isotropic_overlap_gives_a_ring_of_fixed_points():
    dyn = GaussianLatentDynamics.from_overlaps(LAM * np.eye(2))
    r_star = critical_radius(LAM)
    radial_rate = 2 * LAM * r_star**2 * gain_slope(r_star**2)
    assert radial_rate < 0
    for theta in np.linspace(0.0, 2 * np.pi, 7):
        direction = np.array([np.cos(theta), np.sin(theta)])
        kappa = r_star * direction
        assert np.max(np.abs(dyn.rhs(kappa))) < 1e-11  # r* is as exact as mean_activity
        eigenvalues, vectors = np.linalg.eigh(dyn.jacobian(kappa))  # symmetric here
        assert eigenvalues[0] == pytest.approx(radial_rate, rel=1e-6)
        assert abs(eigenvalues[1]) < 1e-9
        assert abs(vectors[:, 1] @ direction) < 1e-6  # the zero mode is tangent to the ring
    fps = find_fixed_points(dyn, n_starts=8)
    assert np.allclose(fps[0].kappa, 0.0) and not fps[0].stable
    assert len(fps) >= 3
    assert np.allclose(np.linalg.norm(fps.kappas[1:], axis=1), r_star, rtol=1e-9)
    # Same radius as the cycle of the rotation with the same lambda.
    assert r_star == pytest.approx(0.9481343176, rel=1e-8)


def test_jacobians_match_finite_differences():
    dyn = random_gaussian(rank=2, n_inputs=1, seed=3)
    kappa, v, h = np.array([0.4, -0.7]), np.array([0.6]), 1e-6
    numeric = np.stack([(dyn.rhs(kappa + h * e, v) - dyn.rhs(kappa - h * e, v)) / (2 * h)
                        for e in np.eye(2)], axis=1)
    assert np.allclose(dyn.jacobian(kappa, v), numeric, atol=1e-8)
    numeric_v = (dyn.drive(kappa, v + h) - dyn.drive(kappa, v - h)) / (2 * h)
    assert np.allclose(dyn.input_jacobian(kappa, v)[:, 0], numeric_v, atol=1e-8)
    # Batched evaluation equals the loop.
    batch = np.array([[0.4, -0.7], [1.0, 2.0], [0.0, 0.0]])
    assert np.allclose(dyn.rhs(batch, v), [dyn.rhs(k, v) for k in batch], atol=1e-14)


# --- agreement among backends -----------------------------------------------------------------
@pytest.mark.parametrize(("bulk_variance", "n_samples"), [(0.0, 200_000), (0.2, 20_000)])
def test_monte_carlo_matches_gaussian_closed_form(bulk_variance, n_samples):
    dyn = random_gaussian(rank=2, n_inputs=1, seed=0)
    samples = dyn.sample(n_samples, seed=1)
    mc = SampledLatentDynamics(samples, rank=2, bulk_variance=bulk_variance)
    m, n, inp = split_loadings(samples, rank=2)
    v = np.array([0.5])
    for kappa in ([0.0, 0.0], [0.8, -0.3], [-1.5, 2.0]):
        kappa = np.asarray(kappa)
        exact = dyn.drive(kappa, v, bulk_variance=bulk_variance)
        # The Monte Carlo average is a mean of S i.i.d. terms: by the central limit theorem its
        # error is Gaussian with standard deviation std(term) / sqrt(S) (`standard_error`,
        # 2e-3 to 7e-3 here); 5 standard errors fail with probability 6e-7.
        se = mc.standard_error(kappa, v)
        assert np.all(se < 3 / math.sqrt(n_samples))
        assert np.all(np.abs(mc.drive(kappa, v) - exact) < 5 * se)
        # Same for the Jacobian <n_r m_s phi'>, with its own per-sample standard error.
        h = m @ kappa + inp @ v
        dphi = (mean_activity("tanh", h, bulk_variance, part="derivative") if bulk_variance
                else 1.0 - np.tanh(h) ** 2)
        terms = n[:, :, None] * m[:, None, :] * dphi[:, None, None]
        se_jac = terms.std(axis=0) / math.sqrt(n_samples)
        diff = mc.jacobian(kappa, v) - dyn.jacobian(kappa, v, bulk_variance=bulk_variance)
        assert np.all(np.abs(diff) < 5 * se_jac)


def test_mixture_with_one_component_equals_gaussian():
    dyn = random_gaussian(rank=2, n_inputs=1, seed=5)
    mix = MixtureLatentDynamics([1.0], dyn.mean[None], dyn.covariance[None], rank=2,
                                bulk_variance=dyn.bulk_variance)
    kappa, v = np.array([0.3, -1.2]), np.array([0.7])
    assert np.allclose(mix.rhs(kappa, v), dyn.rhs(kappa, v), rtol=1e-13, atol=1e-15)
    assert np.allclose(mix.jacobian(kappa, v), dyn.jacobian(kappa, v), rtol=1e-13, atol=1e-15)
    assert np.allclose(mix.input_jacobian(kappa, v), dyn.input_jacobian(kappa, v), rtol=1e-13)
    assert mix.averages(kappa, v).gain == pytest.approx(dyn.averages(kappa, v).gain, rel=1e-13)


def test_mixture_is_the_weighted_sum_and_matches_its_samples():
    a, b = random_gaussian(1, 0, seed=7), random_gaussian(1, 0, seed=8)
    weights = np.array([0.3, 0.7])
    mix = MixtureLatentDynamics(weights, np.stack([a.mean, b.mean]),
                                np.stack([a.covariance, b.covariance]), rank=1)
    mc = SampledLatentDynamics(mix.sample(200_000, seed=2), rank=1)
    for kappa in ([0.0], [1.1], [-2.5]):
        expected = (weights[0] * a.drive(kappa, bulk_variance=0.0)
                    + weights[1] * b.drive(kappa, bulk_variance=0.0))
        assert np.allclose(mix.drive(kappa), expected, rtol=1e-13, atol=1e-15)
        # Central limit theorem as in test_monte_carlo_matches_gaussian_closed_form.
        error = np.abs(mc.drive(kappa) - mix.drive(kappa))
        assert np.all(error <= 5 * mc.standard_error(kappa) + 1e-15)  # F(0) = 0 exactly


def test_finite_reduction_reproduces_the_network_exactly():
    # x(0) in span(M, I) stays there, so the R + K latent ODE is the network itself: the only
    # difference is the integrators' error (RK4 with dt = 0.01 in the network; 4e-11 measured),
    # with no 1/sqrt(N) term.
    n_neurons = 300
    rng = np.random.default_rng(11)
    cov = rank_two_covariance(ROTATION)
    loadings = rng.multivariate_normal(np.zeros(4), cov, size=n_neurons)
    m, n_vecs = loadings[:, :2], loadings[:, 2:]
    inp = rng.standard_normal((n_neurons, 1))
    dyn = FiniteLatentDynamics(m, n_vecs, inp)

    def u(t):
        return np.array([0.8 * np.sin(0.7 * t)])

    kappa0, v0 = np.array([0.4, -0.2]), np.array([0.3])
    net = Network(low_rank(m, n_vecs), phi="tanh", input_weights=inp)
    basis = np.concatenate([m, inp], axis=1)
    recorder = Projection(np.linalg.pinv(basis).T, variable="x", name="latent")
    ds = simulate(net, t_max=20.0, dt=0.01, x0=basis @ np.concatenate([kappa0, v0]), inputs=u,
                  record=[recorder, "x"], record_every=50, dtype="float64", progress=False)
    latent = ds.latent.values[:, 0, :]
    theory = dyn.integrate(kappa0, ds.time.values, v0=v0, u=u, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(latent[:, :2] - theory.kappa)) < 1e-8
    assert np.max(np.abs(latent[:, 2:] - theory.v)) < 1e-8
    x = ds.x.values[:, 0, :]
    assert np.max(np.abs(x - latent @ basis.T)) < 1e-10  # the state never leaves span(M, I)
    assert np.ptp(theory.kappa[:, 0]) > 0.5  # the dynamics is not trivial


# --- simulations of random networks ---------------------------------------------------------
def _rank_one_network(n_neurons, sigma, seed, g=0.0):
    sigma_nn = 4.0 if sigma**2 < 4.0 else sigma**2 + 1.0  # any value keeping it PSD
    structure = random_low_rank(n_neurons, 1, covariance=rank_one_covariance(sigma, sigma_nn),
                                seed=seed)
    conn = structure
    if g > 0:
        conn = sum_connectivities(gaussian(n_neurons, g, seed=seed + 100), structure)
    return structure, conn


def _settle(conn, m, n_vecs, kappa0, t_max=40.0, dt=0.5):
    """Run to the fixed point from x = m kappa0; return kappa = n . phi(x) / N and x.

    RK4's fixed points are those of the ODE whatever dt, and every decay rate here is >= 0.45
    with |rate dt| < 1 (inside RK4's stability region), so after t = 40 the state is at the
    network's fixed point to ~1e-9.
    """
    size = len(m)
    recorder = Projection(n_vecs / size, variable="rates", name="kappa")
    ds = simulate(Network(conn, phi="tanh"), t_max=t_max, dt=dt, x0=m * kappa0,
                  record=[recorder], record_every=round(t_max / dt), dtype="float64",
                  progress=False)
    return float(ds.kappa.values[-1, 0, 0]), ds.final_state.values[0]


def test_simulated_rank_one_fixed_point():
    sigma, n_neurons = 1.5, 4000
    theory = solve_fixed_point(GaussianLatentDynamics.from_overlaps(sigma), [1.0])
    errors = []
    for seed in range(8):
        structure, conn = _rank_one_network(n_neurons, sigma, seed)
        m, n_vecs = structure.left[:, 0], structure.right[:, 0]
        kappa, _ = _settle(conn, m, n_vecs, theory.kappa[0])
        # The exact reduction of this very network agrees to the solver's accuracy.
        exact = solve_fixed_point(FiniteLatentDynamics(m, n_vecs), theory.kappa)
        assert kappa == pytest.approx(exact.kappa[0], abs=1e-8)
        errors.append(kappa - theory.kappa[0])
    # Against the N -> inf theory the error is the O(1/sqrt(N)) fluctuation of the realised
    # loading statistics (e.g. std of sum_i n_i m_i / N is 2.5/sqrt(N)). Over 40 seeds the
    # per-network deviation had std 2.15/sqrt(N) (max 4.9/sqrt(N)), so the mean of 8 has std
    # 0.76/sqrt(N) and 3/sqrt(N) is a 3.9-sigma bound.
    assert abs(np.mean(errors)) < 3 / math.sqrt(n_neurons)


def test_simulated_rank_one_fixed_point_with_random_bulk():
    sigma, g, n_neurons = 1.5, 0.5, 1000
    theory = solve_fixed_point(GaussianLatentDynamics.from_overlaps(sigma), [1.0], g=g)
    assert theory.stable and theory.bulk_edge < 1
    errors, delta_errors = [], []
    for seed in range(4):
        structure, conn = _rank_one_network(n_neurons, sigma, seed, g=g)
        m, n_vecs = structure.left[:, 0], structure.right[:, 0]
        kappa, x = _settle(conn, m, n_vecs, theory.kappa[0])
        delta0 = float(np.var(x - m * kappa))  # variance of the bulk field xi = x - m kappa
        # Mean-field theory for these quenched loadings: only the bulk's finite-size effects
        # remain (measured <= 1.3/sqrt(N) at N = 1000-4000).
        quenched = solve_fixed_point(FiniteLatentDynamics(m, n_vecs), theory.kappa, g=g)
        assert kappa == pytest.approx(quenched.kappa[0], abs=4 / math.sqrt(n_neurons))
        errors.append(kappa - theory.kappa[0])
        delta_errors.append(delta0 - theory.delta0)
    # Loading fluctuations (std 2.2/sqrt(N), as without bulk) plus the bulk's (~1/sqrt(N)):
    # the mean of 4 has std ~1.2/sqrt(N); 5/sqrt(N) is a 4-sigma bound. delta0 deviations were
    # within 0.45/sqrt(N) over 18 networks.
    assert abs(np.mean(errors)) < 5 / math.sqrt(n_neurons)
    assert abs(np.mean(delta_errors)) < 1.5 / math.sqrt(n_neurons)


@pytest.mark.slow
def test_collective_eigenvalue_is_the_outlier_of_the_network_jacobian():
    # The rightmost eigenvalue of the network's Jacobian -1 + J diag(phi'(x)) at the fixed point
    # is the collective (kappa, delta0) mode, not the frozen-bulk latent eigenvalue (0.07 apart).
    sigma, g, n_neurons = 1.5, 0.5, 1000
    deviations, frozen_deviations = [], []
    for seed in range(4):
        structure, conn = _rank_one_network(n_neurons, sigma, seed=seed, g=g)
        m, n_vecs = structure.left[:, 0], structure.right[:, 0]
        quenched = solve_fixed_point(FiniteLatentDynamics(m, n_vecs), [0.8], g=g)
        _, x = _settle(conn, m, n_vecs, quenched.kappa[0])
        # Jacobian -1 + S, S = J diag(phi'(x)). S's bulk is a disc of radius g sqrt(<phi'^2>)
        # ~ 0.36 around 0 and its outlier is ~ +0.5, so the outlier is S's eigenvalue of largest
        # modulus: ARPACK finds it in a few matrix-vector products (a full eigvals agrees to
        # 1e-14 but costs an O(N^3) factorisation).
        stability = conn.to_dense() * (1.0 - np.tanh(x) ** 2)[None, :]
        top = scipy.sparse.linalg.eigs(stability, k=1, which="LM", tol=1e-12,
                                       return_eigenvectors=False)[0]
        assert abs(top.imag) < 1e-9 and top.real > quenched.bulk_edge
        outlier = top - 1.0
        # It lies right of the bulk edge -1 + g sqrt(<phi'^2>), so it is visible.
        assert quenched.collective_eigenvalues.real.max() > -1 + quenched.bulk_edge + 0.05
        deviations.append(outlier.real - quenched.collective_eigenvalues.real.max())
        frozen_deviations.append(outlier.real - quenched.eigenvalues.real.max())
    # Finite-size deviations: (outlier - collective) sqrt(N) had std 0.7 (max 1.5) over
    # 11 networks, so the mean of 4 has std 0.35/sqrt(N) = 0.011; 1.5/sqrt(N) is a 4-sigma
    # bound. The frozen-bulk prediction is 0.07 too far right: its mean deviation is -0.07 +-
    # 0.011, and the bound -0.035 is 3 sigma from it (measured: +0.004 and -0.066).
    assert abs(np.mean(deviations)) < 1.5 / math.sqrt(n_neurons)
    assert np.mean(frozen_deviations) < -0.035


def test_simulated_limit_cycle_period_and_radius():
    n_neurons = 4000
    structure = random_low_rank(n_neurons, 2, covariance=rank_two_covariance(ROTATION), seed=3)
    recorder = Projection.latents(structure)
    ds = simulate(Network(structure, phi="tanh"), t_max=70.0, dt=0.25,
                  x0=structure.left @ np.array([0.5, 0.0]), record=[recorder],
                  dtype="float64", progress=False)
    t = ds.time.values
    kappa = ds.latent.values[:, 0, :][t > 20]
    t = t[t > 20]
    # Period from the upward zero crossings of kappa_1 - its mean (linear interpolation).
    k1 = kappa[:, 0] - kappa[:, 0].mean()
    up = np.nonzero((k1[:-1] < 0) & (k1[1:] >= 0))[0]
    crossings = t[up] - k1[up] * (t[up + 1] - t[up]) / (k1[up + 1] - k1[up])
    period = float(np.mean(np.diff(crossings)))
    radius = float(np.mean(np.linalg.norm(kappa - kappa.mean(axis=0), axis=1)))
    # Finite-N loadings shift period and radius by O(1/sqrt(N)): over 12 networks (N = 1000,
    # 4000) the relative deviations had std 0.6-1.1/sqrt(N), max 2.3/sqrt(N).
    tol = 5 / math.sqrt(n_neurons)
    assert period == pytest.approx(4 * np.pi, rel=tol)
    assert radius == pytest.approx(critical_radius(LAM), rel=tol)


def test_limit_cycle_of_a_finite_network_matches_its_simulation():
    # The exact reduction of one finite network (its rotation is not exactly circular): the
    # shooting solution must match the simulated cycle to integration accuracy.
    structure = random_low_rank(1000, 2, covariance=rank_two_covariance(ROTATION), seed=3)
    kappa0 = np.array([0.5, 0.0])
    cycle = find_limit_cycle(FiniteLatentDynamics(structure.left, structure.right),
                             kappa0=kappa0, t_transient=30.0, n_points=4096)
    assert cycle.stable and abs(cycle.multipliers[1]) < 0.01
    ds = simulate(Network(structure, phi="tanh"), t_max=70.0, dt=0.1,
                  x0=structure.left @ kappa0, record=[Projection.latents(structure)],
                  dtype="float64", progress=False)
    t = ds.time.values
    kappa = ds.latent.values[:, 0, :][t > 30]
    t = t[t > 30]
    k1 = kappa[:, 0] - cycle.center[0]
    up = np.nonzero((k1[:-1] < 0) & (k1[1:] >= 0))[0]
    crossings = t[up] - k1[up] * (t[up + 1] - t[up]) / (k1[up + 1] - k1[up])
    # Linear interpolation of the crossings (dt = 0.1) is good to ~1e-5; RK4 to ~1e-8.
    assert np.allclose(np.diff(crossings), cycle.period, atol=1e-4)
    # Every simulated state lies on the computed orbit (sampled every 2e-3 in kappa).
    distance = np.min(np.linalg.norm(kappa[:, None, :] - cycle.orbit[None], axis=2), axis=1)
    assert np.max(distance) < 2e-3


def test_simulated_ring_radius():
    n_neurons = 4000
    cov = rank_two_covariance(LAM * np.eye(2))
    structure = random_low_rank(n_neurons, 2, covariance=cov, seed=4)
    ds = simulate(Network(structure, phi="tanh"), t_max=40.0, dt=0.5,
                  x0=structure.left @ np.array([0.3, 0.4]), record=[Projection.latents(structure)],
                  record_every=80, dtype="float64", progress=False)
    radius = float(np.linalg.norm(ds.latent.values[-1, 0, :]))
    # Finite N breaks the ring into a few fixed points; the stable ones sit where the realised
    # overlap is largest, so the radius is biased up by O(1/sqrt(N)): over 24 networks
    # (N = 1000, 4000) (r / r* - 1) sqrt(N) had mean 2.0, std 1.4, max 5.8.
    assert radius == pytest.approx(critical_radius(LAM), rel=8 / math.sqrt(n_neurons))


# --- random bulk: static and chaotic solutions -------------------------------------------------
def test_static_solution_with_bulk_is_self_consistent_and_matches_the_dmft_route():
    sigma, g = 1.5, 0.5
    dyn = GaussianLatentDynamics.from_overlaps(sigma)
    fps = find_fixed_points(dyn, g=g, n_starts=6)
    assert len(fps) == 3 and not fps[0].stable
    point = fps[2]
    total = point.kappa[0] ** 2 + point.delta0
    rate2 = float(gaussian_expectation(lambda x: np.tanh(x) ** 2, 0.0, total))
    assert point.delta0 == pytest.approx(g**2 * rate2, rel=1e-10)
    assert sigma * gain(total) == pytest.approx(1.0, rel=1e-10)
    dphi2 = float(gaussian_expectation(lambda x: (1.0 - np.tanh(x) ** 2) ** 2, 0.0, total))
    assert point.bulk_edge == pytest.approx(g * math.sqrt(dphi2), rel=1e-10)
    assert point.bulk_edge < 1 and point.stable
    assert len(point.collective_eigenvalues) == 2
    # Collective eigenvalues = eigenvalues of the Jacobian of (kappa, delta0) -> (F - kappa,
    # g^2 <phi^2> - delta0), checked here by finite differences.

    def residual(y):
        f = dyn.drive([y[0]], bulk_variance=y[1])[0]
        rate2 = float(gaussian_expectation(lambda x: np.tanh(x) ** 2, 0.0, y[0] ** 2 + y[1]))
        return np.array([f - y[0], g * g * rate2 - y[1]])

    y0, h = np.array([point.kappa[0], point.delta0]), 1e-6
    numeric = np.stack([(residual(y0 + h * e) - residual(y0 - h * e)) / (2 * h)
                        for e in np.eye(2)], axis=1)
    assert np.allclose(np.sort(np.linalg.eigvals(numeric).real),
                       np.sort(point.collective_eigenvalues.real), atol=1e-7)
    # The DMFT route (bulk solved by rnndyn.theory.dmft, static here) gives the same state.
    dmft_route = solve_chaotic(dyn, g, kappa0=[1.0])
    assert dmft_route.regime == "fixed_point"
    assert dmft_route.kappa[0] == pytest.approx(point.kappa[0], rel=1e-7)
    assert dmft_route.delta0 == pytest.approx(total, rel=1e-7)


def test_chaotic_solutions_with_and_without_structure():
    # Weak structure on a chaotic bulk: kappa = 0 and the bulk is the plain DMFT.
    weak = solve_chaotic(GaussianLatentDynamics.from_overlaps(0.5), 2.0)
    plain = solve_random_network(2.0, "tanh")
    assert weak.regime == "chaotic" and np.allclose(weak.kappa, 0.0)
    assert weak.delta0 == pytest.approx(plain.delta0, rel=1e-9)
    assert weak.latent_eigenvalues[0].real == pytest.approx(-1 + 0.5 * gain(plain.delta0))
    # Strong structure: kappa = 0 is unstable and a chaotic state with kappa != 0 exists.
    sigma, g = 3.5, 3.0
    dyn = GaussianLatentDynamics.from_overlaps(sigma)
    assert solve_chaotic(dyn, g).latent_eigenvalues[0].real > 0
    sol = solve_chaotic(dyn, g, kappa0=[1.5])
    assert sol.regime == "chaotic" and sol.kappa[0] > 0.5
    assert sol.delta0 > sol.delta_inf > sol.structured_variance
    assert sol.structured_variance == pytest.approx(sol.kappa[0] ** 2, rel=1e-12)
    assert sigma * gain(sol.delta0) == pytest.approx(1.0, abs=1e-8)
    bulk = solve_random_network(g, "tanh", input_variance=sol.kappa[0] ** 2)
    assert sol.delta0 == pytest.approx(bulk.delta0, rel=1e-9)
    assert sol.autocorrelation(0.0) == pytest.approx(sol.delta0, rel=1e-6)
    assert sol.latent_eigenvalues[0].real < 0


def test_phase_diagram_regions():
    g_values, sigma_values = [0.5, 2.0, 3.0], [0.5, 1.5, 3.5]
    diagram = phase_diagram_rank_one(g_values, sigma_values)
    names = [[diagram.label(i, j) for j in range(3)] for i in range(3)]
    assert names == [
        ["trivial", "chaotic", "chaotic"],
        ["fixed_points", "chaotic", "chaotic"],
        ["fixed_points", "fixed_points", "chaotic_structured"],
    ]
    assert diagram.labels == PHASE_LABELS
    # The non-trivial static branch has the kappa of find_fixed_points, the structured chaotic
    # one that of solve_chaotic.
    static = solve_fixed_point(GaussianLatentDynamics.from_overlaps(1.5), [1.0], g=0.5)
    assert diagram.kappa[1, 0] == pytest.approx(static.kappa[0], rel=1e-8)
    chaotic = solve_chaotic(GaussianLatentDynamics.from_overlaps(3.5), 3.0, kappa0=[1.5])
    assert diagram.kappa[2, 2] == pytest.approx(chaotic.kappa[0], rel=1e-6)
    assert np.all(diagram.bulk_edge[diagram.region == 1] < 1)
    ds = diagram.to_xarray()
    assert ds.region.dims == ("sigma_mn", "g") and ds.attrs["labels"] == list(PHASE_LABELS)


# --- errors ------------------------------------------------------------------------------------
def test_convergence_errors_report_the_residual():
    dyn = GaussianLatentDynamics.from_overlaps(1.5)
    with pytest.raises(ConvergenceError, match="residual"):
        solve_fixed_point(dyn, [5.0], max_iterations=1)
    with pytest.raises(ConvergenceError, match="fixed point"):
        find_limit_cycle(dyn, kappa0=[0.5], t_transient=50.0)
    rotation = GaussianLatentDynamics.from_overlaps(ROTATION)
    with pytest.raises(ConvergenceError, match="residual"):
        find_limit_cycle(rotation, kappa0=[0.9, 0.0], period_guess=9.0, max_iterations=1)
    with pytest.raises(ConvergenceError, match="residual"):
        solve_chaotic(GaussianLatentDynamics.from_overlaps(3.5), 3.0, kappa0=[3.0],
                      max_iterations=1)


def test_bad_input_raises_value_error_naming_the_parameter():
    good = np.array([[1.0, 0.5], [0.5, 2.0]])
    with pytest.raises(ValueError, match="covariance"):
        GaussianLatentDynamics([[1.0, np.nan], [np.nan, 1.0]], rank=1)
    with pytest.raises(ValueError, match="positive definite"):
        GaussianLatentDynamics([[1.0, 2.0], [2.0, 1.0]], rank=1)
    with pytest.raises(ValueError, match="covariance"):
        GaussianLatentDynamics(np.eye(3), rank=2)
    with pytest.raises(ValueError, match="mean"):
        GaussianLatentDynamics(good, [0.0, 0.0, 0.0], rank=1)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        MixtureLatentDynamics([0.5, 0.4], np.zeros((2, 2)), np.stack([good, good]), rank=1)
    with pytest.raises(ValueError, match=r"covariances\[1\].*positive definite"):
        MixtureLatentDynamics([0.5, 0.5], np.zeros((2, 2)),
                              np.stack([good, [[1.0, 3.0], [3.0, 1.0]]]), rank=1)
    with pytest.raises(ValueError, match="samples"):
        SampledLatentDynamics(np.zeros((10, 3)), rank=2)
    with pytest.raises(ValueError, match="n_vecs"):
        FiniteLatentDynamics(np.zeros((10, 2)), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="bulk_variance"):
        GaussianLatentDynamics(good, rank=1, bulk_variance=-1.0)
    dyn = GaussianLatentDynamics(good, rank=1)
    with pytest.raises(ValueError, match="kappa"):
        dyn.rhs([0.1, 0.2])
    with pytest.raises(ValueError, match="kappa"):
        dyn.rhs([np.nan])
    with pytest.raises(ValueError, match="v"):
        dyn.rhs([0.1], v=[1.0])
    with pytest.raises(ValueError, match="g"):
        find_fixed_points(dyn, g=-0.5)
    with pytest.raises(ValueError, match="g"):
        solve_fixed_point(dyn, [0.1], g=np.nan)
    with pytest.raises(ValueError, match="g_values"):
        phase_diagram_rank_one([-1.0], [1.0])
    with pytest.raises(ValueError, match="dynamics"):
        solve_chaotic(SampledLatentDynamics(dyn.sample(10, seed=0), rank=1), 2.0)
    with pytest.raises(ValueError, match="sigma_nm"):
        GaussianLatentDynamics.from_overlaps(np.ones((2, 3)))


@pytest.mark.slow
def test_simulated_structured_chaos():
    # Deep in the "chaotic_structured" region (g = 3, sigma_mn = 4): the network is chaotic and
    # keeps |kappa| far from 0. Finite-size effects in chaos are large: over 8 networks
    # (N = 1000, 1500) the relative deviation of the time-averaged |kappa| from the theory had
    # std 0.11 (one N = 1000 network flipped between +-kappa), that of delta0 0.09; the mean of
    # 4 networks has std ~0.055 and ~0.045, so 0.2 and 0.15 are 3.5-sigma bounds.
    sigma, g, n_neurons = 4.0, 3.0, 1500
    theory = solve_chaotic(GaussianLatentDynamics.from_overlaps(sigma), g, kappa0=[1.5])
    assert theory.regime == "chaotic"
    kappas, deltas, temporal = [], [], []
    for seed in range(4):
        structure, conn = _rank_one_network(n_neurons, sigma, seed, g=g)
        m, n_vecs = structure.left[:, 0], structure.right[:, 0]
        recorder = Projection(n_vecs / n_neurons, variable="rates", name="kappa")
        ds = simulate(Network(conn, phi="tanh"), t_max=120.0, dt=0.2, x0=m * theory.kappa[0],
                      record=[recorder, MeanVariance(t_start=20.0)], record_every=5,
                      dtype="float32", progress=False)
        kappa = ds.kappa.values[:, 0, 0][ds.time.values > 20]
        means, variances = ds.x_mean.values[0], ds.x_variance.values[0]
        kappas.append(float(np.mean(np.abs(kappa))))
        deltas.append(float(np.mean(variances + means**2) - np.mean(means) ** 2))
        temporal.append(float(np.mean(variances)))
    assert np.mean(kappas) == pytest.approx(theory.kappa[0], rel=0.2)
    assert np.mean(deltas) == pytest.approx(theory.delta0, rel=0.15)
    # Temporal variance delta0 - delta_inf (1.62 in theory; 1.1 to 2.3 measured): chaos, not a
    # fixed point.
    assert np.mean(temporal) == pytest.approx(theory.delta0 - theory.delta_inf, rel=0.4)
