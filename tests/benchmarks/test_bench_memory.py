"""Smoke test of benchmarks/bench_memory.py: a quick run (N = 20, T = 3000), a few seconds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_memory.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_memory", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_rnndyn_side_runs_without_reservoirpy(tmp_path):
    torch.set_num_threads(1)
    config = bench.quick_config()
    config.reservoirpy = False
    config.cases = (bench.Case("tanh", 0.9),)
    rows = bench.run(config, log=lambda message: None)
    row = rows[0]
    assert row.reservoirpy is None and row.agrees is None
    # MC <= N, well above the estimation bias, with a sampling sd far below 1.
    assert 5 * row.null < row.rnndyn <= config.n and 0 < row.sd < 0.2
    assert bench.main(["--quick", "--no-reservoirpy", "--n", "10", "--steps", "1500",
                       "--output", str(tmp_path / "table.md")]) == 0
    assert "| identity |" in (tmp_path / "table.md").read_text()


def test_agrees_with_reservoirpy():
    pytest.importorskip("reservoirpy")
    torch.set_num_threads(1)
    rows = bench.run(bench.quick_config(), log=lambda message: None)
    for row in rows:
        # Same reservoir, input, time points and absolute ridge: the two estimates should be
        # the same number up to rounding, far inside the sampling error.
        assert row.agrees
        assert abs(row.difference) < 1e-3 and row.max_lag_difference < 1e-3
