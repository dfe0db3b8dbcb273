"""Forward kinematics of the SMPL 24-joint tree without a body model file.

Same semantics as `smplx` for joints: rotations are composed from the root down the tree, the root
rotates about the rest pelvis, and `transl` is added last. The built-in rest skeleton
(`humansync_ns.motion.joints.rest_joints`) puts the pelvis at the origin, so the root joint of the
output equals `transl`. Shape (`betas`) is ignored here; use `humansync_ns.body.smpl` for it.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix
from humansync_ns.motion.joints import NUM_BODY_JOINTS, NUM_JOINTS, SMPL_PARENTS, rest_joints


def body_pose_to_matrices(body_pose: np.ndarray) -> np.ndarray:
    """(..., 69) SMPL or (..., 63) SMPL-H/X body pose → (..., 23, 3, 3) local rotations.

    The 63-wide pose has no rotations for the two hand joints; they stay at identity.
    """
    n = body_pose.shape[-1] // 3
    if body_pose.shape[-1] not in (NUM_BODY_JOINTS * 3, 63):
        raise ValueError(f"body_pose must have 69 or 63 values per row, got {body_pose.shape[-1]}")
    local = axis_angle_to_matrix(body_pose.reshape(body_pose.shape[:-1] + (n, 3)))
    if n < NUM_BODY_JOINTS:
        pad = np.broadcast_to(np.eye(3), body_pose.shape[:-1] + (NUM_BODY_JOINTS - n, 3, 3))
        local = np.concatenate([local, pad], axis=-3)
    return local


def forward_kinematics(
    global_orient: np.ndarray,
    body_pose: np.ndarray,
    transl: Optional[np.ndarray] = None,
    rest: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Posed joints (..., 24, 3) from axis-angle root (..., 3) and body pose (..., 69 | 63).

    Args:
        global_orient: root rotation, applied about the rest pelvis.
        body_pose: local rotations of joints 1..23 (or 1..21) relative to their parents.
        transl: added to every joint; zeros when None.
        rest: rest joint positions (24, 3) or (..., 24, 3); the built-in skeleton when None.
    """
    global_orient = np.asarray(global_orient, dtype=np.float64)
    body_pose = np.asarray(body_pose, dtype=np.float64)
    rest = rest_joints() if rest is None else np.asarray(rest, dtype=np.float64)
    batch = global_orient.shape[:-1]
    local = np.concatenate([axis_angle_to_matrix(global_orient)[..., None, :, :], body_pose_to_matrices(body_pose)], axis=-3)
    rest = np.broadcast_to(rest, batch + (NUM_JOINTS, 3))
    world_rot = np.empty(batch + (NUM_JOINTS, 3, 3))
    joints = np.empty(batch + (NUM_JOINTS, 3))
    world_rot[..., 0, :, :] = local[..., 0, :, :]
    joints[..., 0, :] = rest[..., 0, :]
    for j in range(1, NUM_JOINTS):
        parent = SMPL_PARENTS[j]
        world_rot[..., j, :, :] = world_rot[..., parent, :, :] @ local[..., j, :, :]
        bone = rest[..., j, :] - rest[..., parent, :]
        joints[..., j, :] = joints[..., parent, :] + np.einsum("...ab,...b->...a", world_rot[..., parent, :, :], bone)
    if transl is not None:
        joints = joints + np.asarray(transl, dtype=np.float64)[..., None, :]
    return joints
