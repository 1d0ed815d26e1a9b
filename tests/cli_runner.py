"""Run the gridscan command in the test's own process."""

from gridscan.cli import main


def run_cli(capsys, *args):
    """gridscan.cli.main(args) in this process: (exit status, stdout, stderr)."""
    try:
        status = main([str(arg) for arg in args])
    except SystemExit as exit_info:
        status = exit_info.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
