"""Forward kinematics of the SMPL 24-joint tree without a body model file.

Same semantics as `smplx` for joints: rotations are composed from the root down the tree, the root
rotates about the rest pelvis, and `transl` is added last. The built-in rest skeleton
(`humansync_ns.motion.joints.rest_joints`) puts the pelvis at the origin, so the root joint of the
output equals `transl`. Shape (`betas`) is ignored here; use `humansync_ns.body.smpl` for it.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix_batch_last
from humansync_ns.motion.joints import NUM_BODY_JOINTS, NUM_JOINTS, SMPL_PARENTS, rest_joints

_PARENTS = np.array(SMPL_PARENTS)


def _tree_levels() -> tuple[np.ndarray, ...]:
    """Joints 1…23 grouped by depth in the tree: each group's parents all lie in earlier groups."""
    depth = [0] * NUM_JOINTS
    for j in range(1, NUM_JOINTS):
        depth[j] = depth[SMPL_PARENTS[j]] + 1
    return tuple(np.array([j for j in range(1, NUM_JOINTS) if depth[j] == d]) for d in range(1, max(depth) + 1))


_LEVELS = _tree_levels()
_HAS_CHILDREN = np.isin(np.arange(NUM_JOINTS), _PARENTS[1:])
"""Joints whose world rotation moves another joint (the leaves' never does)."""
_CHUNK_ROWS = 256
"""Rows posed at a time: the temporaries stay a few hundred kB, which malloc reuses, where whole long
videos at once would take fresh pages (page faults) for every array."""


def forward_kinematics(
    global_orient: np.ndarray,
    body_pose: np.ndarray,
    transl: Optional[np.ndarray] = None,
    rest: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Posed joints (..., 24, 3) from axis-angle root (..., 3) and body pose (..., 69 | 63).

    Args:
        global_orient: root rotation, applied about the rest pelvis.
        body_pose: local rotations of joints 1..23 (or 1..21: SMPL-H/X, whose two hand joints
            then stay unrotated relative to the wrists) relative to their parents.
        transl: added to every joint; zeros when None.
        rest: rest joint positions (24, 3) or (..., 24, 3); the built-in skeleton when None.
    """
    global_orient = np.asarray(global_orient, dtype=np.float64)
    body_pose = np.asarray(body_pose, dtype=np.float64)
    if body_pose.shape[-1] not in (NUM_BODY_JOINTS * 3, 63):
        raise ValueError(f"body_pose must have 69 or 63 values per row, got {body_pose.shape[-1]}")
    batch = global_orient.shape[:-1]
    rows = int(np.prod(batch, dtype=np.int64))
    rotvecs = np.concatenate([global_orient.reshape(rows, 3), body_pose.reshape(rows, -1)], axis=1).reshape(rows, -1, 3)
    rest = rest_joints() if rest is None else np.asarray(rest, dtype=np.float64)
    rest = rest[None] if rest.ndim == 2 else np.broadcast_to(rest, batch + (NUM_JOINTS, 3)).reshape(rows, NUM_JOINTS, 3)
    out = np.empty((rows, NUM_JOINTS, 3))
    for lo in range(0, rows, _CHUNK_ROWS):
        block = slice(lo, lo + _CHUNK_ROWS)
        out[block] = _posed_rows(rotvecs[block], rest if len(rest) == 1 else rest[block])
    out = out.reshape(batch + (NUM_JOINTS, 3))
    if transl is not None:
        out = out + np.asarray(transl, dtype=np.float64)[..., None, :]
    return out


def _posed_rows(rotvecs: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Joints (n, 24, 3) at the origin from axis-angle rotations (n, 22 | 24, 3) and rest joints (1 | n, 24, 3).

    The work runs with the rows last: every rotation entry and coordinate is one vector over the
    rows, and the joints of one depth of the tree are posed together (8 steps, each a few large
    elementwise products, instead of 23 stacked 3 × 3 products per row).
    """
    local = axis_angle_to_matrix_batch_last(rotvecs.T)  # (3, 3, 22 | 24, n): relative to the parent
    rest = rest.T  # (3, 24, n | 1)
    bones = rest - rest[:, _PARENTS]  # bone j from its parent (unused for the root)
    world = np.empty((3, 3, NUM_JOINTS, len(rotvecs)))  # world rotations, filled for joints with children
    joints = np.empty((3, NUM_JOINTS, len(rotvecs)))
    world[:, :, 0], joints[:, 0] = local[:, :, 0], rest[:, 0]
    for level in _LEVELS:
        parent_rotation = world[:, :, _PARENTS[level]]  # (3, 3, k, n)
        joints[:, level] = joints[:, _PARENTS[level]] + (parent_rotation * bones[None, :, level]).sum(1)
        inner = level[_HAS_CHILDREN[level]]
        if len(inner):
            world[:, :, inner] = (world[:, :, None, _PARENTS[inner]] * local[None, :, :, inner]).sum(1)  # Σ_b P[a, b] L[b, c]
    return joints.T
