"""Every console script ends an expected input error with one line on stderr that names the file and
the field, exit status 2, no traceback; any other error keeps its traceback."""

import dataclasses
import json
import sys

import joblib
import numpy as np
import pytest

from humansync_ns.calibration.calibration_io import save_calibration
from humansync_ns.processing.procedural import procedural_calibration, write_procedural_frames
from humansync_ns.tools.cli_errors import EXIT_STATUS, run_cli


def one_line_error(monkeypatch, capsys, entrypoint, prog, *args) -> str:
    """Runs `entrypoint()` as `prog args...`; returns its one stderr line after checking the exit."""
    monkeypatch.setattr(sys, "argv", [prog, *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        entrypoint()
    assert exit_info.value.code == EXIT_STATUS
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), lines
    return lines[0]


@pytest.fixture
def calibration_file(tmp_path):
    return save_calibration(procedural_calibration(num_videos=3, num_frames=4, width=16, height=12), tmp_path / "calibration.json")


def test_synth(monkeypatch, capsys, tmp_path):
    from humansync_ns.tools.synth import entrypoint

    line = one_line_error(monkeypatch, capsys, entrypoint, "humansync-synth", "--output", tmp_path / "out", "--num-cameras", "0")
    assert line.endswith("SynthConfig.num_cameras: needs at least one camera, got 0")


def test_calibrate(monkeypatch, capsys, tmp_path):
    from humansync_ns.tools.calibrate import entrypoint

    line = one_line_error(monkeypatch, capsys, entrypoint, "humansync-calibrate", "--motion-dir", tmp_path / "nope",
                          "--output", tmp_path / "calibration.json")
    assert line.endswith(f"{tmp_path / 'nope'}: motion folder does not exist")


def test_process(monkeypatch, capsys, tmp_path, calibration_file):
    from humansync_ns.tools.process import entrypoint

    write_procedural_frames(procedural_calibration(num_videos=3, num_frames=4, width=16, height=12), tmp_path / "d" / "images")
    line = one_line_error(monkeypatch, capsys, entrypoint, "humansync-process", "--videos", tmp_path / "d" / "images",
                          "--output", tmp_path / "d", "--calibration", calibration_file)
    assert f"which overlaps its input --videos {tmp_path / 'd' / 'images'}" in line
    assert len(list((tmp_path / "d" / "images" / "cam00").iterdir())) == 4


class _CreatesFile:
    """Unpickling this object calls `open(path, "w")`."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_import_motion_refuses_a_crafted_pickle(monkeypatch, capsys, tmp_path):
    from humansync_ns.tools.import_motion import entrypoint

    marker = tmp_path / "marker"
    joblib.dump({"frame": _CreatesFile(marker)}, tmp_path / "demo_cam00.pkl", compress=3)
    line = one_line_error(monkeypatch, capsys, entrypoint, "humansync-import-motion", "--tool", "phalp",
                          "--input", tmp_path / "demo_cam00.pkl", "--output", tmp_path / "motion", "--fps", "30")
    assert f"{tmp_path / 'demo_cam00.pkl'}: refused to load the global 'io.open'" in line
    assert not marker.exists()


def test_eval_calib_refuses_a_scaled_rotation(monkeypatch, capsys, tmp_path, calibration_file):
    from humansync_ns.tools.eval_calib import entrypoint

    data = json.loads(calibration_file.read_text())
    data["videos"][1]["camera_to_world"] = (np.diag([5.0, 5.0, 5.0, 1.0]) @ data["videos"][1]["camera_to_world"]).tolist()
    scaled = tmp_path / "scaled.json"
    scaled.write_text(json.dumps(data))
    line = one_line_error(monkeypatch, capsys, entrypoint, "humansync-eval-calib", "--calibration", scaled,
                          "--ground-truth", calibration_file)
    # refused when the file is read (calibration_io), before anything is scored
    assert f"{scaled}: video 'cam01'" in line and "camera_to_world: not a rigid transform" in line, line


NOT_UTF8 = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe binary"
"""The start of a zip (an .npz) with bytes that are not UTF-8 (was a UnicodeDecodeError traceback)."""


def test_eval_calib_and_process_name_a_file_that_is_not_text(monkeypatch, capsys, tmp_path, calibration_file):
    from humansync_ns.tools.eval_calib import entrypoint as eval_calib
    from humansync_ns.tools.process import entrypoint as process

    binary = tmp_path / "x.npz"
    binary.write_bytes(NOT_UTF8)
    line = one_line_error(monkeypatch, capsys, eval_calib, "humansync-eval-calib", "--calibration", calibration_file,
                          "--ground-truth", binary)
    assert f"{binary}: not valid JSON ('utf-8' codec can't decode byte 0xff in position 10" in line
    write_procedural_frames(procedural_calibration(num_videos=3, num_frames=4, width=16, height=12), tmp_path / "frames")
    for option, other in (("--calibration", ()), ("--ground-truth", ("--calibration", calibration_file))):
        line = one_line_error(monkeypatch, capsys, process, "humansync-process", "--videos", tmp_path / "frames",
                              "--output", tmp_path / "out", option, binary, *other)
        assert f"{binary}: not valid JSON ('utf-8' codec can't decode byte 0xff" in line, option
        assert not (tmp_path / "out").exists(), f"{option}: checked before any frame is written"


def test_render_and_export_check_the_config_first(monkeypatch, capsys, tmp_path):
    from humansync_ns.tools.export_calibration import entrypoint as export
    from humansync_ns.tools.render import entrypoint as render

    config = tmp_path / "config.yml"
    config.write_text("method_name: humansync\n")  # YAML, but not what ns-train writes: nerfstudio asserted
    line = one_line_error(monkeypatch, capsys, render, "humansync-render", "bullet-time", "--load-config", config)
    assert line.endswith(f"{config}: not a nerfstudio training config (its top level is a dict)")
    line = one_line_error(monkeypatch, capsys, export, "humansync-export-calibration", "--load-config", tmp_path / "nope.yml")
    assert f"{tmp_path / 'nope.yml'}: no such file" in line


def test_demo(monkeypatch, capsys, tmp_path):
    from humansync_ns.tools.demo import entrypoint

    (tmp_path / "taken").write_text("")
    line = one_line_error(monkeypatch, capsys, entrypoint, "humansync-demo", "--output", tmp_path / "taken")
    assert line.endswith(f"{tmp_path / 'taken'}: File exists")


@pytest.mark.parametrize(
    "error", [np.linalg.LinAlgError("Singular matrix"), ValueError("height and width must be > 0"), OSError("disk")]
)
def test_other_errors_keep_their_traceback(monkeypatch, error):
    """A numpy or PIL error, or an OSError without a file, is a bug or an unchecked input: not hidden."""

    @dataclasses.dataclass
    class Fails:
        def main(self) -> None:
            raise error

    monkeypatch.setattr(sys, "argv", ["prog"])
    with pytest.raises(type(error)):
        run_cli("prog", Fails)
