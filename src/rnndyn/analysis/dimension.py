"""Dimension of recorded activity: PCA spectrum, participation ratio, components for a variance.

For the covariance ``C`` of the activity, with eigenvalues (PCA variances)
``lambda_1 >= ... >= lambda_N >= 0``:

- participation ratio ``PR = (sum_i lambda_i)^2 / sum_i lambda_i^2 = (tr C)^2 / tr(C^2)``,
  between 1 (one direction) and N (isotropic) (Gao et al. 2017; Clark, Abbott &
  Litwin-Kumar 2023);
- explained variance ``lambda_i / sum_j lambda_j`` and its cumulative sum;
- the number of components ``n(f) = min{ k : sum_{i <= k} lambda_i >= f sum_i lambda_i }``.

`theory_dimension` gives the fixed-connectivity theory's PR of chaotic activity for one J
(`rnndyn.theory.fixed_connectivity.LinearEquivalentNetwork.dimension`), to compare with
``participation_ratio`` of a simulation of the same J. The sample PR is biased downward by
finite sampling: for T independent samples of isotropic activity its expectation is about
``N / (1 + N / T)`` (the sample covariance's spectrum spreads, Marchenko-Pastur), and
correlated samples count for fewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnndyn._validation import check_number
from rnndyn.nonlinearities import Nonlinearity

__all__ = [
    "PCASpectrum",
    "n_components",
    "participation_ratio",
    "pca_spectrum",
    "theory_dimension",
]


@dataclass(frozen=True)
class PCASpectrum:
    """Variances along the principal components of some activity.

    Attributes
    ----------
    variances : ndarray (N,)
        Covariance eigenvalues, in decreasing order (negative rounding errors set to 0).
    components : ndarray (N, N) or None
        The principal directions as columns (None when not asked for).
    """

    variances: np.ndarray
    components: np.ndarray | None = None

    @property
    def explained(self) -> np.ndarray:
        """Fraction of the total variance along each component."""
        return self.variances / np.sum(self.variances)

    @property
    def cumulative(self) -> np.ndarray:
        """Fraction of the variance in the first k components, k = 1..N."""
        return np.cumsum(self.explained)

    @property
    def participation_ratio(self) -> float:
        """``(sum lambda)^2 / sum lambda^2``."""
        return float(np.sum(self.variances) ** 2 / np.sum(self.variances**2))

    def n_components(self, fraction: float = 0.9) -> int:
        """Fewest leading components that hold at least ``fraction`` of the variance."""
        fraction = check_number("fraction", fraction, low=0.0, high=1.0, low_inclusive=False)
        # A relative slack of 1e-12 keeps rounding from asking for one component too many.
        return int(np.searchsorted(self.cumulative, fraction * (1 - 1e-12)) + 1)


def _covariance(samples: Any, covariance: Any) -> np.ndarray:
    if (samples is None) == (covariance is None):
        raise ValueError("pass exactly one of samples and covariance")
    if covariance is not None:
        c = np.asarray(covariance, dtype=np.float64)
        if c.ndim != 2 or c.shape[0] != c.shape[1]:
            raise ValueError(f"covariance must be a square matrix, got shape {c.shape}")
        if not np.all(np.isfinite(c)):
            raise ValueError("covariance must be finite, got NaN or inf entries")
        if not np.allclose(c, c.T, rtol=1e-8, atol=1e-12 * max(1.0, float(np.abs(c).max()))):
            raise ValueError("covariance must be symmetric")
        return 0.5 * (c + c.T)
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim not in (2, 3):
        raise ValueError(f"samples must have shape (time, neurons) or (time, trials, neurons), "
                         f"got {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("samples must be finite, got NaN or inf entries")
    if data.shape[0] < 2:
        raise ValueError(f"samples must hold at least 2 time points, got {data.shape[0]}")
    # Each trial is centred on its own mean, then the trials are pooled.
    centred = (data - data.mean(axis=0)).reshape(-1, data.shape[-1])
    dof = centred.shape[0] - (1 if data.ndim == 2 else data.shape[1])
    return centred.T @ centred / dof


def pca_spectrum(samples: Any = None, *, covariance: Any = None,
                 components: bool = False) -> PCASpectrum:
    """PCA variances (covariance eigenvalues, decreasing) of samples or of a covariance.

    Parameters
    ----------
    samples : array (T, N) or (T, trials, N), optional
        Activity, time first (e.g. ``ds.x.values``); each trial is centred on its own mean.
    covariance : array (N, N), optional
        A covariance matrix instead of samples (exactly one of the two).
    components : bool, default False
        Also return the principal directions.

    Raises
    ------
    ValueError
        Both or neither input, a wrong shape, non-finite entries, zero variance.
    """
    c = _covariance(samples, covariance)
    if components:
        values, vectors = np.linalg.eigh(c)
        vectors = vectors[:, ::-1]
    else:
        values, vectors = np.linalg.eigvalsh(c), None
    values = np.clip(values[::-1], 0.0, None)
    if not np.any(values > 0):
        name = "covariance" if covariance is not None else "samples"
        raise ValueError(f"{name} has zero variance: the dimension is undefined")
    return PCASpectrum(values, vectors)


def participation_ratio(samples: Any = None, *, covariance: Any = None) -> float:
    """``PR = (tr C)^2 / tr(C^2)`` of the covariance of ``samples`` (or of ``covariance``).

    1 for activity along a single direction, N for isotropic activity; see the module
    docstring for the sampling bias. No eigendecomposition is needed (``tr(C^2)`` is the
    squared Frobenius norm).
    """
    c = _covariance(samples, covariance)
    frobenius = float(np.sum(c**2))
    if frobenius == 0:
        name = "covariance" if covariance is not None else "samples"
        raise ValueError(f"{name} has zero variance: the participation ratio is undefined")
    return float(np.trace(c)) ** 2 / frobenius


def n_components(samples: Any = None, fraction: float = 0.9, *, covariance: Any = None
                 ) -> int:
    """Fewest principal components that hold at least ``fraction`` of the variance."""
    return pca_spectrum(samples, covariance=covariance).n_components(fraction)


def theory_dimension(connectivity: Any, phi: str | Nonlinearity = "tanh", *,
                     variables: str = "x", correction: bool = True) -> float:
    """Participation ratio of chaotic activity predicted by the fixed-connectivity theory.

    ``PR = (tr C)^2 / tr(C^2)`` of the equal-time covariance of the linear-equivalent network
    of this J (`rnndyn.theory.fixed_connectivity.linear_equivalent`), for
    ``dx/dt = -x + J phi(x)``.

    Parameters
    ----------
    connectivity : array (N, N) or Connectivity
        The fixed J, chaotic with an odd ``phi``.
    phi : str or Nonlinearity, default "tanh"
    variables : {"x", "phi"}, default "x"
        Dimension of the currents x or of the rates phi(x).
    correction : bool, default True
        Include the O(1/sqrt(N)) off-diagonal covariances (False gives the leading order,
        an isotropic covariance with PR = N).

    Raises
    ------
    ValueError
        Where the theory does not apply (not chaotic, phi not odd, J far from i.i.d.); the
        message comes from `linear_equivalent`.
    """
    from rnndyn.theory.fixed_connectivity import linear_equivalent

    return float(linear_equivalent(connectivity, phi).dimension(variables,
                                                                correction=correction))
