"""Pose refinement per video, not per frame (paper Sec. 3.3; moving cameras added here).

nerfstudio's ``CameraOptimizer`` holds one SO3xR3/SE3 correction per *image*, but a static video's
frames are one physical camera: they must share one correction, or each frame would drift on its
own. ``VideoPoseOptimizer`` keeps nerfstudio's parameterisation and param group (``camera_opt``) and
maps every training image to a *slot*: one slot per static training video, and one per frame of a
moving training video, whose corrections are tied together by a second-difference smoothness prior
(the paper leaves moving cameras to future work).

Corrections act in the world frame (``model/pose_correction.py``, the one convention). nerfstudio
reads them in two ways, and both give the refined pose: its exporter calls ``apply_to_camera`` (world
frame, as nerfstudio's own), and its viewer, while training, composes ``c2w @ model.camera_optimizer(indices)``
with the frustums' dataparser poses, which is nerfstudio's documented meaning of ``forward``: the
transformation from optimised to given camera coordinates (a camera-frame delta). So ``forward``
returns camera-frame deltas, computed from the training images' dataparser rotations
(``camera_rotations``), and everything of ours reads the world-frame corrections
(``world_corrections`` / ``get_correction_matrices``).

The corrections and the rays they move are computed in fp32 even inside an autocast region (the
trainer's mixed precision; ``pose_correction.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Sequence, Type, Union

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

from nerfstudio.cameras.camera_optimizers import CameraOptimizer
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.configs.base_config import InstantiateConfig

from humansync_ns.model.pose_correction import (
    camera_frame_delta,
    correct_camera_to_worlds,
    correct_rays,
    correction_from_tangent,
)


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
        camera_rotations: (num_images, 3, 3) rotations of the training images' camera-to-world
            poses as the dataparser made them, which nerfstudio's viewer composes ``forward``'s
            deltas with; identity when not given.
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
        camera_rotations: Optional[Float[Tensor, "num_images 3 3"]] = None,
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
        if camera_rotations is not None and tuple(camera_rotations.shape) != (num_cameras, 3, 3):
            raise ValueError(f"camera_rotations must have shape ({num_cameras}, 3, 3), got {tuple(camera_rotations.shape)}")
        rotations = None if camera_rotations is None else torch.as_tensor(camera_rotations, dtype=torch.float32).to(device)
        self.register_buffer("camera_rotations", rotations, persistent=False)
        # (k-1, k, k+1) slot triplets of consecutive frames of each moving video, for the prior.
        triplets = [s[i : i + 3] for s in video_slots.values() if len(s) >= 3 for i in range(len(s) - 2)]
        self.register_buffer(
            "smooth_triplets", torch.tensor(triplets, dtype=torch.long).reshape(-1, 3).to(device), persistent=False
        )
        self.trainable = False
        """Set by the training schedule; when False corrections apply but receive no gradient."""

    def _adjustment(self) -> Float[Tensor, "num_slots 6"]:
        return self.pose_adjustment if self.trainable else self.pose_adjustment.detach()

    def world_corrections(self, indices: Int[Tensor, "num"]) -> Float[Tensor, "num 3 4"]:
        """World-frame corrections ``[R_c | t_c]`` of the given *image* indices (pose_correction.py)."""
        indices = indices.reshape(-1).long()
        if self.config.mode == "off":
            return torch.eye(4, device=indices.device)[None, :3, :4].tile(indices.shape[0], 1, 1)
        slots = self.image_to_slot[indices.to(self.image_to_slot.device)]
        return correction_from_tangent(self._adjustment()[slots], self.config.mode)

    def forward(self, indices: Int[Tensor, "num"]) -> Float[Tensor, "num 3 4"]:
        """nerfstudio's contract (what its viewer composes as ``c2w @ delta``): camera-frame deltas
        from the refined to the given camera coordinates of the given image indices."""
        corrections = self.world_corrections(indices)
        if self.camera_rotations is None:
            return corrections  # identity rotations: both frames agree
        rotations = self.camera_rotations[indices.reshape(-1).long().to(self.camera_rotations.device)]
        return camera_frame_delta(rotations.to(corrections), corrections)

    def apply_to_raybundle(self, raybundle: RayBundle) -> None:
        """Move training rays by the correction of their image (``camera_indices``)."""
        if raybundle.camera_indices is not None:
            self.apply_to_image_rays(raybundle, raybundle.camera_indices[..., 0])

    def apply_to_image_rays(self, raybundle: RayBundle, image_index: Int[Tensor, "num_rays"]) -> None:
        """Rotate directions and translate origins of rays of training images ``image_index``."""
        if self.config.mode == "off":
            return
        correction = self.world_corrections(image_index)  # [R, 3, 4]
        shape = raybundle.origins.shape
        origins, directions = correct_rays(raybundle.origins.reshape(-1, 3), raybundle.directions.reshape(-1, 3), correction)
        raybundle.origins = origins.view(shape)
        raybundle.directions = directions.view(shape)

    def apply_to_camera(self, camera: Cameras) -> Tensor:
        """The camera-to-world of a training camera (``camera.metadata["cam_idx"]``, as nerfstudio's
        exporter sets it) with its world-frame correction; other cameras unchanged."""
        if self.config.mode == "off" or camera.metadata is None or "cam_idx" not in camera.metadata:
            return camera.camera_to_worlds
        index = torch.as_tensor(camera.metadata["cam_idx"]).reshape(-1)
        correction = self.world_corrections(index).to(camera.camera_to_worlds)
        return correct_camera_to_worlds(camera.camera_to_worlds, correction)

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

    def get_correction_matrices(self) -> Float[Tensor, "num_images 3 4"]:
        """World-frame correction of every training image (frames of a static video share one), the
        way nerfstudio's ``apply_to_camera`` and ``apply_to_raybundle`` use its matrices."""
        return self.world_corrections(torch.arange(self.num_images, device=self.image_to_slot.device))

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

