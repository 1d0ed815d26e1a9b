"""Memory: failed allocations raise MemoryError with a message; use grows linearly with n.

The allocation tests lower the address-space limit (RLIMIT_AS) of a child
process step by step, so that each fit fails at a different allocation: numpy
arrays, the per-thread search workspace, candidate range lists that grow, the
grid's neighbour cell lists.  Every failure must be a MemoryError with a
message, never a crash, and the process must go on working afterwards.
"""

import importlib.util
import json
import sys

import child
import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from gridscan._index import Workspace

needs_rlimit = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                  reason="RLIMIT_AS and /proc/self/status")

LIMITED = r"""
import json, resource
import numpy as np
from gridscan import BallTree, GridDBSCAN, RangeEps

def address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

X = np.random.default_rng(0).uniform(0, 55, (300_000, 2))
TREE = BallTree(X[:200_000], leaf_size=1)
JOBS = {
    "grid": lambda: GridDBSCAN(eps=0.2, min_samples=5, algorithm="grid", n_jobs=2).fit(X),
    "ball_tree": lambda: GridDBSCAN(eps=0.2, min_samples=5, algorithm="ball_tree",
                                    n_jobs=2).fit(X),
    "range_eps": lambda: GridDBSCAN(eps=RangeEps(base=[0.002, 0.004], range_feature=0,
                                                 power=1.0, offset=1.0),
                                    min_samples=5, n_jobs=2).fit(X),
    # Anisotropic radii leave no node whole: one candidate range per leaf, a list that grows.
    "ranges": lambda: TREE.query_radius(X[:1000], [50.0, 0.001], count_only=True, n_jobs=1),
}
# OpenMP threads and their malloc arenas are made before the limit, as in a long session
# (a fit takes a second thread from 50,000 points on).
for job in ("grid", "ball_tree"):
    GridDBSCAN(eps=0.2, algorithm=job, n_jobs=2).fit(X[:60_000])

soft, hard = resource.getrlimit(resource.RLIMIT_AS)
for name, job in JOBS.items():
    for headroom in (2, 8, 32, 128, 1024):
        resource.setrlimit(resource.RLIMIT_AS, (address_space() + headroom * 2**20, hard))
        try:
            job()
            outcome = ["ok", ""]
        except Exception as exc:
            outcome = [type(exc).__name__, str(exc)]
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        print(json.dumps([name, headroom] + outcome), flush=True)
small = np.random.default_rng(1).uniform(0, 1, (3000, 2))
labels = GridDBSCAN(eps=0.03, min_samples=4).fit(small).labels_
print(json.dumps(["after", 0, "labels", labels.tolist()]))
"""


@needs_rlimit
def test_failed_allocations_raise_memory_error_with_a_message():
    # glibc: every block from 64 kB up gets its own mapping, and all threads share one heap,
    # so that every large allocation counts against the limit (and the trials do not depend
    # on what earlier trials left free).
    env = child.child_env(MALLOC_MMAP_THRESHOLD_=65536, MALLOC_ARENA_MAX=1)
    result = child.run(LIMITED, timeout=600, env=env)
    assert result.returncode == 0, f"{child.describe(result.returncode)}\n{result.stderr}"
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    *trials, (_, _, _, labels) = outcomes
    seen = {}
    for name, headroom, kind, message in trials:
        assert kind in ("ok", "MemoryError"), f"{name} with {headroom} MB: {kind}: {message}"
        if kind == "MemoryError":
            assert message, f"{name} with {headroom} MB: MemoryError without a message"
        seen.setdefault(name, []).append((headroom, kind, message))
    for name, results in seen.items():
        # Too little memory fails, enough succeeds.
        assert results[0][1] == "MemoryError" and results[-1][1] == "ok", (name, results)
    # The compiled code's own allocations fail as cleanly as numpy's.
    messages = " ".join(message for *_, message in trials)
    assert "gridscan: out of memory while collecting candidate ranges" in messages
    assert "Unable to allocate" in messages
    # And the process goes on working.
    small = np.random.default_rng(1).uniform(0, 1, (3000, 2))
    np.testing.assert_array_equal(labels, DBSCAN(eps=0.03, min_samples=4).fit(small).labels_)


def test_workspace_that_cannot_be_allocated_raises_memory_error():
    with pytest.raises(MemoryError, match="gridscan: could not allocate search workspace"):
        Workspace(2**40, 3)


# Peak memory of a fit beyond its input, in bytes per point (README "Memory"), with a margin
# for the allocator; measured at 2,000,000 points: grid 163 (constant eps) and 208 (RangeEps),
# ball tree 74 and 123.
BYTES_PER_POINT = {"grid": 260, "ball_tree": 160}


def peak_bytes_per_point(n, algorithm, eps_kind):
    """The measurement of benchmarks/memory_per_point.py (a fresh child process per fit)."""
    spec = importlib.util.spec_from_file_location(
        "memory_per_point", child.ROOT / "benchmarks" / "memory_per_point.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bytes_per_point(n, algorithm, eps_kind)


@needs_rlimit
@pytest.mark.parametrize("eps_kind", ["constant", "range"])
@pytest.mark.parametrize("algorithm", ["grid", "ball_tree"])
def test_memory_per_point_is_bounded_and_linear(algorithm, eps_kind):
    small = peak_bytes_per_point(250_000, algorithm, eps_kind)
    large = peak_bytes_per_point(1_000_000, algorithm, eps_kind)
    limit = BYTES_PER_POINT[algorithm]
    assert large < limit, f"{large:.0f} bytes per point at 1,000,000 points"
    assert small < limit, f"{small:.0f} bytes per point at 250,000 points"
    # O(n): four times the points take about four times the memory, not sixteen.
    assert large / small < 1.6, f"{small:.0f} then {large:.0f} bytes per point"
