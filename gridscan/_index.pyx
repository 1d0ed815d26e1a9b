# Spatial indexes: the common base class, the brute-force index, and the radius
# search every index shares.
#
# Data layout.  An index stores its points permuted into *index order*:
# ``points[pos]`` is row ``order[pos]`` of the data it was built from, so that
# the points of a tree node or grid cell occupy one contiguous range of
# positions.  For a query point an index answers with candidate ranges
# [start, end) of positions (``candidates``); the exact test of each candidate
# is the kernel of _kernels.pxd, applied by the caller.  A range flagged *full*
# holds only neighbours of the query under the search's Direction (for example
# it lies inside the query's inner ball) and needs no test.
#
# Eps tables (EpsRows) hold one row per point (in index order) or one row
# shared by all points; see _kernels.pxd for their meaning.

import numpy as np

from gridscan._arrays import take_rows
from gridscan._validation import check_points, effective_n_threads, eps_rows, wrap_periodic

from cython.parallel cimport prange, threadid
from libc.float cimport DBL_EPSILON
from libc.math cimport INFINITY, fmin
from libc.stdlib cimport calloc, free, malloc, qsort

from cython cimport floating

from gridscan._buffers cimport reserve
from gridscan._kernels cimport (
    CHEBYSHEV, EUCLIDEAN, FORWARD, MANHATTAN, MINKOWSKI, REVERSE, UNION, Direction, EpsTable,
    Metric, Norm, accumulate, larger, scaled_distance, smaller, unreduce, within,
)
from gridscan._signals cimport (
    POINTS_PER_POLL, QUERIES_PER_POLL, check_signals, raise_pending, signal_raised,
)
from gridscan._typedefs cimport intp_t, uint8_t

METRIC_CODES = {"euclidean": EUCLIDEAN, "manhattan": MANHATTAN,
                "chebyshev": CHEBYSHEV, "minkowski": MINKOWSKI}

cdef enum:
    # Bytes kept free on each side of a thread's scratch memory (two cache lines).
    CACHE_LINE = 128

# Features of an index with periodic features, at most (search's images live on the stack).
cdef enum:
    MAX_PERIODIC_INDEX_FEATURES = 64
MAX_PERIODIC_FEATURES = MAX_PERIODIC_INDEX_FEATURES

# Images of one query whose ranges search merges by their lists (as two periodic
# features near their seams make); more are merged by a sort.
cdef enum:
    MAX_MERGED_IMAGES = 9


cdef int range_init(RangeList* out) noexcept nogil:
    out.size = 0
    out.capacity = 64
    out.start = <intp_t*> malloc(out.capacity * sizeof(intp_t))
    out.end = <intp_t*> malloc(out.capacity * sizeof(intp_t))
    out.full = <bint*> malloc(out.capacity * sizeof(bint))
    out.block = <intp_t*> malloc(out.capacity * sizeof(intp_t))
    out.merge_scratch = NULL
    out.merge_capacity = 0
    if out.start == NULL or out.end == NULL or out.full == NULL or out.block == NULL:
        return -1
    return 0


cdef void range_free(RangeList* out) noexcept nogil:
    free(out.start)
    free(out.end)
    free(out.full)
    free(out.block)
    free(out.merge_scratch)
    out.start = NULL
    out.end = NULL
    out.full = NULL
    out.block = NULL
    out.merge_scratch = NULL
    out.merge_capacity = 0


cdef int range_push(RangeList* out, intp_t start, intp_t end, bint full,
                    intp_t block) noexcept nogil:
    """Append a range; -1 when memory runs out."""
    cdef intp_t capacity, needed = out.size + 1
    if out.size == out.capacity:
        capacity = reserve(<void**> &out.start, out.capacity, needed, sizeof(intp_t))
        if (capacity < 0
                or reserve(<void**> &out.end, out.capacity, needed, sizeof(intp_t)) < 0
                or reserve(<void**> &out.full, out.capacity, needed, sizeof(bint)) < 0
                or reserve(<void**> &out.block, out.capacity, needed, sizeof(intp_t)) < 0):
            return -1
        out.capacity = capacity
    out.start[out.size] = start
    out.end[out.size] = end
    out.full[out.size] = full
    out.block[out.size] = block
    out.size += 1
    return 0


cdef int _by_start(const void* a, const void* b) noexcept nogil:
    """qsort order of pieces: by start, then the longer first."""
    cdef const RangePiece* x = <const RangePiece*> a
    cdef const RangePiece* y = <const RangePiece*> b
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.end != y.end:
        return -1 if x.end > y.end else 1
    return 0


cdef int _make_disjoint(RangeList* out, const intp_t* bounds, intp_t n_lists) noexcept nogil:
    """Make the ranges out[bounds[0]:] (the lists of n_lists images) disjoint.

    List s is out[bounds[s]:bounds[s + 1]], the ranges one ``candidates`` call
    pushed: disjoint among themselves, by the contract of ``candidates``.
    Ranges of different lists that overlap are rewritten as disjoint ranges
    over the same positions: a position is in a full range when some range
    holding it was full, and a range keeps its block when it is exactly one of
    the ranges given (those given twice with one block included).  Lists that
    do not overlap are left as they are, which is the common case (the image
    across a seam often finds nothing).  n_lists 0 (too many images to track)
    means one list of unknown order, sorted here.  No allocation once the
    list's merge_scratch is large enough; -1 when memory runs out.
    """
    cdef intp_t first = bounds[0], n = out.size - first, s, non_empty = 0, capacity
    cdef RangePiece* pieces
    if n <= 1:
        return 0
    for s in range(n_lists):
        non_empty = non_empty + (bounds[s + 1] > bounds[s])
    if n_lists > 0 and non_empty <= 1:
        return 0
    # The pieces, then as many for _push_disjoint's full ranges.
    capacity = reserve(<void**> &out.merge_scratch, out.merge_capacity, 2 * n,
                       sizeof(RangePiece))
    if capacity < 0:
        return -1
    out.merge_capacity = capacity
    pieces = out.merge_scratch
    if n_lists > 0 and _each_sorted(out, bounds, n_lists):
        if not _merge_sorted(out, bounds, n_lists, pieces):
            return 0
    else:
        for s in range(n):
            pieces[s].start = out.start[first + s]
            pieces[s].end = out.end[first + s]
            pieces[s].block = out.block[first + s]
            pieces[s].full = out.full[first + s]
        qsort(pieces, n, sizeof(RangePiece), _by_start)
    out.size = first
    return _push_disjoint(out, pieces, n, pieces + n)


cdef bint _each_sorted(const RangeList* out, const intp_t* bounds,
                       intp_t n_lists) noexcept nogil:
    """Whether every list out[bounds[s]:bounds[s + 1]] holds disjoint ranges, ascending."""
    cdef intp_t s, j
    for s in range(n_lists):
        for j in range(bounds[s] + 1, bounds[s + 1]):
            if out.start[j] < out.end[j - 1]:
                return False
    return True


cdef bint _merge_sorted(const RangeList* out, const intp_t* bounds, intp_t n_lists,
                        RangePiece* pieces) noexcept nogil:
    """pieces (OUT) = the sorted lists merged by start; whether two ranges overlap.

    A k-way merge of 2 to MAX_MERGED_IMAGES lists, picking the smallest head
    by a scan (k is 2 in practice).
    """
    cdef intp_t head[MAX_MERGED_IMAGES]
    cdef intp_t s, j, best, m = 0, covered = 0
    cdef bint overlap = False
    for s in range(n_lists):
        head[s] = bounds[s]
    while True:
        best = -1
        for s in range(n_lists):
            if head[s] < bounds[s + 1] and (
                    best < 0 or out.start[head[s]] < out.start[head[best]]):
                best = s
        if best < 0:
            return overlap
        j = head[best]
        head[best] = j + 1
        if m > 0 and out.start[j] < covered:
            overlap = True
        covered = max(covered, out.end[j]) if m > 0 else out.end[j]
        pieces[m].start = out.start[j]
        pieces[m].end = out.end[j]
        pieces[m].block = out.block[j]
        pieces[m].full = out.full[j]
        m = m + 1


cdef int _push_disjoint(RangeList* out, const RangePiece* pieces, intp_t n,
                        RangePiece* full) noexcept nogil:
    """Push the positions of pieces (sorted by start) as disjoint ranges (see _make_disjoint).

    full is scratch for n pieces.  -1 when memory runs out.
    """
    cdef intp_t i, f = 0, n_full = 0, a, b, block, cursor
    cdef int status = 0
    # The union of the full pieces, as sorted disjoint runs.
    for i in range(n):
        if not pieces[i].full:
            continue
        if n_full > 0 and pieces[i].start < full[n_full - 1].end:
            if not _same_piece(&full[n_full - 1], &pieces[i]):
                full[n_full - 1].block = -1
            full[n_full - 1].end = max(full[n_full - 1].end, pieces[i].end)
        else:
            full[n_full] = pieces[i]
            n_full = n_full + 1
    i = 0
    while i < n and status == 0:
        # One run of overlapping pieces, [a, b).
        a = pieces[i].start
        b = pieces[i].end
        block = pieces[i].block
        i = i + 1
        while i < n and pieces[i].start < b:
            if not (pieces[i].start == a and pieces[i].end == b and pieces[i].block == block):
                block = -1
            b = max(b, pieces[i].end)
            i = i + 1
        cursor = a
        while f < n_full and full[f].start < b and status == 0:
            if full[f].start > cursor:
                status = range_push(out, cursor, full[f].start, False, -1)
            if status == 0:
                status = range_push(out, full[f].start, full[f].end, True, full[f].block)
            cursor = full[f].end
            f = f + 1
        if cursor < b and status == 0:
            status = range_push(out, cursor, b, False, block if cursor == a else -1)
    return status


cdef inline bint _same_piece(const RangePiece* x, const RangePiece* y) noexcept nogil:
    return x.start == y.start and x.end == y.end and x.block == y.block


cdef class Workspace:
    """Per-thread scratch memory for searches, indexed by cython.parallel.threadid().

    Each thread's candidate list, query and coordinate buffers live in one
    allocation of their own, padded on both sides so that no cache line is
    shared between threads (their sizes change at every search).
    """

    def __cinit__(self, intp_t n_threads, intp_t n_features):
        cdef intp_t t, d = max(n_features, 1)
        cdef size_t size = 2 * CACHE_LINE + sizeof(RangeList) + sizeof(Query) \
            + 4 * d * sizeof(double)
        cdef char* block
        cdef double* buffers
        self.n_threads = n_threads
        self.n_features = n_features
        self.blocks = <void**> calloc(n_threads, sizeof(void*))
        self.ranges = <RangeList**> calloc(n_threads, sizeof(RangeList*))
        self.queries = <Query**> calloc(n_threads, sizeof(Query*))
        if self.blocks == NULL or self.ranges == NULL or self.queries == NULL:
            raise MemoryError("gridscan: could not allocate search workspace")
        for t in range(n_threads):
            block = <char*> calloc(1, size)
            if block == NULL:
                raise MemoryError("gridscan: could not allocate search workspace")
            self.blocks[t] = block
            self.ranges[t] = <RangeList*> (block + CACHE_LINE)
            self.queries[t] = <Query*> (block + CACHE_LINE + sizeof(RangeList))
            buffers = <double*> (block + CACHE_LINE + sizeof(RangeList) + sizeof(Query))
            self.queries[t].lo = buffers
            self.queries[t].hi = buffers + d
            self.queries[t].eps_max = buffers + 2 * d
            self.queries[t].eps_min = buffers + 3 * d
            if range_init(self.ranges[t]) < 0:
                raise MemoryError("gridscan: could not allocate search workspace")

    def __dealloc__(self):
        cdef intp_t t
        if self.blocks != NULL:
            for t in range(self.n_threads):
                if self.blocks[t] != NULL:
                    range_free(self.ranges[t])
                    free(self.blocks[t])
        free(self.blocks)
        free(self.ranges)
        free(self.queries)


cdef void load_point_query(Query* query, const floating* row, const EpsTable* eps,
                           intp_t i, Direction mode, intp_t d) noexcept nogil:
    """Fill query (OUT; its buffers are preallocated) for point i of a query set.

    REVERSE searches read only the indexed points' eps, so the query's own eps
    and bounds are left out (eps_cols 0).
    """
    cdef intp_t k
    cdef double* lo = <double*> query.lo
    cdef double* hi = <double*> query.hi
    cdef double* e_max = <double*> query.eps_max
    cdef double* e_min = <double*> query.eps_min
    cdef const double* e
    for k in range(d):
        lo[k] = row[k]
        hi[k] = row[k]
    query.block = -1
    if mode == REVERSE:
        query.eps_cols = 0
        query.reach = 0.0
        query.inner = 0.0
        return
    e = eps.values + i * eps.row_stride
    for k in range(eps.n_cols):
        e_max[k] = e[k]
        e_min[k] = e[k]
    query.eps_cols = eps.n_cols
    query.reach = eps.reach[i * eps.bound_stride]
    query.inner = eps.inner[i * eps.bound_stride]


cdef intp_t load_block_query(Query* query, const floating[:, ::1] points, intp_t start,
                             intp_t end, const uint8_t* select, uint8_t wanted,
                             const EpsTable* eps, Direction mode, intp_t block) noexcept nogil:
    """Fill query (OUT) with the box and eps bounds of positions start..end-1.

    With select given, only the positions j with select[j] == wanted take part;
    block is the index block holding them (-1 when they are not index points).
    Returns the number of positions taken.
    """
    cdef intp_t d = points.shape[1], j, k, taken = 0
    cdef intp_t cols = eps.n_cols
    cdef double* lo = <double*> query.lo
    cdef double* hi = <double*> query.hi
    cdef double* e_max = <double*> query.eps_max
    cdef double* e_min = <double*> query.eps_min
    cdef const double* e
    cdef double reach = 0.0, inner = INFINITY
    for j in range(start, end):
        if select != NULL and select[j] != wanted:
            continue
        e = eps.values + j * eps.row_stride
        for k in range(d):
            if taken == 0 or points[j, k] < lo[k]:
                lo[k] = points[j, k]
            if taken == 0 or points[j, k] > hi[k]:
                hi[k] = points[j, k]
        for k in range(cols):
            if taken == 0 or e[k] > e_max[k]:
                e_max[k] = e[k]
            if taken == 0 or e[k] < e_min[k]:
                e_min[k] = e[k]
        reach = larger(reach, eps.reach[j * eps.bound_stride])
        inner = smaller(inner, eps.inner[j * eps.bound_stride])
        taken += 1
    query.eps_cols = cols
    query.reach = reach if mode != REVERSE else 0.0
    query.inner = inner if mode != REVERSE else 0.0
    query.block = block
    return taken


cdef class EpsRows:
    """Eps table of an index: rows of radii with their reach and inner bounds.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_cols), float64
        ``n_rows`` is 1 (shared by every point) or the number of points;
        ``n_cols`` is 1 (isotropic) or the number of features.
    index : SpatialIndex
        Supplies the metric and the window features.
    reach, inner : ndarray of shape (n_rows,), default=None
        The rows' bounds when already known (computed otherwise; for an index
        whose searches never read them, the loosest valid bounds, one for all
        rows: no limit on the reach, no inner ball).
    n_threads : int, default=1
        Threads computing the bounds.
    """

    def __init__(self, values, SpatialIndex index, reach=None, inner=None, int n_threads=1):
        cdef const double[:, ::1] v = np.ascontiguousarray(values, dtype=np.float64)
        cdef intp_t n_rows = v.shape[0], n_cols = v.shape[1], r
        cdef double[::1] reach_view, inner_view
        cdef int interrupted[1]
        if n_cols != 1 and n_cols != index.norm.n_features:
            raise ValueError(f"eps rows have {n_cols} columns; expected 1 or "
                             f"{index.norm.n_features}")
        if reach is None and not index.reads_eps_bounds:
            reach_view = np.array([np.inf])
            inner_view = np.array([0.0])
        elif reach is None:
            reach_view = np.empty(n_rows)
            inner_view = np.empty(n_rows)
            interrupted[0] = 0
            with nogil:
                for r in prange(n_rows, schedule="static", num_threads=n_threads):
                    if threadid() == 0 and signal_raised(r, POINTS_PER_POLL):
                        interrupted[0] = 1
                    reach_view[r] = _reach(&v[r, 0], n_cols, &index.norm)
                    inner_view[r] = _inner(&v[r, 0], n_cols, &index.norm)
            if interrupted[0]:
                raise_pending()
        else:
            reach_view = np.ascontiguousarray(reach, dtype=np.float64)
            inner_view = np.ascontiguousarray(inner, dtype=np.float64)
        self.values = v.base
        self.reach = reach_view.base
        self.inner = inner_view.base
        self.table.values = &v[0, 0]
        self.table.row_stride = 0 if n_rows == 1 else n_cols
        self.table.n_cols = n_cols
        self.table.reach = &reach_view[0]
        self.table.inner = &inner_view[0]
        self.table.bound_stride = 0 if reach_view.shape[0] == 1 else 1

    @property
    def shared(self):
        """True when every point uses the same row."""
        return self.table.row_stride == 0

    def take(self, positions, SpatialIndex index, int n_threads=1):
        """The rows at ``positions`` (shared tables are returned as they are)."""
        if self.shared:
            return self
        values = take_rows(self.values, positions, n_threads)
        if self.table.bound_stride == 0:
            # Placeholder bounds: what ``index`` needs is worked out afresh.
            return EpsRows(values, index, n_threads=n_threads)
        return EpsRows(values, index, take_rows(self.reach, positions, n_threads),
                       take_rows(self.inner, positions, n_threads))


cdef double _reach(const double* e, intp_t n_cols, const Norm* norm) noexcept nogil:
    """Bound on ||q - p|| (all features) for q in the neighbourhood of p.

    Inside the norm, ||dx / e|| <= 1 gives ||dx|| <= max e; each window feature
    adds |dx_t| <= e_t.  Composing both parts with the metric's own norm gives
    the bound over all features.
    """
    cdef intp_t k
    cdef double ek, largest = 0.0, acc = 0.0
    cdef bint has_norm_part = False
    for k in range(norm.n_features):
        ek = e[0 if n_cols == 1 else k]
        if norm.window != NULL and norm.window[k]:
            acc = accumulate(acc, ek, norm)
        else:
            largest = larger(largest, ek)
            has_norm_part = True
    if has_norm_part:
        acc = accumulate(acc, largest, norm)
    return unreduce(acc, norm)


cdef double _inner(const double* e, intp_t n_cols, const Norm* norm) noexcept nogil:
    """Radius of the largest ball (all features) inside the neighbourhood: min e."""
    cdef intp_t k
    cdef double smallest = INFINITY
    for k in range(norm.n_features):
        smallest = smaller(smallest, e[0 if n_cols == 1 else k])
    return smallest


cdef class SpatialIndex:
    """Base class of gridscan's indexes: permuted points plus candidate ranges."""

    def _setup(self, points, order, metric, double p, window):
        """Store the index-ordered points, their order and the metric."""
        self.points = points
        self.order = order
        self.blocks = np.arange(points.shape[0] + 1, dtype=np.intp)
        self.metric = metric
        self.p = p
        self.window = np.ascontiguousarray(window, dtype=np.uint8)
        self.n_points = points.shape[0]
        cdef const uint8_t[::1] mask = self.window
        self.norm.metric = <Metric> METRIC_CODES[metric]
        self.norm.p = p
        self.norm.n_features = points.shape[1]
        self.norm.window = &mask[0] if self.window.any() else NULL
        self.norm.period = NULL
        self.norm.wrap = NULL
        self.norm.plain_euclidean = metric == "euclidean" and self.norm.window == NULL
        self.norm.periodic_euclidean = False
        self.periods = None
        self.reads_eps_bounds = True
        self.links_forward = False
        self.credit_reach = INFINITY

    def set_periods(self, periods, point_reach):
        """Make the features with a period > 0 periodic (minimum-image differences).

        The indexed points (and later queries) must lie in [0, P) along them.
        ``point_reach`` bounds, per feature (or one for all), the difference
        ``|dx_k|`` between an indexed point and any point its own eps reaches: the
        REVERSE and UNION searches need it to know which queries near the
        seam have neighbours on the other side.
        """
        cdef intp_t d = self.norm.n_features
        periods = np.ascontiguousarray(periods, dtype=np.float64)
        if periods.shape != (d,):
            raise ValueError(f"periods has shape {periods.shape}; expected ({d},)")
        if not np.any(periods > 0):
            self.periods = None
            self.norm.period = NULL
            self.norm.wrap = NULL
            self.norm.plain_euclidean = self.norm.periodic_euclidean or self.norm.plain_euclidean
            self.norm.periodic_euclidean = False
            return
        if d > MAX_PERIODIC_INDEX_FEATURES:
            raise ValueError(f"periodic features need at most {MAX_PERIODIC_INDEX_FEATURES} "
                             f"features in all; got {d}")
        self.periods = periods
        self.period_reach = np.array(
            np.broadcast_to(np.asarray(point_reach, dtype=np.float64), (d,)))
        cdef const double[::1] view = self.periods
        self.norm.period = &view[0]
        self.period_wrap = np.where(periods > 0, periods, np.inf)
        view = self.period_wrap
        self.norm.wrap = &view[0]
        self.norm.periodic_euclidean = self.norm.plain_euclidean or self.norm.periodic_euclidean
        self.norm.plain_euclidean = False

    def _wrap_queries(self, X):
        """X with every periodic feature taken modulo its period, into [0, P)."""
        if self.periods is None:
            return X
        return wrap_periodic(X, self.periods)

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        """Append the position ranges that may hold neighbours of q; -1 on no memory.

        Each index's own search, blind to periodic features: call ``search``.
        """
        return range_push(out, 0, self.n_points, False, -1)

    cdef int search(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        """Append the position ranges that may hold neighbours of q; -1 on no memory."""
        if self.norm.period == NULL:
            return self.candidates(q, mode, out)
        return self._search_images(q, mode, out)

    cdef int _search_images(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        """``candidates`` of q and of its images across the seams of the periodic features.

        Along a periodic feature of period P the points lie in [0, P) and the
        index sees a plain interval.  A query box whose reach crosses 0 (or P)
        is searched again shifted by +P (or -P); every neighbour then lies in
        the candidates of the image nearest to it, since the minimum image of
        a difference is the plain difference to one of the images.  A range
        flagged full for an image is full: the plain difference bounds the
        minimum image.  The ranges of several images may overlap: they are
        made disjoint, full wherever one of them was (_make_disjoint, which
        leaves them as they are when they do not overlap).
        """
        cdef intp_t d = self.norm.n_features, k, a, n_axes = 0, n_images = 1, image, code
        cdef intp_t bounds[MAX_MERGED_IMAGES + 1]
        cdef intp_t axis[MAX_PERIODIC_INDEX_FEATURES]
        cdef int low_shift[MAX_PERIODIC_INDEX_FEATURES]
        cdef int n_shifts[MAX_PERIODIC_INDEX_FEATURES]
        cdef double lo[MAX_PERIODIC_INDEX_FEATURES]
        cdef double hi[MAX_PERIODIC_INDEX_FEATURES]
        cdef double period, reach, shift, margin
        cdef Query image_query
        for k in range(d):
            period = self.norm.period[k]
            if period <= 0.0:
                continue
            reach = 0.0
            if mode != REVERSE:
                reach = q.eps_max[k if q.eps_cols > 1 else 0]
            if mode != FORWARD:
                reach = larger(reach, self.period_reach[k])
            # Rounding of the shifted coordinates is covered by a few ulps of P.
            reach = reach + 8.0 * DBL_EPSILON * period
            low_shift[n_axes] = 1 if q.lo[k] - reach <= 0.0 else 0
            n_shifts[n_axes] = 1 + low_shift[n_axes] + (1 if q.hi[k] + reach >= period else 0)
            if n_shifts[n_axes] > 1:
                axis[n_axes] = k
                n_images = n_images * n_shifts[n_axes]
                n_axes = n_axes + 1
        if n_images == 1:
            return self.candidates(q, mode, out)
        image_query = q[0]
        image_query.lo = lo
        image_query.hi = hi
        bounds[0] = out.size
        for image in range(n_images):
            if image < MAX_MERGED_IMAGES:
                bounds[image] = out.size
            for k in range(d):
                lo[k] = q.lo[k]
                hi[k] = q.hi[k]
            code = image
            image_query.block = q.block
            for a in range(n_axes):
                # Shifts +1, 0, -1 periods (those that reach the data), in turn.
                shift = low_shift[a] - code % n_shifts[a]
                code = code // n_shifts[a]
                if shift != 0.0:
                    k = axis[a]
                    period = self.norm.period[k]
                    margin = 4.0 * DBL_EPSILON * period
                    lo[k] = q.lo[k] + shift * period - margin
                    hi[k] = q.hi[k] + shift * period + margin
                    image_query.block = -1
            if self.candidates(&image_query, mode, out) < 0:
                return -1
        if n_images > MAX_MERGED_IMAGES:
            return _make_disjoint(out, bounds, 0)
        bounds[n_images] = out.size
        return _make_disjoint(out, bounds, n_images)

    def set_point_eps(self, EpsRows eps, mask=None, int n_threads=1):
        """Give REVERSE and UNION searches the eps of the indexed points (by position).

        Points whose ``mask`` entry is 0 are left out: they can hold no query.
        The index keeps this state until the next call (``point_eps``,
        ``point_mask``); a call with the same objects does nothing, and an
        EpsRows never changes, so the state is known by identity. The subclass
        hook ``_set_point_eps`` builds what its searches read (bounds per node
        or cell, the lattice's envelope). ``n_threads`` is a hint.
        """
        if eps is self.point_eps and mask is self.point_mask:
            return
        self.point_eps = None
        self._set_point_eps(eps, mask, n_threads)
        self.point_eps = eps
        self.point_mask = mask

    def _set_point_eps(self, EpsRows eps, mask, int n_threads):
        """Hook of set_point_eps: nothing here (a brute search keeps no bounds)."""

    def require_point_eps(self, EpsRows eps, mask=None):
        """Raise unless the searches read ``eps`` (and ``mask``) as the indexed points' eps.

        The passes whose searches read that state without setting it
        (predict_core, which must not change a shared index) check it here:
        searches with another table would silently miss neighbours.
        """
        if self.point_eps is not eps or self.point_mask is not mask:
            raise RuntimeError(
                "the index's searches are not set up for these eps: call "
                "index.set_point_eps(eps, mask) with the same objects first")

    def eps_rows(self, values, int n_threads=1):
        """An EpsRows table for this index's metric and window features."""
        return EpsRows(values, self, n_threads=n_threads)

    def prepare_searches(self, EpsRows eps, int n_threads=1):
        """Get ready for the passes' searches of the index's own blocks with eps (by position).

        Recorded as ``search_eps``; a second call with the same EpsRows does
        nothing. The subclass hook ``_prepare_searches`` may change the blocks
        and precompute what the searches share (the grid's pair lists, the
        tree's block nodes, which may depend on eps): the passes call it before
        they search their own blocks.
        """
        if eps is self.search_eps:
            return
        self.search_eps = None
        self._prepare_searches(eps, n_threads)
        self.search_eps = eps

    def _prepare_searches(self, EpsRows eps, int n_threads):
        """Hook of prepare_searches: nothing here."""

    def _set_own_eps(self, sample_eps):
        """Validate the indexed points' own eps (original row order) and keep it by position."""
        if sample_eps is None:
            self.own_eps = None
            return
        table = eps_rows(sample_eps, n_rows=self.n_points, n_features=self.n_features,
                         name="sample_eps", forms=("rows", "rows_features"),
                         metric=self.metric, p=self.p)
        self.own_eps = EpsRows(table, self).take(self.order, self)
        self.set_point_eps(self.own_eps)
        if self.periods is not None:
            self.period_reach = np.array(np.broadcast_to(table.max(axis=0), (self.n_features,)))

    def query_radius(self, X, eps, count_only=False, sort_results=False, *,
                     return_distance=False, neighbors="query", n_jobs=None):
        """Neighbours of each row of X within its eps neighbourhood.

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            Query points.
        eps : float, array-like of shape (n_features,) or (m, n_features)
            Radius of every query: one for all, one per feature, or one row per query.
        count_only : bool, default=False
            Return only the number of neighbours of each query.
        sort_results : bool, default=False
            Sort each query's neighbours by increasing scaled distance (ties by index).
        return_distance : bool, default=False
            Also return the scaled distances ``||(x_q - x) / eps||`` (window
            features excluded), which are <= 1 for every neighbour.
        neighbors : {"query", "union"}, default="query"
            ``"query"``: points inside the query's neighbourhood. ``"union"``:
            also points whose own neighbourhood (``sample_eps`` given when the
            index was built) contains the query.
        n_jobs : int, default=None
            Threads; None uses OpenMP's default (OMP_NUM_THREADS or all cores);
            never more than the CPUs available.

        Returns
        -------
        counts : ndarray of shape (m,)
            With ``count_only=True``.
        ind : ndarray of shape (m,), dtype=object
            Arrays of indices into the indexed data.
        dist : ndarray of shape (m,), dtype=object
            With ``return_distance=True``: the matching scaled distances.
        """
        Q = self._wrap_queries(check_points(X, name="X", n_features=self.n_features))
        m = Q.shape[0]
        query_eps = EpsRows(
            eps_rows(eps, n_rows=m, n_features=self.n_features, name="eps",
                     metric=self.metric, p=self.p), self)
        if neighbors not in ("query", "union"):
            raise ValueError(f"neighbors must be 'query' or 'union'; got {neighbors!r}")
        mode = FORWARD
        if neighbors == "union":
            if self.own_eps is None:
                raise ValueError(
                    "neighbors='union' needs the eps of the indexed points; build the index "
                    "with sample_eps=...")
            mode = UNION
            self.set_point_eps(self.own_eps)    # (kept since the build; nothing to do)
        n_threads = effective_n_threads(n_jobs)
        points = self.points
        if Q.dtype != points.dtype:
            points, Q = points.astype(np.float64), Q.astype(np.float64)
        empty = np.empty(0, dtype=np.intp)
        counts = np.empty(m, dtype=np.intp)
        radius_scan(self, points, Q, query_eps, self.own_eps, mode, counts, empty, empty,
                    np.empty(0), n_threads)
        if count_only:
            return counts
        indptr = np.zeros(m + 1, dtype=np.intp)
        np.cumsum(counts, out=indptr[1:])
        positions = np.empty(indptr[m], dtype=np.intp)
        distances = np.empty(indptr[m])
        radius_scan(self, points, Q, query_eps, self.own_eps, mode, counts, indptr,
                    positions, distances, n_threads)
        indices = np.asarray(self.order)[positions]
        if sort_results:
            by = np.lexsort((indices, distances, np.repeat(np.arange(m), counts)))
            indices, distances = indices[by], distances[by]
        ind = np.empty(m, dtype=object)
        dist = np.empty(m, dtype=object)
        for i in range(m):
            ind[i] = indices[indptr[i]:indptr[i + 1]]
            dist[i] = distances[indptr[i]:indptr[i + 1]]
        return (ind, dist) if return_distance else ind

    @property
    def n_features(self):
        return self.norm.n_features


cdef class BruteIndex(SpatialIndex):
    """No index: every query scans all points (``algorithm="brute"``)."""

    def __init__(self, points, metric="euclidean", double p=2.0, window=None):
        points = np.ascontiguousarray(points)
        if window is None:
            window = np.zeros(points.shape[1], dtype=np.uint8)
        self._setup(points, np.arange(points.shape[0], dtype=np.intp), metric, p, window)
        self.reads_eps_bounds = False


def radius_scan(SpatialIndex index, const floating[:, ::1] points,
                const floating[:, ::1] queries, EpsRows query_eps, EpsRows point_eps,
                int mode, intp_t[::1] counts, const intp_t[::1] indptr,
                intp_t[::1] indices, double[::1] distances, int n_threads):
    """Neighbours of every query among the index points.

    With an empty ``indptr`` only ``counts`` is filled (OUT); otherwise the
    positions of the neighbours of query i go to
    ``indices[indptr[i]:indptr[i + 1]]`` with their scaled distances (OUT).
    ``point_eps`` may be None for FORWARD searches.
    """
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef intp_t m = queries.shape[0], d = points.shape[1]
    cdef intp_t i, t, r, j, found
    cdef bint fill = indptr.shape[0] > 0
    cdef int failed[1]
    cdef bint fwd, rev
    cdef double dist
    cdef const EpsTable* qe = &query_eps.table
    cdef const EpsTable* pe = &point_eps.table if point_eps is not None else NULL
    cdef const Norm* norm = &index.norm
    cdef const double* e_q
    cdef const double* e_p
    cdef Query* query
    cdef RangeList* ranges
    if mode != FORWARD and pe == NULL:
        raise ValueError("a REVERSE or UNION search needs the eps of the index points")
    if mode != FORWARD:
        index.require_point_eps(point_eps)
    failed[0] = 0
    with nogil:
        for i in prange(m, schedule="dynamic", chunksize=parallel_chunk(m, n_threads),
                        num_threads=n_threads):
            t = threadid()
            if t == 0 and i % QUERIES_PER_POLL == 0:
                check_signals()
            ranges = work.ranges[t]
            ranges.size = 0
            e_q = qe.values + i * qe.row_stride
            query = work.queries[t]
            load_point_query(query, &queries[i, 0], qe, i, <Direction> mode, d)
            if index.search(query, <Direction> mode, ranges) < 0:
                failed[0] = 1
                continue
            found = 0
            for r in range(ranges.size):
                for j in range(ranges.start[r], ranges.end[r]):
                    fwd = ranges.full[r] or (
                        mode != REVERSE and within(&queries[i, 0], &points[j, 0], e_q,
                                                   qe.n_cols, norm))
                    rev = False
                    if not fwd and mode != FORWARD:
                        e_p = pe.values + j * pe.row_stride
                        rev = within(&points[j, 0], &queries[i, 0], e_p, pe.n_cols, norm)
                    if not (fwd or rev):
                        continue
                    if fill:
                        dist = INFINITY
                        if fwd:
                            dist = scaled_distance(&queries[i, 0], &points[j, 0], e_q,
                                                   qe.n_cols, norm)
                        if mode != FORWARD:
                            e_p = pe.values + j * pe.row_stride
                            if rev or within(&points[j, 0], &queries[i, 0], e_p,
                                             pe.n_cols, norm):
                                dist = fmin(dist, scaled_distance(
                                    &points[j, 0], &queries[i, 0], e_p, pe.n_cols, norm))
                        indices[indptr[i] + found] = j
                        distances[indptr[i] + found] = dist
                    found = found + 1
            counts[i] = found
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")
