"""`rnndyn.train.modulation`: gain copies, gain sweeps with common random numbers, per-region
gains, a bistability switch at the predicted gain, decision times and bad input."""

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from rnndyn.train import RateRNN, TrialBatch
from rnndyn.train.modulation import (
    decision_times,
    gain_sweep,
    gain_vector,
    modulated,
)
from rnndyn.train.tasks import PerceptualDecision

torch.set_num_threads(1)


def _tensor(array):
    return torch.as_tensor(np.asarray(array), dtype=torch.float64)


# --- copies and exact reproduction -------------------------------------------------------------
def test_gain_one_reproduces_the_model_exactly():
    model = RateRNN(3, 20, 3, noise_std=0.1, seed=0)
    inputs = PerceptualDecision().batch(6, seed=1).inputs
    copy = modulated(model, 1.0)
    expected = model(inputs, noise_seed=5)
    got = copy(inputs, noise_seed=5)
    for name in ("outputs", "rates", "states"):
        assert torch.equal(getattr(got, name), getattr(expected, name))
    # A copy: another gain leaves the original alone, and the copy can still be saved.
    other = modulated(model, 2.0)
    assert torch.equal(model.gain, torch.ones(20)) and torch.all(other.gain == 2.0)
    assert other.config == model.config
    assert other.w_rec is not model.w_rec and torch.equal(other.w_rec, model.w_rec)


def test_relative_gain_multiplies_the_current_gain():
    gain = np.linspace(0.5, 1.5, 10)
    model = RateRNN(1, 10, 1, gain=gain, seed=0)
    assert torch.equal(modulated(model, 1.0, relative=True).gain, model.gain)
    assert np.allclose(modulated(model, 2.0, relative=True).gain.numpy(), 2 * gain)
    assert np.allclose(modulated(model, 2.0).gain.numpy(), 2.0)  # set, not multiplied


def test_sweep_at_gain_one_matches_the_unmodulated_model_and_keeps_weights():
    model = RateRNN(3, 24, 3, seed=0)
    task = PerceptualDecision()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    seen = []

    def record(outputs, batch):
        seen.append((outputs.clone(), batch))
        return task.score(outputs, batch)

    ds = gain_sweep(model, task, [0.5, 1.0, 3.0], n_trials=40, seed=3, metric=record)
    # Same batch object at every gain (common random numbers).
    assert all(batch is seen[0][1] for _, batch in seen)
    batch = seen[0][1]
    with torch.no_grad():
        direct = model(batch.inputs).outputs
    assert torch.equal(seen[1][0], direct)
    assert not torch.equal(seen[0][0], direct)
    for name, value in task.score(direct, batch).items():
        assert ds[name].sel(gain=1.0).item() == value
    # Nothing of the model changed.
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert flags == [p.requires_grad for p in model.parameters()]
    # Every metric of task.score is a variable over the gain dimension.
    assert set(ds.data_vars) == set(task.score(direct, batch))
    assert ds["accuracy"].dims == ("gain",) and list(ds["gain"].values) == [0.5, 1.0, 3.0]
    assert ds.attrs["seed"] == 3 and ds.attrs["n_trials"] == 40
    only = gain_sweep(model, task, [1.0], n_trials=40, seed=3, metric="accuracy")
    assert list(only.data_vars) == ["accuracy"]
    assert only["accuracy"].item() == ds["accuracy"].sel(gain=1.0).item()


def test_common_random_numbers_with_noise():
    model = RateRNN(3, 16, 3, noise_std=0.3, seed=0)
    outs = []

    def record(outputs, batch):
        outs.append(outputs.clone())
        return {"mean": float(outputs.mean())}

    gain_sweep(model, PerceptualDecision(), [1.0, 1.0], n_trials=10, seed=7, metric=record,
               chunk_size=4)
    gain_sweep(model, PerceptualDecision(), [1.0], n_trials=10, seed=8, metric=record,
               chunk_size=4)
    assert torch.equal(outs[0], outs[1])      # same trials and noise at both gains
    assert not torch.equal(outs[0], outs[2])  # another seed: other noise


# --- regions -------------------------------------------------------------------------------------
REGIONS = np.array(["PFC", "PFC", "MD", "MD", "MD", "PFC", "PFC", "PFC"])


def test_region_gains_go_to_their_neurons():
    model = RateRNN(1, 8, 1, seed=0)
    md = REGIONS == "MD"
    g = modulated(model, {"MD": 3.0}, regions=REGIONS).gain.numpy()
    assert np.array_equal(g, np.where(md, 3.0, 1.0))
    # A sequence is in sorted label order: ("MD", "PFC").
    g = gain_vector(model, [0.5, 2.0], regions=REGIONS).numpy()
    assert np.array_equal(g, np.where(md, 0.5, 2.0))
    # Integer labels (as MultiRegionConnectivity.region_labels) work the same way.
    ints = md.astype(int)
    assert np.array_equal(gain_vector(model, {1: 4.0}, regions=ints).numpy(),
                          np.where(md, 4.0, 1.0))
    # The copy's rates are phi(gain_i x_i) with each neuron's own gain.
    copy = modulated(model, {"MD": 3.0, "PFC": 0.5}, regions=REGIONS)
    out = copy(torch.randn(2, 5, 1))
    vector = torch.as_tensor(np.where(md, 3.0, 0.5), dtype=out.states.dtype)
    assert torch.allclose(out.rates, torch.tanh(vector * out.states))


class ConstantInput:
    """One input, constant 1 for 20 steps; the score is the mean final output."""

    name = "constant"
    n_inputs = 1
    n_outputs = 1
    dt = 0.1

    def batch(self, batch_size, seed=None):
        inputs = torch.ones(batch_size, 20, 1)
        return TrialBatch(inputs, torch.zeros_like(inputs), torch.ones_like(inputs), dt=self.dt)

    def score(self, outputs, batch):
        return {"final": float(outputs[:, -1, 0].mean())}


def test_region_grid_only_moves_the_regions_that_are_read_out():
    # No recurrence, the readout sees PFC neurons only: the MD gain cannot change the output,
    # while a higher PFC gain raises it (tanh(g x) grows with g for x > 0).
    model = RateRNN(1, 8, 1, seed=0).double()
    with torch.no_grad():
        model.w_rec.zero_()
        model.w_in.fill_(1.0)
        model.w_out.copy_(_tensor((REGIONS == "PFC")[None, :] / 5.0))
        model.b_out.zero_()
    ds = gain_sweep(model, ConstantInput(), {"MD": [0.5, 1.0, 2.0], "PFC": [0.5, 1.0, 2.0]},
                    regions=REGIONS, n_trials=2, seed=0)
    final = ds["final"]
    assert final.dims == ("gain_MD", "gain_PFC") and final.shape == (3, 3)
    assert np.all(final.std("gain_MD").values < 1e-12)  # BLAS summation order aside
    assert np.all(np.diff(final.values, axis=1) > 0)
    # Each grid point equals the model modulated by hand.
    batch = ConstantInput().batch(2)
    for g_md in (0.5, 2.0):
        for g_pfc in (1.0, 2.0):
            copy = modulated(model, {"MD": g_md, "PFC": g_pfc}, regions=REGIONS)
            value = float(copy(batch.inputs).outputs[:, -1, 0].mean().detach())
            assert final.sel(gain_MD=g_md, gain_PFC=g_pfc).item() == pytest.approx(value,
                                                                                   rel=1e-12)
    # A fixed (scalar) region gain is not a dimension.
    fixed = gain_sweep(model, ConstantInput(), {"MD": 5.0, "PFC": [1.0, 2.0]}, regions=REGIONS,
                       n_trials=2, seed=0)
    assert fixed["final"].dims == ("gain_PFC",)
    assert np.allclose(fixed["final"].values, final.sel(gain_MD=1.0).values[1:])
    # Only fixed gains: one point, no dimension.
    point = gain_sweep(model, ConstantInput(), {"MD": 0.5, "PFC": 2.0}, regions=REGIONS,
                       n_trials=2, seed=0)
    assert point["final"].dims == ()
    assert point["final"].item() == pytest.approx(final.sel(gain_MD=0.5, gain_PFC=2.0).item(),
                                                  rel=1e-12)


# --- a known effect: the pitchfork of a rank-one network ----------------------------------------
class PulseMemory:
    """A pulse of sign +-1 for 1 time unit, then 40 time units of silence. Scores: ``memory``
    (fraction of trials whose final output has the pulse's sign and |y| > 0.05) and
    ``final_abs`` (mean |final output|)."""

    name = "pulse_memory"
    n_inputs = 1
    n_outputs = 1
    dt = 0.1

    def batch(self, batch_size, seed=None):
        sign = np.where(np.arange(batch_size) % 2 == 0, 1.0, -1.0)
        inputs = np.zeros((batch_size, 410, 1))
        inputs[:, :10, 0] = sign[:, None]
        zeros = torch.zeros(batch_size, 410, 1)
        return TrialBatch(torch.as_tensor(inputs, dtype=torch.float32), zeros,
                          torch.ones_like(zeros), conditions={"sign": sign}, dt=self.dt)

    def score(self, outputs, batch):
        final = outputs[:, -1, 0].detach().double().numpy()
        kept = (np.sign(final) == batch.conditions["sign"]) & (np.abs(final) > 0.05)
        return {"memory": float(kept.mean()), "final_abs": float(np.abs(final).mean())}


def test_rank_one_network_becomes_bistable_above_gain_one_over_s():
    # W = m n^T / N with n^T m / N = s exactly, input and state along m: x_t = m kappa_t with
    #   kappa_{t+1} = kappa_t + alpha (F(kappa_t) + u_t - kappa_t),  F(k) = n^T tanh(g m k) / N,
    # and the readout n / N gives y = F(kappa) = kappa at a fixed point. F'(0) = g s, so the
    # state kappa = 0 is the only (stable) fixed point for g < 1/s and loses its stability at
    # g = 1/s in a pitchfork (tanh is odd and saturating): for g > 1/s two stable states
    # +-kappa*(g), kappa* = F(kappa*) > 0, and the sign of a transient pulse is remembered.
    n, s = 200, 2.0
    rng = np.random.default_rng(0)
    m = rng.standard_normal(n)
    n_vec = s * m / (m @ m / n)
    model = RateRNN(1, n, 1, dt=0.1, seed=0).double()
    with torch.no_grad():
        model.w_rec.copy_(_tensor(np.outer(m, n_vec) / n))
        model.w_in.copy_(_tensor(m[:, None]))
        model.w_out.copy_(_tensor(n_vec[None, :] / n))
        model.bias.zero_()
        model.b_out.zero_()
    crit = 1.0 / s
    factors = np.array([0.5, 0.8, 1.25, 1.5, 2.0])
    ds = gain_sweep(model, PulseMemory(), factors * crit, n_trials=4, seed=0)
    below, above = factors < 1, factors > 1
    assert np.all(ds["memory"].values[below] == 0.0)
    assert np.all(ds["memory"].values[above] == 1.0)
    # Below: decays to 0 at rate >= (1 - 0.8) per time unit over 40 units (e^-8 of O(1)).
    assert np.all(ds["final_abs"].values[below] < 2e-3)
    # Above: the output sits on kappa*(g), the root of F(k) = k.
    for factor in factors[above]:
        g = factor * crit
        kappa = brentq(lambda k: n_vec @ np.tanh(g * m * k) / n - k, 1e-6, 10.0)  # noqa: B023
        got = ds["final_abs"].sel(gain=g).item()
        assert got == pytest.approx(kappa, rel=1e-4)
    # Higher gain, deeper wells: kappa* grows with g.
    assert np.all(np.diff(ds["final_abs"].values[above]) > 0)


# --- decision times ---------------------------------------------------------------------------
ALPHA = 0.1


class TwoChoiceRamp:
    """Evidence c on input 0 (trial 0), input 1 (trial 1) or neither (trial 2), after 5
    fixation steps; 40 stimulus steps."""

    name = "two_choice_ramp"
    n_inputs = 2
    n_outputs = 2
    dt = 0.1

    def __init__(self, c=1.0):
        self.c = c

    def batch(self, batch_size=3, seed=None):
        inputs = torch.zeros(3, 45, 2, dtype=torch.float64)
        inputs[0, 5:, 0] = self.c
        inputs[1, 5:, 1] = self.c
        t = torch.arange(45)
        periods = {"fixation": (t < 5).expand(3, 45), "stimulus": (t >= 5).expand(3, 45)}
        return TrialBatch(inputs, torch.zeros_like(inputs), torch.ones_like(inputs),
                          periods=periods, conditions={"choice": np.array([0, 1, -1])},
                          dt=self.dt)

    def score(self, outputs, batch):
        return {"accuracy": 1.0}


def _ramp_model():
    # No recurrence: neuron group i integrates input i, x_k = c (1 - (1 - alpha)^k) after k
    # stimulus steps; output i is the mean of tanh(g x) over group i.
    model = RateRNN(2, 4, 2, dt=ALPHA, seed=0).double()
    group = np.array([0, 0, 1, 1])
    with torch.no_grad():
        model.w_rec.zero_()
        model.w_in.copy_(_tensor(np.eye(2)[group]))
        model.w_out.copy_(_tensor(np.eye(2)[group].T / 2))
        model.b_out.zero_()
    return model


def test_decision_time_of_a_leaky_integrator_shrinks_with_gain():
    # tanh(g x_k) >= theta first at k = ceil(log(1 - atanh(theta) / (g c)) / log(1 - alpha)):
    # a higher gain needs less integrated evidence, so the decision time (k dt) falls with g.
    c, theta = 1.0, 0.5
    task, model = TwoChoiceRamp(c), _ramp_model()
    batch = task.batch()
    gains = np.array([1.0, 1.5, 2.0, 3.0])
    expected = np.ceil(np.log(1 - np.arctanh(theta) / (gains * c)) / np.log(1 - ALPHA)) * 0.1
    for g, want in zip(gains, expected, strict=True):
        out = modulated(model, g)(batch.inputs).outputs
        d = decision_times(out, batch, theta)
        assert d.time[0] == pytest.approx(want) and d.time[1] == pytest.approx(want)
        assert d.step[0] == 5 + round(want / 0.1) - 1
        assert np.array_equal(d.choice[:2], [0.0, 1.0])
        assert np.isnan(d.time[2]) and d.step[2] == -1 and np.isnan(d.choice[2])
        assert list(d.decided) == [True, True, False]
    assert np.all(np.diff(expected) < 0)
    # The same read-out through a sweep, as a custom metric.
    ds = gain_sweep(model, task, gains, n_trials=3, seed=0, metric=lambda out, b: {
        "decision_time": float(np.nanmean(decision_times(out, b, theta).time))})
    assert np.allclose(ds["decision_time"].values, expected)


def test_decision_times_with_one_output_and_explicit_channels():
    model, batch = _ramp_model(), TwoChoiceRamp().batch()
    out = model(batch.inputs).outputs
    # One output: y_0 - y_1 as a single signed decision variable -> choices +1, -1.
    single = decision_times(out[..., :1] - out[..., 1:], batch, 0.3)
    assert np.array_equal(single.choice[:2], [1.0, -1.0])
    swapped = decision_times(out, batch, 0.3, channels=(1, 0))
    assert np.array_equal(swapped.choice[:2], [1.0, 0.0])
    assert np.array_equal(swapped.time, single.time, equal_nan=True)
    # A window that excludes the stimulus sees no decision.
    assert not decision_times(out, batch, 0.3, periods="fixation").decided.any()
    # PerceptualDecision's layout: fixation, choice 0, choice 1 -> the last two by default.
    task = PerceptualDecision()
    pd_batch = task.batch(8, seed=0)
    y = RateRNN(3, 16, 3, seed=0)(pd_batch.inputs).outputs
    assert np.array_equal(decision_times(y, pd_batch, 0.01).step,
                          decision_times(y, pd_batch, 0.01, channels=(1, 2)).step)


# --- bad input -----------------------------------------------------------------------------------
def test_bad_input():
    model = RateRNN(3, 8, 3, seed=0)
    task = PerceptualDecision()
    with pytest.raises(ValueError, match="gain must be a number or an array of n_neurons=8"):
        modulated(model, np.ones(5))
    with pytest.raises(ValueError, match="gain must be >= 0"):
        modulated(model, -1.0)
    with pytest.raises(ValueError, match="gain must be finite"):
        modulated(model, np.nan)
    with pytest.raises(ValueError, match="gain: unknown region 'VTA'"):
        modulated(model, {"VTA": 2.0}, regions=REGIONS)
    with pytest.raises(ValueError, match="gain: unknown region 1"):
        modulated(model, {1: 2.0}, regions=REGIONS)
    with pytest.raises(ValueError, match=r"gain\['MD'\] must be >= 0"):
        modulated(model, {"MD": -2.0}, regions=REGIONS)
    with pytest.raises(ValueError, match="one per region"):
        modulated(model, [1.0, 2.0, 3.0], regions=REGIONS)
    with pytest.raises(ValueError, match="regions must be a 1-D sequence of n_neurons=8"):
        modulated(model, 2.0, regions=REGIONS[:5])
    with pytest.raises(ValueError, match="needs regions"):
        modulated(model, {"MD": 2.0})
    with pytest.raises(ValueError, match="model must have a 1-D `gain` buffer"):
        modulated(torch.nn.Linear(2, 2), 1.0)
    with pytest.raises(ValueError, match="gains must be >= 0"):
        gain_sweep(model, task, [1.0, -0.5], n_trials=4, seed=0)
    with pytest.raises(ValueError, match="gains must be a non-empty 1-D"):
        gain_sweep(model, task, [], n_trials=4, seed=0)
    with pytest.raises(ValueError, match="gains: unknown region 'VTA'"):
        gain_sweep(model, task, {"VTA": [1.0]}, regions=REGIONS, n_trials=4, seed=0)
    with pytest.raises(ValueError, match="gains must be a non-empty mapping"):
        gain_sweep(model, task, [1.0, 2.0], regions=REGIONS, n_trials=4, seed=0)
    with pytest.raises(ValueError, match="n_trials"):
        gain_sweep(model, task, [1.0], n_trials=0, seed=0)
    with pytest.raises(ValueError, match="metric 'speed' is not returned"):
        gain_sweep(model, task, [1.0], n_trials=4, seed=0, metric="speed")
    with pytest.raises(ValueError, match="n_inputs"):
        gain_sweep(model, ConstantInput(), [1.0], n_trials=4, seed=0)
    batch = task.batch(4, seed=0)
    out = model(batch.inputs).outputs
    with pytest.raises(ValueError, match="threshold"):
        decision_times(out, batch, 0.0)
    with pytest.raises(ValueError, match="channels"):
        decision_times(out, batch, 0.1, channels=(1, 1))
    with pytest.raises(ValueError, match="outputs must have shape"):
        decision_times(out[:2], batch, 0.1)
    with pytest.raises(ValueError, match="periods: none of"):
        decision_times(out, batch, 0.1, periods=("response",))
