# Array-based ball tree with per-point eps bounds.
#
# Data layout (after scikit-learn's BinaryTree): the tree is complete and
# stored in flat arrays; the children of node i are 2i+1 and 2i+2, and nodes
# i >= n_nodes // 2 are leaves.  Node i owns the positions
# [node_start[i], node_end[i]) of ``points`` (the data permuted into tree order;
# ``order[pos]`` is the original row), a centroid (mean of its points, double)
# and a radius (largest metric distance from the centroid to one of them).
# ``node_max_reach[i]`` is the largest reach among its points (see
# _kernels.pxd): a point y in the node can hold the query x in its own
# neighbourhood only if dist(x, centroid) - radius <= node_max_reach[i], which
# makes REVERSE and UNION searches prune exactly; ``node_min_inner[i]``, the
# smallest inner radius among them, takes the node whole when every one of its
# points holds the query box (dist(x, centroid) + radius < node_min_inner[i]).
#
# Eps of many sizes: given each point's eps size (``scale``), a node whose
# largest size exceeds both its width (the spread of its widest feature) and
# SCALE_RATIO times its smallest size is split at the median size instead of
# the median of its widest feature.  Its largest reach, the bound of REVERSE
# searches, then stays near the size of the node wherever eps are small, and
# a few points with a huge eps no longer make every node near everything.
# Nodes whose eps are all smaller than they are split in space, as usual.
#
# Blocks (see _core.pyx): prepare_searches makes every leaf one block (one
# search for the box of its points); with one eps row for all points, every
# largest node whose points are mutual neighbours (a clique: the diagonal of
# its bounding box passes the kernel) is one block instead of its leaves.
# With eps of their own, a block is a run of a leaf's points whose reach lies
# in one octave, or within the leaf's radius (a point among much smaller eps
# searches alone), and ``credit_reach`` (twice the median leaf radius) marks
# the blocks whose whole ranges the union count credits first (_core.pyx).
# ``node_block[i]`` is the block that node i is (a clique, or a leaf that is one
# block), or -1, and a search reports such a node with its block.  The core
# passes then handle a clique at once instead of point by point (identical or
# nearly identical points in numbers), and skip a block without core points.
#
# Every array is a plain numpy array, so the tree pickles as its arrays.

import numpy as np

from gridscan._validation import (
    check_points, effective_n_threads, eps_rows, period_array, resolve_metric, window_mask,
    wrap_periodic,
)

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, fabs

from cython cimport floating

from gridscan._index cimport EpsRows, Query, RangeList, SpatialIndex, range_push
from gridscan._kernels cimport (
    EUCLIDEAN, FORWARD, REVERSE, Direction, Norm, accumulate, larger, smaller, unreduce,
    within_offsets,
)
from gridscan._signals cimport (
    CELLS_PER_POLL, poll_signals, raise_pending, signal_raised,
)
from gridscan._typedefs cimport intp_t, uint8_t

# Relative tolerance of the pruning tests: a node is skipped or taken whole
# only when the bound clears the eps by more than the floating point error of
# computing it, so the exact per-pair kernel always has the last word.
cdef const double SLACK = 1e-9

# Ctrl-C is checked before partitioning or bounding a node of this many points.
cdef enum:
    POINTS_PER_CHECK = 65536

# A node whose points' eps sizes differ by more than this factor is split by size.
cdef const double SCALE_RATIO = 8.0


cdef class BallTree(SpatialIndex):
    """Ball tree for radius searches with a per-point, per-feature eps.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points to index (float32 stays float32; distances are computed in double).
    leaf_size : int, default=40
        Leaves hold between ``leaf_size`` and ``2 * leaf_size`` points (fewer when
        the whole data set is smaller).
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski"}, default="euclidean"
        Compiled metric (aliases "l2", "l1", "cityblock", "infinity" accepted).
    p : float, default=None
        Power of the Minkowski metric (>= 1); None means 2.
    sample_eps : array-like of shape (n_samples,) or (n_samples, n_features), default=None
        Each indexed point's own eps, needed for ``neighbors="union"`` searches.
    window_features : sequence of int, default=None
        Features compared on their own (``|dx_t| <= eps_t``) instead of inside the norm.
    periods : sequence or dict, default=None
        Period of each feature (None or 0 for an ordinary one), as in
        ``GridDBSCAN``: differences along it are the minimum image, and the
        points and queries are taken modulo the period.
    scale : array-like of shape (n_samples,), default=None
        The size of each point's neighbourhood (say its largest eps), when
        sizes vary: points whose sizes differ by more than a factor 8 are kept
        in different subtrees, so that searches with per-point eps (above all
        ``neighbors="union"``) prune tightly. Only the layout depends on it,
        never a search's answer. None takes the largest eps of each row of
        ``sample_eps`` when given.
    n_jobs : int, default=None
        OpenMP threads for building the tree, as in ``query_radius``; the tree
        does not depend on it.

    Attributes
    ----------
    data : ndarray of shape (n_samples, n_features)
        The indexed points, in the order given (periodic features wrapped).
    n_nodes : int
        Number of nodes of the complete binary tree.

    See Also
    --------
    gridscan.GridDBSCAN : DBSCAN built on this index.

    Notes
    -----
    ``query_radius`` with ``neighbors="query"`` returns the indexed points q with
    ``||(q - x) / eps|| <= 1``; every node stores the largest eps of the points
    below it, so ``neighbors="union"`` (q also counts when x lies in q's own
    neighbourhood) prunes as tightly. All searches run without the GIL.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan import BallTree
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    >>> tree = BallTree(X, leaf_size=1)
    >>> tree.query_radius([[0.0, 0.0]], eps=1.0)[0]
    array([0, 1])
    >>> tree.query_radius([[0.0, 0.0]], eps=[3.0, 0.5], count_only=True)
    array([3])
    """

    cdef readonly intp_t leaf_size
    cdef readonly intp_t n_nodes
    cdef readonly object data
    cdef intp_t[::1] node_start
    cdef intp_t[::1] node_end
    cdef double[::1] node_radius
    cdef double[::1] node_max_reach
    cdef double[::1] node_min_inner
    cdef double[:, ::1] node_centroid
    cdef intp_t[::1] node_block           # the block node i is (prepare_searches), or -1

    def __init__(self, X, leaf_size=40, metric="euclidean", p=None, *,
                 sample_eps=None, window_features=None, periods=None, scale=None,
                 n_jobs=None):
        X = check_points(X)
        period = period_array(periods, X.shape[1])
        if period is not None:
            X = wrap_periodic(X, period)
        if isinstance(leaf_size, bool) or not isinstance(leaf_size, (int, np.integer)) \
                or leaf_size < 1:
            raise ValueError(f"leaf_size must be an integer >= 1; got {leaf_size!r}")
        metric, p = resolve_metric(metric, p)
        n, d = X.shape
        own_table = None
        if sample_eps is not None:
            own_table = eps_rows(sample_eps, n_rows=n, n_features=d, name="sample_eps",
                                 forms=("rows", "rows_features"), metric=metric, p=p)
            if scale is None:
                scale = own_table.max(axis=1)
        if scale is not None:
            scale = np.ascontiguousarray(scale, dtype=np.float64)
            if scale.shape != (n,) or not np.all(scale >= 0):
                raise ValueError(f"scale must hold {n} non-negative values, one per point; "
                                 f"got shape {scale.shape}")
        # A leaf larger than the data is the whole data.
        self.leaf_size = min(leaf_size, n)
        n_levels = int(np.log2(max(1.0, (n - 1) / leaf_size))) + 1
        self.n_nodes = 2 ** n_levels - 1
        self.data = X.view()
        self.data.flags.writeable = False
        self.node_start = np.zeros(self.n_nodes, dtype=np.intp)
        self.node_end = np.zeros(self.n_nodes, dtype=np.intp)
        self.node_radius = np.zeros(self.n_nodes)
        self.node_max_reach = np.zeros(self.n_nodes)
        self.node_min_inner = np.zeros(self.n_nodes)
        self.node_centroid = np.zeros((self.n_nodes, d))
        order = np.arange(n, dtype=np.intp)
        n_threads = effective_n_threads(n_jobs)
        points = _partition(X, scale, order, self.node_start, self.node_end, n_threads)
        self._setup(points, order, metric, p, window_mask(window_features, d))
        _node_bounds(self, points, n_threads)
        self.node_block = np.full(self.n_nodes, -1, dtype=np.intp)
        if period is not None:
            self.set_periods(period, 0.0)
        self._set_own_eps(own_table)

    def _setup(self, points, order, metric, double p, window):
        SpatialIndex._setup(self, points, order, metric, p, window)
        # No pair lists: a union search per block would reach the largest eps around.
        self.links_forward = True

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        return self._visit(0, q, mode, out)

    cdef int _visit(self, intp_t node, const Query* q, Direction mode,
                    RangeList* out) noexcept nogil:
        cdef intp_t start = self.node_start[node], end = self.node_end[node]
        cdef double near, far, radius, bound, inner, tol
        if start == end:
            return 0
        if mode == FORWARD:
            bound = q.reach
            inner = q.inner
        elif mode == REVERSE:
            bound = self.node_max_reach[node]
            inner = self.node_min_inner[node]
        else:
            bound = larger(q.reach, self.node_max_reach[node])
            inner = larger(q.inner, self.node_min_inner[node])
        if bound <= 0:
            return 0
        box_distances(&self.node_centroid[node, 0], q.lo, q.hi, &self.norm, &near, &far)
        radius = self.node_radius[node]
        tol = SLACK * (far + radius + bound)
        if near - radius > bound + tol:
            return 0
        if q.settled != NULL and q.settled(q.settled_state, start, end):
            return 0
        if far + radius + tol < inner:
            return range_push(out, start, end, True, self.node_block[node])
        if 2 * node + 1 >= self.n_nodes:
            return range_push(out, start, end, False, self.node_block[node])
        if self._visit(2 * node + 1, q, mode, out) < 0:
            return -1
        return self._visit(2 * node + 2, q, mode, out)

    def _prepare_searches(self, EpsRows eps, int n_threads):
        """Blocks for the core passes: the largest clique nodes, leaves or single points.

        With one eps row for all points, a leaf is one search for all its
        points (the core tests each point against the candidates of the leaf's
        box), and a node whose points are mutual neighbours (a clique) is one
        block.  With eps rows of their own, consecutive points of a leaf whose
        reach lies in one octave (within a factor of two), or within the
        leaf's radius, share a block: a point whose reach differs more
        searches alone, for a box of points with very different eps finds
        many candidates that only its largest eps reaches.
        """
        n, n_nodes = self.n_points, self.n_nodes
        starts = np.asarray(self.node_start)
        ends = np.asarray(self.node_end)
        clique = np.zeros(n_nodes, dtype=bool)
        if eps.shared and n > 1:
            flags = np.zeros(n_nodes, dtype=np.uint8)
            _clique_nodes(self, self.points, eps, flags)
            clique = flags.astype(bool)
        block_leaf = np.zeros(n_nodes, dtype=bool)
        if eps.shared:
            block_leaf[n_nodes // 2:] = True
        # A block node: a clique or a block leaf with no clique above it (levels top-down).
        covered = np.zeros(n_nodes, dtype=bool)
        level = 1
        while level < n_nodes:
            nodes = np.arange(level, min(2 * level + 1, n_nodes))
            parents = (nodes - 1) // 2
            covered[nodes] = covered[parents] | clique[parents]
            level = 2 * level + 1
        nodes = np.flatnonzero((clique | block_leaf) & ~covered & (ends > starts))
        # Positions inside a block node (not its first) start no block.
        inside = np.zeros(n + 2, dtype=np.intp)
        np.add.at(inside, starts[nodes] + 1, 1)
        np.add.at(inside, ends[nodes], -1)
        starts_block = np.cumsum(inside)[:n + 1] == 0
        if not eps.shared and n > 1:
            leaves = slice(n_nodes // 2, n_nodes)
            sizes = ends[leaves] - starts[leaves]
            leaf_start = np.zeros(n, dtype=bool)
            leaf_start[starts[leaves][sizes > 0]] = True
            reach = np.broadcast_to(eps.reach, (n,))
            leaf_radius = np.asarray(self.node_radius)[leaves]
            # Reaches within the leaf's radius all share one class: the leaf's box
            # bounds their search as much as their eps does.
            small = reach <= np.repeat(leaf_radius, sizes)
            octave = np.where(small, np.iinfo(np.int32).min, np.frexp(reach)[1])
            starts_block[1:n] &= leaf_start[1:] | (octave[1:] != octave[:n - 1])
            # A reach of a typical leaf's width or more may hold whole nodes.
            self.credit_reach = 2.0 * np.median(leaf_radius[sizes > 0])
        blocks = np.flatnonzero(starts_block).astype(np.intp)
        if not eps.shared and n > 1:
            # A leaf that is one block is reported as it: the passes then skip it
            # whole when it holds no core point.
            leaf_nodes = np.arange(n_nodes // 2, n_nodes)[sizes > 0]
            first = np.searchsorted(blocks, starts[leaf_nodes])
            nodes = leaf_nodes[blocks[first + 1] == ends[leaf_nodes]]
        node_block = np.full(n_nodes, -1, dtype=np.intp)
        node_block[nodes] = np.searchsorted(blocks, starts[nodes])
        self.blocks = blocks
        self.node_block = node_block

    def _set_point_eps(self, EpsRows eps, mask, int n_threads):
        """The largest reach and smallest inner radius below every node (REVERSE, UNION).

        Points with a zero in ``mask`` hold nothing (their reach and inner are 0).
        """
        reach = np.broadcast_to(eps.reach, (self.n_points,))
        inner = np.broadcast_to(eps.inner, (self.n_points,))
        if mask is not None:
            reach = reach * mask
            inner = inner * mask
        cdef const double[::1] r = np.ascontiguousarray(reach, dtype=np.float64)
        cdef const double[::1] h = np.ascontiguousarray(inner, dtype=np.float64)
        cdef intp_t node, pos, left
        cdef double largest, least
        with nogil:
            for node in range(self.n_nodes - 1, -1, -1):
                left = 2 * node + 1
                if left < self.n_nodes:
                    largest = larger(self.node_max_reach[left], self.node_max_reach[left + 1])
                    least = smaller(self.node_min_inner[left], self.node_min_inner[left + 1])
                else:
                    largest = 0.0
                    least = INFINITY
                    for pos in range(self.node_start[node], self.node_end[node]):
                        largest = larger(largest, r[pos])
                        least = smaller(least, h[pos])
                self.node_max_reach[node] = largest
                self.node_min_inner[node] = least

    def __reduce__(self):
        state = dict(node_start=np.asarray(self.node_start), node_end=np.asarray(self.node_end),
                     node_radius=np.asarray(self.node_radius),
                     node_max_reach=np.asarray(self.node_max_reach),
                     node_min_inner=np.asarray(self.node_min_inner),
                     node_centroid=np.asarray(self.node_centroid))
        state.update(data=np.asarray(self.data), points=self.points, order=self.order,
                     metric=self.metric, p=self.p, window=self.window,
                     leaf_size=self.leaf_size,
                     own_eps=None if self.own_eps is None else self.own_eps.values,
                     periods=self.periods,
                     period_reach=None if self.periods is None else np.asarray(self.period_reach))
        return _rebuild_ball_tree, (state,)

    def _restore(self, state):
        self.leaf_size = state["leaf_size"]
        self.data = state["data"]
        self.data.flags.writeable = False
        self.node_start = state["node_start"]
        self.node_end = state["node_end"]
        self.node_radius = state["node_radius"]
        self.node_max_reach = state["node_max_reach"]
        self.node_min_inner = state["node_min_inner"]
        self.node_centroid = state["node_centroid"]
        self.n_nodes = self.node_start.shape[0]
        self.node_block = np.full(self.n_nodes, -1, dtype=np.intp)
        self._setup(state["points"], state["order"], state["metric"], state["p"],
                    state["window"])
        if state["own_eps"] is not None:
            self.own_eps = self.eps_rows(state["own_eps"])
        if state.get("periods") is not None:
            self.set_periods(state["periods"], state["period_reach"])

    def get_arrays(self):
        """(data, order, node_start, node_end, node_radius, node_centroid) as numpy arrays."""
        return (np.asarray(self.data), np.asarray(self.order), np.asarray(self.node_start),
                np.asarray(self.node_end), np.asarray(self.node_radius),
                np.asarray(self.node_centroid))


def _rebuild_ball_tree(state):
    tree = BallTree.__new__(BallTree)
    tree._restore(state)
    return tree


def _partition(const floating[:, ::1] X, scale, intp_t[::1] order,
               intp_t[::1] node_start, intp_t[::1] node_end, int n_threads):
    """Split order (IN/OUT) recursively at the median size or of the widest feature.

    Returns the points in tree order (X[order]): the splits move the rows
    themselves, with their sizes and order, so every pass reads memory in
    sequence.  The top levels are split in turn, then the subtrees below them
    in parallel: they hold disjoint runs, and each split depends only on its
    own points, so the tree is the same for any number of threads.
    """
    points = np.array(X, copy=True, order="C")
    if X.shape[0] == 0:
        return points
    cdef intp_t n = X.shape[0]
    cdef floating[:, ::1] rows = points
    cdef floating[:, ::1] spare_rows = np.empty_like(points)
    sizes = None if scale is None else np.array(scale, dtype=np.float64, copy=True)
    cdef double[::1] size_view = sizes
    cdef double[::1] spare_size = None if scale is None else np.empty(n)
    cdef intp_t[::1] spare_order = np.empty(n, dtype=np.intp)
    cdef double[:, ::1] keys = np.empty((2, n))
    cdef Rows r
    cdef bint interrupted = False
    r.interrupted = &interrupted
    r.d = X.shape[1]
    r.size = NULL if scale is None else &size_view[0]
    r.spare_size = NULL if scale is None else &spare_size[0]
    r.order = &order[0]
    r.spare_order = &spare_order[0]
    r.key = &keys[0, 0]
    r.spare_key = &keys[1, 0]
    cdef intp_t n_nodes = node_start.shape[0], node, subtrees = 2, depth = 1
    # The first node of the level with at least two subtrees per thread.
    while subtrees < 2 * n_threads:
        subtrees = 2 * subtrees
        depth += 1
    cdef intp_t level_start = min(subtrees - 1, n_nodes)
    cdef intp_t level_end = min(2 * level_start + 1, n_nodes)
    with nogil:
        _split(&rows[0, 0], &spare_rows[0, 0], &r, False, 0, n, 0, level_start,
               node_start, node_end)
        # Each level's rows are in the spare arrays when its depth is odd.
        for node in prange(level_start, level_end, schedule="dynamic", chunksize=1,
                           num_threads=n_threads):
            _split(&rows[0, 0], &spare_rows[0, 0], &r, depth % 2 == 1, node_start[node],
                   node_end[node], node, n_nodes, node_start, node_end)
    if interrupted:
        raise_pending()
    return points


cdef struct Rows:
    # What a split moves along with the points: their sizes (or NULL) and their rows
    # of X, each with a spare array of the same size: a split moves a node's rows from
    # one to the other (its children split them back).  The keys of the split and
    # their spare are scratch.
    intp_t d
    double* size
    double* spare_size
    intp_t* order
    intp_t* spare_order
    double* key
    double* spare_key
    # Set once a signal handler raised (on the calling thread): every split stops.
    bint* interrupted


cdef void _split(floating* points, floating* spare, const Rows* r, bint in_spare,
                 intp_t start, intp_t end, intp_t node, intp_t stop,
                 intp_t[::1] node_start, intp_t[::1] node_end) noexcept nogil:
    """Split node's run of rows and its subtree's, down to the leaves or to node ``stop``
    and beyond (whose runs are only recorded).  The node's rows are in the spare
    arrays when in_spare; the leaves' rows end in the main ones."""
    cdef intp_t n_nodes = node_start.shape[0]
    cdef intp_t mid = start + (end - start) // 2, k, i, n_less, d = r.d
    cdef double width, median
    cdef bint by_size = False
    # The arrays holding the rows (src) and receiving them (dst).
    cdef floating* src = spare if in_spare else points
    cdef floating* dst = points if in_spare else spare
    cdef double* src_size = r.spare_size if in_spare else r.size
    cdef double* dst_size = r.size if in_spare else r.spare_size
    cdef intp_t* src_order = r.spare_order if in_spare else r.order
    cdef intp_t* dst_order = r.order if in_spare else r.spare_order
    cdef double* key = r.key
    node_start[node] = start
    node_end[node] = end
    if node >= stop or r.interrupted[0]:
        return
    if 2 * node + 1 >= n_nodes:
        if in_spare:
            for i in range(start * d, end * d):
                points[i] = spare[i]
            for i in range(start, end):
                r.order[i] = r.spare_order[i]
                if r.size != NULL:
                    r.size[i] = r.spare_size[i]
        return
    if end - start >= POINTS_PER_CHECK and signal_raised(0, 1):
        r.interrupted[0] = True
        return
    k = 0
    median = 0.0
    n_less = 0
    if end - start > 1:
        k = _widest_feature(src, d, start, end, &width)
        by_size = src_size != NULL and _split_by_size(src_size, start, end, width)
        if by_size:
            for i in range(start, end):
                key[i] = src_size[i]
        else:
            for i in range(start, end):
                key[i] = src[i * d + k]
        median = _select(key, r.spare_key, start, end, mid - start, &n_less)
    _divide(src, dst, src_size, dst_size, src_order, dst_order, d, k, by_size, start, end,
            mid, median, n_less)
    _split(points, spare, r, not in_spare, start, mid, 2 * node + 1, stop,
           node_start, node_end)
    _split(points, spare, r, not in_spare, mid, end, 2 * node + 2, stop,
           node_start, node_end)


cdef double _select(double* a, double* b, intp_t lo, intp_t hi, intp_t rank,
                    intp_t* n_less) noexcept nogil:
    """The key of the given rank among a[lo..hi-1] and how many keys are smaller than it
    (OUT: n_less); a and b[lo..hi-1] are scratch.

    Quickselect without a branch per key (a mispredicted branch per key made
    most of the build's time): each pass writes a key to both ends of the other
    array and moves the end that matches, keeping the keys below the pivot and
    those above it, and drops the ones equal to it.
    """
    cdef intp_t i, left, right
    cdef double x, p, c
    cdef double* t
    n_less[0] = 0
    while True:
        p = a[lo]
        x = a[lo + (hi - lo) // 2]
        c = a[hi - 1]
        p = larger(smaller(p, x), smaller(larger(p, x), c))  # median of three
        left = lo
        right = hi - 1
        for i in range(lo, hi):
            x = a[i]
            b[left] = x
            b[right] = x
            left += x < p
            right -= x > p
        # b[lo..left-1] < p, b[right+1..hi-1] > p, and right + 1 - left keys equal p.
        if rank < left - lo:
            hi = left
        elif rank < right + 1 - lo:
            n_less[0] += left - lo
            return p
        else:
            rank -= right + 1 - lo
            n_less[0] += right + 1 - lo
            lo = right + 1
        t = a
        a = b
        b = t


cdef void _divide(const floating* src, floating* dst, const double* src_size,
                  double* dst_size, const intp_t* src_order, intp_t* dst_order, intp_t d,
                  intp_t k, bint by_size, intp_t start, intp_t end, intp_t mid,
                  double median, intp_t n_less) noexcept nogil:
    """Move rows start..end-1 (with their size and order) from src to dst, in order:
    those whose key is below the median to start.., those above it to mid.., and as
    many equal to it to each side as fill start..mid-1 (a stable split, without a
    branch per row)."""
    cdef intp_t i, j, q, left = start, right = mid
    cdef intp_t ties = mid - start - n_less     # keys equal to the median that go left
    cdef double x
    cdef bint to_left, tie
    for i in range(start, end):
        x = src_size[i] if by_size else src[i * d + k]
        tie = x == median
        # Bitwise, not and/or: no branch to mispredict.
        to_left = (x < median) | (tie & (ties > 0))
        ties -= tie & to_left
        j = left if to_left else right
        left += to_left
        right += 1 - to_left
        for q in range(d):
            dst[j * d + q] = src[i * d + q]
        dst_order[j] = src_order[i]
        if src_size != NULL:
            dst_size[j] = src_size[i]


cdef bint _split_by_size(const double* size, intp_t start, intp_t end,
                         double width) noexcept nogil:
    """Whether the largest size of start..end-1 exceeds width and SCALE_RATIO x the least."""
    cdef intp_t i
    cdef double lo = size[start], hi = lo
    for i in range(start + 1, end):
        lo = smaller(lo, size[i])
        hi = larger(hi, size[i])
    return hi > width and hi > SCALE_RATIO * lo


cdef intp_t _widest_feature(const floating* points, intp_t d, intp_t start, intp_t end,
                            double* width) noexcept nogil:
    """The feature of largest spread over rows start..end-1, and that spread (OUT: width)."""
    cdef intp_t k, i, best = 0
    cdef double lo, hi, v, spread = -1.0
    for k in range(d):
        lo = points[start * d + k]
        hi = lo
        for i in range(start + 1, end):
            v = points[i * d + k]
            lo = smaller(lo, v)
            hi = larger(hi, v)
        if hi - lo > spread:
            spread = hi - lo
            best = k
    width[0] = spread
    return best


cdef inline void box_distances(const double* c, const double* lo, const double* hi,
                               const Norm* norm, double* near, double* far) noexcept nogil:
    """Smallest and largest metric distance (OUT) from point c to the box [lo, hi]."""
    cdef intp_t k
    cdef double acc_near = 0.0, acc_far = 0.0, gap
    for k in range(norm.n_features):
        gap = lo[k] - c[k] if c[k] < lo[k] else (c[k] - hi[k] if c[k] > hi[k] else 0.0)
        acc_near = accumulate(acc_near, gap, norm)
        acc_far = accumulate(acc_far, larger(fabs(c[k] - lo[k]), fabs(hi[k] - c[k])), norm)
    near[0] = unreduce(acc_near, norm)
    far[0] = unreduce(acc_far, norm)


def _node_bounds(BallTree tree, const floating[:, ::1] points, int n_threads):
    """Centroid and radius of every node (OUT: tree.node_centroid, tree.node_radius).

    O(n log n) in all, spread evenly over the threads: a leaf sums its points,
    a parent adds its children's sums (O(n) for every centroid), then each leaf
    measures its points' largest distance to the centroid of each of its
    ancestors (while they are in cache) and a node's radius is the largest over
    its leaves: the exact largest distance from its centroid to its points,
    whatever the number of threads.
    """
    cdef intp_t n_nodes = tree.n_nodes, d = points.shape[1]
    if n_nodes == 0 or tree.node_end[0] == 0:
        return
    cdef intp_t first_leaf = n_nodes // 2, n_levels = 0, node, leaf, level, k
    while (1 << n_levels) <= n_nodes:
        n_levels += 1
    # farthest[leaf - first_leaf, level]: the leaf's largest reduced distance to its
    # ancestor on that level (0 the root).
    cdef double[:, ::1] farthest = np.zeros((n_nodes - first_leaf, n_levels))
    cdef double* centroid = &tree.node_centroid[0, 0]
    cdef double* radius = &tree.node_radius[0]
    cdef const intp_t* start = &tree.node_start[0]
    cdef const intp_t* end = &tree.node_end[0]
    cdef const floating* rows = &points[0, 0]
    cdef bint interrupted = False
    cdef bint* stop = &interrupted      # shared: a prange makes assigned locals private
    with nogil:
        for leaf in prange(first_leaf, n_nodes, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(leaf, 256):
                stop[0] = True
            if not stop[0]:
                _leaf_sums(rows, d, start[leaf], end[leaf], centroid + leaf * d)
    if interrupted:
        raise_pending()
    with nogil:
        # Parents' sums, deepest first; then every sum divided by its count.
        for node in range(first_leaf - 1, -1, -1):
            for k in range(d):
                centroid[node * d + k] = (centroid[(2 * node + 1) * d + k]
                                          + centroid[(2 * node + 2) * d + k])
        for node in range(n_nodes):
            if end[node] > start[node]:
                for k in range(d):
                    centroid[node * d + k] /= <double> (end[node] - start[node])
        for leaf in prange(first_leaf, n_nodes, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(leaf, 256):
                stop[0] = True
            if stop[0]:
                continue
            node = leaf
            for level in range(n_levels - 1, -1, -1):
                farthest[leaf - first_leaf, level] = _farthest(
                    rows, d, start[leaf], end[leaf], centroid + node * d, &tree.norm)
                node = (node - 1) // 2
    if interrupted:
        raise_pending()
    with nogil:
        # The largest reduced distance, unreduced once (unreduce is monotone).
        for node in range(n_nodes):
            radius[node] = 0.0
        for leaf in range(first_leaf, n_nodes):
            node = leaf
            for level in range(n_levels - 1, -1, -1):
                radius[node] = larger(radius[node], farthest[leaf - first_leaf, level])
                node = (node - 1) // 2
        for node in range(n_nodes):
            radius[node] = unreduce(radius[node], &tree.norm)


cdef void _leaf_sums(const floating* rows, intp_t d, intp_t start, intp_t end,
                     double* total) noexcept nogil:
    """total (OUT) = the sum of rows start..end-1."""
    cdef intp_t pos, k
    for k in range(d):
        total[k] = 0.0
    for pos in range(start, end):
        for k in range(d):
            total[k] += rows[pos * d + k]


cdef double _farthest(const floating* rows, intp_t d, intp_t start, intp_t end,
                      const double* c, const Norm* norm) noexcept nogil:
    """The largest reduced distance from c to rows start..end-1 (0 when none)."""
    cdef intp_t pos, k
    cdef double acc, dx, far = 0.0
    if norm.metric == EUCLIDEAN:
        # The common case without accumulate's branches; same arithmetic.
        for pos in range(start, end):
            acc = 0.0
            for k in range(d):
                dx = <double> rows[pos * d + k] - c[k]
                acc = acc + dx * dx
            far = larger(far, acc)
        return far
    for pos in range(start, end):
        acc = 0.0
        for k in range(d):
            acc = accumulate(acc, fabs(<double> rows[pos * d + k] - c[k]), norm)
        far = larger(far, acc)
    return far


def _clique_nodes(BallTree tree, const floating[:, ::1] points, EpsRows eps,
                  uint8_t[::1] clique):
    """clique[i] (OUT) = 1 when the points of node i are mutual neighbours under the shared eps.

    The bounding box of every node is built bottom-up (a leaf from its points,
    a parent from its children); its diagonal passing the kernel makes every
    pair of its points pass it (the kernel is monotone in each difference).
    """
    cdef intp_t node, pos, k, child, d = points.shape[1], n_nodes = tree.n_nodes
    cdef double[:, ::1] lo = np.full((n_nodes, d), np.inf)
    cdef double[:, ::1] hi = np.full((n_nodes, d), -np.inf)
    cdef double[::1] diagonal = np.empty(d)
    cdef const double* e = eps.table.values
    with nogil:
        for node in range(n_nodes - 1, -1, -1):
            poll_signals(node, CELLS_PER_POLL)
            if tree.node_start[node] == tree.node_end[node]:
                continue
            if 2 * node + 1 >= n_nodes:
                for pos in range(tree.node_start[node], tree.node_end[node]):
                    for k in range(d):
                        lo[node, k] = smaller(lo[node, k], points[pos, k])
                        hi[node, k] = larger(hi[node, k], points[pos, k])
            else:
                for child in range(2 * node + 1, 2 * node + 3):
                    for k in range(d):
                        lo[node, k] = smaller(lo[node, k], lo[child, k])
                        hi[node, k] = larger(hi[node, k], hi[child, k])
            for k in range(d):
                diagonal[k] = hi[node, k] - lo[node, k]
            clique[node] = within_offsets(&diagonal[0], e, eps.table.n_cols, &tree.norm)
