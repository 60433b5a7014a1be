"""Limit cycles of the multiregion currents (g = 0): against closed forms (a rotation-invariant
network, the Hopf limit, a noisy sinusoid) and against simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnndyn import ConvergenceError
from rnndyn.connectivity.lowrank import LowRankConnectivity
from rnndyn.models import MultiRegionModel
from rnndyn.nonlinearities import get_nonlinearity
from rnndyn.simulate import Projection, simulate
from rnndyn.simulate.network import Network
from rnndyn.theory._multiregion_cycles import (
    _Field,
    estimate_period,
    find_current_limit_cycle,
)
from rnndyn.theory.multiregion import _CurrentMap, effective_interaction_matrix, integrate_currents

IDENTITY_U = np.stack([np.eye(2)] * 2)


def rotation(a: float, w: float) -> np.ndarray:
    """T[0, 0] = T[1, 0] = (a, w), T[0, 1] = T[1, 1] = (-w, a).

    Derivation of the closed form (U = I, erf): S^{00} and S^{10} get the same drive
    psi^0 (a S^{00} + w S^{01}), so d(S^{00} - S^{10})/dt = -(S^{00} - S^{10}); likewise
    S^{01} - S^{11}. On the attracting plane x = S^{00} = S^{10}, y = S^{01} = S^{11}, both
    regions receive (x, y), so psi^0 = psi^1 = psi(x^2 + y^2) and

        dx/dt = -x + psi (a x + w y),   dy/dt = -y + psi (a y - w x),

    i.e. dr/dt = r (a psi(r^2) - 1), dtheta/dt = -w psi(r^2). For erf,
    psi(D) = (1 + pi D / 2)^(-1/2), so the cycle is the circle r^2 = 2 (a^2 - 1) / pi, with
    angular speed w / a: period 2 pi a / w. Each current is r cos(...): amplitude r; the readout
    F(S) = S + dS/dt has amplitude r sqrt(1 + (w/a)^2). Floquet multipliers: 1 (phase);
    exp(P d(dr/dt)/dr) = exp(2 a r^2 psi'(r^2) P) = exp(-(1 - 1/a^2) P) (radius, using
    psi' = -(pi/4) psi^3); exp(-P) twice (the two differences).
    """
    t = np.zeros((2, 2, 2))
    t[0, 0] = t[1, 0] = (a, w)
    t[0, 1] = t[1, 1] = (-w, a)
    return t


def skewed(lead_real: float) -> np.ndarray:
    """A non-circular cycle: rotation(1.6, 1.2) with region 1 weighted by c = 0.6 and an extra
    0.5 in T[1, 0, 0], which breaks the invariant plane; rescaled so that the leading eigenvalue
    of T_hat has real part ``lead_real`` (its imaginary part is then 0.796 lead_real)."""
    a, w, c = 1.6, 1.2, 0.6
    t = np.zeros((2, 2, 2))
    t[0, 0] = (a, w)
    t[1, 0] = (a * c + 0.5, w * c)
    t[0, 1] = (-w / c, a / c)
    t[1, 1] = (-w, a)
    return t * lead_real / leading(t).real


def leading(t: np.ndarray) -> complex:
    eig = np.linalg.eigvals(effective_interaction_matrix(t))
    return complex(eig[np.argmax(eig.real)])


@pytest.mark.parametrize(("a", "w"), [(1.6, 1.2), (1.25, 2.0)])
def test_rotation_invariant_cycle_matches_closed_form(a, w):
    cycle = find_current_limit_cycle(rotation(a, w), IDENTITY_U, "erf")
    period = 2 * math.pi * a / w
    radius = math.sqrt(2 * (a * a - 1) / math.pi)
    # The shooting solves Phi_P(S0) = S0 to 1e-8 with DOP853 at rtol 1e-10: the period is
    # exact to ~1e-9 relative; 1e-7 leaves room.
    assert cycle.period == pytest.approx(period, rel=1e-7)
    assert cycle.frequency == pytest.approx(w / a, rel=1e-7)
    # The amplitude is the half range of 512 samples: at most r (1 - cos(pi / 512)) = 2e-5 r
    # below the true peak.
    np.testing.assert_allclose(cycle.amplitude, radius, rtol=3e-5)
    np.testing.assert_allclose(cycle.readout_amplitude, radius * math.hypot(1, w / a), rtol=3e-5)
    np.testing.assert_allclose(cycle.mean_currents, 0, atol=1e-8)
    # On a circle each region's variance is constant.
    np.testing.assert_allclose(cycle.row_norm_amplitude, 0, atol=1e-7)
    expected = [1.0, math.exp(-(1 - 1 / a**2) * period), math.exp(-period), math.exp(-period)]
    # Variational equations at rtol 1e-10; d psi/dD by a central difference (error ~1e-9).
    np.testing.assert_allclose(np.abs(cycle.floquet_multipliers), expected, rtol=1e-5,
                               atol=1e-8)
    assert cycle.stable
    assert cycle.residual < 1e-8
    assert cycle.currents.shape == (512, 2, 2) and cycle.time.shape == (512,)


def test_period_and_amplitude_near_the_hopf_point():
    # Leading eigenvalue (1 + eps)(1 + 0.796 i): close to the Hopf point the cycle is the
    # linear oscillation of T_hat with amplitude ~ sqrt(eps), frequency Im lambda + O(eps) and
    # radial Floquet exponent -2 eps (Hopf normal form; Re of the Jacobian's eigenvalue is eps).
    results = {}
    for eps in (0.01, 0.02):
        t = skewed(1 + eps)
        omega = abs(leading(t).imag)
        cycle = find_current_limit_cycle(t, IDENTITY_U, "erf")
        results[eps] = (cycle.period * omega / (2 * math.pi) - 1, cycle.amplitude.max(),
                        math.log(abs(cycle.floquet_multipliers[1])) / cycle.period)
    (dev1, amp1, mu1), (dev2, amp2, mu2) = results[0.01], results[0.02]
    # Period -> 2 pi / omega with an O(eps) correction: linear in eps (doubling eps doubles it
    # up to O(eps^2) ~ 1%; 10% allowed), and small.
    assert abs(dev1) < 0.02
    assert dev2 / dev1 == pytest.approx(2.0, rel=0.1)
    # Amplitude ~ sqrt(eps): ratio sqrt(2) up to O(eps) ~ 1% (3% allowed).
    assert amp2 / amp1 == pytest.approx(math.sqrt(2), rel=0.03)
    # Floquet exponent -2 eps up to O(eps^2) relative corrections (~2% at eps = 0.01).
    assert mu1 == pytest.approx(-2 * 0.01, rel=0.05)
    assert mu2 == pytest.approx(-2 * 0.02, rel=0.08)


@pytest.mark.parametrize("phi", ["erf", "tanh"])
def test_vector_field_and_jacobian_match_the_current_map(phi):
    # The shooting's vector field and its closed-form Jacobian (with d psi / dD by differences)
    # against _CurrentMap of theory.multiregion at g = 0 and its central-difference Jacobian
    # (step 1e-6: error ~1e-10 on these O(1) entries); tanh goes through quadrature. R = 3,
    # non-identity U.
    rng = np.random.default_rng(2)
    t = rng.normal(size=(3, 3, 3))
    a = rng.normal(size=(3, 3, 3))
    u = np.einsum("nij,nkj->nik", a, a) / 3 + 0.1 * np.eye(3)
    nl = get_nonlinearity(phi)
    field, fmap = _Field(t, u, nl), _CurrentMap(t, u, np.zeros(3), nl)
    s = rng.normal(size=9)
    np.testing.assert_allclose(field(s), fmap(s) - s, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(field.jacobian(s), fmap.jacobian(s), atol=1e-7)
    zero = np.zeros(9)  # one-sided difference in D at D = 0
    np.testing.assert_allclose(field.jacobian(zero), fmap.jacobian(zero), atol=1e-7)


def _low_rank_network(model: MultiRegionModel, seed: int):
    """The g = 0 network of ``model`` as one low-rank connectivity (the within-region blocks
    are zero), with the readouts that Projection.currents would use."""
    loadings = model.loadings(seed)
    sizes = model.sizes
    offsets = np.cumsum((0, *sizes))
    n_total = int(offsets[-1])
    pairs = sorted(loadings)
    left = np.zeros((n_total, len(pairs)))
    readout = np.zeros((n_total, len(pairs)))
    for k, (mu, nu) in enumerate(pairs):
        m, n = loadings[(mu, nu)]
        left[offsets[mu]:offsets[mu + 1], k] = m
        readout[offsets[nu]:offsets[nu + 1], k] = n / sizes[nu]
    # LowRankConnectivity divides by the total size: J = left (readout N_total)^T / N_total.
    return LowRankConnectivity(left, readout * n_total), left, readout, pairs


def test_low_rank_form_is_the_model_connectivity():
    model = MultiRegionModel((40, 40), 0.0, skewed(1.6), IDENTITY_U, phi="erf")
    conn, *_ = _low_rank_network(model, seed=3)
    np.testing.assert_allclose(conn.to_dense(), model.connectivity(seed=3).to_dense(),
                               atol=1e-12)


@pytest.mark.slow
def test_limit_cycle_matches_simulation():
    torch.set_num_threads(1)
    t = skewed(1.6)
    lead = leading(t)
    assert lead.real == pytest.approx(1.6) and abs(lead.imag) == pytest.approx(1.273, abs=1e-3)
    cycle = find_current_limit_cycle(t, IDENTITY_U, "erf")
    assert cycle.stable
    # The theory's period, measured by estimate_period on an independent integration
    # (integrate_currents): crossings interpolated linearly at spacing 0.05, error ~1e-5.
    grid = np.arange(0.0, 150.0, 0.05)
    trajectory = integrate_currents(t, IDENTITY_U, cycle.currents[0], grid, "erf")
    assert estimate_period(grid, trajectory.currents).period == pytest.approx(cycle.period,
                                                                              rel=1e-4)

    # Simulation: N = 3000 per region, g = 0, started on the theory's cycle. The recorded
    # currents are the instantaneous readouts n . phi(x) / N = F(S) = S + dS/dt: compared with
    # the theory's readout. Finite N shifts the realised overlaps by O(1/sqrt(N)) = 2%; over
    # six networks the period moved by -0.2% to +3.8% and the amplitudes by up to 6%, so the
    # mean of 3 networks is held to 5% (period) and 10% (amplitudes).
    n = 3000
    model = MultiRegionModel((n, n), 0.0, t, IDENTITY_U, phi="erf")
    periods, amplitudes = [], []
    for seed in range(3):
        conn, left, readout, pairs = _low_rank_network(model, seed)
        x0 = left @ np.array([cycle.currents[0][pair] for pair in pairs])
        ds = simulate(Network(conn, phi="erf"), t_max=100.0, dt=0.05, x0=x0,
                      record=[Projection(readout, name="current")], seed=0, progress=False)
        current = ds["current"].isel(trial=0)
        times = current[current.dims[0]].values
        late = times > 20.0  # one multiplier 0.006 per period: transient gone after ~2
        periods.append(estimate_period(times[late], current.values[late]).period)
        amplitudes.append(np.ptp(current.values[late], axis=0) / 2)
    theory_amplitude = np.array([cycle.readout_amplitude[pair] for pair in pairs])
    assert np.mean(periods) == pytest.approx(cycle.period, rel=0.05)
    np.testing.assert_allclose(np.mean(amplitudes, axis=0), theory_amplitude, rtol=0.10)
    # Not vacuous: every current oscillates by O(1).
    assert theory_amplitude.min() > 0.5


def test_estimate_period_of_noisy_signals():
    rng = np.random.default_rng(0)
    period = 7.3
    time = np.arange(0.0, 30 * period, 0.05)
    omega = 2 * math.pi / period
    # A sinusoid of amplitude 1 with white noise of standard deviation 0.2 per sample.
    signal = np.sin(omega * time + 0.4) + 0.2 * rng.standard_normal(time.size)
    estimate = estimate_period(time, signal)
    # The moving average (width P/8 = 18 samples) leaves noise 0.2 / sqrt(18) = 0.047 on a
    # slope ~0.84, a crossing jitter ~0.056; fitted over 30 periods the period's standard error
    # is ~0.056 sqrt(12) / 30^1.5 = 1.2e-3. Checked: within 4 standard errors (over 200 noise
    # seeds the z-score had standard deviation 1.05, max 3.3), and the standard error itself
    # within a factor 4 of that estimate.
    assert abs(estimate.period - period) < 4 * estimate.stderr
    assert 3e-4 < estimate.stderr < 5e-3
    # Two components whose principal direction oscillates twice per period: the crossing
    # states tell the two half-period crossings apart, so the full period is returned.
    two = np.stack([np.sin(2 * omega * time), 0.5 * np.sin(omega * time + 1.0)], axis=1)
    two = two + 0.05 * rng.standard_normal(two.shape)
    estimate2 = estimate_period(time, two)
    assert estimate2.period == pytest.approx(period, rel=2e-3)
    # Uneven sampling works the same (linear interpolation of the crossings).
    uneven = np.sort(rng.uniform(0, 20 * period, 4000))
    estimate3 = estimate_period(uneven, np.cos(omega * uneven))
    assert estimate3.period == pytest.approx(period, rel=1e-3)


def test_fixed_points_and_quiescence_are_not_cycles():
    exchange = np.zeros((2, 2, 2))
    exchange[0, 1, 0], exchange[1, 0, 1] = 2.0, 1.5  # real leading eigenvalue sqrt(3)
    with pytest.raises(ConvergenceError, match="residual"):
        find_current_limit_cycle(exchange, IDENTITY_U, "erf")
    with pytest.raises(ConvergenceError, match="residual"):
        find_current_limit_cycle(rotation(0.8, 1.0), IDENTITY_U, "erf")  # S = 0 is stable


def test_bad_input():
    t = rotation(1.6, 1.2)
    with pytest.raises(ValueError, match="interactions"):
        find_current_limit_cycle(np.zeros((2, 2)), IDENTITY_U)
    with pytest.raises(ValueError, match="input_overlaps"):
        find_current_limit_cycle(t, np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="initial_currents"):
        find_current_limit_cycle(t, IDENTITY_U, initial_currents=np.zeros(3))
    with pytest.raises(ValueError, match="t_transient"):
        find_current_limit_cycle(t, IDENTITY_U, t_transient=0.0)
    with pytest.raises(ValueError, match="max_period"):
        find_current_limit_cycle(t, IDENTITY_U, max_period=-1.0)
    with pytest.raises(ValueError, match="phi"):
        find_current_limit_cycle(t, IDENTITY_U, phi="nope")
    time = np.linspace(0, 10, 100)
    with pytest.raises(ValueError, match="time"):
        estimate_period(time[::-1], np.sin(time))
    with pytest.raises(ValueError, match="signal"):
        estimate_period(time, np.sin(time)[:50])
    with pytest.raises(ValueError, match="signal"):
        estimate_period(time, np.sin(0.1 * time))  # not even one period
