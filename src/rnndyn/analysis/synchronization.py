"""Generalized synchronization of driven networks and invertible GS (Lu & Bassett 2020).

A network driven by ``u(t)``, ``tau dx/dt = -x + J phi(x) + B u(t) + b`` (or the map of a
`DiscreteNetwork`), is in *generalized synchronization* (GS) with its drive when its state
becomes a function of the drive's history, ``x(t) = Psi[u](t)``, whatever the initial state.

* Auxiliary-system test (Abarbanel, Rulkov & Sushchik 1996): copies started from different
  states under the same drive converge, ``d(t) = |x_i(t) - x_0(t)| -> 0``
  (`auxiliary_system_test`).
* Conditional Lyapunov exponent (Pecora & Carroll 1990): the largest growth rate of the
  tangent dynamics along the driven trajectory,
  ``tau dv/dt = -v + J (phi'(x(t)) * v)``; GS holds where it is negative
  (`conditional_lyapunov_exponent`). For ``phi = identity`` the tangent dynamics does not
  depend on the drive, and the exponent is ``max Re eig((J - I) / tau)`` exactly.
* Invertible GS (Lu & Bassett 2020, Chaos 30, 063133): if the synchronizing map Psi is
  invertible on the driver's attractor, a readout ``W_out`` with ``u ~ W_out phi(x) + c``
  exists; feeding it back (``u <- W_out phi(x) + c``) gives the autonomous network::

      tau dx/dt = -x + (J + B W_out) phi(x) + (b + B c)

  (again a plain `Network`: the readout is linear in the rates), which should reproduce the
  driver's attractor: its largest Lyapunov exponent, correlation dimension and power
  spectrum, and track the true trajectory for a few Lyapunov times (`invertible_gs_test`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_array, check_int, check_number
from rnndyn.analysis._drivers import (
    DRIVERS,
    DriverTrajectory,
    driver_lyapunov_exponents,
    driver_trajectory,
)
from rnndyn.analysis.attractor import (
    CorrelationDimensionResult,
    correlation_dimension,
    power_spectrum,
)
from rnndyn.analysis.lyapunov import LyapunovResult, lyapunov_spectrum
from rnndyn.connectivity import dense, gaussian
from rnndyn.connectivity._random import resolve_seed
from rnndyn.simulate.network import DiscreteNetwork, Network
from rnndyn.simulate.run import simulate

__all__ = [
    "AuxiliaryTestResult",
    "CorrelationDimensionResult",
    "DriverTrajectory",
    "InvertibleGSResult",
    "auxiliary_system_test",
    "conditional_lyapunov_exponent",
    "correlation_dimension",
    "driver_lyapunov_exponents",
    "driver_trajectory",
    "invertible_gs_test",
    "power_spectrum",
    "reservoir_network",
]

InputSpec = np.ndarray | Callable[[float], Any]


def _check_network(network: Any) -> bool:
    """Return True for a `DiscreteNetwork`, False for a `Network`; raise otherwise."""
    if not isinstance(network, Network | DiscreteNetwork):
        raise ValueError(f"network must be a Network or DiscreteNetwork, got "
                         f"{type(network).__name__}")
    return isinstance(network, DiscreteNetwork)


def _input_table(inputs: Any, network: Network | DiscreteNetwork, n_steps: int) -> Any:
    """Validate ``inputs``: a callable is returned as is, an array (>= n_steps, n_inputs) is
    cut to ``n_steps`` rows (zero-order hold per step, as in `simulate`)."""
    if network.n_inputs == 0:
        raise ValueError("network must have input_weights to be driven by inputs")
    if callable(inputs) and not isinstance(inputs, np.ndarray | torch.Tensor):
        return inputs
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    table = check_array("inputs", inputs, ndim=(1, 2))
    if table.ndim == 1:
        table = table[:, None]
    if table.shape[1] != network.n_inputs:
        raise ValueError(f"inputs must have shape (n_steps, n_inputs={network.n_inputs}), "
                         f"got {table.shape}")
    if table.shape[0] < n_steps:
        raise ValueError(f"inputs is too short: the requested duration needs {n_steps} steps, "
                         f"got {table.shape[0]} rows")
    return table[:n_steps]


# --- auxiliary-system test --------------------------------------------------------------------
@dataclass(frozen=True)
class AuxiliaryTestResult:
    """Outcome of `auxiliary_system_test`.

    Attributes
    ----------
    times : ndarray (T,)
    distance : ndarray (T, n_copies - 1)
        ``|x_i(t) - x_0(t)|`` (Euclidean) of each copy i >= 1 from copy 0.
    attractor_size : float
        RMS distance of copy 0 from its time average over the second half of the run.
    relative_distance : ndarray (T, n_copies - 1)
        ``distance / attractor_size``.
    converged : bool
        The largest final relative distance is below ``tolerance``.
    rate : float
        Convergence rate (per unit time; per step for a `DiscreteNetwork`): minus the slope
        of a least-squares fit of ``log max_i d_i(t)`` over the fit window; > 0 converges,
        <= 0 does not. NaN when there are fewer than 3 points to fit.
    parameters : dict
    """

    times: np.ndarray
    distance: np.ndarray
    attractor_size: float
    relative_distance: np.ndarray
    converged: bool
    rate: float
    parameters: dict[str, Any] = field(default_factory=dict)


def auxiliary_system_test(
    network: Network | DiscreteNetwork,
    inputs: InputSpec,
    t_max: float,
    *,
    dt: float | None = None,
    n_copies: int = 2,
    x0: np.ndarray | None = None,
    tolerance: float = 1e-3,
    fit_start: float = 0.1,
    floor: float = 1e-10,
    seed: int | np.random.Generator | None = None,
) -> AuxiliaryTestResult:
    """Drive ``n_copies`` copies of a network from different initial states with the same input.

    Parameters
    ----------
    network : Network or DiscreteNetwork
        Must have ``input_weights``.
    inputs : array (n_steps, n_inputs) or callable
        The drive, as for `simulate` (a longer array is cut; a shorter one is refused).
    t_max : float
        Duration (steps for a `DiscreteNetwork`).
    dt : float, optional
        Time step (default 0.1; 1 for a `DiscreteNetwork`).
    n_copies : int >= 2
    x0 : array (n_copies, n), optional
        Initial states; default iid ``N(0, 1)`` entries from ``seed``.
    tolerance : float
        ``converged`` when the final ``distance / attractor_size`` is below it.
    fit_start : float in [0, 1)
        Fraction of the run skipped before fitting the rate (initial transient).
    floor : float
        Relative distances below it (round-off) are left out of the rate fit.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    AuxiliaryTestResult

    Raises
    ------
    ValueError
        Bad ``network``, ``inputs`` (shape, non-finite, too short), ``n_copies``, ``x0``.
    """
    discrete = _check_network(network)
    dt = 1.0 if discrete else (0.1 if dt is None else check_number("dt", dt, low=0.0,
                                                                  low_inclusive=False))
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    n_steps = round(t_max / dt)
    if n_steps < 2:
        raise ValueError(f"t_max must cover at least 2 steps of dt={dt:g}, got {t_max:g}")
    n_copies = check_int("n_copies", n_copies, low=2)
    tolerance = check_number("tolerance", tolerance, low=0.0, low_inclusive=False)
    fit_start = check_number("fit_start", fit_start, low=0.0, high=1.0)
    floor = check_number("floor", floor, low=0.0)
    table = _input_table(inputs, network, n_steps)
    rng, record = resolve_seed(seed)
    if x0 is None:
        init = rng.standard_normal((n_copies, network.n))
    else:
        init = check_array("x0", x0, shape=(n_copies, network.n))
    ds = simulate(network, t_max=n_steps * dt, dt=None if discrete else dt, x0=init,
                  inputs=table, batch=n_copies, dtype="float64", seed=rng, progress=False)
    x = ds.x.values  # (T, copies, n)
    times = np.arange(x.shape[0]) * dt
    distance = np.linalg.norm(x[:, 1:] - x[:, :1], axis=-1)
    half = x[x.shape[0] // 2:, 0]
    size = float(np.sqrt(np.mean(np.sum((half - half.mean(axis=0)) ** 2, axis=-1))))
    if size <= 1e-12 * (1.0 + float(np.abs(half).max())):
        size = float(np.sqrt(np.mean(np.sum(half ** 2, axis=-1)))) or 1.0
    relative = distance / size
    worst = relative.max(axis=1)
    start = int(fit_start * len(times))
    below = np.nonzero(worst[start:] <= floor)[0]
    stop = start + (int(below[0]) if below.size else len(times) - start)
    rate = float("nan")
    if stop - start >= 3:
        slope = np.polyfit(times[start:stop], np.log(worst[start:stop]), 1)[0]
        rate = float(-slope)
    return AuxiliaryTestResult(
        times=times, distance=distance, attractor_size=size, relative_distance=relative,
        converged=bool(worst[-1] < tolerance), rate=rate,
        parameters={"t_max": n_steps * dt, "dt": dt, "n_copies": n_copies,
                    "tolerance": tolerance, "fit_start": fit_start, "floor": floor,
                    "seed": record, "network": network.describe()},
    )


# --- conditional Lyapunov exponent -------------------------------------------------------------
def conditional_lyapunov_exponent(
    network: Network | DiscreteNetwork,
    inputs: InputSpec,
    t_max: float,
    *,
    n_exponents: int = 1,
    dt: float | None = None,
    t_transient: float = 20.0,
    orthonormalize_every: float = 1.0,
    n_blocks: int = 10,
    x0: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
) -> LyapunovResult:
    """Largest conditional Lyapunov exponents of a driven network (tangent/QR method).

    Continuous time: the state follows ``tau dx/dt = -x + J phi(x) + B u(t) + b`` and k tangent
    vectors ``tau dv/dt = -v + J (phi'(x) * v)`` (the drive does not act on v), integrated
    together with RK4 (the input held over each step for an array, evaluated at the stages for
    a callable, as in `simulate`). Discrete time: with ``p = A x + B u + d``,
    ``x' = (1 - a) x + a phi(p)`` and ``v' = (1 - a) v + a phi'(p) * (A v)``. The basis is
    re-orthonormalised by QR every ``orthonormalize_every``;
    ``lambda_i = (1 / T) sum log |R_ii|``. Negative largest exponent <=> the driven network
    forgets its initial state (generalized synchronization with the drive).

    Parameters
    ----------
    network : Network or DiscreteNetwork
    inputs : array (n_steps, n_inputs) or callable ``u(t)``
        Covers ``t_transient + t_max`` (a longer array is cut).
    t_max : float
        Averaging time after the transient (steps for a `DiscreteNetwork`).
    n_exponents : int, 1 <= k <= n
    dt : float, optional
        RK4 step (default 0.1; must be 1 or None for a `DiscreteNetwork`).
    t_transient : float
        Discarded first (reaches the driven trajectory, aligns the basis).
    orthonormalize_every : float
        Time between QR steps (rounded to whole steps).
    n_blocks : int
        Blocks for the standard error (see `LyapunovResult`).
    x0 : array (n,), optional
        Initial state (default ``N(0, 1)`` from ``seed``).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LyapunovResult
        Exponents per unit time (per step for a `DiscreteNetwork`); ``.largest``.

    Raises
    ------
    ValueError
        ``n_exponents > n``, inputs too short or non-finite, bad times or ``x0``.
    """
    discrete = _check_network(network)
    if discrete:
        if dt not in (None, 1, 1.0):
            raise ValueError(f"dt must be 1 (or None) for a DiscreteNetwork, got {dt!r}")
        dt = 1.0
    else:
        dt = 0.1 if dt is None else check_number("dt", dt, low=0.0, low_inclusive=False)
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    t_transient = check_number("t_transient", t_transient, low=0.0)
    every = check_number("orthonormalize_every", orthonormalize_every, low=0.0,
                         low_inclusive=False)
    n_blocks = check_int("n_blocks", n_blocks)
    n = network.n
    k = check_int("n_exponents", n_exponents)
    if k > n:
        raise ValueError(f"n_exponents must be <= the network size n={n}, got {k}")
    per_window = max(1, round(every / dt))
    n_transient = round(t_transient / dt)
    n_windows = max(1, math.ceil(round(t_max / dt) / per_window))
    total = n_transient + n_windows * per_window
    source = _input_table(inputs, network, total)
    rng, record = resolve_seed(seed)
    x_init = rng.standard_normal(n) if x0 is None else check_array("x0", x0, shape=(n,))
    dtype = torch.float64
    x = torch.as_tensor(x_init, dtype=dtype)[None, :]
    q = torch.as_tensor(np.linalg.qr(rng.standard_normal((n, k)))[0].T.copy(), dtype=dtype)
    apply, phi, dphi = network.connectivity.apply, network.phi.value, network.phi.derivative
    table = None if callable(source) else torch.as_tensor(source, dtype=dtype)

    def u_at(step: int, t: float) -> torch.Tensor:
        if table is not None:
            return table[step][None, :]
        return torch.as_tensor(np.asarray(source(t), dtype=float), dtype=dtype).reshape(1, -1)

    if discrete:
        leak = network.leak

        def advance(x: torch.Tensor, q: torch.Tensor, step: int) -> tuple[torch.Tensor, ...]:
            out = apply(torch.cat([x, q], dim=0))
            pre = out[:1] + network.external_input(u_at(step, float(step)), x)
            new_x = torch.lerp(x, phi(pre), leak)
            new_q = torch.lerp(q, dphi(pre) * out[1:], leak)
            return new_x, new_q
    else:
        inv_tau = 1.0 / network.tau

        def field_(x: torch.Tensor, q: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = apply(torch.cat([phi(x), dphi(x) * q], dim=0))
            return ((out[:1] - x + network.external_input(u, x)) * inv_tau,
                    (out[1:] - q) * inv_tau)

        def advance(x: torch.Tensor, q: torch.Tensor, step: int) -> tuple[torch.Tensor, ...]:
            t = step * dt
            u0 = u_at(step, t)
            um = u0 if table is not None else u_at(step, t + 0.5 * dt)
            u1 = u0 if table is not None else u_at(step, t + dt)
            a1, b1 = field_(x, q, u0)
            a2, b2 = field_(x + 0.5 * dt * a1, q + 0.5 * dt * b1, um)
            a3, b3 = field_(x + 0.5 * dt * a2, q + 0.5 * dt * b2, um)
            a4, b4 = field_(x + dt * a3, q + dt * b3, u1)
            return (x + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4),
                    q + dt / 6 * (b1 + 2 * b2 + 2 * b3 + b4))

    def orthonormalize(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q_mat, r_mat = torch.linalg.qr(q.T)
        diag = torch.diagonal(r_mat)
        return (q_mat * torch.sign(diag)).T.contiguous(), diag

    step = 0
    with torch.no_grad():
        for _ in range(n_transient):
            x, q = advance(x, q, step)
            step += 1
            if step % per_window == 0:
                q, _ = orthonormalize(q)
        q, _ = orthonormalize(q)
        per_window_growth = np.empty((n_windows, k))
        for window in range(n_windows):
            for _ in range(per_window):
                x, q = advance(x, q, step)
                step += 1
            if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(q).all())):
                raise ValueError("the driven state became non-finite: lower dt or the inputs")
            q, diag = orthonormalize(q)
            per_window_growth[window] = diag.abs().log().numpy()
    window_time = per_window * dt
    times = window_time * np.arange(1, n_windows + 1)
    running = np.cumsum(per_window_growth, axis=0) / times[:, None]
    exponents = running[-1]
    blocks = min(n_blocks, n_windows)
    edges = np.linspace(0, n_windows, blocks + 1).round().astype(int)
    per_block = np.stack([per_window_growth[a:b].sum(axis=0) / ((b - a) * window_time)
                          for a, b in itertools.pairwise(edges)])[None]  # (1, blocks, k)
    error = (per_block[0].std(axis=0, ddof=1) / math.sqrt(blocks) if blocks > 1
             else np.full(k, np.nan))
    return LyapunovResult(
        exponents=exponents, per_trial=exponents[None, :], standard_error=error,
        convergence=running, times=times, per_block=per_block,
        parameters={"t_max": float(times[-1]), "n_exponents": k, "dt": dt,
                    "t_transient": n_transient * dt, "orthonormalize_every": window_time,
                    "n_blocks": blocks, "seed": record, "driven": True,
                    "network": network.describe()},
    )


# --- invertible generalized synchronization ----------------------------------------------------
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
