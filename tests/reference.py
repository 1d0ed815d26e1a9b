"""Plain-numpy, O(n^2) implementation of GridDBSCAN by docs/semantics.rst, independent of gridscan.

Used by the tests as the answer the compiled code must reproduce exactly.
"""

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components


def wrapped(X, periods):
    """X with each periodic feature (period > 0) taken into [0, P)."""
    X = np.array(X, dtype=float)
    for k, period in enumerate(periods):
        if period:
            X[:, k] = np.mod(X[:, k], period)
            X[X[:, k] >= period, k] = 0.0
    return X


def differences(centres, Q, periods=None):
    """diff[i, j, k] = |Q[j, k] - centres[i, k]|, the minimum image on periodic features."""
    if periods is not None:
        centres, Q = wrapped(centres, periods), wrapped(Q, periods)
    diff = np.abs(Q[None, :, :] - centres[:, None, :])
    for k, period in enumerate(periods or []):
        if period:
            diff[..., k] = np.where(diff[..., k] > period / 2, period - diff[..., k],
                                    diff[..., k])
    return diff


def in_ellipsoid(centres, E, Q, metric="euclidean", p=2.0, window=None, scaled=False,
                 periods=None):
    """inside[i, j]: Q[j] lies in the neighbourhood of centres[i] with eps row E[i].

    E has shape (len(centres), d).  Rows whose entries are all equal use the
    reduced form (distance**p against eps**p), as scikit-learn does for a scalar eps,
    unless ``scaled``: then every row uses the scaled form ||dx / E[i]|| against 1
    (gridscan keeps a per-feature table per-feature unless every row is isotropic).
    ``periods`` (one per feature, 0 or None for an ordinary one) makes features periodic.
    """
    centres, Q, E = np.asarray(centres, float), np.asarray(Q, float), np.asarray(E, float)
    d = centres.shape[1]
    window = np.zeros(d, bool) if window is None else np.asarray(window, bool)
    diff = differences(centres, Q, periods)                       # [i, j, k]
    inside = np.all((diff <= E[:, None, :]) | ~window, axis=2)    # window features
    norm = ~window
    iso = np.all(E == E[:, :1], axis=1) & (not scaled)
    scaled = diff / E[:, None, :]
    for rows, values, limit in (
        (iso, diff[..., norm], _reduce(E[:, 0], metric, p)),
        (~iso, scaled[..., norm], np.ones(len(E))),
    ):
        if not rows.any():
            continue
        acc = _accumulate(values[rows], metric, p)
        inside[rows] &= acc <= limit[rows, None]
    return inside


def _reduce(r, metric, p):
    if metric == "euclidean":
        return r * r
    if metric == "minkowski":
        return np.power(r, p)
    return r


def _accumulate(values, metric, p):
    if values.shape[-1] == 0:
        return np.zeros(values.shape[:-1])
    if metric == "euclidean":
        out = np.zeros(values.shape[:-1])
        for k in range(values.shape[-1]):      # sequential, like a tree's rdist
            out = out + values[..., k] * values[..., k]
        return out
    if metric == "manhattan":
        out = np.zeros(values.shape[:-1])
        for k in range(values.shape[-1]):
            out = out + values[..., k]
        return out
    if metric == "chebyshev":
        return values.max(axis=-1)
    out = np.zeros(values.shape[:-1])
    for k in range(values.shape[-1]):
        out = out + np.power(values[..., k], p)
    return out


def neighbourhoods(X, E, metric="euclidean", p=2.0, window=None, rule="union", scaled=False,
                   periods=None):
    """N[i, j]: j in N(i) under the "query" or "union" rule."""
    inside = in_ellipsoid(X, E, X, metric, p, window, scaled, periods)
    return inside | inside.T if rule == "union" else inside


def dbscan(X, E, min_weight, metric="euclidean", p=2.0, window=None, rule="union",
           weights=None, scaled=False, periods=None):
    """(labels, core indices) by docs/semantics.rst, 'Core points' and 'Clusters and labels'."""
    n = len(X)
    N = neighbourhoods(X, E, metric, p, window, rule, scaled, periods)
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    weight = np.array([w[N[i]].sum() for i in range(n)])
    core = weight >= np.broadcast_to(min_weight, (n,))
    labels = np.full(n, -1)
    core_idx = np.flatnonzero(core)
    if len(core_idx):
        edges = (N | N.T)[np.ix_(core_idx, core_idx)]
        _, comp = connected_components(csr_matrix(edges), directed=False)
        first = {}
        for c in comp:   # core_idx ascending: first seen = smallest
            first.setdefault(c, len(first))
        labels[core_idx] = [first[c] for c in comp]
    for q in np.flatnonzero(~core):
        owners = core_idx[N[core_idx, q]]
        if len(owners):
            labels[q] = labels[owners].min()
    return labels, core_idx


def predict(X_train, E_train, labels, core_idx, X_new, E_new=None, metric="euclidean",
            p=2.0, window=None, rule="union", scaled_train=False, scaled_new=False,
            periods=None):
    """Border rule for new points: smallest label of a core point whose N holds them."""
    core_X, core_E = X_train[core_idx], E_train[core_idx]
    inside = in_ellipsoid(core_X, core_E, X_new, metric, p, window, scaled_train,
                          periods)  # [core, new]
    if rule == "union":
        inside |= in_ellipsoid(X_new, E_new, core_X, metric, p, window, scaled_new,
                               periods).T
    out = np.full(len(X_new), -1)
    for j in range(len(X_new)):
        hits = labels[core_idx][inside[:, j]]
        if len(hits):
            out[j] = hits.min()
    return out


def lattice_cells(X, E, shape, metric="euclidean", p=2.0, window=None, scaled=False):
    """P(p): number of integer cells of the box [0, shape) inside each point's neighbourhood."""
    axes = [np.arange(s) for s in shape]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(shape))
    return in_ellipsoid(X, E, cells, metric, p, window, scaled).sum(axis=1).astype(float)
