"""Time-dependent multiregion mean-field theory with within-region disorder.

References, none produced by the code under test:

- g = 0: the current ODE integrated by DOP853 (`rnndyn.theory.multiregion.integrate_currents`);
- T = 0: each region is a random network, the two-time DMFT of `rnndyn.theory.two_time` (whose
  pair averages are Mehler series where ours are erf closed forms);
- long times: the stationary currents amid chaos (`rnndyn.theory.multiregion.solve_currents`)
  and the stationary DMFT with a quenched input (`rnndyn.theory.dmft.solve_random_network`);
- simulations of `rnndyn.models.MultiRegionModel` networks with `rnndyn.simulate`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnndyn import ConvergenceError
from rnndyn.theory._multiregion_dynamics import CurrentDynamics, solve_current_dynamics
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.gaussian import mean_activity
from rnndyn.theory.multiregion import integrate_currents, solve_currents
from rnndyn.theory.two_time import solve_two_time

EXCHANGE = np.zeros((2, 2, 2))
EXCHANGE[0, 1, 0] = 2.0  # S^{01} is driven by S^{10}
EXCHANGE[1, 0, 1] = 1.5  # and S^{10} by S^{01}: a loop of gain sqrt(3)
IDENTITY_U = np.stack([np.eye(2)] * 2)


def _loop_of_three() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A loop 0 -> 1 -> 2 -> 0 and a self-current in region 1 (as in test_multiregion)."""
    r = 3
    t = np.zeros((r, r, r))
    t[1, 0, 2] = t[2, 1, 0] = t[0, 2, 1] = 2.0
    t[1, 1, 1] = 1.2
    u = np.stack([np.eye(r)] * r)
    s0 = np.zeros((r, r))
    s0[1, 0], s0[2, 1], s0[0, 2], s0[1, 1] = 0.3, -0.2, 0.1, 0.5
    return t, u, s0


# --- g = 0: the current ODE ---------------------------------------------------------------------
def test_without_disorder_matches_the_current_ode_at_second_order():
    t, u, s0 = _loop_of_three()
    errors = {}
    solutions = {}
    for dt in (0.1, 0.05, 0.025):
        sol = solve_current_dynamics(t, u, 0.0, "erf", initial_currents=s0, t_max=20.0, dt=dt)
        ref = integrate_currents(t, u, s0, sol.time, "erf", rtol=1e-12, atol=1e-13)
        errors[dt] = float(np.abs(sol.currents - ref.currents).max())
        solutions[dt] = sol
    # Second order: halving dt divides the error by 4 (log2 ratio 2; 0.15 allows the O(dt^3)
    # next term, which at these dt changes the ratio by a few percent).
    assert math.log2(errors[0.1] / errors[0.05]) == pytest.approx(2.0, abs=0.15)
    assert math.log2(errors[0.05] / errors[0.025]) == pytest.approx(2.0, abs=0.15)
    # Size: the global error of the exponential trapezoid is ~ t dt^2 / 12 |H''| with O(1)
    # currents that vary on O(1) times over t = 20, i.e. below ~ 20 * 0.05^2 / 12 = 4e-3;
    # measured 2e-4 at dt = 0.05, so 1e-3 is a bound, not a fit.
    assert errors[0.05] < 1e-3
    # Richardson: (4 S_{dt/2} - S_dt) / 3 removes the dt^2 term, so if the error is purely
    # second order the combination is far closer to DOP853 than either (a tenth of err(0.025)).
    fine, coarse = solutions[0.05], solutions[0.1]
    combined = (4.0 * fine.currents[::2] - coarse.currents) / 3.0
    ref = integrate_currents(t, u, s0, coarse.time, "erf", rtol=1e-12, atol=1e-13)
    assert np.abs(combined - ref.currents).max() < errors[0.025] / 10
    # The drive is H = psi T S with psi = <phi'>(0, S U S) (no disorder, v0 = 0), evaluated
    # here by the quadrature module on the solver's own currents.
    sol = solutions[0.05]
    structured = np.einsum("tnr,nrq,tnq->tn", sol.currents, u, sol.currents)
    psi = mean_activity("erf", 0.0, structured, part="derivative")
    drive = np.einsum("mnr,tnr->tmn", t, sol.currents) * psi[:, None, :]
    np.testing.assert_allclose(sol.drive, drive, rtol=0, atol=1e-9)  # iteration tol 1e-10
    np.testing.assert_allclose(sol.variance, structured, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.disorder_correlation(), 0.0, atol=1e-12)


# --- T = 0: independent random networks ---------------------------------------------------------
@pytest.mark.parametrize("phi", ["erf", "tanh"])
def test_without_interactions_each_region_is_the_two_time_dmft(phi):
    # With T = 0 the currents only decay, S(t) = S0 e^{-t} (exact in the exponential rule), so
    # the structured part S0 U S0 e^{-t-s} is an initial variance for the two-time DMFT of a
    # random network of gain g_nu (normalization="population": chi ~ N(0, g^2 / N_region)).
    u = np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, 0.0], [0.0, 0.0]]])
    s0 = np.array([[0.4, -0.7], [1.1, 0.3]])
    g = np.array([0.8, 2.0])  # one quiescent region, one chaotic
    v0 = np.array([0.5, 1.0])
    sol = solve_current_dynamics(np.zeros((2, 2, 2)), u, g, phi, initial_currents=s0,
                                 t_max=20.0, dt=0.1, initial_variance=v0, tol=1e-12)
    np.testing.assert_allclose(sol.currents, s0 * np.exp(-sol.time)[:, None, None], rtol=0,
                               atol=1e-14)
    np.testing.assert_array_equal(sol.drive, 0.0)
    for nu in range(2):
        ref = solve_two_time(g[nu], phi, t_max=20.0, dt=0.1, normalization="population",
                             initial_variance=v0[nu] + s0[nu] @ u[nu] @ s0[nu], tol=1e-12)
        # Same discretisation, so only the iteration tolerances (1e-12 per step) and the pair
        # averages differ: erf closed form vs Mehler series (~1e-10 each, tested in
        # test_two_time) accumulated over 200 steps of a contracting recursion: 1e-8.
        np.testing.assert_allclose(sol.correlation[nu], ref.correlation[0], rtol=0, atol=1e-8)


# --- long times: stationary currents amid chaos -------------------------------------------------
@pytest.mark.parametrize(("phi", "dt"), [("erf", 0.05), ("tanh", 0.1)])
def test_one_region_relaxes_to_structured_chaos(phi, dt):
    # R = 1, T = 2.5, U = 1, g = 2: a static current amid chaos (the low-rank theory's
    # structured chaos). Start away from it, from S = 0.3 and a unit disorder variance.
    t, u, g = [[[2.5]]], [[[1.0]]], 2.0
    sol = solve_current_dynamics(t, u, g, phi, initial_currents=[[0.3]], t_max=80.0, dt=dt,
                                 initial_variance=1.0)
    point = solve_currents(t, u, g, phi, initial_currents=[[1.0]])
    assert point.regimes == ("chaotic",)
    # Error budget: the transient (the currents relax at rate 0.27, the chaotic variance more
    # slowly, ~0.08 for g = 2 (see test_two_time): e^{-0.08 * 80} ~ 2e-3 of an O(1) initial
    # offset) and the O(dt^2) discretisation (~dt^2 |Delta''| ~ 1e-3 at dt = 0.1). Delta ~ 3.3
    # and S ~ 0.9, so 2e-3 relative covers both. The last 20 time units must have settled.
    last = sol.time >= 60.0
    assert np.ptp(sol.currents[last, 0, 0]) < 1e-3
    assert abs(sol.currents[-1, 0, 0]) == pytest.approx(abs(point.currents[0, 0]), rel=2e-3)
    assert sol.variance[-1, 0] == pytest.approx(point.variance[0], rel=2e-3)
    assert sol.structured_variance[-1, 0] == pytest.approx(point.structured_variance[0],
                                                           rel=4e-3)  # S^2: twice S's error
    # The lag profile after t = 50 is that of a random network with the quenched input
    # variance S U S: same budget as above (absolute, Delta(0) ~ 3.3).
    stationary = solve_random_network(g, phi, input_variance=float(point.structured_variance[0]))
    tau = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    lags, values = sol.stationary_autocorrelation(50.0, max_lag=4.0)
    idx = np.round(tau / dt).astype(int)
    np.testing.assert_allclose(lags[idx], tau)
    np.testing.assert_allclose(values[idx, 0], stationary.autocorrelation(tau), rtol=0,
                               atol=5e-3)
    # Not vacuous: the currents and the variance moved by O(1).
    assert np.ptp(sol.currents[:, 0, 0]) > 0.5 and np.ptp(sol.variance[:, 0]) > 1.0


def test_two_region_exchange_relaxes_to_the_stationary_currents():
    # g = 1.5: the quiescent state is chaotic and unstable (sqrt(3) psi > 1); the exchange
    # currents grow from S = 0.3, quench the chaos in region 0 (fixed point) and leave region
    # 1 chaotic (solve_currents' regimes).
    s0 = np.array([[0.0, 0.3], [0.3, 0.0]])
    sol = solve_current_dynamics(EXCHANGE, IDENTITY_U, 1.5, "erf", initial_currents=s0,
                                 t_max=100.0, dt=0.1, initial_variance=1.0)
    point = solve_currents(EXCHANGE, IDENTITY_U, 1.5, "erf", initial_currents=s0)
    assert point.regimes == ("fixed_point", "chaotic")
    # The slowest current mode relaxes at rate 0.18 (solve_currents' eigenvalues; the
    # chaotic variance lags further), so after t = 100 an O(1) offset has decayed to ~1e-4
    # relative of the currents, much less than a 2e-3 tolerance; O(dt^2) adds ~1e-3 relative.
    assert np.max(point.eigenvalues.real) == pytest.approx(-0.18, abs=0.01)
    last = sol.time >= 80.0
    assert np.ptp(sol.currents[last], axis=0).max() < 2e-3
    np.testing.assert_allclose(np.abs(sol.currents[-1]), np.abs(point.currents), rtol=2e-3,
                               atol=1e-9)
    np.testing.assert_allclose(sol.variance[-1], point.variance, rtol=2e-3)
    np.testing.assert_allclose(sol.gains[-1], point.gains, rtol=2e-3)
    # Stationary currents: H = S (the drive equals the current).
    np.testing.assert_allclose(sol.drive[-1], sol.currents[-1], rtol=0, atol=1e-3)
    assert sol.currents[-1, 0, 1] > 1.5 * s0[0, 1]  # grew from 0.3 to ~0.51


# --- simulations --------------------------------------------------------------------------------
def _simulated_run(g: float, n: int, seed: int, s0: np.ndarray, v0: float, t_max: float,
                   dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                       np.ndarray]:
    """Simulate one network; return times, currents (T, R, R), region variances (T, R) and
    the realised overlaps (T, U) of its loadings."""
    from rnndyn.models import MultiRegionModel
    from rnndyn.simulate import Projection, simulate

    r = 2
    model = MultiRegionModel((n, n), (g, g), EXCHANGE, IDENTITY_U, phi="erf")
    network = model.network(seed=seed)
    conn = network.connectivity
    m = [np.stack([conn.couplings[(nu, rho)][0].ravel() for rho in range(r)], 1)
         for nu in range(r)]
    readouts = [np.stack([conn.couplings[(mu, nu)][1].ravel() for mu in range(r)], 1)
                for nu in range(r)]
    t_real = np.zeros((r, r, r))
    u_real = np.zeros((r, r, r))
    for nu in range(r):
        t_real[:, nu, :] = readouts[nu].T @ m[nu] / n
        u_real[nu] = m[nu].T @ m[nu] / n
    # x(0) = m S0 + sqrt(v0) z with z orthogonal to the m's and |z|^2 = N: the theory's
    # initial condition with its first two moments realised exactly.
    rng = np.random.default_rng(seed + 100)
    x0 = []
    for nu in range(r):
        z = rng.standard_normal(n)
        q, _ = np.linalg.qr(m[nu])
        z -= q @ (q.T @ z)
        z *= math.sqrt(n / (z @ z))
        x0.append(m[nu] @ s0[nu] + math.sqrt(v0) * z)
    every = round(0.5 / dt)
    ds = simulate(network, t_max=t_max, dt=dt, x0=np.concatenate(x0),
                  record=[Projection.currents(conn), "x"], record_every=every, seed=seed,
                  progress=False)
    current = ds["current"].isel(trial=0)
    times = current[current.dims[0]].values
    currents = np.zeros((times.size, r, r))
    for k in range(current.sizes["current_component"]):
        mu, nu = int(current["target_region"][k]), int(current["source_region"][k])
        currents[:, mu, nu] = current[:, k].values
    x = ds["x"].isel(trial=0).values.astype(np.float64)
    variances = np.stack([(x[:, nu * n:(nu + 1) * n] ** 2).mean(axis=1) for nu in range(r)], 1)
    return times, currents, variances, t_real, u_real


@pytest.mark.slow
@pytest.mark.parametrize("g", [0.8, 1.2])
def test_transient_with_disorder_matches_simulation(g):
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        n, n_networks, t_max, v0 = 1500, 4, 20.0, 1.0
        s0 = np.array([[0.0, 0.2], [0.2, 0.0]])
        current_errors, variance_errors = [], []
        for seed in range(n_networks):
            times, currents, variances, t_real, u_real = _simulated_run(
                g, n, seed, s0, v0, t_max, dt=0.1)
            # The theory of this network's realised overlaps: their O(1/sqrt(N)) deviations
            # from (T, U) move the currents by several percent (near the onset of the
            # exchange the currents amplify them), the largest finite-N effect.
            sol = solve_current_dynamics(t_real, u_real, g, "erf", initial_currents=s0,
                                         t_max=t_max, dt=0.05, initial_variance=v0)
            idx = np.round(times / sol.dt).astype(int)
            np.testing.assert_allclose(sol.time[idx], times)
            # The simulator records the instantaneous readout n . phi(x) / N = H = S + dS/dt.
            current_errors.append(currents - sol.drive[idx])
            variance_errors.append(variances - sol.variance[idx])
        current_scale = np.abs(sol.drive).max()
        variance_scale = sol.variance[idx]
        # Allowed, as in test_two_time: 4 standard errors over the independent networks
        # (disorder chi, loadings and initial state all redrawn) plus scale / sqrt(N) for a
        # finite-size bias (the remaining O(1/sqrt(N)) effects: the random bulk shifts the
        # outliers of the connectivity, the disorder's static variance fluctuates).
        for errors, scale in [(current_errors, current_scale),
                              (variance_errors, variance_scale)]:
            errors = np.array(errors)
            mean = errors.mean(axis=0)
            sem = errors.std(axis=0, ddof=1) / math.sqrt(n_networks)
            assert np.all(np.abs(mean) <= 4 * sem + scale / math.sqrt(n)), np.abs(mean).max()
        # Not vacuous: the exchange currents grow ~4-fold and region variances move by O(1).
        assert sol.drive[-1, 0, 1] > 3 * sol.drive[0, 0, 1]
        assert np.ptp(sol.variance, axis=0).min() > 0.3
    finally:
        torch.set_num_threads(previous)


# --- structure and input checking ---------------------------------------------------------------
def test_solution_structure():
    s0 = np.array([[0.1, 0.3], [-0.2, 0.0]])
    sol = solve_current_dynamics(EXCHANGE, IDENTITY_U, [0.5, 1.5], "tanh", initial_currents=s0,
                                 t_max=3.0, dt=0.1, initial_variance=[0.2, 0.7])
    assert isinstance(sol, CurrentDynamics)
    n_time = 31
    assert sol.time.shape == (n_time,) and sol.dt == pytest.approx(0.1)
    assert sol.currents.shape == sol.drive.shape == (n_time, 2, 2)
    assert sol.gains.shape == sol.variance.shape == sol.structured_variance.shape == (n_time, 2)
    assert sol.correlation.shape == (2, n_time, n_time) and sol.n_regions == 2
    np.testing.assert_array_equal(sol.correlation, np.swapaxes(sol.correlation, 1, 2))
    np.testing.assert_array_equal(sol.variance, np.diagonal(sol.correlation, axis1=1, axis2=2).T)
    np.testing.assert_array_equal(sol.currents[0], s0)
    # Initial state: D(0, 0) = v0 on top of S0 U S0; D(t, 0) = v0 e^{-t} (the rule has no
    # source at s = 0).
    np.testing.assert_allclose(sol.variance[0], [0.2 + 0.1, 0.7 + 0.04], rtol=1e-14)
    disorder = sol.disorder_correlation()
    np.testing.assert_allclose(disorder[:, :, 0], np.outer([0.2, 0.7], np.exp(-sol.time)),
                               rtol=1e-12)
    np.testing.assert_allclose(sol.variance - sol.structured_variance,
                               np.diagonal(disorder, axis1=1, axis2=2).T, atol=1e-12)
    assert sol.residual <= 1e-10 and 1 <= sol.iterations <= 50
    assert sol.total_iterations >= n_time - 1
    tau, values = sol.stationary_autocorrelation(1.0, max_lag=0.5)
    assert tau.shape == (6,) and values.shape == (6, 2)
    np.testing.assert_allclose(values[0], sol.variance[10:].mean(axis=0))


def test_convergence_error_reports_the_residual():
    with pytest.raises(ConvergenceError, match="residual"):
        solve_current_dynamics(EXCHANGE, IDENTITY_U, 1.5, initial_currents=np.full((2, 2), 0.5),
                               t_max=1.0, dt=0.1, max_iter=1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"interactions": np.zeros((2, 2))}, "interactions"),
        ({"interactions": np.full((2, 2, 2), np.nan)}, "interactions"),
        ({"input_overlaps": np.zeros((3, 2, 2))}, "input_overlaps"),
        ({"input_overlaps": -IDENTITY_U}, "input_overlaps"),
        ({"disorder": -1.0}, "disorder"),
        ({"disorder": [0.5, np.nan]}, "disorder"),
        ({"initial_currents": np.zeros(3)}, "initial_currents"),
        ({"initial_currents": [[0.0, np.nan], [0.0, 0.0]]}, "initial_currents"),
        ({"t_max": -1.0}, "t_max"),
        ({"t_max": np.nan}, "t_max"),
        ({"t_max": 0.01}, "t_max"),
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"initial_variance": -0.1}, "initial_variance"),
        ({"initial_variance": [0.1, 0.2, 0.3]}, "initial_variance"),
        ({"tol": 0.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"phi": "no-such-phi"}, "phi"),
    ],
)
def test_bad_input_raises_value_error_naming_it(kwargs, name):
    args = {"interactions": EXCHANGE, "input_overlaps": IDENTITY_U, "disorder": 0.5,
            "phi": "erf", "initial_currents": np.zeros((2, 2)), "t_max": 1.0, "dt": 0.1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        solve_current_dynamics(args.pop("interactions"), args.pop("input_overlaps"),
                               args.pop("disorder"), args.pop("phi"), **args)


def test_bad_arguments_of_the_lag_profile():
    sol = solve_current_dynamics(EXCHANGE, IDENTITY_U, 0.5, initial_currents=np.zeros((2, 2)),
                                 t_max=1.0, dt=0.1)
    with pytest.raises(ValueError, match="t_start"):
        sol.stationary_autocorrelation(2.0)
    with pytest.raises(ValueError, match="max_lag"):
        sol.stationary_autocorrelation(0.0, max_lag=-1.0)
