"""Learnable per-video time offsets (paper Sec. 3.3, refined jointly with the radiance field).

``Cameras.times`` already hold every frame's normalised global time computed with the calibration's
initial offsets (docs/architecture.md), so this component learns *deltas*, one scalar per video,
initialised to 0. A delta of ``d`` normalised units is ``d * span_s`` seconds, because
``t_norm = (t_global - t0_s) / span_s`` (docs/conventions.md; the field maps normalised time to its
own time axis, so a delta moves a video along the grid by ``grid_scale * d``).

The parameters are stored in **frames of each video's own rate** when the frame rates are known
(normalised units otherwise), so one learning rate means the same thing for every capture: in
normalised units a step of 1e-3 is a fraction of a frame on a 2-second clip but several frames on a
minute-long one, and Adam's steps (about one learning rate each) then random-walk the offsets away
from an accurate initialisation.

The delta must be added to ``ray_bundle.times`` before the model binds the times into the proposal
networks' density functions, or the proposal samplers never see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Type

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from nerfstudio.cameras.rays import RayBundle
from nerfstudio.configs.base_config import InstantiateConfig

from humansync_ns.dataparser.normalization import TimeNormalization

PARAM_GROUP = "time_offsets"
"""Optimizer param-group name of the offsets (a key of ``TrainerConfig.optimizers``)."""


@dataclass
class TimeOffsetsConfig(InstantiateConfig):
    """Configuration of the learnable per-video time offsets."""

    _target: Type = field(default_factory=lambda: TimeOffsets)
    enabled: bool = True
    """Learn one time offset per video (False keeps the calibration's offsets fixed)."""


class TimeOffsets(nn.Module):
    """One learnable time delta per video, added to the rays' normalised times.

    Args:
        config: the component's configuration.
        num_videos: number of videos of the capture.
        time_normalization: the dataparser metadata's ``time_normalization`` (``TimeNormalization``).
        time_offset_init_s: the calibration's offsets in seconds (num_videos,), for logging.
        fps: each video's frame rate (num_videos,); the parameters are then in frames.
    """

    def __init__(
        self,
        config: TimeOffsetsConfig,
        num_videos: int,
        time_normalization: Optional[Mapping[str, float]] = None,
        time_offset_init_s: Optional[Tensor] = None,
        fps: Optional[Tensor] = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.num_videos = num_videos
        self.delta = nn.Parameter(torch.zeros(num_videos))
        # seconds per normalised time unit: d t_global / d t_norm
        self.seconds_per_unit = 1.0 if time_normalization is None else TimeNormalization.from_dict(time_normalization).span_s
        init = torch.zeros(num_videos) if time_offset_init_s is None else torch.as_tensor(time_offset_init_s)
        if init.shape != (num_videos,):
            raise ValueError(f"time_offset_init_s must have shape ({num_videos},), got {tuple(init.shape)}")
        self.register_buffer("time_offset_init_s", init.float().clone(), persistent=False)
        # normalised time units per parameter unit: one frame of the video, or 1 without frame rates
        unit = torch.ones(num_videos) if fps is None else 1.0 / (torch.as_tensor(fps).float() * self.seconds_per_unit)
        if unit.shape != (num_videos,):
            raise ValueError(f"fps must have shape ({num_videos},), got {tuple(unit.shape)}")
        self.register_buffer("units_per_parameter", unit, persistent=False)
        self.trainable = False
        """Set by the training schedule; when False the deltas are used but kept out of the graph."""

    def _delta(self) -> Float[Tensor, "num_videos"]:
        # Frozen offsets still shift the rays (a loaded checkpoint keeps its learned values) but are
        # detached, so they receive no gradient and their optimizer is skipped.
        if self.config.enabled and self.trainable:
            return self.delta * self.units_per_parameter
        return self.delta.detach() * self.units_per_parameter

    @torch.no_grad()
    def normalized_deltas(self) -> Float[Tensor, "num_videos"]:
        """The learned deltas in normalised time units."""
        return self.delta.detach() * self.units_per_parameter

    def shifted_times(
        self, times: Float[Tensor, "*bs 1"], video_index: Int[Tensor, "*bs"]
    ) -> Float[Tensor, "*bs 1"]:
        """``times + delta[video]`` (a new tensor; nothing is changed in place)."""
        if not self.config.enabled:
            return times
        return times + self._delta()[video_index.long()][..., None].to(times)

    def apply(self, ray_bundle: RayBundle, video_index: Int[Tensor, "*bs"]) -> None:
        """Shift ``ray_bundle.times`` by each ray's video delta (rebinding the attribute)."""
        if ray_bundle.times is None:
            raise ValueError("time offsets need rays with times: is the dataparser setting Cameras.times?")
        ray_bundle.times = self.shifted_times(ray_bundle.times, video_index)

    def prior_terms(self) -> Dict[str, Float[Tensor, ""]]:
        """Unweighted L1 of the deltas (``time_offset_l1``, pulling toward the calibration's offsets).

        Empty while frozen or disabled, so the deltas stay out of the graph."""
        if not (self.config.enabled and self.trainable):
            return {}
        return {"time_offset_l1": self.delta.abs().mean()}

    @torch.no_grad()
    def deltas_s(self) -> Float[Tensor, "num_videos"]:
        """The learned deltas in seconds."""
        return self.normalized_deltas() * self.seconds_per_unit

    @torch.no_grad()
    def offsets_s(self) -> Float[Tensor, "num_videos"]:
        """Current time offsets in seconds: the calibration's offset plus the learned delta."""
        return self.time_offset_init_s.to(self.delta) + self.deltas_s()

    def get_param_groups(self, param_groups: Dict[str, List[nn.Parameter]]) -> None:
        """Add the ``time_offsets`` group (absent when disabled)."""
        if self.config.enabled:
            param_groups[PARAM_GROUP] = [self.delta]
