"""The point container the readers and generators return: PolarPoints."""

import numbers
from dataclasses import dataclass, fields

import numpy as np


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
        cluster centroids with it.

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
