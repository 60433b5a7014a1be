"""Phase diagram of the multiregion currents in (disorder, leading eigenvalue of T_hat).

The interaction tensor is rescaled, ``T -> lambda T / Re(lambda_0)`` with ``lambda_0`` the
leading eigenvalue (largest real part) of ``T_hat(T)`` (`effective_interaction_matrix`), so
that the real part of the leading eigenvalue of ``T_hat`` is ``lambda``: the horizontal axis.
The vertical axis is the disorder g, applied to every region or to one.

Each point is classified by the long-time state of the mean-field currents:

``quiescent`` (0)
    ``S = 0`` is stable: ``Re eig T_hat(psi) < 1`` with ``psi^nu = <phi'>(0, Delta0(g_nu))``.
    With the same g in every region this is ``lambda < 1 / psi(g)`` (`quiescence_boundary`).
``fixed_point`` (1)
    ``S = 0`` is unstable and a stable nonzero stationary state exists (multistart root search
    as in `find_current_fixed_points`, plus continuation: the stable states found at the
    neighbouring grid points are extra starts).
``limit_cycle`` (2)
    No stationary state is stable. At g = 0 (all regions) this is confirmed by finding the
    cycle (`find_current_limit_cycle`), and its period is reported. With disorder, the
    stability of stationary states is that of the adiabatic Jacobian of `solve_currents` (the
    chaotic variance is assumed to follow the currents instantly, neglecting its lag); the
    time-dependent currents amid disorder need the two-time DMFT, which is not implemented, so
    the period is NaN there and "limit_cycle" only means "no stable stationary state".
``aperiodic`` (3)
    g = 0, no stable stationary state and no periodic orbit found (quasi-periodic or chaotic
    currents, or a period above ``max_period``).

Where ``S = 0`` is stable and a nonzero stable state coexists (bistability), the point is
"quiescent" and ``n_stable_fixed_points`` > 1 tells.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory._multiregion_cycles import find_current_limit_cycle
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.gaussian import mean_activity
from rnndyn.theory.multiregion import (
    CurrentFixedPoint,
    _check_model,
    effective_interaction_matrix,
    integrate_currents,
    solve_currents,
)

__all__ = ["STATES", "phase_diagram", "quiescence_boundary"]

STATES: tuple[str, ...] = ("quiescent", "fixed_point", "limit_cycle", "aperiodic")
_ZERO = 1e-6  # max |S| below which a stationary state is the quiescent one


def _quiescent_gains(disorder: np.ndarray, phi: Nonlinearity) -> np.ndarray:
    """``psi = <phi'>(0, Delta0(g))`` of bare random networks (no currents), per entry."""
    delta0 = np.array([solve_random_network(float(g), phi).delta0 for g in disorder.ravel()])
    psi = mean_activity(phi, 0.0, delta0, part="derivative")
    return np.asarray(psi, dtype=float).reshape(disorder.shape)


def quiescence_boundary(disorder_values: Any, phi: str | Nonlinearity = "erf") -> np.ndarray:
    """The leading eigenvalue of ``T_hat`` at which ``S = 0`` loses stability, per disorder.

    With the same disorder g in every region, the quiescent Jacobian is
    ``psi(g) T_hat - I`` with ``psi(g) = <phi'>(0, Delta0(g))`` and ``Delta0(g)`` the variance
    of a random network of gain g (`rnndyn.theory.dmft.solve_random_network`: 0 below the
    transition to chaos, positive above). So the currents grow when ``Re lambda > 1 / psi(g)``.
    For erf (``phi'(0) = 1``) this is 1 for ``g <= 1`` and
    ``sqrt(1 + pi Delta0(g) / 2)`` above.

    Parameters
    ----------
    disorder_values : float or array
        g >= 0.
    phi : str or Nonlinearity, default "erf"

    Returns
    -------
    ndarray
        ``1 / psi(g)``, with the shape of ``disorder_values``.

    Raises
    ------
    ValueError
        Negative or non-finite disorder (``disorder_values``).
    """
    g = check_array("disorder_values", disorder_values)
    if np.any(g < 0):
        raise ValueError(f"disorder_values must be >= 0, got {disorder_values!r}")
    return 1.0 / _quiescent_gains(g, get_nonlinearity(phi))


def _leading(matrix: np.ndarray) -> complex:
    eig = np.linalg.eigvals(matrix)
    return complex(eig[np.argmax(eig.real)])


def _stationary_states(t: np.ndarray, u: np.ndarray, disorder: np.ndarray, phi: Nonlinearity,
                       n_starts: int, seed: Any, extra_starts: list[np.ndarray]
                       ) -> list[CurrentFixedPoint]:
    """Multistart like `find_current_fixed_points` (zero and antithetic Gaussian starts of
    standard deviation 2), plus ``extra_starts``; a start whose root search runs off to
    non-finite currents is skipped instead of aborting the search."""
    r = t.shape[0]
    rng = np.random.default_rng(seed)
    half = rng.normal(scale=2.0, size=((n_starts + 1) // 2, r, r))
    found: list[CurrentFixedPoint] = []
    for start in [np.zeros((r, r)), *extra_starts, *half, *(-half)]:
        try:
            point = solve_currents(t, u, disorder, phi, initial_currents=start)
        except (ConvergenceError, ValueError):
            # Inputs are checked beforehand: a ValueError here is a NaN/inf iterate.
            continue
        if all(np.max(np.abs(point.currents - other.currents)) > 1e-6 for other in found):
            found.append(point)
    return sorted(found, key=lambda p: float(np.linalg.norm(p.currents)))


def _classify(t: np.ndarray, u: np.ndarray, disorder: np.ndarray, phi: Nonlinearity,
              n_starts: int, seed: Any, extra_starts: list[np.ndarray]) -> dict[str, Any]:
    r = t.shape[0]
    points = _stationary_states(t, u, disorder, phi, n_starts, seed, extra_starts)
    zero = [p for p in points if np.max(np.abs(p.currents)) < _ZERO]
    nonzero = [p for p in points if np.max(np.abs(p.currents)) >= _ZERO]
    stable = [p for p in nonzero if p.stable]
    out: dict[str, Any] = {"n_stable": sum(p.stable for p in points), "period": np.nan}
    if zero and zero[0].stable:
        return {**out, "state": 0, "norm": 0.0, "regimes": zero[0].regimes}
    if stable:
        best = max(stable, key=lambda p: float(np.linalg.norm(p.currents)))
        return {**out, "state": 1, "norm": float(np.linalg.norm(best.currents)),
                "regimes": best.regimes, "currents": best.currents}
    if np.any(disorder > 0):
        # Adiabatic approximation: no stationary state is stable. Chaos is judged at the
        # largest stationary state found (an approximation to the oscillating one).
        ref = points[-1] if points else None
        regimes = ref.regimes if ref is not None else ("fixed_point",) * r
        return {**out, "state": 2, "norm": np.nan, "regimes": regimes}
    regimes = ("fixed_point",) * r  # no disorder: no within-region chaos
    try:
        cycle = find_current_limit_cycle(t, u, phi, seed=seed)
    except ConvergenceError:
        cycle = None
    if cycle is not None and cycle.stable:
        return {**out, "state": 2, "norm": cycle.rms_norm, "period": cycle.period,
                "regimes": regimes}
    # No cycle: the multistart may have missed a stable state; settle and look again.
    rng = np.random.default_rng(seed)
    trajectory = integrate_currents(t, u, 0.5 * rng.standard_normal((r, r)), [0.0, 400.0], phi,
                                    rtol=1e-8, atol=1e-10)
    try:
        point = solve_currents(t, u, 0.0, phi, initial_currents=trajectory.currents[-1])
    except (ConvergenceError, ValueError):
        point = None
    if point is not None and point.stable:
        norm = float(np.linalg.norm(point.currents))
        return {**out, "n_stable": out["n_stable"] + 1, "state": 0 if norm < _ZERO else 1,
                "norm": norm, "regimes": regimes, "currents": point.currents}
    return {**out, "state": 3, "norm": float(np.linalg.norm(trajectory.currents[-1])),
            "regimes": regimes}


def phase_diagram(
    interactions: Any,
    input_overlaps: Any,
    disorder_values: Any,
    scales: Any,
    phi: str | Nonlinearity = "erf",
    *,
    region: int | None = None,
    n_starts: int = 8,
    seed: int | None = 0,
) -> xr.Dataset:
    """Classify the currents on a grid of disorder and leading eigenvalue of ``T_hat``.

    See the module docstring for the rescaling, the states and the approximations with
    disorder. Cost: a multistart root search per point (~0.05 s at g = 0, ~1-2 s amid chaos
    for R = 2, where every evaluation solves a DMFT per region) plus, at g = 0 without a
    stable state, one limit-cycle search (~1 s).

    Parameters
    ----------
    interactions, input_overlaps : array (R, R, R)
        T (its overall scale is irrelevant: only its shape is used) and U.
    disorder_values : array (n_g,)
        g >= 0.
    scales : array (n_lambda,)
        Real parts ``lambda > 0`` of the leading eigenvalue of ``T_hat``.
    phi : str or Nonlinearity, default "erf"
    region : int, optional
        Apply the disorder to this region only (others g = 0); default all regions.
    n_starts : int, default 8
        Random starts of the stationary-state search (plus S = 0).
    seed : int, optional
        Seed of the starts and of the limit-cycle search.

    Returns
    -------
    xarray.Dataset
        Dims ``disorder``, ``leading_eigenvalue`` (and ``region``); variables:

        - ``state`` (int8): index into `STATES`; attrs ``flag_values``, ``flag_meanings``.
        - ``current_norm``: ``|S|`` (Frobenius) of the stable state; the RMS of ``|S(t)|``
          over the period for a g = 0 cycle; NaN for a cycle amid disorder.
        - ``period``: of the g = 0 limit cycle; NaN otherwise.
        - ``n_stable_fixed_points``: stable stationary states found (S = 0 included).
        - ``chaotic`` (bool, with ``region``): the DMFT regime of each region at the found
          state (at the largest stationary state for a cycle amid disorder, approximate).
        - ``quiescence_boundary`` (disorder): ``lambda`` at which ``S = 0`` loses stability,
          ``1 / Re lambda_max(T_hat(psi))`` for the unit-scaled T with per-region
          ``psi = <phi'>(0, Delta0(g_nu))``; equals `quiescence_boundary` when every region
          has the disorder.
        Coordinate ``leading_eigenvalue_imag``: the imaginary part of that eigenvalue.

    Raises
    ------
    ValueError
        Bad shapes or values (the message names the parameter); ``interactions`` whose
        ``T_hat`` has no eigenvalue with positive real part (nothing to rescale).
    """
    t, u, _, nl = _check_model(interactions, input_overlaps, 0.0, phi)
    r = t.shape[0]
    g_values = check_array("disorder_values", disorder_values, ndim=1)
    if g_values.size == 0 or np.any(g_values < 0):
        raise ValueError(f"disorder_values must be a non-empty 1D array of g >= 0, "
                         f"got {disorder_values!r}")
    lam = check_array("scales", scales, ndim=1)
    if lam.size == 0 or np.any(lam <= 0):
        raise ValueError(f"scales must be a non-empty 1D array of leading eigenvalues > 0, "
                         f"got {scales!r}")
    if region is not None:
        if isinstance(region, bool) or not isinstance(region, int | np.integer) \
                or not 0 <= region < r:
            raise ValueError(f"region must be None or an integer in [0, {r - 1}], "
                             f"got {region!r}")
        region = int(region)
    n_starts = check_int("n_starts", n_starts)
    lead = _leading(effective_interaction_matrix(t))
    if lead.real <= 0:
        raise ValueError(f"interactions: the leading eigenvalue of T_hat, {lead:.3g}, has no "
                         f"positive real part; it cannot be rescaled to a positive one")
    unit = t / lead.real
    ratio = lead.imag / lead.real

    shape = (g_values.size, lam.size)
    state = np.zeros(shape, dtype=np.int8)
    norm = np.full(shape, np.nan)
    period = np.full(shape, np.nan)
    n_stable = np.zeros(shape, dtype=np.int64)
    chaotic = np.zeros((*shape, r), dtype=bool)
    boundary = np.empty(g_values.size)
    found: dict[tuple[int, int], np.ndarray] = {}  # stable nonzero currents, for continuation
    for i, g in enumerate(g_values):
        disorder = np.full(r, g) if region is None else np.where(np.arange(r) == region, g, 0.0)
        psi = _quiescent_gains(disorder, nl)
        boundary[i] = 1.0 / _leading(effective_interaction_matrix(unit, psi)).real
        for j, scale in enumerate(lam):
            # Continuation: the stable states of the neighbouring points already done (previous
            # disorder, previous scale) are extra starts, so a branch once found is followed.
            extra = [found[k] for k in ((i - 1, j), (i, j - 1)) if k in found]
            point = _classify(scale * unit, u, disorder, nl, n_starts, seed, extra)
            if "currents" in point:
                found[(i, j)] = point["currents"]
            state[i, j] = point["state"]
            norm[i, j] = point["norm"]
            period[i, j] = point["period"]
            n_stable[i, j] = point["n_stable"]
            chaotic[i, j] = [regime == "chaotic" for regime in point["regimes"]]

    dims = ("disorder", "leading_eigenvalue")
    return xr.Dataset(
        {
            "state": (dims, state, {
                "flag_values": list(range(len(STATES))), "flag_meanings": " ".join(STATES),
                "description": "long-time state of the mean-field currents"}),
            "current_norm": (dims, norm, {"description": "|S| at the stable state; RMS over "
                                          "the period for a g = 0 cycle"}),
            "period": (dims, period, {"description": "period of the g = 0 limit cycle"}),
            "n_stable_fixed_points": (dims, n_stable),
            "chaotic": ((*dims, "region"), chaotic,
                        {"description": "DMFT regime of each region at the found state"}),
            "quiescence_boundary": (("disorder",), boundary, {
                "description": "leading eigenvalue at which S = 0 loses stability"}),
        },
        coords={
            "disorder": g_values,
            "leading_eigenvalue": lam,
            "leading_eigenvalue_imag": ("leading_eigenvalue", lam * ratio),
            "region": np.arange(r),
        },
        attrs={
            "phi": nl.name,
            "disorder_region": "all" if region is None else region,
            "stability_with_disorder": "adiabatic Jacobian of solve_currents (approximate)",
        },
    )
