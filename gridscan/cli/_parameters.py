"""Options that are estimator parameters: names, the values given, their validation.

The options of ``cluster`` and ``gbdscan`` are the constructor parameters of
GridDBSCAN and GBDSCAN under the same names (``--min-samples`` is
``min_samples``), and those of ``radar`` the parameters of the gridscan.radar
feature helper it calls and of GridDBSCAN. They default to absent
(argparse.SUPPRESS): only the options given reach the estimator or helper,
which validates them itself, so the defaults and the rules are theirs.
"""

import argparse
import re

from gridscan.cli._arguments import integer
from gridscan.cli._messages import CommandError, one_line

_FROM_HELPER = "set by the --features helper, as in Python (RadarFeatures.estimator_params)"
_INDEX_ONLY = "chooses the neighbour search, never the labels; the command keeps the default"

PARAMETERS_WITHOUT_OPTION = {
    "cluster": {
        "GridDBSCAN": {},
        "RangeEps": {"base": "given by --eps: the radius at range 1 when --range-feature is "
                             "set"},
    },
    "gbdscan": {"GBDSCAN": {}},
    "radar": {
        "GridDBSCAN": {
            "eps": _FROM_HELPER, "metric": _FROM_HELPER, "window_features": _FROM_HELPER,
            "periods": _FROM_HELPER,
            "p": "the power of the minkowski metric, which no helper uses",
            "neighbors": "the Python recipe's rule, union (the default), so the labels "
                         "are the recipe's",
            "pts_ratio": "an adaptive minimum over integer lattice cells; radar features "
                         "are in km",
            "grid_shape": "the lattice of pts_ratio, which the command does not use",
            "algorithm": _INDEX_ONLY, "leaf_size": _INDEX_ONLY,
        },
        **{f"{kind}_features": {"points": "the gates of --field read from each file"}
           for kind in ("ground", "polar", "volume")},
    },
}
"""Per command, the parameters of each class or function it calls that have no option of
the same name, with the reason. tests/test_cli_safety.py compares this with their
signatures: every parameter is an option or listed here, and nothing listed is an option,
so a parameter added to an estimator or a radar helper cannot be left out silently."""


def add_n_jobs_option(parser):
    """--n-jobs, the estimators' n_jobs (absent unless given)."""
    parser.add_argument("--n-jobs", type=integer, default=argparse.SUPPRESS, metavar="N",
                        help="threads; -1 all cores (default: OMP_NUM_THREADS or all cores)")


def option_name(name):
    """The option of a constructor parameter: min_samples -> --min-samples."""
    return "--" + name.replace("_", "-")


def given_params(args, estimator_class, skip=()):
    """The constructor parameters given on the command line (options default to absent)."""
    names = estimator_class().get_params(deep=False)
    return {name: getattr(args, name) for name in names
            if name not in skip and hasattr(args, name)}


def estimator_defaults(estimator_class):
    """The constructor parameters of a default estimator, as a dict."""
    return estimator_class().get_params(deep=False)


def choices(estimator_class, name):
    """The string options of a parameter, from the estimator's constraints."""
    options = [getattr(c, "options", ()) for c in estimator_class._parameter_constraints[name]]
    return ", ".join(sorted(str(option) for group in options for option in group))


def as_typed(value):
    """A parameter value as typed on the command line: 0.3 or 1,2."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(as_typed, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


_INVALID_PARAMETER = re.compile(
    r"The '(\w+)' parameter of \w+ must be (.+?)\. Got (.+) instead\.$", re.DOTALL)


def check_params(estimator):
    """The estimator's own parameter validation, its message in terms of options."""
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        message = str(exc).strip()
        match = _INVALID_PARAMETER.match(message)
        if match is None:
            raise CommandError(one_line(exc)) from None
        name, expected, got = match.groups()
        among = re.fullmatch(r"a str among \{(.*)\}", expected)
        if among:  # a set: its order changes from run to run
            expected = "one of " + ", ".join(sorted(re.findall(r"'[^']*'", among.group(1))))
        raise CommandError(f"argument {option_name(name)}: expected {expected}, got {got}") \
            from None
