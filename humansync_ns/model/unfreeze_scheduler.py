"""Learning rate of a parameter group that the progressive schedule unfreezes late (poses, offsets).

Adam's first updates of a parameter are about ``lr`` in size whatever its gradient (with few
samples, ``m̂ / sqrt(v̂)`` is close to ±1), so a group switched on at full rate jumps in the direction of
its first, noisy gradients. For the calibration that kick is large: measured on sparse rigs, every
correctly calibrated camera turned by 0.2-1.6° within 80 steps of the poses unfreezing. Here the rate is 0 until the group unfreezes, ramps up linearly over
``warmup_steps`` while Adam's moment estimates settle, then decays exponentially to ``lr_final`` at
``max_steps`` (nerfstudio's ``ExponentialDecayScheduler`` can only ramp from step 0, i.e. while the
group is still frozen).

The start steps belong to the model's progressive schedule, so the model sets them when training
starts (``align_to_unfreeze_steps``): ``ns-train humansync --pipeline.model.pose-start-step N`` then
moves the poses' rate with it.

One freeze, not two: what keeps a group still before its start is the model's schedule
(``HumanSyncModel.apply_schedule`` sets ``trainable``, and a group that is not trainable is used
detached), so no gradient reaches it and Adam skips it: its moments start at the unfreeze instead
of carrying the frozen phase's gradients. The rate of 0 before the start is not a second freeze
(with no gradient there is nothing to scale); it is the foot of the ramp, and both read the same
start steps (``align_to_unfreeze_steps``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Type

from torch.optim import Optimizer, lr_scheduler

from nerfstudio.engine.schedulers import Scheduler, SchedulerConfig


def unfreeze_warmup_factor(step: int, start_step: int, warmup_steps: int, max_steps: int, decay_ratio: float) -> float:
    """Multiplier of the initial rate at ``step``: 0 before ``start_step``, a linear ramp to 1 over
    ``warmup_steps``, then ``decay_ratio ** t`` with ``t`` going 0 → 1 from the end of the ramp to
    ``max_steps`` (``decay_ratio = lr_final / lr``)."""
    if step < start_step:
        return 0.0
    ramp_end = start_step + warmup_steps
    if step < ramp_end:
        return (step - start_step + 1) / (warmup_steps + 1)
    t = min(max((step - ramp_end) / max(max_steps - ramp_end, 1), 0.0), 1.0)
    return math.exp(t * math.log(decay_ratio))


@dataclass
class UnfreezeWarmupSchedulerConfig(SchedulerConfig):
    """Zero, then a linear warm-up from the unfreeze step, then exponential decay."""

    _target: Type = field(default_factory=lambda: UnfreezeWarmupScheduler)
    start_step: int = 0
    """Step at which the group unfreezes (the model's ``pose_start_step``, or that plus
    ``time_offset_delay`` for the offsets)."""
    warmup_steps: int = 0
    """Steps of the linear ramp after ``start_step`` (0: full rate at once)."""
    lr_final: Optional[float] = None
    """Rate at ``max_steps``; default: no decay."""
    max_steps: int = 100_000
    """Step at which the decay reaches ``lr_final``."""


class UnfreezeWarmupScheduler(Scheduler):
    """``LambdaLR`` over ``unfreeze_warmup_factor``."""

    config: UnfreezeWarmupSchedulerConfig

    def get_scheduler(self, optimizer: Optimizer, lr_init: float) -> lr_scheduler.LRScheduler:
        c = self.config
        decay_ratio = (c.lr_final if c.lr_final is not None else lr_init) / lr_init
        return lr_scheduler.LambdaLR(
            optimizer, lr_lambda=lambda step: unfreeze_warmup_factor(step, c.start_step, c.warmup_steps, c.max_steps, decay_ratio)
        )


def align_to_unfreeze_steps(optimizers: Any, start_steps: Dict[str, int]) -> None:
    """Start each named group's ``UnfreezeWarmupScheduler`` at its unfreeze step.

    Args:
        optimizers: nerfstudio's ``Optimizers`` (``config``, ``optimizers`` and ``schedulers`` per
            param group), already built.
        start_steps: param group -> step at which the model's schedule unfreezes it; groups without
            such a scheduler are left alone.
    """
    for group, start in start_steps.items():
        config = optimizers.config.get(group, {}).get("scheduler")
        scheduler = optimizers.schedulers.get(group)
        if not isinstance(config, UnfreezeWarmupSchedulerConfig) or scheduler is None:
            continue
        config.start_step = int(start)  # the scheduler's lr_lambda reads its config at every step
        for param_group, base_lr, lr_lambda in zip(
            optimizers.optimizers[group].param_groups, scheduler.base_lrs, scheduler.lr_lambdas
        ):
            param_group["lr"] = base_lr * lr_lambda(scheduler.last_epoch)  # the current step's rate, too
