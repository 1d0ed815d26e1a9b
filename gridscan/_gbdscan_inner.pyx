# Compiled parts of GBDSCAN (gridscan/_gbdscan.py) besides the general core:
# the distinct occupied cells of the input rows, and the reference algorithm's
# sequential cluster expansion.
#
# Reference expansion.  The points are the distinct occupied cells, in the
# index order of a SpatialIndex (normally the LatticeIndex); is_core[pos] is
# already known (|N| >= pts_ratio * P does not depend on labels, so the
# general core computes it in parallel).  What remains is sequential by
# definition (SPEC section 2, mode="reference"): cells are visited in the
# given order; an unlabelled core cell starts a cluster whose seed overwrites
# the label of every member of its neighbourhood and queues them all; each
# queued core cell then labels its unlabelled or noise neighbours and queues
# the unlabelled ones.  Within one cluster a cell enters the queue at most
# once (only unlabelled cells are queued after the seed, and they are labelled
# at once), so a queue of n entries suffices.  Neighbourhoods come from the
# index's FORWARD search, exactly those of the consistent mode.

import numpy as np

from libc.stdlib cimport free, malloc
from libc.stdint cimport int64_t

from cython cimport floating

from gridscan._index cimport EpsRows, Query, RangeList, SpatialIndex, Workspace, load_query
from gridscan._kernels cimport FORWARD, EpsTable, within
from gridscan._typedefs cimport intp_t, uint8_t

DEF UNLABELLED = -2
DEF NOISE = -1

# A dense table of first occurrences is used up to this many cells (or 8 per row).
DENSE_MIN_CELLS = 1 << 21


def first_occurrences(const int64_t[::1] cells, int64_t n_cells):
    """Distinct cells in order of first occurrence.

    Returns ``first`` (rows where each distinct cell first occurs, ascending)
    and ``inverse`` (n,) with ``cells[i] == cells[first[inverse[i]]]``.
    """
    cdef intp_t n = cells.shape[0], i, n_distinct = 0
    if n_cells > max(DENSE_MIN_CELLS, 8 * n):
        _, first, inverse = np.unique(np.asarray(cells), return_index=True,
                                      return_inverse=True)
        by_row = np.argsort(first, kind="stable")
        rank = np.empty_like(by_row)
        rank[by_row] = np.arange(by_row.shape[0])
        return first[by_row].astype(np.intp), rank[inverse].astype(np.intp)
    cdef intp_t[::1] slot = np.full(n_cells, -1, dtype=np.intp)
    cdef intp_t[::1] inverse_view = np.empty(n, dtype=np.intp)
    cdef intp_t[::1] first_view = np.empty(n, dtype=np.intp)
    with nogil:
        for i in range(n):
            if slot[cells[i]] < 0:
                slot[cells[i]] = n_distinct
                first_view[n_distinct] = i
                n_distinct += 1
            inverse_view[i] = slot[cells[i]]
    return np.asarray(first_view)[:n_distinct].copy(), np.asarray(inverse_view)


def reference_labels(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
                     const uint8_t[::1] is_core, const intp_t[::1] visit, intp_t[::1] labels):
    """The reference algorithm's labels.

    Parameters
    ----------
    index : SpatialIndex                  # IN: neighbourhood searches
    points : (n, d) array                 # IN: index.points
    eps : EpsRows                         # IN: eps by position
    is_core : (n,) uint8                  # IN: core flags by position
    visit : (m,) intp                     # IN: positions in visiting order
    labels : (n,) intp                    # OUT: cluster ids in order of creation, -1 noise

    Returns
    -------
    n_clusters : int
        Number of cluster ids created (some may have lost every member).
    """
    cdef intp_t n = points.shape[0], d = points.shape[1]
    cdef Workspace work = Workspace(1, d)
    cdef intp_t* queue = <intp_t*> malloc(max(n, 1) * sizeof(intp_t))
    cdef intp_t v, s, cluster = 0, head, tail, p
    cdef int failed = 0
    if queue == NULL:
        raise MemoryError("gridscan: could not allocate the expansion queue")
    with nogil:
        for p in range(n):
            labels[p] = UNLABELLED
        for s in range(visit.shape[0]):
            v = visit[s]
            if labels[v] != UNLABELLED:
                continue
            if not is_core[v]:
                labels[v] = NOISE
                continue
            # The seed: every neighbour gets the new id and is queued, whatever its label.
            tail = 0
            if _neighbours(index, points, eps, v, work, True, cluster, labels, queue,
                           &tail) < 0:
                failed = 1
                break
            head = 0
            while head < tail:
                p = queue[head]
                head += 1
                if is_core[p] and _neighbours(index, points, eps, p, work, False, cluster,
                                              labels, queue, &tail) < 0:
                    failed = 1
                    break
            if failed:
                break
            cluster += 1
    free(queue)
    if failed:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")
    return cluster


cdef int _neighbours(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
                     intp_t p, Workspace work, bint seed, intp_t cluster, intp_t[::1] labels,
                     intp_t* queue, intp_t* tail) noexcept nogil:
    """Label the neighbours of p with ``cluster`` and queue them (IN/OUT: labels, queue, tail).

    seed: every neighbour is relabelled and queued; else only unlabelled and
    noise neighbours are relabelled, and only the unlabelled ones queued.
    """
    cdef const EpsTable* e = &eps.table
    cdef const double* ep = e.values + p * e.row_stride
    cdef Query* query = &work.queries[0]
    cdef RangeList* ranges = &work.ranges[0]
    cdef intp_t r, j
    ranges.size = 0
    load_query(query, &points[p, 0], points.shape[1], e, p, FORWARD)
    if index.candidates(query, FORWARD, ranges) < 0:
        return -1
    for r in range(ranges.size):
        for j in range(ranges.start[r], ranges.end[r]):
            if not ranges.full[r] and not within(&points[p, 0], &points[j, 0], ep, e.n_cols,
                                                 &index.norm):
                continue
            if seed or labels[j] == UNLABELLED:
                queue[tail[0]] = j
                tail[0] += 1
                labels[j] = cluster
            elif labels[j] == NOISE:
                labels[j] = cluster
    return 0


def renumber_by_first_appearance(intp_t[::1] labels, intp_t n_ids):
    """Renumber cluster ids 0.. in order of first appearance in labels (IN/OUT); -1 stays."""
    cdef intp_t i, next_id = 0
    cdef intp_t[::1] new_id = np.full(max(n_ids, 1), -1, dtype=np.intp)
    with nogil:
        for i in range(labels.shape[0]):
            if labels[i] < 0:
                continue
            if new_id[labels[i]] < 0:
                new_id[labels[i]] = next_id
                next_id += 1
            labels[i] = new_id[labels[i]]
    return next_id
