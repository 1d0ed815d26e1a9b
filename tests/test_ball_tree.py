"""BallTree.query_radius against brute force, for every eps form, metric and dtype."""

import pickle

import numpy as np
import pytest
from reference import in_ellipsoid
from sklearn.neighbors import BallTree as SklearnBallTree

from gridscan import BallTree

METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None), ("minkowski", 3)]


def eps_table(eps, m, d):
    return np.broadcast_to(np.reshape(eps, (-1, d) if np.ndim(eps) == 2 else (1, -1)),
                           (m, d)) if np.ndim(eps) else np.full((m, d), eps)


def expected_neighbours(X, Q, eps, metric, p, own_eps=None):
    inside = in_ellipsoid(Q, eps_table(eps, len(Q), X.shape[1]), X, metric, p or 2)
    if own_eps is not None:
        inside |= in_ellipsoid(X, own_eps, Q, metric, p or 2).T
    return [np.flatnonzero(row) for row in inside]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric,p", METRICS)
@pytest.mark.parametrize("form", ["scalar", "features", "per_query"])
def test_query_radius_equals_brute_force(rng, dtype, metric, p, form):
    X = rng.normal(size=(700, 3)).astype(dtype)
    Q = rng.normal(size=(120, 3)).astype(dtype)
    eps = {"scalar": 0.45, "features": np.array([0.3, 0.6, 0.45]),
           "per_query": rng.uniform(0.2, 0.7, (len(Q), 3))}[form]
    tree = BallTree(X, leaf_size=8, metric=metric, p=p)
    got = tree.query_radius(Q, eps)
    expected = expected_neighbours(X.astype(float), Q.astype(float), eps, metric, p)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.sort(g), e)
    counts = tree.query_radius(Q, eps, count_only=True)
    np.testing.assert_array_equal(counts, [len(e) for e in expected])


@pytest.mark.parametrize("metric,p", METRICS)
def test_union_queries_use_the_points_own_eps(rng, metric, p):
    X = rng.uniform(0, 5, (600, 2))
    own = rng.uniform(0.05, 0.9, (600, 2))
    Q = rng.uniform(0, 5, (150, 2))
    q_eps = rng.uniform(0.05, 0.4, (150, 2))
    tree = BallTree(X, leaf_size=5, metric=metric, p=p, sample_eps=own)
    got = tree.query_radius(Q, q_eps, neighbors="union")
    expected = expected_neighbours(X, Q, q_eps, metric, p, own_eps=own)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.sort(g), e)
    # the union is strictly larger than the query's own neighbourhood here
    assert sum(map(len, got)) > tree.query_radius(Q, q_eps, count_only=True).sum()


@pytest.mark.parametrize("metric,p", METRICS)
def test_own_eps_over_many_orders(rng, metric, p):
    # A few points reach everything, the others have eps over three orders of magnitude:
    # the tree keeps the sizes apart (scale), and both rules stay exact.
    X = rng.uniform(0, 1, (800, 2))
    own = np.where(rng.uniform(size=800) < 0.05, 1e3, 10 ** rng.uniform(-4, -1, 800))
    Q = rng.uniform(-0.5, 1.5, (100, 2))
    q_eps = 10 ** rng.uniform(-3, -0.5, (100, 1)) * np.ones((1, 2))
    tree = BallTree(X, leaf_size=3, metric=metric, p=p, sample_eps=own)
    own_rows = np.column_stack([own, own])
    for rule, own_eps in (("union", own_rows), ("query", None)):
        got = tree.query_radius(Q, q_eps, neighbors=rule)
        expected = expected_neighbours(X, Q, q_eps, metric, p, own_eps=own_eps)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(np.sort(g), e)
    # The points that reach everything share leaves with others only where the
    # median split of the sizes falls (one leaf here), not all over the tree.
    def mixed_leaves(t):
        _, order, start, end, _, _ = t.get_arrays()
        sizes = [own[order[start[i]:end[i]]] for i in range(t.n_nodes // 2, t.n_nodes)]
        return sum(len(s) > 0 and s.min() < 1e3 <= s.max() for s in sizes)

    plain = BallTree(X, leaf_size=3, metric=metric, p=p, scale=np.ones(800))
    assert mixed_leaves(tree) <= 2 < 20 < mixed_leaves(plain)
    # An explicit scale changes the layout only.
    for g, e in zip(plain.query_radius(Q, q_eps), tree.query_radius(Q, q_eps), strict=True):
        np.testing.assert_array_equal(np.sort(g), np.sort(e))


def test_scalar_eps_equals_sklearn_on_lattice_ties():
    X = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0)), -1).reshape(-1, 2)
    for metric in ("euclidean", "manhattan", "chebyshev"):
        for eps in (1.0, np.sqrt(2), 2.0):
            ours = BallTree(X, leaf_size=3, metric=metric).query_radius(X, eps)
            theirs = SklearnBallTree(X, metric=metric).query_radius(X, eps)
            for a, b in zip(ours, theirs, strict=True):
                np.testing.assert_array_equal(np.sort(a), np.sort(b))


def test_sorted_results_and_distances(rng):
    X = rng.normal(size=(400, 2))
    tree = BallTree(X)
    eps = np.array([0.5, 0.25])
    ind, dist = tree.query_radius(X[:20], eps, sort_results=True, return_distance=True)
    for i, (idx, dd) in enumerate(zip(ind, dist, strict=True)):
        scaled = np.sqrt((((X[idx] - X[i]) / eps) ** 2).sum(1))
        np.testing.assert_allclose(dd, scaled)
        assert np.all(np.diff(dd) >= 0) and np.all(dd <= 1)
        assert idx[0] == i and dd[0] == 0


def test_window_features(rng):
    X = np.column_stack([rng.uniform(0, 3, 500), rng.integers(0, 5, 500)])
    tree = BallTree(X, window_features=[1])
    got = tree.query_radius(X[:50], [0.4, 1.0])
    inside = in_ellipsoid(X[:50], np.tile([0.4, 1.0], (50, 1)), X, window=[False, True])
    for g, row in zip(got, inside, strict=True):
        np.testing.assert_array_equal(np.sort(g), np.flatnonzero(row))


def test_pickle_round_trip(rng):
    X = rng.normal(size=(300, 3))
    own = rng.uniform(0.1, 0.5, 300)
    tree = BallTree(X, leaf_size=4, metric="manhattan", sample_eps=own)
    restored = pickle.loads(pickle.dumps(tree))
    np.testing.assert_array_equal(restored.data, X)
    for a, b in zip(tree.query_radius(X, 0.3, neighbors="union"),
                    restored.query_radius(X, 0.3, neighbors="union"), strict=True):
        np.testing.assert_array_equal(a, b)


def test_flat_node_arrays(rng):
    X = rng.normal(size=(1000, 2))
    tree = BallTree(X, leaf_size=10)
    data, order, start, end, radius, centroid = tree.get_arrays()
    assert sorted(order) == list(range(1000))
    leaves = range(tree.n_nodes // 2, tree.n_nodes)
    assert all(10 <= end[i] - start[i] <= 20 for i in leaves)
    for node in range(tree.n_nodes):
        points = X[order[start[node]:end[node]]]
        np.testing.assert_allclose(centroid[node], points.mean(0))
        assert np.linalg.norm(points - centroid[node], axis=1).max() <= radius[node] + 1e-12


def test_same_results_for_any_thread_count(rng):
    X = rng.normal(size=(2000, 2))
    tree = BallTree(X)
    counts = [tree.query_radius(X, 0.2, count_only=True, n_jobs=n) for n in (1, 2, 4)]
    for c in counts[1:]:
        np.testing.assert_array_equal(c, counts[0])


def test_bad_input_names_the_parameter(rng):
    X = rng.normal(size=(10, 3))
    tree = BallTree(X)
    with pytest.raises(ValueError, match=r"eps has shape \(2,\); expected a float or \(3,\)"):
        tree.query_radius(X, [0.1, 0.2])
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        tree.query_radius(X, -1.0)
    with pytest.raises(ValueError, match="neighbors='union' needs"):
        tree.query_radius(X, 0.5, neighbors="union")
    with pytest.raises(ValueError, match="X has 2 features; expected 3"):
        tree.query_radius(X[:, :2], 0.5)
    with pytest.raises(ValueError, match="leaf_size"):
        BallTree(X, leaf_size=0)
    with pytest.raises(ValueError, match=r"scale must hold 10 non-negative values.*\(3,\)"):
        BallTree(X, scale=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="metric"):
        BallTree(X, metric="cosine")
    with pytest.raises(ValueError, match="p must be"):
        BallTree(X, metric="minkowski", p=0.5)
