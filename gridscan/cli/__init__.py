"""The ``gridscan`` command line.

gridscan demo     cluster a synthetic radar scan and draw it to an image
gridscan cluster  cluster the rows of CSV, Parquet or NPZ files (GridDBSCAN); add a label column
gridscan gbdscan  cluster gate/beam/scan tables with GBDSCAN; add a label column
gridscan radar    cluster radar files (anything Py-ART reads) with gridscan.radar's feature
                  helpers, sweep by sweep or as a volume; write each back as CF/Radial with
                  a label field, its cluster table and a PPI image

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
``min_samples``), those of ``radar`` the parameters of the radar feature helpers
and of GridDBSCAN. Only the options given reach the estimator or helper, which
validates them itself: the defaults and the rules are theirs. The parameters a
command does not offer are listed, with the reason, in PARAMETERS_WITHOUT_OPTION,
and the tests fail when a parameter is in neither. matplotlib, pandas and tqdm
are imported only by the commands that use them.

Modules, one job each (each depends only on those above it):

_messages     CommandError; notes, warnings and one-line reasons on stderr
_arguments    the parser class, help layout, option types (syntax only)
_parameters   options that are estimator parameters: names, values given, validation
_outputs      atomic writes; no output over an input or shared by two inputs
_tables       reading and writing CSV, Parquet and NPZ tables
_columns      choosing and checking feature and label columns
_progress     progress bars on stderr
_batch        the file and group loop of the table commands (cluster, gbdscan)
_demo, _cluster, _gbdscan, _radar
              the commands: each adds its subparser (``add_parser``) and runs it (``run``)
_main         build_parser and main, the entry point (``gridscan.cli:main``)
"""

from gridscan.cli._main import build_parser, main
from gridscan.cli._parameters import PARAMETERS_WITHOUT_OPTION

__all__ = ["PARAMETERS_WITHOUT_OPTION", "build_parser", "main"]
