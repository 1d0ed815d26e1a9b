"""GBDSCAN on one synthetic SuperDARN day, against plain-Python reference implementations.

    python benchmarks/bench_gbdscan.py [--threads 2] [--scans 700] [--slice 8]

Data: 700 scans of 75 gates x 16 beams, about 200,000 occupied cells in drifting
scatter bands plus 2% noise. Prints, in one run and on the same data:

- gridscan.GBDSCAN consistent and reference modes (best of --repeat fits);
- two plain-Python implementations of the reference algorithm (docs/semantics.rst:
  each scan's labels reported when the loop has finished it), timed on the first --slice
  scans and scaled per point to the whole day:
  "published-style" keeps the occupancy in one scipy.sparse matrix per scan and
  pops its queue from the front of a list, like the SuperDARN code the
  algorithm comes from; "lean" uses a set and a deque;
- the ratios. On the slice, reference mode's labels are checked against both.
"""

import argparse
import linecache
import math
import os
import time
from collections import deque

import numpy as np
from line_profiler import LineProfiler
from scipy import sparse
from threadpoolctl import threadpool_limits

from gridscan import GBDSCAN

N_GATES, N_BEAMS = 75, 16
PARAMS = dict(f=0.2, g=1.0, pts_ratio=0.3, dr=45.0, dtheta=3.24, r_init=180.0, scan_eps=1)


def superdarn_day(n_scans=700, seed=0):
    """Rows (gate, beam, scan) of one synthetic day: three drifting, tilted scatter bands."""
    rng = np.random.default_rng(seed)
    gate = np.arange(N_GATES)[:, None]
    beam = np.arange(N_BEAMS)[None, :]
    centres = np.array([15.0, 35.0, 55.0])
    widths = np.array([6.0, 8.0, 5.0])
    rows = []
    for scan in range(n_scans):
        centres = np.clip(centres + rng.normal(0, 0.4, size=3), 5, N_GATES - 5)
        tilt = 0.3 * np.sin(scan / 50.0 + np.arange(3))[:, None, None]
        inside = np.abs(gate[None] - centres[:, None, None] - tilt * (beam[None] - 8)) \
            < widths[:, None, None]
        probability = np.where(inside.any(axis=0), 0.45, 0.02)
        g, b = np.nonzero(rng.random((N_GATES, N_BEAMS)) < probability)
        rows.append(np.column_stack([g, b, np.full(g.shape, scan)]))
    return np.vstack(rows)


def half_axes(p):
    """b[gate][beam] = g / (f * C) with C in the reference's long form."""
    dt = p["dtheta"] * math.pi / 180.0
    return [[p["g"] / (p["f"] * ((p["r_init"] + p["dr"] * i) / (2.0 * p["dr"]) * (
        math.sin(dt * (j + 1.0) - dt * j) + math.sin(dt * j - dt * (j - 1.0)))))
        for j in range(N_BEAMS)] for i in range(N_GATES)]


def region_query(occupied, b, p, n_scans, gate, beam, scan):
    """(occupied neighbours, covered cells) of one cell; occupied(s, i, j) -> bool."""
    g, w = p["g"], p["scan_eps"]
    wid = b[gate][beam]
    hg, hb = math.ceil(g), math.ceil(wid)
    found, covered = [], 0
    for i in range(max(0, gate - hg), min(N_GATES, gate + hg + 1)):
        for j in range(max(0, beam - hb), min(N_BEAMS, beam + hb + 1)):
            for s in range(max(0, scan - w), min(n_scans, scan + w + 1)):
                if (i - gate) ** 2.0 / g ** 2.0 + (j - beam) ** 2.0 / wid ** 2.0 <= 1.0:
                    covered += 1
                    if occupied(s, i, j):
                        found.append((s, i, j))
    return found, covered


def published_style(rows, p):
    """The reference algorithm with one sparse occupancy matrix and one label grid per scan."""
    n_scans = int(rows[:, 2].max()) + 1
    by_scan = [rows[rows[:, 2] == s] for s in range(n_scans)]
    grids = [sparse.csr_matrix((np.ones(len(r)), (r[:, 0], r[:, 1])), shape=(N_GATES, N_BEAMS))
             for r in by_scan]
    labels = [np.zeros((N_GATES, N_BEAMS), dtype=int) for _ in range(n_scans)]
    b = half_axes(p)

    def occupied(s, i, j):
        return grids[s][i, j] != 0

    cluster = 1
    reported = []
    for s in range(n_scans):
        for i, j in by_scan[s][:, :2].tolist():
            if labels[s][i, j] != 0:
                continue
            seeds, covered = region_query(occupied, b, p, n_scans, i, j, s)
            if len(seeds) < p["pts_ratio"] * covered:
                labels[s][i, j] = -1
                continue
            for s2, i2, j2 in seeds:
                labels[s2][i2, j2] = cluster
            while seeds:
                s2, i2, j2 = seeds[0]
                found, covered = region_query(occupied, b, p, n_scans, i2, j2, s2)
                if len(found) >= p["pts_ratio"] * covered:
                    for s3, i3, j3 in found:
                        if labels[s3][i3, j3] in (0, -1):
                            if labels[s3][i3, j3] == 0:
                                seeds.append((s3, i3, j3))
                            labels[s3][i3, j3] = cluster
                seeds = seeds[1:]
            cluster += 1
        # The scan is done: its rows' labels are reported now.
        reported.extend(labels[s][i, j] for i, j in by_scan[s][:, :2].tolist())
    out = np.empty(len(rows), dtype=int)
    out[np.argsort(rows[:, 2], kind="stable")] = reported
    return out


def lean(rows, p):
    """The reference algorithm with a set of occupied cells and a deque."""
    n_scans = int(rows[:, 2].max()) + 1
    cells = {(s, i, j) for i, j, s in rows.tolist()}
    b = half_axes(p)

    def occupied(s, i, j):
        return (s, i, j) in cells

    labels = {}
    reported = np.empty(len(rows), dtype=int)
    cluster = 0
    for s in range(n_scans):
        members = np.flatnonzero(rows[:, 2] == s)
        for i, j in rows[members, :2].tolist():
            if (s, i, j) in labels:
                continue
            seeds, covered = region_query(occupied, b, p, n_scans, i, j, s)
            if len(seeds) < p["pts_ratio"] * covered:
                labels[s, i, j] = -1
                continue
            for cell in seeds:
                labels[cell] = cluster
            queue = deque(seeds)
            while queue:
                s2, i2, j2 = queue.popleft()
                found, covered = region_query(occupied, b, p, n_scans, i2, j2, s2)
                if len(found) >= p["pts_ratio"] * covered:
                    for cell in found:
                        if cell not in labels:
                            queue.append(cell)
                            labels[cell] = cluster
                        elif labels[cell] == -1:
                            labels[cell] = cluster
            cluster += 1
        # The scan is done: its rows' labels are reported now.
        reported[members] = [labels[s, i, j] for i, j in rows[members, :2].tolist()]
    return reported


def by_first_appearance(labels):
    """Cluster ids renumbered 0, 1, ... in order of first appearance (noise kept)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    ids = np.where(np.unique(labels) < 0, -1, 0)
    ids[ids == 0] = np.argsort(np.argsort(first[ids == 0]))
    return ids[inverse.reshape(-1)]


def breakdown(estimator, X, repeat):
    """Where a fit's time goes: milliseconds per fit of each line of GBDSCAN.fit that
    takes any, from line_profiler (each line is one stage: validation, cells, the
    lattice, counts, the core or the expansion)."""
    fit = type(estimator).fit.__wrapped__     # the method inside sklearn's _fit_context
    profiler = LineProfiler(fit)
    profiled = profiler(fit)
    profiled(estimator, X)
    profiler = LineProfiler(fit)
    profiled = profiler(fit)
    for _ in range(repeat):
        profiled(estimator, X)
    stats = profiler.get_stats()
    rows = []
    for (filename, _, _), lines in stats.timings.items():
        for lineno, _, total in lines:
            rows.append((lineno, total * stats.unit / repeat * 1e3,
                         linecache.getline(filename, lineno).strip()))
    return sorted(rows)


def best_time(function, repeat):
    """(best wall time, median wall time, median process CPU time summed over threads)."""
    function()
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(times), float(np.median(times)), float(np.median(cpu))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scans", type=int, default=700)
    parser.add_argument("--slice", type=int, default=8, help="scans timed in pure Python")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    X = superdarn_day(args.scans)
    print(f"one day: {args.scans} scans of {N_GATES} gates x {N_BEAMS} beams, {len(X)} "
          f"occupied cells; {args.threads} threads; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    grid = dict(n_gates=N_GATES, n_beams=N_BEAMS, n_scans=args.scans)
    timings = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for mode in ("consistent", "reference"):
            for threads in sorted({1, args.threads}):
                est = GBDSCAN(**PARAMS, **grid, mode=mode, n_jobs=threads)
                timings[mode, threads] = best_time(lambda est=est: est.fit(X), args.repeat)
            labels = est.labels_
            print(f"  {mode:10s} {labels.max() + 1} clusters, {np.mean(labels < 0):.1%} noise")

    piece = X[X[:, 2] < args.slice]
    slice_labels = GBDSCAN(**PARAMS, n_gates=N_GATES, n_beams=N_BEAMS, n_scans=args.slice,
                           mode="reference", n_jobs=1).fit_predict(piece)
    python = {}
    for name, function in (("published-style", published_style), ("lean", lean)):
        start = time.perf_counter()
        expected = function(piece, PARAMS)
        python[name] = (time.perf_counter() - start) / len(piece)
        assert np.array_equal(slice_labels, by_first_appearance(expected)), \
            f"{name} labels differ"
    print(f"pure-Python references on the first {args.slice} scans ({len(piece)} cells): "
          "the same labels as reference mode")

    print()
    print(f"{'':34s}{'best':>10s}{'median':>10s}{'cpu':>10s}")
    for (mode, threads), (best, median, cpu) in timings.items():
        print(f"GBDSCAN {mode:10s} {threads} thread(s)      {best:9.4f}s {median:9.4f}s "
              f"{cpu:9.4f}s")
    for name, per_point in python.items():
        print(f"pure Python {name:16s}     {per_point * len(X):9.1f}s  "
              f"({per_point * 1e3:.3f} ms per cell, scaled)")
    for mode in ("consistent", "reference"):
        est = GBDSCAN(**PARAMS, **grid, mode=mode, n_jobs=args.threads)
        rows = breakdown(est, X, args.repeat)
        print(f"\nwhere {mode} mode's time goes ({args.threads} threads, ms per fit, "
              "lines of GBDSCAN.fit over 0.2 ms):")
        for _, ms, text in rows:
            if ms >= 0.2:
                print(f"  {ms:7.2f}  {text[:80]}")
        print(f"  {sum(ms for _, ms, _ in rows):7.2f}  in all")

    print()
    consistent = timings["consistent", args.threads][0]
    reference = timings["reference", args.threads][0]
    print(f"(cpu: process time summed over threads; on a machine shared with other jobs, "
          f"load average now {os.getloadavg()[0]:.2f}, wall times include waiting for a core)")
    print(f"consistent mode, {args.threads} threads: {consistent * 1e3:.1f} ms "
          f"(target <= 25 ms: {'met' if consistent <= 0.025 else 'NOT met'})")
    for name, per_point in python.items():
        ratio = per_point * len(X) / reference
        print(f"reference mode vs {name:16s}: {ratio:8.0f}x faster "
              f"(consistent mode: {per_point * len(X) / consistent:8.0f}x)")


if __name__ == "__main__":
    main()
