"""The command line as a package: the entry points resolve, and the package is shipped.

gridscan/cli/ is a subpackage; pyproject.toml lists its packages by hand, so a
subpackage missing from that list would be left out of the wheel and the
installed ``gridscan`` command would fail to import.
"""

import importlib
from pathlib import Path

import pytest
from setuptools import find_packages

import gridscan.cli

tomllib = pytest.importorskip("tomllib")  # the standard library from Python 3.11

ROOT = Path(gridscan.__file__).resolve().parent.parent


def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def test_every_gridscan_package_is_declared_for_packaging():
    declared = set(pyproject()["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(ROOT), include=["gridscan", "gridscan.*"]))
    assert "gridscan.cli" in found
    assert declared == found


def test_the_console_script_is_the_main_the_tests_run():
    module, _, name = pyproject()["project"]["scripts"]["gridscan"].partition(":")
    assert getattr(importlib.import_module(module), name) is gridscan.cli.main


def test_python_m_gridscan_runs_the_same_main():
    main_module = importlib.import_module("gridscan.__main__")
    assert main_module.main is gridscan.cli.main
