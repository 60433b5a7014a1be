"""Reservoir readouts: ridge regression against lstsq, a delayed copy, FORCE (RLS) learning."""

import numpy as np
import pytest
import torch

from rnndyn.train import RateRNN, TrialBatch, fit_readout, force_train

torch.set_num_threads(1)


class DelayedCopy:
    """White-noise input u_t ~ U(-1, 1); target u_{t - delay} (unscored for t < delay)."""

    name = "delayed_copy"
    n_inputs = 1
    n_outputs = 1
    dt = 1.0

    def __init__(self, delay: int = 3, n_time: int = 300) -> None:
        self.delay, self.n_time = delay, n_time

    def batch(self, batch_size, seed=None):
        u = np.random.default_rng(seed).uniform(-1, 1, (batch_size, self.n_time, 1))
        target = np.zeros_like(u)
        target[:, self.delay:] = u[:, :-self.delay]
        mask = np.ones_like(u)
        mask[:, :self.delay] = 0.0
        t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        return TrialBatch(t(u), t(target), t(mask), dt=self.dt)

    def score(self, outputs, batch):
        return {}


class Sine:
    """No input; target sin(2 pi t dt / period): pattern generation for FORCE."""

    name = "sine"
    n_inputs = 1
    n_outputs = 1
    dt = 0.1

    def __init__(self, n_time: int, period: float = 10.0) -> None:
        self.n_time, self.period = n_time, period

    def target(self, start, n_time):
        return np.sin(2 * np.pi * (start + np.arange(n_time)) * self.dt / self.period)

    def batch(self, batch_size, seed=None):
        y = torch.as_tensor(self.target(0, self.n_time), dtype=torch.float32)
        y = y[None, :, None].repeat(batch_size, 1, 1)
        return TrialBatch(torch.zeros(batch_size, self.n_time, 1), y, torch.ones_like(y),
                          dt=self.dt)

    def score(self, outputs, batch):
        return {}


def test_ridge_readout_equals_lstsq_on_the_same_design():
    model = RateRNN(2, 30, 2, g=1.2, train_recurrent=False, seed=0).double()
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((4, 60, 2))
    targets = rng.standard_normal((4, 60, 2))
    mask = rng.uniform(0, 1, (4, 60, 2)) * (rng.random((4, 60, 2)) < 0.8)  # per-output weights
    ridge, washout = 1e-2, 5
    fit = fit_readout(model, (inputs, targets, mask), ridge=ridge, washout=washout)
    with torch.no_grad():
        rates = model(torch.as_tensor(inputs)).rates[:, washout:].reshape(-1, 30).numpy()
    design = np.hstack([rates, np.ones((rates.shape[0], 1))])
    for o in range(2):
        root = np.sqrt(mask[:, washout:, o].reshape(-1))
        # Ridge as extra rows sqrt(ridge) [I 0] with zero targets; the bias is not penalised.
        a = np.vstack([design * root[:, None], np.sqrt(ridge) * np.eye(31)[:30]])
        b = np.r_[targets[:, washout:, o].reshape(-1) * root, np.zeros(30)]
        expected = np.linalg.lstsq(a, b, rcond=None)[0]
        np.testing.assert_allclose(fit.w_out[o], expected[:30], rtol=0, atol=1e-8)
        np.testing.assert_allclose(fit.b_out[o], expected[30], rtol=0, atol=1e-8)
    np.testing.assert_array_equal(model.w_out.detach().numpy(), fit.w_out)


def test_reservoir_learns_a_delayed_copy():
    task = DelayedCopy(delay=3)
    model = RateRNN(1, 200, 1, dt=1.0, g=0.9, input_scale=0.5, train_recurrent=False, seed=0)
    fit = fit_readout(model, task, ridge=1e-4, washout=20, batch_size=8, seed=1)
    assert fit.n_samples == 8 * 280
    test = task.batch(4, seed=2)
    with torch.no_grad():
        y = model(test.inputs).outputs[:, 20:, 0].numpy()
    target = test.targets[:, 20:, 0].numpy()
    nmse = np.mean((y - target) ** 2) / np.var(target)
    assert nmse < 0.05


def test_force_generates_a_sine_with_output_feedback():
    # N = 300 and 30 periods of training: the continuation error is < 2e-3 for every seed
    # tried (N = 200 and 25 periods failed for one in six).
    task = Sine(n_time=3000)
    model = RateRNN(1, 300, 1, g=1.5, train_recurrent=False, seed=0)
    result = force_train(model, task, feedback=True, alpha_rls=1.0, seed=1)
    assert result.feedback_weights.shape == (300, 1)
    assert result.mse[0] < 1e-2
    # The feedback loop is folded into W: the plain forward now runs the closed loop on its own.
    with torch.no_grad():
        y = model(torch.zeros(1, 500, 1), x0=result.final_state).outputs[0, :, 0].numpy()
    assert np.mean((y - task.target(3000, 500)) ** 2) < 0.01


def test_rls_without_feedback_is_regularised_least_squares():
    # P_0 = I / alpha_rls and w_0 = 0: after one pass RLS minimises
    # sum m (r.w - y)^2 + alpha_rls |[w, c]|^2 exactly (the bias is penalised too).
    task = DelayedCopy(delay=2, n_time=80)
    model = RateRNN(1, 25, 1, dt=1.0, g=0.9, seed=0).double()
    model.w_out.data.zero_()
    model.b_out.data.zero_()
    batch = task.batch(3, seed=np.random.default_rng(5))
    force_train(model, task, batch_size=3, alpha_rls=0.5, seed=5)
    with torch.no_grad():
        fresh = RateRNN(1, 25, 1, dt=1.0, g=0.9, seed=0).double()
        rates = fresh(batch.inputs.double()).rates.reshape(-1, 25).numpy()
    x = np.hstack([rates, np.ones((rates.shape[0], 1))])
    m = batch.mask.reshape(-1).numpy()
    y = batch.targets.reshape(-1).numpy()
    expected = np.linalg.solve(x.T @ (m[:, None] * x) + 0.5 * np.eye(26), x.T @ (m * y))
    np.testing.assert_allclose(model.w_out.detach().numpy()[0], expected[:25], atol=1e-8)
    np.testing.assert_allclose(float(model.b_out.detach()), expected[25], atol=1e-8)


def test_bad_arguments():
    model = RateRNN(1, 10, 1, seed=0)
    task = DelayedCopy(n_time=20)
    with pytest.raises(ValueError, match="washout"):
        fit_readout(model, task, washout=20)
    with pytest.raises(ValueError, match="ridge"):
        fit_readout(model, task, ridge=-1.0)
    with pytest.raises(ValueError, match="targets and mask must have shape"):
        fit_readout(model, (np.zeros((2, 5, 1)), np.zeros((2, 5, 2))))
    with pytest.raises(ValueError, match="n_inputs=1, n_outputs=1 but the model has n_inputs=2"):
        fit_readout(RateRNN(2, 10, 1, seed=0), task)
    with pytest.raises(ValueError, match="feedback=True"):
        force_train(RateRNN(1, 10, 1, rank=2, seed=0), task, feedback=True)
    with pytest.raises(ValueError, match="alpha_rls"):
        force_train(model, task, alpha_rls=0.0)
