"""rnndyn: theory, simulation, training and inference of recurrent neural network models.

The top-level package stays light (no torch import) so that ``rnndyn.theory`` can be used with
NumPy/SciPy alone; the subpackages are imported on first attribute access::

    import rnndyn
    conn = rnndyn.connectivity.gaussian(1000, g=2.0, seed=0)
    net = rnndyn.simulate.Network(conn, phi="tanh")
    result = rnndyn.simulate.simulate(net, t_max=100.0, dt=0.1, seed=1)
"""

from __future__ import annotations

import importlib
from typing import Any

from rnndyn._errors import ConvergenceError, SimulationError

__version__ = "0.1.0"

__all__ = ["ConvergenceError", "SimulationError", "__version__"]

_SUBPACKAGES = {
    "analysis", "connectivity", "io", "models", "nonlinearities", "plot", "simulate", "theory",
    "train",
}


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"rnndyn.{name}")
    raise AttributeError(f"module 'rnndyn' has no attribute {name!r}")
