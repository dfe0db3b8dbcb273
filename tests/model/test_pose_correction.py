"""The pose-correction convention (model/pose_correction.py) against closed forms: a world-frame
correction moves a camera's rays as it moves its pose, and the camera-frame delta composes to it."""

import math

import torch

from nerfstudio.cameras.cameras import Cameras

from humansync_ns.model.pose_correction import (
    camera_frame_delta,
    correct_camera_to_worlds,
    correct_rays,
    correction_from_tangent,
)


def to_4x4(pose: torch.Tensor) -> torch.Tensor:
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(*pose.shape[:-2], 1, 4)
    return torch.cat([pose, bottom], dim=-2)


def test_quarter_turn_about_world_z_keeps_the_centre_and_turns_the_axes():
    pose = torch.tensor([[1.0, 0.0, 0.0, 2.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    correction = correction_from_tangent(torch.tensor([0.5, 0.0, 0.0, 0.0, 0.0, math.pi / 2]))
    moved = correct_camera_to_worlds(pose, correction)
    # left multiplication: the camera's x axis (world x) turns to world y; the centre only translates
    torch.testing.assert_close(moved[:, 0], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(moved[:, 3], torch.tensor([2.5, 0.0, 1.0]))


def test_rays_of_the_corrected_camera_are_the_corrected_rays():
    generator = torch.Generator().manual_seed(0)
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=generator)).Q
    rotation = rotation * torch.linalg.det(rotation).sign()
    pose = torch.cat([rotation, torch.randn(3, 1, generator=generator)], dim=-1)
    correction = correction_from_tangent(0.2 * torch.randn(6, generator=generator))
    camera = lambda c2w: Cameras(camera_to_worlds=c2w[None], fx=20.0, fy=20.0, cx=8.0, cy=6.0, width=16, height=12)  # noqa: E731
    rays = camera(pose).generate_rays(camera_indices=0, keep_shape=True)
    expected = camera(correct_camera_to_worlds(pose, correction)).generate_rays(camera_indices=0, keep_shape=True)
    origins, directions = correct_rays(rays.origins, rays.directions, correction)
    torch.testing.assert_close(origins, expected.origins, atol=1e-5, rtol=0)
    torch.testing.assert_close(directions, expected.directions, atol=1e-5, rtol=0)
    # nerfstudio's viewer composition c2w @ delta lands on the same pose, whatever the translation
    delta = camera_frame_delta(rotation, correction)
    torch.testing.assert_close(to_4x4(pose) @ to_4x4(delta), to_4x4(correct_camera_to_worlds(pose, correction)), atol=1e-5, rtol=0)
