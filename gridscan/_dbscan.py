"""GridDBSCAN: exact DBSCAN with compiled per-point, per-feature eps."""

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gridscan._arrays import distinct_rows, take_rows
from gridscan._core import fit_core, predict_core, to_row_order
from gridscan._eps_model import lattice_counts
from gridscan._index_choice import build_index, eps_by_position
from gridscan._lattice import LatticeIndex
from gridscan._prediction_cache import PredictionCache
from gridscan._range_eps import RangeEps
from gridscan._space import FeatureSpace
from gridscan._validation import (
    METRIC_ALIASES,
    check_span,
    effective_n_threads,
    eps_rows,
    resolve_metric,
)


class DataChoices(NamedTuple):
    """Choices of a fit that depend on every row of X.

    A fit makes them from its X. gridscan.dask makes them per chunk,
    combines them, and gives them to the plan of every block, so that a
    block chooses as a fit of the whole data does.
    """
    eps_columns: int        # 1 when every row's radii are equal across features, else d
    lattice_shape: object   # (d,) intp lattice bounds of pts_ratio, or None

    @classmethod
    def combine(cls, parts):
        """The choices for all the rows of ``parts``: the rows' radii collapse into one
        column only if they do in every part; the default lattice bounds are the largest."""
        shapes = [part.lattice_shape for part in parts if part.lattice_shape is not None]
        return cls(eps_columns=max(part.eps_columns for part in parts),
                   lattice_shape=np.max(shapes, axis=0) if shapes else None)


class FitPlan(NamedTuple):
    """What a fit decides before it builds an index (GridDBSCAN._fit_plan)."""
    eps_table: np.ndarray   # (1 or n, 1 or d) float64 radii by row (eps_rows)
    eps_source: str         # "sample", "model" or "constant"
    weights: object         # (n,) float64 sample weights by row, or None
    union_rule: bool        # neighbors="union" with a per-point eps: differs from "query"
    choices: DataChoices


def distinct_points(X, eps_table):
    """(first, group) of the distinct points of X with their eps rows (see distinct_rows).

    None when every row is distinct, and also when no two of DUPLICATE_SAMPLE
    rows drawn at random are alike: by the birthday bound such a sample finds
    duplicates whenever each point has more than a few copies on average, the
    only case where collapsing them saves much.
    """
    n = X.shape[0]
    if n > DUPLICATE_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(n, DUPLICATE_SAMPLE, replace=False))
        sample_table = eps_table if eps_table.shape[0] == 1 else eps_table[rows]
        if distinct_rows(X[rows], sample_table)[0].shape[0] == DUPLICATE_SAMPLE:
            return None
    first, group = distinct_rows(X, eps_table)
    return None if first.shape[0] == n else (first, group)


class _CoreInputs(NamedTuple):
    index: object          # SpatialIndex over the points
    eps: object            # EpsRows by position (or shared)
    weights: object        # (n,) sample weights by position, or None
    min_weight: object     # (n,) or (1,) minimum weight of a core point's neighbourhood
    union_rule: bool       # the union rule is in force and differs from the query rule


# Rows sampled to decide whether duplicate points are worth collapsing.
DUPLICATE_SAMPLE = 8192

class GridDBSCAN(PredictionCache, ClusterMixin, BaseEstimator):
    """DBSCAN with a compiled, per-point and per-feature neighbourhood.

    With a scalar ``eps`` the result equals scikit-learn's ``DBSCAN`` label for
    label. ``eps`` may also be one radius per feature (an axis-aligned
    ellipsoid), a :class:`RangeEps` model whose radii follow a range feature
    (the radar case), or an explicit per-point ``sample_eps`` given to ``fit``.
    Every neighbourhood test runs in compiled code without the GIL, and memory
    stays O(n): neighbourhoods are never stored.

    Parameters
    ----------
    eps : float, array-like of shape (n_features,) or RangeEps, default=0.5
        Neighbourhood radius: the same for all points and features, one per
        feature, or an eps model evaluated on the data. Overridden by
        ``sample_eps`` in ``fit``.
    min_samples : int, default=5
        Weight (count, with unit weights) a point's neighbourhood, the point
        itself included, must reach for the point to be a core point.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski", "haversine"}, \
            default="euclidean"
        Compiled metric; "l2", "l1", "cityblock" and "infinity" are aliases.
        "haversine" is scikit-learn's: the two features other than the window
        features are latitude and longitude in radians, the distance is the
        great-circle angle, and eps is an angle (one per point; a per-feature
        eps must give latitude and longitude the same one).
    p : float, default=None
        Minkowski power (>= 1); None means 2. Only metric="minkowski" reads it:
        with another metric any p >= 0 is accepted, as in scikit-learn.
    window_features : int, str or sequence of them, default=None
        Features outside the norm, each bounded on its own
        (``|X[q, t] - X[p, t]| <= eps[p, t]``), as time in ST-DBSCAN.
    periods : sequence or dict, default=None
        Period of each feature (None or 0 for an ordinary one), or a dict from
        feature index or column name to period, for example ``[None, 360.0]``
        for (range, azimuth in degrees). Values of a periodic feature are taken
        modulo its period, and two values differ by the minimum image
        ``min(|d| mod P, P - |d| mod P)``: azimuth 359.5 and 0.5 are 1 apart.
        An eps of P/2 or more reaches every value of that feature. Not with
        ``pts_ratio`` (its lattice does not wrap; GBDSCAN has
        ``periodic_beams``).
    neighbors : {"union", "query"}, default="union"
        ``"query"``: N(p) holds the points inside p's neighbourhood.
        ``"union"``: N(p) also holds the points whose own neighbourhood holds
        p (a symmetric relation). Both are the same for a constant eps.
    pts_ratio : float in (0, 1], default=None
        Adaptive minimum (GBDSCAN): p is core when the weight of N(p) reaches
        ``pts_ratio * P(p)``, P(p) being the number of integer lattice cells in
        p's neighbourhood inside ``grid_shape``. Replaces ``min_samples``.
    grid_shape : array-like of int of shape (n_features,), default=None
        Lattice bounds for ``pts_ratio``: cell k runs from 0 to
        ``grid_shape[k] - 1``. None takes ``X.max(axis=0) + 1``.
    algorithm : {"auto", "ball_tree", "grid", "brute"}, default="auto"
        Neighbour search: a ball tree; a grid (for integer data a lattice index
        with per-eps stencils when eps spans few cells and the lattice is dense,
        otherwise cell lists, for up to 8 features); or all pairs. "auto" takes "brute" for at most
        64 points, the lattice for integer data with up to 4 features and eps
        of at most 8 cells, the cell grid (from 4 features on with a tree over
        its cells) for up to 8 features unless the data span more than about
        2**48 eps or the largest eps is far above the median one, else
        "ball_tree".
        Every choice gives the same labels, whatever the data's span and eps.
    leaf_size : int, default=40
        Leaf size of the ball tree.
    n_jobs : int, default=None
        OpenMP threads; None uses OMP_NUM_THREADS or all cores, -1 all cores;
        never more than the CPUs available, nor than one per 25,000 points.
        The labels never depend on it.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each point, numbered 0, 1, ... in the order of each
        cluster's smallest core point index; -1 for noise.
    core_sample_indices_ : ndarray of shape (n_core_samples,)
        Indices of the core points, ascending.
    components_ : ndarray of shape (n_core_samples, n_features)
        Copy of each core point.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names seen during fit, when X was a DataFrame with string names.

    See Also
    --------
    sklearn.cluster.DBSCAN : the reference for a constant eps.
    GBDSCAN : grid-based DBSCAN for radar gate/beam/scan cells.
    RangeEps : range-dependent eps model.
    BallTree : the index used for the neighbour searches.

    Notes
    -----
    Clusters are the connected components of the core points, with an edge
    between p and q when q is in N(p) or p is in N(q). A non-core point in the
    neighbourhood of some core point takes the smallest label among those;
    every other point is noise. These rules do not depend on the input order
    beyond the numbering, nor on the number of threads.

    Memory is O(n) and does not grow with the number of neighbours:
    neighbourhoods are never stored. Beyond the input, a fit of 2-D float64
    points peaks at about 140 bytes per point with ``algorithm="grid"``
    (180 to 200 with a per-point eps) and 50 with ``"ball_tree"`` (125), at
    200,000 as at 2,000,000 points (``benchmarks/memory_per_point.py``). An
    allocation that fails raises MemoryError.

    Fits release the GIL: several fits (of different estimators) may run in
    Python threads at once, and so may ``predict`` on one fitted estimator.
    Ctrl-C stops a fit within a fraction of a second.

    References
    ----------
    Ester, Kriegel, Sander and Xu, "A density-based algorithm for discovering
    clusters in large spatial databases with noise", KDD 1996.

    Kellner, Klappstein and Dietmayer, "Grid-based DBSCAN for clustering
    extended objects in radar data", IEEE Intelligent Vehicles Symposium 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan import GridDBSCAN, RangeEps
    >>> X = np.array([[1, 2], [2, 2], [2, 3], [8, 7], [8, 8], [25, 80]])
    >>> GridDBSCAN(eps=3, min_samples=2).fit(X).labels_
    array([ 0,  0,  0,  1,  1, -1])

    A radius that grows with the first feature (range):

    >>> model = RangeEps(base=0.2, range_feature=0, power=1.0)
    >>> GridDBSCAN(eps=model, min_samples=2).fit_predict(X)
    array([-1, -1, -1,  0,  0, -1])
    """

    _parameter_constraints: dict = {
        "eps": [Interval(Real, 0.0, None, closed="neither"), "array-like", RangeEps],
        "min_samples": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions(set(METRIC_ALIASES) | {"haversine"})],
        # As in scikit-learn: any p >= 0 passes here, and only metric="minkowski" reads it
        # (resolve_metric refuses p < 1 there: below 1 it is not a norm).
        "p": [Interval(Real, 0.0, None, closed="left"), None],
        "window_features": ["array-like", Integral, str, None],
        "periods": ["array-like", dict, None],
        "neighbors": [StrOptions({"union", "query"})],
        "pts_ratio": [Interval(Real, 0.0, 1.0, closed="right"), None],
        "grid_shape": ["array-like", None],
        "algorithm": [StrOptions({"auto", "ball_tree", "grid", "brute"})],
        "leaf_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        eps=0.5,
        min_samples=5,
        *,
        metric="euclidean",
        p=None,
        window_features=None,
        periods=None,
        neighbors="union",
        pts_ratio=None,
        grid_shape=None,
        algorithm="auto",
        leaf_size=40,
        n_jobs=None,
    ):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.p = p
        self.window_features = window_features
        self.periods = periods
        self.neighbors = neighbors
        self.pts_ratio = pts_ratio
        self.grid_shape = grid_shape
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, sample_eps=None):
        """Cluster X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points. float32 input is kept in float32; distances are computed in double.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each point in its neighbours' counts (may be negative, as
            in scikit-learn, to keep a neighbour from being core).
        sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
            Explicit eps of every point (one radius, or one per feature);
            overrides ``eps``.

        Returns
        -------
        self : GridDBSCAN
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        check_span(X)
        n_threads = effective_n_threads(self.n_jobs, X.shape[0])
        wrapped = self._space(X.shape[1]).wrap(X)
        plan = self._fit_plan(wrapped, sample_weight, sample_eps)
        # Identical points (and eps rows) have the same neighbourhood and label:
        # they are clustered as one point whose weight is the sum of theirs.
        distinct = distinct_points(wrapped, plan.eps_table)
        if distinct is None:
            job = self._prepare(wrapped, plan, n_threads)
        else:
            first, group = distinct
            weights = np.bincount(group, weights=plan.weights, minlength=first.shape[0])
            table = plan.eps_table
            collapsed = plan._replace(
                eps_table=table if table.shape[0] == 1 else take_rows(table, first),
                weights=weights.astype(np.float64))
            job = self._prepare(take_rows(wrapped, first, n_threads), collapsed, n_threads)
        is_core, labels = fit_core(job.index, job.eps, job.weights, job.min_weight,
                                   job.union_rule, n_threads)
        # Only the index's order is needed from here on: the rest of the index (its
        # points and search structures, up to half the fit's memory) goes before the
        # labels are put in row order and the core points copied.
        order = job.index.order
        del job
        self.labels_, core_mask = to_row_order(order, labels, is_core, n_threads)
        del order, labels, is_core
        if distinct is not None:
            self.labels_ = take_rows(self.labels_, group, n_threads)
            core_mask = take_rows(core_mask, group, n_threads)
        self.core_sample_indices_ = np.flatnonzero(core_mask)
        self.components_ = take_rows(X, self.core_sample_indices_, n_threads)
        self._eps_table_rows = plan.eps_table     # for predict: the core points' rows
        self._eps_source = plan.eps_source
        self._union_rule = plan.union_rule
        self._predict_index = None
        return self

    def fit_predict(self, X, y=None, sample_weight=None, sample_eps=None):
        """Cluster X and return the labels (``fit(X).labels_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each point.
        sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
            Explicit eps of every point.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels; -1 for noise.
        """
        return self.fit(X, sample_weight=sample_weight, sample_eps=sample_eps).labels_

    def predict(self, X, sample_eps=None):
        """Label new points by the clusters of the core points whose neighbourhood holds them.

        A point takes the smallest label among the clusters with a core point c
        such that the point lies in N(c), else -1; ``predict(X_train)``
        reproduces ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New points.
        sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
            Eps of the new points. Needed with ``neighbors="union"`` when the
            model was fitted with ``sample_eps`` (an eps model supplies it
            otherwise); not used by the "query" rule.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels; -1 for noise.
        """
        check_is_fitted(self, "labels_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32], order="C",
                          ensure_min_samples=0)
        n = X.shape[0]
        if n == 0:
            return np.empty(0, dtype=np.intp)
        space = self._space(X.shape[1])
        X = space.wrap(X)
        query_table = None
        if sample_eps is not None:
            metric, p = resolve_metric(self.metric, self.p, spherical=True)
            query_table = eps_rows(sample_eps, n_rows=n, n_features=X.shape[1],
                                   name="sample_eps", forms=("rows", "rows_features"),
                                   metric=metric, p=p)
        elif self._union_rule and self._eps_source == "sample":
            raise ValueError(
                "predict needs sample_eps: the model was fitted with sample_eps and "
                "neighbors='union' also uses the new points' own eps")
        elif self._union_rule:
            query_table, _ = self._eps_table(X, None)
        if self.core_sample_indices_.shape[0] == 0:
            return np.full(n, -1, dtype=np.intp)
        index, core_eps, core_labels = self._prediction_data()
        query_eps = None if query_table is None else index.eps_rows(space.eps(query_table))
        return predict_core(index, core_eps, core_labels,
                            space.points(X).astype(np.float64, copy=False),
                            query_eps, self._union_rule, effective_n_threads(self.n_jobs, n))

    def _prediction_data(self):
        """Index over the core points, with their eps and labels by position (cached)."""
        prediction = self._predict_index
        if prediction is None:
            core = self.core_sample_indices_
            table = self._eps_table_rows
            core_table = table if table.shape[0] == 1 else table[core]
            # Identical core points (with identical eps) are one.
            core_points = self._space(self.n_features_in_).wrap(self.components_)
            first, _ = distinct_rows(core_points, core_table)
            index, core_eps, order = self._core_point_index(
                core_points[first].astype(np.float64),
                core_table if core_table.shape[0] == 1 else core_table[first])
            prediction = self._predict_index = (index, core_eps,
                                                self.labels_[core[first]][order])
        return prediction

    def _core_point_index(self, core_points, core_table):
        """(index, eps by position, order) over core points for predict_core.

        ``core_points`` (wrapped, see FeatureSpace) and ``core_table`` are in
        the estimator's features. The index is given its points' eps here, once
        (the union rule needs them even when they are all equal), so that
        predict_core only reads it and several threads may predict with it at
        once.
        """
        n_threads = effective_n_threads(self.n_jobs, core_points.shape[0])
        space = self._space(core_points.shape[1])
        core_points, core_table = space.points(core_points), space.eps(core_table)
        index = self._build_index(core_points, core_table, space=space)
        core_eps = eps_by_position(index, core_table, n_threads)
        index.set_point_eps(core_eps, n_threads=n_threads)
        return index, core_eps, np.asarray(index.order)

    def _check_params(self, n_features):
        """Reject the parameters that fit would reject for any X of n_features columns.

        gridscan.dask calls it before it reads any data; fit finds the same
        errors on its way (_fit_context, _fit_plan, _build_index).
        """
        self._validate_params()
        self._space(n_features)
        self._eps_table(np.empty((0, n_features)), None)

    def _fit_plan(self, X, sample_weight=None, sample_eps=None, choices=None):
        """The eps table, weights and rules of a fit of X, made once (a FitPlan).

        X is validated (validate_data) and wrapped (``_space(d).wrap``).
        ``choices`` are the DataChoices of
        the whole data when X holds only some of its rows (gridscan.dask):
        the eps table then has the whole data's columns, and the lattice the
        whole data's bounds. None makes them from X.
        """
        n, d = X.shape
        eps_table, eps_source = self._eps_table(X, sample_eps)
        if choices is not None and eps_table.shape[1] < choices.eps_columns:
            # Equal radii across features on these rows, but not on every row.
            eps_table = np.ascontiguousarray(np.broadcast_to(eps_table, (eps_table.shape[0], d)))
        if sample_weight is not None:
            shape = np.asarray(sample_weight).shape
            if shape not in ((), (n,)):
                raise ValueError(f"sample_weight has shape {shape}; expected ({n},)")
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        lattice_shape = None
        if self.pts_ratio is not None:
            lattice_shape = self._lattice_shape(
                X, None if choices is None else choices.lattice_shape)
        return FitPlan(
            eps_table=eps_table,
            eps_source=eps_source,
            weights=sample_weight,
            # With one eps for every point the relation is symmetric: "union" is "query".
            union_rule=self.neighbors == "union" and eps_source != "constant",
            choices=DataChoices(eps_columns=eps_table.shape[1], lattice_shape=lattice_shape),
        )

    def _prepare(self, X, plan, n_threads):
        """The index over X and the inputs of the core passes, by position.

        X and the FitPlan are in row order; the result holds the index, the eps
        rows, the weights and the minimum weights permuted into the index's
        order, and the plan's union rule.
        """
        shape = plan.choices.lattice_shape
        space = self._space(X.shape[1])
        points, table = space.points(X), space.eps(plan.eps_table)
        index = self._build_index(points, table, shape, space)
        eps = eps_by_position(index, table, n_threads)
        min_weight = self._min_weight(index, eps, shape, n_threads)
        return _CoreInputs(
            index=index,
            eps=eps,
            weights=None if plan.weights is None else plan.weights[index.order],
            min_weight=min_weight,
            union_rule=plan.union_rule,
        )

    def _space(self, n_features):
        """The FeatureSpace of the parameters (validated) for n_features columns."""
        space = FeatureSpace.of(self.metric, self.p, self.window_features, self.periods,
                                n_features, getattr(self, "feature_names_in_", None))
        if self.pts_ratio is not None and (space.sphere is not None
                                           or space.feature_periods is not None):
            raise ValueError(
                "pts_ratio counts the cells of a lattice that does not wrap, so it takes "
                f"neither periods nor metric='haversine'; got periods={self.periods!r}, "
                f"metric={self.metric!r} (for radar beams that wrap, GBDSCAN has "
                "periodic_beams=True)")
        return space

    def _build_index(self, X, eps_table, lattice_shape=None, space=None):
        """The neighbour index for X with eps rows eps_table (see build_index).

        X and eps_table are in the index's coordinates (``space``, the
        FeatureSpace of X's features; see _space). The lattice is bounded by
        ``lattice_shape`` (the pts_ratio grid) when given.
        """
        if space is None:
            space = self._space(X.shape[1])
        return build_index(X, eps_table, space, self.algorithm, leaf_size=self.leaf_size,
                           lattice_shape=lattice_shape,
                           n_threads=effective_n_threads(self.n_jobs, X.shape[0]))

    def _eps_table(self, X, sample_eps):
        """Eps rows of X and where they came from ("sample", "model" or "constant")."""
        n, d = X.shape
        metric, p = resolve_metric(self.metric, self.p, spherical=True)
        if sample_eps is not None:
            return eps_rows(sample_eps, n_rows=n, n_features=d, name="sample_eps",
                            forms=("rows", "rows_features"), metric=metric, p=p), "sample"
        if isinstance(self.eps, RangeEps):
            table = self.eps.evaluate(X, getattr(self, "feature_names_in_", None), self.n_jobs)
            return eps_rows(table, n_rows=n, n_features=d, name="eps",
                            forms=("rows_features",), metric=metric, p=p), "model"
        return eps_rows(self.eps, n_rows=n, n_features=d, name="eps",
                        forms=("scalar", "features"), metric=metric, p=p), "constant"

    def _min_weight(self, index, eps, shape, n_threads):
        """Minimum weight of a core point's neighbourhood, (1,) or (n,) in index order."""
        if self.pts_ratio is None:
            return np.array([float(self.min_samples)])
        cells = np.empty(index.points.shape[0])
        counter, counter_eps = index, eps
        shape_float = np.asarray(shape, dtype=np.float64)
        covers = (isinstance(index, LatticeIndex) and np.all(index.origin == 0)
                  and np.all(index.shape >= shape))
        if not covers and np.prod(shape_float) < 2.0 ** 62:
            # The stencils of a lattice over [0, shape) count the cells; the index
            # itself (or a lattice over the data's own box, which clips its
            # stencils to that box) would scan every point's box row by row.
            # The counts need no point of the lattice but its two corners, and
            # take stencils of any size the lattice's budget holds: unlike a
            # search, a count reads a stencil's rows only near an edge.
            corners = np.array([np.zeros_like(shape_float), shape_float - 1])
            counter = LatticeIndex(corners, index.metric, index.p, bounds=shape,
                                   window_features=np.flatnonzero(index.window))
            counter_eps = counter.eps_rows(eps.values, n_threads)
        lattice_counts(counter, index.points, counter_eps, shape, cells, n_threads)
        return self.pts_ratio * cells

    def _lattice_shape(self, X, whole_shape=None):
        """Lattice bounds of pts_ratio: ``whole_shape``, else grid_shape, else X.max + 1."""
        d = X.shape[1]
        off_lattice = ((X != np.round(X)) | (X < 0)).any(axis=1)
        if off_lattice.any():
            row = int(np.flatnonzero(off_lattice)[0])
            raise ValueError(
                "pts_ratio counts integer lattice cells, so X must hold non-negative integer "
                f"cells; got X[{row}] = {X[row]}")
        if whole_shape is not None:
            shape = whole_shape
        elif self.grid_shape is None:
            return (X.max(axis=0) + 1).astype(np.intp)
        else:
            shape = np.asarray(self.grid_shape)
            if (shape.shape != (d,) or shape.dtype.kind not in "iuf"
                    or not np.all(shape == np.round(shape))
                    or not np.all((shape >= 1) & (shape < 2.0 ** 62))):
                raise ValueError(
                    f"grid_shape must hold {d} positive integers below 2**62; "
                    f"got {self.grid_shape!r}")
            shape = shape.astype(np.intp)
        outside = (X >= shape).any(axis=1)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"X[{row}] = {X[row]} lies outside grid_shape {tuple(shape.tolist())}")
        return shape
