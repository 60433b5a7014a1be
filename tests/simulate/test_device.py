"""The same run on a GPU gives the CPU's result (skipped where no CUDA device is present)."""

import numpy as np
import pytest
import torch

from rnndyn.connectivity import gaussian, multiregion, random_low_rank, sparse
from rnndyn.simulate import Autocorrelation, MeanVariance, Network, Projection, simulate

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CONNECTIVITIES = {
    "gaussian": lambda: gaussian(300, g=1.8, seed=0),
    "low_rank_plus_random": lambda: gaussian(300, g=0.8, seed=0) + random_low_rank(300, 2, seed=1),
    "multiregion": lambda: multiregion([100, 100, 100], gains=[1.5, 1.2, 0.5],
                                       couplings={(1, 0): 1, (2, 1): 2, (0, 0): 1}, seed=0),
    "multiregion_unequal": lambda: multiregion([80, 120, 100], gains=[1.5, 1.2, 0.5],
                                               couplings={(1, 0): 1, (0, 2): 1}, seed=0),
    "sparse": lambda: sparse(300, p=0.1, g=1.5, seed=0),
}


@cuda
@pytest.mark.parametrize("name", sorted(CONNECTIVITIES))
def test_cuda_matches_cpu(name):
    conn = CONNECTIVITIES[name]()
    net = Network(conn)
    recorders = ["x", MeanVariance(t_start=2.0), Autocorrelation(max_lag=2.0, t_start=2.0)]
    if name.startswith("multiregion"):
        recorders.append(Projection.currents(conn))
    kwargs = {"t_max": 10.0, "dt": 0.05, "batch": 4, "record": recorders, "seed": 3,
              "dtype": torch.float64, "x0": np.random.default_rng(0).normal(size=(4, 300))}
    cpu = simulate(net, device="cpu", **kwargs)
    gpu = simulate(net, device="cuda", **kwargs)
    # Same float64 arithmetic in a different summation order: differences ~1e-13 grow at most
    # like exp(lambda_max t) with lambda_max < 0.5 here over t = 10, so 1e-8 is generous.
    for var in cpu.data_vars:
        np.testing.assert_allclose(gpu[var].values, cpu[var].values, atol=1e-8, err_msg=var)


@cuda
def test_cuda_noise_statistics():
    net = Network(gaussian(500, g=0.0, seed=0), tau=1.0)
    ds = simulate(net, t_max=200.0, dt=0.05, x0=np.zeros(500), noise_std=1.0, device="cuda",
                  method="rk4",
                  record=[MeanVariance(t_start=20.0, every=20)], seed=0, dtype=torch.float64)
    # OU variance sigma^2 / (2 tau) = 0.5 (RK4 uses the exact OU increment); 500 neurons x 90
    # correlation times: ~0.7% statistical error, so 3% is > 4 standard errors.
    assert float((ds.x_variance + ds.x_mean**2).mean()) == pytest.approx(0.5, rel=0.03)
