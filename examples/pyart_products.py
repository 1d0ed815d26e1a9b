"""From a Py-ART sweep to a cluster table, a GateFilter and a CF/Radial file.
===========================================================================

Reads a NEXRAD level-3 base reflectivity sweep with Py-ART (by default the
KBMX sample that ships with Py-ART: 360 rays x 230 gates of 1 km), clusters
the gates above a reflectivity threshold in the ground plane, and closes the
loop in Py-ART's own types: a table of the clusters (size, area, position,
extent, reflectivity), a ``GateFilter`` that removes noise and small clusters
(compared with ``pyart.correct.despeckle_field``), and the radar saved as
CF/Radial with the labels as a field, read back to check them. Writes
pyart_products.png and pyart_products.nc.

Run:  python examples/pyart_products.py [--small] [--file LEVEL3_FILE]
"""

import argparse
import os

import numpy as np
from matplotlib.figure import Figure

os.environ.setdefault("PYART_QUIET", "1")  # Py-ART prints a banner on import otherwise
import pyart  # noqa: E402

from gridscan import GridDBSCAN  # noqa: E402
from gridscan.plot import plot_ppi  # noqa: E402
from gridscan.radar import (  # noqa: E402
    beam_eps,
    cluster_table,
    from_pyart,
    ppi_features,
    to_gatefilter,
    to_pyart_field,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="a reduced size for a quick run (used in CI): a higher threshold")
    parser.add_argument("--file", default=pyart.testing.NEXRAD_LEVEL3_MSG19,
                        help="a NEXRAD level-3 file (default: Py-ART's KBMX reflectivity sample)")
    parser.add_argument("--min-gates", type=int, default=40,
                        help="clusters with fewer gates are speckle (default: 40)")
    args = parser.parse_args(argv)
    threshold = 30.0 if args.small else 20.0

    # 1. Gates >= threshold, clustered with a radius of 1.5 beam widths (at least 1 km).
    radar = pyart.io.read_nexrad_level3(args.file)
    points = from_pyart(radar, "reflectivity", threshold=threshold)
    model = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=5, window_features=[2])
    labels = model.fit_predict(ppi_features(points))
    print(f"{len(points):,} gates >= {threshold:g} dBZ: {labels.max() + 1} clusters, "
          f"{np.count_nonzero(labels < 0):,} noise gates")

    # 2. One row per cluster.
    table = cluster_table(points, labels, estimator=model)
    columns = ["n_gates", "n_core", "area", "latitude", "longitude", "azimuth_extent",
               "value_max", "value_mean"]
    print("largest clusters:")
    print(table.sort_values("area", ascending=False)[columns].head(5).round(2).to_string())

    # 3. A GateFilter without noise and small clusters, beside Py-ART's despeckle.
    gatefilter = to_gatefilter(radar, points, labels, min_gates=args.min_gates)
    speckle = pyart.correct.despeckle_field(radar, "reflectivity", threshold=threshold,
                                            size=args.min_gates)
    kept = ~gatefilter.gate_excluded[points.ray, points.gate]
    kept_despeckle = ~speckle.gate_excluded[points.ray, points.gate]
    print(f"GateFilter excludes {np.count_nonzero(~kept):,} of the {len(points):,} gates; "
          f"despeckle_field(size={args.min_gates}) excludes {np.count_nonzero(~kept_despeckle):,}")

    # 4. The labels as a field, saved as CF/Radial and read back.
    to_pyart_field(radar, points, labels, name="cluster")
    pyart.io.write_cfradial("pyart_products.nc", radar)
    back = pyart.io.read_cfradial("pyart_products.nc").fields["cluster"]["data"]
    same = bool(np.array_equal(back[points.ray, points.gate], labels)
                and back.count() == len(points))
    print(f"labels read back from CF/Radial equal: {same}")
    if not same:
        raise SystemExit("the labels read back differ from those written")

    figure = Figure(figsize=(12, 6.4), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2, sharex=True, sharey=True)
    plot_ppi(points, labels, ax=left, title=f"clusters of reflectivity >= {threshold:g} dBZ")
    plot_ppi(points[kept], labels[kept], ax=right, gate_spacing=points.gate_spacing,
             ray_spacing=points.ray_spacing,
             title=f"kept by the GateFilter (clusters of >= {args.min_gates} gates)")
    figure.savefig("pyart_products.png")
    print("wrote pyart_products.png and pyart_products.nc")


if __name__ == "__main__":
    main()
