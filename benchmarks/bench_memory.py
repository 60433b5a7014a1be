"""Memory capacity: `rnndyn.analysis.memory_capacity` against reservoirpy on the same reservoir.

For each case one reservoir ``x_{t+1} = phi(W x_t + W_in u_{t+1})`` (W Gaussian rescaled to a
spectral radius, W_in = +-1, no bias, leak 1) is built once and measured twice on the same
i.i.d. input ``u ~ Uniform(-0.8, 0.8)`` of length T:

- reservoirpy: ``reservoirpy.observables.memory_capacity(Reservoir(W=W, Win=W_in) >>
  Ridge(ridge), k_max=N, series=u, test_size=0.2)`` (lags 1..k_max; the reservoir is driven
  from ``u[k_max]`` on, the first k_max training points are a warmup, the last 0.2 T points
  score);
- rnndyn: `DiscreteNetwork` with the same W, W_in and phi, `simulate` (float64) on the same
  ``u[k_max:]`` from the zero state, then `memory_capacity(..., min_lag=1, washout=k_max)` with
  the train/test split placed on the same time points and the ridge penalty set to the same
  absolute value (reservoirpy penalises ``X^T X`` by ``ridge``; rnndyn by ``ridge_rel *
  ||X||_F^2 / N``).

Error: the sampling standard deviation of the estimate, from the delta method per lag,
``sd(r_hat^2) ~ 2 |r| (1 - r^2) / sqrt(n_test)``, summed in quadrature over lags (an upper
bound on the spread of the sum only if the lags' errors are not strongly correlated), and the
shuffled-input null of rnndyn (the estimation bias). The two estimates use the same data, so
they should agree far inside that error; the check is ``|difference| < 3 sd + null``.

The linear case (phi = identity) also has the closed form `linear_memory_function`; there the
memory in directions of tiny variance depends on the regularisation (the Gramian of a
spectral-radius-0.9 network of 50 units has a condition number beyond double precision), so
the three numbers agree only at the same ridge (see docs/analysis_memory.md).

Run ``python benchmarks/bench_memory.py`` (about half a minute) or ``--quick`` (N = 20,
T = 3000, a few seconds). The table is printed and written into ``benchmarks/RESULTS.md``
(``--output``) between this script's begin/end markers; other sections are kept. Without
reservoirpy (not installed, or ``--no-reservoirpy``) only rnndyn runs, and the section says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnndyn
from rnndyn.analysis.memory import (
    MemoryCapacityResult,
    linear_memory_function,
    memory_capacity,
)
from rnndyn.simulate import DiscreteNetwork, simulate

# The RESULTS.md helpers are shared with accuracy_theory.py, next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy_theory
from accuracy_theory import load_average

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN = "<!-- bench_memory.py: begin -->"
END = "<!-- bench_memory.py: end -->"

INPUT_AMPLITUDE = 0.8  # reservoirpy's default input range
TEST_SIZE = 0.2  # reservoirpy's default split


@dataclasses.dataclass(frozen=True)
class Case:
    phi: str
    radius: float


@dataclasses.dataclass
class Config:
    n: int = 50
    steps: int = 20000
    ridge: float = 1e-8  # reservoirpy's absolute ridge
    seed: int = 0
    cases: tuple[Case, ...] = (Case("tanh", 0.5), Case("tanh", 0.9), Case("tanh", 1.2),
                               Case("identity", 0.9))
    reservoirpy: bool = True


def quick_config() -> Config:
    return Config(n=20, steps=3000, cases=(Case("tanh", 0.9), Case("identity", 0.8)))


@dataclasses.dataclass
class Row:
    case: Case
    rnndyn: float
    rnndyn_train: float
    null: float
    sd: float
    reservoirpy: float | None
    max_lag_difference: float | None
    exact: float | None
    seconds_rnndyn: float
    seconds_reservoirpy: float | None

    @property
    def difference(self) -> float | None:
        return None if self.reservoirpy is None else self.reservoirpy - self.rnndyn

    @property
    def agrees(self) -> bool | None:
        if self.difference is None:
            return None
        return abs(self.difference) < 3 * self.sd + self.null


def load_reservoirpy() -> Any | None:
    """reservoirpy's nodes and observables, or None when it is not installed."""
    try:
        import reservoirpy.nodes
        import reservoirpy.observables
    except ImportError:
        return None
    return reservoirpy


def build(case: Case, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """W (n, n) Gaussian with spectral radius ``case.radius``; W_in (n, 1) of +-1."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, n))
    w *= case.radius / np.max(np.abs(np.linalg.eigvals(w)))
    return w, rng.choice([-1.0, 1.0], size=(n, 1))


def sampling_sd(result: MemoryCapacityResult) -> float:
    """Delta-method sd of the held-out MC, lags added in quadrature."""
    r2 = np.clip(result.function, 0.0, 1.0)
    per_lag = 2 * np.sqrt(r2) * (1 - r2) / math.sqrt(result.n_test)
    return float(np.sqrt(np.sum(per_lag**2)))


def rnndyn_capacity(w: np.ndarray, w_in: np.ndarray, phi: str, u: np.ndarray, k_max: int,
                    ridge: float) -> MemoryCapacityResult:
    """rnndyn on reservoirpy's time points (see the module docstring)."""
    drive = u[k_max:]
    network = DiscreteNetwork(w, phi=phi, input_weights=w_in)
    ds = simulate(network, t_max=drive.size, x0=np.zeros(w.shape[0]), inputs=drive[:, None],
                  dtype=torch.float64, progress=False)
    states = ds.x.values[1:, 0]
    test_len = round(u.size * TEST_SIZE)
    usable = drive.size - k_max
    train = states[k_max:usable + k_max - test_len]
    centred = train - train.mean(axis=0)
    relative = ridge / (float(np.sum(centred**2)) / w.shape[0])
    return memory_capacity(states, drive, k_max, min_lag=1, washout=k_max,
                           train_fraction=(usable - test_len) / usable, ridge=relative, seed=1)


def reservoirpy_capacity(rpy: Any, w: np.ndarray, w_in: np.ndarray, phi: str, u: np.ndarray,
                         k_max: int, ridge: float) -> np.ndarray:
    reservoir = rpy.nodes.Reservoir(W=w, Win=w_in, bias=0.0, lr=1.0, activation=phi)
    model = reservoir >> rpy.nodes.Ridge(ridge=ridge)
    return np.asarray(rpy.observables.memory_capacity(model, k_max=k_max, as_list=True,
                                                      series=u[:, None], test_size=TEST_SIZE))


def run_case(case: Case, config: Config, rpy: Any | None) -> Row:
    w, w_in = build(case, config.n, config.seed)
    u = np.random.default_rng(config.seed + 1).uniform(-INPUT_AMPLITUDE, INPUT_AMPLITUDE,
                                                       config.steps)
    started = time.perf_counter()
    ours = rnndyn_capacity(w, w_in, case.phi, u, config.n, config.ridge)
    seconds = time.perf_counter() - started
    theirs = difference = rpy_seconds = None
    if rpy is not None:
        started = time.perf_counter()
        per_lag = reservoirpy_capacity(rpy, w, w_in, case.phi, u, config.n, config.ridge)
        rpy_seconds = time.perf_counter() - started
        theirs = float(per_lag.sum())
        difference = float(np.max(np.abs(per_lag - ours.function)))
    exact = (float(linear_memory_function(w, w_in, config.n, min_lag=1).sum())
             if case.phi == "identity" else None)
    return Row(case, ours.capacity, ours.capacity_train, ours.null_capacity, sampling_sd(ours),
               theirs, difference, exact, seconds, rpy_seconds)


def run(config: Config, log: Any = print) -> list[Row]:
    torch.set_num_threads(1)
    rpy = load_reservoirpy() if config.reservoirpy else None
    if config.reservoirpy and rpy is None:
        log("reservoirpy is not installed (pip install -e '.[bench]'): rnndyn only")
    rows = []
    for case in config.cases:
        rows.append(run_case(case, config, rpy))
        log(format_row(rows[-1]))
    return rows


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


HEADER = ("| phi | radius | MC rnndyn (held-out) | in-sample | null | sd | MC reservoirpy "
          "| difference | max per-lag diff | closed form | s rnndyn | s reservoirpy |")


def format_row(row: Row) -> str:
    return (f"| {row.case.phi} | {row.case.radius:g} | {row.rnndyn:.3f} | "
            f"{row.rnndyn_train:.3f} | {row.null:.4f} | {row.sd:.3f} | "
            f"{_number(row.reservoirpy)} | {_number(row.difference, 4)} | "
            f"{_number(row.max_lag_difference, 4)} | {_number(row.exact)} | "
            f"{row.seconds_rnndyn:.2f} | {_number(row.seconds_reservoirpy, 2)} |")


def table(rows: list[Row], config: Config) -> str:
    lines = [f"Memory capacity, N = {config.n}, lags 1..{config.n}, T = {config.steps}, "
             f"u ~ U(-{INPUT_AMPLITUDE}, {INPUT_AMPLITUDE}), ridge = {config.ridge:g} "
             "(absolute, both)", "", HEADER, "|" + "---|" * 12]
    lines += [format_row(row) for row in rows]
    return "\n".join(lines)



def summary(rows: list[Row], config: Config, reservoirpy_version: str | None) -> str:
    """One paragraph: whether the two agree and how their times compare, or why reservoirpy
    did not run."""
    if not config.reservoirpy:
        return "reservoirpy was not run (`--no-reservoirpy`): rnndyn only, its columns are `-`."
    if reservoirpy_version is None:
        return ("reservoirpy is not installed (`pip install -e '.[bench]'`): rnndyn only, its "
                "columns are `-` and the comparison was not made.")
    compared = [row for row in rows if row.difference is not None]
    agreeing = sum(bool(row.agrees) for row in compared)
    largest = max((abs(row.difference) for row in compared), default=float("nan"))
    ratios = [row.seconds_rnndyn / row.seconds_reservoirpy for row in compared
              if row.seconds_reservoirpy]
    text = (f"reservoirpy {reservoirpy_version}: the two estimates agree within 3 sd + null in "
            f"{agreeing} of {len(compared)} rows (largest |difference| {largest:.1e}).")
    if ratios:
        text += (f" rnndyn's pipeline (simulate + memory_capacity) took {min(ratios):.1f}-"
                 f"{max(ratios):.1f} times reservoirpy's time (s rnndyn / s reservoirpy).")
    return text


def markdown(rows: list[Row], config: Config, total_s: float, load: str = "",
             reservoirpy_version: str | None = None) -> str:
    """This script's RESULTS.md section: begin marker, how it was run, the table, end marker."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    threads = torch.get_num_threads()
    lines = [
        BEGIN,
        "# Memory capacity: rnndyn vs reservoirpy on the same reservoir",
        "",
        f"Written by `benchmarks/bench_memory.py` on {now}; the run took {total_s:.1f} s on "
        f"{platform.processor() or platform.machine()} with {threads} torch "
        f"thread{'s' if threads != 1 else ''}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} (rnndyn "
        f"{rnndyn.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        + (f"reservoirpy {reservoirpy_version})" if reservoirpy_version
           else "reservoirpy not installed)" if config.reservoirpy
           else "reservoirpy not run)")
        + (f"; load average (1, 5, 15 min) {load}." if load else "."),
        "",
        "Same W, W_in, input, time points (train/test split) and absolute ridge in both; "
        f"seed {config.seed}. `MC rnndyn (held-out)`: `memory_capacity` on the test points; "
        "`in-sample`: on the training points; `null`: the shuffled-input null (estimation "
        "bias); `sd`: delta-method sampling sd of the held-out MC; `difference`: reservoirpy - "
        "rnndyn; `max per-lag diff`: largest difference of the per-lag r^2; `closed form`: "
        "`linear_memory_function` (identity only; it depends on the ridge, see "
        "docs/analysis_memory.md); `s`: wall time of each pipeline.",
        "",
        summary(rows, config, reservoirpy_version),
        "",
        table(rows, config),
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> tuple[Config, Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 20, T = 3000")
    parser.add_argument("--n", type=int, help="reservoir size (k_max = N)")
    parser.add_argument("--steps", type=int, help="input length T")
    parser.add_argument("--ridge", type=float, help="absolute ridge penalty")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--no-reservoirpy", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="Markdown file whose section of this script is replaced "
                             "(default benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    config = quick_config() if args.quick else Config()
    for name in ("n", "steps", "ridge", "seed"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    config.reservoirpy = not args.no_reservoirpy
    return config, args.output


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: run, print the table and merge it into ``--output``.

    Returns 1 if some row's two estimates disagree (the section is written anyway)."""
    config, output = parse_args(argv)
    rpy = load_reservoirpy() if config.reservoirpy else None
    version = None if rpy is None else str(getattr(rpy, "__version__", "?"))
    print(HEADER)
    load_before = load_average()
    start = time.perf_counter()
    rows = run(config)
    total_s = time.perf_counter() - start
    load = f"{load_before} before, {load_average()} after" if load_before else ""
    section = markdown(rows, config, total_s, load, version)
    print(summary(rows, config, version))
    accuracy_theory.write_atomically(output, accuracy_theory.merge_into(output, section,
                                                                        BEGIN, END))
    print(f"wrote {output}")
    failed = [row for row in rows if row.agrees is False]
    for row in failed:
        print(f"DISAGREE: {row.case}: difference {row.difference:.4f} exceeds 3 sd + null = "
              f"{3 * row.sd + row.null:.4f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
