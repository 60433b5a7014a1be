"""Smoke test of benchmarks/accuracy_fixed_connectivity.py: a tiny run, the statistics, the merge.

The real tables live in benchmarks/RESULTS.md; here tanh at g = 3 (the case furthest from
the onset of chaos, so the smallest networks are already in the theory's regime) runs at
N = 200, 250 with short simulations (a few seconds each).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH_PATH = (Path(__file__).resolve().parents[2] / "benchmarks"
              / "accuracy_fixed_connectivity.py")


def _load():
    spec = importlib.util.spec_from_file_location("accuracy_fixed_connectivity", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def _tiny_config():
    return bench.Config(sizes=(200, 250), durations=((200, 2000.0),), cases=("tanh g=3",),
                        lags=(0.5, 1.0), pulsed_units=16, n_windows=16)


@pytest.fixture(scope="module")
def tiny_rows():
    torch.set_num_threads(1)
    return bench.run(_tiny_config(), log=lambda message: None)


def test_sizes_durations_and_case_selection():
    config = bench.Config()
    assert config.duration(500) == 16000.0 and config.duration(4000) == 6000.0
    assert config.duration(3000) == 6000.0  # nearest listed N on a log scale
    capped = bench.case_sizes(bench.Case("tanh", 3.0), config)
    assert capped == (500, 1000, 2000)
    assert bench.case_sizes(bench.Case("tanh", 2.0), config) == (500, 1000, 2000, 4000)
    names = [case.name for case in bench.selected_cases(dataclasses.replace(
        config, cases=("erf",)))]
    assert names == ["erf g=2"]


def test_noise_statistics_on_synthetic_halves():
    # Two halves = truth + independent noise: the noise estimate recovers the whole run's
    # noise, and an exact prediction's corrected error is ~0 with r near the ceiling.
    rng = np.random.default_rng(0)
    n = 120
    a = rng.normal(size=(n, n)) / math.sqrt(n)
    truth = np.eye(n) + 0.5 * (a + a.T)
    noise = 0.05 * rng.normal(size=(2, n, n))
    noise = 0.5 * (noise + noise.transpose(0, 2, 1))
    halves = truth + noise
    c = bench.compare_covariance(truth, np.eye(n), None, halves)
    off = ~np.eye(n, dtype=bool)
    whole = halves.mean(axis=0)
    expected = np.linalg.norm((whole - truth)[off]) / np.linalg.norm(whole[off])
    assert c.noise == pytest.approx(expected, rel=0.1)
    assert c.theory.error == pytest.approx(expected, rel=1e-9)
    assert c.corrected_error < 0.3 * c.theory.error
    assert c.theory.correlation == pytest.approx(c.ceiling, abs=0.01)
    assert c.leading_error == pytest.approx(1.0)
    assert c.baseline is None


def test_tiny_run_is_sane(tiny_rows):
    rows = tiny_rows
    assert [(row.case, row.n) for row in rows] == [("tanh g=3", 200), ("tanh g=3", 250)]
    for row in rows:
        assert row.margin > 0 and row.max_real_eigenvalue > 1  # x = 0 unstable
        for var, c in row.covariance.items():
            values = [c.theory.correlation, c.theory.error, c.halves.correlation, c.noise,
                      c.corrected_error, c.ceiling, c.baseline.correlation, c.baseline.error,
                      c.diagonal_theory, c.mean_diagonal_sim]
            assert all(math.isfinite(v) for v in values), (var, values)
            assert c.theory.correlation > 0.5
            assert c.theory.error < c.leading_error == pytest.approx(1.0)
            assert 0 < c.noise < c.theory.error
            assert c.diagonal_theory > 0.3  # site-specific variances, constant at leading order
            assert 0.8 < c.mean_diagonal_theory / c.mean_diagonal_sim < 1.25
        for lag, c in row.response.items():
            assert math.isfinite(c.theory.error) and math.isfinite(c.noise)
            assert c.theory.correlation > 0.7
            assert c.theory.error < 1.0
            assert c.baseline.error > 1.5 * c.theory.error  # naive linearisation at x = 0
            assert c.mean_diagonal_sim == pytest.approx(math.exp(-lag), rel=0.15)
        for d in row.dimension.values():
            assert 1 < d.simulation <= d.simulation_corrected * 1.05 and 1 < d.theory < row.n
            assert 1 < d.closure < row.n
        # The self-consistent closure is solved on the same J: it moves g by O(1/sqrt(N))
        # (the spectral edge's scatter), stays stable, and its mean variance is the
        # single-site one, which matches the simulation's to ~10% at N = 200.
        assert row.closure_margin > 0 and abs(row.closure_g / 3.0 - 1) < 0.1
        for c in row.covariance.values():
            assert c.closure is not None and c.closure.correlation > 0.5
            assert 0.85 < c.mean_diagonal_closure / c.mean_diagonal_sim < 1.15
        for c in row.response.values():
            assert c.closure is not None and c.closure.error < 1.0
    fits = bench.exponents(rows)
    assert len(fits) == 1 and fits[0].sizes == (200, 250)
    trend = fits[0].covariance["x"]
    assert math.isfinite(trend.raw) and (math.isfinite(trend.corrected) or trend.shrinks)
    assert math.isfinite(fits[0].closure_covariance["x"].raw)
    lines = bench.checks(rows, fits)
    assert len(lines) == 4 and "2/2 rows" in lines[0] and "solved in 2/2 rows" in lines[2]


def test_markdown_and_merge_keep_other_sections(tiny_rows, tmp_path):
    config = _tiny_config()
    text = bench.markdown(tiny_rows, config, 12.0)
    assert text.startswith(bench.BEGIN) and text.rstrip().endswith(bench.END)
    for title in ("Summary", "covariance of x", "covariance of phi", "Linear response", "Dimension",
                  "Exponents", "claims", "Time"):
        assert title in text
    # x, phi, dimension and time tables, and one response row per lag (the summary has 250)
    assert text.count("| tanh g=3 | 200 |") == 4 + len(config.lags)
    assert text.count("| tanh g=3 | 250 |") == 5 + len(config.lags)
    assert "| tanh g=3 | 200 | 0.5 |" in text and "| tanh g=3 | 250 | 1 |" in text

    path = tmp_path / "RESULTS.md"
    other = ("<!-- accuracy_theory.py: begin (generated) -->\ntheory table\n"
             "<!-- accuracy_theory.py: end -->")
    multiregion = ("<!-- accuracy_multiregion.py: begin -->\nmultiregion table\n"
                   "<!-- accuracy_multiregion.py: end -->")
    path.write_text(f"# speed\n\n{bench.accuracy_theory.KEEP_MARKER}\n\nhand-written notes\n\n"
                    f"{other}\n\n{multiregion}\n")
    bench.write_atomically(path, bench.merge_into(path, text))
    first = path.read_text()
    assert first.startswith("# speed") and "hand-written notes" in first
    assert other in first and multiregion in first
    assert first.count(bench.BEGIN) == 1 and first.count(bench.END) == 1
    assert first.index(multiregion) < first.index(bench.BEGIN)  # appended at the end
    # A second run replaces its own section only.
    again = bench.markdown(tiny_rows[:1], config, 3.0)
    bench.write_atomically(path, bench.merge_into(path, again))
    second = path.read_text()
    assert second.count(bench.BEGIN) == 1 and other in second and multiregion in second
    assert "| tanh g=3 | 250 |" not in second and "| tanh g=3 | 200 |" in second


def test_saved_rows_render_the_same_tables(tiny_rows, tmp_path):
    config = _tiny_config()
    path = tmp_path / "rows.json"
    bench.save_rows(path, tiny_rows, config, 7.0, "1.00, 1.00, 1.00 before")
    rows, loaded, total_s, load = bench.load_rows(path)
    assert total_s == 7.0 and loaded == config and load.endswith("before")
    assert [row.n for row in rows] == [200, 250] and set(rows[0].response) == {0.5, 1.0}
    # Skip the header lines, which carry the time of writing.
    assert (bench.markdown(rows, loaded, 7.0).splitlines()[4:]
            == bench.markdown(tiny_rows, config, 7.0).splitlines()[4:])


def test_cache_reuses_the_simulations(tmp_path):
    config = dataclasses.replace(_tiny_config(), sizes=(200,), cache=str(tmp_path / "cache"))
    first = bench.run(config, log=lambda message: None)
    files = sorted(path.name for path in (tmp_path / "cache").iterdir())
    assert len(files) == 2 and all("draw" in name for name in files)
    assert not any("partial" in name for name in files)
    again = bench.run(config, log=lambda message: None)
    # Cached: no simulation, and (float32 storage of the halves) the same statistics.
    assert again[0].seconds["simulation"] < 0.2 * first[0].seconds["simulation"]
    assert again[0].covariance["x"].theory.error == pytest.approx(
        first[0].covariance["x"].theory.error, rel=1e-4)
    assert again[0].response[1.0].theory.error == pytest.approx(
        first[0].response[1.0].theory.error, rel=1e-9)


def test_trend_counts_an_error_within_the_noise_as_shrinking():
    def comparison(error, noise):
        agreement = bench.Agreement(0.9, error)
        return bench.Comparison(agreement, agreement, noise, 1.0, None, 0.5, 0.5, 1.0, 1.0,
                                1.0, 1.0)

    trend = bench._trend([500, 1000, 2000], [comparison(0.3, 0.1), comparison(0.2, 0.1),
                                             comparison(0.15, 0.2)])
    assert trend.within_noise_from == 2000 and trend.shrinks
    assert trend.corrected == pytest.approx(bench.fit_exponent(
        [500, 1000], [math.sqrt(0.08), math.sqrt(0.03)]))
    assert "within noise from N=2000" in trend.cell()
    growing = bench._trend([500, 1000], [comparison(0.2, 0.1), comparison(0.3, 0.1)])
    assert growing.within_noise_from is None and not growing.shrinks
