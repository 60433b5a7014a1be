"""Spectrum and fixed-point plots draw what the results hold."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Circle

from rnndyn.analysis.fixed_points import find_fixed_points_latent
from rnndyn.analysis.linear import connectivity_spectrum, jacobian_spectrum
from rnndyn.connectivity import gaussian, low_rank
from rnndyn.plot.spectra import fixed_points, spectrum
from rnndyn.simulate import DiscreteNetwork, Network


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def rank_one(n=20, seed=0):
    m = np.random.default_rng(seed).choice([-1.0, 1.0], n)
    return m, low_rank(m, 2.0 * m)


def test_spectrum_draws_eigenvalues_circle_and_outliers():
    _, lr = rank_one(50)
    spec = connectivity_spectrum(gaussian(50, g=0.5, seed=1) + lr)
    ax = spectrum(spec)
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], spec.eigenvalues.real)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 1 and circles[0].get_radius() == pytest.approx(spec.radius)
    np.testing.assert_allclose(ax.collections[1].get_offsets()[:, 0], spec.outliers.real)
    assert ax.get_title() == "spectrum of J"


def test_jacobian_spectrum_boundaries():
    m, lr = rank_one()
    ax = spectrum(jacobian_spectrum(Network(lr), 0.1 * m))
    assert any(line.get_xdata()[0] == 0.0 for line in ax.lines)  # Re = 0 line
    ax = spectrum(jacobian_spectrum(DiscreteNetwork(lr), 0.1 * m))
    assert any(isinstance(p, Circle) and p.get_radius() == 1.0 for p in ax.patches)
    with pytest.raises(ValueError, match="spec"):
        spectrum(np.zeros(3))


def test_fixed_points_plot_projects_and_labels_by_stability():
    m, lr = rank_one()
    fps = find_fixed_points_latent(Network(lr))
    _, ax = plt.subplots()
    assert fps.plot(ax=ax) is ax
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["stable (fixed, 2)", "unstable (fixed, 1)"]
    # Projection on m / |m|: the stable points at +-kappa* |m|.
    basis = np.stack([m, np.roll(m, 1)], axis=1) / np.sqrt(20)
    ax = fixed_points(fps, projection=basis, trajectories=np.ones((5, 20)))
    xs = np.sort(ax.collections[0].get_offsets()[:, 0])
    np.testing.assert_allclose(xs, np.sort(fps.points[fps.stable] @ basis[:, 0]))
    assert len(ax.lines) == 1
    with pytest.raises(ValueError, match="projection"):
        fixed_points(fps, projection=np.ones((3, 2)))
    with pytest.raises(ValueError, match="trajectories"):
        fixed_points(fps, trajectories=np.ones((5, 3)))
