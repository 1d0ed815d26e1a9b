"""Clustering features and the matching eps for radar gates: RadarFeatures and its helpers.

polar_features    one PPI sweep in (range, azimuth), azimuth periodic (360 degrees)
ground_features   one PPI sweep in the ground plane (x, y, ground range as a window)
volume_features   several sweeps of one radar in 3-D (x, y, height above the radar)
network_features  several radars in one frame (a shared azimuthal-equidistant
                  projection about the sites, or latitude/longitude with the
                  haversine metric)

Every helper returns a RadarFeatures: the feature matrix and everything the
estimator needs beside it (an eps or eps model, per-point ``sample_eps``, the
window features, the periods and the metric), so that
``features.estimator(min_samples=...)`` builds the matching GridDBSCAN and
``features.fit_kwargs()`` the arguments of its ``fit``.

The radius of a gate follows the beam: ``max(floor, beams * r * step)``, r its
slant range in km, step the angle between neighbouring rays (or sweeps) in
radians, and floor = ``max(min_eps, gates * gate_spacing)`` so that
neighbouring gates along a ray are always within reach. The steps come from
each sweep's own :class:`SweepGeometry`, so one volume may mix 0.5-degree
and 1-degree sweeps.
"""

from dataclasses import dataclass

import numpy as np

from gridscan.radar._geometry import polar_to_cartesian, ppi_features
from gridscan.radar._points import PolarPoints

HAVERSINE_EARTH_RADIUS_KM = 6371.0088
"""Mean earth radius (IUGG) that turns km into great-circle radians for ``frame="latlon"``."""

_SAME_ANGLE = 0.05  # degrees: sweeps closer than this share a fixed angle (split cuts)


@dataclass(frozen=True, eq=False)
class RadarFeatures:
    """Features of radar gates and what the estimator needs to cluster them.

    Returned by :func:`polar_features`, :func:`ground_features`,
    :func:`volume_features` and :func:`network_features`.

    Parameters
    ----------
    X : ndarray of shape (n_points, n_features)
        The features, one row per gate, in the order of the points given
        (for several radars: the first radar's points, then the second's...).
    feature_names : tuple of str
        Name of each column.
    eps : float or RangeEps or None
        The estimator's ``eps`` (None when ``sample_eps`` holds the radii).
    sample_eps : ndarray of shape (n_points,) or (n_points, n_features) or None
        Per-point radii for ``fit(X, sample_eps=...)``.
    window_features : list of int or None
        The estimator's ``window_features``.
    periods : list or None
        The estimator's ``periods`` (one entry per feature, None for an
        ordinary one).
    metric : str
        The estimator's ``metric``.
    source : ndarray of int of shape (n_points,)
        Position of each row's PolarPoints in the sequence given (0 for one
        radar); :meth:`split` cuts labels with it.
    n_sources : int, default=1
        Number of PolarPoints given.

    See Also
    --------
    gridscan.GridDBSCAN : the estimator these parameters are for.

    Notes
    -----
    To ``predict`` the labels of new gates with an estimator fitted on
    ``sample_eps``, build their features with the same helper and pass
    ``sample_eps=new.sample_eps`` (the default ``neighbors="union"`` needs
    the new gates' own radii).

    Examples
    --------
    >>> from gridscan.radar import ground_features, make_radar_scan
    >>> points, truth = make_radar_scan(n_rays=120, n_gates=160, random_state=1)
    >>> features = ground_features(points)
    >>> labels = features.fit_predict(min_samples=8)
    >>> features.feature_names, labels.shape == truth.shape
    (('x', 'y', 'ground_range'), True)
    """

    X: np.ndarray
    feature_names: tuple
    eps: object
    sample_eps: np.ndarray | None
    window_features: list | None
    periods: list | None
    metric: str
    source: np.ndarray
    n_sources: int = 1

    def estimator_params(self):
        """The GridDBSCAN parameters these features need, as a dict.

        Only the parameters that differ from GridDBSCAN's defaults are set:
        ``eps`` (1.0 when ``sample_eps`` holds the radii; ``fit`` then
        ignores it), and ``window_features``, ``periods`` and ``metric`` when
        they are used.

        Returns
        -------
        params : dict
        """
        params = {"eps": 1.0 if self.eps is None else self.eps}
        if self.window_features is not None:
            params["window_features"] = list(self.window_features)
        if self.periods is not None:
            params["periods"] = list(self.periods)
        if self.metric != "euclidean":
            params["metric"] = self.metric
        return params

    def fit_kwargs(self):
        """Keyword arguments for the estimator's ``fit``: ``sample_eps`` when it is used.

        Returns
        -------
        kwargs : dict
        """
        return {} if self.sample_eps is None else {"sample_eps": self.sample_eps}

    def estimator(self, min_samples=5, **params):
        """A GridDBSCAN set up for these features.

        Parameters
        ----------
        min_samples : int, default=5
            As in GridDBSCAN.
        **params
            Further GridDBSCAN parameters (``n_jobs``, ``neighbors``, ...).

        Returns
        -------
        estimator : gridscan.GridDBSCAN
        """
        from gridscan import GridDBSCAN

        return GridDBSCAN(min_samples=min_samples, **self.estimator_params(), **params)

    def fit_predict(self, min_samples=5, **params):
        """Cluster the features: ``estimator(...).fit_predict(X, **fit_kwargs())``.

        Parameters
        ----------
        min_samples : int, default=5
            As in GridDBSCAN.
        **params
            Further GridDBSCAN parameters.

        Returns
        -------
        labels : ndarray of shape (n_points,)
        """
        return self.estimator(min_samples, **params).fit_predict(self.X, **self.fit_kwargs())

    def split(self, labels):
        """Cut one label per row into one array per PolarPoints given.

        Parameters
        ----------
        labels : array-like of shape (n_points,)

        Returns
        -------
        parts : list of ndarray
            ``parts[k]`` holds the labels of the k-th PolarPoints, in its order.
        """
        labels = np.asarray(labels)
        if labels.shape != (self.X.shape[0],):
            raise ValueError(f"labels has shape {labels.shape}; expected ({self.X.shape[0]},)")
        return [labels[self.source == k] for k in range(self.n_sources)]


# ---------------------------------------------------------------- checks and radii

def _check_points(points, function):
    if not isinstance(points, PolarPoints):
        raise ValueError(f"points must be a gridscan.radar.PolarPoints (from from_pyart, "
                         f"from_xradar or make_radar_scan); got {type(points).__name__} "
                         f"in {function}")
    return points


def _check_positive(**values):
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0; got {value!r}")


def _check_nonnegative(**values):
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")


def _ppi_only(points, function, alternative):
    rhi = sorted(k for k, g in points.geometry().items() if g.mode != "ppi")
    if rhi:
        raise ValueError(f"{function} needs PPI sweeps (azimuth turning); got RHI sweep(s) "
                         f"{rhi}, whose gates share one azimuth. Use {alternative}")


def _spacing(geometry, attribute, number):
    value = getattr(geometry, attribute)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"sweep {number} has {attribute} {value!r}; expected a step > 0 "
                         f"(a sweep of a single ray or gate has none): leave that sweep out "
                         f"or give its SweepGeometry by hand")
    return float(value)


def _floor(points, gates, min_eps):
    """Per-point floor of the radius: max(min_eps, gates * gate spacing of the sweep)."""
    geometry = points.geometry()
    for number, record in geometry.items():
        _spacing(record, "gate_spacing", number)
    return np.maximum(min_eps, gates * points._per_point("gate_spacing"))


def _sweep_steps(points):
    """Per-sweep (horizontal, vertical) angular steps in degrees.

    PPI: horizontal = the ray spacing; vertical = the larger gap to the
    neighbouring PPI elevations (at least the ray spacing). RHI: vertical =
    the ray spacing (elevation step); horizontal = the larger azimuth gap to
    the neighbouring RHIs (at least the ray spacing).
    """
    geometry = points.geometry()
    steps = {}
    for mode, period in (("ppi", None), ("rhi", 360.0)):
        records = [g for g in geometry.values() if g.mode == mode]
        distinct = []
        for angle in np.sort([g.fixed_angle for g in records]):
            if not distinct or angle - distinct[-1] > _SAME_ANGLE:
                distinct.append(float(angle))
        distinct = np.array(distinct)
        for g in records:
            step = _spacing(g, "ray_spacing", g.number)
            offset = distinct - g.fixed_angle
            if period is not None:  # RHI azimuths: the neighbours around the circle
                offset = np.mod(offset + 180.0, 360.0) - 180.0
            above = offset[offset > _SAME_ANGLE]
            below = -offset[offset < -_SAME_ANGLE]
            across = max([step] + [v.min() for v in (above, below) if v.size])
            steps[g.number] = (step, across) if mode == "ppi" else (across, step)
    return steps


def _volume_radii(points, beams, gates, min_eps, max_eps=None):
    """(n, 2) horizontal and vertical radius of every point, km (at most max_eps)."""
    steps = _sweep_steps(points)
    numbers = np.array(sorted(steps), dtype=np.intp)
    table = np.deg2rad(np.array([steps[k] for k in numbers.tolist()]).reshape(-1, 2))
    per_point = table[np.searchsorted(numbers, points.sweep)]
    floor = _floor(points, gates, min_eps)
    radii = np.maximum(floor[:, None], beams * points.range[:, None] * per_point)
    return radii if max_eps is None else np.minimum(radii, np.maximum(floor[:, None], max_eps))


def _one_geometry(points):
    """The single (gate, ray) spacing of every sweep, or None when the sweeps differ."""
    records = list(points.geometry().values())
    pairs = {(g.gate_spacing, g.ray_spacing) for g in records}
    return pairs.pop() if len(pairs) == 1 else None


# ---------------------------------------------------------------- one radar

def polar_features(points, *, beams=1.5, gates=1.5, min_eps=1.0):
    """One PPI sweep in its own coordinates, slant range and azimuth, azimuth periodic.

    The neighbourhood of a gate at slant range r is an ellipse of
    ``R(r) = max(floor, beams * r * ray_spacing)`` km along the beam and
    ``degrees(R(r) / r)`` across it (the same arc length), where
    ``floor = max(min_eps, gates * gate_spacing)``. Azimuth is a periodic
    feature (period 360 degrees), so an echo across north is one cluster.

    Parameters
    ----------
    points : PolarPoints
        The gates of one PPI sweep (select one with ``points[points.sweep == k]``).
    beams : float, default=1.5
        Radius across the beam, in ray spacings.
    gates : float, default=1.5
        Smallest radius, in gate spacings.
    min_eps : float, default=1.0
        Smallest radius, km.

    Returns
    -------
    features : RadarFeatures
        ``X`` = (range km, azimuth degrees in [0, 360)); ``eps`` a
        :class:`~gridscan.RangeEps` on column 0, ``base=[beams *
        radians(ray_spacing), degrees(floor)]``, ``power=[1, -1]``,
        ``min_eps=[floor, beams * ray_spacing]``, ``max_eps=[inf, 180]`` (180
        degrees, half the period, reaches every azimuth; it also bounds the
        radius of a gate at range 0); ``periods=[None, 360.0]``.

    Raises
    ------
    ValueError
        If the points hold more than one sweep or an RHI sweep.

    See Also
    --------
    ground_features : the same neighbourhood as a disc in the ground plane.

    Notes
    -----
    Needs a GridDBSCAN with ``periods`` (gridscan 0.2).

    Examples
    --------
    >>> from gridscan.radar import make_radar_scan, polar_features
    >>> points, _ = make_radar_scan(n_rays=120, n_gates=160, random_state=1)
    >>> features = polar_features(points)
    >>> features.periods, features.X.shape[1]
    ([None, 360.0], 2)
    """
    from gridscan._range_eps import RangeEps

    _check_points(points, "polar_features")
    _check_positive(beams=beams)
    _check_nonnegative(gates=gates, min_eps=min_eps)
    _ppi_only(points, "polar_features", "volume_features(points) (3-D) for RHI scans")
    geometry = points.geometry()
    if len(geometry) != 1:
        raise ValueError(f"polar_features takes one sweep; got sweeps {sorted(geometry)}. "
                         f"Select one (points[points.sweep == k]) or use volume_features")
    (number, record), = geometry.items()
    step = _spacing(record, "ray_spacing", number)
    floor = max(float(min_eps), gates * _spacing(record, "gate_spacing", number))
    if not floor > 0:
        raise ValueError(f"min_eps and gates give a floor of {floor!r} km; expected > 0")
    eps = RangeEps(base=[beams * np.deg2rad(step), float(np.rad2deg(floor))], range_feature=0,
                   power=[1.0, -1.0], min_eps=[floor, beams * step], max_eps=[np.inf, 180.0])
    X = np.column_stack([points.range, np.mod(points.azimuth, 360.0)]).astype(np.float64)
    return RadarFeatures(X=X, feature_names=("range", "azimuth"), eps=eps, sample_eps=None,
                         window_features=None, periods=[None, 360.0], metric="euclidean",
                         source=np.zeros(len(points), dtype=np.intp))


def ground_features(points, *, beams=1.5, gates=1.5, min_eps=1.0):
    """PPI gates in the ground plane: x, y and the ground range as a window feature.

    The neighbourhood of a gate is the disc of radius
    ``max(floor, beams * r * ray_spacing)`` km about it in the ground
    plane, ``floor = max(min_eps, gates * gate_spacing)``, r its range,
    with each sweep's own spacings.

    Parameters
    ----------
    points : PolarPoints
        Gates of PPI sweeps (several sweeps are projected onto one plane).
    beams : float, default=1.5
        Radius in ray spacings.
    gates : float, default=1.5
        Smallest radius, in gate spacings.
    min_eps : float, default=1.0
        Smallest radius, km.

    Returns
    -------
    features : RadarFeatures
        ``X`` = :func:`ppi_features` (x, y, ground range, km),
        ``window_features=[2]``; ``eps`` = :func:`beam_eps` (a RangeEps on
        column 2) when every sweep has the same spacings, else per-point
        ``sample_eps`` of shape (n_points,).

    Raises
    ------
    ValueError
        If the points hold an RHI sweep.

    See Also
    --------
    beam_eps : the eps model for one gate and ray spacing.
    polar_features : the same neighbourhood in (range, azimuth).

    Examples
    --------
    >>> from gridscan.radar import ground_features, make_radar_scan
    >>> points, truth = make_radar_scan(n_rays=120, n_gates=160, random_state=1)
    >>> features = ground_features(points)
    >>> features.window_features, features.sample_eps is None
    ([2], True)
    """
    from gridscan.radar._geometry import beam_eps

    _check_points(points, "ground_features")
    _check_positive(beams=beams)
    _check_nonnegative(gates=gates, min_eps=min_eps)
    _ppi_only(points, "ground_features", "volume_features(points) (3-D) for RHI scans")
    X = ppi_features(points)
    source = np.zeros(len(points), dtype=np.intp)
    if _one_geometry(points) is not None:
        return RadarFeatures(X=X, feature_names=("x", "y", "ground_range"),
                             eps=beam_eps(points, beams=beams, gates=gates, min_eps=min_eps),
                             sample_eps=None, window_features=[2], periods=None,
                             metric="euclidean", source=source)
    # beam_eps follows the ground range (column 2); so does this radius.
    radius = np.maximum(_floor(points, gates, min_eps),
                        beams * X[:, 2] * np.deg2rad(_per_point_step(points)))
    return RadarFeatures(X=X, feature_names=("x", "y", "ground_range"), eps=None,
                         sample_eps=radius, window_features=[2], periods=None,
                         metric="euclidean", source=source)


def _per_point_step(points):
    steps = _sweep_steps(points)
    numbers = np.array(sorted(steps), dtype=np.intp)
    horizontal = np.array([steps[k][0] for k in numbers.tolist()])
    return horizontal[np.searchsorted(numbers, points.sweep)]


def volume_features(points, *, beams=1.5, gates=1.5, min_eps=0.0, max_eps=None):
    """Several sweeps of one radar in 3-D: x, y and height above the radar, km.

    Each gate's neighbourhood is an ellipsoid with a horizontal radius
    ``max(floor, beams * r * horizontal step)`` and a vertical radius
    ``max(floor, beams * r * vertical step)`` (r the slant range, km;
    ``floor = max(min_eps, gates * gate_spacing)``), so both grow with range
    as the beams and sweeps fan out. Per sweep: for a PPI the horizontal step
    is its ray spacing and the vertical step the larger elevation gap to the
    neighbouring sweeps (at least the ray spacing); for an RHI the vertical
    step is its ray (elevation) spacing and the horizontal step the larger
    azimuth gap to the neighbouring RHIs. Sweeps at the same angle (split
    cuts) count once.

    Parameters
    ----------
    points : PolarPoints
        Gates of one radar, any number of sweeps, PPI or RHI.
    beams : float, default=1.5
        Radius in steps (ray or sweep spacings).
    gates : float, default=1.5
        Smallest radius, in gate spacings.
    min_eps : float, default=0.0
        Smallest radius, km (in 3-D the sweeps stack up near the radar, so
        the floor is ``gates`` gate spacings unless this is larger).
    max_eps : float, default=None
        Largest radius, km (never below the floor). The vertical radius
        bridges the gap between sweeps, 3.9 degrees between the top two
        NEXRAD sweeps: 30 km at 300 km range, where those sweeps are 100 km
        up and hold only noise. A bound of 10 to 20 km halves the time of a
        volume with noise there and changes nothing in the troposphere.

    Returns
    -------
    features : RadarFeatures
        ``X`` = (x, y, z) from :func:`polar_to_cartesian`; per-point
        ``sample_eps`` of shape (n_points, 3): (horizontal, horizontal, vertical).

    See Also
    --------
    network_features : the same for several radars (``volume=True``).

    Examples
    --------
    >>> from gridscan.radar import make_radar_volume, volume_features
    >>> points, truth = make_radar_volume(n_rays=120, n_gates=160,
    ...                                   elevations=[0.5, 1.5, 2.5], random_state=0)
    >>> features = volume_features(points)
    >>> features.sample_eps.shape == (len(points), 3)
    True
    """
    _check_points(points, "volume_features")
    _check_positive(beams=beams)
    _check_nonnegative(gates=gates, min_eps=min_eps)
    if max_eps is not None:
        _check_positive(max_eps=max_eps)
    radii = _volume_radii(points, beams, gates, min_eps, max_eps)
    x, y, z = polar_to_cartesian(points.range, points.azimuth, points.elevation)
    sample_eps = np.column_stack([radii[:, 0], radii[:, 0], radii[:, 1]])
    return RadarFeatures(X=np.column_stack([x, y, z]), feature_names=("x", "y", "z"), eps=None,
                         sample_eps=sample_eps, window_features=None, periods=None,
                         metric="euclidean", source=np.zeros(len(points), dtype=np.intp))


# ---------------------------------------------------------------- several radars

def _centre(points_list):
    """Latitude, longitude of the mean of the sites' unit vectors (antimeridian safe)."""
    lat = np.deg2rad([p.latitude for p in points_list])
    lon = np.deg2rad([p.longitude for p in points_list])
    v = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]).mean(1)
    return (float(np.rad2deg(np.arctan2(v[2], np.hypot(v[0], v[1])))),
            float(np.rad2deg(np.arctan2(v[1], v[0]))))


def network_features(points_list, *, frame="aeqd", volume=False, beams=1.5, gates=1.5,
                     min_eps=1.0, centre=None):
    """Gates of several radars in one frame, so that an echo seen by two radars is one cluster.

    Every gate is placed on the WGS84 ellipsoid from its radar's site
    (:attr:`PolarPoints.gate_latitude`) and then into one frame shared by all
    radars; its radius is its own radar's beam radius
    ``max(floor, beams * r * ray_spacing)`` at its own range r (given as
    ``sample_eps``), so the radius is right for each radar while the
    positions are comparable.

    Parameters
    ----------
    points_list : sequence of PolarPoints
        One per radar, each with its site (latitude, longitude, and altitude
        when ``volume=True``).
    frame : {"aeqd", "latlon"}, default="aeqd"
        ``"aeqd"``: x, y in km in an azimuthal-equidistant projection of
        WGS84 about ``centre`` (PROJ's ellipsoidal aeqd, through pyproj);
        ``"latlon"``: latitude and longitude in radians with
        ``metric="haversine"`` and the radius converted to great-circle
        radians (radius / 6371.0088 km).
    volume : bool, default=False
        Add the gate height above mean sea level (km) as a third feature and
        give each gate the horizontal and vertical radii of
        :func:`volume_features`. With ``frame="aeqd"`` the neighbourhood is
        that ellipsoid in (x, y, height); with ``frame="latlon"`` it is a
        vertical cylinder of the same radii (see Notes).
    beams, gates, min_eps : float
        As in :func:`volume_features`.
    centre : (float, float), default=None
        Latitude, longitude of the projection's centre; None takes the mean
        of the sites (as unit vectors). ``frame="aeqd"`` only.

    Returns
    -------
    features : RadarFeatures
        ``X`` = (x, y[, height]) in km, or (latitude, longitude[, height])
        with the angles in radians and the height in km; ``sample_eps`` per
        point, shape (n,) for ground features, (n, 3) with ``volume=True``
        (horizontal, horizontal, vertical: for ``"latlon"`` the horizontal
        radius as a great-circle angle and the height a window feature,
        ``window_features=[2]``); ``source`` the radar of each row
        (``features.split(labels)`` gives one label array per radar).

    Raises
    ------
    ValueError
        If ``points_list`` is not a sequence of PolarPoints, ``frame`` or
        ``volume`` has another value, ``centre`` is given with
        ``frame="latlon"``, a PolarPoints has no site (no altitude
        with ``volume=True``), or it holds an RHI sweep without
        ``volume=True``.

    See Also
    --------
    make_radar_network : synthetic radars that share echoes.

    Notes
    -----
    Why not each radar's own features side by side: :func:`ground_features`
    uses the ground range from *its* radar as a window feature. That is exact
    for one radar, because two gates within eps of each other have ground
    ranges within eps too (triangle inequality). For gates of two radars the
    two ranges are measured from different sites, and for the same spot they
    differ by up to the distance between the radars; the window then
    rejects every pair across radars, and no cluster is ever shared. Here
    the radius is carried per point instead, and the window is not used.

    The azimuthal-equidistant projection keeps distances from its centre
    exact; across the frame, the scale error at distance D from the centre
    is about ``(D / 6371 km)**2 / 6`` (0.04% at 300 km), far below a beam
    width.

    With ``volume=True`` and ``frame="latlon"``, gate q is in the
    neighbourhood of gate p when both

    - the great-circle angle between them is at most p's horizontal radius
      over 6371.0088 km, and
    - their heights differ by at most p's vertical radius,

    a vertical cylinder about p (``metric="haversine"`` compares latitude
    and longitude alone; the height is a window feature, bounded on its
    own). The local frame's ellipsoid, ``(d / h)**2 + (dz / v)**2 <= 1``,
    cannot be written with the haversine metric, and the cylinder of the
    same radii is the neighbourhood a radar's resolution suggests: within
    so many beams sideways and so many sweep gaps up or down, each
    direction judged on its own. The two shapes agree level with p and
    straight above and below it; in between the cylinder reaches further
    (to its rim, where both differences reach their radii at once: the
    ellipsoid stops at 1/sqrt(2) of each), so it holds the ellipsoid and
    1.5 times its volume. Every pair the local frame joins is joined here
    too (up to the frames' differences of distance: the 6371 km sphere
    against WGS84, a few tenths of a percent, and the projection's scale
    error), and some pairs across sweeps, offset sideways and vertically
    at once, join here only: clusters can merge a little more readily. Use
    ``frame="latlon"`` for networks too wide for one projection (or
    across the antimeridian or a pole, which it handles as any other
    place); use ``frame="aeqd"`` for the ellipsoid of
    :func:`volume_features`.

    Examples
    --------
    >>> from gridscan.radar import make_radar_network, network_features
    >>> radars, truths = make_radar_network([(40.0, -100.0), (40.0, -99.6)],
    ...                                     n_rays=180, n_gates=240, random_state=0)
    >>> features = network_features(radars)
    >>> features.X.shape[1], [len(p) for p in features.split(features.source)] == [
    ...     len(r) for r in radars]
    (2, True)
    """
    if isinstance(points_list, PolarPoints) or not hasattr(points_list, "__iter__"):
        raise ValueError(f"points_list must be a sequence of PolarPoints, one per radar; got "
                         f"{type(points_list).__name__} (for one radar, pass [points])")
    points_list = list(points_list)
    if not points_list:
        raise ValueError("points_list must hold at least one PolarPoints; got none")
    if frame not in ("aeqd", "latlon"):
        raise ValueError(f"frame must be 'aeqd' or 'latlon'; got {frame!r}")
    if not isinstance(volume, (bool, np.bool_)):
        raise ValueError(f"volume must be True or False; got {volume!r}")
    if frame == "latlon" and centre is not None:
        # Latitude and longitude need no projection, so a centre would be ignored.
        raise ValueError(f"centre applies to frame='aeqd' only (frame='latlon' is not "
                         f"projected); got centre={centre!r} with frame='latlon'")
    for points in points_list:
        _check_points(points, "network_features")
        points._require_site(need_altitude=volume)
    _check_positive(beams=beams)
    _check_nonnegative(gates=gates, min_eps=min_eps)
    radii = []
    for points in points_list:
        if volume:
            radii.append(_volume_radii(points, beams, gates, min_eps))
        else:
            _ppi_only(points, "network_features", "volume=True for RHI scans")
            ground, _ = points._ground
            radii.append(np.maximum(_floor(points, gates, min_eps),
                                    beams * ground * np.deg2rad(_per_point_step(points))))
    radius = np.concatenate(radii)
    source = np.concatenate([np.full(len(p), k, dtype=np.intp)
                             for k, p in enumerate(points_list)])
    lat = np.concatenate([p.gate_latitude for p in points_list])
    lon = np.concatenate([p.gate_longitude for p in points_list])
    if frame == "latlon" and volume:
        # The horizontal radius as a great-circle angle, the vertical one as a
        # window on the height: the cylinder of the Notes.
        angle = radius[:, 0] / HAVERSINE_EARTH_RADIUS_KM
        return RadarFeatures(
            X=np.column_stack([np.deg2rad(lat), np.deg2rad(lon),
                               np.concatenate([p.gate_height for p in points_list])]),
            feature_names=("latitude", "longitude", "height"), eps=None,
            sample_eps=np.column_stack([angle, angle, radius[:, 1]]), window_features=[2],
            periods=None, metric="haversine", source=source, n_sources=len(points_list))
    if frame == "latlon":
        return RadarFeatures(X=np.column_stack([np.deg2rad(lat), np.deg2rad(lon)]),
                             feature_names=("latitude", "longitude"), eps=None,
                             sample_eps=radius / HAVERSINE_EARTH_RADIUS_KM,
                             window_features=None, periods=None, metric="haversine",
                             source=source, n_sources=len(points_list))
    from pyproj import Transformer

    if centre is None:
        centre = _centre(points_list)
    centre_lat, centre_lon = (float(v) for v in centre)
    if not (-90 <= centre_lat <= 90 and np.isfinite(centre_lon)):
        raise ValueError(f"centre must be (latitude, longitude) in degrees; got {centre!r}")
    to_frame = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={centre_lat!r} +lon_0={centre_lon!r} +ellps=WGS84 "
        f"+units=km +no_defs", always_xy=True)
    x, y = to_frame.transform(lon, lat)
    columns = [np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)]
    names = ("x", "y")
    if volume:
        columns.append(np.concatenate([p.gate_height for p in points_list]))
        names = ("x", "y", "height")
        sample_eps = np.column_stack([radius[:, 0], radius[:, 0], radius[:, 1]])
    else:
        sample_eps = radius
    return RadarFeatures(X=np.column_stack(columns), feature_names=names, eps=None,
                         sample_eps=sample_eps, window_features=None, periods=None,
                         metric="euclidean", source=source, n_sources=len(points_list))

