"""`simulate`'s fast loop gives bitwise the general loop's results, and runs when it can."""

import numpy as np
import pytest
import torch

import rnndyn.simulate._fast as fast_module
import rnndyn.simulate._fast_steps as steps_module
import rnndyn.simulate.run as run_module
from rnndyn import SimulationError
from rnndyn.connectivity import dense, gaussian, multiregion
from rnndyn.simulate import (
    Autocorrelation,
    DiscreteNetwork,
    MeanVariance,
    Network,
    Projection,
    Recorder,
    Trajectory,
    simulate,
)

N = 12


def _both_loops(monkeypatch, network, record=("x",), **kwargs):
    """Run with the fast loop allowed and with the general loop forced; check which ran."""
    taken = []
    fast_run, general_run = fast_module.run, fast_module.run_general
    monkeypatch.setattr(fast_module, "run", lambda plan: taken.append("fast") or fast_run(plan))
    monkeypatch.setattr(fast_module, "run_general",
                        lambda plan: taken.append("general") or general_run(plan))
    # Recorders keep per-run state: build them afresh for each run.
    fresh = lambda: [r() if callable(r) else r for r in record]  # noqa: E731
    fast = simulate(network, record=fresh(), **kwargs)
    monkeypatch.setattr(run_module, "_FAST_PATH", False)
    general = simulate(network, record=fresh(), **kwargs)
    assert taken == ["fast", "general"]
    return fast, general


def _assert_bitwise_equal(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert a[name].shape == b[name].shape, name
        assert a[name].values.tobytes() == b[name].values.tobytes(), name
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def _inputs(kind, n_steps, batch, rng):
    if kind == "none":
        return None, None
    n_in = 1 if kind == "one" else 3
    weights = rng.normal(size=(N, n_in))
    shape = (n_steps, n_in) if kind != "batched" else (n_steps, batch, n_in)
    return weights, rng.normal(size=shape)


RECORDS = {
    "x": ("x",),
    "x_every_3": ("x",),
    "streaming": ("rates", lambda: MeanVariance(t_start=1.0), lambda: Autocorrelation(max_lag=1.0),
                  lambda: Trajectory("x", neurons=4, seed=0)),
    "none": (),
}


@pytest.mark.parametrize("method", ["rk4", "euler", "exp_euler"])
@pytest.mark.parametrize("inputs", ["none", "one", "several", "batched"])
@pytest.mark.parametrize("record", list(RECORDS))
def test_continuous_fast_loop_is_bitwise_the_general_loop(monkeypatch, method, inputs, record):
    rng = np.random.default_rng(0)
    batch, n_steps = 2, 30
    weights, u = _inputs(inputs, n_steps, batch, rng)
    net = Network(gaussian(N, g=1.8, seed=1), tau=1.3, input_weights=weights,
                  bias=None if inputs == "several" else 0.2)
    noise = 0.0 if method == "exp_euler" else np.linspace(0.0, 0.4, N)
    fast, general = _both_loops(
        monkeypatch, net, RECORDS[record], t_max=n_steps * 0.1, dt=0.1, method=method,
        inputs=u, noise_std=noise, batch=batch, record_every=3 if record == "x_every_3" else 1,
        seed=2)
    _assert_bitwise_equal(fast, general)


@pytest.mark.parametrize("leak", [1.0, 0.4])
@pytest.mark.parametrize("inputs", ["none", "one", "several", "batched"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_discrete_fast_loop_is_bitwise_the_general_loop(monkeypatch, leak, inputs, dtype):
    rng = np.random.default_rng(1)
    batch, n_steps = 3, 40
    weights, u = _inputs(inputs, n_steps, batch, rng)
    net = DiscreteNetwork(gaussian(N, g=1.3, seed=2), input_weights=weights, bias=0.1, leak=leak)
    fast, general = _both_loops(monkeypatch, net, ("x", "rates"), t_max=n_steps, inputs=u,
                                noise_std=0.05, batch=batch, dtype=dtype, seed=3)
    _assert_bitwise_equal(fast, general)


def test_filtered_currents_and_relu_on_both_loops(monkeypatch):
    conn = multiregion([8, 10], gains=[1.5, 0.5], couplings={(0, 1): 1, (1, 0): 2}, seed=0)
    fast, general = _both_loops(
        monkeypatch, Network(conn, phi="relu"),
        ("x", lambda: Projection.currents(conn, filtered=True)), t_max=3.0, dt=0.1,
        noise_std=0.1, seed=0)
    _assert_bitwise_equal(fast, general)


def test_drive_computed_in_several_chunks(monkeypatch):
    monkeypatch.setattr(steps_module, "DRIVE_CHUNK_BYTES", 7 * N * 8)  # 7 steps a chunk
    rng = np.random.default_rng(4)
    for n_in in (1, 2):
        net = Network(gaussian(N, g=1.5, seed=0), input_weights=rng.normal(size=(N, n_in)))
        fast, general = _both_loops(monkeypatch, net, t_max=5.0, dt=0.1,
                                    inputs=rng.normal(size=(50, n_in)), dtype=torch.float64,
                                    seed=1)
        _assert_bitwise_equal(fast, general)
        monkeypatch.setattr(run_module, "_FAST_PATH", True)


class _Collect(Recorder):
    """A custom recorder: keeps a copy of every state it is given."""

    def start(self, info):
        self.seen = []

    def update(self, step, values):
        self.seen.append(values.clone())

    def finish(self):
        return {}


def test_custom_recorder_and_callable_inputs_take_the_general_loop(monkeypatch):
    taken = []
    monkeypatch.setattr(fast_module, "run", lambda plan: taken.append("fast"))
    net = Network(gaussian(N, g=1.5, seed=0), input_weights=np.ones((N, 1)))
    collect = _Collect()
    simulate(net, t_max=1.0, record=["x", collect], seed=0)
    simulate(net, t_max=1.0, inputs=lambda t: [np.sin(t)], seed=0)
    assert taken == []
    assert len(collect.seen) == 11


def test_custom_recorder_sees_the_fast_loop_states():
    net = Network(gaussian(N, g=1.5, seed=0))
    collect = _Collect()
    general = simulate(net, t_max=2.0, record=["x", collect], noise_std=0.2, seed=5)
    fast = simulate(net, t_max=2.0, noise_std=0.2, seed=5)
    _assert_bitwise_equal(fast, general)
    np.testing.assert_array_equal(torch.stack(collect.seen).numpy(), fast.x.values)


def test_final_state_does_not_share_memory_with_the_trajectory():
    ds = simulate(DiscreteNetwork(gaussian(N, g=0.9, seed=0), leak=0.5), t_max=10, seed=0)
    assert not np.shares_memory(ds.final_state.values, ds.x.values)
    np.testing.assert_array_equal(ds.final_state.values, ds.x.values[-1])


def test_fast_loop_reports_blow_up_like_the_general_loop(monkeypatch):
    net = Network(dense(3.0 * np.eye(5)), phi="identity")
    messages = []
    for fast_path in (True, False):
        monkeypatch.setattr(run_module, "_FAST_PATH", fast_path)
        with pytest.raises(SimulationError, match="non-finite between") as error:
            simulate(net, t_max=100.0, dt=0.1, x0=np.ones(5))
        messages.append(str(error.value))
    assert messages[0] == messages[1]
