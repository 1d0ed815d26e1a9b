"""The cell grid in 4 to 8 features, where it finds its cells through a tree over them.

Against scikit-learn (scalar eps, every metric, weights) and the brute force of
docs/semantics.rst (tests/reference.py: per-feature, per-point and RangeEps eps,
window features, both neighbour rules), on clustered data with noise, for 1
and 2 threads; and "auto" chooses the grid there.
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan
from sklearn.cluster import DBSCAN

from gridscan import GridDBSCAN, RangeEps
from gridscan._grid import TREE_MIN_FEATURES, CellGrid
from gridscan._index_choice import choose_algorithm
from gridscan._validation import resolve_metric

pytestmark = pytest.mark.usefixtures("every_thread")

METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None), ("minkowski", 3)]


def blobs(n, d, seed):
    """Gaussian blobs of 1 wide in a box of 12, a tenth of the points uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 12, (6, d))
    X = centres[rng.integers(0, 6, n)] + rng.normal(0, 1.0, (n, d))
    X[: n // 10] = rng.uniform(0, 12, (n // 10, d))
    return X


def typical_eps(X, metric, p, neighbours=15):
    """An eps around which a point has about ``neighbours`` neighbours."""
    from sklearn.neighbors import NearestNeighbors
    distances, _ = NearestNeighbors(n_neighbors=neighbours, metric=metric, p=p or 2).fit(
        X).kneighbors(X[::10])
    return float(np.median(distances[:, -1]))


@pytest.mark.parametrize("metric,p", METRICS)
@pytest.mark.parametrize("d", [4, 5, 8])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_scalar_eps_equals_sklearn(d, metric, p, n_jobs):
    X = blobs(2500, d, seed=d)
    eps = typical_eps(X, metric, p)
    weights = np.random.default_rng(d).integers(0, 3, X.shape[0]).astype(float)
    for min_samples, sample_weight in ((1, None), (5, None), (12, None), (6, weights)):
        expected = DBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p).fit(
            X, sample_weight=sample_weight)
        for algorithm in ("auto", "grid"):
            model = GridDBSCAN(eps, min_samples=min_samples, metric=metric, p=p,
                               algorithm=algorithm, n_jobs=n_jobs).fit(
                X, sample_weight=sample_weight)
            np.testing.assert_array_equal(model.labels_, expected.labels_)
            np.testing.assert_array_equal(model.core_sample_indices_,
                                          expected.core_sample_indices_)
            np.testing.assert_array_equal(model.predict(X), expected.labels_)


def eps_tables(X, rng):
    """(GridDBSCAN eps, sample_eps, (n, d) table for the reference, scaled form) per form."""
    n, d = X.shape
    base = typical_eps(X, "euclidean", None)
    per_feature = base * rng.uniform(0.6, 1.5, d)
    rows = base * rng.uniform(0.6, 1.4, n)
    rows_features = base * rng.uniform(0.6, 1.4, (n, d))
    model = RangeEps(base=per_feature / 6.0, range_feature=0, power=1.0, offset=6.0)
    return {
        "features": (per_feature, None, np.tile(per_feature, (n, 1)), True),
        "rows": (0.5, rows, np.repeat(rows[:, None], d, axis=1), False),
        "rows_features": (0.5, rows_features, rows_features, True),
        "model": (model, None, model.evaluate(X), True),
    }


@pytest.mark.parametrize("form", ["features", "rows", "rows_features", "model"])
@pytest.mark.parametrize("d", [4, 6, 8])
@pytest.mark.parametrize("neighbors", ["union", "query"])
@pytest.mark.parametrize("window", [False, True])
def test_every_eps_form_equals_the_brute_force(form, d, neighbors, window):
    rng = np.random.default_rng(100 * d + len(form))
    X = blobs(600, d, seed=d + 1)
    eps, sample_eps, table, scaled = eps_tables(X, rng)[form]
    window_mask = np.zeros(d, bool)
    if window:
        window_mask[d - 1] = True
    weights = rng.integers(0, 3, X.shape[0]).astype(float)
    metric, p = METRICS[d % len(METRICS)]
    min_samples = 6
    labels, core = reference_dbscan(X, table, min_samples, metric, p or 2.0, window_mask,
                                    neighbors, weights, scaled)
    for n_jobs in (1, 2):
        model = GridDBSCAN(eps, min_samples=min_samples, metric=metric, p=p,
                           neighbors=neighbors, algorithm="grid", n_jobs=n_jobs,
                           window_features=[d - 1] if window else None).fit(
            X, sample_weight=weights, sample_eps=sample_eps)
        np.testing.assert_array_equal(model.labels_, labels)
        np.testing.assert_array_equal(model.core_sample_indices_, core)
        np.testing.assert_array_equal(model.predict(X, sample_eps=sample_eps), labels)


@pytest.mark.parametrize("d", [4, 5, 8])
def test_auto_takes_the_cell_grid_with_its_tree(d):
    X = blobs(3000, d, seed=d)
    eps = typical_eps(X, "euclidean", None)
    metric, p = resolve_metric("euclidean", None)
    assert choose_algorithm(X, np.array([[eps]]), "auto", metric, p,
                            np.zeros(d, np.uint8)) == "grid"
    grid = GridDBSCAN(eps)._build_index(X, np.array([[eps]]))
    assert isinstance(grid, CellGrid) and grid.tree_nodes > 0
    assert d >= TREE_MIN_FEATURES


def test_cells_of_one_repeated_point_and_far_outliers():
    """Many points in one cell and lone points far away: tree nodes of very uneven size."""
    rng = np.random.default_rng(7)
    X = np.vstack([np.zeros((500, 5)), rng.uniform(-1e3, 1e3, (200, 5)),
                   rng.normal(0, 0.3, (300, 5))])
    for eps in (0.1, 0.5, 50.0):
        expected = DBSCAN(eps=eps, min_samples=4).fit(X)
        model = GridDBSCAN(eps, min_samples=4, algorithm="grid", n_jobs=2).fit(X)
        np.testing.assert_array_equal(model.labels_, expected.labels_)
