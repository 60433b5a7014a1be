"""sum_connectivities / rnndyn.connectivity.sum / a + b."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnndyn.connectivity as conn_pkg
from rnndyn.connectivity import SumConnectivity, sum_connectivities

from ._helpers import assert_apply_matches_dense, assert_top_eigenvalues_match_dense


def terms() -> list:
    n = 30
    return [
        conn_pkg.gaussian(n, 0.8, seed=0),
        conn_pkg.random_low_rank(n, 2, seed=1),
        conn_pkg.sparse(n, 0.2, 0.5, seed=2),
        conn_pkg.multiregion([10, 20], 0.5, {(1, 0): 1}, seed=3),
    ]


def test_sum_is_sum_of_dense_terms() -> None:
    parts = terms()
    total = sum_connectivities(*parts)
    assert isinstance(total, SumConnectivity)
    expected = sum(part.to_dense() for part in parts)
    np.testing.assert_allclose(total.to_dense(), expected, rtol=1e-14, atol=1e-15)
    assert_apply_matches_dense(total)
    assert_top_eigenvalues_match_dense(total, 4)
    assert_top_eigenvalues_match_dense(total, 3, "LR")


def test_sum_aliases_and_operator_agree() -> None:
    parts = terms()
    via_alias = conn_pkg.sum(*parts)
    via_plus = parts[0] + parts[1] + parts[2] + parts[3]
    np.testing.assert_array_equal(via_alias.to_dense(), via_plus.to_dense())
    assert via_plus.terms == tuple(parts)  # nested sums are flattened
    assert "sum" in conn_pkg.__all__


def test_sum_apply_calls_each_term_once() -> None:
    # The sum never forms a dense matrix: its apply is the terms' applies.
    parts = terms()[:2]
    total = sum_connectivities(*parts)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 30)))
    expected = parts[0].apply(x) + parts[1].apply(x)
    np.testing.assert_array_equal(total.apply(x).numpy(), expected.numpy())


def test_sum_params_list_term_descriptions() -> None:
    parts = terms()[:2]
    total = sum_connectivities(*parts)
    assert total.params["terms"] == [part.describe() for part in parts]
    assert total.describe()["kind"] == "sum"


def test_sum_clear_cache_clears_terms() -> None:
    parts = terms()[:2]
    total = sum_connectivities(*parts)
    total.apply(torch.zeros(1, 30))
    assert all(part._device_cache for part in parts)
    total.clear_cache()
    assert not any(part._device_cache for part in parts)


def test_single_term_sum_equals_term() -> None:
    part = terms()[0]
    np.testing.assert_array_equal(sum_connectivities(part).to_dense(), part.to_dense())


def test_sum_rejects_bad_terms() -> None:
    with pytest.raises(ValueError, match="terms must be a non-empty sequence"):
        sum_connectivities()
    with pytest.raises(ValueError, match=r"terms\[1\] must have the shape of terms\[0\]"):
        sum_connectivities(conn_pkg.gaussian(3, 1.0, seed=0), conn_pkg.gaussian(4, 1.0, seed=0))
    with pytest.raises(ValueError, match=r"terms\[1\] must have the shape"):
        conn_pkg.gaussian(3, 1.0, seed=0) + conn_pkg.gaussian(4, 1.0, seed=0)
    with pytest.raises(ValueError, match=r"terms\[0\] must be a Connectivity, got ndarray"):
        sum_connectivities(np.eye(3))
    with pytest.raises(ValueError, match="terms must be a non-empty sequence"):
        SumConnectivity(conn_pkg.gaussian(3, 1.0, seed=0))
