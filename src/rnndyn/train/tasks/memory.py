"""Memory tasks: recall of a delayed impulse, and the n-bit flip-flop."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnndyn._validation import check_int, check_number
from rnndyn.train._protocols import TrialBatch
from rnndyn.train.tasks._base import (
    TaskBase,
    check_dt,
    check_flag,
    make_batch,
    regression_scores,
    to_steps,
)

__all__ = ["DelayedImpulseRecall", "FlipFlop"]


class DelayedImpulseRecall(TaskBase):
    """Output an input impulse again a fixed delay after it arrived.

    The experiment of Kim, Larsen & Parkes, "Shaping dynamical neural computations using
    spatiotemporal constraints" (Fig. 2E-G): a randomly connected network of 50 neurons whose
    readout is trained to "recall an impulse from 30 time steps in the past", i.e. to output
    ``y(t) = u(t - delay)``; it succeeds only when the connectivity is strong enough for the
    state to keep a trace of the input that long. The review gives no more detail, so:

    - one impulse per trial, one step long, at a step drawn uniformly among those whose recall
      still falls inside the trial; its height is ``amplitude`` (a number, or a (low, high)
      range drawn per trial);
    - the target is the input shifted by the delay, at every step (zero except the one recall
      step), and the whole trial is scored (mask 1): the readout must stay silent as well as
      recall. This is the delay line of the review's time-lagged basis (its Eq. 7).

    The review's network is a map (its Eq. 6); with the default ``dt = 0.1`` the default
    ``delay = 3`` is its 30 steps. To train the discrete-time network of the review, use
    ``dt=1, delay=30`` (with ``alpha = dt / tau = 1`` the leaky network is that map).

    Inputs (1): the impulse. Outputs (1): the recalled impulse.
    Periods: "pre" (before the impulse), "stimulus" (the impulse step), "delay", "response"
    (the recall step), "post".
    Conditions: ``impulse_step``, ``recall_step``, ``amplitude``.

    Parameters
    ----------
    delay : float
        Recall delay in time units (>= dt); ``delay_steps = round(delay / dt)``.
    duration : float, optional
        Trial length in time units; default ``2 * delay`` (at least ``delay + dt``).
    amplitude : float or (low, high)
        Impulse height (> 0).
    tolerance : float
        A trial counts as correct when the output peaks within ``tolerance`` time units of
        the recall step.
    dt : float
        Time step in units of tau.

    Examples
    --------
    >>> task = DelayedImpulseRecall(delay=3.0, dt=0.1)
    >>> b = task.batch(4, seed=0)
    >>> b.inputs.shape, task.delay_steps
    (torch.Size([4, 60, 1]), 30)
    >>> bool((b.targets[:, 30:] == b.inputs[:, :-30]).all())
    True
    """

    name = "delayed_impulse_recall"

    def __init__(self, delay: float = 3.0, duration: float | None = None,
                 amplitude: float | tuple[float, float] = 1.0, tolerance: float = 0.0,
                 dt: float = 0.1) -> None:
        self.dt = check_dt(dt)
        delay = check_number("delay", delay, low=0.0, low_inclusive=False)
        self.delay_steps = to_steps(delay, self.dt)
        if self.delay_steps < 1:
            raise ValueError(f"delay must be at least dt={self.dt:g}, got {delay!r}")
        if duration is None:
            self.n_steps = 2 * self.delay_steps
        else:
            duration = check_number("duration", duration, low=0.0, low_inclusive=False)
            self.n_steps = to_steps(duration, self.dt)
            if self.n_steps <= self.delay_steps:
                raise ValueError(f"duration must exceed delay + dt = "
                                 f"{(self.delay_steps + 1) * self.dt:g}, got {duration!r}")
        if isinstance(amplitude, tuple | list):
            if len(amplitude) != 2:
                raise ValueError(f"amplitude must be a number > 0 or a (low, high) pair, "
                                 f"got {amplitude!r}")
            low, high = (check_number("amplitude", a, low=0.0, low_inclusive=False)
                         for a in amplitude)
            if high < low:
                raise ValueError(f"amplitude must have low <= high, got {amplitude!r}")
        else:
            low = high = check_number("amplitude", amplitude, low=0.0, low_inclusive=False)
        self.amplitude = (low, high)
        self.tolerance_steps = to_steps(check_number("tolerance", tolerance, low=0.0), self.dt)
        self.n_inputs = self.n_outputs = 1
        self._params = {"delay": delay, "duration": self.n_steps * self.dt,
                        "amplitude": amplitude, "tolerance": tolerance, "dt": self.dt}

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        n, d = self.n_steps, self.delay_steps
        onset = rng.integers(0, n - d, batch_size)
        amplitude = rng.uniform(*self.amplitude, batch_size)
        rows = np.arange(batch_size)
        inputs = np.zeros((batch_size, n, 1))
        targets = np.zeros((batch_size, n, 1))
        inputs[rows, onset, 0] = amplitude
        targets[rows, onset + d, 0] = amplitude
        t = np.arange(n)
        start, recall = onset[:, None], onset[:, None] + d
        periods = {"pre": t < start, "stimulus": t == start,
                   "delay": (t > start) & (t < recall), "response": t == recall,
                   "post": t > recall}
        conditions = {"impulse_step": onset, "recall_step": onset + d, "amplitude": amplitude}
        return make_batch(inputs, targets, np.ones_like(targets), periods, conditions, self.dt)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Recall metrics.

        Returns
        -------
        dict
            ``accuracy``: fraction of trials whose output peaks (argmax over the trial) within
            the tolerance of the recall step (a constant output peaks at step 0: 0);
            ``amplitude_error``: mean |y(recall) - amplitude| / amplitude; ``mse``, ``nrmse``
            and ``r2`` over the whole trial.
        """
        y = self._outputs(outputs, batch)[..., 0]
        recall = batch.conditions["recall_step"]
        amplitude = batch.conditions["amplitude"]
        peak = np.argmax(y, axis=1)
        rows = np.arange(y.shape[0])
        scores = {
            "accuracy": float(np.mean(np.abs(peak - recall) <= self.tolerance_steps)),
            "amplitude_error": float(np.mean(np.abs(y[rows, recall] - amplitude) / amplitude)),
        }
        scores.update(regression_scores(y, batch.targets.numpy()[..., 0],
                                        batch.mask.numpy()[..., 0]))
        return scores


class FlipFlop(TaskBase):
    """The n-bit flip-flop of Sussillo & Barak (2013), "Opening the black box".

    Each of ``n_bits`` input channels receives brief pulses of +1 or -1 (random sign) at
    random times: a pulse starts on a channel with probability ``pulse_probability`` at each
    step, no closer than its own length after the previous pulse of that channel. Output
    channel i must hold the sign of the last pulse of input channel i until the next one
    (the target switches at the pulse onset), so a trained network stores 2^n_bits stable
    memories. Before a channel's first pulse its target is 0, masked by default.

    Inputs (n_bits): the pulses. Outputs (n_bits): the memories (+1/-1).
    Periods: "initial" (before the first pulse on any channel), "pulse" (a pulse is on some
    channel), "hold" (the rest).
    Conditions: ``n_pulses`` (pulses per trial, all channels).

    Parameters
    ----------
    n_bits : int
    duration : float
        Trial length in time units.
    pulse_probability : float in (0, 1)
        Probability per step and channel that a pulse starts (0.05 at dt = 0.1: one pulse
        per 2 time units on average).
    pulse_duration : float, optional
        Length of a pulse in time units; default one step.
    amplitude : float
        Pulse height (> 0).
    mask_initial : bool
        Leave the steps before a channel's first pulse unscored (True) or score them against
        a target of 0 (False).
    dt : float

    Examples
    --------
    >>> task = FlipFlop(n_bits=3)
    >>> b = task.batch(2, seed=1)
    >>> tuple(b.inputs.shape), tuple(b.targets.shape)
    ((2, 100, 3), (2, 100, 3))
    >>> task.score(b.targets, b)["accuracy"]
    1.0
    """

    name = "flip_flop"

    def __init__(self, n_bits: int = 3, duration: float = 10.0, pulse_probability: float = 0.05,
                 pulse_duration: float | None = None, amplitude: float = 1.0,
                 mask_initial: bool = True, dt: float = 0.1) -> None:
        self.dt = check_dt(dt)
        self.n_bits = check_int("n_bits", n_bits)
        duration = check_number("duration", duration, low=0.0, low_inclusive=False)
        self.n_steps = to_steps(duration, self.dt)
        if self.n_steps < 1:
            raise ValueError(f"duration must be at least dt={self.dt:g}, got {duration!r}")
        self.pulse_probability = check_number("pulse_probability", pulse_probability,
                                              low=0.0, high=1.0, low_inclusive=False)
        if pulse_duration is None:
            self.pulse_steps = 1
        else:
            pulse_duration = check_number("pulse_duration", pulse_duration, low=0.0,
                                          low_inclusive=False)
            self.pulse_steps = to_steps(pulse_duration, self.dt)
            if self.pulse_steps < 1:
                raise ValueError(f"pulse_duration must be at least dt={self.dt:g}, "
                                 f"got {pulse_duration!r}")
        self.amplitude = check_number("amplitude", amplitude, low=0.0, low_inclusive=False)
        self.mask_initial = check_flag("mask_initial", mask_initial)
        self.n_inputs = self.n_outputs = self.n_bits
        self._params = {"n_bits": self.n_bits, "duration": duration,
                        "pulse_probability": self.pulse_probability,
                        "pulse_duration": pulse_duration, "amplitude": self.amplitude,
                        "mask_initial": self.mask_initial, "dt": self.dt}

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        shape = (batch_size, self.n_steps, self.n_bits)
        draws = rng.random(shape) < self.pulse_probability
        signs = rng.choice(np.array([-1.0, 1.0]), size=shape)
        # Enforce the refractory gap: a pulse may start only once the previous one is over.
        onset = np.zeros(shape, dtype=bool)
        free_from = np.zeros((batch_size, self.n_bits), dtype=int)
        for t in range(self.n_steps):
            start = draws[:, t] & (t >= free_from)
            onset[:, t] = start
            free_from = np.where(start, t + self.pulse_steps, free_from)
        # Index of the latest onset at or before each step (-1: none yet).
        t_index = np.where(onset, np.arange(self.n_steps)[None, :, None], -1)
        last = np.maximum.accumulate(t_index, axis=1)
        has_pulse = last >= 0
        last_sign = np.take_along_axis(signs, np.maximum(last, 0), axis=1)
        targets = np.where(has_pulse, last_sign, 0.0)
        on = has_pulse & (np.arange(self.n_steps)[None, :, None] - last < self.pulse_steps)
        inputs = np.where(on, self.amplitude * last_sign, 0.0)
        mask = has_pulse.astype(float) if self.mask_initial else np.ones(shape)
        any_pulse = on.any(axis=2)
        started = has_pulse.any(axis=2)
        periods = {"initial": ~started, "pulse": any_pulse, "hold": started & ~any_pulse}
        conditions = {"n_pulses": onset.sum(axis=(1, 2))}
        return make_batch(inputs, targets, mask, periods, conditions, self.dt)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Memory metrics over the scored steps.

        Returns
        -------
        dict
            ``accuracy``: fraction of scored entries with a nonzero target where
            ``sign(output) == target`` (chance: 0.5); ``accuracy_bit{i}`` per channel;
            ``mse`` over the scored entries.
        """
        y = self._outputs(outputs, batch)
        target = batch.targets.numpy().astype(np.float64)
        mask = batch.mask.numpy() > 0
        held = mask & (target != 0)
        correct = np.sign(y) == target
        scores = {"accuracy": float(correct[held].mean()) if held.any() else float("nan")}
        for i in range(self.n_bits):
            h = held[..., i]
            scores[f"accuracy_bit{i}"] = float(correct[..., i][h].mean()) if h.any() else np.nan
        scores["mse"] = float(((y - target) ** 2)[mask].mean()) if mask.any() else np.nan
        return scores
