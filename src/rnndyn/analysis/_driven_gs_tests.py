"""Generalized-synchronization tests of a driven network: the auxiliary-system test and the
conditional Lyapunov exponent, with the input handling they share.

Private: import from `rnndyn.analysis.synchronization` (or `rnndyn.analysis`), whose docstring
gives the definitions and references.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_array, check_int, check_number
from rnndyn.analysis.lyapunov import LyapunovResult
from rnndyn.connectivity._random import resolve_seed
from rnndyn.simulate.network import DiscreteNetwork, Network
from rnndyn.simulate.run import simulate

__all__ = ["AuxiliaryTestResult", "auxiliary_system_test", "conditional_lyapunov_exponent"]

InputSpec = np.ndarray | Callable[[float], Any]


def _check_network(network: Any) -> bool:
    """Return True for a `DiscreteNetwork`, False for a `Network`; raise otherwise."""
    if not isinstance(network, Network | DiscreteNetwork):
        raise ValueError(f"network must be a Network or DiscreteNetwork, got "
                         f"{type(network).__name__}")
    return isinstance(network, DiscreteNetwork)


def _input_table(inputs: Any, network: Network | DiscreteNetwork, n_steps: int) -> Any:
    """Validate ``inputs``: a callable is returned as is, an array (>= n_steps, n_inputs) is
    cut to ``n_steps`` rows (zero-order hold per step, as in `simulate`)."""
    if network.n_inputs == 0:
        raise ValueError("network must have input_weights to be driven by inputs")
    if callable(inputs) and not isinstance(inputs, np.ndarray | torch.Tensor):
        return inputs
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    table = check_array("inputs", inputs, ndim=(1, 2))
    if table.ndim == 1:
        table = table[:, None]
    if table.shape[1] != network.n_inputs:
        raise ValueError(f"inputs must have shape (n_steps, n_inputs={network.n_inputs}), "
                         f"got {table.shape}")
    if table.shape[0] < n_steps:
        raise ValueError(f"inputs is too short: the requested duration needs {n_steps} steps, "
                         f"got {table.shape[0]} rows")
    return table[:n_steps]

# --- auxiliary-system test --------------------------------------------------------------------
@dataclass(frozen=True)
class AuxiliaryTestResult:
    """Outcome of `auxiliary_system_test`.

    Attributes
    ----------
    times : ndarray (T,)
    distance : ndarray (T, n_copies - 1)
        ``|x_i(t) - x_0(t)|`` (Euclidean) of each copy i >= 1 from copy 0.
    attractor_size : float
        RMS distance of copy 0 from its time average over the second half of the run.
    relative_distance : ndarray (T, n_copies - 1)
        ``distance / attractor_size``.
    converged : bool
        The largest final relative distance is below ``tolerance``.
    rate : float
        Convergence rate (per unit time; per step for a `DiscreteNetwork`): minus the slope
        of a least-squares fit of ``log max_i d_i(t)`` over the fit window; > 0 converges,
        <= 0 does not. NaN when there are fewer than 3 points to fit.
    parameters : dict
    """

    times: np.ndarray
    distance: np.ndarray
    attractor_size: float
    relative_distance: np.ndarray
    converged: bool
    rate: float
    parameters: dict[str, Any] = field(default_factory=dict)


def auxiliary_system_test(
    network: Network | DiscreteNetwork,
    inputs: InputSpec,
    t_max: float,
    *,
    dt: float | None = None,
    n_copies: int = 2,
    x0: np.ndarray | None = None,
    tolerance: float = 1e-3,
    fit_start: float = 0.1,
    floor: float = 1e-10,
    seed: int | np.random.Generator | None = None,
) -> AuxiliaryTestResult:
    """Drive ``n_copies`` copies of a network from different initial states with the same input.

    Parameters
    ----------
    network : Network or DiscreteNetwork
        Must have ``input_weights``.
    inputs : array (n_steps, n_inputs) or callable
        The drive, as for `simulate` (a longer array is cut; a shorter one is refused).
    t_max : float
        Duration (steps for a `DiscreteNetwork`).
    dt : float, optional
        Time step (default 0.1; 1 for a `DiscreteNetwork`).
    n_copies : int >= 2
    x0 : array (n_copies, n), optional
        Initial states; default iid ``N(0, 1)`` entries from ``seed``.
    tolerance : float
        ``converged`` when the final ``distance / attractor_size`` is below it.
    fit_start : float in [0, 1)
        Fraction of the run skipped before fitting the rate (initial transient).
    floor : float
        Relative distances below it (round-off) are left out of the rate fit.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    AuxiliaryTestResult

    Raises
    ------
    ValueError
        Bad ``network``, ``inputs`` (shape, non-finite, too short), ``n_copies``, ``x0``.
    """
    discrete = _check_network(network)
    dt = 1.0 if discrete else (0.1 if dt is None else check_number("dt", dt, low=0.0,
                                                                  low_inclusive=False))
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    n_steps = round(t_max / dt)
    if n_steps < 2:
        raise ValueError(f"t_max must cover at least 2 steps of dt={dt:g}, got {t_max:g}")
    n_copies = check_int("n_copies", n_copies, low=2)
    tolerance = check_number("tolerance", tolerance, low=0.0, low_inclusive=False)
    fit_start = check_number("fit_start", fit_start, low=0.0, high=1.0)
    floor = check_number("floor", floor, low=0.0)
    table = _input_table(inputs, network, n_steps)
    rng, record = resolve_seed(seed)
    if x0 is None:
        init = rng.standard_normal((n_copies, network.n))
    else:
        init = check_array("x0", x0, shape=(n_copies, network.n))
    ds = simulate(network, t_max=n_steps * dt, dt=None if discrete else dt, x0=init,
                  inputs=table, batch=n_copies, dtype="float64", seed=rng, progress=False)
    x = ds.x.values  # (T, copies, n)
    times = np.arange(x.shape[0]) * dt
    distance = np.linalg.norm(x[:, 1:] - x[:, :1], axis=-1)
    half = x[x.shape[0] // 2:, 0]
    size = float(np.sqrt(np.mean(np.sum((half - half.mean(axis=0)) ** 2, axis=-1))))
    if size <= 1e-12 * (1.0 + float(np.abs(half).max())):
        size = float(np.sqrt(np.mean(np.sum(half ** 2, axis=-1)))) or 1.0
    relative = distance / size
    worst = relative.max(axis=1)
    start = int(fit_start * len(times))
    below = np.nonzero(worst[start:] <= floor)[0]
    stop = start + (int(below[0]) if below.size else len(times) - start)
    rate = float("nan")
    if stop - start >= 3:
        slope = np.polyfit(times[start:stop], np.log(worst[start:stop]), 1)[0]
        rate = float(-slope)
    return AuxiliaryTestResult(
        times=times, distance=distance, attractor_size=size, relative_distance=relative,
        converged=bool(worst[-1] < tolerance), rate=rate,
        parameters={"t_max": n_steps * dt, "dt": dt, "n_copies": n_copies,
                    "tolerance": tolerance, "fit_start": fit_start, "floor": floor,
                    "seed": record, "network": network.describe()},
    )


# --- conditional Lyapunov exponent -------------------------------------------------------------
def conditional_lyapunov_exponent(
    network: Network | DiscreteNetwork,
    inputs: InputSpec,
    t_max: float,
    *,
    n_exponents: int = 1,
    dt: float | None = None,
    t_transient: float = 20.0,
    orthonormalize_every: float = 1.0,
    n_blocks: int = 10,
    x0: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
) -> LyapunovResult:
    """Largest conditional Lyapunov exponents of a driven network (tangent/QR method).

    Continuous time: the state follows ``tau dx/dt = -x + J phi(x) + B u(t) + b`` and k tangent
    vectors ``tau dv/dt = -v + J (phi'(x) * v)`` (the drive does not act on v), integrated
    together with RK4 (the input held over each step for an array, evaluated at the stages for
    a callable, as in `simulate`). Discrete time: with ``p = A x + B u + d``,
    ``x' = (1 - a) x + a phi(p)`` and ``v' = (1 - a) v + a phi'(p) * (A v)``. The basis is
    re-orthonormalised by QR every ``orthonormalize_every``;
    ``lambda_i = (1 / T) sum log |R_ii|``. Negative largest exponent <=> the driven network
    forgets its initial state (generalized synchronization with the drive).

    Parameters
    ----------
    network : Network or DiscreteNetwork
    inputs : array (n_steps, n_inputs) or callable ``u(t)``
        Covers ``t_transient + t_max`` (a longer array is cut).
    t_max : float
        Averaging time after the transient (steps for a `DiscreteNetwork`).
    n_exponents : int, 1 <= k <= n
    dt : float, optional
        RK4 step (default 0.1; must be 1 or None for a `DiscreteNetwork`).
    t_transient : float
        Discarded first (reaches the driven trajectory, aligns the basis).
    orthonormalize_every : float
        Time between QR steps (rounded to whole steps).
    n_blocks : int
        Blocks for the standard error (see `LyapunovResult`).
    x0 : array (n,), optional
        Initial state (default ``N(0, 1)`` from ``seed``).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LyapunovResult
        Exponents per unit time (per step for a `DiscreteNetwork`); ``.largest``.

    Raises
    ------
    ValueError
        ``n_exponents > n``, inputs too short or non-finite, bad times or ``x0``.
    """
    discrete = _check_network(network)
    if discrete:
        if dt not in (None, 1, 1.0):
            raise ValueError(f"dt must be 1 (or None) for a DiscreteNetwork, got {dt!r}")
        dt = 1.0
    else:
        dt = 0.1 if dt is None else check_number("dt", dt, low=0.0, low_inclusive=False)
    t_max = check_number("t_max", t_max, low=0.0, low_inclusive=False)
    t_transient = check_number("t_transient", t_transient, low=0.0)
    every = check_number("orthonormalize_every", orthonormalize_every, low=0.0,
                         low_inclusive=False)
    n_blocks = check_int("n_blocks", n_blocks)
    n = network.n
    k = check_int("n_exponents", n_exponents)
    if k > n:
        raise ValueError(f"n_exponents must be <= the network size n={n}, got {k}")
    per_window = max(1, round(every / dt))
    n_transient = round(t_transient / dt)
    n_windows = max(1, math.ceil(round(t_max / dt) / per_window))
    total = n_transient + n_windows * per_window
    source = _input_table(inputs, network, total)
    rng, record = resolve_seed(seed)
    x_init = rng.standard_normal(n) if x0 is None else check_array("x0", x0, shape=(n,))
    dtype = torch.float64
    x = torch.as_tensor(x_init, dtype=dtype)[None, :]
    q = torch.as_tensor(np.linalg.qr(rng.standard_normal((n, k)))[0].T.copy(), dtype=dtype)
    apply, phi, dphi = network.connectivity.apply, network.phi.value, network.phi.derivative
    table = None if callable(source) else torch.as_tensor(source, dtype=dtype)

    def u_at(step: int, t: float) -> torch.Tensor:
        if table is not None:
            return table[step][None, :]
        return torch.as_tensor(np.asarray(source(t), dtype=float), dtype=dtype).reshape(1, -1)

    if discrete:
        leak = network.leak

        def advance(x: torch.Tensor, q: torch.Tensor, step: int) -> tuple[torch.Tensor, ...]:
            out = apply(torch.cat([x, q], dim=0))
            pre = out[:1] + network.external_input(u_at(step, float(step)), x)
            new_x = torch.lerp(x, phi(pre), leak)
            new_q = torch.lerp(q, dphi(pre) * out[1:], leak)
            return new_x, new_q
    else:
        inv_tau = 1.0 / network.tau

        def field_(x: torch.Tensor, q: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = apply(torch.cat([phi(x), dphi(x) * q], dim=0))
            return ((out[:1] - x + network.external_input(u, x)) * inv_tau,
                    (out[1:] - q) * inv_tau)

        def advance(x: torch.Tensor, q: torch.Tensor, step: int) -> tuple[torch.Tensor, ...]:
            t = step * dt
            u0 = u_at(step, t)
            um = u0 if table is not None else u_at(step, t + 0.5 * dt)
            u1 = u0 if table is not None else u_at(step, t + dt)
            a1, b1 = field_(x, q, u0)
            a2, b2 = field_(x + 0.5 * dt * a1, q + 0.5 * dt * b1, um)
            a3, b3 = field_(x + 0.5 * dt * a2, q + 0.5 * dt * b2, um)
            a4, b4 = field_(x + dt * a3, q + dt * b3, u1)
            return (x + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4),
                    q + dt / 6 * (b1 + 2 * b2 + 2 * b3 + b4))

    def orthonormalize(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q_mat, r_mat = torch.linalg.qr(q.T)
        diag = torch.diagonal(r_mat)
        return (q_mat * torch.sign(diag)).T.contiguous(), diag

    step = 0
    with torch.no_grad():
        for _ in range(n_transient):
            x, q = advance(x, q, step)
            step += 1
            if step % per_window == 0:
                q, _ = orthonormalize(q)
        q, _ = orthonormalize(q)
        per_window_growth = np.empty((n_windows, k))
        for window in range(n_windows):
            for _ in range(per_window):
                x, q = advance(x, q, step)
                step += 1
            if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(q).all())):
                raise ValueError("the driven state became non-finite: lower dt or the inputs")
            q, diag = orthonormalize(q)
            per_window_growth[window] = diag.abs().log().numpy()
    window_time = per_window * dt
    times = window_time * np.arange(1, n_windows + 1)
    running = np.cumsum(per_window_growth, axis=0) / times[:, None]
    exponents = running[-1]
    blocks = min(n_blocks, n_windows)
    edges = np.linspace(0, n_windows, blocks + 1).round().astype(int)
    per_block = np.stack([per_window_growth[a:b].sum(axis=0) / ((b - a) * window_time)
                          for a, b in itertools.pairwise(edges)])[None]  # (1, blocks, k)
    error = (per_block[0].std(axis=0, ddof=1) / math.sqrt(blocks) if blocks > 1
             else np.full(k, np.nan))
    return LyapunovResult(
        exponents=exponents, per_trial=exponents[None, :], standard_error=error,
        convergence=running, times=times, per_block=per_block,
        parameters={"t_max": float(times[-1]), "n_exponents": k, "dt": dt,
                    "t_transient": n_transient * dt, "orthonormalize_every": window_time,
                    "n_blocks": blocks, "seed": record, "driven": True,
                    "network": network.describe()},
    )

