"""gridscan.radar geometry: gates on the WGS84 ellipsoid, sweep geometry, feature helpers.

Independent answers: pyproj's inverse geodesic and PROJ's ellipsoidal
azimuthal-equidistant projection for the gate positions, Py-ART's own
gate_latitude / gate_longitude / gate_altitude on the real NEXRAD files it
ships, the files' own ray angles for the spacings, and the synthetic
generators' known echoes for the clusters.
"""

import bz2
import os
import warnings
from dataclasses import replace

import numpy as np
import pytest
from pyproj import Geod, Transformer
from sklearn.metrics import adjusted_rand_score

os.environ.setdefault("PYART_QUIET", "1")
import pyart  # noqa: E402
import xradar  # noqa: E402

from gridscan import GridDBSCAN, RangeEps  # noqa: E402
from gridscan.radar import (  # noqa: E402
    HAVERSINE_EARTH_RADIUS_KM,
    NEXRAD_ELEVATIONS,
    PolarPoints,
    SweepGeometry,
    beam_eps,
    from_pyart,
    from_xradar,
    ground_features,
    make_radar_network,
    make_radar_scan,
    make_radar_volume,
    network_features,
    polar_features,
    polar_to_cartesian,
    ppi_features,
    volume_features,
)

pytestmark = pytest.mark.filterwarnings("ignore:Py-ART's .* module is deprecated:UserWarning")

WGS84 = Geod(ellps="WGS84")


def read(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyart.io.read(getattr(pyart.testing, name))


@pytest.fixture(scope="module")
def katx():
    """Py-ART's KATX level-2 volume (16 sweeps) by Py-ART, and decompressed by xradar."""
    return read("NEXRAD_ARCHIVE_MSG31_FILE")


@pytest.fixture(scope="module")
def katx_tree(tmp_path_factory):
    path = tmp_path_factory.mktemp("katx") / "KATX_msg31.ar2"
    with bz2.open(pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE) as compressed:
        path.write_bytes(compressed.read())
    return xradar.io.open_nexradlevel2_datatree(str(path))


def ground_distance_km(points):
    x, y, _ = polar_to_cartesian(points.range, points.azimuth, points.elevation)
    return np.hypot(x, y)


# ---------------------------------------------------------------- gates on the ellipsoid

def test_gate_positions_against_pyproj_inverse_and_proj_aeqd():
    points = from_pyart(read("NEXRAD_LEVEL3_MSG176"), "radar_estimated_rain_rate")[::7]
    s = ground_distance_km(points)
    # The inverse geodesic from the site: the gate's distance and bearing are the beam's.
    n = len(points)
    bearing, _, distance = WGS84.inv(np.full(n, points.longitude), np.full(n, points.latitude),
                                     points.gate_longitude, points.gate_latitude)
    far = s > 1.0
    np.testing.assert_allclose(distance / 1000.0, s, atol=1e-6)
    np.testing.assert_allclose(np.mod(bearing[far] - points.azimuth[far] + 180.0, 360.0) - 180.0,
                               0.0, atol=1e-7)
    # PROJ's ellipsoidal azimuthal equidistant projection about the site.
    aeqd = Transformer.from_crs(f"+proj=aeqd +lat_0={points.latitude} +lon_0={points.longitude} "
                                f"+ellps=WGS84 +units=km", "EPSG:4326", always_xy=True)
    lon, lat = aeqd.transform(s * np.sin(np.deg2rad(points.azimuth)),
                              s * np.cos(np.deg2rad(points.azimuth)))
    np.testing.assert_allclose(points.gate_latitude, lat, atol=1e-8)
    np.testing.assert_allclose(points.gate_longitude, lon, atol=1e-8)


def curvature_bound(latitudes, sphere_radius=6370997.0):
    """Largest relative difference between the sphere's radius and WGS84's radii of curvature.

    Py-ART puts gates on a sphere of radius 6370.997 km (azimuthal equidistant);
    gridscan on WGS84. A gate at distance s lands up to s times this apart.
    """
    a, f = 6378137.0, 1.0 / 298.257223563
    e2 = f * (2.0 - f)
    s2 = np.sin(np.deg2rad(latitudes)) ** 2
    meridian = a * (1.0 - e2) / (1.0 - e2 * s2) ** 1.5
    prime_vertical = a / np.sqrt(1.0 - e2 * s2)
    return float(np.max(np.maximum(np.abs(sphere_radius / meridian - 1.0),
                                   np.abs(sphere_radius / prime_vertical - 1.0))))


@pytest.mark.parametrize("name, field", [
    ("NEXRAD_LEVEL3_MSG176", "radar_estimated_rain_rate"),   # KLOT, 41.6 N
    ("NEXRAD_LEVEL3_MSG19", "reflectivity"),                 # 33.2 N
    ("NEXRAD_ARCHIVE_MSG31_FILE", "reflectivity"),           # KATX, 48.2 N, to 460 km
])
def test_gate_positions_against_pyart(name, field):
    """Within the difference of the two earth models: 0.27% to 0.32% of the distance here.

    Measured: at most 0.26% (KLOT), 0.27% (33 N) and 0.30% (KATX) of the
    ground distance, i.e. 0.6 km at 230 km and 1.35 km at 460 km.
    """
    radar = read(name)
    points = from_pyart(radar, field)
    points = points[::max(1, len(points) // 20000)]
    radar.init_gate_longitude_latitude()
    radar.init_gate_altitude()
    lat = radar.gate_latitude["data"][points.ray, points.gate]
    lon = radar.gate_longitude["data"][points.ray, points.gate]
    _, _, apart = WGS84.inv(points.gate_longitude, points.gate_latitude, lon, lat)
    s = ground_distance_km(points) * 1000.0
    band = np.linspace(points.gate_latitude.min(), points.gate_latitude.max(), 50)
    bound = curvature_bound(band)
    assert 0.0025 < bound < 0.0035
    assert np.all(apart <= bound * s + 0.5), float(np.max(apart - bound * s))
    # Heights: the same 4/3-earth model; Py-ART stores float32 (about 8 m at 100 km).
    height = radar.gate_altitude["data"][points.ray, points.gate] / 1000.0
    np.testing.assert_allclose(points.gate_height, height, rtol=2e-6, atol=2e-3)
    assert points.altitude == pytest.approx(radar.altitude["data"][0] / 1000.0)


def test_site_and_altitude_from_xradar_match_pyart(katx, katx_tree):
    from_tree = from_xradar(katx_tree["sweep_0"], "DBZH")
    from_radar = from_pyart(katx, "reflectivity", sweeps=0)
    for name in ("latitude", "longitude", "altitude"):
        assert getattr(from_tree, name) == pytest.approx(getattr(from_radar, name), abs=1e-6)
    assert from_tree.altitude == pytest.approx(0.195)


def test_gate_positions_need_the_site():
    points, _ = make_radar_scan(n_rays=36, n_gates=40, random_state=0)
    with pytest.raises(ValueError, match="points has no radar latitude / longitude"):
        _ = points.gate_latitude
    with pytest.raises(ValueError, match="altitude"):
        _ = replace(points, latitude=40.0, longitude=-100.0).gate_height


# ---------------------------------------------------------------- sweep geometry, readers

def test_volume_keeps_one_ray_spacing_per_sweep(katx):
    points = from_pyart(katx, "reflectivity")
    starts = katx.sweep_start_ray_index["data"]
    ends = katx.sweep_end_ray_index["data"]
    azimuth = katx.azimuth["data"]
    geometry = points.geometry()
    assert sorted(geometry) == list(range(16))
    for k in range(16):
        steps = np.abs(np.diff(azimuth[starts[k]:ends[k] + 1]))
        steps = np.minimum(steps, 360.0 - steps)
        assert geometry[k].mode == "ppi" and geometry[k].full_circle
        assert geometry[k].ray_spacing == pytest.approx(np.median(steps[steps > 0]))
        assert geometry[k].fixed_angle == pytest.approx(
            np.median(katx.elevation["data"][starts[k]:ends[k] + 1]))
    assert [round(geometry[k].ray_spacing, 1) for k in range(16)] == [0.5] * 4 + [1.0] * 12
    # The horizontal radius of volume_features follows each sweep's own spacing.
    radius = volume_features(points[::50]).sample_eps[:, 0]
    sub = points[::50]
    far = sub.range > 200
    for k, step in ((0, 0.5), (5, 1.0)):
        rows = far & (sub.sweep == k)
        np.testing.assert_allclose(radius[rows], 1.5 * sub.range[rows] * np.deg2rad(
            geometry[k].ray_spacing))
        assert geometry[k].ray_spacing == pytest.approx(step, abs=0.01)


def test_a_selection_of_a_volume_has_the_geometry_of_its_own_sweeps(katx):
    points = from_pyart(katx, "reflectivity", sweeps=[0, 5])
    one = points[points.sweep == 5]
    assert sorted(one.geometry()) == [5]
    features = polar_features(one)
    assert features.eps.min_eps[1] == pytest.approx(1.5 * one.geometry()[5].ray_spacing)
    assert beam_eps(one).base == pytest.approx(1.5 * np.deg2rad(one.geometry()[5].ray_spacing))


def test_from_xradar_takes_sweeps_like_from_pyart(katx, katx_tree):
    volume = from_xradar(katx_tree, "DBZH", sweeps=[0, 2, 5])
    parts = [from_xradar(katx_tree[f"sweep_{k}"], "DBZH") for k in (0, 2, 5)]
    joined = PolarPoints.concatenate(parts)
    for name in ("range", "azimuth", "elevation", "sweep", "ray", "gate"):
        np.testing.assert_array_equal(getattr(volume, name), getattr(joined, name))
    assert sorted(volume.geometry()) == [0, 2, 5]
    pyart_points = from_pyart(katx, "reflectivity", sweeps=[0, 2, 5])
    assert len(volume) == len(pyart_points)
    for k in (0, 2, 5):
        assert volume.geometry()[k].ray_spacing == pytest.approx(
            pyart_points.geometry()[k].ray_spacing, abs=1e-3)
    everything = from_xradar(katx_tree, "DBZH")
    assert sorted(everything.geometry()) == list(range(len(
        [name for name in katx_tree.children if name.startswith("sweep_")])))
    with pytest.raises(ValueError, match=r"sweeps must be sweep positions in \[0, 16\)"):
        from_xradar(katx_tree, "DBZH", sweeps=16)
    with pytest.raises(ValueError, match="sweeps must be None for a single sweep"):
        from_xradar(katx_tree["sweep_0"], "DBZH", sweeps=0)


def test_concatenate_checks_radar_and_geometry():
    points, _ = make_radar_scan(n_rays=90, n_gates=100, random_state=0)
    near, far = points[points.range < 10], points[points.range >= 10]
    joined = PolarPoints.concatenate([near, far])
    assert len(joined) == len(points)
    np.testing.assert_array_equal(np.sort(joined.range), np.sort(points.range))
    with pytest.raises(ValueError, match="parts must come from one radar; got latitude"):
        PolarPoints.concatenate([replace(near, latitude=1.0), far])
    other = replace(far, sweep_geometry=(SweepGeometry(0, "ppi", 0.5, 2.0, 0.5, True),))
    with pytest.raises(ValueError, match="sweep 0 has two geometries"):
        PolarPoints.concatenate([near, other])
    with pytest.raises(ValueError, match="parts must be a non-empty sequence of PolarPoints"):
        PolarPoints.concatenate([])


@pytest.mark.parametrize("name, field", [("CFRADIAL_RHI_FILE", "reflectivity_horizontal"),
                                         ("SIGMET_RHI_FILE", "reflectivity")])
def test_rhi_scans_get_their_own_geometry_and_clear_errors(name, field):
    radar = read(name)
    points = from_pyart(radar, field)
    (record,) = points.sweep_geometry
    elevation = np.asarray(radar.elevation["data"], dtype=np.float64)
    steps = np.abs(np.diff(elevation))
    assert record.mode == "rhi"
    assert record.ray_spacing == pytest.approx(np.median(steps[steps > 0]))
    assert np.isfinite(record.ray_spacing) and record.ray_spacing > 0
    for function in (ground_features, polar_features, beam_eps):
        with pytest.raises(ValueError, match="RHI"):
            function(points)
    features = volume_features(points)
    assert np.all(np.isfinite(features.sample_eps)) and np.all(features.sample_eps > 0)
    # In an RHI the vertical step is the elevation step.
    far = points.range > 20
    np.testing.assert_allclose(features.sample_eps[far, 2], np.maximum(
        1.5 * record.gate_spacing, 1.5 * points.range[far] * np.deg2rad(record.ray_spacing)))


def test_single_ray_sweeps_are_refused_by_name():
    radar = read("CHL_RHI_FILE")   # two RHI sweeps of one ray each
    points = from_pyart(radar, "reflectivity")
    assert all(np.isnan(g.ray_spacing) for g in points.sweep_geometry)
    with pytest.raises(ValueError, match="sweep 0 has ray_spacing nan"):
        volume_features(points)


# ---------------------------------------------------------------- eps that fit real products

def test_beam_eps_floor_follows_the_gate_spacing_on_a_1km_product():
    """NEXRAD level-3 reflectivity (1 km gates), >= 20 dBZ, min_samples=8.

    A 1 km floor leaves many gates without their neighbours along the ray
    (measured: 21% noise, against 1.2% with a floor of 1.5 gate spacings).
    """
    points = from_pyart(read("NEXRAD_LEVEL3_MSG19"), "reflectivity", threshold=20)
    X = ppi_features(points)
    eps = beam_eps(points)
    assert eps.min_eps == pytest.approx(1.5 * points.gate_spacing)
    ring = (X[:, 2] >= 15) & (X[:, 2] <= 45)
    old = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8,
                     window_features=[2]).fit_predict(X)
    new = GridDBSCAN(eps=eps, min_samples=8, window_features=[2]).fit_predict(X)
    assert np.mean(old < 0) > 0.15 and np.mean(old[ring] < 0) > 10 * np.mean(new[ring] < 0)
    assert np.mean(new < 0) < 0.02 and np.mean(new[ring] < 0) < 0.02


def test_polar_eps_fits_the_9_degree_cfradial_sample():
    points = from_pyart(read("CFRADIAL_PPI_FILE"), "reflectivity_horizontal")
    assert points.ray_spacing == pytest.approx(9.0, abs=0.01)
    features = polar_features(points)
    radius = features.eps.evaluate(features.X)
    floor = max(1.0, 1.5 * points.gate_spacing)
    across = np.maximum(floor, 1.5 * points.range * np.deg2rad(points.ray_spacing))
    np.testing.assert_allclose(radius[:, 0], across)
    positive = points.range > 0
    np.testing.assert_allclose(radius[positive, 1], np.minimum(180.0, np.rad2deg(
        across[positive] / points.range[positive])))
    assert np.all(radius[~positive, 1] == 180.0)   # the gate at the radar: every azimuth
    # The fixed 1.5-degree recipe leaves most of this sample as noise; the ground helper none.
    fixed = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0],
                     min_eps=[1.5, 1.5], max_eps=[np.inf, 180.0])
    labels_fixed = GridDBSCAN(eps=fixed, min_samples=8).fit_predict(features.X)
    labels_ground = ground_features(points).fit_predict(min_samples=8)
    assert np.mean(labels_fixed < 0) > 0.5
    assert np.mean(labels_ground < 0) < 0.05


def test_range_eps_at_range_zero_names_the_fix_that_works():
    X = np.array([[0.0, 10.0], [5.0, 20.0]])
    model = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0], min_eps=[1.5, 1.5])
    with pytest.raises(ValueError, match="set max_eps for that feature") as info:
        model.evaluate(X)
    assert "offset > 0" in str(info.value)
    fixed = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0], min_eps=[1.5, 1.5],
                     max_eps=[np.inf, 180.0])
    np.testing.assert_allclose(fixed.evaluate(X), [[1.5, 180.0], [1.5, 18.0]])
    shifted = RangeEps(base=[1.5, 90.0], range_feature=0, power=[0.0, -1.0], offset=0.5)
    assert np.all(np.isfinite(shifted.evaluate(X)))
    with pytest.raises(ValueError, match="set min_eps > 0"):
        RangeEps(base=1.0, range_feature=0, power=1.0).evaluate(X)


# ---------------------------------------------------------------- one radar, features

def straddling_seeds(n=40):
    """Seeds of make_radar_scan whose echo crosses north, with that echo's label."""
    found = []
    for seed in range(n):
        points, truth = make_radar_scan(random_state=seed)
        for label in np.unique(truth[truth >= 0]):
            azimuth = points.azimuth[truth == label]
            if azimuth.min() < 10 and azimuth.max() > 350 and not (
                    (azimuth > 90) & (azimuth < 270)).any():
                found.append((seed, label))
    return found


def test_polar_features_keep_an_echo_across_north_whole():
    cases = straddling_seeds()[:6]
    assert cases
    for seed, label in cases:
        points, truth = make_radar_scan(random_state=seed)
        labels = polar_features(points).fit_predict(min_samples=8)
        inside = labels[truth == label]
        clustered = inside[inside >= 0]
        assert np.unique(clustered).size == 1, (seed, np.unique(clustered))
        assert clustered.size > 0.95 * inside.size
        ground = ground_features(points).fit_predict(min_samples=8)
        echo = truth >= 0
        assert adjusted_rand_score(ground[echo], labels[echo]) > 0.95


def test_polar_features_carry_their_periods():
    points, _ = make_radar_scan(n_rays=120, n_gates=160, random_state=1)
    features = polar_features(points)
    assert features.periods == [None, 360.0]
    assert features.estimator_params()["periods"] == [None, 360.0]
    assert features.estimator(min_samples=8).get_params()["periods"] == [None, 360.0]
    with pytest.raises(ValueError, match="polar_features takes one sweep"):
        polar_features(PolarPoints.concatenate([points, replace(
            points, sweep=np.ones_like(points.sweep))]))


def test_ground_features_equal_the_one_radar_recipe():
    points, truth = make_radar_scan(random_state=3)
    features = ground_features(points)
    np.testing.assert_array_equal(features.X, ppi_features(points))
    assert features.eps == beam_eps(points) and features.window_features == [2]
    labels = features.fit_predict(min_samples=8)
    expected = GridDBSCAN(eps=beam_eps(points), min_samples=8,
                          window_features=[2]).fit_predict(ppi_features(points))
    np.testing.assert_array_equal(labels, expected)


def test_ground_features_give_each_sweep_its_own_radius():
    fine, _ = make_radar_scan(n_rays=360, n_gates=200, random_state=0)
    coarse, _ = make_radar_scan(n_rays=120, n_gates=200, random_state=1)
    coarse = replace(coarse, sweep=np.ones_like(coarse.sweep), sweep_geometry=(
        SweepGeometry(1, "ppi", 0.5, 3.0, 0.25, True),))
    both = PolarPoints.concatenate([fine, coarse])
    with pytest.raises(ValueError, match="sweeps of different"):
        beam_eps(both)
    features = ground_features(both)
    ground = features.X[:, 2]
    step = np.where(both.sweep == 0, 1.0, 3.0)
    np.testing.assert_allclose(features.sample_eps,
                               np.maximum(1.0, 1.5 * ground * np.deg2rad(step)))


def test_volume_features_by_hand_and_one_cluster_per_echo():
    points, truth = make_radar_volume(n_rays=180, n_gates=240, gate_spacing=0.5,
                                      elevations=[0.5, 1.5, 2.5, 4.0], random_state=2)
    features = volume_features(points)
    x, y, z = polar_to_cartesian(points.range, points.azimuth, points.elevation)
    np.testing.assert_allclose(features.X, np.column_stack([x, y, z]))
    # Sweep 1.5: rays 2 degrees apart; its neighbours 1.0 degree below and above.
    gap = {0.5: 1.0, 1.5: 1.0, 2.5: 1.5, 4.0: 1.5}
    horizontal = np.maximum(0.75, 1.5 * points.range * np.deg2rad(2.0))
    vertical = np.maximum(0.75, 1.5 * points.range * np.deg2rad(
        np.maximum(2.0, [gap[e] for e in points.elevation])))
    np.testing.assert_allclose(features.sample_eps,
                               np.column_stack([horizontal, horizontal, vertical]))
    labels = features.fit_predict(min_samples=15)
    echo = truth >= 0
    assert adjusted_rand_score(truth[echo], labels[echo]) > 0.99
    by_sweep = np.concatenate([ground_features(points[points.sweep == k]).fit_predict(
        min_samples=8) + 1000 * k for k in range(4)])
    assert np.unique(labels[echo]).size < np.unique(by_sweep[echo]).size


# ---------------------------------------------------------------- several radars

SITES = [(35.0, -97.7), (35.0, -97.3036)]     # 36 km apart


@pytest.fixture(scope="module")
def network():
    return make_radar_network(SITES, n_rays=180, n_gates=240, gate_spacing=0.5,
                              random_state=0)


def assert_one_cluster_per_echo(labels, truth, source, seen_by_both):
    for echo in seen_by_both:
        inside = labels[truth == echo]
        assert np.unique(inside).size == 1 and inside[0] >= 0, (echo, np.unique(inside))
        assert np.unique(source[labels == inside[0]]).size == 2
        # ... and no other echo in it.
        assert set(np.unique(truth[labels == inside[0]])) <= {-1, echo}


def test_two_radars_give_one_cluster_per_echo(network):
    radars, truths = network
    features = network_features(radars)
    truth = np.concatenate(truths)
    both = sorted(set(truths[0][truths[0] >= 0]) & set(truths[1][truths[1] >= 0]))
    assert len(both) >= 8
    labels = features.fit_predict(min_samples=15)
    assert_one_cluster_per_echo(labels, truth, features.source, both)
    parts = features.split(labels)
    assert [len(p) for p in parts] == [len(r) for r in radars]
    # Distances in the frame are geodesic distances (the projection's error is tiny here).
    rng = np.random.default_rng(0)
    i, j = rng.integers(len(truth), size=(2, 2000))
    lat = np.concatenate([r.gate_latitude for r in radars])
    lon = np.concatenate([r.gate_longitude for r in radars])
    _, _, geodesic = WGS84.inv(lon[i], lat[i], lon[j], lat[j])
    planar = np.hypot(*(features.X[i] - features.X[j]).T)
    np.testing.assert_allclose(planar, geodesic / 1000.0, rtol=2e-3, atol=1e-3)


def test_each_radars_own_range_as_a_window_splits_shared_echoes(network):
    """The one-radar recipe on two radars: the window compares ranges from two sites."""
    radars, truths = network
    features = network_features(radars)
    own_range = np.concatenate([ppi_features(r)[:, 2] for r in radars])
    naive = GridDBSCAN(eps=beam_eps(radars[0]), min_samples=15, window_features=[2]).fit_predict(
        np.column_stack([features.X, own_range]))
    truth = np.concatenate(truths)
    both = sorted(set(truths[0][truths[0] >= 0]) & set(truths[1][truths[1] >= 0]))
    # Echoes seen by both radars that come out as one cluster holding gates of both:
    # measured 4 of 16 here (5 of 16 at full size); network_features gives all 16.
    whole = [k for k in both
             if np.unique(naive[truth == k]).size == 1 and naive[truth == k][0] >= 0
             and np.unique(features.source[naive == naive[truth == k][0]]).size == 2]
    assert len(whole) <= len(both) // 2


def test_two_radar_volumes_in_3d():
    radars = []
    truths = []
    for lat, lon in SITES:
        points, truth = make_radar_volume(n_rays=90, n_gates=120, gate_spacing=1.0,
                                          elevations=[0.5, 1.5], n_echoes=0, n_clutter=0,
                                          random_state=0, latitude=lat, longitude=lon,
                                          altitude=0.3)
        radars.append(points)
        truths.append(truth)
    features = network_features(radars, volume=True)
    assert features.feature_names == ("x", "y", "height")
    np.testing.assert_allclose(features.X[:, 2], np.concatenate([r.gate_height for r in radars]))
    assert features.sample_eps.shape == (len(features.X), 3)
    # In latitude/longitude too (tests/test_network_volume.py checks its neighbourhood).
    latlon = network_features(radars, volume=True, frame="latlon")
    assert latlon.feature_names == ("latitude", "longitude", "height")
    np.testing.assert_array_equal(latlon.X[:, 2], features.X[:, 2])


def test_network_features_errors(network):
    radars, _ = network
    bare, _ = make_radar_scan(n_rays=36, n_gates=40, random_state=0)
    with pytest.raises(ValueError, match="points has no radar latitude"):
        network_features([radars[0], bare])
    with pytest.raises(ValueError, match="frame must be 'aeqd' or 'latlon'; got 'utm'"):
        network_features(radars, frame="utm")
    with pytest.raises(ValueError, match=r"centre applies to frame='aeqd' only .*"
                                         r"got centre=\(40.0, -99.8\) with frame='latlon'"):
        network_features(radars, frame="latlon", centre=(40.0, -99.8))
    with pytest.raises(ValueError, match="points_list must hold at least one"):
        network_features([])
    latlon = network_features(radars, frame="latlon")
    assert latlon.metric == "haversine"
    aeqd = network_features(radars)
    np.testing.assert_allclose(latlon.sample_eps * HAVERSINE_EARTH_RADIUS_KM, aeqd.sample_eps)


def test_two_radars_in_latitude_longitude(network):
    radars, truths = network
    features = network_features(radars, frame="latlon")
    truth = np.concatenate(truths)
    both = sorted(set(truths[0][truths[0] >= 0]) & set(truths[1][truths[1] >= 0]))
    labels = features.fit_predict(min_samples=15)
    assert_one_cluster_per_echo(labels, truth, features.source, both)
    projected = network_features(radars).fit_predict(min_samples=15)
    assert adjusted_rand_score(projected, labels) > 0.99


def test_synthetic_network_and_volume_are_seeded_and_consistent(network):
    radars, truths = network
    again, again_truths = make_radar_network(SITES, n_rays=180, n_gates=240, gate_spacing=0.5,
                                             random_state=0)
    for a, b, ta, tb in zip(radars, again, truths, again_truths, strict=True):
        np.testing.assert_array_equal(a.range, b.range)
        np.testing.assert_array_equal(ta, tb)
    assert (radars[0].latitude, radars[0].longitude) == SITES[0]
    points, truth = make_radar_volume(n_rays=90, n_gates=100, random_state=0)
    assert sorted(points.geometry()) == list(range(len(NEXRAD_ELEVATIONS)))
    assert [g.fixed_angle for g in points.sweep_geometry] == list(NEXRAD_ELEVATIONS)
    # An echo is the same echo in every sweep that sees it: its gates lie under one dome.
    with pytest.raises(ValueError, match="elevations must be a non-empty sequence"):
        make_radar_volume(elevations=[])
    with pytest.raises(ValueError, match="sites must hold"):
        make_radar_network([(95.0, 0.0)])
