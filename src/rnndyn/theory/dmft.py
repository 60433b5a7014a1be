"""Stationary dynamic mean-field theory (DMFT) of a random rate network.

Model (time in units of the membrane time constant)::

    dx_i/dt = -x_i + sum_j J_ij phi(x_j) + b + h_i + sigma xi_i(t)

with ``J_ij ~ N(J0 / N, g^2 / N)`` (`rnndyn.connectivity.gaussian(n, g, mean=J0)`), a bias ``b``,
a quenched (static) input ``h_i`` of variance ``input_variance`` across neurons and white noise
``xi`` of unit intensity (``dx = drift dt + sigma dW``, the convention of `rnndyn.simulate`).

Mean-field equations
--------------------
For ``N -> inf`` each ``x_i(t) = mu + eta_i(t)`` with ``eta`` a Gaussian process of
autocovariance ``Delta(tau) = <eta_i(t) eta_i(t + tau)>`` (Sompolinsky, Crisanti & Sommers 1988,
PRL 61, 259; mean coupling and bias as in Kadmon & Sompolinsky 2015, PRX 5, 041030; white noise
as in Schuecker, Goedeke & Helias 2018, PRX 8, 041029)::

    mu = J0 <phi>(mu, delta0) + b
    (1 - d^2/dtau^2) Delta(tau) = g^2 C(Delta(tau)) + input_variance + sigma^2 delta(tau)

where ``delta0 = Delta(0)`` and ``C(c) = E[phi(a) phi(b)]`` for ``a, b`` Gaussian with mean ``mu``,
variances ``delta0`` and covariance ``c`` (`rnndyn.theory.gaussian.activity_correlation`). The
delta function makes ``Delta'(0+) = -sigma^2 / 2``. ``Delta`` includes the static part of the
fluctuations, ``Delta(inf) = delta_inf >= 0`` (the variance across neurons of their time means).

For ``tau > 0`` the equation is Newton's law of a particle, ``Delta'' = -dV/dDelta`` with::

    V(Delta) = -Delta^2 / 2 + input_variance Delta + g^2 E[Phi(a) Phi(b)](Delta)

(``Phi`` the antiderivative of phi; Price's theorem ``d/dc E[Phi Phi] = E[phi phi]``). The energy
``Delta'^2 / 2 + V`` is conserved, so a stationary state satisfies::

    delta_inf = g^2 C(delta_inf) + input_variance       (delta_inf is a maximum of V)
    V(delta_inf) - V(delta0) = sigma^4 / 8              (energy at tau = 0+ equals that at inf)

together with the mean equation: three equations for ``mu, delta0, delta_inf``.

Regimes
-------
- ``"fixed_point"`` (``sigma = 0``): the static solution ``Delta(tau) = delta0 = delta_inf =
  g^2 <phi^2> + input_variance`` is linearly stable, ``g^2 <phi'^2> < 1`` (the edge of the
  circular eigenvalue bulk of the Jacobian, radius ``g sqrt(<phi'^2>)``, is left of 1).
- ``"chaotic"``: the static solution is unstable (``sigma = 0``) and ``delta0 > delta_inf`` solves
  the energy condition with zero energy; or ``sigma > 0`` and the largest Lyapunov exponent is
  positive.
- ``"noise_driven"``: ``sigma > 0`` and the largest Lyapunov exponent is ``<= 0``: the
  fluctuations are the network's filtered response to the noise, and two copies driven by the same
  noise converge (Schuecker et al. 2018).

Numerics
--------
The mean equation is solved by bracketed root finding (Brent), the static variance and the energy
condition likewise, in ``delta0`` (`rnndyn.theory._dmft_solve`); for each trial ``delta0`` the
pair averages are evaluated from a Mehler (Hermite) expansion (`rnndyn.theory._dmft_series`) and
``delta_inf`` is the smallest root of the concave function ``G(c) = c - g^2 C(c) -
input_variance`` on ``[0, delta0]``. The converged solution is checked with the quadratures of
`rnndyn.theory.gaussian` and, if its residual exceeds ``tol``, re-solved with the measured
discrepancy as a correction (defect correction). ``Delta(tau)`` and the Lyapunov exponent are
computed on first use (`rnndyn.theory._dmft_curve`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy import optimize

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_int, check_number
from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory._dmft_curve import Curve, ground_state_exponent
from rnndyn.theory._dmft_series import Gauss1D
from rnndyn.theory._dmft_solve import (
    Params,
    dynamic_solution,
    make_params,
    scale_of,
    static_solution,
)
from rnndyn.theory.gaussian import activity_correlation

__all__ = ["REGIMES", "RandomNetworkSolution", "critical_gain", "solve_random_network"]

REGIMES: tuple[str, ...] = ("fixed_point", "chaotic", "noise_driven")

_G_MAX = 1e3


# --- result ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RandomNetworkSolution:
    """Stationary DMFT state of a random rate network (returned by `solve_random_network`).

    Attributes
    ----------
    g, phi, mean_coupling, bias, noise_std, input_variance
        The parameters (``phi`` as a `Nonlinearity`).
    mean : float
        ``mu``, the population mean of ``x``.
    delta0 : float
        ``Delta(0)``, the variance of ``x_i(t)`` over neurons and time (also `variance`).
    delta_inf : float
        ``Delta(inf)``, the variance over neurons of the time-averaged ``x_i`` (static part);
        equal to ``delta0`` at a fixed point.
    residual : float
        Largest self-consistency residual reached, each equation's in units of
        ``S = max(1, delta0)``: ``|mu - J0 <phi> - b| / sqrt(S)``, ``|delta_inf - g^2
        C(delta_inf) - input_variance| / S`` (``|delta0 - g^2 <phi^2> - input_variance| / S``
        at a fixed point) and ``|V(delta_inf) - V(delta0) - sigma^4/8| / S^2``.
    iterations : int
        Root-finder iterations of the static solve plus those of the energy condition.
    """

    g: float
    phi: Nonlinearity
    mean_coupling: float
    bias: float
    noise_std: float
    input_variance: float
    mean: float
    delta0: float
    delta_inf: float
    residual: float
    iterations: int
    _static: bool = field(default=False, repr=False)

    @property
    def variance(self) -> float:
        """``Delta(0) = delta0``, the total variance of ``x``."""
        return self.delta0

    @cached_property
    def regime(self) -> str:
        """``"fixed_point"``, ``"chaotic"`` or ``"noise_driven"`` (see the module doc).

        Without noise the solver decides it (static solution stable or not). With noise it is
        ``"chaotic"`` if `lyapunov_exponent` is positive, else ``"noise_driven"``; the first access
        then computes the exponent (tens of milliseconds).
        """
        if self._static:
            return "fixed_point"
        if self.noise_std == 0.0:
            return "chaotic"
        return "chaotic" if self.lyapunov_exponent() > 0 else "noise_driven"

    @cached_property
    def _curve(self) -> Curve:
        return Curve(self.phi, self.g, self.input_variance, self.mean, self.delta0,
                     self.delta_inf, self.noise_std)

    def autocorrelation(self, tau: Any) -> np.ndarray:
        """The autocovariance ``Delta(tau)`` of ``x`` (static part included), any ``tau`` array.

        Even in ``tau``; ``Delta(0) = delta0`` and ``Delta(tau) -> delta_inf``. Constant at a fixed
        point. For a simulation, ``Delta(tau) - delta_inf`` is what the ``x_autocovariance`` of
        `rnndyn.simulate.Autocorrelation` estimates (it subtracts each neuron's time mean), and
        ``mean^2 + Delta(tau)`` its ``x_autocorrelation``.

        Returns
        -------
        ndarray
            Same shape as ``tau``.
        """
        t = _check_tau(tau)
        if self._static:
            return np.full(t.shape, self.delta0)
        return self._curve.delta(t)

    def rate_autocorrelation(self, tau: Any) -> np.ndarray:
        """``E[phi(x_i(t)) phi(x_i(t + tau))]``: the raw second moment of the rates.

        The population average of ``<r_i(t) r_i(t + tau)>`` (the ``rates_autocorrelation`` of
        `rnndyn.simulate.Autocorrelation`); it tends to ``C(delta_inf)``, which includes the squared
        mean rate.
        """
        t = _check_tau(tau)
        if self._static:
            value = activity_correlation(self.phi, self.delta0, self.delta0, self.mean)
            return np.full(t.shape, float(value))
        return self._curve.rate(t)

    @cached_property
    def correlation_time(self) -> float:
        """``int_0^inf (Delta(tau) - delta_inf) / (delta0 - delta_inf) dtau``.

        The area under the normalised autocovariance of the temporal fluctuations (``1/k`` for an
        exponential ``exp(-k |tau|)``). ``inf`` at a fixed point, where nothing decorrelates.
        """
        if self._static:
            return math.inf
        return self._curve.correlation_time

    @property
    def decay_rate(self) -> float:
        """Rate ``k`` of the tail ``Delta - delta_inf ~ exp(-k tau)`` (0 at a fixed point).

        ``k^2 = 1 - g^2 E[phi'(a) phi'(b)]`` at covariance ``delta_inf``.
        """
        if self._static:
            return 0.0
        return self._curve.k

    @cached_property
    def _lyapunov(self) -> float:
        if self._static:
            quad = Gauss1D(self.phi, self.delta0)
            dphi2, dphi = quad.average(self.mean, lambda x: self.phi.derivative(x) ** 2,
                                       self.phi.derivative)
            return max(-1.0 + self.g * math.sqrt(dphi2), -1.0 + self.mean_coupling * dphi)
        return ground_state_exponent(self._curve, self.g)

    def lyapunov_exponent(self) -> float:
        """Largest Lyapunov exponent ``lambda`` of the stationary state.

        Fixed point: the real part of the rightmost eigenvalue of the Jacobian ``-1 + J
        diag(phi'(x))``, ``max(-1 + g sqrt(<phi'^2>), -1 + J0 <phi'>)``: the edge of its circular
        bulk (radius ``g sqrt(<phi'^2>)``) or the outlier of the mean coupling.

        Fluctuating states (Sompolinsky et al. 1988; Schuecker et al. 2018): a tangent vector
        ``v`` obeys ``(d/dt + 1) v = J diag(phi'(x)) v``; its two-time correlation
        ``e^{lambda (t + s)} f(t - s)`` is stationary when ``f`` is an eigenfunction of
        ``H = -d^2/dtau^2 + 1 - g^2 E[phi'(a) phi'(b)](Delta(tau))`` with eigenvalue
        ``1 - (1 + lambda)^2``; the ground state ``E0`` gives ``lambda = -1 + sqrt(1 - E0)``.
        The mean-coupling mode of the tangent dynamics is not included here (exact for J0 = 0).
        Computed on first call (tens to hundreds of milliseconds), then cached.
        """
        return self._lyapunov


def _check_tau(tau: Any) -> np.ndarray:
    try:
        t = np.asarray(tau, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"tau must be a number or an array of numbers, got {tau!r}") from None
    if not np.all(np.isfinite(t)):
        raise ValueError("tau must be finite")
    return t


# --- public solvers -------------------------------------------------------------------------
def solve_random_network(
    g: float,
    phi: str | Nonlinearity = "tanh",
    mean_coupling: float = 0.0,
    bias: float = 0.0,
    noise_std: float = 0.0,
    input_variance: float = 0.0,
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> RandomNetworkSolution:
    """Solve the stationary DMFT of ``dx/dt = -x + J phi(x) + b + h + sigma xi``.

    See the module docstring for the equations. Without noise the static solution
    ``delta0 = g^2 <phi^2>(mu, delta0) + input_variance`` is returned if it is stable
    (``g^2 <phi'^2> < 1``), otherwise the chaotic solution of the energy condition
    ``V(delta_inf) = V(delta0)``; with noise, the solution of ``V(delta_inf) - V(delta0) =
    sigma^4 / 8``.

    Parameters
    ----------
    g : float
        Gain (standard deviation of ``J_ij`` times ``sqrt(N)``), ``>= 0``.
    phi : str or Nonlinearity, default "tanh"
        Time-dependent states need its antiderivative (energy method).
    mean_coupling : float, default 0
        ``J0``: the mean of ``J_ij`` times ``N``.
    bias : float, default 0
        ``b``, a constant input common to all neurons.
    noise_std : float, default 0
        ``sigma``, the amplitude of the white noise (``noise_std`` of `rnndyn.simulate.simulate`).
    input_variance : float, default 0
        Variance across neurons of a static input ``h_i`` (e.g. ``sigma_m^2 kappa^2`` of a
        low-rank network's structured input).
    tol : float, keyword-only, default 1e-10
        Largest accepted self-consistency residual (see `RandomNetworkSolution.residual`).
    max_iter : int, keyword-only, default 200
        Iterations allowed to each root finder.

    Returns
    -------
    RandomNetworkSolution

    Raises
    ------
    ValueError
        A parameter out of range or not finite (the message names it); a nonlinearity without an
        antiderivative when the state is time-dependent (``phi``).
    rnndyn.ConvergenceError
        No solution within ``max_iter`` iterations or to ``tol``, or no bounded solution (the
        message gives the residual reached and the iterations).

    Examples
    --------
    >>> from rnndyn.theory.dmft import solve_random_network
    >>> sol = solve_random_network(2.0)
    >>> sol.regime, round(sol.delta0, 4), sol.delta_inf
    ('chaotic', 1.9248, 0.0)
    """
    p = make_params(g, phi, mean_coupling, bias, noise_std, input_variance)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iter = check_int("max_iter", max_iter)
    mu, d_static, n_static = static_solution(p, max_iter, trivial=False)
    quad = Gauss1D(p.nl, d_static)
    phi2, dphi2 = quad.average(mu, lambda x: p.nl.value(x) ** 2,
                               lambda x: p.nl.derivative(x) ** 2)
    stable = p.g2 * dphi2 <= 1.0
    common = dict(g=p.g, phi=p.nl, mean_coupling=p.j0, bias=p.bias, noise_std=p.sigma,
                  input_variance=p.iv)
    if p.sigma == 0.0 and stable:
        mean_phi = quad.average(mu, p.nl.value)[0]
        scale = scale_of(d_static)
        residual = max(abs(mu - p.j0 * mean_phi - p.bias) / math.sqrt(scale),
                       abs(d_static - p.g2 * phi2 - p.iv) / scale)
        if residual > tol:
            raise ConvergenceError(
                f"static solution did not reach tol={tol:g}: residual {residual:.3g} after "
                f"{n_static} iterations")
        return RandomNetworkSolution(**common, mean=mu, delta0=d_static, delta_inf=d_static,
                                     residual=residual, iterations=n_static, _static=True)
    trial, residual, n_dyn = dynamic_solution(p, d_static, tol, max_iter)
    return RandomNetworkSolution(**common, mean=trial.mean, delta0=trial.delta0,
                                 delta_inf=trial.delta_inf, residual=residual,
                                 iterations=n_static + n_dyn)


def critical_gain(
    phi: str | Nonlinearity = "tanh",
    mean_coupling: float = 0.0,
    bias: float = 0.0,
    noise_std: float = 0.0,
    input_variance: float = 0.0,
    *,
    xtol: float = 1e-9,
) -> float:
    """Gain ``g_c`` at the transition to chaos.

    Without noise: where the static solution (continued from ``g = 0``) loses stability,
    ``g^2 <phi'^2>(mu, delta0) = 1`` with ``mu, delta0`` self-consistent (1 for tanh without bias
    or input; ``1 / phi'(0)`` for odd phi in general). With noise (``noise_std > 0``): where the
    largest Lyapunov exponent of the noise-driven state crosses 0, which noise pushes to ``g > 1``
    (Schuecker, Goedeke & Helias 2018); each step solves the DMFT and its Schrodinger problem, so
    this takes about a second.

    Parameters
    ----------
    phi, mean_coupling, bias, noise_std, input_variance
        As in `solve_random_network`.
    xtol : float, keyword-only
        Absolute tolerance on ``g_c`` (Brent's method).

    Raises
    ------
    ValueError
        A parameter out of range.
    rnndyn.ConvergenceError
        No transition for ``g`` up to 1000.
    """
    p = make_params(0.0, phi, mean_coupling, bias, noise_std, input_variance)
    xtol = check_number("xtol", xtol, low=0.0, low_inclusive=False)

    def static_margin(g: float) -> float:
        q = Params(p.nl, g, p.j0, p.bias, 0.0, p.iv)
        try:
            mu, d, _ = static_solution(q, 500, trivial=True)
        except ConvergenceError:
            return 1.0  # no bounded static state: beyond the transition
        quad = Gauss1D(p.nl, d)
        return g * g * quad.average(mu, lambda x: p.nl.derivative(x) ** 2)[0] - 1.0

    g_static = _find_crossing(static_margin, 0.0, 1.0, xtol)
    if p.sigma == 0.0:
        return g_static

    def exponent(g: float) -> float:
        sol = solve_random_network(g, p.nl, p.j0, p.bias, p.sigma, p.iv)
        return sol.lyapunov_exponent()

    lo = g_static
    for _ in range(60):
        if exponent(lo) < 0:
            break
        lo *= 0.8
    else:
        raise ConvergenceError("critical_gain: no noise-driven state found below the transition")
    return _find_crossing(exponent, lo, max(lo * 1.25, lo + 0.1), xtol)


def _find_crossing(f: Callable[[float], float], lo: float, hi: float, xtol: float) -> float:
    """Root of ``f`` with ``f(lo) < 0``, expanding ``hi`` geometrically until ``f(hi) > 0``."""
    value = f(hi)
    while value <= 0:
        if hi > _G_MAX:
            raise ConvergenceError(
                f"critical_gain: no transition for g up to {_G_MAX:g} (residual {abs(value):.3g} "
                "after the bracket search)")
        lo, hi = hi, 2.0 * hi
        value = f(hi)
    root, info = optimize.brentq(f, lo, hi, xtol=xtol, maxiter=200, full_output=True, disp=False)
    if not info.converged:
        raise ConvergenceError(f"critical_gain did not converge: bracket width {hi - lo:.3g} "
                               f"after {info.iterations} iterations")
    return float(root)
