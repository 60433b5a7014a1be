"""Memory capacity against closed forms for linear networks (Jaeger 2002), and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnndyn.analysis.memory import (
    controllability_rank,
    linear_memory_function,
    memory_capacity,
    network_memory_capacity,
)
from rnndyn.connectivity import gaussian
from rnndyn.simulate import DiscreteNetwork, Network


def _drive_linear(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """States of x_{t+1} = A x_t + b u_t from x = 0, the state after u_t at row t."""
    x = np.zeros(a.shape[0])
    out = np.empty((u.size, a.shape[0]))
    for t, value in enumerate(u):
        x = a @ x + b * value
        out[t] = x
    return out


def _random_stable(n: int, radius: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    a *= radius / np.max(np.abs(np.linalg.eigvals(a)))
    return a, rng.normal(size=n)


def _band(exact: np.ndarray, result) -> np.ndarray:
    """Per-lag tolerance of a held-out r^2 around its exact value.

    Sampling: sd(r_hat) ~ (1 - r^2) / sqrt(n_test) (Fisher), so sd(r_hat^2) ~
    2 |r| (1 - r^2) / sqrt(n_test); 4 sd of it. Bias: the fitted readout misses by ~N / n_train
    of the variance and an unrelated readout scores ~1 / n_test; 3 times their sum.
    """
    sampling = 2 * np.sqrt(exact) * (1 - exact) / np.sqrt(result.n_test)
    return 4 * sampling + 3 * (result.n_features / result.n_train + 1 / result.n_test)


def test_linear_network_memory_equals_controllability_rank():
    n = 12
    # A generic random A at spectral radius 0.6. The sum over all lags is the rank exactly;
    # the lags 0..N that `memory_capacity` allows hold all but 0.04 of it for this A (a
    # larger radius leaves more beyond lag N; a smaller one makes the Gramian so ill
    # conditioned, ~1e14, that the far past is below double precision).
    a, b = _random_stable(n, 0.6, seed=1)
    assert controllability_rank(a, b) == n
    assert linear_memory_function(a, b, 300).sum() == pytest.approx(n, abs=1e-6)
    exact = linear_memory_function(a, b, n)
    assert exact.sum() == pytest.approx(n, abs=0.05)
    u = np.random.default_rng(1).uniform(-1, 1, 20000)
    result = memory_capacity(_drive_linear(a, b, u), u, n, washout=100, seed=2)
    assert np.all(np.abs(result.function - exact) < _band(exact, result))
    # Total: the 0.04 beyond lag N plus the estimation error (observed 3e-4).
    assert result.capacity == pytest.approx(n, abs=0.1)
    # Null (mean of 5 shuffles): in-sample about K N / n_train (= 13 * 12 / 15920 ~ 0.010),
    # held-out about K / n_test (~ 0.003). The lags' null values are correlated (the readouts
    # share the slow state directions), so in the worst case one shuffle's sum is
    # K chi^2_1 / n_test (resp. K chi^2_N / n_train): factors of 10 (chi^2_1 > 10 has
    # probability 0.002) and 0.2..2.5 (chi^2_12 / 12 outside it: < 0.003) bound it.
    k = result.lags.size
    assert 0.2 < result.null_capacity_train / (k * n / result.n_train) < 2.5
    assert result.null_capacity < 10 * k / result.n_test
    assert result.excess == pytest.approx(result.capacity - result.null_capacity)


def test_rank_deficient_linear_network_has_memory_equal_to_its_rank():
    # A = Q diag(d) Q^T with six eigenvalues each repeated twice: a single input reaches one
    # direction per eigenspace, so rank [b, Ab, ...] = 6 < N = 12 for any b.
    n, distinct = 12, 6
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    d = np.repeat(np.linspace(-0.5, 0.5, distinct), 2)
    a = (q * d) @ q.T
    b = rng.normal(size=n)
    assert controllability_rank(a, b) == distinct
    assert linear_memory_function(a, b, 200).sum() == pytest.approx(distinct, abs=1e-6)
    u = rng.uniform(-1, 1, 20000)
    result = memory_capacity(_drive_linear(a, b, u), u, n, washout=50, seed=4)
    exact = linear_memory_function(a, b, n)
    assert np.all(np.abs(result.function - exact) < _band(exact, result))
    # Sum of 13 lags; the per-lag errors are independent-ish, so the sum's sd is about
    # sqrt(sum sd_k^2) ~ 0.01; 0.1 is generous and still far from N = 12 (or from 5 or 7).
    assert result.capacity == pytest.approx(distinct, abs=0.1)


def test_delay_line_saturates_the_bound():
    # A shift register x_{t+1} = S x_t + e_1 u_t stores u(t-k) in unit k+1 exactly:
    # MC_k = 1 for k < N and 0 at k = N, MC = N, the largest value allowed (MC <= N).
    n = 8
    a = np.eye(n, k=-1)
    b = np.eye(n)[0]
    assert controllability_rank(a, b) == n
    u = np.random.default_rng(5).uniform(-1, 1, 3000)
    result = memory_capacity(_drive_linear(a, b, u), u, n, seed=6)
    np.testing.assert_allclose(result.function[:n], 1.0, atol=1e-9)
    # Lag N is independent of the state: held-out r^2 ~ 1 / n_test ~ 0.002 (0.02 is > 4 sd).
    assert result.function[n] < 0.02
    assert n - 1e-9 < result.capacity <= n + 0.02
    one_back = memory_capacity(_drive_linear(a, b, u), u, n, min_lag=1, null=False)
    assert one_back.lags[0] == 1 and np.all(np.isnan(one_back.null_function))


@pytest.mark.parametrize("phi,g", [("tanh", 0.5), ("tanh", 0.95), ("tanh", 1.5)])
def test_nonlinear_networks_respect_the_bound(phi, g):
    torch.set_num_threads(1)
    n = 20
    rng = np.random.default_rng(7)
    net = DiscreteNetwork(gaussian(n, g=g, seed=8), phi=phi,
                          input_weights=rng.choice([-1.0, 1.0], size=(n, 1)))
    result = network_memory_capacity(net, n, n_samples=3000, washout=100, seed=9)
    # MC <= N (Jaeger 2002), held-out and in-sample; the estimation slack is the null's size.
    assert result.capacity <= n + 3 * result.lags.size / result.n_test
    assert result.capacity_train <= n + result.null_capacity_train
    assert np.all((result.function >= 0) & (result.function <= 1))
    assert result.capacity > 5 * result.null_capacity  # some memory, well above the bias


def test_network_memory_capacity_matches_the_linear_closed_form():
    torch.set_num_threads(1)
    n = 10
    a, b = _random_stable(n, 0.7, seed=10)
    linear = DiscreteNetwork(a, phi="identity", input_weights=b[:, None])
    result = network_memory_capacity(linear, n, n_samples=6000, washout=100, seed=11)
    exact = linear_memory_function(a, b, n)
    assert np.all(np.abs(result.function - exact) < _band(exact, result))
    # Leaky map: x_{t+1} = (1 - l) x + l (A x + b u) is linear with (1 - l) I + l A and l b.
    leak = 0.5
    leaky = DiscreteNetwork(a, phi="identity", input_weights=b[:, None], leak=leak)
    effective = (1 - leak) * np.eye(n) + leak * a
    result = network_memory_capacity(leaky, n, n_samples=6000, washout=200, seed=12)
    exact = linear_memory_function(effective, leak * b, n)
    assert np.all(np.abs(result.function - exact) < _band(exact, result))
    # A continuous network sampled once per unit of time also holds memory, at most N
    # (RK4 with dt = 0.25 is accurate to ~1e-4 at tau = 1, plenty for this check).
    cont = Network(gaussian(n, g=0.5, seed=13), input_weights=b[:, None])
    result = network_memory_capacity(cont, n, n_samples=800, washout=50, dt=0.25, seed=14)
    assert 1.0 < result.capacity <= n


def test_bad_input_names_the_parameter():
    rng = np.random.default_rng(15)
    x = rng.normal(size=(500, 5))
    u = rng.normal(size=500)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="states must be finite"):
        memory_capacity(bad, u, 3)
    with pytest.raises(ValueError, match="inputs must be finite"):
        memory_capacity(x, np.where(np.arange(500) == 7, np.inf, u), 3)
    with pytest.raises(ValueError, match="max_lag must be <= the number of state variables"):
        memory_capacity(x, u, 6)
    with pytest.raises(ValueError, match="min_lag"):
        memory_capacity(x, u, 3, min_lag=4)
    with pytest.raises(ValueError, match="states: 30 time points are too few"):
        memory_capacity(x[:30], u[:30], 5)
    with pytest.raises(ValueError, match="too few for max_lag=5, washout=490"):
        memory_capacity(x, u, 5, washout=490)
    with pytest.raises(ValueError, match="inputs must have one value per time point"):
        memory_capacity(x, u[:-1], 3)
    with pytest.raises(ValueError, match="inputs must vary"):
        memory_capacity(x, np.ones(500), 3)
    with pytest.raises(ValueError, match="train_fraction"):
        memory_capacity(x, u, 3, train_fraction=1.0)
    with pytest.raises(ValueError, match="ridge"):
        memory_capacity(x, u, 3, ridge=-1.0)
    with pytest.raises(ValueError, match="spectral radius"):
        linear_memory_function(2 * np.eye(3), np.ones(3), 2)
    with pytest.raises(ValueError, match="input_weights"):
        controllability_rank(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="one input channel"):
        network_memory_capacity(DiscreteNetwork(np.eye(3) * 0.5), 2)
