"""GridHDBSCAN, labels_at, k_distance and the hierarchy plots (docs/hierarchy.rst).

Independent answers: scikit-learn's HDBSCAN (scalar eps of 1), a brute-force
numpy implementation of the definition (every pair, dense matrices), and fresh
GridDBSCAN fits with every eps multiplied by the scale.
"""

import pickle

import matplotlib
import numpy as np
import pytest
from doctests import run_docstring_examples
from reference import differences
from scipy.sparse.csgraph import minimum_spanning_tree
from sklearn.cluster import HDBSCAN
from sklearn.cluster._hdbscan._tree import _condense_tree
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gridscan import GridDBSCAN, GridHDBSCAN, RangeEps, _hdbscan, k_distance

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gridscan.plot import (  # noqa: E402
    SCALE_COLOR,
    cluster_colors,
    plot_k_distance,
    plot_reachability,
)

RANGE_MODEL = RangeEps(base=[0.05, 0.1, 0.3], range_feature=0, power=[1.0, 0.5, 0.0])

# (GridHDBSCAN / GridDBSCAN keyword arguments) for every eps form.
EPS_FORMS = {
    "float": dict(eps=0.7),
    "per_feature": dict(eps=[0.5, 1.0, 2.0]),
    "range_eps": dict(eps=RANGE_MODEL),
    "window": dict(eps=RANGE_MODEL, window_features=[2]),
    "manhattan": dict(eps=[0.5, 1.0, 2.0], metric="manhattan"),
    "chebyshev": dict(eps=RANGE_MODEL, metric="chebyshev"),
    "minkowski": dict(eps=RANGE_MODEL, metric="minkowski", p=3.0),
    "all_window": dict(eps=[0.5, 1.0, 2.0], window_features=[0, 1, 2]),
    # radar_like's second feature spans [0, 10): one period, wrapping.
    "periodic": dict(eps=RANGE_MODEL, periods=[None, 10.0, None]),
    "periodic_window": dict(eps=[0.5, 1.0, 2.0], periods=[None, 10.0, 5.0],
                            window_features=[2]),
}


def blobs(rng, n=300, d=2):
    """Gaussian blobs of different spreads plus uniform noise."""
    centres = rng.uniform(-5, 5, (3, d))
    parts = [rng.normal(c, s, (n // 4, d)) for c, s in zip(centres, (0.3, 0.6, 1.0), strict=True)]
    parts.append(rng.uniform(-8, 8, (n - 3 * (n // 4), d)))
    return np.vstack(parts)


def radar_like(rng, n=400):
    """Three features: a range (1..30), a second coordinate, a third (window) one."""
    return np.column_stack([rng.uniform(1, 30, n), rng.uniform(0, 10, n), rng.uniform(0, 5, n)])


# ---------------------------------------------------------------------------
# Brute force: the definition on every pair (docs/hierarchy.rst)

def brute_delta(X, table, metric="euclidean", p=2.0, window=(), periods=None):
    """delta(p, q) = min(delta_p(q), delta_q(p)) from the formula, as dense (n, n)."""
    n, d = X.shape
    E = np.broadcast_to(table, (n, d))
    ratio = differences(X, X, periods) / E[:, None, :]    # [p, q, k] over E[p]
    in_norm = np.ones(d, dtype=bool)
    in_norm[list(window)] = False
    part = ratio[:, :, in_norm]
    if not in_norm.any():
        norm = np.zeros((n, n))
    elif metric == "euclidean":
        norm = np.sqrt((part ** 2).sum(-1))
    elif metric == "manhattan":
        norm = part.sum(-1)
    elif metric == "chebyshev":
        norm = part.max(-1)
    else:
        norm = (part ** p).sum(-1) ** (1.0 / p)
    if window:
        norm = np.maximum(norm, ratio[:, :, list(window)].max(-1))
    return np.minimum(norm, norm.T)


def brute_core(delta, min_samples, weights=None):
    """Smallest s at which the weight of {q : delta(p, q) <= s} reaches min_samples."""
    n = delta.shape[0]
    w = np.ones(n) if weights is None else weights
    core = np.full(n, np.inf)
    for i in range(n):
        by = np.argsort(delta[i], kind="stable")
        reached = np.flatnonzero(np.cumsum(w[by]) >= min_samples)
        if reached.size:
            core[i] = delta[i, by[reached[0]]]
    return core


def brute_tree_weights(delta, core, max_scale=np.inf):
    """Sorted weights of a minimum spanning forest of m = max(c(p), c(q), delta) <= max_scale."""
    m = np.maximum(np.maximum(core[:, None], core[None, :]), delta)
    m[~(m <= max_scale)] = np.inf
    # scipy reads 0 and inf as "no edge": shift every finite weight by 1.
    graph = np.where(np.isfinite(m), m + 1.0, 0.0)
    np.fill_diagonal(graph, 0.0)
    return np.sort(minimum_spanning_tree(graph).data - 1.0)


def eps_table_of(form, X):
    """The eps rows at scale 1 of an EPS_FORMS entry, (1 or n, 1 or d)."""
    eps = form["eps"]
    if isinstance(eps, RangeEps):
        return eps.evaluate(X)
    return np.atleast_2d(np.asarray(eps, dtype=np.float64))


def dbscan_at(form, X, scale, min_samples, weights=None):
    """A fresh GridDBSCAN (union rule) with every eps multiplied by scale."""
    kwargs = {k: v for k, v in form.items() if k != "eps"}
    eps = form["eps"]
    model = GridDBSCAN(min_samples=min_samples, neighbors="union", **kwargs)
    if isinstance(eps, RangeEps):
        return model.fit(X, sample_weight=weights, sample_eps=eps.evaluate(X) * scale).labels_
    model.set_params(eps=np.asarray(eps) * scale if np.ndim(eps) else eps * scale)
    return model.fit(X, sample_weight=weights).labels_


def test_docstring_examples():
    run_docstring_examples(_hdbscan)


# ---------------------------------------------------------------------------
# Scalar eps of 1: scikit-learn's HDBSCAN

@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("method", ["eom", "leaf"])
def test_scalar_eps_is_sklearn_hdbscan(seed, method):
    rng = np.random.default_rng(seed)
    X = blobs(rng, n=int(rng.integers(80, 500)), d=int(rng.integers(1, 4)))
    min_samples = int(rng.integers(1, 10))
    min_cluster_size = int(rng.integers(2, 20))
    ours = GridHDBSCAN(min_cluster_size, min_samples,
                       cluster_selection_method=method).fit(X)
    theirs = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                     cluster_selection_method=method, copy=True).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.probabilities_, theirs.probabilities_, rtol=1e-12)
    their_tree = theirs._single_linkage_tree_
    for field in ("left_node", "right_node", "cluster_size"):
        np.testing.assert_array_equal(ours.single_linkage_tree_[field], their_tree[field])
    np.testing.assert_allclose(ours.single_linkage_tree_["value"], their_tree["value"],
                               rtol=1e-12)
    their_condensed = _condense_tree(their_tree, min_cluster_size)
    for field in ("parent", "child", "cluster_size"):
        np.testing.assert_array_equal(ours.condensed_tree_[field], their_condensed[field])
    np.testing.assert_allclose(ours.condensed_tree_["value"], their_condensed["value"],
                               rtol=1e-12)


@pytest.mark.parametrize("selection_epsilon", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("single", [False, True])
def test_selection_epsilon_and_single_cluster_as_sklearn(selection_epsilon, single):
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(0, 0.4, (120, 2)), rng.normal(2.5, 0.4, (120, 2))])
    for method in ("eom", "leaf"):
        kwargs = dict(min_cluster_size=15, min_samples=6, cluster_selection_method=method,
                      cluster_selection_epsilon=selection_epsilon, allow_single_cluster=single)
        try:
            theirs = HDBSCAN(copy=True, **kwargs).fit(X)
        except TypeError as error:
            # scikit-learn's epsilon search with "leaf" fails when a selected leaf
            # hangs from the root (sklearn/cluster/_hdbscan/_tree.pyx,
            # traverse_upwards); the same routine runs here and fails alike.
            with pytest.raises(TypeError, match=str(error)):
                GridHDBSCAN(**kwargs).fit(X)
            continue
        ours = GridHDBSCAN(**kwargs).fit(X)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        np.testing.assert_allclose(ours.probabilities_, theirs.probabilities_, rtol=1e-12)


def test_sklearn_min_samples_default_is_min_cluster_size():
    X = blobs(np.random.default_rng(3), n=200)
    ours = GridHDBSCAN(min_cluster_size=9).fit(X)
    np.testing.assert_array_equal(ours.labels_,
                                  HDBSCAN(min_cluster_size=9, copy=True).fit(X).labels_)
    np.testing.assert_allclose(ours.core_scales_, k_distance(X, 9))


# ---------------------------------------------------------------------------
# The definition, pair by pair

@pytest.mark.parametrize("form", EPS_FORMS, ids=str)
@pytest.mark.parametrize("weighted", [False, True])
def test_core_scales_and_tree_heights_are_the_definition(form, weighted, rng):
    kwargs = EPS_FORMS[form]
    X = radar_like(rng, 250)
    weights = rng.uniform(0.2, 2.0, X.shape[0]) if weighted else None
    model = GridHDBSCAN(min_cluster_size=5, min_samples=4, **kwargs).fit(
        X, sample_weight=weights)
    metric = kwargs.get("metric", "euclidean")
    delta = brute_delta(X, eps_table_of(kwargs, X), metric, kwargs.get("p", 2.0),
                        kwargs.get("window_features", ()), kwargs.get("periods"))
    core = brute_core(delta, 4, weights)
    np.testing.assert_allclose(model.core_scales_, core, rtol=1e-12)
    np.testing.assert_allclose(np.sort(model.minimum_spanning_tree_[:, 2]),
                               brute_tree_weights(delta, core), rtol=1e-12)
    # The stored tree joins every point once.
    edges = model.minimum_spanning_tree_
    assert edges.shape == (X.shape[0] - 1, 3)
    assert np.unique(edges[:, 1]).shape[0] == X.shape[0] - 1


@pytest.mark.parametrize("max_scale", [0.3, 0.8])
def test_max_scale_keeps_the_forest_below_it(max_scale, rng):
    X = radar_like(rng, 300)
    form = EPS_FORMS["range_eps"]
    full = GridHDBSCAN(min_samples=5, **form).fit(X)
    cut = GridHDBSCAN(min_samples=5, max_scale=max_scale, **form).fit(X)
    expected = np.where(full.core_scales_ <= max_scale, full.core_scales_, np.inf)
    np.testing.assert_array_equal(cut.core_scales_, expected)
    below = full.minimum_spanning_tree_[:, 2] <= max_scale
    np.testing.assert_array_equal(np.sort(cut.minimum_spanning_tree_[:, 2]),
                                  np.sort(full.minimum_spanning_tree_[below, 2]))
    delta = brute_delta(X, eps_table_of(form, X))
    np.testing.assert_allclose(np.sort(cut.minimum_spanning_tree_[:, 2]),
                               brute_tree_weights(delta, brute_core(delta, 5), max_scale),
                               rtol=1e-12)
    for scale in np.linspace(max_scale / 4, max_scale, 5):
        np.testing.assert_array_equal(cut.labels_at(scale), full.labels_at(scale))
    with pytest.raises(ValueError, match=r"scale must be a finite number in \(0, max_scale"):
        cut.labels_at(max_scale * 1.01)
    # The components are joined at an infinite height in the single-linkage tree.
    n_components = X.shape[0] - cut.minimum_spanning_tree_.shape[0]
    assert np.isinf(cut.single_linkage_tree_["value"]).sum() == n_components - 1


# ---------------------------------------------------------------------------
# labels_at: GridDBSCAN at every scale

def scales_to_check(model, rng, count=16):
    """Exact tree weights and core scales (the boundaries), midpoints between them,
    and random scales."""
    weights = np.unique(np.concatenate([
        model.minimum_spanning_tree_[:, 2],
        model.core_scales_[np.isfinite(model.core_scales_)]]))
    weights = weights[weights > 0]
    exact = rng.choice(weights, min(count, weights.shape[0]), replace=False)
    middle = (weights[1:] + weights[:-1]) / 2
    between = rng.choice(middle, min(count // 2, middle.shape[0]), replace=False)
    spread = rng.uniform(weights.min() / 2, weights.max() * 1.1, count // 4)
    return np.concatenate([exact, between, spread])


@pytest.mark.parametrize("form", EPS_FORMS, ids=str)
@pytest.mark.parametrize("weighted", [False, True])
def test_labels_at_is_griddbscan_at_that_scale(form, weighted, rng):
    kwargs = EPS_FORMS[form]
    X = radar_like(rng, 300)
    weights = rng.uniform(0.2, 2.0, X.shape[0]) if weighted else None
    model = GridHDBSCAN(min_samples=4, **kwargs).fit(X, sample_weight=weights)
    for scale in scales_to_check(model, rng):
        np.testing.assert_array_equal(model.labels_at(scale),
                                      dbscan_at(kwargs, X, scale, 4, weights),
                                      err_msg=f"scale {scale!r}")


@pytest.mark.parametrize("shape", ["rows", "rows_features"])
def test_labels_at_with_sample_eps(shape, rng):
    X = radar_like(rng, 250)
    sample_eps = (rng.uniform(0.3, 1.5, X.shape[0]) if shape == "rows"
                  else rng.uniform(0.3, 1.5, X.shape))
    model = GridHDBSCAN(min_samples=3).fit(X, sample_eps=sample_eps)
    for scale in scales_to_check(model, rng, 12):
        expected = GridDBSCAN(min_samples=3).fit(X, sample_eps=sample_eps * scale).labels_
        np.testing.assert_array_equal(model.labels_at(scale), expected)


def test_labels_at_float32_and_duplicates(rng):
    X = blobs(rng, 300).astype(np.float32)
    X = np.vstack([X, X[:40]])                  # exact duplicates
    model = GridHDBSCAN(min_samples=5, eps=0.25).fit(X)
    assert model._fit_X.dtype == np.float32
    for scale in scales_to_check(model, rng, 12):
        np.testing.assert_array_equal(
            model.labels_at(scale), GridDBSCAN(eps=0.25 * scale, min_samples=5).fit(X).labels_)


def test_labels_at_scalar_eps_is_sklearn_dbscan(rng):
    from sklearn.cluster import DBSCAN

    X = blobs(rng, 400)
    model = GridHDBSCAN(min_samples=6).fit(X)
    for scale in (0.2, 0.35, 0.5, 1.0):
        np.testing.assert_array_equal(model.labels_at(scale),
                                      DBSCAN(eps=scale, min_samples=6).fit(X).labels_)


# ---------------------------------------------------------------------------
# Determinism, algorithms, pickling, pipelines

def test_threads_and_algorithms_give_the_same_result(rng):
    X = radar_like(rng, 500)
    fits = [GridHDBSCAN(min_samples=5, n_jobs=jobs, algorithm=algorithm, leaf_size=leaf,
                        **EPS_FORMS["window"]).fit(X)
            for jobs, algorithm, leaf in [(1, "auto", 40), (2, "ball_tree", 5), (2, "brute", 40)]]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.minimum_spanning_tree_, fits[0].minimum_spanning_tree_)
        np.testing.assert_array_equal(other.labels_, fits[0].labels_)
        np.testing.assert_array_equal(other.labels_at(0.4), fits[0].labels_at(0.4))


def test_pickle_round_trip_keeps_labels_at(rng):
    X = radar_like(rng, 300)
    model = GridHDBSCAN(min_samples=4, **EPS_FORMS["range_eps"]).fit(X)
    before = [model.labels_at(s) for s in (0.2, 0.5, 1.0)]
    copy = pickle.loads(pickle.dumps(model))
    assert getattr(copy, "_searcher", None) is None
    for scale, labels in zip((0.2, 0.5, 1.0), before, strict=True):
        np.testing.assert_array_equal(copy.labels_at(scale), labels)
    np.testing.assert_array_equal(copy.labels_, model.labels_)


def test_pipeline_and_input_not_modified(rng):
    X = blobs(rng, 200)
    original = X.copy()
    labels = make_pipeline(StandardScaler(), GridHDBSCAN(min_cluster_size=10)).fit_predict(X)
    np.testing.assert_array_equal(X, original)
    expected = HDBSCAN(min_cluster_size=10, copy=True).fit(
        StandardScaler().fit_transform(X)).labels_
    np.testing.assert_array_equal(labels, expected)


def test_dataframe_columns_name_window_features(rng):
    pandas = pytest.importorskip("pandas")
    X = radar_like(rng, 200)
    frame = pandas.DataFrame(X, columns=["range", "y", "time"])
    model = RangeEps(base=[0.05, 0.1, 0.3], range_feature="range", power=[1.0, 0.5, 0.0])
    by_name = GridHDBSCAN(min_samples=4, eps=model, window_features=["time"]).fit(frame)
    by_index = GridHDBSCAN(min_samples=4, **EPS_FORMS["window"]).fit(X)
    np.testing.assert_array_equal(by_name.minimum_spanning_tree_,
                                  by_index.minimum_spanning_tree_)


def test_tiny_inputs():
    one = GridHDBSCAN().fit([[1.0, 2.0]])
    np.testing.assert_array_equal(one.labels_, [-1])
    np.testing.assert_array_equal(one.labels_at(1.0), [-1])
    assert one.core_scales_[0] == np.inf          # 1 point never reaches min_samples=5
    two = GridHDBSCAN(min_cluster_size=2, min_samples=1).fit([[0.0], [1.0]])
    np.testing.assert_array_equal(two.minimum_spanning_tree_, [[0.0, 1.0, 1.0]])
    np.testing.assert_array_equal(two.labels_at(1.0), [0, 0])
    np.testing.assert_array_equal(two.labels_at(0.5), [0, 1])


# ---------------------------------------------------------------------------
# Errors

def test_query_rule_is_refused():
    with pytest.raises(ValueError, match="neighbors='query' is not available for a hierarchy"):
        GridHDBSCAN(neighbors="query").fit(np.zeros((10, 2)))


def test_bad_input_names_parameter_expected_and_received(rng):
    X = blobs(rng, 50)
    weights = np.ones(50)
    weights[3] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0.*sample_weight\[3\] = -1.0"):
        GridHDBSCAN().fit(X, sample_weight=weights)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\); expected \(50,\)"):
        GridHDBSCAN().fit(X, sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match=r"sample_eps has shape \(4,\); expected \(50,\)"):
        GridHDBSCAN().fit(X, sample_eps=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="max_scale"):
        GridHDBSCAN(max_scale=0.0).fit(X)
    with pytest.raises(ValueError, match="min_cluster_size"):
        GridHDBSCAN(min_cluster_size=1).fit(X)
    model = GridHDBSCAN().fit(X)
    for bad in (0.0, -1.0, np.inf, np.nan, "1", True):
        with pytest.raises(ValueError, match=r"scale must be a finite number in \(0, max_scale"):
            model.labels_at(bad)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GridHDBSCAN().labels_at(1.0)
    for bad in (0, 51, 2.5, True):
        with pytest.raises(ValueError, match=r"k must be an integer in \[1, 50\]"):
            k_distance(X, bad)
    with pytest.raises(ValueError, match=r"eps must be finite and > 0; got .*-1.0"):
        k_distance(X, 3, eps=-1.0)


# ---------------------------------------------------------------------------
# k_distance and the reachability order

@pytest.mark.parametrize("form", ["float", "range_eps", "window", "manhattan"])
def test_k_distance_is_the_definition(form, rng):
    kwargs = EPS_FORMS[form]
    X = radar_like(rng, 200)
    delta = brute_delta(X, eps_table_of(kwargs, X), kwargs.get("metric", "euclidean"),
                        window=kwargs.get("window_features", ()))
    for k in (1, 2, 7):
        expected = np.sort(delta, axis=1)[:, k - 1]
        np.testing.assert_allclose(k_distance(X, k, **kwargs), expected, rtol=1e-12)
    model = GridHDBSCAN(min_samples=7, **kwargs).fit(X)
    np.testing.assert_array_equal(model.core_scales_, k_distance(X, 7, **kwargs))


def test_k_distance_with_sample_eps_and_sklearn(rng):
    from sklearn.neighbors import NearestNeighbors

    X = blobs(rng, 300)
    distances, _ = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)
    np.testing.assert_allclose(k_distance(X, 6), distances[:, -1], rtol=1e-12)
    np.testing.assert_allclose(k_distance(X, 6, sample_eps=np.full(300, 0.5)),
                               distances[:, -1] / 0.5, rtol=1e-12)


def test_reachability_order_cuts_into_the_clusters_of_labels_at(rng):
    X = radar_like(rng, 400)
    model = GridHDBSCAN(min_samples=5, **EPS_FORMS["range_eps"]).fit(X)
    order, reach = model.reachability()
    np.testing.assert_array_equal(np.sort(order), np.arange(X.shape[0]))
    assert np.isinf(reach[0])
    np.testing.assert_array_equal(np.sort(reach[1:]), np.sort(model.minimum_spanning_tree_[:, 2]))
    for scale in np.quantile(reach[1:], [0.2, 0.5, 0.8, 0.95]):
        labels = model.labels_at(scale)[order]
        core = model.core_scales_[order] <= scale
        # Runs of the order split wherever the reachability exceeds the scale: each
        # run holds the core points of at most one cluster, each cluster one run.
        run = np.cumsum(reach > scale)
        clusters_of_run = {}
        for r, label in zip(run[core], labels[core], strict=True):
            clusters_of_run.setdefault(r, set()).add(label)
        assert all(len(c) == 1 for c in clusters_of_run.values())
        runs_of_cluster = {}
        for r, label in zip(run[core], labels[core], strict=True):
            runs_of_cluster.setdefault(label, set()).add(r)
        assert all(len(r) == 1 for r in runs_of_cluster.values())


# ---------------------------------------------------------------------------
# Radar: the far echoes whole

def test_radar_far_echoes_whole_where_sklearn_breaks_them():
    from gridscan.radar import make_radar_scan, ppi_features

    points, truth = make_radar_scan(n_gates=1000, random_state=0)
    X = ppi_features(points)                       # x, y, ground range (km)
    beam = np.radians(points.ray_spacing)
    # Across the beam 1.5 beam widths (a radius growing with range), along it a
    # window of 1.5 gates: the gate lattice looks the same at every range.
    model = RangeEps(base=[1.5 * beam, 1.5 * beam, 1.5 * points.gate_spacing],
                     range_feature=2, power=[1.0, 1.0, 0.0])
    ours = GridHDBSCAN(min_cluster_size=30, min_samples=8, eps=model,
                       window_features=[2]).fit_predict(X)
    theirs = HDBSCAN(min_cluster_size=30, min_samples=8, copy=True).fit_predict(X[:, :2])
    ours_ari = adjusted_rand_score(truth, ours)
    theirs_ari = adjusted_rand_score(truth, theirs)
    print(f"adjusted Rand index: GridHDBSCAN {ours_ari:.3f}, sklearn HDBSCAN {theirs_ari:.3f}")
    assert ours_ari > 0.95 and theirs_ari < 0.9
    far = [e for e in np.unique(truth[truth >= 0]) if np.median(X[truth == e, 2]) > 120]
    assert len(far) >= 5
    for echo in far:
        inside = truth == echo
        assert np.unique(ours[inside & (ours >= 0)]).shape[0] == 1, echo
        assert np.mean(ours[inside] >= 0) > 0.95
    broken = [e for e in far if np.unique(theirs[(truth == e) & (theirs >= 0)]).shape[0] > 1
              or np.mean(theirs[truth == e] >= 0) < 0.5]
    assert len(broken) >= 3


# ---------------------------------------------------------------------------
# Plots, rendered to PNG

DPI = 100


def render(tmp_path, draw, size=(6.0, 4.0)):
    figure = Figure(figsize=size, dpi=DPI)
    ax = figure.add_subplot()
    draw(ax)
    path = tmp_path / "plot.png"
    figure.savefig(path)
    return ax, mpimg.imread(path)[..., :3]


def pixels_of(image, color):
    return np.all(np.abs(image - np.asarray(to_rgb(color))) <= 0.6 / 255, axis=-1)


def test_k_distance_png(tmp_path, rng):
    X = blobs(rng, 300)
    distances = k_distance(X, 5)
    ax, image = render(tmp_path, lambda ax: plot_k_distance(distances, ax=ax, scale=0.5, k=5))
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_ydata(), np.sort(distances)[::-1])
    assert pixels_of(image, "#1f77b4").sum() > 100          # the curve
    assert pixels_of(image, SCALE_COLOR).sum() > 50         # the scale line
    share = np.mean(distances <= 0.5)
    assert ax.get_legend().get_texts()[0].get_text() == f"scale 0.5: {share:.0%} core points"
    with pytest.raises(ValueError, match="distances must be a 1-D array; got shape"):
        plot_k_distance(np.zeros((3, 2)))


def test_reachability_png_shows_the_clusters(tmp_path, rng):
    X = np.vstack([rng.normal(0, 0.3, (150, 2)), rng.normal(4, 0.3, (150, 2)),
                   rng.uniform(-3, 7, (40, 2))])
    model = GridHDBSCAN(min_cluster_size=20, min_samples=5).fit(X)
    ax, image = render(tmp_path, lambda ax: plot_reachability(model, ax=ax))
    assert len(ax.patches) == X.shape[0]
    palette = cluster_colors(np.arange(18))[:, :3]
    n_clusters = model.labels_.max() + 1
    assert n_clusters == 2
    for label in range(n_clusters):
        assert pixels_of(image, palette[label]).sum() > 100, label
    order, reach = model.reachability()
    heights = np.array([patch.get_height() for patch in ax.patches])
    np.testing.assert_allclose(heights[1:], reach[1:])
    assert heights[0] == ax.get_ylim()[1]                    # the infinite first bar
    # With a scale: bars coloured by labels_at(scale), and the line drawn.
    ax, image = render(tmp_path, lambda ax: plot_reachability(model, ax=ax, scale=0.3))
    assert pixels_of(image, SCALE_COLOR).sum() > 50
    colors = np.array([patch.get_facecolor() for patch in ax.patches])
    np.testing.assert_allclose(colors, cluster_colors(model.labels_at(0.3)[order]))
