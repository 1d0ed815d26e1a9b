# The DBSCAN core: core points, clusters and labels without stored neighbourhoods.
#
# Everything here works in *index order* (see _index.pyx): position i holds the
# point order[i]; weights, eps rows and the minimum weights of a core point are
# given by position.  The index also cuts the positions into *blocks* (the
# cells of a grid; single points for a tree): each pass searches candidates
# once per block, for the box of its points, and then tests each point of the
# block against them.  Memory is O(n): a few arrays of n entries plus, per
# thread, the candidate ranges of one block.  Three passes, each an OpenMP loop
# over blocks without the GIL:
#
# 1. count   the weight of N(i) (i itself included), stopping as soon as it
#            reaches the minimum when no weight is negative; i is core when the
#            weight reaches its minimum.
#            A block whose points are mutual neighbours (a *clique*: the kernel
#            accepts its box's diagonal) and whose weight reaches every
#            point's minimum is all core without a search.  In a block of many
#            points, each candidate is first tested against the block's box:
#            most are then neighbours of all the block's points or of none, and
#            only the others are tested point by point (a dense spot among
#            sparse surroundings stays linear).
#            Under the union rule with eps of their own, blocks of large reach
#            (index.credit_reach: the tree's) first credit their weight to the
#            whole ranges of their FORWARD searches: those points are in the
#            large eps, hence the block is in their N (_credit_whole_ranges).
#            A point credited its minimum is core without a search: a point
#            among a few large eps no longer searches as far as they reach.
#            The credits come in rounds, and a round's searches leave out
#            the points an earlier one made core (Query.settled).
# 2. connect for every pair of core points i, j with one in the other's own
#            neighbourhood, union(i, j) in a lock-free union-find
#            (_union_find.pxd): every edge of the cluster graph (q in N(p) or
#            p in N(q)) under both neighbour rules.  Each pair of blocks is
#            searched from the lower one only: with eps of their own, by a
#            union search and the union test (either direction).  An index
#            without pair lists to share (the tree: index.links_forward)
#            instead searches every block's own neighbourhoods (FORWARD) and
#            joins across all blocks: each edge lies in the own neighbourhood
#            of one of its ends, and a union search would reach as far as the
#            largest eps around.
#            The core points of a clique block are joined at once, and a
#            candidate already in the block's set is skipped without a test;
#            a search may leave out whole nodes whose core points are all in
#            that set already (_all_joined, Query.settled).
#            A full range joins i to all its core points through *runs*
#            (_join_range): consecutive core positions known to be one set are
#            skipped together, so a large eps that reaches most of the data
#            costs the number of runs it crosses, not the number of points.
# 3. label   clusters are numbered 0, 1, ... by their smallest core point in the
#            original row order (one sequential O(n) pass); then every non-core
#            point takes the smallest label among the core points whose
#            neighbourhood holds it, else -1 (noise).
#
# The calling thread checks for Ctrl-C before every BLOCKS_PER_POLL-th block
# (at most every 20 ms, _signals.pxd): blocks can be long.
#
# Each pass computes a pure function of its inputs per point, and the
# union-find partition does not depend on the order of unions, so the labels are
# the same for any number of threads.

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free

from cython cimport floating

from gridscan._index cimport (
    EpsRows, Query, RangeList, SpatialIndex, Workspace, load_block_query, parallel_chunk,
)
from gridscan._index cimport range_push
from gridscan._kernels cimport (
    FORWARD, REVERSE, UNION, Direction, EpsTable, Norm, admit, gaps_to_interval, larger,
    limit_of, related, within, within_offsets,
)
from gridscan._signals cimport POINTS_PER_POLL, poll_signals, raise_pending, signal_raised
from gridscan._typedefs cimport intp_t, uint8_t
from gridscan._union_find cimport (
    atomic_add, atomic_max, atomic_min, gs_atomic_load, uf_find, uf_flatten, uf_union,
)

# Features of a point at most (the scratch arrays of _decide_ranges live on the stack).
cdef enum:
    MAX_FEATURES = 64

# Blocks of at least this many points to count test their candidates against
# the block's box first (_decide_ranges).
cdef enum:
    DECIDE_MIN_POINTS = 32

# The first thread of a pass polls for Ctrl-C every this many blocks: a poll
# reads the clock, which cost about 5% of a fit of small cells when done for
# every block.
cdef enum:
    BLOCKS_PER_POLL = 16

# The rounds of _credit_whole_ranges: every CREDIT_STRIDES[k]-th block not taken before.
CREDIT_STRIDES = (64, 8, 1)

# Runs that _all_joined follows at most before it lets the search look inside a range.
cdef enum:
    SETTLED_RUNS = 8


def find_core_points(SpatialIndex index, EpsRows eps, weights, const double[::1] min_weight,
                     bint union_rule, int n_threads):
    """Pass 1: core flags of the points of ``index``, by position.

    Parameters
    ----------
    index : SpatialIndex                  # IN: points and candidate ranges
    eps : EpsRows                         # IN: eps by position, or shared
    weights : (n,) float64 or None        # IN: sample weights by position
    min_weight : (n,) or (1,) float64     # IN: weight a core point's N(i) must reach
    union_rule : bool                     # IN: neighbors="union" (else "query")
    n_threads : int

    Returns
    -------
    is_core : (n,) uint8
    """
    cdef intp_t n = index.points.shape[0]
    cdef bint can_stop_early = True, whole_ranges = True, unit_weights = weights is None
    if weights is None:
        # Placeholders: _count counts positions instead (unit_weights).
        weights = np.ones(1)
        weight_prefix = np.zeros(1)
    else:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        weight_prefix = np.zeros(n + 1)
        np.cumsum(weights, out=weight_prefix[1:])
        can_stop_early = bool(np.all(weights >= 0))
        # Whole ranges are counted from prefix sums only where that is exact.
        whole_ranges = bool(np.all(weights == np.round(weights))) \
            and np.abs(weights).sum() < 2.0 ** 52
    is_core = np.zeros(n, dtype=np.uint8)
    index.prepare_searches(eps, n_threads)
    # With one eps row for every point the relation is symmetric: FORWARD is enough.
    cdef Direction mode = UNION if union_rule and not eps.shared else FORWARD
    if mode == UNION:
        index.set_point_eps(eps, n_threads=n_threads)
        if can_stop_early and whole_ranges:
            _credit_whole_ranges(index, index.points, eps, weights, unit_weights, min_weight,
                                 is_core, n_threads)
    _count(index, index.points, eps, weights, weight_prefix, min_weight, can_stop_early,
           whole_ranges, unit_weights, mode, is_core, n_threads)
    return is_core


def connect_core_points(SpatialIndex index, EpsRows eps, const uint8_t[::1] is_core,
                        int n_threads):
    """Pass 2: union-find parents joining every pair of neighbouring core points.

    Every set's root is its smallest position.
    """
    parent = np.arange(index.points.shape[0], dtype=np.intp)
    index.prepare_searches(eps, n_threads)     # (done already after find_core_points)
    # An index with no pair lists to share (the tree) links every block forward.
    cdef bint every_block = not eps.shared and index.links_forward
    if not eps.shared and not every_block:
        # The union searches reach back through the core points' own eps.
        index.set_point_eps(eps, is_core, n_threads)
    _connect(index, index.points, eps, is_core, parent, every_block, n_threads)
    return parent


def fit_core(SpatialIndex index, EpsRows eps, weights, const double[::1] min_weight,
             bint union_rule, int n_threads):
    """Core flags and labels of the points of ``index`` (both by position).

    The arguments are those of find_core_points.

    Returns
    -------
    is_core : (n,) uint8
    labels : (n,) intp
    """
    is_core = find_core_points(index, eps, weights, min_weight, union_rule, n_threads)
    parent = connect_core_points(index, eps, is_core, n_threads)
    labels = np.empty(is_core.shape[0], dtype=np.intp)
    _number_clusters(np.asarray(index.order), is_core, parent, labels, n_threads)
    cdef Direction border_mode = FORWARD if eps.shared else (UNION if union_rule else REVERSE)
    if border_mode != FORWARD:
        index.set_point_eps(eps, is_core, n_threads)
    _border(index, index.points, index.points, index.blocks, eps, eps, is_core, labels,
            border_mode, is_core, labels, True, n_threads)
    return is_core, labels


def to_row_order(const intp_t[::1] order, const intp_t[::1] labels,
                 const uint8_t[::1] is_core, int n_threads):
    """(labels, core mask) by original row from the labels and core flags by position."""
    cdef intp_t pos, n = order.shape[0]
    out_labels = np.empty(n, dtype=np.intp)
    out_core = np.empty(n, dtype=bool)
    cdef intp_t[::1] row_labels = out_labels
    cdef uint8_t[::1] row_core = out_core.view(np.uint8)
    cdef int interrupted[1]
    interrupted[0] = 0
    with nogil:
        for pos in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(pos, POINTS_PER_POLL):
                interrupted[0] = 1
            row_labels[order[pos]] = labels[pos]
            row_core[order[pos]] = is_core[pos] != 0
    if interrupted[0]:
        raise_pending()
    return out_labels, out_core


def predict_core(SpatialIndex index, EpsRows eps, const intp_t[::1] labels,
                 const double[:, ::1] queries, EpsRows query_eps, bint union_rule,
                 int n_threads):
    """Labels of new points: the smallest label of a core point whose N holds them.

    ``index`` holds only core points (float64), ``labels`` their labels by
    position, ``eps`` their eps by position; ``query_eps`` is needed under the
    union rule only.  The caller has given the index the eps of its points
    (``index.set_point_eps(eps)``, checked here; the union rule needs them even
    when they are all equal): predict_core only reads the index, so several
    threads may predict with one index at once.
    """
    index.require_point_eps(eps)
    cdef intp_t m = queries.shape[0]
    out = np.full(m, -1, dtype=np.intp)
    all_core = np.ones(index.points.shape[0], dtype=np.uint8)
    cdef Direction mode = UNION
    if not union_rule and eps.shared:
        mode, query_eps = FORWARD, eps
    elif not union_rule:
        # REVERSE reads only the core points' eps; the query table is a placeholder.
        mode, query_eps = REVERSE, index.eps_rows(np.ones((1, 1)))
    _border(index, index.points, queries, np.arange(m + 1, dtype=np.intp), query_eps, eps,
            all_core, labels, mode, np.zeros(m, dtype=np.uint8), out, False, n_threads)
    return out


cdef bint is_clique(const Query* query, const Norm* norm) noexcept nogil:
    """Whether all the query points are mutual neighbours: the box diagonal passes."""
    cdef intp_t k
    cdef double acc = 0.0, limit = limit_of(query.eps_min, query.eps_cols, norm)
    for k in range(norm.n_features):
        if not admit(&acc, query.hi[k] - query.lo[k], k, query.eps_min, query.eps_cols,
                     limit, norm):
            return False
    return True


def _count(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
           const double[::1] weights, const double[::1] weight_prefix,
           const double[::1] min_weight, bint can_stop_early, bint whole_ranges,
           bint unit_weights, int mode, uint8_t[::1] is_core, int n_threads):
    """Pass 1: is_core[i] (IN/OUT) = weight of N(i) >= min_weight[i].

    Points already flagged core are left as they are.  With ``unit_weights``
    every weight is 1: ``weights`` and ``weight_prefix`` are then not read, and
    neighbours are counted as integers.
    """
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef Workspace undecided = Workspace(n_threads, points.shape[1])
    cdef const intp_t[::1] blocks = index.blocks
    cdef intp_t n_blocks = blocks.shape[0] - 1
    cdef intp_t chunk = parallel_chunk(n_blocks, n_threads)
    cdef intp_t b, i, r, t, start, end, taken
    cdef intp_t min_stride = 0 if min_weight.shape[0] == 1 else 1
    cdef intp_t weight_stride = 0 if unit_weights else 1
    cdef const double* prefix = &weight_prefix[0]
    cdef const EpsTable* e = &eps.table
    cdef const Norm* norm = &index.norm
    cdef double need, total, full_weight, most_need, possible = 0.0
    # Each thread's weight of the candidates decided whole (_decide_ranges).
    cdef double[::1] decided = np.zeros(n_threads)
    cdef bint all_core
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    cdef int interrupted[1]
    failed[0] = 0
    interrupted[0] = 0
    with nogil:
        for b in prange(n_blocks, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
            t = threadid()
            if interrupted[0] or t == 0 and signal_raised(b, BLOCKS_PER_POLL):
                interrupted[0] = 1
                continue
            start = blocks[b]
            end = blocks[b + 1]
            query = work.queries[t]
            taken = load_block_query(query, points, start, end, &is_core[0], 0, e,
                                     <Direction> mode, b)
            if taken == 0:
                continue
            if (taken == end - start and can_stop_early and whole_ranges
                    and is_clique(query, norm)):
                total = _range_weight(prefix, unit_weights, start, end)
                all_core = True
                for i in range(start, end):
                    all_core = all_core and total >= min_weight[i * min_stride]
                if all_core:
                    for i in range(start, end):
                        is_core[i] = 1
                    continue
            ranges = work.ranges[t]
            ranges.size = 0
            if index.search(query, <Direction> mode, ranges) < 0:
                failed[0] = 1
                continue
            # The weight of the ranges that are whole neighbours of every block point.
            full_weight = 0.0
            if whole_ranges:
                for r in range(ranges.size):
                    if ranges.full[r]:
                        full_weight = full_weight + _range_weight(
                            prefix, unit_weights, ranges.start[r], ranges.end[r])
                most_need = -INFINITY
                for i in range(start, end):
                    if not is_core[i]:
                        most_need = larger(most_need, min_weight[i * min_stride])
                if (taken >= DECIDE_MIN_POINTS and points.shape[1] <= MAX_FEATURES
                        and not (can_stop_early and full_weight >= most_need)):
                    # Test the other candidates against the block's box, once.
                    if _decide_ranges(&points[0, 0], points.shape[1], query, e, &weights[0],
                                      weight_stride, ranges, undecided.ranges[t],
                                      <Direction> mode, norm, &decided[t]) < 0:
                        failed[0] = 1
                        continue
                    full_weight = full_weight + decided[t]
                    ranges = undecided.ranges[t]
                # With no negative weight, the weight of all the candidates bounds
                # every point's: below its minimum, the point is not core.
                possible = full_weight
                for r in range(ranges.size):
                    if not ranges.full[r]:
                        possible = possible + _range_weight(
                            prefix, unit_weights, ranges.start[r], ranges.end[r])
            for i in range(start, end):
                if is_core[i]:
                    continue
                need = min_weight[i * min_stride]
                if can_stop_early and full_weight >= need:
                    is_core[i] = 1
                    continue
                if can_stop_early and whole_ranges and possible < need:
                    continue
                total = _weight_near(&points[0, 0], points.shape[1], i, e, &weights[0],
                                     weight_stride, ranges, whole_ranges, full_weight,
                                     need if can_stop_early else INFINITY,
                                     possible if can_stop_early and whole_ranges else INFINITY,
                                     <Direction> mode, norm)
                is_core[i] = total >= need
    if interrupted[0]:
        raise_pending()
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")


def _credit_whole_ranges(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
                         const double[::1] weights, bint unit_weights,
                         const double[::1] min_weight, uint8_t[::1] is_core, int n_threads):
    """Pass 1a, under the union rule: flag core (is_core, OUT) the points that the whole
    ranges of large neighbourhoods already give enough weight.

    A whole range of a block's FORWARD search lies in the own neighbourhood of
    every point of the block, so under the union rule the block's points all
    belong to N(p) of every p in the range.  Blocks of reach credit_reach or
    more (the index's choice; a few large eps among small ones) search, each
    credits its weight to its whole ranges, and a point credited its minimum
    is core without a search of its own: one large eps that reaches most of
    the data costs its search, not a test per point it reaches.  The ranges of
    one search are disjoint and each block credits once, so a credit is part
    of the weight of N(p); whole weights (whole_ranges) keep the sums exact.

    The blocks credit in rounds (every CREDIT_STRIDES[k]-th block not taken
    yet), and the points core after a round are left out of the later rounds'
    searches: a point credited its minimum needs no more, and a search that
    meets only such points stops high in the tree.
    """
    if index.credit_reach == INFINITY:
        return
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef const intp_t[::1] blocks = index.blocks
    cdef intp_t n_blocks = blocks.shape[0] - 1, n = points.shape[0]
    cdef intp_t chunk
    cdef intp_t b, k, j, r, t, weight, pos, total, stride, taken
    cdef intp_t min_stride = 0 if min_weight.shape[0] == 1 else 1
    cdef double credit_reach = index.credit_reach
    cdef const EpsTable* e = &eps.table
    # credit[pos] - credit[pos - 1]: the weight credited from pos on (a difference array).
    cdef intp_t[::1] credit = np.zeros(n + 1, dtype=np.intp)
    # next_open[pos]: the first position from pos on that is not core yet (n: none).
    cdef intp_t[::1] next_open = np.empty(n + 1, dtype=np.intp)
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    cdef int interrupted[1]
    failed[0] = 0
    interrupted[0] = 0
    taken = 0
    for stride in CREDIT_STRIDES:
        chunk = parallel_chunk(n_blocks // stride + 1, n_threads)
        with nogil:
            for k in prange(n_blocks // stride + 1, schedule="dynamic", chunksize=chunk,
                            num_threads=n_threads):
                b = k * stride
                if b >= n_blocks or taken > 0 and b % taken == 0:
                    continue
                t = threadid()
                if interrupted[0] or t == 0 and signal_raised(k, BLOCKS_PER_POLL):
                    interrupted[0] = 1
                    continue
                query = work.queries[t]
                load_block_query(query, points, blocks[b], blocks[b + 1], NULL, 0, e, FORWARD,
                                 b)
                if query.reach < credit_reach:
                    continue
                if taken > 0:
                    query.settled = _all_core
                    query.settled_state = &next_open[0]
                ranges = work.ranges[t]
                ranges.size = 0
                if index.search(query, FORWARD, ranges) < 0:
                    failed[0] = 1
                    continue
                weight = blocks[b + 1] - blocks[b]
                if not unit_weights:
                    weight = 0
                    for j in range(blocks[b], blocks[b + 1]):
                        weight = weight + <intp_t> weights[j]
                for r in range(ranges.size):
                    if ranges.full[r]:
                        atomic_add(&credit[ranges.start[r]], weight)
                        atomic_add(&credit[ranges.end[r]], -weight)
            if interrupted[0] == 0 and failed[0] == 0:
                total = 0
                for pos in range(n):
                    total = total + credit[pos]
                    if total >= min_weight[pos * min_stride]:
                        is_core[pos] = 1
                if stride > 1:
                    # For the next round's searches (the last round has none after it).
                    next_open[n] = n
                    for pos in range(n - 1, -1, -1):
                        next_open[pos] = next_open[pos + 1] if is_core[pos] else pos
        if interrupted[0]:
            raise_pending()
        if failed[0]:
            raise MemoryError("gridscan: out of memory while collecting candidate ranges")
        taken = stride


cdef bint _all_core(void* state, intp_t start, intp_t end) noexcept nogil:
    """Whether every position in [start, end) is core already (a RangeTest; state:
    next_open of _credit_whole_ranges)."""
    return (<const intp_t*> state)[start] >= end


cdef inline double _range_weight(const double* prefix, bint unit_weights, intp_t start,
                                 intp_t end) noexcept nogil:
    """Weight of the positions start..end-1: from the prefix sums, or their count."""
    return <double> (end - start) if unit_weights else prefix[end] - prefix[start]


cdef int _decide_ranges(const floating* points, intp_t d, const Query* query,
                        const EpsTable* e, const double* weights, intp_t weight_stride,
                        const RangeList* ranges,
                        RangeList* undecided, Direction mode, const Norm* norm,
                        double* decided) noexcept nogil:
    """Sort the points of the ranges that are not full by the query box (FORWARD or UNION).

    decided[0] (OUT) is the weight of the points that are neighbours of every
    point of the box; undecided (OUT) holds the points that are neighbours of
    some but maybe not all, as ranges (not full); the others are neighbours of
    none.  The kernel is monotone in every coordinate difference and eps, so
    the box's nearest and farthest corner from a point decide it for the
    whole box.  -1 when memory runs out.
    """
    cdef intp_t r, j, k, last
    cdef double near[MAX_FEATURES]
    cdef double far[MAX_FEATURES]
    cdef const floating* x
    cdef const double* ej
    cdef bint some, every
    decided[0] = 0.0
    undecided.size = 0
    for r in range(ranges.size):
        if ranges.full[r]:
            continue
        for j in range(ranges.start[r], ranges.end[r]):
            x = points + j * d
            for k in range(d):
                gaps_to_interval(<double> x[k], query.lo[k], query.hi[k], k, norm,
                                 &near[k], &far[k])
            some = within_offsets(near, query.eps_max, query.eps_cols, norm)
            every = some and within_offsets(far, query.eps_min, query.eps_cols, norm)
            if mode == UNION and not every:
                ej = e.values + j * e.row_stride
                if within_offsets(near, ej, e.n_cols, norm):
                    some = True
                    every = within_offsets(far, ej, e.n_cols, norm)
            if every:
                decided[0] = decided[0] + weights[j * weight_stride]
            elif some:
                last = undecided.size - 1
                if last >= 0 and undecided.end[last] == j:
                    undecided.end[last] = j + 1
                elif range_push(undecided, j, j + 1, False, -1) < 0:
                    return -1
    return 0


cdef inline double _weight_near(const floating* points, intp_t d, intp_t i, const EpsTable* e,
                                const double* weights, intp_t weight_stride,
                                const RangeList* ranges, bint full_counted, double total,
                                double enough, double bound, Direction mode,
                                const Norm* norm) noexcept nogil:
    """total plus the weight of point i's neighbours in the candidate ranges.

    The full ranges are left out when already counted in total; the sum stops
    once it reaches ``enough``, and also once ``bound`` falls below it: bound
    is an upper bound of the final sum (no negative weight), less the weight
    of every candidate found not to be a neighbour.  (A function of its own
    keeps every pointer of the loop in a register.)
    """
    cdef const floating* x = points + i * d
    cdef const double* ex = e.values + i * e.row_stride
    cdef intp_t r, j
    if mode == FORWARD and norm.plain_euclidean and e.n_cols == 1:
        return _weight_near_euclidean(points, d, i, ex[0] * ex[0], weights, weight_stride,
                                      ranges, full_counted, total, enough, bound)
    for r in range(ranges.size):
        if ranges.full[r]:
            if full_counted:
                continue
            total = _add_weights(total, weights, weight_stride, ranges.start[r], ranges.end[r])
        else:
            for j in range(ranges.start[r], ranges.end[r]):
                if related(x, ex, e.n_cols, points + j * d, e.values + j * e.row_stride,
                           e.n_cols, mode, norm):
                    total = total + weights[j * weight_stride]
                else:
                    bound = bound - weights[j * weight_stride]
                    if bound < enough:
                        return total
        if total >= enough:
            break
    return total


cdef inline double _add_weights(double total, const double* weights, intp_t weight_stride,
                                intp_t start, intp_t end) noexcept nogil:
    """total plus the weights of positions start..end-1, added one by one in order (the
    sums of the per-pair tests, so that both round alike; stride 0: one weight)."""
    cdef intp_t j
    for j in range(start, end):
        total = total + weights[j * weight_stride]
    return total


cdef inline double _weight_near_euclidean(const floating* points, intp_t d, intp_t i,
                                          double limit, const double* weights,
                                          intp_t weight_stride, const RangeList* ranges,
                                          bint full_counted, double total, double enough,
                                          double bound) noexcept nogil:
    """_weight_near for a FORWARD search, the plain euclidean metric and an isotropic
    eps row (``limit`` is its square): the same sum without a branch per candidate.

    Whether a candidate is a neighbour is as good as random, so a branch on it
    is mispredicted about every other time; adding the outcome of the test
    costs less.  The arithmetic of each test is within()'s, and the sum stops
    (at the end of a range) on the same conditions.
    """
    cdef const floating* x = points + i * d
    cdef const floating* y
    cdef intp_t r, j, k, hits
    cdef double acc, dx, inside
    for r in range(ranges.size):
        if ranges.full[r]:
            if full_counted:
                continue
            total = _add_weights(total, weights, weight_stride, ranges.start[r], ranges.end[r])
        elif weight_stride == 0:
            # Unit weights: count.
            hits = _euclidean_hits(points, d, x, ranges.start[r], ranges.end[r], limit)
            total = total + hits
            bound = bound - (ranges.end[r] - ranges.start[r] - hits)
        else:
            for j in range(ranges.start[r], ranges.end[r]):
                y = points + j * d
                acc = 0.0
                for k in range(d):
                    dx = <double> y[k] - <double> x[k]
                    acc = acc + dx * dx
                inside = acc <= limit
                total = total + inside * weights[j]
                bound = bound - (1.0 - inside) * weights[j]
        if total >= enough or bound < enough:
            break
    return total


cdef inline intp_t _euclidean_hits(const floating* points, intp_t d, const floating* x,
                                   intp_t start, intp_t end, double limit) noexcept nogil:
    """How many of the points start..end-1 lie within sqrt(limit) of x (within()'s sums)."""
    cdef intp_t j, k, hits = 0
    cdef double acc, dx, x0, x1
    if d == 2:
        x0 = x[0]
        x1 = x[1]
        for j in range(start, end):
            dx = <double> points[2 * j] - x0
            acc = dx * dx
            dx = <double> points[2 * j + 1] - x1
            acc = acc + dx * dx
            hits += acc <= limit
        return hits
    for j in range(start, end):
        acc = 0.0
        for k in range(d):
            dx = <double> points[j * d + k] - <double> x[k]
            acc = acc + dx * dx
        hits += acc <= limit
    return hits


def _connect(SpatialIndex index, const floating[:, ::1] points, EpsRows eps,
             const uint8_t[::1] is_core, intp_t[::1] parent, bint every_block, int n_threads):
    """Pass 2: union-find parent (IN/OUT) joins every pair of core neighbours.

    With ``every_block`` (eps of their own) each block searches its own
    neighbourhoods (FORWARD) and joins them whichever block is lower: every
    edge lies in the own neighbourhood of one of its ends.
    """
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef const intp_t[::1] blocks = index.blocks
    cdef intp_t n_blocks = blocks.shape[0] - 1
    cdef intp_t chunk = parallel_chunk(n_blocks, n_threads)
    cdef intp_t b, i, t, start, end, first
    cdef const EpsTable* e = &eps.table
    cdef const Norm* norm = &index.norm
    # Each pair of blocks is tested from one side only (the lower block): with
    # eps of their own, by the union of both directions (an edge either way);
    # or, with every_block, from both sides in the forward direction.
    cdef Direction mode = FORWARD if eps.shared or every_block else UNION
    # The lowest block a block's search joins: itself (b), or any (0) with every_block.
    cdef intp_t lowest
    cdef intp_t[::1] first_core = np.full(n_blocks, -1, dtype=np.intp)
    cdef uint8_t[::1] clique = np.zeros(n_blocks, dtype=np.uint8)
    cdef intp_t n = points.shape[0], p
    cdef intp_t[::1] next_core = np.empty(n + 1, dtype=np.intp)
    cdef intp_t[::1] run_end = np.empty(max(n, 1), dtype=np.intp)
    cdef Runs runs
    runs.next_core = &next_core[0]
    runs.run_end = &run_end[0]
    # Each thread's searching set, for the searches to leave out what it already holds.
    cdef JoinedSet* joined = <JoinedSet*> calloc(n_threads, sizeof(JoinedSet))
    if joined == NULL:
        raise MemoryError("gridscan: could not allocate search workspace")
    for t in range(n_threads):
        joined[t].parent = &parent[0]
        joined[t].runs = &runs
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    cdef int interrupted[1]
    failed[0] = 0
    interrupted[0] = 0
    with nogil:
        # The runs of _join_range: each core point alone, next_core by one backward scan.
        next_core[n] = n
        for p in range(n - 1, -1, -1):
            next_core[p] = p if is_core[p] else next_core[p + 1]
            run_end[p] = p + 1
        # Each block's first core point; the core points of a clique are joined at once.
        for b in prange(n_blocks, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
            query = work.queries[threadid()]
            if load_block_query(query, points, blocks[b], blocks[b + 1], &is_core[0], 1, e,
                                mode, b) == 0:
                continue
            first = blocks[b]
            while not is_core[first]:
                first = first + 1
            first_core[b] = first
            if is_clique(query, norm):
                clique[b] = 1
                for i in range(first + 1, blocks[b + 1]):
                    if is_core[i]:
                        uf_union(&parent[0], first, i)
        for b in prange(n_blocks, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
            if first_core[b] < 0:
                continue
            t = threadid()
            if interrupted[0] or t == 0 and signal_raised(b, BLOCKS_PER_POLL):
                interrupted[0] = 1
                continue
            start = blocks[b]
            end = blocks[b + 1]
            first = first_core[b]
            query = work.queries[t]
            load_block_query(query, points, start, end, &is_core[0], 1, e, mode, b)
            joined[t].first = first
            query.settled = _all_joined
            query.settled_state = &joined[t]
            ranges = work.ranges[t]
            ranges.size = 0
            if index.search(query, mode, ranges) < 0:
                failed[0] = 1
                continue
            lowest = 0 if every_block else b
            if clique[b]:
                _join_clique(b, lowest, first, end, query, ranges, &first_core[0], &clique[0],
                             points, e, &is_core[0], &parent[0], &runs, mode, norm)
            else:
                for i in range(first, end):
                    if is_core[i]:
                        _join_point(lowest, i, ranges, &first_core[0], &clique[0], points, e,
                                    &is_core[0], &parent[0], &runs, mode, norm)
    free(joined)
    if interrupted[0]:
        raise_pending()
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")


cdef inline bint _linked(const floating[:, ::1] points, const EpsTable* e, intp_t i, intp_t j,
                         Direction mode, const Norm* norm) noexcept nogil:
    """Whether j lies in i's own neighbourhood (FORWARD), or either in the other's (UNION)."""
    if mode == FORWARD:
        return within(&points[i, 0], &points[j, 0], e.values + i * e.row_stride, e.n_cols,
                      norm)
    return related(&points[i, 0], e.values + i * e.row_stride, e.n_cols, &points[j, 0],
                   e.values + j * e.row_stride, e.n_cols, mode, norm)


cdef struct Runs:
    # Consecutive core positions known to be one set, for joining full ranges.
    const intp_t* next_core   # (n + 1,) the first core position >= p, n when none
    # run_end (n,): for a core p, every core position in [p, run_end[p]) is in
    # p's set (p + 1 at first; it only ever grows).
    intp_t* run_end


cdef struct JoinedSet:
    # The set of a searching block in the connect pass (first: one of its core points).
    intp_t* parent
    Runs* runs
    intp_t first


cdef bint _all_joined(void* state, intp_t start, intp_t end) noexcept nogil:
    """Whether every core position in [start, end) is already in the set of state.first
    (a RangeTest: the connect search then leaves the range out).

    Follows at most SETTLED_RUNS runs; when it follows more than one, the first
    learns where the last ends, so the next test of these positions takes one.
    """
    cdef JoinedSet* s = <JoinedSet*> state
    cdef intp_t head = s.runs.next_core[start], p = head, steps = 0
    cdef intp_t root
    if p >= end:
        return True
    root = uf_find(s.parent, s.first)
    while p < end:
        if steps == SETTLED_RUNS or uf_find(s.parent, p) != root:
            break
        p = s.runs.next_core[gs_atomic_load(&s.runs.run_end[p])]
        steps = steps + 1
    if steps > 1:
        # Every core position in [head, p) is in the set.
        atomic_max(&s.runs.run_end[head], p)
    return p >= end


cdef void _join_range(intp_t i, intp_t start, intp_t end, Runs* runs,
                      intp_t* parent) noexcept nogil:
    """Join the core point i to every core position in [start, end): all its neighbours.

    Walks from run to run, joining each to the last; then every run start
    passed on the way learns where the joined run now ends.  Each run_end only
    grows and is true whenever written (sets only merge), so threads may race.
    """
    cdef intp_t p = runs.next_core[start], q, first, joined_end
    if p >= end:
        return
    uf_union(parent, i, p)
    first = p
    while True:
        q = gs_atomic_load(&runs.run_end[p])
        if q >= end:
            break
        q = runs.next_core[q]
        if q >= end:
            break
        uf_union(parent, p, q)
        p = q
    joined_end = gs_atomic_load(&runs.run_end[p])
    p = first
    while p < joined_end:
        q = gs_atomic_load(&runs.run_end[p])
        atomic_max(&runs.run_end[p], joined_end)
        p = runs.next_core[q] if q < joined_end else joined_end


cdef inline bint _reaches_box(const Query* query, const floating* y, const double* ey,
                              intp_t ey_cols, intp_t d, Direction mode,
                              const Norm* norm) noexcept nogil:
    """Whether y may be linked to some point of the query's box: the kernel with the
    box's largest eps (and under UNION with y's own row ey too) at the corner nearest
    to y (monotone, so exact)."""
    cdef double near[MAX_FEATURES]
    cdef double far, v, gap, reach, acc = 0.0
    cdef intp_t k
    if norm.plain_euclidean and query.eps_cols == 1 and (mode == FORWARD or ey_cols == 1):
        # within_offsets' sum, with gaps_to_interval's gaps on plain features.
        for k in range(d):
            v = y[k]
            gap = query.lo[k] - v if v < query.lo[k] else (
                v - query.hi[k] if v > query.hi[k] else 0.0)
            acc = acc + gap * gap
        reach = query.eps_max[0] if mode == FORWARD else larger(query.eps_max[0], ey[0])
        return acc <= reach * reach
    if d > MAX_FEATURES:
        return True
    for k in range(d):
        gaps_to_interval(<double> y[k], query.lo[k], query.hi[k], k, norm, &near[k], &far)
    if within_offsets(near, query.eps_max, query.eps_cols, norm):
        return True
    return mode == UNION and within_offsets(near, ey, ey_cols, norm)


cdef void _join_clique(intp_t b, intp_t lowest, intp_t first, intp_t end, const Query* query,
                       const RangeList* ranges, const intp_t* first_core,
                       const uint8_t* clique, const floating[:, ::1] points,
                       const EpsTable* e, const uint8_t* is_core, intp_t* parent,
                       Runs* runs, Direction mode, const Norm* norm) noexcept nogil:
    """Join the clique block b (core points first..end-1, all one set) to its core neighbours
    in blocks from ``lowest`` on.

    ``query`` is the box of b's core points: a candidate out of its reach
    (_reaches_box) is linked to none of them and is not tested one by one.
    """
    cdef intp_t r, c, j
    cdef bint joined
    for r in range(ranges.size):
        c = ranges.block[r]
        if c >= 0 and (c == b or c < lowest or first_core[c] < 0):
            continue
        if c >= 0 and clique[c]:
            # Two cliques: one edge joins them all.
            if uf_find(parent, first_core[c]) == uf_find(parent, first):
                continue
            joined = ranges.full[r]
            j = first_core[c]
            while not joined and j < ranges.end[r]:
                joined = is_core[j] and _links_block(first, end, j, query, points, e, is_core,
                                                     mode, norm)
                j = j + 1
            if joined:
                uf_union(parent, first, first_core[c])
            continue
        if ranges.full[r]:
            _join_range(first, ranges.start[r], ranges.end[r], runs, parent)
            continue
        # One edge joins j to the whole block.
        _join_candidates(first, end, query, ranges.start[r], ranges.end[r], points, e, is_core,
                         parent, runs, mode, norm)


cdef void _join_point(intp_t lowest, intp_t i, const RangeList* ranges,
                      const intp_t* first_core, const uint8_t* clique,
                      const floating[:, ::1] points, const EpsTable* e,
                      const uint8_t* is_core, intp_t* parent, Runs* runs, Direction mode,
                      const Norm* norm) noexcept nogil:
    """Join the core point i (of a block that is not a clique) to its core neighbours in
    blocks from ``lowest`` on."""
    cdef intp_t r, c, j
    for r in range(ranges.size):
        c = ranges.block[r]
        if c >= 0 and (c < lowest or first_core[c] < 0):
            continue
        if c >= 0 and clique[c]:
            # A clique's core points are one set: one edge joins them all to i.
            if uf_find(parent, first_core[c]) == uf_find(parent, i):
                continue
            for j in range(first_core[c], ranges.end[r]):
                if is_core[j] and (ranges.full[r] or _linked(points, e, i, j, mode, norm)):
                    uf_union(parent, i, first_core[c])
                    break
            continue
        if ranges.full[r]:
            _join_range(i, ranges.start[r], ranges.end[r], runs, parent)
            continue
        _join_candidates(i, i + 1, NULL, ranges.start[r], ranges.end[r], points, e, is_core,
                         parent, runs, mode, norm)


cdef void _join_candidates(intp_t first, intp_t last, const Query* query, intp_t start,
                           intp_t end, const floating[:, ::1] points, const EpsTable* e,
                           const uint8_t* is_core, intp_t* parent, Runs* runs,
                           Direction mode, const Norm* norm) noexcept nogil:
    """Join the core points of first..last-1 (one set: a point, or a clique's core
    points whose box is ``query``) to their core neighbours among the candidates
    [start, end).

    A candidate already in the set needs no test, and neither does the rest of
    its run.  A streak of consecutive core positions found in the set (already
    or by this join) becomes a run itself, so the next search that meets them,
    from any point of the set, skips them together: a point with a large eps
    meets the same small-eps points again and again.
    """
    # The set's root as last seen: another thread may have moved it since, which
    # costs no more than a test that was not needed.
    cdef intp_t root = uf_find(parent, first)
    cdef intp_t j = runs.next_core[start], streak = -1
    while j < end:
        if uf_find(parent, j) == root:
            if streak < 0:
                streak = j
            j = runs.next_core[gs_atomic_load(&runs.run_end[j])]
            continue
        if _links_block(first, last, j, query, points, e, is_core, mode, norm):
            uf_union(parent, first, j)
            root = uf_find(parent, first)
            if streak < 0:
                streak = j
        elif streak >= 0:
            # Every core position in [streak, j) is in the set.
            atomic_max(&runs.run_end[streak], j)
            streak = -1
        j = runs.next_core[j + 1]
    if streak >= 0:
        atomic_max(&runs.run_end[streak], j)


cdef inline bint _links_block(intp_t first, intp_t last, intp_t j, const Query* query,
                              const floating[:, ::1] points, const EpsTable* e,
                              const uint8_t* is_core, Direction mode,
                              const Norm* norm) noexcept nogil:
    """Whether j is linked to a core point of first..last-1 (more than one: within reach
    of their box first, _reaches_box)."""
    cdef intp_t i
    if last - first > 1 and not _reaches_box(query, &points[j, 0], e.values + j * e.row_stride,
                                             e.n_cols, points.shape[1], mode, norm):
        return False
    for i in range(first, last):
        if is_core[i] and _linked(points, e, i, j, mode, norm):
            return True
    return False


def _number_clusters(const intp_t[::1] order, const uint8_t[::1] is_core,
                     intp_t[::1] parent, intp_t[::1] labels, int n_threads):
    """Pass 3a: labels (OUT) of core points, clusters numbered by smallest original row.

    Every other label is set to -1.  Each set's root (its smallest position)
    collects the set's smallest original row; the roots' first rows, flagged
    in a table over rows, are numbered in one sequential count, kept in labels
    by row until labels takes its values by position.
    """
    cdef intp_t n = order.shape[0], pos, root, row, next_label = 0
    cdef intp_t[::1] first_row = np.empty(n, dtype=np.intp)
    cdef uint8_t[::1] starts_cluster = np.zeros(n, dtype=np.uint8)
    cdef int interrupted[1]
    interrupted[0] = 0
    with nogil:
        for pos in prange(n, schedule="static", num_threads=n_threads):
            first_row[pos] = n
        for pos in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(pos, POINTS_PER_POLL):
                interrupted[0] = 1
            if is_core[pos]:
                root = uf_flatten(&parent[0], pos)
                atomic_min(&first_row[root], order[pos])
        for pos in prange(n, schedule="static", num_threads=n_threads):
            if is_core[pos] and parent[pos] == pos:
                starts_cluster[first_row[pos]] = 1
        for row in range(n):
            poll_signals(row, POINTS_PER_POLL)
            if starts_cluster[row]:
                labels[row] = next_label
                next_label += 1
        for pos in prange(n, schedule="static", num_threads=n_threads):
            if is_core[pos] and parent[pos] == pos:
                first_row[pos] = labels[first_row[pos]]
        for pos in prange(n, schedule="static", num_threads=n_threads):
            labels[pos] = first_row[parent[pos]] if is_core[pos] else -1
    if interrupted[0]:
        raise_pending()


def _border(SpatialIndex index, const floating[:, ::1] points,
            const floating[:, ::1] queries, const intp_t[::1] query_blocks,
            EpsRows query_eps, EpsRows point_eps, const uint8_t[::1] is_core,
            const intp_t[::1] labels, int mode, const uint8_t[::1] skip, intp_t[::1] out,
            bint own_blocks, int n_threads):
    """Pass 3b: out[i] (OUT) = smallest label of a core point neighbouring query i, or -1.

    Queries come in blocks (query_blocks, like index.blocks; own_blocks when
    they are the index's own points and blocks); those with skip[i] set are left
    as they are.
    """
    cdef Workspace work = Workspace(n_threads, points.shape[1])
    cdef const intp_t[::1] blocks = index.blocks
    cdef intp_t n_blocks = query_blocks.shape[0] - 1
    cdef intp_t chunk = parallel_chunk(n_blocks, n_threads)
    cdef intp_t b, c, i, j, r, t, best, start, end
    cdef const EpsTable* qe = &query_eps.table
    cdef const EpsTable* pe = &point_eps.table
    cdef const Norm* norm = &index.norm
    cdef const double* ei
    cdef intp_t[::1] block_label = np.full(blocks.shape[0] - 1, -1, dtype=np.intp)
    cdef Query* query
    cdef RangeList* ranges
    cdef int failed[1]
    cdef int interrupted[1]
    failed[0] = 0
    interrupted[0] = 0
    with nogil:
        # Smallest label among the core points of each index block, -1 without any.
        for b in prange(blocks.shape[0] - 1, schedule="static", num_threads=n_threads):
            for j in range(blocks[b], blocks[b + 1]):
                if is_core[j] and (block_label[b] == -1 or labels[j] < block_label[b]):
                    block_label[b] = labels[j]
        for b in prange(n_blocks, schedule="dynamic", chunksize=chunk, num_threads=n_threads):
            t = threadid()
            if interrupted[0] or t == 0 and signal_raised(b, BLOCKS_PER_POLL):
                interrupted[0] = 1
                continue
            start = query_blocks[b]
            end = query_blocks[b + 1]
            query = work.queries[t]
            if load_block_query(query, queries, start, end, &skip[0], 0, qe,
                                <Direction> mode, b if own_blocks else -1) == 0:
                continue
            ranges = work.ranges[t]
            ranges.size = 0
            if index.search(query, <Direction> mode, ranges) < 0:
                failed[0] = 1
                continue
            for i in range(start, end):
                if skip[i]:
                    continue
                ei = qe.values + i * qe.row_stride
                best = -1
                for r in range(ranges.size):
                    c = ranges.block[r]
                    if c >= 0 and (block_label[c] == -1
                                   or (best != -1 and block_label[c] >= best)):
                        continue
                    if c >= 0 and ranges.full[r]:
                        best = block_label[c]
                        continue
                    for j in range(ranges.start[r], ranges.end[r]):
                        if not is_core[j] or (best != -1 and labels[j] >= best):
                            continue
                        if ranges.full[r] or related(
                                &queries[i, 0], ei, qe.n_cols, &points[j, 0],
                                pe.values + j * pe.row_stride, pe.n_cols,
                                <Direction> mode, norm):
                            best = labels[j]
                out[i] = best
    if interrupted[0]:
        raise_pending()
    if failed[0]:
        raise MemoryError("gridscan: out of memory while collecting candidate ranges")
