"""Recorders: what a simulation keeps, from full trajectories to streaming statistics.

A long run of a big network cannot hold every state. Streaming recorders update summary
statistics as the run goes and keep O(n) (or O(n * max_lag)) memory whatever its length:

- `Trajectory`: the state or rate of all or a subsample of neurons at each recorded step;
- `MeanVariance`: per-neuron running mean and variance over time;
- `Autocorrelation`: the population-averaged autocorrelation ``C(tau)`` up to a max lag;
- `Projection`: projections of the state or rates onto given vectors (low-rank latent
  variables, multiregion currents).

Every recorder is given the state at each of its sampling steps (``every`` simulation steps,
by default the run's ``record_every``) and returns xarray DataArrays at the end.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from rnndyn._validation import check_array, check_choice, check_int, check_number
from rnndyn.connectivity import Connectivity
from rnndyn.simulate.network import DiscreteNetwork, Network

__all__ = [
    "Autocorrelation",
    "MeanVariance",
    "Projection",
    "Recorder",
    "RunInfo",
    "Trajectory",
]

VARIABLES = ("x", "rates")


@dataclass(frozen=True)
class RunInfo:
    """What a recorder needs to know about the run it records."""

    n_steps: int
    dt: float
    batch: int
    n: int
    record_every: int
    device: torch.device
    dtype: torch.dtype
    network: Network | DiscreteNetwork


class Recorder(abc.ABC):
    """Base class. Subclasses implement ``start``, ``update`` and ``finish``.

    Parameters
    ----------
    variable : {"x", "rates"}
        What to record: the state ``x`` or the rates ``phi(x)`` (for a `DiscreteNetwork` the
        state already is a rate, and "rates" means ``phi(x)`` of it all the same).
    every : int, optional
        Sample every this many simulation steps; by default the run's ``record_every``.
    """

    def __init__(self, variable: str = "x", every: int | None = None) -> None:
        self.variable = check_choice("variable", variable, VARIABLES)
        self.every = None if every is None else check_int("every", every)
        self._every = 1

    @property
    def per_step(self) -> bool:
        """Whether ``update`` must see every simulation step (not only sampled ones)."""
        return False

    def bind(self, info: RunInfo) -> None:
        """Prepare for a run (called by `simulate`); resets any earlier state."""
        self._every = self.every or info.record_every
        self._info = info
        self.start(info)

    def sample_steps(self, info: RunInfo) -> np.ndarray:
        """The simulation step indices at which this recorder samples (step 0 is the x0)."""
        return np.arange(0, info.n_steps + 1, self._every)

    @property
    def needs_rates(self) -> bool:
        return self.variable == "rates"

    @abc.abstractmethod
    def start(self, info: RunInfo) -> None:
        """Allocate buffers for a run."""

    @abc.abstractmethod
    def update(self, step: int, values: torch.Tensor) -> None:
        """Take the recorded variable (batch, n) at simulation step ``step``."""

    @abc.abstractmethod
    def finish(self) -> dict[str, xr.DataArray]:
        """Return the recorded data as named DataArrays."""


def _times(steps: np.ndarray, dt: float) -> np.ndarray:
    return steps * dt


class Trajectory(Recorder):
    """The state (or rates) of all neurons, or a subsample, at every sampled step.

    Parameters
    ----------
    variable : {"x", "rates"}
    neurons : int or sequence of int, optional
        All neurons (default), a number of neurons drawn at random without replacement (with
        ``seed``), or explicit indices. A subsample is stored with dimension
        ``sampled_neuron`` whose coordinate holds the neuron indices.
    seed : int or numpy.random.Generator, optional
        For drawing a random subsample.

    Output: ``<variable>`` with dims (time, trial, neuron), or ``<variable>_sample`` with dims
    (time, trial, sampled_neuron).
    """

    def __init__(
        self,
        variable: str = "x",
        neurons: int | np.ndarray | list[int] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(variable, every=None)
        self.neurons = neurons
        self.seed = seed

    def start(self, info: RunInfo) -> None:
        if self.neurons is None:
            self._index = None
        elif isinstance(self.neurons, int | np.integer):
            count = check_int("neurons", self.neurons)
            if count > info.n:
                raise ValueError(f"neurons must be <= n_neurons={info.n}, got {count}")
            rng = np.random.default_rng(self.seed)
            self._index = np.sort(rng.choice(info.n, size=count, replace=False))
        else:
            index = np.asarray(self.neurons)
            if index.ndim != 1 or index.size == 0 or not np.issubdtype(index.dtype, np.integer):
                raise ValueError(f"neurons must be a 1D sequence of integer indices, got {index!r}")
            if index.min() < 0 or index.max() >= info.n:
                raise ValueError(f"neurons must be indices in [0, {info.n}), got {index!r}")
            self._index = index
        self._steps = self.sample_steps(info)
        width = info.n if self._index is None else len(self._index)
        _check_memory(len(self._steps) * info.batch * width * _itemsize(info.dtype))
        self._torch_index = (None if self._index is None
                             else torch.as_tensor(self._index, device=info.device))
        # Kept on the CPU: a long trajectory should not fill the GPU.
        self._data = torch.empty((len(self._steps), info.batch, width), dtype=info.dtype)
        self._row = 0

    def update(self, step: int, values: torch.Tensor) -> None:
        if self._torch_index is not None:
            values = values.index_select(1, self._torch_index)
        self._data[self._row].copy_(values)
        self._row += 1

    def finish(self) -> dict[str, xr.DataArray]:
        data = self._data[: self._row].numpy()
        time = _times(self._steps[: self._row], self._info.dt)
        if self._index is None:
            da = xr.DataArray(data, dims=("time", "trial", "neuron"), coords={"time": time})
            return {self.variable: da}
        da = xr.DataArray(
            data,
            dims=("time", "trial", "sampled_neuron"),
            coords={"time": time, "sampled_neuron": self._index},
        )
        return {f"{self.variable}_sample": da}


class MeanVariance(Recorder):
    """Per-neuron mean and variance over time, accumulated on the fly.

    ``mean_i = <v_i(t)>_t``, ``variance_i = <v_i(t)^2>_t - mean_i^2`` over sampled times
    ``t >= t_start`` (population variance, divisor T). Sums are shifted by the first sample
    and kept in float64, so a float32 run does not lose the variance to cancellation.

    Output: ``<variable>_mean`` and ``<variable>_variance``, dims (trial, neuron).
    """

    def __init__(self, variable: str = "x", t_start: float = 0.0, every: int | None = None) -> None:
        super().__init__(variable, every)
        self.t_start = check_number("t_start", t_start, low=0.0)

    def start(self, info: RunInfo) -> None:
        shape = (info.batch, info.n)
        self._shift: torch.Tensor | None = None
        self._sum = torch.zeros(shape, dtype=torch.float64, device=info.device)
        self._sum_sq = torch.zeros(shape, dtype=torch.float64, device=info.device)
        self._count = 0
        self._first_step = int(np.ceil(self.t_start / info.dt - 1e-9))

    def update(self, step: int, values: torch.Tensor) -> None:
        if step < self._first_step:
            return
        v = values.to(torch.float64)
        if self._shift is None:
            self._shift = v.clone()
        v = v - self._shift
        self._sum += v
        self._sum_sq.addcmul_(v, v)
        self._count += 1

    def finish(self) -> dict[str, xr.DataArray]:
        if self._count == 0:
            raise ValueError(f"t_start={self.t_start} is after the end of the run: no samples")
        mean_shifted = self._sum / self._count
        variance = (self._sum_sq / self._count - mean_shifted**2).clamp_min(0.0)
        mean = mean_shifted + self._shift
        dims = ("trial", "neuron")
        attrs = {"t_start": self.t_start, "n_samples": self._count}
        return {
            f"{self.variable}_mean": xr.DataArray(mean.cpu().numpy(), dims=dims, attrs=attrs),
            f"{self.variable}_variance": xr.DataArray(variance.cpu().numpy(), dims=dims,
                                                      attrs=attrs),
        }


class Autocorrelation(Recorder):
    """Population-averaged autocorrelation up to a maximum lag, accumulated on the fly.

    ``C(tau) = (1/n) sum_i <v_i(t) v_i(t + tau)>_t``  (raw second moment, the DMFT's
    ``Delta(tau)`` when the mean vanishes) and the autocovariance
    ``C(tau) - (1/n) sum_i m_i^2`` with ``m_i`` the time mean of neuron i, for pairs of sampled
    times both ``>= t_start``. Memory is a ring buffer of ``max_lag / (every dt) + 1`` states;
    cost per sample O(n * number of lags).

    Parameters
    ----------
    variable : {"x", "rates"}
    max_lag : float
        Largest lag in time units; rounded to a whole number of sampling intervals.
    t_start : float
        Discard transients before this time.
    every : int, optional

    Output: ``<variable>_autocorrelation`` and ``<variable>_autocovariance``, dims (trial, lag),
    with ``lag`` in time units.
    """

    def __init__(
        self,
        variable: str = "x",
        max_lag: float = 20.0,
        t_start: float = 0.0,
        every: int | None = None,
    ) -> None:
        super().__init__(variable, every)
        self.max_lag = check_number("max_lag", max_lag, low=0.0)
        self.t_start = check_number("t_start", t_start, low=0.0)

    def start(self, info: RunInfo) -> None:
        interval = self._every * info.dt
        self._n_lags = round(self.max_lag / interval) + 1
        self._lags = np.arange(self._n_lags) * interval
        dev = info.device
        self._buffer = torch.zeros((self._n_lags, info.batch, info.n), dtype=info.dtype, device=dev)
        self._sums = torch.zeros((self._n_lags, info.batch), dtype=torch.float64, device=dev)
        self._counts = np.zeros(self._n_lags, dtype=np.int64)
        self._mean_sum = torch.zeros((info.batch, info.n), dtype=torch.float64, device=dev)
        self._filled = 0
        self._position = 0
        self._first_step = int(np.ceil(self.t_start / info.dt - 1e-9))
        self._slot_range = torch.arange(self._n_lags, device=dev)

    def update(self, step: int, values: torch.Tensor) -> None:
        if step < self._first_step:
            return
        self._buffer[self._position].copy_(values)
        self._filled = min(self._filled + 1, self._n_lags)
        products = torch.einsum("lbn,bn->lb", self._buffer, values).to(torch.float64)
        # slot s holds the sample taken (position - s) mod L samples ago.
        lag_of_slot = (self._position - self._slot_range) % self._n_lags
        valid = lag_of_slot < self._filled
        self._sums.index_add_(0, lag_of_slot[valid], products[valid])
        self._counts[: self._filled] += 1
        self._mean_sum += values.to(torch.float64)
        self._position = (self._position + 1) % self._n_lags

    def finish(self) -> dict[str, xr.DataArray]:
        if self._counts[0] == 0:
            raise ValueError(f"t_start={self.t_start} is after the end of the run: no samples")
        n = self._buffer.shape[-1]
        valid = self._counts > 0
        counts = torch.as_tensor(np.maximum(self._counts, 1), dtype=torch.float64,
                                 device=self._sums.device)
        corr = (self._sums / (counts[:, None] * n)).T.cpu().numpy()
        corr[:, ~valid] = np.nan  # lags longer than the recorded window have no estimate
        means = self._mean_sum / self._counts[0]
        mean_sq = (means**2).mean(dim=-1).cpu().numpy()
        coords = {"lag": self._lags}
        attrs = {"t_start": self.t_start, "n_samples": int(self._counts[0])}
        return {
            f"{self.variable}_autocorrelation": xr.DataArray(
                corr, dims=("trial", "lag"), coords=coords, attrs=attrs),
            f"{self.variable}_autocovariance": xr.DataArray(
                corr - mean_sq[:, None], dims=("trial", "lag"), coords=coords, attrs=attrs),
        }


class Projection(Recorder):
    """Projections ``scale * v(t) @ vectors`` of the state or rates at every sampled step.

    Parameters
    ----------
    vectors : array of shape (n, k)
        Columns are the directions projected on.
    variable : {"x", "rates"}, default "rates"
    name : str, default "projection"
        Output variable name; its component dimension is ``<name>_component``.
    scale : float, default 1.0
    labels : sequence of str, optional
        Coordinate labels of the k components.
    every : int, optional

    filter_tau : float > 0 or "network", optional
        Record the low-pass-filtered projection ``S`` instead of the instantaneous one
        ``H = scale * v @ vectors``: ``filter_tau dS/dt = -S + H`` (``"network"``: the
        simulated network's ``tau``), updated at every simulation
        step (not only at sampled ones) with the exact solution for H linear over the step
        (second order in dt), so the recorded S does not depend on ``every``. Needs a
        continuous-time `Network`.
    initial : array of shape (k,) or (batch, k), optional
        ``S`` at t = 0 when filtering; by default ``H`` at t = 0 (S starts at rest).

    Constructors `Projection.latents` and `Projection.currents` build the common cases.

    Output: ``<name>`` with dims (<name>_time, trial, <name>_component); the time dimension
    is ``time`` when ``every`` equals the run's ``record_every``. With ``filter_tau`` the
    DataArray's attrs say ``filtered=1`` and ``filter_tau``.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        variable: str = "rates",
        name: str = "projection",
        scale: float = 1.0,
        labels: list[str] | None = None,
        every: int | None = None,
        filter_tau: float | str | None = None,
        initial: np.ndarray | None = None,
    ) -> None:
        super().__init__(variable, every)
        vectors = check_array("vectors", vectors, ndim=(1, 2))
        self.vectors = vectors[:, None] if vectors.ndim == 1 else vectors
        self.name = name
        self.scale = check_number("scale", scale)
        k = self.vectors.shape[1]
        if labels is not None and len(labels) != k:
            raise ValueError(f"labels must have {k} entries (one per column of vectors), "
                             f"got {len(labels)}")
        self.labels = list(labels) if labels is not None else [str(i) for i in range(k)]
        self.extra_coords: dict[str, tuple[str, Any]] = {}
        self.filter_tau = (filter_tau if filter_tau is None or filter_tau == "network" else
                           check_number("filter_tau", filter_tau, low=0.0, low_inclusive=False))
        if initial is not None and self.filter_tau is None:
            raise ValueError("initial is the filtered projection at t = 0: it needs filter_tau")
        self.initial = None if initial is None else check_array("initial", initial,
                                                                ndim=(1, 2))
        if self.initial is not None and self.initial.shape[-1] != k:
            raise ValueError(f"initial must have {k} entries per trial (one per column of "
                             f"vectors), got shape {self.initial.shape}")

    @property
    def per_step(self) -> bool:
        """Filtering needs the projection at every simulation step."""
        return self.filter_tau is not None

    @classmethod
    def latents(cls, connectivity: Connectivity, every: int | None = None) -> Projection:
        """Latent variables ``kappa = pinv(M) x`` of a low-rank ``J = M N^T / n``.

        For a network whose state lies in the span of the columns of M (low-rank, no
        disorder), ``x = M kappa``; with disorder, ``kappa`` is the least-squares coordinate.
        """
        left = getattr(connectivity, "left", None)
        if left is None:
            raise ValueError("connectivity must be low-rank (have `left` loadings M) for latents")
        left = np.asarray(left, dtype=np.float64).reshape(left.shape[0], -1)
        return cls(np.linalg.pinv(left).T, variable="x", name="latent",
                   labels=[f"kappa{r}" for r in range(left.shape[1])], every=every)

    @classmethod
    def currents(cls, connectivity: Connectivity, every: int | None = None, *,
                 filtered: bool = False, initial: np.ndarray | None = None,
                 name: str = "current") -> Projection:
        """Region-to-region currents of a multiregion network, one per coupling s -> r.

        Unfiltered (default): the instantaneous readouts ``H_{rs} = V_{rs}^T phi(x_s) / N_s``.
        ``filtered=True``: the currents ``S_{rs}`` of the mean-field theory,
        ``tau dS/dt = -S + H`` with the network's ``tau``, filtered on the fly at every step
        (see the class docstring). S is the coordinate of x along the input loadings: for a
        network without disorder started in their span, with ``initial`` the starting
        coordinates, ``x_r = sum_s U_{rs} S_{rs}`` exactly. At a fixed point S = H.

        One component per coupling ``s -> r`` and rank component; coordinates
        ``target_region`` and ``source_region`` say which (``<name>_target_region`` ... for
        a ``name`` other than "current").
        """
        if not hasattr(connectivity, "readout_vectors"):
            raise ValueError("connectivity must be multiregion (have readout_vectors) for currents")
        vectors, labels = connectivity.readout_vectors()
        rec = cls(vectors, variable="rates", name=name,
                  labels=[f"{t}<-{s}:{c}" for t, s, c in labels], every=every,
                  filter_tau="network" if filtered else None, initial=initial)
        # Coordinates named after the recorder, so two current recorders can share a run.
        prefix = "" if name == "current" else f"{name}_"
        rec.extra_coords = {
            f"{prefix}target_region": (f"{name}_component",
                                       np.array([t for t, _, _ in labels])),
            f"{prefix}source_region": (f"{name}_component",
                                       np.array([s for _, s, _ in labels])),
        }
        return rec

    def start(self, info: RunInfo) -> None:
        if self.vectors.shape[0] != info.n:
            raise ValueError(f"vectors must have n_neurons={info.n} rows, "
                             f"got {self.vectors.shape[0]}")
        self._steps = self.sample_steps(info)
        self._matrix = torch.as_tensor(self.vectors * self.scale, dtype=info.dtype,
                                       device=info.device)
        self._data = torch.empty((len(self._steps), info.batch, self.vectors.shape[1]),
                                 dtype=info.dtype, device=info.device)
        self._row = 0
        if self.filter_tau is not None:
            if not hasattr(info.network, "tau"):
                raise ValueError("filter_tau: filtering needs a continuous-time Network, "
                                 f"got {type(info.network).__name__}")
            self._tau = float(info.network.tau if self.filter_tau == "network"
                              else self.filter_tau)
            h = info.dt / self._tau
            decay = float(np.exp(-h))
            ramp = float(-np.expm1(-h) / h)  # (1 - e^-h) / h, accurate for small h
            # S_{k+1} = a S_k + b0 H_k + b1 H_{k+1}: exact for H linear over the step.
            self._weights = (decay, ramp - decay, 1.0 - ramp)
            self._filtered: torch.Tensor | None = None
            self._previous: torch.Tensor | None = None
            if self.initial is not None and self.initial.ndim == 2 \
                    and self.initial.shape[0] != info.batch:
                raise ValueError(f"initial must have batch={info.batch} rows, "
                                 f"got shape {self.initial.shape}")

    def update(self, step: int, values: torch.Tensor) -> None:
        if self.filter_tau is None:
            torch.matmul(values, self._matrix, out=self._data[self._row])
            self._row += 1
            return
        readout = values @ self._matrix
        if self._filtered is None:
            self._filtered = (readout.clone() if self.initial is None else
                              torch.as_tensor(self.initial, dtype=readout.dtype,
                                              device=readout.device).expand_as(readout).clone())
        else:
            decay, weight_old, weight_new = self._weights
            self._filtered.mul_(decay).add_(self._previous, alpha=weight_old) \
                .add_(readout, alpha=weight_new)
        self._previous = readout
        if step % self._every == 0:
            self._data[self._row] = self._filtered
            self._row += 1

    def finish(self) -> dict[str, xr.DataArray]:
        time_dim = "time" if self._every == self._info.record_every else f"{self.name}_time"
        component = f"{self.name}_component"
        coords: dict[str, Any] = {
            time_dim: _times(self._steps[: self._row], self._info.dt),
            component: self.labels,
        }
        coords.update(self.extra_coords)
        attrs = ({} if self.filter_tau is None else
                 {"filtered": 1, "filter_tau": self._tau})
        da = xr.DataArray(self._data[: self._row].cpu().numpy(),
                          dims=(time_dim, "trial", component), coords=coords, attrs=attrs)
        return {self.name: da}


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _check_memory(n_bytes: int) -> None:
    try:
        import os
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    if n_bytes > 0.8 * physical:
        raise ValueError(
            f"record: a full trajectory needs {n_bytes / 2**30:.1f} GiB, more than 80% of this "
            "machine's memory; raise record_every, subsample neurons (Trajectory(neurons=...)) or "
            "use streaming recorders (MeanVariance, Autocorrelation, Projection)"
        )
