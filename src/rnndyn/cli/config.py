"""Reading and validating a TOML simulation config.

Schema (see ``examples/*.toml``)::

    description = "..."              # optional, stored in the result's attrs
    [connectivity]                   # required
    kind = "gaussian"                # gaussian | low_rank | multiregion | sparse | dale
    ...                              # the builder's keyword arguments
    [[connectivity.couplings]]       # multiregion only, repeated
    target = 0
    source = 1
    rank = 1
    [network]                        # optional
    model = "continuous"             # or "discrete"; phi, tau (continuous), leak (discrete), bias
    [run]                            # required
    t_max = 100.0                    # dt, method, batch, noise_std, seed, record_every,
                                     # record, dtype
    [recorders.mean_variance]        # optional: mean_variance, autocorrelation, subsample,
                                     # currents (multiregion), latents (low_rank)

Everything is checked here, before any matrix is built or step taken: types, unknown and
missing keys, and the value ranges that can be known without building the network.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnndyn.cli.schema import (
    CONNECTIVITY_ALIASES,
    CONNECTIVITY_KEYS,
    COUPLING_KEYS,
    NETWORK_KEYS,
    RECORDER_KEYS,
    RUN_KEYS,
    ConfigError,
    check_keys,
    check_value,
    show,
    unknown,
)
from rnndyn.nonlinearities import get_nonlinearity
from rnndyn.simulate import METHODS

__all__ = ["SECTIONS", "ConfigError", "SimulationConfig", "apply_overrides", "read_config",
           "validate"]

SECTIONS = ("description", "connectivity", "network", "run", "recorders")
_MODELS = ("continuous", "discrete")
_DTYPES = ("float32", "float64")
_VARIABLES = ("x", "rates")


@dataclass(frozen=True)
class SimulationConfig:
    """A validated config: each section's keys, ready to pass to the library.

    Attributes
    ----------
    connectivity : dict
        ``kind`` (one of the config kinds) and the builder's keyword arguments.
    network : dict
        ``model`` plus the keyword arguments of `Network` or `DiscreteNetwork`.
    run : dict
        Keyword arguments of `rnndyn.simulate.simulate` (``record`` included).
    recorders : dict of str to dict
        Requested streaming recorders and their keyword arguments.
    n_neurons : int
        Network size, known from the connectivity keys.
    description : str or None
    source : dict
        The config as read (after overrides), kept with the result for provenance.
    """

    connectivity: dict[str, Any]
    network: dict[str, Any]
    run: dict[str, Any]
    recorders: dict[str, dict[str, Any]]
    n_neurons: int
    description: str | None = None
    source: dict[str, Any] = field(default_factory=dict)


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or a TOML syntax error is a `ConfigError` naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "expected a TOML file, got a folder") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot read the config file ({error})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message ends with "(at line L, column C)".
        raise ConfigError(str(path), f"invalid TOML: {error}") from None


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set ``SECTION.KEY=VALUE`` overrides (VALUE in TOML syntax; bare words are strings).

    Returns a new dict; the overridden keys are validated with the rest of the config.
    """
    merged = _copy_tables(config)
    for item in overrides:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError("--set", f"expected SECTION.KEY=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"value = {text.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        table = merged
        for depth, part in enumerate(parts[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError("--set", f"{where} is not a table, cannot set {key.strip()}")
        table[parts[-1]] = value
    return merged


def _copy_tables(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_tables(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_tables(item) for item in value]
    return value


def _table(config: dict[str, Any], name: str, required: bool) -> dict[str, Any]:
    if name not in config:
        if required:
            raise ConfigError(name, f"missing required section [{name}]")
        return {}
    value = config[name]
    if not isinstance(value, dict):
        raise ConfigError(name, f"expected a table [{name}], got {show(value)}")
    return value


def validate(config: dict[str, Any]) -> SimulationConfig:
    """Check a parsed config completely and return it as a `SimulationConfig`.

    Raises
    ------
    ConfigError
        The first problem found, naming its key.
    """
    for name in config:
        if name not in SECTIONS:
            raise ConfigError(name, unknown("section", name, SECTIONS))
    description = config.get("description")
    if description is not None:
        check_value("description", description, "string")
    connectivity, n_neurons = _connectivity(_table(config, "connectivity", required=True))
    network = _network(_table(config, "network", required=False), n_neurons)
    run = _run(_table(config, "run", required=True), network["model"])
    recorders = _recorders(_table(config, "recorders", required=False), connectivity, run,
                           n_neurons)
    return SimulationConfig(connectivity, network, run, recorders, n_neurons, description,
                            _copy_tables(config))


def _connectivity(table: dict[str, Any]) -> tuple[dict[str, Any], int]:
    kinds = tuple(CONNECTIVITY_KEYS)
    if "kind" not in table:
        raise ConfigError("connectivity.kind",
                          f"missing required key (a string, one of {', '.join(kinds)})")
    kind = check_value("connectivity.kind", table["kind"], "string")
    kind = CONNECTIVITY_ALIASES.get(kind, kind)
    if kind not in CONNECTIVITY_KEYS:
        raise ConfigError("connectivity.kind", f"expected one of {', '.join(kinds)}, "
                                               f"got {show(table['kind'])}")
    fields = {"kind": None, **CONNECTIVITY_KEYS[kind]}
    rest = {key: value for key, value in table.items() if key != "kind"}
    for key in rest:
        if key not in fields:
            raise ConfigError(f"connectivity.{key}",
                              unknown(f"key for kind {kind!r}", key, fields))
    checked = check_keys("connectivity", rest, CONNECTIVITY_KEYS[kind])
    for name in ("n", "rank"):
        if name in checked and checked[name] < 1:
            raise ConfigError(f"connectivity.{name}",
                              f"expected an integer >= 1, got {show(checked[name])}")
    if "seed" in checked and checked["seed"] < 0:
        raise ConfigError("connectivity.seed", f"expected an integer >= 0, got {checked['seed']}")
    if kind == "multiregion":
        sizes = checked["sizes"]
        for index, size in enumerate(sizes):
            if size < 1:
                raise ConfigError(f"connectivity.sizes[{index}]",
                                  f"expected an integer >= 1, got {size}")
        if isinstance(checked["gains"], list) and len(checked["gains"]) != len(sizes):
            raise ConfigError("connectivity.gains",
                              f"expected one gain per region ({len(sizes)} numbers, like sizes), "
                              f"got {len(checked['gains'])}")
        if "couplings" in checked:
            checked["couplings"] = _couplings(checked["couplings"], len(sizes))
        n_neurons = sum(sizes)
    else:
        n_neurons = checked["n"]
    return {"kind": kind, **checked}, n_neurons


def _couplings(entries: list[Any], n_regions: int) -> dict[tuple[int, int], int]:
    couplings: dict[tuple[int, int], int] = {}
    first_seen: dict[tuple[int, int], int] = {}
    for index, entry in enumerate(entries):
        path = f"connectivity.couplings[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(path, f"expected a table {{target, source, rank}} "
                                    f"([[connectivity.couplings]]), got {show(entry)}")
        entry = check_keys(path, entry, COUPLING_KEYS)
        for name in ("target", "source"):
            if not 0 <= entry[name] < n_regions:
                raise ConfigError(f"{path}.{name}", f"expected a region index in "
                                                    f"[0, {n_regions - 1}], got {entry[name]}")
        if entry["rank"] < 1:
            raise ConfigError(f"{path}.rank", f"expected an integer >= 1, got {entry['rank']}")
        key = (entry["target"], entry["source"])
        if key in first_seen:
            raise ConfigError(path, f"duplicate coupling target={key[0]} source={key[1]} "
                                    f"(already given in couplings[{first_seen[key]}])")
        first_seen[key] = index
        couplings[key] = entry["rank"]
    return couplings


def _network(table: dict[str, Any], n_neurons: int) -> dict[str, Any]:
    checked = check_keys("network", table, NETWORK_KEYS)
    model = checked.pop("model", "continuous")
    if model not in _MODELS:
        raise ConfigError("network.model", f"expected one of {', '.join(_MODELS)}, "
                                           f"got {show(model)}")
    wrong = "leak" if model == "continuous" else "tau"
    if wrong in checked:
        right = "discrete" if model == "continuous" else "continuous"
        raise ConfigError(f"network.{wrong}", f"only used with model = {right!r}; "
                                              f"this network has model = {model!r}")
    if "phi" in checked:
        try:
            get_nonlinearity(checked["phi"])
        except ValueError as error:
            raise ConfigError("network.phi", str(error).removeprefix("phi: ")) from None
    if "tau" in checked:
        _positive("network.tau", checked["tau"])
    if "leak" in checked and not 0.0 < checked["leak"] <= 1.0:
        raise ConfigError("network.leak", f"expected a number in (0, 1], got {checked['leak']}")
    bias = checked.get("bias")
    if isinstance(bias, list) and len(bias) != n_neurons:
        raise ConfigError("network.bias", f"expected one number or {n_neurons} (one per neuron), "
                                          f"got an array of {len(bias)}")
    return {"model": model, **checked}


def _positive(path: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(path, f"expected a number > 0, got {value}")


def _run(table: dict[str, Any], model: str) -> dict[str, Any]:
    checked = check_keys("run", table, RUN_KEYS)
    _positive("run.t_max", checked["t_max"])
    if model == "discrete":
        if checked.get("dt", 1.0) != 1.0:
            raise ConfigError("run.dt", f"expected 1 (time counts steps) with model = 'discrete', "
                                        f"got {checked['dt']}")
        if "method" in checked:
            raise ConfigError("run.method", "only used with model = 'continuous'; "
                                            "the discrete model is a map")
        dt = 1.0
    else:
        dt = checked.get("dt", 0.1)
        _positive("run.dt", dt)
        if checked.get("method", "rk4") not in METHODS:
            raise ConfigError("run.method", f"expected one of {', '.join(METHODS)}, "
                                            f"got {show(checked['method'])}")
    if checked["t_max"] < dt * (1 - 1e-9):
        raise ConfigError("run.t_max", f"expected a duration >= dt = {dt:g}, "
                                       f"got {checked['t_max']:g}")
    n_steps = round(checked["t_max"] / dt)
    for name, low in (("batch", 1), ("record_every", 1), ("seed", 0)):
        if name in checked and checked[name] < low:
            raise ConfigError(f"run.{name}", f"expected an integer >= {low}, got {checked[name]}")
    if checked.get("record_every", 1) > n_steps:
        raise ConfigError("run.record_every", f"expected at most the number of steps "
                                              f"({n_steps}), got {checked['record_every']}")
    noise = checked.get("noise_std", 0.0)
    if not (math.isfinite(noise) and noise >= 0):
        raise ConfigError("run.noise_std", f"expected a number >= 0, got {noise}")
    if checked.get("dtype", "float32") not in _DTYPES:
        raise ConfigError("run.dtype", f"expected one of {', '.join(_DTYPES)}, "
                                       f"got {show(checked['dtype'])}")
    record = checked.get("record", ["x"])
    for index, name in enumerate(record):
        if name not in _VARIABLES:
            raise ConfigError(f"run.record[{index}]", f"expected one of {', '.join(_VARIABLES)}, "
                                                      f"got {show(name)}")
    if len(set(record)) != len(record):
        raise ConfigError("run.record", f"expected each variable once, got {record}")
    return {**checked, "record": record}


def _recorders(
    table: dict[str, Any],
    connectivity: dict[str, Any],
    run: dict[str, Any],
    n_neurons: int,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, options in table.items():
        path = f"recorders.{name}"
        if name not in RECORDER_KEYS:
            raise ConfigError(path, unknown("recorder", name, RECORDER_KEYS))
        if not isinstance(options, dict):
            raise ConfigError(path, f"expected a table [{path}], got {show(options)}")
        checked = check_keys(path, options, RECORDER_KEYS[name])
        _recorder_values(path, checked, run)
        out[name] = checked
    needs = {"currents": "multiregion", "latents": "low_rank"}
    for name, kind in needs.items():
        if name in out and connectivity["kind"] != kind:
            raise ConfigError(f"recorders.{name}", f"needs connectivity.kind = {kind!r}, "
                                                   f"got {connectivity['kind']!r}")
    if "subsample" in out:
        _subsample_neurons(out["subsample"]["neurons"], n_neurons)
    return out


def _recorder_values(path: str, checked: dict[str, Any], run: dict[str, Any]) -> None:
    if "variable" in checked and checked["variable"] not in _VARIABLES:
        raise ConfigError(f"{path}.variable", f"expected one of {', '.join(_VARIABLES)}, "
                                              f"got {show(checked['variable'])}")
    for name in ("every", "seed"):
        low = 1 if name == "every" else 0
        if name in checked and checked[name] < low:
            raise ConfigError(f"{path}.{name}", f"expected an integer >= {low}, "
                                                f"got {checked[name]}")
    if "max_lag" in checked and not (math.isfinite(checked["max_lag"])
                                     and checked["max_lag"] >= 0):
        raise ConfigError(f"{path}.max_lag", f"expected a number >= 0, got {checked['max_lag']}")
    if "t_start" in checked:
        t_start = checked["t_start"]
        # A recorder starting after the end would only fail once the run is over.
        if not (math.isfinite(t_start) and 0 <= t_start <= run["t_max"]):
            raise ConfigError(f"{path}.t_start", f"expected a time in [0, run.t_max = "
                                                 f"{run['t_max']:g}], got {t_start}")


def _subsample_neurons(neurons: int | list[int], n_neurons: int) -> None:
    path = "recorders.subsample.neurons"
    if isinstance(neurons, int):
        if not 1 <= neurons <= n_neurons:
            raise ConfigError(path, f"expected a count in [1, {n_neurons}] (the network size), "
                                    f"got {neurons}")
        return
    for index, neuron in enumerate(neurons):
        if not 0 <= neuron < n_neurons:
            raise ConfigError(f"{path}[{index}]", f"expected a neuron index in "
                                                  f"[0, {n_neurons - 1}], got {neuron}")
