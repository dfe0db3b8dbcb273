"""Table 1 errors: a calibration equal to the truth up to a Sim(3) and a common time shift scores 0."""

import copy

import numpy as np
import pytest

from humansync_ns.body.rotations import look_at_opencv, random_rotation
from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration
from humansync_ns.calibration.errors import EvaluationError, calibration_errors
from humansync_ns.calibration.sim3 import Sim3


def _truth(n: int = 5) -> Calibration:
    videos = []
    for k in range(n):
        angle = 2 * np.pi * k / n
        c2w = look_at_opencv(np.array([4 * np.cos(angle), 4 * np.sin(angle), 2.0]), np.zeros(3))
        fps = 24.0 if k % 2 else 30.0
        videos.append(VideoCalibration(f"cam{k:02d}", fps, 100, 0.1 * k, c2w, np.eye(3), 160, 120))
    return Calibration(reference="cam00", videos=videos)


def _transformed(truth: Calibration, transform: Sim3, shift_s: float) -> Calibration:
    estimate = copy.deepcopy(truth)
    for video in estimate.videos:
        c2w = video.camera_to_world.copy()
        c2w[..., :3, :3] = transform.R @ c2w[..., :3, :3]
        c2w[..., :3, 3] = transform.apply(c2w[..., :3, 3])
        video.camera_to_world = c2w
        video.time_offset_s += shift_s
    return estimate


def test_similarity_and_common_shift_give_zero_error() -> None:
    rng = np.random.default_rng(0)
    truth = _truth()
    estimate = _transformed(truth, Sim3(random_rotation(rng), rng.normal(size=3), 0.37), shift_s=1.234)
    errors = calibration_errors(estimate, truth)
    assert errors.rotation_deg.max() < 1e-4
    assert errors.translation_m.max() < 1e-9
    assert errors.time_frames.max() < 1e-9
    assert errors.scene_size_m == pytest.approx(4.0)


def test_known_perturbations_are_measured() -> None:
    truth = _truth()
    estimate = copy.deepcopy(truth)
    estimate.videos[1].time_offset_s += 5 / 24.0  # 5 frames of that video's 24 fps
    c2w = estimate.videos[2].camera_to_world.copy()
    c2w[:3, :3] = c2w[:3, :3] @ np.array([[1, 0, 0], [0, np.cos(0.02), -np.sin(0.02)], [0, np.sin(0.02), np.cos(0.02)]])
    estimate.videos[2].camera_to_world = c2w
    errors = calibration_errors(estimate, truth)
    # The common offset absorbs 1/5 of the shift: 4 frames left on cam01, 1/5 · 5/24 s elsewhere.
    assert errors.time_frames[1] == pytest.approx(4.0)
    assert errors.time_frames[0] == pytest.approx(30.0 / 24.0)
    assert errors.rotation_deg[2] == pytest.approx(np.degrees(0.02), rel=1e-6)
    assert errors.translation_m.max() < 1e-9
    assert set(errors.to_dict()["per_video"]) == {v.name for v in truth.videos}


def test_missing_videos_are_listed_and_too_few_raise() -> None:
    truth = _truth()
    estimate = copy.deepcopy(truth)
    estimate.videos = estimate.videos[:4]
    assert calibration_errors(estimate, truth).missing == ["cam04"]
    estimate.videos = estimate.videos[:2]
    with pytest.raises(ValueError, match="at least 3"):
        calibration_errors(estimate, truth)


def test_moving_camera_is_scored_per_frame() -> None:
    truth = _truth()
    truth.videos[3].camera_to_world = np.stack([truth.videos[3].camera_to_world] * 100)
    truth.videos[3].camera_to_world[:, 2, 3] += np.linspace(0, 1, 100)  # it moves up over time
    estimate = _transformed(truth, Sim3(np.eye(3), np.ones(3), 2.0), 0.0)
    errors = calibration_errors(estimate, truth)
    assert errors.translation_m.max() < 1e-9 and errors.rotation_deg.max() < 1e-4


@pytest.mark.parametrize(
    "change",
    [
        lambda R: 5.0 * R,  # a scaled rotation used to score 0.000° (arccos clipped)
        lambda R: R @ np.diag([1.0, 1.0, -1.0]),  # a reflection
        lambda R: np.zeros((3, 3)),  # singular
    ],
    ids=["scaled", "reflected", "singular"],
)
def test_a_pose_that_is_not_a_rotation_is_refused(change) -> None:
    truth = _truth()
    estimate = copy.deepcopy(truth)
    estimate.videos[2].camera_to_world[:3, :3] = change(estimate.videos[2].camera_to_world[:3, :3])
    with pytest.raises(EvaluationError, match=r"^calib.json: video 'cam02': camera_to_world\[:3, :3\] is not a rotation"):
        calibration_errors(estimate, truth, "calib.json", "truth.json")
    with pytest.raises(EvaluationError, match=r"^truth.json: video 'cam02'"):
        calibration_errors(truth, estimate, "calib.json", "truth.json")


def test_a_moving_camera_names_its_first_bad_frame() -> None:
    truth = _truth()
    truth.videos[3].camera_to_world = np.stack([truth.videos[3].camera_to_world] * 10)
    estimate = copy.deepcopy(truth)
    estimate.videos[3].camera_to_world[7, :3, :3] *= 2.0
    with pytest.raises(EvaluationError, match=r"video 'cam03': .* \(frame 7, 1 frame\(s\) in all\)"):
        calibration_errors(estimate, truth)
