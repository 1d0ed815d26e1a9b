"""A whole volume scan in 3-D: one cluster per storm, not one per sweep.
======================================================================

A weather radar scans a volume as a stack of sweeps at rising elevations
(NEXRAD: 14 of them, 0.5 to 19.5 degrees). A storm crosses several sweeps;
clustered sweep by sweep it becomes one cluster in each. ``volume_features``
puts every gate at its place in 3-D (east, north, height above the radar,
4/3-earth beam model) and gives it a horizontal radius that follows its own
sweep's ray spacing and a vertical radius that bridges the gap to the
neighbouring sweeps, both growing with range; one GridDBSCAN fit then
finds each storm once.

On a synthetic volume (``make_radar_volume``) the script checks the clusters
against the known echoes, compares with sweep-by-sweep clustering, and draws
the lowest sweep and a height cross-section, radar_volume.png. A real
volume read with ``from_pyart(radar, field, threshold=...)`` or
``from_xradar(tree, field, sweeps=...)`` goes through ``volume_features``
the same way; each sweep keeps its own ray spacing (NEXRAD's lowest sweeps
have 0.5-degree rays, the upper ones 1 degree).

Run:  python examples/radar_volume.py [--small]
"""

import argparse
import time

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import adjusted_rand_score

from gridscan.plot import cluster_colors
from gridscan.radar import (
    NEXRAD_ELEVATIONS,
    ground_features,
    make_radar_volume,
    volume_features,
)


def is_one_cluster(labels, truth, echo):
    """Whether one cluster holds 99% of the echo's gates and no gate of another echo."""
    inside = labels[truth == echo]
    clustered = inside[inside >= 0]
    if clustered.size == 0:
        return False
    main = np.bincount(clustered).argmax()
    others = truth[(labels == main) & (truth >= 0) & (truth != echo)]
    return np.mean(inside == main) >= 0.99 and others.size == 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="a reduced size for a quick run (used in CI): 180 rays x 240 "
                             "gates of 500 m, 8 sweeps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-samples", type=int, default=25)
    parser.add_argument("--output", default="radar_volume.png", help="image to write")
    args = parser.parse_args(argv)
    if args.small:
        size = dict(n_rays=180, n_gates=240, gate_spacing=0.5,
                    elevations=NEXRAD_ELEVATIONS[:8])
    else:
        size = dict(n_rays=360, n_gates=480, gate_spacing=0.25, elevations=NEXRAD_ELEVATIONS)

    points, truth = make_radar_volume(random_state=args.seed, **size)
    echo = truth >= 0
    print(f"volume: {len(size['elevations'])} sweeps x {size['n_rays']} rays x "
          f"{size['n_gates']} gates; {len(points):,} gates kept, {echo.sum():,} of them in "
          f"{np.unique(truth[echo]).size} echoes")

    features = volume_features(points)
    started = time.perf_counter()
    labels = features.fit_predict(min_samples=args.min_samples)
    elapsed = time.perf_counter() - started
    whole = [k for k in np.unique(truth[echo]) if is_one_cluster(labels, truth, k)]
    print(f"3-D (volume_features): {labels.max() + 1} clusters, {elapsed:.3f} s; adjusted "
          f"Rand index against the echoes {adjusted_rand_score(truth[echo], labels[echo]):.3f}")
    print(f"echoes that are one cluster of their own (99% of their gates, no other echo): "
          f"{len(whole)} of "
          f"{np.unique(truth[echo]).size}")

    by_sweep = np.full(len(points), -1)
    n_sweep_clusters = 0
    for number in np.unique(points.sweep):
        rows = np.flatnonzero(points.sweep == number)
        part = ground_features(points[rows]).fit_predict(min_samples=8)
        by_sweep[rows] = np.where(part >= 0, part + n_sweep_clusters, -1)
        n_sweep_clusters += part.max() + 1
    print(f"sweep by sweep (ground_features): {n_sweep_clusters} clusters; adjusted Rand "
          f"index {adjusted_rand_score(truth[echo], by_sweep[echo]):.3f}")
    if len(whole) < 0.8 * np.unique(truth[echo]).size:
        raise SystemExit("fewer than 80% of the echoes came out as one cluster each")

    figure = Figure(figsize=(12, 6), dpi=100, layout="constrained")
    colors = cluster_colors(labels)
    low = points.sweep == points.sweep.min()
    ax = figure.add_subplot(1, 2, 1)
    ax.scatter(features.X[low, 0], features.X[low, 1], s=0.5, linewidths=0, c=colors[low])
    ax.set_aspect("equal")
    ax.set_xlabel("east (km)")
    ax.set_ylabel("north (km)")
    ax.set_title(f"lowest sweep ({NEXRAD_ELEVATIONS[0]} degrees), 3-D clusters")
    ax = figure.add_subplot(1, 2, 2)
    ax.scatter(np.hypot(features.X[:, 0], features.X[:, 1]), features.X[:, 2], s=0.5,
               linewidths=0, c=colors)
    ax.set_xlabel("ground range (km)")
    ax.set_ylabel("height above the radar (km)")
    ax.set_title("every sweep, by range and height")
    figure.savefig(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
