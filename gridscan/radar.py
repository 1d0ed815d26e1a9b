"""Radar helpers: readers into point arrays, beam geometry and synthetic scans.

Units: ranges and Cartesian coordinates are in kilometres, angles in degrees,
throughout this module (Py-ART and xradar store ranges in metres; the readers
convert).

Readers
-------
from_pyart        a Py-ART ``Radar`` (any object with its attributes) -> PolarPoints
from_xradar       an xradar sweep Dataset -> PolarPoints
superdarn_cells   a SuperDARN-style table (gate, beam, time) -> (gate, beam, scan) rows

Geometry
--------
polar_to_cartesian, cartesian_to_polar   4/3-earth beam model
ppi_features                             (x, y, ground range) columns for clustering
beam_eps                                 the matching range-dependent eps

Synthetic data
--------------
make_radar_scan       a PPI sweep with extended echoes, ground clutter and speckle
make_superdarn_table  a SuperDARN-style day of ionospheric and ground scatter

Py-ART, xradar and pandas are imported only by the functions that need them.
"""

import numbers
from dataclasses import dataclass, fields

import numpy as np

EARTH_RADIUS_KM = 6371.0
"""Mean earth radius (km) of the beam model."""

EFFECTIVE_RADIUS_FACTOR = 4.0 / 3.0
"""Standard-atmosphere refraction: the beam is straight over an earth this much larger."""

_METRES_UNITS = {"m", "meter", "meters", "metre", "metres"}

MAX_CELL_INDEX = 2**31 - 1
"""Largest gate or beam number superdarn_cells accepts."""


@dataclass(frozen=True, eq=False)
class PolarPoints:
    """Radar gates as flat point arrays, one entry per gate kept.

    The readers (:func:`from_pyart`, :func:`from_xradar`) and
    :func:`make_radar_scan` return this. Every array has one entry per point;
    points are in (ray, gate) order.

    Parameters
    ----------
    range : ndarray of shape (n_points,)
        Slant range of each gate centre, in km.
    azimuth : ndarray of shape (n_points,)
        Azimuth of the ray, degrees clockwise from north.
    elevation : ndarray of shape (n_points,)
        Elevation of the ray, degrees above the horizon.
    value : ndarray of shape (n_points,)
        The field's value at the gate.
    sweep : ndarray of int of shape (n_points,)
        Sweep number of the ray.
    ray : ndarray of int of shape (n_points,)
        Index of the ray in the source (Py-ART ray index, or position along
        the sweep's azimuth dimension).
    gate : ndarray of int of shape (n_points,)
        Index of the gate along the ray.
    gate_spacing : float
        Distance between gate centres, in km.
    ray_spacing : float
        Typical azimuth step between rays, in degrees.

    See Also
    --------
    ppi_features : Cartesian clustering features of these points.
    gridscan.plot.plot_ppi : draws them with cluster labels.

    Examples
    --------
    >>> from gridscan.radar import make_radar_scan
    >>> points, truth = make_radar_scan(n_rays=90, n_gates=100, random_state=0)
    >>> len(points) == len(truth) == points.range.shape[0]
    True
    >>> bool(points.range.min() >= 0.5 * points.gate_spacing)
    True
    """

    range: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    value: np.ndarray
    sweep: np.ndarray
    ray: np.ndarray
    gate: np.ndarray
    gate_spacing: float
    ray_spacing: float

    def __len__(self):
        return self.range.shape[0]

    def __repr__(self):
        return (f"PolarPoints({len(self)} points, range {self._span(self.range)} km, "
                f"gate_spacing={self.gate_spacing:g} km, ray_spacing={self.ray_spacing:g} deg)")

    @staticmethod
    def _span(values):
        return f"{values.min():g}..{values.max():g}" if values.size else "empty"

    def __getitem__(self, index):
        """The points selected by a boolean mask, an index array or a slice."""
        arrays = {f.name: getattr(self, f.name)[index] for f in fields(self)
                  if isinstance(getattr(self, f.name), np.ndarray)}
        return PolarPoints(**arrays, gate_spacing=self.gate_spacing,
                           ray_spacing=self.ray_spacing)

    def to_frame(self):
        """The points as a pandas DataFrame, one column per array.

        Returns
        -------
        frame : pandas.DataFrame
            Columns range (km), azimuth, elevation (degrees), value, sweep,
            ray, gate.
        """
        import pandas as pd

        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)
                             if isinstance(getattr(self, f.name), np.ndarray)})


def _field_error(name, available):
    return ValueError(f"field {name!r} not found; available fields: "
                      f"{', '.join(sorted(map(str, available))) or 'none'}")


def _field_data(field, data):
    """The (n_rays, n_gates) values of a field, checked to be a 2-D array of numbers."""
    values = np.ma.getdata(data)
    if np.ndim(values) != 2:
        raise ValueError(f"field {field!r} has shape {np.shape(values)}; expected "
                         f"(n_rays, n_gates)")
    if not (np.issubdtype(np.asarray(values).dtype, np.number)
            or np.asarray(values).dtype == bool):
        raise ValueError(f"field {field!r} must hold numbers; got dtype "
                         f"{np.asarray(values).dtype}")
    return data


def _check_coordinates(range_km, azimuth, elevation, ray, gate):
    """Every kept gate needs a finite range, azimuth and elevation."""
    for name, values, index, unit in (("range", range_km, gate, "gate"),
                                      ("azimuth", azimuth, ray, "ray"),
                                      ("elevation", elevation, ray, "ray")):
        bad = ~np.isfinite(values[index])
        if bad.any():
            position = int(index[np.flatnonzero(bad)[0]])
            raise ValueError(f"{name} must be finite at every kept gate; got "
                             f"{float(values[position])!r} at {unit} {position}")


def _keep_mask(data, threshold):
    """Gates with a finite, unmasked value, and >= threshold when one is given."""
    values = np.ma.getdata(data)
    keep = ~np.ma.getmaskarray(data) & np.isfinite(values)
    if threshold is not None:
        if not (_is_real(threshold) and np.isfinite(threshold)):
            raise ValueError(f"threshold must be a finite number or None; got {threshold!r}")
        with np.errstate(invalid="ignore"):
            keep &= values >= threshold
    return keep


def _range_km(values, units):
    values = np.asarray(values, dtype=np.float64)
    units = str(units or "meters").strip().lower()
    if units in _METRES_UNITS:
        return values / 1000.0
    if units in {"km", "kilometer", "kilometers", "kilometre", "kilometres"}:
        return values
    raise ValueError(f"range units must be metres or kilometres; got {units!r}")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _typical_step(values, period=None):
    """Median positive step between consecutive values (wrapped by ``period``)."""
    steps = np.abs(np.diff(np.asarray(values, dtype=np.float64)))
    if period is not None:
        steps = np.minimum(steps, period - steps)
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else float("nan")


def from_pyart(radar, field, *, threshold=None, sweeps=None):
    """Gates of a Py-ART ``Radar`` as point arrays.

    Any object with Py-ART's attributes works (duck typing): ``fields`` (a
    dict of dicts holding ``"data"``, masked or plain arrays of shape
    (n_rays, n_gates)), ``range``, ``azimuth``, ``elevation`` and, for
    several sweeps, ``sweep_start_ray_index`` / ``sweep_end_ray_index`` and
    ``sweep_number``.

    Parameters
    ----------
    radar : pyart.core.Radar or an object with the same attributes
        The radar volume.
    field : str
        Name of the field, for example ``"reflectivity"``.
    threshold : float, default=None
        Keep gates whose value is >= threshold. Masked and non-finite gates
        are always dropped.
    sweeps : int or sequence of int, default=None
        Sweep positions (0-based, in file order) to read; None reads all.

    Returns
    -------
    points : PolarPoints
        One point per kept gate; range in km (Py-ART stores metres).

    Raises
    ------
    ValueError
        If the field or a sweep does not exist, or the arrays disagree in shape.

    See Also
    --------
    from_xradar : the same for an xradar sweep.
    ppi_features : clustering features of the points.

    Examples
    --------
    >>> import os
    >>> os.environ.setdefault("PYART_QUIET", "1")  # doctest: +ELLIPSIS
    '...'
    >>> import pyart
    >>> from gridscan.radar import from_pyart
    >>> radar = pyart.io.read_nexrad_level3(pyart.testing.NEXRAD_LEVEL3_MSG176)
    >>> points = from_pyart(radar, "radar_estimated_rain_rate", threshold=0.1)
    >>> points.gate_spacing, int(points.ray.max()) + 1
    (0.25, 360)
    """
    if field not in radar.fields:
        raise _field_error(field, radar.fields)
    data = _field_data(field, radar.fields[field]["data"])
    n_rays, n_gates = np.shape(data)
    range_km = _range_km(radar.range["data"], radar.range.get("units"))
    azimuth = np.asarray(radar.azimuth["data"], dtype=np.float64)
    elevation = np.asarray(radar.elevation["data"], dtype=np.float64)
    if range_km.shape != (n_gates,) or azimuth.shape != (n_rays,) or elevation.shape != (n_rays,):
        raise ValueError(
            f"field {field!r} has shape {(n_rays, n_gates)}; expected range of shape "
            f"({n_gates},) and azimuth, elevation of shape ({n_rays},); got "
            f"{range_km.shape}, {azimuth.shape}, {elevation.shape}")

    starts, ends, numbers = _sweep_rays(radar, n_rays)
    if sweeps is None:
        chosen = np.arange(len(starts))
    else:
        chosen = np.atleast_1d(np.asarray(sweeps))
        if chosen.dtype.kind not in "iu" or chosen.min() < 0 or chosen.max() >= len(starts):
            raise ValueError(f"sweeps must be sweep positions in [0, {len(starts)}); "
                             f"got {sweeps!r}")
    ray_sweep = np.full(n_rays, -1, dtype=np.intp)
    for position in chosen:
        ray_sweep[starts[position]:ends[position] + 1] = numbers[position]

    keep = _keep_mask(data, threshold) & (ray_sweep >= 0)[:, None]
    ray, gate = np.nonzero(keep)
    _check_coordinates(range_km, azimuth, elevation, ray, gate)
    selected_rays = np.flatnonzero(ray_sweep >= 0)
    return PolarPoints(
        range=range_km[gate],
        azimuth=azimuth[ray],
        elevation=elevation[ray],
        value=np.ma.getdata(data)[ray, gate],
        sweep=ray_sweep[ray],
        ray=ray,
        gate=gate,
        gate_spacing=_typical_step(range_km),
        ray_spacing=_typical_step(azimuth[selected_rays], period=360.0),
    )


def _sweep_rays(radar, n_rays):
    """First and last ray (inclusive) and number of every sweep."""
    start = getattr(radar, "sweep_start_ray_index", None)
    end = getattr(radar, "sweep_end_ray_index", None)
    if start is None or end is None:
        return np.array([0]), np.array([n_rays - 1]), np.array([0])
    starts = np.asarray(start["data"], dtype=np.intp).reshape(-1)
    ends = np.asarray(end["data"], dtype=np.intp).reshape(-1)
    if (starts.shape != ends.shape or np.any(starts < 0) or np.any(ends >= n_rays)
            or np.any(starts > ends)):
        raise ValueError(f"sweep_start_ray_index and sweep_end_ray_index must hold rays "
                         f"0 <= start <= end < {n_rays} (the rays of the field); got "
                         f"{starts.tolist()} and {ends.tolist()}")
    number = getattr(radar, "sweep_number", None)
    numbers = (np.arange(len(starts)) if number is None
               else np.asarray(number["data"], dtype=np.intp).reshape(-1))
    return starts, ends, numbers


def from_xradar(sweep, field, *, threshold=None):
    """Gates of an xradar sweep as point arrays.

    Parameters
    ----------
    sweep : xarray.Dataset or xarray.DataTree
        One sweep as xradar opens it, e.g. ``tree["sweep_0"]``: a variable
        with dimensions (azimuth, range), an ``azimuth`` coordinate in
        degrees, an ``elevation`` coordinate along azimuth and a ``range``
        coordinate in metres (its ``units`` attribute is honoured).
    field : str
        Name of the variable, for example ``"DBZH"``.
    threshold : float, default=None
        Keep gates whose value is >= threshold; NaN gates are always dropped.

    Returns
    -------
    points : PolarPoints
        One point per kept gate; range in km; ``ray`` is the position along
        the azimuth dimension; ``sweep`` the sweep's ``sweep_number`` (0 when
        absent).

    Raises
    ------
    ValueError
        If the variable does not exist or lacks the azimuth and range dimensions.

    See Also
    --------
    from_pyart : the same for a Py-ART radar.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from gridscan.radar import from_xradar
    >>> sweep = xr.Dataset(
    ...     {"DBZH": (("azimuth", "range"), [[10.0, np.nan, 30.0], [5.0, 25.0, 40.0]])},
    ...     coords={"azimuth": [0.5, 1.5], "elevation": ("azimuth", [0.5, 0.5]),
    ...             "range": ("range", [125.0, 375.0, 625.0], {"units": "meters"})})
    >>> points = from_xradar(sweep, "DBZH", threshold=20)
    >>> points.range, points.azimuth
    (array([0.625, 0.375, 0.625]), array([0.5, 1.5, 1.5]))
    """
    if hasattr(sweep, "to_dataset"):
        sweep = sweep.to_dataset()
    if field not in sweep.data_vars:
        raise _field_error(field, sweep.data_vars)
    variable = sweep[field]
    if set(variable.dims) != {"azimuth", "range"}:
        raise ValueError(f"variable {field!r} has dimensions {variable.dims}; expected "
                         f"('azimuth', 'range')")
    variable = variable.transpose("azimuth", "range")
    range_km = _range_km(sweep["range"].values, sweep["range"].attrs.get("units"))
    azimuth = np.asarray(sweep["azimuth"].values, dtype=np.float64)
    if "elevation" in sweep.coords or "elevation" in sweep.data_vars:
        elevation = np.broadcast_to(np.asarray(sweep["elevation"].values, dtype=np.float64),
                                    azimuth.shape)
    else:
        elevation = np.full(azimuth.shape, float(sweep.get("sweep_fixed_angle", np.nan)))
    number = int(sweep["sweep_number"].values) if "sweep_number" in sweep else 0

    data = _field_data(field, variable.values)
    keep = _keep_mask(data, threshold)
    ray, gate = np.nonzero(keep)
    _check_coordinates(range_km, azimuth, elevation, ray, gate)
    return PolarPoints(
        range=range_km[gate],
        azimuth=azimuth[ray],
        elevation=elevation[ray],
        value=data[ray, gate],
        sweep=np.full(ray.shape, number, dtype=np.intp),
        ray=ray,
        gate=gate,
        gate_spacing=_typical_step(range_km),
        ray_spacing=_typical_step(azimuth, period=360.0),
    )


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
    x, y, _ = polar_to_cartesian(points.range, points.azimuth, points.elevation)
    return np.column_stack([x, y, np.hypot(x, y)])


def beam_eps(beam_width=1.0, *, beams=1.5, min_eps=1.0):
    """Range-dependent eps for :func:`ppi_features`: a few beam widths, at least ``min_eps``.

    At ground range r the neighbourhood is the disc of radius
    ``max(min_eps, beams * r * beam_width)`` km (beam width in radians):
    the distance between neighbouring beams grows with range, and so does
    the radius.

    Parameters
    ----------
    beam_width : float, default=1.0
        Angular step between rays, degrees.
    beams : float, default=1.5
        Radius in beam widths.
    min_eps : float, default=1.0
        Smallest radius, km (near the radar, where beams are close).

    Returns
    -------
    eps : gridscan.RangeEps
        ``RangeEps(base=beams * radians(beam_width), range_feature=2,
        power=1.0, min_eps=min_eps)``; use it with ``window_features=[2]``.

    See Also
    --------
    ppi_features : the features it is evaluated on.

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

    for name, value in (("beam_width", beam_width), ("beams", beams), ("min_eps", min_eps)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a number > 0; got {value!r}")
    return RangeEps(base=beams * np.deg2rad(beam_width), range_feature=2, power=1.0,
                    min_eps=min_eps)


def _place_ellipses(rng, count, min_range, max_range, axes_range, margin, placed):
    """Centres and axes of ``count`` ellipses with no overlap (rejection sampling)."""
    shapes = []
    for _ in range(200 * count):
        if len(shapes) == count:
            break
        ground = np.sqrt(rng.uniform(min_range**2, max_range**2))
        bearing = rng.uniform(0.0, 2.0 * np.pi)
        centre = ground * np.array([np.sin(bearing), np.cos(bearing)])
        a, b = np.sort(rng.uniform(*axes_range, size=2))[::-1]
        if all(np.hypot(*(centre - c)) > a + other + margin for c, other, *_ in placed + shapes):
            shapes.append((centre, a, b, rng.uniform(0.0, np.pi)))
    return shapes


def make_radar_scan(n_rays=360, n_gates=480, *, gate_spacing=0.25, elevation=0.5,
                    n_echoes=10, n_clutter=4, fill=0.85, speckle=0.01, random_state=None):
    """A synthetic PPI sweep: extended echoes, ground clutter and speckle.

    The sweep is a regular polar grid of ``n_rays`` rays (azimuth step
    ``360 / n_rays`` degrees) and ``n_gates`` gates (centres at
    ``(i + 0.5) * gate_spacing`` km). Echoes are ellipses with semi-axes of 5 to 22 km
    placed in the ground plane, their outlines made irregular by a few random
    harmonics; a gate inside one is filled with probability
    ``fill``, with a reflectivity peaking at the centre. Clutter patches are
    small, nearly full ellipses close to the radar. Speckle fills each other
    gate with probability ``speckle``. Shapes do not overlap.

    Parameters
    ----------
    n_rays : int, default=360
        Rays in the sweep.
    n_gates : int, default=480
        Gates per ray.
    gate_spacing : float, default=0.25
        Gate length, km.
    elevation : float, default=0.5
        Elevation of the sweep, degrees.
    n_echoes : int, default=10
        Extended (weather) echoes.
    n_clutter : int, default=4
        Ground-clutter patches within the first fifth of the range.
    fill : float in (0, 1], default=0.85
        Probability that a gate inside an echo is filled.
    speckle : float in [0, 1), default=0.01
        Probability that any other gate holds an isolated false echo.
    random_state : int, numpy.random.Generator or None, default=None
        Seed; the same seed gives the same scan.

    Returns
    -------
    points : PolarPoints
        The filled gates, in (ray, gate) order; ``value`` in dBZ.
    truth : ndarray of int of shape (n_points,)
        Echo of each gate: 0 .. n_echoes - 1 for the weather echoes,
        n_echoes .. n_echoes + n_clutter - 1 for the clutter patches, -1 for
        speckle.

    See Also
    --------
    ppi_features : clustering features of the points.
    make_superdarn_table : synthetic SuperDARN data.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan.radar import make_radar_scan
    >>> points, truth = make_radar_scan(n_rays=180, n_gates=200, n_echoes=3,
    ...                                 n_clutter=1, random_state=0)
    >>> np.unique(truth).tolist()
    [-1, 0, 1, 2, 3]
    >>> float(points.ray_spacing), float(points.gate_spacing)
    (2.0, 0.25)
    """
    for name, value, low in (("n_rays", n_rays, 1), ("n_gates", n_gates, 1),
                             ("n_echoes", n_echoes, 0), ("n_clutter", n_clutter, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    if not (_is_real(fill) and 0.0 < fill <= 1.0):
        raise ValueError(f"fill must be in (0, 1]; got {fill!r}")
    if not (_is_real(speckle) and 0.0 <= speckle < 1.0):
        raise ValueError(f"speckle must be in [0, 1); got {speckle!r}")
    if not (_is_real(gate_spacing) and 0 < gate_spacing < np.inf):
        raise ValueError(f"gate_spacing must be a finite number > 0; got {gate_spacing!r}")
    if not (_is_real(elevation) and np.isfinite(elevation)):
        raise ValueError(f"elevation must be a finite number; got {elevation!r}")
    rng = np.random.default_rng(random_state)
    max_range = n_gates * gate_spacing
    scale = max_range / 120.0
    clutter = _place_ellipses(rng, n_clutter, 0.03 * max_range, 0.2 * max_range,
                              (1.0 * scale, 2.5 * scale), 0.5 * scale, [])
    echoes = _place_ellipses(rng, n_echoes, 0.15 * max_range, 0.85 * max_range,
                             (5.0 * scale, 22.0 * scale), 3.0 * scale, clutter)
    shapes = echoes + clutter

    ray_azimuth = (np.arange(n_rays) + 0.5) * (360.0 / n_rays)
    gate_range = (np.arange(n_gates) + 0.5) * gate_spacing
    slant, azimuth = np.meshgrid(gate_range, ray_azimuth)
    x, y, _ = polar_to_cartesian(slant, azimuth, elevation)
    truth_grid = np.full(slant.shape, -1, dtype=np.intp)
    value = np.zeros(slant.shape)
    filled = rng.random(slant.shape) < speckle
    value[filled] = rng.uniform(5.0, 25.0, size=int(filled.sum()))
    for label, (centre, a, b, angle) in enumerate(shapes):
        u = (x - centre[0]) * np.cos(angle) + (y - centre[1]) * np.sin(angle)
        v = -(x - centre[0]) * np.sin(angle) + (y - centre[1]) * np.cos(angle)
        # A few random harmonics make the outline irregular, as real echoes are.
        bearing = np.arctan2(v / b, u / a)
        outline = 1.0 + sum(rng.uniform(0.0, 0.12) * np.cos(k * bearing + rng.uniform(0, 6.3))
                            for k in (2, 3, 5))
        depth = 1.0 - ((u / a) ** 2 + (v / b) ** 2) / outline**2
        inside = depth >= 0
        is_clutter = label >= len(echoes)
        density = 0.97 if is_clutter else fill
        peak = rng.uniform(50.0, 60.0) if is_clutter else rng.uniform(35.0, 55.0)
        hit = inside & (rng.random(slant.shape) < density)
        filled = (filled & ~inside) | hit
        truth_grid[inside] = label
        value[inside] = peak - 25.0 * (1.0 - depth[inside])
    ray, gate = np.nonzero(filled)
    points = PolarPoints(
        range=gate_range[gate],
        azimuth=ray_azimuth[ray],
        elevation=np.full(ray.shape, float(elevation)),
        value=value[ray, gate],
        sweep=np.zeros(ray.shape, dtype=np.intp),
        ray=ray,
        gate=gate,
        gate_spacing=float(gate_spacing),
        ray_spacing=360.0 / n_rays,
    )
    return points, truth_grid[ray, gate]


def superdarn_cells(table, *, gate="gate", beam="beam", time="time", scan_length="1min"):
    """(gate, beam, scan) rows of a SuperDARN-style table, for GBDSCAN.

    Each row of the table is one echo: a range gate, a beam and the time of
    the beam's sounding. Soundings are grouped into scans of fixed length
    aligned to the clock (a 1-minute scan starts on the minute); the scan
    index counts scans from the first one, so gaps in the data leave gaps
    in the scan numbers and scans on either side of a gap are not neighbours.

    Parameters
    ----------
    table : pandas.DataFrame
        At least the gate, beam and time columns.
    gate, beam, time : str, default="gate", "beam", "time"
        Column names. Gates and beams must hold non-negative integers; time
        may be datetimes or numbers (seconds).
    scan_length : str, pandas.Timedelta or float, default="1min"
        Length of a scan: a pandas timedelta (string or Timedelta) for a
        datetime column, seconds for a numeric one.

    Returns
    -------
    cells : ndarray of int of shape (n_rows, 3)
        Columns gate, beam, scan: the input of ``GBDSCAN``.
    scan_start : ndarray of shape (n_scans,)
        Start time of every scan index (datetime64 or float seconds).

    Raises
    ------
    ValueError
        If a column is missing, gates or beams are not non-negative integers,
        times are missing, or scan_length is not positive.

    See Also
    --------
    make_superdarn_table : a synthetic table in this layout.
    gridscan.GBDSCAN : clusters the cells.

    Examples
    --------
    >>> import pandas as pd
    >>> from gridscan.radar import superdarn_cells
    >>> table = pd.DataFrame({
    ...     "gate": [10, 11, 10, 12],
    ...     "beam": [3, 3, 4, 0],
    ...     "time": pd.to_datetime(["2024-03-01 00:00:05", "2024-03-01 00:00:05",
    ...                             "2024-03-01 00:00:09", "2024-03-01 00:02:01"])})
    >>> cells, scan_start = superdarn_cells(table, scan_length="1min")
    >>> cells.tolist()
    [[10, 3, 0], [11, 3, 0], [10, 4, 0], [12, 0, 2]]
    >>> scan_start.astype("datetime64[m]").astype(str).tolist()
    ['2024-03-01T00:00', '2024-03-01T00:01', '2024-03-01T00:02']
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    missing = [name for name in (gate, beam, time) if name not in table.columns]
    if missing:
        raise ValueError(f"table has no column {', '.join(map(repr, missing))}; columns are "
                         f"{', '.join(map(str, table.columns))}")
    grid = []
    for name in (gate, beam):
        column = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = (~np.isfinite(column) | (column < 0) | (column != np.round(column))
               | (column > MAX_CELL_INDEX))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {name!r} must hold non-negative integers; row {row} "
                             f"holds {table[name].iloc[row]!r} (expected 0 to {MAX_CELL_INDEX})")
        grid.append(column.astype(np.intp))
    times = table[time]
    if times.isna().any():
        raise ValueError(f"column {time!r} has missing times (row "
                         f"{int(np.flatnonzero(times.isna().to_numpy())[0])})")
    if pd.api.types.is_datetime64_any_dtype(times):
        try:
            step = pd.Timedelta(scan_length)
        except (TypeError, ValueError):
            raise ValueError(f"scan_length must be a pandas duration such as '1min' for a "
                             f"datetime column; got {scan_length!r}") from None
        if step <= pd.Timedelta(0):
            raise ValueError(f"scan_length must be positive; got {scan_length!r}")
        floored = times.dt.floor(step)
        first = floored.min()
        scan = ((floored - first) // step).to_numpy(dtype=np.intp)
        n_scans = scan.max() + 1 if scan.size else 0
        scan_start = (first + pd.to_timedelta(np.arange(n_scans) * step.value, unit="ns")
                      ).to_numpy()
    else:
        try:
            step = float(scan_length)
        except (TypeError, ValueError):
            step = float("nan")
        if not (step > 0 and np.isfinite(step)):
            raise ValueError(f"scan_length must be a positive number of seconds for a numeric "
                             f"time column; got {scan_length!r}")
        try:
            seconds = pd.to_numeric(times).to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {time!r} must hold datetimes or numbers (seconds); "
                             f"{exc}") from None
        if not np.all(np.isfinite(seconds)):
            row = int(np.flatnonzero(~np.isfinite(seconds))[0])
            raise ValueError(f"column {time!r} must hold finite times; row {row} holds "
                             f"{times.iloc[row]!r}")
        counts = np.floor(seconds / step)
        first = counts.min() if counts.size else 0.0
        scan = (counts - first).astype(np.intp)
        scan_start = (first + np.arange(scan.max() + 1 if scan.size else 0)) * step
    return np.column_stack([grid[0], grid[1], scan]), scan_start


def make_superdarn_table(n_scans=720, *, n_beams=16, n_gates=75, scan_length="2min",
                         start="2024-03-01", noise=0.02, random_state=None):
    """A synthetic SuperDARN-style day: ionospheric and ground scatter plus noise.

    Scan k starts at ``start + k * scan_length``; beam j is sounded
    ``j * scan_length / n_beams`` later. Ionospheric scatter forms bands a few
    gates deep that drift in range through the day over a span of beams;
    ground scatter is a band at near range with low velocity; noise fills
    any other cell with probability ``noise``.

    Parameters
    ----------
    n_scans : int, default=720
        Scans (720 two-minute scans make a day).
    n_beams : int, default=16
        Beams per scan.
    n_gates : int, default=75
        Range gates per beam.
    scan_length : str or pandas.Timedelta, default="2min"
        Duration of one scan.
    start : str or datetime-like, default="2024-03-01"
        Start of the first scan.
    noise : float in [0, 1), default=0.02
        Probability of an isolated noise echo in an empty cell.
    random_state : int, numpy.random.Generator or None, default=None
        Seed.

    Returns
    -------
    table : pandas.DataFrame
        One row per echo, columns time (datetime64), beam, gate (int),
        velocity (m/s) and source ("ionospheric", "ground" or "noise"), in
        time order.

    See Also
    --------
    superdarn_cells : turns the table into GBDSCAN input.

    Examples
    --------
    >>> from gridscan.radar import make_superdarn_table, superdarn_cells
    >>> table = make_superdarn_table(n_scans=30, random_state=1)
    >>> sorted(table["source"].unique())
    ['ground', 'ionospheric', 'noise']
    >>> cells, scan_start = superdarn_cells(table, scan_length="2min")
    >>> int(cells[:, 2].max()) + 1, len(scan_start)
    (30, 30)
    """
    import pandas as pd

    for name, value in (("n_scans", n_scans), ("n_beams", n_beams), ("n_gates", n_gates)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if not (0.0 <= noise < 1.0):
        raise ValueError(f"noise must be in [0, 1); got {noise!r}")
    rng = np.random.default_rng(random_state)
    step = pd.Timedelta(scan_length)
    scan, beam, gate = np.meshgrid(np.arange(n_scans), np.arange(n_beams), np.arange(n_gates),
                                   indexing="ij")
    hours = scan * (step / pd.Timedelta("1h"))
    source = np.full(scan.shape, "", dtype=object)
    velocity = np.zeros(scan.shape)

    # Ground scatter: near range, on and off in long stretches, low velocity.
    ground_depth = max(1, n_gates // 25)
    ground_gate = n_gates // 8
    ground_on = np.sin(2 * np.pi * hours / 9.0 + rng.uniform(0, 2 * np.pi)) > -0.5
    ground = ground_on & (np.abs(gate - ground_gate) <= ground_depth) & (rng.random(gate.shape)
                                                                        < 0.8)
    source[ground] = "ground"
    velocity[ground] = rng.normal(0.0, 15.0, size=int(ground.sum()))

    # Ionospheric bands: drifting in range, over a span of beams, for part of the day.
    total_hours = n_scans * (step / pd.Timedelta("1h"))
    for band_number in range(3):
        centre = (0.32 + 0.22 * band_number + rng.uniform(-0.03, 0.03)) * n_gates
        swing = rng.uniform(0.03, 0.08) * n_gates
        period = rng.uniform(6.0, 14.0)
        depth = rng.uniform(2.0, 4.0)
        first_beam = rng.integers(0, max(1, n_beams // 2))
        beams = rng.integers(max(2, n_beams // 3), n_beams + 1)
        begin = rng.uniform(0.0, 0.6) * total_hours
        length = rng.uniform(0.25, 0.4) * total_hours + 2 * (step / pd.Timedelta("1h"))
        band_gate = centre + swing * np.sin(2 * np.pi * hours / period) + 0.3 * beam
        band = ((np.abs(gate - band_gate) <= depth) & (beam >= first_beam)
                & (beam < first_beam + beams) & (hours >= begin) & (hours < begin + length)
                & (rng.random(gate.shape) < 0.85) & (source == ""))
        source[band] = "ionospheric"
        velocity[band] = rng.normal(rng.uniform(-400.0, 400.0), 60.0, size=int(band.sum()))

    stray = (source == "") & (rng.random(gate.shape) < noise)
    source[stray] = "noise"
    velocity[stray] = rng.normal(0.0, 300.0, size=int(stray.sum()))

    keep = source != ""
    offset_ns = scan[keep] * step.value + beam[keep] * (step.value // n_beams)
    table = pd.DataFrame({
        "time": pd.Timestamp(start) + pd.to_timedelta(offset_ns, unit="ns"),
        "beam": beam[keep].astype(np.int64),
        "gate": gate[keep].astype(np.int64),
        "velocity": velocity[keep],
        "source": source[keep].astype(str),
    })
    return table.sort_values(["time", "gate"], kind="stable").reset_index(drop=True)
