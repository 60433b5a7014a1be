"""Self-consistency solvers of the stationary DMFT (private; see `rnndyn.theory.dmft`).

The mean equation, the static variance and the energy condition of the time-dependent states,
each by bracketed root finding (Brent), with pair averages from the Mehler expansion of
`rnndyn.theory._dmft_series` checked against the quadratures of `rnndyn.theory.gaussian` and
corrected (defect correction) until the residual is below the tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_number
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory._dmft_series import Gauss1D, MehlerSeries
from rnndyn.theory.gaussian import activity_correlation, resolve_part

__all__ = [
    "Params",
    "dynamic_solution",
    "make_params",
    "scale_of",
    "static_solution",
]

_MAX_EXPANSIONS = 200
_VARIANCE_MAX = 1e10  # in units of length_scale^2: beyond it the activity is taken to diverge
_MAX_CORRECTIONS = 8


# --- parameters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Params:
    nl: Nonlinearity
    g: float
    j0: float
    bias: float
    sigma: float
    iv: float

    @property
    def g2(self) -> float:
        return self.g * self.g


def make_params(
    g: Any, phi: Any, mean_coupling: Any, bias: Any, noise_std: Any, input_variance: Any
) -> Params:
    return Params(
        nl=get_nonlinearity(phi),
        g=check_number("g", g, low=0.0),
        j0=check_number("mean_coupling", mean_coupling),
        bias=check_number("bias", bias),
        sigma=check_number("noise_std", noise_std, low=0.0),
        iv=check_number("input_variance", input_variance, low=0.0),
    )


def scale_of(delta0: float) -> float:
    return max(1.0, delta0)


# --- the mean -------------------------------------------------------------------------------
def _solve_mean(p: Params, variance: float) -> float:
    """The stable root of ``mu = J0 <phi>(mu, D) + b`` reached by ``dmu/dt = -F(mu)`` from ``b``.

    ``F(mu) = mu - J0 <phi>(mu, D) - b``. Starting at ``mu = b`` (the mean without recurrent mean
    input) the mean relaxes downhill to the nearest root with ``F' = 1 - J0 <phi'> > 0``; when
    ``b`` is itself an unstable root (odd phi, ``b = 0``, ``J0 <phi'> > 1``) the positive branch is
    taken.
    """
    if p.j0 == 0.0:
        return p.bias
    quad = Gauss1D(p.nl, variance)
    value = p.nl.value

    def f(mu: float) -> float:
        return mu - p.j0 * quad.average(mu, value)[0] - p.bias

    start = p.bias
    f0 = f(start)
    scale = max(1.0, abs(p.bias), math.sqrt(variance), abs(p.j0))
    if f0 == 0.0:
        slope = 1.0 - p.j0 * quad.average(start, p.nl.derivative)[0]
        if slope > 0:
            return start
        direction = 1.0 if p.bias >= 0 else -1.0
        prev = start + direction * 1e-9 * scale
        if direction * f(prev) >= 0:
            return start
    else:
        direction = -math.copysign(1.0, f0)
        prev = start
    step = 1e-3 * scale
    fc, count = f0, 0
    for _ in range(_MAX_EXPANSIONS):
        count += 1
        if step > _VARIANCE_MAX * scale:
            break
        cur = prev + direction * step
        fc = f(cur)
        if direction * fc >= 0:
            lo, hi = sorted((prev, cur))
            return float(optimize.brentq(f, lo, hi, xtol=1e-15 * scale, rtol=1e-15,
                                         maxiter=500))
        prev, step = cur, 2.0 * step
    raise ConvergenceError(
        f"the mean equation mu = J0 <phi> + b has no bounded solution (mean_coupling={p.j0:g}); "
        f"residual {abs(fc):.3g} after {count} iterations")


# --- static solution ------------------------------------------------------------------------
def _static_residual(p: Params, variance: float) -> tuple[float, float]:
    """``(mu, h)`` with ``h(D) = D - g^2 <phi^2>(mu, D) - input_variance``."""
    mu = _solve_mean(p, variance)
    quad = Gauss1D(p.nl, variance)
    phi2 = quad.average(mu, lambda x: p.nl.value(x) ** 2)[0]
    return mu, variance - p.g2 * phi2 - p.iv


def static_solution(
    p: Params, max_iter: int, *, trivial: bool
) -> tuple[float, float, int]:
    """``(mu, D, iterations)``: the static variance, the first root of ``h`` from ``D = 0``.

    ``h(0) <= 0``. If ``h(0) = 0`` the root ``D = 0`` is taken when ``trivial`` is set or when it
    is the root ``h`` rises through; otherwise the first upward crossing of ``h`` above it.
    """
    mu0, h0 = _static_residual(p, 0.0)
    lo = 0.0
    if h0 >= 0.0:
        eps = 1e-9 * max(1.0, p.iv)
        if trivial or _static_residual(p, eps)[1] >= 0.0:
            return mu0, 0.0, 0
        lo = eps
    # A first guess: one step of D <- g^2 <phi^2> + input_variance, then doubling.
    hi = max(p.iv + p.g2 * Gauss1D(p.nl, 0.0).average(mu0, lambda x: p.nl.value(x) ** 2)[0],
             2.0 * lo, 1e-3)
    limit = _VARIANCE_MAX * p.nl.length_scale**2
    count = 0
    while True:
        count += 1
        mu, h = _static_residual(p, hi)
        if h > 0.0:
            break
        if h == 0.0:
            return mu, hi, 0
        if hi > limit:
            raise ConvergenceError(
                f"no bounded static solution: D - g^2 <phi^2> - input_variance stays negative up "
                f"to D = {hi:.3g} (the activity diverges; residual {abs(h):.3g} after "
                f"{count} iterations)")
        lo, hi = hi, 2.0 * hi
    root, info = optimize.brentq(lambda d: _static_residual(p, d)[1], lo, hi,
                                 xtol=1e-15 * hi, rtol=1e-15, maxiter=max_iter,
                                 full_output=True, disp=False)
    mu, h = _static_residual(p, root)
    if not info.converged:
        raise ConvergenceError(
            f"static solution did not converge: residual {abs(h) / scale_of(root):.3g} after "
            f"{info.iterations} iterations (max_iter={max_iter})")
    return mu, float(root), int(info.iterations)


# --- time-dependent solution ----------------------------------------------------------------
@dataclass
class _Trial:
    """State of the energy condition at one trial ``delta0``."""

    delta0: float
    mean: float
    delta_inf: float
    series: MehlerSeries
    value: float  # F(delta0): W - sigma^4/8 (made negative where no delta_inf exists)


class _Dynamic:
    """``F(delta0) = int_{delta_inf}^{delta0} G(c) dc - sigma^4 / 8`` with model pair averages.

    ``G(c) = c - g^2 (C(c) + dC) - input_variance`` is concave on ``[0, delta0]`` (Mehler), so its
    smallest root ``delta_inf`` is found by locating its maximum. Where ``G < 0`` everywhere there
    is no stationary state with that ``delta0``: ``F`` is then ``int_{c_max}^{delta0} G +
    G(c_max) delta0 - sigma^4/8 < 0``, continuous with the solvable side. ``int G`` is written
    with Price's theorem as ``[c^2/2 - input_variance c] - g^2 (E[Phi Phi](delta0) -
    E[Phi Phi](delta_inf) + dQ)``; ``dC``, ``dQ`` are the defect corrections.
    """

    def __init__(self, p: Params, antiderivative: Callable[[np.ndarray], np.ndarray]) -> None:
        self.p = p
        self.big = antiderivative
        self.d_corr = 0.0
        self.d_drop = 0.0
        self.count = 0
        self.cache: dict[float, _Trial] = {}

    def trial(self, delta0: float) -> _Trial:
        if delta0 in self.cache:
            return self.cache[delta0]
        self.count += 1
        p = self.p
        mu = _solve_mean(p, delta0)
        series = MehlerSeries(p.nl, mu, delta0, self.big)
        g2, iv, dc = p.g2, p.iv, self.d_corr

        def gfun(c: float) -> float:
            return c - g2 * (float(series.corr(c)) + dc) - iv

        def slope(c: float) -> float:
            return 1.0 - g2 * float(series.dcorr(c))

        if slope(0.0) <= 0.0:
            c_max = 0.0
        elif slope(delta0) >= 0.0:
            c_max = delta0
        else:
            c_max = optimize.brentq(slope, 0.0, delta0, xtol=1e-14 * delta0, rtol=1e-13)
        g_max = gfun(c_max)
        if g_max < 0.0:
            delta_inf, penalty = c_max, g_max * delta0
        else:
            penalty = 0.0
            g_zero = gfun(0.0)
            if g_zero >= 0.0 or c_max == 0.0:
                delta_inf = 0.0
            else:
                delta_inf = optimize.brentq(gfun, 0.0, c_max, xtol=1e-15 * delta0, rtol=1e-15,
                                            maxiter=500)
        energy = ((delta0 * delta0 - delta_inf * delta_inf) / 2.0 - iv * (delta0 - delta_inf)
                  - g2 * (float(series.potential_drop(delta_inf)) + self.d_drop))
        value = energy + penalty - p.sigma**4 / 8.0
        trial = _Trial(delta0, mu, float(delta_inf), series, value)
        self.cache[delta0] = trial
        return trial

    def reset(self) -> None:
        self.cache.clear()


def _exact_check(p: Params, dyn: _Dynamic, t: _Trial) -> tuple[float, float, float]:
    """Residual with the quadratures of `rnndyn.theory.gaussian`; also the defects (dC, dQ)."""
    d0, di, mu = t.delta0, t.delta_inf, t.mean
    quad = Gauss1D(p.nl, d0)
    (mean_phi,) = quad.average(mu, p.nl.value)
    mean_big, big2 = quad.average(mu, dyn.big, lambda x: dyn.big(x) ** 2)
    if di == 0.0:
        corr, pair_big = mean_phi**2, mean_big**2
    else:
        corr = float(activity_correlation(p.nl, di, d0, mu))
        pair_big = float(activity_correlation(p.nl, di, d0, mu, part="antiderivative"))
    drop = big2 - pair_big
    scale = scale_of(d0)
    r_mean = abs(mu - p.j0 * mean_phi - p.bias) / math.sqrt(scale)
    r_inf = abs(di - p.g2 * corr - p.iv) / scale
    energy = (d0 * d0 - di * di) / 2.0 - p.iv * (d0 - di) - p.g2 * drop
    r_energy = abs(energy - p.sigma**4 / 8.0) / scale**2
    residual = max(r_mean, r_inf, r_energy)
    d_corr = corr - float(t.series.corr(di))
    d_drop = drop - float(t.series.potential_drop(di))
    return residual, d_corr, d_drop


def _bracket(dyn: _Dynamic, p: Params, d_static: float) -> tuple[float, float]:
    """``lo < hi`` with ``F(lo) < 0 < F(hi)``."""
    if p.sigma == 0.0:
        hi = d_static
        if not dyn.trial(hi).value > 0:
            raise ConvergenceError(
                "no chaotic solution found below the static variance "
                f"(energy residual {abs(dyn.trial(hi).value):.3g} after {dyn.count} iterations)")
        lo = hi / 2.0
        for _ in range(_MAX_EXPANSIONS):
            if dyn.trial(lo).value < 0:
                return lo, hi
            hi, lo = lo, lo / 2.0
        raise ConvergenceError(
            f"no chaotic solution: the energy condition stays positive down to delta0={lo:.3g} "
            f"(residual {abs(dyn.trial(lo).value):.3g} after {dyn.count} iterations)")
    lo = d_static if d_static > 0 else p.sigma**2 * 1e-6
    for _ in range(_MAX_EXPANSIONS):
        if dyn.trial(lo).value < 0:
            break
        lo /= 2.0
    else:
        raise ConvergenceError(f"no noise-driven solution below delta0={lo:.3g} "
                               f"(after {dyn.count} iterations)")
    step = p.sigma**2 / 2.0
    hi = lo + step
    limit = _VARIANCE_MAX * p.nl.length_scale**2
    while hi <= limit:
        trial = dyn.trial(hi)
        if trial.value > 0:
            return lo, hi
        lo, step = hi, 2.0 * step
        hi = lo + step
    raise ConvergenceError(
        f"no bounded noise-driven solution: the energy condition stays negative up to "
        f"delta0={hi:.3g} (the activity diverges; residual {abs(trial.value):.3g} after "
        f"{dyn.count} iterations)")


def dynamic_solution(
    p: Params, d_static: float, tol: float, max_iter: int
) -> tuple[_Trial, float, int]:
    big = resolve_part(p.nl, "antiderivative")
    dyn = _Dynamic(p, big)
    iterations = 0
    residual = math.inf
    for _ in range(_MAX_CORRECTIONS):
        dyn.reset()
        lo, hi = _bracket(dyn, p, d_static)
        root, info = optimize.brentq(lambda d: dyn.trial(d).value, lo, hi,
                                     xtol=1e-15 * hi, rtol=1e-15, maxiter=max_iter,
                                     full_output=True, disp=False)
        iterations += int(info.iterations)
        trial = dyn.trial(float(root))
        residual, d_corr, d_drop = _exact_check(p, dyn, trial)
        if not info.converged:
            raise ConvergenceError(
                f"energy condition did not converge: residual {residual:.3g} after "
                f"{iterations} iterations (max_iter={max_iter})")
        if residual <= tol:
            return trial, residual, iterations
        # The defects are exact minus raw series values: they replace the previous ones.
        dyn.d_corr, dyn.d_drop = d_corr, d_drop
    raise ConvergenceError(
        f"stationary DMFT did not reach tol={tol:g}: residual {residual:.3g} after "
        f"{iterations} iterations")
