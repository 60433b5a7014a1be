"""The `Connectivity` interface: a linear operator J acting on batches of neural states.

Concrete operators keep their data as float64 NumPy arrays and build, the first time `apply`
meets a (device, dtype) pair, the torch tensors they need on that device in that dtype. Later
calls are a dictionary lookup, so a simulation loop calling ``apply`` 10^5 times pays for the
conversion once.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from rnndyn._errors import ConvergenceError
from rnndyn._validation import check_choice, check_int

if TYPE_CHECKING:
    from rnndyn.connectivity.composite import SumConnectivity

_EIGS_START_SEED = 0
_MISSING = object()


class Connectivity(abc.ABC):
    """A linear operator J (n_out x n_in, normally square) acting on batches of states.

    ``apply(x)`` computes ``x @ J.T``, i.e. row b of the output is ``J x_b``.

    Subclasses implement `_prepare` (build the tensors for one device and dtype), `_apply_2d`
    (the product for a 2D batch using those tensors) and `to_dense`; they may override
    `_scipy_operator` to give `eigvals` a cheaper matrix-vector product.

    Parameters
    ----------
    shape : tuple of int
        ``(n_out, n_in)``.
    params : dict
        The parameters that built the operator; must contain ``"kind"``.
    """

    def __init__(self, shape: tuple[int, int], params: dict[str, Any]) -> None:
        if "kind" not in params:
            raise ValueError(f"params must contain a 'kind' entry, got keys {sorted(params)}")
        self._shape = (int(shape[0]), int(shape[1]))
        self._params = dict(params)
        self._device_cache: dict[Hashable, Any] = {}

    # ----------------------------------------------------------------------------------------
    # Shape and parameters
    # ----------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_out, n_in)``."""
        return self._shape

    @property
    def n(self) -> int:
        """Number of neurons, ``shape[0]`` (callers needing a square J check `shape`)."""
        return self._shape[0]

    @property
    def kind(self) -> str:
        """Name of the builder that made this operator, e.g. ``"gaussian"``."""
        return str(self._params["kind"])

    @property
    def params(self) -> dict[str, Any]:
        """The parameters that built the operator (a shallow copy; arrays are read-only)."""
        return dict(self._params)

    # ----------------------------------------------------------------------------------------
    # Application
    # ----------------------------------------------------------------------------------------
    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x @ J.T``: the operator applied to each row of ``x``.

        y[..., i] = sum_j J[i, j] x[..., j]

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_in)
            Floating point, on any device; normally (batch, n_in).

        Returns
        -------
        torch.Tensor of shape (..., n_out)
            Same device and dtype as ``x``; a new tensor (never a view of ``x`` or of the
            cached data), so callers may modify it in place. Differentiable in ``x``.

        Raises
        ------
        ValueError
            If ``x`` is not a floating point tensor whose last axis has length n_in.
        """
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise ValueError(f"x must have a floating point dtype, got {x.dtype}")
        n_out, n_in = self._shape
        if x.ndim == 0 or x.shape[-1] != n_in:
            raise ValueError(f"x must have shape (..., {n_in}), got {tuple(x.shape)}")
        key = (x.device, x.dtype)
        tensors = self._device_cache.get(key, _MISSING)
        if tensors is _MISSING:
            tensors = self._prepare(x.device, x.dtype)
            self._device_cache[key] = tensors
        if x.ndim == 2:
            return self._apply_2d(x, tensors)
        flat = x.reshape(-1, n_in)
        return self._apply_2d(flat, tensors).reshape(*x.shape[:-1], n_out)

    def clear_cache(self) -> None:
        """Drop the per-(device, dtype) tensors built by `apply` (they are rebuilt on demand)."""
        self._device_cache.clear()

    @abc.abstractmethod
    def _prepare(self, device: torch.device, dtype: torch.dtype) -> Any:
        """Build whatever `_apply_2d` needs on ``device`` in ``dtype``."""

    @abc.abstractmethod
    def _apply_2d(self, x: torch.Tensor, tensors: Any) -> torch.Tensor:
        """Return ``x @ J.T`` for ``x`` of shape (batch, n_in) (checked by `apply`)."""

    @abc.abstractmethod
    def to_dense(self) -> np.ndarray:
        """Return J as a new float64 array of shape (n_out, n_in)."""

    # ----------------------------------------------------------------------------------------
    # Spectrum
    # ----------------------------------------------------------------------------------------
    def eigvals(self, k: int | None = None, which: str = "LM") -> np.ndarray:
        """Eigenvalues of J (square operators only).

        Parameters
        ----------
        k : int or None
            None: all n eigenvalues, from the dense matrix (numpy.linalg.eigvals).
            An int in [1, n]: the k eigenvalues selected by ``which``, computed by ARPACK
            (scipy.sparse.linalg.eigs) on the structured operator, which never forms the dense
            matrix. ARPACK needs k < n - 1, so k >= n - 1 falls back to the dense computation.
        which : {"LM", "LR"}
            Largest magnitude |lambda| or largest real part.

        Returns
        -------
        numpy.ndarray of complex128
            Sorted by decreasing |lambda| ("LM") or decreasing real part ("LR"); ties broken by
            decreasing real part, then decreasing imaginary part.

        Raises
        ------
        ValueError
            If J is not square, ``k`` is not an int in [1, n] or ``which`` is unknown.
        rnndyn.ConvergenceError
            If ARPACK does not converge or fails.
        """
        which = check_choice("which", which, ("LM", "LR"))
        n_out, n_in = self._shape
        if n_out != n_in:
            raise ValueError(f"eigvals needs a square connectivity, got shape {self._shape}")
        if k is None:
            return _sort_eigenvalues(np.linalg.eigvals(self.to_dense()), which)
        k = check_int("k", k, low=1)
        if k > n_out:
            raise ValueError(f"k must be an integer in [1, {n_out}], got {k}")
        if k >= n_out - 1:
            return _sort_eigenvalues(np.linalg.eigvals(self.to_dense()), which)[:k]
        # A fixed start vector makes repeated calls return identical values.
        start = np.random.default_rng(_EIGS_START_SEED).standard_normal(n_out)
        try:
            values = scipy.sparse.linalg.eigs(
                self._scipy_operator(), k=k, which=which, v0=start, return_eigenvectors=False
            )
        except scipy.sparse.linalg.ArpackNoConvergence as error:
            raise ConvergenceError(
                f"ARPACK found {len(error.eigenvalues)} of k={k} eigenvalues ({which}) "
                f"of the {self.kind} connectivity before its iteration limit"
            ) from error
        except scipy.sparse.linalg.ArpackError as error:
            raise ConvergenceError(
                f"ARPACK failed for k={k} eigenvalues ({which}) of the {self.kind} "
                f"connectivity: {error}; eigvals(k=None) uses the dense matrix instead"
            ) from error
        return _sort_eigenvalues(values, which)

    def _scipy_operator(self) -> scipy.sparse.linalg.LinearOperator | scipy.sparse.sparray:
        """A SciPy operator computing J v through `apply` (float64, CPU) without forming J."""

        def matmat(block: np.ndarray) -> np.ndarray:
            block = np.asarray(block)
            if np.iscomplexobj(block):
                return matmat(block.real) + 1j * matmat(block.imag)
            columns = torch.from_numpy(np.ascontiguousarray(block.T, dtype=np.float64))
            with torch.no_grad():
                return self.apply(columns).numpy().T

        def matvec(vector: np.ndarray) -> np.ndarray:
            return matmat(np.asarray(vector).reshape(-1, 1)).ravel()

        return scipy.sparse.linalg.LinearOperator(
            self._shape, matvec=matvec, matmat=matmat, dtype=np.float64
        )

    # ----------------------------------------------------------------------------------------
    # Description, composition
    # ----------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """JSON-serialisable summary of the parameters.

        Arrays are replaced by ``{"shape": [...], "dtype": "..."}``; always contains ``"kind"``
        and ``"shape"``.
        """
        summary: dict[str, Any] = {"kind": self.kind, "shape": list(self._shape)}
        for name, value in self._params.items():
            if name not in summary:
                summary[name] = to_jsonable(value)
        return summary

    def __add__(self, other: object) -> SumConnectivity:
        from rnndyn.connectivity.composite import SumConnectivity

        if not isinstance(other, Connectivity):
            return NotImplemented
        return SumConnectivity([self, other])

    def __radd__(self, other: object) -> Connectivity:
        # builtins.sum starts from 0; treat it as the identity so sum([a, b]) works.
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented

    def __repr__(self) -> str:
        scalars = [
            f"{name}={value!r}"
            for name, value in self._params.items()
            if name != "kind" and isinstance(value, bool | int | float | str)
        ]
        fields = ", ".join([f"kind={self.kind!r}", f"shape={self._shape}", *scalars])
        return f"{type(self).__name__}({fields})"


def _sort_eigenvalues(values: np.ndarray, which: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.complex128)
    primary = np.abs(values) if which == "LM" else values.real
    # lexsort sorts by the last key first; negate for decreasing order.
    order = np.lexsort((-values.imag, -values.real, -primary))
    return values[order]


def to_jsonable(value: Any) -> Any:
    """Return ``value`` with arrays summarised and containers made JSON-serialisable.

    Arrays and tensors become ``{"shape": [...], "dtype": "..."}``, SciPy sparse matrices
    also report ``nnz`` and ``format``, NumPy scalars become Python scalars, tuples become
    lists and non-string dictionary keys become their ``str``.
    """
    if isinstance(value, np.ndarray | torch.Tensor):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if scipy.sparse.issparse(value):
        return {
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "nnz": int(value.nnz),
            "format": str(value.format),
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {
            (key if isinstance(key, str) else str(key)): to_jsonable(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
