"""Plots of linearisations: eigenvalue spectra and fixed points (matplotlib).

``spectrum`` draws a `rnndyn.analysis.linear.Spectrum` (eigenvalues in the complex plane, the
predicted bulk disk and low-rank outliers, and the stability boundary); ``fixed_points`` draws a
`rnndyn.analysis.fixed_points.FixedPoints` in a two-dimensional projection (principal components
of the points, or of trajectories given with them), coloured by stability. Both take an optional
Axes and return the Axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rnndyn.analysis.fixed_points import FixedPoints
    from rnndyn.analysis.linear import Spectrum

__all__ = ["fixed_points", "spectrum"]

_COLORS = {"stable": "tab:blue", "marginal": "tab:green", "unstable": "tab:red"}
_MARKERS = {"stable": "o", "marginal": "s", "unstable": "x"}


def _new_axes() -> Axes:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax


def spectrum(spec: Spectrum, ax: Axes | None = None, *, boundary: bool = True) -> Axes:
    """Draw eigenvalues with the predicted bulk circle and outliers.

    Parameters
    ----------
    spec : Spectrum
        From `rnndyn.analysis.linear.connectivity_spectrum` or ``jacobian_spectrum``.
    ax : matplotlib.axes.Axes, optional
    boundary : bool, default True
        For a Jacobian, also draw the stability boundary (``Re lambda = 0`` for a flow, the
        unit circle for a map).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.patches import Circle

    if not hasattr(spec, "eigenvalues") or not hasattr(spec, "radius"):
        raise ValueError(f"spec must be a Spectrum, got {type(spec).__name__}")
    ax = ax if ax is not None else _new_axes()
    values = np.asarray(spec.eigenvalues)
    ax.scatter(values.real, values.imag, s=6, color="k", label="eigenvalues")
    if spec.radius > 0:
        ax.add_patch(Circle((spec.center, 0.0), spec.radius, fill=False, color="tab:blue",
                            linestyle="--", label=f"bulk radius {spec.radius:.3g}"))
    if len(spec.outliers):
        outliers = np.asarray(spec.outliers)
        ax.scatter(outliers.real, outliers.imag, s=60, facecolors="none",
                   edgecolors="tab:red", label="low-rank outliers")
    if boundary and spec.kind == "jacobian":
        if spec.discrete:
            ax.add_patch(Circle((0.0, 0.0), 1.0, fill=False, color="0.5", linewidth=0.8,
                                label="|λ| = 1"))
        else:
            ax.axvline(0.0, color="0.5", linewidth=0.8, label="Re λ = 0")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title("spectrum of J" if spec.kind == "connectivity" else "Jacobian spectrum")
    ax.legend(fontsize="small")
    return ax


def _projection(fps: FixedPoints, basis: Any, trajectories: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
    n = fps.points.shape[1]
    if basis is not None:
        basis = np.asarray(basis, dtype=float)
        if basis.shape != (n, 2) or not np.all(np.isfinite(basis)):
            raise ValueError(f"projection must be a finite array of shape ({n}, 2), "
                             f"got {basis.shape}")
        return basis, np.zeros(n)
    data = fps.points if trajectories is None else trajectories
    if n < 2:
        raise ValueError(f"the points must have at least 2 dimensions to project, got {n}")
    center = data.mean(axis=0)
    _, _, vt = np.linalg.svd(data - center, full_matrices=False)
    basis = vt[:2].T
    if basis.shape[1] < 2:  # a single point: any two axes will do
        basis = np.eye(n)[:, :2]
    return basis, center


def fixed_points(
    fps: FixedPoints,
    ax: Axes | None = None,
    *,
    projection: Any = None,
    trajectories: Any = None,
) -> Axes:
    """Draw fixed/slow points in two dimensions, coloured and shaped by stability.

    Stable points are blue discs, marginal green squares, unstable red crosses; slow points are
    drawn hollow/faint. Trajectories, if given, are drawn as thin grey lines.

    Parameters
    ----------
    fps : FixedPoints
    ax : matplotlib.axes.Axes, optional
    projection : array (n, 2), optional
        Projection basis (e.g. the loadings M of a rank-two network); by default the first two
        principal components of ``trajectories`` (if given) or of the points.
    trajectories : array (time, n) or (time, trial, n), optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        A projection or trajectories of the wrong shape.
    """
    n = fps.points.shape[1]
    traj = None
    if trajectories is not None:
        traj = np.asarray(trajectories, dtype=float)
        if traj.shape[-1] != n or traj.ndim not in (2, 3):
            raise ValueError(f"trajectories must have shape (time, {n}) or (time, trial, {n}), "
                             f"got {traj.shape}")
        traj = traj[:, None, :] if traj.ndim == 2 else traj
    basis, center = _projection(fps, projection, None if traj is None
                                else traj.reshape(-1, n))
    ax = ax if ax is not None else _new_axes()
    if traj is not None:
        for trial in range(traj.shape[1]):
            path = (traj[:, trial] - center) @ basis
            ax.plot(path[:, 0], path[:, 1], color="0.7", linewidth=0.6)
    coords = (fps.points - center) @ basis
    for label, color in _COLORS.items():
        for fixed in (True, False):
            pick = (fps.stability == label) & (fps.is_fixed == fixed)
            if not np.any(pick):
                continue
            ax.scatter(coords[pick, 0], coords[pick, 1], color=color, marker=_MARKERS[label],
                       s=40, alpha=1.0 if fixed else 0.4,
                       label=f"{label} ({'fixed' if fixed else 'slow'}, {int(pick.sum())})")
    ax.set_xlabel("projection 1" if projection is not None else "PC 1")
    ax.set_ylabel("projection 2" if projection is not None else "PC 2")
    ax.set_title(f"{len(fps)} fixed/slow points")
    if len(fps):
        ax.legend(fontsize="small")
    return ax
