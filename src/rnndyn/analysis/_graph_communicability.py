"""Weighted communicability of a weight matrix, in numpy or (differentiably) in torch.

Public through `rnndyn.analysis.graph`; the torch path is what the seRNN spatial regulariser
of `rnndyn.train.constraints` differentiates.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
import scipy.linalg
import torch

from rnndyn._validation import check_choice
from rnndyn.analysis._graph_spatial import as_weight_array


@overload
def communicability(
    W: torch.Tensor, normalise: bool = True, *, strength: Literal["out", "in"] = "out"
) -> torch.Tensor: ...
@overload
def communicability(
    W: Any, normalise: bool = True, *, strength: Literal["out", "in"] = "out"
) -> np.ndarray: ...
def communicability(
    W: Any, normalise: bool = True, *, strength: Literal["out", "in"] = "out"
) -> np.ndarray | torch.Tensor:
    """Weighted communicability ``C = expm(S^(-1/2) |W| S^(-1/2))`` (Crofts & Higham 2009).

    ``S = diag(s)`` holds node strengths of the directed ``|W|``. Default ``"out"``:
    ``s_j = sum_i |W_ij|``, the column sums (total weight leaving j, since ``W[i, j]`` is
    j -> i). This is what seRNN computes: its Keras kernel ``U = W^T`` is normalised by its row
    sums, ``tf.reduce_sum(|U|, axis=1)``, so ``C`` here equals seRNN's matrix transposed and
    ``C[i, j]`` belongs to the connection ``W[i, j]``; the seRNN penalty is
    ``sum_ij |W_ij| C_ij d_ij`` (with C's diagonal zeroed). ``"in"`` uses the row sums.
    A node of zero strength gets ``s^(-1/2) = 0`` (its row and column of the exponent are 0).
    With ``normalise=False``, ``C = expm(|W|)`` (Estrada & Hatano 2008).

    Parameters
    ----------
    W : array or Tensor (N, N)
        Weights. A tensor is computed with ``torch.linalg.matrix_exp`` in W's dtype and
        device and keeps the autograd graph (for the seRNN regulariser); anything else gives
        a float64 ndarray through ``scipy.linalg.expm``. Both agree to round-off.
    normalise : bool
    strength : "out" or "in"

    Returns
    -------
    ndarray or Tensor (N, N)

    Raises
    ------
    ValueError
        If W is not a square matrix or has NaN or inf entries.
    """
    check_choice("strength", strength, ("out", "in"))
    axis = 0 if strength == "out" else 1
    if isinstance(W, torch.Tensor):
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
            raise ValueError(f"W must be a square (N, N) matrix with N >= 1, got shape "
                             f"{tuple(W.shape)}")
        if not torch.isfinite(W).all():
            raise ValueError("W must be finite, got NaN or inf entries")
        a = (W if W.is_floating_point() else W.to(torch.float64)).abs()
        if normalise:
            s = a.sum(dim=axis)
            tiny = torch.finfo(a.dtype).tiny
            inv = torch.where(s > 0, s.clamp_min(tiny).rsqrt(), torch.zeros_like(s))
            a = inv[:, None] * a * inv[None, :]
        return torch.linalg.matrix_exp(a)
    a = np.abs(as_weight_array(W))
    if normalise:
        s = a.sum(axis=axis)
        inv = np.divide(1.0, np.sqrt(s), out=np.zeros_like(s), where=s > 0)
        a = inv[:, None] * a * inv[None, :]
    return scipy.linalg.expm(a)
