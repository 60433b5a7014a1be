"""Perceptual decision tasks: two-choice evidence integration, and its context-dependent form.

Noise convention (both tasks): the evidence carries white noise of intensity ``sigma``, i.e.
independent Gaussian values of standard deviation ``sigma / sqrt(dt)`` at each step, so that
its integral over a period does not depend on dt. NeuroGym writes the same noise as
``sigma_ms / sqrt(dt_ms)`` with times in ms; for tau = 100 ms (Song et al. 2016) its default
``sigma = 1`` is ``sigma = 0.1`` here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnndyn._validation import check_number
from rnndyn.train._protocols import TrialBatch
from rnndyn.train.tasks._base import (
    Duration,
    Epochs,
    TaskBase,
    accuracy_by,
    check_dt,
    check_levels,
    level_key,
    make_batch,
    period_mean,
)

__all__ = ["ContextDependentIntegration", "PerceptualDecision"]

_PERIODS = ("fixation", "stimulus", "delay", "decision")


def _epochs(fixation: Duration, stimulus: Duration, delay: Duration, decision: Duration,
            dt: float) -> Epochs:
    epochs = Epochs(list(zip(_PERIODS, (fixation, stimulus, delay, decision), strict=True)),
                    dt)
    for name, (low, _) in zip(_PERIODS, epochs.steps, strict=True):
        if name in ("stimulus", "decision") and low < 1:
            raise ValueError(f"{name} must last at least one step (dt={dt:g})")
    return epochs


class PerceptualDecision(TaskBase):
    """Two-alternative forced choice on noisy evidence (random-dot motion discrimination).

    As NeuroGym's ``PerceptualDecisionMaking`` and the perceptual decision task of Song, Yang &
    Wang (2016, PLoS Comput Biol 12:e1004792), after Britten et al. (1992). Each trial draws a
    correct choice (0 or 1) and an unsigned coherence c (%) from ``coherences``; during the
    stimulus the evidence channel of the correct choice has mean ``0.5 + c/200`` and the
    other ``0.5 - c/200``, both with independent white noise. The fixation input is 1 until
    the decision period, whose onset (fixation off) is the go cue.

    Inputs (3): fixation, evidence for choice 0, evidence for choice 1.
    Outputs (3): fixation, choice 0, choice 1; the target is (1, 0, 0) before the decision
    period and the one-hot correct choice during it, scored everywhere but the padding
    (mask 1, as NeuroGym's supervised targets).
    Periods: "fixation", "stimulus", "delay", "decision" (+ "padding" with variable timing).
    Conditions: ``coherence`` (%), ``choice`` (0/1), ``signed_coherence`` (> 0 favours
    choice 0), ``stimulus_steps``.

    Parameters
    ----------
    coherences : sequence of float in [0, 100]
        Unsigned coherence levels (%), drawn uniformly.
    fixation, stimulus, delay, decision : float or (low, high)
        Period durations in time units (a pair: uniform per trial). NeuroGym's defaults
        (100, 2000, 0, 100 ms) are 1, 20, 0, 1 with tau = 100 ms; the 5-unit stimulus here
        keeps trials at 80 steps.
    sigma : float
        Noise intensity (see the module docstring).
    dt : float
    """

    name = "perceptual_decision"

    def __init__(self, coherences: Any = (0.0, 3.2, 6.4, 12.8, 25.6, 51.2),
                 fixation: Duration = 1.0, stimulus: Duration = 5.0, delay: Duration = 0.0,
                 decision: Duration = 2.0, sigma: float = 0.1, dt: float = 0.1) -> None:
        self.dt = check_dt(dt)
        self.coherences = check_levels("coherences", coherences)
        self.sigma = check_number("sigma", sigma, low=0.0)
        self.epochs = _epochs(fixation, stimulus, delay, decision, self.dt)
        self.n_inputs = self.n_outputs = 3
        self._params = {"coherences": tuple(self.coherences.tolist()), "fixation": fixation,
                        "stimulus": stimulus, "delay": delay, "decision": decision,
                        "sigma": self.sigma, "dt": self.dt}

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        bounds, periods = self.epochs.sample(rng, batch_size)
        coherence = rng.choice(self.coherences, batch_size)
        choice = rng.integers(0, 2, batch_size)
        noise = rng.standard_normal((batch_size, self.epochs.n_steps, 2))
        stim, dec = periods["stimulus"], periods["decision"]
        before = periods["fixation"] | stim | periods["delay"]
        favour = np.where(np.arange(2) == choice[:, None], 1.0, -1.0)      # (batch, 2)
        mean = 0.5 + favour * coherence[:, None] / 200.0
        inputs = np.zeros((batch_size, self.epochs.n_steps, 3))
        inputs[..., 0] = before
        inputs[..., 1:] = stim[..., None] * (mean[:, None, :]
                                            + self.sigma / np.sqrt(self.dt) * noise)
        targets = np.zeros_like(inputs)
        targets[..., 0] = before
        targets[..., 1:] = dec[..., None] * (np.arange(2) == choice[:, None])[:, None, :]
        mask = np.broadcast_to((before | dec)[..., None], targets.shape).astype(float)
        conditions = {"coherence": coherence, "choice": choice,
                      "signed_coherence": np.where(choice == 0, coherence, -coherence),
                      "stimulus_steps": bounds[:, 2] - bounds[:, 1]}
        return make_batch(inputs, targets, mask, periods, conditions, self.dt)

    def choices(self, outputs: Any, batch: TrialBatch) -> np.ndarray:
        """The choice (0/1) of each trial: the larger choice output averaged over the
        decision period (ties go to choice 0)."""
        y = self._outputs(outputs, batch)
        mean = period_mean(y[..., 1:], batch.periods["decision"].numpy())
        return np.argmax(mean, axis=1)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Behaviour: ``accuracy``, ``accuracy_coh_{c}`` per coherence (the psychometric
        curve; at 0 % the "correct" choice is the random label, so 0.5 expected), and
        ``fixation_accuracy`` (fraction of trials whose mean output before the decision is
        largest on the fixation channel). Chance accuracy is 0.5."""
        y = self._outputs(outputs, batch)
        correct = self.choices(y, batch) == batch.conditions["choice"]
        p = {k: v.numpy() for k, v in batch.periods.items()}
        before = period_mean(y, p["fixation"] | p["stimulus"] | p["delay"])
        scores = {"accuracy": float(correct.mean())}
        scores.update(accuracy_by(correct, batch.conditions["coherence"], "accuracy_coh_"))
        scores["fixation_accuracy"] = float(np.mean(np.argmax(before, axis=1) == 0))
        return scores

    def psychometric(self, outputs: Any, batch: TrialBatch) -> tuple[np.ndarray, np.ndarray]:
        """``(signed_coherence levels, P(choice 0))``: the psychometric function."""
        picks = self.choices(outputs, batch) == 0
        signed = batch.conditions["signed_coherence"]
        levels = np.unique(signed)
        return levels, np.array([picks[signed == v].mean() for v in levels])


class ContextDependentIntegration(TaskBase):
    """Context-dependent integration of one of two evidence streams (Mante, Sussillo, Shenoy
    & Newsome 2013, Nature 503:78).

    A monkey (and the RNN of the paper) sees dots with both a motion and a color coherence and
    reports, depending on a context cue, either the motion direction or the dominant color;
    the irrelevant stream must be ignored. Here, as in the paper's network: one input per
    stream with mean equal to the signed coherence (c / 100) plus white noise during the
    stimulus; two context inputs, one of which is 1 for the whole trial; one output, whose
    target is the sign of the relevant stream's coherence (+1/-1) during the decision period
    and 0 during fixation; the stimulus and delay are not scored (the paper's network was
    only constrained at the end of the trial). Each stream's signed coherence is drawn
    independently from ``+-coherences``, so relevant and irrelevant evidence are orthogonal
    across trials (the paper's 6 x 6 conditions). The default levels (5, 15, 50 %) and the
    750 ms stimulus (7.5 time units for tau = 100 ms) follow NeuroGym's
    ``ContextDecisionMaking``; the delay defaults to 0 as in the paper.

    Inputs (4): motion, color, motion context, color context. Outputs (1): choice.
    Periods: "fixation", "stimulus", "delay", "decision" (+ "padding" with variable timing).
    Conditions: ``context`` (0: motion, 1: color), ``motion_coherence`` and
    ``color_coherence`` (signed, %), ``choice`` (+1/-1).

    Parameters
    ----------
    coherences : sequence of float in [0, 100]
        Unsigned levels; with 0, the sign (and the correct choice) is drawn at random.
    fixation, stimulus, delay, decision : float or (low, high)
        Period durations in time units.
    sigma : float
        Noise intensity of each stream.
    dt : float
    """

    name = "context_dependent_integration"
    contexts = ("motion", "color")

    def __init__(self, coherences: Any = (5.0, 15.0, 50.0), fixation: Duration = 3.0,
                 stimulus: Duration = 7.5, delay: Duration = 0.0, decision: Duration = 1.0,
                 sigma: float = 0.1, dt: float = 0.1) -> None:
        self.dt = check_dt(dt)
        self.coherences = check_levels("coherences", coherences)
        self.sigma = check_number("sigma", sigma, low=0.0)
        self.epochs = _epochs(fixation, stimulus, delay, decision, self.dt)
        self.n_inputs, self.n_outputs = 4, 1
        self._params = {"coherences": tuple(self.coherences.tolist()), "fixation": fixation,
                        "stimulus": stimulus, "delay": delay, "decision": decision,
                        "sigma": self.sigma, "dt": self.dt}

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        bounds, periods = self.epochs.sample(rng, batch_size)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(batch_size, 2))
        coherence = signs * rng.choice(self.coherences, size=(batch_size, 2))  # motion, color
        context = rng.integers(0, 2, batch_size)
        noise = rng.standard_normal((batch_size, self.epochs.n_steps, 2))
        stim, dec = periods["stimulus"], periods["decision"]
        in_trial = ~periods["padding"] if "padding" in periods else np.ones_like(stim)
        inputs = np.zeros((batch_size, self.epochs.n_steps, 4))
        inputs[..., :2] = stim[..., None] * (coherence[:, None, :] / 100.0
                                            + self.sigma / np.sqrt(self.dt) * noise)
        inputs[..., 2:] = in_trial[..., None] * (np.arange(2) == context[:, None])[:, None, :]
        choice = signs[np.arange(batch_size), context]
        targets = (dec * choice[:, None])[..., None]
        mask = (periods["fixation"] | dec)[..., None].astype(float)
        conditions = {"context": context, "motion_coherence": coherence[:, 0],
                      "color_coherence": coherence[:, 1], "choice": choice.astype(int),
                      "stimulus_steps": bounds[:, 2] - bounds[:, 1]}
        return make_batch(inputs, targets, mask, periods, conditions, self.dt)

    def choices(self, outputs: Any, batch: TrialBatch) -> np.ndarray:
        """The choice (+1/-1) of each trial: the sign of the output averaged over the decision
        period (0 counts as -1)."""
        y = self._outputs(outputs, batch)
        mean = period_mean(y, batch.periods["decision"].numpy())[:, 0]
        return np.where(mean > 0, 1, -1)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Behaviour: ``accuracy`` (chance 0.5), ``accuracy_{context}_context``, and the
        psychometric functions of the paper's Fig. 2: for each context and each stream,
        ``p_plus_{context}_context_{stream}_{signed coherence}`` is the fraction of +1
        choices at that coherence of that stream (steep for the relevant stream, flat for
        the irrelevant one in a trained network)."""
        choice = self.choices(outputs, batch)
        cond = batch.conditions
        correct = choice == cond["choice"]
        scores = {"accuracy": float(correct.mean())}
        for k, ctx in enumerate(self.contexts):
            in_ctx = cond["context"] == k
            if in_ctx.any():
                scores[f"accuracy_{ctx}_context"] = float(correct[in_ctx].mean())
        for k, ctx in enumerate(self.contexts):
            in_ctx = cond["context"] == k
            for stream in self.contexts:
                levels = cond[f"{stream}_coherence"]
                for v in np.unique(levels[in_ctx]):
                    picks = choice[in_ctx & (levels == v)] == 1
                    key = f"p_plus_{ctx}_context_{stream}_{'+' if v > 0 else ''}{level_key(v)}"
                    scores[key] = float(picks.mean())
        return scores
