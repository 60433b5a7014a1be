"""Named model families built from connectivity and simulate, with their parameters.

A family keeps its simulator-side builder here and its theory in `rnndyn.theory` under the
same name (``models/multiregion.py`` <-> ``theory/multiregion.py``).

Modules
-------
multiregion
    Regions with within-region disorder talking through low-rank communication subspaces,
    parameterised by the effective-interaction tensor (Clark & Beiran 2024).
"""

from __future__ import annotations

from rnndyn.models.multiregion import MultiRegionModel, draw_multiregion_loadings

__all__ = ["MultiRegionModel", "draw_multiregion_loadings"]
