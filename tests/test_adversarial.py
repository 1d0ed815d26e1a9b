"""Adversarial data (issue 18): spans far beyond eps, duplicates, eps over many orders.

Every algorithm must give the labels of scikit-learn's DBSCAN (scalar eps) or of
the brute force of docs/semantics.rst (tests/reference.py): never a silent wrong
answer, whatever the ratio of the data's span to eps.  The sizes are small;
benchmarks/bench_adversarial.py times the same distributions at full size.
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan
from reference import lattice_cells
from sklearn.cluster import DBSCAN

from gridscan import GridDBSCAN, RangeEps

ALGORITHMS = ["auto", "grid", "ball_tree", "brute"]
METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None), ("minkowski", 3.0)]


def sklearn_labels(X, eps, min_samples, metric="euclidean", p=None, sample_weight=None):
    return DBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p).fit_predict(
        X, sample_weight=sample_weight)


def assert_all_algorithms(X, expected, sample_eps=None, algorithms=ALGORITHMS, **params):
    """Every algorithm gives the expected labels (one thread: the tests stay fast on a
    busy machine; the labels never depend on the thread count)."""
    params.setdefault("n_jobs", 1)
    for algorithm in algorithms:
        got = GridDBSCAN(algorithm=algorithm, **params).fit_predict(X, sample_eps=sample_eps)
        np.testing.assert_array_equal(got, expected, err_msg=f"algorithm={algorithm!r}")


def test_span_beyond_cell_numbering():
    # The example: 1e17 cells of side eps along the first feature.
    x0 = np.repeat([0.0, 1e6], 40)
    x1 = np.tile(np.arange(40) * 1e-12, 2)
    X = np.column_stack([x0, x1])
    expected = sklearn_labels(X, 1e-11, 1)
    assert (expected >= 0).all()
    assert_all_algorithms(X, expected, eps=1e-11, min_samples=1)


@pytest.mark.parametrize("metric, p", METRICS)
@pytest.mark.parametrize("offset, span, eps", [
    (0.0, 1e6, 1e-11),           # 1e17 cells along a feature
    (-1e15, 2e15, 0.5),          # coordinates near 2**52
    (0.0, 2.0 ** 70, 1.0),       # more cells than int64 numbers
    (1e8, 1e8, 1e-9),            # eps a few ulps of the coordinates
    (0.0, 1e100, 1e-100),        # 1e200 cells of side eps
])
def test_span_over_eps(metric, p, offset, span, eps):
    rng = np.random.default_rng(7)
    base = np.vstack([rng.uniform(0, span, (12, 2)), [[span, span]] * 4,
                      [[span, 0.0]] * 2]) + offset
    # Neighbours at eps, just inside, and beyond, at both ends of the span.
    X = np.vstack([base, base + [eps, 0.0], base - [0.0, eps / 2], base + [eps, eps]])
    table = np.full(X.shape, eps)
    expected, _ = reference_dbscan(X, table, 2, metric=metric, p=p or 2.0)
    assert_all_algorithms(X, expected, eps=eps, min_samples=2, metric=metric, p=p)


def test_span_near_ulps():
    # Points a few ulps apart far from the origin, eps a few ulps: every pair
    # test is at the edge of double precision.
    rng = np.random.default_rng(5)
    for offset in (1.0, 1e6, 1e12, 3e15):
        ulp = np.spacing(offset)
        X = offset + rng.integers(0, 40, (120, 2)) * ulp
        X[:40] *= -1
        for eps in (ulp, 1.5 * ulp, 3 * ulp):
            assert_all_algorithms(X, sklearn_labels(X, eps, 3), eps=eps, min_samples=3)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_identical_points(d):
    X = np.zeros((300, d))
    for min_samples in (5, 300, 301):
        assert_all_algorithms(X, sklearn_labels(X, 0.1, min_samples), eps=0.1,
                              min_samples=min_samples)


def test_duplicates_on_a_lattice():
    # Many copies of few integer cells: the lattice's case (and "grid" here).
    rng = np.random.default_rng(3)
    X = rng.integers(0, 12, (3000, 2)).astype(float)
    X = np.vstack([X, [[40.0, 40.0]] * 50, [[45.0, 40.0]] * 3])
    for eps, min_samples in ((1.0, 30), (1.5, 90), (5.0, 4)):
        assert_all_algorithms(X, sklearn_labels(X, eps, min_samples), eps=eps,
                              min_samples=min_samples)


def test_duplicates_with_weights_and_predict():
    rng = np.random.default_rng(4)
    X = np.repeat(rng.uniform(0, 1, (40, 2)), rng.integers(1, 30, 40), axis=0)
    X = X[rng.permutation(len(X))]
    weights = rng.choice([0.5, 1.0, 2.0, -1.0], len(X))
    expected = sklearn_labels(X, 0.1, 6, sample_weight=weights)
    for algorithm in ALGORITHMS:
        model = GridDBSCAN(eps=0.1, min_samples=6, algorithm=algorithm, n_jobs=1)
        np.testing.assert_array_equal(model.fit_predict(X, sample_weight=weights), expected)
        np.testing.assert_array_equal(model.predict(X), expected)
        core = DBSCAN(eps=0.1, min_samples=6).fit(X, sample_weight=weights).core_sample_indices_
        np.testing.assert_array_equal(model.core_sample_indices_, core)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_duplicates_with_their_own_eps(rule):
    # Copies of one position with different eps are different points.
    rng = np.random.default_rng(6)
    X = np.repeat(rng.uniform(0, 1, (30, 2)), 8, axis=0)
    sample_eps = rng.choice([0.02, 0.1, 0.3], len(X))
    expected, _ = reference_dbscan(X, np.column_stack([sample_eps] * 2), 5, rule=rule)
    assert_all_algorithms(X, expected, sample_eps=sample_eps, min_samples=5, neighbors=rule)


def test_dense_spot_in_a_ring():
    # Most points in a spot far narrower than eps, the rest in a ring just beyond eps.
    rng = np.random.default_rng(8)
    n, m = 400, 360
    radius = rng.uniform(1.0, 1.9, n - m) * 0.1
    angle = rng.uniform(0, 2 * np.pi, n - m)
    X = np.vstack([rng.uniform(0, 1e-9, (m, 2)),
                   np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])])
    X = X[rng.permutation(n)]
    for min_samples in (n, m, m + 3, 5):
        assert_all_algorithms(X, sklearn_labels(X, 0.1, min_samples), eps=0.1,
                              min_samples=min_samples)


def test_geometric_spread():
    X = np.geomspace(1e-12, 1e12, 600)[:, None] * np.ones((1, 2))
    for eps in (1e-6, 1.0, 1e6):
        assert_all_algorithms(X, sklearn_labels(X, eps, 5), eps=eps, min_samples=5)


def test_few_distinct_values():
    # Thousands of copies of 20 positions: clusters of duplicates, some within eps.
    rng = np.random.default_rng(21)
    X = rng.uniform(0, 1, (20, 2))[rng.integers(0, 20, 3000)]
    for eps, min_samples in ((0.05, 5), (0.2, 400), (0.01, 200)):
        assert_all_algorithms(X, sklearn_labels(X, eps, min_samples), eps=eps,
                              min_samples=min_samples)


def test_dense_clump_in_sparse_data():
    rng = np.random.default_rng(22)
    X = np.vstack([0.5 + rng.normal(0, 1e-3, (1500, 2)), rng.uniform(0, 1, (1500, 2))])
    X = X[rng.permutation(3000)]
    for min_samples in (5, 20, 1000):
        assert_all_algorithms(X, sklearn_labels(X, 0.05, min_samples), eps=0.05,
                              min_samples=min_samples)


def test_points_on_a_sphere():
    rng = np.random.default_rng(23)
    X = rng.normal(size=(3000, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    for metric, p in METRICS:
        assert_all_algorithms(X, sklearn_labels(X, 0.08, 5, metric, p), eps=0.08,
                              min_samples=5, metric=metric, p=p)


def test_exponential_spread():
    rng = np.random.default_rng(24)
    X = rng.exponential(1.0, (3000, 2)) ** 3       # a long tail: density over many orders
    for eps in (1e-3, 0.05, 1.0):
        assert_all_algorithms(X, sklearn_labels(X, eps, 5), eps=eps, min_samples=5)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_eps_over_many_orders(rule):
    rng = np.random.default_rng(9)
    X = rng.uniform(0, 1, (300, 2))
    for sample_eps in (np.where(rng.uniform(size=300) < 0.05, 0.2, 1e-5),
                       10 ** rng.uniform(-7, -0.5, 300),
                       np.where(np.arange(300) < 30, 1e6, 0.03)):
        expected, _ = reference_dbscan(X, np.column_stack([sample_eps] * 2), 4, rule=rule)
        assert_all_algorithms(X, expected, sample_eps=sample_eps, min_samples=4, neighbors=rule)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_auto_takes_the_levelled_grid_for_a_few_outlying_eps(rule):
    # Most eps near the median, a few far below it and a few reaching everything:
    # "auto" keeps the cell grid with levels, exact as brute force, with weights too.
    from gridscan._index_choice import choose_algorithm
    rng = np.random.default_rng(19)
    n = 1500
    X = rng.uniform(0, 1, (n, 2))
    odd = rng.uniform(size=n)
    weights = rng.choice([0.5, 1.0, 2.0], n)
    for sample_eps in (np.where(odd < 0.05, 2.0, 0.02 * rng.uniform(0.5, 1.5, n)),
                       np.where(odd < 0.1, 1e6, np.where(odd > 0.95, 1e-4, 0.03)),
                       np.where(odd < 0.2, 1e-5, 0.025)):
        E = np.column_stack([sample_eps] * 2)
        assert choose_algorithm(X, sample_eps[:, None], "auto", "euclidean", 2.0,
                                np.zeros(2, dtype=np.uint8)) == "grid"
        for min_samples, w in ((5, None), (12, weights)):
            expected, core = reference_dbscan(X, E, min_samples, rule=rule, weights=w)
            model = GridDBSCAN(min_samples=min_samples, neighbors=rule, n_jobs=1)
            model.fit(X, sample_weight=w, sample_eps=sample_eps)
            np.testing.assert_array_equal(model.labels_, expected)
            np.testing.assert_array_equal(model.core_sample_indices_, core)


@pytest.mark.parametrize("rule", ["union", "query"])
@pytest.mark.parametrize("leaf_size", [1, 4, 40])
def test_few_points_reach_everything(rule, leaf_size):
    # 10% of the points hold every other in their neighbourhood.  Under "query" the
    # others are mostly not core, so the ranges a huge neighbourhood takes whole mix
    # core and non-core points; with weights, core needs more than a count.
    rng = np.random.default_rng(12)
    X = rng.uniform(0, 1, (400, 2))
    sample_eps = np.where(rng.uniform(size=400) < 0.1, 1e6, 10 ** rng.uniform(-3, -1, 400))
    weights = rng.choice([0.5, 1.0, 2.0], 400)
    E = np.column_stack([sample_eps] * 2)
    for min_samples, w in ((4, None), (30, weights), (60, None)):
        expected, core = reference_dbscan(X, E, min_samples, rule=rule, weights=w)
        for n_jobs in (1, 2):
            model = GridDBSCAN(min_samples=min_samples, neighbors=rule, leaf_size=leaf_size,
                               algorithm="ball_tree", n_jobs=n_jobs)
            model.fit(X, sample_weight=w, sample_eps=sample_eps)
            np.testing.assert_array_equal(model.labels_, expected)
            np.testing.assert_array_equal(model.core_sample_indices_, core)


def test_range_eps_over_many_orders():
    rng = np.random.default_rng(10)
    X = rng.uniform(0, 1, (300, 2))
    model = RangeEps(base=[1e-5, 1e-4], range_feature=0, power=-2.0, offset=1e-2,
                     max_eps=0.3)
    table = model.evaluate(X)
    expected, _ = reference_dbscan(X, table, 4)
    assert_all_algorithms(X, expected, eps=model, min_samples=4)


def test_integer_spans_on_the_lattice():
    # "grid" takes the lattice for integer data unless eps spans too many cells.
    rng = np.random.default_rng(11)
    three = np.array([[0.0, 0.0], [1e9, 0.0], [0.0, 1e9]])
    assert_all_algorithms(three, sklearn_labels(three, 1.5e9, 2), eps=1.5e9, min_samples=2)
    X = rng.integers(0, 10**6, (300, 2)).astype(float)
    X = np.vstack([X, X[:100] + [3000, 0], X[:50] + [2000, 2000]])
    assert_all_algorithms(X, sklearn_labels(X, 3000.0, 2), eps=3000.0, min_samples=2)
    huge = np.vstack([rng.integers(0, 4, (40, 2)), rng.integers(0, 4, (40, 2)) + 2**51])
    huge = huge.astype(float)
    assert_all_algorithms(huge, sklearn_labels(huge, 1.5, 3), eps=1.5, min_samples=3)


def test_pts_ratio_with_large_eps():
    rng = np.random.default_rng(12)
    X = rng.integers(0, 100, (400, 2)).astype(float)
    shape = X.max(axis=0) + 1
    table = np.full(X.shape, 12.0)
    expected, _ = reference_dbscan(X, table, 0.05 * lattice_cells(X, table, shape))
    assert_all_algorithms(X, expected, eps=12.0, pts_ratio=0.05)


def test_pts_ratio_with_a_stencil_of_thousands_of_rows():
    # eps 2500 along a lattice 5000 long: 5001 stencil rows, more than a search would
    # take, counted by the stencil all the same (a scan of each point's box took
    # 0.28 s per point at eps 3000 in 2-D).
    rng = np.random.default_rng(18)
    shape = np.array([5000, 3])
    X = np.column_stack([rng.integers(0, 5000, 300), rng.integers(0, 3, 300)]).astype(float)
    table = np.full(X.shape, 2500.0)
    expected, core = reference_dbscan(X, table, 0.02 * lattice_cells(X, table, shape))
    assert 0 < len(core) < len(X)
    assert_all_algorithms(X, expected, eps=2500.0, pts_ratio=0.02)


def test_many_features_on_the_grid():
    rng = np.random.default_rng(13)
    X = rng.uniform(0, 1, (400, 8))
    assert_all_algorithms(X, sklearn_labels(X, 0.4, 3), eps=0.4, min_samples=3)


def test_auto_never_takes_a_slow_index():
    from gridscan._index_choice import choose_algorithm
    rng = np.random.default_rng(14)
    window = np.zeros(2, dtype=np.uint8)

    def chosen(X, table, algorithm="auto"):
        return choose_algorithm(X, np.asarray(table, dtype=float).reshape(-1, 1), algorithm,
                                "euclidean", 2.0, window)

    uniform = rng.uniform(0, 1, (1000, 2))
    assert chosen(uniform, [0.01]) == "grid"
    # Span over eps beyond what cells of eps's size can number: the ball tree.
    assert chosen(np.geomspace(1e-12, 1e12, 1000)[:, None] * [1, 1], [1e-6]) == "ball_tree"
    # Eps over many orders of magnitude: the ball tree, unless most points have eps
    # near the median (the grid's levels give the others cells of their own size).
    assert chosen(uniform, 10 ** rng.uniform(-7, -1, 1000)) == "ball_tree"
    # and the larger ones reach across all the data (their searches take whole ranges).
    assert chosen(uniform, np.where(np.arange(1000) < 100, 1e6, 0.01)) == "grid"
    assert chosen(uniform, np.where(np.arange(1000) < 10, 0.1, 1e-5)) == "ball_tree"
    assert chosen(uniform, np.where(np.arange(1000) < 400, 1e6, 0.01)) == "ball_tree"
    # One feature: no levels, the ball tree.
    assert choose_algorithm(uniform[:, :1], np.where(np.arange(1000) < 10, 0.1, 1e-5)[:, None],
                            "auto", "euclidean", 2.0, window[:1]) == "ball_tree"
    assert chosen(uniform, np.where(np.arange(1000) < 10, 0.02, 0.01)) == "grid"
    # Integer data: the lattice for small eps, else cell lists.
    integers = rng.integers(0, 300, (1000, 2)).astype(float)
    assert chosen(integers, [1.5]) == "lattice"
    assert chosen(integers, [30.0]) == "grid"
    wide = rng.integers(0, 10**6, (1000, 2)).astype(float)
    assert chosen(wide, [3000.0], algorithm="grid") == "grid"
    # "grid" on a lattice too sparse for the dense table: the cell grid, whose
    # search costs less than a binary search per stencil row (18 s against 0.5 s
    # for the pts_ratio case of benchmarks/bench_adversarial.py)...
    assert chosen(wide, [3.0], algorithm="grid") == "grid"
    assert chosen(integers, [3.0], algorithm="grid") == "lattice"
    # ... unless the span holds more eps than the cell grid's cells can number.
    huge = np.vstack([integers, integers + [2.0 ** 51, 0.0]])
    assert chosen(huge, [1.5], algorithm="grid") == "lattice"


@pytest.mark.parametrize("eps, min_samples", [(1.0, 10), (0.3, 150)])
def test_labels_do_not_depend_on_threads(eps, min_samples):
    # Identical points, a lattice, a spot, and many dense little clumps: blocks of
    # many points counted by several threads at once.
    rng = np.random.default_rng(15)
    clumps = (rng.uniform(0, 20, (60, 1, 2)) + rng.uniform(0, 0.05, (60, 80, 2))).reshape(-1, 2)
    X = np.vstack([np.zeros((200, 2)), rng.integers(0, 5, (300, 2)),
                   rng.uniform(0, 1e-9, (200, 2)) + 7, clumps + 30])
    expected = sklearn_labels(X, eps, min_samples)
    for algorithm in ALGORITHMS:
        for n_jobs in (1, 2):
            got = GridDBSCAN(eps=eps, min_samples=min_samples, algorithm=algorithm,
                             n_jobs=n_jobs).fit_predict(X)
            np.testing.assert_array_equal(got, expected, err_msg=f"{algorithm}, {n_jobs}")


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
@pytest.mark.parametrize("p", [0.25, 0.5])
def test_p_is_read_only_by_minkowski(metric, p):
    # scikit-learn takes p below 1 and reads it only for metric="minkowski".
    X = np.random.default_rng(16).uniform(0, 1, (200, 2))
    assert_all_algorithms(X, sklearn_labels(X, 0.1, 4, metric=metric, p=p), eps=0.1,
                          min_samples=4, metric=metric, p=p)


def test_minkowski_with_the_largest_p():
    # p = 1e308 takes eps = 1 only (eps**p is 0 or inf for any other radius).  By hand:
    # a difference below 1 adds 0 to the sum, exactly 1 adds 1, above 1 adds inf, as
    # the maximum norm would decide.
    X = np.array([[0.0, 0.0], [0.9, 0.9], [2.5, 0.0], [3.5, 0.0], [5.0, 5.0]])
    assert_all_algorithms(X, np.array([0, 0, 1, 1, -1]), eps=1.0, min_samples=2,
                          metric="minkowski", p=1e308)
    with pytest.raises(ValueError, match="eps must be exactly 1 for metric='minkowski'"):
        GridDBSCAN(eps=0.99, metric="minkowski", p=1e308).fit(X)


def cells_near(X, eps, shape):
    """P(p) by brute force over the integer box around each point (euclidean, scalar eps)."""
    reach = int(np.floor(eps))
    offsets = np.stack(np.meshgrid(*[np.arange(-reach, reach + 1)] * X.shape[1],
                                   indexing="ij"), -1).reshape(-1, X.shape[1])
    offsets = offsets[(offsets ** 2).sum(axis=1) <= eps ** 2]
    cells = X[:, None, :] + offsets[None]
    return np.all((cells >= 0) & (cells < shape), axis=2).sum(axis=1).astype(float)


def test_pts_ratio_on_a_sparse_lattice_away_from_zero():
    # Too many cells for a dense table, and no point near 0: a lattice over the data
    # spans only the data's box, so the counts P(p) come from one over [0, grid_shape)
    # (a lattice over the data scanned each point's box cell by cell: 74 s for 20,000
    # points).  P(p) shrinks at the far corner, where two points are enough for eps 3.5.
    rng = np.random.default_rng(17)
    shape = np.array([3000, 2000])
    X = np.vstack([rng.integers(500, 560, (300, 2)), [[2999, 1999], [2998, 1998]]])
    X = X.astype(float)
    for eps, far_core in ((3.5, True), (12.0, False)):
        expected, _ = reference_dbscan(X, np.full(X.shape, eps),
                                       0.05 * cells_near(X, eps, shape))
        assert (expected[-1] >= 0) == far_core
        assert_all_algorithms(X, expected, eps=eps, pts_ratio=0.05, grid_shape=shape)


@pytest.mark.parametrize("metric, p", [("euclidean", None), ("manhattan", None),
                                       ("chebyshev", None), ("minkowski", 3.0)])
def test_spread_eps_in_blocks_and_forward_links(metric, p, every_thread):
    # Eps over orders of magnitude with a few large ones: the tree's blocks group a
    # leaf's points of one octave, and its connect pass links each block's own
    # neighbourhoods only.  Exact for eps rows per point and per feature, with and
    # without weights, under every algorithm and with one or two threads.
    rng = np.random.default_rng(23)
    n = 500
    X = rng.uniform(0, 1, (n, 2))
    odd = rng.uniform(size=n)
    isotropic = np.where(odd < 0.03, 0.3, 10 ** rng.uniform(-4, -1.5, n))
    for E in (np.column_stack([isotropic] * 2),
              isotropic[:, None] * rng.uniform(0.3, 3.0, (n, 2))):
        sample_eps = E[:, 0] if np.array_equal(E[:, 0], E[:, 1]) else E
        for min_samples, w in ((4, None), (9, rng.integers(0, 4, n).astype(float))):
            expected, core = reference_dbscan(X, E, min_samples, metric=metric,
                                              p=2.0 if p is None else p, weights=w)
            for algorithm in ALGORITHMS:
                for n_jobs in (1, 2):
                    model = GridDBSCAN(min_samples=min_samples, metric=metric, p=p,
                                       algorithm=algorithm, n_jobs=n_jobs)
                    model.fit(X, sample_weight=w, sample_eps=sample_eps)
                    np.testing.assert_array_equal(model.labels_, expected,
                                                  err_msg=f"{algorithm}, {n_jobs}")
                    np.testing.assert_array_equal(model.core_sample_indices_, core)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_links_that_only_one_end_reaches(rule):
    # Ten tight groups 0.9 apart along x, each core on its own; group k and k + 1 are
    # linked only by one point whose eps (1.0) reaches the other group, which cannot
    # reach back: from group k forwards for even k, from group k + 1 backwards for odd
    # k.  One cluster, whichever end of each link comes first in an index's order.
    rng = np.random.default_rng(29)
    X = np.vstack([[0.9 * k, 0.0] + rng.uniform(0, 1e-3, (5, 2)) for k in range(10)])
    sample_eps = np.full(len(X), 0.01)
    for k in range(9):
        sample_eps[5 * (k if k % 2 == 0 else k + 1)] = 1.0
    expected, _ = reference_dbscan(X, np.column_stack([sample_eps] * 2), 5, rule=rule)
    assert np.all(expected == 0)
    assert_all_algorithms(X, expected, sample_eps=sample_eps, min_samples=5, neighbors=rule)


@pytest.mark.parametrize("metric, p", [("euclidean", None), ("chebyshev", None),
                                       ("minkowski", 3.0)])
@pytest.mark.parametrize("periodic", [False, True])
def test_large_eps_credit_whole_ranges(metric, p, periodic):
    # A few points whose eps reaches whole leaves among many that reach nobody: under
    # the union rule a small point's weight is its own plus that of the large points
    # reaching it, decided for most of them by the large points' whole ranges.  The
    # minimum lies between the counts that occur, so a credit too many or too few
    # changes which points are core.  Whole-number weights (zeros included), periodic
    # x, one and two threads, against the brute force.
    rng = np.random.default_rng(31)
    n_small, n_large = 600, 8
    X = rng.uniform(0, 1, (n_small + n_large, 2))
    sample_eps = np.concatenate([np.full(n_small, 1e-4), rng.uniform(0.25, 0.5, n_large)])
    E = np.column_stack([sample_eps] * 2)
    periods = [1.0, None] if periodic else None
    for min_samples, w in ((4, None), (6, rng.integers(0, 3, len(X)).astype(float))):
        expected, core = reference_dbscan(X, E, min_samples, metric=metric,
                                          p=2.0 if p is None else p, weights=w,
                                          periods=periods)
        small_core = np.isin(np.arange(n_small), core)
        assert 0.1 < small_core.mean() < 0.9
        for n_jobs in (1, 2):
            model = GridDBSCAN(min_samples=min_samples, metric=metric, p=p, periods=periods,
                               algorithm="ball_tree", leaf_size=8, n_jobs=n_jobs)
            model.fit(X, sample_weight=w, sample_eps=sample_eps)
            np.testing.assert_array_equal(model.labels_, expected)
            np.testing.assert_array_equal(model.core_sample_indices_, core)


@pytest.mark.parametrize("rule", ["union", "query"])
def test_searches_leave_out_settled_ranges(rule):
    # Eps over orders of magnitude in nine squares in a row, further apart than the
    # largest eps; squares 2m and 2m + 1 are joined by one point whose eps reaches into
    # the next square, which cannot reach back.  The tree's connect searches leave out
    # the nodes already in the searching set (a square joined early is one set when
    # its bridge searches it, and must still be joined), and under the union rule its
    # credit rounds leave out the points already core.  Many blocks (every credit
    # round takes some), whole-number weights, one and two threads, against the brute
    # force.
    rng = np.random.default_rng(37)
    per_square = 250
    corners = [[1.5 * k, 0.0] for k in range(9)]
    X = np.vstack([np.add(c, rng.uniform(0, 1, (per_square, 2))) for c in corners]
                  + [np.add(corners[k], [0.95, 0.5]) for k in range(0, 8, 2)])
    sample_eps = 10 ** rng.uniform(-4, np.log10(0.4), len(X))
    sample_eps[-4:] = 0.7    # reaches 0.15 into the next square
    E = np.column_stack([sample_eps] * 2)
    for min_samples, w in ((3, None), (5, rng.integers(0, 3, len(X)).astype(float))):
        expected, core = reference_dbscan(X, E, min_samples, rule=rule, weights=w)
        # Each square's main cluster: squares 2m and 2m + 1 share theirs, no others do.
        main = [np.bincount(expected[k * per_square:(k + 1) * per_square] + 1).argmax() - 1
                for k in range(9)]
        assert main[0:8:2] == main[1:8:2] and len(set(main)) == 5 and -1 not in main
        for algorithm in ("ball_tree", "auto"):
            for n_jobs in (1, 2):
                model = GridDBSCAN(min_samples=min_samples, algorithm=algorithm, leaf_size=4,
                                   neighbors=rule, n_jobs=n_jobs)
                model.fit(X, sample_weight=w, sample_eps=sample_eps)
                np.testing.assert_array_equal(model.labels_, expected,
                                              err_msg=f"{algorithm}, {n_jobs}")
                np.testing.assert_array_equal(model.core_sample_indices_, core)
