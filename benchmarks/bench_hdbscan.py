"""GridHDBSCAN against scikit-learn's HDBSCAN, side by side in one run, on the same data.

    python benchmarks/bench_hdbscan.py                  # 200,000 points (sklearn takes minutes)
    python benchmarks/bench_hdbscan.py --n 50000 --repeat 3
    python benchmarks/bench_hdbscan.py --threads 1

Data: run.py's blobs with 10% noise in 2-D (one Gaussian blob per 10,000 points).
Prints, in one run:

- scikit-learn's HDBSCAN (its default algorithm, Prim's over all pairs on a
  KD-tree's core distances) and GridHDBSCAN with a scalar eps of 1, the same
  min_cluster_size and min_samples; wall and CPU seconds, the ratio, and
  whether labels, probabilities and the single-linkage trees are equal;
- GridHDBSCAN with a range-dependent eps (a RangeEps whose radius grows from
  1 to 3 across the box with the first feature) and its ratio to the scalar
  case;
- the peak memory of each GridHDBSCAN fit above the data (a child process per
  fit, resident set size), in bytes per point;
- labels_at at three scales against fresh GridDBSCAN fits (time and equality).

Times are the best of --repeat runs after one warm-up (scikit-learn's: one run,
no warm-up, unless --repeat-sklearn). Wall times on a shared machine are only
as good as its load: CPU seconds are printed next to them.
"""

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import blobs  # noqa: E402

MIN_CLUSTER_SIZE = 20
MIN_SAMPLES = 5


def range_model():
    from gridscan import RangeEps

    # eps = (x + 50) / 50: 1 at x = 0, 3 at x = 100 (the box is 100 wide at 200,000 points).
    return RangeEps(base=1 / 50, range_feature=0, power=1.0, offset=50.0)


def timed(function, repeat, warm_up=True):
    """(best wall seconds, CPU seconds of that run, result)."""
    if warm_up:
        function()
    best = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best[0]:
            best = (wall, cpu, result)
    return best


def child_peak(n, case, threads):
    """Peak resident memory (bytes) of a child fitting GridHDBSCAN, above its resident
    memory just before the fit (Linux: /proc/self/status)."""
    code = f"""
import resource, sys
sys.path.insert(0, {HERE!r})
from run import blobs
from bench_hdbscan import range_model, MIN_CLUSTER_SIZE, MIN_SAMPLES
from gridscan import GridHDBSCAN
X = blobs({n})
eps = range_model() if {case!r} == "range" else 1.0
GridHDBSCAN(min_cluster_size=2, min_samples=2, eps=eps, n_jobs={threads}).fit(X[:100])
with open("/proc/self/status") as status:
    before = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
GridHDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, min_samples=MIN_SAMPLES, eps=eps,
            n_jobs={threads}).fit(X)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(1024 * (after - before))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
    return int(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-sklearn", type=int, default=1)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)

    from sklearn.cluster import HDBSCAN
    from threadpoolctl import threadpool_limits

    from gridscan import GridDBSCAN, GridHDBSCAN

    X = blobs(args.n)
    print(f"{args.n:,} points in 2-D, min_cluster_size={MIN_CLUSTER_SIZE}, "
          f"min_samples={MIN_SAMPLES}, {args.threads} threads, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    def ours(eps=1.0):
        return GridHDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, min_samples=MIN_SAMPLES, eps=eps,
                           n_jobs=args.threads).fit(X)

    def theirs():
        return HDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, min_samples=MIN_SAMPLES,
                       n_jobs=args.threads, copy=True).fit(X)

    with threadpool_limits(args.threads):
        scalar_wall, scalar_cpu, model = timed(ours, args.repeat)
        range_wall, range_cpu, ranged = timed(lambda: ours(range_model()), args.repeat)
        print("scikit-learn's HDBSCAN running ...", flush=True)
        sk_wall, sk_cpu, reference = timed(theirs, args.repeat_sklearn,
                                           warm_up=args.repeat_sklearn > 1)

    same_labels = np.array_equal(model.labels_, reference.labels_)
    same_probabilities = np.allclose(model.probabilities_, reference.probabilities_, rtol=1e-12)
    tree, their_tree = model.single_linkage_tree_, reference._single_linkage_tree_
    same_tree = all(np.array_equal(tree[f], their_tree[f])
                    for f in ("left_node", "right_node", "cluster_size")) and np.allclose(
        tree["value"], their_tree["value"], rtol=1e-12)
    n_clusters = model.labels_.max() + 1
    print(f"\n{'':34}{'wall s':>9}{'CPU s':>9}{'vs sklearn':>12}")
    print(f"{'sklearn.cluster.HDBSCAN':34}{sk_wall:9.2f}{sk_cpu:9.2f}{1.0:12.3f}")
    print(f"{'GridHDBSCAN, eps=1':34}{scalar_wall:9.2f}{scalar_cpu:9.2f}"
          f"{scalar_wall / sk_wall:12.3f}")
    print(f"{'GridHDBSCAN, RangeEps':34}{range_wall:9.2f}{range_cpu:9.2f}"
          f"{range_wall / sk_wall:12.3f}")
    print(f"\nrange-dependent / scalar: {range_wall / scalar_wall:.2f} (wall), "
          f"{range_cpu / scalar_cpu:.2f} (CPU)")
    print(f"scalar eps vs sklearn: {n_clusters} clusters; labels equal: {same_labels}; "
          f"probabilities equal: {same_probabilities}; single-linkage tree equal: {same_tree}")

    print("\nlabels_at against a fresh GridDBSCAN fit:")
    for scale in (0.3, 0.6, 1.0):
        start = time.perf_counter()
        cut = ranged.labels_at(scale)
        cut_time = time.perf_counter() - start
        start = time.perf_counter()
        table = range_model().evaluate(X) * scale
        fresh = GridDBSCAN(min_samples=MIN_SAMPLES, n_jobs=args.threads).fit(
            X, sample_eps=table).labels_
        fit_time = time.perf_counter() - start
        print(f"  scale {scale}: labels_at {cut_time:.2f} s, GridDBSCAN {fit_time:.2f} s, "
              f"equal: {np.array_equal(cut, fresh)}, clusters: {cut.max() + 1}")

    if not args.skip_memory:
        print("\npeak memory of a fit above the data (child process, resident set size):")
        for case in ("scalar", "range"):
            peak = child_peak(args.n, case, args.threads)
            print(f"  {case:7} {peak / 2**20:7.1f} MiB, {peak / args.n:6.0f} bytes per point")
    print(f"\n(this process: peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MiB, scikit-learn's fit included)")


if __name__ == "__main__":
    main()
