"""Known displacements: the Table 1 errors of a displaced calibration are exactly what was applied."""

import numpy as np
import pytest

from humansync_ns.body.rotations import look_at_opencv, rotation_angle_deg
from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration
from humansync_ns.calibration.displace import displace_calibration, random_displacement
from humansync_ns.calibration.errors import calibration_errors


def _ring(n: int = 6) -> Calibration:
    videos = []
    for k in range(n):
        angle = 2 * np.pi * k / n
        c2w = look_at_opencv(np.array([4 * np.cos(angle), 4 * np.sin(angle), 2.0]), np.zeros(3))
        videos.append(VideoCalibration(f"cam{k:02d}", 24.0 if k % 2 else 30.0, 90, 0.1 * k, c2w, np.eye(3), 64, 48))
    return Calibration(reference="cam00", videos=videos)


def test_turns_and_pushes_are_measured_exactly() -> None:
    truth = _ring()
    displaced = displace_calibration(truth, {"cam02": 3.0, "cam04": -1.5}, {"cam01": 2.0, "cam03": -2.0})
    errors = calibration_errors(displaced, truth)
    rotation = dict(zip(errors.names, errors.rotation_deg))
    assert rotation["cam02"] == pytest.approx(3.0, abs=1e-6)
    assert rotation["cam04"] == pytest.approx(1.5, abs=1e-6)
    assert max(v for k, v in rotation.items() if k not in ("cam02", "cam04")) < 1e-6
    assert errors.translation_m.max() < 1e-9  # a turn keeps the camera centre
    shift_s = {v.name: d.time_offset_s - v.time_offset_s for v, d in zip(truth.videos, displaced.videos)}
    assert shift_s["cam01"] == pytest.approx(2.0 / 24.0)  # frames of the video's own rate
    assert shift_s["cam03"] == pytest.approx(-2.0 / 24.0)
    assert shift_s["cam00"] == 0.0


def test_moving_camera_turns_every_frame_and_input_is_untouched() -> None:
    truth = _ring()
    poses = np.stack([truth.videos[0].camera_to_world] * 4)
    poses[:, 0, 3] += np.arange(4)
    truth.videos[0].camera_to_world = poses
    displaced = displace_calibration(truth, {"cam00": 2.0})
    angles = rotation_angle_deg(displaced.videos[0].camera_to_world[:, :3, :3], poses[:, :3, :3])
    np.testing.assert_allclose(angles, 2.0, atol=1e-6)
    np.testing.assert_array_equal(displaced.videos[0].camera_to_world[:, :3, 3], poses[:, :3, 3])
    np.testing.assert_array_equal(truth.videos[0].camera_to_world, poses)


def test_unknown_video_is_refused() -> None:
    with pytest.raises(KeyError, match="cam99"):
        displace_calibration(_ring(), pushes_frames={"cam99": 1.0})


def test_random_displacement_has_the_requested_size_in_every_video() -> None:
    """Every camera turned by exactly the angle and moved by exactly the fraction of the rig radius
    (4 m here), every offset moved by the frames; directions differ between videos."""
    truth = _ring(8)
    displaced = random_displacement(truth, rotation_deg=5.0, translation_frac=0.08, time_frames=1.3, seed=3)
    for before, after in zip(truth.videos, displaced.videos):
        assert rotation_angle_deg(before.camera_to_world[:3, :3], after.camera_to_world[:3, :3]) == pytest.approx(5.0, abs=1e-6)
        assert np.linalg.norm(after.camera_to_world[:3, 3] - before.camera_to_world[:3, 3]) == pytest.approx(0.08 * 4.0, rel=1e-6)
        assert abs(after.time_offset_s - before.time_offset_s) * before.fps == pytest.approx(1.3)
    shifts = [np.sign(a.time_offset_s - b.time_offset_s) for a, b in zip(displaced.videos, truth.videos)]
    assert len(set(shifts)) == 2
    errors = calibration_errors(displaced, truth)  # after Sim(3) alignment, errors of about that size remain
    assert 3.5 < errors.mean_rotation_deg < 6.0 and errors.mean_time_frames > 0.8, errors
