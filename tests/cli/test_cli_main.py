"""The rnndyn command: help, version, simulate on the shipped examples, overrides, plot."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from rnndyn import io
from rnndyn.cli.main import main

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))
SMALL = """
[connectivity]
kind = "gaussian"
n = 20
g = 1.5
seed = 0
[run]
t_max = 2.0
"""


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "simulate" in out and "demo" in out and "plot" in out
    assert main(["simulate", "--help"]) == 0
    assert "--output" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "rnndyn 0.1.0"


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_the_three_shipped_examples_exist():
    names = {path.name for path in EXAMPLES}
    assert {"chaotic_random.toml", "multiregion.toml", "low_rank_plus_noise.toml"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_runs_and_saves_a_loadable_result(example, tmp_path, capsys):
    out = tmp_path / f"{example.stem}.nc"
    assert main(["simulate", str(example), "-o", str(out)]) == 0
    summary = capsys.readouterr().out.strip().splitlines()
    assert len(summary) == 1 and str(out) in summary[0]

    config = tomllib.loads(example.read_text())
    ds = io.load(out)
    kinds = {"low_rank": "random_low_rank"}
    kind = config["connectivity"]["kind"]
    assert ds.attrs["connectivity"] == kinds.get(kind, kind)
    assert json.loads(ds.attrs["config"]) == config
    assert ds.attrs["description"] == config["description"]
    run = config["run"]
    assert ds.attrs["t_max"] == pytest.approx(run["t_max"])
    assert ds.sizes["trial"] == run.get("batch", 1)
    n_steps = round(run["t_max"] / run.get("dt", 0.1))
    n_times = n_steps // run.get("record_every", 1) + 1
    for name in run.get("record", ["x"]):
        assert ds[name].dims == ("time", "trial", "neuron")
        assert ds[name].shape == (n_times, ds.sizes["trial"], ds.attrs["n_neurons"])
        assert np.isfinite(ds[name].values).all()
    recorders = config.get("recorders", {})
    if "mean_variance" in recorders:
        variable = recorders["mean_variance"].get("variable", "x")
        assert ds[f"{variable}_variance"].dims == ("trial", "neuron")
    if "autocorrelation" in recorders:
        assert ds["x_autocorrelation"].dims == ("trial", "lag")
        assert ds["lag"].values[-1] == pytest.approx(recorders["autocorrelation"]["max_lag"])
    if "subsample" in recorders:
        assert ds["x_sample"].sizes["sampled_neuron"] == recorders["subsample"]["neurons"]
    if "currents" in recorders:
        ranks = sum(c["rank"] for c in config["connectivity"]["couplings"])
        assert ds["current"].sizes["current_component"] == ranks
        assert list(ds["region_size"].values) == config["connectivity"]["sizes"]
    if "latents" in recorders:
        assert ds["latent"].sizes["latent_component"] == config["connectivity"]["rank"]


def test_overrides_change_the_run(tmp_path, capsys):
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    out = tmp_path / "out.nc"
    code = main(["simulate", str(config), "-o", str(out), "-q",
                 "--set", "run.t_max=3", "--set", "network.phi=relu",
                 "--set", 'run.record=["rates"]', "--set", "run.batch=3"])
    assert code == 0
    assert capsys.readouterr().out == ""  # --quiet
    ds = io.load(out)
    assert ds.attrs["phi"] == "relu"
    assert ds["rates"].shape == (31, 3, 20)
    assert (ds["rates"].values >= 0).all()


def test_discrete_model_runs(tmp_path):
    config = tmp_path / "discrete.toml"
    config.write_text(SMALL + '\n[network]\nmodel = "discrete"\nleak = 0.5\nbias = 0.1\n')
    out = tmp_path / "out.nc"
    assert main(["simulate", str(config), "-o", str(out), "-q", "--set", "run.t_max=10"]) == 0
    ds = io.load(out)
    assert ds.attrs["model"] == "DiscreteNetwork"
    assert io.parameters(ds)["network"]["leak"] == 0.5
    assert ds["x"].sizes["time"] == 11


def test_same_seeds_give_the_same_result(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL + "seed = 5\n")
    first, second = tmp_path / "a.nc", tmp_path / "b.nc"
    assert main(["simulate", str(config), "-o", str(first), "-q"]) == 0
    assert main(["simulate", str(config), "-o", str(second), "-q"]) == 0
    np.testing.assert_array_equal(io.load(first)["x"].values, io.load(second)["x"].values)


def test_blow_up_exits_1_with_one_line(tmp_path, capsys):
    config = tmp_path / "blowup.toml"
    config.write_text(SMALL.replace("g = 1.5", "g = 100.0") + '[network]\nphi = "relu"\n')
    code = main(["simulate", str(config), "-o", str(tmp_path / "out.nc"), "-q",
                 "--set", "run.t_max=100"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnndyn: error: simulation failed:")
    assert not (tmp_path / "out.nc").exists()


def test_plot_command_draws_saved_results(tmp_path, capsys):
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    result = tmp_path / "out.nc"
    assert main(["simulate", str(config), "-o", str(result), "-q"]) == 0
    figure = tmp_path / "figure.png"
    assert main(["plot", str(result), "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(tmp_path / "missing.nc"), "-o", str(figure)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.nc" in err
