"""Canonical (Eq. 3) and global (Eq. 6) joints: invariances and agreement between sources."""

import numpy as np
import pytest

from humansync_ns.body.canonical import canonical_joints, global_joints, pelvis_frame, root_rotation_from_joints
from humansync_ns.body.rotations import axis_angle_to_matrix, random_rotation
from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.joints import rest_joints

T, P = 12, 2


def _track(rng: np.random.Generator, with_params: bool = True, with_joints: bool = True) -> MotionTrack:
    orient = rng.normal(size=(T, P, 3))
    pose = rng.normal(size=(T, P, 69)) * 0.3
    transl = rng.normal(size=(T, P, 3)) + [0, 0, 4]
    valid = np.ones((T, P), dtype=bool)
    valid[3, 1] = False
    kwargs = {}
    if with_params:
        kwargs.update(global_orient=orient, body_pose=pose, betas=np.zeros((P, 10)), transl=transl)
    if with_joints:
        kwargs["joints"] = forward_kinematics(orient, pose, transl)
    return MotionTrack(name="cam00", fps=30.0, valid=valid, **kwargs)


def test_pelvis_frame_of_rest_pose_is_a_rotation() -> None:
    frame = pelvis_frame(rest_joints())
    assert np.allclose(frame.T @ frame, np.eye(3)) and np.linalg.det(frame) == pytest.approx(1.0)


def test_root_rotation_recovered_from_joints() -> None:
    rng = np.random.default_rng(0)
    orient = rng.normal(size=(20, 3))
    joints = forward_kinematics(orient, rng.normal(size=(20, 69)) * 0.3)
    assert np.allclose(root_rotation_from_joints(joints), axis_angle_to_matrix(orient), atol=1e-10)


def test_canonical_from_params_equals_canonical_from_joints() -> None:
    track = _track(np.random.default_rng(1))
    from_params = canonical_joints(track, source="params")
    from_joints = canonical_joints(track, source="joints")
    ok = track.valid
    assert np.allclose(from_params[ok], from_joints[ok], atol=1e-10)
    assert np.isnan(from_params[3, 1]).all() and np.isnan(from_joints[3, 1]).all()
    assert np.allclose(from_params[ok][:, 0], 0.0)


def test_canonical_is_blind_to_root_rotation_and_position() -> None:
    rng = np.random.default_rng(2)
    track = _track(rng, with_params=False)
    R = random_rotation(rng)
    moved = MotionTrack(name="cam01", fps=30.0, valid=track.valid, joints=track.joints @ R.T + [1.0, -2.0, 0.5])
    a, b = canonical_joints(track), canonical_joints(moved)
    assert np.allclose(a[track.valid], b[track.valid], atol=1e-10)


def test_global_joints_from_params_and_given_joints_agree() -> None:
    rng = np.random.default_rng(3)
    params_only = _track(rng, with_joints=False)
    rng = np.random.default_rng(3)
    joints_only = _track(rng, with_params=False)
    ok = params_only.valid
    assert np.allclose(global_joints(params_only)[ok], global_joints(joints_only)[ok], atol=1e-10)


class _ScaledModel:
    """A stand-in body model: the built-in skeleton scaled by 1.1 (records its inputs)."""

    def joints(self, global_orient, body_pose, betas, transl):
        self.betas_shape = np.shape(betas)
        return 1.1 * forward_kinematics(global_orient, body_pose) + transl[..., None, :]


def test_body_model_is_used_when_given() -> None:
    track = _track(np.random.default_rng(4), with_joints=False)
    model = _ScaledModel()
    canon = canonical_joints(track, body_model=model)
    assert model.betas_shape == (T, P, 10)
    assert np.allclose(canon[track.valid], 1.1 * canonical_joints(track)[track.valid])
    glob = global_joints(track, body_model=model)
    assert np.allclose(glob[track.valid][:, 0], track.transl[track.valid])


def test_source_without_data_names_the_video() -> None:
    track = _track(np.random.default_rng(5), with_params=False)
    with pytest.raises(ValueError, match="cam00"):
        canonical_joints(track, source="params")
