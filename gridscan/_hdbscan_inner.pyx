# The density hierarchy of GridHDBSCAN: core scales, the minimum spanning tree of
# mutual reachability, DBSCAN cuts of it, and k-distances.
#
# Definition (docs/hierarchy.rst).  Every eps is multiplied by one scale s > 0.
# The scaled distance delta(p, q) is the smallest s at which p and q are
# neighbours under the union rule: q in B_s(p) or p in B_s(q), B_s being the
# neighbourhood with radii E * s (docs/semantics.rst, sections "Scaled distance",
# "Window features" and "Neighbourhoods").  It is computed as the kernel's own
# answer, not as a formula: ``threshold`` searches the doubles for the smallest s
# at which within() of _kernels.pxd accepts the pair with radii e * s, so that
# "delta(p, q) <= s" and GridDBSCAN's test with eps multiplied by s agree on every
# pair, to the last bit.  The core scale c(p) is the smallest s at which the
# weight of {q : delta(p, q) <= s} reaches min_samples; the mutual reachability
# is m(p, q) = max(c(p), c(q), delta(p, q)).
#
# Data layout.  Everything runs on a gridscan BallTree, by *position* in its
# index order: ``points`` (n, d) float64 coordinates, ``rows[pos]`` the row of X
# at that position, one eps row per position (or one shared row), node arrays
# as in _ball_tree.pyx (children of node i at 2i+1 and 2i+2, node i owning the
# positions [node_start[i], node_end[i])).  Two arrays are added per node:
# ``node_reach``, the largest reach (see _kernels.pxd) of its points, and
# ``node_core``, the smallest core scale of its points.
#
# Pruning.  reach bounds ||q - p|| for q in the neighbourhood of p at scale 1,
# and the neighbourhood at scale s is the one at scale 1 stretched by s, so
# ||q - p|| <= s * reach.  For a point x and a node of centre o and radius r,
# every q of the node therefore has
#
#   delta(x, q) >= (||x - o|| - r) / max(reach(x), node_reach)
#
# a bound free of any scale, used by every search below (kept on the safe side
# by a relative SLACK; the per-pair kernel has the last word).
#
# The minimum spanning tree (Boruvka).  Edges are ordered by the key
# (m, smaller row, larger row), a total order, so the tree is unique and does
# not depend on the number of threads.  Each round labels every point with its
# component, every node with the component of all its points (or -1), and for
# every point searches the smallest edge to another component with m at most
# max_scale; a component's smallest edge so far (an atomic minimum) bounds the
# searches of its other points.  The searches run in parallel without the GIL;
# the per-component minimum and the unions are a short sequential pass.

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc

from gridscan._buffers cimport reserve
from gridscan._hashing cimport DoubleBits
from gridscan._index cimport EpsRows, SpatialIndex, parallel_chunk
from gridscan._kernels cimport (
    Norm, accumulate, gap, gaps_to_interval, larger, point_distance, scaled_distance, smaller,
    unreduce, within,
)
from gridscan._signals cimport (
    CELLS_PER_POLL, POINTS_PER_POLL, QUERIES_PER_POLL, check_signals, poll_signals,
)
from gridscan._typedefs cimport intp_t, uint8_t
from gridscan._union_find cimport gs_atomic_cas, gs_atomic_load, uf_find, uf_union

# Relative safety margin of the node bounds and of the cheap pre-test of a pair.
cdef const double SLACK = 1e-9

# Entries of a thread's node stack: the tree depth is below 64.
cdef enum:
    STACK_SIZE = 256

# Bits of +inf: every finite double >= 0 has smaller bits.
cdef uint64_t INF_BITS = 0x7FF0000000000000ULL


cdef struct Tree:
    const double* points        # (n, d) by position
    const intp_t* rows          # (n,) row of X at each position
    intp_t n
    intp_t d
    intp_t n_nodes
    const intp_t* node_start
    const intp_t* node_end
    const double* node_radius
    const double* node_centroid  # (n_nodes, d)
    const double* node_reach
    const double* node_lo        # (n_nodes, d) bounding box of a node's points
    const double* node_hi
    const double* node_eps       # (n_nodes, eps_cols) largest eps of a node's points
    const double* eps            # eps rows by position
    intp_t eps_stride            # 0 when one row is shared
    intp_t eps_cols
    const double* reach          # reach by position
    intp_t reach_stride
    const Norm* norm


cdef struct Heap:
    # Max-heap of (delta, weight) pairs: a core scale search's nearest points.
    double* delta
    double* weight
    intp_t size
    intp_t capacity
    double total


# ---------------------------------------------------------------------------
# The scaled distance, as the kernel decides it

cdef inline bint _inside(const double* c, const double* q, const double* e, intp_t cols,
                         const Norm* norm, uint64_t scale_bits, double* buf) noexcept nogil:
    """Whether q lies in the neighbourhood of c with radii e * scale (buf: scratch, OUT)."""
    cdef DoubleBits s
    cdef intp_t k
    s.bits = scale_bits
    for k in range(cols):
        buf[k] = e[k] * s.value
    return within(c, q, buf, cols, norm)


cdef inline double _estimate(const double* c, const double* q, const double* e, intp_t cols,
                             const Norm* norm) noexcept nogil:
    """delta_c(q) by formula: the norm part and the window ratios (a few ulps off at most)."""
    cdef double t = scaled_distance(c, q, e, cols, norm)
    cdef intp_t k
    if norm.window != NULL:
        for k in range(norm.n_features):
            if norm.window[k]:
                t = larger(t, gap(q[k], c[k], k, norm) / e[0 if cols == 1 else k])
    return t


cdef double threshold(const double* c, const double* q, const double* e, intp_t cols,
                      const Norm* norm, double* buf) noexcept nogil:
    """delta_c(q): the smallest double s >= 0 at which within(c, q, e * s) holds.

    within() only grows with s, so the answer is found by galloping from the
    formula's estimate over the ordered bit patterns of the doubles, then by
    bisection: two kernel calls when the estimate is exact, a few more otherwise.
    """
    cdef DoubleBits w
    cdef uint64_t lo, hi, mid, step = 1
    w.value = _estimate(c, q, e, cols, norm)
    if not (w.value < INFINITY):
        w.bits = INF_BITS - 1
    if _inside(c, q, e, cols, norm, w.bits, buf):
        hi = w.bits
        while True:
            if hi == 0:
                return 0.0
            lo = hi - step if hi > step else 0
            if not _inside(c, q, e, cols, norm, lo, buf):
                break
            hi = lo
            step = 2 * step
    else:
        lo = w.bits
        while True:
            hi = lo + step if INF_BITS - lo > step else INF_BITS
            if hi == INF_BITS or _inside(c, q, e, cols, norm, hi, buf):
                break
            lo = hi
            step = 2 * step
    # within(lo) is false, within(hi) true.
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if _inside(c, q, e, cols, norm, mid, buf):
            hi = mid
        else:
            lo = mid
    w.bits = hi
    return w.value


cdef inline double pair_delta(const Tree* t, intp_t i, intp_t j, double bound,
                              double* buf) noexcept nogil:
    """delta(i, j) under the union rule, or INFINITY when it clearly exceeds bound."""
    cdef const double* x = t.points + i * t.d
    cdef const double* y = t.points + j * t.d
    cdef const double* ei = t.eps + i * t.eps_stride
    cdef const double* ej = t.eps + j * t.eps_stride
    cdef double a, b
    if i == j:
        return 0.0
    a = _estimate(x, y, ei, t.eps_cols, t.norm)
    b = a if t.eps_stride == 0 else _estimate(y, x, ej, t.eps_cols, t.norm)
    if smaller(a, b) > bound * (1.0 + SLACK) + 1e-300:
        return INFINITY
    a = threshold(x, y, ei, t.eps_cols, t.norm, buf)
    if t.eps_stride == 0:
        # One row for all: the relation is symmetric (|y - x| is |x - y| exactly).
        return a
    return smaller(a, threshold(y, x, ej, t.eps_cols, t.norm, buf))


cdef inline double node_lower(const Tree* t, intp_t i, intp_t node) noexcept nogil:
    """A lower bound on delta(i, q) for every q of node (see the notes at the top).

    The larger of two bounds: the ball's, and the box's, which divides each
    coordinate gap between the point and the node's bounding box by the larger
    of the two eps along that feature (the point's own, the node's largest):
    every norm is at least as large as that of the smaller coordinates.  With
    periodic features the gaps are minimum images and the ball, measured in
    plain coordinates, gives no bound.
    """
    cdef const double* x = t.points + i * t.d
    cdef const double* e = t.eps + i * t.eps_stride
    cdef const double* lo = t.node_lo + node * t.d
    cdef const double* hi = t.node_hi + node * t.d
    cdef const double* ne = t.node_eps + node * t.eps_cols
    cdef double near, far, acc = 0.0, windows = 0.0, ball
    cdef intp_t k, col
    for k in range(t.d):
        gaps_to_interval(x[k], lo[k], hi[k], k, t.norm, &near, &far)
        if near <= 0:
            continue
        col = 0 if t.eps_cols == 1 else k
        near = near / larger(e[col], ne[col])
        if t.norm.window != NULL and t.norm.window[k]:
            windows = larger(windows, near)
        else:
            acc = accumulate(acc, near, t.norm)
    near = larger(unreduce(acc, t.norm), windows)
    if t.norm.period == NULL:
        ball = point_distance(x, t.node_centroid + node * t.d, t.norm) - t.node_radius[node]
        if ball > 0:
            near = larger(near, ball / larger(t.reach[i * t.reach_stride], t.node_reach[node]))
    return near * (1.0 - SLACK)


cdef inline bint is_leaf(const Tree* t, intp_t node) noexcept nogil:
    return 2 * node + 1 >= t.n_nodes


# ---------------------------------------------------------------------------
# Heaps and per-thread scratch

cdef int heap_push(Heap* h, double delta, double weight) noexcept nogil:
    cdef intp_t i, parent, capacity
    if h.size == h.capacity:
        capacity = reserve(<void**> &h.delta, h.capacity, h.size + 1, sizeof(double))
        if (capacity < 0
                or reserve(<void**> &h.weight, h.capacity, h.size + 1, sizeof(double)) < 0):
            return -1
        h.capacity = capacity
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) // 2
        if h.delta[parent] >= delta:
            break
        h.delta[i] = h.delta[parent]
        h.weight[i] = h.weight[parent]
        i = parent
    h.delta[i] = delta
    h.weight[i] = weight
    h.total += weight
    return 0


cdef void heap_pop(Heap* h) noexcept nogil:
    """Remove the largest delta."""
    cdef intp_t i = 0, child
    cdef double delta, weight
    h.total -= h.weight[0]
    h.size -= 1
    if h.size == 0:
        return
    delta = h.delta[h.size]
    weight = h.weight[h.size]
    while True:
        child = 2 * i + 1
        if child >= h.size:
            break
        if child + 1 < h.size and h.delta[child + 1] > h.delta[child]:
            child += 1
        if h.delta[child] <= delta:
            break
        h.delta[i] = h.delta[child]
        h.weight[i] = h.weight[child]
        i = child
    h.delta[i] = delta
    h.weight[i] = weight


cdef class Scratch:
    """Per-thread memory: a node stack, a heap and a kernel buffer for each thread."""
    cdef intp_t n_threads
    cdef intp_t** stack_nodes
    cdef double** stack_bounds
    cdef double** buffers
    cdef Heap* heaps

    def __cinit__(self, intp_t n_threads, intp_t n_features):
        cdef intp_t t
        self.n_threads = n_threads
        self.stack_nodes = <intp_t**> malloc(n_threads * sizeof(intp_t*))
        self.stack_bounds = <double**> malloc(n_threads * sizeof(double*))
        self.buffers = <double**> malloc(n_threads * sizeof(double*))
        self.heaps = <Heap*> malloc(n_threads * sizeof(Heap))
        if (self.stack_nodes == NULL or self.stack_bounds == NULL or self.buffers == NULL
                or self.heaps == NULL):
            raise MemoryError("gridscan: could not allocate search scratch memory")
        for t in range(n_threads):
            # Each thread's blocks are its own allocations, apart from the others'.
            self.stack_nodes[t] = <intp_t*> malloc(STACK_SIZE * sizeof(intp_t) + 128)
            self.stack_bounds[t] = <double*> malloc(STACK_SIZE * sizeof(double) + 128)
            self.buffers[t] = <double*> malloc(max(n_features, 1) * sizeof(double) + 128)
            self.heaps[t].capacity = 64
            self.heaps[t].size = 0
            self.heaps[t].total = 0.0
            self.heaps[t].delta = <double*> malloc(64 * sizeof(double))
            self.heaps[t].weight = <double*> malloc(64 * sizeof(double))
            if (self.stack_nodes[t] == NULL or self.stack_bounds[t] == NULL
                    or self.buffers[t] == NULL or self.heaps[t].delta == NULL
                    or self.heaps[t].weight == NULL):
                raise MemoryError("gridscan: could not allocate search scratch memory")

    def __dealloc__(self):
        cdef intp_t t
        if self.heaps == NULL or self.stack_nodes == NULL:
            return
        for t in range(self.n_threads):
            free(self.stack_nodes[t])
            free(self.stack_bounds[t])
            free(self.buffers[t])
            free(self.heaps[t].delta)
            free(self.heaps[t].weight)
        free(self.stack_nodes)
        free(self.stack_bounds)
        free(self.buffers)
        free(self.heaps)


cdef inline intp_t push_children(const Tree* t, intp_t i, intp_t node, double floor,
                                 intp_t* nodes, double* bounds, intp_t top) noexcept nogil:
    """Push node's two children (the nearer on top) with their bounds, at least floor."""
    cdef intp_t a = 2 * node + 1, b = 2 * node + 2
    cdef double la = larger(floor, node_lower(t, i, a))
    cdef double lb = larger(floor, node_lower(t, i, b))
    if la <= lb:
        nodes[top] = b
        bounds[top] = lb
        nodes[top + 1] = a
        bounds[top + 1] = la
    else:
        nodes[top] = a
        bounds[top] = la
        nodes[top + 1] = b
        bounds[top + 1] = lb
    return top + 2


# ---------------------------------------------------------------------------
# The searcher

cdef class Searcher:
    """The hierarchy's searches over a gridscan BallTree and an eps table by position.

    Parameters
    ----------
    tree : BallTree
        The index (its points in index order, its metric and window features).
    eps : EpsRows
        Eps rows by position (or one shared row), with their reach.
    """
    cdef Tree t
    cdef SpatialIndex index
    cdef readonly object points       # (n, d) float64 by position
    cdef readonly object rows         # (n,) intp: row of X at each position
    cdef object arrays                # keeps the node arrays alive
    cdef EpsRows eps
    cdef double[::1] node_reach
    cdef double[:, ::1] node_lo
    cdef double[:, ::1] node_hi
    cdef double[:, ::1] node_eps
    cdef double[::1] node_core
    cdef readonly object core         # (n,) core scales by position, once computed

    def __init__(self, SpatialIndex tree, EpsRows eps):
        cdef const double[:, ::1] points = np.ascontiguousarray(tree.points, dtype=np.float64)
        cdef const intp_t[::1] rows = np.ascontiguousarray(tree.order, dtype=np.intp)
        _, _, start, end, radius, centroid = tree.get_arrays()
        cdef const intp_t[::1] node_start = np.ascontiguousarray(start, dtype=np.intp)
        cdef const intp_t[::1] node_end = np.ascontiguousarray(end, dtype=np.intp)
        cdef const double[::1] node_radius = np.ascontiguousarray(radius, dtype=np.float64)
        cdef const double[:, ::1] node_centroid = np.ascontiguousarray(centroid,
                                                                       dtype=np.float64)
        cdef const double[::1] reach = np.ascontiguousarray(eps.reach, dtype=np.float64)
        cdef const double[:, ::1] values = np.ascontiguousarray(eps.values, dtype=np.float64)
        self.index = tree
        self.eps = eps
        self.points = points.base
        self.rows = rows.base
        self.arrays = (node_start, node_end, node_radius, node_centroid, reach, values)
        self.core = None
        self.t.points = &points[0, 0]
        self.t.rows = &rows[0]
        self.t.n = points.shape[0]
        self.t.d = points.shape[1]
        self.t.n_nodes = node_start.shape[0]
        self.t.node_start = &node_start[0]
        self.t.node_end = &node_end[0]
        self.t.node_radius = &node_radius[0]
        self.t.node_centroid = &node_centroid[0, 0]
        self.t.eps = &values[0, 0]
        self.t.eps_cols = values.shape[1]
        self.t.eps_stride = 0 if values.shape[0] == 1 else values.shape[1]
        self.t.reach = &reach[0]
        self.t.reach_stride = 0 if reach.shape[0] == 1 else 1
        self.t.norm = &tree.norm
        self.node_reach = np.zeros(self.t.n_nodes)
        self.node_core = np.full(self.t.n_nodes, INFINITY)
        self.t.node_reach = &self.node_reach[0]
        cdef intp_t d = self.t.d, cols = self.t.eps_cols, n_nodes = self.t.n_nodes
        self.node_lo = np.full((n_nodes, d), INFINITY)
        self.node_hi = np.full((n_nodes, d), -INFINITY)
        self.node_eps = np.zeros((n_nodes, cols))
        self.t.node_lo = &self.node_lo[0, 0]
        self.t.node_hi = &self.node_hi[0, 0]
        self.t.node_eps = &self.node_eps[0, 0]
        cdef intp_t node, pos, k, child
        cdef double largest
        cdef const double* e
        with nogil:
            for node in range(n_nodes - 1, -1, -1):
                if not is_leaf(&self.t, node):
                    self.node_reach[node] = larger(self.node_reach[2 * node + 1],
                                                   self.node_reach[2 * node + 2])
                    for child in range(2 * node + 1, 2 * node + 3):
                        for k in range(d):
                            self.node_lo[node, k] = smaller(self.node_lo[node, k],
                                                            self.node_lo[child, k])
                            self.node_hi[node, k] = larger(self.node_hi[node, k],
                                                           self.node_hi[child, k])
                        for k in range(cols):
                            self.node_eps[node, k] = larger(self.node_eps[node, k],
                                                            self.node_eps[child, k])
                    continue
                largest = 0.0
                for pos in range(node_start[node], node_end[node]):
                    largest = larger(largest, reach[pos * self.t.reach_stride])
                    e = self.t.eps + pos * self.t.eps_stride
                    for k in range(d):
                        self.node_lo[node, k] = smaller(self.node_lo[node, k], points[pos, k])
                        self.node_hi[node, k] = larger(self.node_hi[node, k], points[pos, k])
                    for k in range(cols):
                        self.node_eps[node, k] = larger(self.node_eps[node, k], e[k])
                self.node_reach[node] = largest

    def core_scales(self, weights, double min_samples, double max_scale, int n_threads):
        """Core scale of every point by position (INFINITY beyond max_scale).

        ``weights`` by position (non-negative), or None for weight 1 each.
        The scales are kept for the searches that follow.
        """
        cdef double[::1] core = np.empty(self.t.n)
        cdef const double[::1] w = (np.ones(1) if weights is None
                                    else np.ascontiguousarray(weights, dtype=np.float64))
        cdef intp_t w_stride = 0 if w.shape[0] == 1 else 1
        cdef Scratch scratch = Scratch(n_threads, self.t.d)
        cdef const Tree* t = &self.t
        cdef intp_t i, th, top, node, j
        cdef double bound, lower, dl, wj
        cdef intp_t* nodes
        cdef double* bounds
        cdef Heap* h
        cdef int failed[1]
        failed[0] = 0
        with nogil:
            for i in prange(t.n, schedule="dynamic", chunksize=parallel_chunk(t.n, n_threads),
                            num_threads=n_threads):
                th = threadid()
                if th == 0 and i % QUERIES_PER_POLL == 0:
                    check_signals()
                nodes = scratch.stack_nodes[th]
                bounds = scratch.stack_bounds[th]
                h = &scratch.heaps[th]
                h.size = 0
                h.total = 0.0
                bound = max_scale
                nodes[0] = 0
                bounds[0] = 0.0
                top = 1
                while top > 0:
                    top = top - 1
                    node = nodes[top]
                    lower = bounds[top]
                    if lower > bound or t.node_end[node] == t.node_start[node]:
                        continue
                    if not is_leaf(t, node):
                        top = push_children(t, i, node, 0.0, nodes, bounds, top)
                        continue
                    for j in range(t.node_start[node], t.node_end[node]):
                        wj = w[j * w_stride]
                        if wj <= 0:
                            continue
                        dl = pair_delta(t, i, j, bound, scratch.buffers[th])
                        if dl > bound:
                            continue
                        if heap_push(h, dl, wj) < 0:
                            failed[0] = 1
                            break
                        # Drop the farthest while the others already weigh enough.
                        while h.size > 1 and h.total - h.weight[0] >= min_samples:
                            heap_pop(h)
                        if h.total >= min_samples:
                            bound = h.delta[0]
                core[i] = h.delta[0] if h.size > 0 and h.total >= min_samples else INFINITY
        if failed[0]:
            raise MemoryError("gridscan: out of memory in the core scale search")
        self.core = core.base
        self._set_node_core()
        return self.core

    def set_core(self, core):
        """Use the given core scales by position (a fitted estimator's, after unpickling)."""
        self.core = np.ascontiguousarray(core, dtype=np.float64)
        self._set_node_core()

    def _set_node_core(self):
        cdef const double[::1] core = self.core
        cdef intp_t node, pos
        cdef double least
        with nogil:
            for node in range(self.t.n_nodes - 1, -1, -1):
                if not is_leaf(&self.t, node):
                    self.node_core[node] = smaller(self.node_core[2 * node + 1],
                                                   self.node_core[2 * node + 2])
                    continue
                least = INFINITY
                for pos in range(self.t.node_start[node], self.t.node_end[node]):
                    least = smaller(least, core[pos])
                self.node_core[node] = least

    def spanning_tree(self, double max_scale, int n_threads):
        """The minimum spanning forest of m restricted to m <= max_scale.

        Returns (a, b, m): the rows of both ends of each edge (a < b) and its
        weight, in the order the edges were found.
        """
        if self.core is None:
            raise ValueError("core_scales must run first")
        cdef intp_t n = self.t.n, n_nodes = self.t.n_nodes
        cdef intp_t[::1] parent = np.arange(n, dtype=np.intp)
        cdef intp_t[::1] comp = np.empty(n, dtype=np.intp)
        cdef intp_t[::1] node_comp = np.empty(n_nodes, dtype=np.intp)
        cdef intp_t[::1] comp_bound = np.empty(n, dtype=np.intp)
        cdef intp_t[::1] best_other = np.empty(n, dtype=np.intp)
        cdef double[::1] best_m = np.empty(n)
        cdef intp_t[::1] comp_best = np.empty(n, dtype=np.intp)
        cdef intp_t[::1] edge_a = np.empty(max(n - 1, 0), dtype=np.intp)
        cdef intp_t[::1] edge_b = np.empty(max(n - 1, 0), dtype=np.intp)
        cdef double[::1] edge_m = np.empty(max(n - 1, 0))
        cdef intp_t n_edges = 0, added
        cdef Scratch scratch = Scratch(n_threads, self.t.d)
        while True:
            self._label_components(parent, comp, node_comp, comp_bound, max_scale)
            self._nearest_other(comp, node_comp, comp_bound, best_other, best_m, scratch,
                                n_threads)
            with nogil:
                added = _merge(&self.t, parent, comp, best_other, best_m, comp_best,
                               edge_a, edge_b, edge_m, n_edges)
            if added == 0:
                break
            n_edges += added
        return (np.asarray(edge_a)[:n_edges].copy(), np.asarray(edge_b)[:n_edges].copy(),
                np.asarray(edge_m)[:n_edges].copy())

    def _label_components(self, intp_t[::1] parent, intp_t[::1] comp, intp_t[::1] node_comp,
                          intp_t[::1] comp_bound, double max_scale):
        """comp[pos] = component root, node_comp = the one component of a node or -1
        (-2 for an empty node), comp_bound = max_scale (its bits) for every root (OUT)."""
        cdef intp_t n = self.t.n, node, pos, a, b, first
        cdef DoubleBits w
        w.value = max_scale
        with nogil:
            for pos in range(n):
                poll_signals(pos, POINTS_PER_POLL)
                comp[pos] = uf_find(&parent[0], pos)
                comp_bound[pos] = <intp_t> w.bits
            for node in range(self.t.n_nodes - 1, -1, -1):
                if not is_leaf(&self.t, node):
                    a = node_comp[2 * node + 1]
                    b = node_comp[2 * node + 2]
                    node_comp[node] = b if a == -2 else (a if b == -2 or a == b else -1)
                    continue
                if self.t.node_end[node] == self.t.node_start[node]:
                    node_comp[node] = -2
                    continue
                first = comp[self.t.node_start[node]]
                node_comp[node] = first
                for pos in range(self.t.node_start[node] + 1, self.t.node_end[node]):
                    if comp[pos] != first:
                        node_comp[node] = -1
                        break

    def _nearest_other(self, const intp_t[::1] comp, const intp_t[::1] node_comp,
                       intp_t[::1] comp_bound, intp_t[::1] best_other, double[::1] best_m,
                       Scratch scratch, int n_threads):
        """For every point the smallest edge (by key) to another component (OUT), or -1."""
        cdef const Tree* t = &self.t
        cdef const double[::1] core = self.core
        cdef const double* node_core = &self.node_core[0]
        cdef intp_t i, th, top, node, j, ci_comp, found
        cdef double ci, bound, lower, dl, m, best
        cdef intp_t* nodes
        cdef double* bounds
        with nogil:
            for i in prange(t.n, schedule="dynamic", chunksize=parallel_chunk(t.n, n_threads),
                            num_threads=n_threads):
                th = threadid()
                if th == 0 and i % QUERIES_PER_POLL == 0:
                    check_signals()
                best_other[i] = -1
                ci = core[i]
                ci_comp = comp[i]
                bound = _double_of(gs_atomic_load(&comp_bound[ci_comp]))
                if ci > bound:
                    continue
                nodes = scratch.stack_nodes[th]
                bounds = scratch.stack_bounds[th]
                found = -1
                best = INFINITY
                nodes[0] = 0
                bounds[0] = ci
                top = 1
                while top > 0:
                    top = top - 1
                    node = nodes[top]
                    lower = larger(bounds[top], node_core[node])
                    if lower > bound or node_comp[node] == ci_comp or node_comp[node] == -2:
                        continue
                    if not is_leaf(t, node):
                        top = push_children(t, i, node, ci, nodes, bounds, top)
                        continue
                    bound = smaller(bound, _double_of(gs_atomic_load(&comp_bound[ci_comp])))
                    for j in range(t.node_start[node], t.node_end[node]):
                        if comp[j] == ci_comp or core[j] > bound:
                            continue
                        dl = pair_delta(t, i, j, bound, scratch.buffers[th])
                        m = larger(larger(ci, core[j]), dl)
                        if m > bound:
                            continue
                        if found < 0 or _before(t, m, i, j, best, i, found):
                            found = j
                            best = m
                            bound = m
                best_other[i] = found
                best_m[i] = best
                if found >= 0:
                    _atomic_min_bits(&comp_bound[ci_comp], best)

    def core_ties(self, int n_threads):
        """Every edge whose weight is a core scale: (p, q, m) with p, q rows, q != p,
        delta(p, q) <= c(p) and c(q) <= c(p), so that m = c(p), for finite c(p).

        With the minimum spanning tree, they hold every edge that can take part in a
        tie between equal weights (the graph that ``prim_order`` runs on).
        """
        if self.core is None:
            raise ValueError("core scales are not set")
        cdef intp_t n = self.t.n
        cdef intp_t[::1] counts = np.zeros(n, dtype=np.intp)
        cdef intp_t[::1] empty = np.empty(0, dtype=np.intp)
        self._ties(counts, empty, empty, n_threads)
        indptr = np.zeros(n + 1, dtype=np.intp)
        np.cumsum(counts, out=indptr[1:])
        cdef intp_t[::1] other = np.empty(indptr[n], dtype=np.intp)
        self._ties(counts, indptr, other, n_threads)
        rows = np.asarray(self.rows)
        first = np.repeat(rows, np.asarray(counts))
        return first, rows[np.asarray(other)], np.repeat(np.asarray(self.core), np.asarray(counts))

    def _ties(self, intp_t[::1] counts, const intp_t[::1] indptr, intp_t[::1] other,
              int n_threads):
        """counts[i] (OUT) = number of core-scale edges of position i; with indptr
        given, their other ends by position go to other[indptr[i]:] (OUT)."""
        cdef const Tree* t = &self.t
        cdef const double[::1] core = self.core
        cdef const double* node_core = &self.node_core[0]
        cdef Scratch scratch = Scratch(n_threads, self.t.d)
        cdef bint fill = indptr.shape[0] > 0
        cdef intp_t i, th, top, node, j, found
        cdef double ci
        cdef intp_t* nodes
        cdef double* bounds
        with nogil:
            for i in prange(t.n, schedule="dynamic", chunksize=parallel_chunk(t.n, n_threads),
                            num_threads=n_threads):
                th = threadid()
                if th == 0 and i % QUERIES_PER_POLL == 0:
                    check_signals()
                ci = core[i]
                found = 0
                if ci < INFINITY:
                    nodes = scratch.stack_nodes[th]
                    bounds = scratch.stack_bounds[th]
                    nodes[0] = 0
                    bounds[0] = 0.0
                    top = 1
                    while top > 0:
                        top = top - 1
                        node = nodes[top]
                        if (bounds[top] > ci or node_core[node] > ci
                                or t.node_end[node] == t.node_start[node]):
                            continue
                        if not is_leaf(t, node):
                            top = push_children(t, i, node, 0.0, nodes, bounds, top)
                            continue
                        for j in range(t.node_start[node], t.node_end[node]):
                            if j == i or core[j] > ci:
                                continue
                            if pair_delta(t, i, j, ci, scratch.buffers[th]) <= ci:
                                if fill:
                                    other[indptr[i] + found] = j
                                found = found + 1
                counts[i] = found

    def border_labels(self, double scale, const intp_t[::1] core_labels, int n_threads):
        """Labels at ``scale`` by position: core_labels for the core points (core
        scale <= scale); each other point the smallest label of a core point at
        delta <= scale from it, else -1."""
        if self.core is None:
            raise ValueError("core scales are not set")
        cdef const Tree* t = &self.t
        cdef const double[::1] core = self.core
        cdef const double* node_core = &self.node_core[0]
        cdef intp_t[::1] labels = np.empty(t.n, dtype=np.intp)
        cdef Scratch scratch = Scratch(n_threads, self.t.d)
        cdef intp_t i, th, top, node, j, best
        cdef intp_t* nodes
        cdef double* bounds
        with nogil:
            for i in prange(t.n, schedule="dynamic", chunksize=parallel_chunk(t.n, n_threads),
                            num_threads=n_threads):
                th = threadid()
                if th == 0 and i % QUERIES_PER_POLL == 0:
                    check_signals()
                if core[i] <= scale:
                    labels[i] = core_labels[i]
                    continue
                nodes = scratch.stack_nodes[th]
                bounds = scratch.stack_bounds[th]
                best = -1
                nodes[0] = 0
                bounds[0] = 0.0
                top = 1
                while top > 0 and best != 0:
                    top = top - 1
                    node = nodes[top]
                    if (bounds[top] > scale or node_core[node] > scale
                            or t.node_end[node] == t.node_start[node]):
                        continue
                    if not is_leaf(t, node):
                        top = push_children(t, i, node, 0.0, nodes, bounds, top)
                        continue
                    for j in range(t.node_start[node], t.node_end[node]):
                        if core[j] > scale or (best >= 0 and core_labels[j] >= best):
                            continue
                        if pair_delta(t, i, j, scale, scratch.buffers[th]) <= scale:
                            best = core_labels[j]
                labels[i] = best
        return labels.base


cdef inline bint _before(const Tree* t, double m, intp_t i, intp_t j,
                         double m2, intp_t i2, intp_t j2) noexcept nogil:
    """Whether edge (i, j) of weight m comes before edge (i2, j2) of weight m2.

    The order is (m, smaller row, larger row): a total order on the edges.
    """
    cdef intp_t a = t.rows[i], b = t.rows[j], a2 = t.rows[i2], b2 = t.rows[j2], tmp
    if m != m2:
        return m < m2
    if a > b:
        tmp = a
        a = b
        b = tmp
    if a2 > b2:
        tmp = a2
        a2 = b2
        b2 = tmp
    if a != a2:
        return a < a2
    return b < b2


cdef inline double _double_of(intp_t bits) noexcept nogil:
    """The double whose bit pattern is ``bits``."""
    cdef DoubleBits w
    w.bits = <uint64_t> bits
    return w.value


cdef inline void _atomic_min_bits(intp_t* target, double value) noexcept nogil:
    """target (the bits of a double >= 0) = min(target, value), against other threads."""
    cdef DoubleBits w
    cdef intp_t current = gs_atomic_load(target)
    w.value = value
    while <intp_t> w.bits < current:
        if gs_atomic_cas(target, current, <intp_t> w.bits):
            return
        current = gs_atomic_load(target)


cdef intp_t _merge(const Tree* t, intp_t[::1] parent, const intp_t[::1] comp,
                   const intp_t[::1] best_other, const double[::1] best_m,
                   intp_t[::1] comp_best, intp_t[::1] edge_a, intp_t[::1] edge_b,
                   double[::1] edge_m, intp_t n_edges) noexcept nogil:
    """Each component's smallest edge, joined into the forest; the number of edges added."""
    cdef intp_t n = t.n, i, c, j, added = 0, a, b
    for i in range(n):
        comp_best[i] = -1
    for i in range(n):
        j = best_other[i]
        if j < 0:
            continue
        c = comp[i]
        if comp_best[c] < 0 or _before(t, best_m[i], i, j, best_m[comp_best[c]], comp_best[c],
                                       best_other[comp_best[c]]):
            comp_best[c] = i
    for c in range(n):
        i = comp_best[c]
        if i < 0:
            continue
        j = best_other[i]
        if uf_find(&parent[0], i) == uf_find(&parent[0], j):
            continue
        uf_union(&parent[0], i, j)
        a = t.rows[i]
        b = t.rows[j]
        edge_a[n_edges + added] = a if a < b else b
        edge_b[n_edges + added] = b if a < b else a
        edge_m[n_edges + added] = best_m[i]
        added += 1
    return added


def adjacency(intp_t n, const intp_t[::1] a, const intp_t[::1] b, const double[::1] m):
    """CSR form (indptr, adjacent, weight) of the undirected edges (a[i], b[i], m[i]):
    both directions, each point's edges in input order (a counting sort)."""
    cdef intp_t n_edges = a.shape[0], i, k
    cdef intp_t[::1] indptr = np.zeros(n + 1, dtype=np.intp)
    cdef intp_t[::1] cursor = np.empty(n, dtype=np.intp)
    cdef intp_t[::1] adjacent = np.empty(2 * n_edges, dtype=np.intp)
    cdef double[::1] weight = np.empty(2 * n_edges)
    with nogil:
        for i in range(n_edges):
            indptr[a[i] + 1] += 1
            indptr[b[i] + 1] += 1
        for k in range(n):
            indptr[k + 1] += indptr[k]
            cursor[k] = indptr[k]
        for i in range(n_edges):
            adjacent[cursor[a[i]]] = b[i]
            weight[cursor[a[i]]] = m[i]
            cursor[a[i]] += 1
            adjacent[cursor[b[i]]] = a[i]
            weight[cursor[b[i]]] = m[i]
            cursor[b[i]] += 1
    return np.asarray(indptr), np.asarray(adjacent), np.asarray(weight)


def prim_order(intp_t n, const intp_t[::1] indptr, const intp_t[::1] adjacent,
               const double[::1] weight):
    """Prim's algorithm on a sparse graph, with scikit-learn's HDBSCAN tie rules.

    The graph is given in CSR form (both directions of every edge). The tree
    grows from point 0; a point's edge into the tree is replaced only by a
    strictly smaller one (so it comes from the earliest tree point among equal
    weights), and among the points at the smallest weight the smallest index
    joins next. When nothing more can join, the smallest point not in the tree
    starts a new component, joined to point 0 at an infinite weight.

    Returns (source, new, weight): the edges in the order they join, as
    scikit-learn's ``mst_from_data_matrix`` gives them.
    """
    cdef intp_t[::1] source = np.empty(max(n - 1, 0), dtype=np.intp)
    cdef intp_t[::1] new = np.empty(max(n - 1, 0), dtype=np.intp)
    cdef double[::1] dist = np.empty(max(n - 1, 0))
    cdef double[::1] reach = np.full(n, INFINITY)
    cdef intp_t[::1] origin = np.zeros(n, dtype=np.intp)
    cdef uint8_t[::1] in_tree = np.zeros(n, dtype=np.uint8)
    cdef Heap heap
    cdef intp_t* heap_node
    cdef intp_t k = 0, current = 0, e, j, next_start = 1, size, i, child, node
    cdef double w, top_w
    # Every entry of the adjacency pushes at most once (on a strictly smaller weight).
    heap.capacity = max(64, adjacent.shape[0] + 1)
    heap.delta = <double*> malloc(heap.capacity * sizeof(double))
    heap_node = <intp_t*> malloc(heap.capacity * sizeof(intp_t))
    if heap.delta == NULL or heap_node == NULL:
        free(heap.delta)
        free(heap_node)
        raise MemoryError("gridscan: out of memory in the spanning tree order")
    size = 0
    try:
        with nogil:
            if n > 0:
                in_tree[0] = 1
            while k < n - 1:
                poll_signals(k, CELLS_PER_POLL)
                for e in range(indptr[current], indptr[current + 1]):
                    j = adjacent[e]
                    w = weight[e]
                    if in_tree[j] or not (w < reach[j]):
                        continue
                    reach[j] = w
                    origin[j] = current
                    # Push (w, j) on the min-heap ordered by (weight, point).
                    i = size
                    size = size + 1
                    while i > 0:
                        child = (i - 1) // 2
                        if (heap.delta[child] < w
                                or (heap.delta[child] == w and heap_node[child] < j)):
                            break
                        heap.delta[i] = heap.delta[child]
                        heap_node[i] = heap_node[child]
                        i = child
                    heap.delta[i] = w
                    heap_node[i] = j
                # The next point: the smallest (weight, point) still valid.
                node = -1
                while size > 0:
                    top_w = heap.delta[0]
                    j = heap_node[0]
                    _min_heap_pop(heap.delta, heap_node, &size)
                    if not in_tree[j] and top_w == reach[j]:
                        node = j
                        break
                if node < 0:
                    while in_tree[next_start]:
                        next_start = next_start + 1
                    node = next_start
                    origin[node] = 0
                    reach[node] = INFINITY
                in_tree[node] = 1
                source[k] = origin[node]
                new[k] = node
                dist[k] = reach[node]
                k = k + 1
                current = node
    finally:
        free(heap.delta)
        free(heap_node)
    return np.asarray(source), np.asarray(new), np.asarray(dist)


cdef void _min_heap_pop(double* w, intp_t* node, intp_t* size) noexcept nogil:
    """Remove the top of the min-heap ordered by (w, node)."""
    cdef intp_t i = 0, child, n = size[0] - 1
    cdef double last_w = w[n]
    cdef intp_t last_node = node[n]
    size[0] = n
    if n == 0:
        return
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and (w[child + 1] < w[child]
                              or (w[child + 1] == w[child] and node[child + 1] < node[child])):
            child += 1
        if w[child] > last_w or (w[child] == last_w and node[child] > last_node):
            break
        w[i] = w[child]
        node[i] = node[child]
        i = child
    w[i] = last_w
    node[i] = last_node
