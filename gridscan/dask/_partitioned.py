"""fit_predict_partitioned: one point cloud split spatially, with the single-machine labels.

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

Blocks make no decision of their own: each prepares its points with the
estimator's code, ``GridDBSCAN._fit_plan`` then ``_prepare``, given the
``DataChoices`` of the whole data (whether the eps table keeps one column per
feature, the lattice bounds of ``pts_ratio``), which the statistics pass
combines from every chunk's.  So a block's eps rows, neighbour rule and core
minimum are those of the single-machine fit.
"""

import math
import numbers

import dask
import dask.array as da
import numpy as np
from sklearn.utils.validation import check_array

from gridscan._dbscan import GridDBSCAN
from gridscan._validation import effective_n_threads
from gridscan.dask._blocks import block_components, block_labels, merge_components, select_regions
from gridscan.dask._plan import partition_plan, unsplittable_features
from gridscan.dask._scheduling import compute, persist, worker_estimator


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
    space = estimator._space(n_features)
    fixed = unsplittable_features(space)
    if split is not None and fixed & set(split.tolist()):
        raise ValueError(
            f"split_features must avoid the periodic features (and longitude under "
            f"metric='haversine'), {sorted(fixed)}: no halo bounds a neighbour across "
            f"them; got {split_features!r}")
    # Periodic features modulo their period, as a fit takes them.
    X = X.map_blocks(space.wrap, dtype=X.dtype)
    n_threads = effective_n_threads(estimator.n_jobs)

    plan, stats = partition_plan(X, estimator, n_blocks, split, progress)
    # The choices of a fit of all of X (eps columns, lattice bounds), for every block.
    choices = stats["choices"]
    offsets = np.concatenate([[0], np.cumsum(stats["rows"])[:-1]]).astype(np.int64)
    chunks = X.to_delayed().ravel()
    weight_chunks = ([None] * len(chunks) if weights is None
                     else list(weights.to_delayed().ravel()))

    n_plan_blocks = plan.own_lo.shape[0]
    pieces = [dask.delayed(select_regions, nout=n_plan_blocks)(
        c, w, offset, plan) for c, w, offset in zip(chunks, weight_chunks, offsets, strict=True)]
    block_outputs = [
        dask.delayed(block_components, nout=2)(
            [p[b] for p in pieces], b, plan, estimator, choices, n_threads)
        for b in range(n_plan_blocks)]
    states = [state for state, _ in block_outputs]
    summaries = [summary for _, summary in block_outputs]
    persisted = persist(states + summaries, progress)
    states, summaries = persisted[:n_plan_blocks], persisted[n_plan_blocks:]
    summaries = compute(summaries, False)
    component_labels = merge_components(summaries)

    results = [dask.delayed(block_labels)(state, labels_of_components, estimator, choices,
                                          n_threads)
               for state, labels_of_components in zip(states, component_labels, strict=True)]
    results = compute(results, progress)
    labels = np.full(stats["n"], -1, dtype=np.intp)
    for rows, own_labels in results:
        labels[rows] = own_labels
    return labels


def _check_estimator(estimator, n_features):
    """A copy for the workers; what they would reject for any data is rejected here."""
    if not isinstance(estimator, GridDBSCAN):
        raise ValueError(
            f"estimator must be a gridscan.GridDBSCAN; got {type(estimator).__name__}")
    estimator = worker_estimator(estimator)
    estimator._check_params(n_features)
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
