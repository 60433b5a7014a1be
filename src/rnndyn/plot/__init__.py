"""Plots of simulated network activity (matplotlib).

Axes-level functions take a simulation Dataset (from `rnndyn.simulate.simulate` or
`rnndyn.io.load`) and an optional Axes, and return the Axes::

    from rnndyn import plot
    ax = plot.traces(ds, "x", neurons=10)
    plot.raster(ds, "rates", neurons=100)
    plot.autocorrelation(ds)          # needs an Autocorrelation recorder
    plot.currents(ds_multiregion)     # needs Projection.currents
    plot.latents(ds_low_rank)         # needs Projection.latents
    plot.current_dynamics(time, currents, theory=trajectory)   # arrays (T, R, R)
    plot.phase_diagram(rnndyn.theory.multiregion.phase_diagram(...))
    plot.spectrum(rnndyn.analysis.connectivity_spectrum(network))   # eigenvalues, bulk, outliers
    plot.fixed_points(rnndyn.analysis.find_fixed_points(network))

`activity_figure` composes them, one row per dataset, and saves the figure atomically.
"""

from rnndyn.plot.activity import autocorrelation, currents, latents, raster, traces
from rnndyn.plot.figure import activity_figure, save_figure
from rnndyn.plot.multiregion import current_dynamics, phase_diagram
from rnndyn.plot.spectra import fixed_points, spectrum

__all__ = [
    "activity_figure",
    "autocorrelation",
    "current_dynamics",
    "currents",
    "fixed_points",
    "latents",
    "phase_diagram",
    "raster",
    "save_figure",
    "spectrum",
    "traces",
]
