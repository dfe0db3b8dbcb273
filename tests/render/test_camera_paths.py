"""Camera paths against construction truth: keyframes hit exactly, times monotone, constant pose
or constant time where the mode says so."""

import math

import pytest
import torch

from nerfstudio.cameras.cameras import Cameras
from humansync_ns.render.camera_paths import (
    bullet_time_path,
    fixed_camera_path,
    interpolate_path,
    look_at,
    matrix_to_quaternion,
    orbit_path,
    path_to_cameras,
    quaternion_to_matrix,
    scene_focus,
    slerp,
)

UP = torch.tensor([0.0, 0.0, 1.0])


def ring_of_cameras(n: int = 6, radius: float = 2.0, height: float = 0.5, jitter: float = 0.0) -> torch.Tensor:
    """`n` OpenGL cameras on a circle, all looking at the origin (the known focus)."""
    generator = torch.Generator().manual_seed(0)
    angles = torch.arange(n) / n * 2 * math.pi + jitter * torch.rand(n, generator=generator)
    eyes = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles), torch.full((n,), height)], -1)
    return look_at(eyes, torch.zeros(n, 3), UP)


def random_rotations(n: int, seed: int) -> torch.Tensor:
    q = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return quaternion_to_matrix(q)


def test_quaternion_round_trip_including_half_turns() -> None:
    R = torch.cat([random_rotations(50, 1), torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))[None]])
    back = quaternion_to_matrix(matrix_to_quaternion(R))
    assert torch.allclose(back, R, atol=1e-10)


def test_slerp_midpoint_is_half_the_angle() -> None:
    angle = 1.2
    q0 = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    q1 = torch.tensor([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)], dtype=torch.float64)
    mid = slerp(q0, q1, torch.tensor(0.5, dtype=torch.float64))
    expected = torch.tensor([math.cos(angle / 4), 0.0, 0.0, math.sin(angle / 4)], dtype=torch.float64)
    assert torch.allclose(mid, expected, atol=1e-12)
    # the shorter arc: -q1 is the same rotation and must give the same midpoint
    assert torch.allclose(slerp(q0, -q1, torch.tensor(0.5, dtype=torch.float64)), expected, atol=1e-12)


@pytest.mark.parametrize("position", ["linear", "catmull_rom"])
@pytest.mark.parametrize("steps", [1, 5])
def test_interpolation_hits_keyframes_and_times_are_monotone(position: str, steps: int) -> None:
    keys = ring_of_cameras(5, jitter=0.3)
    key_times = torch.tensor([0.1, 0.2, 0.45, 0.5, 0.9])
    path = interpolate_path(keys, key_times, steps, position)  # type: ignore[arg-type]
    assert path.camera_to_worlds.shape == ((5 - 1) * steps + 1, 3, 4)
    rows = torch.arange(5) * steps
    assert torch.equal(path.camera_to_worlds[rows], keys), f"{position}, steps={steps}: keyframe poses changed"
    assert torch.equal(path.times[rows], key_times)
    assert bool((path.times[1:] >= path.times[:-1]).all()), "times must be monotone"
    R = path.camera_to_worlds[:, :3, :3]
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3).expand_as(R), atol=1e-5), "rotations stay orthonormal"


def test_linear_positions_midway_between_keys() -> None:
    keys = ring_of_cameras(3)
    path = interpolate_path(keys, torch.tensor([0.0, 0.5, 1.0]), 2, "linear")
    assert torch.allclose(path.camera_to_worlds[1, :, 3], 0.5 * (keys[0, :, 3] + keys[1, :, 3]), atol=1e-6)
    assert float(path.times[1]) == pytest.approx(0.25)


def test_interpolation_rejects_mismatched_times() -> None:
    with pytest.raises(ValueError, match="3 keyframe poses but 2 keyframe times"):
        interpolate_path(ring_of_cameras(3), torch.tensor([0.0, 1.0]), 4)


def test_scene_focus_recovers_the_look_at_point() -> None:
    target = torch.tensor([0.3, -0.2, 0.1])
    keys = ring_of_cameras(6)
    keys[:, :3, 3] += target
    assert torch.allclose(scene_focus(keys), target, atol=1e-5)


@pytest.mark.parametrize("trajectory", ["orbit", "through_cameras"])
def test_bullet_time_has_constant_time_and_moving_camera(trajectory: str) -> None:
    keys = ring_of_cameras(6)
    path = bullet_time_path(keys, time=0.37, num_frames=24, trajectory=trajectory)  # type: ignore[arg-type]
    assert torch.all(path.times == path.times[0]) and float(path.times[0]) == pytest.approx(0.37)
    centers = path.camera_to_worlds[:, :3, 3]
    assert float((centers[1:] - centers[:-1]).norm(dim=-1).min()) > 1e-3, "the camera must move every frame"
    # every camera still looks at the rig's focus (the origin): the forward axis points at it
    forward = -path.camera_to_worlds[:, :3, 2]
    to_focus = -centers / centers.norm(dim=-1, keepdim=True)
    tolerance = 1e-4 if trajectory == "orbit" else 0.05
    assert float((forward * to_focus).sum(-1).min()) > 1 - tolerance


def test_bullet_time_through_cameras_passes_through_each_camera() -> None:
    keys = ring_of_cameras(4)
    path = bullet_time_path(keys, time=0.5, num_frames=16, trajectory="through_cameras")
    for k in range(4):
        distances = (path.camera_to_worlds - keys[k]).abs().flatten(1).max(dim=1).values
        assert float(distances.min()) < 1e-6, f"camera {k} is not on the path"


def test_orbit_keeps_radius_and_height() -> None:
    path = orbit_path(ring_of_cameras(5, radius=3.0, height=0.8), num_frames=10, time=0.0)
    centers = path.camera_to_worlds[:, :3, 3]
    assert torch.allclose(centers[:, :2].norm(dim=-1), torch.full((10,), 3.0), atol=1e-4)
    assert torch.allclose(centers[:, 2], torch.full((10,), 0.8), atol=1e-4)


def test_fixed_camera_has_constant_pose_and_linear_time() -> None:
    pose = ring_of_cameras(1)[0]
    path = fixed_camera_path(pose, 0.2, 0.8, 7)
    assert torch.equal(path.camera_to_worlds, pose.expand(7, 3, 4))
    assert torch.allclose(path.times, torch.linspace(0.2, 0.8, 7))


def test_path_to_cameras_carries_intrinsics_and_times() -> None:
    template = Cameras(camera_to_worlds=torch.eye(4)[None, :3], fx=100.0, fy=110.0, cx=32.0, cy=24.0, width=64, height=48)
    path = fixed_camera_path(ring_of_cameras(1)[0], 0.0, 1.0, 5)
    cameras = path_to_cameras(path, template[0:1])
    assert cameras.shape == (5,)
    assert cameras.times is not None and torch.allclose(cameras.times[:, 0], torch.linspace(0, 1, 5))
    assert torch.all(cameras.fy == 110.0) and torch.all(cameras.width == 64)
