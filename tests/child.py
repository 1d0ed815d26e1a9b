"""Run Python code in a child process with this checkout (and tests/) on the path.

Tests that could crash, hang or exhaust the interpreter (bad input, Ctrl-C,
memory limits) run their subject here, so that a crash fails the test instead
of taking the test runner down.
"""

import os
import subprocess
import sys
from pathlib import Path

import gridscan

ROOT = Path(gridscan.__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def child_env(**extra):
    """os.environ with the checkout and tests/ first on PYTHONPATH, plus ``extra``."""
    env = dict(os.environ, **{k: str(v) for k, v in extra.items()})
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(TESTS), os.environ.get("PYTHONPATH")]))
    return env


def start(code, *args, env=None, **kwargs):
    """subprocess.Popen of ``python -c code args`` with text pipes for stdin and stdout."""
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or child_env(), **kwargs)


def run(code, *args, timeout=120, env=None):
    """subprocess.run of ``python -c code args``; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env or child_env())


def describe(returncode):
    """'exit status 3' or 'killed by SIGSEGV'."""
    if returncode is not None and returncode < 0:
        import signal
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"
