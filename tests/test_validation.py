"""Bad input everywhere: a clear error naming the parameter, the expected and the received value.

Every case runs in one child process (``outcomes`` below): a crash there fails
the cases instead of taking the test runner down, and the parent checks each
case's exception type and message.  The last tests run inputs at the edge of
what is valid (huge n_jobs, huge values) in children of their own and check
that they give the right answer.
"""

import contextlib
import io
import json
import re
import sys
import traceback
from types import SimpleNamespace
from typing import NamedTuple

import child
import numpy as np
import pytest

from gridscan import BallTree, GridDBSCAN, RangeEps

# ---------------------------------------------------------------- data of the cases

X = np.random.default_rng(0).uniform(0, 1, (20, 2))
X_NAN = np.array([[0.0, np.nan], [1.0, 1.0]])
X_INF = np.array([[0.0, np.inf], [1.0, 1.0]])
LATTICE = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
ONES_20 = np.ones(20)


def with_first(array, value):
    out = np.array(array, dtype=float)
    out.flat[0] = value
    return out


def fitted(**params):
    return GridDBSCAN(**params).fit(X)


def fitted_with_sample_eps():
    return GridDBSCAN(min_samples=2).fit(X, sample_eps=np.full(20, 0.3))


def ranged(**params):
    return GridDBSCAN(eps=RangeEps(range_feature=0, **params), min_samples=2)


def pyart_radar(range_m=(500.0, 1500.0, 2500.0), azimuth=(10.0, 11.0), elevation=(0.5, 0.5),
                data=None, sweeps=None, units="meters"):
    """A duck-typed Py-ART radar of 2 rays and 3 gates."""
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) if data is None else data
    radar = SimpleNamespace(
        fields={"dbz": {"data": data}},
        range={"data": np.array(range_m), "units": units},
        azimuth={"data": np.array(azimuth)},
        elevation={"data": np.array(elevation)})
    if sweeps is not None:
        radar.sweep_start_ray_index = {"data": np.array(sweeps[0])}
        radar.sweep_end_ray_index = {"data": np.array(sweeps[1])}
    return radar


def from_pyart(*args, **kwargs):
    from gridscan.radar import from_pyart
    return from_pyart(*args, **kwargs)


def xradar_sweep(range_m=(125.0, 375.0, 625.0), azimuth=(0.5, 1.5), dims=("azimuth", "range")):
    import xarray as xr
    return xr.Dataset(
        {"DBZH": (dims, [[10.0, 20.0, 30.0], [5.0, 25.0, 40.0]])},
        coords={"azimuth": ("azimuth", list(azimuth)), "elevation": ("azimuth", [0.5, 0.5]),
                "range": ("range", list(range_m), {"units": "meters"})})


def from_xradar(*args, **kwargs):
    from gridscan.radar import from_xradar
    return from_xradar(*args, **kwargs)


def superdarn_cells(gate=(1, 2), beam=(1, 2), time=(0.0, 60.0), **kwargs):
    import pandas as pd

    from gridscan.radar import superdarn_cells
    table = pd.DataFrame({"gate": list(gate), "beam": list(beam), "time": list(time)})
    return superdarn_cells(table, **kwargs)


def radar_call(name, *args, **kwargs):
    import gridscan.radar
    return getattr(gridscan.radar, name)(*args, **kwargs)


def partitioned(X, estimator=None, chunks=10, **kwargs):
    """gridscan.dask.fit_predict_partitioned on the synchronous scheduler."""
    import dask
    import dask.array as da

    import gridscan.dask
    if isinstance(X, np.ndarray) and X.ndim == 2 and chunks:
        X = da.from_array(X, chunks=(chunks, -1))
    with dask.config.set(scheduler="sync"):
        return gridscan.dask.fit_predict_partitioned(
            X, GridDBSCAN(eps=0.3) if estimator is None else estimator, **kwargs)


def grouped(frame=None, estimator=None, **kwargs):
    """gridscan.dask.cluster_groups computed on the synchronous scheduler."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    import gridscan.dask
    if frame is None:
        frame = pd.DataFrame({"g": [0] * 10 + [1] * 10, "x": X[:, 0], "y": X[:, 1]})
    params = dict(by="g", features=["x", "y"]) | kwargs
    result = gridscan.dask.cluster_groups(
        dd.from_pandas(frame, npartitions=2),
        GridDBSCAN(eps=0.3) if estimator is None else estimator, **params)
    with dask.config.set(scheduler="sync"):
        return result.compute()


def command(*argv):
    """The gridscan command line; its exit status and stderr come back as SystemExit."""
    from gridscan.cli import main
    return main([str(a) for a in argv])


def write_csv(path, **columns):
    import pandas as pd
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------- the cases


class Case(NamedTuple):
    id: str
    call: object      # no arguments; must raise
    error: type       # expected exception class (or a base class of it)
    match: str        # regex searched in the message: parameter, expected and received


def C(id, call, match, error=ValueError):
    return Case(id, call, error, match)


INVALID = "InvalidParameterError"
TMP = "/tmp/gridscan-test-validation"

CASES = [
    # --- GridDBSCAN parameters (sklearn's constraints, checked at fit)
    C("eps-zero", lambda: GridDBSCAN(eps=0).fit(X),
      r"'eps' parameter of GridDBSCAN must be a float in the range \(0\.0, inf\).*Got 0 instead"),
    C("eps-negative", lambda: GridDBSCAN(eps=-1.5).fit(X), r"'eps' parameter.*Got -1\.5 instead"),
    C("eps-nan", lambda: GridDBSCAN(eps=np.nan).fit(X), r"'eps' parameter.*Got nan instead"),
    C("eps-inf", lambda: GridDBSCAN(eps=np.inf).fit(X), r"'eps' parameter.*Got inf instead"),
    C("eps-string", lambda: GridDBSCAN(eps="wide").fit(X),
      r"'eps' parameter.*RangeEps'\. Got 'wide' instead"),
    C("eps-vector-length", lambda: GridDBSCAN(eps=[0.1, 0.2, 0.3]).fit(X),
      r"eps has shape \(3,\); expected a float or \(2,\)"),
    C("eps-matrix", lambda: GridDBSCAN(eps=np.ones((2, 2))).fit(X),
      r"eps has shape \(2, 2\); expected a float or \(2,\)"),
    C("eps-vector-negative", lambda: GridDBSCAN(eps=[0.1, -0.2]).fit(X),
      r"eps must be finite and > 0; got .*-0\.2.*column 1"),
    C("eps-vector-nan", lambda: GridDBSCAN(eps=[np.nan, 0.2]).fit(X),
      r"eps must be finite and > 0; got .*nan.*column 0"),
    C("eps-underflows", lambda: GridDBSCAN(eps=1e-320).fit(X),
      r"eps must lie between 1\.49e-154 and 1\.34e\+154 for metric='euclidean'.*got 1e-320"),
    C("eps-overflows", lambda: GridDBSCAN(eps=1e200).fit(X),
      r"eps must lie between 1\.49e-154 and 1\.34e\+154 .*got 1e\+200"),
    C("eps-manhattan-subnormal", lambda: GridDBSCAN(eps=3e-308, metric="l1").fit(X),
      r"eps must lie between 1e-300 and 1\.8e\+308 for metric='manhattan'.*got 3e-308"),
    C("eps-minkowski-huge-p", lambda: GridDBSCAN(eps=0.5, metric="minkowski", p=1e6).fit(X),
      r"eps must lie between 0\.999292 and 1\.00071 for metric='minkowski' with p=1e\+06, "
      r"where eps\*\*1e\+06 is an exact double \(metric='chebyshev' is the limit of a large "
      r"p\); got 0\.5"),
    C("eps-minkowski-p-1e308", lambda: GridDBSCAN(eps=0.5, metric="minkowski", p=1e308).fit(X),
      r"eps must be exactly 1 for metric='minkowski' with p=1e\+308, the only radius whose "
      r"eps\*\*1e\+308 is an exact double \(metric='chebyshev'.*got 0\.5"),
    C("min_samples-zero", lambda: GridDBSCAN(min_samples=0).fit(X),
      r"'min_samples' parameter of GridDBSCAN must be an int in the range \[1, inf\)\. "
      r"Got 0 instead"),
    C("min_samples-float", lambda: GridDBSCAN(min_samples=2.5).fit(X),
      r"'min_samples' parameter.*Got 2\.5 instead"),
    C("metric", lambda: GridDBSCAN(metric="cosine").fit(X),
      r"'metric' parameter of GridDBSCAN must be a str among .*'euclidean'.*Got 'cosine'"),
    C("p-below-one", lambda: GridDBSCAN(metric="minkowski", p=0.5).fit(X),
      r"p must be a real number >= 1 for metric='minkowski' \(below 1 it is not a norm.*"
      r"got 0\.5"),
    C("p-negative", lambda: GridDBSCAN(p=-1.0).fit(X),
      r"'p' parameter of GridDBSCAN must be a float in the range \[0\.0, inf\) or None\. "
      r"Got -1\.0 instead"),
    C("p-nan", lambda: GridDBSCAN(metric="minkowski", p=np.nan).fit(X),
      r"'p' parameter.*Got nan instead"),
    C("window-index", lambda: GridDBSCAN(window_features=[5]).fit(X),
      r"window_features must hold feature indices in \[0, 2\) or column names; got 5"),
    C("window-float", lambda: GridDBSCAN(window_features=[0.5]).fit(X),
      r"window_features must hold feature indices in \[0, 2\).*got 0\.5"),
    C("window-name-without-names", lambda: GridDBSCAN(window_features=["time"]).fit(X),
      r"window_features names column 'time', which is not among the feature names None"),
    C("neighbors", lambda: GridDBSCAN(neighbors="both").fit(X),
      r"'neighbors' parameter of GridDBSCAN must be a str among .*'union'.*Got 'both'"),
    C("pts_ratio-zero", lambda: GridDBSCAN(pts_ratio=0).fit(X),
      r"'pts_ratio' parameter of GridDBSCAN must be a float in the range \(0\.0, 1\.0\] or "
      r"None\. Got 0 instead"),
    C("pts_ratio-above-one", lambda: GridDBSCAN(pts_ratio=1.5).fit(X),
      r"'pts_ratio' parameter.*Got 1\.5 instead"),
    C("pts_ratio-off-lattice", lambda: GridDBSCAN(pts_ratio=0.5).fit(X),
      r"X must hold non-negative integer cells; got X\[0\] = \[0\.63"),
    C("grid_shape-length", lambda: GridDBSCAN(eps=1, pts_ratio=0.5, grid_shape=(3,)).fit(LATTICE),
      r"grid_shape must hold 2 positive integers below 2\*\*62; got \(3,\)"),
    C("grid_shape-negative",
      lambda: GridDBSCAN(eps=1, pts_ratio=0.5, grid_shape=(-3, 3)).fit(LATTICE),
      r"grid_shape must hold 2 positive integers below 2\*\*62; got \(-3, 3\)"),
    C("grid_shape-huge",
      lambda: GridDBSCAN(eps=1, pts_ratio=0.5, grid_shape=(1e300, 11)).fit(LATTICE),
      r"grid_shape must hold 2 positive integers below 2\*\*62; got \(1e\+300, 11\)"),
    C("grid_shape-fraction",
      lambda: GridDBSCAN(eps=1, pts_ratio=0.5, grid_shape=(2.5, 3)).fit(LATTICE),
      r"grid_shape must hold 2 positive integers below 2\*\*62; got \(2\.5, 3\)"),
    C("grid_shape-string", lambda: GridDBSCAN(eps=1, pts_ratio=0.5, grid_shape="ab").fit(LATTICE),
      r"'grid_shape' parameter of GridDBSCAN must be an array-like or None\. Got 'ab'"),
    C("grid_shape-too-small",
      lambda: GridDBSCAN(eps=1, pts_ratio=0.5, grid_shape=(2, 2)).fit(LATTICE),
      r"X\[2\] = \[2\. 0\.\] lies outside grid_shape \(2, 2\)"),
    C("algorithm", lambda: GridDBSCAN(algorithm="kd_tree").fit(X),
      r"'algorithm' parameter of GridDBSCAN must be a str among .*Got 'kd_tree'"),
    C("leaf_size", lambda: GridDBSCAN(leaf_size=0).fit(X),
      r"'leaf_size' parameter of GridDBSCAN must be an int in the range \[1, inf\)\. Got 0"),
    C("n_jobs-zero", lambda: GridDBSCAN(n_jobs=0).fit(X),
      r"n_jobs must be None or a non-zero integer; got 0"),
    C("n_jobs-float", lambda: GridDBSCAN(n_jobs=1.5).fit(X),
      r"'n_jobs' parameter of GridDBSCAN must be an instance of 'int' or None\. Got 1\.5"),
    C("n_jobs-bool", lambda: GridDBSCAN(n_jobs=True).fit(X),
      r"n_jobs must be None or a non-zero integer; got True"),
    C("grid-too-many-features",
      lambda: GridDBSCAN(algorithm="grid").fit(np.random.default_rng(0).random((20, 9))),
      r"algorithm='grid' handles at most 8 features; got 9"),
    # --- fit: X
    C("X-nan", lambda: GridDBSCAN().fit(X_NAN), r"Input X contains NaN"),
    C("X-inf", lambda: GridDBSCAN().fit(X_INF), r"Input X contains infinity"),
    C("X-1d", lambda: GridDBSCAN().fit(np.array([1.0, 2.0])),
      r"Expected 2D array, got 1D array instead"),
    C("X-3d", lambda: GridDBSCAN().fit(np.zeros((2, 2, 2))),
      r"Found array with dim 3, while dim <= 2 is required"),
    C("X-empty", lambda: GridDBSCAN().fit(np.zeros((0, 2))),
      r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\) while a minimum of 1 is required"),
    C("X-no-features", lambda: GridDBSCAN().fit(np.zeros((3, 0))),
      r"Found array with 0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1 is required"),
    C("X-strings", lambda: GridDBSCAN().fit([["a", "b"]]), r"could not convert string to float"),
    C("X-complex", lambda: GridDBSCAN().fit(np.ones((3, 2), complex)),
      r"Complex data not supported"),
    C("X-span-overflows", lambda: GridDBSCAN().fit(np.array([[-1e308, 0.0], [1e308, 1.0]])),
      r"X spans from -1e\+308 to 1e\+308 along feature 0; expected a span below 1\.798e\+308"),
    # --- fit: sample_weight
    C("sample_weight-length", lambda: GridDBSCAN().fit(X, sample_weight=np.ones(3)),
      r"sample_weight has shape \(3,\); expected \(20,\)"),
    C("sample_weight-2d", lambda: GridDBSCAN().fit(X, sample_weight=np.ones((20, 1))),
      r"sample_weight has shape \(20, 1\); expected \(20,\)"),
    C("sample_weight-nan", lambda: GridDBSCAN().fit(X, sample_weight=with_first(ONES_20, np.nan)),
      r"Input sample_weight contains NaN"),
    C("sample_weight-inf", lambda: GridDBSCAN().fit(X, sample_weight=with_first(ONES_20, np.inf)),
      r"Input sample_weight contains infinity"),
    C("sample_weight-strings", lambda: GridDBSCAN().fit(X, sample_weight=["a"] * 20),
      r"could not convert string to float: 'a'"),
    # --- fit: sample_eps
    C("sample_eps-length", lambda: GridDBSCAN().fit(X, sample_eps=np.ones(3)),
      r"sample_eps has shape \(3,\); expected \(20,\) or \(20, 2\)"),
    C("sample_eps-columns", lambda: GridDBSCAN().fit(X, sample_eps=np.ones((20, 3))),
      r"sample_eps has shape \(20, 3\); expected \(20,\) or \(20, 2\)"),
    C("sample_eps-3d", lambda: GridDBSCAN().fit(X, sample_eps=np.ones((20, 2, 1))),
      r"sample_eps has shape \(20, 2, 1\); expected \(20,\) or \(20, 2\)"),
    C("sample_eps-scalar", lambda: GridDBSCAN().fit(X, sample_eps=0.5),
      r"sample_eps has a scalar; expected \(20,\) or \(20, 2\)"),
    C("sample_eps-zero", lambda: GridDBSCAN().fit(X, sample_eps=with_first(ONES_20, 0.0)),
      r"sample_eps must be finite and > 0; got .*0\.0.*row 0"),
    C("sample_eps-negative", lambda: GridDBSCAN().fit(X, sample_eps=-ONES_20),
      r"sample_eps must be finite and > 0; got .*-1\.0"),
    C("sample_eps-nan", lambda: GridDBSCAN().fit(X, sample_eps=with_first(ONES_20, np.nan)),
      r"sample_eps must be finite and > 0; got .*nan"),
    C("sample_eps-inf", lambda: GridDBSCAN().fit(X, sample_eps=with_first(ONES_20, np.inf)),
      r"sample_eps must be finite and > 0; got .*inf"),
    C("sample_eps-strings", lambda: GridDBSCAN().fit(X, sample_eps=["a"] * 20),
      r"sample_eps must be a number or an array of numbers; got \['a'"),
    C("sample_eps-underflows", lambda: GridDBSCAN().fit(X, sample_eps=with_first(ONES_20, 1e-200)),
      r"sample_eps must lie between 1\.49e-154 and .* got 1e-200 \(first at row 0, column 0\)"),
    # --- eps models
    C("RangeEps-negative-eps", lambda: ranged(base=1.0, power=1.0, offset=-5).fit(X),
      r"eps model RangeEps\(.*offset=-5.*\) gives eps\[0, 0\] = .*-4\.36.* at range "
      r"X\[0, 0\] = .*0\.63.*; every eps must be finite and > 0"),
    C("RangeEps-zero-eps", lambda: ranged(base=1.0, power=1.0).fit(LATTICE),
      r"gives eps\[0, 0\] = .*0\.0.* at range X\[0, 0\] = .*0\.0.*finite and > 0"),
    C("RangeEps-infinite-eps", lambda: ranged(base=1.0, power=-1.0).fit(LATTICE),
      r"gives eps\[0, 0\] = .*inf.*finite and > 0"),
    C("RangeEps-overflow", lambda: ranged(base=1e300, power=10.0, offset=1e10).fit(X),
      r"gives eps\[0, 0\] = .*inf"),
    C("RangeEps-tiny-eps", lambda: ranged(base=1e-200, power=0.0).fit(X),
      r"eps must lie between 1\.49e-154 and .*got 1e-200"),
    C("RangeEps-feature-index", lambda: GridDBSCAN(eps=RangeEps(1.0, 5, 1.0)).fit(X),
      r"range_feature must be a feature index in \[0, 2\) or a column name; got 5"),
    C("RangeEps-feature-bool", lambda: GridDBSCAN(eps=RangeEps(1.0, True, 1.0)).fit(X),
      r"range_feature must be a feature index in \[0, 2\).*got True"),
    C("RangeEps-feature-name", lambda: GridDBSCAN(eps=RangeEps(1.0, "range", 1.0)).fit(X),
      r"range_feature names column 'range', which is not among the feature names None"),
    C("RangeEps-base-zero", lambda: ranged(base=0.0, power=1.0).fit(X),
      r"base must be finite and > 0; got 0\.0"),
    C("RangeEps-base-shape", lambda: ranged(base=[1.0, 2.0, 3.0], power=1.0).fit(X),
      r"base has shape \(3,\); expected a float or \(2,\)"),
    C("RangeEps-base-string", lambda: ranged(base="a", power=1.0).fit(X),
      r"base must be a float or an array of 2 floats; got 'a'"),
    C("RangeEps-power-nan", lambda: ranged(base=1.0, power=np.nan).fit(X),
      r"power must not be NaN; got nan"),
    C("RangeEps-power-inf", lambda: ranged(base=1.0, power=np.inf).fit(X),
      r"power must be finite; got inf"),
    C("RangeEps-bounds", lambda: ranged(base=1.0, power=1.0, min_eps=2, max_eps=1).fit(X),
      r"min_eps must not exceed max_eps; got min_eps=2, max_eps=1"),
    C("RangeEps-offset-string", lambda: ranged(base=1.0, power=1.0, offset="1").fit(X),
      r"offset must be a finite float; got '1'"),
    # --- predict
    C("predict-before-fit", lambda: GridDBSCAN().predict(X),
      r"This GridDBSCAN instance is not fitted yet", error=ValueError),
    C("predict-features", lambda: fitted(eps=0.3).predict(np.ones((3, 3))),
      r"X has 3 features, but GridDBSCAN is expecting 2 features as input"),
    C("predict-nan", lambda: fitted(eps=0.3).predict(X_NAN), r"Input X contains NaN"),
    C("predict-sample_eps-needed", lambda: fitted_with_sample_eps().predict(X),
      r"predict needs sample_eps: the model was fitted with sample_eps"),
    C("predict-sample_eps-length", lambda: fitted_with_sample_eps().predict(X, sample_eps=[1.0]),
      r"sample_eps has shape \(1,\); expected \(20,\) or \(20, 2\)"),
    C("predict-sample_eps-negative", lambda: fitted_with_sample_eps().predict(X, -ONES_20),
      r"sample_eps must be finite and > 0; got .*-1\.0"),
    C("predict-eps-model-negative",
      lambda: GridDBSCAN(eps=RangeEps(0.3, 0, 1.0, offset=0.1), min_samples=2).fit(X).predict(
          np.array([[-5.0, 0.0]])),
      r"gives eps\[0, 0\] = .*-1\.47.* at range X\[0, 0\] = .*-5\.0"),
    # --- BallTree and query_radius
    C("BallTree-nan", lambda: BallTree(X_NAN), r"Input X contains NaN"),
    C("BallTree-empty", lambda: BallTree(np.zeros((0, 2))),
      r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\)"),
    C("BallTree-1d", lambda: BallTree(np.ones(3)), r"Expected 2D array, got 1D array"),
    C("BallTree-leaf_size", lambda: BallTree(X, leaf_size=0),
      r"leaf_size must be an integer >= 1; got 0"),
    C("BallTree-leaf_size-float", lambda: BallTree(X, leaf_size=2.5),
      r"leaf_size must be an integer >= 1; got 2\.5"),
    C("BallTree-metric", lambda: BallTree(X, metric="cosine"),
      r"metric must be one of \['chebyshev', .*'minkowski'\]; got 'cosine'"),
    C("BallTree-p", lambda: BallTree(X, metric="minkowski", p=0),
      r"p must be a real number >= 1 for metric='minkowski' \(below 1 it is not a norm, "
      r"which every index relies on\); got 0"),
    C("BallTree-sample_eps", lambda: BallTree(X, sample_eps=np.ones(3)),
      r"sample_eps has shape \(3,\); expected \(20,\) or \(20, 2\)"),
    C("BallTree-sample_eps-negative", lambda: BallTree(X, sample_eps=-ONES_20),
      r"sample_eps must be finite and > 0; got .*-1\.0"),
    C("BallTree-window", lambda: BallTree(X, window_features=[9]),
      r"window_features must hold feature indices in \[0, 2\).*got 9"),
    C("query-features", lambda: BallTree(X).query_radius(np.ones((2, 3)), 0.1),
      r"X has 3 features; expected 2"),
    C("query-nan", lambda: BallTree(X).query_radius(X_NAN, 0.1), r"Input X contains NaN"),
    C("query-eps-zero", lambda: BallTree(X).query_radius(X, 0.0),
      r"eps must be finite and > 0; got .*0\.0"),
    C("query-eps-nan", lambda: BallTree(X).query_radius(X, np.nan),
      r"eps must be finite and > 0; got .*nan"),
    C("query-eps-string", lambda: BallTree(X).query_radius(X, "a"),
      r"eps must be a number or an array of numbers; got 'a'"),
    C("query-eps-none", lambda: BallTree(X).query_radius(X, None),
      r"eps must be a number or an array of numbers; got None"),
    C("query-eps-shape", lambda: BallTree(X).query_radius(X, np.ones(5)),
      r"eps has shape \(5,\); expected a float or \(2,\) or \(20, 2\)"),
    C("query-eps-rows", lambda: BallTree(X).query_radius(X, np.ones((5, 2))),
      r"eps has shape \(5, 2\); expected a float or \(2,\) or \(20, 2\)"),
    C("query-eps-underflows", lambda: BallTree(X).query_radius(X, 1e-170),
      r"eps must lie between 1\.49e-154 .*got 1e-170"),
    C("query-neighbors", lambda: BallTree(X).query_radius(X, 0.1, neighbors="x"),
      r"neighbors must be 'query' or 'union'; got 'x'"),
    C("query-union-without-eps", lambda: BallTree(X).query_radius(X, 0.1, neighbors="union"),
      r"neighbors='union' needs the eps of the indexed points"),
    C("query-n_jobs", lambda: BallTree(X).query_radius(X, 0.1, n_jobs=0),
      r"n_jobs must be None or a non-zero integer; got 0"),
    # --- gridscan.dask
    C("dask-X-nan", lambda: partitioned(np.vstack([X, X_NAN])), r"Input X contains NaN"),
    C("dask-X-1d", lambda: partitioned(np.ones(5), chunks=None),
      r"Expected 2D array, got 1D array"),
    C("dask-X-empty", lambda: partitioned(np.zeros((0, 2)), chunks=None),
      r"Found array with 0 sample\(s\)"),
    C("dask-X-complex", lambda: partitioned(np.ones((4, 2), complex)),
      r"X must hold real numbers; got dtype complex128"),
    C("dask-X-span-overflows", lambda: partitioned(np.array([[-1e308, 0.0], [1e308, 1.0]])),
      r"spans from -1e\+308 to 1e\+308 along feature 0"),
    C("dask-estimator", lambda: partitioned(X, "GridDBSCAN"),
      r"estimator must be a gridscan\.GridDBSCAN; got str"),
    C("dask-eps", lambda: partitioned(X, GridDBSCAN(eps=-1)), r"'eps' parameter.*Got -1"),
    C("dask-eps-model", lambda: partitioned(X - 0.5, GridDBSCAN(eps=RangeEps(0.1, 0, 1.0))),
      r"eps model RangeEps\(.*\) gives eps\[\d+, 0\] = .*-0\.\d+"),
    C("dask-n_blocks", lambda: partitioned(X, n_blocks=0),
      r"n_blocks must be None or an integer >= 1; got 0"),
    C("dask-split_features", lambda: partitioned(X, split_features=[5]),
      r"split_features must be 1 or 2 distinct feature indices in \[0, 2\); got \[5\]"),
    C("dask-sample_weight-shape", lambda: partitioned(X, sample_weight=np.ones(3)),
      r"sample_weight has shape \(3,\); expected \(20,\)"),
    C("dask-sample_weight-nan", lambda: partitioned(X, sample_weight=with_first(ONES_20, np.nan)),
      r"sample_weight must be finite; got .*nan.* at row 0"),
    C("dask-sample_weight-nan-in-a-block", lambda: partitioned(
        X, sample_weight=__import__("dask.array").array.from_array(
            np.r_[np.ones(15), np.nan, np.ones(4)], chunks=10)),
      r"sample_weight must be finite; got .*nan.* at row 15"),
    C("dask-groups-frame", lambda: __import__("gridscan.dask").dask.cluster_groups(
        X, GridDBSCAN(), by="g", features=["x"]),
      r"ddf must be a dask\.dataframe\.DataFrame; got ndarray"),
    C("dask-groups-by", lambda: grouped(by="radar"),
      r"by must name columns of ddf; got 'radar' \(missing \['radar'\]\); the columns are "
      r"\['g', 'x', 'y'\]"),
    C("dask-groups-features", lambda: grouped(features=["x", "z"]),
      r"features must name columns of ddf; got \['x', 'z'\] \(missing \['z'\]\)"),
    C("dask-groups-label", lambda: grouped(label_column="x"),
      r"label_column must be a new column name; got 'x'"),
    C("dask-groups-estimator", lambda: grouped(estimator="DBSCAN"),
      r"estimator must have a fit_predict method; got str"),
    C("dask-groups-nan", lambda: grouped(
        frame=__import__("pandas").DataFrame({"g": [0] * 3 + [1] * 3,
                                              "x": [0, 1, 2, 3, np.nan, 5], "y": [0.0] * 6})),
      r"Input X contains NaN"),
    # --- radar readers
    C("pyart-not-a-radar", lambda: from_pyart(object(), "dbz"),
      r"radar must be a Py-ART Radar \(or an object with its attributes\); got 'object' "
      r"without 'fields', 'range', 'azimuth', 'elevation'"),
    C("xradar-not-a-sweep", lambda: __import__("gridscan.radar").radar.from_xradar(
        np.zeros((2, 3)), "DBZH"),
      r"sweep must be an xarray Dataset or DataTree of one sweep; got 'ndarray' without "
      r"'data_vars', 'variables'"),
    C("ppi-features-array", lambda: __import__("gridscan.radar").radar.ppi_features(
        np.zeros((3, 3))),
      r"points must be a PolarPoints .*; got 'ndarray' without 'range', 'azimuth', "
      r"'elevation'"),
    C("superdarn-times-span", lambda: superdarn_cells(time=(0.0, 1e300), scan_length=60),
      r"column 'time' spans 1e\+300 seconds, 1.66667e\+298 scans of 60 s; expected fewer "
      r"than 2\*\*53 scans"),
    C("pyart-range-nan", lambda: from_pyart(pyart_radar(range_m=(np.nan, 1500, 2500)), "dbz"),
      r"range must be finite at every kept gate; got nan at gate 0"),
    C("pyart-azimuth-inf", lambda: from_pyart(pyart_radar(azimuth=(10.0, np.inf)), "dbz"),
      r"azimuth must be finite at every kept gate; got inf at ray 1"),
    C("pyart-elevation-nan", lambda: from_pyart(pyart_radar(elevation=(np.nan, 0.5)), "dbz"),
      r"elevation must be finite at every kept gate; got nan at ray 0"),
    C("pyart-field-1d", lambda: from_pyart(pyart_radar(data=np.ones(3)), "dbz"),
      r"field 'dbz' has shape \(3,\); expected \(n_rays, n_gates\)"),
    C("pyart-field-strings", lambda: from_pyart(pyart_radar(data=np.full((2, 3), "x")), "dbz"),
      r"field 'dbz' must hold numbers; got dtype <U1"),
    C("pyart-field-missing", lambda: from_pyart(pyart_radar(), "reflectivity"),
      r"field 'reflectivity' not found; available fields: dbz"),
    C("pyart-range-shape", lambda: from_pyart(pyart_radar(range_m=(500.0, 1500.0)), "dbz"),
      r"field 'dbz' has shape \(2, 3\); expected range of shape \(3,\).*got \(2,\)"),
    C("pyart-units", lambda: from_pyart(pyart_radar(units="feet"), "dbz"),
      r"range units must be metres or kilometres; got 'feet'"),
    C("pyart-threshold-string", lambda: from_pyart(pyart_radar(), "dbz", threshold="high"),
      r"threshold must be a finite number or None; got 'high'"),
    C("pyart-threshold-nan", lambda: from_pyart(pyart_radar(), "dbz", threshold=np.nan),
      r"threshold must be a finite number or None; got nan"),
    C("pyart-sweep-rays", lambda: from_pyart(pyart_radar(sweeps=([0], [7])), "dbz"),
      r"sweep_start_ray_index and sweep_end_ray_index must hold rays 0 <= start <= end < 2 "
      r"\(the rays of the field\); got \[0\] and \[7\]"),
    C("pyart-sweeps", lambda: from_pyart(pyart_radar(), "dbz", sweeps=3),
      r"sweeps must be sweep positions in \[0, 1\); got 3"),
    C("xradar-range-nan", lambda: from_xradar(xradar_sweep(range_m=(125.0, np.nan, 625.0)), "DBZH"),
      r"range must be finite at every kept gate; got nan at gate 1"),
    C("xradar-azimuth-nan", lambda: from_xradar(xradar_sweep(azimuth=(np.nan, 1.5)), "DBZH"),
      r"azimuth must be finite at every kept gate; got nan at ray 0"),
    C("xradar-field", lambda: from_xradar(xradar_sweep(), "VRADH"),
      r"field 'VRADH' not found; available fields: DBZH"),
    C("xradar-dims", lambda: from_xradar(xradar_sweep(dims=("time", "range")), "DBZH"),
      r"variable 'DBZH' has dimensions \('time', 'range'\); expected \('azimuth', 'range'\)"),
    C("superdarn-table", lambda: radar_call("superdarn_cells", np.zeros((3, 3))),
      r"table must be a pandas DataFrame; got ndarray"),
    C("superdarn-gate-nan", lambda: superdarn_cells(gate=(1, np.nan), scan_length=60),
      r"column 'gate' must hold non-negative integers; row 1 holds .*nan"),
    C("superdarn-gate-fraction", lambda: superdarn_cells(gate=(1.5, 2), scan_length=60),
      r"column 'gate' must hold non-negative integers; row 0 holds .*1\.5"),
    C("superdarn-gate-huge", lambda: superdarn_cells(gate=(1e30, 2), scan_length=60),
      r"column 'gate' must hold non-negative integers; row 0 holds .*1e\+30.* "
      r"\(expected 0 to 2147483647\)"),
    C("superdarn-time-inf", lambda: superdarn_cells(time=(0.0, np.inf), scan_length=60),
      r"column 'time' must hold finite times; row 1 holds .*inf"),
    C("superdarn-time-strings", lambda: superdarn_cells(time=("a", "b"), scan_length=60),
      r"column 'time' must hold datetimes or numbers \(seconds\)"),
    C("superdarn-scan_length-seconds", lambda: superdarn_cells(scan_length=0),
      r"scan_length must be a positive number of seconds for a numeric time column; got 0"),
    C("superdarn-scan_length-duration", lambda: superdarn_cells(
        time=__import__("pandas").to_datetime(["2024-01-01", "2024-01-02"]), scan_length="soon"),
      r"scan_length must be a pandas duration such as '1min' for a datetime column; got 'soon'"),
    C("radar-scan-speckle", lambda: radar_call("make_radar_scan", speckle="some"),
      r"speckle must be in \[0, 1\); got 'some'"),
    C("radar-scan-gate_spacing", lambda: radar_call("make_radar_scan", gate_spacing=np.inf),
      r"gate_spacing must be a finite number > 0; got inf"),
    C("radar-beam_eps", lambda: radar_call("beam_eps", -1.0),
      r"beam_width must be a number > 0; got -1\.0"),
    # --- the command line: status 2 and one line
    C("cli-eps", lambda: command("cluster", "in.csv", "--eps", "0", "-o", "out.csv"),
      r"status 2: gridscan: error: argument --eps: expected a number > 0 .*got '0'",
      error=SystemExit),
    C("cli-n-jobs", lambda: command("cluster", write_csv(f"{TMP}-ok.csv", x=[0.0, 1.0]),
                                    "--eps", "0.5", "--n-jobs", "0", "-o", f"{TMP}-out.csv"),
      r"status 2: gridscan: error: .*ok\.csv: n_jobs must be None or a non-zero integer; "
      r"got 0", error=SystemExit),
    C("cli-nan", lambda: command("cluster", write_csv(f"{TMP}-nan.csv", x=[0.0, np.nan]),
                                 "--eps", "0.5", "-o", f"{TMP}-out.csv"),
      r"status 2: gridscan: error: .*nan\.csv: column 'x' has a missing or non-finite value "
      r"in row 1", error=SystemExit),
    C("cli-eps-underflows", lambda: command("cluster", write_csv(f"{TMP}-ok.csv", x=[0.0, 1.0]),
                                            "--eps", "1e-200", "-o", f"{TMP}-out.csv"),
      r"status 2: gridscan: error: .*eps must lie between 1\.49e-154", error=SystemExit),
    C("cli-output", lambda: command("cluster", write_csv(f"{TMP}-ok.csv", x=[0.0, 1.0]),
                                    "--eps", "0.5", "-o", "/proc/gridscan/out.csv"),
      r"status 2: gridscan: error: cannot write '/proc/gridscan/out\.csv'", error=SystemExit),
]


def run_cases():
    """(In the child) run every case; one JSON line per case on stdout."""
    for case in CASES:
        stderr = io.StringIO()
        outcome = {"id": case.id, "raised": None}
        try:
            with contextlib.redirect_stderr(stderr):
                case.call()
        except SystemExit as exc:
            outcome.update(raised=["SystemExit"],
                           message=f"status {exc.code}: {stderr.getvalue().strip()}")
        except Exception as exc:
            outcome.update(raised=[k.__name__ for k in type(exc).__mro__],
                           message=str(exc), traceback=traceback.format_exc(limit=-3))
        print(json.dumps(outcome), flush=True)


@pytest.fixture(scope="module")
def outcomes():
    """Every case's outcome, from one child process (a case that crashes it has none)."""
    result = child.run("import test_validation; test_validation.run_cases()", timeout=600)
    found = {}
    for line in result.stdout.splitlines():
        outcome = json.loads(line)
        found[outcome["id"]] = outcome
    found["__child__"] = {"returncode": result.returncode, "stderr": result.stderr[-3000:]}
    return found


def test_case_ids_are_unique():
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_raises_a_clear_error(case, outcomes):
    outcome = outcomes.get(case.id)
    status = outcomes["__child__"]
    assert outcome is not None, (
        f"the child process ended ({child.describe(status['returncode'])}) before reporting "
        f"this case:\n{status['stderr']}")
    assert outcome["raised"] is not None, "no exception was raised"
    assert case.error.__name__ in outcome["raised"], (
        f"raised {outcome['raised'][0]}, expected {case.error.__name__}: "
        f"{outcome['message']}\n{outcome.get('traceback', '')}")
    assert re.search(case.match, outcome["message"], re.S), outcome["message"]
    # A message is one readable sentence, without exclamation marks.
    assert "!" not in outcome["message"].replace("!=", "")


def test_the_child_process_ended_normally(outcomes):
    status = outcomes["__child__"]
    assert status["returncode"] == 0, status["stderr"]


def test_invalid_parameter_errors_are_value_errors(outcomes):
    """sklearn's InvalidParameterError is a ValueError: one except clause catches all."""
    for case in CASES:
        outcome = outcomes[case.id]
        if outcome["raised"] and INVALID in outcome["raised"]:
            assert "ValueError" in outcome["raised"]


# ---------------------------------------------------------------- inputs at the edge


def labels_in_child(code, env=None):
    """Labels printed (as a JSON list) by ``code`` run in a child process."""
    result = child.run(code, env=env, timeout=120)
    assert result.returncode == 0, f"{child.describe(result.returncode)}\n{result.stderr}"
    return np.array(json.loads(result.stdout.strip().splitlines()[-1]))


EDGE_FIT = """
import json, sys
import numpy as np
from gridscan import GridDBSCAN
X = np.random.default_rng(1).uniform(0, 1, (3000, 2))
model = GridDBSCAN(eps=0.03, min_samples=4, {params})
print(json.dumps(model.fit(X).labels_.tolist()))
"""


@pytest.fixture(scope="module")
def edge_expected():
    from sklearn.cluster import DBSCAN
    X = np.random.default_rng(1).uniform(0, 1, (3000, 2))
    return DBSCAN(eps=0.03, min_samples=4).fit(X).labels_


@pytest.mark.parametrize("params", [
    "n_jobs=100000", "n_jobs=2**40", "n_jobs=-100", "algorithm='ball_tree', leaf_size=10**30",
    "algorithm='ball_tree', n_jobs=3",
])
def test_extreme_thread_counts_and_leaf_sizes_give_the_labels(params, edge_expected):
    """Asking OpenMP for 100,000 threads used to crash the interpreter; now capped at the CPUs."""
    labels = labels_in_child(EDGE_FIT.format(params=params))
    np.testing.assert_array_equal(labels, edge_expected)


@pytest.mark.parametrize("algorithm", ["grid", "ball_tree"])
def test_huge_omp_num_threads_gives_the_labels(algorithm, edge_expected):
    env = child.child_env(OMP_NUM_THREADS=100000)
    labels = labels_in_child(EDGE_FIT.format(params=f"algorithm={algorithm!r}"), env=env)
    np.testing.assert_array_equal(labels, edge_expected)


@pytest.mark.parametrize("scale", [1e-150, 1e150, 1e300])
@pytest.mark.parametrize("algorithm", ["brute", "ball_tree", "grid"])
def test_extreme_but_valid_scales_equal_the_reference(scale, algorithm):
    """Coordinates and eps near the ends of the double range still give exact labels."""
    from reference import dbscan
    metric = "euclidean" if scale < 1e200 else "manhattan"
    rng = np.random.default_rng(2)
    X = rng.integers(0, 6, (120, 2)) * scale
    eps = 1.5 * scale
    labels, core = dbscan(X, np.full(X.shape, eps), 3, metric)
    model = GridDBSCAN(eps=eps, min_samples=3, metric=metric, algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(model.labels_, labels)
    np.testing.assert_array_equal(model.core_sample_indices_, core)


def test_huge_leaf_size_builds_one_leaf():
    tree = BallTree(X, leaf_size=10**30)
    assert tree.leaf_size == len(X) and tree.n_nodes == 1
    counts = tree.query_radius(X, 0.3, count_only=True)
    expected = (np.linalg.norm(X[:, None] - X[None], axis=2) <= 0.3).sum(axis=1)
    np.testing.assert_array_equal(counts, expected)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
