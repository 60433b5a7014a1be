"""Memory of an impulse against connection strength (Kim, Larsen & Parkes, review Fig. 2E-G).

"A 50 neuron system whose connectivity is randomly initialized, and whose output is trained
to recall an impulse from 30 time steps in the past": the recurrent weights stay random and
only the linear readout is fitted (reservoir computing, `rnndyn.train.fit_readout`), for a
sweep of the connection strength g. The network is the review's map (its Eq. 6):
`RateRNN(1, 50, 1, dt=1, tau=1, g=g)`, i.e. ``x_{t+1} = W tanh(x_t) + B u_t`` with
W ~ N(0, g^2 / N), B ~ N(0, 1), the same network as ``examples/memory/impulse_recall.py``;
the task is `DelayedImpulseRecall(delay=30, dt=1)`: one impulse per 60-step trial, the
output must be silent except 30 steps after it, where it must reproduce the impulse's height.

Three conditions, the same networks (seed s gives the same W and B in each):

- ``fixed height, noise-free``: impulse height 1, no noise. The state is then a
  deterministic function of the time since the kick, so recall only needs that function to
  be distinguishable at lag 30: even a chaotic network does it (a clock, not a memory).
- ``random height, noise-free``: heights uniform in [0.5, 1.5]; the readout must now carry
  the height 30 steps on, which needs a graded trace of the input.
- ``random height, noise`` (the main curve): also private noise of standard deviation
  ``--noise`` (1e-3) per neuron; chaotic networks amplify it and lose the trace.

Each network is also measured with the analysis toolkit exactly as in ``examples/memory``:
its memory capacity sum_{k=0..30} MC_k for i.i.d. input (`network_memory_capacity` on
`model.to_network()`), held-out, minus the shuffled-input null.

Outputs (in ``--output-dir``): ``impulse_memory.png`` (recall r^2, recall accuracy and
memory capacity against g, mean +- SE over seeds), ``impulse_memory.csv`` (one row per g,
seed and condition) and ``impulse_memory.json`` (configuration, means and SEs, timing).

Run: ``OMP_NUM_THREADS=1 python examples/constraints/impulse_memory.py [--quick]``
(default: 21 strengths x 20 seeds x 3 conditions, about 4 min on one core; ``--quick``:
seconds).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

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

from rnndyn.analysis.memory import network_memory_capacity
from rnndyn.train import RateRNN, fit_readout
from rnndyn.train.tasks import DelayedImpulseRecall

NAME = "impulse_memory"


@dataclass(frozen=True)
class Config:
    n_neurons: int = 50
    delay: int = 30                       # recall lag in steps (dt = tau = 1: a map)
    gains: tuple[float, ...] = tuple(np.round(np.arange(0.0, 2.01, 0.1), 2))
    seeds: int = 20
    noise: float = 1e-3                   # noise_std of the noisy condition
    amplitude: tuple[float, float] = (0.5, 1.5)
    n_train: int = 512                    # trials for the ridge readout
    n_test: int = 1024                    # held-out trials for the score
    ridge: float = 1e-6
    mc_samples: int = 4000                # i.i.d. input samples for the memory capacity


QUICK = Config(gains=(0.0, 0.6, 1.0, 1.4, 2.0), seeds=2, n_train=128, n_test=256,
               mc_samples=1000)

# (label, random height?, noisy?)
CONDITIONS = (("fixed height, noise-free", False, False),
              ("random height, noise-free", True, False),
              ("random height, noise", True, True))


def rng(*keys: int) -> np.random.Generator:
    """A generator for one purpose of one seed (training trials, test trials, noise, ...)."""
    return np.random.default_rng(list(keys))


def run(config: Config, log: Log) -> list[dict]:
    """One row per (g, seed, condition): recall scores of the fitted readout and the memory
    capacity of the same network."""
    rows = []
    for g in config.gains:
        for seed in range(config.seeds):
            capacity = None
            for label, random_height, noisy in CONDITIONS:
                amplitude = config.amplitude if random_height else 1.0
                task = DelayedImpulseRecall(delay=config.delay, dt=1.0, amplitude=amplitude)
                noise = config.noise if noisy else 0.0
                model = RateRNN(1, config.n_neurons, 1, dt=1.0, tau=1.0, g=float(g),
                                noise_std=noise, seed=seed)
                fit = fit_readout(model, task, ridge=config.ridge, batch_size=config.n_train,
                                  seed=rng(seed, 1))
                test = task.batch(config.n_test, seed=rng(seed, 2))
                with torch.no_grad():
                    outputs = model(test.inputs, noise_seed=rng(seed, 3)).outputs
                scores = task.score(outputs, test)
                if capacity is None:   # W and B do not depend on the condition
                    mc = network_memory_capacity(model.to_network(), config.delay,
                                                 n_samples=config.mc_samples, seed=rng(seed, 4))
                    capacity = (mc.capacity - mc.null_capacity, float(mc.function[-1]))
                rows.append({"g": float(g), "seed": seed, "condition": label,
                             "r2": scores["r2"], "accuracy": scores["accuracy"],
                             "amplitude_error": scores["amplitude_error"],
                             "train_mse": float(fit.mse[0]),
                             "memory_capacity": capacity[0], "mc_lag30": capacity[1]})
        log(f"g = {g:.2f} done")
    return rows


def summarise(rows: list[dict], config: Config) -> dict:
    """Mean, SE and n over seeds of every metric, per condition and g."""
    out: dict = {}
    for label, _, _ in CONDITIONS:
        by_metric: dict = {m: {"mean": [], "se": [], "n": []}
                           for m in ("r2", "accuracy", "amplitude_error", "memory_capacity",
                                     "mc_lag30")}
        for g in config.gains:
            sel = [r for r in rows if r["condition"] == label and r["g"] == float(g)]
            for metric, store in by_metric.items():
                mean, se, n = mean_se(r[metric] for r in sel)
                store["mean"].append(mean)
                store["se"].append(se)
                store["n"].append(n)
        out[label] = by_metric
    return out


def plot(summary: dict, config: Config, path) -> None:
    plt = pyplot()
    gains = np.asarray(config.gains)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    styles = {"fixed height, noise-free": ("0.55", "s", ":"),
              "random height, noise-free": ("tab:blue", "^", "--"),
              "random height, noise": ("tab:red", "o", "-")}
    for label, _, _ in CONDITIONS:
        color, marker, line = styles[label]
        if label == "random height, noise":
            label_text = f"random height, noise {config.noise:g}"
        else:
            label_text = label
        for ax, metric in zip(axes[:2], ("r2", "accuracy"), strict=True):
            s = summary[label][metric]
            ax.errorbar(gains, s["mean"], yerr=s["se"], color=color, marker=marker, ls=line,
                        ms=4, capsize=2, label=label_text)
    mc = summary[CONDITIONS[0][0]]["memory_capacity"]
    axes[2].errorbar(gains, mc["mean"], yerr=mc["se"], color="k", marker="o", ms=4, capsize=2)
    axes[0].set_ylabel(f"recall r$^2$ (whole trial, held-out; lag {config.delay})")
    axes[1].set_ylabel("recall accuracy (output peaks at the recall step)")
    axes[2].set_ylabel(f"memory capacity $\\sum_{{k=0}}^{{{config.delay}}}$ MC$_k$ - null")
    axes[2].set_title("same networks, i.i.d. input\n(as examples/memory)", fontsize=9)
    axes[0].set_title(f"readout-only recall, N = {config.n_neurons}", fontsize=9)
    for ax in axes:
        ax.set_xlabel("connection strength g")
        ax.axvline(1.0, color="0.8", lw=0.8, zorder=0)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Memory of an impulse {config.delay} steps back vs connection strength "
                 f"(mean $\\pm$ SE over {config.seeds} seeds)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args, config, log = start(argv, __doc__.splitlines()[0], QUICK, Config())
    rows = run(config, log)
    summary = summarise(rows, config)
    out = args.output_dir
    write_csv(out / f"{NAME}.csv", rows)
    plot(summary, config, out / f"{NAME}.png")
    main_curve = summary["random height, noise"]["r2"]["mean"]
    peak = float(config.gains[int(np.nanargmax(main_curve))])
    write_json(out / f"{NAME}.json", {
        "script": NAME, "quick": args.quick, "config": asdict(config),
        "method": "readout only (ridge, fit_readout); recurrent and input weights random",
        "gains": list(config.gains), "summary": summary, "peak_g_noisy_r2": peak,
        "wall_time_s": log.elapsed, "environment": environment()})
    log(f"wrote {out / NAME}.png/.csv/.json; recall r^2 (noisy) peaks at g = {peak:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
