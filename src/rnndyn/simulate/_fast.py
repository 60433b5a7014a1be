"""The stepping loops of `simulate`: the general loop and the fast loop.

For a small network a step is a handful of small torch operations of a few microseconds
each, and the general loop (`run_general`) spends about as long again in Python around them:
looking up the step's input and computing ``B u + b`` at every integrator stage, the checks of
``Connectivity.apply``, building the list of due recorders, copying the state into the
trajectory. The fast loop (`run`) takes the same steps without that:

- the drive ``B u_k + b`` is computed for a chunk of steps at a time (`_fast_steps.Drive`);
- the connectivity is applied through its cached tensors, checked once;
- the full-state `Trajectory` (the default ``record=("x",)``) is filled in place; on the CPU
  with ``record_every=1`` the step's last operation writes the new state into it directly;
- the finiteness check, every `FINITE_CHECK_EVERY` steps, uses NumPy on the CPU, where a
  torch reduction costs about 10 us (the general loop does the same).

Its steppers (`_fast_steps.make_step`) do the general loop's torch operations in the same
order, so the states are bitwise identical. `simulate` takes the fast loop when `applies`
says so: inputs absent or an array (a callable is evaluated at each integrator stage, which
the general loop does) and only built-in recorders (a custom `Recorder` gets the general
loop, which calls its ``update`` with the state at each step it samples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnndyn._errors import SimulationError
from rnndyn._validation import check_array
from rnndyn.simulate._fast_steps import Drive, make_step
from rnndyn.simulate.integrators import make_stepper
from rnndyn.simulate.network import DiscreteNetwork, Network
from rnndyn.simulate.recorders import (
    Autocorrelation,
    MeanVariance,
    Projection,
    Recorder,
    Trajectory,
)

InputSpec = np.ndarray | torch.Tensor | Callable[[float], Any] | None
# How often the state is checked for blow-up.
FINITE_CHECK_EVERY = 8
_BUILT_IN = (Trajectory, MeanVariance, Autocorrelation, Projection)


@dataclass
class Plan:
    """Everything a loop needs, checked."""

    network: Network | DiscreteNetwork
    method: str
    dt: float
    n_steps: int
    x: torch.Tensor
    inputs: Any  # from `check_inputs`: a tensor, a checked callable, or None
    noise: torch.Tensor | None  # per-step noise amplitude; None without noise
    generator: torch.Generator
    recorders: list[Recorder]  # bound to the run
    progress: Any  # has ``next`` (the step to call ``tick`` at) and ``tick(k) -> next``


def applies(plan: Plan) -> bool:
    """Whether the fast loop can take this run (it then gives the general loop's results)."""
    return ((plan.inputs is None or isinstance(plan.inputs, torch.Tensor))
            and all(type(rec) in _BUILT_IN for rec in plan.recorders))


def check_inputs(
    inputs: InputSpec,
    network: Network | DiscreteNetwork,
    n_steps: int,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor | Callable[[float], torch.Tensor] | None:
    """``inputs`` as a (n_steps, batch or 1, n_inputs) tensor, a checked callable, or None."""
    if inputs is None:
        return None
    n_in = network.n_inputs
    if n_in == 0:
        raise ValueError("inputs were given but the network has no input_weights")
    if callable(inputs) and not isinstance(inputs, np.ndarray | torch.Tensor):
        def call(t: float) -> torch.Tensor:
            value = torch.as_tensor(inputs(t), dtype=dtype, device=device)
            if value.shape[-1] != n_in or value.ndim > 2:
                raise ValueError(f"inputs(t) must return shape ({n_in},) or (batch, {n_in}), "
                                 f"got {tuple(value.shape)}")
            return value
        return call
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    array = check_array("inputs", inputs, ndim=(2, 3))
    if array.ndim == 2:
        array = array[:, None, :]
    if array.shape[0] != n_steps or array.shape[1] not in (1, batch) or array.shape[2] != n_in:
        raise ValueError(f"inputs must have shape (n_steps={n_steps}, batch={batch}, "
                         f"n_inputs={n_in}) or (n_steps, n_inputs), got {np.shape(inputs)}")
    return torch.as_tensor(array, dtype=dtype, device=device)


def finite_check(like: torch.Tensor) -> Callable[[torch.Tensor], bool]:
    """``state -> all entries finite``; NumPy's check for CPU tensors, which is cheaper."""
    if like.device.type == "cpu":
        return lambda state: bool(np.isfinite(state.numpy()).all())
    return lambda state: bool(torch.isfinite(state).all())


def nonfinite_error(last_good_step: int, step: int, dt: float) -> SimulationError:
    return SimulationError(
        f"the state became non-finite between t={last_good_step * dt:g} and "
        f"t={step * dt:g}; lower dt, the coupling gain or the inputs")


def run(plan: Plan) -> torch.Tensor:
    """The fast loop: take the steps, feed the recorders, return the final state."""
    network, n_steps, dt, x = plan.network, plan.n_steps, plan.dt, plan.x
    step = make_step(network, plan.method, dt, x)
    drive = Drive(network, plan.inputs, x, n_steps)
    direct = next((rec for rec in plan.recorders if type(rec) is Trajectory
                   and rec.variable == "x" and rec._index is None), None)
    observe = _observer(network, [rec for rec in plan.recorders if rec is not direct])
    every = 0 if direct is None else direct._every
    rows = () if direct is None else direct._data.unbind(0)
    in_place = every == 1 and x.device.type == "cpu"
    if direct is not None:
        rows[0].copy_(x)
    if observe is not None:
        observe(0, x)
    is_finite = finite_check(x)
    noise, generator, shape = plan.noise, plan.generator, x.shape
    noise_buffer = None if noise is None else torch.empty_like(x)
    progress = plan.progress
    report_at = progress.next
    last_good = k = 0
    while k < n_steps:
        for ext in drive.rows(k, min(k + drive.chunk, n_steps)):
            k += 1
            x = step(x, ext, rows[k] if in_place else None)
            if noise is not None:
                x.add_(torch.randn(shape, generator=generator, out=noise_buffer).mul_(noise))
            if k % FINITE_CHECK_EVERY == 0 or k == n_steps:
                if not is_finite(x):
                    raise nonfinite_error(last_good, k, dt)
                last_good = k
            if every and not in_place and k % every == 0:
                rows[k // every].copy_(x)
            if observe is not None:
                observe(k, x)
            if k == report_at:
                report_at = progress.tick(k)
    if direct is not None:
        direct._row = n_steps // every + 1
    # In place, x is a row of the trajectory: the final state must not share its memory.
    return x.clone() if in_place else x


def _observer(network: Network | DiscreteNetwork,
              recorders: list[Recorder]) -> Callable[[int, torch.Tensor], None] | None:
    """The general loop's ``observe`` for these recorders (None when there are none)."""
    if not recorders:
        return None
    phi = network.phi.value
    sampling = [(rec, rec._every, rec.per_step, rec.needs_rates) for rec in recorders]

    def observe(k: int, state: torch.Tensor) -> None:
        due = [(rec, needs) for rec, every, per_step, needs in sampling
               if per_step or k % every == 0]
        if not due:
            return
        rates = phi(state) if any(needs for _, needs in due) else None
        for rec, needs in due:
            rec.update(k, rates if needs else state)
    return observe


class _Clock:
    """Index of the step being taken in one run; array inputs are looked up by it."""

    def __init__(self) -> None:
        self.step = 0


def run_general(plan: Plan) -> torch.Tensor:
    """The general loop: any recorder, callable inputs; returns the final state."""
    network, dt, n_steps, x = plan.network, plan.dt, plan.n_steps, plan.x
    clock = _Clock()
    if plan.inputs is None:
        def input_at(t: float) -> torch.Tensor | None:
            return None
    elif isinstance(plan.inputs, torch.Tensor):
        table = plan.inputs

        def input_at(t: float) -> torch.Tensor | None:
            # Zero-order hold: the value of step k applies on the whole step [k dt, (k+1) dt],
            # including RK4's last stage at its end, so the index is the step, not t.
            return table[clock.step]
    else:
        input_at = plan.inputs

    if isinstance(network, DiscreteNetwork):
        def step(state: torch.Tensor, t: float) -> torch.Tensor:
            return network.step(state, input_at(t))
    else:
        def external(t: float) -> torch.Tensor | None:
            return network.external_input(input_at(t), x)
        step = make_stepper(network, plan.method, dt, external)

    sampling = [(rec, rec._every) for rec in plan.recorders]

    def observe(k: int, state: torch.Tensor) -> None:
        due = [rec for rec, every in sampling if rec.per_step or k % every == 0]
        if not due:
            return
        rates = network.phi.value(state) if any(rec.needs_rates for rec in due) else None
        for rec in due:
            rec.update(k, rates if rec.needs_rates else state)

    observe(0, x)
    is_finite = finite_check(x)
    noise, generator = plan.noise, plan.generator
    report_at = plan.progress.next
    last_good_step = 0
    for k in range(1, n_steps + 1):
        clock.step = k - 1
        x = step(x, (k - 1) * dt)
        if noise is not None:
            x.add_(torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                   .mul_(noise))
        if k % FINITE_CHECK_EVERY == 0 or k == n_steps:
            if not is_finite(x):
                raise nonfinite_error(last_good_step, k, dt)
            last_good_step = k
        observe(k, x)
        if k == report_at:
            report_at = plan.progress.tick(k)
    return x
