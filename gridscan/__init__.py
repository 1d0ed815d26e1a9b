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
"""

from gridscan._ball_tree import BallTree
from gridscan._dbscan import GridDBSCAN
from gridscan._gbdscan import GBDSCAN
from gridscan._range_eps import RangeEps

__version__ = "0.1.0"

__all__ = ["BallTree", "GBDSCAN", "GridDBSCAN", "RangeEps", "__version__"]
