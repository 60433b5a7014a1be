"""Neuromodulation of a trained network: change the neuronal gain, keep the weights.

A `RateRNN` computes rates ``phi(gain * x)`` with a per-neuron ``gain`` buffer (ones by
default). Neuromodulators such as noradrenaline or dopamine are often modelled as a change of
this gain (Servan-Schreiber, Printz & Cohen 1990; Ferguson & Cardin 2020): it scales how
strongly each neuron responds to its input without touching any synapse. This module

- `modulated` returns a copy of a model with another gain (one number, one per neuron, or one
  per region of a labelled network), the original untouched;
- `gain_sweep` scores a task at each of several gains (or on a grid of per-region gains) on one
  fixed batch of trials, with the same noise at every gain (common random numbers), so every
  difference between two gains is caused by the gain;
- `decision_times` reads out when a decision-task network commits to a choice, to see how
  reaction (switch) times move with the gain.

Examples
--------
>>> import numpy as np
>>> from rnndyn.train import RateRNN
>>> from rnndyn.train.tasks import PerceptualDecision
>>> model = RateRNN(3, 32, 3, seed=0)
>>> ds = gain_sweep(model, PerceptualDecision(), [0.5, 1.0, 2.0], n_trials=16, seed=0)
>>> ds["accuracy"].dims
('gain',)
>>> float(modulated(model, 2.0).gain[0]), float(model.gain[0])
(2.0, 1.0)
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from rnndyn._validation import check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.train._protocols import Task, TrialBatch

__all__ = ["Decisions", "decision_times", "gain_sweep", "gain_vector", "modulated"]

Metric = str | Sequence[str] | Callable[[torch.Tensor, TrialBatch], Any] | None


# --- gain vectors ---------------------------------------------------------------------------
def _model_gain(model: Any) -> torch.Tensor:
    gain = getattr(model, "gain", None)
    if not isinstance(gain, torch.Tensor) or gain.ndim != 1:
        raise ValueError(f"model must have a 1-D `gain` buffer of shape (n_neurons,) such as "
                         f"RateRNN's, got {type(model).__name__}")
    return gain


def _region_labels(regions: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(labels (N,), unique labels sorted)`` or a ValueError naming ``regions``."""
    if isinstance(regions, torch.Tensor):
        regions = regions.detach().cpu().numpy()
    labels = np.asarray(regions)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"regions must be a 1-D sequence of n_neurons={n} labels, got shape "
                         f"{labels.shape}")
    return labels, np.unique(labels)


def _label_index(label: Any, unique: np.ndarray, name: str) -> int:
    hits = np.flatnonzero(unique == label) if _comparable(label, unique) else np.zeros(0)
    if hits.size != 1:
        raise ValueError(f"{name}: unknown region {label!r}; the regions are "
                         f"{', '.join(map(repr, unique.tolist()))}")
    return int(hits[0])


def _comparable(label: Any, unique: np.ndarray) -> bool:
    # A str key never matches integer labels (and vice versa) instead of being cast.
    if unique.dtype.kind == "O":
        return True
    is_text = isinstance(label, str | np.str_)
    return is_text == (unique.dtype.kind in "US")


def _check_gain_values(name: str, values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a number or an array of numbers, got {values!r}")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got "
                         f"{values!r}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {values!r}")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 (a gain scales phi's input), got {values!r}")
    return array


def gain_vector(model: Any, gain: Any, *, regions: Any = None, relative: bool = False,
                name: str = "gain") -> torch.Tensor:
    """The per-neuron gain (N,) that `modulated` would give ``model``.

    Parameters
    ----------
    model : RateRNN
        Any module with a ``gain`` buffer of shape (N,).
    gain : float, array (N,), mapping or array (R,)
        Without ``regions``: one number for every neuron or one per neuron. With ``regions``:
        one number for every neuron, a mapping ``{label: gain}`` (neurons of regions it does
        not name keep the model's current gain), or a sequence of R gains in the order of
        ``numpy.unique(regions)`` (sorted labels).
    regions : array (N,) of labels, optional
        The region of each neuron (e.g. ``MultiRegionConnectivity.region_labels``).
    relative : bool, default False
        Multiply the model's current gain instead of replacing it.
    name : str, default "gain"
        The parameter named in error messages.

    Returns
    -------
    Tensor (N,)
        On the device and with the dtype of ``model.gain``.

    Raises
    ------
    ValueError
        A negative or non-finite gain, a wrong length, an unknown region label, ``regions``
        of the wrong length, or a model without a ``gain`` buffer.
    """
    current = _model_gain(model)
    n = current.shape[0]
    base = current.detach().cpu().numpy().astype(np.float64)
    if regions is None:
        if isinstance(gain, Mapping):
            raise ValueError(f"{name}: a mapping of region gains needs regions (labels of the "
                             "n_neurons neurons)")
        values = _check_gain_values(name, gain)
        if values.ndim > 1 or (values.ndim == 1 and values.shape[0] != n):
            raise ValueError(f"{name} must be a number or an array of n_neurons={n} gains, "
                             f"got shape {values.shape}")
        factors = np.broadcast_to(values, (n,))
        touched = np.ones(n, dtype=bool)
    else:
        labels, unique = _region_labels(regions, n)
        factors, touched = np.ones(n), np.zeros(n, dtype=bool)
        if isinstance(gain, Mapping):
            items = list(gain.items())
        else:
            values = _check_gain_values(name, gain)
            if values.ndim == 0:
                items = [(label, values) for label in unique]
            elif values.ndim == 1 and values.shape[0] == unique.size:
                items = list(zip(unique, values, strict=True))
            else:
                raise ValueError(f"{name} must be a number, a mapping {{region: gain}} or "
                                 f"{unique.size} gains (one per region, in sorted label "
                                 f"order), got shape {values.shape}")
        for label, value in items:
            index = _label_index(label, unique, name)
            value = _check_gain_values(f"{name}[{label!r}]", value)
            if value.ndim != 0:
                raise ValueError(f"{name}[{label!r}] must be one number, got shape "
                                 f"{value.shape}")
            where = labels == unique[index]
            factors[where], touched[where] = float(value), True
    result = base * factors if relative else np.where(touched, factors, base)
    return torch.as_tensor(result, dtype=current.dtype, device=current.device)


def modulated(model: torch.nn.Module, gain: Any, *, regions: Any = None,
              relative: bool = False) -> torch.nn.Module:
    """A copy of ``model`` whose neurons have another gain; the weights are the same.

    The rates of the copy are ``phi(gain * x)`` with the new gain; every parameter and buffer
    other than ``gain`` is an identical copy, and the original model is not changed.

    Parameters
    ----------
    model : RateRNN
        Any module with a ``gain`` buffer of shape (N,).
    gain : float, array (N,), mapping or array (R,)
        See `gain_vector`: one gain for all neurons, one per neuron, or with ``regions`` one
        per region (``{label: gain}`` or R values in sorted label order).
    regions : array (N,) of labels, optional
        The region of each neuron.
    relative : bool, default False
        Multiply the model's gain by ``gain`` instead of setting it (for a model whose gain is
        not 1 already).

    Returns
    -------
    torch.nn.Module
        A deep copy (same class) with the new ``gain``.

    Raises
    ------
    ValueError
        As `gain_vector`.

    Examples
    --------
    >>> from rnndyn.train import RateRNN
    >>> model = RateRNN(1, 4, 1, seed=0)
    >>> modulated(model, {"A": 2.0}, regions=["A", "A", "B", "B"]).gain.tolist()
    [2.0, 2.0, 1.0, 1.0]
    """
    vector = gain_vector(model, gain, regions=regions, relative=relative)
    return _copy_with_gain(model, vector)


def _copy_with_gain(model: torch.nn.Module, vector: torch.Tensor) -> torch.nn.Module:
    # The nonlinearity is shared, not copied: RateRNN.config (and save) require it to be the
    # registered object.
    memo = {}
    phi = getattr(model, "phi", None)
    if phi is not None:
        memo[id(phi)] = phi
    clone = copy.deepcopy(model, memo)
    with torch.no_grad():
        clone.gain.copy_(vector)
    return clone


# --- sweeps ---------------------------------------------------------------------------------
def _check_task(model: Any, task: Any) -> None:
    if not isinstance(task, Task):
        raise ValueError(f"task must follow rnndyn.train.Task (name, n_inputs, n_outputs, dt, "
                         f"batch, score), got {type(task).__name__}")
    for attr in ("n_inputs", "n_outputs"):
        if getattr(task, attr) != getattr(model, attr, None):
            raise ValueError(f"task {task.name!r} has {attr}={getattr(task, attr)} but the model "
                             f"has {attr}={getattr(model, attr, None)}")
    model_dt = getattr(model, "dt", None)
    if model_dt is not None and not math.isclose(float(task.dt), float(model_dt),
                                                 rel_tol=1e-9):
        raise ValueError(f"task {task.name!r} has dt={task.dt:g} but the model has "
                         f"dt={model_dt:g}; build the task with the model's dt")


def _sweep_axes(gains: Any, regions: Any, n: int
                ) -> tuple[list[str], list[np.ndarray], list[Any], dict[Any, float]]:
    """``(dims, values per dim, region label per dim (None without regions), fixed region
    gains)``."""
    if regions is None:
        if isinstance(gains, Mapping):
            raise ValueError("gains: a mapping {region: gains} needs regions (labels of the "
                             "n_neurons neurons)")
        values = _check_gain_values("gains", gains)
        values = np.atleast_1d(values)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"gains must be a non-empty 1-D sequence of gains (each applied "
                             f"to every neuron), got shape {values.shape}")
        return ["gain"], [values], [None], {}
    _, unique = _region_labels(regions, n)
    if not isinstance(gains, Mapping) or not gains:
        raise ValueError("gains must be a non-empty mapping {region: gain or sequence of gains} "
                         "when regions are given")
    dims, axes, labels, fixed = [], [], [], {}
    for label, value in gains.items():
        index = _label_index(label, unique, "gains")
        values = _check_gain_values(f"gains[{label!r}]", value)
        if values.ndim == 0:
            fixed[unique[index].item()] = float(values)
            continue
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"gains[{label!r}] must be a number or a non-empty 1-D sequence, "
                             f"got shape {values.shape}")
        dim = f"gain_{unique[index].item()}"
        if dim in dims:
            raise ValueError(f"gains names region {label!r} twice")
        dims.append(dim)
        axes.append(values)
        labels.append(unique[index].item())
    return dims, axes, labels, fixed  # only fixed gains: no dimension, one point


def _metric_function(task: Task, metric: Metric
                     ) -> Callable[[torch.Tensor, TrialBatch], dict[str, float]]:
    if metric is None:
        return task.score
    if callable(metric):
        def custom(outputs: torch.Tensor, batch: TrialBatch) -> dict[str, float]:
            value = metric(outputs, batch)
            return dict(value) if isinstance(value, Mapping) else {"metric": value}
        return custom
    names = [metric] if isinstance(metric, str) else list(metric)
    if not names or not all(isinstance(name, str) for name in names):
        raise ValueError(f"metric must be None, a metric name, a sequence of names or a "
                         f"callable (outputs, batch) -> dict, got {metric!r}")

    def select(outputs: torch.Tensor, batch: TrialBatch) -> dict[str, float]:
        scores = task.score(outputs, batch)
        missing = [name for name in names if name not in scores]
        if missing:
            raise ValueError(f"metric {missing[0]!r} is not returned by {task.name!r}'s score; "
                             f"it returns {', '.join(map(repr, scores))}")
        return {name: scores[name] for name in names}
    return select


def _outputs(model: torch.nn.Module, inputs: torch.Tensor, chunk: int, base: int
             ) -> torch.Tensor:
    """Model outputs on the CPU, trials run ``chunk`` at a time; the noise of chunk k is drawn
    from ``default_rng([base, 1, k])`` at every gain."""
    pieces = []
    for k, start in enumerate(range(0, inputs.shape[0], chunk)):
        out = model(inputs[start:start + chunk], noise_seed=np.random.default_rng([base, 1, k]))
        pieces.append(out.outputs.detach().cpu())
    outputs = torch.cat(pieces)
    return outputs.float() if outputs.dtype in (torch.float16, torch.bfloat16) else outputs


def gain_sweep(model: torch.nn.Module, task: Task, gains: Any, *, n_trials: int,
               seed: Seed = None, metric: Metric = None, regions: Any = None,
               relative: bool = False, chunk_size: int | None = 256) -> xr.Dataset:
    """Score ``task`` at each gain, on one batch of trials shared by all gains.

    The batch (``n_trials`` trials, drawn once from ``seed``) and, for a noisy model, the noise
    are the same at every gain (common random numbers), so the differences between gains are
    caused by the gain alone and not by resampling. The model's weights and gain are left as
    they were (each gain is applied to a copy).

    Parameters
    ----------
    model : RateRNN
        Any module with a ``gain`` buffer (N,), ``n_inputs``, ``n_outputs``, ``dt`` and
        RateRNN's ``forward(inputs, noise_seed=...)``. Its ``noise_std`` is used as it is (set
        it to 0 for noise-free behaviour).
    task : Task
        See `rnndyn.train.Task`; its ``n_inputs``, ``n_outputs`` and ``dt`` must match.
    gains : sequence of float, or mapping
        Without ``regions``: the gains to try, each applied to every neuron (dimension
        ``gain``). With ``regions``: ``{label: gains}``; a sequence gives a dimension
        ``gain_{label}`` and the sweep runs over the full grid (Cartesian product) of these
        dimensions, a single number holds that region at that gain throughout, and regions not
        named keep the model's gain.
    n_trials : int
        Trials in the shared batch.
    seed : int or numpy.random.Generator, optional
        Draws the batch (``default_rng([seed, 0])``) and the noise; recorded in ``attrs``.
    metric : None, str, sequence of str or callable, optional
        None: every metric of ``task.score``. Names: only those metrics. A callable
        ``metric(outputs, batch)`` returning a dict of numbers (or one number, stored as
        ``"metric"``) replaces ``task.score`` (e.g. built on `decision_times`).
    regions : array (N,) of labels, optional
        The region of each neuron, for per-region gains.
    relative : bool, default False
        Multiply the model's current gain by the swept values instead of setting it.
    chunk_size : int or None, default 256
        Trials per forward pass (bounds the memory of the rates); None runs all at once. With
        noise, the noise of a trial depends on the chunking, not on the gain.

    Returns
    -------
    xarray.Dataset
        One variable per metric over the gain dimension(s) (``gain``, or ``gain_{label}`` per
        swept region), coordinates the gain values; a metric missing at some gain is NaN.
        ``attrs``: ``rnndyn_kind`` = "gain_sweep", ``task``, ``n_trials``, ``seed``,
        ``relative``, ``noise_std`` and ``fixed_gains`` (JSON of the fixed region gains).

    Raises
    ------
    ValueError
        Bad gains (empty, negative, non-finite, unknown region), a task that does not match
        the model, an unknown metric name, or a bad ``n_trials`` / ``chunk_size``.

    Examples
    --------
    >>> from rnndyn.train import RateRNN
    >>> from rnndyn.train.tasks import PerceptualDecision
    >>> model = RateRNN(3, 8, 3, seed=0)
    >>> ds = gain_sweep(model, PerceptualDecision(), {0: [0.5, 1.0], 1: [1.0, 2.0]},
    ...                 regions=[0] * 4 + [1] * 4, n_trials=8, seed=0, metric="accuracy")
    >>> ds["accuracy"].shape
    (2, 2)
    """
    gain = _model_gain(model)
    _check_task(model, task)
    n_trials = check_int("n_trials", n_trials)
    chunk = n_trials if chunk_size is None else check_int("chunk_size", chunk_size)
    dims, axes, labels, fixed = _sweep_axes(gains, regions, gain.shape[0])
    score = _metric_function(task, metric)
    rng, record = resolve_seed(seed)
    base = record if isinstance(record, int) else int(rng.integers(2**63))
    batch = task.batch(n_trials, seed=np.random.default_rng([base, 0]))
    reference = next(model.parameters(), gain)
    inputs = torch.as_tensor(batch.inputs, dtype=reference.dtype, device=reference.device)
    clone = _copy_with_gain(model, gain.detach().clone())
    clone.eval()
    results: list[dict[str, float]] = []
    with torch.no_grad():
        for point in itertools.product(*axes):
            if regions is None:
                vector = gain_vector(model, point[0], relative=relative, name="gains")
            else:
                setting = {**fixed, **dict(zip(labels, point, strict=True))}
                vector = gain_vector(model, setting, regions=regions, relative=relative,
                                     name="gains")
            clone.gain.copy_(vector)
            results.append(dict(score(_outputs(clone, inputs, chunk, base), batch)))
    names = list(dict.fromkeys(name for result in results for name in result))
    shape = tuple(axis.size for axis in axes)
    data = {name: (dims, np.array([float(r.get(name, np.nan)) for r in results]
                                  ).reshape(shape)) for name in names}
    ds = xr.Dataset(data, coords={dim: axis for dim, axis in zip(dims, axes, strict=True)})
    ds.attrs.update({
        "rnndyn_kind": "gain_sweep",
        "task": str(task.name),
        "n_trials": n_trials,
        "seed": base,
        "relative": int(relative),
        "noise_std": float(getattr(model, "noise_std", 0.0)),
        "fixed_gains": json.dumps({str(k): v for k, v in fixed.items()}),
    })
    return ds


# --- behavioural read-out -------------------------------------------------------------------
@dataclass(frozen=True)
class Decisions:
    """When and how each trial was decided; see `decision_times`.

    Attributes
    ----------
    time : ndarray (batch,) float
        Time from the start of the window to the crossing, in the task's time units:
        ``(t - t0 + 1) * dt`` for a crossing at output index t and a window starting at t0
        (``outputs[:, t]`` is the state after the step driven by input t). NaN if the
        threshold was never crossed.
    step : ndarray (batch,) int
        The output index t of the crossing, -1 if none.
    choice : ndarray (batch,) float
        With two channels (a, b): 0 when ``y_a - y_b`` reached +threshold (channel a won), 1
        when it reached -threshold; with one output: +1 or -1, the sign of the output. NaN if
        undecided. The conventions of the tasks' ``choices`` (`PerceptualDecision`,
        `ContextDependentIntegration`).
    """

    time: np.ndarray
    step: np.ndarray
    choice: np.ndarray

    @property
    def decided(self) -> np.ndarray:
        """Whether each trial crossed the threshold (bool, (batch,))."""
        return self.step >= 0


def decision_times(outputs: Any, batch: TrialBatch, threshold: float, *,
                   channels: tuple[int, int] | None = None,
                   periods: str | Sequence[str] = ("stimulus", "delay", "decision")
                   ) -> Decisions:
    """First time the choice outputs' difference crosses ``threshold`` in the decision window.

    The decision variable is ``d = y_a - y_b`` for two output channels (a, b), or the output
    itself for a task with a single output. A trial's decision is the first step of its
    window (the union of ``periods``) with ``|d| >= threshold``; its sign is the choice. The
    window usually starts at stimulus onset, so the time is a reaction time; a smaller time
    means an earlier commitment (e.g. at a higher gain).

    Parameters
    ----------
    outputs : Tensor or array (batch, time, n_outputs)
        Network outputs (``RNNOutput.outputs``) on ``batch``.
    batch : TrialBatch
        The trials (its ``periods`` define the window, ``dt`` the time unit).
    threshold : float
        > 0, in output units.
    channels : (int, int), optional
        The two choice channels (a, b). Default: the last two outputs (the choice outputs of
        `PerceptualDecision`, after its fixation output); with a single output, that output.
    periods : str or sequence of str, default ("stimulus", "delay", "decision")
        Periods of ``batch.periods`` forming the window; those absent from the batch are
        skipped, but at least one must be present.

    Returns
    -------
    Decisions
        ``time``, ``step`` and ``choice`` per trial.

    Raises
    ------
    ValueError
        A non-positive threshold, outputs of the wrong shape, bad channels, or no named
        period in the batch.

    Examples
    --------
    >>> from rnndyn.train import RateRNN
    >>> from rnndyn.train.tasks import PerceptualDecision
    >>> task, model = PerceptualDecision(), RateRNN(3, 16, 3, seed=0)
    >>> batch = task.batch(4, seed=0)
    >>> d = decision_times(model(batch.inputs).outputs, batch, threshold=0.2)
    >>> d.time.shape
    (4,)
    """
    threshold = check_number("threshold", threshold, low=0.0, low_inclusive=False)
    if isinstance(outputs, torch.Tensor):
        y = outputs.detach().to("cpu", torch.float64).numpy()
    else:
        y = np.asarray(outputs, dtype=np.float64)
    want = (batch.batch_size, batch.n_steps)
    if y.ndim != 3 or y.shape[:2] != want:
        raise ValueError(f"outputs must have shape (batch={want[0]}, time={want[1]}, "
                         f"n_outputs), got {y.shape}")
    n_out = y.shape[2]
    if channels is None:
        channels_used: tuple[int, ...] = (0,) if n_out == 1 else (n_out - 2, n_out - 1)
    else:
        ok = (isinstance(channels, Sequence) and len(channels) == 2
              and all(isinstance(c, int | np.integer) and -n_out <= c < n_out
                      for c in channels)
              and (channels[0] % n_out) != (channels[1] % n_out))
        if not ok:
            raise ValueError(f"channels must be two different output indices in "
                             f"[0, {n_out}), got {channels!r}")
        channels_used = tuple(int(c) for c in channels)
    d = y[..., channels_used[0]] if len(channels_used) == 1 else \
        y[..., channels_used[0]] - y[..., channels_used[1]]
    names = [periods] if isinstance(periods, str) else list(periods)
    present = [name for name in names if name in batch.periods]
    if not present:
        raise ValueError(f"periods: none of {names} is a period of the batch (it has "
                         f"{', '.join(map(repr, batch.periods))})")
    window = np.zeros(want, dtype=bool)
    for name in present:
        period = batch.periods[name]
        window |= np.asarray(period.cpu() if isinstance(period, torch.Tensor) else period,
                             dtype=bool)
    crossed = window & (np.abs(d) >= threshold)
    has_window, decided = window.any(axis=1), crossed.any(axis=1)
    first = np.where(decided, np.argmax(crossed, axis=1), -1)
    onset = np.where(has_window, np.argmax(window, axis=1), 0)
    time = np.where(decided, (first - onset + 1) * float(batch.dt), np.nan)
    rows = np.arange(want[0])
    sign = np.sign(d[rows, np.maximum(first, 0)])
    if len(channels_used) == 1:
        choice = np.where(decided, sign, np.nan)
    else:
        choice = np.where(decided, (sign < 0).astype(np.float64), np.nan)
    return Decisions(time=time, step=first.astype(np.int64), choice=choice)
