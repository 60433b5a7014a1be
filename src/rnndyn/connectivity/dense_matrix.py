"""Dense connectivity: an explicit (n_out, n_in) matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse.linalg
import torch

from rnndyn._validation import check_array
from rnndyn.connectivity.base import Connectivity


def read_only_copy(array: np.ndarray) -> np.ndarray:
    """Return a float64 copy of ``array`` that cannot be modified in place.

    Connectivity data are cached on devices, so a later in-place edit would silently make the
    cache disagree with the NumPy data.
    """
    copy = np.array(array, dtype=np.float64, copy=True)
    copy.setflags(write=False)
    return copy


class DenseConnectivity(Connectivity):
    """J given as a full matrix; ``apply`` is one matrix product, O(n_out n_in) per state.

    Parameters
    ----------
    matrix : array_like of shape (n_out, n_in)
        Finite real entries; copied to float64.
    params : dict, optional
        Parameters recorded for `describe`; default ``{"kind": "dense", "matrix": matrix}``.

    Raises
    ------
    ValueError
        If ``matrix`` is not 2D, has an empty axis or non-finite entries.
    """

    def __init__(self, matrix: Any, params: dict[str, Any] | None = None) -> None:
        matrix = check_array("matrix", matrix, ndim=2)
        if 0 in matrix.shape:
            raise ValueError(
                f"matrix must have at least one row and one column, got shape {matrix.shape}"
            )
        self._matrix = read_only_copy(matrix)
        if params is None:
            params = {"kind": "dense", "matrix": self._matrix}
        super().__init__(self._matrix.shape, params)

    @property
    def matrix(self) -> np.ndarray:
        """J as a read-only float64 array (use `to_dense` for a writable copy)."""
        return self._matrix

    def _prepare(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(self._matrix, dtype=dtype, device=device)

    def _apply_2d(self, x: torch.Tensor, tensors: torch.Tensor) -> torch.Tensor:
        # linear(x, W) = x @ W.T without materialising the transpose.
        return torch.nn.functional.linear(x, tensors)

    def to_dense(self) -> np.ndarray:
        """Return J as a new float64 array of shape (n_out, n_in)."""
        return self._matrix.copy()

    def _scipy_operator(self) -> scipy.sparse.linalg.LinearOperator:
        return scipy.sparse.linalg.aslinearoperator(self._matrix)


def dense(matrix: Any) -> DenseConnectivity:
    """Wrap a user-given matrix as a connectivity.

    J = matrix

    Parameters
    ----------
    matrix : array_like of shape (n_out, n_in)
        Finite real entries (copied to float64).

    Returns
    -------
    DenseConnectivity
        ``kind == "dense"``.

    Raises
    ------
    ValueError
        If ``matrix`` is not 2D, has an empty axis or non-finite entries.
    """
    return DenseConnectivity(matrix)
