"""Learned time offsets shift the time every sampler and the field see, for training rays only."""

from __future__ import annotations

import pytest
import torch

from humansync_ns.model.time_offsets import TimeOffsets, TimeOffsetsConfig

from model_testkit import make_model, random_rays, two_static_one_moving_metadata

DELTAS = torch.tensor([0.05, -0.1, 0.2])  # per video, normalised units


def record_times(model):
    """Wrap the proposal fields' density_fn and the field's get_density to record the times they get."""
    seen = {"proposal": [], "field": []}
    for net in model.proposal_networks:
        original = net.density_fn

        def density_fn(positions, times=None, _original=original):
            seen["proposal"].append(times.detach().clone())
            return _original(positions, times=times)

        net.density_fn = density_fn
    original_density = model.field.get_density

    def get_density(ray_samples):
        seen["field"].append(ray_samples.times.detach().clone())
        return original_density(ray_samples)

    model.field.get_density = get_density
    return seen


@pytest.mark.parametrize("training", [True, False])
def test_offsets_reach_proposal_samplers_and_field(training):
    meta = two_static_one_moving_metadata()
    model = make_model(meta)
    with torch.no_grad():  # the parameters are in frames: convert the normalised deltas
        model.time_offsets.delta.copy_(DELTAS / model.time_offsets.units_per_parameter)
    model.train(training)
    seen = record_times(model)
    rays = random_rays(32, num_images=10, seed=3)
    original = rays.times.clone()
    video = meta["video_index"][rays.camera_indices[:, 0]]
    model.get_outputs(rays)
    expected = original + DELTAS[video][:, None] if training else original  # eval rays keep their times
    assert len(seen["proposal"]) == model.config.num_proposal_iterations
    for times in seen["proposal"]:
        torch.testing.assert_close(times.reshape(32, -1)[:, :1], expected)
    assert len(seen["field"]) == 1
    field_times = seen["field"][0].reshape(32, -1)
    torch.testing.assert_close(field_times[:, :1], expected)
    assert training == (not torch.allclose(expected, original))


def test_offsets_in_seconds_and_frozen_offsets_still_apply_without_gradient():
    norm = {"t0_s": 3.0, "span_s": 2.5, "grid_t0_s": 2.75, "grid_span_s": 3.0}  # 1 normalised unit = span_s = 2.5 s
    offsets = TimeOffsets(TimeOffsetsConfig(), num_videos=2, time_normalization=norm,
                          time_offset_init_s=torch.tensor([0.0, 1.5]))
    with torch.no_grad():
        offsets.delta.copy_(torch.tensor([0.1, -0.02]))
    torch.testing.assert_close(offsets.deltas_s(), torch.tensor([0.25, -0.05]))
    torch.testing.assert_close(offsets.offsets_s(), torch.tensor([0.25, 1.45]))
    times = torch.tensor([[0.5], [0.5]])
    shifted = offsets.shifted_times(times, torch.tensor([0, 1]))
    torch.testing.assert_close(shifted, torch.tensor([[0.6], [0.48]]))
    assert not shifted.requires_grad  # frozen by default until the schedule unfreezes them
    assert offsets.prior_terms() == {}
    offsets.trainable = True
    assert offsets.shifted_times(times, torch.tensor([0, 1])).requires_grad
    assert offsets.prior_terms()["time_offset_l1"].item() == pytest.approx(0.06)


def test_disabled_offsets_leave_times_and_have_no_group():
    offsets = TimeOffsets(TimeOffsetsConfig(enabled=False), num_videos=2)
    offsets.trainable = True
    with torch.no_grad():
        offsets.delta.fill_(0.3)
    times = torch.tensor([[0.2]])
    assert offsets.shifted_times(times, torch.tensor([1])) is times
    groups = {}
    offsets.get_param_groups(groups)
    assert groups == {}


def test_parameters_are_frames_of_each_videos_rate():
    norm = {"t0_s": 0.0, "span_s": 10.0, "grid_t0_s": -1.0, "grid_span_s": 12.0}  # 1 normalised unit = 10 s
    offsets = TimeOffsets(TimeOffsetsConfig(), num_videos=2, time_normalization=norm, fps=torch.tensor([30.0, 24.0]))
    with torch.no_grad():
        offsets.delta.fill_(1.0)  # one frame each
    torch.testing.assert_close(offsets.deltas_s(), torch.tensor([1 / 30, 1 / 24]))
    torch.testing.assert_close(offsets.normalized_deltas(), torch.tensor([1 / 300, 1 / 240]))


def _adam_run(weight: float, mean_gradient: torch.Tensor, steps: int = 900, lr: float = 1e-2) -> torch.Tensor:
    """Deltas (frames) after Adam steps on a linear photometric stand-in: per-step gradient
    ``mean_gradient + noise`` per video, plus the weighted L1 prior."""
    offsets = TimeOffsets(TimeOffsetsConfig(), num_videos=mean_gradient.numel())
    offsets.trainable = True
    optimizer = torch.optim.Adam([offsets.delta], lr=lr, eps=1e-15)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        gradient = mean_gradient + 3e-6 * torch.randn(mean_gradient.numel(), generator=generator)
        loss = (offsets.delta * gradient).sum() + weight * offsets.prior_terms()["time_offset_l1"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return offsets.delta.detach()


def test_l1_prior_holds_offsets_against_weak_gradients_and_yields_to_a_clear_one():
    """Why humansync-small weights ``time_offset_l1``: Adam moves a parameter about one learning rate
    per step whatever its gradient's size, so a gradient of pure noise, or a small bias from the
    field's own fitting error, walks an offset away; the L1 prior pulls with weight / num_videos
    and holds every offset whose mean gradient is weaker than that, and only those."""
    # per video: noise only; a consistent bias below the pull (1e-4 / 3); a clear gradient above it
    mean_gradient = torch.tensor([0.0, 1e-5, 2e-4])
    free = _adam_run(0.0, mean_gradient)
    held = _adam_run(1e-4, mean_gradient)
    assert abs(free[0]) > 0.03 and free[1] < -1.0, free  # without the prior both weak ones walk off
    assert abs(held[0]) < 0.01 and abs(held[1]) < 0.01, held  # the prior holds them (frames)
    assert held[2] < -1.0 and free[2] < -1.0, (held, free)  # a clear gradient moves its offset either way
