"""`RateRNN`: a trainable rate network, Euler-discretised leaky integration of synaptic currents."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_choice, check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity
from rnndyn.train import _init
from rnndyn.train._files import atomic_torch_save, torch_load

__all__ = ["RNNOutput", "RateRNN"]


@dataclass
class RNNOutput:
    """Result of `RateRNN.forward`; index ``t`` holds the state after the step driven by u_t.

    Attributes
    ----------
    outputs : Tensor (batch, time, n_outputs)
        ``y_t = W_out r_{t+1} + b_out``.
    rates : Tensor (batch, time, n_neurons)
        ``r_{t+1} = phi(gain * x_{t+1})``.
    states : Tensor (batch, time, n_neurons)
        ``x_{t+1}``, the synaptic currents.
    """

    outputs: torch.Tensor
    rates: torch.Tensor
    states: torch.Tensor


class RateRNN(torch.nn.Module):
    """Rate network trained by backpropagation through time.

    x_{t+1} = (1 - alpha) x_t + alpha (W phi(gain * x_t) + B u_t + b) + sqrt(2 alpha) s xi_t
    y_t     = W_out phi(gain * x_{t+1}) + b_out

    with alpha = dt / tau (per neuron if tau is), ``s = noise_std`` and xi_t iid standard normal.
    This is the forward-Euler step of ``tau dx/dt = -x + W phi(gain x) + B u + b + noise`` (the
    `rnndyn.simulate.Network` model); alpha = 1 gives the discrete map
    ``x_{t+1} = W phi(gain x_t) + B u_t + b``. The noise term makes ``s`` the stationary
    standard deviation of an uncoupled neuron for small alpha (it is s / sqrt(1 - alpha/2)).

    Parameters
    ----------
    n_inputs, n_neurons, n_outputs : int
        Sizes I (>= 0), N and O.
    phi : str or Nonlinearity, default "tanh"
        A name known to `rnndyn.nonlinearities.get_nonlinearity` (needed by `save`).
    dt : float, default 0.1
        Time step, in the units of tau.
    tau : float or array of shape (N,), default 1.0
        Time constant(s), >= dt.
    noise_std : float, default 0
        ``s``; the attribute ``noise_std`` may be changed later (e.g. 0 for evaluation).
    g : float, default 1.0
        Full-rank W is initialised N(0, g^2 / (N p)), p the density of ``mask`` (1 without).
        Unused with ``rank`` (the loading vectors are N(0, 1)) and shapes magnitudes with
        ``dale`` (balanced E/I columns with the same second moment).
    rank : int, optional
        Low-rank parametrisation W = M N^T / N with trainable ``m`` and ``n_vecs`` (N, rank).
    bulk_g : float, optional
        With ``rank``: add a fixed random bulk buffer ``bulk`` ~ N(0, bulk_g^2 / N).
    dale : float, optional
        Fraction of excitatory neurons (the first round(dale N)); W = |w_rec| * sign with the
        fixed +-1 per presynaptic column in the buffer ``sign``, so Dale's law holds by
        construction. Not with ``rank``.
    mask : array (N, N) of 0/1, optional
        Fixed connectivity mask (buffer ``mask``), multiplied into the effective W.
    train_input, train_recurrent, train_readout, train_tau : bool
        Which parameters get gradients (``bias`` follows ``train_recurrent``); a trained tau is
        stored as ``log_tau`` so it stays positive.
    gain : float or array (N,), optional
        Per-neuron gain (buffer, default ones): neuromodulation changes it, not the weights.
    coordinates : array (N, 3), optional
        Neuron positions (buffer) for spatial regularisers.
    input_scale : float, default 1.0
        Input weights B are initialised N(0, input_scale^2); readout W_out N(0, 1/N).
    seed : int or numpy.random.Generator, optional
        Seeds the initial weights and (through `forward`'s ``noise_seed=None``) the noise.

    Examples
    --------
    >>> model = RateRNN(2, 50, 1, seed=0)
    >>> out = model(torch.zeros(4, 30, 2))
    >>> tuple(out.outputs.shape), tuple(out.rates.shape)
    ((4, 30, 1), (4, 30, 50))
    """

    def __init__(self, n_inputs: int, n_neurons: int, n_outputs: int, *,
                 phi: str | Nonlinearity = "tanh", dt: float = 0.1, tau: Any = 1.0,
                 noise_std: float = 0.0, g: float = 1.0, rank: int | None = None,
                 bulk_g: float | None = None, dale: float | None = None, mask: Any = None,
                 train_input: bool = True, train_recurrent: bool = True,
                 train_readout: bool = True, train_tau: bool = False, gain: Any = None,
                 coordinates: Any = None, input_scale: float = 1.0, seed: Seed = None) -> None:
        super().__init__()
        self.n_inputs = check_int("n_inputs", n_inputs, low=0)
        self.n_neurons = n = check_int("n_neurons", n_neurons)
        self.n_outputs = check_int("n_outputs", n_outputs)
        self.phi = get_nonlinearity(phi)
        self.dt = check_number("dt", dt, low=0.0, low_inclusive=False)
        tau_array = _init.check_tau(tau, n, self.dt)
        self.noise_std = check_number("noise_std", noise_std, low=0.0)
        self.g = check_number("g", g, low=0.0)
        self.rank = _init.check_optional_int("rank", rank, n)
        self.bulk_g = None if bulk_g is None else check_number("bulk_g", bulk_g, low=0.0)
        if self.bulk_g is not None and self.rank is None:
            raise ValueError("bulk_g needs rank: the random bulk is added to a low-rank W")
        self.dale = None if dale is None else check_number("dale", dale, low=0.0, high=1.0,
                                                           low_inclusive=False)
        if self.dale is not None and self.rank is not None:
            raise ValueError("dale and rank cannot be combined: |M N^T| * sign is not low rank")
        mask_array = _init.check_mask(mask, n)
        self.input_scale = check_number("input_scale", input_scale, low=0.0)
        self._flags = {"train_input": bool(train_input), "train_recurrent": bool(train_recurrent),
                       "train_readout": bool(train_readout), "train_tau": bool(train_tau)}
        rng, self.seed_record = resolve_seed(seed)
        signs = None if self.dale is None else _init.dale_signs(self.dale, n)

        def param(array: np.ndarray, trainable: bool) -> torch.nn.Parameter:
            return torch.nn.Parameter(_tensor(array), requires_grad=trainable)

        self.w_in = param(rng.standard_normal((n, self.n_inputs)) * self.input_scale,
                          train_input)
        recurrent = _init.recurrent_init(rng, n, self.g, self.rank, self.bulk_g, signs,
                                         mask_array)
        # Absent raw parameters are registered as None so the attribute names always exist.
        for name in ("w_rec", "m", "n_vecs"):
            self.register_parameter(
                name, param(recurrent[name], train_recurrent) if name in recurrent else None)
        self.bias = param(np.zeros(n), train_recurrent)
        self.w_out = param(rng.standard_normal((self.n_outputs, n)) / math.sqrt(n),
                           train_readout)
        self.b_out = param(np.zeros(self.n_outputs), train_readout)
        self.log_tau = param(np.log(tau_array), train_tau)
        for name, value in (("bulk", recurrent.get("bulk")), ("sign", signs), ("mask", mask_array),
                            ("gain", _init.check_gain(gain, n)),
                            ("coordinates", _init.check_coordinates(coordinates, n))):
            self.register_buffer(name, None if value is None else _tensor(value))
        self._rng = rng

    # --- effective quantities ----------------------------------------------------------------
    @property
    def tau(self) -> torch.Tensor:
        """Time constant(s), shape () or (N,): ``exp(log_tau)``."""
        return self.log_tau.exp()

    @property
    def alpha(self) -> torch.Tensor:
        """``dt / tau``, shape () or (N,)."""
        return self.dt / self.tau

    @property
    def recurrent_weights(self) -> torch.Tensor:
        """The effective W (N, N) after the low-rank product, Dale signs and mask.

        W = (M N^T / N + bulk) * mask,  or  W = |w_rec| * sign[None, :] * mask  (Dale),
        or W = w_rec * mask; differentiable in the raw parameters.
        """
        if self.rank is not None:
            w = self.m @ self.n_vecs.T / self.n_neurons
            if self.bulk is not None:
                w = w + self.bulk
        elif self.sign is not None:
            w = self.w_rec.abs() * self.sign
        else:
            w = self.w_rec
        return w if self.mask is None else w * self.mask

    def recurrent_operator(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """``r -> r @ W.T`` for rates r (batch, N); O(N R) for a plain low-rank W."""
        if self.rank is not None and self.bulk is None and self.mask is None:
            m, n_vecs, size = self.m, self.n_vecs, self.n_neurons
            return lambda r: (r @ n_vecs) @ m.T / size
        w = self.recurrent_weights
        return lambda r: torch.nn.functional.linear(r, w)

    def rates_of(self, states: torch.Tensor) -> torch.Tensor:
        """``phi(gain * x)``."""
        return self.phi.value(self.gain * states)

    def readout(self, rates: torch.Tensor) -> torch.Tensor:
        """``W_out r + b_out``."""
        return torch.nn.functional.linear(rates, self.w_out, self.b_out)

    def input_drive(self, inputs: torch.Tensor) -> torch.Tensor:
        """``B u_t + b`` for inputs (batch, time, I): shape (batch, time, N)."""
        return torch.nn.functional.linear(inputs, self.w_in, self.bias)

    def step(self, x: torch.Tensor, drive: torch.Tensor,
             recurrent: Callable[[torch.Tensor], torch.Tensor],
             alpha: torch.Tensor) -> torch.Tensor:
        """One noise-free step ``x + alpha (W phi(gain x) + drive - x)``."""
        return x + alpha * (recurrent(self.rates_of(x)) + drive - x)

    # --- dynamics ----------------------------------------------------------------------------
    def forward(self, inputs: Any, x0: Any = None, noise_seed: Seed = None) -> RNNOutput:
        """Run the network on ``inputs`` (batch, time, I) from ``x0`` (default zeros).

        ``x0`` may be (N,) or (batch, N). The noise (when ``noise_std > 0``) is drawn from
        ``noise_seed``, or from the model's own Generator (seeded by ``seed``) when None.
        """
        inputs = self._as_inputs(inputs)
        batch, n_time = inputs.shape[0], inputs.shape[1]
        x = self._initial_state(x0, batch, inputs)
        drive = self.input_drive(inputs)
        recurrent = self.recurrent_operator()
        alpha = self.alpha
        noise = self._noise(batch, n_time, inputs, noise_seed, alpha)
        # unbind, not drive[:, t]: the backward of T index operations zero-fills a full
        # (batch, T, N) gradient per step (O(T^2) time); unbind's backward stacks the T slices
        # once.
        drives = drive.unbind(1)
        noises = None if noise is None else noise.unbind(0)
        step = self._step_function(recurrent, alpha)
        states = []
        for t in range(n_time):
            x = step(x, drives[t])
            if noises is not None:
                x = x + noises[t]
            states.append(x)
        stacked = torch.stack(states, dim=1)
        rates = self.rates_of(stacked)
        return RNNOutput(outputs=self.readout(rates), rates=rates, states=stacked)

    def _step_function(self, recurrent: Callable[[torch.Tensor], torch.Tensor],
                       alpha: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor],
                                                         torch.Tensor]:
        """`step` with ``recurrent`` and ``alpha`` bound, for the loop of `forward`.

        A gain of exactly 1 everywhere and a scalar alpha of exactly 1 (the discrete map) are
        not multiplied: ``1 * v`` is ``v`` bit for bit, so the results are those of `step`,
        with two fewer operations per time step forward and backward (they dominate the cost
        of small networks). A subclass that overrides `step` or `rates_of` gets its own.
        """
        if type(self).step is not RateRNN.step or type(self).rates_of is not RateRNN.rates_of:
            return lambda x, drive: self.step(x, drive, recurrent, alpha)
        phi, gain = self.phi.value, self.gain
        if gain.requires_grad or not bool((gain == 1).all()):
            def rates(x: torch.Tensor) -> torch.Tensor:
                return phi(gain * x)
        else:
            rates = phi
        if alpha.ndim == 0 and not alpha.requires_grad and float(alpha) == 1.0:
            return lambda x, drive: x + (recurrent(rates(x)) + drive - x)
        return lambda x, drive: x + alpha * (recurrent(rates(x)) + drive - x)

    def _as_inputs(self, inputs: Any) -> torch.Tensor:
        ref = self.w_out
        tensor = torch.as_tensor(inputs, dtype=ref.dtype, device=ref.device)
        if tensor.ndim != 3 or tensor.shape[2] != self.n_inputs or tensor.shape[1] < 1:
            raise ValueError(f"inputs must have shape (batch, time >= 1, n_inputs="
                             f"{self.n_inputs}), got {tuple(tensor.shape)}")
        return tensor

    def _initial_state(self, x0: Any, batch: int, like: torch.Tensor) -> torch.Tensor:
        n = self.n_neurons
        if x0 is None:
            return like.new_zeros((batch, n))
        x0 = torch.as_tensor(x0, dtype=like.dtype, device=like.device)
        if x0.shape not in ((n,), (batch, n)):
            raise ValueError(f"x0 must have shape ({n},) or (batch={batch}, {n}), "
                             f"got {tuple(x0.shape)}")
        return x0.expand(batch, n)

    def _noise(self, batch: int, n_time: int, like: torch.Tensor, noise_seed: Seed,
               alpha: torch.Tensor) -> torch.Tensor | None:
        if self.noise_std == 0.0:
            return None
        rng = self._rng if noise_seed is None else resolve_seed(noise_seed)[0]
        generator = torch.Generator(device=like.device).manual_seed(int(rng.integers(2**62)))
        xi = torch.randn((n_time, batch, self.n_neurons), generator=generator,
                         device=like.device, dtype=like.dtype)
        return xi * (torch.sqrt(2.0 * alpha) * self.noise_std)

    # --- conversion and files ----------------------------------------------------------------
    def to_network(self, kind: str = "auto") -> Any:
        """The same dynamics as an `rnndyn.simulate.Network` (or `DiscreteNetwork`).

        See `rnndyn.train._conversion.to_network` for the conventions; ``kind`` is "auto"
        (discrete for alpha = 1), "continuous" or "discrete".
        """
        from rnndyn.train._conversion import to_network

        return to_network(self, check_choice("kind", kind, ("auto", "continuous", "discrete")))

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-ready; arrays are flagged and live in the state dict)."""
        if self.phi is not get_nonlinearity(self.phi.name):
            raise ValueError(f"phi {self.phi.name!r} is not a registered nonlinearity name; "
                             "only named nonlinearities can be saved")
        per_neuron_tau = self.log_tau.ndim == 1
        return {
            "n_inputs": self.n_inputs, "n_neurons": self.n_neurons, "n_outputs": self.n_outputs,
            "phi": self.phi.name, "dt": self.dt,
            "tau": "per_neuron" if per_neuron_tau else float(self.tau),
            "noise_std": self.noise_std, "g": self.g, "rank": self.rank, "bulk_g": self.bulk_g,
            "dale": self.dale, "mask": self.mask is not None, **self._flags,
            "coordinates_dim": None if self.coordinates is None else self.coordinates.shape[1],
            "input_scale": self.input_scale,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write constructor arguments and state dict to ``path`` atomically (temp + rename)."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        return atomic_torch_save({"rnndyn_kind": "rate_rnn", "config": self.config,
                                  "state_dict": state}, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RateRNN:
        """Rebuild a model written by `save` (on the CPU)."""
        data = torch_load(path, "rate_rnn")
        return cls.from_config(data["config"], data["state_dict"])

    @classmethod
    def from_config(cls, config: dict[str, Any], state_dict: dict[str, Any]) -> RateRNN:
        """A model with ``config`` (see `config`) and the given state dict."""
        kwargs = dict(config)
        n = kwargs["n_neurons"]
        # Array arguments are rebuilt as placeholders of the right shape; the state dict then
        # overwrites every parameter and buffer with the saved values.
        if kwargs["tau"] == "per_neuron":
            kwargs["tau"] = np.full(n, kwargs["dt"])
        kwargs["mask"] = np.ones((n, n)) if kwargs["mask"] else None
        dim = kwargs.pop("coordinates_dim")
        kwargs["coordinates"] = None if dim is None else np.zeros((n, dim))
        model = cls(**kwargs, seed=0)
        model.load_state_dict(state_dict)
        return model

    def extra_repr(self) -> str:
        kind = (f"rank={self.rank}" if self.rank is not None else
                f"dale={self.dale:g}" if self.dale is not None else "full")
        return (f"n_inputs={self.n_inputs}, n_neurons={self.n_neurons}, "
                f"n_outputs={self.n_outputs}, phi={self.phi.name!r}, dt={self.dt:g}, {kind}")


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array), dtype=torch.get_default_dtype())
