"""Prediction of chaotic time series (Lorenz 1963, Mackey & Glass 1977)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rnndyn._validation import check_choice, check_int, check_number
from rnndyn.connectivity._random import resolve_seed
from rnndyn.train._protocols import TrialBatch
from rnndyn.train.tasks._base import TaskBase, check_dt, make_batch, regression_scores, to_steps

__all__ = ["MACKEY_GLASS", "ChaoticSeriesPrediction", "mackey_glass"]

# dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t): chaotic for tau = 17.
MACKEY_GLASS = {"beta": 0.2, "gamma": 0.1, "n": 10.0, "tau": 17.0}


def mackey_glass(n_samples: int, sample_interval: float = 1.0, *, step: float = 0.02,
                 t_transient: float = 500.0, seed: int | np.random.Generator | None = None,
                 ) -> np.ndarray:
    """Sample the Mackey-Glass delay equation (tau = 17) on a uniform grid.

    History: constant ``x(t) = x0`` for ``-tau <= t <= 0`` with ``x0 = 1.2 + 0.1 xi`` (xi
    standard normal from ``seed``). Integrator: the method of steps with an exponential
    integrator: over each step ``h`` the linear decay ``-gamma x`` is solved exactly and the
    delayed feedback, known from the history ``tau`` back, is interpolated linearly between
    grid points, i.e. ``x_{k+1} = a x_k + (w - c) f_k + c f_{k+1}`` with ``a = exp(-gamma h)``,
    ``w = (1 - a) / gamma``, ``c = (h w - (1 - a (1 + gamma h)) / gamma^2) / h`` and
    ``f_k = beta x_{k-m} / (1 + x_{k-m}^n)``, ``m = tau / h``. Second order in ``h``; since the
    feedback over the next ``tau`` is already known, each block of ``m`` steps is one
    vectorised recurrence.

    Parameters
    ----------
    n_samples : int
    sample_interval : float
        Time between samples; a whole multiple of ``step``.
    step : float
        Integration step; ``tau / step`` must be a whole number.
    t_transient : float
        Time integrated and discarded first.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    ndarray (n_samples,)
    """
    n_samples = check_int("n_samples", n_samples)
    step = check_number("step", step, low=0.0, low_inclusive=False)
    interval = check_number("sample_interval", sample_interval, low=0.0, low_inclusive=False)
    t_transient = check_number("t_transient", t_transient, low=0.0)
    p = MACKEY_GLASS
    m, stride = round(p["tau"] / step), round(interval / step)
    if stride < 1 or abs(stride * step - interval) > 1e-9 * interval:
        raise ValueError(f"sample_interval must be a whole multiple of step={step:g}, "
                         f"got {sample_interval!r}")
    if abs(m * step - p["tau"]) > 1e-9:
        raise ValueError(f"step must divide tau={p['tau']:g} into whole steps, got {step!r}")
    rng, _ = resolve_seed(seed)
    g, h = p["gamma"], step
    a = np.exp(-g * h)
    w = (1.0 - a) / g
    c = (h * w - (1.0 - a * (1.0 + g * h)) / g**2) / h
    start = m + to_steps(t_transient, h)
    total = start + (n_samples - 1) * stride + 1
    x = np.empty(total + m)
    x[: m + 1] = 1.2 + 0.1 * rng.standard_normal()
    k = m                                   # x[k] is known; x[i] is x at time (i - m) h
    powers = a ** np.arange(m + 1)
    while k < total - 1:
        length = min(m, total - 1 - k)
        delayed = x[k - m: k - m + length + 1]
        f = p["beta"] * delayed / (1.0 + delayed ** p["n"])
        forcing = (w - c) * f[:-1] + c * f[1:]                  # b_k ... b_{k+length-1}
        # x_{k+i} = a^i (x_k + sum_{j<i} a^{-(j+1)} b_{k+j})
        x[k + 1: k + length + 1] = powers[1: length + 1] * (
            x[k] + np.cumsum(forcing / powers[1: length + 1]))
        k += length
    return x[start: total: stride].copy()


@functools.lru_cache(maxsize=8)
def _series(system: str, length: int, interval: float, seed: int) -> np.ndarray:
    """The raw (un-normalised) trajectory, cached: (length, dim), read-only."""
    if system == "lorenz":
        # Imported here: rnndyn.analysis is heavy and only the Lorenz series needs it.
        from rnndyn.analysis._drivers import driver_trajectory

        states = driver_trajectory("lorenz", t_max=(length - 1) * interval, dt=interval,
                                   t_transient=20.0, seed=seed).states
    else:
        states = mackey_glass(length, interval, seed=seed)[:, None]
    states.setflags(write=False)
    return states


class ChaoticSeriesPrediction(TaskBase):
    """Predict a chaotic time series ``horizon`` samples ahead.

    A long trajectory of the system is generated once (seeded by ``series_seed``) and
    normalised to zero mean and unit variance per coordinate; each trial is a window of it
    starting at a random sample. The input at step t is the sample s(t), the target
    s(t + horizon); the first ``washout`` time units are not scored, so the network can
    synchronise with the series. One-step prediction of these series is the classic benchmark
    of echo-state networks (Jaeger & Haas 2004, Science 304:78, on Mackey-Glass) and reservoir
    computers (Pathak et al. 2018, on Lorenz).

    - ``"lorenz"``: Lorenz-63 (sigma, rho, beta) = (10, 28, 8/3), all three coordinates,
      integrated by ``rnndyn.analysis._drivers.driver_trajectory`` (DOP853, rtol = atol =
      1e-10), the integrator of the analysis package's chaotic drivers, so both use one
      definition; sampled every ``sample_interval`` = 0.02 by default, after a transient of
      20. Generating the default 5000 samples takes about 2 s, once per process (cached).
    - ``"mackey_glass"``: Mackey-Glass with tau = 17 (`MACKEY_GLASS`), integrated by
      `mackey_glass` (step 0.02), sampled every ``sample_interval`` = 1 by default (one
      network step per time unit of the series).

    Inputs = outputs = 3 (Lorenz) or 1 (Mackey-Glass).
    Periods: "washout", "prediction". Conditions: ``start`` (index of the window's first
    sample in the trajectory).

    Parameters
    ----------
    system : {"lorenz", "mackey_glass"}
    horizon : int
        Samples ahead (>= 1).
    duration : float
        Trial length in time units of the network (tau).
    washout : float
        Unscored beginning of each trial, in time units (< duration).
    sample_interval : float, optional
        Time of the series between consecutive samples (network steps).
    series_length : int
        Samples in the long trajectory (> trial length + horizon).
    series_seed : int
        Seed of the trajectory's initial condition.
    dt : float

    Attributes
    ----------
    mean, std : ndarray (dim,)
        The normalisation: ``raw = inputs * std + mean``.
    """

    name = "chaotic_series_prediction"

    def __init__(self, system: str = "lorenz", horizon: int = 1, duration: float = 20.0,
                 washout: float = 2.0, sample_interval: float | None = None,
                 series_length: int = 5000, series_seed: int = 0, dt: float = 0.1) -> None:
        self.dt = check_dt(dt)
        self.system = check_choice("system", system, ("lorenz", "mackey_glass"))
        self.horizon = check_int("horizon", horizon)
        duration = check_number("duration", duration, low=0.0, low_inclusive=False)
        washout = check_number("washout", washout, low=0.0)
        self.n_steps = to_steps(duration, self.dt)
        self.washout_steps = to_steps(washout, self.dt)
        if self.n_steps < 1 or self.washout_steps >= self.n_steps:
            raise ValueError(f"washout must be shorter than duration={duration:g} by a step, "
                             f"got {washout!r}")
        default_interval = 0.02 if self.system == "lorenz" else 1.0
        self.sample_interval = check_number(
            "sample_interval", default_interval if sample_interval is None else sample_interval,
            low=0.0, low_inclusive=False)
        self.series_length = check_int("series_length", series_length)
        if self.series_length <= self.n_steps + self.horizon:
            raise ValueError(f"series_length must exceed the trial length plus the horizon "
                             f"({self.n_steps + self.horizon}), got {series_length!r}")
        self.series_seed = check_int("series_seed", series_seed, low=0)
        self.n_inputs = self.n_outputs = 3 if self.system == "lorenz" else 1
        self._params = {"system": self.system, "horizon": self.horizon, "duration": duration,
                        "washout": washout, "sample_interval": self.sample_interval,
                        "series_length": self.series_length, "series_seed": self.series_seed,
                        "dt": self.dt}
        self._normalised: np.ndarray | None = None

    @property
    def raw_series(self) -> np.ndarray:
        """The un-normalised trajectory (series_length, dim), generated on first use."""
        return _series(self.system, self.series_length, self.sample_interval,
                       self.series_seed)

    @property
    def mean(self) -> np.ndarray:
        """Per-coordinate mean of the raw trajectory (dim,)."""
        return self.raw_series.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Per-coordinate standard deviation of the raw trajectory (dim,)."""
        return self.raw_series.std(axis=0)

    @property
    def series(self) -> np.ndarray:
        """The normalised trajectory (series_length, dim): ``(raw - mean) / std``."""
        if self._normalised is None:
            self._normalised = (self.raw_series - self.mean) / self.std
        return self._normalised

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        series = self.series
        n = self.n_steps
        start = rng.integers(0, self.series_length - n - self.horizon + 1, batch_size)
        index = start[:, None] + np.arange(n)
        inputs, targets = series[index], series[index + self.horizon]
        t = np.arange(n)
        washout = np.broadcast_to(t < self.washout_steps, (batch_size, n))
        mask = np.broadcast_to(~washout[..., None], targets.shape).astype(float)
        periods = {"washout": washout, "prediction": ~washout}
        return make_batch(inputs, targets, mask, periods, {"start": start}, self.dt)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Prediction quality over the scored steps (normalised units): ``mse``, ``nrmse``
        (RMSE over the targets' standard deviation: 0 perfect, about 1 for a constant
        output) and ``r2`` (1 - nrmse^2: 1 perfect, <= 0 for a constant output)."""
        y = self._outputs(outputs, batch)
        return regression_scores(y, batch.targets.numpy().astype(np.float64),
                                 batch.mask.numpy().astype(np.float64))
