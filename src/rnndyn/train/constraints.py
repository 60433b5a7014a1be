"""Structural regularisers and constraints for training RNN models of the brain (issue 7).

Regularisers (`rnndyn.train._protocols.Regularizer`: ``name``, ``penalty(model, output)``)
are added to the loss; constraints (`rnndyn.train._protocols.Constraint`: ``name``,
``apply(model, step)``) edit the parameters in place after every optimiser step. Both are
passed to `rnndyn.train.train` and compose freely.

==================  ==============================================================  =========
name                object                                                          kind
==================  ==============================================================  =========
``l1``, ``l2``      `rnndyn.train.WeightPenalty` (p = 1, 2)                         penalty
``activity``        `rnndyn.train.ActivityPenalty`                                  penalty
``spatial``         `SpatialRegularizer` (seRNN: sum |W| C D)                       penalty
``wiring``          `SpatialRegularizer` with ``communicability=False`` (sum |W| D)  penalty
``time_constant``   `TimeConstantPenalty` (log tau toward per-neuron/region targets)  penalty
``pruning``         `MagnitudePruning` (gradual magnitude pruning of W)             constraint
==================  ==============================================================  =========

Dale's law and connectivity masks need no constraint: `rnndyn.train.RateRNN` enforces them by
construction (fixed sign per presynaptic column, fixed mask multiplier), before and after any
step, whichever of these is used. See ``docs/train.md``.

Examples
--------
>>> get_regularizer("l1", strength=1e-3)
WeightPenalty(strength=0.001, p=1, which='recurrent')
>>> get_constraint("pruning", final_sparsity=0.5, start_step=0, end_step=10)
MagnitudePruning(final_sparsity=0.5, start_step=0, end_step=10, frequency=10, schedule='cubic')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnndyn.train._protocols import Constraint, Regularizer
from rnndyn.train._pruning import MagnitudePruning
from rnndyn.train._spatial_penalty import SpatialRegularizer, default_coordinates
from rnndyn.train._time_constant import TimeConstantPenalty
from rnndyn.train.regularizers import ActivityPenalty, WeightPenalty

__all__ = [
    "CONSTRAINTS",
    "REGULARIZERS",
    "MagnitudePruning",
    "SpatialRegularizer",
    "TimeConstantPenalty",
    "default_coordinates",
    "get_constraint",
    "get_regularizer",
]


def _l1(**kwargs: Any) -> WeightPenalty:
    return WeightPenalty(p=1, **kwargs)


def _l2(**kwargs: Any) -> WeightPenalty:
    return WeightPenalty(p=2, **kwargs)


def _wiring(**kwargs: Any) -> SpatialRegularizer:
    return SpatialRegularizer(communicability=False, **kwargs)


#: Regulariser names accepted by `get_regularizer` and the factories they call.
REGULARIZERS: dict[str, Callable[..., Regularizer]] = {
    "l1": _l1,
    "l2": _l2,
    "activity": ActivityPenalty,
    "spatial": SpatialRegularizer,
    "wiring": _wiring,
    "time_constant": TimeConstantPenalty,
}

#: Constraint names accepted by `get_constraint`.
CONSTRAINTS: dict[str, Callable[..., Constraint]] = {"pruning": MagnitudePruning}


def get_regularizer(name: str, **kwargs: Any) -> Regularizer:
    """The regulariser called ``name`` (see `REGULARIZERS`), built with ``kwargs``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or arguments the regulariser
        does not take.
    """
    return _build("regularizer", REGULARIZERS, name, kwargs)


def get_constraint(name: str, **kwargs: Any) -> Constraint:
    """The constraint called ``name`` (see `CONSTRAINTS`), built with ``kwargs``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or bad arguments.
    """
    return _build("constraint", CONSTRAINTS, name, kwargs)


def _build(kind: str, registry: dict[str, Callable[..., Any]], name: Any,
           kwargs: dict[str, Any]) -> Any:
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"{kind} name must be one of {', '.join(map(repr, registry))}, "
                         f"got {name!r}")
    try:
        return registry[name](**kwargs)
    except TypeError as err:  # a missing or unexpected keyword argument
        raise ValueError(f"bad arguments for {kind} {name!r}: {err}") from None
