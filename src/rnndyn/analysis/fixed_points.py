"""Fixed points and slow points of rate networks (Sussillo & Barak 2013; Golub & Sussillo 2018).

Fixed points are the zeros of ``F``: the drift ``F(x) = (-x + J phi(x) + B u + b) / tau`` of a
`Network`, or ``F(x) = step(x) - x`` of a `DiscreteNetwork`. `find_fixed_points` minimises the
speed::

    q(x) = |F(x)|^2 / 2

from many initial states, all optimised together as one torch batch:

1. Initial states: states visited by a noisy `simulate` run from random initial conditions
   (`sample_initial_states`), half of them replaced by convex combinations of two late
   states (``mix_fraction``: saddles lie on basin boundaries, between attractors, where
   trajectories from random states rarely pass), or given by the user.
2. Adam on ``q`` (per-coordinate steps, so candidates do not interact), ``max_iterations``
   steps, or fewer: it stops when every ``q < 1e-12`` or the summed ``q`` fell by less than
   1% over the last 50 steps (Adam has brought the candidates near their minima; the polish
   converges from there far faster than more Adam steps).
3. Polish: damped Newton (Levenberg-Marquardt) with the closed-form Jacobian ``DF``::

       (DF^T DF + mu I) dx = -DF^T F

   a step is taken only if it lowers ``q`` (``mu`` /3), otherwise ``mu`` x4 and retry: this
   trust-region safeguard keeps it from jumping between basins and handles the singular
   Jacobian of a continuous attractor (``mu -> 0`` is Newton's ``DF dx = -F``).
4. Classification: ``max |F| <= tol`` (default 1e-10) -> a *fixed* point; otherwise, if
   ``q <= q_slow`` (default 1e-6, a drift slower than ~1.4e-3 per unit of ``tau``), a *slow*
   point (a local minimum of ``q`` that is not a zero); otherwise discarded.
5. Duplicates: fixed points closer than ``dedup_tol * max(1, |x|_inf)`` in max-norm (1e-6,
   four decades above the Newton accuracy) are merged, as are slow points closer than
   ``slow_dedup_tol`` (1e-2, as Adam leaves them only roughly located) to a kept point.
6. Stability from the eigenvalues of the Jacobian (`rnndyn.analysis.linear.classify_stability`):
   ``max Re lambda`` (flow) or ``max |lambda| - 1`` (map) below ``-marginal_tol`` is stable,
   above ``+marginal_tol`` unstable, in between marginal (the zero mode along a ring).

For a low-rank network ``J = M N^T / N``, `find_fixed_points_latent` instead solves the exact
R-dimensional equation ``kappa = N^T phi(M kappa + B u + b) / N`` with the theory core
(`rnndyn.theory.lowrank.find_fixed_points` on a `FiniteLatentDynamics`) and lifts the solutions
(``x = M kappa + B u + b`` for a flow, ``x = phi(M kappa + B u + d)`` for a map).

Results are `FixedPoints`, saved as NetCDF through `rnndyn.io.save` (atomic: temporary file,
then rename), like simulation results, so one loader and one file format serve the project;
complex eigenvalues and eigenvectors are stored as real and imaginary parts, readable by any
NetCDF tool.

`FixedPoints` is defined in `rnndyn.analysis._fixed_point_result` and the numerical steps 2-6
in `rnndyn.analysis._fixed_point_search`; import from here (or `rnndyn.analysis`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import xarray as xr

# The private helpers below (and ``_ADAM_STOP_Q``, imported ``as`` itself to mark the
# re-export) were defined here before this module was split and stay importable from here.
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.analysis import linear
from rnndyn.analysis._fixed_point_result import FixedPoints
from rnndyn.analysis._fixed_point_search import _ADAM_STOP_Q as _ADAM_STOP_Q
from rnndyn.analysis._fixed_point_search import (
    _CHUNK_BYTES,
    _adam,
    _assemble,
    _common_checks,
    _deduplicate,
    _polish,
    _q,
)
from rnndyn.connectivity._random import resolve_seed
from rnndyn.simulate.network import DiscreteNetwork
from rnndyn.simulate.run import simulate

__all__ = ["FixedPoints", "find_fixed_points", "find_fixed_points_latent",
           "sample_initial_states"]


def sample_initial_states(
    trajectories: Any,
    n_samples: int,
    *,
    skip: int = 0,
    noise_std: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Draw states uniformly (with replacement) from recorded trajectories.

    Parameters
    ----------
    trajectories : Dataset with a variable ``x``, or array (time, trial, n) or (time, n)
    n_samples : int
    skip : int, default 0
        Leading time samples left out (a transient); must leave at least one.
    noise_std : float, default 0
        Standard deviation of iid Gaussian noise added to each drawn state (Golub & Sussillo
        add it so that starts leave the attractor they were recorded on).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray (n_samples, n)

    Raises
    ------
    ValueError
        Non-finite trajectories, or too short for ``skip`` (the message names it).
    """
    if isinstance(trajectories, xr.Dataset):
        if "x" not in trajectories:
            raise ValueError("trajectories must hold a variable 'x' (record='x' in simulate)")
        trajectories = trajectories.x.transpose("time", "trial", ...).values
    traj = check_array("trajectories", trajectories, ndim=(2, 3))
    traj = traj[:, None, :] if traj.ndim == 2 else traj
    n_samples = check_int("n_samples", n_samples)
    skip = check_int("skip", skip, low=0)
    if skip >= traj.shape[0]:
        raise ValueError(f"skip must be < the number of time samples {traj.shape[0]} "
                         f"(trajectories too short), got {skip}")
    noise_std = check_number("noise_std", noise_std, low=0.0)
    rng = np.random.default_rng(seed)
    pool = traj[skip:].reshape(-1, traj.shape[-1])
    drawn = pool[rng.integers(len(pool), size=n_samples)]
    return drawn + noise_std * rng.standard_normal(drawn.shape) if noise_std else drawn


def find_fixed_points(
    network: linear.AnyNetwork,
    initial_states: Any = None,
    u: Any = None,
    *,
    n_initial: int = 128,
    t_sample: float | None = None,
    sample_noise: float = 0.1,
    mix_fraction: float = 0.5,
    learning_rate: float = 0.01,
    max_iterations: int = 500,
    polish_steps: int = 100,
    tol: float = 1e-10,
    q_slow: float = 1e-6,
    dedup_tol: float = 1e-6,
    slow_dedup_tol: float = 1e-2,
    marginal_tol: float = 1e-6,
    n_modes: int | None = None,
    device: str | torch.device = "cpu",
    seed: int | np.random.Generator | None = None,
) -> FixedPoints:
    """Find fixed and slow points by batched minimisation of ``q(x) = |F(x)|^2 / 2``.

    See the module docstring for the algorithm and the meaning of the tolerances.

    Parameters
    ----------
    network : Network or DiscreteNetwork
    initial_states : array (K, n), optional
        Starting states. Default: ``n_initial`` states drawn (`sample_initial_states`) from a
        `simulate` run of ``min(n_initial, 64)`` trials from ``N(0, 1)`` states, with white
        noise ``sample_noise`` and the input ``u``, over ``t_sample``.
    u : array (n_inputs,), optional
        Constant input at which the fixed points are sought.
    n_initial : int, default 128
    t_sample : float, optional
        Duration of the sampling run: default ``20 tau`` (flow) or 50 steps (map).
    sample_noise : float, default 0.1
        Noise of the sampling run.
    mix_fraction : float in [0, 1], default 0.5
        Fraction of the default starts that are convex combinations ``a x_1 + (1 - a) x_2``
        (``a`` uniform in [0, 1]) of two states from the second half of the sampling run:
        saddles lie between attractors, where trajectories from random states rarely go.
    learning_rate : float, default 0.01
        Adam step (in units of the state).
    max_iterations : int, default 500
        Adam steps (fewer when q reaches a plateau, see the module docstring).
    polish_steps : int, default 100
        Levenberg-Marquardt steps.
    tol : float, default 1e-10
        A point is fixed when ``max_i |F_i(x)| <= tol``.
    q_slow : float, default 1e-6
        Unpolished points with ``q <= q_slow`` are kept as slow points.
    dedup_tol, slow_dedup_tol : float
        Max-norm distances (relative to ``max(1, |x|_inf)``) for merging fixed / slow points.
    marginal_tol : float, default 1e-6
        Half-width of the marginal band (`rnndyn.analysis.linear.classify_stability`).
    n_modes : int, optional
        Eigenvectors kept per point (default all n).
    device : str or torch.device
        Where the batch is optimised (float64 throughout: ``tol`` needs it).
    seed : int or numpy.random.Generator, optional
        For the sampling run and the draws.

    Returns
    -------
    FixedPoints

    Raises
    ------
    ValueError
        Non-finite or wrongly shaped ``initial_states`` or ``u``, ``n_modes > N``, bad
        tolerances (the message names the parameter).
    """
    network, uu, tol, dedup_tol, marginal_tol, n_modes, dev = _common_checks(
        network, u, tol, dedup_tol, marginal_tol, n_modes, device)
    q_slow = check_number("q_slow", q_slow, low=0.0)
    slow_dedup_tol = check_number("slow_dedup_tol", slow_dedup_tol, low=0.0)
    lr = check_number("learning_rate", learning_rate, low=0.0, low_inclusive=False)
    max_iterations = check_int("max_iterations", max_iterations, low=0)
    polish_steps = check_int("polish_steps", polish_steps, low=0)
    rng, seed_record = resolve_seed(seed)
    if initial_states is None:
        n_initial = check_int("n_initial", n_initial)
        discrete = isinstance(network, DiscreteNetwork)
        if t_sample is None:
            t_sample = 50.0 if discrete else 20.0 * network.tau
        t_sample = check_number("t_sample", t_sample, low=0.0, low_inclusive=False)
        inputs = None if uu is None else (lambda t: uu)
        ds = simulate(network, t_max=t_sample, dt=None if discrete else 0.1 * network.tau,
                      inputs=inputs, noise_std=check_number("sample_noise", sample_noise, low=0),
                      batch=min(n_initial, 64), dtype="float64", seed=rng, progress=False)
        n_mix = round(check_number("mix_fraction", mix_fraction, low=0.0, high=1.0)
                      * n_initial)
        starts = sample_initial_states(ds, n_initial, seed=rng)
        if n_mix:
            # Saddles sit on the boundaries between basins, which lie between attractors:
            # convex combinations of two late states (mostly on attractors) start near them.
            late = ds.x.values[len(ds.time) // 2:].reshape(-1, network.n)
            pairs = late[rng.integers(len(late), size=(n_mix, 2))]
            alpha = rng.uniform(size=(n_mix, 1))
            starts[:n_mix] = alpha * pairs[:, 0] + (1 - alpha) * pairs[:, 1]
    else:
        starts, _ = linear.check_states("initial_states", initial_states, network.n)
    x0 = torch.as_tensor(starts, dtype=torch.float64, device=dev)
    ut = None if uu is None else torch.as_tensor(uu, dtype=torch.float64,
                                                  device=dev).expand(len(x0), -1)
    x, adam_steps = _adam(network, x0, ut, lr, max_iterations)
    dense = linear.dense_tensor(network, dev, torch.float64)
    chunk = max(1, _CHUNK_BYTES // (3 * 8 * network.n**2))
    with torch.no_grad():
        parts = [_polish(network, x[i:i + chunk], None if ut is None else ut[i:i + chunk],
                         dense, tol, polish_steps) for i in range(0, len(x), chunk)]
        x = torch.cat(parts)
        f, q = _q(network, x, ut)
        fixed = (f.abs().amax(dim=1) <= tol).cpu().numpy()
    q = q.cpu().numpy()
    xs = x.cpu().numpy()
    keep = (fixed | (q <= q_slow)) & np.isfinite(q)
    idx = np.nonzero(keep)[0]
    kept = idx[_deduplicate(xs[idx], q[idx], fixed[idx], dedup_tol, slow_dedup_tol)]
    parameters = {
        "method": "batched_adam_levenberg_marquardt", "n_initial": len(starts),
        "n_converged": int(fixed.sum()), "n_slow": int((keep & ~fixed).sum()),
        "n_discarded": int((~keep).sum()), "adam_steps": adam_steps, "tol": tol,
        "q_slow": q_slow, "dedup_tol": dedup_tol, "slow_dedup_tol": slow_dedup_tol,
        "marginal_tol": marginal_tol, "learning_rate": lr, "seed": seed_record,
        "u": None if uu is None else uu.tolist(), "network": network.describe(),
    }
    return _assemble(network, xs[kept], uu, fixed[kept], marginal_tol, n_modes, dev, None,
                     parameters)


def find_fixed_points_latent(
    network: linear.AnyNetwork,
    u: Any = None,
    *,
    n_starts: int = 16,
    n_integrate: int = 0,
    tol: float = 1e-10,
    dedup_tol: float = 1e-6,
    marginal_tol: float = 1e-6,
    n_modes: int | None = None,
    device: str | torch.device = "cpu",
    seed: int | np.random.Generator | None = 0,
) -> FixedPoints:
    """Exact fixed points of a low-rank network from its R-dimensional latent equation.

    ``kappa = N^T phi(M kappa + B u + b) / N`` is solved by the theory core
    (`rnndyn.theory.lowrank.find_fixed_points` with a `FiniteLatentDynamics` whose input
    loadings are ``[B, b]`` and input ``[u, 1]``), then lifted to ``x = M kappa + B u + b``
    (flow) or ``x = phi(M kappa + B u + d)`` (map; the same equation holds for
    ``kappa = N^T x / N``). Every fixed point lies in this family, so the search is complete
    up to the theory's multistart.

    Parameters
    ----------
    network : Network or DiscreteNetwork with a `LowRankConnectivity`
    u : array (n_inputs,), optional
    n_starts : int, default 16
        Random starts of the latent search (plus the origin).
    n_integrate : int, default 0
        Extra starts at the end of latent trajectories (the theory core's ``n_integrate``;
        each costs an ODE integration, and the random starts suffice for small R).
    tol, dedup_tol, marginal_tol, n_modes, device
        As for `find_fixed_points` (``tol`` applies to the latent residual).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    FixedPoints
        With ``latent`` holding ``kappa``.

    Raises
    ------
    ValueError
        If the connectivity is not low-rank, or bad arguments.
    rnndyn.ConvergenceError
        If no start converges.
    """
    from rnndyn.theory.lowrank import FiniteLatentDynamics
    from rnndyn.theory.lowrank import find_fixed_points as latent_search

    network, uu, tol, dedup_tol, marginal_tol, n_modes, dev = _common_checks(
        network, u, tol, dedup_tol, marginal_tol, n_modes, device)
    conn = network.connectivity
    if not (hasattr(conn, "left") and hasattr(conn, "right")):
        raise ValueError("network must have low-rank connectivity (left and right loadings) "
                         f"for the latent search, got {conn.kind!r}")
    columns, v = [], []
    if network.input_weights is not None:
        columns.append(network.input_weights)
        v.extend(np.zeros(network.n_inputs) if uu is None else uu)
    if network.bias is not None:
        columns.append(network.bias[:, None])
        v.append(1.0)
    inputs = np.concatenate(columns, axis=1) if columns else None
    dyn = FiniteLatentDynamics(conn.left, conn.right, inputs, phi=network.phi)
    found = latent_search(dyn, np.array(v) if v else None, n_starts=n_starts,
                          n_integrate=n_integrate, seed=seed,
                          tol=tol, dedup_tol=dedup_tol)
    kappa = found.kappas
    drive = kappa @ conn.left.T + (0.0 if inputs is None else inputs @ np.array(v))
    x = network.phi.value(drive) if isinstance(network, DiscreteNetwork) else drive
    parameters = {"method": "latent", "n_starts": found.n_starts,
                  "n_converged": found.n_converged, "tol": tol, "dedup_tol": dedup_tol,
                  "marginal_tol": marginal_tol, "u": None if uu is None else uu.tolist(),
                  "network": network.describe()}
    return _assemble(network, np.asarray(x, float), uu, np.ones(len(x), bool), marginal_tol,
                     n_modes, dev, kappa, parameters)
