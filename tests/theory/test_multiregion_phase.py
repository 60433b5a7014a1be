"""Phase diagram of the multiregion currents: against direct integration of the current ODE
(g = 0), the closed-form quiescence boundary 1 / psi(g) and the DMFT regime of bare regions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnndyn.theory._multiregion_cycles import estimate_period
from rnndyn.theory._multiregion_phase import STATES, phase_diagram, quiescence_boundary
from rnndyn.theory.dmft import solve_random_network
from rnndyn.theory.multiregion import (
    effective_interaction_matrix,
    integrate_currents,
    solve_currents,
)

IDENTITY_U = np.stack([np.eye(2)] * 2)
# T_hat has eigenvalues lambda_0 (1 +- 0.427 i), 0 and -2 lambda_0: the currents oscillate just
# above the quiescence boundary, and the oscillation dies into a pair of stable stationary
# states further on (the period diverges near Re lambda ~ 1.65 at g = 0).
T = np.array([[[0.0, -0.5], [-1.0, -0.5]], [[0.0, -1.0], [-1.0, 0.0]]])
DISORDER = [0.0, 0.5, 1.5]
SCALES = [0.7, 1.3, 2.0, 3.0]


@pytest.fixture(scope="module")
def diagram():
    return phase_diagram(T, IDENTITY_U, DISORDER, SCALES, "erf", n_starts=2, seed=0)


def test_dataset_layout(diagram):
    assert dict(diagram.sizes) == {"disorder": 3, "leading_eigenvalue": 4, "region": 2}
    assert diagram["state"].attrs["flag_meanings"].split() == list(STATES)
    assert diagram["chaotic"].dtype == bool
    # The axis is the leading eigenvalue of T_hat of the rescaled tensor.
    eig = np.linalg.eigvals(effective_interaction_matrix(T))
    lead = eig[np.argmax(eig.real)]
    for scale, imag in zip(SCALES, diagram["leading_eigenvalue_imag"].values, strict=True):
        rescaled = np.linalg.eigvals(effective_interaction_matrix(scale * T / lead.real))
        top = rescaled[np.argmax(rescaled.real)]
        assert top.real == pytest.approx(scale, rel=1e-12)
        assert abs(top.imag) == pytest.approx(abs(imag), rel=1e-12)


def test_quiescence_boundary_closed_form():
    g = np.array([0.0, 0.5, 1.0, 1.5, 2.5])
    boundary = quiescence_boundary(g, "erf")
    # Below the transition to chaos (g <= 1 for erf, phi'(0) = 1) the bare region is silent,
    # Delta0 = 0, psi = phi'(0) = 1: the boundary is exactly 1.
    np.testing.assert_allclose(boundary[:3], 1.0, rtol=0, atol=1e-12)
    # Above, psi = <phi'>(0, Delta0) = (1 + pi Delta0 / 2)^(-1/2) for erf (a Gaussian
    # integral in closed form), with Delta0 the chaotic variance from the DMFT.
    for gi, bi in zip(g[3:], boundary[3:], strict=True):
        delta0 = solve_random_network(float(gi), "erf").delta0
        assert bi == pytest.approx(math.sqrt(1 + math.pi * delta0 / 2), rel=1e-10)
        assert bi > 1.2
    # The same boundary from the stability of S = 0 computed by solve_currents (finite-
    # difference Jacobian of the DMFT-dressed current map): its leading eigenvalue crosses 0
    # there. Real part of the Jacobian's eigenvalue at lambda = boundary is 0 to the
    # accuracy of the central differences (~1e-8).
    eig = np.linalg.eigvals(effective_interaction_matrix(T))
    unit = T / eig[np.argmax(eig.real)].real
    zero = solve_currents(boundary[3] * unit, IDENTITY_U, 1.5, "erf",
                          initial_currents=np.zeros((2, 2)))
    assert np.max(zero.eigenvalues.real) == pytest.approx(0.0, abs=1e-6)


def test_states_follow_the_quiescence_boundary(diagram):
    boundary = quiescence_boundary(DISORDER, "erf")
    np.testing.assert_allclose(diagram["quiescence_boundary"].values, boundary, rtol=1e-12)
    # The grid stays >= 15% away from the boundaries (1, 1, 1.52).
    lam = np.array(SCALES)[None, :]
    expected_quiescent = lam < boundary[:, None]
    assert np.all((diagram["state"].values == 0) == expected_quiescent)
    assert np.all(diagram["current_norm"].values[expected_quiescent] == 0)
    # At S = 0 each region is a bare random network: chaotic iff g > 1 (erf).
    for i, g in enumerate(DISORDER):
        for j in np.flatnonzero(expected_quiescent[i]):
            assert np.all(diagram["chaotic"].values[i, j] == (g > 1))
    # Disorder shifts the instability: at g = 1.5 the grid point 1.3 (unstable at g <= 0.5)
    # is quiescent.
    assert diagram["state"].sel(disorder=1.5, leading_eigenvalue=1.3) == 0
    assert diagram["state"].sel(disorder=0.5, leading_eigenvalue=1.3) != 0
    # Periods only for g = 0 cycles.
    period = diagram["period"].values
    cycle = diagram["state"].values == 2
    assert np.all(np.isnan(period[1:]))
    assert np.all(np.isfinite(period[0][cycle[0]])) and np.all(np.isnan(period[0][~cycle[0]]))


def test_g0_states_match_direct_integration(diagram):
    # Integrate the current ODE (integrate_currents) from two random starts for 400 time units
    # (longer than 10 periods of the slowest cycle, ~26) and classify the late trajectory
    # independently of phase_diagram: decay to 0, a constant, or an oscillation.
    eig = np.linalg.eigvals(effective_interaction_matrix(T))
    unit = T / eig[np.argmax(eig.real)].real
    rng = np.random.default_rng(5)
    grid = np.arange(0.0, 400.0 + 1e-9, 0.1)
    late = grid > 250.0
    states = diagram["state"].sel(disorder=0.0).values
    assert set(states.tolist()) == {0, 1, 2}  # all three states are on this row
    for j, scale in enumerate(SCALES):
        for _ in range(2):
            run = integrate_currents(scale * unit, IDENTITY_U, rng.normal(size=(2, 2)), grid,
                                     "erf", rtol=1e-8, atol=1e-10)
            tail = run.currents[late]
            size = np.max(np.abs(tail))
            spread = np.max(np.ptp(tail, axis=0))
            if size < 1e-6:
                assert states[j] == 0
            elif spread < 1e-6 * size:
                assert states[j] == 1
                # Stationary size: the root and the integration agree to the integrator's
                # tolerance (relative 1e-6 allowed).
                assert np.linalg.norm(tail[-1]) == pytest.approx(
                    float(diagram["current_norm"][0, j]), rel=1e-6)
            else:
                assert states[j] == 2
                # Period from the integrated series (estimate_period: the interpolation and
                # smoothing errors repeat every period and cancel in the fit; measured 3e-8)
                # vs the shooting period; 1e-5 allowed for the integrator's rtol 1e-8.
                estimate = estimate_period(grid[late], tail)
                assert estimate.period == pytest.approx(float(diagram["period"][0, j]),
                                                        rel=1e-5)
                # RMS size over the cycle: the window holds 5.8 periods, not a whole number,
                # which biases the time average by up to ~1/(2 x 5.8) of the squared norm's
                # modulation (measured 0.6%); 2% allowed.
                rms = math.sqrt(np.mean(np.sum(tail**2, axis=(1, 2))))
                assert rms == pytest.approx(float(diagram["current_norm"][0, j]), rel=0.02)


def test_disorder_in_one_region():
    ds = phase_diagram(T, IDENTITY_U, [1.5], [0.7], "erf", region=0, n_starts=2)
    assert int(ds["state"][0, 0]) == 0
    # Only region 0 is disordered (g = 1.5 > 1: chaotic at S = 0); region 1 has g = 0.
    assert ds["chaotic"].values[0, 0].tolist() == [True, False]
    # The boundary moves less than with both regions disordered, but it moves.
    assert 1.0 < float(ds["quiescence_boundary"][0]) < float(quiescence_boundary(1.5, "erf"))


def test_bad_input():
    with pytest.raises(ValueError, match="disorder_values"):
        phase_diagram(T, IDENTITY_U, [-0.5], [1.0])
    with pytest.raises(ValueError, match="scales"):
        phase_diagram(T, IDENTITY_U, [0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="region"):
        phase_diagram(T, IDENTITY_U, [0.0], [1.0], region=2)
    with pytest.raises(ValueError, match="interactions"):
        phase_diagram(-np.ones((1, 1, 1)), np.ones((1, 1, 1)), [0.0], [1.0])
    with pytest.raises(ValueError, match="input_overlaps"):
        phase_diagram(T, np.zeros((2, 2)), [0.0], [1.0])
    with pytest.raises(ValueError, match="disorder_values"):
        quiescence_boundary([-1.0])
