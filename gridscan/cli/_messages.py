"""What the command tells its user: the one-line error, notes and warnings on stderr.

Every user error is a CommandError, printed by ``main`` as one line
``gridscan: error: ...`` with exit status 2. Notes and warnings never change
the exit status and are silenced by ``--quiet``.
"""

import sys


class CommandError(Exception):
    """A user error, reported as one line and exit status 2."""


def say(message):
    """One line on stderr, above a progress bar if one is shown."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)


def note(args, message):
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
        say(f"gridscan: {message}")


def warn(args, message):
    """``gridscan: warning: message`` on stderr, unless --quiet; the exit status stays 0."""
    if not args.quiet:
        say(f"gridscan: warning: {message}")


def one_line(exc):
    """The first line of an exception's message (its type name if it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def reason(exc):
    """Why an operation failed, without the file name an OSError repeats."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(exc)
