"""Sphinx configuration of gridscan's documentation.

Build (from the repository root, with ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

gridscan must be importable as built (its compiled modules): the editable
install does that, or ``PYTHONPATH`` pointing at an in-place build.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _gallery.py and _cli_help.py, local helpers

os.environ.setdefault("PYART_QUIET", "1")  # Py-ART prints a banner on import otherwise
os.environ.setdefault("MPLBACKEND", "Agg")

import gridscan  # noqa: E402

project = "gridscan"
author = "gridscan developers"
copyright = "gridscan developers"
release = gridscan.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "_cli_help",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
templates_path = ["_templates"]
default_role = "code"

# API reference: one page per public name, generated from the numpydoc docstrings.
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# The examples/ scripts as a gallery.  Each script is executed (rendered, not
# stubbed) in its reduced size: the gallery passes --small on its command line,
# as tests/test_examples.py does.  The scripts draw on matplotlib Figure objects
# and save PNG files rather than using pyplot, so the images are collected from
# the files they write.  Callables are named by string so that the
# configuration pickles.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "_gallery.reset_argv",
    "image_scrapers": ("_gallery.png_scraper",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = f"gridscan {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
html_show_sourcelink = False
smartquotes = False  # option names such as --small stay as typed
