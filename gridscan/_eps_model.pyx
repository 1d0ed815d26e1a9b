# Native evaluation of eps models, and lattice cell counts for the adaptive minimum.
#
# RangeEps:  eps[p, k] = clip(base[k] * (X[p, r] + offset) ** power[k], lo[k], hi[k])
# with base, power, lo and hi of length n_cols (1: one radius for all features,
# else one per feature); the table out has shape (n, n_cols).
#
# Lattice counts (pts_ratio): P(p) = number of integer points z with
# 0 <= z_k < shape[k] inside p's neighbourhood (the kernel of _kernels.pxd,
# window features included).  A LatticeIndex over [0, shape) counts them from
# its stencils; any other row is counted by scanning the rows of the integer
# box around X[p] (the run of each row by bisection).

import numpy as np

from gridscan._arrays import take_rows
from gridscan._lattice import LatticeIndex

from cython.parallel cimport prange, threadid
from libc.math cimport ceil, floor, fmax, fmin, isfinite, pow

from cython cimport floating

from gridscan._index cimport EpsRows, SpatialIndex, parallel_chunk
from gridscan._kernels cimport EpsTable, Norm, larger, smaller, within
from gridscan._signals cimport POINTS_PER_POLL, check_signals, poll_signals
from gridscan._typedefs cimport intp_t


def evaluate_range_eps(const floating[:, ::1] X, intp_t range_feature,
                       const double[::1] base, const double[::1] power, double offset,
                       const double[::1] lo, const double[::1] hi, double[:, ::1] out,
                       int n_threads=1):
    """Fill out (OUT, (n, n_cols)); return the first row with an eps that is not
    finite and > 0 (its column in the second value), or (-1, -1)."""
    cdef intp_t n = X.shape[0], n_cols = out.shape[1], i, k
    cdef bint any_bad[1]
    cdef double r, v, r_power
    any_bad[0] = False
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0:
                poll_signals(i, POINTS_PER_POLL)
            r = X[i, range_feature] + offset
            r_power = _power(r, power[0])
            for k in range(n_cols):
                if k > 0 and power[k] != power[k - 1]:
                    # (Features of one power, the usual case, share one call to pow.)
                    r_power = _power(r, power[k])
                # A NaN power (r < 0) clips to lo, as fmax would (lo is never NaN).
                v = smaller(larger(base[k] * r_power, lo[k]), hi[k])
                out[i, k] = v
                if not (isfinite(v) and v > 0):
                    any_bad[0] = True
    if any_bad[0]:
        for i in range(n):
            for k in range(n_cols):
                if not (isfinite(out[i, k]) and out[i, k] > 0):
                    return i, k
    return -1, -1


cdef inline double _power(double r, double power) noexcept nogil:
    """r ** power, without a call to pow for the radar models' usual powers 0, 1 and -1."""
    if power == 0:
        return 1.0
    if power == 1:
        return r
    if power == -1:
        return 1.0 / r
    return pow(r, power)


def lattice_counts(SpatialIndex index, X, EpsRows eps, shape, out, int n_threads=1):
    """out[i] (OUT) = number of lattice points of the box [0, shape) in N(X[i]).

    X and eps (an EpsRows of ``index``) are in the same row order.  The index
    supplies the norm, and a LatticeIndex its stencils (``stencil_counts``):
    the rows they do not count are counted by ``box_counts``, which gives the
    same numbers.
    """
    shape = np.ascontiguousarray(shape, dtype=np.intp)
    if not isinstance(index, LatticeIndex):
        box_counts(index, X, eps, shape, out, n_threads)
        return
    rows = index.stencil_counts(X, eps, shape, out, n_threads)
    if rows.shape[0] == X.shape[0]:
        box_counts(index, X, eps, shape, out, n_threads)
    elif rows.shape[0] > 0:
        counts = np.empty(rows.shape[0])
        box_counts(index, take_rows(X, rows), eps.take(rows, index), shape, counts, n_threads)
        np.asarray(out)[rows] = counts


def box_counts(SpatialIndex index, const floating[:, ::1] X, EpsRows eps,
               const intp_t[::1] shape, double[::1] out, int n_threads):
    """out[i] (OUT) = number of lattice points of the box [0, shape) in N(X[i]), by
    scanning the rows of the integer box around X[i].

    X and eps are in the same row order; the index only supplies the norm.
    """
    cdef intp_t n = X.shape[0], d = X.shape[1], i, k, t
    cdef intp_t n_slots = max(n_threads, 1)
    cdef const EpsTable* e = &eps.table
    cdef double[:, ::1] centre = np.empty((n_slots, d))
    cdef double[:, ::1] z = np.empty((n_slots, d))
    cdef intp_t[:, ::1] lo = np.empty((n_slots, d), dtype=np.intp)
    cdef intp_t[:, ::1] hi = np.empty((n_slots, d), dtype=np.intp)
    with nogil:
        for i in prange(n, schedule="dynamic", chunksize=parallel_chunk(n, n_threads),
                        num_threads=n_threads):
            t = threadid()
            if t == 0:
                # Per point (the check reads a clock and acts every 20 ms): one
                # point's box may hold millions of rows.
                check_signals()
            for k in range(d):
                centre[t, k] = X[i, k]
            out[i] = _count_box(&centre[t, 0], e.values + i * e.row_stride, e.n_cols,
                                &index.norm, &shape[0], &z[t, 0], &lo[t, 0], &hi[t, 0])


cdef double _count_box(const double* x, const double* e, intp_t n_cols, const Norm* norm,
                       const intp_t* shape, double* z, intp_t* lo, intp_t* hi) noexcept nogil:
    """Count the lattice points in N(x): an odometer over the clipped integer box of the
    first d - 1 features, each row's run along the last one found by bisection."""
    cdef intp_t k, d = norm.n_features, m = d - 1
    cdef double count = 0.0, ek
    for k in range(d):
        # Every neighbour satisfies |z_k - x_k| <= e_k, feature by feature.
        ek = e[0 if n_cols == 1 else k]
        lo[k] = <intp_t> fmax(ceil(x[k] - ek), 0.0)
        hi[k] = <intp_t> fmin(floor(x[k] + ek), <double> (shape[k] - 1))
        if lo[k] > hi[k]:
            return 0.0
        z[k] = lo[k]
    while True:
        count += _row_count(x, e, n_cols, norm, z, m, lo[m], hi[m])
        k = 0
        while k < m:
            if z[k] < hi[k]:
                z[k] += 1.0
                break
            z[k] = lo[k]
            k += 1
        if k == m:
            return count


cdef double _row_count(const double* x, const double* e, intp_t n_cols, const Norm* norm,
                       double* z, intp_t m, intp_t lo, intp_t hi) noexcept nogil:
    """How many t in [lo, hi] put (z[0], ..., z[m - 1], t) in N(x).

    The kernel grows with |t - x[m]|: the t inside form one run around x[m],
    whose ends bisection finds on either side of it.
    """
    cdef intp_t first_right = <intp_t> ceil(x[m])
    cdef intp_t start = max(lo, first_right), stop = min(hi, first_right - 1)
    cdef double count = 0.0
    z[m] = start
    if start <= hi and within(x, <const double*> z, e, n_cols, norm):
        # Right of x[m]: start passes, hi + 1 is beyond.
        count += _last_inside(x, e, n_cols, norm, z, m, start, hi + 1) - start + 1
    z[m] = stop
    if lo <= stop and within(x, <const double*> z, e, n_cols, norm):
        # Left of x[m]: stop passes, lo - 1 is below.
        count += stop - _last_inside(x, e, n_cols, norm, z, m, stop, lo - 1) + 1
    return count


cdef intp_t _last_inside(const double* x, const double* e, intp_t n_cols, const Norm* norm,
                         double* z, intp_t m, intp_t inside, intp_t outside) noexcept nogil:
    """The last t from ``inside`` (passes) towards ``outside`` (fails, or out of range)
    with z[m] = t in N(x), by bisection; either direction."""
    cdef intp_t middle
    while inside - outside > 1 or outside - inside > 1:
        middle = inside + (outside - inside) // 2
        z[m] = middle
        if within(x, <const double*> z, e, n_cols, norm):
            inside = middle
        else:
            outside = middle
    return inside
