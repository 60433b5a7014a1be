"""Task library of `rnndyn.train`: seeded trial generators with behavioural scores.

Every task satisfies the `rnndyn.train.Task` protocol (``name``, ``n_inputs``, ``n_outputs``,
``dt``, ``batch(batch_size, seed)`` and ``score(outputs, batch)``). Time is in units of the
network time constant tau; durations are given in time units and converted to steps of
``dt``. See ``docs/train_tasks.md``.

==================================  ===================================================
``delayed_impulse_recall``          `DelayedImpulseRecall` (Kim, Larsen & Parkes review)
``flip_flop``                       `FlipFlop` (Sussillo & Barak 2013)
``perceptual_decision``             `PerceptualDecision` (NeuroGym; Song et al. 2016)
``context_dependent_integration``   `ContextDependentIntegration` (Mante et al. 2013)
``one_choice_goal``                 `OneChoiceGoal` (Achterberg et al. 2023)
``chaotic_series_prediction``       `ChaoticSeriesPrediction` (Lorenz, Mackey-Glass)
``neurogym``                        `NeuroGymTask` (any NeuroGym environment)
==================================  ===================================================

Examples
--------
>>> task = get_task("flip_flop", n_bits=2)
>>> task.batch(8, seed=0).inputs.shape
torch.Size([8, 100, 2])
"""

from __future__ import annotations

from typing import Any

from rnndyn.train.tasks.chaotic import ChaoticSeriesPrediction, mackey_glass
from rnndyn.train.tasks.decision import ContextDependentIntegration, PerceptualDecision
from rnndyn.train.tasks.goal import OneChoiceGoal
from rnndyn.train.tasks.memory import DelayedImpulseRecall, FlipFlop
from rnndyn.train.tasks.neurogym_adapter import NeuroGymTask

__all__ = [
    "TASKS",
    "ChaoticSeriesPrediction",
    "ContextDependentIntegration",
    "DelayedImpulseRecall",
    "FlipFlop",
    "NeuroGymTask",
    "OneChoiceGoal",
    "PerceptualDecision",
    "get_task",
    "mackey_glass",
]

TASKS: dict[str, type] = {
    "delayed_impulse_recall": DelayedImpulseRecall,
    "flip_flop": FlipFlop,
    "perceptual_decision": PerceptualDecision,
    "context_dependent_integration": ContextDependentIntegration,
    "one_choice_goal": OneChoiceGoal,
    "chaotic_series_prediction": ChaoticSeriesPrediction,
    "neurogym": NeuroGymTask,
}


def get_task(name: str, **kwargs: Any) -> Any:
    """The task registered as ``name`` in `TASKS`, built with ``kwargs``.

    Parameters
    ----------
    name : str
        A key of `TASKS` (e.g. ``"flip_flop"``); ``"neurogym"`` takes the environment as
        ``env=``.
    **kwargs
        Arguments of the task's class.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the names), or from the task's own
        argument checks.
    """
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"name must be one of {', '.join(map(repr, TASKS))}, got {name!r}")
    return TASKS[name](**kwargs)
