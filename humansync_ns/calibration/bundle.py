"""A small bundle adjustment on bearings: camera rotations, centres and the people's world points.

After the linear bearing solve (`pose_alignment`), the rotations still come from root-relative
joints, which carry the estimator's per-frame pose noise. The bearings themselves (the direction
from a camera to the pelvis) are far more reliable, so this step refines, jointly,

- every camera's rotation `R_v = exp(ω_v) R_v⁰` and translation `t_v` (the reference stays fixed),
- every observed world point `X_q`,

minimising, over the observations kept by the linear solve,

    Σ ρ(‖d_vq × (X_q − c_vq)‖²) + λ ‖X_q − c_vq − R_v u_vq‖²,

with `u_vq` the camera-to-point vector in the video's own frame, `d_vq = R_v u_vq / ‖u_vq‖` its
bearing in the world, `c_vq = t_v + R_v c⁰_vq` the camera centre at that instant (`c⁰ = 0` for a
static camera), ρ a Huber loss, and λ the weak depth prior of the linear solve. The Jacobian is
sparse (each residual touches one camera and one point), which scipy's trust-region solver uses.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import coo_matrix

from humansync_ns.body.rotations import axis_angle_to_matrix


def refine_bearings(
    rotations: np.ndarray,
    translations: np.ndarray,
    points: np.ndarray,
    camera_to_point: np.ndarray,
    camera_centres: np.ndarray,
    observed: np.ndarray,
    reference: int,
    depth_prior_weight: float,
    loss_scale_m: float = 0.02,
    max_nfev: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    """Refined (V, 3, 3) rotations and (V, 3) translations.

    Args:
        rotations, translations: (V, 3, 3), (V, 3) initial video → reference-frame transforms.
        points: (S, P, J, 3) initial world points (NaN where unknown).
        camera_to_point: (V, S, P, J, 3) `u`, the point minus the camera centre in the video's frame.
        camera_centres: (V, S, 3) `c⁰`, the camera centre in the video's frame (0 if static).
        observed: (V, S, P) bool, observations to use.
        reference: index of the video whose transform stays fixed.
    """
    V, S, P, J, _ = camera_to_point.shape
    obs = observed[..., None] & np.all(np.isfinite(points), -1)[None] & np.ones(J, dtype=bool)
    v_of, s_of, p_of, j_of = np.nonzero(obs)
    point_id = np.ravel_multi_index((s_of, p_of, j_of), (S, P, J))
    used, q_of = np.unique(point_id, return_inverse=True)
    free = [v for v in range(V) if v != reference]
    if len(used) == 0 or not free:
        return rotations, translations
    slot = np.full(V, -1)
    slot[free] = np.arange(len(free))
    u = camera_to_point[v_of, s_of, p_of, j_of]
    u_unit = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-9)
    c0 = camera_centres[v_of, s_of]
    sqrt_lam = np.sqrt(depth_prior_weight)
    n_cam = 6 * len(free)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        R = rotations.copy()
        t = translations.copy()
        cams = x[:n_cam].reshape(-1, 6)
        R[free] = axis_angle_to_matrix(cams[:, :3]) @ rotations[free]
        t[free] = cams[:, 3:]
        return R, t, x[n_cam:].reshape(-1, 3)

    def residuals(x: np.ndarray) -> np.ndarray:
        R, t, X = unpack(x)
        Rv = R[v_of]
        centre = t[v_of] + np.einsum("mab,mb->ma", Rv, c0)
        diff = X[q_of] - centre
        bearing = np.einsum("mab,mb->ma", Rv, u_unit)
        perpendicular = np.cross(bearing, diff)
        depth = sqrt_lam * (diff - np.einsum("mab,mb->ma", Rv, u))
        return np.concatenate([perpendicular, depth], axis=1).ravel()

    x0 = np.concatenate([np.concatenate([np.zeros((len(free), 3)), translations[free]], 1).ravel(), points.reshape(-1, 3)[used].ravel()])
    result = least_squares(
        residuals,
        x0,
        jac_sparsity=_sparsity(v_of, q_of, slot, n_cam, len(used)),
        loss="huber",
        f_scale=loss_scale_m,
        x_scale="jac",
        max_nfev=max_nfev,
        method="trf",
        tr_solver="lsmr",
    )
    R, t, _ = unpack(result.x)
    return R, t


def _sparsity(v_of: np.ndarray, q_of: np.ndarray, slot: np.ndarray, n_cam: int, n_points: int) -> coo_matrix:
    """Each observation's 6 residuals depend on its camera's 6 parameters and its point's 3."""
    M = len(v_of)
    rows, cols = [], []
    base = 6 * np.arange(M)
    has_cam = slot[v_of] >= 0
    for r in range(6):
        for c in range(6):
            rows.append(base[has_cam] + r)
            cols.append(6 * slot[v_of][has_cam] + c)
        for c in range(3):
            rows.append(base + r)
            cols.append(n_cam + 3 * q_of + c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(6 * M, n_cam + 3 * n_points))
