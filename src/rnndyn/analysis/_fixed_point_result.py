"""`FixedPoints`: the result of `rnndyn.analysis.fixed_points` searches, with NetCDF I/O.

Kept apart from the search (`rnndyn.analysis._fixed_point_search`) so that the container, its
saving and loading, and its plotting hook can be read without the optimiser. Import it from
`rnndyn.analysis.fixed_points` (or `rnndyn.analysis`).

Saved as NetCDF through `rnndyn.io.save` (atomic: temporary file, then rename), like simulation
results, so one loader and one file format serve the project; complex eigenvalues and
eigenvectors are stored as real and imaginary parts, readable by any NetCDF tool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from rnndyn.analysis import linear

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FixedPoints"]


@dataclass(frozen=True)
class FixedPoints:
    """Fixed and slow points with their linearisation.

    Attributes
    ----------
    points : ndarray (K, n)
    q : ndarray (K,)
        Speed ``|F(x)|^2 / 2`` at each point.
    is_fixed : ndarray of bool (K,)
        True for a zero of ``F`` (``max |F| <= tol``), False for a slow point.
    jacobians : ndarray (K, n, n)
        ``DF`` (flow) or the map's ``DG`` (`rnndyn.analysis.linear.jacobian`).
    eigenvalues : ndarray complex (K, n)
        Sorted by decreasing real part (flow) or modulus (map).
    eigenvectors : ndarray complex (K, n, k)
        Unit eigenvectors (columns) of the ``k`` leading eigenvalues.
    stability : ndarray of str (K,)
        "stable", "marginal" or "unstable".
    discrete : bool
        Whether the network is a map.
    latent : ndarray (K, R) or None
        ``kappa`` of each point (`find_fixed_points_latent` only): ``x = M kappa + B u + b``
        (flow) or ``x = phi(M kappa + B u + d)`` (map).
    parameters : dict
        Arguments and counts of the search.
    """

    points: np.ndarray
    q: np.ndarray
    is_fixed: np.ndarray
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    stability: np.ndarray
    discrete: bool
    latent: np.ndarray | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def stable(self) -> np.ndarray:
        """Boolean mask of the stable points."""
        return self.stability == "stable"

    def subset(self, mask: Any) -> FixedPoints:
        """The points selected by a boolean mask or index array."""
        pick = np.asarray(mask)
        return FixedPoints(
            self.points[pick], self.q[pick], self.is_fixed[pick], self.jacobians[pick],
            self.eigenvalues[pick], self.eigenvectors[pick], self.stability[pick],
            self.discrete, None if self.latent is None else self.latent[pick], self.parameters)

    def to_dataset(self) -> xr.Dataset:
        """As an xarray Dataset (dimensions point, neuron, neuron_in, mode)."""
        codes = np.array([linear.STABILITY_LABELS.index(s) for s in self.stability], np.int8)
        data = {
            "points": (("point", "neuron"), self.points),
            "q": (("point",), self.q),
            "is_fixed": (("point",), self.is_fixed.astype(np.int8)),
            "jacobians": (("point", "neuron", "neuron_in"), self.jacobians),
            "eigenvalues_real": (("point", "eigenvalue"), self.eigenvalues.real),
            "eigenvalues_imag": (("point", "eigenvalue"), self.eigenvalues.imag),
            "eigenvectors_real": (("point", "neuron", "mode"), self.eigenvectors.real),
            "eigenvectors_imag": (("point", "neuron", "mode"), self.eigenvectors.imag),
            "stability": (("point",), codes,
                          {"flag_values": [0, 1, 2],
                           "flag_meanings": " ".join(linear.STABILITY_LABELS)}),
        }
        if self.latent is not None:
            data["latent"] = (("point", "rank"), self.latent)
        return xr.Dataset(data, attrs={"rnndyn_kind": "fixed_points",
                                       "discrete": int(self.discrete),
                                       "parameters": self.parameters})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to NetCDF atomically (`rnndyn.io.save`); returns the path."""
        from rnndyn.io import save

        return save(self.to_dataset(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FixedPoints:
        """Read a file written by `save`."""
        from rnndyn.io import load, parameters

        ds = load(path)
        if ds.attrs.get("rnndyn_kind") != "fixed_points":
            raise ValueError(f"path: {str(path)!r} holds no FixedPoints "
                             f"(rnndyn_kind={ds.attrs.get('rnndyn_kind')!r})")
        labels = np.array(linear.STABILITY_LABELS)
        return cls(
            points=ds.points.values, q=ds.q.values, is_fixed=ds.is_fixed.values.astype(bool),
            jacobians=ds.jacobians.values,
            eigenvalues=ds.eigenvalues_real.values + 1j * ds.eigenvalues_imag.values,
            eigenvectors=ds.eigenvectors_real.values + 1j * ds.eigenvectors_imag.values,
            stability=labels[ds.stability.values.astype(int)],
            discrete=bool(ds.attrs["discrete"]),
            latent=ds.latent.values if "latent" in ds else None,
            parameters=parameters(ds))

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the points in a 2D projection (see `rnndyn.plot.spectra.fixed_points`)."""
        from rnndyn.plot.spectra import fixed_points

        return fixed_points(self, ax=ax, **kwargs)
