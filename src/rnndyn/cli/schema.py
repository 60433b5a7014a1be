"""The keys a simulation config may hold, their TOML types, and type checking with messages.

A config error names the key by its dotted path (``run.dt``, ``connectivity.sizes[2]``) and
says what was expected and what was given, so it can be reported on one line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONNECTIVITY_ALIASES",
    "CONNECTIVITY_KEYS",
    "COUPLING_KEYS",
    "NETWORK_KEYS",
    "RECORDER_KEYS",
    "RUN_KEYS",
    "ConfigError",
    "Field",
    "check_keys",
    "check_value",
    "show",
    "unknown",
]


class ConfigError(ValueError):
    """A config value that is missing, unknown, of the wrong type or rejected by rnndyn.

    Parameters
    ----------
    key : str
        Dotted path of the offending key (or the file, or a command-line option).
    reason : str
        What was expected and what was given.
    """

    def __init__(self, key: str, reason: str) -> None:
        # One line whatever the library said: the CLI promises a single-line error.
        self.key = key
        self.reason = " ".join(reason.split())
        super().__init__(f"{key}: {self.reason}")


@dataclass(frozen=True)
class Field:
    """A config key: its TOML type (a key of ``_TYPES``), whether it is required, its meaning."""

    type: str
    required: bool = False
    help: str = ""


def show(value: Any) -> str:
    """A value as TOML would spell it, with its TOML type, e.g. ``"fast" (string)``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (boolean)"
    if isinstance(value, int):
        return f"{value} (integer)"
    if isinstance(value, float):
        return f"{value!r} (float)"
    if isinstance(value, str):
        return f"{json.dumps(value)} (string)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        text = json.dumps(value, default=str)
        return f"{text if len(text) <= 60 else text[:57] + '...'} (array)"
    return f"{value!r} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(description: str, accept: Callable[[Any], bool]) -> Callable[[str, Any], Any]:
    def check(path: str, value: Any) -> Any:
        if not accept(value):
            raise ConfigError(path, f"expected {description}, got {show(value)}")
        return value

    return check


def _array(
    item_type: str, description: str, allow_empty: bool = False
) -> Callable[[str, Any], list[Any]]:
    def check(path: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected {description}, got {show(value)}")
        if not value and not allow_empty:
            raise ConfigError(path, f"expected {description}, got an empty array")
        return [check_value(f"{path}[{i}]", item, item_type) for i, item in enumerate(value)]

    return check


def _either(scalar_type: str, array_type: str) -> Callable[[str, Any], Any]:
    def check(path: str, value: Any) -> Any:
        if isinstance(value, list):
            return check_value(path, value, array_type)
        try:
            return check_value(path, value, scalar_type)
        except ConfigError:
            expected = f"{_TYPES[scalar_type][0]} or {_TYPES[array_type][0]}"
            raise ConfigError(path, f"expected {expected}, got {show(value)}") from None

    return check


def _matrix(path: str, value: Any) -> list[list[float]]:
    rows = check_value(path, value, "array")
    checked = []
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise ConfigError(f"{path}[{i}]", f"expected an array of numbers (a matrix row), "
                                              f"got {show(row)}")
        checked.append(check_value(f"{path}[{i}]", row, "number list"))
    if len({len(row) for row in checked}) > 1:
        raise ConfigError(path, f"expected rows of equal length, got lengths "
                                f"{[len(row) for row in checked]}")
    return checked


_TYPES: dict[str, tuple[str, Callable[[str, Any], Any]]] = {}
_TYPES.update({
    "int": ("an integer", _scalar("an integer", _is_int)),
    "number": ("a number", _scalar("a number", _is_number)),
    "string": ("a string", _scalar("a string", lambda v: isinstance(v, str))),
    "bool": ("true or false", _scalar("true or false", lambda v: isinstance(v, bool))),
    "array": ("an array", _scalar("an array", lambda v: isinstance(v, list) and bool(v))),
    "int list": ("an array of integers", _array("int", "an array of integers")),
    "number list": ("an array of numbers", _array("number", "an array of numbers")),
    "string list": ("an array of strings", _array("string", "an array of strings", True)),
    "matrix": ("an array of arrays of numbers", _matrix),
})
_TYPES.update({
    "number or list": ("a number or an array of numbers", _either("number", "number list")),
    "int or list": ("an integer or an array of integers", _either("int", "int list")),
})


def check_value(path: str, value: Any, type_name: str) -> Any:
    """Return ``value`` if it has the TOML type ``type_name``, or raise a `ConfigError`."""
    return _TYPES[type_name][1](path, value)


def check_keys(
    section: str,
    table: dict[str, Any],
    fields: dict[str, Field],
    context: str = "",
) -> dict[str, Any]:
    """Type-check a table against its fields: no unknown key, no missing required key.

    Parameters
    ----------
    section : str
        Dotted path of the table, prefixed to key names in errors.
    table : dict
        The table as parsed from TOML.
    fields : dict of str to Field
        Known keys.
    context : str
        Appended to "unknown key", e.g. ``" for kind 'gaussian'"``.

    Returns
    -------
    dict
        The given keys and values (checked).
    """
    for key in table:
        if key not in fields:
            raise ConfigError(f"{section}.{key}", unknown(f"key{context}", key, fields))
    for key, field in fields.items():
        if field.required and key not in table:
            raise ConfigError(f"{section}.{key}",
                              f"missing required key ({_TYPES[field.type][0]}: {field.help})")
    return {key: check_value(f"{section}.{key}", value, fields[key].type)
            for key, value in table.items()}


def unknown(what: str, name: str, known: Iterable[str]) -> str:
    """'unknown <what>; known ones: a, b (did you mean ...?)'."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what}; known: {', '.join(known)}{hint}"


_SEED = Field("int", help="random seed, an integer >= 0")

CONNECTIVITY_KEYS: dict[str, dict[str, Field]] = {
    "gaussian": {
        "n": Field("int", True, "number of neurons"),
        "g": Field("number", True, "gain: J_ij ~ N(mean/n, g^2/n)"),
        "mean": Field("number", help="mean of an entry times n"),
        "seed": _SEED,
    },
    "low_rank": {
        "n": Field("int", True, "number of neurons"),
        "rank": Field("int", True, "rank R of J = M N^T / n"),
        "covariance": Field("matrix", help="(2R, 2R) covariance of (m_1..m_R, n_1..n_R)"),
        "mean": Field("number list", help="(2R,) means of the loadings"),
        "seed": _SEED,
    },
    "multiregion": {
        "sizes": Field("int list", True, "neurons per region"),
        "gains": Field("number or list", True, "within-region random gain, one per region"),
        "couplings": Field("array", help="array of tables {target, source, rank}"),
        "seed": _SEED,
    },
    "sparse": {
        "n": Field("int", True, "number of neurons"),
        "p": Field("number", True, "connection probability"),
        "g": Field("number", True, "gain: nonzero weights ~ N(0, g^2/(n p))"),
        "seed": _SEED,
    },
    "dale": {
        "n": Field("int", True, "number of neurons"),
        "frac_excitatory": Field("number", help="fraction of excitatory neurons"),
        "g_e": Field("number", help="gain of excitatory weights"),
        "g_i": Field("number", help="gain of inhibitory weights"),
        "balanced": Field("bool", help="make the mean input vanish"),
        "row_balance": Field("bool", help="balance every row exactly"),
        "seed": _SEED,
    },
}
# The name of the library builder, where it differs from the config's kind.
CONNECTIVITY_ALIASES = {"random_low_rank": "low_rank"}

COUPLING_KEYS: dict[str, Field] = {
    "target": Field("int", True, "region receiving the coupling"),
    "source": Field("int", True, "region sending it"),
    "rank": Field("int", True, "rank of the coupling"),
}

NETWORK_KEYS: dict[str, Field] = {
    "model": Field("string", help="'continuous' (tau dx/dt = ...) or 'discrete' (x_{t+1} = ...)"),
    "phi": Field("string", help="nonlinearity, e.g. 'tanh', 'relu', 'tanh*1.5'"),
    "tau": Field("number", help="time constant (continuous model)"),
    "leak": Field("number", help="leak rate in (0, 1] (discrete model)"),
    "bias": Field("number or list", help="constant input, one value or one per neuron"),
}

RUN_KEYS: dict[str, Field] = {
    "t_max": Field("number", True, "duration"),
    "dt": Field("number", help="time step"),
    "method": Field("string", help="integrator: 'rk4', 'euler' or 'exp_euler'"),
    "batch": Field("int", help="number of independent trials"),
    "noise_std": Field("number", help="white-noise amplitude"),
    "seed": _SEED,
    "record_every": Field("int", help="keep every this many steps"),
    "record": Field("string list", help="full trajectories to keep: 'x' and/or 'rates'"),
    "dtype": Field("string", help="'float32' or 'float64'"),
}

_VARIABLE = Field("string", help="'x' or 'rates'")
_EVERY = Field("int", help="sample every this many steps")
RECORDER_KEYS: dict[str, dict[str, Field]] = {
    "mean_variance": {"variable": _VARIABLE, "t_start": Field("number"), "every": _EVERY},
    "autocorrelation": {
        "variable": _VARIABLE,
        "max_lag": Field("number", help="largest lag"),
        "t_start": Field("number", help="discard transients before this time"),
        "every": _EVERY,
    },
    "subsample": {
        "neurons": Field("int or list", True, "how many neurons to keep, or their indices"),
        "seed": _SEED,
        "variable": _VARIABLE,
    },
    "currents": {"every": _EVERY,
                 "filtered": Field("bool", help="record the filtered currents S "
                                   "(tau dS/dt = -S + I) instead of the readouts I")},
    "latents": {"every": _EVERY},
}
