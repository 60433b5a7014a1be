"""`rnndyn.train.constraints`: the seRNN spatial penalty against a hand computation and finite
differences, gradual magnitude pruning, time-constant targets, registries, Dale's law and masks
under every regulariser/constraint, and spatial vs L1 training (the seRNN direction)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg
import torch

from rnndyn.analysis.graph import distance_matrix, grid_coordinates, weight_distance, wiring_cost
from rnndyn.train import ActivityPenalty, Constraint, RateRNN, Regularizer, WeightPenalty, train
from rnndyn.train.constraints import (
    CONSTRAINTS,
    REGULARIZERS,
    MagnitudePruning,
    SpatialRegularizer,
    TimeConstantPenalty,
    default_coordinates,
    get_constraint,
    get_regularizer,
)
from rnndyn.train.tasks import FlipFlop

torch.set_num_threads(1)

TASK = FlipFlop(n_bits=1, duration=3.0, dt=0.1)  # 30 steps per trial


def _model(n=20, **kwargs):
    return RateRNN(1, n, 1, dt=0.1, seed=kwargs.pop("seed", 0), **kwargs)


def _model64(n=20, **kwargs):
    """A float64 model whose buffers (coordinates, log_tau) were never rounded to float32."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _model(n, **kwargs)
    finally:
        torch.set_default_dtype(before)


def _value(penalty):
    return float(penalty.detach())


def _train(model, n_steps, **kwargs):
    return train(model, TASK, n_steps=n_steps, batch_size=8, eval_every=None, progress=False,
                 seed=kwargs.pop("seed", 0), **kwargs)


def _hand_penalty(w, coords, strength, comms=True):
    """seRNN's SE1_sWc written literally on the Keras kernel U = W^T."""
    u = np.abs(w.T)
    d = distance_matrix(coords)
    if not comms:
        return strength * np.sum(u * d)
    step = np.diag(u.sum(axis=1) ** -0.5)
    c = scipy.linalg.expm(step @ u @ step)
    np.fill_diagonal(c, 0.0)
    return strength * np.sum(u * c * d)


# --- SpatialRegularizer --------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"dale": 0.8, "mask": "random"}])
def test_spatial_penalty_equals_hand_computation(kwargs):
    n = 20
    if kwargs.get("mask") == "random":
        kwargs["mask"] = (np.random.default_rng(1).random((n, n)) < 0.5).astype(float)
    coords = np.random.default_rng(2).uniform(0, 3, (n, 3))
    model = _model64(n, coordinates=coords, **kwargs)
    w = model.recurrent_weights.detach().numpy()
    for comms in (True, False):
        value = _value(SpatialRegularizer(0.3, communicability=comms).penalty(model, None))
        assert value == pytest.approx(_hand_penalty(w, coords, 0.3, comms), rel=1e-12, abs=1e-10)
    assert _value(SpatialRegularizer(0.3, communicability=False).penalty(model, None)) == \
        pytest.approx(0.3 * wiring_cost(w, coords), rel=1e-12)
    # The out-strength convention: C is seRNN's matrix (on W^T) transposed, so it is aligned
    # with W[i, j]; with a zero diagonal.
    c = SpatialRegularizer(1.0).communicability_matrix(model).detach().numpy()
    u = np.abs(w.T)
    step = np.diag(u.sum(axis=1) ** -0.5)
    c_se = scipy.linalg.expm(step @ u @ step)
    np.fill_diagonal(c_se, 0.0)
    np.testing.assert_allclose(c, c_se.T, rtol=1e-12, atol=1e-14)


def test_spatial_coordinates_given_model_or_default():
    model = _model64(100)
    d = SpatialRegularizer(1.0).distances(model).numpy()
    np.testing.assert_array_equal(d, distance_matrix(grid_coordinates(100, (5, 5, 4))))
    np.testing.assert_array_equal(default_coordinates(27), grid_coordinates(27))
    big = default_coordinates(150)
    assert big.shape == (150, 3) and big.max() == 5  # a 6 x 6 x 6 cube
    own = np.random.default_rng(0).normal(size=(100, 2))
    given = np.random.default_rng(1).normal(size=(100, 3))
    with_coords = _model64(100, coordinates=own)
    np.testing.assert_allclose(SpatialRegularizer(1.0).distances(with_coords).numpy(),
                               distance_matrix(own), rtol=1e-12)
    np.testing.assert_allclose(SpatialRegularizer(1.0, given).distances(with_coords).numpy(),
                               distance_matrix(given), rtol=1e-12)
    # float32 models get float32 matrices, and the same value to round-off
    m32 = _model(100, coordinates=own)
    p32 = SpatialRegularizer(0.1).penalty(m32, None)
    assert p32.dtype == torch.float32
    p64 = SpatialRegularizer(0.1).penalty(with_coords)
    assert _value(p32) == pytest.approx(_value(p64), rel=1e-5)


def test_spatial_gradient_matches_finite_differences():
    n = 6
    coords = np.random.default_rng(3).uniform(0, 2, (n, 3))
    w = torch.tensor(np.random.default_rng(4).normal(size=(n, n)), requires_grad=True)
    for comms in (True, False):
        reg = SpatialRegularizer(0.7, coords, communicability=comms)
        assert torch.autograd.gradcheck(
            lambda w, reg=reg: reg.penalty(SimpleNamespace(recurrent_weights=w), None), (w,),
            eps=1e-6, atol=1e-8, rtol=1e-6)
    # A neuron with no outgoing weight (e.g. fully pruned) has out-strength 0: finite gradient.
    for dtype in (torch.float32, torch.float64):
        dead = w.detach().clone().to(dtype)
        dead[:, 2] = 0.0
        dead.requires_grad_(True)
        value = SpatialRegularizer(0.7, coords).penalty(SimpleNamespace(recurrent_weights=dead))
        (grad,) = torch.autograd.grad(value, dead)
        assert torch.isfinite(value) and torch.all(torch.isfinite(grad))


def test_detached_communicability_gradient():
    n = 10
    coords = np.random.default_rng(5).uniform(0, 2, (n, 2))
    w = torch.tensor(np.random.default_rng(6).normal(size=(n, n)), requires_grad=True)
    fake = SimpleNamespace(recurrent_weights=w)
    detached = SpatialRegularizer(0.5, coords, detach_communicability=True)
    (grad,) = torch.autograd.grad(detached.penalty(fake, None), w)
    c = detached.communicability_matrix(fake)
    assert not c.requires_grad
    expected = 0.5 * torch.sign(w.detach()) * c * torch.as_tensor(distance_matrix(coords))
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-14)
    (full,) = torch.autograd.grad(SpatialRegularizer(0.5, coords).penalty(fake, None), w)
    assert not torch.allclose(full, grad)  # differentiating through C matters
    assert _value(detached.penalty(fake)) == pytest.approx(
        _value(SpatialRegularizer(0.5, coords).penalty(fake)), rel=1e-14)


def test_spatial_lowers_wiring_cost_relative_to_l1():
    """seRNN direction: at similar total |W|, the spatial penalty makes long connections weak
    (negative |W|-distance correlation, shorter mean connection length); L1 does not."""
    coords = default_coordinates(64)
    out = {}
    for name, reg in (("spatial", SpatialRegularizer(0.01)), ("l1", WeightPenalty(3.0, p=1))):
        model = _model(64, coordinates=coords)
        _train(model, 40, learning_rate=1e-2, regularizers=[reg])
        w = model.recurrent_weights.detach().numpy()
        out[name] = {"total": np.abs(w).sum(), "wiring": wiring_cost(w, coords),
                     "r": weight_distance(w, coords).r}
    sp, l1 = out["spatial"], out["l1"]
    assert 0.75 < sp["total"] / l1["total"] < 1.33  # similar total |W|
    assert sp["r"] < -0.25 and abs(l1["r"]) < 0.1
    assert sp["r"] < l1["r"] - 0.25
    assert sp["wiring"] / sp["total"] < 0.9 * l1["wiring"] / l1["total"]  # shorter wires
    assert sp["wiring"] < l1["wiring"]


# --- MagnitudePruning ------------------------------------------------------------------------
class _Record:
    name = "record"

    def __init__(self, pruning):
        self.pruning, self.sparsity, self.masks, self.steps = pruning, [], [], []

    def apply(self, model, step):
        self.steps.append(step)
        self.sparsity.append(self.pruning.sparsity(model))
        self.masks.append(self.pruning.mask.clone())


def test_pruning_follows_the_schedule_and_pruned_weights_stay_zero():
    n = 24
    mask = (np.random.default_rng(7).random((n, n)) < 0.6).astype(float)
    n_allowed = int(mask.sum())
    model = _model(n, dale=0.75, mask=mask)
    sign = model.sign.clone()
    pruning = MagnitudePruning(0.8, start_step=4, end_step=24, frequency=5)
    record = _Record(pruning)
    assert isinstance(pruning, Constraint)
    _train(model, 40, learning_rate=2e-2, constraints=[pruning, record])
    for step, sparsity in zip(record.steps, record.sparsity, strict=True):
        want = math.floor(pruning.scheduled_sparsity(step) * n_allowed + 0.5) / n_allowed
        assert sparsity == want, step
    assert record.sparsity[-1] == pytest.approx(0.8, abs=1 / n_allowed)
    assert {s for s in range(40) if pruning.is_pruning_step(s)} == {4, 9, 14, 19, 24}
    for before, after in zip(record.masks, record.masks[1:], strict=False):
        assert not torch.any(after & ~before)  # the pruned set only grows
    assert all(torch.equal(m, record.masks[24]) for m in record.masks[24:])
    w = model.recurrent_weights.detach()
    assert torch.all(w[~pruning.mask] == 0) and torch.all(model.w_rec[~pruning.mask] == 0)
    assert torch.all(w * sign[None, :] >= 0) and torch.all(w[mask == 0] == 0)
    torch.testing.assert_close(model.sign, sign)


def test_pruning_removes_the_smallest_magnitudes():
    model = _model(16)
    w = model.recurrent_weights.detach().clone()
    pruning = MagnitudePruning(0.25, start_step=0, end_step=0)
    pruning.apply(model, 0)
    smallest = torch.argsort(w.abs().flatten())[:64]
    expected = torch.ones(256, dtype=torch.bool)
    expected[smallest] = False
    assert torch.equal(pruning.mask.flatten(), expected)
    assert pruning.sparsity(model) == 0.25
    # A new instance applied mid-schedule (resumed training) adopts the zeros as pruned.
    resumed = MagnitudePruning(0.25, start_step=0, end_step=10, frequency=5)
    resumed.apply(model, 7)
    assert torch.equal(resumed.mask, pruning.mask)


def test_pruning_schedules():
    cubic = MagnitudePruning(0.9, start_step=10, end_step=30, frequency=10)
    linear = MagnitudePruning(0.9, start_step=10, end_step=30, frequency=10, schedule="linear")
    assert [cubic.target_sparsity(t) for t in (0, 10, 20, 30, 99)] == \
        pytest.approx([0, 0, 0.9 * 0.875, 0.9, 0.9])
    assert [linear.target_sparsity(t) for t in (0, 10, 20, 30, 99)] == \
        pytest.approx([0, 0, 0.45, 0.9, 0.9])
    assert linear.scheduled_sparsity(29) == pytest.approx(0.45)
    uneven = MagnitudePruning(0.5, start_step=0, end_step=7, frequency=5, schedule="linear")
    assert [uneven.is_pruning_step(t) for t in range(9)] == \
        [True, False, False, False, False, True, False, True, False]


# --- TimeConstantPenalty ---------------------------------------------------------------------
def test_time_constant_penalty_value_and_targets():
    tau = np.array([0.5, 1.0, 2.0, 4.0])
    model = _model64(4, tau=tau, train_tau=True)
    regions = TimeConstantPenalty(2.0, [1.0, 3.0], regions=[0, 0, 1, 1])
    want = 2.0 * np.mean((np.log(tau) - np.log([1.0, 1.0, 3.0, 3.0])) ** 2)
    assert _value(regions.penalty(model, None)) == pytest.approx(want, rel=1e-12)
    assert isinstance(regions, Regularizer)
    per_neuron = TimeConstantPenalty(1.0, tau)
    assert _value(per_neuron.penalty(model, None)) == 0.0
    coords = np.stack([np.arange(4.0), np.zeros(4)], axis=1)
    grad = TimeConstantPenalty.along_axis(1.0, (0.5, 4.0), axis=0, coordinates=coords)
    np.testing.assert_allclose(grad.targets(model).numpy(), tau, rtol=1e-12)
    from_model = TimeConstantPenalty.along_axis(1.0, (0.5, 4.0))
    np.testing.assert_allclose(
        from_model.targets(_model(4, tau=tau, train_tau=True, coordinates=coords)).numpy(),
        tau, rtol=1e-6)
    scalar = _model(4, tau=2.0, train_tau=True)
    assert _value(TimeConstantPenalty(1.0, 2.0).penalty(scalar)) == pytest.approx(0.0, abs=1e-12)


def test_time_constant_penalty_pulls_taus_to_targets():
    model = _model(8, tau=np.ones(8), train_tau=True)
    target = np.where(np.arange(8) < 4, 0.5, 4.0)
    pen = TimeConstantPenalty(1.0, [0.5, 4.0], regions=[0] * 4 + [1] * 4)
    before = np.abs(np.log(model.tau.detach().numpy()) - np.log(target))
    result = _train(model, 40, learning_rate=5e-2, regularizers=[pen])
    after = np.abs(np.log(model.tau.detach().numpy()) - np.log(target))
    assert np.all(after < 0.5 * before)
    assert result.history["penalty_time_constant"][-1] < \
        0.3 * result.history["penalty_time_constant"][0]


def test_time_constant_penalty_bad_input():
    with pytest.raises(ValueError, match="train_tau"):
        TimeConstantPenalty(1.0, 1.0).penalty(_model(4), None)
    with pytest.raises(ValueError, match="per-neuron tau"):
        TimeConstantPenalty(1.0, [1.0, 2.0, 1.0, 2.0]).penalty(_model(4, train_tau=True))
    per_neuron = _model(4, tau=np.ones(4), train_tau=True)
    with pytest.raises(ValueError, match="dt"):
        TimeConstantPenalty(1.0, 0.01).penalty(per_neuron)
    with pytest.raises(ValueError, match="one value per neuron"):
        TimeConstantPenalty(1.0, [1.0, 2.0, 3.0]).penalty(per_neuron)
    with pytest.raises(ValueError, match="coordinates"):
        TimeConstantPenalty.along_axis(1.0, (1.0, 2.0)).penalty(per_neuron)
    for args, kwargs, match in [
            ((-1.0, 1.0), {}, "strength"), ((1.0, 0.0), {}, "target_tau"),
            ((1.0, [1.0, -1.0]), {}, "target_tau"), ((1.0, 1.0), {"regions": [0]}, "regions"),
            ((1.0, [1.0, 2.0]), {"regions": [0, 2]}, "regions"),
            ((1.0, [1.0, 2.0]), {"regions": [0, 0.5]}, "regions")]:
        with pytest.raises(ValueError, match=match):
            TimeConstantPenalty(*args, **kwargs)
    coords = np.zeros((4, 2))
    with pytest.raises(ValueError, match="tau_range"):
        TimeConstantPenalty.along_axis(1.0, 3.0)
    with pytest.raises(ValueError, match="axis"):
        TimeConstantPenalty.along_axis(1.0, (1.0, 2.0), axis=2, coordinates=coords)
    with pytest.raises(ValueError, match="vary along axis"):
        TimeConstantPenalty.along_axis(1.0, (1.0, 2.0), coordinates=coords)


# --- registries, structure under training, bad input -----------------------------------------
def test_registries():
    assert set(REGULARIZERS) == {"l1", "l2", "activity", "spatial", "wiring", "time_constant"}
    assert set(CONSTRAINTS) == {"pruning"}
    l1 = get_regularizer("l1", strength=0.1)
    assert isinstance(l1, WeightPenalty) and l1.p == 1
    assert get_regularizer("l2", strength=0.1, which="input").p == 2
    assert isinstance(get_regularizer("activity", strength=0.1), ActivityPenalty)
    assert get_regularizer("spatial", strength=0.1).communicability
    wiring = get_regularizer("wiring", strength=0.1)
    assert not wiring.communicability and wiring.name == "wiring"
    assert isinstance(get_regularizer("time_constant", strength=1, target_tau=1.0),
                      TimeConstantPenalty)
    assert isinstance(get_constraint("pruning", final_sparsity=0.5, start_step=0, end_step=5),
                      MagnitudePruning)
    with pytest.raises(ValueError, match="'l1', 'l2', 'activity', 'spatial', 'wiring'"):
        get_regularizer("l3", strength=1.0)
    with pytest.raises(ValueError, match="'pruning'"):
        get_constraint("dale")
    with pytest.raises(ValueError, match="bad arguments for regularizer 'l1'"):
        get_regularizer("l1", strength=1.0, p=2)
    with pytest.raises(ValueError, match="bad arguments for constraint 'pruning'"):
        get_constraint("pruning", sparsity=0.5)


STRUCTURE_CASES = {
    "spatial": lambda: SpatialRegularizer(1e-3),
    "wiring": lambda: SpatialRegularizer(1e-3, communicability=False),
    "l1": lambda: WeightPenalty(1e-2, p=1),
    "l2": lambda: WeightPenalty(1e-2, p=2),
    "activity": lambda: ActivityPenalty(1e-2),
    "time_constant": lambda: TimeConstantPenalty(1.0, [0.5, 2.0], regions=[0] * 12 + [1] * 12),
    "pruning": lambda: MagnitudePruning(0.5, start_step=2, end_step=10, frequency=4),
}


@pytest.mark.parametrize("name", list(STRUCTURE_CASES))
def test_dale_and_mask_hold_under_every_regulariser_and_constraint(name):
    n = 24
    mask = (np.random.default_rng(8).random((n, n)) < 0.5).astype(float)
    model = _model(n, dale=0.75, mask=mask, tau=np.ones(n), train_tau=True)
    sign, before = model.sign.clone(), model.recurrent_weights.detach().clone()
    obj = STRUCTURE_CASES[name]()
    kind = "constraints" if name == "pruning" else "regularizers"
    _train(model, 15, learning_rate=2e-2, **{kind: [obj]})
    w = model.recurrent_weights.detach()
    assert not torch.allclose(w, before)
    torch.testing.assert_close(model.sign, sign)
    assert torch.all(w * sign[None, :] >= 0)  # every presynaptic column keeps its sign
    assert torch.all(w[torch.as_tensor(mask) == 0] == 0)


def test_bad_input():
    for kwargs, match in [({"strength": -1.0}, "strength"),
                          ({"strength": 1.0, "communicability": "yes"}, "communicability"),
                          ({"strength": 1.0, "communicability": False,
                            "detach_communicability": True}, "detach_communicability"),
                          ({"strength": 1.0, "coordinates": np.zeros(5)}, "coordinates")]:
        with pytest.raises(ValueError, match=match):
            SpatialRegularizer(**kwargs)
    with pytest.raises(ValueError, match="one row per neuron"):
        SpatialRegularizer(1.0, np.zeros((5, 3))).penalty(_model(6), None)
    for kwargs, match in [({"final_sparsity": 1.0}, "final_sparsity"),
                          ({"final_sparsity": -0.1}, "final_sparsity"),
                          ({"end_step": 1, "start_step": 2}, "end_step"),
                          ({"frequency": 0}, "frequency"),
                          ({"schedule": "exponential"}, "schedule")]:
        with pytest.raises(ValueError, match=match):
            MagnitudePruning(**{"final_sparsity": 0.5, "start_step": 0, "end_step": 10,
                                **kwargs})
    with pytest.raises(ValueError, match="low-rank"):
        MagnitudePruning(0.5, 0, 10).apply(_model(10, rank=2), 0)
