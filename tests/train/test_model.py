"""`RateRNN`: shapes, parametrisations, conversion to the simulator, noise, files, bad input."""

import numpy as np
import pytest
import torch

from rnndyn.connectivity import DaleConnectivity, LowRankConnectivity
from rnndyn.simulate import DiscreteNetwork, Network, simulate
from rnndyn.train import RateRNN, RNNOutput

torch.set_num_threads(1)


def test_forward_shapes_and_initial_state():
    model = RateRNN(3, 20, 2, seed=0)
    out = model(torch.randn(4, 15, 3))
    assert isinstance(out, RNNOutput)
    assert out.outputs.shape == (4, 15, 2)
    assert out.rates.shape == out.states.shape == (4, 15, 20)
    torch.testing.assert_close(out.rates, torch.tanh(out.states))
    torch.testing.assert_close(out.outputs, out.rates @ model.w_out.T + model.b_out)
    x0 = torch.randn(20)
    a, b = model(torch.zeros(2, 5, 3), x0=x0), model(torch.zeros(2, 5, 3), x0=x0.repeat(2, 1))
    torch.testing.assert_close(a.states, b.states)


def test_first_step_is_the_euler_update():
    model = RateRNN(2, 10, 1, dt=0.2, tau=0.5, seed=1).double()
    u = torch.randn(3, 1, 2, dtype=torch.float64)
    x0 = torch.randn(3, 10, dtype=torch.float64)
    alpha = 0.2 / 0.5
    w = model.recurrent_weights
    expected = (1 - alpha) * x0 + alpha * (torch.tanh(x0) @ w.T + u[:, 0] @ model.w_in.T
                                           + model.bias)
    torch.testing.assert_close(model(u, x0=x0).states[:, 0], expected)


def test_same_seed_same_weights_and_noise_by_seed():
    a, b = RateRNN(2, 15, 1, seed=3), RateRNN(2, 15, 1, seed=3)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(pa, pb), name
    a.noise_std = 0.5
    u = torch.zeros(2, 10, 2)
    n1, n2, n3 = a(u, noise_seed=7), a(u, noise_seed=7), a(u, noise_seed=8)
    torch.testing.assert_close(n1.states, n2.states)
    assert not torch.allclose(n1.states, n3.states)


def test_noise_is_the_stationary_std_of_uncoupled_neurons():
    # W = 0, no input: x is an AR(1) process with variance s^2 / (1 - alpha / 2).
    model = RateRNN(1, 50, 1, g=0.0, dt=0.1, noise_std=0.7, seed=0)
    with torch.no_grad():
        states = model(torch.zeros(40, 400, 1), noise_seed=1).states[:, 100:]
    expected = 0.7**2 / (1 - 0.05)
    assert float(states.var()) == pytest.approx(expected, rel=0.05)


def test_dale_signs_and_balanced_initialisation():
    model = RateRNN(1, 200, 1, dale=0.8, g=1.0, seed=0)
    w = model.recurrent_weights.detach().numpy()
    sign = model.sign.numpy()
    assert np.all(sign[:160] == 1) and np.all(sign[160:] == -1)
    assert np.all(w * sign[None, :] >= 0)
    # Balanced E/I: each row's expected input is zero, so no outlier of order sqrt(N) * g.
    assert np.max(np.abs(np.linalg.eigvals(w))) < 1.5
    assert np.mean(w**2) * 200 == pytest.approx(1.0, rel=0.1)


def test_low_rank_has_rank_at_most_r_and_bulk_adds_to_it():
    model = RateRNN(1, 40, 1, rank=2, seed=0).double()  # float64: float32 rounding has full rank
    assert np.linalg.matrix_rank(model.recurrent_weights.detach().numpy()) <= 2
    assert model.w_rec is None and model.m.shape == model.n_vecs.shape == (40, 2)
    bulk = RateRNN(1, 40, 1, rank=2, bulk_g=0.5, seed=0)
    torch.testing.assert_close(bulk.recurrent_weights,
                               bulk.m @ bulk.n_vecs.T / 40 + bulk.bulk)
    assert not bulk.bulk.requires_grad


def test_mask_zeroes_weights_and_scales_initialisation():
    rng = np.random.default_rng(0)
    mask = (rng.random((100, 100)) < 0.2).astype(float)
    model = RateRNN(1, 100, 1, mask=mask, seed=0)
    w = model.recurrent_weights.detach().numpy()
    assert np.all(w[mask == 0] == 0)
    # N(0, g^2/(N p)) on the kept entries: sum of squares ~ g^2 N.
    assert np.sum(w**2) / 100 == pytest.approx(1.0, rel=0.15)


def test_train_flags_and_buffers():
    model = RateRNN(2, 10, 1, train_input=False, train_readout=False, train_tau=True,
                    tau=np.linspace(1, 2, 10), coordinates=np.zeros((10, 3)), seed=0)
    assert not model.w_in.requires_grad and not model.w_out.requires_grad
    assert model.w_rec.requires_grad and model.bias.requires_grad
    assert model.log_tau.requires_grad and model.tau.shape == (10,)
    buffers = dict(model.named_buffers())
    assert set(buffers) == {"gain", "coordinates"}
    torch.testing.assert_close(model.gain, torch.ones(10))


def test_gain_is_neuromodulation_of_phi():
    model = RateRNN(1, 12, 1, seed=0)
    u = torch.randn(2, 8, 1)
    base = model(u)
    model.gain.fill_(2.0)
    modulated = model(u)
    torch.testing.assert_close(modulated.rates, torch.tanh(2.0 * modulated.states))
    assert not torch.allclose(base.states, modulated.states)


def _compare_with_simulate(model, batch=3, n_time=40, seed=0):
    model = model.double()
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((batch, n_time, model.n_inputs))
    x0 = rng.standard_normal((batch, model.n_neurons))
    with torch.no_grad():
        out = model(torch.as_tensor(u), x0=torch.as_tensor(x0))
    net = model.to_network()
    if isinstance(net, DiscreteNetwork):
        # The map's state is the rate: start from phi(gain x0), compare the rates.
        r0 = model.rates_of(torch.as_tensor(x0)).detach().numpy()
        ds = simulate(net, t_max=n_time, x0=r0, inputs=u.transpose(1, 0, 2), batch=batch,
                      dtype="float64")
        expected = out.rates
    else:
        ds = simulate(net, t_max=n_time * model.dt, dt=model.dt, method="euler", x0=x0,
                      inputs=u.transpose(1, 0, 2), batch=batch, dtype="float64")
        expected = out.states
    # Same Euler update in float64, evaluated in another order: rounding only (1e-12 after
    # 40 steps of a contracting-to-mildly-chaotic network).
    np.testing.assert_allclose(ds.x.values[1:], expected.numpy().transpose(1, 0, 2), atol=1e-10)
    return net


@pytest.mark.parametrize("kwargs, kind, conn_type", [
    ({}, Network, None),
    ({"dale": 0.75}, Network, DaleConnectivity),
    ({"rank": 2}, Network, LowRankConnectivity),
    ({"rank": 1, "bulk_g": 0.8}, Network, None),
    ({"mask": np.tri(25)}, Network, None),
    ({"gain": np.linspace(0.5, 2.0, 25)}, Network, None),
    ({"gain": 1.5, "tau": 2.0}, Network, None),
    ({"dt": 1.0, "tau": 1.0}, DiscreteNetwork, None),
    ({"dt": 1.0, "tau": 1.0, "gain": np.linspace(0.5, 2.0, 25)}, DiscreteNetwork, None),
])
def test_to_network_reproduces_forward(kwargs, kind, conn_type):
    model = RateRNN(2, 25, 1, g=1.5, seed=4, **kwargs)
    net = _compare_with_simulate(model)
    assert type(net) is kind
    if conn_type is not None:
        assert isinstance(net.connectivity, conn_type)


def test_to_network_in_float32_agrees_to_float32_rounding():
    model = RateRNN(2, 30, 1, g=1.2, seed=2)
    u = torch.randn(2, 50, 2)
    with torch.no_grad():
        states = model(u).states
    ds = simulate(model.to_network(), t_max=5.0, dt=0.1, method="euler", x0=np.zeros(30),
                  inputs=u.numpy().transpose(1, 0, 2), batch=2)
    np.testing.assert_allclose(ds.x.values[1:], states.numpy().transpose(1, 0, 2), atol=1e-5)


def test_to_network_refuses_per_neuron_tau_and_bad_kind():
    model = RateRNN(1, 5, 1, tau=[1, 1, 2, 2, 3], seed=0)
    with pytest.raises(ValueError, match="per-neuron tau"):
        model.to_network()
    with pytest.raises(ValueError, match="alpha"):
        RateRNN(1, 5, 1, seed=0).to_network("discrete")
    with pytest.raises(ValueError, match="kind"):
        model.to_network("map")
    assert isinstance(RateRNN(1, 5, 1, dt=1.0, seed=0).to_network("continuous"), Network)


def test_save_load_round_trip(tmp_path):
    model = RateRNN(2, 16, 3, dale=0.5, mask=np.ones((16, 16)) - np.eye(16),
                    tau=np.linspace(1, 2, 16), train_tau=True, coordinates=np.ones((16, 3)),
                    noise_std=0.1, phi="relu", seed=5)
    model.gain.mul_(1.3)
    path = model.save(tmp_path / "model.pt")
    loaded = RateRNN.load(path)
    assert loaded.config == model.config
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    u = torch.randn(2, 6, 2)
    torch.testing.assert_close(loaded(u, noise_seed=1).outputs, model(u, noise_seed=1).outputs)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    RateRNN(1, 8, 1, seed=0).save(path)
    before = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        RateRNN(1, 8, 1, seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.parametrize("kwargs, match", [
    ({"n_neurons": 0}, "n_neurons"),
    ({"tau": 0.05}, "tau must be >= dt"),
    ({"tau": -1.0}, "tau"),
    ({"rank": 2, "dale": 0.8}, "dale and rank"),
    ({"bulk_g": 1.0}, "bulk_g needs rank"),
    ({"rank": 11}, "rank"),
    ({"dale": 1.5}, "dale"),
    ({"dale": 0.01}, "excitatory"),
    ({"mask": np.full((10, 10), 0.5)}, "mask must contain only 0 and 1"),
    ({"mask": np.ones((9, 9))}, "mask must have shape"),
    ({"phi": "sigmoidal"}, "phi"),
    ({"coordinates": np.zeros((10, 4))}, "coordinates"),
    ({"seed": -1}, "seed"),
])
def test_bad_constructor_arguments(kwargs, match):
    args = {"n_inputs": 1, "n_neurons": 10, "n_outputs": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        RateRNN(**args)


def test_bad_forward_arguments():
    model = RateRNN(2, 10, 1, seed=0)
    with pytest.raises(ValueError, match="inputs must have shape"):
        model(torch.zeros(3, 5, 3))
    with pytest.raises(ValueError, match="inputs must have shape"):
        model(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="x0 must have shape"):
        model(torch.zeros(3, 5, 2), x0=torch.zeros(2, 10))
