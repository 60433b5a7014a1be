"""Lyapunov exponents of a rate network from tangent-space simulation.

For ``tau dx/dt = -x + J phi(x) + b`` a perturbation ``v`` evolves with the Jacobian::

    tau dv/dt = -v + J (phi'(x) * v)

The ``k`` largest Lyapunov exponents are the growth rates of the volumes spanned by ``k``
tangent vectors; they are measured by integrating the state and a tangent basis ``Q`` (n x k)
together and re-orthonormalising ``Q`` with a QR decomposition every ``orthonormalize_every``
time units (Benettin et al. 1980; Shimada & Nagashima 1979)::

    lambda_i = (1 / T) sum_steps log |R_ii|

This is the simulation side of the DMFT prediction
`rnndyn.theory.dmft.RandomNetworkSolution.lyapunov_exponent` (Sompolinsky, Crisanti & Sommers
1988). Structured connectivity is used through its operator: one call of
``connectivity.apply`` per integration stage acts on the state and all k tangent vectors at once.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnndyn._errors import SimulationError
from rnndyn._validation import check_int, check_number
from rnndyn.connectivity._random import resolve_seed
from rnndyn.simulate.network import DiscreteNetwork, Network

__all__ = ["LyapunovResult", "lyapunov_spectrum"]


@dataclass(frozen=True)
class LyapunovResult:
    """Lyapunov exponents measured by `lyapunov_spectrum`.

    Attributes
    ----------
    exponents : ndarray of shape (k,)
        The k largest exponents (per unit time; per iteration for a map), averaged over trials,
        in decreasing order.
    per_trial : ndarray of shape (batch, k)
        The exponents of each trial (independent initial conditions).
    standard_error : ndarray of shape (k,)
        Standard error of ``exponents`` from blocks: the averaging time of every trial is cut
        into ``n_blocks`` consecutive blocks, and the standard deviation of the
        ``batch * n_blocks`` block estimates over sqrt(their number) is reported. Blocks
        longer than the correlation time of the local expansion rates are nearly
        independent; `confidence_interval` uses a Student t quantile.
    convergence : ndarray of shape (n_windows, k)
        Running estimate after each orthonormalisation (trial average), to judge convergence.
    times : ndarray of shape (n_windows,)
        Averaging time at each entry of ``convergence``.
    per_block : ndarray of shape (batch, n_blocks, k)
        The exponents estimated on each block of each trial.
    parameters : dict
        The arguments of the run.
    """

    exponents: np.ndarray
    per_trial: np.ndarray
    standard_error: np.ndarray
    convergence: np.ndarray
    times: np.ndarray
    per_block: np.ndarray = field(default_factory=lambda: np.empty((0, 0, 0)))
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def largest(self) -> float:
        """The largest Lyapunov exponent."""
        return float(self.exponents[0])

    def confidence_interval(self, level: float = 0.95) -> np.ndarray:
        """(k, 2) lower and upper bounds: ``exponents -+ t_q * standard_error`` with the
        Student t quantile for ``batch * n_blocks - 1`` degrees of freedom."""
        from scipy import stats

        level = check_number("level", level, low=0.0, low_inclusive=False)
        if level >= 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        samples = self.per_block.shape[0] * self.per_block.shape[1]
        if samples < 2:
            raise ValueError("a confidence interval needs at least 2 blocks (n_blocks or batch)")
        quantile = float(stats.t.ppf(0.5 + level / 2, samples - 1))
        half = quantile * self.standard_error
        return np.stack([self.exponents - half, self.exponents + half], axis=1)

    @property
    def kaplan_yorke_dimension(self) -> float:
        """``D_KY = j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|`` (Kaplan & Yorke 1979).

        j is the largest index whose partial sum ``lambda_1 + ... + lambda_j`` is >= 0; 0 if
        lambda_1 < 0 (a stable fixed point). NaN when the partial sums stay >= 0 up to the
        k-th exponent: then D_KY >= k and more exponents are needed.
        """
        sums = np.cumsum(self.exponents)
        if sums[0] < 0:
            return 0.0
        nonnegative = np.nonzero(sums >= 0)[0]
        j = int(nonnegative[-1]) + 1  # number of exponents in the partial sum
        if j >= self.exponents.size:
            return float("nan")
        return float(j + sums[j - 1] / abs(self.exponents[j]))

    @property
    def entropy_rate(self) -> float:
        """Sum of the positive exponents (per unit time, nats): Pesin's identity for the
        Kolmogorov-Sinai entropy of the attractor (an upper bound in general). Exact only
        if all positive exponents were measured (the k-th exponent is <= 0)."""
        return float(np.sum(np.clip(self.exponents, 0.0, None)))


def lyapunov_spectrum(
    network: Network,
    t_max: float,
    *,
    n_exponents: int = 1,
    dt: float = 0.1,
    t_transient: float = 50.0,
    orthonormalize_every: float = 1.0,
    n_blocks: int = 10,
    batch: int = 1,
    x0: np.ndarray | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    seed: int | np.random.Generator | None = None,
) -> LyapunovResult:
    """Measure the largest Lyapunov exponents of an autonomous rate network.

    The state and k tangent vectors are integrated together with classical RK4; after a
    transient ``t_transient`` (which also aligns the tangent basis), the log-growth of the
    tangent volume is accumulated for ``t_max`` time units.

    Parameters
    ----------
    network : Network or DiscreteNetwork
        Inputs are not used (the bias is), and there is no noise. For a `DiscreteNetwork`
        (the map ``x -> (1 - a) x + a phi(A x + d)``) the tangent map is
        ``v -> (1 - a) v + a phi'(A x + d) * (A v)``; times (``t_max``, ``t_transient``,
        ``orthonormalize_every``) then count iterations, ``dt`` is ignored, and the exponents
        are per iteration (the log of the multipliers).
    t_max : float
        Averaging time after the transient, > 0. The statistical error of the estimate shrinks
        like ``1 / sqrt(t_max)``.
    n_exponents : int, default 1
        How many exponents (k), at most n.
    dt : float, default 0.1
        RK4 step, in units of time.
    t_transient : float, default 50
        Time discarded before averaging (lets the state reach the attractor).
    orthonormalize_every : float, default 1
        Time between QR re-orthonormalisations (rounded to whole steps); keep the growth over it
        well below the float range (exp(lambda * this)).
    n_blocks : int, default 10
        Blocks of the averaging time for `LyapunovResult.standard_error` (at most the number
        of orthonormalisation windows).
    batch : int, default 1
        Independent initial conditions run side by side.
    x0 : array of shape (n,) or (batch, n), optional
        Initial state; by default ``N(0, 1)`` entries from ``seed``.
    device, dtype
        Where and in which precision to integrate (float64 by default: the QR of nearly
        parallel vectors loses accuracy in float32).
    seed : int or numpy.random.Generator, optional
        For the initial state and the initial tangent basis.

    Returns
    -------
    LyapunovResult

    Raises
    ------
    ValueError
        For a network that is not a `Network`, non-positive times or a bad ``n_exponents``.
    SimulationError
        If the state becomes non-finite.

    Examples
    --------
    >>> from rnndyn.connectivity import gaussian
    >>> from rnndyn.simulate import Network
    >>> net = Network(gaussian(200, g=0.5, seed=0))
    >>> result = lyapunov_spectrum(net, t_max=20.0, t_transient=5.0, seed=1)
    >>> result.largest < 0   # below the transition (g < 1) the dynamics contract
    True
    """
    if not isinstance(network, Network | DiscreteNetwork):
        raise ValueError(
            f"network must be an rnndyn.simulate.Network or DiscreteNetwork, got {network!r}"
        )
    discrete = isinstance(network, DiscreteNetwork)
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    dt = 1.0 if discrete else check_number("dt", dt, low=0.0, low_inclusive=False)
    t_transient = check_number("t_transient", t_transient, low=0.0)
    every = check_number("orthonormalize_every", orthonormalize_every, low=0.0,
                         low_inclusive=False)
    batch = check_int("batch", batch)
    n_blocks = check_int("n_blocks", n_blocks)
    n = network.n
    k = check_int("n_exponents", n_exponents)
    if k > n:
        raise ValueError(f"n_exponents must be <= the network size {n}, got {k}")
    rng, seed_record = resolve_seed(seed)
    if x0 is None:
        x_init = rng.standard_normal((batch, n))
    else:
        x_init = np.asarray(x0, dtype=float)
        if x_init.shape == (n,):
            x_init = np.broadcast_to(x_init, (batch, n))
        if x_init.shape != (batch, n) or not np.all(np.isfinite(x_init)):
            raise ValueError(f"x0 must be finite with shape ({n},) or ({batch}, {n}), "
                             f"got shape {np.shape(x0)}")
    # torch's QR: NumPy's stacked (batched) QR is ~10x slower at n = k = 500.
    q_init = torch.linalg.qr(torch.from_numpy(rng.standard_normal((batch, n, k))))[0]

    dev = torch.device(device)
    x = torch.as_tensor(np.array(x_init), dtype=dtype, device=dev)
    q = q_init.to(device=dev, dtype=dtype).transpose(1, 2).contiguous()  # (B, k, n)
    tensors = network.tensors(dev, dtype)
    bias = tensors.get("bias")
    apply = network.connectivity.apply
    phi, dphi = network.phi.value, network.phi.derivative
    inv_tau = 1.0 if discrete else 1.0 / network.tau

    def joint(x: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # One operator call for the state and the k tangent vectors: rows (B, 1 + k, n).
        stacked = torch.cat([phi(x)[:, None, :], dphi(x)[:, None, :] * q], dim=1)
        out = apply(stacked)
        dx = out[:, 0, :] - x
        if bias is not None:
            dx = dx + bias
        return dx * inv_tau, (out[:, 1:, :] - q) * inv_tau

    def rk4_joint(x: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a1, b1 = joint(x, q)
        a2, b2 = joint(x + 0.5 * dt * a1, q + 0.5 * dt * b1)
        a3, b3 = joint(x + 0.5 * dt * a2, q + 0.5 * dt * b2)
        a4, b4 = joint(x + dt * a3, q + dt * b3)
        return (x + dt / 6.0 * (a1 + 2 * a2 + 2 * a3 + a4),
                q + dt / 6.0 * (b1 + 2 * b2 + 2 * b3 + b4))

    if discrete:
        leak = network.leak

        def rk4_joint(x: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # The map and its tangent map (one iteration; the name keeps the loop below shared).
            out = apply(torch.cat([x[:, None, :], q], dim=1))
            pre = out[:, 0, :] if bias is None else out[:, 0, :] + bias
            new_x, new_q = phi(pre), dphi(pre)[:, None, :] * out[:, 1:, :]
            if leak != 1.0:
                new_x = torch.lerp(x, new_x, leak)
                new_q = torch.lerp(q, new_q, leak)
            return new_x, new_q

    steps_per_window = max(1, round(every / dt))

    def orthonormalize(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # QR of each trial's (n, k) basis (stored as rows, (B, k, n)); the sign fix keeps the
        # basis continuous, as QR is unique only up to column signs.
        q_mat, r_mat = torch.linalg.qr(q.transpose(1, 2))
        diag = torch.diagonal(r_mat, dim1=-2, dim2=-1)
        return (q_mat * torch.sign(diag)[:, None, :]).transpose(1, 2).contiguous(), diag

    with torch.no_grad():
        # The transient also aligns the tangent basis with the leading directions, which removes
        # the O(log(overlap) / t_max) bias of a random initial basis.
        for step in range(round(t_transient / dt)):
            x, q = rk4_joint(x, q)
            if (step + 1) % steps_per_window == 0:
                if not bool(torch.isfinite(x).all()):
                    raise SimulationError(f"state became non-finite during the transient "
                                          f"(t = {(step + 1) * dt:g})")
                q, _ = orthonormalize(q)
        q, _ = orthonormalize(q)
        n_windows = max(1, math.ceil(t_max / (steps_per_window * dt)))
        log_growth = torch.zeros((batch, k), dtype=torch.float64, device=dev)
        per_window = np.empty((n_windows, batch, k))
        running = np.empty((n_windows, k))
        times = np.empty(n_windows)
        for window in range(n_windows):
            for _ in range(steps_per_window):
                x, q = rk4_joint(x, q)
            if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(q).all())):
                raise SimulationError(
                    f"state or tangent vectors became non-finite in the window ending at "
                    f"t = {(window + 1) * steps_per_window * dt:g} after the transient; "
                    "reduce dt or orthonormalize_every"
                )
            q, diag = orthonormalize(q)
            growth = diag.abs().log().to(torch.float64)
            per_window[window] = growth.cpu().numpy()
            log_growth += growth
            elapsed = (window + 1) * steps_per_window * dt
            times[window] = elapsed
            running[window] = (log_growth / elapsed).mean(dim=0).cpu().numpy()
    total_time = n_windows * steps_per_window * dt
    per_trial = (log_growth / total_time).cpu().numpy()
    exponents = per_trial.mean(axis=0)
    blocks = min(n_blocks, n_windows)
    edges = np.linspace(0, n_windows, blocks + 1).round().astype(int)
    window_time = steps_per_window * dt
    per_block = np.stack([
        per_window[a:b].sum(axis=0) / ((b - a) * window_time)
        for a, b in itertools.pairwise(edges)
    ], axis=1)  # (batch, blocks, k)
    samples = per_block.reshape(-1, k)
    if samples.shape[0] > 1:
        standard_error = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    else:
        standard_error = np.full(k, np.nan)
    return LyapunovResult(
        exponents=exponents,
        per_trial=per_trial,
        standard_error=standard_error,
        convergence=running,
        times=times,
        per_block=per_block,
        parameters={
            "t_max": total_time, "n_exponents": k, "dt": dt, "t_transient": t_transient,
            "orthonormalize_every": steps_per_window * dt, "batch": batch, "seed": seed_record,
            "n_blocks": blocks,
            "network": network.describe(),
        },
    )
