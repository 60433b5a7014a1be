"""Simulation of rate networks: models, integrators, streaming recorders and `simulate`.

``tau dx/dt = -x + J phi(x) + B u(t) + b + sigma xi(t)`` (`Network`) and the discrete map
``x_{t+1} = (1 - a) x_t + a phi(A x_t + B u_t + d)`` (`DiscreteNetwork`).
"""

from rnndyn.simulate.integrators import METHODS
from rnndyn.simulate.network import DiscreteNetwork, Network
from rnndyn.simulate.recorders import (
    Autocorrelation,
    MeanVariance,
    Projection,
    Recorder,
    RunInfo,
    Trajectory,
)
from rnndyn.simulate.run import simulate

__all__ = [
    "METHODS",
    "Autocorrelation",
    "DiscreteNetwork",
    "MeanVariance",
    "Network",
    "Projection",
    "Recorder",
    "RunInfo",
    "Trajectory",
    "simulate",
]
