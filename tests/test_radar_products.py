"""gridscan.radar products (issue 15): the cluster table, and the labels back in Py-ART / xradar.

Every quantity of cluster_table is recomputed here with a plain pandas groupby
on positions from Py-ART's own geometry; the labels go through a real CF/Radial
file and back; on a real NEXRAD sweep, gridscan on the (ray, gate) lattice
reproduces pyart.correct.find_objects' objects and despeckle_field's filter.
"""

import dataclasses
import os
from copy import deepcopy

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

os.environ.setdefault("PYART_QUIET", "1")
import pyart  # noqa: E402
import xarray as xr  # noqa: E402
import xradar  # noqa: E402

from gridscan import GridDBSCAN  # noqa: E402
from gridscan.radar import (  # noqa: E402
    LABEL_FILL_VALUE,
    beam_eps,
    cluster_table,
    from_pyart,
    from_xradar,
    make_radar_scan,
    ppi_features,
    to_gatefilter,
    to_pyart_field,
    to_xradar,
)

pytestmark = pytest.mark.filterwarnings("ignore:Py-ART's .* module is deprecated:UserWarning")

LEVEL3 = pyart.testing.NEXRAD_LEVEL3_MSG19  # KBMX base reflectivity: 360 rays x 230 gates of 1 km
THRESHOLD = 20.0


@pytest.fixture(scope="module")
def level3():
    """The sample sweep, its gates >= 20 dBZ, clustered with the beam-width eps."""
    radar = pyart.io.read_nexrad_level3(LEVEL3)
    points = from_pyart(radar, "reflectivity", threshold=THRESHOLD)
    model = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8, window_features=[2])
    model.fit(ppi_features(points))
    return radar, points, model


# ---------------------------------------------------------------- cluster_table vs groupby

def smallest_arc(azimuth):
    """(extent, start) of the smallest clockwise arc holding every azimuth, by brute force."""
    values = np.unique(np.mod(azimuth, 360.0))
    spans = [np.max(np.mod(values - start, 360.0)) for start in values]
    return float(np.min(spans)), values


def reference_table(points, labels, core=None):
    """The table's quantities from a plain pandas groupby, positions from Py-ART's geometry."""
    x, y, z = (c / 1000.0 for c in pyart.core.antenna_to_cartesian(
        points.range, points.azimuth, points.elevation))
    half = points.gate_spacing / 2.0
    near = np.hypot(*pyart.core.antenna_to_cartesian(
        np.maximum(points.range - half, 0.0), points.azimuth, points.elevation)[:2]) / 1000.0
    far = np.hypot(*pyart.core.antenna_to_cartesian(
        points.range + half, points.azimuth, points.elevation)[:2]) / 1000.0
    frame = points.to_frame().assign(
        label=labels, x=x, y=y, z=z, core=core if core is not None else False,
        value=points.value.astype(np.float64),  # the table sums in float64
        area=0.5 * (far**2 - near**2) * np.radians(points.ray_spacing))
    frame = frame[frame["label"] >= 0]
    grouped = frame.groupby("label")
    aggregations = dict(
        n_gates=("range", "size"), n_core=("core", "sum"), x=("x", "mean"), y=("y", "mean"),
        area=("area", "sum"), range_min=("range", "min"), range_max=("range", "max"),
        height_min=("z", "min"), height_max=("z", "max"), sweep_min=("sweep", "min"),
        sweep_max=("sweep", "max"), n_sweeps=("sweep", "nunique"),
        value_max=("value", "max"), value_mean=("value", "mean"), value_sum=("value", "sum"))
    if points.time is not None:
        aggregations.update(time_start=("time", "min"), time_end=("time", "max"))
    return grouped.agg(**aggregations), grouped


def assert_table_matches_groupby(points, labels, table, core=None):
    expected, grouped = reference_table(points, labels, core)
    assert table.index.name == "label"
    np.testing.assert_array_equal(table.index, expected.index)
    for column in expected.columns:
        if column == "n_core" and core is None:
            assert "n_core" not in table
            continue
        if column in ("x", "y", "height_min", "height_max", "area"):
            # Py-ART and gridscan evaluate the same 4/3-earth model in different orders.
            np.testing.assert_allclose(table[column], expected[column], rtol=1e-9, atol=1e-9,
                                       err_msg=column)
        elif column in ("value_mean", "value_sum"):
            np.testing.assert_allclose(table[column], expected[column], rtol=1e-12,
                                       err_msg=column)
        else:
            np.testing.assert_array_equal(table[column].to_numpy(),
                                          expected[column].to_numpy(), err_msg=column)
    # Azimuth extent: the smallest arc, found by brute force; first/last bound that arc.
    for label, members in grouped:
        extent, values = smallest_arc(members["azimuth"].to_numpy())
        row = table.loc[label]
        assert row["azimuth_extent"] == pytest.approx(extent, abs=1e-9)
        assert np.mod(row["azimuth_max"] - row["azimuth_min"], 360.0) == pytest.approx(
            extent, abs=1e-9)
        assert np.all(np.mod(values - row["azimuth_min"], 360.0) <= extent + 1e-9)


def test_cluster_table_equals_groupby_on_a_synthetic_sweep():
    points, truth = make_radar_scan(n_rays=180, n_gates=240, random_state=5)
    table = cluster_table(points, truth)
    assert len(table) == 14
    assert_table_matches_groupby(points, truth, table)
    # An echo across north: rays on both sides of 0 degrees, azimuth_min > azimuth_max.
    labels = truth.copy()
    north = (np.mod(points.azimuth + 20.0, 360.0) < 40.0) & (points.range < 30.0)
    labels[north] = 99
    table = cluster_table(points, labels)
    row = table.loc[99]
    assert row["azimuth_min"] > 330.0 and row["azimuth_max"] < 30.0
    assert row["azimuth_extent"] == pytest.approx(38.0)
    assert_table_matches_groupby(points, labels, table)
    # Azimuths given in (-180, 180] describe the same clusters.
    signed = dataclasses.replace(points, azimuth=np.where(points.azimuth > 180.0,
                                                          points.azimuth - 360.0, points.azimuth))
    pd.testing.assert_frame_equal(cluster_table(signed, labels), table, rtol=1e-12)


def test_cluster_table_equals_groupby_on_a_real_sweep(level3):
    radar, points, model = level3
    labels = model.labels_
    core = np.zeros(len(points), dtype=bool)
    core[model.core_sample_indices_] = True
    table = cluster_table(points, labels, estimator=model)
    assert len(table) == labels.max() + 1 > 10
    assert_table_matches_groupby(points, labels, table, core=core)
    assert table["time_start"].iloc[0] == np.datetime64("2015-01-02T02:05:28")
    # The footprint is range step x range x beam width, to first order.
    first_order = (points.gate_spacing * np.radians(points.ray_spacing)
                   * pd.Series(points.range).groupby(labels).sum().drop(-1, errors="ignore"))
    np.testing.assert_allclose(table["area"], first_order.to_numpy(), rtol=2e-3)


def test_cluster_table_noise_row_values_and_errors(level3):
    _, points, model = level3
    labels = model.labels_
    with_noise = cluster_table(points, labels, include_noise=True)
    assert with_noise.index[0] == -1
    assert with_noise.loc[-1, "n_gates"] == np.count_nonzero(labels < 0)
    pd.testing.assert_frame_equal(with_noise.drop(index=-1), cluster_table(points, labels))
    # Named values: one max/mean/sum triple each.
    table = cluster_table(points, labels, values={"dbz": points.value,
                                                  "one": np.ones(len(points))})
    np.testing.assert_array_equal(table["one_sum"], table["n_gates"])
    assert "value_max" not in table and "dbz_max" in table
    # Nothing clustered: an empty table with every column.
    empty = cluster_table(points, np.full(len(points), -1))
    assert len(empty) == 0 and list(empty.columns) == list(cluster_table(points, labels).columns)
    with pytest.raises(ValueError, match=r"labels has shape \(3,\) and dtype int64; expected "
                                         rf"integers of shape \({len(points)},\)"):
        cluster_table(points, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="points must be a gridscan.radar.PolarPoints"):
        cluster_table(np.zeros((3, 2)), [0, 0, 0])
    with pytest.raises(ValueError, match=r"values 'value' has shape \(2,\); expected"):
        cluster_table(points, labels, values=[1.0, 2.0])
    with pytest.raises(ValueError, match="estimator must be fitted on the"):
        cluster_table(points, labels, estimator=GridDBSCAN())
    with pytest.raises(ValueError, match="site must be"):
        cluster_table(points, labels, site=(1.0,))


def great_circle_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def test_centroid_latitude_longitude_against_pyart(level3):
    """Each gate its own cluster: its latitude/longitude is Py-ART's gate_latitude/longitude.

    Py-ART maps x, y to latitude/longitude with an azimuthal equidistant
    projection on a sphere of radius 6370.997 km; gridscan goes along the WGS84
    geodesic. The two differ by the flattening, under 0.5% of the distance.
    """
    radar, points, model = level3
    subset = points[::37]
    table = cluster_table(subset, np.arange(len(subset)))
    radar.init_gate_longitude_latitude()
    lat = radar.gate_latitude["data"][subset.ray, subset.gate]
    lon = radar.gate_longitude["data"][subset.ray, subset.gate]
    distance = np.hypot(table["x"], table["y"]).to_numpy()
    apart = great_circle_km(table["latitude"].to_numpy(), table["longitude"].to_numpy(), lat, lon)
    assert np.all(apart <= 0.005 * distance + 0.01), apart.max()
    # And the real clusters' centroids, through Py-ART's projection of the centroid.
    table = cluster_table(points, model.labels_)
    lon_p, lat_p = pyart.core.cartesian_to_geographic_aeqd(
        table["x"].to_numpy() * 1000.0, table["y"].to_numpy() * 1000.0,
        radar.longitude["data"][0], radar.latitude["data"][0])
    apart = great_circle_km(table["latitude"].to_numpy(), table["longitude"].to_numpy(),
                            lat_p, lon_p)
    assert np.all(apart <= 0.005 * np.hypot(table["x"], table["y"]) + 0.01)


# ---------------------------------------------------------------- Py-ART field, CF/Radial

def test_pyart_field_survives_a_cfradial_round_trip(level3, tmp_path):
    radar, points, model = level3
    labels = model.labels_
    field = to_pyart_field(radar, points, labels, name="cluster")
    assert radar.fields["cluster"] is field
    data = field["data"]
    assert data.dtype == np.int32 and data.shape == (radar.nrays, radar.ngates)
    np.testing.assert_array_equal(data[points.ray, points.gate], labels)
    assert data.count() == len(points)  # every other gate masked

    path = tmp_path / "klot_clusters.nc"
    pyart.io.write_cfradial(str(path), radar)
    back = pyart.io.read_cfradial(str(path))
    read = back.fields["cluster"]["data"]
    np.testing.assert_array_equal(np.ma.getmaskarray(read), np.ma.getmaskarray(data))
    np.testing.assert_array_equal(read.compressed(), data.compressed())
    np.testing.assert_array_equal(read[points.ray, points.gate], labels)


def test_pyart_field_covers_the_sweeps_read(tmp_path):
    """Sweeps 1 and 3 of a level-2 volume: labels there, every other sweep masked."""
    radar = pyart.io.read_nexrad_archive(pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE)
    points = from_pyart(radar, "reflectivity", sweeps=[1, 3])  # the sample is all -32 dBZ
    labels = np.where(points.gate % 7 == 0, -1, points.sweep)
    data = to_pyart_field(radar, points, labels, name="echo")["data"]
    starts = radar.sweep_start_ray_index["data"]
    ends = radar.sweep_end_ray_index["data"]
    for sweep in range(radar.nsweeps):
        rays = data[starts[sweep]:ends[sweep] + 1]
        if sweep in (1, 3):
            assert rays.count() == np.count_nonzero(points.sweep == sweep) > 0
        else:
            assert rays.count() == 0
    with pytest.raises(ValueError, match=r"expected rays in \[0, 360\) and gates in \[0, 230\)"):
        to_pyart_field(pyart.io.read_nexrad_level3(LEVEL3), points, labels)


# ---------------------------------------------------------------- GateFilter

def test_gatefilter_excludes_exactly_noise_and_small_clusters(level3):
    radar, points, model = level3
    labels = model.labels_
    sizes = np.bincount(labels[labels >= 0])
    min_gates = int(np.median(sizes)) + 1
    assert (sizes < min_gates).any() and (sizes >= min_gates).any()
    gatefilter = to_gatefilter(radar, points, labels, min_gates=min_gates)
    expected = np.zeros((radar.nrays, radar.ngates), dtype=bool)
    dropped = (labels < 0) | ((labels >= 0) & (sizes[np.maximum(labels, 0)] < min_gates))
    expected[points.ray[dropped], points.gate[dropped]] = True
    np.testing.assert_array_equal(gatefilter.gate_excluded, expected)

    # A starting filter is copied, not changed; its exclusions are kept.
    start = pyart.filters.GateFilter(radar)
    start.exclude_last_gates("reflectivity", n_gates=10)
    before = start.gate_excluded.copy()
    combined = to_gatefilter(radar, points, labels, min_gates=min_gates, gatefilter=start)
    np.testing.assert_array_equal(start.gate_excluded, before)
    np.testing.assert_array_equal(combined.gate_excluded, before | expected)

    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=f"min_gates must be an integer >= 1; got {bad}"):
            to_gatefilter(radar, points, labels, min_gates=bad)


def lattice_labels_across_the_seam(points, n_rays):
    """Chebyshev eps 1 on (ray, gate) with the sweep's wrap at north emulated.

    gridscan has no periodic features yet; the points of the first ray are
    duplicated after the last (ray n_rays), clustered with the rest, and each
    copy's cluster is joined to its original's (connected components of the
    label graph).
    """
    first = np.flatnonzero(points.ray == 0)
    X = np.column_stack([np.r_[points.ray, np.full(first.size, n_rays)],
                         np.r_[points.gate, points.gate[first]]]).astype(np.float64)
    labels = GridDBSCAN(eps=1.0, min_samples=1, metric="chebyshev").fit_predict(X)
    n = len(points)
    n_labels = labels.max() + 1
    joins = coo_matrix((np.ones(first.size), (labels[first], labels[n:])),
                       shape=(n_labels, n_labels))
    _, merged = connected_components(joins, directed=False)
    return merged[labels[:n]]


def same_partition(a, b):
    """True when the two labelings put the same points together (a bijection of labels)."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return (len(pairs) == len(np.unique(a)) == len(np.unique(b)))


def rolled(radar, shift):
    """A copy of the one-sweep radar whose ray 0 is the recorded ray ``shift``."""
    copy = deepcopy(radar)
    copy.azimuth["data"] = np.roll(radar.azimuth["data"], -shift)
    for field in copy.fields.values():
        field["data"] = np.roll(field["data"], -shift, axis=0)
    return copy


def lattice_objects(points):
    """8-connected objects of the (ray, gate) lattice, without any wrap."""
    return GridDBSCAN(eps=1.0, min_samples=1, metric="chebyshev").fit_predict(
        np.column_stack([points.ray, points.gate]).astype(np.float64))


@pytest.fixture(scope="module", params=["as recorded", "through an echo"])
def seam(request, level3):
    """The sample sweep with its seam (ray n-1 to ray 0) where recorded, or moved into an echo.

    The moved seam cuts through the largest echo that spans fewer than 90 rays
    (the largest of all surrounds the radar: see the next test).
    """
    radar, points, _ = level3
    if request.param == "as recorded":
        return radar, points, False
    objects = lattice_objects(points)
    sizes = np.bincount(objects)
    spans = np.array([np.unique(points.ray[objects == k]).size for k in range(sizes.size)])
    echo = np.argmax(np.where(spans < 90, sizes, 0))
    radar = rolled(radar, int(np.median(points.ray[objects == echo])))
    return radar, from_pyart(radar, "reflectivity", threshold=THRESHOLD), True


def test_lattice_partition_equals_pyart_find_objects(seam):
    """On the (ray, gate) lattice, Chebyshev eps 1 and min_samples 1 are find_objects' objects.

    find_objects joins the first and last rays of a full sweep; the test emulates
    that wrap by duplicating the first ray after the last (lattice_labels_across_the_seam),
    on the sweep as recorded and with its seam moved through an echo.
    """
    radar, points, crosses = seam
    objects = pyart.correct.find_objects(radar, "reflectivity", THRESHOLD)["data"]
    theirs = objects[points.ray, points.gate]
    assert not np.ma.is_masked(theirs)  # find_objects labels exactly the points' gates
    assert objects.count() == len(points)
    mine = lattice_labels_across_the_seam(points, radar.nrays)
    assert len(np.unique(mine)) > 100
    assert same_partition(mine, np.asarray(theirs))
    # Without the emulated wrap, the echo across the moved seam falls in two.
    assert (len(np.unique(lattice_objects(points))) > len(np.unique(mine))) == crosses


def test_an_echo_around_the_radar_across_the_seam(level3):
    """The echo that surrounds the radar, with the seam moved into it.

    gridscan's partition does not depend on where the seam is. Py-ART's
    find_objects (2.x) joins the two copies of a doubled sweep through the
    labels of the first ray only, so an object that meets the first ray in
    several pieces joined only further round can come out split: its
    partition is then ours with that one object cut in parts. Either outcome
    of Py-ART is accepted here; ours must be exact.
    """
    radar, points, _ = level3
    recorded = lattice_labels_across_the_seam(points, radar.nrays)
    ring = np.argmax(np.bincount(recorded))
    assert np.unique(points.ray[recorded == ring]).size == radar.nrays
    shift = int(np.median(points.ray[recorded == ring]))
    moved_radar = rolled(radar, shift)
    moved = from_pyart(moved_radar, "reflectivity", threshold=THRESHOLD)
    mine = lattice_labels_across_the_seam(moved, radar.nrays)
    # The same gates, in the moved sweep's order: the same partition.
    back = np.lexsort((moved.gate, (moved.ray + shift) % radar.nrays))
    assert same_partition(mine[back], recorded)
    theirs = np.asarray(pyart.correct.find_objects(moved_radar, "reflectivity",
                                                   THRESHOLD)["data"][moved.ray, moved.gate])
    pairs = np.unique(np.column_stack([mine, theirs]), axis=0)
    assert len(np.unique(pairs[:, 1])) == len(pairs)  # theirs refines ours
    pieces = np.bincount(pairs[:, 0])
    assert np.count_nonzero(pieces > 1) <= 1


@pytest.mark.parametrize("size", [2, 10, 40])
def test_gatefilter_equals_despeckle_field_for_lattice_clusters(seam, size):
    """The same clusters give the same filter, but for the masked gates despeckle adds."""
    radar, points, _ = seam
    labels = lattice_labels_across_the_seam(points, radar.nrays)
    theirs = pyart.correct.despeckle_field(radar, "reflectivity", threshold=THRESHOLD,
                                           size=size)
    mine = to_gatefilter(radar, points, labels, min_gates=size)
    masked = np.ma.getmaskarray(radar.fields["reflectivity"]["data"])
    np.testing.assert_array_equal(theirs.gate_excluded, mine.gate_excluded | masked)
    assert mine.gate_excluded.sum() > 0


# ---------------------------------------------------------------- xradar

def test_xradar_label_variable_and_netcdf_round_trip(tmp_path):
    path = pyart.testing.CFRADIAL_PPI_FILE
    tree = xradar.io.open_cfradial1_datatree(path)
    field = "reflectivity_horizontal"
    points = from_xradar(tree["sweep_0"], field, threshold=20.0)
    labels = GridDBSCAN(eps=1.0, min_samples=3, metric="chebyshev").fit_predict(
        np.column_stack([points.ray, points.gate]).astype(np.float64))
    assert labels.max() >= 1 and (labels < 0).any()
    sweep = to_xradar(tree["sweep_0"], points, labels)
    variable = sweep["cluster"]
    assert variable.dims == ("azimuth", "range") and variable.dtype == np.int32
    np.testing.assert_array_equal(variable.values[points.ray, points.gate], labels)
    assert np.count_nonzero(variable.values != LABEL_FILL_VALUE) == len(points)
    assert field in sweep and "cluster" not in tree["sweep_0"].to_dataset()

    saved = sweep.copy()
    saved.encoding = {}  # xradar's unlimited 'time' dimension is not one of the sweep's
    saved.to_netcdf(tmp_path / "sweep.nc")
    with xr.open_dataset(tmp_path / "sweep.nc") as back:
        read = back["cluster"].values
    np.testing.assert_array_equal(np.isnan(read), variable.values == LABEL_FILL_VALUE)
    np.testing.assert_array_equal(read[points.ray, points.gate], labels)

    other = tree["sweep_0"].to_dataset().assign(sweep_number=3)
    with pytest.raises(ValueError, match=r"points holds sweep \[0\]; expected only sweep 3"):
        to_xradar(other, points, labels)
    with pytest.raises(ValueError, match="expected rays in"):
        to_xradar(other.isel(azimuth=slice(0, 5)), points, labels)
