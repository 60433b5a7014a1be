"""`activity_figure`: one row of panels per simulation, optionally saved atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import xarray as xr
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnndyn.plot import activity
from rnndyn.plot._files import atomic_path

__all__ = ["activity_figure", "save_figure"]

Panel = Callable[[xr.Dataset, Axes], Axes]
_RASTER_NEURONS = 100
_TRACE_NEURONS = 8


def _has_series(ds: xr.Dataset, variable: str) -> bool:
    return any(name in ds.data_vars and "time" in ds[name].dims
               for name in (variable, f"{variable}_sample"))


def _panels(ds: xr.Dataset) -> list[Panel]:
    """The panels a dataset supports, in a fixed order: traces, raster, statistics, currents."""
    panels: list[Panel] = []
    state = next((v for v in ("x", "rates") if _has_series(ds, v)), None)
    if state is not None:
        panels.append(lambda d, ax: activity.traces(d, state, neurons=_TRACE_NEURONS, ax=ax))
        # Rates (derived from x when only x was kept) show which neurons are active.
        panels.append(lambda d, ax: activity.raster(d, "rates", neurons=_RASTER_NEURONS, ax=ax))
    for variable in ("x", "rates"):
        if f"{variable}_autocorrelation" in ds.data_vars:
            panels.append(lambda d, ax, v=variable: activity.autocorrelation(d, v, ax=ax))
    if "current" in ds.data_vars:
        panels.append(lambda d, ax: activity.currents(d, ax=ax))
    if "latent" in ds.data_vars:
        panels.append(lambda d, ax: activity.latents(d, ax=ax))
    return panels


def _row_title(ds: xr.Dataset) -> str:
    kind = ds.attrs.get("connectivity", "network")
    parts = [str(kind)]
    if "n_neurons" in ds.attrs:
        parts.append(f"N = {int(ds.attrs['n_neurons'])}")
    if "phi" in ds.attrs:
        parts.append(f"φ = {ds.attrs['phi']}")
    return ", ".join(parts)


def activity_figure(
    datasets: xr.Dataset | Sequence[xr.Dataset],
    path: str | os.PathLike[str] | None = None,
    titles: Sequence[str] | None = None,
    dpi: int = 110,
) -> Figure:
    """Compose a figure with one row of panels per simulation result.

    Each row holds what its dataset supports: sample traces of the state, a raster of the
    rates of up to 100 neurons (regions marked for multiregion networks), the population
    autocorrelation, the inter-region currents and the low-rank latents when they were
    recorded.

    Parameters
    ----------
    datasets : xarray.Dataset or sequence of xarray.Dataset
        Results of `rnndyn.simulate.simulate`.
    path : str or path-like, optional
        Save the figure there (format from the suffix, e.g. ``.png``, ``.pdf``, ``.svg``),
        atomically: a temporary file in the same folder is renamed over the target.
    titles : sequence of str, optional
        One title per row; default names the connectivity, N and the nonlinearity.
    dpi : int, default 110
        Resolution of raster formats.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn with the Agg canvas, so no display is needed.

    Raises
    ------
    ValueError
        If ``datasets`` is empty, holds something other than Datasets, a dataset has nothing
        plottable, or ``titles`` has the wrong length.
    """
    rows = [datasets] if isinstance(datasets, xr.Dataset) else list(datasets)
    if not rows:
        raise ValueError("datasets must hold at least one xarray.Dataset, got none")
    for index, ds in enumerate(rows):
        if not isinstance(ds, xr.Dataset):
            raise ValueError(f"datasets[{index}] must be an xarray.Dataset, "
                             f"got {type(ds).__name__}")
    if titles is not None and len(titles) != len(rows):
        raise ValueError(f"titles must have one entry per dataset ({len(rows)}), "
                         f"got {len(titles)}")
    panels = [_panels(ds) for ds in rows]
    for index, (ds, row) in enumerate(zip(rows, panels, strict=True)):
        if not row:
            has = ", ".join(sorted(map(str, ds.data_vars))) or "no variables"
            raise ValueError(f"datasets[{index}] has nothing to plot: no x or rates time series, "
                             f"autocorrelation or currents; it has: {has}")
    n_columns = max(len(row) for row in panels)
    figure = Figure(figsize=(4.6 * n_columns, 3.6 * len(rows)), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subfigures(len(rows), 1, squeeze=False)[:, 0]
    for index, (ds, row, subfigure) in enumerate(zip(rows, panels, grid, strict=True)):
        axes = subfigure.subplots(1, n_columns, squeeze=False)[0]
        for draw, ax in zip(row, axes, strict=False):
            draw(ds, ax)
        for ax in axes[len(row):]:
            ax.set_axis_off()
        subfigure.suptitle(titles[index] if titles is not None else _row_title(ds),
                           fontweight="bold")
    if path is not None:
        save_figure(figure, path, dpi=dpi)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save ``figure`` atomically: into a temporary file beside ``path``, then renamed over it.

    A reader (a browser refreshing the demo page, say) never sees a half-written image.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or path-like
        Target file; its suffix gives the format and its folder must exist.
    dpi : int, default 110

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format=fmt, dpi=dpi)
    return target
