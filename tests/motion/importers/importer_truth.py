"""Known SMPL parameters to write in each estimator's layout, and the checks they share.

A helper module (not a test file): the importer tests import it by name.
"""

import joblib
import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix
from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.motion.joints import rest_joints

REST_PELVIS = np.array([0.002, -0.24, 0.028])
"""A rest pelvis away from the origin (as in real SMPL models), so a mix-up of transl conventions shows."""


def random_rotvecs(rng: np.random.Generator, shape: tuple, max_angle: float = 2.5) -> np.ndarray:
    """Axis-angle vectors with angles below `max_angle` < π, where axis-angle is unique."""
    axes = rng.normal(size=shape + (3,))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    return axes * rng.uniform(0.05, max_angle, size=shape + (1,))


class SmplTruth:
    """F frames of one body's SMPL parameters (axis-angle, smplx transl), seeded."""

    def __init__(self, rng: np.random.Generator, F: int, pose_width: int = 69, num_betas: int = 10):
        self.global_orient = random_rotvecs(rng, (F,))
        self.body_pose = random_rotvecs(rng, (F, pose_width // 3), max_angle=1.0).reshape(F, pose_width)
        self.transl = rng.normal(size=(F, 3)) + np.array([0.0, 0.0, 4.0])
        self.betas = rng.normal(size=(num_betas,))

    def joints(self, global_orient=None, transl=None) -> np.ndarray:
        """(F, 24, 3) joints of this body, posed by the built-in skeleton around REST_PELVIS."""
        rest = rest_joints() + REST_PELVIS
        return forward_kinematics(
            self.global_orient if global_orient is None else global_orient,
            self.body_pose,
            self.transl if transl is None else transl,
            rest=rest,
        )


def to_world(truth: SmplTruth, world_to_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-frame (global_orient, transl) of a camera-frame body, for per-frame OpenCV w2c (F, 4, 4).

    x_w = Rᵀ (x_c − t) for every joint; the root rotates about the rest pelvis J0, so
    transl_w = Rᵀ (J0 + transl_c − t) − J0.
    """
    from scipy.spatial.transform import Rotation

    R, t = world_to_camera[:, :3, :3], world_to_camera[:, :3, 3]
    R_c = axis_angle_to_matrix(truth.global_orient)
    R_w = np.swapaxes(R, -1, -2) @ R_c
    transl_w = np.einsum("fji,fj->fi", R, REST_PELVIS + truth.transl - t) - REST_PELVIS
    return Rotation.from_matrix(R_w).as_rotvec(), transl_w


def random_world_to_camera(rng: np.random.Generator, F: int) -> np.ndarray:
    w2c = np.tile(np.eye(4), (F, 1, 1))
    w2c[:, :3, :3] = axis_angle_to_matrix(random_rotvecs(rng, (F,), max_angle=3.0))
    w2c[:, :3, 3] = rng.normal(size=(F, 3))
    return w2c


def apply_w2c(world_to_camera: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(F, 4, 4) applied to (F, J, 3) points."""
    return np.einsum("fij,fkj->fki", world_to_camera[:, :3, :3], points) + world_to_camera[:, None, :3, 3]


class CreatesFile:
    """Unpickling this object calls `open(path, "w")`: a crafted pickle's payload, harmless but visible."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# PHALP / 4D-Humans layout, shared by the PHALP and CLI tests
PHALP_H, PHALP_W = 480, 854
PHALP_NUM_FRAMES = 6


def phalp_smpl_entry(truth, i):
    """`pred_smpl_params[i]` as PHALP stores it: rotation matrices, float32."""
    return {
        "global_orient": axis_angle_to_matrix(truth.global_orient[i])[None].astype(np.float32),
        "body_pose": axis_angle_to_matrix(truth.body_pose[i].reshape(23, 3)).astype(np.float32),
        "betas": truth.betas.astype(np.float32),
    }


def write_phalp_tracks(path, truths, detected, ghosts=()):
    """A PHALP tracking pickle (`PHALP.track` layout) for tracks `truths[tid]`.

    `detected[tid]`: frames where track tid is detected; `ghosts`: (tid, frame) pairs kept in `tid`
    but not in `tracked_ids`, as PHALP does for a confirmed track that was not seen.
    """
    frames = {}
    for t in range(PHALP_NUM_FRAMES):
        frame = {"time": t, "shot": 0, "frame_path": f"vid/{t:06d}.jpg"}
        for key in ("tid", "tracked_ids", "smpl", "camera", "camera_bbox", "size", "3d_joints", "bbox", "tracked_time"):
            frame[key] = []
        for tid, truth in truths.items():
            is_ghost = (tid, t) in ghosts
            if t not in detected[tid] and not is_ghost:
                continue
            i = t if t < len(truth.transl) else 0
            frame["tid"].append(tid)
            if not is_ghost:
                frame["tracked_ids"].append(tid)
            frame["smpl"].append(phalp_smpl_entry(truth, i))
            frame["camera"].append(truth.transl[i].astype(np.float32))
            frame["camera_bbox"].append(np.array([1.0, 0.0, 0.0], dtype=np.float32))
            frame["size"].append([PHALP_H, PHALP_W])
            frame["3d_joints"].append(np.zeros((45, 3), dtype=np.float32))
            frame["bbox"].append(np.array([10.0, 20.0, 100.0, 200.0]))
            frame["tracked_time"].append(1 if is_ghost else 0)
        frames[f"vid/{t:06d}.jpg"] = frame
    joblib.dump(frames, path, compress=3)
    return path
