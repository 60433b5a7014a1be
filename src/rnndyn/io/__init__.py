"""Reading and writing rnndyn results (NetCDF via xarray + h5netcdf)."""

from rnndyn.io.netcdf import load, parameters, save

__all__ = ["load", "parameters", "save"]
