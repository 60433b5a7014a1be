"""Generalized synchronization: drivers, auxiliary-system test, conditional Lyapunov exponents,
correlation dimension and the invertible-GS test, against closed forms and known values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnndyn.analysis.synchronization import (
    auxiliary_system_test,
    conditional_lyapunov_exponent,
    correlation_dimension,
    driver_lyapunov_exponents,
    driver_trajectory,
    invertible_gs_test,
    power_spectrum,
    reservoir_network,
)
from rnndyn.connectivity import dense, gaussian
from rnndyn.simulate import DiscreteNetwork, Network

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def lorenz():
    return driver_trajectory("lorenz", t_max=60.0, dt=0.01, seed=0)


# --- drivers ---------------------------------------------------------------------------------
def test_driver_trajectory_solves_the_lorenz_equations(lorenz):
    s, dt = lorenz.states, lorenz.dt
    assert s.shape == (6001, 3) and lorenz.times[-1] == pytest.approx(60.0)
    # Fourth-order central differences match the vector field to dt^4 |s^(5)| / 30; |s^(5)|
    # reaches ~1e7 on the fast excursions of the attractor, so ~0.1 against |f| up to ~300
    # (a solve_ivp error of 1e-10 adds only ~1e-8 / dt).
    deriv = (-s[4:] + 8 * s[3:-1] - 8 * s[1:-3] + s[:-4]) / (12 * dt)
    x, y, z = s[2:-2].T
    field = np.stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z], axis=1)
    assert np.max(np.abs(deriv - field)) < 0.2
    again = driver_trajectory("lorenz", t_max=60.0, dt=0.01, seed=0)
    np.testing.assert_array_equal(again.states, s)


def test_lorenz_exponents_match_the_known_spectrum():
    exps, err = driver_lyapunov_exponents("lorenz", t_max=80.0, n_exponents=3, batch=8,
                                          seed=1)
    # Literature: (0.9056, 0, -14.5723). The batch standard error is ~0.006; 0.03 is ~5 SE.
    assert exps[0] == pytest.approx(0.9056, abs=0.03)
    assert exps[1] == pytest.approx(0.0, abs=0.02)
    # The sum is the constant trace of the Jacobian, -(sigma + 1 + beta): exact up to RK4
    # error in the volume (log det is additive, the QR does not change it).
    assert exps.sum() == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-3)
    assert err.shape == (3,) and np.all(err < 0.02)


def test_rossler_largest_exponent():
    exps, err = driver_lyapunov_exponents("rossler", t_max=300.0, dt=0.05, batch=24, seed=2)
    # Literature 0.0714; the standard error of 24 trajectories of 300 time units is ~0.0015,
    # 0.007 is ~5 SE (and covers the spread of published values, 0.069-0.072).
    assert exps[0] == pytest.approx(0.0714, abs=0.007)
    assert err[0] < 0.003


# --- correlation dimension and spectra --------------------------------------------------------
def test_correlation_dimension_of_a_square_a_circle_and_lorenz(lorenz):
    rng = np.random.default_rng(3)
    square = rng.uniform(size=(3000, 2))
    # At C <= 3e-2 the radius is <= 0.1, where the edge deficit of the pair count lowers the
    # local slope by ~ 4 r / (3 pi) ~ 0.04; 0.1 also covers the Poisson noise of ~3000 pairs.
    assert correlation_dimension(square, theiler_window=0, seed=4).dimension == pytest.approx(
        2.0, abs=0.1)
    angle = rng.uniform(0, 2 * np.pi, 3000)
    circle = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    assert correlation_dimension(circle, theiler_window=0, seed=5).dimension == pytest.approx(
        1.0, abs=0.05)
    # Lorenz D_2 = 2.05 (Grassberger & Procaccia 1983); 1500 points from 55 time units with
    # a 1-time-unit Theiler window give a slope within ~0.1 of it.
    result = correlation_dimension(lorenz.states[500:], n_points=1500, theiler_window=100,
                                   seed=6)
    assert result.dimension == pytest.approx(2.05, abs=0.15)
    assert np.all(np.diff(result.correlation_sum) >= 0)


def test_power_spectrum_of_a_sine_peaks_at_its_frequency():
    t = 0.01 * np.arange(8192)
    freqs, psd = power_spectrum(np.sin(2 * np.pi * 1.5 * t), 0.01, nperseg=2048)
    # Frequency resolution 1 / (2048 * 0.01) ~ 0.05.
    assert freqs[np.argmax(psd)] == pytest.approx(1.5, abs=0.05)


# --- conditional exponents and the auxiliary-system test ---------------------------------------
def _random_inputs(steps: int, n_inputs: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((steps, n_inputs))


def test_linear_network_conditional_exponent_is_the_eigenvalue_bound():
    # phi = identity: tau dv/dt = (J - I) v whatever the drive, so the exponent is
    # max Re eig((J - I) / tau). J = Q diag(e) Q^T is symmetric (no non-normal transients)
    # with its top eigenvalue 0.4 separated by 0.3 from the rest: the transient 30 aligns the
    # basis to exp(-30 * 0.3 / tau), leaving an O(1/T) ~ 1e-3 error.
    rng = np.random.default_rng(7)
    q = np.linalg.qr(rng.standard_normal((40, 40)))[0]
    eigenvalues = np.concatenate([[0.4], rng.uniform(-0.6, 0.1, 39)])
    j = q @ np.diag(eigenvalues) @ q.T
    tau = 0.5
    expected = (0.4 - 1.0) / tau
    net = Network(dense(j), phi="identity", tau=tau, input_weights=rng.standard_normal((40, 2)))
    result = conditional_lyapunov_exponent(net, _random_inputs(1000, 2, 8), 70.0,
                                           t_transient=30.0, seed=9)
    assert result.largest == pytest.approx(expected, abs=5e-3)
    # The auxiliary copies approach each other at that same rate: d(t) = |exp((J - I) t / tau)
    # d(0)| decays as exp(expected t) once the slowest mode dominates.
    aux = auxiliary_system_test(net, _random_inputs(400, 2, 10), 40.0, fit_start=0.25,
                                seed=11)
    assert aux.converged
    assert aux.rate == pytest.approx(-expected, rel=0.03)


def test_linear_discrete_network_exponent():
    # x' = (1 - a) x + a (A x + B u): the tangent map is M = (1 - a) I + a A, exponent
    # log max |eig(M)| per step.
    rng = np.random.default_rng(12)
    a_mat = 0.9 * rng.standard_normal((30, 30)) / np.sqrt(30)
    leak = 0.5
    expected = float(np.log(np.max(np.abs(np.linalg.eigvals((1 - leak) * np.eye(30)
                                                            + leak * a_mat)))))
    net = DiscreteNetwork(dense(a_mat), phi="identity", leak=leak,
                          input_weights=rng.standard_normal((30, 1)))
    result = conditional_lyapunov_exponent(net, _random_inputs(3000, 1, 13), 2500.0,
                                           t_transient=400.0, seed=14)
    # A complex-conjugate leading pair makes log|R_11| oscillate; over 2500 steps the
    # average is within ~1e-3 of the modulus.
    assert result.largest == pytest.approx(expected, abs=5e-3)


@pytest.mark.parametrize(("gain", "input_scale", "synchronizes"),
                         [(0.5, 1.0, True), (3.0, 0.1, False)])
def test_gain_decides_generalized_synchronization(gain, input_scale, synchronizes):
    # Weak recurrence: the drive entrains the network (exponent < 0, copies converge). Strong
    # recurrence (g = 3) with a weak drive stays chaotic (Sompolinsky et al.: lambda ~ 0.5 at
    # g = 3 without input; a drive of 0.1 barely changes it): exponent > 0, copies stay apart.
    n = 120
    rng = np.random.default_rng(15)
    net = Network(gaussian(n, g=gain, seed=16), input_weights=input_scale * rng.standard_normal(
        (n, 1)))
    drive = np.sin(0.7 * 0.1 * np.arange(1000))[:, None] + 0.5 * _random_inputs(1000, 1, 17)
    cle = conditional_lyapunov_exponent(net, drive, 60.0, t_transient=20.0, seed=18)
    aux = auxiliary_system_test(net, drive, 80.0, n_copies=3, seed=19)
    assert aux.distance.shape == (801, 2)
    if synchronizes:
        assert cle.largest < -0.2
        assert aux.converged and aux.rate > 0.2
    else:
        assert cle.largest > 0.1
        assert not aux.converged
        assert aux.relative_distance[-1].min() > 0.1


# --- invertible generalized synchronization ---------------------------------------------------
def test_invertible_gs_reservoir_learns_lorenz(lorenz):
    # N = 200, 40 time units of training (the example runs N = 300 with longer statistics).
    # The readout inverts the synchronization map in open loop (normalized error ~5e-4 here;
    # 0.05 is the bound of the issue), the closed loop predicts for more than one Lyapunov
    # time (~5 with these parameters over 4 seeds), stays on the attractor's scale, and its
    # largest exponent is within 30% of Lorenz's 0.906: over 20 time units the finite-time
    # exponent of Lorenz scatters by ~0.1, and the 4 seeds we tried gave 0.86-1.02.
    net = reservoir_network(200, gain=0.8, input_scale=0.5, bias_scale=1.0, tau=0.1, seed=1)
    result = invertible_gs_test(net, lorenz, washout=5.0, t_train=40.0, t_predict=8.0,
                                t_autonomous=20.0, t_lyapunov=20.0, seed=2)
    assert result.training_error < 0.05
    assert result.horizon_lyapunov_times > 1.0
    assert result.bounded
    assert result.lyapunov_network == pytest.approx(0.9056, rel=0.3)
    assert result.readout.shape == (3, 200)
    # The closed loop is a plain Network: J' = J + B W_out.
    expected = net.connectivity.to_dense() + net.input_weights @ result.readout
    np.testing.assert_allclose(result.closed_loop.connectivity.to_dense(), expected)


# --- bad input --------------------------------------------------------------------------------
def test_bad_input_names_the_parameter(lorenz):
    net = Network(gaussian(10, g=0.5, seed=0), input_weights=np.ones((10, 1)))
    bad = np.ones((100, 1))
    bad[5] = np.nan
    with pytest.raises(ValueError, match="inputs"):
        conditional_lyapunov_exponent(net, bad, 5.0, t_transient=1.0)
    with pytest.raises(ValueError, match="inputs"):
        auxiliary_system_test(net, bad, 5.0)
    with pytest.raises(ValueError, match="inputs is too short"):
        conditional_lyapunov_exponent(net, np.ones((10, 1)), 5.0, t_transient=1.0)
    with pytest.raises(ValueError, match="n_exponents"):
        conditional_lyapunov_exponent(net, np.ones((100, 1)), 5.0, n_exponents=11)
    with pytest.raises(ValueError, match="x0"):
        auxiliary_system_test(net, np.ones((100, 1)), 5.0, x0=np.full((2, 10), np.inf))
    with pytest.raises(ValueError, match="n_copies"):
        auxiliary_system_test(net, np.ones((100, 1)), 5.0, n_copies=1)
    with pytest.raises(ValueError, match="theiler_window"):
        correlation_dimension(np.random.default_rng(0).standard_normal((50, 2)), n_points=50,
                              theiler_window=49)
    with pytest.raises(ValueError, match="points"):
        correlation_dimension(np.full((50, 2), np.nan))
    with pytest.raises(ValueError, match="n_points"):
        correlation_dimension(np.zeros((50, 2)), n_points=100)
    with pytest.raises(ValueError, match="nperseg"):
        power_spectrum(np.ones(100), 0.1, nperseg=256)
    with pytest.raises(ValueError, match="driver is too short"):
        invertible_gs_test(reservoir_network(20, seed=0), lorenz, washout=10.0, t_train=60.0)
    with pytest.raises(ValueError, match="network"):
        invertible_gs_test(net, lorenz)
    with pytest.raises(ValueError, match="system"):
        driver_trajectory("henon")
    with pytest.raises(ValueError, match="n_exponents"):
        driver_lyapunov_exponents("lorenz", 10.0, n_exponents=4)
