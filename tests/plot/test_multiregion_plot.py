"""Plots of the multiregion theory draw what they are given and refuse malformed input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from rnndyn.plot.multiregion import current_dynamics, phase_diagram
from rnndyn.theory._multiregion_phase import STATES
from rnndyn.theory._multiregion_phase import phase_diagram as compute_phase_diagram
from rnndyn.theory.multiregion import integrate_currents


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def phase_like():
    """A Dataset shaped like a result of phase_diagram (no computation)."""
    state = np.array([[0, 2, 1, 1], [0, 0, 2, 1]], dtype=np.int8)
    return xr.Dataset(
        {"state": (("disorder", "leading_eigenvalue"), state,
                   {"flag_values": [0, 1, 2, 3], "flag_meanings": " ".join(STATES)}),
         "quiescence_boundary": (("disorder",), np.array([1.0, 1.5]))},
        coords={"disorder": [0.0, 1.5], "leading_eigenvalue": [0.7, 1.3, 2.0, 3.0]},
    )


def test_phase_diagram_draws_states_and_boundary():
    ds = phase_like()
    _, ax = plt.subplots()
    assert phase_diagram(ds, ax=ax) is ax
    mesh = ax.collections[0]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(2, 4), ds["state"].values)
    boundary = ax.lines[0]
    np.testing.assert_allclose(boundary.get_xdata(), [1.0, 1.5])
    np.testing.assert_allclose(boundary.get_ydata(), [0.0, 1.5])
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:3] == ["quiescent", "fixed point", "limit cycle"]  # the states present
    assert "aperiodic" not in labels and "1/ψ(g)" in labels[-1]
    assert "disorder" in ax.get_ylabel() and "eigenvalue" in ax.get_xlabel()


def test_phase_diagram_of_a_computed_dataset():
    # A real (fast) result: an exchange loop with a real leading eigenvalue, g = 0.
    t = np.zeros((2, 2, 2))
    t[0, 1, 0], t[1, 0, 1] = 2.0, 1.5
    ds = compute_phase_diagram(t, np.stack([np.eye(2)] * 2), [0.0], [0.8, 1.5], n_starts=2)
    ax = phase_diagram(ds)
    np.testing.assert_array_equal(np.asarray(ax.collections[0].get_array()).ravel(), [0, 1])


def test_phase_diagram_refuses_other_datasets():
    with pytest.raises(ValueError, match="state"):
        phase_diagram(xr.Dataset({"x": ("time", np.zeros(3))}))


def test_currents_one_line_per_pair_with_theory():
    rng = np.random.default_rng(0)
    time = np.linspace(0, 5, 30)
    currents = rng.standard_normal((30, 2, 2))
    t = np.zeros((2, 2, 2))
    t[0, 1, 0], t[1, 0, 1] = 2.0, 1.5
    theory = integrate_currents(t, np.stack([np.eye(2)] * 2), currents[0], time)
    _, ax = plt.subplots()
    assert current_dynamics(time, currents, ax=ax, theory=theory) is ax
    assert len(ax.lines) == 8  # 4 pairs, data and theory
    np.testing.assert_allclose(ax.lines[2].get_ydata(), currents[:, 0, 1])
    np.testing.assert_allclose(ax.lines[3].get_ydata(), theory.currents[:, 0, 1])
    assert ax.lines[2].get_color() == ax.lines[3].get_color()
    assert ax.lines[3].get_linestyle() == "--"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["0 ← 0", "0 ← 1", "1 ← 0", "1 ← 1", "theory"]
    # A plain (time, currents) pair works as theory too.
    ax2 = current_dynamics(time, currents, theory=(time, currents))
    assert len(ax2.lines) == 8


def test_currents_refuse_bad_shapes():
    time = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match="currents"):
        current_dynamics(time, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="currents"):
        current_dynamics(time, np.zeros((9, 2, 2)))
    with pytest.raises(ValueError, match="theory"):
        current_dynamics(time, np.zeros((10, 2, 2)), theory=(time, np.zeros((10, 3, 3))))
    with pytest.raises(ValueError, match="theory"):
        current_dynamics(time, np.zeros((10, 2, 2)), theory=3.0)
