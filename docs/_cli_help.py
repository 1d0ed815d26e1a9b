"""Sphinx directives that show the ``gridscan`` command's help and parameter lists.

``.. gridscan-help::`` gives the top-level help, ``.. gridscan-help:: cluster``
a subcommand's, as a literal block: exactly what ``gridscan cluster --help``
prints, taken from ``gridscan.cli.build_parser()`` at build time so the page
cannot drift from the code. ``.. gridscan-parameters-without-option:: radar``
lists the parameters a command does not offer as options, with the reason,
from ``gridscan.cli.PARAMETERS_WITHOUT_OPTION`` (which tests/test_cli_safety.py
checks against the signatures).
"""

import argparse
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

WIDTH = 88


def _help_text(command=None):
    from gridscan.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)  # argparse wraps to the terminal width
    try:
        parser = build_parser()
        if command is not None:
            subparsers = [action for action in parser._actions
                          if isinstance(action, argparse._SubParsersAction)]
            choices = subparsers[0].choices if subparsers else {}
            if command not in choices:
                raise ValueError(f"gridscan has no command {command!r}; "
                                 f"expected one of {sorted(choices)}")
            parser = choices[command]
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


class GridscanHelp(SphinxDirective):
    optional_arguments = 1
    has_content = False

    def run(self):
        command = self.arguments[0] if self.arguments else None
        text = _help_text(command).rstrip()
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


class ParametersWithoutOption(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self):
        from gridscan.cli import PARAMETERS_WITHOUT_OPTION

        command = self.arguments[0]
        if command not in PARAMETERS_WITHOUT_OPTION:
            raise self.error(f"gridscan has no command {command!r}; expected one of "
                             f"{sorted(PARAMETERS_WITHOUT_OPTION)}")
        items = nodes.bullet_list()
        for target, reasons in PARAMETERS_WITHOUT_OPTION[command].items():
            for name, reason in reasons.items():
                paragraph = nodes.paragraph()
                paragraph += nodes.literal(text=f"{target}({name}=...)")
                paragraph += nodes.Text(f": {reason}")
                items += nodes.list_item("", paragraph)
        if not items.children:
            return [nodes.paragraph(text="None: every parameter is an option.")]
        return [items]


def setup(app):
    app.add_directive("gridscan-help", GridscanHelp)
    app.add_directive("gridscan-parameters-without-option", ParametersWithoutOption)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
