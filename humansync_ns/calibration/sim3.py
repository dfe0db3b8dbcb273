"""Similarity transforms between point sets: weighted Umeyama and a robust (trimmed) refit.

Convention (column vectors, as everywhere in humansync): a `Sim3(R, t, s)` maps a source point to
the reference frame by

    x_ref = s · R @ x_src + t

Umeyama, "Least-squares estimation of transformation parameters between two point patterns",
TPAMI 1991. Degenerate inputs (too few points, all points on a line, zero spread) raise
`DegenerateAlignmentError` instead of returning an arbitrary rotation; nearly degenerate ones warn.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple, Optional

import numpy as np


class DegenerateAlignmentError(ValueError):
    """The points do not determine a similarity transform (too few, collinear, or coincident)."""


class Sim3(NamedTuple):
    """`x_ref = s · R @ x_src + t`: rotation R (3, 3), translation t (3,), scale s > 0."""

    R: np.ndarray
    t: np.ndarray
    s: float

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) source points → (..., 3) reference points."""
        return self.s * np.asarray(points) @ self.R.T + self.t

    def inverse(self) -> "Sim3":
        R_inv = self.R.T
        return Sim3(R_inv, -(R_inv @ self.t) / self.s, 1.0 / self.s)

    def compose(self, other: "Sim3") -> "Sim3":
        """`self ∘ other`: first `other`, then `self`."""
        return Sim3(self.R @ other.R, self.s * self.R @ other.t + self.t, self.s * other.s)

    def matrix(self) -> np.ndarray:
        """(4, 4) homogeneous matrix [[s R, t], [0, 1]]."""
        out = np.eye(4)
        out[:3, :3] = self.s * self.R
        out[:3, 3] = self.t
        return out

    @staticmethod
    def identity() -> "Sim3":
        return Sim3(np.eye(3), np.zeros(3), 1.0)


def _check_points(src: np.ndarray, dst: np.ndarray, weights: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 3 or src.shape != dst.shape:
        raise ValueError(f"expected two (n, 3) point sets of the same shape, got {src.shape} and {dst.shape}")
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(src),):
        raise ValueError(f"weights must have shape ({len(src)},), got {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        raise ValueError("points contain NaN or inf")
    return src, dst, w


def _rotation_from_covariance(cov: np.ndarray, allow_reflection: bool, what: str) -> tuple[np.ndarray, np.ndarray]:
    """R maximising tr(Rᵀ cov) with det R = +1 (unless reflections are allowed); also the sign matrix."""
    U, sigma, Vt = np.linalg.svd(cov)
    if sigma[0] <= 1e-12 or sigma[1] <= 1e-9 * sigma[0]:
        raise DegenerateAlignmentError(f"{what}: points are collinear or coincident (singular values {sigma}); rotation is undetermined")
    if sigma[1] <= 1e-4 * sigma[0]:
        warnings.warn(f"{what}: points are nearly collinear (singular values {sigma}); the rotation is poorly determined", stacklevel=3)
    signs = np.ones(3)
    if not allow_reflection and np.linalg.det(U) * np.linalg.det(Vt) < 0:
        signs[2] = -1.0  # reflection guard: flip the weakest axis
    return U @ np.diag(signs) @ Vt, sigma * signs


def umeyama(
    src: np.ndarray,
    dst: np.ndarray,
    weights: Optional[np.ndarray] = None,
    with_scale: bool = True,
    allow_reflection: bool = False,
) -> Sim3:
    """Weighted least-squares Sim(3) with `dst ≈ s R src + t`.

    Args:
        src, dst: (n, 3) corresponding points.
        weights: (n,) non-negative weights; uniform when None.
        with_scale: estimate s (otherwise s = 1, a rigid transform).
        allow_reflection: permit det R = −1 (never wanted for cameras).
    """
    src, dst, w = _check_points(src, dst, weights)
    if np.count_nonzero(w) < 3:
        raise DegenerateAlignmentError(f"Sim(3) needs at least 3 weighted points, got {np.count_nonzero(w)}")
    w = w / w.sum()
    mu_src, mu_dst = w @ src, w @ dst
    src_c, dst_c = src - mu_src, dst - mu_dst
    var_src = float(w @ np.sum(src_c**2, axis=1))
    if var_src <= 1e-18:
        raise DegenerateAlignmentError("Sim(3): all source points coincide")
    cov = (dst_c * w[:, None]).T @ src_c
    R, signed_sigma = _rotation_from_covariance(cov, allow_reflection, "Sim(3)")
    s = float(signed_sigma.sum() / var_src) if with_scale else 1.0
    if s <= 0:
        raise DegenerateAlignmentError(f"Sim(3): non-positive scale {s}")
    return Sim3(R, mu_dst - s * R @ mu_src, s)


def fit_rotation(src: np.ndarray, dst: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
    """Rotation R (3, 3) minimising Σ w ‖R src − dst‖² with no translation (Kabsch about the origin).

    Used on root-relative joints, whose origin (the pelvis) is already shared.
    """
    src, dst, w = _check_points(src, dst, weights)
    if np.count_nonzero(w) < 2:
        raise DegenerateAlignmentError(f"rotation needs at least 2 weighted points, got {np.count_nonzero(w)}")
    return rotation_from_covariance((dst * w[:, None]).T @ src)


def rotation_from_covariance(cov: np.ndarray) -> np.ndarray:
    """Kabsch: the rotation R (3, 3) maximising tr(Rᵀ cov) for `cov = Σ w dst srcᵀ`, i.e. minimising
    Σ w ‖R src − dst‖²; raises `DegenerateAlignmentError` when the points are collinear."""
    R, _ = _rotation_from_covariance(cov, False, "rotation")
    return R


def group_residuals(residual: np.ndarray, groups: Optional[np.ndarray]) -> np.ndarray:
    """Per-point residuals replaced by the mean residual of their group (e.g. one body in one frame)."""
    if groups is None:
        return residual
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=residual)
    return (sums / counts)[inverse]


def robust_umeyama(
    src: np.ndarray,
    dst: np.ndarray,
    weights: Optional[np.ndarray] = None,
    groups: Optional[np.ndarray] = None,
    with_scale: bool = True,
    trim_fraction: float = 0.1,
    outlier_factor: float = 3.0,
    iterations: int = 3,
) -> tuple[Sim3, np.ndarray]:
    """Umeyama followed by trimmed refits that drop the worst groups of points.

    Each refit drops the `trim_fraction` of groups (a group is e.g. all joints of one body in one
    frame, so a garbage frame goes as a whole) with the largest mean residual, plus any group whose
    residual exceeds `outlier_factor` × the median. Returns the transform and the (n,) inlier mask.
    """
    src, dst, w = _check_points(src, dst, weights)
    inliers = w > 0
    transform = umeyama(src, dst, w, with_scale=with_scale)
    for _ in range(iterations):
        residual = group_residuals(np.linalg.norm(transform.apply(src) - dst, axis=1), groups)
        keep = residual <= max(np.quantile(residual[w > 0], 1.0 - trim_fraction), 1e-12)
        keep &= residual <= outlier_factor * max(np.median(residual[w > 0]), 1e-12)
        keep &= w > 0
        if np.count_nonzero(keep) < 3 or np.array_equal(keep, inliers):
            break
        inliers = keep
        transform = umeyama(src, dst, w * inliers, with_scale=with_scale)
    return transform, inliers
