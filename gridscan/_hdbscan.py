"""GridHDBSCAN: the density hierarchy of every scale of a per-point eps, and k-distances.

The definition is docs/hierarchy.rst; the compiled searches are in
_hdbscan_inner.pyx. Condensing the tree and choosing its clusters are
scikit-learn's own routines (sklearn.cluster._hdbscan), so that a scalar eps of
1 gives scikit-learn's HDBSCAN result.
"""

from numbers import Integral, Real

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gridscan._ball_tree import BallTree
from gridscan._dbscan import GridDBSCAN
from gridscan._hdbscan_inner import Searcher, adjacency, prim_order
from gridscan._index_choice import eps_by_position
from gridscan._range_eps import RangeEps
from gridscan._validation import (
    METRIC_ALIASES,
    check_points,
    check_span,
    effective_n_threads,
    resolve_metric,
    window_mask,
)


def _eps_helper(eps, metric, p, window_features, feature_names=None, periods=None):
    """A GridDBSCAN whose eps validation, periods and eps tables the hierarchy shares."""
    helper = GridDBSCAN(eps=eps, metric=metric, p=p, window_features=window_features,
                        periods=periods)
    if feature_names is not None:
        helper.feature_names_in_ = feature_names
    return helper


def _searcher(X, eps_table, metric, p, window, leaf_size, n_jobs, periods=None):
    """A compiled Searcher over a ball tree of X with eps rows eps_table (row order).

    ``periods`` ((d,) float64 or None) makes features periodic; X is wrapped by the tree.
    """
    n_threads = effective_n_threads(n_jobs)
    tree = BallTree(X, leaf_size, metric, p, window_features=np.flatnonzero(window),
                    periods=periods, n_jobs=n_jobs)
    return Searcher(tree, eps_by_position(tree, eps_table, n_threads))


def _check_weights(sample_weight, X):
    """Sample weights as float64 (n,), or None; negative weights are refused."""
    if sample_weight is None:
        return None
    n = X.shape[0]
    shape = np.asarray(sample_weight).shape
    if shape not in ((), (n,)):
        raise ValueError(f"sample_weight has shape {shape}; expected ({n},)")
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if (weights < 0).any():
        row = int(np.flatnonzero(weights < 0)[0])
        raise ValueError(
            "sample_weight must be >= 0 for a hierarchy (a negative weight would make a "
            "point stop being core as the scale grows); got "
            f"sample_weight[{row}] = {float(weights[row])!r}")
    return weights


def _check_scale(scale, max_scale, name="scale"):
    """A float scale in (0, max_scale]."""
    if isinstance(scale, bool) or not isinstance(scale, Real) or not (
            0 < scale <= max_scale and np.isfinite(scale)):
        raise ValueError(f"{name} must be a finite number in (0, max_scale={max_scale!r}]; "
                         f"got {scale!r}")
    return float(scale)


class GridHDBSCAN(ClusterMixin, BaseEstimator):
    """HDBSCAN over the scale of a per-point, per-feature eps: every DBSCAN partition at once.

    Every point's eps (a float, one radius per feature, a :class:`RangeEps`
    model or ``sample_eps``) is multiplied by one scale ``s > 0``. The scaled
    distance ``delta(p, q)`` is the smallest scale at which p and q are
    neighbours under the union rule; the core scale ``c(p)`` the smallest at
    which p is a core point; the mutual reachability
    ``max(c(p), c(q), delta(p, q))`` is clustered as in HDBSCAN. With a
    scalar ``eps`` of 1, ``delta`` is the plain distance and the result is
    scikit-learn's :class:`~sklearn.cluster.HDBSCAN`. ``labels_at(s)`` gives
    the DBSCAN partition at any scale up to ``max_scale`` without a refit,
    label for label that of :class:`GridDBSCAN` with every eps multiplied by s.

    Parameters
    ----------
    min_cluster_size : int, default=5
        Smallest number of points a cluster of the condensed tree may have.
    min_samples : int, default=None
        Weight (count, with unit weights) a point's neighbourhood, the point
        itself included, must reach for the point to be core, as in
        :class:`GridDBSCAN` and scikit-learn's HDBSCAN. None means
        ``min_cluster_size``.
    eps : float, array-like of shape (n_features,) or RangeEps, default=1.0
        The neighbourhood at scale 1: the same radius for all points and
        features, one per feature, or an eps model evaluated on the data.
        Overridden by ``sample_eps`` in ``fit``.
    max_scale : float, default=inf
        Largest scale of the hierarchy. Edges of mutual reachability above it
        are left out (the tree becomes a forest, joined at an infinite
        distance), which bounds the searches; ``labels_at`` accepts scales up
        to it.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski"}, default="euclidean"
        Compiled metric; "l2", "l1", "cityblock" and "infinity" are aliases.
    p : float, default=None
        Minkowski power (>= 1); None means 2. Only metric="minkowski" reads it:
        with another metric any p >= 0 is accepted, as in scikit-learn.
    window_features : int, str or sequence of them, default=None
        Features outside the norm, each bounded on its own; in the scaled
        distance each counts as ``|X[q, t] - X[p, t]| / eps[p, t]``.
    periods : sequence or dict, default=None
        Period of each feature (None or 0 for an ordinary one), as in
        :class:`GridDBSCAN`: differences along a periodic feature are the
        minimum image.
    neighbors : {"union"}, default="union"
        The neighbour rule. The hierarchy needs a symmetric relation, so only
        the union rule is available; "query" is refused with a ValueError.
    cluster_selection_method : {"eom", "leaf"}, default="eom"
        How clusters are chosen from the condensed tree (as in scikit-learn).
    cluster_selection_epsilon : float, default=0.0
        Clusters split below this scale are merged (as in scikit-learn, where
        it is a distance).
    allow_single_cluster : bool, default=False
        Whether the whole data may be one cluster.
    algorithm : {"auto", "ball_tree", "brute"}, default="auto"
        "ball_tree" (and "auto") searches a ball tree; "brute" compares every
        pair (one leaf holding every point). Both give the same result.
    leaf_size : int, default=40
        Leaf size of the ball tree.
    n_jobs : int, default=None
        OpenMP threads; None uses OMP_NUM_THREADS or all cores, -1 all cores.
        The result never depends on it.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each point in the selected clusters (scikit-learn's
        numbering); -1 for noise.
    probabilities_ : ndarray of shape (n_samples,)
        Strength of each point's membership of its cluster, in [0, 1].
    core_scales_ : ndarray of shape (n_samples,)
        Core scale of every point (inf when above ``max_scale``).
    minimum_spanning_tree_ : ndarray of shape (n_edges, 3)
        The edges of the minimum spanning forest of mutual reachability with
        weight at most ``max_scale``, as rows ``(parent, child, weight)`` (point
        indices as floats) in the order Prim's algorithm adds them from point 0
        (see ``reachability``).
    single_linkage_tree_ : ndarray of shape (n_samples - 1,)
        The single-linkage tree in scikit-learn's format (fields
        ``left_node``, ``right_node``, ``value``, ``cluster_size``); the
        components of the forest are joined at an infinite value.
    condensed_tree_ : ndarray
        The condensed tree in scikit-learn's format (fields ``parent``,
        ``child``, ``value`` = 1 / scale, ``cluster_size``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names seen during fit, when X was a DataFrame with string names.

    See Also
    --------
    sklearn.cluster.HDBSCAN : the reference for a scalar eps of 1.
    GridDBSCAN : one scale; ``labels_at(s)`` reproduces it.
    k_distance : each point's k-th smallest scaled distance.
    gridscan.plot.plot_reachability : the reachability plot of a fitted model.

    Notes
    -----
    The minimum spanning tree is built by Boruvka's algorithm on a ball tree
    whose nodes bound the scaled distance from below whatever the scale, with
    every pair decided by gridscan's compiled kernel; all pairs are never
    stored, and memory is O(n). The searches run without the GIL; the result
    does not depend on the number of threads. See docs/hierarchy.rst for the
    definition and for how ties at equal scales are ordered.

    Sample weights must be non-negative: a point's core scale is where the
    weight of its neighbourhood reaches ``min_samples``; ``min_cluster_size``
    counts points.

    References
    ----------
    Campello, Moulavi and Sander, "Density-based clustering based on
    hierarchical density estimates", PAKDD 2013.

    McInnes and Healy, "Accelerated hierarchical density based clustering",
    ICDMW 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan import GridHDBSCAN
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.3, (20, 2)), rng.normal(5, 0.3, (20, 2))])
    >>> model = GridHDBSCAN(min_cluster_size=5).fit(X)
    >>> np.bincount(model.labels_ + 1)
    array([ 0, 20, 20])
    >>> labels = model.labels_at(0.5)        # DBSCAN with eps=0.5, min_samples=5
    >>> sorted(set(labels.tolist()))
    [0, 1]
    >>> from gridscan import GridDBSCAN
    >>> bool((labels == GridDBSCAN(eps=0.5, min_samples=5).fit(X).labels_).all())
    True
    """

    _parameter_constraints: dict = {
        "min_cluster_size": [Interval(Integral, 2, None, closed="left")],
        "min_samples": [Interval(Integral, 1, None, closed="left"), None],
        "eps": [Interval(Real, 0.0, None, closed="neither"), "array-like", RangeEps],
        "max_scale": [Interval(Real, 0.0, np.inf, closed="right")],
        "metric": [StrOptions(set(METRIC_ALIASES))],
        # As in scikit-learn: any p >= 0 passes here, and only metric="minkowski" reads it
        # (resolve_metric refuses p < 1 there: below 1 it is not a norm).
        "p": [Interval(Real, 0.0, None, closed="left"), None],
        "window_features": ["array-like", Integral, str, None],
        "periods": ["array-like", dict, None],
        "neighbors": [StrOptions({"union", "query"})],
        "cluster_selection_method": [StrOptions({"eom", "leaf"})],
        "cluster_selection_epsilon": [Interval(Real, 0.0, None, closed="left")],
        "allow_single_cluster": ["boolean"],
        "algorithm": [StrOptions({"auto", "ball_tree", "brute"})],
        "leaf_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        min_cluster_size=5,
        min_samples=None,
        *,
        eps=1.0,
        max_scale=np.inf,
        metric="euclidean",
        p=None,
        window_features=None,
        periods=None,
        neighbors="union",
        cluster_selection_method="eom",
        cluster_selection_epsilon=0.0,
        allow_single_cluster=False,
        algorithm="auto",
        leaf_size=40,
        n_jobs=None,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.eps = eps
        self.max_scale = max_scale
        self.metric = metric
        self.p = p
        self.window_features = window_features
        self.periods = periods
        self.neighbors = neighbors
        self.cluster_selection_method = cluster_selection_method
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.allow_single_cluster = allow_single_cluster
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, sample_eps=None):
        """Build the hierarchy of X and select its clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points. float32 input is kept in float32; distances are computed in double.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each point in its neighbours' counts.
        sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
            Explicit eps of every point at scale 1; overrides ``eps``.

        Returns
        -------
        self : GridHDBSCAN
            The fitted estimator.
        """
        if self.neighbors != "union":
            # docs/hierarchy.rst, section "The scaled distance".
            raise ValueError(
                f"neighbors={self.neighbors!r} is not available for a hierarchy: the query "
                "rule is not symmetric (q may see p while p does not see q), so it has no "
                "single scale at which two points meet; use neighbors='union'")
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        check_span(X)
        n = X.shape[0]
        n_threads = effective_n_threads(self.n_jobs)
        metric, p = resolve_metric(self.metric, self.p)
        names = getattr(self, "feature_names_in_", None)
        window = window_mask(self.window_features, X.shape[1], names)
        helper = _eps_helper(self.eps, self.metric, self.p, self.window_features, names,
                             self.periods)
        space = helper._space(X.shape[1])
        periods = space.feature_periods
        # An eps model reads periodic features as the neighbourhood does: wrapped.
        eps_table, _ = helper._eps_table(space.wrap(X), sample_eps)
        weights = _check_weights(sample_weight, X)
        min_samples = self.min_cluster_size if self.min_samples is None else self.min_samples
        max_scale = float(self.max_scale)

        leaf_size = max(n, 1) if self.algorithm == "brute" else self.leaf_size
        search = _searcher(X, eps_table, metric, p, window, leaf_size, self.n_jobs, periods)
        order = np.asarray(search.rows)
        core = search.core_scales(None if weights is None else weights[order],
                                  float(min_samples), max_scale, n_threads)
        a, b, m = search.spanning_tree(max_scale, n_threads)
        core_scales = np.empty(n)
        core_scales[order] = core
        # Prim's order over the tree and every edge that can tie with it: the
        # order, orientation and tie rules of scikit-learn's HDBSCAN
        # (docs/hierarchy.rst, section "Clusters of the hierarchy", "Equal weights").
        ta, tb, tm = search.core_ties(n_threads)
        source, new, weight = _prim(n, np.concatenate([a, ta]), np.concatenate([b, tb]),
                                    np.concatenate([m, tm]))
        finite = np.isfinite(weight)
        self.core_scales_ = core_scales
        self.minimum_spanning_tree_ = np.column_stack(
            [source[finite], new[finite], weight[finite]]).astype(np.float64).reshape(-1, 3)
        self._prim_edges = (source, new, weight)
        self._fit_X = X.copy()        # labels_at rebuilds its index from it after unpickling
        self._eps_table_rows = eps_table
        self._searcher = search
        self._select_clusters()
        return self

    def _select_clusters(self):
        """single_linkage_tree_, condensed_tree_, labels_ and probabilities_ from the tree."""
        from sklearn.cluster._hdbscan._linkage import MST_edge_dtype
        from sklearn.cluster._hdbscan._tree import CONDENSED_dtype, _condense_tree, tree_to_labels
        from sklearn.cluster._hdbscan.hdbscan import _process_mst

        source, new, weight = self._prim_edges
        n = self.core_scales_.shape[0]
        mst = np.empty(max(n - 1, 0), dtype=MST_edge_dtype)
        mst["current_node"] = source
        mst["next_node"] = new
        mst["distance"] = weight
        # scikit-learn's own sort of the edges and single-linkage tree.
        self.single_linkage_tree_ = _process_mst(mst)
        if n < 2:
            self.condensed_tree_ = np.empty(0, dtype=CONDENSED_dtype)
            self.labels_ = np.full(n, -1, dtype=np.intp)
            self.probabilities_ = np.zeros(n)
            return
        self.condensed_tree_ = _condense_tree(self.single_linkage_tree_, self.min_cluster_size)
        labels, probabilities = tree_to_labels(
            self.single_linkage_tree_, self.min_cluster_size, self.cluster_selection_method,
            self.allow_single_cluster, float(self.cluster_selection_epsilon), None)
        self.labels_ = np.asarray(labels, dtype=np.intp)
        self.probabilities_ = np.asarray(probabilities, dtype=np.float64)

    def fit_predict(self, X, y=None, sample_weight=None, sample_eps=None):
        """Fit and return ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each point.
        sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
            Explicit eps of every point at scale 1.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels; -1 for noise.
        """
        return self.fit(X, sample_weight=sample_weight, sample_eps=sample_eps).labels_

    def labels_at(self, scale):
        """The DBSCAN partition at ``scale``, borders included, without refitting.

        Equal, label for label, to ``GridDBSCAN(min_samples=min_samples,
        neighbors="union")`` fitted on the same data and weights with every eps
        multiplied by ``scale`` (for a float or per-feature ``eps``,
        ``eps=eps * scale``; otherwise ``sample_eps`` = the eps rows times
        ``scale``): clusters numbered by their smallest core point, a border
        point taking the smallest label among the core points that reach it.

        Parameters
        ----------
        scale : float
            A scale in (0, max_scale].

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels; -1 for noise.
        """
        # docs/hierarchy.rst, section "DBSCAN at any scale: labels_at".
        check_is_fitted(self, "core_scales_")
        scale = _check_scale(scale, float(self.max_scale))
        n = self.core_scales_.shape[0]
        core = self.core_scales_ <= scale
        edges = self.minimum_spanning_tree_
        keep = edges[:, 2] <= scale
        a = edges[keep, 0].astype(np.intp)
        b = edges[keep, 1].astype(np.intp)
        _, comp = connected_components(
            coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(n, n)), directed=False)
        core_rows = np.flatnonzero(core)
        labels = np.full(n, -1, dtype=np.intp)
        if core_rows.shape[0]:
            # Clusters numbered by their smallest core row (core_rows ascend).
            seen, first = np.unique(comp[core_rows], return_index=True)
            rank = np.empty(seen.shape[0], dtype=np.intp)
            rank[np.argsort(first)] = np.arange(seen.shape[0])
            labels[core_rows] = rank[np.searchsorted(seen, comp[core_rows])]
        if core_rows.shape[0] == 0 or core_rows.shape[0] == n:
            return labels
        search = self._search()
        order = np.asarray(search.rows)
        by_position = search.border_labels(scale, labels[order],
                                           effective_n_threads(self.n_jobs))
        labels[order] = by_position
        return labels

    def _search(self):
        """The compiled Searcher of the fit (rebuilt after unpickling)."""
        search = getattr(self, "_searcher", None)
        if search is None:
            metric, p = resolve_metric(self.metric, self.p)
            X = self._fit_X
            window = window_mask(self.window_features, X.shape[1],
                                 getattr(self, "feature_names_in_", None))
            leaf_size = max(X.shape[0], 1) if self.algorithm == "brute" else self.leaf_size
            periods = _eps_helper(self.eps, self.metric, self.p, self.window_features,
                                  getattr(self, "feature_names_in_", None),
                                  self.periods)._space(X.shape[1]).feature_periods
            search = _searcher(X, self._eps_table_rows, metric, p, window, leaf_size,
                               self.n_jobs, periods)
            search.set_core(self.core_scales_[np.asarray(search.rows)])
            self._searcher = search
        return search

    def reachability(self):
        """An OPTICS-style ordering of the points and their reachability scales.

        The points are visited as Prim's algorithm visits the minimum spanning
        tree from point 0, always taking the smallest edge out of the visited
        set: each point's reachability is the weight of the edge that reached
        it (inf for the first point of the tree and of each component of the
        forest). Valleys of the plot are clusters; a horizontal line at scale
        ``s`` cuts it into the core points' clusters of ``labels_at(s)``.

        Returns
        -------
        order : ndarray of shape (n_samples,)
            Points in visiting order.
        reachability : ndarray of shape (n_samples,)
            Reachability scale of ``order[i]``.
        """
        check_is_fitted(self, "core_scales_")
        _, new, weight = self._prim_edges
        n = self.core_scales_.shape[0]
        order = np.concatenate([np.zeros(min(n, 1), dtype=np.intp), new])
        reachability = np.concatenate([np.full(min(n, 1), np.inf), weight])
        return order, reachability

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_searcher", None)     # compiled; labels_at rebuilds it
        return state


def _prim(n, a, b, m):
    """Prim's order (source, new, weight) over the undirected edges (a, b, m)."""
    return prim_order(n, *adjacency(n, np.ascontiguousarray(a, dtype=np.intp),
                                    np.ascontiguousarray(b, dtype=np.intp),
                                    np.ascontiguousarray(m, dtype=np.float64)))


def k_distance(X, k, *, eps=1.0, sample_eps=None, metric="euclidean", p=None,
               window_features=None, periods=None, n_jobs=None):
    """Each point's k-th smallest scaled distance, the point itself counted.

    ``k_distance(X, k, eps=...)[i]`` is the smallest scale s at which point i
    has k neighbours (itself included) under the union rule with every eps
    multiplied by s: the scale at which it becomes a core point of
    ``GridDBSCAN(eps * s, min_samples=k)``, and its core scale in
    ``GridHDBSCAN(min_samples=k, eps=eps)``. Sorted and plotted
    (:func:`gridscan.plot.plot_k_distance`), its knee suggests a scale.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    k : int
        Neighbours counted, the point itself included (1 <= k <= n_samples).
    eps : float, array-like of shape (n_features,) or RangeEps, default=1.0
        The neighbourhood at scale 1, as in :class:`GridDBSCAN`.
    sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
        Explicit eps of every point; overrides ``eps``.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski"}, default="euclidean"
        Compiled metric.
    p : float, default=None
        Minkowski power (>= 1); None means 2.
    window_features : int, str or sequence of them, default=None
        Features outside the norm, each bounded on its own.
    periods : sequence or dict, default=None
        Period of each feature (None or 0 for an ordinary one), as in
        :class:`GridDBSCAN`.
    n_jobs : int, default=None
        OpenMP threads; the result does not depend on it.

    Returns
    -------
    distances : ndarray of shape (n_samples,)
        The k-th smallest scaled distance of every point.

    See Also
    --------
    GridHDBSCAN : ``core_scales_`` are these distances for ``k = min_samples``.
    gridscan.plot.plot_k_distance : the sorted k-distance plot.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan import k_distance
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> k_distance(X, 2)
    array([1., 1., 2., 4.])
    >>> k_distance(X, 2, eps=0.5)          # distances in units of eps
    array([2., 2., 4., 8.])
    """
    X = check_points(X)
    check_span(X)
    n = X.shape[0]
    if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in [1, {n}] (the number of points); got {k!r}")
    metric_name, power = resolve_metric(metric, p)
    window = window_mask(window_features, X.shape[1])
    helper = _eps_helper(eps, metric, p, window_features, periods=periods)
    space = helper._space(X.shape[1])
    eps_table, _ = helper._eps_table(space.wrap(X), sample_eps)
    search = _searcher(X, eps_table, metric_name, power, window, 40, n_jobs,
                       space.feature_periods)
    scales = search.core_scales(None, float(k), np.inf, effective_n_threads(n_jobs))
    out = np.empty(n)
    out[np.asarray(search.rows)] = scales
    return out
