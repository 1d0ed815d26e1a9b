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
# position in them is a neighbour (no distance is computed).  Each (gate, beam)'s
# runs are computed once, clipped to the grid (or wrapped round it), as offsets
# from the cell's own number (CSR: run_ptr, run_lo, run_hi), so a cell only
# clips its scan window.  A range's ends come from a dense int32 table
# start[c] = number of occupied cells numbered below c when it fits, else from a
# binary search in the sorted cell numbers.
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
# of n entries suffices.  Queueing only core cells changes nothing (a queued
# non-core cell does nothing), and the order of the queue does not change the
# result.  The expansion is written for the processor: a cell's neighbour
# positions are gathered and its neighbours' labels updated without branches on
# the data (mispredicted branches were most of its time), and the memory the
# next queued cells will read is prefetched (waiting for it was most of the rest).

import numpy as np

from gridscan._lattice_layout import dense_table_fits

from cython.parallel cimport prange, threadid
from libc.math cimport fabs, floor, sqrt
from libc.stdint cimport int32_t, int64_t

from gridscan._index cimport parallel_chunk
from gridscan._kernels cimport EUCLIDEAN, Norm, within_offsets
from gridscan._signals cimport CELLS_PER_POLL, check_signals, poll_signals
from gridscan._typedefs cimport intp_t, uint8_t
from gridscan._union_find cimport gs_atomic_load, uf_find, uf_union

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define gs_prefetch(address) __builtin_prefetch(address)
    #else
    #define gs_prefetch(address) ((void) (address))
    #endif
    """
    # A hint that the memory at address will be read soon (no effect on results).
    void gs_prefetch(const void* address) noexcept nogil

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


def _dense_positions(int64_t n_cells, intp_t n):
    """Whether the positions of n cells are kept in a dense int32 table over n_cells."""
    return n < 2 ** 31 - 1 and dense_table_fits(n_cells, n)


def distinct_cells(const cell_value[:, ::1] X, const int64_t[::1] numbers,
                   const int64_t[::1] grid):
    """The distinct cells of the rows X (numbered ``numbers`` by cell_numbers), in
    ascending cell number.

    Returns ``cells`` (the distinct numbers, ascending), ``coordinates`` ((n, 3)
    int64: scan, gate, beam of each), ``inverse`` (the position of every row's
    cell: ``numbers[i] == cells[inverse[i]]``) and ``start`` (position_table's).
    """
    cdef intp_t n = numbers.shape[0], i, p
    cdef int32_t occupied, n_distinct = 0
    cdef int64_t c, n_cells = grid[0] * grid[1] * grid[2]
    if not _dense_positions(n_cells, n):
        cells, inverse = np.unique(np.asarray(numbers), return_inverse=True)
        rows, beams = np.divmod(cells, grid[2])
        scans, gates = np.divmod(rows, grid[1])
        return (cells, np.column_stack([scans, gates, beams]),
                inverse.astype(np.intp, copy=False).reshape(-1), None)
    start = np.zeros(n_cells + 1, dtype=np.int32)
    cdef int32_t[::1] start_view = start
    cdef intp_t[::1] inverse_view = np.empty(n, dtype=np.intp)
    cdef int64_t[::1] cells_view = np.empty(n, dtype=np.int64)
    cdef int64_t[:, ::1] coords = np.empty((n, 3), dtype=np.int64)
    with nogil:
        for i in range(n):
            start_view[numbers[i]] = 1
        # Positions: the occupied cells numbered below each cell (no branch on the data).
        for c in range(n_cells):
            occupied = start_view[c]
            start_view[c] = n_distinct
            n_distinct += occupied
        start_view[n_cells] = n_distinct
        # Every row writes its cell's entries (a repeated cell the same ones again).
        for i in range(n):
            c = numbers[i]
            p = start_view[c]
            inverse_view[i] = p
            cells_view[p] = c
            coords[p, 0] = _column(X, i, 0)
            coords[p, 1] = _column(X, i, 1)
            coords[p, 2] = _column(X, i, 2)
    cells, coordinates = np.asarray(cells_view)[:n_distinct], np.asarray(coords)[:n_distinct]
    if 2 * n_distinct < n:
        # Mostly repeated rows: do not keep room for them.
        cells, coordinates = cells.copy(), coordinates.copy()
    return cells, coordinates, np.asarray(inverse_view), start


def position_table(const int64_t[::1] cells, const int64_t[::1] grid):
    """(n_cells + 1,) int32 start[c] = the number of ``cells`` (distinct, ascending) below
    cell c, or None when a table over the whole grid would be too large for them, or
    they too many for int32 (then positions come from a binary search)."""
    cdef intp_t n = cells.shape[0], i
    cdef int32_t n_below = 0
    cdef int64_t c, n_cells = grid[0] * grid[1] * grid[2]
    if not _dense_positions(n_cells, n):
        return None
    start = np.empty(n_cells + 1, dtype=np.int32)
    cdef int32_t[::1] start_view = start
    with nogil:
        c = 0
        for i in range(n):
            while c <= cells[i]:
                start_view[c] = n_below
                c += 1
            n_below += 1
        while c <= n_cells:
            start_view[c] = n_below
            c += 1
    return start


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
    const int32_t* start          # (n_cells + 1,) dense position table, or NULL
    int64_t n_scans, n_gates, n_beams
    int64_t scan_eps              # scans on each side in the window
    intp_t reach                  # largest gate offset of any stencil
    bint periodic_beams           # beam n_beams - 1 neighbours beam 0 (a full circle)
    const int32_t* width          # (n_gates * n_beams, 2 reach + 1) half-widths per offset
    const int32_t* gate_width     # (n_gates, 2 reach + 1) the widest of each gate's beams
    int64_t scan_cells            # n_gates * n_beams: cell numbers per scan
    # The clipped stencil of every (gate, beam) u as runs of cell numbers in one scan:
    # runs run_ptr[u] .. run_ptr[u + 1] - 1, run k being the cells number + run_lo[k]
    # .. number + run_hi[k] (exclusive), number being the cell's own in that scan.
    const intp_t* run_ptr         # (n_gates * n_beams + 1,)
    const int64_t* run_lo         # (run_ptr[n_gates * n_beams],)
    const int64_t* run_hi
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


cdef inline void _window(const Cells* c, intp_t p, int64_t* base, int64_t* n_scans,
                         intp_t* k0, intp_t* k1, int64_t* cells_per_scan) noexcept nogil:
    """Where the stencil of position p lies (all OUT): the cell number of p's (gate, beam)
    in the window's first scan, the scans of the window clipped to the grid, p's runs
    k0 .. k1 - 1, and the grid cells they cover in one scan."""
    cdef const int64_t* at = c.coords + 3 * p
    cdef int64_t scan = at[0], gb = at[1] * c.n_beams + at[2]
    cdef int64_t s0 = scan - c.scan_eps if scan > c.scan_eps else 0
    cdef int64_t s1 = scan + c.scan_eps if scan + c.scan_eps < c.n_scans else c.n_scans - 1
    base[0] = s0 * c.scan_cells + gb
    n_scans[0] = s1 - s0 + 1
    k0[0] = c.run_ptr[gb]
    k1[0] = c.run_ptr[gb + 1]
    cells_per_scan[0] = c.stencil_cells[gb]


cdef inline intp_t _count(const Cells* c, intp_t p, int64_t* covered) noexcept nogil:
    """The number of occupied cells in the stencil of position p; covered (OUT) = the grid
    cells of the stencil clipped to the grid."""
    cdef int64_t base, n_scans, cells_per_scan, _scan
    cdef intp_t k, k0, k1, found = 0
    _window(c, p, &base, &n_scans, &k0, &k1, &cells_per_scan)
    for _scan in range(n_scans):
        for k in range(k0, k1):
            found += _first_at(c, base + c.run_hi[k]) - _first_at(c, base + c.run_lo[k])
        base += c.scan_cells
    covered[0] = cells_per_scan * n_scans
    return found


cdef inline intp_t _ranges(const Cells* c, intp_t p, intp_t* bounds) noexcept nogil:
    """The occupied cells in the stencil of position p as position ranges
    [bounds[2r], bounds[2r + 1]) (OUT), empty ones left out; returns their number."""
    cdef int64_t base, n_scans, cells_per_scan, _scan
    cdef intp_t k, k0, k1, lo, hi, r = 0
    _window(c, p, &base, &n_scans, &k0, &k1, &cells_per_scan)
    for _scan in range(n_scans):
        for k in range(k0, k1):
            lo = _first_at(c, base + c.run_lo[k])
            hi = _first_at(c, base + c.run_hi[k])
            bounds[2 * r] = lo
            bounds[2 * r + 1] = hi
            r += hi > lo
        base += c.scan_cells
    return r


cdef inline void _prefetch_window(const Cells* c, intp_t p, const intp_t* label,
                                  const uint8_t* core) noexcept nogil:
    """Ask for the table entries of p's stencil runs or, with label and core, for the
    labels and core flags of its neighbours (then the table entries should be in
    the cache)."""
    cdef int64_t base, n_scans, cells_per_scan, _scan
    cdef intp_t k, k0, k1, at
    if c.start == NULL:
        return
    _window(c, p, &base, &n_scans, &k0, &k1, &cells_per_scan)
    for _scan in range(n_scans):
        for k in range(k0, k1):
            if label == NULL:
                gs_prefetch(c.start + base + c.run_lo[k])
            else:
                at = c.start[base + c.run_lo[k]]
                gs_prefetch(label + at)
                gs_prefetch(core + at)
        base += c.scan_cells


cdef inline intp_t _neighbours(const Cells* c, intp_t p, intp_t* found) noexcept nogil:
    """The positions of the occupied cells in the stencil of position p into found (OUT,
    room for (2 scan_eps + 1) * max(stencil_cells) entries); returns their number.

    Without a branch on the data: each run's positions are written for as many steps
    as the run has grid cells (a number that depends only on p's gate and beam), and
    the next run overwrites what lies past its occupied ones.
    """
    cdef int64_t base, n_scans, cells_per_scan, _scan, t, length
    cdef intp_t k, k0, k1, lo, m = 0
    _window(c, p, &base, &n_scans, &k0, &k1, &cells_per_scan)
    for _scan in range(n_scans):
        for k in range(k0, k1):
            lo = _first_at(c, base + c.run_lo[k])
            length = c.run_hi[k] - c.run_lo[k]
            for t in range(length):
                found[m + t] = lo + t
            m += _first_at(c, base + c.run_hi[k]) - lo
        base += c.scan_cells
    return m


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


cdef void _stencil_runs(const Cells* c, intp_t* run_ptr, int64_t* run_lo, int64_t* run_hi,
                        int64_t* stencil_cells) noexcept nogil:
    """The runs of every (gate, beam) u's stencil in one scan, clipped to the grid (or
    wrapped round it), in order of gate offset then beam.  With run_lo NULL: their
    numbers into run_ptr[u + 1] (OUT), then run_ptr made cumulative.  Otherwise
    (run_ptr IN): run k's cells number + run_lo[k] .. number + run_hi[k] - 1 (OUT),
    and stencil_cells[u] (OUT) = the grid cells of u's runs."""
    cdef intp_t stride = 2 * c.reach + 1, di, k, n_runs, r
    cdef int64_t gate, beam, i, u, w, cells
    cdef int64_t runs[4]
    for gate in range(c.n_gates):
        for beam in range(c.n_beams):
            u = gate * c.n_beams + beam
            r = 0 if run_lo == NULL else run_ptr[u]
            cells = 0
            for di in range(-c.reach, c.reach + 1):
                i = gate + di
                w = c.width[u * stride + di + c.reach]
                if i < 0 or i >= c.n_gates or w < 0:
                    continue
                n_runs = _beam_runs(c, beam, w, runs)
                for k in range(n_runs):
                    if run_lo != NULL:
                        run_lo[r] = di * c.n_beams + runs[2 * k] - beam
                        run_hi[r] = di * c.n_beams + runs[2 * k + 1] + 1 - beam
                        cells += runs[2 * k + 1] - runs[2 * k] + 1
                    r += 1
            if run_lo == NULL:
                run_ptr[u + 1] = r
            else:
                stencil_cells[u] = cells
    if run_lo == NULL:
        for u in range(c.n_gates * c.n_beams):
            run_ptr[u + 1] += run_ptr[u]


cdef inline intp_t _visited(const intp_t[::1] row_cell, const intp_t* order,
                            intp_t s) noexcept nogil:
    """The position of the s-th row visited: in row order, or in ``order`` when given."""
    return row_cell[s if order == NULL else order[s]]


cdef class CellSet:
    """Occupied cells of a grid with their stencils: GBDSCAN's index and passes.

    Parameters
    ----------
    number : (n,) int64, ascending          # IN: distinct cell numbers
    coords : (n, 3) int64                   # IN: their scan, gate and beam
    start : (n_cells + 1,) int32 or None    # IN: dense position table (distinct_cells)
    grid : (3,) int64                       # IN: n_scans, n_gates, n_beams
    scan_eps : int                          # IN: scans on each side
    widths : (n_gates * n_beams, 2 reach + 1) int32   # IN: stencil_widths of the grid
    periodic_beams : bool                   # IN: the beams wrap around (a full circle)
    """

    cdef Cells cells
    cdef object _arrays           # keeps the buffers behind the pointers alive
    cdef readonly intp_t n_ranges  # most ranges of one neighbourhood
    cdef readonly intp_t n_found   # room _neighbours needs: most grid cells of a stencil

    def __cinit__(self, const int64_t[::1] number, const int64_t[:, ::1] coords, start,
                  const int64_t[::1] grid, int64_t scan_eps, const int32_t[:, ::1] widths,
                  bint periodic_beams):
        cdef intp_t n = number.shape[0], reach = (widths.shape[1] - 1) // 2
        gate_width = np.asarray(widths).reshape(grid[1], grid[2], -1).max(axis=1)
        cdef const int32_t[:, ::1] gw = np.ascontiguousarray(gate_width)
        cdef const int32_t[::1] start_view
        self.cells.start = NULL
        if start is not None:
            start_view = start
            self.cells.start = &start_view[0]
        self.cells.n = n
        self.cells.number = &number[0] if n else NULL
        self.cells.coords = &coords[0, 0] if n else NULL
        self.cells.n_scans = grid[0]
        self.cells.n_gates = grid[1]
        self.cells.n_beams = grid[2]
        self.cells.scan_cells = grid[1] * grid[2]
        self.cells.scan_eps = min(scan_eps, grid[0])
        self.cells.reach = reach
        self.cells.periodic_beams = periodic_beams
        self.cells.width = &widths[0, 0]
        self.cells.gate_width = &gw[0, 0]
        # Every (gate, beam)'s runs: counted, then stored.
        cdef intp_t n_gb = grid[1] * grid[2]
        cdef intp_t[::1] run_ptr = np.zeros(n_gb + 1, dtype=np.intp)
        cdef int64_t[::1] stencil_cells = np.zeros(max(n_gb, 1), dtype=np.int64)
        _stencil_runs(&self.cells, &run_ptr[0], NULL, NULL, NULL)
        cdef int64_t[::1] run_lo = np.empty(max(run_ptr[n_gb], 1), dtype=np.int64)
        cdef int64_t[::1] run_hi = np.empty(max(run_ptr[n_gb], 1), dtype=np.int64)
        _stencil_runs(&self.cells, &run_ptr[0], &run_lo[0], &run_hi[0], &stencil_cells[0])
        self.cells.run_ptr = &run_ptr[0]
        self.cells.run_lo = &run_lo[0]
        self.cells.run_hi = &run_hi[0]
        self.cells.stencil_cells = &stencil_cells[0]
        self._arrays = (number, coords, start, widths, gw, run_ptr, run_lo, run_hi,
                        stencil_cells)
        most = int(np.max(np.diff(run_ptr))) if n_gb else 0
        self.n_ranges = max(1, (2 * self.cells.scan_eps + 1) * most)
        self.n_found = max(1, (2 * self.cells.scan_eps + 1) * int(np.max(stencil_cells)))

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
                found = _count(c, u, &covered)
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
                count = _ranges(c, u, span)
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

    def scan_order(self, const intp_t[::1] row_cell):
        """The reference's visiting order of the rows whose cells are at positions
        ``row_cell``: None when their scans never decrease (the rows' own order), else
        the rows sorted by scan, stably ((m,) intp)."""
        cdef const Cells* c = &self.cells
        cdef intp_t m = row_cell.shape[0], i
        cdef bint in_order = True
        with nogil:
            for i in range(1, m):
                if c.coords[3 * row_cell[i]] < c.coords[3 * row_cell[i - 1]]:
                    in_order = False
                    break
        if in_order:
            return None
        scans = np.asarray(self._arrays[1])[:, 0][np.asarray(row_cell)]
        return np.argsort(scans, kind="stable").astype(np.intp, copy=False)

    def reference_labels(self, const uint8_t[::1] is_core, const intp_t[::1] row_cell,
                         const intp_t[::1] order, intp_t[::1] reported):
        """The reference algorithm's labels, as it reports them scan by scan.

        Parameters
        ----------
        is_core : (n,) uint8                  # IN: core flags by position
        row_cell : (m,) intp                  # IN: the position of each row's cell
        order : (m,) intp or None             # IN: scan_order(row_cell)
        reported : (m,) intp                  # OUT: each row's label when its scan was done

        Returns
        -------
        n_clusters : int
            Number of cluster ids created, in order of creation (some may have
            lost every member).
        """
        cdef const Cells* c = &self.cells
        cdef intp_t n = c.n, m = row_cell.shape[0]
        cdef intp_t v, s, k, i, j, count, current, scan_start = 0, cluster = 0, head, tail
        cdef const intp_t* visit = NULL if order is None else &order[0]
        cdef intp_t[::1] label = np.full(max(n, 1), UNLABELLED, dtype=np.intp)
        cdef intp_t[::1] queue = np.empty(max(n, 1) + 1, dtype=np.intp)
        cdef intp_t[::1] found = np.empty(self.n_found, dtype=np.intp)
        with nogil:
            for s in range(m):
                poll_signals(s, CELLS_PER_POLL)
                v = _visited(row_cell, visit, s)
                if label[v] == UNLABELLED:
                    if not is_core[v]:
                        label[v] = NOISE
                    else:
                        # The seed: every neighbour gets the new id, whatever its label,
                        # and the core ones are queued (a queued non-core cell does
                        # nothing).  The loops below have no branch on the labels.
                        count = _neighbours(c, v, &found[0])
                        tail = 0
                        for i in range(count):
                            j = found[i]
                            label[j] = cluster
                            queue[tail] = j
                            tail += is_core[j]
                        head = 0
                        while head < tail:
                            poll_signals(head, CELLS_PER_POLL)
                            # The walk jumps between scans: fetch ahead what the next
                            # cells will read (their coordinates three ahead, their
                            # table entries two ahead, their neighbours' labels one ahead).
                            if head + 3 < tail:
                                gs_prefetch(c.coords + 3 * queue[head + 3])
                            if head + 2 < tail:
                                _prefetch_window(c, queue[head + 2], NULL, NULL)
                            if head + 1 < tail:
                                _prefetch_window(c, queue[head + 1], &label[0], &is_core[0])
                            count = _neighbours(c, queue[head], &found[0])
                            head = head + 1
                            # Unlabelled and noise neighbours take the id; unlabelled
                            # core ones are queued.
                            for i in range(count):
                                j = found[i]
                                current = label[j]
                                queue[tail] = j
                                tail += is_core[j] & (current == UNLABELLED)
                                label[j] = cluster if current < 0 else current
                        cluster = cluster + 1
                if s + 1 == m or c.coords[3 * _visited(row_cell, visit, s + 1)] != c.coords[3 * v]:
                    # The scan is done: its rows' labels are reported now.
                    for k in range(scan_start, s + 1):
                        if visit == NULL:
                            reported[k] = label[row_cell[k]]
                        else:
                            reported[visit[k]] = label[row_cell[visit[k]]]
                    scan_start = s + 1
        return cluster
