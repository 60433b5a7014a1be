"""Smoke test of benchmarks/bench_fixed_points.py in quick mode (N = 24, 16 starts; seconds).

The real numbers come from running the script; here the report's shape is checked, that both
methods agree on the points found from the same starts (a disagreement is a defect of one of
them, not noise: both are deterministic given the seed), that without the bulk every point
found is one of the closed-form ones, and that the script replaces only its own section of a
RESULTS.md file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import platform
import re
import sys
from pathlib import Path

import numpy as np
from _results_sections import HAND, OTHER, TAIL, section, stale

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fixed_points.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_fixed_points", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


STALE = stale(bench.BEGIN, bench.END)


def _section(text: str) -> str:
    return section(text, bench.BEGIN, bench.END)


def _check_report(report: dict) -> None:
    for key in ("batched_seconds", "naive_seconds", "ratio_naive_over_batched"):
        assert math.isfinite(report[key]) and report[key] > 0
    assert report["n_neurons"] == 24
    # The batched points are true fixed points (Newton-polished to |F| <= 1e-10).
    assert report["batched_max_residual"] <= 1e-10
    assert 1 <= report["batched_stable"] <= 8 and report["batched_fixed"] <= 27
    assert report["same_points"]


def _numbers(section: str) -> dict[str, float]:
    """The numbers of the report's code block, parsed back from the Markdown."""
    batched = re.search(r"batched \(rnndyn\) +([\d.]+) s, (\d+) fixed, (\d+) stable", section)
    naive = re.search(r"naive re-run +([\d.]+) s, (\d+) points, (\d+) stable", section)
    ratio = re.search(r"ratio naive / batched +([\d.]+)x", section)
    assert batched and naive and ratio, section
    return {"batched_s": float(batched[1]), "fixed": int(batched[2]),
            "stable": int(batched[3]), "naive_s": float(naive[1]), "naive": int(naive[2]),
            "naive_stable": int(naive[3]), "ratio": float(ratio[1])}


def test_main_writes_and_replaces_its_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(HAND + OTHER + "\n" + STALE + TAIL)
    # Without the bulk the fixed points are known (27, 8 stable): the closed-form row.
    report_path = tmp_path / "report.json"
    assert bench.main(["--quick", "--bulk-g", "0", "--output", str(results),
                       "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    _check_report(report)
    text = results.read_text()
    section = _section(text)
    assert text == HAND + OTHER + "\n" + section + TAIL  # everything else kept, in place
    assert "old numbers" not in text
    for fact in ("Written by `benchmarks/bench_fixed_points.py` on ", " UTC; the run took ",
                 platform.processor() or platform.machine(), "1 torch thread, ",
                 "OMP_NUM_THREADS=", "torch ", "numpy ", "load average (1, 5, 15 min) ",
                 " before, ", " after."):
        assert fact in section, fact
    numbers = _numbers(section)
    assert numbers["fixed"] == report["batched_fixed"] == numbers["naive"]
    assert numbers["stable"] == report["batched_stable"] == numbers["naive_stable"]
    assert numbers["ratio"] > 0 and numbers["batched_s"] > 0 and numbers["naive_s"] > 0
    assert abs(numbers["ratio"] - report["ratio_naive_over_batched"]) <= 0.051
    assert abs(report["ratio_naive_over_batched"]
               - report["naive_seconds"] / report["batched_seconds"]) < 1e-9
    closed = re.search(r"closed form +27 fixed, 8 stable; batched found (\d+)/27 "
                       r"\((\d+)/8 stable\), of its points (\d+)/(\d+) are", section)
    assert closed, section
    found, stable_found, genuine, total = (int(value) for value in closed.groups())
    # Every point found is one of the 27, and each was found once (no duplicates).
    assert found == genuine == total == numbers["fixed"] >= 1
    assert stable_found == numbers["stable"] <= 8
    assert report["expected_fixed"] == 27 and report["expected_stable"] == 8

    # A second run (default quick network, with the bulk, 6 starts) replaces only its section.
    assert bench.main(["--quick", "--n-initial", "6", "--output", str(results)]) == 0
    second = results.read_text()
    new_section = _section(second)
    assert second == HAND + OTHER + "\n" + new_section + TAIL
    assert new_section != section and "closed form" not in new_section
    assert re.search(r"starts +6\n", new_section) and "bulk g = 0.2" in new_section
    again = _numbers(new_section)
    assert again["fixed"] == again["naive"] and 0 < again["ratio"]


def test_closed_form_flip_flop_without_bulk():
    # Without the bulk the fixed points are known: each bit's latent is 0 or +-k*, with
    # k* = 2 tanh k*; the network helper must produce exactly that structure.
    network, m = bench.flip_flop(4, 2.0, 0.0, seed=0)
    assert network.n == 12 and m.shape == (12, 3)
    j = network.connectivity.to_dense()
    block = j[:4, :4]
    assert abs(block @ m[:4, 0] @ m[:4, 0] / 4 - 2.0) < 1e-12  # m^T J m / |m|^2 = gain 2
    assert abs(j[:4, 4:]).max() == 0.0
    cfg, path, output = bench.parse_args(["--quick", "--n-initial", "8"])
    assert cfg.n_initial == 8 and cfg.n_per_bit == 8 and path is None
    assert output == bench.DEFAULT_OUTPUT and output.name == "RESULTS.md"
    # The closed-form points are fixed points of the network (F = -x + J tanh(x) = 0).
    points, stable = bench.closed_form_points(m, 2.0)
    assert points.shape == (27, 12) and stable.sum() == 8
    assert abs(-points + (j @ np.tanh(points).T).T).max() < 1e-9
