"""Chaotic driver systems (Lorenz 1963, Rossler 1976) and their Lyapunov exponents.

Lorenz::

    dx/dt = sigma (y - x),  dy/dt = x (rho - z) - y,  dz/dt = x y - beta z
    (sigma, rho, beta) = (10, 28, 8/3):  lambda_1 ~ 0.9056, D_2 ~ 2.05

Rossler::

    dx/dt = -y - z,  dy/dt = x + a y,  dz/dt = b + z (x - c)
    (a, b, c) = (0.2, 0.2, 5.7):  lambda_1 ~ 0.0714, D_2 ~ 1.99

Trajectories are integrated with `scipy.integrate.solve_ivp` (DOP853, rtol 1e-10, atol 1e-10)
and sampled on a uniform grid. Lyapunov exponents use the Benettin method on the variational
equations ``dv/dt = Df(s(t)) v``: state and k tangent vectors are advanced together with RK4 on
a batch of independent trajectories, and the tangent basis is re-orthonormalised by QR every
``orthonormalize_every`` time units; ``lambda_i = (1 / T) sum log |R_ii|``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline

from rnndyn._validation import check_choice, check_int, check_number
from rnndyn.connectivity._random import resolve_seed

__all__ = ["DRIVERS", "DriverTrajectory", "driver_lyapunov_exponents", "driver_trajectory"]


def _lorenz(s: np.ndarray, p: dict[str, float]) -> np.ndarray:
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    return np.stack([p["sigma"] * (y - x), x * (p["rho"] - z) - y, x * y - p["beta"] * z], -1)


def _lorenz_jacobian(s: np.ndarray, p: dict[str, float]) -> np.ndarray:
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    jac = np.zeros((*s.shape[:-1], 3, 3))
    jac[..., 0, 0], jac[..., 0, 1] = -p["sigma"], p["sigma"]
    jac[..., 1, 0], jac[..., 1, 1], jac[..., 1, 2] = p["rho"] - z, -1.0, -x
    jac[..., 2, 0], jac[..., 2, 1], jac[..., 2, 2] = y, x, -p["beta"]
    return jac


def _rossler(s: np.ndarray, p: dict[str, float]) -> np.ndarray:
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    return np.stack([-y - z, x + p["a"] * y, p["b"] + z * (x - p["c"])], -1)


def _rossler_jacobian(s: np.ndarray, p: dict[str, float]) -> np.ndarray:
    x, z = s[..., 0], s[..., 2]
    jac = np.zeros((*s.shape[:-1], 3, 3))
    jac[..., 0, 1], jac[..., 0, 2] = -1.0, -1.0
    jac[..., 1, 0], jac[..., 1, 1] = 1.0, p["a"]
    jac[..., 2, 0], jac[..., 2, 2] = z, x - p["c"]
    return jac


@dataclass(frozen=True)
class _System:
    field: Callable[[np.ndarray, dict[str, float]], np.ndarray]
    jacobian: Callable[[np.ndarray, dict[str, float]], np.ndarray]
    parameters: dict[str, float]
    largest_exponent: float   # literature value (per unit time)
    correlation_dimension: float
    start: tuple[float, float, float]  # a point near the attractor
    spread: float             # scale of the random perturbation of ``start``


DRIVERS: dict[str, _System] = {
    "lorenz": _System(_lorenz, _lorenz_jacobian, {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
                      0.9056, 2.05, (-8.0, 8.0, 27.0), 2.0),
    "rossler": _System(_rossler, _rossler_jacobian, {"a": 0.2, "b": 0.2, "c": 5.7},
                       0.0714, 1.99, (1.0, -6.0, 0.1), 0.5),
}


@dataclass(frozen=True)
class DriverTrajectory:
    """A sampled trajectory of a chaotic driver.

    Attributes
    ----------
    system : str
        "lorenz" or "rossler".
    times : ndarray (T,)
        Uniform grid ``0, dt, ..., (T - 1) dt`` (after the discarded transient).
    states : ndarray (T, 3)
    dt : float
    largest_exponent : float
        The literature value of the driver's largest Lyapunov exponent (per unit time).
    parameters : dict
    """

    system: str
    times: np.ndarray
    states: np.ndarray
    dt: float
    largest_exponent: float
    parameters: dict[str, Any] = field(default_factory=dict)

    def normalized(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(z, mean, std)`` with ``z = (states - mean) / std`` per coordinate."""
        mean, std = self.states.mean(axis=0), self.states.std(axis=0)
        return (self.states - mean) / std, mean, std

    def interpolant(self, values: np.ndarray | None = None) -> Callable[[float], np.ndarray]:
        """Cubic-spline ``u(t)`` through ``values`` (default ``states``) on ``times``, for
        ``simulate(inputs=...)`` (evaluated at every integrator stage)."""
        spline = CubicSpline(self.times, self.states if values is None else values, axis=0)
        return lambda t: spline(t)


def _scalar_field(system: str, p: dict[str, float]) -> Callable[[float, Any], list[float]]:
    # Plain-float right-hand sides: solve_ivp calls them ~10^5 times, array indexing would
    # dominate the cost.
    if system == "lorenz":
        sigma, rho, beta = p["sigma"], p["rho"], p["beta"]

        def lorenz(t: float, s: Any) -> list[float]:
            x, y, z = s
            return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]
        return lorenz
    a, b, c = p["a"], p["b"], p["c"]

    def rossler(t: float, s: Any) -> list[float]:
        x, y, z = s
        return [-y - z, x + a * y, b + z * (x - c)]
    return rossler


def driver_trajectory(
    system: str = "lorenz",
    t_max: float = 100.0,
    dt: float = 0.01,
    *,
    t_transient: float = 50.0,
    seed: int | np.random.Generator | None = None,
) -> DriverTrajectory:
    """Integrate a chaotic driver on a uniform grid.

    Parameters
    ----------
    system : {"lorenz", "rossler"}
    t_max : float
        Length of the returned trajectory (``round(t_max / dt) + 1`` samples).
    dt : float
        Sampling step.
    t_transient : float
        Integration time discarded first, so the trajectory lies on the attractor.
    seed : int or numpy.random.Generator, optional
        Perturbs the initial point (normal, of the system's scale) near the attractor.

    Returns
    -------
    DriverTrajectory
    """
    system = check_choice("system", system, tuple(DRIVERS))
    spec = DRIVERS[system]
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    dt = check_number("dt", dt, low=0.0, low_inclusive=False)
    if dt > t_max:
        raise ValueError(f"dt must be <= t_max={t_max:g}, got {dt:g}")
    t_transient = check_number("t_transient", t_transient, low=0.0)
    rng, record = resolve_seed(seed)
    s0 = np.asarray(spec.start) + spec.spread * rng.standard_normal(3)
    n = round(t_max / dt) + 1
    grid = t_transient + dt * np.arange(n)
    sol = solve_ivp(_scalar_field(system, spec.parameters), (0.0, grid[-1]), s0,
                    method="DOP853", t_eval=grid, rtol=1e-10, atol=1e-10)
    if not sol.success:  # pragma: no cover - the systems are smooth and bounded
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return DriverTrajectory(system, dt * np.arange(n), sol.y.T.copy(), dt,
                            spec.largest_exponent,
                            {"t_max": (n - 1) * dt, "dt": dt, "t_transient": t_transient,
                             "seed": record, **spec.parameters})


def driver_lyapunov_exponents(
    system: str = "lorenz",
    t_max: float = 200.0,
    *,
    n_exponents: int = 1,
    dt: float = 0.01,
    t_transient: float = 20.0,
    orthonormalize_every: float = 0.5,
    batch: int = 8,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lyapunov exponents of a driver from its variational equations (Benettin et al. 1980).

    Parameters
    ----------
    system : {"lorenz", "rossler"}
    t_max : float
        Averaging time of each trajectory after ``t_transient``.
    n_exponents : int, 1 <= k <= 3
    dt : float
        RK4 step of the joint state/tangent integration.
    t_transient : float
        Time discarded first (reaches the attractor and aligns the tangent basis).
    orthonormalize_every : float
        Time between QR steps.
    batch : int
        Independent trajectories averaged.
    seed : int or numpy.random.Generator, optional
        Initial points and tangent basis.

    Returns
    -------
    exponents : ndarray (k,)
        Average over the batch, in decreasing order (per unit time).
    standard_error : ndarray (k,)
        Standard deviation over the batch / sqrt(batch) (NaN for batch = 1).
    """
    system = check_choice("system", system, tuple(DRIVERS))
    spec = DRIVERS[system]
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    dt = check_number("dt", dt, low=0.0, low_inclusive=False)
    t_transient = check_number("t_transient", t_transient, low=0.0)
    every = check_number("orthonormalize_every", orthonormalize_every, low=0.0,
                         low_inclusive=False)
    k = check_int("n_exponents", n_exponents)
    if k > 3:
        raise ValueError(f"n_exponents must be <= 3 (the dimension of the {system} system), "
                         f"got {k}")
    batch = check_int("batch", batch)
    rng, _ = resolve_seed(seed)
    p = spec.parameters
    s = np.asarray(spec.start) + spec.spread * rng.standard_normal((batch, 3))
    q = np.linalg.qr(rng.standard_normal((batch, 3, k)))[0]

    def joint(s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return spec.field(s, p), spec.jacobian(s, p) @ q

    def rk4(s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a1, b1 = joint(s, q)
        a2, b2 = joint(s + 0.5 * dt * a1, q + 0.5 * dt * b1)
        a3, b3 = joint(s + 0.5 * dt * a2, q + 0.5 * dt * b2)
        a4, b4 = joint(s + dt * a3, q + dt * b3)
        return (s + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4),
                q + dt / 6 * (b1 + 2 * b2 + 2 * b3 + b4))

    per_window = max(1, round(every / dt))
    for step in range(round(t_transient / dt)):
        s, q = rk4(s, q)
        if (step + 1) % per_window == 0:
            q = np.linalg.qr(q)[0]
    q = np.linalg.qr(q)[0]
    n_windows = max(1, round(t_max / (per_window * dt)))
    log_growth = np.zeros((batch, k))
    for _ in range(n_windows):
        for _ in range(per_window):
            s, q = rk4(s, q)
        q, r = np.linalg.qr(q)
        log_growth += np.log(np.abs(np.diagonal(r, axis1=-2, axis2=-1)))
    per_trial = log_growth / (n_windows * per_window * dt)
    error = (per_trial.std(axis=0, ddof=1) / np.sqrt(batch) if batch > 1
             else np.full(k, np.nan))
    return per_trial.mean(axis=0), error
