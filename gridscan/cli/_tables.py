"""Reading and writing the tables of ``cluster`` and ``gbdscan``: CSV, Parquet, NPZ.

A file must hold what its extension says (a ``.npy`` named ``.npz`` is named
for what it is). A CSV file separated by ';', tabs or '|' (with decimal commas)
is recognised and written back the same way. Outputs are written atomically
(``_outputs.write_atomically``). pandas is imported only when a table is read.
"""

import re
from pathlib import Path

from gridscan.cli._messages import CommandError, reason
from gridscan.cli._outputs import write_atomically

TABLE_SUFFIXES = (".csv", ".npz", ".parquet", ".pq")

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
        raise CommandError(f"cannot read {str(path)!r}: {reason(exc)}") from None
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


def table_format(path, role):
    """The extension of a table path (``role`` is 'input' or 'output' in the error)."""
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
    suffix = table_format(path, "input")
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
        raise CommandError(f"cannot read {str(path)!r}: {reason(exc)}") from None
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
    """Write the input rows with a label column, in the format of ``path``'s extension.

    The file is replaced only once written in full (see ``write_atomically``).
    """
    import numpy as np

    suffix = table_format(path, "output")
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
