"""Recall an input k steps back: memory of a 50-neuron RNN against its connection strength.

The setup of Kim, Larsen & Parkes (spatiotemporal-constraints review, Sec. III.1, Fig. 2E-G):
a discrete-time RNN ``r_{t+1} = tanh(A r_t + B u_t)`` of 50 neurons with random connectivity,
whose linear output is trained to recall the input 30 time steps in the past. With A = 0 the
state holds only the latest input; stronger connectivity holds longer time lags, until the 50
neurons no longer span the space of lagged inputs.

Choices where the review's text is silent (stated in examples/memory/README.md):
A Gaussian with variance g^2 / N (g swept from 0 to 1.5), B i.i.d. N(0, 1), no bias, leak 1;
two inputs: i.i.d. uniform in [-0.5, 0.5] (Jaeger's memory capacity) and a train of impulses
(u_t = 1 with probability 0.05, else 0); T = 6000 steps after a washout of 200; one linear
readout per lag k = 0..30 fitted by ridge regression on the first 80 % and scored (r^2) on the
last 20 %; the shuffled-input null alongside.

Run: ``python examples/memory/impulse_recall.py [--plot memory.png]`` (about 30 s on one core).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from rnndyn.analysis.memory import MemoryCapacityResult, memory_capacity
from rnndyn.connectivity import gaussian
from rnndyn.simulate import DiscreteNetwork, simulate

N = 50
RECALL_LAG = 30
GAINS = (0.0, 0.3, 0.6, 0.9, 1.2, 1.5)
STEPS = 6000
WASHOUT = 200


def drive(gain: float, inputs: np.ndarray, seed: int = 0) -> np.ndarray:
    """States after each input of the 50-neuron RNN with connection strength ``gain``."""
    rng = np.random.default_rng(seed)
    a = np.zeros((N, N)) if gain == 0 else gaussian(N, g=gain, seed=seed).to_dense()
    net = DiscreteNetwork(a, phi="tanh", input_weights=rng.normal(size=(N, 1)))
    ds = simulate(net, t_max=inputs.size, x0=np.zeros(N), inputs=inputs[:, None],
                  dtype=torch.float64, progress=False)
    return ds.x.values[1:, 0]  # row t: the state after u_t


def measure(gain: float, inputs: np.ndarray) -> MemoryCapacityResult:
    states = drive(gain, inputs)
    return memory_capacity(states, inputs, RECALL_LAG, washout=WASHOUT, seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plot", help="save the memory functions to this image (matplotlib)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(2)
    total = STEPS + WASHOUT
    inputs = {"uniform": rng.uniform(-0.5, 0.5, total),
              "impulses": (rng.random(total) < 0.05).astype(float)}
    results = {name: {g: measure(g, u) for g in GAINS} for name, u in inputs.items()}

    for name, by_gain in results.items():
        print(f"\ninput: {name}; MC_k = held-out r^2(u(t - k), y_k(t)), N = {N}")
        print("   g   MC_0   MC_5  MC_10  MC_20  MC_30   sum_0..30  in-sample    null")
        for g, res in by_gain.items():
            f = res.function
            print(f"{g:4.1f} {f[0]:6.3f} {f[5]:6.3f} {f[10]:6.3f} {f[20]:6.3f} {f[30]:6.3f}"
                  f"   {res.capacity:9.2f} {res.capacity_train:10.2f} {res.null_capacity:7.3f}")

    if args.plot:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
        for ax, (name, by_gain) in zip(axes, results.items(), strict=True):
            for g, res in by_gain.items():
                ax.plot(res.lags, res.function, marker=".", label=f"g = {g:g}")
            ax.plot(res.lags, res.null_function, "k:", label="null (shuffled)")
            ax.set_title(f"{name} input")
            ax.set_xlabel("lag k (steps)")
        axes[0].set_ylabel("MC_k (held-out r^2)")
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"\nsaved {args.plot}")


if __name__ == "__main__":
    main()
