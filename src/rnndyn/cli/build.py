"""Library objects from a validated config, with the library's ValueErrors tied to config keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from rnndyn import connectivity as conn_builders
from rnndyn.cli.config import SimulationConfig
from rnndyn.cli.schema import ConfigError
from rnndyn.connectivity import Connectivity
from rnndyn.simulate import (
    Autocorrelation,
    DiscreteNetwork,
    MeanVariance,
    Network,
    Projection,
    Recorder,
    Trajectory,
)

__all__ = [
    "build_connectivity",
    "build_network",
    "build_recorders",
    "config_error",
    "guarded",
    "simulate_options",
]

_BUILDERS: dict[str, Callable[..., Connectivity]] = {
    "gaussian": conn_builders.gaussian,
    "low_rank": conn_builders.random_low_rank,
    "multiregion": conn_builders.multiregion,
    "sparse": conn_builders.sparse,
    "dale": conn_builders.dale,
}

T = TypeVar("T")


def config_error(section: str, keys: Iterable[str], error: ValueError) -> ConfigError:
    """Turn a library ValueError into a `ConfigError` naming the config key it is about.

    The library starts (or at least mentions) its messages with the parameter's name, e.g.
    ``"p must be a finite number > 0 and <= 1, got 1.5"``; the config key of the same name in
    ``section`` is named instead, with an index such as ``sizes[1]`` kept.
    """
    message = str(error)
    for key in sorted(keys, key=len, reverse=True):
        match = re.match(rf"{re.escape(key)}(\[[^\]]*\])?(:\s*|\s+)", message)
        if match:
            return ConfigError(f"{section}.{key}{match.group(1) or ''}", message[match.end():])
    for key in sorted(keys, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", message):
            return ConfigError(f"{section}.{key}", message)
    return ConfigError(section, message)


def guarded(section: str, keys: Iterable[str], build: Callable[[], T]) -> T:
    """Call ``build``; a ValueError it raises becomes a `ConfigError` under ``section``."""
    try:
        return build()
    except ConfigError:
        raise
    except ValueError as error:
        raise config_error(section, list(keys), error) from None


def build_connectivity(config: SimulationConfig) -> Connectivity:
    """The `Connectivity` described by ``[connectivity]``."""
    options = dict(config.connectivity)
    builder = _BUILDERS[options.pop("kind")]
    return guarded("connectivity", options, lambda: builder(**options))


def build_network(
    config: SimulationConfig, connectivity: Connectivity
) -> Network | DiscreteNetwork:
    """The `Network` or `DiscreteNetwork` described by ``[network]``."""
    options = dict(config.network)
    model = options.pop("model")
    cls = Network if model == "continuous" else DiscreteNetwork
    return guarded("network", options, lambda: cls(connectivity, **options))


def build_recorders(config: SimulationConfig, connectivity: Connectivity) -> list[str | Recorder]:
    """What `simulate` records: ``run.record`` plus the ``[recorders.*]`` tables."""
    record: list[str | Recorder] = list(config.run.get("record", ["x"]))
    makers: dict[str, Callable[[dict[str, Any]], Recorder]] = {
        "mean_variance": lambda o: MeanVariance(**o),
        "autocorrelation": lambda o: Autocorrelation(**o),
        "subsample": lambda o: Trajectory(**o),
        "currents": lambda o: Projection.currents(connectivity, **o),
        "latents": lambda o: Projection.latents(connectivity, **o),
    }
    for name, options in config.recorders.items():
        record.append(guarded(f"recorders.{name}", options,
                              lambda make=makers[name], o=options: make(o)))
    return record


def simulate_options(config: SimulationConfig) -> dict[str, Any]:
    """Keyword arguments of `rnndyn.simulate.simulate` from ``[run]`` (all but ``record``)."""
    return {key: value for key, value in config.run.items() if key != "record"}
