"""Excitatory/inhibitory random connectivity obeying Dale's law (Rajan & Abbott 2006)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnndyn._validation import check_array, check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.connectivity.dense_matrix import DenseConnectivity

# Variance of |z| for z standard normal: E[z^2] - E[|z|]^2 = 1 - 2/pi.
_HALF_NORMAL_VARIANCE = 1.0 - 2.0 / math.pi
_HALF_NORMAL_MEAN = math.sqrt(2.0 / math.pi)


class DaleConnectivity(DenseConnectivity):
    """Dense J whose column j has the sign ``signs[j]`` (excitatory +1, inhibitory -1).

    Parameters
    ----------
    matrix : array_like of shape (n, n)
    signs : array_like of shape (n,)
        +1 or -1 per presynaptic neuron (column); column j must satisfy signs[j] J_ij >= 0.
    params : dict, optional
        Recorded parameters; default ``{"kind": "dale_matrix", ...}``.

    Raises
    ------
    ValueError
        If ``matrix`` is not square and finite, ``signs`` is not +-1 of length n, or a column
        has an entry of the wrong sign.
    """

    def __init__(self, matrix: Any, signs: Any, params: dict[str, Any] | None = None) -> None:
        matrix = check_array("matrix", matrix, ndim=2)
        if matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"matrix must be square, got shape {matrix.shape}")
        signs = check_array("signs", signs, shape=(matrix.shape[1],))
        if not np.all(np.abs(signs) == 1.0):
            raise ValueError(f"signs must contain only +1 and -1, got values {np.unique(signs)}")
        wrong = np.flatnonzero(np.any(matrix * signs < 0.0, axis=0))
        if wrong.size:
            raise ValueError(
                f"matrix violates Dale's law for signs in columns {wrong[:10].tolist()}"
            )
        self._signs = signs.astype(np.int64)
        self._signs.setflags(write=False)
        if params is None:
            params = {"kind": "dale_matrix", "matrix": matrix, "signs": self._signs}
        super().__init__(matrix, params)

    @property
    def signs(self) -> np.ndarray:
        """+1 (excitatory) or -1 (inhibitory) for each column, int64, read-only."""
        return self._signs

    @property
    def n_excitatory(self) -> int:
        """Number of excitatory neurons (columns with sign +1)."""
        return int(np.count_nonzero(self._signs > 0))


def dale(
    n: int,
    frac_excitatory: float = 0.8,
    g_e: float = 1.0,
    g_i: float | None = None,
    balanced: bool = True,
    row_balance: bool = False,
    seed: Seed = None,
) -> DaleConnectivity:
    """Random excitatory/inhibitory connectivity obeying Dale's law.

    J_ij = +sigma_E |z_ij|  for excitatory j (the first n_E columns),
    J_ij = -sigma_I |z_ij|  for inhibitory j,      z_ij ~ N(0, 1) i.i.d.,
    sigma_E = g_e / sqrt(n (1 - 2/pi)),  sigma_I = g_i / sqrt(n (1 - 2/pi)),

    so Var[J_ij] = g_e^2 / n (E) or g_i^2 / n (I), with means
    mu_E = sigma_E sqrt(2/pi) and mu_I = -sigma_I sqrt(2/pi). n_E = floor(frac_excitatory n
    + 1/2) (round half up) and n_I = n - n_E; the realised fractions f_E = n_E / n,
    f_I = n_I / n are used below.

    ``balanced=True`` sets the mean input to zero, f_E mu_E + f_I mu_I = 0, i.e.
    g_i = g_e f_E / f_I. ``row_balance=True`` then multiplies the inhibitory weights of each
    row i by the positive factor sum_{j in E} J_ij / |sum_{j in I} J_ij|, so every row sums to
    zero exactly (up to rounding) while signs are kept. This is Rajan & Abbott's (2006, PRL
    97, 188104) sum rule; with it the bulk of the spectrum is the disc of radius

        r = sqrt(f_E g_e^2 + f_I g_i^2)

    (Rajan & Abbott report eigenvalues outside this disc without the sum rule). The factor is
    1 + O(n^-1/2) only when ``balanced=True``; for unbalanced means it rescales the inhibitory
    variance and the radius formula does not apply.

    Parameters
    ----------
    n : int >= 1
    frac_excitatory : float in [0, 1]
        Fraction of excitatory neurons (in (0, 1) with n_E, n_I >= 1 when balanced).
    g_e : float >= 0
    g_i : float >= 0 or None
        None with ``balanced=True`` means g_e f_E / f_I; required when ``balanced=False``.
    balanced : bool
    row_balance : bool
        Needs n_E >= 1, n_I >= 1, g_e > 0 and g_i > 0.
    seed : int, numpy.random.Generator or None
        z is drawn as ``standard_normal((n, n))`` (row-major).

    Returns
    -------
    DaleConnectivity
        ``kind == "dale"``; ``signs`` and ``n_excitatory`` give the E/I split and ``params``
        the g_i actually used.

    Raises
    ------
    ValueError
        For invalid n, frac_excitatory, g_e, g_i, balanced, row_balance or seed; if g_i is
        given with ``balanced=True`` and differs from g_e f_E / f_I (the message gives that
        value); or if g_i is None with ``balanced=False``.
    """
    n = check_int("n", n, low=1)
    frac_excitatory = check_number("frac_excitatory", frac_excitatory, low=0.0, high=1.0)
    g_e = check_number("g_e", g_e, low=0.0)
    for name, flag in (("balanced", balanced), ("row_balance", row_balance)):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    n_excitatory = math.floor(frac_excitatory * n + 0.5)
    n_inhibitory = n - n_excitatory
    if balanced:
        if n_excitatory == 0 or n_inhibitory == 0:
            raise ValueError(
                f"frac_excitatory must leave at least one excitatory and one inhibitory neuron "
                f"when balanced=True, got {frac_excitatory!r} (n_E = {n_excitatory} of n = {n})"
            )
        expected = g_e * n_excitatory / n_inhibitory
        if g_i is None:
            g_i = expected
        else:
            g_i = check_number("g_i", g_i, low=0.0)
            if not math.isclose(g_i, expected, rel_tol=1e-9, abs_tol=1e-12):
                raise ValueError(
                    f"g_i must equal g_e f_E / f_I = {expected!r} when balanced=True "
                    f"(n_E = {n_excitatory}, n_I = {n_inhibitory}), got {g_i!r}; "
                    f"pass g_i=None or balanced=False"
                )
    elif g_i is None:
        raise ValueError("g_i must be a finite number >= 0 when balanced=False, got None")
    else:
        g_i = check_number("g_i", g_i, low=0.0)
    if row_balance and (n_excitatory == 0 or n_inhibitory == 0 or g_e == 0.0 or g_i == 0.0):
        raise ValueError(
            f"row_balance=True needs n_E >= 1, n_I >= 1, g_e > 0 and g_i > 0, got "
            f"n_E = {n_excitatory}, n_I = {n_inhibitory}, g_e = {g_e!r}, g_i = {g_i!r}"
        )

    rng, seed_record = resolve_seed(seed)
    matrix = np.abs(rng.standard_normal((n, n)))
    sigma_e = g_e / math.sqrt(n * _HALF_NORMAL_VARIANCE)
    sigma_i = g_i / math.sqrt(n * _HALF_NORMAL_VARIANCE)
    matrix[:, :n_excitatory] *= sigma_e
    matrix[:, n_excitatory:] *= -sigma_i
    if row_balance:
        excitatory_sums = matrix[:, :n_excitatory].sum(axis=1)
        inhibitory_sums = matrix[:, n_excitatory:].sum(axis=1)
        matrix[:, n_excitatory:] *= (excitatory_sums / -inhibitory_sums)[:, None]
    signs = np.where(np.arange(n) < n_excitatory, 1, -1)
    params = {
        "kind": "dale",
        "n": n,
        "frac_excitatory": frac_excitatory,
        "n_excitatory": n_excitatory,
        "g_e": g_e,
        "g_i": float(g_i),
        "balanced": bool(balanced),
        "row_balance": bool(row_balance),
        "mean_excitatory": sigma_e * _HALF_NORMAL_MEAN,
        "mean_inhibitory": -sigma_i * _HALF_NORMAL_MEAN,
        "seed": seed_record,
    }
    return DaleConnectivity(matrix, signs, params)
