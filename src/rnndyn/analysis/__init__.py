"""Analysis of rate networks: Lyapunov exponents (more tools arrive with the analysis issue).

Modules
-------
lyapunov
    Tangent-space (Benettin/QR) estimate of the largest Lyapunov exponents of a `Network`.
"""

from __future__ import annotations

from rnndyn.analysis.lyapunov import LyapunovResult, lyapunov_spectrum

__all__ = ["LyapunovResult", "lyapunov_spectrum"]
