"""Seeds: reproducibility of every random builder and the recorded seed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import rnndyn.connectivity as conn_pkg
from rnndyn.connectivity import Connectivity
from rnndyn.connectivity._random import resolve_seed

RANDOM_BUILDERS: dict[str, Callable[..., Connectivity]] = {
    "gaussian": lambda seed: conn_pkg.gaussian(20, 1.0, seed=seed),
    "random_low_rank": lambda seed: conn_pkg.random_low_rank(20, 2, seed=seed),
    "multiregion": lambda seed: conn_pkg.multiregion([8, 12], 1.0, {(1, 0): 2}, seed=seed),
    "sparse": lambda seed: conn_pkg.sparse(20, 0.3, 1.0, seed=seed),
    "dale": lambda seed: conn_pkg.dale(20, seed=seed),
}


@pytest.fixture(params=sorted(RANDOM_BUILDERS))
def build(request: pytest.FixtureRequest) -> Callable[..., Connectivity]:
    return RANDOM_BUILDERS[request.param]


def test_same_seed_same_matrix_different_seed_different(build: Callable) -> None:
    np.testing.assert_array_equal(build(7).to_dense(), build(7).to_dense())
    assert not np.array_equal(build(7).to_dense(), build(8).to_dense())
    assert build(7).params["seed"] == 7


def test_seed_none_records_entropy_that_reproduces(build: Callable) -> None:
    first = build(None)
    assert isinstance(first.params["seed"], int)
    np.testing.assert_array_equal(build(first.params["seed"]).to_dense(), first.to_dense())
    assert not np.array_equal(build(None).to_dense(), first.to_dense())


def test_generator_seed_records_state_before_draws(build: Callable) -> None:
    generator = np.random.default_rng(3)
    generator.standard_normal(5)  # a used generator: the record must be its current state
    first = build(generator)
    replay = np.random.default_rng()
    replay.bit_generator.state = first.params["seed"]["generator_state"]
    np.testing.assert_array_equal(build(replay).to_dense(), first.to_dense())
    # The generator advanced, so the next matrix differs.
    assert not np.array_equal(build(generator).to_dense(), first.to_dense())


def test_int_seed_matches_default_rng_generator(build: Callable) -> None:
    np.testing.assert_array_equal(
        build(11).to_dense(), build(np.random.default_rng(11)).to_dense()
    )


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True, [1, -2]])
def test_bad_seed_is_rejected_naming_seed(build: Callable, bad: object) -> None:
    with pytest.raises(ValueError, match="seed must be an int >= 0, a non-empty sequence"):
        build(bad)


def test_resolve_seed_accepts_numpy_integers() -> None:
    generator, record = resolve_seed(np.int64(4))
    assert record == 4
    assert generator.random() == np.random.default_rng(4).random()


def test_resolve_seed_accepts_a_sequence_of_ints() -> None:
    generator, record = resolve_seed([3, 1])
    assert record == [3, 1]
    assert generator.random() == np.random.default_rng([3, 1]).random()
    assert resolve_seed((3, 2))[0].random() != np.random.default_rng([3, 1]).random()
    for bad in ([], [1, -2], [1.5], [True]):
        with pytest.raises(ValueError, match="seed"):
            resolve_seed(bad)
