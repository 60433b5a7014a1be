"""Axes-level plots of simulated activity: traces, rasters, autocorrelations, currents.

Every function takes the Dataset returned by `rnndyn.simulate.simulate` (or loaded with
`rnndyn.io.load`), draws on the given Axes (a new figure when none is given) and returns
the Axes, so panels compose into larger figures (see `rnndyn.plot.figure.activity_figure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from rnndyn.plot._data import (
    neuron_axis,
    neuron_regions,
    pick_neurons,
    require,
    select_trial,
    time_series,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["autocorrelation", "currents", "latents", "raster", "traces"]


def _new_axes() -> Axes:
    # pyplot only when the caller gives no Axes: library figures built on explicit Axes never
    # touch the global pyplot state or need a display.
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax


def _time_unit(ds: xr.Dataset) -> str:
    if ds.attrs.get("model") == "DiscreteNetwork":
        return "steps"
    tau = ds.attrs.get("tau")
    return "τ" if tau in (None, 1, 1.0) else f"units of τ = {float(tau):g}"


def _time_label(ds: xr.Dataset) -> str:
    return f"time ({_time_unit(ds)})"


def traces(
    ds: xr.Dataset,
    variable: str = "x",
    trial: int = 0,
    neurons: int | Sequence[int] = 10,
    ax: Axes | None = None,
) -> Axes:
    """Draw the activity of a few neurons against time, one line per neuron.

    Parameters
    ----------
    ds : xarray.Dataset
        A simulation result holding ``variable`` (or its subsample ``<variable>_sample``)
        with dimensions (time, trial, neuron or sampled_neuron). ``"rates"`` that were not
        recorded are computed from the recorded state with ``attrs["phi"]``.
    variable : str, default "x"
        ``"x"``, ``"rates"``, or any recorded (time, trial, neuron) variable.
    trial : int, default 0
        Which trial (batch element) to draw.
    neurons : int or sequence of int, default 10
        How many neurons (spread evenly over the recorded ones) or their positions along the
        neuron dimension.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the dataset has no such variable (the message lists what it has), or ``trial`` or
        ``neurons`` are out of range.
    """
    series, name = time_series(ds, variable)
    series = select_trial(series, trial)
    dim = neuron_axis(series)
    chosen = pick_neurons(neurons, series.sizes[dim])
    ax = ax if ax is not None else _new_axes()
    values = series.isel({dim: chosen}).transpose("time", dim).values
    ax.plot(series["time"].values, values, linewidth=0.8)
    ax.set_xlabel(_time_label(ds))
    ax.set_ylabel(name)
    ax.set_title(f"{name}: {len(chosen)} neurons")
    return ax


def raster(
    ds: xr.Dataset,
    variable: str = "x",
    trial: int = 0,
    neurons: int | Sequence[int] | None = None,
    ax: Axes | None = None,
    colorbar: bool = True,
) -> Axes:
    """Draw the activity of many neurons as an image, time along x and neurons along y.

    Neurons of a multiregion network are stored region by region; region boundaries are
    marked with horizontal lines and the y ticks name the regions.

    Parameters
    ----------
    ds : xarray.Dataset
        As for `traces`.
    variable : str, default "x"
    trial : int, default 0
    neurons : int or sequence of int, optional
        All recorded neurons (default), a number spread evenly over them, or positions.
    ax : matplotlib.axes.Axes, optional
    colorbar : bool, default True
        Add a colorbar beside the axes.

    Returns
    -------
    matplotlib.axes.Axes
        Its ``images[0]`` is the raster.

    Raises
    ------
    ValueError
        If the dataset has no such variable (the message lists what it has), or ``trial`` or
        ``neurons`` are out of range.
    """
    series, name = time_series(ds, variable)
    series = select_trial(series, trial)
    dim = neuron_axis(series)
    series = series.isel({dim: pick_neurons(neurons, series.sizes[dim])})
    image = series.transpose(dim, "time").values
    time = series["time"].values
    ax = ax if ax is not None else _new_axes()
    low, high = float(np.nanmin(image)), float(np.nanmax(image))
    if low >= 0.0:
        cmap, vmin, vmax = "viridis", 0.0, high
    else:
        # Signed activity: a diverging map centred on zero shows the sign at a glance.
        bound = max(abs(low), abs(high))
        cmap, vmin, vmax = "RdBu_r", -bound, bound
    extent = (float(time[0]), float(time[-1]), -0.5, image.shape[0] - 0.5)
    shown = ax.imshow(image, aspect="auto", origin="lower", interpolation="nearest",
                      cmap=cmap, vmin=vmin, vmax=vmax, extent=extent)
    _mark_regions(ax, neuron_regions(ds, series))
    ax.set_xlabel(_time_label(ds))
    ax.set_title(f"{name}: {image.shape[0]} neurons")
    if colorbar and ax.figure is not None:
        ax.figure.colorbar(shown, ax=ax, label=name, fraction=0.05, pad=0.02)
    return ax


def _mark_regions(ax: Axes, regions: np.ndarray | None) -> None:
    if regions is None or regions.size == 0:
        ax.set_ylabel("neuron")
        return
    changes = np.flatnonzero(regions[1:] != regions[:-1]) + 1
    for boundary in changes:
        ax.axhline(boundary - 0.5, color="black", linewidth=0.8)
    starts = np.concatenate(([0], changes))
    stops = np.concatenate((changes, [regions.size]))
    ax.set_yticks((starts + stops - 1) / 2.0)
    ax.set_yticklabels([f"region {regions[start]}" for start in starts])


def autocorrelation(
    ds: xr.Dataset,
    variable: str = "x",
    ax: Axes | None = None,
    covariance: bool = False,
) -> Axes:
    """Draw the population-averaged autocorrelation against the lag, one line per trial.

    Plots ``<variable>_autocorrelation`` (``C(τ) = (1/N) Σ_i <v_i(t) v_i(t+τ)>_t``) as
    recorded by `rnndyn.simulate.Autocorrelation`, or ``<variable>_autocovariance``. A
    ``<variable>_autocorrelation_theory`` variable (dims ``lag``; the demo stores the DMFT
    prediction there) is drawn over it as a dashed black line labelled by its ``label`` attr.

    Parameters
    ----------
    ds : xarray.Dataset
        Holds ``<variable>_autocorrelation`` with dims (trial, lag).
    variable : str, default "x"
    ax : matplotlib.axes.Axes, optional
    covariance : bool, default False
        Draw the autocovariance (the mean activity subtracted) instead.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the dataset has no such variable (the message lists what it has).
    """
    name = f"{variable}_{'autocovariance' if covariance else 'autocorrelation'}"
    curve = require(ds, name)
    ax = ax if ax is not None else _new_axes()
    values = curve.transpose("trial", "lag").values if "trial" in curve.dims else curve.values
    lags = curve["lag"].values
    values = np.atleast_2d(values)
    # Individual trials faintly, their mean boldly: the spread shows the estimate's noise.
    if values.shape[0] > 1:
        ax.plot(lags, values.T, color="0.7", linewidth=0.8)
    theory = ds.get(f"{variable}_autocorrelation_theory")
    mean_label = "mean over trials" if values.shape[0] > 1 else None
    if mean_label is None and theory is not None:
        mean_label = "simulation"
    ax.plot(lags, np.nanmean(values, axis=0), color="C0", linewidth=2.0, label=mean_label)
    if theory is not None:
        # The DMFT's Delta(tau) (zero mean: autocorrelation and autocovariance coincide).
        ax.plot(theory["lag"].values, theory.values, color="black", linestyle="--",
                linewidth=1.5, label=theory.attrs.get("label", "theory"))
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel(f"lag ({_time_unit(ds)})")
    ax.set_ylabel(name)
    ax.set_title(f"population {'autocovariance' if covariance else 'autocorrelation'}")
    if mean_label is not None:
        ax.legend(fontsize="small")
    return ax


def currents(ds: xr.Dataset, trial: int = 0, ax: Axes | None = None) -> Axes:
    """Draw the currents that regions send each other against time, one line per component.

    Plots the ``current`` variable recorded by `rnndyn.simulate.Projection.currents`: the
    readout ``V_{rs}^T phi(x_s) / N_s`` of each coupling from source ``s`` to target ``r``.
    Lines are coloured by target region and labelled ``r ← s`` (with the rank component
    when a coupling has rank > 1). A ``current_theory`` variable (same time and component
    dims, no trial; the demo stores the mean-field prediction) is drawn dotted in black.

    Parameters
    ----------
    ds : xarray.Dataset
        Holds ``current`` with dims (time, trial, current_component) and coordinates
        ``target_region`` and ``source_region``.
    trial : int, default 0
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the dataset has no ``current`` variable (the message lists what it has).
    """
    current = select_trial(require(ds, "current"), trial)
    component = next(dim for dim in current.dims if dim != "time")
    current = current.transpose("time", component)
    targets = _coordinate(current, "target_region", component)
    sources = _coordinate(current, "source_region", component)
    ax = ax if ax is not None else _new_axes()
    time = current[current.dims[0]].values
    seen: dict[tuple[int, int], int] = {}
    for index in range(current.sizes[component]):
        pair = (int(targets[index]), int(sources[index]))
        rank_index = seen.get(pair, 0)
        seen[pair] = rank_index + 1
        label = f"{pair[0]} ← {pair[1]}" + (f" ({rank_index})" if rank_index else "")
        ax.plot(time, current.values[:, index], linewidth=1.0, label=label,
                color=f"C{pair[0] % 10}", linestyle=("-", "--", ":", "-.")[pair[1] % 4])
    theory = ds.get("current_theory")
    if theory is not None:
        theory = theory.transpose(theory.dims[0], component)
        for index in range(theory.sizes[component]):
            ax.plot(theory[theory.dims[0]].values, theory.values[:, index], color="black",
                    linewidth=0.8, linestyle=":",
                    label=theory.attrs.get("label", "theory") if index == 0 else None)
    ax.set_xlabel(_time_label(ds))
    ax.set_ylabel("current")
    ax.set_title("inter-region currents (target ← source)")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def latents(ds: xr.Dataset, ax: Axes | None = None) -> Axes:
    """Draw the latent variables of a low-rank network against time, for every trial.

    Plots the ``latent`` variable recorded by `rnndyn.simulate.Projection.latents`
    (``kappa = pinv(M) x``); colour marks the latent, and each trial is a separate line, so
    trials settling on different fixed points are told apart.

    Parameters
    ----------
    ds : xarray.Dataset
        Holds ``latent`` with dims (time, trial, latent_component).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the dataset has no ``latent`` variable (the message lists what it has).
    """
    latent = require(ds, "latent")
    component = next(dim for dim in latent.dims if dim not in ("time", "trial"))
    time_dim = latent.dims[0]
    latent = latent.transpose(time_dim, ..., component)
    values = latent.values.reshape(latent.sizes[time_dim], -1, latent.sizes[component])
    labels = [str(label) for label in latent[component].values]
    ax = ax if ax is not None else _new_axes()
    for index, label in enumerate(labels):
        lines = ax.plot(latent[time_dim].values, values[:, :, index], color=f"C{index % 10}",
                        linewidth=1.0)
        lines[0].set_label(label)
    ax.set_xlabel(_time_label(ds))
    ax.set_ylabel("latent")
    ax.set_title(f"latent variables, {values.shape[1]} trial(s)")
    ax.legend(fontsize="small")
    return ax


def _coordinate(da: xr.DataArray, name: str, dim: str) -> np.ndarray:
    if name in da.coords:
        return np.asarray(da[name].values)
    # Without region coordinates every component is its own "pair" so lines stay distinct.
    return np.arange(da.sizes[dim])
