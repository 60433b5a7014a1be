"""Mean-field theory of multiregion networks (Clark & Beiran, arXiv 2402.12188).

The model and its parameters are in `rnndyn.models.multiregion`: regions mu = 0..R-1 with
within-region disorder g_mu and rank-one communication subspaces whose overlaps form the
effective-interaction tensor ``T[mu, nu, rho] = <n^{mu nu} m^{nu rho}>``.

In the mean-field limit the currents ``S^{mu nu}`` (what region nu sends to region mu) obey,
by Stein's lemma on the Gaussian loadings::

    (1 + d/dt) S^{mu nu} = psi^nu sum_rho T^{mu nu rho} S^{nu rho},   psi^nu = <phi'(x^nu)>

so, linearised at a state with region gains psi, the currents evolve with the R^2 x R^2 matrix
``T_hat[(mu nu), (nu rho)] = psi^nu T^{mu nu rho}`` (zero unless the middle indices agree). Its
eigenvalues are the outliers of the connectivity spectrum (psi = 1), which sit beside one disk
of radius g_mu per region: currents grow from the quiescent state when an eigenvalue of T_hat
has real part > 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnndyn._validation import check_array

__all__ = ["effective_interaction_matrix"]


def effective_interaction_matrix(interactions: Any, gains: Any = None) -> np.ndarray:
    """The R^2 x R^2 matrix of the linearised current dynamics.

    ``T_hat[mu * R + nu, nu' * R + rho] = delta(nu, nu') psi^nu T[mu, nu, rho]``

    Parameters
    ----------
    interactions : array (R, R, R)
        ``T[mu, nu, rho]``.
    gains : array (R,), optional
        ``psi^nu = <phi'(x^nu)>`` per region; default 1 (the connectivity's own outliers).

    Returns
    -------
    ndarray (R^2, R^2)
        Rows and columns are current pairs (target, source) flattened as ``target * R + source``.

    Raises
    ------
    ValueError
        If ``interactions`` is not (R, R, R) and finite, or ``gains`` is not (R,).
    """
    t = check_array("interactions", interactions, ndim=3)
    r = t.shape[0]
    if t.shape != (r, r, r):
        raise ValueError(f"interactions must have shape (R, R, R), got {t.shape}")
    psi = np.ones(r) if gains is None else check_array("gains", gains, shape=(r,))
    out = np.zeros((r, r, r, r))  # (mu, nu, nu', rho)
    for nu in range(r):
        out[:, nu, nu, :] = psi[nu] * t[:, nu, :]
    return out.reshape(r * r, r * r)
