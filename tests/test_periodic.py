"""Periodic features (``periods=``) and ``metric="haversine"`` against independent answers.

The periodic reference is tests/reference.py with minimum-image differences
(docs/semantics.rst, "Periodic features"); haversine is compared with
scikit-learn's DBSCAN and with a plain great-circle brute force.
"""

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from reference import dbscan as reference_dbscan
from reference import predict as reference_predict
from reference import wrapped
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score
from test_properties import SLOW, problems, scaled_form

from gridscan import BallTree, GridDBSCAN, RangeEps
from gridscan.radar import make_radar_scan

ALGORITHMS = ["auto", "ball_tree", "grid", "brute"]
PERIODS = [1.5, 2.0, 3.0, 4.5, 8.0]


@st.composite
def periodic_problems(draw, max_points=40, max_features=3):
    """A problem of test_properties with some features periodic (and its reference table)."""
    problem = draw(problems(max_points, max_features, lattice=False, allow_ratio=False))
    d = problem.X.shape[1]
    periods = [draw(st.sampled_from([None, 0, *PERIODS])) for _ in range(d)]
    if not any(periods):
        periods[draw(st.integers(0, d - 1))] = draw(st.sampled_from(PERIODS))
    table = problem.table
    if isinstance(problem.params["eps"], RangeEps) and problem.sample_eps is None:
        # The model reads the values as the neighbourhood does: wrapped.
        table = np.broadcast_to(problem.params["eps"].evaluate(wrapped(problem.X, periods)),
                                table.shape).copy()
    return problem._replace(params={**problem.params, "periods": periods}, table=table,
                            scaled=scaled_form(table))


def reference(problem, X=None):
    p = problem.params
    return reference_dbscan(problem.X if X is None else X, problem.table, problem.min_weight,
                            p["metric"], p["p"] or 2.0, problem.window, p["neighbors"],
                            problem.weights, problem.scaled, p["periods"])


def fit(problem, X=None, **extra):
    model = GridDBSCAN(**problem.params, **extra)
    return model.fit(problem.X if X is None else X, sample_weight=problem.weights,
                     sample_eps=problem.sample_eps)


@SLOW
@given(problem=periodic_problems())
def test_every_algorithm_equals_the_minimum_image_brute_force(problem):
    note(f"X = {problem.X.tolist()}")
    note(f"params = {problem.params}, sample_eps = {problem.sample_eps}")
    labels, core = reference(problem)
    for algorithm in ALGORITHMS:
        model = fit(problem, algorithm=algorithm, leaf_size=2)
        np.testing.assert_array_equal(model.labels_, labels, err_msg=algorithm)
        np.testing.assert_array_equal(model.core_sample_indices_, core, err_msg=algorithm)
        np.testing.assert_array_equal(model.components_, problem.X[core])


@settings(SLOW, max_examples=max(10, settings().max_examples // 4))
@given(problem=periodic_problems(max_points=300, max_features=4))
def test_more_points_equal_the_brute_force(problem):
    labels, core = reference(problem)
    for algorithm in ALGORITHMS:
        model = fit(problem, algorithm=algorithm, leaf_size=4)
        np.testing.assert_array_equal(model.labels_, labels, err_msg=algorithm)


@SLOW
@given(problem=periodic_problems(), data=st.data())
def test_predict_equals_the_brute_force(problem, data):
    """New points anywhere (outside [0, P) too) take the border rule's label.

    (Non-negative along ordinary features: an eps model's range feature must
    stay where its radii are finite.)
    """
    model = fit(problem)
    labels, core = reference(problem)
    d = problem.X.shape[1]
    n_new = data.draw(st.integers(1, 15))
    new = np.array(data.draw(st.lists(st.floats(-10, 10), min_size=n_new * d,
                                      max_size=n_new * d))).reshape(n_new, d)
    p = problem.params
    ordinary = np.array([not period for period in p["periods"]])
    new[:, ordinary] = np.abs(new[:, ordinary])
    new = new.astype(problem.X.dtype)
    new_table, sample_eps = problem.table[:1].repeat(n_new, 0), None
    if problem.sample_eps is not None:
        sample_eps = np.full(n_new, 0.7)
        new_table = np.full((n_new, d), 0.7)
    elif isinstance(p["eps"], RangeEps):
        new_table = np.broadcast_to(p["eps"].evaluate(wrapped(new, p["periods"])),
                                    (n_new, d)).copy()
    expected = reference_predict(
        problem.X, problem.table, labels, core, new, new_table, p["metric"], p["p"] or 2.0,
        problem.window, "union" if model._union_rule else "query", problem.scaled,
        scaled_form(new_table), p["periods"])
    np.testing.assert_array_equal(model.predict(new, sample_eps=sample_eps), expected)
    np.testing.assert_array_equal(model.predict(problem.X, sample_eps=problem.sample_eps),
                                  model.labels_)


@SLOW
@given(problem=periodic_problems(), data=st.data())
def test_values_outside_the_period_are_wrapped(problem, data):
    """Whole turns added to a periodic feature: the labels of the reference on those values.

    (Adding turns rounds the values, so ties may move: the reference sees the
    same rounded values; tests below rotate a real sweep by any angle.)
    """
    periods = problem.params["periods"]
    k = data.draw(st.sampled_from([k for k, period in enumerate(periods) if period]))
    eps = problem.params["eps"]
    if isinstance(eps, RangeEps) and eps.range_feature == k:
        return      # the model reads the turned values: another problem
    X = problem.X.astype(np.float64)
    X[:, k] += data.draw(st.sampled_from([1.0, 3.0, -2.0, -7.0])) * periods[k]
    X = X.astype(problem.X.dtype)
    turned = problem._replace(X=X)
    np.testing.assert_array_equal(fit(turned).labels_, reference(turned)[0])


def test_rotation_keeps_the_partition_of_a_radar_sweep():
    points, _ = make_radar_scan(n_rays=360, n_gates=200, random_state=3)
    model = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0], min_eps=[1.5, 1.5])
    X = np.column_stack([points.range, points.azimuth])
    labels = GridDBSCAN(eps=model, min_samples=8, periods=[None, 360.0]).fit_predict(X)
    for offset in (90.0, 180.0, 271.0):
        turned = X.copy()
        turned[:, 1] = (turned[:, 1] + offset) % 360.0
        again = GridDBSCAN(eps=model, min_samples=8, periods=[None, 360.0]).fit_predict(turned)
        assert adjusted_rand_score(labels, again) == 1.0
        np.testing.assert_array_equal(again == -1, labels == -1)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_away_from_the_seam_the_labels_equal_the_plain_fit(algorithm):
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.uniform(0, 50, 3000), rng.uniform(20, 300, 3000)])
    plain = GridDBSCAN(eps=[1.0, 3.0], min_samples=4, algorithm=algorithm).fit_predict(X)
    periodic = GridDBSCAN(eps=[1.0, 3.0], min_samples=4, algorithm=algorithm,
                          periods=[None, 360.0]).fit_predict(X)
    np.testing.assert_array_equal(periodic, plain)
    assert plain.max() > 10


def test_an_echo_across_north_is_one_cluster():
    """The README's polar recipe with periods: echoes straddling north stay whole."""
    model = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0], min_eps=[1.5, 1.5])
    straddling = split_without_periods = 0
    for seed in range(12):
        points, truth = make_radar_scan(random_state=seed)
        X = np.column_stack([points.range, points.azimuth])
        labels = GridDBSCAN(eps=model, min_samples=8, periods=[None, 360.0]).fit_predict(X)
        plain = GridDBSCAN(eps=model, min_samples=8).fit_predict(X)
        for echo in np.unique(truth[truth >= 0]):
            azimuth = points.azimuth[truth == echo]
            if azimuth.min() < 5 and azimuth.max() > 355:
                straddling += 1
                found = labels[(truth == echo) & (labels >= 0)]
                # One cluster holds (nearly) the whole echo, as in the ground plane.
                assert np.bincount(found).max() >= 0.95 * found.shape[0]
                split = plain[(truth == echo) & (plain >= 0)]
                split_without_periods += np.unique(split).shape[0] >= 2
    assert straddling >= 3
    assert split_without_periods >= straddling / 2      # what periods fix


def test_the_dict_form_and_column_names():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"range": [10.0, 10.0, 10.0, 50.0],
                          "azimuth": [359.5, 0.5, 1.0, 180.0]})
    by_name = GridDBSCAN(eps=[1.0, 1.5], min_samples=2, periods={"azimuth": 360}).fit(frame)
    by_position = GridDBSCAN(eps=[1.0, 1.5], min_samples=2, periods={1: 360}).fit(frame)
    np.testing.assert_array_equal(by_name.labels_, [0, 0, 0, -1])
    np.testing.assert_array_equal(by_position.labels_, [0, 0, 0, -1])
    # components_ keeps the rows as given, not wrapped.
    np.testing.assert_array_equal(by_name.components_, frame.to_numpy()[:3])


def test_an_eps_of_half_the_period_reaches_every_value():
    X = np.column_stack([np.zeros(8), np.arange(8) * 45.0])
    labels = GridDBSCAN(eps=[1.0, 180.0], min_samples=8, metric="chebyshev",
                        periods=[None, 360.0]).fit_predict(X)
    np.testing.assert_array_equal(labels, np.zeros(8))


@pytest.mark.parametrize("periods, message", [
    ([None], "periods has 1 entries; expected one per feature"),
    ([None, -360.0], "periods\\[1\\] must be None, 0 or a finite period > 0; got -360.0"),
    ([None, np.inf], "finite period > 0"),
    ({"azimuth": 360.0}, "periods names column 'azimuth'"),
    ({5: 360.0}, "feature indices in \\[0, 2\\)"),
    ("360", "The .periods. parameter of GridDBSCAN must be"),
])
def test_bad_periods_are_refused(periods, message):
    with pytest.raises(ValueError, match=message):
        GridDBSCAN(periods=periods).fit(np.zeros((3, 2)))


def test_periods_refuse_pts_ratio():
    with pytest.raises(ValueError, match="pts_ratio .* takes neither periods"):
        GridDBSCAN(pts_ratio=0.5, periods=[None, 16]).fit(np.zeros((3, 2)))


def test_ball_tree_query_radius_with_periods():
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.uniform(0, 5, 500), rng.uniform(0, 360, 500)])
    Q = np.column_stack([rng.uniform(0, 5, 60), rng.uniform(-720, 720, 60)])
    eps = np.column_stack([rng.uniform(0.2, 1.0, 60), rng.uniform(1.0, 40.0, 60)])
    tree = BallTree(X, leaf_size=8, periods=[None, 360.0])
    found = tree.query_radius(Q, eps, sort_results=True)
    diff = np.abs(wrapped(Q, [None, 360.0])[:, None, :] - X[None, :, :])
    diff[..., 1] = np.minimum(diff[..., 1], 360.0 - diff[..., 1])
    inside = ((diff / eps[:, None, :]) ** 2).sum(-1) <= 1
    for i in range(60):
        assert set(found[i].tolist()) == set(np.flatnonzero(inside[i]).tolist())


# ---- haversine ------------------------------------------------------------------------


def sphere_points(rng, n, spots=6):
    """Clustered (lat, lon) in radians, poles and the antimeridian among the spots."""
    centres = np.column_stack([rng.uniform(-np.pi / 2, np.pi / 2, spots),
                               rng.uniform(-np.pi, np.pi, spots)])
    centres[0] = [np.pi / 2 - 0.01, 0.0]          # near the north pole
    centres[1] = [0.2, np.pi - 0.005]             # on the antimeridian
    which = rng.integers(0, spots, n)
    X = centres[which] + rng.normal(0, 0.02, (n, 2))
    X[:, 0] = np.clip(X[:, 0], -np.pi / 2, np.pi / 2)
    X[:, 1] = (X[:, 1] + np.pi) % (2 * np.pi) - np.pi
    return np.vstack([X, np.column_stack([rng.uniform(-1.5, 1.5, n // 10),
                                          rng.uniform(-np.pi, np.pi, n // 10)])])


def great_circle(A, B):
    dlat, dlon = B[None, :, 0] - A[:, None, 0], B[None, :, 1] - A[:, None, 1]
    h = (np.sin(dlat / 2) ** 2
         + np.cos(A[:, None, 0]) * np.cos(B[None, :, 0]) * np.sin(dlon / 2) ** 2)
    return 2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_haversine_equals_scikit_learn(seed, algorithm):
    rng = np.random.default_rng(seed)
    X = sphere_points(rng, 600)
    eps = float(rng.choice([0.01, 0.03, 0.08]))
    min_samples = int(rng.integers(2, 8))
    expected = DBSCAN(eps=eps, min_samples=min_samples, metric="haversine",
                      algorithm="ball_tree").fit(X)
    model = GridDBSCAN(eps=eps, min_samples=min_samples, metric="haversine",
                       algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.core_sample_indices_, expected.core_sample_indices_)
    np.testing.assert_array_equal(model.predict(X), expected.labels_)


@pytest.mark.parametrize("neighbors", ["union", "query"])
def test_haversine_with_a_per_point_eps_and_a_window(neighbors):
    rng = np.random.default_rng(7)
    X = sphere_points(rng, 400)
    time = rng.integers(0, 5, X.shape[0]).astype(float)
    data = np.column_stack([X, time])
    angle = rng.uniform(0.005, 0.05, X.shape[0])
    sample_eps = np.column_stack([angle, angle, np.full(X.shape[0], 1.0)])
    model = GridDBSCAN(min_samples=4, metric="haversine", window_features=[2],
                       neighbors=neighbors).fit(data, sample_eps=sample_eps)
    inside = (great_circle(X, X) <= angle[:, None]) & (np.abs(time[None, :] - time[:, None]) <= 1)
    relation = inside | inside.T if neighbors == "union" else inside
    count = relation.sum(axis=1)
    is_core = count >= 4
    np.testing.assert_array_equal(model.core_sample_indices_, np.flatnonzero(is_core))
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    core_idx = np.flatnonzero(is_core)
    edges = (relation | relation.T)[np.ix_(core_idx, core_idx)]
    _, component = connected_components(csr_matrix(edges), directed=False)
    expected = np.full(X.shape[0], -1)
    first = {}
    for row, c in zip(core_idx, component, strict=True):
        expected[row] = first.setdefault(c, len(first))
    for q in np.flatnonzero(~is_core):
        owners = core_idx[relation[core_idx, q]]
        if owners.size:
            expected[q] = expected[owners].min()
    np.testing.assert_array_equal(model.labels_, expected)


def test_haversine_refuses_degrees_and_unequal_radii():
    with pytest.raises(ValueError, match="latitude in radians within"):
        GridDBSCAN(metric="haversine").fit(np.array([[45.0, 10.0], [46.0, 10.0]]))
    with pytest.raises(ValueError, match="one angle eps for latitude and longitude"):
        GridDBSCAN(eps=[0.1, 0.2], metric="haversine").fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="exactly two features besides the window"):
        GridDBSCAN(metric="haversine").fit(np.zeros((3, 3)))
