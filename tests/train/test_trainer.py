"""`train`: learning a tiny task, Dale/mask/low-rank under training, early stopping, checkpoints,
resume, non-finite losses, regularisers, constraints and bad input."""

import numpy as np
import pytest
import torch

from rnndyn import SimulationError
from rnndyn.io import load, save
from rnndyn.train import (
    ActivityPenalty,
    Constraint,
    RateRNN,
    Regularizer,
    Task,
    TrialBatch,
    WeightPenalty,
    train,
)

torch.set_num_threads(1)


class SumTask:
    """Two constant inputs for 12 steps; report their sum during the last 6 (scored) steps."""

    name = "sum"
    n_inputs = 2
    n_outputs = 1

    def __init__(self, dt: float = 0.2, n_time: int = 12) -> None:
        self.dt = dt
        self.n_time = n_time

    def batch(self, batch_size, seed=None):
        rng = np.random.default_rng(seed)
        values = rng.uniform(-0.5, 0.5, (batch_size, 2))
        inputs = np.repeat(values[:, None, :], self.n_time, axis=1)
        targets = np.repeat(values.sum(1)[:, None, None], self.n_time, axis=1)
        mask = np.zeros_like(targets)
        mask[:, self.n_time // 2:] = 1.0
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        return TrialBatch(as_tensor(inputs), as_tensor(targets), as_tensor(mask),
                          conditions={"sum": values.sum(1)}, dt=self.dt)

    def score(self, outputs, batch):
        last = outputs[:, -1, 0].detach().numpy()
        error = np.abs(last - batch.conditions["sum"])
        return {"accuracy": float(np.mean(error < 0.1)), "abs_error": float(np.mean(error))}


class RecordSteps:
    """A constraint that records the steps it is applied at and zeroes the diagonal of w_rec."""

    name = "zero_diagonal"

    def __init__(self) -> None:
        self.steps = []

    def apply(self, model, step):
        self.steps.append(step)
        model.w_rec.fill_diagonal_(0.0)


def _model(**kwargs):
    return RateRNN(2, kwargs.pop("n", 24), 1, dt=0.2, seed=kwargs.pop("seed", 0), **kwargs)


def test_tiny_task_reaches_criterion_and_stops_early():
    assert isinstance(SumTask(), Task)
    model = _model()
    result = train(model, SumTask(), n_steps=600, batch_size=32, learning_rate=1e-2,
                   target_loss=2e-3, patience=10, eval_every=25, progress=False, seed=0)
    assert result.stopped == "target_loss"
    assert result.n_steps < 600
    assert np.mean(result.history["loss"][-10:]) < 2e-3
    assert result.history["eval_accuracy"][-1] >= 0.95
    assert result.history["eval_step"][-1] == result.n_steps - 1
    np.testing.assert_array_equal(result.history["step"], np.arange(result.n_steps))
    assert result.best_step in result.history["eval_step"]


def test_history_and_dataset(tmp_path):
    result = train(_model(), SumTask(), n_steps=12, eval_every=5, progress=False, seed=1,
                   regularizers=[WeightPenalty(1e-3, p=1), WeightPenalty(1e-3, p=1),
                                 ActivityPenalty(1e-2)])
    keys = {"step", "loss", "task_loss", "penalty_weight_l1_recurrent",
            "penalty_weight_l1_recurrent_1", "penalty_activity_rates", "grad_norm"}
    assert keys <= set(result.history)
    np.testing.assert_array_equal(result.history["eval_step"], [4, 9, 11])
    penalties = sum(result.history[k] for k in keys if k.startswith("penalty"))
    np.testing.assert_allclose(result.history["loss"], result.history["task_loss"] + penalties,
                               rtol=1e-5)
    ds = result.to_dataset()
    assert ds.loss.dims == ("step",) and ds.eval_accuracy.dims == ("eval_step",)
    assert ds.attrs["stopped"] == "n_steps"
    loaded = load(save(ds, tmp_path / "history.nc"))
    np.testing.assert_allclose(loaded.loss.values, result.history["loss"])


@pytest.mark.parametrize("kwargs", [{"dale": 0.8}, {"mask": "random"}, {"rank": 2}])
def test_structure_holds_after_training(kwargs):
    if kwargs.get("mask") == "random":
        kwargs = {"mask": (np.random.default_rng(0).random((24, 24)) < 0.3).astype(float)}
    model = _model(**kwargs).double()
    sign_before = None if model.sign is None else model.sign.clone()
    w_before = model.recurrent_weights.detach().clone()
    train(model, SumTask(), n_steps=30, learning_rate=3e-2, progress=False, seed=2)
    w = model.recurrent_weights.detach().numpy()
    assert not np.allclose(w, w_before.numpy())
    if "dale" in kwargs:
        torch.testing.assert_close(model.sign, sign_before)
        assert np.all(w * model.sign.numpy()[None, :] >= 0)  # every column keeps its sign
    if "mask" in kwargs:
        assert np.all(w[kwargs["mask"] == 0] == 0)
    if "rank" in kwargs:
        assert np.linalg.matrix_rank(w) <= 2


def test_constraints_applied_after_every_step():
    constraint = RecordSteps()
    assert isinstance(constraint, Constraint)
    model = _model()
    train(model, SumTask(), n_steps=7, constraints=[constraint], progress=False, seed=0)
    assert constraint.steps == list(range(7))
    assert torch.all(model.w_rec.diagonal() == 0)


def test_activity_penalty_alone_with_zero_task_weight():
    model = _model(g=1.5)
    model.bias.data.fill_(0.5)
    u = SumTask().batch(16, seed=9).inputs
    with torch.no_grad():
        before = float(model(u).rates.abs().mean())
    result = train(model, SumTask(), n_steps=60, learning_rate=2e-2, task_weight=0.0,
                   regularizers=[ActivityPenalty(1.0, kind="rates", power=1)], eval_every=None,
                   progress=False, seed=0)
    np.testing.assert_allclose(result.history["loss"], result.history["penalty_activity_rates"])
    with torch.no_grad():
        assert float(model(u).rates.abs().mean()) < 0.5 * before


def test_penalty_values():
    model = _model()
    out = model(torch.randn(3, 4, 2))
    assert isinstance(ActivityPenalty(1.0), Regularizer)
    torch.testing.assert_close(ActivityPenalty(2.0, "preactivation", power=1).penalty(model, out),
                               2.0 * out.states.abs().mean())
    torch.testing.assert_close(WeightPenalty(0.5, p=2, which="readout").penalty(model, out),
                               0.5 * model.w_out.square().mean())
    torch.testing.assert_close(WeightPenalty(0.5, p=1, which="input").penalty(model, out),
                               0.5 * model.w_in.abs().mean())
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        WeightPenalty(1.0, p=3)
    with pytest.raises(ValueError, match="kind"):
        ActivityPenalty(1.0, kind="spikes")


def _same_parameters(a, b):
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name)


def test_resume_continues_and_matches_an_uninterrupted_run(tmp_path):
    path = tmp_path / "ckpt.pt"
    first = _model(noise_std=0.05)
    train(first, SumTask(), n_steps=10, checkpoint=path, checkpoint_every=4, progress=False,
          seed=3)
    resumed_model = _model(noise_std=0.05)  # fresh weights: the checkpoint restores them
    resumed = train(resumed_model, SumTask(), n_steps=20, checkpoint=path, progress=False,
                    seed=99)  # the checkpoint's seed is used, so the batches continue
    np.testing.assert_array_equal(resumed.history["step"], np.arange(20))
    straight_model = _model(noise_std=0.05)
    straight = train(straight_model, SumTask(), n_steps=20, progress=False, seed=3)
    np.testing.assert_allclose(resumed.history["loss"], straight.history["loss"], rtol=1e-5)
    _same_parameters(resumed_model, straight_model)


def test_checkpoint_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    train(_model(), SumTask(), n_steps=5, checkpoint=path, checkpoint_every=5, progress=False,
          seed=0)
    before = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("killed while writing")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="killed while writing"):
        train(_model(), SumTask(), n_steps=10, checkpoint=path, checkpoint_every=2,
              progress=False, seed=0)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    result = train(_model(), SumTask(), n_steps=6, checkpoint=path, progress=False, seed=0)
    np.testing.assert_array_equal(result.history["step"], np.arange(6))


def test_checkpoint_of_another_model_is_refused(tmp_path):
    path = tmp_path / "ckpt.pt"
    train(_model(), SumTask(), n_steps=2, checkpoint=path, progress=False, seed=0)
    with pytest.raises(ValueError, match="another model"):
        train(_model(n=30), SumTask(), n_steps=4, checkpoint=path, progress=False, seed=0)


def test_non_finite_loss_raises_with_the_step():
    calls = []

    def loss(outputs, batch):
        calls.append(1)
        value = ((outputs - batch.targets) ** 2).mean()
        return value * float("nan") if len(calls) == 4 else value

    with pytest.raises(SimulationError, match="training step 3"):
        train(_model(), SumTask(), n_steps=10, loss=loss, eval_every=None, progress=False,
              seed=0)


def test_mixed_precision_runs_on_cpu():
    result = train(_model(), SumTask(), n_steps=5, mixed_precision=True, progress=False, seed=0)
    assert np.all(np.isfinite(result.history["loss"]))


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "cross_entropy"}, "loss must be one of 'mse'"),
    ({"n_steps": -1}, "n_steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"task_weight": -1.0}, "task_weight"),
    ({"regularizers": [object()]}, "regularizers"),
    ({"constraints": [WeightPenalty(1.0)]}, "constraints"),
])
def test_bad_arguments(kwargs, match):
    args = {"n_steps": 3, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        train(_model(), SumTask(), **args)


def test_task_and_model_mismatch():
    with pytest.raises(ValueError, match=r"n_inputs=2 but the model has n_inputs=3"):
        train(RateRNN(3, 10, 1, dt=0.2, seed=0), SumTask(), n_steps=1, progress=False)
    with pytest.raises(ValueError, match=r"n_outputs=1 but the model has n_outputs=2"):
        train(RateRNN(2, 10, 2, dt=0.2, seed=0), SumTask(), n_steps=1, progress=False)
    with pytest.raises(ValueError, match=r"dt=0\.2 but the model has dt=0\.1"):
        train(RateRNN(2, 10, 1, seed=0), SumTask(), n_steps=1, progress=False)
    with pytest.raises(ValueError, match="task must follow"):
        train(_model(), object(), n_steps=1, progress=False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(_model(train_input=False, train_recurrent=False, train_readout=False), SumTask(),
              n_steps=1, progress=False)


def test_trained_model_goes_to_the_analysis_toolkit():
    from rnndyn.analysis import find_fixed_points

    model = _model()
    train(model, SumTask(), n_steps=40, learning_rate=1e-2, progress=False, seed=0)
    u = np.array([0.3, -0.2])
    points = find_fixed_points(model.to_network(), u=u, n_initial=16, seed=0)
    x_star = torch.as_tensor(points.points[0], dtype=torch.float32)
    with torch.no_grad():
        states = model(torch.as_tensor(u, dtype=torch.float32).expand(1, 20, 2), x0=x_star).states
    # A fixed point of the Network is one of the Euler map: the state stays (float32 rounding).
    torch.testing.assert_close(states[0, -1], x_star, atol=1e-5, rtol=0)
