"""Streaming recorders agree with statistics computed from the full trajectory."""

import numpy as np
import pytest
import torch

from rnndyn.connectivity import gaussian, random_low_rank
from rnndyn.simulate import (
    Autocorrelation,
    MeanVariance,
    Network,
    Projection,
    Trajectory,
    simulate,
)


@pytest.fixture(scope="module")
def run():
    net = Network(gaussian(60, g=2.0, seed=0), phi="tanh")
    recorders = [
        "x", "rates",
        MeanVariance("x", t_start=5.0),
        MeanVariance("rates", t_start=5.0, every=3),
        Autocorrelation("x", max_lag=3.0, t_start=5.0),
        Trajectory("x", neurons=7, seed=3),
        Projection(np.random.default_rng(0).normal(size=(60, 2)), variable="rates", scale=0.5),
    ]
    ds = simulate(net, t_max=30.0, dt=0.1, batch=2, record=recorders, record_every=2,
                  seed=1, dtype=torch.float64)
    return ds, recorders


def test_mean_variance_matches_trajectory(run):
    ds, _ = run
    x = ds.x.sel(time=slice(5.0 - 1e-9, None)).values
    np.testing.assert_allclose(ds.x_mean.values, x.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(ds.x_variance.values, x.var(axis=0), atol=1e-12)
    # `every=3` sampling: every 3rd simulation step, with record_every=2 the trajectory has
    # every 2nd, so every 6th step is in both; compare on the recomputed rates instead.
    assert ds.rates_mean.attrs["n_samples"] == len(range(50, 301, 3))


def test_autocorrelation_matches_trajectory(run):
    ds, _ = run
    x = ds.x.sel(time=slice(5.0 - 1e-9, None)).values  # (T, trial, n), every 2 steps = 0.2
    lags = ds.lag.values
    np.testing.assert_allclose(lags, np.arange(16) * 0.2)
    for k in range(len(lags)):
        raw = np.einsum("tbn,tbn->b", x[k:], x[: len(x) - k]) / ((len(x) - k) * x.shape[-1])
        np.testing.assert_allclose(ds.x_autocorrelation.values[:, k], raw, rtol=1e-10)
    mean_sq = (x.mean(axis=0) ** 2).mean(axis=-1)
    np.testing.assert_allclose(ds.x_autocovariance.values[:, 0],
                               ds.x_autocorrelation.values[:, 0] - mean_sq, rtol=1e-10)


def test_subsample_and_projection_match_trajectory(run):
    ds, recorders = run
    idx = ds.sampled_neuron.values
    assert len(idx) == 7 and len(set(idx)) == 7
    np.testing.assert_array_equal(ds.x_sample.values, ds.x.values[:, :, idx])
    vectors = recorders[-1].vectors
    np.testing.assert_allclose(ds.projection.values, 0.5 * ds.rates.values @ vectors, atol=1e-12)


def test_low_rank_latents_recover_kappa():
    # Pure low-rank network started in span(M): x = M kappa exactly, so pinv(M) x = kappa.
    conn = random_low_rank(200, rank=2, seed=0)
    m = conn.left
    x0 = m @ np.array([0.5, -1.0])
    ds = simulate(Network(conn), t_max=3.0, dt=0.1, x0=x0, dtype=torch.float64,
                  record=["x", Projection.latents(conn)])
    np.testing.assert_allclose(ds.latent.values[0, 0], [0.5, -1.0], atol=1e-12)
    np.testing.assert_allclose(ds.x.values[-1, 0], m @ ds.latent.values[-1, 0], atol=1e-10)


def test_recorder_errors():
    net = Network(gaussian(10, g=1.0, seed=0))
    with pytest.raises(ValueError, match="variable"):
        MeanVariance("voltage")
    with pytest.raises(ValueError, match="t_start"):
        simulate(net, t_max=1.0, record=[MeanVariance(t_start=5.0)])
    with pytest.raises(ValueError, match="neurons"):
        simulate(net, t_max=1.0, record=[Trajectory(neurons=11)])
    with pytest.raises(ValueError, match="vectors"):
        simulate(net, t_max=1.0, record=[Projection(np.ones((9, 2)))])
    with pytest.raises(ValueError, match="low-rank"):
        Projection.latents(gaussian(10, g=1.0, seed=0))
    with pytest.raises(ValueError, match="record"):
        simulate(net, t_max=1.0, record=["x", Trajectory("x")])
