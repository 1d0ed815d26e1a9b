"""``gridscan cluster``: GridDBSCAN on the numeric (or chosen) columns of tables."""

import argparse

from gridscan.cli._arguments import (
    column_list,
    column_periods,
    eps_list,
    finite_float,
    float_list,
    help_texts,
    int_list,
    integer,
)
from gridscan.cli._batch import COMMON_NOTES, Plan, add_table_options, cluster_files
from gridscan.cli._columns import default_features, is_numeric, numeric_matrix, require_columns
from gridscan.cli._messages import CommandError, note
from gridscan.cli._parameters import (
    as_typed,
    check_params,
    choices,
    estimator_defaults,
    given_params,
)


def add_parser(commands):
    """The ``cluster`` subcommand: its options are GridDBSCAN's and RangeEps' parameters."""
    from gridscan import GridDBSCAN

    # Estimator options default to absent (SUPPRESS): only those given reach the
    # estimator, whose own defaults the help texts quote.
    absent = argparse.SUPPRESS
    dbscan = estimator_defaults(GridDBSCAN)
    cluster = commands.add_parser(
        "cluster", help="cluster the rows of CSV, Parquet or NPZ files with GridDBSCAN",
        **help_texts(
            "Cluster the rows of each table with GridDBSCAN and write it back with a "
            "label column (-1 for noise). The numeric columns are the features unless "
            "--features names them; a column of numbers with a stray non-numeric value "
            "is an error rather than left out. With --range-feature the radius follows "
            "a range column: eps_k = EPS_k * (range + OFFSET) ** POWER_k, clipped to "
            "[MIN_EPS, MAX_EPS]. The options are GridDBSCAN's parameters, checked by "
            "GridDBSCAN.",
            "gridscan cluster points.csv --eps 0.3 --min-samples 5 --output labelled.csv",
            "gridscan cluster gates.parquet --features x,y,range --eps 0.026 "
            "--range-feature range --min-eps 1 --window-features range --output out.parquet",
            notes=COMMON_NOTES))
    add_table_options(cluster, "frame")
    cluster.add_argument("--eps", type=eps_list, required=True, metavar="EPS",
                         help="neighbourhood radius, or one per feature, comma-separated")
    cluster.add_argument("--min-samples", type=integer, default=absent, metavar="N",
                         help=f"neighbours (the point included) a core point needs "
                              f"(default: {dbscan['min_samples']})")
    cluster.add_argument("--features", type=column_list, metavar="COLS",
                         help="comma-separated feature columns (default: every numeric column "
                              "except --group-by and the label column; they are listed on "
                              "stderr)")
    cluster.add_argument("--metric", default=absent, metavar="NAME",
                         help=f"distance: {choices(GridDBSCAN, 'metric')} "
                              f"(default: {dbscan['metric']})")
    cluster.add_argument("--p", type=finite_float, default=absent, metavar="P",
                         help="power of the minkowski metric, >= 1 (default: 2)")
    cluster.add_argument("--neighbors", default=absent, metavar="RULE",
                         help=f"neighbourhood rule for a varying eps: "
                              f"{choices(GridDBSCAN, 'neighbors')} "
                              f"(default: {dbscan['neighbors']})")
    cluster.add_argument("--window-features", type=column_list, default=absent, metavar="COLS",
                         help="features bounded on their own, outside the distance "
                              "(|difference| <= eps), like time in ST-DBSCAN")
    cluster.add_argument("--periods", type=column_periods, default=absent,
                         metavar="COL=P,...",
                         help="periodic features and their periods, for example azimuth=360: "
                              "values are taken modulo P and 359.5 lies 1 from 0.5")
    cluster.add_argument("--pts-ratio", type=finite_float, default=absent, metavar="R",
                         help="adaptive minimum in (0, 1] instead of --min-samples: a core "
                              "point's neighbourhood holds at least R times the integer "
                              "lattice cells it covers (GBDSCAN's rule)")
    cluster.add_argument("--grid-shape", type=int_list, default=absent, metavar="N,N,...",
                         help="lattice size for --pts-ratio, one integer per feature "
                              "(default: the largest value of each feature + 1)")
    cluster.add_argument("--algorithm", default=absent, metavar="NAME",
                         help=f"neighbour search: {choices(GridDBSCAN, 'algorithm')}; all give "
                              f"the same labels (default: {dbscan['algorithm']})")
    cluster.add_argument("--leaf-size", type=integer, default=absent, metavar="N",
                         help=f"leaf size of the ball tree (default: {dbscan['leaf_size']})")
    cluster.add_argument("--range-feature", metavar="COL",
                         help="feature whose value the radius follows (makes eps a RangeEps)")
    cluster.add_argument("--power", type=float_list, metavar="P",
                         help="power of the range, or one per feature (default: 1)")
    cluster.add_argument("--offset", type=finite_float, metavar="R0",
                         help="added to the range before the power (default: 0)")
    cluster.add_argument("--min-eps", type=eps_list, metavar="EPS",
                         help="smallest radius, or one per feature")
    cluster.add_argument("--max-eps", type=eps_list, metavar="EPS",
                         help="largest radius, or one per feature")
    cluster.set_defaults(run=run)


def run(args):
    """GridDBSCAN on the numeric (or chosen) columns of every file or group."""
    from sklearn.base import clone

    from gridscan import GridDBSCAN, RangeEps

    if args.range_feature is None:
        for option in ("power", "offset", "min_eps", "max_eps"):
            if getattr(args, option) is not None:
                raise CommandError(f"--{option.replace('_', '-')} needs --range-feature")
    params = given_params(args, GridDBSCAN, skip=("eps", "window_features", "periods"))
    check_params(GridDBSCAN(eps=args.eps, **params))
    settings = {"eps": args.eps, **estimator_defaults(GridDBSCAN), **params}
    range_text = f" (following {args.range_feature})" if args.range_feature else ""
    # The label column is never a default feature: in an earlier run's output it holds labels.
    excluded = set(args.group_by or []) | {args.label_column}

    def position(name, names, option):
        if name not in names:
            raise CommandError(f"{option} {name!r} is not among the features "
                               f"{', '.join(map(str, names))}")
        return names.index(name)

    def plan_for(frame, source):
        if args.features:
            require_columns(frame, args.features, source)
            names = list(args.features)
        else:
            label = args.label_column
            if (label in frame.columns and not args.overwrite_label_column
                    and is_numeric(frame[label])):
                raise CommandError(
                    f"--label-column {label!r} names a numeric column of {source}, a "
                    f"default feature unless it holds labels: choose another name, or pass "
                    f"--overwrite-label-column if it holds an earlier run's labels (it is "
                    f"then replaced and not clustered)")
            names, others = default_features(frame, excluded, source)
            skipped = f" (not numeric: {', '.join(map(str, others))})" if others else ""
            note(args, f"{source}: clustering on columns {', '.join(map(str, names))}"
                       f"{skipped}")
        X = numeric_matrix(frame, names, source)
        eps = args.eps
        if args.range_feature is not None:
            shape = {name: getattr(args, name) for name in ("offset", "min_eps", "max_eps")
                     if getattr(args, name) is not None}  # RangeEps' defaults otherwise
            eps = RangeEps(base=args.eps,
                           range_feature=position(args.range_feature, names, "--range-feature"),
                           power=1.0 if args.power is None else args.power, **shape)
        window = [position(name, names, "--window-features")
                  for name in getattr(args, "window_features", None) or []]
        periods = {position(name, names, "--periods"): period
                   for name, period in (getattr(args, "periods", None) or {}).items()}
        model = GridDBSCAN(eps=eps, window_features=window or None, periods=periods or None,
                           **params)
        if settings["pts_ratio"] is None:
            minimum = f"min-samples {settings['min_samples']}"
        else:
            minimum = f"pts-ratio {as_typed(settings['pts_ratio'])}"
        described = (f"eps {as_typed(args.eps)}{range_text} and {minimum} on columns "
                     f"{', '.join(map(str, names))}")
        return Plan(names, lambda rows: clone(model).fit_predict(X[rows]), described)

    cluster_files(args, plan_for)
