"""Input checks shared by the estimators and the indexes.

Every error names the parameter, says what was expected and shows what was
received.
"""

import numbers
import os

import numpy as np
from sklearn.utils import check_array

from gridscan._arrays import column_extent
from gridscan._openmp import openmp_max_threads

METRIC_ALIASES = {
    "euclidean": "euclidean",
    "l2": "euclidean",
    "manhattan": "manhattan",
    "l1": "manhattan",
    "cityblock": "manhattan",
    "chebyshev": "chebyshev",
    "infinity": "chebyshev",
    "minkowski": "minkowski",
}


def resolve_metric(metric, p, spherical=False):
    """Canonical (metric, p): minkowski with p 1, 2 or inf becomes its named metric.

    With ``spherical`` (the estimators) "haversine" is a metric too.
    """
    names = sorted(METRIC_ALIASES) + (["haversine"] if spherical else [])
    if not isinstance(metric, str) or metric not in names:
        raise ValueError(f"metric must be one of {names}; got {metric!r}")
    if metric == "haversine":
        return metric, 2.0
    name = METRIC_ALIASES[metric]
    if name != "minkowski":
        return name, 2.0
    if p is None:
        p = 2.0
    if not isinstance(p, numbers.Real) or not (p >= 1):
        raise ValueError(
            f"p must be a real number >= 1 for metric='minkowski' (below 1 it is not a norm, "
            f"which every index relies on); got {p!r}")
    p = float(p)
    if p == 1:
        return "manhattan", 2.0
    if p == 2:
        return "euclidean", 2.0
    if np.isinf(p):
        return "chebyshev", 2.0
    return "minkowski", p


def check_points(X, name="X", n_features=None):
    """2-D float32/float64 C-contiguous finite array with at least one row."""
    X = check_array(
        X, dtype=[np.float64, np.float32], order="C", ensure_all_finite=True, input_name=name
    )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features; expected {n_features}")
    return X


def eps_rows(eps, *, n_rows, n_features, name, forms=("scalar", "features", "rows_features"),
             metric=None, p=2.0):
    """Canonical eps table of shape (1 or n_rows, 1 or n_features), float64.

    ``forms`` lists the accepted shapes: "scalar" (a float), "features" (one
    radius per feature, (n_features,)), "rows" (one radius per row, (n_rows,))
    and "rows_features" ((n_rows, n_features) or (n_rows, 1)).  Rows whose
    entries are all equal collapse to one isotropic column, so that a constant
    radius is always compared in scikit-learn's exact form.  With ``metric``
    (a canonical name, see resolve_metric) the radii are also checked by
    check_eps_scale.
    """
    arr = np.asarray(eps)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a number or an array of numbers; got {eps!r}")
    arr = arr.astype(np.float64)
    if arr.ndim == 0 and "scalar" in forms:
        table = arr.reshape(1, 1)
    elif arr.ndim == 1 and "rows" in forms and arr.shape[0] == n_rows:
        table = arr.reshape(-1, 1)
    elif arr.ndim == 1 and "features" in forms and arr.shape[0] == n_features:
        table = arr.reshape(1, -1)
    elif (arr.ndim == 2 and "rows_features" in forms and arr.shape[0] == n_rows
          and arr.shape[1] in (1, n_features)):
        table = arr
    else:
        expected = {"scalar": "a float", "features": f"({n_features},)", "rows": f"({n_rows},)",
                    "rows_features": f"({n_rows}, {n_features})"}
        shape = "a scalar" if arr.ndim == 0 else f"shape {arr.shape}"
        raise ValueError(
            f"{name} has {shape}; expected " + " or ".join(expected[f] for f in forms))
    # The smallest and largest radius decide every check (NaN fails both tests).
    smallest, largest = (table.min(), table.max()) if table.size else (1.0, 1.0)
    if not (smallest > 0 and largest < np.inf):
        row, col = np.argwhere(~(np.isfinite(table) & (table > 0)))[0]
        where = "" if table.size == 1 else f" (first at row {row}, column {col})"
        raise ValueError(
            f"{name} must be finite and > 0; got {table[row, col]!r}{where}"
        )
    if metric is not None:
        check_eps_scale(table, metric, p, name)
    if (table.shape[0] and table.shape[1] > 1 and np.all(table[0] == table[0, 0])
            and np.all(table == table[:, :1])):
        table = table[:, :1]
    return np.ascontiguousarray(table)


# The smallest radius of any metric (far below any real data's scale).
SMALLEST_EPS = 1e-300


def metric_power(metric, p):
    """The power q of the reduced distance sum |dx|**q (chebyshev: its max, q = 1)."""
    return {"euclidean": 2.0, "manhattan": 1.0, "chebyshev": 1.0}.get(metric, p)


def check_eps_scale(table, metric, p, name):
    """Reject radii outside the range where every comparison is exact.

    The kernels compare reduced distances (squared for euclidean, as
    scikit-learn does) with eps**q; if that underflows to 0 or overflows to
    inf, points farther than eps would count as neighbours.  Radii below
    SMALLEST_EPS would also make the reciprocal of a grid cell side overflow.
    """
    q = metric_power(metric, p)
    low = max(np.finfo(np.float64).tiny ** (1.0 / q), SMALLEST_EPS)
    high = np.finfo(np.float64).max ** (1.0 / q)

    def outside(radii):
        with np.errstate(over="ignore", under="ignore"):
            reduced = np.power(radii, q)
        return ~(np.isfinite(reduced) & (reduced >= np.finfo(np.float64).tiny) & (radii >= low))

    # The test is monotone in the radius: the extremes pass only if every radius does.
    if table.size == 0 or not outside(np.array([table.min(), table.max()])).any():
        return
    bad = outside(table)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = "" if table.size == 1 else f" (first at row {row}, column {col})"
        got = f"; got {float(table[row, col])!r}{where}"
        if metric != "minkowski":
            raise ValueError(f"{name} must lie between {low:.3g} and {high:.3g} for "
                             f"metric={metric!r}, where eps**{q:g} is an exact double{got}")
        # A large p narrows the range around 1 (to 1 alone for p near 1e308).
        hint = " (metric='chebyshev' is the limit of a large p)" if high < 1e6 * low else ""
        if low == high:
            raise ValueError(
                f"{name} must be exactly {low:g} for metric='minkowski' with p={p:g}, the only "
                f"radius whose eps**{q:g} is an exact double{hint}{got}")
        low_text, high_text = distinct_texts(low, high)
        raise ValueError(
            f"{name} must lie between {low_text} and {high_text} for metric='minkowski' with "
            f"p={p:g}, where eps**{q:g} is an exact double{hint}{got}")


def distinct_texts(low, high):
    """low < high in three significant digits more than it takes to tell them apart."""
    digits = 3 + max(0, int(np.ceil(-np.log10((high - low) / high))))
    return f"{low:.{digits}g}", f"{high:.{digits}g}"


def check_span(X, name="X"):
    """Reject data whose coordinate differences overflow (a span above the largest double)."""
    if X.dtype not in (np.float32, np.float64) or not X.flags.c_contiguous:
        X = np.ascontiguousarray(X, dtype=np.float64)
    low, high = column_extent(X)
    with np.errstate(over="ignore"):
        span = high - low
    bad = ~np.isfinite(span)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} spans from {float(X[:, k].min())!r} to {float(X[:, k].max())!r} along "
            f"feature {k}; expected a span below {np.finfo(np.float64).max:.4g}, so that "
            f"distances do not overflow (rescale {name})")


def window_mask(window_features, n_features, feature_names=None):
    """(n_features,) uint8 mask of window features, from indices or column names."""
    mask = np.zeros(n_features, dtype=np.uint8)
    if window_features is None:
        return mask
    features = [window_features] if isinstance(window_features, (str, numbers.Integral)) \
        else list(window_features)
    for feature in features:
        if isinstance(feature, str):
            if feature_names is None or feature not in list(feature_names):
                raise ValueError(
                    f"window_features names column {feature!r}, which is not among the "
                    f"feature names {None if feature_names is None else list(feature_names)}"
                )
            k = list(feature_names).index(feature)
        elif isinstance(feature, numbers.Integral) and -n_features <= feature < n_features:
            k = int(feature) % n_features
        else:
            raise ValueError(
                f"window_features must hold feature indices in [0, {n_features}) or column "
                f"names; got {feature!r}"
            )
        mask[k] = 1
    return mask


def period_array(periods, n_features, feature_names=None):
    """(n_features,) float64 period of every feature (0: not periodic), or None when none is.

    ``periods`` is None, a sequence of one entry per feature (None or 0 for an
    ordinary feature), or a dict from feature index or column name to period.
    """
    if periods is None:
        return None
    out = np.zeros(n_features)
    if isinstance(periods, dict):
        items = list(periods.items())
    else:
        if isinstance(periods, (str, bytes)) or not hasattr(periods, "__len__"):
            raise ValueError(
                f"periods must be None, a sequence of {n_features} periods (None or 0 for an "
                f"ordinary feature) or a dict {{feature: period}}; got {periods!r}")
        if len(periods) != n_features:
            raise ValueError(
                f"periods has {len(periods)} entries; expected one per feature ({n_features})")
        items = list(enumerate(periods))
    for feature, period in items:
        if isinstance(feature, str):
            if feature_names is None or feature not in list(feature_names):
                raise ValueError(
                    f"periods names column {feature!r}, which is not among the feature "
                    f"names {None if feature_names is None else list(feature_names)}")
            k = list(feature_names).index(feature)
        elif (isinstance(feature, numbers.Integral) and not isinstance(feature, bool)
              and -n_features <= feature < n_features):
            k = int(feature) % n_features
        else:
            raise ValueError(
                f"periods must be keyed by feature indices in [0, {n_features}) or column "
                f"names; got {feature!r}")
        if period is None:
            continue
        if (isinstance(period, bool) or not isinstance(period, numbers.Real)
                or not np.isfinite(period) or period < 0):
            raise ValueError(
                f"periods[{feature!r}] must be None, 0 or a finite period > 0; got {period!r}")
        out[k] = float(period)
    return out if np.any(out > 0) else None


def wrap_periodic(X, periods):
    """A copy of X with every periodic feature taken modulo its period, into [0, P).

    X is finite (checked before).  The remainder is taken in double; one that
    rounds up to P itself (a value just below a multiple of P, or float32
    rounding) is taken as 0, the same point of the circle.
    """
    X = np.array(X, copy=True)
    for k in np.flatnonzero(periods > 0):
        column = np.mod(X[:, k].astype(np.float64), periods[k]).astype(X.dtype)
        column[column >= periods[k]] = 0
        X[:, k] = column
    return X


def available_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# Items (points or cells) a thread must have to pay for itself.  Every parallel
# step ends with the threads waiting for one another; on a busy machine each
# wait can cost a scheduler slice (several milliseconds), so a small job runs
# faster on one thread than on several, whatever n_jobs says.  About 25,000
# points take 5 ms on one thread.
ITEMS_PER_THREAD = 25_000


def effective_n_threads(n_jobs, n_items=None):
    """Threads to use: None means OpenMP's default (OMP_NUM_THREADS or all cores).

    Never more than the available CPUs: more threads cannot be faster, and
    asking OpenMP for tens of thousands of them exhausts the process.  With
    ``n_items`` (the points or cells of the job), never more than one thread
    per ITEMS_PER_THREAD items either.
    """
    cpus = available_cpus()
    if n_jobs is None:
        threads = max(1, min(openmp_max_threads(), cpus))
    elif (not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool)
            or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer; got {n_jobs!r}")
    elif n_jobs < 0:
        threads = max(1, cpus + 1 + int(n_jobs))
    else:
        threads = min(int(n_jobs), cpus)
    if n_items is not None:
        threads = max(1, min(threads, int(n_items) // ITEMS_PER_THREAD))
    return threads
