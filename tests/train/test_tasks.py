"""Tests of the task library `rnndyn.train.tasks`: shapes, seeds, periods, answers, scores."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnndyn.train._protocols import Task, TrialBatch
from rnndyn.train.tasks import (
    TASKS,
    ChaoticSeriesPrediction,
    ContextDependentIntegration,
    DelayedImpulseRecall,
    FlipFlop,
    NeuroGymTask,
    OneChoiceGoal,
    PerceptualDecision,
    get_task,
    mackey_glass,
)


class FakeTrialEnv:
    """The NeuroGym API the adapter relies on: new_trial() -> dict, then ob (T, 3), gt (T,),
    start_ind/end_ind; observation_space.shape, action_space.n, dt (ms), seed() or rng.
    A two-choice task with a variable stimulus (2-4 steps)."""

    def __init__(self, with_seed: bool = True, continuous: bool = False) -> None:
        self.dt = 100
        self.observation_space = SimpleNamespace(shape=(3,))
        self.action_space = (SimpleNamespace(shape=(2,)) if continuous
                             else SimpleNamespace(n=3, shape=()))
        self.rng = np.random.RandomState(0)
        self.continuous = continuous
        if with_seed:
            self.seed = lambda s: setattr(self, "rng", np.random.RandomState(s))

    def new_trial(self) -> dict:
        choice, n_stim = int(self.rng.randint(2)), int(self.rng.randint(2, 5))
        bounds = np.cumsum([0, 1, n_stim, 2])
        names = ("fixation", "stimulus", "decision")
        self.start_ind = {k: int(bounds[i]) for i, k in enumerate(names)}
        self.end_ind = {k: int(bounds[i + 1]) for i, k in enumerate(names)}
        self.ob = np.zeros((bounds[-1], 3))
        self.ob[: bounds[2], 0] = 1.0
        self.ob[bounds[1]: bounds[2], 1 + choice] = 1.0 + self.rng.rand()
        if self.continuous:
            self.gt = np.zeros((bounds[-1], 2))
            self.gt[bounds[2]:] = (choice, 1 - choice)
        else:
            self.gt = np.zeros(bounds[-1], dtype=int)
            self.gt[bounds[2]:] = 1 + choice
        return {"ground_truth": 1 + choice, "stim_steps": n_stim, "extra": [1, 2]}


LORENZ = {"system": "lorenz", "series_length": 1500, "duration": 5.0, "washout": 1.0}
FACTORIES = {
    "delayed_impulse_recall": lambda: DelayedImpulseRecall(),
    "flip_flop": lambda: FlipFlop(n_bits=3),
    "perceptual_decision": lambda: PerceptualDecision(stimulus=(2.0, 4.0)),
    "context_dependent_integration": lambda: ContextDependentIntegration(),
    "one_choice_goal": lambda: OneChoiceGoal(),
    "lorenz": lambda: ChaoticSeriesPrediction(**LORENZ),
    "mackey_glass": lambda: ChaoticSeriesPrediction("mackey_glass", series_length=800,
                                                    horizon=3),
    "neurogym_fake": lambda: NeuroGymTask(FakeTrialEnv()),
}


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def task_and_batch(request):
    task = FACTORIES[request.param]()
    return task, task.batch(64, seed=7)


def test_shapes_dtypes_and_protocol(task_and_batch):
    task, b = task_and_batch
    assert isinstance(task, Task) and isinstance(b, TrialBatch)
    n, t = 64, b.n_steps
    assert b.inputs.shape == (n, t, task.n_inputs) and b.inputs.dtype == torch.float32
    assert b.targets.shape == (n, t, task.n_outputs) and b.targets.dtype == torch.float32
    assert b.mask.shape == b.targets.shape and b.mask.dtype == torch.float32
    assert b.dt == task.dt and torch.isfinite(b.inputs).all()
    assert set(b.mask.unique().tolist()) <= {0.0, 1.0} and b.mask.sum() > 0
    for period in b.periods.values():
        assert period.shape == (n, t) and period.dtype == torch.bool
    for value in b.conditions.values():
        assert isinstance(value, np.ndarray) and value.shape == (n,)


def test_periods_partition_each_trial(task_and_batch):
    _, b = task_and_batch
    stacked = torch.stack(list(b.periods.values())).int()
    assert (stacked.sum(0) == 1).all()       # every step in exactly one period
    # each period is one contiguous run per trial (or empty), except the flip-flop's
    # pulse/hold alternation
    if "pulse" not in b.periods:
        for period in b.periods.values():
            assert (period.int().diff(dim=1).clamp(min=0).sum(1) <= 1).all()


def test_same_seed_same_batch_and_generators_advance(task_and_batch):
    task, b = task_and_batch
    again = task.batch(64, seed=7)
    for name in ("inputs", "targets", "mask"):
        assert torch.equal(getattr(b, name), getattr(again, name))
    assert all(torch.equal(b.periods[k], again.periods[k]) for k in b.periods)
    assert all(np.array_equal(b.conditions[k], again.conditions[k]) for k in b.conditions)
    assert not torch.equal(task.batch(64, seed=8).inputs, b.inputs)
    rng = np.random.default_rng(7)
    first, second = task.batch(8, seed=rng), task.batch(8, seed=rng)
    assert not torch.equal(first.inputs, second.inputs)


def test_perfect_output_scores_perfectly(task_and_batch):
    task, b = task_and_batch
    scores = task.score(b.targets, b)
    assert all(isinstance(v, float) for v in scores.values())
    if "accuracy" in scores:
        assert scores["accuracy"] == 1.0
    else:
        assert scores["r2"] == pytest.approx(1.0) and scores["mse"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="outputs must have shape"):
        task.score(b.targets[:, :-1], b)


@pytest.mark.parametrize(("key", "constant", "chance", "tol"), [
    ("flip_flop", 0.7, 0.5, 0.06), ("perceptual_decision", 0.3, 0.5, 0.06),
    ("context_dependent_integration", 0.3, 0.5, 0.06), ("one_choice_goal", 0.3, 0.25, 0.05),
    ("neurogym_fake", 0.3, 0.5, 0.08), ("delayed_impulse_recall", 0.3, 0.0, 0.0),
])
def test_constant_output_is_at_chance(key, constant, chance, tol):
    task = FACTORIES[key]()
    b = task.batch(1024, seed=11)
    accuracy = task.score(torch.full_like(b.targets, constant), b)["accuracy"]
    assert abs(accuracy - chance) <= tol


def test_constant_prediction_explains_nothing():
    task = FACTORIES["lorenz"]()
    b = task.batch(64, seed=0)
    scores = task.score(torch.zeros_like(b.targets), b)
    assert scores["r2"] < 0.05 and scores["nrmse"] > 0.9


def test_delayed_impulse_target_is_the_delayed_input():
    task = DelayedImpulseRecall(delay=3.0, amplitude=(0.5, 2.0), dt=0.1)
    b = task.batch(32, seed=0)
    u, y = b.inputs[..., 0].numpy(), b.targets[..., 0].numpy()
    assert task.delay_steps == 30 and u.shape[1] == 60
    assert np.all((u != 0).sum(1) == 1)                     # one impulse per trial
    expected = np.zeros_like(u)
    expected[:, 30:] = u[:, :-30]
    np.testing.assert_array_equal(y, expected)
    onset = np.argmax(u != 0, axis=1)
    np.testing.assert_array_equal(b.conditions["recall_step"], onset + 30)
    assert b.periods["response"].numpy()[np.arange(32), onset + 30].all()
    discrete = DelayedImpulseRecall(delay=30, dt=1.0)         # the review's map setting
    assert discrete.delay_steps == 30 and discrete.batch(2, seed=0).n_steps == 60


@pytest.mark.parametrize("kwargs", [{}, {"pulse_duration": 0.3, "mask_initial": False}])
def test_flip_flop_targets_recomputed_from_inputs(kwargs):
    task = FlipFlop(n_bits=3, **kwargs)
    b = task.batch(16, seed=2)
    u, y, m = (a.numpy() for a in (b.inputs, b.targets, b.mask))
    expected, scored = np.zeros_like(u), np.zeros_like(u)
    for trial in range(u.shape[0]):
        for bit in range(3):
            state = 0.0
            for t in range(u.shape[1]):
                if u[trial, t, bit] != 0:
                    state = np.sign(u[trial, t, bit])
                expected[trial, t, bit] = state
                scored[trial, t, bit] = state != 0 or not task.mask_initial
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(m, scored)
    assert set(np.unique(u)) <= {-1.0, 0.0, 1.0}
    assert b.conditions["n_pulses"].sum() > 0


def test_perceptual_decision_answer_is_the_sign_of_the_evidence():
    task = PerceptualDecision(coherences=(51.2,), stimulus=5.0)
    b = task.batch(200, seed=4)
    p = {k: v.numpy() for k, v in b.periods.items()}
    u, y = b.inputs.numpy(), b.targets.numpy()
    stim = p["stimulus"][..., None]
    evidence = ((u[..., 1] - u[..., 2]) * p["stimulus"]).sum(1) / p["stimulus"].sum(1)
    target_choice = np.argmax((y[..., 1:] * p["decision"][..., None]).sum(1), axis=1)
    np.testing.assert_array_equal(target_choice, np.where(evidence > 0, 0, 1))
    np.testing.assert_array_equal(target_choice, b.conditions["choice"])
    np.testing.assert_array_equal(u[..., 0], 1.0 - p["decision"])   # fixation off = go cue
    assert np.all(u[..., 1:] * (1 - stim) == 0)                    # evidence only in stimulus
    levels, p_choice0 = task.psychometric(b.targets, b)
    np.testing.assert_array_equal(levels, [-51.2, 51.2])
    np.testing.assert_array_equal(p_choice0, [0.0, 1.0])


def test_context_dependent_answer_follows_the_relevant_stream():
    task = ContextDependentIntegration(coherences=(50.0,))
    b = task.batch(200, seed=5)
    p = {k: v.numpy() for k, v in b.periods.items()}
    u, y = b.inputs.numpy(), b.targets.numpy()[..., 0]
    context = np.argmax(u[:, 0, 2:], axis=1)
    np.testing.assert_array_equal(context, b.conditions["context"])
    assert np.all(u[..., 2:].sum(-1) == 1.0)                         # one cue, whole trial
    mean = (u[..., :2] * p["stimulus"][..., None]).sum(1) / p["stimulus"].sum(1)[:, None]
    relevant = mean[np.arange(200), context]
    answer = (y * p["decision"]).sum(1) / p["decision"].sum(1)
    np.testing.assert_array_equal(answer, np.sign(relevant))
    scores = task.score(b.targets, b)
    assert scores["p_plus_motion_context_motion_+50"] == 1.0
    assert scores["p_plus_color_context_color_-50"] == 0.0
    # the irrelevant stream does not move the psychometric curve of a perfect network
    assert 0.2 < scores["p_plus_motion_context_color_+50"] < 0.8


def test_one_choice_goal_answer_from_the_grid():
    task = OneChoiceGoal(problems="all", response="choice")
    b = task.batch(300, seed=6)
    p = {k: v.numpy() for k, v in b.periods.items()}
    u, y = b.inputs.numpy(), b.targets.numpy()
    goal_xy = np.array([(-1, 1), (1, 1), (-1, -1), (1, -1)])[np.argmax(u[:, 0, :4], axis=1)]
    last = p["choice"].shape[1] - 1
    offered = u[:, last, 4:] == 1
    assert np.all(offered.sum(1) == 2) and np.all(u[p["delay"]] == 0)
    step = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])
    closer = np.abs(goal_xy[:, None, :] - step[None]).sum(-1) < 2      # (trial, direction)
    good = offered & closer
    assert np.all(good.sum(1) == 1)
    np.testing.assert_array_equal(np.argmax(y[:, last], axis=1), np.argmax(good, axis=1))
    assert len(task.problems) == 16 and np.array_equal(b.mask.numpy()[..., 0], p["choice"])
    paper = OneChoiceGoal()   # the authors' eight problems and their answers (u r d d l u r l)
    np.testing.assert_array_equal(paper.problems[:, 3], [1, 2, 3, 3, 0, 1, 2, 0])
    mask = paper.batch(4, seed=0).mask.numpy()[..., 0]
    assert np.all(mask.sum(1) == 1) and np.all(mask[:, -1] == 1)    # one response, at the end


def test_lorenz_series_obeys_the_ode():
    # sampled every 0.01: the 4th-order difference's own error is then ~2e-4 of |f|
    task = ChaoticSeriesPrediction(**{**LORENZ, "sample_interval": 0.01, "series_length": 2000})
    b = task.batch(4, seed=1)
    raw = b.inputs.numpy().astype(np.float64) * task.std + task.mean
    np.testing.assert_allclose(raw, task.raw_series[b.conditions["start"][:, None]
                                                    + np.arange(b.n_steps)], atol=1e-4)
    np.testing.assert_array_equal(b.targets[:, :-1], b.inputs[:, 1:])   # horizon 1
    s, h = task.raw_series, task.sample_interval
    derivative = (-s[4:] + 8 * s[3:-1] - 8 * s[1:-3] + s[:-4]) / (12 * h)
    x, y, z = s[2:-2].T
    field = np.stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z], axis=1)
    residual = np.abs(derivative - field).max() / np.abs(field).max()
    assert residual < 1e-3


def test_mackey_glass_series_obeys_the_delay_equation():
    h = 0.1
    x = mackey_glass(2000, sample_interval=h, seed=0, t_transient=200.0)
    lag = round(17 / h)
    derivative = (-x[4:] + 8 * x[3:-1] - 8 * x[1:-3] + x[:-4]) / (12 * h)
    xi, xd = x[2:-2][lag:], x[2:-2 - lag]
    field = 0.2 * xd / (1 + xd**10) - 0.1 * xi
    assert np.abs(derivative[lag:] - field).max() < 1e-3 * np.abs(field).max() + 1e-5
    assert 0.3 < x.min() and x.max() < 1.5                    # the chaotic attractor's range
    np.testing.assert_array_equal(x, mackey_glass(2000, h, seed=0, t_transient=200.0))
    task = FACTORIES["mackey_glass"]()
    b = task.batch(2, seed=0)
    np.testing.assert_array_equal(b.targets[:, :-3], b.inputs[:, 3:])   # horizon 3


def test_neurogym_adapter_on_a_fake_env():
    env = FakeTrialEnv()
    task = NeuroGymTask(env, tau_ms=50.0)
    assert (task.n_inputs, task.n_outputs, task.dt) == (3, 3, 2.0)
    b = task.batch(32, seed=3)
    length = b.conditions["trial_length"]
    assert b.n_steps == length.max() and length.min() < length.max()
    for i in range(32):
        assert b.mask[i, length[i]:].sum() == 0 and b.mask[i, : length[i]].min() == 1
        gt = b.targets[i, : length[i]].argmax(-1).numpy()
        decision = b.periods["decision"][i].numpy()
        assert np.all(gt[decision[: length[i]]] == b.conditions["ground_truth"][i])
    assert "extra" not in b.conditions and "stim_steps" in b.conditions
    rng_only = NeuroGymTask(FakeTrialEnv(with_seed=False))
    assert torch.equal(rng_only.batch(8, seed=1).inputs, rng_only.batch(8, seed=1).inputs)
    continuous = NeuroGymTask(FakeTrialEnv(continuous=True))
    c = continuous.batch(8, seed=0)
    assert c.targets.shape[-1] == 2 and continuous.score(c.targets, c)["mse"] == 0.0


def test_neurogym_adapter_on_real_neurogym():
    pytest.importorskip("neurogym")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = get_task("neurogym", env="PerceptualDecisionMaking-v0",
                        env_kwargs={"dt": 20})
        b, again = task.batch(16, seed=0), task.batch(16, seed=0)
    assert task.name == "neurogym:PerceptualDecisionMaking-v0" and task.dt == 0.2
    assert b.inputs.shape == (16, b.n_steps, 3) and torch.equal(b.inputs, again.inputs)
    assert {"fixation", "stimulus", "decision", "padding"} <= set(b.periods)
    assert task.score(b.targets, b)["accuracy"] == 1.0


def test_neurogym_missing_or_bad_env(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_neurogym(name, *args, **kwargs):
        if name == "neurogym":
            raise ImportError("no neurogym")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_neurogym)
    with pytest.raises(ImportError, match="pip install neurogym"):
        NeuroGymTask("PerceptualDecisionMaking-v0")
    with pytest.raises(ValueError, match="lacks new_trial"):
        NeuroGymTask(object())
    with pytest.raises(ValueError, match="env_kwargs"):
        NeuroGymTask(FakeTrialEnv(), env_kwargs={"dt": 10})


@pytest.mark.parametrize(("factory", "kwargs", "name"), [
    (DelayedImpulseRecall, {"delay": 0.0}, "delay"),
    (DelayedImpulseRecall, {"delay": 3.0, "duration": 2.0}, "duration"),
    (DelayedImpulseRecall, {"amplitude": (2.0, 1.0)}, "amplitude"),
    (DelayedImpulseRecall, {"dt": -0.1}, "dt"),
    (FlipFlop, {"n_bits": 0}, "n_bits"),
    (FlipFlop, {"pulse_probability": 1.5}, "pulse_probability"),
    (FlipFlop, {"mask_initial": "yes"}, "mask_initial"),
    (PerceptualDecision, {"coherences": (10.0, 120.0)}, "coherences"),
    (PerceptualDecision, {"stimulus": (3.0, 1.0)}, "stimulus"),
    (PerceptualDecision, {"decision": 0.0}, "decision"),
    (PerceptualDecision, {"sigma": -1.0}, "sigma"),
    (ContextDependentIntegration, {"coherences": ()}, "coherences"),
    (OneChoiceGoal, {"problems": "maze"}, "problems"),
    (OneChoiceGoal, {"response": "first"}, "response"),
    (ChaoticSeriesPrediction, {"system": "rossler"}, "system"),
    (ChaoticSeriesPrediction, {"horizon": 0}, "horizon"),
    (ChaoticSeriesPrediction, {"washout": 30.0}, "washout"),
    (ChaoticSeriesPrediction, {"series_length": 100}, "series_length"),
    (NeuroGymTask, {"env": FakeTrialEnv(), "tau_ms": 0.0}, "tau_ms"),
])
def test_bad_arguments_raise_naming_the_parameter(factory, kwargs, name):
    with pytest.raises(ValueError, match=name):
        factory(**kwargs)


def test_bad_batch_arguments():
    task = FlipFlop()
    with pytest.raises(ValueError, match="batch_size"):
        task.batch(0)
    with pytest.raises(ValueError, match="seed"):
        task.batch(4, seed=-1)
    with pytest.raises(ValueError, match="sample_interval"):
        mackey_glass(10, sample_interval=0.03)


def test_get_task_registry():
    assert isinstance(get_task("flip_flop", n_bits=2), FlipFlop)
    assert get_task("one_choice_goal").name == "one_choice_goal"
    with pytest.raises(ValueError, match="flip_flop") as error:
        get_task("flipflop")
    assert all(name in str(error.value) for name in TASKS)
