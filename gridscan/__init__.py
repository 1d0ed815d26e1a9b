"""gridscan: compiled DBSCAN with range-dependent eps, and grid-based DBSCAN for radar data.

Public API
----------
GridDBSCAN  exact DBSCAN (scikit-learn's labels for a scalar eps) with per-feature,
            per-point and range-dependent eps, window features and the adaptive
            GBDSCAN minimum
RangeEps    declarative eps model: radii that follow a range feature
BallTree    ball tree with per-point eps for radius searches
GBDSCAN     grid-based DBSCAN for radar gate/beam/scan cells (consistent and
            reference modes)
GridHDBSCAN HDBSCAN over the scale of any of GridDBSCAN's eps: every DBSCAN partition
            at once (``labels_at``); scikit-learn's HDBSCAN for a scalar eps
k_distance  each point's k-th smallest scaled distance, to choose a scale

Submodules, imported on first use (they pull in their own dependencies):
gridscan.radar  radar readers (Py-ART, xradar, SuperDARN tables), beam geometry,
                synthetic scans
gridscan.plot   PPI and range-time plots of clusters (matplotlib)
gridscan.cli    the ``gridscan`` command

Imported only when asked for (``import gridscan.dask``), since it loads Dask:
gridscan.dask   clustering on Dask: many groups in parallel, or one point cloud
                split spatially with the single-machine labels
"""

import importlib

# Before any compiled module: it sets how OpenMP's threads wait (see the module).
from gridscan import _wait_policy  # noqa: F401, I001
from gridscan._ball_tree import BallTree
from gridscan._dbscan import GridDBSCAN
from gridscan._gbdscan import GBDSCAN
from gridscan._hdbscan import GridHDBSCAN, k_distance
from gridscan._range_eps import RangeEps

__version__ = "0.1.0"

__all__ = ["BallTree", "GBDSCAN", "GridDBSCAN", "GridHDBSCAN", "RangeEps", "k_distance",
           "__version__"]

_SUBMODULES = ("radar", "plot", "cli")


def __getattr__(name):
    # Lazy submodules: importing gridscan must not import matplotlib, Py-ART or pandas.
    if name in _SUBMODULES:
        return importlib.import_module(f"gridscan.{name}")
    raise AttributeError(f"module 'gridscan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
