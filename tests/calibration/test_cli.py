"""The two CLIs on a written synthetic capture: files out, numbers against the truth."""

import json

import pytest
from degenerate_captures import in_millimetres

from humansync_ns.calibration.calibrate import CalibrationError
from humansync_ns.calibration.calibration_io import load_calibration
from humansync_ns.motion.format import load_motion, save_motion
from humansync_ns.synthetic.capture import generate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.tools.calibrate import Calibrate, CalibrateCliError
from humansync_ns.tools.eval_calib import EvalCalib


@pytest.fixture(scope="module")
def capture_dir(tmp_path_factory):
    return generate_capture(SynthConfig(seed=31, num_cameras=4, render_videos=False), tmp_path_factory.mktemp("capture"))


def test_calibrate_then_eval(capture_dir, tmp_path, capsys) -> None:
    truth = capture_dir / "ground_truth" / "ground_truth.json"
    output = Calibrate(motion_dir=capture_dir / "motion", output=tmp_path / "calibration.json", report_dir=tmp_path / "report").main()
    calibration = load_calibration(output)
    assert sorted(v.name for v in calibration.videos) == ["cam00", "cam01", "cam02", "cam03"]
    for name in ("report.md", "cost_matrix.png", "offsets_timeline.png", "top_view.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    assert "cam00" in capsys.readouterr().out
    EvalCalib(calibration=output, ground_truth=truth, json=True).main()
    errors = json.loads(capsys.readouterr().out)
    assert errors["mean"]["rotation_deg"] < 2.0 and errors["mean"]["time_frames"] < 0.5
    assert errors["mean"]["translation_frac"] < 0.03
    table = EvalCalib(calibration=output, ground_truth=truth).main()
    assert "mean" in capsys.readouterr().out and table["missing"] == []


@pytest.mark.slow
def test_calibrate_with_smplx_body_model(capture_dir, tmp_path) -> None:
    output = Calibrate(
        motion_dir=capture_dir / "motion", output=tmp_path / "calibration.json", body_model=capture_dir / "body_model" / "smpl"
    ).main()
    errors = EvalCalib(calibration=output, ground_truth=capture_dir / "ground_truth" / "ground_truth.json", json=True).main()
    assert errors["mean"]["rotation_deg"] < 2.0 and errors["mean"]["time_frames"] < 0.5


def test_output_that_is_an_input_is_refused(capture_dir, tmp_path) -> None:
    motion = capture_dir / "motion" / "cam00.npz"
    before = motion.read_bytes()
    for output in (motion, capture_dir / "motion" / "calibration.NPZ", capture_dir / "motion"):
        with pytest.raises(CalibrateCliError, match=r"--output .*(is one of the inputs|read as a motion file|is a folder)"):
            Calibrate(motion_dir=capture_dir / "motion", output=output).main()
    assert motion.read_bytes() == before  # issue 18 §2: the motion file was overwritten with JSON


def _motion_copy(capture_dir, tmp_path, bad: str):
    """The capture's motion folder with video `bad` in millimetres and a macOS `._` file next to it."""
    folder = tmp_path / "motion"
    for path in sorted((capture_dir / "motion").glob("*.npz")):
        track = load_motion(path)
        save_motion(in_millimetres(track) if track.name == bad else track, folder / path.name)
    (folder / "._cam00.npz").write_bytes(b"\x00\x05\x16\x07")
    return folder


def test_cli_names_what_it_skips_and_excludes_and_strict_fails(capture_dir, tmp_path, capsys) -> None:
    folder = _motion_copy(capture_dir, tmp_path, bad="cam02")
    output = Calibrate(motion_dir=folder, output=tmp_path / "calibration.json").main()
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "reading 4 motion files" in printed and "skipped ._cam00.npz: macOS metadata file" in printed
    assert "excluded: cam02: its bodies are" in printed and "millimetres" in printed
    calibration = load_calibration(output)
    assert sorted(v.name for v in calibration.videos) == ["cam00", "cam01", "cam03"]
    assert calibration.excluded[0]["name"] == "cam02" and calibration.excluded[0]["check"] == "body_size"
    assert all(v.observability.time == "ok" and v.observability.body_scale == pytest.approx(1.0, abs=0.1) for v in calibration.videos)
    strict_output = tmp_path / "strict.json"
    with pytest.raises(CalibrationError, match=r"--strict: 1 video\(s\) could not be calibrated \(cam02; .*nothing written"):
        Calibrate(motion_dir=folder, output=strict_output, strict=True).main()
    assert not strict_output.exists()
