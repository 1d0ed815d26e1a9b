"""Several radars' volumes in latitude/longitude: ``network_features(frame="latlon", volume=True)``.

The neighbourhood documented in its docstring: gate q is in B(p) when the
great-circle angle between them is at most p's horizontal radius (an angle)
and their heights differ by at most p's vertical radius.  The brute force
below computes that with the haversine formula and the DBSCAN rules of
docs/semantics.rst, independently of gridscan.
"""

from dataclasses import replace

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import adjusted_rand_score

from gridscan import GridDBSCAN
from gridscan.radar import PolarPoints, SweepGeometry, make_radar_network, network_features
from gridscan.radar._features import HAVERSINE_EARTH_RADIUS_KM

SITES = [(35.0, -97.7, 0.3), (35.0, -97.3036, 0.4)]       # 36 km apart
ELEVATIONS = [0.5, 1.5, 2.5]
N_RAYS, N_GATES, GATE_SPACING = 180, 240, 0.5


def radar_volumes(sites):
    """(radars, truths): one volume of ELEVATIONS per site, sampling the same echoes.

    make_radar_network draws the scene before it samples it, so one seed gives
    the same echoes at every elevation: its sweeps, renumbered, are a volume.
    """
    sweeps = [make_radar_network(sites, n_rays=N_RAYS, n_gates=N_GATES,
                                 gate_spacing=GATE_SPACING, elevation=elevation, random_state=0)
              for elevation in ELEVATIONS]
    radars, truths = [], []
    for r in range(len(sites)):
        parts = []
        for k, (elevation, (points, _)) in enumerate(zip(ELEVATIONS, sweeps, strict=True)):
            one = points[r]
            parts.append(replace(
                one, sweep=np.full(len(one), k), ray=one.ray + k * N_RAYS,
                sweep_geometry=(SweepGeometry(k, "ppi", elevation, 360.0 / N_RAYS,
                                              GATE_SPACING, True),)))
        radars.append(PolarPoints.concatenate(parts))
        truths.append(np.concatenate([truth[r] for _, truth in sweeps]))
    return radars, truths


@pytest.fixture(scope="module")
def volumes():
    return radar_volumes(SITES)


def shared_echoes(truths, min_gates=30):
    """Echoes with at least min_gates gates in each radar's volume."""
    size = max(int(t.max()) + 1 for t in truths)
    counts = [np.bincount(t[t >= 0], minlength=size) for t in truths]
    return np.flatnonzero(np.minimum(*counts) >= min_gates)


def assert_one_cluster_per_echo(labels, truth, source, echoes):
    for echo in echoes:
        inside = labels[truth == echo]
        assert np.unique(inside).size == 1 and inside[0] >= 0, (echo, np.unique(inside))
        cluster = labels == inside[0]
        assert np.unique(source[cluster]).size == 2          # gates of both radars
        assert set(np.unique(truth[cluster])) <= {-1, echo}  # and no other echo


def great_circle(lat_a, lon_a, lat_b, lon_b):
    """Angle between points (radians in, radians out), by the haversine formula."""
    h = (np.sin((lat_b - lat_a) / 2) ** 2
         + np.cos(lat_a) * np.cos(lat_b) * np.sin((lon_b - lon_a) / 2) ** 2)
    return 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def cylinder_ratios(X, E):
    """(angle ratio, height ratio)[i, j] of gate j to the radii of gate i (<= 1: inside)."""
    lat, lon, height = X[:, 0], X[:, 1], X[:, 2]
    angle = great_circle(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    return angle / E[:, [0]], np.abs(height[None, :] - height[:, None]) / E[:, [2]]


def brute_force_labels(inside, min_samples, rule):
    """DBSCAN labels (docs/semantics.rst) from inside[i, j] = j in B(i)."""
    N = inside | inside.T if rule == "union" else inside
    core = N.sum(axis=1) >= min_samples
    labels = np.full(len(N), -1)
    core_idx = np.flatnonzero(core)
    edges = (N | N.T)[np.ix_(core_idx, core_idx)]
    _, component = connected_components(csr_matrix(edges), directed=False)
    number = {}
    for c in component:                   # core_idx ascending: clusters by smallest core row
        number.setdefault(c, len(number))
    labels[core_idx] = [number[c] for c in component]
    for q in np.flatnonzero(~core):
        owners = core_idx[N[core_idx, q]]
        if owners.size:
            labels[q] = labels[owners].min()
    return labels


def test_features_are_the_local_frames_radii_on_the_sphere(volumes):
    radars, _ = volumes
    latlon = network_features(radars, frame="latlon", volume=True)
    local = network_features(radars, frame="aeqd", volume=True)
    assert latlon.feature_names == ("latitude", "longitude", "height")
    assert (latlon.metric, latlon.window_features, latlon.periods) == ("haversine", [2], None)
    lat = np.concatenate([r.gate_latitude for r in radars])
    lon = np.concatenate([r.gate_longitude for r in radars])
    height = np.concatenate([r.gate_height for r in radars])
    np.testing.assert_allclose(latlon.X, np.column_stack([np.deg2rad(lat), np.deg2rad(lon),
                                                          height]))
    np.testing.assert_array_equal(local.X[:, 2], latlon.X[:, 2])
    # One angle for latitude and longitude: the local frame's horizontal radius over R.
    np.testing.assert_allclose(latlon.sample_eps[:, :2] * HAVERSINE_EARTH_RADIUS_KM,
                               local.sample_eps[:, :2])
    np.testing.assert_array_equal(latlon.sample_eps[:, 2], local.sample_eps[:, 2])
    assert latlon.estimator_params() == {"eps": 1.0, "window_features": [2],
                                         "metric": "haversine"}


def test_two_radar_volumes_give_one_cluster_per_echo(volumes):
    radars, truths = volumes
    truth = np.concatenate(truths)
    echoes = shared_echoes(truths)
    assert len(echoes) >= 8
    features = network_features(radars, frame="latlon", volume=True)
    labels = features.fit_predict(min_samples=15)
    assert_one_cluster_per_echo(labels, truth, features.source, echoes)
    # Across sweeps: an echo's cluster holds gates of every sweep of each radar.
    sweep = np.concatenate([r.sweep for r in radars])
    for echo in echoes:
        cluster = labels == labels[truth == echo][0]
        for k in range(2):
            assert set(sweep[cluster & (features.source == k)]) == {0, 1, 2}
    # The local frame's ellipsoid finds the same clusters on these well-separated echoes.
    local = network_features(radars, frame="aeqd", volume=True).fit_predict(min_samples=15)
    assert_one_cluster_per_echo(local, truth, features.source, echoes)
    assert adjusted_rand_score(local, labels) > 0.99


@pytest.fixture(scope="module")
def subsample(volumes):
    """(features, rows, angle ratios, height ratios) of 2,000 gates about one shared echo.

    The gates within 25 km of the middle of the largest echo both radars see
    (several sweeps each), thinned at random: cores, borders and noise occur.
    """
    radars, truths = volumes
    features = network_features(radars, frame="latlon", volume=True)
    truth = np.concatenate(truths)
    echo = max(shared_echoes(truths), key=lambda k: np.sum(truth == k))
    middle = features.X[truth == echo].mean(axis=0)
    near = great_circle(middle[0], middle[1], features.X[:, 0], features.X[:, 1]) \
        < 25.0 / HAVERSINE_EARTH_RADIUS_KM
    rows = np.sort(np.random.default_rng(1).choice(np.flatnonzero(near), 2000, replace=False))
    angle, height = cylinder_ratios(features.X[rows], features.sample_eps[rows])
    return features, rows, angle, height


@pytest.mark.parametrize("neighbors", ["union", "query"])
@pytest.mark.parametrize("stretch", [1.0, 4.0])
def test_labels_equal_the_great_circle_and_height_brute_force(subsample, stretch, neighbors):
    """The gates as they are, and with heights 4 times apart, where the height rule decides."""
    features, rows, angle, height = subsample
    X, E = features.X[rows].copy(), features.sample_eps[rows]
    X[:, 2] *= stretch
    height = height * stretch
    # No pair so close to a boundary that rounding could decide it.
    assert np.abs(angle - 1).min() > 1e-9 and np.abs(height - 1).min() > 1e-9
    inside = (angle <= 1) & (height <= 1)
    # Pairs that tell the definition apart: level neighbours refused by the
    # height rule, and pairs inside the cylinder but outside the ellipsoid.
    assert ((angle <= 1) & (height > 1)).sum() > 100
    assert (inside & (angle ** 2 + height ** 2 > 1)).sum() > 100
    min_samples = 6
    expected = brute_force_labels(inside, min_samples, neighbors)
    assert len(np.unique(expected)) > 3 and (expected == -1).any()
    if stretch > 1:
        # Here the labels depend on the height rule and on the cylinder's shape.
        assert not np.array_equal(expected, brute_force_labels(angle <= 1, min_samples,
                                                               neighbors))
        assert not np.array_equal(expected, brute_force_labels(
            angle ** 2 + height ** 2 <= 1, min_samples, neighbors))
    for algorithm in ("auto", "ball_tree"):
        labels = features.estimator(min_samples=min_samples, neighbors=neighbors,
                                    algorithm=algorithm).fit_predict(X, sample_eps=E)
        np.testing.assert_array_equal(labels, expected)


def test_radars_across_the_antimeridian():
    # The same pair of sites turned to straddle longitude 180.
    radars, truths = radar_volumes([(35.0, 179.8, 0.3), (35.0, -179.8036, 0.4)])
    features = network_features(radars, frame="latlon", volume=True)
    assert features.X[:, 1].min() < -3.1 and features.X[:, 1].max() > 3.1
    labels = features.fit_predict(min_samples=15)
    echoes = shared_echoes(truths)
    assert len(echoes) >= 8
    assert_one_cluster_per_echo(labels, np.concatenate(truths), features.source, echoes)


def test_bad_inputs_name_the_parameter_and_the_value(volumes):
    radars, _ = volumes
    with pytest.raises(ValueError, match=r"frame must be 'aeqd' or 'latlon'; got 'utm'"):
        network_features(radars, frame="utm", volume=True)
    with pytest.raises(ValueError, match=r"volume must be True or False; got 'yes'"):
        network_features(radars, frame="latlon", volume="yes")
    with pytest.raises(ValueError, match=r"points_list must be a sequence of PolarPoints, "
                                         r"one per radar; got PolarPoints"):
        network_features(radars[0], frame="latlon", volume=True)
    no_altitude = replace(radars[1], altitude=float("nan"))
    with pytest.raises(ValueError, match=r"points has no radar altitude \(got altitude=nan\)"):
        network_features([radars[0], no_altitude], frame="latlon", volume=True)
    # Without a height the ground features need no altitude.
    assert network_features([radars[0], no_altitude], frame="latlon").X.shape[1] == 2
    with pytest.raises(ValueError, match=r"beams must be a finite number > 0; got 0"):
        network_features(radars, frame="latlon", volume=True, beams=0)
    with pytest.raises(ValueError, match=r"min_eps must be a finite number >= 0; got -1.0"):
        network_features(radars, frame="latlon", volume=True, min_eps=-1.0)
    # The height must stay a window feature: haversine takes two features beside them.
    features = network_features(radars, frame="latlon", volume=True)
    with pytest.raises(ValueError, match="needs exactly two features besides the window"):
        GridDBSCAN(metric="haversine").fit(features.X, sample_eps=features.sample_eps)
