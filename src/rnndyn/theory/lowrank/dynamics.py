"""Latent dynamics of low-rank networks, ``dkappa/dt = -kappa + F(kappa, v)``.

Network (Mastrogiuseppe & Ostojic 2018, Neuron 99:609; Beiran, Dubreuil, Valente,
Mastrogiuseppe & Ostojic 2021, Neural Comput. 33:1572; Dubreuil et al. 2022, Nat. Neurosci.
25:783)::

    dx/dt = -x + J phi(x) + I u(t),      J = g chi + M N^T / N

with ``chi_ij ~ N(0, 1/N)``, ``M, N`` the (N, R) left/right loadings and ``I`` the (N, K) input
loadings. Writing ``x = M kappa + I v + (fluctuations)`` with ``dv/dt = -v + u`` (the
input-filtered latent), the collective coordinates ``kappa_r = n_r . phi(x) / N`` obey::

    dkappa_r/dt = -kappa_r + F_r(kappa, v),
    F_r(kappa, v) = < n_r phi(m . kappa + I . v + sqrt(delta) z) >

where ``< >`` averages over the neurons' loadings ``(m_1..m_R, n_1..n_R, I_1..I_K)`` and
``z ~ N(0, 1)`` and ``delta`` is the variance contributed by the random bulk ``g chi`` (0
without it; see `rnndyn.theory.lowrank.find_fixed_points` with ``g > 0`` for its
self-consistent value ``delta = g^2 <phi^2>``).

Loading distributions (the backends)
------------------------------------
Every backend describes the loadings as a weighted set of Gaussian components
``(w_p, mu_p, Sigma_p)``; a sample (a neuron) is a component with zero covariance
(`rnndyn.theory.lowrank.backends`):

- `GaussianLatentDynamics`: one jointly Gaussian component (closed form below);
- `MixtureLatentDynamics`: populations, ``F = sum_p w_p F_p`` (Beiran et al. 2021);
- `SampledLatentDynamics`: Monte Carlo over given samples (e.g. drawn from a learned density);
- `FiniteLatentDynamics`: the exact reduction of a given finite network without bulk:
  ``F_r = (1/N) sum_i N_ir phi(sum_s M_is kappa_s + sum_k I_ik v_k)``; ``x(t)`` stays in
  ``span(M, I)`` if it starts there, so this ODE reproduces the network exactly.

Closed form (Stein's lemma)
---------------------------
For one Gaussian component, ``x = w . a + sqrt(delta) z`` with ``a = (kappa, v)`` and
``w = (m, I)`` is Gaussian with mean ``mu = <w> . a`` and variance
``Delta = a^T Sigma_ww a + delta``. For jointly Gaussian ``(n, x)``,
``<n f(x)> = <n> <f> + Cov(n, x) <f'>`` (Stein's lemma), hence::

    F_r = <n_r> <phi>(mu, Delta) + (sum_s Sigma_{n_r m_s} kappa_s
                                    + sum_k Sigma_{n_r I_k} v_k) <phi'>(mu, Delta)

and, applying the lemma twice, the Jacobian ``dF_r/da_s = <n_r w_s phi'(x)>``::

    (<n_r><w_s> + Sigma_{n_r w_s}) <phi'> + (<n_r> c_s + <w_s> c_r) <phi''> + c_r c_s <phi'''>

with ``c_r = Cov(n_r, x)``, ``c_s = Cov(w_s, x)``. ``<phi''>`` and ``<phi'''>`` are themselves
Gaussian integrals of ``phi'`` (see `rnndyn.theory.lowrank._moments`).

Conventions
-----------
Loadings are ordered ``(m_1..m_R, n_1..n_R, I_1..I_K)`` (the order of
`rnndyn.connectivity.random_low_rank`). The overlap matrix is ``Sigma_nm[r, s] = Cov(n_r,
m_s)``, so that with zero means ``F(kappa) = Sigma_nm kappa <phi'>``; the nonzero eigenvalues of
``J`` tend to those of ``Sigma_nm + <n><m>^T``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.theory.lowrank._moments import gaussian_moments

__all__ = ["LatentDynamics", "LatentTrajectory", "PopulationAverages", "split_loadings"]


@dataclass(frozen=True)
class LatentTrajectory:
    """A solution of the latent ODE.

    Attributes
    ----------
    t : ndarray (T,)
    kappa : ndarray (T, R)
        Recurrent latents.
    v : ndarray (T, K)
        Input-filtered latents, ``dv/dt = -v + u``.
    nfev : int
        Right-hand-side evaluations used by the integrator.
    """

    t: np.ndarray
    kappa: np.ndarray
    v: np.ndarray
    nfev: int


@dataclass(frozen=True)
class PopulationAverages:
    """Population averages at one latent state (averaged over neurons and ``z``).

    Attributes
    ----------
    rate, gain, rate_square, gain_square : float
        ``<phi>``, ``<phi'>``, ``<phi^2>``, ``<phi'^2>``.
    mean, variance : ndarray (n_components,)
        Mean and variance of the input ``x`` of each component (for a sampled backend, each
        neuron); ``variance`` includes the bulk variance.
    """

    rate: float
    gain: float
    rate_square: float
    gain_square: float
    mean: np.ndarray
    variance: np.ndarray


def split_loadings(samples: Any, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split an (S, 2R + K) array of loadings into ``M`` (S, R), ``N`` (S, R) and ``I`` (S, K).

    Raises
    ------
    ValueError
        If ``samples`` is not a finite 2D array with at least ``2 * rank`` columns.
    """
    rank = check_int("rank", rank)
    samples = check_array("samples", samples, ndim=2)
    if samples.shape[1] < 2 * rank:
        raise ValueError(f"samples must have at least 2 * rank = {2 * rank} columns, "
                         f"got {samples.shape[1]}")
    return samples[:, :rank], samples[:, rank : 2 * rank], samples[:, 2 * rank :]


class LatentDynamics:
    """Low-rank latent dynamics ``dkappa/dt = -kappa + F(kappa, v)`` (base class).

    Use a backend: `GaussianLatentDynamics`, `MixtureLatentDynamics`,
    `SampledLatentDynamics` or `FiniteLatentDynamics`. All share this interface:

    - ``drive(kappa, v)``: ``F(kappa, v)``;
    - ``rhs(kappa, v)``: ``-kappa + F``;
    - ``jacobian(kappa, v)``: ``d rhs / d kappa`` (R, R);
    - ``input_jacobian(kappa, v)``: ``dF / dv`` (R, K);
    - ``averages(kappa, v)``: `PopulationAverages`;
    - ``integrate(kappa0, t, v0=..., u=...)``: `LatentTrajectory`;
    - ``sample(n, seed)``: loadings (n, 2R + K) drawn from the distribution.

    ``kappa`` has shape (R,) or (B, R) (a batch of states); ``v`` has shape (K,) or (B, K) and
    defaults to zeros. Every method takes ``bulk_variance`` (``delta``, the variance the random
    bulk adds to each input); ``None`` uses the value the object was built with.
    """

    def __init__(
        self,
        weights: np.ndarray,
        means: np.ndarray,
        covariances: np.ndarray | None,
        *,
        rank: int,
        phi: str | Nonlinearity,
        bulk_variance: float,
    ) -> None:
        self.phi = get_nonlinearity(phi)
        self.rank = rank
        dim = means.shape[1]
        self.n_inputs = dim - 2 * rank
        self.bulk_variance = check_number("bulk_variance", bulk_variance, low=0.0)
        self._w = weights
        self._mean = means
        self._cov = covariances
        r = rank
        w_index = np.r_[0:r, 2 * r : dim]
        n_index = np.arange(r, 2 * r)
        self._mean_w = means[:, w_index]
        self._mean_n = means[:, n_index]
        if covariances is not None:
            self._cov_ww = covariances[:, w_index][:, :, w_index]
            self._cov_nw = covariances[:, n_index][:, :, w_index]

    # --- description --------------------------------------------------------------------------
    @property
    def n_components(self) -> int:
        """Number of Gaussian components (or samples)."""
        return self._w.shape[0]

    @property
    def weights(self) -> np.ndarray:
        """Component weights (n_components,), summing to 1."""
        return self._w.copy()

    @property
    def means(self) -> np.ndarray:
        """Component means (n_components, 2R + K)."""
        return self._mean.copy()

    @property
    def covariances(self) -> np.ndarray:
        """Component covariances (n_components, 2R + K, 2R + K); zeros for samples."""
        if self._cov is None:
            dim = self._mean.shape[1]
            return np.zeros((self.n_components, dim, dim))
        return self._cov.copy()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(rank={self.rank}, n_inputs={self.n_inputs}, "
                f"n_components={self.n_components}, phi={self.phi.name!r}, "
                f"bulk_variance={self.bulk_variance:g})")

    # --- argument handling --------------------------------------------------------------------
    def _state(self, kappa: Any, v: Any) -> tuple[np.ndarray, bool]:
        """Return ``a = (kappa, v)`` as (B, R + K) and whether the input was unbatched."""
        k = check_array("kappa", kappa, ndim=(1, 2))
        if k.shape[-1] != self.rank:
            raise ValueError(f"kappa must have shape ({self.rank},) or (batch, {self.rank}), "
                             f"got {k.shape}")
        single = k.ndim == 1
        k = k.reshape(-1, self.rank)
        if v is None:
            vv = np.zeros((k.shape[0], self.n_inputs))
        else:
            vv = check_array("v", v, ndim=(1, 2))
            if vv.shape[-1] != self.n_inputs or (vv.ndim == 2 and vv.shape[0] not in
                                                  (1, k.shape[0])):
                raise ValueError(f"v must have shape ({self.n_inputs},) or "
                                 f"(batch, {self.n_inputs}), got {vv.shape}")
            single = single and vv.ndim == 1
            vv = np.broadcast_to(vv.reshape(vv.shape[0] if vv.ndim == 2 else 1, self.n_inputs),
                                 (k.shape[0], self.n_inputs))
        return np.concatenate([k, vv], axis=1), single

    def _delta(self, bulk_variance: Any) -> float:
        if bulk_variance is None:
            return self.bulk_variance
        return check_number("bulk_variance", bulk_variance, low=0.0)

    # --- statistics of the input x -------------------------------------------------------------
    def _stats(
        self, a: np.ndarray, delta: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Mean (B, P), variance (B, P), Cov(n, x) (B, P, R), Cov(w, x) (B, P, R + K)."""
        mu = a @ self._mean_w.T
        if self._cov is None:
            return mu, np.full(mu.shape, delta), None, None
        c_w = np.einsum("pij,bj->bpi", self._cov_ww, a)
        var = np.einsum("bpi,bi->bp", c_w, a) + delta
        c_n = np.einsum("pij,bj->bpi", self._cov_nw, a)
        return mu, np.maximum(var, 0.0), c_n, c_w

    def _drive(self, a: np.ndarray, delta: float) -> np.ndarray:
        stats = self._stats(a, delta)
        keys = ("phi", "dphi") if stats[2] is not None else ("phi",)
        return self._drive_from(stats, gaussian_moments(self.phi, stats[0], stats[1], keys))

    def _drive_from(self, stats: tuple, mom: dict[str, np.ndarray]) -> np.ndarray:
        """``F = sum_p w_p (<n> <phi> + Cov(n, x) <phi'>)`` from `_stats` and the moments."""
        c_n = stats[2]
        out = np.einsum("p,bp,pr->br", self._w, mom["phi"], self._mean_n)
        if c_n is not None:
            out += np.einsum("p,bp,bpr->br", self._w, mom["dphi"], c_n)
        return out

    def _gain_overlaps(self, a: np.ndarray, delta: float) -> np.ndarray:
        """``<n_r w_s phi'(x)>`` of shape (B, R, R + K): the Jacobian of F in ``a``."""
        stats = self._stats(a, delta)
        keys = ("dphi", "d2phi", "d3phi") if stats[2] is not None else ("dphi",)
        return self._gain_overlaps_from(stats, gaussian_moments(self.phi, stats[0], stats[1],
                                                                keys))

    def _gain_overlaps_from(self, stats: tuple, mom: dict[str, np.ndarray]) -> np.ndarray:
        """Stein's lemma twice (module docstring), from `_stats` and the moments."""
        _, _, c_n, c_w = stats
        if c_n is None:
            return np.einsum("p,bp,pr,ps->brs", self._w, mom["dphi"], self._mean_n,
                             self._mean_w)
        batch = c_n.shape[0]
        first = (self._mean_n[:, :, None] * self._mean_w[:, None, :] + self._cov_nw)[None]
        out = np.einsum("p,bp,bprs->brs", self._w, mom["dphi"],
                        np.broadcast_to(first, (batch, *first.shape[1:])))
        mixed = (self._mean_n[None, :, :, None] * c_w[:, :, None, :]
                 + c_n[:, :, :, None] * self._mean_w[None, :, None, :])
        out += np.einsum("p,bp,bprs->brs", self._w, mom["d2phi"], mixed)
        out += np.einsum("p,bp,bpr,bps->brs", self._w, mom["d3phi"], c_n, c_w)
        return out

    def _f(self, kappa: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``rhs`` for one state without argument checks (for ODE solvers)."""
        a = np.concatenate([kappa, v])[None, :]
        return self._drive(a, self.bulk_variance)[0] - kappa

    def _df(self, kappa: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``jacobian`` for one state without argument checks."""
        a = np.concatenate([kappa, v])[None, :]
        return self._gain_overlaps(a, self.bulk_variance)[0, :, : self.rank] - np.eye(self.rank)

    # --- public interface ---------------------------------------------------------------------
    def drive(self, kappa: Any, v: Any = None, *, bulk_variance: float | None = None
              ) -> np.ndarray:
        """``F(kappa, v) = <n phi(m . kappa + I . v + sqrt(delta) z)>``, shape of ``kappa``."""
        a, single = self._state(kappa, v)
        out = self._drive(a, self._delta(bulk_variance))
        return out[0] if single else out

    def rhs(self, kappa: Any, v: Any = None, *, bulk_variance: float | None = None
            ) -> np.ndarray:
        """``dkappa/dt = -kappa + F(kappa, v)``, shape of ``kappa``."""
        a, single = self._state(kappa, v)
        out = self._drive(a, self._delta(bulk_variance)) - a[:, : self.rank]
        return out[0] if single else out

    def jacobian(self, kappa: Any, v: Any = None, *, bulk_variance: float | None = None
                 ) -> np.ndarray:
        """``d rhs / d kappa = -I + <n m^T phi'(x)>``, shape (R, R) (or (B, R, R)).

        The bulk variance is held fixed (the frozen-bulk latent Jacobian); the full stability
        with a self-consistent bulk is in `find_fixed_points` (``g > 0``).
        """
        a, single = self._state(kappa, v)
        out = self._gain_overlaps(a, self._delta(bulk_variance))[:, :, : self.rank]
        out = out - np.eye(self.rank)
        return out[0] if single else out

    def input_jacobian(self, kappa: Any, v: Any = None, *,
                       bulk_variance: float | None = None) -> np.ndarray:
        """``dF / dv = <n I^T phi'(x)>``, shape (R, K) (or (B, R, K))."""
        a, single = self._state(kappa, v)
        out = self._gain_overlaps(a, self._delta(bulk_variance))[:, :, self.rank :]
        return out[0] if single else out

    def averages(self, kappa: Any, v: Any = None, *, bulk_variance: float | None = None
                 ) -> PopulationAverages:
        """Population averages ``<phi>``, ``<phi'>``, ``<phi^2>``, ``<phi'^2>`` at one state."""
        a, _ = self._state(kappa, v)
        if a.shape[0] != 1:
            raise ValueError(f"kappa must be a single state of shape ({self.rank},) here, "
                             f"got a batch of {a.shape[0]}")
        mu, var, _, _ = self._stats(a, self._delta(bulk_variance))
        mom = gaussian_moments(self.phi, mu[0], var[0], ("phi", "dphi", "phi2", "dphi2"))
        avg = {k: float(self._w @ val) for k, val in mom.items()}
        return PopulationAverages(avg["phi"], avg["dphi"], avg["phi2"], avg["dphi2"],
                                  mu[0].copy(), var[0].copy())

    def _static_terms(self, kappa: Any, v: Any, delta0: float, extra: float) -> dict[str, Any]:
        """Terms of the bulk self-consistency at one state (used by `find_fixed_points`).

        With ``x = w . a + xi + sqrt(extra) z'``, ``xi ~ N(0, delta0)`` the bulk field, returns
        ``F`` (R,), ``overlaps`` ``<n_r m_s phi'>`` (R, R), ``n_d2`` ``<n_r phi''>`` (R,),
        ``m_phidphi`` ``<m_s phi phi'>`` (R,), ``d_phidphi`` ``<(phi phi')'>``, ``phi2``
        ``<phi^2>`` and ``dphi2`` ``<phi'^2>``.
        """
        a = np.concatenate([kappa, v])[None, :]
        stats = self._stats(a, delta0 + extra)
        _, _, c_n, c_w = stats
        keys = ("phi", "dphi", "phi2", "dphi2", "phidphi", "d2phi", "d3phi", "d_phidphi")
        batched = gaussian_moments(self.phi, stats[0], stats[1], keys)
        mom = {k: val[0] for k, val in batched.items()}
        w, r = self._w, self.rank
        mean_n, mean_m = self._mean_n, self._mean_w[:, :r]
        drive = self._drive_from(stats, batched)[0]
        overlaps = self._gain_overlaps_from(stats, batched)[0, :, :r]
        n_d2 = (w * mom["d2phi"]) @ mean_n
        m_phidphi = (w * mom["phidphi"]) @ mean_m
        if c_n is not None:
            n_d2 = n_d2 + (w * mom["d3phi"]) @ c_n[0]
            m_phidphi = m_phidphi + (w * mom["d_phidphi"]) @ c_w[0, :, :r]
        return {
            "F": drive, "overlaps": overlaps, "n_d2": n_d2, "m_phidphi": m_phidphi,
            "d_phidphi": float(w @ mom["d_phidphi"]), "phi2": float(w @ mom["phi2"]),
            "dphi2": float(w @ mom["dphi2"]), "dphi": float(w @ mom["dphi"]),
        }

    def integrate(
        self,
        kappa0: Any,
        t: Any,
        *,
        v0: Any = None,
        u: Any = None,
        bulk_variance: float | None = None,
        rtol: float = 1e-9,
        atol: float = 1e-11,
        method: str = "DOP853",
    ) -> LatentTrajectory:
        """Integrate ``dkappa/dt = -kappa + F(kappa, v)``, ``dv/dt = -v + u(t)``.

        Parameters
        ----------
        kappa0 : array (R,)
        t : array_like (T,)
            Increasing output times, ``t[0]`` the initial time (T >= 2).
        v0 : array (K,), optional
            Initial input latent; default zeros.
        u : array (K,) or callable ``u(t) -> (K,)``, optional
            Input; default zero (then ``v`` decays from ``v0``). A constant ``u = v0`` keeps
            ``v`` fixed.
        rtol, atol, method
            Passed to `scipy.integrate.solve_ivp`.

        Raises
        ------
        rnndyn.ConvergenceError
            If the integrator fails.
        """
        a0, single = self._state(kappa0, v0)
        if not single:
            raise ValueError(f"kappa0 must have shape ({self.rank},), got a batch")
        times = check_array("t", t, ndim=1)
        if times.size < 2 or np.any(np.diff(times) <= 0):
            raise ValueError("t must hold at least two strictly increasing times")
        delta = self._delta(bulk_variance)
        u_of_t = self._input_function(u)
        r = self.rank

        def fun(time: float, y: np.ndarray) -> np.ndarray:
            a = y[None, :]
            dk = self._drive(a, delta)[0] - y[:r]
            dv = u_of_t(time) - y[r:]
            return np.concatenate([dk, dv])

        sol = solve_ivp(fun, (times[0], times[-1]), a0[0], t_eval=times, rtol=rtol,
                        atol=atol, method=method)
        if not sol.success:
            raise ConvergenceError(f"integrate: solve_ivp failed ({sol.message})")
        y = sol.y.T
        return LatentTrajectory(sol.t, y[:, :r], y[:, r:], int(sol.nfev))

    def _input_function(self, u: Any) -> Callable[[float], np.ndarray]:
        k = self.n_inputs
        if u is None:
            zero = np.zeros(k)
            return lambda time: zero
        if callable(u):
            def call(time: float) -> np.ndarray:
                val = np.asarray(u(time), dtype=float).reshape(-1)
                if val.shape != (k,):
                    raise ValueError(f"u(t) must return shape ({k},), got {val.shape}")
                return val
            return call
        const = check_array("u", u, shape=(k,))
        return lambda time: const

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Draw ``n`` neurons' loadings, shape (n, 2R + K), ordered ``(m, n, I)``.

        Components are picked with their weights; a Gaussian component is drawn as
        ``mu + L z`` with ``L`` its Cholesky factor. Use `split_loadings` to get ``M, N, I``.
        """
        n = check_int("n", n)
        rng = np.random.default_rng(seed)
        which = rng.choice(self.n_components, size=n, p=self._w)
        out = self._mean[which].copy()
        if self._cov is not None:
            for p in np.unique(which):
                rows = which == p
                chol = np.linalg.cholesky(self._cov[p])
                out[rows] += rng.standard_normal((int(rows.sum()), chol.shape[0])) @ chol.T
        return out
