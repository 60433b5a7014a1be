"""Behaviour shared by every Connectivity: apply, cache, eigvals, describe, composition."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest
import torch

import rnndyn.connectivity as conn_pkg
from rnndyn._errors import ConvergenceError
from rnndyn.connectivity import Connectivity, DenseConnectivity, SumConnectivity
from rnndyn.connectivity.base import to_jsonable

from ._helpers import FLOAT64_RTOL, relative_error


def builders() -> dict[str, Connectivity]:
    """One small instance of every kind of connectivity."""
    n = 24
    rng = np.random.default_rng(5)
    return {
        "dense": conn_pkg.dense(rng.standard_normal((n, n))),
        "gaussian": conn_pkg.gaussian(n, 1.2, mean=0.5, seed=1),
        "low_rank": conn_pkg.low_rank(rng.standard_normal((n, 2)), rng.standard_normal((n, 2))),
        "random_low_rank": conn_pkg.random_low_rank(n, 3, seed=2),
        "multiregion": conn_pkg.multiregion([10, 14], [1.0, 0.5], {(0, 1): 2, (1, 1): 1}, seed=3),
        "sparse": conn_pkg.sparse(n, 0.3, 1.0, seed=4),
        "dale": conn_pkg.dale(n, row_balance=True, seed=5),
        "sum": conn_pkg.gaussian(n, 1.0, seed=6) + conn_pkg.random_low_rank(n, 1, seed=7),
    }


ALL = builders()


@pytest.fixture(params=sorted(ALL))
def conn(request: pytest.FixtureRequest) -> Connectivity:
    conn = ALL[request.param]
    conn.clear_cache()
    return conn


def test_apply_accepts_any_leading_shape(conn: Connectivity) -> None:
    n = conn.n
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, n)))
    expected = x.numpy() @ conn.to_dense().T
    out = conn.apply(x)
    assert out.shape == (2, 3, n)
    assert relative_error(out.numpy(), expected) < FLOAT64_RTOL
    single = conn.apply(x[0, 0])
    assert single.shape == (n,)
    assert relative_error(single.numpy(), expected[0, 0]) < FLOAT64_RTOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_apply_keeps_dtype_and_device(conn: Connectivity, dtype: torch.dtype) -> None:
    x = torch.ones(4, conn.n, dtype=dtype)
    out = conn.apply(x)
    assert out.dtype == dtype
    assert out.device == x.device


def test_apply_returns_a_fresh_tensor(conn: Connectivity) -> None:
    # Simulators update apply's output in place; that must not corrupt the next call.
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((3, conn.n)))
    first = conn.apply(x)
    reference = first.clone()
    first.mul_(0.0).add_(1.0)
    np.testing.assert_array_equal(conn.apply(x).numpy(), reference.numpy())


def test_apply_is_differentiable_in_x(conn: Connectivity) -> None:
    # d/dx sum(w * (x @ J^T)) = w @ J, checked against the dense matrix.
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.standard_normal((2, conn.n))).requires_grad_(True)
    weights = torch.from_numpy(rng.standard_normal((2, conn.n)))
    (conn.apply(x) * weights).sum().backward()
    expected = weights.numpy() @ conn.to_dense()
    assert relative_error(x.grad.numpy(), expected) < FLOAT64_RTOL


def test_apply_builds_device_tensors_once_per_dtype(
    conn: Connectivity, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = conn._prepare

    def counting_prepare(device: torch.device, dtype: torch.dtype) -> object:
        calls.append(dtype)
        return original(device, dtype)

    monkeypatch.setattr(conn, "_prepare", counting_prepare)
    x64 = torch.ones(1, conn.n, dtype=torch.float64)
    for _ in range(3):
        conn.apply(x64)
        conn.apply(x64.float())
    assert calls == [torch.float64, torch.float32]
    conn.clear_cache()
    conn.apply(x64)
    assert calls == [torch.float64, torch.float32, torch.float64]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_apply_on_cuda_matches_cpu(conn: Connectivity, dtype: torch.dtype) -> None:
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((4, conn.n))).to(dtype)
    out = conn.apply(x.cuda())
    assert out.device.type == "cuda"
    assert out.dtype == dtype
    # TF32 is off by default for float32 matmul in torch; allow float32 roundoff (see helpers).
    tolerance = FLOAT64_RTOL if dtype == torch.float64 else 1e-4
    expected = x.double().numpy() @ conn.to_dense().T
    assert relative_error(out.cpu().double().numpy(), expected) < tolerance


def test_apply_rejects_bad_x(conn: Connectivity) -> None:
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 24\), got \(2, 23\)"):
        conn.apply(torch.zeros(2, conn.n - 1))
    with pytest.raises(ValueError, match="x must have shape"):
        conn.apply(torch.tensor(1.0))
    with pytest.raises(ValueError, match="x must have a floating point dtype"):
        conn.apply(torch.zeros(2, conn.n, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"x must be a torch\.Tensor"):
        conn.apply(np.zeros((2, conn.n)))


def test_describe_is_json_serialisable(conn: Connectivity) -> None:
    summary = conn.describe()
    assert summary["kind"] == conn.kind == conn.params["kind"]
    assert summary["shape"] == [conn.n, conn.n]
    assert json.loads(json.dumps(summary)) == summary


def test_repr_names_class_kind_and_shape(conn: Connectivity) -> None:
    text = repr(conn)
    assert text.startswith(type(conn).__name__ + "(")
    assert f"kind={conn.kind!r}" in text
    assert f"shape=({conn.n}, {conn.n})" in text


def test_eigvals_all_are_dense_eigenvalues_sorted(conn: Connectivity) -> None:
    values = conn.eigvals()
    assert values.dtype == np.complex128
    assert values.shape == (conn.n,)
    expected = np.linalg.eigvals(conn.to_dense())
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(expected), atol=1e-10)
    moduli = np.abs(values)
    assert np.all(np.diff(moduli) <= 1e-12)
    by_real = conn.eigvals(which="LR")
    assert np.all(np.diff(by_real.real) <= 1e-12)


def test_eigvals_k_match_largest_dense(conn: Connectivity) -> None:
    from ._helpers import assert_top_eigenvalues_match_dense

    rank_limited = conn.kind in {"low_rank", "random_low_rank"}
    assert_top_eigenvalues_match_dense(conn, 2 if rank_limited else 4, "LM")
    if not rank_limited:
        assert_top_eigenvalues_match_dense(conn, 3, "LR")


def test_eigvals_large_k_falls_back_to_dense(conn: Connectivity) -> None:
    # ARPACK needs k < n - 1; k = n - 1 and k = n use the dense spectrum.
    everything = conn.eigvals()
    np.testing.assert_array_equal(conn.eigvals(conn.n), everything)
    np.testing.assert_array_equal(conn.eigvals(conn.n - 1), everything[:-1])


def test_eigvals_rejects_bad_arguments(conn: Connectivity) -> None:
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        conn.eigvals(0)
    with pytest.raises(ValueError, match="k must be an integer"):
        conn.eigvals(2.5)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 24\], got 25"):
        conn.eigvals(conn.n + 1)
    with pytest.raises(ValueError, match="which must be one of 'LM', 'LR', got 'SM'"):
        conn.eigvals(2, which="SM")


def test_eigvals_needs_square() -> None:
    rectangular = DenseConnectivity(np.ones((3, 4)))
    assert rectangular.shape == (3, 4)
    with pytest.raises(ValueError, match=r"square connectivity, got shape \(3, 4\)"):
        rectangular.eigvals()


def test_eigvals_reports_arpack_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import scipy.sparse.linalg

    def failing_eigs(*args: object, **kwargs: object) -> None:
        raise scipy.sparse.linalg.ArpackNoConvergence("no", np.zeros(1), np.zeros((1, 1)))

    monkeypatch.setattr(scipy.sparse.linalg, "eigs", failing_eigs)
    with pytest.raises(ConvergenceError, match="ARPACK found 1 of k=3"):
        ALL["gaussian"].eigvals(3)

    def erroring_eigs(*args: object, **kwargs: object) -> None:
        raise scipy.sparse.linalg.ArpackError(-9)

    monkeypatch.setattr(scipy.sparse.linalg, "eigs", erroring_eigs)
    with pytest.raises(ConvergenceError, match=r"ARPACK failed for k=3 .* eigvals\(k=None\)"):
        ALL["gaussian"].eigvals(3)


def test_eigvals_sorting_breaks_ties_deterministically() -> None:
    # diag blocks with eigenvalues 2, -2, 1 +- 1j*sqrt(3) (|lambda| = 2 for all four)
    rotation = np.array([[1.0, -np.sqrt(3.0)], [np.sqrt(3.0), 1.0]])
    matrix = np.zeros((4, 4))
    matrix[0, 0], matrix[1, 1] = -2.0, 2.0
    matrix[2:, 2:] = rotation
    values = DenseConnectivity(matrix).eigvals()
    expected = [2.0, 1 + 1j * np.sqrt(3.0), 1 - 1j * np.sqrt(3.0), -2.0]
    np.testing.assert_allclose(values, expected, atol=1e-12)


def test_add_and_builtin_sum_make_sum_connectivity() -> None:
    first, second = ALL["gaussian"], ALL["sparse"]
    total = first + second
    assert isinstance(total, SumConnectivity)
    np.testing.assert_allclose(total.to_dense(), first.to_dense() + second.to_dense(), atol=0)
    via_builtin = builtins.sum([first, second])
    assert isinstance(via_builtin, SumConnectivity)
    np.testing.assert_array_equal(via_builtin.to_dense(), total.to_dense())
    with pytest.raises(TypeError):
        first + 1.0
    with pytest.raises(TypeError):
        1 + first


def test_params_is_a_copy() -> None:
    conn = conn_pkg.gaussian(5, 1.0, seed=0)
    conn.params["g"] = 100.0
    assert conn.params["g"] == 1.0


def test_to_jsonable_summarises_arrays_and_keys() -> None:
    value = {
        (0, 1): np.zeros((2, 3)),
        "t": torch.zeros(4, dtype=torch.float32),
        "x": (np.float64(1.5), np.int64(2), None, True),
        "other": object,
    }
    result = to_jsonable(value)
    assert result["(0, 1)"] == {"shape": [2, 3], "dtype": "float64"}
    assert result["t"] == {"shape": [4], "dtype": "torch.float32"}
    assert result["x"] == [1.5, 2, None, True]
    assert result["other"] == repr(object)
    json.dumps(result)


def test_params_must_name_kind() -> None:
    with pytest.raises(ValueError, match="params must contain a 'kind'"):
        DenseConnectivity(np.eye(2), params={"g": 1.0})
