"""The camera rig: static cameras around the scene, an optional hand-held one, and each video's
frame rate, length and start time on the common simulation timeline.

Three layouts of the static cameras (`SynthConfig.rig`):
- ``ring``: the sparse, irregular case: cameras at random distances, heights and fields of view
  around the scene, aimed near its centre (the people may cover only a small part of the frame);
- ``dome``: like CMU Panoptic Studio's HD cameras: rows at three heights all the way round;
- ``stage``: like Mobile-Stage: two rows on a 200° arc, so the people are seen from the front
  and the sides only.
Dome and stage cameras are aimed at the walking area (the cylinder of `walking_area_radius_m` up
to `BODY_HEIGHT_LIMIT_M`), and each one's focal length is the longest that keeps all of it in the
frame with `FRAMING_MARGIN` to spare, as an operator frames a capture volume: the people then
fill a sensible part of every view.

Cameras are OpenCV (x right, y down, z forward), `camera_to_world` maps camera points to the world
(+Z up). Every video starts at its own random time in [0, start_spread_s] and runs at least
`duration_s`, so all videos share at least `duration_s - start_spread_s` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from typing_extensions import assert_never

from humansync_ns.body.rotations import axis_angle_to_matrix, look_at_opencv
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.people import BODY_HEIGHT_LIMIT_M, walking_area_radius_m
from humansync_ns.synthetic.smooth_noise import smooth_signal

SCENE_CENTER = np.array([0.0, 0.0, 1.0])
"""Where the cameras look: the middle of the walking area at chest height."""
SCENE_RADIUS_M = 2.5
"""Radius of the sphere around SCENE_CENTER that holds the people at all times."""
MOVING_CAMERA_RADIUS_M = 3.6
FRAMING_MARGIN = 0.08
"""Dome and stage cameras leave this fraction of the half-frame free around the walking area."""


@dataclass(frozen=True)
class CameraRow:
    """One row of a dense rig: cameras at one height and horizontal distance from the centre."""

    height_m: float
    distance_m: float
    share: float
    """Fraction of the rig's cameras in this row."""
    arc_deg: float = 360.0
    """Azimuth range the row covers, centred on +X; 360 is all the way round."""


DOME_ROWS = (CameraRow(0.8, 4.6, 0.3), CameraRow(1.8, 5.0, 0.4), CameraRow(3.0, 4.4, 0.3))
"""Panoptic-like: low, eye-level and high rows all the way round (its HD cameras span the dome)."""
STAGE_ROWS = (CameraRow(1.2, 4.4, 0.5, arc_deg=200.0), CameraRow(2.2, 4.8, 0.5, arc_deg=200.0))
"""Mobile-Stage-like: two rows on a frontal arc (front and side views, nobody behind)."""


@dataclass
class VideoRig:
    """One video's camera and timing (true values)."""

    name: str
    fps: float
    num_frames: int
    start_s: float
    """Simulation time of frame 0."""
    K: np.ndarray
    """(3, 3) intrinsics, pixels (pixel centres at integer + 0.5)."""
    width: int
    height: int
    camera_to_world: np.ndarray
    """(4, 4) OpenCV camera-to-world, or (T, 4, 4) per frame for the moving camera."""

    @property
    def moving(self) -> bool:
        return self.camera_to_world.ndim == 3

    @property
    def frame_times_s(self) -> np.ndarray:
        """(T,) simulation time of every frame."""
        return self.start_s + np.arange(self.num_frames) / self.fps

    @property
    def end_s(self) -> float:
        return self.start_s + (self.num_frames - 1) / self.fps

    def camera_to_world_per_frame(self) -> np.ndarray:
        """(T, 4, 4) pose of every frame."""
        if self.moving:
            return self.camera_to_world
        return np.broadcast_to(self.camera_to_world, (self.num_frames, 4, 4))

    def world_to_camera_per_frame(self) -> np.ndarray:
        """(T, 4, 4) inverse poses: x_cam = R_w2c x_world + t_w2c."""
        return invert_rigid(self.camera_to_world_per_frame())


def invert_rigid(c2w: np.ndarray) -> np.ndarray:
    """(..., 4, 4) rigid transforms → their inverses (Rᵀ, −Rᵀ t)."""
    R, t = c2w[..., :3, :3], c2w[..., :3, 3]
    out = np.zeros(c2w.shape)
    out[..., :3, :3] = np.swapaxes(R, -1, -2)
    out[..., :3, 3] = -np.einsum("...ji,...j->...i", R, t)
    out[..., 3, 3] = 1.0
    return out


def random_intrinsics(rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """K with square pixels, focal length from a random horizontal FOV, slightly off-centre principal point."""
    fov = np.radians(rng.uniform(*config.horizontal_fov_deg))
    focal = 0.5 * config.width / np.tan(0.5 * fov)
    cx = 0.5 * config.width + rng.uniform(-0.02, 0.02) * config.width
    cy = 0.5 * config.height + rng.uniform(-0.02, 0.02) * config.height
    return np.array([[focal, 0.0, cx], [0.0, focal, cy], [0.0, 0.0, 1.0]])


def static_cameras(
    rng: np.random.Generator, config: SynthConfig, intrinsics_rng: Callable[[int], np.random.Generator]
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4, 4) camera-to-world and (N, 3, 3) intrinsics of the static cameras of `config.rig`.

    The ring draws each camera's intrinsics from its own stream (`intrinsics_rng(index)`), so that
    adding cameras or a moving one leaves the others unchanged; dense rigs derive them from the framing.
    """
    if config.rig == "ring":
        poses = static_camera_poses(rng, config)
        return poses, np.stack([random_intrinsics(intrinsics_rng(i), config) for i in range(len(poses))])
    if config.rig == "dome":
        rows = DOME_ROWS
    elif config.rig == "stage":
        rows = STAGE_ROWS
    else:
        assert_never(config.rig)
    centers = row_camera_centers(rng, rows, config.num_cameras)
    volume = walking_area_points(walking_area_radius_m(config.num_people))
    target = np.array([0.0, 0.0, 0.5 * BODY_HEIGHT_LIMIT_M])
    poses = np.stack([look_at_opencv(c, target + rng.normal(0.0, 0.05, size=3)) for c in centers])
    intrinsics = np.stack([framing_intrinsics(rng, pose, volume, config.width, config.height) for pose in poses])
    return poses, intrinsics


def row_camera_centers(rng: np.random.Generator, rows: tuple[CameraRow, ...], num_cameras: int) -> np.ndarray:
    """(N, 3) camera centres: `num_cameras` split over `rows` by their shares, evenly spaced in
    azimuth within each row, rows staggered against each other, with a little jitter."""
    shares = np.array([row.share for row in rows])
    counts = np.diff(np.round(np.concatenate([[0.0], np.cumsum(shares / shares.sum())]) * num_cameras)).astype(int)
    base = rng.uniform(0.0, 2.0 * np.pi)
    centers = []
    for r, (row, count) in enumerate(zip(rows, counts)):
        if count == 0:
            continue
        arc = np.radians(row.arc_deg)
        stagger = (r + 0.5 * (r % 2)) / len(rows)
        if row.arc_deg >= 360.0:
            azimuths = base + arc * (np.arange(count) + stagger) / count
        else:  # an arc centred on +X: cameras from one end to the other, rows staggered by half a step
            step = arc / count
            azimuths = -0.5 * arc + step * (np.arange(count) + 0.5 * (1 + r % 2) - 0.5)
        azimuths = azimuths + rng.uniform(-0.1, 0.1, size=count) * (arc / count)
        distance = row.distance_m + rng.uniform(-0.1, 0.1, size=count)
        height = row.height_m + rng.uniform(-0.1, 0.1, size=count)
        centers.append(np.stack([distance * np.cos(azimuths), distance * np.sin(azimuths), height], axis=1))
    return np.concatenate(centers)


def walking_area_points(radius_m: float, num_around: int = 64) -> np.ndarray:
    """(2 * num_around, 3) points on the rims of the walking area's cylinder (floor to
    `BODY_HEIGHT_LIMIT_M`): a camera that sees them sees the whole cylinder (a convex set)."""
    angles = 2.0 * np.pi * np.arange(num_around) / num_around
    ring = np.stack([radius_m * np.cos(angles), radius_m * np.sin(angles)], axis=1)
    return np.concatenate([np.c_[ring, np.zeros(num_around)], np.c_[ring, np.full(num_around, BODY_HEIGHT_LIMIT_M)]])


def framing_intrinsics(rng: np.random.Generator, camera_to_world: np.ndarray, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """K with square pixels and the longest focal length that keeps every world point (M, 3) inside
    the frame with `FRAMING_MARGIN` of the half-frame to spare; principal point slightly off-centre."""
    world_to_camera = invert_rigid(camera_to_world)
    cam = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    if np.any(cam[:, 2] <= 0.1):
        raise ValueError("framing_intrinsics: part of the walking area is behind or at the camera")
    cx = 0.5 * width + rng.uniform(-0.02, 0.02) * width
    cy = 0.5 * height + rng.uniform(-0.02, 0.02) * height
    x, y = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
    # Each side of the frame limits the focal length: the pixels between the principal point and
    # that border over the largest tangent on that side.
    limits = [cx / max(-x.min(), 1e-9), (width - cx) / max(x.max(), 1e-9), cy / max(-y.min(), 1e-9), (height - cy) / max(y.max(), 1e-9)]
    focal = min(limits) * (1.0 - FRAMING_MARGIN)
    return np.array([[focal, 0.0, cx], [0.0, focal, cy], [0.0, 0.0, 1.0]])


def static_camera_poses(rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """(N, 4, 4) ring cameras spread around the centre (jittered azimuths), varied heights and distances."""
    N = config.num_cameras
    azimuths = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(N) / max(N, 1)
    azimuths += rng.uniform(-0.3, 0.3, size=N) * (np.pi / max(N, 1))
    poses = np.empty((N, 4, 4))
    for i in range(N):
        distance = rng.uniform(*config.camera_distance_m)
        height = rng.uniform(*config.camera_height_m)
        center = np.array([distance * np.cos(azimuths[i]), distance * np.sin(azimuths[i]), height])
        target = SCENE_CENTER + rng.normal(0.0, 0.15, size=3)
        poses[i] = look_at_opencv(center, target)
    return poses


def moving_camera_poses(rng: np.random.Generator, frame_times_s: np.ndarray) -> np.ndarray:
    """(T, 4, 4) a hand-held camera walking slowly on an arc around the scene, with shake."""
    drift = smooth_signal(rng, 3, 3.0, 10.0)  # azimuth speed, radius, height: slow
    shake = smooth_signal(rng, 6, 0.3, 1.5)  # hand tremor: position and rotation
    aim = smooth_signal(rng, 3, 2.0, 6.0)  # where it looks, around the centre
    t = frame_times_s
    azimuth = rng.uniform(0, 2 * np.pi) + 0.12 * t + 0.05 * drift.integral(t)[:, 0]  # ~0.12 rad/s
    radius = MOVING_CAMERA_RADIUS_M + 0.2 * drift(t)[:, 1]
    height = 1.6 + 0.08 * drift(t)[:, 2]
    wobble = shake(t)
    centers = np.stack([radius * np.cos(azimuth), radius * np.sin(azimuth), height], axis=1) + 0.01 * wobble[:, :3]
    targets = SCENE_CENTER + 0.12 * aim(t)
    poses = np.stack([look_at_opencv(c, g) for c, g in zip(centers, targets)])
    # Hand-held: small roll/pitch/yaw tremor applied in the camera frame.
    tremor = axis_angle_to_matrix(np.radians(0.6) * wobble[:, 3:])
    poses[:, :3, :3] = poses[:, :3, :3] @ tremor
    return poses


def video_timing(rng: np.random.Generator, config: SynthConfig, fps: float) -> tuple[float, int]:
    """(start_s, num_frames): a random start in [0, start_spread_s], at least `duration_s` long."""
    start = rng.uniform(0.0, config.start_spread_s)
    length = config.duration_s + rng.uniform(0.0, config.length_jitter_s)
    return float(start), int(np.floor(length * fps)) + 1
