"""The point container the readers and generators return: PolarPoints, SweepGeometry.

Layout: one flat array per quantity, one entry per gate kept, in (ray, gate)
order; the scan geometry of each sweep (mode, fixed angle, ray and gate
spacing) in a small tuple of SweepGeometry records, one per sweep number, so
that a volume keeps one ray spacing per sweep. Gate latitude, longitude and
height are derived on first use (pyproj's WGS84 geodesic from the site) and
cached on the instance.
"""

import numbers
from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np

SCAN_MODES = ("ppi", "rhi")


@dataclass(frozen=True)
class SweepGeometry:
    """How one sweep was scanned: its mode, fixed angle and spacings.

    The readers record one per sweep read (see :attr:`PolarPoints.sweep_geometry`).

    Parameters
    ----------
    number : int
        Sweep number, as in :attr:`PolarPoints.sweep`.
    mode : {"ppi", "rhi"}
        ``"ppi"``: the azimuth turns at a fixed elevation (sector scans
        included); ``"rhi"``: the elevation changes at a fixed azimuth.
    fixed_angle : float
        The elevation of a PPI, or the azimuth of an RHI, degrees.
    ray_spacing : float
        Step between rays of the angle that changes (azimuth for a PPI,
        elevation for an RHI), degrees; NaN when the sweep has a single ray.
    gate_spacing : float
        Distance between gate centres, km.
    full_circle : bool, default=False
        Whether the rays of a PPI cover the whole circle (azimuth then wraps
        at north).
    """

    number: int
    mode: str
    fixed_angle: float
    ray_spacing: float
    gate_spacing: float
    full_circle: bool = False

    def __post_init__(self):
        if self.mode not in SCAN_MODES:
            raise ValueError(f"mode must be one of {SCAN_MODES}; got {self.mode!r}")


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
    time : ndarray of datetime64 of shape (n_points,), default=None
        Time of the ray, when the source records it (the readers keep it).
    latitude, longitude : float, default=nan
        Position of the radar, degrees north and east, when the source
        records it (the readers keep it); :func:`cluster_table` places
        cluster centroids with it, and :attr:`gate_latitude` the gates.
    altitude : float, default=nan
        Height of the radar (antenna) above mean sea level, km (the readers
        convert Py-ART's and xradar's metres).
    sweep_geometry : tuple of SweepGeometry, default=()
        One record per sweep number present: mode, fixed angle, ray and gate
        spacing. Empty means every sweep is a full-circle PPI with the
        ``gate_spacing`` and ``ray_spacing`` above (what
        :func:`make_radar_scan` gives for one sweep).

    Attributes
    ----------
    gate_latitude, gate_longitude : ndarray of shape (n_points,)
        Position of every gate on the WGS84 ellipsoid, degrees.
    gate_height : ndarray of shape (n_points,)
        Height of every gate above mean sea level, km (``altitude`` plus the
        beam height of the 4/3-earth model).

    Notes
    -----
    ``gate_spacing`` and ``ray_spacing`` are single typical values (the
    median step over the rays read); the helpers that build clustering
    features (:func:`polar_features`, :func:`ground_features`,
    :func:`volume_features`, :func:`network_features`) use the per-sweep
    values of ``sweep_geometry`` instead, so a volume whose lowest sweeps
    have 0.5-degree rays and whose upper sweeps have 1-degree rays gets the
    right radius on each.

    Gate positions: the ground distance ``s`` from the radar follows the
    4/3-earth beam model (:func:`polar_to_cartesian`); the gate lies at
    geodesic distance ``s`` from the site along the ray's azimuth on the
    WGS84 ellipsoid (``pyproj.Geod.fwd``).

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
    time: np.ndarray | None = None
    latitude: float = float("nan")
    longitude: float = float("nan")
    altitude: float = float("nan")
    sweep_geometry: tuple = ()

    def __post_init__(self):
        geometry = tuple(self.sweep_geometry)
        if not all(isinstance(g, SweepGeometry) for g in geometry):
            raise ValueError(f"sweep_geometry must be a tuple of SweepGeometry; got "
                             f"{self.sweep_geometry!r}")
        numbers = [g.number for g in geometry]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"sweep_geometry must hold one record per sweep number; got "
                             f"numbers {numbers}")
        object.__setattr__(self, "sweep_geometry", geometry)

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
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return PolarPoints(**{name: value[index] if isinstance(value, np.ndarray) else value
                              for name, value in values.items()})

    # ------------------------------------------------------------ geometry

    def geometry(self):
        """The :class:`SweepGeometry` of every sweep number present, as a dict.

        Only the sweeps that hold points are listed (a selection of a volume
        keeps the records of all its sweeps). Sweeps without a record
        (``sweep_geometry`` empty, as for points made by hand) are
        full-circle PPIs with this object's ``gate_spacing`` and
        ``ray_spacing`` and their points' median elevation.

        Returns
        -------
        geometry : dict of int to SweepGeometry
        """
        recorded = {g.number: g for g in self.sweep_geometry}
        known = {}
        for number in self._sweep_numbers:
            number = int(number)
            if number in recorded:
                known[number] = recorded[number]
            else:
                elevation = self.elevation[self.sweep == number]
                known[number] = SweepGeometry(number, "ppi", float(np.median(elevation)),
                                              float(self.ray_spacing),
                                              float(self.gate_spacing), True)
        return known

    def _per_point(self, attribute):
        """A per-sweep value of the geometry spread to every point, shape (n_points,)."""
        geometry = self.geometry()
        numbers = np.array(sorted(geometry), dtype=np.intp)
        values = np.array([getattr(geometry[k], attribute) for k in numbers.tolist()])
        if numbers.size == 0:
            return np.empty(0, dtype=values.dtype if values.size else np.float64)
        return values[np.searchsorted(numbers, self.sweep)]

    def _require_site(self, need_altitude=False):
        names = ("latitude", "longitude", "altitude") if need_altitude else ("latitude",
                                                                             "longitude")
        missing = [name for name in names if not np.isfinite(getattr(self, name))]
        if missing:
            raise ValueError(
                f"points has no radar {' / '.join(missing)} (got "
                f"{', '.join(f'{n}={getattr(self, n)!r}' for n in missing)}); expected the "
                f"site from the reader (from_pyart, from_xradar) or given with "
                f"dataclasses.replace(points, latitude=..., longitude=..., altitude=...)")

    @cached_property
    def _sweep_numbers(self):
        """The sweep numbers present, ascending (computed once)."""
        return np.unique(self.sweep).tolist()

    @cached_property
    def _ground(self):
        from gridscan.radar._geometry import polar_to_cartesian

        x, y, z = polar_to_cartesian(self.range, self.azimuth, self.elevation)
        return np.hypot(x, y), z

    @cached_property
    def _gate_lonlat(self):
        from pyproj import Geod

        self._require_site()
        ground, _ = self._ground
        n = len(self)
        lon, lat, _ = Geod(ellps="WGS84").fwd(np.full(n, float(self.longitude)),
                                              np.full(n, float(self.latitude)),
                                              self.azimuth.astype(np.float64),
                                              ground * 1000.0)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    @property
    def gate_latitude(self):
        """Latitude of every gate on the WGS84 ellipsoid, degrees (pyproj's geodesic)."""
        return self._gate_lonlat[1]

    @property
    def gate_longitude(self):
        """Longitude of every gate on the WGS84 ellipsoid, degrees, in [-180, 180]."""
        return self._gate_lonlat[0]

    @property
    def gate_height(self):
        """Height of every gate above mean sea level, km: ``altitude`` + beam height."""
        self._require_site(need_altitude=True)
        return float(self.altitude) + self._ground[1]

    # ------------------------------------------------------------ concatenation

    @classmethod
    def concatenate(cls, parts):
        """Join the points of several PolarPoints of one radar into one.

        Typical use: the sweeps of a volume read one at a time
        (``from_xradar(tree, field, sweeps=k)``), or two selections of one
        reading.

        Parameters
        ----------
        parts : sequence of PolarPoints
            Points of the same radar (equal latitude, longitude and
            altitude, or all unknown). A sweep number present in several
            parts must have the same geometry in each.

        Returns
        -------
        points : PolarPoints
            The points of every part, in order; ``gate_spacing`` and
            ``ray_spacing`` the median of the parts' values weighted by their
            number of points; ``time`` kept when every part has it.

        Raises
        ------
        ValueError
            If the parts come from different radars (use
            :func:`network_features` for several radars) or disagree about
            the geometry of a sweep.

        Examples
        --------
        >>> from gridscan.radar import PolarPoints, make_radar_scan
        >>> points, _ = make_radar_scan(n_rays=90, n_gates=100, random_state=0)
        >>> near, far = points[points.range < 10], points[points.range >= 10]
        >>> joined = PolarPoints.concatenate([near, far])
        >>> len(joined) == len(points), sorted(joined.geometry())
        (True, [0])
        """
        parts = list(parts)
        if not parts or not all(isinstance(p, PolarPoints) for p in parts):
            raise ValueError(f"parts must be a non-empty sequence of PolarPoints; got "
                             f"{[type(p).__name__ for p in parts] or parts!r}")
        first = parts[0]
        for other in parts[1:]:
            for name in ("latitude", "longitude", "altitude"):
                a, b = getattr(first, name), getattr(other, name)
                if not (a == b or (np.isnan(a) and np.isnan(b))):
                    raise ValueError(
                        f"parts must come from one radar; got {name} {a!r} and {b!r}. "
                        f"For several radars use network_features([points_a, points_b, ...])")
        geometry = {}
        for part in parts:
            for number, record in part.geometry().items():
                if number in geometry and geometry[number] != record:
                    raise ValueError(f"sweep {number} has two geometries in parts: "
                                     f"{geometry[number]} and {record}; expected one per "
                                     f"sweep number (renumber the sweeps of one part)")
                geometry[number] = record
        arrays = {}
        for f in fields(cls):
            values = [getattr(part, f.name) for part in parts]
            if f.name == "time":
                arrays[f.name] = (None if any(v is None for v in values)
                                  else np.concatenate(values))
            elif isinstance(values[0], np.ndarray):
                arrays[f.name] = np.concatenate(values)
        sizes = np.array([len(part) for part in parts], dtype=np.float64)
        return replace(first, **arrays,
                       gate_spacing=_weighted_median([p.gate_spacing for p in parts], sizes),
                       ray_spacing=_weighted_median([p.ray_spacing for p in parts], sizes),
                       sweep_geometry=tuple(geometry[k] for k in sorted(geometry)))

    def to_frame(self):
        """The points as a pandas DataFrame, one column per array.

        Returns
        -------
        frame : pandas.DataFrame
            Columns range (km), azimuth, elevation (degrees), value, sweep,
            ray, gate, and time when the points carry it.
        """
        import pandas as pd

        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)
                             if isinstance(getattr(self, f.name), np.ndarray)})


def _require_attributes(obj, names, parameter, expected):
    """ValueError naming the parameter unless obj has every attribute in ``names``."""
    missing = [name for name in names if not hasattr(obj, name)]
    if missing:
        raise ValueError(
            f"{parameter} must be {expected}; got {type(obj).__name__!r} without "
            f"{', '.join(repr(name) for name in missing)}")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _typical_step(values, period=None):
    """Median positive step between consecutive values (wrapped by ``period``)."""
    steps = np.abs(np.diff(np.asarray(values, dtype=np.float64)))
    if period is not None:
        steps = np.minimum(steps, period - steps)
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else float("nan")


def _weighted_median(values, weights):
    values = np.asarray(values, dtype=np.float64)
    if np.all(values == values[0]) or np.all(np.isnan(values)):
        return float(values[0])
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])
