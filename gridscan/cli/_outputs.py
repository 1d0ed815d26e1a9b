"""Where outputs go and how they are written: never over an input, whole or not at all.

An output is written to a temporary file beside its target and renamed over
it only once complete, so a failed run leaves the previous file as it was and
no partial file. No output may be an input (by path, symbolic or hard link),
and no two inputs may share an output.
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from gridscan.cli._messages import CommandError, reason


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


def write_or_fail(target, write, *args):
    """``write(*args)``; any failure but MemoryError and Ctrl-C is a CommandError naming target."""
    try:
        write(*args)
    except (MemoryError, CommandError):
        raise
    except Exception as exc:  # OSError, and the writers' own errors (pyarrow's)
        raise CommandError(f"cannot write {str(target)!r}: {reason(exc)}") from None


def write_together(targets, writers):
    """Write every output beside its target, then rename them all: all or none appear.

    ``targets`` maps a kind of output to its path, ``writers`` the same kinds to
    a function ``write(path)``.
    """
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
                raise CommandError(f"cannot write {str(target)!r}: {reason(exc)}") from None
        for kind, target in targets.items():
            os.replace(staged[kind], os.path.realpath(target))


def _file_id(path):
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def output_paths(inputs, output):
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
    check_targets(inputs, zip(inputs, targets, strict=True))
    return targets


def check_targets(inputs, pairs):
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
