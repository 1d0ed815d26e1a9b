"""The entry point: the ``gridscan`` parser, and ``main``, which maps failures to exit statuses."""

import argparse
import os

from gridscan.cli import _cluster, _demo, _gbdscan, _radar
from gridscan.cli._arguments import ArgumentParser
from gridscan.cli._messages import CommandError, one_line

COMMANDS = (_demo, _cluster, _gbdscan, _radar)
"""The modules of the subcommands, in the order ``gridscan --help`` lists them."""


def build_parser():
    """The argument parser of the ``gridscan`` command."""
    from gridscan import __version__

    parser = ArgumentParser(
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
    for command in COMMANDS:
        command.add_parser(commands)
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
        parser.exit(1, f"gridscan: error: out of memory ({one_line(exc)}); try fewer "
                       f"points per file or group\n")
    except KeyboardInterrupt:
        parser.exit(130, "gridscan: interrupted\n")
    except Exception as exc:
        # Not a user error: a bug. One line, unless GRIDSCAN_DEBUG asks for the traceback.
        if os.environ.get("GRIDSCAN_DEBUG"):
            raise
        parser.exit(1, f"gridscan: error: unexpected {type(exc).__name__}: {one_line(exc)} "
                       f"(a bug in gridscan; GRIDSCAN_DEBUG=1 shows the traceback)\n")
    return 0
