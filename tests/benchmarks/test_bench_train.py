"""Smoke test of benchmarks/bench_train.py: the quick run (N = 16, 48; seconds) merged into a
RESULTS.md that holds other sections, and the alpha = 1 equivalence it relies on."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import torch
from _results_sections import HAND, OTHER, TAIL, section, stale

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_train", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_raternn_at_alpha_one_is_torch_rnn():
    torch.set_num_threads(1)
    check = bench.equivalence(12, bench.quick_config())
    assert check.output_error < 1e-5 and check.gradient_error < 1e-4


def test_quick_run_writes_its_section_only(tmp_path):
    torch.set_num_threads(1)
    path = tmp_path / "RESULTS.md"
    path.write_text(HAND + OTHER + "\n" + stale(bench.BEGIN, bench.END) + TAIL)
    assert bench.main(["--quick", "--output", str(path)]) == 0
    text = path.read_text()
    ours = section(text, bench.BEGIN, bench.END)  # asserts the markers appear once
    assert "old numbers" not in text
    assert OTHER in text and HAND in text and TAIL.strip() in text
    rows = [line for line in ours.splitlines() if line.startswith("| ") and
            line.split("|")[1].strip().isdigit()]
    assert [int(line.split("|")[1]) for line in rows] == [16, 48]
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        # steps/s, ratios, the ms column ("a / b / c") and the spread: finite and positive.
        numbers = [float(v) for cell in cells[1:] for v in cell.rstrip("x").split(" / ")]
        assert len(numbers) == 10
        assert all(math.isfinite(v) and v > 0 for v in numbers)
    assert "load average" in ours and "torch " in ours and "Criterion" in ours
