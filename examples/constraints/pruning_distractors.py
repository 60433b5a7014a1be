"""Pruned and dense RNNs on a working-memory task with distractors (review IV.1; Averbeck 2022).

Kim, Larsen & Parkes (review, Sec. IV.1 and Fig. 5) cite Averbeck (2022, PNAS 119:e2121331119):
RNNs trained on a working-memory task, then pruned incrementally (weak synapses removed, the
network retrained during pruning), were more resistant to distractors presented during the
delay. This script repeats the comparison with `rnndyn.train.train` and the
`MagnitudePruning` constraint (gradual magnitude pruning, Zhu & Gupta 2017):

- Task (defined here, `DelayedResponseWithDistractor`, a `rnndyn.train.Task`): a cue of
  height 1 on one of ``n_locations`` = 4 input channels, a delay of 4 tau during which a
  distractor pulse of the same length arrives on another channel, then a response period
  (fixation input off) in which the output must report the cue's location. rnndyn's tasks
  have no distractor option (`FlipFlop` treats every pulse as a command), hence the class.
  During training the distractor height is uniform in [0, ``train_distractor``] = [0, 0.5];
  the test sweeps it from 0 to 3 (three times the cue).
- Networks: `RateRNN(5, N, 4, dt=0.2, tau=1, noise_std=0.05)`, N = 100, trained with Adam
  for ``n_steps``. Pruned networks follow Averbeck's order: trained dense for the first
  40 % of the steps, pruned gradually (cubic schedule, every 10 steps) to the final
  sparsity between 40 % and 80 %, and retrained at that sparsity for the last 20 %. Dense
  networks get the same number of steps.

Outputs (in ``--output-dir``): ``pruning_distractors.png`` (accuracy and the fraction of
trials that report the distractor's location against distractor height, one curve per
sparsity, mean +- SE over seeds), ``pruning_distractors.csv`` (one row per sparsity, seed and
distractor height) and ``pruning_distractors.json`` (configuration, means, SEs, weight
statistics, timing).

Run: ``OMP_NUM_THREADS=1 python examples/constraints/pruning_distractors.py [--quick]``
(default: 3 sparsities x 8 seeds x 1200 steps, about 15 min on one core; ``--quick``:
seconds).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from _common import (
    Log,
    environment,
    mean_se,
    pyplot,
    save_figure,
    start,
    write_csv,
    write_json,
)

from rnndyn.train import RateRNN, TrialBatch, train
from rnndyn.train.constraints import MagnitudePruning

NAME = "pruning_distractors"


class DelayedResponseWithDistractor:
    """Remember a cued location over a delay that contains a distractor; report it at the end.

    Inputs (``n_locations + 1``): one channel per location, then a fixation channel that is 1
    until the response period. Outputs (``n_locations``): the target is 0 before the
    response period and the one-hot cue location during it; every step is scored (the
    output must also stay silent while the cue and the distractor are shown).

    Trial (time units of tau): ``fixation``, ``cue`` (height 1 on the cue channel),
    ``delay``, ``response``. The distractor is a pulse of length ``distractor_duration`` and
    height ``distractor`` (a number, or a (low, high) range drawn per trial) on a different
    channel, starting ``distractor_onset`` (a (low, high) range, whole steps) after the cue
    ends; it must end before the delay does.

    Periods: ``fixation``, ``cue``, ``delay``, ``response``. Conditions: ``cue``,
    ``distractor_location``, ``distractor_height``, ``distractor_onset`` (step).
    Score: ``accuracy`` (largest mean output over the response period at the cue's location;
    chance 1 / n_locations), ``distracted`` (... at the distractor's location), ``mse``.
    """

    name = "delayed_response_distractor"

    def __init__(self, n_locations: int = 4, fixation: float = 1.0, cue: float = 1.0,
                 delay: float = 4.0, response: float = 1.0,
                 distractor: float | tuple[float, float] = 0.0,
                 distractor_duration: float = 1.0,
                 distractor_onset: tuple[float, float] = (0.5, 2.5), dt: float = 0.2) -> None:
        if n_locations < 2:
            raise ValueError(f"n_locations must be >= 2, got {n_locations!r}")
        low, high = distractor if isinstance(distractor, tuple) else (distractor, distractor)
        if not 0 <= low <= high:
            raise ValueError(f"distractor must be >= 0 (or 0 <= low <= high), got {distractor!r}")
        self.n_locations, self.dt = int(n_locations), float(dt)
        self.n_inputs, self.n_outputs = self.n_locations + 1, self.n_locations
        self.distractor = (float(low), float(high))

        def steps(duration: float) -> int:
            return round(duration / self.dt + 1e-9)

        self.fixation, self.cue, self.delay, self.response = (
            steps(fixation), steps(cue), steps(delay), steps(response))
        self.pulse = steps(distractor_duration)
        self.onset = (steps(distractor_onset[0]), steps(distractor_onset[1]))
        if self.onset[1] + self.pulse > self.delay or min(self.cue, self.response) < 1:
            raise ValueError("the distractor must fit inside the delay, and cue and response "
                             "must last at least one step")
        self.n_steps = self.fixation + self.cue + self.delay + self.response

    def batch(self, batch_size: int, seed: int | np.random.Generator | None = None
              ) -> TrialBatch:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        k, n, rows = self.n_locations, self.n_steps, np.arange(batch_size)
        cue = rng.integers(0, k, batch_size)
        other = (cue + rng.integers(1, k, batch_size)) % k
        height = rng.uniform(*self.distractor, batch_size)
        delay_start = self.fixation + self.cue
        response_start = delay_start + self.delay
        onset = delay_start + rng.integers(self.onset[0], self.onset[1] + 1, batch_size)
        t = np.arange(n)
        inputs = np.zeros((batch_size, n, k + 1))
        inputs[:, :response_start, k] = 1.0
        cue_on = (t >= self.fixation) & (t < delay_start)
        inputs[rows[:, None], t[cue_on][None, :], cue[:, None]] = 1.0
        pulse = (t[None, :] >= onset[:, None]) & (t[None, :] < onset[:, None] + self.pulse)
        inputs[rows, :, other] += pulse * height[:, None]
        targets = np.zeros((batch_size, n, k))
        targets[rows[:, None], t[t >= response_start][None, :], cue[:, None]] = 1.0
        periods = {"fixation": t < self.fixation, "cue": cue_on,
                   "delay": (t >= delay_start) & (t < response_start),
                   "response": t >= response_start}

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

        return TrialBatch(
            inputs=tensor(inputs), targets=tensor(targets), mask=tensor(np.ones_like(targets)),
            periods={name: torch.from_numpy(np.broadcast_to(p, (batch_size, n)).copy())
                     for name, p in periods.items()},
            conditions={"cue": cue, "distractor_location": other,
                        "distractor_height": height, "distractor_onset": onset},
            dt=self.dt)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        y = (outputs.detach().cpu().numpy() if isinstance(outputs, torch.Tensor)
             else np.asarray(outputs)).astype(np.float64)
        start = self.fixation + self.cue + self.delay
        choice = y[:, start:].mean(axis=1).argmax(axis=1)
        target = batch.targets.numpy()
        return {"accuracy": float(np.mean(choice == batch.conditions["cue"])),
                "distracted": float(np.mean(choice == batch.conditions["distractor_location"])),
                "mse": float(np.mean((y - target) ** 2))}

    def __repr__(self) -> str:
        return (f"DelayedResponseWithDistractor(n_locations={self.n_locations}, "
                f"distractor={self.distractor}, dt={self.dt:g})")


@dataclass(frozen=True)
class Config:
    n_neurons: int = 100
    sparsities: tuple[float, ...] = (0.0, 0.5, 0.9)
    seeds: int = 8
    n_steps: int = 1200
    batch_size: int = 64
    learning_rate: float = 3e-3
    noise_std: float = 0.05
    train_distractor: float = 0.5       # training heights uniform in [0, this]
    test_distractors: tuple[float, ...] = tuple(np.round(np.arange(0.0, 3.01, 0.25), 2))
    n_test: int = 1024
    prune_start: float = 0.4            # fractions of n_steps
    prune_end: float = 0.8
    prune_every: int = 10


QUICK = Config(n_neurons=32, sparsities=(0.0, 0.8), seeds=2, n_steps=80, batch_size=32,
               learning_rate=1e-2, test_distractors=(0.0, 1.0, 2.0), n_test=128,
               prune_every=5)


def rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(list(keys))


def train_one(config: Config, sparsity: float, seed: int) -> tuple[RateRNN, dict]:
    """Train one network (pruned to ``sparsity`` if > 0); return it and weight statistics."""
    task = DelayedResponseWithDistractor(distractor=(0.0, config.train_distractor))
    model = RateRNN(task.n_inputs, config.n_neurons, task.n_outputs, dt=task.dt, tau=1.0,
                    noise_std=config.noise_std, seed=seed)
    constraints = []
    if sparsity > 0:
        constraints.append(MagnitudePruning(
            sparsity, start_step=round(config.prune_start * config.n_steps),
            end_step=round(config.prune_end * config.n_steps), frequency=config.prune_every))
    result = train(model, task, n_steps=config.n_steps, batch_size=config.batch_size,
                   learning_rate=config.learning_rate, constraints=constraints,
                   eval_every=None, progress=False, seed=seed)
    with torch.no_grad():
        w = model.recurrent_weights.detach().numpy()
    kept = w[w != 0]
    stats = {"final_loss": result.final_loss,
             "sparsity": float(np.mean(w == 0)),
             "mean_abs_kept_weight": float(np.abs(kept).mean()) if kept.size else float("nan"),
             "spectral_radius": float(np.abs(np.linalg.eigvals(w)).max()),
             "train_seconds": result.wall_time}
    return model, stats


def evaluate(model: RateRNN, config: Config) -> list[dict]:
    """Scores at each test distractor height: the same trials and noise for every network."""
    rows = []
    for index, height in enumerate(config.test_distractors):
        task = DelayedResponseWithDistractor(distractor=float(height))
        batch = task.batch(config.n_test, seed=rng(1000, index))
        with torch.no_grad():
            outputs = model(batch.inputs, noise_seed=rng(2000, index)).outputs
        rows.append({"distractor": float(height), **task.score(outputs, batch)})
    return rows


def run(config: Config, log: Log) -> tuple[list[dict], list[dict]]:
    rows, networks = [], []
    for sparsity in config.sparsities:
        for seed in range(config.seeds):
            model, stats = train_one(config, sparsity, seed)
            networks.append({"target_sparsity": sparsity, "seed": seed, **stats})
            for row in evaluate(model, config):
                rows.append({"target_sparsity": sparsity, "seed": seed, **row})
            clean = rows[-len(config.test_distractors)]["accuracy"]
            log(f"sparsity {sparsity:g}, seed {seed}: loss {stats['final_loss']:.4f}, "
                f"accuracy without distractor {clean:.3f} ({stats['train_seconds']:.0f} s)")
    return rows, networks


def summarise(rows: list[dict], networks: list[dict], config: Config) -> dict:
    out: dict = {}
    for sparsity in config.sparsities:
        entry: dict = {}
        for metric in ("accuracy", "distracted"):
            stats = [mean_se(r[metric] for r in rows
                             if r["target_sparsity"] == sparsity and r["distractor"] == d)
                     for d in config.test_distractors]
            entry[metric] = {"mean": [s[0] for s in stats], "se": [s[1] for s in stats],
                             "n": [s[2] for s in stats]}
        for key in ("sparsity", "mean_abs_kept_weight", "spectral_radius", "final_loss"):
            mean, se, n = mean_se(w[key] for w in networks if w["target_sparsity"] == sparsity)
            entry[key] = {"mean": mean, "se": se, "n": n}
        out[f"{sparsity:g}"] = entry
    return out


def plot(summary: dict, config: Config, path) -> None:
    plt = pyplot()
    x = np.asarray(config.test_distractors)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    colors = plt.cm.viridis(np.linspace(0.0, 0.8, len(config.sparsities)))
    for color, sparsity in zip(colors, config.sparsities, strict=True):
        entry = summary[f"{sparsity:g}"]
        label = "dense" if sparsity == 0 else f"pruned to {sparsity:.0%}"
        for ax, metric in zip(axes, ("accuracy", "distracted"), strict=True):
            ax.errorbar(x, entry[metric]["mean"], yerr=entry[metric]["se"], color=color,
                        marker="o", ms=4, capsize=2, label=label)
    chance = 1.0 / DelayedResponseWithDistractor().n_locations
    for ax in axes:
        ax.axvspan(0, config.train_distractor, color="0.9", zorder=0)
        ax.axvline(1.0, color="0.7", lw=0.8, ls=":", zorder=0)
        ax.axhline(chance, color="0.6", lw=0.8, ls="--", zorder=0)
        ax.set_xlabel("distractor height (cue = 1; grey: training range)")
    axes[0].set_ylabel("accuracy (reports the cue)")
    axes[1].set_ylabel("reports the distractor's location")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Delayed response with a distractor, N = {config.n_neurons} "
                 f"(mean $\\pm$ SE over {config.seeds} seeds; dashed: chance)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args, config, log = start(argv, __doc__.splitlines()[0], QUICK, Config())
    rows, networks = run(config, log)
    summary = summarise(rows, networks, config)
    out = args.output_dir
    write_csv(out / f"{NAME}.csv", rows)
    plot(summary, config, out / f"{NAME}.png")
    write_json(out / f"{NAME}.json", {
        "script": NAME, "quick": args.quick, "config": asdict(config),
        "task": repr(DelayedResponseWithDistractor()), "summary": summary,
        "networks": networks, "wall_time_s": log.elapsed, "environment": environment()})
    log(f"wrote {out / NAME}.png/.csv/.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
