"""Gaussian moments of a nonlinearity: the building blocks of low-rank mean-field theory.

For a neuron whose input is ``x ~ N(mu, Delta)`` every average the theory needs is one of::

    phi      <phi>            dphi      <phi'>           phi2      <phi^2>
    dphi2    <phi'^2>         phidphi   <phi phi'>
    d2phi    <phi''>  = E[z phi'(x)] / sqrt(Delta)
    d3phi    <phi'''> = E[(z^2 - 1) phi'(x)] / Delta
    d_phidphi <(phi phi')'> = <phi'^2 + phi phi''> = E[z phi(x) phi'(x)] / sqrt(Delta)

(``x = mu + sqrt(Delta) z``). The last three use Gaussian integration by parts (Stein's lemma,
``E[z f(x)] = sqrt(Delta) <f'>``), so only ``phi`` and ``phi'`` are ever evaluated and
nonlinearities without a second derivative (relu) work unchanged. At ``Delta -> 0`` these
quotients are evaluated at the floor variance ``_DERIVATIVE_FLOOR = 1e-7`` (bias ``O(floor)``,
about 3e-7 on tanh; round-off ``O(1e-16 / floor)``); elsewhere they are accurate to ~1e-14.

``phi`` and ``dphi`` come from `rnndyn.theory.gaussian.mean_activity` (closed forms for erf and
relu); the others from composite Gauss-Legendre quadrature split at the kinks of ``phi``, with
panels of width ``min(1, length_scale / std)`` in ``z`` (accurate to ~1e-14 on tanh).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from rnndyn.nonlinearities import Nonlinearity
from rnndyn.theory.gaussian import mean_activity, quadrature_nodes

__all__ = ["MOMENT_KEYS", "gaussian_moments"]

VALUE_KEYS = ("phi", "dphi", "phi2", "dphi2", "phidphi")
DERIVATIVE_KEYS = ("d2phi", "d3phi", "d_phidphi")
MOMENT_KEYS = VALUE_KEYS + DERIVATIVE_KEYS

_DERIVATIVE_FLOOR = 1e-7  # variance floor for the Stein quotients (see module docstring)
_Z_MAX = 9.0
_GL_ORDER = 10
_PANEL_WIDTH = 1.0  # panel width in z (times min(1, length_scale / std)): ~1e-14 on tanh
_CHUNK = 2_000_000


def _panels(std_max: float, length_scale: float) -> int:
    width = _PANEL_WIDTH * min(1.0, length_scale / std_max) if std_max > 0 else _PANEL_WIDTH
    return max(1, math.ceil(2.0 * _Z_MAX / width - 1e-9))


# Nonlinearities whose <phi> and <phi'> rnndyn.theory.gaussian knows in closed form.
_CLOSED_FORM = ("erf", "relu")


@lru_cache(maxsize=16)
def _plain_nodes(n_panels: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = quadrature_nodes(None, n_panels)
    z, w = z[None, :], w[None, :]
    z.flags.writeable = False
    w.flags.writeable = False
    return z, w


def _wsum(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row sums of ``w * values``; ``w`` is (1, n) (shared nodes) or (rows, n)."""
    if w.shape[0] == 1:
        return values @ w[0]
    return np.einsum("ij,ij->i", w, values)


def _quadrature(
    nl: Nonlinearity, mean: np.ndarray, variance: np.ndarray, keys: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Moments ``keys`` at flat arrays ``mean``, ``variance`` by composite Gauss-Legendre."""
    std = np.sqrt(variance)
    out = {key: np.empty(mean.shape) for key in keys}
    need_value = any(k in ("phi", "phi2", "phidphi", "d_phidphi") for k in keys)
    need_derivative = any(k not in ("phi", "phi2") for k in keys)
    n_panels = _panels(float(std.max(initial=0.0)), nl.length_scale)
    per_point = n_panels * _GL_ORDER * (len(nl.kinks) + 1)
    step = max(1, _CHUNK // per_point)
    kinks = np.asarray(nl.kinks, dtype=float)
    for start in range(0, mean.size, step):
        m = mean[start : start + step, None]
        s = std[start : start + step, None]
        if kinks.size:
            with np.errstate(divide="ignore", invalid="ignore"):
                breaks = (kinks[None, :] - m) / s
            z, w = quadrature_nodes(np.where(np.isfinite(breaks), breaks, _Z_MAX), n_panels)
        else:
            z, w = _plain_nodes(n_panels)
        x = m + s * z
        f = nl.value(x) if need_value else None
        df = nl.derivative(x) if need_derivative else None
        block = slice(start, start + step)
        for key in keys:
            if key == "phi":
                val = _wsum(w, f)
            elif key == "dphi":
                val = _wsum(w, df)
            elif key == "phi2":
                val = _wsum(w, f * f)
            elif key == "dphi2":
                val = _wsum(w, df * df)
            elif key == "phidphi":
                val = _wsum(w, f * df)
            elif key == "d2phi":
                val = _wsum(w * z, df) / s[:, 0]
            elif key == "d3phi":
                val = _wsum(w * (z * z - 1.0), df) / s[:, 0] ** 2
            else:  # d_phidphi
                val = _wsum(w * z, f * df) / s[:, 0]
            out[key][block] = val
    return out


def gaussian_moments(
    nl: Nonlinearity, mean: np.ndarray, variance: np.ndarray, keys: Iterable[str]
) -> dict[str, np.ndarray]:
    """Return ``{key: <...>(mean, variance)}`` for the requested moments (see module docstring).

    ``mean`` and ``variance`` broadcast together; ``variance >= 0``.
    """
    keys = tuple(dict.fromkeys(keys))
    unknown = set(keys) - set(MOMENT_KEYS)
    if unknown:
        raise ValueError(f"keys: unknown moments {sorted(unknown)}; expected {MOMENT_KEYS}")
    mean, variance = np.broadcast_arrays(np.asarray(mean, float), np.asarray(variance, float))
    shape = mean.shape
    flat_m = mean.reshape(-1)
    flat_v = np.maximum(variance.reshape(-1), 0.0)
    out: dict[str, np.ndarray] = {}
    values = [k for k in keys if k in VALUE_KEYS]
    if values and not np.any(flat_v):
        # Point masses (no variance): evaluate directly.
        f, df = np.asarray(nl.value(flat_m), float), np.asarray(nl.derivative(flat_m), float)
        direct = {"phi": f, "dphi": df, "phi2": f * f, "dphi2": df * df, "phidphi": f * df}
        out.update({k: direct[k] for k in values})
    elif values:
        closed = [k for k in values if k in ("phi", "dphi") and nl.name in _CLOSED_FORM]
        for key in closed:
            part = "value" if key == "phi" else "derivative"
            out[key] = np.asarray(mean_activity(nl, flat_m, flat_v, part=part), dtype=float)
        rest = tuple(k for k in values if k not in closed)
        if rest:
            out.update(_quadrature(nl, flat_m, flat_v, rest))
    derivatives = [k for k in keys if k in DERIVATIVE_KEYS]
    if derivatives:
        floored = np.maximum(flat_v, _DERIVATIVE_FLOOR)
        out.update(_quadrature(nl, flat_m, floored, tuple(derivatives)))
    return {k: out[k].reshape(shape) for k in keys}
