"""gridscan inside scikit-learn: Pipeline, clone, set_params, pickle.
==================================================================

GridDBSCAN is a scikit-learn estimator, so it drops into a Pipeline like
sklearn.cluster.DBSCAN. This script

1. builds a pipeline that turns radar gates (range, azimuth, elevation) into
   ground-plane features and clusters them with a range-dependent eps;
2. tunes min_samples with set_params, scoring each setting against the
   echoes the synthetic scan was made from;
3. checks that with a constant eps, after a StandardScaler, GridDBSCAN and
   scikit-learn's DBSCAN give identical labels in the same pipeline;
4. pickles the fitted pipeline and labels the next sweep with predict.

Run:  python examples/sklearn_pipeline.py [--small]
"""

import argparse
import pickle

import numpy as np
from sklearn.base import clone
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from gridscan import GridDBSCAN
from gridscan.radar import beam_eps, make_radar_scan, polar_to_cartesian


def ground_features(gates):
    """(range km, azimuth deg, elevation deg) rows -> (x, y, ground range) km rows."""
    x, y, _ = polar_to_cartesian(gates[:, 0], gates[:, 1], gates[:, 2])
    return np.column_stack([x, y, np.hypot(x, y)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="a reduced size for a quick run (used in CI)")
    args = parser.parse_args(argv)
    size = {"n_gates": 200, "n_echoes": 5} if args.small else {}

    points, truth = make_radar_scan(random_state=7, **size)
    gates = np.column_stack([points.range, points.azimuth, points.elevation])
    print(f"{len(points):,} gates, {truth.max() + 1} echoes and clutter patches")

    pipeline = Pipeline([
        ("ground", FunctionTransformer(ground_features)),
        ("cluster", GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=8,
                               window_features=[2])),
    ])
    labels = pipeline.fit_predict(gates)
    print(f"pipeline: {labels.max() + 1} clusters, ARI against the truth "
          f"{adjusted_rand_score(truth, labels):.3f}")

    print("\nmin_samples  clusters  ARI")
    for min_samples in (4, 8, 16, 32):
        candidate = clone(pipeline).set_params(cluster__min_samples=min_samples)
        found = candidate.fit_predict(gates)
        print(f"{min_samples:>11}  {found.max() + 1:>8}  {adjusted_rand_score(truth, found):.3f}")

    scaled = {name: Pipeline([("ground", FunctionTransformer(ground_features)),
                              ("scale", StandardScaler()),
                              ("cluster", estimator)]).fit_predict(gates)
              for name, estimator in (("gridscan", GridDBSCAN(eps=0.05, min_samples=8)),
                                      ("sklearn", DBSCAN(eps=0.05, min_samples=8)))}
    same = np.array_equal(scaled["gridscan"], scaled["sklearn"])
    print(f"\nconstant eps after StandardScaler: GridDBSCAN labels == DBSCAN labels: {same} "
          f"({scaled['gridscan'].max() + 1} clusters)")

    restored = pickle.loads(pickle.dumps(pipeline))
    # The next sweep: the same weather turned by one beam width around the radar.
    later = gates.copy()
    later[:, 1] = (later[:, 1] + points.ray_spacing) % 360.0
    predicted = restored.predict(later)
    echo = truth >= 0
    kept = np.mean(predicted[echo] == labels[echo])
    print(f"pickled pipeline, predict on the next sweep: {kept:.1%} of the echo gates keep "
          f"their cluster")
    replayed = restored.predict(gates)
    print(f"predict on the training scan reproduces its labels: "
          f"{np.array_equal(replayed, labels)}")
    if not (same and np.array_equal(replayed, labels)):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
