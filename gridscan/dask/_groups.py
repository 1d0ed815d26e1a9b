"""cluster_groups: every group of a Dask DataFrame clustered on its own, on the workers."""

import numpy as np
from sklearn.base import clone

from gridscan.dask._scheduling import worker_estimator

ROW_POSITION = "__gridscan_row__"


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
    >>> out.compute().sort_index()["label"].tolist()
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
    estimator = worker_estimator(estimator)
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
