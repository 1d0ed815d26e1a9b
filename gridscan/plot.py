"""Plots of clustered radar data (needs matplotlib: ``pip install gridscan[plot]``).

plot_ppi         plan position indicator: gates drawn as fan cells in km east/north
plot_range_time  range-time plot (SuperDARN style): one cell per gate and scan
cluster_colors   the colour of every label: distinct colours for clusters, grey for noise;
                 clusters that touch never share a colour
plot_k_distance  sorted k-distances (gridscan.k_distance), to choose a scale or an eps
plot_reachability  reachability plot (OPTICS style) of a fitted GridHDBSCAN

plot_ppi draws the gates of each sweep as one quadrilateral mesh over its
(ray, gate) grid (a matplotlib QuadMesh, as pcolormesh makes), which Agg draws
in one pass; points too scattered to form a grid, and plot_range_time's cells,
are drawn one polygon each (a PolyCollection). Noise is drawn first, clusters
on top.

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
    order = np.argsort(nodes)
    nodes, recoloured = nodes[order], mapping[found][order]
    at = np.minimum(np.searchsorted(nodes, labels), nodes.size - 1)
    hit = nodes[at] == labels
    entry[hit] = recoloured[at[hit]]
    return entry


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
    period : int or ndarray of int of shape (n_points,), default=None
        Period of the first coordinate (rays around a full circle), one for
        all points or each point's own (sweeps of different ray spacing), or None.

    Returns
    -------
    pairs : ndarray of int of shape (n_pairs, 2)
        Distinct pairs (a, b), a < b.
    """
    keep = labels >= 0
    cells, labels = cells[keep].astype(np.int64), labels[keep].astype(np.int64)
    if labels.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    group, a, b = (cells - cells.min(axis=0)).T
    if period is not None:
        period = np.broadcast_to(np.asarray(period, dtype=np.int64), keep.shape)[keep]
        a = a % period
        span_a = int(period.max())
    else:
        span_a = int(a.max()) + 1
    # Rows and columns padded by ``reach`` on both sides: every neighbour has a key.
    rows, columns = span_a + 2 * reach, int(b.max()) + 1 + 2 * reach
    keys = (group * rows + a + reach) * columns + b + reach
    stored_keys, stored_labels = keys, labels
    if period is not None:
        # Copies of the rows next to the seam in the padding beyond it (across north).
        before, after = a < reach, a >= period - reach
        stored_keys = np.concatenate([keys, keys[before] + period[before] * columns,
                                      keys[after] - period[after] * columns])
        stored_labels = np.concatenate([labels, labels[before], labels[after]])
    n_keys = (int(group.max()) + 1) * rows * columns
    if n_keys <= 4 * stored_keys.size + (1 << 22):
        # A dense table of the lattice: one lookup per neighbour, no sort.
        table = np.full(n_keys, -1, dtype=np.int64)
        table[stored_keys[::-1]] = stored_labels[::-1]  # the first point of a cell wins

        def label_at(wanted):
            return table[wanted]
    else:
        order = np.argsort(stored_keys, kind="stable")
        sorted_keys = stored_keys[order]

        def label_at(wanted):
            at = np.minimum(np.searchsorted(sorted_keys, wanted), sorted_keys.size - 1)
            return np.where(sorted_keys[at] == wanted, stored_labels[order[at]], -1)

    found = []
    for da in range(-reach, reach + 1):
        for db in range(-reach, reach + 1):
            if (da, db) <= (0, 0):  # each pair of offsets once
                continue
            theirs = label_at(keys + (da * columns + db))
            touch = (theirs >= 0) & (theirs != labels)
            found.append(np.column_stack([labels[touch], theirs[touch]]))
    pairs = np.sort(np.concatenate(found), axis=1)
    # Distinct pairs through one integer code each (np.unique over rows is far slower).
    width = int(labels.max()) + 1
    codes = np.unique(pairs[:, 0] * width + pairs[:, 1])
    return np.column_stack([codes // width, codes % width])


def _check_labels(labels, n_points):
    labels = np.asarray(labels)
    if labels.shape != (n_points,):
        raise ValueError(f"labels has shape {labels.shape}; expected ({n_points},), one "
                         f"label per point")
    return labels


def _draw_cells(ax, corners, labels, noise_color, legend, touching=None):
    """Fill one polygon per point, noise first, and add a legend of the counts."""
    from matplotlib.collections import PolyCollection

    colors = cluster_colors(labels, noise_color=noise_color, touching=touching)
    order = np.argsort(labels >= 0, kind="stable")
    # Edges in the face colour close the hairline seams between neighbouring cells.
    cells = PolyCollection(corners[order], facecolors=colors[order], edgecolors=colors[order],
                           linewidths=0.3)
    ax.add_collection(cells)
    if legend:
        _add_legend(ax, labels, colors[np.argmax(labels >= 0)] if labels.size else None,
                    noise_color)
    return cells


def _add_legend(ax, labels, cluster_color, noise_color):
    """A legend of the clusters (in the colour of the first) and of the noise, with counts."""
    from matplotlib.patches import Patch

    n_clusters = _distinct(labels[labels >= 0])[0].shape[0]
    n_noise = int(np.count_nonzero(labels < 0))
    handles = [Patch(color=noise_color, label=f"noise: {n_noise:,} points")]
    if n_clusters:
        plural = "s" if n_clusters != 1 else ""
        handles.insert(0, Patch(color=cluster_color, label=f"{n_clusters:,} cluster{plural}: "
                                                  f"{len(labels) - n_noise:,} points"))
    ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)


def _new_axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 7))[1]


def _distinct(keys):
    """``np.unique(keys, return_inverse=True)`` for integers, without a sort when they are dense."""
    keys = np.asarray(keys, dtype=np.int64)
    if keys.size == 0:
        return keys, keys
    low = int(keys.min())
    span = int(keys.max()) - low + 1
    if span > 4 * keys.size + 1024:
        values, inverse = np.unique(keys, return_inverse=True)
        return values, inverse.reshape(-1)
    present = np.zeros(span, dtype=bool)
    present[keys - low] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, rank[keys - low]


def _cell_edges(centres, spacing, group, period=None):
    """Edges of the cells around sorted centres: neighbours share the edge halfway between them.

    Parameters
    ----------
    centres : ndarray of shape (n,)
        Cell centres, sorted within each group, groups contiguous.
    spacing : ndarray of shape (n,)
        Nominal width of each centre's cell (its sweep's ray or gate spacing).
    group : ndarray of int of shape (n,)
        Group (sweep) of each centre; only centres of one group are neighbours.
    period : float, default=None
        Period of the centres (360 for azimuth): the last centre of a group
        may then neighbour its first one across the seam.

    Returns
    -------
    edges : ndarray of shape (n_edges,)
        Edge positions in order; each two consecutive ones bound a cell,
        either a centre's or an empty one (a gap, or the step to the next group).
    owner : ndarray of int of shape (n_edges,)
        The centre whose cell each edge bounds.
    cell : ndarray of int of shape (n,)
        Each centre's cell: the index of its lower edge.

    Notes
    -----
    Two consecutive centres of a group are neighbours when at most 1.5
    spacings apart (a missing ray or gate makes a gap of about 2): their
    cells meet halfway. A centre without a neighbour on a side reaches half
    a spacing on that side. Equal centres are not neighbours: both get the
    full width.
    """
    low = centres - 0.5 * spacing
    high = centres + 0.5 * spacing
    step = np.diff(centres)
    joined = (group[1:] == group[:-1]) & (step > 0) & (step <= 1.5 * spacing[:-1])
    middle = 0.5 * (centres[1:] + centres[:-1])
    high[:-1][joined] = middle[joined]
    low[1:][joined] = middle[joined]
    if period is not None and centres.size:
        first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        last = np.r_[first[1:] - 1, centres.size - 1]
        step = centres[first] + period - centres[last]
        seam = (last > first) & (step > 0) & (step <= 1.5 * spacing[last])
        middle = 0.5 * (centres[last] + centres[first] + period)
        high[last[seam]] = middle[seam]
        low[first[seam]] = middle[seam] - period
    # Each centre's low and high edge in turn; a low edge equal to the previous high one
    # is listed once, so the two cells share it.
    edges = np.column_stack([low, high]).reshape(-1)
    listed = np.ones(edges.size, dtype=bool)
    listed[2::2] = ~joined
    position = np.cumsum(listed) - 1
    owner = np.repeat(np.arange(centres.size), 2)
    return edges[listed], owner[listed], position[0::2]


def _ppi_gates(points, gate_spacing, ray_spacing):
    """Every gate's range, azimuth, elevation, sweep, ray and gate, and each sweep's spacings.

    Returns
    -------
    slant, azimuth, elevation : ndarray of shape (n_points,)
    sweep : ndarray of int of shape (n_points,)
        Sweep of each point, numbered 0 .. n_sweeps - 1.
    ray, gate : ndarray of int of shape (n_points,)
        Keys of each point's ray and gate, unique across sweeps.
    gate_step, ray_step : ndarray of shape (n_sweeps,)
        Gate and ray spacing of each sweep.
    """
    if isinstance(points, PolarPoints):
        slant, azimuth, elevation = points.range, points.azimuth, points.elevation
        numbers, sweep = _distinct(points.sweep)
        # Each sweep's own spacings, as the readers record them: a volume's lowest sweeps
        # may have half the ray spacing of the others. A sweep without a record, or of
        # one ray, has none, and an RHI's is in elevation: those take the typical values
        # of all points, as PolarPoints.geometry() does. (No points: one entry, to check
        # the typical values all the same.)
        recorded = {g.number: g for g in points.sweep_geometry}
        found = [recorded.get(number) for number in numbers.tolist()] or [None]
        gate_step = np.array([np.nan if g is None else g.gate_spacing for g in found])
        ray_step = np.array([g.ray_spacing if g is not None and g.mode == "ppi" else np.nan
                             for g in found])
        gate_step[~np.isfinite(gate_step)] = points.gate_spacing
        ray_step[~np.isfinite(ray_step)] = points.ray_spacing
        ray = sweep * (int(points.ray.max(initial=0)) + 1) + points.ray
        gate = sweep * (int(points.gate.max(initial=0)) + 1) + points.gate
    else:
        columns = np.asarray(points, dtype=np.float64)
        if columns.ndim != 2 or columns.shape[1] not in (2, 3):
            raise ValueError(f"points must be PolarPoints or an array of shape (n, 2) or "
                             f"(n, 3) holding range, azimuth[, elevation]; got shape "
                             f"{columns.shape}")
        slant, azimuth = columns[:, 0], columns[:, 1]
        elevation = columns[:, 2] if columns.shape[1] == 3 else np.zeros_like(slant)
        # Without sweep numbers, the rays of one elevation form a sweep.
        elevations, sweep = np.unique(elevation, return_inverse=True)
        azimuths, azimuth_index = np.unique(azimuth, return_inverse=True)
        ranges, range_index = np.unique(slant, return_inverse=True)
        ray = sweep * azimuths.size + azimuth_index
        gate = sweep * ranges.size + range_index
        gate_step = np.full(max(elevations.size, 1), _typical_step(ranges))
        ray_step = np.full(max(elevations.size, 1), _typical_step(azimuths, period=360.0))
    if gate_spacing is not None:
        gate_step = np.full(gate_step.shape, gate_spacing, dtype=np.float64)
    if ray_spacing is not None:
        ray_step = np.full(ray_step.shape, ray_spacing, dtype=np.float64)
    for name, steps in (("gate_spacing", gate_step), ("ray_spacing", ray_step)):
        bad = ~(np.isfinite(steps) & (steps > 0))
        if bad.any():
            raise ValueError(f"{name} must be a positive number (it cannot be inferred from "
                             f"fewer than two distinct values); got {float(steps[bad][0])!r}")
    return slant, azimuth, elevation, sweep, ray, gate, gate_step, ray_step


def _polar_mesh(slant, azimuth, elevation, sweep, ray, gate, gate_step, ray_step):
    """The mesh of gate cells: rows of rays (sorted by azimuth in each sweep), columns of gates.

    Returns
    -------
    row, column : ndarray of int of shape (n_points,)
        Each point's cell of the mesh.
    angle, row_elevation : ndarray of shape (n_rows + 1,)
        Azimuth and elevation of each row edge of the mesh.
    row_range : ndarray of shape (n_rows + 1, n_columns + 1)
        Slant range of the column edges along each row edge (each sweep its
        own, padded by repeating its last edge).
    """
    rays, ray_of_point = _distinct(ray)
    gates, gate_of_point = _distinct(gate)
    ray_sweep = np.empty(rays.size, dtype=np.int64)
    ray_sweep[ray_of_point] = sweep
    ray_azimuth = np.empty(rays.size)
    ray_azimuth[ray_of_point] = np.mod(azimuth, 360.0)
    ray_elevation = np.empty(rays.size)
    ray_elevation[ray_of_point] = elevation
    gate_sweep = np.empty(gates.size, dtype=np.int64)
    gate_sweep[gate_of_point] = sweep
    gate_range = np.empty(gates.size)
    gate_range[gate_of_point] = slant

    order = np.lexsort((ray_azimuth, ray_sweep))
    angle, owner, cell = _cell_edges(ray_azimuth[order], ray_step[ray_sweep[order]],
                                     ray_sweep[order], period=360.0)
    row_of_ray = np.empty(rays.size, dtype=np.int64)
    row_of_ray[order] = cell
    row_sweep = ray_sweep[order][owner]
    row_elevation = ray_elevation[order][owner]

    order = np.lexsort((gate_range, gate_sweep))
    edges, _, cell = _cell_edges(gate_range[order], gate_step[gate_sweep[order]],
                                 gate_sweep[order])
    sorted_sweep = gate_sweep[order]
    first = np.searchsorted(sorted_sweep, np.arange(gate_step.size))
    last = np.r_[first[1:], sorted_sweep.size] - 1
    start = cell[first]
    n_edges = cell[last] + 2 - start
    table = start[:, None] + np.minimum(np.arange(n_edges.max()), n_edges[:, None] - 1)
    sweep_range = np.maximum(edges[table], 0.0)
    column_of_gate = np.empty(gates.size, dtype=np.int64)
    column_of_gate[order] = cell - start[sorted_sweep]
    return (row_of_ray[ray_of_point], column_of_gate[gate_of_point], angle, row_elevation,
            sweep_range[row_sweep])


# A mesh draws every cell of its grid, a polygon collection only the points: above this
# many cells per point (and a floor that any full sweep fits in) polygons are cheaper.
_MESH_CELLS_PER_POINT = 20
_MESH_CELLS_ALWAYS = 2_000_000


def plot_ppi(points, labels, *, ax=None, gate_spacing=None, ray_spacing=None,
             noise_color=NOISE_COLOR, max_range=None, rings=True, legend=True, title=None):
    """Plan position indicator (PPI) of clustered radar gates.

    Each gate is drawn as its fan cell, projected on the ground with the
    4/3-earth beam model, in km east and north of the radar: in range, from
    halfway to the previous gate to halfway to the next; in azimuth, from
    halfway to the neighbouring ray of its sweep on either side (across north
    too). Where a neighbour is missing (more than 1.5 spacings away), the
    cell reaches half the sweep's gate or ray spacing on that side. On a
    regular sweep this is range +- half a gate and azimuth +- half a ray step.

    The cells of a sweep form one quadrilateral mesh over its (ray, gate)
    grid (a matplotlib ``QuadMesh``, as ``pcolormesh`` draws), so a full
    NEXRAD sweep of 1.3 million gates draws about as fast as with Py-ART's
    ``RadarDisplay.plot_ppi`` (``benchmarks/bench_plot.py``). With
    several sweeps, noise is drawn in one mesh and clusters in another on top
    of it. Points too scattered to form a grid (more than 20 cells of the
    grid per point, beyond 2 million cells) are drawn as one polygon each.

    Parameters
    ----------
    points : PolarPoints or array-like of shape (n_points, 2) or (n_points, 3)
        Gates: a :class:`~gridscan.radar.PolarPoints`, or columns slant range
        (km), azimuth (degrees) and optionally elevation (degrees, else 0);
        without sweep numbers, the rays of one elevation form a sweep.
    labels : array-like of int of shape (n_points,)
        Cluster labels; -1 is noise, drawn grey.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure with pyplot.
    gate_spacing : float, default=None
        Gate length in km, for every sweep. None takes each sweep's own
        (``points.geometry()``), or for arrays the median step between the
        distinct ranges.
    ray_spacing : float, default=None
        Angular step between rays in degrees, for every sweep; None takes
        each sweep's own, like ``gate_spacing``.
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
    >>> ax.get_xlabel(), type(ax.collections[0]).__name__
    ('East of radar (km)', 'QuadMesh')
    """
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import ListedColormap, NoNorm

    slant, azimuth, elevation, sweep, ray, gate, gate_step, ray_step = _ppi_gates(
        points, gate_spacing, ray_spacing)
    labels = _check_labels(labels, slant.shape[0])
    ax = _new_axes(ax)

    # Clusters touch on the lattice of each sweep's own ray and gate steps.
    clustered = labels >= 0
    in_sweep = sweep[clustered]
    n_rays = np.maximum(np.round(360.0 / ray_step), 1).astype(np.int64)
    lattice = np.column_stack([
        in_sweep, np.round(np.mod(azimuth[clustered], 360.0) / ray_step[in_sweep]),
        np.round(slant[clustered] / gate_step[in_sweep])]).astype(np.int64)
    touching = _touching_clusters(lattice, labels[clustered], period=n_rays[in_sweep])
    # The colour of each distinct label (noise first: labels ascend), then none for empty cells.
    distinct, code = _distinct(labels)
    palette = np.vstack([cluster_colors(distinct, noise_color=noise_color, touching=touching),
                         np.zeros((1, 4))])

    x = y = np.zeros(0)
    if slant.size:
        row, column, angle, row_elevation, row_range = _polar_mesh(
            slant, azimuth, elevation, sweep, ray, gate, gate_step, ray_step)
        n_rows, n_columns = angle.size - 1, row_range.shape[1] - 1
        if n_rows * n_columns <= _MESH_CELLS_PER_POINT * slant.size + _MESH_CELLS_ALWAYS:
            x, y, _ = polar_to_cartesian(row_range, angle[:, None], row_elevation[:, None])
            cell = row * n_columns + column
            # Within a sweep cells do not overlap; across sweeps noise goes under clusters.
            layers = ([(~clustered, clustered)] if gate_step.size == 1
                      else [(~clustered,), (clustered,)])
            for layer in layers:
                # Each cell's entry of the palette: Agg maps them to colours as it draws.
                entry = np.full(n_rows * n_columns, distinct.size, dtype=np.int32)
                for chosen in layer:
                    entry[cell[chosen]] = code[chosen]
                # The data limits from the mesh's bounding box, not from all its vertices.
                ax.add_collection(QuadMesh(
                    np.stack([x, y], axis=-1), array=entry.reshape(n_rows, n_columns),
                    cmap=ListedColormap(palette), norm=NoNorm(), edgecolors="none",
                    antialiased=False), autolim=False)
            ax.update_datalim([(x.min(), y.min()), (x.max(), y.max())])
        else:
            # The corners of the same cells, one polygon per point.
            corner_range = np.column_stack([row_range[row, column], row_range[row, column + 1],
                                            row_range[row, column + 1], row_range[row, column]])
            corner_azimuth = np.column_stack([angle[row], angle[row], angle[row + 1],
                                              angle[row + 1]])
            x, y, _ = polar_to_cartesian(corner_range, corner_azimuth, elevation[:, None])
            _draw_cells(ax, np.stack([x, y], axis=-1), labels, noise_color, legend=False,
                        touching=touching)
    if legend:
        _add_legend(ax, labels, palette[code[np.argmax(clustered)]] if code.size else None,
                    noise_color)

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
