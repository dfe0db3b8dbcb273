"""Test-time optimisation of a held-out video (paper Sec. 4.3): the radiance field is frozen, and
only that video's pose correction (SO3xR3, as the training videos') and time delta are optimised
on its own frames before the metrics are measured.

A correction `(ω, τ)` (rotation vector, translation; nerfstudio's SO3xR3 tangent `[τ, ω]`) moves
the camera in world coordinates as the training videos' corrections do (`model/pose_correction.py`):
`R' = exp(ω)·R`, `t' = t + τ` for a camera-to-world `[R | t]`. The time delta `δ` (normalised
units) is added to the frames' normalised times; it is optimised in frames of the video's own rate,
like the training videos' offsets, so `time_lr_frames` means the same on every capture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from jaxtyping import Float
from torch import Tensor

from nerfstudio.cameras.cameras import Cameras
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.models.base_model import Model

from humansync_ns.model.calibration_state import cameras_moved_to
from humansync_ns.model.pose_correction import correct_camera_to_worlds, correct_rays, correction_from_tangent


@dataclass
class TestTimeOptimizationConfig:
    """How the held-out video's pose and time are refined before it is scored."""

    __test__ = False  # not a pytest class, despite the name

    steps: int = 150
    """Optimisation steps per held-out video (0 scores the calibration's pose and time as they are)."""
    rays_per_batch: int = 1024
    """Rays per step, drawn uniformly from all of the video's eval frames."""
    pose_lr: float = 2e-3
    """Adam learning rate of the pose correction (radians / scene units)."""
    time_lr_frames: float = 0.6
    """Adam learning rate of the time delta, in frames of the held-out video (one parameter unit is
    one frame, as for the training videos' offsets, ``TimeOffsets``). 0.6 frame is the earlier
    default of 2e-3 of the time grid's [0, 1] on the demo capture (7.7 s of frames, margin 0.1,
    30 fps: 289 frames over the grid's time axis)."""
    optimize_pose: bool = True
    """Refine the pose (SO3xR3)."""
    optimize_time: bool = True
    """Refine the time offset."""
    seed: int = 0
    """Seed of the ray sampling, so evaluations are repeatable."""


@dataclass
class VideoCorrection:
    """A held-out video's refinement: SO3xR3 tangent `[τ, ω]` and time delta (normalised)."""

    tangent: Float[Tensor, "6"]
    time_delta: float
    loss_before: float = float("nan")
    """Mean photometric MSE of the first step's batch."""
    loss_after: float = float("nan")
    """Mean photometric MSE of the last step's batch."""

    @classmethod
    def identity(cls, time_delta: float = 0.0) -> "VideoCorrection":
        return cls(tangent=torch.zeros(6), time_delta=float(time_delta))

    @property
    def rotation_rad(self) -> float:
        return float(self.tangent[3:].norm())

    @property
    def translation(self) -> float:
        return float(self.tangent[:3].norm())

    def matrix(self) -> Float[Tensor, "3 4"]:
        """`[exp(ω) | τ]`."""
        return correction_from_tangent(self.tangent.detach())


def corrected_cameras(cameras: Cameras, correction: VideoCorrection) -> Cameras:
    """A copy of `cameras` at the corrected poses and times."""
    matrix = correction.matrix().to(cameras.camera_to_worlds)
    times = None if cameras.times is None else cameras.times + correction.time_delta
    return cameras_moved_to(cameras, correct_camera_to_worlds(cameras.camera_to_worlds, matrix.expand_as(cameras.camera_to_worlds)), times)


def _apply_to_rays(rays: RayBundle, tangent: Tensor, time_delta: Tensor) -> RayBundle:
    """Differentiable world-frame correction of a flat ray bundle (origins, directions, times)."""
    rays.origins, rays.directions = correct_rays(rays.origins, rays.directions, correction_from_tangent(tangent))
    if rays.times is not None:
        rays.times = rays.times + time_delta
    return rays


def _sample_batch(
    cameras: Cameras, images: Float[Tensor, "N H W 3"], num_rays: int, generator: torch.Generator
) -> tuple[RayBundle, Tensor]:
    """Uniformly random pixels of random frames: their rays (uncorrected) and colours."""
    num_images, height, width = images.shape[:3]
    image = torch.randint(num_images, (num_rays,), generator=generator)
    y = torch.randint(height, (num_rays,), generator=generator)
    x = torch.randint(width, (num_rays,), generator=generator)
    coords = torch.stack([y, x], dim=-1).float() + 0.5  # pixel centres, nerfstudio's (row, col) order
    rays = cameras.generate_rays(camera_indices=image[:, None], coords=coords)
    return rays, images[image, y, x]


def optimize_video(
    model: Model,
    cameras: Cameras,
    images: Float[Tensor, "N H W 3"],
    config: TestTimeOptimizationConfig,
    initial: Optional[VideoCorrection] = None,
    progress: Optional[Callable[[], None]] = None,
) -> VideoCorrection:
    """Refines one video's pose correction and time delta with the model frozen.

    Args:
        model: the trained model; its parameters are frozen here and restored after.
        cameras: the video's eval frames `(N,)` (same image size), with times.
        images: their ground-truth colours in [0, 1], background already blended.
        config: steps, batch size and learning rates.
        initial: starting correction (identity by default).
        progress: called once per step (a progress bar's advance).
    """
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] != cameras.shape[0]:
        raise ValueError(f"images must be (N={cameras.shape[0]}, H, W, 3), got {tuple(images.shape)}")
    initial = initial or VideoCorrection.identity()
    device = model.device
    frame = frame_in_normalized_time(model, cameras)
    tangent = initial.tangent.detach().clone().float().to(device).requires_grad_(config.optimize_pose)
    time_frames = torch.tensor(initial.time_delta / frame, device=device, requires_grad=config.optimize_time)
    trainable = [p for p, on in ((tangent, config.optimize_pose), (time_frames, config.optimize_time)) if on]
    if config.steps <= 0 or not trainable:
        return VideoCorrection(tangent.detach().cpu(), initial.time_delta)
    groups = []
    if config.optimize_pose:
        groups.append({"params": [tangent], "lr": config.pose_lr})
    if config.optimize_time:
        groups.append({"params": [time_frames], "lr": config.time_lr_frames})
    optimizer = torch.optim.Adam(groups)
    generator = torch.Generator().manual_seed(config.seed)
    cameras = cameras.to("cpu")
    frozen = {name: p.requires_grad for name, p in model.named_parameters()}
    was_training = model.training
    losses: list[float] = []
    try:
        model.eval()  # eval-mode forward: no training-ray corrections, no regularisers
        for p in model.parameters():
            p.requires_grad_(False)
        with torch.enable_grad():
            for _ in range(config.steps):
                rays, target = _sample_batch(cameras, images, config.rays_per_batch, generator)
                rays = _apply_to_rays(rays.to(device), tangent, time_frames * frame)
                rgb = model(rays)["rgb"]
                loss = torch.nn.functional.mse_loss(rgb, target.to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
                if progress is not None:
                    progress()
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(frozen[name])
        model.train(was_training)
    return VideoCorrection(tangent.detach().cpu(), float(time_frames.detach()) * frame, loss_before=losses[0], loss_after=losses[-1])


def frame_in_normalized_time(model: Model, cameras: Cameras) -> float:
    """One frame of the cameras' video in normalised time (``TimeOffsets.units_per_parameter``), or
    1 (normalised units) for a model without time offsets or cameras without a video index."""
    offsets = getattr(model, "time_offsets", None)
    video_index = (cameras.metadata or {}).get("video_index")
    if offsets is None or video_index is None:
        return 1.0
    videos = torch.unique(torch.as_tensor(video_index))
    if videos.numel() != 1:
        raise ValueError(f"test-time optimisation refines one video at a time; the cameras belong to videos {videos.tolist()}")
    return float(offsets.units_per_parameter[int(videos)])
