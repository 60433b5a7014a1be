"""Exceptions shared across rnndyn."""

from __future__ import annotations


class ConvergenceError(RuntimeError):
    """A solver did not reach its tolerance; the message gives the residual and iterations."""


class SimulationError(RuntimeError):
    """A simulation could not continue, e.g. the state became non-finite (blow-up)."""
