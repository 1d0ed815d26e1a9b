"""Synthetic data for examples and tests: a PPI sweep and a SuperDARN-style day."""

import numpy as np

from gridscan.radar._geometry import polar_to_cartesian
from gridscan.radar._points import PolarPoints, SweepGeometry, _is_real


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
    _check_scan_parameters(n_rays, n_gates, n_echoes, n_clutter, fill, speckle, gate_spacing)
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


def _check_scan_parameters(n_rays, n_gates, n_echoes, n_clutter, fill, speckle, gate_spacing):
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


def _solid_shapes(rng, flat, n_echoes, scale):
    """Give each placed ellipse an irregular outline, a top height (km) and a peak value.

    Echoes reach 6 to 14 km; clutter patches 0.5 to 1.5 km.
    """
    shapes = []
    for label, (centre, a, b, angle) in enumerate(flat):
        harmonics = [(k, rng.uniform(0.0, 0.12), rng.uniform(0, 6.3)) for k in (2, 3, 5)]
        clutter = label >= n_echoes
        top = rng.uniform(0.5, 1.5) if clutter else rng.uniform(6.0, 14.0)
        peak = rng.uniform(50.0, 60.0) if clutter else rng.uniform(35.0, 55.0)
        shapes.append((centre, a, b, angle, harmonics, top, peak, 0.97 if clutter else None))
    return shapes


def _sample_solids(rng, shapes, x, y, z, fill, speckle):
    """Filled gates, truth label and value of gates at ground x, y and height z (km).

    A gate is inside a shape when its footprint holds it and it lies below
    the shape's dome, ``z <= top * sqrt(depth)`` (depth 1 at the centre, 0
    on the outline).
    """
    x, y, z = (np.ascontiguousarray(a) for a in np.broadcast_arrays(x, y, z))
    truth = np.full(x.shape, -1, dtype=np.intp)
    value = np.zeros(x.shape)
    filled = rng.random(x.shape) < speckle
    value[filled] = rng.uniform(5.0, 25.0, size=int(filled.sum()))
    for label, (centre, a, b, angle, harmonics, top, peak, density) in enumerate(shapes):
        near = np.flatnonzero(np.hypot(x - centre[0], y - centre[1]) <= 1.4 * a)
        dx, dy = x.flat[near] - centre[0], y.flat[near] - centre[1]
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        bearing = np.arctan2(v / b, u / a)
        outline = 1.0 + sum(amp * np.cos(k * bearing + phase) for k, amp, phase in harmonics)
        depth = 1.0 - ((u / a) ** 2 + (v / b) ** 2) / outline**2
        inside = (depth >= 0) & (z.flat[near] <= top * np.sqrt(np.maximum(depth, 0.0)))
        index = near[inside]
        hit = rng.random(index.shape) < (fill if density is None else density)
        filled.flat[index] = hit
        truth.flat[index] = label
        value.flat[index] = peak - 25.0 * (1.0 - depth[inside]) - 2.0 * z.flat[index]
    return filled, truth, value


NEXRAD_ELEVATIONS = (0.5, 0.9, 1.3, 1.8, 2.4, 3.1, 4.0, 5.1, 6.4, 8.0, 10.0, 12.5, 15.6, 19.5)
"""Elevations (degrees) of the 14 sweeps of the NEXRAD volume coverage pattern 212."""


def make_radar_volume(n_rays=360, n_gates=480, *, gate_spacing=0.25,
                      elevations=NEXRAD_ELEVATIONS, n_echoes=10, n_clutter=4, fill=0.85,
                      speckle=0.01, echo_size=(5.0, 22.0), stratiform_top=0.0,
                      random_state=None,
                      latitude=float("nan"), longitude=float("nan"), altitude=0.0):
    """A synthetic volume scan: PPI sweeps at several elevations through 3-D echoes.

    The echoes are those of :func:`make_radar_scan` (irregular ellipses in
    the ground plane) grown into domes 6 to 14 km high (clutter: 0.5 to 1.5
    km); each sweep samples them where its beam passes (4/3-earth model).
    ``make_radar_volume(720, 1832, elevations=NEXRAD_ELEVATIONS)`` has the
    size of a NEXRAD super-resolution volume: 14 sweeps of 720 rays x 1832
    gates of 250 m, 18.5 million gates.

    Parameters
    ----------
    n_rays, n_gates : int, default=360, 480
        Rays per sweep and gates per ray.
    gate_spacing : float, default=0.25
        Gate length, km.
    elevations : sequence of float, default=NEXRAD_ELEVATIONS
        Elevation of each sweep, degrees; sweep k has number k.
    n_echoes, n_clutter : int, default=10, 4
        Weather echoes and clutter patches.
    fill : float in (0, 1], default=0.85
        Probability that a gate inside an echo is filled.
    speckle : float in [0, 1), default=0.01
        Probability that any other gate holds an isolated false echo.
    echo_size : (float, float), default=(5.0, 22.0)
        Smallest and largest semi-axis of an echo, km per 120 km of
        maximum range (as :func:`make_radar_scan`: 5 to 22 km at 120 km).
    stratiform_top : float, default=0.0
        Height (km above the radar) of a layer of widespread rain that fills
        every other gate below it with probability ``fill`` (truth label
        ``n_echoes + n_clutter``; it touches the echoes it surrounds). 0: no
        layer.
    random_state : int, numpy.random.Generator or None, default=None
        Seed; the same seed gives the same volume.
    latitude, longitude : float, default=nan
        Site of the radar, degrees (for gate latitude/longitude).
    altitude : float, default=0.0
        Height of the radar above mean sea level, km.

    Returns
    -------
    points : PolarPoints
        The filled gates, sweep by sweep, in (ray, gate) order within a
        sweep; ``ray`` counts rays over the whole volume (sweep k's rays are
        ``k * n_rays ...``); one :class:`SweepGeometry` per sweep.
    truth : ndarray of int of shape (n_points,)
        Echo of each gate as in :func:`make_radar_scan` (the same echo in
        every sweep), ``n_echoes + n_clutter`` for the stratiform layer, -1
        for speckle.

    See Also
    --------
    volume_features : 3-D clustering features of the points.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan.radar import make_radar_volume
    >>> points, truth = make_radar_volume(n_rays=90, n_gates=100, elevations=[0.5, 2.0],
    ...                                   random_state=0)
    >>> np.unique(points.sweep).tolist(), [g.fixed_angle for g in points.sweep_geometry]
    ([0, 1], [0.5, 2.0])
    """
    _check_scan_parameters(n_rays, n_gates, n_echoes, n_clutter, fill, speckle, gate_spacing)
    elevations = np.atleast_1d(np.asarray(elevations, dtype=np.float64))
    if elevations.ndim != 1 or elevations.size == 0 or not np.all(np.isfinite(elevations)) \
            or np.any(np.abs(elevations) >= 90):
        raise ValueError(f"elevations must be a non-empty sequence of finite angles in "
                         f"(-90, 90) degrees; got {elevations.tolist()!r}")
    if not (_is_real(altitude) and np.isfinite(altitude)):
        raise ValueError(f"altitude must be a finite number (km); got {altitude!r}")
    size = np.asarray(echo_size, dtype=np.float64)
    if size.shape != (2,) or not (np.all(np.isfinite(size)) and 0 < size[0] <= size[1]):
        raise ValueError(f"echo_size must be (smallest, largest) semi-axis with 0 < smallest "
                         f"<= largest; got {echo_size!r}")
    if not (_is_real(stratiform_top) and 0 <= stratiform_top < np.inf):
        raise ValueError(f"stratiform_top must be a finite height >= 0 (km); got "
                         f"{stratiform_top!r}")
    rng = np.random.default_rng(random_state)
    max_range = n_gates * gate_spacing
    scale = max_range / 120.0
    clutter = _place_ellipses(rng, n_clutter, 0.03 * max_range, 0.2 * max_range,
                              (1.0 * scale, 2.5 * scale), 0.5 * scale, [])
    echoes = _place_ellipses(rng, n_echoes, 0.15 * max_range, 0.85 * max_range,
                             (size[0] * scale, size[1] * scale), 3.0 * scale, clutter)
    shapes = _solid_shapes(rng, echoes + clutter, len(echoes), scale)

    ray_azimuth = (np.arange(n_rays) + 0.5) * (360.0 / n_rays)
    gate_range = (np.arange(n_gates) + 0.5) * gate_spacing
    parts, truths = [], []
    for number, elevation in enumerate(elevations.tolist()):
        x, y, z = polar_to_cartesian(gate_range[None, :], ray_azimuth[:, None], elevation)
        filled, truth, value = _sample_solids(rng, shapes, x, y, z, fill, speckle)
        if stratiform_top > 0:
            layer = np.broadcast_to(z < stratiform_top, truth.shape) & (truth < 0)
            rain = layer & (rng.random(truth.shape) < fill)
            filled = (filled & ~layer) | rain
            truth[layer] = len(shapes)
            value[layer] = rng.uniform(20.0, 30.0, size=int(layer.sum()))
        ray, gate = np.nonzero(filled)
        parts.append(PolarPoints(
            range=gate_range[gate], azimuth=ray_azimuth[ray],
            elevation=np.full(ray.shape, elevation), value=value[ray, gate],
            sweep=np.full(ray.shape, number, dtype=np.intp), ray=ray + number * n_rays,
            gate=gate, gate_spacing=float(gate_spacing), ray_spacing=360.0 / n_rays,
            latitude=float(latitude), longitude=float(longitude), altitude=float(altitude),
            sweep_geometry=(SweepGeometry(number, "ppi", elevation, 360.0 / n_rays,
                                          float(gate_spacing), True),)))
        truths.append(truth[ray, gate])
    points = parts[0] if len(parts) == 1 else PolarPoints.concatenate(parts)
    return points, np.concatenate(truths)


def _site(site):
    values = tuple(float(v) for v in site)
    if len(values) == 2:
        values += (0.0,)
    if len(values) != 3 or not all(np.isfinite(values)) or not -90 < values[0] < 90:
        raise ValueError(f"sites must hold (latitude, longitude[, altitude km]) in degrees; "
                         f"got {site!r}")
    return values


def make_radar_network(sites, n_rays=360, n_gates=480, *, gate_spacing=0.25, elevation=0.5,
                       n_echoes=12, n_clutter=2, fill=0.85, speckle=0.01, random_state=None):
    """Synthetic PPI sweeps of several radars that watch the same echoes.

    Echoes (as in :func:`make_radar_volume`: irregular domes) are placed in
    an azimuthal-equidistant frame about the sites' mean position, each
    within 15% to 85% of the maximum range of one radar chosen at random, so
    that with radars closer than their range many echoes lie in the
    overlap; clutter patches lie near each radar. Every radar samples the
    scene on its own polar grid: its gates are placed on the WGS84
    ellipsoid from its site (pyproj), then into the frame.

    Parameters
    ----------
    sites : sequence of (latitude, longitude) or (latitude, longitude, altitude)
        Position of each radar, degrees (altitude in km, default 0).
    n_rays, n_gates : int, default=360, 480
        Rays per sweep and gates per ray (the same for every radar).
    gate_spacing : float, default=0.25
        Gate length, km.
    elevation : float, default=0.5
        Elevation of every sweep, degrees.
    n_echoes : int, default=12
        Weather echoes in the whole scene.
    n_clutter : int, default=2
        Clutter patches per radar.
    fill, speckle, random_state
        As in :func:`make_radar_scan`.

    Returns
    -------
    radars : list of PolarPoints
        One sweep per site, with its latitude, longitude and altitude.
    truths : list of ndarray of int
        Echo of each gate of each radar; an echo has the same number in
        every radar that sees it; -1 for speckle.

    See Also
    --------
    network_features : clustering features of several radars in one frame.

    Examples
    --------
    >>> import numpy as np
    >>> from gridscan.radar import make_radar_network
    >>> radars, truths = make_radar_network([(40.0, -100.0), (40.0, -99.6)],
    ...                                     n_rays=180, n_gates=240, random_state=0)
    >>> len(radars), bool(set(truths[0][truths[0] >= 0]) & set(truths[1][truths[1] >= 0]))
    (2, True)
    """
    from pyproj import Transformer

    _check_scan_parameters(n_rays, n_gates, n_echoes, n_clutter, fill, speckle, gate_spacing)
    if not (_is_real(elevation) and np.isfinite(elevation)):
        raise ValueError(f"elevation must be a finite number; got {elevation!r}")
    try:
        sites = [_site(site) for site in sites]
    except TypeError:
        raise ValueError(f"sites must be a sequence of (latitude, longitude[, altitude]); "
                         f"got {sites!r}") from None
    if not sites:
        raise ValueError("sites must hold at least one site; got none")
    from gridscan.radar._features import _centre

    stand_in = [PolarPoints(*([np.empty(0)] * 7), gate_spacing=1.0, ray_spacing=1.0,
                            latitude=lat, longitude=lon) for lat, lon, _ in sites]
    centre_lat, centre_lon = _centre(stand_in)
    to_frame = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={centre_lat!r} +lon_0={centre_lon!r} +ellps=WGS84 "
        f"+units=km +no_defs", always_xy=True)
    origins = np.array([to_frame.transform(lon, lat) for lat, lon, _ in sites])

    rng = np.random.default_rng(random_state)
    max_range = n_gates * gate_spacing
    scale = max_range / 120.0
    flat = []
    for origin in origins:
        for centre, a, b, angle in _place_ellipses(rng, n_clutter, 0.03 * max_range,
                                                   0.2 * max_range, (1.0 * scale, 2.5 * scale),
                                                   0.5 * scale, flat):
            flat.append((centre + origin, a, b, angle))
    clutter = flat
    echoes = []
    for _ in range(200 * n_echoes):
        if len(echoes) == n_echoes:
            break
        origin = origins[rng.integers(len(origins))]
        (centre, a, b, angle), = _place_ellipses(rng, 1, 0.15 * max_range, 0.85 * max_range,
                                                 (5.0 * scale, 22.0 * scale), 0.0, []) or [
            (np.zeros(2), 0.0, 0.0, 0.0)]
        centre = centre + origin
        if a > 0 and all(np.hypot(*(centre - c)) > a + other + 3.0 * scale
                         for c, other, *_ in echoes + clutter):
            echoes.append((centre, a, b, angle))
    shapes = _solid_shapes(rng, echoes + clutter, len(echoes), scale)

    ray_azimuth = (np.arange(n_rays) + 0.5) * (360.0 / n_rays)
    gate_range = (np.arange(n_gates) + 0.5) * gate_spacing
    radars, truths = [], []
    for lat, lon, alt in sites:
        ray, gate = np.divmod(np.arange(n_rays * n_gates), n_gates)
        grid = PolarPoints(range=gate_range[gate], azimuth=ray_azimuth[ray],
                           elevation=np.full(ray.shape, float(elevation)),
                           value=np.zeros(ray.shape), sweep=np.zeros(ray.shape, dtype=np.intp),
                           ray=ray, gate=gate, gate_spacing=float(gate_spacing),
                           ray_spacing=360.0 / n_rays, latitude=lat, longitude=lon,
                           altitude=alt)
        x, y = to_frame.transform(grid.gate_longitude, grid.gate_latitude)
        _, _, z = polar_to_cartesian(grid.range, grid.azimuth, grid.elevation)
        filled, truth, value = _sample_solids(rng, shapes, np.asarray(x), np.asarray(y),
                                              z + alt, fill, speckle)
        keep = np.flatnonzero(filled)
        radars.append(PolarPoints(
            range=grid.range[keep], azimuth=grid.azimuth[keep], elevation=grid.elevation[keep],
            value=value[keep], sweep=grid.sweep[keep], ray=ray[keep], gate=gate[keep],
            gate_spacing=float(gate_spacing), ray_spacing=360.0 / n_rays, latitude=lat,
            longitude=lon, altitude=alt,
            sweep_geometry=(SweepGeometry(0, "ppi", float(elevation), 360.0 / n_rays,
                                          float(gate_spacing), True),)))
        truths.append(truth[keep])
    return radars, truths


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
