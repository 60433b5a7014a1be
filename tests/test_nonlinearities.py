"""Nonlinearities: derivative and antiderivative checked against numerics, torch vs NumPy."""

import numpy as np
import pytest
import torch
from scipy import integrate

from rnndyn.nonlinearities import NONLINEARITY_NAMES, gain_modulated, get_nonlinearity

GRID = np.linspace(-4.0, 4.0, 161)
ALL = [*NONLINEARITY_NAMES, "tanh*1.7", "relu*0.5"]


@pytest.mark.parametrize("name", ALL)
def test_derivative_matches_central_difference(name):
    phi = get_nonlinearity(name)
    h = 1e-5
    # Away from relu's kink, where the derivative is not defined.
    x = GRID[np.abs(GRID) > 1e-3]
    numeric = (phi.value(x + h) - phi.value(x - h)) / (2 * h)
    # Central differences have O(h^2) truncation and O(eps/h) rounding error: ~1e-10 here.
    np.testing.assert_allclose(phi.derivative(x), numeric, atol=1e-8)


@pytest.mark.parametrize("name", ALL)
def test_antiderivative_is_integral_from_zero(name):
    phi = get_nonlinearity(name)
    for x in (-3.7, -0.4, 0.0, 1.1, 4.0, 25.0):
        expected, _ = integrate.quad(lambda s: float(phi.value(np.array(s))), 0.0, x,
                                     epsabs=1e-13, epsrel=1e-13, limit=200)
        # quad on smooth integrands is accurate to ~1e-12; 1e-9 leaves room for the kink.
        assert float(phi.antiderivative(np.array(x))) == pytest.approx(expected, abs=1e-9)


def test_known_closed_forms():
    x = GRID
    tanh = get_nonlinearity("tanh")
    np.testing.assert_allclose(tanh.antiderivative(x), np.log(np.cosh(x)), atol=1e-12)
    erf = get_nonlinearity("erf")
    # erf(sqrt(pi)/2 x) has slope 1 at 0 and derivative exp(-pi x^2 / 4).
    np.testing.assert_allclose(erf.derivative(x), np.exp(-np.pi * x**2 / 4), atol=1e-14)
    assert float(erf.derivative(np.array(0.0))) == 1.0
    np.testing.assert_allclose(get_nonlinearity("rectified_tanh").value(x),
                               np.where(x > 0, np.tanh(x), 0.0))


def test_log_cosh_is_stable_for_large_arguments():
    tanh = get_nonlinearity("tanh")
    big = np.array([800.0, -800.0])
    # log cosh x -> |x| - log 2; naive log(cosh(800)) overflows to inf.
    np.testing.assert_allclose(tanh.antiderivative(big), 800.0 - np.log(2.0))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_matches_numpy(name, dtype):
    phi = get_nonlinearity(name)
    xt = torch.as_tensor(GRID, dtype=dtype)
    tol = 1e-6 if dtype == torch.float32 else 1e-12  # float32 epsilon ~ 1.2e-7, values O(1-10)
    for f in (phi.value, phi.derivative, phi.antiderivative):
        out = f(xt)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), f(GRID), atol=tol * 10, rtol=tol)


def test_gain_modulation():
    base = get_nonlinearity("tanh")
    mod = gain_modulated("tanh", 2.5)
    np.testing.assert_allclose(mod.value(GRID), np.tanh(2.5 * GRID))
    np.testing.assert_allclose(mod.derivative(GRID), 2.5 * base.derivative(2.5 * GRID))
    assert get_nonlinearity(mod.name).name == mod.name
    assert gain_modulated("tanh", 1.0) is base
    assert mod.odd


def test_odd_flags():
    for name in NONLINEARITY_NAMES:
        phi = get_nonlinearity(name)
        assert phi.odd == bool(np.allclose(phi.value(-GRID), -phi.value(GRID)))


def test_call_accepts_scalars_and_lists():
    assert get_nonlinearity("relu")([-1.0, 2.0]).tolist() == [0.0, 2.0]


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"phi: unknown nonlinearity 'sigmoidz'.*tanh.*relu"):
        get_nonlinearity("sigmoidz")
    with pytest.raises(ValueError, match="phi"):
        get_nonlinearity(3)
    with pytest.raises(ValueError, match="phi"):
        get_nonlinearity("tanh*-2")


@pytest.mark.parametrize("gain", [0.0, -1.0, float("nan"), "big"])
def test_bad_gain(gain):
    with pytest.raises(ValueError, match="gain"):
        gain_modulated("tanh", gain)
