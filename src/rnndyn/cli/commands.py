"""The `simulate` and `plot` subcommands (the `demo` one lives in `rnndyn.cli.demo`)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import torch
import xarray as xr

from rnndyn import io
from rnndyn.cli.build import (
    build_connectivity,
    build_network,
    build_recorders,
    guarded,
    simulate_options,
)
from rnndyn.cli.config import SimulationConfig, apply_overrides, read_config, validate
from rnndyn.cli.schema import RUN_KEYS, ConfigError
from rnndyn.simulate import simulate

__all__ = [
    "check_device",
    "check_netcdf_writer",
    "check_output_file",
    "plot_command",
    "simulate_command",
]


def check_output_file(path: Path, option: str = "-o/--output") -> Path:
    """Refuse, before any work is done, an output whose folder is missing or that is a folder."""
    if path.is_dir():
        raise ConfigError(option, f"expected a file name, got the folder {str(path)!r}")
    if not path.parent.is_dir():
        raise ConfigError(option, f"folder {str(path.parent)!r} does not exist")
    return path


def check_netcdf_writer() -> None:
    """Refuse to start a run whose result could not be saved for want of the NetCDF writer."""
    if importlib.util.find_spec("h5netcdf") is None:
        raise ConfigError("-o/--output", "writing NetCDF needs the 'h5netcdf' package, which is "
                                         "not installed (pip install h5netcdf)")


def check_device(name: str) -> torch.device:
    """A torch device that exists on this machine, or a `ConfigError` for ``--device``."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError("--device", f"expected a torch device such as 'cpu' or 'cuda', "
                                      f"got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device", f"{name!r} was asked for but CUDA is not available here")
    return device


def load_simulation_config(path: Path, overrides: list[str]) -> SimulationConfig:
    """Read, override and validate a config file."""
    return validate(apply_overrides(read_config(path), overrides))


def simulate_command(
    config_path: Path,
    output: Path,
    device: str = "cpu",
    quiet: bool = False,
    overrides: list[str] | None = None,
) -> xr.Dataset:
    """Run the simulation a config describes and save it to ``output``.

    Every check (config keys, output folder, device, and the values the library rejects when
    the network is built) happens before the first simulation step.

    Returns
    -------
    xarray.Dataset
        What was saved.

    Raises
    ------
    ConfigError
        A problem with the config, the output path or the device, naming the key or option.
    rnndyn.SimulationError
        The simulation blew up.
    """
    config = load_simulation_config(config_path, overrides or [])
    check_output_file(output)
    check_netcdf_writer()
    torch_device = check_device(device)
    connectivity = build_connectivity(config)
    network = build_network(config, connectivity)
    record = build_recorders(config, connectivity)
    started = time.perf_counter()
    result = guarded("run", RUN_KEYS, lambda: simulate(
        network, record=record, device=torch_device, progress=False if quiet else None,
        **simulate_options(config)))
    elapsed = time.perf_counter() - started
    if config.description:
        result.attrs["description"] = config.description
    result.attrs["config_file"] = str(config_path)
    result.attrs["config"] = json.dumps(config.source, default=str)
    result.attrs["wall_time_s"] = round(elapsed, 3)
    io.save(result, output)
    if not quiet:
        print(summary(result, output, elapsed))
    return result


def summary(result: xr.Dataset, output: Path, elapsed: float) -> str:
    """One line saying what was simulated, what was kept and where it went."""
    params = io.parameters(result)["run"]
    variables = ", ".join(str(name) for name in result.data_vars if name != "final_state")
    return (f"rnndyn: wrote {output} ({result.attrs['connectivity']}, "
            f"N={result.attrs['n_neurons']}, phi={result.attrs['phi']}; "
            f"{params['n_steps']} steps of dt={params['dt']:g}, batch {params['batch']}; "
            f"{variables or 'final state only'}) in {elapsed:.2f} s")


def plot_command(results: list[Path], output: Path) -> Path:
    """Draw `rnndyn.plot.activity_figure` of saved results into ``output``."""
    from rnndyn.plot import activity_figure

    check_output_file(output)
    datasets = []
    for path in results:
        try:
            datasets.append(io.load(path))
        except (FileNotFoundError, ValueError) as error:
            raise ConfigError(str(path), str(error).removeprefix("path: ")) from None
    try:
        activity_figure(datasets, output)
    except ValueError as error:
        raise ConfigError("plot", str(error)) from None
    print(f"rnndyn: wrote {output}")
    return output
