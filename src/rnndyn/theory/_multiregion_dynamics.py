"""Time-dependent mean-field theory of multiregion networks with within-region disorder.

Model (`rnndyn.models.MultiRegionModel`; Clark & Beiran, arXiv 2402.12188). Neuron i of
region mu obeys::

    dx_i^mu/dt = -x_i^mu + g_mu sum_j chi^mu_ij phi(x_j^mu) + sum_nu m_i^{mu nu} H^{mu nu}(t)
    H^{mu nu}(t) = (1/N) sum_j n_j^{mu nu} phi(x_j^nu)

with ``T[mu, nu, rho] = <n^{mu nu} m^{nu rho}>`` and ``U[nu, rho, rho'] =
<m^{nu rho} m^{nu rho'>``. The currents ``S`` are the low-pass filtered readouts,
``(1 + d/dt) S = H``, so that ``x^nu = sum_rho m^{nu rho} S^{nu rho} + (disorder part)``.

Mean field (N -> infinity; x has zero mean over neurons for any phi, as m, n and chi do)::

    H^{mu nu}(t) = psi^nu(t) sum_rho T[mu, nu, rho] S^{nu rho}(t)
    psi^nu(t)    = <phi'>(0, Delta^nu(t, t))
    (1 + d/dt) S^{mu nu} = H^{mu nu},       S(0) = S0

    Delta^nu(t, s) = S^nu(t) . U^nu . S^nu(s) + D^nu(t, s)        (structured + disorder)
    (1 + d/dt)(1 + d/ds) D^nu(t, s) = g_nu^2 C^nu(t, s)
    C^nu(t, s) = E[phi(a) phi(b)],  (a, b) Gaussian, zero means, variances Delta^nu(t, t),
                 Delta^nu(s, s), covariance Delta^nu(t, s)
    D^nu(0, 0) = v0_nu,   D^nu(t, s) = v0_nu e^{-t-s} + K^nu(t, s),
    K^nu(t, s) = int_0^t int_0^s e^{-(t-t')-(s-s')} g_nu^2 C^nu(t', s') ds' dt'

``H`` follows from Stein's lemma: ``(n^{mu nu}, x^nu)`` is jointly Gaussian over neurons with
``Cov(n^{mu nu}, x^nu) = sum_rho T[mu, nu, rho] S^{nu rho}``, the disorder part being
independent of the loadings. The initial state is ``x^nu(0) = sum_rho m^{nu rho} S0^{nu rho} +
xi^nu`` with ``xi`` independent of the loadings, of variance ``v0_nu`` (``initial_variance``;
default 0, a start exactly on the span of the input loadings); the leak carries ``xi`` as
``xi e^{-t}``, which is the ``v0 e^{-t-s}`` term.

Numerical scheme
----------------
Grid ``t_n = n dt``. Every leaky integration ``y' = -y + f`` uses the exponential trapezoid
(leak exact, source linear on each step)::

    y_{n+1} = E y_n + a0 f_n + a1 f_{n+1},   E = e^{-dt},
    a0 = (1 - E (1 + dt)) / dt,   a1 = 1 - E - a0

(second order): for the currents, ``S_{n+1} = E S_n + a0 H_n + a1 H_{n+1}``, and for ``K`` its
tensor product in t and s (``K = M F M^T``, M the lower-triangular matrix of the rule, F = g^2 C),
as in `rnndyn.theory.two_time`. The structured part ``S(t) . U . S(s)`` is evaluated exactly
from the currents on the grid (writing it as the solution of ``(1 + d_t)(1 + d_s) Q = H U H``
with the same rule would give the same values up to O(dt^2) and is not needed). The scheme
is causal: row n + 1 (``S(t_{n+1})`` and ``Delta(t_{n+1}, t_j)``, j <= n + 1, all regions at
once as (R, n + 2) arrays) depends only on earlier rows and on itself, and is solved by
fixed-point iteration (no Python loop over time pairs, only over rows). The predictor
extrapolates the drive H in time and D by a rule exact both for a stationary D(t - s) and for
a transient in s alone (see ``_Solver._predict``), so that 1.5-2 sweeps per step reach
``tol = 1e-10``. Each sweep costs one row of pair averages per region; the new row enters with
weight ``a1 ~ dt/2``, so a sweep contracts by about ``dt/2 (g^2 <phi'phi'> + psi |T|)``.

Pair averages: for ``phi = erf(sqrt(pi) x / 2)`` (``"erf"``) the closed forms, with
``k = sqrt(pi)/2`` (so ``2 k^2 = pi/2``)::

    E[phi(a) phi(b)] = (2/pi) arcsin(2 k^2 c / sqrt((1 + 2 k^2 va)(1 + 2 k^2 vb)))
    <phi'>(0, v)     = 1 / sqrt(1 + 2 k^2 v)

(the first follows from ``d/dc E[phi(a) phi(b)] = E[phi'(a) phi'(b)]`` (Price) and the
Gaussian integral ``E[phi'(a) phi'(b)] = (4k^2/pi) det(I + 2k^2 Sigma)^(-1/2)``). Any other
nonlinearity (tanh, ...) uses the Mehler expansion with the Hermite coefficients of
`rnndyn.theory._two_time_quadrature.MehlerPairAverager` (~1e-10; truncated point by point at
the lowest sufficient order, see `_MehlerAverages`) and `rnndyn.theory.gaussian.mean_activity`
for psi.

Cost, measured on two shared CPU cores for ``R = 3`` on a 2000 x 2000 grid (``t_max = 99.95``,
``dt = 0.05``): erf takes 1.0-1.5 s (g = 1.5 with a loop of currents that quenches the chaos,
1.6 sweeps per step; or g = 2 without currents, chaotic, 1.8 sweeps per step); tanh takes
13-18 s of CPU time (17-26 s wall on the busy machine), the static state being the slower one
(every pair nearly perfectly correlated needs order ~110 of the Mehler series). Memory is one
(R, T, T) float64 array (``correlation``) and, for Mehler, (R, 513, T) coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory._two_time_quadrature import MehlerPairAverager
from rnndyn.theory.gaussian import mean_activity
from rnndyn.theory.multiregion import _check_model
from rnndyn.theory.two_time import exponential_trapezoid_weights

__all__ = ["CurrentDynamics", "solve_current_dynamics"]

_MAX_GRID_BYTES = 8 * 2**30  # the (R, T, T) correlation array; larger grids are refused
_HALF_PI = 0.5 * math.pi  # 2 k^2 for k = sqrt(pi) / 2
_ORDERS = (48, 64, 96, 128, 192, 256, 384, 512)  # truncation tiers of the Mehler series


@dataclass(frozen=True)
class CurrentDynamics:
    """Solution of the time-dependent multiregion mean-field theory on a uniform grid.

    Attributes
    ----------
    time : ndarray (T,)
        The grid ``t_n = n dt``.
    currents : ndarray (T, R, R)
        ``S[t, mu, nu]``, the (low-pass filtered) current region nu sends to region mu.
    drive : ndarray (T, R, R)
        ``H[t, mu, nu] = psi^nu(t) sum_rho T[mu, nu, rho] S^{nu rho}(t) = S + dS/dt``: the
        instantaneous readout ``n^{mu nu} . phi(x^nu) / N`` that a simulation records
        (`rnndyn.simulate.Projection.currents`).
    gains : ndarray (T, R)
        ``psi^nu(t) = <phi'>(0, Delta^nu(t, t))``.
    variance : ndarray (T, R)
        ``Delta^nu(t, t)``, the total variance of region nu over neurons.
    structured_variance : ndarray (T, R)
        ``S^nu(t) . U^nu . S^nu(t)``, the part of it the currents carry.
    correlation : ndarray (R, T, T)
        ``Delta^nu(t, s)``, the two-time covariance of ``x^nu`` (symmetric in t, s).
    residual : float
        Largest over time steps of the last fixed-point update, relative to
        ``max(1, |S|, Delta(t, t))``.
    iterations : int
        Largest number of fixed-point sweeps any time step needed.
    total_iterations : int
        Sweeps summed over time steps.
    parameters : dict
        The resolved parameters.
    """

    time: np.ndarray
    currents: np.ndarray
    drive: np.ndarray
    gains: np.ndarray
    variance: np.ndarray
    structured_variance: np.ndarray
    correlation: np.ndarray
    residual: float
    iterations: int
    total_iterations: int
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def dt(self) -> float:
        """Grid step."""
        return float(self.time[1] - self.time[0])

    @property
    def n_regions(self) -> int:
        """Number of regions R."""
        return self.currents.shape[1]

    def disorder_correlation(self) -> np.ndarray:
        """``D^nu(t, s) = Delta^nu(t, s) - S^nu(t) . U^nu . S^nu(s)``, shape (R, T, T)."""
        u = self.parameters["input_overlaps"]
        out = self.correlation.copy()
        for nu in range(self.n_regions):
            s = self.currents[:, nu, :]  # (T, R)
            out[nu] -= s @ u[nu] @ s.T
        return out

    def stationary_autocorrelation(
        self, t_start: float, max_lag: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lag profile of ``Delta`` averaged along the diagonals after ``t_start``.

        ``Delta^nu(tau) = mean over t >= t_start, t + tau <= t_max of Delta^nu(t, t + tau)``.

        Parameters
        ----------
        t_start : float
            Start of the averaging window, in ``[0, t_max]``.
        max_lag : float, optional
            Largest lag (default ``t_max - t_start``).

        Returns
        -------
        tau : ndarray (L,)
        values : ndarray (L, R)
        """
        t_max = float(self.time[-1])
        t_start = check_number("t_start", t_start, low=0.0, high=t_max)
        start = math.ceil(t_start / self.dt - 1e-9)
        n_lags = len(self.time) - start
        if max_lag is not None:
            max_lag = check_number("max_lag", max_lag, low=0.0)
            n_lags = min(n_lags, math.floor(max_lag / self.dt + 1e-9) + 1)
        block = self.correlation[:, start:, start:]
        values = np.empty((n_lags, self.n_regions))
        for lag in range(n_lags):
            values[lag] = np.diagonal(block, offset=lag, axis1=1, axis2=2).mean(axis=1)
        return np.arange(n_lags) * self.dt, values


# --- pair averages ------------------------------------------------------------------------------
class _ErfAverages:
    """Closed forms for ``phi(x) = erf(sqrt(pi) x / 2)``, all regions at once."""

    def __init__(self, n_regions: int, n_time: int) -> None:
        # 1 / sqrt(1 + (pi/2) Delta(t_j, t_j)) for the accepted times, per region.
        self.inv_root = np.zeros((n_regions, n_time))

    def gain(self, variance: np.ndarray) -> np.ndarray:
        return 1.0 / np.sqrt(1.0 + _HALF_PI * variance)

    def row(self, n1: int, variance: np.ndarray, covariance: np.ndarray) -> np.ndarray:
        """``C(t_{n1}, t_j)``, j = 0..n1, shape (R, n1 + 1); ``covariance`` is (R, n1)."""
        inv_new = 1.0 / np.sqrt(1.0 + _HALF_PI * variance)
        out = np.empty((variance.size, n1 + 1))
        arg = covariance * self.inv_root[:, :n1]
        arg *= (_HALF_PI * inv_new)[:, None]
        np.clip(arg, -1.0, 1.0, out=arg)
        np.arcsin(arg, out=out[:, :n1])
        out[:, n1] = np.arcsin(_HALF_PI * variance * inv_new * inv_new)
        out *= 2.0 / math.pi
        return out

    def accept(self, n1: int, variance: np.ndarray) -> None:
        self.inv_root[:, n1] = 1.0 / np.sqrt(1.0 + _HALF_PI * variance)


class _MehlerAverages:
    """Mehler expansion (any nonlinearity), one region at a time.

    The Hermite coefficients of every time point come from
    `rnndyn.theory._two_time_quadrature.MehlerPairAverager` (orders up to 512, computed once per
    time point). A row of pair averages ``E[phi(a) phi(b_j)]`` is the series
    ``sum_k r_j^k c_k(a) c_k(b_j)`` truncated, point by point, at the lowest order K of
    ``_ORDERS`` whose Cauchy-Schwarz bound ``|r|^(K+1) sqrt(T_K(a) T_K(b_j))`` (``T_K`` the
    relative Parseval tail) is below 1e-10, as in the averager's own two-tier rule; the extra
    tiers matter when many points have ``|r|`` near 1 (a static state, where every pair is
    nearly perfectly correlated: tanh at variance 1.8 needs order ~110, not 512). Points that
    no order up to 512 resolves go to the averager's direct quadrature.
    """

    def __init__(self, phi: Nonlinearity, active: np.ndarray, n_time: int) -> None:
        self.phi = phi
        self.active = active  # regions with g > 0; the others' rates are not needed (F = 0)
        self.averager = MehlerPairAverager(phi)
        self.tol = self.averager.tol
        self.orders = np.array([k for k in _ORDERS if k <= self.averager.order])
        n_regions = active.size
        size = self.averager.order + 1
        self.coef = np.zeros((n_regions, size, n_time))
        self.log_tail = np.zeros((n_regions, self.orders.size, n_time))
        self.past_variance = np.zeros((n_regions, n_time))
        self._last: list[tuple[np.ndarray, np.ndarray, float]] = []

    def gain(self, variance: np.ndarray) -> np.ndarray:
        return np.asarray(mean_activity(self.phi, 0.0, variance, part="derivative"), dtype=float)

    def _new_point(self, variance: float) -> tuple[np.ndarray, np.ndarray, float]:
        coef = self.averager.coefficients(np.zeros(1), np.array([variance]))
        c = coef.c[:, 0]
        second = float(coef.second_moment[0])
        tails = second - np.cumsum(c * c)[self.orders]
        with np.errstate(divide="ignore"):
            log_tail = np.log(np.maximum(tails, 0.0) / (second if second > 0 else 1.0))
        return c, log_tail, second

    def row(self, n1: int, variance: np.ndarray, covariance: np.ndarray) -> np.ndarray:
        out = np.zeros((variance.size, n1 + 1))
        self._last = []
        for nu in np.flatnonzero(self.active):
            ca, log_tail_a, second = self._new_point(float(variance[nu]))
            self._last.append((ca, log_tail_a, second))
            out[nu, n1] = second
            if n1:
                out[nu, :n1] = self._pairs(nu, n1, ca, log_tail_a, float(variance[nu]),
                                           covariance[nu])
        return out

    def _pairs(self, nu: int, n1: int, ca: np.ndarray, log_tail_a: np.ndarray,
               variance: float, covariance: np.ndarray) -> np.ndarray:
        cb = self.coef[nu, :, :n1]
        var_b = self.past_variance[nu, :n1]
        denom = np.sqrt(variance * var_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.clip(np.where(denom > 0, covariance / denom, 0.0), -1.0, 1.0)
            log_r = np.log(np.abs(r))
        low = int(self.orders[0])
        powers = np.empty((low + 1, n1))
        powers[0] = 1.0
        powers[1:] = r
        np.cumprod(powers, axis=0, out=powers)
        out = np.einsum("k,kj,kj->j", ca[: low + 1], cb[: low + 1], powers)
        # log of the truncation bound after each order of the list, (n_orders, n1).
        log_bound = ((self.orders[:, None] + 1) * log_r[None, :]
                     + 0.5 * (log_tail_a[:, None] + self.log_tail[nu, :, :n1]))
        ok = log_bound <= math.log(self.tol)
        need = np.flatnonzero(~ok[0])
        if need.size == 0:
            return out
        # Lowest sufficient order per point (index into orders; len(orders) = none).
        level = np.where(ok[:, need].any(axis=0), ok[:, need].argmax(axis=0), self.orders.size)
        for index in range(1, self.orders.size):
            group = need[level == index]
            if group.size == 0:
                continue
            top = int(self.orders[index])
            rg = r[group]
            powers = np.cumprod(np.broadcast_to(rg, (top - low, rg.size)), axis=0)
            powers *= rg**low
            out[group] += np.einsum("k,km,km->m", ca[low + 1 : top + 1],
                                    cb[low + 1 : top + 1, group], powers)
        hard = need[level == self.orders.size]
        if hard.size:
            bound = denom[hard]
            out[hard] = self.averager.direct(
                np.zeros(hard.size), np.full(hard.size, variance), np.zeros(hard.size),
                var_b[hard], np.clip(covariance[hard], -bound, bound))
        return out

    def accept(self, n1: int, variance: np.ndarray) -> None:
        # The coefficients kept are those of the last evaluated iterate (within the residual).
        for nu, (c, log_tail, _) in zip(np.flatnonzero(self.active), self._last, strict=True):
            self.coef[nu, :, n1] = c
            self.log_tail[nu, :, n1] = log_tail
        self.past_variance[:, n1] = variance


# --- solver -----------------------------------------------------------------------------------
def solve_current_dynamics(
    interactions: Any,
    input_overlaps: Any,
    disorder: Any = 0.0,
    phi: str | Nonlinearity = "erf",
    *,
    initial_currents: Any,
    t_max: float,
    dt: float = 0.05,
    initial_variance: Any = 0.0,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> CurrentDynamics:
    """Solve the time-dependent mean-field theory of a multiregion network with disorder.

    Solves, for regions nu = 0..R-1 (see the module docstring for the derivation and scheme)::

        (1 + d/dt) S^{mu nu} = H^{mu nu} = psi^nu sum_rho T[mu, nu, rho] S^{nu rho}
        psi^nu(t) = <phi'>(0, Delta^nu(t, t))
        Delta^nu(t, s) = S^nu(t) . U^nu . S^nu(s) + D^nu(t, s)
        (1 + d/dt)(1 + d/ds) D^nu(t, s) = g_nu^2 E[phi(x^nu(t)) phi(x^nu(s))]

    from ``S(0) = initial_currents`` and ``D^nu(0, 0) = initial_variance[nu]`` on the grid
    ``t = 0, dt, ..., t_max``. With ``disorder = 0`` it is the current ODE of
    `rnndyn.theory.multiregion.integrate_currents` (plus, if ``initial_variance > 0``, a
    decaying unstructured part); with ``T = 0`` every region is the one-population two-time
    DMFT of `rnndyn.theory.two_time.solve_two_time`.

    Parameters
    ----------
    interactions : array (R, R, R)
        ``T[mu, nu, rho] = <n^{mu nu} m^{nu rho}>``.
    input_overlaps : array (R, R, R)
        ``U[nu, rho, rho'] = <m^{nu rho} m^{nu rho'}>``, each ``U[nu]`` positive semi-definite.
    disorder : float or array (R,), default 0
        ``g_nu >= 0``, the within-region disorder.
    phi : str or Nonlinearity, default "erf"
        ``"erf"`` (``erf(sqrt(pi) x / 2)``) uses closed forms and is fast; any other
        nonlinearity of `rnndyn.nonlinearities` uses the Mehler expansion (tanh ~15x slower;
        nonlinearities with kinks, such as relu, much slower still).
    initial_currents : array (R, R), keyword-only
        ``S(0)``.
    t_max : float, keyword-only
        Last time (> 0); the grid has ``round(t_max / dt)`` steps.
    dt : float, default 0.05
        Grid step (> 0). The scheme is second order in dt.
    initial_variance : float or array (R,), default 0
        ``v0_nu >= 0``: the variance of the part of ``x^nu(0)`` outside the span of the input
        loadings (independent of them). 0 starts exactly on the span.
    tol : float, default 1e-10
        Convergence threshold of every time step on ``max |x_new - x|`` relative to
        ``max(1, |S|, Delta(t, t))``, x = (S(t_n), Delta(t_n, .)).
    max_iter : int, default 50
        Most fixed-point sweeps per time step.

    Returns
    -------
    CurrentDynamics

    Raises
    ------
    ValueError
        Shapes that do not match R, NaN or inf, a negative disorder or initial variance, a
        non-PSD U, ``dt <= 0``, ``t_max <= 0`` or ``t_max < dt`` (the message names the
        parameter).
    rnndyn.ConvergenceError
        A time step did not converge in ``max_iter`` sweeps (the message gives the time and
        the residual reached); lower dt.

    Examples
    --------
    >>> import numpy as np
    >>> sol = solve_current_dynamics([[[2.0]]], [[[1.0]]], 0.5, initial_currents=[[0.1]],
    ...                              t_max=1.0, dt=0.1)
    >>> sol.currents.shape, sol.correlation.shape
    ((11, 1, 1), (1, 11, 11))
    """
    t, u, g, nl = _check_model(interactions, input_overlaps, disorder, phi)
    r = t.shape[0]
    s0 = check_array("initial_currents", initial_currents, shape=(r, r))
    dt = check_number("dt", dt, low=0.0, low_inclusive=False)
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    if t_max < dt * (1 - 1e-9):
        raise ValueError(f"t_max must be >= dt={dt:g}, got {t_max:g}")
    if np.ndim(initial_variance) == 0:
        v0 = np.full(r, check_number("initial_variance", initial_variance, low=0.0))
    else:
        v0 = check_array("initial_variance", initial_variance, shape=(r,))
        if np.any(v0 < 0):
            raise ValueError(f"initial_variance must be >= 0, got {initial_variance!r}")
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iter = check_int("max_iter", max_iter, low=1)
    n_steps = round(t_max / dt)
    n_time = n_steps + 1
    if r * n_time**2 * 8 > _MAX_GRID_BYTES:
        raise ValueError(
            f"t_max / dt = {n_steps} steps needs {r * n_time**2 * 8 / 2**30:.1f} GiB for the "
            f"(t, s) grid; use a larger dt or a shorter t_max")
    solver = _Solver(t, u, g, nl, s0, v0, dt, n_time, tol, max_iter)
    solver.run()
    parameters = {
        "interactions": t, "input_overlaps": u, "disorder": g, "phi": nl.name,
        "initial_currents": s0, "initial_variance": v0, "t_max": n_steps * dt, "dt": dt,
        "tol": tol, "max_iter": max_iter,
    }
    return solver.solution(np.arange(n_time) * dt, parameters)


class _Solver:
    """Row-by-row solution (see the module docstring).

    Bookkeeping for the disorder part, with ``F = g^2 C`` and the rule matrix M::

        Y(t, s) = int_0^t e^{-(t - t')} F(t', s) dt'      Y(i+1, j) = E Y(i, j) + a0 F(i, j)
                                                                      + a1 F(i+1, j)
        K(t, s) = int_0^s e^{-(s - s')} Y(t, s') ds'      K(n, j+1) = E K(n, j) + a0 Y(n, j)
                                                                      + a1 Y(n, j+1), K(n, 0) = 0

    Only the last rows of Y and F are kept. ``Y(n, n+1) = sum_i M[n, i] F(n+1, i)`` by the
    symmetry of F, with ``M[n, i] = lag_weight[n - i]`` for i >= 1 and ``M[n, 0] = E^(n-1) a0``.
    """

    def __init__(self, t: np.ndarray, u: np.ndarray, g: np.ndarray, phi: Nonlinearity,
                 s0: np.ndarray, v0: np.ndarray, dt: float, n_time: int, tol: float,
                 max_iter: int) -> None:
        self.t, self.u, self.g2, self.v0 = t, u, g**2, v0
        self.r = r = t.shape[0]
        self.dt, self.n_time, self.tol, self.max_iter = dt, n_time, tol, max_iter
        (self.decay, self.a0, self.a1, self.exp_t,
         self.lag_weight) = exponential_trapezoid_weights(dt, n_time)
        self.avg = (_ErfAverages(r, n_time) if phi.name == "erf"
                    else _MehlerAverages(phi, g > 0, n_time))
        self.delta = np.zeros((r, n_time, n_time))  # D's lower triangles, filled row by row
        self.s_hist = np.zeros((r, r, n_time))  # S[nu, rho, t], contiguous in time
        self.currents = np.zeros((n_time, r, r))
        self.drive = np.zeros((n_time, r, r))
        self.gains = np.zeros((n_time, r))
        self.f_prev = np.zeros((r, 1))
        self.y_prev = np.zeros((r, 1))
        self.residual = 0.0
        self.iterations = 0
        self.total_iterations = 0
        self.s0 = s0

    def _drive(self, s: np.ndarray, psi: np.ndarray) -> np.ndarray:
        return np.einsum("mnr,nr->mn", self.t, s) * psi[None, :]

    def run(self) -> None:
        s0 = self.s0
        var0 = np.einsum("nr,nrq,nq->n", s0, self.u, s0) + self.v0
        psi = self.avg.gain(var0)
        rates = self.avg.row(0, var0, np.zeros((self.r, 0)))
        self.delta[:, 0, 0] = self.v0
        self._accept(0, s0, self._drive(s0, psi), psi, rates, var0)
        for n1 in range(1, self.n_time):
            self._step(n1)

    def _accept(self, n1: int, s: np.ndarray, h: np.ndarray, psi: np.ndarray,
                rates: np.ndarray, variance: np.ndarray) -> None:
        self.currents[n1] = s
        self.s_hist[:, :, n1] = s
        self.drive[n1] = h
        self.gains[n1] = psi
        self.f_prev = self.g2[:, None] * rates
        self.avg.accept(n1, variance)

    def _predict(self, n1: int) -> tuple[np.ndarray, np.ndarray]:
        """Starting guess for row n1: S(t_{n1}) and D(t_{n1}, .).

        S: the rule with the drive H(t_{n1}) extrapolated (quadratic) in time. D, columns
        1..n1-3: ``D(n1, j) = D(n1-1, j-1) + G(n1, j)`` with ``G(t, s) = D(t, s) - D(t - dt,
        s - dt)``, the change along a diagonal, extrapolated (quadratic) at fixed s; this is
        exact both for a stationary ``D(t - s)`` (G = 0) and for a transient in s alone (G
        constant in t, e.g. region nu decorrelated while the currents settle). The last columns
        are extrapolated along the diagonals, column 0 at fixed s; lower orders while fewer
        rows exist.
        """
        d, h = self.delta, self.drive
        n = n1 - 1
        d1 = d[:, n, :n1]
        row = np.empty((self.r, n1 + 1))
        row[:, 1:] = d1
        row[:, 0] = d1[:, 0]
        h_next = h[n]
        if n1 >= 2:
            d2 = d[:, n - 1, :n]
            row[:, 2:] = 2.0 * d1[:, 1:] - d2
            row[:, 0] = 2.0 * d1[:, 0] - d2[:, 0]
            h_next = 2.0 * h[n] - h[n - 1]
        if n1 >= 3:
            d3 = d[:, n - 2, : n - 1]
            row[:, 3:] = 3.0 * d1[:, 2:] - 3.0 * d2[:, 1:] + d3
            row[:, 0] = 3.0 * d1[:, 0] - 3.0 * d2[:, 0] + d3[:, 0]
            h_next = 3.0 * h[n] - 3.0 * h[n - 1] + h[n - 2]
        if n1 >= 4:
            m = n1 - 2  # columns 1..m-1
            g1 = d1[:, 1:m] - d2[:, : m - 1]
            g2 = d2[:, 1:m] - d3[:, : m - 1]
            g3 = d3[:, 1:m] - d[:, n - 3, : m - 1]
            row[:, 1:m] = d1[:, : m - 1] + 3.0 * g1 - 3.0 * g2 + g3
        s = self.decay * self.currents[n] + self.a0 * h[n] + self.a1 * h_next
        return s, row

    def _structured_row(self, n1: int, s: np.ndarray) -> np.ndarray:
        """``S(t_{n1}) . U . S(t_j)``, j = 0..n1, with S(t_{n1}) = s; exact on the grid."""
        w = np.einsum("nr,nrq->nq", s, self.u)
        out = np.empty((self.r, n1 + 1))
        out[:, :n1] = np.einsum("nq,nqj->nj", w, self.s_hist[:, :, :n1])
        out[:, n1] = np.einsum("nq,nq->n", w, s)
        return out

    def _map(self, n1: int, s_x: np.ndarray, d_x: np.ndarray) -> tuple[np.ndarray, ...]:
        """One sweep: (S, D row) -> updated (S, D row) and what they were built from."""
        n = n1 - 1
        row = d_x + self._structured_row(n1, s_x)  # Delta(t_{n1}, .)
        variance = np.maximum(row[:, n1], 0.0)
        psi = self.avg.gain(variance)
        h = self._drive(s_x, psi)
        s_new = self.decay * self.currents[n] + self.a0 * self.drive[n] + self.a1 * h
        rates = self.avg.row(n1, variance, row[:, :n1])
        f_new = self.g2[:, None] * rates
        # Disorder part: Y(n1, .) then K(n1, .) by the exponential trapezoid in s.
        y_corner = f_new[:, :n1] @ self.lag_weight[n::-1] - self.exp_t[n] * self.a1 * f_new[:, 0]
        y_ext = np.concatenate([self.y_prev, y_corner[:, None]], axis=1)
        f_ext = np.concatenate([self.f_prev, f_new[:, n : n + 1]], axis=1)
        y_new = self.decay * y_ext + self.a0 * f_ext + self.a1 * f_new
        d_new = signal.lfilter([self.a1, self.a0], [1.0, -self.decay], y_new, axis=1)
        # lfilter also weighs Y(n1, 0) by a1 E^j; the rule has K(t, 0) = 0, so remove it.
        d_new -= self.a1 * y_new[:, :1] * self.exp_t[: n1 + 1]
        d_new += self.v0[:, None] * (self.exp_t[n1] * self.exp_t[: n1 + 1])
        return s_new, d_new, y_new, h, psi, rates, variance

    def _step(self, n1: int) -> None:
        s_x, d_x = self._predict(n1)
        residual = math.inf
        for iteration in range(1, self.max_iter + 1):
            s_new, d_new, y_new, h, psi, rates, variance = self._map(n1, s_x, d_x)
            scale = max(1.0, float(np.max(np.abs(s_new))), float(np.max(variance)))
            residual = max(float(np.max(np.abs(s_new - s_x))),
                           float(np.max(np.abs(d_new - d_x)))) / scale
            s_x, d_x = s_new, d_new
            if not math.isfinite(residual):
                raise ConvergenceError(
                    f"multiregion current dynamics diverged at t={n1 * self.dt:g} (step {n1}): "
                    f"the residual became non-finite after {iteration} sweeps; lower dt")
            if residual <= self.tol:
                break
        else:
            raise ConvergenceError(
                f"multiregion current dynamics did not converge at t={n1 * self.dt:g} (step "
                f"{n1}): residual {residual:.3g} > tol {self.tol:g} after max_iter="
                f"{self.max_iter} sweeps; raise max_iter or lower dt")
        self.iterations = max(self.iterations, iteration)
        self.total_iterations += iteration
        self.residual = max(self.residual, residual)
        # Accept the last update; the drive, gains, rates and Y kept are those it was built
        # from, which differ from its own by at most the residual.
        self.delta[:, n1, : n1 + 1] = d_x
        self.y_prev = y_new
        self._accept(n1, s_x, h, psi, rates, variance)

    def solution(self, time: np.ndarray, parameters: dict[str, Any]) -> CurrentDynamics:
        # delta holds D (lower triangles); mirror it and add the structured part S . U . S.
        for nu in range(self.r):
            self.delta[nu] += np.triu(self.delta[nu].T, k=1)
            self.delta[nu] += self.s_hist[nu].T @ self.u[nu] @ self.s_hist[nu]
        structured = np.einsum("tnr,nrq,tnq->tn", self.currents, self.u, self.currents)
        return CurrentDynamics(
            time=time,
            currents=self.currents,
            drive=self.drive,
            gains=self.gains,
            variance=np.diagonal(self.delta, axis1=1, axis2=2).T.copy(),
            structured_variance=structured,
            correlation=self.delta,
            residual=self.residual,
            iterations=self.iterations,
            total_iterations=self.total_iterations,
            parameters=parameters,
        )
