# Compiled parts of GBDSCAN (gridscan/_gbdscan.py) besides the general core.
#
# Input rows are X[i] = (gate, beam[, scan]) as int64 or float64.  A cell is
# numbered in C order over the grid (n_scans, n_gates, n_beams):
# (scan * n_gates + gate) * n_beams + beam.  The distinct occupied cells are
# listed in ascending cell number, i.e. in (scan, gate, beam) order, so that the
# core, which numbers clusters by their first core cell, numbers them
# independently of the row order; the lattice index keeps that order.
#
# Reference expansion.  is_core of every distinct cell is known beforehand
# (|N| >= pts_ratio * P does not depend on labels, so the general core
# computes it in parallel).  What remains is sequential by definition
# (docs/semantics.rst, section 'Reference mode'): rows are visited scan by
# scan, in input order within a scan; a row whose cell is labelled is skipped;
# an unlabelled non-core cell becomes noise; an unlabelled core cell starts a
# cluster whose seed overwrites the label of every member of its neighbourhood
# and queues them all; each queued core cell then labels its unlabelled or
# noise neighbours and queues the unlabelled ones.  When the loop has finished
# a scan, the labels of that scan's rows are read and reported: a later scan
# may still overwrite those cells (and the overwritten labels steer its own
# expansion), but not what was reported.  Within one cluster a cell enters the
# queue at most once (only unlabelled cells are queued after the seed, and
# they are labelled at once), so a queue of n entries suffices.  Neighbourhoods
# come from the index's FORWARD search, exactly those of the consistent mode.

import numpy as np

from gridscan._lattice import dense_table_fits

from libc.math cimport fabs, floor
from libc.stdlib cimport free, malloc
from libc.stdint cimport int64_t

from cython cimport floating

from gridscan._index cimport (
    EpsRows, Query, RangeList, SpatialIndex, Workspace, load_point_query,
)
from gridscan._kernels cimport FORWARD, EpsTable, within
from gridscan._signals cimport CELLS_PER_POLL, poll_signals
from gridscan._typedefs cimport intp_t, uint8_t

cdef enum:
    # Internal labels of the reference expansion besides cluster ids (>= 0).
    UNLABELLED = -2
    NOISE = -1

cpdef enum CellProblem:
    # What check_cells found wrong with a row.
    CELL_OK = 0
    NOT_INTEGER = 1
    NEGATIVE_SCAN = 2
    OFF_GRID = 3

ctypedef fused cell_value:
    int64_t
    double


cdef inline int64_t _column(const cell_value[:, ::1] X, intp_t i, intp_t k) noexcept nogil:
    """Internal column k (0 scan, 1 gate, 2 beam) of row i; scan 0 without a scan column."""
    if k == 0:
        return <int64_t> X[i, 2] if X.shape[1] == 3 else 0
    return <int64_t> X[i, k - 1]


def check_cells(const cell_value[:, ::1] X):
    """One pass over the rows: (first bad row or -1, its problem, maxima of (scan, gate,
    beam), smallest gate).

    Problems: NOT_INTEGER (a float that is not integral), NEGATIVE_SCAN, OFF_GRID
    (a negative gate or beam, or a value beyond 2**62).
    """
    cdef intp_t n = X.shape[0], i, k, bad = -1
    cdef int problem = CELL_OK
    cdef double v
    cdef int64_t[::1] largest = np.zeros(3, dtype=np.int64)
    cdef int64_t c, lowest_gate = 0 if n == 0 else 4611686018427387904
    with nogil:
        for i in range(n):
            if cell_value is double:
                for k in range(X.shape[1]):
                    v = X[i, k]
                    if v != floor(v):
                        problem = NOT_INTEGER
                    elif fabs(v) >= 4611686018427387904.0 and problem == CELL_OK:
                        problem = OFF_GRID
                if problem != CELL_OK:
                    bad = i
                    break
            for k in range(3):
                c = _column(X, i, k)
                if c < 0:
                    problem = NEGATIVE_SCAN if k == 0 else OFF_GRID
                    break
                if c > largest[k]:
                    largest[k] = c
                if k == 1 and c < lowest_gate:
                    lowest_gate = c
            if problem != CELL_OK:
                bad = i
                break
    return bad, problem, np.asarray(largest), lowest_gate


def cell_numbers(const cell_value[:, ::1] X, const int64_t[::1] grid, int64_t[::1] out):
    """out[i] (OUT) = number of the cell of row i; returns the first row off the grid or -1."""
    cdef intp_t n = X.shape[0], i, off = -1
    cdef int64_t scan, gate, beam
    with nogil:
        for i in range(n):
            scan = _column(X, i, 0)
            gate = _column(X, i, 1)
            beam = _column(X, i, 2)
            if scan >= grid[0] or gate >= grid[1] or beam >= grid[2]:
                off = i
                break
            out[i] = (scan * grid[1] + gate) * grid[2] + beam
    return off


def distinct_cells(const int64_t[::1] numbers, int64_t n_cells):
    """Distinct cell numbers in ascending order, and the cell of every row.

    Returns ``cells`` (the distinct numbers, ascending) and ``inverse`` (n,)
    with ``numbers[i] == cells[inverse[i]]``.  A dense table over the grid when
    it is small enough for the number of rows, else a sort.
    """
    cdef intp_t n = numbers.shape[0], i, n_distinct = 0
    cdef int64_t c
    if not dense_table_fits(n_cells, n):
        cells, inverse = np.unique(np.asarray(numbers), return_inverse=True)
        return cells, inverse.astype(np.intp, copy=False).reshape(-1)
    cdef intp_t[::1] slot = np.full(n_cells, -1, dtype=np.intp)
    cdef intp_t[::1] inverse_view = np.empty(n, dtype=np.intp)
    cdef int64_t[::1] cells_view = np.empty(n, dtype=np.int64)
    with nogil:
        for i in range(n):
            slot[numbers[i]] = 0
        for c in range(n_cells):
            if slot[c] == 0:
                slot[c] = n_distinct
                cells_view[n_distinct] = c
                n_distinct += 1
        for i in range(n):
            inverse_view[i] = slot[numbers[i]]
    return np.asarray(cells_view)[:n_distinct].copy(), np.asarray(inverse_view)


def cell_coordinates(const int64_t[::1] cells, const int64_t[::1] grid, double[:, ::1] out):
    """out[u] (OUT) = (scan, gate, beam) of cell number cells[u] on the grid
    (n_scans, n_gates, n_beams)."""
    cdef intp_t u
    cdef int64_t c
    with nogil:
        for u in range(cells.shape[0]):
            c = cells[u]
            out[u, 2] = c % grid[2]
            c = c // grid[2]
            out[u, 1] = c % grid[1]
            out[u, 0] = c // grid[1]


def cell_eps(const double[:, ::1] cells, const double[:, ::1] half_axes, double scan_window,
             double g, double[:, ::1] eps, intp_t[::1] row_ids):
    """Eps rows (scan_window, g, half_axes[gate, beam]) of cells (scan, gate, beam) and their
    row ids gate * n_beams + beam (equal ids, equal rows); both OUT."""
    cdef intp_t u, gate, beam, n_beams = half_axes.shape[1]
    with nogil:
        for u in range(cells.shape[0]):
            gate = <intp_t> cells[u, 1]
            beam = <intp_t> cells[u, 2]
            eps[u, 0] = scan_window
            eps[u, 1] = g
            eps[u, 2] = half_axes[gate, beam]
            row_ids[u] = gate * n_beams + beam


def by_first_appearance(intp_t[::1] labels, intp_t n_ids):
    """Renumber cluster ids 0, 1, ... in order of first appearance in ``labels``
    (IN/OUT; ids in [0, n_ids), -1 kept)."""
    cdef intp_t n = labels.shape[0], i, label, next_id = 0
    cdef intp_t[::1] new_id = np.full(max(n_ids, 1), -1, dtype=np.intp)
    with nogil:
        for i in range(n):
            label = labels[i]
            if label >= 0:
                if new_id[label] < 0:
                    new_id[label] = next_id
                    next_id += 1
                labels[i] = new_id[label]


def reference_labels(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
                     const uint8_t[::1] is_core, const intp_t[::1] visit,
                     const int64_t[::1] visit_scan, intp_t[::1] labels, intp_t[::1] reported):
    """The reference algorithm's labels, as it reports them scan by scan.

    Parameters
    ----------
    index : SpatialIndex                  # IN: neighbourhood searches
    points : (n, d) array                 # IN: index.points
    eps : EpsRows                         # IN: eps by position
    is_core : (n,) uint8                  # IN: core flags by position
    visit : (m,) intp                     # IN: the rows' positions in visiting order
    visit_scan : (m,) int64               # IN: the scan of each visit, non-decreasing
    labels : (n,) intp                    # OUT: final internal labels, -1 noise
    reported : (m,) intp                  # OUT: label of visit[k] when its scan was done

    Returns
    -------
    n_clusters : int
        Number of cluster ids created, in order of creation (some may have
        lost every member).
    """
    cdef intp_t n = points.shape[0], d = points.shape[1], m = visit.shape[0]
    cdef Workspace work = Workspace(1, d)
    cdef intp_t* queue = <intp_t*> malloc(max(n, 1) * sizeof(intp_t))
    cdef intp_t* label = &labels[0] if n else NULL
    cdef const floating* coords = &points[0, 0] if n else NULL
    cdef intp_t v, s, k, scan_start = 0, cluster = 0, head, tail, p
    cdef int failed = 0
    if queue == NULL:
        raise MemoryError("gridscan: could not allocate the expansion queue")
    try:
        with nogil:
            for p in range(n):
                label[p] = UNLABELLED
            for s in range(m):
                poll_signals(s, CELLS_PER_POLL)
                v = visit[s]
                if label[v] == UNLABELLED:
                    if not is_core[v]:
                        label[v] = NOISE
                    else:
                        # The seed: every neighbour gets the new id and is queued,
                        # whatever its label.
                        tail = _neighbours(index, coords, d, &eps.table, v, work, True,
                                           cluster, label, queue, 0)
                        head = 0
                        while head < tail and tail >= 0:
                            poll_signals(head, CELLS_PER_POLL)
                            p = queue[head]
                            head += 1
                            if is_core[p]:
                                tail = _neighbours(index, coords, d, &eps.table, p, work, False,
                                                   cluster, label, queue, tail)
                        if tail < 0:
                            failed = 1
                            break
                        cluster += 1
                if s + 1 == m or visit_scan[s + 1] != visit_scan[s]:
                    # The scan is done: its rows' labels are reported now.
                    for k in range(scan_start, s + 1):
                        reported[k] = label[visit[k]]
                    scan_start = s + 1
    finally:
        free(queue)
    if failed:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")
    return cluster


cdef intp_t _neighbours(SpatialIndex index, const floating* points, intp_t d,
                        const EpsTable* e, intp_t p, Workspace work, bint seed, intp_t cluster,
                        intp_t* label, intp_t* queue, intp_t tail) noexcept nogil:
    """Label the neighbours of p with ``cluster`` and queue them (IN/OUT: label, queue).

    seed: every neighbour is relabelled and queued; else only unlabelled and
    noise neighbours are relabelled, and only the unlabelled ones queued.
    Returns the new queue length, or -1 when memory runs out.
    """
    cdef const double* ep = e.values + p * e.row_stride
    cdef Query* query = work.queries[0]
    cdef RangeList* ranges = work.ranges[0]
    cdef intp_t r, j, current
    ranges.size = 0
    load_point_query(query, &points[p * d], e, p, FORWARD, d)
    if index.candidates(query, FORWARD, ranges) < 0:
        return -1
    for r in range(ranges.size):
        if seed:
            for j in range(ranges.start[r], ranges.end[r]):
                if ranges.full[r] or within(&points[p * d], &points[j * d], ep, e.n_cols,
                                            &index.norm):
                    queue[tail] = j
                    tail += 1
                    label[j] = cluster
        else:
            for j in range(ranges.start[r], ranges.end[r]):
                if not ranges.full[r] and not within(&points[p * d], &points[j * d], ep,
                                                     e.n_cols, &index.norm):
                    continue
                current = label[j]
                if current == UNLABELLED:
                    queue[tail] = j
                    tail += 1
                    label[j] = cluster
                elif current == NOISE:
                    label[j] = cluster
    return tail
