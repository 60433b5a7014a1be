"""Axes-level plots draw what the dataset holds and refuse what it lacks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from rnndyn import plot


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def simulation_like(n=30, n_times=50, trials=2, regions=None, seed=0):
    """A Dataset shaped like a result of rnndyn.simulate.simulate."""
    rng = np.random.default_rng(seed)
    time = np.arange(n_times) * 0.2
    x = rng.standard_normal((n_times, trials, n)).astype(np.float32)
    decay = np.exp(-np.arange(11) * 0.3)[None].repeat(trials, 0)
    ds = xr.Dataset(
        {"x": (("time", "trial", "neuron"), x),
         "x_autocorrelation": (("trial", "lag"), decay),
         "final_state": (("trial", "neuron"), x[-1])},
        coords={"time": time, "trial": np.arange(trials), "neuron": np.arange(n),
                "lag": np.arange(11) * 0.5},
        attrs={"model": "Network", "phi": "tanh", "tau": 1.0, "n_neurons": n,
               "connectivity": "gaussian"},
    )
    if regions is not None:
        labels = np.repeat(np.arange(len(regions)), regions)
        ds = ds.assign_coords(neuron_region=("neuron", labels))
    return ds


def with_currents(ds, pairs=((1, 0), (0, 1), (0, 0), (0, 0))):
    rng = np.random.default_rng(1)
    values = rng.standard_normal((ds.sizes["time"], ds.sizes["trial"], len(pairs)))
    current = xr.DataArray(
        values, dims=("time", "trial", "current_component"),
        coords={"current_component": [f"{t}<-{s}:{i}" for i, (t, s) in enumerate(pairs)],
                "target_region": ("current_component", [t for t, _ in pairs]),
                "source_region": ("current_component", [s for _, s in pairs])})
    return ds.assign(current=current)


def test_traces_draws_one_line_per_neuron():
    ds = simulation_like()
    ax = plot.traces(ds, "x", neurons=7)
    assert len(ax.lines) == 7
    np.testing.assert_allclose(ax.lines[0].get_xdata(), ds["time"].values)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ds["x"].values[:, 0, 0])
    assert ax.get_xlabel() == "time (τ)"


def test_traces_of_explicit_neurons_and_trial():
    ds = simulation_like()
    _, ax = plt.subplots()
    assert plot.traces(ds, neurons=[3, 5], trial=1, ax=ax) is ax
    np.testing.assert_allclose(ax.lines[1].get_ydata(), ds["x"].values[:, 1, 5])


def test_rates_are_derived_from_x_with_the_datasets_phi():
    ds = simulation_like()
    ax = plot.traces(ds, "rates", neurons=[2])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.tanh(ds["x"].values[:, 0, 2]),
                               rtol=1e-6)


def test_subsample_is_found_under_its_own_name():
    ds = simulation_like().rename({"x": "x_sample", "neuron": "sampled_neuron"})
    ax = plot.traces(ds, "x", neurons=3)
    assert len(ax.lines) == 3 and ax.get_ylabel() == "x_sample"


def test_raster_shows_time_by_neuron():
    ds = simulation_like(n=40, n_times=60)
    ax = plot.raster(ds, "x", trial=1)
    image = ax.images[0].get_array()
    assert image.shape == (40, 60)
    np.testing.assert_allclose(image, ds["x"].values[:, 1, :].T)
    low, high = ax.images[0].get_clim()
    assert low == -high  # signed activity on a centred diverging map


def test_raster_of_a_subset_and_of_nonnegative_rates():
    ds = simulation_like(n=40)
    ds["x"] = np.abs(ds["x"])
    ax = plot.raster(ds, "x", neurons=10, colorbar=False)
    assert ax.images[0].get_array().shape[0] == 10
    assert ax.images[0].get_clim()[0] == 0.0


def test_raster_marks_regions():
    ds = simulation_like(n=30, regions=[10, 12, 8])
    ax = plot.raster(ds, "rates")
    boundaries = sorted(line.get_ydata()[0] for line in ax.lines)
    assert boundaries == [9.5, 21.5]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["region 0", "region 1", "region 2"]


def test_autocorrelation_draws_each_trial_and_the_mean():
    ds = simulation_like(trials=3)
    ax = plot.autocorrelation(ds)
    curves = [line for line in ax.lines if len(line.get_xdata()) == 11]
    assert len(curves) == 4  # 3 trials + their mean
    np.testing.assert_allclose(curves[-1].get_ydata(), ds["x_autocorrelation"].values.mean(0))
    assert ax.get_xlabel() == "lag (τ)"


def test_autocorrelation_overlays_a_stored_theory_curve():
    ds = simulation_like(trials=1)
    lags = ds["lag"].values
    ds["x_autocorrelation_theory"] = xr.DataArray(np.exp(-lags), dims=("lag",),
                                                  attrs={"label": "DMFT"})
    ax = plot.autocorrelation(ds)
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    np.testing.assert_allclose(dashed[0].get_ydata(), np.exp(-lags))
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["simulation", "DMFT"]


def test_currents_one_labelled_line_per_component():
    ds = with_currents(simulation_like())
    ax = plot.currents(ds, trial=1)
    assert len(ax.lines) == 4
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["1 ← 0", "0 ← 1", "0 ← 0", "0 ← 0 (1)"]
    np.testing.assert_allclose(ax.lines[2].get_ydata(), ds["current"].values[:, 1, 2])


def test_latents_one_line_per_trial_and_component():
    ds = simulation_like(trials=3)
    latent = np.zeros((ds.sizes["time"], 3, 2))
    ds["latent"] = xr.DataArray(latent, dims=("time", "trial", "latent_component"),
                                coords={"latent_component": ["kappa0", "kappa1"]})
    ax = plot.latents(ds)
    assert len(ax.lines) == 6
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["kappa0", "kappa1"]


@pytest.mark.parametrize("draw", [
    lambda ds: plot.traces(ds, "voltage"),
    lambda ds: plot.raster(ds, "voltage"),
    lambda ds: plot.autocorrelation(ds, "voltage"),
], ids=["traces", "raster", "autocorrelation"])
def test_missing_variable_is_named_with_what_the_dataset_has(draw):
    with pytest.raises(ValueError, match="voltage") as caught:
        draw(simulation_like())
    assert "x_autocorrelation" in str(caught.value) and "final_state" in str(caught.value)


def test_missing_currents_and_latents():
    ds = simulation_like()
    with pytest.raises(ValueError, match=r"'current'.*it has: .*x"):
        plot.currents(ds)
    with pytest.raises(ValueError, match="'latent'"):
        plot.latents(ds)


def test_rates_cannot_be_derived_without_phi():
    ds = simulation_like()
    del ds.attrs["phi"]
    with pytest.raises(ValueError, match="'rates'"):
        plot.traces(ds, "rates")


def test_bad_trial_and_neurons():
    ds = simulation_like(trials=2)
    with pytest.raises(ValueError, match="trial must be in \\[0, 2\\), got 5"):
        plot.traces(ds, trial=5)
    with pytest.raises(ValueError, match="neurons"):
        plot.traces(ds, neurons=[0, 99])
    with pytest.raises(ValueError, match="neurons"):
        plot.raster(ds, neurons=0)
    with pytest.raises(ValueError, match=r"xarray\.Dataset"):
        plot.traces(ds["x"])
