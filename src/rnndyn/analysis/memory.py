"""Linear memory capacity of a driven network (Jaeger 2002; White, Lee & Sompolinsky 2004).

A network driven by a scalar input ``u(t)`` holds a trace of its past in its state ``x(t)``.
The memory function measures how much of the input ``k`` steps back a linear readout recovers::

    y_k(t) = w_k . x(t) + c_k                      (fitted by ridge regression)
    MC_k   = r^2(u(t - k), y_k(t))                 (squared correlation coefficient)
    MC     = sum_{k = min_lag}^{max_lag} MC_k

Convention: ``x(t)`` is the state *after* the input ``u(t)`` was received, so lag 0 is the
latest input (for `simulate` output, pair ``u[t]`` with ``ds.x[t + 1]``). With i.i.d. input,
``MC <= N`` for N neurons (Jaeger 2002), and for the linear network
``x_{t+1} = A x_t + B u_t`` the sum over all lags ``k >= 0`` equals the rank of the
controllability matrix ``[B, AB, ..., A^{N-1} B]`` (`controllability_rank`); the memory
function itself has the closed form (`linear_memory_function`)::

    MC_k = (A^k B)^T W^+ (A^k B),   W = sum_{j >= 0} A^j B B^T (A^j)^T   (W = A W A^T + B B^T)

Estimation (`memory_capacity`): the readouts are fitted on the first part of the recording
and scored on the held-out rest; the in-sample score is reported too. In-sample scores are
biased upward by about ``N / n_train`` per lag (a least-squares fit with N regressors explains
that much of pure noise), held-out ones by about ``1 / n_test``. The *null* repeats the same
pipeline with the input sequence shuffled in time, so that the states carry no information
about it: its MC is the estimation bias, to compare ``capacity`` with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import torch

from rnndyn._errors import SimulationError
from rnndyn._validation import check_array, check_int, check_number
from rnndyn.connectivity._random import resolve_seed
from rnndyn.simulate.network import DiscreteNetwork, Network
from rnndyn.simulate.run import simulate

__all__ = [
    "MemoryCapacityResult",
    "controllability_rank",
    "linear_memory_function",
    "memory_capacity",
    "network_memory_capacity",
]

# Fewest held-out samples on which a squared correlation is computed.
_MIN_TEST = 10


@dataclass(frozen=True)
class MemoryCapacityResult:
    """Memory function and capacity measured by `memory_capacity`.

    Attributes
    ----------
    lags : ndarray of int, shape (K,)
        The lags k (in samples).
    function : ndarray (K,)
        Held-out ``MC_k``: squared correlation between ``u(t - k)`` and the readout on the
        test part.
    function_train : ndarray (K,)
        The same on the training part (in-sample; biased up by about N / n_train).
    null_function, null_function_train : ndarray (K,)
        The same pipeline with the input shuffled in time (the estimation bias). NaN when the
        null was not computed.
    n_train, n_test : int
        Number of time points used to fit and to score the readouts.
    n_features : int
        Number of state variables N.
    parameters : dict
        The arguments of the estimate.
    """

    lags: np.ndarray
    function: np.ndarray
    function_train: np.ndarray
    null_function: np.ndarray
    null_function_train: np.ndarray
    n_train: int
    n_test: int
    n_features: int
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def capacity(self) -> float:
        """Held-out ``MC = sum_k MC_k``."""
        return float(np.sum(self.function))

    @property
    def capacity_train(self) -> float:
        """In-sample MC."""
        return float(np.sum(self.function_train))

    @property
    def null_capacity(self) -> float:
        """Held-out MC of the shuffled-input null (expected about K / n_test)."""
        return float(np.sum(self.null_function))

    @property
    def null_capacity_train(self) -> float:
        """In-sample MC of the null (expected about K N / n_train)."""
        return float(np.sum(self.null_function_train))

    @property
    def excess(self) -> float:
        """``capacity - null_capacity``: the held-out MC above the estimation bias."""
        return self.capacity - self.null_capacity


def memory_capacity(
    states: Any,
    inputs: Any,
    max_lag: int,
    *,
    min_lag: int = 0,
    washout: int = 0,
    train_fraction: float = 0.8,
    ridge: float = 1e-10,
    null: bool = True,
    null_repeats: int = 5,
    seed: int | np.random.Generator | None = None,
) -> MemoryCapacityResult:
    """Memory function ``MC_k`` and capacity of recorded states driven by a scalar input.

    For each lag k in ``min_lag .. max_lag`` a readout ``y_k(t) = w_k . x(t) + c_k`` is
    fitted to ``u(t - k)`` by ridge regression on the training part and scored by the squared
    correlation ``r^2(u(t - k), y_k(t))`` on the held-out part (see the module docstring).

    Parameters
    ----------
    states : array (T, N)
        ``x(t)``, the state after the input ``u(t)`` was received (any network, simulated or
        recorded; for `simulate` output use ``ds.x.values[1:, trial]``).
    inputs : array (T,) or (T, 1)
        ``u(t)``, ideally i.i.d. (the classical definition); other inputs give the memory
        for that input's statistics.
    max_lag : int, 0 <= max_lag <= N
        Largest lag. Lags beyond N are refused: MC <= N, and N lags already cover what N
        variables can hold for i.i.d. input except for slowly decaying tails.
    min_lag : int, default 0
        Smallest lag (1 for the convention of Jaeger 2002 and reservoirpy, which leaves out
        the current input).
    washout : int, default 0
        Leading time points to drop (initial transient).
    train_fraction : float in (0, 1), default 0.8
        Fraction of the usable time points (after the washout and the first ``max_lag``)
        used to fit; the rest, later in time, scores.
    ridge : float >= 0, default 1e-10
        Ridge penalty relative to the mean state variance: ``lambda = ridge * ||X||_F^2 / N``
        for the centred training states X. Directions of the state with variance below
        about ``lambda`` are not used.
    null : bool, default True
        Also run the shuffled-input null.
    null_repeats : int >= 1, default 5
        Independent shuffles averaged in the null. Its per-lag values are correlated
        across lags when the readouts are slow (they see the same few slow directions), so
        one shuffle's null MC scatters like ``K chi^2_1 / n_test`` rather than
        ``chi^2_K / n_test``; averaging tames that. Each repeat reuses the fit's SVD, so it
        costs about as much as the fit of all lags minus the SVD (see Notes).
    seed : int or numpy.random.Generator, optional
        The permutations of the null.

    Returns
    -------
    MemoryCapacityResult

    Raises
    ------
    ValueError
        Non-finite ``states`` or ``inputs``, mismatched lengths, a constant input,
        ``max_lag > N`` or ``min_lag > max_lag``, or a recording too short for the lags and
        the split (the message names the parameter).

    Notes
    -----
    Cost: one SVD of the centred training states, ``O(n_train N^2)``, shared by all lags and
    all null repeats; then, for the data and for each repeat, one ``(N, n_train) x (n_train,
    K)`` matrix product for the readouts of all K lags together and one ``(n_test, N) x (N,
    K)`` product for their held-out predictions. The in-sample scores follow from the SVD
    coefficients without predicting the training points. The lagged targets are copied from a
    sliding window over ``u`` (no index arrays).
    """
    x = check_array("states", states, ndim=2)
    u = check_array("inputs", inputs, ndim=(1, 2))
    if u.ndim == 2:
        if u.shape[1] != 1:
            raise ValueError(f"inputs must be a scalar input of shape (T,) or (T, 1), got "
                             f"{u.shape}; pass one input channel at a time")
        u = u[:, 0]
    if u.shape[0] != x.shape[0]:
        raise ValueError(f"inputs must have one value per time point of states: got "
                         f"{u.shape[0]} inputs for {x.shape[0]} states (simulate records the "
                         "initial state too: use ds.x.values[1:])")
    n_time, n = x.shape
    max_lag = check_int("max_lag", max_lag, low=0)
    min_lag = check_int("min_lag", min_lag, low=0)
    if max_lag > n:
        raise ValueError(f"max_lag must be <= the number of state variables N={n} (MC <= N), "
                         f"got {max_lag}")
    if min_lag > max_lag:
        raise ValueError(f"min_lag must be <= max_lag={max_lag}, got {min_lag}")
    washout = check_int("washout", washout, low=0)
    fraction = check_number("train_fraction", train_fraction, low=0.0, high=1.0,
                            low_inclusive=False)
    if fraction == 1.0:
        raise ValueError("train_fraction must be < 1 (the held-out part would be empty)")
    ridge = check_number("ridge", ridge, low=0.0)
    null_repeats = check_int("null_repeats", null_repeats)
    lags = np.arange(min_lag, max_lag + 1)

    start = max(washout, max_lag)
    usable = n_time - start
    n_train = round(fraction * usable)
    n_test = usable - n_train
    if n_train < n + 2 or n_test < _MIN_TEST:
        raise ValueError(
            f"states: {n_time} time points are too few for max_lag={max_lag}, "
            f"washout={washout} and train_fraction={fraction:g}: {n_train} training points "
            f"(need >= N + 2 = {n + 2}) and {n_test} held-out points (need >= {_MIN_TEST})")
    if np.ptp(u) == 0:
        raise ValueError("inputs must vary in time (a constant input has no memory to measure)")

    readout = _RidgeReadout(x[start:], n_train, ridge)
    train, test = readout.scores(_lagged(u, start, min_lag, max_lag))
    if null:
        rng, _ = resolve_seed(seed)
        null_train = np.zeros(lags.size)
        null_test = np.zeros(lags.size)
        for _ in range(null_repeats):
            shuffled = u[rng.permutation(n_time)]
            one_train, one_test = readout.scores(_lagged(shuffled, start, min_lag, max_lag))
            null_train += one_train / null_repeats
            null_test += one_test / null_repeats
    else:
        null_train = null_test = np.full(lags.size, np.nan)
    parameters = {"max_lag": max_lag, "min_lag": min_lag, "washout": washout,
                  "train_fraction": fraction, "ridge": ridge, "null": bool(null),
                  "null_repeats": null_repeats,
                  "seed": seed if isinstance(seed, int | None) else "generator"}
    return MemoryCapacityResult(lags, test, train, null_test, null_train, n_train, n_test, n,
                                parameters)


def _lagged(u: np.ndarray, start: int, min_lag: int, max_lag: int) -> np.ndarray:
    """Targets ``u(t - k)`` for ``t = start ..`` (rows) and ``k = min_lag .. max_lag`` (columns).

    One contiguous copy of a sliding-window view of ``u`` (no index arrays).
    """
    windows = np.lib.stride_tricks.sliding_window_view(u, max_lag - min_lag + 1)
    return np.ascontiguousarray(windows[start - max_lag:u.size - max_lag, ::-1])


class _RidgeReadout:
    """Ridge readouts of fixed states, fitted on the leading ``n_train`` rows and reused for
    every set of targets (all lags, the data and each null shuffle) with a single SVD.

    With the centred training states ``X = U S V^T`` and centred training targets ``Y``, the
    weights are ``W = V diag(s / (s^2 + lambda)) U^T Y`` for all columns of ``Y`` at once.
    """

    def __init__(self, states: np.ndarray, n_train: int, ridge: float) -> None:
        self.n_train = n_train
        self.mean = states[:n_train].mean(axis=0)
        self.centred_test = states[n_train:] - self.mean
        u_mat, s, vt = np.linalg.svd(states[:n_train] - self.mean, full_matrices=False)
        penalty = ridge * float(np.sum(s**2)) / states.shape[1]
        # Exactly rank-deficient directions (s at rounding level) are dropped even at ridge 0.
        keep = s > s[0] * 1e-12 if s.size and s[0] > 0 else np.zeros(s.shape, bool)
        gain = np.zeros_like(s)
        gain[keep] = s[keep] / (s[keep] ** 2 + penalty)
        # u_mat.T is stored contiguous: U^T Y is then one plain matrix product per target set.
        self.u_t, self.gain, self.fitted_gain, self.vt = (np.ascontiguousarray(u_mat.T), gain,
                                                          s * gain, vt)

    def scores(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and held-out ``r^2`` of the readouts of each column of ``targets`` (T, K).

        In-sample, the fitted values are ``U diag(s gain) U^T Y``, so their correlation with
        ``Y`` follows from the (N, K) coefficients ``U^T Y`` alone; only the held-out part is
        predicted point by point.
        """
        train = targets[:self.n_train]
        centred = train - train.mean(axis=0)
        projected = self.u_t @ centred  # U^T Y, (N, K)
        fitted = self.fitted_gain[:, None] * projected
        covariance = np.sum(projected * fitted, axis=0)
        denominator = np.sum(centred**2, axis=0) * np.sum(fitted**2, axis=0)
        train_r2 = np.zeros(targets.shape[1])
        ok = denominator > 0
        train_r2[ok] = covariance[ok] ** 2 / denominator[ok]
        weights = self.vt.T @ (self.gain[:, None] * projected)
        return train_r2, _squared_correlation(targets[self.n_train:],
                                              self.centred_test @ weights)


def _squared_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise r^2 of two (T, K) arrays; 0 where a column is constant."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denominator = np.sum(a**2, axis=0) * np.sum(b**2, axis=0)
    numerator = np.sum(a * b, axis=0) ** 2
    out = np.zeros(a.shape[1])
    ok = denominator > 0
    out[ok] = numerator[ok] / denominator[ok]
    return out


# ------------------------------------------------------------------------------------------
# Linear networks: closed forms
# ------------------------------------------------------------------------------------------
def _linear_system(matrix: Any, input_weights: Any) -> tuple[np.ndarray, np.ndarray]:
    a = check_array("matrix", matrix, ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square (N, N), got shape {a.shape}")
    b = check_array("input_weights", input_weights, ndim=(1, 2))
    b = b[:, None] if b.ndim == 1 else b
    if b.shape[0] != a.shape[0]:
        raise ValueError(f"input_weights must have shape (N={a.shape[0]},) or (N, n_inputs), "
                         f"got {b.shape}")
    return a, b


def controllability_rank(matrix: Any, input_weights: Any, *, tol: float = 1e-9) -> int:
    """Rank of the controllability (Krylov) matrix ``[B, AB, A^2 B, ..., A^{N-1} B]``.

    The dimension of the subspace the input can reach in ``x_{t+1} = A x_t + B u_t``; for
    i.i.d. input it equals the total memory capacity ``sum_{k >= 0} MC_k`` (Jaeger 2002).
    Computed by block Arnoldi iteration (each new direction is orthogonalised against the
    previous ones, twice), which stays accurate where the raw powers ``A^k B`` would become
    numerically dependent.

    Parameters
    ----------
    matrix : array (N, N)
        ``A``.
    input_weights : array (N,) or (N, n_inputs)
        ``B``.
    tol : float, default 1e-9
        A direction counts when its norm after orthogonalisation exceeds ``tol`` times the
        norm of the vector it came from.
    """
    a, b = _linear_system(matrix, input_weights)
    tol = check_number("tol", tol, low=0.0, low_inclusive=False)
    n = a.shape[0]
    basis = np.zeros((n, 0))
    block = b
    for _ in range(n):
        new = []
        for column in block.T:
            norm = np.linalg.norm(column)
            if norm == 0:
                continue
            v = column.copy()
            for _ in range(2):
                v -= basis @ (basis.T @ v)
            if np.linalg.norm(v) > tol * norm:
                v /= np.linalg.norm(v)
                basis = np.column_stack([basis, v])
                new.append(v)
        if not new or basis.shape[1] == n:
            break
        block = a @ np.column_stack(new)
    return int(basis.shape[1])


def linear_memory_function(matrix: Any, input_weights: Any, max_lag: int, *,
                           min_lag: int = 0, rcond: float = 1e-12) -> np.ndarray:
    """Exact memory function of ``x_{t+1} = A x_t + b u_t`` driven by i.i.d. input.

    With ``x(t) = sum_{j >= 0} A^j b u(t - j)`` (stable A, stationary state) and unit input
    variance, ``cov(x(t), u(t - k)) = A^k b`` and ``cov(x) = W``, the controllability Gramian
    (``W = A W A^T + b b^T``), so the best linear readout gives::

        MC_k = (A^k b)^T W^+ (A^k b),    sum_{k >= 0} MC_k = rank W = controllability rank

    Parameters
    ----------
    matrix : array (N, N)
        ``A``, with spectral radius < 1. For the leaky map with leak a and linear phi use
        ``(1 - a) I + a A`` and ``a b``.
    input_weights : array (N,) or (N, 1)
        ``b`` (one input).
    max_lag : int >= 0
        Lags ``min_lag .. max_lag`` are returned (no upper bound here: the closed form has no
        estimation problem).
    min_lag : int, default 0
    rcond : float, default 1e-12
        Eigenvalues of W below ``rcond`` times the largest count as zero (the pseudo-inverse).

    Returns
    -------
    ndarray (max_lag - min_lag + 1,)
    """
    a, b = _linear_system(matrix, input_weights)
    if b.shape[1] != 1:
        raise ValueError(f"input_weights must be a single input (N,) or (N, 1), got {b.shape}")
    max_lag = check_int("max_lag", max_lag, low=0)
    min_lag = check_int("min_lag", min_lag, low=0)
    if min_lag > max_lag:
        raise ValueError(f"min_lag must be <= max_lag={max_lag}, got {min_lag}")
    rcond = check_number("rcond", rcond, low=0.0)
    radius = float(np.max(np.abs(np.linalg.eigvals(a)))) if a.size else 0.0
    if radius >= 1:
        raise ValueError(f"matrix must have spectral radius < 1 (a stationary state), got "
                         f"{radius:.4g}")
    gramian = scipy.linalg.solve_discrete_lyapunov(a, b @ b.T)
    values, vectors = np.linalg.eigh(0.5 * (gramian + gramian.T))
    keep = values > rcond * values[-1]
    out = np.empty(max_lag - min_lag + 1)
    column = np.linalg.matrix_power(a, min_lag) @ b[:, 0]
    for i in range(out.size):
        projected = vectors[:, keep].T @ column
        out[i] = float(np.sum(projected**2 / values[keep]))
        column = a @ column
    return out


# ------------------------------------------------------------------------------------------
# Driving a network
# ------------------------------------------------------------------------------------------
def network_memory_capacity(
    network: Network | DiscreteNetwork,
    max_lag: int,
    *,
    n_samples: int = 5000,
    washout: int = 200,
    input_amplitude: float = 0.8,
    sample_interval: float = 1.0,
    dt: float | None = None,
    noise_std: float = 0.0,
    min_lag: int = 0,
    train_fraction: float = 0.8,
    ridge: float = 1e-10,
    null: bool = True,
    null_repeats: int = 5,
    seed: int | np.random.Generator | None = None,
) -> MemoryCapacityResult:
    """Drive a network with i.i.d. uniform input and measure its memory capacity.

    ``u(t) ~ Uniform(-input_amplitude, input_amplitude)`` i.i.d. (Jaeger 2002 used 0.5,
    reservoirpy uses 0.8), fed through the network's single input channel, from the zero
    state; then `memory_capacity` on the states after each input.

    Parameters
    ----------
    network : Network or DiscreteNetwork
        With ``n_inputs == 1``. A `DiscreteNetwork` takes one input per step; a continuous
        `Network` holds each input for ``sample_interval`` time units (zero-order hold) and
        is sampled at the end of each interval.
    max_lag : int
        See `memory_capacity` (at most N).
    n_samples : int, default 5000
        Input samples after the washout.
    washout : int, default 200
        Leading samples discarded (transient from the zero state).
    input_amplitude : float > 0, default 0.8
    sample_interval : float > 0, default 1.0
        Continuous networks only: time per input sample.
    dt : float, optional
        Continuous networks only: integration step (default 0.1, or ``sample_interval`` if
        that is smaller); must divide ``sample_interval``.
    noise_std : float >= 0, default 0
        Private noise of the network (see `simulate`).
    min_lag, train_fraction, ridge, null, null_repeats
        See `memory_capacity`.
    seed : int or numpy.random.Generator, optional
        Seeds the input, the network noise and the null's permutation.

    Returns
    -------
    MemoryCapacityResult
        ``parameters`` also holds the driving settings.

    Notes
    -----
    A noise-free `DiscreteNetwork` is iterated here directly rather than through `simulate`:
    the same float64 operations, so the same states, but with the input term ``B u_t + d``
    of all steps computed at once and none of `simulate`'s per-step bookkeeping (input
    look-up, recorders, periodic finiteness checks), which dominates for small networks. A
    blow-up is reported by a `rnndyn.SimulationError` as from `simulate`. Noisy and
    continuous networks go through `simulate`.
    """
    if not isinstance(network, Network | DiscreteNetwork):
        raise ValueError(f"network must be a Network or DiscreteNetwork, got "
                         f"{type(network).__name__}")
    if network.n_inputs != 1:
        raise ValueError(f"network must have exactly one input channel (input_weights of "
                         f"shape (N, 1)), got n_inputs={network.n_inputs}")
    n_samples = check_int("n_samples", n_samples)
    washout = check_int("washout", washout, low=0)
    amplitude = check_number("input_amplitude", input_amplitude, low=0.0, low_inclusive=False)
    rng, seed_record = resolve_seed(seed)
    total = washout + n_samples
    u = rng.uniform(-amplitude, amplitude, size=total)
    sim_seed = int(rng.integers(2**62))
    if isinstance(network, DiscreteNetwork):
        if dt is not None:
            raise ValueError("dt applies to a continuous Network only (a DiscreteNetwork "
                             "takes one step per input)")
        substeps, step = 1, None
    else:
        interval = check_number("sample_interval", sample_interval, low=0.0,
                                low_inclusive=False)
        step = min(0.1, interval) if dt is None else check_number(
            "dt", dt, low=0.0, low_inclusive=False)
        substeps = round(interval / step)
        if substeps < 1 or abs(substeps * step - interval) > 1e-9 * interval:
            raise ValueError(f"dt must divide sample_interval={interval:g}, got {step:g}")
    if isinstance(network, DiscreteNetwork) and np.ndim(noise_std) == 0 and noise_std == 0:
        states = _iterate_map(network, u)
    else:
        held = np.repeat(u, substeps)[:, None]
        with torch.no_grad():
            ds = simulate(network, t_max=total * substeps * (step or 1.0), dt=step,
                          x0=np.zeros(network.n), inputs=held, noise_std=noise_std,
                          record_every=substeps, dtype=torch.float64, seed=sim_seed)
        states = ds.x.values[1:, 0, :]  # x after each input sample
    result = memory_capacity(states, u, max_lag, min_lag=min_lag, washout=washout,
                             train_fraction=train_fraction, ridge=ridge, null=null,
                             null_repeats=null_repeats, seed=rng)
    parameters = {**result.parameters, "n_samples": n_samples, "input_amplitude": amplitude,
                  "noise_std": noise_std, "seed": seed_record,
                  "sample_interval": None if step is None else substeps * step,
                  "dt": step, "network": network.describe()}
    return MemoryCapacityResult(result.lags, result.function, result.function_train,
                                result.null_function, result.null_function_train,
                                result.n_train, result.n_test, result.n_features, parameters)


def _iterate_map(network: DiscreteNetwork, u: np.ndarray) -> np.ndarray:
    """States ``x_1 .. x_T`` of a noise-free `DiscreteNetwork` driven by ``u`` from ``x_0 = 0``.

    The same float64 torch operations as `simulate` (``A x`` by the connectivity's ``apply``,
    then ``+ (B u_t + d)``, ``phi`` and the leak), so the states are identical to its ``x[1:]``;
    but ``B u_t + d`` is computed for all steps at once and the loop does nothing else, which
    makes it 2-3 times faster than `simulate` for small networks (N = 50: about 15 us per
    step against 35-40 us), where the per-step Python overhead dominates.
    """
    dtype = torch.float64
    tensors = network.tensors("cpu", dtype)
    drive = torch.as_tensor(u, dtype=dtype)[:, None] @ tensors["input_weights"].T  # (T, N)
    if "bias" in tensors:
        drive = drive + tensors["bias"]
    x = torch.zeros((1, network.n), dtype=dtype)
    apply, phi, leak = network.connectivity.apply, network.phi.value, network.leak
    trajectory = []  # each step's new (1, N) tensor, concatenated once at the end
    with torch.no_grad():
        for term in drive.unbind(0):
            pre = apply(x)
            pre += term
            new = phi(pre)
            x = new if leak == 1.0 else torch.lerp(x, new, leak)
            trajectory.append(x)
    states = torch.cat(trajectory).numpy()
    bad = ~np.isfinite(states).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise SimulationError(f"the state became non-finite at step {first + 1} of the "
                              "driven network; lower the coupling gain or input_amplitude")
    return states
