"""The gridscan command: labels equal the estimators', one-line errors with exit status 2."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN

import gridscan
from gridscan import GridDBSCAN, RangeEps
from gridscan.cli import main
from gridscan.radar import make_superdarn_table, superdarn_cells


def run(*args, cwd=None):
    """``python -m gridscan ARGS`` in a subprocess with this checkout on the path."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(gridscan.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, "-m", "gridscan", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def points():
    """Blobs with a text column, a group column and an integer column."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 10, size=(6, 2))
    xy = np.vstack([c + rng.normal(scale=0.3, size=(80, 2)) for c in centres]
                   + [rng.uniform(0, 10, size=(60, 2))])
    return pd.DataFrame({
        "x": xy[:, 0], "y": xy[:, 1],
        "site": np.where(np.arange(len(xy)) % 2 == 0, "north", "south"),
        "frame": np.arange(len(xy)) % 3,
    })


def save(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        np.savez(path, **{name: frame[name].to_numpy() for name in frame.columns})
    return path


def load_labels(path, column="label"):
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return archive[column]
    return (pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path))[column]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_cluster_subprocess_labels_equal_the_estimators(tmp_path, points, suffix):
    data = points[["x", "y", "frame"]]
    source = save(data, tmp_path / f"points{suffix}")
    target = tmp_path / f"labelled{suffix}"
    result = run("cluster", source, "--eps", "0.4", "--min-samples", "6", "--features", "x,y",
                 "--output", target)
    assert result.returncode == 0, result.stderr
    labels = np.asarray(load_labels(target))
    expected = GridDBSCAN(eps=0.4, min_samples=6).fit_predict(data[["x", "y"]].to_numpy())
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(labels, DBSCAN(eps=0.4, min_samples=6).fit_predict(
        data[["x", "y"]]))
    assert labels.max() >= 5
    assert f"-> {target}" in result.stdout and result.stderr == ""


def test_cluster_keeps_columns_and_uses_numeric_ones_by_default(tmp_path, points):
    source = save(points, tmp_path / "points.csv")
    target = tmp_path / "out.csv"
    assert main(["cluster", str(source), "--eps", "0.5", "--output", str(target)]) == 0
    out = pd.read_csv(target)
    assert list(out.columns) == ["x", "y", "site", "frame", "label"]
    pd.testing.assert_frame_equal(out[points.columns], points)
    # Numeric columns: x, y and frame (site is text).
    expected = GridDBSCAN(eps=0.5, min_samples=5).fit_predict(points[["x", "y", "frame"]])
    np.testing.assert_array_equal(out["label"], expected)


def test_cluster_npz_with_a_2d_array(tmp_path, points):
    X = points[["x", "y"]].to_numpy()
    np.savez(tmp_path / "X.npz", X=X, weight=np.ones(len(X)))
    target = tmp_path / "out.npz"
    main(["cluster", str(tmp_path / "X.npz"), "--features", "X[0],X[1]", "--eps", "0.4",
          "--output", str(target)])
    with np.load(target) as archive:
        np.testing.assert_array_equal(archive["X"], X)
        np.testing.assert_array_equal(archive["label"],
                                      GridDBSCAN(eps=0.4).fit_predict(X))


def test_cluster_range_eps_options(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"range": rng.uniform(5, 100, 600), "azimuth": rng.uniform(0, 40, 600)})
    source = save(frame, tmp_path / "gates.parquet")
    target = tmp_path / "out.parquet"
    main(["cluster", str(source), "--eps", "2,60", "--range-feature", "range", "--power", "0,-1",
          "--min-eps", "2,0.8", "--min-samples", "4", "--output", str(target)])
    model = GridDBSCAN(eps=RangeEps(base=[2.0, 60.0], range_feature=0, power=[0.0, -1.0],
                                    min_eps=[2.0, 0.8]), min_samples=4)
    expected = model.fit_predict(frame.to_numpy())
    assert expected.max() >= 1
    np.testing.assert_array_equal(pd.read_parquet(target)["label"], expected)


def test_cluster_periods_option(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"range": rng.uniform(5, 30, 800), "azimuth": rng.uniform(0, 360, 800)})
    source = save(frame, tmp_path / "gates.csv")
    target = tmp_path / "out.csv"
    main(["cluster", str(source), "--eps", "2,6", "--min-samples", "4", "--periods",
          "azimuth=360", "--output", str(target)])
    expected = GridDBSCAN(eps=[2.0, 6.0], min_samples=4,
                          periods=[None, 360.0]).fit_predict(frame.to_numpy())
    assert not np.array_equal(expected, GridDBSCAN(eps=[2.0, 6.0], min_samples=4)
                              .fit_predict(frame.to_numpy()))
    np.testing.assert_array_equal(pd.read_csv(target)["label"], expected)


def test_group_by_clusters_each_group_with_a_progress_bar(tmp_path, points):
    source = save(points, tmp_path / "points.csv")
    target = tmp_path / "out.csv"
    result = run("cluster", source, "--eps", "0.5", "--features", "x,y", "--group-by", "site",
                 "--output", target)
    assert result.returncode == 0, result.stderr
    labels = pd.read_csv(target)["label"].to_numpy()
    for site in ("north", "south"):
        rows = (points["site"] == site).to_numpy()
        expected = GridDBSCAN(eps=0.5).fit_predict(points.loc[rows, ["x", "y"]])
        np.testing.assert_array_equal(labels[rows], expected)
    assert "clustering groups" in result.stderr and "2/2" in result.stderr
    assert "in 2 groups" in result.stdout
    quiet = run("cluster", source, "--eps", "0.5", "--group-by", "site", "--quiet",
                "--output", target)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_several_files_into_a_directory(tmp_path, points):
    first = save(points.iloc[:200], tmp_path / "a.csv")
    second = save(points.iloc[200:], tmp_path / "b.parquet")
    out = tmp_path / "labelled"
    main(["cluster", str(first), str(second), "--eps", "0.5", "--features", "x,y", "--quiet",
          "--output", str(out)])
    for name, part in (("a.csv", points.iloc[:200]), ("b.parquet", points.iloc[200:])):
        labels = load_labels(out / name)
        np.testing.assert_array_equal(labels, GridDBSCAN(eps=0.5).fit_predict(part[["x", "y"]]))


def test_demo_writes_a_png(tmp_path):
    result = run("demo", "--output", "scan.png", "--dpi", "40", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    import matplotlib.image as mpimg

    image = mpimg.imread(tmp_path / "scan.png")
    assert image.shape[:2] == (280, 520)
    assert "clusters with range-dependent eps" in result.stdout
    assert result.stdout.count("\n") == 1 and result.stderr == ""


@pytest.mark.parametrize("command", [[], ["demo"], ["cluster"], ["gbdscan"], ["radar"]])
def test_help_texts(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith(f"usage: gridscan {' '.join(command)}".rstrip())
    assert "examples:" in out and "--output" in out


def test_help_in_a_subprocess():
    result = run("cluster", "--help")
    assert result.returncode == 0 and "--min-samples" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["cluster", "{dir}/missing.csv", "--eps", "1", "--output", "{dir}/o.csv"],
     "no such file: '{dir}/missing.csv'"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--features", "x,z", "--output", "{dir}/o.csv"],
     "{dir}/p.csv: no column 'z'; columns are x, y, site, frame"),
    (["cluster", "{dir}/p.csv", "--eps", "abc", "--output", "{dir}/o.csv"],
     "argument --eps: expected a number > 0 or comma-separated numbers > 0, got 'abc'"),
    (["cluster", "{dir}/p.csv", "--eps", "-1", "--output", "{dir}/o.csv"],
     "argument --eps: expected a number > 0"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--min-samples", "2.5", "--output", "{dir}/o.csv"],
     "argument --min-samples: expected an integer, got '2.5'"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--output", "{dir}/o.txt"],
     "output '{dir}/o.txt' has extension '.txt'; expected one of .csv, .npz, .parquet, .pq"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--features", "x,site", "--output", "{dir}/o.csv"],
     "{dir}/p.csv: column 'site' is not numeric (dtype "),
    (["cluster", "{dir}/nan.csv", "--eps", "1", "--output", "{dir}/o.csv"],
     "{dir}/nan.csv: column 'y' has a missing or non-finite value in row 1"),
    (["cluster", "{dir}/p.csv", "--eps", "1,2,3", "--features", "x,y", "--output", "{dir}/o.csv"],
     "{dir}/p.csv: eps has shape (3,)"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--power", "1", "--output", "{dir}/o.csv"],
     "--power needs --range-feature"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--periods", "x=0", "--output", "{dir}/o.csv"],
     "argument --periods: expected comma-separated COLUMN=PERIOD pairs with periods > 0"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--periods", "az=360", "--output", "{dir}/o.csv"],
     "--periods 'az' is not among the features"),
    (["cluster", "{dir}/p.csv", "--eps", "1", "--group-by", "region", "--output", "{dir}/o.csv"],
     "{dir}/p.csv: no column 'region'"),
    (["cluster", "{dir}/p.csv", "--eps", "1"], "the following arguments are required: -o/--output"),
    (["demo", "--output", "{dir}/scan.txt"], "--output '{dir}/scan.txt' should end in .png"),
    (["cluster"], "the following arguments are required: FILE, -o/--output, --eps"),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
])
def test_errors_are_one_line_with_status_2(tmp_path, capsys, points, args, message):
    save(points, tmp_path / "p.csv")
    pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, np.nan]}).to_csv(tmp_path / "nan.csv", index=False)
    args = [arg.format(dir=tmp_path) for arg in args]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gridscan: error: ")
    assert captured.err.count("\n") == 1
    assert message.format(dir=tmp_path) in captured.err
    assert not (tmp_path / "o.csv").exists()


def test_error_in_a_subprocess_has_status_2(tmp_path):
    result = run("cluster", tmp_path / "missing.csv", "--eps", "1", "--output",
                 tmp_path / "out.csv")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"gridscan: error: no such file: '{tmp_path / 'missing.csv'}'\n"
    bad_number = run("cluster", tmp_path / "missing.csv", "--eps", "0.x", "--output", "o.csv")
    assert bad_number.returncode == 2 and bad_number.stderr.count("\n") == 1


# ---------------------------------------------------------------- gbdscan

@pytest.fixture(scope="module")
def superdarn():
    return make_superdarn_table(n_scans=40, random_state=5)


def test_gbdscan_subprocess_labels_equal_the_estimators(tmp_path, superdarn):
    source = save(superdarn, tmp_path / "day.parquet")
    target = tmp_path / "out.csv"
    result = run("gbdscan", source, "--n-gates", "75", "--n-beams", "16", "--scan-length",
                 "2min", "--output", target)
    assert result.returncode == 0, result.stderr
    cells, _ = superdarn_cells(superdarn, scan_length="2min")
    expected = gridscan.GBDSCAN(n_gates=75, n_beams=16).fit_predict(cells)
    assert expected.max() >= 1
    np.testing.assert_array_equal(pd.read_csv(target)["label"], expected)


def test_gbdscan_periodic_beams_and_reference_mode(tmp_path, superdarn):
    source = save(superdarn, tmp_path / "day.csv")
    target = tmp_path / "out.csv"
    main(["gbdscan", str(source), "--n-gates", "75", "--n-beams", "16", "--scan-length",
          "1min", "--periodic-beams", "--mode", "reference", "--quiet", "--output",
          str(target)])
    cells, _ = superdarn_cells(superdarn, scan_length="1min")
    expected = gridscan.GBDSCAN(n_gates=75, n_beams=16, periodic_beams=True,
                                mode="reference").fit_predict(cells)
    assert expected.max() >= 1
    np.testing.assert_array_equal(pd.read_csv(target)["label"], expected)


def test_gbdscan_scan_column_csv_times_and_groups(tmp_path, superdarn):
    table = superdarn.copy()
    cells, _ = superdarn_cells(table, scan_length="2min")
    table["scan"] = cells[:, 2]
    table["radar"] = np.where(table["beam"] < 8, "west", "east")
    source = save(table, tmp_path / "day.csv")  # times become text in a CSV
    by_scan, by_time = tmp_path / "scan.csv", tmp_path / "time.csv"
    main(["gbdscan", str(source), "--scan", "scan", "--mode", "reference", "--f", "0.3",
          "--group-by", "radar", "--quiet", "--output", str(by_scan)])
    main(["gbdscan", str(source), "--scan-length", "2min", "--mode", "reference", "--f", "0.3",
          "--group-by", "radar", "--quiet", "--output", str(by_time)])
    labels = pd.read_csv(by_scan)["label"].to_numpy()
    np.testing.assert_array_equal(labels, pd.read_csv(by_time)["label"])
    for radar in ("west", "east"):
        rows = (table["radar"] == radar).to_numpy()
        expected = gridscan.GBDSCAN(f=0.3, mode="reference").fit_predict(cells[rows])
        np.testing.assert_array_equal(labels[rows], expected)


@pytest.mark.parametrize("args, message", [
    (["--gate", "range_gate"], "no column 'range_gate'"),
    (["--pts-ratio", "1.5"],
     "argument --pts-ratio: expected a float in the range (0.0, 1.0], got 1.5"),
    (["--scan-length", "soon"], "{dir}/day.csv:"),
])
def test_gbdscan_errors(tmp_path, capsys, superdarn, args, message):
    source = save(superdarn.iloc[:200], tmp_path / "day.csv")
    with pytest.raises(SystemExit) as exit_info:
        main(["gbdscan", str(source), *args, "--output", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert message.format(dir=tmp_path) in err


def test_imports_stay_light(tmp_path):
    """Importing gridscan (or gridscan.radar) pulls in no plotting, radar or table library,
    and the demo needs only matplotlib on top of the core dependencies. (scikit-learn
    itself imports pandas when it is installed, so that is the baseline.)"""
    code = (
        "import sys\n"
        "import sklearn.base, sklearn.cluster, sklearn.utils.validation\n"
        "baseline = set(sys.modules)\n"
        "heavy = {'matplotlib', 'pyart', 'xradar', 'xarray', 'pandas', 'tqdm', 'pyarrow'}\n"
        "def new_heavy():\n"
        "    return heavy & (set(sys.modules) - baseline)\n"
        "import gridscan, gridscan.radar\n"
        "assert not new_heavy(), new_heavy()\n"
        "from gridscan.cli import main\n"
        "main(['demo', '--output', 'scan.png', '--dpi', '30'])\n"
        "assert new_heavy() == {'matplotlib'}, new_heavy()\n"
    )
    env = dict(os.environ, MPLBACKEND="Agg")
    root = os.path.dirname(os.path.dirname(os.path.abspath(gridscan.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "scan.png").is_file()
