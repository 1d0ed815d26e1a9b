"""``gridscan radar``: cluster radar files (anything Py-ART reads) and write the products.

Per input FILE, three outputs in the --output directory, written together
(all or none): the radar as CF/Radial with a label field, the cluster table
and a PPI image of the first sweep. A file that cannot be read or clustered
gets its own ``gridscan: error:`` line; the others are processed, and the exit
status is then 2.
"""

import os
import time
from pathlib import Path

from gridscan.cli._arguments import finite_float, help_texts, integer, positive_int
from gridscan.cli._messages import CommandError, one_line, reason, say
from gridscan.cli._outputs import check_targets, write_together
from gridscan.cli._parameters import check_params, estimator_defaults
from gridscan.cli._progress import cleared_on_error, progress

RADAR_OUTPUTS = {"radar": "{stem}_gridscan.nc", "image": "{stem}_ppi.png"}
"""Names of the outputs of ``gridscan radar`` for an input FILE with stem ``{stem}``."""

REFLECTIVITY_FIELDS = ("reflectivity", "DBZH", "DBZ", "corrected_reflectivity",
                       "reflectivity_horizontal", "DBZ_F", "DBZH_CLEAN")
"""Field names ``gridscan radar`` tries, in order, when --field is not given."""


def add_parser(commands):
    """The ``radar`` subcommand and its options."""
    from gridscan import GridDBSCAN

    dbscan = estimator_defaults(GridDBSCAN)
    radar_command = commands.add_parser(
        "radar", help="cluster radar files (anything Py-ART reads) and write the products",
        **help_texts(
            "Read each radar file with Py-ART (NEXRAD, CF/Radial, SIGMET, UF, ... "
            "whatever pyart.io.read reads), keep the gates of --field at or above "
            "--threshold, cluster each sweep (or, with --volume, the whole volume) with "
            "GridDBSCAN in the ground plane with a radius of max(--min-eps, --beams beam "
            "widths), and write three files per input into the --output directory: "
            "STEM_gridscan.nc, the radar with a label field (CF/Radial; -1 noise, masked "
            "where not clustered), STEM_clusters.csv (or .parquet), one row per cluster "
            "(gridscan.radar.cluster_table), and STEM_ppi.png, the first sweep drawn. "
            "A directory among the inputs stands for the files in it.",
            "gridscan radar KLOT_N0R.nexrad --threshold 20 --output products/",
            "gridscan radar data/ --field DBZ --threshold 10 --volume --output out/",
            notes=("A file that cannot be read or clustered prints one line "
                   "'gridscan: error: FILE: reason' and is skipped; the others are "
                   "processed, and the exit status is then 2. The three outputs of a "
                   "file are written to temporary files beside them and renamed only "
                   "once all three are complete: a failed file leaves none of them "
                   "and earlier outputs as they were.",)))
    radar_command.add_argument("files", nargs="+", metavar="FILE",
                               help="radar files, or directories of them")
    radar_command.add_argument("-o", "--output", required=True, metavar="DIR",
                               help="directory for the outputs (created if missing)")
    radar_command.add_argument("--field", metavar="NAME",
                               help=f"field to cluster (default: the first of "
                                    f"{', '.join(REFLECTIVITY_FIELDS)} in the file, or its "
                                    f"only field)")
    radar_command.add_argument("--threshold", type=finite_float, metavar="X",
                               help="keep gates with a value >= X (default: every unmasked "
                                    "gate)")
    radar_command.add_argument("--volume", action="store_true",
                               help="cluster the whole volume at once, height included, "
                                    "instead of sweep by sweep")
    radar_command.add_argument("--min-samples", type=integer, metavar="N",
                               help=f"neighbours (the gate included) a core gate needs "
                                    f"(default: {dbscan['min_samples']})")
    radar_command.add_argument("--beams", type=finite_float, default=1.5, metavar="B",
                               help="radius in beam widths (default: %(default)s)")
    radar_command.add_argument("--min-eps", type=finite_float, default=1.0, metavar="KM",
                               help="smallest radius, km (default: %(default)s)")
    radar_command.add_argument("--label-field", default="cluster", metavar="NAME",
                               help="name of the label field written (default: %(default)s)")
    radar_command.add_argument("--table-format", choices=("csv", "parquet"), default="csv",
                               help="format of the cluster table (default: %(default)s)")
    radar_command.add_argument("--dpi", type=positive_int, default=100,
                               help="resolution of the PPI image (default: %(default)s)")
    radar_command.add_argument("-q", "--quiet", action="store_true",
                               help="no progress bar; errors are still reported")
    radar_command.set_defaults(run=run)


def _radar_inputs(paths):
    """The files to read: the paths given, each directory replaced by its visible files."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(child for child in path.iterdir()
                                if child.is_file() and not child.name.startswith(".")))
        else:
            files.append(path)
    if not files:
        raise CommandError(f"no files to read in {', '.join(map(repr, map(str, paths)))}")
    return files


def _radar_targets(args, inputs):
    """{input: {kind: output path}}; no output may be an input, nor two inputs share one."""
    directory = Path(args.output)
    if directory.exists() and not directory.is_dir():
        raise CommandError(f"--output {str(directory)!r} must be a directory: each input "
                           f"writes three files there")
    suffix = ".parquet" if args.table_format == "parquet" else ".csv"
    names = {**RADAR_OUTPUTS, "table": "{stem}_clusters" + suffix}
    targets = {}
    for source in inputs:
        stem = source.stem or source.name  # KLOT.20240101.nc -> KLOT.20240101
        targets[source] = {kind: directory / name.format(stem=stem)
                           for kind, name in names.items()}
    check_targets(inputs, [(source, target) for source, outputs in targets.items()
                           for target in outputs.values()])
    return targets


def _default_field(fields):
    """The first reflectivity field of REFLECTIVITY_FIELDS, else the only field, else None."""
    for name in REFLECTIVITY_FIELDS:
        if name in fields:
            return name
    return next(iter(fields)) if len(fields) == 1 else None


def _read_radar(path):
    """A Py-ART radar from any file Py-ART reads; CommandError when it cannot."""
    import warnings

    import pyart

    if not path.is_file():
        raise CommandError("no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Py-ART's deprecation notes on some readers
            return pyart.io.read(str(path))
    except MemoryError:
        raise
    except Exception as exc:  # each reader raises its own types; all mean "cannot read"
        raise CommandError(f"cannot read it as a radar file: {reason(exc)}") from None


def _ray_step(radar, rays):
    """Smallest typical azimuth step (degrees) of the sweeps holding these rays; 1 if none."""
    import numpy as np

    from gridscan.radar._points import _typical_step

    azimuth = np.asarray(radar.azimuth["data"], dtype=np.float64)
    starts = np.asarray(radar.sweep_start_ray_index["data"]).reshape(-1)
    ends = np.asarray(radar.sweep_end_ray_index["data"]).reshape(-1)
    steps = [_typical_step(azimuth[start:end + 1], period=360.0)
             for start, end in zip(starts, ends, strict=True)
             if np.any((rays >= start) & (rays <= end))]
    steps = [step for step in steps if np.isfinite(step)]
    return min(steps) if steps else 1.0


def _cluster_radar(args, radar, field):
    """Points, labels and core mask of a radar, sweep by sweep (or the volume at once)."""
    from types import SimpleNamespace

    import numpy as np

    from gridscan import GridDBSCAN, RangeEps
    from gridscan.radar import from_pyart, polar_to_cartesian, ppi_features

    points = from_pyart(radar, field, threshold=args.threshold)
    labels = np.full(len(points), -1, dtype=np.int64)
    core = np.zeros(len(points), dtype=bool)
    params = {} if args.min_samples is None else {"min_samples": args.min_samples}
    groups = [np.arange(len(points))] if args.volume else \
        [np.flatnonzero(points.sweep == s) for s in np.unique(points.sweep)]
    for rows in groups:
        if rows.size == 0:
            continue
        part = points[rows]
        step = _ray_step(radar, np.unique(part.ray))
        eps = RangeEps(base=args.beams * np.deg2rad(step), range_feature=2, power=1.0,
                       min_eps=args.min_eps)
        X = ppi_features(part)
        if args.volume:  # height joins the distance; the ground range stays a window
            z = polar_to_cartesian(part.range, part.azimuth, part.elevation)[2]
            X = np.column_stack([X[:, :2], z, X[:, 2]])
            eps = RangeEps(base=eps.base, range_feature=3, power=1.0, min_eps=args.min_eps)
        model = GridDBSCAN(eps=eps, window_features=[X.shape[1] - 1], **params).fit(X)
        found = model.labels_
        offset = labels.max() + 1
        labels[rows] = np.where(found >= 0, found + offset, -1)
        core[rows[model.core_sample_indices_]] = True
    fitted = SimpleNamespace(labels_=labels, core_sample_indices_=np.flatnonzero(core))
    return points, labels, fitted


def _radar_image(args, radar, source, points, labels, field, units):
    import numpy as np
    from matplotlib.figure import Figure

    from gridscan.plot import plot_ppi

    figure = Figure(figsize=(8, 8), dpi=args.dpi, layout="constrained")
    ax = figure.add_subplot()
    if len(points):
        first = points.sweep.min()
        shown = points.sweep == first
        elevation = float(np.median(points.elevation[shown]))
        plot_ppi(points[shown], labels[shown], ax=ax,
                 ray_spacing=_ray_step(radar, np.unique(points.ray[shown])),
                 title=f"{source.name}\n{field} >= {args.threshold:g} {units}, sweep {first} "
                       f"({elevation:.1f} deg)" if args.threshold is not None else
                 f"{source.name}\n{field}, sweep {first} ({elevation:.1f} deg)")
    else:
        ax.set_title(f"{source.name}: no gates of {field} to cluster")
    return figure


def run(args):
    """Cluster every radar file; write CF/Radial with labels, the cluster table and a PPI."""
    os.environ.setdefault("PYART_QUIET", "1")  # Py-ART prints a banner on stdout otherwise
    try:
        import pyart
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise CommandError("the radar command needs Py-ART and matplotlib: pip install "
                           "'gridscan[radar,plot,cli]'") from None
    import numpy as np

    from gridscan import GridDBSCAN
    from gridscan.radar import cluster_table, to_pyart_field

    check_params(GridDBSCAN(eps=1.0, **({} if args.min_samples is None
                                        else {"min_samples": args.min_samples})))
    for option, value in (("--beams", args.beams), ("--min-eps", args.min_eps)):
        if not value > 0:
            raise CommandError(f"argument {option}: expected a number > 0, got {value:g}")
    inputs = _radar_inputs(args.files)
    targets = _radar_targets(args, inputs)
    failed = 0
    with cleared_on_error() as bars:
        for source in progress(inputs, len(inputs), "clustering files", not args.quiet,
                               bars=bars):
            started = time.perf_counter()
            try:
                radar = _read_radar(source)
                field = args.field or _default_field(radar.fields)
                if field is None or field not in radar.fields:
                    problem = (f"no field {field!r}" if field else
                               "no reflectivity field to choose by default")
                    raise CommandError(
                        f"{problem}; fields are {', '.join(sorted(radar.fields)) or '(none)'}"
                        f": choose one with --field")
                try:
                    points, labels, fitted = _cluster_radar(args, radar, field)
                except ValueError as exc:
                    raise CommandError(one_line(exc)) from None
                table = cluster_table(points, labels, estimator=fitted).reset_index()
                to_pyart_field(radar, points, labels, name=args.label_field)
                units = radar.fields[field].get("units", "")
                figure = _radar_image(args, radar, source, points, labels, field, units)
                outputs = targets[source]

                def write_radar(path, radar=radar):
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        pyart.io.write_cfradial(path, radar)

                def write_table(path, table=table):
                    if args.table_format == "parquet":
                        table.to_parquet(path, index=False)
                    else:
                        table.to_csv(path, index=False)

                write_together(outputs, {
                    "radar": write_radar, "table": write_table,
                    "image": lambda path, figure=figure: figure.savefig(path, format="png")})
            except CommandError as exc:
                failed += 1
                say(f"gridscan: error: {source}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            n_sweeps = int(radar.nsweeps)
            n_clusters = int(labels.max()) + 1 if labels.size else 0
            print(f"{source}: {n_sweeps} sweep{'s' if n_sweeps != 1 else ''}, "
                  f"{len(points):,} gates of {field}, {n_clusters:,} clusters, "
                  f"{int(np.count_nonzero(labels < 0)):,} noise, {elapsed:.2f} s -> "
                  f"{', '.join(str(path) for path in outputs.values())}")
    if failed:
        for bar in bars:
            bar.close()
        raise SystemExit(2)
