"""gridscan.dask.fit_predict_partitioned on a LocalCluster vs GridDBSCAN in one process.

2,000,000 points in 2-D (uniform background plus Gaussian blobs, about 30
neighbours per point on average), clustered three ways in one run:

- one process, GridDBSCAN(n_jobs=1) and GridDBSCAN(n_jobs=2), each in a fresh
  subprocess so that its peak memory is its own;
- a distributed.LocalCluster of 2 worker processes x 1 thread, with X persisted
  on the workers first (the timing is the clustering, not data generation).

Labels are checked equal; peak memory is each process's ru_maxrss (for the
workers, read in the workers after the run, less their idle size).  Times are
the best of --repeat runs.  The machine may be shared, so the script also
measures how many cores two processes really get: the same CPU-bound task run
on one worker alone and on both workers at once.

    PYTHONPATH=$PWD python benchmarks/bench_dask.py [--n 2000000] [--blocks 8] [--repeat 2]
"""

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

N_BLOBS = 400
CHUNK = 250_000


def make_chunk(i, n, seed=0):
    """Rows [i * CHUNK, i * CHUNK + n) of the data set, generated from the chunk number."""
    rng = np.random.default_rng([seed, i])
    centres = np.random.default_rng([seed, 10**6]).uniform(20, 980, size=(N_BLOBS, 2))
    in_blobs = int(0.4 * n)
    blob = rng.integers(0, N_BLOBS, size=in_blobs)
    points = np.concatenate([rng.uniform(0, 1000, size=(n - in_blobs, 2)),
                             centres[blob] + rng.normal(0, 8, size=(in_blobs, 2))])
    return points[rng.permutation(n)]


def chunk_sizes(n):
    return [min(CHUNK, n - start) for start in range(0, n, CHUNK)]


def make_data(n):
    return np.concatenate([make_chunk(i, m) for i, m in enumerate(chunk_sizes(n))])


def estimator(n_jobs):
    from gridscan import GridDBSCAN
    return GridDBSCAN(eps=1.65, min_samples=20, n_jobs=n_jobs)


def single(n, n_jobs, repeat, out):
    """Fit in this (fresh) process; save labels and print the best time and peak memory."""
    import gridscan  # noqa: F401  (imported before the clock starts: about a second)
    X = make_data(n)
    runs = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        labels = estimator(n_jobs).fit(X).labels_
        runs.append((time.perf_counter() - start, time.process_time() - cpu))
    np.save(out, labels)
    seconds, cpu = min(runs)
    print(seconds, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def run_single(n, n_jobs, repeat, out):
    result = subprocess.run([sys.executable, __file__, "--single", str(n_jobs), "--n", str(n),
                             "--repeat", str(repeat), "--out", out], capture_output=True,
                            text=True, check=True, env=os.environ)
    seconds, cpu, peak = result.stdout.split()
    return float(seconds), float(cpu), int(peak), np.load(out)


def worker_peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker_rss():
    import psutil
    return psutil.Process().memory_info().rss


def burn():
    """A fixed CPU-bound task; its time."""
    values = np.random.default_rng(0).random(2_000_000)
    start = time.perf_counter()
    for _ in range(5):
        np.sort(values)
    return time.perf_counter() - start


def run_dask(n, n_blocks, repeat):
    import dask
    import dask.array as da
    import distributed

    import gridscan.dask

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="8GiB") as cluster, \
            distributed.Client(cluster) as client:
        idle = client.run(worker_rss)
        first = sorted(idle)[:1]
        alone = min(client.run(burn, workers=first)[first[0]] for _ in range(2))
        together = min(np.mean(list(client.run(burn).values())) for _ in range(2))
        sizes = chunk_sizes(n)
        parts = [da.from_delayed(dask.delayed(make_chunk)(i, m), shape=(m, 2), dtype=float)
                 for i, m in enumerate(sizes)]
        X = client.persist(da.concatenate(parts))
        distributed.wait(X)
        client.run(import_gridscan)      # on the workers too, before the clock starts
        runs = []
        for _ in range(repeat):
            workers_cpu = client.run(time.process_time)
            start, cpu = time.perf_counter(), time.process_time()
            labels = gridscan.dask.fit_predict_partitioned(X, estimator(None), n_blocks=n_blocks)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            cpu += sum(t - workers_cpu[w] for w, t in client.run(time.process_time).items())
            runs.append((seconds, cpu))
        peaks = client.run(worker_peak_rss)
    seconds, cpu = min(runs)
    return seconds, cpu, {w: peaks[w] - idle[w] for w in peaks}, labels, 2 * alone / together


def import_gridscan():
    import gridscan.dask  # noqa: F401


def mean_neighbours(n):
    from gridscan import BallTree
    X = make_data(n)
    sample = X[np.random.default_rng(1).choice(n, 20_000, replace=False)]
    return BallTree(X).query_radius(sample, 1.65, count_only=True).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single is not None:
        return single(args.n, args.single, args.repeat, args.out)

    import tempfile
    mib = 2.0 ** 20
    print(f"{args.n:,} points, 2-D, eps=1.65, min_samples=20, "
          f"{mean_neighbours(args.n):.1f} neighbours per point on average")
    with tempfile.TemporaryDirectory() as tmp:
        t1, cpu1, peak1, labels1 = run_single(args.n, 1, args.repeat,
                                              os.path.join(tmp, "one.npy"))
        t2, cpu2, peak2, labels2 = run_single(args.n, 2, args.repeat,
                                              os.path.join(tmp, "two.npy"))
    td, cpud, worker_peaks, labels_dask, cores = run_dask(args.n, args.blocks, args.repeat)
    assert np.array_equal(labels1, labels2)
    same = np.array_equal(labels_dask, labels1)
    print(f"{labels1.max() + 1} clusters, {(labels1 == -1).sum():,} noise points; "
          f"Dask labels identical to one process: {same}")
    print(f"Two processes at once ran as fast as {cores:.2f} cores (2.00 on an idle machine)")
    print()
    print(f"{'run':<42} {'time (s)':>9} {'speed-up':>9} {'CPU (s)':>8} "
          f"{'peak memory (MiB)':>19}")
    rows = [("one process, GridDBSCAN n_jobs=1", t1, cpu1, f"{peak1 / mib:.0f}"),
            ("one process, GridDBSCAN n_jobs=2", t2, cpu2, f"{peak2 / mib:.0f}"),
            (f"LocalCluster 2 workers x 1 thread, {args.blocks} blocks", td, cpud,
             " / ".join(f"{p / mib:.0f}" for p in worker_peaks.values()))]
    for name, seconds, cpu, memory in rows:
        print(f"{name:<42} {seconds:>9.2f} {t1 / seconds:>8.2f}x {cpu:>8.2f} {memory:>19}")
    print("CPU: process time of the run; for Dask, both workers plus the driver (scheduler "
          "included).\nMemory: peak RSS; for Dask, each worker's peak above its idle size.")
    if not same:
        raise SystemExit("labels differ")


if __name__ == "__main__":
    main()
