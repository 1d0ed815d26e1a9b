"""argparse pieces: the parser class, help layout, and the option types.

Option types check only the syntax (a number, an integer, a list of column
names); the ranges are the estimator's business (``_parameters.check_params``).
"""

import argparse
import math
import textwrap


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with every error on one line."""

    def error(self, message):
        self.exit(2, f"gridscan: error: {message} (see '{self.prog} --help')\n")


def help_texts(description, *examples, notes=()):
    """Keyword arguments of add_parser: a wrapped description and an examples epilog."""
    epilog = "examples:\n" + "\n".join(
        textwrap.fill(example, width=78, initial_indent="  ", subsequent_indent="      ",
                      break_on_hyphens=False)
        for example in examples)
    if notes:
        epilog += "\n\n" + "\n\n".join(textwrap.fill(note, width=78) for note in notes)
    return {"description": textwrap.fill(description, width=78), "epilog": epilog,
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def _number(text, *, low=None, low_open=True, high=None, integer=False, what="a number"):
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if (not math.isfinite(value) or (low is not None and (value <= low if low_open
                                                           else value < low))
            or (high is not None and value > high)):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def finite_float(text):
    """A finite float."""
    return _number(text, what="a finite number")


def positive_float(text):
    """A finite float > 0."""
    return _number(text, low=0, what="a number > 0")


def non_negative_float(text):
    """A finite float >= 0."""
    return _number(text, low=0, low_open=False, what="a number >= 0")


def integer(text):
    """An integer."""
    return _number(text, integer=True, what="an integer")


def positive_int(text):
    """An integer >= 1."""
    return _number(text, low=0, integer=True, what="an integer >= 1")


def non_negative_int(text):
    """An integer >= 0."""
    return _number(text, low=0, low_open=False, integer=True, what="an integer >= 0")


def column_list(text):
    """Comma-separated column names."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


def column_periods(text):
    """Comma-separated COLUMN=PERIOD pairs, as a dict."""
    periods = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            period = float(value)
        except ValueError:
            period = math.nan
        if not name.strip() or not (math.isfinite(period) and period > 0):
            raise argparse.ArgumentTypeError(
                f"expected comma-separated COLUMN=PERIOD pairs with periods > 0, "
                f"got {text!r}")
        periods[name.strip()] = period
    return periods


def float_list(text, *, positive=False):
    """A number, or comma-separated numbers (a list); all > 0 when ``positive``."""
    what = "a number > 0 or comma-separated numbers > 0" if positive else \
        "a number or comma-separated numbers"
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not all(math.isfinite(v) and (v > 0 or not positive) for v in values):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return values[0] if len(values) == 1 else values


def eps_list(text):
    """A radius > 0, or one per feature, comma-separated."""
    return float_list(text, positive=True)


def int_list(text):
    """Comma-separated integers, as a list."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None
