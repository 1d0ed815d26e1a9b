"""gridscan.plot: rendered PNGs are read back and checked pixel by pixel."""

import doctest

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import dates  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import gridscan.plot  # noqa: E402
from gridscan.plot import NOISE_COLOR, cluster_colors, plot_ppi, plot_range_time  # noqa: E402
from gridscan.radar import (  # noqa: E402
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
        assert len(ax.collections) == 1 and len(ax.collections[0].get_paths()) == len(points)
    finally:
        plt.close(ax.figure)


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
