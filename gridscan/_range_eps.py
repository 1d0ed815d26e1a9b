"""RangeEps: a declarative eps model whose radii follow a range feature."""

import numbers

import numpy as np

from gridscan._eps_model import evaluate_range_eps
from gridscan._validation import effective_n_threads


class RangeEps:
    """Per-point eps that grows or shrinks with a range feature.

    ``eps[p, k] = clip(base[k] * (X[p, range_feature] + offset) ** power[k],
    min_eps[k], max_eps[k])``

    The model is data, not code: it is evaluated by compiled code, with no
    Python call per point, and it pickles as its parameters.

    Parameters
    ----------
    base : float or array-like of shape (n_features,)
        Radius at unit range, for every feature or per feature.
    range_feature : int or str
        Index (or DataFrame column name) of the feature holding the range.
    power : float or array-like of shape (n_features,)
        Exponent of the range, for every feature or per feature.  With -1 on
        an azimuth feature the angular radius shrinks as 1 / range, which keeps
        the arc length across the beam constant; 0 gives a constant radius.
    offset : float, default=0.0
        Added to the range before the power is taken.
    min_eps, max_eps : float or array-like of shape (n_features,), default=None
        Bounds the radii are clipped to; None means no bound.

    See Also
    --------
    GridDBSCAN : takes a RangeEps as its ``eps``.

    Notes
    -----
    When base, power and both bounds are scalars, every point gets one radius
    for all features (an isotropic neighbourhood), compared exactly as
    scikit-learn compares a constant eps. Otherwise each point's neighbourhood
    is an axis-aligned ellipsoid.

    Examples
    --------
    A radar detection at range r (km) and azimuth a (degrees): 1.5 km in range
    everywhere, and an azimuth window that shrinks as 1 / r, never below
    0.5 degrees.

    >>> import numpy as np
    >>> from gridscan import RangeEps
    >>> model = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0],
    ...                  min_eps=[1.5, 0.5])
    >>> model.evaluate(np.array([[10.0, 0.0], [100.0, 0.0], [1000.0, 0.0]]))
    array([[1.5, 9. ],
           [1.5, 0.9],
           [1.5, 0.5]])
    """

    def __init__(self, base, range_feature, power, offset=0.0, min_eps=None, max_eps=None):
        self.base = base
        self.range_feature = range_feature
        self.power = power
        self.offset = offset
        self.min_eps = min_eps
        self.max_eps = max_eps

    def __repr__(self):
        params = ", ".join(f"{name}={getattr(self, name)!r}" for name in _PARAMS)
        return f"RangeEps({params})"

    def __eq__(self, other):
        return type(other) is type(self) and all(
            np.array_equal(np.asarray(getattr(self, name), dtype=object),
                           np.asarray(getattr(other, name), dtype=object))
            for name in _PARAMS
        )

    __hash__ = None

    def _resolve_range_feature(self, n_features, feature_names=None):
        feature = self.range_feature
        if isinstance(feature, str):
            names = [] if feature_names is None else list(feature_names)
            if feature not in names:
                raise ValueError(
                    f"range_feature names column {feature!r}, which is not among the feature "
                    f"names {names or None}")
            return names.index(feature)
        if (isinstance(feature, numbers.Integral) and not isinstance(feature, bool)
                and -n_features <= feature < n_features):
            return int(feature) % n_features
        raise ValueError(
            f"range_feature must be a feature index in [0, {n_features}) or a column name; "
            f"got {feature!r}")

    def _vectors(self, n_features):
        """base, power, lo, hi as float64 vectors of one common length (1 or n_features)."""
        values = {
            "base": self.base,
            "power": self.power,
            "min_eps": -np.inf if self.min_eps is None else self.min_eps,
            "max_eps": np.inf if self.max_eps is None else self.max_eps,
        }
        arrays = {}
        for name, value in values.items():
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a float or an array of {n_features} floats; "
                                 f"got {value!r}") from None
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, n_features)):
                raise ValueError(f"{name} has shape {arr.shape}; expected a float or "
                                 f"({n_features},)")
            if np.isnan(arr).any():
                raise ValueError(f"{name} must not be NaN; got {value!r}")
            arrays[name] = arr.reshape(-1)
        if not np.all(np.isfinite(arrays["base"]) & (arrays["base"] > 0)):
            raise ValueError(f"base must be finite and > 0; got {self.base!r}")
        if not np.all(np.isfinite(arrays["power"])):
            raise ValueError(f"power must be finite; got {self.power!r}")
        if (not isinstance(self.offset, numbers.Real)) or not np.isfinite(self.offset):
            raise ValueError(f"offset must be a finite float; got {self.offset!r}")
        n_cols = max(len(a) for a in arrays.values())
        arrays = {k: np.ascontiguousarray(np.broadcast_to(a, n_cols)) for k, a in arrays.items()}
        if np.any(arrays["min_eps"] > arrays["max_eps"]):
            raise ValueError(f"min_eps must not exceed max_eps; got min_eps={self.min_eps!r}, "
                             f"max_eps={self.max_eps!r}")
        return arrays["base"], arrays["power"], arrays["min_eps"], arrays["max_eps"]

    def evaluate(self, X, feature_names=None, n_jobs=None):
        """Eps table of X: shape (n, 1) for scalar parameters, else (n, n_features).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Points, float32 or float64.
        feature_names : array-like of str, default=None
            Column names, to resolve a ``range_feature`` given by name.
        n_jobs : int, default=None
            Threads for the evaluation, as in GridDBSCAN (None: OpenMP's default).

        Returns
        -------
        eps : ndarray of shape (n_samples, 1) or (n_samples, n_features)

        Raises
        ------
        ValueError
            If the model gives an eps that is not finite and > 0 on some row.
        """
        X = np.ascontiguousarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D; got shape {X.shape}")
        range_feature = self._resolve_range_feature(X.shape[1], feature_names)
        base, power, lo, hi = self._vectors(X.shape[1])
        out = np.empty((X.shape[0], base.shape[0]))
        bad_row, bad_col = evaluate_range_eps(X, range_feature, base, power, float(self.offset),
                                              lo, hi, out,
                                              effective_n_threads(n_jobs, X.shape[0]))
        if bad_row >= 0:
            value = out[bad_row, bad_col]
            if np.isinf(value):
                # A negative power at range + offset == 0 gives 1 / 0; min_eps cannot clip
                # an infinity, max_eps can.
                fix = ("set max_eps for that feature (it clips the infinite radius of a "
                       "negative power at range + offset = 0) or an offset > 0 (so that "
                       "range + offset > 0)")
            else:
                fix = "set min_eps > 0 for that feature (it clips the radius from below)"
            raise ValueError(
                f"eps model {self!r} gives eps[{bad_row}, {bad_col}] = {value!r} "
                f"at range X[{bad_row}, {range_feature}] = {X[bad_row, range_feature]!r}; "
                f"every eps must be finite and > 0: {fix}")
        return out


_PARAMS = ("base", "range_feature", "power", "offset", "min_eps", "max_eps")
