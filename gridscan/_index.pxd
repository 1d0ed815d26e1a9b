from gridscan._kernels cimport Direction, EpsTable, Norm
from gridscan._typedefs cimport intp_t

from cython cimport floating


cdef struct Query:
    # One neighbourhood search, as an index sees it.
    const double* x           # coordinates of the query point
    const double* eps         # its eps row (NULL for REVERSE searches)
    intp_t eps_cols           # 1 (isotropic) or n_features
    double reach              # bound on its distance to any neighbour (0 for REVERSE)
    double inner              # radius of a ball inside its neighbourhood (0: none)


cdef struct RangeList:
    # Candidate position ranges [start, end) produced by an index for one query.
    # full[i] marks a range whose every point is a neighbour of the query under
    # the search's Direction, so that no per-pair test is needed.
    intp_t* start
    intp_t* end
    bint* full
    intp_t size
    intp_t capacity


cdef void load_query(Query* query, const floating* row, intp_t d, const EpsTable* eps,
                     intp_t i, Direction mode) noexcept nogil
cdef int range_push(RangeList* out, intp_t start, intp_t end, bint full) noexcept nogil
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
    cdef readonly object metric     # metric name
    cdef readonly object window     # (d,) uint8 window-feature mask
    cdef readonly double p          # Minkowski power
    cdef readonly EpsRows own_eps   # eps of the indexed points by position, or None
    cdef Norm norm
    cdef intp_t n_points

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil


cdef class Workspace:
    cdef RangeList* ranges      # one candidate list per thread
    cdef Query* queries         # one query per thread, x pointing into coords
    cdef double* coords         # n_threads x n_features query coordinates
    cdef intp_t n_threads
    cdef intp_t n_features
