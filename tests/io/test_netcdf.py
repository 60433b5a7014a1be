"""NetCDF save/load: round trip, atomic writes, clear errors."""

import json

import numpy as np
import pytest
import xarray as xr

from rnndyn.connectivity import gaussian
from rnndyn.io import load, parameters, save
from rnndyn.simulate import MeanVariance, Network, simulate


@pytest.fixture(scope="module")
def result():
    net = Network(gaussian(20, g=1.5, seed=0))
    return simulate(net, t_max=1.0, dt=0.1, record=["x", MeanVariance()], seed=3)


def test_round_trip_keeps_data_and_parameters(result, tmp_path):
    path = save(result, tmp_path / "run.nc")
    back = load(path)
    xr.testing.assert_identical(back, result)
    params = parameters(back)
    assert params["run"]["dt"] == 0.1
    assert params["network"]["connectivity"]["kind"] == "gaussian"


def test_no_temporary_file_is_left_behind(result, tmp_path):
    save(result, tmp_path / "a.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["a.nc"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(result, tmp_path, monkeypatch):
    target = tmp_path / "keep.nc"
    save(result, target)
    before = target.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", explode)
    with pytest.raises(OSError, match="disk full"):
        save(result, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.nc"]


def test_attributes_of_any_kind_are_written(tmp_path):
    ds = xr.Dataset({"a": ("t", np.arange(3.0))},
                    attrs={"flag": True, "nested": {"k": [1, 2]}, "skip": None})
    back = load(save(ds, tmp_path / "attrs.nc"))
    assert back.attrs["flag"] == 1
    assert json.loads(back.attrs["nested"]) == {"k": [1, 2]}
    assert "skip" not in back.attrs
    assert back.attrs["rnndyn_kind"] == "dataset"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "absent.nc")


def test_missing_folder(result, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(result, tmp_path / "no" / "dir.nc")


def test_not_netcdf(tmp_path):
    path = tmp_path / "text.nc"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a NetCDF file"):
        load(path)


def test_netcdf_not_written_by_rnndyn(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match="not an rnndyn result"):
        load(path)


def test_save_rejects_non_datasets(tmp_path):
    with pytest.raises(ValueError, match="dataset"):
        save({"a": 1}, tmp_path / "x.nc")


def test_saved_file_has_default_permissions(result, tmp_path):
    import os
    mask = os.umask(0)
    os.umask(mask)
    path = save(result, tmp_path / "perm.nc")
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
