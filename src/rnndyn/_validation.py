"""Argument checks that raise a ValueError naming the parameter, the value and what was expected."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float within the bounds, or raise a ValueError naming it."""
    expected = "a finite number"
    if low is not None:
        expected += f" {'>=' if low_inclusive else '>'} {low:g}"
    if high is not None:
        expected += f" and <= {high:g}" if low is not None else f" <= {high:g}"
    if isinstance(value, bool):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {expected}, got {value!r}") from None
    bad = not math.isfinite(number)
    if low is not None:
        bad |= number < low if low_inclusive else number <= low
    if high is not None:
        bad |= number > high
    if bad:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def check_int(name: str, value: Any, *, low: int = 1) -> int:
    """Return ``value`` as an int >= ``low``, or raise a ValueError naming it."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok and isinstance(value, float) and value.is_integer():
        ok = True
    if not ok or int(value) < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_array(
    name: str,
    value: Any,
    *,
    shape: tuple[int | None, ...] | None = None,
    ndim: int | tuple[int, ...] | None = None,
) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape, or raise a ValueError.

    ``shape`` may hold ``None`` for an axis of any length.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        kind = type(value).__name__
        raise ValueError(f"{name} must be an array of numbers, got {kind}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if array.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {array.shape}")
    if shape is not None:
        fits = array.ndim == len(shape) and all(
            want is None or want == got for want, got in zip(shape, array.shape, strict=True)
        )
        if not fits:
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")
    return array


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, or raise a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
