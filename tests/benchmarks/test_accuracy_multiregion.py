"""Smoke test of benchmarks/accuracy_multiregion.py: a tiny run, the exponent fit, the merge.

The real table lives in benchmarks/RESULTS.md; here two cheap (g = 0, low-rank) cases run at
N = 200, 400 per region with one seed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy_multiregion.py"


def _load():
    spec = importlib.util.spec_from_file_location("accuracy_multiregion", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_fit_exponent_recovers_a_power_law():
    sizes = [500, 1000, 2000, 4000]
    errors = [2.0 * n**-0.5 for n in sizes]
    assert bench.fit_exponent(sizes, errors) == pytest.approx(-0.5, abs=1e-12)
    assert np.isnan(bench.fit_exponent([500], [0.1]))


def test_extrapolated_threshold():
    # A line through the points recovers its own zero crossing; a rising curve has none.
    gains = [2.0, 2.3, 2.6]
    assert bench.extrapolated_threshold(gains, [1.4 * (2.9 - g) for g in gains]) \
        == pytest.approx(2.9, abs=1e-12)
    assert bench.extrapolated_threshold(gains, [0.1, 0.2, 0.3]) == float("inf")


def test_dense_cases_stop_at_dense_max():
    config = bench.quick_config()
    config.sizes, config.dense_max = (200, 400, 800), 400
    by_name = {(case.name, case.statistic): case for case in bench.all_cases()}
    dense = [case for case in by_name.values() if case.dense]
    cheap = [case for case in by_name.values() if not case.dense]
    assert dense and cheap
    assert all(bench.case_sizes(case, config) == (200, 400) for case in dense)
    assert all(bench.case_sizes(case, config) == (200, 400, 800) for case in cheap)


def test_small_run_of_cheap_cases_and_merge(tmp_path):
    torch.set_num_threads(1)
    config = bench.quick_config()
    config.cases = ("R=2 limit cycle", "triangle, symmetric, g0=0 ")
    rows, timings = bench.run(config, log=lambda message: None)
    names = {(row.case, row.statistic) for row in rows}
    assert ("R=2 limit cycle, g=0", "period") in names
    assert any(case.startswith("R=3 triangle") for case, _ in names)
    assert len(rows) == 4
    assert sorted(row.overlaps for row in rows) == ["exact", "exact", "exact", "sampled"]
    for row in rows:
        assert set(row.errors) == {200, 400}
        # Finite-N deviations at N = 200-400 are a few to tens of percent: never exactly 0
        # (theory and simulation would be one computation) nor O(1).
        assert all(0 < error < 0.6 for error in row.errors.values())
        assert np.isfinite(row.exponent)
    assert timings == []

    path = tmp_path / "RESULTS.md"
    other = ("<!-- accuracy_theory.py: begin (generated) -->\ntheory table\n"
             "<!-- accuracy_theory.py: end -->")
    path.write_text(f"# speed\n\n{bench.KEEP_MARKER}\n\nhand-written notes\n\n{other}\n")
    text = bench.markdown(rows, [("a solver", 0.5, 1.0), ("another", 0.1, None)], config, 1.0)
    assert "\\|S\\|" in text  # pipes in cells are escaped
    bench.write_atomically(path, bench.merge_into(path, text))
    first = path.read_text()
    assert first.startswith("# speed") and "hand-written notes" in first and other in first
    assert first.count(bench.BEGIN) == 1 and first.count(bench.END) == 1
    # A second run replaces its own section only.
    bench.write_atomically(path, bench.merge_into(path, bench.markdown(rows[:1], [], config,
                                                                       2.0)))
    second = path.read_text()
    assert second.count(bench.BEGIN) == 1 and other in second and "hand-written notes" in second
    assert rows[0].case.startswith("R=3 triangle")  # all_cases order
    assert second.count("| R=3 triangle") == 1 and "| R=2 limit cycle" not in second
