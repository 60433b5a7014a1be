"""Statistics of an attractor from a sampled trajectory: correlation dimension, power spectrum.

Used by `rnndyn.analysis.synchronization` to compare a closed-loop network with the system it
learned, and usable on any trajectory (simulated or recorded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal
import scipy.spatial

from rnndyn._validation import check_array, check_int, check_number
from rnndyn.connectivity._random import resolve_seed

__all__ = ["CorrelationDimensionResult", "correlation_dimension", "power_spectrum"]


@dataclass(frozen=True)
class CorrelationDimensionResult:
    """Grassberger-Procaccia estimate from `correlation_dimension`.

    Attributes
    ----------
    dimension : float
        Slope of ``log C(r)`` against ``log r`` over the fit range.
    radii, correlation_sum : ndarray (n_radii,)
        ``r`` and ``C(r)``, the fraction of pairs (further apart in time than the Theiler
        window) closer than r.
    fit_range : tuple of float
        The radii between which the slope was fitted.
    """

    dimension: float
    radii: np.ndarray
    correlation_sum: np.ndarray
    fit_range: tuple[float, float]


def correlation_dimension(
    points: np.ndarray,
    *,
    n_points: int = 2000,
    theiler_window: int = 10,
    c_range: tuple[float, float] = (1e-3, 3e-2),
    n_radii: int = 20,
    seed: int | np.random.Generator | None = None,
) -> CorrelationDimensionResult:
    """Correlation dimension D_2 (Grassberger & Procaccia 1983) of sampled points.

    ``C(r) = (2 / (M (M - 1))) #{i < j : |t_i - t_j| > w, |s_i - s_j| < r}`` on M points drawn
    at random (without replacement) from the trajectory; ``C(r) ~ r^D_2`` as r -> 0. The slope
    is fitted by least squares in log-log over the radii where C lies within ``c_range``
    (small enough to be in the scaling region, large enough to hold many pairs:
    ``c_range[0] M^2 / 2`` pairs at the smallest radius).

    Parameters
    ----------
    points : array (T, d)
        A trajectory sampled in time (rows in time order).
    n_points : int
        M, at most T (pairwise distances cost M^2 / 2).
    theiler_window : int >= 0
        Pairs closer than this many samples in time are left out (they are correlated by the
        flow, not by the geometry); must be < T - 1.
    c_range : (float, float)
        Range of C(r) used for the fit, 0 < low < high <= 1.
    n_radii : int
        Radii, log-spaced across the fit range.
    seed : int or numpy.random.Generator, optional
        The subsample.

    Returns
    -------
    CorrelationDimensionResult

    Raises
    ------
    ValueError
        Non-finite ``points``, ``n_points`` > T, a ``theiler_window`` too long for T, or a
        bad ``c_range``.
    """
    s = check_array("points", points, ndim=(1, 2))
    if s.ndim == 1:
        s = s[:, None]
    n_total = s.shape[0]
    m = check_int("n_points", n_points, low=3)
    if m > n_total:
        raise ValueError(f"n_points must be <= the number of points T={n_total}, got {m}")
    w = check_int("theiler_window", theiler_window, low=0)
    if w >= n_total - 1:
        raise ValueError(f"theiler_window must be < T - 1 = {n_total - 1} (the trajectory is "
                         f"too short for it), got {w}")
    low, high = (check_number("c_range", c, low=0.0, high=1.0, low_inclusive=False)
                 for c in c_range)
    if low >= high:
        raise ValueError(f"c_range must be increasing, got {c_range!r}")
    n_radii = check_int("n_radii", n_radii, low=3)
    rng, _ = resolve_seed(seed)
    idx = np.sort(rng.choice(n_total, size=m, replace=False))
    dist = scipy.spatial.distance.pdist(s[idx])
    i, j = np.triu_indices(m, k=1)
    dist = np.sort(dist[(idx[j] - idx[i]) > w])
    if dist.size < 10:
        raise ValueError("theiler_window leaves fewer than 10 pairs: lower it or raise n_points")
    r_low = dist[max(0, int(low * dist.size) - 1)]
    r_high = dist[min(dist.size - 1, int(high * dist.size))]
    if not r_low > 0:
        raise ValueError("points has repeated values at the smallest radii; raise c_range")
    radii = np.geomspace(r_low, r_high, n_radii)
    c = np.searchsorted(dist, radii, side="left") / dist.size
    good = c > 0
    slope = np.polyfit(np.log(radii[good]), np.log(c[good]), 1)[0]
    return CorrelationDimensionResult(float(slope), radii, c, (float(r_low), float(r_high)))


def power_spectrum(
    signal: np.ndarray, dt: float, *, nperseg: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided power spectral density of a sampled signal (Welch, Hann window, 50% overlap).

    Parameters
    ----------
    signal : array (T,)
    dt : float
        Sampling step; frequencies are in cycles per unit time.
    nperseg : int
        Segment length, <= T.

    Returns
    -------
    frequencies, density : ndarray
    """
    x = check_array("signal", signal, ndim=1)
    dt = check_number("dt", dt, low=0.0, low_inclusive=False)
    nperseg = check_int("nperseg", nperseg, low=8)
    if nperseg > x.size:
        raise ValueError(f"nperseg must be <= the signal length {x.size} (signal too short), "
                         f"got {nperseg}")
    return scipy.signal.welch(x, fs=1.0 / dt, nperseg=nperseg)


