"""Sums of connectivities, e.g. random bulk plus low-rank structure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse.linalg
import torch

from rnndyn.connectivity.base import Connectivity


class SumConnectivity(Connectivity):
    """J = J_1 + J_2 + ... applied term by term.

    ``apply`` is the sum of the terms' ``apply``, so each term keeps its own cost (e.g. a
    Gaussian bulk plus a rank-R part costs O(N^2 + N R) per state, not a new dense matrix).
    Nested sums are flattened.

    Parameters
    ----------
    terms : sequence of Connectivity
        At least one, all of the same shape.

    Raises
    ------
    ValueError
        If ``terms`` is empty, holds something other than a Connectivity, or shapes differ.
    """

    def __init__(self, terms: Sequence[Connectivity]) -> None:
        if isinstance(terms, Connectivity) or not isinstance(terms, Sequence) or not terms:
            raise ValueError(
                f"terms must be a non-empty sequence of Connectivity, got {terms!r}"
            )
        flat: list[Connectivity] = []
        for index, term in enumerate(terms):
            if not isinstance(term, Connectivity):
                raise ValueError(
                    f"terms[{index}] must be a Connectivity, got {type(term).__name__}"
                )
            if term.shape != terms[0].shape:
                raise ValueError(
                    f"terms[{index}] must have the shape of terms[0], {terms[0].shape}, "
                    f"got {term.shape}"
                )
            flat.extend(term.terms if isinstance(term, SumConnectivity) else [term])
        self._terms = tuple(flat)
        params = {"kind": "sum", "terms": [term.describe() for term in self._terms]}
        super().__init__(terms[0].shape, params)

    @property
    def terms(self) -> tuple[Connectivity, ...]:
        """The summed connectivities, nested sums flattened."""
        return self._terms

    def _prepare(self, device: torch.device, dtype: torch.dtype) -> None:
        # Each term caches its own tensors.
        return None

    def _apply_2d(self, x: torch.Tensor, tensors: Any) -> torch.Tensor:
        out = self._terms[0].apply(x)
        for term in self._terms[1:]:
            out = out + term.apply(x)
        return out

    def clear_cache(self) -> None:
        """Drop the cached device tensors of every term."""
        super().clear_cache()
        for term in self._terms:
            term.clear_cache()

    def to_dense(self) -> np.ndarray:
        """Return sum_k J_k as a new float64 array."""
        total = self._terms[0].to_dense()
        for term in self._terms[1:]:
            total += term.to_dense()
        return total

    def _scipy_operator(self) -> scipy.sparse.linalg.LinearOperator:
        operators = [
            scipy.sparse.linalg.aslinearoperator(term._scipy_operator()) for term in self._terms
        ]
        total = operators[0]
        for operator in operators[1:]:
            total = total + operator
        return total


def sum_connectivities(*connectivities: Connectivity) -> SumConnectivity:
    """Sum of connectivities with matching shapes.

    J = J_1 + J_2 + ... + J_K

    Also available as ``rnndyn.connectivity.sum`` and as ``J_1 + J_2``.

    Parameters
    ----------
    *connectivities : Connectivity
        One or more, all of the same shape.

    Returns
    -------
    SumConnectivity
        ``kind == "sum"``; ``params["terms"]`` lists the terms' `describe`.

    Raises
    ------
    ValueError
        If none is given, an argument is not a Connectivity, or shapes differ.
    """
    return SumConnectivity(list(connectivities))
