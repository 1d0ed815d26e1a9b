"""The partition plan of fit_predict_partitioned: split features, block cuts and halos.

Two passes over X make it: per-chunk statistics (bounds, largest eps, a
sample, the estimator's DataChoices), then per fine cell the bounding box and
largest eps of its points.  The module docstring of ``_partitioned`` says why
the halos hold every neighbour.
"""

import math
from dataclasses import dataclass

import dask
import numpy as np
from sklearn.utils.validation import check_array

from gridscan._dbscan import DataChoices
from gridscan._validation import check_span
from gridscan.dask._scheduling import compute

# Points per block when n_blocks is not given.
DEFAULT_BLOCK_POINTS = 250_000
# Rows of the sample the block cuts are taken from.
SAMPLE_ROWS = 100_000
# Fine cells per block along a split feature, for the halo bounds; at most MAX_FINE_BINS.
FINE_BINS_PER_BLOCK = 8
MAX_FINE_BINS = 128
# Halos are widened by this relative margin (plus a few ulps of the coordinates) so that
# rounding in the distance kernels can never put a neighbour outside them.
RELATIVE_SLACK = 1e-6
ABSOLUTE_SLACK = 1e-9


@dataclass
class Plan:
    """Blocks along the split features: cut positions, and per block three boxes."""

    split: np.ndarray        # (s,) split features
    cuts: list               # per split feature, the interior block cuts (ascending)
    fine_edges: list         # per split feature, interior edges of the fine cells
    own_lo: np.ndarray = None   # (n_blocks, s) box of the block's own points: lo <= x < hi
    own_hi: np.ndarray = None
    r1_lo: np.ndarray = None    # (n_blocks, s) the block widened by its halo (closed)
    r1_hi: np.ndarray = None
    r2_lo: np.ndarray = None    # R1 widened by its halo (closed)
    r2_hi: np.ndarray = None

    def block_of(self, points):
        """Block id of each point (row of the split features)."""
        ids = np.zeros(points.shape[0], dtype=np.intp)
        for k, cuts in zip(self.split, self.cuts, strict=True):
            ids = ids * (len(cuts) + 1) + np.searchsorted(cuts, points[:, k], side="right")
        return ids


def unsplittable_features(space):
    """Features no block may be cut along: a neighbour's difference along them is not
    bounded by its eps (periodic features wrap; longitude under haversine)."""
    fixed = set()
    if space.feature_periods is not None:
        fixed |= set(np.flatnonzero(space.feature_periods > 0).tolist())
    if space.sphere is not None:
        fixed.add(space.sphere[1])
    return fixed


def partition_plan(X, estimator, n_blocks, split, progress):
    """Blocks, their halos and the statistics of X they come from (two passes over X).

    ``n_blocks`` None means one block per DEFAULT_BLOCK_POINTS rows.  The
    statistics hold the rows per chunk and the DataChoices of the whole data.
    X is wrapped (GridDBSCAN._space); no block is cut along an unsplittable feature.
    """
    chunks = X.to_delayed().ravel()
    n_rows_guess = X.shape[0] if not math.isnan(X.shape[0]) else None
    step = max(1, (n_rows_guess or SAMPLE_ROWS) // SAMPLE_ROWS)
    stats = [dask.delayed(_chunk_stats)(c, estimator, step) for c in chunks]
    stats = _combine_stats(compute(stats, progress))
    if stats["n"] == 0:
        raise ValueError("X has 0 samples; expected at least 1")
    check_span(np.stack([stats["min"], stats["max"]]))
    n_blocks = n_blocks or max(1, math.ceil(stats["n"] / DEFAULT_BLOCK_POINTS))
    fixed = unsplittable_features(estimator._space(X.shape[1]))
    plan = _plan_cuts(stats, n_blocks, split, fixed)
    cells = [dask.delayed(_chunk_cells)(c, estimator, stats["choices"], plan) for c in chunks]
    cells = compute(cells, progress)
    return _plan_halos(plan, _combine_cells(cells), stats), stats


def _feature_eps(table, n_features):
    """(n, n_features) per-feature radii from an eps table of 1 or n_features columns."""
    return np.broadcast_to(table, (table.shape[0], n_features))


def _chunk_stats(chunk, estimator, step):
    """Rows, bounds, largest eps per feature and a sample of one chunk of X."""
    chunk = check_array(chunk, dtype=[np.float64, np.float32], order="C",
                        ensure_min_samples=0, input_name="X")
    d = chunk.shape[1]
    if chunk.shape[0] == 0:
        return {"n": 0, "min": np.full(d, np.inf), "max": np.full(d, -np.inf),
                "eps_max": np.zeros(d), "choices": None, "sample": chunk[:0]}
    fit_plan = estimator._fit_plan(chunk)
    return {
        "n": chunk.shape[0],
        "min": chunk.min(axis=0).astype(np.float64),
        "max": chunk.max(axis=0).astype(np.float64),
        "eps_max": _feature_eps(fit_plan.eps_table, d).max(axis=0),
        "choices": fit_plan.choices,
        "sample": chunk[::step].astype(np.float64),
    }


def _combine_stats(stats):
    return {
        "n": sum(s["n"] for s in stats),
        "rows": np.array([s["n"] for s in stats], dtype=np.int64),
        "min": np.min([s["min"] for s in stats], axis=0),
        "max": np.max([s["max"] for s in stats], axis=0),
        "eps_max": np.max([s["eps_max"] for s in stats], axis=0),
        "choices": DataChoices.combine([s["choices"] for s in stats if s["n"]]),
        "sample": np.concatenate([s["sample"] for s in stats]),
    }


def _plan_cuts(stats, n_blocks, split, fixed=frozenset()):
    """Split features and block cuts from the sample's quantiles (none along ``fixed``)."""
    extent = stats["max"] - stats["min"]
    halos = extent / stats["eps_max"]
    if split is None:
        by_halos = [k for k in np.argsort(-halos, kind="stable") if k not in fixed]
        if not by_halos:
            # Every feature wraps: one block, "cut" along feature 0 into one part.
            by_halos, n_blocks = [0], 1
        split = by_halos[:2] if len(by_halos) > 1 and n_blocks >= 4 else by_halos[:1]
    if len(split) == 2:
        # Share the blocks between the two features as their extents in halo widths.
        ratio = halos[split[1]] / max(halos[split[0]], 1e-300)
        across = int(np.clip(round(math.sqrt(n_blocks * ratio)), 1, n_blocks))
        counts = [math.ceil(n_blocks / across), across]
    else:
        counts = [n_blocks]
    sample = stats["sample"]
    cuts, fine_edges = [], []
    for k, count in zip(split, counts, strict=True):
        cuts.append(_quantile_cuts(sample[:, k], count))
        fine_edges.append(_quantile_cuts(sample[:, k],
                                         min(MAX_FINE_BINS, FINE_BINS_PER_BLOCK * count)))
    return Plan(split=np.asarray(split, dtype=np.intp), cuts=cuts, fine_edges=fine_edges)


def _quantile_cuts(values, count):
    """The distinct interior cuts splitting values into count parts of about equal size."""
    if count <= 1 or values.size == 0:
        return np.empty(0)
    cuts = np.unique(np.quantile(values, np.linspace(0.0, 1.0, count + 1)[1:-1]))
    # A cut at the minimum would leave an empty first part.
    return cuts[cuts > values.min()]


def _chunk_cells(chunk, estimator, choices, plan):
    """Per fine cell: bounding box of the points and their largest eps, per split feature."""
    chunk = np.asarray(chunk)
    s = len(plan.split)
    shape = [len(edges) + 1 for edges in plan.fine_edges]
    n_cells = math.prod(shape)
    lo = np.full((n_cells, s), np.inf)
    hi = np.full((n_cells, s), -np.inf)
    eps = np.zeros((n_cells, s))
    if chunk.shape[0] == 0:
        return lo, hi, eps
    cell = np.zeros(chunk.shape[0], dtype=np.intp)
    for k, edges, size in zip(plan.split, plan.fine_edges, shape, strict=True):
        cell = cell * size + np.searchsorted(edges, chunk[:, k], side="right")
    table = _feature_eps(estimator._fit_plan(chunk, choices=choices).eps_table, chunk.shape[1])
    for j, k in enumerate(plan.split):
        np.minimum.at(lo[:, j], cell, chunk[:, k])
        np.maximum.at(hi[:, j], cell, chunk[:, k])
        np.maximum.at(eps[:, j], cell, table[:, k])
    return lo, hi, eps


def _combine_cells(cells):
    return (np.min([c[0] for c in cells], axis=0), np.max([c[1] for c in cells], axis=0),
            np.max([c[2] for c in cells], axis=0))


def _plan_halos(plan, cells, stats):
    """Own boxes of the blocks, and R1 and R2 widened by the halos of their faces."""
    cell_lo, cell_hi, cell_eps = cells
    split = plan.split
    tol = ABSOLUTE_SLACK * (np.maximum(np.abs(stats["min"]), np.abs(stats["max"]))[split]
                            + stats["eps_max"][split])
    cell_eps = cell_eps * (1 + RELATIVE_SLACK) + tol
    reach_lo, reach_hi = cell_lo - cell_eps, cell_hi + cell_eps
    bounds = [np.concatenate([[-np.inf], cuts, [np.inf]]) for cuts in plan.cuts]
    grid = np.array(list(np.ndindex(*[len(c) + 1 for c in plan.cuts])), dtype=np.intp)
    s = len(split)
    plan.own_lo = np.stack([bounds[j][grid[:, j]] for j in range(s)], axis=1)
    plan.own_hi = np.stack([bounds[j][grid[:, j] + 1] for j in range(s)], axis=1)

    def widen(lo, hi):
        """Each box widened, face by face, by the largest eps of a cell reaching that face."""
        new_lo, new_hi = lo.copy(), hi.copy()
        for b in range(lo.shape[0]):
            overlap = (reach_lo <= hi[b]) & (reach_hi >= lo[b])     # (n_cells, s)
            for j in range(s):
                # A cell reaches the face at x_j = c when its reach box holds c along j and
                # overlaps the box along the other split features.
                others = np.delete(overlap, j, axis=1).all(axis=1)
                for face, out, sign in ((lo[b, j], new_lo, -1.0), (hi[b, j], new_hi, 1.0)):
                    if not np.isfinite(face):
                        continue
                    touching = others & (reach_lo[:, j] <= face) & (reach_hi[:, j] >= face)
                    if touching.any():
                        out[b, j] = face + sign * cell_eps[touching, j].max()
        return new_lo, new_hi

    plan.r1_lo, plan.r1_hi = widen(plan.own_lo, plan.own_hi)
    plan.r2_lo, plan.r2_hi = widen(plan.r1_lo, plan.r1_hi)
    return plan


def in_boxes(points, split, lo, hi):
    """(n,) mask of the points inside the closed box [lo, hi] along the split features."""
    inside = np.ones(points.shape[0], dtype=bool)
    for j, k in enumerate(split):
        inside &= (points[:, k] >= lo[j]) & (points[:, k] <= hi[j])
    return inside
