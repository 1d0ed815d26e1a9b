"""Two radars, one picture: an echo seen by both is one cluster.
=============================================================

Two synthetic weather radars 36 km apart sweep the same sky
(``make_radar_network``). ``network_features`` places every gate on the
WGS84 ellipsoid from its own radar's site (pyproj) and then in one
azimuthal-equidistant frame about the two sites, and gives each gate the
radius of its own radar's beam at its own range as ``sample_eps``; one
GridDBSCAN then clusters both radars together. The script checks that every
echo seen by both radars comes out as one cluster holding gates of both.

It also runs the tempting shortcut, the one-radar recipe of the README
applied to both radars at once: x, y in the shared frame with each radar's
own ground range as the window feature of ``beam_eps``. The window compares
ranges measured from two different sites, so it rejects the pairs of gates
across radars except near the perpendicular bisector of the two sites: most
echoes split into one cluster per radar.

With a gridscan that has the haversine metric it clusters in
latitude/longitude too (``frame="latlon"``) and compares.

Writes two_radars.png.

Run:  python examples/two_radars.py [--small]
"""

import argparse
import time

import numpy as np
from matplotlib.figure import Figure
from pyproj import Transformer
from sklearn.metrics import adjusted_rand_score

from gridscan import GridDBSCAN
from gridscan.plot import cluster_colors
from gridscan.radar import beam_eps, make_radar_network, network_features, ppi_features

SITES = [(35.0, -97.7), (35.0, -97.3036)]   # 36 km apart on the 35th parallel
CENTRE = (35.0, -97.5018)                  # the frame's centre: between the two


def has_haversine():
    """Whether this gridscan's GridDBSCAN takes metric="haversine"."""
    try:
        GridDBSCAN(eps=0.1, min_samples=1, metric="haversine").fit(np.zeros((2, 2)))
    except ValueError:
        return False
    return True


def shared_clusters(labels, source):
    """Clusters holding gates of more than one radar."""
    clustered = labels >= 0
    pairs = np.unique(np.column_stack([labels[clustered], source[clustered]]), axis=0)
    return np.count_nonzero(np.bincount(pairs[:, 0]) > 1)


def one_shared_cluster(labels, truth, source, echoes):
    """The echoes that are exactly one cluster, and that cluster holds gates of both radars."""
    return [k for k in echoes
            if np.unique(labels[truth == k]).size == 1 and labels[truth == k][0] >= 0
            and np.unique(source[labels == labels[truth == k][0]]).size == 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="a reduced size for a quick run (used in CI): 180 rays x 240 "
                             "gates of 500 m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-samples", type=int, default=15)
    parser.add_argument("--output", default="two_radars.png", help="image to write")
    args = parser.parse_args(argv)
    size = dict(n_rays=180, n_gates=240, gate_spacing=0.5) if args.small else {}

    radars, truths = make_radar_network(SITES, random_state=args.seed, **size)
    truth = np.concatenate(truths)
    seen = [set(np.unique(t[t >= 0]).tolist()) for t in truths]
    both = sorted(seen[0] & seen[1])
    print(f"two radars {radars[0].latitude:.2f}N {radars[0].longitude:.2f}E and "
          f"{radars[1].latitude:.2f}N {radars[1].longitude:.2f}E; gates kept: "
          f"{', '.join(f'{len(r):,}' for r in radars)}; echoes seen by both: {len(both)}")

    features = network_features(radars, centre=CENTRE)
    started = time.perf_counter()
    labels = features.fit_predict(min_samples=args.min_samples)
    elapsed = time.perf_counter() - started
    echo = truth >= 0
    whole = one_shared_cluster(labels, truth, features.source, both)
    print(f"network_features (shared azimuthal-equidistant frame, per-gate radius): "
          f"{labels.max() + 1} clusters, {shared_clusters(labels, features.source)} shared "
          f"by both radars, {elapsed:.3f} s; adjusted Rand index against the echoes "
          f"{adjusted_rand_score(truth[echo], labels[echo]):.3f}")
    print(f"echoes seen by both radars that are one cluster with gates of both: "
          f"{len(whole)} of {len(both)}")
    if len(whole) != len(both):
        raise SystemExit("an echo seen by both radars was not one shared cluster")

    # The shortcut: each radar's own ground range as the window feature.
    own_range = np.concatenate([ppi_features(r)[:, 2] for r in radars])
    naive_X = np.column_stack([features.X, own_range])
    naive = GridDBSCAN(eps=beam_eps(radars[0]), min_samples=args.min_samples,
                       window_features=[2]).fit_predict(naive_X)
    print(f"shortcut (each radar's own ground range as the window): {naive.max() + 1} "
          f"clusters, {shared_clusters(naive, features.source)} shared by both radars; echoes "
          f"seen by both that are one cluster with gates of both: "
          f"{len(one_shared_cluster(naive, truth, features.source, both))} of {len(both)}")

    if has_haversine():
        latlon = network_features(radars, frame="latlon")
        labels_ll = latlon.fit_predict(min_samples=args.min_samples)
        print(f"frame='latlon' (haversine): {labels_ll.max() + 1} clusters; agreement with "
              f"the projected frame (adjusted Rand index) "
              f"{adjusted_rand_score(labels, labels_ll):.4f}")

    to_frame = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={CENTRE[0]} +lon_0={CENTRE[1]} +ellps=WGS84 +units=km",
        always_xy=True)
    sites = np.array([to_frame.transform(r.longitude, r.latitude) for r in radars])
    figure = Figure(figsize=(12, 6), dpi=100, layout="constrained")
    for k, (title, shown) in enumerate((("network_features: one frame, per-gate radius",
                                         labels),
                                        ("shortcut: each radar's own range as a window",
                                         naive))):
        ax = figure.add_subplot(1, 2, k + 1)
        order = np.argsort(shown >= 0, kind="stable")  # noise underneath
        ax.scatter(features.X[order, 0], features.X[order, 1], s=1.0, linewidths=0,
                   c=cluster_colors(shown[order]))
        ax.plot(sites[:, 0], sites[:, 1], "k^", markersize=8, label="radar sites")
        ax.legend(loc="upper right")
        ax.set_aspect("equal")
        ax.set_xlabel("east of the sites' midpoint (km)")
        ax.set_ylabel("north (km)")
        ax.set_title(title)
    figure.savefig(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
