"""Tiny humansync models and procedural rays for the model tests (CPU, seconds).

A plain module (not conftest.py) so ``from model_testkit import ...`` cannot pick up another
folder's conftest."""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import torch

from nerfstudio.cameras.rays import RayBundle
from nerfstudio.data.scene_box import SceneBox

from humansync_ns.model.humansync_model import HumanSyncModel, HumanSyncModelConfig


def tiny_config(**overrides) -> HumanSyncModelConfig:
    """A model small enough to train a few hundred steps on one CPU core in seconds."""
    values = dict(
        near_plane=0.1,
        far_plane=4.0,
        spatial_distortion="aabb",
        background_color="white",
        grid_base_resolution=(12, 12, 12),
        time_resolution=6,
        multiscale_res=(1, 2),
        grid_feature_dim=8,
        hidden_dim=32,
        num_layers=2,
        hidden_dim_color=32,
        num_layers_color=2,
        appearance_embedding_dim=4,
        num_proposal_iterations=1,
        num_proposal_samples_per_ray=(32,),
        num_nerf_samples_per_ray=16,
        proposal_net_args_list=[{"num_components": 4, "resolution": (12, 12, 12), "hidden_dim": 16}],
        proposal_time_resolution=6,
        proposal_warmup=100,
        coarse_to_fine_end_step=0,
        pose_start_step=10,
        time_offset_delay=10,
        implementation="torch",
    )
    values.update(overrides)
    return HumanSyncModelConfig(**values)


def capture_metadata(
    video_of_image: Sequence[int], frame_of_image: Sequence[int], num_videos: int, moving: Sequence[int] = ()
) -> Dict:
    """Dataparser metadata following docs/architecture.md, for a capture without files."""
    return {
        "video_index": torch.tensor(video_of_image, dtype=torch.long),
        "frame_index": torch.tensor(frame_of_image, dtype=torch.long),
        "video_names": [f"cam{v:02d}" for v in range(num_videos)],
        "num_videos": num_videos,
        "train_videos": sorted(set(int(v) for v in video_of_image)),
        "eval_videos": [],
        "moving_videos": list(moving),
        "fps": torch.full((num_videos,), 10.0),
        "time_offset_init_s": torch.zeros(num_videos),
        # normalised time 0..1 fills the grid's time axis (the rays' times are drawn in 0..1)
        "time_normalization": {"t0_s": -0.25, "span_s": 2.5, "grid_t0_s": -0.25, "grid_span_s": 2.5},
        "ground_truth": None,
    }


def make_model(metadata: Dict, config: Optional[HumanSyncModelConfig] = None, seed: int = 0) -> HumanSyncModel:
    torch.manual_seed(seed)
    scene_box = SceneBox(aabb=torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))
    num_images = int(metadata["video_index"].shape[0])
    return (config or tiny_config()).setup(scene_box=scene_box, num_train_data=num_images, metadata=metadata)


def rays_at(
    origins: torch.Tensor, directions: torch.Tensor, times: torch.Tensor, camera_indices: torch.Tensor
) -> RayBundle:
    n = origins.shape[0]
    return RayBundle(
        origins=origins,
        directions=torch.nn.functional.normalize(directions, dim=-1),
        pixel_area=torch.full((n, 1), 1e-4),
        camera_indices=camera_indices.reshape(n, 1).long(),
        times=times.reshape(n, 1).float(),
        nears=torch.full((n, 1), 0.1),
        fars=torch.full((n, 1), 4.0),
    )


def random_rays(num_rays: int, num_images: int, seed: int = 0) -> RayBundle:
    """Rays from a sphere of radius 2.5 toward the origin, random images and times."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.rand(num_rays, generator=g) * 2 * math.pi
    height = 0.3 * torch.randn(num_rays, generator=g)
    origins = torch.stack([2.5 * torch.cos(theta), 2.5 * torch.sin(theta), height], -1)
    targets = 0.3 * torch.randn(num_rays, 3, generator=g)
    times = torch.rand(num_rays, generator=g)
    images = torch.randint(0, num_images, (num_rays,), generator=g)
    return rays_at(origins, targets - origins, times, images)


SPHERE_RADIUS = 0.45


def sphere_centre(t: torch.Tensor) -> torch.Tensor:
    """The procedural scene's sphere slides along x from -0.35 to 0.35 as t goes 0 -> 1."""
    return torch.stack([0.7 * (t - 0.5), torch.zeros_like(t), torch.zeros_like(t)], dim=-1)


def render_truth(origins: torch.Tensor, directions: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """Ray-sphere hit: colour (normal + 1) / 2 on the sphere, white elsewhere."""
    oc = origins - sphere_centre(times)
    b = (oc * directions).sum(-1)
    disc = b**2 - (oc**2).sum(-1) + SPHERE_RADIUS**2
    hit = disc > 0
    depth = -b - torch.sqrt(disc.clamp(min=0))
    normal = torch.nn.functional.normalize(oc + depth[:, None] * directions, dim=-1)
    return torch.where(hit[:, None], (normal + 1) / 2, torch.ones_like(origins))


def ring_camera_rays(
    num_rays: int,
    generator: torch.Generator,
    num_videos: int = 4,
    num_frames: int = 5,
    time_error: Optional[torch.Tensor] = None,
    yaw_error_rad: Optional[torch.Tensor] = None,
):
    """Rays of inward-looking static cameras on a ring (radius 2.5), ``num_frames`` frames each.

    Image ``i`` is frame ``i % num_frames`` of video ``i // num_frames``; frames are at normalised
    times 0.1 .. 0.9. The colours are the truth; the rays the model is given may carry a per-video
    time error (added to their times) and yaw error (a rotation of their directions about +z), the
    way a wrong calibration would give them. Returns (rays, rgb)."""
    image = torch.randint(0, num_videos * num_frames, (num_rays,), generator=generator)
    video, frame = image // num_frames, image % num_frames
    angle = video.float() * (2 * math.pi / num_videos) + 0.3
    origins = torch.stack([2.5 * torch.cos(angle), 2.5 * torch.sin(angle), 0.4 * torch.ones_like(angle)], -1)
    forward = torch.nn.functional.normalize(-origins, dim=-1)
    up = torch.tensor([0.0, 0.0, 1.0]).expand_as(forward)
    right = torch.nn.functional.normalize(torch.cross(forward, up, dim=-1), dim=-1)
    true_up = torch.cross(right, forward, dim=-1)
    u, v = (torch.rand(num_rays, 2, generator=generator) * 2 - 1).unbind(-1)
    directions = torch.nn.functional.normalize(forward + 0.35 * (u[:, None] * right + v[:, None] * true_up), dim=-1)
    times = 0.1 + 0.8 * frame.float() / (num_frames - 1)
    rgb = render_truth(origins, directions, times)
    if time_error is not None:
        times = times + time_error[video]
    if yaw_error_rad is not None:
        c, s = torch.cos(yaw_error_rad[video]), torch.sin(yaw_error_rad[video])
        x, y, z = directions.unbind(-1)
        directions = torch.stack([c * x - s * y, s * x + c * y, z], dim=-1)
    return rays_at(origins, directions, times, image), rgb


def two_static_one_moving_metadata() -> Dict:
    """Videos 0 and 1 static (3 frames each), video 2 moving (4 frames): 10 images."""
    video = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    frame = [0, 1, 2, 0, 1, 2, 0, 1, 2, 3]
    return capture_metadata(video, frame, num_videos=3, moving=[2])
