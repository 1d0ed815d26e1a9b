"""Small data sets for the tests: blobs, uniform noise, integer lattices, duplicates."""

import numpy as np
from sklearn.datasets import make_blobs


def blobs(n, d, seed):
    X, _ = make_blobs(n, n_features=d, centers=4, cluster_std=0.6, random_state=seed)
    noise = np.random.default_rng(seed).uniform(X.min(0), X.max(0), (n // 5, d))
    return np.vstack([X, noise])


def uniform(n, d, seed):
    return np.random.default_rng(seed).uniform(0, 1, (n, d))


def lattice(n, d, seed):
    """Occupied cells of an integer lattice: many distances equal eps exactly."""
    side = int(np.ceil((2.5 * n) ** (1 / d))) if d > 1 else n // 2
    rng = np.random.default_rng(seed)
    return rng.integers(0, side, (n, d)).astype(float)


def duplicates(n, d, seed):
    X = blobs(n // 3, d, seed)
    return np.vstack([X, X[: n // 3], X[::2]])


DATASETS = {"blobs": blobs, "uniform": uniform, "lattice": lattice, "duplicates": duplicates}

# eps per data set and dimension giving a mix of core, border and noise points
EPS = {
    "blobs": {1: 0.05, 2: 0.4, 3: 0.7, 5: 1.6},
    "uniform": {1: 0.005, 2: 0.06, 3: 0.15, 5: 0.4},
    "lattice": {1: 1.0, 2: 1.0, 3: 1.0, 5: 1.0},
    "duplicates": {1: 0.05, 2: 0.4, 3: 0.7, 5: 1.6},
}
