"""Beam geometry (4/3-earth model) and the clustering features and eps that follow from it."""

import numpy as np

from gridscan.radar._points import _require_attributes

EARTH_RADIUS_KM = 6371.0
"""Mean earth radius (km) of the beam model."""

EFFECTIVE_RADIUS_FACTOR = 4.0 / 3.0
"""Standard-atmosphere refraction: the beam is straight over an earth this much larger."""


def polar_to_cartesian(range, azimuth, elevation=0.0, *, earth_radius=EARTH_RADIUS_KM,
                       radius_factor=EFFECTIVE_RADIUS_FACTOR):
    """Gate positions from range, azimuth and elevation (4/3-earth beam model).

    Parameters
    ----------
    range : array-like
        Slant range, km.
    azimuth : array-like
        Azimuth, degrees clockwise from north.
    elevation : array-like, default=0.0
        Elevation, degrees above the horizon.
    earth_radius : float, default=6371.0
        Earth radius, km.
    radius_factor : float, default=4/3
        Effective-radius factor; the beam is a straight line over an earth of
        radius ``radius_factor * earth_radius``.

    Returns
    -------
    x, y, z : ndarray
        East and north distance along the ground, and height above the
        radar, all in km; broadcast shape of the inputs.

    See Also
    --------
    cartesian_to_polar : the inverse.

    Notes
    -----
    Doviak and Zrnic (1993), eqs. 2.28b-c: with R the effective radius,
    ``z = sqrt(r**2 + R**2 + 2 r R sin(el)) - R`` and the ground distance
    ``s = R arcsin(r cos(el) / (R + z))``; ``x = s sin(az)``, ``y = s cos(az)``.

    Examples
    --------
    >>> from gridscan.radar import polar_to_cartesian
    >>> x, y, z = polar_to_cartesian(100.0, 90.0, 0.0)
    >>> round(float(x), 3), round(float(abs(y)), 3), round(float(z), 3)
    (99.995, 0.0, 0.589)
    """
    r = np.asarray(range, dtype=np.float64)
    theta_e = np.deg2rad(np.asarray(elevation, dtype=np.float64))
    theta_a = np.deg2rad(np.asarray(azimuth, dtype=np.float64))
    big_r = radius_factor * earth_radius
    z = np.sqrt(r**2 + big_r**2 + 2.0 * r * big_r * np.sin(theta_e)) - big_r
    s = big_r * np.arcsin(r * np.cos(theta_e) / (big_r + z))
    return s * np.sin(theta_a), s * np.cos(theta_a), z


def cartesian_to_polar(x, y, z=0.0, *, earth_radius=EARTH_RADIUS_KM,
                       radius_factor=EFFECTIVE_RADIUS_FACTOR):
    """Range, azimuth and elevation of a position (inverse of :func:`polar_to_cartesian`).

    Parameters
    ----------
    x, y : array-like
        East and north distance along the ground, km.
    z : array-like, default=0.0
        Height above the radar, km.
    earth_radius : float, default=6371.0
        Earth radius, km.
    radius_factor : float, default=4/3
        Effective-radius factor.

    Returns
    -------
    range, azimuth, elevation : ndarray
        Slant range (km), azimuth in [0, 360) and elevation (degrees).

    See Also
    --------
    polar_to_cartesian : the forward model.

    Notes
    -----
    In the effective-earth plane the radar sits at distance R from the
    centre and the target at R + z, an angle s / R apart (s the ground
    distance). The straight beam between them has slant range
    ``r = |(R + z) (sin(s/R), cos(s/R)) - (0, R)|`` and elevation
    ``atan2((R + z) cos(s/R) - R, (R + z) sin(s/R))``.

    Examples
    --------
    >>> from gridscan.radar import cartesian_to_polar, polar_to_cartesian
    >>> r, az, el = cartesian_to_polar(*polar_to_cartesian(120.0, 250.0, 1.5))
    >>> round(float(r), 9), round(float(az), 9), round(float(el), 9)
    (120.0, 250.0, 1.5)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    big_r = radius_factor * earth_radius
    angle = np.hypot(x, y) / big_r
    outer = big_r + np.asarray(z, dtype=np.float64)
    across = outer * np.sin(angle)
    up = outer * np.cos(angle) - big_r
    azimuth = np.mod(np.rad2deg(np.arctan2(x, y)), 360.0)
    return np.hypot(across, up), azimuth, np.rad2deg(np.arctan2(up, across))


def ppi_features(points):
    """Clustering features of radar gates: ground x, y and ground range, in km.

    Parameters
    ----------
    points : PolarPoints
        Gates, e.g. from :func:`from_pyart` or :func:`make_radar_scan`.

    Returns
    -------
    X : ndarray of shape (n_points, 3)
        Columns: east (x), north (y) and ground range ``hypot(x, y)``, km.

    See Also
    --------
    polar_to_cartesian : the beam model used.
    beam_eps : a RangeEps that follows column 2.

    Notes
    -----
    The third column exists to feed a range-dependent eps: cluster with a
    ``RangeEps(..., range_feature=2)`` and ``window_features=[2]``, so that
    the range column stays out of the distance. Its window
    ``|range_q - range_p| <= eps`` always holds when ``|(x, y)_q - (x, y)_p|
    <= eps`` (triangle inequality), so the neighbourhood is the disc of
    radius eps(range) in the ground plane. Working in x, y avoids the
    azimuth wrap at north.

    Examples
    --------
    >>> from gridscan import GridDBSCAN, RangeEps
    >>> from gridscan.radar import make_radar_scan, ppi_features
    >>> points, truth = make_radar_scan(n_rays=120, n_gates=160, random_state=1)
    >>> X = ppi_features(points)
    >>> eps = RangeEps(base=0.026, range_feature=2, power=1.0, min_eps=1.0)
    >>> labels = GridDBSCAN(eps=eps, min_samples=8, window_features=[2]).fit_predict(X)
    >>> X.shape[1], labels.shape == truth.shape
    (3, True)
    """
    _require_attributes(points, ("range", "azimuth", "elevation"), "points",
                        "a PolarPoints (from_pyart, from_xradar or make_radar_scan)")
    x, y, _ = polar_to_cartesian(points.range, points.azimuth, points.elevation)
    return np.column_stack([x, y, np.hypot(x, y)])


def beam_eps(beam_width=1.0, *, beams=1.5, min_eps=1.0, gates=1.5):
    """Range-dependent eps for :func:`ppi_features`: a few beam widths, never below a floor.

    At ground range r the neighbourhood is the disc of radius
    ``max(floor, beams * r * beam_width)`` km (beam width in radians):
    the distance between neighbouring beams grows with range, and so does
    the radius. Given the points themselves, the beam width is their ray
    spacing and the floor also covers ``gates`` gate spacings, so that the
    gates along a ray reach each other whatever the product's gate length.

    Parameters
    ----------
    beam_width : float or PolarPoints, default=1.0
        Angular step between rays, degrees; or the points of one PPI sweep
        (several sweeps only if they share one gate and ray spacing), whose
        ray spacing and gate spacing are used.
    beams : float, default=1.5
        Radius in beam widths.
    min_eps : float, default=1.0
        Smallest radius, km (near the radar, where beams are close).
    gates : float, default=1.5
        With points: the smallest radius in gate spacings as well; the
        floor is ``max(min_eps, gates * gate_spacing)``. Ignored for a float
        ``beam_width``.

    Returns
    -------
    eps : gridscan.RangeEps
        ``RangeEps(base=beams * radians(beam_width), range_feature=2,
        power=1.0, min_eps=floor)``; use it with ``window_features=[2]``.

    Raises
    ------
    ValueError
        If a parameter is not a number > 0, or the points are RHI sweeps or
        sweeps of different spacings (use :func:`ground_features` or
        :func:`volume_features`, which give each sweep its own radius).

    See Also
    --------
    ppi_features : the features it is evaluated on.
    ground_features : features and eps together, for any sweeps.

    Notes
    -----
    A floor of 1 km alone does not fit a product with 1 km gates: on the
    NEXRAD level-3 reflectivity sample (``NEXRAD_LEVEL3_MSG19``, 230 gates
    of 1 km, ``examples/nexrad_sweep.py --threshold 20``), the beam radius
    is below one gate spacing within 38 km of the radar and most gates
    there have no neighbour along the ray; see :doc:`/radar` for the figures.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan.radar import beam_eps
    >>> eps = beam_eps(1.0, beams=1.5, min_eps=1.0)
    >>> eps.evaluate(np.array([[0.0, 10.0, 10.0], [0.0, 100.0, 100.0]])).round(3)
    array([[1.   ],
           [2.618]])
    """
    from gridscan._range_eps import RangeEps
    from gridscan.radar._points import PolarPoints

    floor = min_eps
    if isinstance(beam_width, PolarPoints):
        points = beam_width
        geometry = points.geometry()
        rhi = sorted(k for k, g in geometry.items() if g.mode != "ppi")
        if rhi:
            raise ValueError(f"beam_width holds RHI sweep(s) {rhi}; expected PPI sweeps. "
                             f"Use volume_features(points) for RHI scans")
        spacings = sorted({(g.gate_spacing, g.ray_spacing) for g in geometry.values()})
        if not spacings:
            raise ValueError("beam_width holds no gates, so it has no spacing; expected the "
                             "points of at least one sweep (is the threshold above every value?)")
        if len(spacings) != 1:
            raise ValueError(f"beam_width holds sweeps of different (gate, ray) spacings "
                             f"{spacings}; expected one. Use ground_features(points) or "
                             f"volume_features(points), which give each sweep its own radius")
        gate_spacing, beam_width = spacings[0]
        for name, value in (("gates", gates), ("gate_spacing", gate_spacing)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0; got {value!r}")
        floor = max(min_eps, gates * gate_spacing)
    for name, value in (("beam_width", beam_width), ("beams", beams), ("min_eps", floor)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a number > 0; got {value!r}")
    return RangeEps(base=beams * np.deg2rad(beam_width), range_feature=2, power=1.0,
                    min_eps=floor)
