"""``gridscan demo``: cluster a synthetic radar scan with a constant and a range-dependent eps."""

import time
from pathlib import Path

from gridscan.cli._arguments import help_texts, non_negative_int, positive_int
from gridscan.cli._messages import CommandError
from gridscan.cli._outputs import write_atomically, write_or_fail

IMAGE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpg"}


def add_parser(commands):
    """The ``demo`` subcommand and its options."""
    demo = commands.add_parser(
        "demo", help="cluster a built-in synthetic radar scan and draw it",
        **help_texts("Make a synthetic radar sweep (extended echoes, ground clutter, speckle), "
                     "cluster it with a constant eps (what scikit-learn's DBSCAN does) and "
                     "with a range-dependent eps, and draw both side by side as PPI fan plots "
                     "(noise grey, axes in km).", "gridscan demo --output scan.png"))
    demo.add_argument("-o", "--output", required=True, metavar="IMAGE",
                      help="image to write: .png, .svg, .pdf or .jpg")
    demo.add_argument("--seed", type=non_negative_int, default=0,
                      help="seed of the synthetic scan (default: %(default)s)")
    demo.add_argument("--dpi", type=positive_int, default=110,
                      help="resolution of the image (default: %(default)s)")
    demo.set_defaults(run=run)


def run(args):
    """Cluster a synthetic scan with a constant and a range-dependent eps; draw both."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CommandError("the demo draws with matplotlib: pip install 'gridscan[plot]'") \
            from None
    from gridscan import GridDBSCAN
    from gridscan.plot import plot_ppi
    from gridscan.radar import beam_eps, make_radar_scan, ppi_features

    output = Path(args.output)
    if output.suffix.lower() not in IMAGE_FORMATS:
        raise CommandError(f"--output {str(output)!r} should end in .png, .svg, .pdf or .jpg")
    points, _ = make_radar_scan(random_state=args.seed)
    X = ppi_features(points)
    eps = beam_eps(points.ray_spacing, beams=1.5, min_eps=1.0)
    runs = [
        ("constant eps = 1 km (scikit-learn's DBSCAN)",
         GridDBSCAN(eps=1.0, min_samples=8), X[:, :2]),
        ("range-dependent eps = max(1 km, 1.5 beam widths)",
         GridDBSCAN(eps=eps, min_samples=8, window_features=[2]), X),
    ]
    figure = Figure(figsize=(13, 7.0), dpi=args.dpi, layout="constrained")
    axes = figure.subplots(1, 2, sharex=True, sharey=True)
    summary = []
    for ax, (title, model, features) in zip(axes, runs, strict=True):
        started = time.perf_counter()
        labels = model.fit_predict(features)
        elapsed = time.perf_counter() - started
        n_clusters = int(labels.max()) + 1
        plot_ppi(points, labels, ax=ax, title=title)
        summary.append(f"{n_clusters} clusters with {title.split(' (')[0]} ({elapsed:.3f} s)")
    figure.suptitle(f"gridscan demo: {len(points):,} radar gates of a synthetic scan "
                    f"(seed {args.seed}); noise in grey")
    image_format = IMAGE_FORMATS[output.suffix.lower()]
    write_or_fail(output, write_atomically, output,
                  lambda temporary: figure.savefig(temporary, format=image_format))
    print(f"gridscan demo: {len(points):,} gates; {'; '.join(summary)}; wrote {output}")
