"""Mean-field theory of multiregion networks (Clark & Beiran, arXiv 2402.12188).

The model and its parameters are in `rnndyn.models.multiregion`: regions mu = 0..R-1 with
within-region disorder g_mu and rank-one communication subspaces whose overlaps form the
effective-interaction tensor ``T[mu, nu, rho] = <n^{mu nu} m^{nu rho}>``.

In the mean-field limit the currents ``S^{mu nu}`` (what region nu sends to region mu) obey,
by Stein's lemma on the Gaussian loadings::

    (1 + d/dt) S^{mu nu} = psi^nu sum_rho T^{mu nu rho} S^{nu rho},   psi^nu = <phi'(x^nu)>

so, linearised at a state with region gains psi, the currents evolve with the R^2 x R^2 matrix
``T_hat[(mu nu), (nu rho)] = psi^nu T^{mu nu rho}`` (zero unless the middle indices agree). Its
eigenvalues are the outliers of the connectivity spectrum (psi = 1), which sit beside one disk
of radius g_mu per region: currents grow from the quiescent state when an eigenvalue of T_hat
has real part > 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, optimize

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.gaussian import mean_activity

__all__ = [
    "STATES",
    "CurrentDynamics",
    "CurrentFixedPoint",
    "CurrentLimitCycle",
    "CurrentTrajectory",
    "PeriodEstimate",
    "SymmetricFixedPointSet",
    "bare_gain",
    "effective_interaction_matrix",
    "estimate_period",
    "find_current_fixed_points",
    "find_current_limit_cycle",
    "integrate_currents",
    "phase_diagram",
    "quiescence_boundary",
    "solve_current_dynamics",
    "solve_currents",
    "structured_variance_for_gain",
    "symmetric_fixed_point_set",
    "symmetric_interactions",
    "transmission_threshold",
]


def effective_interaction_matrix(interactions: Any, gains: Any = None) -> np.ndarray:
    """The R^2 x R^2 matrix of the linearised current dynamics.

    ``T_hat[mu * R + nu, nu' * R + rho] = delta(nu, nu') psi^nu T[mu, nu, rho]``

    Parameters
    ----------
    interactions : array (R, R, R)
        ``T[mu, nu, rho]``.
    gains : array (R,), optional
        ``psi^nu = <phi'(x^nu)>`` per region; default 1 (the connectivity's own outliers).

    Returns
    -------
    ndarray (R^2, R^2)
        Rows and columns are current pairs (target, source) flattened as ``target * R + source``.

    Raises
    ------
    ValueError
        If ``interactions`` is not (R, R, R) and finite, or ``gains`` is not (R,).
    """
    t = check_array("interactions", interactions, ndim=3)
    r = t.shape[0]
    if t.shape != (r, r, r):
        raise ValueError(f"interactions must have shape (R, R, R), got {t.shape}")
    psi = np.ones(r) if gains is None else check_array("gains", gains, shape=(r,))
    out = np.zeros((r, r, r, r))  # (mu, nu, nu', rho)
    for nu in range(r):
        out[:, nu, nu, :] = psi[nu] * t[:, nu, :]
    return out.reshape(r * r, r * r)


# --- stationary currents amid chaos ----------------------------------------------------------
@dataclass(frozen=True)
class CurrentFixedPoint:
    """A stationary state of the currents (possibly amid within-region chaos).

    Attributes
    ----------
    currents : ndarray (R, R)
        ``S[mu, nu]``, the current region nu sends to region mu.
    structured_variance : ndarray (R,)
        ``S^nu . U^nu . S^nu + I_nu^2``, the variance the currents (and static inputs) put
        into each region.
    variance : ndarray (R,)
        ``Delta0^nu``, each region's total variance (structured + from disorder).
    gains : ndarray (R,)
        ``psi^nu = <phi'>(0, Delta0^nu)``.
    regimes : tuple of str
        Each region's DMFT regime (``"fixed_point"`` or ``"chaotic"``).
    jacobian : ndarray (R^2, R^2)
        Of the current dynamics ``dS/dt = -S + F(S)``, with each region's variance following
        the currents adiabatically (exact without disorder; for g > 0 it neglects the lag of
        the chaotic variance, so the stability it gives is an approximation there).
    eigenvalues : ndarray (R^2,) complex
    stable : bool
        All eigenvalues have negative real part.
    residual : float
        ``max |F(S) - S|``.
    iterations : int
    """

    currents: np.ndarray
    structured_variance: np.ndarray
    variance: np.ndarray
    gains: np.ndarray
    regimes: tuple[str, ...]
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    stable: bool
    residual: float
    iterations: int

    @property
    def row_norms(self) -> np.ndarray:
        """``|S^{mu .}|``: the size of all currents entering each region (R,)."""
        return np.linalg.norm(self.currents, axis=1)


class _CurrentMap:
    """F(S)[mu, nu] = psi^nu(Delta0^nu) (sum_rho T[mu, nu, rho] S[nu, rho] + V[mu, nu] I_nu).

    ``inputs`` I (R,) are static input amplitudes along directions independent of the m's
    (they add I_nu^2 to the variance of region nu); ``input_readout`` V (R, R) is the overlap
    of the readouts with them.
    """

    def __init__(self, interactions: np.ndarray, input_overlaps: np.ndarray,
                 disorder: np.ndarray, phi: Nonlinearity, inputs: np.ndarray | None = None,
                 input_readout: np.ndarray | None = None) -> None:
        self.t, self.u, self.g, self.phi = interactions, input_overlaps, disorder, phi
        self.r = interactions.shape[0]
        self.inputs = np.zeros(self.r) if inputs is None else inputs
        self.input_readout = (np.zeros((self.r, self.r)) if input_readout is None
                              else input_readout)

    def region_state(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
        structured = np.einsum("nr,nrq,nq->n", s, self.u, s) + self.inputs**2
        variance = np.empty(self.r)
        regimes = []
        for nu in range(self.r):
            if self.g[nu] == 0.0:
                variance[nu], regime = structured[nu], "fixed_point"
            else:
                sol = solve_random_network(self.g[nu], self.phi,
                                           input_variance=float(structured[nu]))
                variance[nu], regime = sol.delta0, sol.regime
            regimes.append(regime)
        psi = mean_activity(self.phi, 0.0, variance, part="derivative")
        return structured, variance, np.asarray(psi, dtype=float), tuple(regimes)

    def __call__(self, s_flat: np.ndarray) -> np.ndarray:
        s = s_flat.reshape(self.r, self.r)
        _, _, psi, _ = self.region_state(s)
        drive = np.einsum("mnr,nr->mn", self.t, s) + self.input_readout * self.inputs[None, :]
        return (drive * psi[None, :]).ravel()

    def jacobian(self, s_flat: np.ndarray, step: float = 1e-6) -> np.ndarray:
        # Central differences: F is smooth in S (Gaussian averages of phi'), error O(step^2).
        n = s_flat.size
        out = np.empty((n, n))
        for k in range(n):
            e = np.zeros(n)
            e[k] = step * max(1.0, abs(s_flat[k]))
            out[:, k] = (self(s_flat + e) - self(s_flat - e)) / (2 * e[k])
        return out - np.eye(n)


def _check_model(interactions: Any, input_overlaps: Any, disorder: Any, phi: Any
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Nonlinearity]:
    t = check_array("interactions", interactions, ndim=3)
    r = t.shape[0]
    if t.shape != (r, r, r):
        raise ValueError(f"interactions must have shape (R, R, R), got {t.shape}")
    u = check_array("input_overlaps", input_overlaps, shape=(r, r, r))
    g = (np.full(r, float(disorder)) if np.ndim(disorder) == 0
         else check_array("disorder", disorder, shape=(r,)))
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError(f"disorder must be finite and >= 0 (g per region), got {disorder!r}")
    for nu in range(r):
        if np.linalg.eigvalsh((u[nu] + u[nu].T) / 2).min() < -1e-10:
            raise ValueError(f"input_overlaps[{nu}] must be positive semi-definite")
    return t, u, g, get_nonlinearity(phi)


def _check_inputs(inputs: Any, input_readout: Any, r: int
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    i = None if inputs is None else check_array("inputs", inputs, shape=(r,))
    v = None if input_readout is None else check_array("input_readout", input_readout,
                                                       shape=(r, r))
    return i, v


def solve_currents(
    interactions: Any,
    input_overlaps: Any,
    disorder: Any = 0.0,
    phi: str | Nonlinearity = "erf",
    *,
    initial_currents: Any,
    inputs: Any = None,
    input_readout: Any = None,
    tol: float = 1e-9,
    max_iterations: int = 200,
) -> CurrentFixedPoint:
    """Solve for stationary currents from a starting guess (Powell hybrid method).

    ``S[mu, nu] = psi^nu sum_rho T[mu, nu, rho] S[nu, rho]``, with
    ``psi^nu = <phi'>(0, Delta0^nu)`` and ``Delta0^nu`` the total variance of region nu: the
    structured part ``S^nu . U^nu . S^nu`` plus what the disorder g_nu adds, from the DMFT of a
    random network with that static input variance (`rnndyn.theory.dmft.solve_random_network`;
    Clark & Beiran 2024, where the currents are static amid chaos when g_nu > 1).

    Parameters
    ----------
    interactions, input_overlaps : array (R, R, R)
        T and U of `rnndyn.models.MultiRegionModel`.
    disorder : float or array (R,)
        g_nu per region.
    phi : str or Nonlinearity, default "erf"
    initial_currents : array (R, R)
    inputs : array (R,), optional
        Static input amplitudes I_nu along directions independent of the m's (the inputs of
        `rnndyn.models.MultiRegionModel.network`); they add I_nu^2 to region nu's structured
        variance, which lowers its gain psi^nu.
    input_readout : array (R, R), optional
        ``V[mu, nu] = <n^{mu nu} w^nu>``: with it the input also drives the currents,
        ``F[mu, nu] += psi^nu V[mu, nu] I_nu``.
    tol : float
        Required max-norm of ``F(S) - S``.
    max_iterations : int

    Returns
    -------
    CurrentFixedPoint

    Raises
    ------
    ValueError
        Shapes that do not match R, NaN, negative disorder, a non-PSD U.
    ConvergenceError
        If the root search stops above ``tol``; the message gives the residual reached.
    """
    t, u, g, nl = _check_model(interactions, input_overlaps, disorder, phi)
    r = t.shape[0]
    s0 = check_array("initial_currents", initial_currents, shape=(r, r))
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations)
    fmap = _CurrentMap(t, u, g, nl, *_check_inputs(inputs, input_readout, r))
    def residual_of(s: np.ndarray) -> np.ndarray:
        # A diverging trial step (huge or non-finite S) is answered with a huge residual so
        # the root search backs off instead of failing inside the DMFT of a region.
        if not np.all(np.isfinite(s)) or np.abs(s).max() > 1e8:
            return np.full_like(s, 1e10)
        return fmap(s) - s

    result = optimize.root(residual_of, s0.ravel(), method="hybr",
                           options={"xtol": 1e-13, "maxfev": max_iterations})
    s = result.x
    residual = float(np.max(np.abs(residual_of(s))))
    if not np.isfinite(residual) or residual > tol:
        raise ConvergenceError(
            f"solve_currents did not converge: residual {residual:.3g} > tol {tol:.3g} after "
            f"{result.nfev} evaluations (max_iterations={max_iterations})"
        )
    structured, variance, psi, regimes = fmap.region_state(s.reshape(r, r))
    jac = fmap.jacobian(s)
    eig = np.linalg.eigvals(jac)
    return CurrentFixedPoint(
        currents=s.reshape(r, r), structured_variance=structured, variance=variance,
        gains=psi, regimes=regimes, jacobian=jac, eigenvalues=eig,
        stable=bool(np.all(eig.real < 0)), residual=residual, iterations=int(result.nfev),
    )


def find_current_fixed_points(
    interactions: Any,
    input_overlaps: Any,
    disorder: Any = 0.0,
    phi: str | Nonlinearity = "erf",
    *,
    n_starts: int = 12,
    scale: float = 2.0,
    seed: int | np.random.Generator | None = 0,
    inputs: Any = None,
    input_readout: Any = None,
    tol: float = 1e-9,
    dedup_tol: float = 1e-6,
) -> tuple[CurrentFixedPoint, ...]:
    """All stationary current states found from many starts, duplicates removed.

    Starts: zero and ``n_starts`` Gaussian points of standard deviation ``scale`` in antithetic
    pairs (S, -S) (the equations are odd in S for odd phi and no input readout). Starts that
    do not converge are skipped. Results are sorted by the norm of S. ``inputs`` and
    ``input_readout`` are as in `solve_currents`.
    """
    t, u, g, nl = _check_model(interactions, input_overlaps, disorder, phi)
    r = t.shape[0]
    n_starts = check_int("n_starts", n_starts)
    rng = np.random.default_rng(seed)
    half = rng.normal(scale=scale, size=((n_starts + 1) // 2, r, r))
    starts = [np.zeros((r, r)), *half, *(-half)]
    found: list[CurrentFixedPoint] = []
    for start in starts:
        try:
            point = solve_currents(t, u, g, nl, initial_currents=start, tol=tol,
                                   inputs=inputs, input_readout=input_readout)
        except ConvergenceError:
            continue
        if all(np.max(np.abs(point.currents - other.currents)) > dedup_tol for other in found):
            found.append(point)
    return tuple(sorted(found, key=lambda p: float(np.linalg.norm(p.currents))))


# --- current dynamics without disorder -------------------------------------------------------
@dataclass(frozen=True)
class CurrentTrajectory:
    """Currents over time from `integrate_currents`.

    Attributes
    ----------
    time : ndarray (T,)
    currents : ndarray (T, R, R)
        ``S[t, mu, nu]``.
    variance : ndarray (T, R)
        Each region's variance ``S^nu . U^nu . S^nu + I_nu^2`` along the way.
    """

    time: np.ndarray
    currents: np.ndarray
    variance: np.ndarray


def integrate_currents(
    interactions: Any,
    input_overlaps: Any,
    initial_currents: Any,
    time: Any,
    phi: str | Nonlinearity = "erf",
    *,
    inputs: Any = None,
    input_readout: Any = None,
    rtol: float = 1e-9,
    atol: float = 1e-11,
) -> CurrentTrajectory:
    """Integrate the mean-field current dynamics of a network without disorder (g = 0).

    ``dS[mu, nu]/dt = -S[mu, nu] + psi^nu(t) sum_rho T[mu, nu, rho] S[nu, rho]``,
    ``psi^nu(t) = <phi'>(0, S^nu(t) . U^nu . S^nu(t))``.

    Without disorder, a state ``x^nu = sum_rho m^{nu rho} S^{nu rho}`` stays of that form, so
    this closed ODE is the exact N -> infinity limit (Stein's lemma at each time). With
    g > 0 the variance of each region has its own dynamics (the two-time DMFT), which this
    function does not model. It uses an adaptive 8th-order Runge-Kutta method (DOP853), so
    there is none of the O(dt) bias of explicit Euler.

    Parameters
    ----------
    interactions, input_overlaps : array (R, R, R)
    initial_currents : array (R, R)
    time : array (T,)
        Increasing output times, starting at the initial time.
    phi : str or Nonlinearity, default "erf"
    inputs : array (R,) or callable, optional
        Input amplitudes I_nu (see `solve_currents`), constant or a function ``t -> (R,)``;
        a switch in a callable input should fall on a point of ``time`` or be smooth, since
        the integrator steps adaptively.
    input_readout : array (R, R), optional
    rtol, atol : float
        Tolerances of the integrator.

    Returns
    -------
    CurrentTrajectory

    Raises
    ------
    ValueError
        Bad shapes, NaN, a time grid that is not increasing.
    ConvergenceError
        If the integrator fails.
    """
    t, u, _, nl = _check_model(interactions, input_overlaps, 0.0, phi)
    r = t.shape[0]
    s0 = check_array("initial_currents", initial_currents, shape=(r, r))
    grid = check_array("time", time, ndim=1)
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("time must be an increasing array of at least 2 times")
    if callable(inputs):
        input_at = inputs
        check_array("inputs", input_at(float(grid[0])), shape=(r,))
        readout = _check_inputs(None, input_readout, r)[1]
    else:
        static, readout = _check_inputs(inputs, input_readout, r)
        input_at = (lambda _t: static) if static is not None else (lambda _t: np.zeros(r))
    fmap = _CurrentMap(t, u, np.zeros(r), nl, None, readout)

    def rhs(time_now: float, s: np.ndarray) -> np.ndarray:
        fmap.inputs = np.asarray(input_at(time_now), dtype=float)
        return fmap(s) - s

    solution = integrate.solve_ivp(rhs, (grid[0], grid[-1]), s0.ravel(),
                                   method="DOP853", t_eval=grid, rtol=rtol, atol=atol)
    if not solution.success:
        raise ConvergenceError(f"integrate_currents: the integrator failed: {solution.message}")
    currents = solution.y.T.reshape(-1, r, r)
    input_values = np.array([np.asarray(input_at(float(tt)), dtype=float) for tt in grid])
    variance = np.einsum("tnr,nrq,tnq->tn", currents, u, currents) + input_values**2
    return CurrentTrajectory(time=grid, currents=currents, variance=variance)


# Imported last: these modules use the functions above.
from rnndyn.theory._multiregion_cycles import (  # noqa: E402
    CurrentLimitCycle,
    PeriodEstimate,
    estimate_period,
    find_current_limit_cycle,
)
from rnndyn.theory._multiregion_dynamics import (  # noqa: E402
    CurrentDynamics,
    solve_current_dynamics,
)
from rnndyn.theory._multiregion_phase import STATES, phase_diagram, quiescence_boundary  # noqa: E402
from rnndyn.theory._multiregion_symmetric import (  # noqa: E402
    SymmetricFixedPointSet,
    bare_gain,
    structured_variance_for_gain,
    symmetric_fixed_point_set,
    symmetric_interactions,
    transmission_threshold,
)
