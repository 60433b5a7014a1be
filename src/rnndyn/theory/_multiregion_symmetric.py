"""Symmetric effective interactions: routing, self-sustained currents and the polytope of
fixed points (Clark & Beiran, arXiv 2402.12188, section "Symmetric effective interactions").

With ``T[mu, nu, rho] = delta(mu, rho) c[mu, nu]`` (c symmetric) the current that region nu
sends to mu is fed only by the current mu sends back to nu, and the stationary equations split
into self-loops and exchange pairs::

    S^{mu mu} = psi^mu a_mu S^{mu mu}                       (a_mu = c[mu, mu])
    S^{mu nu} = psi^nu c[mu, nu] S^{nu mu},   S^{nu mu} = psi^mu c[mu, nu] S^{mu nu}

We take the off-diagonal part of rank one in magnitude, ``c[mu, nu] = e_mu e_nu sqrt(b_mu b_nu)``
(signs e = +-1), the family of the paper (``c = u u^T + diag(a - b)``, ``u_mu = e_mu sqrt(b_mu)``).
Write ``p_mu = psi^mu b_mu`` (routing loop gain) and ``q_mu = psi^mu a_mu`` (self loop gain).
A self-current needs q_mu = 1; an exchange needs p_mu p_nu = 1; a silent mode is stable iff its
loop gain is below 1 (q_mu < 1, or p_mu p_nu < 1 for a pair). The stable states therefore give
each region one of three roles:

- routing (b_mu >= a_mu, b_mu psi0_mu > 1): its gain is pinned at psi^mu = 1/b_mu;
- self-sustained (a_mu > b_mu, a_mu psi0_mu > 1): psi^mu = 1/a_mu, only S^{mu mu} != 0;
- silent (max(a_mu, b_mu) psi0_mu <= 1): its disorder (or input) already keeps its gain below
  every loop's threshold, so it neither generates nor transmits,

where psi0_mu is the gain with no currents (from the DMFT of a random network of gain g_mu
with the static input variance). A pinned gain fixes the region's total variance, hence the
structured variance ``sigma_mu`` that the currents must supply (`structured_variance_for_gain`).
With U^nu = I and ``x[mu, nu] = (S^{mu nu})^2 / b_mu = (S^{nu mu})^2 / b_nu`` (equal at a fixed
point), the routing regions' constraints are linear::

    sum_nu x[mu, nu] = alpha_mu = sigma_mu / b_mu,     x[mu, nu] = x[nu, mu] >= 0

so the set of stable fixed points is a convex polytope in x (dimension E - R_routing for
R_routing >= 3 regions and E = R_routing (R_routing - 1) / 2 edges), times a sign per active
edge and per self-current. Edges positive on the whole polytope ("fracture variables") cannot
change sign continuously: the attractor has 2^(f + n_self) connected components. The vertices
are the basic feasible solutions of the linear system, enumerated exactly. For R = 5 routing
regions with b_mu ~ U(1, 3), the paper reports 42, 30, 20, 12 and 6 vertices for f = 0..4
fracture variables; the tests check this.

Scope: U^nu = I and static inputs orthogonal to the m's (``input_variance``). When the routing
polytope is empty (one routing region alone, two with unequal budgets, or one whose budget
exceeds the sum of all others), the stable states are not of this form; the result then says
``feasible=False`` and gives no vertices.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.gaussian import mean_activity

__all__ = [
    "SymmetricFixedPointSet",
    "bare_gain",
    "structured_variance_for_gain",
    "symmetric_fixed_point_set",
    "symmetric_interactions",
    "transmission_threshold",
]

ROLES: tuple[str, ...] = ("routing", "self_sustained", "silent")
_MAX_BASES = 3_000_000


def _per_region(name: str, value: Any, r: int | None = None) -> np.ndarray:
    if r is not None and np.ndim(value) == 0:
        value = np.full(r, value, dtype=float)
    out = check_array(name, value, ndim=1) if r is None else check_array(name, value, shape=(r,))
    if out.size == 0:
        raise ValueError(f"{name} must have one entry per region (at least one region)")
    return out


def _check_couplings(self_coupling: Any, routing_coupling: Any, signs: Any
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = _per_region("routing_coupling", routing_coupling)
    r = b.size
    a = _per_region("self_coupling", self_coupling, r)
    if np.any(b <= 0):
        raise ValueError(f"routing_coupling must be > 0 in every region, got {b}")
    e = np.ones(r) if signs is None else _per_region("signs", signs, r)
    if not np.all(np.abs(e) == 1):
        raise ValueError(f"signs must be +1 or -1, got {e}")
    return a, b, e


def symmetric_interactions(self_coupling: Any, routing_coupling: Any, signs: Any = None
                           ) -> np.ndarray:
    """The effective-interaction tensor of symmetric interactions.

    ``T[mu, nu, rho] = delta(mu, rho) c[mu, nu]``,
    ``c[mu, mu] = a_mu``, ``c[mu, nu] = e_mu e_nu sqrt(b_mu b_nu)`` (mu != nu).

    Parameters
    ----------
    self_coupling : array (R,)
        a_mu, the self-loop strength of each region.
    routing_coupling : array (R,)
        b_mu > 0, how strongly region mu takes part in exchanges.
    signs : array (R,) of +-1, optional
        e_mu (default all +1); they flip the signs of exchanges, not the fixed-point geometry.

    Returns
    -------
    ndarray (R, R, R)
        Realisable with ``U[nu] = I`` (`rnndyn.models.MultiRegionModel`).
    """
    a, b, e = _check_couplings(self_coupling, routing_coupling, signs)
    r = b.size
    u = e * np.sqrt(b)
    c = np.outer(u, u)
    np.fill_diagonal(c, a)
    t = np.zeros((r, r, r))
    for mu in range(r):
        t[mu, :, mu] = c[mu, :]
    return t


def _region_variance(g: float, phi: Nonlinearity, quenched: float) -> float:
    if g == 0.0:
        return quenched
    return float(solve_random_network(g, phi, input_variance=quenched).delta0)


def bare_gain(disorder: Any, phi: str | Nonlinearity = "erf", input_variance: Any = 0.0
              ) -> np.ndarray:
    """psi0 = <phi'>(0, Delta0): a region's gain with no currents.

    ``Delta0`` is the variance of a random network of gain g with a static input of variance
    ``input_variance`` (`rnndyn.theory.dmft.solve_random_network`); for g = 0 it is the input
    variance itself.

    Returns
    -------
    ndarray, the shape of ``disorder`` broadcast with ``input_variance``.
    """
    nl = get_nonlinearity(phi)
    g, var = np.broadcast_arrays(np.asarray(disorder, dtype=float),
                                 np.asarray(input_variance, dtype=float))
    if not (np.all(np.isfinite(g)) and np.all(g >= 0)):
        raise ValueError(f"disorder must be finite and >= 0, got {disorder!r}")
    if not (np.all(np.isfinite(var)) and np.all(var >= 0)):
        raise ValueError(f"input_variance must be finite and >= 0, got {input_variance!r}")
    delta = np.array([_region_variance(float(gg), nl, float(vv))
                      for gg, vv in zip(g.ravel(), var.ravel(), strict=True)])
    psi = mean_activity(nl, 0.0, delta, part="derivative")
    return np.asarray(psi, dtype=float).reshape(g.shape)


def structured_variance_for_gain(target_gain: float, disorder: float = 0.0,
                                 phi: str | Nonlinearity = "erf", *,
                                 input_variance: float = 0.0, tol: float = 1e-12) -> float:
    """The variance the currents must put into a region to bring its gain to ``target_gain``.

    Solves ``<phi'>(0, Delta0(g, sigma + input_variance)) = target_gain`` for sigma >= 0, with
    ``Delta0(g, v)`` the total variance of a random network of gain g under a static input of
    variance v. The gain falls as the variance grows, so the root is unique. For erf
    (``phi(x) = erf(sqrt(pi) x / 2)``) at g = 0:
    ``sigma = 2 (1 / psi^2 - 1) / pi - input_variance``.

    Returns
    -------
    float
        sigma, or 0.0 when the region's gain is already at or below ``target_gain`` without
        currents (it cannot take part in that loop).

    Raises
    ------
    ValueError
        ``target_gain`` outside (0, 1] for the current phi, negative disorder or variance.
    ConvergenceError
        If no bracket is found (a gain the nonlinearity cannot reach).
    """
    nl = get_nonlinearity(phi)
    if not (np.isfinite(target_gain) and target_gain > 0):
        raise ValueError(f"target_gain must be > 0, got {target_gain!r}")
    psi0 = float(bare_gain(disorder, nl, input_variance))
    if psi0 <= target_gain:
        return 0.0

    def excess(sigma: float) -> float:
        return float(bare_gain(disorder, nl, sigma + input_variance)) - target_gain

    high = 1.0
    while excess(high) > 0:
        high *= 4.0
        if high > 1e8:
            raise ConvergenceError(
                f"structured_variance_for_gain: {nl.name} keeps a gain above {target_gain} at "
                f"any variance (residual {excess(high):.3g})")
    return float(optimize.brentq(excess, 0.0, high, xtol=tol * max(1.0, high), rtol=1e-13))


def transmission_threshold(routing_coupling: Any, phi: str | Nonlinearity = "erf", *,
                           input_variance: float = 0.0, g_max: float = 20.0) -> np.ndarray:
    """The disorder g* above which a region can no longer route: psi0(g*) = 1 / b.

    As g grows, the region's own chaotic variance lowers its gain; the currents it must carry
    shrink (their variance budget is what the chaos leaves) and vanish at g*, where the
    region's gain alone is at the exchange threshold (the generator-vs-transmitter tension).

    Returns
    -------
    ndarray, the shape of ``routing_coupling``
        g*, 0 where the input alone already stops the region, inf beyond ``g_max``.
    """
    b = np.asarray(routing_coupling, dtype=float)
    if not (np.all(np.isfinite(b)) and np.all(b > 0)):
        raise ValueError(f"routing_coupling must be finite and > 0, got {routing_coupling!r}")
    nl = get_nonlinearity(phi)
    out = np.empty(b.size)
    for k, bk in enumerate(b.ravel()):
        def excess(g: float, bk: float = bk) -> float:
            return float(bare_gain(g, nl, input_variance)) * bk - 1.0
        if excess(0.0) <= 0:
            out[k] = 0.0
        elif excess(g_max) > 0:
            out[k] = np.inf
        else:
            out[k] = optimize.brentq(excess, 0.0, g_max, xtol=1e-12)
    return out.reshape(b.shape)


@dataclass(frozen=True)
class SymmetricFixedPointSet:
    """The stable stationary currents of a network with symmetric interactions.

    Attributes
    ----------
    self_coupling, routing_coupling, signs : ndarray (R,)
        a, b and e of `symmetric_interactions`.
    disorder, input_variance : ndarray (R,)
    roles : tuple of str
        ``"routing"``, ``"self_sustained"`` or ``"silent"`` per region.
    bare_gains : ndarray (R,)
        psi0, each region's gain without currents.
    gains : ndarray (R,)
        psi at the fixed points: 1/b (routing), 1/a (self-sustained), psi0 (silent).
    structured_variance : ndarray (R,)
        sigma, the variance the currents supply to each region on the whole set.
    budgets : ndarray (R,)
        alpha = sigma / b for routing regions (0 otherwise): the row sums of x.
    edges : ndarray (E, 2)
        Pairs (mu, nu), mu < nu, of routing regions: the coordinates of x.
    vertices : ndarray (K, E)
        Vertices of the polytope of x (empty when not ``feasible``).
    fracture : ndarray (E,) bool
        Edges positive on the whole polytope (their exchange never switches off).
    feasible : bool
        Whether the routing regions' polytope is non-empty.
    """

    self_coupling: np.ndarray
    routing_coupling: np.ndarray
    signs: np.ndarray
    disorder: np.ndarray
    input_variance: np.ndarray
    roles: tuple[str, ...]
    bare_gains: np.ndarray
    gains: np.ndarray
    structured_variance: np.ndarray
    budgets: np.ndarray
    edges: np.ndarray
    vertices: np.ndarray
    fracture: np.ndarray
    feasible: bool

    @property
    def n_regions(self) -> int:
        """R."""
        return self.self_coupling.size

    @property
    def n_vertices(self) -> int:
        """The number of vertices of the polytope."""
        return int(self.vertices.shape[0])

    @property
    def n_fracture(self) -> int:
        """f, the number of fracture variables."""
        return int(self.fracture.sum())

    @property
    def dimension(self) -> int:
        """Dimension of the polytope (of each connected piece of the attractor)."""
        if not self.feasible or self.n_vertices < 2:
            return 0
        return int(np.linalg.matrix_rank(self.vertices[1:] - self.vertices[0], tol=1e-9))

    @property
    def n_components(self) -> int:
        """Connected components of the set of stable fixed points: 2^(f + self-sustained)."""
        if not self.feasible:
            return 0
        return 2 ** (self.n_fracture + self.roles.count("self_sustained"))

    @property
    def interactions(self) -> np.ndarray:
        """The tensor T of `symmetric_interactions`."""
        return symmetric_interactions(self.self_coupling, self.routing_coupling, self.signs)

    def currents(self, x: Any, edge_signs: Any = None, self_signs: Any = None) -> np.ndarray:
        """The currents S (R, R) of the fixed point with edge variables ``x`` (E,).

        ``S^{nu mu} = s_e sqrt(b_nu x_e)`` and ``S^{mu nu} = e_mu e_nu s_e sqrt(b_mu x_e)`` for
        edge e = (mu, nu); ``S^{mu mu} = s_mu sqrt(sigma_mu)`` for self-sustained regions.
        ``x`` should be a point of the polytope (a convex combination of ``vertices``).
        """
        e_count = self.edges.shape[0]
        x = check_array("x", x, shape=(e_count,))
        if np.any(x < -1e-12):
            raise ValueError("x must be >= 0 (a point of the polytope)")
        es = np.ones(e_count) if edge_signs is None else check_array(
            "edge_signs", edge_signs, shape=(e_count,))
        r = self.n_regions
        ss = np.ones(r) if self_signs is None else check_array("self_signs", self_signs,
                                                                shape=(r,))
        b, e = self.routing_coupling, self.signs
        s = np.zeros((r, r))
        for k, (mu, nu) in enumerate(self.edges):
            root = math.sqrt(max(x[k], 0.0))
            s[nu, mu] = es[k] * math.sqrt(b[nu]) * root
            s[mu, nu] = e[mu] * e[nu] * es[k] * math.sqrt(b[mu]) * root
        for mu in range(r):
            if self.roles[mu] == "self_sustained":
                s[mu, mu] = ss[mu] * math.sqrt(self.structured_variance[mu])
        return s

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """``n`` random stable fixed points (n, R, R): Dirichlet-weighted mixtures of the
        vertices with random signs."""
        n = check_int("n", n)
        if not self.feasible:
            raise ValueError("the routing polytope is empty (feasible=False): nothing to sample")
        rng = np.random.default_rng(seed)
        weights = rng.dirichlet(np.ones(max(self.n_vertices, 1)), size=n)
        out = np.empty((n, self.n_regions, self.n_regions))
        for k in range(n):
            x = weights[k] @ self.vertices if self.n_vertices else np.zeros(0)
            out[k] = self.currents(x, rng.choice([-1.0, 1.0], size=self.edges.shape[0]),
                                   rng.choice([-1.0, 1.0], size=self.n_regions))
        return out

    def edge_variables(self, currents: Any) -> np.ndarray:
        """x_e = S^{nu mu} S^{mu nu} e_mu e_nu / sqrt(b_mu b_nu) for each edge (E,).

        At a fixed point of the set this equals both ``(S^{mu nu})^2 / b_mu`` and
        ``(S^{nu mu})^2 / b_nu``.
        """
        r = self.n_regions
        s = check_array("currents", currents, shape=(r, r))
        b, e = self.routing_coupling, self.signs
        return np.array([s[mu, nu] * s[nu, mu] * e[mu] * e[nu] / math.sqrt(b[mu] * b[nu])
                         for mu, nu in self.edges])

    def distance(self, currents: Any) -> float:
        """How far currents S (R, R) are from the set, in units of S.

        The largest of: the violation of each region's variance (``sum_rho (S^{mu rho})^2``
        against ``sigma_mu``, as a square root), of the exchange relation
        ``S^{mu nu} = e_mu e_nu sqrt(b_mu / b_nu) S^{nu mu}``, and any current that should be 0.
        """
        r = self.n_regions
        s = check_array("currents", currents, shape=(r, r))
        b, e = self.routing_coupling, self.signs
        worst = 0.0
        received = (s**2).sum(axis=1)
        for mu in range(r):
            worst = max(worst, math.sqrt(abs(received[mu] - self.structured_variance[mu])))
        routing = {mu for mu in range(r) if self.roles[mu] == "routing"}
        for mu in range(r):
            for nu in range(r):
                if mu == nu:
                    if self.roles[mu] != "self_sustained":
                        worst = max(worst, abs(s[mu, mu]))
                elif mu in routing and nu in routing:
                    if mu < nu:
                        expected = e[mu] * e[nu] * math.sqrt(b[mu] / b[nu]) * s[nu, mu]
                        worst = max(worst, abs(s[mu, nu] - expected))
                else:
                    worst = max(worst, abs(s[mu, nu]))
        return worst


def _polytope_vertices(n_nodes: int, budgets: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, bool]:
    edges = np.array(list(itertools.combinations(range(n_nodes), 2)), dtype=int).reshape(-1, 2)
    e_count = edges.shape[0]
    if e_count == 0:
        return edges, np.zeros((0, 0)), False
    incidence = np.zeros((n_nodes, e_count))
    incidence[edges[:, 0], np.arange(e_count)] = 1.0
    incidence[edges[:, 1], np.arange(e_count)] = 1.0
    rank = int(np.linalg.matrix_rank(incidence))
    if math.comb(e_count, rank) > _MAX_BASES:
        raise ValueError(f"symmetric_fixed_point_set: {n_nodes} routing regions give "
                         f"{math.comb(e_count, rank)} bases to enumerate (limit {_MAX_BASES})")
    scale = max(1.0, float(np.abs(budgets).max()))
    found: list[np.ndarray] = []
    for basis in itertools.combinations(range(e_count), rank):
        sub = incidence[:, basis]
        if np.linalg.matrix_rank(sub) < rank:
            continue
        xb, *_ = np.linalg.lstsq(sub, budgets, rcond=None)
        if np.abs(sub @ xb - budgets).max() > 1e-10 * scale or xb.min() < -1e-12 * scale:
            continue
        x = np.zeros(e_count)
        x[list(basis)] = np.clip(xb, 0.0, None)
        # A degenerate vertex is reached from several bases.
        if all(np.abs(x - other).max() > 1e-9 * scale for other in found):
            found.append(x)
    vertices = np.array(found).reshape(-1, e_count)
    return edges, vertices, bool(found)


def symmetric_fixed_point_set(
    self_coupling: Any,
    routing_coupling: Any,
    disorder: Any = 0.0,
    phi: str | Nonlinearity = "erf",
    *,
    signs: Any = None,
    input_variance: Any = 0.0,
) -> SymmetricFixedPointSet:
    """Roles of the regions and the polytope of stable fixed points (see the module docstring).

    Parameters
    ----------
    self_coupling, routing_coupling : array (R,)
        a and b of `symmetric_interactions` (b > 0).
    disorder : float or array (R,)
        g per region.
    phi : str or Nonlinearity, default "erf"
    signs : array (R,) of +-1, optional
    input_variance : float or array (R,)
        Variance of static inputs along directions orthogonal to the m's
        (``inputs**2`` of `rnndyn.theory.multiregion.solve_currents`): it lowers a region's
        gain, so an input can switch a region from routing or self-sustained to silent, and
        re-route the others.

    Returns
    -------
    SymmetricFixedPointSet

    Raises
    ------
    ValueError
        Shapes that do not agree, b <= 0, negative disorder or input variance, or more than
        a few million bases to enumerate (about R_routing > 8).
    """
    a, b, e = _check_couplings(self_coupling, routing_coupling, signs)
    r = b.size
    g = _per_region("disorder", disorder, r)
    var_in = _per_region("input_variance", input_variance, r)
    if np.any(g < 0):
        raise ValueError(f"disorder must be >= 0 in every region, got {g}")
    if np.any(var_in < 0):
        raise ValueError(f"input_variance must be >= 0 in every region, got {var_in}")
    nl = get_nonlinearity(phi)
    psi0 = np.array([float(bare_gain(g[mu], nl, var_in[mu])) for mu in range(r)])
    roles: list[str] = []
    gains = psi0.copy()
    sigma = np.zeros(r)
    for mu in range(r):
        if max(a[mu], b[mu]) * psi0[mu] <= 1.0:
            roles.append("silent")
            continue
        loop = a[mu] if a[mu] > b[mu] else b[mu]
        roles.append("self_sustained" if a[mu] > b[mu] else "routing")
        gains[mu] = 1.0 / loop
        sigma[mu] = structured_variance_for_gain(1.0 / loop, float(g[mu]), nl,
                                                 input_variance=float(var_in[mu]))
    routing = [mu for mu in range(r) if roles[mu] == "routing"]
    budgets = np.zeros(r)
    budgets[routing] = sigma[routing] / b[routing]
    local_edges, vertices, feasible = _polytope_vertices(len(routing), budgets[routing])
    edges = np.array([[routing[i], routing[j]] for i, j in local_edges],
                     dtype=int).reshape(-1, 2)
    if not routing:
        feasible = True  # nothing to route: the self-sustained/silent state is the set
        vertices = np.zeros((1, 0))
    fracture = (np.all(vertices > 1e-9 * max(1.0, budgets.max()), axis=0) if feasible
                else np.zeros(edges.shape[0], dtype=bool))
    return SymmetricFixedPointSet(
        self_coupling=a, routing_coupling=b, signs=e, disorder=g, input_variance=var_in,
        roles=tuple(roles), bare_gains=psi0, gains=gains, structured_variance=sigma,
        budgets=budgets, edges=edges, vertices=vertices if feasible else np.zeros((0, len(edges))),
        fracture=fracture, feasible=feasible,
    )
