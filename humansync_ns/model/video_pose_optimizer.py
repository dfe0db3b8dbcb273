"""Pose refinement per video, not per frame (paper Sec. 3.3; moving cameras added here).

nerfstudio's ``CameraOptimizer`` holds one SO3xR3/SE3 correction per *image*, but a static video's
frames are one physical camera: they must share one correction, or each frame would drift on its
own. ``VideoPoseOptimizer`` keeps nerfstudio's parameterisation and param group (``camera_opt``) and
maps every training image to a *slot*: one slot per static training video, and one per frame of a
moving training video, whose corrections are tied together by a second-difference smoothness prior
(the paper leaves moving cameras to future work).

Because it is a ``CameraOptimizer`` whose ``forward`` takes image indices, nerfstudio's viewer
(``model.camera_optimizer(indices)``) and exporter (``apply_to_camera`` with ``metadata["cam_idx"]``)
show the training cameras at their refined poses unchanged.

The corrections and the rays they move are computed in fp32 even inside an autocast region (the
trainer's mixed precision): autocast would run the exponential map's and the rotation's ``bmm`` in
fp16, which rounds directions to about 5e-4 rad, more than the calibration errors being refined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Sequence, Type, Union

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor
from typing_extensions import assert_never

from nerfstudio.cameras.camera_optimizers import CameraOptimizer
from nerfstudio.cameras.lie_groups import exp_map_SE3, exp_map_SO3xR3
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.configs.base_config import InstantiateConfig


@dataclass
class VideoPoseOptimizerConfig(InstantiateConfig):
    """Per-video pose correction (per frame for moving cameras).

    The weights of its priors live in the model's ``loss_coefficients`` (``camera_translation_l2``,
    ``camera_rotation_l2``, ``camera_smoothness``) with every other loss weight."""

    _target: Type = field(default_factory=lambda: VideoPoseOptimizer)
    mode: Literal["off", "SO3xR3", "SE3"] = "SO3xR3"
    """Pose correction parameterisation; "off" keeps the calibration's poses."""


def build_slots(
    video_index: Sequence[int], frame_index: Sequence[int], moving_videos: Sequence[int]
) -> tuple[Int[Tensor, "num_images"], Dict[int, List[int]]]:
    """Map each image to a correction slot.

    Static videos get one slot each (in increasing video order), then every moving video gets one
    slot per distinct frame, in frame order.

    Returns:
        ``image_to_slot`` (num_images,) and ``video_slots``: video -> its slots (frame order for
        moving videos, a single slot for static ones).
    """
    video_index = [int(v) for v in video_index]
    frame_index = [int(f) for f in frame_index]
    if len(video_index) != len(frame_index):
        raise ValueError(f"video_index ({len(video_index)}) and frame_index ({len(frame_index)}) differ in length")
    moving = {int(v) for v in moving_videos}
    videos = sorted(set(video_index))
    video_slots: Dict[int, List[int]] = {}
    slot_of: Dict[tuple, int] = {}
    for v in videos:
        if v not in moving:
            slot_of[(v, None)] = len(slot_of)
            video_slots[v] = [slot_of[(v, None)]]
    for v in videos:
        if v in moving:
            frames = sorted({f for vi, f in zip(video_index, frame_index) if vi == v})
            video_slots[v] = []
            for f in frames:
                slot_of[(v, f)] = len(slot_of)
                video_slots[v].append(slot_of[(v, f)])
    image_to_slot = [slot_of[(v, f if v in moving else None)] for v, f in zip(video_index, frame_index)]
    return torch.tensor(image_to_slot, dtype=torch.long), video_slots


class VideoPoseOptimizer(CameraOptimizer):
    """``CameraOptimizer`` whose corrections are shared by all frames of a static video.

    Args:
        config: the optimizer's configuration.
        num_cameras: number of training images (``Model.num_train_data``).
        device: device of the parameters at construction.
        video_index: video of each training image (num_images,).
        frame_index: frame of each training image inside its video (num_images,).
        moving_videos: videos with per-frame poses.
    """

    config: VideoPoseOptimizerConfig

    def __init__(
        self,
        config: VideoPoseOptimizerConfig,
        num_cameras: int,
        device: Union[torch.device, str],
        video_index: Sequence[int],
        frame_index: Sequence[int],
        moving_videos: Sequence[int] = (),
        **kwargs,
    ) -> None:
        image_to_slot, video_slots = build_slots(video_index, frame_index, moving_videos)
        if image_to_slot.shape[0] != num_cameras:
            raise ValueError(f"metadata describes {image_to_slot.shape[0]} images, the model has {num_cameras}")
        num_slots = max((s for slots in video_slots.values() for s in slots), default=-1) + 1
        super().__init__(config, num_cameras=num_slots, device=device)
        self.num_images = num_cameras
        self.num_slots = num_slots
        self.video_slots = video_slots
        self.register_buffer("image_to_slot", image_to_slot.to(device), persistent=False)
        # (k-1, k, k+1) slot triplets of consecutive frames of each moving video, for the prior.
        triplets = [s[i : i + 3] for s in video_slots.values() if len(s) >= 3 for i in range(len(s) - 2)]
        self.register_buffer(
            "smooth_triplets", torch.tensor(triplets, dtype=torch.long).reshape(-1, 3).to(device), persistent=False
        )
        self.trainable = False
        """Set by the training schedule; when False corrections apply but receive no gradient."""

    def _adjustment(self) -> Float[Tensor, "num_slots 6"]:
        return self.pose_adjustment if self.trainable else self.pose_adjustment.detach()

    def forward(self, indices: Int[Tensor, "num"]) -> Float[Tensor, "num 3 4"]:
        """Correction matrices ([R|t], applied in world coordinates) of the given *image* indices."""
        indices = indices.reshape(-1).long()
        if self.config.mode == "off":
            return torch.eye(4, device=indices.device)[None, :3, :4].tile(indices.shape[0], 1, 1)
        slots = self.image_to_slot[indices.to(self.image_to_slot.device)]
        tangent = self._adjustment()[slots]
        with torch.autocast(tangent.device.type, enabled=False):  # fp32 geometry (module docstring)
            if self.config.mode == "SO3xR3":
                return exp_map_SO3xR3(tangent)
            if self.config.mode == "SE3":
                return exp_map_SE3(tangent)
            assert_never(self.config.mode)

    def apply_to_raybundle(self, raybundle: RayBundle) -> None:
        """Rotate directions and translate origins of training rays by their image's correction."""
        if self.config.mode == "off" or raybundle.camera_indices is None:
            return
        correction = self(raybundle.camera_indices[..., 0])  # [R, 3, 4], fp32
        shape = raybundle.origins.shape
        with torch.autocast(correction.device.type, enabled=False):  # fp32 geometry (module docstring)
            raybundle.origins = raybundle.origins.float() + correction[:, :3, 3].view(shape)
            directions = torch.bmm(correction[:, :3, :3], raybundle.directions.float().reshape(-1, 3, 1))
        raybundle.directions = directions.view(shape)

    def prior_terms(self) -> Dict[str, Float[Tensor, ""]]:
        """Unweighted priors: nerfstudio's norm penalties on the corrections (translation, rotation)
        and the second difference of consecutive frames of moving cameras.

        Empty while the poses are frozen or optimisation is off, so frozen slots stay out of the graph."""
        if self.config.mode == "off" or not self.trainable:
            return {}
        adj = self.pose_adjustment
        terms = {
            "camera_translation_l2": adj[:, :3].norm(dim=-1).mean(),
            "camera_rotation_l2": adj[:, 3:].norm(dim=-1).mean(),
        }
        if self.smooth_triplets.shape[0] > 0:
            a, b, c = (adj[self.smooth_triplets[:, k]] for k in range(3))
            terms["camera_smoothness"] = (a - 2.0 * b + c).square().sum(dim=-1).mean()
        return terms

    def get_loss_dict(self, loss_dict: dict) -> None:
        """Add the unweighted priors (the model weights them with its ``loss_coefficients``)."""
        loss_dict.update(self.prior_terms())

    def get_correction_matrices(self) -> Float[Tensor, "num_images 3 4"]:
        """Correction of every training image (frames of a static video share one)."""
        return self(torch.arange(self.num_images, device=self.image_to_slot.device))

    @torch.no_grad()
    def per_video_corrections(self) -> Dict[int, Dict[str, float]]:
        """Rotation (degrees) and translation (scene units) of each video's correction, averaged
        over the frames of a moving video."""
        result: Dict[int, Dict[str, float]] = {}
        if self.config.mode == "off":
            return result
        adj = self.pose_adjustment.detach()
        for video, slots in self.video_slots.items():
            block = adj[slots]
            result[video] = {
                "rotation_deg": float(np.rad2deg(block[:, 3:].norm(dim=-1).mean().item())),
                "translation": float(block[:, :3].norm(dim=-1).mean().item()),
            }
        return result

