"""Readers: Py-ART radars and xradar sweeps -> PolarPoints."""

import re

import numpy as np

from gridscan.radar._points import (
    PolarPoints,
    SweepGeometry,
    _is_real,
    _require_attributes,
    _typical_step,
)

_METRES_UNITS = {"m", "meter", "meters", "metre", "metres"}


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
        One point per kept gate; range in km (Py-ART stores metres); ``time``
        the rays' times (from ``radar.time``, "seconds since ..."), and
        ``latitude``, ``longitude`` the radar's position.

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
    _require_attributes(radar, ("fields", "range", "azimuth", "elevation"), "radar",
                        "a Py-ART Radar (or an object with its attributes)")
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
    gate_spacing = _typical_step(range_km)
    modes = getattr(radar, "sweep_mode", None)
    geometry = tuple(
        _sweep_geometry(int(numbers[k]), azimuth[starts[k]:ends[k] + 1],
                        elevation[starts[k]:ends[k] + 1], gate_spacing,
                        None if modes is None else _mode_hint(modes["data"][k]))
        for k in sorted(chosen.tolist(), key=lambda k: int(numbers[k])))
    times = _ray_times(radar, n_rays)
    return PolarPoints(
        range=range_km[gate],
        azimuth=azimuth[ray],
        elevation=elevation[ray],
        value=np.ma.getdata(data)[ray, gate],
        sweep=ray_sweep[ray],
        ray=ray,
        gate=gate,
        gate_spacing=gate_spacing,
        ray_spacing=_typical_step(azimuth[selected_rays], period=360.0),
        time=None if times is None else times[ray],
        latitude=_site_value(getattr(radar, "latitude", None)),
        longitude=_site_value(getattr(radar, "longitude", None)),
        altitude=_site_value(getattr(radar, "altitude", None)) / 1000.0,
        sweep_geometry=geometry,
    )


def _mode_hint(value):
    """'ppi', 'rhi' or None from a CF/Radial sweep_mode entry (str, bytes or char array)."""
    if isinstance(value, bytes):
        text = value.decode("ascii", "ignore")
    elif isinstance(value, str):
        text = value
    else:
        chars = np.ma.filled(np.ma.asarray(value).ravel(), b"")
        text = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chars.tolist())
        text = text.decode("ascii", "ignore")
    text = text.strip().lower()
    if "rhi" in text or "elevation_surveillance" in text or "vertical_pointing" in text:
        return "rhi"
    if "azimuth_surveillance" in text or "sector" in text or "ppi" in text:
        return "ppi"
    return None


def _circular_extent(azimuth):
    """Degrees of the circle the azimuths cover: 360 less the widest gap between them."""
    values = np.sort(np.mod(np.asarray(azimuth, dtype=np.float64), 360.0))
    if values.size < 2:
        return 0.0
    gaps = np.diff(np.concatenate([values, values[:1] + 360.0]))
    return float(360.0 - gaps.max())


def _sweep_geometry(number, azimuth, elevation, gate_spacing, hint=None):
    """The SweepGeometry of one sweep from all its rays' azimuth and elevation.

    The mode is the file's sweep_mode when it says; otherwise the angle that
    moves more between rays is the scanned one (azimuth: PPI, elevation: RHI).
    """
    azimuth = np.asarray(azimuth, dtype=np.float64)
    elevation = np.asarray(elevation, dtype=np.float64)
    extent = _circular_extent(azimuth)
    spread = float(np.ptp(elevation)) if elevation.size else 0.0
    mode = hint or ("rhi" if spread > extent else "ppi")
    if mode == "rhi":
        angle = np.deg2rad(azimuth)
        fixed = float(np.mod(np.rad2deg(np.arctan2(np.sin(angle).mean(),
                                                   np.cos(angle).mean())), 360.0))
        return SweepGeometry(number, "rhi", fixed, _typical_step(elevation),
                             float(gate_spacing), False)
    step = _typical_step(azimuth, period=360.0)
    full = bool(np.isfinite(step) and extent + 1.5 * step >= 360.0)
    return SweepGeometry(number, "ppi", float(np.median(elevation)) if elevation.size else
                         float("nan"), step, float(gate_spacing), full)


def _site_value(attribute):
    """The first value of a Py-ART position dict (or an xarray variable), nan if absent."""
    if attribute is None:
        return float("nan")
    values = attribute["data"] if isinstance(attribute, dict) else getattr(attribute, "values",
                                                                          attribute)
    values = np.ravel(np.asarray(values, dtype=np.float64))
    return float(values[0]) if values.size else float("nan")


_TIME_UNITS = re.compile(r"^\s*seconds\s+since\s+(.+?)\s*$")


def _ray_times(radar, n_rays):
    """Time of every ray as datetime64[ns] from Py-ART's ``time``, or None if unreadable."""
    time = getattr(radar, "time", None)
    if not isinstance(time, dict) or "data" not in time:
        return None
    match = _TIME_UNITS.match(str(time.get("units", "")))
    seconds = np.asarray(time["data"], dtype=np.float64).reshape(-1)
    if match is None or seconds.shape != (n_rays,) or not np.all(np.isfinite(seconds)):
        return None
    try:
        import pandas as pd

        epoch = pd.Timestamp(match.group(1))
    except (ImportError, ValueError):
        return None
    if epoch.tzinfo is not None:
        epoch = epoch.tz_convert("UTC").tz_localize(None)
    return epoch.to_datetime64() + np.round(seconds * 1e9).astype("timedelta64[ns]")


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


def from_xradar(sweep, field, *, threshold=None, sweeps=None):
    """Gates of an xradar sweep, or of several sweeps of a volume, as point arrays.

    Parameters
    ----------
    sweep : xarray.Dataset or xarray.DataTree
        One sweep as xradar opens it, e.g. ``tree["sweep_0"]``: a variable
        with dimensions (azimuth, range), an ``azimuth`` coordinate in
        degrees, an ``elevation`` coordinate along azimuth and a ``range``
        coordinate in metres (its ``units`` attribute is honoured). Or the
        whole volume, the DataTree xradar opens (children ``sweep_0``,
        ``sweep_1``, ...): then ``sweeps`` chooses among them.
    field : str
        Name of the variable, for example ``"DBZH"``.
    threshold : float, default=None
        Keep gates whose value is >= threshold; NaN gates are always dropped.
    sweeps : int or sequence of int, default=None
        For a volume: positions of the sweeps to read (0-based, in the
        order of the ``sweep_k`` children, as :func:`from_pyart`'s
        ``sweeps``); None reads all. Must be None for a single sweep.

    Returns
    -------
    points : PolarPoints
        One point per kept gate; range in km; ``ray`` is the position along
        the sweep's azimuth dimension; ``sweep`` the sweep's ``sweep_number``
        (its position in the volume when absent); ``time`` the rays' times
        and ``latitude``, ``longitude``, ``altitude`` the radar's position
        when the sweep (or, in a DataTree, its root) has them;
        ``sweep_geometry`` one record per sweep read.

    Raises
    ------
    ValueError
        If the variable does not exist or lacks the azimuth and range
        dimensions, or ``sweeps`` names a sweep the volume does not have.

    See Also
    --------
    from_pyart : the same for a Py-ART radar.
    PolarPoints.concatenate : joins sweeps read one at a time.

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
    _require_attributes(sweep, ("data_vars", "variables"), "sweep",
                        "an xarray Dataset or DataTree of one sweep")
    children = getattr(sweep, "children", None) or {}
    names = sorted((name for name in children if re.fullmatch(r"sweep_\d+", name)),
                   key=lambda name: int(name.split("_")[1]))
    if not names:
        if sweeps is not None:
            raise ValueError(f"sweeps must be None for a single sweep; got {sweeps!r}. "
                             f"Pass the volume's DataTree to choose sweeps")
        return _from_xradar_sweep(sweep, field, threshold, 0)
    if sweeps is None:
        chosen = list(range(len(names)))
    else:
        chosen = np.atleast_1d(np.asarray(sweeps))
        if (chosen.dtype.kind not in "iu" or chosen.size == 0 or chosen.min() < 0
                or chosen.max() >= len(names)):
            raise ValueError(f"sweeps must be sweep positions in [0, {len(names)}) (the "
                             f"volume's {', '.join(names)}); got {sweeps!r}")
        chosen = list(dict.fromkeys(chosen.tolist()))
    parts = [_from_xradar_sweep(sweep[names[k]], field, threshold, k) for k in chosen]
    return parts[0] if len(parts) == 1 else PolarPoints.concatenate(parts)


def _from_xradar_sweep(sweep, field, threshold, position):
    """One sweep (Dataset or DataTree node) -> PolarPoints."""
    site = sweep
    if hasattr(sweep, "to_dataset"):
        # In an xradar DataTree the radar's position lives in the root node.
        if "latitude" not in sweep.variables and hasattr(sweep, "root"):
            site = sweep.root
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
    number = int(sweep["sweep_number"].values) if "sweep_number" in sweep else position

    data = _field_data(field, variable.values)
    keep = _keep_mask(data, threshold)
    ray, gate = np.nonzero(keep)
    _check_coordinates(range_km, azimuth, elevation, ray, gate)
    times = None
    if "time" in sweep.variables and sweep["time"].dims == ("azimuth",) \
            and np.issubdtype(sweep["time"].dtype, np.datetime64):
        times = sweep["time"].values.astype("datetime64[ns]")[ray]
    hint = _mode_hint(str(sweep["sweep_mode"].values)) if "sweep_mode" in sweep else None
    gate_spacing = _typical_step(range_km)

    def position_of(name):
        return _site_value(site[name]) if name in site.variables else float("nan")

    return PolarPoints(
        range=range_km[gate],
        azimuth=azimuth[ray],
        elevation=elevation[ray],
        value=data[ray, gate],
        sweep=np.full(ray.shape, number, dtype=np.intp),
        ray=ray,
        gate=gate,
        gate_spacing=gate_spacing,
        ray_spacing=_typical_step(azimuth, period=360.0),
        time=times,
        latitude=position_of("latitude"),
        longitude=position_of("longitude"),
        altitude=position_of("altitude") / 1000.0,
        sweep_geometry=(_sweep_geometry(number, azimuth, elevation, gate_spacing, hint),),
    )
