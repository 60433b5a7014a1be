"""Multi-region connectivity: random blocks within regions plus low-rank couplings.

The construction follows multi-region low-rank RNN models (e.g. Perich et al. 2020;
Clark, Abbott & Litwin-Kumar 2024, "Structure of activity in multiregion recurrent neural
networks"): each region r has N_r neurons, a dense random recurrent block, and communicates
with region r (including itself) through low-rank "communication subspaces".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_array, check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.connectivity.base import Connectivity
from rnndyn.connectivity.dense_matrix import read_only_copy

CouplingKey = tuple[int, int]


def _check_sizes(sizes: Any) -> tuple[int, ...]:
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence | np.ndarray):
        raise ValueError(f"sizes must be a sequence of positive integers, got {sizes!r}")
    if len(sizes) == 0:
        raise ValueError("sizes must contain at least one region size, got an empty sequence")
    return tuple(check_int(f"sizes[{index}]", size, low=1) for index, size in enumerate(sizes))


def _check_gains(gains: Any, n_regions: int) -> np.ndarray:
    if np.ndim(gains) == 0:
        gain = check_number("gains", gains, low=0.0)
        return np.full(n_regions, gain)
    if isinstance(gains, str | bytes) or len(gains) != n_regions:
        raise ValueError(
            f"gains must be a number or a sequence of length len(sizes) = {n_regions}, "
            f"got {gains!r}"
        )
    return np.array(
        [check_number(f"gains[{index}]", gain, low=0.0) for index, gain in enumerate(gains)]
    )


def _check_coupling_key(key: Any, n_regions: int) -> CouplingKey:
    valid = (
        isinstance(key, tuple)
        and len(key) == 2
        and all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in key)
        and all(0 <= i < n_regions for i in key)
    )
    if not valid:
        raise ValueError(
            f"couplings keys must be (target, source) pairs of region indices in "
            f"[0, {n_regions - 1}], got {key!r}"
        )
    return int(key[0]), int(key[1])


def _check_coupling_arrays(
    key: CouplingKey, value: Any, sizes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    target, source = key
    name = f"couplings[{key}]"
    if isinstance(value, np.ndarray) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(
            f"{name} must be an int rank >= 1 or a pair (U, V) of arrays, got {value!r}"
        )
    arrays = []
    for label, array, rows in (("U", value[0], sizes[target]), ("V", value[1], sizes[source])):
        array = check_array(f"{name} {label}", array, ndim=(1, 2))
        if array.ndim == 1:
            array = array[:, None]
        if array.shape[0] != rows or array.shape[1] == 0:
            raise ValueError(
                f"{name} {label} must have shape ({rows}, rank >= 1) to match "
                f"sizes[{target if label == 'U' else source}] = {rows}, got {array.shape}"
            )
        arrays.append(array)
    left, right = arrays
    if left.shape[1] != right.shape[1]:
        raise ValueError(
            f"{name} U and V must have the same number of columns (the rank), "
            f"got {left.shape[1]} and {right.shape[1]}"
        )
    return left, right


class MultiRegionConnectivity(Connectivity):
    """Block connectivity of R regions: dense random blocks plus low-rank couplings.

    J = blockdiag(g_1 chi_1, ..., g_R chi_R) + sum_{(r, r')} E_r U_{rr'} V_{rr'}^T E_{r'}^T / N_{r'}

    where E_r embeds region r's neurons. The (r, r') term maps activity of source region r'
    to target region r (r == r' is a within-region low-rank part). ``apply`` costs
    O(sum_r N_r^2 + N K) per state, K = total rank of the couplings, and never forms the
    (sum N_r)^2 matrix: equal region sizes use one batched matrix product over the stack of
    blocks, unequal sizes a loop over regions, and the couplings (x @ V_big) @ U_big^T.

    Parameters
    ----------
    within_blocks : sequence of array_like
        chi_r of shape (N_r, N_r), before the gains.
    gains : float or sequence of float >= 0
        g_r (a number is used for every region).
    couplings : mapping (target r, source r') -> (U, V), optional
        U of shape (N_r, rank), V of shape (N_r', rank); 1D arrays mean rank 1.
    params : dict, optional
        Recorded parameters; default ``{"kind": "multiregion", ...}`` with the arrays.

    Raises
    ------
    ValueError
        If a block is not square or finite, gains do not match the number of regions, or a
        coupling key or array does not match the regions.
    """

    def __init__(
        self,
        within_blocks: Sequence[Any],
        gains: Any,
        couplings: Mapping[CouplingKey, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(within_blocks, np.ndarray) or not isinstance(within_blocks, Sequence):
            raise ValueError(
                f"within_blocks must be a sequence of square arrays, got "
                f"{type(within_blocks).__name__}"
            )
        if len(within_blocks) == 0:
            raise ValueError("within_blocks must contain at least one block, got none")
        blocks = []
        for index, block in enumerate(within_blocks):
            block = check_array(f"within_blocks[{index}]", block, ndim=2)
            if block.shape[0] != block.shape[1] or block.shape[0] == 0:
                raise ValueError(
                    f"within_blocks[{index}] must be a non-empty square array, got {block.shape}"
                )
            blocks.append(read_only_copy(block))
        self._sizes = tuple(block.shape[0] for block in blocks)
        self._gains = read_only_copy(_check_gains(gains, len(blocks)))
        self._within = blocks
        self._couplings = self._check_couplings(couplings)
        offsets = np.cumsum((0, *self._sizes))
        self._slices = [slice(int(start), int(stop)) for start, stop in itertools.pairwise(offsets)]
        self._input_big, self._readout_big, self._labels = self._stack_couplings()
        if params is None:
            params = {
                "kind": "multiregion",
                "sizes": list(self._sizes),
                "gains": self._gains,
                "within_blocks": list(self._within),
                "couplings": dict(self._couplings),
            }
        total = int(offsets[-1])
        super().__init__((total, total), params)

    def _check_couplings(
        self, couplings: Mapping[CouplingKey, Any] | None
    ) -> dict[CouplingKey, tuple[np.ndarray, np.ndarray]]:
        if couplings is None:
            return {}
        if not isinstance(couplings, Mapping):
            raise ValueError(
                f"couplings must be a mapping (target, source) -> (U, V) or None, "
                f"got {type(couplings).__name__}"
            )
        checked = {}
        for key, value in couplings.items():
            key = _check_coupling_key(key, len(self._sizes))
            left, right = _check_coupling_arrays(key, value, self._sizes)
            checked[key] = (read_only_copy(left), read_only_copy(right))
        return dict(sorted(checked.items()))

    def _stack_couplings(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        total = sum(self._sizes)
        n_columns = sum(left.shape[1] for left, _ in self._couplings.values())
        input_big = np.zeros((total, n_columns))
        readout_big = np.zeros((total, n_columns))
        labels = []
        column = 0
        for (target, source), (left, right) in self._couplings.items():
            rank = left.shape[1]
            columns = slice(column, column + rank)
            input_big[self._slices[target], columns] = left
            readout_big[self._slices[source], columns] = right / self._sizes[source]
            labels.extend((target, source, component) for component in range(rank))
            column += rank
        return read_only_copy(input_big), read_only_copy(readout_big), labels

    # ----------------------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        """N_r for each region."""
        return self._sizes

    @property
    def n_regions(self) -> int:
        """R."""
        return len(self._sizes)

    @property
    def gains(self) -> np.ndarray:
        """g_r for each region (read-only float64)."""
        return self._gains

    @property
    def region_slices(self) -> list[slice]:
        """Slice of the neuron axis holding each region."""
        return list(self._slices)

    @property
    def region_labels(self) -> np.ndarray:
        """Region index of each neuron, int array of length n."""
        return np.repeat(np.arange(self.n_regions), self._sizes)

    @property
    def within_blocks(self) -> list[np.ndarray]:
        """chi_r, the random within-region blocks before the gains (read-only)."""
        return list(self._within)

    @property
    def random_blocks(self) -> list[np.ndarray]:
        """g_r chi_r, the diagonal blocks of the random part of J (new arrays)."""
        return [gain * block for gain, block in zip(self._gains, self._within, strict=True)]

    @property
    def couplings(self) -> dict[CouplingKey, tuple[np.ndarray, np.ndarray]]:
        """(target, source) -> (U, V), float64 read-only, sorted by key."""
        return dict(self._couplings)

    @property
    def coupling_rank(self) -> int:
        """K, the total rank of all couplings."""
        return self._input_big.shape[1]

    def readout_vectors(self) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """Vectors reading out the cross-region currents.

        Column k of V_big, for component c of coupling (r, r'), holds V_{rr'}[:, c] / N_{r'}
        on the neurons of source r' and zero elsewhere, so that

            (phi(x) @ V_big)[k] = V_{rr'}[:, c]^T phi(x_{r'}) / N_{r'}

        is the current that region r' sends to region r along U_{rr'}[:, c].

        Returns
        -------
        readout : numpy.ndarray of shape (n, K)
        labels : list of (target, source, component), one per column
        """
        return self._readout_big.copy(), list(self._labels)

    def input_vectors(self) -> np.ndarray:
        """U_big of shape (n, K): column k holds U_{rr'}[:, c] on the neurons of target r.

        J = blockdiag(g_r chi_r) + U_big @ V_big^T, with V_big from `readout_vectors`.
        """
        return self._input_big.copy()

    # ----------------------------------------------------------------------------------------
    def _equal_sizes(self) -> bool:
        return len(set(self._sizes)) == 1

    def _prepare(self, device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
        scaled = self.random_blocks
        tensors: dict[str, Any] = {}
        if not np.any(self._gains):
            pass  # no disorder: J is low-rank and costs O(N K) per product
        elif self._equal_sizes() and np.all(self._gains):
            # Stored transposed so that bmm(x_r, W_r^T) gives x_r @ W_r^T for every region r.
            stacked = np.stack([block.T for block in scaled])
            tensors["stacked_transposed"] = torch.tensor(stacked, dtype=dtype, device=device)
        else:
            # A region without disorder gets no block (None): it adds zeros, not an N^2 product.
            tensors["blocks"] = [
                torch.tensor(block, dtype=dtype, device=device) if gain != 0 else None
                for block, gain in zip(scaled, self._gains, strict=True)
            ]
        if self.coupling_rank > 0:
            tensors["readout"] = torch.tensor(self._readout_big, dtype=dtype, device=device)
            tensors["input"] = torch.tensor(self._input_big, dtype=dtype, device=device)
        return tensors

    def _apply_2d(self, x: torch.Tensor, tensors: dict[str, Any]) -> torch.Tensor:
        batch = x.shape[0]
        if "stacked_transposed" in tensors:
            size = self._sizes[0]
            per_region = x.reshape(batch, self.n_regions, size).transpose(0, 1)
            out = torch.bmm(per_region, tensors["stacked_transposed"])
            out = out.transpose(0, 1).reshape(batch, self.n)
        elif "blocks" in tensors:
            out = torch.cat(
                [
                    torch.nn.functional.linear(x[:, region], block) if block is not None
                    else torch.zeros_like(x[:, region])
                    for region, block in zip(self._slices, tensors["blocks"], strict=True)
                ],
                dim=1,
            )
        else:
            out = torch.zeros_like(x)
        if "readout" in tensors:
            # out + (x @ V_big) @ U_big^T in one fused call.
            out = torch.addmm(out, x @ tensors["readout"], tensors["input"].T)
        return out

    def to_dense(self) -> np.ndarray:
        """Return J as a new float64 (n, n) array."""
        matrix = self._input_big @ self._readout_big.T
        for region, block in zip(self._slices, self.random_blocks, strict=True):
            matrix[region, region] += block
        return matrix


def multiregion(
    sizes: Sequence[int],
    gains: float | Sequence[float],
    couplings: Mapping[CouplingKey, int | tuple[Any, Any]] | None = None,
    seed: Seed = None,
) -> MultiRegionConnectivity:
    """Multi-region network: random within-region blocks plus low-rank couplings.

    J_{rr} = g_r chi_r + U_{rr} V_{rr}^T / N_r,   J_{rr'} = U_{rr'} V_{rr'}^T / N_{r'} (r != r')

    with (chi_r)_ij ~ N(0, 1 / N_r) i.i.d., J_{rr'} the block from source region r' to target
    region r, and a term only for the pairs listed in ``couplings``.

    Random draws, in this order from ``numpy.random.default_rng(seed)``: chi_r for r = 0..R-1
    (``standard_normal((N_r, N_r)) / sqrt(N_r)``), then for every coupling given as a rank, in
    increasing (target, source) order, U (``standard_normal((N_r, rank))``) then V
    (``standard_normal((N_r', rank))``). Couplings given as arrays draw nothing.

    Parameters
    ----------
    sizes : sequence of int >= 1
        N_r; n = sum_r N_r.
    gains : float or sequence of float >= 0
        g_r, one per region (a number is used for every region).
    couplings : mapping (target r, source r') -> int or (U, V), optional
        An int is a rank >= 1 with U, V entries i.i.d. N(0, 1); a pair gives U of shape
        (N_r, rank) and V of shape (N_r', rank) (1D arrays mean rank 1).
    seed : int, numpy.random.Generator or None

    Returns
    -------
    MultiRegionConnectivity
        ``kind == "multiregion"``; ``couplings`` holds the drawn arrays.

    Raises
    ------
    ValueError
        If sizes are not positive integers, gains do not match the number of regions or are
        negative, a coupling key is not a pair of region indices, a rank is < 1, an array has
        the wrong shape or non-finite entries, or seed is invalid.
    """
    sizes = _check_sizes(sizes)
    gain_values = _check_gains(gains, len(sizes))
    requested: dict[CouplingKey, Any] = {}
    if couplings is not None:
        if not isinstance(couplings, Mapping):
            raise ValueError(
                f"couplings must be a mapping (target, source) -> rank or (U, V), or None, "
                f"got {type(couplings).__name__}"
            )
        for key, value in couplings.items():
            key = _check_coupling_key(key, len(sizes))
            if isinstance(value, int | np.integer) and not isinstance(value, bool):
                requested[key] = check_int(f"couplings[{key}]", value, low=1)
            else:
                requested[key] = _check_coupling_arrays(key, value, sizes)
    rng, seed_record = resolve_seed(seed)
    within = [rng.standard_normal((size, size)) / math.sqrt(size) for size in sizes]
    drawn = {}
    for key, value in sorted(requested.items()):
        if isinstance(value, int):
            target, source = key
            left = rng.standard_normal((sizes[target], value))
            right = rng.standard_normal((sizes[source], value))
            drawn[key] = (left, right)
        else:
            drawn[key] = value
    params = {
        "kind": "multiregion",
        "sizes": list(sizes),
        "gains": gain_values.tolist(),
        "couplings": {
            key: value if isinstance(value, int) else {"U": value[0], "V": value[1]}
            for key, value in sorted(requested.items())
        },
        "seed": seed_record,
    }
    return MultiRegionConnectivity(within, gain_values, drawn, params)
