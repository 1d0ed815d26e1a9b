"""Every script in examples/ runs at its reduced size (``--small``) and checks its own results."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# What each example must print (its own checks raise SystemExit on failure) and draw.
EXPECTED = {
    "range_dependent_eps.py": (["gridscan's labels equal the Python callable's: True",
                                "times faster than the callable metric"], None),
    "nexrad_sweep.py": (["360 rays x 920 gates of 250 m", "gridscan, eps = max(1 km"],
                        ("nexrad_sweep.png", (800, 800))),
    "pyart_products.py": (["labels read back from CF/Radial equal: True",
                           "GateFilter excludes", "largest clusters:"],
                          ("pyart_products.png", (640, 1200))),
    "superdarn_day.py": (["GBDSCAN mode='consistent'", "GBDSCAN mode='reference'"],
                         ("superdarn_day.png", (450, 1100))),
    "sklearn_pipeline.py": (["GridDBSCAN labels == DBSCAN labels: True",
                             "reproduces its labels: True"], None),
    "two_radars.py": (["echoes seen by both radars that are one cluster with gates of both",
                       "shortcut (each radar's own ground range as the window)"],
                      ("two_radars.png", (600, 1200))),
    "radar_volume.py": (["3-D (volume_features)", "sweep by sweep (ground_features)"],
                        ("radar_volume.png", (600, 1200))),
}


def test_every_example_is_listed():
    assert {path.name for path in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("script", [pytest.param(path, id=path.name) for path in EXAMPLES])
def test_example_runs_small(tmp_path, script):
    env = dict(os.environ, MPLBACKEND="Agg", PYART_QUIET="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(script), "--small"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines, image = EXPECTED[script.name]
    for line in lines:
        assert line in result.stdout, result.stdout
    if image is not None:
        name, shape = image
        picture = mpimg.imread(tmp_path / name)
        assert picture.shape[:2] == shape
        assert picture[..., :3].std() > 0.05  # more than a blank canvas


def readme_blocks():
    """The README's Python code blocks, in order."""
    import re

    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_python_blocks_run(tmp_path):
    """The README's code runs as written, one block after the other (one namespace)."""
    blocks = readme_blocks()
    assert len(blocks) >= 6
    # The Dask tour needs a Dask collection and cluster: tests/test_dask.py.
    runnable = [block for block in blocks if "gridscan.dask" not in block]
    script = tmp_path / "readme.py"
    script.write_text("\n".join(runnable))
    env = dict(os.environ, MPLBACKEND="Agg", PYART_QUIET="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "klot.png").stat().st_size > 10_000


def test_readme_commands_are_the_documented_ones():
    text = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[plot]"\ngridscan demo --output scan.png' in text
    assert 'pip install -e ".[test]"\npython -m pytest' in text
    assert "![" in text and "(docs/demo.png)" in text and (ROOT / "docs" / "demo.png").is_file()
