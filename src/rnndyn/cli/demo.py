"""``rnndyn demo``: two classic networks simulated, drawn and described on an HTML page.

(a) A chaotic random network (Sompolinsky, Crisanti & Sommers 1988): Gaussian J with gain
g = 2 > 1, where the quiescent state is unstable and activity fluctuates chaotically.
(b) A multiregion network: three regions with their own random recurrence (two chaotic, one
sub-critical) talking through rank-1 communication subspaces in a loop, plus rank-1 structure
within each region; the currents carried by each subspace are recorded.

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
from rnndyn.connectivity import gaussian, multiregion
from rnndyn.simulate import Autocorrelation, MeanVariance, Network, Projection, Trajectory, simulate
from rnndyn.theory.dmft import solve_random_network

__all__ = ["DemoResult", "DemoSettings", "run_demo"]


@dataclass(frozen=True)
class DemoSettings:
    """Parameters of the two demo networks and of their runs (defaults: the shipped demo)."""

    n_random: int = 1000
    g_random: float = 2.0
    region_sizes: tuple[int, ...] = (500, 400, 300)
    region_gains: tuple[float, ...] = (1.8, 1.5, 0.8)
    # (target, source) pairs: a loop 0 -> 1 -> 2 -> 0 between regions, and one within each.
    couplings: tuple[tuple[int, int], ...] = ((1, 0), (2, 1), (0, 2), (0, 0), (1, 1), (2, 2))
    # Input loadings U ~ N(0, s^2): with random V the readout V^T phi(x) / N is O(1/sqrt(N)),
    # so s of order sqrt(N) / 2 lets each subspace drive its target by O(1).
    coupling_strength: float = 10.0
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


CouplingArrays = dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]


def _coupling_arrays(settings: DemoSettings) -> CouplingArrays:
    rng = np.random.default_rng(settings.seed + 1)
    sizes = settings.region_sizes
    return {
        (target, source): (settings.coupling_strength * rng.standard_normal(sizes[target]),
                           rng.standard_normal(sizes[source]))
        for target, source in settings.couplings
    }


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
    """Network (b): three regions with rank-1 couplings; records currents and a subsample."""
    connectivity = multiregion(settings.region_sizes, list(settings.region_gains),
                               couplings=_coupling_arrays(settings), seed=settings.seed + 2)
    record = [Trajectory("x", neurons=min(settings.sampled_neurons, connectivity.n),
                         seed=settings.seed + 3),
              Projection.currents(connectivity),
              MeanVariance("x", t_start=settings.t_start)]
    return simulate(Network(connectivity, phi=settings.phi), t_max=settings.t_max,
                    dt=settings.dt, record=record, record_every=settings.record_every,
                    seed=settings.seed + 20, progress=False)


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
