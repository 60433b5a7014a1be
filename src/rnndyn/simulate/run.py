"""`simulate`: run a `Network` or `DiscreteNetwork` and return an xarray Dataset."""

from __future__ import annotations

import json
import time as _time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

import rnndyn
from rnndyn._validation import check_array, check_choice, check_int, check_number
from rnndyn.simulate import _fast
from rnndyn.simulate._fast import InputSpec, Plan
from rnndyn.simulate.integrators import METHODS, noise_scale
from rnndyn.simulate.network import DiscreteNetwork, Network
from rnndyn.simulate.recorders import Recorder, RunInfo, Trajectory

__all__ = ["simulate"]


_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Internal switch: False sends every run through the general loop (the tests compare the two).
_FAST_PATH = True
# Runs estimated to take longer than this get a progress bar when progress=None.
_PROGRESS_AFTER_S = 2.0


def simulate(
    network: Network | DiscreteNetwork,
    t_max: float,
    dt: float | None = None,
    x0: np.ndarray | torch.Tensor | None = None,
    inputs: InputSpec = None,
    noise_std: float | np.ndarray = 0.0,
    method: str | None = None,
    batch: int = 1,
    record_every: int = 1,
    record: Sequence[str | Recorder] = ("x",),
    device: str | torch.device = "cpu",
    dtype: torch.dtype | str = torch.float32,
    seed: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Integrate a rate network and record what is asked for.

    Continuous time (`Network`)::

        tau dx/dt = -x + J phi(x) + B u(t) + b + sigma xi(t)

    Discrete time (`DiscreteNetwork`)::

        x_{t+1} = (1 - a) x_t + a phi(A x_t + B u_t + d) + sigma z_t

    Parameters
    ----------
    network : Network or DiscreteNetwork
    t_max : float
        Duration, in units of time (continuous) or steps (discrete); the run takes
        ``n_steps = round(t_max / dt)`` steps.
    dt : float, optional
        Time step. Default 0.1 for a `Network`; must be 1 (the default) for a `DiscreteNetwork`.
    x0 : array of shape (n,) or (batch, n), optional
        Initial state. Default: iid standard normal entries drawn from ``seed``.
    inputs : array or callable, optional
        ``u``: an array of shape (n_steps, batch, n_inputs) or (n_steps, n_inputs), held
        constant over each step (zero-order hold), or a callable ``u(t)`` returning an array of
        shape (n_inputs,) or (batch, n_inputs), evaluated at each integrator stage.
    noise_std : float or array of shape (n,), default 0
        ``sigma``, the white-noise amplitude (per neuron if an array).
    method : {"rk4", "euler", "exp_euler"}, optional
        Integrator for a `Network` (default "rk4"); see `rnndyn.simulate.integrators`.
    batch : int, default 1
        Number of independent trials run together (one batched matmul per step).
    record_every : int, default 1
        Keep every this many steps in trajectories (and default sampling of recorders).
    record : sequence of str or Recorder, default ("x",)
        "x" (full state), "rates" (``phi(x)``), and/or `Recorder` objects (e.g.
        ``MeanVariance(t_start=50)``, ``Autocorrelation(max_lag=20)``, ``Projection.currents``,
        ``Trajectory("x", neurons=100)``).
    device : str or torch.device, default "cpu"
    dtype : torch.float32 or torch.float64 (or their names), default float32
    seed : int or numpy.random.Generator, optional
        Seeds the initial state and the noise.
    progress : bool, optional
        Show a progress bar; by default only for runs expected to last over a couple of
        seconds.

    Returns
    -------
    xarray.Dataset
        Dimensions ``time``, ``trial``, ``neuron`` (and ``region`` for multiregion
        connectivity); the recorded variables; ``final_state`` (trial, neuron), so a run can be
        continued with ``x0=result.final_state.values``; the run's and network's parameters in
        ``attrs`` (``attrs["parameters"]`` is their JSON).

    Raises
    ------
    ValueError
        A parameter that is out of range, of the wrong shape or not finite (the message names
        it).
    rnndyn.SimulationError
        The state became non-finite (the message says between which times).

    Notes
    -----
    Runs with array inputs (or none) and only the built-in recorders take a fast loop: the
    drive ``B u + b`` is computed for many steps at once and the full-state trajectory is
    filled in place, which saves tens of microseconds per step for small networks. Runs with
    a callable ``inputs`` (evaluated at every integrator stage) or a custom `Recorder`
    subclass take the general loop. Both give bitwise the same states.

    Examples
    --------
    >>> from rnndyn.connectivity import gaussian
    >>> from rnndyn.simulate import Network, simulate, MeanVariance
    >>> net = Network(gaussian(200, g=2.0, seed=0))
    >>> ds = simulate(net, t_max=50, dt=0.1, record=["x", MeanVariance(t_start=20)], seed=1)
    >>> ds.x.dims
    ('time', 'trial', 'neuron')
    """
    if not isinstance(network, Network | DiscreteNetwork):
        raise ValueError(f"network must be a Network or DiscreteNetwork, got "
                         f"{type(network).__name__}")
    discrete = isinstance(network, DiscreteNetwork)
    dt, method = _check_time_step(discrete, dt, method)
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    if t_max < dt * (1 - 1e-9):
        raise ValueError(f"t_max must be >= dt={dt:g}, got {t_max:g}")
    n_steps = round(t_max / dt)
    batch = check_int("batch", batch)
    record_every = check_int("record_every", record_every)
    if record_every > n_steps:
        raise ValueError(f"record_every must be <= n_steps={n_steps}, got {record_every}")
    dtype = _check_dtype(dtype)
    device = _check_device(device)
    n = network.n

    rng = np.random.default_rng(seed)
    x = _initial_state(x0, n, batch, rng).to(device=device, dtype=dtype)
    noise = _noise_amplitude(noise_std, n)
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    recorders = _recorders(record)
    checked_inputs = _fast.check_inputs(inputs, network, n_steps, batch, device, dtype)

    info = RunInfo(n_steps=n_steps, dt=dt, batch=batch, n=n, record_every=record_every,
                   device=device, dtype=dtype, network=network)
    for rec in recorders:
        rec.bind(info)
    noise_per_step = 1.0 if discrete else noise_scale(method, dt, network.tau)
    noise_tensor = (None if noise is None else
                    torch.as_tensor(noise * noise_per_step, dtype=dtype, device=device))
    plan = Plan(network=network, method=method, dt=dt, n_steps=n_steps, x=x,
                inputs=checked_inputs, noise=noise_tensor, generator=generator,
                recorders=recorders, progress=_Progress(progress, n_steps))
    with torch.no_grad():
        x = (_fast.run if _FAST_PATH and _fast.applies(plan) else _fast.run_general)(plan)
    plan.progress.close()

    return _dataset(network, recorders, x, {
        "t_max": n_steps * dt, "dt": dt, "n_steps": n_steps, "method": method,
        "batch": batch, "record_every": record_every,
        "noise_std": noise_std if np.ndim(noise_std) == 0 else "per-neuron",
        "seed": seed if isinstance(seed, int | None) else "generator",
        "dtype": str(dtype).removeprefix("torch."), "device": str(device),
    })


def _check_time_step(discrete: bool, dt: float | None, method: str | None) -> tuple[float, str]:
    if discrete:
        if dt is not None and check_number("dt", dt) != 1.0:
            raise ValueError(f"dt must be 1 for a DiscreteNetwork (time counts steps), got {dt!r}")
        if method not in (None, "map"):
            raise ValueError(f"method must be None or 'map' for a DiscreteNetwork, got {method!r}")
        return 1.0, "map"
    dt = 0.1 if dt is None else check_number("dt", dt, low=0.0, low_inclusive=False)
    method = check_choice("method", "rk4" if method is None else method, METHODS)
    return dt, method


def _check_dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of 'float32', 'float64', got {dtype!r}")
        return _DTYPES[dtype]
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def _check_device(device: str | torch.device) -> torch.device:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', "
                         f"got {device!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was asked for but CUDA is not available")
    return device


def _initial_state(x0: Any, n: int, batch: int, rng: np.random.Generator) -> torch.Tensor:
    if x0 is None:
        return torch.from_numpy(rng.standard_normal((batch, n)))
    if isinstance(x0, torch.Tensor):
        x0 = x0.detach().cpu().numpy()
    array = check_array("x0", x0, ndim=(1, 2))
    if array.shape[-1] != n or (array.ndim == 2 and array.shape[0] != batch):
        raise ValueError(f"x0 must have shape ({n},) or (batch={batch}, {n}), got {array.shape}")
    return torch.from_numpy(np.broadcast_to(array, (batch, n)).copy())


def _noise_amplitude(noise_std: Any, n: int) -> np.ndarray | None:
    if np.ndim(noise_std) == 0:
        sigma = check_number("noise_std", noise_std, low=0.0)
        return None if sigma == 0.0 else np.asarray(sigma)
    sigma = check_array("noise_std", noise_std, shape=(n,))
    if np.any(sigma < 0):
        raise ValueError("noise_std must be >= 0 for every neuron")
    return sigma


def _recorders(record: Sequence[str | Recorder]) -> list[Recorder]:
    if isinstance(record, str | Recorder):
        record = [record]
    out: list[Recorder] = []
    for item in record:
        if isinstance(item, Recorder):
            out.append(item)
        elif item in ("x", "rates"):
            out.append(Trajectory(item))
        else:
            raise ValueError(f"record entries must be 'x', 'rates' or Recorder objects, "
                             f"got {item!r}")
    return out


class _Bar:
    def __init__(self, n_steps: int) -> None:
        self.bar = tqdm(total=n_steps, unit="step", desc="simulate", leave=False)
        self.chunk = max(1, n_steps // 200)
        self.done = 0

    def advance_to(self, step: int) -> None:
        if step > self.done:
            self.bar.update(step - self.done)
            self.done = step

    def close(self) -> None:
        self.bar.close()


class _Progress:
    """The progress bar of a run: from the start (progress=True), never (False), or (None)
    from step 50 on if the run then looks like lasting over `_PROGRESS_AFTER_S`.

    A loop calls ``tick(k)`` at step ``k == next`` and sets ``next`` to what it returns.
    """

    def __init__(self, progress: bool | None, n_steps: int) -> None:
        self.n_steps = n_steps
        self.auto = progress is None
        self.bar = _Bar(n_steps) if progress else None
        self.started = _time.perf_counter()
        self.next = self._after(0)

    def _after(self, step: int) -> int:
        if self.bar is not None:
            return (step // self.bar.chunk + 1) * self.bar.chunk
        return 50 if self.auto and step < 50 else 0  # 0: never (steps count from 1)

    def tick(self, step: int) -> int:
        if self.bar is None:
            self.auto = False
            self.bar = _auto_progress_bar(self.started, step, self.n_steps)
        else:
            self.bar.advance_to(step)
        self.next = self._after(step)
        return self.next

    def close(self) -> None:
        if self.bar is not None:
            self.bar.advance_to(self.n_steps)
            self.bar.close()


def _auto_progress_bar(started: float, done: int, n_steps: int) -> _Bar | None:
    elapsed = _time.perf_counter() - started
    if elapsed / done * n_steps < _PROGRESS_AFTER_S:
        return None
    bar = _Bar(n_steps)
    bar.advance_to(done)
    return bar


def _dataset(
    network: Network | DiscreteNetwork,
    recorders: list[Recorder],
    final_state: torch.Tensor,
    run: dict[str, Any],
) -> xr.Dataset:
    variables: dict[str, xr.DataArray] = {}
    for rec in recorders:
        for name, da in rec.finish().items():
            if name in variables:
                raise ValueError(f"record: two recorders produce the variable {name!r}; "
                                 "record each quantity once")
            variables[name] = da
    variables["final_state"] = xr.DataArray(final_state.cpu().numpy(), dims=("trial", "neuron"))
    ds = xr.Dataset(variables)
    batch = final_state.shape[0]
    ds = ds.assign_coords(trial=np.arange(batch), neuron=np.arange(network.n))
    conn = network.connectivity
    labels = getattr(conn, "region_labels", None)
    if labels is not None:
        sizes = np.asarray(conn.sizes)
        ds = ds.assign_coords(neuron_region=("neuron", np.asarray(labels)),
                              region=np.arange(len(sizes)))
        ds["region_size"] = xr.DataArray(sizes, dims=("region",))
    description = {"network": network.describe(), "run": run}
    ds.attrs.update({
        "rnndyn_kind": "simulation",
        "rnndyn_version": rnndyn.__version__,
        "parameters": json.dumps(description, default=_json_default),
        "model": network.describe()["model"],
        "phi": network.phi.name,
        "n_neurons": network.n,
        "connectivity": conn.describe()["kind"],
        "t_max": run["t_max"], "dt": run["dt"], "method": run["method"],
    })
    if isinstance(network, Network):
        ds.attrs["tau"] = network.tau
    return ds


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    return str(value)
