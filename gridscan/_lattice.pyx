# Lattice index for integer grid data (radar gate/beam/scan cells, pixels,
# voxels): an occupancy table plus cached neighbourhood stencils.
#
# Data layout.  The lattice is the box [origin, origin + shape) of integer
# cells, numbered in C order (the last feature varies fastest).  The points are
# sorted by cell, so one cell, and a run of consecutive cells along the last
# feature, is one range of positions:
#
#   dense   cell_start[c] .. cell_start[c + 1]  (prod(shape) + 1 entries), used
#           unless that table would be much larger than the data;
#   sparse  a binary search in pos_cell.
#
# pos_cell[pos] is the cell number of position pos and pos_last[pos] its last
# lattice coordinate.
#
# Stencils.  For an eps row e (_kernels.pxd) the stencil is the set of integer
# offsets z with within(0, z, e): exactly the cells of a neighbourhood centred
# on a cell, since the kernel only sees |z_k|, and integer coordinates subtract
# exactly.  Every neighbour has |z_k| <= e_k, so the stencil lies in the box
# |z_k| <= ext_k = floor(e_k), clipped to shape_k - 1 (no cell lies further).
# It is stored as rows over the first d - 1 features (C order over the box of
# those features) and, per row, the run [-h, h] of last-feature offsets inside
# it, if any: one run, since every compiled kernel grows with |z_last|, and h
# is found by bisection.  For searches each stencil also lists its runs as
# entries: prefix offsets, [lo, hi], and the cell-number offset of the prefix,
# so that a run around cell c is the cells c + delta + lo .. c + delta + hi.
# Stencils are cached per distinct eps row in a hash table keyed by the row's
# values, up to a memory budget; an eps row without a stencil falls back to its
# bounding box.
#
# Searches (see _index.pxd for Direction and full ranges):
#   FORWARD  every stencil run of the query's eps row is one range, full (and
#            possibly empty: testing for that costs more than it saves).
#   REVERSE  the candidate cells c lie in the envelope, the union of the
#            reflected stencils of the active points (set_point_eps).
#            c is taken whole when all its active points share one stencil
#            that holds x - c, skipped when that stencil does not or when no
#            point of c is active, and tested point by point otherwise.
#   UNION    both rules, over the hull of the query's stencil and the envelope.
# A query off the lattice (not integer, or outside the box) or without a
# stencil gets the rows of its bounding box, to be tested point by point.

import math

import numpy as np

from gridscan._index import take_rows

from libc.math cimport INFINITY, ceil, fabs, floor, fmax, fmin
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy
from cython.parallel cimport prange, threadid

from cython cimport floating

from gridscan._hashing cimport DoubleBits, mix_bits, same_values
from gridscan._index cimport EpsRows, Query, RangeList, SpatialIndex, range_push
from gridscan._kernels cimport FORWARD, REVERSE, UNION, Direction, Norm, within
from gridscan._signals cimport CELLS_PER_POLL, POINTS_PER_POLL, poll_signals
from gridscan._typedefs cimport intp_t

# Features a lattice may have (query scratch arrays live on the stack).
cdef enum:
    MAX_DIMS = 16
# The dense cell table is used while it has at most this many cells, or
# DENSE_CELLS_PER_POINT per indexed point if that is more.
DENSE_MIN_CELLS = 1 << 21
DENSE_CELLS_PER_POINT = 8
# Largest number of stencil entries (row pointers + runs) cached per index.
STENCIL_BUDGET = 1 << 22

# cell_sid values besides stencil ids (>= 0).
cdef enum CellSid:
    NO_ACTIVE = -1      # no point of the cell is active
    MIXED = -2          # active points with different or missing stencils

# Classification of a candidate cell (_reverse).
cdef enum CellKind:
    SKIP = 0            # no point of the cell is a neighbour: not pushed
    TEST = 1            # some may be: pushed for the per-pair test
    FULL = 2            # every point is a neighbour: pushed as a full range


cdef inline uint64_t _hash_row(const double* e, intp_t n_cols) noexcept nogil:
    cdef DoubleBits word
    cdef uint64_t h = <uint64_t> n_cols
    cdef intp_t k
    for k in range(n_cols):
        word.value = e[k]
        h = mix_bits(h ^ word.bits)
    return h


cdef int _reserve(void** buffer, intp_t* capacity, intp_t needed, size_t item) noexcept:
    """Grow a malloc'd buffer to hold at least ``needed`` items; -1 on no memory."""
    cdef intp_t grown = max(capacity[0], 16)
    cdef void* moved
    if needed <= capacity[0]:
        return 0
    while grown < needed:
        grown *= 2
    moved = realloc(buffer[0], grown * item)
    if moved == NULL:
        return -1
    buffer[0] = moved
    capacity[0] = grown
    return 0


cdef inline int _push_merged(RangeList* out, intp_t start, intp_t end,
                             bint full) noexcept nogil:
    """Append [start, end), extending the last range when it ends at start with the same flag."""
    cdef intp_t last = out.size - 1
    if start >= end:
        return 0
    if last >= 0 and out.end[last] == start and out.full[last] == full:
        out.end[last] = end
        return 0
    if out.size < out.capacity:
        out.start[out.size] = start
        out.end[out.size] = end
        out.full[out.size] = full
        out.block[out.size] = -1
        out.size += 1
        return 0
    return range_push(out, start, end, full, -1)


def dense_table_fits(n_cells, n_points):
    """Whether a dense table over n_cells cells is kept for n_points points."""
    return n_cells <= max(DENSE_MIN_CELLS, DENSE_CELLS_PER_POINT * n_points)


def lattice_layout(X, bounds=None):
    """How a LatticeIndex would store X: "dense", "sparse", or None when X is not a lattice.

    X is on a lattice when every coordinate is an integer (as a float) and it
    has at most 16 features.  ``bounds`` gives the lattice [0, bounds) to use
    when it fits densely; otherwise the box spanned by the data is used.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or not 1 <= X.shape[1] <= MAX_DIMS:
        return None
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    bad, low, high = _integer_extent(np.ascontiguousarray(X))
    if bad >= 0:
        return None
    _, shape = _lattice_box(low, high, X.shape[0], bounds)
    n_cells = math.prod(int(s) for s in shape)
    if dense_table_fits(n_cells, X.shape[0]):
        return "dense"
    return "sparse" if n_cells < 2 ** 62 else None


def _lattice_box(low, high, n_points, bounds):
    """(origin, shape) of the lattice: [0, bounds) when given and dense enough, else the
    box [low, high] spanned by the data."""
    if bounds is not None:
        shape = np.asarray(bounds, dtype=np.int64)
        if dense_table_fits(math.prod(int(s) for s in shape), n_points):
            return np.zeros_like(shape), shape
    return low, high - low + 1


def _integer_extent(const floating[:, ::1] X):
    """One pass over X: (first row that is not an integer cell, else -1; low; high).

    A coordinate is an integer cell when it is finite, integral and below 2**52
    in magnitude.  low and high (int64, (d,)) are the column minima and maxima.
    """
    cdef intp_t n = X.shape[0], d = X.shape[1], i, k, bad = -1
    cdef double v
    cdef int64_t whole
    cdef double[::1] low = np.full(d, INFINITY)
    cdef double[::1] high = np.full(d, -INFINITY)
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            for k in range(d):
                v = X[i, k]
                # NaN fails the first test; below 2**52 the cast drops only the fraction.
                if not fabs(v) < 4503599627370496.0:
                    bad = i
                    break
                whole = <int64_t> v
                if <double> whole != v:
                    bad = i
                    break
                if v < low[k]:
                    low[k] = v
                if v > high[k]:
                    high[k] = v
            if bad >= 0:
                break
    if bad >= 0:
        return bad, None, None
    return bad, np.asarray(low).astype(np.int64), np.asarray(high).astype(np.int64)


cdef class LatticeIndex(SpatialIndex):
    """Index for points on an integer lattice: occupancy table plus neighbourhood stencils.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points with integer coordinates (any float or integer dtype), at most
        16 features.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski"}, default="euclidean"
        Compiled metric.
    p : float, default=None
        Minkowski power (>= 1); None means 2.
    bounds : array-like of int of shape (n_features,), default=None
        Lattice [0, bounds) holding every point. It makes ``lattice_counts``
        exact from the stencils alone; None uses the box spanned by X.
    sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
        Each indexed point's own eps, for ``neighbors="union"`` searches.
    window_features : sequence of int, default=None
        Features compared on their own instead of inside the norm.

    Attributes
    ----------
    data : ndarray of shape (n_samples, n_features)
        The indexed points, in the order given.
    origin, shape : ndarray of shape (n_features,)
        The lattice box [origin, origin + shape).
    dense : bool
        Whether cells are found through a dense table (else by binary search).
    n_stencils : int
        Number of cached stencils.

    See Also
    --------
    gridscan.GridDBSCAN : uses this index with ``algorithm="grid"``, and with
        ``"auto"`` for integer data.
    gridscan.GBDSCAN : grid-based DBSCAN for radar cells, built on it.

    Notes
    -----
    A search costs O(rows of the stencil) ranges plus the points returned,
    independent of the number of points in the lattice: a neighbourhood
    covering k cells along the last feature is one range of positions. The
    stencil of an eps row is the exact set of cells inside the neighbourhood,
    computed once with the same kernel as every other index, so the ranges it
    produces need no per-point test.

    Like the other indexes, it keeps state for the next searches
    (``set_point_eps``): one clustering at a time per index.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan._lattice import LatticeIndex
    >>> X = np.array([[0, 0], [0, 1], [1, 1], [3, 3]])
    >>> index = LatticeIndex(X)
    >>> index.query_radius([[0, 0]], eps=[1.0, 1.0])[0]
    array([0, 1])
    >>> index.query_radius([[0, 0]], eps=1.5, count_only=True)
    array([3])
    """

    cdef readonly object data
    cdef readonly object origin
    cdef readonly object shape
    cdef readonly bint dense
    cdef readonly object bounds
    cdef object _cell_start_array
    cdef object _pos_cell_array
    cdef object _pos_last_array
    cdef const intp_t* cell_start
    cdef const int64_t* pos_cell
    cdef const intp_t* pos_last
    cdef intp_t lat_origin[MAX_DIMS]
    cdef intp_t lat_shape[MAX_DIMS]

    # Stencil cache (malloc'd; changed only by Python-level calls).
    cdef double* keys             # n_stencils x d key rows
    cdef intp_t* key_cols         # n_cols of each key
    cdef intp_t* st_ext           # n_stencils x d clipped extents
    cdef intp_t* st_row0          # first row pointer of each stencil in row_ptr
    cdef intp_t* row_ptr          # per stencil: (rows + 1) pointers into the runs
    cdef intp_t* run_lo
    cdef intp_t* run_hi
    cdef intp_t* slots            # hash table of stencil ids, -1 empty
    cdef intp_t* st_ent0          # first entry of each stencil (n_sids + 1 entries)
    cdef intp_t* ent_prefix       # per entry: the m = d - 1 prefix offsets
    cdef int64_t* ent_delta       # per entry: cell-number offset of the prefix
    cdef intp_t n_sids, n_rowptr, cap_rowptr, n_runs, cap_runs, n_slots
    cdef intp_t cap_keys, cap_cols, cap_ext, cap_row0, cap_ent0, cap_prefix, cap_delta
    cdef int64_t cell_stride[MAX_DIMS]

    # Eps of the indexed points (register_points) and activity (set_point_eps).
    cdef object _point_eps
    cdef object _point_sid_array
    cdef const intp_t* point_sid
    cdef object _cell_sid_array
    cdef const intp_t* cell_sid
    cdef bint any_active
    cdef bint env_valid
    cdef double max_reach
    cdef intp_t env_ext[MAX_DIMS]
    cdef object _env_lo_array
    cdef object _env_hi_array
    cdef const intp_t* env_lo
    cdef const intp_t* env_hi

    def __cinit__(self):
        self.keys = NULL
        self.key_cols = NULL
        self.st_ext = NULL
        self.st_row0 = NULL
        self.row_ptr = NULL
        self.run_lo = NULL
        self.run_hi = NULL
        self.slots = NULL
        self.n_sids = self.n_rowptr = self.cap_rowptr = 0
        self.n_runs = self.cap_runs = self.n_slots = 0
        self.cap_keys = self.cap_cols = self.cap_ext = self.cap_row0 = 0
        self.st_ent0 = NULL
        self.ent_prefix = NULL
        self.ent_delta = NULL
        self.cap_ent0 = self.cap_prefix = self.cap_delta = 0
        self.any_active = False
        self.env_valid = False

    def __dealloc__(self):
        free(self.keys)
        free(self.key_cols)
        free(self.st_ext)
        free(self.st_row0)
        free(self.row_ptr)
        free(self.run_lo)
        free(self.run_hi)
        free(self.st_ent0)
        free(self.ent_prefix)
        free(self.ent_delta)
        free(self.slots)

    def __init__(self, X, metric="euclidean", p=None, *, bounds=None, sample_eps=None,
                 window_features=None):
        from gridscan._validation import check_points, resolve_metric, window_mask
        X = check_points(X)
        n, d = X.shape
        if d > MAX_DIMS:
            raise ValueError(f"LatticeIndex handles at most {MAX_DIMS} features; X has {d}")
        bad, low, high = _integer_extent(X)
        if bad >= 0:
            raise ValueError(
                f"LatticeIndex needs integer coordinates; X[{bad}] = {X[bad].tolist()}")
        if bounds is not None:
            bounds = np.asarray(bounds)
            if bounds.shape != (d,) or not np.all(bounds == np.round(bounds)) \
                    or np.any(bounds < 1):
                raise ValueError(f"bounds must hold {d} positive integers; got {bounds!r}")
            bounds = bounds.astype(np.int64)
            if np.any(low < 0) or np.any(high >= bounds):
                row = int(np.flatnonzero(np.any((X < 0) | (X >= bounds), axis=1))[0])
                raise ValueError(
                    f"X[{row}] = {X[row].tolist()} lies outside bounds {tuple(bounds.tolist())}")
        metric, p = resolve_metric(metric, p)
        self.bounds = bounds
        self.data = X.view()
        self.data.flags.writeable = False
        origin, shape = _lattice_box(low, high, n, bounds)
        self.origin = origin
        self.shape = shape
        for k in range(d):
            self.lat_origin[k] = origin[k]
            self.lat_shape[k] = shape[k]
        self.cell_stride[d - 1] = 1
        for k in range(d - 2, -1, -1):
            self.cell_stride[k] = self.cell_stride[k + 1] * shape[k + 1]
        n_cells = math.prod(int(s) for s in shape)
        if n_cells >= 2 ** 62:
            raise ValueError(f"the lattice spanned by X has {n_cells} cells; at most 2**62 fit")
        self.dense = dense_table_fits(n_cells, n)
        pos_cell = np.empty(n, dtype=np.int64)
        in_order = _cell_numbers(X, origin, shape, pos_cell)
        order = np.arange(n, dtype=np.intp)
        if self.dense:
            cell_start = np.zeros(n_cells + 1, dtype=np.intp)
            _counting_sort(pos_cell, cell_start, order, in_order)
            self._cell_start_array = cell_start
            self.cell_start = _intp_pointer(cell_start)
        else:
            if not in_order:
                order = np.argsort(pos_cell, kind="stable").astype(np.intp, copy=False)
            self._cell_start_array = None
            self.cell_start = NULL
        if in_order:
            points = self.data
        else:
            pos_cell = pos_cell[order]
            points = take_rows(X, order)
        pos_last = np.empty(n, dtype=np.intp)
        _last_coordinates(points, origin[d - 1], pos_last)
        self._pos_cell_array = pos_cell
        self._pos_last_array = pos_last
        self.pos_cell = _int64_pointer(pos_cell)
        self.pos_last = _intp_pointer(pos_last)
        self._setup(points, order, metric, p, window_mask(window_features, d))
        self._set_own_eps(sample_eps)

    # ---- public, Python-level ------------------------------------------------

    @property
    def n_stencils(self):
        return self.n_sids

    def register(self, EpsRows eps):
        """Stencil id of every row of ``eps`` ((n_rows,) intp; -1 where none is cached)."""
        cdef const double[:, ::1] values = eps.values
        cdef intp_t n_rows = values.shape[0], n_cols = values.shape[1], r, sid
        cdef intp_t[::1] ids = np.empty(n_rows, dtype=np.intp)
        cdef intp_t previous = -1
        for r in range(n_rows):
            # Consecutive equal rows are common (shared rows, sorted data).
            if r > 0 and previous >= 0 and same_values(&values[r, 0], &values[r - 1, 0], n_cols):
                ids[r] = previous
                continue
            sid = self._find(&values[r, 0], n_cols)
            if sid < 0:
                sid = self._add_stencil(&values[r, 0], n_cols)
            ids[r] = sid
            previous = sid
        return ids.base

    def _set_point_eps(self, EpsRows eps, mask, int n_threads):
        """Record the indexed points' eps (by position) for REVERSE and UNION searches.

        Points whose mask entry is 0 are inactive: they can hold no query.
        """
        self.register_points(eps)
        reach = np.broadcast_to(eps.reach, (self.n_points,))
        self._set_active(reach if mask is None else reach * np.asarray(mask))

    def _prepare_searches(self, EpsRows eps, int n_threads):
        """Cache the stencils of the points' eps rows: FORWARD searches look them up."""
        self.register_points(eps)

    def register_points(self, eps):
        """Cache the stencils of the indexed points' eps (by position) for the next searches."""
        cdef EpsRows rows = eps
        if rows is self._point_eps:
            return
        ids = self.register(rows)
        if ids.shape[0] != self.n_points:
            ids = np.full(self.n_points, ids[0], dtype=np.intp)
        self._point_eps = rows
        self._point_sid_array = ids
        self.point_sid = _intp_pointer(ids)
        self.env_valid = False

    def _set_active(self, reach):
        """Active points (reach > 0, (n,)): per-cell stencils and the envelope."""
        cdef const double[::1] r = np.ascontiguousarray(reach, dtype=np.float64)
        cell_sid = np.empty(self.n_points, dtype=np.intp)
        used = np.zeros(max(self.n_sids, 1), dtype=np.uint8)
        all_known, largest = _cell_stencils(self._pos_cell_array, self._point_sid_array, r,
                                            cell_sid, used)
        self.any_active = largest > 0
        self.max_reach = largest
        self._cell_sid_array = cell_sid
        self.cell_sid = _intp_pointer(cell_sid)
        self.env_valid = bool(all_known)
        if all_known:
            self._build_envelope(np.flatnonzero(used))

    def lattice_counts(self, X, EpsRows eps, shape, out, n_threads):
        """out[i] (OUT) = number of cells of [0, shape) in the neighbourhood of X[i] (eps row i).

        Counted from the stencils when the lattice covers [0, shape); rows
        without a stencil, or any other lattice, are counted by scanning their box
        (gridscan._eps_model.lattice_counts).  Both give the same numbers.
        """
        from gridscan._eps_model import lattice_counts
        shape = np.ascontiguousarray(shape, dtype=np.intp)
        if not (np.all(self.origin == 0) and np.all(self.shape >= shape)):
            ids = np.full(X.shape[0], -1, dtype=np.intp)    # not covered: no stencil counts
        else:
            ids = self._point_sid_array if eps is self._point_eps and X is self.points \
                else self.register(eps)
            if ids.shape[0] == 1:
                ids = np.full(X.shape[0], ids[0], dtype=np.intp)
            _stencil_counts(self, X, ids, shape, out, n_threads)
        rows = np.flatnonzero(ids < 0)
        if rows.shape[0] > 0:
            sub = np.empty(rows.shape[0])
            lattice_counts(self, take_rows(X, rows), eps.take(rows, self), shape, sub, n_threads)
            out[rows] = sub

    def __reduce__(self):
        own = None if self.own_eps is None else np.asarray(self.own_eps.values)[
            np.argsort(self.order)]
        return _rebuild_lattice, (np.asarray(self.data), self.metric, self.p, self.bounds,
                                  own, np.flatnonzero(self.window))

    # ---- stencil cache ---------------------------------------------------------

    cdef intp_t _find(self, const double* e, intp_t n_cols) noexcept nogil:
        """Stencil id of eps row e, or -1."""
        cdef intp_t mask, slot, sid, k, d = self.norm.n_features
        cdef bint same
        if self.n_slots == 0:
            return -1
        mask = self.n_slots - 1
        slot = <intp_t> (_hash_row(e, n_cols) & <uint64_t> mask)
        while True:
            sid = self.slots[slot]
            if sid < 0:
                return -1
            if self.key_cols[sid] == n_cols:
                same = True
                for k in range(n_cols):
                    if self.keys[sid * d + k] != e[k]:
                        same = False
                        break
                if same:
                    return sid
            slot = (slot + 1) & mask

    cdef intp_t _add_stencil(self, const double* e, intp_t n_cols) except -2:
        """Build, cache and return the stencil of eps row e; -1 when over the budget."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, row, half, n_rows = 1, sid
        cdef intp_t ext[MAX_DIMS]
        cdef intp_t off[MAX_DIMS]
        cdef double z[MAX_DIMS]
        cdef double zero[MAX_DIMS]
        cdef double ek
        for k in range(d):
            ek = e[0 if n_cols == 1 else k]
            ext[k] = <intp_t> fmin(floor(ek), <double> (self.lat_shape[k] - 1))
            zero[k] = 0.0
        # A row pointer and at most one run per row.
        cdef double worst = 1.0
        for k in range(m):
            worst *= 2 * ext[k] + 1
        if self.n_rowptr + self.n_runs + 2 * worst + 1 > STENCIL_BUDGET:
            return -1
        for k in range(m):
            n_rows *= 2 * ext[k] + 1
        sid = self.n_sids
        if (_reserve(<void**> &self.keys, &self.cap_keys, (sid + 1) * d, sizeof(double)) < 0
                or _reserve(<void**> &self.key_cols, &self.cap_cols, sid + 1, sizeof(intp_t)) < 0
                or _reserve(<void**> &self.st_ext, &self.cap_ext, (sid + 1) * d,
                            sizeof(intp_t)) < 0
                or _reserve(<void**> &self.st_row0, &self.cap_row0, sid + 1,
                            sizeof(intp_t)) < 0
                or _reserve(<void**> &self.row_ptr, &self.cap_rowptr,
                            self.n_rowptr + n_rows + 1, sizeof(intp_t)) < 0
                or _reserve(<void**> &self.run_lo, &self.cap_runs, self.n_runs + n_rows,
                            sizeof(intp_t)) < 0):
            raise MemoryError("gridscan: could not allocate a lattice stencil")
        # run_hi shares run_lo's capacity: grow it to the same size.
        cdef void* moved = realloc(self.run_hi, self.cap_runs * sizeof(intp_t))
        if moved == NULL:
            raise MemoryError("gridscan: could not allocate a lattice stencil")
        self.run_hi = <intp_t*> moved
        memcpy(&self.keys[sid * d], e, n_cols * sizeof(double))
        self.key_cols[sid] = n_cols
        memcpy(&self.st_ext[sid * d], ext, d * sizeof(intp_t))
        self.st_row0[sid] = self.n_rowptr
        for k in range(m):
            off[k] = -ext[k]
        for row in range(n_rows):
            self.row_ptr[self.n_rowptr + row] = self.n_runs
            for k in range(m):
                z[k] = off[k]
            half = _half_run(zero, z, m, ext[m], e, n_cols, &self.norm)
            if half >= 0:
                self.run_lo[self.n_runs] = -half
                self.run_hi[self.n_runs] = half
                self.n_runs += 1
            _next_in_box(off, NULL, ext, m)
        self.row_ptr[self.n_rowptr + n_rows] = self.n_runs
        self._add_entries(sid, n_rows, ext)
        self.n_rowptr += n_rows + 1
        self.n_sids += 1
        self._insert(sid)
        return sid

    cdef int _add_entries(self, intp_t sid, intp_t n_rows, const intp_t* ext) except -1:
        """List the runs of the new stencil sid as entries (prefix offsets, cell offset)."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, row, r, first_run
        cdef intp_t z[MAX_DIMS]
        cdef int64_t delta
        first_run = self.row_ptr[self.n_rowptr]
        if (_reserve(<void**> &self.st_ent0, &self.cap_ent0, sid + 2, sizeof(intp_t)) < 0
                or _reserve(<void**> &self.ent_prefix, &self.cap_prefix,
                            (self.n_runs + 1) * max(m, 1), sizeof(intp_t)) < 0
                or _reserve(<void**> &self.ent_delta, &self.cap_delta, self.n_runs + 1,
                            sizeof(int64_t)) < 0):
            raise MemoryError("gridscan: could not allocate a lattice stencil")
        self.st_ent0[sid] = first_run
        for k in range(m):
            z[k] = -ext[k]
        for row in range(n_rows):
            delta = 0
            for k in range(m):
                delta += z[k] * self.cell_stride[k]
            for r in range(self.row_ptr[self.n_rowptr + row],
                           self.row_ptr[self.n_rowptr + row + 1]):
                # Entries and runs are numbered alike: entry r is run r.
                for k in range(m):
                    self.ent_prefix[r * m + k] = z[k]
                self.ent_delta[r] = delta
            _next_in_box(z, NULL, ext, m)
        self.st_ent0[sid + 1] = self.n_runs
        return 0

    cdef int _insert(self, intp_t sid) except -1:
        """Put stencil sid into the hash table, growing it to keep it at most half full."""
        cdef intp_t s, old_n = self.n_slots
        cdef intp_t* old = self.slots
        cdef intp_t* table
        if 2 * self.n_sids > self.n_slots:
            self.n_slots = max(64, 4 * self.n_sids)
            s = 1  # the table size is a power of two
            while s < self.n_slots:
                s *= 2
            self.n_slots = s
            table = <intp_t*> realloc(NULL, self.n_slots * sizeof(intp_t))
            if table == NULL:
                self.n_slots = old_n
                raise MemoryError("gridscan: could not allocate the stencil table")
            for s in range(self.n_slots):
                table[s] = -1
            self.slots = table
            for s in range(self.n_sids - 1):
                self._place(s)
            free(old)
        self._place(sid)
        return 0

    cdef void _place(self, intp_t sid) noexcept:
        cdef intp_t mask = self.n_slots - 1, d = self.norm.n_features
        cdef intp_t slot = <intp_t> (_hash_row(&self.keys[sid * d], self.key_cols[sid])
                                     & <uint64_t> mask)
        while self.slots[slot] >= 0:
            slot = (slot + 1) & mask
        self.slots[slot] = sid

    cdef bint _in_stencil(self, intp_t sid, const intp_t* z) noexcept nogil:
        """Whether offset z (d entries) lies in stencil sid."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, idx = 0, r
        cdef const intp_t* ext = &self.st_ext[sid * d]
        cdef const intp_t* rows = &self.row_ptr[self.st_row0[sid]]
        for k in range(m):
            if z[k] < -ext[k] or z[k] > ext[k]:
                return False
            idx = idx * (2 * ext[k] + 1) + z[k] + ext[k]
        for r in range(rows[idx], rows[idx + 1]):
            if self.run_lo[r] <= z[m] <= self.run_hi[r]:
                return True
        return False

    def _build_envelope(self, sids):
        """Envelope of the stencils ``sids``, reflected: per row of offsets w = c - x, the hull
        [lo, hi] of the last offsets of cells c whose stencil may hold x."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, n_rows = 1
        cdef const intp_t[::1] ids = np.ascontiguousarray(sids, dtype=np.intp)
        for k in range(d):
            self.env_ext[k] = 0
        for s in ids:
            for k in range(d):
                self.env_ext[k] = max(self.env_ext[k], self.st_ext[s * d + k])
        for k in range(m):
            n_rows *= 2 * self.env_ext[k] + 1
        lo = np.full(n_rows, 1, dtype=np.intp)
        hi = np.full(n_rows, 0, dtype=np.intp)
        _envelope_rows(self, ids, lo, hi)
        self._env_lo_array = lo
        self._env_hi_array = hi
        self.env_lo = _intp_pointer(lo)
        self.env_hi = _intp_pointer(hi)

    # ---- searches --------------------------------------------------------------

    cdef inline bint _on_lattice(self, const double* x, intp_t* xi) noexcept nogil:
        """Lattice coordinates xi (OUT) of x; False when x is not an integer cell of the box."""
        cdef intp_t k
        cdef double v
        for k in range(self.norm.n_features):
            v = x[k] - self.lat_origin[k]
            if not (v >= 0 and v < self.lat_shape[k]):
                return False
            # v is in range, so the cast is exact up to the fraction it drops.
            xi[k] = <intp_t> v
            if <double> xi[k] != v:
                return False
        return True

    cdef inline void _positions(self, int64_t first, int64_t last, intp_t* start,
                                intp_t* end) noexcept nogil:
        """Positions [start, end) (OUT) of the points in cells first..last."""
        cdef intp_t lo, hi, mid
        if self.dense:
            start[0] = self.cell_start[first]
            end[0] = self.cell_start[last + 1]
            return
        lo = 0
        hi = self.n_points
        while lo < hi:
            mid = (lo + hi) // 2
            if self.pos_cell[mid] < first:
                lo = mid + 1
            else:
                hi = mid
        start[0] = lo
        hi = self.n_points
        while lo < hi:
            mid = (lo + hi) // 2
            if self.pos_cell[mid] <= last:
                lo = mid + 1
            else:
                hi = mid
        end[0] = lo

    cdef inline intp_t _query_stencil(self, const Query* q) noexcept nogil:
        """Stencil id of the query's eps row; -1 when none is cached.

        A query that is one indexed point usually has that point's registered
        row: checked by value, then looked up in the hash table otherwise.
        The lattice's blocks are its single points (SpatialIndex's default
        ``blocks``, which the lattice keeps), so block b is position b.
        """
        cdef intp_t sid, d = self.norm.n_features
        if q.eps_cols == 0:
            return -1
        if q.block >= 0 and self.point_sid != NULL and q.block < self.n_points:
            sid = self.point_sid[q.block]
            if (sid >= 0 and self.key_cols[sid] == q.eps_cols
                    and same_values(&self.keys[sid * d], q.eps_max, q.eps_cols)):
                return sid
        return self._find(q.eps_max, q.eps_cols)

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        cdef intp_t xi[MAX_DIMS]
        cdef double extent[MAX_DIMS]
        cdef intp_t k, sid = -1, d = self.norm.n_features
        # Stencils answer a single query point on the lattice; a box of several
        # points (or a point off the lattice) gets the cells of its box.
        cdef bint on = _is_point(q, d) and self._on_lattice(q.lo, xi)
        if mode == FORWARD:
            if on:
                sid = self._query_stencil(q)
            if sid >= 0:
                return self._forward(sid, xi, out)
            for k in range(d):
                extent[k] = q.eps_max[0 if q.eps_cols == 1 else k]
            return self._box(q.lo, q.hi, extent, out)
        if mode == REVERSE and not self.any_active:
            return 0
        if on and mode == UNION:
            sid = self._query_stencil(q)
        if on and self.env_valid and (mode == REVERSE or sid >= 0):
            return self._reverse(sid, xi, out)
        for k in range(d):
            extent[k] = self.max_reach if self.any_active else 0.0
            if mode == UNION:
                extent[k] = fmax(extent[k], q.eps_max[0 if q.eps_cols == 1 else k])
        return self._box(q.lo, q.hi, extent, out)

    cdef int _forward(self, intp_t sid, const intp_t* xi, RangeList* out) noexcept nogil:
        """Ranges of the cells of stencil sid around lattice cell xi, entry by entry.

        Every range is full: the stencil holds exactly the cells in the neighbourhood.
        """
        cdef intp_t d = self.norm.n_features, m = d - 1, k, e, a, b, start, end
        cdef const intp_t* ext = &self.st_ext[sid * d]
        cdef const intp_t* run_lo = self.run_lo
        cdef const intp_t* run_hi = self.run_hi
        cdef const int64_t* delta = self.ent_delta
        cdef const intp_t* cell_start = self.cell_start
        cdef intp_t x_last = xi[m], last = self.lat_shape[m] - 1
        cdef int64_t row_base = -x_last
        cdef bint interior
        # The output list, held in locals so that stores do not force reloads.
        cdef intp_t size = out.size, capacity = out.capacity
        cdef intp_t* out_start = out.start
        cdef intp_t* out_end = out.end
        cdef bint* out_full = out.full
        for k in range(d):
            row_base += xi[k] * self.cell_stride[k]
        interior = _box_holds(xi, ext, self.lat_shape, m)
        for e in range(self.st_ent0[sid], self.st_ent0[sid + 1]):
            if not interior and not _row_in_box(xi, &self.ent_prefix[e * m], self.lat_shape, m):
                continue
            a = max(x_last + run_lo[e], 0)
            b = min(x_last + run_hi[e], last)
            if a > b:
                continue
            if self.dense:
                start = cell_start[row_base + delta[e] + a]
                end = cell_start[row_base + delta[e] + b + 1]
            else:
                self._positions(row_base + delta[e] + a, row_base + delta[e] + b, &start, &end)
            # Empty ranges are appended too: testing for them mispredicts more than
            # the consumer's empty loop costs.
            if size < capacity:
                out_start[size] = start
                out_end[size] = end
                out_full[size] = True
                out.block[size] = -1
                size += 1
            else:
                out.size = size
                if range_push(out, start, end, True, -1) < 0:
                    return -1
                size = out.size
                capacity = out.capacity
                out_start = out.start
                out_end = out.end
                out_full = out.full
        out.size = size
        return 0

    cdef int _reverse(self, intp_t qsid, const intp_t* xi, RangeList* out) noexcept nogil:
        """REVERSE (qsid < 0) or UNION candidates of lattice cell xi, cell by cell."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, r, a, b, start, end, pos
        cdef intp_t env_row, q_row, lo, hi, info
        cdef CellKind kind, pend_kind = SKIP
        cdef intp_t w[MAX_DIMS]
        cdef intp_t neg[MAX_DIMS]
        cdef intp_t hull[MAX_DIMS]
        cdef const intp_t* qext = NULL
        cdef const intp_t* qrows = NULL
        cdef intp_t last = self.lat_shape[m] - 1
        cdef intp_t pend_start = 0, pend_end = 0
        cdef int64_t base
        cdef bint inside, in_env, in_query
        if qsid >= 0:
            qext = &self.st_ext[qsid * d]
            qrows = &self.row_ptr[self.st_row0[qsid]]
        for k in range(m):
            hull[k] = self.env_ext[k] if qsid < 0 else max(self.env_ext[k], qext[k])
            w[k] = -hull[k]
        while True:
            inside = True
            base = 0
            env_row = 0
            q_row = 0
            in_env = True
            in_query = qsid >= 0
            for k in range(m):
                a = xi[k] + w[k]
                if a < 0 or a >= self.lat_shape[k]:
                    inside = False
                    break
                base = base * self.lat_shape[k] + a
                if w[k] < -self.env_ext[k] or w[k] > self.env_ext[k]:
                    in_env = False
                else:
                    env_row = env_row * (2 * self.env_ext[k] + 1) + w[k] + self.env_ext[k]
                if in_query:
                    if w[k] < -qext[k] or w[k] > qext[k]:
                        in_query = False
                    else:
                        q_row = q_row * (2 * qext[k] + 1) + w[k] + qext[k]
            if inside:
                lo = 1
                hi = 0
                if in_env and self.env_lo[env_row] <= self.env_hi[env_row]:
                    lo = self.env_lo[env_row]
                    hi = self.env_hi[env_row]
                if in_query:
                    for r in range(qrows[q_row], qrows[q_row + 1]):
                        if lo > hi:
                            lo = self.run_lo[r]
                            hi = self.run_hi[r]
                        else:
                            lo = min(lo, self.run_lo[r])
                            hi = max(hi, self.run_hi[r])
                a = xi[m] + lo
                b = xi[m] + hi
                if a < 0:
                    a = 0
                if b > last:
                    b = last
                if lo <= hi and a <= b:
                    base *= self.lat_shape[m]
                    self._positions(base + a, base + b, &start, &end)
                    for k in range(m):
                        neg[k] = -w[k]
                    for pos in range(start, end):
                        w[m] = self.pos_last[pos] - xi[m]
                        neg[m] = -w[m]
                        kind = SKIP
                        if qsid >= 0 and self._in_stencil(qsid, w):
                            kind = FULL
                        else:
                            info = self.cell_sid[pos]
                            if info == MIXED:
                                kind = TEST
                            elif info >= 0 and self._in_stencil(info, neg):
                                kind = FULL
                        if kind == pend_kind and pos == pend_end:
                            pend_end = pos + 1
                            continue
                        if pend_kind != SKIP and _push_merged(out, pend_start, pend_end,
                                                              pend_kind == FULL) < 0:
                            return -1
                        pend_start = pos
                        pend_end = pos + 1
                        pend_kind = kind
            if not _next_in_box(w, NULL, hull, m):
                break
        if pend_kind != SKIP:
            return _push_merged(out, pend_start, pend_end, pend_kind == FULL)
        return 0

    cdef int _box(self, const double* x_lo, const double* x_hi, const double* extent,
                  RangeList* out) noexcept nogil:
        """Rows of the cells within ``extent`` of the box [x_lo, x_hi] feature by feature,
        to test point by point."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, start, end
        cdef intp_t lo[MAX_DIMS]
        cdef intp_t hi[MAX_DIMS]
        cdef intp_t c[MAX_DIMS]
        cdef double v, low, high
        cdef int64_t base
        for k in range(d):
            # One extra cell each side absorbs the rounding of x -+ extent.
            v = x_lo[k] - self.lat_origin[k]
            low = fmax(ceil(v - extent[k]) - 1.0, 0.0)
            v = x_hi[k] - self.lat_origin[k]
            high = fmin(floor(v + extent[k]) + 1.0, <double> (self.lat_shape[k] - 1))
            if not low <= high:
                return 0
            lo[k] = <intp_t> low
            hi[k] = <intp_t> high
            c[k] = lo[k]
        while True:
            base = 0
            for k in range(m):
                base = base * self.lat_shape[k] + c[k]
            base *= self.lat_shape[m]
            self._positions(base + lo[m], base + hi[m], &start, &end)
            if _push_merged(out, start, end, False) < 0:
                return -1
            if not _next_in_box(c, lo, hi, m):
                return 0


cdef inline bint _box_holds(const intp_t* xi, const intp_t* ext, const intp_t* shape,
                            intp_t m) noexcept nogil:
    """Whether the stencil rows around lattice cell xi (offsets within +-ext along the
    first m features) all lie inside [0, shape): then no row needs clipping."""
    cdef intp_t k
    for k in range(m):
        if xi[k] < ext[k] or xi[k] + ext[k] > shape[k] - 1:
            return False
    return True


cdef inline bint _row_in_box(const intp_t* xi, const intp_t* prefix, const intp_t* shape,
                             intp_t m) noexcept nogil:
    """Whether the stencil row at offset prefix from xi lies inside [0, shape)."""
    cdef intp_t k, a
    for k in range(m):
        a = xi[k] + prefix[k]
        if a < 0 or a > shape[k] - 1:
            return False
    return True


cdef intp_t _half_run(const double* zero, double* z, intp_t m, intp_t ext, const double* e,
                      intp_t n_cols, const Norm* norm) noexcept nogil:
    """The largest t in [0, ext] whose offset (z[0], ..., z[m - 1], t) lies in the
    neighbourhood of the origin with eps row e, -1 when t = 0 does not.

    The kernel grows with |t|, so a row's offsets inside are the run [-t, t]:
    bisection finds its end in log2(ext) tests instead of 2 ext + 1.
    """
    cdef intp_t inside = 0, outside = ext + 1, middle   # inside passes; outside and beyond fail
    z[m] = 0
    if not within(zero, z, e, n_cols, norm):
        return -1
    while outside - inside > 1:
        middle = inside + (outside - inside) // 2
        z[m] = middle
        if within(zero, z, e, n_cols, norm):
            inside = middle
        else:
            outside = middle
    return inside


cdef inline bint _next_in_box(intp_t* z, const intp_t* lo, const intp_t* hi,
                              intp_t m) noexcept nogil:
    """Step z (IN/OUT) to the next point of the box [lo, hi] in C order, lo NULL meaning
    -hi; False (z back at the first point) after the last."""
    cdef intp_t k = m - 1
    while k >= 0:
        z[k] += 1
        if z[k] <= hi[k]:
            return True
        z[k] = -hi[k] if lo == NULL else lo[k]
        k -= 1
    return False


cdef inline bint _is_point(const Query* q, intp_t d) noexcept nogil:
    """Whether the query box is a single point."""
    cdef intp_t k
    for k in range(d):
        if q.lo[k] != q.hi[k]:
            return False
    return True


cdef const intp_t* _intp_pointer(object array):
    cdef const intp_t[::1] view = array
    return &view[0] if view.shape[0] > 0 else NULL


cdef const int64_t* _int64_pointer(object array):
    cdef const int64_t[::1] view = array
    return &view[0] if view.shape[0] > 0 else NULL


def _rebuild_lattice(data, metric, p, bounds, own_eps, window_features):
    return LatticeIndex(data, metric, p, bounds=bounds, sample_eps=own_eps,
                        window_features=window_features)


def _cell_numbers(const floating[:, ::1] X, const int64_t[::1] origin,
                  const int64_t[::1] shape, int64_t[::1] out):
    """out[i] (OUT) = C-order number of the lattice cell of X[i]; returns whether they ascend."""
    cdef intp_t n = X.shape[0], d = X.shape[1], i, k
    cdef int64_t cell, previous = -1
    cdef bint ascending = True
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            cell = 0
            for k in range(d):
                cell = cell * shape[k] + (<int64_t> X[i, k] - origin[k])
            out[i] = cell
            if cell < previous:
                ascending = False
            previous = cell
    return ascending


def _counting_sort(const int64_t[::1] cells, intp_t[::1] cell_start, intp_t[::1] order,
                   bint in_order):
    """Stable sort of points by cell: cell_start (IN zeros / OUT) and, unless the cells
    already ascend, order (OUT)."""
    cdef intp_t n = cells.shape[0], n_cells = cell_start.shape[0] - 1, i, c, total = 0, count
    with nogil:
        for i in range(n):
            cell_start[cells[i] + 1] += 1
        for c in range(n_cells + 1):
            count = cell_start[c]
            cell_start[c] = total
            total += count
        # cell_start[c + 1] now counts the points placed in cell c so far.
        for i in range(n):
            c = cells[i]
            if not in_order:
                order[cell_start[c + 1]] = i
            cell_start[c + 1] += 1


def _last_coordinates(const floating[:, ::1] points, int64_t origin, intp_t[::1] out):
    """out[pos] (OUT) = lattice coordinate of points[pos] along the last feature."""
    cdef intp_t pos, m = points.shape[1] - 1
    with nogil:
        for pos in range(points.shape[0]):
            out[pos] = <intp_t> points[pos, m] - origin


def _cell_stencils(const int64_t[::1] pos_cell, const intp_t[::1] sid,
                   const double[::1] reach, intp_t[::1] cell_sid, unsigned char[::1] used):
    """cell_sid[pos] (OUT): the stencil shared by the active points (reach > 0; reach is (n,)
    or (1,)) of pos's cell, NO_ACTIVE or MIXED; used[s] (OUT) set for every stencil of an
    active point.  Returns (whether every active point has a stencil, largest reach)."""
    cdef intp_t n = pos_cell.shape[0], start = 0, end, pos, shared
    cdef intp_t stride = 0 if reach.shape[0] == 1 else 1
    cdef bint all_known = True
    cdef double largest = 0.0
    with nogil:
        while start < n:
            end = start + 1
            while end < n and pos_cell[end] == pos_cell[start]:
                end += 1
            shared = NO_ACTIVE
            for pos in range(start, end):
                if not reach[pos * stride] > 0:
                    continue
                largest = fmax(largest, reach[pos * stride])
                if sid[pos] < 0:
                    all_known = False
                    shared = MIXED
                    continue
                used[sid[pos]] = 1
                if shared == NO_ACTIVE:
                    shared = sid[pos]
                elif shared != sid[pos]:
                    shared = MIXED
            for pos in range(start, end):
                cell_sid[pos] = shared
            start = end
    return all_known, largest


def _envelope_rows(LatticeIndex index, const intp_t[::1] sids, intp_t[::1] lo, intp_t[::1] hi):
    """lo, hi (IN/OUT, empty rows have lo > hi): hull of the reflected stencils per row."""
    cdef intp_t d = index.norm.n_features, m = d - 1, k, s, sid, row, r, env_row
    cdef intp_t z[MAX_DIMS]
    cdef const intp_t* ext
    cdef const intp_t* rows
    with nogil:
        for s in range(sids.shape[0]):
            sid = sids[s]
            ext = &index.st_ext[sid * d]
            rows = &index.row_ptr[index.st_row0[sid]]
            for k in range(m):
                z[k] = -ext[k]
            row = 0
            while True:
                # Stencil row at prefix z is the envelope row at prefix -z.
                env_row = 0
                for k in range(m):
                    env_row = env_row * (2 * index.env_ext[k] + 1) - z[k] + index.env_ext[k]
                for r in range(rows[row], rows[row + 1]):
                    if lo[env_row] > hi[env_row]:
                        lo[env_row] = -index.run_hi[r]
                        hi[env_row] = -index.run_lo[r]
                    else:
                        lo[env_row] = min(lo[env_row], -index.run_hi[r])
                        hi[env_row] = max(hi[env_row], -index.run_lo[r])
                row += 1
                if not _next_in_box(z, NULL, ext, m):
                    break


def _stencil_counts(LatticeIndex index, const floating[:, ::1] X, const intp_t[::1] ids,
                    const intp_t[::1] shape, double[::1] out, int n_threads):
    """out[i] (OUT) for rows with ids[i] >= 0: cells of stencil ids[i] around X[i] inside
    [0, shape) (the lattice covers that box, so the stencil is not clipped short of it)."""
    cdef intp_t n = X.shape[0], i, e
    # Cells in the runs before each one (runs and entries are numbered alike): the
    # cells of consecutive rows of a stencil in one subtraction.
    cdef double[::1] before = np.zeros(index.n_runs + 1)
    with nogil:
        for e in range(index.n_runs):
            poll_signals(e, POINTS_PER_POLL)
            before[e + 1] = before[e] + (index.run_hi[e] - index.run_lo[e] + 1)
        for i in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0:
                poll_signals(i, CELLS_PER_POLL)
            if ids[i] >= 0:
                out[i] = _count_cells(index, ids[i], &X[i, 0], &shape[0], &before[0])


cdef double _count_cells(LatticeIndex index, intp_t sid, const floating* x,
                         const intp_t* shape, const double* before) noexcept nogil:
    """Cells of stencil sid around x that lie in [0, shape).

    The stencil's whole size when its box lies inside; else its rows inside the
    box, a segment of consecutive rows (along feature d - 2) at a time: the
    segment's cells by one subtraction when no run is clipped along the last
    feature, run by run otherwise.
    """
    cdef intp_t d = index.norm.n_features, m = d - 1, inner = d - 2, k, e, row, first, end
    cdef intp_t last = shape[m] - 1
    cdef intp_t xi[MAX_DIMS]
    cdef intp_t lo[MAX_DIMS]         # the row offsets inside the box, feature by feature
    cdef intp_t hi[MAX_DIMS]
    cdef intp_t z[MAX_DIMS]
    cdef intp_t stride[MAX_DIMS]     # rows are in C order over their box
    cdef const intp_t* ext = &index.st_ext[sid * d]
    cdef const intp_t* row_ptr = &index.row_ptr[index.st_row0[sid]]
    cdef double count = 0.0
    cdef bint unclipped
    for k in range(d):
        xi[k] = <intp_t> x[k]
    if _box_holds(xi, ext, shape, d):
        return before[index.st_ent0[sid + 1]] - before[index.st_ent0[sid]]
    for k in range(m):
        lo[k] = max(-ext[k], -xi[k])
        hi[k] = min(ext[k], shape[k] - 1 - xi[k])
        if lo[k] > hi[k]:
            return 0.0
        z[k] = lo[k]
    if m > 0:
        stride[inner] = 1
        for k in range(inner - 1, -1, -1):
            stride[k] = stride[k + 1] * (2 * ext[k + 1] + 1)
    unclipped = xi[m] >= ext[m] and xi[m] + ext[m] <= last
    while True:
        row = 0
        for k in range(m):
            row += (z[k] + ext[k]) * stride[k]
        first = row_ptr[row]
        end = row_ptr[row + (hi[inner] - lo[inner] + 1 if m > 0 else 1)]
        if unclipped:
            count += before[end] - before[first]
        else:
            for e in range(first, end):
                count += max(min(xi[m] + index.run_hi[e], last)
                             - max(xi[m] + index.run_lo[e], 0) + 1, 0)
        # The next segment: an odometer over the features before the inner one.
        k = inner - 1
        while k >= 0:
            if z[k] < hi[k]:
                z[k] += 1
                break
            z[k] = lo[k]
            k -= 1
        if k < 0:
            return count
