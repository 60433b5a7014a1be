"""Participation ratio, PCA spectrum and the theory's dimension, on closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnndyn.analysis.dimension import (
    n_components,
    participation_ratio,
    pca_spectrum,
    theory_dimension,
)
from rnndyn.connectivity import gaussian
from rnndyn.simulate import Network, simulate


def _rotated(variances: np.ndarray, seed: int = 0) -> np.ndarray:
    """A covariance with the given spectrum in a random orthonormal basis."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(variances.size,) * 2))
    return (q * variances) @ q.T


def test_closed_forms_on_covariances():
    n = 20
    # Isotropic: PR = N exactly; every component explains 1/N.
    assert participation_ratio(covariance=_rotated(np.ones(n))) == pytest.approx(n, rel=1e-12)
    # Rank one: PR = 1 exactly, one component holds all the variance.
    v = np.random.default_rng(1).normal(size=n)
    assert participation_ratio(covariance=np.outer(v, v)) == pytest.approx(1.0, rel=1e-12)
    assert n_components(covariance=np.outer(v, v), fraction=0.999) == 1
    # Spectrum 4, 3, 2, 1 (rotated): PR = 10^2 / 30, explained 0.4, 0.3, 0.2, 0.1.
    c = _rotated(np.array([4.0, 3.0, 2.0, 1.0]))
    assert participation_ratio(covariance=c) == pytest.approx(100 / 30, rel=1e-12)
    spectrum = pca_spectrum(covariance=c, components=True)
    np.testing.assert_allclose(spectrum.explained, [0.4, 0.3, 0.2, 0.1], atol=1e-12)
    np.testing.assert_allclose(spectrum.cumulative, [0.4, 0.7, 0.9, 1.0], atol=1e-12)
    assert spectrum.participation_ratio == pytest.approx(100 / 30, rel=1e-12)
    # Exactly 0.7 is reached by two components (not three through rounding); 0.71 needs 3.
    assert spectrum.n_components(0.7) == 2 and spectrum.n_components(0.71) == 3
    assert spectrum.n_components(1.0) == 4
    # The components are the eigenvectors: C v_1 = 4 v_1.
    np.testing.assert_allclose(c @ spectrum.components[:, 0], 4 * spectrum.components[:, 0],
                               atol=1e-12)


def test_samples_match_their_covariance_and_the_sampling_bias():
    rng = np.random.default_rng(2)
    n, t = 10, 4000
    samples = rng.normal(size=(t, n)) @ np.diag(np.sqrt([4.0, 3, 2, 1, 1, 1, 1, 1, 1, 1]))
    centred = samples - samples.mean(axis=0)
    c = centred.T @ centred / (t - 1)
    assert participation_ratio(samples) == pytest.approx(participation_ratio(covariance=c),
                                                         rel=1e-12)
    # Isotropic samples: the sample PR is about N / (1 + N / T) (Marchenko-Pastur second
    # moment); at N = 10, T = 4000 that is 9.975, with a standard deviation of order
    # N sqrt(2 / T) / sqrt(N) ~ 0.07, so 0.3 is a > 4 sigma band.
    white = rng.normal(size=(t, n)) + 5.0
    assert participation_ratio(white) == pytest.approx(n / (1 + n / t), abs=0.3)
    # Trials are centred separately: a per-trial offset adds no dimension.
    trials = np.stack([rng.normal(size=(t, n)) + offset for offset in (0.0, 100.0)], axis=1)
    assert participation_ratio(trials) == pytest.approx(n, abs=0.3)


def test_bad_input():
    with pytest.raises(ValueError, match="samples must be finite"):
        participation_ratio(np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="exactly one"):
        participation_ratio()
    with pytest.raises(ValueError, match="exactly one"):
        pca_spectrum(np.zeros((3, 2)), covariance=np.eye(2))
    with pytest.raises(ValueError, match="samples"):
        participation_ratio(np.zeros(5))
    with pytest.raises(ValueError, match="zero variance"):
        participation_ratio(np.ones((5, 3)))
    with pytest.raises(ValueError, match="covariance must be symmetric"):
        pca_spectrum(covariance=np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="fraction"):
        n_components(covariance=np.eye(3), fraction=1.5)


def test_theory_dimension_agrees_loosely_with_a_simulation():
    torch.set_num_threads(1)
    # N = 300, g = 3, tanh. At this N the theory's PR and the simulated one differ by finite-N
    # effects that the 1/sqrt(N) theory does not capture: for this J (seed 1) 20.0 against
    # about 14, so the band is a factor 2. (The theory is most fragile when an eigenvalue of J
    # sits near the spectral edge, where a * Re(lambda) approaches 1: for seeds 0 and 3 it
    # gives 4.9 and 5.9 against 11; see docs/analysis_memory.md.)
    conn = gaussian(300, g=3.0, seed=1)
    predicted = theory_dimension(conn, "tanh")
    assert predicted == pytest.approx(20.0, rel=0.02)
    ds = simulate(Network(conn), t_max=650.0, dt=0.1, record_every=5, seed=1, progress=False)
    measured = participation_ratio(ds.x.values[100:])  # after a transient of 50
    assert 0.5 < measured / predicted < 2.0
    # Below the critical gain there is no chaotic activity for the theory to describe.
    with pytest.raises(ValueError, match="chaotic"):
        theory_dimension(gaussian(50, g=0.5, seed=0), "tanh")
