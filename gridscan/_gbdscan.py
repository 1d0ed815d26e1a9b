"""GBDSCAN: grid-based DBSCAN for radar cells (gate, beam[, scan])."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from gridscan._gbdscan_inner import (
    CellProblem,
    CellSet,
    by_first_appearance,
    cell_numbers,
    check_cells,
    distinct_cells,
    position_table,
    stencil_reach,
    stencil_widths,
)
from gridscan._prediction_cache import PredictionCache
from gridscan._validation import effective_n_threads

# Internal order of a cell's coordinates: scan first and beam last, so that the
# cells of one gate row along the beam axis have consecutive cell numbers.
SCAN, GATE, BEAM = 0, 1, 2


class GBDSCAN(PredictionCache, ClusterMixin, BaseEstimator):
    """Grid-based DBSCAN for radar data on a gate x beam x scan grid.

    Clusters occupied radar cells with the neighbourhood of Kellner et al.
    (2012) as used for SuperDARN data: an ellipse of ``g`` gates by ``b_i``
    beams, whose beam half-axis ``b_i`` shrinks with the range of gate i (so
    the ellipse keeps its size on the ground), a window of ``scan_eps`` scans,
    and a minimum number of occupied cells relative to the number of grid cells
    the neighbourhood covers (``pts_ratio``). Its index of the occupied cells
    turns every neighbourhood into a few ranges of cells precomputed per gate
    and beam, so no distance is computed at all.

    Parameters
    ----------
    f : float, default=0.2
        Scales the beam half-axis: ``b_i = g / (f * C_i)``; larger means narrower.
    g : float, default=1.0
        Gate half-axis of the ellipse, in gates.
    pts_ratio : float in (0, 1], default=0.3
        A cell is core when its neighbourhood holds at least
        ``pts_ratio * P`` occupied cells, P being the number of grid cells the
        neighbourhood covers (clipped to the grid).
    dr : float, default=45.0
        Gate length (km).
    dtheta : float in (0, 180), default=3.24
        Beam width (degrees).
    r_init : float, default=180.0
        Range of gate 0 (km); ``r_init + gate * dr`` must be positive for every
        gate in the data.
    scan_eps : int, default=1
        Scans on each side that belong to the neighbourhood; 0 clusters scan
        by scan.
    n_gates, n_beams, n_scans : int, default=None
        Size of the grid (75 gates and 16 beams for SuperDARN radars); None
        takes the largest value in the data plus one. The grid bounds matter:
        near its edges the neighbourhood covers fewer cells. To match the
        reference code give its ``nrang``, ``nbeam`` and number of scans
        (trailing scans without echoes included). Scan numbers may be large
        (seconds, say): only the occupied cells are stored.
    periodic_beams : bool, default=False
        Whether the beams wrap around: True for a radar that turns full
        circle (a weather radar's 360 rays), so that the last beam neighbours
        beam 0 and the beam distance is the shorter way round; False for a
        fan such as SuperDARN's 16 beams.
    mode : {"consistent", "reference"}, default="consistent"
        ``"consistent"``: DBSCAN's rules; labels independent of the row order.
        ``"reference"``: exactly the labels the reference implementation
        reports, scan by scan, which depend on the row order. See Notes.
    n_jobs : int, default=None
        OpenMP threads; None uses OMP_NUM_THREADS or all cores. The labels
        never depend on it.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each row, -1 for noise. Rows in the same cell and scan share
        a label.
    core_sample_indices_ : ndarray of shape (n_core_samples,)
        Rows whose cell is a core cell, ascending.
    components_ : ndarray of shape (n_core_samples, ``n_features_in_``)
        Copy of each core row.
    n_gates_, n_beams_, n_scans_ : int
        The grid used.
    n_features_in_ : int
        2 (gate, beam) or 3 (gate, beam, scan).
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names seen during fit, when X was a DataFrame with string names.

    See Also
    --------
    GridDBSCAN : the general estimator; ``GridDBSCAN(sample_eps=...,
        window_features=..., neighbors="query", pts_ratio=..., grid_shape=...)``
        on the distinct cells gives the consistent mode's labels.

    Notes
    -----
    Neighbourhood of a cell p = (gate i, beam j, scan s): the occupied cells
    (i', j', s') of the grid with ``(i' - i)**2 / g**2 + (j' - j)**2 / b**2 <= 1``
    and ``|s' - s| <= scan_eps``, p itself included. ``b = g / (f * C)`` with
    ``C = r_i / (2 dr) * (sin(dt (j + 1) - dt j) + sin(dt j - dt (j - 1)))``,
    ``r_i = r_init + i dr`` and dt = dtheta in radians, evaluated in this form
    as the reference does (it is ``r_i sin(dt) / dr`` up to rounding). Several
    rows in one cell and scan are one occupied cell. P(p) is the number of
    grid cells in the ellipse times the number of scans in the window, both
    clipped to the grid; p is core when its neighbourhood holds at least
    ``pts_ratio * P(p)`` cells. Near the grid edges P is smaller, so even a
    lone corner cell can be core. With ``periodic_beams`` the beam difference
    ``j' - j`` is taken the shorter way round the circle of ``n_beams`` beams,
    so there is no beam edge (the gate and scan edges remain).

    For a weather radar (a full circle of rays about 1 degree apart and gates
    of 0.25 to 1 km) the SuperDARN defaults do not fit: give ``dtheta`` the
    ray spacing in degrees, ``dr`` and ``r_init`` the gate spacing and the
    range of gate 0 in km, ``periodic_beams=True``, and choose ``f`` and
    ``g`` for the size of the ellipse on the ground: its half-axes are ``g``
    gates along the beam and ``g / f`` gate lengths across it
    (``b * r dtheta = g dr / f``) at every range, so ``f=1, g=4`` is a circle
    of 1 km radius with 250 m gates. On Py-ART's KLOT rain-rate sample
    (39,241 gates over 0.1 mm/h) the SuperDARN defaults give 4,142 clusters;
    ``f=1, g=4`` gives 1,370, 141 of them of 50 gates or more, with 4% noise.
    The core rule is relative (``pts_ratio`` of the cells covered), so small
    dense specks stay clusters of their own: filter clusters by size, or use
    :class:`GridDBSCAN` with an absolute ``min_samples`` (the README's
    weather-radar recipe finds 58 clusters on the same sweep).

    **mode="consistent"** applies DBSCAN's rules to that neighbourhood:
    clusters are the connected components of the core cells (an edge when
    either lies in the other's neighbourhood), numbered in the order of their
    first core cell in (scan, gate, beam) order; a non-core cell in the
    neighbourhood of core cells takes the smallest of their labels; the rest
    is noise. The labels themselves (not only the partition) do not depend on
    the row order or the number of threads. Use it for new analyses.

    **mode="reference"** reproduces the labels of the reference implementation
    (Robb et al., the SuperDARN clustering code, ``GridBasedDBAlgorithm``)
    exactly, including what depends on the row order. Its loop, quirks
    included:

    - scans are visited in ascending order, and the rows of a scan in input
      order; a row whose cell already has a label (a cluster or noise) is
      skipped, so repeated rows of one cell in one scan share its label;
    - an unlabelled cell that is not core becomes noise;
    - an unlabelled core cell starts a new cluster: every cell of its
      neighbourhood, itself included, takes the new id *whatever label it
      had* (so a seed may split or swallow an earlier cluster), and all of
      them are queued;
    - each queued cell that is core gives the new id to its neighbours that
      are unlabelled or noise, and queues only those that were unlabelled; a
      border cell therefore stays with the first cluster that reached it;
    - the labels of a scan's rows are read **when the loop has finished that
      scan**: a later scan may still relabel cells of earlier scans within its
      window (and those labels steer its own expansion), but what was
      reported for the earlier scan stays;
    - ids are renumbered 0, 1, ... by first appearance in ``labels_`` (an id
      whose cells were all taken over before their scan was reported does not
      appear); a scan without rows is visited with nothing to do.

    Use it to match published results computed with the reference code. The
    core cells are found in parallel (they do not depend on labels); the
    expansion itself is sequential.

    ``predict`` gives a new cell the smallest label among the clusters that
    have a core cell whose neighbourhood holds it, else -1. In consistent mode
    this rule reproduces ``labels_`` for the training rows. In reference mode
    the labels of core cells are those ``labels_`` reports, and a cell seen in
    ``fit`` keeps the label ``fit`` reported for it, so ``predict(X_train)``
    equals ``labels_`` in both modes.

    The neighbourhood test is gridscan's compiled kernel,
    ``(di / g)**2 + (dj / b)**2 <= 1``, which equals the reference's
    ``di**2 / g**2 + dj**2 / b**2 <= 1`` except for rounding at points lying
    exactly on the ellipse, which b values obtained from the sine formula do
    not produce.

    References
    ----------
    Kellner, Klappstein and Dietmayer, "Grid-based DBSCAN for clustering
    extended objects in radar data", IEEE Intelligent Vehicles Symposium 2012.

    Examples
    --------
    On a 75 x 16 SuperDARN grid, a lone cell at gate 74, beam 15 is a cluster:
    its clipped ellipse covers 3 cells and 0.3 * 3 <= 1. A lone cell at gate
    40 covers 7 cells and needs 3; three neighbours in a row make it. Clusters
    are numbered by their first core cell in (scan, gate, beam) order, so the
    cells at gate 20 form cluster 0 whatever the order of the rows:

    >>> import numpy as np
    >>> from gridscan import GBDSCAN
    >>> X = np.array([[74, 15], [40, 8], [20, 3], [20, 4], [20, 5]])
    >>> GBDSCAN(n_gates=75, n_beams=16).fit_predict(X)
    array([ 1, -1,  0,  0,  0])

    With a scan column, the window of +-1 scan counts both occupied cells and
    covered cells. The corner cell in scan 0 sees 2 of 6 cells (core, as
    0.3 * 6 <= 2); in scan 1 it sees 2 of 9 (a border cell); in scan 3 it is
    alone among 6 (noise):

    >>> X = np.array([[74, 15, 0], [74, 15, 1], [74, 15, 3]])
    >>> GBDSCAN(n_gates=75, n_beams=16).fit(X).labels_
    array([ 0,  0, -1])
    """

    _parameter_constraints: dict = {
        "f": [Interval(Real, 0.0, None, closed="neither")],
        "g": [Interval(Real, 0.0, None, closed="neither")],
        "pts_ratio": [Interval(Real, 0.0, 1.0, closed="right")],
        "dr": [Interval(Real, 0.0, None, closed="neither")],
        "dtheta": [Interval(Real, 0.0, 180.0, closed="neither")],
        "r_init": [Interval(Real, None, None, closed="neither")],
        "scan_eps": [Interval(Integral, 0, None, closed="left")],
        "n_gates": [Interval(Integral, 1, None, closed="left"), None],
        "n_beams": [Interval(Integral, 1, None, closed="left"), None],
        "n_scans": [Interval(Integral, 1, None, closed="left"), None],
        "periodic_beams": ["boolean"],
        "mode": [StrOptions({"consistent", "reference"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        f=0.2,
        g=1.0,
        pts_ratio=0.3,
        *,
        dr=45.0,
        dtheta=3.24,
        r_init=180.0,
        scan_eps=1,
        n_gates=None,
        n_beams=None,
        n_scans=None,
        periodic_beams=False,
        mode="consistent",
        n_jobs=None,
    ):
        self.f = f
        self.g = g
        self.pts_ratio = pts_ratio
        self.dr = dr
        self.dtheta = dtheta
        self.r_init = r_init
        self.scan_eps = scan_eps
        self.n_gates = n_gates
        self.n_beams = n_beams
        self.n_scans = n_scans
        self.periodic_beams = periodic_beams
        self.mode = mode
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster the occupied cells X.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2) or (n_samples, 3)
            Integer cells: gate, beam and optionally scan (0 when absent).
            Rows may repeat a cell.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : GBDSCAN
            The fitted estimator.
        """
        X = validate_data(self, X, dtype="numeric")
        n_threads = effective_n_threads(self.n_jobs, X.shape[0])
        values = _cell_values(X)
        largest, lowest_gate = _check_cells(values)
        grid = self._grid(largest)
        numbers = _cell_numbers(values, grid)
        self._check_ranges(lowest_gate)
        # The distinct cells in (scan, gate, beam) order: clusters are numbered by
        # their first core cell in that order, whatever the order of the rows.
        distinct, coords, row_cell, start = distinct_cells(values, numbers, grid)
        widths = self._stencil_widths(grid)
        cells = CellSet(distinct, coords, start, grid, self.scan_eps, widths,
                        bool(self.periodic_beams))
        # Core cells do not depend on labels: found in parallel in both modes.
        is_core = cells.core_flags(float(self.pts_ratio), n_threads)
        if self.mode == "consistent":
            labels = cells.cluster_labels(is_core, n_threads)
            self.labels_ = labels[row_cell]
            self._reported = None
        else:
            self.labels_ = np.empty(X.shape[0], dtype=np.intp)
            n_clusters = cells.reference_labels(is_core, row_cell, cells.scan_order(row_cell),
                                                self.labels_)
            by_first_appearance(self.labels_, n_clusters)
            # A cell's rows all lie in one scan and report one label: the cell's label.
            labels = np.empty(distinct.shape[0], dtype=np.intp)
            labels[row_cell] = self.labels_
            self._reported = (distinct, labels)
        core_rows = is_core.view(bool)[row_cell]
        self.core_sample_indices_ = np.flatnonzero(core_rows)
        self.components_ = np.take(X, self.core_sample_indices_, axis=0)
        self.n_gates_, self.n_beams_, self.n_scans_ = (int(grid[GATE]), int(grid[BEAM]),
                                                       int(grid[SCAN]))
        # predict searches the core cells with the stencils and window of this fit.
        self._cells = (distinct, coords, is_core, labels, widths, int(self.scan_eps),
                       bool(self.periodic_beams))
        self._predict_index = None
        return self

    def fit_predict(self, X, y=None):
        """Cluster X and return the labels (``fit(X).labels_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, 2) or (n_samples, 3)
            Integer cells: gate, beam and optionally scan.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels; -1 for noise.
        """
        return self.fit(X).labels_

    def predict(self, X):
        """Label cells by the clusters of the core cells whose neighbourhood holds them.

        A cell takes the smallest label among the clusters with a core cell c
        such that the cell lies in c's neighbourhood, else -1. In reference
        mode a cell seen in ``fit`` keeps the label reported for it there.
        Either way ``predict`` on the training rows gives ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ``n_features_in_``)
            Integer cells on the fitted grid.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels; -1 for noise.
        """
        check_is_fitted(self, "labels_")
        X = validate_data(self, X, reset=False, dtype="numeric", ensure_min_samples=0)
        values = _cell_values(X)
        _, lowest_gate = _check_cells(values)
        grid = np.array([self.n_scans_, self.n_gates_, self.n_beams_], dtype=np.int64)
        numbers = _cell_numbers(values, grid)
        self._check_ranges(lowest_gate)
        if self._predict_index is None:
            self._predict_index = self._core_cell_set(grid)
        core_cells, core_labels = self._predict_index
        queries = np.empty((X.shape[0], 3), dtype=np.int64)
        queries[:, GATE] = values[:, 0]
        queries[:, BEAM] = values[:, 1]
        queries[:, SCAN] = values[:, 2] if values.shape[1] == 3 else 0
        labels = core_cells.predict(queries, core_labels,
                                    effective_n_threads(self.n_jobs, X.shape[0]))
        if self._reported is not None:
            # Reference mode: a cell seen in fit keeps the label fit reported for it.
            cells, reported = self._reported
            at = np.minimum(np.searchsorted(cells, numbers), cells.shape[0] - 1)
            seen = cells[at] == numbers
            labels[seen] = reported[at[seen]]
        return labels

    def _core_cell_set(self, grid):
        """(CellSet of the fitted core cells, their labels): what predict searches."""
        distinct, coords, is_core, labels, widths, scan_eps, periodic_beams = self._cells
        core = is_core.astype(bool)
        numbers = distinct[core]
        start = position_table(numbers, grid)
        return (CellSet(numbers, np.ascontiguousarray(coords[core]), start, grid, scan_eps,
                        widths, periodic_beams), labels[core])

    def _stencil_widths(self, grid):
        """(n_gates * n_beams, 2 reach + 1) int32 beam half-widths of the stencil of every
        (gate, beam), one per gate offset (gridscan._gbdscan_inner, Stencils)."""
        half_axes = np.ascontiguousarray(self._beam_half_axes(grid).reshape(-1))
        reach = stencil_reach(float(self.g), int(grid[GATE]))
        widths = np.empty((half_axes.shape[0], 2 * reach + 1), dtype=np.int32)
        stencil_widths(half_axes, float(self.g), reach, int(grid[BEAM]), widths)
        return widths

    def _grid(self, largest):
        """(n_scans, n_gates, n_beams): given, or the largest cell in the data plus one."""
        sizes = [self.n_scans, self.n_gates, self.n_beams]
        grid = [int(largest[k]) + 1 if sizes[k] is None else int(sizes[k]) for k in range(3)]
        if math.prod(grid) >= 2 ** 62:
            raise ValueError(
                f"the grid of {grid[GATE]} gates x {grid[BEAM]} beams x {grid[SCAN]} scans "
                "is too large; give n_gates, n_beams and n_scans that fit the data")
        return np.array(grid, dtype=np.int64)

    def _check_ranges(self, lowest):
        """ValueError unless r_init + gate * dr > 0 from the lowest gate on (C = 0 at range 0)."""
        lowest = int(lowest)
        r_lowest = self.r_init + self.dr * lowest
        if not r_lowest > 0:
            raise ValueError(
                f"the range r_init + gate * dr must be > 0 for every gate in X; gate {lowest} "
                f"gives {r_lowest!r} (r_init={self.r_init!r}, dr={self.dr!r})")

    def _beam_half_axes(self, grid):
        """(n_gates, n_beams) table of b = g / (f * C), inf where the range is not positive."""
        dt = self.dtheta * math.pi / 180.0
        dr = float(self.dr)
        # The reference's long form of C, beam by beam (equal to 2 sin(dt) up to rounding).
        arcs = np.array([math.sin(dt * (j + 1.0) - dt * j) + math.sin(dt * j - dt * (j - 1.0))
                         for j in range(int(grid[BEAM]))])
        ranges = (self.r_init + dr * np.arange(int(grid[GATE]), dtype=np.float64)) / (2.0 * dr)
        with np.errstate(divide="ignore"):
            half_axes = self.g / (self.f * (ranges[:, None] * arcs[None, :]))
        return half_axes


def _cell_values(X):
    """X as a C-contiguous int64 or float64 array of 2 or 3 columns."""
    if X.shape[1] not in (2, 3):
        raise ValueError(
            f"X has {X.shape[1]} feature(s); expected 2 columns (gate, beam) or 3 "
            "(gate, beam, scan)")
    if X.dtype.kind == "f":
        return np.ascontiguousarray(X, dtype=np.float64)
    if X.dtype.kind == "u" and X.dtype.itemsize == 8:
        # Beyond 2**62 every value is off any grid; clipping keeps the cast exact.
        X = np.minimum(X, np.uint64(2 ** 62))
    return np.ascontiguousarray(X, dtype=np.int64)


def _check_cells(values):
    """(largest (scan, gate, beam), smallest gate); ValueError naming the first bad row."""
    bad, problem, largest, lowest_gate = check_cells(values)
    if bad >= 0:
        row = values[bad].tolist()
        if problem == CellProblem.NOT_INTEGER:
            raise ValueError(f"X must hold integer cells (gate, beam[, scan]); X[{bad}] = {row}")
        if problem == CellProblem.NEGATIVE_SCAN:
            raise ValueError(f"scans must be >= 0; X[{bad}] has scan {row[2]}")
        raise ValueError(f"X[{bad}] = {row} lies outside the grid: gates and beams must be >= 0")
    return largest, lowest_gate


def _cell_numbers(values, grid):
    """Cell number of every row; ValueError naming the first row off the grid."""
    numbers = np.empty(values.shape[0], dtype=np.int64)
    off = cell_numbers(values, grid, numbers)
    if off >= 0:
        raise ValueError(
            f"X[{off}] = {values[off].tolist()} lies outside the grid of {grid[GATE]} gates x "
            f"{grid[BEAM]} beams x {grid[SCAN]} scans")
    return numbers
