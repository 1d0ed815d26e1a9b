"""``gridscan radar``: cluster radar files (anything Py-ART reads) and write the products.

The features and radii are gridscan.radar's own helpers, ``ground_features``
(the default), ``polar_features`` or ``volume_features``, so the labels are
those of the Python recipe on the same gates: each sweep (or, for a volume,
the whole file) gets the radius its own gate and ray spacing call for.

Per input FILE, three outputs in the --output directory, written together
(all or none): the radar as CF/Radial with a label field, the cluster table
and a PPI image of the first sweep. A file that cannot be read or clustered
gets its own ``gridscan: error:`` line; the others are processed, and the exit
status is then 2.
"""

import argparse
import inspect
import os
import time
from pathlib import Path

from gridscan.cli._arguments import (
    finite_float,
    help_texts,
    int_list,
    integer,
    non_negative_float,
    positive_float,
    positive_int,
)
from gridscan.cli._messages import CommandError, one_line, reason, say
from gridscan.cli._outputs import check_targets, write_together
from gridscan.cli._parameters import (
    add_n_jobs_option,
    as_typed,
    check_params,
    estimator_defaults,
    given_params,
    option_name,
)
from gridscan.cli._progress import cleared_on_error, progress

RADAR_OUTPUTS = {"radar": "{stem}_gridscan.nc", "image": "{stem}_ppi.png"}
"""Names of the outputs of ``gridscan radar`` for an input FILE with stem ``{stem}``."""

REFLECTIVITY_FIELDS = ("reflectivity", "DBZH", "DBZ", "corrected_reflectivity",
                       "reflectivity_horizontal", "DBZ_F", "DBZH_CLEAN")
"""Field names ``gridscan radar`` tries, in order, when --field is not given."""

FEATURES = ("ground", "polar", "volume")
"""Choices of --features, gridscan.radar's ``ground_features``, ``polar_features`` and
``volume_features``: ground and polar cluster each sweep on its own, volume the whole file."""

# The helpers' keyword parameters as options: metavar, type, help. Their defaults are the
# helpers' own (an option not given is not passed); tests/test_cli_safety.py checks that
# every parameter of the three helpers is here.
HELPER_OPTIONS = {
    "beams": ("B", positive_float,
              "radius in ray spacings (beam widths) of the gate's sweep; with --features "
              "volume also upwards, in elevation steps"),
    "gates": ("G", non_negative_float, "smallest radius, in gate spacings of the gate's sweep"),
    "min_eps": ("KM", non_negative_float, "smallest radius, km"),
    "max_eps": ("KM", positive_float, "largest radius, km; never below the smallest"),
}


def feature_helper(kind):
    """The gridscan.radar helper of a --features choice: ground -> ground_features."""
    import gridscan.radar

    return getattr(gridscan.radar, f"{kind}_features")


def helper_parameters(kind):
    """The keyword parameters of a --features helper (all but the points) and their defaults."""
    return {name: parameter.default
            for name, parameter in inspect.signature(feature_helper(kind)).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY}


def _helper_default(name):
    """'(default: 1.5)' from the helpers' signatures, per --features choice where they differ."""
    defaults = {kind: helper_parameters(kind)[name] for kind in FEATURES
                if name in helper_parameters(kind)}
    kinds_by_value = {}
    for kind, value in defaults.items():
        kinds_by_value.setdefault("none" if value is None else as_typed(value), []).append(kind)
    text = ", ".join(f"{value} with {'/'.join(kinds)}" for value, kinds in kinds_by_value.items())
    if len(kinds_by_value) == 1:
        text = next(iter(kinds_by_value))
    only = "" if len(defaults) == len(FEATURES) else f"--features {'/'.join(defaults)} only; "
    return f"({only}default: {text})"


def add_parser(commands):
    """The ``radar`` subcommand and its options."""
    from gridscan import GridDBSCAN

    absent = argparse.SUPPRESS  # only the options given reach the helper and GridDBSCAN
    dbscan = estimator_defaults(GridDBSCAN)
    radar_command = commands.add_parser(
        "radar", help="cluster radar files (anything Py-ART reads) and write the products",
        **help_texts(
            "Read each radar file with Py-ART (NEXRAD, CF/Radial, SIGMET, UF, ... "
            "whatever pyart.io.read reads), keep the gates of --field at or above "
            "--threshold, and cluster them with GridDBSCAN on the features and radii of "
            "gridscan.radar's helpers, the same labels as in Python: ground_features "
            "(--features ground, the default) clusters each sweep in the ground plane, "
            "polar_features (--features polar) each sweep in range and azimuth, "
            "volume_features (--features volume) the whole volume in 3-D. A gate's radius "
            "is max(floor, B * range * ray spacing), floor = max(MIN_EPS, G * gate "
            "spacing), with the ray and gate spacing of the gate's own sweep. Three files "
            "per input go into the --output directory: STEM_gridscan.nc, the radar with a "
            "label field (CF/Radial; -1 noise, masked where not clustered), "
            "STEM_clusters.csv (or .parquet), one row per cluster "
            "(gridscan.radar.cluster_table), and STEM_ppi.png, the first sweep drawn. "
            "A directory among the inputs stands for the files in it.",
            "gridscan radar KLOT_N0R.nexrad --threshold 20 --output products/",
            "gridscan radar data/ --field DBZ --threshold 10 --features volume --output out/",
            notes=("Labels are numbered across the sweeps of a file: each sweep's clusters "
                   "follow the previous sweep's. A file of RHI scans needs --features "
                   "volume. Several radars in one frame (network_features) are not a "
                   "command: each file is clustered on its own.",
                   "A file that cannot be read or clustered prints one line "
                   "'gridscan: error: FILE: reason' and is skipped; the others are "
                   "processed, and the exit status is then 2. The three outputs of a "
                   "file are written to temporary files beside them and renamed only "
                   "once all three are complete: a failed file leaves none of them "
                   "and earlier outputs as they were.")))
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
    radar_command.add_argument("--sweeps", type=int_list, metavar="N,N,...",
                               help="sweeps to read, by position from 0 (default: all)")
    radar_command.add_argument("--features", choices=FEATURES, default="ground",
                               help="ground: each sweep in the ground plane; polar: each "
                                    "sweep in range and azimuth; volume: all sweeps at once "
                                    "in 3-D (default: %(default)s)")
    radar_command.add_argument("--volume", dest="features", action="store_const",
                               const="volume", help="the same as --features volume")
    radar_command.add_argument("--min-samples", type=integer, default=absent, metavar="N",
                               help=f"neighbours (the gate included) a core gate needs "
                                    f"(default: {dbscan['min_samples']})")
    for name, (metavar, kind, text) in HELPER_OPTIONS.items():
        radar_command.add_argument(option_name(name), type=kind, default=absent,
                                   metavar=metavar, help=f"{text} {_helper_default(name)}")
    add_n_jobs_option(radar_command)
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


def _helper_options(args):
    """The helper parameters given, checked against the --features helper chosen."""
    given = {name: getattr(args, name) for name in HELPER_OPTIONS if hasattr(args, name)}
    accepted = helper_parameters(args.features)
    for name in given:
        if name not in accepted:
            users = [kind for kind in FEATURES if name in helper_parameters(kind)]
            raise CommandError(f"{option_name(name)} applies to --features "
                               f"{' or '.join(users)}, not {args.features}")
    return given


def cluster_points(points, features, helper_options, estimator_options):
    """Labels of the points and the fitted estimator's view (labels_, core_sample_indices_).

    ``features`` names the helper: ground and polar cluster each sweep on its own with
    that sweep's spacings, volume all the points at once; labels are numbered across
    the sweeps in turn. The helper and GridDBSCAN get only the options given.
    """
    from types import SimpleNamespace

    import numpy as np

    from gridscan import GridDBSCAN

    helper = feature_helper(features)
    if features == "volume":
        parts = [np.arange(len(points))]
    else:
        rhi = sorted(number for number, sweep in points.geometry().items() if sweep.mode != "ppi")
        if rhi:
            found = (f"sweep {rhi[0]} is an RHI scan" if len(rhi) == 1 else
                     f"sweeps {as_typed(rhi)} are RHI scans")
            raise CommandError(f"{found}; --features {features} clusters PPI sweeps: use "
                               f"--features volume, or --sweeps to read only PPI sweeps")
        parts = [np.flatnonzero(points.sweep == number) for number in np.unique(points.sweep)]
    labels = np.full(len(points), -1, dtype=np.int64)
    core = np.zeros(len(points), dtype=bool)
    for rows in parts:
        if rows.size == 0:
            continue
        gates = helper(points[rows], **helper_options)
        model = GridDBSCAN(**gates.estimator_params(), **estimator_options)
        found = model.fit(gates.X, **gates.fit_kwargs()).labels_
        offset = labels.max() + 1
        labels[rows] = np.where(found >= 0, found + offset, -1)
        core[rows[model.core_sample_indices_]] = True
    return labels, SimpleNamespace(labels_=labels, core_sample_indices_=np.flatnonzero(core))


def _radar_image(args, source, points, labels, field, units):
    """The PPI of the first sweep, each gate drawn with its sweep's gate and ray spacing."""
    import numpy as np
    from matplotlib.figure import Figure

    from gridscan.plot import plot_ppi

    figure = Figure(figsize=(8, 8), dpi=args.dpi, layout="constrained")
    ax = figure.add_subplot()
    if len(points):
        first = points.sweep.min()
        shown = points.sweep == first
        sweep = points.geometry()[first]
        elevation = float(np.median(points.elevation[shown]))
        kept = f"{field} >= {args.threshold:g} {units}" if args.threshold is not None else field
        plot_ppi(points[shown], labels[shown], ax=ax, gate_spacing=sweep.gate_spacing,
                 ray_spacing=sweep.ray_spacing,
                 title=f"{source.name}\n{kept}, sweep {first} ({elevation:.1f} deg)")
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
    from gridscan.radar import cluster_table, from_pyart, to_pyart_field

    estimator_options = given_params(args, GridDBSCAN)
    check_params(GridDBSCAN(**estimator_options))
    helper_options = _helper_options(args)
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
                    points = from_pyart(radar, field, threshold=args.threshold,
                                        sweeps=args.sweeps)
                    labels, fitted = cluster_points(points, args.features, helper_options,
                                                    estimator_options)
                except ValueError as exc:
                    raise CommandError(one_line(exc)) from None
                table = cluster_table(points, labels, estimator=fitted).reset_index()
                to_pyart_field(radar, points, labels, name=args.label_field)
                units = radar.fields[field].get("units", "")
                figure = _radar_image(args, source, points, labels, field, units)
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
            n_sweeps = len(args.sweeps) if args.sweeps else int(radar.nsweeps)
            n_clusters = int(labels.max()) + 1 if labels.size else 0
            print(f"{source}: {n_sweeps} sweep{'s' if n_sweeps != 1 else ''}, "
                  f"{len(points):,} gates of {field}, {n_clusters:,} clusters, "
                  f"{int(np.count_nonzero(labels < 0)):,} noise, {elapsed:.2f} s -> "
                  f"{', '.join(str(path) for path in outputs.values())}")
    if failed:
        for bar in bars:
            bar.close()
        raise SystemExit(2)
