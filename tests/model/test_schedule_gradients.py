"""Progressive training: frozen groups get no gradient before their unfreeze step, and do after."""

from __future__ import annotations

import pytest
import torch

from nerfstudio.engine.callbacks import TrainingCallbackAttributes, TrainingCallbackLocation

from humansync_ns.model.schedule import active_groups

from model_testkit import make_model, random_rays, tiny_config, two_static_one_moving_metadata

S0, S1 = 7, 5  # poses from step 7, offsets from step 12


def grads_after_step(model, step):
    """Run the model's BEFORE_TRAIN_ITERATION callbacks at ``step``, backprop one loss, report grads."""
    attrs = TrainingCallbackAttributes(optimizers=None, grad_scaler=None, pipeline=None, trainer=None)
    for callback in model.get_training_callbacks(attrs):
        callback.run_callback_at_location(step, TrainingCallbackLocation.BEFORE_TRAIN_ITERATION)
    model.train()
    model.zero_grad(set_to_none=True)
    rays = random_rays(48, num_images=10, seed=step)
    outputs = model(rays)
    batch = {"image": torch.rand(48, 3, generator=torch.Generator().manual_seed(1))}
    loss_dict = model.get_loss_dict(outputs, batch, model.get_metrics_dict(outputs, batch))
    sum(loss_dict.values()).backward()
    return {
        name: any(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in params)
        for name, params in model.get_param_groups().items()
    }, {name: all(p.grad is None for p in params) for name, params in model.get_param_groups().items()}


@pytest.mark.parametrize(
    "step, poses, offsets",
    [(0, False, False), (S0 - 1, False, False), (S0, True, False), (S0 + S1 - 1, True, False), (S0 + S1, True, True)],
)
def test_groups_receive_gradients_only_after_unfreeze(step, poses, offsets):
    model = make_model(two_static_one_moving_metadata(), tiny_config(pose_start_step=S0, time_offset_delay=S1))
    with torch.no_grad():  # time planes start at 1 (a static scene, d/dt = 0): give the scene motion
        for plane in model.field.temporal_planes():
            plane.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(2))
    has_grad, all_none = grads_after_step(model, step)
    assert has_grad["fields"] and has_grad["proposal_networks"]
    assert has_grad["camera_opt"] == poses and all_none["camera_opt"] == (not poses), f"step {step}"
    assert has_grad["time_offsets"] == offsets and all_none["time_offsets"] == (not offsets), f"step {step}"


def test_active_groups_pure_function():
    assert active_groups(0, 2000, 18000) == {"fields", "proposal_networks"}
    assert active_groups(2000, 2000, 18000) == {"fields", "proposal_networks", "camera_opt"}
    assert active_groups(19999, 2000, 18000) == {"fields", "proposal_networks", "camera_opt"}
    assert active_groups(20000, 2000, 18000) == {"fields", "proposal_networks", "camera_opt", "time_offsets"}


def test_update_to_step_restores_schedule():
    model = make_model(two_static_one_moving_metadata(), tiny_config(pose_start_step=S0, time_offset_delay=S1))
    model.update_to_step(S0 + S1 + 3)
    assert model.camera_optimizer.trainable and model.time_offsets.trainable
    model.update_to_step(0)
    assert not model.camera_optimizer.trainable and not model.time_offsets.trainable


def test_only_the_photometric_loss_moves_the_calibration():
    """The proposal sampler runs on the corrected rays, but the interlevel loss (proposal weights
    against the field's) must not reach the poses or the offsets; the colour loss must."""
    model = make_model(two_static_one_moving_metadata(), tiny_config(pose_start_step=0, time_offset_delay=0))
    with torch.no_grad():
        for net in [model.field, *model.proposal_networks]:
            for plane in net.temporal_planes():
                plane.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(2))
    attrs = TrainingCallbackAttributes(optimizers=None, grad_scaler=None, pipeline=None, trainer=None)
    for callback in model.get_training_callbacks(attrs):
        callback.run_callback_at_location(0, TrainingCallbackLocation.BEFORE_TRAIN_ITERATION)
    model.train()
    calibration = [model.camera_optimizer.pose_adjustment, model.time_offsets.delta]
    batch = {"image": torch.rand(48, 3, generator=torch.Generator().manual_seed(1))}
    for key, reaches in (("interlevel", False), ("rgb", True)):
        model.zero_grad(set_to_none=True)
        outputs = model(random_rays(48, num_images=10, seed=3))
        model.get_loss_dict(outputs, batch)[key].backward()
        moved = [p.grad is not None and bool(p.grad.abs().sum() > 0) for p in calibration]
        assert moved == [reaches, reaches], (key, moved)
