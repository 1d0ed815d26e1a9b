"""The block tasks of fit_predict_partitioned and the driver's merge of their components.

Each block runs the estimator's own preparation (GridDBSCAN._fit_plan with
the whole data's DataChoices, then _prepare) and the compiled passes of the
core; the module docstring of ``_partitioned`` says why the result is exact.
"""

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridscan._core import connect_core_points, find_core_points, predict_core
from gridscan.dask._plan import in_boxes


def select_regions(chunk, weights, offset, plan):
    """For every block, the rows of this chunk in its R2: (global rows, points, weights)."""
    chunk = np.asarray(chunk)
    rows = np.arange(offset, offset + chunk.shape[0], dtype=np.int64)
    out = []
    for b in range(plan.own_lo.shape[0]):
        mask = in_boxes(chunk, plan.split, plan.r2_lo[b], plan.r2_hi[b])
        out.append((rows[mask], chunk[mask], None if weights is None else weights[mask]))
    return tuple(out)


@dataclass
class BlockState:
    """What a block keeps between its two tasks: its own points and the core points of R1."""
    own_rows: np.ndarray        # global rows of the own points
    own_points: np.ndarray
    own_core: np.ndarray        # (n_own,) bool
    own_component: np.ndarray   # (n_own,) local component of own core points, else -1
    core_points: np.ndarray     # core points of R1
    core_component: np.ndarray  # their local components


def block_components(pieces, block, plan, estimator, choices, n_threads):
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
        state = BlockState(empty, points[:0], own[:0], empty, points[:0], empty)
        return state, (empty, empty, empty)
    in_r1 = in_boxes(points, plan.split, plan.r1_lo[block], plan.r1_hi[block])

    fit_plan = estimator._fit_plan(points, weights, choices=choices)
    job = estimator._prepare(points, fit_plan, n_threads)
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
            elsewhere |= in_boxes(core_points, plan.split, plan.r1_lo[other], plan.r1_hi[other])
    summary = (component_min, component[elsewhere].astype(np.int64),
               rows[core_rows_of][elsewhere])
    core = np.zeros(points.shape[0], dtype=bool)
    core[core_rows_of] = True
    state = BlockState(rows[own], points[own], core[own], local_component[own],
                       core_points, component.astype(np.int64))
    return state, summary


def _roots(parent):
    """Root of every element of a union-find forest (pointer jumping)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def merge_components(summaries):
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


def block_labels(state, component_labels, estimator, choices, n_threads):
    """Labels of a block's own points: core points by component, the rest by the border rule."""
    labels = np.full(state.own_rows.shape[0], -1, dtype=np.intp)
    labels[state.own_core] = component_labels[state.own_component[state.own_core]]
    queries = ~state.own_core
    if not queries.any() or state.core_points.shape[0] == 0:
        return state.own_rows, labels
    # As GridDBSCAN.predict: an index over the core points, the border rule for the others.
    core_points = state.core_points.astype(np.float64)
    core_plan = estimator._fit_plan(core_points, choices=choices)
    index, core_eps, order = estimator._core_point_index(core_points, core_plan.eps_table)
    query_points = np.ascontiguousarray(state.own_points[queries], dtype=np.float64)
    space = estimator._space(query_points.shape[1])
    query_eps = None
    if core_plan.union_rule:
        query_eps = index.eps_rows(
            space.eps(estimator._fit_plan(query_points, choices=choices).eps_table))
    core_labels = np.ascontiguousarray(component_labels[state.core_component][order])
    labels[queries] = predict_core(index, core_eps, core_labels, space.points(query_points),
                                   query_eps, core_plan.union_rule, n_threads)
    return state.own_rows, labels
