"""The two CLIs on a written synthetic capture: files out, numbers against the truth."""

import json

import pytest

from humansync_ns.calibration.calibration_io import load_calibration
from humansync_ns.synthetic.capture import generate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.tools.calibrate import Calibrate
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
