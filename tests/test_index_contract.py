"""The search state of an index (docs/architecture.rst, "The search state").

Every index kind, built through the one entry point ``build_index``, records
what its searches were readied for; passes that only read the state refuse
an index set up for other eps; and an index whose state was changed in
between still gives the labels of the definition (tests/reference.py).
"""

import numpy as np
import pytest
from reference import dbscan as reference_dbscan
from reference import predict as reference_predict

from gridscan import BallTree
from gridscan._core import fit_core, predict_core
from gridscan._index_choice import build_index, eps_by_position
from gridscan._space import FeatureSpace

KINDS = ["lattice", "grid", "ball_tree", "brute"]


def problem(kind, rng, n=300):
    """Points that the kind takes (integer cells for the lattice) with per-point eps rows."""
    if kind == "lattice":
        X = rng.integers(0, 12, (n, 2)).astype(np.float64)
        table = rng.choice([1.0, 1.5, 2.0], (n, 1))
    else:
        X = rng.uniform(0, 10, (n, 2))
        table = rng.uniform(0.4, 0.9, (n, 1))
    return X, table


def index_of(kind, X, table):
    space = FeatureSpace.of("euclidean", None, None, None, X.shape[1], None)
    algorithm = "grid" if kind == "lattice" else kind
    index = build_index(X, table, space, algorithm, leaf_size=8, n_threads=2)
    assert type(index).__name__ == {"lattice": "LatticeIndex", "grid": "CellGrid",
                                    "ball_tree": "BallTree", "brute": "BruteIndex"}[kind]
    return index


@pytest.mark.parametrize("kind", KINDS)
def test_the_base_class_records_the_state(kind, rng):
    X, table = problem(kind, rng)
    index = index_of(kind, X, table)
    eps = eps_by_position(index, table, 1)
    assert index.search_eps is None and index.point_eps is None
    index.prepare_searches(eps)
    assert index.search_eps is eps
    mask = rng.integers(0, 2, X.shape[0]).astype(np.uint8)
    index.set_point_eps(eps, mask)
    assert index.point_eps is eps and index.point_mask is mask
    index.require_point_eps(eps, mask)
    with pytest.raises(RuntimeError, match="set_point_eps"):
        index.require_point_eps(eps)
    other = eps_by_position(index, table * 0.5, 1)
    with pytest.raises(RuntimeError, match="set_point_eps"):
        index.require_point_eps(other, mask)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("union_rule", [False, True])
def test_a_fit_after_other_eps_gives_the_definitions_labels(kind, union_rule, rng):
    # The passes say what state they need: an index last set up for other eps
    # (here half the radii, with a mask) clusters exactly with the right ones.
    X, table = problem(kind, rng)
    index = index_of(kind, X, table)
    eps = eps_by_position(index, table, 2)
    stale = eps_by_position(index, table * 0.5, 2)
    index.prepare_searches(stale, 2)
    index.set_point_eps(stale, np.zeros(X.shape[0], dtype=np.uint8), 2)
    is_core, labels = fit_core(index, eps, None, np.array([5.0]), union_rule, 2)
    order = np.asarray(index.order)
    by_row = np.empty_like(labels)
    by_row[order] = labels
    rule = "union" if union_rule else "query"
    expected, core = reference_dbscan(X, np.repeat(table, 2, axis=1), 5, rule=rule)
    np.testing.assert_array_equal(by_row, expected)
    np.testing.assert_array_equal(np.sort(order[is_core.astype(bool)]), core)


@pytest.mark.parametrize("kind", KINDS)
def test_predict_core_refuses_an_index_without_its_points_eps(kind, rng):
    X, table = problem(kind, rng)
    index = index_of(kind, X, table)
    eps = eps_by_position(index, table, 1)
    n = X.shape[0]
    labels = np.arange(n, dtype=np.intp)
    queries = rng.uniform(0, 10, (50, 2))
    with pytest.raises(RuntimeError, match="set_point_eps"):
        predict_core(index, eps, labels, queries, None, False, 1)
    # Set up with a mask (as the border pass leaves it): still not the prediction state.
    index.set_point_eps(eps, np.ones(n, dtype=np.uint8))
    with pytest.raises(RuntimeError, match="set_point_eps"):
        predict_core(index, eps, labels, queries, None, False, 1)
    index.set_point_eps(eps)
    got = predict_core(index, eps, labels, queries, None, False, 2)
    order = np.asarray(index.order)
    E = np.repeat(table, 2, axis=1)
    expected = reference_predict(X, E, order.argsort(), np.arange(n), queries, rule="query")
    np.testing.assert_array_equal(got, expected)


def test_query_radius_union_reads_the_trees_own_eps_whatever_came_between(rng):
    X = rng.uniform(0, 10, (200, 2))
    own = rng.uniform(0.3, 1.5, 200)
    tree = BallTree(X, leaf_size=4, sample_eps=own)
    # Another table given to the tree's searches in between (as a clustering would).
    tree.set_point_eps(tree.eps_rows(np.full((200, 1), 0.01)))
    Q = rng.uniform(0, 10, (40, 2))
    got = tree.query_radius(Q, 0.5, neighbors="union")
    forward = np.hypot(*(Q[:, None, :] - X[None, :, :]).transpose(2, 0, 1)) <= 0.5
    reverse = np.hypot(*(Q[:, None, :] - X[None, :, :]).transpose(2, 0, 1)) <= own[None, :]
    for i in range(40):
        np.testing.assert_array_equal(np.sort(got[i]), np.flatnonzero(forward[i] | reverse[i]))
