"""Figures of Clark & Beiran, "Structure of activity in multiregion recurrent neural networks"
(arXiv 2402.12188), theory curves over simulation points. One command per figure::

    python examples/multiregion/figures.py currents-amid-chaos  -o chaos.png
    python examples/multiregion/figures.py limit-cycle          -o cycle.png
    python examples/multiregion/figures.py transmission         -o transmission.png
    python examples/multiregion/figures.py polytope             -o polytope.png

Each takes well under a minute on two CPU cores (``--n`` sets the neurons per region).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from rnndyn.models import MultiRegionModel
from rnndyn.plot import save_figure
from rnndyn.simulate import Projection, simulate
from rnndyn.theory.multiregion import (
    estimate_period,
    find_current_limit_cycle,
    integrate_currents,
    solve_current_dynamics,
    symmetric_fixed_point_set,
    symmetric_interactions,
    transmission_threshold,
)


def _identity(r: int) -> np.ndarray:
    return np.stack([np.eye(r)] * r)


def _simulate_currents(model: MultiRegionModel, s0: np.ndarray, t_max: float, seed: int,
                       dt: float = 0.05):
    """Simulate from x^nu = sum_rho m^{nu rho} S0^{nu rho}; return time and H (T, R, R)."""
    network = model.network(seed=seed)
    conn = network.connectivity
    r = model.n_regions
    x0 = np.concatenate([sum(conn.couplings[(nu, rho)][0].ravel() * s0[nu, rho]
                             for rho in range(r)) for nu in range(r)])
    ds = simulate(network, t_max=t_max, dt=dt, x0=x0, record=[Projection.currents(conn)],
                  record_every=max(1, round(0.5 / dt)), seed=seed, progress=False)
    current = ds["current"].isel(trial=0)
    time = current[current.dims[0]].values
    out = np.zeros((time.size, r, r))
    for k in range(current.sizes["current_component"]):
        out[:, int(current["target_region"][k]), int(current["source_region"][k])] = (
            current[:, k].values)
    return time, out


def currents_amid_chaos(n: int) -> plt.Figure:
    """Two regions exchange currents while both are chaotic (g = 1.5): the currents converge
    to a fixed point amid chaotic fluctuations (two-time DMFT with currents vs simulation)."""
    t = np.zeros((2, 2, 2))
    t[0, 1, 0], t[1, 0, 1] = 3.2, 2.4
    g = np.array([1.5, 1.5])
    s0 = np.array([[0.0, 0.2], [0.1, 0.0]])
    theory = solve_current_dynamics(t, _identity(2), g, "erf", initial_currents=s0,
                                    t_max=60.0, dt=0.05)
    model = MultiRegionModel((n, n), tuple(g), t, _identity(2))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for seed in range(2):
        time, h = _simulate_currents(model, s0, 60.0, seed)
        for k, (mu, nu) in enumerate([(0, 1), (1, 0)]):
            ax.plot(time, h[:, mu, nu], ".", ms=2, color=f"C{k}", alpha=0.6,
                    label=f"simulation {mu} ← {nu}" if seed == 0 else None)
    for k, (mu, nu) in enumerate([(0, 1), (1, 0)]):
        ax.plot(theory.time, theory.drive[:, mu, nu], color=f"C{k}", lw=1.5,
                label=f"theory {mu} ← {nu}")
    ax.set_xlabel("time (τ)")
    ax.set_ylabel("current readout")
    ax.set_title(f"currents converge amid chaos (g = 1.5, N = {n} per region)")
    ax.legend(fontsize="small")
    return fig


def limit_cycle(n: int) -> plt.Figure:
    """Currents oscillate when the leading eigenvalue of T_hat is complex (1.6 +- 1.2i): the
    shooting solution of the mean-field currents over simulated readouts."""
    a, w = 1.6, 1.2
    t = np.zeros((2, 2, 2))
    # T_hat has a rotation block on the currents S^{00}, S^{01} fed by both regions.
    t[0, 0] = t[1, 0] = (a, w)
    t[0, 1] = t[1, 1] = (-w, a)
    cycle = find_current_limit_cycle(t, _identity(2))
    s0 = cycle.currents[0]
    model = MultiRegionModel((n, n), 0.0, t, _identity(2))
    time, h = _simulate_currents(model, s0, 80.0, seed=0)
    late = time > 20.0
    period = estimate_period(time[late], h[late].reshape(late.sum(), -1))
    theory = integrate_currents(t, _identity(2), s0, time)
    readout = np.gradient(theory.currents, time, axis=0) + theory.currents
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, (mu, nu) in enumerate([(0, 0), (0, 1)]):
        ax.plot(time, h[:, mu, nu], ".", ms=2, color=f"C{k}",
                label=f"simulation {mu} ← {nu}")
        ax.plot(time, readout[:, mu, nu], color=f"C{k}", lw=1.2, label=f"theory {mu} ← {nu}")
    ax.set_xlabel("time (τ)")
    ax.set_ylabel("current readout")
    ax.set_title(f"limit cycle: period {cycle.period:.2f} (theory), "
                 f"{period.period:.2f} ± {period.stderr:.2f} (N = {n})")
    ax.legend(fontsize="small", ncol=2)
    return fig


def transmission(n: int) -> plt.Figure:
    """Three routing regions; as region 0's disorder grows its chaos takes its variance
    budget: the currents it exchanges shrink and stop at g* (generator vs transmitter).
    Regions 1 and 2 have equal b, so once region 0 is silent they can exchange alone (two
    routing regions need equal variance budgets)."""
    b = np.array([3.0, 2.5, 2.5])
    g_star = float(transmission_threshold(b[0]))
    grid = np.linspace(0.0, g_star + 0.4, 40)
    theory = []
    for g0 in grid:
        points = symmetric_fixed_point_set(np.zeros(3), b, [g0, 0.0, 0.0])
        theory.append(np.abs(points.currents(points.vertices[0])))
    theory = np.array(theory)
    sims = []
    # Beyond g* the exchange decays slowly (rate 1 - sqrt(b0 psi0) -> 0 at g*), so the runs
    # are long and the median is taken over their second half.
    g_sim = [0.0, 1.0, 2.0, 2.6, 3.2]
    for g0 in g_sim:
        points = symmetric_fixed_point_set(np.zeros(3), b, [g0, 0.0, 0.0])
        model = MultiRegionModel((n,) * 3, (g0, 0.0, 0.0), points.interactions, _identity(3))
        s0 = 0.5 * np.ones((3, 3)) - 0.5 * np.eye(3)
        time, h = _simulate_currents(model, s0, 200.0, seed=0, dt=0.1)
        sims.append(np.median(np.abs(h[time > 100.0]), axis=0))
    sims = np.array(sims)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, (mu, nu) in enumerate([(1, 0), (0, 1), (1, 2)]):
        ax.plot(grid, theory[:, mu, nu], color=f"C{k}", label=f"theory |S^{mu}{nu}|")
        ax.plot(g_sim, sims[:, mu, nu], "o", color=f"C{k}", label=f"simulation (N = {n})")
    ax.axvline(g_star, color="gray", ls="--", lw=1, label="g* (ψ0 = 1/b)")
    ax.set_xlabel("disorder of region 0, g₀")
    ax.set_ylabel("|current|")
    ax.set_title("a region's chaos stops its transmission")
    ax.legend(fontsize="x-small", ncol=2)
    return fig


def polytope(n: int) -> plt.Figure:
    """The fixed points of five routing regions form a polytope; its number of vertices is
    set by the number f of fracture variables (42, 30, 20, 12, 6 for f = 0..4). Right: end
    points of the current dynamics from random starts, projected on two edge variables, lie
    inside the polytope's projection."""
    rng = np.random.default_rng(0)
    counts: Counter = Counter()
    for _ in range(300):
        b = np.sort(rng.uniform(1.0, 3.0, 5))
        points = symmetric_fixed_point_set(np.zeros(5), b)
        if points.feasible:
            counts[(points.n_fracture, points.n_vertices)] += 1
    b = np.array([1.3, 1.7, 2.0, 2.4, 2.9])
    points = symmetric_fixed_point_set(np.zeros(5), b)
    ends = []
    for _ in range(40):
        path = integrate_currents(symmetric_interactions(np.zeros(5), b), _identity(5),
                                  rng.normal(scale=2.0, size=(5, 5)), [0.0, 300.0])
        ends.append(points.edge_variables(path.currents[-1]))
    ends = np.array(ends)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for (f, vertices), count in sorted(counts.items()):
        left.scatter(vertices, f, s=10 + count, color="C0")
    left.set_xlabel("number of vertices")
    left.set_ylabel("fracture variables f")
    left.set_title("R = 5, b ~ U(1, 3): vertices vs f")
    i, j = 0, 9  # edges (0, 1) and (3, 4)
    right.scatter(points.vertices[:, i], points.vertices[:, j], color="k", s=12,
                  label="polytope vertices")
    right.scatter(ends[:, i], ends[:, j], color="C1", s=8, label="dynamics end points")
    right.set_xlabel(f"x on edge {tuple(int(k) for k in points.edges[i])}")
    right.set_ylabel(f"x on edge {tuple(int(k) for k in points.edges[j])}")
    right.set_title(f"{points.n_vertices} vertices, f = {points.n_fracture}")
    right.legend(fontsize="small")
    fig.tight_layout()
    return fig


FIGURES = {
    "currents-amid-chaos": currents_amid_chaos,
    "limit-cycle": limit_cycle,
    "transmission": transmission,
    "polytope": polytope,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", choices=sorted(FIGURES))
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--n", type=int, default=1500, help="neurons per region")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.n < 10:
        parser.error("--n must be at least 10")
    torch.set_num_threads(args.threads)
    fig = FIGURES[args.figure](args.n)
    save_figure(fig, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
