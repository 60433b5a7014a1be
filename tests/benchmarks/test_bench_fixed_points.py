"""Smoke test of benchmarks/bench_fixed_points.py in quick mode (N = 24, 16 starts; seconds).

The real numbers come from running the script; here the report's shape is checked, and that
both methods agree on the points found from the same starts (a disagreement is a defect of
one of them, not noise: both are deterministic given the seed).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fixed_points.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_fixed_points", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def test_quick_benchmark_report():
    report = bench.run_benchmark(bench.quick_config(), log=lambda message: None)
    for key in ("batched_seconds", "naive_seconds", "ratio_naive_over_batched"):
        assert math.isfinite(report[key]) and report[key] > 0
    assert report["n_neurons"] == 24
    # The batched points are true fixed points (Newton-polished to |F| <= 1e-10).
    assert report["batched_max_residual"] <= 1e-10
    assert 1 <= report["batched_stable"] <= 8 and report["batched_fixed"] <= 27
    assert report["same_points"]
    text = bench.format_report(report)
    assert "ratio naive / batched" in text and "same points" in text


def test_closed_form_flip_flop_without_bulk():
    # Without the bulk the fixed points are known: each bit's latent is 0 or +-k*, with
    # k* = 2 tanh k*; the network helper must produce exactly that structure.
    network, m = bench.flip_flop(4, 2.0, 0.0, seed=0)
    assert network.n == 12 and m.shape == (12, 3)
    j = network.connectivity.to_dense()
    block = j[:4, :4]
    assert abs(block @ m[:4, 0] @ m[:4, 0] / 4 - 2.0) < 1e-12  # m^T J m / |m|^2 = gain 2
    assert abs(j[:4, 4:]).max() == 0.0
    cfg, path = bench.parse_args(["--quick", "--n-initial", "8"])
    assert cfg.n_initial == 8 and cfg.n_per_bit == 8 and path is None
