"""Radar helpers: readers into point arrays, beam geometry, synthetic scans, products.

Units: ranges and Cartesian coordinates are in kilometres, angles in degrees,
throughout this package (Py-ART and xradar store ranges in metres; the readers
convert).

Readers (``_readers``, ``_superdarn``)
--------------------------------------
from_pyart        a Py-ART ``Radar`` (any object with its attributes) -> PolarPoints
from_xradar       an xradar sweep Dataset -> PolarPoints
superdarn_cells   a SuperDARN-style table (gate, beam, time) -> (gate, beam, scan) rows

Geometry (``_geometry``)
------------------------
polar_to_cartesian, cartesian_to_polar   4/3-earth beam model
ppi_features                             (x, y, ground range) columns for clustering
beam_eps                                 the matching range-dependent eps (gate and ray spacing)

Features and eps together (``_features``): each returns a RadarFeatures
-------------------------------------------------------------------------
polar_features    one PPI sweep in (range, azimuth), azimuth periodic
ground_features   PPI sweeps in the ground plane (x, y, ground range window)
volume_features   sweeps of one radar in 3-D, radii growing with range across and up
network_features  several radars in one frame (azimuthal equidistant, or lat/lon)

Synthetic data (``_synthetic``)
-------------------------------
make_radar_scan       a PPI sweep with extended echoes, ground clutter and speckle
make_radar_volume     sweeps at several elevations through 3-D echoes (NEXRAD size possible)
make_radar_network    sweeps of several radars that share echoes
make_superdarn_table  a SuperDARN-style day of ionospheric and ground scatter

Products (``_products``): the clusters back in the radar tools' own types
------------------------------------------------------------------------
cluster_table     one row per cluster: size, area, position, extent, values
to_pyart_field    the labels as a field of the Py-ART radar (saved with CF/Radial)
to_gatefilter     a Py-ART GateFilter excluding noise and small clusters
to_xradar         the labels as a variable of an xradar sweep

Every public name is imported from ``gridscan.radar``; the private modules
hold one job each. Py-ART, xradar, pandas and pyproj are imported only by the
functions that need them.
"""

from gridscan.radar._features import (
    HAVERSINE_EARTH_RADIUS_KM,
    RadarFeatures,
    ground_features,
    network_features,
    polar_features,
    volume_features,
)
from gridscan.radar._geometry import (
    EARTH_RADIUS_KM,
    EFFECTIVE_RADIUS_FACTOR,
    beam_eps,
    cartesian_to_polar,
    polar_to_cartesian,
    ppi_features,
)
from gridscan.radar._points import PolarPoints, SweepGeometry
from gridscan.radar._points import _is_real as _is_real  # noqa: F401  (gridscan.plot)
from gridscan.radar._points import _typical_step as _typical_step  # noqa: F401
from gridscan.radar._products import (
    LABEL_FILL_VALUE,
    cluster_table,
    to_gatefilter,
    to_pyart_field,
    to_xradar,
)
from gridscan.radar._readers import from_pyart, from_xradar
from gridscan.radar._superdarn import MAX_CELL_INDEX, superdarn_cells
from gridscan.radar._synthetic import (
    NEXRAD_ELEVATIONS,
    make_radar_network,
    make_radar_scan,
    make_radar_volume,
    make_superdarn_table,
)

__all__ = [
    "EARTH_RADIUS_KM",
    "EFFECTIVE_RADIUS_FACTOR",
    "HAVERSINE_EARTH_RADIUS_KM",
    "LABEL_FILL_VALUE",
    "MAX_CELL_INDEX",
    "NEXRAD_ELEVATIONS",
    "PolarPoints",
    "RadarFeatures",
    "SweepGeometry",
    "beam_eps",
    "cartesian_to_polar",
    "cluster_table",
    "from_pyart",
    "from_xradar",
    "ground_features",
    "make_radar_network",
    "make_radar_scan",
    "make_radar_volume",
    "make_superdarn_table",
    "network_features",
    "polar_features",
    "polar_to_cartesian",
    "ppi_features",
    "superdarn_cells",
    "to_gatefilter",
    "to_pyart_field",
    "to_xradar",
    "volume_features",
]
