"""gridscan on Dask: many groups in parallel, and one point cloud split spatially.

Import it explicitly (``import gridscan.dask``); ``import gridscan`` does not
load Dask.  Both functions build ordinary Dask graphs, so they run on whatever
scheduler is active: a ``distributed.Client`` when one exists, else Dask's
local scheduler.

How ``fit_predict_partitioned`` stays exact
--------------------------------------------
The points are cut into axis-aligned blocks along one or two *split features*
(cuts at quantiles of a sample, so blocks hold about as many points).  Every
point is *own* in exactly one block.  Along a split feature k, a point q in the
neighbourhood of p satisfies ``|X[q, k] - X[p, k]| <= max(E[p, k], E[q, k])``
under every metric, window features included.  So the neighbours of the points
of a box lie in the box widened, on each face, by the largest ``E[:, k]`` of a
point whose own reach box ``X[p] +- E[p]`` touches that face: the *halo* of
the face.  Those maxima come from one pass of per-cell summaries (bounding box
and largest eps of the points of a fine grid of cells), so a RangeEps whose
radii grow with range gets wide halos only where the radii are wide.

Per block, ``R1`` is the block widened by its halo and ``R2`` is ``R1`` widened
by its own halo.  A block task receives the points of ``R2`` and

1. counts the neighbourhood weight of every point (exact for the points of
   R1, whose neighbours all lie in R2) and keeps the core flags of R1 only;
2. joins core points of R1 that are neighbours (the union-find of the core);
   every edge of the global cluster graph has an own core end point in some
   block and is found there;
3. sends the driver, per local component, its smallest global row, and the
   pairs (component, core point) for the core points that belong to the R1 of
   another block as well.  These are small: components and halo points.

The driver joins the components that share a core point (connected components
of a sparse graph), numbers the clusters by their smallest core row, as the
single-machine core does, and sends each block the label of its components.
A second task per block then labels its own non-core points with the smallest
label among the core points of R1 whose neighbourhood holds them: the border
rule, evaluated by the same compiled search as ``GridDBSCAN.predict``.
"""

import contextlib
import math
import numbers
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.base import clone
from sklearn.utils.validation import check_array

from gridscan._core import connect_core_points, find_core_points, predict_core
from gridscan._dbscan import GridDBSCAN
from gridscan._range_eps import RangeEps
from gridscan._validation import (
    check_eps_scale,
    check_span,
    effective_n_threads,
    resolve_metric,
    window_mask,
)

__all__ = ["cluster_groups", "fit_predict_partitioned"]

# Points per block when n_blocks is not given.
DEFAULT_BLOCK_POINTS = 250_000
# Rows of the sample the block cuts are taken from.
SAMPLE_ROWS = 100_000
# Fine cells per block along a split feature, for the halo bounds; at most MAX_FINE_BINS.
FINE_BINS_PER_BLOCK = 8
MAX_FINE_BINS = 128
# Halos are widened by this relative margin (plus a few ulps of the coordinates) so that
# rounding in the distance kernels can never put a neighbour outside them.
RELATIVE_SLACK = 1e-6
ABSOLUTE_SLACK = 1e-9
ROW_POSITION = "__gridscan_row__"


# ---------------------------------------------------------------------------------------
# Groups


def cluster_groups(ddf, estimator, by, features, label_column="label"):
    """Cluster every group of a Dask DataFrame on its own, in parallel on the workers.

    Rows are shuffled so that each group (one radar, day or frame) sits in one
    partition; every group is then clustered by a fresh clone of
    ``estimator``, with its rows in their original order, so that its labels
    are exactly ``estimator.fit_predict(group[features])``.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Points, one row each.
    estimator : estimator with ``fit_predict``
        For example :class:`gridscan.GridDBSCAN` or :class:`gridscan.GBDSCAN`.
        Cloned per group; an ``n_jobs`` left at None becomes 1, since the
        workers already run groups in parallel.
    by : str or list of str
        Columns whose values define the groups.
    features : str or list of str
        Columns passed to ``fit_predict`` (as a pandas DataFrame, so that
        column names given to the estimator, such as a RangeEps
        ``range_feature``, resolve).
    label_column : str, default="label"
        Name of the added column of labels; must not exist in ``ddf``.

    Returns
    -------
    labelled : dask.dataframe.DataFrame
        Every column of ``ddf`` plus ``label_column`` (int64), lazily
        computed.  Rows keep their index but come grouped: all rows of a group
        in one partition, in their original relative order.

    See Also
    --------
    fit_predict_partitioned : one point cloud too large for one group.

    Notes
    -----
    Nothing is computed until the result is.  Progress of that computation is
    reported by Dask's own diagnostics: ``distributed.progress`` on a persisted
    result, or ``dask.diagnostics.ProgressBar`` with the local scheduler.  An
    exception raised by the estimator on some group is raised by ``compute``
    with a note naming the group.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> import gridscan.dask
    >>> from gridscan import GridDBSCAN
    >>> df = pd.DataFrame({"radar": [0, 0, 0, 1, 1, 1],
    ...                    "x": [0.0, 0.1, 5.0, 0.0, 3.0, 3.1]})
    >>> ddf = dd.from_pandas(df, npartitions=2)
    >>> out = gridscan.dask.cluster_groups(ddf, GridDBSCAN(eps=0.5, min_samples=2),
    ...                                    by="radar", features="x")
    >>> out.compute(scheduler="sync").sort_index()["label"].tolist()
    [0, 0, -1, -1, 0, 0]
    """
    import dask.dataframe as dd

    if not isinstance(ddf, dd.DataFrame):
        raise ValueError(f"ddf must be a dask.dataframe.DataFrame; got {type(ddf).__name__}")
    by_columns = _column_list(by, "by", ddf.columns)
    feature_columns = _column_list(features, "features", ddf.columns)
    if not isinstance(label_column, str) or label_column in ddf.columns:
        raise ValueError(
            f"label_column must be a new column name; got {label_column!r}, and ddf has "
            f"columns {list(ddf.columns)}")
    if not hasattr(estimator, "fit_predict"):
        raise ValueError(
            f"estimator must have a fit_predict method; got {type(estimator).__name__}")
    estimator = _worker_estimator(estimator)
    positioned = ddf.map_partitions(_with_row_position,
                                    meta=ddf._meta.assign(**{ROW_POSITION: np.int64(0)}))
    grouped = positioned.shuffle(on=by_columns)
    meta = ddf._meta.assign(**{label_column: np.empty(0, dtype=np.int64)})
    return grouped.map_partitions(_cluster_partition, estimator, by_columns, feature_columns,
                                  label_column, meta=meta)


def _column_list(columns, name, available):
    names = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in names if c not in available]
    if not names or missing:
        raise ValueError(
            f"{name} must name columns of ddf; got {columns!r} (missing {missing}); the "
            f"columns are {list(available)}")
    return names


def _worker_estimator(estimator):
    """A clone that uses one thread unless the estimator asks for more."""
    estimator = clone(estimator)
    if "n_jobs" in estimator.get_params(deep=False) and estimator.n_jobs is None:
        estimator.set_params(n_jobs=1)
    return estimator


def _with_row_position(part, partition_info=None):
    """Add a column ordering the rows as in the whole frame (partition, then row)."""
    number = 0 if partition_info is None else partition_info["number"]
    position = (np.int64(number) << 40) + np.arange(len(part), dtype=np.int64)
    return part.assign(**{ROW_POSITION: position})


def _cluster_partition(part, estimator, by_columns, feature_columns, label_column):
    """Label every group of one partition (each group lies wholly in it)."""
    part = part.sort_values(ROW_POSITION, kind="stable")
    labels = np.full(len(part), -1, dtype=np.int64)
    if len(part):
        groups = part.groupby(by_columns, sort=False, dropna=False).indices
        for key, rows in groups.items():
            try:
                labels[rows] = clone(estimator).fit_predict(part.iloc[rows][feature_columns])
            except Exception as exc:
                values = key if isinstance(key, tuple) else (key,)
                group = ", ".join(f"{c}={v}" for c, v in zip(by_columns, values, strict=True))
                exc.add_note(f"gridscan.dask.cluster_groups: {type(estimator).__name__} failed "
                             f"on the group {group} ({len(rows)} rows)")
                raise
    return part.drop(columns=ROW_POSITION).assign(**{label_column: labels})


# ---------------------------------------------------------------------------------------
# One point cloud, partitioned


def fit_predict_partitioned(X, estimator, *, sample_weight=None, n_blocks=None,
                            split_features=None, progress=False):
    """Cluster one point cloud on Dask, split spatially, with the single-machine labels.

    The labels equal ``estimator.fit(X.compute()).labels_`` label for label:
    the same clusters, numbered by their smallest core row, and the same border
    rule.  Only per-block summaries (components and halo points) and the final
    labels reach the driver.

    Parameters
    ----------
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        Points, chunked by rows (any column chunking is merged).  Integer input
        becomes float64; float32 stays float32.
    estimator : GridDBSCAN
        Its parameters define the clustering: any eps (a float, one per
        feature, or a RangeEps), metric, window features, neighbour rule,
        ``min_samples`` or ``pts_ratio``.  ``n_jobs`` is the number of threads
        of each block task (None means 1, as workers already run blocks in
        parallel).  It is not fitted.
    sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None
        Weight of each point, as in ``GridDBSCAN.fit``.  Non-integer weights
        are summed in another order than on one machine, so a weight exactly
        at the minimum may round differently.
    n_blocks : int, default=None
        About how many blocks to cut the points into; None means one block
        per 250,000 points.
    split_features : int or sequence of 1 or 2 ints, default=None
        Features the blocks are cut along.  None picks the one or two features
        that span the most halo widths.
    progress : bool, default=False
        Show Dask's own progress bars: ``distributed.progress`` on a
        distributed client, else ``dask.diagnostics.ProgressBar``.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Cluster labels, -1 for noise.

    Raises
    ------
    ValueError
        On a bad parameter, or on bad data found by a worker (the worker's
        exception is raised here, as the scheduler reports it).

    See Also
    --------
    cluster_groups : many independent groups of a Dask DataFrame.
    gridscan.GridDBSCAN.fit : the single-machine run this function reproduces.

    Notes
    -----
    Work is about that of a single run plus the halos: each block also counts
    the neighbours of the points within two halo widths of it.  Blocks are
    best when much wider than the largest eps along the split features.
    X is read three times (statistics, halo bounds, blocks): persist it first
    when it is costly to compute.

    Examples
    --------
    >>> import numpy as np
    >>> import dask
    >>> import dask.array as da
    >>> import gridscan.dask
    >>> from gridscan import GridDBSCAN
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 10, size=(2000, 2))
    >>> model = GridDBSCAN(eps=0.3, min_samples=5)
    >>> with dask.config.set(scheduler="sync"):
    ...     labels = gridscan.dask.fit_predict_partitioned(
    ...         da.from_array(X, chunks=500), model, n_blocks=4)
    >>> bool(np.array_equal(labels, model.fit(X).labels_))
    True
    """
    X = _check_dask_points(X)
    n_features = X.shape[1]
    estimator = _check_estimator(estimator, n_features)
    weights = _check_weights(sample_weight, X)
    if n_blocks is not None and (not isinstance(n_blocks, numbers.Integral)
                                 or isinstance(n_blocks, bool) or n_blocks < 1):
        raise ValueError(f"n_blocks must be None or an integer >= 1; got {n_blocks!r}")
    split = _check_split_features(split_features, n_features)
    n_threads = effective_n_threads(1 if estimator.n_jobs is None else estimator.n_jobs)
    # As in GridDBSCAN.fit: a per-point eps makes "union" differ from "query".
    union_rule = estimator.neighbors == "union" and isinstance(estimator.eps, RangeEps)

    plan, stats = _partition_plan(X, estimator, n_blocks, split, progress)
    if estimator.pts_ratio is not None and estimator.grid_shape is None:
        estimator.set_params(grid_shape=(np.maximum(stats["max"], 0) + 1).astype(np.intp))
    offsets = np.concatenate([[0], np.cumsum(stats["rows"])[:-1]]).astype(np.int64)
    chunks = X.to_delayed().ravel()
    weight_chunks = ([None] * len(chunks) if weights is None
                     else list(weights.to_delayed().ravel()))

    n_plan_blocks = plan.own_lo.shape[0]
    pieces = [dask.delayed(_select_regions, nout=n_plan_blocks)(
        c, w, offset, plan) for c, w, offset in zip(chunks, weight_chunks, offsets, strict=True)]
    block_outputs = [
        dask.delayed(_block_components, nout=2)(
            [p[b] for p in pieces], b, plan, estimator, stats["collapse"], union_rule,
            n_threads)
        for b in range(n_plan_blocks)]
    states = [state for state, _ in block_outputs]
    summaries = [summary for _, summary in block_outputs]
    persisted = _persist(states + summaries, progress)
    states, summaries = persisted[:n_plan_blocks], persisted[n_plan_blocks:]
    summaries = _compute(summaries, False)
    component_labels = _merge_components(summaries)

    results = [dask.delayed(_block_labels)(
        state, block_labels, estimator, stats["collapse"], union_rule, n_threads)
        for state, block_labels in zip(states, component_labels, strict=True)]
    results = _compute(results, progress)
    labels = np.full(stats["n"], -1, dtype=np.intp)
    for rows, block_labels in results:
        labels[rows] = block_labels
    return labels


def _check_estimator(estimator, n_features):
    """A validated copy; what the workers would reject for any data is rejected here."""
    if not isinstance(estimator, GridDBSCAN):
        raise ValueError(
            f"estimator must be a gridscan.GridDBSCAN; got {type(estimator).__name__}")
    estimator = clone(estimator)
    estimator._validate_params()
    resolve_metric(estimator.metric, estimator.p)
    window_mask(estimator.window_features, n_features)
    if isinstance(estimator.eps, RangeEps):
        estimator.eps._resolve_range_feature(n_features)
        estimator.eps._vectors(n_features)
    else:
        estimator._eps_table(np.zeros((1, n_features)), None)
    return estimator


def _check_dask_points(X):
    if not isinstance(X, da.Array):
        X = da.asarray(check_array(X, dtype=[np.float64, np.float32], order="C",
                                   ensure_all_finite=False))
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(f"X must be 2-D with at least one feature; got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise ValueError(f"X must hold real numbers; got dtype {X.dtype}")
        X = X.astype(np.float64)
    return X.rechunk({1: -1})


def _check_weights(sample_weight, X):
    if sample_weight is None:
        return None
    if not isinstance(sample_weight, da.Array):
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(f"sample_weight has shape {sample_weight.shape}; expected "
                             f"({X.shape[0]},)")
        _finite_weights(sample_weight)
        return da.from_array(sample_weight, chunks=(X.chunks[0],))
    if sample_weight.ndim != 1 or (not math.isnan(X.shape[0])
                                   and sample_weight.shape[0] != X.shape[0]):
        raise ValueError(f"sample_weight has shape {sample_weight.shape}; expected "
                         f"({X.shape[0]},)")
    return sample_weight.astype(np.float64).rechunk((X.chunks[0],)).map_blocks(
        _finite_weights, dtype=np.float64)


def _finite_weights(weights, block_info=None):
    """The weights, checked to be finite (on the workers for a Dask array)."""
    bad = ~np.isfinite(weights)
    if bad.any():
        offset = 0 if block_info is None else block_info[0]["array-location"][0][0]
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"sample_weight must be finite; got {weights[row]!r} at row "
                         f"{offset + row}")
    return weights


def _check_split_features(split_features, n_features):
    if split_features is None:
        return None
    split = np.atleast_1d(np.asarray(split_features))
    if (split.ndim != 1 or not 1 <= split.size <= 2 or not np.issubdtype(split.dtype, np.integer)
            or np.any(split < 0) or np.any(split >= n_features)
            or np.unique(split).size != split.size):
        raise ValueError(
            f"split_features must be 1 or 2 distinct feature indices in [0, {n_features}); "
            f"got {split_features!r}")
    return split.astype(np.intp)


# --- scheduling -------------------------------------------------------------------------


def _active_client():
    """The distributed Client Dask would compute on now, or None."""
    try:
        from distributed import Client
    except ImportError:
        return None
    client = getattr(dask.base.get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) else None


def _compute(tasks, progress):
    """Results of a list of delayed tasks."""
    client = _active_client()
    if client is None:
        with _local_progress(progress):
            return list(dask.compute(*tasks))
    futures = client.compute(tasks)
    if progress:
        from distributed import progress as show_progress
        show_progress(futures)
    return client.gather(futures)


def _persist(tasks, progress):
    """The tasks computed and kept where they are (on the workers, with distributed)."""
    client = _active_client()
    if client is None:
        with _local_progress(progress):
            return list(dask.persist(*tasks))
    persisted = client.persist(tasks)
    if progress:
        from distributed import progress as show_progress
        show_progress(persisted)
    return persisted


def _local_progress(progress):
    if not progress:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar
    return ProgressBar()


# --- the plan: split features, cuts and halos --------------------------------------------


@dataclass
class _Plan:
    split: np.ndarray        # (s,) split features
    cuts: list               # per split feature, the interior block cuts (ascending)
    fine_edges: list         # per split feature, interior edges of the fine cells
    own_lo: np.ndarray = None   # (n_blocks, s) box of the block's own points: lo <= x < hi
    own_hi: np.ndarray = None
    r1_lo: np.ndarray = None    # (n_blocks, s) the block widened by its halo (closed)
    r1_hi: np.ndarray = None
    r2_lo: np.ndarray = None    # R1 widened by its halo (closed)
    r2_hi: np.ndarray = None

    def block_of(self, points):
        """Block id of each point (row of the split features)."""
        ids = np.zeros(points.shape[0], dtype=np.intp)
        for k, cuts in zip(self.split, self.cuts, strict=True):
            ids = ids * (len(cuts) + 1) + np.searchsorted(cuts, points[:, k], side="right")
        return ids


def _partition_plan(X, estimator, n_blocks, split, progress):
    """Blocks, their halos and the statistics of X they come from (two passes over X)."""
    chunks = X.to_delayed().ravel()
    n_rows_guess = X.shape[0] if not math.isnan(X.shape[0]) else None
    step = max(1, (n_rows_guess or SAMPLE_ROWS) // SAMPLE_ROWS)
    stats = [dask.delayed(_chunk_stats)(c, estimator, step) for c in chunks]
    stats = _compute(stats, progress)
    stats = _combine_stats(stats)
    if stats["n"] == 0:
        raise ValueError("X has 0 samples; expected at least 1")
    check_span(np.stack([stats["min"], stats["max"]]))
    n_blocks = n_blocks or max(1, math.ceil(stats["n"] / DEFAULT_BLOCK_POINTS))
    plan = _plan_cuts(stats, n_blocks, split)
    cells = [dask.delayed(_chunk_cells)(c, estimator, stats["collapse"], plan) for c in chunks]
    cells = _compute(cells, progress)
    return _plan_halos(plan, _combine_cells(cells), stats), stats


def _eps_table(estimator, points, collapse):
    """Eps rows of the points as the single-machine fit would build them.

    ``collapse`` is the global decision of eps_rows to merge equal columns of a
    model's table into one isotropic column; a block decides it as the whole
    data does, so that its comparisons are the single-machine ones.
    """
    if isinstance(estimator.eps, RangeEps):
        table = estimator.eps.evaluate(points)
        check_eps_scale(table, *resolve_metric(estimator.metric, estimator.p), "eps")
        return np.ascontiguousarray(table[:, :1] if collapse else table)
    return estimator._eps_table(points, None)[0]


def _feature_eps(table, n_features):
    """(n, n_features) per-feature radii from an eps table of 1 or n_features columns."""
    return np.broadcast_to(table, (table.shape[0], n_features))


def _chunk_stats(chunk, estimator, step):
    """Rows, bounds, largest eps per feature and a sample of one chunk of X."""
    chunk = check_array(chunk, dtype=[np.float64, np.float32], order="C",
                        ensure_min_samples=0, input_name="X")
    d = chunk.shape[1]
    if chunk.shape[0] == 0:
        return {"n": 0, "min": np.full(d, np.inf), "max": np.full(d, -np.inf),
                "eps_max": np.zeros(d), "collapse": True, "sample": chunk[:0]}
    table = _eps_table(estimator, chunk, collapse=False)
    return {
        "n": chunk.shape[0],
        "min": chunk.min(axis=0).astype(np.float64),
        "max": chunk.max(axis=0).astype(np.float64),
        "eps_max": _feature_eps(table, d).max(axis=0),
        "collapse": bool(table.shape[1] > 1 and np.all(table == table[:, :1])),
        "sample": chunk[::step].astype(np.float64),
    }


def _combine_stats(stats):
    return {
        "n": sum(s["n"] for s in stats),
        "rows": np.array([s["n"] for s in stats], dtype=np.int64),
        "min": np.min([s["min"] for s in stats], axis=0),
        "max": np.max([s["max"] for s in stats], axis=0),
        "eps_max": np.max([s["eps_max"] for s in stats], axis=0),
        "collapse": all(s["collapse"] for s in stats if s["n"]),
        "sample": np.concatenate([s["sample"] for s in stats]),
    }


def _plan_cuts(stats, n_blocks, split):
    """Split features and block cuts from the sample's quantiles."""
    extent = stats["max"] - stats["min"]
    halos = extent / stats["eps_max"]
    if split is None:
        by_halos = np.argsort(-halos, kind="stable")
        split = by_halos[:2] if len(by_halos) > 1 and n_blocks >= 4 else by_halos[:1]
    if len(split) == 2:
        # Share the blocks between the two features as their extents in halo widths.
        ratio = halos[split[1]] / max(halos[split[0]], 1e-300)
        across = int(np.clip(round(math.sqrt(n_blocks * ratio)), 1, n_blocks))
        counts = [math.ceil(n_blocks / across), across]
    else:
        counts = [n_blocks]
    sample = stats["sample"]
    cuts, fine_edges = [], []
    for k, count in zip(split, counts, strict=True):
        cuts.append(_quantile_cuts(sample[:, k], count))
        fine_edges.append(_quantile_cuts(sample[:, k],
                                         min(MAX_FINE_BINS, FINE_BINS_PER_BLOCK * count)))
    return _Plan(split=np.asarray(split, dtype=np.intp), cuts=cuts, fine_edges=fine_edges)


def _quantile_cuts(values, count):
    """The distinct interior cuts splitting values into count parts of about equal size."""
    if count <= 1 or values.size == 0:
        return np.empty(0)
    cuts = np.unique(np.quantile(values, np.linspace(0.0, 1.0, count + 1)[1:-1]))
    # A cut at the minimum would leave an empty first part.
    return cuts[cuts > values.min()]


def _chunk_cells(chunk, estimator, collapse, plan):
    """Per fine cell: bounding box of the points and their largest eps, per split feature."""
    chunk = np.asarray(chunk)
    s = len(plan.split)
    shape = [len(edges) + 1 for edges in plan.fine_edges]
    n_cells = math.prod(shape)
    lo = np.full((n_cells, s), np.inf)
    hi = np.full((n_cells, s), -np.inf)
    eps = np.zeros((n_cells, s))
    if chunk.shape[0] == 0:
        return lo, hi, eps
    cell = np.zeros(chunk.shape[0], dtype=np.intp)
    for k, edges, size in zip(plan.split, plan.fine_edges, shape, strict=True):
        cell = cell * size + np.searchsorted(edges, chunk[:, k], side="right")
    table = _feature_eps(_eps_table(estimator, chunk, collapse), chunk.shape[1])
    for j, k in enumerate(plan.split):
        np.minimum.at(lo[:, j], cell, chunk[:, k])
        np.maximum.at(hi[:, j], cell, chunk[:, k])
        np.maximum.at(eps[:, j], cell, table[:, k])
    return lo, hi, eps


def _combine_cells(cells):
    return (np.min([c[0] for c in cells], axis=0), np.max([c[1] for c in cells], axis=0),
            np.max([c[2] for c in cells], axis=0))


def _plan_halos(plan, cells, stats):
    """Own boxes of the blocks, and R1 and R2 widened by the halos of their faces."""
    cell_lo, cell_hi, cell_eps = cells
    split = plan.split
    tol = ABSOLUTE_SLACK * (np.maximum(np.abs(stats["min"]), np.abs(stats["max"]))[split]
                            + stats["eps_max"][split])
    cell_eps = cell_eps * (1 + RELATIVE_SLACK) + tol
    reach_lo, reach_hi = cell_lo - cell_eps, cell_hi + cell_eps
    bounds = [np.concatenate([[-np.inf], cuts, [np.inf]]) for cuts in plan.cuts]
    grid = np.array(list(np.ndindex(*[len(c) + 1 for c in plan.cuts])), dtype=np.intp)
    s = len(split)
    plan.own_lo = np.stack([bounds[j][grid[:, j]] for j in range(s)], axis=1)
    plan.own_hi = np.stack([bounds[j][grid[:, j] + 1] for j in range(s)], axis=1)

    def widen(lo, hi):
        """Each box widened, face by face, by the largest eps of a cell reaching that face."""
        new_lo, new_hi = lo.copy(), hi.copy()
        for b in range(lo.shape[0]):
            overlap = (reach_lo <= hi[b]) & (reach_hi >= lo[b])     # (n_cells, s)
            for j in range(s):
                # A cell reaches the face at x_j = c when its reach box holds c along j and
                # overlaps the box along the other split features.
                others = np.delete(overlap, j, axis=1).all(axis=1)
                for face, out, sign in ((lo[b, j], new_lo, -1.0), (hi[b, j], new_hi, 1.0)):
                    if not np.isfinite(face):
                        continue
                    touching = others & (reach_lo[:, j] <= face) & (reach_hi[:, j] >= face)
                    if touching.any():
                        out[b, j] = face + sign * cell_eps[touching, j].max()
        return new_lo, new_hi

    plan.r1_lo, plan.r1_hi = widen(plan.own_lo, plan.own_hi)
    plan.r2_lo, plan.r2_hi = widen(plan.r1_lo, plan.r1_hi)
    return plan


# --- block tasks ------------------------------------------------------------------------


def _in_boxes(points, split, lo, hi):
    """(n,) mask of the points inside the closed box [lo, hi] along the split features."""
    inside = np.ones(points.shape[0], dtype=bool)
    for j, k in enumerate(split):
        inside &= (points[:, k] >= lo[j]) & (points[:, k] <= hi[j])
    return inside


def _select_regions(chunk, weights, offset, plan):
    """For every block, the rows of this chunk in its R2: (global rows, points, weights)."""
    chunk = np.asarray(chunk)
    rows = np.arange(offset, offset + chunk.shape[0], dtype=np.int64)
    out = []
    for b in range(plan.own_lo.shape[0]):
        mask = _in_boxes(chunk, plan.split, plan.r2_lo[b], plan.r2_hi[b])
        out.append((rows[mask], chunk[mask], None if weights is None else weights[mask]))
    return tuple(out)


@dataclass
class _BlockState:
    """What a block keeps between its two tasks: its own points and the core points of R1."""
    own_rows: np.ndarray        # global rows of the own points
    own_points: np.ndarray
    own_core: np.ndarray        # (n_own,) bool
    own_component: np.ndarray   # (n_own,) local component of own core points, else -1
    core_points: np.ndarray     # core points of R1
    core_component: np.ndarray  # their local components


def _block_components(pieces, block, plan, estimator, collapse, union_rule, n_threads):
    """Core flags and local components of one block; the state and the driver's summary."""
    rows = np.concatenate([p[0] for p in pieces])
    points = np.concatenate([p[1] for p in pieces])
    weights = None if pieces[0][2] is None else np.concatenate([p[2] for p in pieces])
    sort = np.argsort(rows, kind="stable")
    rows, points = rows[sort], np.ascontiguousarray(points[sort])
    weights = None if weights is None else weights[sort]
    own = plan.block_of(points) == block
    empty = np.empty(0, dtype=np.int64)
    if not own.any():
        state = _BlockState(empty, points[:0], own[:0], empty, points[:0], empty)
        return state, (empty, empty, empty)
    in_r1 = _in_boxes(points, plan.split, plan.r1_lo[block], plan.r1_hi[block])

    job = estimator._prepare(points, _eps_table(estimator, points, collapse), weights,
                             n_threads)
    index, order = job.index, np.asarray(job.index.order)
    is_core = find_core_points(index, job.eps, job.weights, job.min_weight, job.union_rule,
                               n_threads)
    # Beyond R1 a neighbourhood may lie partly outside R2: those counts are not kept.
    is_core &= in_r1[order]
    parent = connect_core_points(index, job.eps, is_core, n_threads)
    root = _roots(parent)

    core_positions = np.flatnonzero(is_core)
    core_rows_of = order[core_positions]            # local rows of the core points
    _, component = np.unique(root[core_positions], return_inverse=True)
    component_min = np.full(component.max(initial=-1) + 1, np.iinfo(np.int64).max)
    np.minimum.at(component_min, component, rows[core_rows_of])
    local_component = np.full(points.shape[0], -1, dtype=np.int64)
    local_component[core_rows_of] = component

    # Core points another block also sees in its R1 link this block's components to its.
    core_points = points[core_rows_of]
    elsewhere = ~own[core_rows_of]
    for other in range(plan.own_lo.shape[0]):
        if other != block:
            elsewhere |= _in_boxes(core_points, plan.split, plan.r1_lo[other], plan.r1_hi[other])
    summary = (component_min, component[elsewhere].astype(np.int64),
               rows[core_rows_of][elsewhere])
    core = np.zeros(points.shape[0], dtype=bool)
    core[core_rows_of] = True
    state = _BlockState(rows[own], points[own], core[own], local_component[own],
                        core_points, component.astype(np.int64))
    return state, summary


def _roots(parent):
    """Root of every element of a union-find forest (pointer jumping)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def _merge_components(summaries):
    """Global label of every local component of every block.

    Components of different blocks that share a core point are one cluster;
    clusters are numbered in the order of their smallest core row.
    """
    sizes = [len(s[0]) for s in summaries]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_components = int(offsets[-1])
    if n_components == 0:
        return [np.empty(0, dtype=np.intp) for _ in summaries]
    component_min = np.concatenate([s[0] for s in summaries])
    linked = np.concatenate([s[1] + offsets[b] for b, s in enumerate(summaries)])
    shared_rows = np.concatenate([s[2] for s in summaries])
    _, shared_node = np.unique(shared_rows, return_inverse=True)
    n_nodes = n_components + (shared_node.max(initial=-1) + 1)
    graph = coo_matrix((np.ones(linked.size, dtype=np.int8),
                        (linked, n_components + shared_node)), shape=(n_nodes, n_nodes))
    _, cluster = connected_components(graph, directed=False)
    cluster = cluster[:n_components]
    cluster_min = np.full(cluster.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(cluster_min, cluster, component_min)
    used = cluster_min < np.iinfo(np.int64).max
    rank = np.full(cluster_min.shape[0], -1, dtype=np.intp)
    rank[np.flatnonzero(used)[np.argsort(cluster_min[used])]] = np.arange(used.sum())
    labels = rank[cluster]
    return [labels[offsets[b]:offsets[b + 1]] for b in range(len(summaries))]


def _block_labels(state, component_labels, estimator, collapse, union_rule, n_threads):
    """Labels of a block's own points: core points by component, the rest by the border rule."""
    labels = np.full(state.own_rows.shape[0], -1, dtype=np.intp)
    labels[state.own_core] = component_labels[state.own_component[state.own_core]]
    queries = ~state.own_core
    if not queries.any() or state.core_points.shape[0] == 0:
        return state.own_rows, labels
    core_points = state.core_points.astype(np.float64)
    core_table = _eps_table(estimator, core_points, collapse)
    index, core_eps, order = estimator._core_point_index(core_points, core_table)
    query_points = np.ascontiguousarray(state.own_points[queries], dtype=np.float64)
    query_eps = (index.eps_rows(_eps_table(estimator, query_points, collapse))
                 if union_rule else None)
    core_labels = np.ascontiguousarray(component_labels[state.core_component][order])
    labels[queries] = predict_core(index, core_eps, core_labels, query_points, query_eps,
                                   union_rule, n_threads)
    return state.own_rows, labels
