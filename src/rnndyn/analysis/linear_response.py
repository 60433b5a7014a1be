"""Linear response of a simulated network to weak pulses, averaged along its own trajectory.

For a network in a fluctuating (e.g. chaotic) state, the linear response function is the
average over the stationary state of the propagator of small perturbations::

    chi_ij(tau) = < d x_i(t + tau) / d u_j(t) >_t

the mean response of ``x_i`` at time ``t + tau`` to a unit pulse into unit j's equation at t
(a pulse of area eps shifts x_j(t) by eps). It is measured by finite differences: at each of
``n_windows`` times along one long run, the state is copied ``len(units) + 1`` times, copy j
kicked by ``eps`` along unit j, all copies integrated together as one batch, and
``(x_copy_j(t + tau) - x_base(t + tau)) / eps`` averaged over the windows. ``eps`` is small
enough (default 1e-5 in float64) that the perturbation stays linear over the lags used, even
with a positive Lyapunov exponent (growth ``e^{lambda tau}``, tau of a few units).

This is the simulation side of `rnndyn.theory.fixed_connectivity.response_kernel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_int, check_number
from rnndyn.simulate import simulate
from rnndyn.simulate.network import Network

__all__ = ["ResponseEstimate", "measure_response"]


@dataclass(frozen=True)
class ResponseEstimate:
    """Result of `measure_response`.

    Attributes
    ----------
    lags : ndarray (L,)
    response : ndarray (L, N, K)
        ``chi[l, i, k]``: response of unit i at ``lags[l]`` to a pulse into ``units[k]``.
    standard_error : ndarray (L, N, K)
        Window-to-window standard deviation over sqrt(n_windows).
    units : ndarray (K,)
        The pulsed units.
    per_window : ndarray (n_windows, L, N, K) or None
        Every window's propagator, if ``keep_windows``; split it to measure estimation noise.
    parameters : dict
    """

    lags: np.ndarray
    response: np.ndarray
    standard_error: np.ndarray
    units: np.ndarray
    per_window: np.ndarray | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def measure_response(
    network: Network,
    lags: Any,
    *,
    n_windows: int = 50,
    spacing: float = 10.0,
    t_transient: float = 50.0,
    eps: float = 1e-5,
    dt: float = 0.05,
    units: Any = None,
    keep_windows: bool = False,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> ResponseEstimate:
    """Mean response to weak pulses along the network's spontaneous trajectory.

    Parameters
    ----------
    network : Network
        A continuous-time network (its inputs, if any, are not driven here).
    lags : array of float > 0
        Where the response is read (time units); rounded to multiples of ``dt``.
    n_windows : int, default 50
        Pulse times; they are ``spacing`` apart after ``t_transient``.
    spacing : float, default 10
        Time between pulse times (longer than the correlation time makes windows nearly
        independent for the standard error).
    t_transient : float, default 50
    eps : float, default 1e-5
        Pulse size (the kick of x_j); the estimate is linear in it for small eps.
    dt : float, default 0.05
        Integration step (RK4, float64).
    units : array of int, optional
        Which units to pulse (default all: N + 1 copies per window, O(N^3) per step).
    keep_windows : bool, default False
    seed : int, optional
        Initial state of the run.
    device : str or torch.device, default "cpu"
    """
    if not isinstance(network, Network):
        raise ValueError(f"network must be a continuous-time rnndyn Network, got "
                         f"{type(network).__name__}")
    n = network.n
    lag_values = np.asarray(lags, dtype=float).ravel()
    if lag_values.size == 0 or not np.all(np.isfinite(lag_values)) or np.any(lag_values <= 0):
        raise ValueError(f"lags must be positive finite times, got {lags!r}")
    dt = check_number("dt", dt, low=0.0, low_inclusive=False)
    steps = np.rint(lag_values / dt).astype(int)
    if np.any(steps < 1):
        raise ValueError(f"lags must be at least dt = {dt:g}, got {lags!r}")
    order = np.argsort(steps)
    n_windows = check_int("n_windows", n_windows)
    spacing = check_number("spacing", spacing, low=0.0, low_inclusive=False)
    t_transient = check_number("t_transient", t_transient, low=0.0)
    eps = check_number("eps", eps, low=0.0, low_inclusive=False)
    pulsed = np.arange(n) if units is None else np.asarray(units, dtype=int).ravel()
    if pulsed.size == 0 or pulsed.min() < 0 or pulsed.max() >= n:
        raise ValueError(f"units must be indices in [0, {n}), got {units!r}")

    # One long run; its state at each pulse time starts a window.
    record_every = max(1, round(spacing / dt))
    t_total = t_transient + n_windows * record_every * dt
    base = simulate(network, t_max=t_total, dt=dt, record=["x"], record_every=record_every,
                    seed=seed, dtype=torch.float64, device=device, progress=False)
    times = base.time.values
    states = base.x.values[times >= t_transient - 1e-9, 0][:n_windows]

    windows = np.empty((states.shape[0], lag_values.size, n, pulsed.size))
    kicks = np.zeros((pulsed.size, n))
    kicks[np.arange(pulsed.size), pulsed] = eps
    for w, state in enumerate(states):
        current = np.vstack([state[None, :], state[None, :] + kicks])
        done = 0
        for index in order:
            segment = int(steps[index]) - done
            if segment > 0:
                run = simulate(network, t_max=segment * dt, dt=dt, x0=current,
                               batch=current.shape[0], record=[], dtype=torch.float64,
                               device=device, progress=False)
                current = run.final_state.values
                done = int(steps[index])
            windows[w, index] = ((current[1:] - current[0]) / eps).T
    mean = windows.mean(axis=0)
    spread = windows.std(axis=0, ddof=1) if states.shape[0] > 1 else np.full(mean.shape, np.nan)
    return ResponseEstimate(
        lags=steps * dt, response=mean, standard_error=spread / np.sqrt(states.shape[0]),
        units=pulsed, per_window=windows if keep_windows else None,
        parameters={"n_windows": int(states.shape[0]), "spacing": spacing, "eps": eps,
                    "dt": dt, "t_transient": t_transient, "seed": seed})
