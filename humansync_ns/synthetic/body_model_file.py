"""A synthetic SMPL-format body model, so the `smplx` code path runs without the licensed files.

The model is a small sphere ("blob") of vertices around each joint of the built-in rest skeleton.
Its joint regressor averages each blob, and each blob is centred exactly on its joint, so
`J_regressor @ v_template == rest_joints()`. It has SMPL's 6890 vertices because `smplx` picks
extra keypoints (nose, toes, finger tips) by fixed SMPL vertex ids in every forward pass; with
fewer vertices those look-ups fail. Shape space (10 betas): beta 0 scales the body about the pelvis,
beta 1 its height, beta 2 its width and depth; betas 3..9 only swell or shrink blobs and leave the
joints where they are. Pose blend shapes are zero.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np

from humansync_ns.motion.joints import NUM_JOINTS, SMPL_PARENTS, rest_joints

NUM_VERTICES = 6890
"""SMPL's vertex count (see the module docstring for why a small model needs it)."""
NUM_BETAS = 10
NUM_POSE_BASIS = 9 * (NUM_JOINTS - 1)
"""207: smplx's pose-feature length (23 rotation matrices minus identity)."""
BLOB_RADIUS_M = 0.04
SCALE_PER_BETA = 0.05
"""Relative size change of the whole body per unit of beta 0."""
AXIS_SCALE_PER_BETA = 0.04
"""Relative height (beta 1) or width/depth (beta 2) change per unit."""
_BLOB_MODE_SEED = 20240607


def _fibonacci_sphere(n: int) -> np.ndarray:
    """(n, 3) nearly uniform unit vectors, centred so their mean is zero."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(np.clip(1.0 - z**2, 0.0, None))
    theta = np.pi * (1.0 + np.sqrt(5.0)) * i
    points = np.stack([r * np.cos(theta), r * np.sin(theta), z], axis=1)
    return points - points.mean(axis=0)


def _outward_hull(points: np.ndarray) -> np.ndarray:
    """Triangles of the convex hull of a centred point set, wound counter-clockwise from outside."""
    from scipy.spatial import ConvexHull

    faces = ConvexHull(points).simplices.copy()
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    inward = np.sum(np.cross(b - a, c - a) * (a + b + c), axis=1) < 0
    faces[inward] = faces[inward][:, ::-1]
    return faces


@functools.lru_cache(maxsize=1)
def _geometry() -> dict[str, np.ndarray]:
    """Vertices, their owning joint, regressor and shape space (everything but the faces)."""
    joints = rest_joints()
    groups = np.array_split(np.arange(NUM_VERTICES), NUM_JOINTS)
    v_template = np.empty((NUM_VERTICES, 3))
    owner = np.empty(NUM_VERTICES, dtype=np.int64)
    J_regressor = np.zeros((NUM_JOINTS, NUM_VERTICES))
    for j, index in enumerate(groups):
        v_template[index] = joints[j] + BLOB_RADIUS_M * _fibonacci_sphere(len(index))
        owner[index] = j
        J_regressor[j, index] = 1.0 / len(index)

    shapedirs = np.zeros((NUM_VERTICES, 3, NUM_BETAS))
    shapedirs[:, :, 0] = SCALE_PER_BETA * v_template  # pelvis is at the origin, so it stays put
    shapedirs[:, 1, 1] = AXIS_SCALE_PER_BETA * v_template[:, 1]
    shapedirs[:, 0, 2] = AXIS_SCALE_PER_BETA * v_template[:, 0]
    shapedirs[:, 2, 2] = AXIS_SCALE_PER_BETA * v_template[:, 2]
    blob_offsets = v_template - joints[owner]
    rng = np.random.default_rng(_BLOB_MODE_SEED)
    for k in range(3, NUM_BETAS):
        swell = rng.uniform(-0.3, 0.3, size=NUM_JOINTS)  # per-joint blob growth; offsets stay mean-zero
        shapedirs[:, :, k] = swell[owner, None] * blob_offsets
    return {"v_template": v_template, "owner": owner, "J_regressor": J_regressor, "shapedirs": shapedirs}


@functools.lru_cache(maxsize=1)
def _faces() -> np.ndarray:
    geometry = _geometry()
    faces = []
    for j in range(NUM_JOINTS):
        index = np.flatnonzero(geometry["owner"] == j)
        faces.append(index[0] + _outward_hull(geometry["v_template"][index] - rest_joints()[j]))
    return np.concatenate(faces).astype(np.int64)


def synthetic_smpl_arrays() -> dict[str, np.ndarray]:
    """The model's arrays, keyed as in SMPL's model files (what `smplx.SMPL` reads); fresh copies."""
    geometry = _geometry()
    weights = np.zeros((NUM_VERTICES, NUM_JOINTS))
    weights[np.arange(NUM_VERTICES), geometry["owner"]] = 1.0
    kintree_table = np.stack([np.array(SMPL_PARENTS, dtype=np.int64), np.arange(NUM_JOINTS, dtype=np.int64)])
    return {
        "v_template": geometry["v_template"].copy(),
        "f": _faces().copy(),
        "shapedirs": geometry["shapedirs"].copy(),
        "posedirs": np.zeros((NUM_VERTICES, 3, NUM_POSE_BASIS), dtype=np.float32),
        "J_regressor": geometry["J_regressor"].copy(),
        "weights": weights,
        "kintree_table": kintree_table,
    }


@functools.lru_cache(maxsize=1)
def joint_shape_basis() -> np.ndarray:
    """(24, 3, 10) = J_regressor @ shapedirs: how each beta moves each rest joint."""
    geometry = _geometry()
    return np.einsum("jv,vdk->jdk", geometry["J_regressor"], geometry["shapedirs"])


def rest_joints_for_betas(betas: np.ndarray) -> np.ndarray:
    """Rest joints (..., 24, 3) of the synthetic model with shape `betas` (..., 10) (or more: extra
    coefficients have no shape direction in this model and are ignored, as `smplx` does)."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.shape[-1] < NUM_BETAS:
        raise ValueError(f"betas must have at least {NUM_BETAS} coefficients, got shape {betas.shape}")
    return rest_joints() + np.einsum("jdk,...k->...jd", joint_shape_basis(), betas[..., :NUM_BETAS])


def write_synthetic_smpl_model(path: str | Path) -> Path:
    """Writes the model to `path`: compressed `.npz` (small), or `.pkl` (what `smplx.create` reads
    directly for SMPL; ~20 MB because the zero pose blend shapes are stored uncompressed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = synthetic_smpl_arrays()
    if path.suffix == ".npz":
        np.savez_compressed(path, **arrays)
    elif path.suffix == ".pkl":
        with open(path, "wb") as handle:
            pickle.dump(dict(arrays), handle, protocol=2)
    else:
        raise ValueError(f"{path}: body model files must end in .npz or .pkl")
    return path
