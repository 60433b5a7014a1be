"""I.i.d. Gaussian random connectivity (Sompolinsky, Crisanti & Sommers 1988)."""

from __future__ import annotations

import math

from rnndyn._validation import check_int, check_number
from rnndyn.connectivity._random import Seed, resolve_seed
from rnndyn.connectivity.dense_matrix import DenseConnectivity


def gaussian(n: int, g: float, mean: float = 0.0, seed: Seed = None) -> DenseConnectivity:
    """Square matrix with i.i.d. Gaussian entries.

    J_ij ~ N(mean / n, g^2 / n)

    For large n the eigenvalues of the fluctuating part fill the disc of radius g uniformly
    (circular law, Girko 1984); a nonzero ``mean`` adds one outlier near ``mean``.

    Parameters
    ----------
    n : int >= 1
        Number of neurons.
    g : float >= 0
        Gain: standard deviation of an entry times sqrt(n).
    mean : float
        Mean of an entry times n (the row sums then have mean ``mean``).
    seed : int, numpy.random.Generator or None
        Passed to ``numpy.random.default_rng``; the same seed gives the same matrix.

    Returns
    -------
    DenseConnectivity
        ``kind == "gaussian"``; ``params`` holds n, g, mean and the seed record.

    Raises
    ------
    ValueError
        If n is not a positive integer, g is negative or not finite, mean is not finite, or
        seed is invalid.
    """
    n = check_int("n", n, low=1)
    g = check_number("g", g, low=0.0)
    mean = check_number("mean", mean)
    rng, seed_record = resolve_seed(seed)
    matrix = rng.standard_normal((n, n))
    matrix *= g / math.sqrt(n)
    matrix += mean / n
    params = {"kind": "gaussian", "n": n, "g": g, "mean": mean, "seed": seed_record}
    return DenseConnectivity(matrix, params)
