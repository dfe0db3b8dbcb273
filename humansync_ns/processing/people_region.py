"""Where the people are: a sample of their calibrated 3D joints.

The calibration places every video's camera in one world, so each video's camera-frame joints
(from its motion file) land in that world too. Their extent bounds the region where the scene
changes over time. `humansync-process` records a fixed-size sample of them in
`transforms.json["people_points"]` (docs/formats.md); the dataparser can fit its scene box to them
(`scene_box_from="people"`, dataparser/normalization.py), so the radiance field spends its grid
cells where the people are rather than on the whole rig. A sample rather than a box, because the
box must be axis-aligned in the scene's orientation, which only the dataparser decides.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from humansync_ns.body.canonical import global_joints
from humansync_ns.calibration.calibration_io import Calibration
from humansync_ns.motion.format import MotionTrack

MAX_POINTS = 1024
"""Joints kept in the sample (drawn with a fixed seed, so processing is reproducible)."""


def world_joints(track: MotionTrack, camera_to_world: np.ndarray) -> np.ndarray:
    """(N, 3) finite joints of a track in the calibration's world.

    Args:
        track: the video's motion (joints in its camera frame, or in the estimator's world when the
            track has `world_to_camera`).
        camera_to_world: the calibrated (4, 4) pose, or (T, 4, 4) per row for a moving camera.
    """
    joints = global_joints(track)  # (T, P, 24, 3), NaN where invalid
    if track.world_to_camera is not None:  # estimator world -> camera frame, row by row
        w2c = np.asarray(track.world_to_camera, dtype=np.float64)
        joints = np.einsum("tij,tpkj->tpki", w2c[:, :3, :3], joints) + w2c[:, None, None, :3, 3]
    c2w = np.asarray(camera_to_world, dtype=np.float64)
    if c2w.ndim == 2:
        world = joints @ c2w[:3, :3].T + c2w[:3, 3]
    else:
        rows = min(len(c2w), len(joints))
        world = np.einsum("tij,tpkj->tpki", c2w[:rows, :3, :3], joints[:rows]) + c2w[:rows, None, None, :3, 3]
    points = world.reshape(-1, 3)
    return points[np.all(np.isfinite(points), axis=1)]


def people_points(calibration: Calibration, tracks: dict[str, MotionTrack], max_points: int = MAX_POINTS) -> Optional[np.ndarray]:
    """(M, 3) joints of the people in the calibration's world (metres), at most `max_points` drawn
    evenly from all calibrated videos that have motion, or None when none has valid joints."""
    points = [world_joints(tracks[v.name], v.camera_to_world) for v in calibration.videos if v.name in tracks]
    stacked = np.concatenate([p for p in points if len(p)] or [np.empty((0, 3))])
    if len(stacked) == 0:
        return None
    if len(stacked) > max_points:
        stacked = stacked[np.sort(np.random.default_rng(0).choice(len(stacked), max_points, replace=False))]
    return stacked
