"""Plots of the multiregion mean-field theory: phase diagrams and current time courses.

``phase_diagram`` draws the Dataset of `rnndyn.theory._multiregion_phase.phase_diagram`;
``current_dynamics`` draws currents ``S[t, mu, nu]`` (theory or simulation), optionally with a
theory curve on top. Both draw on the given Axes (a new figure when none is given) and return
it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["current_dynamics", "phase_diagram"]

_STATE_COLOURS = ("#d9d9d9", "#6baed6", "#fd8d3c", "#9e9ac8", "#74c476", "#fb6a4a")


def _new_axes() -> Axes:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres: midpoints inside, half a step outside."""
    if centres.size == 1:
        half = 0.5 * max(abs(float(centres[0])), 1.0) * 0.1
        return np.array([centres[0] - half, centres[0] + half])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def phase_diagram(ds: xr.Dataset, ax: Axes | None = None) -> Axes:
    """Draw the state of the currents over (leading eigenvalue, disorder).

    One coloured cell per grid point (``state``, with the names in its ``flag_meanings``
    attribute), and the quiescence boundary ``1 / psi(g)`` (``quiescence_boundary``) as a
    dashed line: left of it ``S = 0`` is stable.

    Parameters
    ----------
    ds : xarray.Dataset
        From ``phase_diagram``: ``state`` (disorder, leading_eigenvalue) and, optionally,
        ``quiescence_boundary`` (disorder).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``ds`` has no ``state`` variable with dims (disorder, leading_eigenvalue).
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if "state" not in ds or set(ds["state"].dims) != {"disorder", "leading_eigenvalue"}:
        raise ValueError("ds must hold 'state' with dims (disorder, leading_eigenvalue), as "
                         f"returned by phase_diagram; it has {sorted(ds.data_vars)}")
    state = ds["state"].transpose("disorder", "leading_eigenvalue")
    names = str(state.attrs.get("flag_meanings", "")).split() or [
        str(v) for v in range(int(state.max()) + 1)]
    codes = np.arange(len(names))
    colours = [_STATE_COLOURS[k % len(_STATE_COLOURS)] for k in codes]
    x = np.asarray(ds["leading_eigenvalue"].values, dtype=float)
    y = np.asarray(ds["disorder"].values, dtype=float)
    ax = ax if ax is not None else _new_axes()
    ax.pcolormesh(_edges(x), _edges(y), state.values, cmap=ListedColormap(colours),
                  norm=BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names)))
    present = set(np.unique(state.values).tolist())
    handles: list[Any] = [Patch(facecolor=colours[k], edgecolor="none",
                                label=names[k].replace("_", " "))
                          for k in codes if k in present]
    if "quiescence_boundary" in ds:
        ax.plot(ds["quiescence_boundary"].values, y, color="black", linestyle="--",
                linewidth=1.5)
        handles.append(Line2D([], [], color="black", linestyle="--",
                              label="S = 0 unstable: Re λ = 1/ψ(g)"))
    ax.set_xlim(_edges(x)[[0, -1]])
    ax.set_ylim(_edges(y)[[0, -1]])
    ax.set_xlabel("leading eigenvalue of T̂, Re λ")
    ax.set_ylabel("disorder g")
    ax.set_title("multiregion currents: phase diagram")
    ax.legend(handles=handles, fontsize="small", loc="best")
    return ax


def _as_currents(name: str, time: Any, currents: Any) -> tuple[np.ndarray, np.ndarray]:
    grid = np.asarray(time, dtype=float)
    values = np.asarray(currents, dtype=float)
    if grid.ndim != 1 or values.ndim != 3 or values.shape[0] != grid.size \
            or values.shape[1] != values.shape[2]:
        raise ValueError(f"{name} must be currents of shape (T, R, R) with T = len(time) = "
                         f"{grid.size}, got {values.shape}")
    return grid, values


def current_dynamics(time: Any, currents: Any, ax: Axes | None = None, theory: Any = None) -> Axes:
    """Draw each current ``S[mu, nu]`` against time, one line per (target, source) pair.

    Parameters
    ----------
    time : array (T,)
    currents : array (T, R, R)
        ``currents[t, mu, nu]``: what region nu sends to region mu (solid lines, coloured by
        pair, labelled ``mu ← nu``).
    ax : matplotlib.axes.Axes, optional
    theory : optional
        Curves drawn dashed over the data, same colour per pair: an object with ``time`` and
        ``currents`` attributes (`CurrentTrajectory`, `CurrentLimitCycle`) or a pair
        ``(time, currents)``.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``currents`` (or the theory's) is not (T, R, R) with T matching its time.
    """
    grid, values = _as_currents("currents", time, currents)
    reference = None
    if theory is not None:
        if hasattr(theory, "time") and hasattr(theory, "currents"):
            reference = _as_currents("theory", theory.time, theory.currents)
        else:
            try:
                t_time, t_currents = theory
            except (TypeError, ValueError):
                raise ValueError("theory must have time and currents attributes or be a pair "
                                 f"(time, currents), got {type(theory).__name__}") from None
            reference = _as_currents("theory", t_time, t_currents)
        if reference[1].shape[1] != values.shape[1]:
            raise ValueError(f"theory has R = {reference[1].shape[1]} regions, currents "
                             f"R = {values.shape[1]}")
    r = values.shape[1]
    ax = ax if ax is not None else _new_axes()
    for mu in range(r):
        for nu in range(r):
            colour = f"C{(mu * r + nu) % 10}"
            ax.plot(grid, values[:, mu, nu], color=colour, linewidth=1.2, label=f"{mu} ← {nu}")
            if reference is not None:
                ax.plot(reference[0], reference[1][:, mu, nu], color=colour, linestyle="--",
                        linewidth=1.0)
    if reference is not None:
        from matplotlib.lines import Line2D

        handles, _ = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="grey", linestyle="--", label="theory"))
        ax.legend(handles=handles, fontsize="x-small", ncol=2)
    else:
        ax.legend(fontsize="x-small", ncol=2)
    ax.set_xlabel("time (τ)")
    ax.set_ylabel("current S (target ← source)")
    ax.set_title("inter-region currents")
    return ax
