"""Per-video pose corrections: a static video's frames share one; a moving video's frames don't."""

from __future__ import annotations

import math

import pytest
import torch

from nerfstudio.cameras.cameras import Cameras
from nerfstudio.cameras.lie_groups import exp_map_SO3xR3

from humansync_ns.model.video_pose_optimizer import VideoPoseOptimizer, VideoPoseOptimizerConfig, build_slots

from model_testkit import rays_at

VIDEO = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
FRAME = [0, 1, 2, 0, 1, 2, 3, 1, 2, 0]  # the moving video's images are out of frame order on purpose


def make_optimizer(seed: int = 0) -> VideoPoseOptimizer:
    opt = VideoPoseOptimizerConfig(mode="SO3xR3").setup(
        num_cameras=len(VIDEO), device="cpu", video_index=VIDEO, frame_index=FRAME, moving_videos=[2]
    )
    with torch.no_grad():
        opt.pose_adjustment.copy_(0.05 * torch.randn(opt.num_slots, 6, generator=torch.Generator().manual_seed(seed)))
    return opt


def test_slots_closed_form():
    image_to_slot, video_slots = build_slots(VIDEO, FRAME, moving_videos=[2])
    # static videos 0, 1 -> slots 0, 1; moving video 2 frames 0..3 -> slots 2..5 in frame order
    assert image_to_slot.tolist() == [0, 0, 0, 1, 1, 1, 5, 3, 4, 2]
    assert video_slots == {0: [0], 1: [1], 2: [2, 3, 4, 5]}


def test_static_frames_share_corrected_rays_and_moving_frames_do_not():
    opt = make_optimizer()
    n = len(VIDEO)
    origins = torch.tensor([[2.0, 0.5, 0.3]]).expand(n, 3).clone()
    directions = torch.nn.functional.normalize(torch.tensor([[-1.0, -0.2, 0.1]]), dim=-1).expand(n, 3).clone()
    rays = rays_at(origins, directions, torch.zeros(n), torch.arange(n))
    opt.apply_to_raybundle(rays)
    for a, b in [(0, 1), (0, 2), (3, 5)]:  # frames of static videos: identical corrected rays
        torch.testing.assert_close(rays.origins[a], rays.origins[b])
        torch.testing.assert_close(rays.directions[a], rays.directions[b])
    assert not torch.allclose(rays.origins[0], rays.origins[3])  # different videos
    moving = [6, 7, 8, 9]
    for i in range(len(moving)):
        for j in range(i + 1, len(moving)):
            assert not torch.allclose(rays.directions[moving[i]], rays.directions[moving[j]])
    # closed form for one image: R d and o + t from the slot's SO3xR3 tangent
    expected = exp_map_SO3xR3(opt.pose_adjustment[5:6].detach())[0]  # image 6 = frame 3 = slot 5
    torch.testing.assert_close(rays.origins[6], origins[6] + expected[:3, 3])
    torch.testing.assert_close(rays.directions[6], expected[:3, :3] @ directions[6])


def test_viewer_and_exporter_paths_use_image_indices():
    opt = make_optimizer(seed=1)
    per_image = opt.get_correction_matrices()
    assert per_image.shape == (len(VIDEO), 3, 4)
    torch.testing.assert_close(opt(torch.tensor([1, 4])), per_image[[1, 4]])  # what the viewer calls
    camera = Cameras(
        camera_to_worlds=torch.eye(4)[None, :3, :4], fx=10.0, fy=10.0, cx=5.0, cy=5.0, width=10, height=10,
        metadata={"cam_idx": 8},
    )
    c2w = opt.apply_to_camera(camera)
    torch.testing.assert_close(c2w[0, :3, :3], per_image[8, :3, :3])
    torch.testing.assert_close(c2w[0, :3, 3], per_image[8, :3, 3])


def test_smoothness_prior_closed_form_and_frozen_state():
    opt = make_optimizer()
    assert opt.prior_terms() == {}  # frozen: no prior, nothing in the graph
    opt.trainable = True
    with torch.no_grad():
        opt.pose_adjustment.zero_()
        # moving video slots 2..5 (frames 0..3): linear in frame -> zero second difference
        opt.pose_adjustment[2:6, 3] = torch.tensor([0.0, 0.1, 0.2, 0.3])
    assert opt.prior_terms()["camera_smoothness"].item() == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():
        opt.pose_adjustment[2:6, 0] = torch.tensor([0.0, 0.1, 0.4, 0.9])  # 0.1 k^2: d2 = 0.2
    terms = opt.prior_terms()
    assert terms["camera_smoothness"].item() == pytest.approx(0.04, rel=1e-5)
    # nerfstudio's norm penalties, averaged over slots: rotation norms 0, 0, 0, .1, .2, .3
    assert terms["camera_rotation_l2"].item() == pytest.approx(0.6 / 6, rel=1e-5)
    terms["camera_smoothness"].backward()
    assert opt.pose_adjustment.grad is not None and opt.pose_adjustment.grad[:2].abs().sum() == 0


def test_rotation_of_one_degree_reported_per_video():
    opt = make_optimizer()
    with torch.no_grad():
        opt.pose_adjustment.zero_()
        opt.pose_adjustment[1, 5] = math.radians(1.0)
        opt.pose_adjustment[1, 0] = 0.02
    corrections = opt.per_video_corrections()
    assert corrections[1]["rotation_deg"] == pytest.approx(1.0, rel=1e-5)
    assert corrections[1]["translation"] == pytest.approx(0.02, rel=1e-5)
    assert corrections[0]["rotation_deg"] == 0.0


def random_camera_to_worlds(n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    rotations = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator)).Q
    rotations = rotations * torch.linalg.det(rotations)[:, None, None].sign()  # proper rotations
    return torch.cat([rotations, torch.randn(n, 3, 1, generator=generator)], dim=-1)


def test_nerfstudio_viewer_composition_gives_the_refined_pose():
    """nerfstudio's viewer composes `c2w @ optimizer(idx)` in the camera frame (`Viewer.update_camera_poses`,
    run as is on the state it reads); the training rays move in the world frame. Both must agree."""
    from types import SimpleNamespace

    import numpy as np
    import viser.transforms as vtf
    from nerfstudio.viewer.viewer import VISER_NERFSTUDIO_SCALE_RATIO, Viewer


    c2w = random_camera_to_worlds(len(VIDEO), seed=2)
    opt = VideoPoseOptimizerConfig(mode="SO3xR3").setup(
        num_cameras=len(VIDEO), device="cpu", video_index=VIDEO, frame_index=FRAME, moving_videos=[2],
        camera_rotations=c2w[:, :3, :3],
    )
    with torch.no_grad():
        opt.pose_adjustment.copy_(0.1 * torch.randn(opt.num_slots, 6, generator=torch.Generator().manual_seed(3)))
    correction = opt.get_correction_matrices()  # world frame: [R_c R | t + t_c]
    refined = torch.cat([correction[:, :, :3] @ c2w[:, :, :3], c2w[:, :, 3:] + correction[:, :, 3:]], dim=-1).numpy()
    viewer = SimpleNamespace(
        pipeline=SimpleNamespace(datamanager=SimpleNamespace(), model=SimpleNamespace(camera_optimizer=opt)),
        camera_handles={i: SimpleNamespace(position=None, wxyz=None) for i in range(len(VIDEO))},
        original_c2w={i: c2w[i].numpy() for i in range(len(VIDEO))},
    )
    Viewer.update_camera_poses(viewer)
    for i, handle in viewer.camera_handles.items():
        rotation = vtf.SO3(wxyz=handle.wxyz) @ vtf.SO3.from_x_radians(-np.pi)
        np.testing.assert_allclose(handle.position / VISER_NERFSTUDIO_SCALE_RATIO, refined[i, :3, 3], atol=1e-5)
        np.testing.assert_allclose(rotation.as_matrix(), refined[i, :3, :3], atol=1e-5)
    # and training rays of an image leave from, and point along, its refined camera
    rays = rays_at(c2w[:, :3, 3].clone(), c2w[:, :3, 2].clone(), torch.zeros(len(VIDEO)), torch.arange(len(VIDEO)))
    opt.apply_to_raybundle(rays)
    np.testing.assert_allclose(rays.origins.numpy(), refined[:, :3, 3], atol=1e-5)
    np.testing.assert_allclose(rays.directions.numpy(), refined[:, :3, 2], atol=1e-5)
