"""Limit cycles of the multiregion current dynamics without disorder (g = 0).

The mean-field currents of `rnndyn.theory.multiregion` obey, exactly at g = 0::

    dS[mu, nu]/dt = -S[mu, nu] + psi^nu(t) sum_rho T[mu, nu, rho] S[nu, rho] =: f(S)
    psi^nu(t) = <phi'>(0, D^nu),   D^nu = S^nu . U^nu . S^nu

When the leading eigenvalue of ``T_hat`` is complex with real part above 1 and no stationary
state is stable, the currents oscillate. `find_current_limit_cycle` finds the attracting cycle:

1. integrate for ``t_transient`` (DOP853) and sample the last stretch;
2. put a Poincare section through the mean of that stretch, normal to its principal direction,
   and integrate on until the trajectory crosses it upwards at (nearly) the same point again:
   this gives a first guess of the period and of a point on the cycle;
3. refine by shooting: Newton's method on the n + 1 unknowns ``(S0, P)`` with the n + 1
   equations ``Phi_P(S0) - S0 = 0`` and ``c . (S0 - S_ref) = 0`` (stay on the section). Its
   Jacobian ``[[M - I, f(Phi_P(S0))], [c, 0]]`` comes from the variational equations
   ``dM/dt = J(S(t)) M`` integrated alongside, with the Jacobian of f in closed form except
   ``dpsi/dD`` (a central difference in D: psi is a smooth scalar function of the variance);
4. the monodromy matrix M at the solution gives the Floquet multipliers: one is 1 (the phase
   along the cycle); the cycle is stable when all the others lie inside the unit circle.

`estimate_period` measures a period from any sampled time series (a simulation's recorded
currents, a theory trajectory) by upward mean-crossings with hysteresis.

Closed form used by the tests: with R = 2, ``U^nu = I`` and::

    T[0, 0] = T[1, 0] = (a, w),   T[0, 1] = T[1, 1] = (-w, a)

``S^{00} - S^{10}`` and ``S^{01} - S^{11}`` decay at rate 1 exactly, and on the invariant plane
``x = S^{00} = S^{10}``, ``y = S^{01} = S^{11}`` both regions have the variance ``x^2 + y^2``,
so the dynamics are rotation invariant: ``dr/dt = -r + a psi(r^2) r``, ``dtheta/dt =
-w psi(r^2)``. The cycle is a circle with ``psi(r^2) = 1 / a`` and period ``2 pi a / w``
(``T_hat`` has eigenvalues ``a +- i w`` and 0, 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import integrate

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory.gaussian import mean_activity
from rnndyn.theory.multiregion import _check_model, _CurrentMap

__all__ = [
    "CurrentLimitCycle",
    "PeriodEstimate",
    "estimate_period",
    "find_current_limit_cycle",
]

_RETURN_TOL = 1e-2  # a return to the section within 1% of the orbit's size counts as a period


@dataclass(frozen=True)
class CurrentLimitCycle:
    """A periodic orbit of the disorder-free current dynamics.

    Attributes
    ----------
    period : float
        ``P``, in units of the neuronal time constant.
    frequency : float
        ``2 pi / P``.
    time : ndarray (K,)
        ``[0, P)`` uniformly; ``time[0]`` is on the Poincare section.
    currents : ndarray (K, R, R)
        ``S[t, mu, nu]`` over one period.
    readout : ndarray (K, R, R)
        ``F(S) = S + dS/dt``: the instantaneous readout ``n . phi(x) / N`` that
        `rnndyn.simulate.Projection.currents` records in a simulation.
    amplitude : ndarray (R, R)
        Half the peak-to-peak of each current over the period (from the K samples, so it
        underestimates a smooth peak by a relative ``~ (pi / K)^2 / 2``).
    mean_currents : ndarray (R, R)
        Time average of each current over the period.
    floquet_multipliers : ndarray (R^2,) complex
        Eigenvalues of the monodromy matrix; the trivial one (closest to 1) first, the others
        by decreasing modulus.
    stable : bool
        All non-trivial multipliers have modulus < 1.
    residual : float
        ``max |Phi_P(S0) - S0|`` at the solution of the shooting equations.
    iterations : int
        Newton iterations of the shooting.
    """

    period: float
    frequency: float
    time: np.ndarray
    currents: np.ndarray
    readout: np.ndarray
    amplitude: np.ndarray
    mean_currents: np.ndarray
    floquet_multipliers: np.ndarray
    stable: bool
    residual: float
    iterations: int

    @property
    def readout_amplitude(self) -> np.ndarray:
        """Half the peak-to-peak of each readout ``F(S)`` (R, R), what a simulation shows."""
        return np.ptp(self.readout, axis=0) / 2

    @property
    def row_norm_amplitude(self) -> np.ndarray:
        """Half the peak-to-peak of ``|S^{mu .}(t)|``, the total current into each region (R,).

        Zero for a cycle that only rotates the currents a region receives (constant variance).
        """
        return np.ptp(np.linalg.norm(self.currents, axis=2), axis=0) / 2

    @property
    def rms_norm(self) -> float:
        """``sqrt(<|S(t)|^2>_t)``: the root-mean-square size of all currents over the period."""
        return float(np.sqrt(np.mean(np.sum(self.currents**2, axis=(1, 2)))))


class _Field:
    """``f(S) = F(S) - S`` and its Jacobian, for the disorder-free current dynamics."""

    def __init__(self, t: np.ndarray, u: np.ndarray, phi: Nonlinearity) -> None:
        self.r = t.shape[0]
        self.n = self.r * self.r
        self.t, self.u, self.phi = t, u, phi
        self.us = (u + np.transpose(u, (0, 2, 1)))  # d(S U S)/dS = (U + U^T) S
        self.fmap = _CurrentMap(t, u, np.zeros(self.r), phi)

    def psi(self, variance: np.ndarray) -> np.ndarray:
        return np.asarray(mean_activity(self.phi, 0.0, variance, part="derivative"), dtype=float)

    def psi_slope(self, variance: np.ndarray) -> np.ndarray:
        # d psi / dD by finite differences in D (second order; one-sided near D = 0, where the
        # Gaussian average is not defined for D < 0). psi is smooth in D, error O(h^2).
        h = 1e-4 * np.maximum(1.0, variance)
        central = variance >= h
        lo = np.where(central, variance - h, variance)
        mid = np.where(central, variance, variance + h)
        hi = np.where(central, variance + h, variance + 2 * h)
        p_lo, p_mid, p_hi = self.psi(lo), self.psi(mid), self.psi(hi)
        return np.where(central, (p_hi - p_lo) / (2 * h), (-3 * p_lo + 4 * p_mid - p_hi) / (2 * h))

    def __call__(self, s_flat: np.ndarray) -> np.ndarray:
        # The map of `_CurrentMap` at g = 0 (variance = S U S, one Gaussian average per call),
        # without its per-region DMFT bookkeeping: this is evaluated ~10^4 times per cycle.
        r = self.r
        s = s_flat.reshape(r, r)
        psi = self.psi(np.einsum("nr,nrq,nq->n", s, self.u, s))
        return (np.einsum("mnr,nr->mn", self.t, s) * psi[None, :]).ravel() - s_flat

    def jacobian(self, s_flat: np.ndarray) -> np.ndarray:
        r = self.r
        s = s_flat.reshape(r, r)
        variance = np.einsum("nr,nrq,nq->n", s, self.u, s)
        psi, slope = self.psi(variance), self.psi_slope(variance)
        ts = np.einsum("mnr,nr->mn", self.t, s)  # (T S)[mu, nu]
        grad_d = np.einsum("nrq,nq->nr", self.us, s)  # dD^nu / dS[nu, rho]
        # dF[mu, nu] / dS[nu, rho] = psi^nu T[mu, nu, rho] + (T S)[mu, nu] psi'^nu dD^nu/dS[nu, rho]
        block = psi[None, :, None] * self.t + (ts * slope[None, :])[:, :, None] * grad_d[None]
        jac = np.zeros((r, r, r, r))
        for nu in range(r):
            jac[:, nu, nu, :] = block[:, nu, :]
        return jac.reshape(self.n, self.n) - np.eye(self.n)

    def flow(self, s0: np.ndarray, period: float, rtol: float, atol: float
             ) -> tuple[np.ndarray, np.ndarray]:
        """``Phi_P(S0)`` and the monodromy ``d Phi_P / d S0`` (variational equations)."""
        n = self.n

        def rhs(_: float, y: np.ndarray) -> np.ndarray:
            s = y[:n]
            m = y[n:].reshape(n, n)
            return np.concatenate([self(s), (self.jacobian(s) @ m).ravel()])

        y0 = np.concatenate([s0, np.eye(n).ravel()])
        sol = integrate.solve_ivp(rhs, (0.0, period), y0, method="DOP853", rtol=rtol, atol=atol)
        if not sol.success:
            raise ConvergenceError(f"find_current_limit_cycle: the integrator failed "
                                   f"({sol.message}); residual unknown")
        end = sol.y[:, -1]
        return end[:n], end[n:].reshape(n, n)


def _integrate(field: _Field, s0: np.ndarray, span: tuple[float, float], rtol: float,
               atol: float, **kwargs: Any) -> Any:
    sol = integrate.solve_ivp(lambda _, s: field(s), span, s0, method="DOP853", rtol=rtol,
                              atol=atol, **kwargs)
    if not sol.success:
        raise ConvergenceError(f"find_current_limit_cycle: the integrator failed "
                               f"({sol.message}); residual unknown")
    return sol


def _first_return(field: _Field, s_start: np.ndarray, ref: np.ndarray, normal: np.ndarray,
                  size: float, max_period: float, rtol: float, atol: float
                  ) -> tuple[np.ndarray, float]:
    """Integrate until an upward section crossing returns near an earlier one."""

    def section(_: float, s: np.ndarray) -> float:
        return float(normal @ (s - ref))

    section.direction = 1.0  # type: ignore[attr-defined]
    chunk = min(max_period, 25.0)
    times: list[float] = []
    states: list[np.ndarray] = []
    t0, s = 0.0, s_start
    while t0 < 2.0 * max_period + chunk:
        sol = _integrate(field, s, (t0, t0 + chunk), rtol, atol, events=section)
        for time, state in zip(sol.t_events[0], sol.y_events[0], strict=True):
            if times and time - times[-1] < 1e-9 * max(1.0, time):
                continue  # the same crossing found at a chunk boundary
            times.append(float(time))
            states.append(state)
            for j in range(len(times) - 2, -1, -1):
                lag = times[-1] - times[j]
                if lag > max_period:
                    break
                if np.max(np.abs(states[-1] - states[j])) < _RETURN_TOL * size:
                    return states[-1], lag
        t0, s = t0 + chunk, sol.y[:, -1]
    residual = float(np.max(np.abs(field(s))))
    if len(times) < 2:
        raise ConvergenceError(
            f"find_current_limit_cycle: the currents do not oscillate (fewer than 2 crossings of "
            f"the Poincare section in {t0:g} time units; they settle to a fixed point?): "
            f"residual |dS/dt| = {residual:.3g}")
    raise ConvergenceError(
        f"find_current_limit_cycle: no period up to max_period={max_period:g} (the trajectory "
        f"does not return to its section crossings; quasi-periodic or chaotic currents, or a "
        f"longer period): residual |dS/dt| = {residual:.3g} after {len(times)} crossings")


def find_current_limit_cycle(
    interactions: Any,
    input_overlaps: Any,
    phi: str | Nonlinearity = "erf",
    *,
    initial_currents: Any = None,
    seed: int | np.random.Generator | None = 0,
    t_transient: float = 200.0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_period: float = 100.0,
    tol: float = 1e-8,
    max_iterations: int = 30,
    n_points: int = 512,
) -> CurrentLimitCycle:
    """Find the attracting limit cycle of the disorder-free current dynamics (g = 0).

    See the module docstring for the method (transient, Poincare section, shooting with the
    variational equations, Floquet multipliers).

    Parameters
    ----------
    interactions, input_overlaps : array (R, R, R)
        T and U of `rnndyn.models.MultiRegionModel`.
    phi : str or Nonlinearity, default "erf"
    initial_currents : array (R, R), optional
        Where the transient starts; default Gaussian of standard deviation 0.5 (``seed``).
    seed : int or numpy.random.Generator, optional
    t_transient : float > 0, default 200
        Integration time before the section is placed.
    rtol, atol : float
        Tolerances of the DOP853 integrator.
    max_period : float > 0, default 100
        Longest period looked for.
    tol : float, default 1e-8
        Required ``max |Phi_P(S0) - S0|`` of the shooting, relative to ``max(1, max |S0|)``.
    max_iterations : int, default 30
        Newton iterations of the shooting.
    n_points : int, default 512
        Samples of the returned cycle.

    Returns
    -------
    CurrentLimitCycle

    Raises
    ------
    ValueError
        Bad shapes or non-finite values, a non-PSD U, non-positive times or tolerances (the
        message names the parameter).
    rnndyn.ConvergenceError
        The currents settle to a fixed point, no period up to ``max_period`` is found, or the
        shooting does not reach ``tol``; the message gives the residual.
    """
    t, u, _, nl = _check_model(interactions, input_overlaps, 0.0, phi)
    r = t.shape[0]
    t_transient = check_number("t_transient", t_transient, low=0.0, low_inclusive=False)
    max_period = check_number("max_period", max_period, low=0.0, low_inclusive=False)
    rtol = check_number("rtol", rtol, low=0.0, low_inclusive=False)
    atol = check_number("atol", atol, low=0.0, low_inclusive=False)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations)
    n_points = check_int("n_points", n_points, low=4)
    if initial_currents is None:
        rng = np.random.default_rng(seed)
        s0 = 0.5 * rng.standard_normal(r * r)
    else:
        s0 = check_array("initial_currents", initial_currents, shape=(r, r)).ravel()
    field = _Field(t, u, nl)

    # 1. Transient, then sample its last stretch to place the section.
    # The transient and the search only need to land near the attractor (the shooting then
    # solves to rtol, atol): they run at tolerances of at most 1e-8, 1e-10.
    loose_rtol, loose_atol = max(rtol, 1e-8), max(atol, 1e-10)
    stretch = min(t_transient / 2, max_period)
    grid = np.linspace(t_transient - stretch, t_transient, 513)
    sol = _integrate(field, s0, (0.0, t_transient), loose_rtol, loose_atol, t_eval=grid)
    samples = sol.y.T
    s_end = samples[-1]
    scale = max(1.0, float(np.max(np.abs(s_end))))
    ref = samples.mean(axis=0)
    centred = samples - ref
    size = float(np.max(np.ptp(samples, axis=0)))
    speed = float(np.max(np.abs(field(s_end))))
    if size < 1e-9 * scale or speed < 1e-10 * scale:
        raise ConvergenceError(
            f"find_current_limit_cycle: the currents settle to a fixed point (|S| = "
            f"{np.linalg.norm(s_end):.3g}); residual |dS/dt| = {speed:.3g}")
    normal = np.linalg.svd(centred, full_matrices=False)[2][0]

    # 2. First return to the section.
    s_guess, p_guess = _first_return(field, s_end, ref, normal, size, max_period, loose_rtol,
                                     loose_atol)

    # 3. Shooting: Newton on (S0, P).
    z = np.concatenate([s_guess, [p_guess]])
    n = r * r

    def equations(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        end, mono = field.flow(z[:n], z[n], rtol, atol)
        g = np.concatenate([end - z[:n], [normal @ (z[:n] - ref)]])
        jac = np.zeros((n + 1, n + 1))
        jac[:n, :n] = mono - np.eye(n)
        jac[:n, n] = field(end)
        jac[n, :n] = normal
        return g, jac, mono

    g, jac, mono = equations(z)
    iterations = 0
    while np.max(np.abs(g)) > tol * scale:
        if iterations >= max_iterations:
            break
        iterations += 1
        step = np.linalg.lstsq(jac, -g, rcond=None)[0]
        norm = np.max(np.abs(g))
        for _ in range(12):  # backtracking: halve the step until the residual decreases
            trial = z + step
            if trial[n] > 0:
                g_t, jac_t, mono_t = equations(trial)
                if np.max(np.abs(g_t)) < norm:
                    break
            step = step / 2
        else:
            break
        z, g, jac, mono = trial, g_t, jac_t, mono_t
    residual = float(np.max(np.abs(g)))
    if not np.isfinite(residual) or residual > tol * scale:
        raise ConvergenceError(
            f"find_current_limit_cycle: shooting did not converge: residual {residual:.3g} > "
            f"tol {tol * scale:.3g} after {iterations} Newton iterations")
    s_cycle, period = z[:n], float(z[n])
    speed = float(np.max(np.abs(field(s_cycle))))
    if speed < 1e-6 * scale:
        raise ConvergenceError(
            f"find_current_limit_cycle: shooting converged to a fixed point, not a cycle: "
            f"residual |dS/dt| = {speed:.3g}")

    # 4. Sample the cycle; Floquet multipliers from the monodromy matrix.
    times = np.linspace(0.0, period, n_points, endpoint=False)
    orbit = _integrate(field, s_cycle, (0.0, period), rtol, atol, t_eval=times).y.T
    readout = np.array([field.fmap(s) for s in orbit])  # F(S) = S + dS/dt
    multipliers = np.linalg.eigvals(mono)
    trivial = int(np.argmin(np.abs(multipliers - 1.0)))
    others = np.delete(multipliers, trivial)
    others = others[np.argsort(-np.abs(others), kind="stable")]
    multipliers = np.concatenate([[multipliers[trivial]], others])
    return CurrentLimitCycle(
        period=period, frequency=2 * math.pi / period, time=times,
        currents=orbit.reshape(-1, r, r), readout=readout.reshape(-1, r, r),
        amplitude=np.ptp(orbit, axis=0).reshape(r, r) / 2,
        mean_currents=orbit.mean(axis=0).reshape(r, r), floquet_multipliers=multipliers,
        stable=bool(np.all(np.abs(others) < 1.0)), residual=residual, iterations=iterations,
    )


# --- period of a sampled time series ----------------------------------------------------------
class PeriodEstimate(NamedTuple):
    """Result of `estimate_period` (unpacks as ``period, stderr``)."""

    period: float
    stderr: float
    n_crossings: int = 0


def _upward_crossings(time: np.ndarray, p: np.ndarray, h: float) -> np.ndarray:
    """Times where p crosses 0 upwards after having been below -h (hysteresis)."""
    below = p < -h
    crossings = []
    armed = False
    for i in range(p.size):
        if below[i]:
            armed = True
        elif armed and p[i] >= 0.0:
            dt = time[i] - time[i - 1]
            crossings.append(time[i - 1] - p[i - 1] * dt / (p[i] - p[i - 1]))
            armed = False
    return np.asarray(crossings)


def _rough_period(p: np.ndarray, dt: float) -> float | None:
    """Lag of the autocorrelation's highest peak after its first zero (None if it has none)."""
    n = p.size
    spectrum = np.fft.rfft(p - p.mean(), 2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:n] / (n - np.arange(n))  # unbiased
    negative = np.flatnonzero(acf < 0)
    if negative.size == 0:
        return None
    first = int(negative[0])
    stop = min(n // 2, 8 * first)  # lags up to half the record, where the estimate is sound
    if stop <= first + 1:
        return None
    return float(first + np.argmax(acf[first:stop])) * dt


def estimate_period(time: Any, signal: Any) -> PeriodEstimate:
    """Estimate the period of a sampled, possibly noisy, oscillation.

    1. The signal is centred, put on a uniform grid (linear interpolation, median spacing) if
       it is not on one, and projected on its principal direction (for several components).
    2. A rough period P0 is the highest autocorrelation peak after its first zero; every
       component is smoothed by a centred moving average of width ~P0 / 8. This removes
       sample-to-sample noise without moving the period (the smoothed signal has the same
       period).
    3. Upward crossings of the mean are located by linear interpolation, with hysteresis: a
       crossing counts only after the signal has been below ``-0.25 std``.
    4. When the projection crosses its mean m times per period (a figure-of-eight, say), m is
       the smallest lag between crossings whose states match (within twice the best match, or
       10% of the signal's RMS size).
    5. The crossing times are fitted by least squares as ``t_j = a_(j mod m) + P floor(j/m)``:
       P is the period; its standard error comes from the scatter of the crossing times
       about the fit.

    Parameters
    ----------
    time : array (T,)
        Increasing sample times (any spacing).
    signal : array (T,) or (T, ...)
        The time series, e.g. recorded currents (T, components) or theory currents (T, R, R).

    Returns
    -------
    PeriodEstimate
        ``(period, stderr, n_crossings)``; ``stderr`` is NaN with only m + 1 crossings.

    Raises
    ------
    ValueError
        ``time`` not increasing or of the wrong length, non-finite values, or fewer than
        three upward crossings (``signal`` too short or not oscillating).
    """
    grid = check_array("time", time, ndim=1)
    if grid.size < 4 or np.any(np.diff(grid) <= 0):
        raise ValueError("time must be an increasing array of at least 4 times")
    values = check_array("signal", signal)
    if values.ndim == 0 or values.shape[0] != grid.size:
        raise ValueError(f"signal must have shape (T, ...) with T = {grid.size} (the length of "
                         f"time), got {values.shape}")
    x = values.reshape(grid.size, -1)
    x = x - x.mean(axis=0)
    steps = np.diff(grid)
    dt = float(np.median(steps))
    if np.max(np.abs(steps - dt)) > 1e-6 * dt:
        uniform = grid[0] + dt * np.arange(int((grid[-1] - grid[0]) / dt + 1e-9) + 1)
        x = np.stack([np.interp(uniform, grid, x[:, k]) for k in range(x.shape[1])], axis=1)
        grid = uniform
    direction = (np.ones(1) if x.shape[1] == 1
                 else np.linalg.svd(x, full_matrices=False)[2][0])
    if float(np.std(x @ direction)) == 0.0:
        raise ValueError("signal is constant: no period")
    rough = _rough_period(x @ direction, dt)
    width = 1 if rough is None else max(1, round(rough / (8 * dt)) // 2 * 2 + 1)
    if 1 < width < grid.size // 4:
        kernel = np.ones(width) / width
        x = np.stack([np.convolve(x[:, k], kernel, mode="valid") for k in range(x.shape[1])],
                     axis=1)
        grid = grid[width // 2: grid.size - width // 2]
    p = x @ direction
    crossings = _upward_crossings(grid, p, 0.25 * float(np.std(p)))
    if crossings.size < 3:
        raise ValueError(f"signal has {crossings.size} upward crossings of its mean, fewer than "
                         "3: too short or not oscillating")
    # States at the crossings, to tell crossings at different phases of the period apart.
    states = np.stack([np.interp(crossings, grid, x[:, k]) for k in range(x.shape[1])], axis=1)
    n = crossings.size
    lags = range(1, min(6, n - 2) + 1)
    distance = [float(np.median(np.linalg.norm(states[k:] - states[:-k], axis=1))) for k in lags]
    # Crossings one period apart match up to noise; crossings at different phases of the
    # period are O(amplitude) apart. The floor (10% of the RMS size of the signal) keeps
    # noise-free signals, where every match is ~0, at the smallest lag.
    floor = 0.1 * float(np.sqrt(np.sum(x**2) / grid.size))
    threshold = max(2 * min(distance), floor)
    m = next(k for k, d in zip(lags, distance, strict=True) if d <= threshold)
    index = np.arange(n)
    design = np.zeros((n, m + 1))
    design[index, index % m] = 1.0
    design[:, m] = index // m
    coef, *_ = np.linalg.lstsq(design, crossings, rcond=None)
    period = float(coef[m])
    dof = n - m - 1
    if dof < 1:
        return PeriodEstimate(period, math.nan, n)
    resid = crossings - design @ coef
    variance = float(resid @ resid) / dof
    cov = np.linalg.pinv(design.T @ design)
    return PeriodEstimate(period, math.sqrt(variance * cov[m, m]), n)
