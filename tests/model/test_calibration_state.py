"""Reading the refined calibration back: seconds, frames, and pose errors vs ground truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nerfstudio.cameras.cameras import Cameras

from humansync_ns.model.calibration_state import (
    calibration_errors,
    per_video_calibration_errors,
    pose_corrections,
    refined_train_cameras,
    scene_opengl_to_calibration_opencv,
    time_offsets_s,
)

from model_testkit import capture_metadata, make_model

ANGLES = [0.0, 1.7, 3.3, 4.6]  # four static cameras on a ring, one image each


def look_at_opencv(angle: float) -> np.ndarray:
    centre = np.array([3 * math.cos(angle), 3 * math.sin(angle), 1.0])
    z = -centre / np.linalg.norm(centre)  # OpenCV: +z forward
    x = np.cross(z, [0, 0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([x, y, z], axis=1)
    c2w[:3, 3] = centre
    return c2w


def dataparser_transform() -> tuple[np.ndarray, float]:
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return np.concatenate([rot, np.array([[0.2], [-0.1], [0.3]])], axis=1), 0.4


def scene_cameras(calibration_c2w: list[np.ndarray]) -> Cameras:
    transform, scale = dataparser_transform()
    c2w = []
    for pose in calibration_c2w:
        gl = pose.copy()
        gl[:3, :3] = gl[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # OpenCV -> OpenGL camera axes
        box = transform @ gl  # nerfstudio: transform, then scale the translation
        box[:3, 3] *= scale
        c2w.append(box)
    return Cameras(camera_to_worlds=torch.tensor(np.stack(c2w), dtype=torch.float32), fx=50.0, fy=50.0, cx=20.0,
                   cy=15.0, width=40, height=30, times=torch.full((4, 1), 0.5))


@pytest.fixture
def model_and_cameras():
    truth = [look_at_opencv(a) for a in ANGLES]
    meta = capture_metadata([0, 1, 2, 3], [0, 0, 0, 0], num_videos=4)
    transform, scale = dataparser_transform()
    meta.update(dataparser_transform=torch.tensor(transform, dtype=torch.float32), dataparser_scale=scale,
                time_offset_init_s=torch.tensor([0.0, 0.5, -0.2, 1.0]),
                ground_truth={"time_offset_s": torch.tensor([0.0, 0.5, -0.2, 1.0], dtype=torch.float64),
                              "camera_to_world": [torch.tensor(t) for t in truth]})
    return make_model(meta), scene_cameras(truth), truth


def test_scene_to_calibration_round_trip(model_and_cameras):
    _, cameras, truth = model_and_cameras
    transform, scale = dataparser_transform()
    back = scene_opengl_to_calibration_opencv(cameras.camera_to_worlds.double().numpy(), transform, scale)
    np.testing.assert_allclose(back, np.stack(truth), atol=1e-5)


def test_errors_zero_at_truth_and_closed_form_after_perturbation(model_and_cameras):
    model, cameras, _ = model_and_cameras
    errors = calibration_errors(model, cameras)
    assert errors["time_offset_error_frames"] == pytest.approx(0.0, abs=1e-6)
    assert errors["rotation_error_deg"] == pytest.approx(0.0, abs=0.01)  # float32 poses, arccos near 1
    assert errors["translation_error"] == pytest.approx(0.0, abs=1e-4)
    with torch.no_grad():
        model.camera_optimizer.pose_adjustment[1, 3:] = torch.tensor([0.0, math.radians(2.0), 0.0])
        # +0.1 s on video 2: one frame at 10 fps (the offsets are parameterised in frames)
        model.time_offsets.delta[2] = 1.0
    errors = calibration_errors(model, cameras)
    assert errors["rotation_error_deg"] == pytest.approx(2.0 / 4, abs=0.01)  # one camera of four rotated 2 deg
    assert errors["translation_error"] == pytest.approx(0.0, abs=1e-4)  # rotation about the centre
    # differences [0, 0, .1, 0] s minus their mean .025, in frames at 10 fps: mean |.| = 0.375
    assert errors["time_offset_error_frames"] == pytest.approx(0.375, rel=1e-4)
    per_video = per_video_calibration_errors(model, cameras)
    rotation = [per_video[f"cam{v:02d}"]["rotation_error_deg"] for v in range(4)]
    np.testing.assert_allclose(rotation, [0.0, 2.0, 0.0, 0.0], atol=0.02)  # the mean above, per camera
    assert per_video["cam02"]["time_offset_error_frames"] == pytest.approx(0.75, rel=1e-4)  # 1 - 0.25 frame
    assert time_offsets_s(model)["cam02"] == pytest.approx(-0.1, abs=1e-6)
    assert pose_corrections(model)["cam01"]["rotation_deg"] == pytest.approx(2.0, rel=1e-5)


def test_refined_train_cameras_apply_pose_and_time(model_and_cameras):
    model, cameras, _ = model_and_cameras
    with torch.no_grad():
        model.camera_optimizer.pose_adjustment[3, :3] = torch.tensor([0.1, 0.0, -0.2])
        # 1.25 frames at 10 fps = 0.125 s = 0.05 normalised units (span 2 s / 0.8)
        model.time_offsets.delta[3] = 1.25
    refined = refined_train_cameras(model, cameras)
    moved = cameras.camera_to_worlds[3, :3, 3] + torch.tensor([0.1, 0.0, -0.2])
    torch.testing.assert_close(refined.camera_to_worlds[3, :3, 3], moved)
    torch.testing.assert_close(refined.camera_to_worlds[:3], cameras.camera_to_worlds[:3])
    torch.testing.assert_close(refined.times[:, 0], torch.tensor([0.5, 0.5, 0.5, 0.55]))
