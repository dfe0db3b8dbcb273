"""Pose alignment on a known rig: camera-frame joints of known world bodies, recover the cameras."""

import numpy as np
import pytest

from humansync_ns.body.rotations import look_at_opencv, rotation_angle_deg
from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.calibration.pose_alignment import PoseOptions, align_poses

N, S = 6, 80


def _rig(seed: int, depth_error: float = 0.0):
    """World bodies walking a curve; N cameras on a ring; camera-frame joints with depth error."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4, S)
    transl = np.stack([np.cos(t) * 1.2, np.sin(0.7 * t), np.full(S, 0.9)], -1)
    orient = np.stack([np.full(S, np.pi / 2), np.zeros(S), t], -1)  # upright (SMPL +Y → world +Z), turning
    pose = rng.normal(size=(S, 69)) * 0.2
    world = forward_kinematics(orient, pose, transl)[:, None]  # (S, 1, 24, 3)
    c2w = []
    for k in range(N):
        angle = 2 * np.pi * k / N + rng.uniform(-0.3, 0.3)
        centre = np.array([4 * np.cos(angle), 4 * np.sin(angle), rng.uniform(1.0, 2.5)])
        c2w.append(look_at_opencv(centre, np.array([0.0, 0.0, 1.0])))
    cam = []
    for k in range(N):
        R, c = c2w[k][:3, :3], c2w[k][:3, 3]
        x = (world - c) @ R  # Rᵀ (x − c) as row vectors
        # Monocular depth error: the whole body slides along the ray through its pelvis.
        scale = 1.0 + depth_error * np.sin(t * rng.uniform(0.5, 1.5) + rng.uniform(0, 6))[:, None, None, None]
        pelvis = x[:, :, :1]
        cam.append(x - pelvis + pelvis * scale)
    return np.stack(cam), np.ones((N, S, 1), dtype=bool), np.stack(c2w)


def _errors(result, c2w: np.ndarray, reference: int) -> tuple[float, float]:
    """Max rotation (deg) and centre (m) error of the recovered poses in the reference's frame,
    after the best common scale of the centres (metric scale comes from noisy depths)."""
    ref_w2c = np.linalg.inv(c2w[reference])
    truth = np.stack([ref_w2c @ c2w[k] for k in range(len(c2w))])  # camera k → reference frame
    rot = [rotation_angle_deg(t.R, truth[k, :3, :3]) for k, t in enumerate(result.transforms)]
    est = np.stack([t.t for t in result.transforms])
    scale = np.sum(est * truth[:, :3, 3]) / np.sum(est**2)
    return max(rot), float(np.linalg.norm(scale * est - truth[:, :3, 3], axis=1).max())


@pytest.mark.parametrize("method", ["procrustes", "bearings"])
@pytest.mark.parametrize("reference", [0, 3])
def test_exact_rig_is_recovered(method: str, reference: int) -> None:
    joints, valid, c2w = _rig(0)
    result = align_poses(joints, valid, reference, PoseOptions(method=method))
    rot, pos = _errors(result, c2w, reference)
    assert rot < 1e-4 and pos < 1e-6, (method, rot, pos)  # degrees: arccos resolves ~1e-6
    assert all(t.s == pytest.approx(1.0) for t in result.transforms)


def test_bearings_are_blind_to_depth_error() -> None:
    joints, valid, c2w = _rig(1, depth_error=0.08)
    procrustes = _errors(align_poses(joints, valid, 0, PoseOptions(method="procrustes")), c2w, 0)
    bearings = _errors(align_poses(joints, valid, 0, PoseOptions(method="bearings")), c2w, 0)
    assert bearings[0] < 0.5 * procrustes[0], (bearings, procrustes)
    assert bearings[1] < 0.5 * procrustes[1], (bearings, procrustes)
    assert bearings[0] < 1.0 and bearings[1] < 0.1


def test_video_without_shared_bodies_gets_no_pose() -> None:
    joints, valid, _ = _rig(2)
    valid[4] = False
    for method in ("procrustes", "bearings"):
        result = align_poses(joints, valid, 0, PoseOptions(method=method))
        assert result.transforms[4] is None and "synchronized bodies" in result.reasons[4], method
        assert all(result.transforms[k] is not None for k in (0, 1, 2, 3, 5)), method


def test_garbage_bodies_are_trimmed() -> None:
    joints, valid, c2w = _rig(3)
    rng = np.random.default_rng(3)
    bad = rng.random((N, S)) < 0.1
    joints[bad] += rng.normal(size=(int(bad.sum()), 1, 1, 3)) * 0.5
    for method in ("procrustes", "bearings"):
        robust = _errors(align_poses(joints, valid, 0, PoseOptions(method=method, robust=True)), c2w, 0)
        plain = _errors(align_poses(joints, valid, 0, PoseOptions(method=method, robust=False)), c2w, 0)
        assert robust[0] <= plain[0] + 1e-6 and robust[1] <= plain[1] + 1e-9, (method, robust, plain)
        assert sum(robust) < sum(plain), (method, robust, plain)
        assert robust[0] < 0.3 and robust[1] < 0.05, (method, robust, plain)


def test_bundle_adjustment_keeps_an_exact_rig_exact_and_fixes_a_perturbed_rotation() -> None:
    from humansync_ns.body.rotations import axis_angle_to_matrix
    from humansync_ns.calibration.bundle import refine_bearings

    joints, valid, c2w = _rig(4)
    pelvis = joints[:, :, :, :1]  # (N, S, 1, 1, 3) camera-frame pelvis = camera-to-point vectors
    truth = np.stack([np.linalg.inv(c2w[0]) @ c2w[k] for k in range(N)])
    world = np.einsum("ab,spjb->spja", truth[1, :3, :3], pelvis[1]) + truth[1, :3, 3]
    R0 = truth[:, :3, :3].copy()
    R0[2] = axis_angle_to_matrix(np.array([0.0, 0.02, 0.0])) @ R0[2]  # ~1.1° off
    R, t = refine_bearings(R0, truth[:, :3, 3], world, pelvis, np.zeros((N, S, 3)), valid, 0, 5e-4)
    assert rotation_angle_deg(R, truth[:, :3, :3]).max() < 0.01
    assert np.abs(t - truth[:, :3, 3]).max() < 1e-3
