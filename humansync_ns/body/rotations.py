"""Rotation conversions in plain numpy (column vectors, right-handed, angles in radians).

Kept free of torch and nerfstudio so the calibration and the motion importers stay light. Every
function takes any leading batch shape `(...)`; `..._batch_last` variants take it last instead.
"""

from __future__ import annotations

import numpy as np

_SMALL_ANGLE = 1e-8


def axis_angle_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues: axis-angle (..., 3) → rotation matrices (..., 3, 3)."""
    entries = axis_angle_to_matrix_batch_last(np.moveaxis(np.asarray(rotvec, dtype=np.float64), -1, 0))
    return np.ascontiguousarray(np.moveaxis(entries, (0, 1), (-2, -1)))


def axis_angle_to_matrix_batch_last(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues with the batch last: axis-angle (3, ...) → rotation matrices (3, 3, ...).

    `R = cos θ I + sin θ [k]× + (1 − cos θ) k kᵀ` entry by entry, each entry one elementwise
    operation over the whole batch (many times faster than stacked 3 × 3 products for the
    10⁵–10⁶ rotations of a long capture's poses). sin θ / θ and (1 − cos θ) / θ² use their Taylor
    limits below 1e-4 rad, so tiny angles stay exact and finite.
    """
    x, y, z = np.asarray(rotvec, dtype=np.float64)
    squared = x * x + y * y + z * z
    angle = np.sqrt(squared)
    small = angle < 1e-4
    safe = np.where(small, 1.0, angle)
    a = np.where(small, 1.0 - squared / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - squared / 24.0, (1.0 - np.cos(safe)) / (safe * safe))
    c = 1.0 - b * squared  # cos θ
    bx, by, bz, ax, ay, az = b * x, b * y, b * z, a * x, a * y, a * z
    return np.array(
        [
            [c + bx * x, bx * y - az, bx * z + ay],
            [bx * y + az, c + by * y, by * z - ax],
            [bx * z - ay, by * z + ax, c + bz * z],
        ]
    )


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) → axis-angle (..., 3), angle in [0, π]; exact near 0 and π."""
    R = np.asarray(R, dtype=np.float64)
    cos = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    vee = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    sin = np.sin(angle)
    generic = vee * (angle / np.where(sin > _SMALL_ANGLE, 2.0 * sin, 1.0))[..., None]
    small = angle < 1e-4
    generic = np.where(small[..., None], vee / 2.0, generic)
    # Near π the antisymmetric part vanishes: read the axis off the symmetric part instead.
    near_pi = angle > np.pi - 1e-3
    if np.any(near_pi):
        S = (R[near_pi] + np.swapaxes(R[near_pi], -1, -2)) / 2.0 - np.eye(3) * cos[near_pi][..., None, None]
        # S = (1 − cos θ) a aᵀ; take its largest column as the axis and fix the sign with `vee`.
        col = np.argmax(np.linalg.norm(S, axis=-1), axis=-1)
        axis = S[np.arange(len(col)), :, col]
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        sign = np.where(np.sum(axis * vee[near_pi], -1) < 0, -1.0, 1.0)
        generic[near_pi] = axis * (sign * angle[near_pi])[..., None]
    return generic


def rotation_angle_deg(R_a: np.ndarray, R_b: np.ndarray) -> np.ndarray:
    """Geodesic angle between rotations (..., 3, 3), in degrees."""
    R = np.swapaxes(R_a, -1, -2) @ R_b
    cos = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def is_proper_rotation(R: np.ndarray, atol: float = 1e-4) -> np.ndarray:
    """(..., 3, 3) → (...) bool: finite, orthonormal (every entry of R Rᵀ − I within `atol`) and with
    det +1.

    A scaled, sheared or reflected matrix (or one with NaNs) is not: its "rotation angle" would be
    meaningless, and arccos clipping would even score a scaled identity as 0°.
    """
    R = np.asarray(R, dtype=np.float64)
    finite = np.all(np.isfinite(R), axis=(-2, -1))
    R = np.where(finite[..., None, None], R, 0.0)
    gram_error = np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max(axis=(-2, -1))
    return finite & (gram_error <= atol) & (np.linalg.det(R) > 0)


def look_at_opencv(camera_center: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """(4, 4) OpenCV camera-to-world of a camera at `camera_center` looking at `target`.

    OpenCV axes: z forward (towards the target), y down (against `up`), x right.
    """
    forward = target - camera_center
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("look_at_opencv: viewing direction is parallel to the up vector")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([right, down, forward], axis=1)
    c2w[:3, 3] = camera_center
    return c2w


def random_rotation(rng: np.random.Generator, size: tuple[int, ...] = ()) -> np.ndarray:
    """Uniformly distributed rotation matrices of shape size + (3, 3)."""
    q = rng.normal(size=size + (4,))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )
