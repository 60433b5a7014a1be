"""Spatially embedded vs L1-regularised RNNs: modularity and small-worldness at matched sparsity.

The seRNN comparison of Achterberg, Akarca et al. (2023, Nature Machine Intelligence 5:1369),
discussed in the review of Kim, Larsen & Parkes (Sec. IV.3): 100 recurrent units on a
5 x 5 x 4 grid are trained on the one-choice goal task, with either the seRNN penalty
``strength * sum |W_ij| C_ij D_ij`` (`SpatialRegularizer`: distance D, communicability C) or
an L1 penalty ``strength * mean |W_ij|`` (`WeightPenalty(p=1)`), over a range of strengths.
The paper's finding: at the same sparsity, seRNNs are more modular and more small-world.

- Task: `OneChoiceGoal(goal=20, delay=10, choice=20, dt=1, response="choice")`, the paper's
  20 / 10 / 20 steps with the network of the paper's kind, a discrete-time map
  (`RateRNN(8, 100, 4, dt=1, tau=1)`, tanh): with a leak (alpha < 1) the goal survives the
  delay without any recurrence and the penalties simply remove W. The whole choice period is
  scored (MSE against the one-hot answer) for a denser learning signal than the last step.
- Training: Adam, ``n_steps`` = 600 steps of 32 trials, learning rate 3e-3. Every network of
  a seed starts from the same weights.
- Strengths: L1 0.1 ... 3 and spatial 3e-4 ... 1e-2 (both span weak to near-failing), plus an
  unregularised baseline. Networks whose accuracy is below ``min_accuracy`` (0.9; seRNN
  also analysed only networks that solve the task) are left out of the topology averages.
- Sparsity (x axis): fraction of off-diagonal |W_ij| below ``threshold`` = 0.01 (the
  initial weights have standard deviation 0.1). Modularity and small-worldness are compared
  where the two families reach the same sparsity; both are also computed on the top 10 %
  of |W| (seRNN's binarisation, `density=0.1`), which matches the edge count exactly.
- Measures (`rnndyn.analysis.graph`): ``Q`` (Louvain on the weighted symmetrised |W|),
  ``Q_top10`` (on the top-10 % graph), ``sigma`` (small-worldness of the top-10 % graph
  against Erdos-Renyi nulls, ``null="shuffle"``, as seRNN), and the weight-distance
  correlation ``r(|W|, d)`` (seRNN: strong connections are short).

Outputs (in ``--output-dir``): ``spatial_modularity.png`` (Q, Q_top10, sigma, r, accuracy and
mean |W| against sparsity; each point one strength, mean +- SE over seeds in both axes),
``spatial_modularity.csv`` (one row per network) and ``spatial_modularity.json``.

Run: ``OMP_NUM_THREADS=1 python examples/constraints/spatial_modularity.py [--quick]``
(default: 9 settings x 5 seeds x 600 steps, about 15 min on one core; ``--quick``: seconds).
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

from rnndyn.analysis.graph import (
    grid_coordinates,
    modularity,
    small_worldness,
    weight_distance,
    wiring_cost,
)
from rnndyn.train import RateRNN, WeightPenalty, train
from rnndyn.train.constraints import SpatialRegularizer
from rnndyn.train.tasks import OneChoiceGoal

NAME = "spatial_modularity"
FAMILIES = ("L1", "spatial")


@dataclass(frozen=True)
class Config:
    n_neurons: int = 100
    l1_strengths: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)
    spatial_strengths: tuple[float, ...] = (3e-4, 1e-3, 3e-3, 1e-2)
    baseline: bool = True               # also train without any penalty
    seeds: int = 5
    n_steps: int = 600
    batch_size: int = 32
    learning_rate: float = 3e-3
    threshold: float = 0.01             # |W_ij| below this counts as absent (sparsity)
    density: float = 0.1                # top-density binarisation (seRNN: 10 %)
    min_accuracy: float = 0.9
    n_test: int = 512
    n_null: int = 100
    louvain_repeats: int = 10


QUICK = Config(l1_strengths=(1.0,), spatial_strengths=(3e-3,), baseline=False, seeds=2,
               n_steps=40, learning_rate=1e-2, min_accuracy=0.0, n_test=128, n_null=10,
               louvain_repeats=2)


def task() -> OneChoiceGoal:
    return OneChoiceGoal(goal=20, delay=10, choice=20, dt=1.0, response="choice")


def settings(config: Config) -> list[tuple[str, float]]:
    runs = [("none", 0.0)] if config.baseline else []
    runs += [("L1", s) for s in config.l1_strengths]
    runs += [("spatial", s) for s in config.spatial_strengths]
    return runs


def train_one(config: Config, family: str, strength: float, seed: int) -> dict:
    """Train one network and measure its task accuracy and its topology."""
    t = task()
    model = RateRNN(t.n_inputs, config.n_neurons, t.n_outputs, dt=1.0, tau=1.0, seed=seed)
    if family == "L1":
        regularizers = [WeightPenalty(strength, p=1)]
    elif family == "spatial":
        regularizers = [SpatialRegularizer(strength)]
    else:
        regularizers = []
    result = train(model, t, n_steps=config.n_steps, batch_size=config.batch_size,
                   learning_rate=config.learning_rate, regularizers=regularizers,
                   eval_every=None, progress=False, seed=seed)
    batch = t.batch(config.n_test, seed=np.random.default_rng([seed, 7]))
    with torch.no_grad():
        accuracy = t.score(model(batch.inputs).outputs, batch)["accuracy"]
        w = model.recurrent_weights.detach().numpy().astype(np.float64)
    off = np.abs(w[~np.eye(w.shape[0], dtype=bool)])
    x = grid_coordinates(config.n_neurons)
    graph_seed = np.random.default_rng([seed, 8])
    sw = small_worldness(w, density=config.density, null="shuffle", n_null=config.n_null,
                         seed=graph_seed)
    return {
        "family": family, "strength": strength, "seed": seed, "accuracy": accuracy,
        "final_task_loss": float(result.history["task_loss"][-1]),
        "sparsity": float(np.mean(off < config.threshold)),
        "mean_abs_w": float(off.mean()),
        "Q": modularity(w, n_repeats=config.louvain_repeats, seed=graph_seed).Q,
        "Q_top10": modularity(w, density=config.density, n_repeats=config.louvain_repeats,
                              seed=graph_seed).Q,
        "sigma": sw.sigma, "clustering": sw.C, "path_length": sw.L,
        "weight_distance_r": weight_distance(w, x).r,
        "wiring_cost": float(wiring_cost(w, x)),
        "train_seconds": result.wall_time,
    }


def run(config: Config, log: Log) -> list[dict]:
    rows = []
    for family, strength in settings(config):
        for seed in range(config.seeds):
            rows.append(train_one(config, family, strength, seed))
            r = rows[-1]
            log(f"{family} {strength:g} seed {seed}: accuracy {r['accuracy']:.2f}, sparsity "
                f"{r['sparsity']:.2f}, Q {r['Q']:.3f}, sigma {r['sigma']:.2f} "
                f"({r['train_seconds']:.0f} s)")
    return rows


TOPOLOGY = ("Q", "Q_top10", "sigma", "weight_distance_r", "wiring_cost")


def summarise(rows: list[dict], config: Config) -> dict:
    """Per family and strength: mean, SE and n over seeds. ``accuracy``, ``mean_abs_w`` and
    ``sparsity_all`` use every network; the topology measures and ``sparsity`` (their x
    coordinate) only those with accuracy >= min_accuracy."""
    out: dict = {}
    for family, strength in settings(config):
        sel = [r for r in rows if r["family"] == family and r["strength"] == strength]
        good = [r for r in sel if r["accuracy"] >= config.min_accuracy]
        entry: dict = {"strength": strength, "n_networks": len(sel), "n_solved": len(good)}
        for name, metric, source in (
                *((m, m, good) for m in ("sparsity", *TOPOLOGY)),
                ("sparsity_all", "sparsity", sel), ("accuracy", "accuracy", sel),
                ("mean_abs_w", "mean_abs_w", sel)):
            mean, se, n = mean_se(r[metric] for r in source)
            entry[name] = {"mean": mean, "se": se, "n": n}
        out.setdefault(family, []).append(entry)
    return out


def plot(summary: dict, config: Config, path) -> None:
    plt = pyplot()
    panels = (("Q", "modularity Q (weighted |W|)"),
              ("Q_top10", f"modularity Q (top {config.density:.0%} of |W|)"),
              ("sigma", f"small-worldness $\\sigma$ (top {config.density:.0%})"),
              ("weight_distance_r", "r(|W$_{ij}$|, distance)"),
              ("accuracy", "task accuracy"),
              ("mean_abs_w", "mean |W$_{ij}$|"))
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.2))
    style = {"L1": ("tab:blue", "s", "L1 (WeightPenalty p=1)"),
             "spatial": ("tab:red", "o", "spatial (SpatialRegularizer)"),
             "none": ("k", "D", "no penalty")}
    for ax, (metric, label) in zip(axes.flat, panels, strict=True):
        for family, entries in summary.items():
            color, marker, name = style[family]
            xkey = "sparsity" if metric in TOPOLOGY else "sparsity_all"
            x = [e[xkey]["mean"] for e in entries]
            xerr = [e[xkey]["se"] for e in entries]
            y = [e[metric]["mean"] for e in entries]
            yerr = [e[metric]["se"] for e in entries]
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, color=color, marker=marker, ms=5,
                        capsize=2, ls="-" if family != "none" else "none", label=name)
            if metric == "sigma":
                for e in entries:
                    if np.isfinite(e["sparsity"]["mean"]) and np.isfinite(e[metric]["mean"]):
                        ax.annotate(f"{e['strength']:g}", (e["sparsity"]["mean"],
                                                           e[metric]["mean"]),
                                    fontsize=6, color=color, xytext=(3, 3),
                                    textcoords="offset points")
        ax.set_ylabel(label)
        ax.set_xlabel(f"sparsity (fraction of |W$_{{ij}}$| < {config.threshold:g})"
                      + ("" if metric in TOPOLOGY else ", all networks"))
    axes[0, 2].axhline(1.0, color="0.7", lw=0.8, ls="--", zorder=0)
    axes[1, 0].axhline(0.0, color="0.7", lw=0.8, ls="--", zorder=0)
    axes[1, 2].set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"seRNN vs L1, N = {config.n_neurons}, one-choice goal task (mean $\\pm$ SE "
                 f"over {config.seeds} seeds per strength; topology of networks with accuracy "
                 f"$\\geq$ {config.min_accuracy:g}; labels: strengths)", fontsize=10)
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
    write_json(out / f"{NAME}.json", {
        "script": NAME, "quick": args.quick, "config": asdict(config), "task": repr(task()),
        "summary": summary, "wall_time_s": log.elapsed, "environment": environment()})
    log(f"wrote {out / NAME}.png/.csv/.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
