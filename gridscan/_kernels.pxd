# Per-pair neighbourhood kernels, shared by every index and by the DBSCAN core.
#
# A neighbourhood is described by two C structs chosen once per call, never per
# pair:
#
#   Norm      the metric (an enum plus the Minkowski power), the number of
#             features d, an optional per-feature flag marking *window*
#             features (outside the norm, each bounded on its own), and
#             optional per-feature *periods* (0 for an ordinary feature).
#   EpsTable  the eps of every centre point as rows of a row-major double
#             table: row_stride 0 when all points share one row (scalar or
#             per-feature eps), n_cols 1 when a row is isotropic (one radius
#             for every feature), else d.  reach[r] bounds ||q - p|| (metric
#             over all features) for any q in the neighbourhood of a point
#             with row r; inner[r] is the radius of the largest ball inside it.
#
# q lies in the neighbourhood of centre c with eps row e when
#
#   isotropic row:  sum_k |q_k - c_k|^2 <= e^2   (euclidean; other metrics alike)
#   per-feature:    sum_k (|q_k - c_k| / e_k)^2 <= 1
#
# and |q_t - c_t| <= e_t for every window feature t.  Along a periodic feature
# of period P (values in [0, P)) the difference |q_k - c_k| is the minimum
# image, min(|q_k - c_k|, P - |q_k - c_k|): ``gap`` below.  Indexes keep their
# own geometry plain (a periodic feature is an interval [0, P) to them) and
# search the images of a query near the seam instead (SpatialIndex.search).  The isotropic form
# compares reduced distances exactly as scikit-learn's trees do (squared
# distance against eps squared), so a scalar eps reproduces its ties.
# Coordinates are read as float or double and always compared in double.

from libc.math cimport fabs, pow, sqrt

from cython cimport floating

from gridscan._typedefs cimport intp_t, uint8_t

ctypedef enum Metric:
    EUCLIDEAN = 0
    MANHATTAN = 1
    CHEBYSHEV = 2
    MINKOWSKI = 3

ctypedef enum Direction:
    FORWARD = 0     # y in the neighbourhood of the query point x (x's eps)
    REVERSE = 1     # x in the neighbourhood of y (y's own eps)
    UNION = 2       # either

cdef struct Norm:
    Metric metric
    double p                  # Minkowski power (MINKOWSKI only)
    intp_t n_features
    const uint8_t* window     # NULL, or 1 for each window feature
    const double* period      # NULL, or each feature's period (0: not periodic)
    bint plain_euclidean      # euclidean, no window or periodic feature: the fast path
    bint periodic_euclidean   # euclidean, no window feature, some periodic one
    const double* wrap        # periodic_euclidean only: each period, INFINITY for none

cdef struct EpsTable:
    const double* values      # eps rows
    intp_t row_stride         # 0: every point uses row 0
    intp_t n_cols             # 1 (isotropic) or n_features
    const double* reach       # per row: bound on the metric distance to any neighbour
    const double* inner       # per row: radius of the largest ball inside the neighbourhood
    intp_t bound_stride       # 0 or 1, like row_stride for reach and inner


cdef inline double larger(double a, double b) noexcept nogil:
    """The larger of two numbers, neither NaN (libm's fmax is a call GCC keeps)."""
    return a if a > b else b


cdef inline double smaller(double a, double b) noexcept nogil:
    """The smaller of two numbers, neither NaN."""
    return a if a < b else b


cdef inline double gap(double a, double b, intp_t k, const Norm* norm) noexcept nogil:
    """|a - b| along feature k: the minimum image on a periodic feature (a, b in [0, P))."""
    cdef double dx = fabs(a - b)
    if norm.period != NULL and norm.period[k] > 0.0 and dx > 0.5 * norm.period[k]:
        return norm.period[k] - dx
    return dx


cdef inline double minimum_image(double a, double b, intp_t k, const Norm* norm) noexcept nogil:
    """``gap`` for a periodic_euclidean norm, without a branch.

    min(dx, wrap_k - dx) is dx on a feature without a period (wrap_k is
    INFINITY) and on a periodic one while dx <= P / 2, else P - dx, exactly as
    in ``gap``: P - dx rounds to at least P / 2 when dx < P / 2 and to at most
    P / 2 when dx > P / 2, so the comparison picks the same value.
    """
    cdef double dx = fabs(a - b)
    return smaller(dx, norm.wrap[k] - dx)


cdef inline void gaps_to_interval(double v, double lo, double hi, intp_t k, const Norm* norm,
                                  double* near, double* far) noexcept nogil:
    """The smallest and largest difference (OUT) along feature k between v and [lo, hi].

    On a periodic feature [lo, hi] is an arc of the circle [0, P): the
    nearest value is an end of it unless it holds v, the farthest is v's
    antipode when it holds that, else an end.
    """
    cdef double to_lo, to_hi, half, antipode
    near[0] = lo - v if v < lo else (v - hi if v > hi else 0.0)
    far[0] = larger(v - lo, hi - v)
    if norm.period == NULL or norm.period[k] <= 0.0:
        return
    half = 0.5 * norm.period[k]
    to_lo = gap(v, lo, k, norm)
    to_hi = gap(v, hi, k, norm)
    if near[0] > 0.0:
        near[0] = smaller(to_lo, to_hi)
    antipode = v + half if v < half else v - half
    far[0] = half if lo <= antipode <= hi else larger(to_lo, to_hi)


cdef inline double reduce_radius(double r, const Norm* norm) noexcept nogil:
    """The reduced form of a radius: what the accumulated sum is compared with."""
    if norm.metric == EUCLIDEAN:
        return r * r
    if norm.metric == MINKOWSKI:
        return pow(r, norm.p)
    return r


cdef inline double accumulate(double acc, double dx, const Norm* norm) noexcept nogil:
    """Add one non-negative coordinate difference to a reduced distance."""
    if norm.metric == EUCLIDEAN:
        return acc + dx * dx
    if norm.metric == MANHATTAN:
        return acc + dx
    if norm.metric == CHEBYSHEV:
        return larger(acc, dx)
    return acc + pow(dx, norm.p)


cdef inline double unreduce(double acc, const Norm* norm) noexcept nogil:
    """Distance from a reduced distance."""
    if norm.metric == EUCLIDEAN:
        return sqrt(acc)
    if norm.metric == MINKOWSKI:
        return pow(acc, 1.0 / norm.p)
    return acc


cdef inline double limit_of(const double* e, intp_t n_cols, const Norm* norm) noexcept nogil:
    """What the reduced distance is compared with: eps reduced (isotropic) or 1 (scaled)."""
    return reduce_radius(e[0], norm) if n_cols == 1 else 1.0


cdef inline bint admit(double* acc, double dx, intp_t k, const double* e, intp_t n_cols,
                       double limit, const Norm* norm) noexcept nogil:
    """Add the difference dx >= 0 along feature k to the reduced distance acc (IN/OUT).

    False as soon as the point is out; partial sums only grow, so stopping
    early never changes the answer.
    """
    cdef double ek = e[0 if n_cols == 1 else k]
    if norm.window != NULL and norm.window[k]:
        return dx <= ek
    if n_cols != 1:
        dx = dx / ek
    acc[0] = accumulate(acc[0], dx, norm)
    return acc[0] <= limit


cdef inline bint within(const floating* c, const floating* q, const double* e,
                        intp_t n_cols, const Norm* norm) noexcept nogil:
    """True when q lies in the neighbourhood of centre c with eps row e."""
    cdef intp_t k
    cdef double acc = 0.0, dx, limit
    if norm.plain_euclidean:
        # The common cases, without the general loop's branches; same arithmetic.
        if n_cols == 1:
            for k in range(norm.n_features):
                dx = <double> q[k] - <double> c[k]
                acc = acc + dx * dx
            return acc <= e[0] * e[0]
        for k in range(norm.n_features):
            dx = fabs(<double> q[k] - <double> c[k]) / e[k]
            acc = acc + dx * dx
        return acc <= 1.0
    if norm.periodic_euclidean:
        # The same with minimum images (no branch per feature, periodic or not).
        if n_cols == 1:
            for k in range(norm.n_features):
                dx = minimum_image(<double> q[k], <double> c[k], k, norm)
                acc = acc + dx * dx
            return acc <= e[0] * e[0]
        for k in range(norm.n_features):
            dx = minimum_image(<double> q[k], <double> c[k], k, norm) / e[k]
            acc = acc + dx * dx
        return acc <= 1.0
    if (n_cols == 1 and norm.window != NULL and norm.period == NULL
            and norm.metric == EUCLIDEAN):
        return within_window_isotropic(c, q, e[0], norm)
    limit = limit_of(e, n_cols, norm)
    for k in range(norm.n_features):
        if not admit(&acc, gap(<double> q[k], <double> c[k], k, norm), k, e, n_cols, limit,
                     norm):
            return False
    return True


cdef inline bint within_offsets(const double* dx, const double* e, intp_t n_cols,
                                const Norm* norm) noexcept nogil:
    """``within`` for given coordinate differences dx >= 0.

    The kernel is monotone in every difference and every eps, so a bound on the
    differences between two boxes of points decides all their pairs at once.
    """
    cdef intp_t k
    cdef double acc = 0.0, limit, widest = 0.0
    cdef bint is_window
    if (norm.plain_euclidean or norm.periodic_euclidean) and n_cols == 1:
        for k in range(norm.n_features):
            acc = acc + dx[k] * dx[k]
        return acc <= e[0] * e[0]
    if n_cols == 1 and norm.metric == EUCLIDEAN and norm.window != NULL:
        # Window features beside euclidean ones (the differences are the same on a
        # periodic feature): the loop below without its branches.
        # (Branch-free as within_window_isotropic.)
        for k in range(norm.n_features):
            is_window = norm.window[k]
            acc = acc if is_window else acc + dx[k] * dx[k]
            widest = larger(widest, dx[k] if is_window else 0.0)
        return (acc <= e[0] * e[0]) & (widest <= e[0])
    limit = limit_of(e, n_cols, norm)
    for k in range(norm.n_features):
        if not admit(&acc, dx[k], k, e, n_cols, limit, norm):
            return False
    return True


cdef inline double scaled_distance(const floating* c, const floating* q, const double* e,
                                   intp_t n_cols, const Norm* norm) noexcept nogil:
    """delta_c(q) = ||(q - c) / e|| over the non-window features."""
    cdef intp_t k
    cdef double dx, acc = 0.0
    for k in range(norm.n_features):
        if norm.window != NULL and norm.window[k]:
            continue
        dx = gap(<double> q[k], <double> c[k], k, norm) / e[0 if n_cols == 1 else k]
        acc = accumulate(acc, dx, norm)
    return unreduce(acc, norm)


cdef inline double point_distance(const double* a, const double* b,
                                  const Norm* norm) noexcept nogil:
    """Plain metric distance over all features (window features included).

    Geometry of an index's own structure: periodic features count as plain
    intervals here.
    """
    cdef intp_t k
    cdef double acc = 0.0
    for k in range(norm.n_features):
        acc = accumulate(acc, fabs(a[k] - b[k]), norm)
    return unreduce(acc, norm)


cdef inline bint within_window_isotropic(const floating* c, const floating* q, double e,
                                         const Norm* norm) noexcept nogil:
    """``within`` for the euclidean metric with window features, no periodic one, and an
    isotropic row e: the general loop's arithmetic without its branches.

    A window feature leaves the sum as it is (a select, not a branch) and adds
    its difference to the largest window difference; the answer is the
    general loop's, which stops at the first window difference beyond e.
    """
    cdef intp_t k
    cdef double acc = 0.0, dx, widest = 0.0
    cdef bint is_window
    if norm.n_features == 3 and norm.window[2] and not (norm.window[0] or norm.window[1]):
        # x, y beside a window feature (the ground range of radar.ppi_features): the
        # same sum, unrolled.
        dx = <double> q[0] - <double> c[0]
        acc = dx * dx
        dx = <double> q[1] - <double> c[1]
        acc = acc + dx * dx
        return (acc <= e * e) & (fabs(<double> q[2] - <double> c[2]) <= e)
    for k in range(norm.n_features):
        dx = <double> q[k] - <double> c[k]
        is_window = norm.window[k]
        acc = acc if is_window else acc + dx * dx
        widest = larger(widest, fabs(dx) if is_window else 0.0)
    return (acc <= e * e) & (widest <= e)


cdef inline bint related(const floating* x, const double* ex, intp_t ex_cols,
                         const floating* y, const double* ey, intp_t ey_cols,
                         Direction mode, const Norm* norm) noexcept nogil:
    """Whether y is a neighbour of the query x under ``mode`` (ex or ey unused: any)."""
    cdef double larger_eps
    if mode == UNION and ex_cols == 1 and ey_cols == 1:
        # Isotropic rows: either neighbourhood holds the other point exactly when the
        # larger one does (the two directions accumulate the same differences).
        larger_eps = larger(ex[0], ey[0])
        if norm.window != NULL and norm.period == NULL and norm.metric == EUCLIDEAN:
            return within_window_isotropic(x, y, larger_eps, norm)
        return within(x, y, &larger_eps, 1, norm)
    if mode != REVERSE and within(x, y, ex, ex_cols, norm):
        return True
    return mode != FORWARD and within(y, x, ey, ey_cols, norm)
