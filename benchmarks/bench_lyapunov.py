"""Lyapunov exponents: accuracy of the largest one against the DMFT, and the full-spectrum speed.

Two parts, each with its own RESULTS.md section (between its begin/end markers), so that
one part can be re-run without erasing the other's table.

Accuracy. For ``dx/dt = -x + J tanh(x)`` with J i.i.d. N(0, g^2 / N), the DMFT predicts the
largest Lyapunov exponent of the infinite network
(`rnndyn.theory.solve_random_network(g).lyapunov_exponent()`, the Schrodinger ground state of
Sompolinsky, Crisanti & Sommers 1988). For each N, ``seeds`` networks (J and initial state)
are run with `rnndyn.analysis.lyapunov_spectrum` (one tangent vector, RK4, float64) for
``t_max(N)`` after a transient of 100. The table reports, per N, the mean over networks, its
standard error (the spread over networks: it holds both the temporal noise and the quenched
network-to-network scatter), and the relative error against the DMFT. The finite-size
estimate approaches the DMFT from below; the approach is fitted as
``lambda(N) = lambda_inf + c / N`` (weighted least squares over N), the form of a correction
set by the O(1/N) variance of the local expansion rate (the tangent vector's growth rate is an
average over N units), and lambda_inf is compared with the DMFT.

Speed. The full spectrum (k = N exponents) of one network at N = 500, g = 2: wall time of
`lyapunov_spectrum(n_exponents=N)` for ``t_transient + t_max`` time units, against a naive
NumPy implementation of the same estimator written the way scripts usually are: the Jacobian
``-I + J diag(phi'(x))`` formed at every RK4 stage and applied to the N x N tangent matrix, with
a QR at every step. The naive one is timed on ``naive_steps`` steps and scaled to the same
number of steps (its cost per step is constant). Also shown: the largest and smallest
exponents, the largest standard error across the spectrum, the sum of the exponents against
the time-averaged divergence of the flow ``-N + <sum_i J_ii phi'(x_i)>`` (an identity: their
difference measures the integration and QR error), and the Kaplan-Yorke dimension.

Run ``python benchmarks/bench_lyapunov.py`` (about 25 min on two cores) or ``--quick``
(small N, seconds). The section is printed and merged into ``--output``
(benchmarks/RESULTS.md); other sections are kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy_theory
import rnndyn
from accuracy_theory import load_average, write_atomically
from rnndyn.analysis import lyapunov_spectrum
from rnndyn.connectivity import gaussian
from rnndyn.simulate import Network
from rnndyn.theory import solve_random_network

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
# Two sections, so that each part can be re-run alone (--skip-accuracy / --skip-spectrum).
BEGIN = "<!-- bench_lyapunov.py accuracy: begin -->"
END = "<!-- bench_lyapunov.py accuracy: end -->"
SPEED_BEGIN = "<!-- bench_lyapunov.py speed: begin -->"
SPEED_END = "<!-- bench_lyapunov.py speed: end -->"


@dataclasses.dataclass
class Config:
    """What to run; the defaults are the full benchmark."""

    g: float = 2.0
    sizes: tuple[int, ...] = (500, 1000, 2000, 4000)
    seeds: int = 4
    batch: int = 2  # initial conditions per network (nearly free: the matvec is memory-bound)
    # Averaging time by N: the temporal noise of one run shrinks like 1 / sqrt(N t_max).
    durations: tuple[tuple[int, float], ...] = ((500, 1000.0), (1000, 1000.0),
                                                (2000, 600.0), (4000, 300.0))
    transient: float = 100.0
    dt: float = 0.1
    tolerance: float = 0.05  # the criterion at N = criterion_n
    criterion_n: int = 2000
    spectrum_n: int = 500
    spectrum_transient: float = 50.0
    spectrum_t_max: float = 100.0
    spectrum_dt: float = 0.1
    spectrum_dtype: str = "float64"
    naive_steps: int = 40
    threads: int = 2
    timing_target: float = 60.0  # the target for the full spectrum at N = 500, s

    def duration(self, n: int) -> float:
        """t_max(N): the entry of `durations` whose N is nearest to n (log scale)."""
        return min(self.durations, key=lambda entry: abs(math.log(entry[0] / n)))[1]


def quick_config() -> Config:
    """Seconds: N = 100, 200, short runs, a 100-unit full spectrum."""
    return Config(sizes=(100, 200), seeds=2, durations=((100, 100.0),), transient=20.0,
                  criterion_n=200, spectrum_n=100, spectrum_transient=10.0,
                  spectrum_t_max=20.0, naive_steps=10)


# --- accuracy -----------------------------------------------------------------------------------
@dataclasses.dataclass
class SizeRow:
    """The largest exponent at one N over ``seeds`` networks."""

    n: int
    t_max: float
    values: list[float]  # one per network
    temporal_se: list[float]  # block standard error of each run
    seconds: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def standard_error(self) -> float:
        """Spread over networks / sqrt(count): temporal and quenched noise together."""
        if len(self.values) < 2:
            return float(self.temporal_se[0])
        return float(np.std(self.values, ddof=1) / math.sqrt(len(self.values)))


def largest_exponents(n: int, config: Config, log: Callable[[str], None]) -> SizeRow:
    """``lyapunov_spectrum`` on ``config.seeds`` networks of size n (seeded by (n, seed))."""
    values, errors = [], []
    start = time.perf_counter()
    t_max = config.duration(n)
    for seed in range(config.seeds):
        network = Network(gaussian(n, g=config.g, seed=np.random.default_rng([17, n, seed])))
        result = lyapunov_spectrum(network, t_max=t_max, dt=config.dt,
                                   t_transient=config.transient, batch=config.batch,
                                   seed=np.random.default_rng([18, n, seed]))
        values.append(result.largest)
        errors.append(float(result.standard_error[0]))
        log(f"  N={n} seed {seed}: lambda_max = {result.largest:.4f} "
            f"+- {result.standard_error[0]:.4f}")
    return SizeRow(n, t_max, values, errors, time.perf_counter() - start)


@dataclasses.dataclass
class Extrapolation:
    """``lambda(N) = lambda_inf + c / N`` fitted by weighted least squares."""

    limit: float
    limit_se: float
    slope: float
    slope_se: float


def extrapolate(rows: Sequence[SizeRow]) -> Extrapolation:
    """Weighted least squares of the means on 1/N (weights 1 / SE^2); parameter SEs from the
    inverse normal matrix (no rescaling by the residual: the SEs are measured)."""
    x = np.array([1.0 / row.n for row in rows])
    y = np.array([row.mean for row in rows])
    w = np.array([1.0 / max(row.standard_error, 1e-12) ** 2 for row in rows])
    design = np.stack([np.ones_like(x), x], axis=1)
    normal = design.T @ (w[:, None] * design)
    covariance = np.linalg.inv(normal)
    limit, slope = covariance @ design.T @ (w * y)
    return Extrapolation(float(limit), float(math.sqrt(covariance[0, 0])), float(slope),
                         float(math.sqrt(covariance[1, 1])))


# --- speed --------------------------------------------------------------------------------------
@dataclasses.dataclass
class SpectrumRow:
    """The full spectrum of one network and the times of both implementations."""

    n: int
    steps: int
    seconds: float
    naive_seconds_per_step: float
    largest: float
    smallest: float
    max_standard_error: float
    exponent_sum: float
    divergence: float
    kaplan_yorke: float
    entropy_rate: float

    @property
    def naive_seconds(self) -> float:
        return self.naive_seconds_per_step * self.steps

    @property
    def ratio(self) -> float:
        return self.naive_seconds / self.seconds


def mean_divergence(j: np.ndarray, t_max: float, transient: float, dt: float, seed: int
                    ) -> float:
    """``<tr(-I + J diag(phi'(x)))>`` over a trajectory: the flow's mean divergence, which the
    exponents must sum to. Sampled every 0.5 time units after ``transient`` (RK4)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(j.shape[0])
    diagonal = np.diag(j).copy()

    def f(state: np.ndarray) -> np.ndarray:
        return -state + j @ np.tanh(state)

    values = []
    every = max(1, round(0.5 / dt))
    for step in range(round((transient + t_max) / dt)):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        k4 = f(x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if step * dt >= transient and step % every == 0:
            values.append(-x.size + float(diagonal @ (1 - np.tanh(x) ** 2)))
    return float(np.mean(values))


def naive_seconds_per_step(j: np.ndarray, steps: int, dt: float, seed: int) -> float:
    """Time per step of the naive estimator (Jacobian formed per RK4 stage, QR every step)."""
    n = j.shape[0]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    identity = np.eye(n)
    log_growth = np.zeros(n)

    def jacobian(state: np.ndarray) -> np.ndarray:
        return -identity + j * (1 - np.tanh(state) ** 2)[None, :]

    def f(state: np.ndarray) -> np.ndarray:
        return -state + j @ np.tanh(state)

    start = time.perf_counter()
    for _ in range(steps):
        states = [x]
        k1 = f(x)
        states.append(x + 0.5 * dt * k1)
        k2 = f(states[-1])
        states.append(x + 0.5 * dt * k2)
        k3 = f(states[-1])
        states.append(x + dt * k3)
        k4 = f(states[-1])
        m1 = jacobian(states[0]) @ q
        m2 = jacobian(states[1]) @ (q + 0.5 * dt * m1)
        m3 = jacobian(states[2]) @ (q + 0.5 * dt * m2)
        m4 = jacobian(states[3]) @ (q + dt * m3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        q, r = np.linalg.qr(q + dt / 6 * (m1 + 2 * m2 + 2 * m3 + m4))
        log_growth += np.log(np.abs(np.diag(r)))
    elapsed = time.perf_counter() - start
    if not np.all(np.isfinite(log_growth)):
        raise RuntimeError("the naive estimator diverged")
    return elapsed / steps


def full_spectrum(config: Config, log: Callable[[str], None]) -> SpectrumRow:
    """The full spectrum at N = ``config.spectrum_n`` with rnndyn, and the naive timing."""
    n = config.spectrum_n
    connectivity = gaussian(n, g=config.g, seed=np.random.default_rng([19, n]))
    network = Network(connectivity)
    dtype = getattr(torch, config.spectrum_dtype)
    start = time.perf_counter()
    result = lyapunov_spectrum(network, t_max=config.spectrum_t_max, n_exponents=n,
                               dt=config.spectrum_dt, t_transient=config.spectrum_transient,
                               seed=20, dtype=dtype)
    seconds = time.perf_counter() - start
    steps = round((config.spectrum_transient + config.spectrum_t_max) / config.spectrum_dt)
    log(f"  full spectrum N={n}: {seconds:.1f} s for {steps} steps")
    j = np.asarray(connectivity.to_dense(), dtype=np.float64)
    naive = naive_seconds_per_step(j, config.naive_steps, config.spectrum_dt, seed=21)
    log(f"  naive: {naive * 1e3:.0f} ms per step ({naive * steps:.0f} s for {steps} steps)")
    divergence = mean_divergence(j, config.spectrum_t_max, config.spectrum_transient,
                                 config.spectrum_dt, seed=22)
    return SpectrumRow(n, steps, seconds, naive, result.largest, float(result.exponents[-1]),
                       float(np.max(result.standard_error)), float(np.sum(result.exponents)),
                       divergence, result.kaplan_yorke_dimension, result.entropy_rate)


# --- output -------------------------------------------------------------------------------------

def _header(title: str, begin: str, config: Config, total_s: float, load: str) -> list[str]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        begin,
        f"# {title}",
        "",
        f"Written by `benchmarks/bench_lyapunov.py` on {now}; the run took {total_s:.0f} s on "
        f"{platform.processor() or platform.machine()} with {config.threads} torch threads "
        f"(rnndyn {rnndyn.__version__}, torch {torch.__version__}, numpy {np.__version__})"
        + (f"; load average (1, 5, 15 min) {load}." if load else "."),
        "",
    ]


def accuracy_markdown(rows: Sequence[SizeRow], fit: Extrapolation | None, theory: float,
                      config: Config, total_s: float, load: str = "") -> str:
    """The accuracy section: the largest exponent per N against the DMFT."""
    lines = _header(f"Largest Lyapunov exponent vs the DMFT (tanh, g = {config.g:g})", BEGIN,
                    config, total_s, load)
    lines += [
        f"DMFT (N -> infinity): lambda = {theory:.5f}. Per N: {config.seeds} networks "
        f"(J and initial states), `lyapunov_spectrum` with one tangent vector, "
        f"{config.batch} initial states per network, RK4 dt = {config.dt:g}, float64, "
        f"transient {config.transient:g}, averaging time t_max. `mean +- SE`: over networks "
        "(temporal and quenched noise together); `temporal SE`: the median over networks of "
        "one run's block standard error; `rel. error`: (mean - DMFT) / DMFT.",
        "",
        "| N | t_max | networks | mean +- SE | temporal SE | rel. error | within "
        f"{config.tolerance:.0%} | time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        rel = (row.mean - theory) / theory
        within = abs(rel) <= config.tolerance
        lines.append(
            f"| {row.n} | {row.t_max:g} | {len(row.values)} | {row.mean:.4f} +- "
            f"{row.standard_error:.4f} | {np.median(row.temporal_se):.4f} | {rel:+.1%} | "
            f"{'yes' if within else 'no'} | {row.seconds:.0f} |")
    lines.append("")
    if fit is not None:
        rel = (fit.limit - theory) / theory
        sigmas = abs(fit.limit - theory) / fit.limit_se
        lines += [
            f"Fit lambda(N) = lambda_inf + c / N over N = "
            f"{', '.join(str(row.n) for row in rows)}: lambda_inf = {fit.limit:.4f} +- "
            f"{fit.limit_se:.4f} ({rel:+.1%} from the DMFT, {sigmas:.1f} SE), c = "
            f"{fit.slope:.1f} +- {fit.slope_se:.1f}.",
            "",
        ]
    criterion = [row for row in rows if row.n == config.criterion_n]
    if criterion:
        row = criterion[0]
        rel = (row.mean - theory) / theory
        verdict = "met" if abs(rel) <= config.tolerance else "not met"
        lines += [f"Criterion (the issue): within {config.tolerance:.0%} of the DMFT at "
                  f"N = {row.n}: {rel:+.1%}, {verdict}.", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def speed_markdown(spectrum: SpectrumRow, config: Config, total_s: float, load: str = ""
                   ) -> str:
    """The speed section: the full spectrum at N = ``config.spectrum_n``."""
    s = spectrum
    lines = _header(f"Full Lyapunov spectrum at N = {s.n} (tanh, g = {config.g:g})",
                    SPEED_BEGIN, config, total_s, load)
    lines += [
        f"`lyapunov_spectrum(n_exponents={s.n})`, {config.spectrum_dtype}, RK4 dt = "
        f"{config.spectrum_dt:g}, transient {config.spectrum_transient:g} + averaging "
        f"{config.spectrum_t_max:g} ({s.steps} steps, QR every 1 time unit), against the "
        f"naive NumPy estimator (Jacobian formed at each RK4 stage, QR at every step; "
        f"timed on {config.naive_steps} steps and scaled to {s.steps}). `sum` vs "
        "`divergence`: the exponents' sum and the flow's mean divergence "
        "-N + <sum_i J_ii phi'(x_i)>, equal for an exact estimator.",
        "",
        "| N | rnndyn (s) | naive (s) | naive / rnndyn | target | lambda_1 / lambda_N | "
        "max SE | sum / divergence | Kaplan-Yorke dim. | entropy rate |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {s.n} | {s.seconds:.1f} | {s.naive_seconds:.0f} | {s.ratio:.1f}x | "
        f"< {config.timing_target:g} s: {'ok' if s.seconds < config.timing_target else 'no'}"
        f" | {s.largest:.4f} / {s.smallest:.3f} | {s.max_standard_error:.4f} | "
        f"{s.exponent_sum:.2f} / {s.divergence:.2f} | {s.kaplan_yorke:.1f} | "
        f"{s.entropy_rate:.3f} |",
        "",
        SPEED_END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: run, print the section and merge it into ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N, seconds")
    parser.add_argument("--sizes", type=int, nargs="+", help="N values of the accuracy part")
    parser.add_argument("--seeds", type=int, help="networks per N")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-spectrum", action="store_true")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    config = quick_config() if args.quick else Config()
    if args.sizes:
        if min(args.sizes) < 2:
            parser.error("sizes must be >= 2")
        config.sizes = tuple(args.sizes)
    if args.seeds:
        if args.seeds < 1:
            parser.error("seeds must be >= 1")
        config.seeds = args.seeds
    config.threads = max(1, args.threads)
    torch.set_num_threads(config.threads)
    log = lambda message: print(message, flush=True)  # noqa: E731
    theory = solve_random_network(config.g, "tanh").lyapunov_exponent()
    if not args.skip_accuracy:
        before, start = load_average(), time.perf_counter()
        rows = [largest_exponents(n, config, log) for n in config.sizes]
        fit = extrapolate(rows) if len(rows) >= 2 else None
        load = f"{before} before, {load_average()} after" if before else ""
        text = accuracy_markdown(rows, fit, theory, config, time.perf_counter() - start, load)
        print(text)
        write_atomically(args.output, accuracy_theory.merge_into(args.output, text, BEGIN, END))
    if not args.skip_spectrum:
        before, start = load_average(), time.perf_counter()
        spectrum = full_spectrum(config, log)
        load = f"{before} before, {load_average()} after" if before else ""
        text = speed_markdown(spectrum, config, time.perf_counter() - start, load)
        print(text)
        write_atomically(args.output, accuracy_theory.merge_into(args.output, text,
                                                                 SPEED_BEGIN, SPEED_END))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
