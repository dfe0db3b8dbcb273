"""Canonical (paper Eq. 3) and global (Eq. 6) joints of a motion track.

- Canonical joints: the body's pose and shape without its global orientation or position, i.e.
  the body model evaluated with root rotation 0, minus the root joint. They are the same in every
  video at the same instant, which is what the time alignment compares.
- Global joints: the body model with root rotation and translation, in the track's own frame (the
  camera frame, or the estimator's world for a moving camera); the pose alignment compares these.

Without SMPL parameters the canonical joints come from the joints themselves: the pelvis, hips and
spine1 hang off the root with fixed rest offsets, so the frame they span is the root rotation times
the same frame in the rest pose. Undoing that rotation gives Eq. 3 exactly for the built-in
skeleton, and up to the small shape difference of the rest offsets for other bodies.

Rows where the track is invalid come back as NaN.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import numpy as np

from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.joints import JOINT_INDEX, rest_joints

CanonicalSource = Literal["auto", "params", "joints"]

_PELVIS, _LEFT_HIP, _RIGHT_HIP, _SPINE1 = (JOINT_INDEX[n] for n in ("pelvis", "left_hip", "right_hip", "spine1"))


def pelvis_frame(joints: np.ndarray) -> np.ndarray:
    """(..., 24, 3) joints → (..., 3, 3) orthonormal frame with columns (left, up, forward).

    x points from the right hip to the left hip, y from the pelvis towards spine1 made orthogonal
    to x, z = x × y (out of the chest), matching SMPL's body axes (+X left, +Y up, +Z forward).
    """
    x = joints[..., _LEFT_HIP, :] - joints[..., _RIGHT_HIP, :]
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    up = joints[..., _SPINE1, :] - joints[..., _PELVIS, :]
    y = up - np.sum(up * x, axis=-1, keepdims=True) * x
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def root_rotation_from_joints(joints: np.ndarray, rest: Optional[np.ndarray] = None) -> np.ndarray:
    """(..., 24, 3) posed joints → (..., 3, 3) root rotation R with `pelvis_frame = R @ pelvis_frame(rest)`."""
    rest = rest_joints() if rest is None else rest
    return pelvis_frame(joints) @ pelvis_frame(rest).T


def _invalid_to_nan(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    ok = valid & np.all(np.isfinite(values), axis=(-2, -1))
    return np.where(ok[..., None, None], values, np.nan)


def _safe_params(track: MotionTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SMPL arrays with invalid rows zeroed (they may hold NaN) and betas broadcast to (T, P, B)."""
    valid = track.valid
    orient = np.where(valid[..., None], np.nan_to_num(track.global_orient), 0.0)
    pose = np.where(valid[..., None], np.nan_to_num(track.body_pose), 0.0)
    transl = np.where(valid[..., None], np.nan_to_num(track.transl), 0.0)
    betas = np.broadcast_to(track.betas[None], (track.num_frames,) + track.betas.shape)
    return orient, pose, betas, transl


def _resolve_source(track: MotionTrack, source: CanonicalSource) -> str:
    if source == "auto":
        return "params" if track.has_smpl else "joints"
    if source == "params" and not track.has_smpl:
        raise ValueError(f"video '{track.name}' ({track.source}): canonical joints from SMPL parameters asked for, but the track has none")
    if source == "joints" and track.joints is None:
        raise ValueError(f"video '{track.name}' ({track.source}): canonical joints from joints asked for, but the track has no 'joints'")
    return source


def canonical_joints(track: MotionTrack, body_model: Any = None, source: CanonicalSource = "auto") -> np.ndarray:
    """Eq. 3: (T, P, 24, 3) root-relative joints with the root rotation set to zero (metres).

    Args:
        track: the motion of one video.
        body_model: optional `SmplBodyModel` (`.joints(global_orient, body_pose, betas, transl)`);
            the built-in skeleton's forward kinematics when None.
        source: "params" (SMPL parameters), "joints" (remove the pelvis frame from the joints), or
            "auto" (parameters when present). Use one source for all videos of a capture.
    """
    source = _resolve_source(track, source)
    if source == "params":
        _, pose, betas, _ = _safe_params(track)
        zeros = np.zeros(track.valid.shape + (3,))
        if body_model is not None:
            joints = np.asarray(body_model.joints(zeros, pose, betas, zeros), dtype=np.float64)
        else:
            joints = forward_kinematics(zeros, pose)
    else:
        posed = np.where(track.valid[..., None, None], np.asarray(track.joints, dtype=np.float64), np.nan)
        rotation = root_rotation_from_joints(posed)
        # Rᵀ (x − pelvis) for row vectors is (x − pelvis) @ R.
        joints = (posed - posed[..., _PELVIS : _PELVIS + 1, :]) @ rotation
        return _invalid_to_nan(joints, track.valid)
    joints = joints - joints[..., _PELVIS : _PELVIS + 1, :]
    return _invalid_to_nan(joints, track.valid)


def global_joints(track: MotionTrack, body_model: Any = None) -> np.ndarray:
    """Eq. 6: (T, P, 24, 3) joints with root rotation and translation, in the track's frame.

    The track's own `joints` when present (they already are Eq. 6 of the estimator's body model),
    otherwise the body model (or the built-in skeleton) evaluated on the SMPL parameters.
    """
    if track.joints is not None:
        return _invalid_to_nan(np.asarray(track.joints, dtype=np.float64), track.valid)
    orient, pose, betas, transl = _safe_params(track)
    if body_model is not None:
        joints = np.asarray(body_model.joints(orient, pose, betas, transl), dtype=np.float64)
    else:
        joints = forward_kinematics(orient, pose, transl)
    return _invalid_to_nan(joints, track.valid)
