"""Synthetic data for examples and tests: a PPI sweep and a SuperDARN-style day."""

import numpy as np

from gridscan.radar._geometry import polar_to_cartesian
from gridscan.radar._points import PolarPoints, _is_real


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
