"""Time-dependent (two-time) dynamic mean-field theory of random rate networks.

Model
-----
P populations with fractions ``alpha_Q`` (summing to 1) of N neurons; neuron i of population P
obeys::

    dx_i/dt = -x_i + sum_j J_ij phi(x_j) + I_P(t) + sigma_P xi_i(t)

with white noise ``<xi_i(t) xi_j(s)> = delta_ij delta(t - s)`` and, for i in P and j in Q,
independent couplings::

    J_ij ~ N(J0_PQ / N, g_PQ^2 / N)            normalization="total" (default)
    J_ij ~ N(J0_PQ / N_Q, g_PQ^2 / N_Q)        normalization="population"

The initial states are independent, ``x_i(0) ~ N(m0_P, v0_P)``.

Mean field (Sompolinsky, Crisanti & Sommers 1988; Crisanti & Sompolinsky 2018, PRE 98, 062120;
Helias & Dahmen, "Statistical field theory for neural networks", 2020). As N -> infinity each
neuron sees a Gaussian field and ``x_i = mu_P(t) + eta_i(t)`` with ``eta`` Gaussian, of mean
zero and covariance ``Delta_P(t, s)`` (the covariance of x, not its second moment)::

    (d/dt + 1) mu_P(t) = sum_Q Jbar_PQ <phi>_Q(t) + I_P(t)
    (d/dt + 1)(d/ds + 1) Delta_P(t, s) = sum_Q G_PQ C_Q(t, s) + sigma_P^2 delta(t - s)

    <phi>_Q(t)  = E[phi(mu_Q(t) + sqrt(Delta_Q(t, t)) z)]
    C_Q(t, s)   = E[phi(a) phi(b)],  (a, b) Gaussian with means mu_Q(t), mu_Q(s), variances
                  Delta_Q(t, t), Delta_Q(s, s) and covariance Delta_Q(t, s)

with ``Jbar_PQ = alpha_Q J0_PQ``, ``G_PQ = alpha_Q g_PQ^2`` for ``normalization="total"`` and
``Jbar = J0``, ``G = g^2`` for ``normalization="population"`` (the convention of multiregion
models whose within-region disorder scales with the region size). With ``mu_P(0) = m0_P`` and
``Delta_P(0, s) = Delta_P(t, 0) = 0`` except ``Delta_P(0, 0) = v0_P``, the solution is::

    Delta_P(t, s) = v0_P e^{-t-s} + sigma_P^2 / 2 (e^{-|t-s|} - e^{-t-s}) + K_P(t, s)
    K_P(t, s)     = int_0^t int_0^s e^{-(t-t')-(s-s')} sum_Q G_PQ C_Q(t', s') ds' dt'

Numerical scheme
----------------
The grid is ``t_n = n dt``, n = 0..n_steps. The leak is integrated exactly and the source
interpolated linearly on each step (exponential trapezoid), so for ``y' = -y + f``::

    y_{n+1} = e^{-dt} y_n + a0 f_n + a1 f_{n+1},
    a0 = (1 - e^{-dt}(1 + dt)) / dt,   a1 = 1 - e^{-dt} - a0

which is exact for a source linear in time and second order otherwise. ``K`` uses the tensor
product of this rule in t and s (``K = M F M^T`` with M the lower-triangular matrix of the
rule), so it stays symmetric and positive semi-definite; the noise and initial-condition terms
are added in closed form. The scheme is causal: row ``n + 1`` of ``K`` depends on ``F`` up to
row ``n + 1``, so the self-consistency is solved one time step at a time (the window is the
new row ``Delta(t_{n+1}, s <= t_{n+1})`` and ``mu(t_{n+1})``, symmetry gives the column). The
new row is iterated to convergence with damping::

    x <- (1 - damping) Map(x) + damping x,   x = (mu(t_{n+1}), Delta(t_{n+1}, .))

from a predictor that extrapolates ``F`` along the diagonals. Each iteration costs one row of
pair averages; the new row enters ``K`` with weight ``a1 ~ dt/2``, so the iteration contracts
by about ``dt/2 * sum_Q G_PQ <phi'phi'>`` per sweep and typically needs 3-5 sweeps.

Pair averages use the Mehler expansion ``C = sum_k r^k c_k(t) c_k(s)`` (``r`` the correlation
coefficient, ``c_k`` the Hermite coefficients of ``phi(mu + sqrt(Delta) z)``), with coefficients
computed once per time point and a rigorous truncation bound; where the bound is not met
(correlation near 1 with a Gaussian several times wider than the scale of ``phi``, or a
nonlinearity with kinks) they fall back to `rnndyn.theory.gaussian.gaussian_pair_expectation`.
Against that nested quadrature the Mehler averages of tanh and erf agree to ~1e-10 for
standard deviations up to 6 and any correlation (see `rnndyn.theory._two_time_quadrature`).
A fixed-order Gauss-Hermite product rule would not do: with 40 x 40 nodes it is off by 3e-5
for tanh at standard deviation 1.5 and 5e-3 at 3.

Cost: one population, tanh, g = 2, a 1001 x 1001 grid (t_max = 50, dt = 0.05) takes about
1-2 s on two CPU cores, with 1.3 sweeps per step on average (g = 3: the same; g = 5, where the
variance reaches 17 and near-diagonal points need direct quadrature: ~5 s). relu on the same
grid takes ~20 s. Memory is two (P, T, T) float64 arrays (``correlation`` and
``rate_correlation``).

References
----------
- H. Sompolinsky, A. Crisanti, H.-J. Sommers, "Chaos in random neural networks", PRL 61, 259
  (1988).
- A. Crisanti, H. Sompolinsky, "Path integral approach to random neural networks", PRE 98,
  062120 (2018).
- M. Helias, D. Dahmen, "Statistical field theory for neural networks", Springer (2020).
- D. G. Clark, M. Beiran, "Structure of activity in multiregion recurrent neural networks",
  arXiv:2402.12188 (2024): populations as regions with within-region disorder
  (``normalization="population"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_choice, check_int, check_number
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory._two_time_quadrature import Coefficients, MehlerPairAverager

__all__ = ["TwoTimeSolution", "solve_two_time"]

NORMALIZATIONS: tuple[str, ...] = ("total", "population")
_MAX_GRID_BYTES = 8 * 2**30  # the two (P, T, T) arrays; larger grids are refused up front


@dataclass(frozen=True)
class TwoTimeSolution:
    """Solution of the two-time DMFT on a uniform grid.

    Attributes
    ----------
    time : ndarray of shape (T,)
        The grid ``t_n = n dt``, n = 0..n_steps.
    mean : ndarray of shape (T, P)
        ``mu_P(t)``, the population-averaged state.
    correlation : ndarray of shape (P, T, T)
        ``Delta_P(t, s)``, the covariance of ``x_i(t)`` and ``x_i(s)`` over neurons of P
        (symmetric in t, s); the second moment is ``Delta_P(t, s) + mu_P(t) mu_P(s)``.
    variance : ndarray of shape (T, P)
        ``Delta_P(t, t)``.
    rate_mean : ndarray of shape (T, P)
        ``<phi>_P(t)``.
    rate_correlation : ndarray of shape (P, T, T)
        ``C_P(t, s) = E[phi(x(t)) phi(x(s))]`` (second moment, not covariance).
    residual : float
        Largest over time steps of the last fixed-point update, relative to
        ``max(1, |mu|, Delta(t, t))``.
    iterations : int
        Largest number of fixed-point sweeps any time step needed.
    total_iterations : int
        Sweeps summed over time steps (each evaluates one row of pair averages).
    fallback_points : int
        Pair averages computed by direct quadrature because the Mehler truncation bound was
        not met (wide Gaussians near the diagonal; most of the near-diagonal band for
        nonlinearities with kinks, which makes those several times slower).
    parameters : dict
        The resolved parameters (effective couplings ``G`` and ``Jbar`` included).
    """

    time: np.ndarray
    mean: np.ndarray
    correlation: np.ndarray
    variance: np.ndarray
    rate_mean: np.ndarray
    rate_correlation: np.ndarray
    residual: float
    iterations: int
    total_iterations: int
    fallback_points: int
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def dt(self) -> float:
        """Grid step."""
        return float(self.time[1] - self.time[0])

    @property
    def n_populations(self) -> int:
        """Number of populations P."""
        return self.mean.shape[1]

    def stationary_autocorrelation(
        self, t_start: float, max_lag: float | None = None, *, variable: str = "x"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lag profile averaged along the diagonals after ``t_start``.

        ``Delta(tau) = mean over t >= t_start, t + tau <= t_max of Delta(t, t + tau)``; when the
        dynamics has become stationary after ``t_start`` this is the stationary
        autocorrelation of the DMFT.

        Parameters
        ----------
        t_start : float
            Start of the averaging window, in ``[0, t_max]``.
        max_lag : float, optional
            Largest lag (default: ``t_max - t_start``).
        variable : {"x", "rates"}
            ``"x"`` averages ``Delta`` (covariance of the state), ``"rates"`` averages
            ``C`` (second moment of the rates).

        Returns
        -------
        tau : ndarray of shape (L,)
        values : ndarray of shape (L, P)
        """
        check_choice("variable", variable, ("x", "rates"))
        t_max = float(self.time[-1])
        t_start = check_number("t_start", t_start, low=0.0, high=t_max)
        start = math.ceil(t_start / self.dt - 1e-9)
        available = len(self.time) - 1 - start
        n_lags = available + 1
        if max_lag is not None:
            max_lag = check_number("max_lag", max_lag, low=0.0)
            n_lags = min(n_lags, math.floor(max_lag / self.dt + 1e-9) + 1)
        data = self.correlation if variable == "x" else self.rate_correlation
        block = data[:, start:, start:]
        values = np.empty((n_lags, data.shape[0]))
        for lag in range(n_lags):
            values[lag] = np.diagonal(block, offset=lag, axis1=1, axis2=2).mean(axis=1)
        return np.arange(n_lags) * self.dt, values


# --- parameter handling -------------------------------------------------------------------------
def _population_count(g: Any, fractions: Any, mean_coupling: Any) -> int:
    if fractions is not None:
        return int(np.size(fractions))
    for value in (g, mean_coupling):
        if value is not None and np.ndim(value) == 2:
            return int(np.shape(value)[0])
    return 1


def _matrix(name: str, value: Any, n_pop: int, *, nonnegative: bool) -> np.ndarray:
    if np.ndim(value) == 0:
        number = check_number(name, value, low=0.0 if nonnegative else None)
        return np.full((n_pop, n_pop), number)
    array = check_array(name, value, shape=(n_pop, n_pop))
    if nonnegative and np.any(array < 0):
        raise ValueError(f"{name} must have entries >= 0, got {value!r}")
    return array


def _per_population(name: str, value: Any, n_pop: int, *, nonnegative: bool) -> np.ndarray:
    if np.ndim(value) == 0:
        number = check_number(name, value, low=0.0 if nonnegative else None)
        return np.full(n_pop, number)
    array = check_array(name, value, shape=(n_pop,))
    if nonnegative and np.any(array < 0):
        raise ValueError(f"{name} must have entries >= 0, got {value!r}")
    return array


def _fractions(value: Any, n_pop: int) -> np.ndarray:
    if value is None:
        return np.full(n_pop, 1.0 / n_pop)
    array = check_array("fractions", value, shape=(n_pop,))
    if np.any(array <= 0):
        raise ValueError(f"fractions must all be > 0, got {value!r}")
    if abs(array.sum() - 1.0) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got sum {array.sum():.12g}")
    return array


def _drive(value: Any, time: np.ndarray, n_pop: int) -> np.ndarray:
    """The drive I_P(t) on the grid, shape (T, P)."""
    n_time = time.size
    if value is None:
        return np.zeros((n_time, n_pop))
    if callable(value):
        try:
            samples = [np.asarray(value(float(t)), dtype=float) for t in time]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"drive: calling drive(t) failed ({exc})") from exc
        shapes = {s.shape for s in samples}
        if len(shapes) != 1 or next(iter(shapes)) not in ((), (1,), (n_pop,)):
            raise ValueError(
                f"drive(t) must return a number or an array of shape ({n_pop},), got shapes "
                f"{sorted(shapes)}"
            )
        array = np.array([np.broadcast_to(s, (n_pop,)) for s in samples])
        if not np.all(np.isfinite(array)):
            raise ValueError("drive(t) must return finite values, got NaN or inf")
        return array
    per_population = np.ndim(value) == 1 and np.size(value) == n_pop and n_pop != n_time
    if np.ndim(value) == 0 or per_population:
        constant = _per_population("drive", value, n_pop, nonnegative=False)
        return np.broadcast_to(constant, (n_time, n_pop)).copy()
    array = check_array("drive", value, ndim=(1, 2))
    if array.ndim == 1:
        array = array[:, None]
    if array.shape[0] != n_time or array.shape[1] not in (1, n_pop):
        raise ValueError(
            f"drive must be a number, an array of shape ({n_pop},) (constant per population), "
            f"an array of shape (n_steps + 1 = {n_time}, {n_pop}) over the time grid, or a "
            f"callable, got shape {np.shape(value)}"
        )
    return np.broadcast_to(array, (n_time, n_pop)).copy()


# --- solver -----------------------------------------------------------------------------------
def solve_two_time(
    g: float | np.ndarray,
    phi: str | Nonlinearity = "tanh",
    *,
    t_max: float,
    dt: float,
    fractions: np.ndarray | None = None,
    mean_coupling: float | np.ndarray | None = None,
    drive: float | np.ndarray | Callable[[float], Any] | None = None,
    noise_std: float | np.ndarray = 0.0,
    initial_mean: float | np.ndarray = 0.0,
    initial_variance: float | np.ndarray = 1.0,
    normalization: str = "total",
    damping: float = 0.0,
    tol: float = 1e-8,
    max_iter: int = 50,
) -> TwoTimeSolution:
    """Solve the two-time DMFT of a random rate network with P populations.

    Solves (see the module docstring for the derivation and the scheme)::

        (d/dt + 1) mu_P = sum_Q Jbar_PQ <phi>_Q(t) + I_P(t)
        (d/dt + 1)(d/ds + 1) Delta_P(t, s) = sum_Q G_PQ C_Q(t, s) + sigma_P^2 delta(t - s)

    from ``mu_P(0) = m0_P`` and ``Delta_P(0, 0) = v0_P``, on the grid ``t = 0, dt, ..., t_max``.

    Parameters
    ----------
    g : float or array of shape (P, P)
        Disorder gains ``g_PQ >= 0`` (``g[P, Q]``: from population Q to population P). A number
        is used for every block.
    phi : str or Nonlinearity, default "tanh"
        See `rnndyn.nonlinearities.get_nonlinearity`. Smooth nonlinearities (tanh, erf,
        identity) are fast; ones with kinks (relu) need nested quadrature near the diagonal
        and are much slower.
    t_max : float
        Last time; the grid has ``n_steps = round(t_max / dt)`` steps.
    dt : float
        Grid step, > 0. The scheme is second order in dt.
    fractions : array of shape (P,), optional
        ``alpha_P > 0`` summing to 1 (default equal). Sets P when given.
    mean_coupling : float or array of shape (P, P), optional
        ``J0_PQ`` (default 0): the mean coupling is ``J0_PQ / N`` (or ``/ N_Q``).
    drive : float, array or callable, optional
        External input ``I_P(t)``: a number; an array of shape (P,) (constant per population;
        a 1D array is read this way when its length is P and differs from n_steps + 1); an
        array of shape (n_steps + 1,) or (n_steps + 1, P) of values on the grid ``time``; or a
        callable ``drive(t)`` returning a number or an array of shape (P,), called once per
        grid point. Between grid points the drive is taken linear in time.
    noise_std : float or array of shape (P,), default 0
        ``sigma_P >= 0``, amplitude of the white noise.
    initial_mean, initial_variance : float or array of shape (P,)
        ``m0_P`` and ``v0_P >= 0`` (defaults 0 and 1, the ``x0 ~ N(0, 1)`` of
        `rnndyn.simulate.simulate`).
    normalization : {"total", "population"}
        Whether coupling mean and variance scale with the total size N (``Jbar = alpha J0``,
        ``G = alpha g^2``) or with the presynaptic population size N_Q (``Jbar = J0``,
        ``G = g^2``).
    damping : float in [0, 1), default 0
        Weight of the previous iterate in the fixed-point update. The per-step iteration
        contracts for moderate dt without damping; raise it if a coarse grid makes it
        oscillate.
    tol : float, default 1e-8
        Convergence threshold of every time step on ``max |x_new - x|`` relative to
        ``max(1, |mu|, Delta(t, t))``.
    max_iter : int, default 50
        Most fixed-point sweeps per time step.

    Returns
    -------
    TwoTimeSolution

    Raises
    ------
    ValueError
        A parameter that is not finite, out of range or of the wrong shape (the message names
        it).
    rnndyn.ConvergenceError
        A time step did not converge in ``max_iter`` sweeps (the message gives the time and
        the residual reached).

    Examples
    --------
    >>> from rnndyn.theory.two_time import solve_two_time
    >>> sol = solve_two_time(0.0, "tanh", t_max=1.0, dt=0.1, noise_std=1.0,
    ...                      initial_variance=0.0)
    >>> round(float(sol.variance[-1, 0]), 4)  # sigma^2 / 2 (1 - e^{-2 t})
    0.4323
    """
    nl = get_nonlinearity(phi)
    dt = check_number("dt", dt, low=0.0, low_inclusive=False)
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    if t_max < dt * (1 - 1e-9):
        raise ValueError(f"t_max must be >= dt={dt:g}, got {t_max:g}")
    normalization = check_choice("normalization", normalization, NORMALIZATIONS)
    damping = check_number("damping", damping, low=0.0)
    if damping >= 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping!r}")
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iter = check_int("max_iter", max_iter, low=1)

    n_pop = _population_count(g, fractions, mean_coupling)
    alpha = _fractions(fractions, n_pop)
    gains = _matrix("g", g, n_pop, nonnegative=True)
    j0 = _matrix("mean_coupling", 0.0 if mean_coupling is None else mean_coupling, n_pop,
                 nonnegative=False)
    sigma = _per_population("noise_std", noise_std, n_pop, nonnegative=True)
    m0 = _per_population("initial_mean", initial_mean, n_pop, nonnegative=False)
    v0 = _per_population("initial_variance", initial_variance, n_pop, nonnegative=True)

    n_steps = round(t_max / dt)
    n_time = n_steps + 1
    if 2 * n_pop * n_time**2 * 8 > _MAX_GRID_BYTES:
        raise ValueError(
            f"t_max / dt = {n_steps} steps needs {2 * n_pop * n_time**2 * 8 / 2**30:.1f} GiB "
            f"for the (t, s) grids; use a larger dt or a shorter t_max"
        )
    time = np.arange(n_time) * dt
    inputs = _drive(drive, time, n_pop)
    weight = alpha[None, :] if normalization == "total" else np.ones((1, n_pop))
    coupling_var = weight * gains**2  # G_PQ
    coupling_mean = weight * j0  # Jbar_PQ

    solver = _Solver(nl, dt, n_time, coupling_var, coupling_mean, inputs, sigma, m0, v0,
                     damping, tol, max_iter)
    solver.run()
    parameters = {
        "g": gains, "phi": nl.name, "t_max": n_steps * dt, "dt": dt, "fractions": alpha,
        "mean_coupling": j0, "noise_std": sigma, "initial_mean": m0, "initial_variance": v0,
        "normalization": normalization, "damping": damping, "tol": tol, "max_iter": max_iter,
        "G": coupling_var, "Jbar": coupling_mean,
    }
    return solver.solution(time, parameters)


def exponential_trapezoid_weights(dt: float, n_time: int
                                  ) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """Weights of the exponential trapezoid ``y_{n+1} = E y_n + a0 f_n + a1 f_{n+1}``.

    Returns ``(E, a0, a1, exp_t, lag_weight)``: ``E = e^{-dt}``, ``exp_t[j] = e^{-j dt}`` and
    ``lag_weight``, the rows of the lower-triangular matrix M of the rule
    (``M_{n,i} = lag_weight[n - i]`` for i >= 1).
    """
    decay = math.exp(-dt)
    one_minus = -math.expm1(-dt)
    a0 = (one_minus - dt * decay) / dt
    a1 = one_minus - a0
    exp_t = np.exp(-np.arange(n_time) * dt)  # e^{-t_j}, also e^{-lag}
    lag_weight = a1 * exp_t + a0 * np.exp(-(np.arange(n_time) - 1) * dt)
    lag_weight[0] = a1
    return decay, a0, a1, exp_t, lag_weight


class _Solver:
    """Row-by-row solution of the two-time DMFT (see the module docstring).

    Bookkeeping, with ``F_P(t, s) = sum_Q G_PQ C_Q(t, s)`` and ``E = e^{-dt}``::

        Y(t, s) = int_0^t e^{-(t - t')} F(t', s) dt'
        K(t, s) = int_0^s e^{-(s - s')} Y(t, s') ds'
        Y(i+1, j) = E Y(i, j) + a0 F(i, j) + a1 F(i+1, j)
        K(n, j+1) = E K(n, j) + a0 Y(n, j) + a1 Y(n, j+1),   K(n, 0) = 0

    Only the last row of Y is kept. Advancing to row n+1 needs ``Y(n, n+1)``, which by the
    symmetry of F is ``sum_i M_{n,i} F(n+1, i)`` with M the matrix of the rule
    (``M_{n,i} = lag_weight[n-i]`` for i >= 1, ``M_{n,0} = E^{n-1} a0``).
    """

    def __init__(
        self,
        phi: Nonlinearity,
        dt: float,
        n_time: int,
        coupling_var: np.ndarray,
        coupling_mean: np.ndarray,
        inputs: np.ndarray,
        sigma: np.ndarray,
        m0: np.ndarray,
        v0: np.ndarray,
        damping: float,
        tol: float,
        max_iter: int,
    ) -> None:
        self.dt = dt
        self.n_time = n_time
        self.n_pop = n_pop = coupling_var.shape[0]
        self.G, self.Jbar, self.inputs = coupling_var, coupling_mean, inputs
        self.sigma2, self.m0, self.v0 = sigma**2, m0, v0
        self.damping, self.tol, self.max_iter = damping, tol, max_iter

        (self.decay, self.a0, self.a1, self.exp_t,
         self.lag_weight) = exponential_trapezoid_weights(dt, n_time)

        self.averager = MehlerPairAverager(phi)
        order = self.averager.order
        self.delta = np.zeros((n_pop, n_time, n_time))  # lower triangles filled row by row
        self.rates = np.zeros((n_pop, n_time, n_time))
        self.mu = np.zeros((n_time, n_pop))
        self.rate_mean = np.zeros((n_time, n_pop))
        self.coefs = [
            Coefficients(np.zeros((order + 1, n_time)), np.zeros(n_time), np.zeros(n_time),
                         np.zeros(n_time))
            for _ in range(n_pop)
        ]
        self.residual = 0.0
        self.iterations = 0
        self.total_iterations = 0
        # State of the last accepted row n: F(n, 0..n), Y(n, 0..n), mean source at t_n.
        self.f_prev = np.zeros((n_pop, 1))
        self.y_prev = np.zeros((n_pop, 1))
        self.mean_source_prev = np.zeros(n_pop)
        self.history: list[np.ndarray] = []

    # --- pieces of one step ----------------------------------------------------------------
    def _coefficients(self, mu: np.ndarray, var: np.ndarray) -> list[Coefficients]:
        return [self.averager.coefficients(mu[p : p + 1], np.maximum(var[p : p + 1], 0.0))
                for p in range(self.n_pop)]

    def _rate_row(self, n1: int, mu: np.ndarray, row: np.ndarray,
                  coefs: list[Coefficients]) -> np.ndarray:
        """``C_P(t_{n1}, t_j)``, j = 0..n1, for the state (mu, Delta row) at the new time n1."""
        out = np.empty((self.n_pop, n1 + 1))
        for p in range(self.n_pop):
            past_var = np.diagonal(self.delta[p])[:n1]
            out[p, :n1] = self.averager.row(
                coefs[p], 0, float(mu[p]), float(row[p, n1]),
                self.coefs[p], n1, self.mu[:n1, p], past_var, row[p, :n1],
            )
            out[p, n1] = coefs[p].second_moment[0]
        return out

    def _base_row(self, n1: int) -> np.ndarray:
        """Initial-condition and noise parts of ``Delta(t_{n1}, t_j)``, j = 0..n1."""
        e_ts = self.exp_t[n1] * self.exp_t[: n1 + 1]  # e^{-t-s}
        e_lag = self.exp_t[n1::-1]  # e^{-(t-s)}
        return self.v0[:, None] * e_ts + 0.5 * self.sigma2[:, None] * (e_lag - e_ts)

    def _row(self, n1: int, f_new: np.ndarray, rate_mean: np.ndarray, base: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``mu(t_{n1})``, ``Delta(t_{n1}, .)`` and ``Y(n1, .)`` from the new row of F."""
        n = n1 - 1
        y_corner = f_new[:, :n1] @ self.lag_weight[n::-1] - self.exp_t[n] * self.a1 * f_new[:, 0]
        y_ext = np.concatenate([self.y_prev, y_corner[:, None]], axis=1)
        f_ext = np.concatenate([self.f_prev, f_new[:, n : n + 1]], axis=1)  # F(n, n+1)
        y_new = self.decay * y_ext + self.a0 * f_ext + self.a1 * f_new
        k_row = signal.lfilter([self.a1, self.a0], [1.0, -self.decay], y_new, axis=1)
        # lfilter weighs Y(n1, 0) by a1 E^j as well; the rule has K(t, 0) = 0, so remove it.
        k_row -= self.a1 * y_new[:, :1] * self.exp_t[: n1 + 1]
        mean_source = self.Jbar @ rate_mean + self.inputs[n1]
        mu_new = self.decay * self.mu[n] + self.a0 * self.mean_source_prev + self.a1 * mean_source
        return mu_new, base + k_row, y_new

    def _predict(self, n1: int) -> tuple[np.ndarray, np.ndarray]:
        """Extrapolated ``F(n1, .)`` and ``<phi>(t_{n1})`` from the last rows.

        F is extrapolated along the diagonals (fixed lag) where the history reaches and at fixed
        s for the first columns, with order 0, 1 or 2 depending on how many rows exist.
        """
        history = self.history
        last = history[-1]  # F(n1 - 1, 0..n1 - 1)
        guess = np.empty((self.n_pop, n1 + 1))
        guess[:, 1:] = last
        guess[:, 0] = last[:, 0]
        if len(history) >= 2:
            prev = history[-2]  # F(n1 - 2, 0..n1 - 2)
            guess[:, 2:] = 2.0 * last[:, 1:] - prev
            for j in range(min(2, prev.shape[1])):
                guess[:, j] = 2.0 * last[:, j] - prev[:, j]
        if len(history) >= 3:
            prev2 = history[-3]  # F(n1 - 3, 0..n1 - 3)
            guess[:, 3:] = 3.0 * last[:, 2:] - 3.0 * prev[:, 1:] + prev2
            for j in range(min(3, prev2.shape[1])):
                guess[:, j] = 3.0 * last[:, j] - 3.0 * prev[:, j] + prev2[:, j]
        r = self.rate_mean
        if n1 >= 3:
            rate_mean = 3.0 * r[n1 - 1] - 3.0 * r[n1 - 2] + r[n1 - 3]
        elif n1 == 2:
            rate_mean = 2.0 * r[1] - r[0]
        else:
            rate_mean = r[0].copy()
        return guess, rate_mean

    # --- main loop -------------------------------------------------------------------------
    def run(self) -> None:
        self.mu[0] = self.m0
        self.delta[:, 0, 0] = self.v0
        coefs = self._coefficients(self.m0, self.v0)
        self._accept(0, coefs, np.array([[c.second_moment[0]] for c in coefs]))
        for n1 in range(1, self.n_time):
            self._step(n1)

    def _accept(self, n1: int, coefs: list[Coefficients], rate_row: np.ndarray) -> None:
        for p, c in enumerate(coefs):
            store = self.coefs[p]
            store.c[:, n1] = c.c[:, 0]
            store.second_moment[n1] = c.second_moment[0]
            store.tail_low[n1] = c.tail_low[0]
            store.tail_high[n1] = c.tail_high[0]
        self.rate_mean[n1] = [c.c[0, 0] for c in coefs]
        self.rates[:, n1, : n1 + 1] = rate_row
        self.f_prev = self.G @ rate_row
        self.mean_source_prev = self.Jbar @ self.rate_mean[n1] + self.inputs[n1]
        self.history.append(self.f_prev)
        if len(self.history) > 3:
            self.history.pop(0)

    def _step(self, n1: int) -> None:
        base = self._base_row(n1)
        f_guess, rate_mean_guess = self._predict(n1)
        mu_x, row_x, _ = self._row(n1, f_guess, rate_mean_guess, base)
        residual = math.inf
        for iteration in range(1, self.max_iter + 1):
            coefs = self._coefficients(mu_x, row_x[:, n1])
            rate_row = self._rate_row(n1, mu_x, row_x, coefs)
            rate_mean = np.array([c.c[0, 0] for c in coefs])
            mu_new, row_new, y_new = self._row(n1, self.G @ rate_row, rate_mean, base)
            scale = max(1.0, float(np.max(np.abs(mu_new))), float(np.max(row_new[:, n1])))
            residual = max(float(np.max(np.abs(mu_new - mu_x))),
                           float(np.max(np.abs(row_new - row_x)))) / scale
            if not math.isfinite(residual):
                raise ConvergenceError(
                    f"two-time DMFT diverged at t={n1 * self.dt:g} (step {n1}): the residual "
                    f"became non-finite after {iteration} iterations; lower dt or raise damping")
            if residual <= self.tol:
                mu_x, row_x = mu_new, row_new
                break
            mu_x = (1.0 - self.damping) * mu_new + self.damping * mu_x
            row_x = (1.0 - self.damping) * row_new + self.damping * row_x
        else:
            raise ConvergenceError(
                f"two-time DMFT did not converge at t={n1 * self.dt:g} (step {n1}): residual "
                f"{residual:.3g} > tol {self.tol:g} after max_iter={self.max_iter} iterations; "
                f"raise max_iter or damping, or lower dt")
        self.iterations = max(self.iterations, iteration)
        self.total_iterations += iteration
        self.residual = max(self.residual, residual)
        # Accept x_new for mu and Delta. The coefficients, rates and F kept are those of the
        # last evaluated iterate: they differ from x_new's by at most the residual, and Y(n1, .)
        # was built from them.
        self.mu[n1] = mu_x
        self.delta[:, n1, : n1 + 1] = row_x
        self.y_prev = y_new
        self._accept(n1, coefs, rate_row)

    def solution(self, time: np.ndarray, parameters: dict[str, Any]) -> TwoTimeSolution:
        for grid in (self.delta, self.rates):
            for p in range(self.n_pop):
                grid[p] += np.triu(grid[p].T, k=1)  # mirror the lower triangle
        return TwoTimeSolution(
            time=time,
            mean=self.mu,
            correlation=self.delta,
            variance=np.diagonal(self.delta, axis1=1, axis2=2).T.copy(),
            rate_mean=self.rate_mean,
            rate_correlation=self.rates,
            residual=self.residual,
            iterations=self.iterations,
            total_iterations=self.total_iterations,
            fallback_points=self.averager.fallback_points,
            parameters=parameters,
        )
