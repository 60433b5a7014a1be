"""Linearisation of rate networks: Jacobians, spectra and stability.

Continuous time (`Network`), ``F(x) = (-x + J phi(x) + B u + b) / tau``; its Jacobian is::

    DF(x) = (-I + J diag(phi'(x))) / tau

Discrete time (`DiscreteNetwork`), the map ``G(x) = (1 - a) x + a phi(A x + B u + d)``; its
Jacobian is::

    DG(x) = (1 - a) I + a diag(phi'(A x + B u + d)) A

`jacobian` returns ``DF`` for a `Network` and ``DG`` for a `DiscreteNetwork` (the matrix whose
eigenvalues decide stability: ``Re lambda < 0`` for flows, ``|lambda| < 1`` for maps), in closed
form or by automatic differentiation.

Spectra. For a bulk ``B`` of iid entries with zero mean and variance ``g^2 / N`` the
eigenvalues fill the disk of radius ``g`` (circular law); a low-rank part ``M N^T / N`` adds
outliers at the eigenvalues of the overlap matrix ``N^T M / N`` (exact without a bulk, the
large-N limit with one). At a state ``x`` the bulk of ``J diag(phi')`` has radius
``g sqrt(<phi'^2>)`` (the mean over neurons) and the low-rank outliers are the eigenvalues of
``N^T diag(phi') M / N``; `connectivity_spectrum` and `jacobian_spectrum` return these
predictions with the exact eigenvalues (`rnndyn.plot.spectrum` draws them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_array, check_choice, check_int, check_number
from rnndyn.connectivity import Connectivity
from rnndyn.simulate.network import DiscreteNetwork, Network

__all__ = [
    "STABILITY_LABELS",
    "Spectrum",
    "classify_stability",
    "connectivity_spectrum",
    "jacobian",
    "jacobian_spectrum",
]

STABILITY_LABELS = ("stable", "marginal", "unstable")
AnyNetwork = Network | DiscreteNetwork


def check_network(network: Any) -> AnyNetwork:
    """``network`` if it is a `Network` or `DiscreteNetwork`, else a ValueError naming it."""
    if not isinstance(network, Network | DiscreteNetwork):
        raise ValueError(f"network must be a Network or DiscreteNetwork, got "
                         f"{type(network).__name__}")
    return network


def check_states(name: str, x: Any, n: int) -> tuple[np.ndarray, bool]:
    """States as a finite (batch, n) float64 array, and whether a single (n,) state was given."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    array = check_array(name, x, ndim=(1, 2))
    if array.shape[-1] != n:
        raise ValueError(f"{name} must have shape ({n},) or (batch, {n}), got {array.shape}")
    single = array.ndim == 1
    return (array[None] if single else array), single


def check_input(network: AnyNetwork, u: Any) -> np.ndarray | None:
    """A constant input ``u`` of shape (n_inputs,), checked against the network."""
    if u is None:
        return None
    if network.n_inputs == 0:
        raise ValueError("u was given but the network has no input_weights")
    return check_array("u", u, shape=(network.n_inputs,))


def field(network: AnyNetwork, x: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
    """The function whose zeros are the fixed points: drift, or ``step(x) - x`` for a map."""
    if isinstance(network, DiscreteNetwork):
        return network.step(x, u) - x
    return network.drift(x, u)


def dense_tensor(network: AnyNetwork, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The connectivity as a dense (n, n) tensor."""
    return torch.as_tensor(network.connectivity.to_dense(), dtype=dtype, device=device)


def _gain(network: AnyNetwork, x: torch.Tensor, u: torch.Tensor | None,
          dense: torch.Tensor) -> torch.Tensor:
    """``phi'`` at the argument of ``phi``: ``x`` (flow) or ``A x + B u + d`` (map)."""
    if isinstance(network, DiscreteNetwork):
        pre = x @ dense.T
        ext = network.external_input(u, x)
        return network.phi.derivative(pre if ext is None else pre + ext)
    return network.phi.derivative(x)


def closed_form_jacobian(network: AnyNetwork, x: torch.Tensor, u: torch.Tensor | None,
                         dense: torch.Tensor) -> torch.Tensor:
    """Batched closed-form ``DF`` (flow) or ``DG`` (map), shape (batch, n, n)."""
    gain = _gain(network, x, u, dense)
    eye = torch.eye(network.n, dtype=x.dtype, device=x.device)
    if isinstance(network, DiscreteNetwork):
        a = network.leak
        return (1.0 - a) * eye + a * gain[:, :, None] * dense[None]
    return (dense[None] * gain[:, None, :] - eye) / network.tau


def autograd_jacobian(network: AnyNetwork, x: torch.Tensor,
                      u: torch.Tensor | None) -> torch.Tensor:
    """``DF`` or ``DG`` by reverse-mode autodiff: one backward pass over n copies per state."""
    batch, n = x.shape
    copies = x.detach().repeat_interleave(n, dim=0).requires_grad_(True)  # (batch n, n)
    uu = None if u is None else u.repeat_interleave(n, dim=0)
    with torch.enable_grad():
        out = (network.step(copies, uu) if isinstance(network, DiscreteNetwork)
               else network.drift(copies, uu))
        # Row k of copy (b, i) picks output i: the gradient is row i of the Jacobian at x_b.
        picked = out.reshape(batch, n, n).diagonal(dim1=1, dim2=2).sum()
        (grad,) = torch.autograd.grad(picked, copies)
    return grad.reshape(batch, n, n)


def jacobian(
    network: AnyNetwork,
    x: Any,
    u: Any = None,
    *,
    method: str = "closed_form",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
) -> np.ndarray:
    """Jacobian of the dynamics at one or many states.

    ``(-I + J diag(phi'(x))) / tau`` for a `Network`;
    ``(1 - a) I + a diag(phi'(A x + B u + d)) A`` for a `DiscreteNetwork` (the map's Jacobian;
    subtract ``I`` for that of ``step(x) - x``).

    Parameters
    ----------
    network : Network or DiscreteNetwork
    x : array of shape (n,) or (batch, n)
        States (finite).
    u : array of shape (n_inputs,), optional
        Constant input.
    method : {"closed_form", "autograd"}
        The formula above with a dense ``J``, or torch reverse-mode autodiff through
        ``drift``/``step`` (works for any nonlinearity or connectivity operator; the two agree
        to round-off).
    device, dtype
        Where and in which precision to compute.

    Returns
    -------
    ndarray of shape (n, n) or (batch, n, n)

    Raises
    ------
    ValueError
        Non-finite or wrongly shaped ``x`` or ``u``, unknown ``method`` (the message names it).
    """
    network = check_network(network)
    method = check_choice("method", method, ("closed_form", "autograd"))
    states, single = check_states("x", x, network.n)
    uu = check_input(network, u)
    dev = torch.device(device)
    xt = torch.as_tensor(states, dtype=dtype, device=dev)
    ut = None if uu is None else torch.as_tensor(uu, dtype=dtype, device=dev).expand(len(xt), -1)
    with torch.no_grad():
        if method == "closed_form":
            jac = closed_form_jacobian(network, xt, ut, dense_tensor(network, dev, dtype))
        else:
            jac = autograd_jacobian(network, xt, ut)
    out = jac.cpu().numpy()
    return out[0] if single else out


def classify_stability(eigenvalues: Any, *, discrete: bool, tol: float = 1e-6) -> np.ndarray:
    """Label each row of eigenvalues "stable", "marginal" or "unstable".

    Flow (``discrete=False``), with ``s = max Re lambda``; map, with ``s = max |lambda| - 1``::

        s < -tol  -> "stable"      (every mode decays)
        s >  tol  -> "unstable"    (a mode grows: saddles and repellers)
        otherwise -> "marginal"    (e.g. the zero mode along a ring attractor)

    Parameters
    ----------
    eigenvalues : array of shape (n,) or (K, n), complex
    discrete : bool
        Map (``|lambda|`` against 1) rather than flow (``Re lambda`` against 0).
    tol : float, default 1e-6
        Width of the marginal band.

    Returns
    -------
    ndarray of str, shape () or (K,)
    """
    tol = check_number("tol", tol, low=0.0)
    values = np.asarray(eigenvalues)
    score = (np.max(np.abs(values), axis=-1) - 1.0 if discrete
             else np.max(values.real, axis=-1))
    return np.where(score < -tol, "stable", np.where(score > tol, "unstable", "marginal"))


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues with the circular-law prediction of their bulk and low-rank outliers.

    Attributes
    ----------
    eigenvalues : ndarray (complex)
        Computed eigenvalues (all of them, or the ``k`` largest in modulus).
    center : float
        Centre of the predicted bulk disk (0 for ``J``; ``-1/tau`` or ``1 - a`` at a state).
    radius : float
        Predicted bulk radius (0 when the connectivity has no bulk).
    outliers : ndarray (complex)
        Predicted outliers of the low-rank part (empty if there is none).
    kind : str
        "connectivity" or "jacobian".
    discrete : bool
        Whether the stability boundary is the unit circle (a map's Jacobian).
    """

    eigenvalues: np.ndarray
    center: float
    radius: float
    outliers: np.ndarray
    kind: str
    discrete: bool = False


def _split_low_rank(conn: Connectivity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loadings ``(M, N)`` of the low-rank terms (stacked) and the dense rest of ``J``."""
    terms = getattr(conn, "terms", (conn,))
    lefts, rights, rest = [], [], np.zeros(conn.shape)
    for term in terms:
        if hasattr(term, "left") and hasattr(term, "right"):
            lefts.append(term.left)
            rights.append(term.right)
        else:
            rest += term.to_dense()
    n = conn.shape[0]
    if not lefts:
        return np.zeros((n, 0)), np.zeros((n, 0)), rest
    return np.concatenate(lefts, axis=1), np.concatenate(rights, axis=1), rest


def _bulk_gain(rest: np.ndarray) -> float:
    # Circular law: iid entries of variance g^2 / N  ->  sum_ij B_ij^2 / N  ~  g^2.
    return float(np.sqrt(np.sum(rest**2) / rest.shape[0]))


def connectivity_spectrum(network_or_connectivity: Any, k: int | None = None) -> Spectrum:
    """Eigenvalues of ``J`` with the circular-law radius and the low-rank outliers.

    The bulk is everything but the low-rank terms (`LowRankConnectivity`, alone or in a sum);
    its gain is estimated as ``g = sqrt(sum_ij B_ij^2 / N)`` (exact in expectation for iid
    entries of variance ``g^2 / N``). Outliers are the eigenvalues of ``N^T M / N``.

    Parameters
    ----------
    network_or_connectivity : Network, DiscreteNetwork or Connectivity
    k : int, optional
        Only the ``k`` eigenvalues of largest modulus (ARPACK on the operator), ``1 <= k <= N``.

    Returns
    -------
    Spectrum

    Raises
    ------
    ValueError
        ``k`` out of range (``k > N`` included), or not a network/connectivity.
    """
    conn = getattr(network_or_connectivity, "connectivity", network_or_connectivity)
    if not isinstance(conn, Connectivity):
        raise ValueError(f"network_or_connectivity must be a network or Connectivity, got "
                         f"{type(network_or_connectivity).__name__}")
    n = conn.shape[0]
    if k is not None:
        k = check_int("k", k)
        if k > n:
            raise ValueError(f"k must be <= the network size N={n}, got {k}")
    left, right, rest = _split_low_rank(conn)
    outliers = np.linalg.eigvals(right.T @ left / n) if left.shape[1] else np.zeros(0, complex)
    return Spectrum(eigenvalues=conn.eigvals(k), center=0.0, radius=_bulk_gain(rest),
                    outliers=outliers.astype(complex), kind="connectivity")


def jacobian_spectrum(
    network: AnyNetwork,
    x: Any,
    u: Any = None,
    *,
    device: str | torch.device = "cpu",
) -> Spectrum:
    """Eigenvalues of the Jacobian at one state with the predicted bulk and outliers.

    Flow: bulk centre ``-1/tau``, radius ``g sqrt(<phi'(x)^2>) / tau``, outliers
    ``(-1 + eig(N^T diag(phi') M / N)) / tau``. Map: centre ``1 - a``, radius
    ``a g sqrt(<phi'^2>)``, outliers ``1 - a + a eig(N^T diag(phi') M / N)``, with ``phi'`` at
    ``A x + B u + d``.

    Parameters
    ----------
    network : Network or DiscreteNetwork
    x : array of shape (n,)
    u : array of shape (n_inputs,), optional
    device : str or torch.device

    Returns
    -------
    Spectrum
    """
    network = check_network(network)
    states, single = check_states("x", x, network.n)
    if not single:
        raise ValueError(f"x must be one state of shape ({network.n},), got {states.shape}")
    jac = jacobian(network, states[0], u, device=device)
    dev = torch.device(device)
    xt = torch.as_tensor(states, dtype=torch.float64, device=dev)
    uu = check_input(network, u)
    ut = None if uu is None else torch.as_tensor(uu[None], dtype=torch.float64, device=dev)
    gain = _gain(network, xt, ut, dense_tensor(network, dev, torch.float64))[0].cpu().numpy()
    left, right, rest = _split_low_rank(network.connectivity)
    n = network.n
    base = (right.T * gain) @ left / n
    lam = np.linalg.eigvals(base) if left.shape[1] else np.zeros(0, complex)
    radius = _bulk_gain(rest) * float(np.sqrt(np.mean(gain**2)))
    if isinstance(network, DiscreteNetwork):
        a = network.leak
        center, radius, outliers = 1.0 - a, a * radius, 1.0 - a + a * lam
    else:
        tau = network.tau
        center, radius, outliers = -1.0 / tau, radius / tau, (lam - 1.0) / tau
    return Spectrum(eigenvalues=np.linalg.eigvals(jac), center=center, radius=radius,
                    outliers=np.asarray(outliers, complex), kind="jacobian",
                    discrete=isinstance(network, DiscreteNetwork))
