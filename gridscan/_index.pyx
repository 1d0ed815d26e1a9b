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

from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, fmax, fmin, pow, sqrt
from libc.stdlib cimport free, malloc, realloc

from cython cimport floating

from gridscan._kernels cimport (
    CHEBYSHEV, EUCLIDEAN, FORWARD, MANHATTAN, MINKOWSKI, REVERSE, UNION, Direction, EpsTable,
    Metric, Norm, scaled_distance, within,
)
from gridscan._typedefs cimport intp_t, uint8_t

METRIC_CODES = {"euclidean": EUCLIDEAN, "manhattan": MANHATTAN,
                "chebyshev": CHEBYSHEV, "minkowski": MINKOWSKI}

# Queries between two checks for Ctrl-C by the calling thread.
DEF CHECK_SIGNALS_EVERY = 256


cdef int range_init(RangeList* out) noexcept nogil:
    out.size = 0
    out.capacity = 64
    out.start = <intp_t*> malloc(out.capacity * sizeof(intp_t))
    out.end = <intp_t*> malloc(out.capacity * sizeof(intp_t))
    out.full = <bint*> malloc(out.capacity * sizeof(bint))
    if out.start == NULL or out.end == NULL or out.full == NULL:
        return -1
    return 0


cdef void range_free(RangeList* out) noexcept nogil:
    free(out.start)
    free(out.end)
    free(out.full)
    out.start = NULL
    out.end = NULL
    out.full = NULL


cdef int range_push(RangeList* out, intp_t start, intp_t end, bint full) noexcept nogil:
    """Append a range; -1 when memory runs out."""
    cdef intp_t capacity = 2 * out.capacity
    cdef void* grown
    if out.size == out.capacity:
        grown = realloc(out.start, capacity * sizeof(intp_t))
        if grown == NULL:
            return -1
        out.start = <intp_t*> grown
        grown = realloc(out.end, capacity * sizeof(intp_t))
        if grown == NULL:
            return -1
        out.end = <intp_t*> grown
        grown = realloc(out.full, capacity * sizeof(bint))
        if grown == NULL:
            return -1
        out.full = <bint*> grown
        out.capacity = capacity
    out.start[out.size] = start
    out.end[out.size] = end
    out.full[out.size] = full
    out.size += 1
    return 0


cdef class Workspace:
    """Per-thread scratch memory for searches, indexed by cython.parallel.threadid()."""

    def __cinit__(self, intp_t n_threads, intp_t n_features):
        cdef intp_t t
        self.n_threads = n_threads
        self.ranges = <RangeList*> malloc(n_threads * sizeof(RangeList))
        self.coords = <double*> malloc(n_threads * max(n_features, 1) * sizeof(double))
        self.queries = <Query*> malloc(n_threads * sizeof(Query))
        self.n_features = n_features
        if self.ranges == NULL or self.coords == NULL or self.queries == NULL:
            raise MemoryError("gridscan: could not allocate search workspace")
        for t in range(n_threads):
            self.ranges[t].start = NULL
            self.ranges[t].end = NULL
            self.ranges[t].full = NULL
        for t in range(n_threads):
            self.queries[t].x = &self.coords[t * max(n_features, 1)]
            if range_init(&self.ranges[t]) < 0:
                raise MemoryError("gridscan: could not allocate search workspace")

    def __dealloc__(self):
        cdef intp_t t
        if self.ranges != NULL:
            for t in range(self.n_threads):
                range_free(&self.ranges[t])
            free(self.ranges)
        free(self.coords)
        free(self.queries)


cdef void load_query(Query* query, const floating* row, intp_t d, const EpsTable* eps,
                     intp_t i, Direction mode) noexcept nogil:
    """Fill query (OUT; its x buffer is preallocated) for row i of a query set with eps table eps.

    REVERSE searches use the indexed points' eps only, so the query's own eps
    and bounds are left empty.
    """
    cdef intp_t k
    cdef double* x = <double*> query.x
    for k in range(d):
        x[k] = row[k]
    if mode == REVERSE:
        query.eps = NULL
        query.eps_cols = 0
        query.reach = 0.0
        query.inner = 0.0
    else:
        query.eps = eps.values + i * eps.row_stride
        query.eps_cols = eps.n_cols
        query.reach = eps.reach[i * eps.bound_stride]
        query.inner = eps.inner[i * eps.bound_stride]


cdef class EpsRows:
    """Eps table of an index: rows of radii with their reach and inner bounds.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_cols), float64
        ``n_rows`` is 1 (shared by every point) or the number of points;
        ``n_cols`` is 1 (isotropic) or the number of features.
    index : SpatialIndex
        Supplies the metric and the window features.
    """

    def __init__(self, values, SpatialIndex index):
        cdef double[:, ::1] v = np.ascontiguousarray(values, dtype=np.float64)
        cdef intp_t n_rows = v.shape[0], n_cols = v.shape[1], r
        cdef double[::1] reach = np.empty(n_rows)
        cdef double[::1] inner = np.empty(n_rows)
        if n_cols != 1 and n_cols != index.norm.n_features:
            raise ValueError(f"eps rows have {n_cols} columns; expected 1 or "
                             f"{index.norm.n_features}")
        with nogil:
            for r in range(n_rows):
                reach[r] = _reach(&v[r, 0], n_cols, &index.norm)
                inner[r] = _inner(&v[r, 0], n_cols, &index.norm)
        self.values = v.base
        self.reach = reach.base
        self.inner = inner.base
        self.table.values = &v[0, 0]
        self.table.row_stride = 0 if n_rows == 1 else n_cols
        self.table.n_cols = n_cols
        self.table.reach = &reach[0]
        self.table.inner = &inner[0]
        self.table.bound_stride = 0 if n_rows == 1 else 1

    @property
    def shared(self):
        """True when every point uses the same row."""
        return self.table.row_stride == 0

    def take(self, positions, SpatialIndex index):
        """The rows at ``positions`` (shared tables are returned as they are)."""
        if self.shared:
            return self
        return EpsRows(np.asarray(self.values)[positions], index)


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
            acc = _combine(acc, ek, norm)
        else:
            largest = fmax(largest, ek)
            has_norm_part = True
    if has_norm_part:
        acc = _combine(acc, largest, norm)
    if norm.metric == EUCLIDEAN:
        return sqrt(acc)
    if norm.metric == MINKOWSKI:
        return pow(acc, 1.0 / norm.p)
    return acc


cdef inline double _combine(double acc, double x, const Norm* norm) noexcept nogil:
    if norm.metric == EUCLIDEAN:
        return acc + x * x
    if norm.metric == MANHATTAN:
        return acc + x
    if norm.metric == CHEBYSHEV:
        return fmax(acc, x)
    return acc + pow(x, norm.p)


cdef double _inner(const double* e, intp_t n_cols, const Norm* norm) noexcept nogil:
    """Radius of the largest ball (all features) inside the neighbourhood: min e."""
    cdef intp_t k
    cdef double smallest = INFINITY
    for k in range(norm.n_features):
        smallest = fmin(smallest, e[0 if n_cols == 1 else k])
    return smallest


cdef class SpatialIndex:
    """Base class of gridscan's indexes: permuted points plus candidate ranges."""

    def _setup(self, points, order, metric, double p, window):
        """Store the index-ordered points, their order and the metric."""
        self.points = points
        self.order = order
        self.metric = metric
        self.p = p
        self.window = np.ascontiguousarray(window, dtype=np.uint8)
        self.n_points = points.shape[0]
        cdef const uint8_t[::1] mask = self.window
        self.norm.metric = <Metric> METRIC_CODES[metric]
        self.norm.p = p
        self.norm.n_features = points.shape[1]
        self.norm.window = &mask[0] if self.window.any() else NULL

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        """Append the position ranges that may hold neighbours of q; -1 on no memory."""
        return range_push(out, 0, self.n_points, False)

    def set_reach(self, reach):
        """Record per-position reach (n,) or a shared one (1,), for REVERSE/UNION pruning."""

    def set_point_eps(self, eps):
        """Record the eps of the indexed points by position (an EpsRows) before a search.

        FORWARD queries of the core read their eps rows from this table and
        REVERSE/UNION searches test the points against it; an index may use it
        to precompute neighbourhood shapes.  The base class ignores it.
        """

    def eps_rows(self, values):
        """An EpsRows table for this index's metric and window features."""
        return EpsRows(values, self)

    def _set_own_eps(self, sample_eps):
        """Validate the indexed points' own eps (original row order) and keep it by position."""
        from gridscan._validation import eps_rows
        if sample_eps is None:
            self.own_eps = None
            return
        table = eps_rows(sample_eps, n_rows=self.n_points, n_features=self.n_features,
                         name="sample_eps", forms=("rows", "rows_features"))
        self.own_eps = EpsRows(table, self).take(self.order, self)
        self.set_reach(self.own_eps.reach)

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
            Threads; None uses OpenMP's default (OMP_NUM_THREADS or all cores).

        Returns
        -------
        counts : ndarray of shape (m,)
            With ``count_only=True``.
        ind : ndarray of shape (m,), dtype=object
            Arrays of indices into the indexed data.
        dist : ndarray of shape (m,), dtype=object
            With ``return_distance=True``: the matching scaled distances.
        """
        from gridscan._validation import check_points, effective_n_threads, eps_rows
        Q = check_points(X, name="X", n_features=self.n_features)
        m = Q.shape[0]
        query_eps = EpsRows(
            eps_rows(eps, n_rows=m, n_features=self.n_features, name="eps"), self)
        if neighbors not in ("query", "union"):
            raise ValueError(f"neighbors must be 'query' or 'union'; got {neighbors!r}")
        mode = FORWARD
        if neighbors == "union":
            if self.own_eps is None:
                raise ValueError(
                    "neighbors='union' needs the eps of the indexed points; build the index "
                    "with sample_eps=...")
            mode = UNION
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
    cdef intp_t i, t, r, j, k, found
    cdef bint fill = indptr.shape[0] > 0
    cdef int failed[1]
    cdef bint hit, fwd, rev
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
    failed[0] = 0
    with nogil:
        for i in prange(m, schedule="dynamic", chunksize=16, num_threads=n_threads):
            t = threadid()
            if t == 0 and i % CHECK_SIGNALS_EVERY == 0:
                with gil:
                    PyErr_CheckSignals()
            ranges = &work.ranges[t]
            ranges.size = 0
            e_q = qe.values + i * qe.row_stride
            query = &work.queries[t]
            load_query(query, &queries[i, 0], d, qe, i, <Direction> mode)
            if index.candidates(query, <Direction> mode, ranges) < 0:
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
