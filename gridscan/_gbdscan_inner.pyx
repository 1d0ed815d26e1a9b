# Compiled parts of GBDSCAN (gridscan/_gbdscan.py): the rows' cells, and the
# clustering of the distinct occupied cells.
#
# Input rows are X[i] = (gate, beam[, scan]) as int64 or float64.  A cell is
# numbered in C order over the grid (n_scans, n_gates, n_beams):
# (scan * n_gates + gate) * n_beams + beam.  The distinct occupied cells are
# kept in ascending cell number, i.e. in (scan, gate, beam) order; a cell's
# *position* is its rank in that order.
#
# Stencils.  The neighbourhood of the cell (s, i, j) is every cell (s', i', j')
# with |s' - s| <= scan_eps and (di / g)**2 + (dj / b)**2 <= 1, where di = i' - i,
# dj = j' - j and b is the beam half-axis of (i, j), evaluated by the shared
# kernel (_kernels.pxd, within_offsets) so that it is exactly the test of the
# general index.  For each gate offset di in [-reach, reach] the cells inside
# form one run of beams |dj| <= width[di] (the kernel grows with |dj|), -1 when
# none; with periodic beams (a radar turning full circle) dj is the shorter way
# round and a run may wrap, becoming two.  A run in one row of the grid
# (s', i' fixed) is consecutive cell numbers, hence one range of positions: a
# neighbourhood is at most 2 (2 scan_eps + 1) (2 reach + 1) ranges, and every
# position in them is a neighbour (no distance is computed).  A range's ends come from a dense
# table start[c] = number of occupied cells numbered below c when it fits,
# else from a binary search in the sorted cell numbers.
#
# Passes over the positions (OpenMP, without the GIL, independent of the
# number of threads):
#   core flags  |N(p)| >= pts_ratio * P(p), P(p) being the grid cells of the
#               stencil clipped to the grid (both from the same loop);
#   connect     every core p unions with the core cells of its ranges in a
#               lock-free union-find whose roots are the smallest positions;
#   numbering   clusters numbered by their first core cell in (scan, gate,
#               beam) order, i.e. by root position (one sequential pass);
#   borders     a non-core cell takes the smallest label of the core cells
#               whose stencil holds it: a reverse search over the cells within
#               the widest stencil of each gate, each tested with its own width.
# predict is the border search for new cells against the core cells.
#
# Reference expansion (mode="reference", docs/semantics.rst, section
# 'Reference mode').  The core flags do not depend on labels and come from
# the parallel pass.  What remains is sequential by definition: rows are
# visited scan by scan, in input order within a scan; a row whose cell is
# labelled is skipped; an unlabelled non-core cell becomes noise; an
# unlabelled core cell starts a cluster whose seed overwrites the label of
# every member of its neighbourhood and queues them all; each queued core cell
# then labels its unlabelled or noise neighbours and queues the unlabelled
# ones.  When the loop has finished a scan, the labels of that scan's rows are
# read and reported: a later scan may still overwrite those cells (and the
# overwritten labels steer its own expansion), but not what was reported.
# Within one cluster a cell enters the queue at most once (only unlabelled
# cells are queued after the seed, and they are labelled at once), so a queue
# of n entries suffices.

import numpy as np

from gridscan._lattice import dense_table_fits

from cython.parallel cimport prange, threadid
from libc.math cimport fabs, floor, sqrt
from libc.stdint cimport int32_t, int64_t

from gridscan._index cimport parallel_chunk
from gridscan._kernels cimport EUCLIDEAN, Norm, within_offsets
from gridscan._signals cimport CELLS_PER_POLL, check_signals, poll_signals
from gridscan._typedefs cimport intp_t, uint8_t
from gridscan._union_find cimport gs_atomic_load, uf_find, uf_union

cdef enum:
    # Internal labels of the reference expansion besides cluster ids (>= 0).
    UNLABELLED = -2
    NOISE = -1
    # Cells between two checks for Ctrl-C in the parallel passes (thread 0).
    CHECK_SIGNALS_EVERY = 512

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


def distinct_cells(const int64_t[::1] numbers, const int64_t[::1] grid):
    """The distinct cells of the rows, in ascending cell number.

    Returns ``cells`` (the distinct numbers, ascending), ``coordinates`` ((n, 3)
    int64: scan, gate, beam of each), ``inverse`` (the position of every row's
    cell: ``numbers[i] == cells[inverse[i]]``) and ``start`` ((n_cells + 1,)
    intp, start[c] = number of distinct cells below c), or None for ``start``
    when a table over the whole grid would be too large for the number of rows
    (then a sort).
    """
    cdef intp_t n = numbers.shape[0], i, n_distinct = 0
    cdef int64_t c, n_cells = grid[0] * grid[1] * grid[2], scan = 0, gate = 0, beam = 0
    if not dense_table_fits(n_cells, n):
        cells, inverse = np.unique(np.asarray(numbers), return_inverse=True)
        rows, beams = np.divmod(cells, grid[2])
        scans, gates = np.divmod(rows, grid[1])
        return (cells, np.column_stack([scans, gates, beams]),
                inverse.astype(np.intp, copy=False).reshape(-1), None)
    start = np.zeros(n_cells + 1, dtype=np.intp)
    cdef intp_t[::1] start_view = start
    cdef intp_t[::1] inverse_view = np.empty(n, dtype=np.intp)
    cdef int64_t[::1] cells_view = np.empty(n, dtype=np.int64)
    cdef int64_t[:, ::1] coords = np.empty((n, 3), dtype=np.int64)
    with nogil:
        for i in range(n):
            start_view[numbers[i]] = 1
        # One pass over the grid in C order, the coordinates counted along.
        for c in range(n_cells):
            if start_view[c]:
                cells_view[n_distinct] = c
                coords[n_distinct, 0] = scan
                coords[n_distinct, 1] = gate
                coords[n_distinct, 2] = beam
                start_view[c] = n_distinct
                n_distinct += 1
            else:
                start_view[c] = n_distinct
            beam += 1
            if beam == grid[2]:
                beam = 0
                gate += 1
                if gate == grid[1]:
                    gate = 0
                    scan += 1
        start_view[n_cells] = n_distinct
        for i in range(n):
            inverse_view[i] = start_view[numbers[i]]
    return (np.asarray(cells_view)[:n_distinct].copy(),
            np.asarray(coords)[:n_distinct].copy(), np.asarray(inverse_view), start)


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


# ---- stencils ---------------------------------------------------------------


cdef inline Norm _ellipse_norm(const uint8_t* window) noexcept nogil:
    """The kernel of GBDSCAN's neighbourhood: euclidean over (gate, beam), scan a window."""
    cdef Norm norm
    norm.metric = EUCLIDEAN
    norm.p = 2.0
    norm.n_features = 3
    norm.window = window
    norm.period = NULL
    norm.plain_euclidean = False
    norm.periodic_euclidean = False
    return norm


cdef inline bint _inside(intp_t di, int64_t dj, double g, double b,
                         const Norm* norm) noexcept nogil:
    """Whether the offset (di gates, dj beams) lies in the ellipse of half-axes g and b."""
    cdef double dx[3]
    cdef double e[3]
    dx[0] = 0.0
    dx[1] = fabs(<double> di)
    dx[2] = fabs(<double> dj)
    e[0] = 1.0
    e[1] = g
    e[2] = b
    return within_offsets(dx, e, 3, norm)


def stencil_reach(double g, int64_t n_gates):
    """The largest gate offset inside an ellipse of gate half-axis g, within the grid."""
    cdef uint8_t window[3]
    window[:] = [1, 0, 0]
    cdef Norm norm = _ellipse_norm(window)
    cdef intp_t reach = <intp_t> min(floor(g), <double> (n_gates - 1))
    while reach > 0 and not _inside(reach, 0, g, 1.0, &norm):
        reach -= 1
    while reach < n_gates - 1 and _inside(reach + 1, 0, g, 1.0, &norm):
        reach += 1
    return reach


def stencil_widths(const double[::1] half_axes, double g, intp_t reach, int64_t n_beams,
                   int32_t[:, ::1] widths):
    """widths[u, di + reach] (OUT): the largest |dj| with (di, dj) inside the ellipse of
    half-axes g and half_axes[u], at most n_beams - 1; -1 when no dj is.  ``half_axes``
    holds one half-axis per (gate, beam) of the grid, gate-major."""
    cdef uint8_t window[3]
    window[:] = [1, 0, 0]
    cdef Norm norm = _ellipse_norm(window)
    cdef intp_t u, di
    cdef double b, guess, q
    cdef int64_t w
    with nogil:
        for u in range(half_axes.shape[0]):
            b = half_axes[u]
            for di in range(-reach, reach + 1):
                if not _inside(di, 0, g, b, &norm):
                    widths[u, di + reach] = -1
                    continue
                # Start near the answer, then settle it with the kernel itself.
                q = (<double> di) / g
                guess = b * sqrt(1.0 - q * q) if q * q < 1.0 else 0.0
                w = n_beams - 1 if not guess < n_beams - 1 else <int64_t> guess
                while w > 0 and not _inside(di, w, g, b, &norm):
                    w -= 1
                while w < n_beams - 1 and _inside(di, w + 1, g, b, &norm):
                    w += 1
                widths[u, di + reach] = <int32_t> w


# ---- the occupied cells and their neighbourhoods ----------------------------


cdef struct Cells:
    intp_t n                      # occupied cells (positions 0..n-1)
    const int64_t* number         # (n,) their cell numbers, ascending
    const int64_t* coords         # (n, 3) their scan, gate and beam
    const intp_t* start           # (n_cells + 1,) dense position table, or NULL
    int64_t n_scans, n_gates, n_beams
    int64_t scan_eps              # scans on each side in the window
    intp_t reach                  # largest gate offset of any stencil
    bint periodic_beams           # beam n_beams - 1 neighbours beam 0 (a full circle)
    const int32_t* width          # (n_gates * n_beams, 2 reach + 1) half-widths per offset
    const int32_t* gate_width     # (n_gates, 2 reach + 1) the widest of each gate's beams
    # The interior shortcut (dense table only): for a cell whose stencil lies
    # inside the grid, each run is cells number + run_start[k] .. number + run_end[k]
    # (exclusive) in the scan, shifted by n_gates * n_beams per scan.
    const int64_t* run_start      # (n_gates * n_beams, 2 reach + 1), empty runs 0..0
    const int64_t* run_end
    const int64_t* widest         # (n_gates * n_beams,) the widest run's half-width
    const int64_t* stencil_cells  # (n_gates * n_beams,) grid cells of one scan's runs


cdef inline intp_t _first_at(const Cells* c, int64_t cell) noexcept nogil:
    """Position of the first occupied cell numbered cell or more."""
    cdef intp_t lo = 0, hi = c.n, mid
    if c.start != NULL:
        return c.start[cell]
    while lo < hi:
        mid = (lo + hi) >> 1
        if c.number[mid] < cell:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline int _beam_runs(const Cells* c, int64_t beam, int64_t w,
                           int64_t* runs) noexcept nogil:
    """The beams at most w from ``beam`` as runs [runs[2k], runs[2k + 1]] (OUT), clipped to
    the grid or, with periodic beams, wrapped around it; returns their number (1 or 2)."""
    if c.periodic_beams:
        if 2 * w + 1 >= c.n_beams:
            runs[0], runs[1] = 0, c.n_beams - 1
            return 1
        if beam < w:
            runs[0], runs[1], runs[2], runs[3] = 0, beam + w, beam - w + c.n_beams, c.n_beams - 1
            return 2
        if beam + w >= c.n_beams:
            runs[0], runs[1], runs[2], runs[3] = beam - w, c.n_beams - 1, 0, beam + w - c.n_beams
            return 2
    runs[0] = beam - w if beam > w else 0
    runs[1] = beam + w if beam + w < c.n_beams else c.n_beams - 1
    return 1


cdef inline int64_t _beam_distance(const Cells* c, int64_t a, int64_t b) noexcept nogil:
    """|a - b| in beams; the shorter way round with periodic beams."""
    cdef int64_t d = a - b if a > b else b - a
    if c.periodic_beams and c.n_beams - d < d:
        return c.n_beams - d
    return d


cdef inline void _take(intp_t lo, intp_t hi, intp_t* bounds, intp_t* r,
                       intp_t* found) noexcept nogil:
    """Count the positions [lo, hi) into found, or append them to bounds as range r."""
    if bounds == NULL:
        found[0] += hi - lo
    elif hi > lo:
        bounds[2 * r[0]] = lo
        bounds[2 * r[0] + 1] = hi
        r[0] += 1


cdef inline intp_t _ranges(const Cells* c, const int64_t* cell, intp_t* bounds,
                           int64_t* covered) noexcept nogil:
    """The occupied cells in the stencil of ``cell`` (scan, gate, beam).

    With ``bounds``: the position ranges [bounds[2r], bounds[2r + 1]) (OUT),
    their number returned.  With bounds NULL: the number of cells returned.
    covered (OUT, or NULL) = the grid cells of the stencil clipped to the grid.
    """
    cdef int64_t scan = cell[0], gate = cell[1], beam = cell[2], gb = gate * c.n_beams + beam
    cdef intp_t stride = 2 * c.reach + 1
    cdef const int32_t* width = c.width + gb * stride
    cdef int64_t _s, s0, s1, i, row, cells_per_scan = 0
    cdef int64_t runs[4]
    cdef intp_t di, k, n_runs, r = 0, found = 0
    if (c.start != NULL and scan >= c.scan_eps and scan + c.scan_eps < c.n_scans
            and gate >= c.reach and gate + c.reach < c.n_gates
            and beam >= c.widest[gb] and beam + c.widest[gb] < c.n_beams):
        # The stencil lies inside the grid: no run is clipped or wraps, and each is a
        # fixed offset from the cell's own number.
        row = ((scan - c.scan_eps) * c.n_gates + gate) * c.n_beams + beam
        for _s in range(2 * c.scan_eps + 1):
            for k in range(stride):
                _take(c.start[row + c.run_start[gb * stride + k]],
                      c.start[row + c.run_end[gb * stride + k]], bounds, &r, &found)
            row += c.n_gates * c.n_beams
        if covered != NULL:
            covered[0] = c.stencil_cells[gb] * (2 * c.scan_eps + 1)
        return found if bounds == NULL else r
    s0 = scan - c.scan_eps if scan > c.scan_eps else 0
    s1 = scan + c.scan_eps if scan + c.scan_eps < c.n_scans else c.n_scans - 1
    for di in range(-c.reach, c.reach + 1):
        i = gate + di
        if i < 0 or i >= c.n_gates or width[di + c.reach] < 0:
            continue
        n_runs = _beam_runs(c, beam, width[di + c.reach], runs)
        for k in range(n_runs):
            cells_per_scan += runs[2 * k + 1] - runs[2 * k] + 1
            row = (s0 * c.n_gates + i) * c.n_beams
            for _s in range(s0, s1 + 1):
                _take(_first_at(c, row + runs[2 * k]), _first_at(c, row + runs[2 * k + 1] + 1),
                      bounds, &r, &found)
                row += c.n_gates * c.n_beams
    if covered != NULL:
        covered[0] = cells_per_scan * (s1 - s0 + 1)
    return found if bounds == NULL else r


cdef inline intp_t _reaching_label(const Cells* c, int64_t scan, int64_t gate, int64_t beam,
                                   const uint8_t* is_core, const intp_t* labels) noexcept nogil:
    """The smallest label of the core cells whose stencil holds (scan, gate, beam), or -1."""
    cdef int64_t s, s0, s1, ip, w, row, pb
    cdef int64_t runs[4]
    cdef intp_t dd, p, k, n_runs, end, best = -1, stride = 2 * c.reach + 1
    s0 = scan - c.scan_eps if scan > c.scan_eps else 0
    s1 = scan + c.scan_eps if scan + c.scan_eps < c.n_scans else c.n_scans - 1
    for dd in range(-c.reach, c.reach + 1):
        # A cell p at gate ip = gate - dd holds this one in its stencil row dd.
        ip = gate - dd
        if ip < 0 or ip >= c.n_gates or c.gate_width[ip * stride + dd + c.reach] < 0:
            continue
        n_runs = _beam_runs(c, beam, c.gate_width[ip * stride + dd + c.reach], runs)
        for k in range(n_runs):
            for s in range(s0, s1 + 1):
                row = (s * c.n_gates + ip) * c.n_beams
                end = _first_at(c, row + runs[2 * k + 1] + 1)
                for p in range(_first_at(c, row + runs[2 * k]), end):
                    if not is_core[p] or (best >= 0 and labels[p] >= best):
                        continue
                    pb = c.coords[3 * p + 2]
                    w = c.width[(ip * c.n_beams + pb) * stride + dd + c.reach]
                    if w >= 0 and _beam_distance(c, pb, beam) <= w:
                        best = labels[p]
    return best


cdef class CellSet:
    """Occupied cells of a grid with their stencils: GBDSCAN's index and passes.

    Parameters
    ----------
    number : (n,) int64, ascending          # IN: distinct cell numbers
    coords : (n, 3) int64                   # IN: their scan, gate and beam
    start : (n_cells + 1,) intp or None     # IN: dense position table (distinct_cells)
    grid : (3,) int64                       # IN: n_scans, n_gates, n_beams
    scan_eps : int                          # IN: scans on each side
    widths : (n_gates * n_beams, 2 reach + 1) int32   # IN: stencil_widths of the grid
    periodic_beams : bool                   # IN: the beams wrap around (a full circle)
    """

    cdef Cells cells
    cdef object _arrays           # keeps the buffers behind the pointers alive
    cdef readonly intp_t n_ranges  # most ranges of one neighbourhood

    def __cinit__(self, const int64_t[::1] number, const int64_t[:, ::1] coords, start,
                  const int64_t[::1] grid, int64_t scan_eps, const int32_t[:, ::1] widths,
                  bint periodic_beams):
        cdef intp_t n = number.shape[0], reach = (widths.shape[1] - 1) // 2
        gate_width = np.asarray(widths).reshape(grid[1], grid[2], -1).max(axis=1)
        cdef const int32_t[:, ::1] gw = np.ascontiguousarray(gate_width)
        # The interior shortcut's runs, as offsets from a cell's number.
        w = np.asarray(widths, dtype=np.int64)
        offset = np.arange(-reach, reach + 1, dtype=np.int64) * grid[2]
        inside = w >= 0
        cdef const int64_t[:, ::1] run_start = np.where(inside, offset - w, 0)
        cdef const int64_t[:, ::1] run_end = np.where(inside, offset + w + 1, 0)
        cdef const int64_t[::1] widest = w.max(axis=1)
        cdef const int64_t[::1] stencil_cells = np.where(inside, 2 * w + 1, 0).sum(axis=1)
        cdef const intp_t[::1] start_view
        self.cells.start = NULL
        if start is not None:
            start_view = start
            self.cells.start = &start_view[0]
        self._arrays = (number, coords, start, widths, gw, run_start, run_end, widest,
                        stencil_cells)
        self.cells.run_start = &run_start[0, 0]
        self.cells.run_end = &run_end[0, 0]
        self.cells.widest = &widest[0]
        self.cells.stencil_cells = &stencil_cells[0]
        self.cells.n = n
        self.cells.number = &number[0] if n else NULL
        self.cells.coords = &coords[0, 0] if n else NULL
        self.cells.n_scans = grid[0]
        self.cells.n_gates = grid[1]
        self.cells.n_beams = grid[2]
        self.cells.scan_eps = min(scan_eps, grid[0])
        self.cells.reach = reach
        self.cells.periodic_beams = periodic_beams
        self.cells.width = &widths[0, 0]
        self.cells.gate_width = &gw[0, 0]
        self.n_ranges = 2 * (2 * self.cells.scan_eps + 1) * (2 * reach + 1)

    def core_flags(self, double pts_ratio, int n_threads):
        """(n,) uint8: whether each cell's neighbourhood holds at least pts_ratio times
        the grid cells of its clipped stencil (the product in double)."""
        cdef const Cells* c = &self.cells
        cdef intp_t n = c.n, u, found, chunk = parallel_chunk(n, n_threads)
        cdef int64_t covered
        is_core = np.empty(n, dtype=np.uint8)
        cdef uint8_t[::1] core = is_core
        with nogil:
            for u in prange(n, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
                if threadid() == 0 and u % CHECK_SIGNALS_EVERY == 0:
                    check_signals()
                # Assigned here, so that each thread has its own (Cython shares a variable
                # of a prange body that is only written through its address).
                covered = 0
                found = _ranges(c, c.coords + 3 * u, NULL, &covered)
                core[u] = <double> found >= pts_ratio * <double> covered
        return is_core

    def cluster_labels(self, const uint8_t[::1] is_core, int n_threads):
        """(n,) intp labels of the consistent mode: components of the core cells numbered
        by their first core cell, borders to the smallest reaching label, else -1."""
        cdef const Cells* c = &self.cells
        cdef intp_t n = c.n, u, v, r, t, count, root, next_label = 0
        cdef intp_t chunk = parallel_chunk(n, n_threads)
        cdef intp_t[:, ::1] bounds = np.empty((n_threads, 2 * self.n_ranges), dtype=np.intp)
        cdef intp_t* span
        cdef intp_t[::1] parent = np.arange(n, dtype=np.intp)
        labels = np.empty(n, dtype=np.intp)
        cdef intp_t[::1] label = labels
        with nogil:
            for u in prange(n, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
                if not is_core[u]:
                    continue
                t = threadid()
                if t == 0 and u % CHECK_SIGNALS_EVERY == 0:
                    check_signals()
                span = &bounds[t, 0]
                count = _ranges(c, c.coords + 3 * u, span, NULL)
                root = uf_find(&parent[0], u)
                for r in range(count):
                    for v in range(span[2 * r], span[2 * r + 1]):
                        # A cell whose parent is u's (possibly former) root is in u's set.
                        if not is_core[v] or gs_atomic_load(&parent[v]) == root:
                            continue
                        uf_union(&parent[0], u, v)
                        root = uf_find(&parent[0], u)
            # Roots are the smallest positions: numbering them in order numbers the
            # clusters by their first core cell in (scan, gate, beam) order.
            for u in range(n):
                poll_signals(u, CELLS_PER_POLL * 256)
                if not is_core[u]:
                    label[u] = -1
                    continue
                root = uf_find(&parent[0], u)
                if root == u:
                    label[u] = next_label
                    next_label = next_label + 1
                else:
                    label[u] = label[root]
            for u in prange(n, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
                if is_core[u]:
                    continue
                if threadid() == 0 and u % CHECK_SIGNALS_EVERY == 0:
                    check_signals()
                label[u] = _reaching_label(c, c.coords[3 * u], c.coords[3 * u + 1],
                                           c.coords[3 * u + 2], &is_core[0], &label[0])
        return labels

    def predict(self, const int64_t[:, ::1] cells, const intp_t[::1] labels, int n_threads):
        """(m,) intp: for each cell (scan, gate, beam) on the grid, the smallest label of
        the cells of this set (all core) whose stencil holds it, else -1."""
        cdef const Cells* c = &self.cells
        cdef intp_t m = cells.shape[0], q, chunk = parallel_chunk(m, n_threads)
        out = np.full(m, -1, dtype=np.intp)
        if c.n == 0:
            return out
        cdef uint8_t[::1] all_core = np.ones(c.n, dtype=np.uint8)
        cdef intp_t[::1] result = out
        with nogil:
            for q in prange(m, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
                if threadid() == 0 and q % CHECK_SIGNALS_EVERY == 0:
                    check_signals()
                result[q] = _reaching_label(c, cells[q, 0], cells[q, 1], cells[q, 2],
                                            &all_core[0], &labels[0])
        return out

    def reference_labels(self, const uint8_t[::1] is_core, const intp_t[::1] visit,
                         const int64_t[::1] visit_scan, intp_t[::1] reported):
        """The reference algorithm's labels, as it reports them scan by scan.

        Parameters
        ----------
        is_core : (n,) uint8                  # IN: core flags by position
        visit : (m,) intp                     # IN: the rows' positions in visiting order
        visit_scan : (m,) int64               # IN: the scan of each visit, non-decreasing
        reported : (m,) intp                  # OUT: label of visit[k] when its scan was done

        Returns
        -------
        n_clusters : int
            Number of cluster ids created, in order of creation (some may have
            lost every member).
        """
        cdef const Cells* c = &self.cells
        cdef intp_t n = c.n, m = visit.shape[0]
        cdef intp_t v, s, k, r, j, count, scan_start = 0, cluster = 0, head, tail, p, current
        cdef intp_t[::1] label = np.full(max(n, 1), UNLABELLED, dtype=np.intp)
        cdef intp_t[::1] queue = np.empty(max(n, 1), dtype=np.intp)
        cdef intp_t[::1] bounds = np.empty(2 * self.n_ranges, dtype=np.intp)
        with nogil:
            for s in range(m):
                poll_signals(s, CELLS_PER_POLL)
                v = visit[s]
                if label[v] == UNLABELLED:
                    if not is_core[v]:
                        label[v] = NOISE
                    else:
                        # The seed: every neighbour gets the new id and is queued,
                        # whatever its label.
                        count = _ranges(c, c.coords + 3 * v, &bounds[0], NULL)
                        tail = 0
                        for r in range(count):
                            for j in range(bounds[2 * r], bounds[2 * r + 1]):
                                label[j] = cluster
                                queue[tail] = j
                                tail = tail + 1
                        head = 0
                        while head < tail:
                            poll_signals(head, CELLS_PER_POLL)
                            p = queue[head]
                            head = head + 1
                            if not is_core[p]:
                                continue
                            count = _ranges(c, c.coords + 3 * p, &bounds[0], NULL)
                            for r in range(count):
                                for j in range(bounds[2 * r], bounds[2 * r + 1]):
                                    current = label[j]
                                    if current == UNLABELLED:
                                        queue[tail] = j
                                        tail = tail + 1
                                        label[j] = cluster
                                    elif current == NOISE:
                                        label[j] = cluster
                        cluster = cluster + 1
                if s + 1 == m or visit_scan[s + 1] != visit_scan[s]:
                    # The scan is done: its rows' labels are reported now.
                    for k in range(scan_start, s + 1):
                        reported[k] = label[visit[k]]
                    scan_start = s + 1
        return cluster
