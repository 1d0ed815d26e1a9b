"""Products of a clustering, in the radar tools' own types.

cluster_table    one row per cluster (pandas): size, core gates, centroid (km and
                 latitude/longitude), area, range/azimuth/height extent, sweeps,
                 time span, maximum/mean/sum of values
to_pyart_field   the labels as a masked integer field of a Py-ART radar
to_gatefilter    a Py-ART GateFilter that excludes noise and small clusters
to_xradar        the labels as a variable of an xradar sweep

Layout: the points carry the (ray, gate) position of every gate in its source
(a Py-ART radar's ray index, or the position along an xradar sweep's azimuth
dimension), so the labels go back to the source's own grid by plain fancy
indexing. The per-cluster reductions sort the points by label once and use
``ufunc.reduceat`` over the runs, so a table of a million gates takes a fraction
of a second and no Python runs per cluster.
"""

from collections.abc import Mapping

import numpy as np

from gridscan.radar._geometry import polar_to_cartesian
from gridscan.radar._points import PolarPoints

LABEL_FILL_VALUE = -32768
"""Value of the gates that were not clustered, in the label field and variable."""


# ---------------------------------------------------------------- checks

def _check_points(points, labels, function):
    if not isinstance(points, PolarPoints):
        raise ValueError(f"points must be a gridscan.radar.PolarPoints (from from_pyart, "
                         f"from_xradar or make_radar_scan); got {type(points).__name__}")
    labels = np.asarray(labels)
    if labels.shape != (len(points),) or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels has shape {labels.shape} and dtype {labels.dtype}; "
                         f"expected integers of shape ({len(points)},), one label per point "
                         f"(-1 for noise), as {function} was given {len(points)} points")
    return labels.astype(np.int64, copy=False)


def _grid_shape(n_rays, n_gates, points, where):
    """ValueError unless every point's (ray, gate) lies on a grid of this shape."""
    if len(points) and (points.ray.min() < 0 or points.gate.min() < 0
                        or points.ray.max() >= n_rays or points.gate.max() >= n_gates):
        raise ValueError(f"points has rays {points.ray.min()}..{points.ray.max()} and gates "
                         f"{points.gate.min()}..{points.gate.max()}; expected rays in "
                         f"[0, {n_rays}) and gates in [0, {n_gates}), the shape of {where}: "
                         f"read the points from it")


def _radar_shape(radar):
    try:
        return (np.shape(radar.azimuth["data"])[0], np.shape(radar.range["data"])[0])
    except (AttributeError, KeyError, TypeError, IndexError):
        raise ValueError(f"radar must be a Py-ART Radar (an object with azimuth and range "
                         f"dicts holding 'data'); got {type(radar).__name__}") from None


# ---------------------------------------------------------------- the table

def _gate_geometry(points):
    """Ground x, y, height z (km) and ground footprint (km2) of every gate."""
    x, y, z = polar_to_cartesian(points.range, points.azimuth, points.elevation)
    half = 0.5 * points.gate_spacing
    near = np.hypot(*polar_to_cartesian(np.maximum(points.range - half, 0.0), points.azimuth,
                                        points.elevation)[:2])
    far = np.hypot(*polar_to_cartesian(points.range + half, points.azimuth,
                                       points.elevation)[:2])
    # Each PPI sweep's own ray spacing (a volume mixes 0.5 and 1 degree sweeps).
    step = np.where(points._per_point("mode") == "ppi", points._per_point("ray_spacing"),
                    points.ray_spacing)
    area = 0.5 * (far**2 - near**2) * np.deg2rad(step)
    return x, y, z, area


def _azimuth_extent(azimuth, starts, ends):
    """(first, last, extent) of each run's azimuths, going clockwise across the largest gap.

    ``azimuth`` is sorted within each run [starts[k], ends[k]). The run's
    azimuths cover the circle except their largest gap; the extent is 360
    minus that gap, and it starts just after the gap (so a run across north
    has first > last).
    """
    n = azimuth.shape[0]
    run = np.repeat(np.arange(starts.shape[0]), ends - starts)
    gap = np.empty(n)
    gap[:-1] = azimuth[1:] - azimuth[:-1]
    last = ends - 1
    gap[last] = azimuth[starts] + 360.0 - azimuth[last]  # around the circle
    widest = np.maximum.reduceat(gap, starts)
    position = np.arange(n)
    k = np.minimum.reduceat(np.where(gap == widest[run], position, n), starts)
    after = np.where(k == last, starts, k + 1)
    return azimuth[after], azimuth[k], 360.0 - widest


def _value_columns(values, n_points):
    if values is None:
        return None
    named = dict(values) if isinstance(values, Mapping) else {"value": values}
    columns = {}
    for name, column in named.items():
        column = np.asarray(column, dtype=np.float64)
        if column.shape != (n_points,):
            raise ValueError(f"values {name!r} has shape {column.shape}; expected "
                             f"({n_points},), one value per point")
        columns[str(name)] = column
    return columns


def _centroid_position(points, x, y, site):
    """Latitude and longitude of ground positions (km east, north of the radar)."""
    latitude, longitude = (points.latitude, points.longitude) if site is None else site
    if not (np.isfinite(latitude) and np.isfinite(longitude)):
        return np.full(x.shape, np.nan), np.full(x.shape, np.nan)
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    bearing = np.rad2deg(np.arctan2(x, y))
    lon, lat, _ = geod.fwd(np.full(x.shape, float(longitude)), np.full(x.shape, float(latitude)),
                           bearing, np.hypot(x, y) * 1000.0)
    return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)


def cluster_table(points, labels, *, values=None, estimator=None, include_noise=False,
                  site=None):
    """One row per cluster: size, position, area, extent and values.

    Parameters
    ----------
    points : PolarPoints
        The gates that were clustered (from :func:`from_pyart`,
        :func:`from_xradar` or :func:`make_radar_scan`).
    labels : array-like of int of shape (n_points,)
        Cluster labels, -1 for noise.
    values : array-like of shape (n_points,) or dict of such, default=None
        Values to summarise per cluster; a dict names them. None takes the
        points' own ``value`` (the field read, e.g. reflectivity), under the
        name ``value``.
    estimator : fitted GridDBSCAN, default=None
        When given, its ``core_sample_indices_`` fill the ``n_core`` column;
        it must have been fitted on these points, in this order.
    include_noise : bool, default=False
        Add the noise gates as a row labelled -1 (first).
    site : (float, float), default=None
        Latitude and longitude of the radar, degrees; None takes the points'
        own (the readers keep the radar's position). Without one, the
        latitude and longitude columns are NaN.

    Returns
    -------
    table : pandas.DataFrame
        Indexed by ``label`` (ascending), one row per cluster, columns:

        - ``n_gates``; ``n_core`` when ``estimator`` is given;
        - ``x``, ``y``: centroid, the mean ground position of the gates, km
          east and north of the radar; ``latitude``, ``longitude`` of that
          centroid (degrees, WGS84 geodesic from the site);
        - ``area``: km2, the sum of the gates' ground footprints, each the
          polar cell between its near and far edge (range +- half a gate) and
          +- half a ray step, ``0.5 * (s_far**2 - s_near**2) * ray_spacing``
          (s the ground range, ray_spacing that of the gate's own sweep in
          radians), which is range step x
          range x beam width to first order;
        - ``range_min``, ``range_max``: slant range of the gate centres, km;
        - ``azimuth_min``, ``azimuth_max``, ``azimuth_extent``: the arc of the
          rays' azimuths, clockwise from ``azimuth_min`` to ``azimuth_max``
          over the smallest arc holding them all, so that a cluster across
          north has ``azimuth_min > azimuth_max``; extent in degrees between
          the outer ray centres (0 for one ray);
        - ``height_min``, ``height_max``: beam-centre height above the radar,
          km (4/3-earth model);
        - ``sweep_min``, ``sweep_max``, ``n_sweeps``: sweep numbers;
        - ``time_start``, ``time_end`` when the points carry times;
        - ``{name}_max``, ``{name}_mean``, ``{name}_sum`` for every values entry.

    Raises
    ------
    ValueError
        If the labels, values or estimator do not match the points.

    See Also
    --------
    to_pyart_field, to_gatefilter, to_xradar : the labels back in the radar tools.

    Examples
    --------
    >>> from gridscan import GridDBSCAN
    >>> from gridscan.radar import beam_eps, cluster_table, make_radar_scan, ppi_features
    >>> points, truth = make_radar_scan(n_rays=180, n_gates=200, n_echoes=3, n_clutter=1,
    ...                                 random_state=0)
    >>> model = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8,
    ...                    window_features=[2]).fit(ppi_features(points))
    >>> table = cluster_table(points, model.labels_, estimator=model, site=(41.6, -88.08))
    >>> int(table["n_gates"].sum()) == int((model.labels_ >= 0).sum())
    True
    >>> bool((table["n_core"] <= table["n_gates"]).all()), table.index.name
    (True, 'label')
    """
    import pandas as pd

    labels = _check_points(points, labels, "cluster_table")
    named = _value_columns(values, len(points)) or {"value": np.asarray(points.value,
                                                                          dtype=np.float64)}
    if site is not None and (np.shape(site) != (2,)
                             or not np.all(np.isfinite(np.asarray(site, dtype=float)))):
        raise ValueError(f"site must be (latitude, longitude) in degrees; got {site!r}")
    core = None
    if estimator is not None:
        core_indices = getattr(estimator, "core_sample_indices_", None)
        fitted = getattr(estimator, "labels_", None)
        if core_indices is None or fitted is None or np.shape(fitted) != labels.shape:
            raise ValueError(f"estimator must be fitted on the {len(points)} points (with "
                             f"labels_ and core_sample_indices_); got "
                             f"{type(estimator).__name__} with labels_ of shape "
                             f"{np.shape(fitted) if fitted is not None else None}")
        core = np.zeros(len(points), dtype=bool)
        core[np.asarray(core_indices, dtype=np.intp)] = True

    keep = labels >= -1 if include_noise else labels >= 0
    kept = np.flatnonzero(keep)
    group = np.where(labels[kept] < 0, -1, labels[kept])
    azimuth = np.mod(points.azimuth, 360.0)  # sorted within each cluster, in [0, 360)
    order = kept[np.lexsort((azimuth[kept], group))]
    group = np.where(labels[order] < 0, -1, labels[order])
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if order.size else \
        np.zeros(0, dtype=np.intp)
    ends = np.r_[starts[1:], order.size].astype(np.intp)
    count = ends - starts
    index = pd.Index(group[starts], name="label")

    def total(column):
        return np.add.reduceat(column[order], starts) if order.size else np.zeros(0)

    def lowest(column):
        return np.minimum.reduceat(column[order], starts) if order.size else column[:0]

    def highest(column):
        return np.maximum.reduceat(column[order], starts) if order.size else column[:0]

    x, y, z, area = _gate_geometry(points)
    columns = {"n_gates": count}
    if core is not None:
        columns["n_core"] = total(core.astype(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        columns["x"] = total(x) / count
        columns["y"] = total(y) / count
    columns["latitude"], columns["longitude"] = _centroid_position(points, columns["x"],
                                                                   columns["y"], site)
    columns["area"] = total(area)
    columns["range_min"] = lowest(points.range)
    columns["range_max"] = highest(points.range)
    if order.size:
        first, last, extent = _azimuth_extent(azimuth[order], starts, ends)
    else:
        first = last = extent = np.zeros(0)
    columns["azimuth_min"], columns["azimuth_max"], columns["azimuth_extent"] = \
        first, last, extent
    columns["height_min"] = lowest(z)
    columns["height_max"] = highest(z)
    sweep = points.sweep.astype(np.int64)
    columns["sweep_min"] = lowest(sweep)
    columns["sweep_max"] = highest(sweep)
    # Distinct sweeps of each group: sort by (group, sweep) and count the changes.
    by_sweep = kept[np.lexsort((sweep[kept], np.where(labels[kept] < 0, -1, labels[kept])))]
    new_sweep = np.r_[True, (sweep[by_sweep][1:] != sweep[by_sweep][:-1])
                      | (labels[by_sweep][1:] != labels[by_sweep][:-1])] if by_sweep.size \
        else np.zeros(0, dtype=bool)
    columns["n_sweeps"] = np.add.reduceat(new_sweep.astype(np.int64), starts) \
        if by_sweep.size else np.zeros(0, dtype=np.int64)
    if points.time is not None:
        ticks = np.asarray(points.time, dtype="datetime64[ns]").view(np.int64)
        columns["time_start"] = lowest(ticks).view("datetime64[ns]")
        columns["time_end"] = highest(ticks).view("datetime64[ns]")
    for name, column in named.items():
        columns[f"{name}_max"] = highest(column)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"{name}_mean"] = total(column) / count
        columns[f"{name}_sum"] = total(column)
    return pd.DataFrame(columns, index=index)


# ---------------------------------------------------------------- back into Py-ART

def to_pyart_field(radar, points, labels, name="cluster"):
    """Put the labels on a Py-ART radar as a masked integer field.

    The field has the radar's own (ray, gate) layout: a clustered gate holds
    its label (-1 for noise); every other gate (below the threshold, masked,
    or in a sweep that was not read) is masked. ``radar.fields[name]`` then
    plots with Py-ART and saves with ``pyart.io.write_cfradial``.

    Parameters
    ----------
    radar : pyart.core.Radar
        The radar the points were read from (:func:`from_pyart`); changed in
        place: the field is added, replacing one of the same name.
    points : PolarPoints
        The gates clustered.
    labels : array-like of int of shape (n_points,)
        Their labels, -1 for noise.
    name : str, default="cluster"
        Name of the field.

    Returns
    -------
    field : dict
        The field dictionary added: ``data`` (a masked int32 array of shape
        (nrays, ngates), fill value -32768), ``long_name``, ``units``,
        ``_FillValue`` and ``comment``.

    Raises
    ------
    ValueError
        If the labels do not match the points, or the points' rays and gates
        do not fit the radar.

    See Also
    --------
    to_gatefilter : a GateFilter from the same labels.
    from_pyart : the reader.

    Examples
    --------
    >>> import os
    >>> os.environ.setdefault("PYART_QUIET", "1")  # doctest: +ELLIPSIS
    '...'
    >>> import pyart
    >>> from gridscan import GridDBSCAN
    >>> from gridscan.radar import beam_eps, from_pyart, ppi_features, to_pyart_field
    >>> radar = pyart.io.read_nexrad_level3(pyart.testing.NEXRAD_LEVEL3_MSG19)
    >>> points = from_pyart(radar, "reflectivity", threshold=20.0)
    >>> labels = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8,
    ...                     window_features=[2]).fit_predict(ppi_features(points))
    >>> field = to_pyart_field(radar, points, labels)
    >>> radar.fields["cluster"]["data"].shape, int(field["data"].count()) == len(points)
    ((360, 230), True)
    """
    labels = _check_points(points, labels, "to_pyart_field")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    n_rays, n_gates = _radar_shape(radar)
    _grid_shape(n_rays, n_gates, points, "the radar's fields")
    if len(points) and labels.max() > np.iinfo(np.int32).max:
        raise ValueError(f"labels must fit in int32; got a label {labels.max()}")
    data = np.ma.masked_all((n_rays, n_gates), dtype=np.int32)
    data[points.ray, points.gate] = labels
    data.set_fill_value(LABEL_FILL_VALUE)
    field = {
        "data": data,
        "long_name": "Cluster label",
        "units": "1",
        "_FillValue": np.int32(LABEL_FILL_VALUE),
        "comment": "gridscan cluster label of the gate: 0, 1, ... a cluster, -1 noise; "
                   "masked: not clustered",
    }
    if hasattr(radar, "add_field"):
        radar.add_field(name, field, replace_existing=True)
    else:
        radar.fields[name] = field
    return field


def to_gatefilter(radar, points, labels, *, min_gates=10, gatefilter=None):
    """A Py-ART GateFilter that excludes noise and clusters smaller than ``min_gates``.

    A drop-in alternative to ``pyart.correct.despeckle_field``: pass it as
    ``gatefilter=`` to Py-ART's corrections, gridding and plots.

    Parameters
    ----------
    radar : pyart.core.Radar
        The radar the points were read from (not changed).
    points : PolarPoints
        The gates clustered.
    labels : array-like of int of shape (n_points,)
        Their labels, -1 for noise.
    min_gates : int, default=10
        Clusters with fewer gates are excluded (despeckle_field's ``size``,
        whose default is also 10).
    gatefilter : pyart.filters.GateFilter, default=None
        A filter to start from; it is copied, not changed. None starts from
        one that includes every gate.

    Returns
    -------
    gatefilter : pyart.filters.GateFilter
        Excludes exactly the gates of noise points and of clusters with fewer
        than ``min_gates`` gates, on top of what ``gatefilter`` excluded.
        Gates that were not clustered (not among the points: below the
        threshold or masked) are left as they were; chain
        ``exclude_masked(field)`` or ``exclude_below(field, threshold)`` to
        drop them too.

    Raises
    ------
    ValueError
        If min_gates is not an integer >= 1, or the points do not fit the radar.

    See Also
    --------
    to_pyart_field : the labels as a field.

    Notes
    -----
    With ``GridDBSCAN(eps=1, min_samples=1, metric="chebyshev")`` on the
    (ray, gate) indices of a sweep the clusters are the 8-connected objects
    ``pyart.correct.find_objects`` labels (apart from its wrap at north), and
    this filter is ``despeckle_field``'s. With the usual beam-width eps in
    the ground plane and ``min_samples > 1`` they differ: see the README's
    radar section.

    Examples
    --------
    >>> import os
    >>> os.environ.setdefault("PYART_QUIET", "1")  # doctest: +ELLIPSIS
    '...'
    >>> import numpy as np, pyart
    >>> from gridscan import GridDBSCAN
    >>> from gridscan.radar import beam_eps, from_pyart, ppi_features, to_gatefilter
    >>> radar = pyart.io.read_nexrad_level3(pyart.testing.NEXRAD_LEVEL3_MSG19)
    >>> points = from_pyart(radar, "reflectivity", threshold=20.0)
    >>> labels = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8,
    ...                     window_features=[2]).fit_predict(ppi_features(points))
    >>> gatefilter = to_gatefilter(radar, points, labels, min_gates=50)
    >>> excluded = gatefilter.gate_excluded[points.ray, points.gate]
    >>> bool(excluded[labels == -1].all())
    True
    """
    labels = _check_points(points, labels, "to_gatefilter")
    if (not isinstance(min_gates, (int, np.integer)) or isinstance(min_gates, bool)
            or min_gates < 1):
        raise ValueError(f"min_gates must be an integer >= 1; got {min_gates!r}")
    n_rays, n_gates = _radar_shape(radar)
    _grid_shape(n_rays, n_gates, points, "the radar's fields")
    import pyart

    if gatefilter is None:
        gatefilter = pyart.filters.GateFilter(radar)
    else:
        if np.shape(gatefilter.gate_excluded) != (n_rays, n_gates):
            raise ValueError(f"gatefilter has shape {np.shape(gatefilter.gate_excluded)}; "
                             f"expected ({n_rays}, {n_gates}), the radar's")
        gatefilter = gatefilter.copy()
    sizes = np.bincount(labels[labels >= 0]) if np.any(labels >= 0) else np.zeros(0, np.int64)
    small = np.zeros(labels.shape, dtype=bool)
    clustered = labels >= 0
    small[clustered] = sizes[labels[clustered]] < min_gates
    dropped = (labels < 0) | small
    exclude = np.zeros((n_rays, n_gates), dtype=bool)
    exclude[points.ray[dropped], points.gate[dropped]] = True
    gatefilter.exclude_gates(exclude)
    return gatefilter


# ---------------------------------------------------------------- back into xradar

def to_xradar(sweep, points, labels, name="cluster"):
    """The sweep with the labels as a variable on its (azimuth, range) grid.

    Parameters
    ----------
    sweep : xarray.Dataset or xarray.DataTree
        The sweep the points were read from (:func:`from_xradar`), e.g.
        ``tree["sweep_0"]``; not changed.
    points : PolarPoints
        The gates clustered.
    labels : array-like of int of shape (n_points,)
        Their labels, -1 for noise.
    name : str, default="cluster"
        Name of the variable.

    Returns
    -------
    sweep : xarray.Dataset
        A copy of the sweep (shallow: the other variables are shared) with
        variable ``name``: int32 on dimensions (azimuth, range), the label of
        each clustered gate, -1 for noise and -32768 (its ``_FillValue``, so
        that netCDF readers mask it) for gates not clustered.

    Raises
    ------
    ValueError
        If the labels do not match the points, the sweep lacks the azimuth
        and range dimensions, or the points are from another sweep.

    See Also
    --------
    from_xradar : the reader.
    to_pyart_field : the same for Py-ART.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from gridscan.radar import from_xradar, to_xradar
    >>> sweep = xr.Dataset(
    ...     {"DBZH": (("azimuth", "range"), [[10.0, np.nan, 30.0], [5.0, 25.0, 40.0]])},
    ...     coords={"azimuth": [0.5, 1.5], "elevation": ("azimuth", [0.5, 0.5]),
    ...             "range": ("range", [125.0, 375.0, 625.0], {"units": "meters"})})
    >>> points = from_xradar(sweep, "DBZH", threshold=20)
    >>> to_xradar(sweep, points, [0, 0, -1])["cluster"].values
    array([[-32768, -32768,      0],
           [-32768,      0,     -1]], dtype=int32)
    """
    labels = _check_points(points, labels, "to_xradar")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    if hasattr(sweep, "to_dataset"):
        sweep = sweep.to_dataset()
    if not {"azimuth", "range"} <= set(sweep.sizes):
        raise ValueError(f"sweep has dimensions {tuple(sweep.sizes)}; expected 'azimuth' "
                         f"and 'range'")
    n_rays, n_gates = sweep.sizes["azimuth"], sweep.sizes["range"]
    _grid_shape(n_rays, n_gates, points, "the sweep")
    if "sweep_number" in sweep.variables and len(points):
        number = int(sweep["sweep_number"].values)
        others = np.unique(points.sweep[points.sweep != number])
        if others.size:
            raise ValueError(f"points holds sweep {others.tolist()[:5]}; expected only "
                             f"sweep {number}, this sweep's sweep_number: read the points "
                             f"from this sweep")
    data = np.full((n_rays, n_gates), LABEL_FILL_VALUE, dtype=np.int32)
    data[points.ray, points.gate] = labels
    out = sweep.assign({name: (("azimuth", "range"), data, {
        "long_name": "Cluster label",
        "units": "1",
        "comment": "gridscan cluster label of the gate: 0, 1, ... a cluster, -1 noise; "
                   f"{LABEL_FILL_VALUE}: not clustered",
    })})
    out[name].encoding["_FillValue"] = np.int32(LABEL_FILL_VALUE)
    return out
