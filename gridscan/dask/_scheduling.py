"""Running task graphs on the active Dask scheduler, with Dask's own progress bars."""

import contextlib

import dask
from sklearn.base import clone


def worker_estimator(estimator):
    """A clone that uses one thread unless the estimator asks for more.

    The workers already run groups and blocks in parallel.
    """
    estimator = clone(estimator)
    if "n_jobs" in estimator.get_params(deep=False) and estimator.n_jobs is None:
        estimator.set_params(n_jobs=1)
    return estimator


def active_client():
    """The distributed Client Dask would compute on now, or None."""
    try:
        from distributed import Client
    except ImportError:
        return None
    client = getattr(dask.base.get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) else None


def compute(tasks, progress):
    """Results of a list of delayed tasks."""
    client = active_client()
    if client is None:
        with _local_progress(progress):
            return list(dask.compute(*tasks))
    futures = client.compute(tasks)
    if progress:
        from distributed import progress as show_progress
        show_progress(futures)
    return client.gather(futures)


def persist(tasks, progress):
    """The tasks computed and kept where they are (on the workers, with distributed)."""
    client = active_client()
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
