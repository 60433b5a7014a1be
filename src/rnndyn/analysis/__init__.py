"""Analysis of rate networks (more tools arrive with the analysis issue).

Modules
-------
lyapunov
    Tangent-space (Benettin/QR) estimate of the largest Lyapunov exponents of a `Network`.
covariance
    Covariance matrices from recorded activity (with block splits that measure their own
    sampling noise) and entry-by-entry agreement between a predicted and a measured matrix.
linear_response
    Mean response to weak pulses along a network's own trajectory (finite differences over
    batched copies).
"""

from __future__ import annotations

from rnndyn.analysis.covariance import (
    MatrixAgreement,
    covariance_from_samples,
    matrix_agreement,
)
from rnndyn.analysis.linear_response import ResponseEstimate, measure_response
from rnndyn.analysis.lyapunov import LyapunovResult, lyapunov_spectrum

__all__ = [
    "LyapunovResult",
    "MatrixAgreement",
    "ResponseEstimate",
    "covariance_from_samples",
    "lyapunov_spectrum",
    "matrix_agreement",
    "measure_response",
]
