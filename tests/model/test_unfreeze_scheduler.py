"""Calibration learning rates: zero while frozen, a linear ramp from the unfreeze step, then decay;
and the model's schedule, not the preset, decides where they start."""

import pytest
import torch
from torch.nn import Parameter

from nerfstudio.engine.optimizers import AdamOptimizerConfig, Optimizers

from humansync_ns.model.unfreeze_scheduler import (
    UnfreezeWarmupSchedulerConfig,
    align_to_unfreeze_steps,
    unfreeze_warmup_factor,
)


def test_factor_is_zero_then_ramps_then_decays_to_the_final_ratio() -> None:
    f = lambda step: unfreeze_warmup_factor(step, start_step=100, warmup_steps=9, max_steps=1109, decay_ratio=0.01)  # noqa: E731
    assert f(0) == f(99) == 0.0
    assert f(100) == pytest.approx(0.1) and f(104) == pytest.approx(0.5)  # (step - start + 1) / (warmup + 1)
    assert f(109) == pytest.approx(1.0)  # end of the ramp: full rate
    assert f(609) == pytest.approx(0.1)  # halfway through the decay: sqrt(0.01)
    assert f(1109) == pytest.approx(0.01) and f(5000) == pytest.approx(0.01)
    assert unfreeze_warmup_factor(0, 0, 0, 10, 0.5) == 1.0  # no warm-up: full rate at once


def _optimizers(start_step: int) -> Optimizers:
    config = {
        "camera_opt": {
            "optimizer": AdamOptimizerConfig(lr=1e-3, eps=1e-15),
            "scheduler": UnfreezeWarmupSchedulerConfig(start_step=start_step, warmup_steps=4, lr_final=1e-5, max_steps=105),
        }
    }
    return Optimizers(config, {"camera_opt": [Parameter(torch.zeros(6))]})


def _lr(optimizers: Optimizers) -> float:
    return optimizers.optimizers["camera_opt"].param_groups[0]["lr"]


def test_model_schedule_moves_the_start_and_rates_follow_it_step_by_step() -> None:
    optimizers = _optimizers(start_step=50)  # the preset's start
    assert _lr(optimizers) == 0.0
    align_to_unfreeze_steps(optimizers, {"camera_opt": 0, "time_offsets": 7})  # no time_offsets group: ignored
    assert _lr(optimizers) == pytest.approx(1e-3 / 5)  # step 0 already ramps
    rates = [_lr(optimizers)]
    for step in range(105):
        optimizers.scheduler_step_all(step)
        rates.append(_lr(optimizers))
    assert rates[4] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[4:], rates[5:]))
    assert rates[105] == pytest.approx(1e-5)
    assert optimizers.config["camera_opt"]["scheduler"].start_step == 0


def test_frozen_group_keeps_rate_zero_until_its_start() -> None:
    optimizers = _optimizers(start_step=0)
    align_to_unfreeze_steps(optimizers, {"camera_opt": 20})
    rates = [_lr(optimizers)]
    for step in range(25):
        optimizers.scheduler_step_all(step)
        rates.append(_lr(optimizers))
    assert max(rates[:20]) == 0.0 and rates[20] == pytest.approx(1e-3 / 5) and rates[24] == pytest.approx(1e-3)


def test_model_aligns_the_preset_schedulers_to_its_own_unfreeze_steps() -> None:
    import copy

    from nerfstudio.engine.callbacks import TrainingCallbackAttributes

    from humansync_ns.method_configs import humansync_small_method
    from model_testkit import capture_metadata, make_model, tiny_config

    model = make_model(capture_metadata([0, 0, 1, 1], [0, 1, 0, 1], num_videos=2), tiny_config(pose_start_step=30, time_offset_delay=12))
    optimizers = Optimizers(copy.deepcopy(humansync_small_method.config.optimizers), model.get_param_groups())
    model.get_training_callbacks(TrainingCallbackAttributes(optimizers=optimizers, grad_scaler=None, pipeline=None, trainer=None))
    assert optimizers.config["camera_opt"]["scheduler"].start_step == 30
    assert optimizers.config["time_offsets"]["scheduler"].start_step == 42
    assert _lr(optimizers) == 0.0
