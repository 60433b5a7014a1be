"""Smoke test of benchmarks/bench_simulate.py in quick mode (N = 200, 400; a few seconds).

The real numbers live in benchmarks/RESULTS.md; here only the shape of the report is checked:
every expected row, every column, finite positive numbers, passing correctness checks. The
reservoirpy columns are n/a when reservoirpy (the `bench` extra) is not installed, as in CI.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_simulate.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_simulate", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
HAS_RESERVOIRPY = bench.load_reservoirpy() is not None


@pytest.fixture(scope="module")
def quick_report():
    return bench.run_benchmark(bench.quick_config(), log=lambda message: None)


def _positive_finite(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def _parse_table(text, header_start):
    """Rows (lists of cells) of the markdown table whose header starts with header_start."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[0], rows[2:]


def test_quick_report_has_every_row_with_positive_rates(quick_report):
    config = quick_report.config
    expected = {(n, batch, structure) for n in config.sizes for batch in config.batches
                for structure in bench.STRUCTURES}
    assert {(row.n, row.batch, row.structure) for row in quick_report.rows} == expected
    assert len(quick_report.rows) == len(expected) == 8
    assert _positive_finite(quick_report.copy_bandwidth)
    for row in quick_report.rows:
        assert row.steps >= config.min_steps
        for value in (row.rnndyn_rate, row.naive_rate, row.map_rate, row.bound_rate,
                      row.rnndyn_over_naive, row.bound_fraction):
            assert _positive_finite(value), row
        if row.structure == "multiregion":
            assert _positive_finite(row.speedup_over_dense), row
            # Blocks plus padded factors are fewer bytes than the dense matrix.
            assert row.j_bytes < 4 * row.n**2
        else:
            assert row.dense_equivalent_rate is None
            assert row.j_bytes == 4 * row.n**2
        if HAS_RESERVOIRPY:
            assert _positive_finite(row.reservoirpy_rate), row
            assert _positive_finite(row.map_over_reservoirpy), row
            assert row.reservoirpy_extrapolated == (row.batch != 1)
        else:
            assert row.reservoirpy_rate is None and row.map_over_reservoirpy is None


def test_quick_checks_pass(quick_report):
    whats = [check.what for check in quick_report.checks]
    # One apply check per multiregion network, one reservoirpy check per network.
    assert sum("apply" in what for what in whats) == 2
    assert sum("reservoirpy" in what for what in whats) == (4 if HAS_RESERVOIRPY else 0)
    for check in quick_report.checks:
        assert check.ok, check


def test_results_markdown_table(quick_report, tmp_path):
    path = tmp_path / "out" / "RESULTS.md"
    bench.write_atomically(path, bench.render_markdown(quick_report))
    assert [p.name for p in path.parent.iterdir()] == ["RESULTS.md"]  # no temporary left
    text = path.read_text()
    for heading in ("## Machine", "## How each column was measured", "## Checks"):
        assert heading in text
    assert "not measured in this run" in text  # N = 16000 is not part of the quick mode

    header, rows = _parse_table(text, "| N | batch | structure | steps |")
    assert tuple(header) == bench.TABLE_COLUMNS
    assert len(rows) == 8
    column = {name: i for i, name in enumerate(header)}
    optional = {"reservoirpy", "map / reservoirpy"} if not HAS_RESERVOIRPY else set()
    for cells in rows:
        assert len(cells) == len(header)
        for name in header[3:]:
            cell = cells[column[name]]
            if name == "vs dense equivalent" and cells[column["structure"]] == "dense":
                assert cell == "n/a"
                continue
            if name in optional:
                assert cell == "n/a"
                continue
            number = float(cell.split()[0].rstrip("x"))
            assert math.isfinite(number) and number > 0, (name, cell)

    detail_header, detail_rows = _parse_table(text, "| N | batch | structure | J MiB")
    assert tuple(detail_header) == bench.DETAIL_COLUMNS
    assert len(detail_rows) == 8


def test_requirement_flags_the_n16000_speedup(quick_report):
    assert quick_report.requirement() == (None, [])
    template = quick_report.rows[0]
    fast = bench.dataclasses.replace(template, n=16000, structure="multiregion", rnndyn_rate=4.0,
                                     dense_equivalent_rate=1.0)
    slow = bench.dataclasses.replace(fast, batch=64, rnndyn_rate=2.0)
    report = bench.dataclasses.replace(quick_report, rows=[fast])
    assert report.requirement() == (True, [fast])
    assert "PASS" in bench.requirement_line(report)
    report = bench.dataclasses.replace(quick_report, rows=[fast, slow])
    assert report.requirement()[0] is False
    assert "FAIL" in bench.requirement_line(report)


def test_parse_args_quick_with_overrides(tmp_path):
    config, output = bench.parse_args(
        ["--quick", "--steps", "7", "--batches", "3", "--output", str(tmp_path / "r.md")])
    assert config.quick and config.sizes == (200, 400)
    assert config.steps == 7 and config.batches == (3,)
    assert output == tmp_path / "r.md"
    config, output = bench.parse_args([])
    assert config.sizes == (1000, 4000, 16000) and config.batches == (1, 64)
    assert config.steps is None and output == bench.DEFAULT_OUTPUT


def test_main_tiny_run_writes_results(tmp_path, capsys):
    output = tmp_path / "RESULTS.md"
    status = bench.main(["--sizes", "8", "--batches", "1", "2", "--steps", "3", "--repeats", "1",
                         "--copy-mib", "8", "--output", str(output)])
    assert status == 0
    assert "| 8 | 2 | multiregion | 3 |" in output.read_text()
    assert "rnndyn / naive" in capsys.readouterr().out


def test_rewrite_keeps_the_hand_written_tail(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert bench.with_kept_tail(path, "generated\n") == "generated\n"  # no file yet
    path.write_text("old table\n\n" + bench.KEEP_MARKER + "\n\n## GPU\nby hand\n")
    text = bench.with_kept_tail(path, "new table\n")
    assert text == "new table\n\n" + bench.KEEP_MARKER + "\n\n## GPU\nby hand\n"
    path.write_text("old table without marker\n")
    assert bench.with_kept_tail(path, "new table\n") == "new table\n"
