"""Displace a calibration by known amounts: the wrong starting points that refinement must undo.

Refinement tests and benchmarks start training from a calibration whose errors are known exactly:
some cameras *turned* (rotated about their own centre, so only the orientation is wrong) and some
videos *pushed* (their time offset moved by a number of their own frames). Everything else is kept.
"""

from __future__ import annotations

import copy
from typing import Mapping

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix
from humansync_ns.calibration.calibration_io import Calibration

DEFAULT_TURN_AXIS = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
"""Camera-frame axis of a turn: mostly a pan (OpenCV y is down), with some tilt and roll."""


def displace_calibration(
    calibration: Calibration,
    turns_deg: Mapping[str, float] | None = None,
    pushes_frames: Mapping[str, float] | None = None,
    axis: np.ndarray = DEFAULT_TURN_AXIS,
) -> Calibration:
    """A copy of ``calibration`` with the named cameras turned and the named videos pushed.

    Args:
        calibration: the calibration to displace (left unchanged).
        turns_deg: video name -> angle (degrees) of a rotation about ``axis`` in that camera's frame
            (``R ← R · exp(angle · axis)``), applied to every frame of a moving camera.
        pushes_frames: video name -> frames (of that video's rate) added to its time offset.
        axis: rotation axis in the camera frame (normalised here).

    Raises:
        KeyError: a name that is not a video of the calibration.
    """
    turns_deg, pushes_frames = dict(turns_deg or {}), dict(pushes_frames or {})
    names = {video.name for video in calibration.videos}
    unknown = sorted((set(turns_deg) | set(pushes_frames)) - names)
    if unknown:
        raise KeyError(f"not videos of this calibration: {unknown} (videos: {sorted(names)})")
    unit = np.asarray(axis, float) / np.linalg.norm(axis)
    displaced = copy.deepcopy(calibration)
    for video in displaced.videos:
        video.time_offset_s += pushes_frames.get(video.name, 0.0) / video.fps
        if video.name in turns_deg:
            turn = axis_angle_to_matrix(np.radians(turns_deg[video.name]) * unit)
            video.camera_to_world = video.camera_to_world.copy()
            video.camera_to_world[..., :3, :3] = video.camera_to_world[..., :3, :3] @ turn
    return displaced


def random_displacement(
    calibration: Calibration, rotation_deg: float, translation_frac: float, time_frames: float, seed: int = 0
) -> Calibration:
    """A copy of ``calibration`` with every video displaced by the given amounts in random directions.

    Each camera turns by ``rotation_deg`` about a random axis (through its centre), moves by
    ``translation_frac`` times the rig's mean camera distance to its centroid in a random direction,
    and each video's time offset moves by ``time_frames`` of its frames, with a random sign: the
    shape of the paper's initialisation errors (Table 1, Panoptic average: 5.46°, 25.1 cm on a
    dome about 3 m in radius, 1.34 frames), for refinement to undo. Moving cameras move every frame
    alike.
    """
    rng = np.random.default_rng(seed)
    displaced = copy.deepcopy(calibration)
    centres = np.array([np.asarray(v.camera_to_world)[..., :3, 3].reshape(-1, 3).mean(axis=0) for v in calibration.videos])
    rig_radius = float(np.linalg.norm(centres - centres.mean(axis=0), axis=1).mean())
    for video in displaced.videos:
        axis = rng.normal(size=3)
        direction = rng.normal(size=3)
        turn = axis_angle_to_matrix(np.radians(rotation_deg) * axis / np.linalg.norm(axis))
        video.camera_to_world = np.array(video.camera_to_world, dtype=np.float64)
        video.camera_to_world[..., :3, :3] = video.camera_to_world[..., :3, :3] @ turn
        video.camera_to_world[..., :3, 3] += translation_frac * rig_radius * direction / np.linalg.norm(direction)
        video.time_offset_s += rng.choice([-1.0, 1.0]) * time_frames / video.fps
    return displaced
