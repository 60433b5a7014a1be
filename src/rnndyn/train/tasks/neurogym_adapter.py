"""Any NeuroGym environment as a `Task` (NeuroGym is optional: ``pip install neurogym``)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rnndyn._validation import check_number
from rnndyn.train._protocols import TrialBatch
from rnndyn.train.tasks._base import TaskBase, make_batch, period_mean

__all__ = ["NeuroGymTask"]

_REQUIRED = ("new_trial", "observation_space", "action_space")


def _import_neurogym() -> Any:
    try:
        import neurogym
    except ImportError as error:
        raise ImportError("NeuroGymTask with an environment id needs NeuroGym: "
                          "pip install neurogym") from error
    return neurogym


def _attr(env: Any, name: str, default: Any = None) -> Any:
    """``env.name``, looked up through gymnasium wrappers without their deprecation warning."""
    getter = getattr(env, "get_wrapper_attr", None)
    if getter is not None:
        try:
            return getter(name)
        except AttributeError:
            return default
    return getattr(env, name, default)


class NeuroGymTask(TaskBase):
    """Trials of a NeuroGym environment (Molano-Mazon et al. 2022, NeuroGym) as a `Task`.

    Each trial of a batch is one ``env.new_trial()``: its observations ``env.ob`` (T, n_obs)
    are the inputs, its ground truth ``env.gt`` the targets, one-hot encoded for a discrete
    action space (n_outputs = ``action_space.n``; action 0 is NeuroGym's "fixate") or as is
    for a continuous one (n_outputs = size of ``action_space.shape``). Trials of a batch are
    aligned at their start and padded to the longest one (inputs and targets 0, mask 0,
    period "padding"). Periods come from ``env.start_ind`` / ``env.end_ind`` (NeuroGym's
    step indices of "fixation", "stimulus", "decision", ...) when the environment has them.
    Conditions are the scalar entries of the trial dicts (``ground_truth``, ``coh``, ...),
    plus ``trial_length`` (steps).

    Time: NeuroGym's ``env.dt`` is in ms; the task's ``dt`` (units of tau) is
    ``env.dt / tau_ms``.

    Reproducibility: before each batch the environment is reseeded from the batch's seed,
    with ``env.seed(int)`` (NeuroGym's ``TrialEnv.seed``, which also seeds its random
    timings) or, lacking that method, by setting ``env.rng = numpy.random.RandomState(int)``.
    The environment instance is used (and its state advanced) by the task.

    What the adapter relies on (a fake environment for tests needs exactly these):
    ``new_trial()`` returning a dict (or None); after it, ``ob`` (T, n_obs) and ``gt`` (T,)
    or (T, k) arrays; ``observation_space.shape``; ``action_space.n`` (discrete) or
    ``action_space.shape`` (continuous); ``seed(int)`` or an ``rng`` attribute; optionally
    ``dt`` (ms, default 100), ``start_ind`` and ``end_ind`` (dicts period -> step). Wrapped
    environments (gymnasium wrappers) are read through ``get_wrapper_attr``.

    Parameters
    ----------
    env : str or environment
        A NeuroGym id (``"PerceptualDecisionMaking-v0"``; made with ``neurogym.make``) or an
        environment instance.
    env_kwargs : dict, optional
        Keyword arguments of ``neurogym.make`` (only with an id).
    tau_ms : float
        The network time constant in ms (100 ms as Song et al. 2016).
    response_period : str
        The period in which ``score`` reads the choice.
    """

    def __init__(self, env: Any, env_kwargs: dict[str, Any] | None = None,
                 tau_ms: float = 100.0, response_period: str = "decision") -> None:
        if isinstance(env, str):
            env = _import_neurogym().make(env, **(env_kwargs or {}))
        elif env_kwargs:
            raise ValueError("env_kwargs can only be given with an environment id, "
                             f"got {env_kwargs!r} with an instance")
        missing = [a for a in _REQUIRED if _attr(env, a) is None]
        if not callable(_attr(env, "seed")) and _attr(env, "rng") is None:
            missing.append("seed() or rng")
        if missing:
            raise ValueError(f"env must be a NeuroGym environment (or provide new_trial(), "
                             f"observation_space, action_space and seed() or rng); "
                             f"{type(env).__name__} lacks {', '.join(missing)}")
        self.env = env
        self.tau_ms = check_number("tau_ms", tau_ms, low=0.0, low_inclusive=False)
        if not isinstance(response_period, str):
            raise ValueError(f"response_period must be a period name, got {response_period!r}")
        self.response_period = response_period
        self.n_inputs = int(np.prod(_attr(env, "observation_space").shape))
        space = _attr(env, "action_space")
        self.discrete = getattr(space, "n", None) is not None
        self.n_outputs = int(space.n) if self.discrete else int(np.prod(space.shape))
        self.dt = float(_attr(env, "dt", 100.0)) / self.tau_ms
        env_id = getattr(getattr(env, "spec", None), "id", None) or type(env).__name__
        self.name = f"neurogym:{env_id}"
        self._params = {"env": env_id, "tau_ms": self.tau_ms,
                        "response_period": response_period}

    def _seed_env(self, seed: int) -> None:
        seeder = _attr(self.env, "seed")
        if callable(seeder):
            seeder(seed)
        else:
            getattr(self.env, "unwrapped", self.env).rng = np.random.RandomState(seed)

    def _trial(self) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]], dict]:
        info = _attr(self.env, "new_trial")() or {}
        ob = np.asarray(_attr(self.env, "ob"), dtype=np.float64)
        gt = np.asarray(_attr(self.env, "gt"))
        n = ob.shape[0]
        ob = ob.reshape(n, -1)
        if self.discrete:
            target = np.zeros((n, self.n_outputs))
            target[np.arange(n), gt.astype(int).reshape(n)] = 1.0
        else:
            target = gt.astype(np.float64).reshape(n, -1)
        if ob.shape[1] != self.n_inputs or target.shape[1] != self.n_outputs:
            raise ValueError(f"env trial has ob {ob.shape} and gt {gt.shape}, expected "
                             f"({n}, {self.n_inputs}) and targets ({n}, {self.n_outputs})")
        starts, ends = _attr(self.env, "start_ind") or {}, _attr(self.env, "end_ind") or {}
        periods = {k: (int(starts[k]), int(ends[k])) for k in starts if k in ends}
        return ob, target, periods, dict(info)

    def _generate(self, rng: np.random.Generator, batch_size: int) -> TrialBatch:
        self._seed_env(int(rng.integers(0, 2**31 - 1)))
        trials = [self._trial() for _ in range(batch_size)]
        lengths = np.array([ob.shape[0] for ob, *_ in trials])
        n = int(lengths.max())
        inputs = np.zeros((batch_size, n, self.n_inputs))
        targets = np.zeros((batch_size, n, self.n_outputs))
        names = list(dict.fromkeys(k for _, _, p, _ in trials for k in p))
        periods = {k: np.zeros((batch_size, n), dtype=bool) for k in names}
        for i, (ob, target, bounds, _) in enumerate(trials):
            inputs[i, : len(ob)], targets[i, : len(ob)] = ob, target
            for k, (start, end) in bounds.items():
                periods[k][i, start:end] = True
        t = np.arange(n)
        periods["padding"] = t >= lengths[:, None]
        mask = np.broadcast_to((~periods["padding"])[..., None], targets.shape).astype(float)
        conditions: dict[str, Any] = {"trial_length": lengths}
        infos = [info for *_, info in trials]
        for key in infos[0]:
            values = [info.get(key) for info in infos]
            if all(isinstance(v, numbers.Number | str | np.generic) for v in values):
                conditions[key] = np.array(values)
        return make_batch(inputs, targets, mask, periods, conditions, self.dt)

    def score(self, outputs: Any, batch: TrialBatch) -> dict[str, float]:
        """Behaviour in the response period (all unpadded steps when the trials have none).

        Discrete actions: ``accuracy`` (the choice, the largest non-fixation output averaged
        over the period, equals the most common ground truth there; with one output the
        largest one), ``step_accuracy`` (fraction of unpadded steps with argmax output =
        ground truth, NeuroGym's per-step performance). Continuous: ``mse`` over the period.
        """
        y = self._outputs(outputs, batch)
        valid = ~batch.periods["padding"].numpy()
        period = batch.periods.get(self.response_period)
        window = valid if period is None or not period.numpy().any() else period.numpy()
        target = batch.targets.numpy().astype(np.float64)
        if not self.discrete:
            w = window[..., None] * np.ones_like(target)
            return {"mse": float((w * (y - target) ** 2).sum() / w.sum())}
        first = 1 if self.n_outputs > 1 else 0
        choice = first + np.argmax(period_mean(y[..., first:], window), axis=1)
        counts = (target * window[..., None]).sum(axis=1)
        correct = choice == np.argmax(counts, axis=1)
        step_ok = (np.argmax(y, axis=2) == np.argmax(target, axis=2))[valid]
        return {"accuracy": float(correct.mean()), "step_accuracy": float(step_ok.mean())}
