"""Helpers of the sphinx-gallery configuration (docs/conf.py names them by string)."""

import shutil
import time
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

# Images older than this build are not the examples' output.
_STARTED = time.time()


def reset_argv(gallery_conf, script_vars):
    """Command-line arguments of every example in the gallery: the quick, reduced size."""
    return ["--small"]


def png_scraper(block, block_vars, gallery_conf):
    """Collect the PNG files an example wrote into its folder (the working directory).

    The files are moved (not copied) into the gallery's image folder, so the
    examples/ folder stays clean, and shown below the code that wrote them.
    """
    folder = Path(block_vars["src_file"]).parent
    written = sorted(path for path in folder.glob("*.png")
                     if path.stat().st_mtime >= _STARTED)
    images = []
    for path in written:
        target = next(block_vars["image_path_iterator"])
        shutil.move(str(path), str(target))
        images.append(target)
    return figure_rst(images, gallery_conf["src_dir"])
