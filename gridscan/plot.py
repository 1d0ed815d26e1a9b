"""Plots of clustered radar data (needs matplotlib: ``pip install gridscan[plot]``).

plot_ppi         plan position indicator: gates drawn as fan cells in km east/north
plot_range_time  range-time plot (SuperDARN style): one cell per gate and scan
cluster_colors   the colour of every label: distinct colours for clusters, grey for noise;
                 clusters that touch never share a colour
plot_k_distance  sorted k-distances (gridscan.k_distance), to choose a scale or an eps
plot_reachability  reachability plot (OPTICS style) of a fitted GridHDBSCAN

Every gate is drawn as its own cell (a matplotlib PolyCollection), so any set
of points can be drawn, gridded or not; noise is drawn first, clusters on top.

Colours: the palette has 18 entries, so cluster k takes entry k % 18 unless a
cluster it touches would get the same one. The plots find which clusters touch
on the lattice of their cells (gate and ray steps, or scan and gate steps: two
clusters touch when they have cells at most two steps apart), colour that
graph with networkx's equitable colouring (touching clusters differ, and the
colours are used evenly), and match its colour classes to palette entries
(scipy's linear_sum_assignment) so that as many clusters as possible keep
entry k % 18. Without networkx the plain k % 18 is used.
"""

import numpy as np

from gridscan.radar import PolarPoints, _typical_step, polar_to_cartesian

NOISE_COLOR = "#bdbdbd"
"""Colour of noise points (label -1)."""


def _palette():
    """tab20 without its greys, dark shades first: 18 colours, neighbours far apart in hue."""
    from matplotlib import colormaps

    colors = np.asarray(colormaps["tab20"].colors)
    keep = [k for k in range(20) if k not in (14, 15)]
    return np.vstack([colors[keep[0::2]], colors[keep[1::2]]])


def cluster_colors(labels, *, noise_color=NOISE_COLOR, touching=None):
    """RGBA colour of every label.

    Parameters
    ----------
    labels : array-like of int of shape (n_points,)
        Cluster labels; -1 (or any negative value) is noise.
    noise_color : color, default="#bdbdbd"
        Any matplotlib colour for noise.
    touching : array-like of int of shape (n_pairs, 2), default=None
        Pairs of cluster labels that must not share a colour (the plots pass
        the clusters whose cells touch); None: no constraint.

    Returns
    -------
    colors : ndarray of shape (n_points, 4)
        Cluster k takes colour ``k % 18`` of matplotlib's tab20 palette
        without its two greys, the 9 dark shades first, unless a cluster it
        touches would have the same: the touching clusters are then
        recoloured (see the module notes) so that no two of them share a
        colour while no cluster has 18 or more touching ones. Noise takes
        ``noise_color``.

    See Also
    --------
    plot_ppi, plot_range_time : use these colours.

    Examples
    --------
    >>> from gridscan.plot import cluster_colors
    >>> colors = cluster_colors([0, 1, -1, 0])
    >>> colors.shape, bool((colors[0] == colors[3]).all()), bool((colors[0] == colors[1]).all())
    ((4, 4), True, False)
    >>> colors = cluster_colors([0, 18, 36], touching=[(0, 18), (18, 36)])
    >>> bool((colors[0] == colors[1]).all()), bool((colors[1] == colors[2]).all())
    (False, False)
    """
    from matplotlib.colors import to_rgba

    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels must be a 1-D array of integers; got shape {labels.shape} "
                         f"and dtype {labels.dtype}")
    palette = _palette()
    colors = np.empty((labels.shape[0], 4))
    clustered = labels >= 0
    entry = _palette_entries(labels[clustered], touching, len(palette))
    colors[clustered, :3] = palette[entry]
    colors[clustered, 3] = 1.0
    colors[~clustered] = to_rgba(noise_color)
    return colors


def _palette_entries(labels, touching, n_colors):
    """Palette entry of every label (>= 0): k % n_colors, recoloured where clusters touch."""
    entry = labels % n_colors
    if touching is None or labels.size == 0:
        return entry
    pairs = np.asarray(touching, dtype=np.int64).reshape(-1, 2)
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & (pairs >= 0).all(axis=1)]
    if not pairs.size:
        return entry
    try:
        import networkx as nx
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        return entry
    graph = nx.Graph()
    graph.add_edges_from(map(tuple, np.unique(np.sort(pairs, axis=1), axis=0).tolist()))
    if max(degree for _, degree in graph.degree()) < n_colors:
        classes = nx.equitable_color(graph, n_colors)
    else:  # too many neighbours for n_colors: the fewest colours greedy finds, wrapped
        classes = {node: c % n_colors
                   for node, c in nx.greedy_color(graph, strategy="largest_first").items()}
    nodes = np.fromiter(classes, dtype=np.int64, count=len(classes))
    found = np.fromiter(classes.values(), dtype=np.int64, count=len(classes))
    # Match colour classes to palette entries so that most clusters keep entry k % n.
    agreement = np.zeros((n_colors, n_colors))
    np.add.at(agreement, (found, nodes % n_colors), 1.0)
    rows, columns = linear_sum_assignment(agreement, maximize=True)
    mapping = np.empty(n_colors, dtype=np.int64)
    mapping[rows] = columns
    recoloured = dict(zip(nodes.tolist(), mapping[found].tolist(), strict=True))
    return np.array([recoloured.get(label, label % n_colors) for label in labels.tolist()],
                    dtype=np.int64) if recoloured else entry


def _touching_clusters(cells, labels, *, reach=2, period=None):
    """Pairs of cluster labels with cells at most ``reach`` steps apart on an integer lattice.

    Parameters
    ----------
    cells : ndarray of int of shape (n_points, 3)
        Lattice cell of every point: a group (sweep; only equal groups
        touch), then two integer coordinates.
    labels : ndarray of int of shape (n_points,)
        Cluster labels; negative ones are ignored.
    reach : int, default=2
        Chebyshev distance, in cells, within which two clusters touch.
    period : int, default=None
        Period of the first coordinate (rays around a full circle), or None.

    Returns
    -------
    pairs : ndarray of int of shape (n_pairs, 2)
        Distinct pairs (a, b), a < b.
    """
    keep = labels >= 0
    cells, labels = cells[keep].astype(np.int64), labels[keep].astype(np.int64)
    if labels.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    low = cells.min(axis=0)
    cells = cells - low
    span_a = (int(period) if period else int(cells[:, 1].max()) + 1 + reach)
    span_b = int(cells[:, 2].max()) + 1 + reach
    if period:
        cells[:, 1] %= span_a

    def key(group, a, b):
        return (group * span_a + a) * span_b + b

    keys = key(cells[:, 0], cells[:, 1], cells[:, 2])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    found = []
    for da in range(-reach, reach + 1):
        for db in range(-reach, reach + 1):
            if (da, db) <= (0, 0):  # each pair of offsets once
                continue
            a = cells[:, 1] + da
            b = cells[:, 2] + db
            if period:
                a %= span_a
                inside = (b >= 0) & (b < span_b)
            else:
                inside = (a >= 0) & (a < span_a) & (b >= 0) & (b < span_b)
            wanted = key(cells[inside, 0], a[inside], b[inside])
            at = np.minimum(np.searchsorted(sorted_keys, wanted), sorted_keys.size - 1)
            hit = sorted_keys[at] == wanted
            mine = labels[inside][hit]
            theirs = labels[order[at[hit]]]
            differ = mine != theirs
            found.append(np.column_stack([mine[differ], theirs[differ]]))
    pairs = np.sort(np.concatenate(found), axis=1)
    return np.unique(pairs, axis=0) if pairs.size else np.zeros((0, 2), dtype=np.int64)


def _check_labels(labels, n_points):
    labels = np.asarray(labels)
    if labels.shape != (n_points,):
        raise ValueError(f"labels has shape {labels.shape}; expected ({n_points},), one "
                         f"label per point")
    return labels


def _draw_cells(ax, corners, labels, noise_color, legend, touching=None):
    """Fill one polygon per point, noise first, and add a legend of the counts."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    colors = cluster_colors(labels, noise_color=noise_color, touching=touching)
    order = np.argsort(labels >= 0, kind="stable")
    # Edges in the face colour close the hairline seams between neighbouring cells.
    cells = PolyCollection(corners[order], facecolors=colors[order], edgecolors=colors[order],
                           linewidths=0.3)
    ax.add_collection(cells)
    if legend:
        n_clusters = np.unique(labels[labels >= 0]).shape[0]
        n_noise = int(np.count_nonzero(labels < 0))
        handles = [Patch(color=noise_color, label=f"noise: {n_noise:,} points")]
        if n_clusters:
            first = colors[np.argmax(labels >= 0)]
            plural = "s" if n_clusters != 1 else ""
            handles.insert(0, Patch(color=first, label=f"{n_clusters:,} cluster{plural}: "
                                                      f"{len(labels) - n_noise:,} points"))
        ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)
    return cells


def _new_axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 7))[1]


def plot_ppi(points, labels, *, ax=None, gate_spacing=None, ray_spacing=None,
             noise_color=NOISE_COLOR, max_range=None, rings=True, legend=True, title=None):
    """Plan position indicator (PPI) of clustered radar gates.

    Each gate is drawn as its fan cell (slant range +- half a gate, azimuth
    +- half a ray step) projected on the ground with the 4/3-earth beam
    model, in km east and north of the radar.

    Parameters
    ----------
    points : PolarPoints or array-like of shape (n_points, 2) or (n_points, 3)
        Gates: a :class:`~gridscan.radar.PolarPoints`, or columns slant range
        (km), azimuth (degrees) and optionally elevation (degrees, else 0).
    labels : array-like of int of shape (n_points,)
        Cluster labels; -1 is noise, drawn grey.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure with pyplot.
    gate_spacing : float, default=None
        Gate length in km. None takes ``points.gate_spacing``, or the median
        step between the distinct ranges.
    ray_spacing : float, default=None
        Angular width of a cell in degrees, taken like ``gate_spacing``.
    noise_color : color, default="#bdbdbd"
        Colour of noise.
    max_range : float, default=None
        Half-width of the square view, km; None fits the data.
    rings : bool, default=True
        Draw range rings.
    legend : bool, default=True
        Show the number of clusters and of noise points.
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on, with equal aspect and axes in km.

    See Also
    --------
    cluster_colors : the colour of each label.
    gridscan.radar.ppi_features : the same projection, as clustering features.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from gridscan.plot import plot_ppi
    >>> from gridscan.radar import make_radar_scan
    >>> points, truth = make_radar_scan(n_rays=120, n_gates=160, random_state=0)
    >>> ax = Figure().add_subplot()
    >>> ax = plot_ppi(points, truth, ax=ax)
    >>> ax.get_xlabel()
    'East of radar (km)'
    """
    if isinstance(points, PolarPoints):
        slant, azimuth, elevation = points.range, points.azimuth, points.elevation
        gate_spacing = points.gate_spacing if gate_spacing is None else gate_spacing
        ray_spacing = points.ray_spacing if ray_spacing is None else ray_spacing
    else:
        columns = np.asarray(points, dtype=np.float64)
        if columns.ndim != 2 or columns.shape[1] not in (2, 3):
            raise ValueError(f"points must be PolarPoints or an array of shape (n, 2) or "
                             f"(n, 3) holding range, azimuth[, elevation]; got shape "
                             f"{columns.shape}")
        slant, azimuth = columns[:, 0], columns[:, 1]
        elevation = columns[:, 2] if columns.shape[1] == 3 else np.zeros_like(slant)
    labels = _check_labels(labels, slant.shape[0])
    if gate_spacing is None:
        gate_spacing = _typical_step(np.unique(slant))
    if ray_spacing is None:
        ray_spacing = _typical_step(np.unique(azimuth), period=360.0)
    for name, value in (("gate_spacing", gate_spacing), ("ray_spacing", ray_spacing)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number (it cannot be inferred from "
                             f"fewer than two distinct values); got {value!r}")

    ax = _new_axes(ax)
    half_gate, half_ray = 0.5 * gate_spacing, 0.5 * ray_spacing
    corner_range = slant[:, None] + np.array([-half_gate, half_gate, half_gate, -half_gate])
    corner_azimuth = azimuth[:, None] + np.array([-half_ray, -half_ray, half_ray, half_ray])
    x, y, _ = polar_to_cartesian(np.maximum(corner_range, 0.0), corner_azimuth,
                                 elevation[:, None])
    group = (points.sweep if isinstance(points, PolarPoints)
             else np.round(elevation * 100.0).astype(np.int64))
    n_rays = max(1, int(round(360.0 / ray_spacing)))
    cells = np.column_stack([group, np.round(np.mod(azimuth, 360.0) / ray_spacing),
                             np.round(slant / gate_spacing)]).astype(np.int64)
    touching = _touching_clusters(cells, labels, period=n_rays)
    _draw_cells(ax, np.stack([x, y], axis=-1), labels, noise_color, legend, touching)

    if max_range is None:
        max_range = float(np.hypot(x, y).max()) if x.size else 1.0
    if rings:
        _draw_rings(ax, max_range)
    ax.plot(0.0, 0.0, marker="+", color="black", markersize=8, zorder=3)
    ax.set_xlim(-max_range, max_range)
    ax.set_ylim(-max_range, max_range)
    ax.set_aspect("equal")
    ax.set_xlabel("East of radar (km)")
    ax.set_ylabel("North of radar (km)")
    if title is not None:
        ax.set_title(title)
    return ax


def _draw_rings(ax, max_range):
    from matplotlib.patches import Circle
    from matplotlib.ticker import MaxNLocator

    for radius in MaxNLocator(nbins=4).tick_values(0.0, max_range):
        if 0 < radius <= max_range:
            ax.add_patch(Circle((0.0, 0.0), radius, fill=False, linewidth=0.6,
                                edgecolor="0.55", linestyle=":", zorder=0.5))


def plot_range_time(time, range, labels, *, ax=None, time_step=None, range_step=None,
                    noise_color=NOISE_COLOR, legend=True, title=None):
    """Range-time plot of clustered echoes, SuperDARN style.

    Each point is drawn as the cell ``[time, time + time_step)`` by
    ``[range, range + range_step)``; pass the rows of one beam for the
    classic plot.

    Parameters
    ----------
    time : array-like of shape (n_points,)
        Scan start times: datetime64 (drawn as dates) or numbers.
    range : array-like of shape (n_points,)
        Range to the start of the gate, km; for SuperDARN ``r_init + gate * dr``.
    labels : array-like of int of shape (n_points,)
        Cluster labels; -1 is noise, drawn grey.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure with pyplot.
    time_step : timedelta-like or float, default=None
        Cell width: the scan length. None takes the median step between the
        distinct times.
    range_step : float, default=None
        Cell height in km. None takes the median step between the distinct ranges.
    noise_color : color, default="#bdbdbd"
        Colour of noise.
    legend : bool, default=True
        Show the number of clusters and of noise points.
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on: time along x, range in km along y.

    See Also
    --------
    gridscan.radar.superdarn_cells : scan numbers and start times of a table.
    plot_ppi : the plan view.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from gridscan.plot import plot_range_time
    >>> time = np.datetime64("2024-03-01T00:00") + np.arange(4) * np.timedelta64(2, "m")
    >>> ax = plot_range_time(time, [180.0, 225.0, 225.0, 270.0], [0, 0, 1, -1],
    ...                      ax=Figure().add_subplot())
    >>> ax.get_ylabel()
    'Range (km)'
    """
    from matplotlib import dates

    time = np.asarray(time)
    start = np.asarray(range, dtype=np.float64)
    labels = _check_labels(labels, start.shape[0])
    if time.shape != start.shape:
        raise ValueError(f"time has shape {time.shape}; expected {start.shape}, like range")
    is_date = np.issubdtype(time.dtype, np.datetime64)
    if is_date:
        x = dates.date2num(time)
        if time_step is not None:
            time_step = np.timedelta64(time_step) / np.timedelta64(1, "D")
    else:
        x = time.astype(np.float64)
    width = _typical_step(np.unique(x)) if time_step is None else float(time_step)
    height = _typical_step(np.unique(start)) if range_step is None else float(range_step)
    for name, value in (("time_step", width), ("range_step", height)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive (it cannot be inferred from fewer "
                             f"than two distinct values); got {value!r}")

    ax = _new_axes(ax)
    corners = np.stack([
        np.column_stack([x, x + width, x + width, x]),
        np.column_stack([start, start, start + height, start + height]),
    ], axis=-1)
    cells = np.column_stack([np.zeros(x.shape), np.round((x - x.min(initial=0.0)) / width),
                             np.round(start / height)]).astype(np.int64)
    _draw_cells(ax, corners, labels, noise_color, legend, _touching_clusters(cells, labels))
    if x.size:
        ax.set_xlim(x.min(), x.max() + width)
        ax.set_ylim(start.min(), start.max() + height)
    if is_date:
        locator = dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
        ax.set_xlabel("Time (UTC)")
    else:
        ax.set_xlabel("Time")
    ax.set_ylabel("Range (km)")
    if title is not None:
        ax.set_title(title)
    return ax


SCALE_COLOR = "#d62728"
"""Colour of the line marking a chosen scale in the k-distance and reachability plots."""


def plot_k_distance(distances, *, ax=None, scale=None, k=None, color="#1f77b4", title=None):
    """Sorted k-distance plot: every point's k-th smallest scaled distance, largest first.

    The classic aid for choosing DBSCAN's eps, in gridscan's scaled units: a
    point whose k-distance is at most ``s`` is a core point of
    ``GridDBSCAN(eps * s, min_samples=k)``. The knee of the curve, where it
    turns from the steep part (noise) to the flat part (clusters), suggests a
    scale.

    Parameters
    ----------
    distances : array-like of shape (n_points,)
        ``gridscan.k_distance(X, k, eps=...)`` (or ``GridHDBSCAN.core_scales_``);
        infinite values are left out.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    scale : float, default=None
        A scale to mark with a horizontal line (and the share of core points).
    k : int, default=None
        The k of the distances, for the axis label.
    color : color, default="#1f77b4"
        Colour of the curve.
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    gridscan.k_distance : the distances.
    plot_reachability : the whole hierarchy at once.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from gridscan import k_distance
    >>> from gridscan.plot import plot_k_distance
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> ax = plot_k_distance(k_distance(X, 5), scale=0.3, k=5,
    ...                      ax=Figure().add_subplot())
    >>> ax.get_ylabel()
    '5-distance (scale)'
    """
    values = np.asarray(distances, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"distances must be a 1-D array; got shape {values.shape}")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("distances must be >= 0 (infinite values are allowed); got "
                         f"{values[np.isnan(values) | (values < 0)][0]!r}")
    ax = _new_axes(ax)
    finite = np.sort(values[np.isfinite(values)])[::-1]
    ax.plot(np.arange(finite.shape[0]), finite, color=color, linewidth=1.5)
    if scale is not None:
        share = np.count_nonzero(values <= scale) / max(values.shape[0], 1)
        ax.axhline(scale, color=SCALE_COLOR, linewidth=1.0, linestyle="--",
                   label=f"scale {scale:g}: {share:.0%} core points")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel("points, sorted by decreasing k-distance")
    ax.set_ylabel(f"{k if k is not None else 'k'}-distance (scale)")
    ax.set_xlim(0, max(finite.shape[0] - 1, 1))
    ax.set_ylim(bottom=0)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_reachability(model, *, ax=None, scale=None, labels=None, noise_color=NOISE_COLOR,
                      title=None):
    """Reachability plot of a fitted GridHDBSCAN: the hierarchy as valleys.

    The points are drawn as bars in the order of ``model.reachability()``
    (Prim's walk of the minimum spanning tree), each as high as the scale at
    which it was reached: every valley is a cluster, and a horizontal cut at a
    scale ``s`` splits the bars into the clusters of ``model.labels_at(s)``.
    Bars take the colour of their label; the first point of each component of
    the forest (infinite reachability) is drawn up to the top of the axes.

    Parameters
    ----------
    model : GridHDBSCAN
        A fitted estimator.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    scale : float, default=None
        A scale to mark with a horizontal line; the bars then take the labels
        of ``model.labels_at(scale)`` unless ``labels`` is given.
    labels : array-like of int of shape (n_points,), default=None
        Labels to colour the bars by; ``model.labels_`` when None (and no scale).
    noise_color : color, default="#bdbdbd"
        Colour of noise (label -1).
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    gridscan.GridHDBSCAN.reachability : the order and heights drawn.
    plot_k_distance : core scales alone.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from gridscan import GridHDBSCAN
    >>> from gridscan.plot import plot_reachability
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.3, (50, 2)), rng.normal(4, 0.3, (50, 2))])
    >>> model = GridHDBSCAN(min_cluster_size=10).fit(X)
    >>> ax = plot_reachability(model, scale=1.0, ax=Figure().add_subplot())
    >>> len(ax.patches)
    100
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "core_scales_")
    order, reach = model.reachability()
    n = order.shape[0]
    if labels is None:
        labels = model.labels_ if scale is None else model.labels_at(scale)
    labels = _check_labels(labels, n)
    ax = _new_axes(ax)
    finite = reach[np.isfinite(reach)]
    top = 1.05 * max(finite.max() if finite.size else 1.0, 0.0 if scale is None else scale)
    top = top if top > 0 else 1.0
    heights = np.where(np.isfinite(reach), reach, top)
    colors = cluster_colors(labels[order], noise_color=noise_color)
    ax.bar(np.arange(n), heights, width=1.0, color=colors, edgecolor=colors, linewidth=0.0,
           align="edge")
    if scale is not None:
        ax.axhline(scale, color=SCALE_COLOR, linewidth=1.0, linestyle="--",
                   label=f"scale {scale:g}")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlim(0, max(n, 1))
    ax.set_ylim(0, top)
    ax.set_xlabel("points, in reachability order")
    ax.set_ylabel("reachability (scale)")
    if title is not None:
        ax.set_title(title)
    return ax
