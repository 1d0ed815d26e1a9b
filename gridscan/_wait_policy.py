"""OpenMP threads that sleep, rather than spin, while they wait for one another.

Imported by ``gridscan/__init__.py`` before any compiled module: loading the
first of them loads the OpenMP runtime, which reads its wait policy from the
environment then and only then.  Every parallel step of a fit ends with the
threads waiting for one another.  A spinning thread holds a core that the
thread it waits for may need: with every core busy (Dask workers,
GridSearchCV), each wait then costs a scheduler slice, and two threads took
100 times as long as one on a 1,000-point fit.  A sleeping thread gives its
core away at once; on an idle machine the wake-up costs microseconds per step.

The policy is set only for the moment the runtime starts (children of the
process do not inherit it), and only when the user has chosen none:
``OMP_WAIT_POLICY=active`` (or ``GOMP_SPINCOUNT``) keeps the runtime's own.  A
runtime already loaded by another package keeps whatever it read then.
"""

import os

_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")

if not any(name in os.environ for name in _CHOICES):
    os.environ["OMP_WAIT_POLICY"] = "passive"
    try:
        from gridscan import _openmp  # noqa: F401  (starts the OpenMP runtime)
    finally:
        del os.environ["OMP_WAIT_POLICY"]
