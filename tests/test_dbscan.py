"""GridDBSCAN against scikit-learn (scalar eps) and a brute force of docs/semantics.rst."""

import pickle

import numpy as np
import pytest
from datasets import DATASETS, EPS
from reference import dbscan as reference_dbscan
from reference import lattice_cells
from reference import predict as reference_predict
from sklearn.base import clone
from sklearn.cluster import DBSCAN
from sklearn.neighbors import KDTree
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gridscan import GridDBSCAN, RangeEps

ALGORITHMS = ["auto", "ball_tree", "grid", "brute"]
METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None), ("minkowski", 3)]


def assert_same_as_sklearn(X, eps, min_samples, metric="euclidean", p=None,
                           sample_weight=None, **params):
    expected = DBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p).fit(
        X, sample_weight=sample_weight)
    model = GridDBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p, **params).fit(
        X, sample_weight=sample_weight)
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.core_sample_indices_, expected.core_sample_indices_)
    np.testing.assert_array_equal(model.components_, expected.components_)
    return model


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("metric,p", METRICS)
@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_scalar_eps_equals_sklearn(name, d, metric, p, algorithm):
    X = DATASETS[name](400, d, seed=d)
    for min_samples in (1, 2, 5, 10):
        assert_same_as_sklearn(X, EPS[name][d], min_samples, metric, p, algorithm=algorithm)


@pytest.mark.parametrize("metric,p", METRICS)
@pytest.mark.parametrize("eps", [1.0, np.sqrt(2), 1.5, 2.0])
def test_lattice_ties_equal_sklearn(metric, p, eps):
    """On integer cells many neighbours sit exactly at eps: ties must count as inside."""
    X = DATASETS["lattice"](600, 2, seed=1)
    for algorithm in ALGORITHMS:
        for min_samples in range(1, 11):
            assert_same_as_sklearn(X, eps, min_samples, metric, p, algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("kind", ["integer", "float"])
def test_sample_weight_equals_sklearn(rng, algorithm, kind):
    X = DATASETS["blobs"](300, 2, seed=3)
    if kind == "integer":
        weights = rng.integers(0, 4, len(X)).astype(float)
    else:
        weights = rng.uniform(-0.5, 3.0, len(X))
    for min_samples in (1, 3, 6, 10):
        assert_same_as_sklearn(X, 0.5, min_samples, sample_weight=weights,
                               algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_float32_equals_sklearn(algorithm):
    X = DATASETS["blobs"](500, 3, seed=4).astype(np.float32)
    model = assert_same_as_sklearn(X, 0.7, 5, algorithm=algorithm)
    assert model.components_.dtype == np.float32
    X64 = X.astype(np.float64)
    np.testing.assert_array_equal(GridDBSCAN(eps=0.7).fit(X64).labels_, model.labels_)


def test_tiny_inputs_equal_sklearn():
    for X in ([[0.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0], [0.5], [1.0]]):
        for min_samples in (1, 2, 3):
            assert_same_as_sklearn(np.asarray(X), 0.5, min_samples)


@pytest.mark.parametrize("d", [2, 3])
def test_crowded_cells_are_refined_and_exact(rng, d):
    # Hundreds of neighbours per point: the grid's cells are made finer (cell_refinement)
    # so that whole cells decide most of each neighbourhood; labels stay scikit-learn's,
    # with min_samples below and above the typical count, with weights, and on predict.
    import gridscan._index_choice as index_choice
    n = 6000
    X = rng.uniform(0, 1, (n, d))
    eps = 0.09 if d == 2 else 0.35
    model = GridDBSCAN(eps=eps, algorithm="grid")
    index = model._build_index(X, np.array([[eps]]))
    default = index_choice.grid_cell_size(np.array([eps]), "euclidean", 2.0, np.zeros(d, bool))
    assert np.all(index.cell_size < default / 1.4)
    # Points closer together than any finer cell: the grid keeps its cells.
    spot = rng.uniform(0, 1e-9, (n, d))
    np.testing.assert_array_equal(model._build_index(spot, np.array([[eps]])).cell_size, default)
    typical = int(np.median(KDTree(X).query_radius(X, eps, count_only=True)))
    weights = rng.choice([0.5, 1.0, 3.0], n)
    for min_samples, w in ((typical // 2, None), (typical, None), (typical * 5 // 4, None),
                           (typical * 2, weights)):
        model = GridDBSCAN(eps=eps, min_samples=min_samples, algorithm="grid", n_jobs=2)
        got = model.fit_predict(X, sample_weight=w)
        expected = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(X, sample_weight=w)
        np.testing.assert_array_equal(got, expected)
    X_new = rng.uniform(-0.1, 1.1, (500, d))
    reference = DBSCAN(eps=eps, min_samples=typical).fit(X)
    expected = reference_predict(X, np.full((n, d), eps), reference.labels_,
                                 reference.core_sample_indices_, X_new, rule="query")
    model = GridDBSCAN(eps=eps, min_samples=typical, algorithm="grid").fit(X)
    np.testing.assert_array_equal(model.predict(X_new), expected)


def test_leaf_size_does_not_change_labels():
    X = DATASETS["blobs"](800, 2, seed=5)
    expected = DBSCAN(eps=0.4, min_samples=5).fit(X).labels_
    for leaf_size in (1, 2, 7, 40, 1000):
        labels = GridDBSCAN(eps=0.4, leaf_size=leaf_size, algorithm="ball_tree").fit(X).labels_
        np.testing.assert_array_equal(labels, expected)


# --- per-feature, per-point and range-dependent eps against the brute force --------------


def eps_forms(X, rng):
    """(name, estimator eps, sample_eps, eps table for the reference)."""
    n, d = X.shape
    vector = rng.uniform(0.2, 0.6, d)
    per_point = rng.uniform(0.1, 0.6, n)
    per_point_feature = rng.uniform(0.1, 0.6, (n, d))
    model = RangeEps(base=rng.uniform(0.02, 0.08, d), range_feature=0,
                     power=rng.uniform(0.5, 1.5, d), offset=1.0, min_eps=0.05, max_eps=0.9)
    iso_model = RangeEps(base=0.05, range_feature=0, power=1.0, offset=1.0)
    return [
        ("vector", vector, None, np.tile(vector, (n, 1))),
        ("per_point", 0.5, per_point, np.repeat(per_point[:, None], d, 1)),
        ("per_point_feature", 0.5, per_point_feature, per_point_feature),
        ("range_eps", model, None, model.evaluate(X)),
        ("range_eps_isotropic", iso_model, None, np.repeat(iso_model.evaluate(X), d, 1)),
    ]


def range_data(n, d, seed):
    rng = np.random.default_rng(seed)
    X = np.abs(DATASETS["blobs"](n, d, seed)) + rng.uniform(0, 0.05, (n + n // 5, d))
    return X


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rule", ["union", "query"])
@pytest.mark.parametrize("metric,p", METRICS)
@pytest.mark.parametrize("d", [2, 3])
def test_variable_eps_equals_reference(rng, algorithm, rule, metric, p, d):
    X = range_data(250, d, seed=d)
    for name, eps, sample_eps, table in eps_forms(X, rng):
        for min_samples in (1, 4, 8):
            model = GridDBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p,
                               neighbors=rule, algorithm=algorithm)
            model.fit(X, sample_eps=sample_eps)
            labels, core = reference_dbscan(X, table, min_samples, metric, p or 2, rule=rule)
            np.testing.assert_array_equal(model.labels_, labels, err_msg=name)
            np.testing.assert_array_equal(model.core_sample_indices_, core, err_msg=name)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rule", ["union", "query"])
def test_window_feature_equals_reference(rng, algorithm, rule):
    """A time-like window feature, ST-DBSCAN style, with per-point eps."""
    n = 300
    X = np.column_stack([rng.uniform(0, 4, n), rng.uniform(0, 4, n), rng.integers(0, 6, n)])
    table = np.column_stack([rng.uniform(0.2, 0.6, (n, 2)), rng.integers(0, 2, n) + 0.5])
    for window in ([2], [0, 2]):
        model = GridDBSCAN(min_samples=4, window_features=window, neighbors=rule,
                           algorithm=algorithm).fit(X, sample_eps=table)
        mask = np.isin(np.arange(3), window)
        labels, core = reference_dbscan(X, table, 4, window=mask, rule=rule)
        np.testing.assert_array_equal(model.labels_, labels)
        np.testing.assert_array_equal(model.core_sample_indices_, core)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_weights_with_variable_eps(rng, rule):
    X = range_data(200, 2, seed=7)
    table = rng.uniform(0.1, 0.5, (len(X), 2))
    weights = rng.integers(0, 3, len(X)).astype(float)
    for algorithm in ALGORITHMS:
        model = GridDBSCAN(min_samples=5, neighbors=rule, algorithm=algorithm)
        model.fit(X, sample_weight=weights, sample_eps=table)
        labels, core = reference_dbscan(X, table, 5, rule=rule, weights=weights)
        np.testing.assert_array_equal(model.labels_, labels)


def test_rules_agree_for_constant_eps(rng):
    X = DATASETS["blobs"](400, 2, seed=8)
    for eps in (0.4, [0.3, 0.5]):
        union = GridDBSCAN(eps=eps, neighbors="union").fit(X).labels_
        query = GridDBSCAN(eps=eps, neighbors="query").fit(X).labels_
        np.testing.assert_array_equal(union, query)


# --- pts_ratio: the adaptive GBDSCAN minimum -----------------------------------------------


@pytest.mark.parametrize("rule", ["union", "query"])
def test_pts_ratio_equals_reference(rng, rule):
    shape = (12, 9, 4)
    X = np.unique(np.column_stack([rng.integers(0, s, 250) for s in shape]), axis=0)
    X = X.astype(float)
    table = np.column_stack([np.full(len(X), 1.0), 3.0 / (1 + X[:, 0] / 4),
                             np.full(len(X), 1.0)])
    cells = lattice_cells(X, table, shape, window=[False, False, True])
    for ratio in (0.2, 0.3, 0.5):
        for algorithm in ALGORITHMS:
            model = GridDBSCAN(pts_ratio=ratio, grid_shape=shape, window_features=[2],
                               neighbors=rule, algorithm=algorithm)
            model.fit(X, sample_eps=table)
            labels, core = reference_dbscan(X, table, ratio * cells, window=[0, 0, 1],
                                            rule=rule)
            np.testing.assert_array_equal(model.labels_, labels)
            np.testing.assert_array_equal(model.core_sample_indices_, core)


def test_pts_ratio_hand_computed():
    """A lone cell in a 5 x 5 corner sees 3 cells (itself and two axis neighbours)."""
    X = np.array([[0.0, 0.0], [2.0, 2.0]])
    model = GridDBSCAN(eps=1.0, pts_ratio=0.3, grid_shape=(5, 5)).fit(X)
    # corner: P = 3, 0.3 * 3 = 0.9 <= 1; centre: P = 5, needs 1.5 > 1
    np.testing.assert_array_equal(model.labels_, [0, -1])


def test_pts_ratio_grid_shape_from_data():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    a = GridDBSCAN(eps=1.0, pts_ratio=0.5).fit(X).labels_
    b = GridDBSCAN(eps=1.0, pts_ratio=0.5, grid_shape=(4, 4)).fit(X).labels_
    np.testing.assert_array_equal(a, b)


# --- predict -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("rule", ["union", "query"])
def test_predict_train_reproduces_labels(rng, algorithm, rule):
    X = range_data(300, 2, seed=9)
    for name, eps, sample_eps, _ in eps_forms(X, rng):
        model = GridDBSCAN(eps=eps, min_samples=4, neighbors=rule, algorithm=algorithm)
        model.fit(X, sample_eps=sample_eps)
        predicted = model.predict(X, sample_eps=sample_eps)
        np.testing.assert_array_equal(predicted, model.labels_, err_msg=name)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_predict_new_points_follows_border_rule(rng, rule):
    X = range_data(300, 2, seed=10)
    X_new = rng.uniform(X.min(0), X.max(0), (400, 2))
    for name, eps, sample_eps, table in eps_forms(X, rng):
        model = GridDBSCAN(eps=eps, min_samples=4, neighbors=rule).fit(X, sample_eps=sample_eps)
        if sample_eps is not None:
            new_eps = rng.uniform(0.1, 0.6, (len(X_new),) + np.shape(sample_eps)[1:])
            new_table = np.broadcast_to(new_eps.reshape(len(X_new), -1), (len(X_new), 2))
        elif isinstance(eps, RangeEps):
            new_eps, new_table = None, np.broadcast_to(eps.evaluate(X_new), (len(X_new), 2))
        else:
            new_eps, new_table = None, np.tile(eps, (len(X_new), 2 // np.size(eps)))
        expected = reference_predict(X, table, model.labels_, model.core_sample_indices_,
                                     X_new, new_table, rule=rule)
        np.testing.assert_array_equal(model.predict(X_new, sample_eps=new_eps), expected,
                                      err_msg=name)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_predict_union_rule_with_a_single_core_point(rng, algorithm):
    """New points reach the one core point with their own, larger eps.

    Regression: one core point makes a one-row (shared) eps table, and the
    prediction index was then not given it; the union search read unset bounds
    (a crash on the grid).
    """
    arm = 0.25
    # Off the integer lattice, so that the prediction index is the chosen one too.
    X = np.array([[0, 0], [arm, 0], [-arm, 0], [0, arm], [0, -arm], [3, 3], [-3, 2]]) + 0.37
    sample_eps = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.1, 0.2])
    model = GridDBSCAN(eps=0.5, min_samples=5, algorithm=algorithm)
    model.fit(X, sample_eps=sample_eps)
    np.testing.assert_array_equal(model.core_sample_indices_, [0])
    X_new = rng.uniform(-2, 2, (300, 2)) + 0.37
    new_eps = rng.uniform(0.2, 1.5, len(X_new))
    expected = reference_predict(X, np.column_stack([sample_eps] * 2), model.labels_,
                                 model.core_sample_indices_, X_new,
                                 np.column_stack([new_eps] * 2))
    assert (expected == 0).sum() > (np.hypot(*(X_new - 0.37).T) <= 0.3).sum()
    np.testing.assert_array_equal(model.predict(X_new, sample_eps=new_eps), expected)


def test_predict_needs_sample_eps_under_union_rule(rng):
    X = range_data(100, 2, seed=11)
    model = GridDBSCAN(min_samples=3).fit(X, sample_eps=rng.uniform(0.2, 0.5, len(X)))
    with pytest.raises(ValueError, match="sample_eps"):
        model.predict(X)
    query_model = GridDBSCAN(min_samples=3, neighbors="query")
    query_model.fit(X, sample_eps=rng.uniform(0.2, 0.5, len(X)))
    query_model.predict(X)


def test_predict_without_core_points_is_noise():
    X = np.array([[0.0, 0.0], [10.0, 10.0]])
    model = GridDBSCAN(eps=1.0, min_samples=3).fit(X)
    np.testing.assert_array_equal(model.predict([[0.0, 0.0], [5.0, 5.0]]), [-1, -1])


# --- estimator behaviour ---------------------------------------------------------------------


def test_same_labels_for_any_thread_count():
    X = range_data(3000, 2, seed=12)
    model = RangeEps(base=0.03, range_feature=0, power=1.0, offset=0.5)
    results = [GridDBSCAN(eps=model, min_samples=5, n_jobs=n).fit(X) for n in (1, 2, 3)]
    for other in results[1:]:
        np.testing.assert_array_equal(other.labels_, results[0].labels_)
        np.testing.assert_array_equal(other.core_sample_indices_,
                                      results[0].core_sample_indices_)


def test_large_input_equals_sklearn_on_two_threads():
    # Enough points for the grid to sort keys in per-thread slices and for the
    # parallel passes to run many chunks on each thread.
    rng = np.random.default_rng(21)
    centres = rng.uniform(0, 60, (40, 2))
    X = np.vstack([rng.normal(c, 1.0, (3500, 2)) for c in centres]
                  + [rng.uniform(0, 60, (20_000, 2))])
    assert_same_as_sklearn(X, 0.15, 8, algorithm="grid", n_jobs=2)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_large_range_eps_fit_is_the_same_on_one_and_two_threads(rule):
    # Large enough for per-thread slices in the grid's sort and pair lists, which
    # one thread does not use: one thread's result is the independent answer.
    rng = np.random.default_rng(22)
    centre = rng.uniform([5, 0], [150, 360], (600, 2))[rng.integers(0, 600, 120_000)]
    size = rng.uniform(0.3, 3.0, len(centre))
    targets = centre + rng.normal(0, 1, (len(centre), 2)) * np.column_stack(
        [size, np.degrees(size / centre[:, 0])])
    X = np.vstack([targets, rng.uniform([2, 0], [150, 360], (30_000, 2))])
    X[:, 1] %= 360
    model = RangeEps(base=[1.0, 57.3], range_feature=0, power=[0.0, -1.0],
                     min_eps=[1.0, 0.3], max_eps=[1.0, 10.0])
    one, two = (GridDBSCAN(model, min_samples=8, neighbors=rule, n_jobs=n).fit(X)
                for n in (1, 2))
    assert 10 < one.labels_.max() and 0 < (one.labels_ == -1).sum() < len(X) // 2
    np.testing.assert_array_equal(two.labels_, one.labels_)
    np.testing.assert_array_equal(two.core_sample_indices_, one.core_sample_indices_)
    np.testing.assert_array_equal(two.predict(X[:5000], sample_eps=model.evaluate(X[:5000])),
                                  one.labels_[:5000])


def test_input_not_modified(rng):
    X = range_data(300, 2, seed=13)
    weights = rng.uniform(0.5, 2, len(X))
    sample_eps = rng.uniform(0.1, 0.5, (len(X), 2))
    copies = X.copy(), weights.copy(), sample_eps.copy()
    model = GridDBSCAN(min_samples=3).fit(X, sample_weight=weights, sample_eps=sample_eps)
    model.predict(X, sample_eps=sample_eps)
    for original, copy in zip((X, weights, sample_eps), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_clone_and_pickle_round_trip(rng):
    X = range_data(300, 2, seed=14)
    model = GridDBSCAN(eps=RangeEps(base=0.05, range_feature=0, power=1.0, offset=1.0),
                       min_samples=4).fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.labels_, model.labels_)
    np.testing.assert_array_equal(restored.predict(X), model.labels_)
    model.predict(X)                    # caches the prediction index, which must not pickle
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.labels_)
    cloned = clone(model)
    assert cloned.get_params()["eps"] == model.eps
    assert not hasattr(cloned, "labels_")
    np.testing.assert_array_equal(cloned.fit(X).labels_, model.labels_)


def test_pipeline(rng):
    X = DATASETS["blobs"](400, 3, seed=15) * [1, 100, 0.01]
    pipeline = make_pipeline(StandardScaler(), GridDBSCAN(eps=0.3, min_samples=5))
    labels = pipeline.fit_predict(X)
    expected = DBSCAN(eps=0.3, min_samples=5).fit_predict(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(pipeline.predict(X), labels)


def test_dataframe_input_and_named_features():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(16)
    frame = pd.DataFrame({"range": rng.uniform(1, 50, 400), "azimuth": rng.uniform(0, 40, 400),
                          "scan": rng.integers(0, 5, 400).astype(float)})
    model = GridDBSCAN(eps=RangeEps(base=[1.0, 30.0, 1.0], range_feature="range",
                                    power=[0.0, -1.0, 0.0]),
                       min_samples=3, window_features=["scan"]).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, ["range", "azimuth", "scan"])
    X = frame.to_numpy()
    table = np.column_stack([np.ones(len(X)), 30.0 / X[:, 0], np.ones(len(X))])
    labels, _ = reference_dbscan(X, table, 3, window=[0, 0, 1])
    np.testing.assert_array_equal(model.labels_, labels)
    np.testing.assert_array_equal(model.predict(frame), labels)


def test_range_eps_numbers():
    model = RangeEps(base=[2.0, 1.0], range_feature=1, power=[1.0, -1.0], offset=1.0,
                     min_eps=[0.0, 0.25], max_eps=[5.0, 10.0])
    X = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 3.0], [0.0, 9.0]])
    expected = np.array([[2.0, 1.0], [4.0, 0.5], [5.0, 0.25], [5.0, 0.25]])
    np.testing.assert_allclose(model.evaluate(X), expected)
    assert model == pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize("rule", ["union", "query"])
def test_radar_eps_spread_equals_reference(rule):
    """Azimuth eps shrinking 30-fold with range: the grid sizes its cells per range row."""
    rng = np.random.default_rng(17)
    centres = np.column_stack([rng.uniform(3, 90, 40), rng.uniform(0, 360, 40)])
    members = centres[rng.integers(0, 40, 1500)]
    spread = np.column_stack([np.ones(len(members)), 20 / members[:, 0]])
    X = np.vstack([members + rng.normal(0, 1, members.shape) * spread,
                   np.column_stack([rng.uniform(2, 90, 500), rng.uniform(0, 360, 500)])])
    model = RangeEps(base=[1.0, 57.3], range_feature=0, power=[0.0, -1.0],
                     min_eps=[1.0, 0.3], max_eps=[1.0, 10.0])
    labels, core = reference_dbscan(X, model.evaluate(X), 5, rule=rule)
    for algorithm in ALGORITHMS:
        model_fit = GridDBSCAN(model, min_samples=5, neighbors=rule, algorithm=algorithm).fit(X)
        np.testing.assert_array_equal(model_fit.labels_, labels)
        np.testing.assert_array_equal(model_fit.core_sample_indices_, core)


@pytest.mark.parametrize("algorithm", ["auto", "ball_tree", "grid", "brute"])
@pytest.mark.parametrize("neighbors", ["union", "query"])
def test_predict_no_rows(algorithm, neighbors):
    X = np.random.default_rng(3).normal(size=(200, 2))
    model = RangeEps(base=[0.3, 0.3], range_feature=0, power=[0.0, 0.0], offset=5.0)
    est = GridDBSCAN(eps=model, algorithm=algorithm, neighbors=neighbors).fit(X)
    assert est.labels_.max() >= 0
    assert est.predict(np.empty((0, 2))).shape == (0,)
