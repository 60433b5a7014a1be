"""Invertible generalized synchronization on Lorenz (Lu & Bassett 2020), end to end.

A continuous-time tanh reservoir of N = 300 units (tau = 0.1, gain 0.8, inputs +-0.5, bias
+-1) is driven by the normalized Lorenz state, a ridge readout W_out of the rates is fitted,
and the loop is closed: tau dx/dt = -x + (J + B W_out) tanh(x) + (b + B c). The script prints
the closed loop's largest Lyapunov exponent, correlation dimension, spectrum distance and
prediction horizon next to the driver's, the conditional exponent of the driven reservoir,
and the auxiliary-system test of the driven reservoir, and exits with status 1 if the closed
loop does not reproduce the attractor (exponent within 30%, horizon > 1 Lyapunov time).

Run:  python examples/synchronization/lorenz_reservoir.py [--seed 1] [--n 300]
(about a minute on one CPU core).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from rnndyn.analysis.synchronization import (
    auxiliary_system_test,
    driver_trajectory,
    invertible_gs_test,
    reservoir_network,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--t-train", type=float, default=50.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()

    driver = driver_trajectory("lorenz", t_max=10.0 + args.t_train + 10.0 + 1.0, dt=0.01,
                               seed=args.seed)
    net = reservoir_network(args.n, gain=0.8, input_scale=0.5, bias_scale=1.0, tau=0.1,
                            seed=args.seed)

    # Generalized synchronization of the driven reservoir: two copies forget their start.
    z, _, _ = driver.normalized()
    aux = auxiliary_system_test(net, driver.interpolant(z), 20.0, dt=0.01, seed=args.seed)
    print(f"auxiliary test: converged={aux.converged}, rate={aux.rate:.2f} per unit time, "
          f"final relative distance={aux.relative_distance[-1].max():.1e}")

    result = invertible_gs_test(net, driver, washout=10.0, t_train=args.t_train,
                                t_predict=10.0, t_autonomous=200.0, t_lyapunov=100.0,
                                conditional=True, seed=args.seed)
    print(f"open-loop training error (normalized RMS): {result.training_error:.1e}")
    print(f"conditional Lyapunov exponent (driven):    {result.conditional_exponent:.2f}")
    print(f"{'':28s}{'closed loop':>12s}{'Lorenz':>10s}")
    print(f"{'largest Lyapunov exponent':28s}{result.lyapunov_network:12.3f}"
          f"{result.lyapunov_driver:10.3f}   (literature 0.906)")
    print(f"{'correlation dimension':28s}{result.dimension_network:12.2f}"
          f"{result.dimension_driver:10.2f}   (literature 2.05)")
    print(f"spectrum distance of z (mean |log10 ratio|): {result.spectrum_distance:.2f}")
    print(f"prediction horizon (error > 0.4): {result.horizon:.2f} time units = "
          f"{result.horizon_lyapunov_times:.1f} Lyapunov times")
    print(f"largest excursion / driver's: {result.max_output_ratio:.2f}")
    ok = result.reproduces(rtol=0.3, min_horizon=1.0)
    print(f"reproduces the attractor: {ok}   ({time.perf_counter() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
