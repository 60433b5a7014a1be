"""Analysis of rate networks: any `Network` or `DiscreteNetwork`, or recorded activity.

Modules
-------
fixed_points
    Fixed and slow points (batched minimisation of |F|^2 / 2, Newton polish, deduplication,
    stability), and the exact latent-space search of low-rank networks.
linear
    Jacobians (closed form and autograd), connectivity and Jacobian spectra with the
    circular-law bulk and low-rank outliers, stability classification.
lyapunov
    Tangent-space (Benettin/QR) Lyapunov exponents with block confidence intervals, the
    Kaplan-Yorke dimension and the entropy rate.
dimension
    Participation ratio, PCA spectra, and the dimension predicted by the fixed-connectivity
    theory.
memory
    Jaeger's memory capacity (held-out and shuffled-input null), memory functions, the exact
    memory of linear networks, controllability rank.
covariance
    Covariance matrices from recorded activity (with block splits that measure their own
    sampling noise) and entry-by-entry agreement between a predicted and a measured matrix.
linear_response
    Mean response to weak pulses along a network's own trajectory (finite differences over
    batched copies).
synchronization
    Generalized synchronization of driven networks (auxiliary-system test, conditional
    Lyapunov exponent), Lorenz/Rossler drivers, invertible GS (Lu & Bassett 2020).
attractor
    Correlation dimension (Grassberger-Procaccia) and power spectra of trajectories.
graph
    Network measures of a weight matrix (seRNN, Achterberg et al. 2023): Louvain modularity,
    small-worldness against rewired or shuffled nulls, weighted communicability (numpy or
    differentiable torch), wiring cost and weight-distance relation on a spatial embedding.
"""

from __future__ import annotations

from rnndyn.analysis.attractor import (
    CorrelationDimensionResult,
    correlation_dimension,
    power_spectrum,
)
from rnndyn.analysis.covariance import (
    MatrixAgreement,
    covariance_from_samples,
    matrix_agreement,
)
from rnndyn.analysis.dimension import (
    PCASpectrum,
    n_components,
    participation_ratio,
    pca_spectrum,
    theory_dimension,
)
from rnndyn.analysis.fixed_points import (
    FixedPoints,
    find_fixed_points,
    find_fixed_points_latent,
    sample_initial_states,
)
from rnndyn.analysis.graph import (
    ModularityResult,
    SmallWorldResult,
    WeightDistance,
    communicability,
    distance_matrix,
    grid_coordinates,
    modularity,
    small_worldness,
    weight_distance,
    wiring_cost,
)
from rnndyn.analysis.linear import (
    Spectrum,
    classify_stability,
    connectivity_spectrum,
    jacobian,
    jacobian_spectrum,
)
from rnndyn.analysis.linear_response import ResponseEstimate, measure_response
from rnndyn.analysis.lyapunov import LyapunovResult, lyapunov_spectrum
from rnndyn.analysis.memory import (
    MemoryCapacityResult,
    controllability_rank,
    linear_memory_function,
    memory_capacity,
    network_memory_capacity,
)
from rnndyn.analysis.synchronization import (
    AuxiliaryTestResult,
    DriverTrajectory,
    InvertibleGSResult,
    auxiliary_system_test,
    conditional_lyapunov_exponent,
    driver_lyapunov_exponents,
    driver_trajectory,
    invertible_gs_test,
    reservoir_network,
)

__all__ = [
    "AuxiliaryTestResult",
    "CorrelationDimensionResult",
    "DriverTrajectory",
    "FixedPoints",
    "InvertibleGSResult",
    "LyapunovResult",
    "MatrixAgreement",
    "MemoryCapacityResult",
    "ModularityResult",
    "PCASpectrum",
    "ResponseEstimate",
    "SmallWorldResult",
    "Spectrum",
    "WeightDistance",
    "auxiliary_system_test",
    "classify_stability",
    "communicability",
    "conditional_lyapunov_exponent",
    "connectivity_spectrum",
    "controllability_rank",
    "correlation_dimension",
    "covariance_from_samples",
    "distance_matrix",
    "driver_lyapunov_exponents",
    "driver_trajectory",
    "find_fixed_points",
    "find_fixed_points_latent",
    "grid_coordinates",
    "invertible_gs_test",
    "jacobian",
    "jacobian_spectrum",
    "linear_memory_function",
    "lyapunov_spectrum",
    "matrix_agreement",
    "measure_response",
    "memory_capacity",
    "modularity",
    "n_components",
    "network_memory_capacity",
    "participation_ratio",
    "pca_spectrum",
    "power_spectrum",
    "reservoir_network",
    "sample_initial_states",
    "small_worldness",
    "theory_dimension",
    "weight_distance",
    "wiring_cost",
]
