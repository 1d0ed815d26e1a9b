"""The fast paths of the README's radar recipe and of per-point eps, against the brute force.

The recipe clusters ``ppi_features`` (x, y, ground range) with ``beam_eps`` and
the ground range as a window feature.  Its index takes one cell along a window
feature whose cells would not split the others' (the ground range beside x, y)
and finer cells for crowded per-point grids; connect searches each pair of
blocks once, from the lower block, with a union search when the eps are the
points' own, and the union test of isotropic rows takes the larger radius.
None of that may change a label: every case here is checked against
tests/reference.py (docs/semantics.rst in plain numpy) and, for the recipe,
against the same neighbourhoods given as sample_eps.
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan

from gridscan import GridDBSCAN, RangeEps, _grid
from gridscan.radar import beam_eps, make_radar_scan, ppi_features

WINDOW_RANGE = np.array([False, False, True])


def fitted_index(model, X, sample_eps=None):
    """The index a fit of X by ``model`` builds (model fitted on X)."""
    table = model._fit_plan(X, None, sample_eps).eps_table
    return model._build_index(X, table)


def radar_gates(n_rays, n_gates, gate_spacing, seed):
    points, _ = make_radar_scan(n_rays=n_rays, n_gates=n_gates, gate_spacing=gate_spacing,
                                n_echoes=4, speckle=0.02, random_state=seed)
    return points


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("beams,min_eps", [(1.5, 1.0), (4.0, 0.3)])
def test_recipe_equals_reference_and_sample_eps(beams, min_eps, n_jobs):
    points = radar_gates(72, 60, 1.0, seed=3)
    X = ppi_features(points)
    model = beam_eps(points, beams=beams, min_eps=min_eps)
    table = model.evaluate(X)
    expected, core = reference_dbscan(X, np.repeat(table, 3, axis=1), 6, window=WINDOW_RANGE)
    for algorithm in ("auto", "grid"):
        recipe = GridDBSCAN(eps=model, min_samples=6, window_features=[2],
                            algorithm=algorithm, n_jobs=n_jobs).fit(X)
        np.testing.assert_array_equal(recipe.labels_, expected)
        np.testing.assert_array_equal(recipe.core_sample_indices_, core)
        xy = GridDBSCAN(min_samples=6, algorithm=algorithm, n_jobs=n_jobs).fit(
            X[:, :2], sample_eps=table[:, 0])
        np.testing.assert_array_equal(xy.labels_, expected)
        windowed = GridDBSCAN(min_samples=6, window_features=[2], algorithm=algorithm,
                              n_jobs=n_jobs).fit(X, sample_eps=table[:, 0])
        np.testing.assert_array_equal(windowed.labels_, expected)


@pytest.mark.parametrize("model", [
    # Radii of 0.5 to 7.2 km, spread 4 over the median.
    RangeEps(base=0.002, range_feature=2, power=2.0, min_eps=0.5),
    # 1.5 to 2.1 km, spread 1.4.
    beam_eps(4.0, beams=0.5, min_eps=1.5),
])
def test_recipe_index_has_one_cell_along_the_ground_range(model):
    points = radar_gates(90, 120, 0.5, seed=4)
    X = ppi_features(points)
    fitted = GridDBSCAN(eps=model, min_samples=6, window_features=[2]).fit(X)
    index = fitted_index(fitted, X)
    assert index.shape[2] == 1 and index.shape[0] > 1 and index.shape[1] > 1
    assert index.along != 2
    expected, _ = reference_dbscan(X, np.repeat(model.evaluate(X), 3, axis=1), 6,
                                   window=WINDOW_RANGE)
    np.testing.assert_array_equal(fitted.labels_, expected)


@pytest.mark.parametrize("per_point", [False, True])
def test_window_that_splits_keeps_its_cells(rng, per_point):
    # ST-DBSCAN: the same few places seen at many times; the time window cuts them.
    n = 900
    place = rng.integers(0, 6, n)
    X = np.column_stack([place % 3 + rng.normal(0, 0.3, n), place // 3 + rng.normal(0, 0.3, n),
                         rng.uniform(0, 100, n)])
    eps = np.array([0.35, 0.35, 2.0])
    table = eps * rng.uniform(0.8, 1.2, (n, 1)) if per_point else np.tile(eps, (n, 1))
    model = GridDBSCAN(eps=eps, min_samples=4, window_features=[2])
    sample_eps = table if per_point else None
    model.fit(X, sample_eps=sample_eps)
    assert fitted_index(model, X, sample_eps).shape[2] > 1
    expected, _ = reference_dbscan(X, table, 4, window=WINDOW_RANGE, scaled=True)
    np.testing.assert_array_equal(model.labels_, expected)


@pytest.mark.parametrize("bits_per_point", [64, 0])
@pytest.mark.parametrize("feature", [0, 2])
def test_occupied_cells_counts_cells_and_columns(rng, monkeypatch, bits_per_point, feature):
    # The bitmap (few cells per point) and the sort (0 bits per point) count alike.
    monkeypatch.setattr(_grid, "OCCUPANCY_BITS_PER_POINT", bits_per_point)
    X = np.column_stack([rng.normal(0, 3, 2000), rng.uniform(0, 5, 2000),
                         rng.integers(0, 7, 2000).astype(float)])
    cell = np.array([0.7, 0.5, 1.0])
    low = X.min(axis=0)
    coords = np.floor((X - low) / cell).astype(np.int64)
    columns = np.delete(coords, feature, axis=1)
    expected = (len(np.unique(coords, axis=0)), len(np.unique(columns, axis=0)))
    assert _grid.occupied_cells(X, cell, feature) == expected


@pytest.mark.parametrize("metric,p", [("euclidean", None), ("manhattan", None),
                                      ("minkowski", 3)])
@pytest.mark.parametrize("rule", ["union", "query"])
@pytest.mark.parametrize("algorithm", ["auto", "grid"])
@pytest.mark.parametrize("window,periods", [(None, None), ([2], None), ([2], [360.0, None, None]),
                                            (None, [360.0, None, None])])
def test_isotropic_per_point_eps_equals_reference(rng, metric, p, rule, algorithm, window,
                                                  periods):
    # One radius per point, spread 20-fold (the ball tree for "auto"), both rules.
    n = 700
    X = np.column_stack([rng.uniform(0, 360, n), rng.uniform(0, 40, n), rng.uniform(0, 40, n)])
    radii = np.exp(rng.uniform(np.log(0.4), np.log(8.0), n))
    model = GridDBSCAN(min_samples=5, metric=metric, p=p, neighbors=rule, algorithm=algorithm,
                       window_features=window, periods=periods).fit(X, sample_eps=radii)
    mask = np.zeros(3, bool)
    if window is not None:
        mask[window] = True
    expected, core = reference_dbscan(X, np.repeat(radii[:, None], 3, axis=1), 5, metric,
                                      p or 2.0, mask, rule, periods=periods)
    np.testing.assert_array_equal(model.labels_, expected)
    np.testing.assert_array_equal(model.core_sample_indices_, core)


def test_crowded_per_point_grid_takes_finer_cells(rng):
    # Hundreds of neighbours per point with radii of their own: the cells get finer.
    n = 1500
    X = rng.uniform(0, 1, (n, 2))
    radii = rng.uniform(0.15, 0.25, n)
    model = GridDBSCAN(min_samples=120).fit(X, sample_eps=radii)
    index = fitted_index(model, X, radii)
    assert np.all(index.cell_size < np.median(radii) / np.sqrt(2) / 1.5)
    expected, core = reference_dbscan(X, np.repeat(radii[:, None], 2, axis=1), 120)
    np.testing.assert_array_equal(model.labels_, expected)
    np.testing.assert_array_equal(model.core_sample_indices_, core)


@pytest.mark.parametrize("power", [[0.25, 0.25, 0.25], [0.0, -1.0, -1.0], [1.0, 0.5, 0.5]])
def test_range_eps_evaluate_equals_formula(rng, power):
    X = rng.uniform(-1, 50, (200, 3))
    model = RangeEps(base=[0.5, 2.0, 3.0], range_feature=0, power=power, offset=2.0,
                     min_eps=[0.2, 0.1, 0.3], max_eps=[9.0, 20.0, 30.0])
    raw = np.array([0.5, 2.0, 3.0]) * (X[:, :1] + 2.0) ** np.array(power)
    expected = np.clip(raw, [0.2, 0.1, 0.3], [9.0, 20.0, 30.0])
    np.testing.assert_allclose(model.evaluate(X), expected, rtol=1e-14)
