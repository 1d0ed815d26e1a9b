"""Property-based tests: GridDBSCAN against docs/semantics.rst by brute force (tests/reference.py).

Hypothesis draws small point sets (integer lattices with exact ties, and
floats, with duplicates), every metric, every form of eps (scalar, per
feature, per point, per point and feature, RangeEps), window features,
integer and float weights, min_samples or pts_ratio, both neighbour rules,
and checks every algorithm for exact equality with the reference, labels
included.  Further properties: scikit-learn's labels on lattices with ties;
the partition of the core points does not depend on the order of the rows;
the labels do not depend on the number of threads.

The "ci" profile of conftest.py bounds the examples; HYPOTHESIS_PROFILE=thorough
explores more.
"""

from typing import NamedTuple
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from reference import dbscan as reference_dbscan
from reference import lattice_cells
from reference import predict as reference_predict
from sklearn.cluster import DBSCAN

import gridscan._dbscan
from gridscan import GridDBSCAN, RangeEps

ALGORITHMS = ["auto", "ball_tree", "grid", "brute"]
METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None),
           ("minkowski", 1.5), ("minkowski", 3.0)]
# Radii that hit lattice distances exactly (1, sqrt 2, 2, sqrt 5, ...) and some that do not.
TIE_RADII = [0.5, 1.0, float(np.sqrt(2)), 1.5, 2.0, float(np.sqrt(5)), 2.5, 3.0]

SLOW = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Problem(NamedTuple):
    X: np.ndarray
    params: dict               # GridDBSCAN parameters
    sample_eps: object         # for fit, or None
    weights: object            # sample_weight, or None
    table: np.ndarray          # (n, d) eps of every point, for the reference
    scaled: bool               # gridscan compares this table in the scaled form
    min_weight: object         # min_samples, or pts_ratio * P(p)
    window: np.ndarray         # (d,) bool


def scaled_form(table):
    """Whether gridscan keeps the table per-feature (some row is not isotropic)."""
    return bool(np.any(table != table[:, :1]))


@st.composite
def point_sets(draw, max_points=40, max_features=3, lattice=None, features=None,
               min_features=1):
    n = draw(st.integers(1, max_points))
    d = features or draw(st.integers(min_features, max_features))
    if lattice is None:
        lattice = draw(st.booleans())
    if lattice:
        side = draw(st.integers(1, 7))
        cells = draw(st.lists(st.integers(0, side), min_size=n * d, max_size=n * d))
        X = np.array(cells, dtype=float).reshape(n, d)
    else:
        # Floats from a small pool make duplicates and near-ties likely.
        pool = draw(st.lists(st.floats(0, 4, allow_nan=False, width=64), min_size=1,
                             max_size=2 * n * d))
        picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n * d, max_size=n * d))
        X = np.array([pool[i] for i in picks]).reshape(n, d)
    return X


def radius(draw):
    return draw(st.one_of(st.sampled_from(TIE_RADII), st.floats(0.2, 3.0)))


@st.composite
def eps_forms(draw, X):
    """(eps parameter, sample_eps, (n, d) table of the reference)."""
    n, d = X.shape
    form = draw(st.sampled_from(["scalar", "features", "rows", "rows_features", "model"]))
    if form == "scalar":
        eps = radius(draw)
        return eps, None, np.full((n, d), eps)
    if form == "features":
        eps = np.array([radius(draw) for _ in range(d)])
        return eps, None, np.tile(eps, (n, 1))
    if form == "rows":
        eps = np.array([radius(draw) for _ in range(n)])
        return 0.5, eps, np.repeat(eps[:, None], d, axis=1)
    if form == "rows_features":
        eps = np.array([radius(draw) for _ in range(n * d)]).reshape(n, d)
        return 0.5, eps, eps
    per_feature = d > 1 and draw(st.booleans())
    size = d if per_feature else None

    def values(low, high):
        return np.array(draw(st.lists(st.floats(low, high), min_size=size or 1,
                                      max_size=size or 1)))

    base, power = values(0.1, 1.5), values(-1.0, 1.5)
    bounds = draw(st.sampled_from([(None, None), (0.5, None), (None, 2.0), (0.25, 1.5)]))
    model = RangeEps(base=base if per_feature else float(base[0]),
                     range_feature=draw(st.integers(0, d - 1)),
                     power=power if per_feature else float(power[0]),
                     offset=draw(st.sampled_from([0.5, 1.0, 2.5])),
                     min_eps=bounds[0], max_eps=bounds[1])
    table = np.broadcast_to(model.evaluate(X), (n, d)).copy()
    return model, None, table


@st.composite
def problems(draw, max_points=40, max_features=3, lattice=None, allow_ratio=True,
             min_features=1):
    X = draw(point_sets(max_points, max_features, lattice, min_features=min_features))
    n, d = X.shape
    metric, p = draw(st.sampled_from(METRICS))
    if draw(st.integers(0, 4)) == 0:
        X = X.astype(np.float32)
    eps, sample_eps, table = draw(eps_forms(X))
    if not isinstance(eps, RangeEps):
        # Far from the origin the grid's cell arithmetic rounds; exact ties must survive.
        X = X + X.dtype.type(draw(st.sampled_from([0.0, 0.0, -50.0, 1e3, 2.0**20])))
    window = np.array(draw(st.lists(st.booleans(), min_size=d, max_size=d)))
    if d == 1 or draw(st.integers(0, 2)) > 0:
        window[:] = False        # windows in a third of the multi-feature cases
    weight_kind = draw(st.sampled_from(["none", "none", "integer", "float"]))
    weights = None
    if weight_kind == "integer":
        weights = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), float)
    elif weight_kind == "float":
        weights = np.array(draw(st.lists(st.floats(-0.5, 2.5), min_size=n, max_size=n)))
    # scikit-learn (and so GridDBSCAN) rejects weights that are all zero.
    assume(weights is None or np.any(weights != 0))
    params = dict(eps=eps, metric=metric, p=p, neighbors=draw(st.sampled_from(["union", "query"])),
                  window_features=list(np.flatnonzero(window)) or None)
    scaled = scaled_form(table)
    on_lattice = bool(np.all((X == np.round(X)) & (X >= 0) & (X < 16)))
    if allow_ratio and on_lattice and draw(st.integers(0, 3)) == 0:
        ratio = draw(st.sampled_from([0.1, 0.25, 0.3, 0.5, 1.0]))
        shape = (X.max(axis=0) + 1 + draw(st.integers(0, 2))).astype(int)
        params.update(pts_ratio=ratio, grid_shape=tuple(shape))
        min_weight = ratio * lattice_cells(X, table, shape, metric, p or 2.0, window, scaled)
    else:
        min_weight = draw(st.integers(1, 8))
        params.update(min_samples=min_weight)
    return Problem(X, params, sample_eps, weights, table, scaled, min_weight, window)


@settings(SLOW, max_examples=max(10, settings().max_examples // 4))
@given(problem=problems(max_points=300, max_features=5, allow_ratio=False))
def test_every_algorithm_equals_the_brute_force_on_more_points(problem):
    """Deeper trees and grids of many cells, up to 5 features."""
    describe(problem)
    labels, core = reference_fit(problem)
    for algorithm in ALGORITHMS:
        model = fit(problem, algorithm=algorithm, leaf_size=4)
        np.testing.assert_array_equal(model.labels_, labels, err_msg=algorithm)
        np.testing.assert_array_equal(model.core_sample_indices_, core, err_msg=algorithm)


@settings(SLOW, max_examples=max(10, settings().max_examples // 4))
@given(problem=problems(max_points=300, max_features=8, min_features=4, allow_ratio=False),
       n_jobs=st.sampled_from([1, 2]))
def test_cell_tree_equals_the_brute_force_in_4_to_8_features(problem, n_jobs):
    """The cell grid's tree over its cells (4 features or more), as "auto" and "grid" use it."""
    describe(problem)
    labels, core = reference_fit(problem)
    for algorithm in ("auto", "grid"):
        model = fit(problem, algorithm=algorithm, n_jobs=n_jobs)
        np.testing.assert_array_equal(model.labels_, labels, err_msg=algorithm)
        np.testing.assert_array_equal(model.core_sample_indices_, core, err_msg=algorithm)
        np.testing.assert_array_equal(model.predict(problem.X, sample_eps=problem.sample_eps),
                                      labels, err_msg=algorithm)


def reference_fit(problem):
    p = problem.params
    return reference_dbscan(problem.X, problem.table, problem.min_weight, p["metric"],
                            p["p"] or 2.0, problem.window, p["neighbors"], problem.weights,
                            problem.scaled)


def fit(problem, **extra):
    model = GridDBSCAN(**problem.params, **extra)
    return model.fit(problem.X, sample_weight=problem.weights, sample_eps=problem.sample_eps)


def describe(problem):
    note(f"X = {problem.X.tolist()}")
    note(f"params = {problem.params}")
    note(f"sample_eps = {None if problem.sample_eps is None else problem.sample_eps.tolist()}")
    note(f"weights = {None if problem.weights is None else problem.weights.tolist()}")


@SLOW
@given(problem=problems(), leaf_size=st.sampled_from([1, 2, 5, 40]),
       n_jobs=st.sampled_from([1, 2, 5]))
def test_every_algorithm_equals_the_brute_force(problem, leaf_size, n_jobs):
    """labels_ and core_sample_indices_ equal the reference exactly, for every algorithm.

    n_jobs=5 is passed to the compiled passes unchanged (more threads than this
    machine's CPUs, which GridDBSCAN would cap), to exercise uneven thread counts.
    """
    describe(problem)
    labels, core = reference_fit(problem)
    threads = mock.patch.object(gridscan._dbscan, "effective_n_threads",
                                lambda n, n_items=None: n)
    for algorithm in ALGORITHMS:
        with threads:
            model = fit(problem, algorithm=algorithm, leaf_size=leaf_size, n_jobs=n_jobs)
        np.testing.assert_array_equal(model.labels_, labels, err_msg=algorithm)
        np.testing.assert_array_equal(model.core_sample_indices_, core, err_msg=algorithm)
        np.testing.assert_array_equal(model.components_, problem.X[core])


@SLOW
@given(problem=problems(allow_ratio=False), data=st.data())
def test_predict_equals_the_brute_force(problem, data):
    """predict(X_train) reproduces labels_; new points follow the border rule."""
    describe(problem)
    p = problem.params
    model = fit(problem, algorithm=data.draw(st.sampled_from(ALGORITHMS)))
    np.testing.assert_array_equal(model.predict(problem.X, sample_eps=problem.sample_eps),
                                  model.labels_)
    d = problem.X.shape[1]
    X_new = data.draw(point_sets(max_points=15, features=d))
    m = X_new.shape[0]
    if problem.sample_eps is not None:
        new_eps = np.array([radius(data.draw) for _ in range(m * problem.sample_eps[0].size)])
        new_eps = new_eps.reshape((m,) + problem.sample_eps.shape[1:])
        new_table = np.broadcast_to(new_eps.reshape(m, -1), (m, d)).copy()
    elif isinstance(p["eps"], RangeEps):
        new_eps, new_table = None, np.broadcast_to(p["eps"].evaluate(X_new), (m, d)).copy()
    else:
        new_eps, new_table = None, np.broadcast_to(p["eps"], (m, d)).copy()
    expected = reference_predict(problem.X, problem.table, model.labels_,
                                 model.core_sample_indices_, X_new, new_table, p["metric"],
                                 p["p"] or 2.0, problem.window, p["neighbors"],
                                 scaled_train=problem.scaled, scaled_new=scaled_form(new_table))
    np.testing.assert_array_equal(model.predict(X_new, sample_eps=new_eps), expected)


@SLOW
@given(X=point_sets(max_points=200, max_features=3, lattice=True),
       eps=st.sampled_from(TIE_RADII), metric=st.sampled_from(METRICS),
       min_samples=st.integers(1, 10), data=st.data())
def test_lattice_ties_equal_sklearn(X, eps, metric, min_samples, data):
    """On integer cells many neighbours sit at exactly eps: scikit-learn's labels, element
    for element, with integer or float weights too."""
    metric, p = metric
    n = X.shape[0]
    weights = data.draw(st.sampled_from([None, "integer", "float"]))
    if weights == "integer":
        weights = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), float)
    elif weights == "float":
        weights = np.array(data.draw(st.lists(st.floats(-0.5, 2.5), min_size=n, max_size=n)))
    assume(weights is None or np.any(weights != 0))
    expected = DBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p).fit(
        X, sample_weight=weights)
    for algorithm in ALGORITHMS:
        model = GridDBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p,
                           algorithm=algorithm).fit(X, sample_weight=weights)
        np.testing.assert_array_equal(model.labels_, expected.labels_, err_msg=algorithm)
        np.testing.assert_array_equal(model.core_sample_indices_,
                                      expected.core_sample_indices_, err_msg=algorithm)


def permuted(problem, order):
    """The same problem with its rows in another order."""
    sample_eps = None if problem.sample_eps is None else problem.sample_eps[order]
    weights = None if problem.weights is None else problem.weights[order]
    return problem._replace(X=problem.X[order], sample_eps=sample_eps, weights=weights)


def core_partition(model, rows):
    """{frozenset of original rows} for the clusters of core points; rows[i] is row i's origin."""
    clusters = {}
    for i in model.core_sample_indices_:
        clusters.setdefault(model.labels_[i], set()).add(int(rows[i]))
    return {frozenset(c) for c in clusters.values()}


@SLOW
@given(problem=problems(), data=st.data())
def test_core_partition_does_not_depend_on_row_order(problem, data):
    """Core points, their clusters and the noise are the same whatever the row order
    (only the numbering of the clusters, and so a border point's choice, may change)."""
    describe(problem)
    n = problem.X.shape[0]
    order = np.array(data.draw(st.permutations(range(n))), dtype=np.intp)
    assume(n > 1)
    algorithm = data.draw(st.sampled_from(ALGORITHMS))
    original = fit(problem, algorithm=algorithm)
    shuffled = fit(permuted(problem, order), algorithm=algorithm)
    identity = np.arange(n)
    assert core_partition(shuffled, order) == core_partition(original, identity)
    np.testing.assert_array_equal(np.sort(order[shuffled.labels_ == -1]),
                                  np.flatnonzero(original.labels_ == -1))


@SLOW
@given(problem=problems(max_points=200), algorithm=st.sampled_from(ALGORITHMS))
def test_labels_do_not_depend_on_n_jobs(problem, algorithm):
    describe(problem)
    results = [fit(problem, algorithm=algorithm, n_jobs=n_jobs) for n_jobs in (1, 2, -1)]
    for other in results[1:]:
        np.testing.assert_array_equal(other.labels_, results[0].labels_)
        np.testing.assert_array_equal(other.core_sample_indices_,
                                      results[0].core_sample_indices_)
