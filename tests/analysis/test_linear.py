"""Jacobians against finite differences and closed forms; spectra against exact eigenvalues."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnndyn.analysis.linear import (
    classify_stability,
    connectivity_spectrum,
    jacobian,
    jacobian_spectrum,
)
from rnndyn.connectivity import dense, gaussian, low_rank
from rnndyn.simulate import DiscreteNetwork, Network

torch.set_num_threads(1)


def finite_difference(fun, x, h=1e-6):
    """Central differences, error O(h^2) ~ 1e-12 times the third derivative (O(1) for tanh)."""
    n = len(x)
    out = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        out[:, j] = (fun(x + e) - fun(x - e)) / (2 * h)
    return out


def test_flow_jacobian_closed_form_autograd_and_finite_differences_agree():
    rng = np.random.default_rng(0)
    n = 12
    j = rng.standard_normal((n, n)) / np.sqrt(n)
    b_in, bias, u = rng.standard_normal((n, 2)), rng.standard_normal(n), np.array([0.3, -0.4])
    net = Network(dense(j), tau=2.5, input_weights=b_in, bias=bias)
    x = rng.standard_normal((3, n))

    def drift(state):
        return (-state + j @ np.tanh(state) + b_in @ u + bias) / 2.5

    closed = jacobian(net, x, u)
    auto = jacobian(net, x, u, method="autograd")
    assert closed.shape == (3, n, n)
    # Same formula in two orders of float64 arithmetic: round-off only.
    np.testing.assert_allclose(auto, closed, atol=1e-13)
    for k in range(3):
        expected = (-np.eye(n) + j * (1 - np.tanh(x[k]) ** 2)[None, :]) / 2.5
        np.testing.assert_allclose(closed[k], expected, atol=1e-14)
        np.testing.assert_allclose(closed[k], finite_difference(drift, x[k]), atol=1e-8)
    assert jacobian(net, x[0], u).shape == (n, n)


def test_map_jacobian_with_leak_matches_finite_differences():
    rng = np.random.default_rng(1)
    n, a = 10, 0.3
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    bias = 0.2 * rng.standard_normal(n)
    net = DiscreteNetwork(dense(w), leak=a, bias=bias)
    x = rng.standard_normal(n)

    def step(state):
        return (1 - a) * state + a * np.tanh(w @ state + bias)

    closed = jacobian(net, x)
    np.testing.assert_allclose(closed, jacobian(net, x, method="autograd"), atol=1e-13)
    np.testing.assert_allclose(closed, finite_difference(step, x), atol=1e-8)


def test_classify_stability_bands():
    flows = np.array([[-0.5, -1.0], [1e-9, -1.0], [0.2, -3.0]], complex)
    assert list(classify_stability(flows, discrete=False)) == ["stable", "marginal", "unstable"]
    maps = np.array([[0.5j, 0.1], [1.0 + 0j, 0.2], [-1.5, 0.0]])
    assert list(classify_stability(maps, discrete=True)) == ["stable", "marginal", "unstable"]
    # The band is set by tol: 1e-3 is marginal at tol=1e-2 but unstable at the default.
    assert classify_stability([1e-3, -1.0], discrete=False, tol=1e-2) == "marginal"
    assert classify_stability([1e-3, -1.0], discrete=False) == "unstable"


def test_low_rank_outliers_are_exact_without_bulk():
    rng = np.random.default_rng(2)
    n = 60
    m, nv = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + 1.0
    spec = connectivity_spectrum(low_rank(m, nv))
    assert spec.radius == 0.0 and spec.kind == "connectivity"
    # J = M N^T / N has the nonzero eigenvalues of N^T M / N; the others vanish.
    big = spec.eigenvalues[np.argsort(-np.abs(spec.eigenvalues))[:2]]
    np.testing.assert_allclose(np.sort_complex(big), np.sort_complex(spec.outliers), atol=1e-10)
    # At a state, the Jacobian's eigenvalues are -1 (n - 2 times) and (-1 + outliers) / tau.
    net = Network(low_rank(m, nv), tau=0.5)
    x = rng.standard_normal(n)
    js = jacobian_spectrum(net, x)
    assert js.center == -2.0 and js.radius == 0.0
    far = js.eigenvalues[np.argsort(-np.abs(js.eigenvalues + 2.0))[:2]]
    np.testing.assert_allclose(np.sort_complex(far), np.sort_complex(js.outliers), atol=1e-9)


def test_circular_law_radius_and_outlier_with_a_bulk():
    n = 200
    rng = np.random.default_rng(3)
    m = rng.standard_normal(n)
    conn = gaussian(n, g=0.7, seed=4) + low_rank(m, 2.0 * m)
    spec = connectivity_spectrum(conn)
    # Sum of N^2 squared Gaussians: relative error of g ~ 1 / (sqrt(2) N) = 0.4%; 2% is ample.
    assert spec.radius == pytest.approx(0.7, rel=2e-2)
    # Outlier: 2 |m|^2 / N, close to 2 (chi-square: sd 2 sqrt(2/N) = 0.14).
    assert spec.outliers[0].real == pytest.approx(2.0 * m @ m / n, rel=1e-12)
    # The bulk eigenvalues stay within the circle up to finite-N edge fluctuations (~N^-1/2,
    # 7% here), and exactly one eigenvalue sits near the outlier (bulk-induced shift
    # O(g / sqrt(N)) ~ 0.05; 0.2 allows 4 of them).
    rest = spec.eigenvalues[np.abs(spec.eigenvalues - spec.outliers[0]) > 0.2]
    assert len(rest) == n - 1
    assert np.max(np.abs(rest)) < 1.15 * spec.radius
    # Jacobian at a state: bulk radius g sqrt(<phi'^2>) around -1.
    net = Network(conn)
    x = rng.standard_normal(n)
    js = jacobian_spectrum(net, x)
    gain = 1 - np.tanh(x) ** 2
    assert js.radius == pytest.approx(spec.radius * np.sqrt(np.mean(gain**2)), rel=1e-12)
    assert np.max(np.abs(js.eigenvalues + 1.0)) < 1.15 * max(js.radius, abs(js.outliers[0] + 1))
    top = connectivity_spectrum(net, k=3).eigenvalues
    assert len(top) == 3
    assert top[0] == pytest.approx(spec.eigenvalues[np.argmax(np.abs(spec.eigenvalues))])


def test_map_jacobian_spectrum_centre_and_outliers():
    n, a = 40, 0.5
    m = np.random.default_rng(5).choice([-1.0, 1.0], n)
    net = DiscreteNetwork(low_rank(m, 2.0 * m), leak=a)
    x = 0.3 * m
    js = jacobian_spectrum(net, x)
    # phi' at A x = 0.6 m: sech^2(0.6) everywhere; outlier (1 - a) + a 2 sech^2(0.6).
    assert js.discrete and js.center == pytest.approx(1 - a)
    assert js.outliers[0].real == pytest.approx(1 - a + 2 * a / np.cosh(0.6) ** 2, rel=1e-12)
    assert np.max(np.abs(js.eigenvalues)) == pytest.approx(abs(js.outliers[0]), rel=1e-10)


def test_bad_input_names_the_parameter():
    net = Network(gaussian(6, g=0.5, seed=0))
    with pytest.raises(ValueError, match="x must be finite"):
        jacobian(net, np.array([0.0, np.nan, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="x must have shape"):
        jacobian(net, np.zeros(5))
    with pytest.raises(ValueError, match="method"):
        jacobian(net, np.zeros(6), method="fd")
    with pytest.raises(ValueError, match="k must be <="):
        connectivity_spectrum(net, k=7)
    with pytest.raises(ValueError, match="network"):
        jacobian("net", np.zeros(6))
    with pytest.raises(ValueError, match="u was given"):
        jacobian(net, np.zeros(6), u=[1.0])
    with pytest.raises(ValueError, match="x must be one state"):
        jacobian_spectrum(net, np.zeros((2, 6)))
