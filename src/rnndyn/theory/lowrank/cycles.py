"""Limit cycles of the latent dynamics by Poincare sections and shooting.

A periodic orbit of ``dkappa/dt = f(kappa) = -kappa + F(kappa, v)`` (constant ``v``) with period
``T`` is a zero of::

    G(kappa0, T) = ( Phi_T(kappa0) - kappa0,  (kappa0 - s) . f(s) )

where ``Phi_T`` is the flow and the second line (a phase condition) pins ``kappa0`` to the
Poincare section through ``s`` normal to ``f(s)``. The guess comes from a trajectory run to its
attractor and its first return to that section; Newton's method (Powell hybrid) then uses the
exact Jacobian ``[[M - I, f(Phi_T)], [f(s)^T, 0]]`` from the variational equation
``dM/dt = Df(kappa(t)) M``. The Floquet multipliers are the eigenvalues of the monodromy matrix
``M(T)``; one of them is 1 (the direction along the orbit).

For a rank-two network with zero means, ``Sigma_mm = I`` and ``Sigma_nm = [[lambda, -omega],
[omega, lambda]]``, ``F(kappa) = <phi'>(0, |kappa|^2) Sigma_nm kappa``: in polar coordinates
``dr/dt = r (lambda <phi'> - 1)`` and ``dtheta/dt = omega <phi'>``, so the cycle has radius
``r*`` with ``lambda <phi'>(0, r*^2) = 1`` and period ``2 pi lambda / omega`` (Mastrogiuseppe &
Ostojic 2018; Beiran et al. 2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import root

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.theory.lowrank.dynamics import LatentDynamics
from rnndyn.theory.lowrank.fixed_points import _check_dynamics, _v

__all__ = ["LimitCycle", "find_limit_cycle"]

_RTOL = 1e-10
_ATOL = 1e-12


@dataclass(frozen=True)
class LimitCycle:
    """A periodic orbit of the latent dynamics.

    Attributes
    ----------
    period : float
    times : ndarray (n_points,)
        ``[0, T)`` uniformly.
    orbit : ndarray (n_points, R)
        ``kappa(t)`` over one period, starting on the Poincare section.
    multipliers : ndarray (R,) complex
        Floquet multipliers, the trivial one (closest to 1) first.
    stable : bool
        All non-trivial multipliers have modulus < 1.
    residual : float
        ``max |Phi_T(kappa0) - kappa0|`` at the solution.
    iterations : int
        Shooting function evaluations.
    v : ndarray (K,)
        The constant input latent.
    """

    period: float
    times: np.ndarray
    orbit: np.ndarray
    multipliers: np.ndarray
    stable: bool
    residual: float
    iterations: int
    v: np.ndarray

    @property
    def center(self) -> np.ndarray:
        """Time average of ``kappa`` over the orbit (R,)."""
        return self.orbit.mean(axis=0)

    @property
    def mean_radius(self) -> float:
        """Time average of ``|kappa - center|``."""
        return float(np.mean(np.linalg.norm(self.orbit - self.center, axis=1)))


def _flow_with_monodromy(dynamics: LatentDynamics, v: np.ndarray, k0: np.ndarray, period: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    r = dynamics.rank

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        k = y[:r]
        mono = y[r:].reshape(r, r)
        return np.concatenate([dynamics._f(k, v), (dynamics._df(k, v) @ mono).ravel()])

    y0 = np.concatenate([k0, np.eye(r).ravel()])
    sol = solve_ivp(fun, (0.0, period), y0, method="DOP853", rtol=_RTOL, atol=_ATOL)
    if not sol.success:
        raise ConvergenceError(f"find_limit_cycle: integration failed ({sol.message})")
    end = sol.y[:, -1]
    return end[:r], end[r:].reshape(r, r)


def find_limit_cycle(
    dynamics: LatentDynamics,
    kappa0: Any = None,
    v: Any = None,
    *,
    t_transient: float = 100.0,
    t_search: float = 200.0,
    period_guess: float | None = None,
    tol: float = 1e-8,
    max_iterations: int = 50,
    n_points: int = 256,
    seed: int | np.random.Generator | None = 0,
) -> LimitCycle:
    """Find a limit cycle of the latent ODE at constant input ``v``.

    Parameters
    ----------
    dynamics : LatentDynamics
    kappa0 : array (R,), optional
        Where to start; default a random point (``seed``). With ``period_guess`` it is used as
        the shooting guess directly (this finds unstable cycles too), otherwise the trajectory
        is first run for ``t_transient`` to reach an attracting cycle.
    v : array (K,), optional
        Constant input latent.
    t_transient : float
        Transient before looking for the return to the Poincare section.
    t_search : float
        Longest time to wait for the first return.
    period_guess : float, optional
        Skips the transient and the section search.
    tol : float
        Required ``max |Phi_T(kappa0) - kappa0|``.
    max_iterations : int
        Maximum shooting evaluations.
    n_points : int
        Samples of the returned orbit.

    Returns
    -------
    LimitCycle

    Raises
    ------
    rnndyn.ConvergenceError
        If the trajectory settles on a fixed point, never returns to the section, or the
        shooting residual stays above ``tol``.
    """
    dynamics = _check_dynamics(dynamics)
    vv = _v(dynamics, v)
    r = dynamics.rank
    t_transient = check_number("t_transient", t_transient, low=0.0)
    t_search = check_number("t_search", t_search, low=0.0, low_inclusive=False)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations)
    n_points = check_int("n_points", n_points, low=2)
    if kappa0 is None:
        k = np.random.default_rng(seed).standard_normal(r)
    else:
        k = check_array("kappa0", kappa0, shape=(r,))

    def f(x: np.ndarray) -> np.ndarray:
        return dynamics._f(x, vv)

    def flow(x: np.ndarray, t_end: float, **kw: Any) -> Any:
        sol = solve_ivp(lambda t, y: f(y), (0.0, t_end), x, method="DOP853", rtol=_RTOL,
                        atol=_ATOL, **kw)
        if not sol.success:
            raise ConvergenceError(f"find_limit_cycle: integration failed ({sol.message})")
        return sol

    if period_guess is None:
        if t_transient > 0:
            k = flow(k, t_transient).y[:, -1]
        speed = float(np.linalg.norm(f(k)))
        if speed < 1e-8 * max(1.0, float(np.linalg.norm(k))):
            raise ConvergenceError(f"find_limit_cycle: the trajectory converged to a fixed "
                                   f"point (|dkappa/dt| = {speed:.3g}); no attracting cycle")
        normal = f(k)

        def section(t: float, y: np.ndarray) -> float:
            return float((y - k) @ normal) if t > 1e-9 else 1.0

        section.direction = 1.0  # type: ignore[attr-defined]
        section.terminal = True  # type: ignore[attr-defined]
        sol = flow(k, t_search, events=section)
        if not sol.t_events[0].size:
            end_speed = float(np.linalg.norm(f(sol.y[:, -1])))
            raise ConvergenceError(f"find_limit_cycle: no return to the Poincare section "
                                   f"within t_search={t_search:g} (final |dkappa/dt| = "
                                   f"{end_speed:.3g})")
        period = float(sol.t_events[0][0])
    else:
        period = check_number("period_guess", period_guess, low=0.0, low_inclusive=False)
    s = k.copy()
    f_s = f(s)
    calls = 0

    def shoot(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal calls
        calls += 1
        x0, t_end = y[:r], float(y[r])
        if not t_end > 0:
            return np.full(r + 1, 1e6), np.eye(r + 1)
        end, mono = _flow_with_monodromy(dynamics, vv, x0, t_end)
        res = np.concatenate([end - x0, [(x0 - s) @ f_s]])
        jac = np.zeros((r + 1, r + 1))
        jac[:r, :r] = mono - np.eye(r)
        jac[:r, r] = f(end)
        jac[r, :r] = f_s
        return res, jac

    sol = root(shoot, np.concatenate([s, [period]]), jac=True, method="hybr",
               options={"xtol": 1e-13, "maxfev": max_iterations})
    x0, period = sol.x[:r], float(sol.x[r])
    if not (np.all(np.isfinite(sol.x)) and period > 0):
        raise ConvergenceError(f"find_limit_cycle: shooting diverged after {calls} evaluations")
    end, mono = _flow_with_monodromy(dynamics, vv, x0, period)
    residual = float(np.max(np.abs(end - x0)))
    if not residual <= tol * max(1.0, float(np.linalg.norm(x0))):
        raise ConvergenceError(f"find_limit_cycle: shooting residual {residual:.3g} > tol "
                               f"{tol:g} after {calls} evaluations")
    if float(np.linalg.norm(f(x0))) < 1e-8:
        raise ConvergenceError("find_limit_cycle: shooting converged to a fixed point "
                               f"(residual {residual:.3g}), not a cycle")
    mult = np.linalg.eigvals(mono)
    order = np.argsort(np.abs(mult - 1.0))
    mult = mult[order]
    stable = bool(np.all(np.abs(mult[1:]) < 1.0))
    times = np.linspace(0.0, period, n_points, endpoint=False)
    orbit = flow(x0, period, t_eval=times).y.T
    return LimitCycle(period, times, orbit, mult, stable, residual, calls, vv)
