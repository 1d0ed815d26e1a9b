"""The gridscan command never loses data nor answers silently wrong (issues 13, 15, 18).

Outputs are written whole or not at all and never over an input; the label
column never overwrites a feature; a stray cell or a ';'-separated file does not
silently change the features; every estimator parameter is an option that the
estimator itself validates; degenerate results are pointed out on stderr.
"""

import argparse
import inspect
import os
import re
import resource
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from sklearn.cluster import DBSCAN

import gridscan
from gridscan import GBDSCAN, GridDBSCAN, RangeEps
from gridscan.cli import PARAMETERS_WITHOUT_OPTION, build_parser, main
from gridscan.cli._parameters import as_typed
from gridscan.radar import ground_features, polar_features, volume_features


def run(*args, cwd=None, file_size_limit=None):
    """``python -m gridscan ARGS`` in a subprocess, optionally with a file-size limit (bytes)."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(gridscan.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "gridscan", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=limit if file_size_limit is not None else None)


cli = run_cli


def assert_one_line_error(status, out, err, *fragments):
    assert status == 2, err
    assert out == ""
    assert err.startswith("gridscan: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def blobs(tmp_path):
    """Three blobs and some noise as x, y with a text column; written to points.csv."""
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    xy = np.vstack([c + rng.normal(scale=0.3, size=(60, 2)) for c in centres]
                   + [rng.uniform(-2, 8, size=(20, 2))])
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1],
                          "site": np.where(np.arange(len(xy)) % 2, "north", "south")})
    frame.to_csv(tmp_path / "points.csv", index=False)
    return frame


def expected_labels(frame, eps=0.5, min_samples=5):
    """Labels from scikit-learn's DBSCAN, the independent reference."""
    return DBSCAN(eps=eps, min_samples=min_samples).fit_predict(frame[["x", "y"]].to_numpy())


def stray_files(directory, keep):
    return sorted(name for name in os.listdir(directory) if name not in keep)


# ---------------------------------------------------------------- output over an input

@pytest.mark.parametrize("output", ["same", "dot", "symlink", "hardlink", "directory"])
def test_output_over_the_input_is_refused_and_the_input_unchanged(tmp_path, capsys, blobs,
                                                                  output):
    source = tmp_path / "points.csv"
    before = source.read_bytes()
    inputs = [source]
    target = {"same": source, "dot": tmp_path / "." / "points.csv",
              "directory": tmp_path}.get(output)
    if output == "symlink":
        (tmp_path / "alias.csv").symlink_to(source)
        inputs, target = [tmp_path / "alias.csv"], source
    elif output == "hardlink":
        os.link(source, tmp_path / "other.csv")
        target = tmp_path / "other.csv"
    status, out, err = cli(capsys, "cluster", *inputs, "--eps", "0.5", "--output", target)
    assert_one_line_error(status, out, err, "is the input", "choose another output")
    assert source.read_bytes() == before


def test_gbdscan_refuses_its_input_as_output_too(tmp_path, capsys):
    source = tmp_path / "cells.csv"
    pd.DataFrame({"gate": [1, 2, 3], "beam": [0, 0, 0]}).to_csv(source, index=False)
    before = source.read_bytes()
    status, out, err = cli(capsys, "gbdscan", source, "--output", source)
    assert_one_line_error(status, out, err, f"--output '{source}' is the input '{source}'")
    assert source.read_bytes() == before


def test_several_inputs_refused_when_one_output_is_another_input_or_shared(tmp_path, capsys,
                                                                           blobs):
    (tmp_path / "a").mkdir()
    (tmp_path / "out").mkdir()
    blobs.to_csv(tmp_path / "a" / "points.csv", index=False)
    blobs.iloc[:100].to_csv(tmp_path / "out" / "points2.csv", index=False)
    before = (tmp_path / "out" / "points2.csv").read_bytes()
    # points2.csv's output would be itself.
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv",
                           tmp_path / "out" / "points2.csv", "--eps", "0.5",
                           "--output", tmp_path / "out")
    assert_one_line_error(status, out, err, "is the input")
    assert (tmp_path / "out" / "points2.csv").read_bytes() == before
    # Two inputs named points.csv would both land on out/points.csv.
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv",
                           tmp_path / "a" / "points.csv", "--eps", "0.5",
                           "--output", tmp_path / "out")
    assert_one_line_error(status, out, err, "would both be written to")
    assert not (tmp_path / "out" / "points.csv").exists()


# ---------------------------------------------------------------- atomic writes

def test_a_write_that_hits_the_file_size_limit_keeps_the_old_output(tmp_path):
    """Under RLIMIT_FSIZE the write fails half-way: the previous output survives whole,
    a new output is not created, and no temporary file is left behind."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40_000), "y": rng.normal(size=40_000)})
    source = tmp_path / "big.csv"
    frame.to_csv(source, index=False)
    size = source.stat().st_size
    limit = size // 2  # the output (input + labels) is larger than this
    before = source.read_bytes()
    old = tmp_path / "old.csv"
    old.write_text("x,y,label\n1,2,0\n")
    for target in (old, tmp_path / "new.csv", tmp_path / "new.npz", tmp_path / "new.parquet"):
        result = run("cluster", source, "--eps", "0.05", "--quiet", "--output", target,
                     file_size_limit=limit)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"gridscan: error: cannot write '{target}': ")
        assert result.stderr.count("\n") == 1 and "File too large" in result.stderr
    assert old.read_text() == "x,y,label\n1,2,0\n"
    assert source.read_bytes() == before
    assert stray_files(tmp_path, {"big.csv", "old.csv"}) == []
    # Without the limit the same run succeeds and replaces the old output.
    result = run("cluster", source, "--eps", "0.05", "--quiet", "--output", old)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(pd.read_csv(old)["label"],
                                  DBSCAN(eps=0.05, min_samples=5).fit_predict(frame))
    assert stray_files(tmp_path, {"big.csv", "old.csv"}) == []


@pytest.mark.parametrize("failure, status", [(OSError(28, "No space left on device"), 2),
                                              (KeyboardInterrupt(), 130)])
def test_a_write_that_fails_midway_leaves_no_partial_file(tmp_path, capsys, blobs, monkeypatch,
                                                          failure, status):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    real_to_csv = pd.DataFrame.to_csv

    def half_then_fail(self, path, **kwargs):
        real_to_csv(self.iloc[: len(self) // 2], path, **kwargs)
        raise failure

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    code, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--quiet",
                         "--output", target)
    assert code == status
    assert err.count("\n") == 1
    if status == 2:
        assert err == f"gridscan: error: cannot write '{target}': No space left on device\n"
    assert target.read_text() == "previous\n"
    assert stray_files(tmp_path, {"points.csv", "out.csv"}) == []
    monkeypatch.undo()
    # New path: nothing at all is created.
    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--quiet",
        "--output", tmp_path / "sub" / "fresh.csv")
    assert os.listdir(tmp_path / "sub") == []


def test_the_output_keeps_the_mode_of_the_file_it_replaces(tmp_path, capsys, blobs):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    os.chmod(target, 0o640)
    assert cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--quiet",
               "--output", target)[0] == 0
    assert (target.stat().st_mode & 0o777) == 0o640
    np.testing.assert_array_equal(pd.read_csv(target)["label"], expected_labels(blobs))
    # A new file gets the mode open() gives under the umask.
    umask = os.umask(0o022)
    try:
        cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--quiet",
            "--output", tmp_path / "new.csv")
    finally:
        os.umask(umask)
    assert ((tmp_path / "new.csv").stat().st_mode & 0o777) == 0o644


def test_a_symlinked_output_is_written_through(tmp_path, capsys, blobs):
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "labels.csv"
    real.write_text("previous\n")
    (tmp_path / "link.csv").symlink_to(real)
    assert cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--quiet",
               "--output", tmp_path / "link.csv")[0] == 0
    assert (tmp_path / "link.csv").is_symlink()
    np.testing.assert_array_equal(pd.read_csv(real)["label"], expected_labels(blobs))


# ---------------------------------------------------------------- the label column

@pytest.mark.parametrize("options, fragment", [
    (["--features", "x,y", "--label-column", "x"],
     "--label-column 'x' is a feature column of {dir}/points.csv"),
    (["--label-column", "y"], "--label-column 'y' names a numeric column of {dir}/points.csv"),
    (["--label-column", "y", "--overwrite-label-column", "--features", "x,y"],
     "--label-column 'y' is a feature column"),
    (["--label-column", "site"], "{dir}/points.csv: column 'site' already exists; choose "
                                 "another --label-column, or pass --overwrite-label-column"),
    (["--label-column", "site", "--group-by", "site", "--overwrite-label-column"],
     "--label-column 'site' is a --group-by column"),
])
def test_the_label_column_never_overwrites_a_column_unasked(tmp_path, capsys, blobs, options,
                                                            fragment):
    target = tmp_path / "out.csv"
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5",
                           *options, "--output", target)
    assert_one_line_error(status, out, err, fragment.format(dir=tmp_path))
    assert not target.exists()


def test_overwrite_label_column_replaces_a_non_feature_column(tmp_path, capsys, blobs):
    target = tmp_path / "out.csv"
    assert cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--label-column",
               "site", "--overwrite-label-column", "--output", target)[0] == 0
    out = pd.read_csv(target)
    assert list(out.columns) == ["x", "y", "site"]
    np.testing.assert_array_equal(out["site"], expected_labels(blobs))
    pd.testing.assert_frame_equal(out[["x", "y"]], blobs[["x", "y"]])


def test_rerunning_on_an_output_needs_overwrite_and_ignores_the_old_labels(tmp_path, capsys,
                                                                           blobs):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--output",
               first)[0] == 0
    status, out, err = cli(capsys, "cluster", first, "--eps", "0.3", "--output", second)
    assert_one_line_error(status, out, err, "--overwrite-label-column")
    status, out, err = cli(capsys, "cluster", first, "--eps", "0.3", "--overwrite-label-column",
                           "--output", second)
    assert status == 0
    assert f"gridscan: {first}: clustering on columns x, y (not numeric: site)\n" in err
    np.testing.assert_array_equal(pd.read_csv(second)["label"], expected_labels(blobs, eps=0.3))


def test_gbdscan_label_column_may_not_be_a_cell_column(tmp_path, capsys):
    source = tmp_path / "cells.csv"
    pd.DataFrame({"gate": [1, 2, 3], "beam": [0, 0, 0], "scan": [0, 0, 0]}).to_csv(
        source, index=False)
    for column in ("gate", "beam", "scan"):
        status, out, err = cli(capsys, "gbdscan", source, "--scan", "scan", "--label-column",
                               column, "--output", tmp_path / "o.csv")
        assert_one_line_error(status, out, err, f"--label-column '{column}' is a feature column")


def test_npz_label_column_may_not_replace_a_feature_array(tmp_path, capsys):
    X = np.random.default_rng(1).normal(size=(50, 2))
    np.savez(tmp_path / "X.npz", X=X)
    status, out, err = cli(capsys, "cluster", tmp_path / "X.npz", "--eps", "0.5",
                           "--label-column", "X", "--overwrite-label-column",
                           "--output", tmp_path / "o.npz")
    assert_one_line_error(status, out, err, "--label-column 'X' is a feature column")


# ---------------------------------------------------------------- features

@pytest.mark.parametrize("cell, shown, hint", [("a", "'a'", False), ('"1,5"', "'1,5'", True)])
def test_one_stray_cell_is_an_error_not_a_dropped_column(tmp_path, capsys, blobs, cell, shown,
                                                         hint):
    lines = (tmp_path / "points.csv").read_text().splitlines()
    fields = lines[1 + 17].split(",")  # data row 17
    lines[1 + 17] = ",".join([cell, *fields[1:]])
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    status, out, err = cli(capsys, "cluster", tmp_path / "bad.csv", "--eps", "0.5",
                           "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err,
                          f"{tmp_path}/bad.csv: column 'x' holds numbers but also 1 value that "
                          f"is not, the first {shown} in row 17", "--features")
    assert ("decimal comma" in err) == hint
    assert not (tmp_path / "o.csv").exists()
    # Chosen explicitly, the column gets the same diagnosis.
    status, out, err = cli(capsys, "cluster", tmp_path / "bad.csv", "--eps", "0.5",
                           "--features", "x,y", "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, "column 'x' is not numeric",
                          f"row 17 holds {shown}")
    # Without the bad column the file clusters, on y alone, as asked.
    status, out, err = cli(capsys, "cluster", tmp_path / "bad.csv", "--eps", "0.5",
                           "--features", "y", "--output", tmp_path / "o.csv")
    assert status == 0 and err == ""
    np.testing.assert_array_equal(
        pd.read_csv(tmp_path / "o.csv")["label"],
        DBSCAN(eps=0.5, min_samples=5).fit_predict(blobs[["y"]]))


def test_default_features_are_named_on_stderr_unless_quiet(tmp_path, capsys, blobs):
    target = tmp_path / "out.csv"
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5",
                           "--output", target)
    assert status == 0
    assert err == f"gridscan: {tmp_path}/points.csv: clustering on columns x, y " \
                  f"(not numeric: site)\n"
    assert out.endswith(f"-> {target}\n")
    np.testing.assert_array_equal(pd.read_csv(target)["label"], expected_labels(blobs))
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5",
                           "--quiet", "--output", target)
    assert status == 0 and err == ""


@pytest.mark.parametrize("separator, decimal", [(";", ","), (";", "."), ("\t", "."),
                                                ("|", ".")])
def test_csv_separated_otherwise_is_read_and_written_back_alike(tmp_path, capsys, blobs,
                                                                separator, decimal):
    source = tmp_path / "semi.csv"
    blobs.to_csv(source, index=False, sep=separator, decimal=decimal)
    assert (re.search(r"\d,\d", source.read_text()) is not None) == (decimal == ",")
    target = tmp_path / "out.csv"
    status, out, err = cli(capsys, "cluster", source, "--eps", "0.5", "--output", target)
    assert status == 0, err
    assert "-separated values" in err
    assert "clustering on columns x, y (not numeric: site)" in err
    written = pd.read_csv(target, sep=separator, decimal=decimal)
    assert list(written.columns) == ["x", "y", "site", "label"]
    np.testing.assert_allclose(written[["x", "y"]], blobs[["x", "y"]])
    np.testing.assert_array_equal(written["label"], expected_labels(blobs))
    assert target.read_text().splitlines()[0] == separator.join(["x", "y", "site", "label"])


def test_a_comma_csv_with_semicolons_in_quoted_text_stays_comma_separated(tmp_path, capsys,
                                                                         blobs):
    frame = blobs.assign(site=blobs["site"] + ";" + blobs["site"])
    frame.to_csv(tmp_path / "p.csv", index=False)
    status, out, err = cli(capsys, "cluster", tmp_path / "p.csv", "--eps", "0.5", "--quiet",
                           "--output", tmp_path / "o.csv")
    assert status == 0, err
    out = pd.read_csv(tmp_path / "o.csv")
    assert list(out["site"]) == list(frame["site"])
    np.testing.assert_array_equal(out["label"], expected_labels(blobs))


def save_npy(path):
    with open(path, "wb") as file:  # np.save(path) would add .npy to the name
        np.save(file, np.ones((5, 2)))


@pytest.mark.parametrize("write, name, fragment", [
    (save_npy, "a.npz",
     "input '{path}' is a NumPy .npy file (one array, from numpy.save), not an NPZ archive"),
    (lambda p: pd.DataFrame({"x": [1.0]}).to_csv(p, index=False), "a.parquet",
     "input '{path}' is a text file, not a Parquet file as its extension '.parquet' says"),
    (lambda p: pd.DataFrame({"x": [1.0]}).to_parquet(p), "a.csv",
     "input '{path}' is a Parquet file, not CSV text as its extension '.csv' says"),
    (lambda p: p.write_bytes(b""), "a.csv", "input '{path}' is empty"),
])
def test_a_file_whose_content_does_not_match_its_extension(tmp_path, capsys, write, name,
                                                           fragment):
    path = tmp_path / name
    write(path)
    status, out, err = cli(capsys, "cluster", path, "--eps", "1", "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, fragment.format(path=path))


# ---------------------------------------------------------------- options = parameters

def _subcommand(name):
    parser = build_parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    return commands.choices[name]


# What each command builds from its options, named independently of the command line.
BUILT_BY = {
    "cluster": {"GridDBSCAN": GridDBSCAN, "RangeEps": RangeEps},
    "gbdscan": {"GBDSCAN": GBDSCAN},
    "radar": {"GridDBSCAN": GridDBSCAN, "ground_features": ground_features,
              "polar_features": polar_features, "volume_features": volume_features},
}
PARAMETER_TARGETS = [(command, name) for command, built in BUILT_BY.items() for name in built]


def _options(command):
    """{dest: option strings} of a subcommand."""
    return {action.dest: action.option_strings for action in _subcommand(command)._actions}


@pytest.mark.parametrize("command, target", PARAMETER_TARGETS,
                         ids=[f"{c}-{t}" for c, t in PARAMETER_TARGETS])
def test_every_parameter_is_an_option_or_excluded_with_a_reason(command, target):
    """Fails when an estimator, RangeEps or a radar feature helper gains a parameter that
    the command neither offers nor lists in cli.PARAMETERS_WITHOUT_OPTION (issue 13)."""
    parameters = inspect.signature(BUILT_BY[command][target]).parameters
    options = _options(command)
    excluded = PARAMETERS_WITHOUT_OPTION[command][target]
    assert set(excluded) <= set(parameters), f"stale exclusions for {target}"
    for name in parameters:
        if name in excluded:
            assert excluded[name].strip(), f"{target}({name}=...) is excluded without a reason"
            assert name not in options, f"{target}({name}=...) is both excluded and an option"
        else:
            assert name in options, f"{target}({name}=...) has no option in 'gridscan {command}'"
            assert "--" + name.replace("_", "-") in options[name]


def test_the_exclusion_list_covers_exactly_what_the_commands_build():
    assert {command: set(targets) for command, targets in PARAMETERS_WITHOUT_OPTION.items()} \
        == {command: set(built) for command, built in BUILT_BY.items()}


def _default_clause(help_text):
    match = re.search(r"\(([^()]*default: [^()]*)\)", " ".join(help_text.split()))
    return match.group(1) if match else None


@pytest.mark.parametrize("command, target", PARAMETER_TARGETS,
                         ids=[f"{c}-{t}" for c, t in PARAMETER_TARGETS])
def test_the_defaults_quoted_in_the_help_are_the_parameters_own(command, target):
    """A help text that quotes a default quotes the estimator's or helper's current one
    (None means 'decided from the data', which the help says in words)."""
    parameters = inspect.signature(BUILT_BY[command][target]).parameters
    actions = {action.dest: action for action in _subcommand(command)._actions}
    for name, parameter in parameters.items():
        default = parameter.default
        if name not in actions or default in (None, inspect.Parameter.empty) \
                or isinstance(default, bool):
            continue
        clause = _default_clause(actions[name].help or "")
        if clause is None:
            continue
        quoted = re.split(r"[\s,;()]+", clause.split("default:", 1)[1])
        assert {str(default), as_typed(default)} & set(quoted), \
            f"gridscan {command} {actions[name].option_strings[0]}: help says ({clause}); " \
            f"{target} has {name}={default!r}"


def test_every_option_parameter_is_shown_to_reach_its_estimator():
    """The tables of the tests below name every option that is a constructor parameter."""
    # --eps is required: every cluster test gives it (tests/test_cli.py compares the labels).
    covered = {"cluster": {name for name, *_ in CLUSTER_VALUES} | {"eps"},
               "gbdscan": {name for name, *_ in GBDSCAN_VALUES}}
    for command, estimator in (("cluster", GridDBSCAN), ("gbdscan", GBDSCAN)):
        options = set(estimator().get_params(deep=False)) & set(_options(command))
        assert options <= covered[command], options - covered[command]


class Recorder:
    """Patches fit_predict of an estimator class to record the parameters it ran with."""

    def __init__(self, monkeypatch, estimator):
        self.params = []
        real = estimator.fit_predict

        def fit_predict(model, X, *args, **kwargs):
            self.params.append(model.get_params(deep=False))
            return real(model, X, *args, **kwargs)

        monkeypatch.setattr(estimator, "fit_predict", fit_predict)


CLUSTER_VALUES = [
    ("min_samples", ["--min-samples", "7"], 7),
    ("metric", ["--metric", "minkowski"], "minkowski"),
    ("p", ["--p", "3"], 3.0),
    ("window_features", ["--window-features", "y"], [1]),
    ("neighbors", ["--neighbors", "query"], "query"),
    ("pts_ratio", ["--pts-ratio", "0.4"], 0.4),
    ("grid_shape", ["--grid-shape", "40,30"], [40, 30]),
    ("algorithm", ["--algorithm", "brute"], "brute"),
    ("leaf_size", ["--leaf-size", "12"], 12),
    ("periods", ["--periods", "y=30"], {1: 30.0}),
    ("n_jobs", ["--n-jobs", "1"], 1),
]


@pytest.mark.parametrize("name, options, value", CLUSTER_VALUES, ids=[v[0] for v in CLUSTER_VALUES])
def test_cluster_options_reach_griddbscan(tmp_path, capsys, monkeypatch, name, options, value):
    grid = pd.DataFrame({"x": np.repeat(np.arange(20), 3) % 40, "y": np.arange(60) % 30})
    grid.to_csv(tmp_path / "g.csv", index=False)
    recorder = Recorder(monkeypatch, GridDBSCAN)
    status, out, err = cli(capsys, "cluster", tmp_path / "g.csv", "--eps", "1.5", *options,
                           "--quiet", "--output", tmp_path / "o.csv")
    assert status == 0, err
    [params] = recorder.params
    assert params[name] == value
    untouched = {key: v for key, v in params.items() if key not in (name, "eps")}
    defaults = GridDBSCAN().get_params(deep=False)
    assert untouched == {key: defaults[key] for key in untouched}


GBDSCAN_VALUES = [
    ("f", ["--f", "0.3"], 0.3), ("g", ["--g", "2"], 2.0),
    ("pts_ratio", ["--pts-ratio", "0.5"], 0.5),
    ("dr", ["--dr", "15"], 15.0), ("dtheta", ["--dtheta", "1"], 1.0),
    ("r_init", ["--r-init", "-30"], -30.0), ("scan_eps", ["--scan-eps", "0"], 0),
    ("n_gates", ["--n-gates", "80"], 80), ("n_beams", ["--n-beams", "20"], 20),
    ("n_scans", ["--n-scans", "9"], 9), ("mode", ["--mode", "reference"], "reference"),
    ("periodic_beams", ["--periodic-beams"], True), ("n_jobs", ["--n-jobs", "1"], 1),
]


@pytest.mark.parametrize("name, options, value", GBDSCAN_VALUES, ids=[v[0] for v in GBDSCAN_VALUES])
def test_gbdscan_options_reach_gbdscan(tmp_path, capsys, monkeypatch, name, options, value):
    rng = np.random.default_rng(2)
    cells = pd.DataFrame({"gate": rng.integers(2, 60, 300), "beam": rng.integers(0, 16, 300),
                          "scan": rng.integers(0, 8, 300)})
    cells.to_csv(tmp_path / "c.csv", index=False)
    recorder = Recorder(monkeypatch, GBDSCAN)
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--scan", "scan", *options,
                           "--quiet", "--output", tmp_path / "o.csv")
    assert status == 0, err
    [params] = recorder.params
    assert params == {**GBDSCAN().get_params(deep=False), name: value}
    expected = GBDSCAN(**{name: value}).fit_predict(cells.to_numpy())
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "o.csv")["label"], expected)


def test_r_init_is_checked_against_the_data_by_gbdscan(tmp_path, capsys):
    """Any real r_init is accepted; the estimator checks r_init + gate * dr > 0."""
    cells = pd.DataFrame({"gate": [1, 2, 2, 3, 3, 3, 9], "beam": [4, 4, 5, 4, 5, 6, 0]})
    cells.to_csv(tmp_path / "c.csv", index=False)
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--r-init", "-40", "--quiet",
                           "--n-gates", "20", "--n-beams", "16", "--output", tmp_path / "o.csv")
    assert status == 0, err
    np.testing.assert_array_equal(
        pd.read_csv(tmp_path / "o.csv")["label"],
        GBDSCAN(r_init=-40.0, n_gates=20, n_beams=16).fit_predict(cells.to_numpy()))
    # r_init + 1 * dr = -50 + 45 <= 0: GBDSCAN's own error, on one line.
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--r-init", "-50",
                           "--output", tmp_path / "o2.csv")
    assert_one_line_error(status, out, err, f"{tmp_path}/c.csv: the range r_init + gate * dr "
                                            f"must be > 0")
    assert not (tmp_path / "o2.csv").exists()


@pytest.mark.parametrize("command, options, message", [
    ("gbdscan", ["--f", "0"], "argument --f: expected a float in the range (0.0, inf), got 0.0"),
    ("gbdscan", ["--dtheta", "200"],
     "argument --dtheta: expected a float in the range (0.0, 180.0), got 200.0"),
    ("gbdscan", ["--mode", "fast"],
     "argument --mode: expected one of 'consistent', 'reference', got 'fast'"),
    ("gbdscan", ["--n-scans", "0"],
     "argument --n-scans: expected an int in the range [1, inf) or None, got 0"),
    ("gbdscan", ["--scan-eps", "-1"],
     "argument --scan-eps: expected an int in the range [0, inf), got -1"),
    ("gbdscan", ["--r-init", "nan"], "argument --r-init: expected a finite number, got 'nan'"),
    ("cluster", ["--eps", "1", "--min-samples", "0"],
     "argument --min-samples: expected an int in the range [1, inf), got 0"),
    ("cluster", ["--eps", "1", "--leaf-size", "0"],
     "argument --leaf-size: expected an int in the range [1, inf), got 0"),
    ("cluster", ["--eps", "1", "--algorithm", "kd_tree"],
     "argument --algorithm: expected one of 'auto', 'ball_tree', 'brute', 'grid', got 'kd_tree'"),
    ("cluster", ["--eps", "1", "--pts-ratio", "2"],
     "argument --pts-ratio: expected a float in the range (0.0, 1.0] or None, got 2.0"),
])
def test_the_estimator_validates_the_options(tmp_path, capsys, command, options, message):
    """Parameter errors are the estimator's, phrased as the option's, before any file is read."""
    status, out, err = cli(capsys, command, tmp_path / "not-read.csv", *options,
                           "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, message)


# ---------------------------------------------------------------- degenerate results

def test_a_sweep_table_clustered_on_every_column_warns(tmp_path, capsys):
    """ray, gate and value on very different scales: every point is noise (issue 15)."""
    rng = np.random.default_rng(4)
    rays, gates = np.meshgrid(np.arange(360), np.arange(0, 400, 4), indexing="ij")
    table = pd.DataFrame({"ray": rays.ravel(), "gate": gates.ravel(),
                          "value": rng.normal(20, 10, rays.size)})
    table.to_csv(tmp_path / "sweep.csv", index=False)
    target = tmp_path / "out.csv"
    status, out, err = cli(capsys, "cluster", tmp_path / "sweep.csv", "--eps", "0.5",
                           "--output", target)
    assert status == 0
    lines = err.splitlines()
    assert lines[0] == f"gridscan: {tmp_path}/sweep.csv: clustering on columns ray, gate, value"
    assert lines[1].startswith(f"gridscan: warning: {tmp_path}/sweep.csv: no clusters, every "
                               f"row is noise, with eps 0.5 and min-samples 5 on columns "
                               f"ray, gate, value")
    assert len(lines) == 2
    labels = pd.read_csv(target)["label"]
    np.testing.assert_array_equal(labels, DBSCAN(eps=0.5).fit_predict(table))
    assert (labels == -1).all()
    assert cli(capsys, "cluster", tmp_path / "sweep.csv", "--eps", "0.5", "--quiet",
               "--output", target)[2] == ""


def test_one_cluster_without_noise_warns_per_file_and_per_group(tmp_path, capsys, blobs):
    target = tmp_path / "out.csv"
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "50",
                           "--features", "x,y", "--output", target)
    assert status == 0
    assert err == (f"gridscan: warning: {tmp_path}/points.csv: all rows are one cluster "
                   f"without noise, with eps 50 and min-samples 5 on columns x, y; the radius "
                   f"may be too large for these columns\n")
    assert (pd.read_csv(target)["label"] == 0).all()
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "50",
                           "--features", "x,y", "--group-by", "site", "--output", target)
    assert "each of the 2 groups is one cluster without noise" in err
    # A normal result says nothing.
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5",
                           "--features", "x,y", "--output", target)
    assert status == 0 and err == ""
    assert pd.read_csv(target)["label"].max() == 2


def test_gbdscan_warns_on_a_grid_larger_than_superdarn_with_its_geometry(tmp_path, capsys):
    rng = np.random.default_rng(5)
    weather = pd.DataFrame({"gate": rng.integers(0, 500, 2000), "beam": rng.integers(0, 360, 2000)})
    weather.to_csv(tmp_path / "weather.csv", index=False)
    target = tmp_path / "out.csv"
    status, out, err = cli(capsys, "gbdscan", tmp_path / "weather.csv", "--output", target)
    assert status == 0
    warning = [line for line in err.splitlines() if "warning" in line]
    gates, beams = weather["gate"].max() + 1, weather["beam"].max() + 1
    assert warning == [
        f"gridscan: warning: {tmp_path}/weather.csv: a grid of {gates} gates x {beams} beams is "
        f"larger than a SuperDARN radar's (at most 110 gates, 24 beams), yet the geometry is "
        f"SuperDARN's default (--dr 45 km, --dtheta 3.24 degrees, --r-init 180 km); give "
        f"your radar's"]
    np.testing.assert_array_equal(pd.read_csv(target)["label"],
                                  GBDSCAN().fit_predict(weather.to_numpy()))
    # Given a geometry, or --quiet, no warning.
    err = cli(capsys, "gbdscan", tmp_path / "weather.csv", "--dr", "0.25", "--dtheta", "1",
              "--output", target)[2]
    assert "warning" not in err
    assert cli(capsys, "gbdscan", tmp_path / "weather.csv", "--quiet", "--output", target)[2] == ""
    # A SuperDARN-sized grid: no warning either.
    superdarn = pd.DataFrame({"gate": rng.integers(0, 75, 500), "beam": rng.integers(0, 16, 500)})
    superdarn.to_csv(tmp_path / "superdarn.csv", index=False)
    err = cli(capsys, "gbdscan", tmp_path / "superdarn.csv", "--output", target)[2]
    assert "warning" not in err and "all rows are one scan" in err


def test_gbdscan_time_options_are_not_silently_ignored(tmp_path, capsys):
    cells = pd.DataFrame({"gate": [1, 2, 3], "beam": [0, 0, 0], "scan": [0, 0, 1]})
    cells.to_csv(tmp_path / "c.csv", index=False)
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--time", "when",
                           "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, "no column 'when'")
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--scan-length", "2min",
                           "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, "--scan-length needs a time column")
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--scan", "scan",
                           "--scan-length", "2min", "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, "use one or the other")


def test_an_unexpected_failure_is_one_line_with_status_1(tmp_path, capsys, blobs, monkeypatch):
    def broken(model, X, *args, **kwargs):
        raise RuntimeError("kernel exploded\nsecond line")

    monkeypatch.setattr(GridDBSCAN, "fit_predict", broken)
    monkeypatch.delenv("GRIDSCAN_DEBUG", raising=False)
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5",
                           "--quiet", "--output", tmp_path / "o.csv")
    assert status == 1 and out == ""
    assert err == ("gridscan: error: unexpected RuntimeError: kernel exploded (a bug in "
                   "gridscan; GRIDSCAN_DEBUG=1 shows the traceback)\n")
    assert not (tmp_path / "o.csv").exists()
    monkeypatch.setenv("GRIDSCAN_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kernel exploded"):
        main(["cluster", str(tmp_path / "points.csv"), "--eps", "0.5", "--quiet",
              "--output", str(tmp_path / "o.csv")])


def test_an_output_ending_in_a_slash_is_a_directory(tmp_path, capsys, blobs):
    status, out, err = cli(capsys, "cluster", tmp_path / "points.csv", "--eps", "0.5", "--quiet",
                           "--output", f"{tmp_path}/labelled/")
    assert status == 0, err
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "labelled" / "points.csv")["label"],
                                  expected_labels(blobs))


def test_an_error_in_one_group_names_the_group(tmp_path, capsys):
    cells = pd.DataFrame({"gate": [1, 2, 3, 0, 1], "beam": [0, 0, 0, 0, 0],
                          "radar": ["east", "east", "east", "west", "west"]})
    cells.to_csv(tmp_path / "c.csv", index=False)
    # r_init + gate * dr = -44 + 0 * 45 <= 0 only in the west radar's rows.
    status, out, err = cli(capsys, "gbdscan", tmp_path / "c.csv", "--r-init", "-44",
                           "--group-by", "radar", "--quiet", "--output", tmp_path / "o.csv")
    assert_one_line_error(status, out, err, f"{tmp_path}/c.csv (group radar='west'): the range "
                                            f"r_init + gate * dr must be > 0")
    assert not (tmp_path / "o.csv").exists()
