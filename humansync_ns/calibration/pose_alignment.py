"""Camera poses from synchronized human motion (paper Sec. 3.2 "Camera pose estimation").

Input: every video's global joints (Eq. 6, in its own frame) sampled at the same global instants,
shape (N, S, P, 24, 3) with validity (N, S, P), plus, for moving cameras, the camera centre in the
video's frame at each instant. Output: one `Sim3` per video mapping its frame into the reference
video's frame (`x_ref = s R x_v + t`); the reference gets the identity.

Two methods:

- "procrustes" (the paper): Umeyama Sim(3) of each video's joints onto the reference's over all
  synchronized instants and people (robust variant: trimmed refits dropping garbage bodies).
- "bearings" (shared/notes/calibration-accuracy.md): rotations from root-relative joints (blind to
  the monocular depth error), refined as a generalized Procrustes against all other videos; then
  all camera centres (and the people's world joints) from one linear least-squares problem whose
  residual is each joint's perpendicular distance to each camera's viewing ray, with the estimated
  depth only as a weak prior that fixes the metric scale. The joints are eliminated in closed form
  (Schur complement), leaving a dense 3(N−1) system; outlier observations are trimmed and the
  system solved again. Scale stays 1: every estimator gives metric bodies. By default only the
  pelvis rays enter: a monocular estimator with a depth error slides the whole (rigid, metric)
  body along the pelvis ray, so the other joints' bearings are off by about depth error × body
  size / distance; measured on the synthetic captures, pelvis-only halves the translation error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from typing_extensions import assert_never

from humansync_ns.calibration.bundle import refine_bearings
from humansync_ns.calibration.sim3 import DegenerateAlignmentError, Sim3, robust_umeyama, rotation_from_covariance, umeyama
from humansync_ns.motion.joints import JOINT_INDEX

PoseMethod = Literal["procrustes", "bearings"]
_PELVIS = JOINT_INDEX["pelvis"]


@dataclass
class PoseOptions:
    method: PoseMethod = "bearings"
    robust: bool = True
    """Trimmed refits that drop garbage bodies (Procrustes) / outlier observations (bearings)."""
    trim_fraction: float = 0.1
    min_samples: int = 10
    """Synchronized (instant, person) bodies needed to align a video."""
    depth_prior_weight: float = 0.0005
    """Bearings: weight of the estimated depth relative to the perpendicular ray distance."""
    max_points: int = 6000
    """Bearings: joints (instant × person × joint) used in the linear solve, subsampled in time."""
    rotation_iterations: int = 3
    bundle_adjust: bool = False
    """Bearings: refine rotations and centres jointly on the bearings (`bundle.refine_bearings`).
    Off by default: on the synthetic captures it helped some and hurt others (pelvis rays alone
    constrain a camera's roll weakly) and costs ~1 s per 8-camera capture."""
    bearing_joints: tuple[int, ...] = (_PELVIS,)
    """Bearings: joints whose viewing rays enter the solve. The pelvis alone by default: an
    estimator slides the whole body along the pelvis ray, so only that bearing stays exact."""


@dataclass
class PoseResult:
    transforms: list[Optional[Sim3]]
    """Per video, its frame → reference frame; None for videos that could not be aligned."""
    reasons: dict[int, str]
    """Why a video has no transform."""


def align_poses(
    joints: np.ndarray, valid: np.ndarray, reference: int, options: PoseOptions, camera_centers: Optional[np.ndarray] = None
) -> PoseResult:
    """Dispatch to the chosen method; see the module docstring for shapes."""
    joints = np.asarray(joints, dtype=np.float64)
    N, S, P = valid.shape
    if joints.shape != (N, S, P, 24, 3):
        raise ValueError(f"align_poses: joints must have shape {(N, S, P, 24, 3)}, got {joints.shape}")
    valid = valid & np.all(np.isfinite(joints), axis=(-2, -1))
    if np.any(joints[~valid]):  # the methods need zeros there; copy only then (the array can be large)
        joints = np.where(valid[..., None, None], joints, 0.0)
    centers = np.zeros((N, S, 3)) if camera_centers is None else np.nan_to_num(np.asarray(camera_centers, dtype=np.float64))
    if options.method == "procrustes":
        return procrustes_poses(joints, valid, reference, options)
    if options.method == "bearings":
        return bearing_poses(joints, valid, reference, options, centers)
    assert_never(options.method)


def _alignment_order(valid: np.ndarray, reference: int) -> list[int]:
    """Videos sorted by how many bodies they share with the reference (most first)."""
    shared = np.sum(valid & valid[reference][None], axis=(1, 2))
    return [int(v) for v in np.argsort(-shared, kind="stable") if v != reference]


def _target(world: np.ndarray, world_valid: np.ndarray, v: int, reference: int, min_samples: int, exclude_self: bool) -> tuple[np.ndarray, np.ndarray]:
    """The reference's bodies when they overlap video v enough, else the mean of the aligned ones."""
    if not exclude_self and np.count_nonzero(world_valid[reference] & world_valid[v]) >= min_samples:
        return world[reference], world_valid[reference]
    others = world_valid.copy()
    others[v] = False
    count = others.sum(0)
    mean = np.where(others[..., None, None], world, 0.0).sum(0) / np.maximum(count, 1)[..., None, None]
    return mean, count > 0


def procrustes_poses(joints: np.ndarray, valid: np.ndarray, reference: int, options: PoseOptions) -> PoseResult:
    """Paper Eq. 7: Sim(3) of each video's global joints onto the reference's (robust: trimmed)."""
    N, S, P = valid.shape
    transforms: list[Optional[Sim3]] = [None] * N
    reasons: dict[int, str] = {}
    transforms[reference] = Sim3.identity()
    world = np.where(valid[..., None, None], joints, 0.0)
    world_valid = np.zeros_like(valid)
    world_valid[reference] = valid[reference]
    groups = np.broadcast_to(np.arange(S * P).reshape(S, P, 1), (S, P, 24))
    for v in _alignment_order(valid, reference):
        target, target_valid = _target(world, world_valid, v, reference, options.min_samples, exclude_self=False)
        mask = valid[v] & target_valid
        if np.count_nonzero(mask) < options.min_samples:
            reasons[v] = f"only {np.count_nonzero(mask)} synchronized bodies shared with the aligned videos (need {options.min_samples})"
            continue
        src, dst, grp = joints[v][mask].reshape(-1, 3), target[mask].reshape(-1, 3), groups[mask].reshape(-1)
        try:
            if options.robust:
                transforms[v], _ = robust_umeyama(src, dst, groups=grp, trim_fraction=options.trim_fraction)
            else:
                transforms[v] = umeyama(src, dst)
        except DegenerateAlignmentError as err:
            reasons[v] = f"degenerate body motion for Procrustes ({err})"
            continue
        world[v] = np.where(valid[v][..., None, None], transforms[v].apply(joints[v]), 0.0)
        world_valid[v] = valid[v]
    return PoseResult(transforms, reasons)


def _robust_rotation(src: np.ndarray, dst: np.ndarray, options: PoseOptions) -> np.ndarray:
    """Kabsch on bodies (n, 24, 3), with trimmed refits dropping whole bodies when robust.

    A refit's covariance is the full one minus the dropped bodies' (a tenth of them), not a new sum,
    and the residuals of every refit go through one scratch array (this runs for every video in
    every pass: fresh arrays of this size cost page faults)."""
    src_flat, dst_flat = src.reshape(-1, 3), dst.reshape(-1, 3)
    covariance = dst_flat.T @ src_flat
    R = rotation_from_covariance(covariance)
    if not options.robust:
        return R
    keep = np.ones(len(src), dtype=bool)
    squared = np.empty_like(src_flat)
    for _ in range(3):
        np.matmul(src_flat, np.ascontiguousarray(R.T), out=squared)  # (BLAS is 3x slower on the transposed view)
        squared -= dst_flat
        squared *= squared
        residual = np.sqrt(squared[:, 0] + squared[:, 1] + squared[:, 2]).reshape(len(src), -1).mean(-1)  # per body: mean joint distance
        median, upper = np.quantile(residual, [0.5, 1.0 - options.trim_fraction])
        new_keep = residual <= min(upper, 3.0 * median) + 1e-12
        if np.count_nonzero(new_keep) < 3 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
        R = rotation_from_covariance(covariance - dst[~keep].reshape(-1, 3).T @ src[~keep].reshape(-1, 3))
    return R


def _bodies(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`array[mask]`, (n, ...) for a (S, P) mask, as a view when the mask keeps everything."""
    return array.reshape((-1,) + array.shape[mask.ndim :]) if mask.all() else array[mask]


def root_relative_rotations(joints: np.ndarray, valid: np.ndarray, reference: int, options: PoseOptions) -> tuple[list[Optional[np.ndarray]], dict[int, str]]:
    """Generalized Procrustes on root-relative joints: R_v with `R_v (x − pelvis)_v ≈ (x − pelvis)_ref`.

    First pass: each video against the reference (or, without overlap, the mean of the videos
    aligned so far). Later passes: each video against the mean of all the others.
    """
    N = valid.shape[0]
    rotations: list[Optional[np.ndarray]] = [None] * N
    rotations[reference] = np.eye(3)
    reasons: dict[int, str] = {}
    relative_v, rotated = np.empty(joints.shape[1:]), np.empty(joints.shape[1:])  # scratch arrays for one video

    def relative(v: int, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Video v's root-relative bodies, zero where invalid (made per visit: all videos' at once
        would be the largest array of the calibration)."""
        out = np.subtract(joints[v], joints[v][..., _PELVIS : _PELVIS + 1, :], out=out)
        out[~valid[v]] = 0.0
        return out

    def world(rel: np.ndarray, R: np.ndarray) -> np.ndarray:
        """Bodies `rel` rotated into the reference frame by R, in a scratch array."""
        np.matmul(rel.reshape(-1, 3), np.ascontiguousarray(R.T), out=rotated.reshape(-1, 3))  # (BLAS is 3x slower on R.T)
        return rotated

    world_valid = np.zeros_like(valid)
    world_valid[reference] = valid[reference]
    reference_rel = relative(reference)
    total, count = reference_rel.copy(), world_valid.sum(0)  # running sums of the aligned bodies (updated in place)
    for iteration in range(1 + options.rotation_iterations):
        for v in _alignment_order(valid, reference):
            if iteration > 0 and rotations[v] is None:
                continue
            rel = relative(v, relative_v)
            aligned = bool(world_valid[v].any())
            if aligned:
                total -= world(rel, rotations[v])  # the others' bodies only, until v is added back
            own_count = count - world_valid[v]
            if iteration == 0 and np.count_nonzero(valid[reference] & valid[v]) >= options.min_samples:
                mask = valid[v] & valid[reference]
                target = _bodies(reference_rel, mask)
            else:
                mask = valid[v] & (own_count > 0)
                target = _bodies(total, mask) / _bodies(own_count, mask)[:, None, None]  # mean of the others' bodies
            R, reason = None, None
            if np.count_nonzero(mask) < options.min_samples:
                reason = f"only {np.count_nonzero(mask)} synchronized bodies shared with the aligned videos (need {options.min_samples})"
            else:
                try:
                    R = _robust_rotation(_bodies(rel, mask), target, options)
                except DegenerateAlignmentError as err:
                    reason = f"degenerate body pose for the rotation fit ({err})"
            if R is None:
                reasons[v] = reason
                if aligned:
                    total += world(rel, rotations[v])
                continue
            rotations[v] = R
            world_valid[v] = valid[v]
            total += world(rel, R)
            count = own_count + world_valid[v]
            reasons.pop(v, None)
    return rotations, reasons


def bearing_poses(joints: np.ndarray, valid: np.ndarray, reference: int, options: PoseOptions, centers: np.ndarray) -> PoseResult:
    """Rotations from root-relative joints, then camera centres from bearings (see module docstring)."""
    N, S, P = valid.shape
    rotations, reasons = root_relative_rotations(joints, valid, reference, options)
    usable = np.array([R is not None for R in rotations])
    idx = np.flatnonzero(usable)
    # Camera-to-joint vectors rotated into the reference frame: y = R_v (x − c_v), o = R_v c_v.
    Rs = np.stack([rotations[v] for v in idx])
    selected = joints[:, :, :, list(options.bearing_joints)][idx]  # joints first: `joints[idx]` would copy every joint
    y = np.einsum("vab,vspjb->vspja", Rs, selected - centers[idx][:, :, None, None, :])
    o = np.einsum("vab,vsb->vsa", Rs, centers[idx])
    obs = valid[idx]
    points_ok = obs.sum(0) >= 2  # (S, P): seen by at least two videos
    instants = np.flatnonzero(points_ok.any(1))
    stride = max(1, int(np.ceil(len(instants) * P * len(options.bearing_joints) / options.max_points)))
    instants = instants[::stride]
    ref_pos = int(np.flatnonzero(idx == reference)[0])
    translations, kept, points = _solve_centres(y[:, instants], o[:, instants], obs[:, instants] & points_ok[instants][None], ref_pos, options)
    if options.bundle_adjust:
        Rs, translations = refine_bearings(
            Rs,
            translations,
            points,
            (selected - centers[idx][:, :, None, None, :])[:, instants],
            centers[idx][:, instants],
            kept,
            ref_pos,
            options.depth_prior_weight,
        )
    transforms: list[Optional[Sim3]] = [None] * N
    for k, v in enumerate(idx):
        transforms[v] = Sim3(Rs[k], translations[k], 1.0)
    return PoseResult(transforms, reasons)


def _solve_centres(y: np.ndarray, o: np.ndarray, obs: np.ndarray, ref_pos: int, options: PoseOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Translations t_v (V, 3) with t_ref = 0 from bearings, trimming outlier bodies between solves.

    Also returns the observations kept (V, S, P) and the world points (S, P, J, 3) of the last solve.

    Per observation of world joint X by video v: perpendicular residual A (X − t_v − o) with
    A = I − d dᵀ, d = y/|y|, and depth prior √λ (X − t_v − o − y).
    """
    V, S, P = obs.shape
    d = y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-9)
    A = np.eye(3) - d[..., :, None] * d[..., None, :]  # (V, S, P, 24, 3, 3)
    lam = options.depth_prior_weight
    B0 = A + lam * np.eye(3)
    g0 = np.einsum("vspjab,vsb->vspja", B0, o) + lam * y
    weight = obs.astype(np.float64)
    for _ in range(3 if options.robust else 1):
        t = _schur_solve(B0, g0, weight, ref_pos)
        X = _points(B0, g0, weight, t)
        residual = np.linalg.norm(np.einsum("vspjab,vspjb->vspja", A, X[None] - t[:, None, None, None] - o[:, :, None, None]), axis=-1).mean(-1)
        residual = np.where(np.isfinite(residual), residual, np.inf)
        inl = residual[obs & np.isfinite(residual)]
        if not options.robust or inl.size == 0:
            break
        limit = min(np.quantile(inl, 1.0 - options.trim_fraction), 3.0 * np.median(inl) + 1e-9)
        new_weight = (obs & (residual <= max(limit, 1e-9))).astype(np.float64)
        if np.array_equal(new_weight, weight):
            break
        weight = new_weight
    return t, weight > 0, X


def _schur_solve(B0: np.ndarray, g0: np.ndarray, weight: np.ndarray, ref_pos: int) -> np.ndarray:
    V = B0.shape[0]
    B = (B0 * weight[..., None, None, None]).reshape(V, -1, 3, 3)  # (V, Q, 3, 3), Q = S·P·24 points
    g = (g0 * weight[..., None, None]).reshape(V, -1, 3)
    H = B.sum(0)
    seen = np.linalg.det(H) > 1e-12
    B, g, H = B[:, seen], g[:, seen], H[seen]
    H_inv = np.linalg.inv(H)
    BH = B @ H_inv[None]  # (V, Q, 3, 3)
    G = g.sum(0)  # (Q, 3)
    Q = B.shape[1]
    K = BH.transpose(0, 2, 1, 3).reshape(3 * V, 3 * Q) @ B.transpose(1, 2, 0, 3).reshape(3 * Q, 3 * V)
    M = -K
    for v in range(V):
        M[3 * v : 3 * v + 3, 3 * v : 3 * v + 3] += B[v].sum(0)
    rhs = np.einsum("vqab,qb->va", BH, G) - g.sum(1)
    keep = np.ones(3 * V, dtype=bool)
    keep[3 * ref_pos : 3 * ref_pos + 3] = False
    t = np.zeros(3 * V)
    system = M[np.ix_(keep, keep)]
    if np.linalg.cond(system) > 1e12:
        warnings.warn("bearing solve is ill-conditioned: some cameras share too few bodies with the others", stacklevel=2)
    t[keep] = np.linalg.lstsq(system, rhs.reshape(-1)[keep], rcond=None)[0]
    return t.reshape(V, 3)


def _points(B0: np.ndarray, g0: np.ndarray, weight: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World joints X (S, P, 24, 3) given the translations; NaN where fewer than 2 videos see them."""
    B = B0 * weight[..., None, None, None]
    H = B.sum(0)
    rhs = np.einsum("vspjab,vb->spja", B, t) + (g0 * weight[..., None, None]).sum(0)
    det = np.linalg.det(H)
    H_safe = np.where((det > 1e-12)[..., None, None], H, np.eye(3))
    X = np.linalg.solve(H_safe, rhs[..., None])[..., 0]
    return np.where((det > 1e-12)[..., None], X, np.nan)
