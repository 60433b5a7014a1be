"""Smoke test of benchmarks/bench_memory.py: a quick run (N = 20, T = 3000), a few seconds.

Also checks that the script replaces only its own section of a RESULTS.md file, and says so
there when reservoirpy is missing.
"""

from __future__ import annotations

import importlib.util
import math
import platform
import sys
from pathlib import Path

import pytest
import torch
from _results_sections import HAND, OTHER, TAIL, section, stale

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


STALE = stale(bench.BEGIN, bench.END)


def _section(text: str) -> str:
    return section(text, bench.BEGIN, bench.END)


def _rows(section: str) -> list[list[str]]:
    """The table's data rows, as cells."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in section.splitlines() if line.startswith(("| tanh ", "| identity "))]
    assert rows and all(len(row) == 12 for row in rows)
    return rows


def _check_rows(section: str, n: int, reservoirpy: bool) -> None:
    for row in _rows(section):
        mc, train, null, sd = (float(cell) for cell in row[2:6])
        theirs, difference, exact = row[6], row[7], row[9]
        assert all(math.isfinite(value) for value in (mc, train, null, sd))
        # Memory capacity is at most N (lags 1..N), well above the shuffled-input null.
        assert 0 < mc <= n and 0 < train <= n and 0 <= null < mc and 0 < sd < 1
        if row[0] == "identity":
            assert 0 < float(exact) <= n
        else:
            assert exact == "-"
        if reservoirpy:
            assert abs(float(theirs) - mc) < 1e-3 and abs(float(difference)) < 1e-3
        else:
            assert theirs == difference == "-"


def test_main_writes_and_replaces_its_section(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    results = tmp_path / "RESULTS.md"
    results.write_text(HAND + OTHER + "\n" + STALE + TAIL)
    installed = bench.load_reservoirpy() is not None
    assert bench.main(["--quick", "--output", str(results)]) == 0
    text = results.read_text()
    section = _section(text)
    assert text == HAND + OTHER + "\n" + section + TAIL  # everything else kept, in place
    assert "old numbers" not in text
    for fact in ("Written by `benchmarks/bench_memory.py` on ", " UTC; the run took ",
                 platform.processor() or platform.machine(), "1 torch thread, ",
                 "OMP_NUM_THREADS=", "torch ", "numpy ", "load average (1, 5, 15 min) ",
                 " before, ", " after.", "Memory capacity, N = 20, lags 1..20, T = 3000"):
        assert fact in section, fact
    _check_rows(section, 20, installed)
    assert [row[:2] for row in _rows(section)] == [["tanh", "0.9"], ["identity", "0.8"]]
    if installed:
        assert "agree within 3 sd + null in 2 of 2 rows" in section
        assert "times reservoirpy's time" in section
    else:
        assert "reservoirpy is not installed" in section

    # A second run, reservoirpy missing, replaces only this section and says so.
    monkeypatch.setattr(bench, "load_reservoirpy", lambda: None)
    assert bench.main(["--quick", "--n", "10", "--steps", "1500",
                       "--output", str(results)]) == 0
    second = results.read_text()
    new_section = _section(second)
    assert second == HAND + OTHER + "\n" + new_section + TAIL
    assert "reservoirpy is not installed" in new_section
    assert "reservoirpy not installed)" in new_section
    assert "Memory capacity, N = 10, lags 1..10, T = 1500" in new_section
    _check_rows(new_section, 10, reservoirpy=False)
