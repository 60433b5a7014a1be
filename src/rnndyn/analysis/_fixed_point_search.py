"""Numerical core of `rnndyn.analysis.fixed_points`: batched Adam, Levenberg-Marquardt polish,
deduplication, and the assembly of Jacobians, eigenpairs and stability into `FixedPoints`.

Private: the algorithm and the meaning of its tolerances are described in the docstring of
`rnndyn.analysis.fixed_points`, whose public functions drive these steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_int, check_number
from rnndyn.analysis import linear
from rnndyn.analysis._fixed_point_result import FixedPoints
from rnndyn.simulate.network import DiscreteNetwork

_ADAM_STOP_Q = 1e-12  # Adam hands over to the polish once every candidate is this slow
_CHUNK_BYTES = 2**28  # Jacobian memory per polish chunk (256 MiB)


def _q(network: Any, x: torch.Tensor, u: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    f = linear.field(network, x, u)
    return f, 0.5 * (f * f).sum(dim=1)


def _adam(network: Any, x: torch.Tensor, u: torch.Tensor | None, lr: float,
          max_iterations: int) -> tuple[torch.Tensor, int]:
    """Adam (Kingma & Ba 2015; beta = 0.9, 0.999) on each candidate's own q, all at once.

    Written out rather than torch.optim.Adam, whose first use imports torch._dynamo (seconds).
    Stops early once every q < 1e-12 or the total q fell by under 1% in 50 steps (plateau).
    """
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    x = x.clone()
    done, previous = 0, np.inf
    for done in range(1, max_iterations + 1):
        with torch.enable_grad():
            xg = x.requires_grad_(True)
            _, q = _q(network, xg, u)
            # Sum of independent q's: each candidate gets its own gradient DF^T F.
            (grad,) = torch.autograd.grad(q.sum(), xg)
        x = x.detach()
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = lr / (1 - beta1**done)
        x -= step * m / ((v / (1 - beta2**done)).sqrt() + eps)
        if done % 50 == 0:
            total = float(q.detach().sum())
            if float(q.detach().max()) < _ADAM_STOP_Q or total > 0.99 * previous:
                break
            previous = total
    return x, done


def _polish(network: Any, x: torch.Tensor, u: torch.Tensor | None, dense: torch.Tensor,
            tol: float, max_steps: int) -> torch.Tensor:
    """Levenberg-Marquardt on q with the closed-form Jacobian, for one chunk of candidates.

    Only the candidates still above ``tol`` (and whose damping has not run away, i.e. that
    sit on a non-zero minimum of q) are carried to the next step, so the cost falls as they
    converge.
    """
    eye = torch.eye(network.n, dtype=x.dtype, device=x.device)
    x = x.clone()
    mu = torch.full((len(x),), 1e-3, dtype=x.dtype, device=x.device)
    f, q = _q(network, x, u)
    active = torch.arange(len(x), device=x.device)
    for _ in range(max_steps):
        keep = (f[active].abs().amax(dim=1) > tol) & (mu[active] < 1e12)
        active = active[keep]
        if len(active) == 0:
            break
        xa, fa, ua = x[active], f[active], None if u is None else u[active]
        jac = linear.closed_form_jacobian(network, xa, ua, dense)
        if isinstance(network, DiscreteNetwork):
            jac = jac - eye
        normal = jac.transpose(1, 2) @ jac
        scale = normal.diagonal(dim1=1, dim2=2).mean(dim=1).clamp_min(1e-30)
        rhs = -(jac.transpose(1, 2) @ fa[:, :, None])
        damped = normal + (mu[active] * scale)[:, None, None] * eye
        trial = xa + torch.linalg.solve(damped, rhs)[:, :, 0]
        f_new, q_new = _q(network, trial, ua)
        accept = torch.isfinite(q_new) & (q_new < q[active])
        x[active] = torch.where(accept[:, None], trial, xa)
        f[active] = torch.where(accept[:, None], f_new, fa)
        q[active] = torch.where(accept, q_new, q[active])
        mu[active] = torch.where(accept, mu[active] / 3.0, mu[active] * 4.0).clamp_min(1e-12)
    return x


def _deduplicate(x: np.ndarray, q: np.ndarray, fixed: np.ndarray, dedup_tol: float,
                 slow_dedup_tol: float) -> np.ndarray:
    """Indices kept: fixed points first (lowest q first), then slow points far from all."""
    order = np.lexsort((q, ~fixed))
    kept: list[int] = []
    for i in order:
        size = max(1.0, float(np.max(np.abs(x[i]))))
        radius = (dedup_tol if fixed[i] else slow_dedup_tol) * size
        if all(np.max(np.abs(x[j] - x[i])) >= radius for j in kept):
            kept.append(i)
    return np.array(kept, dtype=int)


def _assemble(network: Any, x: np.ndarray, u: np.ndarray | None, fixed: np.ndarray,
              marginal_tol: float, n_modes: int | None, device: torch.device,
              latent: np.ndarray | None, parameters: dict[str, Any]) -> FixedPoints:
    """Jacobians, sorted eigenpairs and stability of the points ``x`` (float64)."""
    discrete = isinstance(network, DiscreteNetwork)
    xt = torch.as_tensor(x, dtype=torch.float64, device=device)
    ut = (None if u is None else
          torch.as_tensor(u, dtype=torch.float64, device=device).expand(len(x), -1))
    with torch.no_grad():
        q = _q(network, xt, ut)[1].cpu().numpy()
        dense = linear.dense_tensor(network, device, torch.float64)
        jac = linear.closed_form_jacobian(network, xt, ut, dense).cpu().numpy()
    n = network.n
    k = n if n_modes is None else n_modes
    values = np.empty((len(x), n), complex)
    vectors = np.empty((len(x), n, k), complex)
    for i, matrix in enumerate(jac):
        lam, vec = np.linalg.eig(matrix)
        key = np.abs(lam) if discrete else lam.real
        order = np.lexsort((-lam.imag, -key))
        values[i], vectors[i] = lam[order], vec[:, order[:k]]
    stability = (linear.classify_stability(values, discrete=discrete, tol=marginal_tol)
                 if len(x) else np.zeros(0, dtype="<U8"))
    # Deterministic order: stable, marginal, unstable; then by distance from the origin.
    codes = [linear.STABILITY_LABELS.index(s) for s in stability]
    order = (np.lexsort((x[:, 0], np.linalg.norm(x, axis=1), codes)) if len(x)
             else np.zeros(0, int))
    return FixedPoints(x[order], q[order], fixed[order], jac[order], values[order],
                       vectors[order], stability[order].astype(str), discrete,
                       None if latent is None else latent[order], parameters)


def _common_checks(network: Any, u: Any, tol: float, dedup_tol: float, marginal_tol: float,
                   n_modes: int | None, device: Any) -> tuple:
    network = linear.check_network(network)
    uu = linear.check_input(network, u)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    dedup_tol = check_number("dedup_tol", dedup_tol, low=0.0, low_inclusive=False)
    marginal_tol = check_number("marginal_tol", marginal_tol, low=0.0)
    if n_modes is not None:
        n_modes = check_int("n_modes", n_modes)
        if n_modes > network.n:
            raise ValueError(f"n_modes must be <= the network size N={network.n}, got {n_modes}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device such as 'cpu', got {device!r}") from None
    return network, uu, tol, dedup_tol, marginal_tol, n_modes, dev
