"""Estimators of covariance matrices and of the linear response, on cases with exact answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from rnndyn.analysis import (
    covariance_from_samples,
    matrix_agreement,
    measure_response,
)
from rnndyn.connectivity import dense, gaussian
from rnndyn.simulate import DiscreteNetwork, Network


def test_covariance_from_samples_matches_the_definition():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(400, 5)).cumsum(axis=0) * 0.1 + 3.0
    centred = samples - samples.mean(axis=0)
    np.testing.assert_allclose(covariance_from_samples(samples), centred.T @ centred / 400,
                               rtol=1e-12)
    lagged = covariance_from_samples(samples, lag=3)
    np.testing.assert_allclose(lagged, centred[3:].T @ centred[:-3] / 397, rtol=1e-12)
    halves = covariance_from_samples(samples, blocks=2)
    assert halves.shape == (2, 5, 5)
    np.testing.assert_allclose(halves[1], centred[200:].T @ centred[200:] / 200, rtol=1e-12)
    # The halves average to the whole (same means, equal lengths).
    np.testing.assert_allclose(halves.mean(axis=0), covariance_from_samples(samples),
                               rtol=1e-12)


def test_covariance_from_samples_errors():
    with pytest.raises(ValueError, match="samples"):
        covariance_from_samples(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        covariance_from_samples(np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="too few"):
        covariance_from_samples(np.zeros((5, 2)), lag=2, blocks=2)
    with pytest.raises(ValueError, match="lag"):
        covariance_from_samples(np.zeros((5, 2)), lag=-1)


def test_matrix_agreement():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 30))
    perfect = matrix_agreement(a, a)
    assert perfect.correlation == pytest.approx(1.0) and perfect.relative_error == 0.0
    assert perfect.slope == pytest.approx(1.0) and perfect.n_entries == 870
    scaled = matrix_agreement(a, 2 * a, part="all")
    assert scaled.slope == pytest.approx(2.0) and scaled.relative_error == pytest.approx(0.5)
    assert matrix_agreement(np.zeros((30, 30)), a).relative_error == pytest.approx(1.0)
    noisy = matrix_agreement(a, a + rng.normal(size=a.shape), part="diagonal")
    assert noisy.n_entries == 30 and 0.3 < noisy.correlation < 0.95
    with pytest.raises(ValueError, match="shape"):
        matrix_agreement(a, a[:3])
    with pytest.raises(ValueError, match="part"):
        matrix_agreement(a, a, part="upper")
    with pytest.raises(ValueError, match="square"):
        matrix_agreement(a[:, :4], a[:, :4])
    assert matrix_agreement(a[:, :4], a[:, :4], part="all").n_entries == 120
    with pytest.raises(ValueError, match="zero"):
        matrix_agreement(a, np.eye(30))
    with pytest.raises(ValueError, match="real"):
        matrix_agreement(a + 0j, a)


def test_measure_response_of_a_linear_network_is_the_matrix_exponential():
    # phi = identity: d(delta x)/dt = -(I - J) delta x exactly, whatever the state, so the
    # finite-difference propagator is expm(-(I - J) tau) up to RK4's O(dt^4) error (~1e-7
    # at dt = 0.05) and float64 rounding / eps (~1e-10).
    conn = gaussian(30, g=0.6, seed=2)
    j = conn.to_dense()
    net = Network(conn, phi="identity")
    estimate = measure_response(net, [0.5, 2.0], n_windows=3, spacing=1.0, t_transient=0.0,
                                seed=0, units=[0, 7], keep_windows=True)
    assert estimate.response.shape == (2, 30, 2) and estimate.per_window.shape == (3, 2, 30, 2)
    for k, tau in enumerate(estimate.lags):
        exact = scipy.linalg.expm(-(np.eye(30) - j) * tau)[:, [0, 7]]
        np.testing.assert_allclose(estimate.response[k], exact, atol=1e-6)
    np.testing.assert_allclose(estimate.standard_error, 0.0, atol=1e-6)


def test_measure_response_errors():
    net = Network(dense(np.eye(4) * 0.5))
    with pytest.raises(ValueError, match="lags"):
        measure_response(net, [0.0])
    with pytest.raises(ValueError, match="units"):
        measure_response(net, [1.0], units=[4])
    with pytest.raises(ValueError, match="continuous-time"):
        measure_response(DiscreteNetwork(dense(np.eye(4) * 0.5)), [1.0])
