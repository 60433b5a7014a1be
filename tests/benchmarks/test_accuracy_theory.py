"""Smoke test of benchmarks/accuracy_theory.py: a tiny run, the exponent fit, the file merge.

The real table lives in benchmarks/RESULTS.md; here two cheap cases run at N = 200, 400.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy_theory.py"


def _load():
    spec = importlib.util.spec_from_file_location("accuracy_theory", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_fit_exponent_recovers_a_power_law():
    sizes = [1000, 2000, 4000, 8000]
    errors = [3.0 * n**-0.5 for n in sizes]
    assert bench.fit_exponent(sizes, errors) == pytest.approx(-0.5, abs=1e-12)


def test_small_run_of_cheap_cases_and_merge(tmp_path):
    config = bench.quick_config()
    config.seeds = 1
    config.cases = ("fixed point", "rank one, sigma_mn=1.5 ")
    rows, timings = bench.run(config, log=lambda message: None)
    names = {(row.case, row.statistic) for row in rows}
    assert ("fixed point g=0.8, quenched input", "variance of x") in names
    assert any(case.startswith("rank one") for case, _ in names)
    for row in rows:
        assert set(row.errors) == {200, 400}
        # Finite-N deviations at N = 200-400 are a few percent to tens of percent, never 0
        # (that would mean theory and simulation were the same computation) nor O(1).
        assert all(0 < error < 0.6 for error in row.errors.values())
        assert np.isfinite(row.exponent)
    assert timings == []

    path = tmp_path / "RESULTS.md"
    path.write_text(f"# speed\n\n{bench.KEEP_MARKER}\n\nhand-written GPU notes\n")
    text = bench.markdown(rows, [], config, 1.0)
    bench.write_atomically(path, bench.merge_into(path, text))
    first = path.read_text()
    assert first.startswith("# speed") and "hand-written GPU notes" in first
    assert first.count(bench.BEGIN) == 1 and first.count(bench.END) == 1
    # A second run replaces its own section; --keep carries over rows it did not rerun.
    kept = bench.kept_rows(path, rows[:1], config.sizes)
    assert len(kept) == len(rows) - 1
    bench.write_atomically(path, bench.merge_into(path, bench.markdown(rows[:1], [], config,
                                                                       1.0, kept)))
    second = path.read_text()
    assert second.count(bench.BEGIN) == 1
    assert second.count("| fixed point") + second.count("| rank one") == len(rows)
