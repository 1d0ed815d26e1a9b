"""Choosing and checking the columns of a table: features, numbers, the label column.

A column of numbers with one stray value (``a``, a quoted ``"1,5"``) is an
error naming the row and value, never a column silently left out; the label
column may not overwrite a feature, nor any other column unless asked.
"""

import re

from gridscan.cli._messages import CommandError


def require_columns(frame, names, source):
    """CommandError naming the columns of ``names`` that ``frame`` lacks."""
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


def is_numeric(column):
    """True for a column of numbers (booleans are not)."""
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
        if is_numeric(column):
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


def numeric_matrix(frame, columns, source):
    """The columns as a float64 matrix; CommandError for text or a missing/non-finite value."""
    import numpy as np

    for name in columns:
        column = frame[name]
        if not is_numeric(column):
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


def check_label_column(args, frame, npz_arrays, features, source):
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
