"""Fast pair Gaussian averages for the two-time DMFT: the Mehler (Hermite) expansion.

For ``a = mu_a + s_a z_a``, ``b = mu_b + s_b z_b`` with ``corr(z_a, z_b) = r``, Mehler's formula
gives::

    E[phi(a) phi(b)] = sum_k r^k c_k(mu_a, s_a) c_k(mu_b, s_b),
    c_k(mu, s) = E[phi(mu + s z) He_k(z)] / sqrt(k!)

with ``He_k`` the probabilists' Hermite polynomials. The coefficients of one time point depend
on its marginal (mean, variance) only, so on a (t, s) grid they are computed once per time point
(a matrix-vector product with a tabulated Hermite matrix) and each pair average costs a
polynomial in ``r`` instead of a two-dimensional integral.

Truncation after order K leaves, by Cauchy-Schwarz, an error of at most::

    |r|^(K+1) sqrt(T_K(a) T_K(b)),   T_K = E[phi^2] - sum_{k<=K} c_k^2   (Parseval)

which is known exactly from the coefficients. Points are evaluated at a low order (most of the
grid, where ``|r|`` is well below 1), at a high order where the low-order bound is above the
tolerance, and by direct quadrature where even the high-order bound fails (``|r|`` near 1 with a
Gaussian several times wider than the scale of ``phi``, or a nonlinearity with kinks, whose
coefficients decay only algebraically): the nested quadrature of
`rnndyn.theory.gaussian.gaussian_pair_expectation` for smooth nonlinearities, a conditional
quadrature that resolves the smoothed kink for the others (`MehlerPairAverager.direct`).

The coefficients themselves are integrals over ``z`` on ``[-10.5, 10.5]`` by composite
Gauss-Legendre (10 nodes per panel; panels at most 0.2 wide, so that they resolve the
oscillations of ``He_512``, and at most ``1.5 length_scale / s`` wide, so that they resolve
``phi``; panels containing a kink are split there). By Cauchy-Schwarz the part of ``c_k`` beyond
``|z| = 10.5`` is at most ``sqrt(E[phi^2 1{|z| > 10.5}]) < 1e-12 sup|phi|``, although high-order
Hermite functions extend further. Measured against the nested quadrature of
`rnndyn.theory.gaussian` (and against closed forms for relu) the pair averages agree to ~1e-10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory.gaussian import (
    gaussian_expectation,
    gaussian_pair_expectation,
    quadrature_nodes,
)

__all__ = ["Coefficients", "MehlerPairAverager"]

_Z_MAX = 10.5
_GL_ORDER = 10
_BASE_WIDTH = 0.2  # panel width resolving He_k up to k = 512 (local wavelength > 0.27)
_CHEB = 24  # Chebyshev nodes per panel for interpolating He_k inside a panel with a kink


@dataclass
class Coefficients:
    """Hermite coefficients of ``phi`` at M marginals.

    Attributes
    ----------
    c : ndarray of shape (order + 1, M)
        ``c_k = E[phi(mu + s z) He_k(z)] / sqrt(k!)``; ``c[0]`` is ``<phi>``.
    second_moment : ndarray of shape (M,)
        ``E[phi(mu + s z)^2]``.
    tail_low, tail_high : ndarray of shape (M,)
        Relative Parseval tails ``T_K / E[phi^2]`` after the low and the high order.
    """

    c: np.ndarray
    second_moment: np.ndarray
    tail_low: np.ndarray
    tail_high: np.ndarray


@lru_cache(maxsize=8)
def _legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _uniform_nodes(n_panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights (density included) on [-Z, Z]."""
    x, wl = _legendre(_GL_ORDER)
    edges = np.linspace(-_Z_MAX, _Z_MAX, n_panels + 1)
    left, width = edges[:-1, None], np.diff(edges)[:, None]
    z = (left + width * (x + 1.0) / 2.0).ravel()
    w = (width / 2.0 * wl).ravel() * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, w


def _half_nodes(n_panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes on (0, Z]; the rule on [-Z, Z] is these and their mirror."""
    x, wl = _legendre(_GL_ORDER)
    edges = np.linspace(0.0, _Z_MAX, n_panels + 1)
    left, width = edges[:-1, None], np.diff(edges)[:, None]
    z = (left + width * (x + 1.0) / 2.0).ravel()
    w = (width / 2.0 * wl).ravel() * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, w


def _barycentric(nodes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Matrix (len(points), len(nodes)) of barycentric interpolation at Chebyshev points of the
    second kind ``nodes`` (in increasing order)."""
    n = nodes.size
    weights = (-1.0) ** np.arange(n)
    weights[0] *= 0.5
    weights[-1] *= 0.5
    diff = points[:, None] - nodes[None, :]
    exact = diff == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = weights / diff
        matrix = terms / terms.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    matrix[hit] = exact[hit].astype(float)
    return matrix


def _hermite_table(z: np.ndarray, order: int) -> np.ndarray:
    """``He_k(z) / sqrt(k!)`` for k = 0..order, shape (order + 1, *z.shape), by recurrence.

    ``h_{k+1} = (z h_k - sqrt(k) h_{k-1}) / sqrt(k + 1)``, stable for the normalised family.
    """
    table = np.empty((order + 1, *z.shape))
    table[0] = 1.0
    if order >= 1:
        table[1] = z
    for k in range(1, order):
        np.multiply(z, table[k], out=table[k + 1])
        table[k + 1] -= math.sqrt(k) * table[k - 1]
        table[k + 1] /= math.sqrt(k + 1)
    return table


class MehlerPairAverager:
    """Pair averages ``E[phi(a) phi(b)]`` of one nonlinearity by the Mehler expansion.

    Parameters
    ----------
    phi : Nonlinearity
    order : int
        Highest Hermite order K (the high tier).
    low_order : int
        Order of the low tier, used wherever its error bound is below ``tol``.
    tol : float
        Bound on the truncation error relative to ``sqrt(E[phi(a)^2] E[phi(b)^2])``.
    """

    def __init__(
        self, phi: Nonlinearity, order: int = 512, low_order: int = 48, tol: float = 1e-10
    ) -> None:
        if not 1 <= low_order <= order:
            raise ValueError(f"low_order must be in [1, order={order}], got {low_order}")
        self.phi = phi
        self.order = order
        self.low_order = low_order
        self.tol = tol
        self.fallback_points = 0
        self._tables: dict[int, tuple[np.ndarray, ...]] = {}
        self._panels: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    # --- coefficients ----------------------------------------------------------------------
    def _n_panels(self, std: float) -> int:
        """Panels on [0, Z] (the symmetric rule has twice as many)."""
        width = _BASE_WIDTH
        if std > 0:
            width = min(width, 1.5 * self.phi.length_scale / std)
        base = math.ceil(_Z_MAX / _BASE_WIDTH)
        # Powers of two times the base count, so that smooth nonlinearities reuse few tables.
        level = max(0, math.ceil(math.log2(_Z_MAX / width / base) - 1e-12))
        return base * 2**level

    def _table(self, n_panels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if n_panels not in self._tables:
            z, w = _half_nodes(n_panels)
            herm = _hermite_table(z, self.order) * w  # (K + 1, n_nodes), weights folded in
            # He_k(-z) = (-1)^k He_k(z): even orders see f(z) + f(-z), odd ones f(z) - f(-z).
            even = np.ascontiguousarray(herm[0::2].T)
            odd = np.ascontiguousarray(herm[1::2].T)
            self._tables[n_panels] = (z, w, even, odd)
        return self._tables[n_panels]

    def coefficients(self, mean: np.ndarray, variance: np.ndarray) -> Coefficients:
        """Hermite coefficients at the marginals ``N(mean[m], variance[m])``."""
        mean = np.atleast_1d(np.asarray(mean, dtype=float))
        std = np.sqrt(np.maximum(np.atleast_1d(np.asarray(variance, dtype=float)), 0.0))
        mean, std = np.broadcast_arrays(mean, std)
        count = mean.size
        c = np.empty((self.order + 1, count))
        second = np.empty(count)
        f = self.phi.value
        # Contractions use einsum rather than BLAS: these are small matrix-vector products,
        # and a multithreaded BLAS slows them down by an order of magnitude on a busy machine.
        if not self.phi.kinks:
            for m in range(count):
                z, w, even, odd = self._table(self._n_panels(float(std[m])))
                plus = f(mean[m] + std[m] * z)
                minus = f(mean[m] - std[m] * z)
                c[0::2, m] = np.einsum("nk,n->k", even, plus + minus)
                c[1::2, m] = np.einsum("nk,n->k", odd, plus - minus)
                second[m] = np.dot(w, plus * plus + minus * minus)
        else:
            for m in range(count):
                c[:, m], second[m] = self._kinked(float(mean[m]), float(std[m]))
        return Coefficients(c, second, *self._tails(c, second))

    def _full_table(self, n_panels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = -n_panels  # full-line tables share the cache with the half-line ones
        if key not in self._tables:
            z, w = _uniform_nodes(2 * n_panels)
            herm = np.ascontiguousarray(_hermite_table(z, self.order).T)  # weights not folded
            self._tables[key] = (z, w, herm)
        return self._tables[key]  # type: ignore[return-value]

    def _panel_hermite(self, n_half: int, panel: int) -> tuple[np.ndarray, np.ndarray]:
        """Chebyshev nodes of one panel of the full-line rule and ``He_k / sqrt(k!)`` there."""
        key = (n_half, panel)
        if key not in self._panels:
            width = _Z_MAX / n_half
            lo = -_Z_MAX + panel * width
            nodes = lo + width * (1.0 - np.cos(np.pi * np.arange(_CHEB) / (_CHEB - 1))) / 2.0
            self._panels[key] = (nodes, np.ascontiguousarray(_hermite_table(nodes, self.order).T))
        return self._panels[key]

    def _kinked(self, mean: float, std: float) -> tuple[np.ndarray, float]:
        """Coefficients of a nonlinearity with kinks.

        The uniform rule, with each panel that contains a kink (in z) replaced by
        Gauss-Legendre rules on its pieces. ``He_k`` at those nodes is interpolated from
        Chebyshev nodes of the panel (barycentric formula, cached tables): on a panel of width
        0.2 ``He_512`` oscillates at most once, which 24 Chebyshev nodes resolve to round-off.
        """
        n_half = self._n_panels(std)
        z, w, herm = self._full_table(n_half)
        f = self.phi.value
        weighted = w * f(mean + std * z)
        c = np.zeros(self.order + 1)
        second = 0.0
        if std > 0:
            width = _Z_MAX / n_half
            kinks = (np.asarray(self.phi.kinks, dtype=float) - mean) / std
            inside = np.sort(kinks[np.abs(kinks) < _Z_MAX])
            panels = np.unique(np.minimum(np.floor((inside + _Z_MAX) / width).astype(int),
                                          2 * n_half - 1))
            x, wl = _legendre(_GL_ORDER)
            for panel in panels:
                lo = -_Z_MAX + panel * width
                hi = lo + width
                weighted[panel * _GL_ORDER : (panel + 1) * _GL_ORDER] = 0.0
                edges = np.concatenate([[lo], inside[(inside > lo) & (inside < hi)], [hi]])
                left, span = edges[:-1, None], np.diff(edges)[:, None]
                zp = (left + span * (x + 1.0) / 2.0).ravel()
                wp = (span / 2.0 * wl).ravel() * np.exp(-0.5 * zp * zp) / math.sqrt(2 * math.pi)
                vp = wp * f(mean + std * zp)
                cheb, table = self._panel_hermite(n_half, int(panel))
                c += np.einsum("n,nk->k", _barycentric(cheb, zp).T @ vp, table)
                second += float(np.dot(vp, f(mean + std * zp)))
        c += np.einsum("nk,n->k", herm, weighted)
        second += float(np.dot(weighted, f(mean + std * z)))
        return c, second

    def _tails(self, c: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scale = np.where(second > 0, second, 1.0)
        low = second - np.sum(c[: self.low_order + 1] ** 2, axis=0)
        high = low - np.sum(c[self.low_order + 1 :] ** 2, axis=0)
        # Round-off can make a converged tail slightly negative; it is zero to working accuracy.
        return np.maximum(low, 0.0) / scale, np.maximum(high, 0.0) / scale

    # --- pair averages ---------------------------------------------------------------------
    def row(
        self,
        coef_a: Coefficients,
        index_a: int,
        mean_a: float,
        variance_a: float,
        coef_b: Coefficients,
        count: int,
        mean_b: np.ndarray,
        variance_b: np.ndarray,
        covariance: np.ndarray,
    ) -> np.ndarray:
        """``E[phi(a) phi(b_j)]`` for one ``a`` (column ``index_a`` of ``coef_a``) and the first
        ``count`` columns of ``coef_b`` (marginals ``mean_b``, ``variance_b``), with
        ``cov(a, b_j) = covariance[j]``."""
        ca = coef_a.c[:, index_a]
        cb = coef_b.c[:, :count]
        denom = np.sqrt(max(variance_a, 0.0) * np.maximum(variance_b, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(denom > 0, covariance / denom, 0.0)
        r = np.clip(r, -1.0, 1.0)
        low = self.low_order
        out = ca[low] * cb[low]
        for k in range(low - 1, -1, -1):
            out *= r
            out += ca[k] * cb[k]
        abs_r = np.abs(r)
        with np.errstate(divide="ignore"):
            log_r = np.log(abs_r)
        tail_a = coef_a.tail_low[index_a]
        bound = np.exp((low + 1) * log_r) * np.sqrt(tail_a * coef_b.tail_low[:count])
        need = np.flatnonzero(bound > self.tol)
        if need.size == 0:
            return out
        # High tier: add orders low+1..K on the points that need them.
        r_need = r[need]
        # r^(low+1), ..., r^K by a cumulative product (no pow calls).
        powers = np.cumprod(np.broadcast_to(r_need, (self.order - low, r_need.size)), axis=0)
        powers *= r_need**low
        out[need] += np.einsum("k,km,km->m", ca[low + 1 :], cb[low + 1 :, need], powers)
        bound_high = np.exp((self.order + 1) * log_r[need]) * np.sqrt(
            coef_a.tail_high[index_a] * coef_b.tail_high[:count][need]
        )
        hard = need[bound_high > self.tol]
        if hard.size:
            self.fallback_points += int(hard.size)
            out[hard] = self.direct(
                np.full(hard.size, mean_a),
                np.full(hard.size, max(variance_a, 0.0)),
                mean_b[hard],
                np.maximum(variance_b[hard], 0.0),
                np.clip(covariance[hard], -denom[hard], denom[hard]),
            )
        return out

    def direct(
        self,
        mean_a: np.ndarray,
        variance_a: np.ndarray,
        mean_b: np.ndarray,
        variance_b: np.ndarray,
        covariance: np.ndarray,
    ) -> np.ndarray:
        """Pair averages by quadrature, for the points where the Mehler bound fails.

        Smooth nonlinearities use `gaussian_pair_expectation` (~1e-12). With kinks, the
        conditional form ``E_u[phi(a(u)) psi(u)]``, ``a = mu_a + s_a u``,
        ``psi(u) = <phi>(mu_b + s_b r u, s_b^2 (1 - r^2))`` (closed form for relu), is integrated
        over u by composite Gauss-Legendre split at the kink of ``phi(a(u))``, at the kink
        ``u_b`` of ``phi(mu_b + s_b r u)`` and at ``u_b +- (1, 3, 8) w``,
        ``w = sqrt(1 - r^2) / |r|``: near ``|r| = 1``, ``psi`` is a kink smoothed over a layer of
        width w, which panels that do not resolve it miss (an error of order ``s_b^2 w^2``;
        5e-7 for relu at ``1 - r = 1e-6`` in the nested quadrature of
        `gaussian_pair_expectation`). This converges to ~1e-12 for relu with 4 panels per piece.
        """
        if not self.phi.kinks:
            return gaussian_pair_expectation(
                self.phi, mean_a=mean_a, mean_b=mean_b, variance_a=variance_a,
                variance_b=variance_b, covariance=covariance,
            )
        sa, sb = np.sqrt(variance_a), np.sqrt(variance_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.clip(np.where(sa * sb > 0, covariance / (sa * sb), 0.0), -1.0, 1.0)
            kinks = np.asarray(self.phi.kinks, dtype=float)[None, :]
            kink_a = (kinks - mean_a[:, None]) / sa[:, None]
            kink_b = (kinks - mean_b[:, None]) / (sb * r)[:, None]
            layer = (np.sqrt(1.0 - r * r) / np.abs(r))[:, None]
            breaks = np.concatenate(
                [kink_a, kink_b] + [kink_b + c * layer for c in (-8.0, -3.0, -1.0, 1.0, 3.0, 8.0)],
                axis=1,
            )
        breaks = np.where(np.isfinite(breaks), breaks, _Z_MAX)
        std_max = float(max(sa.max(initial=0.0), sb.max(initial=0.0)))
        n_panels = 4 * max(1, math.ceil(std_max / self.phi.length_scale))
        out = np.empty(mean_a.size)
        step = max(1, 200_000 // (n_panels * _GL_ORDER * (breaks.shape[1] + 1)))
        for start in range(0, mean_a.size, step):
            part = slice(start, start + step)
            u, w = quadrature_nodes(breaks[part], n_panels)
            cond_mean = mean_b[part, None] + (sb * r)[part, None] * u
            cond_var = np.broadcast_to((variance_b * (1.0 - r * r))[part, None], u.shape)
            inner = gaussian_expectation(self.phi, cond_mean, cond_var)
            outer = self.phi.value(mean_a[part, None] + sa[part, None] * u)
            out[part] = np.sum(w * outer * inner, axis=1)
        return out

    def pairs(
        self,
        mean_a: np.ndarray,
        variance_a: np.ndarray,
        mean_b: np.ndarray,
        variance_b: np.ndarray,
        covariance: np.ndarray,
    ) -> np.ndarray:
        """Elementwise ``E[phi(a) phi(b)]`` for 1D arrays of marginals and covariances."""
        arrays = np.broadcast_arrays(
            *(np.atleast_1d(np.asarray(v, dtype=float)) for v in
              (mean_a, variance_a, mean_b, variance_b, covariance))
        )
        ma, va, mb, vb, cov = (np.ascontiguousarray(v) for v in arrays)
        coef_a = self.coefficients(ma, va)
        coef_b = self.coefficients(mb, vb)
        out = np.empty(ma.size)
        for m in range(ma.size):
            sub = Coefficients(
                coef_b.c[:, m : m + 1],
                coef_b.second_moment[m : m + 1],
                coef_b.tail_low[m : m + 1],
                coef_b.tail_high[m : m + 1],
            )
            out[m] = self.row(coef_a, m, ma[m], va[m], sub, 1, mb[m : m + 1], vb[m : m + 1],
                              cov[m : m + 1])[0]
        return out
