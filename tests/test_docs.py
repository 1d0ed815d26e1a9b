"""The Examples sections of the public docstrings run as written (doctest)."""

import pytest
from doctests import run_docstring_examples

import gridscan
from gridscan import _ball_tree, _dbscan, _gbdscan, _range_eps


@pytest.mark.parametrize("module", [_dbscan, _range_eps, _ball_tree, _gbdscan],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    run_docstring_examples(module)


def test_public_names_have_examples():
    for name in gridscan.__all__:
        if name.startswith("__"):
            continue
        assert "Examples" in getattr(gridscan, name).__doc__, name
