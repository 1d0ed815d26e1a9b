"""gridscan.plot: rendered PNGs are read back and checked pixel by pixel."""

import doctest

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import dates  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import gridscan.plot  # noqa: E402
from gridscan.plot import NOISE_COLOR, cluster_colors, plot_ppi, plot_range_time  # noqa: E402
from gridscan.radar import (  # noqa: E402
    PolarPoints,
    SweepGeometry,
    make_radar_scan,
    make_superdarn_table,
    polar_to_cartesian,
    ppi_features,
    superdarn_cells,
)

DPI = 100


def render(tmp_path, draw, size=(6.0, 6.0)):
    """Draw on a fresh Agg figure, save a PNG, read it back as RGB floats in [0, 1]."""
    figure = Figure(figsize=size, dpi=DPI)
    ax = figure.add_subplot()
    draw(ax)
    path = tmp_path / "plot.png"
    figure.savefig(path)
    image = mpimg.imread(path)
    return ax, image[..., :3]


def pixels_of(image, color):
    """Mask of the pixels showing exactly ``color`` (8-bit PNG quantisation)."""
    return np.all(np.abs(image - np.asarray(to_rgb(color))) <= 0.6 / 255, axis=-1)


def pixel_at(ax, image, x, y):
    """Row and column of the pixel at data coordinates (x, y)."""
    column, row_from_bottom = ax.transData.transform((x, y))
    return image.shape[0] - 1 - int(round(row_from_bottom)), int(round(column))


@pytest.fixture(scope="module")
def scan():
    """A coarse scan (4 degree rays, 1 km gates), so that cells span several pixels."""
    points, truth = make_radar_scan(n_rays=90, n_gates=60, gate_spacing=1.0, n_echoes=4,
                                    n_clutter=0, random_state=0)
    return points, truth


def test_ppi_png_shows_each_cluster_in_its_colour_and_noise_grey(tmp_path, scan):
    points, truth = scan
    ax, image = render(tmp_path, lambda ax: plot_ppi(points, truth, ax=ax, legend=False))
    assert image.shape == (600, 600, 3)

    palette = cluster_colors(np.arange(18))[:, :3]
    for label in range(4):
        assert pixels_of(image, palette[label]).sum() > 200, f"cluster {label} not drawn"
    for unused in range(4, 18):
        assert pixels_of(image, palette[unused]).sum() <= 5, f"colour {unused} drawn"
    assert pixels_of(image, NOISE_COLOR).sum() > 50

    # Each cluster's colour is where its gates are: near the gate closest to its centre.
    X = ppi_features(points)
    for label in range(4):
        members = np.flatnonzero(truth == label)
        centre = np.median(X[members, :2], axis=0)
        nearest = members[np.argmin(np.hypot(*(X[members, :2] - centre).T))]
        row, column = pixel_at(ax, image, *X[nearest, :2])
        window = image[row - 2:row + 3, column - 2:column + 3]
        assert pixels_of(window, palette[label]).any()


def test_ppi_axes_in_km_fit_the_scan(tmp_path, scan):
    points, truth = scan
    ax, _ = render(tmp_path, lambda ax: plot_ppi(points, truth, ax=ax, title="scan"))
    assert ax.get_xlabel() == "East of radar (km)"
    assert ax.get_ylabel() == "North of radar (km)"
    assert ax.get_title() == "scan"
    # The view reaches the outer edge of the farthest gate, projected on the ground.
    outer_edge = polar_to_cartesian(points.range.max() + 0.5, 90.0, points.elevation[0])[0]
    low, high = ax.get_xlim()
    assert low == -high and high == pytest.approx(outer_edge) and 55.0 < high < 60.0
    assert ax.get_ylim() == (low, high)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    n_noise = np.count_nonzero(truth < 0)
    assert legend == [f"4 clusters: {len(points) - n_noise:,} points",
                      f"noise: {n_noise:,} points"]


def test_ppi_from_arrays_draws_the_same_image(tmp_path, scan):
    points, truth = scan
    _, from_points = render(tmp_path, lambda ax: plot_ppi(points, truth, ax=ax))
    columns = np.column_stack([points.range, points.azimuth, points.elevation])
    _, from_arrays = render(tmp_path, lambda ax: plot_ppi(columns, truth, ax=ax))
    np.testing.assert_array_equal(from_points, from_arrays)


def test_ppi_without_axes_uses_pyplot(scan):
    points, truth = scan
    ax = plot_ppi(points, truth)
    try:
        assert ax.figure is plt.gcf()
        # One mesh over the sweep's (ray, gate) grid: a coloured cell per point, the
        # other cells of the grid transparent.
        [mesh] = ax.collections
        assert isinstance(mesh, QuadMesh)
        mesh.update_scalarmappable()
        assert np.count_nonzero(mesh.get_facecolor()[:, 3] > 0) == len(points)
    finally:
        plt.close(ax.figure)


def hand_made_points(sweeps, ray_spacing):
    """PolarPoints of regular sweeps made by hand, with one SweepGeometry each.

    ``sweeps``: (elevation, ray spacing, azimuths of the ray centres) per sweep; every
    ray has 30 gates of 1 km centred at 10.5 .. 39.5 km.
    """
    parts, geometry, first_ray = [], [], 0
    for number, (elevation, spacing, azimuths) in enumerate(sweeps):
        azimuth, gate = np.meshgrid(azimuths, np.arange(30), indexing="ij")
        ray = np.broadcast_to(first_ray + np.arange(len(azimuths))[:, None], gate.shape)
        parts.append((10.5 + gate.ravel(), azimuth.ravel(), ray.ravel(), gate.ravel(),
                      np.full(gate.size, number), np.full(gate.size, elevation)))
        geometry.append(SweepGeometry(number, "ppi", elevation, spacing, 1.0, False))
        first_ray += len(azimuths)
    slant, azimuth, ray, gate, sweep, elevation = map(np.concatenate, zip(*parts, strict=True))
    return PolarPoints(range=slant, azimuth=azimuth, elevation=elevation,
                       value=np.zeros(slant.size), sweep=sweep, ray=ray, gate=gate,
                       gate_spacing=1.0, ray_spacing=ray_spacing,
                       sweep_geometry=tuple(geometry))


def flat_xy(slant, azimuth):
    """East and north of a gate on a flat earth: within 20 m (a tenth of a pixel) of the
    4/3-earth ground position at these ranges and elevations."""
    return slant * np.sin(np.deg2rad(azimuth)), slant * np.cos(np.deg2rad(azimuth))


def colour_at(ax, image, slant, azimuth):
    row, column = pixel_at(ax, image, *flat_xy(slant, azimuth))
    return image[row:row + 1, column:column + 1]


def test_ppi_colours_every_gate_by_its_label_and_leaves_empty_cells_blank(tmp_path):
    """36 rays of 10 degrees, one missing; 30 gates, the middle ten of every ray missing.

    Ray k (centre 5 + 10k degrees) is in cluster k // 9 over its first ten gates
    when k % 9 < 6 and noise there otherwise (clusters 3 rays apart: none touch, so
    each keeps palette entry k); its last ten gates are noise. Ray 4 (45 degrees)
    has no gates: its neighbours must not stretch over it.
    """
    points = hand_made_points([(0.5, 10.0, 5.0 + 10.0 * np.arange(36))], ray_spacing=10.0)
    ray, gate = points.ray, points.gate
    labels = np.where((gate < 10) & (ray % 9 < 6), ray // 9, -1)
    kept = ((gate < 10) | (gate >= 20)) & (ray != 4)
    points, labels = points[kept], labels[kept]
    ax, image = render(tmp_path, lambda ax: plot_ppi(points, labels, ax=ax, rings=False,
                                                     legend=False))
    assert ax.get_xlim() == pytest.approx((-40.0, 40.0), abs=0.02)

    palette = cluster_colors(np.arange(18))[:, :3]
    for slant, azimuth, label in zip(points.range, points.azimuth, labels, strict=True):
        expected = NOISE_COLOR if label < 0 else palette[label]
        for side in (-3.0, 0.0, 3.0):  # across the cell, short of its edges
            assert pixels_of(colour_at(ax, image, slant, azimuth + side), expected).all(), \
                (slant, azimuth + side, label)
    white = (1.0, 1.0, 1.0)
    for slant in 20.5 + np.arange(10):  # the missing gates
        for azimuth in 5.0 + 10.0 * np.arange(36):
            assert pixels_of(colour_at(ax, image, slant, azimuth), white).all()
    for slant in (10.5, 15.5, 19.5, 30.5, 35.5, 39.5):  # the missing ray
        assert pixels_of(colour_at(ax, image, slant, 45.0), white).all()


def test_ppi_draws_each_sweep_with_its_own_ray_spacing(tmp_path):
    """Sweep 0: 10-degree rays over the east half; sweep 1: 20-degree rays over the west.

    The points' single ray_spacing (15) fits neither: drawn with it, sweep 1's cells
    would leave white gaps between rays and sweep 0's would overlap their neighbours.
    Rays alternate between a cluster (0 in sweep 0, 1 in sweep 1) and noise, so a
    cell of the wrong width shows the wrong colour near its edges.
    """
    points = hand_made_points([(0.5, 10.0, 5.0 + 10.0 * np.arange(18)),
                               (1.5, 20.0, 190.0 + 20.0 * np.arange(9))], ray_spacing=15.0)
    labels = np.where(points.ray % 2 == 0, points.sweep, -1)
    ax, image = render(tmp_path, lambda ax: plot_ppi(points, labels, ax=ax, rings=False,
                                                     legend=False))
    palette = cluster_colors(np.arange(2))[:, :3]
    for number, spacing, centres in ((0, 10.0, 5.0 + 10.0 * np.arange(18)),
                                     (1, 20.0, 190.0 + 20.0 * np.arange(9))):
        for k, centre in enumerate(centres):
            expected = palette[number] if k % 2 == 0 else NOISE_COLOR
            for side in (-0.35, 0.0, 0.35):  # of the sweep's own ray spacing
                for slant in (15.5, 25.5, 35.5):
                    pixel = colour_at(ax, image, slant, centre + side * spacing)
                    assert pixels_of(pixel, expected).all(), (number, centre, side, slant)


def test_ppi_uneven_rays_meet_halfway_across_north_too(tmp_path):
    """Rays 10 degrees apart on average, alternately 1.5 degrees early and late.

    Ray k's centre is 10k -+ 1.5 degrees, so neighbours are 7 or 13 degrees apart
    and meet halfway, at 10k + 5, across north as well (358.5 and 11.5 meet at 5).
    Plus or minus half the spacing around each centre would overlap one neighbour
    and leave a gap of 3 degrees to the other.
    """
    k = np.arange(36)
    centres = np.mod(10.0 * k + np.where(k % 2 == 0, -1.5, 1.5), 360.0)
    points = hand_made_points([(0.5, 10.0, centres)], ray_spacing=10.0)
    labels = np.where(points.ray % 2 == 0, 0, -1)
    ax, image = render(tmp_path, lambda ax: plot_ppi(points, labels, ax=ax, rings=False,
                                                     legend=False))
    colour = cluster_colors([0])[0, :3]
    for ray in k:
        boundary = 10.0 * ray + 5.0  # between ray k and ray k + 1
        before, after = (colour, NOISE_COLOR) if ray % 2 == 0 else (NOISE_COLOR, colour)
        for slant in (20.5, 30.5, 39.5):
            assert pixels_of(colour_at(ax, image, slant, boundary - 1.0), before).all()
            assert pixels_of(colour_at(ax, image, slant, boundary + 1.0), after).all()


def test_ppi_draws_noise_under_clusters_across_sweeps(tmp_path):
    """Two sweeps over the same gates: clusters in the first, noise in the second."""
    azimuths = 5.0 + 10.0 * np.arange(36)
    points = hand_made_points([(0.5, 10.0, azimuths), (1.5, 10.0, azimuths)],
                              ray_spacing=10.0)
    labels = np.where(points.sweep == 0, 0, -1)
    ax, image = render(tmp_path, lambda ax: plot_ppi(points, labels, ax=ax, rings=False,
                                                     legend=False))
    colour = cluster_colors([0])[0, :3]
    for slant in 10.5 + np.arange(30):
        for azimuth in np.concatenate([azimuths - 3.0, azimuths, azimuths + 3.0]):
            assert pixels_of(colour_at(ax, image, slant, azimuth), colour).all()


def test_ppi_polygons_draw_the_same_cells_as_the_mesh(tmp_path, scan, monkeypatch):
    """Forced to one polygon per point, every gate shows the same colour as in the mesh."""
    points, truth = scan
    ax, mesh_image = render(tmp_path, lambda ax: plot_ppi(points, truth, ax=ax, legend=False))
    monkeypatch.setattr(gridscan.plot, "_MESH_CELLS_PER_POINT", 0)
    monkeypatch.setattr(gridscan.plot, "_MESH_CELLS_ALWAYS", 0)
    ax, polygon_image = render(tmp_path, lambda ax: plot_ppi(points, truth, ax=ax,
                                                             legend=False))
    [cells] = ax.collections
    assert isinstance(cells, PolyCollection) and len(cells.get_paths()) == len(points)
    palette = cluster_colors(np.arange(18))[:, :3]
    wide = points.range > 10.0  # cells of several pixels: 4 degrees x 1 km
    assert wide.sum() > 100
    for slant, azimuth, label in zip(points.range[wide], points.azimuth[wide], truth[wide],
                                     strict=True):
        expected = NOISE_COLOR if label < 0 else palette[label]
        for image in (mesh_image, polygon_image):
            assert pixels_of(colour_at(ax, image, slant, azimuth), expected).all()


def test_ppi_scattered_points_are_drawn_as_polygons():
    """2,000 points of distinct ranges and azimuths would make a grid of millions of cells."""
    rng = np.random.default_rng(0)
    columns = np.column_stack([rng.uniform(5.0, 100.0, 2000), rng.uniform(0.0, 360.0, 2000)])
    labels = rng.integers(-1, 3, 2000)
    ax = plot_ppi(columns, labels, ax=Figure().add_subplot(), gate_spacing=1.0,
                  ray_spacing=1.0)
    [cells] = ax.collections
    assert isinstance(cells, PolyCollection) and len(cells.get_paths()) == 2000


def test_range_time_png(tmp_path):
    table = make_superdarn_table(n_scans=30, random_state=1)
    cells, scan_start = superdarn_cells(table, scan_length="2min")
    labels = table["source"].map({"ionospheric": 0, "ground": 1, "noise": -1}).to_numpy()
    beam = cells[:, 1] == 7
    time = scan_start[cells[beam, 2]]
    range_km = 180.0 + 45.0 * cells[beam, 0]

    ax, image = render(tmp_path, lambda ax: plot_range_time(
        time, range_km, labels[beam], ax=ax, legend=False), size=(8.0, 4.0))
    assert image.shape == (400, 800, 3)
    palette = cluster_colors(np.arange(18))[:, :3]
    assert pixels_of(image, palette[0]).sum() > 100
    assert pixels_of(image, palette[1]).sum() > 100
    assert pixels_of(image, NOISE_COLOR).sum() > 20
    assert pixels_of(image, palette[2]).sum() == 0

    assert ax.get_ylabel() == "Range (km)" and ax.get_xlabel() == "Time (UTC)"
    assert isinstance(ax.xaxis.get_major_formatter(), dates.ConciseDateFormatter)
    assert ax.get_ylim() == (range_km.min(), range_km.max() + 45.0)
    # The middle of a cell shows its label's colour.
    step = 2.0 / (24 * 60)
    for label in (0, 1, -1):
        k = np.flatnonzero(labels[beam] == label)[0]
        row, column = pixel_at(ax, image, dates.date2num(time[k]) + step / 2,
                               range_km[k] + 22.5)
        expected = palette[label] if label >= 0 else NOISE_COLOR
        assert pixels_of(image[row:row + 1, column:column + 1], expected).all()


def test_range_time_numeric_time(tmp_path):
    ax, image = render(tmp_path, lambda ax: plot_range_time(
        [0.0, 60.0, 120.0, 120.0], [180.0, 180.0, 225.0, 270.0], [0, 0, 1, -1], ax=ax))
    assert ax.get_xlim() == (0.0, 180.0) and ax.get_xlabel() == "Time"
    palette = cluster_colors(np.arange(2))[:, :3]
    assert pixels_of(image, palette[0]).sum() > pixels_of(image, palette[1]).sum() > 100


def test_cluster_colors():
    colors = cluster_colors(np.arange(-2, 40))
    clusters = colors[2:20, :3]
    assert len({tuple(c) for c in clusters}) == 18
    assert not np.any((clusters[:, 0] == clusters[:, 1]) & (clusters[:, 1] == clusters[:, 2]))
    np.testing.assert_array_equal(colors[0, :3], to_rgb(NOISE_COLOR))
    np.testing.assert_array_equal(colors[0], colors[1])
    np.testing.assert_array_equal(colors[20], colors[2])  # label 18 cycles back to label 0
    assert np.all(colors[:, 3] == 1.0)
    red = cluster_colors([-1, 0], noise_color="red")
    np.testing.assert_array_equal(red[0], [1.0, 0.0, 0.0, 1.0])


def test_errors(scan):
    points, truth = scan
    with pytest.raises(ValueError, match=r"labels has shape \(3,\); expected \(\d+,\)"):
        plot_ppi(points, truth[:3], ax=Figure().add_subplot())
    with pytest.raises(ValueError, match=r"points must be PolarPoints or an array of shape"):
        plot_ppi(np.zeros((5, 4)), np.zeros(5, dtype=int), ax=Figure().add_subplot())
    with pytest.raises(ValueError, match="gate_spacing must be a positive number"):
        plot_ppi(np.array([[10.0, 5.0]]), np.array([0]), ax=Figure().add_subplot())
    with pytest.raises(ValueError, match="labels must be a 1-D array of integers"):
        cluster_colors([0.5, 1.0])
    with pytest.raises(ValueError, match=r"time has shape \(2,\); expected \(3,\)"):
        plot_range_time([0.0, 1.0], [1.0, 2.0, 3.0], [0, 0, 0], ax=Figure().add_subplot())


def test_docstring_examples():
    failures, tried = doctest.testmod(gridscan.plot)
    assert tried > 5 and failures == 0


def test_touching_clusters_never_share_a_colour(tmp_path, scan):
    """Clusters numbered 0, 18, 36, ... all map to palette entry 0; touching ones are recoloured.

    Every echo of the coarse scan is cut into blocks of 2 rays x 5 gates, each a cluster
    whose label is a multiple of 18. Which clusters touch (cells at most 2 rays
    and 2 gates apart, across north too) is found here by brute force; no two
    of them share a colour in cluster_colors, and the PNG shows each cluster in
    the colour cluster_colors gives it.
    """
    points, truth = scan
    echo = truth >= 0
    labels = np.full(len(points), -1)
    labels[echo] = 18 * np.unique((truth[echo] * 1000 + points.ray[echo] // 2) * 1000
                                  + points.gate[echo] // 5,
                                  return_inverse=True)[1]
    clustered = np.flatnonzero(labels >= 0)
    ray, gate, lab = points.ray[clustered], points.gate[clustered], labels[clustered]
    d_ray = np.abs(ray[:, None] - ray[None, :])
    d_ray = np.minimum(d_ray, 90 - d_ray)
    near = (d_ray <= 2) & (np.abs(gate[:, None] - gate[None, :]) <= 2)
    a, b = np.nonzero(near & (lab[:, None] < lab[None, :]))
    pairs = np.unique(np.column_stack([lab[a], lab[b]]), axis=0)
    assert len(pairs) > 10

    plain = cluster_colors(labels)
    assert len(np.unique(plain[clustered], axis=0)) == 1  # without the constraint: one colour
    colors = cluster_colors(labels, touching=pairs)
    colour_of = {int(k): colors[np.argmax(labels == k), :3] for k in np.unique(lab)}
    for first, second in pairs:
        assert not np.array_equal(colour_of[first], colour_of[second]), (first, second)
    assert gridscan.plot._touching_clusters(
        np.column_stack([points.sweep, points.ray, points.gate]), labels, period=90).tolist() \
        == pairs.tolist()

    ax, image = render(tmp_path, lambda ax: plot_ppi(points, labels, ax=ax, legend=False))
    X = ppi_features(points)
    for k, colour in colour_of.items():
        members = np.flatnonzero(labels == k)
        if members.size < 12:
            continue
        centre = np.median(X[members, :2], axis=0)
        nearest = members[np.argmin(np.hypot(*(X[members, :2] - centre).T))]
        row, column = pixel_at(ax, image, *X[nearest, :2])
        assert pixels_of(image[row - 2:row + 3, column - 2:column + 3], colour).any(), k
