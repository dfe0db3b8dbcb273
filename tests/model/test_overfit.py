"""The model learns a small moving scene from procedural rays, well above a constant colour."""

from __future__ import annotations

import pytest
import torch

from nerfstudio.engine.callbacks import TrainingCallbackAttributes, TrainingCallbackLocation

from model_testkit import capture_metadata, make_model, ring_camera_rays, tiny_config

NO_TRAINER = TrainingCallbackAttributes(optimizers=None, grad_scaler=None, pipeline=None, trainer=None)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    return (-10 * torch.log10(((pred - target) ** 2).mean())).item()


def train(model, optimizers, steps: int, make_rays) -> None:
    """The trainer's loop in miniature: callbacks, forward, losses, backward, non-empty optimizers."""
    callbacks = model.get_training_callbacks(NO_TRAINER)
    for step in range(steps):
        model.train()
        for callback in callbacks:
            callback.run_callback_at_location(step, TrainingCallbackLocation.BEFORE_TRAIN_ITERATION)
        rays, rgb = make_rays()
        outputs = model(rays)
        batch = {"image": rgb}
        loss = sum(model.get_loss_dict(outputs, batch, model.get_metrics_dict(outputs, batch)).values())
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:  # nerfstudio skips optimizers whose parameters have no grad
            if any(p.grad is not None for group in optimizer.param_groups for p in group["params"]):
                optimizer.step()
        for callback in callbacks:
            callback.run_callback_at_location(step, TrainingCallbackLocation.AFTER_TRAIN_ITERATION)


@pytest.mark.slow
def test_overfits_moving_sphere_well_above_constant_colour():
    video = [i // 5 for i in range(20)]
    frame = [i % 5 for i in range(20)]
    model = make_model(capture_metadata(video, frame, num_videos=4), tiny_config(pose_start_step=10**9), seed=0)
    groups = model.get_param_groups()
    optimizer = torch.optim.Adam(groups["fields"] + groups["proposal_networks"], lr=2e-2, eps=1e-15)
    eval_rays, eval_rgb = ring_camera_rays(1024, torch.Generator().manual_seed(123))
    baseline = psnr(eval_rgb.mean(0, keepdim=True).expand_as(eval_rgb), eval_rgb)  # best constant colour
    gen = torch.Generator().manual_seed(0)
    train(model, [optimizer], 200, lambda: ring_camera_rays(256, gen))
    model.eval()
    with torch.no_grad():
        score = psnr(model(eval_rays)["rgb"], eval_rgb)
    assert score > baseline + 6.0, f"PSNR {score:.2f} dB vs constant-colour {baseline:.2f} dB"
