"""Single-neuron nonlinearities phi with their derivative and antiderivative.

Each nonlinearity works on NumPy arrays (and Python scalars) and on torch tensors, returning the
same kind it was given. The theory package uses the NumPy path only, so this module never imports
torch: a tensor is recognised by its type and handled with its own methods.

The antiderivative is the one with ``Phi(0) = 0``; mean-field theory needs it for the
energy-conservation (particle in a potential) solution of the DMFT, where only differences of
``Phi`` enter.

Examples
--------
>>> import numpy as np
>>> from rnndyn.nonlinearities import get_nonlinearity
>>> phi = get_nonlinearity("tanh")
>>> float(phi.derivative(np.array(0.0)))
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "NONLINEARITY_NAMES",
    "Nonlinearity",
    "gain_modulated",
    "get_nonlinearity",
]

Array = Any  # numpy.ndarray | torch.Tensor | float

_ERF_SCALE = math.sqrt(math.pi) / 2.0  # phi(x) = erf(sqrt(pi)/2 x) has phi'(0) = 1, like tanh


def _is_tensor(x: Array) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _as_array(x: Array) -> Array:
    return x if _is_tensor(x) else np.asarray(x, dtype=float)


# --- tanh -----------------------------------------------------------------------------------
def _tanh(x: Array) -> Array:
    return x.tanh() if _is_tensor(x) else np.tanh(x)


def _tanh_derivative(x: Array) -> Array:
    t = _tanh(x)
    return 1.0 - t * t


def _log_cosh(x: Array) -> Array:
    # log cosh x = |x| + log1p(exp(-2|x|)) - log 2, stable for large |x| where cosh overflows.
    if _is_tensor(x):
        a = x.abs()
        return a + (-2.0 * a).exp().log1p() - math.log(2.0)
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)


# --- erf sigmoid ----------------------------------------------------------------------------
def _erf(x: Array) -> Array:
    return (_ERF_SCALE * x).erf() if _is_tensor(x) else special.erf(_ERF_SCALE * x)


def _erf_derivative(x: Array) -> Array:
    # d/dx erf(a x) = 2a/sqrt(pi) exp(-a^2 x^2) = exp(-pi x^2 / 4) for a = sqrt(pi)/2.
    z = -(math.pi / 4.0) * x * x
    return z.exp() if _is_tensor(x) else np.exp(z)


def _erf_antiderivative(x: Array) -> Array:
    # int_0^x erf(a s) ds = x erf(a x) + (exp(-a^2 x^2) - 1) / (a sqrt(pi)), a sqrt(pi) = pi/2.
    return x * _erf(x) + (_erf_derivative(x) - 1.0) * (2.0 / math.pi)


# --- relu -----------------------------------------------------------------------------------
def _relu(x: Array) -> Array:
    return x.clamp_min(0.0) if _is_tensor(x) else np.maximum(x, 0.0)


def _step(x: Array) -> Array:
    # The derivative of relu; the value 0 at x = 0 is a convention (subgradient).
    return (x > 0).to(x.dtype) if _is_tensor(x) else (np.asarray(x) > 0).astype(float)


def _relu_antiderivative(x: Array) -> Array:
    r = _relu(x)
    return 0.5 * r * r


# --- rectified tanh -------------------------------------------------------------------------
def _rectified_tanh(x: Array) -> Array:
    return _relu(_tanh(x))


def _rectified_tanh_derivative(x: Array) -> Array:
    return _step(x) * _tanh_derivative(x)


def _rectified_tanh_antiderivative(x: Array) -> Array:
    return _log_cosh(_relu(x))


# --- identity -------------------------------------------------------------------------------
def _identity(x: Array) -> Array:
    return x if _is_tensor(x) else np.asarray(x, dtype=float)


def _one(x: Array) -> Array:
    return x.new_ones(x.shape) if _is_tensor(x) else np.ones_like(x, dtype=float)


def _half_square(x: Array) -> Array:
    return 0.5 * x * x


@dataclass(frozen=True)
class Nonlinearity:
    """A pointwise nonlinearity phi with phi' and Phi (the antiderivative with Phi(0) = 0).

    Parameters
    ----------
    name : str
        Name it is looked up by (``get_nonlinearity(name)``).
    value, derivative : callable
        ``phi(x)`` and ``phi'(x)``; each takes and returns a NumPy array or a torch tensor.
    antiderivative : callable or None
        ``Phi(x) = int_0^x phi(s) ds``. Optional for a user-defined nonlinearity: only the
        energy-conservation solution of the DMFT needs it, and it says so when it is missing.
    odd : bool
        Whether ``phi(-x) = -phi(x)``; mean-field theory uses it to know the mean rate vanishes.
    kinks : tuple of float
        Points where ``phi`` or ``phi'`` is not smooth (0 for relu). Gaussian quadrature splits
        its panels there, which keeps it exponentially accurate on piecewise-smooth functions.
    length_scale : float
        The scale of x over which ``phi`` changes (1 for tanh; ``1/gain`` after gain modulation).
        Quadrature resolves ``phi`` on this scale when the Gaussian is wider than it.
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array], Array]
    antiderivative: Callable[[Array], Array] | None = None
    odd: bool = False
    kinks: tuple[float, ...] = ()
    length_scale: float = 1.0

    def __call__(self, x: Array) -> Array:
        return self.value(_as_array(x))

    def __repr__(self) -> str:
        return f"Nonlinearity({self.name!r})"


_REGISTRY: dict[str, Nonlinearity] = {
    "tanh": Nonlinearity("tanh", _tanh, _tanh_derivative, _log_cosh, odd=True),
    "erf": Nonlinearity("erf", _erf, _erf_derivative, _erf_antiderivative, odd=True),
    "relu": Nonlinearity("relu", _relu, _step, _relu_antiderivative, kinks=(0.0,)),
    "rectified_tanh": Nonlinearity(
        "rectified_tanh",
        _rectified_tanh,
        _rectified_tanh_derivative,
        _rectified_tanh_antiderivative,
        kinks=(0.0,),
    ),
    "identity": Nonlinearity("identity", _identity, _one, _half_square, odd=True),
}

NONLINEARITY_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def gain_modulated(phi: str | Nonlinearity, gain: float) -> Nonlinearity:
    """Return ``x -> phi(gain * x)``, a gain-modulated copy of a nonlinearity.

    Its derivative is ``gain * phi'(gain * x)`` and its antiderivative ``Phi(gain * x) / gain``.
    Gain modulation models neuromodulators that change a neuron's slope without changing weights.

    Parameters
    ----------
    phi : str or Nonlinearity
        The base nonlinearity.
    gain : float
        The slope multiplier, finite and > 0.

    Returns
    -------
    Nonlinearity
        Named ``"<base>*<gain>"`` (for instance ``"tanh*1.5"``); ``get_nonlinearity`` parses
        that name back.
    """
    base = get_nonlinearity(phi)
    try:
        gain = float(gain)
    except (TypeError, ValueError):
        raise ValueError(f"gain must be a finite number > 0, got {gain!r}") from None
    if not math.isfinite(gain) or gain <= 0:
        raise ValueError(f"gain must be a finite number > 0, got {gain!r}")
    if gain == 1.0:
        return base

    def value(x: Array) -> Array:
        return base.value(gain * x)

    def derivative(x: Array) -> Array:
        return gain * base.derivative(gain * x)

    base_antiderivative = base.antiderivative

    def antiderivative(x: Array) -> Array:
        return base_antiderivative(gain * x) / gain

    return Nonlinearity(
        f"{base.name}*{gain:g}",
        value,
        derivative,
        antiderivative if base_antiderivative is not None else None,
        odd=base.odd,
        kinks=tuple(k / gain for k in base.kinks),
        length_scale=base.length_scale / gain,
    )


def get_nonlinearity(phi: str | Nonlinearity) -> Nonlinearity:
    """Look a nonlinearity up by name (or pass a `Nonlinearity` through).

    Known names: ``tanh``, ``erf`` (``erf(sqrt(pi)/2 x)``, slope 1 at 0 like tanh, with closed-form
    Gaussian averages), ``relu``, ``rectified_tanh`` (``max(tanh x, 0)``), ``identity``. A name
    ``"<name>*<gain>"`` gives the gain-modulated ``phi(gain * x)``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known names.
    """
    if isinstance(phi, Nonlinearity):
        return phi
    if not isinstance(phi, str):
        raise ValueError(f"phi must be a nonlinearity name or Nonlinearity, got {phi!r}")
    key = phi.strip().lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    base, sep, gain = key.partition("*")
    if sep and base in _REGISTRY:
        try:
            return gain_modulated(base, float(gain))
        except ValueError:
            pass
    known = ", ".join(NONLINEARITY_NAMES)
    raise ValueError(f"phi: unknown nonlinearity {phi!r}; expected one of {known} (or 'NAME*GAIN')")
