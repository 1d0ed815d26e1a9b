"""The fast paths of per-point eps and of the README's radar recipe, against the brute force.

The recipe clusters ``ppi_features`` (x, y, ground range) with ``beam_eps`` and
the ground range as a window feature; connect searches each pair of blocks once,
from the lower block, with a union search when the eps are the points' own, and
the union test of isotropic rows takes the larger radius.  None of that may
change a label: every case here is checked against tests/reference.py
(docs/semantics.rst in plain numpy) and, for the recipe, against the same
neighbourhoods given as sample_eps.
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan

from gridscan import GridDBSCAN, RangeEps
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


@pytest.mark.parametrize("metric,p", [("euclidean", None), ("manhattan", None),
                                      ("minkowski", 3)])
@pytest.mark.parametrize("rule", ["union", "query"])
@pytest.mark.parametrize("window,periods", [(None, None), ([2], None), ([2], [360.0, None, None]),
                                            (None, [360.0, None, None])])
def test_isotropic_per_point_eps_equals_reference(rng, metric, p, rule, window, periods):
    # One radius per point, spread 20-fold (the tree below four features), both rules.
    n = 700
    X = np.column_stack([rng.uniform(0, 360, n), rng.uniform(0, 40, n), rng.uniform(0, 40, n)])
    radii = np.exp(rng.uniform(np.log(0.4), np.log(8.0), n))
    model = GridDBSCAN(min_samples=5, metric=metric, p=p, neighbors=rule,
                       window_features=window, periods=periods).fit(X, sample_eps=radii)
    mask = np.zeros(3, bool)
    if window is not None:
        mask[window] = True
    expected, core = reference_dbscan(X, np.repeat(radii[:, None], 3, axis=1), 5, metric,
                                      p or 2.0, mask, rule, periods=periods)
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
