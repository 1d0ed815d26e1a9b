"""gridscan.plot.plot_ppi against Py-ART's RadarDisplay.plot_ppi on a full NEXRAD sweep.

The sweep is the first of Py-ART's level-2 sample (``pyart.testing.
NEXRAD_ARCHIVE_MSG31_FILE``, KATX): 720 rays x 1832 gates of 250 m, 1,319,040
gates, all drawn. Py-ART draws its reflectivity field; gridscan draws cluster
labels on the same gates. The sample's values are placeholders (one value
everywhere), so the labels come from a synthetic sweep of the same shape
(``make_radar_scan``: weather echoes, clutter and speckle) clustered with
``GridDBSCAN`` and ``beam_eps``: gate (ray, gate) of the sample takes the label
of gate (ray, gate) of the synthetic sweep, and noise where that one is empty.

Each run makes an 8 x 8 inch figure at 100 dpi (matplotlib's Agg backend),
plots (Py-ART's time includes making its ``RadarDisplay``) and writes a PNG
with ``savefig``; the time covers all of it, from the points and labels (or
the ``Radar``) in memory. After a warm-up of each, the two run in turn
``--repeat`` times, so that both see the same load on a shared machine.
Printed: the best time of each and their ratio.

Run:  python benchmarks/bench_plot.py [--repeat 3] [--keep DIRECTORY]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("PYART_QUIET", "1")  # Py-ART prints a banner on import otherwise

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pyart  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gridscan import GridDBSCAN  # noqa: E402
from gridscan.plot import plot_ppi  # noqa: E402
from gridscan.radar import beam_eps, from_pyart, make_radar_scan, ppi_features  # noqa: E402


def synthetic_labels(points, n_echoes, seed):
    """Labels for every gate of one sweep: a synthetic sweep of its shape, clustered."""
    n_rays, n_gates = int(points.ray.max()) + 1, int(points.gate.max()) + 1
    synthetic, _ = make_radar_scan(n_rays=n_rays, n_gates=n_gates,
                                   gate_spacing=points.gate_spacing, n_echoes=n_echoes,
                                   random_state=seed)
    model = GridDBSCAN(eps=beam_eps(synthetic), min_samples=20, window_features=[2])
    grid = np.full((n_rays, n_gates), -1, dtype=np.int64)
    grid[synthetic.ray, synthetic.gate] = model.fit_predict(ppi_features(synthetic))
    return grid[points.ray, points.gate]


def draw(path, plot):
    figure = Figure(figsize=(8, 8), dpi=100)
    plot(figure.add_subplot())
    figure.savefig(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--n-echoes", type=int, default=30,
                        help="weather echoes of the synthetic labels (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", default=None,
                        help="directory to keep the two PNGs in (default: a temporary one)")
    args = parser.parse_args(argv)

    path = pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE
    radar = pyart.io.read_nexrad_archive(path)
    points = from_pyart(radar, "reflectivity", sweeps=0)
    labels = synthetic_labels(points, args.n_echoes, args.seed)
    n_clusters = np.unique(labels[labels >= 0]).size
    print(f"{os.path.basename(path)}, sweep 0: {len(points):,} gates "
          f"({int(points.ray.max()) + 1} rays x {int(points.gate.max()) + 1} gates); labels: "
          f"{n_clusters} clusters, {np.count_nonzero(labels < 0):,} noise gates")

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or scratch
        os.makedirs(directory, exist_ok=True)
        gridscan_png = os.path.join(directory, "gridscan_plot_ppi.png")
        pyart_png = os.path.join(directory, "pyart_plot_ppi.png")
        runs = {
            "gridscan": lambda: draw(gridscan_png, lambda ax: plot_ppi(points, labels, ax=ax)),
            "Py-ART": lambda: draw(pyart_png, lambda ax: pyart.graph.RadarDisplay(
                radar).plot_ppi("reflectivity", sweep=0, ax=ax, fig=ax.figure)),
        }
        started = time.perf_counter()
        for run in runs.values():  # warm-up
            run()
        times = {name: [] for name in runs}
        for _ in range(args.repeat):  # in turn, so that both see the same load
            for name, run in runs.items():
                run_started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - run_started)
        elapsed = time.perf_counter() - started
    gridscan_time, pyart_time = min(times["gridscan"]), min(times["Py-ART"])

    print(f"best of {args.repeat} runs in turn (after a warm-up), plot + savefig to PNG, "
          f"{elapsed:.0f} s in all:")
    print(f"  gridscan plot_ppi        {gridscan_time:7.3f} s")
    print(f"  Py-ART RadarDisplay      {pyart_time:7.3f} s")
    print(f"  ratio gridscan / Py-ART  {gridscan_time / pyart_time:7.2f}")


if __name__ == "__main__":
    main()
