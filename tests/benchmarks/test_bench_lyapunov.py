"""Smoke test of benchmarks/bench_lyapunov.py: the 1/N extrapolation, a tiny run, the merge."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_lyapunov.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_lyapunov", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_extrapolation_recovers_a_known_limit():
    # lambda(N) = 0.11 - 8 / N exactly, with made-up standard errors: the weighted fit must
    # return the limit and slope, and an SE that grows when the data's SEs grow.
    sizes = [500, 1000, 2000, 4000]
    rows = [bench.SizeRow(n, 100.0, [0.11 - 8 / n - 0.001, 0.11 - 8 / n + 0.001],
                          [0.002, 0.002], 1.0) for n in sizes]
    fit = bench.extrapolate(rows)
    assert fit.limit == pytest.approx(0.11, abs=1e-12)
    assert fit.slope == pytest.approx(-8.0, abs=1e-9)
    wider = [bench.SizeRow(r.n, r.t_max, [r.mean - 0.01, r.mean + 0.01], r.temporal_se, 1.0)
             for r in rows]
    assert bench.extrapolate(wider).limit_se > 5 * fit.limit_se


def test_config_durations():
    config = bench.Config()
    assert config.duration(2000) == 600.0 and config.duration(3000) == 300.0


def test_quick_run_writes_its_sections(tmp_path):
    torch.set_num_threads(1)
    path = tmp_path / "RESULTS.md"
    other = "<!-- accuracy_theory.py: begin -->\ntheory table\n<!-- accuracy_theory.py: end -->"
    path.write_text(f"# results\n\nnotes\n\n{other}\n")
    assert bench.main(["--quick", "--threads", "1", "--output", str(path)]) == 0
    text = path.read_text()
    for marker in (bench.BEGIN, bench.END, bench.SPEED_BEGIN, bench.SPEED_END):
        assert text.count(marker) == 1
    assert other in text and "notes" in text
    accuracy = text[text.index(bench.BEGIN):text.index(bench.END)]
    speed = text[text.index(bench.SPEED_BEGIN):text.index(bench.SPEED_END)]
    assert "| 100 | 100 | 2 |" in accuracy and "| 200 | 100 | 2 |" in accuracy
    # The full-spectrum row: N = 100 exponents whose sum matches the flow's divergence.
    row = next(line for line in speed.splitlines() if line.startswith("| 100 | "))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    exponent_sum, divergence = (float(v) for v in cells[7].split(" / "))
    # Both are time averages over different finite runs (t = 20): the divergence's spread
    # over such windows is ~1% of N here, so 3% of N bounds a correct estimator.
    assert exponent_sum == pytest.approx(divergence, abs=0.03 * 100)
    assert float(cells[3].rstrip("x")) > 0
    # Re-running one part replaces its own section only.
    assert bench.main(["--quick", "--threads", "1", "--skip-spectrum", "--seeds", "1",
                       "--output", str(path)]) == 0
    again = path.read_text()
    assert again.count(bench.BEGIN) == 1 and other in again
    assert speed in again and accuracy not in again
    assert "| 100 | 100 | 1 |" in again


def test_mean_divergence_of_a_linear_regime():
    # Tiny weights: x -> 0, phi'(x) -> 1, so the divergence is -N + tr J exactly.
    rng = np.random.default_rng(0)
    j = 0.01 * rng.standard_normal((20, 20))
    value = bench.mean_divergence(j, t_max=5.0, transient=30.0, dt=0.1, seed=1)
    assert value == pytest.approx(-20 + np.trace(j), abs=1e-6)
    assert math.isfinite(value)
