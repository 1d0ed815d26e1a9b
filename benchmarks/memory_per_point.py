"""Peak memory of a GridDBSCAN fit beyond its input, in bytes per point.

    python benchmarks/memory_per_point.py                 # 200,000 and 2,000,000 points
    python benchmarks/memory_per_point.py --sizes 200000

Each measurement runs in a fresh child process: the data are made, a small
fit starts the OpenMP threads, the peak resident size is reset
(/proc/self/clear_refs, Linux) and the fit of all points runs; the figure is
(peak during the fit - resident size before it) / n.  The input X itself
(16 bytes per point in 2-D float64) is not counted, the labels and the
fitted attributes are.  Data: uniform 2-D points at about 8 neighbours
within eps, as in the README's "Memory" paragraph; "range" is a RangeEps
(per-point, per-feature radii, the "union" rule).
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys
import numpy as np
from gridscan import GridDBSCAN, RangeEps

def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

n, algorithm, eps_kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
X = np.random.default_rng(0).uniform(0, np.sqrt(n * np.pi / 8), (n, 2))
eps = 1.0 if eps_kind == "constant" else RangeEps(base=[1.0, 1.2], range_feature=0,
                                                 power=0.0, offset=1.0)
GridDBSCAN(eps=eps, algorithm=algorithm).fit(X[:1000])
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
before = status("VmRSS")
GridDBSCAN(eps=eps, algorithm=algorithm).fit(X)
print(json.dumps((status("VmHWM") - before) / n))
"""


def bytes_per_point(n, algorithm, eps_kind):
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), algorithm, eps_kind],
                         capture_output=True, text=True, check=True, timeout=900)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 2_000_000])
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        sys.exit("needs Linux (/proc/self/clear_refs and /proc/self/status)")
    print(f"{'algorithm':<10} {'eps':<9}" + "".join(f"{n:>12,}" for n in args.sizes)
          + "   (bytes per point)")
    for algorithm in ("grid", "ball_tree"):
        for eps_kind in ("constant", "range"):
            row = [bytes_per_point(n, algorithm, eps_kind) for n in args.sizes]
            print(f"{algorithm:<10} {eps_kind:<9}" + "".join(f"{b:>12.0f}" for b in row))


if __name__ == "__main__":
    main()
