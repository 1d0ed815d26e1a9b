"""GBDSCAN against plain-Python implementations of docs/semantics.rst, 'GBDSCAN on radar grids'.

``SpecGrid`` computes neighbourhoods and covered cells exactly as docs/semantics.rst
(and the reference implementation) writes them: a box scan with the ellipse
test ``di**2 / g**2 + dj**2 / b**2 <= 1.0`` and C in its long form.
``reference_partition`` is the reference algorithm, visiting order and
overwriting seed included; ``consistent_partition`` applies 'Clusters and labels'
by brute force.
"""

import math
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from gridscan import GBDSCAN, GridDBSCAN

DEFAULTS = dict(f=0.2, g=1.0, pts_ratio=0.3, dr=45.0, dtheta=3.24, r_init=180.0, scan_eps=1)


class SpecGrid:
    """Neighbourhoods of occupied cells by docs/semantics.rst, 'Neighbourhood', brute force."""

    def __init__(self, cells, params, n_gates, n_beams, n_scans, periodic_beams=False):
        self.occupied = set(cells)
        self.p = params
        self.n_gates, self.n_beams, self.n_scans = n_gates, n_beams, n_scans
        self.periodic_beams = periodic_beams
        self.cache = {}

    def half_axis(self, i, j):
        p = self.p
        dt = p["dtheta"] * math.pi / 180.0
        c = (p["r_init"] + p["dr"] * i) / (2.0 * p["dr"]) * (
            math.sin(dt * (j + 1.0) - dt * j) + math.sin(dt * j - dt * (j - 1.0)))
        return p["g"] / (p["f"] * c)

    def region(self, cell):
        """(occupied neighbours, number of grid cells covered) of a cell."""
        if cell not in self.cache:
            i, j, s = cell
            g, b, w = self.p["g"], self.half_axis(i, j), self.p["scan_eps"]
            hg, hb = math.ceil(g), math.ceil(b)
            found, covered = [], 0
            if self.periodic_beams:     # every beam, the shorter way round
                beams = range(self.n_beams)
            else:
                beams = range(max(0, j - hb), min(self.n_beams, j + hb + 1))
            for i2 in range(max(0, i - hg), min(self.n_gates, i + hg + 1)):
                for j2 in beams:
                    dj = min(abs(j2 - j), self.n_beams - abs(j2 - j)) if self.periodic_beams \
                        else j2 - j
                    if (i2 - i) ** 2.0 / g ** 2.0 + dj ** 2.0 / b ** 2.0 <= 1.0:
                        for s2 in range(max(0, s - w), min(self.n_scans, s + w + 1)):
                            covered += 1
                            if (i2, j2, s2) in self.occupied:
                                found.append((i2, j2, s2))
            self.cache[cell] = (found, covered)
        return self.cache[cell]

    def is_core(self, cell):
        found, covered = self.region(cell)
        return len(found) >= self.p["pts_ratio"] * covered


def reference_partition(rows, grid, report_each_scan=True):
    """The published loop (docs/semantics.rst, section 'Reference mode'), labels per row
    as it reports them.

    Scans are visited in order and each scan's rows in input order; the labels
    of a scan's rows are read as soon as the loop has finished that scan, so a
    later scan may relabel those cells without changing what was reported.
    ``report_each_scan=False`` reads every label after the last scan instead.
    """
    labels = {}
    reported = [None] * len(rows)
    cluster = 0
    for scan in sorted({row[2] for row in rows}):
        members = [r for r in range(len(rows)) if rows[r][2] == scan]
        for row in members:
            cell = rows[row]
            if cell in labels:
                continue
            if not grid.is_core(cell):
                labels[cell] = -1
                continue
            seeds = list(grid.region(cell)[0])
            for member in seeds:
                labels[member] = cluster
            while seeds:
                current = seeds.pop(0)
                if not grid.is_core(current):
                    continue
                for member in grid.region(current)[0]:
                    if member not in labels:
                        seeds.append(member)
                        labels[member] = cluster
                    elif labels[member] == -1:
                        labels[member] = cluster
            cluster += 1
        for row in members:
            reported[row] = labels[rows[row]]
    if not report_each_scan:
        reported = [labels[cell] for cell in rows]
    return by_first_appearance(reported)


def consistent_partition(rows, grid):
    """The rules of docs/semantics.rst with neighbors="query" and the adaptive minimum, per
    row; clusters numbered by their first core cell in (scan, gate, beam) order."""
    core = [grid.is_core(cell) for cell in rows]
    core_cells = {cell for cell, c in zip(rows, core, strict=True) if c}
    edges = {cell: set() for cell in core_cells}
    for cell in core_cells:
        for other in grid.region(cell)[0]:
            if other in core_cells:
                edges[cell].add(other)
                edges[other].add(cell)
    label_of = {}
    next_label = 0
    # Clusters are numbered by their first core cell in (scan, gate, beam) order.
    for cell in sorted(core_cells, key=lambda cell: (cell[2], cell[0], cell[1])):
        if cell not in label_of:
            stack = [cell]
            label_of[cell] = next_label
            while stack:
                for other in edges[stack.pop()]:
                    if other not in label_of:
                        label_of[other] = next_label
                        stack.append(other)
            next_label += 1
    labels = []
    for cell, c in zip(rows, core, strict=True):
        if c:
            labels.append(label_of[cell])
        else:
            holders = [label_of[p] for p in core_cells if cell in grid.region(p)[0]]
            labels.append(min(holders, default=-1))
    return np.array(labels)


def by_first_appearance(labels):
    """Labels renumbered 0, 1, ... in order of first appearance (-1 kept)."""
    mapping = {}
    out = []
    for label in labels:
        if label >= 0 and label not in mapping:
            mapping[label] = len(mapping)
        out.append(mapping.get(label, -1))
    return np.array(out)


def random_case(rng):
    """Random rows (gate, beam, scan), parameters and grid: blobs, noise and repeated rows."""
    n_gates, n_beams = int(rng.integers(3, 40)), int(rng.integers(2, 17))
    n_scans = int(rng.integers(1, 5))
    n = int(rng.integers(1, 100))
    centres = rng.integers(0, [n_gates, n_beams, n_scans], size=(int(rng.integers(1, 5)), 3))
    rows = centres[rng.integers(0, len(centres), n)] + np.round(
        rng.normal(0, rng.uniform(0.5, 4), size=(n, 3)) * [1, 1, 0.5]).astype(int)
    rows = np.clip(rows, 0, [n_gates - 1, n_beams - 1, n_scans - 1])
    if rng.random() < 0.5:
        rows = np.vstack([rows, rows[rng.integers(0, n, int(rng.integers(1, n + 1)))]])
    rows = rows[rng.permutation(len(rows))]
    params = dict(DEFAULTS)
    params["f"] = float(rng.choice([0.2, rng.uniform(0.05, 1.0)]))
    params["g"] = float(rng.choice([1.0, 1.0, 2.0, rng.uniform(0.5, 3.0)]))
    params["pts_ratio"] = float(rng.choice([0.3, rng.uniform(0.02, 1.0)]))
    params["scan_eps"] = int(rng.choice([0, 1, 1, 2]))
    if rng.random() < 0.3:
        params.update(dr=float(rng.uniform(10, 60)), dtheta=float(rng.uniform(1, 10)),
                      r_init=float(rng.uniform(1, 400)))
    grid = (n_gates, n_beams, n_scans)
    if rng.random() < 0.3:
        grid = tuple(int(v) for v in rows.max(axis=0) + 1)
    return rows, params, grid


def spec_grid(rows, params, grid):
    return SpecGrid([tuple(r) for r in rows.tolist()], params, *grid)


def estimator(params, grid, **kw):
    # One thread: hundreds of tiny fits; test_labels_do_not_depend_on_threads covers more.
    kw.setdefault("n_jobs", 1)
    return GBDSCAN(**params, n_gates=grid[0], n_beams=grid[1], n_scans=grid[2], **kw)


def same_partition(a, b):
    return np.array_equal(by_first_appearance(a), by_first_appearance(b))


def test_reference_mode_reproduces_the_reference_algorithm():
    rng = np.random.default_rng(0)
    clusters_seen = 0
    for _ in range(400):
        rows, params, grid = random_case(rng)
        expected = reference_partition([tuple(r) for r in rows.tolist()],
                                       spec_grid(rows, params, grid))
        est = estimator(params, grid, mode="reference").fit(rows)
        assert np.array_equal(est.labels_, expected), (rows.tolist(), params, grid)
        # predict gives back what fit reported for every cell seen in fit.
        assert np.array_equal(est.predict(rows), est.labels_)
        clusters_seen += expected.max() + 1
    assert clusters_seen > 300


def test_reference_mode_reports_each_scan_when_it_is_done():
    # Scan 0: (6, 8) and (5, 7) each see 3 of 36 covered cells, below 3.6: noise.
    # Scan 1: (6, 7) sees 4 and is core; its seed relabels the scan-0 cells, but
    # scan 0 was reported as noise when the loop finished it.
    X = np.array([[6, 8, 0], [5, 7, 0], [6, 7, 1], [6, 5, 1]])
    kw = dict(pts_ratio=0.1, n_gates=10, n_beams=16)
    reference = GBDSCAN(**kw, mode="reference").fit(X)
    assert reference.labels_.tolist() == [-1, -1, 0, 0]
    assert reference.predict(X).tolist() == [-1, -1, 0, 0]
    assert GBDSCAN(**kw).fit_predict(X).tolist() == [0, 0, 0, 0]
    expected = reference_partition([tuple(r) for r in X.tolist()],
                                   SpecGrid([tuple(r) for r in X.tolist()],
                                            dict(DEFAULTS, pts_ratio=0.1), 10, 16, 2))
    assert expected.tolist() == [-1, -1, 0, 0]


def test_reported_labels_differ_from_the_final_state_on_some_grids():
    # The snapshot matters: on some random multi-scan grids the labels at the end
    # differ from what the loop reported, and reference mode gives the reported ones.
    rng = np.random.default_rng(11)
    differing = 0
    for _ in range(300):
        rows, params, grid = random_case(rng)
        cells = [tuple(r) for r in rows.tolist()]
        spec = spec_grid(rows, params, grid)
        reported = reference_partition(cells, spec)
        if not np.array_equal(reported, reference_partition(cells, spec, False)):
            differing += 1
            got = estimator(params, grid, mode="reference").fit(rows).labels_
            assert np.array_equal(got, reported)
    assert differing >= 5


def test_reference_mode_predicts_new_cells_by_the_core_cells():
    X = np.array([[40, 7, 0], [40, 8, 0], [40, 9, 0], [40, 7, 1], [40, 8, 1], [40, 9, 1],
                  [60, 2, 0]])
    est = GBDSCAN(n_gates=75, n_beams=16, mode="reference").fit(X)
    assert est.labels_.tolist() == [0, 0, 0, 0, 0, 0, -1]
    # New cells: (41, 8, 0) is one gate from the core cell (40, 8, 0), (40, 10, 1) one
    # beam from (40, 9, 1); (45, 8, 1) is far from every core cell; the noise cell
    # (60, 2, 0) keeps its label from fit.
    assert est.predict([[41, 8, 0], [40, 10, 1], [45, 8, 1], [60, 2, 0]]).tolist() == [
        0, 0, -1, -1]


def test_consistent_mode_follows_the_spec_rules():
    rng = np.random.default_rng(1)
    for _ in range(300):
        rows, params, grid = random_case(rng)
        expected = consistent_partition([tuple(r) for r in rows.tolist()],
                                        spec_grid(rows, params, grid))
        est = estimator(params, grid).fit(rows)
        assert np.array_equal(est.labels_, expected), (rows.tolist(), params, grid)
        assert np.array_equal(est.predict(rows), est.labels_)


def test_grids_too_large_for_dense_tables():
    # 10**7 scans: cells are deduplicated by sorting and the lattice spans the data only,
    # so P(p) is counted by the generic box scan; the answers must not change.
    rng = np.random.default_rng(7)
    for _ in range(30):
        rows, params, grid = random_case(rng)
        rows[:, 2] += 5_000_000
        grid = (grid[0], grid[1], 10 ** 7)
        cells = [tuple(r) for r in rows.tolist()]
        spec = spec_grid(rows, params, grid)
        assert np.array_equal(estimator(params, grid).fit(rows).labels_,
                              consistent_partition(cells, spec))
        assert np.array_equal(estimator(params, grid, mode="reference").fit(rows).labels_,
                              reference_partition(cells, spec))


def test_modes_differ_on_some_grids_and_reference_still_matches():
    # The modes part ways where a seed overwrites another cluster or a border cell
    # sits between clusters; such grids must exist, and the reference must still match.
    rng = np.random.default_rng(5)
    differing = 0
    for _ in range(200):
        rows, params, grid = random_case(rng)
        ref = estimator(params, grid, mode="reference").fit(rows).labels_
        con = estimator(params, grid).fit(rows).labels_
        if not same_partition(ref, con):
            differing += 1
            expected = reference_partition([tuple(r) for r in rows.tolist()],
                                           spec_grid(rows, params, grid))
            assert np.array_equal(ref, expected)
    assert differing > 0


@pytest.mark.parametrize("mode", ["consistent", "reference"])
def test_hand_computed_cells_on_the_superdarn_grid(mode):
    est = GBDSCAN(n_gates=75, n_beams=16, mode=mode)
    # The clipped ellipse of the corner cell covers 3 cells and 0.3 * 3 <= 1.
    assert est.fit_predict([[74, 15]]).tolist() == [0]
    # At gate 40, b = 2.01: 5 cells along the beam plus 2 along the gates; needs 2.1.
    assert est.fit_predict([[40, 8]]).tolist() == [-1]
    assert est.fit_predict([[40, 8], [40, 9]]).tolist() == [-1, -1]
    assert est.fit_predict([[40, 7], [40, 8], [40, 9]]).tolist() == [0, 0, 0]
    # Beam 11 is 3 beams from 8 (outside b = 2.01), so it stays alone.
    assert est.fit_predict([[40, 7], [40, 8], [40, 9], [40, 12]]).tolist() == [0, 0, 0, -1]
    # Repeated rows are one occupied cell: two copies do not make a lone cell core.
    assert est.fit_predict([[40, 8], [40, 8], [40, 8]]).tolist() == [-1, -1, -1]
    # A scan window: the corner cell in scan 0 sees 2 of 6 cells, in scan 1 2 of 9.
    labels = est.fit([[74, 15, 0], [74, 15, 1], [74, 15, 3]])
    assert labels.labels_.tolist() == [0, 0, -1]
    assert labels.core_sample_indices_.tolist() == [0]


def test_half_axis_shrinks_with_range():
    est = GBDSCAN(n_gates=75, n_beams=16)
    # Gate 0 (b ~ 22): the ellipse spans all 16 beams, plus the cell of gate 1 in the
    # same beam (gate -1 is off the grid): 17 cells, so 5.1 are needed.
    row = [[0, j] for j in range(16)]
    assert est.fit_predict(row[:5]).tolist() == [-1] * 5
    assert est.fit_predict(row[:6]).tolist() == [0] * 6
    # Beams 0 and 15 are neighbours at gate 0.
    assert est.fit_predict(row[:5] + [[0, 15]]).tolist() == [0] * 6
    # At gate 74 cells two beams apart are not neighbours, one beam apart are.
    assert est.fit_predict([[74, 3], [74, 5]]).tolist() == [-1, -1]
    assert est.fit_predict([[74, 3], [74, 4], [74, 5]]).tolist() == [0, 0, 0]


def test_consistent_mode_ignores_row_order():
    # The labels themselves, not only the partition: clusters are numbered by their
    # first core cell in (scan, gate, beam) order, so a border cell reached by two
    # clusters joins the same one for every row order.
    rng = np.random.default_rng(2)
    for _ in range(60):
        rows, params, grid = random_case(rng)
        labels = estimator(params, grid).fit_predict(rows)
        for _ in range(3):
            permutation = rng.permutation(len(rows))
            permuted = estimator(params, grid).fit_predict(rows[permutation])
            assert np.array_equal(labels[permutation], permuted)


def test_consistent_mode_border_cell_between_two_clusters_ignores_row_order():
    X = np.array([[2, 2, 0], [3, 6, 1], [2, 5, 0], [1, 0, 0], [2, 0, 1], [1, 6, 1], [2, 0, 0],
                  [2, 6, 0]])
    kw = dict(n_gates=9, n_beams=7, n_scans=3, f=0.5)
    labels = GBDSCAN(**kw).fit_predict(X)
    assert np.array_equal(GBDSCAN(**kw).fit_predict(X[::-1])[::-1], labels)
    expected = consistent_partition([tuple(r) for r in X.tolist()],
                                    SpecGrid([tuple(r) for r in X.tolist()],
                                             dict(DEFAULTS, f=0.5), 9, 7, 3))
    assert np.array_equal(labels, expected)


def test_consistent_mode_is_gridscan_core_on_distinct_cells():
    rng = np.random.default_rng(3)
    for _ in range(40):
        rows, params, grid = random_case(rng)
        sg = spec_grid(rows, params, grid)
        # The distinct cells in (scan, gate, beam) order, GBDSCAN's cluster numbering.
        cells = np.unique(rows[:, [2, 0, 1]], axis=0)[:, [1, 2, 0]]
        sample_eps = np.array([[params["g"], sg.half_axis(i, j), params["scan_eps"] + 0.5]
                               for i, j, _ in cells.tolist()])
        general = GridDBSCAN(neighbors="query", window_features=[2],
                             pts_ratio=params["pts_ratio"], grid_shape=grid, n_jobs=1)
        expected = general.fit_predict(cells.astype(float), sample_eps=sample_eps)
        got = estimator(params, grid).fit(cells).labels_
        assert np.array_equal(got, expected)


@pytest.mark.parametrize("mode", ["consistent", "reference"])
def test_labels_do_not_depend_on_threads(mode):
    rng = np.random.default_rng(4)
    rows = np.column_stack([rng.integers(0, 75, 3000), rng.integers(0, 16, 3000),
                            rng.integers(0, 20, 3000)])
    one = GBDSCAN(f=0.3, mode=mode, n_jobs=1).fit_predict(rows)
    for n_jobs in (2, 3):
        assert np.array_equal(one, GBDSCAN(f=0.3, mode=mode, n_jobs=n_jobs).fit_predict(rows))


def test_two_columns_mean_one_scan():
    rows = np.array([[10, 3], [10, 4], [11, 4], [30, 9], [10, 3]])
    three = np.column_stack([rows, np.zeros(len(rows), dtype=int)])
    for mode in ("consistent", "reference"):
        assert np.array_equal(GBDSCAN(mode=mode).fit_predict(rows),
                              GBDSCAN(mode=mode).fit_predict(three))


def test_grid_defaults_to_the_data_and_edges_matter():
    rows = np.array([[5, 2], [5, 3]])
    fitted = GBDSCAN().fit(rows)
    assert (fitted.n_gates_, fitted.n_beams_, fitted.n_scans_) == (6, 4, 1)
    # In a larger grid the same cells cover more cells and stop being core.
    assert GBDSCAN().fit_predict(rows).tolist() == [0, 0]
    assert GBDSCAN(n_gates=75, n_beams=16).fit_predict(rows).tolist() == [-1, -1]


def test_predict_new_cells():
    est = GBDSCAN(n_gates=75, n_beams=16).fit([[40, 7], [40, 8], [40, 9], [60, 2]])
    # (41, 8) is one gate from the core cell (40, 8); (40, 11) is two beams from (40, 9).
    assert est.predict([[41, 8], [45, 8], [40, 11], [40, 12]]).tolist() == [0, -1, 0, -1]
    assert est.predict([[40, 8]]).tolist() == [0]


@pytest.mark.parametrize("mode", ["consistent", "reference"])
def test_predict_no_rows(mode):
    est = GBDSCAN(n_gates=75, n_beams=16, mode=mode).fit([[40, 7], [40, 8], [40, 9]])
    assert est.predict(np.empty((0, 2), dtype=int)).shape == (0,)


def test_predict_without_core_cells():
    est = GBDSCAN(n_gates=75, n_beams=16).fit([[40, 8], [20, 3]])
    assert est.core_sample_indices_.shape == (0,)
    assert est.components_.shape == (0, 2)
    assert est.predict([[40, 8], [40, 9]]).tolist() == [-1, -1]


def test_integer_and_float_input_agree_and_input_is_not_modified():
    rows = np.array([[10, 3, 0], [10, 4, 0], [11, 4, 1], [30, 9, 2]])
    before = rows.copy()
    labels = GBDSCAN().fit_predict(rows)
    assert np.array_equal(rows, before)
    assert np.array_equal(labels, GBDSCAN().fit_predict(rows.astype(np.float32)))


@pytest.mark.parametrize("mode", ["consistent", "reference"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64, np.int8,
                                   np.int16])
def test_every_integer_dtype_gives_the_same_labels(dtype, mode):
    rows = np.array([[40, 7, 0], [40, 8, 0], [40, 9, 0], [60, 2, 1], [40, 8, 1], [40, 7, 1]])
    expected = GBDSCAN(n_gates=75, n_beams=16, mode=mode).fit(rows)
    est = GBDSCAN(n_gates=75, n_beams=16, mode=mode).fit(rows.astype(dtype))
    assert est.labels_.tolist() == expected.labels_.tolist() == [0, 0, 0, -1, 0, 0]
    assert np.array_equal(est.predict(rows.astype(dtype)), expected.labels_)


@pytest.mark.parametrize("X, message", [
    ([[1.5, 2]], "integer cells"),
    ([[1, np.nan]], "NaN"),
    ([[1, np.inf]], "infinity"),
    ([[1, 2, -1]], "scans must be >= 0"),
    ([[-1, 2]], "outside the grid"),
    ([[75, 2]], "outside the grid of 75 gates"),
    ([[3, 16]], "outside the grid of 75 gates x 16 beams"),
    ([[1, 2, 3, 4]], "expected 2 columns"),
    ([[1e300, 2]], "outside the grid"),
])
def test_bad_cells(X, message):
    with pytest.raises(ValueError, match=message):
        GBDSCAN(n_gates=75, n_beams=16).fit(X)


def test_bad_cells_in_predict():
    est = GBDSCAN(n_gates=75, n_beams=16).fit([[3, 4, 0], [3, 5, 1]])
    with pytest.raises(ValueError, match="outside the grid"):
        est.predict([[3, 4, 2]])
    with pytest.raises(ValueError, match="integer cells"):
        est.predict([[3, 4.5, 0]])
    with pytest.raises(ValueError, match="3 features"):
        est.predict([[3, 4]])


@pytest.mark.parametrize("params, message", [
    (dict(f=0.0), "'f' parameter"),
    (dict(g=-1.0), "'g' parameter"),
    (dict(dr=0.0), "'dr' parameter"),
    (dict(dtheta=0.0), "'dtheta' parameter"),
    (dict(pts_ratio=0.0), "'pts_ratio' parameter"),
    (dict(pts_ratio=1.5), "'pts_ratio' parameter"),
    (dict(r_init=np.nan), "'r_init' parameter"),
    (dict(scan_eps=-1), "'scan_eps' parameter"),
    (dict(scan_eps=0.5), "'scan_eps' parameter"),
    (dict(mode="fast"), "'mode' parameter"),
    (dict(n_gates=0), "'n_gates' parameter"),
])
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        GBDSCAN(**params).fit([[3, 4]])


def test_zero_range_is_rejected():
    with pytest.raises(ValueError, match=r"gate 0 gives 0.0 \(r_init=0.0, dr=45.0\)"):
        GBDSCAN(r_init=0.0).fit([[0, 3], [5, 3]])
    with pytest.raises(ValueError, match="gate 1 gives"):
        GBDSCAN(r_init=-90.0).fit([[1, 3], [5, 3]])
    # The same r_init is fine while every gate in X has a positive range.
    assert GBDSCAN(r_init=-90.0).fit_predict([[3, 3], [3, 4]]).tolist() == [0, 0]


@pytest.mark.parametrize("mode", ["consistent", "reference"])
def test_pickle_clone_and_params(mode):
    rows = np.array([[40, 7, 0], [40, 8, 0], [40, 9, 0], [41, 8, 1], [60, 2, 1]])
    est = GBDSCAN(f=0.3, n_gates=75, n_beams=16, mode=mode).fit(rows)
    est.predict(rows)
    restored = pickle.loads(pickle.dumps(est))
    assert np.array_equal(restored.labels_, est.labels_)
    assert np.array_equal(restored.predict(rows), est.predict(rows))
    assert np.array_equal(restored.components_, rows[est.core_sample_indices_])
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "labels_")


def test_dataframe_input_keeps_feature_names():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"gate": [40, 40, 40], "beam": [7, 8, 9]})
    est = GBDSCAN(n_gates=75, n_beams=16).fit(frame)
    assert list(est.feature_names_in_) == ["gate", "beam"]
    assert est.labels_.tolist() == [0, 0, 0]


@pytest.mark.parametrize("mode", ["consistent", "reference"])
def test_huge_scan_numbers_cost_no_table_over_the_scans(mode):
    # Scans numbered from 3e8 (Unix seconds, say) cluster as the same cells numbered
    # from 1 on a grid with the same room around them, without a table over every scan.
    rng = np.random.default_rng(12)
    rows = np.vstack([np.column_stack([rng.integers(30, 34, 150), rng.integers(2, 6, 150),
                                       rng.integers(1, 6, 150)]),
                      np.column_stack([rng.integers(50, 54, 150), rng.integers(9, 14, 150),
                                       rng.integers(1, 6, 150)])])
    offset = 300_000_000
    small = GBDSCAN(n_gates=75, n_beams=16, n_scans=7, mode=mode).fit(rows)
    far = rows + [0, 0, offset - 1]
    large = GBDSCAN(n_gates=75, n_beams=16, n_scans=offset + 6, mode=mode).fit(far)
    assert small.labels_.max() >= 1 and (small.labels_ >= 0).mean() > 0.5
    assert np.array_equal(large.labels_, small.labels_)
    assert np.array_equal(large.predict(far), small.labels_)


def test_periodic_beams_follow_the_definition():
    # Both modes against the brute force with the beam distance the shorter way round.
    rng = np.random.default_rng(13)
    wrapped = 0
    for _ in range(150):
        rows, params, grid = random_case(rng)
        cells = [tuple(r) for r in rows.tolist()]
        spec = SpecGrid(cells, params, *grid, periodic_beams=True)
        for mode, partition in (("consistent", consistent_partition),
                                ("reference", reference_partition)):
            est = estimator(params, grid, mode=mode, periodic_beams=True).fit(rows)
            assert np.array_equal(est.labels_, partition(cells, spec)), (cells, params, grid)
            assert np.array_equal(est.predict(rows), est.labels_)
        plain = estimator(params, grid).fit(rows).labels_
        wrapped += not same_partition(plain, est.labels_)
    assert wrapped > 10


def test_periodic_beams_turn_with_the_radar():
    # Turning every beam by the same number of beams changes nothing but the numbering.
    rng = np.random.default_rng(14)
    n_beams = 360
    rows = np.vstack([np.column_stack([rng.integers(20, 30, 300), rng.integers(-12, 12, 300)
                                       % n_beams, rng.integers(0, 3, 300)]),
                      np.column_stack([rng.integers(5, 60, 200), rng.integers(0, n_beams, 200),
                                       rng.integers(0, 3, 200)])])
    kw = dict(f=1.0, g=2.0, pts_ratio=0.2, dr=1.0, dtheta=1.0, r_init=2.0, n_gates=60,
              n_beams=n_beams, n_scans=3, periodic_beams=True)
    labels = GBDSCAN(**kw).fit_predict(rows)
    # The echo straddling beam 0 is one cluster.
    straddling = labels[:300]
    assert np.mean(straddling >= 0) > 0.8 and len(set(straddling[straddling >= 0])) == 1
    for turn in (1, 17, 180, 359):
        turned = rows.copy()
        turned[:, 1] = (turned[:, 1] + turn) % n_beams
        assert same_partition(GBDSCAN(**kw).fit_predict(turned), labels)
    # Without the wrap the echo is cut at beam 0.
    cut = GBDSCAN(**{**kw, "periodic_beams": False}).fit_predict(rows)[:300]
    assert len(set(cut[cut >= 0])) == 2
