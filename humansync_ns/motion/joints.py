"""The SMPL 24-joint kinematic tree: joint names, parents and a rest skeleton.

The order is SMPL's own, so joints from `smplx`, from the built-in skeleton and from the motion
files can be compared index by index. The rest skeleton is an average adult in SMPL's body frame
(+Y up, +Z forward, +X to the body's left), metres, pelvis at the origin; the synthetic body model
file is built so that `smplx` regresses exactly these joints from its template.
"""

from __future__ import annotations

import numpy as np

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
NUM_JOINTS = len(SMPL_JOINT_NAMES)
NUM_BODY_JOINTS = NUM_JOINTS - 1
"""Joints with a rotation in `body_pose` (all but the pelvis): 23 × 3 = 69 SMPL parameters."""

SMPL_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
"""Parent of each joint (-1 for the root); every parent precedes its children."""

JOINT_INDEX = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}

# Offsets of each joint from its parent in the rest pose (metres, SMPL body frame).
_REST_OFFSETS = np.array(
    [
        [0.000, 0.000, 0.000],  # pelvis (root, placed at the origin)
        [0.070, -0.090, -0.005],  # left_hip
        [-0.070, -0.090, -0.005],  # right_hip
        [0.000, 0.110, -0.025],  # spine1
        [0.035, -0.380, 0.005],  # left_knee
        [-0.035, -0.380, 0.005],  # right_knee
        [0.000, 0.135, 0.025],  # spine2
        [-0.010, -0.420, -0.040],  # left_ankle
        [0.010, -0.420, -0.040],  # right_ankle
        [0.000, 0.055, 0.005],  # spine3
        [0.020, -0.060, 0.120],  # left_foot
        [-0.020, -0.060, 0.120],  # right_foot
        [0.000, 0.215, -0.030],  # neck
        [0.075, 0.120, -0.010],  # left_collar
        [-0.075, 0.120, -0.010],  # right_collar
        [0.000, 0.090, 0.050],  # head
        [0.090, 0.040, -0.020],  # left_shoulder
        [-0.090, 0.040, -0.020],  # right_shoulder
        [0.260, -0.015, -0.020],  # left_elbow
        [-0.260, -0.015, -0.020],  # right_elbow
        [0.250, 0.010, 0.000],  # left_wrist
        [-0.250, 0.010, 0.000],  # right_wrist
        [0.085, -0.010, -0.015],  # left_hand
        [-0.085, -0.010, -0.015],  # right_hand
    ],
    dtype=np.float64,
)


def rest_joints() -> np.ndarray:
    """Rest-pose joint positions (24, 3) of the built-in skeleton, pelvis at the origin."""
    joints = np.zeros_like(_REST_OFFSETS)
    for j, parent in enumerate(SMPL_PARENTS):
        if parent >= 0:
            joints[j] = joints[parent] + _REST_OFFSETS[j]
    return joints
