"""Fast Gaussian averages at a fixed mean and variance, for the DMFT solvers (private).

Two devices make the self-consistency loops of `rnndyn.theory.dmft` cheap:

- `Gauss1D`: one-dimensional averages ``E[f(mu + sqrt(D) z)]`` of several functions of ``phi``
  on one set of composite Gauss-Legendre nodes (`rnndyn.theory.gaussian.quadrature_nodes`, split
  at the kinks of ``phi``), cached by panel count, so a mean-field loop pays no validation or
  node construction per call.
- `MehlerSeries`: the pair average ``C(c) = E[phi(a) phi(b)]`` (means ``mu``, variances ``D``,
  covariance ``c``) as Mehler's power series in ``r = c / D``::

      C(c) = sum_n a_n^2 r^n,    a_n = E[phi(mu + sqrt(D) z) He_n(z)] / sqrt(n!)

  (``He_n`` the probabilists' Hermite polynomials). All coefficients are nonnegative, so ``C`` is
  increasing and convex in ``c >= 0`` (this is what makes the DMFT potential well behaved). By
  Price's theorem ``E[phi'(a) phi'(b)] = dC/dc = sum_n n a_n^2 r^(n-1) / D`` and, with ``Phi``
  the antiderivative, ``E[Phi(a) Phi(b)](D) - E[Phi(a) Phi(b)](c) = int_c^D C = Var(Phi) -
  D sum_n a_n^2 r^(n+1) / (n+1)``. One matrix-vector product gives all coefficients, after which
  ``C``, ``dC/dc`` and the integral cost O(n_terms) per covariance instead of a two-dimensional
  quadrature. Each series is truncated after ``N`` terms and its remainder is put in one extra
  term ``T r^(N+1)`` whose weight ``T`` makes the series exact at ``r = 1`` (where the exact
  values ``<phi^2>``, ``<phi'^2>``, ``Var(Phi)`` are one-dimensional averages); the remaining
  error is below ``T r^(N+1)``, negligible for ``r`` away from 1. The DMFT solver checks every
  converged solution with the two-dimensional quadrature of `rnndyn.theory.gaussian` anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory.gaussian import quadrature_nodes

__all__ = ["N_TERMS", "Gauss1D", "MehlerSeries"]

N_TERMS = 128
_COARSE_WIDTH = 2.0  # panel width (in z) for plain averages; matches rnndyn.theory.gaussian
_MAX_PANELS = 1 << 14  # bounds memory when a diverging solve tries huge variances
_FINE_WIDTH = 0.15  # for Hermite coefficients up to N_TERMS (He_128 oscillates on ~0.55 in z)


def _panels(std: float, length_scale: float, width: float) -> int:
    """Panel count over [-9, 9] for panels no wider than ``width`` and ``2 length_scale / std``."""
    w = width if std <= 0 else min(width, _COARSE_WIDTH * length_scale / std)
    n = min(math.ceil(18.0 / w - 1e-9), _MAX_PANELS)
    return 1 << max(0, (n - 1).bit_length())  # a power of two, so few node sets get cached


@lru_cache(maxsize=16)
def _smooth_nodes(n_panels: int) -> tuple[np.ndarray, np.ndarray]:
    return quadrature_nodes(None, n_panels)


def _hermite_table(z: np.ndarray, n_terms: int) -> np.ndarray:
    """Normalised Hermite polynomials ``He_n(z) / sqrt(n!)``, n = 0..n_terms (rows)."""
    table = np.empty((n_terms + 1, z.size))
    table[0] = 1.0
    if n_terms:
        table[1] = z
    for n in range(1, n_terms):
        table[n + 1] = (z * table[n] - math.sqrt(n) * table[n - 1]) / math.sqrt(n + 1)
    return table


@lru_cache(maxsize=4)
def _smooth_hermite(n_panels: int, n_terms: int) -> np.ndarray:
    z, w = _smooth_nodes(n_panels)
    return _hermite_table(z, n_terms) * w


class Gauss1D:
    """Averages over ``x = mu + sqrt(D) z`` for one nonlinearity and one variance ``D``."""

    def __init__(self, nl: Nonlinearity, variance: float, *, fine: bool = False) -> None:
        self.nl = nl
        self.variance = float(variance)
        self.std = math.sqrt(self.variance)
        width = _FINE_WIDTH if fine else _COARSE_WIDTH
        self.n_panels = _panels(self.std, nl.length_scale, width)
        self._kinks = np.asarray(nl.kinks, dtype=float)

    def nodes(self, mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Points ``x``, weights, and the z nodes when not the cached smooth set (else None)."""
        if self.std == 0.0:
            return np.array([mean]), np.array([1.0]), None
        if self._kinks.size:
            breaks = (self._kinks - mean) / self.std
            z, w = quadrature_nodes(breaks, self.n_panels)
            return mean + self.std * z, w, z
        z, w = _smooth_nodes(self.n_panels)
        return mean + self.std * z, w, None

    def average(self, mean: float, *funcs: Callable[[np.ndarray], np.ndarray]) -> list[float]:
        """``E[f(x)]`` for each function, on one set of nodes."""
        x, w, _ = self.nodes(mean)
        return [float(w @ f(x)) for f in funcs]


class MehlerSeries:
    """Mehler expansion of the pair averages at mean ``mu`` and variance ``D`` (see module doc).

    Parameters
    ----------
    nl : Nonlinearity
    mean, variance : float
        ``mu`` and ``D``.
    antiderivative : callable, optional
        ``Phi``; needed for `potential_drop`.
    n_terms : int
        Truncation order ``N``.
    """

    def __init__(
        self,
        nl: Nonlinearity,
        mean: float,
        variance: float,
        antiderivative: Callable[[np.ndarray], np.ndarray] | None = None,
        n_terms: int = N_TERMS,
    ) -> None:
        self.variance = float(variance)
        quad = Gauss1D(nl, variance, fine=True)
        x, w, z = quad.nodes(mean)
        f = nl.value(x)
        df = nl.derivative(x)
        self.phi2 = float(w @ (f * f))
        self.dphi2 = float(w @ (df * df))
        self.mean_phi = float(w @ f)
        if antiderivative is not None:
            big = antiderivative(x)
            mean_big = float(w @ big)
            self.var_big = float(w @ ((big - mean_big) ** 2))
        else:
            self.var_big = math.nan
        if self.variance == 0.0:
            n_terms = 0
            a = np.array([self.mean_phi])
        elif z is None:
            a = _smooth_hermite(quad.n_panels, n_terms) @ f
        else:
            a = (_hermite_table(z, n_terms) * w) @ f
        self.n_terms = n_terms
        self.a2 = a * a
        idx = np.arange(n_terms + 1, dtype=float)
        self._idx = idx
        self._tail_c = self.phi2 - float(self.a2.sum())
        if self.variance > 0:
            self._da2 = idx[1:] * self.a2[1:] / self.variance  # coefficients of dC/dc in r^(n-1)
            self._tail_dc = self.dphi2 - float(self._da2.sum())
            self._ia2 = self.variance * self.a2 / (idx + 1.0)  # of int_0^c C in r^(n+1)
            self._tail_ic = self.var_big - float(self._ia2.sum())

    def _ratio(self, c: np.ndarray | float) -> np.ndarray:
        if self.variance == 0.0:
            return np.ones_like(np.asarray(c, dtype=float))
        return np.asarray(c, dtype=float) / self.variance

    def corr(self, c: np.ndarray | float) -> np.ndarray:
        """``C(c) = E[phi(a) phi(b)]``."""
        r = self._ratio(c)
        if self.n_terms == 0:
            return self.a2[0] + 0.0 * r
        pw = np.power(r[..., None], self._idx)
        return pw @ self.a2 + self._tail_c * r ** (self.n_terms + 1)

    def dcorr(self, c: np.ndarray | float) -> np.ndarray:
        """``dC/dc = E[phi'(a) phi'(b)]``."""
        r = self._ratio(c)
        if self.n_terms == 0:
            return self.dphi2 + 0.0 * r
        pw = np.power(r[..., None], self._idx[:-1])
        return pw @ self._da2 + self._tail_dc * r**self.n_terms

    def potential_drop(self, c: np.ndarray | float) -> np.ndarray:
        """``int_c^D C(c') dc' = E[Phi Phi](D) - E[Phi Phi](c)``."""
        r = self._ratio(c)
        if self.n_terms == 0:
            return 0.0 * r
        pw = np.power(r[..., None], self._idx + 1.0)
        return self.var_big - pw @ self._ia2 - self._tail_ic * r ** (self.n_terms + 2)
