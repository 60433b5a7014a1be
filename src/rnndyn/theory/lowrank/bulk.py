"""Low-rank structure on top of a chaotic random bulk, and the rank-one phase diagram.

Chaotic regime (Mastrogiuseppe & Ostojic 2018, Neuron 99:609, STAR Methods). For
``J = g chi + M N^T / N`` with jointly Gaussian loadings, each input is::

    x_i(t) = m_i . kappa + I_i . v + eta_i(t)

where ``kappa`` is static for ``N -> inf`` and ``eta`` is the bulk's Gaussian field. The
structured part acts on the bulk as a quenched input of mean ``mu = <m> . kappa + <I> . v`` and
variance ``sigma_s^2 = a^T Sigma_ww a`` (``a = (kappa, v)``; ``sigma_m^2 kappa^2`` for rank one),
so ``eta`` obeys the DMFT of a random network with that static input
(`rnndyn.theory.dmft.solve_random_network` with ``bias = mu`` and ``input_variance =
sigma_s^2``): ``(1 - d^2/dtau^2) Delta(tau) = g^2 C(Delta(tau)) + sigma_s^2``. At any instant
the inputs across neurons are Gaussian with variance ``Delta0 = Delta(0)``, so the time- and
population-averaged overlap is, by Stein's lemma::

    kappa_r = <n_r> <phi>(mu, Delta0) + (Sigma_nw a)_r <phi'>(mu, Delta0)

an outer self-consistency on ``kappa`` around the DMFT solve.

Phase diagram (rank one, zero means, ``Sigma_mm = sigma_m^2``, overlap ``sigma_mn``, odd
``phi``): at each ``(g, sigma_mn)`` the regions are

- ``"trivial"``: the fixed point ``x = 0`` is stable: ``g phi'(0) < 1`` and
  ``sigma_mn phi'(0) < 1``;
- ``"fixed_points"``: a pair ``+-kappa != 0`` of stable static solutions (bistable), from
  ``sigma_mn <phi'>(0, Delta) = 1``, ``delta0 = g^2 <phi^2>(0, Delta)``,
  ``kappa^2 = (Delta - delta0) / sigma_m^2``; stable when the collective eigenvalues of
  `find_fixed_points` are negative and the bulk edge ``g sqrt(<phi'^2>) < 1``;
- ``"chaotic"``: no stable static solution, chaotic DMFT with ``kappa = 0``, which is stable
  (``sigma_mn <phi'>(0, Delta0) < 1``);
- ``"chaotic_structured"``: chaos with ``kappa != 0``, ``sigma_mn <phi'>(0, Delta0(kappa)) = 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, root

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory.gaussian import mean_activity
from rnndyn.theory.lowrank._moments import gaussian_moments
from rnndyn.theory.lowrank.backends import GaussianLatentDynamics
from rnndyn.theory.lowrank.fixed_points import _check_dynamics, _make_point, _v

__all__ = [
    "PHASE_LABELS",
    "ChaoticSolution",
    "PhaseDiagram",
    "phase_diagram_rank_one",
    "solve_chaotic",
]

PHASE_LABELS: tuple[str, ...] = ("trivial", "fixed_points", "chaotic", "chaotic_structured")


@dataclass(frozen=True)
class ChaoticSolution:
    """Low-rank structure on a chaotic (or static) random bulk, from `solve_chaotic`.

    Attributes
    ----------
    kappa : ndarray (R,)
    v : ndarray (K,)
    mean : float
        ``mu``, the population mean of ``x``.
    structured_variance : float
        ``a^T Sigma_ww a``: the variance of the static input the structure feeds into the
        bulk (the dynamics' own ``bulk_variance`` is added to it in the DMFT, not here).
    delta0, delta_inf : float
        Total variance of ``x`` and its static part (``delta0 = delta_inf`` at a fixed point).
    regime : str
        The bulk's regime, ``"chaotic"`` or ``"fixed_point"``.
    latent_eigenvalues : ndarray (R,)
        Eigenvalues of ``-I + <n m^T phi'>(mu, Delta0)`` at frozen ``Delta0``: positive real
        parts mean ``kappa`` is unstable (e.g. ``kappa = 0`` once ``sigma_mn <phi'> > 1``).
    bulk : RandomNetworkSolution
        The DMFT solution of the bulk with the structured input (``bulk.autocorrelation(tau)``
        is ``Delta(tau)``).
    residual : float
        Max-norm of ``F(kappa) - kappa``.
    iterations : int
        Outer evaluations (one DMFT solve each).
    """

    kappa: np.ndarray
    v: np.ndarray
    mean: float
    structured_variance: float
    delta0: float
    delta_inf: float
    regime: str
    latent_eigenvalues: np.ndarray
    bulk: Any
    residual: float
    iterations: int

    def autocorrelation(self, tau: Any) -> np.ndarray:
        """``Delta(tau)``, the autocovariance of ``x_i`` (static structured part included)."""
        return self.bulk.autocorrelation(tau)


def _dmft(g: float, nl: Nonlinearity, bias: float = 0.0, input_variance: float = 0.0) -> Any:
    """`solve_random_network`, accepting a residual up to 1e-7 where 1e-10 is not reached.

    Close to the onset of chaos the chaotic amplitude ``delta0 - delta_inf`` is small and the DMFT
    energy condition is ill-conditioned; 1e-7 on ``delta0`` is ample for the overlap equations.
    """
    from rnndyn.theory.dmft import solve_random_network

    try:
        return solve_random_network(g, nl, bias=bias, input_variance=input_variance)
    except ConvergenceError:
        return solve_random_network(g, nl, bias=bias, input_variance=input_variance, tol=1e-7)


def _bulk_solution(dynamics: GaussianLatentDynamics, g: float, a: np.ndarray) -> tuple[Any, float]:
    mu, var, _, _ = dynamics._stats(a[None, :], dynamics.bulk_variance)
    structured = float(var[0, 0])
    return _dmft(g, dynamics.phi, float(mu[0, 0]), structured), structured


def solve_chaotic(
    dynamics: GaussianLatentDynamics,
    g: float,
    kappa0: Any = None,
    v: Any = None,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100,
) -> ChaoticSolution:
    """Solve the mean-field theory of ``g chi + M N^T / N`` in the chaotic regime.

    ``kappa = F(kappa; Delta0(kappa))`` with ``Delta0`` from the DMFT of the bulk driven by the
    structured static input (module docstring). Where the bulk is static the result coincides
    with the static solution of `find_fixed_points` (``g > 0``).

    Parameters
    ----------
    dynamics : GaussianLatentDynamics
        Jointly Gaussian loadings (the bulk DMFT needs a Gaussian static input).
    g : float > 0
    kappa0 : array (R,), optional
        Starting guess; default zeros (with zero means ``kappa = 0`` is then the solution; pass a
        nonzero guess to find ``kappa != 0``).
    v : array (K,), optional
    tol : float
        Required max-norm of ``F(kappa) - kappa``.
    max_iterations : int
        Maximum outer evaluations.

    Raises
    ------
    ValueError
        ``dynamics`` not Gaussian, ``g`` not positive, bad shapes.
    rnndyn.ConvergenceError
        The outer iteration (or a DMFT solve) did not converge; the message gives the residual.
    """
    dynamics = _check_dynamics(dynamics)
    if not isinstance(dynamics, GaussianLatentDynamics):
        raise ValueError("dynamics must be a GaussianLatentDynamics (the bulk DMFT needs "
                         f"Gaussian loadings), got {type(dynamics).__name__}")
    g = check_number("g", g, low=0.0, low_inclusive=False)
    vv = _v(dynamics, v)
    r = dynamics.rank
    k0 = np.zeros(r) if kappa0 is None else check_array("kappa0", kappa0, shape=(r,))
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations)
    calls = 0

    def outer(kappa: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        if not np.all(np.isfinite(kappa)):
            return np.full(r, 1e100)
        a = np.concatenate([kappa, vv])
        bulk, structured = _bulk_solution(dynamics, g, a)
        delta = max(bulk.delta0 - structured, 0.0)
        return dynamics._drive(a[None, :], delta + dynamics.bulk_variance)[0] - kappa

    with np.errstate(all="ignore"):
        sol = root(outer, k0, method="hybr", options={"xtol": 1e-12, "maxfev": max_iterations})
    kappa = sol.x
    residual = float(np.max(np.abs(outer(kappa)))) if np.all(np.isfinite(kappa)) else math.inf
    if not residual <= tol:
        raise ConvergenceError(f"solve_chaotic did not converge: residual {residual:.3g} > tol "
                               f"{tol:g} after {calls} evaluations")
    a = np.concatenate([kappa, vv])
    bulk, structured = _bulk_solution(dynamics, g, a)
    delta = max(bulk.delta0 - structured, 0.0) + dynamics.bulk_variance
    eig = np.linalg.eigvals(dynamics._gain_overlaps(a[None, :], delta)[0, :, :r] - np.eye(r))
    return ChaoticSolution(kappa, vv, float(bulk.mean), structured - dynamics.bulk_variance,
                           float(bulk.delta0), float(bulk.delta_inf), bulk.regime, eig, bulk,
                           residual, calls)


@dataclass(frozen=True)
class PhaseDiagram:
    """Rank-one phase diagram on a ``(sigma_mn, g)`` grid, from `phase_diagram_rank_one`.

    Attributes
    ----------
    g : ndarray (n_g,)
    sigma_mn : ndarray (n_sigma,)
    region : ndarray (n_sigma, n_g) of int
        Index into ``labels``.
    labels : tuple of str
        `PHASE_LABELS`: trivial, fixed_points, chaotic, chaotic_structured.
    kappa : ndarray (n_sigma, n_g)
        ``|kappa|`` of the state of that region (0 for trivial and chaotic).
    delta0 : ndarray (n_sigma, n_g)
        Total variance of ``x`` in that state.
    bulk_edge : ndarray (n_sigma, n_g)
        ``g sqrt(<phi'^2>)`` at the static solution of the region's ``kappa`` (NaN in chaos).
    sigma_m : float
    phi : str
    """

    g: np.ndarray
    sigma_mn: np.ndarray
    region: np.ndarray
    labels: tuple[str, ...]
    kappa: np.ndarray
    delta0: np.ndarray
    bulk_edge: np.ndarray
    sigma_m: float
    phi: str

    def label(self, i_sigma: int, i_g: int) -> str:
        """Region name at grid point ``(sigma_mn[i_sigma], g[i_g])``."""
        return self.labels[int(self.region[i_sigma, i_g])]

    def to_xarray(self) -> Any:
        """An `xarray.Dataset` with ``region`` (and its ``labels`` in attrs), ``kappa``,
        ``delta0``, ``bulk_edge`` on coordinates ``sigma_mn``, ``g``."""
        import xarray as xr

        dims = ("sigma_mn", "g")
        return xr.Dataset(
            {"region": (dims, self.region), "kappa": (dims, self.kappa),
             "delta0": (dims, self.delta0), "bulk_edge": (dims, self.bulk_edge)},
            coords={"sigma_mn": self.sigma_mn, "g": self.g},
            attrs={"labels": list(self.labels), "sigma_m": self.sigma_m, "phi": self.phi,
                   "model": "rank-one low-rank + random bulk (Mastrogiuseppe & Ostojic 2018)"},
        )


def _gain(nl: Nonlinearity, delta: float) -> float:
    return float(mean_activity(nl, 0.0, delta, part="derivative"))


def _root_of_decreasing(f: Any, x_max: float = 1e4) -> float | None:
    """Root of ``f`` on ``(0, inf)`` with ``f(0) > 0``, by doubling then Brent; None if none."""
    hi = 1.0
    while f(hi) > 0:
        hi *= 2.0
        if hi > x_max:
            return None
    return brentq(f, 0.0, hi, xtol=1e-13, rtol=1e-12)


def phase_diagram_rank_one(
    g_values: Any,
    sigma_values: Any,
    *,
    phi: str | Nonlinearity = "tanh",
    sigma_m: float = 1.0,
) -> PhaseDiagram:
    """Phase diagram of ``J = g chi + m n^T / N`` in ``(g, sigma_mn)`` (zero-mean loadings).

    See the module docstring for the regions and equations (Mastrogiuseppe & Ostojic 2018).
    Cost: one scalar root per point, plus DMFT solves (~10 ms each) in the chaotic part.

    Parameters
    ----------
    g_values : array_like (n_g,)
        Bulk gains, >= 0.
    sigma_values : array_like (n_sigma,)
        Overlaps ``sigma_mn = Cov(m, n)``.
    phi : str or Nonlinearity
        An odd nonlinearity with ``<phi'>(0, Delta)`` decreasing in ``Delta`` (tanh, erf).
    sigma_m : float > 0
        Standard deviation of ``m``.

    Returns
    -------
    PhaseDiagram

    Raises
    ------
    ValueError
        Negative or non-finite ``g``, non-finite ``sigma``, ``phi`` not odd.
    """
    g_arr = check_array("g_values", g_values, ndim=1)
    if np.any(g_arr < 0):
        raise ValueError("g_values must be >= 0")
    s_arr = check_array("sigma_values", sigma_values, ndim=1)
    sigma_m = check_number("sigma_m", sigma_m, low=0.0, low_inclusive=False)
    nl = get_nonlinearity(phi)
    if not nl.odd:
        raise ValueError(f"phi must be odd (tanh, erf) for this phase diagram, got {nl.name!r}")
    slope = float(nl.derivative(np.array(0.0)))
    shape = (s_arr.size, g_arr.size)
    region = np.zeros(shape, dtype=int)
    kappa = np.zeros(shape)
    delta0 = np.zeros(shape)
    edge = np.full(shape, np.nan)
    chaos_cache: dict[float, Any] = {}
    for i, sigma in enumerate(s_arr):
        # Total variance of the non-trivial static branch: sigma <phi'>(0, Delta) = 1.
        d_star = None
        if sigma * slope > 1.0:
            d_star = _root_of_decreasing(lambda d, s=sigma: s * _gain(nl, d) - 1.0)
        for j, g in enumerate(g_arr):
            if d_star is not None:
                d0 = g * g * float(gaussian_moments(nl, 0.0, d_star, ("phi2",))["phi2"])
                k2 = (d_star - d0) / sigma_m**2 if d_star > 0 else 0.0
                if k2 > 0:
                    dyn = GaussianLatentDynamics.from_overlaps(sigma, sigma_m**2, phi=nl)
                    k = math.sqrt(k2)
                    point = _make_point(dyn, np.array([k]), np.zeros(0), d0, g, 0.0, 0)
                    if point.stable:
                        region[i, j] = 1
                        kappa[i, j], delta0[i, j], edge[i, j] = k, d_star, point.bulk_edge
                        continue
            if g * slope < 1.0 and sigma * slope < 1.0:
                region[i, j], edge[i, j] = 0, g * slope
                continue
            if g not in chaos_cache:
                chaos_cache[g] = _dmft(g, nl)
            free = chaos_cache[g]
            if sigma * _gain(nl, free.delta0) <= 1.0:
                # kappa = 0 is stable on the bulk's state: chaotic, or (marginal cases such as
                # sigma_mn phi'(0) = 1 exactly) the static trivial state.
                region[i, j] = 2 if free.regime == "chaotic" else 0
                delta0[i, j] = free.delta0
                continue

            def excess(k2: float, s: float = sigma, gg: float = g) -> float:
                return s * _gain(nl, _dmft(gg, nl, 0.0, sigma_m**2 * k2).delta0) - 1.0

            k2 = _root_of_decreasing(excess)
            if k2 is None:
                raise ConvergenceError(f"phase_diagram_rank_one: no structured chaotic solution "
                                       f"at g={g:g}, sigma_mn={sigma:g}")
            bulk = _dmft(g, nl, 0.0, sigma_m**2 * k2)
            region[i, j] = 3 if bulk.regime == "chaotic" else 1
            kappa[i, j], delta0[i, j] = math.sqrt(k2), bulk.delta0
    return PhaseDiagram(g_arr, s_arr, region, PHASE_LABELS, kappa, delta0, edge, sigma_m,
                        nl.name)
