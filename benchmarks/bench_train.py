"""Training speed: `rnndyn.train.train` on a `RateRNN` against a plain `torch.nn.RNN` loop.

Both train the same way in the same process: Adam (learning rate 1e-3), mean squared error,
gradient norm clipped at 1, batch 32, T = 100 steps, one full backpropagation through time per
step, float32 on the CPU. The task is synthetic (3 white-noise inputs, 3 targets: the inputs'
running mean over 10 steps), drawn from a pool of pre-generated batches so that neither side
pays for data generation. Rows are N = 64, 256, 1024.

The models differ. ``torch.nn.RNN`` (tanh) is the discrete map
``h_t = tanh(W_ih u_t + W_hh h_{t-1} + b)``; `RateRNN` integrates synaptic currents,
``x_{t+1} = (1 - alpha) x_t + alpha (W tanh(x_t) + B u_t + b)``. At alpha = 1 (dt = tau) the
rates ``r = tanh(x)`` of `RateRNN` obey the map of ``torch.nn.RNN`` exactly: the script checks
this on copied weights (outputs and weight gradients) before timing, so that row compares two
implementations of one computation. alpha = 0.1 (dt = 0.1, tau = 1) is the leaky network most
uses of rnndyn train, with one more multiply-add per step, and has no ``torch.nn.RNN``
equivalent.

Columns (steps per second, the best of ``repeats`` interleaved measurements, each calibrated to
last about ``target_seconds``):

- ``torch.nn.RNN``: the plain loop written below (``RNN`` + ``Linear`` readout);
- ``RateRNN, plain loop``: the same loop with `RateRNN` (alpha = 1) as the model, which
  separates the model's cost from the trainer's;
- ``train, alpha = 1`` and ``train, alpha = 0.1``: `rnndyn.train.train` (``eval_every=None``,
  ``progress=False``), timed around the whole call (argument checks, optimiser set-up, the
  per-step batch checks and history included);
- ``torch / train``: how many times faster the plain ``torch.nn.RNN`` loop is.

Run ``python benchmarks/bench_train.py`` (about 2 min on one core) or ``--quick`` (tiny sizes,
seconds). The table is printed and merged into ``--output`` (benchmarks/RESULTS.md) between
this script's begin/end markers; other sections are kept.
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
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

# The RESULTS.md helpers are shared with accuracy_theory.py, next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy_theory
import rnndyn
from accuracy_theory import load_average, write_atomically
from rnndyn.train import RateRNN, TrialBatch, train

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN = "<!-- bench_train.py: begin -->"
END = "<!-- bench_train.py: end -->"
IMPLEMENTATIONS = ("torch", "raternn_loop", "train_alpha_1", "train_leaky")


@dataclasses.dataclass
class Config:
    """What to run; the defaults are the full benchmark."""

    sizes: tuple[int, ...] = (64, 256, 1024)
    batch: int = 32
    n_time: int = 100
    n_inputs: int = 3
    n_outputs: int = 3
    leaky_alpha: float = 0.1
    learning_rate: float = 1e-3
    clip: float = 1.0
    pool: int = 8  # pre-generated batches, cycled
    target_seconds: float = 1.5  # length of one timed measurement
    min_steps: int = 3
    repeats: int = 5
    threads: int = 1
    tolerance: float = 1.5  # the bar: train at alpha = 1 within 1.5x of torch.nn.RNN


def quick_config() -> Config:
    """Seconds: N = 16, 48, batch 4, T = 20, one short measurement each."""
    return Config(sizes=(16, 48), batch=4, n_time=20, pool=2, target_seconds=0.05,
                  min_steps=2, repeats=1)


# --- the task -----------------------------------------------------------------------------------
class PoolTask:
    """A `rnndyn.train.Task` serving pre-generated batches (white-noise inputs, targets their
    running mean over 10 steps); ``batch(size, seed)`` picks one with ``seed``."""

    name = "bench_pool"

    def __init__(self, config: Config, dt: float) -> None:
        self.n_inputs, self.n_outputs, self.dt = config.n_inputs, config.n_outputs, dt
        rng = np.random.default_rng(0)
        self.batches = []
        for _ in range(config.pool):
            u = 0.5 * rng.standard_normal((config.batch, config.n_time, config.n_inputs))
            total = np.cumsum(u, axis=1)
            total[:, 10:] -= total[:, :-10].copy()
            channels = np.arange(config.n_outputs) % config.n_inputs
            target = total[..., channels] / 10.0
            inputs = torch.as_tensor(u, dtype=torch.float32)
            targets = torch.as_tensor(target, dtype=torch.float32)
            self.batches.append(TrialBatch(inputs, targets, torch.ones_like(targets), dt=dt))

    def batch(self, batch_size: int, seed: int | np.random.Generator | None = None
              ) -> TrialBatch:
        rng = np.random.default_rng(seed)
        chosen = self.batches[int(rng.integers(len(self.batches)))]
        if chosen.batch_size != batch_size:
            raise ValueError(f"batch_size must be {chosen.batch_size}, got {batch_size}")
        return chosen

    def score(self, outputs: torch.Tensor, batch: TrialBatch) -> dict[str, float]:
        return {"mse": float(((outputs - batch.targets) ** 2).mean())}


# --- the implementations ------------------------------------------------------------------------
def _plain_loop(module: torch.nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
                task: PoolTask, config: Config) -> Callable[[int], float]:
    """``run(k)``: k steps of the plain training loop; returns the seconds taken."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.learning_rate)
    counter = [0]

    def run(k: int) -> float:
        start = time.perf_counter()
        for _ in range(k):
            batch = task.batches[counter[0] % len(task.batches)]
            counter[0] += 1
            loss = torch.nn.functional.mse_loss(forward(batch.inputs), batch.targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.clip)
            optimizer.step()
            if not math.isfinite(float(loss.detach())):
                raise RuntimeError("the plain loop's loss became non-finite")
        return time.perf_counter() - start
    return run


def torch_runner(n: int, config: Config) -> Callable[[int], float]:
    """The plain loop with ``torch.nn.RNN`` (tanh) and a ``Linear`` readout."""
    torch.manual_seed(n)
    module = torch.nn.ModuleDict({
        "rnn": torch.nn.RNN(config.n_inputs, n, nonlinearity="tanh", batch_first=True),
        "readout": torch.nn.Linear(n, config.n_outputs)})

    def forward(inputs: torch.Tensor) -> torch.Tensor:
        return module["readout"](module["rnn"](inputs)[0])
    return _plain_loop(module, forward, PoolTask(config, 1.0), config)


def raternn_loop_runner(n: int, config: Config) -> Callable[[int], float]:
    """The plain loop with `RateRNN` at alpha = 1."""
    model = RateRNN(config.n_inputs, n, config.n_outputs, dt=1.0, tau=1.0, seed=n)
    return _plain_loop(model, lambda inputs: model(inputs).outputs, PoolTask(config, 1.0),
                       config)


def train_runner(n: int, config: Config, alpha: float) -> Callable[[int], float]:
    """``rnndyn.train.train`` on `RateRNN` (dt = alpha, tau = 1), timed around the call."""
    model = RateRNN(config.n_inputs, n, config.n_outputs, dt=alpha, tau=1.0, seed=n)
    task = PoolTask(config, alpha)
    calls = [0]

    def run(k: int) -> float:
        calls[0] += 1
        start = time.perf_counter()
        train(model, task, n_steps=k, batch_size=config.batch,
              learning_rate=config.learning_rate, clip_grad_norm=config.clip, eval_every=None,
              progress=False, seed=calls[0])
        return time.perf_counter() - start
    return run


def runners(n: int, config: Config) -> dict[str, Callable[[int], float]]:
    return {"torch": torch_runner(n, config), "raternn_loop": raternn_loop_runner(n, config),
            "train_alpha_1": train_runner(n, config, 1.0),
            "train_leaky": train_runner(n, config, config.leaky_alpha)}


# --- equivalence at alpha = 1 ------------------------------------------------------------------
@dataclasses.dataclass
class Equivalence:
    """RateRNN (alpha = 1) against torch.nn.RNN with the same weights, float32."""

    n: int
    output_error: float  # max |y_rnndyn - y_torch| / max |y_torch|
    gradient_error: float  # the same for d loss / d W_hh


def equivalence(n: int, config: Config) -> Equivalence:
    """Copy a RateRNN's weights into torch.nn.RNN + Linear, compare outputs and gradients."""
    model = RateRNN(config.n_inputs, n, config.n_outputs, dt=1.0, tau=1.0, seed=1)
    with torch.no_grad():
        model.bias.copy_(0.1 * torch.randn(n, generator=torch.Generator().manual_seed(2)))
    rnn = torch.nn.RNN(config.n_inputs, n, nonlinearity="tanh", batch_first=True)
    readout = torch.nn.Linear(n, config.n_outputs)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(model.w_in)
        rnn.weight_hh_l0.copy_(model.w_rec)
        rnn.bias_ih_l0.copy_(model.bias)
        rnn.bias_hh_l0.zero_()
        readout.weight.copy_(model.w_out)
        readout.bias.copy_(model.b_out)
    batch = PoolTask(config, 1.0).batches[0]
    ours = model(batch.inputs).outputs
    theirs = readout(rnn(batch.inputs)[0])
    for y in (ours, theirs):
        torch.nn.functional.mse_loss(y, batch.targets).backward()

    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).abs().max() / b.abs().max())
    return Equivalence(n, relative(ours.detach(), theirs.detach()),
                       relative(model.w_rec.grad, rnn.weight_hh_l0.grad))


# --- timing -------------------------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    """Seconds per training step of each implementation at one N (one entry per repeat)."""

    n: int
    seconds: dict[str, list[float]]
    steps: dict[str, int]

    def best(self, name: str) -> float:
        """Steps per second of the fastest repeat."""
        return 1.0 / min(self.seconds[name])

    def spread(self, name: str) -> float:
        """Slowest / fastest repeat."""
        return max(self.seconds[name]) / min(self.seconds[name])

    def ratio(self, name: str) -> float:
        """How many times faster torch.nn.RNN is than ``name``."""
        return self.best("torch") / self.best(name)


def measure(n: int, config: Config, log: Callable[[str], None]) -> Row:
    """Calibrate each implementation's step count, then time them interleaved ``repeats``
    times (so that a load change on a shared machine hits all of them alike)."""
    runs = runners(n, config)
    steps = {}
    for name, run in runs.items():
        run(1)  # warm-up: allocations, first-call overheads
        per_step = run(config.min_steps) / config.min_steps
        steps[name] = max(config.min_steps, math.ceil(config.target_seconds / per_step))
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(config.repeats):
        for name, run in runs.items():
            seconds[name].append(run(steps[name]) / steps[name])
    row = Row(n, seconds, steps)
    log(f"  N={n}: " + ", ".join(f"{name} {row.best(name):.2f} steps/s"
                                 for name in IMPLEMENTATIONS))
    return row


# --- output -------------------------------------------------------------------------------------
LABELS = {"torch": "torch.nn.RNN", "raternn_loop": "RateRNN, plain loop (alpha = 1)",
          "train_alpha_1": "train, alpha = 1", "train_leaky": "train, alpha = {alpha:g}"}


def markdown(rows: Sequence[Row], check: Equivalence, config: Config, total_s: float,
             load: str = "") -> str:
    """The RESULTS.md section."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"{platform.system()}")
    leaky = LABELS["train_leaky"].format(alpha=config.leaky_alpha)
    lines = [
        BEGIN,
        "# Training speed: `rnndyn.train.train` vs a plain `torch.nn.RNN` loop",
        "",
        f"Written by `benchmarks/bench_train.py` on {now}; the run took {total_s:.0f} s on "
        f"{machine} with {config.threads} torch thread{'s' if config.threads > 1 else ''} "
        f"(rnndyn {rnndyn.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()})"
        + (f"; load average (1, 5, 15 min) {load}." if load else "."),
        "",
        f"Training steps per second (CPU, float32): Adam (lr {config.learning_rate:g}), MSE, "
        f"gradient norm clipped at {config.clip:g}, batch {config.batch}, T = "
        f"{config.n_time} steps, {config.n_inputs} inputs, {config.n_outputs} outputs, full "
        "BPTT. Best of "
        f"{config.repeats} interleaved measurements of about {config.target_seconds:g} s each "
        "(`spread`: slowest / fastest, over all columns of the row). `torch / x`: how many "
        "times faster the `torch.nn.RNN` loop is. alpha = 1 is the same map as "
        "`torch.nn.RNN` (checked below); alpha "
        f"= {config.leaky_alpha:g} is the leaky network (dt = {config.leaky_alpha:g}, tau = 1).",
        "",
        f"| N | {LABELS['torch']} | {LABELS['raternn_loop']} | {LABELS['train_alpha_1']} | "
        f"torch / train (alpha = 1) | {leaky} | torch / train (alpha = "
        f"{config.leaky_alpha:g}) | ms per step (torch / train 1 / train "
        f"{config.leaky_alpha:g}) | spread |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        spread = max(row.spread(name) for name in IMPLEMENTATIONS)
        ms = " / ".join(f"{1e3 / row.best(name):.1f}"
                        for name in ("torch", "train_alpha_1", "train_leaky"))
        lines.append(
            f"| {row.n} | {row.best('torch'):.2f} | {row.best('raternn_loop'):.2f} | "
            f"{row.best('train_alpha_1'):.2f} | {row.ratio('train_alpha_1'):.2f}x | "
            f"{row.best('train_leaky'):.2f} | {row.ratio('train_leaky'):.2f}x | {ms} | "
            f"{spread:.2f} |")
    worst = max(row.ratio("train_alpha_1") for row in rows)
    verdict = "met" if worst <= config.tolerance else "not met"
    lines += [
        "",
        f"Same computation at alpha = 1 (N = {check.n}, `torch.nn.RNN` given the RateRNN's "
        "weights, `bias_hh` = 0): max relative difference of the outputs "
        f"{check.output_error:.1e}, of the gradient of the loss with respect to W_hh "
        f"{check.gradient_error:.1e} (float32 rounding).",
        "",
        f"Criterion: `train` at alpha = 1 within {config.tolerance:g}x of `torch.nn.RNN` at "
        f"every N: worst {worst:.2f}x, {verdict}.",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: run, print the section and merge it into ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--sizes", type=int, nargs="+", help="N values")
    parser.add_argument("--repeats", type=int, help="interleaved measurements (best of)")
    parser.add_argument("--target-seconds", type=float, help="length of one measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    config = quick_config() if args.quick else Config()
    if args.sizes:
        if min(args.sizes) < 1:
            parser.error("sizes must be >= 1")
        config.sizes = tuple(args.sizes)
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error("repeats must be >= 1")
        config.repeats = args.repeats
    if args.target_seconds is not None:
        if not args.target_seconds > 0:
            parser.error("target-seconds must be > 0")
        config.target_seconds = args.target_seconds
    config.threads = max(1, args.threads)
    torch.set_num_threads(config.threads)
    log = lambda message: print(message, flush=True)  # noqa: E731
    before, start = load_average(), time.perf_counter()
    check = equivalence(min(config.sizes), config)
    log(f"  alpha = 1 equivalence (N={check.n}): outputs {check.output_error:.1e}, "
        f"gradient {check.gradient_error:.1e}")
    if check.output_error > 1e-4 or check.gradient_error > 1e-3:
        raise RuntimeError("RateRNN at alpha = 1 does not reproduce torch.nn.RNN: "
                           f"{check}")
    rows = [measure(n, config, log) for n in config.sizes]
    load = f"{before} before, {load_average()} after" if before else ""
    text = markdown(rows, check, config, time.perf_counter() - start, load)
    print(text)
    write_atomically(args.output, accuracy_theory.merge_into(args.output, text, BEGIN, END))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
