"""`RateRNN.to_network`: hand a trained model to the simulation and analysis toolkit.

Conventions (checked by tests/train/test_model.py)::

    RateRNN, alpha = dt/tau < 1:  x_{t+1} = x_t + alpha (W phi(gain x_t) + B u_t + b - x_t)
    Network + simulate(method="euler", dt=model.dt): the same update, u_t held over step t

so ``simulate(..., method="euler").x[1:]`` equals ``forward(...).states`` (time first) with the
noise off. With alpha = 1 the model is the map ``x_{t+1} = W phi(gain x_t) + B u_t + b`` and its
rates r_t = phi(gain x_t) obey ``r_{t+1} = phi(gain (W r_t + B u_t + b))``: a `DiscreteNetwork`
(whose state is the rate) with A = W, leak 1 and the gain-modulated phi. Its trajectory is the
model's ``rates``, and it must be started from ``phi(gain x0)``.

Noise: the model adds sqrt(2 alpha) s xi per step; Euler-Maruyama in `simulate` adds
(sigma / tau) sqrt(dt) z, so the equivalent ``simulate(noise_std=sigma)`` is
sigma = s sqrt(2 tau). The readout W_out, b_out is not part of a Network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnndyn.connectivity import DaleConnectivity, LowRankConnectivity, dense
from rnndyn.connectivity.base import Connectivity
from rnndyn.nonlinearities import Nonlinearity, gain_modulated
from rnndyn.simulate.network import DiscreteNetwork, Network

__all__ = ["per_neuron_gain", "to_network"]

# alpha computed from a float32 log_tau is within a few ulp of 1 when dt == tau.
_ALPHA_ONE_TOL = 1e-6


def to_network(model: Any, kind: str) -> Network | DiscreteNetwork:
    """See the module docstring; ``kind`` is "auto", "continuous" or "discrete"."""
    alpha = _numpy(model.alpha)
    discrete = kind == "discrete" or (
        kind == "auto" and bool(np.all(np.abs(alpha - 1.0) < _ALPHA_ONE_TOL)))
    if discrete and not np.all(np.abs(alpha - 1.0) < _ALPHA_ONE_TOL):
        raise ValueError(f"kind='discrete' needs alpha = dt / tau = 1 for every neuron, got "
                         f"alpha in [{alpha.min():g}, {alpha.max():g}]")
    tau = _numpy(model.tau)
    if not discrete and tau.ndim == 1 and np.ptp(tau) > 0:
        raise ValueError("to_network needs one tau for all neurons (Network has a scalar tau); "
                         f"this model has per-neuron tau in [{tau.min():g}, {tau.max():g}]")
    phi = _gain_nonlinearity(model.phi, _numpy(model.gain))
    input_weights = _numpy(model.w_in) if model.n_inputs > 0 else None
    bias = _numpy(model.bias)
    connectivity = _connectivity(model)
    if discrete:
        return DiscreteNetwork(connectivity, phi, input_weights=input_weights, bias=bias,
                               leak=1.0)
    return Network(connectivity, phi, tau=float(tau.reshape(-1)[0]),
                   input_weights=input_weights, bias=bias)


def _connectivity(model: Any) -> Connectivity:
    # Keep the structure where it is exact, so the analysis toolkit can exploit it (low-rank
    # latent dynamics, Dale's law checks); anything masked becomes a dense matrix.
    if model.rank is not None and model.mask is None:
        conn: Connectivity = LowRankConnectivity(_numpy(model.m), _numpy(model.n_vecs))
        if model.bulk is not None:
            conn = conn + dense(_numpy(model.bulk))
        return conn
    weights = _numpy(model.recurrent_weights)
    if model.sign is not None:
        return DaleConnectivity(weights, _numpy(model.sign))
    return dense(weights)


def _gain_nonlinearity(phi: Nonlinearity, gain: np.ndarray) -> Nonlinearity:
    if np.all(gain == 1.0):
        return phi
    if np.all(gain == gain[0]) and gain[0] > 0:
        return gain_modulated(phi, float(gain[0]))
    return per_neuron_gain(phi, gain)


def per_neuron_gain(phi: Nonlinearity, gain: np.ndarray) -> Nonlinearity:
    """``x -> phi(gain * x)`` with one gain per neuron (the last axis of x).

    Its derivative is ``gain * phi'(gain x)``; the antiderivative ``Phi(gain x) / gain`` is
    given when every gain is > 0. Works on arrays and tensors whose last axis is the neuron
    axis (states of a network), not on scalars as mean-field theory would use it.
    """
    gain = np.asarray(gain, dtype=np.float64).copy()
    gain.setflags(write=False)
    cache: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}

    def vector(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            key = (x.device, x.dtype)
            if key not in cache:
                cache[key] = torch.tensor(gain, dtype=x.dtype, device=x.device)
            return cache[key]
        return gain

    def value(x: Any) -> Any:
        return phi.value(vector(x) * x)

    def derivative(x: Any) -> Any:
        g = vector(x)
        return g * phi.derivative(g * x)

    base_antiderivative = phi.antiderivative

    def antiderivative(x: Any) -> Any:
        g = vector(x)
        return base_antiderivative(g * x) / g

    positive = bool(np.all(gain > 0))
    return Nonlinearity(
        f"{phi.name}*per_neuron_gain", value, derivative,
        antiderivative if base_antiderivative is not None and positive else None,
        odd=phi.odd,
        # A kink at k moves to k / gain_i per neuron; only the registry's kinks at 0 stay put.
        kinks=phi.kinks if all(k == 0 for k in phi.kinks) else (),
        length_scale=phi.length_scale / max(float(gain.max()), 1e-12),
    )


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).numpy()
