"""Accuracy of rnndyn's mean-field theory against simulation, as a function of N.

For each case and network size N, several networks (seeds) are drawn and simulated with
`rnndyn.simulate`, the same statistic is predicted by `rnndyn.theory`, and the relative error
``|simulation - theory| / |theory|`` is averaged (root mean square) over seeds. The exponent a
of ``error ~ N^a`` is fitted by least squares on log-log axes; theory that is right in the
large-N limit gives a <= -1/2 (finite-N fluctuations of a quenched network shrink like
1/sqrt(N)); a statistic that stops improving (a ~ 0) flags a systematic theory error.

Cases (a CASES entry each):
- chaotic random network, tanh, g = 1.5 and 2: the variance Delta(0) and the autocorrelation
  Delta(tau) on 0 <= tau <= 10 (relative L2 error over the lags);
- the largest Lyapunov exponent at g = 2 (tangent-space simulation,
  `rnndyn.analysis.lyapunov_spectrum`) against the DMFT's Schrodinger ground state;
- the fixed point of a sub-critical network (g = 0.8) with quenched random inputs
  h_i ~ N(0.3, 0.5^2): mean and variance of x across neurons;
- low-rank networks (no random bulk, so the exact reduction gives the finite-N value and the
  Gaussian theory the N -> infinity one): the rank-one latent fixed point kappa (sigma_mn = 1.5),
  the rank-two limit cycle period (4 pi) and radius, the ring radius (Sigma_nm = 1.6 I).

It also times the theory solvers against the issue's targets (stationary DMFT < 50 ms,
Lyapunov exponent < 1 s, two-time solver on a 1000 x 1000 grid < 10 s).

Run ``python benchmarks/accuracy_theory.py`` (about 20-30 min on one core at the default
N = 1000 ... 8000) or ``--quick`` (N = 200, 400; seconds). The table is printed and written into
``benchmarks/RESULTS.md`` between this script's begin/end markers, below the part that
bench_simulate.py regenerates, so neither script erases the other's table.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

import rnndyn
from rnndyn.analysis import lyapunov_spectrum
from rnndyn.connectivity import gaussian
from rnndyn.plot._files import atomic_path
from rnndyn.simulate import Autocorrelation, Network, simulate
from rnndyn.theory.dmft import solve_random_network

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN = "<!-- accuracy_theory.py: begin (generated, replaced on each run) -->"
END = "<!-- accuracy_theory.py: end -->"
KEEP_MARKER = "<!-- Not generated: kept when bench_simulate.py rewrites this file. -->"


@dataclasses.dataclass
class Config:
    sizes: tuple[int, ...] = (1000, 2000, 4000, 8000)
    seeds: int = 3
    t_max: float = 60.0  # chaotic runs: averaging time after the transient
    t_transient: float = 20.0
    dt: float = 0.2  # RK4; its error at dt = 0.2 (~1e-4 per unit time) is far below 1/sqrt(N)
    lyapunov_t_max: float = 60.0
    threads: int = 1
    cases: tuple[str, ...] = ()  # empty: all
    timing: bool = True


def quick_config() -> Config:
    return Config(sizes=(200, 400), seeds=2, t_max=30.0, t_transient=10.0, dt=0.1,
                  lyapunov_t_max=20.0, timing=False)


@dataclasses.dataclass
class Case:
    name: str
    statistic: str
    theory: Callable[[Config], float | np.ndarray]
    simulation: Callable[[int, int, Config], float | np.ndarray]  # (N, seed, config)
    error: Callable[[np.ndarray, np.ndarray], float] | None = None


def _relative(sim: np.ndarray, theory: np.ndarray) -> float:
    return float(np.abs(np.asarray(sim) - theory) / np.abs(theory))


def _relative_l2(sim: np.ndarray, theory: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(sim) - theory) / np.linalg.norm(theory))


# --- random network cases --------------------------------------------------------------------
MAX_LAG = 10.0


def _lags(config: Config) -> np.ndarray:
    step = config.dt  # Autocorrelation samples every step
    return np.arange(round(MAX_LAG / step) + 1) * step


def _chaotic_autocorrelation(g: float) -> Callable[[int, int, Config], np.ndarray]:
    def run(n: int, seed: int, config: Config) -> np.ndarray:
        net = Network(gaussian(n, g=g, seed=seed))
        ds = simulate(net, t_max=config.t_transient + config.t_max, dt=config.dt, method="rk4",
                      record=[Autocorrelation("x", max_lag=MAX_LAG, t_start=config.t_transient)],
                      seed=seed + 1000, progress=False)
        return ds["x_autocorrelation"].mean("trial").to_numpy()
    return run


def _chaos_cases(g: float) -> list[Case]:
    run = _chaotic_autocorrelation(g)
    cache: dict[tuple[int, int, float], np.ndarray] = {}

    def cached(n: int, seed: int, config: Config) -> np.ndarray:
        key = (n, seed, config.t_max)
        if key not in cache:
            cache[key] = run(n, seed, config)
        return cache[key]

    solution = solve_random_network(g, phi="tanh")
    return [
        Case(f"random network g={g:g}", "variance Delta(0)",
             lambda config: solution.delta0,
             lambda n, seed, config: cached(n, seed, config)[0]),
        Case(f"random network g={g:g}", f"autocorrelation, tau in [0, {MAX_LAG:g}]",
             lambda config: solution.autocorrelation(_lags(config)),
             cached, _relative_l2),
    ]


def _lyapunov_case(g: float) -> Case:
    def run(n: int, seed: int, config: Config) -> float:
        result = lyapunov_spectrum(Network(gaussian(n, g=g, seed=seed)),
                                   t_max=config.lyapunov_t_max, dt=config.dt,
                                   t_transient=config.t_transient, dtype=torch.float32,
                                   seed=seed + 2000)
        return result.largest

    exponent = solve_random_network(g, phi="tanh").lyapunov_exponent()
    return Case(f"random network g={g:g}", "largest Lyapunov exponent",
                lambda config: exponent, run)


FIXED_G, FIXED_BIAS, FIXED_INPUT_STD = 0.8, 0.3, 0.5


def _fixed_point_cases() -> list[Case]:
    solution = solve_random_network(FIXED_G, phi="tanh", bias=FIXED_BIAS,
                                    input_variance=FIXED_INPUT_STD**2)
    cache: dict[tuple[int, int], np.ndarray] = {}

    def state(n: int, seed: int, config: Config) -> np.ndarray:
        if (n, seed) not in cache:
            rng = np.random.default_rng(seed + 3000)
            bias = FIXED_BIAS + FIXED_INPUT_STD * rng.standard_normal(n)
            net = Network(gaussian(n, g=FIXED_G, seed=seed), bias=bias)
            # The exponential Euler map has exactly the ODE's fixed points, so a large step is
            # free of discretisation error here; t = 80 is > 10 relaxation times.
            ds = simulate(net, t_max=80.0, dt=0.5, method="exp_euler", record=[],
                          dtype=torch.float64, seed=seed + 4000, progress=False)
            cache[(n, seed)] = ds["final_state"].isel(trial=0).to_numpy()
        return cache[(n, seed)]

    return [
        Case(f"fixed point g={FIXED_G:g}, quenched input", "mean of x",
             lambda config: solution.mean, lambda n, s, c: float(np.mean(state(n, s, c)))),
        Case(f"fixed point g={FIXED_G:g}, quenched input", "variance of x",
             lambda config: solution.delta0, lambda n, s, c: float(np.var(state(n, s, c)))),
    ]


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for g in (1.5, 2.0):
        cases += _chaos_cases(g)
    cases.append(_lyapunov_case(2.0))
    cases += _fixed_point_cases()
    cases += _low_rank_cases()
    return cases


# --- low-rank cases --------------------------------------------------------------------------
RANK_ONE_OVERLAP, RANK_ONE_BULK = 1.5, 0.5
# Rank two, Cov(n_r, m_s) = [[lambda, -omega], [omega, lambda]] (rotation) or lambda I (ring).
ROTATION = np.array([[1.6, -0.8], [0.8, 1.6]])
RING = np.array([[1.6, 0.0], [0.0, 1.6]])
N_VARIANCE = 4.0  # variance of the n loadings; any value keeping the covariance positive definite


def _joint_covariance(overlap: np.ndarray) -> np.ndarray:
    """Covariance of (m_1..m_R, n_1..n_R) with unit-variance m and Cov(n_r, m_s) = overlap."""
    rank = overlap.shape[0]
    cov = np.eye(2 * rank)
    cov[rank:, rank:] *= N_VARIANCE
    cov[rank:, :rank] = overlap
    cov[:rank, rank:] = overlap.T
    return cov


def _draw_loadings(overlap: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rank = overlap.shape[0]
    rng = np.random.default_rng(seed + 5000)
    sample = rng.multivariate_normal(np.zeros(2 * rank), _joint_covariance(overlap), size=n)
    return sample[:, :rank], sample[:, rank:]


def _latent(right: np.ndarray, x: np.ndarray) -> np.ndarray:
    """kappa = N^T phi(x) / N, which equals the latent of x = M kappa at a fixed point."""
    return right.T @ np.tanh(x) / len(x)


def _rank_one_case(bulk: float) -> Case:
    from rnndyn.connectivity import low_rank, sum_connectivities
    from rnndyn.theory.lowrank import GaussianLatentDynamics, solve_fixed_point

    overlap = np.array([[RANK_ONE_OVERLAP]])
    dynamics = GaussianLatentDynamics(_joint_covariance(overlap), rank=1)
    theory = solve_fixed_point(dynamics, np.array([1.0]), g=bulk)

    def run(n: int, seed: int, config: Config) -> float:
        m, nv = _draw_loadings(overlap, n, seed)
        conn = low_rank(m, nv)
        if bulk > 0:
            conn = sum_connectivities(conn, gaussian(n, g=bulk, seed=seed))
        x0 = m[:, 0] * float(theory.kappa[0])
        ds = simulate(Network(conn), t_max=80.0, dt=0.5, method="exp_euler", x0=x0, record=[],
                      dtype=torch.float64, seed=seed, progress=False)
        return float(_latent(nv, ds["final_state"].isel(trial=0).to_numpy())[0])

    label = f"rank one, sigma_mn={RANK_ONE_OVERLAP:g}" + (f", bulk g={bulk:g}" if bulk else "")
    return Case(label, "latent fixed point kappa", lambda config: float(theory.kappa[0]), run)


def _radius_theory() -> float:
    from scipy import optimize

    from rnndyn.theory.gaussian import mean_activity

    # lambda <phi'>(0, r^2) = 1 (the issue's statement of the known result).
    return float(optimize.brentq(
        lambda r: 1.6 * float(mean_activity("tanh", 0.0, r * r, part="derivative")) - 1.0,
        1e-6, 10.0, xtol=1e-14))


def _rank_two_run(overlap: np.ndarray, n: int, seed: int, t_max: float, every: int):
    from rnndyn.connectivity import low_rank

    m, nv = _draw_loadings(overlap, n, seed)
    x0 = m @ np.array([1.0, 0.0])
    ds = simulate(Network(low_rank(m, nv)), t_max=t_max, dt=0.05, method="rk4", x0=x0,
                  record=["x"], record_every=every, dtype=torch.float64, seed=seed,
                  progress=False)
    x = ds["x"].isel(trial=0).to_numpy()
    # x(0) = M kappa(0) keeps x in span(M): kappa is the projection of x on M. (N^T phi(x) / N
    # equals kappa only at a fixed point; on the cycle it is kappa + dkappa/dt.)
    kappa = np.linalg.lstsq(m, x.T, rcond=None)[0].T
    return ds["time"].to_numpy(), kappa


def _cycle_cases() -> list[Case]:
    cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def trajectory(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        if (n, seed) not in cache:
            cache[(n, seed)] = _rank_two_run(ROTATION, n, seed, t_max=200.0, every=2)
        return cache[(n, seed)]

    def period(n: int, seed: int, config: Config) -> float:
        time_, kappa = trajectory(n, seed)
        keep = time_ > 100.0  # after the transient onto the cycle
        t, k = time_[keep], kappa[keep, 0]
        # Upward zero crossings of kappa_1, located by linear interpolation.
        idx = np.flatnonzero((k[:-1] < 0) & (k[1:] >= 0))
        crossings = t[idx] - k[idx] * (t[idx + 1] - t[idx]) / (k[idx + 1] - k[idx])
        return float(np.mean(np.diff(crossings)))

    def radius(n: int, seed: int, config: Config) -> float:
        time_, kappa = trajectory(n, seed)
        return float(np.mean(np.linalg.norm(kappa[time_ > 100.0], axis=1)))

    return [
        Case("rank two rotation", "limit cycle period (4 pi)", lambda config: 4 * np.pi, period),
        Case("rank two rotation", "limit cycle radius", lambda config: _radius_theory(), radius),
    ]


def _ring_case() -> Case:
    def run(n: int, seed: int, config: Config) -> float:
        _, kappa = _rank_two_run(RING, n, seed, t_max=80.0, every=1600)
        return float(np.linalg.norm(kappa[-1]))

    return Case("rank two ring, Sigma_nm=1.6 I", "ring radius",
                lambda config: _radius_theory(), run)


def _low_rank_cases() -> list[Case]:
    return [_rank_one_case(0.0), _rank_one_case(RANK_ONE_BULK), *_cycle_cases(), _ring_case()]


# --- running -----------------------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    case: str
    statistic: str
    errors: dict[int, float]  # N -> rms relative error over seeds
    exponent: float
    theory_value: str
    seconds: float


def fit_exponent(sizes: Sequence[int], errors: Sequence[float]) -> float:
    """Least-squares slope of log(error) against log(N)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.maximum(np.asarray(errors), 1e-300))
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def run_case(case: Case, config: Config, log: Callable[[str], None]) -> Row:
    begin = time.perf_counter()
    theory = np.asarray(case.theory(config), dtype=float)
    errors = {}
    for n in config.sizes:
        per_seed = []
        for seed in range(config.seeds):
            sim = np.asarray(case.simulation(n, seed, config), dtype=float)
            per_seed.append((case.error or _relative)(sim, theory))
        errors[n] = float(np.sqrt(np.mean(np.square(per_seed))))
        log(f"  {case.name} / {case.statistic}: N={n}: rms relative error {errors[n]:.3g}")
    shown = f"{float(theory):.5g}" if theory.ndim == 0 else f"{theory.size} values"
    return Row(case.name, case.statistic, errors, fit_exponent(list(errors), list(errors.values())),
               shown, time.perf_counter() - begin)


def time_solvers(log: Callable[[str], None]) -> list[tuple[str, float, float]]:
    """(what, seconds, target seconds): best of a few runs of each theory solver."""
    out = []

    def best(work: Callable[[], object], repeats: int = 3) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return min(times)

    out.append(("stationary DMFT solve (tanh, g = 2)",
                best(lambda: solve_random_network(2.0, phi="tanh")), 0.05))
    # A fresh solution each time: the exponent (and Delta(tau) it needs) is cached on first use.
    out.append(("stationary solve + largest Lyapunov exponent (tanh, g = 2)",
                best(lambda: solve_random_network(2.0, phi="tanh").lyapunov_exponent()), 1.0))
    try:
        from rnndyn.theory.two_time import solve_two_time
    except ImportError:
        solve_two_time = None
    if solve_two_time is not None:
        out.append(("two-time DMFT, 1000 x 1000 grid (tanh, g = 1.5, t_max = 50)",
                    best(lambda: solve_two_time(1.5, phi="tanh", t_max=50.0, dt=0.05,
                                                initial_variance=1.0), repeats=1), 10.0))
    for what, seconds, target in out:
        log(f"  {what}: {seconds * 1e3:.1f} ms (target < {target * 1e3:.0f} ms)")
    return out


# --- output ---------------------------------------------------------------------------------
def markdown(rows: list[Row], timings: list[tuple[str, float, float]], config: Config,
             total_s: float, kept: Sequence[str] = ()) -> str:
    sizes = config.sizes
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "# rnndyn theory vs simulation",
        "",
        f"Written by `benchmarks/accuracy_theory.py` on {now}; the run took {total_s:.0f} s "
        f"on {platform.processor() or platform.machine()} with {torch.get_num_threads()} torch "
        f"threads (rnndyn {rnndyn.__version__}, torch {torch.__version__}, numpy "
        f"{np.__version__}).",
        "",
        f"Relative error |simulation - theory| / |theory|, root mean square over {config.seeds} "
        f"networks (seeds) per N; the exponent a is the least-squares slope of log(error) "
        f"against log(N) (a <= -0.5: the error shrinks like 1/sqrt(N) or faster). Chaotic runs "
        f"average over t = {config.t_max:g} after a transient of {config.t_transient:g} "
        f"(RK4, dt = {config.dt:g}); Lyapunov runs over t = {config.lyapunov_t_max:g}.",
        "",
        "| case | statistic | theory | " + " | ".join(f"N={n}" for n in sizes)
        + " | exponent a | time (s) |",
        "|---|---|---|" + "---|" * len(sizes) + "---|---|",
    ]
    for row in rows:
        cells = " | ".join(f"{row.errors[n]:.2e}" for n in sizes)
        lines.append(f"| {row.case} | {row.statistic} | {row.theory_value} | {cells} | "
                     f"{row.exponent:+.2f} | {row.seconds:.0f} |")
    lines += list(kept)
    if kept:
        lines += ["", f"({len(kept)} row(s) carried over from an earlier run of other cases "
                  "with `--keep`.)"]
    if timings:
        lines += ["", "Theory solver speed (best of 3; the two-time solver once):", "",
                  "| solver | time | target | |", "|---|---|---|---|"]
        for what, seconds, target in timings:
            verdict = "ok" if seconds < target else "**SLOWER**"
            lines.append(f"| {what} | {seconds * 1e3:.1f} ms | < {target * 1e3:.0f} ms | "
                         f"{verdict} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def kept_rows(path: Path, rows: list[Row], sizes: Sequence[int]) -> list[str]:
    """Table lines of the existing section for cases not rerun now (same N columns only)."""
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    start, end = existing.find(BEGIN), existing.find(END)
    if start < 0 or end < start:
        return []
    header = "| case | statistic | theory | " + " | ".join(f"N={n}" for n in sizes)
    lines = existing[start:end].splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    if not starts:
        return []
    done = {(row.case, row.statistic) for row in rows}
    out = []
    # The accuracy table runs from its header (and separator) to the first non-table line.
    for line in lines[starts[0] + 2:]:
        if not line.startswith("| "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if (cells[0], cells[1]) not in done:
            out.append(line)
    return out


def merge_into(path: Path, section: str, begin: str = BEGIN, end_marker: str = END) -> str:
    """The file's text with the section between ``begin`` and ``end_marker`` replaced (or
    appended after KEEP_MARKER); the markers default to this script's."""
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{KEEP_MARKER}\n\n{section}"
    start, end = existing.find(begin), existing.find(end_marker)
    if start >= 0 and end > start:
        return existing[:start] + section + existing[end + len(end_marker) + 1:]
    if KEEP_MARKER not in existing:
        existing = existing.rstrip("\n") + f"\n\n{KEEP_MARKER}\n"
    return existing.rstrip("\n") + "\n\n" + section


def load_average() -> str:
    """The system's load average (1, 5, 15 min) as text, or "" where the platform has none:
    every benchmark section records it, since the times stretch on a busy machine."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):
        return ""


def write_atomically(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def run(config: Config, log: Callable[[str], None] = print) -> tuple[list[Row], list]:
    rows = []
    for case in all_cases():
        if config.cases and not any(key in f"{case.name} {case.statistic}"
                                    for key in config.cases):
            continue
        rows.append(run_case(case, config, log))
    timings = time_solvers(log) if config.timing else []
    return rows, timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--cases", nargs="+", help="substrings selecting cases")
    parser.add_argument("--quick", action="store_true", help="N = 200, 400, short runs")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--keep", action="store_true",
                        help="keep the existing table's rows of cases not run now")
    args = parser.parse_args(argv)
    config = quick_config() if args.quick else Config()
    if args.sizes:
        config.sizes = tuple(args.sizes)
    if args.seeds:
        config.seeds = args.seeds
    if args.cases:
        config.cases = tuple(args.cases)
    if args.no_timing:
        config.timing = False
    config.threads = max(1, args.threads)
    if any(n < 2 for n in config.sizes) or config.seeds < 1:
        parser.error("sizes must be >= 2 and seeds >= 1")
    # One torch thread by default: with two threads on a busy 2-core machine every operation
    # waits for the slower thread (10-100x slowdowns measured); accuracy does not depend on it.
    torch.set_num_threads(config.threads)
    start = time.perf_counter()
    rows, timings = run(config)
    kept = kept_rows(args.output, rows, config.sizes) if args.keep else []
    text = markdown(rows, timings, config, time.perf_counter() - start, kept)
    print(text)
    write_atomically(args.output, merge_into(args.output, text))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
