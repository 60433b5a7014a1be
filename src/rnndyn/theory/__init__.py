"""Mean-field theory of rate networks: pure functions of parameters (NumPy/SciPy, no torch).

Submodules
----------
gaussian
    Gaussian averages of nonlinearities (the building block of every mean-field equation).
dmft
    Stationary DMFT of random networks: variance, autocorrelation, Lyapunov exponent, critical
    gain (`solve_random_network`, `critical_gain`).
two_time
    Time-dependent (two-time) DMFT of several populations from a given initial distribution
    (`solve_two_time`).
lowrank
    Low-rank mean-field theory: latent dynamics with Gaussian, mixture, Monte Carlo and exact
    finite-N backends; fixed points, limit cycles, structured chaos, phase diagram.
multiregion
    Multiregion networks (Clark & Beiran 2024): currents amid chaos, their two-time DMFT,
    fixed points, limit cycles, routing and phase diagrams (docs/theory/multiregion.md).
fixed_connectivity
    One given chaotic network: covariances and linear response of its linear-equivalent
    network (Shen & Hu; Clark 2026; Wakhloo 2026), docs/theory/fixed_connectivity.md.

See ``docs/theory.md`` for the conventions and decisions.
"""

from __future__ import annotations

from rnndyn.theory import dmft, fixed_connectivity, gaussian, lowrank, multiregion, two_time
from rnndyn.theory.dmft import RandomNetworkSolution, critical_gain, solve_random_network
from rnndyn.theory.gaussian import (
    activity_correlation,
    gaussian_expectation,
    gaussian_pair_expectation,
    mean_activity,
)
from rnndyn.theory.lowrank import (
    FiniteLatentDynamics,
    GaussianLatentDynamics,
    LatentDynamics,
    MixtureLatentDynamics,
    SampledLatentDynamics,
    find_fixed_points,
    find_limit_cycle,
    phase_diagram_rank_one,
    solve_chaotic,
    solve_fixed_point,
)
from rnndyn.theory.two_time import TwoTimeSolution, solve_two_time

__all__ = [
    "FiniteLatentDynamics",
    "GaussianLatentDynamics",
    "LatentDynamics",
    "MixtureLatentDynamics",
    "RandomNetworkSolution",
    "SampledLatentDynamics",
    "TwoTimeSolution",
    "activity_correlation",
    "critical_gain",
    "dmft",
    "find_fixed_points",
    "find_limit_cycle",
    "fixed_connectivity",
    "gaussian",
    "gaussian_expectation",
    "gaussian_pair_expectation",
    "lowrank",
    "mean_activity",
    "multiregion",
    "phase_diagram_rank_one",
    "solve_chaotic",
    "solve_fixed_point",
    "solve_random_network",
    "solve_two_time",
    "two_time",
]
