"""The paths that keep large fits lean (benchmarks/run.py --only huge), on small data.

Unit weights are counted without arrays of n weights, the euclidean count adds test
outcomes instead of branching on them, clique blocks are joined after a box test, the
grid sorts 4-byte cell keys in place: each must give scikit-learn's labels (or numpy's
order), and the weighted and general paths the same.
"""

import numpy as np
import pytest
from reference import predict as reference_predict
from sklearn.cluster import DBSCAN

from gridscan import GridDBSCAN
from gridscan._grid import _radix_sort


def blobs(n, d, seed):
    """Dense Gaussian blobs with uniform noise: clique cells, sparse cells and noise."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 20, (8, d))
    members = centres[rng.integers(0, 8, n - n // 5)] + rng.normal(0, 1, (n - n // 5, d))
    return np.vstack([members, rng.uniform(0, 20, (n // 5, d))])


def assert_sklearn_labels(X, eps, min_samples, sample_weight=None, algorithm="auto",
                          metric="euclidean"):
    expected = DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(
        X, sample_weight=sample_weight)
    model = GridDBSCAN(eps=eps, min_samples=min_samples, metric=metric,
                       algorithm=algorithm).fit(X, sample_weight=sample_weight)
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.core_sample_indices_, expected.core_sample_indices_)
    return model


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ["grid", "ball_tree"])
def test_unit_weight_count_equals_sklearn(d, dtype, algorithm):
    X = blobs(3000, d, seed=d).astype(dtype)
    for eps in (0.15, 0.4):
        for min_samples in (2, 10, 40):
            assert_sklearn_labels(X, eps, min_samples, algorithm=algorithm)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
def test_unit_and_explicit_weights_agree(metric):
    """sample_weight=None (counted as integers) and all ones (summed) are the same fit."""
    X = blobs(2000, 2, seed=5)
    unit = assert_sklearn_labels(X, 0.3, 8, metric=metric)
    ones = assert_sklearn_labels(X, 0.3, 8, sample_weight=np.ones(len(X)), metric=metric)
    np.testing.assert_array_equal(unit.labels_, ones.labels_)


@pytest.mark.parametrize("kind", ["integer", "fraction", "negative"])
def test_weighted_count_equals_sklearn(rng, kind):
    X = blobs(2000, 2, seed=6)
    weights = {"integer": rng.integers(0, 4, len(X)).astype(float),
               "fraction": rng.uniform(0.1, 2.0, len(X)),
               "negative": rng.choice([-1.0, 1.0, 2.0], len(X), p=[0.1, 0.6, 0.3])}[kind]
    for min_samples in (3, 12):
        assert_sklearn_labels(X, 0.3, min_samples, sample_weight=weights)


@pytest.mark.parametrize("d, step, sizes", [(2, 0.25, (45, 47, 49, 50)),
                                            (3, 0.5, (26, 28, 31, 33))])
@pytest.mark.parametrize("kept", [1.0, 0.8])
def test_lattice_ties_in_the_integer_count(d, step, sizes, kept):
    """Neighbours exactly at eps count, as in scikit-learn (squared distance vs eps**2).

    A lattice finer than eps (several points per cell, neighbours at exactly eps
    along every axis): an interior point has 49 neighbours in 2-D (33 in 3-D),
    4 (6) of them at eps, so min_samples around those counts decides on ties.
    """
    axis = np.arange(0.0, 10.0 if d == 2 else 4.0, step)
    X = np.stack(np.meshgrid(*[axis] * d), -1).reshape(-1, d)
    X = X[np.random.default_rng(d).permutation(len(X))[:int(len(X) * kept)]]
    for min_samples in sizes:
        assert_sklearn_labels(X, 1.0, min_samples, algorithm="grid")


def test_dense_cliques_joined_as_sklearn():
    """Many crowded cells: clique blocks near each other, joined or not by one pair."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.uniform(0, 1, (4000, 2)), rng.uniform(3, 4, (4000, 2)),
                   [[1.0 + k * 0.049, 0.5] for k in range(41)]])
    for eps in (0.05, 0.08):
        assert_sklearn_labels(X, eps, 4)


def test_predict_follows_the_rule():
    """New points take the smallest label of a core point within eps, else -1."""
    X = blobs(3000, 2, seed=7)
    model = GridDBSCAN(eps=0.3, min_samples=8).fit(X)
    rng = np.random.default_rng(8)
    new = np.vstack([X[rng.integers(0, len(X), 1000)] + rng.normal(0, 0.3, (1000, 2)),
                     rng.uniform(-1, 21, (1000, 2))])
    expected = reference_predict(X, np.full(X.shape, 0.3), model.labels_,
                                 model.core_sample_indices_, new, rule="query")
    np.testing.assert_array_equal(model.predict(new), expected)
    np.testing.assert_array_equal(model.predict(X), model.labels_)


@pytest.mark.parametrize("dtype, max_key", [(np.int32, 7_000_000), (np.int32, 2**31 - 1),
                                            (np.int64, 2**40)])
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_radix_sort_of_narrow_keys_in_place(dtype, max_key, overwrite, n_threads):
    """The grid sorts 4-byte keys when they fit, in the keys' own array: numpy's order."""
    keys = np.random.default_rng(max_key).integers(0, max_key + 1, 150_000).astype(dtype)
    given = keys.copy()
    order, sorted_keys = _radix_sort(keys, max_key, n_threads, overwrite_keys=overwrite)
    expected = np.argsort(given, kind="stable")
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(sorted_keys, given[expected])
    assert sorted_keys.dtype == dtype
    if not overwrite:
        np.testing.assert_array_equal(keys, given)
