"""Generalized synchronization of driven networks and invertible GS (Lu & Bassett 2020).

A network driven by ``u(t)``, ``tau dx/dt = -x + J phi(x) + B u(t) + b`` (or the map of a
`DiscreteNetwork`), is in *generalized synchronization* (GS) with its drive when its state
becomes a function of the drive's history, ``x(t) = Psi[u](t)``, whatever the initial state.

* Auxiliary-system test (Abarbanel, Rulkov & Sushchik 1996): copies started from different
  states under the same drive converge, ``d(t) = |x_i(t) - x_0(t)| -> 0``
  (`auxiliary_system_test`).
* Conditional Lyapunov exponent (Pecora & Carroll 1990): the largest growth rate of the
  tangent dynamics along the driven trajectory,
  ``tau dv/dt = -v + J (phi'(x(t)) * v)``; GS holds where it is negative
  (`conditional_lyapunov_exponent`). For ``phi = identity`` the tangent dynamics does not
  depend on the drive, and the exponent is ``max Re eig((J - I) / tau)`` exactly.
* Invertible GS (Lu & Bassett 2020, Chaos 30, 063133): if the synchronizing map Psi is
  invertible on the driver's attractor, a readout ``W_out`` with ``u ~ W_out phi(x) + c``
  exists; feeding it back (``u <- W_out phi(x) + c``) gives the autonomous network::

      tau dx/dt = -x + (J + B W_out) phi(x) + (b + B c)

  (again a plain `Network`: the readout is linear in the rates), which should reproduce the
  driver's attractor: its largest Lyapunov exponent, correlation dimension and power
  spectrum, and track the true trajectory for a few Lyapunov times (`invertible_gs_test`).

The functions live in private modules (`_driven_gs_tests`: auxiliary-system test and conditional
exponent; `_invertible_gs`: reservoir, readout and closed loop; `_drivers`: Lorenz/Rossler) and
are re-exported here, the place to import them from.
"""

from __future__ import annotations

# ``name as name`` imports are not part of the API (they are not in __all__): they were defined
# or imported here before this module was split, and stay importable from here.
from rnndyn.analysis._driven_gs_tests import (
    AuxiliaryTestResult,
    auxiliary_system_test,
    conditional_lyapunov_exponent,
)
from rnndyn.analysis._driven_gs_tests import InputSpec as InputSpec
from rnndyn.analysis._driven_gs_tests import _check_network as _check_network
from rnndyn.analysis._driven_gs_tests import _input_table as _input_table
from rnndyn.analysis._drivers import DRIVERS as DRIVERS
from rnndyn.analysis._drivers import (
    DriverTrajectory,
    driver_lyapunov_exponents,
    driver_trajectory,
)
from rnndyn.analysis._invertible_gs import (
    InvertibleGSResult,
    invertible_gs_test,
    reservoir_network,
)
from rnndyn.analysis._invertible_gs import _ridge as _ridge
from rnndyn.analysis.attractor import (
    CorrelationDimensionResult,
    correlation_dimension,
    power_spectrum,
)
from rnndyn.analysis.lyapunov import LyapunovResult as LyapunovResult

__all__ = [
    "AuxiliaryTestResult",
    "CorrelationDimensionResult",
    "DriverTrajectory",
    "InvertibleGSResult",
    "auxiliary_system_test",
    "conditional_lyapunov_exponent",
    "correlation_dimension",
    "driver_lyapunov_exponents",
    "driver_trajectory",
    "invertible_gs_test",
    "power_spectrum",
    "reservoir_network",
]
