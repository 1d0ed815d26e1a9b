"""The ``gridscan`` command line.

gridscan demo     cluster a synthetic radar scan and draw it to an image
gridscan cluster  cluster the rows of CSV, Parquet or NPZ files (GridDBSCAN); add a label column
gridscan gbdscan  cluster gate/beam/scan tables with GBDSCAN; add a label column

Every user error (missing file or column, bad number, bad data) prints one line
``gridscan: error: ...`` on stderr and exits with status 2; running out of
memory exits with status 1 and Ctrl-C with status 130, each with one line. matplotlib, pandas
and tqdm are imported only by the commands that use them.
"""

import argparse
import math
import sys
import textwrap
import time
from pathlib import Path

TABLE_SUFFIXES = (".csv", ".npz", ".parquet", ".pq")


class CommandError(Exception):
    """A user error, reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with every error on one line."""

    def error(self, message):
        self.exit(2, f"gridscan: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------- argument types

def _number(text, *, low=None, low_open=True, high=None, integer=False, what="a number"):
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if (not math.isfinite(value) or (low is not None and (value <= low if low_open
                                                           else value < low))
            or (high is not None and value > high)):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def finite_float(text):
    """A finite float."""
    return _number(text, what="a finite number")


def positive_float(text):
    """A finite float > 0."""
    return _number(text, low=0.0, what="a number > 0")


def non_negative_float(text):
    """A finite float >= 0."""
    return _number(text, low=0.0, low_open=False, what="a number >= 0")


def positive_int(text):
    """An integer >= 1."""
    return _number(text, low=0, integer=True, what="an integer >= 1")


def non_negative_int(text):
    """An integer >= 0."""
    return _number(text, low=0, low_open=False, integer=True, what="an integer >= 0")


def fraction(text):
    """A float in (0, 1]."""
    return _number(text, low=0.0, high=1.0, what="a number in (0, 1]")


def column_list(text):
    """Comma-separated column names."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


def _float_list(text, *, positive=False):
    what = "a number > 0 or comma-separated numbers > 0" if positive else \
        "a number or comma-separated numbers"
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not all(math.isfinite(v) and (v > 0 or not positive) for v in values):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return values[0] if len(values) == 1 else values


def _eps_list(text):
    return _float_list(text, positive=True)


# ---------------------------------------------------------------- tables

def _table_format(path, role):
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise CommandError(f"{role} {str(path)!r} has extension {suffix or '(none)'!r}; "
                           f"expected one of {', '.join(TABLE_SUFFIXES)}")
    return suffix


def _import_pandas():
    try:
        import pandas as pd
    except ImportError:
        raise CommandError("reading tables needs pandas: pip install 'gridscan[cli]'") from None
    return pd


def read_table(path):
    """A file as (DataFrame, NPZ arrays or None); a 2-D NPZ array X gives columns X[0], X[1]..."""
    import numpy as np

    pd = _import_pandas()
    path = Path(path)
    suffix = _table_format(path, "input")
    try:
        if suffix == ".csv":
            return pd.read_csv(path), None
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), None
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:  # the readers raise many types; all mean "cannot read"
        raise CommandError(f"cannot read {str(path)!r}: {_one_line(exc)}") from None
    columns = {}
    for name, array in arrays.items():
        if array.ndim == 1:
            columns[name] = array
        elif array.ndim == 2:
            columns.update({f"{name}[{j}]": array[:, j] for j in range(array.shape[1])})
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        raise CommandError(f"{str(path)!r}: the arrays have different lengths "
                           f"{sorted(lengths)}; every array must hold one row per point")
    return pd.DataFrame(columns), arrays


def write_table(path, frame, labels, label_column, npz_arrays=None):
    """Write the input rows with a label column, in the format of ``path``'s extension."""
    import numpy as np

    suffix = _table_format(path, "output")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        arrays = dict(npz_arrays) if npz_arrays is not None else {
            name: np.asarray(frame[name]) for name in frame.columns}
        arrays = {name: (a.astype(str) if a.dtype == object else a) for name, a in arrays.items()}
        arrays[label_column] = np.asarray(labels, dtype=np.int64)
        np.savez(path, **arrays)
        return
    out = frame.copy()
    out[label_column] = np.asarray(labels, dtype=np.int64)
    if suffix == ".csv":
        out.to_csv(path, index=False)
    else:
        out.to_parquet(path, index=False)


def _one_line(exc):
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _require_columns(frame, names, source):
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise CommandError(
            f"{source}: no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(map(str, frame.columns)) or '(none)'}")


def _numeric_matrix(frame, columns, source):
    import numpy as np
    import pandas as pd

    for name in columns:
        if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(
                frame[name]):
            raise CommandError(f"{source}: column {name!r} is not numeric "
                               f"(dtype {frame[name].dtype})")
    X = frame[columns].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise CommandError(f"{source}: column {columns[col]!r} has a missing or non-finite "
                           f"value in row {frame.index[row]}")
    return X


def _progress(items, total, description, enabled, leave=True):
    """A tqdm bar on stderr when there is more than one item to go through."""
    if not enabled or total < 2:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, total=total, desc=description, unit=description.split()[-1],
                file=sys.stderr, leave=leave)


def _outputs(inputs, output):
    """Output path of every input: a file for one input, a directory for several."""
    output = Path(output)
    if len(inputs) == 1 and not output.is_dir():
        return [output]
    if output.exists() and not output.is_dir():
        raise CommandError(f"--output {str(output)!r} must be a directory when clustering "
                           f"{len(inputs)} files")
    paths = [output / Path(path).name for path in inputs]
    for source, target in zip(inputs, paths, strict=True):
        if Path(source).resolve() == target.resolve():
            raise CommandError(f"--output would overwrite the input {str(source)!r}; "
                               f"choose another directory")
    return paths


def _cluster_files(args, prepare):
    """Shared loop of ``cluster`` and ``gbdscan``: files, groups, labels, output.

    ``prepare(rows, source)`` turns the rows of one group into the feature
    matrix and an unfitted estimator.
    """
    import numpy as np

    inputs = args.files
    outputs = _outputs(inputs, args.output)
    for path in inputs:
        _table_format(path, "input")
        if not Path(path).is_file():
            raise CommandError(f"no such file: {str(path)!r}")
    for path in outputs:
        _table_format(path, "output")
    show = not args.quiet
    group_by = args.group_by or []
    jobs = zip(inputs, outputs, strict=True)
    for source, target in _progress(jobs, len(inputs), "clustering files", show):
        frame, npz_arrays = read_table(source)
        _require_columns(frame, group_by, source)
        if group_by:
            groups = list(frame.groupby(group_by, sort=False, dropna=False).indices.values())
        else:
            groups = [np.arange(len(frame))]
        labels = np.full(len(frame), -1, dtype=np.int64)
        started = time.perf_counter()
        n_clusters = 0
        # Under a bar of files, each bar of groups disappears when its file is done.
        for rows in _progress(groups, len(groups), "clustering groups", show,
                              leave=len(inputs) == 1):
            X, estimator = prepare(frame.iloc[rows], source)
            if X.shape[0] == 0:
                continue
            try:
                group_labels = estimator.fit_predict(X)
            except ValueError as exc:
                raise CommandError(f"{source}: {_one_line(exc)}") from None
            labels[rows] = group_labels
            n_clusters += int(group_labels.max()) + 1
        elapsed = time.perf_counter() - started
        try:
            write_table(target, frame, labels, args.label_column, npz_arrays)
        except OSError as exc:
            raise CommandError(f"cannot write {str(target)!r}: {_one_line(exc)}") from None
        in_groups = f" in {len(groups):,} groups" if group_by else ""
        print(f"{source}: {len(frame):,} rows{in_groups}, {n_clusters:,} clusters, "
              f"{int(np.count_nonzero(labels < 0)):,} noise, {elapsed:.2f} s -> {target}")


# ---------------------------------------------------------------- commands

def run_demo(args):
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
    if output.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
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
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(output)
    except OSError as exc:
        raise CommandError(f"cannot write {str(output)!r}: {_one_line(exc)}") from None
    print(f"gridscan demo: {len(points):,} gates; {'; '.join(summary)}; wrote {output}")


def run_cluster(args):
    """GridDBSCAN on the numeric (or chosen) columns of every file or group."""
    from gridscan import GridDBSCAN, RangeEps

    if args.range_feature is None:
        for option in ("power", "min_eps", "max_eps"):
            if getattr(args, option) is not None:
                raise CommandError(f"--{option.replace('_', '-')} needs --range-feature")
    excluded = set(args.group_by or []) | {args.label_column}
    pd = _import_pandas()

    def feature_names(frame, source):
        if args.features:
            _require_columns(frame, args.features, source)
            return list(args.features)
        names = [name for name in frame.columns if name not in excluded
                 and pd.api.types.is_numeric_dtype(frame[name])
                 and not pd.api.types.is_bool_dtype(frame[name])]
        if not names:
            raise CommandError(f"{source}: no numeric columns to cluster; name them "
                               f"with --features")
        return names

    def position(name, names, option):
        if name not in names:
            raise CommandError(f"{option} {name!r} is not among the features "
                               f"{', '.join(map(str, names))}")
        return names.index(name)

    def prepare(rows, source):
        names = feature_names(rows, source)
        eps = args.eps
        if args.range_feature is not None:
            eps = RangeEps(base=args.eps,
                           range_feature=position(args.range_feature, names, "--range-feature"),
                           power=1.0 if args.power is None else args.power,
                           offset=args.offset, min_eps=args.min_eps, max_eps=args.max_eps)
        window = [position(name, names, "--window-features")
                  for name in args.window_features or []]
        estimator = GridDBSCAN(eps=eps, min_samples=args.min_samples, metric=args.metric,
                               neighbors=args.neighbors, window_features=window or None,
                               n_jobs=args.n_jobs)
        return _numeric_matrix(rows, names, source), estimator

    _cluster_files(args, prepare)


def run_gbdscan(args):
    """GBDSCAN on the (gate, beam[, scan]) cells of every file or group."""
    from gridscan import GBDSCAN
    from gridscan.radar import superdarn_cells

    def cells_of(frame, source):
        import numpy as np
        import pandas as pd

        _require_columns(frame, [args.gate, args.beam], source)
        if args.scan is not None:
            _require_columns(frame, [args.scan], source)
            cells = _numeric_matrix(frame, [args.gate, args.beam, args.scan], source)
        elif args.time not in frame.columns:
            cells = _numeric_matrix(frame, [args.gate, args.beam], source)
        else:
            table = frame[[args.gate, args.beam, args.time]]
            times = table[args.time]
            try:
                if pd.api.types.is_numeric_dtype(times):
                    length = (float(args.scan_length) if _is_number(args.scan_length)
                              else pd.Timedelta(args.scan_length).total_seconds())
                else:
                    if not pd.api.types.is_datetime64_any_dtype(times):
                        table = table.assign(**{args.time: pd.to_datetime(times)})
                    length = pd.Timedelta(args.scan_length)
                cells, _ = superdarn_cells(table, gate=args.gate, beam=args.beam,
                                           time=args.time, scan_length=length)
            except (ValueError, TypeError) as exc:
                raise CommandError(f"{source}: {_one_line(exc)}") from None
        # Integer cells stay integers; anything else goes to GBDSCAN, which says what is wrong.
        return cells.astype(np.int64) if np.array_equal(cells, np.round(cells)) else cells

    def prepare(rows, source):
        estimator = GBDSCAN(f=args.f, g=args.g, pts_ratio=args.pts_ratio, dr=args.dr,
                            dtheta=args.dtheta, r_init=args.r_init, scan_eps=args.scan_eps,
                            n_gates=args.n_gates, n_beams=args.n_beams, mode=args.mode,
                            n_jobs=args.n_jobs)
        return cells_of(rows, source), estimator

    _cluster_files(args, prepare)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- parser

def _add_table_options(parser, noun):
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="input tables: .csv, .parquet or .npz (in an NPZ, 1-D arrays are "
                             "columns and a 2-D array X gives columns X[0], X[1], ...)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output table (format from its extension); a directory when "
                             "several files are given (each output keeps its file name)")
    parser.add_argument("--group-by", type=column_list, metavar="COLS",
                        help=f"cluster each group of rows with equal values in these columns "
                             f"on its own (e.g. one {noun}); labels restart at 0 in every group")
    parser.add_argument("--label-column", default="label", metavar="NAME",
                        help="name of the column of cluster labels, -1 for noise "
                             "(default: %(default)s)")
    parser.add_argument("--n-jobs", type=int, metavar="N",
                        help="threads; default: OMP_NUM_THREADS or all cores")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (shown on stderr for several files or groups)")


def _texts(description, *examples):
    """Keyword arguments of add_parser: a wrapped description and an examples epilog."""
    epilog = "examples:\n" + "\n".join(
        textwrap.fill(example, width=78, initial_indent="  ", subsequent_indent="      ",
                      break_on_hyphens=False)
        for example in examples)
    return {"description": textwrap.fill(description, width=78), "epilog": epilog,
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def build_parser():
    """The argument parser of the ``gridscan`` command."""
    from gridscan import __version__

    parser = _Parser(
        prog="gridscan",
        description="Density-based clustering of radar data and other low-dimensional "
                    "points: DBSCAN with a range-dependent eps, and GBDSCAN for "
                    "gate/beam/scan grids.",
        epilog="examples:\n"
               "  gridscan demo --output scan.png\n"
               "  gridscan cluster points.csv --eps 0.3 --min-samples 5 --output labelled.csv\n"
               "  gridscan gbdscan day.parquet --n-gates 75 --n-beams 16 --output out.parquet\n"
               "Errors print one line and exit with status 2.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gridscan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="cluster a built-in synthetic radar scan and draw it",
        **_texts("Make a synthetic radar sweep (extended echoes, ground clutter, speckle), "
                 "cluster it with a constant eps (what scikit-learn's DBSCAN does) and with a "
                 "range-dependent eps, and draw both side by side as PPI fan plots (noise "
                 "grey, axes in km).", "gridscan demo --output scan.png"))
    demo.add_argument("-o", "--output", required=True, metavar="IMAGE",
                      help="image to write: .png, .svg, .pdf or .jpg")
    demo.add_argument("--seed", type=non_negative_int, default=0,
                      help="seed of the synthetic scan (default: %(default)s)")
    demo.add_argument("--dpi", type=positive_int, default=110,
                      help="resolution of the image (default: %(default)s)")
    demo.set_defaults(run=run_demo)

    cluster = commands.add_parser(
        "cluster", help="cluster the rows of CSV, Parquet or NPZ files with GridDBSCAN",
        **_texts("Cluster the rows of each table with GridDBSCAN and write it back with a "
                 "label column (-1 for noise). The numeric columns are the features unless "
                 "--features names them. With --range-feature the radius follows a range "
                 "column: eps_k = EPS_k * (range + OFFSET) ** POWER_k, clipped to "
                 "[MIN_EPS, MAX_EPS].",
                 "gridscan cluster points.csv --eps 0.3 --min-samples 5 --output labelled.csv",
                 "gridscan cluster gates.parquet --features x,y,range --eps 0.026 "
                 "--range-feature range --min-eps 1 --window-features range --output out.parquet"))
    _add_table_options(cluster, "frame")
    cluster.add_argument("--eps", type=_eps_list, required=True, metavar="EPS",
                         help="neighbourhood radius, or one per feature, comma-separated")
    cluster.add_argument("--min-samples", type=positive_int, default=5, metavar="N",
                         help="neighbours (the point included) a core point needs "
                              "(default: %(default)s)")
    cluster.add_argument("--features", type=column_list, metavar="COLS",
                         help="comma-separated feature columns (default: every numeric column "
                              "except --group-by and the label column)")
    cluster.add_argument("--metric", default="euclidean",
                         choices=["euclidean", "manhattan", "chebyshev"],
                         help="distance (default: %(default)s)")
    cluster.add_argument("--neighbors", default="union", choices=["union", "query"],
                         help="neighbourhood rule for a varying eps (default: %(default)s)")
    cluster.add_argument("--window-features", type=column_list, metavar="COLS",
                         help="features bounded on their own, outside the distance "
                              "(|difference| <= eps), like time in ST-DBSCAN")
    cluster.add_argument("--range-feature", metavar="COL",
                         help="feature whose value the radius follows (makes eps a RangeEps)")
    cluster.add_argument("--power", type=_float_list, metavar="P",
                         help="power of the range, or one per feature (default: 1)")
    cluster.add_argument("--offset", type=finite_float, default=0.0,
                         help="added to the range before the power (default: %(default)s)")
    cluster.add_argument("--min-eps", type=_eps_list, metavar="EPS",
                         help="smallest radius, or one per feature")
    cluster.add_argument("--max-eps", type=_eps_list, metavar="EPS",
                         help="largest radius, or one per feature")
    cluster.set_defaults(run=run_cluster)

    gbdscan = commands.add_parser(
        "gbdscan", help="cluster gate/beam/scan tables (SuperDARN style) with GBDSCAN",
        **_texts("Cluster radar grid cells with GBDSCAN (Kellner et al. 2012, as used for "
                 "SuperDARN) and write each table back with a label column (-1 for noise). "
                 "Cells are the gate and beam columns plus a scan: the --scan column, or "
                 "scans of --scan-length made from the --time column, or none (one scan). "
                 "Several rows in one cell of one scan share a label.",
                 "gridscan gbdscan day.csv --n-gates 75 --n-beams 16 --scan-length 1min "
                 "--output out.csv",
                 "gridscan gbdscan *.parquet --group-by radar --output labelled/"))
    _add_table_options(gbdscan, "radar or day")
    gbdscan.add_argument("--gate", default="gate", metavar="COL",
                         help="gate column (default: %(default)s)")
    gbdscan.add_argument("--beam", default="beam", metavar="COL",
                         help="beam column (default: %(default)s)")
    gbdscan.add_argument("--scan", metavar="COL", help="integer scan column")
    gbdscan.add_argument("--time", default="time", metavar="COL",
                         help="time column, used when there is no --scan (default: "
                              "%(default)s)")
    gbdscan.add_argument("--scan-length", default="1min", metavar="DURATION",
                         help="scan length: a pandas duration such as 1min or 2min, or "
                              "seconds for a numeric time column (default: %(default)s)")
    gbdscan.add_argument("--f", type=positive_float, default=0.2,
                         help="beam-width factor (default: %(default)s)")
    gbdscan.add_argument("--g", type=positive_float, default=1.0,
                         help="gate half-axis of the search ellipse (default: %(default)s)")
    gbdscan.add_argument("--pts-ratio", type=fraction, default=0.3,
                         help="share of the cells in the ellipse a core cell needs "
                              "(default: %(default)s)")
    gbdscan.add_argument("--dr", type=positive_float, default=45.0,
                         help="gate length, km (default: %(default)s)")
    gbdscan.add_argument("--dtheta", type=positive_float, default=3.24,
                         help="beam separation, degrees (default: %(default)s)")
    gbdscan.add_argument("--r-init", type=non_negative_float, default=180.0,
                         help="range of gate 0, km (default: %(default)s)")
    gbdscan.add_argument("--scan-eps", type=non_negative_int, default=1,
                         help="scans on either side in the neighbourhood (default: "
                              "%(default)s)")
    gbdscan.add_argument("--n-gates", type=positive_int,
                         help="gates per beam (default: from the data)")
    gbdscan.add_argument("--n-beams", type=positive_int,
                         help="beams (default: from the data)")
    gbdscan.add_argument("--mode", default="consistent", choices=["consistent", "reference"],
                         help="consistent: order-independent; reference: the published "
                              "algorithm's exact partition (default: %(default)s)")
    gbdscan.set_defaults(run=run_gbdscan)
    return parser


def main(argv=None):
    """Run the ``gridscan`` command; returns 0, or exits with status 2 on a user error.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except CommandError as exc:
        parser.exit(2, f"gridscan: error: {exc}\n")
    except MemoryError as exc:
        parser.exit(1, f"gridscan: error: out of memory ({_one_line(exc)}); try fewer "
                       f"points per file or group\n")
    except KeyboardInterrupt:
        parser.exit(130, "gridscan: interrupted\n")
    return 0
