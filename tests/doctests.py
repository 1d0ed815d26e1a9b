"""Run the Examples sections of a module's docstrings as doctests."""

import doctest


def run_docstring_examples(module):
    """Fail unless the module has docstring examples and every one of them passes."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, module.__name__) if t.examples]
    assert tests, f"{module.__name__} has no docstring examples"
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} doctest failures in {module.__name__}"
