"""Adversarial distributions (issue 18) against uniform data of the same size, side by side.

    python benchmarks/bench_adversarial.py                # 200,000 points per case
    python benchmarks/bench_adversarial.py --large        # 2,000,000 points
    python benchmarks/bench_adversarial.py --only zeros spot --n 50000

Each case runs in a child process of its own, stopped after --timeout seconds
(a quadratic path shows as "> timeout"), with --threads OpenMP threads.  The
baseline is uniform 2-D data of the same size with about 30 neighbours per
point (eps = sqrt(30 / (pi n)), min_samples 5, "auto"); the target is at most
about 3 times its time.  grid_8d is measured against uniform_8d instead:
uniform data of its own size and dimension with about 30 neighbours.
Where scikit-learn can run (a scalar eps and at most about 50 million
neighbour pairs in all), its time and the equality of the labels are shown
too.  Times are the best of --repeat runs after one warm-up.

Cases
-----
uniform          the baseline
zeros            all points identical (eps 0.1, min_samples 5)
zeros_4d         all points identical in 4-D, off the lattice (0.5)
spot             90% in a spot 1e-9 wide, the rest in a ring at 1.0-1.9 eps, min_samples n
geometric        np.geomspace(1e-12, 1e12, n) on the diagonal, eps 1e-6
lattice_dups     integer points on a 100 x 100 grid, eps 1 (and shifted by 0.5: lattice_float)
wide_int_grid    integer points in [0, 1e6)^2 at the issue's density, eps 3000, algorithm="grid"
pts_ratio        integer points in a square at the issue's density, eps 300, pts_ratio
eps_two_scales   sample_eps 0.1 for 1% and 1e-5 for the rest (uniform in [0, 1)^2)
eps_log_uniform  sample_eps log-uniform over 6 orders of magnitude
range_eps_6      RangeEps whose eps spans 6 orders of magnitude over the range feature
few_huge_eps     10% of the points with eps 1e6, the rest 0.01
grid_8d          uniform 8-D points, algorithm="grid" (fixed 20,000 points)
uniform_8d       its baseline: the same points, eps 0.42 (about 30 neighbours), "auto"
few_values       every point one of 20 distinct positions (eps 0.05, min_samples 5)
clump            half the points in a Gaussian clump 1e-3 wide, half uniform (~30 neighbours)
sphere           points on the surface of the unit sphere in 3-D (~30 neighbours)
exponential      both coordinates exponential (density falls by e per unit; ~30 at 0)
"""

import argparse
import json
import subprocess
import sys

import numpy as np
from run import best_time  # benchmarks/run.py: the same best-of-n timer

SKLEARN_MAX_PAIRS = 5e7


def make_case(name, n, seed=0):
    """(X, GridDBSCAN params, sample_eps, expected neighbours per point or None)."""
    from gridscan import RangeEps
    rng = np.random.default_rng(seed)
    uniform = rng.uniform(0, 1, (n, 2))
    if name == "uniform":
        return uniform, dict(eps=float(np.sqrt(30 / (np.pi * n))), min_samples=5), None, 30
    if name == "zeros":
        return np.zeros((n, 2)), dict(eps=0.1, min_samples=5), None, n
    if name == "zeros_4d":
        return np.full((n, 4), 0.5), dict(eps=0.1, min_samples=5), None, n
    if name == "spot":
        m = int(0.9 * n)
        radius = rng.uniform(1.0, 1.9, n - m) * 0.1
        angle = rng.uniform(0, 2 * np.pi, n - m)
        X = np.vstack([rng.uniform(0, 1e-9, (m, 2)),
                       np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])])
        return X[rng.permutation(n)], dict(eps=0.1, min_samples=n), None, m
    if name == "geometric":
        X = np.geomspace(1e-12, 1e12, n)[:, None] * np.ones((1, 2))
        return X, dict(eps=1e-6, min_samples=5), None, n // 4
    if name in ("lattice_dups", "lattice_float"):
        X = rng.integers(0, 100, (n, 2)).astype(float) + (0.5 if name == "lattice_float" else 0)
        return X, dict(eps=1.0, min_samples=5), None, 5 * n / 10_000
    if name == "wide_int_grid":
        side = 1e6 * np.sqrt(n / 100_000)
        X = rng.integers(0, int(side), (n, 2)).astype(float)
        return X, dict(eps=3000.0, min_samples=5, algorithm="grid"), None, 3
    if name == "pts_ratio":
        side = int(3000 * np.sqrt(n / 10_000))
        X = rng.integers(0, side, (n, 2)).astype(float)
        return X, dict(eps=300.0, min_samples=5, pts_ratio=0.001), None, None
    if name == "eps_two_scales":
        return uniform, dict(min_samples=5), np.where(rng.uniform(size=n) < 0.01, 0.1, 1e-5), None
    if name == "eps_log_uniform":
        return uniform, dict(min_samples=5), 10 ** rng.uniform(-7, -1, n), None
    if name == "range_eps_6":
        # eps = 1e-7 * (x + 0.001) ** -2: from 1e-7 to 0.1 over the range feature.
        model = RangeEps(base=1e-7, range_feature=0, power=-2.0, offset=1e-3, max_eps=0.1)
        return uniform, dict(eps=model, min_samples=5), None, None
    if name == "few_huge_eps":
        return uniform, dict(min_samples=5), np.where(np.arange(n) < n // 10, 1e6, 0.01), None
    if name in ("grid_8d", "uniform_8d"):
        X = rng.uniform(0, 1, (min(n, 20_000), 8))
        if name == "uniform_8d":
            return X, dict(eps=0.42, min_samples=5), None, 30
        return X, dict(eps=0.3, min_samples=5, algorithm="grid"), None, 4
    if name == "few_values":
        values = rng.uniform(0, 1, (20, 2))
        return values[rng.integers(0, 20, n)], dict(eps=0.05, min_samples=5), None, n / 10
    if name == "clump":
        m = n // 2
        X = np.vstack([0.5 + rng.normal(0, 1e-3, (m, 2)), rng.uniform(0, 1, (n - m, 2))])
        return (X[rng.permutation(n)], dict(eps=float(np.sqrt(30 / (np.pi * (n - m)))),
                                            min_samples=5), None, m / 2)
    if name == "sphere":
        X = rng.normal(size=(n, 3))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        return X, dict(eps=float(np.sqrt(120 / n)), min_samples=5), None, 30
    if name == "exponential":
        return (rng.exponential(1.0, (n, 2)), dict(eps=float(np.sqrt(30 / (np.pi * n))),
                                                   min_samples=5), None, 30)
    raise ValueError(f"unknown case {name!r}")


# Cases measured against a baseline of their own dimension instead of "uniform".
BASELINES = {"grid_8d": "uniform_8d", "uniform_8d": "uniform_8d"}

CASES = ["uniform", "zeros", "zeros_4d", "spot", "geometric", "lattice_dups", "lattice_float",
         "wide_int_grid", "pts_ratio", "eps_two_scales", "eps_log_uniform", "range_eps_6",
         "few_huge_eps", "grid_8d", "uniform_8d", "few_values", "clump", "sphere", "exponential"]


def child(name, n, threads, repeat):
    """Run one case; print a JSON line with the times and the label check."""
    from gridscan import GridDBSCAN
    X, params, sample_eps, neighbours = make_case(name, n)
    model = GridDBSCAN(n_jobs=threads, **params)
    seconds, labels = best_time(lambda: model.fit_predict(X, sample_eps=sample_eps), repeat)
    out = {"gridscan": seconds, "n": len(X), "sklearn": None, "equal": None}
    scalar = sample_eps is None and np.ndim(params.get("eps")) == 0 and "pts_ratio" not in params
    if scalar and neighbours is not None and neighbours * len(X) <= SKLEARN_MAX_PAIRS:
        from sklearn.cluster import DBSCAN
        reference = DBSCAN(eps=params["eps"], min_samples=params["min_samples"], n_jobs=threads)
        out["sklearn"], expected = best_time(lambda: reference.fit_predict(X), 1)
        out["equal"] = bool(np.array_equal(labels, expected))
    print(json.dumps(out))


def run_child(name, n, args):
    command = [sys.executable, __file__, "--child", name, "--n", str(n),
               "--threads", str(args.threads), "--repeat", str(args.repeat)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"case {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def seconds_text(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="2,000,000 points per case")
    parser.add_argument("--n", type=int, default=None, help="points per case")
    parser.add_argument("--only", nargs="+", choices=CASES, default=CASES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.n or (2_000_000 if args.large else 200_000)
    if args.child:
        child(args.child, n, args.threads, args.repeat)
        return
    results = {}

    def result_of(name):
        if name not in results:
            results[name] = run_child(name, n, args)
        return results[name]

    baseline = result_of("uniform")
    header = ["case", "points", "gridscan", "x baseline", "sklearn", "x sklearn", "labels"]
    rows = []
    for name in args.only:
        result = result_of(name)
        base = result_of(BASELINES.get(name, "uniform"))
        if result is None:
            rows.append([name, n, f"> {args.timeout:g} s", "-", "-", "-", "-"])
        else:
            sk = result["sklearn"]
            rows.append([name, result["n"], seconds_text(result["gridscan"]),
                         f"{result['gridscan'] / base['gridscan']:.2f}",
                         "-" if sk is None else seconds_text(sk),
                         "-" if sk is None else f"{result['gridscan'] / sk:.2f}",
                         {None: "-", True: "equal", False: "DIFFER"}[result["equal"]]])
        print("  ".join(str(x) for x in rows[-1]), file=sys.stderr, flush=True)
    print(f"\nAdversarial cases, {args.threads} threads, best of {args.repeat} "
          f"(baseline: uniform, {seconds_text(baseline['gridscan'])}; "
          f"grid_8d's: uniform_8d)")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
