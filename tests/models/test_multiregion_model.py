"""The multiregion model builder: drawn loadings realise (T, U); the spectrum follows T_hat."""

from __future__ import annotations

import numpy as np
import pytest

from rnndyn.models import MultiRegionModel, draw_multiregion_loadings
from rnndyn.theory.multiregion import effective_interaction_matrix


def _random_tensors(r: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = np.empty((r, r, r))
    for nu in range(r):
        a = rng.standard_normal((r, r))
        u[nu] = a @ a.T / r + 0.5 * np.eye(r)
    return rng.standard_normal((r, r, r)), u


def _empirical(loadings, sizes):
    r = len(sizes)
    t = np.empty((r, r, r))
    u = np.empty((r, r, r))
    for nu in range(r):
        for mu in range(r):
            for rho in range(r):
                t[mu, nu, rho] = loadings[(mu, nu)][1] @ loadings[(nu, rho)][0] / sizes[nu]
                u[nu, mu, rho] = loadings[(nu, mu)][0] @ loadings[(nu, rho)][0] / sizes[nu]
    return t, u


@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_drawn_overlaps_realise_t_and_u(noise):
    sizes = (20000, 15000, 25000)
    t, u = _random_tensors(3, 0)
    loadings = draw_multiregion_loadings(sizes, t, u, readout_noise=noise, seed=1)
    t_hat, u_hat = _empirical(loadings, sizes)
    # Sample overlaps of N i.i.d. Gaussian pairs deviate by ~ sqrt(<a^2><b^2> / N); 6 standard
    # deviations of the largest scale (|T| ~ 3, N = 15000: 0.05) bound every entry.
    scale = np.sqrt(1 + noise) * 3.0
    assert np.abs(t_hat - t).max() < 6 * scale / np.sqrt(15000)
    assert np.abs(u_hat - u).max() < 6 * 2.0 / np.sqrt(15000)


@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_exact_overlaps_are_realised_to_rounding(noise):
    # overlaps="exact" orthonormalises the Gaussian draws: the sample overlaps equal (T, U)
    # up to float64 rounding (~1e-15 per product, summed over N terms -> 1e-12 margin), while
    # "sampled" ones at the same N deviate by ~ 1/sqrt(N) ~ 0.1 (so the test can fail).
    sizes = (60, 80, 70)
    t, u = _random_tensors(3, 5)
    exact = _empirical(draw_multiregion_loadings(sizes, t, u, readout_noise=noise,
                                                 overlaps="exact", seed=2), sizes)
    sampled = _empirical(draw_multiregion_loadings(sizes, t, u, readout_noise=noise, seed=2),
                         sizes)
    np.testing.assert_allclose(exact[0], t, atol=1e-12)
    np.testing.assert_allclose(exact[1], u, atol=1e-12)
    assert np.abs(sampled[0] - t).max() > 0.05
    # The readout noise is orthogonal to the m's and has variance `noise` exactly.
    loadings = draw_multiregion_loadings(sizes, t, u, readout_noise=noise, overlaps="exact",
                                         seed=2)
    n0 = np.column_stack([loadings[(mu, 0)][1] for mu in range(3)])
    m0 = np.column_stack([loadings[(0, rho)][0] for rho in range(3)])
    coefficients = t[:, 0, :] @ np.linalg.inv(u[0])
    residual = n0 - m0 @ coefficients.T
    np.testing.assert_allclose(residual.T @ residual / sizes[0], noise * np.eye(3), atol=1e-12)
    # The model draws the same loadings from the same seed.
    model = MultiRegionModel(sizes, 0.0, t, u, readout_noise=noise, overlaps="exact")
    conn = model.connectivity(seed=2)
    np.testing.assert_allclose(conn.couplings[(0, 0)][0].ravel(), loadings[(0, 0)][0])


def test_exact_overlaps_need_enough_neurons():
    t, u = _random_tensors(3, 5)
    with pytest.raises(ValueError, match="overlaps='exact'"):
        draw_multiregion_loadings((60, 5, 70), t, u, readout_noise=1.0, overlaps="exact")
    with pytest.raises(ValueError, match="overlaps"):
        draw_multiregion_loadings((60, 50, 70), t, u, overlaps="orthogonal")


def test_finite_n_outliers_are_the_eigenvalues_of_the_overlap_matrix():
    # J = sum m^{mu nu} n^{mu nu T} / N_nu has the nonzero eigenvalues of its R^2 x R^2 overlap
    # matrix (eig(M N^T) = eig(N^T M)), exactly; as N grows that matrix tends to T_hat, so the
    # outliers approach eig(T_hat) like 1/sqrt(N).
    sizes = (400, 300)
    t, u = _random_tensors(2, 3)
    model = MultiRegionModel(sizes, (0.0, 0.0), t, u)
    conn = model.connectivity(seed=4)
    eig_j = np.linalg.eigvals(conn.to_dense())
    eig_j = eig_j[np.argsort(-np.abs(eig_j))][:4]
    loadings = {key: (value[0].ravel(), value[1].ravel()) for key, value in conn.couplings.items()}
    t_emp, _ = _empirical(loadings, sizes)
    eig_k = np.linalg.eigvals(effective_interaction_matrix(t_emp))
    # Matching by sorting on (real, imag) is safe: the values are distinct and exact to 1e-10.
    key = lambda z: (round(z.real, 6), round(z.imag, 6))  # noqa: E731
    np.testing.assert_allclose(sorted(eig_j, key=key), sorted(eig_k, key=key), atol=1e-9)


def test_outliers_approach_t_hat_and_sit_beside_the_bulk():
    # With disorder g the spectrum is a disk of radius g per region plus outliers near
    # eig(T_hat) (finite-N shifts O(|T| / sqrt(N)) ~ 0.06 at N = 1000 for |T| ~ 2).
    r = 2
    t = np.zeros((r, r, r))
    t[0, 1, 0] = 2.0  # S^{01} driven by S^{10}
    t[1, 0, 1] = 1.5  # S^{10} driven by S^{01}: an exchange loop with eigenvalues +-sqrt(3)
    t[0, 0, 0] = -1.8  # a self-inhibiting current in region 0
    u = np.stack([np.eye(r)] * r)
    expected = np.linalg.eigvals(effective_interaction_matrix(t))
    expected = expected[np.abs(expected) > 1e-9]
    model = MultiRegionModel((1000, 1000), (0.4, 0.4), t, u, readout_noise=0.5)
    eig = np.linalg.eigvals(model.connectivity(seed=5).to_dense())
    for value in expected:
        assert np.min(np.abs(eig - value)) < 0.15
    bulk = eig[np.abs(eig) < 1.0]
    assert np.abs(bulk).max() < 0.4 * 1.1  # the disk edge g = 0.4, up to finite-N spill


def test_effective_matrix_structure_and_gains():
    t, _ = _random_tensors(3, 6)
    psi = np.array([0.5, 1.0, 2.0])
    k = effective_interaction_matrix(t, psi).reshape(3, 3, 3, 3)
    for mu in range(3):
        for nu in range(3):
            for nu2 in range(3):
                for rho in range(3):
                    expected = psi[nu] * t[mu, nu, rho] if nu == nu2 else 0.0
                    assert k[mu, nu, nu2, rho] == expected


def test_network_and_seed_reproducibility():
    t, u = _random_tensors(2, 7)
    model = MultiRegionModel((50, 60), 0.8, t, u, phi="tanh")
    a = model.connectivity(seed=3).to_dense()
    b = model.connectivity(seed=3).to_dense()
    np.testing.assert_array_equal(a, b)
    assert model.network(seed=3).phi.name == "tanh"
    assert model.gains == (0.8, 0.8) and model.n_regions == 2


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        (dict(sizes=(10, 0)), "sizes"),
        (dict(interactions=np.zeros((2, 2))), "interactions"),
        (dict(input_overlaps=np.zeros((3, 2, 2))), "input_overlaps"),
        (dict(gains=(1.0, -1.0)), "gains"),
        (dict(readout_noise=-1.0), "readout_noise"),
        (dict(phi="softplus"), "phi"),
        (dict(overlaps="quenched"), "overlaps"),
    ],
)
def test_bad_input(kwargs, param):
    base = dict(sizes=(10, 12), gains=(1.0, 1.0), interactions=np.zeros((2, 2, 2)),
                input_overlaps=np.stack([np.eye(2)] * 2))
    base.update(kwargs)
    with pytest.raises(ValueError, match=param):
        MultiRegionModel(**base)


def test_unrealisable_overlaps_are_refused():
    # U^0 has no component along its second input, yet T asks a readout to overlap it.
    u = np.stack([np.diag([1.0, 0.0]), np.eye(2)])
    t = np.zeros((2, 2, 2))
    t[1, 0, 1] = 0.7
    with pytest.raises(ValueError, match="cannot be realised"):
        draw_multiregion_loadings((10, 10), t, u, seed=0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        draw_multiregion_loadings((10, 10), np.zeros((2, 2, 2)),
                                  np.stack([-np.eye(2), np.eye(2)]), seed=0)
    with pytest.raises(ValueError, match="symmetric"):
        draw_multiregion_loadings((10, 10), np.zeros((2, 2, 2)),
                                  np.stack([np.array([[1.0, 0.5], [0.0, 1.0]]), np.eye(2)]),
                                  seed=0)
