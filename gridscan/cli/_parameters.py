"""Options that are estimator parameters: names, the values given, their validation.

The options of ``cluster`` and ``gbdscan`` are the constructor parameters of
GridDBSCAN and GBDSCAN under the same names (``--min-samples`` is
``min_samples``). They default to absent (argparse.SUPPRESS): only the options
given reach the estimator, which validates them itself, so the defaults and the
rules are the estimator's.
"""

import re

from gridscan.cli._messages import CommandError, one_line

# Constructor parameters that have no option of the same name, with the reason.
# Empty: every parameter of GridDBSCAN and GBDSCAN is an option (--eps, --min-samples,
# ...); tests/test_cli_safety.py fails when an estimator gains a parameter the command lacks.
PARAMETERS_WITHOUT_OPTION = {"GridDBSCAN": {}, "GBDSCAN": {}}


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
