"""The one-choice goal task of spatially embedded RNNs (Achterberg et al. 2023)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnndyn._validation import check_choice, check_number
from rnndyn.train._protocols import TrialBatch
from rnndyn.train.tasks._base import (
    Duration,
    Epochs,
    TaskBase,
    accuracy_by,
    check_dt,
    make_batch,
    period_mean,
)

__all__ = ["OneChoiceGoal"]

DIRECTIONS = ("left", "up", "right", "down")
_STEP = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])          # (x, y), y pointing up
GOALS = ("up_left", "up_right", "down_left", "down_right")
_GOAL_XY = np.array([(-1, 1), (1, 1), (-1, -1), (1, -1)])      # relative to the start cell

# The eight first-choice problems of the authors' task generator (goal, offered directions):
# goals at cells 7, 9, 17, 19 of a 5 x 5 maze numbered 1-25 row by row from the top left,
# the agent at its centre (13); offered pairs "ul", "rd", "ld", "rd", "ul", "ur", "lr", "lr".
_PAPER = ((1, (0, 1)), (1, (2, 3)), (3, (0, 3)), (2, (2, 3)),
          (2, (0, 1)), (0, (1, 2)), (3, (0, 2)), (0, (0, 2)))


def _closer(goal: int, direction: int) -> bool:
    """Whether one step in ``direction`` from the start brings the agent closer to ``goal``
    (Manhattan distance on the grid)."""
    return bool(np.abs(_GOAL_XY[goal] - _STEP[direction]).sum() < np.abs(_GOAL_XY[goal]).sum())


def _problems(kind: str) -> np.ndarray:
    """Rows (goal, option_a, option_b, correct) of the problem set ``kind``."""
    if kind == "paper":
        pairs = _PAPER
    else:   # every pair of directions of which exactly one leads towards the goal
        pairs = tuple((g, (a, b)) for g in range(4) for a in range(4) for b in range(a + 1, 4)
                      if _closer(g, a) != _closer(g, b))
    return np.array([(g, a, b, a if _closer(g, a) else b) for g, (a, b) in pairs])


class OneChoiceGoal(TaskBase):
    """Remember a goal location, then pick the offered direction that leads towards it.

    The task on which Achterberg, Akarca, Strouse, Duncan & Astle (2023, Nature Machine
    Intelligence 5:1369, "Spatially embedded recurrent neural networks reveal widespread links
    between structural and functional neuroscience findings") trained their seRNNs: the first
    decision of a small maze. The agent stands at the centre of a grid; a goal is shown at one
    of the four diagonal neighbours (up-left, up-right, down-left, down-right, two steps
    away); after a delay with no input, two of the four directions (left, up, right, down) are
    offered, exactly one of which brings the agent closer to the goal, and the network must
    choose it. Solving it needs working memory of the goal across the delay and its
    combination with the options: neither input alone determines the answer.

    Implemented from the authors' task generator (github.com/8erberg/spatially-embedded-RNN,
    ``seRNN_demo.ipynb``, the implementation used in the paper): one-hot goal inputs during
    the goal period, zeros during the delay, the offered directions set to 1 during the
    choice period; one response read at the end of the trial (the last step), as their
    network's single softmax output; the eight goal/option problems of their maze set
    (``problems="paper"``), drawn uniformly. Their timing (20 goal, 10 delay, 20 choice steps)
    is the default at dt = 0.1. ``problems="all"`` uses the 16 pairs with exactly one good
    option; ``response="choice"`` scores the whole choice period; ``input_noise`` adds
    Gaussian noise (standard deviation per step) to all inputs (0 in the paper).

    Inputs (8): goal up-left, up-right, down-left, down-right; option left, up, right, down.
    Outputs (4): left, up, right, down (target one-hot of the correct direction).
    Periods: "goal", "delay", "choice" (+ "padding" with variable timing).
    Conditions: ``problem``, ``goal`` (index in `GOALS`), ``option_a``, ``option_b``,
    ``correct`` (indices in `DIRECTIONS`).

    Parameters
    ----------
    goal, delay, choice : float or (low, high)
        Period durations in time units.
    problems : {"paper", "all"}
    response : {"last", "choice"}
        Score the last step of the choice period (the paper) or all of it.
    input_noise : float
    dt : float
    """

    name = "one_choice_goal"
    directions = DIRECTIONS
    goals = GOALS

    def __init__(self, goal: Duration = 2.0, delay: Duration = 1.0, choice: Duration = 2.0,
                 problems: str = "paper", response: str = "last", input_noise: float = 0.0,
                 dt: float = 0.1) -> None:
        self.dt = check_dt(dt)
        self.problems = _problems(check_choice("problems", problems, ("paper", "all")))
        self.response = check_choice("response", response, ("last", "choice"))
        self.input_noise = check_number("input_noise", input_noise, low=0.0)
        self.epochs = Epochs([("goal", goal), ("delay", delay), ("choice", choice)], self.dt)
        for name, (low, _) in zip(("goal", "choice"), self.epochs.steps[::2], strict=True):
            if low < 1:
                raise ValueError(f"{name} must last at least one step (dt={self.dt:g})")
        self.n_inputs, self.n_outputs = 8, 4
        self._params = {"goal": goal, "delay": delay, "choice": choice, "problems": problems,
                        "response": response, "input_noise": self.input_noise, "dt": self.dt}

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        bounds, periods = self.epochs.sample(rng, batch_size)
        index = rng.integers(0, len(self.problems), batch_size)
        goal, a, b, correct = self.problems[index].T
        n = self.epochs.n_steps
        rows = np.arange(batch_size)
        show_goal = np.zeros((batch_size, 8))
        show_goal[rows, goal] = 1.0
        options = np.zeros((batch_size, 8))
        options[rows, 4 + a] = options[rows, 4 + b] = 1.0
        inputs = (periods["goal"][..., None] * show_goal[:, None, :]
                  + periods["choice"][..., None] * options[:, None, :])
        noise = rng.standard_normal((batch_size, n, 8))
        if self.input_noise > 0:
            inputs = inputs + self.input_noise * noise
        answer = np.zeros((batch_size, 4))
        answer[rows, correct] = 1.0
        targets = periods["choice"][..., None] * answer[:, None, :]
        if self.response == "last":
            scored = np.arange(n) == (bounds[:, 3] - 1)[:, None]
        else:
            scored = periods["choice"]
        mask = np.broadcast_to(scored[..., None], targets.shape).astype(float)
        conditions = {"problem": index, "goal": goal, "option_a": a, "option_b": b,
                      "correct": correct}
        return make_batch(inputs, targets, mask, periods, conditions, self.dt)

    def choices(self, outputs: Any, batch: TrialBatch) -> np.ndarray:
        """The chosen direction of each trial: the largest output averaged over the scored
        steps (ties go to the first direction)."""
        y = self._outputs(outputs, batch)
        return np.argmax(period_mean(y, batch.mask.numpy()[..., 0] > 0), axis=1)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Behaviour: ``accuracy`` (chance 0.25 over four directions, 0.5 when choosing between
        the two offered ones; a constant output scores 0.25 on both problem sets),
        ``offered_rate`` (fraction of choices that were offered) and
        ``accuracy_goal_{name}`` per goal location."""
        choice = self.choices(outputs, batch)
        cond = batch.conditions
        correct = choice == cond["correct"]
        scores = {"accuracy": float(correct.mean()),
                  "offered_rate": float(np.mean((choice == cond["option_a"])
                                                | (choice == cond["option_b"])))}
        by_goal = accuracy_by(correct, cond["goal"], "")
        scores.update({f"accuracy_goal_{GOALS[int(k)]}": v for k, v in by_goal.items()})
        return scores
