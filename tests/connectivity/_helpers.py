"""Checks shared by the connectivity tests."""

from __future__ import annotations

import numpy as np
import torch

from rnndyn.connectivity import Connectivity

# float64: the structured and dense products differ only in summation order, so the error is a
# few ulps times sqrt(n) (~1e-14 for n <= 1000); 1e-10 leaves a wide margin yet would catch
# any wrong entry, scaling or transposition (errors of order 1).
FLOAT64_RTOL = 1e-10
# float32: unit roundoff 6e-8 times an accumulation factor ~sqrt(n) plus the rounding of J's
# entries to float32 gives relative errors ~1e-6 for n <= 1000; 1e-4 is still 1e4 times
# smaller than any structural mistake.
FLOAT32_RTOL = 1e-4


def relative_error(result: np.ndarray, expected: np.ndarray) -> float:
    """Frobenius-norm relative error ||result - expected|| / ||expected||."""
    scale = np.linalg.norm(expected)
    return float(np.linalg.norm(result - expected) / (scale if scale > 0 else 1.0))


def random_batch(n: int, batch: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, n))


def assert_apply_matches_dense(conn: Connectivity, batch: int = 5, seed: int = 0) -> None:
    """``apply`` equals ``x @ to_dense().T`` in float64 and float32, keeping the dtype."""
    x = random_batch(conn.shape[1], batch, seed)
    expected = x @ conn.to_dense().T
    out64 = conn.apply(torch.from_numpy(x))
    assert out64.dtype == torch.float64
    assert out64.shape == (batch, conn.shape[0])
    assert relative_error(out64.numpy(), expected) < FLOAT64_RTOL
    out32 = conn.apply(torch.from_numpy(x).to(torch.float32))
    assert out32.dtype == torch.float32
    assert relative_error(out32.numpy().astype(np.float64), expected) < FLOAT32_RTOL


def assert_top_eigenvalues_match_dense(conn: Connectivity, k: int, which: str = "LM") -> None:
    """ARPACK's k eigenvalues equal the first k of the sorted dense spectrum.

    k is raised until the cut does not split a complex-conjugate pair (equal |lambda| or real
    part), since ARPACK may then return either member.
    """
    dense_values = np.linalg.eigvals(conn.to_dense())
    key = np.abs(dense_values) if which == "LM" else dense_values.real
    order = np.argsort(-key)
    while k < len(order) - 2 and abs(key[order[k - 1]] - key[order[k]]) < 1e-9:
        k += 1
    expected = dense_values[order][:k]
    result = conn.eigvals(k, which=which)
    assert result.shape == (k,)
    # Compare as multisets: sort both by (real, imag). ARPACK converges to ~1e-12 relative
    # accuracy by default (tol = machine precision); 1e-8 absorbs eigenvalue conditioning of
    # these small non-normal matrices.
    def canonical(values: np.ndarray) -> np.ndarray:
        return values[np.lexsort((values.imag.round(8), values.real.round(8)))]

    np.testing.assert_allclose(canonical(result), canonical(expected), atol=1e-8, rtol=0)
