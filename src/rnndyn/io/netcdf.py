"""NetCDF storage of simulation results, written atomically.

A result is written to a temporary file beside the target and renamed over it only once
complete, so an interrupted save never leaves a half-written file under the target's name.
Files carry ``attrs["rnndyn_kind"]``; `load` refuses NetCDF files that lack it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import xarray as xr

__all__ = ["load", "parameters", "save"]

_ENGINE = "h5netcdf"


def save(dataset: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` to ``path`` as NetCDF-4, atomically (temp file, then rename).

    Parameters
    ----------
    dataset : xarray.Dataset
        A result of rnndyn (its ``attrs["rnndyn_kind"]`` is kept; one is added if absent).
    path : str or path-like
        Target file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    if not isinstance(dataset, xr.Dataset):
        raise ValueError(f"dataset must be an xarray.Dataset, got {type(dataset).__name__}")
    target = Path(path)
    if not target.parent.exists():
        raise FileNotFoundError(f"path: folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"path must be a file name, got the folder {str(target)!r}")
    out = dataset.copy()
    out.attrs = {k: _attr_value(v) for k, v in dataset.attrs.items() if v is not None}
    out.attrs.setdefault("rnndyn_kind", "dataset")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        out.to_netcdf(tmp, engine=_ENGINE, invalid_netcdf=True)
        # mkstemp creates the file 0600; give the result the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a result written by `save` (fully into memory; the file is closed afterwards).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not NetCDF, or is NetCDF not written by rnndyn.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"path: no such file {str(source)!r}")
    try:
        with xr.open_dataset(source, engine=_ENGINE) as ds:
            loaded = ds.load()
    except (OSError, ValueError) as err:
        raise ValueError(f"path: {str(source)!r} is not a NetCDF file readable by rnndyn "
                         f"({type(err).__name__}: {err})") from None
    if "rnndyn_kind" not in loaded.attrs:
        raise ValueError(f"path: {str(source)!r} is a NetCDF file but not an rnndyn result "
                         "(no 'rnndyn_kind' attribute)")
    return loaded


def parameters(dataset: xr.Dataset) -> dict[str, Any]:
    """The parameters a result was produced with (decoded from ``attrs["parameters"]``)."""
    raw = dataset.attrs.get("parameters")
    if raw is None:
        raise ValueError("dataset has no 'parameters' attribute (not an rnndyn result?)")
    return json.loads(raw)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _attr_value(value: Any) -> Any:
    # NetCDF attributes hold numbers, strings and 1D arrays; bools and nested data become
    # ints and JSON so that any rnndyn result can be written.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return value
