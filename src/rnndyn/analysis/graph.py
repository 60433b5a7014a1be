"""Network measures of a connectivity matrix: modularity, small-worldness, communicability, space.

What the spatially embedded RNN (seRNN; Achterberg, Akarca et al. 2023, Nature Machine
Intelligence 5, 1369) measures on trained recurrent weights, to compare spatially regularised
with L1-regularised networks at matched sparsity. See ``docs/analysis_graph.md``.

Conventions, for every function: ``W[i, j]`` is the weight from neuron j to neuron i (the
rnndyn convention; Keras and the seRNN code store the transpose). Only ``|W|`` is used: an
inhibitory connection is as much a connection as an excitatory one. Self-connections
(the diagonal) are dropped from the graph measures. Modularity and small-worldness are
computed on the undirected graph ``S = (|W| + |W|^T) / 2`` (binarised graphs: an edge where
either direction was kept); communicability keeps the direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rnndyn._validation import check_choice, check_int, check_number
from rnndyn.analysis import _graph_kernels as kernels
from rnndyn.analysis._graph_communicability import communicability
from rnndyn.analysis._graph_spatial import (
    WeightDistance,
    as_weight_array,
    distance_matrix,
    grid_coordinates,
    weight_distance,
    wiring_cost,
)
from rnndyn.connectivity._random import resolve_seed

__all__ = [
    "ModularityResult",
    "SmallWorldResult",
    "WeightDistance",
    "communicability",
    "distance_matrix",
    "grid_coordinates",
    "modularity",
    "small_worldness",
    "weight_distance",
    "wiring_cost",
]


def _undirected(
    W: Any, density: float | None, rng: np.random.Generator, binary: bool
) -> np.ndarray:
    """``S = (|W| + |W|^T) / 2`` off the diagonal, restricted to the top-``density`` pairs.

    A pair is kept where either direction is among the strongest ``density`` of the
    off-diagonal ``|W_ij|`` (every pair when ``density`` is None); ``binary`` returns 0/1.
    """
    absw = np.abs(as_weight_array(W))
    np.fill_diagonal(absw, 0.0)
    S = 0.5 * (absw + absw.T)
    if density is not None:
        mask = kernels.top_mask(absw, density, rng)
        S = np.where(mask | mask.T, S, 0.0)
    return (S > 0).astype(np.float64) if binary else S


def _check_density(density: Any) -> float | None:
    if density is None:
        return None
    return check_number("density", density, low=0.0, high=1.0, low_inclusive=False)


@dataclass(frozen=True)
class ModularityResult:
    """The best partition found and its modularity.

    Attributes
    ----------
    Q : float
        Modularity of the partition (the largest over the Louvain repeats).
    labels : ndarray (N,) int
        Community of each neuron, numbered 0, 1, ... in order of each community's first neuron.
    Q_repeats : ndarray (n_repeats,)
        Q of every repeat, to judge how reliably Louvain finds the optimum.
    resolution : float
    density : float or None
        The binarisation density used (None: weighted graph).
    """

    Q: float
    labels: np.ndarray
    Q_repeats: np.ndarray
    resolution: float
    density: float | None

    @property
    def communities(self) -> list[np.ndarray]:
        """The neurons of each community, in label order."""
        return [np.flatnonzero(self.labels == c) for c in range(self.n_communities)]

    @property
    def n_communities(self) -> int:
        """Number of communities."""
        return int(self.labels.max()) + 1


def _q(S: np.ndarray, labels: np.ndarray, resolution: float) -> float:
    """``Q = (1 / 2m) sum_ij (S_ij - gamma k_i k_j / 2m) delta(c_i, c_j)``."""
    k = S.sum(axis=1)
    two_m = k.sum()
    onehot = (labels[:, None] == np.arange(labels.max() + 1)).astype(np.float64)
    within = np.trace(onehot.T @ S @ onehot)
    return float((within - resolution * np.sum((onehot.T @ k) ** 2) / two_m) / two_m)


def modularity(
    W: Any,
    *,
    resolution: float = 1.0,
    density: float | None = None,
    n_repeats: int = 10,
    seed: int | np.random.Generator | None = None,
) -> ModularityResult:
    """Community structure by Louvain (networkx), best of ``n_repeats`` seeded runs.

    On ``S = (|W| + |W|^T) / 2`` with a zero diagonal (or, with ``density``, on its binarised
    top-density graph), Newman's modularity of a partition c is

        Q = (1 / 2m) sum_ij [S_ij - gamma k_i k_j / (2m)] delta(c_i, c_j),
        k_i = sum_j S_ij,   2m = sum_ij S_ij,

    as in the Brain Connectivity Toolbox (``community_louvain`` / ``modularity_und``, which
    the seRNN analysis uses). Louvain is a greedy heuristic with random node order: each
    repeat gets its own seed and the partition of largest Q is returned.

    Parameters
    ----------
    W : array or Tensor (N, N)
        Weights, ``W[i, j]`` from j to i; sign and direction are discarded as above.
    resolution : float > 0
        gamma; > 1 favours smaller communities.
    density : float in (0, 1] or None
        None: weighted graph S. A number: keep the ``round(density N (N - 1))`` strongest
        off-diagonal ``|W_ij|`` (the seRNN demo uses the top 10 %), then an undirected edge
        where either direction was kept.
    n_repeats : int >= 1
    seed : int, numpy Generator or None
        Seeds the Louvain runs (and the tie-breaking of the binarisation).

    Returns
    -------
    ModularityResult

    Raises
    ------
    ValueError
        If W is not a finite square matrix or has no nonzero off-diagonal entry, or a
        parameter is out of range (the message names it).
    """
    import networkx as nx

    resolution = check_number("resolution", resolution, low=0.0, low_inclusive=False)
    density = _check_density(density)
    n_repeats = check_int("n_repeats", n_repeats)
    rng, _ = resolve_seed(seed)
    S = _undirected(W, density, rng, binary=density is not None)
    if not np.any(S):
        raise ValueError("W must have at least one nonzero off-diagonal entry")
    graph = nx.from_numpy_array(S)
    best_q, best, qs = -np.inf, np.zeros(0, dtype=int), []
    for run_seed in rng.integers(0, 2**31 - 1, size=n_repeats):
        parts = nx.community.louvain_communities(
            graph, weight="weight", resolution=resolution, seed=int(run_seed))
        labels = np.empty(S.shape[0], dtype=int)
        for index, part in enumerate(sorted(parts, key=min)):
            labels[list(part)] = index
        qs.append(_q(S, labels, resolution))
        if qs[-1] > best_q:
            best_q, best = qs[-1], labels
    return ModularityResult(Q=float(best_q), labels=best, Q_repeats=np.array(qs),
                            resolution=resolution, density=density)


@dataclass(frozen=True)
class SmallWorldResult:
    """Small-worldness sigma = (C / C_null) / (L / L_null) and its parts.

    Attributes
    ----------
    sigma : float
        NaN when ``C_null`` is 0 (null graphs without triangles).
    C, L : float
        Mean clustering coefficient and characteristic path length of the analysed graph.
    C_null, L_null : float
        Their means over the null networks (``L_null`` over the finite values).
    C_null_samples, L_null_samples : ndarray (n_null,)
    null : str
        "rewire" (degree-preserving) or "shuffle" (pair values permuted).
    weighted : bool
    density : float
        Edge density of the undirected graph analysed, ``n_edges / (N (N - 1) / 2)``.
    n_edges : int
    graph : ndarray (N, N)
        The symmetric graph analysed (0/1, or the weights S).
    """

    sigma: float
    C: float
    L: float
    C_null: float
    L_null: float
    C_null_samples: np.ndarray
    L_null_samples: np.ndarray
    null: str
    weighted: bool
    density: float
    n_edges: int
    graph: np.ndarray

    @property
    def gamma(self) -> float:
        """Normalised clustering ``C / C_null``."""
        return self.C / self.C_null if self.C_null > 0 else float("nan")

    @property
    def lam(self) -> float:
        """Normalised path length ``L / L_null``."""
        return self.L / self.L_null


def small_worldness(
    W: Any,
    *,
    density: float | None = 0.1,
    weighted: bool = False,
    null: Literal["rewire", "shuffle"] | None = None,
    n_null: int = 100,
    swaps_per_edge: int = 5,
    path_length: Literal["harmonic", "mean"] = "harmonic",
    seed: int | np.random.Generator | None = None,
) -> SmallWorldResult:
    """Small-worldness of the graph of ``|W|`` against matched null networks.

        sigma = (C / C_null) / (L / L_null)          (Humphries & Gurney 2008)

    The graph: keep the ``round(density N (N - 1))`` strongest off-diagonal ``|W_ij|`` (seRNN:
    top 10 %; ``density=None`` keeps every nonzero entry); an undirected edge joins i and j
    where either direction was kept. Binary (default, as seRNN) or, with ``weighted``, the
    edges carry ``S_ij = (|W_ij| + |W_ji|) / 2``.

    - C: mean over nodes of the local clustering ``C_i = t_i / (k_i (k_i - 1))`` with
      ``t_i = (A^3)_ii`` (binary) or ``((S / max S)^(1/3))^3_ii`` (weighted, Onnela et al.
      2005, BCT ``clustering_coef_wu``); nodes of degree < 2 count as 0.
    - L: from shortest-path distances d_ij (hops, or sums of 1 / S along the path). Default
      ``"harmonic"``: ``L = 1 / E``, ``E = mean_{i != j} 1 / d_ij`` the global efficiency,
      finite on disconnected graphs (seRNN uses E). ``"mean"``: mean of the finite d_ij.
    - Nulls: ``"rewire"``, Maslov-Sneppen double-edge swaps (``swaps_per_edge`` per edge;
      same degree sequence, weights carried by their edges); ``"shuffle"``, the values of all
      node pairs permuted (binary: Erdos-Renyi G(N, m), the seRNN null; weighted: same weight
      distribution). ``None`` picks "rewire" for binary and "shuffle" for weighted graphs.

    Parameters
    ----------
    W : array or Tensor (N, N)
        Weights, ``W[i, j]`` from j to i.
    density : float in (0, 1] or None
    weighted : bool
    null : "rewire", "shuffle" or None
    n_null : int >= 1
        Null networks, drawn and scored vectorised (N = 100, 100 rewired nulls: ~0.5 s CPU;
        N = 300: ~5 s).
    swaps_per_edge : int >= 1
    path_length : "harmonic" or "mean"
    seed : int, numpy Generator or None
        Seeds the nulls and the tie-breaking of the binarisation.

    Returns
    -------
    SmallWorldResult

    Raises
    ------
    ValueError
        If W is not a finite square matrix, the graph has no edge, or a parameter is out of
        range (negative or > 1 density, ...), naming the parameter.
    """
    density = _check_density(density)
    null = check_choice("null", null, ("rewire", "shuffle", None))
    null = null or ("shuffle" if weighted else "rewire")
    path_length = check_choice("path_length", path_length, ("harmonic", "mean"))
    n_null = check_int("n_null", n_null)
    swaps_per_edge = check_int("swaps_per_edge", swaps_per_edge)
    rng, _ = resolve_seed(seed)
    graph = _undirected(W, density, rng, binary=not weighted)
    n = graph.shape[0]
    n_edges = int(np.count_nonzero(np.triu(graph, 1)))
    if n_edges == 0:
        raise ValueError("W must give a graph with at least one edge (all |W_ij| are 0)")
    scale = float(graph.max())
    c = float(kernels.mean_clustering(graph[None], weighted, scale)[0])
    ell = float(kernels.path_lengths(graph[None], weighted, path_length)[0])
    if null == "rewire":
        nulls = kernels.rewire_nulls(graph, n_null, swaps_per_edge, rng)
    else:
        nulls = kernels.shuffle_nulls(graph, n_null, rng)
    c_null, l_null = kernels.null_statistics(nulls, weighted, scale, path_length)
    c_mean = float(c_null.mean())
    finite = l_null[np.isfinite(l_null)]
    l_mean = float(finite.mean()) if finite.size else float("nan")
    sigma = (c / c_mean) / (ell / l_mean) if c_mean > 0 else float("nan")
    return SmallWorldResult(
        sigma=float(sigma), C=c, L=ell, C_null=c_mean, L_null=l_mean, C_null_samples=c_null,
        L_null_samples=l_null, null=null, weighted=weighted,
        density=n_edges / (n * (n - 1) / 2) if n > 1 else 0.0, n_edges=n_edges, graph=graph)
