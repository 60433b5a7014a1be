"""activity_figure composes panels per dataset and saves atomically."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import xarray as xr

from rnndyn.connectivity import gaussian, multiregion
from rnndyn.plot import activity_figure, save_figure
from rnndyn.simulate import (
    Autocorrelation,
    Network,
    Projection,
    Trajectory,
    simulate,
)


@pytest.fixture(scope="module")
def random_result():
    net = Network(gaussian(80, g=2.0, seed=0))
    return simulate(net, t_max=20.0, dt=0.1, record=["x", Autocorrelation(max_lag=3.0)],
                    record_every=2, seed=1, dtype=torch.float64)


@pytest.fixture(scope="module")
def multiregion_result():
    conn = multiregion([30, 20, 25], [1.6, 1.2, 0.8],
                       couplings={(1, 0): 1, (2, 1): 1, (0, 2): 2}, seed=0)
    record = [Trajectory("x", neurons=40, seed=2), Projection.currents(conn)]
    return simulate(Network(conn), t_max=20.0, dt=0.1, record=record, record_every=2, seed=1)


def panel_titles(figure):
    return [ax.get_title() for ax in figure.axes if ax.axison and ax.get_title()]


def test_one_row_per_dataset_with_the_panels_each_supports(random_result, multiregion_result):
    figure = activity_figure([random_result, multiregion_result])
    titles = panel_titles(figure)
    assert titles[:3] == ["x: 8 neurons", "phi(x): 80 neurons", "population autocorrelation"]
    assert titles[3:] == ["x_sample: 8 neurons", "phi(x_sample): 40 neurons",
                          "inter-region currents (target ← source)"]
    currents_ax = next(ax for ax in figure.axes if ax.get_title().startswith("inter-region"))
    assert len(currents_ax.lines) == 4  # ranks 1 + 1 + 2
    raster_ax = next(ax for ax in figure.axes if ax.get_title().startswith("phi(x_sample)"))
    assert [t.get_text() for t in raster_ax.get_yticklabels()] == [
        "region 0", "region 1", "region 2"]
    assert [sub._suptitle.get_text() for sub in figure.subfigs] == [
        "gaussian, N = 80, φ = tanh", "multiregion, N = 75, φ = tanh"]


def test_saved_atomically_as_png(tmp_path, random_result):
    path = tmp_path / "figure.png"
    figure = activity_figure(random_result, path, titles=["random"])
    assert figure.subfigs[0]._suptitle.get_text() == "random"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_format_follows_the_suffix(tmp_path, random_result):
    figure = activity_figure(random_result)
    save_figure(figure, tmp_path / "figure.svg")
    assert "<svg" in (tmp_path / "figure.svg").read_text()[:500]


def test_a_failed_save_leaves_no_file(tmp_path, random_result):
    figure = activity_figure(random_result)
    with pytest.raises(ValueError):
        save_figure(figure, tmp_path / "figure.notaformat")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_figure(figure, tmp_path / "missing" / "figure.png")


def test_refuses_what_it_cannot_draw(random_result):
    with pytest.raises(ValueError, match="at least one"):
        activity_figure([])
    with pytest.raises(ValueError, match=r"datasets\[1\] must be an xarray.Dataset"):
        activity_figure([random_result, "result.nc"])
    with pytest.raises(ValueError, match="titles"):
        activity_figure(random_result, titles=["a", "b"])
    empty = xr.Dataset({"final_state": (("trial", "neuron"), np.zeros((1, 3)))})
    with pytest.raises(ValueError, match=r"nothing to plot.*final_state"):
        activity_figure(empty)
