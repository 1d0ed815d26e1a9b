"""gridscan.dask against single-machine runs, on a real distributed.LocalCluster."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import cloudpickle  # noqa: E402
import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from doctests import run_docstring_examples  # noqa: E402
from sklearn.base import BaseEstimator, ClusterMixin  # noqa: E402
from sklearn.cluster import DBSCAN  # noqa: E402

import gridscan  # noqa: E402
import gridscan.dask as gdask  # noqa: E402
from gridscan import GridDBSCAN, RangeEps  # noqa: E402
from gridscan.dask import _groups as gdask_groups  # noqa: E402
from gridscan.dask import _partitioned as gdask_partitioned  # noqa: E402
from gridscan.dask import _plan as gdask_plan  # noqa: E402
from gridscan.dask import _scheduling as gdask_scheduling  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A worker that has not answered by then counts as a hang.
RESULT_TIMEOUT = 60


@pytest.fixture(scope="module")
def client():
    """Two worker processes with one thread each; a task that kills its worker fails at once."""
    # Worker processes unpickle the estimators defined in this module by value, and import
    # gridscan from this tree.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    with pytest.MonkeyPatch.context() as mp, \
            dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        mp.setenv("PYTHONPATH", path)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, timeout=60) as cluster, \
                distributed.Client(cluster, timeout=60) as client:
            yield client
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def cloud(seed=0, n_noise=2500):
    """Background noise, blobs, and two long lines that cross every block along x."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.uniform([1, 0], [21, 10], size=(n_noise, 2)),
        rng.normal([6, 3], 0.3, size=(300, 2)),
        rng.normal([15, 7], 0.5, size=(300, 2)),
        np.c_[np.linspace(1, 21, 1500), 5 + 0.03 * rng.normal(size=1500)],
        np.c_[np.linspace(1, 21, 1000), 8.5 + 0.03 * rng.normal(size=1000)],
    ]
    X = np.concatenate(parts)
    return X[rng.permutation(len(X))]


def partitioned(X, estimator, chunks=700, **kwargs):
    return gdask.fit_predict_partitioned(da.from_array(X, chunks=(chunks, -1)), estimator,
                                         **kwargs)


def block_spans(X, estimator, labels, n_blocks, split_features=None):
    """Most blocks a cluster's points are own in, under the plan the function makes."""
    estimator = gdask_partitioned._check_estimator(estimator, X.shape[1])
    split = gdask_partitioned._check_split_features(split_features, X.shape[1])
    plan, _ = gdask_plan.partition_plan(da.from_array(X, chunks=700), estimator, n_blocks,
                                        split, False)
    block = plan.block_of(X)
    return max(np.unique(block[labels == k]).size for k in range(labels.max() + 1)), block


RANGE_EPS = RangeEps(base=[0.012, 0.02], range_feature=0, power=[1.0, 0.5], min_eps=0.04)

CASES = {
    "scalar": GridDBSCAN(eps=0.18, min_samples=5),
    "per-feature": GridDBSCAN(eps=[0.25, 0.12], min_samples=5, metric="manhattan"),
    "range-union": GridDBSCAN(eps=RANGE_EPS, min_samples=5),
    "range-query": GridDBSCAN(eps=RANGE_EPS, min_samples=5, neighbors="query"),
    "range-window": GridDBSCAN(eps=RangeEps(base=0.05, range_feature=0, power=0.5),
                               min_samples=4, metric="chebyshev", window_features=[1]),
    # Radii equal across features for small ranges only: some blocks see one column.
    "range-partly-isotropic": GridDBSCAN(eps=RangeEps(base=0.05, range_feature=0, power=0.5,
                                                      max_eps=[0.15, 0.2]), min_samples=5),
    "range-minkowski": GridDBSCAN(eps=RangeEps(base=[0.03, 0.04], range_feature=0,
                                               power=[0.6, 0.3]),
                                  min_samples=6, metric="minkowski", p=3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_partitioned_equals_single_machine(client, name):
    estimator = CASES[name]
    X = cloud()
    expected = estimator.fit(X).labels_
    labels = partitioned(X, estimator, n_blocks=6, split_features=0)
    np.testing.assert_array_equal(labels, expected)
    # The data make the case hard: clusters that cross several blocks.
    spans, _ = block_spans(X, estimator, expected, 6, 0)
    assert spans >= 5


def test_scalar_eps_is_sklearn_with_halo_borders(client):
    X = cloud(seed=2)
    eps, min_samples, n_blocks = 0.25, 8, 12
    expected = DBSCAN(eps=eps, min_samples=min_samples).fit(X)
    estimator = GridDBSCAN(eps=eps, min_samples=min_samples)
    labels = partitioned(X, estimator, n_blocks=n_blocks, split_features=[0, 1])
    np.testing.assert_array_equal(labels, expected.labels_)
    # A grid of blocks over both features, with border points whose every core neighbour
    # lies in another block: their labels can only come through the halos.
    _, block = block_spans(X, estimator, labels, n_blocks, [0, 1])
    assert len(np.unique(block)) >= 9
    core = np.zeros(len(X), dtype=bool)
    core[expected.core_sample_indices_] = True
    border = np.flatnonzero(~core & (labels >= 0))
    neighbour = ((X[border, None, :] - X[None, core, :]) ** 2).sum(-1) <= eps ** 2
    same_block = block[border, None] == block[None, core]
    across = (neighbour & ~same_block).any(1) & ~(neighbour & same_block).any(1)
    assert across.sum() >= 3


def test_periodic_and_haversine_blocks_get_their_halo_across_the_seam(client):
    """Blocks are cut along range only; echoes across north stay one cluster, as on one machine."""
    X = cloud(seed=4)
    polar = np.column_stack([X[:, 0], (X[:, 1] * 36.0 + 180.0) % 360.0])   # azimuth wraps
    periodic = GridDBSCAN(eps=RangeEps(base=[0.2, 40.0], range_feature=0, power=[0.0, -1.0]),
                          min_samples=5, periods=[None, 360.0])
    expected = periodic.fit(polar).labels_
    np.testing.assert_array_equal(partitioned(polar, periodic, n_blocks=6), expected)
    across = [k for k in range(expected.max() + 1)
              if np.ptp(polar[expected == k, 1]) > 300]     # a cluster across the seam
    assert across
    with pytest.raises(ValueError, match="split_features must avoid the periodic"):
        partitioned(polar, periodic, n_blocks=6, split_features=1)
    # Latitude and longitude in radians; no block is cut along longitude.
    sphere = np.column_stack([(X[:, 0] - 11.0) * 0.14, (X[:, 1] - 5.0) * 0.628])
    haversine = GridDBSCAN(eps=0.03, min_samples=5, metric="haversine")
    np.testing.assert_array_equal(partitioned(sphere, haversine, n_blocks=4),
                                  DBSCAN(eps=0.03, min_samples=5, metric="haversine",
                                         algorithm="ball_tree").fit(sphere).labels_)


def test_float32_weights_and_default_split(client):
    X = cloud(seed=2).astype(np.float32)
    weights = np.random.default_rng(3).integers(0, 3, size=len(X)).astype(float)
    estimator = GridDBSCAN(eps=RANGE_EPS, min_samples=6)
    expected = estimator.fit(X, sample_weight=weights).labels_
    labels = partitioned(X, estimator, n_blocks=5,
                         sample_weight=da.from_array(weights, chunks=700))
    np.testing.assert_array_equal(labels, expected)


def test_adaptive_minimum_on_a_lattice(client):
    # Integer cells of a gate x beam x scan grid, GBDSCAN's adaptive core rule.
    rng = np.random.default_rng(4)
    cells = np.unique(np.concatenate([
        rng.integers([0, 0, 0], [75, 16, 6], size=(1500, 3)),
        rng.normal([30, 8, 3], [6, 2, 1.5], size=(1500, 3)).round().clip(0, [74, 15, 5]),
    ]).astype(int), axis=0)
    cells = cells[rng.permutation(len(cells))].astype(float)
    estimator = GridDBSCAN(eps=RangeEps(base=[1.0, 0.2, 1.0], range_feature=0,
                                        power=[0.0, 0.5, 0.0], offset=1.0),
                           pts_ratio=0.3, neighbors="query", window_features=[2])
    expected = estimator.fit(cells).labels_
    assert expected.max() >= 1
    labels = partitioned(cells, estimator, n_blocks=4, split_features=0)
    np.testing.assert_array_equal(labels, expected)
    assert estimator.grid_shape is None  # the lattice bounds were found on a copy


@pytest.mark.parametrize("n_blocks, split_features", [(1, None), (40, 0), (30, [1, 0])])
def test_one_block_and_blocks_thinner_than_halos(n_blocks, split_features):
    # With 40 slabs a halo spans several blocks; the local scheduler runs the same graph.
    X = cloud(seed=6, n_noise=1000)
    estimator = GridDBSCAN(eps=RANGE_EPS, min_samples=5)
    with dask.config.set(scheduler="sync"):
        labels = partitioned(X, estimator, chunks=1000, n_blocks=n_blocks,
                             split_features=split_features)
    np.testing.assert_array_equal(labels, estimator.fit(X).labels_)


def test_halo_holds_every_neighbour():
    # Every neighbour of a block's own point lies in the block's R1, under the union rule.
    X = cloud(seed=5, n_noise=800)
    estimator = gdask_partitioned._check_estimator(GridDBSCAN(eps=RANGE_EPS), 2)
    with dask.config.set(scheduler="sync"):
        plan, _ = gdask_plan.partition_plan(da.from_array(X, chunks=500), estimator, 9,
                                            np.array([0, 1]), False)
    E = RANGE_EPS.evaluate(X)
    scaled = np.hypot((X[:, None, 0] - X[None, :, 0]) / E[:, None, 0],
                      (X[:, None, 1] - X[None, :, 1]) / E[:, None, 1])
    related = (scaled <= 1) | (scaled <= 1).T
    block = plan.block_of(X)
    for b in np.unique(block):
        neighbours = related[block == b].any(0)
        inside = gdask_plan.in_boxes(X, plan.split, plan.r1_lo[b], plan.r1_hi[b])
        assert np.all(inside[neighbours])
        assert not np.all(inside)


def radar_groups(seed=0):
    """Detections of 3 radars x 2 days: range (km), azimuth (deg), with a shuffled index."""
    rng = np.random.default_rng(seed)
    frames = []
    for radar in range(3):
        for day in range(2):
            n = int(rng.integers(200, 400))
            r = np.concatenate([rng.uniform(5, 100, n), rng.normal(40 + 10 * radar, 2, 150)])
            az = np.concatenate([rng.uniform(0, 90, n), rng.normal(30 + 20 * day, 3, 150)])
            frames.append(pd.DataFrame({"radar": f"r{radar}", "day": day, "range": r,
                                        "azimuth": az, "power": rng.normal(size=r.size)}))
    df = pd.concat(frames, ignore_index=True)
    df = df.iloc[rng.permutation(len(df))]
    df.index = rng.permutation(len(df)) + 1000
    return df


def expected_group_labels(df, estimator, by, features):
    labels = pd.Series(-2, index=df.index)
    for _, group in df.groupby(by, sort=False):
        labels[group.index] = estimator.fit_predict(group[features])
    return labels


@pytest.mark.parametrize("estimator", [
    GridDBSCAN(eps=2.0, min_samples=4),
    GridDBSCAN(eps=RangeEps(base=[1.5, 60.0], range_feature="range", power=[0.0, -1.0],
                            min_eps=[1.5, 0.8]), min_samples=4),
], ids=["scalar", "range"])
def test_cluster_groups_equals_each_group_alone(client, estimator):
    df = radar_groups()
    ddf = dd.from_pandas(df, npartitions=4, sort=False)  # rows in their given order
    out = gdask.cluster_groups(ddf, estimator, by=["radar", "day"],
                               features=["range", "azimuth"], label_column="cluster")
    got = client.compute(out).result(timeout=RESULT_TIMEOUT)
    expected = expected_group_labels(df, estimator, ["radar", "day"], ["range", "azimuth"])
    assert sorted(got.index) == sorted(df.index)
    assert list(got.columns) == list(df.columns) + ["cluster"]
    # Dask may store the strings with another missing-value marker.
    pd.testing.assert_frame_equal(got.drop(columns="cluster").loc[df.index], df,
                                  check_dtype=False)
    np.testing.assert_array_equal(got["cluster"].loc[df.index], expected.loc[df.index])
    assert expected.max() >= 2


def superdarn_groups(seed=0):
    """Occupied gate x beam cells of a few scans per radar, rows in scan order."""
    rng = np.random.default_rng(seed)
    frames = []
    for radar in range(3):
        for scan in range(4):
            cells = np.unique(np.concatenate([
                rng.integers([0, 0], [75, 16], size=(60, 2)),
                rng.normal([25 + 10 * radar, 8], [4, 2], size=(80, 2)).round().clip(0, [74, 15]),
            ]).astype(int), axis=0)
            cells = cells[rng.permutation(len(cells))]
            frames.append(pd.DataFrame({"radar": radar, "gate": cells[:, 0],
                                        "beam": cells[:, 1], "scan": scan}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("mode", ["consistent", "reference"])
def test_cluster_groups_gbdscan(client, mode):
    df = superdarn_groups()
    estimator = gridscan.GBDSCAN(dr=45.0, dtheta=3.24, r_init=180.0, scan_eps=1, n_gates=75,
                                 n_beams=16, n_scans=4, mode=mode)
    out = gdask.cluster_groups(dd.from_pandas(df, npartitions=3), estimator, by="radar",
                               features=["gate", "beam", "scan"])
    got = client.compute(out).result(timeout=RESULT_TIMEOUT)
    expected = expected_group_labels(df, estimator, "radar", ["gate", "beam", "scan"])
    np.testing.assert_array_equal(got["label"].loc[df.index], expected.loc[df.index])
    assert expected.max() >= 1


def test_cluster_groups_reports_reference_labels_scan_by_scan(client):
    # Scan 0 is reported as noise before scan 1's seed takes its cells over.
    cells = np.array([[6, 8, 0], [5, 7, 0], [6, 7, 1], [6, 5, 1]])
    df = pd.DataFrame({"radar": np.repeat(["a", "b"], 4), "gate": np.tile(cells[:, 0], 2),
                       "beam": np.tile(cells[:, 1], 2), "scan": np.tile(cells[:, 2], 2)})
    estimator = gridscan.GBDSCAN(pts_ratio=0.1, n_gates=10, n_beams=16, mode="reference")
    out = gdask.cluster_groups(dd.from_pandas(df, npartitions=2), estimator, by="radar",
                               features=["gate", "beam", "scan"])
    got = client.compute(out).result(timeout=RESULT_TIMEOUT)
    assert got["label"].loc[df.index].tolist() == [-1, -1, 0, 0] * 2


class FailsOnGroup(ClusterMixin, BaseEstimator):
    """Labels every point 0, but raises on a group holding a negative x."""

    def fit(self, X, y=None):
        if (np.asarray(X) < 0).any():
            raise ValueError("negative x in this group")
        self.labels_ = np.zeros(len(X), dtype=int)
        return self


def test_cluster_groups_failure_is_raised_with_its_group(client):
    df = pd.DataFrame({"g": np.repeat([0, 1, 2], 50), "x": np.arange(150.0)})
    df.loc[df.g == 2, "x"] *= -1
    out = gdask.cluster_groups(dd.from_pandas(df, npartitions=3), FailsOnGroup(), "g", "x")
    with pytest.raises(ValueError, match="negative x") as info:
        client.compute(out).result(timeout=RESULT_TIMEOUT)
    assert any("group g=2 (50 rows)" in note for note in getattr(info.value, "__notes__", []))


def test_partitioned_worker_error_is_raised(client):
    X = cloud(n_noise=500)
    X[-1, 0] = -5.0  # the eps model gives no radius at a negative range
    estimator = GridDBSCAN(eps=RangeEps(base=0.05, range_feature=0, power=0.5))
    with pytest.raises(ValueError, match="every eps must be finite"):
        partitioned(X, estimator, n_blocks=3)


def test_partitioned_progress_local_and_distributed(client, capsys):
    X = cloud(n_noise=500)
    estimator = GridDBSCAN(eps=0.2, min_samples=5)
    expected = estimator.fit(X).labels_
    np.testing.assert_array_equal(partitioned(X, estimator, n_blocks=3, progress=True),
                                  expected)
    with dask.config.set(scheduler="sync"):
        assert gdask_scheduling.active_client() is None
        np.testing.assert_array_equal(partitioned(X, estimator, n_blocks=3, progress=True),
                                      expected)
    assert "100% Completed" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    ({"estimator": DBSCAN()}, "estimator must be a gridscan.GridDBSCAN"),
    ({"estimator": GridDBSCAN(min_samples=0)}, "min_samples"),
    ({"estimator": GridDBSCAN(window_features="time")}, "window_features names column"),
    ({"estimator": GridDBSCAN(eps=RangeEps(base=1.0, range_feature="range", power=1.0))},
     "range_feature names column"),
    ({"estimator": GridDBSCAN(eps=[0.1, 0.2, 0.3])}, r"eps has shape \(3,\)"),
    ({"estimator": GridDBSCAN(metric="minkowski", p=0.5)}, "p must be a real number >= 1"),
    ({"X": np.zeros(5)}, "Expected 2D array"),
    ({"X": da.zeros((5, 0))}, "at least one feature"),
    ({"n_blocks": 0}, "n_blocks must be"),
    ({"split_features": [0, 0]}, "split_features must be"),
    ({"split_features": 2}, "split_features must be"),
    ({"sample_weight": np.ones(3)}, r"sample_weight has shape \(3,\); expected \(40,\)"),
])
def test_partitioned_bad_input(kwargs, match):
    arguments = {"X": np.random.default_rng(0).normal(size=(40, 2)),
                 "estimator": GridDBSCAN()} | kwargs
    X = arguments.pop("X")
    with dask.config.set(scheduler="sync"), pytest.raises(ValueError, match=match):
        gdask.fit_predict_partitioned(X, **arguments)


@pytest.mark.parametrize("kwargs, match", [
    ({"by": "missing"}, "by must name columns"),
    ({"features": ["x", "nope"]}, r"missing \['nope'\]"),
    ({"label_column": "x"}, "label_column must be a new column"),
    ({"estimator": object()}, "fit_predict"),
])
def test_cluster_groups_bad_input(kwargs, match):
    ddf = dd.from_pandas(pd.DataFrame({"g": [0, 1], "x": [0.0, 1.0]}), npartitions=1)
    arguments = {"estimator": GridDBSCAN(), "by": "g", "features": "x"} | kwargs
    with pytest.raises(ValueError, match=match):
        gdask.cluster_groups(ddf, **arguments)


@pytest.mark.parametrize("module", [gdask_groups, gdask_partitioned],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    run_docstring_examples(module)


def test_public_functions_are_those_of_the_package():
    assert gdask.__all__ == ["cluster_groups", "fit_predict_partitioned"]
    assert gdask.cluster_groups is gdask_groups.cluster_groups
    assert gdask.fit_predict_partitioned is gdask_partitioned.fit_predict_partitioned


def test_import_gridscan_does_not_import_dask():
    code = "import sys, gridscan; print('dask' in sys.modules, 'distributed' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.split() == ["False", "False"]


class KillsItsWorker(ClusterMixin, BaseEstimator):
    def fit(self, X, y=None):
        os._exit(1)


def test_dead_worker_is_an_error_not_a_hang(client):
    # Runs last: the nanny restarts the worker for whatever follows.
    df = pd.DataFrame({"g": [0, 0, 1], "x": [0.0, 1.0, 2.0]})
    out = gdask.cluster_groups(dd.from_pandas(df, npartitions=1), KillsItsWorker(), "g", "x")
    with pytest.raises(distributed.KilledWorker):
        client.compute(out).result(timeout=RESULT_TIMEOUT)
    client.wait_for_workers(2, timeout=RESULT_TIMEOUT)
