"""Low-rank connectivity J = M N^T / N (Mastrogiuseppe & Ostojic 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse.linalg
import torch

from rnndyn._validation import check_array, check_int
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.connectivity.base import Connectivity
from rnndyn.connectivity.dense_matrix import read_only_copy


def _as_loading_matrix(name: str, value: Any) -> np.ndarray:
    array = check_array(name, value, ndim=(1, 2))
    if array.ndim == 1:
        array = array[:, None]
    if 0 in array.shape:
        raise ValueError(f"{name} must have at least one row and one column, got {array.shape}")
    return array


class LowRankConnectivity(Connectivity):
    """Rank-R connectivity from left and right loading vectors.

    J = M N^T / N,   i.e. J_ij = (1/N) sum_r m_ir n_jr

    with M (``m``, the left vectors) and N (``n_vecs``, the right vectors) of shape (N, R) and
    N the number of neurons. ``apply`` computes (x @ N) @ M^T / N in O(N R) per state and
    never forms J.

    Parameters
    ----------
    m : array_like of shape (N, R) or (N,)
        Left (output) loading vectors; 1D means R = 1.
    n_vecs : array_like, same shape as ``m``
        Right (input-selection) loading vectors.
    params : dict, optional
        Recorded parameters; default ``{"kind": "low_rank", "m": ..., "n_vecs": ...}``.

    Raises
    ------
    ValueError
        If the arrays are not 1D/2D, are empty, contain NaN/inf or differ in shape.
    """

    def __init__(self, m: Any, n_vecs: Any, params: dict[str, Any] | None = None) -> None:
        left = _as_loading_matrix("m", m)
        right = _as_loading_matrix("n_vecs", n_vecs)
        if right.shape != left.shape:
            raise ValueError(
                f"n_vecs must have the shape of m, {left.shape}, got {right.shape}"
            )
        self._left = read_only_copy(left)
        self._right = read_only_copy(right)
        if params is None:
            params = {"kind": "low_rank", "m": self._left, "n_vecs": self._right}
        size = left.shape[0]
        super().__init__((size, size), params)

    @property
    def left(self) -> np.ndarray:
        """M, shape (N, R), read-only."""
        return self._left

    @property
    def right(self) -> np.ndarray:
        """N (the right vectors ``n_vecs``), shape (N, R), read-only."""
        return self._right

    @property
    def rank(self) -> int:
        """R, the number of loading-vector pairs (the rank of J if they are independent)."""
        return self._left.shape[1]

    def overlap_matrix(self) -> np.ndarray:
        """R x R overlap matrix whose eigenvalues are the nonzero eigenvalues of J.

        O = N^T M / N,   O_rs = (1/N) sum_i n_ir m_is

        If J v = lambda v with lambda != 0 then v = M a with O a = lambda a, because
        J M = M (N^T M / N).
        """
        return self._right.T @ self._left / self.n

    def _prepare(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        right_scaled = torch.tensor(self._right / self.n, dtype=dtype, device=device)
        left = torch.tensor(self._left, dtype=dtype, device=device)
        return right_scaled, left

    def _apply_2d(self, x: torch.Tensor, tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
        right_scaled, left = tensors
        return torch.nn.functional.linear(x @ right_scaled, left)

    def to_dense(self) -> np.ndarray:
        """Return J = M N^T / N as a new float64 (N, N) array."""
        return self._left @ self._right.T / self.n

    def _scipy_operator(self) -> scipy.sparse.linalg.LinearOperator:
        left, right, size = self._left, self._right, self.n

        def matmat(block: np.ndarray) -> np.ndarray:
            return left @ (right.T @ block) / size

        def matvec(vector: np.ndarray) -> np.ndarray:
            return matmat(np.asarray(vector).reshape(-1, 1)).ravel()

        return scipy.sparse.linalg.LinearOperator(
            (size, size), matvec=matvec, matmat=matmat, dtype=np.float64
        )


def low_rank(m: Any, n_vecs: Any) -> LowRankConnectivity:
    """Low-rank connectivity from given loading vectors.

    J = M N^T / N

    Parameters
    ----------
    m : array_like of shape (N, R) or (N,)
        Left loading vectors M (1D means R = 1).
    n_vecs : array_like, same shape as ``m``
        Right loading vectors N.

    Returns
    -------
    LowRankConnectivity
        ``kind == "low_rank"``; attributes ``left``, ``right``, ``rank``.

    Raises
    ------
    ValueError
        If the arrays are not 1D/2D, are empty, contain NaN/inf or differ in shape.
    """
    return LowRankConnectivity(m, n_vecs)


def _symmetric_square_root(name: str, covariance: np.ndarray) -> np.ndarray:
    """Return S = C^(1/2), the unique symmetric PSD square root, so that S S = C.

    Unlike a Cholesky factor it exists for singular C, and unlike an arbitrary eigenvector
    basis it does not depend on LAPACK's sign conventions, so draws repeat across machines.
    """
    scale = max(float(np.max(np.abs(covariance))), 1.0)
    if not np.allclose(covariance, covariance.T, rtol=0.0, atol=1e-12 * scale):
        asymmetry = float(np.max(np.abs(covariance - covariance.T)))
        raise ValueError(
            f"{name} must be symmetric, got max |C - C^T| = {asymmetry:.3g}"
        )
    symmetric = 0.5 * (covariance + covariance.T)
    eigenvalues, eigenvectors = np.linalg.eigh(symmetric)
    if eigenvalues[0] < -1e-10 * scale:
        raise ValueError(
            f"{name} must be positive semi-definite, got smallest eigenvalue {eigenvalues[0]:.6g}"
        )
    roots = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return (eigenvectors * roots) @ eigenvectors.T


def random_low_rank(
    n: int,
    rank: int,
    covariance: Any = None,
    mean: Any = None,
    seed: Seed = None,
) -> LowRankConnectivity:
    """Low-rank connectivity with Gaussian loading vectors.

    J = M N^T / n,   (m_i1..m_iR, n_i1..n_iR) ~ N(mean, covariance) i.i.d. over neurons i

    Each neuron's 2R loadings are drawn as ``mean + C^(1/2) z`` with z standard normal
    (``rng.standard_normal((n, 2 R))``) and C^(1/2) the symmetric square root. The first R
    coordinates are the left vectors M, the last R the right vectors N. The overlaps
    sigma_{m_r n_s} of ``covariance`` and the means set the low-rank dynamics (Beiran et al.
    2021); e.g. for R = 1 the nonzero eigenvalue of J tends to
    mean_m mean_n + cov(m, n) as n grows.

    Parameters
    ----------
    n : int >= 1
        Number of neurons.
    rank : int >= 1
        R.
    covariance : array_like of shape (2R, 2R), optional
        Symmetric positive semi-definite; default identity.
    mean : array_like of shape (2R,), optional
        Default zeros.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    LowRankConnectivity
        ``kind == "random_low_rank"``.

    Raises
    ------
    ValueError
        If n or rank is not a positive integer, covariance is not a finite symmetric PSD
        (2R, 2R) array, mean is not a finite (2R,) array, or seed is invalid.
    """
    n = check_int("n", n, low=1)
    rank = check_int("rank", rank, low=1)
    dim = 2 * rank
    square_root = None
    if covariance is not None:
        covariance = check_array("covariance", covariance, shape=(dim, dim))
        square_root = _symmetric_square_root("covariance", covariance)
        covariance = read_only_copy(covariance)
    if mean is not None:
        mean = read_only_copy(check_array("mean", mean, shape=(dim,)))
    rng, seed_record = resolve_seed(seed)
    loadings = rng.standard_normal((n, dim))
    if square_root is not None:
        loadings = loadings @ square_root
    if mean is not None:
        loadings += mean
    params = {
        "kind": "random_low_rank",
        "n": n,
        "rank": rank,
        "covariance": covariance,
        "mean": mean,
        "seed": seed_record,
    }
    return LowRankConnectivity(loadings[:, :rank], loadings[:, rank:], params)
