"""The demo's self-contained HTML page (inline style, no scripts, no external resources)."""

from __future__ import annotations

import datetime
import html
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

import rnndyn
from rnndyn.plot._files import atomic_path

__all__ = ["measured_statistics", "render_page", "write_text_atomic"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
.eq { font-family: Georgia, serif; font-size: 1.08em; background: #f6f6f6; padding: 0.5em 1em;
      border-left: 3px solid #999; margin: 0.6em 0; }
img { width: 100%; border: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
th { background: #eee; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""

_MODELS = """
<h2>(a) Chaotic random network</h2>
<p>N rate neurons with currents x<sub>i</sub> and rates φ(x<sub>i</sub>) = tanh(x<sub>i</sub>)
obey</p>
<div class="eq">τ dx<sub>i</sub>/dt = −x<sub>i</sub> + Σ<sub>j</sub> J<sub>ij</sub>
φ(x<sub>j</sub>), &nbsp;&nbsp; J<sub>ij</sub> ~ N(0, g²/N) i.i.d.</div>
<p>For g &gt; 1 the quiescent state x = 0 is unstable and, for large N, the network fluctuates
chaotically (Sompolinsky, Crisanti &amp; Sommers 1988). Each neuron then sees a Gaussian input
whose population autocorrelation
Δ(τ) = (1/N) Σ<sub>i</sub> ⟨x<sub>i</sub>(t) x<sub>i</sub>(t+τ)⟩<sub>t</sub>
decays smoothly from its variance Δ(0): the quantity dynamic mean-field theory predicts. It is
accumulated while the network runs, after a transient. The dashed line is the N → ∞ prediction
of the DMFT (<code>rnndyn.theory.dmft.solve_random_network</code>): Δ(τ) solves
Δ'' = Δ − g² ⟨φ(x(t)) φ(x(t+τ))⟩, a classical particle in a potential whose energy is
conserved. A single network of N = 1000 lies above it at long lags (by up to about a third of
Δ(0) at lag 20): finite networks have slow collective modes and each neuron keeps a static
offset, and a finite run adds the squared time mean of each neuron. Over lags 0 to 10 the
deviation falls from about 30% at N = 1000 to 3% at N = 8000 (see
<code>benchmarks/RESULTS.md</code>).</p>

<h2>(b) Multiregion network</h2>
<p>Regions μ = 0, 1, 2 of N neurons each have their own random recurrence of gain
g<sub>μ</sub> and exchange activity only through rank-1 <em>communication subspaces</em>
(Clark &amp; Beiran 2024):</p>
<div class="eq">τ dx<sub>i</sub><sup>μ</sup>/dt = −x<sub>i</sub><sup>μ</sup> +
g<sub>μ</sub> Σ<sub>j</sub> χ<sup>μ</sup><sub>ij</sub> φ(x<sub>j</sub><sup>μ</sup>) +
Σ<sub>ν</sub> m<sub>i</sub><sup>μν</sup> I<sup>μν</sup>(t), &nbsp;&nbsp;
I<sup>μν</sup>(t) = (1/N) Σ<sub>j</sub> n<sub>j</sub><sup>μν</sup>
φ(x<sub>j</sub><sup>ν</sup>)</div>
<p>with φ(x) = erf(√π x / 2). The loadings are drawn so that the effective interactions
T<sup>μνρ</sup> = ⟨n<sup>μν</sup> m<sup>νρ</sup>⟩ are symmetric: what region ν sends to μ is
fed by what μ sends back to ν, with strength √(b<sub>μ</sub> b<sub>ν</sub>). Region 0 has
disorder g<sub>0</sub> = 1.5, chaotic on its own; the others have none. Here the currents
region 0 carries add enough variance to lower its gain below the chaotic threshold (the theory
says its DMFT regime is a fixed point): the routing tames the region's own chaos, the
generator-versus-transmitter tension of the paper. The dotted black lines are the
N → ∞ theory (<code>rnndyn.theory.multiregion.solve_current_dynamics</code>): the currents obey
(1 + d/dt) S<sup>μν</sup> = ψ<sup>ν</sup> Σ<sub>ρ</sub> T<sup>μνρ</sup> S<sup>νρ</sup>, with each
region's gain ψ<sup>ν</sup> = ⟨φ'⟩ set by its total variance, the currents' part plus what
region 0's chaos adds, solved jointly with its two-time DMFT. The currents settle on a fixed
point amid chaos where every region's gain is pinned at 1/b<sub>μ</sub>. With N = 1000 per
region a single network deviates from the theory by up to ~15% (finite-N overlaps); the
deviation shrinks like 1/√N (<code>benchmarks/RESULTS.md</code>).</p>
"""


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file renamed over it."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def measured_statistics(random_ds: xr.Dataset, multi_ds: xr.Dataset) -> list[tuple[str, str]]:
    """A few numbers that summarise each run (trial 0), as (quantity, value) rows."""
    rows = []
    variance = float(random_ds["x_variance"].isel(trial=0).mean())
    rows.append(("(a) variance of x over time, averaged over neurons", f"{variance:.3f}"))
    autocovariance = random_ds["x_autocovariance"].isel(trial=0)
    below = np.flatnonzero(autocovariance.values <= 0.5 * autocovariance.values[0])
    half_life = (f"{float(autocovariance['lag'][below[0]]):.1f} τ" if below.size
                 else f"> {float(autocovariance['lag'][-1]):.0f} τ")
    rows.append(("(a) lag at which the autocovariance halves", half_life))
    if "x_autocorrelation_theory" in random_ds:
        theory = random_ds["x_autocorrelation_theory"]
        simulated = float(random_ds["x_autocorrelation"].isel(trial=0, lag=0))
        rows.append(("(a) variance Δ(0): simulation / DMFT",
                     f"{simulated:.3f} / {theory.attrs['delta0']:.3f}"))
        rows.append(("(a) DMFT correlation time", f"{theory.attrs['correlation_time']:.2f} τ"))
        rows.append(("(a) DMFT largest Lyapunov exponent",
                     f"{theory.attrs['lyapunov_exponent']:.3f} / τ"))
    regions = np.asarray(multi_ds["neuron_region"].values)
    spread = multi_ds["x_variance"].isel(trial=0).values
    for region in np.unique(regions):
        std = float(np.sqrt(spread[regions == region].mean()))
        rows.append((f"(b) region {region}: standard deviation of x", f"{std:.3f}"))
    current = multi_ds["current"].isel(trial=0)
    for index in range(current.sizes["current_component"]):
        target = int(current["target_region"][index])
        source = int(current["source_region"][index])
        rms = float(np.sqrt((current.isel(current_component=index).values ** 2).mean()))
        rows.append((f"(b) current {target} ← {source}: root mean square", f"{rms:.4f}"))
    return rows


def _table(header: tuple[str, str], rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td>{html.escape(a)}</td><td class=\"num\">{html.escape(b)}</td></tr>"
                    for a, b in rows)
    return (f"<table><tr><th>{html.escape(header[0])}</th><th>{html.escape(header[1])}</th></tr>"
            f"{cells}</table>")


def _format(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(_format(item) for item in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def render_page(
    settings: Mapping[str, Any],
    random_ds: xr.Dataset,
    multi_ds: xr.Dataset,
    timings: Mapping[str, float],
    files: Mapping[str, str],
) -> str:
    """The demo's HTML page.

    Parameters
    ----------
    settings : mapping
        Demo parameters (shown in the parameter table).
    random_ds, multi_ds : xarray.Dataset
        The two results (summarised in the measurements table).
    timings : mapping of str to float
        Wall time of each stage in seconds.
    files : mapping of str to str
        File names, relative to the page, of ``figure``, ``random`` and ``multiregion``.

    Returns
    -------
    str
    """
    parameters = [(name.replace("_", " "), _format(value)) for name, value in settings.items()
                  if name != "couplings"]
    if "couplings" in settings:
        pairs = ", ".join(f"{target} ← {source}" for target, source in settings["couplings"])
        parameters.append(("couplings (target ← source), rank 1 each", pairs))
    parameters += [("integrator (both)", str(random_ds.attrs.get("method", "?"))),
                   ("dtype", str(random_ds["x"].dtype))]
    times = [(stage, f"{seconds:.2f} s") for stage, seconds in timings.items()]
    machine = (f"{platform.python_implementation()} {platform.python_version()}, torch "
               f"{torch.__version__}, {torch.get_num_threads()} CPU threads, "
               f"{platform.machine()}")
    figure = html.escape(files["figure"])
    links = " · ".join(f'<a href="{html.escape(files[key])}">{html.escape(files[key])}</a>'
                       for key in ("random", "multiregion"))
    stamp = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rnndyn demo: chaotic and multiregion rate networks</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>rnndyn demo: chaotic and multiregion rate networks</h1>
<p class="meta">rnndyn {html.escape(rnndyn.__version__)} · generated {html.escape(stamp)} ·
{html.escape(machine)}</p>
{_MODELS}
<h2>Activity</h2>
<p>Rows: (a) the random network, (b) the multiregion network. Columns: traces of x for a few
neurons; rates φ(x) of 100 neurons against time (regions separated by black lines); the
population autocorrelation of (a) and the inter-region currents of (b).</p>
<img src="{figure}" alt="Activity of the two demo networks: traces, rate rasters, the
autocorrelation of the random network and the currents of the multiregion network.">
<h2>Measurements</h2>
{_table(("quantity", "value"), measured_statistics(random_ds, multi_ds))}
<h2>Parameters</h2>
{_table(("parameter", "value"), parameters)}
<h2>Run times</h2>
{_table(("stage", "wall time"), times)}
<h2>Files</h2>
<p>Results as NetCDF: {links}. Load them with
<code>rnndyn.io.load("{html.escape(files["random"])}")</code> (an xarray Dataset; its
<code>attrs["parameters"]</code> holds every parameter), draw them with
<code>rnndyn plot {html.escape(files["random"])} -o figure.png</code>, and redo all of this with
<code>rnndyn demo -o DIR</code>.</p>
</body>
</html>
"""
