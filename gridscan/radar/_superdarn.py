"""SuperDARN-style tables (gate, beam, time) -> GBDSCAN cells (gate, beam, scan)."""

import numpy as np

MAX_CELL_INDEX = 2**31 - 1
"""Largest gate or beam number superdarn_cells accepts."""



def superdarn_cells(table, *, gate="gate", beam="beam", time="time", scan_length="1min"):
    """(gate, beam, scan) rows of a SuperDARN-style table, for GBDSCAN.

    Each row of the table is one echo: a range gate, a beam and the time of
    the beam's sounding. Soundings are grouped into scans of fixed length
    aligned to the clock (a 1-minute scan starts on the minute); the scan
    index counts scans from the first one, so gaps in the data leave gaps
    in the scan numbers and scans on either side of a gap are not neighbours.

    Parameters
    ----------
    table : pandas.DataFrame
        At least the gate, beam and time columns.
    gate, beam, time : str, default="gate", "beam", "time"
        Column names. Gates and beams must hold non-negative integers; time
        may be datetimes or numbers (seconds).
    scan_length : str, pandas.Timedelta or float, default="1min"
        Length of a scan: a pandas timedelta (string or Timedelta) for a
        datetime column, seconds for a numeric one.

    Returns
    -------
    cells : ndarray of int of shape (n_rows, 3)
        Columns gate, beam, scan: the input of ``GBDSCAN``.
    scan_start : ndarray of shape (n_scans,)
        Start time of every scan index (datetime64 or float seconds).

    Raises
    ------
    ValueError
        If a column is missing, gates or beams are not non-negative integers,
        times are missing, or scan_length is not positive.

    See Also
    --------
    make_superdarn_table : a synthetic table in this layout.
    gridscan.GBDSCAN : clusters the cells.

    Examples
    --------
    >>> import pandas as pd
    >>> from gridscan.radar import superdarn_cells
    >>> table = pd.DataFrame({
    ...     "gate": [10, 11, 10, 12],
    ...     "beam": [3, 3, 4, 0],
    ...     "time": pd.to_datetime(["2024-03-01 00:00:05", "2024-03-01 00:00:05",
    ...                             "2024-03-01 00:00:09", "2024-03-01 00:02:01"])})
    >>> cells, scan_start = superdarn_cells(table, scan_length="1min")
    >>> cells.tolist()
    [[10, 3, 0], [11, 3, 0], [10, 4, 0], [12, 0, 2]]
    >>> scan_start.astype("datetime64[m]").astype(str).tolist()
    ['2024-03-01T00:00', '2024-03-01T00:01', '2024-03-01T00:02']
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    missing = [name for name in (gate, beam, time) if name not in table.columns]
    if missing:
        raise ValueError(f"table has no column {', '.join(map(repr, missing))}; columns are "
                         f"{', '.join(map(str, table.columns))}")
    grid = []
    for name in (gate, beam):
        column = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = (~np.isfinite(column) | (column < 0) | (column != np.round(column))
               | (column > MAX_CELL_INDEX))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {name!r} must hold non-negative integers; row {row} "
                             f"holds {table[name].iloc[row]!r} (expected 0 to {MAX_CELL_INDEX})")
        grid.append(column.astype(np.intp))
    times = table[time]
    if times.isna().any():
        raise ValueError(f"column {time!r} has missing times (row "
                         f"{int(np.flatnonzero(times.isna().to_numpy())[0])})")
    if pd.api.types.is_datetime64_any_dtype(times):
        try:
            step = pd.Timedelta(scan_length)
        except (TypeError, ValueError):
            raise ValueError(f"scan_length must be a pandas duration such as '1min' for a "
                             f"datetime column; got {scan_length!r}") from None
        if step <= pd.Timedelta(0):
            raise ValueError(f"scan_length must be positive; got {scan_length!r}")
        floored = times.dt.floor(step)
        first = floored.min()
        scan = ((floored - first) // step).to_numpy(dtype=np.intp)
        n_scans = scan.max() + 1 if scan.size else 0
        scan_start = (first + pd.to_timedelta(np.arange(n_scans) * step.value, unit="ns")
                      ).to_numpy()
    else:
        try:
            step = float(scan_length)
        except (TypeError, ValueError):
            step = float("nan")
        if not (step > 0 and np.isfinite(step)):
            raise ValueError(f"scan_length must be a positive number of seconds for a numeric "
                             f"time column; got {scan_length!r}")
        try:
            seconds = pd.to_numeric(times).to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {time!r} must hold datetimes or numbers (seconds); "
                             f"{exc}") from None
        if not np.all(np.isfinite(seconds)):
            row = int(np.flatnonzero(~np.isfinite(seconds))[0])
            raise ValueError(f"column {time!r} must hold finite times; row {row} holds "
                             f"{times.iloc[row]!r}")
        counts = np.floor(seconds / step)
        first = counts.min() if counts.size else 0.0
        span = counts.max() - first if counts.size else 0.0
        if not span < 2.0 ** 53:
            # Beyond 2**53 scans the numbering is no longer exact in double precision.
            raise ValueError(
                f"column {time!r} spans {seconds.max() - seconds.min():.6g} seconds, "
                f"{span:.6g} scans of {step:g} s; expected fewer than 2**53 scans")
        scan = (counts - first).astype(np.intp)
        scan_start = (first + np.arange(scan.max() + 1 if scan.size else 0)) * step
    return np.column_stack([grid[0], grid[1], scan]), scan_start
