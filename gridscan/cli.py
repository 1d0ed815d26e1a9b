"""The ``gridscan`` command line.

gridscan demo     cluster a synthetic radar scan and draw it to an image
gridscan cluster  cluster the rows of CSV, Parquet or NPZ files (GridDBSCAN); add a label column
gridscan gbdscan  cluster gate/beam/scan tables with GBDSCAN; add a label column
gridscan radar    cluster radar files (anything Py-ART reads) sweep by sweep; write each
                  back as CF/Radial with a label field, its cluster table and a PPI image

Every user error (missing file or column, bad number, bad data) prints one line
``gridscan: error: ...`` on stderr and exits with status 2; running out of
memory exits with status 1 and Ctrl-C with status 130, each with one line; so
does an unexpected failure (status 1; GRIDSCAN_DEBUG=1 shows its traceback).
Notes (which columns were clustered, how a file was read) and warnings (a
degenerate result, a grid that does not fit the geometry) go to stderr, never
change the exit status, and are silenced by ``--quiet``.

``radar`` goes on past a file it cannot read or cluster: each such file gets its
own ``gridscan: error:`` line, the others are processed, and the exit status is
2 when any file failed.

Outputs are written to a temporary file beside the target and renamed over it
only once complete, so a failed run leaves the previous file as it was and no
partial file; an output that is one of the inputs is refused.

The options of ``cluster`` and ``gbdscan`` are the constructor parameters of
GridDBSCAN and GBDSCAN under the same names (``--min-samples`` is
``min_samples``). Only the options given reach the estimator, which validates
them itself: the defaults and the rules are the estimator's, so the command
line cannot drift from it. matplotlib, pandas and tqdm are imported only by the
commands that use them.
"""

import argparse
import contextlib
import math
import os
import re
import stat
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TABLE_SUFFIXES = (".csv", ".npz", ".parquet", ".pq")

# GBDSCAN's geometry defaults (dr, dtheta, r_init) are SuperDARN's. A grid larger
# than any SuperDARN radar's (16 beams on most radars, up to 24; 75 gates in the
# common mode, up to 110) with those defaults in force draws a warning.
SUPERDARN_MAX_BEAMS = 24
SUPERDARN_MAX_GATES = 110

# Constructor parameters that have no option of the same name, with the reason.
# Empty: every parameter of GridDBSCAN and GBDSCAN is an option (--eps, --min-samples,
# ...); tests/test_cli.py fails when an estimator gains a parameter the command lacks.
PARAMETERS_WITHOUT_OPTION = {"GridDBSCAN": {}, "GBDSCAN": {}}


class CommandError(Exception):
    """A user error, reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with every error on one line."""

    def error(self, message):
        self.exit(2, f"gridscan: error: {message} (see '{self.prog} --help')\n")


def _say(message):
    """One line on stderr, above a progress bar if one is shown."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)


def _note(args, message):
    """``gridscan: message`` on stderr, unless --quiet.

    While a file is being clustered, notes wait in ``args.pending_notes`` and are
    printed once the file is done, so that a run that fails prints only its error.
    """
    if args.quiet:
        return
    pending = getattr(args, "pending_notes", None)
    if pending is not None:
        pending.append(message)
    else:
        _say(f"gridscan: {message}")


def _warn(args, message):
    """``gridscan: warning: message`` on stderr, unless --quiet; the exit status stays 0."""
    if not args.quiet:
        _say(f"gridscan: warning: {message}")


# ---------------------------------------------------------------- argument types
#
# Option types check only the syntax (a number, an integer); the ranges are the
# estimator's business (see _check_params).

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


def integer(text):
    """An integer."""
    return _number(text, integer=True, what="an integer")


def positive_int(text):
    """An integer >= 1."""
    return _number(text, low=0, integer=True, what="an integer >= 1")


def non_negative_int(text):
    """An integer >= 0."""
    return _number(text, low=0, low_open=False, integer=True, what="an integer >= 0")


def column_list(text):
    """Comma-separated column names."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


def column_periods(text):
    """Comma-separated COLUMN=PERIOD pairs, as a dict."""
    periods = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            period = float(value)
        except ValueError:
            period = math.nan
        if not name.strip() or not (math.isfinite(period) and period > 0):
            raise argparse.ArgumentTypeError(
                f"expected comma-separated COLUMN=PERIOD pairs with periods > 0, "
                f"got {text!r}")
        periods[name.strip()] = period
    return periods


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


def _int_list(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None


# ---------------------------------------------------------------- estimator parameters

def _option(name):
    """The option of a constructor parameter: min_samples -> --min-samples."""
    return "--" + name.replace("_", "-")


def _given(args, estimator_class, skip=()):
    """The constructor parameters given on the command line (options default to absent)."""
    names = estimator_class().get_params(deep=False)
    return {name: getattr(args, name) for name in names
            if name not in skip and hasattr(args, name)}


_INVALID_PARAMETER = re.compile(
    r"The '(\w+)' parameter of \w+ must be (.+?)\. Got (.+) instead\.$", re.DOTALL)


def _check_params(estimator):
    """The estimator's own parameter validation, its message in terms of options."""
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        message = str(exc).strip()
        match = _INVALID_PARAMETER.match(message)
        if match is None:
            raise CommandError(_one_line(exc)) from None
        name, expected, got = match.groups()
        among = re.fullmatch(r"a str among \{(.*)\}", expected)
        if among:  # a set: its order changes from run to run
            expected = "one of " + ", ".join(sorted(re.findall(r"'[^']*'", among.group(1))))
        raise CommandError(f"argument {_option(name)}: expected {expected}, got {got}") \
            from None


def _defaults(estimator_class):
    return estimator_class().get_params(deep=False)


# ---------------------------------------------------------------- reading tables

# What a file holds, from its first bytes.
_KINDS = {
    "zip": "a ZIP archive",
    "npy": "a NumPy .npy file (one array, from numpy.save)",
    "parquet": "a Parquet file",
    "gzip": "a gzip-compressed file",
    "text": "a text file",
    "binary": "a binary file",
}
# Extension: (kind its content must be, what that is called).
_EXPECTED = {
    ".csv": ("text", "CSV text"),
    ".npz": ("zip", "an NPZ archive (from numpy.savez)"),
    ".parquet": ("parquet", "a Parquet file"),
    ".pq": ("parquet", "a Parquet file"),
}
_HINTS = {
    "npy": "; numpy.savez('points.npz', X=numpy.load(FILE)) makes an NPZ of it",
    "parquet": "; give it the extension .parquet",
    "text": "; give it the extension .csv if it is CSV",
}


def _file_kind(path):
    with open(path, "rb") as file:
        head = file.read(4096)
    if not head:
        return "empty"
    for magic, kind in ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"),
                        (b"\x93NUMPY", "npy"), (b"PAR1", "parquet"), (b"\x1f\x8b", "gzip")):
        if head.startswith(magic):
            return kind
    return "binary" if b"\x00" in head else "text"


def _check_content(path, suffix):
    """CommandError unless the file holds what its extension says."""
    try:
        kind = _file_kind(path)
    except OSError as exc:
        raise CommandError(f"cannot read {str(path)!r}: {_reason(exc)}") from None
    if kind == "empty":
        raise CommandError(f"input {str(path)!r} is empty")
    expected, name = _EXPECTED[suffix]
    if kind != expected:
        raise CommandError(f"input {str(path)!r} is {_KINDS[kind]}, not {name} as its "
                           f"extension {suffix!r} says{_HINTS.get(kind, '')}")


_SEPARATOR_NAMES = {";": "';'", "\t": "tab", "|": "'|'"}


def csv_format(path):
    """(separator, decimal mark) of a CSV file, guessed from its first lines.

    The separator is ',' when the header holds a comma outside quotes; otherwise
    the most frequent of ';', tab and '|' in the header, if any. A file that is
    not comma-separated has decimal commas when its data lines hold digit,digit
    and never digit.digit.
    """
    with open(path, "rb") as file:
        sample = file.read(1 << 16)
    lines = sample.decode("utf-8", errors="replace").splitlines()[:50]
    unquoted = [re.sub(r'"[^"]*"', "", line) for line in lines]
    header = unquoted[0] if unquoted else ""
    if "," in header:
        return ",", "."
    counts = {separator: header.count(separator) for separator in _SEPARATOR_NAMES}
    separator = max(counts, key=counts.get)
    if counts[separator] == 0:
        return ",", "."
    body = "\n".join(unquoted[1:])
    decimal = "," if re.search(r"\d,\d", body) and not re.search(r"\d\.\d", body) else "."
    return separator, decimal


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


def read_table(path, note=None):
    """A file as (DataFrame, NPZ arrays or None); a 2-D NPZ array X gives columns X[0], X[1]...

    A CSV file separated by ';', tabs or '|' is read as such (with decimal commas
    when its numbers have them), and ``note`` is told so.
    """
    import numpy as np

    pd = _import_pandas()
    path = Path(path)
    suffix = _table_format(path, "input")
    _check_content(path, suffix)
    try:
        if suffix == ".csv":
            separator, decimal = csv_format(path)
            if separator != "," and note is not None:
                marks = " with decimal commas" if decimal == "," else ""
                note(f"{path}: read as {_SEPARATOR_NAMES[separator]}-separated values{marks} "
                     f"(a CSV output is written the same way)")
            frame = pd.read_csv(path, sep=separator, decimal=decimal, low_memory=False)
            frame.attrs["csv_format"] = separator, decimal
            return frame, None
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), None
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except MemoryError:
        raise
    except Exception as exc:  # the readers raise many types; all mean "cannot read"
        raise CommandError(f"cannot read {str(path)!r}: {_reason(exc)}") from None
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


# ---------------------------------------------------------------- writing files

def write_atomically(target, write):
    """Call ``write(path)`` on a temporary file beside ``target``, then rename it to target.

    The rename happens only once ``write`` has returned and the data are on
    disk, so ``target`` holds either its previous content or the complete new
    one, never a part; on any failure (Ctrl-C included) the temporary file is
    removed and the exception propagates. A symbolic link is written through,
    as ``open`` would; the file keeps the mode of the file it replaces, or gets
    the one ``open`` would give a new file.
    """
    target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    # The temporary keeps the target's extension (numpy.savez would add .npz otherwise).
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.",
                                             suffix=f".part{target.suffix}", dir=target.parent)
    os.close(descriptor)
    try:
        write(temporary)
        with open(temporary, "rb") as file:
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_table(path, frame, labels, label_column, npz_arrays=None):
    """Write the input rows with a label column, in the format of ``path``'s extension.

    The file is replaced only once written in full (see ``write_atomically``).
    """
    import numpy as np

    suffix = _table_format(path, "output")
    if suffix == ".npz":
        arrays = dict(npz_arrays) if npz_arrays is not None else {
            name: np.asarray(frame[name]) for name in frame.columns}
        arrays = {name: (a.astype(str) if a.dtype == object else a) for name, a in arrays.items()}
        arrays[label_column] = np.asarray(labels, dtype=np.int64)
        write_atomically(path, lambda temporary: np.savez(temporary, **arrays))
        return
    out = frame.copy()
    out[label_column] = np.asarray(labels, dtype=np.int64)
    if suffix == ".csv":
        # A CSV output keeps the separator and decimal mark of a CSV input.
        separator, decimal = frame.attrs.get("csv_format", (",", "."))
        write_atomically(path, lambda temporary: out.to_csv(
            temporary, index=False, sep=separator, decimal=decimal))
    else:
        write_atomically(path, lambda temporary: out.to_parquet(temporary, index=False))


def _write_or_fail(target, write, *args):
    """``write(*args)``; any failure but MemoryError and Ctrl-C is a CommandError naming target."""
    try:
        write(*args)
    except (MemoryError, CommandError):
        raise
    except Exception as exc:  # OSError, and the writers' own errors (pyarrow's)
        raise CommandError(f"cannot write {str(target)!r}: {_reason(exc)}") from None


def _one_line(exc):
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _reason(exc):
    """Why an operation failed, without the file name an OSError repeats."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _one_line(exc)


# ---------------------------------------------------------------- columns

def _require_columns(frame, names, source):
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise CommandError(
            f"{source}: no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(map(str, frame.columns)) or '(none)'}")


def _first_non_number(column):
    """(row, value, count) of the values that are present but not numbers; None if all are."""
    import pandas as pd

    present = column.notna().to_numpy()
    numbers = pd.to_numeric(column, errors="coerce").notna().to_numpy()
    bad = present & ~numbers
    if not bad.any():
        return None
    first = int(bad.argmax())
    return column.index[first], column.iloc[first], int(bad.sum())


def _value_hint(value):
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+,\d+\s*", value):
        return (" (a decimal comma? gridscan reads decimal commas in files separated by ';', "
                "not by ',')")
    return ""


def _is_numeric(column):
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(column)
            and not pd.api.types.is_bool_dtype(column))


def _is_text(column):
    import pandas as pd

    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)


def default_features(frame, excluded, source):
    """The numeric columns of ``frame`` not in ``excluded``, and the other columns.

    A text column that holds numbers next to values that are not (a stray
    ``a``, a quoted ``"1,5"``) is an error naming its first bad value: leaving it
    out would change the features because of one cell.
    """
    names, others = [], []
    for name in frame.columns:
        if name in excluded:
            continue
        column = frame[name]
        if _is_numeric(column):
            names.append(name)
            continue
        others.append(name)
        if not _is_text(column):
            continue
        bad = _first_non_number(column)
        n_present = int(column.notna().sum())
        if bad is not None and bad[2] < n_present:  # some numbers, some not
            row, value, count = bad
            raise CommandError(
                f"{source}: column {name!r} holds numbers but also {count:,} value"
                f"{'s' if count > 1 else ''} that {'are' if count > 1 else 'is'} not, the "
                f"first {value!r} in row {row}{_value_hint(value)}; the default features are "
                f"the numeric columns, so it would be left out: fix the file or name the "
                f"features with --features")
    if not names:
        raise CommandError(f"{source}: no numeric columns to cluster among "
                           f"{', '.join(map(str, frame.columns)) or '(none)'}; name them "
                           f"with --features")
    return names, others


def _numeric_matrix(frame, columns, source):
    import numpy as np

    for name in columns:
        column = frame[name]
        if not _is_numeric(column):
            detail = ""
            bad = _first_non_number(column) if _is_text(column) else None
            if bad is not None:
                detail = f": row {bad[0]} holds {bad[1]!r}{_value_hint(bad[1])}"
            raise CommandError(f"{source}: column {name!r} is not numeric "
                               f"(dtype {column.dtype}){detail}")
    X = frame[columns].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise CommandError(f"{source}: column {columns[col]!r} has a missing or non-finite "
                           f"value in row {frame.index[row]}")
    return X


def _check_label_column(args, frame, npz_arrays, features, source):
    """CommandError when the label column would overwrite a feature or, unasked, any column."""
    name = args.label_column
    arrays = npz_arrays or {}
    if name in features or (name in arrays and any(
            str(feature).startswith(f"{name}[") for feature in features)):
        raise CommandError(f"--label-column {name!r} is a feature column of {source}: the "
                           f"labels would overwrite it; choose another name")
    if (name in frame.columns or name in arrays) and not args.overwrite_label_column:
        raise CommandError(f"{source}: column {name!r} already exists; choose another "
                           f"--label-column, or pass --overwrite-label-column to replace it")


# ---------------------------------------------------------------- the clustering loop

def _progress(items, total, description, enabled, leave=True, bars=None):
    """A tqdm bar on stderr when there is more than one item to go through; added to bars."""
    if not enabled or total < 2:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    bar = tqdm(items, total=total, desc=description, unit=description.split()[-1],
               file=sys.stderr, leave=leave)
    if bars is not None:
        bars.append(bar)
    return bar


def _file_id(path):
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _outputs(inputs, output):
    """Output path of every input: a file for one input, a directory for several.

    No output may be an input (by path, link or hard link), and no two inputs
    may share an output.
    """
    # "out/" names a directory, existing or not.
    directory = str(output).endswith(("/", os.sep)) or Path(output).is_dir()
    output = Path(output)
    if len(inputs) == 1 and not directory:
        targets = [output]
    else:
        if output.exists() and not output.is_dir():
            raise CommandError(f"--output {str(output)!r} must be a directory when clustering "
                               f"{len(inputs)} files")
        targets = [output / Path(path).name for path in inputs]
    _check_targets(inputs, zip(inputs, targets, strict=True))
    return targets


def _check_targets(inputs, pairs):
    """CommandError unless every (input, output) pair writes to a path that is no input
    (by path, link or hard link) and that no other input writes to."""
    input_paths = {os.path.realpath(path): str(path) for path in inputs}
    input_ids = {_file_id(path): str(path) for path in inputs}
    input_ids.pop(None, None)
    written = {}
    for source, target in pairs:
        real = os.path.realpath(target)
        same = input_paths.get(real) or input_ids.get(_file_id(target))
        if same is not None:
            raise CommandError(f"--output {str(target)!r} is the input {same!r}; gridscan "
                               f"does not write over its input: choose another output")
        if real in written:
            raise CommandError(f"the inputs {written[real]!r} and {str(source)!r} would both "
                               f"be written to {str(target)!r}; process them separately")
        written[real] = str(source)


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


def _cluster_files(args, plan_for):
    """Shared loop of ``cluster`` and ``gbdscan``: files, groups, labels, output, warnings.

    ``plan_for(frame, source)`` checks one file's columns and returns its Plan.
    """
    inputs = args.files
    for path in inputs:
        _table_format(path, "input")
        if not Path(path).is_file():
            raise CommandError(f"no such file: {str(path)!r}")
    outputs = _outputs(inputs, args.output)
    for path in outputs:
        _table_format(path, "output")
    group_by = args.group_by or []
    if args.label_column in group_by:
        raise CommandError(f"--label-column {args.label_column!r} is a --group-by column: "
                           f"the labels would overwrite it; choose another name")
    bars = []
    try:
        _cluster_each(args, plan_for, inputs, outputs, group_by, bars)
    except BaseException:
        # On a terminal the bars vanish and leave the error on its own line.
        for bar in reversed(bars):
            bar.leave = False
            bar.close()
        raise


def _cluster_each(args, plan_for, inputs, outputs, group_by, bars):
    """Cluster, write and report every file in turn (progress bars go to ``bars``)."""
    import numpy as np

    show = not args.quiet
    jobs = zip(inputs, outputs, strict=True)
    for source, target in _progress(jobs, len(inputs), "clustering files", show, bars=bars):
        args.pending_notes = []
        frame, npz_arrays = read_table(source, note=lambda text: _note(args, text))
        _require_columns(frame, group_by, source)
        plan = plan_for(frame, source)
        _check_label_column(args, frame, npz_arrays, plan.columns, source)
        if group_by:
            groups = list(frame.groupby(group_by, sort=False, dropna=False).indices.items())
        else:
            groups = [(None, np.arange(len(frame)))]
        labels = np.full(len(frame), -1, dtype=np.int64)
        started = time.perf_counter()
        counts = []  # (clusters, noise rows) of every non-empty group
        # Under a bar of files, each bar of groups disappears when its file is done.
        for key, rows in _progress(groups, len(groups), "clustering groups", show,
                                   leave=len(inputs) == 1, bars=bars):
            if len(rows) == 0:
                continue
            try:
                group_labels = np.asarray(plan.fit(rows))
            except ValueError as exc:
                where = f"{source} (group {_group_name(group_by, key)})" if group_by else source
                raise CommandError(f"{where}: {_one_line(exc)}") from None
            labels[rows] = group_labels
            counts.append((int(group_labels.max()) + 1, int(np.count_nonzero(group_labels < 0))))
        elapsed = time.perf_counter() - started
        _write_or_fail(target, write_table, target, frame, labels, args.label_column,
                       npz_arrays)
        for message in args.pending_notes:
            _say(f"gridscan: {message}")
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
        _warn(args, f"{source}: no clusters, every row is noise, with {settings}; the radius "
                    f"may be too small for these columns, or some columns not coordinates")
    elif all(clusters == 1 and noise == 0 for clusters, noise in counts):
        where = f"each of the {len(counts):,} groups is" if len(counts) > 1 else "all rows are"
        _warn(args, f"{source}: {where} one cluster without noise, with {settings}; the "
                    f"radius may be too large for these columns")


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
    formats = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpg"}
    if output.suffix.lower() not in formats:
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
    image_format = formats[output.suffix.lower()]
    _write_or_fail(output, write_atomically, output,
                   lambda temporary: figure.savefig(temporary, format=image_format))
    print(f"gridscan demo: {len(points):,} gates; {'; '.join(summary)}; wrote {output}")


def _text(value):
    """A parameter value as typed on the command line: 0.3 or 1,2."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(_text, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_cluster(args):
    """GridDBSCAN on the numeric (or chosen) columns of every file or group."""
    from sklearn.base import clone

    from gridscan import GridDBSCAN, RangeEps

    if args.range_feature is None:
        for option in ("power", "offset", "min_eps", "max_eps"):
            if getattr(args, option) is not None:
                raise CommandError(f"--{option.replace('_', '-')} needs --range-feature")
    params = _given(args, GridDBSCAN, skip=("eps", "window_features", "periods"))
    _check_params(GridDBSCAN(eps=args.eps, **params))
    settings = {"eps": args.eps, **_defaults(GridDBSCAN), **params}
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
            _require_columns(frame, args.features, source)
            names = list(args.features)
        else:
            label = args.label_column
            if (label in frame.columns and not args.overwrite_label_column
                    and _is_numeric(frame[label])):
                raise CommandError(
                    f"--label-column {label!r} names a numeric column of {source}, a "
                    f"default feature unless it holds labels: choose another name, or pass "
                    f"--overwrite-label-column if it holds an earlier run's labels (it is "
                    f"then replaced and not clustered)")
            names, others = default_features(frame, excluded, source)
            skipped = f" (not numeric: {', '.join(map(str, others))})" if others else ""
            _note(args, f"{source}: clustering on columns {', '.join(map(str, names))}"
                        f"{skipped}")
        X = _numeric_matrix(frame, names, source)
        eps = args.eps
        if args.range_feature is not None:
            eps = RangeEps(base=args.eps,
                           range_feature=position(args.range_feature, names, "--range-feature"),
                           power=1.0 if args.power is None else args.power,
                           offset=args.offset or 0.0, min_eps=args.min_eps,
                           max_eps=args.max_eps)
        window = [position(name, names, "--window-features")
                  for name in getattr(args, "window_features", None) or []]
        periods = {position(name, names, "--periods"): period
                   for name, period in (getattr(args, "periods", None) or {}).items()}
        model = GridDBSCAN(eps=eps, window_features=window or None, periods=periods or None,
                           **params)
        if settings["pts_ratio"] is None:
            minimum = f"min-samples {settings['min_samples']}"
        else:
            minimum = f"pts-ratio {_text(settings['pts_ratio'])}"
        described = (f"eps {_text(args.eps)}{range_text} and {minimum} on columns "
                     f"{', '.join(map(str, names))}")
        return Plan(names, lambda rows: clone(model).fit_predict(X[rows]), described)

    _cluster_files(args, plan_for)


def run_gbdscan(args):
    """GBDSCAN on the (gate, beam[, scan]) cells of every file or group."""
    import numpy as np

    from gridscan import GBDSCAN
    from gridscan.radar import superdarn_cells

    params = _given(args, GBDSCAN)
    _check_params(GBDSCAN(**params))
    settings = {**_defaults(GBDSCAN), **params}
    described = ", ".join(f"{name} {_text(settings[name])}" for name in ("f", "g", "pts_ratio"))
    scan_length = "1min" if args.scan_length is None else args.scan_length
    time_column = "time" if args.time is None else args.time

    def cells_of(frame, source):
        import pandas as pd

        if args.scan is not None:
            return _numeric_matrix(frame, [args.gate, args.beam, args.scan], source)
        if time_column not in frame.columns:
            return _numeric_matrix(frame, [args.gate, args.beam], source)
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
            raise CommandError(f"{source}: {_one_line(exc)}") from None
        return cells

    def plan_for(frame, source):
        _require_columns(frame, [args.gate, args.beam], source)
        columns = [args.gate, args.beam]
        if args.scan is not None:
            _require_columns(frame, [args.scan], source)
            columns.append(args.scan)
            if args.time is not None or args.scan_length is not None:
                raise CommandError("--time and --scan-length make scans from times; with "
                                   "--scan the scans are given: use one or the other")
        elif time_column in frame.columns:
            columns.append(time_column)
            _note(args, f"{source}: cells from columns {args.gate}, {args.beam}; scans of "
                        f"{scan_length} from column {time_column}")
        elif args.time is not None:
            _require_columns(frame, [time_column], source)
        elif args.scan_length is not None:
            raise CommandError(f"{source}: --scan-length needs a time column and there is no "
                               f"column 'time'; name it with --time")
        else:
            _note(args, f"{source}: cells from columns {args.gate}, {args.beam}; no --scan and "
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
                _warn(args, f"{source}: a grid of {gates:,} gates x {beams:,} beams is larger "
                            f"than a SuperDARN radar's (at most {SUPERDARN_MAX_GATES} gates, "
                            f"{SUPERDARN_MAX_BEAMS} beams), yet the geometry is SuperDARN's "
                            f"default (--dr {_text(settings['dr'])} km, --dtheta "
                            f"{_text(settings['dtheta'])} degrees, --r-init "
                            f"{_text(settings['r_init'])} km); give your radar's")

        return Plan(columns, fit, f"{described} on columns {', '.join(map(str, columns))}",
                    finish)

    _cluster_files(args, plan_for)


RADAR_OUTPUTS = {"radar": "{stem}_gridscan.nc", "image": "{stem}_ppi.png"}
"""Names of the outputs of ``gridscan radar`` for an input FILE with stem ``{stem}``."""


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
    _check_targets(inputs, [(source, target) for source, outputs in targets.items()
                            for target in outputs.values()])
    return targets


REFLECTIVITY_FIELDS = ("reflectivity", "DBZH", "DBZ", "corrected_reflectivity",
                       "reflectivity_horizontal", "DBZ_F", "DBZH_CLEAN")
"""Field names ``gridscan radar`` tries, in order, when --field is not given."""


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
        raise CommandError(f"cannot read it as a radar file: {_reason(exc)}") from None


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


def _write_together(targets, writers):
    """Write every output beside its target, then rename them all: all or none appear."""
    directory = next(iter(targets.values())).parent
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gridscan-", dir=directory) as staging:
        staged = {}
        for kind, target in targets.items():
            staged[kind] = Path(staging) / target.name
            try:
                write_atomically(staged[kind], writers[kind])
            except (MemoryError, KeyboardInterrupt):
                raise
            except Exception as exc:
                raise CommandError(f"cannot write {str(target)!r}: {_reason(exc)}") from None
        for kind, target in targets.items():
            os.replace(staged[kind], os.path.realpath(target))


def run_radar(args):
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

    _check_params(GridDBSCAN(eps=1.0, **({} if args.min_samples is None
                                         else {"min_samples": args.min_samples})))
    for option, value in (("--beams", args.beams), ("--min-eps", args.min_eps)):
        if not value > 0:
            raise CommandError(f"argument {option}: expected a number > 0, got {value:g}")
    inputs = _radar_inputs(args.files)
    targets = _radar_targets(args, inputs)
    failed = 0
    bars = []
    try:
        for source in _progress(inputs, len(inputs), "clustering files", not args.quiet,
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
                    raise CommandError(_one_line(exc)) from None
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

                _write_together(outputs, {
                    "radar": write_radar, "table": write_table,
                    "image": lambda path, figure=figure: figure.savefig(path, format="png")})
            except CommandError as exc:
                failed += 1
                _say(f"gridscan: error: {source}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            n_sweeps = int(radar.nsweeps)
            n_clusters = int(labels.max()) + 1 if labels.size else 0
            print(f"{source}: {n_sweeps} sweep{'s' if n_sweeps != 1 else ''}, "
                  f"{len(points):,} gates of {field}, {n_clusters:,} clusters, "
                  f"{int(np.count_nonzero(labels < 0)):,} noise, {elapsed:.2f} s -> "
                  f"{', '.join(str(path) for path in outputs.values())}")
    except BaseException:
        for bar in reversed(bars):
            bar.leave = False
            bar.close()
        raise
    if failed:
        for bar in bars:
            bar.close()
        raise SystemExit(2)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- parser

def _add_table_options(parser, noun):
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
    parser.add_argument("--n-jobs", type=integer, default=argparse.SUPPRESS, metavar="N",
                        help="threads; -1 all cores (default: OMP_NUM_THREADS or all cores)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (shown for several files or groups), notes or "
                             "warnings on stderr; errors are still reported")


def _texts(description, *examples, notes=()):
    """Keyword arguments of add_parser: a wrapped description and an examples epilog."""
    epilog = "examples:\n" + "\n".join(
        textwrap.fill(example, width=78, initial_indent="  ", subsequent_indent="      ",
                      break_on_hyphens=False)
        for example in examples)
    if notes:
        epilog += "\n\n" + "\n\n".join(textwrap.fill(note, width=78) for note in notes)
    return {"description": textwrap.fill(description, width=78), "epilog": epilog,
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def _choices(estimator_class, name):
    """The string options of a parameter, from the estimator's constraints."""
    options = [getattr(c, "options", ()) for c in estimator_class._parameter_constraints[name]]
    return ", ".join(sorted(str(option) for group in options for option in group))


_COMMON_NOTES = (
    "Rows in messages are counted from 0, the header not included. On stderr, "
    "unless --quiet: the columns clustered when chosen by default, how a CSV "
    "not separated by commas was read, and a warning when the result looks "
    "degenerate (no cluster at all, or every row in one cluster without noise); "
    "warnings do not change the exit status.",
    "The output is written to a temporary file beside it and renamed once "
    "complete: a failed run leaves no partial file and the previous output as it "
    "was. An output that is an input is an error.",
)


def build_parser():
    """The argument parser of the ``gridscan`` command."""
    from gridscan import GBDSCAN, GridDBSCAN, __version__

    parser = _Parser(
        prog="gridscan",
        description="Density-based clustering of radar data and other low-dimensional "
                    "points: DBSCAN with a range-dependent eps, and GBDSCAN for "
                    "gate/beam/scan grids.",
        epilog="examples:\n"
               "  gridscan demo --output scan.png\n"
               "  gridscan cluster points.csv --eps 0.3 --min-samples 5 --output labelled.csv\n"
               "  gridscan gbdscan day.parquet --n-gates 75 --n-beams 16 --output out.parquet\n"
               "  gridscan radar radar_files/ --threshold 20 --output products/\n"
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

    # Estimator options default to absent (SUPPRESS): only those given reach the
    # estimator, whose own defaults the help texts quote.
    absent = argparse.SUPPRESS
    dbscan = _defaults(GridDBSCAN)
    cluster = commands.add_parser(
        "cluster", help="cluster the rows of CSV, Parquet or NPZ files with GridDBSCAN",
        **_texts("Cluster the rows of each table with GridDBSCAN and write it back with a "
                 "label column (-1 for noise). The numeric columns are the features unless "
                 "--features names them; a column of numbers with a stray non-numeric value "
                 "is an error rather than left out. With --range-feature the radius follows "
                 "a range column: eps_k = EPS_k * (range + OFFSET) ** POWER_k, clipped to "
                 "[MIN_EPS, MAX_EPS]. The options are GridDBSCAN's parameters, checked by "
                 "GridDBSCAN.",
                 "gridscan cluster points.csv --eps 0.3 --min-samples 5 --output labelled.csv",
                 "gridscan cluster gates.parquet --features x,y,range --eps 0.026 "
                 "--range-feature range --min-eps 1 --window-features range --output out.parquet",
                 notes=_COMMON_NOTES))
    _add_table_options(cluster, "frame")
    cluster.add_argument("--eps", type=_eps_list, required=True, metavar="EPS",
                         help="neighbourhood radius, or one per feature, comma-separated")
    cluster.add_argument("--min-samples", type=integer, default=absent, metavar="N",
                         help=f"neighbours (the point included) a core point needs "
                              f"(default: {dbscan['min_samples']})")
    cluster.add_argument("--features", type=column_list, metavar="COLS",
                         help="comma-separated feature columns (default: every numeric column "
                              "except --group-by and the label column; they are listed on "
                              "stderr)")
    cluster.add_argument("--metric", default=absent, metavar="NAME",
                         help=f"distance: {_choices(GridDBSCAN, 'metric')} "
                              f"(default: {dbscan['metric']})")
    cluster.add_argument("--p", type=finite_float, default=absent, metavar="P",
                         help="power of the minkowski metric, >= 1 (default: 2)")
    cluster.add_argument("--neighbors", default=absent, metavar="RULE",
                         help=f"neighbourhood rule for a varying eps: "
                              f"{_choices(GridDBSCAN, 'neighbors')} "
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
    cluster.add_argument("--grid-shape", type=_int_list, default=absent, metavar="N,N,...",
                         help="lattice size for --pts-ratio, one integer per feature "
                              "(default: the largest value of each feature + 1)")
    cluster.add_argument("--algorithm", default=absent, metavar="NAME",
                         help=f"neighbour search: {_choices(GridDBSCAN, 'algorithm')}; all give "
                              f"the same labels (default: {dbscan['algorithm']})")
    cluster.add_argument("--leaf-size", type=integer, default=absent, metavar="N",
                         help=f"leaf size of the ball tree (default: {dbscan['leaf_size']})")
    cluster.add_argument("--range-feature", metavar="COL",
                         help="feature whose value the radius follows (makes eps a RangeEps)")
    cluster.add_argument("--power", type=_float_list, metavar="P",
                         help="power of the range, or one per feature (default: 1)")
    cluster.add_argument("--offset", type=finite_float, metavar="R0",
                         help="added to the range before the power (default: 0)")
    cluster.add_argument("--min-eps", type=_eps_list, metavar="EPS",
                         help="smallest radius, or one per feature")
    cluster.add_argument("--max-eps", type=_eps_list, metavar="EPS",
                         help="largest radius, or one per feature")
    cluster.set_defaults(run=run_cluster)

    radar = _defaults(GBDSCAN)
    gbdscan = commands.add_parser(
        "gbdscan", help="cluster gate/beam/scan tables (SuperDARN style) with GBDSCAN",
        **_texts("Cluster radar grid cells with GBDSCAN (Kellner et al. 2012, as used for "
                 "SuperDARN) and write each table back with a label column (-1 for noise). "
                 "Cells are the gate and beam columns plus a scan: the --scan column, or "
                 "scans of --scan-length made from the --time column, or none (one scan). "
                 "Several rows in one cell of one scan share a label. The options are "
                 "GBDSCAN's parameters, checked by GBDSCAN.",
                 "gridscan gbdscan day.csv --n-gates 75 --n-beams 16 --scan-length 1min "
                 "--output out.csv",
                 "gridscan gbdscan *.parquet --group-by radar --output labelled/",
                 notes=(*_COMMON_NOTES,
                        f"The geometry defaults (--dr, --dtheta, --r-init) are SuperDARN's. "
                        f"When none of them is given and the grid (--n-gates and --n-beams, "
                        f"or the data's largest gate and beam + 1) has more than "
                        f"{SUPERDARN_MAX_GATES} gates or more than {SUPERDARN_MAX_BEAMS} beams, "
                        f"more than any SuperDARN radar, a warning says so.")))
    _add_table_options(gbdscan, "radar or day")
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
                         help=f"beam-width factor, > 0 (default: {radar['f']})")
    gbdscan.add_argument("--g", type=finite_float, default=absent,
                         help=f"gate half-axis of the search ellipse, > 0 "
                              f"(default: {radar['g']})")
    gbdscan.add_argument("--pts-ratio", type=finite_float, default=absent, metavar="R",
                         help=f"share of the cells in the ellipse a core cell needs, in (0, 1] "
                              f"(default: {radar['pts_ratio']})")
    gbdscan.add_argument("--dr", type=finite_float, default=absent, metavar="KM",
                         help=f"gate length, km (default: {radar['dr']}, SuperDARN)")
    gbdscan.add_argument("--dtheta", type=finite_float, default=absent, metavar="DEG",
                         help=f"beam separation, degrees (default: {radar['dtheta']}, "
                              f"SuperDARN)")
    gbdscan.add_argument("--r-init", type=finite_float, default=absent, metavar="KM",
                         help=f"range of gate 0, km; any value with r-init + gate * dr > 0 "
                              f"for every gate in the data (default: {radar['r_init']}, "
                              f"SuperDARN)")
    gbdscan.add_argument("--scan-eps", type=integer, default=absent, metavar="N",
                         help=f"scans on either side in the neighbourhood (default: "
                              f"{radar['scan_eps']})")
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
                         help=f"{_choices(GBDSCAN, 'mode')}; consistent: independent of the "
                              f"row order; reference: the published algorithm's labels, "
                              f"scan by scan (default: {radar['mode']})")
    gbdscan.set_defaults(run=run_gbdscan)

    radar_command = commands.add_parser(
        "radar", help="cluster radar files (anything Py-ART reads) and write the products",
        **_texts("Read each radar file with Py-ART (NEXRAD, CF/Radial, SIGMET, UF, ... "
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
    radar_command.set_defaults(run=run_radar)
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
    except Exception as exc:
        # Not a user error: a bug. One line, unless GRIDSCAN_DEBUG asks for the traceback.
        if os.environ.get("GRIDSCAN_DEBUG"):
            raise
        parser.exit(1, f"gridscan: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
                       f"(a bug in gridscan; GRIDSCAN_DEBUG=1 shows the traceback)\n")
    return 0
