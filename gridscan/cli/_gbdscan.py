"""``gridscan gbdscan``: GBDSCAN on the (gate, beam[, scan]) cells of tables."""

import argparse

from gridscan.cli._arguments import finite_float, help_texts, integer
from gridscan.cli._batch import COMMON_NOTES, Plan, add_table_options, cluster_files
from gridscan.cli._columns import numeric_matrix, require_columns
from gridscan.cli._messages import CommandError, note, one_line, warn
from gridscan.cli._parameters import (
    as_typed,
    check_params,
    choices,
    estimator_defaults,
    given_params,
)

# GBDSCAN's geometry defaults (dr, dtheta, r_init) are SuperDARN's. A grid larger
# than any SuperDARN radar's (16 beams on most radars, up to 24; 75 gates in the
# common mode, up to 110) with those defaults in force draws a warning.
SUPERDARN_MAX_BEAMS = 24
SUPERDARN_MAX_GATES = 110


def add_parser(commands):
    """The ``gbdscan`` subcommand: its options are GBDSCAN's parameters and the cell columns."""
    from gridscan import GBDSCAN

    absent = argparse.SUPPRESS  # only the options given reach GBDSCAN
    defaults = estimator_defaults(GBDSCAN)
    gbdscan = commands.add_parser(
        "gbdscan", help="cluster gate/beam/scan tables (SuperDARN style) with GBDSCAN",
        **help_texts(
            "Cluster radar grid cells with GBDSCAN (Kellner et al. 2012, as used for "
            "SuperDARN) and write each table back with a label column (-1 for noise). "
            "Cells are the gate and beam columns plus a scan: the --scan column, or "
            "scans of --scan-length made from the --time column, or none (one scan). "
            "Several rows in one cell of one scan share a label. The options are "
            "GBDSCAN's parameters, checked by GBDSCAN.",
            "gridscan gbdscan day.csv --n-gates 75 --n-beams 16 --scan-length 1min "
            "--output out.csv",
            "gridscan gbdscan *.parquet --group-by radar --output labelled/",
            notes=(*COMMON_NOTES,
                   f"The geometry defaults (--dr, --dtheta, --r-init) are SuperDARN's. "
                   f"When none of them is given and the grid (--n-gates and --n-beams, "
                   f"or the data's largest gate and beam + 1) has more than "
                   f"{SUPERDARN_MAX_GATES} gates or more than {SUPERDARN_MAX_BEAMS} beams, "
                   f"more than any SuperDARN radar, a warning says so.")))
    add_table_options(gbdscan, "radar or day")
    gbdscan.add_argument("--gate", default="gate", metavar="COL",
                         help="gate column (default: %(default)s)")
    gbdscan.add_argument("--beam", default="beam", metavar="COL",
                         help="beam column (default: %(default)s)")
    gbdscan.add_argument("--scan", metavar="COL", help="integer scan column")
    gbdscan.add_argument("--time", metavar="COL",
                         help="time column, used when there is no --scan (default: time, "
                              "if the table has it; otherwise all rows are one scan)")
    gbdscan.add_argument("--scan-length", metavar="DURATION",
                         help="scan length: a pandas duration such as 1min or 2min, or "
                              "seconds for a numeric time column (default: 1min)")
    gbdscan.add_argument("--f", type=finite_float, default=absent,
                         help=f"beam-width factor, > 0 (default: {defaults['f']})")
    gbdscan.add_argument("--g", type=finite_float, default=absent,
                         help=f"gate half-axis of the search ellipse, > 0 "
                              f"(default: {defaults['g']})")
    gbdscan.add_argument("--pts-ratio", type=finite_float, default=absent, metavar="R",
                         help=f"share of the cells in the ellipse a core cell needs, in (0, 1] "
                              f"(default: {defaults['pts_ratio']})")
    gbdscan.add_argument("--dr", type=finite_float, default=absent, metavar="KM",
                         help=f"gate length, km (default: {defaults['dr']}, SuperDARN)")
    gbdscan.add_argument("--dtheta", type=finite_float, default=absent, metavar="DEG",
                         help=f"beam separation, degrees (default: {defaults['dtheta']}, "
                              f"SuperDARN)")
    gbdscan.add_argument("--r-init", type=finite_float, default=absent, metavar="KM",
                         help=f"range of gate 0, km; any value with r-init + gate * dr > 0 "
                              f"for every gate in the data (default: {defaults['r_init']}, "
                              f"SuperDARN)")
    gbdscan.add_argument("--scan-eps", type=integer, default=absent, metavar="N",
                         help=f"scans on either side in the neighbourhood (default: "
                              f"{defaults['scan_eps']})")
    gbdscan.add_argument("--n-gates", type=integer, default=absent, metavar="N",
                         help="gates per beam, 75 for SuperDARN (default: from the data)")
    gbdscan.add_argument("--n-beams", type=integer, default=absent, metavar="N",
                         help="beams, 16 for most SuperDARN radars (default: from the data)")
    gbdscan.add_argument("--n-scans", type=integer, default=absent, metavar="N",
                         help="scans in the grid (default: from the data)")
    gbdscan.add_argument("--periodic-beams", action="store_const", const=True, default=absent,
                         help="the beams wrap around: the radar turns full circle (a weather "
                              "radar's rays); SuperDARN's fan does not (default: off)")
    gbdscan.add_argument("--mode", default=absent, metavar="MODE",
                         help=f"{choices(GBDSCAN, 'mode')}; consistent: independent of the "
                              f"row order; reference: the published algorithm's labels, "
                              f"scan by scan (default: {defaults['mode']})")
    gbdscan.set_defaults(run=run)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def run(args):
    """GBDSCAN on the (gate, beam[, scan]) cells of every file or group."""
    import numpy as np

    from gridscan import GBDSCAN
    from gridscan.radar import superdarn_cells

    params = given_params(args, GBDSCAN)
    check_params(GBDSCAN(**params))
    settings = {**estimator_defaults(GBDSCAN), **params}
    described = ", ".join(f"{name} {as_typed(settings[name])}" for name in ("f", "g", "pts_ratio"))
    scan_length = "1min" if args.scan_length is None else args.scan_length
    time_column = "time" if args.time is None else args.time

    def cells_of(frame, source):
        import pandas as pd

        if args.scan is not None:
            return numeric_matrix(frame, [args.gate, args.beam, args.scan], source)
        if time_column not in frame.columns:
            return numeric_matrix(frame, [args.gate, args.beam], source)
        table = frame[[args.gate, args.beam, time_column]]
        times = table[time_column]
        try:
            if pd.api.types.is_numeric_dtype(times):
                length = (float(scan_length) if _is_number(scan_length)
                          else pd.Timedelta(scan_length).total_seconds())
            else:
                if not pd.api.types.is_datetime64_any_dtype(times):
                    table = table.assign(**{time_column: pd.to_datetime(times)})
                length = pd.Timedelta(scan_length)
            cells, _ = superdarn_cells(table, gate=args.gate, beam=args.beam,
                                       time=time_column, scan_length=length)
        except (ValueError, TypeError) as exc:
            raise CommandError(f"{source}: {one_line(exc)}") from None
        return cells

    def plan_for(frame, source):
        require_columns(frame, [args.gate, args.beam], source)
        columns = [args.gate, args.beam]
        if args.scan is not None:
            require_columns(frame, [args.scan], source)
            columns.append(args.scan)
            if args.time is not None or args.scan_length is not None:
                raise CommandError("--time and --scan-length make scans from times; with "
                                   "--scan the scans are given: use one or the other")
        elif time_column in frame.columns:
            columns.append(time_column)
            note(args, f"{source}: cells from columns {args.gate}, {args.beam}; scans of "
                       f"{scan_length} from column {time_column}")
        elif args.time is not None:
            require_columns(frame, [time_column], source)
        elif args.scan_length is not None:
            raise CommandError(f"{source}: --scan-length needs a time column and there is no "
                               f"column 'time'; name it with --time")
        else:
            note(args, f"{source}: cells from columns {args.gate}, {args.beam}; no --scan and "
                       f"no 'time' column, so all rows are one scan")
        grids = []

        def fit(rows):
            cells = cells_of(frame.iloc[rows], source)
            # Integer cells stay integers; anything else goes to GBDSCAN, which says what is wrong.
            if np.array_equal(cells, np.round(cells)):
                cells = cells.astype(np.int64)
            model = GBDSCAN(**params)
            labels = model.fit_predict(cells)
            grids.append((model.n_gates_, model.n_beams_))
            return labels

        def finish():
            geometry = ("dr", "dtheta", "r_init")
            if not grids or any(name in params for name in geometry):
                return
            gates = max(gates for gates, _ in grids)
            beams = max(beams for _, beams in grids)
            if gates > SUPERDARN_MAX_GATES or beams > SUPERDARN_MAX_BEAMS:
                warn(args, f"{source}: a grid of {gates:,} gates x {beams:,} beams is larger "
                           f"than a SuperDARN radar's (at most {SUPERDARN_MAX_GATES} gates, "
                           f"{SUPERDARN_MAX_BEAMS} beams), yet the geometry is SuperDARN's "
                           f"default (--dr {as_typed(settings['dr'])} km, --dtheta "
                           f"{as_typed(settings['dtheta'])} degrees, --r-init "
                           f"{as_typed(settings['r_init'])} km); give your radar's")

        return Plan(columns, fit, f"{described} on columns {', '.join(map(str, columns))}",
                    finish)

    cluster_files(args, plan_for)
