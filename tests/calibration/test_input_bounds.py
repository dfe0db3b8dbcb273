"""Issue 18 §4: inputs that would make the calibration allocate tens of GiB, and options out of range,
are refused up front with an error that names the file and key or the option."""

import dataclasses

import numpy as np
import pytest
import tyro

from humansync_ns.calibration.calibrate import CalibrationConfig, CalibrationConfigError, CalibrationError, calibrate
from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.tools.calibrate import Calibrate


@pytest.fixture(scope="module")
def tracks():
    capture = simulate_capture(SynthConfig(seed=41, num_cameras=3, duration_s=4.0, start_spread_s=0.5, render_videos=False))
    return [dataclasses.replace(t, source=f"motion/{t.name}.npz") for t in capture.tracks]


def test_fps_of_1e9_is_refused_naming_the_file(tracks) -> None:
    bad = list(tracks)
    bad[1] = dataclasses.replace(bad[1], fps=1e9)  # would resample the others to 1e10 samples each
    with pytest.raises(CalibrationError, match=r"motion/cam01\.npz: key 'fps' \(1e\+09, the highest frame rate.*3\.33e\+07× faster"):
        calibrate(bad)


def test_clock_fps_of_1e5_is_refused_naming_the_option(tracks) -> None:
    with pytest.raises(CalibrationError, match=r"--calib.clock-fps 100000: the common clock would run 3\.33e\+03× faster"):
        calibrate(tracks, CalibrationConfig(clock_fps=1e5))


def test_a_1000_s_gap_is_refused_naming_the_file_and_key(tracks) -> None:
    track = tracks[2]
    times = np.arange(track.num_frames) / track.fps
    times[60:] += 1000.0
    bad = [tracks[0], tracks[1], dataclasses.replace(track, frame_times=times)]
    with pytest.raises(CalibrationError, match=r"motion/cam02\.npz: key 'frame_times': .* \(largest gap 1000 s after row 59\)"):
        calibrate(bad)


def test_memory_estimate_is_checked_before_allocating(tracks) -> None:
    with pytest.raises(CalibrationError, match=r"would need about .* GiB \(limit --calib.max-memory-gib 1e-05\)"):
        calibrate(tracks, CalibrationConfig(max_memory_gib=1e-5))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--calib.trim-fraction", "1.0"], "--calib.trim-fraction 1.0: must be in [0, 0.5)"),
        (["--calib.trim-fraction", "-0.5"], "--calib.trim-fraction -0.5: must be in [0, 0.5)"),
        (["--calib.clock-fps", "-30"], "--calib.clock-fps -30.0: must be a positive frame rate"),
        (["--calib.dtw-stride", "0"], "--calib.dtw-stride 0: must be at least 1"),
        (["--calib.pairs-per-video", "1"], "--calib.pairs-per-video 1: must be at least 2"),
        (["--calib.checks.max-rate-mismatch", "2"], "--calib.checks.max-rate-mismatch 2.0: out of range"),
    ],
)
def test_options_out_of_range_are_refused_on_the_command_line(args, message, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:  # tyro turns the config's ValueError into one message, exit code 2
        tyro.cli(Calibrate, args=["--motion-dir", str(tmp_path), "--output", str(tmp_path / "c.json"), *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_options_out_of_range_are_refused_in_python(tracks) -> None:
    with pytest.raises(CalibrationConfigError, match=r"--calib.trim-fraction 1.0: must be in \[0, 0.5\)"):
        CalibrationConfig(trim_fraction=1.0)
    config = CalibrationConfig()
    config.trim_fraction = -0.5  # changed after construction: checked again when used
    with pytest.raises(CalibrationConfigError, match="--calib.trim-fraction -0.5"):
        calibrate(tracks, config)
