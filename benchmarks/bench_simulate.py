"""Speed benchmark of `rnndyn.simulate`: neuron-steps per second against three references.

For each network size N, batch size and connectivity structure (dense Gaussian, or multiregion
with R = 4 regions and rank-2 couplings between every pair of regions) it measures, in one run:

- rnndyn: ``simulate(Network(conn), method="euler", record=[])``, float32;
- a naive NumPy loop ``x += dt * (-x + J @ tanh(x))`` with a dense float32 J and the batch as
  the columns of an (N, batch) matrix, and the ratio rnndyn / naive;
- reservoirpy's ``Reservoir`` (lr = 1, the same dense W, a one-dimensional zero input, float32)
  against rnndyn's ``DiscreteNetwork`` with the same W; reservoirpy runs one sequence at a time,
  so its batch-64 rate is the batch-1 rate (64 sequences take 64 times as long);
- the memory-bandwidth bound: the bytes of J read per step divided by the bandwidth of a large
  NumPy copy measured at the start of the run, and the fraction of it that rnndyn reaches;
- for multiregion rows, the speedup over the dense equivalent (rnndyn Euler on ``to_dense()``
  of the same network); at N = 16000 it must be at least 3x.

Run ``python benchmarks/bench_simulate.py --help`` for the options; the results go to
``benchmarks/RESULTS.md`` (written atomically; anything after the KEEP_MARKER comment line in
the existing file, e.g. hand-measured GPU numbers, is carried over) and the table is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnndyn
from rnndyn.connectivity import Connectivity, dense, gaussian, multiregion
from rnndyn.simulate import DiscreteNetwork, Network, simulate

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
STRUCTURES = ("dense", "multiregion")
N_REGIONS = 4
CROSS_RANK = 2
GAIN = 1.5
DT = 0.1
REQUIRED_SPEEDUP = 3.0
REQUIRED_AT_N = 16000
# Agreement between rnndyn's DiscreteNetwork and reservoirpy over this many float32 steps.
CHECK_STEPS = 5
CHECK_TOLERANCE = 1e-3


@dataclasses.dataclass
class Config:
    """What to run; `quick_config` and `parse_args` build the usual ones."""

    sizes: tuple[int, ...] = (1000, 4000, 16000)
    batches: tuple[int, ...] = (1, 64)
    steps: int | None = None  # None: calibrated per row so that one timed run takes target_s
    target_s: float = 1.0
    min_steps: int = 5
    max_steps: int = 20000
    repeats: int = 3
    copy_mib: int = 1024
    reservoirpy: bool = True
    quick: bool = False
    seed: int = 0


def quick_config() -> Config:
    """Small sizes and short timings (a few seconds in all), for tests and smoke runs."""
    return Config(sizes=(200, 400), batches=(1, 64), target_s=0.02, min_steps=5,
                  max_steps=2000, repeats=2, copy_mib=64, quick=True)


@dataclasses.dataclass
class Row:
    """Results for one (N, batch, structure); rates are neuron-steps per second."""

    n: int
    batch: int
    structure: str
    steps: int
    rnndyn_rate: float
    naive_rate: float
    map_rate: float
    reservoirpy_rate: float | None
    reservoirpy_extrapolated: bool
    j_bytes: int
    bound_rate: float
    dense_equivalent_rate: float | None
    flops_per_step: float

    @property
    def rnndyn_over_naive(self) -> float:
        return self.rnndyn_rate / self.naive_rate

    @property
    def map_over_reservoirpy(self) -> float | None:
        if self.reservoirpy_rate is None:
            return None
        return self.map_rate / self.reservoirpy_rate

    @property
    def bound_fraction(self) -> float:
        return self.rnndyn_rate / self.bound_rate

    @property
    def speedup_over_dense(self) -> float | None:
        if self.dense_equivalent_rate is None:
            return None
        return self.rnndyn_rate / self.dense_equivalent_rate

    def seconds_per_step(self, rate: float | None) -> float | None:
        return None if rate is None else self.n * self.batch / rate


@dataclasses.dataclass
class Check:
    """A correctness check made during the run (the benchmarked codes compute the same thing)."""

    n: int
    structure: str
    what: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


@dataclasses.dataclass
class Report:
    config: Config
    machine: dict[str, str]
    copy_bandwidth: float  # bytes per second, 2 * array bytes / copy time
    copy_bytes: int
    rows: list[Row]
    checks: list[Check]
    reservoirpy_note: str
    elapsed_s: float

    def requirement(self) -> tuple[bool | None, list[Row]]:
        """(passed, rows) for the multiregion >= 3x requirement; passed is None if not run."""
        rows = [row for row in self.rows
                if row.n == REQUIRED_AT_N and row.structure == "multiregion"]
        if not rows:
            return None, rows
        passed = all(row.speedup_over_dense >= REQUIRED_SPEEDUP for row in rows)
        return passed, rows


# ------------------------------------------------------------------------------------------
# Timing helpers
# ------------------------------------------------------------------------------------------
def best_time(run: Callable[[int], Any], steps: int, repeats: int) -> float:
    """Best wall time of ``run(steps)`` over ``repeats`` calls, after one short warm-up call."""
    run(min(steps, 2))
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        run(steps)
        best = min(best, time.perf_counter() - started)
    return best


def calibrate_steps(run: Callable[[int], Any], config: Config) -> int:
    """Number of steps for which ``run`` takes about ``config.target_s`` (after a warm-up)."""
    run(2)
    steps = 2
    while True:
        started = time.perf_counter()
        run(steps)
        elapsed = time.perf_counter() - started
        if elapsed >= config.target_s / 8 or steps >= config.max_steps:
            break
        steps *= 4
    wanted = round(config.target_s / (elapsed / steps))
    return int(min(max(wanted, config.min_steps), config.max_steps))


def measure_copy_bandwidth(nbytes: int, repeats: int = 3) -> float:
    """Bytes per second of ``np.copyto`` between two float32 arrays of ``nbytes`` each.

    Counts a read and a write of every byte (2 * nbytes per copy); both arrays are touched
    first so that page faults are not timed.
    """
    source = np.ones(nbytes // 4, dtype=np.float32)
    target = np.zeros_like(source)
    best = math.inf
    for _ in range(repeats + 1):  # the first copy is a warm-up
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    size = source.nbytes
    del source, target
    gc.collect()
    return 2.0 * size / best


# ------------------------------------------------------------------------------------------
# The codes being timed
# ------------------------------------------------------------------------------------------
def run_rnndyn_euler(network: Network, x0: np.ndarray, steps: int) -> np.ndarray:
    ds = simulate(network, t_max=steps * DT, dt=DT, method="euler", x0=x0, batch=x0.shape[0],
                  record=[], dtype=torch.float32, seed=0, progress=False)
    return ds.final_state.values


def run_rnndyn_map(network: DiscreteNetwork, x0: np.ndarray, steps: int) -> np.ndarray:
    ds = simulate(network, t_max=float(steps), x0=x0, batch=x0.shape[0], record=[],
                  dtype=torch.float32, seed=0, progress=False)
    return ds.final_state.values


def run_naive_euler(matrix: np.ndarray, x0_columns: np.ndarray, steps: int) -> np.ndarray:
    """The reference loop: Euler steps of dx/dt = -x + J tanh(x), x of shape (N, batch)."""
    x = x0_columns.copy()
    for _ in range(steps):
        x += DT * (-x + matrix @ np.tanh(x))
    return x


def load_reservoirpy() -> Any | None:
    """The reservoirpy module, or None if it is not installed."""
    try:
        import reservoirpy
        import reservoirpy.nodes
    except ImportError:
        return None
    return reservoirpy


def make_reservoir(reservoirpy: Any, matrix: np.ndarray) -> Any:
    """A reservoirpy Reservoir with W = ``matrix`` (float32), lr = 1, no bias, zero input."""
    n = matrix.shape[0]
    reservoir = reservoirpy.nodes.Reservoir(
        W=matrix, Win=np.zeros((n, 1), dtype=np.float32), bias=0.0, lr=1.0,
        dtype=np.float32, activation="tanh",
    )
    reservoir.initialize(np.zeros((1, 1), dtype=np.float32))
    return reservoir


def run_reservoir(reservoir: Any, x0: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` updates x <- tanh(W x) from ``x0`` (N,); returns the (steps, N) states."""
    reservoir.state = {"out": x0.astype(np.float32)}
    return reservoir.run(np.zeros((steps, 1), dtype=np.float32))


# ------------------------------------------------------------------------------------------
# Networks
# ------------------------------------------------------------------------------------------
def build_connectivity(structure: str, n: int, seed: int) -> Connectivity:
    if structure == "dense":
        return gaussian(n, g=GAIN, seed=seed)
    if n % N_REGIONS:
        raise ValueError(f"N must be a multiple of {N_REGIONS} for multiregion, got {n}")
    couplings = {(target, source): CROSS_RANK
                 for target in range(N_REGIONS) for source in range(N_REGIONS)
                 if target != source}
    return multiregion([n // N_REGIONS] * N_REGIONS, gains=GAIN, couplings=couplings, seed=seed)


def stored_bytes(conn: Connectivity, itemsize: int = 4) -> int:
    """Bytes of J that one application reads in float32.

    Dense: N^2 entries. Multiregion: the within-region blocks plus the coupling factors U_big
    and V_big, (N, K) each as stored (zero outside their regions), K the total coupling rank.
    """
    if conn.kind == "multiregion":
        blocks = sum(size * size for size in conn.sizes)
        return itemsize * (blocks + 2 * conn.n * conn.coupling_rank)
    rows, columns = conn.shape
    return itemsize * rows * columns


@dataclasses.dataclass
class Subject:
    """One network in every form that a row times."""

    n: int
    structure: str
    conn: Connectivity
    matrix: np.ndarray  # dense float32 J, for the naive loop and reservoirpy
    network: Network
    map_network: DiscreteNetwork
    equivalent_network: Network | None  # multiregion only: the same J as a dense matrix
    reservoir: Any | None
    reservoirpy_rate: float | None = None  # measured once, at the first batch


def prepare_subject(
    structure: str, n: int, config: Config, reservoirpy: Any | None, checks: list[Check]
) -> Subject:
    """Build the network, its dense float32 matrix and the reference codes; run the checks."""
    conn = build_connectivity(structure, n, config.seed)
    equivalent_network = None
    if structure == "dense":
        matrix = conn.matrix.astype(np.float32)
    else:
        full = conn.to_dense()
        matrix = full.astype(np.float32)
        equivalent = dense(full)
        del full
        equivalent_network = Network(equivalent, phi="tanh")
        probe = torch.from_numpy(np.random.default_rng(1).standard_normal((3, n))).float()
        with torch.no_grad():
            diff = (conn.apply(probe) - equivalent.apply(probe)).abs().max().item()
        checks.append(Check(n, structure, "multiregion apply vs its to_dense() (float32)",
                            diff, 1e-4))
    map_network = DiscreteNetwork(conn, phi="tanh", leak=1.0)
    reservoir = None if reservoirpy is None else make_reservoir(reservoirpy, matrix)
    if reservoir is not None:
        x0 = np.tanh(np.random.default_rng(2).standard_normal(n))
        ours = simulate(map_network, t_max=float(CHECK_STEPS), x0=x0, record=("x",),
                        dtype=torch.float32, progress=False).x.values[1:, 0, :]
        theirs = run_reservoir(reservoir, x0, CHECK_STEPS)
        checks.append(Check(n, structure,
                            f"DiscreteNetwork vs reservoirpy, {CHECK_STEPS} steps (float32)",
                            float(np.abs(ours - theirs).max()), CHECK_TOLERANCE))
    return Subject(n=n, structure=structure, conn=conn, matrix=matrix,
                   network=Network(conn, phi="tanh"), map_network=map_network,
                   equivalent_network=equivalent_network, reservoir=reservoir)


def time_row(subject: Subject, batch: int, config: Config, bandwidth: float) -> Row:
    """Time every code on ``subject`` at one batch size."""
    n = subject.n
    rng = np.random.default_rng(config.seed + batch)
    x0 = rng.standard_normal((batch, n))
    x0_columns = np.ascontiguousarray(x0.T, dtype=np.float32)
    map_x0 = np.tanh(x0)

    def euler(steps: int) -> Any:
        return run_rnndyn_euler(subject.network, x0, steps)

    def naive(steps: int) -> Any:
        return run_naive_euler(subject.matrix, x0_columns, steps)

    def discrete_map(steps: int) -> Any:
        return run_rnndyn_map(subject.map_network, map_x0, steps)

    def reservoir(steps: int) -> Any:
        return run_reservoir(subject.reservoir, map_x0[0], steps)

    def equivalent(steps: int) -> Any:
        return run_rnndyn_euler(subject.equivalent_network, x0, steps)

    steps = calibrate_steps(euler, config) if config.steps is None else config.steps
    neuron_steps = n * batch * steps
    rnndyn_rate = neuron_steps / best_time(euler, steps, config.repeats)
    naive_rate = neuron_steps / best_time(naive, steps, config.repeats)
    map_rate = neuron_steps / best_time(discrete_map, steps, config.repeats)
    extrapolated = False
    if subject.reservoir is not None:
        if subject.reservoirpy_rate is None:
            # One sequence: reservoirpy has no batched update (see the module docstring).
            subject.reservoirpy_rate = n * steps / best_time(reservoir, steps, config.repeats)
        extrapolated = batch != 1
    equivalent_rate = None
    if subject.equivalent_network is not None:
        equivalent_rate = neuron_steps / best_time(equivalent, steps, config.repeats)
    j_bytes = stored_bytes(subject.conn)
    return Row(
        n=n, batch=batch, structure=subject.structure, steps=steps, rnndyn_rate=rnndyn_rate,
        naive_rate=naive_rate, map_rate=map_rate, reservoirpy_rate=subject.reservoirpy_rate,
        reservoirpy_extrapolated=extrapolated, j_bytes=j_bytes,
        bound_rate=n * batch * bandwidth / j_bytes, dense_equivalent_rate=equivalent_rate,
        flops_per_step=2.0 * (j_bytes / 4) * batch,
    )


def _row_summary(row: Row) -> str:
    parts = [f"N={row.n} batch={row.batch} {row.structure}: {row.steps} steps",
             f"rnndyn {row.rnndyn_rate:.3g}/s", f"naive x{row.rnndyn_over_naive:.2f}",
             f"bound {row.bound_fraction:.3g}"]
    if row.map_over_reservoirpy is not None:
        parts.append(f"map/reservoirpy x{row.map_over_reservoirpy:.2f}")
    if row.speedup_over_dense is not None:
        parts.append(f"vs dense x{row.speedup_over_dense:.2f}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------
# The whole run
# ------------------------------------------------------------------------------------------
def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        blas_info = config["Build Dependencies"]["blas"]
        blas = f"{blas_info.get('name', '?')} {blas_info.get('version', '')}".strip()
    except Exception:  # only descriptive
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": f"{torch.__version__} ({torch.get_num_threads()} intra-op threads)",
        "numpy": f"{np.__version__} (BLAS: {blas})",
        "rnndyn": rnndyn.__version__,
    }


def run_benchmark(config: Config, log: Callable[[str], None] = print) -> Report:
    """Time every row of ``config`` and return the report (nothing is written)."""
    started = time.perf_counter()
    machine = machine_info()
    machine["load average at start (1, 5, 15 min)"] = _load_average()
    reservoirpy = load_reservoirpy() if config.reservoirpy else None
    if reservoirpy is not None:
        note = f"reservoirpy {reservoirpy.__version__}"
        machine["reservoirpy"] = reservoirpy.__version__
    elif config.reservoirpy:
        note = "reservoirpy is not installed (pip install -e '.[bench]'): columns n/a"
    else:
        note = "reservoirpy column disabled (--no-reservoirpy): columns n/a"
    log(f"machine: {machine}")
    copy_bytes = config.copy_mib * 2**20
    bandwidth = measure_copy_bandwidth(copy_bytes)
    log(f"numpy copy of {config.copy_mib} MiB: {bandwidth / 1e9:.2f} GB/s (read + write)")
    rows: list[Row] = []
    checks: list[Check] = []
    for n in config.sizes:
        for structure in STRUCTURES:
            started_build = time.perf_counter()
            subject = prepare_subject(structure, n, config, reservoirpy, checks)
            log(f"  built {structure} N={n} in {time.perf_counter() - started_build:.1f} s")
            for batch in config.batches:
                rows.append(time_row(subject, batch, config, bandwidth))
                log("  " + _row_summary(rows[-1]))
            # Free J (up to ~5 GiB at N = 16000 with its copies) before the next network.
            del subject
            gc.collect()
    machine["load average at end (1, 5, 15 min)"] = _load_average()
    return Report(config=config, machine=machine, copy_bandwidth=bandwidth,
                  copy_bytes=copy_bytes, rows=rows, checks=checks, reservoirpy_note=note,
                  elapsed_s=time.perf_counter() - started)


def _load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------
TABLE_COLUMNS = (
    "N", "batch", "structure", "steps", "rnndyn Euler [neuron-steps/s]", "naive NumPy",
    "rnndyn / naive", "rnndyn map", "reservoirpy", "map / reservoirpy", "bandwidth bound",
    "rnndyn / bound", "vs dense equivalent",
)
DETAIL_COLUMNS = (
    "N", "batch", "structure", "J MiB read/step", "bound ms/step", "rnndyn ms/step",
    "naive ms/step", "map ms/step", "reservoirpy ms/step", "dense-equivalent ms/step",
    "rnndyn GFLOP/s",
)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}x"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{1e3 * value:.3g}"


def table_rows(report: Report) -> list[list[str]]:
    """The main table as strings, in TABLE_COLUMNS order."""
    out = []
    for row in report.rows:
        reservoirpy = _rate(row.reservoirpy_rate)
        if row.reservoirpy_rate is not None and row.reservoirpy_extrapolated:
            reservoirpy += f" (x{row.batch} seq.)"
        speedup = _ratio(row.speedup_over_dense)
        if row.speedup_over_dense is not None and row.n == REQUIRED_AT_N:
            passed = row.speedup_over_dense >= REQUIRED_SPEEDUP
            speedup += " PASS" if passed else " FAIL"
        out.append([
            str(row.n), str(row.batch), row.structure, str(row.steps), _rate(row.rnndyn_rate),
            _rate(row.naive_rate), _ratio(row.rnndyn_over_naive), _rate(row.map_rate),
            reservoirpy, _ratio(row.map_over_reservoirpy), _rate(row.bound_rate),
            f"{row.bound_fraction:.3g}", speedup,
        ])
    return out


def detail_rows(report: Report) -> list[list[str]]:
    out = []
    for row in report.rows:
        rnndyn_s = row.seconds_per_step(row.rnndyn_rate)
        out.append([
            str(row.n), str(row.batch), row.structure, f"{row.j_bytes / 2**20:.4g}",
            _ms(row.seconds_per_step(row.bound_rate)), _ms(rnndyn_s),
            _ms(row.seconds_per_step(row.naive_rate)), _ms(row.seconds_per_step(row.map_rate)),
            _ms(None if row.reservoirpy_rate is None else row.n / row.reservoirpy_rate),
            _ms(row.seconds_per_step(row.dense_equivalent_rate)),
            f"{row.flops_per_step / rnndyn_s / 1e9:.3g}",
        ])
    return out


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if i < 3 else "--:" for i in range(len(columns))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def slower_than_naive_lines(report: Report) -> list[str]:
    """One line per row where rnndyn's Euler rate is below the naive NumPy loop's."""
    return [
        f"N={row.n} batch={row.batch} {row.structure}: rnndyn {row.rnndyn_over_naive:.2f}x "
        f"the naive rate ({1e3 * row.seconds_per_step(row.rnndyn_rate):.3g} vs "
        f"{1e3 * row.seconds_per_step(row.naive_rate):.3g} ms per step)"
        for row in report.rows if row.rnndyn_over_naive < 1.0
    ]


def requirement_line(report: Report) -> str:
    passed, rows = report.requirement()
    if passed is None:
        return (f"Multiregion vs dense equivalent at N = {REQUIRED_AT_N}: not measured in this "
                f"run (sizes {list(report.config.sizes)}).")
    speedups = ", ".join(f"batch {row.batch}: {row.speedup_over_dense:.2f}x" for row in rows)
    verdict = "PASS" if passed else "FAIL"
    return (f"Multiregion vs dense equivalent at N = {REQUIRED_AT_N} (required >= "
            f"{REQUIRED_SPEEDUP:g}x): {speedups} -> **{verdict}**.")


METHODS_TEXT = f"""\
## How each column was measured

All codes run on the CPU in float32, with the default thread settings listed above. Every
timing is the best of `repeats` runs after one short warm-up run (which also builds rnndyn's
cached torch copy of J), timed with `time.perf_counter`. A rate is N x batch x steps divided by
that time (neuron-steps per second); a ratio `a / b` is rate a over rate b, so > 1 means a is
faster. All codes in a row take the same number of steps, chosen per row so that one rnndyn
run lasts about `target_s` seconds (or `--steps`).

- **rnndyn Euler**: `simulate(Network(conn, phi="tanh"), t_max=steps * {DT}, dt={DT},
  method="euler", batch=batch, x0=x0, record=[], dtype=torch.float32)`, the whole call
  (validation, the loop with its finiteness check every 8 steps, the final Dataset).
  Dense: `gaussian(N, g={GAIN})`. Multiregion: `multiregion([N/{N_REGIONS}] * {N_REGIONS},
  gains={GAIN}, couplings={{(r, s): {CROSS_RANK} for r != s}})`, i.e. {N_REGIONS} dense
  diagonal blocks (one batched matmul) plus rank-{CROSS_RANK} couplings between every ordered
  pair of regions (total rank K = {N_REGIONS * (N_REGIONS - 1) * CROSS_RANK}).
- **naive NumPy**: `x += dt * (-x + J @ np.tanh(x))` in a Python loop, J the dense float32
  matrix of the same network (`to_dense()` for multiregion), x an (N, batch) float32 matrix.
- **rnndyn map**: `simulate(DiscreteNetwork(conn, phi="tanh", leak=1.0), t_max=steps,
  record=[])`, x_(t+1) = tanh(J x_t), the same connectivity object as the Euler column
  (block-structured for multiregion).
- **reservoirpy**: `reservoirpy.nodes.Reservoir(W=J, Win=zeros((N, 1)), bias=0, lr=1,
  dtype=float32)` run on a (steps, 1) zero input from the same x0, J the dense float32 matrix
  (reservoirpy has no block/low-rank operator; the multiregion J is dense once the couplings
  are added). reservoirpy updates one sequence at a time, so it is timed at batch 1 only; the
  batch-64 rows marked "x64 seq." reuse the batch-1 rate, i.e. 64 sequences take 64 times
  the batch-1 time (measured once, not run 64 times). `map / reservoirpy` compares it with the
  rnndyn map column. Before timing, both are run {CHECK_STEPS} steps from the same state and
  their trajectories compared (checks below).
- **bandwidth bound**: a NumPy copy (`np.copyto`) between two float32 arrays of `copy MiB`
  each is timed (best of 3 after a warm-up); bandwidth = 2 x bytes / time (read + write).
  The bound is N x batch / (bytes of J read per step / bandwidth): the rate if each step only
  had to stream J once from memory. Bytes of J: 4 N^2 for dense; for multiregion the diagonal
  blocks (4 sum N_r^2) plus the stored coupling factors U_big, V_big (2 x 4 N K, zero-padded as
  rnndyn stores them). `rnndyn / bound` > 1 means J (partly) stayed in cache or the single-
  threaded NumPy copy underestimates what two threads can stream; at batch 64 the product is
  usually compute-bound, so the fraction there mostly reflects arithmetic.
- **vs dense equivalent** (multiregion rows): rnndyn Euler on `dense(conn.to_dense())`, the
  same network as a dense matrix, timed like the rnndyn column; the multiregion rate divided by
  it. Required >= {REQUIRED_SPEEDUP:g}x at N = {REQUIRED_AT_N} (PASS/FAIL).
- Detail table: ms per step = 1000 / (rate / (N x batch)) (reservoirpy: per sequence);
  GFLOP/s counts 2 flops per stored entry of J per sample.
"""


def render_markdown(report: Report) -> str:
    config = report.config
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = "\n".join(f"- {key}: {value}" for key, value in report.machine.items())
    checks = "\n".join(
        f"- N={check.n} {check.structure}: {check.what}: max |diff| = {check.max_abs_diff:.2e} "
        f"({'ok' if check.ok else 'FAILED'}, tolerance {check.tolerance:g})"
        for check in report.checks
    ) or "- none"
    slower = "\n".join(f"- {line}" for line in slower_than_naive_lines(report)) or "- none"
    steps = "calibrated per row" if config.steps is None else str(config.steps)
    command = "python benchmarks/bench_simulate.py" + (" --quick" if config.quick else "")
    return f"""\
# rnndyn simulation speed

Written by `benchmarks/bench_simulate.py` (`{command}`) on {now}; the whole run took
{report.elapsed_s:.0f} s.{" Quick mode: small sizes, not representative." if config.quick else ""}

{requirement_line(report)}

Rows where rnndyn's Euler is slower than the naive NumPy loop:
{slower}

## Machine

{machine}
- numpy copy bandwidth: {report.copy_bandwidth / 1e9:.2f} GB/s \
(2 x {report.copy_bytes / 2**20:.0f} MiB / copy time)

The load average counts this run's own threads (about 2 while it runs); timings taken while
other processes compete for the cores are much slower and erratic (torch's OpenMP threads wait
for each other), so run it on an otherwise idle machine.

Settings: sizes {list(config.sizes)}, batches {list(config.batches)}, steps {steps}
(target {config.target_s:g} s per timed run), best of {config.repeats} after a warm-up,
{report.reservoirpy_note}.

## Neuron-steps per second

{markdown_table(TABLE_COLUMNS, table_rows(report))}

## Per step

{markdown_table(DETAIL_COLUMNS, detail_rows(report))}

## Checks

{checks}

{METHODS_TEXT}"""


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


KEEP_MARKER = "<!-- Not generated: kept when bench_simulate.py rewrites this file. -->"


def with_kept_tail(path: Path, text: str) -> str:
    """``text`` plus the hand-written part of the existing ``path`` (from KEEP_MARKER on)."""
    try:
        existing = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return text
    start = existing.find(KEEP_MARKER)
    if start < 0:
        return text
    return text.rstrip("\n") + "\n\n" + existing[start:]


def print_table(report: Report) -> None:
    print()
    print(markdown_table(TABLE_COLUMNS, table_rows(report)))
    print()
    print(markdown_table(DETAIL_COLUMNS, detail_rows(report)))
    print()
    for check in report.checks:
        status = "ok" if check.ok else "FAILED"
        print(f"check N={check.n} {check.structure}: {check.what}: "
              f"max |diff| = {check.max_abs_diff:.2e} ({status})")
    for line in slower_than_naive_lines(report):
        print(f"slower than naive: {line}")
    print(requirement_line(report).replace("**", ""))


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> tuple[Config, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="N values (default 1000 4000 16000)")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes (default 1 64)")
    parser.add_argument("--steps", type=int, help="steps per timed run (default: calibrated)")
    parser.add_argument("--target-seconds", type=float, help="calibrated length of a timed run")
    parser.add_argument("--repeats", type=int, help="timed runs per measurement (best is kept)")
    parser.add_argument("--copy-mib", type=int, help="size of the bandwidth copy (MiB)")
    parser.add_argument("--quick", action="store_true",
                        help="N = 200, 400 and short runs (a few seconds in all)")
    parser.add_argument("--no-reservoirpy", action="store_true",
                        help="skip the reservoirpy column")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"markdown results file (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    config = quick_config() if args.quick else Config()
    overrides = {
        "sizes": None if args.sizes is None else tuple(args.sizes),
        "batches": None if args.batches is None else tuple(args.batches),
        "steps": args.steps,
        "target_s": args.target_seconds,
        "repeats": args.repeats,
        "copy_mib": args.copy_mib,
    }
    config = dataclasses.replace(
        config, **{key: value for key, value in overrides.items() if value is not None})
    if args.no_reservoirpy:
        config.reservoirpy = False
    if any(n < 1 for n in config.sizes) or any(b < 1 for b in config.batches):
        parser.error("sizes and batches must be positive")
    if config.steps is not None and config.steps < 1:
        parser.error("--steps must be positive")
    return config, args.output


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, write the results; exit status 1 if the N = 16000 requirement fails."""
    config, output = parse_args(argv)
    report = run_benchmark(config)
    write_atomically(output, with_kept_tail(output, render_markdown(report)))
    print_table(report)
    print(f"wrote {output}")
    passed, _ = report.requirement()
    failed_checks = [check for check in report.checks if not check.ok]
    return 1 if passed is False or failed_checks else 0


if __name__ == "__main__":
    sys.exit(main())
