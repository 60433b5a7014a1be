"""Mean-field theory of rate networks: pure functions of parameters (NumPy/SciPy, no torch).

Submodules
----------
gaussian
    Gaussian averages of nonlinearities (the building block of every mean-field equation).
"""

from __future__ import annotations

from rnndyn.theory import gaussian
from rnndyn.theory.gaussian import (
    activity_correlation,
    gaussian_expectation,
    gaussian_pair_expectation,
    mean_activity,
)

__all__ = [
    "activity_correlation",
    "gaussian",
    "gaussian_expectation",
    "gaussian_pair_expectation",
    "mean_activity",
]
