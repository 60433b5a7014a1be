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


def _rotating_multiregion(tau: float = 1.0):
    """R = 2, no disorder, a rotation-like tensor: the currents oscillate, so H != S."""
    from rnndyn.models import MultiRegionModel

    t = np.zeros((2, 2, 2))
    t[0, 0] = (1.6, 1.2)
    t[0, 1] = (-2.0, 2.6)
    t[1, 0] = (1.5, 0.7)
    t[1, 1] = (-1.2, 1.6)
    model = MultiRegionModel((150, 150), 0.0, t, np.stack([np.eye(2)] * 2))
    return model.network(seed=3, tau=tau)


@pytest.mark.parametrize("tau", [1.0, 2.0])
def test_filtered_currents_are_the_coordinates_along_the_input_loadings(tau):
    # Without disorder and started in span(U_big), x = U_big S exactly, where S solves
    # tau dS/dt = -S + H: the filtered readout must equal pinv(U_big) x. The filter is second
    # order in dt (exact for H linear over a step), so halving dt must cut the error ~4x.
    net = _rotating_multiregion(tau)
    conn = net.connectivity
    u_big = conn.input_vectors()
    start = np.array([0.8, -0.3, 0.5, 0.9])
    errors = []
    for dt in (0.04, 0.02):
        ds = simulate(net, t_max=6.0, dt=dt, x0=u_big @ start, dtype=torch.float64,
                      record=["x", Projection.currents(conn, filtered=True, initial=start)],
                      record_every=round(0.2 / dt), progress=False)
        assert ds.current.attrs["filtered"] == 1 and ds.current.attrs["filter_tau"] == tau
        latent = ds.x.values[:, 0] @ np.linalg.pinv(u_big).T
        np.testing.assert_allclose(ds.current.values[0, 0], start, atol=1e-12)
        errors.append(np.max(np.abs(ds.current.values[:, 0] - latent)))
        # The instantaneous readout differs (H = S + tau dS/dt): the test can fail.
        assert np.ptp(latent, axis=0).min() > 0.1
    assert errors[0] < 1e-3
    assert 3.0 < errors[0] / errors[1] < 5.0


def test_filtered_currents_do_not_depend_on_sampling():
    net = _rotating_multiregion()
    conn = net.connectivity
    fine, coarse = (Projection.currents(conn, every=e, filtered=True, name=f"s{e}")
                    for e in (1, 5))
    ds = simulate(net, t_max=3.0, dt=0.05, x0=conn.input_vectors() @ np.ones(4),
                  dtype=torch.float64, record=[fine, coarse], progress=False)
    np.testing.assert_allclose(ds.s5.values, ds.s1.values[::5], atol=1e-13)
    # Default start: S(0) = H(0).
    instantaneous = simulate(net, t_max=0.0 + 0.05, dt=0.05, x0=conn.input_vectors()
                             @ np.ones(4), dtype=torch.float64,
                             record=[Projection.currents(conn)], progress=False)
    np.testing.assert_allclose(ds.s1.values[0], instantaneous.current.values[0], atol=1e-13)


def test_filtered_projection_errors():
    from rnndyn.simulate import DiscreteNetwork

    with pytest.raises(ValueError, match="initial"):
        Projection(np.ones((10, 2)), initial=np.zeros(2))
    with pytest.raises(ValueError, match="filter_tau"):
        Projection(np.ones((10, 2)), filter_tau=-1.0)
    with pytest.raises(ValueError, match="initial"):
        Projection(np.ones((10, 2)), filter_tau=1.0, initial=np.zeros(3))
    with pytest.raises(ValueError, match="continuous-time"):
        simulate(DiscreteNetwork(gaussian(10, g=0.5, seed=0)), t_max=3,
                 record=[Projection(np.ones((10, 2)), filter_tau=1.0)])
    net = Network(gaussian(10, g=0.5, seed=0))
    with pytest.raises(ValueError, match="batch"):
        simulate(net, t_max=1.0, batch=2,
                 record=[Projection(np.ones((10, 2)), filter_tau=1.0, initial=np.zeros((3, 2)))])
