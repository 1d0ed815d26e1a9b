import os

import numpy as np
import pytest
from hypothesis import settings

# Property tests: "ci" (the default) runs a fixed, bounded set of examples so that
# every run sees the same cases and the suite stays fast; "thorough" explores more
# (HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_properties.py).
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    """A fixed-seed generator: every test sees the same data on every run."""
    return np.random.default_rng(20121003)


@pytest.fixture
def every_thread(monkeypatch):
    """n_jobs threads even for small fits, which would otherwise run on one thread
    (gridscan gives a thread at least ITEMS_PER_THREAD points): the parallel paths
    are then tested on small data too."""
    import gridscan._dbscan
    from gridscan._validation import effective_n_threads

    monkeypatch.setattr(gridscan._dbscan, "effective_n_threads",
                        lambda n_jobs, n_items=None: effective_n_threads(n_jobs))
