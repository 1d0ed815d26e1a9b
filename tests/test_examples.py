"""Every script in examples/ runs at its reduced size (``--small``) and checks its own results."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

import gridscan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# What each example must print (its own checks raise SystemExit on failure) and draw.
EXPECTED = {
    "range_dependent_eps.py": (["gridscan's labels equal the Python callable's: True",
                                "times faster than the callable metric"], None),
    "nexrad_sweep.py": (["360 rays x 920 gates of 250 m", "gridscan, eps = max(1 km"],
                        ("nexrad_sweep.png", (800, 800))),
    "superdarn_day.py": (["GBDSCAN mode='consistent'", "GBDSCAN mode='reference'"],
                         ("superdarn_day.png", (450, 1100))),
    "sklearn_pipeline.py": (["GridDBSCAN labels == DBSCAN labels: True",
                             "reproduces its labels: True"], None),
}
NEEDS_GBDSCAN = {"superdarn_day.py"}


def test_every_example_is_listed():
    assert {path.name for path in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_small(tmp_path, script):
    if script.name in NEEDS_GBDSCAN and not hasattr(gridscan, "GBDSCAN"):
        pytest.skip("GBDSCAN lands with issue 3")
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
