"""Smoke test of examples/constraints/: each script's --quick mode, in-process, into tmp_path.

Checks that the figure, the CSV and the JSON are written (and nothing else is left behind,
e.g. temporary files), that every number in them is finite, and one known outcome per
script that does not depend on training going well: without recurrence (g = 0) an impulse
is not recalled; pruned networks end at their target sparsity; every network's sparsity and
accuracy are fractions. About 20-30 s in all (the scientific result needs the default mode,
see examples/constraints/README.md).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "constraints"
SCRIPTS = ("impulse_memory", "pruning_distractors", "spatial_modularity")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))   # the scripts import their _common.py
    spec = importlib.util.spec_from_file_location(f"constraints_example_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def _numbers(value):
    """Every number in a JSON value (None, i.e. NaN, counts as a number too)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        yield value


def _run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, dict]:
    torch.set_num_threads(1)
    module = _load(name, monkeypatch)
    assert module.main(["--quick", "--no-progress", "--output-dir", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}.{ext}" for ext in ("csv", "json", "png"))
    png = (tmp_path / f"{name}.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    with open(tmp_path / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        for key, text in row.items():
            try:
                value = float(text)
            except ValueError:
                continue   # a label (condition, family)
            assert math.isfinite(value), (key, row)
    record = json.loads((tmp_path / f"{name}.json").read_text())
    assert record["quick"] is True and record["script"] == name
    numbers = list(_numbers(record["summary"]))
    assert numbers and all(v is not None and math.isfinite(v) for v in numbers)
    return rows, record


@pytest.mark.slow
def test_impulse_memory_quick(tmp_path, monkeypatch):
    rows, record = _run("impulse_memory", tmp_path, monkeypatch)
    # No connectivity: the state holds only the current input, nothing 30 steps back.
    for row in rows:
        if float(row["g"]) == 0.0:
            assert abs(float(row["r2"])) < 0.05 and float(row["accuracy"]) < 0.05
    assert record["peak_g_noisy_r2"] > 0


@pytest.mark.slow
def test_pruning_distractors_quick(tmp_path, monkeypatch):
    rows, record = _run("pruning_distractors", tmp_path, monkeypatch)
    for network in record["networks"]:
        n = record["config"]["n_neurons"]
        assert abs(network["sparsity"] - network["target_sparsity"]) <= 1 / n**2
    assert {float(r["distractor"]) for r in rows} == set(record["config"]["test_distractors"])
    assert all(0 <= float(r["accuracy"]) + float(r["distracted"]) <= 1 for r in rows)


@pytest.mark.slow
def test_spatial_modularity_quick(tmp_path, monkeypatch):
    rows, record = _run("spatial_modularity", tmp_path, monkeypatch)
    assert {r["family"] for r in rows} == set(record["summary"]) == {"L1", "spatial"}
    for row in rows:
        assert 0 <= float(row["sparsity"]) <= 1 and 0 <= float(row["accuracy"]) <= 1
        assert float(row["Q"]) < 1 and float(row["sigma"]) > 0
