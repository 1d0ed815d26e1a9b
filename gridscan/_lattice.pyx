# Lattice index for integer grid data (radar gate/beam/scan cells, pixels,
# voxels): an occupancy table plus cached neighbourhood stencils.
#
# The points are stored by lattice cell (_lattice_layout.pyx: the box
# [origin, origin + shape), the cell numbers in C order, the dense or sparse
# cell table), so that a run of consecutive cells along the last feature is one
# range of positions.  The stencil of an eps row, the exact set of cell offsets
# inside its neighbourhood, is cached per distinct row (_stencils.pxd: its
# rows, runs and glossary).
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
#
# Glossary (the stencil's own terms are in _stencils.pxd):
#   lat_origin, lat_shape   the lattice box [origin, origin + shape), as C arrays
#   xi                      a query's lattice coordinates, from the origin
#   cell_start, pos_cell,   the cell table and, by position, the cell number and
#   pos_last                the last coordinate (_lattice_layout.pyx)
#   sid                     a stencil id (its number in the cache); point_sid[pos]
#                           that of the eps row of position pos, -1 if none
#   cell_sid[pos]           the stencil shared by the active points of pos's cell,
#                           or NO_ACTIVE / MIXED (CellSid)
#   active point            one whose own neighbourhood may hold a query (REVERSE)
#   env (envelope)          per row of offsets w = c - x along the first d - 1
#                           features (env_ext the half-widths), the hull
#                           [env_lo, env_hi] of the last offsets of the cells c
#                           whose active points' stencils may hold x;
#                           env_valid: built, every active point has a stencil
#   pending_*               the range being merged in _reverse, not pushed yet

import math

import numpy as np

from gridscan._lattice_layout import dense_table_fits, integer_extent, lattice_box, sort_by_cell
from gridscan._validation import check_points, resolve_metric, window_mask

from libc.math cimport ceil, floor, fmax, fmin
from libc.stdint cimport int64_t
from libc.string cimport memset
from cython.parallel cimport prange, threadid

from cython cimport floating

from gridscan._hashing cimport same_values
from gridscan._index cimport EpsRows, Query, RangeList, SpatialIndex, range_push
from gridscan._kernels cimport FORWARD, REVERSE, UNION, Direction
from gridscan._lattice_layout cimport MAX_DIMS
from gridscan._signals cimport CELLS_PER_POLL, POINTS_PER_POLL, poll_signals
from gridscan._stencils cimport (
    StencilCache, next_in_box, stencil_add, stencil_cache_free, stencil_cache_init,
    stencil_find, stencil_holds,
)
from gridscan._typedefs cimport intp_t

# cell_sid values besides stencil ids (>= 0).
cdef enum CellSid:
    NO_ACTIVE = -1      # no point of the cell is active
    MIXED = -2          # active points with different or missing stencils

# Classification of a candidate cell (_reverse).
cdef enum CellKind:
    SKIP = 0            # no point of the cell is a neighbour: not pushed
    TEST = 1            # some may be: pushed for the per-pair test
    FULL = 2            # every point is a neighbour: pushed as a full range


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
        Lattice [0, bounds) holding every point. It lets the lattice counts of
        ``pts_ratio`` (``stencil_counts``) come from the stencils alone; None
        uses the box spanned by X.
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
    cdef StencilCache stencils

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
        memset(&self.stencils, 0, sizeof(StencilCache))
        self.any_active = False
        self.env_valid = False

    def __dealloc__(self):
        stencil_cache_free(&self.stencils)

    def __init__(self, X, metric="euclidean", p=None, *, bounds=None, sample_eps=None,
                 window_features=None):
        X = check_points(X)
        n, d = X.shape
        if d > MAX_DIMS:
            raise ValueError(f"LatticeIndex handles at most {MAX_DIMS} features; X has {d}")
        bad, low, high = integer_extent(X)
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
        origin, shape = lattice_box(low, high, n, bounds)
        self.origin = origin
        self.shape = shape
        for k in range(d):
            self.lat_origin[k] = origin[k]
            self.lat_shape[k] = shape[k]
        n_cells = math.prod(int(s) for s in shape)
        if n_cells >= 2 ** 62:
            raise ValueError(f"the lattice spanned by X has {n_cells} cells; at most 2**62 fit")
        self.dense = dense_table_fits(n_cells, n)
        order, points, pos_cell, pos_last, cell_start = sort_by_cell(
            self.data, origin, shape, self.dense)
        self._cell_start_array = cell_start
        self.cell_start = NULL
        if cell_start is not None:
            self.cell_start = _intp_pointer(cell_start)
        self._pos_cell_array = pos_cell
        self._pos_last_array = pos_last
        self.pos_cell = _int64_pointer(pos_cell)
        self.pos_last = _intp_pointer(pos_last)
        stencil_cache_init(&self.stencils, d, self.lat_shape)
        self._setup(points, order, metric, p, window_mask(window_features, d))
        self._set_own_eps(sample_eps)

    # ---- public, Python-level ------------------------------------------------

    @property
    def n_stencils(self):
        return self.stencils.n_stencils

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
            sid = stencil_find(&self.stencils, &values[r, 0], n_cols)
            if sid < 0:
                sid = stencil_add(&self.stencils, &values[r, 0], n_cols, &self.norm)
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
        used = np.zeros(max(self.stencils.n_stencils, 1), dtype=np.uint8)
        all_known, largest = _cell_stencils(self._pos_cell_array, self._point_sid_array, r,
                                            cell_sid, used)
        self.any_active = largest > 0
        self.max_reach = largest
        self._cell_sid_array = cell_sid
        self.cell_sid = _intp_pointer(cell_sid)
        self.env_valid = bool(all_known)
        if all_known:
            self._build_envelope(np.flatnonzero(used))

    def stencil_counts(self, X, EpsRows eps, shape, double[::1] out, int n_threads=1):
        """out[i] (OUT) = number of cells of [0, shape) in the neighbourhood of X[i] (eps row
        i), for the rows it counts from the stencils; returns the other rows ((k,) intp).

        Those are all the rows unless the lattice covers [0, shape), and then
        the rows without a stencil.  gridscan._eps_model.lattice_counts counts
        them by scanning their box; both give the same numbers.
        """
        shape = np.ascontiguousarray(shape, dtype=np.intp)
        if not (np.all(self.origin == 0) and np.all(self.shape >= shape)):
            return np.arange(X.shape[0], dtype=np.intp)
        ids = self._point_sid_array if eps is self._point_eps and X is self.points \
            else self.register(eps)
        if ids.shape[0] == 1:
            ids = np.full(X.shape[0], ids[0], dtype=np.intp)
        _stencil_counts(self, X, ids, shape, out, n_threads)
        return np.flatnonzero(ids < 0)

    def __reduce__(self):
        own = None if self.own_eps is None else np.asarray(self.own_eps.values)[
            np.argsort(self.order)]
        return _rebuild_lattice, (np.asarray(self.data), self.metric, self.p, self.bounds,
                                  own, np.flatnonzero(self.window))

    # ---- envelope ------------------------------------------------------------

    def _build_envelope(self, sids):
        """Envelope of the stencils ``sids``, reflected: per row of offsets w = c - x, the hull
        [lo, hi] of the last offsets of cells c whose stencil may hold x."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, n_rows = 1
        cdef const intp_t[::1] ids = np.ascontiguousarray(sids, dtype=np.intp)
        for k in range(d):
            self.env_ext[k] = 0
        for s in ids:
            for k in range(d):
                self.env_ext[k] = max(self.env_ext[k], self.stencils.extent[s * d + k])
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
            if (sid >= 0 and self.stencils.key_cols[sid] == q.eps_cols
                    and same_values(&self.stencils.key[sid * d], q.eps_max, q.eps_cols)):
                return sid
        return stencil_find(&self.stencils, q.eps_max, q.eps_cols)

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
        """Ranges of the cells of stencil sid around lattice cell xi, run by run.

        Every range is full: the stencil holds exactly the cells in the neighbourhood.
        """
        cdef intp_t d = self.norm.n_features, m = d - 1, k, e, a, b, start, end
        cdef const intp_t* ext = &self.stencils.extent[sid * d]
        cdef const intp_t* run_lo = self.stencils.run_lo
        cdef const intp_t* run_hi = self.stencils.run_hi
        cdef const intp_t* prefix = self.stencils.run_prefix
        cdef const int64_t* cell_offset = self.stencils.run_cell_offset
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
            row_base += xi[k] * self.stencils.cell_stride[k]
        interior = _box_holds(xi, ext, self.lat_shape, m)
        for e in range(self.stencils.first_run[sid], self.stencils.first_run[sid + 1]):
            if not interior and not _row_in_box(xi, &prefix[e * m], self.lat_shape, m):
                continue
            a = max(x_last + run_lo[e], 0)
            b = min(x_last + run_hi[e], last)
            if a > b:
                continue
            if self.dense:
                start = cell_start[row_base + cell_offset[e] + a]
                end = cell_start[row_base + cell_offset[e] + b + 1]
            else:
                self._positions(row_base + cell_offset[e] + a, row_base + cell_offset[e] + b,
                                &start, &end)
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

    cdef int _reverse(self, intp_t query_sid, const intp_t* xi, RangeList* out) noexcept nogil:
        """REVERSE (query_sid < 0) or UNION candidates of lattice cell xi, cell by cell."""
        cdef intp_t d = self.norm.n_features, m = d - 1, k, r, a, b, start, end, pos
        cdef intp_t env_row, q_row, lo, hi, info
        cdef CellKind kind, pending_kind = SKIP
        cdef intp_t w[MAX_DIMS]
        cdef intp_t neg[MAX_DIMS]
        cdef intp_t hull[MAX_DIMS]
        cdef const intp_t* query_extent = NULL
        cdef const intp_t* query_rows = NULL
        cdef intp_t last = self.lat_shape[m] - 1
        cdef intp_t pending_start = 0, pending_end = 0
        cdef int64_t base
        cdef bint inside, in_env, in_query
        if query_sid >= 0:
            query_extent = &self.stencils.extent[query_sid * d]
            query_rows = &self.stencils.row_start[self.stencils.first_row[query_sid]]
        for k in range(m):
            hull[k] = self.env_ext[k] if query_sid < 0 else max(self.env_ext[k], query_extent[k])
            w[k] = -hull[k]
        while True:
            inside = True
            base = 0
            env_row = 0
            q_row = 0
            in_env = True
            in_query = query_sid >= 0
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
                    if w[k] < -query_extent[k] or w[k] > query_extent[k]:
                        in_query = False
                    else:
                        q_row = q_row * (2 * query_extent[k] + 1) + w[k] + query_extent[k]
            if inside:
                lo = 1
                hi = 0
                if in_env and self.env_lo[env_row] <= self.env_hi[env_row]:
                    lo = self.env_lo[env_row]
                    hi = self.env_hi[env_row]
                if in_query:
                    for r in range(query_rows[q_row], query_rows[q_row + 1]):
                        if lo > hi:
                            lo = self.stencils.run_lo[r]
                            hi = self.stencils.run_hi[r]
                        else:
                            lo = min(lo, self.stencils.run_lo[r])
                            hi = max(hi, self.stencils.run_hi[r])
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
                        if query_sid >= 0 and stencil_holds(&self.stencils, query_sid, w):
                            kind = FULL
                        else:
                            info = self.cell_sid[pos]
                            if info == MIXED:
                                kind = TEST
                            elif info >= 0 and stencil_holds(&self.stencils, info, neg):
                                kind = FULL
                        if kind == pending_kind and pos == pending_end:
                            pending_end = pos + 1
                            continue
                        if pending_kind != SKIP and _push_merged(
                                out, pending_start, pending_end, pending_kind == FULL) < 0:
                            return -1
                        pending_start = pos
                        pending_end = pos + 1
                        pending_kind = kind
            if not next_in_box(w, NULL, hull, m):
                break
        if pending_kind != SKIP:
            return _push_merged(out, pending_start, pending_end, pending_kind == FULL)
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
            if not next_in_box(c, lo, hi, m):
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
    cdef const StencilCache* cache = &index.stencils
    cdef const intp_t* ext
    cdef const intp_t* rows
    with nogil:
        for s in range(sids.shape[0]):
            sid = sids[s]
            ext = &cache.extent[sid * d]
            rows = &cache.row_start[cache.first_row[sid]]
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
                        lo[env_row] = -cache.run_hi[r]
                        hi[env_row] = -cache.run_lo[r]
                    else:
                        lo[env_row] = min(lo[env_row], -cache.run_hi[r])
                        hi[env_row] = max(hi[env_row], -cache.run_lo[r])
                row += 1
                if not next_in_box(z, NULL, ext, m):
                    break


def _stencil_counts(LatticeIndex index, const floating[:, ::1] X, const intp_t[::1] ids,
                    const intp_t[::1] shape, double[::1] out, int n_threads):
    """out[i] (OUT) for rows with ids[i] >= 0: cells of stencil ids[i] around X[i] inside
    [0, shape) (the lattice covers that box, so the stencil is not clipped short of it)."""
    cdef intp_t n = X.shape[0], i, r
    cdef const StencilCache* cache = &index.stencils
    # Cells in the runs before each one: the cells of consecutive rows of a
    # stencil in one subtraction.
    cdef double[::1] before = np.zeros(cache.n_runs + 1)
    with nogil:
        for r in range(cache.n_runs):
            poll_signals(r, POINTS_PER_POLL)
            before[r + 1] = before[r] + (cache.run_hi[r] - cache.run_lo[r] + 1)
        for i in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0:
                poll_signals(i, CELLS_PER_POLL)
            if ids[i] >= 0:
                out[i] = _count_cells(cache, ids[i], &X[i, 0], &shape[0], &before[0])


cdef double _count_cells(const StencilCache* cache, intp_t sid, const floating* x,
                         const intp_t* shape, const double* before) noexcept nogil:
    """Cells of stencil sid around x that lie in [0, shape).

    The stencil's whole size when its box lies inside; else its rows inside the
    box, a segment of consecutive rows (along feature d - 2) at a time: the
    segment's cells by one subtraction when no run is clipped along the last
    feature, run by run otherwise.
    """
    cdef intp_t d = cache.n_features, m = d - 1, inner = d - 2, k, r, row, first, end
    cdef intp_t last = shape[m] - 1
    cdef intp_t xi[MAX_DIMS]
    cdef intp_t lo[MAX_DIMS]         # the row offsets inside the box, feature by feature
    cdef intp_t hi[MAX_DIMS]
    cdef intp_t z[MAX_DIMS]
    cdef intp_t stride[MAX_DIMS]     # rows are in C order over their box
    cdef const intp_t* ext = &cache.extent[sid * d]
    cdef const intp_t* rows = &cache.row_start[cache.first_row[sid]]
    cdef double count = 0.0
    cdef bint unclipped
    for k in range(d):
        xi[k] = <intp_t> x[k]
    if _box_holds(xi, ext, shape, d):
        return before[cache.first_run[sid + 1]] - before[cache.first_run[sid]]
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
        first = rows[row]
        end = rows[row + (hi[inner] - lo[inner] + 1 if m > 0 else 1)]
        if unclipped:
            count += before[end] - before[first]
        else:
            for r in range(first, end):
                count += max(min(xi[m] + cache.run_hi[r], last)
                             - max(xi[m] + cache.run_lo[r], 0) + 1, 0)
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
