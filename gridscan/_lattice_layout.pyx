# How a LatticeIndex stores its points: the lattice box, the cell table and the
# sort of the points by cell.  No search here (see _lattice.pyx).
#
# Data layout.  The lattice is the box [origin, origin + shape) of integer
# cells, numbered in C order (the last feature varies fastest).  The points are
# sorted by cell number, so one cell, and a run of consecutive cells along the
# last feature, is one range of positions.  The points of cells first..last are
# found
#
#   dense   at cell_start[first] .. cell_start[last + 1] (prod(shape) + 1
#           entries), used unless that table would be much larger than the data;
#   sparse  by a binary search in pos_cell.
#
# pos_cell[pos] is the cell number of position pos and pos_last[pos] its
# coordinate along the last feature, counted from the origin.

import math

import numpy as np

from gridscan._arrays import take_rows

from libc.math cimport INFINITY, fabs
from libc.stdint cimport int64_t

from cython cimport floating

from gridscan._signals cimport POINTS_PER_POLL, poll_signals
from gridscan._typedefs cimport intp_t

# The dense cell table is used while it has at most this many cells, or
# DENSE_CELLS_PER_POINT per indexed point if that is more.
DENSE_MIN_CELLS = 1 << 21
DENSE_CELLS_PER_POINT = 8


def dense_table_fits(n_cells, n_points):
    """Whether a dense table over n_cells cells is kept for n_points points."""
    return n_cells <= max(DENSE_MIN_CELLS, DENSE_CELLS_PER_POINT * n_points)


def lattice_layout(X, bounds=None):
    """How a LatticeIndex would store X: "dense", "sparse", or None when X is not a lattice.

    X is on a lattice when every coordinate is an integer (as a float) and it
    has at most 16 features.  ``bounds`` gives the lattice [0, bounds) to use
    when it fits densely; otherwise the box spanned by the data is used.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or not 1 <= X.shape[1] <= MAX_DIMS:
        return None
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    bad, low, high = integer_extent(np.ascontiguousarray(X))
    if bad >= 0:
        return None
    _, shape = lattice_box(low, high, X.shape[0], bounds)
    n_cells = math.prod(int(s) for s in shape)
    if dense_table_fits(n_cells, X.shape[0]):
        return "dense"
    return "sparse" if n_cells < 2 ** 62 else None


def lattice_box(low, high, n_points, bounds):
    """(origin, shape) of the lattice: [0, bounds) when given and dense enough, else the
    box [low, high] spanned by the data."""
    if bounds is not None:
        shape = np.asarray(bounds, dtype=np.int64)
        if dense_table_fits(math.prod(int(s) for s in shape), n_points):
            return np.zeros_like(shape), shape
    return low, high - low + 1


def integer_extent(const floating[:, ::1] X):
    """One pass over X: (first row that is not an integer cell, else -1; low; high).

    A coordinate is an integer cell when it is finite, integral and below 2**52
    in magnitude.  low and high (int64, (d,)) are the column minima and maxima.
    """
    cdef intp_t n = X.shape[0], d = X.shape[1], i, k, bad = -1
    cdef double v
    cdef int64_t whole
    cdef double[::1] low = np.full(d, INFINITY)
    cdef double[::1] high = np.full(d, -INFINITY)
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            for k in range(d):
                v = X[i, k]
                # NaN fails the first test; below 2**52 the cast drops only the fraction.
                if not fabs(v) < 4503599627370496.0:
                    bad = i
                    break
                whole = <int64_t> v
                if <double> whole != v:
                    bad = i
                    break
                if v < low[k]:
                    low[k] = v
                if v > high[k]:
                    high[k] = v
            if bad >= 0:
                break
    if bad >= 0:
        return bad, None, None
    return bad, np.asarray(low).astype(np.int64), np.asarray(high).astype(np.int64)


def sort_by_cell(X, origin, shape, bint dense):
    """The points of X (integer cells of the lattice) sorted by cell, stably.

    Returns (order, points, pos_cell, pos_last, cell_start): ``points`` is
    ``X[order]`` (X itself when already sorted), ``pos_cell`` and
    ``pos_last`` are by position (see the layout above), and ``cell_start``
    is the dense table, or None for the sparse layout.
    """
    n, d = X.shape
    pos_cell = np.empty(n, dtype=np.int64)
    in_order = _cell_numbers(X, origin, shape, pos_cell)
    order = np.arange(n, dtype=np.intp)
    cell_start = None
    if dense:
        cell_start = np.zeros(math.prod(int(s) for s in shape) + 1, dtype=np.intp)
        _counting_sort(pos_cell, cell_start, order, in_order)
    elif not in_order:
        order = np.argsort(pos_cell, kind="stable").astype(np.intp, copy=False)
    if in_order:
        points = X
    else:
        pos_cell = pos_cell[order]
        points = take_rows(X, order)
    pos_last = np.empty(n, dtype=np.intp)
    _last_coordinates(points, origin[d - 1], pos_last)
    return order, points, pos_cell, pos_last, cell_start


def _cell_numbers(const floating[:, ::1] X, const int64_t[::1] origin,
                  const int64_t[::1] shape, int64_t[::1] out):
    """out[i] (OUT) = C-order number of the lattice cell of X[i]; returns whether they ascend."""
    cdef intp_t n = X.shape[0], d = X.shape[1], i, k
    cdef int64_t cell, previous = -1
    cdef bint ascending = True
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            cell = 0
            for k in range(d):
                cell = cell * shape[k] + (<int64_t> X[i, k] - origin[k])
            out[i] = cell
            if cell < previous:
                ascending = False
            previous = cell
    return ascending


# The lattice's sort, a counting sort, and the cell grid's (_grid._radix_sort)
# stay two: here the table of counts is the dense cell table the index keeps
# anyway, filled in one pass over the points, where the radix sort would take
# a pass per 12 bits of the cell numbers (two for most lattices) and one more
# to find where each cell starts; a grid's cell keys range over up to 2**56
# cells, too many for a table of counts.
def _counting_sort(const int64_t[::1] cells, intp_t[::1] cell_start, intp_t[::1] order,
                   bint in_order):
    """Stable sort of points by cell: cell_start (IN zeros / OUT) and, unless the cells
    already ascend, order (OUT)."""
    cdef intp_t n = cells.shape[0], n_cells = cell_start.shape[0] - 1, i, c, total = 0, count
    with nogil:
        for i in range(n):
            cell_start[cells[i] + 1] += 1
        for c in range(n_cells + 1):
            count = cell_start[c]
            cell_start[c] = total
            total += count
        # cell_start[c + 1] now counts the points placed in cell c so far.
        for i in range(n):
            c = cells[i]
            if not in_order:
                order[cell_start[c + 1]] = i
            cell_start[c + 1] += 1


def _last_coordinates(const floating[:, ::1] points, int64_t origin, intp_t[::1] out):
    """out[pos] (OUT) = lattice coordinate of points[pos] along the last feature."""
    cdef intp_t pos, m = points.shape[1] - 1
    with nogil:
        for pos in range(points.shape[0]):
            out[pos] = <intp_t> points[pos, m] - origin
