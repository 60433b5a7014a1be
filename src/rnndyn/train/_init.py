"""Argument checks and initial weights of `RateRNN` (kept apart so the model module stays short).

All draws are made in float64 NumPy from one Generator, in a fixed order (input weights,
recurrent weights, readout), so a seed gives the same network on every device and dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnndyn._validation import check_array, check_int, check_number


def check_tau(tau: Any, n: int, dt: float) -> np.ndarray:
    """``tau`` as a float64 array of shape () or (n,), > 0 and >= dt (alpha = dt/tau <= 1)."""
    if np.ndim(tau) == 0:
        array = np.asarray(check_number("tau", tau, low=0.0, low_inclusive=False))
    else:
        array = check_array("tau", tau, shape=(n,))
        if np.any(array <= 0):
            raise ValueError("tau must be > 0 for every neuron")
    if np.any(array < dt * (1 - 1e-12)):
        raise ValueError(f"tau must be >= dt={dt:g} (alpha = dt / tau <= 1, the stable range of "
                         f"the Euler step), got min(tau)={float(array.min()):g}")
    return array


def check_optional_int(name: str, value: Any, high: int) -> int | None:
    if value is None:
        return None
    value = check_int(name, value)
    if value > high:
        raise ValueError(f"{name} must be an integer in [1, {high}], got {value}")
    return value


def check_mask(mask: Any, n: int) -> np.ndarray | None:
    if mask is None:
        return None
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    array = check_array("mask", mask, shape=(n, n))
    if not np.all((array == 0.0) | (array == 1.0)):
        raise ValueError("mask must contain only 0 and 1")
    return array


def check_gain(gain: Any, n: int) -> np.ndarray:
    if gain is None:
        return np.ones(n)
    if hasattr(gain, "detach"):
        gain = gain.detach().cpu().numpy()
    if np.ndim(gain) == 0:
        return np.full(n, check_number("gain", gain, low=0.0))
    array = check_array("gain", gain, shape=(n,))
    if np.any(array < 0):
        raise ValueError("gain must be >= 0 for every neuron")
    return array


def check_coordinates(coordinates: Any, n: int) -> np.ndarray | None:
    if coordinates is None:
        return None
    if hasattr(coordinates, "detach"):
        coordinates = coordinates.detach().cpu().numpy()
    array = check_array("coordinates", coordinates, ndim=2)
    if array.shape[0] != n or not 1 <= array.shape[1] <= 3:
        raise ValueError(f"coordinates must have shape (n_neurons={n}, 3) (or (n, 1), (n, 2)), "
                         f"got {array.shape}")
    return array


def dale_signs(fraction: float, n: int) -> np.ndarray:
    """+1 for the first ``round(fraction n)`` neurons (excitatory), -1 for the others."""
    n_exc = round(fraction * n)
    if n_exc < 1:
        raise ValueError(f"dale must leave at least one excitatory neuron: dale={fraction:g} "
                         f"with n_neurons={n} gives round(dale * n) = 0")
    signs = -np.ones(n)
    signs[:n_exc] = 1.0
    return signs


def dale_magnitudes(rng: np.random.Generator, signs: np.ndarray, g: float,
                    density: float) -> np.ndarray:
    """Raw magnitudes |W_ij| of a balanced E/I matrix with E[W_ij^2] = g^2 / (N density).

    Inhibitory columns are scaled by c = n_exc / n_inh, so every row's expected input is zero
    (E and I balanced, no eigenvalue outlier of order sqrt(N)); the common scale then gives the
    entries the second moment of the N(0, g^2/N) initialisation, hence a spectral radius near g.
    """
    n = signs.shape[0]
    n_exc = int(np.sum(signs > 0))
    f = n_exc / n
    c = n_exc / (n - n_exc) if n_exc < n else 1.0
    sigma = g / math.sqrt(n * density * (f + (1 - f) * c * c))
    scale = np.where(signs > 0, 1.0, c)
    return np.abs(rng.standard_normal((n, n))) * sigma * scale[None, :]


def recurrent_init(rng: np.random.Generator, n: int, g: float, rank: int | None,
                   bulk_g: float | None, signs: np.ndarray | None,
                   mask: np.ndarray | None) -> dict[str, np.ndarray]:
    """The recurrent parameters and fixed buffers (``w_rec`` or ``m``, ``n_vecs``, ``bulk``)."""
    if rank is not None:
        out = {"m": rng.standard_normal((n, rank)), "n_vecs": rng.standard_normal((n, rank))}
        if bulk_g is not None:
            out["bulk"] = rng.standard_normal((n, n)) * (bulk_g / math.sqrt(n))
        return out
    # A sparse mask keeps a fraction p of the entries: scale by 1/sqrt(p) so the spectral
    # radius of the masked matrix stays near g.
    density = 1.0 if mask is None else max(float(mask.mean()), 1.0 / (n * n))
    if signs is not None:
        return {"w_rec": dale_magnitudes(rng, signs, g, density)}
    return {"w_rec": rng.standard_normal((n, n)) * (g / math.sqrt(n * density))}
