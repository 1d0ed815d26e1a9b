"""gridscan against its peers, side by side in one run, on the same data and threads.

    python benchmarks/run.py                 # everything (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick         # smaller sizes, no 2,000,000-point runs
    python benchmarks/run.py --only constant range memory scaling
    python benchmarks/run.py --only huge     # 20,000,000 points: not in the default run
    python benchmarks/run.py --only recipe --quick  # the radar recipe (needs Py-ART)

Sections
--------
constant   Blobs with noise in 2-D: 200,000 points (~30 neighbours) and
           2,000,000 points (~60 neighbours).  gridscan (1 and N threads) vs
           sklearn.cluster.DBSCAN (n_jobs=N) and the ``dbscan`` package
           (Wang, Gu, Shun, SIGMOD 2020).  Labels are checked: equal to
           scikit-learn's element for element, and the same clusters of core
           points as the dbscan package (which numbers clusters its own way and
           may give a border point either of its clusters).
range      200,000 radar detections in (range km, azimuth deg) with an azimuth
           eps that shrinks as 1/range (RangeEps).  gridscan's range-dependent
           time vs its own constant-eps time on the same data, vs today's best
           scikit-learn workaround (a radius graph at the largest eps, filtered
           in numpy, metric="precomputed"), and vs scikit-learn with a Python
           callable metric (timed on subsamples, extrapolated as n**2: the
           callable is evaluated for every pair).  Labels checked equal.
features   Blobs with 10% noise in 4 and 5 features (200,000 points) and 8
           features (100,000), ~30 neighbours, min_samples=10: gridscan (1 and
           N threads), scikit-learn, the dbscan package; and gridscan with a
           per-point RangeEps against its own constant-eps time (the median
           radii).  Labels checked equal to scikit-learn's.
heavy      200,000 uniform 2-D points with ~2,000 neighbours each, min_samples
           below (1,000) and above (2,500) the typical count: gridscan,
           scikit-learn (below only: above, its neighbourhood lists would be
           the same 5 GB) and the dbscan package.
busy       Small and middle-sized fits while two other processes keep both
           cores busy (``while True: pass``): the default n_jobs against
           n_jobs=1.
memory     Peak memory of a child process clustering 200,000 uniform 2-D points
           with ~50, ~500 and ~2,000 neighbours, less the peak of a child that
           only makes the data (so imports count as extra).
scaling    gridscan's time from 20,000 to 2,000,000 points at a fixed density.
huge       20,000,000 2-D blob points (~30 neighbours, min_samples=10; --huge-points,
           --huge-data uniform): gridscan and the dbscan package alternately, each
           fit in a fresh child process (--repeat rounds), with wall and CPU time,
           their ratio and the extra peak memory per point (as in
           memory_per_point.py); then gridscan's predict of 10,000,000 new points.
           Labels: the same core clusters and noise as the dbscan package,
           clusters numbered by smallest core row, and border points and
           predictions equal to the rule of docs/semantics.rst (checked with
           scikit-learn's KDTree over the core points on 20,000 sampled rows).
large      2,000,000 2-D blob points (~30 neighbours): the same alternation, every
           run's ratio shown (the target holds in every run, not only the best);
           labels equal to scikit-learn's.
recipe     The README's ground-plane radar recipe (``ppi_features`` with
           ``beam_eps`` and the ground range as a window feature) against the
           same neighbourhoods given as ``sample_eps`` on x, y alone and on
           x, y with the window, on Py-ART's NEXRAD level-2 samples (``pip
           install arm-pyart``): KLOT sweep 0 over 20 dBZ (3,070 gates), KATX
           sweep 0 (all 1,319,040 gates) and, unless --quick, the whole KATX
           volume (16 sweeps, 6,995,520 gates, ``beam_eps(1.0)``).  One thread,
           CPU time (a busy machine does not inflate it much); labels checked
           equal across the formulations; the ratio is the recipe's time over
           the fastest other formulation's.

Thread count N is --threads (default 2); OMP_NUM_THREADS is left alone.
Times are the best of --repeat runs (default 3) after one warm-up.  The
sections run in the order range, features, heavy, busy, memory, scaling, recipe,
constant, and the dbscan package's runs come last: after it returns, its worker
threads keep about a third of a core busy (measured with getrusage while the
process sleeps), which would slow every timing taken after it in this process.
The features and heavy sections time the dbscan package in a child process of
its own.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from functools import partial

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


# --- data ---------------------------------------------------------------------------------


def blobs(n, seed=0, noise=0.1):
    """n points: Gaussian blobs (one per 10,000 points) over a box that grows with n, plus noise."""
    rng = np.random.default_rng(seed)
    side = 100.0 * np.sqrt(n / 200_000)
    n_noise = int(noise * n)
    centres = rng.uniform(0, side, (max(n // 10_000, 1), 2))
    members = centres[rng.integers(0, len(centres), n - n_noise)]
    X = np.vstack([members + rng.normal(0, 1.0, members.shape),
                   rng.uniform(0, side, (n_noise, 2))])
    return X[rng.permutation(n)]


def radar_detections(n, seed=0):
    """(range km, azimuth deg) of extended targets of 0.3 to 3 km plus uniform clutter."""
    rng = np.random.default_rng(seed)
    n_clutter = n // 5
    n_targets = max((n - n_clutter) // 200, 1)
    target_range = rng.uniform(5, 150, n_targets)
    target_azimuth = rng.uniform(0, 360, n_targets)
    size_km = rng.uniform(0.3, 3.0, n_targets)
    which = rng.integers(0, n_targets, n - n_clutter)
    r = target_range[which] + rng.normal(0, 1, len(which)) * size_km[which]
    # a target's extent across the beam is a fixed arc length: fewer degrees far away
    a = target_azimuth[which] + np.degrees(rng.normal(0, 1, len(which)) * size_km[which]
                                           / target_range[which])
    X = np.vstack([np.column_stack([r, a % 360]),
                   np.column_stack([rng.uniform(2, 150, n_clutter),
                                    rng.uniform(0, 360, n_clutter)])])
    X[:, 0] = np.clip(X[:, 0], 2, None)
    return X[rng.permutation(n)]


def uniform(n, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 2))


def blobs_nd(n, d, seed=0, noise=0.1):
    """blobs() in d features: Gaussian blobs of unit width (one per 10,000 points) in a box
    of side 100 * (n / 200,000) ** (1 / d), plus a fraction ``noise`` of uniform points."""
    rng = np.random.default_rng(seed)
    side = 100.0 * (n / 200_000) ** (1.0 / d)
    n_noise = int(noise * n)
    centres = rng.uniform(0, side, (max(n // 10_000, 1), d))
    members = centres[rng.integers(0, len(centres), n - n_noise)]
    X = np.vstack([members + rng.normal(0, 1.0, members.shape),
                   rng.uniform(0, side, (n_noise, d))])
    return X[rng.permutation(n)]


def calibrate_eps(X, neighbours, sample=4000, seed=0):
    """An eps giving about ``neighbours`` neighbours per point (mean over a sample)."""
    from gridscan import BallTree
    rng = np.random.default_rng(seed)
    tree = BallTree(X)
    Q = X[rng.choice(len(X), min(sample, len(X)), replace=False)]
    d = X.shape[1]
    # The counts grow about as eps ** d.
    eps = 0.05 * (np.ptp(X, axis=0).prod() * neighbours / (np.pi * len(X))) ** (1.0 / d)
    for _ in range(8 if d == 2 else 16):
        mean = tree.query_radius(Q, eps, count_only=True).mean()
        eps *= (neighbours / max(mean, 1.0)) ** (1.0 / d)
    return float(eps)


# --- timing and checks -----------------------------------------------------------------------


def best_time(function, repeat, clock=time.perf_counter):
    function()                                   # warm-up: page faults, thread pools
    times = []
    for _ in range(repeat):
        start = clock()
        result = function()
        times.append(clock() - start)
    return min(times), result


def same_core_clusters(labels_a, core_a, labels_b, core_b):
    """Whether two labellings have the same core points in the same clusters (any numbering)."""
    if not np.array_equal(np.sort(core_a), np.sort(core_b)):
        return False
    a, b = labels_a[core_a], labels_b[core_b]
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))


def ms(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


# --- sections --------------------------------------------------------------------------------


def constant_case(n, neighbours, args):
    """gridscan and scikit-learn on n blob points with about ``neighbours`` each."""
    from sklearn.cluster import DBSCAN

    from gridscan import GridDBSCAN

    X = blobs(n)
    eps, min_samples = calibrate_eps(X, neighbours), 10
    t_1, ours = best_time(lambda: GridDBSCAN(eps, min_samples=min_samples, n_jobs=1).fit(X),
                          args.repeat)
    t_n, ours_n = best_time(
        lambda: GridDBSCAN(eps, min_samples=min_samples, n_jobs=args.threads).fit(X),
        args.repeat)
    t_sk, theirs = best_time(
        lambda: DBSCAN(eps=eps, min_samples=min_samples, n_jobs=args.threads).fit(X),
        1 if n > 500_000 else args.repeat)
    assert np.array_equal(ours.labels_, theirs.labels_), "labels differ from scikit-learn"
    assert np.array_equal(ours_n.labels_, ours.labels_), "labels depend on threads"
    return dict(n=n, neighbours=neighbours, X=X, eps=eps, min_samples=min_samples, ours=ours,
                times=[t_1, t_n, t_sk])


def dbscan_package_row(case, args):
    """The dbscan package on a case of constant_case, and the case's row of the table."""
    import dbscan

    ours, (t_1, t_n, t_sk) = case["ours"], case["times"]
    t_db, (db_labels, db_core) = best_time(
        lambda: dbscan.DBSCAN(case["X"], eps=case["eps"], min_samples=case["min_samples"]),
        args.repeat)
    assert same_core_clusters(ours.labels_, ours.core_sample_indices_, db_labels,
                              np.flatnonzero(db_core)), "clusters differ from dbscan"
    return [f"{case['n']:,}", f"{case['neighbours']}", ms(t_1), ms(t_n), ms(t_sk), ms(t_db),
            f"{t_n / t_sk:.3f}", f"{t_n / t_db:.3f}"]


def constant_section(args):
    sizes = [(200_000, 30)] + ([] if args.quick else [(2_000_000, 60)])
    # The dbscan package's worker threads stay busy after it returns (about a
    # third of a core here), slowing whatever runs next in this process: it
    # runs after every other timing of the run (see SECTIONS).
    cases = [constant_case(n, neighbours, args) for n, neighbours in sizes]
    rows = [dbscan_package_row(case, args) for case in cases]
    table(f"Constant eps, 2-D blobs with noise, min_samples=10 ({args.threads} threads; "
          "labels equal to scikit-learn's)",
          ["points", "neighbours", "gridscan 1 thr", f"gridscan {args.threads} thr",
           "sklearn", "dbscan pkg", "vs sklearn", "vs dbscan"], rows)


def range_model():
    from gridscan import RangeEps
    # 1 km in range; across the beam an arc of about 1 km: 57.3 / r degrees, 0.3 to 10 degrees
    return RangeEps(base=[1.0, 57.3], range_feature=0, power=[0.0, -1.0],
                    min_eps=[1.0, 0.3], max_eps=[1.0, 10.0])


def sklearn_workaround(X, table_eps, min_samples):
    """Today's best scikit-learn recipe for per-point eps (union rule).

    Scale each feature by its largest eps so that one ball of radius 1 holds
    every neighbourhood, take the radius graph, keep the pairs whose scaled
    distance (the smaller of the two points' own) is <= 1, cluster the sparse
    graph as precomputed distances with eps=1.
    """
    from scipy.sparse import csr_matrix
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    scale = table_eps.max(axis=0)
    S = X / scale
    graph = NearestNeighbors(radius=1.0).fit(S).radius_neighbors_graph(S, mode="connectivity")
    rows, cols = graph.nonzero()
    diff = X[cols] - X[rows]
    own = np.sqrt(((diff / table_eps[rows]) ** 2).sum(1))
    other = np.sqrt(((diff / table_eps[cols]) ** 2).sum(1))
    distance = np.minimum(own, other)
    keep = distance <= 1.0
    matrix = csr_matrix((distance[keep], (rows[keep], cols[keep])), shape=(len(X), len(X)))
    return DBSCAN(eps=1.0, min_samples=min_samples, metric="precomputed").fit(matrix)


def callable_dbscan(X, model, min_samples):
    """scikit-learn with a Python callable: the union rule's scaled distance, eps=1."""
    from sklearn.cluster import DBSCAN

    base, power = np.asarray(model.base, float), np.asarray(model.power, float)
    low, high = np.asarray(model.min_eps, float), np.asarray(model.max_eps, float)

    def scaled(a, b):
        # what a user writes today: the model in numpy, called once per pair
        ea = np.clip(base * a[model.range_feature] ** power, low, high)
        eb = np.clip(base * b[model.range_feature] ** power, low, high)
        return min(np.sqrt((((b - a) / ea) ** 2).sum()), np.sqrt((((a - b) / eb) ** 2).sum()))

    return DBSCAN(eps=1.0, min_samples=min_samples, metric=scaled, algorithm="brute").fit(X)


def range_section(args):
    from gridscan import GridDBSCAN

    n = 50_000 if args.quick else 200_000
    X = radar_detections(n)
    model, min_samples = range_model(), 8
    table_eps = model.evaluate(X)
    constant = np.median(table_eps, axis=0)
    t_const, _ = best_time(
        lambda: GridDBSCAN(constant, min_samples=min_samples, n_jobs=args.threads).fit(X),
        args.repeat)
    t_range, ours = best_time(
        lambda: GridDBSCAN(model, min_samples=min_samples, n_jobs=args.threads).fit(X),
        args.repeat)
    t_range_1, _ = best_time(
        lambda: GridDBSCAN(model, min_samples=min_samples, n_jobs=1).fit(X), args.repeat)
    t_work, theirs = best_time(lambda: sklearn_workaround(X, table_eps, min_samples), 1)
    assert np.array_equal(ours.labels_, theirs.labels_), "labels differ from the workaround"

    # The callable metric on two subsamples; every pair is one Python call, so time ~ n**2.
    sizes = [600, 1200] if args.quick else [1000, 2000]
    per_pair = []
    for m in sizes:
        sub = X[:m]
        start = time.perf_counter()
        slow = callable_dbscan(sub, model, min_samples)
        per_pair.append((time.perf_counter() - start) / m ** 2)
        fast = GridDBSCAN(model, min_samples=min_samples).fit(sub)
        assert np.array_equal(fast.labels_, slow.labels_), "labels differ from the callable"
    t_callable = per_pair[-1] * n ** 2
    neighbours = ours.core_sample_indices_.size / n
    table(f"Range-dependent eps: {n:,} radar detections, RangeEps azimuth ~ 1/range, "
          f"min_samples={min_samples} ({args.threads} threads; {neighbours:.0%} core points)",
          ["run", "time", "ratio"],
          [["gridscan, constant eps (median radii)", ms(t_const), "1.00"],
           ["gridscan, RangeEps", ms(t_range), f"{t_range / t_const:.2f} x constant"],
           ["gridscan, RangeEps, 1 thread", ms(t_range_1), f"{t_range_1 / t_const:.2f} x constant"],
           ["sklearn radius-graph workaround", ms(t_work), f"gridscan = {t_range / t_work:.3f} x"],
           [f"sklearn Python callable (extrapolated from {sizes[-1]:,})", ms(t_callable),
            f"gridscan = 1/{t_callable / t_range:,.0f}"]])


def dbscan_child(X, eps, min_samples, repeat):
    """The dbscan package on X in a child process: (best time, labels, core mask).

    Its worker threads stay busy after it returns; in a child they slow nothing else.
    """
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "X.npy")
        np.save(data, X)
        out = subprocess.run([sys.executable, __file__, "--dbscan-child", data, repr(eps),
                              str(min_samples), str(repeat)],
                             capture_output=True, text=True, check=True)
        result = np.load(os.path.join(tmp, "X.npy.out.npz"))
        return json.loads(out.stdout.strip().splitlines()[-1])["time"], result["labels"], \
            result["core"]


def dbscan_child_main(data, eps, min_samples, repeat):
    import dbscan
    X = np.load(data)
    t, (labels, core) = best_time(lambda: dbscan.DBSCAN(X, eps=eps, min_samples=min_samples),
                                  repeat)
    np.savez(data + ".out.npz", labels=labels, core=core)
    print(json.dumps({"time": t}))


def nd_range_model(X, eps):
    """A per-point eps that grows as (x0 + 10) ** 0.25 with the first feature, equal to eps at
    the median of x0 (within a factor of about 1.8 across the data)."""
    from gridscan import RangeEps
    d = X.shape[1]
    middle = float(np.median(X[:, 0])) + 10.0
    return RangeEps(base=[eps / middle ** 0.25] * d, range_feature=0, power=[0.25] * d,
                    offset=10.0 - min(0.0, float(X[:, 0].min())))


def features_section(args):
    from sklearn.cluster import DBSCAN

    from gridscan import GridDBSCAN

    cases = [(4, 200_000), (5, 200_000), (8, 100_000)]
    if args.quick:
        cases = [(d, n // 4) for d, n in cases]
    rows, range_rows = [], []
    for d, n in cases:
        X = blobs_nd(n, d)
        eps, min_samples = calibrate_eps(X, 30), 10
        t_1, ours = best_time(partial(GridDBSCAN(eps, min_samples=min_samples, n_jobs=1).fit, X),
                              args.repeat)
        t_n, ours_n = best_time(
            partial(GridDBSCAN(eps, min_samples=min_samples, n_jobs=args.threads).fit, X),
            args.repeat)
        t_sk, theirs = best_time(
            partial(DBSCAN(eps=eps, min_samples=min_samples, n_jobs=args.threads).fit, X), 1)
        assert np.array_equal(ours.labels_, theirs.labels_), "labels differ from scikit-learn"
        assert np.array_equal(ours_n.labels_, ours.labels_), "labels depend on threads"
        t_db, db_labels, db_core = dbscan_child(X, eps, min_samples, args.repeat)
        # Beyond 3 features the dbscan package misses some neighbours: count its core
        # points that are not scikit-learn's (or the reverse) instead of asserting.
        core = np.zeros(n, dtype=bool)
        core[ours.core_sample_indices_] = True
        db_wrong = int(np.count_nonzero(core != db_core.astype(bool)))
        rows.append([f"{d}", f"{n:,}", ms(t_1), ms(t_n), ms(t_sk), ms(t_db),
                     f"{t_n / t_sk:.3f}", f"{t_n / t_db:.2f}", f"{db_wrong}"])
        model = nd_range_model(X, eps)
        median = np.median(model.evaluate(X), axis=0)
        t_const, _ = best_time(
            partial(GridDBSCAN(median, min_samples=min_samples, n_jobs=args.threads).fit, X),
            args.repeat)
        t_range, _ = best_time(
            partial(GridDBSCAN(model, min_samples=min_samples, n_jobs=args.threads).fit, X),
            args.repeat)
        range_rows.append([f"{d}", f"{n:,}", ms(t_const), ms(t_range),
                           f"{t_range / t_const:.2f}"])
    table(f"Blobs with 10% noise in 4 to 8 features, ~30 neighbours, min_samples=10 "
          f"({args.threads} threads; labels equal to scikit-learn's)",
          ["features", "points", "gridscan 1 thr", f"gridscan {args.threads} thr", "sklearn",
           "dbscan pkg", "vs sklearn", "vs dbscan", "dbscan pkg core points wrong"], rows)
    table(f"The same data with a per-point RangeEps (radii from 0.6 to 1.1 times the median "
          f"one, following the first feature; {args.threads} threads)",
          ["features", "points", "constant eps (median radii)", "RangeEps", "ratio"],
          range_rows)


def heavy_section(args):
    from sklearn.cluster import DBSCAN

    from gridscan import GridDBSCAN

    n = 50_000 if args.quick else 200_000
    X = uniform(n)
    neighbours = 2000 if not args.quick else 500
    eps = calibrate_eps(X, neighbours)
    rows = []
    for min_samples in (neighbours // 2, neighbours * 5 // 4):
        t_n, ours = best_time(
            partial(GridDBSCAN(eps, min_samples=min_samples, n_jobs=args.threads).fit, X),
            args.repeat)
        t_sk = None
        if min_samples < neighbours:
            t_sk, theirs = best_time(
                partial(DBSCAN(eps=eps, min_samples=min_samples, n_jobs=args.threads).fit, X), 1)
            assert np.array_equal(ours.labels_, theirs.labels_), "labels differ from sklearn"
        t_db, db_labels, db_core = dbscan_child(X, eps, min_samples, args.repeat)
        assert same_core_clusters(ours.labels_, ours.core_sample_indices_, db_labels,
                                  np.flatnonzero(db_core)), "clusters differ from dbscan"
        rows.append([f"{min_samples:,}", f"{ours.core_sample_indices_.size / n:.0%}", ms(t_n),
                     "-" if t_sk is None else ms(t_sk), ms(t_db), f"{t_n / t_db:.2f}"])
    table(f"Heavy neighbourhoods: {n:,} uniform 2-D points, ~{neighbours:,} neighbours each "
          f"({args.threads} threads)",
          ["min_samples", "core points", "gridscan", "sklearn", "dbscan pkg", "vs dbscan"], rows)


def busy_section(args):
    from gridscan import GridDBSCAN

    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        rows = []
        for n in (1_000, 10_000, 50_000, 200_000):
            X = blobs(n)
            eps = calibrate_eps(blobs(200_000), 30)
            times = {}
            for n_jobs in (1, None):
                model = GridDBSCAN(eps, min_samples=10, n_jobs=n_jobs)
                model.fit(X)
                runs = []
                for _ in range(max(args.repeat, 5)):
                    start = time.perf_counter()
                    model.fit(X)
                    runs.append(time.perf_counter() - start)
                times[n_jobs] = float(np.median(runs))
            rows.append([f"{n:,}", ms(times[1]), ms(times[None]), f"{times[None] / times[1]:.2f}"])
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    table("Busy machine: two other processes at 100% on the cores (median of 5 fits)",
          ["points", "n_jobs=1", "default n_jobs", "default / 1 thread"], rows)


CHILD_JOBS = ("data", "gridscan", "sklearn", "dbscan")


def memory_child(job, n, eps):
    """Run in a child process: make the data, cluster it with one library, report peak RSS."""
    X = uniform(n)
    if job == "gridscan":
        from gridscan import GridDBSCAN
        GridDBSCAN(eps, min_samples=10, n_jobs=2).fit(X)
    elif job == "sklearn":
        from sklearn.cluster import DBSCAN
        DBSCAN(eps=eps, min_samples=10, n_jobs=2).fit(X)
    elif job == "dbscan":
        import dbscan
        dbscan.DBSCAN(X, eps=eps, min_samples=10)
    print(json.dumps({"peak_kib": peak_rss_kib()}))


def peak_rss_kib():
    """This process's peak resident memory.

    Linux keeps ru_maxrss across fork and exec (a child starts with its
    parent's peak), so read the peak of this very address space when possible.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(job, n, eps):
    out = subprocess.run([sys.executable, __file__, "--child", job, str(n), repr(eps)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_kib"] / 1024


def memory_section(args):
    n = 50_000 if args.quick else 200_000
    X = uniform(n)
    base = run_child("data", n, 0.0)
    rows = []
    for neighbours in (50, 500, 2000):
        eps = calibrate_eps(X, neighbours)
        extra = {job: run_child(job, n, eps) - base for job in ("gridscan", "sklearn", "dbscan")}
        rows.append([f"{neighbours}", f"{extra['gridscan']:.0f} MiB", f"{extra['sklearn']:.0f} MiB",
                     f"{extra['dbscan']:.0f} MiB",
                     f"{extra['gridscan'] / extra['sklearn']:.3f}"])
    table(f"Extra peak memory, {n:,} uniform 2-D points (child RSS less {base:.0f} MiB "
          "for the bare data; imports count as extra)",
          ["neighbours", "gridscan", "sklearn", "dbscan pkg", "gridscan / sklearn"], rows)


def scaling_section(args):
    from gridscan import GridDBSCAN

    sizes = [20_000, 200_000] + ([] if args.quick else [2_000_000])
    eps = calibrate_eps(blobs(200_000), 30)   # the same density at every size
    rows, first = [], None
    for n in sizes:
        X = blobs(n)
        model = GridDBSCAN(eps, min_samples=10, n_jobs=args.threads)
        t, _ = best_time(partial(model.fit, X), args.repeat)
        per_point = t / n
        first = first or per_point
        rows.append([f"{n:,}", ms(t), f"{per_point * 1e9:.0f} ns", f"{per_point / first:.2f}"])
    table(f"Scaling at fixed density (~30 neighbours, {args.threads} threads)",
          ["points", "time", "per point", "per point vs smallest"], rows)


# --- huge and large: side by side with the dbscan package, each fit in a child process ------


def side_child_main(job):
    """One fit in a fresh process (``--side-child JSON``): prints wall and CPU time and the
    extra peak memory per point; saves labels and core mask, and predicts, when asked.

    A small fit first starts the thread pools; then the peak resident size is reset
    (/proc/self/clear_refs, Linux) and the fit of all points runs: the extra memory is
    (peak during the fit - resident size before it) / n, the input not counted.
    """
    X = np.load(job["data"])
    if job["library"] == "gridscan":
        from gridscan import GridDBSCAN

        def fit(points):
            model = GridDBSCAN(job["eps"], min_samples=job["min_samples"],
                               n_jobs=job["threads"]).fit(points)
            core = np.zeros(len(points), dtype=bool)
            core[model.core_sample_indices_] = True
            return model, model.labels_, core
    else:
        import dbscan

        def fit(points):
            labels, core = dbscan.DBSCAN(points, eps=job["eps"], min_samples=job["min_samples"])
            return None, labels, core
    fit(X[:1000])
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = process_status("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    model, labels, core = fit(X)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = dict(wall=wall, cpu=cpu, extra=(process_status("VmHWM") - before) / len(X))
    if job.get("predict"):
        X_new = np.load(job["predict"])
        start, start_cpu = time.perf_counter(), time.process_time()
        predicted = model.predict(X_new)
        result.update(predict_wall=time.perf_counter() - start,
                      predict_cpu=time.process_time() - start_cpu)
        np.save(job["predict"] + ".labels.npy", predicted)
    if job.get("out"):
        np.savez(job["out"], labels=labels, core=core)
    print(json.dumps(result))


def process_status(field):
    """A field of /proc/self/status, in bytes."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def side_child(library, data, eps, min_samples, args, out=None, predict=None):
    job = dict(library=library, data=data, eps=eps, min_samples=min_samples,
               threads=args.threads, out=out, predict=predict)
    # The dbscan package (ParlayLib) takes its thread count from PARLAY_NUM_THREADS.
    env = dict(os.environ, PARLAY_NUM_THREADS=str(args.threads))
    run = subprocess.run([sys.executable, __file__, "--side-child", json.dumps(job)],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{library} child failed:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def side_by_side(X, eps, min_samples, args, rounds, tmp, predict=None):
    """Fits of gridscan and the dbscan package, alternately, ``rounds`` times each.

    Returns the table rows, the rounds' figures, and the labels and core masks of
    both libraries' first fits (and gridscan's predicted labels of ``predict``).
    """
    data = os.path.join(tmp, "X.npy")
    np.save(data, X)
    new = None
    if predict is not None:
        new = os.path.join(tmp, "X_new.npy")
        np.save(new, predict)
    rows, runs = [], []
    for r in range(rounds):
        first = r == 0
        ours = side_child("gridscan", data, eps, min_samples, args,
                          out=os.path.join(tmp, "ours.npz") if first else None,
                          predict=new if first else None)
        theirs = side_child("dbscan", data, eps, min_samples, args,
                            out=os.path.join(tmp, "theirs.npz") if first else None)
        load = os.getloadavg()[0]
        runs.append(dict(ours=ours, theirs=theirs, load=load))
        rows.append([f"{r + 1}", f"{load:.1f}", ms(ours["wall"]), ms(ours["cpu"]),
                     ms(theirs["wall"]), ms(theirs["cpu"]),
                     f"{ours['wall'] / theirs['wall']:.3f}", f"{ours['cpu'] / theirs['cpu']:.3f}",
                     f"{ours['extra']:.0f}", f"{theirs['extra']:.0f}"])
    ours, theirs = np.load(os.path.join(tmp, "ours.npz")), np.load(os.path.join(tmp, "theirs.npz"))
    fitted = dict(labels=ours["labels"], core=ours["core"], db_labels=theirs["labels"],
                  db_core=theirs["core"].astype(bool))
    if new is not None:
        fitted["predicted"] = np.load(new + ".labels.npy")
        fitted["predict"] = runs[0]["ours"]
    return rows, runs, fitted


SIDE_HEADER = ["run", "load avg", "gridscan wall", "gridscan CPU", "dbscan pkg wall",
               "dbscan pkg CPU", "ratio wall", "ratio CPU", "gridscan B/pt", "dbscan pkg B/pt"]


def numbered_by_smallest_core_row(labels, core):
    """Whether clusters are numbered 0, 1, ... in the order of their smallest core row."""
    core_labels = labels[core]
    _, first = np.unique(core_labels, return_index=True)
    return bool(np.array_equal(core_labels[np.sort(first)], np.arange(len(first))))


def rule_labels(tree, core_labels, Q, eps):
    """Labels of the points Q by the rule of docs/semantics.rst: the smallest label of a
    core point within eps (``tree`` over the core points), else -1."""
    neighbours = tree.query_radius(Q, eps)
    return np.array([core_labels[i].min() if len(i) else -1 for i in neighbours])


def check_against_dbscan_package(fitted, X, eps, predict, sample, seed=0):
    """The checks of ``huge`` (see the module docstring); returns a line to print."""
    from sklearn.neighbors import KDTree

    labels, core = fitted["labels"], fitted["core"]
    db_labels, db_core = fitted["db_labels"], fitted["db_core"]
    assert same_core_clusters(labels, np.flatnonzero(core), db_labels,
                              np.flatnonzero(db_core)), "core clusters differ from dbscan"
    assert np.array_equal(labels < 0, db_labels < 0), "noise differs from dbscan"
    assert numbered_by_smallest_core_row(labels, core), "clusters not numbered by core row"
    rng = np.random.default_rng(seed)
    tree = KDTree(X[core])
    core_labels = labels[core]
    border = np.flatnonzero(~core)
    rows = rng.choice(border, min(sample, len(border)), replace=False)
    assert np.array_equal(labels[rows], rule_labels(tree, core_labels, X[rows], eps)), \
        "border labels differ from the rule"
    new = rng.choice(len(predict), min(sample, len(predict)), replace=False)
    assert np.array_equal(fitted["predicted"][new],
                          rule_labels(tree, core_labels, predict[new], eps)), \
        "predicted labels differ from the rule"
    return (f"labels checked: {core.sum():,} core points in {labels.max() + 1:,} clusters and "
            f"{(labels < 0).sum():,} noise points as the dbscan package's; "
            f"{len(rows):,} non-core rows and {len(new):,} predicted points by the rule")


def new_points(X, eps, m, seed=1):
    """m points like X: half are rows of X moved by a normal step of eps, half uniform
    over X's box."""
    rng = np.random.default_rng(seed)
    near = X[rng.integers(0, len(X), m // 2)] + rng.normal(0, eps, (m // 2, X.shape[1]))
    spread = rng.uniform(X.min(axis=0), X.max(axis=0), (m - m // 2, X.shape[1]))
    return np.vstack([near, spread])


def huge_section(args):
    import tempfile

    n = args.huge_points if not args.quick else min(args.huge_points, 2_000_000)
    m = n // 2
    if args.huge_data == "blobs":
        X = blobs(n)
        eps = calibrate_eps(blobs(200_000), 30)          # blobs() keeps its density at any n
    else:
        X = uniform(n)
        eps = calibrate_eps(uniform(200_000), 30) * np.sqrt(200_000 / n)
    min_samples = 10
    X_new = new_points(X, eps, m)
    with tempfile.TemporaryDirectory() as tmp:
        rows, runs, fitted = side_by_side(X, eps, min_samples, args, args.repeat, tmp, X_new)
    checked = check_against_dbscan_package(fitted, X, eps, X_new, 20_000)
    table(f"{n:,} 2-D points ({args.huge_data}, ~30 neighbours, min_samples={min_samples}, "
          f"{args.threads} threads): each fit in a fresh child process, alternately; "
          "B/pt = peak memory during the fit beyond the input, bytes per point",
          SIDE_HEADER, rows)
    ratios = [run["ours"]["wall"] / run["theirs"]["wall"] for run in runs]
    cpu_ratios = [run["ours"]["cpu"] / run["theirs"]["cpu"] for run in runs]
    predict = fitted["predict"]
    print(f"  worst ratio: wall {max(ratios):.3f}, CPU {max(cpu_ratios):.3f}; "
          f"most extra memory: {max(run['ours']['extra'] for run in runs):.0f} bytes per point")
    print(f"  predict {m:,} new points: {ms(predict['predict_wall'])} wall, "
          f"{ms(predict['predict_cpu'])} CPU (prediction index included)")
    print(f"  {checked}")


def large_section(args):
    import tempfile

    from sklearn.cluster import DBSCAN

    n = 200_000 if args.quick else 2_000_000
    X = blobs(n)
    eps, min_samples = calibrate_eps(blobs(200_000), 30), 10
    rounds = max(args.repeat, 5)
    with tempfile.TemporaryDirectory() as tmp:
        rows, runs, fitted = side_by_side(X, eps, min_samples, args, rounds, tmp)
    theirs = DBSCAN(eps=eps, min_samples=min_samples, n_jobs=args.threads).fit(X)
    assert np.array_equal(fitted["labels"], theirs.labels_), "labels differ from scikit-learn"
    assert same_core_clusters(fitted["labels"], np.flatnonzero(fitted["core"]),
                              fitted["db_labels"], np.flatnonzero(fitted["db_core"])), \
        "clusters differ from dbscan"
    table(f"{n:,} 2-D blob points (~30 neighbours, min_samples={min_samples}, "
          f"{args.threads} threads): each fit in a fresh child process, alternately "
          "(labels equal to scikit-learn's)", SIDE_HEADER, rows)
    ratios = [run["ours"]["wall"] / run["theirs"]["wall"] for run in runs]
    cpu_ratios = [run["ours"]["cpu"] / run["theirs"]["cpu"] for run in runs]
    print(f"  ratio over {rounds} runs: wall {min(ratios):.3f} to {max(ratios):.3f}, "
          f"CPU {min(cpu_ratios):.3f} to {max(cpu_ratios):.3f}")


# --- recipe: the README's radar recipe against sample_eps ------------------------------------


def radar_samples(quick):
    """(name, points, eps model) of the recipe section, from Py-ART's test data."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyart
    from gridscan.radar import beam_eps, from_pyart

    klot = pyart.io.read_nexrad_archive(pyart.testing.NEXRAD_ARCHIVE_MSG1_FILE)
    katx = pyart.io.read_nexrad_archive(pyart.testing.NEXRAD_ARCHIVE_MSG31_FILE)
    points = from_pyart(klot, field="reflectivity", threshold=20, sweeps=[0])
    yield "KLOT sweep 0 > 20 dBZ", points, beam_eps(points)
    points = from_pyart(katx, field="reflectivity", sweeps=[0])
    yield "KATX sweep 0", points, beam_eps(points)
    if not quick:
        # Sweeps of 0.5 and 1 degree rays: beam_eps(points) takes one spacing only.
        yield "KATX volume, beam_eps(1.0)", from_pyart(katx, field="reflectivity"), \
            beam_eps(1.0)


def recipe_runs(GridDBSCAN, model, X, xy, eps):
    """The recipe and its sample_eps formulations, one thread each."""
    return {
        "recipe": lambda: GridDBSCAN(eps=model, min_samples=20, window_features=[2],
                                     n_jobs=1).fit_predict(X),
        "sample_eps, x y": lambda: GridDBSCAN(min_samples=20, n_jobs=1).fit_predict(
            xy, sample_eps=eps),
        "sample_eps, x y + window": lambda: GridDBSCAN(
            min_samples=20, window_features=[2], n_jobs=1).fit_predict(X, sample_eps=eps),
    }


def recipe_section(args):
    from gridscan import GridDBSCAN
    from gridscan.radar import ppi_features

    try:
        samples = list(radar_samples(args.quick))
    except ImportError:
        print("\nrecipe: needs Py-ART (pip install arm-pyart); skipped")
        return
    rows = []
    for name, points, model in samples:
        X = ppi_features(points)
        eps = model.evaluate(X)[:, 0]
        xy = np.ascontiguousarray(X[:, :2])
        runs = recipe_runs(GridDBSCAN, model, X, xy, eps)
        # The volume's fits take tens of seconds: once, after no warm-up but the others'.
        repeat = 1 if len(X) > 2_000_000 else args.repeat
        times, labels = {}, {}
        for run, fit in runs.items():
            times[run], labels[run] = best_time(fit, repeat, clock=time.process_time)
        for run in runs:
            assert np.array_equal(labels[run], labels["recipe"]), f"{run}: labels differ"
        fastest = min(times[run] for run in runs if run != "recipe")
        rows.append([name, f"{len(X):,}"] + [ms(times[run]) for run in runs]
                    + [f"{times['recipe'] / fastest:.2f}"])
    table("The README's radar recipe against the same neighbourhoods as sample_eps "
          "(min_samples=20; one thread, CPU time; labels equal)",
          ["data", "gates", "recipe", "sample_eps x y", "sample_eps x y + window",
           "recipe / fastest other"], rows)


# In this order whatever --only says: the dbscan package, timed last in
# "constant", leaves threads running that would slow every later timing.
SECTIONS = {"range": range_section, "features": features_section, "heavy": heavy_section,
            "busy": busy_section, "memory": memory_section, "scaling": scaling_section,
            "large": large_section, "huge": huge_section, "recipe": recipe_section,
            "constant": constant_section}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        memory_child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--dbscan-child":
        dbscan_child_main(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--side-child":
        side_child_main(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS),
                        default=[name for name in SECTIONS if name != "huge"])
    parser.add_argument("--huge-points", type=int, default=20_000_000, help="points of 'huge'")
    parser.add_argument("--huge-data", choices=["blobs", "uniform"], default="blobs")
    args = parser.parse_args()
    import sklearn

    import gridscan
    print(f"gridscan {gridscan.__version__}, scikit-learn {sklearn.__version__}, "
          f"numpy {np.__version__}, {os.cpu_count()} cores, {args.threads} threads")
    for name in SECTIONS:
        if name in args.only:
            SECTIONS[name](args)


if __name__ == "__main__":
    main()
