"""Readout-only learning for fixed recurrent weights: ridge regression and FORCE (RLS).

Both write the readout ``W_out``, ``b_out`` of a `RateRNN` in place and leave the recurrent and
input weights alone (FORCE with output feedback folds the feedback loop into W, see
`force_train`). The readout reads the rates, ``y_t = W_out phi(gain x_{t+1}) + b_out``, exactly
as `RateRNN.forward` does, so the fitted model can be run, trained further or saved as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import torch

from rnndyn._validation import check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.train._protocols import Task, TrialBatch

__all__ = ["ForceResult", "ReadoutFit", "fit_readout", "force_train"]


@dataclass
class ReadoutFit:
    """Result of `fit_readout`: the fitted ``w_out`` (O, N), ``b_out`` (O,), the mask-weighted
    training ``mse`` per output and the number of (time, trial) samples used."""

    w_out: np.ndarray
    b_out: np.ndarray
    mse: np.ndarray
    n_samples: int


def fit_readout(model: Any, data: Task | TrialBatch | tuple[Any, ...], *, ridge: float = 1e-6,
                washout: int = 0, batch_size: int = 32, x0: Any = None,
                seed: Seed = None) -> ReadoutFit:
    """Closed-form ridge regression of the readout on the network's rates.

    Minimises, for each output o, over w_o (N,) and the bias c_o (not penalised)::

        sum_s m_so (w_o . r_s + c_o - y_so)^2 + ridge |w_o|^2

    over the samples s = (trial, t >= washout), by solving the normal equations once:
    (X^T M_o X + ridge D) [w_o; c_o] = X^T M_o y_o with X = [r, 1] and D = diag(1, .., 1, 0).
    The penalty is on the sum (not the mean) of squared errors, as in reservoirpy, so the same
    ridge weighs less with more data.

    Parameters
    ----------
    model : RateRNN
        Its recurrent and input weights are used as they are; ``w_out``, ``b_out`` are written.
    data : Task, TrialBatch or tuple (inputs, targets[, mask])
        A task draws ``batch_size`` trials with ``seed``; arrays are (batch, time, .).
    ridge : float, default 1e-6
        >= 0.
    washout : int, default 0
        Number of initial time steps of each trial left out (transient of the initial state).
    x0 : array, optional
        Initial state, (N,) or (batch, N); default zeros.
    seed : int or numpy.random.Generator, optional
        Seeds the task's batch and the network noise.

    Returns
    -------
    ReadoutFit
    """
    ridge = check_number("ridge", ridge, low=0.0)
    washout = check_int("washout", washout, low=0)
    rng, _ = resolve_seed(seed)
    inputs, targets, mask = _unpack(model, data, batch_size, rng)
    if washout >= inputs.shape[1]:
        raise ValueError(f"washout must be < the number of time steps {inputs.shape[1]}, "
                         f"got {washout}")
    with torch.no_grad():
        rates = model(inputs, x0=x0, noise_seed=rng).rates
    n = model.n_neurons
    features = _flat(rates[:, washout:])
    design = np.hstack([features, np.ones((features.shape[0], 1))])
    y = _flat(targets[:, washout:])
    m = _flat(mask[:, washout:])
    penalty = np.diag(np.r_[np.full(n, ridge), 0.0])
    solution = np.empty((n + 1, y.shape[1]))
    # One factorisation when every output has the same mask (the usual case), one per output
    # otherwise.
    groups = [list(range(y.shape[1]))] if np.all(m == m[:, :1]) else [[o] for o in
                                                                      range(y.shape[1])]
    for outputs in groups:
        weights = m[:, outputs[0]]
        gram = design.T @ (design * weights[:, None]) + penalty
        rhs = design.T @ (y[:, outputs] * weights[:, None])
        try:
            solution[:, outputs] = scipy.linalg.solve(gram, rhs, assume_a="sym")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            raise ValueError("the ridge normal equations are singular (constant or collinear "
                             "rates, or no scored samples); increase ridge or washout less"
                             ) from None
    w_out, b_out = solution[:n].T, solution[n]
    residual = design @ solution - y
    mse = (m * residual**2).sum(axis=0) / np.maximum(m.sum(axis=0), np.finfo(float).tiny)
    _write_readout(model, w_out, b_out)
    return ReadoutFit(w_out=w_out, b_out=b_out, mse=mse, n_samples=design.shape[0])


@dataclass
class ForceResult:
    """Result of `force_train`.

    Attributes
    ----------
    mse : ndarray (n_batches,)
        Mask-weighted mean squared a-priori error (before each update) over each batch.
    final_state : Tensor (batch, N)
        The last state, to continue the trained dynamics with ``model(u, x0=final_state)``.
    feedback_weights : ndarray (N, O) or None
        The fixed feedback weights W_fb that were folded into W.
    """

    mse: np.ndarray
    final_state: torch.Tensor
    feedback_weights: np.ndarray | None


def force_train(model: Any, task: Task, *, n_batches: int = 1, batch_size: int = 1,
                alpha_rls: float = 1.0, feedback: bool = False, feedback_scale: float = 1.0,
                update_every: int = 1, x0: Any = None, seed: Seed = None) -> ForceResult:
    """FORCE learning (Sussillo & Abbott 2009): the readout is trained online by recursive least
    squares while the network runs.

    At each update, with r = [phi(gain x_{t+1}); 1], e = W_out r - y*_t the a-priori error and
    P_0 = I / alpha_rls::

        k = P r,   c = 1 / (1 + r^T k),   P <- P - c k k^T,   W_out <- W_out - c e k^T

    (for a batch of trials, the equivalent block update with a (batch x batch) inverse; one P
    per output, rows weighted by the task's mask), starting from the model's current readout
    (zero it first to get exactly the regularised least-squares fit). With ``feedback`` the
    output is fed back through fixed random weights W_fb ~ U(-feedback_scale, feedback_scale)::

        x_{t+1} = (1 - alpha) x_t + alpha (W r_t + W_fb z_t + B u_t + b),  z_t = W_out r_t + b_out

    which is how a chaotic network learns to generate a pattern autonomously. After training the
    loop is folded into the recurrent weights, W <- W + W_fb W_out and b <- b + W_fb b_out, so
    `RateRNN.forward` then runs the closed-loop network exactly (needs a plain full-rank W: no
    ``rank``, ``dale`` or ``mask``). Without feedback this is online (RLS) ridge regression of
    the readout only.

    Parameters
    ----------
    model : RateRNN
    task : Task
        Each batch is one training episode, started from ``x0`` (default zeros).
    n_batches, batch_size : int
    alpha_rls : float, default 1.0
        > 0; the learning rate of RLS (inverse of the initial P), the ridge of the fit.
    feedback, feedback_scale : bool, float
    update_every : int, default 1
        Update every this many steps (Sussillo & Abbott update every 2-10 integration steps).
    x0 : array, optional
    seed : int or numpy.random.Generator, optional
        Seeds batches, noise and the feedback weights.
    """
    n_batches, batch_size = check_int("n_batches", n_batches), check_int("batch_size", batch_size)
    alpha_rls = check_number("alpha_rls", alpha_rls, low=0.0, low_inclusive=False)
    update_every = check_int("update_every", update_every)
    feedback_scale = check_number("feedback_scale", feedback_scale, low=0.0)
    if feedback and (model.rank is not None or model.dale is not None or model.mask is not None):
        raise ValueError("feedback=True folds W_fb W_out into W, which needs a plain full-rank "
                         "model (no rank, dale or mask)")
    rng, _ = resolve_seed(seed)
    n, n_out = model.n_neurons, model.n_outputs
    ref = model.w_out
    w_fb = rng.uniform(-feedback_scale, feedback_scale, (n, n_out)) if feedback else None
    fb = None if w_fb is None else torch.as_tensor(w_fb, dtype=ref.dtype, device=ref.device)
    weights = torch.cat([model.w_out.detach(), model.b_out.detach()[:, None]], 1).double()
    p = torch.eye(n + 1, dtype=torch.float64, device=ref.device).repeat(n_out, 1, 1) / alpha_rls
    errors = []
    with torch.no_grad():
        for _ in range(n_batches):
            inputs, targets, mask = _unpack(model, task, batch_size, rng)
            x = model._initial_state(x0, inputs.shape[0], inputs)
            drive = model.input_drive(inputs)
            recurrent, alpha = model.recurrent_operator(), model.alpha
            noise = model._noise(inputs.shape[0], inputs.shape[1], inputs, rng, alpha)
            w_cast = weights.to(ref.dtype)
            total, count = 0.0, 0.0
            for t in range(inputs.shape[1]):
                if fb is not None:
                    r = model.rates_of(x)
                    z = r @ w_cast[:, :n].T + w_cast[:, n]
                    x = model.step(x, drive[:, t] + z @ fb.T, recurrent, alpha)
                else:
                    x = model.step(x, drive[:, t], recurrent, alpha)
                if noise is not None:
                    x = x + noise[t]
                r_aug = torch.nn.functional.pad(model.rates_of(x).double(), (0, 1), value=1.0)
                err = r_aug @ weights.T - targets[:, t].double()
                m = mask[:, t].double()
                total += float((m * err**2).sum())
                count += float(m.sum())
                if t % update_every == 0 and bool(m.any()):
                    weights, p = _rls_update(weights, p, r_aug, err, m)
                    w_cast = weights.to(ref.dtype)
            errors.append(total / max(count, 1e-300))
        _write_readout(model, weights[:, :n].cpu().numpy(), weights[:, n].cpu().numpy())
        if fb is not None:
            model.w_rec.add_(fb @ model.w_out)
            model.bias.add_(fb @ model.b_out)
    return ForceResult(mse=np.asarray(errors), final_state=x.detach(), feedback_weights=w_fb)


def _rls_update(weights: torch.Tensor, p: torch.Tensor, r: torch.Tensor, err: torch.Tensor,
                m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Block RLS step for rows r (B, N+1) with errors err (B, O) and weights m (B, O)."""
    root = m.sqrt().T  # (O, B): sqrt of the weights scales rows and errors
    rows = root[:, :, None] * r[None]  # (O, B, N+1)
    k = p @ rows.transpose(1, 2)  # (O, N+1, B)
    s = torch.eye(r.shape[0], dtype=r.dtype, device=r.device) + rows @ k
    gain = torch.linalg.solve(s, k.transpose(1, 2)).transpose(1, 2)  # K S^-1 (s symmetric)
    p = p - gain @ k.transpose(1, 2)
    weights = weights - (gain @ (root * err.T)[:, :, None])[:, :, 0]
    return weights, p


def _unpack(model: Any, data: Any, batch_size: int,
            rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if isinstance(data, Task):
        if data.n_inputs != model.n_inputs or data.n_outputs != model.n_outputs:
            raise ValueError(f"task {data.name!r} has n_inputs={data.n_inputs}, n_outputs="
                             f"{data.n_outputs} but the model has n_inputs={model.n_inputs}, "
                             f"n_outputs={model.n_outputs}")
        data = data.batch(check_int("batch_size", batch_size), seed=rng)
    if isinstance(data, TrialBatch):
        data = (data.inputs, data.targets, data.mask)
    if not isinstance(data, tuple | list) or len(data) not in (2, 3):
        raise ValueError("data must be a Task, a TrialBatch or a tuple (inputs, targets[, mask])")
    ref = model.w_out
    inputs, targets = (torch.as_tensor(a, dtype=ref.dtype, device=ref.device) for a in data[:2])
    mask = (torch.ones_like(targets) if len(data) == 2 else
            torch.as_tensor(data[2], dtype=ref.dtype, device=ref.device))
    want = (inputs.shape[0], inputs.shape[1], model.n_outputs) if inputs.ndim == 3 else None
    if want is None or tuple(targets.shape) != want or tuple(mask.shape) != want:
        raise ValueError(f"targets and mask must have shape (batch, time, n_outputs="
                         f"{model.n_outputs}) matching inputs {tuple(inputs.shape)}, got "
                         f"{tuple(targets.shape)} and {tuple(mask.shape)}")
    return inputs, targets, mask


def _flat(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).reshape(-1, tensor.shape[-1]).numpy()


def _write_readout(model: Any, w_out: np.ndarray, b_out: np.ndarray) -> None:
    with torch.no_grad():
        model.w_out.copy_(torch.as_tensor(w_out))
        model.b_out.copy_(torch.as_tensor(b_out))
