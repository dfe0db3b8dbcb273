"""Test-time optimisation on an analytic scene with known truth: a held-out camera rendered at a
perturbed pose and time must be pulled back, lowering its photometric error."""

import math
from types import SimpleNamespace
from typing import Dict

import pytest
import torch
from torch import nn

from nerfstudio.cameras.camera_optimizers import CameraOptimizerConfig
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.models.base_model import Model, ModelConfig
from humansync_ns.pipeline.humansync_pipeline import common_time_span, refined_camera_to_worlds
from humansync_ns.pipeline.metrics import psnr
from humansync_ns.pipeline.test_time_optimization import (
    TestTimeOptimizationConfig,
    VideoCorrection,
    corrected_cameras,
    optimize_video,
)


class TexturedFloor(Model):
    """Analytic dynamic scene: red is a static texture on the plane z = 0, green a pattern at
    infinity (depends on the ray direction only, so a tilt cannot be traded for a shift), blue a
    time-varying texture on the plane (so time cannot be traded for a camera motion)."""

    def populate_modules(self) -> None:
        super().populate_modules()
        self.gain = nn.Parameter(torch.tensor([0.4, 0.4, 0.4]))  # the "field": must stay frozen

    def get_param_groups(self) -> Dict:
        return {"fields": [self.gain]}

    def get_outputs(self, ray_bundle: RayBundle) -> Dict[str, torch.Tensor]:
        o, d = ray_bundle.origins, ray_bundle.directions
        p = o + (-o[..., 2:3] / d[..., 2:3]) * d  # hit point on z = 0
        x, y = p[..., 0:1], p[..., 1:2]
        t = ray_bundle.times if ray_bundle.times is not None else torch.zeros_like(x)
        waves = torch.cat([torch.sin(3 * x + 1.3 * y) * torch.cos(2.7 * y - x), torch.sin(6 * d[..., 0:1] + 1) * torch.cos(5 * d[..., 1:2]), torch.sin(2 * (x + y) + 6 * t)], -1)
        return {"rgb": 0.5 + self.gain * waves}

    def get_loss_dict(self, outputs, batch, metrics_dict=None):
        return {}

    def get_image_metrics_and_images(self, outputs, batch):
        return {}, {}


def floor_model() -> TexturedFloor:
    """Without time offsets (frame rates), test-time optimisation counts time in normalised units."""
    config = ModelConfig(_target=TexturedFloor, enable_collider=False)
    return TexturedFloor(config, scene_box=SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=1)


def video_cameras(times: torch.Tensor) -> Cameras:
    """Static camera 2 m above the floor looking straight down (OpenGL: −z forward)."""
    n = times.shape[0]
    c2w = torch.eye(4)[:3].clone()
    c2w[2, 3] = 2.0
    return Cameras(
        camera_to_worlds=c2w.expand(n, 3, 4).clone(), fx=30.0, fy=30.0, cx=16.0, cy=16.0, width=32, height=32,
        times=times[:, None],
    )


def render(model: Model, cameras: Cameras) -> torch.Tensor:
    return torch.stack([model.get_outputs_for_camera(cameras[i : i + 1])["rgb"] for i in range(cameras.shape[0])])


TRUE_TIMES = torch.tensor([0.30, 0.40, 0.50, 0.60])
PERTURBATION = VideoCorrection(tangent=torch.tensor([0.04, -0.03, 0.02, 0.02, -0.015, 0.03]), time_delta=0.04)


def test_perturbation_recovered_and_error_lowered() -> None:
    model = floor_model()
    truth = render(model, video_cameras(TRUE_TIMES))
    perturbed = corrected_cameras(video_cameras(TRUE_TIMES), PERTURBATION)
    before = float(psnr(render(model, perturbed), truth))
    config = TestTimeOptimizationConfig(steps=150, rays_per_batch=512, pose_lr=3e-3, time_lr_frames=3e-3)
    gain_before = model.gain.detach().clone()
    correction = optimize_video(model, perturbed, truth, config)
    after = float(psnr(render(model, corrected_cameras(perturbed, correction)), truth))
    assert after > before + 10.0, f"PSNR before {before:.2f} dB, after {after:.2f} dB"
    assert correction.loss_after < 0.1 * correction.loss_before
    # the correction undoes the perturbation: composing them gives identity pose and zero time shift
    combined, applied = correction.matrix(), PERTURBATION.matrix()
    rotation = combined[:, :3] @ applied[:, :3]
    angle_deg = math.degrees(math.acos(max(-1.0, min(1.0, (float(torch.trace(rotation)) - 1) / 2))))
    assert angle_deg < 0.3, f"residual rotation {angle_deg:.3f}° (perturbation {math.degrees(0.0394):.2f}°)"
    assert float((combined[:, 3] + applied[:, 3]).norm()) < 0.01
    assert abs(correction.time_delta + PERTURBATION.time_delta) < 0.005
    # the field stayed frozen and trainable again afterwards
    assert torch.equal(model.gain.detach(), gain_before) and model.gain.requires_grad


def test_zero_steps_keeps_the_initial_correction() -> None:
    model = floor_model()
    cameras = video_cameras(TRUE_TIMES)
    correction = optimize_video(model, cameras, render(model, cameras), TestTimeOptimizationConfig(steps=0),
                                initial=VideoCorrection.identity(0.01))
    assert torch.equal(correction.tangent, torch.zeros(6)) and correction.time_delta == pytest.approx(0.01)


def test_time_only_optimisation_keeps_pose() -> None:
    model = floor_model()
    truth = render(model, video_cameras(TRUE_TIMES))
    shifted = video_cameras(TRUE_TIMES + 0.03)
    config = TestTimeOptimizationConfig(steps=80, rays_per_batch=256, time_lr_frames=3e-3, optimize_pose=False)
    correction = optimize_video(model, shifted, truth, config)
    assert torch.equal(correction.tangent, torch.zeros(6))
    assert correction.time_delta == pytest.approx(-0.03, abs=0.004)


def test_time_learning_rate_is_in_frames_of_the_held_out_video() -> None:
    """Adam's first step has the size of its learning rate: one step moves the time by
    `time_lr_frames` frames of the cameras' video, whatever the frame length in normalised time."""
    model = floor_model()
    model.time_offsets = SimpleNamespace(units_per_parameter=torch.tensor([0.01, 0.002]))  # one frame, per video
    cameras = video_cameras(TRUE_TIMES)
    truth = render(model, cameras)
    shifted = video_cameras(TRUE_TIMES + 0.03)
    shifted.metadata = {"video_index": torch.ones(4, 1, dtype=torch.long)}
    config = TestTimeOptimizationConfig(steps=1, rays_per_batch=256, time_lr_frames=0.5, optimize_pose=False)
    correction = optimize_video(model, shifted, truth, config)
    assert abs(correction.time_delta) == pytest.approx(0.5 * 0.002, rel=1e-4)


def test_refined_poses_match_nerfstudio_apply_to_camera() -> None:
    cameras = video_cameras(TRUE_TIMES)
    model = floor_model()
    model.camera_optimizer = CameraOptimizerConfig(mode="SO3xR3").setup(num_cameras=4, device="cpu")
    with torch.no_grad():
        model.camera_optimizer.pose_adjustment.copy_(torch.randn(4, 6, generator=torch.Generator().manual_seed(0)) * 0.05)
    refined = refined_camera_to_worlds(model, cameras)
    for i in range(4):
        camera = cameras[i : i + 1]
        camera.metadata = {"cam_idx": i}
        expected = model.camera_optimizer.apply_to_camera(camera)
        assert torch.allclose(refined[i], expected[0], atol=1e-6), f"camera {i}"


def test_common_time_span_of_overlapping_videos() -> None:
    times = torch.tensor([0.1, 0.5, 0.9, 0.3, 0.6, 1.0, 0.0, 0.7])
    video = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    assert common_time_span(times, video) == pytest.approx((0.3, 0.7))
