"""Time to find all fixed points of a 3-bit flip-flop RNN: batched search vs a naive re-run.

The network (built by hand, as there is no trained one yet): three rank-one bistable modules
side by side, ``J = M (3 s M)^T / N`` with ``M`` block-diagonal (+-1 entries, ``n_per_bit``
neurons per bit), set/reset inputs along ``M``, and optionally a weak random bulk ``g chi``.
Without the bulk its fixed points are known: ``x = M kappa`` with each ``kappa_k`` in
``{-k*, 0, k*}``, ``k* = s tanh k*``: 27 in all, 8 stable (every bit set) and 19 saddles.

Both methods start from the same states (visited by a noisy simulation, half of them convex
combinations of two late states, as `find_fixed_points` does by default):

- batched: `rnndyn.analysis.fixed_points.find_fixed_points` (all candidates as one torch batch,
  Adam then Levenberg-Marquardt polish with the closed-form Jacobian, float64);
- naive: the fixed-point-finder algorithm (Golub & Sussillo 2018) re-run naively, written here
  from its description: one candidate at a time, Adam on ``q = |F|^2 / 2`` with a decaying
  learning rate until ``q < q_tol`` or ``max_iterations``, no batching and no Newton step;
  then duplicates merged and each point's Jacobian taken by autograd for its eigenvalues.

Reported: both wall times, their ratio (naive / batched), the points each found (fixed, stable)
and whether they are the same (every point of one within ``match_tol`` of a point of the other).
Without the bulk (``--bulk-g 0``) the batched points are also checked against the closed form:
how many of the 27 (of the 8 stable) were found, and whether every point found is one of them.

Run ``python benchmarks/bench_fixed_points.py`` (N = 96, 256 starts; under a minute on one
core) or ``--quick`` (N = 24, 16 starts; a few seconds). The report is printed and written into
``benchmarks/RESULTS.md`` (``--output``) between this script's begin/end markers; other
sections are kept. ``--help`` lists the other options.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnndyn
from rnndyn.analysis.fixed_points import find_fixed_points, sample_initial_states
from rnndyn.analysis.linear import classify_stability, field
from rnndyn.connectivity import gaussian, low_rank
from rnndyn.simulate import Network, simulate

# The RESULTS.md helpers are shared with accuracy_theory.py, next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy_theory
from accuracy_theory import load_average

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN = "<!-- bench_fixed_points.py: begin -->"
END = "<!-- bench_fixed_points.py: end -->"


@dataclasses.dataclass
class Config:
    """What to run."""

    n_per_bit: int = 32
    gain: float = 2.0
    bulk_g: float = 0.2
    n_initial: int = 256
    naive_lr: float = 0.05
    naive_decay: float = 0.995
    naive_max_iterations: int = 2000
    naive_q_tol: float = 1e-12
    naive_accept_q: float = 1e-8
    naive_dedup: float = 1e-3
    match_tol: float = 1e-3
    seed: int = 0
    threads: int = 1  # torch threads


def quick_config() -> Config:
    """Seconds: 8 neurons per bit, 16 starts, short naive runs."""
    return Config(n_per_bit=8, n_initial=16, naive_max_iterations=300, naive_accept_q=1e-6,
                  naive_dedup=2e-2, match_tol=2e-2)


def flip_flop(n_per_bit: int, gain: float, bulk_g: float, seed: int) -> tuple[Network, Any]:
    """The 3-bit flip-flop network and its block loadings M (n, 3)."""
    rng = np.random.default_rng(seed)
    n = 3 * n_per_bit
    m = np.zeros((n, 3))
    for bit in range(3):
        m[bit * n_per_bit:(bit + 1) * n_per_bit, bit] = rng.choice([-1.0, 1.0], n_per_bit)
    conn = low_rank(m, 3 * gain * m)
    if bulk_g > 0:
        conn = gaussian(n, g=bulk_g, seed=rng) + conn
    return Network(conn, input_weights=m), m


def initial_states(network: Network, n_initial: int, seed: int) -> np.ndarray:
    """Starts as `find_fixed_points` draws them by default (trajectories + mixtures)."""
    rng = np.random.default_rng(seed)
    ds = simulate(network, t_max=20.0, dt=0.1, noise_std=0.1, batch=min(n_initial, 64),
                  dtype="float64", seed=rng, progress=False)
    starts = sample_initial_states(ds, n_initial, seed=rng)
    n_mix = n_initial // 2
    late = ds.x.values[len(ds.time) // 2:].reshape(-1, network.n)
    pairs = late[rng.integers(len(late), size=(n_mix, 2))]
    alpha = rng.uniform(size=(n_mix, 1))
    starts[:n_mix] = alpha * pairs[:, 0] + (1 - alpha) * pairs[:, 1]
    return starts


def naive_fixed_points(network: Network, starts: np.ndarray, cfg: Config
                       ) -> dict[str, np.ndarray]:
    """One candidate at a time: Adam on q, autograd Jacobians (no batch, no Newton)."""
    found, qs = [], []
    for start in starts:
        x = torch.tensor(start[None], dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([x], lr=cfg.naive_lr)
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, cfg.naive_decay)
        for _ in range(cfg.naive_max_iterations):
            optimizer.zero_grad()
            f = field(network, x, None)
            q = 0.5 * (f * f).sum()
            if float(q.detach()) < cfg.naive_q_tol:
                break
            q.backward()
            optimizer.step()
            schedule.step()
        found.append(x.detach()[0].numpy())
        qs.append(float(q.detach()))
    points, q = np.array(found), np.array(qs)
    kept: list[int] = []
    for i in np.argsort(q):
        if q[i] <= cfg.naive_accept_q and all(
                np.max(np.abs(points[i] - points[j])) > cfg.naive_dedup for j in kept):
            kept.append(int(i))
    eigenvalues = []
    for i in kept:
        def single(v: torch.Tensor) -> torch.Tensor:
            return field(network, v[None], None)[0]
        jac = torch.autograd.functional.jacobian(single, torch.tensor(points[i]))
        eigenvalues.append(np.linalg.eigvals(jac.numpy()))
    stability = (classify_stability(np.array(eigenvalues), discrete=False) if kept
                 else np.zeros(0, str))
    return {"points": points[kept], "q": q[kept], "stability": stability}


def closed_form_points(m: np.ndarray, gain: float) -> tuple[np.ndarray, np.ndarray]:
    """The 27 fixed points of the flip-flop without bulk, ``x = M kappa`` with each
    ``kappa_k`` in ``{-k*, 0, k*}`` (``k* = gain tanh k*``), and which are stable (every
    ``kappa_k`` nonzero)."""
    k_star = gain
    for _ in range(200):  # k -> gain tanh k converges to k* > 0 for gain > 1
        k_star = gain * np.tanh(k_star)
    kappas = np.array(list(itertools.product((-k_star, 0.0, k_star), repeat=m.shape[1])))
    return kappas @ m.T, np.all(kappas != 0, axis=1)


def _matched(a: np.ndarray, b: np.ndarray, tol: float) -> int:
    """How many points of ``a`` lie within ``tol`` (max-norm) of a point of ``b``."""
    if len(a) == 0 or len(b) == 0:
        return 0
    distance = np.max(np.abs(a[:, None, :] - b[None, :, :]), axis=2)
    return int(np.sum(distance.min(axis=1) < tol))


def run_benchmark(cfg: Config, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run both methods on the same starts and return the report (a JSON-able dict)."""
    torch.set_num_threads(cfg.threads)
    network, m = flip_flop(cfg.n_per_bit, cfg.gain, cfg.bulk_g, cfg.seed)
    starts = initial_states(network, cfg.n_initial, cfg.seed + 1)
    # Warm-up outside the timings: first calls import lazily (torch.optim pulls torch._dynamo).
    find_fixed_points(network, starts[:2], max_iterations=2, polish_steps=1)
    naive_fixed_points(network, starts[:1], dataclasses.replace(cfg, naive_max_iterations=2))

    log(f"batched search: N = {network.n}, {len(starts)} starts")
    t0 = time.perf_counter()
    batched = find_fixed_points(network, starts)
    t_batched = time.perf_counter() - t0
    log(f"naive search: one start at a time, up to {cfg.naive_max_iterations} Adam steps")
    t0 = time.perf_counter()
    naive = naive_fixed_points(network, starts, cfg)
    t_naive = time.perf_counter() - t0

    fixed = batched.points[batched.is_fixed]
    with torch.no_grad():
        residual = field(network, torch.as_tensor(batched.points), None).abs().max()
    report = {
        "config": dataclasses.asdict(cfg),
        "n_neurons": network.n,
        "batched_seconds": t_batched,
        "naive_seconds": t_naive,
        "ratio_naive_over_batched": t_naive / t_batched,
        "batched_fixed": int(batched.is_fixed.sum()),
        "batched_stable": int(batched.stable.sum()),
        "batched_max_residual": float(residual) if len(batched) else None,  # max_i |F_i|
        "naive_points": len(naive["points"]),
        "naive_stable": int(np.sum(naive["stability"] == "stable")),
        "naive_max_q": float(naive["q"].max()) if len(naive["q"]) else None,
        "naive_in_batched": _matched(naive["points"], fixed, cfg.match_tol),
        "batched_in_naive": _matched(fixed, naive["points"], cfg.match_tol),
    }
    report["same_points"] = (report["naive_in_batched"] == report["naive_points"]
                             == report["batched_in_naive"] == report["batched_fixed"])
    if cfg.bulk_g == 0:  # closed form: 27 points, 8 stable
        expected, expected_stable = closed_form_points(m, cfg.gain)
        report["expected_fixed"] = len(expected)
        report["expected_stable"] = int(expected_stable.sum())
        # How many of the closed-form points (of the stable ones) the batched search found,
        # and how many of its points are closed-form ones (all, unless it found spurious ones).
        report["closed_form_found"] = _matched(expected, fixed, cfg.match_tol)
        report["closed_form_stable_found"] = _matched(expected[expected_stable], fixed,
                                                      cfg.match_tol)
        report["batched_in_closed_form"] = _matched(fixed, expected, cfg.match_tol)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A short table of the report."""
    rows = [
        ("network", f"3-bit flip-flop, N = {report['n_neurons']}, "
                    f"bulk g = {report['config']['bulk_g']}"),
        ("starts", str(report["config"]["n_initial"])),
        ("batched (rnndyn)", f"{report['batched_seconds']:.2f} s, "
                             f"{report['batched_fixed']} fixed, {report['batched_stable']} stable,"
                             f" max |F| {report['batched_max_residual']:.1e}"),
        ("naive re-run", f"{report['naive_seconds']:.2f} s, {report['naive_points']} points, "
                         f"{report['naive_stable']} stable, max q {report['naive_max_q']:.1e}"),
        ("ratio naive / batched", f"{report['ratio_naive_over_batched']:.1f}x"),
        ("same points", f"{report['same_points']} (naive in batched "
                        f"{report['naive_in_batched']}/{report['naive_points']}, batched in "
                        f"naive {report['batched_in_naive']}/{report['batched_fixed']})"),
    ]
    if "expected_fixed" in report:
        rows.append(("closed form", f"{report['expected_fixed']} fixed, "
                                    f"{report['expected_stable']} stable; batched found "
                                    f"{report['closed_form_found']}/{report['expected_fixed']} "
                                    f"({report['closed_form_stable_found']}/"
                                    f"{report['expected_stable']} stable), of its points "
                                    f"{report['batched_in_closed_form']}/"
                                    f"{report['batched_fixed']} are closed-form ones"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)



def markdown(report: dict[str, Any], total_s: float, load: str = "") -> str:
    """This script's RESULTS.md section: begin marker, how it was run, the report, end marker."""
    cfg = report["config"]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "# Fixed points: batched search vs a naive per-candidate re-run",
        "",
        f"Written by `benchmarks/bench_fixed_points.py` on {now}; the run took {total_s:.1f} s "
        f"on {platform.processor() or platform.machine()} with {cfg['threads']} torch "
        f"thread{'s' if cfg['threads'] != 1 else ''}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} (rnndyn "
        f"{rnndyn.__version__}, torch {torch.__version__}, numpy {np.__version__})"
        + (f"; load average (1, 5, 15 min) {load}." if load else ".")
        + " Both searches are timed on the same machine in the same run, so the ratio is "
        "meaningful; the absolute times stretch on a busy machine.",
        "",
        f"The 3-bit flip-flop network (three rank-one bistable modules of {cfg['n_per_bit']} "
        f"neurons, gain {cfg['gain']:g}, random bulk g = {cfg['bulk_g']:g}, seed {cfg['seed']}),"
        f" {cfg['n_initial']} starting states shared by both searches. Batched: "
        "`rnndyn.analysis.fixed_points.find_fixed_points` (all starts as one batch, Adam then "
        "Levenberg-Marquardt polish, float64). Naive: one start at a time, Adam on "
        f"q = |F|^2 / 2 (lr {cfg['naive_lr']:g}, decay {cfg['naive_decay']:g} per step) until "
        f"q < {cfg['naive_q_tol']:g} or {cfg['naive_max_iterations']} steps, points with "
        f"q <= {cfg['naive_accept_q']:g} kept, duplicates within {cfg['naive_dedup']:g} merged, "
        "autograd Jacobians for the stability. `same points`: every point of one search within "
        f"{cfg['match_tol']:g} (max-norm) of a point of the other. `ratio naive / batched`: the "
        "naive search's wall time over the batched one's."
        + (" `closed form`: without the bulk the fixed points are x = M kappa, kappa_k in "
           "{-k*, 0, k*} (27, 8 stable); how many of them the batched search found, and how "
           "many of its points are among them." if "expected_fixed" in report else ""),
        "",
        "```",
        format_report(report),
        "```",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> tuple[Config, str | None, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small case (seconds)")
    parser.add_argument("--n-per-bit", type=int, help="neurons per bit")
    parser.add_argument("--n-initial", type=int, help="starting states")
    parser.add_argument("--bulk-g", type=float, help="gain of the random bulk (0: none)")
    parser.add_argument("--seed", type=int, help="seed of the network and the starts")
    parser.add_argument("--threads", type=int, help="torch threads (default 1)")
    parser.add_argument("--json", help="also write the report to this JSON file")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="Markdown file whose section of this script is replaced "
                             "(default benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    cfg = quick_config() if args.quick else Config()
    for name in ("n_per_bit", "n_initial", "bulk_g", "seed", "threads"):
        if getattr(args, name) is not None:
            cfg = dataclasses.replace(cfg, **{name: getattr(args, name)})
    return cfg, args.json, args.output


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: run, print the report and merge it into ``--output``."""
    cfg, json_path, output = parse_args(argv)
    load_before = load_average()
    start = time.perf_counter()
    report = run_benchmark(cfg)
    total_s = time.perf_counter() - start
    load = f"{load_before} before, {load_average()} after" if load_before else ""
    report["total_seconds"] = total_s
    print(format_report(report))
    if json_path:
        with open(json_path, "w") as handle:
            json.dump(report, handle, indent=2)
    section = markdown(report, total_s, load)
    accuracy_theory.write_atomically(output, accuracy_theory.merge_into(output, section,
                                                                        BEGIN, END))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
