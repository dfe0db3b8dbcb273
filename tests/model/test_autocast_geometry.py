"""The calibration's geometry stays fp32 under mixed precision.

nerfstudio's Trainer runs the training forward pass inside `torch.autocast` when mixed precision is
on (the `humansync` preset's default on CUDA). Autocast lowers `bmm`/`matmul` to fp16 on CUDA, which
rounds pose-corrected ray directions to about 5e-4 rad, more than the calibration errors being
refined. CPU autocast lowers the same ops (to bf16, coarser still), so the check runs on CPU. The
time offsets are elementwise (no op autocast lowers) and are checked alongside.
"""

from __future__ import annotations

import torch

from humansync_ns.model.time_offsets import TimeOffsets, TimeOffsetsConfig
from humansync_ns.model.video_pose_optimizer import VideoPoseOptimizerConfig

from model_testkit import random_rays

VIDEO = [0, 0, 1, 1, 2, 2, 2]
FRAME = [0, 1, 0, 1, 0, 1, 2]


def _corrected(autocast: bool, seed: int = 0):
    """Training rays after the pose correction and time offset, and the corrections' gradients of a
    fixed linear function of the rays."""
    g = torch.Generator().manual_seed(seed)
    pose = VideoPoseOptimizerConfig(mode="SO3xR3").setup(
        num_cameras=len(VIDEO), device="cpu", video_index=VIDEO, frame_index=FRAME, moving_videos=[2]
    )
    offsets = TimeOffsets(TimeOffsetsConfig(), num_videos=3, time_normalization={"t0_s": 0.0, "span_s": 60.0, "grid_t0_s": -7.5, "grid_span_s": 75.0},
                          fps=torch.tensor([30.0, 30.0, 25.0]))
    with torch.no_grad():
        pose.pose_adjustment.copy_(0.2 * torch.randn(pose.num_slots, 6, generator=g))  # turns up to ~0.5 rad
        offsets.delta.copy_(torch.randn(3, generator=g))  # about a frame each
    pose.trainable = offsets.trainable = True
    rays = random_rays(512, len(VIDEO), seed=seed)
    video_index = torch.tensor(VIDEO)[rays.camera_indices[:, 0]]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        pose.apply_to_raybundle(rays)
        offsets.apply(rays, video_index)
    weights = torch.randn(3, 3, generator=g)
    loss = (rays.origins * weights[0]).sum() + (rays.directions * weights[1]).sum() + (rays.times * weights[2, 0]).sum()
    grads = torch.autograd.grad(loss, [pose.pose_adjustment, offsets.delta])
    return rays, grads


def test_corrected_rays_and_gradients_under_autocast_match_fp32():
    reference, reference_grads = _corrected(autocast=False)
    rays, grads = _corrected(autocast=True)
    for name in ("origins", "directions", "times"):
        value, expected = getattr(rays, name), getattr(reference, name)
        assert value.dtype == torch.float32, name
        error = float((value - expected).abs().max())
        assert error <= 1e-6, f"{name} differ from fp32 by {error:.2e}"
    for grad, expected in zip(grads, reference_grads):
        assert grad.dtype == torch.float32
        torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)
