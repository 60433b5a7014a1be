"""Multiregion rate networks parameterised by their effective-interaction tensor.

The model of Clark & Beiran, "Structure of activity in multiregion recurrent neural networks"
(arXiv 2402.12188). R regions; neuron i of region mu obeys::

    dx_i^mu/dt = -x_i^mu + g_mu sum_j chi^mu_ij phi(x_j^mu)
                 + sum_nu m_i^{mu nu} S^{mu nu}_inst + inputs
    S^{mu nu}_inst = (1 / N_nu) sum_j n_j^{mu nu} phi(x_j^nu)

with chi^mu_ij ~ N(0, 1 / N_mu) and a rank-one communication subspace for every ordered pair
nu -> mu (mu = nu included). ``n^{mu nu}`` reads region nu out, ``m^{mu nu}`` writes into region
mu. Both the vectors leaving region nu, ``{n^{mu nu}}_mu``, and those entering it,
``{m^{nu rho}}_rho``, live on region nu's neurons; they are drawn jointly Gaussian, i.i.d. over
neurons, with the overlaps::

    T^{mu nu rho} = <n^{mu nu} m^{nu rho}>       (the effective-interaction tensor)
    U^{nu rho rho'} = <m^{nu rho} m^{nu rho'}>   (input overlaps; they set region variances)

Realisability: per region nu the covariance of ``(n^{. nu}, m^{nu .})`` is
``[[A, B], [B^T, U^nu]]`` with ``B[mu, rho] = T^{mu nu rho}`` and ``A = <n n^T>`` free. It can be
made positive semi-definite iff ``U^nu`` is (symmetric) PSD and every row of ``B`` lies in the
range of ``U^nu`` (``B (I - U^+ U) = 0``). The loadings are drawn as::

    m = (U^nu)^(1/2) z,    n = B (U^nu)^+ m + sqrt(readout_noise) z'

so ``<n m^T> = B`` exactly in expectation, ``A = B U^+ B^T + readout_noise I``. The extra readout
noise changes nothing at N -> infinity (only T and U enter the mean-field theory) and adds
O(1/sqrt(N)) fluctuations of the overlaps at finite N.

Inputs: region nu receives ``I_nu(t) w^nu`` along its own direction ``w^nu``, drawn Gaussian
and then made exactly orthogonal to the region's ``m``'s with squared norm N_nu (so it adds
``I_nu^2`` to the region's variance and nothing to its currents). The optional
``input_readout[mu, nu] = <n^{mu nu} w^nu>`` lets the readouts see the input, so it also drives
the currents directly: ``n^{mu nu} += input_readout[mu, nu] w^nu``. `MultiRegionModel.network`
sets the input weights to the R columns ``w^nu`` (column nu nonzero on region nu only), so
``simulate(..., inputs=u)`` takes ``u`` of shape (R,) per time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnndyn._validation import check_array, check_number
from rnndyn.connectivity._random import resolve_seed
from rnndyn.connectivity.regions import MultiRegionConnectivity, multiregion
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity

__all__ = ["MultiRegionModel", "draw_multiregion_loadings"]

Loadings = dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]

_RANGE_TOL = 1e-9


def _check_sizes(sizes: Any) -> tuple[int, ...]:
    try:
        values = tuple(int(s) for s in sizes)
        ok = all(float(s) == int(s) for s in sizes)
    except (TypeError, ValueError):
        raise ValueError(f"sizes must be a sequence of integers >= 1, got {sizes!r}") from None
    if not values or not ok or any(s < 1 for s in values):
        raise ValueError(f"sizes must be a non-empty sequence of integers >= 1 (a region of "
                         f"size 0 has no neurons), got {sizes!r}")
    return values


def _check_tensors(interactions: Any, input_overlaps: Any, n_regions: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    r = n_regions
    t = check_array("interactions", interactions, shape=(r, r, r))
    u = check_array("input_overlaps", input_overlaps, shape=(r, r, r))
    for nu in range(r):
        u_nu = u[nu]
        if not np.allclose(u_nu, u_nu.T, rtol=0, atol=1e-12 * max(1.0, np.abs(u_nu).max())):
            raise ValueError(f"input_overlaps[{nu}] (U^nu, the overlaps <m^(nu rho) m^(nu rho')>) "
                             "must be symmetric")
        eig = np.linalg.eigvalsh(u_nu)
        if eig.min() < -1e-10 * max(1.0, eig.max()):
            raise ValueError(f"input_overlaps[{nu}] must be positive semi-definite (a covariance); "
                             f"its smallest eigenvalue is {eig.min():.3g}")
        b = t[:, nu, :]
        pinv = np.linalg.pinv(u_nu, hermitian=True)
        leak = b - b @ pinv @ u_nu
        if np.abs(leak).max() > _RANGE_TOL * max(1.0, np.abs(b).max()):
            raise ValueError(
                f"interactions[:, {nu}, :] cannot be realised with input_overlaps[{nu}]: the "
                f"overlaps <n^(mu {nu}) m^({nu} rho)> must lie in the span of the input "
                f"overlaps U^{nu} (a readout cannot overlap a direction the inputs do not have); "
                f"the part outside has size {np.abs(leak).max():.3g}"
            )
    return t, u


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eig, vec = np.linalg.eigh(matrix)
    return (vec * np.sqrt(np.clip(eig, 0.0, None))) @ vec.T


def _orthonormal_columns(z: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition with the signs fixed by R's diagonal, so that Q is the
    Gram-Schmidt of z's columns (Haar-distributed for Gaussian z, not a LAPACK convention)."""
    q, upper = np.linalg.qr(z)
    return q * np.where(np.diag(upper) < 0, -1.0, 1.0)


def draw_multiregion_loadings(
    sizes: Any,
    interactions: Any,
    input_overlaps: Any,
    *,
    readout_noise: float = 0.0,
    overlaps: str = "sampled",
    seed: int | np.random.Generator | None = None,
) -> Loadings:
    """Draw loadings ``m^{mu nu}``, ``n^{mu nu}`` that realise the overlaps (T, U).

    Parameters
    ----------
    sizes : sequence of int >= 1
        N_mu, the region sizes (R regions).
    interactions : array (R, R, R)
        ``T[mu, nu, rho] = <n^{mu nu} m^{nu rho}>`` over the neurons of region nu.
    input_overlaps : array (R, R, R)
        ``U[nu, rho, rho'] = <m^{nu rho} m^{nu rho'}>``; each ``U[nu]`` symmetric PSD.
    readout_noise : float >= 0, default 0
        Variance of the part of each ``n`` independent of the ``m`` (see the module docstring).
    overlaps : {"sampled", "exact"}, default "sampled"
        ``"sampled"``: i.i.d. Gaussian entries, so the realised overlaps ``n . m / N`` scatter
        by O(1/sqrt(N)) around (T, U). ``"exact"``: the Gaussian draws are orthonormalised
        (scaled so that ``z^T z / N = I`` exactly) before the linear maps above, so the
        realised overlaps equal (T, U) to rounding; the entries remain marginally Gaussian.
        Use it to separate the finite-N error of the mean-field theory from the scatter of
        the overlaps (which the theory takes as given). Needs ``N_nu >= 2 R`` with readout
        noise, ``N_nu >= R`` without.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    dict (target mu, source nu) -> (m of shape (N_mu,), n of shape (N_nu,))
        The form `rnndyn.connectivity.multiregion` takes as ``couplings``.

    Raises
    ------
    ValueError
        Shapes that do not match R, a U^nu that is not symmetric PSD, a T that no Gaussian
        can realise with U, a region of size 0, a negative readout noise, an unknown
        ``overlaps`` or a region too small for ``overlaps="exact"``.
    """
    sizes = _check_sizes(sizes)
    r = len(sizes)
    t, u = _check_tensors(interactions, input_overlaps, r)
    noise = check_number("readout_noise", readout_noise, low=0.0)
    if overlaps not in ("sampled", "exact"):
        raise ValueError(f"overlaps must be 'sampled' or 'exact', got {overlaps!r}")
    n_columns = 2 * r if noise > 0 else r
    if overlaps == "exact" and min(sizes) < n_columns:
        raise ValueError(f"overlaps='exact' needs every region size >= {n_columns} (the number "
                         f"of orthonormal Gaussian columns per region), got sizes {sizes}")
    rng, _ = resolve_seed(seed)
    entering: dict[tuple[int, int], np.ndarray] = {}
    leaving: dict[tuple[int, int], np.ndarray] = {}
    for nu, size in enumerate(sizes):
        if overlaps == "exact":
            z = _orthonormal_columns(rng.standard_normal((size, n_columns))) * np.sqrt(size)
            z_m, z_noise = z[:, :r], z[:, r:]
        else:
            z_m = rng.standard_normal((size, r))
            z_noise = rng.standard_normal((size, r)) if noise > 0 else None
        m = z_m @ _psd_sqrt(u[nu])  # columns m^{nu rho}
        coefficients = t[:, nu, :] @ np.linalg.pinv(u[nu], hermitian=True)  # (mu, rho)
        n = m @ coefficients.T  # columns n^{mu nu}
        if noise > 0:
            n = n + np.sqrt(noise) * z_noise
        for rho in range(r):
            entering[(nu, rho)] = m[:, rho]
        for mu in range(r):
            leaving[(mu, nu)] = n[:, mu]
    return {(mu, nu): (entering[(mu, nu)], leaving[(mu, nu)])
            for mu in range(r) for nu in range(r)}


@dataclass(frozen=True)
class MultiRegionModel:
    """Parameters of a multiregion network (see the module docstring for the equations).

    Parameters
    ----------
    sizes : tuple of int
        N_mu per region.
    gains : tuple of float
        g_mu, the within-region disorder strengths (>= 0).
    interactions : ndarray (R, R, R)
        The effective-interaction tensor ``T[mu, nu, rho]``.
    input_overlaps : ndarray (R, R, R)
        ``U[nu, rho, rho']``.
    phi : str, default "erf"
        The paper's nonlinearity is ``erf(sqrt(pi) x / 2)``; any name of
        `rnndyn.nonlinearities` works.
    readout_noise : float, default 0
    input_readout : ndarray (R, R), optional
        ``V[mu, nu] = <n^{mu nu} w^nu>``, the overlap of readouts with the input directions
        (see the module docstring); default none.
    overlaps : {"sampled", "exact"}, default "sampled"
        Whether the realised overlaps scatter around (T, U) by O(1/sqrt(N)) or equal them;
        see `draw_multiregion_loadings`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.zeros((2, 2, 2)); t[0, 1, 0] = t[1, 0, 1] = 1.5   # 0 <-> 1 exchange
    >>> u = np.stack([np.eye(2), np.eye(2)])
    >>> model = MultiRegionModel((300, 300), (0.5, 0.5), t, u)
    >>> model.connectivity(seed=0).n
    600
    """

    sizes: tuple[int, ...]
    gains: tuple[float, ...]
    interactions: np.ndarray
    input_overlaps: np.ndarray
    phi: str | Nonlinearity = "erf"
    readout_noise: float = 0.0
    input_readout: np.ndarray | None = None
    overlaps: str = "sampled"

    def __post_init__(self) -> None:
        sizes = _check_sizes(self.sizes)
        r = len(sizes)
        gains = np.broadcast_to(np.asarray(self.gains, dtype=float), (r,)) \
            if np.ndim(self.gains) == 0 else check_array("gains", self.gains, shape=(r,))
        if np.any(gains < 0):
            raise ValueError(f"gains must be >= 0 (one per region), got {self.gains!r}")
        t, u = _check_tensors(self.interactions, self.input_overlaps, r)
        check_number("readout_noise", self.readout_noise, low=0.0)
        get_nonlinearity(self.phi)
        if self.overlaps not in ("sampled", "exact"):
            raise ValueError(f"overlaps must be 'sampled' or 'exact', got {self.overlaps!r}")
        if self.input_readout is not None:
            object.__setattr__(self, "input_readout",
                               check_array("input_readout", self.input_readout, shape=(r, r)))
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "gains", tuple(float(g) for g in gains))
        object.__setattr__(self, "interactions", t)
        object.__setattr__(self, "input_overlaps", u)

    @property
    def n_regions(self) -> int:
        """R."""
        return len(self.sizes)

    def loadings(self, seed: int | np.random.Generator | None = None) -> Loadings:
        """Draw the loadings; see `draw_multiregion_loadings`."""
        return draw_multiregion_loadings(self.sizes, self.interactions, self.input_overlaps,
                                         readout_noise=self.readout_noise, overlaps=self.overlaps,
                                         seed=seed)

    def realise(self, seed: int | np.random.Generator | None = None
                ) -> tuple[MultiRegionConnectivity, np.ndarray]:
        """Draw one network: its block operator and its input directions.

        From one generator: the loadings, then (with ``input_readout``) the input directions
        ``w^nu`` that the readouts overlap, then the disorder chi; without ``input_readout``
        the directions are drawn after chi, so the connectivity of a seed does not depend on
        whether inputs are used.

        Returns
        -------
        connectivity : MultiRegionConnectivity
        input_weights : ndarray (sum N_mu, R)
            Column nu is ``w^nu`` on the neurons of region nu and 0 elsewhere.
        """
        rng, _ = resolve_seed(seed)
        couplings = self.loadings(rng)
        r = self.n_regions

        def draw_directions() -> list[np.ndarray]:
            out = []
            for nu, size in enumerate(self.sizes):
                w = rng.standard_normal(size)
                # Exactly orthogonal to the region's m's: the theory's input adds I^2 to the
                # variance and nothing to the currents, and a sample overlap O(I / sqrt(N))
                # would feed strong inputs into small currents.
                m = np.column_stack([couplings[(nu, rho)][0].ravel() for rho in range(r)])
                q, _ = np.linalg.qr(m)
                w = w - q @ (q.T @ w)
                out.append(w * np.sqrt(size) / max(np.linalg.norm(w), 1e-300))
            return out

        if self.input_readout is not None:
            directions = draw_directions()
            v = self.input_readout
            couplings = {(mu, nu): (m, n + v[mu, nu] * directions[nu])
                         for (mu, nu), (m, n) in couplings.items()}
            conn = multiregion(self.sizes, list(self.gains), couplings=couplings, seed=rng)
        else:
            conn = multiregion(self.sizes, list(self.gains), couplings=couplings, seed=rng)
            directions = draw_directions()
        weights = np.zeros((sum(self.sizes), r))
        offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        for nu in range(r):
            weights[offsets[nu]:offsets[nu + 1], nu] = directions[nu]
        return conn, weights

    def connectivity(self, seed: int | np.random.Generator | None = None
                     ) -> MultiRegionConnectivity:
        """The block operator of `realise` (loadings first, then the disorder chi)."""
        return self.realise(seed)[0]

    def network(self, seed: int | np.random.Generator | None = None, **kwargs: Any) -> Any:
        """A `rnndyn.simulate.Network` with this connectivity, ``phi`` and the R input
        directions as ``input_weights`` (see `realise`); kwargs go to the Network."""
        from rnndyn.simulate.network import Network

        conn, weights = self.realise(seed)
        kwargs.setdefault("input_weights", weights)
        return Network(conn, phi=self.phi, **kwargs)
