# Cell grid (cell lists) for low-dimensional continuous data.
#
# Data layout.  Feature k is cut into cells of side cell_size[k] starting at
# origin[k]; a point's cell key is the row-major index of its cell coordinates,
# with the *row feature* (``along``) fastest.  Points are sorted by key (a radix
# sort), so every occupied cell u is one range of positions
# [cell_start[u], cell_start[u + 1]), and the occupied cells of one *row* (all
# coordinates but the row feature's fixed) are consecutive in ``cell_key``.  A
# row's cells are found through a dense table ``row_first_cell`` when the grid
# has few enough rows, else by binary search in ``cell_key``; within a row, by
# binary search on the row feature's coordinate.  The cells are the index's
# blocks, and every range it returns is one cell.
#
# REVERSE and UNION searches must reach every point whose own eps reaches the
# query.  Across rows the search box uses the largest eps of all points; along
# a row it uses the largest eps of that row's points (``row_reach``), so that an
# eps which varies with another feature (radar: azimuth eps with range) keeps
# the box narrow where the radii are small.
#
# Per occupied cell the grid keeps the bounding box of its points
# (cell_lo, cell_hi) and, once set_point_eps is called, the elementwise largest
# and smallest eps row of its points (cell_eps_max, cell_eps_min).  These make
# every cell test exact without any tolerance: the kernel is monotone in each
# coordinate difference and in each eps, so
#   - no point of the cell is a neighbour if the box corner nearest to the
#     query fails the kernel (with the largest eps, for REVERSE), and
#   - every point is a neighbour if the farthest corner passes it (with the
#     smallest eps, for REVERSE): the range is then flagged full.
#
# Cell tree.  With four features or more, the rows near a query are too many to
# visit one by one ((2k + 1)**(d - 1) of them for a reach of k cells, most of
# them empty).  The grid then also keeps a tree over its occupied cells
# (``tree_*``), built like the ball tree of _ball_tree.pyx: complete, in flat
# arrays (the children of node i are 2i + 1 and 2i + 2), each node split at the
# median of its cells' centres along the widest feature.  The cells (and their
# points) are then numbered in the tree's order, so node i owns the cells
# tree_start[i] .. tree_end[i] - 1 (``cell_key`` is then no longer sorted and
# the rows are not used).  Each node keeps the bounding box of its cells'
# points (tree_lo, tree_hi) and, after set_point_eps, the elementwise largest
# eps row of its points (tree_eps_max).  A search descends only into nodes
# whose box may hold a neighbour of the query box by the same monotone kernel
# test as a cell, so it visits the occupied cells near the query and few
# others, in any dimension; each cell found is then tested as above.
#
# Levels.  When the points' own eps spread widely along several features and
# grow and shrink together (a radar volume: horizontal and vertical radii
# growing with range, dense gates near the radar), one cell size is wrong
# almost everywhere: where the radii are small a cell holds many points, which
# are tested one by one, and where they are large a cell reaches hundreds of
# others.  Each point then has a cell level (``cell_level``, chosen by
# _index_choice.cell_levels from the crowding of its cell in the typical grid
# and the reach of its eps: a cost model): its cells are 2**level times
# cell_size wide, and the keys number the cells of each level after those of
# the levels below (_level_keys; 4-byte keys when they fit, as _cell_keys).
# Cells of different levels may overlap; the grid keeps the cell tree in any
# dimension, which takes cells of any size, and never uses rows
# (``levelled``).
#
# Pair lists.  prepare_searches finds every cell's candidate cells once for
# all the passes (_cell_pairs): each pair of cells is found from its lower
# cell and entered in both lists.  On rows, the cells of one row share the
# list of occupied rows near it (_near_rows) and walk each such row in order
# (_join_rows), instead of a span and a binary search per row and cell;
# through the tree, the cells of a leaf share one search for the leaf's box
# and largest eps (_leaf_pairs).  A cell whose eps is far larger than its
# leaf's others (a huge eps among small ones: a wide cell) searches on its
# own and finds its pairs with all the other cells, below it too; the other
# searches leave the wide cells out, else every leaf's search would reach
# every wide cell (the few huge eps reach all of them).

import numpy as np

from cython.parallel cimport prange, threadid

from gridscan._arrays import column_extent, take_rows

from libc.math cimport INFINITY, floor, fmax
from libc.stdint cimport int32_t, uint64_t
from libc.stdlib cimport calloc, free

from cython cimport floating

from gridscan._buffers cimport reserve
from gridscan._index cimport (
    EpsRows, Query, RangeList, SpatialIndex, Workspace, load_block_query, range_push,
)
from gridscan._kernels cimport (
    FORWARD, REVERSE, UNION, Direction, EpsTable, Norm, larger, smaller, within_offsets,
)
from gridscan._signals cimport (
    CELLS_PER_POLL, POINTS_PER_POLL, check_signals, poll_signals, raise_pending, signal_raised,
)
from gridscan._typedefs cimport int64_t, intp_t, uint8_t

# Cell keys: 4 bytes when the grid's keys fit, else 8 (_cell_keys, _radix_sort).
ctypedef fused cell_key_t:
    int32_t
    int64_t

# Features of a grid at most (search scratch arrays live on the stack).
cdef enum:
    MAX_DIMS = 8
MAX_FEATURES = MAX_DIMS

# Relative widening of the searched box: the kernel accepts a coordinate
# difference that exceeds eps by a few ulps at most.
cdef const double EXTENT_MARGIN = 1e-12

# Cells along a row are at most this many times finer or coarser than typical.
cdef const double MAX_ROW_SCALE = 16.0

# A cell of the cell tree whose largest eps exceeds this many times the least of
# its leaf's cells finds its pairs on its own (_leaf_pairs).
cdef const double WIDE_CELL_EPS = 4.0

# Flags of a pair of cells (u, c) in the pair lists (prepare_searches), seen
# from u: some point of c may lie in the neighbourhood of some point of u
# (FORWARD), every one does (FORWARD_FULL), and the same with the roles swapped
# (REVERSE, REVERSE_FULL).  A pair's flags are these ORed together, in a uint8_t.
cdef enum PairFlag:
    PAIR_FORWARD = 1
    PAIR_FORWARD_FULL = 2
    PAIR_REVERSE = 4
    PAIR_REVERSE_FULL = 8

# Bits of a radix sort digit at most (4096 counters per thread).
cdef enum:
    MAX_RADIX_BITS = 12

# The grid keeps a dense row -> first cell table up to this many rows per point.
DENSE_ROWS_PER_POINT = 4

# From this many features on, searches find their cells through the cell tree.
TREE_MIN_FEATURES = 4

cdef enum:
    # Cells in a leaf of the cell tree, at most.
    TREE_LEAF_CELLS = 8
    # Depth of the cell tree's search stack: enough for 2**62 cells.
    TREE_MAX_DEPTH = 64


cdef struct PairBuffer:
    # The pairs (u, c >= u) found from one slice of cells, in order of u:
    # cell[i] is c and flags[i] its PAIR_* flags seen from u.  The searches
    # that make the pair lists push here (see _test_cell), not to a RangeList,
    # whose full flags are plain booleans.
    intp_t* cell
    uint8_t* flags
    intp_t size
    intp_t capacity


cdef struct NearRow:
    # An occupied row near the row whose cells make their pair lists
    # (_near_rows): its coordinates (the row feature's unused), its cells
    # next .. end - 1 (next moving on as the row's cells are searched in
    # order), and how far along the row a pair of their cells may lie at most
    # (reach, the margin included).
    int64_t coord[MAX_DIMS]
    intp_t next
    intp_t end
    double reach
    double own_reach          # the same for this row's radii alone (0 when unused)


cdef struct NearRows:
    # The occupied rows from one row on that the cells of that row may reach
    # or be reached from (_near_rows).
    NearRow* row
    intp_t size
    intp_t capacity
    int64_t of_row            # the row they were found for (-1: none yet)
    bint too_many             # more rows in reach than occupied cells: search cell by cell


# Cells along one feature at most: a double numbers them exactly (with room
# for rows of MAX_ROW_SCALE times finer cells), so that the cell of a
# coordinate and its clipping to the grid are exact.
MAX_CELLS_PER_FEATURE = 2.0 ** 48

# Cells of the whole grid at most: their row-major keys stay inside int64 (with
# the same room).
MAX_CELLS = 2.0 ** 56


def numbered_cells(low, high, size):
    """(cell sides, cells along each feature) for a grid over the box [low, high].

    The sides are ``size`` where the grid can number its cells exactly (see
    MAX_CELLS_PER_FEATURE and MAX_CELLS), else doubled until it can: coarser
    cells are slower, never wrong.  The shape is int64.
    """
    size = np.array(size, dtype=np.float64)
    with np.errstate(over="ignore"):
        while True:
            shape = np.floor((high - low) / size) + 1
            too_fine = shape > MAX_CELLS_PER_FEATURE
            if not too_fine.any() and np.prod(shape) <= MAX_CELLS:
                return size, shape.astype(np.int64)
            size = np.where(too_fine | (np.prod(shape) > MAX_CELLS), size * 2, size)


def _row_strides(shape, along):
    """(strides, rows): row-major strides of the rows of a grid of ``shape`` cells, whose
    rows run along feature ``along`` (its stride 0), and the number of rows."""
    strides = np.zeros(len(shape), dtype=np.int64)
    rows = 1
    for k in range(len(shape) - 1, -1, -1):
        if k != along:
            strides[k] = rows
            rows *= int(shape[k])
    return strides, rows


# occupied_cells marks the cells in a bitmap, one pass and no sort, while the grid
# has at most this many cells per point (a bit each: the bitmap is then no larger
# than the keys the sort would take); beyond it the keys are sorted.
OCCUPANCY_BITS_PER_POINT = 64


def occupied_cells(X, cell_size, intp_t feature, int n_threads=1, extent=None):
    """(cells, columns): the occupied cells of a grid over X with sides ``cell_size``
    (as numbered_cells makes them), and how many of them remain when the cells
    that differ only along ``feature`` count as one.  ``extent`` is X's
    column_extent when known."""
    X = np.ascontiguousarray(X)
    low, high = column_extent(X) if extent is None else extent
    size, shape = numbered_cells(low, high, np.asarray(cell_size, dtype=np.float64))
    row_strides, n_rows = _row_strides(shape, feature)
    row_length = int(shape[feature])
    n_keys = n_rows * row_length
    keys = np.empty(X.shape[0], dtype=np.int32 if n_keys - 1 < 2 ** 31 else np.int64)
    _cell_keys(X, low, 1.0 / size, shape, row_strides, feature,
               np.array([1.0 / size[feature]]), shape[feature:feature + 1], row_length, keys,
               n_threads)
    if n_keys <= OCCUPANCY_BITS_PER_POINT * max(X.shape[0], 1):
        cells = np.zeros((n_keys + 63) // 64, dtype=np.uint64)
        columns = np.zeros((n_rows + 63) // 64, dtype=np.uint64)
        return _mark_cells(keys, row_length, cells, columns)
    keys = _radix_sort(keys, n_keys - 1, n_threads, overwrite_keys=True)[1]
    columns = keys // row_length
    return (int(np.count_nonzero(keys[1:] != keys[:-1])) + 1,
            int(np.count_nonzero(columns[1:] != columns[:-1])) + 1)


def _mark_cells(const cell_key_t[::1] keys, int64_t row_length, uint64_t[::1] cells,
                uint64_t[::1] columns):
    """(distinct keys, distinct keys // row_length), marking them (OUT) in the zeroed
    bitmaps ``cells`` and ``columns``."""
    cdef intp_t i, n = keys.shape[0]
    cdef int64_t key, column
    cdef uint64_t bit
    cdef intp_t n_cells = 0, n_columns = 0
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            key = keys[i]
            bit = (<uint64_t> 1) << (key & 63)
            if not cells[key >> 6] & bit:
                cells[key >> 6] |= bit
                n_cells += 1
                column = key // row_length
                bit = (<uint64_t> 1) << (column & 63)
                if not columns[column >> 6] & bit:
                    columns[column >> 6] |= bit
                    n_columns += 1
    return n_cells, n_columns


cdef class CellGrid(SpatialIndex):
    """Cell lists over a regular grid, for low-dimensional data (``algorithm="grid"``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
        Points to index.
    cell_size : array-like of shape (n_features,)
        Side of a cell along each feature (positive).
    metric : str
        Compiled metric name (see BallTree).
    p : float
        Minkowski power.
    window : ndarray of shape (n_features,), uint8
        Window-feature mask.
    row_feature : int, default=None
        The feature whose cells follow each other in memory (None: the last);
        best the one whose eps varies most.
    row_scale : ndarray of shape (n_samples,), default=None
        Each point's eps along the row feature relative to the typical one:
        cells along a row are then cell_size[row_feature] times the row's mean
        scale wide (within a factor of 16 either way).
    """

    cdef readonly object cell_size        # (d,) float64
    cdef readonly object origin           # (d,) float64
    cdef readonly object shape            # (d,) int64 cells along each feature
    cdef readonly intp_t n_cells          # occupied cells
    cdef readonly bint levelled           # cells sized to their points' eps (cell_level)
    cdef int64_t[::1] strides             # row-major key strides
    cdef double[::1] inv_size
    cdef double[::1] orig
    cdef int64_t[::1] dims
    cdef readonly intp_t along            # the row feature: key stride 1
    cdef int64_t row_length               # most cells along the row feature in a row
    cdef double[::1] row_inv_size         # (n_rows,) or (1,): 1 / cell width along a row
    cdef int64_t[::1] row_cells           # (n_rows,) or (1,): cells along a row
    cdef int64_t[::1] cell_key            # (n_cells,) sorted keys of occupied cells
    cdef intp_t[::1] cell_start           # (n_cells + 1,)
    cdef intp_t[::1] row_first_cell       # (n_rows + 1,) or empty: search cell_key
    cdef double[:, ::1] cell_lo
    cdef double[:, ::1] cell_hi
    cdef double[:, ::1] cell_eps_max      # (n_cells, eps_cols), after set_point_eps
    cdef double[:, ::1] cell_eps_min
    cdef double[::1] eps_reach_max        # (d,) largest |dx_k| a point's eps allows
    cdef double[::1] row_reach            # (n_rows,) the same along each row, or empty
    cdef intp_t eps_cols
    # The candidate cells of every cell (prepare_searches): cells
    # pair_cell[pair_start[u]:pair_start[u + 1]] with PAIR_* flags, found with
    # the cells' eps bounds pair_eps_max/min (one row when eps is shared).
    cdef object pair_eps                  # the EpsRows they were made for
    cdef object bounds_eps                # the EpsRows of cell_eps_max/min when unmasked
    cdef double[:, ::1] pair_eps_max
    cdef double[:, ::1] pair_eps_min
    cdef intp_t[::1] pair_start
    cdef intp_t[::1] pair_cell
    cdef uint8_t[::1] pair_flags
    # The cell tree (see the top of this file); tree_nodes is 0 when searches walk rows.
    cdef readonly intp_t tree_nodes
    cdef intp_t[::1] tree_start           # node i holds the cells tree_start[i]..tree_end[i]-1
    cdef intp_t[::1] tree_end
    cdef double[:, ::1] tree_lo
    cdef double[:, ::1] tree_hi
    cdef double[:, ::1] tree_eps_max
    # UNION pair lists through the tree (_cell_pairs): which cells are wide
    # (_mark_wide_cells), and each node's largest eps row over its other cells.
    cdef uint8_t[::1] pair_wide
    cdef double[:, ::1] pair_tree_eps

    def __init__(self, X, cell_size, metric="euclidean", double p=2.0, window=None,
                 row_feature=None, row_scale=None, cell_level=None, int n_threads=1):
        X = np.ascontiguousarray(X)
        n, d = X.shape
        if d > MAX_DIMS:
            raise ValueError(f"algorithm='grid' handles at most {MAX_DIMS} features; "
                             f"got {d} (use 'ball_tree')")
        size = np.ascontiguousarray(cell_size, dtype=np.float64).reshape(d)
        low, high = column_extent(X)
        along = d - 1 if row_feature is None else int(row_feature)
        size, shape = numbered_cells(low, high, size)
        self.cell_size = size
        self.origin = low
        self.inv_size = 1.0 / size
        self.orig = low
        self.along = along
        n_rows = int(np.prod(np.delete(shape, along).astype(object)))
        dense_rows = n_rows <= DENSE_ROWS_PER_POINT * n + 1024 and cell_level is None
        row_strides, _ = _row_strides(shape, along)
        # Cells along a row are sized to that row's own typical eps.
        row_inv = np.array([1.0 / size[along]])
        if row_scale is not None and dense_rows:
            mean = np.zeros(n_rows)
            _row_means(X, self.orig, self.inv_size, shape, row_strides, along,
                       np.ascontiguousarray(row_scale, dtype=np.float64), mean)
            row_inv = 1.0 / (size[along] * np.clip(mean, 1.0 / MAX_ROW_SCALE, MAX_ROW_SCALE))
        self.row_inv_size = row_inv
        self.row_cells = (np.floor((high[along] - low[along]) * row_inv) + 1).astype(np.int64)
        self.row_length = int(np.max(self.row_cells))
        shape[along] = self.row_length
        self.shape = shape
        self.dims = shape
        self.strides = np.where(np.arange(d) == along, 1, row_strides * self.row_length)
        if cell_level is None:
            n_keys = n_rows * self.row_length
            keys = np.empty(n, dtype=np.int32 if n_keys - 1 < 2 ** 31 else np.int64)
            _cell_keys(X, self.orig, self.inv_size, shape, row_strides, along,
                       self.row_inv_size, self.row_cells, self.row_length, keys, n_threads)
        else:
            keys, n_keys = _level_keys(X, low, high, size, cell_level, n_threads)
        self.levelled = cell_level is not None
        order, keys = _radix_sort(keys, n_keys - 1, n_threads, overwrite_keys=True)
        new_cell = np.empty(n + 1, dtype=bool)
        new_cell[0] = new_cell[n] = True
        np.not_equal(keys[1:], keys[:n - 1], out=new_cell[1:n])
        self.cell_start = np.flatnonzero(new_cell)
        del new_cell
        self.cell_key = keys[self.cell_start[:len(self.cell_start) - 1]].astype(np.int64)
        del keys    # before the points are copied: the grid's build peaks there
        self.n_cells = self.cell_key.shape[0]
        if dense_rows:
            self.row_first_cell = np.searchsorted(
                np.asarray(self.cell_key) // self.row_length,
                np.arange(n_rows + 1)).astype(np.intp)
        else:
            self.row_first_cell = np.empty(0, dtype=np.intp)
        points = take_rows(X, order, n_threads)
        self.cell_lo = np.empty((self.n_cells, d))
        self.cell_hi = np.empty((self.n_cells, d))
        _cell_boxes(points, self.cell_start, self.cell_lo, self.cell_hi, n_threads)
        self.tree_nodes = 0
        if (d >= TREE_MIN_FEATURES and self.n_cells > TREE_LEAF_CELLS
                or cell_level is not None):
            # Cells (and their points) renumbered in the tree's order: a node's
            # cells are then one range, near cells near in memory.
            tree_order = _build_cell_tree(self, n_threads)
            lengths = np.diff(np.asarray(self.cell_start))[tree_order]
            cell_start = np.zeros(self.n_cells + 1, dtype=np.intp)
            np.cumsum(lengths, out=cell_start[1:])
            moved = np.repeat(np.asarray(self.cell_start)[tree_order] - cell_start[:-1], lengths)
            order = take_rows(order, moved + np.arange(n, dtype=np.intp), n_threads)
            points = take_rows(X, order, n_threads)
            self.cell_start = cell_start
            self.cell_key = take_rows(self.cell_key, tree_order)
            self.cell_lo = take_rows(self.cell_lo, tree_order, n_threads)
            self.cell_hi = take_rows(self.cell_hi, tree_order, n_threads)
            self.row_first_cell = np.empty(0, dtype=np.intp)
        if window is None:
            window = np.zeros(d, dtype=np.uint8)
        self._setup(points, order, metric, p, window)
        self.reads_eps_bounds = False
        self.blocks = np.asarray(self.cell_start)
        self.eps_cols = 0
        self.pair_start = np.empty(0, dtype=np.intp)

    def _set_point_eps(self, EpsRows eps, mask, int n_threads):
        """Elementwise largest and smallest eps row of every cell (masked points left out).

        The bounds only narrow searches.  Those of all points are kept when
        already in place: for these rows unmasked, and for a mask too when the
        cells' pair lists were made with these rows (the searches from the
        grid's own cells read the lists, which the bounds do not change).
        """
        if eps is not self.pair_eps:
            # The pair lists hold these bounds' cells: made for other rows, they go.
            self.pair_start = np.empty(0, dtype=np.intp)
            self.search_eps = None
        if eps is self.bounds_eps and (mask is None or self.pair_start.shape[0] > 0):
            return
        self.bounds_eps = eps if mask is None else None
        cols = eps.table.n_cols
        self.eps_cols = cols
        self.cell_eps_max = np.zeros((self.n_cells, cols))
        self.cell_eps_min = np.full((self.n_cells, cols), np.inf)
        self.eps_reach_max = np.zeros(self.norm.n_features)
        self.row_reach = np.zeros(self.row_first_cell.shape[0])
        keep = np.ones(self.n_points, dtype=np.uint8) if mask is None \
            else np.ascontiguousarray(mask, dtype=np.uint8)
        _cell_eps_bounds(self, eps, keep, n_threads)
        if self.tree_nodes > 0:
            self.tree_eps_max = np.zeros((self.tree_nodes, cols))
            _tree_eps_bounds(self)

    def _prepare_searches(self, EpsRows eps, int n_threads):
        """Find every cell's candidate cells once, for all the passes to reuse.

        For each pair of cells that may hold a pair of neighbours, the flags
        say in which direction (a point of one in the neighbourhood of a point
        of the other) and whether all such pairs are neighbours.  Each pair of
        cells is found once, from the lower cell, and entered in both lists.
        Searches of some points of one cell with these eps rows then read the
        cell's list instead of scanning the grid.
        """
        # With periodic features the lists hold the pairs in plain geometry: complete for
        # a cell whose search needs no image across a seam (SpatialIndex.search), and
        # the plain part of the candidates of one that does.
        if eps.shared:
            # Every cell has the one row: no per-cell bounds are needed.
            self.pair_eps_max = np.array(eps.values)
            self.pair_eps_min = self.pair_eps_max
        else:
            # set_point_eps makes new bound arrays each time, so these stay as they are.
            self.set_point_eps(eps, n_threads=n_threads)
            self.pair_eps_max = self.cell_eps_max
            self.pair_eps_min = self.cell_eps_min
        self.pair_eps = eps
        self.pair_start, self.pair_cell, self.pair_flags = _cell_pairs(
            self, self.points, eps, n_threads)

    cdef int candidates(self, const Query* q, Direction mode, RangeList* out) noexcept nogil:
        cdef intp_t i, u, size
        cdef intp_t first = 0, end = 0
        cdef uint8_t hit, full, flags
        cdef const uint8_t* pair_flags
        cdef const intp_t* pair_cell
        cdef const intp_t* cell_start
        if q.block < 0 or not self._uses_pair_list(q, mode):
            return self._collect(q, mode, 0, out, NULL)
        hit = PAIR_FORWARD if mode == FORWARD else (
            PAIR_REVERSE if mode == REVERSE else PAIR_FORWARD | PAIR_REVERSE)
        full = PAIR_FORWARD_FULL if mode == FORWARD else (
            PAIR_REVERSE_FULL if mode == REVERSE else PAIR_FORWARD_FULL | PAIR_REVERSE_FULL)
        first = self.pair_start[q.block]
        end = self.pair_start[q.block + 1]
        if out.capacity - out.size < end - first:
            for i in range(first, end):
                flags = self.pair_flags[i]
                if flags & hit:
                    u = self.pair_cell[i]
                    if range_push(out, self.cell_start[u], self.cell_start[u + 1],
                                  (flags & full) != 0, u) < 0:
                        return -1
            return 0
        # Room for the whole list (the usual case once the list has grown): written in
        # place, through local pointers, instead of a call per pair.
        pair_flags = &self.pair_flags[0]
        pair_cell = &self.pair_cell[0]
        cell_start = &self.cell_start[0]
        size = out.size
        for i in range(first, end):
            flags = pair_flags[i]
            if flags & hit:
                u = pair_cell[i]
                out.start[size] = cell_start[u]
                out.end[size] = cell_start[u + 1]
                out.full[size] = (flags & full) != 0
                out.block[size] = u
                size += 1
        out.size = size
        return 0

    cdef bint _uses_pair_list(self, const Query* q, Direction mode) noexcept nogil:
        """Whether the prepared lists answer q: its eps lie within its cell's bounds."""
        cdef intp_t k, row
        if self.pair_start.shape[0] == 0:
            return False
        if mode == REVERSE:
            return True
        if q.eps_cols != self.pair_eps_max.shape[1]:
            return False
        row = q.block if self.pair_eps_max.shape[0] > 1 else 0
        for k in range(q.eps_cols):
            if (q.eps_max[k] > self.pair_eps_max[row, k]
                    or q.eps_min[k] < self.pair_eps_min[row, k]):
                return False
        return True

    cdef int _collect(self, const Query* q, Direction mode, intp_t first_cell,
                      RangeList* out, PairBuffer* pairs) noexcept nogil:
        """Push every candidate cell u >= first_cell of the search q (see _test_cell)."""
        cdef intp_t d = self.norm.n_features, k
        cdef int64_t lo[MAX_DIMS]
        cdef int64_t hi[MAX_DIMS]
        cdef int64_t cell[MAX_DIMS]
        cdef double n_rows = 1.0
        cdef intp_t u
        if self.tree_nodes > 0:
            return self._collect_tree(q, mode, first_cell, self.n_cells, False, out, pairs)
        for k in range(d):
            lo[k] = 0
            hi[k] = 0
            if k != self.along and not self._cell_span(q, k, self._extent(q, mode, k),
                                                       &lo[k], &hi[k]):
                return 0
            cell[k] = lo[k]
            n_rows = n_rows * <double> (hi[k] - lo[k] + 1)
        if n_rows > self.n_cells:
            # More rows in the box than occupied cells (many features): test every cell.
            for u in range(first_cell, self.n_cells):
                if self._test_cell(q, mode, u, out, pairs) < 0:
                    return -1
            return 0
        # Odometer over the coordinates but the row feature's; that one runs along a row.
        while True:
            if self._scan_row(q, mode, cell, first_cell, out, pairs) < 0:
                return -1
            if not _next_cell(cell, lo, hi, d, self.along):
                return 0

    cdef int _collect_tree(self, const Query* q, Direction mode, intp_t first_cell,
                           intp_t end_cell, bint narrow, RangeList* out,
                           PairBuffer* pairs) noexcept nogil:
        """_collect through the cell tree: descend into the nodes that may hold a candidate.

        A node is skipped when the gap between its box and the query box fails
        the kernel with the query's largest eps (FORWARD) and with the largest
        eps of the node's points (REVERSE), or when all its cells lie outside
        first_cell .. end_cell - 1.  Cells are pushed in ascending order.
        With ``narrow`` (pair lists, UNION) only the cells that are not wide
        are searched, with their own bounds (pair_wide, pair_tree_eps).
        """
        cdef intp_t stack[TREE_MAX_DEPTH]
        cdef double near[MAX_DIMS]
        cdef intp_t top = 0, node, u, d = self.norm.n_features
        cdef intp_t first_leaf = self.tree_nodes // 2
        cdef bint reached
        cdef double reach
        stack[0] = 0
        top = 1
        while top > 0:
            top -= 1
            node = stack[top]
            if self.tree_end[node] <= first_cell or (end_cell < self.n_cells
                                                     and self.tree_start[node] >= end_cell):
                continue
            _near_gaps(q.lo, q.hi, &self.tree_lo[node, 0], &self.tree_hi[node, 0], d, near)
            if (mode == UNION or pairs != NULL) and q.eps_cols == 1 and self.eps_cols == 1:
                # One radius per point: either direction reaches exactly when the larger does.
                reach = larger(q.eps_max[0], self._node_eps(node, narrow)[0])
                reached = within_offsets(near, &reach, 1, &self.norm)
            else:
                reached = mode != REVERSE and within_offsets(near, q.eps_max, q.eps_cols,
                                                             &self.norm)
                if not reached and (mode != FORWARD or pairs != NULL):
                    reached = within_offsets(near, self._node_eps(node, narrow), self.eps_cols,
                                             &self.norm)
            if not reached:
                continue
            if node >= first_leaf:
                for u in range(max(self.tree_start[node], first_cell),
                               min(self.tree_end[node], end_cell)):
                    if narrow and self.pair_wide[u]:
                        continue
                    if self._test_cell(q, mode, u, out, pairs) < 0:
                        return -1
            else:
                # The right child first, so that the left one is searched first.
                stack[top] = 2 * node + 2
                stack[top + 1] = 2 * node + 1
                top += 2
        return 0

    cdef inline const double* _node_eps(self, intp_t node, bint narrow) noexcept nogil:
        """The largest eps row of node's points (of its narrow cells: pair_tree_eps)."""
        return &self.pair_tree_eps[node, 0] if narrow else &self.tree_eps_max[node, 0]

    cdef inline void _cell_query(self, intp_t u, intp_t e_row, Query* q) noexcept nogil:
        """q (OUT): the box of cell u's points with the pair-list eps row e_row."""
        q.lo = &self.cell_lo[u, 0]
        q.hi = &self.cell_hi[u, 0]
        q.eps_max = &self.pair_eps_max[e_row, 0]
        q.eps_min = &self.pair_eps_min[e_row, 0]
        q.eps_cols = self.pair_eps_max.shape[1]
        q.block = u

    cdef int _leaf_pairs(self, intp_t u, Direction mode, intp_t* leaf, RangeList* near_cells,
                         RangeList* out, PairBuffer* pairs) noexcept nogil:
        """The pairs of cell u and the cells c >= u (to out or pairs, as _collect's search
        in mode from all of u's points would give them) through the cell tree.

        The tree is searched once per leaf (IN/OUT: leaf, the leaf of the cells
        searched last, -1 at first), for the box and the largest eps of its
        cells: each of them then tests only the cells found (near_cells).  A
        UNION search reaches only the nodes whose own largest eps reach it.
        A wide cell (pair_wide: a point of huge eps among small ones, a
        coarser level beside finer ones) searches the tree on its own and
        finds its pairs with all the other cells, below it too: the leaves'
        searches leave the wide cells out (_collect_tree's ``narrow``), which
        would otherwise reach as far for every cell of the leaf, and every
        leaf's search would reach every wide cell.
        """
        cdef intp_t i, c, k, e_row = 0 if mode == FORWARD else u
        cdef intp_t d = self.norm.n_features, cols = self.pair_eps_max.shape[1]
        cdef double box_lo[MAX_DIMS]
        cdef double box_hi[MAX_DIMS]
        cdef double eps_max[MAX_DIMS]
        cdef bint any_narrow = False
        cdef Query q
        if leaf[0] < 0 or u >= self.tree_end[leaf[0]]:
            if leaf[0] < 0:
                leaf[0] = self.tree_nodes // 2
            while self.tree_end[leaf[0]] <= u:
                leaf[0] += 1
            near_cells.size = 0
            for k in range(d):
                box_lo[k] = INFINITY
                box_hi[k] = -INFINITY
            for k in range(cols):
                eps_max[k] = 0.0
            for c in range(self.tree_start[leaf[0]], self.tree_end[leaf[0]]):
                if mode != FORWARD and self.pair_wide[c]:
                    continue
                any_narrow = True
                for k in range(d):
                    box_lo[k] = smaller(box_lo[k], self.cell_lo[c, k])
                    box_hi[k] = larger(box_hi[k], self.cell_hi[c, k])
                for k in range(cols):
                    eps_max[k] = larger(eps_max[k], self.pair_eps_max[0 if mode == FORWARD
                                                                      else c, k])
            if any_narrow:
                q.lo = box_lo
                q.hi = box_hi
                q.eps_max = eps_max
                q.eps_min = eps_max
                q.eps_cols = cols
                q.block = -1
                q.settled = NULL
                if self._collect_tree(&q, mode, self.tree_start[leaf[0]], self.n_cells,
                                      mode != FORWARD, near_cells, NULL) < 0:
                    return -1
        self._cell_query(u, e_row, &q)
        q.settled = NULL
        if mode != FORWARD and self.pair_wide[u]:
            # The other cells below u, then every cell from u on: in ascending order.
            if self._collect_tree(&q, mode, 0, u, True, out, pairs) < 0:
                return -1
            return self._collect_tree(&q, mode, u, self.n_cells, False, out, pairs)
        for i in range(near_cells.size):
            c = near_cells.block[i]
            if c >= u and self._test_cell(&q, mode, c, out, pairs) < 0:
                return -1
        return 0

    cdef int _near_rows(self, intp_t u, Direction mode, NearRows* rows) noexcept nogil:
        """The occupied rows from u's row on (OUT: rows) that may hold a cell paired with
        a cell of u's row, for searches in mode (FORWARD: a shared eps, or UNION).

        The rows near the box of the row's cells, by their largest eps and (for
        UNION) the largest eps of all points across rows, as _collect's spans.
        -1 when memory runs out.
        """
        cdef intp_t d = self.norm.n_features, a = self.along, k, first, end, c, e_row
        cdef intp_t cols = self.pair_eps_max.shape[1]
        cdef int64_t row = self.cell_key[u] // self.row_length, near_row
        cdef int64_t lo[MAX_DIMS]
        cdef int64_t hi[MAX_DIMS]
        cdef int64_t cell[MAX_DIMS]
        cdef double box_lo[MAX_DIMS]
        cdef double box_hi[MAX_DIMS]
        cdef double eps_max[MAX_DIMS]
        cdef double n_rows = 1.0, own_reach, row_reach
        cdef Query q
        cdef NearRow* near
        cdef intp_t capacity
        rows.size = 0
        rows.of_row = row
        rows.too_many = False
        self._row_cells(row, &first, &end)
        for k in range(d):
            box_lo[k] = INFINITY
            box_hi[k] = -INFINITY
        for k in range(cols):
            eps_max[k] = 0.0
        for c in range(first, end):
            for k in range(d):
                box_lo[k] = smaller(box_lo[k], self.cell_lo[c, k])
                box_hi[k] = larger(box_hi[k], self.cell_hi[c, k])
            e_row = 0 if mode == FORWARD else c
            for k in range(cols):
                eps_max[k] = larger(eps_max[k], self.pair_eps_max[e_row, k])
        q.lo = box_lo
        q.hi = box_hi
        q.eps_max = eps_max
        q.eps_cols = cols
        own_reach = eps_max[0 if cols == 1 else a]
        for k in range(d):
            lo[k] = 0
            hi[k] = 0
            if k != a and not self._cell_span(&q, k, self._extent(&q, mode, k), &lo[k], &hi[k]):
                return 0
            cell[k] = lo[k]
            n_rows = n_rows * <double> (hi[k] - lo[k] + 1)
        if n_rows > self.n_cells:
            rows.too_many = True
            return 0
        # Odometer over the coordinates but the row feature's: rows in ascending order.
        while True:
            near_row = 0
            for k in range(d):
                if k != a:
                    near_row += cell[k] * self.strides[k]
            near_row = near_row // self.row_length
            if near_row >= row:
                self._row_cells(near_row, &first, &end)
                if first < end:
                    if rows.size == rows.capacity:
                        capacity = reserve(<void**> &rows.row, rows.capacity, rows.size + 1,
                                           sizeof(NearRow))
                        if capacity < 0:
                            return -1
                        rows.capacity = capacity
                    near = &rows.row[rows.size]
                    for k in range(d):
                        near.coord[k] = cell[k]
                    near.next = first
                    near.end = end
                    # With UNION, the radii of the near row's own cells reach back.
                    row_reach = 0.0
                    if mode != FORWARD:
                        row_reach = self.row_reach[near_row] if self.row_reach.shape[0] > 0 \
                            else self.eps_reach_max[a]
                    near.own_reach = row_reach
                    near.reach = larger(own_reach, row_reach) * (1.0 + EXTENT_MARGIN)
                    rows.size += 1
            if not _next_cell(cell, lo, hi, d, a):
                return 0

    cdef inline void _row_cells(self, int64_t row, intp_t* first, intp_t* end) noexcept nogil:
        """The cells first .. end - 1 (OUT) of a row."""
        if self.row_first_cell.shape[0] > 0:
            first[0] = self.row_first_cell[row]
            end[0] = self.row_first_cell[row + 1]
        else:
            first[0] = self._first_cell_at_or_after(row * self.row_length, 0, self.n_cells)
            end[0] = self._first_cell_at_or_after((row + 1) * self.row_length, first[0],
                                                  self.n_cells)

    cdef int _join_rows(self, intp_t u, Direction mode, NearRows* rows, RangeList* out,
                        PairBuffer* pairs) noexcept nogil:
        """The pairs of cell u and the cells c >= u (to out or pairs, as _collect's search
        in mode from all of u's points would give them), from the rows near u's row
        (_near_rows).

        The cells of u's row are searched in order, so the cells of a near row
        that lie wholly before the row's reach from u stay behind for the next
        cells of the row too.
        """
        cdef intp_t d = self.norm.n_features, a = self.along, k, r, c
        cdef intp_t e_row = 0 if mode == FORWARD else u
        cdef int64_t lo[MAX_DIMS]
        cdef int64_t hi[MAX_DIMS]
        cdef double own_reach, extent
        cdef NearRow* near
        cdef bint inside
        cdef Query q
        self._cell_query(u, e_row, &q)
        for k in range(d):
            lo[k] = 0
            hi[k] = 0
            if k != a and not self._cell_span(&q, k, self._extent(&q, mode, k), &lo[k], &hi[k]):
                return 0
        own_reach = q.eps_max[0 if q.eps_cols == 1 else a]
        for r in range(rows.size):
            near = &rows.row[r]
            inside = True
            for k in range(d):
                if k != a and (near.coord[k] < lo[k] or near.coord[k] > hi[k]):
                    inside = False
            if not inside:
                continue
            c = near.next
            while c < near.end and self.cell_lo[u, a] - self.cell_hi[c, a] > near.reach:
                c += 1
            near.next = c
            c = max(c, u)
            extent = larger(own_reach, near.own_reach) * (1.0 + EXTENT_MARGIN)
            while c < near.end and self.cell_lo[c, a] - self.cell_hi[u, a] <= extent:
                if self._test_cell(&q, mode, c, out, pairs) < 0:
                    return -1
                c += 1
        return 0

    cdef inline double _extent(self, const Query* q, Direction mode, intp_t k) noexcept nogil:
        """How far from the query box a neighbour can lie along feature k.

        Every neighbour lies within its eps of a query point along each feature
        (up to the rounding of the kernel's arithmetic: the margin).
        """
        cdef double extent = 0.0
        if mode != REVERSE:
            extent = q.eps_max[0 if q.eps_cols == 1 else k]
        if mode != FORWARD:
            extent = fmax(extent, self.eps_reach_max[k])
        return extent * (1.0 + EXTENT_MARGIN)

    cdef inline bint _cell_span(self, const Query* q, intp_t k, double extent,
                                int64_t* lo, int64_t* hi) noexcept nogil:
        """Cell coordinates (OUT) along feature k (not the row feature) near the query box."""
        lo[0] = self._coordinate(q.lo[k] - extent, k, self.inv_size[k], self.dims[k])
        hi[0] = self._coordinate(q.hi[k] + extent, k, self.inv_size[k], self.dims[k])
        return _clip_span(lo, hi, self.dims[k])

    cdef inline int64_t _coordinate(self, double x, intp_t k, double inv_size,
                                    int64_t n) noexcept nogil:
        """Cell coordinate of x along feature k; -1 below the grid, n above it."""
        cdef double c = floor((x - self.orig[k]) * inv_size)
        if c < 0:
            return -1
        if c >= n:
            return n
        return <int64_t> c

    cdef int _scan_row(self, const Query* q, Direction mode, const int64_t* cell,
                       intp_t first_cell, RangeList* out, PairBuffer* pairs) noexcept nogil:
        """Test the occupied cells of one row that lie near the query along the row."""
        cdef intp_t d = self.norm.n_features, k, u, stop
        cdef intp_t a = self.along
        cdef double extent = 0.0
        cdef int64_t row = 0, row_lo, row_hi, n_along
        cdef double inv_size
        for k in range(d):
            if k != a:
                row += cell[k] * self.strides[k]
        row = row // self.row_length
        if mode != REVERSE:
            extent = q.eps_max[0 if q.eps_cols == 1 else a]
        if self.row_first_cell.shape[0] > 0:
            u = self.row_first_cell[row]
            stop = self.row_first_cell[row + 1]
            if stop <= max(u, first_cell):
                return 0
            if mode != FORWARD:
                # Only this row's own radii can reach back to the query.
                extent = fmax(extent, self.row_reach[row])
        else:
            u = self._first_cell_at_or_after(row * self.row_length, 0, self.n_cells)
            stop = self._first_cell_at_or_after((row + 1) * self.row_length, u, self.n_cells)
            if mode != FORWARD:
                extent = fmax(extent, self.eps_reach_max[a])
        extent = extent * (1.0 + EXTENT_MARGIN)
        inv_size = self.row_inv_size[row if self.row_inv_size.shape[0] > 1 else 0]
        n_along = self.row_cells[row if self.row_cells.shape[0] > 1 else 0]
        row_lo = self._coordinate(q.lo[a] - extent, a, inv_size, n_along)
        row_hi = self._coordinate(q.hi[a] + extent, a, inv_size, n_along)
        if not _clip_span(&row_lo, &row_hi, n_along):
            return 0
        u = max(self._first_cell_at_or_after(row * self.row_length + row_lo, u, stop),
                first_cell)
        while u < stop and self.cell_key[u] <= row * self.row_length + row_hi:
            if self._test_cell(q, mode, u, out, pairs) < 0:
                return -1
            u += 1
        return 0

    cdef intp_t _first_cell_at_or_after(self, int64_t key, intp_t lo, intp_t hi) noexcept nogil:
        """First cell in [lo, hi) whose key is >= key (hi if none); branch-free steps."""
        cdef intp_t n = hi - lo, half
        if n == 0:
            return lo
        while n > 1:
            half = n // 2
            lo = lo + half if self.cell_key[lo + half - 1] < key else lo
            n -= half
        return lo + (self.cell_key[lo] < key)

    cdef int _test_cell(self, const Query* q, Direction mode, intp_t u, RangeList* out,
                        PairBuffer* pairs) noexcept nogil:
        """Push cell u unless no pair can be neighbours; flag it full when all pairs are.

        With pairs (a UNION search from all the points of one cell, whose eps
        bounds are the query's), cell u goes to pairs instead of out, with the
        PAIR_* flags of the two cells seen from the query's cell.
        """
        cdef double near[MAX_DIMS]
        cdef double far[MAX_DIMS]
        cdef bint forward = False, reverse = False, full = False
        cdef uint8_t flags = 0
        cdef intp_t d = self.norm.n_features
        _near_gaps(q.lo, q.hi, &self.cell_lo[u, 0], &self.cell_hi[u, 0], d, near)
        # The farthest corner is worked out only for cells that some pair reaches.
        if (mode == UNION or pairs != NULL) and q.eps_cols == 1 and self.eps_cols == 1:
            _reach_both(near, q.eps_max, &self.cell_eps_max[u, 0], &self.norm, &forward,
                        &reverse)
        else:
            if mode != REVERSE or pairs != NULL:
                forward = within_offsets(near, q.eps_max, q.eps_cols, &self.norm)
            if mode != FORWARD or pairs != NULL:
                reverse = within_offsets(near, &self.cell_eps_max[u, 0], self.eps_cols,
                                         &self.norm)
        if not (forward or reverse):
            return 0
        _far_gaps(q.lo, q.hi, &self.cell_lo[u, 0], &self.cell_hi[u, 0], d, far)
        if pairs != NULL:
            if forward:
                flags = PAIR_FORWARD
                if within_offsets(far, q.eps_min, q.eps_cols, &self.norm):
                    flags |= PAIR_FORWARD_FULL
            if reverse:
                flags |= PAIR_REVERSE
                if within_offsets(far, &self.cell_eps_min[u, 0], self.eps_cols, &self.norm):
                    flags |= PAIR_REVERSE_FULL
            return _pair_push(pairs, u, flags)
        if forward:
            full = within_offsets(far, q.eps_min, q.eps_cols, &self.norm)
        if reverse and not full:
            full = within_offsets(far, &self.cell_eps_min[u, 0], self.eps_cols, &self.norm)
        return range_push(out, self.cell_start[u], self.cell_start[u + 1], full, u)


cdef inline void _reach_both(const double* gaps, const double* a, const double* b,
                             const Norm* norm, bint* reach_a, bint* reach_b) noexcept nogil:
    """Whether the gaps pass the kernel with the one-radius rows a and b (OUT), the
    larger tested first: when it fails, so does the smaller (the kernel is monotone)."""
    if a[0] >= b[0]:
        reach_a[0] = within_offsets(gaps, a, 1, norm)
        reach_b[0] = reach_a[0] and within_offsets(gaps, b, 1, norm)
    else:
        reach_b[0] = within_offsets(gaps, b, 1, norm)
        reach_a[0] = reach_b[0] and within_offsets(gaps, a, 1, norm)


cdef inline void _near_gaps(const double* a_lo, const double* a_hi, const double* b_lo,
                            const double* b_hi, intp_t d, double* near) noexcept nogil:
    """Smallest coordinate difference (OUT) between two boxes, per feature."""
    cdef intp_t k
    for k in range(d):
        # Branch-free: at most one of the two differences is positive.
        near[k] = larger(larger(b_lo[k] - a_hi[k], a_lo[k] - b_hi[k]), 0.0)


cdef inline void _far_gaps(const double* a_lo, const double* a_hi, const double* b_lo,
                           const double* b_hi, intp_t d, double* far) noexcept nogil:
    """Largest coordinate difference (OUT) between two boxes, per feature."""
    cdef intp_t k
    for k in range(d):
        far[k] = larger(b_hi[k] - a_lo[k], a_hi[k] - b_lo[k])


cdef inline bint _next_cell(int64_t* cell, const int64_t* lo, const int64_t* hi, intp_t d,
                            intp_t skip) noexcept nogil:
    """Step cell (IN/OUT) to the next cell of the box lo..hi in row-major order, feature
    ``skip`` held fixed (an odometer); False once past the last."""
    cdef intp_t k = d - 1
    while k >= 0:
        if k != skip:
            if cell[k] < hi[k]:
                cell[k] += 1
                return True
            cell[k] = lo[k]
        k -= 1
    return False


cdef inline bint _clip_span(int64_t* lo, int64_t* hi, int64_t n) noexcept nogil:
    """Clip the coordinate span [lo, hi] (IN/OUT) to [0, n - 1]; False when it misses."""
    if hi[0] < 0 or lo[0] >= n:
        return False
    lo[0] = max(lo[0], 0)
    hi[0] = min(hi[0], n - 1)
    return True


def cell_populations(X, cell_size, int n_threads=1, extent=None):
    """The number of points in the cell of each point (in X's row order) of the grid of
    cells ``cell_size`` wide over X (wider where the grid could not number them).
    ``extent`` is X's column_extent when known."""
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    low, high = column_extent(X) if extent is None else extent
    keys, n_keys = _level_keys(X, low, high, np.asarray(cell_size, dtype=np.float64), None,
                               n_threads)
    order, keys = _radix_sort(keys, n_keys - 1, n_threads, overwrite_keys=True)
    new_cell = np.empty(n + 1, dtype=bool)
    new_cell[0] = new_cell[n] = True
    np.not_equal(keys[1:], keys[:n - 1], out=new_cell[1:n])
    counts = np.diff(np.flatnonzero(new_cell))
    populations = np.empty(n, dtype=np.intp)
    populations[order] = np.repeat(counts, counts)
    return populations


def _level_keys(X, low, high, size, cell_level, int n_threads):
    """(keys, n_keys): keys[i] is the cell of X[i] among the cells of its level,
    2**cell_level[i] times size wide (level 0 for all when cell_level is None), after
    those of the levels below; 4-byte keys when the n_keys keys fit."""
    cdef intp_t level, n = X.shape[0], d = X.shape[1]
    # The levels present, and each point's number among them (levels are few, and
    # small integers: no sort).
    if cell_level is None:
        levels, level_of = np.zeros(1, dtype=np.intp), np.zeros(n, dtype=np.intp)
    else:
        cell_level = np.asarray(cell_level, dtype=np.intp)
        lowest = int(cell_level.min())
        present = np.bincount(cell_level - lowest) > 0
        levels = np.flatnonzero(present) + lowest
        level_of = (np.cumsum(present) - 1)[cell_level - lowest]
    n_levels = len(levels)
    inv_size = np.empty((n_levels, d))
    dims = np.empty((n_levels, d), dtype=np.int64)
    strides = np.empty((n_levels, d), dtype=np.int64)
    first = np.zeros(n_levels, dtype=np.int64)
    n_keys = 0
    for level in range(n_levels):
        level_size, level_shape = numbered_cells(low, high, size * 2.0 ** float(levels[level]))
        inv_size[level] = 1.0 / level_size
        dims[level] = level_shape
        strides[level] = np.r_[np.cumprod(level_shape[:0:-1])[::-1], 1]
        first[level] = n_keys
        n_keys += int(np.prod(level_shape.astype(object)))
    if n_keys > MAX_CELLS * 64:
        raise ValueError("gridscan: too many cells over the levels of the grid")
    keys = np.empty(n, dtype=np.int32 if n_keys - 1 < 2 ** 31 else np.int64)
    _fill_level_keys(X, np.asarray(low, dtype=np.float64), inv_size, dims, strides, first,
                     level_of.astype(np.intp), keys, n_threads)
    return keys, n_keys


def _fill_level_keys(const floating[:, ::1] X, const double[::1] origin,
                     const double[:, ::1] inv, const int64_t[:, ::1] n_along,
                     const int64_t[:, ::1] stride, const int64_t[::1] offset,
                     const intp_t[::1] of, cell_key_t[::1] keys, int n_threads):
    """keys[i] (OUT) = offset of X[i]'s level + its cell's row-major number in that level
    (for _level_keys)."""
    cdef intp_t i, k, n = X.shape[0], d = X.shape[1], level
    cdef int64_t key
    cdef int interrupted[1]
    interrupted[0] = 0
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(i, POINTS_PER_POLL):
                interrupted[0] = 1
            level = of[i]
            key = offset[level]
            for k in range(d):
                key = key + _clipped_cell(X[i, k], origin[k], inv[level, k],
                                          n_along[level, k]) * stride[level, k]
            keys[i] = <cell_key_t> key
    if interrupted[0]:
        raise_pending()


def _row_means(const floating[:, ::1] X, const double[::1] origin, const double[::1] inv_size,
               const int64_t[::1] dims, const int64_t[::1] row_strides, intp_t along,
               const double[::1] values, double[::1] mean):
    """mean[row] (OUT) = mean of values over the points of each row (1 for an empty row)."""
    cdef intp_t i, n = X.shape[0], d = X.shape[1], n_rows = mean.shape[0]
    cdef int64_t row
    cdef intp_t[::1] count = np.zeros(n_rows, dtype=np.intp)
    with nogil:
        for i in range(n):
            poll_signals(i, POINTS_PER_POLL)
            row = _row_of(&X[i, 0], &origin[0], &inv_size[0], &dims[0], &row_strides[0],
                          along, d)
            mean[row] += values[i]
            count[row] += 1
        for row in range(n_rows):
            mean[row] = mean[row] / count[row] if count[row] > 0 else 1.0


def _cell_keys(const floating[:, ::1] X, const double[::1] origin, const double[::1] inv_size,
               const int64_t[::1] dims, const int64_t[::1] row_strides, intp_t along,
               const double[::1] row_inv_size, const int64_t[::1] row_cells,
               int64_t row_length, cell_key_t[::1] keys, int n_threads):
    """keys[i] (OUT) = row of X[i] * row_length + cell of X[i] along its row.

    row_inv_size and row_cells hold one entry per row, or one for all rows.
    """
    cdef intp_t i, n = X.shape[0], d = X.shape[1]
    cdef int64_t row, r
    cdef bint per_row = row_inv_size.shape[0] > 1
    cdef int interrupted[1]
    interrupted[0] = 0
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(i, POINTS_PER_POLL):
                interrupted[0] = 1
            row = _row_of(&X[i, 0], &origin[0], &inv_size[0], &dims[0], &row_strides[0],
                          along, d)
            r = row if per_row else 0
            keys[i] = <cell_key_t> (row * row_length + _clipped_cell(
                X[i, along], origin[along], row_inv_size[r], row_cells[r]))
    if interrupted[0]:
        raise_pending()


cdef inline int64_t _row_of(const floating* x, const double* origin, const double* inv_size,
                            const int64_t* dims, const int64_t* row_strides, intp_t along,
                            intp_t d) noexcept nogil:
    """Row-major index of the row of point x."""
    cdef intp_t k
    cdef int64_t row = 0
    for k in range(d):
        if k != along:
            row = row + _clipped_cell(x[k], origin[k], inv_size[k], dims[k]) * row_strides[k]
    return row


cdef inline int64_t _clipped_cell(double x, double origin, double inv_size,
                                  int64_t n) noexcept nogil:
    cdef double c = smaller(larger(floor((x - origin) * inv_size), 0.0), <double> (n - 1))
    return <int64_t> c


# Not the lattice's counting sort (_lattice_layout._counting_sort): the keys here
# range over up to 2**56 cells, too many for its table of counts.
def _radix_sort(cell_key_t[::1] keys, int64_t max_key, int n_threads,
                bint overwrite_keys=False):
    """Stable LSD radix sort of keys in [0, max_key]: returns (order, sorted keys).

    Each pass cuts the keys into one contiguous slice per thread; the keys of
    a digit from slice s go after those of the slices before it, which keeps
    every pass stable whatever the number of threads.  The passes alternate
    between two buffers of the keys' type; with ``overwrite_keys`` ``keys``
    itself is one of them (one array of n keys less).
    """
    cdef intp_t n = keys.shape[0], i, s, digit, position
    cdef intp_t n_bits = max(int(max_key).bit_length(), 1)
    cdef intp_t n_passes = (n_bits + MAX_RADIX_BITS - 1) // MAX_RADIX_BITS
    cdef intp_t bits = (n_bits + n_passes - 1) // n_passes, shift = 0
    cdef int64_t mask = (1 << bits) - 1
    cdef intp_t n_slices = max(1, min(n_threads, n // 65536))
    cdef intp_t[::1] bounds = np.linspace(0, n, n_slices + 1).astype(np.intp)
    cdef intp_t[:, ::1] next_slot = np.empty((n_slices, mask + 1), dtype=np.intp)
    cdef intp_t[::1] order = np.empty(n, dtype=np.intp)
    cdef intp_t[::1] order_next = np.empty(n, dtype=np.intp)
    cdef cell_key_t[::1] current = keys
    cdef cell_key_t[::1] current_next = np.empty_like(np.asarray(keys))
    cdef cell_key_t[::1] spare = current_next if overwrite_keys \
        else np.empty_like(np.asarray(keys))
    cdef bint first = True
    with nogil:
        while shift < n_bits:
            for s in prange(n_slices, schedule="static", num_threads=n_slices):
                for digit in range(mask + 1):
                    next_slot[s, digit] = 0
                for i in range(bounds[s], bounds[s + 1]):
                    if s == 0:
                        poll_signals(i, POINTS_PER_POLL)
                    next_slot[s, (current[i] >> shift) & mask] += 1
            # Counts to first slots: digit by digit, slice by slice.
            position = 0
            for digit in range(mask + 1):
                for s in range(n_slices):
                    position += next_slot[s, digit]
                    next_slot[s, digit] = position - next_slot[s, digit]
            for s in prange(n_slices, schedule="static", num_threads=n_slices):
                for i in range(bounds[s], bounds[s + 1]):
                    if s == 0:
                        poll_signals(i, POINTS_PER_POLL)
                    digit = (current[i] >> shift) & mask
                    position = next_slot[s, digit]
                    next_slot[s, digit] = position + 1
                    order_next[position] = i if first else order[i]
                    current_next[position] = current[i]
            order, order_next = order_next, order
            if first and not overwrite_keys:
                current, current_next = current_next, spare
            else:
                current, current_next = current_next, current
            first = False
            shift += bits
    return np.asarray(order), np.asarray(current)


def _cell_boxes(const floating[:, ::1] points, const intp_t[::1] cell_start,
                double[:, ::1] lo, double[:, ::1] hi, int n_threads):
    """Bounding box (OUT: lo, hi) of the points of every cell."""
    cdef intp_t u, i, k, d = points.shape[1]
    cdef int interrupted[1]
    interrupted[0] = 0
    with nogil:
        for u in prange(cell_start.shape[0] - 1, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(u, CELLS_PER_POLL):
                interrupted[0] = 1
            for k in range(d):
                lo[u, k] = points[cell_start[u], k]
                hi[u, k] = points[cell_start[u], k]
            for i in range(cell_start[u] + 1, cell_start[u + 1]):
                for k in range(d):
                    lo[u, k] = smaller(lo[u, k], points[i, k])
                    hi[u, k] = larger(hi[u, k], points[i, k])
    if interrupted[0]:
        raise_pending()


def _cell_eps_bounds(CellGrid grid, EpsRows eps, const uint8_t[::1] keep, int n_threads):
    """Per-cell elementwise eps bounds and the largest extent per feature (OUT, on grid)."""
    cdef const EpsTable* e = &eps.table
    cdef intp_t u, i, k, d = grid.norm.n_features, cols = e.n_cols
    cdef int64_t row
    cdef const double* eps_row
    cdef int interrupted[1]
    interrupted[0] = 0
    with nogil:
        for u in prange(grid.n_cells, schedule="static", num_threads=n_threads):
            if threadid() == 0 and signal_raised(u, CELLS_PER_POLL):
                interrupted[0] = 1
            for i in range(grid.cell_start[u], grid.cell_start[u + 1]):
                if not keep[i]:
                    continue
                eps_row = e.values + i * e.row_stride
                for k in range(cols):
                    grid.cell_eps_max[u, k] = larger(grid.cell_eps_max[u, k], eps_row[k])
                    grid.cell_eps_min[u, k] = smaller(grid.cell_eps_min[u, k], eps_row[k])
        for u in range(grid.n_cells):
            poll_signals(u, CELLS_PER_POLL)
            for k in range(d):
                grid.eps_reach_max[k] = larger(grid.eps_reach_max[k],
                                               grid.cell_eps_max[u, 0 if cols == 1 else k])
            if grid.row_reach.shape[0] > 0:
                row = grid.cell_key[u] // grid.row_length
                grid.row_reach[row] = larger(grid.row_reach[row],
                                             grid.cell_eps_max[u, 0 if cols == 1 else grid.along])
    if interrupted[0]:
        raise_pending()


cdef int _pair_push(PairBuffer* pairs, intp_t cell, uint8_t flags) noexcept nogil:
    """Append a pair; -1 when memory runs out."""
    cdef intp_t capacity, needed = pairs.size + 1
    if pairs.size == pairs.capacity:
        capacity = reserve(<void**> &pairs.cell, pairs.capacity, needed, sizeof(intp_t))
        if (capacity < 0
                or reserve(<void**> &pairs.flags, pairs.capacity, needed, sizeof(uint8_t)) < 0):
            return -1
        pairs.capacity = capacity
    pairs.cell[pairs.size] = cell
    pairs.flags[pairs.size] = flags
    pairs.size += 1
    return 0


def _balanced_slices(CellGrid grid, EpsRows eps, intp_t n_slices):
    """Bounds of n_slices contiguous slices of the cells with about equal search work.

    A cell's search visits about prod_k (1 + 2 eps_k / cell_size_k) cells for
    its largest eps row: with per-point eps (a radar volume, say) a few slices
    of cells with large radii would otherwise keep one thread busy long after
    the others.  The lists built do not depend on the slices.
    """
    n_cells = grid.n_cells
    if eps.shared or n_slices == 1 or grid.levelled:
        # (Cells sized to their own eps reach about as many cells each.)
        return np.linspace(0, n_cells, n_slices + 1).astype(np.intp)
    d = grid.norm.n_features
    reach = np.broadcast_to(np.asarray(grid.cell_eps_max), (n_cells, d)) / grid.cell_size
    work = np.cumsum(np.prod(1.0 + 2.0 * np.minimum(reach, 1e6), axis=1))
    cuts = np.searchsorted(work, np.linspace(0.0, work[-1], n_slices + 1)[1:-1])
    return np.concatenate([[0], cuts, [n_cells]]).astype(np.intp)


def _cell_pairs(CellGrid grid, const floating[:, ::1] points, EpsRows eps, int n_threads):
    """The candidate cells of every cell with their PAIR_* flags, as CSR arrays.

    The cells are cut into one contiguous slice per thread.  For each cell u
    of its slice, a thread finds the cells c >= u that may hold a pair of
    neighbours in either direction, with the flags seen from u; each pair is
    then entered in both lists, the flags mirrored for c.  Cell c's list holds
    first the cells that found it (ascending), then its own finds: the same
    lists for any number of threads.  On rows, the cells of one row share the
    rows near it (_near_rows) and walk them in order (_join_rows); through the
    cell tree, the cells of one leaf share one search (_leaf_pairs), and a
    wide cell finds its pairs with the narrow cells below it too.
    """
    cdef intp_t n_cells = grid.n_cells, d = grid.norm.n_features
    cdef intp_t n_slices = max(1, min(n_threads, n_cells // 1024))
    cdef intp_t[::1] bounds = _balanced_slices(grid, eps, n_slices)
    cdef Workspace work = Workspace(n_slices, d)
    cdef Workspace leaf_work = Workspace(n_slices, d)
    cdef intp_t leaf
    cdef PairBuffer* found = <PairBuffer*> calloc(n_slices, sizeof(PairBuffer))
    cdef NearRows* near = <NearRows*> calloc(n_slices, sizeof(NearRows))
    if found == NULL or near == NULL:
        free(found)
        free(near)
        raise MemoryError("gridscan: out of memory while collecting candidate cells")
    cdef bint shared = eps.shared
    if grid.tree_nodes > 0 and not shared:
        _mark_wide_cells(grid)
    # With a shared eps the FORWARD test holds both ways.
    cdef Direction mode = FORWARD if shared else UNION
    cdef intp_t u, c, s, i, total
    cdef uint8_t flags
    cdef intp_t[::1] first_pair = np.empty(n_cells, dtype=np.intp)   # in its slice's buffer
    cdef intp_t[::1] n_pairs = np.empty(n_cells, dtype=np.intp)
    # Per slice and cell: how many of the slice's cells found the cell, then
    # where the next of them goes in the cell's list.
    cdef intp_t[:, ::1] found_by = np.zeros((n_slices, n_cells), dtype=np.intp)
    cdef intp_t[::1] own_slot = np.empty(n_cells, dtype=np.intp)
    cdef intp_t[::1] start = np.empty(n_cells + 1, dtype=np.intp)
    cdef intp_t[::1] cells
    cdef uint8_t[::1] pair_flags
    cdef Query* query
    cdef RangeList* ranges
    cdef PairBuffer* pairs
    cdef int failed[1]
    failed[0] = 0
    try:
        with nogil:
            for s in prange(n_slices, schedule="static", num_threads=n_slices):
                query = work.queries[s]
                ranges = work.ranges[s]
                # With a shared eps the FORWARD test holds both ways: the searches
                # push ranges, entered below with the flags of both directions.
                # Else they push the pairs with the flags of each direction themselves.
                pairs = NULL if shared else &found[s]
                near[s].of_row = -1
                leaf = -1
                for u in range(bounds[s], bounds[s + 1]):
                    if s == 0:
                        # Each search may be long (many features): check every cell.
                        check_signals()
                    first_pair[u] = found[s].size
                    ranges.size = 0
                    if grid.tree_nodes > 0:
                        if grid._leaf_pairs(u, mode, &leaf, leaf_work.ranges[s], ranges,
                                            pairs) < 0:
                            failed[0] = 1
                    else:
                        if near[s].of_row != grid.cell_key[u] // grid.row_length:
                            if grid._near_rows(u, mode, &near[s]) < 0:
                                failed[0] = 1
                        if not near[s].too_many:
                            if grid._join_rows(u, mode, &near[s], ranges, pairs) < 0:
                                failed[0] = 1
                        else:
                            load_block_query(query, points, grid.cell_start[u],
                                             grid.cell_start[u + 1], NULL, 0, &eps.table,
                                             mode, u)
                            if grid._collect(query, mode, u, ranges, pairs) < 0:
                                failed[0] = 1
                    for i in range(ranges.size):
                        flags = PAIR_FORWARD | PAIR_REVERSE
                        if ranges.full[i]:
                            flags = flags | PAIR_FORWARD_FULL | PAIR_REVERSE_FULL
                        if _pair_push(&found[s], ranges.block[i], flags) < 0:
                            failed[0] = 1
                    n_pairs[u] = found[s].size - first_pair[u]
                    for i in range(first_pair[u], found[s].size):
                        c = found[s].cell[i]
                        found_by[s, c] += c != u
            if not failed[0]:
                # Slots: cell c's list starts with the cells that found it,
                # slice by slice, then its own finds.
                total = 0
                for c in range(n_cells):
                    poll_signals(c, CELLS_PER_POLL)
                    start[c] = total
                    for s in range(n_slices):
                        i = found_by[s, c]
                        found_by[s, c] = total
                        total = total + i
                    own_slot[c] = total
                    total = total + n_pairs[c]
                start[n_cells] = total
        if failed[0]:
            raise MemoryError("gridscan: out of memory while collecting candidate cells")
        cells = np.empty(start[n_cells], dtype=np.intp)
        pair_flags = np.empty(start[n_cells], dtype=np.uint8)
        with nogil:
            for s in prange(n_slices, schedule="static", num_threads=n_slices):
                for u in range(bounds[s], bounds[s + 1]):
                    if s == 0:
                        poll_signals(u, CELLS_PER_POLL)
                    for i in range(first_pair[u], first_pair[u] + n_pairs[u]):
                        c = found[s].cell[i]
                        flags = found[s].flags[i]
                        cells[own_slot[u]] = c
                        pair_flags[own_slot[u]] = flags
                        own_slot[u] += 1
                        if c != u:
                            cells[found_by[s, c]] = u
                            pair_flags[found_by[s, c]] = _mirrored(flags)
                            found_by[s, c] += 1
    finally:
        for s in range(n_slices):
            free(found[s].cell)
            free(found[s].flags)
            free(near[s].row)
        free(found)
        free(near)
    return np.asarray(start), np.asarray(cells), np.asarray(pair_flags)


def _mark_wide_cells(CellGrid grid):
    """pair_wide and pair_tree_eps (OUT, on grid) for UNION pair lists through the tree:
    the wide cells (a cell whose largest eps exceeds WIDE_CELL_EPS times the least
    of its leaf's cells along some column) and each node's largest eps row over its
    other cells."""
    cdef intp_t node, u, k, n_nodes = grid.tree_nodes, cols = grid.pair_eps_max.shape[1]
    cdef double least[MAX_DIMS]
    grid.pair_wide = np.zeros(grid.n_cells, dtype=np.uint8)
    grid.pair_tree_eps = np.zeros((n_nodes, cols))
    with nogil:
        for node in range(n_nodes // 2, n_nodes):
            poll_signals(node, CELLS_PER_POLL)
            for k in range(cols):
                least[k] = INFINITY
                for u in range(grid.tree_start[node], grid.tree_end[node]):
                    least[k] = smaller(least[k], grid.pair_eps_max[u, k])
            for u in range(grid.tree_start[node], grid.tree_end[node]):
                for k in range(cols):
                    if grid.pair_eps_max[u, k] > WIDE_CELL_EPS * least[k]:
                        grid.pair_wide[u] = 1
        _node_eps_bounds(grid, grid.pair_eps_max, &grid.pair_wide[0], grid.pair_tree_eps)


cdef inline uint8_t _mirrored(uint8_t flags) noexcept nogil:
    """The flags of a pair of cells seen from the other cell: directions swap."""
    return ((flags & (PAIR_FORWARD | PAIR_FORWARD_FULL)) << 2) | (
        (flags & (PAIR_REVERSE | PAIR_REVERSE_FULL)) >> 2)


def _build_cell_tree(CellGrid grid, int n_threads):
    """The cell tree over grid's occupied cells (OUT, on grid; see the top of this file).

    Returns the cells in the tree's order, in which the caller renumbers
    them; the node boxes are those of the renumbered cells.  Nodes are split
    level by level, the nodes of a level in parallel: each split depends only
    on its own cells, so the tree is the same for any number of threads.
    """
    cdef intp_t n_cells = grid.n_cells, d = grid.cell_lo.shape[1]
    cdef intp_t n_leaves = 1, n_nodes, node, level_first, level_last, k, u, child, c
    while n_leaves * TREE_LEAF_CELLS < n_cells:
        n_leaves *= 2
    n_nodes = 2 * n_leaves - 1
    centre_array = (np.asarray(grid.cell_lo) + np.asarray(grid.cell_hi)) * 0.5
    cdef const double[:, ::1] centre = centre_array
    cdef intp_t[::1] cells = np.arange(n_cells, dtype=np.intp)
    cdef intp_t[::1] start = np.empty(n_nodes, dtype=np.intp)
    cdef intp_t[::1] end = np.empty(n_nodes, dtype=np.intp)
    cdef double[:, ::1] lo = np.empty((n_nodes, d))
    cdef double[:, ::1] hi = np.empty((n_nodes, d))
    start[0] = 0
    end[0] = n_cells
    with nogil:
        level_first = 0
        while level_first < n_nodes // 2:
            level_last = 2 * level_first + 1
            for node in prange(level_first, level_last, schedule="dynamic", chunksize=1,
                               num_threads=n_threads if level_last - level_first > 1 else 1):
                if threadid() == 0:
                    check_signals()
                _split_cells(centre, &cells[0], start[node], end[node], d,
                             start[node] + (end[node] - start[node]) // 2)
                start[2 * node + 1] = start[node]
                end[2 * node + 1] = start[node] + (end[node] - start[node]) // 2
                start[2 * node + 2] = end[2 * node + 1]
                end[2 * node + 2] = end[node]
            level_first = level_last
        # Boxes, leaves first (cell u of the new numbering is cells[u] of the old).
        for node in range(n_nodes - 1, -1, -1):
            poll_signals(node, CELLS_PER_POLL)
            if node >= n_nodes // 2:
                for k in range(d):
                    lo[node, k] = INFINITY
                    hi[node, k] = -INFINITY
                for u in range(start[node], end[node]):
                    c = cells[u]
                    for k in range(d):
                        lo[node, k] = smaller(lo[node, k], grid.cell_lo[c, k])
                        hi[node, k] = larger(hi[node, k], grid.cell_hi[c, k])
            else:
                child = 2 * node + 1
                for k in range(d):
                    lo[node, k] = smaller(lo[child, k], lo[child + 1, k])
                    hi[node, k] = larger(hi[child, k], hi[child + 1, k])
    grid.tree_start = start
    grid.tree_end = end
    grid.tree_lo = lo
    grid.tree_hi = hi
    grid.tree_nodes = n_nodes
    return np.asarray(cells)


cdef void _split_cells(const double[:, ::1] centre, intp_t* cells, intp_t start, intp_t end,
                       intp_t d, intp_t mid) noexcept nogil:
    """Reorder cells[start:end] so that those before mid have centres no greater along
    the widest feature than those from mid on (quickselect, median of three pivots)."""
    cdef intp_t k, best = 0, i, j, tmp, lo = start, hi = end - 1
    cdef double low, high, spread = -1.0, pivot, a, b, c
    if end - start < 2:
        return
    for k in range(d):
        low = centre[cells[start], k]
        high = low
        for i in range(start + 1, end):
            low = smaller(low, centre[cells[i], k])
            high = larger(high, centre[cells[i], k])
        if high - low > spread:
            spread = high - low
            best = k
    while lo < hi:
        a = centre[cells[lo], best]
        b = centre[cells[(lo + hi) // 2], best]
        c = centre[cells[hi], best]
        pivot = larger(smaller(a, b), smaller(larger(a, b), c))
        i = lo
        j = hi
        while i <= j:
            while centre[cells[i], best] < pivot:
                i += 1
            while centre[cells[j], best] > pivot:
                j -= 1
            if i <= j:
                tmp = cells[i]
                cells[i] = cells[j]
                cells[j] = tmp
                i += 1
                j -= 1
        if mid <= j:
            hi = j
        elif mid >= i:
            lo = i
        else:
            return


def _tree_eps_bounds(CellGrid grid):
    """tree_eps_max (OUT, on grid): the elementwise largest eps row of each node's cells."""
    with nogil:
        _node_eps_bounds(grid, grid.cell_eps_max, NULL, grid.tree_eps_max)


cdef int _node_eps_bounds(CellGrid grid, const double[:, ::1] cell_eps,
                          const uint8_t* leave_out, double[:, ::1] out) except -1 nogil:
    """out[node] (OUT, zeros on entry) = the elementwise largest cell_eps row of the
    node's cells (leaving out the cells u with leave_out[u] set, when given):
    leaves from their cells, then every parent from its two children."""
    cdef intp_t node, u, k, child, cols = cell_eps.shape[1], n_nodes = grid.tree_nodes
    for node in range(n_nodes - 1, -1, -1):
        poll_signals(node, CELLS_PER_POLL)
        if node >= n_nodes // 2:
            for u in range(grid.tree_start[node], grid.tree_end[node]):
                if leave_out == NULL or not leave_out[u]:
                    for k in range(cols):
                        out[node, k] = larger(out[node, k], cell_eps[u, k])
        else:
            child = 2 * node + 1
            for k in range(cols):
                out[node, k] = larger(out[child, k], out[child + 1, k])
    return 0
