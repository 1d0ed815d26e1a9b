"""The Examples sections of the public docstrings run as written (doctest)."""

import doctest

import pytest

import gridscan
from gridscan import _ball_tree, _dbscan, _gbdscan, _range_eps


@pytest.mark.parametrize("module", [_dbscan, _range_eps, _ball_tree, _gbdscan],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, module.__name__) if t.examples]
    assert tests, f"{module.__name__} has no docstring examples"
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} doctest failures in {module.__name__}"


def test_public_names_have_examples():
    for name in gridscan.__all__:
        if name.startswith("__"):
            continue
        assert "Examples" in getattr(gridscan, name).__doc__, name
