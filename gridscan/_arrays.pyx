# Array utilities shared by the indexes and the estimators: rows gathered in
# parallel (take_rows), the extent of every column (column_extent), and the
# distinct rows of a table (distinct_rows).  Nothing here knows about indexes,
# eps neighbourhoods or metrics.

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport uint64_t

from cython cimport floating

from gridscan._hashing cimport DoubleBits, mix_bits, same_values
from gridscan._signals cimport POINTS_PER_POLL, poll_signals
from gridscan._typedefs cimport intp_t, uint8_t

cdef enum:
    # Rows gathered by take_rows between two loop steps (a power of two).
    ROWS_PER_CHUNK = 4096

cdef enum:
    # Columns column_extent scans together.
    EXTENT_TILE = 8


def take_rows(array, rows, int n_threads=1):
    """array[rows] along the first axis (rows in range), gathered in parallel.

    Rows are copied as raw words (8 bytes, or single bytes when a row is not a
    whole number of them), so any dtype and any trailing shape will do.
    """
    array = np.ascontiguousarray(array)
    rows = np.ascontiguousarray(rows, dtype=np.intp)
    out = np.empty((rows.shape[0],) + array.shape[1:], dtype=array.dtype)
    if out.size > 0:
        word = np.uint64 if (out.size // rows.shape[0]) * out.itemsize % 8 == 0 else np.uint8
        _copy_rows(array.reshape(array.shape[0], -1).view(word), rows,
                   out.reshape(rows.shape[0], -1).view(word), n_threads)
    return out


ctypedef fused raw_word:
    uint8_t
    uint64_t


def _copy_rows(const raw_word[:, ::1] source, const intp_t[::1] rows, raw_word[:, ::1] out,
               int n_threads):
    """out[i] (OUT) = source[rows[i]]."""
    cdef intp_t m = rows.shape[0], width = source.shape[1]
    cdef intp_t n_chunks = (m + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK, chunk, i, k
    cdef const raw_word* row
    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=n_threads):
            if threadid() == 0:
                poll_signals(chunk, POINTS_PER_POLL // ROWS_PER_CHUNK)
            for i in range(chunk * ROWS_PER_CHUNK, min(m, (chunk + 1) * ROWS_PER_CHUNK)):
                row = &source[rows[i], 0]
                for k in range(width):
                    out[i, k] = row[k]


def column_extent(const floating[:, ::1] X):
    """(low, high): the smallest and largest value of every column of X (no NaN), as float64.

    One pass over the rows, where numpy's reductions along axis 0 of a narrow
    C-ordered array take several times as long.
    """
    cdef intp_t n = X.shape[0], d = X.shape[1], i, k, k0 = 0, width
    cdef double v
    # The extremes of up to EXTENT_TILE columns at a time, in locals rather than in
    # the output arrays (which the compiler must reload after every store): twice as fast.
    cdef double lo[EXTENT_TILE]
    cdef double hi[EXTENT_TILE]
    cdef double[::1] low = np.full(d, np.inf)
    cdef double[::1] high = np.full(d, -np.inf)
    cdef const floating* x
    with nogil:
        while k0 < d and n > 0:
            width = min(<intp_t> EXTENT_TILE, d - k0)
            for k in range(width):
                lo[k] = INFINITY
                hi[k] = -INFINITY
            x = &X[0, k0]
            for i in range(n):
                poll_signals(i, POINTS_PER_POLL)
                for k in range(width):
                    v = x[k]
                    lo[k] = v if v < lo[k] else lo[k]
                    hi[k] = v if v > hi[k] else hi[k]
                x = x + d
            for k in range(width):
                low[k0 + k] = lo[k]
                high[k0 + k] = hi[k]
            k0 += EXTENT_TILE
    return np.asarray(low), np.asarray(high)


cdef inline uint64_t _hash_values(const floating* x, intp_t d, uint64_t h) noexcept nogil:
    """h mixed with the values x[0..d-1] (0.0 and -0.0 alike: adding 0.0 makes -0.0 0.0)."""
    cdef DoubleBits word
    cdef intp_t k
    for k in range(d):
        word.value = <double> x[k] + 0.0
        h = mix_bits(h ^ word.bits)
    return h


def distinct_rows(const floating[:, ::1] X, const double[:, ::1] eps):
    """The distinct points of X: (first, group), both intp.

    Two rows are one point when their coordinates compare equal and, when
    ``eps`` has one row per point of X (else it is not read), so do their eps
    rows.  ``first[g]`` is the first row of point g, ascending (points are
    numbered in order of first occurrence); ``group[i]`` is the point of row i.
    One pass over the rows with an open-addressing hash table of 2 to 4 slots
    per row.
    """
    cdef intp_t n = X.shape[0], d = X.shape[1], cols = eps.shape[1], i, g, n_groups = 0
    cdef bint per_row = eps.shape[0] == n and n > 1
    cdef intp_t n_slots = 1
    while n_slots < 2 * n:
        n_slots *= 2
    cdef intp_t[::1] slots = np.full(n_slots, -1, dtype=np.intp)
    cdef intp_t[::1] group = np.empty(n, dtype=np.intp)
    cdef intp_t[::1] first = np.empty(n, dtype=np.intp)
    cdef uint64_t h, mask = n_slots - 1
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            h = _hash_values(&X[i, 0], d, <uint64_t> d)
            if per_row:
                h = _hash_values(&eps[i, 0], cols, h)
            h = h & mask
            while True:
                g = slots[h]
                if g < 0:
                    slots[h] = n_groups
                    first[n_groups] = i
                    group[i] = n_groups
                    n_groups += 1
                    break
                if same_values(&X[i, 0], &X[first[g], 0], d) and (
                        not per_row or same_values(&eps[i, 0], &eps[first[g], 0], cols)):
                    group[i] = g
                    break
                h = (h + 1) & mask
    return np.asarray(first)[:n_groups].copy(), np.asarray(group)
