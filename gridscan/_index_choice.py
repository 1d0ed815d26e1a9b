"""Which index a fit uses, and how it is built: the one owner of algorithm="auto".

Every index is exact on any data (each one answers a search with ranges that
hold every neighbour, and flags a range full only when every pair in it is
one), so the choice here decides only the speed. ``build_index`` is the one
entry point: the estimators (fit, the prediction index, gridscan.dask's
blocks) call it with the same arguments, and a new index needs a branch in
``choose_algorithm`` and one in ``new_index``, nothing elsewhere.
"""

import numpy as np

from gridscan._arrays import column_extent, take_rows
from gridscan._ball_tree import BallTree
from gridscan._grid import MAX_FEATURES as CELL_GRID_MAX_FEATURES
from gridscan._grid import (
    TREE_MIN_FEATURES,
    CellGrid,
    cell_populations,
    numbered_cells,
    occupied_cells,
)
from gridscan._index import BruteIndex
from gridscan._lattice import LatticeIndex
from gridscan._lattice_layout import lattice_layout

# Eps rows whose median sizes the grid's cells, at most.
TYPICAL_SAMPLE = 16384

# Below this many points a scan of all pairs beats building a tree.
BRUTE_MAX_POINTS = 64

# Up to this many features "auto" uses the cell grid, beyond it the ball tree
# (from TREE_MIN_FEATURES on, the grid finds its cells through a tree over them).
GRID_MAX_FEATURES = CELL_GRID_MAX_FEATURES

# "auto" takes the lattice index for integer data with at most this many
# features and with eps of at most this many cells along every feature.
LATTICE_AUTO_MAX_EPS = 8.0
LATTICE_AUTO_MAX_FEATURES = 4

# The lattice is used only while the stencil of the largest eps has at most this
# many rows (every search costs one range per row).
LATTICE_MAX_STENCIL_ROWS = 4096

# "auto" keeps the cell grid while the largest eps is at most this many times
# the typical (median) one along every feature; along the row feature, whose
# cells follow each row's own eps (within MAX_ROW_SCALE), 16 times more.
GRID_MAX_EPS_SPREAD = 8.0
GRID_ROW_EPS_SPREAD = 16 * GRID_MAX_EPS_SPREAD

# A window feature gets cells of its own only when they cut the points of the
# other features' cells into at least this many cells on average.  Otherwise
# (a ground range beside the x, y it is computed from, say) its cells only
# multiply the rows a search visits: it gets one cell.
WINDOW_MIN_SPLIT = 2.0

# Below TREE_MIN_FEATURES, when a point's cell holds more than DENSE_CELL_POINTS
# points on average over the points, the grid is built again with cells finer
# by up to MAX_CELL_REFINEMENT along every feature that has cells, to hold about
# REFINED_CELL_POINTS.  With thousands of neighbours the points near the edge of
# a neighbourhood, which are tested one by one, then lie in a band one small
# cell wide; with eps of their own, crowded cells where the eps are small (a
# radar's first kilometres) become cliques again.
DENSE_CELL_POINTS = 24.0
REFINED_CELL_POINTS = 12.0
MAX_CELL_REFINEMENT = 4.0


# With eps of their own that spread by at least LEVEL_MIN_SPREAD times along two
# features or more, the grid's cells are made finer or coarser point by point, by
# powers of two (levels, at most MAX_CELL_LEVEL either way), to balance the cost of
# a cell's candidate cells against that of the points tested one by one
# (cell_levels).  LEVEL_COST_RATIO is 2d times the cost of a candidate cell over
# that of a point test: the full volume of benchmarks/bench_volume.py fits fastest
# near 60 (with 15 or 240, 6 to 8% more CPU time, the same labels).
# Levels scale every feature's cells together: they are used only while the eps
# of the features grow and shrink together, their geometric mean carrying at least
# LEVEL_MIN_COHERENCE of the variance of their logarithms (1 when they are
# proportional, 1/d when independent).
LEVEL_MIN_SPREAD = 4.0
LEVEL_MIN_COHERENCE = 0.75
MAX_CELL_LEVEL = 8
LEVEL_COST_RATIO = 60.0

# Eps spread beyond GRID_MAX_EPS_SPREAD still keep the cell grid, with levels
# (cell_levels), in up to 3 features without window features when at least
# GRID_MIN_TYPICAL_SHARE of the points have eps within GRID_MAX_EPS_SPREAD of the
# median either way along every feature and every larger eps reaches across the
# whole data (its searches are full ranges).  CPU seconds at 200,000 uniform
# 2-D points, one thread, grid against ball tree: 10% of eps 1e6, the rest 0.01
# (few_huge_eps of benchmarks/bench_adversarial.py) 0.12 against 1.68; 24% of
# 1e6, the rest 0.003, 0.50 against 1.01.  Larger eps that reach only part of
# the data are not enough: 5% of 0.1, the rest 1e-5, 7.4 against 2.2; 20% of
# 0.03, 2.5 against 1.3 (1% of 0.1, eps_two_scales, 1.26 against 1.90).
GRID_MIN_TYPICAL_SHARE = 0.75


def sample_rows(eps_table):
    """At most about TYPICAL_SAMPLE rows of eps_table, spread evenly through it (a view)."""
    return eps_table[::max(1, eps_table.shape[0] // TYPICAL_SAMPLE)]


def typical_eps(eps_table):
    """The median eps row, over at most TYPICAL_SAMPLE rows spread evenly through the table.

    It only sizes the grid's cells, which are exact for any size.
    """
    return np.median(sample_rows(eps_table), axis=0)


def eps_by_position(index, eps_table, n_threads):
    """EpsRows of index's points by position, from eps_table in row order (or one shared row)."""
    if eps_table.shape[0] > 1:
        eps_table = take_rows(eps_table, index.order, n_threads)
    return index.eps_rows(eps_table, n_threads)


def most_varying_feature(eps_table, typical):
    """The feature whose eps varies most (largest over typical), None when none varies."""
    if eps_table.shape[0] == 1 or eps_table.shape[1] == 1:
        return None
    spread = column_extent(eps_table)[1] / typical
    return int(np.argmax(spread)) if spread.max() > 1 else None


def stencil_rows(eps_table, shape):
    """Rows of the lattice stencil of the largest eps: one per offset over all but the last
    feature, within the lattice."""
    extent = np.minimum(np.floor(np.broadcast_to(eps_table.max(axis=0), shape.shape)), shape - 1)
    return float(np.prod(2 * extent[:-1] + 1))


def choose_algorithm(X, eps_table, algorithm, metric, p, window, lattice_shape=None,
                     periodic=False):
    """The index for ``algorithm``: "lattice", "grid" (cell grid), "ball_tree" or "brute".

    Every index is exact on any data; the choice only decides the speed.
    ``periodic`` data never take the lattice (its stencils do not wrap).

    "grid" is the lattice for integer data (``lattice_shape`` being the
    pts_ratio grid, when given) whose largest eps has a stencil of at most
    LATTICE_MAX_STENCIL_ROWS rows, stored densely or spanning more eps than
    the cell grid's cells can number (or that has more features than the cell
    grid takes), else the cell grid.  A sparse lattice answers every stencil
    row with a binary search, which costs more than the cell grid's search on
    any density that does not fit the dense table.

    "auto" takes, in this order:

    - "brute" for at most BRUTE_MAX_POINTS points;
    - the lattice for integer data with eps of at most LATTICE_AUTO_MAX_EPS
      cells and at most LATTICE_AUTO_MAX_FEATURES features, stored densely
      (with ``pts_ratio``, a lattice counts the cells P(p) whatever the index);
    - the cell grid for at most GRID_MAX_FEATURES features when its cells can
      be as small as the typical eps (the span over eps, below about 2**48
      cells along a feature and 2**56 in all; beyond it cells would be coarser
      and hold too many points) and the eps do not spread: the largest at most
      GRID_MAX_EPS_SPREAD times the median along every feature
      (GRID_ROW_EPS_SPREAD along the row feature): one point of large eps
      would make every search of the grid wide;
    - the cell grid with levels all the same (below TREE_MIN_FEATURES features,
      no window feature, levels_apply) when at least GRID_MIN_TYPICAL_SHARE of
      the points have eps within GRID_MAX_EPS_SPREAD of the median and every
      larger eps reaches across all the data: the others get cells sized to
      their own eps;
    - else the ball tree, whose cost follows the data and each point's own eps.
    """
    n, d = X.shape
    if algorithm in ("ball_tree", "brute"):
        return algorithm
    if algorithm == "auto" and n <= BRUTE_MAX_POINTS:
        return "brute"
    layout = None if periodic else lattice_layout(X, lattice_shape)
    if layout is not None:
        low, high = column_extent(X)
        shape = (high - low + 1) if lattice_shape is None else np.asarray(lattice_shape)
        small_stencil = stencil_rows(eps_table, np.asarray(shape, dtype=np.float64)) \
            <= LATTICE_MAX_STENCIL_ROWS
        if algorithm == "grid" and (
                d > CELL_GRID_MAX_FEATURES
                or small_stencil and (layout == "dense"
                                      or not cells_as_small_as_eps(X, eps_table, metric, p,
                                                                   window))):
            return "lattice"
        if (algorithm == "auto" and small_stencil and layout == "dense"
                and eps_table.max() <= LATTICE_AUTO_MAX_EPS and d <= LATTICE_AUTO_MAX_FEATURES):
            return "lattice"
    if algorithm == "grid":
        return "grid"
    if d > GRID_MAX_FEATURES:
        return "ball_tree"
    typical = typical_eps(eps_table)
    along = most_varying_feature(eps_table, typical)
    spread = np.broadcast_to(column_extent(eps_table)[1] / typical, (d,)).copy()
    limit = np.full(d, GRID_MAX_EPS_SPREAD)
    if along is not None:
        limit[along] = GRID_ROW_EPS_SPREAD
    if np.all(spread <= limit) and cells_as_small_as_eps(X, eps_table, metric, p, window):
        return "grid"
    if (d < TREE_MIN_FEATURES and not np.any(window) and levels_apply(eps_table, d)
            and typical_share(eps_table, typical) >= GRID_MIN_TYPICAL_SHARE
            and large_eps_reach_everything(X, eps_table, typical)
            and cells_as_small_as_eps(X, eps_table, metric, p, window)):
        return "grid"
    return "ball_tree"


def typical_share(eps_table, typical):
    """The share of eps rows (over at most TYPICAL_SAMPLE spread evenly) within
    GRID_MAX_EPS_SPREAD times the typical row either way along every feature."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = sample_rows(eps_table) / typical
    near = np.all((ratio <= GRID_MAX_EPS_SPREAD) & (ratio * GRID_MAX_EPS_SPREAD >= 1), axis=1)
    return float(np.mean(near))


def large_eps_reach_everything(X, eps_table, typical):
    """Whether every eps row beyond GRID_MAX_EPS_SPREAD times the typical one along some
    feature is at least the data's extent along every feature (its diagonal for one eps
    per point): such searches take whole ranges."""
    low, high = column_extent(X)
    span = np.broadcast_to(high - low, (eps_table.shape[1],)) if eps_table.shape[1] > 1 \
        else np.array([np.sqrt(np.sum(np.square(high - low)))])
    large = np.any(eps_table > GRID_MAX_EPS_SPREAD * typical, axis=1)
    return bool(np.all(eps_table[large] >= span))


def levels_apply(eps_table, d):
    """Whether cell_levels may give the points of d features levels: eps of their own,
    spread by LEVEL_MIN_SPREAD times or more along two features or more (every feature
    for one eps per point), growing and shrinking together (LEVEL_MIN_COHERENCE)."""
    n = eps_table.shape[0]
    if n == 1:
        return False
    low, high = column_extent(eps_table)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = high / low
    varying = np.count_nonzero(spread >= LEVEL_MIN_SPREAD)
    if (d if eps_table.shape[1] == 1 else varying) < 2 or varying == 0:
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(sample_rows(eps_table))
        coherence = np.var(logs.mean(axis=1)) / np.var(logs, axis=0).mean()
    return bool(coherence >= LEVEL_MIN_COHERENCE)


def cells_as_small_as_eps(X, eps_table, metric, p, window):
    """Whether the cell grid over X can number cells as small as the typical eps (else it
    takes coarser ones: see numbered_cells)."""
    cell = grid_cell_size(typical_eps(eps_table), metric, p, window)
    low, high = column_extent(X)
    return np.array_equal(numbered_cells(low, high, cell)[0], cell)


def cell_levels(X, cell, eps_table, n_threads=1, features=None, extent=None):
    """Each point's cell level for a grid of cells ``cell`` wide (cells 2**level times as
    wide), in X's row order, or None to keep one cell size.

    Only ``features`` (default: all) have cells; the others are one cell wide
    (``cell`` spans the data along them) and take no part in the levels.
    ``extent`` is X's column_extent when known.

    None unless the eps are the points' own, spread by LEVEL_MIN_SPREAD times
    or more along two features or more, and grow and shrink together along
    the features (LEVEL_MIN_COHERENCE): a radar volume, say, with horizontal
    and vertical radii growing with range and dense gates near the radar.
    (Along one feature only, the grid's rows follow it: see CellGrid.)  Then,
    for a point whose cell holds m points and whose eps spans r cells (the
    geometric mean over the features), a fit costs about A m r**(d - 1), the
    points of the partial cells around its neighbourhood tested one by one,
    plus B r**d / m, its cell's candidate cells, shared by m points.  Cells
    lambda times as wide hold lambda**d times as many points and an eps spans
    lambda times fewer of them; the cost is least for
    lambda**(2d + 1) = (2d B / A) r / m**2 (LEVEL_COST_RATIO for 2d B / A).
    A point's level is log2 lambda rounded; None when every level is 0.
    """
    features = np.arange(X.shape[1]) if features is None else np.asarray(features)
    n, d = eps_table.shape[0], len(features)
    columns = features if eps_table.shape[1] > 1 else [0]
    if not levels_apply(eps_table if eps_table.shape[1] == 1
                        else np.ascontiguousarray(eps_table[:, columns]), d):
        return None
    low, high = column_extent(X) if extent is None else extent
    cell = np.array(np.broadcast_to(cell, (X.shape[1],)), dtype=np.float64)
    cell[features] = numbered_cells(low[features], high[features], cell[features])[0]
    crowd = cell_populations(X, cell, n_threads, extent=(low, high))
    # log2 r: the mean over the features of log2 eps - log2 cell side.
    log_reach = np.zeros(n)
    with np.errstate(divide="ignore"):
        for k in columns:
            log_reach += np.log2(eps_table[:, k])
    log_reach = log_reach / len(columns) - np.log2(cell[features]).mean()
    level = np.rint((np.log2(LEVEL_COST_RATIO) + log_reach - 2 * np.log2(crowd)) / (2 * d + 1))
    level = np.clip(np.nan_to_num(level), -MAX_CELL_LEVEL, MAX_CELL_LEVEL).astype(np.intp)
    return level if level.any() else None


def cell_crowding(blocks):
    """The number of points in a point's cell, averaged over the points of a grid.

    ``blocks`` are the grid's cell boundaries over its points.
    """
    counts = np.diff(blocks)
    # (A sum of squares, not a matrix product: no BLAS threads for so little.)
    return float(np.square(counts).sum()) / max(1, blocks[-1])


def cell_refinement(blocks, d):
    """How much finer to make the cells of a grid whose cells hold many points (1: none).

    ``d`` is the number of features whose cells would be made finer.
    """
    if d >= TREE_MIN_FEATURES or d == 0:
        return 1.0
    crowding = cell_crowding(blocks)
    if crowding <= DENSE_CELL_POINTS:
        return 1.0
    return min(MAX_CELL_REFINEMENT, (crowding / REFINED_CELL_POINTS) ** (1.0 / d))


def grid_cell_size(typical, metric, p, window):
    """Cell sides for the grid: cells whose diagonal is the typical (median) eps row.

    With a constant eps every cell is then a clique (its points are mutual
    neighbours); window features get cells as wide as their eps.  From
    TREE_MIN_FEATURES features on, cells are as wide as the eps along every
    feature: so small a diagonal would leave about one point per cell, and
    the cell tree's searches cost what a tree over the points costs.
    """
    d = window.shape[0]
    typical = np.broadcast_to(typical, (d,))
    if d >= TREE_MIN_FEATURES:
        return np.array(typical, dtype=np.float64)
    n_norm = max(int(d - window.sum()), 1)
    diagonal = {"euclidean": np.sqrt(n_norm), "manhattan": n_norm, "chebyshev": 1.0}.get(
        metric, n_norm ** (1.0 / p))
    return np.where(window.astype(bool), typical, typical / diagonal)


def build_index(X, eps_table, space, algorithm="auto", *, leaf_size=40, lattice_shape=None,
                n_threads=1):
    """The neighbour index over X for eps rows ``eps_table``, as choose_algorithm says.

    Parameters
    ----------
    X : (n, d) float32/float64 array
        Points in the index's coordinates (``space.points``).
    eps_table : (1 or n, 1 or d) float64 array
        Radii in the index's coordinates (``space.eps``), in X's row order.
    space : FeatureSpace
        Metric, p, window and periodic features of X's columns.
    algorithm : {"auto", "grid", "ball_tree", "brute"}
    leaf_size : int
        Leaf size of the ball tree.
    lattice_shape : (d,) intp array or None
        The lattice of pts_ratio: bounds a lattice index when one is chosen.
    n_threads : int
        Threads for the build.
    """
    metric, p, window, periods = space.metric, space.p, space.window, space.periods
    kind = choose_algorithm(X, eps_table, algorithm, metric, p, window, lattice_shape,
                            periodic=periods is not None)
    index = new_index(kind, X, eps_table, metric, p, window, leaf_size=leaf_size,
                      lattice_shape=lattice_shape, n_threads=n_threads)
    if periods is not None:
        index.set_periods(periods, column_extent(eps_table)[1])
    return index


def new_index(kind, X, eps_table, metric, p, window, *, leaf_size=40, lattice_shape=None,
              n_threads=1):
    """An index of the kind ``kind`` ("lattice", "grid", "ball_tree" or "brute") over X."""
    if kind == "lattice":
        return LatticeIndex(X, metric, p, bounds=lattice_shape,
                            window_features=np.flatnonzero(window))
    if kind == "brute":
        return BruteIndex(X, metric, p, window)
    if kind == "grid":
        return new_cell_grid(X, eps_table, metric, p, window, n_threads)
    # Per-point eps: the tree keeps points of different eps sizes apart.
    scale = eps_table.max(axis=1) if eps_table.shape[0] > 1 else None
    return BallTree(X, leaf_size, metric, p, window_features=np.flatnonzero(window),
                    scale=scale, n_jobs=n_threads)


def unsplit_window_features(X, cell, window, n_threads, extent=None):
    """Mask of the window features whose cells would not split the other features' cells
    (fewer than WINDOW_MIN_SPLIT cells per column on average, see occupied_cells).
    ``extent`` is X's column_extent when known."""
    unsplit = np.zeros(X.shape[1], dtype=bool)
    if window.all():
        return unsplit
    for k in np.flatnonzero(window):
        cells, columns = occupied_cells(X, cell, k, n_threads, extent)
        unsplit[k] = cells < WINDOW_MIN_SPLIT * columns
    return unsplit


def new_cell_grid(X, eps_table, metric, p, window, n_threads):
    """The cell grid over X for eps rows ``eps_table``: cell sizes or levels, row feature,
    refinement."""
    d = X.shape[1]
    typical = np.broadcast_to(typical_eps(eps_table), (d,))
    cell = grid_cell_size(typical, metric, p, window)
    one_cell = np.zeros(d, dtype=bool)
    if d < TREE_MIN_FEATURES and X.shape[0] > 0 and window.any():
        extent = column_extent(X)
        one_cell = unsplit_window_features(X, cell, window.astype(bool), n_threads, extent)
    if one_cell.any():
        low, high = extent
        # Wider than the span, at any level: one cell along the feature.
        cell = np.where(one_cell, (2.0 * (high - low) + 1.0) * 2.0 ** MAX_CELL_LEVEL, cell)
        # Levels (cell_levels) of the features that have cells.
        level = cell_levels(X, cell, eps_table, n_threads, features=np.flatnonzero(~one_cell),
                            extent=extent)
    else:
        level = cell_levels(X, cell, eps_table, n_threads)
    along = most_varying_feature(eps_table, typical)
    row_scale = None if along is None else eps_table[:, along] / typical[along]
    if along is not None and one_cell[along]:
        along, row_scale = None, None
    if along is None and one_cell.any():
        # Rows along a feature that has cells (one_cell is never all features).
        along = int(np.flatnonzero(~one_cell)[-1])
    if level is not None:
        # Cells sized to each point's eps (cell_levels) instead of refined ones.
        return CellGrid(X, cell, metric, p, window, row_feature=along, row_scale=row_scale,
                        cell_level=level, n_threads=n_threads)

    def grid_of(cell):
        return CellGrid(X, cell, metric, p, window, row_feature=along,
                        row_scale=row_scale, n_threads=n_threads)

    grid = grid_of(cell)
    refine = cell_refinement(grid.blocks, d - int(one_cell.sum()))
    if refine > 1:
        finer = grid_of(np.where(one_cell, cell, cell / refine))
        # Points packed closer than the finer cells (a dense spot) stay crowded:
        # the finer grid would only search more cells.
        if cell_crowding(finer.blocks) < 0.75 * cell_crowding(grid.blocks):
            grid = finer
    return grid
