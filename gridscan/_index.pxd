from gridscan._kernels cimport Direction, EpsTable, Norm
from gridscan._typedefs cimport intp_t, uint8_t

from cython cimport floating


# A test a search's caller may give: whether the positions [start, end) hold nothing it
# still needs (state: the caller's).
ctypedef bint (*RangeTest)(void* state, intp_t start, intp_t end) noexcept nogil


cdef struct Query:
    # One neighbourhood search as an index sees it: a box of query points (lo == hi
    # for a single point) with the elementwise largest and smallest eps rows among
    # them.  Ranges are pruned only when no pair (query point, range point) can be
    # neighbours, or when the caller's ``settled`` test accepts them, and flagged
    # full only when every such pair is.
    const double* lo
    const double* hi
    const double* eps_max     # unused by REVERSE searches
    const double* eps_min
    intp_t eps_cols           # 1 (isotropic) or n_features
    double reach              # largest reach of the query points (0 for REVERSE)
    double inner              # smallest inner radius of the query points (0 for REVERSE)
    intp_t block              # the index block (number) holding all the query points, or -1
    # NULL, or a test of the caller's: an index MAY leave out any range (a node of a
    # tree, say) it accepts, and need not ask.  Workspace queries start with NULL.
    RangeTest settled
    void* settled_state


cdef struct RangePiece:
    # One candidate range, as SpatialIndex.search merges the ranges of images.
    intp_t start
    intp_t end
    intp_t block
    bint full


cdef struct RangeList:
    # Candidate position ranges [start, end) produced by an index for one query.
    # full[i] is a plain boolean, True (1) or False (0): True marks a range whose
    # every point is a neighbour of every query point under the search's
    # Direction, so that no per-pair test is needed.  It holds nothing else (an
    # index with more to say about a range, such as the grid's PAIR_* flags of a
    # pair of cells, keeps that in a structure of its own).
    # block[i] is the index block the range is exactly, or -1.
    intp_t* start
    intp_t* end
    bint* full
    intp_t* block
    intp_t size
    intp_t capacity
    # Scratch of SpatialIndex.search for merging the ranges of a query's images
    # near a periodic seam: merge_capacity pieces, allocated on first use,
    # kept with the list (one per thread in a Workspace) and freed with it.
    RangePiece* merge_scratch
    intp_t merge_capacity


cdef void load_point_query(Query* query, const floating* row, const EpsTable* eps,
                           intp_t i, Direction mode, intp_t d) noexcept nogil
cdef intp_t load_block_query(Query* query, const floating[:, ::1] points, intp_t start,
                             intp_t end, const uint8_t* select, uint8_t wanted,
                             const EpsTable* eps, Direction mode, intp_t block) noexcept nogil
cdef int range_push(RangeList* out, intp_t start, intp_t end, bint full,
                    intp_t block) noexcept nogil
cdef int range_init(RangeList* out) noexcept nogil
cdef void range_free(RangeList* out) noexcept nogil


cdef class EpsRows:
    cdef readonly object values     # (n_rows, n_cols) float64: eps per row
    cdef readonly object reach      # (n_rows,) bound on the distance to any neighbour
    cdef readonly object inner      # (n_rows,) radius of the largest ball inside
    cdef EpsTable table


cdef class SpatialIndex:
    cdef readonly object points     # (n, d) float32/float64 coordinates in index order
    cdef readonly object order      # (n,) intp: order[pos] is the row of X stored at pos
    cdef readonly object blocks     # (n_blocks + 1,) intp: positions of consecutive blocks
    cdef readonly object metric     # metric name
    cdef readonly object window     # (d,) uint8 window-feature mask
    cdef readonly double p          # Minkowski power
    cdef readonly EpsRows own_eps   # eps of the indexed points by position, or None
    cdef readonly object periods    # (d,) float64 period of each feature (0: none), or None
    cdef double[::1] period_reach   # (d,) largest |dx_k| an indexed point's own eps allows
    cdef object period_wrap         # (d,) float64 the periods, INFINITY for none (Norm.wrap)
    cdef Norm norm
    cdef intp_t n_points
    cdef bint reads_eps_bounds      # whether searches read EpsRows' reach and inner
    # Whether, with eps of their own, the connect pass searches every block forward
    # instead of each pair of blocks once by a union search (_core._connect).
    cdef bint links_forward
    # Under the union rule with eps of their own, blocks whose reach is at least this
    # first credit the points of the whole ranges their FORWARD searches find
    # (_core._credit_whole_ranges); INFINITY: no block does.
    cdef double credit_reach
    # The search state (docs/architecture.rst, "The search state"), recorded by the
    # base class's prepare_searches and set_point_eps around the subclasses' hooks:
    cdef readonly EpsRows search_eps    # eps the searches of the own blocks are ready for
    cdef readonly EpsRows point_eps     # eps of the indexed points (REVERSE, UNION)
    cdef readonly object point_mask     # which points hold queries then (None: all)

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil
    cdef int search(self, const Query* q, Direction mode, RangeList* out) noexcept nogil
    cdef int _search_images(self, const Query* q, Direction mode, RangeList* out) noexcept nogil


cdef class Workspace:
    cdef RangeList** ranges     # one candidate list per thread
    cdef Query** queries        # one query per thread (lo, hi, eps_max, eps_min buffers)
    cdef void** blocks          # each thread's memory, apart from the others'
    cdef intp_t n_threads
    cdef intp_t n_features


cdef inline intp_t parallel_chunk(intp_t n, int n_threads) noexcept nogil:
    """Items per dynamically scheduled chunk of a prange over n items.

    Large chunks keep the threads' writes to adjacent per-item flags and labels
    off each other's cache lines (with 16 items per chunk that sharing cost
    GBDSCAN half its parallel speed); at least 64 chunks per thread keep the
    load balanced when some items take much longer than others.
    """
    return max(16, min(1024, n // (64 * n_threads)))
