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
    seed : int >= 0, sequence of ints >= 0, numpy.random.Generator or None
        An int (or a list/tuple of ints, e.g. ``[experiment, repetition]``) gives
        ``numpy.random.default_rng(seed)``; a Generator is used as is (its state advances);
        None draws fresh OS entropy.

    Returns
    -------
    generator : numpy.random.Generator
    record : int, list or dict
        JSON-serialisable and sufficient to rebuild the same draws: the int seed (or list),
        the drawn entropy (an int, so ``default_rng(record)`` repeats a ``seed=None`` draw), or
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
            raise ValueError("seed must be an int >= 0, a non-empty sequence of such ints, a numpy "
                             f"Generator or None, got {seed!r}")
        return np.random.default_rng(int(seed)), int(seed)
    if isinstance(seed, list | tuple) and seed and all(
            isinstance(item, int | np.integer) and not isinstance(item, bool) and int(item) >= 0
            for item in seed):
        # A sequence of ints is SeedSequence entropy: default_rng([base, k]) gives independent
        # streams per k, the idiom for "seed per (experiment, repetition)".
        entropy = [int(item) for item in seed]
        return np.random.default_rng(entropy), entropy
    raise ValueError(
        "seed must be an int >= 0, a non-empty sequence of such ints, a numpy Generator or "
        f"None, got {type(seed).__name__} {seed!r}"
    )
