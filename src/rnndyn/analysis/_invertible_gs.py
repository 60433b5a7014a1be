"""Invertible generalized synchronization (Lu & Bassett 2020): a reservoir, the readout that
inverts its synchronization map, and the closed loop compared with the driver's attractor.

Private: import from `rnndyn.analysis.synchronization` (or `rnndyn.analysis`), whose docstring
gives the construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_int, check_number
from rnndyn.analysis._driven_gs_tests import conditional_lyapunov_exponent
from rnndyn.analysis._drivers import (
    DRIVERS,
    DriverTrajectory,
    driver_lyapunov_exponents,
    driver_trajectory,
)
from rnndyn.analysis.attractor import correlation_dimension, power_spectrum
from rnndyn.analysis.lyapunov import lyapunov_spectrum
from rnndyn.connectivity import dense, gaussian
from rnndyn.connectivity._random import resolve_seed
from rnndyn.simulate.network import Network
from rnndyn.simulate.run import simulate

__all__ = ["InvertibleGSResult", "invertible_gs_test", "reservoir_network"]


def reservoir_network(
    n: int,
    n_inputs: int = 3,
    *,
    gain: float = 0.8,
    input_scale: float = 0.5,
    bias_scale: float = 1.0,
    tau: float = 0.1,
    seed: int | np.random.Generator | None = None,
) -> Network:
    """A continuous-time reservoir ``tau dx/dt = -x + J tanh(x) + B u + b``.

    ``J_ij ~ N(0, gain^2 / n)`` (spectral radius about ``gain``); every neuron receives one
    input channel (round-robin), with a weight uniform in ``[-input_scale, input_scale]``
    (Lu, Hunt & Ott 2018); ``b_i`` uniform in ``[-bias_scale, bias_scale]``. The bias breaks
    the odd symmetry ``x -> -x`` of a tanh network, so that a readout linear in the rates can
    produce even functions of the drive such as Lorenz's z.

    Parameters
    ----------
    n, n_inputs : int
    gain, input_scale, bias_scale, tau : float
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    Network
    """
    n = check_int("n", n)
    n_inputs = check_int("n_inputs", n_inputs)
    gain = check_number("gain", gain, low=0.0)
    input_scale = check_number("input_scale", input_scale, low=0.0)
    bias_scale = check_number("bias_scale", bias_scale, low=0.0)
    rng, _ = resolve_seed(seed)
    conn = gaussian(n, g=gain, seed=rng)
    b_in = np.zeros((n, n_inputs))
    b_in[np.arange(n), rng.permutation(np.arange(n) % n_inputs)] = rng.uniform(
        -input_scale, input_scale, n)
    bias = rng.uniform(-bias_scale, bias_scale, n)
    return Network(conn, phi="tanh", tau=tau, input_weights=b_in, bias=bias)


@dataclass(frozen=True)
class InvertibleGSResult:
    """Outcome of `invertible_gs_test`: the closed-loop network against its driver.

    Attributes
    ----------
    readout, intercept : ndarray (d, n), (d,)
        ``W_out`` and ``c``: ``u_hat = W_out phi(x) + c`` in normalized driver coordinates.
    closed_loop : Network
        ``tau dx/dt = -x + (J + B W_out) phi(x) + (b + B c)``.
    training_error : float
        Open-loop normalized RMS error ``sqrt(<|u_hat - u|^2> / <|u - <u>|^2>)`` on the
        training segment.
    conditional_exponent : float
        Largest conditional Lyapunov exponent of the driven reservoir (NaN if not computed).
    lyapunov_network, lyapunov_driver : float
        Largest Lyapunov exponent of the closed loop (tangent method) and of the driver
        (Benettin on its variational equations), per unit time.
    dimension_network, dimension_driver : float
        Correlation dimensions of the closed loop's output and of the driver.
    prediction_times, prediction_error : ndarray
        ``e(t) = |y(t) - s(t)| / sqrt(<|s - <s>|^2>)`` of the closed loop's output y against
        the true continuation s, in driver units.
    horizon : float
        First time with ``e > error_threshold`` (the whole prediction time if never).
    horizon_lyapunov_times : float
        ``horizon * lyapunov_driver``.
    frequencies, spectrum_network, spectrum_driver : ndarray
        Welch spectra of coordinate ``spectrum_coordinate`` of output and driver.
    spectrum_distance : float
        Mean ``|log10(P_network / P_driver)|`` over the frequencies holding 99% of the
        driver's power.
    max_output_ratio : float
        Largest ``|y - <s>|`` over the autonomous run divided by the largest ``|s - <s>|``
        of the driver; about 1 when the output stays on the attractor's scale.
    parameters : dict
    """

    readout: np.ndarray
    intercept: np.ndarray
    closed_loop: Network
    training_error: float
    conditional_exponent: float
    lyapunov_network: float
    lyapunov_driver: float
    dimension_network: float
    dimension_driver: float
    prediction_times: np.ndarray
    prediction_error: np.ndarray
    horizon: float
    horizon_lyapunov_times: float
    frequencies: np.ndarray
    spectrum_network: np.ndarray
    spectrum_driver: np.ndarray
    spectrum_distance: float
    max_output_ratio: float
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def bounded(self) -> bool:
        """The autonomous output stayed within twice the driver's range."""
        return bool(self.max_output_ratio < 2.0)

    def reproduces(self, rtol: float = 0.3, min_horizon: float = 1.0) -> bool:
        """Closed-loop exponent within ``rtol`` of the driver's, horizon above ``min_horizon``
        Lyapunov times, and bounded output."""
        close = abs(self.lyapunov_network - self.lyapunov_driver) <= rtol * abs(
            self.lyapunov_driver)
        return bool(close and self.horizon_lyapunov_times > min_horizon and self.bounded)


def _ridge(features: np.ndarray, targets: np.ndarray, ridge: float) -> tuple[np.ndarray, ...]:
    """``W, c`` minimising ``|targets - features W^T - c|^2 + lambda |W|^2`` with
    ``lambda = ridge * |F_c|_F^2 / n`` for the centred features ``F_c``."""
    f_mean, t_mean = features.mean(axis=0), targets.mean(axis=0)
    fc, tc = features - f_mean, targets - t_mean
    gram = fc.T @ fc
    lam = ridge * np.trace(gram) / features.shape[1]
    w = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), fc.T @ tc).T
    return w, t_mean - w @ f_mean


def invertible_gs_test(
    network: Network,
    driver: DriverTrajectory | str = "lorenz",
    *,
    washout: float = 10.0,
    t_train: float = 50.0,
    t_predict: float = 10.0,
    t_autonomous: float = 200.0,
    t_lyapunov: float = 100.0,
    ridge: float = 1e-6,
    error_threshold: float = 0.4,
    spectrum_coordinate: int = 2,
    n_dimension_points: int = 1500,
    conditional: bool = False,
    seed: int | np.random.Generator | None = None,
) -> InvertibleGSResult:
    """Invertible generalized synchronization test (Lu & Bassett 2020).

    1. Drive the network with the normalized driver state ``u = (s - mean) / std`` (a cubic
       spline through the samples, evaluated at every RK4 stage), from ``x = 0``.
    2. Drop ``washout``; fit ``u ~ W_out phi(x) + c`` by ridge regression on ``t_train``.
    3. Close the loop: ``tau dx/dt = -x + (J + B W_out) phi(x) + (b + B c)``, a `Network`.
    4. From the last driven state, run it for ``t_predict`` against the driver's true
       continuation (prediction horizon), then for ``t_autonomous`` (correlation dimension,
       power spectrum, boundedness); measure its largest Lyapunov exponent with
       `rnndyn.analysis.lyapunov_spectrum` over ``t_lyapunov`` and the driver's with
       `driver_lyapunov_exponents` over the same time.

    Parameters
    ----------
    network : Network
        With ``input_weights`` of shape (n, d) for a d-dimensional driver (e.g.
        `reservoir_network`); integrated at the driver's ``dt``.
    driver : DriverTrajectory or {"lorenz", "rossler"}
        Must cover ``washout + t_train + t_predict``; a name generates one (dt 0.01, ``seed``).
    washout, t_train, t_predict, t_autonomous, t_lyapunov : float
        Durations (time units of the driver).
    ridge : float
        Relative ridge penalty (``lambda = ridge * |F_c|_F^2 / n``).
    error_threshold : float
        Normalized error that ends the prediction horizon.
    spectrum_coordinate : int
        Driver coordinate whose power spectrum is compared.
    n_dimension_points : int
        Points subsampled for the correlation dimensions.
    conditional : bool
        Also measure the conditional Lyapunov exponent of the driven reservoir over
        ``t_train``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    InvertibleGSResult

    Raises
    ------
    ValueError
        A network that is not a driven `Network` with d inputs, or a driver too short for
        ``washout + t_train + t_predict``.
    """
    if not isinstance(network, Network):
        raise ValueError(f"network must be a continuous-time Network, got "
                         f"{type(network).__name__}")
    washout = check_number("washout", washout, low=0.0)
    t_train = check_number("t_train", t_train, low=0.0, low_inclusive=False)
    t_predict = check_number("t_predict", t_predict, low=0.0, low_inclusive=False)
    t_autonomous = check_number("t_autonomous", t_autonomous, low=0.0, low_inclusive=False)
    t_lyapunov = check_number("t_lyapunov", t_lyapunov, low=0.0, low_inclusive=False)
    ridge = check_number("ridge", ridge, low=0.0)
    threshold = check_number("error_threshold", error_threshold, low=0.0, low_inclusive=False)
    rng, record = resolve_seed(seed)
    if isinstance(driver, str):
        driver = driver_trajectory(driver, washout + t_train + t_predict + 0.05, 0.01, seed=rng)
    if not isinstance(driver, DriverTrajectory):
        raise ValueError(f"driver must be a DriverTrajectory or a system name, got "
                         f"{type(driver).__name__}")
    dt, d = driver.dt, driver.states.shape[1]
    if network.n_inputs != d:
        raise ValueError(f"network must have input_weights of shape (n, {d}) for the "
                         f"{driver.system} driver, got n_inputs={network.n_inputs}")
    coord = check_int("spectrum_coordinate", spectrum_coordinate, low=0)
    if coord >= d:
        raise ValueError(f"spectrum_coordinate must be < {d}, got {coord}")
    n_wash, n_train, n_pred = (round(washout / dt), round(t_train / dt), round(t_predict / dt))
    if n_train < network.n:
        raise ValueError(f"t_train must give at least n={network.n} samples of dt={dt:g} "
                         f"for the readout fit, got {n_train}")
    needed = n_wash + n_train + n_pred + 1
    if driver.states.shape[0] < needed:
        raise ValueError(f"driver is too short: washout + t_train + t_predict need {needed} "
                         f"samples, got {driver.states.shape[0]}")
    states = driver.states
    train_slice = slice(n_wash, n_wash + n_train + 1)
    mean, std = states[train_slice].mean(axis=0), states[train_slice].std(axis=0)
    z = (states - mean) / std

    # 1-2. driven run and readout
    n_driven = n_wash + n_train
    ds = simulate(network, t_max=n_driven * dt, dt=dt, x0=np.zeros(network.n),
                  inputs=driver.interpolant(z), dtype="float64", seed=rng, progress=False)
    x = ds.x.values[:, 0]
    rates = np.tanh(x) if network.phi.name == "tanh" else network.phi.value(
        torch.as_tensor(x)).numpy()
    w_out, c = _ridge(rates[train_slice], z[train_slice], ridge)
    fitted = rates[train_slice] @ w_out.T + c
    target = z[train_slice]
    training_error = float(np.sqrt(np.mean(np.sum((fitted - target) ** 2, axis=1))
                                   / np.mean(np.sum((target - target.mean(0)) ** 2, axis=1))))
    cle = float("nan")
    if conditional:
        cle = conditional_lyapunov_exponent(
            network, driver.interpolant(z), t_train, dt=dt, t_transient=washout,
            x0=np.zeros(network.n), seed=rng).largest

    # 3. closed loop
    b_in = network.input_weights
    bias = np.zeros(network.n) if network.bias is None else network.bias
    closed = Network(dense(network.connectivity.to_dense() + b_in @ w_out), phi=network.phi,
                     tau=network.tau, bias=bias + b_in @ c)

    def outputs(xs: np.ndarray) -> np.ndarray:
        r = network.phi.value(torch.as_tensor(xs)).numpy()
        return (r @ w_out.T + c) * std + mean

    # 4. prediction, long run, statistics
    start = x[-1]
    n_auto = round(t_autonomous / dt)
    run = simulate(closed, t_max=(n_pred + n_auto) * dt, dt=dt, x0=start, dtype="float64",
                   seed=rng, progress=False)
    y = outputs(run.x.values[:, 0])
    truth = states[n_driven:n_driven + n_pred + 1]
    scale = math.sqrt(float(np.mean(np.sum((states - states.mean(0)) ** 2, axis=1))))
    error = np.linalg.norm(y[:n_pred + 1] - truth, axis=1) / scale
    over = np.nonzero(error > threshold)[0]
    horizon = float((over[0] if over.size else n_pred) * dt)
    lyap_driver = float(driver_lyapunov_exponents(driver.system, t_lyapunov, dt=dt, batch=4,
                                                  seed=rng)[0][0])
    lyap_net = lyapunov_spectrum(closed, t_lyapunov, dt=dt, t_transient=min(20.0, t_lyapunov),
                                 x0=start, seed=rng).largest
    auto = y[n_pred:]
    size = np.abs(states - states.mean(0)).max()
    max_ratio = float(np.abs(auto - states.mean(0)).max() / size)
    theiler = max(1, round(1.0 / dt))
    n_dim = min(n_dimension_points, auto.shape[0], states.shape[0])
    dim_net = correlation_dimension(auto, n_points=n_dim, theiler_window=theiler, seed=rng)
    dim_drv = correlation_dimension(states[n_wash:], n_points=n_dim, theiler_window=theiler,
                                    seed=rng)
    nperseg = min(2048, auto.shape[0], states.shape[0] - n_wash)
    freqs, p_net = power_spectrum(auto[:, coord], dt, nperseg=nperseg)
    _, p_drv = power_spectrum(states[n_wash:, coord], dt, nperseg=nperseg)
    cumulative = np.cumsum(p_drv) / np.sum(p_drv)
    band = slice(1, int(np.searchsorted(cumulative, 0.99)) + 1)
    distance = float(np.mean(np.abs(np.log10(p_net[band] / p_drv[band]))))
    return InvertibleGSResult(
        readout=w_out, intercept=c, closed_loop=closed, training_error=training_error,
        conditional_exponent=cle, lyapunov_network=float(lyap_net),
        lyapunov_driver=lyap_driver, dimension_network=dim_net.dimension,
        dimension_driver=dim_drv.dimension, prediction_times=dt * np.arange(n_pred + 1),
        prediction_error=error, horizon=horizon,
        horizon_lyapunov_times=horizon * lyap_driver, frequencies=freqs,
        spectrum_network=p_net, spectrum_driver=p_drv, spectrum_distance=distance,
        max_output_ratio=max_ratio,
        parameters={"washout": washout, "t_train": t_train, "t_predict": t_predict,
                    "t_autonomous": t_autonomous, "t_lyapunov": t_lyapunov, "ridge": ridge,
                    "error_threshold": threshold, "dt": dt, "system": driver.system,
                    "literature_exponent": DRIVERS[driver.system].largest_exponent,
                    "seed": record, "network": network.describe()},
    )
