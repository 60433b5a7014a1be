"""Covariance matrices estimated from recorded activity, and how well a prediction matches one.

Used to check `rnndyn.theory.fixed_connectivity` against simulations of the same J, and useful
on any recording: the estimate can be split into time blocks so that its own sampling noise is
measured (two halves of one run, compared with each other, bound how well any prediction can
agree with the whole run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnndyn._validation import check_int

__all__ = ["MatrixAgreement", "covariance_from_samples", "matrix_agreement"]

PARTS = ("offdiagonal", "diagonal", "all")


def covariance_from_samples(samples: Any, *, lag: int = 0, blocks: int = 1) -> np.ndarray:
    """Lagged covariance ``C_ij(lag) = <(X_i(t + lag) - m_i)(X_j(t) - m_j)>`` of samples.

    Parameters
    ----------
    samples : array (T, N)
        Equally spaced samples (time first), e.g. ``ds.x.isel(trial=0).values``.
    lag : int >= 0, default 0
        In samples.
    blocks : int >= 1, default 1
        Split the run into this many consecutive blocks and return one estimate per block
        (the means m_i are taken over the whole run, so the blocks differ by sampling noise
        only).

    Returns
    -------
    ndarray (N, N), or (blocks, N, N) when ``blocks > 1``
    """
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"samples must be a (time, neurons) array, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("samples contain NaN or infinite values")
    lag = check_int("lag", lag, low=0)
    blocks = check_int("blocks", blocks, low=1)
    length = (data.shape[0] - lag) // blocks
    if length < 2:
        raise ValueError(f"samples: {data.shape[0]} time points are too few for lag={lag} and "
                         f"blocks={blocks} (need at least 2 pairs per block)")
    centred = data - data.mean(axis=0)
    out = np.empty((blocks, data.shape[1], data.shape[1]))
    for b in range(blocks):
        start = b * length
        late = centred[start + lag:start + lag + length]
        early = centred[start:start + length]
        out[b] = late.T @ early / length
    return out[0] if blocks == 1 else out


@dataclass(frozen=True)
class MatrixAgreement:
    """How well a predicted matrix matches a measured one, over the chosen entries.

    Attributes
    ----------
    correlation : float
        Pearson correlation of the entries.
    relative_error : float
        ``||predicted - measured||_F / ||measured||_F`` over the entries.
    slope : float
        Least-squares slope of measured on predicted through the origin (1 for a prediction
        with the right scale).
    n_entries : int
    """

    correlation: float
    relative_error: float
    slope: float
    n_entries: int


def matrix_agreement(predicted: Any, measured: Any, part: str = "offdiagonal"
                     ) -> MatrixAgreement:
    """Compare two matrices entry by entry over ``part`` ("offdiagonal", "diagonal" or "all";
    the first two need square matrices); see `MatrixAgreement`."""
    p = np.asarray(predicted)
    m = np.asarray(measured)
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    if p.ndim != 2 or p.shape != m.shape:
        raise ValueError(f"predicted and measured must be matrices of one shape, got "
                         f"{p.shape} and {m.shape}")
    if part != "all" and p.shape[0] != p.shape[1]:
        raise ValueError(f"part={part!r} needs square matrices, got shape {p.shape} (use "
                         "part='all' for a block such as the responses to a subset of units)")
    if np.iscomplexobj(p) or np.iscomplexobj(m):
        raise ValueError("predicted and measured must be real (compare real and imaginary "
                         "parts separately)")
    if part == "offdiagonal":
        mask = ~np.eye(p.shape[0], dtype=bool)
    elif part == "diagonal":
        mask = np.eye(p.shape[0], dtype=bool)
    else:
        mask = np.ones(p.shape, dtype=bool)
    a, b = p[mask].astype(float), m[mask].astype(float)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("predicted and measured must be finite")
    norm = float(np.linalg.norm(b))
    if norm == 0:
        raise ValueError(f"measured is zero on the {part} entries: no relative error")
    spread = float(np.std(a) * np.std(b))
    correlation = float(np.mean((a - a.mean()) * (b - b.mean())) / spread) if spread > 0 \
        else float("nan")
    denominator = float(a @ a)
    slope = float(a @ b) / denominator if denominator > 0 else float("nan")
    return MatrixAgreement(correlation, float(np.linalg.norm(a - b)) / norm, slope, int(a.size))
