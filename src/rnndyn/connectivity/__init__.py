"""Connectivity matrices J for recurrent networks, as linear operators on batches of states.

Every builder returns a `Connectivity`: ``conn.apply(x)`` computes ``x @ J.T`` on the device and
in the dtype of ``x`` without forming J when J is structured (low rank, sparse, multi-region);
``conn.to_dense()`` gives J as float64; ``conn.eigvals(k)`` uses ARPACK on the structured
operator; ``conn.describe()`` is a JSON-ready summary. Random builders take
``seed: int | numpy.random.Generator | None`` and draw with ``numpy.random.default_rng``, so
the same seed gives the same matrix on every device.

Builders
--------
dense(matrix)                          user-given matrix
gaussian(n, g, mean, seed)             J_ij ~ N(mean/n, g^2/n)
low_rank(m, n_vecs)                    J = M N^T / N
random_low_rank(n, rank, ...)          Gaussian loading vectors
multiregion(sizes, gains, couplings)   random blocks within regions + low-rank couplings
sparse(n, p, g, seed)                  Bernoulli(p) mask, N(0, g^2/(n p)) weights
dale(n, frac_excitatory, ...)          excitatory/inhibitory columns (Rajan & Abbott 2006)
spatial_grid(shape, spacing)           neuron positions and distances on a 3D grid
sum / sum_connectivities(*conns)       J_1 + J_2 + ... (also ``conn_1 + conn_2``)
"""

from rnndyn.connectivity.base import Connectivity
from rnndyn.connectivity.composite import SumConnectivity, sum_connectivities
from rnndyn.connectivity.dales_law import DaleConnectivity, dale
from rnndyn.connectivity.dense_matrix import DenseConnectivity, dense
from rnndyn.connectivity.gaussian import gaussian
from rnndyn.connectivity.lowrank import LowRankConnectivity, low_rank, random_low_rank
from rnndyn.connectivity.regions import MultiRegionConnectivity, multiregion
from rnndyn.connectivity.sparse_random import SparseConnectivity, sparse
from rnndyn.connectivity.spatial import SpatialGrid, spatial_grid

# `rnndyn.connectivity.sum(a, b)` reads naturally; it shadows the builtin only in this namespace.
sum = sum_connectivities

__all__ = [
    "Connectivity",
    "DaleConnectivity",
    "DenseConnectivity",
    "LowRankConnectivity",
    "MultiRegionConnectivity",
    "SparseConnectivity",
    "SpatialGrid",
    "SumConnectivity",
    "dale",
    "dense",
    "gaussian",
    "low_rank",
    "multiregion",
    "random_low_rank",
    "sparse",
    "spatial_grid",
    "sum",
    "sum_connectivities",
]
