"""Every bad config exits with status 2 and one line naming the key, before anything runs."""

import pytest

import rnndyn.cli.commands as commands
from rnndyn.cli.build import config_error
from rnndyn.cli.main import main

GAUSSIAN = '[connectivity]\nkind = "gaussian"\nn = 10\ng = 1.5\n'
RUN = "[run]\nt_max = 2.0\n"
MULTI = '[connectivity]\nkind = "multiregion"\nsizes = [10, 12]\ngains = [1.5, 0.5]\n'


def coupling(target=0, source=1, rank=1, extra=""):
    return (f"[[connectivity.couplings]]\ntarget = {target}\nsource = {source}\n"
            f"rank = {rank}\n{extra}")


# (config text, key named in the error, words the message must contain)
SCHEMA_ERRORS = {
    "missing connectivity": (RUN, "connectivity", "missing required section"),
    "missing run": (GAUSSIAN, "run", "missing required section"),
    "missing kind": ("[connectivity]\nn = 10\n" + RUN, "connectivity.kind",
                     "missing required key"),
    "missing n": ('[connectivity]\nkind = "gaussian"\ng = 1.0\n' + RUN, "connectivity.n",
                  "missing required key"),
    "missing t_max": (GAUSSIAN + "[run]\ndt = 0.1\n", "run.t_max", "missing required key"),
    "unknown kind": ('[connectivity]\nkind = "gauss"\n' + RUN, "connectivity.kind",
                     'got "gauss" (string)'),
    "unknown connectivity key": (GAUSSIAN + "gain = 2.0\n" + RUN, "connectivity.gain",
                                 "known: kind, n, g, mean, seed"),
    "unknown section": (GAUSSIAN + RUN + "[runn]\nx = 1\n", "runn", "did you mean 'run'"),
    "unknown run key": (GAUSSIAN + RUN + "steps = 10\n", "run.steps", "unknown key"),
    "section not a table": ("run = 5\n" + GAUSSIAN, "run", "expected a table [run]"),
    "description not a string": ("description = 3\n" + GAUSSIAN + RUN, "description",
                                 "expected a string, got 3 (integer)"),
    "dt is a string": (GAUSSIAN + RUN + 'dt = "fast"\n', "run.dt",
                       'expected a number, got "fast" (string)'),
    "batch is a float": (GAUSSIAN + RUN + "batch = 2.5\n", "run.batch",
                         "expected an integer, got 2.5 (float)"),
    "g is a boolean": (GAUSSIAN.replace("g = 1.5", "g = true") + RUN, "connectivity.g",
                       "got true (boolean)"),
    "negative dt": (GAUSSIAN + RUN + "dt = -0.1\n", "run.dt", "> 0"),
    "unknown method": (GAUSSIAN + RUN + 'method = "rk5"\n', "run.method", "rk4"),
    "unknown dtype": (GAUSSIAN + RUN + 'dtype = "float16"\n', "run.dtype", "float64"),
    "bad record entry": (GAUSSIAN + RUN + 'record = ["x", "voltage"]\n', "run.record[1]",
                         '"voltage"'),
    "t_max below dt": (GAUSSIAN + "[run]\nt_max = 0.05\ndt = 0.1\n", "run.t_max", ">= dt"),
    "record_every too large": (GAUSSIAN + RUN + "record_every = 100\n", "run.record_every",
                               "20"),
    "negative noise": (GAUSSIAN + RUN + "noise_std = -1\n", "run.noise_std", ">= 0"),
    "negative seed": (GAUSSIAN + "seed = -3\n" + RUN, "connectivity.seed", ">= 0"),
    "n below 1": (GAUSSIAN.replace("n = 10", "n = 0") + RUN, "connectivity.n", ">= 1"),
    "gains length": (MULTI.replace("[1.5, 0.5]", "[1.5, 0.5, 1.0]") + RUN,
                     "connectivity.gains", "2 numbers"),
    "sizes item type": (MULTI.replace("[10, 12]", '[10, "12"]') + RUN, "connectivity.sizes[1]",
                        "expected an integer"),
    "coupling source out of range": (MULTI + coupling(source=2) + RUN,
                                     "connectivity.couplings[0].source", "[0, 1], got 2"),
    "coupling without rank": (MULTI + "[[connectivity.couplings]]\ntarget = 0\nsource = 1\n" + RUN,
                              "connectivity.couplings[0].rank", "missing required key"),
    "coupling unknown key": (MULTI + coupling(extra="strength = 2\n") + RUN,
                             "connectivity.couplings[0].strength", "known: target, source, rank"),
    "coupling twice": (MULTI + coupling() + coupling() + RUN, "connectivity.couplings[1]",
                       "duplicate"),
    "coupling not a table": (MULTI + "couplings = [1, 2]\n" + RUN, "connectivity.couplings[0]",
                             "expected a table"),
    "unknown phi": (GAUSSIAN + RUN + '[network]\nphi = "sigmoid"\n', "network.phi", "tanh"),
    "unknown model": (GAUSSIAN + RUN + '[network]\nmodel = "spiking"\n', "network.model",
                      "continuous"),
    "tau in discrete model": (GAUSSIAN + RUN + '[network]\nmodel = "discrete"\ntau = 2.0\n',
                              "network.tau", "model = 'continuous'"),
    "leak above 1": (GAUSSIAN + RUN + '[network]\nmodel = "discrete"\nleak = 1.5\n',
                     "network.leak", "(0, 1]"),
    "dt in discrete model": (GAUSSIAN + RUN + 'dt = 0.5\n[network]\nmodel = "discrete"\n',
                             "run.dt", "expected 1"),
    "bias length": (GAUSSIAN + RUN + "[network]\nbias = [0.1, 0.2]\n", "network.bias",
                    "10 (one per neuron)"),
    "unknown recorder": (GAUSSIAN + RUN + "[recorders.spectrum]\n", "recorders.spectrum",
                         "mean_variance"),
    "unknown recorder key": (GAUSSIAN + RUN + "[recorders.autocorrelation]\nlag = 3\n",
                             "recorders.autocorrelation.lag", "max_lag"),
    "recorder variable": (GAUSSIAN + RUN + '[recorders.mean_variance]\nvariable = "v"\n',
                          "recorders.mean_variance.variable", "rates"),
    "recorder after the end": (GAUSSIAN + RUN + "[recorders.autocorrelation]\nt_start = 50\n",
                               "recorders.autocorrelation.t_start", "run.t_max = 2"),
    "recorder not a table": (GAUSSIAN + RUN + "[recorders]\ncurrents = 1\n",
                             "recorders.currents", "expected a table"),
    "currents need regions": (GAUSSIAN + RUN + "[recorders.currents]\n", "recorders.currents",
                              "multiregion"),
    "latents need low rank": (GAUSSIAN + RUN + "[recorders.latents]\n", "recorders.latents",
                              "low_rank"),
    "subsample without neurons": (GAUSSIAN + RUN + "[recorders.subsample]\nseed = 1\n",
                                  "recorders.subsample.neurons", "missing required key"),
    "subsample too large": (GAUSSIAN + RUN + "[recorders.subsample]\nneurons = 11\n",
                            "recorders.subsample.neurons", "[1, 10]"),
    "subsample index": (GAUSSIAN + RUN + "[recorders.subsample]\nneurons = [0, 10]\n",
                        "recorders.subsample.neurons[1]", "[0, 9]"),
}

# Values only the library's builders can judge: the network is built, but never simulated.
LIBRARY_ERRORS = {
    "negative gain": (GAUSSIAN.replace("g = 1.5", "g = -1.0") + RUN, "connectivity.g", ">= 0"),
    "probability above 1": ('[connectivity]\nkind = "sparse"\nn = 10\np = 1.5\ng = 1.0\n' + RUN,
                            "connectivity.p", "<= 1"),
    "covariance not PSD": ('[connectivity]\nkind = "low_rank"\nn = 10\nrank = 1\n'
                           "covariance = [[1.0, 3.0], [3.0, 1.0]]\n" + RUN,
                           "connectivity.covariance", "positive semi-definite"),
    "covariance shape": ('[connectivity]\nkind = "low_rank"\nn = 10\nrank = 1\n'
                         "covariance = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]\n"
                         + RUN, "connectivity.covariance", "(2, 2)"),
    "excitatory fraction": ('[connectivity]\nkind = "dale"\nn = 10\nfrac_excitatory = 1.5\n'
                            + RUN, "connectivity.frac_excitatory", "1.5"),
}


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if a simulation starts; count connectivity builds."""
    built = []

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulate was called despite an invalid config")

    def counting_build(config):
        built.append(config)
        return original_build(config)

    original_build = commands.build_connectivity
    monkeypatch.setattr(commands, "simulate", no_simulation)
    monkeypatch.setattr(commands, "build_connectivity", counting_build)
    return built


def run_config(tmp_path, text, *extra):
    path = tmp_path / "config.toml"
    path.write_text(text)
    out = tmp_path / "out.nc"
    return main(["simulate", str(path), "-o", str(out), "-q", *extra]), out


def assert_one_line_error(capsys, key, words):
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.count("\n") == 1, err
    assert err.startswith(f"rnndyn: error: {key}: "), err
    assert words in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(("text", "key", "words"), SCHEMA_ERRORS.values(), ids=SCHEMA_ERRORS)
def test_schema_errors_are_found_before_building_anything(tmp_path, capsys, nothing_runs,
                                                          text, key, words):
    code, out = run_config(tmp_path, text)
    assert code == 2
    assert_one_line_error(capsys, key, words)
    assert nothing_runs == []
    assert not out.exists()


@pytest.mark.parametrize(("text", "key", "words"), LIBRARY_ERRORS.values(), ids=LIBRARY_ERRORS)
def test_values_the_library_rejects_name_the_key(tmp_path, capsys, nothing_runs,
                                                 text, key, words):
    code, out = run_config(tmp_path, text)
    assert code == 2
    assert_one_line_error(capsys, key, words)
    assert not out.exists()


def test_invalid_toml_gives_line_and_column(tmp_path, capsys, nothing_runs):
    code, _ = run_config(tmp_path, '[connectivity]\nkind = "gaussian"\nn = = 3\n')
    assert code == 2
    assert_one_line_error(capsys, str(tmp_path / "config.toml"), "invalid TOML")


def test_invalid_toml_message_has_position(tmp_path, capsys):
    run_config(tmp_path, '[connectivity]\nkind = "gaussian"\nn = = 3\n')
    assert "(at line 3, column" in capsys.readouterr().err


def test_missing_config_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert main(["simulate", str(missing), "-o", str(tmp_path / "o.nc")]) == 2
    assert_one_line_error(capsys, str(missing), "not found")


@pytest.mark.parametrize(("args", "key", "words"), [
    (["--device", "quantum"], "--device", "'quantum'"),
    (["--set", "run.t_max"], "--set", "SECTION.KEY=VALUE"),
    (["--set", "run.t_max.x=3"], "--set", "not a table"),
    (["--set", "run.t_max=-1"], "run.t_max", "> 0"),
    (["--set", "network.phi=7"], "network.phi", "expected a string, got 7 (integer)"),
], ids=["device", "set without value", "set below a value", "set bad value", "set bad type"])
def test_bad_options(tmp_path, capsys, nothing_runs, args, key, words):
    code, _ = run_config(tmp_path, GAUSSIAN + RUN, *args)
    assert code == 2
    assert_one_line_error(capsys, key, words)


def test_output_folder_must_exist(tmp_path, capsys, nothing_runs):
    config = tmp_path / "config.toml"
    config.write_text(GAUSSIAN + RUN)
    code = main(["simulate", str(config), "-o", str(tmp_path / "no" / "out.nc")])
    assert code == 2
    assert_one_line_error(capsys, "-o/--output", "does not exist")
    assert nothing_runs == []


def test_a_valid_config_does_run(tmp_path, capsys):
    # The error tests above would also pass if every config were refused.
    code, out = run_config(tmp_path, GAUSSIAN + RUN)
    assert code == 0 and out.exists()


def test_library_messages_are_mapped_to_keys():
    error = config_error("connectivity", ["n", "g"], ValueError("g must be >= 0, got -1"))
    assert (error.key, error.reason) == ("connectivity.g", "must be >= 0, got -1")
    error = config_error("connectivity", ["sizes"], ValueError("sizes[2] must be >= 1, got 0"))
    assert error.key == "connectivity.sizes[2]"
    error = config_error("run", ["dt", "t_max"], ValueError("t_max must be >= dt=0.1, got 0"))
    assert error.key == "run.t_max"
    error = config_error("network", ["phi"], ValueError("the state of phi is\nodd"))
    assert (error.key, error.reason) == ("network.phi", "the state of phi is odd")
    error = config_error("run", ["dt"], ValueError("something else"))
    assert error.key == "run"


def test_missing_netcdf_writer_is_reported_before_the_run(tmp_path, capsys, nothing_runs,
                                                         monkeypatch):
    real_find_spec = commands.importlib.util.find_spec
    monkeypatch.setattr(commands.importlib.util, "find_spec",
                        lambda name: None if name == "h5netcdf" else real_find_spec(name))
    code, _ = run_config(tmp_path, GAUSSIAN + RUN)
    assert code == 2
    assert_one_line_error(capsys, "-o/--output", "h5netcdf")
    assert nothing_runs == []
