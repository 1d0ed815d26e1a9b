"""Adversarial data (issue 18): spans far beyond eps, duplicates, eps over many orders.

Every algorithm must give the labels of scikit-learn's DBSCAN (scalar eps) or of
the brute force of SPEC section 1 (tests/reference.py): never a silent wrong
answer, whatever the ratio of the data's span to eps.  The sizes are small;
benchmarks/bench_adversarial.py times the same distributions at full size.
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan
from sklearn.cluster import DBSCAN

from gridscan import GridDBSCAN, RangeEps

ALGORITHMS = ["auto", "grid", "ball_tree", "brute"]
METRICS = [("euclidean", None), ("manhattan", None), ("chebyshev", None), ("minkowski", 3.0)]


def sklearn_labels(X, eps, min_samples, metric="euclidean", p=None, sample_weight=None):
    return DBSCAN(eps=eps, min_samples=min_samples, metric=metric, p=p).fit_predict(
        X, sample_weight=sample_weight)


def assert_all_algorithms(X, expected, sample_eps=None, algorithms=ALGORITHMS, **params):
    """Every algorithm gives the expected labels (one thread: the tests stay fast on a
    busy machine; the labels never depend on the thread count)."""
    params.setdefault("n_jobs", 1)
    for algorithm in algorithms:
        got = GridDBSCAN(algorithm=algorithm, **params).fit_predict(X, sample_eps=sample_eps)
        np.testing.assert_array_equal(got, expected, err_msg=f"algorithm={algorithm!r}")


def test_span_beyond_cell_numbering():
    # The example: 1e17 cells of side eps along the first feature.
    x0 = np.repeat([0.0, 1e6], 40)
    x1 = np.tile(np.arange(40) * 1e-12, 2)
    X = np.column_stack([x0, x1])
    expected = sklearn_labels(X, 1e-11, 1)
    assert (expected >= 0).all()
    assert_all_algorithms(X, expected, eps=1e-11, min_samples=1)


@pytest.mark.parametrize("metric, p", METRICS)
@pytest.mark.parametrize("offset, span, eps", [
    (0.0, 1e6, 1e-11),           # 1e17 cells along a feature
    (-1e15, 2e15, 0.5),          # coordinates near 2**52
    (0.0, 2.0 ** 70, 1.0),       # more cells than int64 numbers
    (1e8, 1e8, 1e-9),            # eps a few ulps of the coordinates
    (0.0, 1e100, 1e-100),        # 1e200 cells of side eps
])
def test_span_over_eps(metric, p, offset, span, eps):
    rng = np.random.default_rng(7)
    base = np.vstack([rng.uniform(0, span, (12, 2)), [[span, span]] * 4,
                      [[span, 0.0]] * 2]) + offset
    # Neighbours at eps, just inside, and beyond, at both ends of the span.
    X = np.vstack([base, base + [eps, 0.0], base - [0.0, eps / 2], base + [eps, eps]])
    table = np.full(X.shape, eps)
    expected, _ = reference_dbscan(X, table, 2, metric=metric, p=p or 2.0)
    assert_all_algorithms(X, expected, eps=eps, min_samples=2, metric=metric, p=p)


def test_span_near_ulps():
    # Points a few ulps apart far from the origin, eps a few ulps: every pair
    # test is at the edge of double precision.
    rng = np.random.default_rng(5)
    for offset in (1.0, 1e6, 1e12, 3e15):
        ulp = np.spacing(offset)
        X = offset + rng.integers(0, 40, (120, 2)) * ulp
        X[:40] *= -1
        for eps in (ulp, 1.5 * ulp, 3 * ulp):
            assert_all_algorithms(X, sklearn_labels(X, eps, 3), eps=eps, min_samples=3)
