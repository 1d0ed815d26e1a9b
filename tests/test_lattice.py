"""The lattice index against brute force, and GridDBSCAN's algorithms against each other."""

import pickle

import numpy as np
import pytest

from gridscan import GridDBSCAN, RangeEps, _lattice_layout, _stencils
from gridscan._ball_tree import BallTree
from gridscan._eps_model import box_counts, lattice_counts
from gridscan._grid import CellGrid
from gridscan._index import BruteIndex
from gridscan._lattice import LatticeIndex
from gridscan._lattice_layout import lattice_layout
from gridscan._validation import eps_rows, resolve_metric, window_mask

METRICS = ["euclidean", "manhattan", "chebyshev", "minkowski"]


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def random_lattice(rng, n_max=200, d_max=3):
    d = int(rng.integers(1, d_max + 1))
    n = int(rng.integers(1, n_max))
    X = rng.integers(0, rng.integers(1, 12, size=d), size=(n, d)).astype(float)
    X -= rng.integers(0, 3)
    if rng.random() < 0.3:
        X = np.vstack([X, X[: n // 2]])
    return X


def random_eps(rng, form, n, d):
    if form == "scalar":
        return float(rng.choice([1.0, 2.0, rng.uniform(0.5, 4)]))
    if form == "features":
        return rng.uniform(0.5, 4, size=d)
    return rng.choice([1.0, 1.5, 2.0, 3.3], size=(n, d))


def sorted_neighbours(index, Q, eps, neighbors="query"):
    found = index.query_radius(Q, eps, neighbors=neighbors, n_jobs=1)
    return [sorted(row.tolist()) for row in found]


@pytest.mark.parametrize("register", [False, True])
def test_query_radius_equals_brute_force(rng, register):
    for _ in range(150):
        X = random_lattice(rng)
        n, d = X.shape
        metric = str(rng.choice(METRICS))
        p = 3.0 if metric == "minkowski" else None
        form = str(rng.choice(["scalar", "features", "rows"]))
        eps = random_eps(rng, form, n, d)
        window = [0] if d > 1 and rng.random() < 0.3 else None
        own = eps if form == "rows" else None
        lattice = LatticeIndex(X, metric, p, sample_eps=own, window_features=window)
        brute = BruteIndex(X, *resolve_metric(metric, p), window_mask(window, d))
        if own is not None:
            brute._set_own_eps(own)
        m = 20
        # Queries on cells, between cells and outside the lattice.
        Q = X[rng.integers(0, n, size=m)] + rng.choice([0, 0, 0, 1, 0.5, -3], size=(m, d))
        query_eps = eps if form != "rows" else rng.choice([1.0, 1.5, 2.0, 3.3], size=(m, d))
        if register:
            lattice.register(lattice.eps_rows(eps_rows(query_eps, n_rows=m, n_features=d,
                                                       name="eps")))
        for neighbors in (["query", "union"] if own is not None else ["query"]):
            assert sorted_neighbours(lattice, Q, query_eps, neighbors) == \
                sorted_neighbours(brute, Q, query_eps, neighbors)


def test_sparse_layout_gives_the_same_neighbours(rng, monkeypatch):
    X = random_lattice(rng, n_max=300)
    eps = rng.choice([1.0, 2.0], size=X.shape)
    Q = X[:30] + rng.choice([0, 0.5, 2], size=(30, X.shape[1]))
    dense = LatticeIndex(X, sample_eps=eps)
    monkeypatch.setattr(_lattice_layout, "DENSE_MIN_CELLS", 0)
    monkeypatch.setattr(_lattice_layout, "DENSE_CELLS_PER_POINT", 0)
    sparse = LatticeIndex(X, sample_eps=eps)
    assert dense.dense and not sparse.dense
    assert lattice_layout(X) == "sparse"
    for neighbors in ("query", "union"):
        assert sorted_neighbours(sparse, Q, eps[:30], neighbors) == \
            sorted_neighbours(dense, Q, eps[:30], neighbors)


def test_stencils_are_cached_per_distinct_eps_row():
    X = np.array([[0, 0], [0, 1], [2, 2], [5, 5]], dtype=float)
    index = LatticeIndex(X)
    ids = index.register(index.eps_rows(np.array([[1.0, 2.0], [1.0, 2.0], [1.5, 1.0],
                                                  [1.0, 2.0]])))
    assert ids.tolist() == [0, 0, 1, 0]
    assert index.n_stencils == 2
    assert index.register(index.eps_rows(np.array([[1.5, 1.0]]))).tolist() == [1]


def test_full_ranges_cover_a_row_of_cells():
    # A 1 x 10 row, every cell occupied: the stencil run of radius 3 is one range.
    X = np.column_stack([np.zeros(10), np.arange(10)])
    index = LatticeIndex(X)
    assert sorted_neighbours(index, [[0, 5]], 3.0) == [[2, 3, 4, 5, 6, 7, 8]]
    assert sorted_neighbours(index, [[0, 0.5]], 1.0) == [[0, 1]]


@pytest.mark.parametrize("bounds", [None, "grid", "larger"])
def test_lattice_counts_equal_the_generic_box_scan(rng, bounds):
    for _ in range(60):
        X = np.abs(random_lattice(rng))
        n, d = X.shape
        shape = (X.max(axis=0) + 1).astype(np.intp)
        if bounds == "larger":
            shape = shape + rng.integers(0, 4, size=d)
        metric = str(rng.choice(METRICS))
        p = 3.0 if metric == "minkowski" else None
        form = str(rng.choice(["scalar", "features", "rows"]))
        window = [d - 1] if d > 1 and rng.random() < 0.3 else None
        index = LatticeIndex(X, metric, p, bounds=None if bounds is None else shape,
                             window_features=window)
        table = index.eps_rows(eps_rows(random_eps(rng, form, n, d), n_rows=n,
                                        n_features=d, name="eps"))
        fast = np.empty(n)
        lattice_counts(index, X, table, shape, fast, 1)
        generic = np.empty(n)
        box_counts(index, X, table, shape, generic, 1)
        assert np.array_equal(fast, generic)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_lattice_counts_inside_and_at_the_edges_equal_brute_force(rng, d):
    # A point whose stencil lies inside the box takes the stencil's size at once;
    # one near an edge counts its rows inside, and clips their runs along the last
    # feature only when they reach an edge.  All against every cell of the box.
    from reference import lattice_cells
    shape = np.array([30, 24, 16][:d])
    n = 200
    X = rng.integers(0, shape, size=(n, d)).astype(float)
    tables = [np.full((n, d), 4.5), rng.choice([1.0, 2.5, 6.0], size=(n, 1)) * np.ones(d),
              rng.uniform(0.5, 7.0, size=(n, d))]
    for metric in METRICS:
        p = 3.0 if metric == "minkowski" else 2.0
        window = np.arange(d) == d - 1 if d > 1 and metric == "chebyshev" else None
        for E in tables:
            index = LatticeIndex(X, metric, p, bounds=shape,
                                 window_features=None if window is None else [d - 1])
            table = index.eps_rows(eps_rows(E, n_rows=n, n_features=d, name="eps"))
            scaled = table.values.shape[1] > 1
            got = np.empty(n)
            lattice_counts(index, X, table, shape, got, 2)
            expected = lattice_cells(X, E, shape, metric, p, window, scaled=scaled)
            assert np.array_equal(got, expected), (metric, E[0])
            # The generic scan (rows of each point's box, runs by bisection), also
            # around centres between the cells.
            box_counts(index, X, table, shape, got, 2)
            assert np.array_equal(got, expected), (metric, E[0])
            box_counts(index, X + 0.5, table, shape, got, 2)
            expected = lattice_cells(X + 0.5, E, shape, metric, p, window, scaled=scaled)
            assert np.array_equal(got, expected), (metric, E[0])


def test_pickle_round_trip(rng):
    X = random_lattice(rng, d_max=2)
    eps = rng.choice([1.0, 2.0], size=X.shape)
    index = LatticeIndex(X, "manhattan", sample_eps=eps, window_features=[0])
    restored = pickle.loads(pickle.dumps(index))
    assert np.array_equal(restored.data, X)
    for neighbors in ("query", "union"):
        assert sorted_neighbours(restored, X[:10], eps[:10], neighbors) == \
            sorted_neighbours(index, X[:10], eps[:10], neighbors)


def test_bad_input():
    with pytest.raises(ValueError, match=r"integer coordinates; X\[1\] = \[0.5, 1.0\]"):
        LatticeIndex([[0, 0], [0.5, 1]])
    with pytest.raises(ValueError, match="bounds must hold 2 positive integers"):
        LatticeIndex([[0, 0]], bounds=[3])
    with pytest.raises(ValueError, match=r"X\[0\] = \[4.0, 0.0\] lies outside bounds \(3, 3\)"):
        LatticeIndex([[4, 0]], bounds=[3, 3])
    with pytest.raises(ValueError, match="at most 16 features"):
        LatticeIndex(np.zeros((2, 17)))
    assert lattice_layout([[0.5, 1.0]]) is None
    assert lattice_layout(np.zeros((2, 17))) is None


def test_index_selection():
    rng = np.random.default_rng(3)
    integers = rng.integers(0, 30, (200, 2)).astype(float)
    floats = integers + 0.25
    small_eps = np.array([[1.5]])

    def chosen(X, algorithm, eps=small_eps, shape=None):
        index = GridDBSCAN(algorithm=algorithm)._build_index(X, eps, shape)
        return type(index)

    assert chosen(integers, "auto") is LatticeIndex
    assert chosen(integers, "grid") is LatticeIndex
    assert chosen(integers, "ball_tree") is BallTree
    assert chosen(integers, "brute") is BruteIndex
    assert chosen(integers[:10], "auto") is BruteIndex
    # A large eps makes large stencils: "auto" takes the cell grid instead.
    assert chosen(integers, "auto", eps=np.array([[20.0]])) is CellGrid
    assert chosen(floats, "auto") is CellGrid
    assert chosen(floats, "grid") is CellGrid
    # Too many features for the lattice under "auto": the cell grid with its
    # tree over the cells (up to 8 features), the ball tree beyond; still a
    # lattice when asked for.
    wide = rng.integers(0, 3, (200, 5)).astype(float)
    assert chosen(wide, "auto") is CellGrid
    assert chosen(wide, "grid") is LatticeIndex
    wider = rng.integers(0, 3, (200, 9)).astype(float)
    assert chosen(wider, "auto") is BallTree
    # The pts_ratio grid becomes the lattice bounds.
    index = GridDBSCAN(algorithm="grid")._build_index(integers, small_eps, np.array([40, 41]))
    assert index.origin.tolist() == [0, 0] and index.shape.tolist() == [40, 41]


def random_fit(rng):
    """A random GridDBSCAN configuration on integer data: (X, params, fit kwargs)."""
    X = np.abs(random_lattice(rng, n_max=250))
    n, d = X.shape
    params = dict(metric=str(rng.choice(["euclidean", "manhattan", "chebyshev"])),
                  neighbors=str(rng.choice(["query", "union"])), n_jobs=1)
    if d > 1 and rng.random() < 0.3:
        params["window_features"] = [int(rng.integers(0, d))]
    fit = {}
    form = int(rng.integers(0, 4))
    if form == 0:
        params["eps"] = float(rng.choice([1.0, 1.5, 2.0, rng.uniform(0.5, 3)]))
    elif form == 1:
        params["eps"] = list(rng.uniform(0.5, 3.5, size=d))
    elif form == 2:
        fit["sample_eps"] = rng.choice([1.0, 1.5, 2.0, 2.5], size=(n, d))
    else:
        params["eps"] = RangeEps(base=list(rng.uniform(0.3, 1, size=d)), range_feature=0,
                                 power=list(rng.uniform(-1, 1, size=d)), offset=1.0,
                                 min_eps=0.5)
    if rng.random() < 0.5:
        params["pts_ratio"] = float(rng.uniform(0.05, 1))
        if rng.random() < 0.5:
            params["grid_shape"] = list((X.max(axis=0) + 1 + rng.integers(0, 3, size=d))
                                        .astype(int))
    else:
        params["min_samples"] = int(rng.integers(1, 8))
    if rng.random() < 0.2:
        fit["sample_weight"] = rng.choice([0.0, 1.0, 2.0, 0.5], size=n)
    return X, params, fit


def fitted_results(X, params, fit, algorithm):
    est = GridDBSCAN(algorithm=algorithm, leaf_size=4, **params).fit(X, **fit)
    predict_eps = {}
    if params["neighbors"] == "union" and "sample_eps" in fit:
        predict_eps = {"sample_eps": fit["sample_eps"]}
    shifted = X + 0.5  # off-lattice queries
    return (est.labels_, est.core_sample_indices_, est.predict(X, **predict_eps),
            est.predict(shifted, **predict_eps))


def test_grid_equals_ball_tree_and_brute(rng):
    lattices = 0
    for _ in range(200):
        X, params, fit = random_fit(rng)
        grid = fitted_results(X, params, fit, "grid")
        for algorithm in ("ball_tree", "brute"):
            other = fitted_results(X, params, fit, algorithm)
            for a, b in zip(grid, other, strict=True):
                assert np.array_equal(a, b), (params, algorithm)
        # algorithm="grid" took the lattice index (not the cell grid) for this X.
        lattices += lattice_layout(X) is not None
    assert lattices == 200


def test_grid_equals_brute_without_cached_stencils(rng, monkeypatch):
    # With no room for stencils every search falls back to box rows tested point by point.
    monkeypatch.setattr(_stencils, "STENCIL_BUDGET", 0)
    for _ in range(40):
        X, params, fit = random_fit(rng)
        for a, b in zip(fitted_results(X, params, fit, "grid"),
                        fitted_results(X, params, fit, "brute"), strict=True):
            assert np.array_equal(a, b), params


def test_float32_lattice_gives_the_float64_labels(rng):
    for _ in range(20):
        X, params, fit = random_fit(rng)
        if "sample_weight" in fit:
            del fit["sample_weight"]
        single = fitted_results(X.astype(np.float32), params, fit, "grid")
        double = fitted_results(X, params, fit, "grid")
        for a, b in zip(single, double, strict=True):
            assert np.array_equal(a, b), params


def test_grid_labels_do_not_depend_on_threads(rng):
    X = rng.integers(0, 60, size=(5000, 2)).astype(float)
    sample_eps = rng.choice([1.0, 2.0, 3.0], size=X.shape)
    labels = [GridDBSCAN(min_samples=4, algorithm="grid", n_jobs=n_jobs)
              .fit(X, sample_eps=sample_eps).labels_ for n_jobs in (1, 2, 3)]
    assert np.array_equal(labels[0], labels[1]) and np.array_equal(labels[0], labels[2])
