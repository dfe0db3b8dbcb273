"""A wrong time offset and a wrong camera yaw move toward the truth during training.

Model-level version of the issue's end-to-end check (the ns-train one needs the synthetic capture):
the procedural moving sphere is seen by 4 cameras; the rays of video 2 carry times 0.05 normalised
units late (half a frame interval) and those of video 1 come from a camera yawed by 3 degrees."""

from __future__ import annotations

import math

import pytest
import torch

from model_testkit import capture_metadata, make_model, ring_camera_rays, tiny_config
from test_overfit import train

NUM_VIDEOS, NUM_FRAMES = 4, 9
TIME_ERROR = torch.tensor([0.0, 0.0, 0.05, 0.0])
YAW_ERROR = torch.tensor([0.0, math.radians(3.0), 0.0, 0.0])


def centred_time_error(delta: torch.Tensor) -> float:
    """Mean |offset error| after removing the common offset (docs/conventions.md)."""
    error = delta + TIME_ERROR
    return float((error - error.mean()).abs().mean())


@pytest.mark.slow
def test_time_offset_and_pose_move_toward_truth():
    images = range(NUM_VIDEOS * NUM_FRAMES)
    metadata = capture_metadata([i // NUM_FRAMES for i in images], [i % NUM_FRAMES for i in images], NUM_VIDEOS)
    config = tiny_config(pose_start_step=100, time_offset_delay=0, time_resolution=12, grid_base_resolution=(16, 16, 16))
    model = make_model(metadata, config, seed=0)
    groups = model.get_param_groups()
    optimizers = [
        torch.optim.Adam(groups["fields"] + groups["proposal_networks"], lr=2e-2, eps=1e-15),
        # offsets are parameterised in frames: 1e-3 normalised units per step, expressed in frames
        torch.optim.Adam(groups["time_offsets"], lr=1e-3 / float(model.time_offsets.units_per_parameter[0])),
        torch.optim.Adam(groups["camera_opt"], lr=1e-3),
    ]
    gen = torch.Generator().manual_seed(0)
    before = centred_time_error(model.time_offsets.normalized_deltas())
    train(model, optimizers, 400, lambda: ring_camera_rays(256, gen, NUM_VIDEOS, NUM_FRAMES, TIME_ERROR, YAW_ERROR))
    delta = model.time_offsets.normalized_deltas()
    after = centred_time_error(delta)
    assert delta[2] < -0.01, f"video 2's offset must move earlier, got deltas {delta.tolist()}"
    assert after < 0.7 * before, f"time error {before:.4f} -> {after:.4f} (normalised units)"
    # the correction rotates directions about +z by the opposite of the error (SO3xR3 tangent [3:])
    yaw = float(model.camera_optimizer.pose_adjustment[model.camera_optimizer.video_slots[1][0], 5])
    yaw_error_after = abs(math.degrees(yaw + YAW_ERROR[1].item()))
    assert yaw_error_after < 0.75 * 3.0, f"yaw error 3.00 deg -> {yaw_error_after:.2f} deg"
