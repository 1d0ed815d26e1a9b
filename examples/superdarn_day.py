"""GBDSCAN on a SuperDARN-style day: scatter on a gate x beam x scan grid.
=======================================================================

SuperDARN radars sound 16 beams of 75 range gates (45 km each, from 180 km)
once a scan, all day. Echoes from the ionosphere form bands that drift in
range; ground scatter sits at near range; noise is scattered everywhere.
GBDSCAN (Kellner et al. 2012; the SuperDARN implementation of Robb et al.)
clusters the occupied cells with a neighbourhood whose beam half-axis shrinks
with range, over neighbouring scans, and an adaptive core threshold.

This script makes a synthetic day (the table layout of real data: one row per
echo with time, beam and gate), turns it into (gate, beam, scan) rows, runs
GBDSCAN in both of its modes, reports how the clusters match the echo
sources, and draws a range-time plot of one beam, superdarn_day.png.

Run:  python examples/superdarn_day.py [--small]
"""

import argparse
import time

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import adjusted_rand_score

from gridscan import GBDSCAN
from gridscan.plot import plot_range_time
from gridscan.radar import make_superdarn_table, superdarn_cells

N_GATES, N_BEAMS = 75, 16
R_INIT, DR = 180.0, 45.0  # km: range of gate 0 and gate length


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="a reduced size for a quick run (used in CI): 2 hours, not 24")
    parser.add_argument("--beam", type=int, default=7, help="beam of the range-time plot")
    parser.add_argument("--output", default="superdarn_day.png", help="image to write")
    args = parser.parse_args(argv)

    n_scans = 60 if args.small else 720
    table = make_superdarn_table(n_scans=n_scans, n_beams=N_BEAMS, n_gates=N_GATES,
                                 scan_length="2min", random_state=3)
    cells, scan_start = superdarn_cells(table, scan_length="2min")
    print(f"{len(table):,} echoes in {n_scans} two-minute scans of {N_BEAMS} beams x "
          f"{N_GATES} gates: " + ", ".join(f"{count:,} {source}" for source, count
                                           in table["source"].value_counts().items()))

    results = {}
    for mode in ("consistent", "reference"):
        model = GBDSCAN(f=0.2, g=1.0, pts_ratio=0.3, dr=DR, dtheta=3.24, r_init=R_INIT,
                        scan_eps=1, n_gates=N_GATES, n_beams=N_BEAMS, mode=mode)
        started = time.perf_counter()
        labels = model.fit_predict(cells)
        results[mode] = labels
        print(f"GBDSCAN mode={mode!r}: {labels.max() + 1} clusters, "
              f"{np.count_nonzero(labels < 0):,} noise cells, "
              f"{time.perf_counter() - started:.3f} s")
    labels = results["consistent"]
    print(f"agreement of the two modes (adjusted Rand index): "
          f"{adjusted_rand_score(results['consistent'], results['reference']):.3f}")

    clustered = pd.Series(np.where(labels >= 0, "in a cluster", "noise"), name="GBDSCAN")
    print("\nWhere each source ended up (share of its echoes):")
    print(pd.crosstab(table["source"], clustered, normalize="index").round(3).to_string())

    beam = cells[:, 1] == args.beam
    figure = Figure(figsize=(11, 4.5), dpi=100, layout="constrained")
    plot_range_time(scan_start[cells[beam, 2]], R_INIT + DR * cells[beam, 0], labels[beam],
                    ax=figure.add_subplot(), time_step=np.timedelta64(2, "m"), range_step=DR,
                    title=f"Synthetic SuperDARN day, beam {args.beam}: GBDSCAN clusters")
    figure.savefig(args.output)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
