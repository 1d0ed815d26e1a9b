"""gridscan radar: the labels of the library's radar recipes, file by file (issues 14, 15).

The command clusters with gridscan.radar's feature helpers, so on the same gates
its labels (read back from the CF/Radial file it writes) must equal the Python
recipes called here directly: the README's and docs/radar.rst's ground-plane
recipe, and ground_features / polar_features / volume_features, each sweep with
its own gate and ray spacing. The files are Py-ART's real NEXRAD samples.
"""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYART_QUIET", "1")
import pyart  # noqa: E402
from cli_runner import run_cli  # noqa: E402

from gridscan import GridDBSCAN  # noqa: E402
from gridscan.radar import (  # noqa: E402
    beam_eps,
    from_pyart,
    ground_features,
    polar_features,
    ppi_features,
    volume_features,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Py-ART's .* module is deprecated:UserWarning"),
    # Py-ART's notes on reading the level-2 sample (the command silences them itself).
    pytest.mark.filterwarnings("ignore:No MSG5 detected:UserWarning"),
    pytest.mark.filterwarnings("ignore:Gate spacing is not constant:UserWarning"),
]

LEVEL3 = pyart.testing.NEXRAD_LEVEL3_MSG19  # KBMX base reflectivity: 360 rays x 230 gates of 1 km
RAIN_RATE = pyart.testing.NEXRAD_LEVEL3_MSG176  # the README's file: 0.25 km gates
ARCHIVE = pyart.testing.NEXRAD_ARCHIVE_MSG1_FILE  # level 2, 7 sweeps of 0.97 and 1.01 degrees


def labels_written(path, points, field="cluster"):
    """The label of every point in the CF/Radial file the command wrote."""
    data = pyart.io.read_cfradial(str(path)).fields[field]["data"]
    assert data.count() == len(points)  # clustered gates only; the rest masked
    return np.asarray(data[points.ray, points.gate])


def sweep_by_sweep(points, labels_of):
    """``labels_of(sweep points)`` for each sweep, numbered on across sweeps as the command does."""
    labels = np.full(len(points), -1, dtype=np.int64)
    for number in np.unique(points.sweep):
        rows = np.flatnonzero(points.sweep == number)
        found = labels_of(points[rows])
        labels[rows] = np.where(found >= 0, found + labels.max() + 1, -1)
    return labels


@pytest.fixture
def fits(monkeypatch):
    """The parameters of every GridDBSCAN fitted while the test runs."""
    recorded = []
    real_fit = GridDBSCAN.fit

    def recording_fit(model, X, *args, **kwargs):
        recorded.append(model.get_params(deep=False))
        return real_fit(model, X, *args, **kwargs)

    monkeypatch.setattr(GridDBSCAN, "fit", recording_fit)
    return recorded


@pytest.fixture(scope="module")
def archive():
    radar = pyart.io.read(ARCHIVE)
    return radar, from_pyart(radar, "reflectivity", threshold=0.0)


# ---------------------------------------------------------------- the Python recipes

def test_labels_equal_the_readme_recipe(capsys, tmp_path):
    status, stdout, stderr = run_cli(capsys, "radar", RAIN_RATE, "--field",
                                     "radar_estimated_rain_rate", "--threshold", "0.1",
                                     "--min-samples", "20", "--output", tmp_path, "--quiet")
    assert status == 0, stderr
    # README, "Radar data in, pictures out", as written there:
    radar = pyart.io.read_nexrad_level3(RAIN_RATE)
    points = from_pyart(radar, "radar_estimated_rain_rate", threshold=0.1)  # 39,241 gates
    model = GridDBSCAN(eps=beam_eps(points.ray_spacing), min_samples=20, window_features=[2])
    expected = model.fit_predict(ppi_features(points))
    assert len(points) == 39_241 and expected.max() + 1 >= 20
    labels = labels_written(tmp_path / "example_nexrad_level3_msg176_gridscan.nc", points)
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(labels, ground_features(points).fit_predict(min_samples=20))
    assert (f"39,241 gates of radar_estimated_rain_rate, {expected.max() + 1:,} clusters, "
            f"{np.count_nonzero(expected < 0):,} noise") in stdout
    table = pd.read_csv(tmp_path / "example_nexrad_level3_msg176_clusters.csv")
    np.testing.assert_array_equal(table["n_gates"], np.bincount(expected[expected >= 0]))
    np.testing.assert_array_equal(table["n_core"], np.bincount(
        expected[model.core_sample_indices_]))


def test_one_km_gates_get_the_gate_floor(capsys, tmp_path):
    """On 1 km gates the radius is never below 1.5 gates (issue 14, item 4), as in
    docs/radar.rst's recipe; the old 1 km floor leaves three times the noise."""
    status, _, stderr = run_cli(capsys, "radar", LEVEL3, "--threshold", "20", "--output",
                                tmp_path, "--quiet")
    assert status == 0, stderr
    points = from_pyart(pyart.io.read_nexrad_level3(LEVEL3), "reflectivity", threshold=20.0)
    assert points.geometry()[0].gate_spacing == pytest.approx(1.0, abs=0.01)
    expected = GridDBSCAN(eps=beam_eps(points), window_features=[2]).fit_predict(
        ppi_features(points))
    labels = labels_written(tmp_path / "example_nexrad_level3_msg19_gridscan.nc", points)
    np.testing.assert_array_equal(labels, expected)
    one_km_floor = GridDBSCAN(eps=beam_eps(points.ray_spacing), window_features=[2]).fit_predict(
        ppi_features(points))
    assert 3 * np.count_nonzero(labels < 0) <= np.count_nonzero(one_km_floor < 0)  # 144, 432


@pytest.mark.parametrize("features, helper", [("ground", ground_features),
                                              ("polar", polar_features)])
def test_each_sweep_is_clustered_with_its_own_spacing(capsys, tmp_path, fits, archive,
                                                      features, helper):
    radar, points = archive
    steps = {number: np.median(np.abs(np.diff(np.unwrap(radar.get_azimuth(number), period=360))))
             for number in np.unique(points.sweep).tolist()}
    assert max(steps.values()) / min(steps.values()) > 1.03  # 0.97 and 1.01 degree sweeps
    status, _, stderr = run_cli(capsys, "radar", ARCHIVE, "--threshold", "0", "--features",
                                features, "--output", tmp_path, "--quiet")
    assert status == 0, stderr
    # One fit per sweep, its radius across the beam 1.5 ray spacings of that sweep (from
    # Py-ART's azimuths): the first entry of RangeEps.base for both kinds of features.
    assert len(fits) == len(steps)
    for params, step in zip(fits, steps.values(), strict=True):
        assert np.ravel(params["eps"].base)[0] == pytest.approx(1.5 * np.deg2rad(step),
                                                                rel=1e-3)
    labels = labels_written(tmp_path / "example_nexrad_archive_msg1_gridscan.nc", points)
    np.testing.assert_array_equal(labels, sweep_by_sweep(
        points, lambda sweep: helper(sweep).fit_predict()))
    assert len(np.unique(points.sweep[labels >= 0])) >= 3  # clusters in several sweeps


def test_volume_labels_equal_volume_features(capsys, tmp_path, archive):
    _, points = archive
    status, _, stderr = run_cli(capsys, "radar", ARCHIVE, "--threshold", "0", "--features",
                                "volume", "--max-eps", "10", "--output", tmp_path, "--quiet")
    assert status == 0, stderr
    expected = volume_features(points, max_eps=10.0).fit_predict()
    labels = labels_written(tmp_path / "example_nexrad_archive_msg1_gridscan.nc", points)
    np.testing.assert_array_equal(labels, expected)
    spanning = [label for label in range(expected.max() + 1)
                if len(np.unique(points.sweep[expected == label])) > 1]
    assert spanning  # a volume cluster reaches across sweeps


def test_helper_and_estimator_options_reach_them(capsys, tmp_path, fits, archive):
    radar, _ = archive
    status, stdout, stderr = run_cli(
        capsys, "radar", ARCHIVE, "--threshold", "0", "--sweeps", "2,4", "--beams", "2.5",
        "--gates", "3", "--min-eps", "0.5", "--min-samples", "7", "--n-jobs", "1",
        "--output", tmp_path, "--quiet")
    assert status == 0, stderr
    assert ": 2 sweeps, " in stdout
    assert [(params["min_samples"], params["n_jobs"]) for params in fits] == [(7, 1), (7, 1)]
    points = from_pyart(radar, "reflectivity", threshold=0.0, sweeps=[2, 4])
    expected = sweep_by_sweep(points, lambda sweep: ground_features(
        sweep, beams=2.5, gates=3.0, min_eps=0.5).fit_predict(min_samples=7))
    labels = labels_written(tmp_path / "example_nexrad_archive_msg1_gridscan.nc", points)
    np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize("options, message", [
    (["--max-eps", "5"], "gridscan: error: --max-eps applies to --features volume, not ground"),
    (["--beams", "0"], "gridscan: error: argument --beams: expected a number > 0, got '0'"),
    (["--gates", "-1"], "gridscan: error: argument --gates: expected a number >= 0, got '-1'"),
    (["--min-samples", "0"],
     "gridscan: error: argument --min-samples: expected an int in the range [1, inf), got 0"),
])
def test_option_errors_are_one_line_before_any_file(capsys, tmp_path, options, message):
    status, stdout, stderr = run_cli(capsys, "radar", tmp_path / "not-read", *options,
                                     "--output", tmp_path / "out")
    assert status == 2 and stdout == "" and stderr.count("\n") == 1
    assert stderr.startswith(message)
    assert not (tmp_path / "out").exists()


def test_an_rhi_file_needs_the_volume_features(capsys, tmp_path):
    rhi = pyart.testing.CFRADIAL_RHI_FILE
    status, _, stderr = run_cli(capsys, "radar", rhi, "--output", tmp_path, "--quiet")
    assert status == 2
    assert stderr == (f"gridscan: error: {rhi}: sweep 0 is an RHI scan; --features ground "
                      f"clusters PPI sweeps: use --features volume, or --sweeps to read only "
                      f"PPI sweeps\n")
    status, _, stderr = run_cli(capsys, "radar", rhi, "--features", "volume", "--output",
                                tmp_path, "--quiet")
    assert status == 0, stderr
    points = from_pyart(pyart.io.read(rhi), "reflectivity_horizontal")
    np.testing.assert_array_equal(
        labels_written(tmp_path / "example_cfradial_rhi_gridscan.nc", points),
        volume_features(points).fit_predict())


# ---------------------------------------------------------------- files, outputs, errors

@pytest.fixture
def radar_directory(tmp_path):
    """Two real radar files (NEXRAD level 3, CF/Radial) and a corrupt one."""
    directory = tmp_path / "in"
    directory.mkdir()
    shutil.copy(LEVEL3, directory / "KBMX_N0R")
    shutil.copy(pyart.testing.CFRADIAL_PPI_FILE, directory / "ppi.nc")
    (directory / "broken.nc").write_bytes(b"CDF\x01 this is not a radar file")
    return directory


def test_radar_command_skips_a_corrupt_file_and_says_so(capsys, tmp_path, radar_directory):
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "radar", radar_directory, "--threshold", "20",
                                     "--output", out, "--quiet")
    assert status == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith(f"gridscan: error: {radar_directory / 'broken.nc'}: cannot read "
                             f"it as a radar file: ")
    assert sorted(path.name for path in out.iterdir()) == [
        "KBMX_N0R_clusters.csv", "KBMX_N0R_gridscan.nc", "KBMX_N0R_ppi.png",
        "ppi_clusters.csv", "ppi_gridscan.nc", "ppi_ppi.png"]  # no temporary left over
    assert f"{radar_directory / 'KBMX_N0R'}: 1 sweep, 38,059 gates of reflectivity" in stdout

    # The labels written are the library's, and the table describes them.
    radar = pyart.io.read_nexrad_level3(LEVEL3)
    points = from_pyart(radar, "reflectivity", threshold=20.0)
    expected = GridDBSCAN(eps=beam_eps(points), window_features=[2]).fit_predict(
        ppi_features(points))
    back = pyart.io.read_cfradial(str(out / "KBMX_N0R_gridscan.nc"))
    written = back.fields["cluster"]["data"]
    np.testing.assert_array_equal(written[points.ray, points.gate], expected)
    assert written.count() == len(points)
    table = pd.read_csv(out / "KBMX_N0R_clusters.csv")
    np.testing.assert_array_equal(table["label"], np.arange(expected.max() + 1))
    np.testing.assert_array_equal(table["n_gates"], np.bincount(expected[expected >= 0]))
    assert (table["n_core"] <= table["n_gates"]).all()
    assert "reflectivity_horizontal" in \
        pyart.io.read_cfradial(str(out / "ppi_gridscan.nc")).fields  # its only field, default


def test_radar_command_writes_all_outputs_of_a_file_or_none(capsys, tmp_path, radar_directory,
                                                            monkeypatch):
    def half_written(path, radar, **kwargs):
        with open(path, "wb") as file:
            file.write(b"CDF")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyart.io, "write_cfradial", half_written)
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "radar", radar_directory / "KBMX_N0R",
                                     radar_directory / "ppi.nc", "--output", out, "--quiet",
                                     "--table-format", "parquet")
    assert status == 2 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 2
    assert lines[0] == (f"gridscan: error: {radar_directory / 'KBMX_N0R'}: cannot write "
                        f"'{out / 'KBMX_N0R_gridscan.nc'}': No space left on device")
    assert sorted(os.listdir(out)) == []


def test_radar_command_options(capsys, tmp_path, radar_directory):
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "radar", radar_directory / "KBMX_N0R", "--field",
                                     "velocity", "--output", out)
    assert status == 2
    assert stderr == (f"gridscan: error: {radar_directory / 'KBMX_N0R'}: no field 'velocity'; "
                      f"fields are reflectivity: choose one with --field\n")
    status, stdout, stderr = run_cli(capsys, "radar", radar_directory / "KBMX_N0R",
                                     "--threshold", "30", "--min-samples", "4", "--volume",
                                     "--table-format", "parquet", "--output", out, "--quiet")
    assert status == 0, stderr
    table = pd.read_parquet(out / "KBMX_N0R_clusters.parquet")
    points = from_pyart(pyart.io.read_nexrad_level3(LEVEL3), "reflectivity", threshold=30.0)
    expected = volume_features(points).fit_predict(min_samples=4)  # --volume: the same
    np.testing.assert_array_equal(table["n_gates"], np.bincount(expected[expected >= 0]))
    status, _, stderr = run_cli(capsys, "radar", radar_directory, "--min-samples", "0",
                                "--output", out)
    assert status == 2 and stderr.startswith("gridscan: error: argument --min-samples: ")
    (tmp_path / "file").write_text("")
    status, _, stderr = run_cli(capsys, "radar", radar_directory, "--output", tmp_path / "file")
    assert status == 2 and "must be a directory" in stderr
