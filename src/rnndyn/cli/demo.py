"""``rnndyn demo``: two classic networks simulated, drawn and described on an HTML page.

(a) A chaotic random network (Sompolinsky, Crisanti & Sommers 1988): Gaussian J with gain
g = 2 > 1, where the quiescent state is unstable and activity fluctuates chaotically.
(b) A multiregion network (Clark & Beiran 2024): three regions with symmetric effective
interactions exchange currents through rank-1 communication subspaces; region 0 has disorder
g = 1.5 (chaotic on its own, quenched by the currents it carries); the recorded currents are
drawn over the mean-field prediction (`rnndyn.theory.multiregion.solve_current_dynamics`, the
two-time DMFT with currents).

Outputs in the chosen folder: ``demo.png``, ``index.html``, ``random_network.nc`` and
``multiregion.nc``, each written atomically.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from rnndyn import io
from rnndyn.cli.demo_page import render_page, write_text_atomic
from rnndyn.connectivity import gaussian
from rnndyn.models import MultiRegionModel
from rnndyn.simulate import Autocorrelation, MeanVariance, Network, Projection, Trajectory, simulate
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.multiregion import solve_current_dynamics, symmetric_interactions

__all__ = ["DemoResult", "DemoSettings", "run_demo"]


@dataclass(frozen=True)
class DemoSettings:
    """Parameters of the two demo networks and of their runs (defaults: the shipped demo)."""

    n_random: int = 1000
    g_random: float = 2.0
    region_sizes: tuple[int, ...] = (1000, 1000, 1000)
    region_gains: tuple[float, ...] = (1.5, 0.0, 0.0)
    # Symmetric interactions T[mu, nu, rho] = delta(mu, rho) sqrt(b_mu b_nu) (mu != nu): every
    # pair of regions exchanges a current; region 0's chaos takes part of its variance budget.
    routing_coupling: tuple[float, ...] = (3.0, 2.3, 2.6)
    initial_currents: tuple[float, ...] = (0.3, -0.2, 0.25, 0.1, -0.3, 0.2)
    region_phi: str = "erf"
    phi: str = "tanh"
    t_max: float = 200.0
    dt: float = 0.1
    t_start: float = 50.0
    max_lag: float = 20.0
    record_every: int = 2
    sampled_neurons: int = 150
    seed: int = 0


@dataclass
class DemoResult:
    """What the demo produced: its output files, datasets and timings in seconds."""

    folder: Path
    files: dict[str, Path]
    datasets: dict[str, xr.Dataset]
    timings: dict[str, float] = field(default_factory=dict)


def multiregion_model(settings: DemoSettings) -> MultiRegionModel:
    """Network (b) as a `rnndyn.models.MultiRegionModel` (U = I in every region)."""
    r = len(settings.region_sizes)
    interactions = symmetric_interactions(np.zeros(r), settings.routing_coupling)
    return MultiRegionModel(settings.region_sizes, settings.region_gains, interactions,
                            np.stack([np.eye(r)] * r), phi=settings.region_phi)


def _initial_currents(settings: DemoSettings) -> np.ndarray:
    r = len(settings.region_sizes)
    s0 = np.zeros((r, r))
    off_diagonal = ~np.eye(r, dtype=bool)
    s0[off_diagonal] = np.resize(settings.initial_currents, off_diagonal.sum())
    return s0


def simulate_random_network(settings: DemoSettings) -> xr.Dataset:
    """Network (a): Gaussian J, N = n_random, gain g_random, with streaming statistics."""
    network = Network(gaussian(settings.n_random, settings.g_random, seed=settings.seed),
                      phi=settings.phi)
    record = ["x", MeanVariance("x", t_start=settings.t_start),
              Autocorrelation("x", max_lag=settings.max_lag, t_start=settings.t_start)]
    return simulate(network, t_max=settings.t_max, dt=settings.dt, record=record,
                    record_every=settings.record_every, seed=settings.seed + 10, progress=False)


def add_random_network_theory(ds: xr.Dataset, settings: DemoSettings) -> xr.Dataset:
    """Store the DMFT prediction for network (a) next to its simulated autocorrelation.

    Adds ``x_autocorrelation_theory`` (dims ``lag``: Delta(tau) of
    `rnndyn.theory.dmft.solve_random_network`) and, as attributes, the predicted variance,
    correlation time and largest Lyapunov exponent.
    """
    solution = solve_random_network(settings.g_random, phi=settings.phi)
    lags = ds["lag"].values
    theory = xr.DataArray(
        solution.autocorrelation(lags), dims=("lag",), coords={"lag": lags},
        attrs={"label": "DMFT (N → ∞)", "source": "rnndyn.theory.dmft.solve_random_network",
               "regime": solution.regime, "delta0": solution.delta0,
               "correlation_time": solution.correlation_time,
               "lyapunov_exponent": solution.lyapunov_exponent()},
    )
    return ds.assign(x_autocorrelation_theory=theory)


def simulate_multiregion_network(settings: DemoSettings) -> xr.Dataset:
    """Network (b): records the currents, a subsample of x and the variance of each neuron.

    The run starts on the span of the input loadings, ``x^nu = sum_rho m^{nu rho} S0^{nu rho}``,
    the initial condition the mean-field theory is given too.
    """
    network = multiregion_model(settings).network(seed=settings.seed + 2)
    connectivity = network.connectivity
    s0 = _initial_currents(settings)
    r = s0.shape[0]
    x0 = np.concatenate([sum(connectivity.couplings[(nu, rho)][0].ravel() * s0[nu, rho]
                             for rho in range(r)) for nu in range(r)])
    record = [Trajectory("x", neurons=min(settings.sampled_neurons, connectivity.n),
                         seed=settings.seed + 3),
              Projection.currents(connectivity),
              MeanVariance("x", t_start=settings.t_start)]
    return simulate(network, t_max=settings.t_max, dt=settings.dt, x0=x0, record=record,
                    record_every=settings.record_every, seed=settings.seed + 20, progress=False)


def add_multiregion_theory(ds: xr.Dataset, settings: DemoSettings) -> xr.Dataset:
    """Store the mean-field currents of network (b) beside the simulated ones.

    Adds ``current_theory`` (dims of ``current`` without ``trial``): the readout
    ``H = psi T S`` of `rnndyn.theory.multiregion.solve_current_dynamics` (the two-time DMFT
    with currents) from the simulation's initial currents, which is what
    `Projection.currents` records.
    """
    model = multiregion_model(settings)
    solution = solve_current_dynamics(model.interactions, model.input_overlaps,
                                      np.asarray(settings.region_gains), settings.region_phi,
                                      initial_currents=_initial_currents(settings),
                                      t_max=settings.t_max, dt=settings.dt)
    current = ds["current"]
    time_dim = current.dims[0]
    times = current[time_dim].values
    values = np.stack([
        np.interp(times, solution.time,
                  solution.drive[:, int(target), int(source)])
        for target, source in zip(current["target_region"].values,
                                  current["source_region"].values, strict=True)
    ], axis=1)
    theory = xr.DataArray(values, dims=(time_dim, current.dims[2]),
                          coords={time_dim: times},
                          attrs={"label": "mean-field theory (N → ∞)",
                                 "source": "rnndyn.theory.multiregion.solve_current_dynamics"})
    return ds.assign(current_theory=theory)


def run_demo(
    output: str | Path = "rnndyn-demo",
    settings: DemoSettings | None = None,
    quiet: bool = False,
) -> DemoResult:
    """Simulate both demo networks and write the figure, the page and the results.

    Parameters
    ----------
    output : str or path-like, default "rnndyn-demo"
        Folder to write into; created if missing.
    settings : DemoSettings, optional
        Network and run parameters; the defaults finish in a few seconds on 2 CPU cores.
    quiet : bool, default False
        Print nothing (otherwise one line per stage with its wall time).

    Returns
    -------
    DemoResult
    """
    from rnndyn.plot import activity_figure

    settings = settings or DemoSettings()
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    say = (lambda text: None) if quiet else print
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def timed(stage: str, work: Any) -> Any:
        begin = time.perf_counter()
        value = work()
        timings[stage] = time.perf_counter() - begin
        say(f"rnndyn demo: {stage} in {timings[stage]:.2f} s")
        return value

    random_ds = timed("simulated the random network", lambda: simulate_random_network(settings))
    random_ds = timed("solved its mean-field theory (DMFT)",
                      lambda: add_random_network_theory(random_ds, settings))
    multi_ds = timed("simulated the multiregion network",
                     lambda: simulate_multiregion_network(settings))
    multi_ds = timed("solved its mean-field theory (currents + two-time DMFT)",
                     lambda: add_multiregion_theory(multi_ds, settings))
    files = {
        "figure": folder / "demo.png",
        "random": folder / "random_network.nc",
        "multiregion": folder / "multiregion.nc",
        "page": folder / "index.html",
    }
    titles = [f"(a) chaotic random network, N = {settings.n_random}, g = {settings.g_random:g}",
              f"(b) multiregion network, regions of {', '.join(map(str, settings.region_sizes))}"]
    timed("drew the figure",
          lambda: activity_figure([random_ds, multi_ds], files["figure"], titles=titles))

    def save_results() -> None:
        io.save(random_ds, files["random"])
        io.save(multi_ds, files["multiregion"])

    timed("saved the results", save_results)
    timings["total"] = time.perf_counter() - started
    page = render_page(asdict(settings), random_ds, multi_ds, timings,
                       {key: path.name for key, path in files.items()})
    write_text_atomic(files["page"], page)
    say(f"rnndyn demo: wrote {files['page']} (open it in a browser) and "
        f"{', '.join(path.name for key, path in files.items() if key != 'page')}; "
        f"total {timings['total']:.2f} s")
    return DemoResult(folder, files, {"random": random_ds, "multiregion": multi_ds}, timings)
