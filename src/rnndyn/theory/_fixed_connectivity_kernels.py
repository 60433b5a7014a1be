"""Scalar kernels of the fixed-connectivity theory: transforms of the residual autocorrelation.

Kept apart from `rnndyn.theory.fixed_connectivity` (the matrices) because they are pure
functions of one autocorrelation ``C(tau)`` (even, decaying like ``exp(-k |tau|)``) and are
tested on closed forms (exponential autocorrelations).

``causal_filter`` computes, for complex rates ``alpha`` with ``Re alpha > 0``::

    F(alpha, t) = int_0^inf e^{-alpha s} C(t - s) ds = int_{-inf}^t e^{-alpha (t - u)} C(u) du

the inverse Fourier transform of ``S(omega) / (alpha + i omega)`` (``S`` the transform of C). F
solves ``dF/dt = -alpha F + C(t)`` from ``F(-L) = 0`` (C is negligible before -L), which is
marched with the exponential trapezoid rule: exact for C linear over each step, so second
order in the step whatever ``alpha`` (no stiffness limit for large ``|alpha| h``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Autocorrelation = Callable[[np.ndarray], np.ndarray]


def _panel_weights(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For z = alpha h: (e^{-z}, w_old, w_new), the exact weights of
    ``int_0^h e^{-alpha (h - s)} f(s) ds`` for f linear, in units of h:
    w_old multiplies f(0) and w_new f(h)."""
    decay = np.exp(-z)
    small = np.abs(z) < 1e-3
    safe = np.where(small, 1.0, z)
    # int_0^1 e^{-z (1 - u)} (1 - u) du and int_0^1 e^{-z (1 - u)} u du; series where z -> 0
    # (their closed forms cancel catastrophically there).
    w_new = np.where(small, 0.5 - z / 6 + z**2 / 24, (z - 1 + decay) / safe**2)
    w_old = np.where(small, 0.5 - z / 3 + z**2 / 8, (1 - decay * (1 + z)) / safe**2)
    return decay, w_old, w_new


def causal_filter(alpha: np.ndarray, autocorrelation: Autocorrelation, times: np.ndarray,
                  *, decay_time: float, step: float) -> np.ndarray:
    """``F(alpha_k, t_j)`` of the module docstring, shape (len(alpha), len(times)).

    Parameters
    ----------
    alpha : complex array (K,)
        Rates with positive real part.
    autocorrelation : callable
        ``C(tau)`` for an array of tau (even in tau).
    times : array (T,)
        Where F is wanted (any order, any values).
    decay_time : float
        C(tau) is negligible for ``|tau| > decay_time``; the march starts at
        ``min(times) - decay_time`` (and before ``-decay_time``).
    step : float
        Largest march step; the grid also contains every requested time exactly.
    """
    alpha = np.asarray(alpha, dtype=complex)
    times = np.asarray(times, dtype=float)
    start = min(float(times.min()), 0.0) - decay_time
    stop = float(times.max())
    uniform = np.arange(start, stop + step, step)
    grid = np.unique(np.concatenate([uniform[uniform < stop], times]))
    values = autocorrelation(grid)
    out = np.empty((alpha.size, times.size), dtype=complex)
    wanted = {float(t): [] for t in times}
    for j, t in enumerate(times):
        wanted[float(t)].append(j)
    f = np.zeros(alpha.size, dtype=complex)
    weights: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if float(grid[0]) in wanted:
        out[:, wanted[float(grid[0])]] = f[:, None]
    for n in range(1, grid.size):
        h = float(grid[n] - grid[n - 1])
        key = round(h, 12)
        if key not in weights:
            weights[key] = _panel_weights(alpha * h)
        decay, w_old, w_new = weights[key]
        f = decay * f + h * (w_old * values[n - 1] + w_new * values[n])
        columns = wanted.get(float(grid[n]))
        if columns:
            out[:, columns] = f[:, None]
    return out


def cosine_transform(autocorrelation: Autocorrelation, omega: np.ndarray, *,
                     decay_time: float, step: float) -> np.ndarray:
    """``S(omega) = int C(tau) e^{-i omega tau} dtau = 2 int_0^inf C(tau) cos(omega tau) dtau``
    for an even C, with panels exact for C linear on each (accurate at any omega once the
    step resolves C). Returns an array shaped like ``omega``."""
    omega = np.asarray(omega, dtype=float)
    grid = np.arange(0.0, decay_time + step, step)
    values = autocorrelation(grid)
    flat = omega.ravel()
    out = np.empty(flat.size)
    for start in range(0, flat.size, 64):  # bounded memory: 64 x len(grid) at a time
        w = flat[start:start + 64, None]
        _, w_right, w_left = _panel_weights(1j * w * step)  # weights of C_n and C_{n+1}
        phase = np.exp(-1j * w * grid[None, :-1])
        panels = phase * (w_left * values[None, :-1] + w_right * values[None, 1:])
        out[start:start + 64] = 2.0 * step * panels.sum(axis=1).real
    return out.reshape(omega.shape)
