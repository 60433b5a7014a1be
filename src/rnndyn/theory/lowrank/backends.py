"""Backends of `rnndyn.theory.lowrank.LatentDynamics`: how the loadings are distributed.

- `GaussianLatentDynamics`: jointly Gaussian ``(m, n, I)`` (Mastrogiuseppe & Ostojic 2018), the
  closed form of `rnndyn.theory.lowrank.dynamics` (Stein's lemma);
- `MixtureLatentDynamics`: a Gaussian mixture, one component per population (Beiran,
  Dubreuil, Valente, Mastrogiuseppe & Ostojic 2021);
- `SampledLatentDynamics`: Monte Carlo over loading samples (e.g. from a learned density);
- `FiniteLatentDynamics`: the exact reduction of a finite network ``J = M N^T / N``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnndyn._validation import check_array, check_int
from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory.lowrank._moments import gaussian_moments
from rnndyn.theory.lowrank.dynamics import LatentDynamics

__all__ = [
    "FiniteLatentDynamics",
    "GaussianLatentDynamics",
    "MixtureLatentDynamics",
    "SampledLatentDynamics",
]

_WEIGHT_TOL = 1e-9


def _check_covariance(name: str, covariance: Any, dim: int) -> np.ndarray:
    cov = check_array(name, covariance, shape=(dim, dim))
    scale = max(float(np.max(np.abs(cov))), 1.0)
    if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError(f"{name} must be symmetric, got max |C - C^T| = "
                         f"{float(np.max(np.abs(cov - cov.T))):.3g}")
    cov = 0.5 * (cov + cov.T)
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(cov)[0])
        raise ValueError(f"{name} must be positive definite, got smallest eigenvalue "
                         f"{smallest:.6g}") from None
    return cov


def _check_weights(weights: Any, count: int) -> np.ndarray:
    w = check_array("weights", weights, shape=(count,))
    if np.any(w < 0):
        raise ValueError("weights must be >= 0")
    if abs(float(w.sum()) - 1.0) > _WEIGHT_TOL:
        raise ValueError(f"weights must sum to 1, got sum {float(w.sum())!r}")
    return w / w.sum()



class GaussianLatentDynamics(LatentDynamics):
    """Latent dynamics for jointly Gaussian loadings (closed form by Stein's lemma).

    ``(m_1..m_R, n_1..n_R, I_1..I_K) ~ N(mean, covariance)`` i.i.d. over neurons
    (Mastrogiuseppe & Ostojic 2018; Beiran et al. 2021)::

        F_r(kappa, v) = <n_r> <phi>(mu, Delta) + Cov(n_r, x) <phi'>(mu, Delta)
        mu = <m> . kappa + <I> . v,   Delta = a^T Sigma_ww a + delta,   a = (kappa, v)

    Parameters
    ----------
    covariance : array (2R + K, 2R + K)
        Symmetric positive definite.
    mean : array (2R + K,), optional
        Default zeros.
    rank : int
        R; the number of inputs is ``K = dim - 2R``.
    phi : str or Nonlinearity, default "tanh"
    bulk_variance : float, default 0
        ``delta``, the variance added by a random bulk.

    Raises
    ------
    ValueError
        Wrong shapes, NaN, a covariance that is not symmetric positive definite.
    """

    def __init__(
        self,
        covariance: Any,
        mean: Any = None,
        *,
        rank: int,
        phi: str | Nonlinearity = "tanh",
        bulk_variance: float = 0.0,
    ) -> None:
        rank = check_int("rank", rank)
        cov = check_array("covariance", covariance, ndim=2)
        dim = cov.shape[0]
        if dim < 2 * rank:
            raise ValueError(f"covariance must be at least (2R, 2R) = ({2 * rank}, {2 * rank}) "
                             f"for rank={rank}, got {cov.shape}")
        cov = _check_covariance("covariance", cov, dim)
        mu = np.zeros(dim) if mean is None else check_array("mean", mean, shape=(dim,))
        super().__init__(np.ones(1), mu[None, :], cov[None], rank=rank, phi=phi,
                         bulk_variance=bulk_variance)

    @classmethod
    def from_overlaps(
        cls,
        sigma_nm: Any,
        sigma_mm: Any = None,
        *,
        mean_m: Any = None,
        mean_n: Any = None,
        sigma_nn: Any = None,
        phi: str | Nonlinearity = "tanh",
        bulk_variance: float = 0.0,
    ) -> GaussianLatentDynamics:
        """Build from the overlap matrix ``Sigma_nm[r, s] = Cov(n_r, m_s)`` (no inputs).

        ``sigma_mm`` defaults to the identity and ``sigma_nn`` to
        ``Sigma_nm Sigma_mm^-1 Sigma_mn + I`` (any value making the covariance positive
        definite gives the same dynamics: ``F`` does not depend on ``Sigma_nn``).
        """
        s_nm = np.atleast_2d(check_array("sigma_nm", sigma_nm, ndim=(0, 2)))
        rank = s_nm.shape[0]
        if s_nm.shape != (rank, rank):
            raise ValueError(f"sigma_nm must be square (R, R), got {s_nm.shape}")
        s_mm = (np.eye(rank) if sigma_mm is None else
                np.atleast_2d(check_array("sigma_mm", sigma_mm, ndim=(0, 2))))
        if s_mm.shape != (rank, rank):
            raise ValueError(f"sigma_mm must have shape ({rank}, {rank}), got {s_mm.shape}")
        s_mm = _check_covariance("sigma_mm", s_mm, rank)
        if sigma_nn is None:
            s_nn = s_nm @ np.linalg.solve(s_mm, s_nm.T) + np.eye(rank)
        else:
            s_nn = np.atleast_2d(check_array("sigma_nn", sigma_nn, ndim=(0, 2)))
            if s_nn.shape != (rank, rank):
                raise ValueError(f"sigma_nn must have shape ({rank}, {rank}), got {s_nn.shape}")
        cov = np.block([[s_mm, s_nm.T], [s_nm, s_nn]])
        mean = np.zeros(2 * rank)
        if mean_m is not None:
            mean[:rank] = check_array("mean_m", np.atleast_1d(mean_m), shape=(rank,))
        if mean_n is not None:
            mean[rank:] = check_array("mean_n", np.atleast_1d(mean_n), shape=(rank,))
        return cls(cov, mean, rank=rank, phi=phi, bulk_variance=bulk_variance)

    @property
    def mean(self) -> np.ndarray:
        """Mean of the loadings (2R + K,)."""
        return self._mean[0].copy()

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of the loadings (2R + K, 2R + K)."""
        return self._cov[0].copy()

    @property
    def sigma_nm(self) -> np.ndarray:
        """Overlap matrix ``Sigma_nm[r, s] = Cov(n_r, m_s)`` (R, R)."""
        r = self.rank
        return self._cov[0, r : 2 * r, :r].copy()

    @property
    def sigma_mm(self) -> np.ndarray:
        """Covariance of the left loadings (R, R)."""
        return self._cov[0, : self.rank, : self.rank].copy()


class MixtureLatentDynamics(LatentDynamics):
    """Latent dynamics for a Gaussian mixture of loadings (populations).

    ``F = sum_p w_p F_p`` with ``F_p`` the closed form of `GaussianLatentDynamics` for
    population ``p`` (Beiran, Dubreuil, Valente, Mastrogiuseppe & Ostojic 2021).

    Parameters
    ----------
    weights : array (P,)
        Population fractions, >= 0, summing to 1.
    means : array (P, 2R + K)
    covariances : array (P, 2R + K, 2R + K)
        Each symmetric positive definite.
    rank : int
    phi, bulk_variance
        As for `GaussianLatentDynamics`.

    Raises
    ------
    ValueError
        Weights not summing to 1 or negative, a covariance not positive definite, wrong shapes.
    """

    def __init__(
        self,
        weights: Any,
        means: Any,
        covariances: Any,
        *,
        rank: int,
        phi: str | Nonlinearity = "tanh",
        bulk_variance: float = 0.0,
    ) -> None:
        rank = check_int("rank", rank)
        mu = check_array("means", means, ndim=2)
        count, dim = mu.shape
        if dim < 2 * rank:
            raise ValueError(f"means must have at least 2R = {2 * rank} columns, got {dim}")
        w = _check_weights(weights, count)
        covs = check_array("covariances", covariances, shape=(count, dim, dim))
        covs = np.stack([_check_covariance(f"covariances[{p}]", covs[p], dim)
                         for p in range(count)])
        super().__init__(w, mu, covs, rank=rank, phi=phi, bulk_variance=bulk_variance)


class SampledLatentDynamics(LatentDynamics):
    """Latent dynamics by Monte Carlo over loading samples.

    ``F_r(kappa, v) = sum_i w_i n_ir <phi>(m_i . kappa + I_i . v, delta)`` over samples ``i``
    (uniform weights by default). Use it for any loading density one can sample from, e.g. a
    learned normalising flow; the error is ``std(n_r phi) / sqrt(S)`` (see `standard_error`).

    Parameters
    ----------
    samples : array (S, 2R + K)
        Loadings ``(m_1..m_R, n_1..n_R, I_1..I_K)`` per sample.
    rank : int
    weights : array (S,), optional
        Importance weights summing to 1; default ``1/S``.
    phi, bulk_variance
        As for `GaussianLatentDynamics`.
    """

    def __init__(
        self,
        samples: Any,
        *,
        rank: int,
        weights: Any = None,
        phi: str | Nonlinearity = "tanh",
        bulk_variance: float = 0.0,
    ) -> None:
        rank = check_int("rank", rank)
        s = check_array("samples", samples, ndim=2)
        if s.shape[1] < 2 * rank or s.shape[0] == 0:
            raise ValueError(f"samples must have shape (S >= 1, 2R + K >= {2 * rank}), "
                             f"got {s.shape}")
        w = (np.full(s.shape[0], 1.0 / s.shape[0]) if weights is None else
             _check_weights(weights, s.shape[0]))
        super().__init__(w, s, None, rank=rank, phi=phi, bulk_variance=bulk_variance)

    @property
    def samples(self) -> np.ndarray:
        """The loadings (S, 2R + K)."""
        return self._mean.copy()

    def standard_error(self, kappa: Any, v: Any = None, *,
                       bulk_variance: float | None = None) -> np.ndarray:
        """Monte Carlo standard error of `drive` (R,): ``sqrt(sum_i w_i^2 (f_i - F)^2)``.

        For uniform weights this is ``std(n_r <phi>_i) / sqrt(S)`` (central limit theorem).
        """
        a, single = self._state(kappa, v)
        if not single:
            raise ValueError(f"kappa must have shape ({self.rank},) here")
        mu, var, _, _ = self._stats(a, self._delta(bulk_variance))
        rate = gaussian_moments(self.phi, mu[0], var[0], ("phi",))["phi"]
        terms = self._mean_n * rate[:, None]
        mean = self._w @ terms
        return np.sqrt((self._w**2) @ (terms - mean) ** 2)


class FiniteLatentDynamics(SampledLatentDynamics):
    """Exact latent dynamics of a finite low-rank network ``J = M N^T / N`` (no random bulk).

    If ``x(0) = M kappa(0) + I v(0)``, the state stays in ``span(M, I)`` and::

        dkappa_r/dt = -kappa_r + (1/N) sum_i N_ir phi(sum_s M_is kappa_s + sum_k I_ik v_k)
        dv/dt = -v + u

    reproduce ``dx/dt = -x + J phi(x) + I u`` exactly (no ``1/sqrt(N)`` error). With
    ``bulk_variance > 0`` it is instead the mean-field theory of ``J = g chi + M N^T / N`` for
    these quenched loadings.

    Parameters
    ----------
    m, n_vecs : array (N, R) or (N,)
        Left and right loadings.
    input_weights : array (N, K) or (N,), optional
        ``I``.
    phi, bulk_variance
        As for `GaussianLatentDynamics`.
    """

    def __init__(
        self,
        m: Any,
        n_vecs: Any,
        input_weights: Any = None,
        *,
        phi: str | Nonlinearity = "tanh",
        bulk_variance: float = 0.0,
    ) -> None:
        left = check_array("m", m, ndim=(1, 2))
        left = left[:, None] if left.ndim == 1 else left
        right = check_array("n_vecs", n_vecs, ndim=(1, 2))
        right = right[:, None] if right.ndim == 1 else right
        if right.shape != left.shape:
            raise ValueError(f"n_vecs must have the shape of m, {left.shape}, got {right.shape}")
        blocks = [left, right]
        if input_weights is not None:
            inp = check_array("input_weights", input_weights, ndim=(1, 2))
            inp = inp[:, None] if inp.ndim == 1 else inp
            if inp.shape[0] != left.shape[0]:
                raise ValueError(f"input_weights must have {left.shape[0]} rows, "
                                 f"got {inp.shape}")
            blocks.append(inp)
        super().__init__(np.concatenate(blocks, axis=1), rank=left.shape[1], phi=phi,
                         bulk_variance=bulk_variance)

    @classmethod
    def from_connectivity(
        cls, connectivity: Any, input_weights: Any = None, *, phi: str | Nonlinearity = "tanh"
    ) -> FiniteLatentDynamics:
        """From a `rnndyn.connectivity.LowRankConnectivity` (its ``left`` and ``right``)."""
        left = getattr(connectivity, "left", None)
        right = getattr(connectivity, "right", None)
        if left is None or right is None:
            raise ValueError("connectivity must be low-rank (have `left` and `right` loadings)")
        return cls(left, right, input_weights, phi=phi)
