"""Seed handling shared by the random connectivity builders.

Every builder turns its ``seed`` into a :class:`numpy.random.Generator` here and records, in its
``params``, something from which the same matrix can be rebuilt: the int seed itself, the
entropy that was drawn when ``seed`` is None, or the generator's state before any draw.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np

Seed: TypeAlias = int | np.random.Generator | None


def resolve_seed(seed: Any) -> tuple[np.random.Generator, Any]:
    """Return ``(generator, record)`` for ``seed``.

    Parameters
    ----------
    seed : int >= 0, numpy.random.Generator or None
        An int gives ``numpy.random.default_rng(seed)``; a Generator is used as is (its state
        advances); None draws fresh OS entropy.

    Returns
    -------
    generator : numpy.random.Generator
    record : int or dict
        JSON-serialisable and sufficient to rebuild the same draws: the int seed, the drawn
        entropy (an int, so ``default_rng(record)`` repeats a ``seed=None`` draw), or
        ``{"generator_state": ...}`` holding the bit generator's state before the draws.

    Raises
    ------
    ValueError
        If ``seed`` is a bool, a negative int or of another type.
    """
    if seed is None:
        sequence = np.random.SeedSequence()
        return np.random.default_rng(sequence), int(sequence.entropy)
    if isinstance(seed, np.random.Generator):
        state = seed.bit_generator.state
        return seed, {"generator_state": state}
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise ValueError(f"seed must be an int >= 0, a numpy Generator or None, got {seed!r}")
        return np.random.default_rng(int(seed)), int(seed)
    raise ValueError(
        f"seed must be an int >= 0, a numpy Generator or None, got {type(seed).__name__} {seed!r}"
    )
