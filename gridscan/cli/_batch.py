"""The loop shared by ``cluster`` and ``gbdscan``: files, groups, labels, outputs, warnings.

A command describes how one file is clustered with a Plan; the loop reads each
file, clusters it whole or group by group (``--group-by``), writes it back with
a label column, prints one summary line, and warns when the result looks
degenerate. The options the loop reads are added by ``add_table_options``.
"""

import time
from pathlib import Path

from gridscan.cli._arguments import column_list
from gridscan.cli._columns import check_label_column, require_columns
from gridscan.cli._messages import CommandError, note, one_line, say, warn
from gridscan.cli._outputs import output_paths, write_or_fail
from gridscan.cli._parameters import add_n_jobs_option
from gridscan.cli._progress import cleared_on_error, progress
from gridscan.cli._tables import read_table, table_format, write_table

COMMON_NOTES = (
    "Rows in messages are counted from 0, the header not included. On stderr, "
    "unless --quiet: the columns clustered when chosen by default, how a CSV "
    "not separated by commas was read, and a warning when the result looks "
    "degenerate (no cluster at all, or every row in one cluster without noise); "
    "warnings do not change the exit status.",
    "The output is written to a temporary file beside it and renamed once "
    "complete: a failed run leaves no partial file and the previous output as it "
    "was. An output that is an input is an error.",
)
"""Notes of the help texts of the table commands."""


def add_table_options(parser, noun):
    """The options of a table command that the loop reads (files, output, groups, labels)."""
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="input tables: .csv (separated by ',', or by ';', tabs or '|', "
                             "which are recognised), .parquet or .npz (in an NPZ, 1-D arrays "
                             "are columns and a 2-D array X gives columns X[0], X[1], ...)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output table (format from its extension), or a directory "
                             "(an existing one, or a name ending in '/'; required for several "
                             "files), where each output keeps its input's file name. Never an "
                             "input; written whole or not at all")
    parser.add_argument("--group-by", type=column_list, metavar="COLS",
                        help=f"cluster each group of rows with equal values in these columns "
                             f"on its own (e.g. one {noun}); labels restart at 0 in every group")
    parser.add_argument("--label-column", default="label", metavar="NAME",
                        help="name of the column of cluster labels, -1 for noise (default: "
                             "%(default)s); it may not be a feature or --group-by column, "
                             "nor another existing column unless --overwrite-label-column")
    parser.add_argument("--overwrite-label-column", action="store_true",
                        help="replace the label column when the input has one already (as an "
                             "earlier run's output does); by default that is an error")
    add_n_jobs_option(parser)
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (shown for several files or groups), notes or "
                             "warnings on stderr; errors are still reported")


class Plan:
    """How the rows of one file are clustered.

    Parameters
    ----------
    columns : list of str
        Columns the clustering reads (the label column must not be one).
    fit : callable
        ``fit(rows)``: labels of the rows (positions) of one group.
    settings : str
        The parameters and columns, for the warnings on a degenerate result.
    finish : callable, default=None
        Called once every group is clustered (for further warnings).
    """

    def __init__(self, columns, fit, settings, finish=None):
        self.columns = columns
        self.fit = fit
        self.settings = settings
        self.finish = finish


def cluster_files(args, plan_for):
    """Cluster every input table and write it back with labels.

    ``plan_for(frame, source)`` checks one file's columns and returns its Plan.
    """
    inputs = args.files
    for path in inputs:
        table_format(path, "input")
        if not Path(path).is_file():
            raise CommandError(f"no such file: {str(path)!r}")
    outputs = output_paths(inputs, args.output)
    for path in outputs:
        table_format(path, "output")
    group_by = args.group_by or []
    if args.label_column in group_by:
        raise CommandError(f"--label-column {args.label_column!r} is a --group-by column: "
                           f"the labels would overwrite it; choose another name")
    with cleared_on_error() as bars:
        _cluster_each(args, plan_for, inputs, outputs, group_by, bars)


def _cluster_each(args, plan_for, inputs, outputs, group_by, bars):
    """Cluster, write and report every file in turn (progress bars go to ``bars``)."""
    import numpy as np

    show = not args.quiet
    jobs = zip(inputs, outputs, strict=True)
    for source, target in progress(jobs, len(inputs), "clustering files", show, bars=bars):
        args.pending_notes = []
        frame, npz_arrays = read_table(source, note=lambda text: note(args, text))
        require_columns(frame, group_by, source)
        plan = plan_for(frame, source)
        check_label_column(args, frame, npz_arrays, plan.columns, source)
        if group_by:
            groups = list(frame.groupby(group_by, sort=False, dropna=False).indices.items())
        else:
            groups = [(None, np.arange(len(frame)))]
        labels = np.full(len(frame), -1, dtype=np.int64)
        started = time.perf_counter()
        counts = []  # (clusters, noise rows) of every non-empty group
        # Under a bar of files, each bar of groups disappears when its file is done.
        for key, rows in progress(groups, len(groups), "clustering groups", show,
                                  leave=len(inputs) == 1, bars=bars):
            if len(rows) == 0:
                continue
            try:
                group_labels = np.asarray(plan.fit(rows))
            except ValueError as exc:
                where = f"{source} (group {_group_name(group_by, key)})" if group_by else source
                raise CommandError(f"{where}: {one_line(exc)}") from None
            labels[rows] = group_labels
            counts.append((int(group_labels.max()) + 1, int(np.count_nonzero(group_labels < 0))))
        elapsed = time.perf_counter() - started
        write_or_fail(target, write_table, target, frame, labels, args.label_column, npz_arrays)
        for message in args.pending_notes:
            say(f"gridscan: {message}")
        args.pending_notes = None
        n_clusters = sum(clusters for clusters, _ in counts)
        in_groups = f" in {len(groups):,} groups" if group_by else ""
        print(f"{source}: {len(frame):,} rows{in_groups}, {n_clusters:,} clusters, "
              f"{int(np.count_nonzero(labels < 0)):,} noise, {elapsed:.2f} s -> {target}")
        _warn_if_degenerate(args, source, counts, plan.settings)
        if plan.finish is not None:
            plan.finish()


def _group_name(group_by, key):
    keys = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{name}={value!r}" for name, value in zip(group_by, keys, strict=False))


def _warn_if_degenerate(args, source, counts, settings):
    """Warn when no row is in a cluster, or every group is one cluster without noise."""
    if not counts:
        return
    if sum(clusters for clusters, _ in counts) == 0:
        warn(args, f"{source}: no clusters, every row is noise, with {settings}; the radius "
                   f"may be too small for these columns, or some columns not coordinates")
    elif all(clusters == 1 and noise == 0 for clusters, noise in counts):
        where = f"each of the {len(counts):,} groups is" if len(counts) > 1 else "all rows are"
        warn(args, f"{source}: {where} one cluster without noise, with {settings}; the "
                   f"radius may be too large for these columns")
