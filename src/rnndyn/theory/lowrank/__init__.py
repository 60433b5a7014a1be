"""Mean-field theory of low-rank recurrent networks (NumPy/SciPy only).

Network ``dx/dt = -x + (g chi + M N^T / N) phi(x) + I u(t)`` (Mastrogiuseppe & Ostojic 2018,
Neuron 99:609; Beiran, Dubreuil, Valente, Mastrogiuseppe & Ostojic 2021, Neural Comput.
33:1572; Dubreuil, Valente, Beiran, Mastrogiuseppe & Ostojic 2022, Nat. Neurosci. 25:783).

Latent dynamics ``dkappa/dt = -kappa + F(kappa, v)`` (`LatentDynamics`), with backends

- `GaussianLatentDynamics`  jointly Gaussian loadings, closed form by Stein's lemma;
- `MixtureLatentDynamics`   Gaussian mixtures (populations);
- `SampledLatentDynamics`   Monte Carlo over loading samples (e.g. from a learned density);
- `FiniteLatentDynamics`    exact reduction of a given finite network without bulk.

Analysis

- `find_fixed_points` / `solve_fixed_point`: fixed points and stability (latent Jacobian; with
  a random bulk ``g > 0`` the static mean-field solutions ``(kappa, delta0)``, their collective
  eigenvalues and the bulk edge ``g sqrt(<phi'^2>)``);
- `find_limit_cycle`: periodic orbits by shooting, with Floquet multipliers;
- `solve_chaotic`: structure on a chaotic bulk (DMFT inside an outer loop on ``kappa``);
- `phase_diagram_rank_one`: regions in ``(g, sigma_mn)``.

Convention: ``Sigma_nm[r, s] = Cov(n_r, m_s)``; loadings are ordered ``(m_1..m_R, n_1..n_R,
I_1..I_K)``.
"""

from __future__ import annotations

from rnndyn.theory.lowrank.backends import (
    FiniteLatentDynamics,
    GaussianLatentDynamics,
    MixtureLatentDynamics,
    SampledLatentDynamics,
)
from rnndyn.theory.lowrank.bulk import (
    PHASE_LABELS,
    ChaoticSolution,
    PhaseDiagram,
    phase_diagram_rank_one,
    solve_chaotic,
)
from rnndyn.theory.lowrank.cycles import LimitCycle, find_limit_cycle
from rnndyn.theory.lowrank.dynamics import (
    LatentDynamics,
    LatentTrajectory,
    PopulationAverages,
    split_loadings,
)
from rnndyn.theory.lowrank.fixed_points import (
    FixedPoint,
    FixedPointSet,
    find_fixed_points,
    solve_fixed_point,
)

__all__ = [
    "PHASE_LABELS",
    "ChaoticSolution",
    "FiniteLatentDynamics",
    "FixedPoint",
    "FixedPointSet",
    "GaussianLatentDynamics",
    "LatentDynamics",
    "LatentTrajectory",
    "LimitCycle",
    "MixtureLatentDynamics",
    "PhaseDiagram",
    "PopulationAverages",
    "SampledLatentDynamics",
    "find_fixed_points",
    "find_limit_cycle",
    "phase_diagram_rank_one",
    "solve_chaotic",
    "solve_fixed_point",
    "split_loadings",
]
