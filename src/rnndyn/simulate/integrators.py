"""One-step integrators for ``tau dx/dt = -x + J phi(x) + e(t)`` with additive white noise.

Each stepper advances the state in place-friendly torch operations and returns the new state.
``e(t) = B u(t) + b`` is given as a function of time so that RK4 can evaluate it at its stages.

Noise is additive, ``tau dx = (...) dt + sigma dW``, and is added after the deterministic step.
Euler adds the Euler-Maruyama increment ``(sigma / tau) sqrt(dt) z``. RK4 and the exponential
integrator add the exact Ornstein-Uhlenbeck increment ``sigma sqrt((1 - exp(-2h)) / (2 tau)) z``
with ``h = dt / tau``: their deterministic decay of the leak is ``exp(-h)`` (to O(h^5) for RK4),
so they give the uncoupled stationary variance ``sigma^2 / (2 tau)`` without the O(h) bias that
an Euler-Maruyama increment would bring (for RK4 that bias is a factor ``2h / (1 - exp(-2h))``,
5% at h = 0.05). Euler's own stationary variance is ``sigma^2 / (tau (2 - h))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from rnndyn.simulate.network import Network

__all__ = ["METHODS", "make_stepper", "noise_scale"]

METHODS: tuple[str, ...] = ("rk4", "euler", "exp_euler")

ExternalInput = Callable[[float], torch.Tensor | None]
Stepper = Callable[[torch.Tensor, float], torch.Tensor]


def noise_scale(method: str, dt: float, tau: float) -> float:
    """Standard deviation of the per-step noise increment for unit ``sigma`` (see module doc)."""
    if method == "euler":
        return math.sqrt(dt) / tau
    return math.sqrt(-math.expm1(-2.0 * dt / tau) / (2.0 * tau))


def make_stepper(network: Network, method: str, dt: float, external: ExternalInput) -> Stepper:
    """Return ``step(x, t) -> x(t + dt)`` for the deterministic part of the dynamics.

    Parameters
    ----------
    network : Network
    method : {"rk4", "euler", "exp_euler"}
        Classical 4th-order Runge-Kutta; forward Euler; or the exponential (Euler) integrator
        ``x <- exp(-h) x + (1 - exp(-h)) (J phi(x) + e(t))``, ``h = dt / tau``, which treats the
        leak exactly and stays stable for any ``h`` of the linear part.
    dt : float
    external : callable
        ``t -> e(t)`` of shape (batch, n) or broadcastable, or None for no external input.
    """
    apply = network.connectivity.apply
    phi = network.phi.value
    h = dt / network.tau

    def recurrent(x: torch.Tensor, t: float) -> torch.Tensor:
        # J phi(x) + e(t): everything but the leak.
        out = apply(phi(x))
        ext = external(t)
        return out if ext is None else out.add_(ext)

    if method == "euler":
        def euler(x: torch.Tensor, t: float) -> torch.Tensor:
            return recurrent(x, t).mul_(h).add_(x, alpha=1.0 - h)
        return euler

    if method == "exp_euler":
        decay = math.exp(-h)
        gain = -math.expm1(-h)

        def exp_euler(x: torch.Tensor, t: float) -> torch.Tensor:
            return recurrent(x, t).mul_(gain).add_(x, alpha=decay)
        return exp_euler

    if method == "rk4":
        mid, half_h = 0.5 * dt, 0.5 * h

        def rk4(x: torch.Tensor, t: float) -> torch.Tensor:
            # k = tau dx/dt = recurrent - x at each stage state x + c h k, written with fused
            # in-place adds to keep allocations low.
            k1 = recurrent(x, t).sub_(x)
            k2 = recurrent(torch.add(x, k1, alpha=half_h), t + mid).sub_(x).sub_(k1, alpha=half_h)
            k3 = recurrent(torch.add(x, k2, alpha=half_h), t + mid).sub_(x).sub_(k2, alpha=half_h)
            k4 = recurrent(torch.add(x, k3, alpha=h), t + dt).sub_(x).sub_(k3, alpha=h)
            k1.add_(k2, alpha=2.0).add_(k3, alpha=2.0).add_(k4)
            return k1.mul_(h / 6.0).add_(x)
        return rk4

    raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
