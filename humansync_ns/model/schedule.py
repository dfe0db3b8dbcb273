"""Progressive training (paper Sec. 3.3): which parameter groups learn at a step.

The paper trains the radiance field alone for ``s0`` steps, adds the camera poses at ``s0`` and the
time offsets at ``s0 + s1``; the coarse-to-fine level weights (Eq. 14) ramp up until
``coarse_to_fine_end_step``. ``schedule_state`` is the pure step -> state function; the model applies
it from a ``BEFORE_TRAIN_ITERATION`` callback (``schedule_callback``), the way nerfacto anneals its
proposal weights, so nothing in nerfstudio's trainer changes.

Frozen groups are kept out of the autograd graph (their parameters are used detached), so their
gradients stay ``None`` and nerfstudio skips their optimizers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, FrozenSet

from jaxtyping import Float
from torch import Tensor

from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackLocation

from humansync_ns.model.level_weights import coarse_to_fine_weights, normalised_step

ALWAYS_ACTIVE = frozenset({"fields", "proposal_networks"})
"""Param groups trained from step 0."""


@dataclass(frozen=True)
class ScheduleState:
    """What the progressive schedule allows at one step."""

    active_groups: FrozenSet[str]
    """Param groups that receive gradients at this step."""
    level_weights: Float[Tensor, "num_levels"]
    """Eq. 14 weights of the field's resolution levels, coarse to fine."""

    @property
    def poses_trainable(self) -> bool:
        return "camera_opt" in self.active_groups

    @property
    def time_offsets_trainable(self) -> bool:
        return "time_offsets" in self.active_groups


def active_groups(step: int, pose_start_step: int, time_offset_delay: int) -> FrozenSet[str]:
    """Groups active at ``step``: the field always, poses from ``s0``, offsets from ``s0 + s1``."""
    groups = set(ALWAYS_ACTIVE)
    if step >= pose_start_step:
        groups.add("camera_opt")
    if step >= pose_start_step + time_offset_delay:
        groups.add("time_offsets")
    return frozenset(groups)


def schedule_state(
    step: int,
    pose_start_step: int,
    time_offset_delay: int,
    coarse_to_fine_end_step: int,
    num_levels: int,
    keep_coarsest_level: bool = True,
) -> ScheduleState:
    """The full schedule at ``step`` (pure: same inputs, same state, on every rank)."""
    eta = normalised_step(step, coarse_to_fine_end_step)
    return ScheduleState(
        active_groups=active_groups(step, pose_start_step, time_offset_delay),
        level_weights=coarse_to_fine_weights(eta, num_levels, keep_coarsest_level=keep_coarsest_level),
    )


def schedule_callback(apply_step: Callable[[int], None]) -> TrainingCallback:
    """A callback running ``apply_step(step)`` before every training iteration."""

    def before_iteration(step: int) -> None:
        apply_step(step)

    return TrainingCallback(
        where_to_run=[TrainingCallbackLocation.BEFORE_TRAIN_ITERATION],
        update_every_num_iters=1,
        func=before_iteration,
    )
