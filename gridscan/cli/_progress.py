"""Progress bars on stderr (tqdm, when installed), shown for more than one item."""

import contextlib
import sys


def progress(items, total, description, enabled, leave=True, bars=None):
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


@contextlib.contextmanager
def cleared_on_error():
    """A list for the bars of a run; on any error they vanish, leaving the error on its own line."""
    bars = []
    try:
        yield bars
    except BaseException:
        for bar in reversed(bars):
            bar.leave = False
            bar.close()
        raise
