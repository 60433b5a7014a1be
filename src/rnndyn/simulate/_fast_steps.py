"""Building blocks of the fast loop of `simulate`: the input drive and the steppers.

The steppers repeat `rnndyn.simulate.integrators.make_stepper` and `DiscreteNetwork.step`
operation for operation (the same torch calls, in the same order, on the same shapes), with
the input held over the step, so their states are bitwise identical to the general loop's;
``tests/simulate/test_fast_path.py`` checks that for every method. A change to those must be
made here too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from rnndyn.connectivity import Connectivity
from rnndyn.nonlinearities import get_nonlinearity
from rnndyn.simulate.network import DiscreteNetwork, Network

# Largest block of precomputed drive B u + b kept at once.
DRIVE_CHUNK_BYTES = 8 * 2**20
_MISSING = object()

# step(x, ext, out) -> the new state, written into ``out`` when it is not None.
FastStep = Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor | None], torch.Tensor]


class Drive:
    """``B u_k + b`` of each step (or the constant ``b``, or None), a chunk at a time.

    ``B u_k`` is computed as in `Network.external_input`. With one input channel a single
    matmul covers a whole chunk: each entry is a single product, so it is bitwise the per-step
    matmul. With several channels each step gets its own matmul, because a batched one can
    sum the channels in another order and round differently.
    """

    def __init__(self, network: Network | DiscreteNetwork, table: torch.Tensor | None,
                 like: torch.Tensor, n_steps: int) -> None:
        tensors = network.tensors(like.device, like.dtype)
        self.bias = tensors.get("bias")
        self.table = table
        self.chunk = n_steps
        if table is not None:
            self.weights_t = tensors["input_weights"].T
            step_bytes = table.shape[1] * network.n * like.element_size()
            self.chunk = max(1, min(n_steps, DRIVE_CHUNK_BYTES // step_bytes))

    def rows(self, start: int, stop: int) -> Iterable[torch.Tensor | None]:
        """The drive of steps ``start .. stop - 1``, one (batch or 1, n) tensor each."""
        if self.table is None:
            return itertools.repeat(self.bias, stop - start)
        u = self.table[start:stop]
        if u.shape[-1] == 1:
            drive = torch.matmul(u, self.weights_t)
        else:
            drive = u.new_empty((*u.shape[:2], self.weights_t.shape[1]))
            for row, out in zip(u.unbind(0), drive.unbind(0), strict=True):
                torch.matmul(row, self.weights_t, out=out)
        if self.bias is not None:
            drive.add_(self.bias)
        return drive.unbind(0)


def direct_apply(conn: Connectivity, like: torch.Tensor) -> Callable[[torch.Tensor], Any]:
    """``conn.apply`` for (batch, n) tensors like ``like``, without its per-call checks."""
    if type(conn).apply is not Connectivity.apply:
        return conn.apply
    key = (like.device, like.dtype)
    if key not in conn._device_cache:
        conn.apply(like)  # builds and caches the tensors
    tensors = conn._device_cache.get(key, _MISSING)
    if tensors is _MISSING:
        return conn.apply
    apply_2d = conn._apply_2d
    return lambda x: apply_2d(x, tensors)


def make_step(network: Network | DiscreteNetwork, method: str, dt: float,
              like: torch.Tensor) -> FastStep:
    """``step(x, ext, out)``: one step with the drive ``ext`` held, as the general loop's."""
    apply = direct_apply(network.connectivity, like)
    phi = network.phi.value
    if phi is get_nonlinearity("tanh").value:
        phi = torch.tanh  # the same op as ``x.tanh()``, without the NumPy-or-torch dispatch
    if isinstance(network, DiscreteNetwork):
        leak = network.leak

        def map_step(x: torch.Tensor, ext: torch.Tensor | None,
                     out: torch.Tensor | None) -> torch.Tensor:
            pre = apply(x)
            if ext is not None:
                pre.add_(ext)
            new = phi(pre)
            if leak != 1.0:
                return torch.lerp(x, new, leak, out=out)
            return new if out is None else out.copy_(new)
        return map_step

    def recurrent(x: torch.Tensor, ext: torch.Tensor | None) -> torch.Tensor:
        out = apply(phi(x))
        return out if ext is None else out.add_(ext)

    def finish(y: torch.Tensor, x: torch.Tensor, alpha: float,
               out: torch.Tensor | None) -> torch.Tensor:
        # y.add_(x, alpha=alpha), or the same sum written into out.
        return y.add_(x, alpha=alpha) if out is None else torch.add(y, x, alpha=alpha, out=out)

    h = dt / network.tau
    if method == "euler":
        return lambda x, ext, out: finish(recurrent(x, ext).mul_(h), x, 1.0 - h, out)
    if method == "exp_euler":
        decay, gain = math.exp(-h), -math.expm1(-h)
        return lambda x, ext, out: finish(recurrent(x, ext).mul_(gain), x, decay, out)
    if method != "rk4":
        raise ValueError(f"method {method!r} has no fast stepper")
    half_h = 0.5 * h

    def rk4(x: torch.Tensor, ext: torch.Tensor | None,
            out: torch.Tensor | None) -> torch.Tensor:
        k1 = recurrent(x, ext).sub_(x)
        k2 = recurrent(torch.add(x, k1, alpha=half_h), ext).sub_(x).sub_(k1, alpha=half_h)
        k3 = recurrent(torch.add(x, k2, alpha=half_h), ext).sub_(x).sub_(k2, alpha=half_h)
        k4 = recurrent(torch.add(x, k3, alpha=h), ext).sub_(x).sub_(k3, alpha=h)
        k1.add_(k2, alpha=2.0).add_(k3, alpha=2.0).add_(k4)
        return finish(k1.mul_(h / 6.0), x, 1.0, out)
    return rk4
