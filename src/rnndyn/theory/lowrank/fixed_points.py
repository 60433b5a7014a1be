"""Fixed points of low-rank latent dynamics, with or without a random bulk, and their stability.

Without bulk (``g = 0``) a fixed point solves ``kappa = F(kappa, v)``; its stability is given by
the eigenvalues of the latent Jacobian ``-I + <n m^T phi'>``.

With a random bulk ``J = g chi + M N^T / N`` (Mastrogiuseppe & Ostojic 2018, STAR Methods) the
static mean-field solutions solve jointly::

    kappa  = F(kappa, v; Delta),            F_r = <n_r phi(x)>
    delta0 = g^2 <phi^2>(kappa, v; Delta)    (the variance of the bulk field xi_i)
    x = m . kappa + I . v + xi,   Delta = Var(x) = a^T Sigma_ww a + delta0 (+ extra)

Stability. The linearised network ``d(dx)/dt = -dx + (g chi + M N^T/N) phi'(x0) dx`` has a bulk
of eigenvalues of radius ``g sqrt(<phi'^2>)`` around ``-1`` and outliers. Perturbing along the
collective directions, ``dx_i = m_i . dkappa + xi_i db`` (the residual of the bulk's response
decorrelates from ``m``, ``n`` and ``xi``), gives outliers ``lambda`` with ``1 + lambda`` an
eigenvalue of the Jacobian of the self-consistency map ``(kappa, delta0) -> (F, g^2 <phi^2>)``::

    [[ <n m^T phi'>         1/2 <n phi''> ]
     [ 2 g^2 <m phi phi'>   g^2 <(phi phi')'> ]]

(the same characteristic polynomial as the resolvent expansion of ``n^T D (lambda - g chi
D)^-1 m``, with the correlations of ``D = diag phi'(x0)`` and ``chi`` by Stein's lemma). These
are the ``collective_eigenvalues``; a solution is stable when they all have negative real part
and the bulk edge ``g sqrt(<phi'^2>) < 1``. At ``delta0 = 0`` the last one, ``-1 + g^2
<(phi phi')'>``, only restates the bulk condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import root

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.theory.lowrank.dynamics import LatentDynamics

__all__ = ["FixedPoint", "FixedPointSet", "find_fixed_points", "solve_fixed_point"]

_HUGE = 1e100  # residual reported for non-finite trial points, so the root finder backs off


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point of the latent dynamics (with ``g > 0``, a static mean-field solution).

    Attributes
    ----------
    kappa : ndarray (R,)
    v : ndarray (K,)
        The (constant) input latent it was computed at.
    delta0 : float
        Self-consistent variance of the bulk field, ``g^2 <phi^2>`` (0 without bulk).
    jacobian : ndarray (R, R)
        Latent Jacobian ``-I + <n m^T phi'>`` at fixed bulk variance.
    eigenvalues : ndarray (R,) complex
        Eigenvalues of ``jacobian``.
    collective_eigenvalues : ndarray complex
        Outliers of the linearised network: (R + 1,) with a bulk (see module docstring),
        equal to ``eigenvalues`` without.
    bulk_edge : float
        ``g sqrt(<phi'^2>)``, the radius of the bulk of ``J diag(phi'(x0))``; the bulk is
        stable when it is below 1 (0 without bulk).
    stable : bool
        All collective eigenvalues have negative real part and ``bulk_edge < 1``.
    residual : float
        Max-norm of the fixed-point equations at the solution.
    iterations : int
        Function evaluations of the root finder.
    g : float
        Bulk gain.
    """

    kappa: np.ndarray
    v: np.ndarray
    delta0: float
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    collective_eigenvalues: np.ndarray
    bulk_edge: float
    stable: bool
    residual: float
    iterations: int
    g: float

    @property
    def max_real_part(self) -> float:
        """Largest real part among the collective eigenvalues (the growth rate of outliers)."""
        return float(np.max(self.collective_eigenvalues.real))


@dataclass(frozen=True)
class FixedPointSet:
    """The distinct fixed points found by `find_fixed_points`, sorted by ``|kappa|``.

    Attributes
    ----------
    points : tuple of FixedPoint
    n_starts : int
        Starting points tried.
    n_converged : int
        Starts whose root search converged (before removing duplicates).
    """

    points: tuple[FixedPoint, ...]
    n_starts: int
    n_converged: int
    _rank: int = field(default=0, repr=False)

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[FixedPoint]:
        return iter(self.points)

    def __getitem__(self, index: int) -> FixedPoint:
        return self.points[index]

    @property
    def kappas(self) -> np.ndarray:
        """Fixed points stacked, shape (n_points, R)."""
        return np.array([p.kappa for p in self.points]).reshape(-1, self._rank)

    @property
    def stable_points(self) -> tuple[FixedPoint, ...]:
        """The stable ones."""
        return tuple(p for p in self.points if p.stable)


def _antithetic(rng: np.random.Generator, count: int, rank: int, scale: float) -> np.ndarray:
    """``count`` Gaussian points in antithetic pairs ``(k, -k)``: low-rank dynamics with
    zero-mean loadings are odd, and a pair samples both of its symmetric branches."""
    half = scale * rng.standard_normal(((count + 1) // 2, rank))
    return np.concatenate([half, -half])[:count]


def _check_dynamics(dynamics: Any) -> LatentDynamics:
    if not isinstance(dynamics, LatentDynamics):
        raise ValueError(f"dynamics must be a LatentDynamics, got {type(dynamics).__name__}")
    return dynamics


def _v(dynamics: LatentDynamics, v: Any) -> np.ndarray:
    if v is None:
        return np.zeros(dynamics.n_inputs)
    return check_array("v", v, shape=(dynamics.n_inputs,))


def _bulk_system(dynamics: LatentDynamics, v: np.ndarray, g: float):
    """Residual and Jacobian of ``(kappa, delta0) -> (F - kappa, g^2 <phi^2> - delta0)``."""
    r = dynamics.rank
    extra = dynamics.bulk_variance

    def terms(y: np.ndarray) -> dict[str, Any]:
        return dynamics._static_terms(y[:r], v, max(float(y[r]), 0.0), extra)

    def fun(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not np.all(np.isfinite(y)):
            return np.full(r + 1, _HUGE), np.eye(r + 1)
        t = terms(y)
        res = np.concatenate([t["F"] - y[:r], [g * g * t["phi2"] - y[r]]])
        jac = np.empty((r + 1, r + 1))
        jac[:r, :r] = t["overlaps"] - np.eye(r)
        jac[:r, r] = 0.5 * t["n_d2"]
        jac[r, :r] = 2.0 * g * g * t["m_phidphi"]
        jac[r, r] = g * g * t["d_phidphi"] - 1.0
        return res, jac

    return fun, terms


def _make_point(dynamics: LatentDynamics, kappa: np.ndarray, v: np.ndarray, delta0: float,
                g: float, residual: float, iterations: int) -> FixedPoint:
    r = dynamics.rank
    if g == 0.0:
        jac = dynamics.jacobian(kappa, v)
        eig = np.linalg.eigvals(jac)
        return FixedPoint(kappa, v, 0.0, jac, eig, eig.copy(), 0.0,
                          bool(np.max(eig.real) < 0), residual, iterations, 0.0)
    fun, terms = _bulk_system(dynamics, v, g)
    y = np.concatenate([kappa, [delta0]])
    t = terms(y)
    _, joint = fun(y)
    jac = t["overlaps"] - np.eye(r)
    eig = np.linalg.eigvals(jac)
    collective = np.linalg.eigvals(joint)
    edge = g * float(np.sqrt(t["dphi2"]))
    stable = bool(np.max(collective.real) < 0 and edge < 1.0)
    return FixedPoint(kappa, v, delta0, jac, eig, collective, edge, stable, residual,
                      iterations, g)


def _solve(dynamics: LatentDynamics, kappa0: np.ndarray, v: np.ndarray, g: float,
           delta0: float | None, tol: float, max_iterations: int
           ) -> tuple[np.ndarray, float, float, int]:
    r = dynamics.rank
    if g == 0.0:
        def fun(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if not np.all(np.isfinite(k)):
                return np.full(r, _HUGE), np.eye(r)
            return dynamics._f(k, v), dynamics._df(k, v)
        x0 = kappa0
    else:
        fun, terms = _bulk_system(dynamics, v, g)
        if delta0 is None:
            delta0 = 0.0
            for _ in range(5):  # a few iterations of delta0 <- g^2 <phi^2>
                delta0 = g * g * terms(np.concatenate([kappa0, [delta0]]))["phi2"]
        x0 = np.concatenate([kappa0, [delta0]])
    with np.errstate(all="ignore"):
        sol = root(fun, x0, jac=True, method="hybr",
                   options={"xtol": 1e-14, "maxfev": max_iterations})
    x = sol.x
    if not np.all(np.isfinite(x)):
        return x[:r], 0.0, np.inf, int(sol.nfev)
    residual = float(np.max(np.abs(fun(x)[0])))
    d0 = max(float(x[r]), 0.0) if g > 0 else 0.0
    return x[:r], d0, residual, int(sol.nfev)


def solve_fixed_point(
    dynamics: LatentDynamics,
    kappa0: Any,
    v: Any = None,
    *,
    g: float = 0.0,
    delta0: float | None = None,
    tol: float = 1e-10,
    max_iterations: int = 200,
) -> FixedPoint:
    """Solve for one fixed point from a starting guess (Powell hybrid method, exact Jacobian).

    Parameters
    ----------
    dynamics : LatentDynamics
    kappa0 : array (R,)
        Starting guess.
    v : array (K,), optional
        Constant input latent; default zeros.
    g : float >= 0, default 0
        Gain of a random bulk ``g chi``; with ``g > 0`` ``(kappa, delta0)`` are solved jointly
        (static mean-field solution; the bulk variance of ``dynamics`` is kept as an extra,
        frozen variance).
    delta0 : float, optional
        Starting guess for the bulk variance (default: a few iterations of ``g^2 <phi^2>``).
    tol : float
        Required max-norm of the residual.
    max_iterations : int
        Maximum function evaluations.

    Returns
    -------
    FixedPoint

    Raises
    ------
    rnndyn.ConvergenceError
        If the residual stays above ``tol`` (the message gives it).
    ValueError
        Bad arguments (NaN, negative ``g``, wrong shapes).
    """
    dynamics = _check_dynamics(dynamics)
    g = check_number("g", g, low=0.0)
    k0 = check_array("kappa0", kappa0, shape=(dynamics.rank,))
    vv = _v(dynamics, v)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations)
    if delta0 is not None:
        delta0 = check_number("delta0", delta0, low=0.0)
    kappa, d0, residual, nfev = _solve(dynamics, k0, vv, g, delta0, tol, max_iterations)
    if not residual <= tol:
        raise ConvergenceError(f"solve_fixed_point did not converge: residual {residual:.3g} "
                               f"> tol {tol:g} after {nfev} evaluations")
    return _make_point(dynamics, kappa, vv, d0, g, residual, nfev)


def find_fixed_points(
    dynamics: LatentDynamics,
    v: Any = None,
    *,
    g: float = 0.0,
    starts: Any = None,
    n_starts: int = 16,
    n_integrate: int = 4,
    scale: float | None = None,
    seed: int | np.random.Generator | None = 0,
    tol: float = 1e-10,
    max_iterations: int = 200,
    dedup_tol: float = 1e-6,
) -> FixedPointSet:
    """Find the fixed points from many starts and remove duplicates.

    Starts: the origin, ``starts`` if given, ``n_starts`` Gaussian points of standard deviation
    ``scale`` (default: 1.2 times the largest ``|F|`` at a few far-away states, which bounds
    the fixed points of a saturating ``phi``), in antithetic pairs ``(k, -k)``, and the end
    points of ``n_integrate`` latent trajectories from such pairs (they land on attractors).
    Each start is refined with `solve_fixed_point`; two solutions closer than
    ``dedup_tol * max(1, |kappa|)`` are the same.

    Parameters
    ----------
    dynamics, v, g, tol, max_iterations
        As for `solve_fixed_point`.
    starts : array (S, R), optional
        Extra starting points.
    n_starts, n_integrate : int
        Random starts and integrated starts.
    scale : float, optional
        Spread of the random starts.
    seed : int or Generator
        For the random starts.
    dedup_tol : float
        Relative distance under which two fixed points are merged.

    Returns
    -------
    FixedPointSet

    Raises
    ------
    rnndyn.ConvergenceError
        If no start converges.
    """
    dynamics = _check_dynamics(dynamics)
    g = check_number("g", g, low=0.0)
    vv = _v(dynamics, v)
    r = dynamics.rank
    n_starts = check_int("n_starts", n_starts, low=0)
    n_integrate = check_int("n_integrate", n_integrate, low=0)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations)
    dedup_tol = check_number("dedup_tol", dedup_tol, low=0.0, low_inclusive=False)
    rng = np.random.default_rng(seed)
    bulk = dynamics.bulk_variance
    if g > 0:
        bulk += g * g * dynamics.averages(np.zeros(r), vv).rate_square
    if scale is None:
        probes = 3.0 * rng.standard_normal((8, r))
        drive = dynamics.drive(probes, np.broadcast_to(vv, (8, vv.size)), bulk_variance=bulk)
        scale = max(0.1, 1.2 * float(np.max(np.linalg.norm(drive, axis=1))))
    else:
        scale = check_number("scale", scale, low=0.0, low_inclusive=False)
    candidates = [np.zeros(r)]
    if starts is not None:
        extra = check_array("starts", starts, ndim=2)
        if extra.shape[1] != r:
            raise ValueError(f"starts must have shape (S, {r}), got {extra.shape}")
        candidates.extend(extra)
    candidates.extend(_antithetic(rng, n_starts, r, scale))
    for k0 in _antithetic(rng, n_integrate, r, scale):
        try:
            traj = dynamics.integrate(k0, [0.0, 50.0], v0=vv, u=vv, bulk_variance=bulk,
                                      rtol=1e-6, atol=1e-8)
            candidates.append(traj.kappa[-1])
        except ConvergenceError:
            continue
    found: list[FixedPoint] = []
    n_converged = 0
    best = np.inf
    for k0 in candidates:
        kappa, d0, residual, nfev = _solve(dynamics, np.asarray(k0, float), vv, g, None, tol,
                                           max_iterations)
        best = min(best, residual)
        if not residual <= tol:
            continue
        n_converged += 1
        size = max(1.0, float(np.linalg.norm(kappa)))
        if any(np.linalg.norm(p.kappa - kappa) < dedup_tol * size for p in found):
            continue
        found.append(_make_point(dynamics, kappa, vv, d0, g, residual, nfev))
    if not found:
        raise ConvergenceError(f"find_fixed_points: no start converged (best residual "
                               f"{best:.3g} > tol {tol:g}, {len(candidates)} starts)")
    found.sort(key=lambda p: float(np.linalg.norm(p.kappa)))
    return FixedPointSet(tuple(found), len(candidates), n_converged, r)
