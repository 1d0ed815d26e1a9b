"""Cluster a real NEXRAD weather-radar sweep and draw it.
======================================================

Reads a NEXRAD level-3 product with Py-ART (by default the KLOT (Chicago)
rain-rate sweep that ships with Py-ART's test data: 360 rays x 920 gates of
250 m), keeps the gates above a rain-rate threshold, clusters them in the
ground plane with an eps that grows with range (neighbouring beams drift
apart with range) and writes a PPI plot, nexrad_sweep.png.

The radius is ``max(1 km, 1.5 gate spacings, 1.5 ray spacings x range)``
(``beam_eps(points)``), so that it also fits products with 1 km gates such
as the level-3 reflectivity (``--file`` Py-ART's ``NEXRAD_LEVEL3_MSG19``,
``--threshold 20``). ``min_samples`` is 20 for 250 m gates and scales with
the number of gates a disc holds (at least 8) unless given.

Run:  python examples/nexrad_sweep.py [--small] [--file LEVEL3_FILE] [--field NAME]
"""

import argparse
import os
import time

import numpy as np
from matplotlib.figure import Figure
from sklearn.cluster import DBSCAN

os.environ.setdefault("PYART_QUIET", "1")  # Py-ART prints a banner on import otherwise
import pyart  # noqa: E402

from gridscan import GridDBSCAN  # noqa: E402
from gridscan.plot import plot_ppi  # noqa: E402
from gridscan.radar import beam_eps, from_pyart, ppi_features  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="a reduced size for a quick run (used in CI): a higher threshold")
    parser.add_argument("--file", default=pyart.testing.NEXRAD_LEVEL3_MSG176,
                        help="a NEXRAD level-3 file (default: Py-ART's KLOT rain-rate sample)")
    parser.add_argument("--field", default=None,
                        help="field to cluster (default: the file's only field)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="keep gates >= this value (default: 0.1 in/h, 0.2 with --small)")
    parser.add_argument("--min-samples", type=int, default=None,
                        help="DBSCAN's min_samples (default: 20 x 250 m / gate spacing, "
                             "at least 8)")
    parser.add_argument("--output", default="nexrad_sweep.png", help="image to write")
    args = parser.parse_args(argv)
    threshold = args.threshold if args.threshold is not None else (0.2 if args.small else 0.1)

    radar = pyart.io.read_nexrad_level3(args.file)
    field = args.field or next(iter(radar.fields))
    units = radar.fields[field].get("units", "")
    points = from_pyart(radar, field, threshold=threshold)
    X = ppi_features(points)
    print(f"{os.path.basename(args.file)}: {radar.nrays} rays x {radar.ngates} gates of "
          f"{points.gate_spacing * 1000:.0f} m; {len(points):,} gates with {field} >= "
          f"{threshold} {units}")

    min_samples = args.min_samples or max(8, round(20 * 0.25 / points.gate_spacing))
    model = GridDBSCAN(eps=beam_eps(points, beams=1.5, min_eps=1.0, gates=1.5),
                       min_samples=min_samples, window_features=[2])
    started = time.perf_counter()
    labels = model.fit_predict(X)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    constant = DBSCAN(eps=1.0, min_samples=20).fit_predict(X[:, :2])
    elapsed_constant = time.perf_counter() - started

    sizes = np.bincount(labels[labels >= 0])
    print(f"gridscan, eps = max(1 km, 1.5 gates, 1.5 beam widths), min_samples={min_samples}: "
          f"{sizes.size} clusters, {np.count_nonzero(labels < 0):,} noise gates "
          f"({np.mean(labels < 0):.1%}), {elapsed:.3f} s; largest clusters: "
          f"{', '.join(f'{s:,}' for s in np.sort(sizes)[::-1][:5])} gates")
    print(f"scikit-learn, constant eps = 1 km: {constant.max() + 1} clusters, "
          f"{np.count_nonzero(constant < 0):,} noise gates, {elapsed_constant:.3f} s")

    figure = Figure(figsize=(8, 8), dpi=100, layout="constrained")
    plot_ppi(points, labels, ax=figure.add_subplot(),
             title=f"{field} >= {threshold} {units}, clustered with a range-dependent eps")
    figure.savefig(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
