"""Rate-network models: the continuous-time `Network` and the discrete-time `DiscreteNetwork`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnndyn._validation import check_array, check_number
from rnndyn.connectivity import Connectivity, dense
from rnndyn.nonlinearities import Nonlinearity, get_nonlinearity

__all__ = ["DiscreteNetwork", "Network"]


def _as_connectivity(connectivity: Any) -> Connectivity:
    if isinstance(connectivity, Connectivity):
        conn = connectivity
    elif isinstance(connectivity, np.ndarray | list | torch.Tensor):
        conn = dense(np.asarray(connectivity, dtype=np.float64))
    else:
        raise ValueError(
            "connectivity must be a rnndyn Connectivity or a square matrix, "
            f"got {type(connectivity).__name__}"
        )
    if conn.shape[0] != conn.shape[1]:
        raise ValueError(f"connectivity must be square (n, n), got shape {conn.shape}")
    return conn


class _RateModel:
    """Shared storage of connectivity, nonlinearity, input weights and bias."""

    def __init__(
        self,
        connectivity: Connectivity | np.ndarray,
        phi: str | Nonlinearity,
        input_weights: np.ndarray | None,
        bias: float | np.ndarray | None,
    ) -> None:
        self.connectivity = _as_connectivity(connectivity)
        self.phi = get_nonlinearity(phi)
        n = self.connectivity.shape[0]
        if input_weights is not None:
            input_weights = check_array("input_weights", input_weights, ndim=(1, 2))
            if input_weights.ndim == 1:
                input_weights = input_weights[:, None]
            if input_weights.shape[0] != n:
                raise ValueError(
                    f"input_weights must have shape (n_neurons={n}, n_inputs), "
                    f"got {input_weights.shape}"
                )
        self.input_weights: np.ndarray | None = input_weights
        if bias is not None:
            bias = check_array("bias", bias, ndim=(0, 1))
            if bias.ndim == 1 and bias.shape[0] != n:
                raise ValueError(f"bias must be a scalar or have shape ({n},), got {bias.shape}")
            bias = np.broadcast_to(bias, (n,)).copy()
        self.bias: np.ndarray | None = bias
        self._tensors: dict[tuple[torch.device, torch.dtype], dict[str, torch.Tensor]] = {}

    @property
    def n(self) -> int:
        """Number of neurons."""
        return self.connectivity.shape[0]

    @property
    def n_inputs(self) -> int:
        """Number of input channels (0 without input weights)."""
        return 0 if self.input_weights is None else self.input_weights.shape[1]

    def tensors(self, device: torch.device | str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """Input weights ``B`` (n, n_inputs) and bias ``b`` (n,) as tensors, cached per device."""
        key = (torch.device(device), dtype)
        if key not in self._tensors:
            out = {}
            if self.input_weights is not None:
                out["input_weights"] = torch.as_tensor(self.input_weights, dtype=dtype,
                                                       device=key[0])
            if self.bias is not None:
                out["bias"] = torch.as_tensor(self.bias, dtype=dtype, device=key[0])
            self._tensors[key] = out
        return self._tensors[key]

    def external_input(self, u: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        """``B u + b`` for inputs ``u`` of shape (batch, n_inputs); None when there is none."""
        t = self.tensors(like.device, like.dtype)
        ext = None
        if u is not None:
            if "input_weights" not in t:
                raise ValueError("inputs were given but the network has no input_weights")
            ext = u @ t["input_weights"].T
        if "bias" in t:
            ext = t["bias"] if ext is None else ext + t["bias"]
        return ext

    def _describe_common(self) -> dict[str, Any]:
        return {
            "n_neurons": self.n,
            "phi": self.phi.name,
            "n_inputs": self.n_inputs,
            "has_bias": self.bias is not None,
            "connectivity": self.connectivity.describe(),
        }


class Network(_RateModel):
    """Continuous-time rate network.

    ``tau dx/dt = -x + J phi(x) + B u(t) + b + sigma xi(t)``

    with ``x`` the (n,) vector of synaptic currents, ``J`` the connectivity, ``phi`` the
    nonlinearity, ``B`` the (n, n_inputs) input weights, ``b`` a bias and ``xi`` white noise
    (its amplitude ``sigma`` is the ``noise_std`` of `simulate`). Time is in units of ``tau``
    when ``tau = 1``.

    Parameters
    ----------
    connectivity : Connectivity or array of shape (n, n)
        The recurrent weights ``J``; a plain matrix is wrapped with
        `rnndyn.connectivity.dense`.
    phi : str or Nonlinearity, default "tanh"
        See `rnndyn.nonlinearities.get_nonlinearity`.
    tau : float, default 1.0
        Membrane (integration) time constant, > 0.
    input_weights : array of shape (n, n_inputs) or (n,), optional
        ``B``.
    bias : float or array of shape (n,), optional
        ``b``, a constant input.

    Examples
    --------
    >>> from rnndyn.connectivity import gaussian
    >>> net = Network(gaussian(500, g=2.0, seed=0), phi="tanh")
    >>> net.n
    500
    """

    def __init__(
        self,
        connectivity: Connectivity | np.ndarray,
        phi: str | Nonlinearity = "tanh",
        tau: float = 1.0,
        input_weights: np.ndarray | None = None,
        bias: float | np.ndarray | None = None,
    ) -> None:
        super().__init__(connectivity, phi, input_weights, bias)
        self.tau = check_number("tau", tau, low=0.0, low_inclusive=False)

    def drift(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """The vector field ``(-x + J phi(x) + B u + b) / tau`` for states ``x`` (batch, n)."""
        out = self.connectivity.apply(self.phi.value(x)) - x
        ext = self.external_input(u, x)
        if ext is not None:
            out = out + ext
        return out / self.tau if self.tau != 1.0 else out

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description (stored in simulation results)."""
        return {"model": "Network", "tau": self.tau, **self._describe_common()}

    def __repr__(self) -> str:
        return (f"Network(n={self.n}, phi={self.phi.name!r}, tau={self.tau:g}, "
                f"connectivity={self.connectivity.describe()['kind']!r})")


class DiscreteNetwork(_RateModel):
    """Discrete-time rate network (echo-state / reservoir map).

    ``x_{t+1} = (1 - a) x_t + a phi(A x_t + B u_t + d) + sigma z_t``

    with leak rate ``a`` in (0, 1] (``a = 1`` is the plain map ``x_{t+1} = phi(A x_t + B u_t +
    d)`` of the RNN literature), ``A`` the connectivity, ``z_t`` standard normal (its amplitude
    is the ``noise_std`` of `simulate`). Here the state ``x`` is the rate itself: the
    connectivity acts on ``x``, not on ``phi(x)``. This is reservoirpy's ``Reservoir`` update
    with ``lr = a``.

    Parameters
    ----------
    connectivity : Connectivity or array of shape (n, n)
        ``A``.
    phi : str or Nonlinearity, default "tanh"
    input_weights : array of shape (n, n_inputs), optional
        ``B``.
    bias : float or array of shape (n,), optional
        ``d``.
    leak : float, default 1.0
        ``a``, in (0, 1].
    """

    def __init__(
        self,
        connectivity: Connectivity | np.ndarray,
        phi: str | Nonlinearity = "tanh",
        input_weights: np.ndarray | None = None,
        bias: float | np.ndarray | None = None,
        leak: float = 1.0,
    ) -> None:
        super().__init__(connectivity, phi, input_weights, bias)
        self.leak = check_number("leak", leak, low=0.0, high=1.0, low_inclusive=False)

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """One noise-free step ``x_t -> x_{t+1}`` for states ``x`` (batch, n)."""
        pre = self.connectivity.apply(x)
        ext = self.external_input(u, x)
        if ext is not None:
            pre = pre + ext
        new = self.phi.value(pre)
        if self.leak != 1.0:
            new = torch.lerp(x, new, self.leak)
        return new

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description (stored in simulation results)."""
        return {"model": "DiscreteNetwork", "leak": self.leak, **self._describe_common()}

    def __repr__(self) -> str:
        return (f"DiscreteNetwork(n={self.n}, phi={self.phi.name!r}, leak={self.leak:g}, "
                f"connectivity={self.connectivity.describe()['kind']!r})")
