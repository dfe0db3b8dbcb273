"""The camera rig: static cameras around the scene, an optional hand-held one, and each video's
frame rate, length and start time on the common simulation timeline.

Cameras are OpenCV (x right, y down, z forward), `camera_to_world` maps camera points to the world
(+Z up). Every video starts at its own random time in [0, start_spread_s] and runs at least
`duration_s`, so all videos share at least `duration_s - start_spread_s` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix, look_at_opencv
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.smooth_noise import smooth_signal

SCENE_CENTER = np.array([0.0, 0.0, 1.0])
"""Where the cameras look: the middle of the walking area at chest height."""
SCENE_RADIUS_M = 2.5
"""Radius of the sphere around SCENE_CENTER that holds the people at all times."""
MOVING_CAMERA_RADIUS_M = 3.6


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


def static_camera_poses(rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """(N, 4, 4) cameras spread around the centre (jittered azimuths), varied heights and distances."""
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
