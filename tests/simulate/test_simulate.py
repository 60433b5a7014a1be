"""`simulate`: inputs, batches, reproducibility, discrete maps, datasets, bad input."""

import numpy as np
import pytest
import torch

from rnndyn import SimulationError
from rnndyn.connectivity import dense, gaussian, multiregion
from rnndyn.simulate import DiscreteNetwork, Network, Projection, simulate


def _small_net(n=30, **kwargs):
    return Network(gaussian(n, g=1.5, seed=0), **kwargs)


def test_dataset_layout_and_attributes():
    net = _small_net()
    ds = simulate(net, t_max=2.0, dt=0.1, batch=3, record=["x", "rates"], record_every=5, seed=0)
    assert ds.x.dims == ("time", "trial", "neuron")
    assert ds.x.shape == (5, 3, 30)
    np.testing.assert_allclose(ds.time.values, [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(ds.rates.values, np.tanh(ds.x.values), atol=1e-6)
    np.testing.assert_array_equal(ds.final_state.values, ds.x.values[-1])
    assert ds.attrs["rnndyn_kind"] == "simulation"
    assert ds.attrs["dt"] == 0.1 and ds.attrs["method"] == "rk4" and ds.attrs["phi"] == "tanh"
    assert '"kind": "gaussian"' in ds.attrs["parameters"]


def test_same_seed_same_result_and_noise_differs_by_seed():
    net = _small_net()
    kwargs = {"t_max": 3.0, "dt": 0.1, "noise_std": 0.3, "record": []}
    a = simulate(net, seed=5, **kwargs).final_state.values
    b = simulate(net, seed=5, **kwargs).final_state.values
    c = simulate(net, seed=6, **kwargs).final_state.values
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_batch_trials_equal_separate_runs():
    net = _small_net()
    x0 = np.random.default_rng(0).normal(size=(3, 30))
    together = simulate(net, t_max=2.0, x0=x0, batch=3, record=[], dtype=torch.float64)
    for i in range(3):
        alone = simulate(net, t_max=2.0, x0=x0[i], record=[], dtype=torch.float64)
        np.testing.assert_allclose(together.final_state.values[i], alone.final_state.values[0],
                                   atol=1e-12)


def test_constant_input_reaches_linear_fixed_point():
    # Linear network with input: fixed point x* = (I - J)^{-1} (B u + b).
    rng = np.random.default_rng(2)
    n = 15
    J = rng.normal(0, 0.5 / np.sqrt(n), (n, n))
    B = rng.normal(size=(n, 2))
    b = rng.normal(size=n)
    u = np.array([0.7, -1.2])
    net = Network(dense(J), phi="identity", input_weights=B, bias=b)
    expected = np.linalg.solve(np.eye(n) - J, B @ u + b)
    for inputs in (np.tile(u, (400, 1)), lambda t: u):
        ds = simulate(net, t_max=40.0, dt=0.1, x0=np.zeros(n), inputs=inputs, record=[],
                      dtype=torch.float64)
        # Relaxation rate >= 1 - 0.5 * (1 + ...) ~ 0.3; after t=40 the distance is < 1e-5.
        np.testing.assert_allclose(ds.final_state.values[0], expected, atol=1e-5)


def test_array_inputs_are_held_over_each_step_and_match_a_callable():
    n = 10
    net = Network(gaussian(n, g=0.9, seed=1), input_weights=np.ones((n, 1)))
    values = np.sin(np.arange(50) * 0.3)[:, None]
    held = simulate(net, t_max=5.0, dt=0.1, x0=np.zeros(n), inputs=values, record=[],
                    dtype=torch.float64)
    step_of = lambda t: values[min(int(np.floor(t / 0.1 + 1e-9)), 49)]  # noqa: E731
    # With Euler both are evaluated only at step starts, so they must agree exactly.
    a = simulate(net, t_max=5.0, dt=0.1, x0=np.zeros(n), inputs=values, record=[],
                 method="euler", dtype=torch.float64)
    b = simulate(net, t_max=5.0, dt=0.1, x0=np.zeros(n), inputs=step_of, record=[],
                 method="euler", dtype=torch.float64)
    np.testing.assert_allclose(a.final_state.values, b.final_state.values, atol=1e-14)
    assert np.abs(held.final_state.values).max() > 0.05  # the input did drive the network


def test_batched_inputs():
    n = 8
    net = Network(dense(np.zeros((n, n))), phi="identity", input_weights=np.eye(n)[:, :1])
    inputs = np.zeros((100, 2, 1))
    inputs[:, 1, 0] = 1.0
    ds = simulate(net, t_max=10.0, dt=0.1, x0=np.zeros(n), inputs=inputs, batch=2, record=[],
                  dtype=torch.float64)
    # Trial 1 relaxes to 1 - e^-10 in neuron 0, trial 0 stays at 0.
    assert ds.final_state.values[0, 0] == 0.0
    assert ds.final_state.values[1, 0] == pytest.approx(1 - np.exp(-10), abs=1e-6)


def test_discrete_network_matches_numpy_iteration():
    rng = np.random.default_rng(0)
    n = 25
    A = rng.normal(0, 1.2 / np.sqrt(n), (n, n))
    B = rng.normal(size=(n, 1))
    u = rng.normal(size=(40, 1))
    net = DiscreteNetwork(dense(A), phi="tanh", input_weights=B, bias=0.1, leak=0.3)
    x = rng.normal(size=n)
    ds = simulate(net, t_max=40, x0=x, inputs=u, dtype=torch.float64)
    for k in range(40):
        x = 0.7 * x + 0.3 * np.tanh(A @ x + B @ u[k] + 0.1)
    np.testing.assert_allclose(ds.x.values[-1, 0], x, atol=1e-12)
    assert ds.sizes["time"] == 41 and ds.attrs["method"] == "map"


def test_multiregion_dataset_has_regions_and_currents():
    conn = multiregion([20, 30], gains=[1.5, 0.5], couplings={(0, 1): 1, (1, 0): 2}, seed=0)
    net = Network(conn)
    ds = simulate(net, t_max=2.0, dt=0.1, record=["rates", Projection.currents(conn)],
                  dtype=torch.float64, seed=0)
    assert ds.sizes["region"] == 2
    np.testing.assert_array_equal(ds.region_size.values, [20, 30])
    np.testing.assert_array_equal(ds.neuron_region.values, [0] * 20 + [1] * 30)
    assert ds.current.shape == (21, 1, 3)
    _u, v = conn.couplings[(0, 1)]
    rates_source = ds.rates.values[:, 0, 20:]
    expected = rates_source @ v[:, 0] / 30
    sel = (ds.target_region == 0) & (ds.source_region == 1)
    np.testing.assert_allclose(ds.current.values[:, 0, sel.values][:, 0], expected, atol=1e-12)


def test_blow_up_is_reported_with_its_time():
    # dx/dt = -x + 3x = 2x: float32 overflows at |x| ~ 3e38, i.e. t ~ ln(3e38)/2 ~ 44.
    net = Network(dense(3.0 * np.eye(5)), phi="identity")
    with pytest.raises(SimulationError, match=r"non-finite between t=4\d(\.\d+)? and t=4\d"):
        simulate(net, t_max=100.0, dt=0.1, x0=np.ones(5), record=[])


BAD_ARGUMENTS = [
    ({"dt": 0.0}, "dt"),
    ({"dt": -0.1}, "dt"),
    ({"t_max": 0.05, "dt": 0.1}, "t_max"),
    ({"t_max": float("nan")}, "t_max"),
    ({"method": "leapfrog"}, "method"),
    ({"x0": np.full(30, np.nan)}, "x0"),
    ({"x0": np.zeros(29)}, "x0"),
    ({"x0": np.zeros((2, 30)), "batch": 3}, "x0"),
    ({"noise_std": -1.0}, "noise_std"),
    ({"noise_std": np.ones(3)}, "noise_std"),
    ({"batch": 0}, "batch"),
    ({"record_every": 0}, "record_every"),
    ({"record": ["voltage"]}, "record"),
    ({"dtype": "float16"}, "dtype"),
    ({"device": "tpu:7"}, "device"),
    ({"inputs": np.zeros((20, 1))}, "inputs"),
]


@pytest.mark.parametrize(("kwargs", "name"), BAD_ARGUMENTS)
def test_bad_arguments_name_the_parameter(kwargs, name):
    net = _small_net()
    args = {"t_max": 2.0, "dt": 0.1, **kwargs}
    with pytest.raises(ValueError, match=name):
        simulate(net, **args)


def test_bad_network_arguments():
    conn = gaussian(10, g=1.0, seed=0)
    with pytest.raises(ValueError, match="phi"):
        Network(conn, phi="softsign")
    with pytest.raises(ValueError, match="tau"):
        Network(conn, tau=0.0)
    with pytest.raises(ValueError, match="input_weights"):
        Network(conn, input_weights=np.ones((9, 2)))
    with pytest.raises(ValueError, match="bias"):
        Network(conn, bias=np.ones(3))
    with pytest.raises(ValueError, match="connectivity"):
        Network(np.ones((3, 4)))
    with pytest.raises(ValueError, match="leak"):
        DiscreteNetwork(conn, leak=1.5)
    with pytest.raises(ValueError, match="network"):
        simulate("net", t_max=1.0)
    with pytest.raises(ValueError, match="inputs"):
        simulate(Network(conn), t_max=1.0, inputs=np.zeros((10, 1)))
    with pytest.raises(ValueError, match="dt"):
        simulate(DiscreteNetwork(conn), t_max=10, dt=0.5)


def test_nan_connectivity_is_rejected():
    J = np.zeros((4, 4))
    J[1, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        Network(J)


def test_progress_bar_counts_every_step_once(monkeypatch):
    import rnndyn.simulate.run as run_module

    counted = []

    class RecordingBar:
        def __init__(self, total, **kwargs):
            self.total = total

        def update(self, k):
            counted.append(k)

        def close(self):
            pass

    monkeypatch.setattr(run_module, "tqdm", RecordingBar)
    simulate(_small_net(), t_max=20.0, dt=0.1, record=[], progress=True)
    assert sum(counted) == 200 and all(k > 0 for k in counted)
