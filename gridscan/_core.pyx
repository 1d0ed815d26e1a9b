# The DBSCAN core: core points, clusters and labels without stored neighbourhoods.
#
# Everything here works in *index order* (see _index.pyx): position i holds the
# point order[i]; weights, eps rows and the minimum weights of a core point are
# given by position.  Memory is O(n): a few arrays of n entries plus, per
# thread, the candidate ranges of one query.  Three passes over the points, each
# an OpenMP loop without the GIL:
#
# 1. count   the weight of N(i) (i itself included), stopping as soon as it
#            reaches the minimum when no weight is negative; i is core when the
#            weight reaches its minimum.
# 2. connect for every core point i and every core j in i's own neighbourhood,
#            union(i, j) in a lock-free union-find (_union_find.pxd).  Iterating
#            every core point's own neighbourhood finds every edge of the
#            cluster graph (q in N(p) or p in N(q)) under both neighbour rules.
# 3. label   clusters are numbered 0, 1, ... by their smallest core point in the
#            original row order (one sequential O(n) pass); then every non-core
#            point takes the smallest label among the core points whose
#            neighbourhood holds it, else -1 (noise).
#
# Each pass computes a pure function of its inputs per point, and the
# union-find partition does not depend on the order of unions, so the labels are
# the same for any number of threads.

import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport prange, threadid

from cython cimport floating

from gridscan._index cimport EpsRows, Query, RangeList, SpatialIndex, Workspace, load_query
from gridscan._kernels cimport (
    FORWARD, REVERSE, UNION, Direction, EpsTable, Norm, related, within,
)
from gridscan._typedefs cimport intp_t, uint8_t
from gridscan._union_find cimport uf_find, uf_union

# Points between two checks for Ctrl-C by the calling thread.
DEF CHECK_SIGNALS_EVERY = 512


def fit_core(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
             weights, const double[::1] min_weight, bint union_rule, int n_threads):
    """Core flags and labels of the points of ``index`` (both by position).

    Parameters
    ----------
    index : SpatialIndex                  # IN: candidate ranges
    points : (n, d) array                 # IN: index.points
    eps : EpsRows                         # IN: eps by position, or shared
    weights : (n,) float64 or None        # IN: sample weights by position
    min_weight : (n,) or (1,) float64     # IN: weight a core point's N(i) must reach
    union_rule : bool                     # IN: neighbors="union" (else "query")
    n_threads : int

    Returns
    -------
    is_core : (n,) uint8
    labels : (n,) intp
    """
    cdef intp_t n = points.shape[0]
    weights = np.ones(n) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    weight_prefix = np.zeros(n + 1)
    np.cumsum(weights, out=weight_prefix[1:])
    cdef bint can_stop_early = bool(np.all(weights >= 0))
    # Whole ranges are counted from prefix sums only where that is exact.
    cdef bint whole_ranges = bool(np.all(weights == np.round(weights))) \
        and weight_prefix[n] < 2.0 ** 52
    is_core = np.zeros(n, dtype=np.uint8)
    labels = np.full(n, -1, dtype=np.intp)
    index.set_point_eps(eps)
    # With one eps row for every point the relation is symmetric: FORWARD is enough.
    cdef Direction count_mode = UNION if union_rule and not eps.shared else FORWARD
    cdef Direction border_mode = FORWARD if eps.shared else (UNION if union_rule else REVERSE)
    if count_mode == UNION:
        index.set_reach(eps.reach)
    _count(index, points, eps, weights, weight_prefix, min_weight, can_stop_early,
           whole_ranges, count_mode, is_core, n_threads)
    parent = np.arange(n, dtype=np.intp)
    _connect(index, points, eps, is_core, parent, n_threads)
    _number_clusters(np.asarray(index.order), is_core, parent, labels)
    if border_mode != FORWARD:
        index.set_reach(np.asarray(eps.reach) * is_core)
    _border(index, points, points, eps, eps, is_core, labels, border_mode, is_core, labels,
            n_threads)
    return is_core, labels


def core_flags(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
               const double[::1] min_weight, bint union_rule, int n_threads):
    """Core flags by position with unit weights: pass 1 of fit_core on its own.

    For callers that need the core points only (GBDSCAN's reference mode); the
    arguments are those of fit_core without weights.

    Returns
    -------
    is_core : (n,) uint8
    """
    cdef intp_t n = points.shape[0]
    is_core = np.zeros(n, dtype=np.uint8)
    cdef Direction count_mode = UNION if union_rule and not eps.shared else FORWARD
    index.set_point_eps(eps)
    if count_mode == UNION:
        index.set_reach(eps.reach)
    _count(index, points, eps, np.ones(n), np.arange(n + 1, dtype=np.float64), min_weight,
           True, True, count_mode, is_core, n_threads)
    return is_core


def predict_core(SpatialIndex index, EpsRows eps, const intp_t[::1] labels,
                 const double[:, ::1] queries, EpsRows query_eps, bint union_rule,
                 int n_threads):
    """Labels of new points: the smallest label of a core point whose N holds them.

    ``index`` holds only core points (float64), ``labels`` their labels by
    position, ``eps`` their eps by position; ``query_eps`` is needed under the
    union rule only.
    """
    cdef intp_t m = queries.shape[0]
    out = np.full(m, -1, dtype=np.intp)
    all_core = np.ones(index.points.shape[0], dtype=np.uint8)
    cdef Direction mode = UNION
    if not union_rule and eps.shared:
        mode, query_eps = FORWARD, eps
    elif not union_rule:
        # REVERSE reads only the core points' eps; the query table is a placeholder.
        mode, query_eps = REVERSE, index.eps_rows(np.ones((1, 1)))
    index.set_point_eps(eps)
    if mode != FORWARD:
        index.set_reach(eps.reach)
    _border(index, index.points, queries, query_eps, eps, all_core, labels, mode,
            np.zeros(m, dtype=np.uint8), out, n_threads)
    return out


def _count(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
           const double[::1] weights, const double[::1] weight_prefix,
           const double[::1] min_weight, bint can_stop_early, bint whole_ranges, int mode,
           uint8_t[::1] is_core, int n_threads):
    """Pass 1: is_core[i] (OUT) = weight of N(i) >= min_weight[i]."""
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef intp_t n = points.shape[0], d = points.shape[1]
    cdef intp_t i, j, r, t
    cdef intp_t min_stride = 0 if min_weight.shape[0] == 1 else 1
    cdef const EpsTable* e = &eps.table
    cdef const Norm* norm = &index.norm
    cdef const double* ei
    cdef double need, total
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    failed[0] = 0
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=64, num_threads=n_threads):
            t = threadid()
            if t == 0 and i % CHECK_SIGNALS_EVERY == 0:
                with gil:
                    PyErr_CheckSignals()
            ranges = &work.ranges[t]
            ranges.size = 0
            query = &work.queries[t]
            load_query(query, &points[i, 0], d, e, i, <Direction> mode)
            if not whole_ranges:
                query.inner = 0.0
            if index.candidates(query, <Direction> mode, ranges) < 0:
                failed[0] = 1
                continue
            ei = e.values + i * e.row_stride
            need = min_weight[i * min_stride]
            total = 0.0
            for r in range(ranges.size):
                if ranges.full[r]:
                    total = total + weight_prefix[ranges.end[r]] - weight_prefix[ranges.start[r]]
                else:
                    for j in range(ranges.start[r], ranges.end[r]):
                        if related(&points[i, 0], ei, e.n_cols, &points[j, 0],
                                   e.values + j * e.row_stride, e.n_cols,
                                   <Direction> mode, norm):
                            total = total + weights[j]
                if can_stop_early and total >= need:
                    break
            is_core[i] = total >= need
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")


def _connect(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
             const uint8_t[::1] is_core, intp_t[::1] parent, int n_threads):
    """Pass 2: union-find parent (IN/OUT) joins every pair of core neighbours."""
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef intp_t n = points.shape[0], d = points.shape[1]
    cdef intp_t i, j, r, t
    cdef const EpsTable* e = &eps.table
    cdef const Norm* norm = &index.norm
    cdef const double* ei
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    failed[0] = 0
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=64, num_threads=n_threads):
            if not is_core[i]:
                continue
            t = threadid()
            if t == 0 and i % CHECK_SIGNALS_EVERY == 0:
                with gil:
                    PyErr_CheckSignals()
            ranges = &work.ranges[t]
            ranges.size = 0
            query = &work.queries[t]
            load_query(query, &points[i, 0], d, e, i, FORWARD)
            if index.candidates(query, FORWARD, ranges) < 0:
                failed[0] = 1
                continue
            ei = e.values + i * e.row_stride
            for r in range(ranges.size):
                for j in range(ranges.start[r], ranges.end[r]):
                    if j != i and is_core[j] and (
                            ranges.full[r] or within(&points[i, 0], &points[j, 0], ei,
                                                     e.n_cols, norm)):
                        uf_union(&parent[0], i, j)
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")


def _number_clusters(const intp_t[::1] order, const uint8_t[::1] is_core,
                     intp_t[::1] parent, intp_t[::1] labels):
    """Pass 3a: labels (OUT) of core points, clusters numbered by smallest original row."""
    cdef intp_t n = order.shape[0], row, pos, root, next_label = 0
    cdef intp_t[::1] position_of = np.empty(n, dtype=np.intp)
    with nogil:
        for pos in range(n):
            position_of[order[pos]] = pos
        for row in range(n):
            pos = position_of[row]
            if not is_core[pos]:
                continue
            root = uf_find(&parent[0], pos)
            if labels[root] == -1:
                labels[root] = next_label
                next_label += 1
            labels[pos] = labels[root]


def _border(SpatialIndex index, const floating[:, ::1] points,
            const floating[:, ::1] queries, EpsRows query_eps, EpsRows point_eps,
            const uint8_t[::1] is_core, const intp_t[::1] labels, int mode,
            const uint8_t[::1] skip, intp_t[::1] out, int n_threads):
    """Pass 3b: out[i] (OUT) = smallest label of a core point neighbouring query i.

    Queries with skip[i] set are left as they are.
    """
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef intp_t m = queries.shape[0], d = points.shape[1]
    cdef intp_t i, j, r, t, best
    cdef const EpsTable* qe = &query_eps.table
    cdef const EpsTable* pe = &point_eps.table
    cdef const Norm* norm = &index.norm
    cdef const double* ei
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    failed[0] = 0
    with nogil:
        for i in prange(m, schedule="dynamic", chunksize=64, num_threads=n_threads):
            if skip[i]:
                continue
            t = threadid()
            if t == 0 and i % CHECK_SIGNALS_EVERY == 0:
                with gil:
                    PyErr_CheckSignals()
            ranges = &work.ranges[t]
            ranges.size = 0
            query = &work.queries[t]
            load_query(query, &queries[i, 0], d, qe, i, <Direction> mode)
            if index.candidates(query, <Direction> mode, ranges) < 0:
                failed[0] = 1
                continue
            ei = query.eps
            best = -1
            for r in range(ranges.size):
                for j in range(ranges.start[r], ranges.end[r]):
                    if not is_core[j] or (best != -1 and labels[j] >= best):
                        continue
                    if ranges.full[r] or related(&queries[i, 0], ei, qe.n_cols,
                                                 &points[j, 0], pe.values + j * pe.row_stride,
                                                 pe.n_cols, <Direction> mode, norm):
                        best = labels[j]
            out[i] = best
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")
