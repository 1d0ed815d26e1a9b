"""The estimator's features as an index sees them: periodic features and the sphere.

An estimator's neighbourhood is defined on its own features (docs/semantics.rst):
a periodic feature compares values by their minimum image, and
``metric="haversine"`` compares (latitude, longitude) by the great-circle angle.
The indexes know plain coordinates under a compiled metric, plus periodic
features (SpatialIndex.set_periods).  A FeatureSpace maps one onto the other,
exactly:

- periodic features keep their column; values are taken modulo the period
  (``wrap``) and the index compares them by the minimum image;
- haversine: latitude and longitude become the point on the unit sphere
  (x, y, z), and an angle eps becomes the chord ``2 sin(eps / 2)`` (the chord
  grows with the angle up to pi, so the comparison is the same one), under the
  euclidean metric; window features follow as they are.
"""

from typing import NamedTuple

import numpy as np

from gridscan._validation import period_array, resolve_metric, window_mask, wrap_periodic


class FeatureSpace(NamedTuple):
    metric: str               # the index's compiled metric
    p: float                  # its Minkowski power
    window: np.ndarray        # (d_index,) uint8 window mask of the index's coordinates
    periods: object           # (d_index,) float64 periods of the index's coordinates, or None
    feature_periods: object   # (d,) float64 periods of the estimator's features, or None
    sphere: object            # (latitude, longitude) feature positions for haversine, or None
    beside: object            # for haversine: positions of the window features beside them

    @classmethod
    def of(cls, metric, p, window_features, periods, n_features, feature_names=None):
        """The space of an estimator's parameters on data of n_features columns."""
        window = window_mask(window_features, n_features, feature_names)
        feature_periods = period_array(periods, n_features, feature_names)
        if metric != "haversine":
            metric, p = resolve_metric(metric, p)
            return cls(metric, p, window, feature_periods, feature_periods, None, None)
        angles = np.flatnonzero(window == 0)
        if angles.shape[0] != 2:
            raise ValueError(
                "metric='haversine' needs exactly two features besides the window features "
                f"(latitude, longitude in radians); got {angles.shape[0]} of {n_features}")
        if feature_periods is not None and np.any(feature_periods[angles] > 0):
            raise ValueError(
                "periods must leave latitude and longitude to metric='haversine' (it wraps "
                f"longitude itself); got periods {feature_periods.tolist()}")
        others = np.flatnonzero(window)
        index_window = np.concatenate([np.zeros(3, dtype=np.uint8), window[others]])
        index_periods = None
        if feature_periods is not None:
            index_periods = np.concatenate([np.zeros(3), feature_periods[others]])
        return cls("euclidean", 2.0, index_window, index_periods, feature_periods,
                   (int(angles[0]), int(angles[1])), others)

    def wrap(self, X, name="X"):
        """X as the neighbourhood reads it: periodic features modulo their period.

        For haversine the latitudes are checked (radians, within [-pi/2, pi/2]).
        """
        if self.sphere is not None:
            latitude = X[:, self.sphere[0]]
            bad = np.abs(latitude) > np.pi / 2
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"metric='haversine' takes latitude in radians within [-pi/2, pi/2] "
                    f"(feature {self.sphere[0]}); got {name}[{row}, {self.sphere[0]}] = "
                    f"{float(latitude[row])!r}")
        if self.feature_periods is None:
            return X
        return wrap_periodic(X, self.feature_periods)

    def points(self, X):
        """Index coordinates of wrapped points X (float64 on the sphere)."""
        if self.sphere is None:
            return X
        latitude = X[:, self.sphere[0]].astype(np.float64)
        longitude = X[:, self.sphere[1]].astype(np.float64)
        others = X[:, self.beside]
        cos_latitude = np.cos(latitude)
        return np.ascontiguousarray(np.column_stack([
            cos_latitude * np.cos(longitude), cos_latitude * np.sin(longitude),
            np.sin(latitude), others.astype(np.float64)]))

    def eps(self, table):
        """Index eps rows of a feature eps table (1 or n rows, 1 or d columns)."""
        if self.sphere is None:
            return table
        lat, lon = self.sphere
        if table.shape[1] == 1:
            angle, others = table[:, 0], np.repeat(table, self.beside.shape[0], 1)
        else:
            if not np.array_equal(table[:, lat], table[:, lon]):
                row = int(np.flatnonzero(table[:, lat] != table[:, lon])[0])
                raise ValueError(
                    "metric='haversine' takes one angle eps for latitude and longitude; got "
                    f"{table[row, lat]!r} and {table[row, lon]!r} (eps row {row})")
            angle, others = table[:, lat], table[:, self.beside]
        # From pi on, every point is in reach: the chord's bound (2) plus rounding.
        chord = np.where(angle >= np.pi, 2.0 + 1e-9, 2.0 * np.sin(np.minimum(angle, np.pi) / 2))
        if others.shape[1] == 0:
            return np.ascontiguousarray(chord.reshape(-1, 1))
        return np.ascontiguousarray(np.column_stack([np.repeat(chord[:, None], 3, 1), others]))

