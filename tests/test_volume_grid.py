"""The cell grid with cells sized to each point's own eps (levels), as for a radar volume.

Against the brute force of docs/semantics.rst (tests/reference.py): a small
synthetic radar volume clustered as ``volume_features`` sets it up, and
clustered points whose eps grow with their distance from the origin, in
every eps form, metric and neighbour rule, with window features and
weights, for 1 and 2 threads.  Also which eps give levels at all.
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan

from gridscan import GridDBSCAN
from gridscan._grid import cell_populations, numbered_cells
from gridscan._index_choice import LEVEL_COST_RATIO, cell_levels
from gridscan.radar import NEXRAD_ELEVATIONS, make_radar_volume, volume_features

pytestmark = pytest.mark.usefixtures("every_thread")


METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None), ("minkowski", 3)]


def spreading_points(n, d, seed):
    """Blobs and noise in a box of 40 around the origin, and each point's radius scale:
    from 1 at the origin to about 16 at the far corner (a radar's radii grow with range)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, (8, d))
    X = centres[rng.integers(0, 8, n)] + rng.normal(0, 2.0, (n, d))
    X[: n // 5] = rng.uniform(-20, 20, (n // 5, d))
    scale = 1.0 + 15.0 * np.linalg.norm(X, axis=1) / np.linalg.norm(np.full(d, 20.0))
    return X, scale


def test_small_volume_equals_the_brute_force():
    points, _ = make_radar_volume(72, 80, gate_spacing=0.5, elevations=NEXRAD_ELEVATIONS[:8],
                                  n_echoes=4, random_state=3)
    features = volume_features(points, max_eps=5.0)
    X, table = features.X, features.sample_eps
    assert 1000 < len(X) < 3000
    labels, core = reference_dbscan(X, table, 6, scaled=True)
    assert len(np.unique(labels[labels >= 0])) > 1
    for n_jobs in (1, 2):
        model = features.estimator(min_samples=6, n_jobs=n_jobs)
        np.testing.assert_array_equal(model.fit_predict(X, **features.fit_kwargs()), labels)
        np.testing.assert_array_equal(model.core_sample_indices_, core)
    grid = model._build_index(X, table)
    assert grid.levelled and grid.tree_nodes > 0


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("form", ["rows", "rows_features"])
@pytest.mark.parametrize("neighbors", ["union", "query"])
def test_levelled_grid_equals_the_brute_force(d, form, neighbors):
    X, scale = spreading_points(1200, d, seed=10 * d + len(form))
    rng = np.random.default_rng(d)
    if form == "rows":
        sample_eps = 0.4 * scale
        table, scaled = np.repeat(sample_eps[:, None], d, axis=1), False
    else:
        sample_eps = 0.4 * scale[:, None] * rng.uniform(0.7, 1.4, (len(X), d))
        table, scaled = sample_eps, True
    weights = rng.integers(0, 3, len(X)).astype(float)
    for (metric, p), window in zip(METRICS, (None, [d - 1], None, [0]), strict=True):
        window_mask = np.zeros(d, bool)
        if window is not None:
            window_mask[window] = True
        expected, core = reference_dbscan(X, table, 5, metric, p or 2.0, window_mask,
                                          neighbors, weights, scaled)
        for n_jobs in (1, 2):
            model = GridDBSCAN(0.5, min_samples=5, metric=metric, p=p, neighbors=neighbors,
                               algorithm="grid", window_features=window, n_jobs=n_jobs)
            model.fit(X, sample_weight=weights, sample_eps=sample_eps)
            np.testing.assert_array_equal(model.labels_, expected)
            np.testing.assert_array_equal(model.core_sample_indices_, core)
            np.testing.assert_array_equal(model.predict(X, sample_eps=sample_eps), expected)
    assert model._build_index(X, sample_eps.reshape(len(X), -1)).levelled


@pytest.mark.parametrize("d", [2, 3])
def test_rows_with_eps_of_their_own_equal_the_brute_force(d):
    """One feature's eps varies (with another feature, as a radar's azimuth eps with range):
    no levels, the rows follow that feature; every cell of a row walks the rows near it."""
    X, scale = spreading_points(1500, d, seed=d)
    sample_eps = np.full((len(X), d), 0.8)
    sample_eps[:, d - 1] = 0.2 * (1.0 + np.abs(X[:, 0]))
    expected, core = reference_dbscan(X, sample_eps, 5, scaled=True)
    for n_jobs in (1, 2):
        model = GridDBSCAN(0.5, min_samples=5, algorithm="grid", n_jobs=n_jobs)
        np.testing.assert_array_equal(model.fit_predict(X, sample_eps=sample_eps), expected)
        np.testing.assert_array_equal(model.core_sample_indices_, core)
    grid = model._build_index(X, sample_eps)
    assert not grid.levelled and grid.tree_nodes == 0 and grid.along == d - 1


def test_levelled_grid_with_copies_and_far_points():
    """Copies of one point with radii of their own, and lone points of huge eps far away."""
    rng = np.random.default_rng(5)
    X = np.vstack([np.zeros((300, 3)), rng.normal(0, 1.0, (400, 3)),
                   rng.uniform(-500, 500, (60, 3))])
    sample_eps = np.concatenate([rng.uniform(0.01, 1.0, 300), rng.uniform(0.1, 0.5, 400),
                                 rng.uniform(5.0, 400.0, 60)])
    table = np.repeat(sample_eps[:, None], 3, axis=1)
    expected, core = reference_dbscan(X, table, 4)
    model = GridDBSCAN(1.0, min_samples=4, algorithm="grid", n_jobs=2)
    np.testing.assert_array_equal(model.fit_predict(X, sample_eps=sample_eps), expected)
    np.testing.assert_array_equal(model.core_sample_indices_, core)
    assert model._build_index(X, sample_eps[:, None]).levelled


def test_which_eps_give_levels():
    """Levels only for eps of the points' own that spread along two features or more and
    grow together; then each point's level balances its cell's crowding and reach."""
    X, scale = spreading_points(3000, 3, seed=1)
    rng = np.random.default_rng(0)
    coherent = 0.4 * scale[:, None] * rng.uniform(0.8, 1.25, (len(X), 3))
    one_feature = np.column_stack([coherent[:, 0], np.full((len(X), 2), 1.0)])
    independent = 0.4 * rng.uniform(1.0, 16.0, (len(X), 3))

    def cell_for(table):
        return np.broadcast_to(np.median(table, axis=0), (3,)) / np.sqrt(3)

    for table in (np.array([[1.0, 2.0, 3.0]]), one_feature, independent):
        assert cell_levels(X, cell_for(table), table) is None
    for table in (coherent, coherent[:, :1].copy()):
        cell = cell_for(table)
        level = cell_levels(X, cell, table)
        assert level is not None
        # The crowding of each point's cell and the reach of its eps, in cells.
        cells = np.floor((X - X.min(axis=0)) / cell).astype(np.int64)
        _, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        crowd = counts[inverse.ravel()]
        reach = np.exp(np.mean(np.log(np.broadcast_to(table, X.shape) / cell), axis=1))
        balance = (LEVEL_COST_RATIO * reach / crowd**2) ** (1 / 7)
        np.testing.assert_array_equal(level, np.clip(np.rint(np.log2(balance)), -8, 8))
        assert len(np.unique(level)) > 1


@pytest.mark.parametrize("span", [40.0, 1e5])
def test_cell_populations_count_each_points_cell(span):
    """The crowding the levels are chosen from, against numpy's count of the same cells
    (4-byte cell keys over a span of 40, 8-byte ones over 1e5)."""
    X, _ = spreading_points(2000, 3, seed=4)
    X[:10] *= span / 40.0
    cell = np.array([0.5, 0.7, 0.9])
    low = X.min(axis=0)
    size, shape = numbered_cells(low, X.max(axis=0), cell)
    np.testing.assert_array_equal(size, cell)                      # cells not coarsened
    assert (np.prod(shape.astype(float)) > 2**31) == (span > 40)    # 8-byte keys
    for n_threads in (1, 2):
        crowd = cell_populations(X, cell, n_threads)
        cells = np.floor((X - low) / cell).astype(np.int64)
        _, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        np.testing.assert_array_equal(crowd, counts[inverse.ravel()])
