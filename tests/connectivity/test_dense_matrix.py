"""dense(matrix): a user-given matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnndyn.connectivity import DenseConnectivity, dense

from ._helpers import assert_apply_matches_dense


def test_dense_keeps_the_matrix_as_float64_copy() -> None:
    matrix = np.arange(6, dtype=np.float32).reshape(2, 3)
    conn = dense(matrix)
    assert isinstance(conn, DenseConnectivity)
    assert conn.shape == (2, 3)
    assert conn.n == 2
    result = conn.to_dense()
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, matrix)
    matrix[0, 0] = 100.0
    assert conn.to_dense()[0, 0] == 0.0
    result[0, 1] = 50.0  # to_dense returns a copy
    assert conn.to_dense()[0, 1] == 1.0
    assert not conn.matrix.flags.writeable


def test_dense_apply_rectangular_and_square() -> None:
    rng = np.random.default_rng(0)
    assert_apply_matches_dense(dense(rng.standard_normal((7, 4))))
    assert_apply_matches_dense(dense(rng.standard_normal((30, 30))))


def test_dense_apply_known_values() -> None:
    conn = dense([[1.0, 2.0], [3.0, 4.0]])
    out = conn.apply(torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=torch.float64))
    np.testing.assert_array_equal(out.numpy(), [[3.0, 7.0], [1.0, 3.0]])


def test_dense_describe_summarises_matrix() -> None:
    summary = dense(np.eye(3)).describe()
    assert summary == {
        "kind": "dense",
        "shape": [3, 3],
        "matrix": {"shape": [3, 3], "dtype": "float64"},
    }


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.ones(3), "matrix must have 2 dimensions"),
        (np.ones((2, 2, 2)), "matrix must have 2 dimensions"),
        (np.zeros((0, 3)), "matrix must have at least one row and one column"),
        (np.array([[1.0, np.nan]]), "matrix must be finite"),
        (np.array([[1.0, np.inf]]), "matrix must be finite"),
        ("abc", "matrix must be an array of numbers"),
    ],
)
def test_dense_rejects_bad_matrix(matrix: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dense(matrix)
