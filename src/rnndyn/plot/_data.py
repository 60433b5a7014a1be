"""Looking up what a plot needs in a simulation Dataset, with errors that say what is there."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from rnndyn.nonlinearities import get_nonlinearity

__all__ = [
    "neuron_axis",
    "neuron_regions",
    "pick_neurons",
    "require",
    "select_trial",
    "time_series",
]


def _available(ds: xr.Dataset) -> str:
    names = sorted(str(name) for name in ds.data_vars)
    return ", ".join(names) if names else "no variables"


def require(ds: xr.Dataset, name: str) -> xr.DataArray:
    """Return ``ds[name]`` or raise a ValueError naming it and listing the dataset's variables."""
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if name not in ds.data_vars:
        raise ValueError(f"the dataset has no variable {name!r}; it has: {_available(ds)}")
    return ds[name]


def time_series(ds: xr.Dataset, variable: str) -> tuple[xr.DataArray, str]:
    """The (time, trial, neuron-like) array of ``variable`` and the name it was found under.

    Looks for ``variable`` itself, then for its subsample ``<variable>_sample``. Rates that
    were not recorded are computed from the recorded state with the dataset's nonlinearity
    (``attrs["phi"]``), since ``rates = phi(x)`` is all the "rates" recorder stores.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    for name in (variable, f"{variable}_sample"):
        if name in ds.data_vars and "time" in ds[name].dims:
            return ds[name], name
    if variable == "rates" and "phi" in ds.attrs:
        phi = get_nonlinearity(str(ds.attrs["phi"]))
        for name in ("x", "x_sample"):
            if name in ds.data_vars and "time" in ds[name].dims:
                state = ds[name]
                return state.copy(data=phi(state.values)), f"phi({name})"
    series = sorted(str(n) for n, v in ds.data_vars.items() if "time" in v.dims)
    listed = ", ".join(series) if series else "none"
    raise ValueError(
        f"the dataset has no time series {variable!r} (nor {variable + '_sample'!r}); "
        f"time series it has: {listed}; all variables: {_available(ds)}"
    )


def neuron_axis(da: xr.DataArray) -> str:
    """Name of the neuron dimension of a recorded time series."""
    for dim in ("neuron", "sampled_neuron"):
        if dim in da.dims:
            return dim
    raise ValueError(f"expected a 'neuron' or 'sampled_neuron' dimension, got dims {da.dims}")


def select_trial(da: xr.DataArray, trial: int) -> xr.DataArray:
    """``da`` at position ``trial`` of its trial dimension, with a clear error when out of range."""
    if "trial" not in da.dims:
        return da
    count = da.sizes["trial"]
    if isinstance(trial, bool) or not isinstance(trial, int | np.integer):
        raise ValueError(f"trial must be an integer, got {trial!r}")
    if not -count <= trial < count:
        raise ValueError(f"trial must be in [0, {count}), got {trial}")
    return da.isel(trial=int(trial))


def pick_neurons(count_or_index: int | Sequence[int] | None, available: int) -> np.ndarray:
    """Positions of the neurons to draw: all, ``k`` spread evenly, or explicit positions."""
    if count_or_index is None:
        return np.arange(available)
    if isinstance(count_or_index, int | np.integer) and not isinstance(count_or_index, bool):
        count = int(count_or_index)
        if count < 1:
            raise ValueError(f"neurons must be >= 1, got {count}")
        # Evenly spread rather than the first k, so every region of a multiregion network
        # (stored contiguously) shows up.
        return np.unique(np.linspace(0, available - 1, min(count, available)).round().astype(int))
    index = np.asarray(count_or_index)
    if index.ndim != 1 or index.size == 0 or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"neurons must be an int or a 1D sequence of integer positions, "
                         f"got {count_or_index!r}")
    if index.min() < -available or index.max() >= available:
        raise ValueError(f"neurons must be positions in [0, {available}), got {index.tolist()}")
    return index


def neuron_regions(ds: xr.Dataset, da: xr.DataArray) -> np.ndarray | None:
    """Region label of each neuron of ``da`` (None when the network has no regions)."""
    if "neuron_region" not in ds.coords:
        return None
    labels = np.asarray(ds["neuron_region"].values)
    dim = neuron_axis(da)
    if dim == "neuron":
        return labels[np.asarray(da["neuron"].values)] if "neuron" in da.coords else labels
    return labels[np.asarray(da[dim].values)]
