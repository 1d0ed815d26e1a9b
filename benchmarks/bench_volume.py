"""A NEXRAD-size volume clustered in 3-D: time and peak memory.

The volume is ``make_radar_volume`` at full resolution: 14 sweeps (VCP 212
elevations, 0.5 to 19.5 degrees) of 720 rays x 1832 gates of 250 m, 18.5
million gates in all, of which the filled ones (16 large echoes 6 to 14 km
high in a layer of widespread rain 4 km deep, and 1% speckle) are clustered
with ``volume_features`` (x, y, height; a horizontal and a vertical radius
per gate growing with range) and ``GridDBSCAN(min_samples=10)``, radii at
most 5 km (``--max-eps``). The radii that exceed 5 km are the vertical ones
of the upper sweeps beyond about 50 km, gates more than 17 km up where only
speckle is; unbounded, they reach 47 km and the fit takes several times as
long (the cell index is sized by the largest radius).

Printed: gates over threshold, time to make the features, time of the fit
(``--repeat`` runs, the best and the median, and the CPU time over all
threads, which other processes on a shared machine do not inflate), the
clusters, and the peak resident memory of the process (``getrusage``)
before and after the fit, with the bytes per gate the fit added.

Run:  python benchmarks/bench_volume.py [--n-jobs 2] [--n-echoes 16] [--repeat 3] [--small]
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

from gridscan.radar import NEXRAD_ELEVATIONS, make_radar_volume, volume_features


def peak_mib():
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 if sys.platform.startswith("linux") else 1024.0**2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--n-jobs", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--n-echoes", type=int, default=16, help="weather echoes (default 16)")
    parser.add_argument("--echo-size", type=float, nargs=2, default=(12.0, 40.0),
                        help="smallest and largest echo semi-axis, km per 120 km of range "
                             "(default 12 40: 46 to 153 km at full range, widespread rain)")
    parser.add_argument("--stratiform-top", type=float, default=4.0,
                        help="top of a layer of widespread rain, km (default 4; 0: none)")
    parser.add_argument("--min-samples", type=int, default=10,
                        help="min_samples (default 10: far out only one or two sweeps "
                             "see the rain, a few tens of gates per neighbourhood)")
    parser.add_argument("--max-eps", type=float, default=5.0,
                        help="volume_features' max_eps, km (default 5; 0: no bound)")
    parser.add_argument("--repeat", type=int, default=3, help="fits to time (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true",
                        help="a quarter-size volume (360 rays x 916 gates of 500 m)")
    args = parser.parse_args(argv)
    n_rays, n_gates, spacing = (360, 916, 0.5) if args.small else (720, 1832, 0.25)

    started = time.perf_counter()
    points, truth = make_radar_volume(n_rays, n_gates, gate_spacing=spacing,
                                      elevations=NEXRAD_ELEVATIONS, n_echoes=args.n_echoes,
                                      echo_size=tuple(args.echo_size),
                                      stratiform_top=args.stratiform_top, random_state=args.seed)
    made = time.perf_counter() - started
    total = len(NEXRAD_ELEVATIONS) * n_rays * n_gates
    print(f"volume: {len(NEXRAD_ELEVATIONS)} sweeps x {n_rays} rays x {n_gates} gates of "
          f"{spacing * 1000:.0f} m = {total:,} gates; {len(points):,} filled "
          f"({np.count_nonzero(truth >= 0):,} in {len(np.unique(truth[truth >= 0]))} echoes); "
          f"made in {made:.1f} s")

    started = time.perf_counter()
    features = volume_features(points, max_eps=args.max_eps or None)
    del points
    print(f"volume_features: {time.perf_counter() - started:.2f} s")
    model = features.estimator(min_samples=args.min_samples, n_jobs=args.n_jobs)
    before = peak_mib()
    times, cpu = [], []
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        labels = model.fit_predict(features.X, **features.fit_kwargs())
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    after = peak_mib()
    echo = truth >= 0
    print(f"GridDBSCAN 3-D, {args.n_jobs} threads, min_samples={args.min_samples}: "
          f"best {min(times):.2f} s, median {np.median(times):.2f} s of {args.repeat} "
          f"({len(truth) / min(times) / 1e6:.2f} million gates/s); CPU time of the "
          f"best run {cpu[int(np.argmin(times))]:.2f} s over all threads (under load, "
          f"CPU time / threads is the wall time an idle machine would give)")
    sizes = np.bincount(labels[labels >= 0])
    print(f"clusters: {sizes.size} (the rain layer joins the echoes it surrounds; largest "
          f"{sizes.max():,} gates); echo gates called noise {np.mean(labels[echo] < 0):.2%}, "
          f"speckle gates in a cluster {np.mean(labels[~echo] >= 0):.2%}")
    print(f"peak resident memory: {before:,.0f} MiB before the fit (data, features, eps), "
          f"{after:,.0f} MiB after; the fit added {after - before:,.0f} MiB "
          f"({(after - before) * 2**20 / len(truth):.0f} bytes per gate)")
    print(f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
