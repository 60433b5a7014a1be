"""The DMFT autocovariance Delta(tau) and the Lyapunov exponent of a stationary state (private).

Given the converged ``mu, delta0, delta_inf`` of `rnndyn.theory.dmft`, the autocovariance is the
trajectory of a particle in the potential ``V`` (Sompolinsky, Crisanti & Sommers 1988)::

    Delta'' = G(Delta) = Delta - g^2 C(Delta) - input_variance,     C(c) = E[phi(a) phi(b)]

from ``Delta(0) = delta0`` with ``Delta'(0+) = -sigma^2 / 2`` to ``Delta(inf) = delta_inf``, which
it approaches as ``delta_inf + A exp(-k tau)`` with ``k^2 = G'(delta_inf) = 1 - g^2
E[phi' phi'](delta_inf)``. ``C`` is interpolated once, by a Chebyshev series in
``v = sqrt((delta0 - c) / (delta0 - delta_inf))`` on ``[0, 1]`` (smooth in ``v`` even for relu,
whose pair averages have ``(delta0 - c)^(1/2)`` singularities), with nodes computed by the
two-dimensional quadrature of `rnndyn.theory.gaussian`. The trajectory is integrated with DOP853
until ``Delta - delta_inf`` has fallen to 1e-5 of ``delta0 - delta_inf`` and continued by the
exponential tail. The model ``G`` is shifted by its (round-off level) value at ``delta_inf``,
so that ``delta_inf`` is exactly its root, and the initial speed is taken from the energy of
the interpolated potential, ``Delta'(0+) = -sqrt(2 int_{delta_inf}^{delta0} G)`` (which is
``-sigma^2/2`` to the interpolation error), so that the trajectory lies on the separatrix of
the interpolated dynamics.

The largest Lyapunov exponent is ``lambda = -1 + sqrt(1 - E0)`` with ``E0`` the ground-state
energy of ``H = -d^2/dtau^2 + 1 - g^2 E[phi'(a) phi'(b)](Delta(tau))``. The ground state is even;
it is computed on ``[0, tau_max]`` with second-order finite differences (steps h and 2h,
Richardson-extrapolated), a mirror condition at 0 and, at ``tau_max`` (where the potential has
reached its limit ``k^2`` to 1e-16), the exact decaying tail ``exp(-sqrt(k^2 - E0) tau)``, which
makes the eigenvalue problem nonlinear in ``E0`` and is solved by Brent's method. Weakly bound
states therefore need no large box. ``E0`` never exceeds the bottom of the continuum ``k^2``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as cheb
from scipy import integrate, linalg, optimize

from rnndyn._errors import ConvergenceError
from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory.gaussian import activity_correlation

__all__ = ["Curve", "ground_state_exponent"]

_NODES = (17, 33, 65)
_COEF_TOL = 1e-11
_TAIL_FRACTION = 1e-5
_STEP = 0.1  # grid step of the Schrodinger problem (second order, Richardson-extrapolated)


def _clenshaw(coefs: list[float], s: float) -> float:
    """Value of a Chebyshev series at a scalar ``s`` in [-1, 1] (pure Python, fast for scalars)."""
    b1 = b2 = 0.0
    two_s = 2.0 * s
    for c in coefs[:0:-1]:
        b1, b2 = c + two_s * b1 - b2, b1
    return coefs[0] + s * b1 - b2


class ChebInterp:
    """Chebyshev interpolant of ``c -> E[f(a) f(b)]`` on ``[lo, hi]`` (``f`` = phi or phi').

    The variable is ``v = sqrt((hi - c) / (hi - lo))`` in [0, 1]: at full correlation ``c = hi``
    the average has a ``(hi - c)^(1/2)`` or ``(hi - c)^(3/2)`` singularity for a phi with kinks
    (relu), which is smooth in ``v``, so the interpolant converges geometrically for every phi.
    """

    def __init__(self, nl: Nonlinearity, part: str, lo: float, hi: float, mean: float) -> None:
        self.lo, self.hi, self.span = lo, hi, hi - lo

        def average(s: np.ndarray) -> np.ndarray:
            v = (s + 1.0) / 2.0
            c = np.clip(hi - self.span * v * v, lo, hi)
            return activity_correlation(nl, c, hi, mean, part=part)

        # Nested Chebyshev points of the second kind (17, 33, 65): each refinement reuses the
        # previous values, until the last coefficients are at round-off level.
        vals = average(cheb.chebpts2(_NODES[0]))
        for m in _NODES:
            if vals.size < m:
                new = np.empty(m)
                new[::2] = vals
                new[1::2] = average(cheb.chebpts2(m)[1::2])
                vals = new
            self.coefs = cheb.chebfit(cheb.chebpts2(m), vals, m - 1)
            if np.abs(self.coefs[-4:]).max() <= _COEF_TOL * np.abs(self.coefs).max():
                break
        self._list = [float(x) for x in self.coefs]
        self._deriv = cheb.chebder(self.coefs) * 2.0  # d/dv

    def _s(self, c: np.ndarray | float) -> np.ndarray | float:
        return 2.0 * np.sqrt(np.maximum((self.hi - c) / self.span, 0.0)) - 1.0

    def __call__(self, c: np.ndarray) -> np.ndarray:
        return cheb.chebval(self._s(np.asarray(c, dtype=float)), self.coefs)

    def scalar(self, c: float) -> float:
        return _clenshaw(self._list, 2.0 * math.sqrt(max((self.hi - c) / self.span, 0.0)) - 1.0)

    def slope_at_lo(self) -> float:
        """``d/dc`` at ``c = lo`` (``v = 1``): ``dF/dv / (dc/dv)`` with ``dc/dv = -2 span``."""
        return float(cheb.chebval(1.0, self._deriv)) / (-2.0 * self.span)

    def energy(self, offset: float, gain: float) -> float:
        """``int_lo^hi (c + offset - gain * E[f f](c)) dc`` (exact for the interpolant)."""
        # dc = -2 span v dv: integrate (c(v) + offset - gain F(v)) 2 span v over v in [0, 1].
        f_coefs = self.coefs * (-gain)
        v_coefs = np.array([0.5, 0.5])  # v = (1 + s) / 2
        c_coefs = np.array([self.hi + offset]) - self.span * cheb.chebmul(v_coefs, v_coefs)
        integrand = cheb.chebmul(cheb.chebadd(f_coefs, c_coefs), v_coefs) * (2.0 * self.span)
        anti = cheb.chebint(integrand, lbnd=-1.0) / 2.0  # dv = ds / 2
        return float(cheb.chebval(1.0, anti))


class Curve:
    """``Delta(tau)``, the rate correlation and the correlation time of a fluctuating state."""

    def __init__(
        self,
        nl: Nonlinearity,
        g: float,
        input_variance: float,
        mean: float,
        delta0: float,
        delta_inf: float,
        noise_std: float,
    ) -> None:
        self.nl, self.g, self.iv, self.mean = nl, g, input_variance, mean
        self.noisy = noise_std > 0
        self.d0, self.di = delta0, delta_inf
        self.span = delta0 - delta_inf
        self.corr = ChebInterp(nl, "value", delta_inf, delta0, mean)
        g2 = g * g
        # Shift G so that delta_inf is exactly its root (the shift is at round-off level).
        self.shift = delta_inf - g2 * self.corr.scalar(delta_inf) - input_variance
        k2 = 1.0 - g2 * self.corr.slope_at_lo()
        if not k2 > 0:
            raise ConvergenceError(
                f"the autocovariance does not decay exponentially (1 - g^2 E[phi'phi'] = {k2:.3g} "
                "at delta_inf); residual and iterations are those of the stationary solve")
        self.k = math.sqrt(k2)
        # Energy of the interpolated potential: W(delta0) = int_{delta_inf}^{delta0} G.
        energy = self.corr.energy(-input_variance - self.shift, g2)
        self.speed0 = -math.sqrt(2.0 * max(energy, 0.0))
        self._integrate()

    def _integrate(self) -> None:
        g2, iv, shift, di = self.g * self.g, self.iv, self.shift, self.di
        corr = self.corr.scalar
        target = di + _TAIL_FRACTION * self.span

        def rhs(t: float, y: np.ndarray) -> list[float]:
            d = float(y[0])
            return [float(y[1]), d - g2 * corr(d) - iv - shift, d - di]

        def reach(t: float, y: np.ndarray) -> float:
            return float(y[0]) - target

        def turn(t: float, y: np.ndarray) -> float:
            return float(y[1])

        reach.terminal, reach.direction = True, -1  # type: ignore[attr-defined]
        turn.terminal, turn.direction = True, 1  # type: ignore[attr-defined]
        t_max = 100.0 + 60.0 / self.k
        res = integrate.solve_ivp(
            rhs, (0.0, t_max), [self.d0, self.speed0, 0.0], method="DOP853", rtol=1e-11,
            atol=1e-13 * max(self.span, 1e-300), dense_output=True, events=[reach, turn])
        if res.status != 1:
            raise ConvergenceError(
                f"the autocovariance did not relax to delta_inf within tau = {t_max:.3g} "
                f"(residual {abs(float(res.y[0, -1]) - target):.3g} after "
                f"{res.nfev} iterations of the integrator)")
        self.tau1 = float(res.t[-1])
        self.sol = res.sol
        self.amp = float(res.y[0, -1]) - di
        self.area = float(res.y[2, -1]) + self.amp / self.k  # int_0^inf (Delta - di) dtau

    def delta(self, tau: np.ndarray) -> np.ndarray:
        t = np.abs(np.asarray(tau, dtype=float))
        out = np.empty(t.shape)
        inner = t <= self.tau1
        if np.any(inner):
            out[inner] = self.sol(t[inner])[0]
        out[~inner] = self.di + self.amp * np.exp(-self.k * (t[~inner] - self.tau1))
        return out

    def rate(self, tau: np.ndarray) -> np.ndarray:
        return self.corr(np.clip(self.delta(tau), self.di, self.d0))

    @property
    def correlation_time(self) -> float:
        return self.area / self.span


def _lowest_eigenvalue(potential: np.ndarray, h: float, decay: float) -> float:
    """Lowest eigenvalue of ``-f'' + U f`` on ``tau_j = j h``, ``j = 0..M``, for even ``f``.

    Second-order differences; ``f_{-1} = f_1`` (even) and ``f_{M+1} = exp(-decay h) f_M`` (the
    exact tail where ``U`` is constant). The first row is symmetrised by scaling ``f_0``.
    """
    inv = 1.0 / (h * h)
    diag = potential + 2.0 * inv
    diag[-1] -= math.exp(-decay * h) * inv
    off = np.full(potential.size - 1, -inv)
    off[0] *= math.sqrt(2.0)
    return float(linalg.eigh_tridiagonal(diag, off, eigvals_only=True, select="i",
                                         select_range=(0, 0))[0])


def _ground_state(potential: np.ndarray, h: float, threshold: float) -> float:
    """Ground state below the continuum ``threshold`` (or the threshold if none is bound).

    The decay rate of the tail depends on the energy, ``kappa = sqrt(threshold - E)``, so ``E``
    solves ``E = lowest eigenvalue(kappa(E))``; the difference decreases in ``E`` (Brent).
    """
    def mismatch(e: float) -> float:
        return _lowest_eigenvalue(potential, h, math.sqrt(max(threshold - e, 0.0))) - e

    top = threshold
    if mismatch(top) >= 0.0:
        return threshold
    bottom = float(potential.min())
    while mismatch(bottom) < 0.0:
        bottom -= max(1.0, abs(bottom))
    return float(optimize.brentq(mismatch, bottom, top, xtol=1e-14, rtol=1e-13, maxiter=200))


def ground_state_exponent(curve: Curve, g: float) -> float:
    """Largest Lyapunov exponent ``-1 + sqrt(1 - E0)`` of a fluctuating DMFT state."""
    dcorr = ChebInterp(curve.nl, "derivative", curve.di, curve.d0, curve.mean)
    g2 = g * g
    threshold = 1.0 - g2 * dcorr.scalar(curve.di)  # bottom of the continuum, k^2
    # Beyond tau_max the potential differs from the threshold by < 1e-5 exp(-25) of its depth.
    tau_max = curve.tau1 + 25.0 / curve.k
    # The potential varies on the correlation time, except at the cusp that noise puts at 0.
    h = _STEP * (1.0 if curve.noisy else max(1.0, curve.correlation_time / 20.0))
    h = min(h, max(curve.correlation_time, 0.2) / 20.0, tau_max / 2000.0)
    n = 2 * math.ceil(tau_max / (2.0 * h))
    tau = np.arange(n + 1) * h
    potential = 1.0 - g2 * dcorr(np.clip(curve.delta(tau), curve.di, curve.d0))
    # Richardson extrapolation of the O(h^2) discretisation error from steps 2h and h.
    fine = _ground_state(potential, h, threshold)
    coarse = _ground_state(potential[::2], 2.0 * h, threshold)
    e0 = min((4.0 * fine - coarse) / 3.0, threshold)
    return -1.0 + math.sqrt(max(1.0 - e0, 0.0))
