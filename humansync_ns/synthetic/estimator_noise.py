"""What a monocular human-motion estimator does wrong, applied to true camera-frame SMPL parameters.

Noise goes on the parameters and the joints are recomputed from them by forward kinematics, so a
motion file's `joints` and SMPL parameters always agree. The kinds of error are those measured in
`/work/shared/notes/calibration-accuracy.md`: per-frame root rotation jitter, per-joint pose noise,
a smooth slowly drifting error of the root's depth along its viewing ray (the dominant one),
garbage frames that are still marked valid, and a constant shape error per video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.synthetic.body_model_file import rest_joints_for_betas
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.smooth_noise import smooth_signal


@dataclass
class CameraBodies:
    """SMPL parameters and joints of everyone in one video's camera (or estimator) frame."""

    global_orient: np.ndarray
    """(T, P, 3)."""
    body_pose: np.ndarray
    """(T, P, 69)."""
    betas: np.ndarray
    """(P, 10)."""
    transl: np.ndarray
    """(T, P, 3); the rest pelvis is at the origin, so this is the pelvis position."""
    joints: np.ndarray
    """(T, P, 24, 3), consistent with the parameters by forward kinematics."""
    outliers: np.ndarray
    """(T, P) bool: garbage frames (for tests and reports; not written to the motion files)."""


def transform_bodies(global_orient: np.ndarray, transl: np.ndarray, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moves bodies rigidly: root (T, P, 3) and pelvis (T, P, 3) by per-frame (T, 4, 4) `transform`.

    Exact for joints as well because the rest pelvis sits at the origin: the root rotates about it.
    """
    R, t = transform[:, None, :3, :3], transform[:, None, :3, 3]
    orient = matrix_to_axis_angle(R @ axis_angle_to_matrix(global_orient))
    return orient, np.einsum("tpij,tpj->tpi", R, transl) + t


def bodies_from_params(global_orient: np.ndarray, body_pose: np.ndarray, betas: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """(T, P, 24, 3) joints of the synthetic body model (shape from `betas` (P, 10))."""
    return forward_kinematics(global_orient, body_pose, transl, rest=rest_joints_for_betas(betas)[None])


def apply_estimator_noise(
    rng: np.random.Generator,
    config: SynthConfig,
    global_orient: np.ndarray,
    body_pose: np.ndarray,
    betas: np.ndarray,
    transl: np.ndarray,
    times_s: np.ndarray,
) -> CameraBodies:
    """Noisy copy of true camera-frame parameters; `times_s` (T,) drive the smooth depth drift.

    With every noise knob at zero the output equals the input exactly (no random draw changes it).
    """
    T, P = global_orient.shape[:2]
    R = axis_angle_to_matrix(global_orient)
    body_pose = body_pose.copy()
    transl = transl.copy()
    betas = betas + config.betas_noise * rng.normal(size=betas.shape)
    if config.rotation_jitter_deg > 0:
        jitter = np.radians(config.rotation_jitter_deg) * rng.normal(size=(T, P, 3))
        R = axis_angle_to_matrix(jitter) @ R  # rotates the body about its own pelvis
    if config.pose_noise_sigma > 0:
        body_pose += config.pose_noise_sigma * rng.normal(size=body_pose.shape)
    if config.depth_error > 0:
        transl *= 1.0 + depth_error_factor(rng, config, times_s, P)[:, :, None]  # along the ray: projection kept
    outliers = rng.random(size=(T, P)) < config.outlier_rate if config.outlier_rate > 0 else np.zeros((T, P), bool)
    if outliers.any():
        n = int(outliers.sum())
        direction = rng.normal(size=(n, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        transl[outliers] += direction * config.outlier_offset_m * rng.uniform(0.6, 1.4, size=(n, 1))
        axis = rng.normal(size=(n, 3))
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
        R[outliers] = axis_angle_to_matrix(axis * np.radians(rng.uniform(30, 90, size=(n, 1)))) @ R[outliers]
        body_pose[outliers] += 0.3 * rng.normal(size=(n, body_pose.shape[-1]))
    global_orient = matrix_to_axis_angle(R) if (config.rotation_jitter_deg > 0 or outliers.any()) else global_orient.copy()
    joints = bodies_from_params(global_orient, body_pose, betas, transl)
    return CameraBodies(global_orient, body_pose, betas, transl, joints, outliers)


def depth_error_factor(rng: np.random.Generator, config: SynthConfig, times_s: np.ndarray, num_people: int) -> np.ndarray:
    """(T, P) relative depth error: a constant bias plus a smooth drift, total std ≈ depth_error."""
    period = config.depth_error_period_s
    drift = smooth_signal(rng, num_people, 0.5 * period, 2.0 * period)
    bias = rng.normal(size=num_people)
    error = config.depth_error * np.sqrt(0.5) * (bias[None, :] + drift(times_s))
    return np.clip(error, -0.45, 0.45)
