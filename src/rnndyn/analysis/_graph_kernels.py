"""Array kernels behind `rnndyn.analysis.graph`: binarisation, clustering, path length, nulls.

Everything here works on plain float64 arrays that the public functions have already checked.
Graphs are undirected: a symmetric (N, N) matrix with a zero diagonal, 0 meaning "no edge".
Null networks are drawn in batches, (B, N, N), so that B nulls cost a few vectorised passes
rather than B Python loops.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

# Nulls are scored in chunks of this many graphs: (chunk, N, N) float64 stays ~20 MB at N = 300.
_CHUNK = 32
# Random draws for the swap attempts are made this many steps at a time.
_STEPS = 4096


def top_mask(absw: np.ndarray, density: float | None, rng: np.random.Generator) -> np.ndarray:
    """Directed boolean mask of the strongest off-diagonal entries of ``absw``.

    ``density=None`` keeps every nonzero off-diagonal entry. Otherwise the
    ``round(density * N (N - 1))`` largest entries are kept (never a zero entry), ties at the
    threshold broken at random with ``rng`` so that the count is exact.
    """
    n = absw.shape[0]
    off = ~np.eye(n, dtype=bool)
    values = absw[off]
    if density is None:
        keep = values > 0
    else:
        k = min(round(density * n * (n - 1)), int(np.count_nonzero(values)))
        order = rng.permutation(values.size)
        ranked = order[np.argsort(-values[order], kind="stable")]
        keep = np.zeros(values.size, dtype=bool)
        keep[ranked[:k]] = True
    mask = np.zeros((n, n), dtype=bool)
    mask[off] = keep
    return mask


def mean_clustering(graphs: np.ndarray, weighted: bool, scale: float = 1.0) -> np.ndarray:
    """Mean local clustering coefficient of each graph of a (B, N, N) stack.

    Binary: ``C_i = (A^3)_ii / (k_i (k_i - 1))``. Weighted (Onnela et al. 2005, BCT
    ``clustering_coef_wu``): ``C_i = (T^3)_ii / (k_i (k_i - 1))`` with
    ``T = (W / scale)^(1/3)`` and ``k_i`` the binary degree. Nodes with ``k_i < 2`` count as 0.
    """
    degree = np.count_nonzero(graphs, axis=-1)
    t = np.cbrt(graphs / scale) if weighted else (graphs != 0).astype(np.float64)
    # (T^3)_ii = sum_j (T^2)_ij T_ji, and T is symmetric.
    triangles = np.einsum("bij,bij->bi", t @ t, t)
    pairs = degree * (degree - 1)
    local = np.divide(triangles, pairs, out=np.zeros_like(triangles), where=pairs > 0)
    return local.mean(axis=-1)


def _hop_distances(graphs: np.ndarray) -> np.ndarray:
    """Hop-count distances of a (B, N, N) stack of binary graphs (inf: unreachable).

    Breadth-first search from all sources of all graphs at once: the frontier at distance k
    is the set reached by one more step, ``(frontier @ A) > 0``, less what was reached before.
    """
    n = graphs.shape[-1]
    adj = (graphs != 0).astype(np.float32)
    reached = np.broadcast_to(np.eye(n, dtype=bool), graphs.shape).copy()
    dist = np.where(reached, 0.0, np.inf)
    frontier = reached.astype(np.float32)
    for hops in range(1, n):
        new = ((frontier @ adj) > 0) & ~reached
        if not new.any():
            break
        dist[new] = hops
        reached |= new
        frontier = new.astype(np.float32)
    return dist


def path_lengths(graphs: np.ndarray, weighted: bool, kind: str) -> np.ndarray:
    """Characteristic path length of each undirected graph of a (B, N, N) stack.

    Distances are hop counts (binary) or sums of ``1 / w`` along a path (weighted, Dijkstra).
    ``kind="harmonic"``: ``L = 1 / E`` with the global efficiency
    ``E = mean_{i != j} 1 / d_ij`` (``1 / inf = 0``), finite unless the graph has no edge.
    ``kind="mean"``: the mean of the finite ``d_ij``, ``i != j`` (disconnected pairs left out).
    """
    n = graphs.shape[-1]
    if weighted:
        lengths = np.divide(1.0, graphs, out=np.zeros_like(graphs), where=graphs > 0)
        dist = np.stack([shortest_path(csr_matrix(g), method="D", directed=False)
                         for g in lengths])
    else:
        dist = np.concatenate([_hop_distances(graphs[i:i + _CHUNK])
                               for i in range(0, graphs.shape[0], _CHUNK)])
    d = dist[:, ~np.eye(n, dtype=bool)]
    if kind == "harmonic":
        efficiency = np.mean(1.0 / d, axis=1)
        return np.divide(1.0, efficiency, out=np.full(efficiency.shape, np.inf),
                         where=efficiency > 0)
    finite = np.isfinite(d)
    total = np.where(finite, d, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def shuffle_nulls(graph: np.ndarray, n_null: int, rng: np.random.Generator) -> np.ndarray:
    """(B, N, N) graphs whose node pairs carry a random permutation of ``graph``'s pair values.

    A binary graph becomes an Erdos-Renyi G(N, m) graph with the same number of edges; a
    weighted one keeps its exact weight distribution (zeros included) on random node pairs.
    """
    n = graph.shape[0]
    iu, ju = np.triu_indices(n, 1)
    values = rng.permuted(np.broadcast_to(graph[iu, ju], (n_null, iu.size)), axis=1)
    nulls = np.zeros((n_null, n, n))
    nulls[:, iu, ju] = values
    return nulls + nulls.transpose(0, 2, 1)


def rewire_nulls(
    graph: np.ndarray, n_null: int, swaps_per_edge: int, rng: np.random.Generator
) -> np.ndarray:
    """(B, N, N) degree-preserving randomisations (Maslov & Sneppen 2002, BCT ``randmio_und``).

    Each null starts from ``graph`` and attempts ``swaps_per_edge * m`` double-edge swaps
    ``(a-b, c-d) -> (a-d, c-b)``, rejected when they would create a self-loop or a multiple
    edge. Every node keeps its degree; edge weights travel with their edges, so a weighted
    graph also keeps its weight distribution (not its node strengths). The B chains run side
    by side, one vectorised step per swap attempt.
    """
    n = graph.shape[0]
    iu, ju = np.nonzero(np.triu(graph, 1))
    m = iu.size
    # ends[r, 0, e], ends[r, 1, e]: the two nodes of edge slot e of null r, flattened.
    ends = np.tile(np.stack([iu, ju]), (n_null, 1, 1)).ravel()
    if m >= 2:
        adj = np.zeros(n_null * n * n, dtype=bool)  # (r, x, y) at r n^2 + x n + y
        base = (np.arange(n_null) * n * n)[:, None]
        adj[(base + iu * n + ju).ravel()] = True
        adj[(base + ju * n + iu).ravel()] = True
        base = base[:, 0]
        slot = np.arange(n_null) * 2 * m
        for start in range(0, swaps_per_edge * m, _STEPS):
            steps = min(_STEPS, swaps_per_edge * m - start)
            e1 = slot + rng.integers(0, m, size=(steps, n_null))
            e2 = slot + rng.integers(0, m, size=(steps, n_null))
            side = rng.integers(0, 2, size=(steps, n_null)) * m  # orientation of edge 2
            for ia, ic, s in zip(e1, e2, side, strict=True):
                ib, ic, id_ = ia + m, ic + s, ic + m - s
                a, b, c, d = ends[ia], ends[ib], ends[ic], ends[id_]
                ad, cb = base + a * n + d, base + c * n + b
                ok = (a != d) & (c != b) & ~adj[ad] & ~adj[cb]
                if not ok.any():
                    continue
                a, b, c, d, o = a[ok], b[ok], c[ok], d[ok], base[ok]
                adj[np.concatenate([o + a * n + b, o + b * n + a,
                                    o + c * n + d, o + d * n + c])] = False
                adj[np.concatenate([ad[ok], o + d * n + a, cb[ok], o + b * n + c])] = True
                ends[ib[ok]] = d  # edge slot 1: a-b -> a-d
                ends[id_[ok]] = b  # edge slot 2: c-d -> c-b
    ends = ends.reshape(n_null, 2, m)
    rows = np.arange(n_null)[:, None]
    nulls = np.zeros((n_null, n, n))
    nulls[rows, ends[:, 0], ends[:, 1]] = graph[iu, ju]
    nulls[rows, ends[:, 1], ends[:, 0]] = graph[iu, ju]
    return nulls


def null_statistics(
    nulls: np.ndarray, weighted: bool, scale: float, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Mean clustering and path length of each graph of a (B, N, N) stack."""
    clustering = np.concatenate([mean_clustering(nulls[i:i + _CHUNK], weighted, scale)
                                 for i in range(0, nulls.shape[0], _CHUNK)])
    lengths = path_lengths(nulls, weighted, kind)
    return clustering, lengths
