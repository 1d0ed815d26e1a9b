"""gridscan.radar: readers on real radar files, beam geometry, synthetic data, SuperDARN tables."""

import bz2
import doctest
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN

os.environ.setdefault("PYART_QUIET", "1")
import pyart  # noqa: E402
import xradar  # noqa: E402
from pyart.io.nexrad_level3 import NEXRADLevel3File  # noqa: E402

import gridscan.radar  # noqa: E402
from gridscan import GridDBSCAN  # noqa: E402
from gridscan.radar import (  # noqa: E402
    PolarPoints,
    beam_eps,
    cartesian_to_polar,
    from_pyart,
    from_xradar,
    make_radar_scan,
    make_superdarn_table,
    polar_to_cartesian,
    ppi_features,
    superdarn_cells,
)

# Py-ART steers users of its level-2 and CfRadial readers to xradar; both are compared here.
pytestmark = pytest.mark.filterwarnings("ignore:Py-ART's .* module is deprecated:UserWarning")

LEVEL3 = pyart.testing.NEXRAD_LEVEL3_MSG176
RAIN_RATE = "radar_estimated_rain_rate"


# ---------------------------------------------------------------- Py-ART reader, level 3

@pytest.fixture(scope="module")
def level3():
    """The KLOT rain-rate sweep through Py-ART's reader, and the raw file object."""
    return pyart.io.read_nexrad_level3(LEVEL3), NEXRADLevel3File(LEVEL3)


@pytest.mark.parametrize("threshold", [None, 0.1, 1.0])
def test_from_pyart_level3_counts_and_coordinates(level3, threshold):
    radar, raw = level3
    header = raw.packet_header
    assert (header["nradials"], header["nbins"]) == (360, 920)

    points = from_pyart(radar, RAIN_RATE, threshold=threshold)

    # The gates kept, computed from the file's own decoded data.
    data = raw.get_data()
    keep = ~np.ma.getmaskarray(data)
    if threshold is not None:
        keep &= np.ma.getdata(data) >= threshold
    ray, gate = np.nonzero(keep)
    assert len(points) == keep.sum() > 0
    np.testing.assert_array_equal(points.ray, ray)
    np.testing.assert_array_equal(points.gate, gate)
    np.testing.assert_array_equal(points.value, np.ma.getdata(data)[ray, gate])
    if threshold is not None:
        assert points.value.min() >= threshold

    # Coordinates against the file's headers: km from the first bin and the bin spacing,
    # azimuths of the radials, the product's elevation.
    assert points.ray.max() < header["nradials"] and points.gate.max() < header["nbins"]
    first_bin_km = header["first_bin"] / 1000.0
    np.testing.assert_allclose(points.range, first_bin_km + 0.25 * points.gate, rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(points.range, raw.get_range()[points.gate] / 1000.0)
    np.testing.assert_array_equal(points.azimuth, raw.get_azimuth()[points.ray])
    np.testing.assert_array_equal(points.elevation, np.full(len(points), raw.get_elevation()))
    assert points.gate_spacing == 0.25 and points.ray_spacing == 1.0
    np.testing.assert_array_equal(points.sweep, 0)


def test_no_threshold_keeps_every_unmasked_gate(level3):
    radar, _ = level3
    assert len(from_pyart(radar, RAIN_RATE)) == np.ma.count(radar.fields[RAIN_RATE]["data"])
    assert len(from_pyart(radar, RAIN_RATE)) == 221715


def test_ppi_features_match_pyart_gate_positions(level3):
    """The ground projection agrees with Py-ART's own gate_x / gate_y (metres)."""
    radar, _ = level3
    points = from_pyart(radar, RAIN_RATE, threshold=0.5)
    X = ppi_features(points)
    gate_x = radar.gate_x["data"][points.ray, points.gate]
    gate_y = radar.gate_y["data"][points.ray, points.gate]
    # Py-ART keeps gate positions in float32: agreement to a few centimetres.
    np.testing.assert_allclose(X[:, 0] * 1000.0, gate_x, rtol=0, atol=0.1)
    np.testing.assert_allclose(X[:, 1] * 1000.0, gate_y, rtol=0, atol=0.1)
    np.testing.assert_allclose(X[:, 2], np.hypot(X[:, 0], X[:, 1]))


def test_from_pyart_duck_typed_object_and_metres():
    """Any object with Py-ART's attributes works; ranges in metres become km."""
    data = np.ma.masked_invalid([[1.0, np.nan, 3.0], [4.0, 5.0, -1.0]])
    radar = SimpleNamespace(
        fields={"dbz": {"data": data}},
        range={"data": np.array([500.0, 1500.0, 2500.0]), "units": "meters"},
        azimuth={"data": np.array([10.0, 11.0])},
        elevation={"data": np.array([0.5, 0.5])},
    )
    points = from_pyart(radar, "dbz", threshold=2.0)
    assert points.range.tolist() == [2.5, 0.5, 1.5]
    assert points.azimuth.tolist() == [10.0, 11.0, 11.0]
    assert points.value.tolist() == [3.0, 4.0, 5.0]
    assert (points.gate_spacing, points.ray_spacing) == (1.0, 1.0)


def test_from_pyart_errors(level3):
    radar, _ = level3
    with pytest.raises(ValueError, match="field 'reflectivity' not found; available fields: "
                                         "radar_estimated_rain_rate"):
        from_pyart(radar, "reflectivity")
    with pytest.raises(ValueError, match=r"sweeps must be sweep positions in \[0, 1\); got 3"):
        from_pyart(radar, RAIN_RATE, sweeps=3)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        from_pyart(radar, RAIN_RATE, threshold=np.nan)


# ---------------------------------------------------------------- level 2: Py-ART and xradar

def assert_same_gates(points, reference):
    """Same gates, values and positions; xradar sorts rays by azimuth, Py-ART keeps file order."""
    assert len(points) == len(reference)
    mine = np.lexsort((points.gate, points.azimuth))
    theirs = np.lexsort((reference.gate, reference.azimuth))
    np.testing.assert_array_equal(points.gate[mine], reference.gate[theirs])
    np.testing.assert_array_equal(points.azimuth[mine], reference.azimuth[theirs])
    np.testing.assert_allclose(points.range[mine], reference.range[theirs])
    np.testing.assert_allclose(points.elevation[mine], reference.elevation[theirs], atol=1e-5)
    np.testing.assert_allclose(points.value[mine], reference.value[theirs], rtol=1e-6)


@pytest.fixture(scope="module")
def level2(tmp_path_factory):
    """Py-ART's level-2 sample read by Py-ART and, decompressed, by xradar."""
    path = tmp_path_factory.mktemp("nexrad") / "KATX_msg31.ar2"
    with bz2.open(pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE) as compressed:
        path.write_bytes(compressed.read())
    return pyart.io.read_nexrad_archive(pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE), \
        xradar.io.open_nexradlevel2_datatree(str(path))


def test_from_xradar_level2_sweep_matches_file_metadata_and_pyart(level2):
    radar, tree = level2
    sweep = tree["sweep_0"].to_dataset()
    points = from_xradar(tree["sweep_0"], "DBZH")

    # Counts and coordinates from the sweep's own metadata.
    n_rays, n_gates = sweep.sizes["azimuth"], sweep.sizes["range"]
    assert (n_rays, n_gates) == (720, 1832)
    assert len(points) == int(np.isfinite(sweep["DBZH"].values).sum())
    first = float(sweep["range"].attrs["meters_to_center_of_first_gate"]) / 1000.0
    step = float(sweep["range"].attrs["meters_between_gates"]) / 1000.0
    np.testing.assert_allclose(points.range, first + step * points.gate, rtol=1e-6)
    np.testing.assert_array_equal(points.azimuth, sweep["azimuth"].values[points.ray])
    np.testing.assert_array_equal(points.elevation, sweep["elevation"].values[points.ray])
    assert points.gate_spacing == pytest.approx(step)
    assert points.ray_spacing == pytest.approx(0.5, abs=0.01)
    np.testing.assert_array_equal(points.sweep, 0)

    # The same sweep through Py-ART: the same gates at the same places.
    assert_same_gates(points, from_pyart(radar, "reflectivity", sweeps=0))


def test_from_pyart_selects_sweeps(level2):
    radar, _ = level2
    points = from_pyart(radar, "reflectivity", sweeps=[1, 3])
    starts = radar.sweep_start_ray_index["data"]
    ends = radar.sweep_end_ray_index["data"]
    data = radar.fields["reflectivity"]["data"]
    expected = sum(np.ma.count(data[starts[s]:ends[s] + 1]) for s in (1, 3))
    assert len(points) == expected
    assert set(np.unique(points.sweep)) == {1, 3}
    for s in (1, 3):
        rays = points.ray[points.sweep == s]
        assert rays.min() >= starts[s] and rays.max() <= ends[s]
    np.testing.assert_allclose(points.elevation,
                               radar.elevation["data"][points.ray])


def test_from_xradar_threshold_on_cfradial_file_matches_pyart():
    """A sweep with varied values: the threshold keeps the same gates in both readers."""
    path = pyart.testing.CFRADIAL_PPI_FILE
    tree = xradar.io.open_cfradial1_datatree(path)
    radar = pyart.io.read_cfradial(path)
    field = "reflectivity_horizontal"
    data = radar.fields[field]["data"]
    for threshold in (None, 0.0, 20.0):
        points = from_xradar(tree["sweep_0"], field, threshold=threshold)
        keep = ~np.ma.getmaskarray(data)
        if threshold is not None:
            keep &= np.ma.getdata(data) >= threshold
        assert 0 < len(points) == keep.sum()
        if threshold is not None:
            assert points.value.min() >= threshold
        assert_same_gates(points, from_pyart(radar, field, threshold=threshold))


def test_from_xradar_errors():
    import xarray as xr

    sweep = xr.Dataset({"DBZH": (("time", "range"), np.zeros((2, 3)))},
                       coords={"range": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="field 'VRADH' not found; available fields: DBZH"):
        from_xradar(sweep, "VRADH")
    with pytest.raises(ValueError, match=r"dimensions \('time', 'range'\); expected"):
        from_xradar(sweep, "DBZH")


# ---------------------------------------------------------------- geometry

def test_polar_to_cartesian_matches_pyart():
    r, az, el = np.meshgrid([0.0, 1.0, 50.0, 230.0, 460.0], [0.0, 45.0, 181.0, 359.5],
                            [0.0, 0.5, 4.0, 19.5])
    x, y, z = polar_to_cartesian(r, az, el)
    px, py, pz = pyart.core.antenna_to_cartesian(r, az, el)
    np.testing.assert_allclose(x * 1000.0, px, atol=1e-6)
    np.testing.assert_allclose(y * 1000.0, py, atol=1e-6)
    np.testing.assert_allclose(z * 1000.0, pz, atol=1e-6)


def test_cartesian_to_polar_inverts_the_beam_model():
    rng = np.random.default_rng(0)
    r = rng.uniform(0.1, 450.0, 500)
    az = rng.uniform(0.0, 360.0, 500)
    el = rng.uniform(-0.5, 30.0, 500)
    back = cartesian_to_polar(*polar_to_cartesian(r, az, el))
    np.testing.assert_allclose(back[0], r, rtol=1e-9)
    np.testing.assert_allclose(back[1], az, atol=1e-9)
    np.testing.assert_allclose(back[2], el, atol=1e-9)
    # 100 km east along the ground at zero height: the straight beam (a chord of the
    # effective earth) is a little shorter than the arc, and points below the horizon.
    r0, az0, el0 = cartesian_to_polar(100.0, 0.0, 0.0)
    big_r = 6371.0 * 4.0 / 3.0
    assert az0 == 90.0
    assert r0 == pytest.approx(2.0 * big_r * np.sin(50.0 / big_r), rel=1e-12)
    assert el0 == pytest.approx(-np.degrees(50.0 / big_r), rel=1e-9)


def test_beam_eps_neighbourhood_is_the_ground_disc():
    """GridDBSCAN with ppi_features + beam_eps equals DBSCAN on the union-rule matrix."""
    points, _ = make_radar_scan(n_rays=120, n_gates=100, n_echoes=3, n_clutter=1,
                                random_state=4)
    X = ppi_features(points)
    eps = np.maximum(1.0, 1.5 * np.radians(3.0) * X[:, 2])
    distance = np.hypot(X[:, None, 0] - X[None, :, 0], X[:, None, 1] - X[None, :, 1])
    near = distance <= np.maximum(eps[:, None], eps[None, :])
    expected = DBSCAN(eps=0.5, min_samples=6, metric="precomputed").fit_predict(
        np.where(near, 0.0, 1.0))
    labels = GridDBSCAN(eps=beam_eps(3.0), min_samples=6, window_features=[2]).fit_predict(X)
    assert expected.max() >= 2
    np.testing.assert_array_equal(labels, expected)


def test_beam_eps_errors():
    with pytest.raises(ValueError, match="beam_width must be a number > 0; got -1"):
        beam_eps(-1)
    points, _ = make_radar_scan(n_rays=36, n_gates=40, random_state=0)
    with pytest.raises(ValueError, match="beam_width holds no gates"):
        beam_eps(points[np.zeros(len(points), dtype=bool)])


# ---------------------------------------------------------------- synthetic scan

def test_make_radar_scan_is_seeded_and_structured():
    points, truth = make_radar_scan(n_rays=180, n_gates=240, random_state=3)
    again, truth_again = make_radar_scan(n_rays=180, n_gates=240, random_state=3)
    other, _ = make_radar_scan(n_rays=180, n_gates=240, random_state=4)
    np.testing.assert_array_equal(points.value, again.value)
    np.testing.assert_array_equal(truth, truth_again)
    assert len(other) != len(points) or not np.array_equal(other.gate, points.gate)

    # Grid geometry: gate centres at (i + 0.5) * 0.25 km, rays every 2 degrees.
    np.testing.assert_allclose(points.range, (points.gate + 0.5) * 0.25)
    np.testing.assert_allclose(points.azimuth, (points.ray + 0.5) * 2.0)
    order = np.lexsort((points.gate, points.ray))
    np.testing.assert_array_equal(order, np.arange(len(points)))
    # Every echo and clutter patch is present; speckle fills about 1% of the free gates.
    assert set(np.unique(truth)) == set(range(-1, 14))
    free_gates = 180 * 240 - np.count_nonzero(truth >= 0) / 0.85
    assert 0.006 < np.count_nonzero(truth < 0) / free_gates < 0.014
    # Clutter (labels 10..13) lies within the first fifth of the range plus its size.
    assert points.range[truth >= 10].max() < 0.2 * 60.0 + 3.0


def test_make_radar_scan_is_clustered_back():
    points, truth = make_radar_scan(random_state=0)
    labels = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8,
                        window_features=[2]).fit_predict(ppi_features(points))
    # Each echo is found as (mostly) one cluster: its most common label covers 95%.
    for echo in range(14):
        found = labels[truth == echo]
        assert np.bincount(found[found >= 0]).max() >= 0.95 * found.size


@pytest.mark.parametrize("kwargs, message", [
    ({"n_rays": 0}, "n_rays must be an integer >= 1; got 0"),
    ({"fill": 0.0}, r"fill must be in \(0, 1\]; got 0.0"),
    ({"speckle": 1.0}, r"speckle must be in \[0, 1\); got 1.0"),
])
def test_make_radar_scan_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_radar_scan(**kwargs)


def test_polar_points_subset_and_frame():
    points, truth = make_radar_scan(n_rays=90, n_gates=80, random_state=0)
    echoes = points[truth >= 0]
    assert isinstance(echoes, PolarPoints) and len(echoes) == np.count_nonzero(truth >= 0)
    np.testing.assert_array_equal(echoes.range, points.range[truth >= 0])
    frame = points.to_frame()
    assert list(frame.columns) == ["range", "azimuth", "elevation", "value", "sweep", "ray",
                                   "gate"]
    np.testing.assert_array_equal(frame["gate"], points.gate)


# ---------------------------------------------------------------- SuperDARN tables

def test_superdarn_cells_by_hand():
    table = pd.DataFrame({
        "gate": [10, 11, 10, 12, 3],
        "beam": [3, 3, 4, 0, 15],
        "time": pd.to_datetime(["2024-03-01 00:00:05.000", "2024-03-01 00:00:59.900",
                                "2024-03-01 00:01:00.000", "2024-03-01 00:02:01.000",
                                "2024-03-01 00:05:30.000"]),
    })
    cells, scan_start = superdarn_cells(table)
    assert cells.tolist() == [[10, 3, 0], [11, 3, 0], [10, 4, 1], [12, 0, 2], [3, 15, 5]]
    assert len(scan_start) == 6
    assert scan_start[5] == np.datetime64("2024-03-01T00:05:00")
    cells, scan_start = superdarn_cells(table, scan_length="2min")
    assert cells[:, 2].tolist() == [0, 0, 0, 1, 2]
    # Numeric times in seconds, with other column names.
    numeric = pd.DataFrame({"g": [1, 2, 3], "b": [0, 0, 1], "t": [59.0, 60.0, 185.0]})
    cells, scan_start = superdarn_cells(numeric, gate="g", beam="b", time="t", scan_length=60)
    assert cells.tolist() == [[1, 0, 0], [2, 0, 1], [3, 1, 3]]
    assert scan_start.tolist() == [0.0, 60.0, 120.0, 180.0]


def test_superdarn_cells_errors():
    table = pd.DataFrame({"gate": [1.5, 2], "beam": [0, 1], "time": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"column 'gate' must hold non-negative integers; "
                                         r"row 0 holds .*1\.5"):
        superdarn_cells(table, scan_length=60)
    with pytest.raises(ValueError, match="table has no column 'beam'"):
        superdarn_cells(table.drop(columns="beam"), scan_length=60)
    table["gate"] = [1, 2]
    with pytest.raises(ValueError, match="scan_length must be a positive number of seconds"):
        superdarn_cells(table, scan_length=0)


def test_make_superdarn_table_layout():
    table = make_superdarn_table(n_scans=40, random_state=2)
    assert list(table.columns) == ["time", "beam", "gate", "velocity", "source"]
    assert table["beam"].between(0, 15).all() and table["gate"].between(0, 74).all()
    assert not table.duplicated(["time", "beam", "gate"]).any()
    assert table["time"].is_monotonic_increasing
    cells, scan_start = superdarn_cells(table, scan_length="2min")
    assert cells[:, 2].max() == 39 and len(scan_start) == 40
    # Each beam is sounded once per scan, at its own offset into the scan.
    offset = (table["time"] - scan_start[cells[:, 2]]).dt.total_seconds()
    np.testing.assert_allclose(offset, table["beam"] * 7.5)


def test_docstring_examples():
    """The Examples of every module of the package (each public name lives in one)."""
    tried = 0
    for name in sorted(gridscan.radar.__dict__):
        module = getattr(gridscan.radar, name)
        if name.startswith("_") and type(module) is type(gridscan.radar):
            result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
            assert result.failed == 0, module.__name__
            tried += result.attempted
    assert tried > 10
