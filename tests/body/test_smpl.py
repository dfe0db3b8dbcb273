"""The synthetic SMPL-format model loads through smplx and agrees with the generator's kinematics."""

import numpy as np
import pytest

from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.body.smpl import BodyModelError, SmplBodyModel
from humansync_ns.motion.joints import JOINT_INDEX, rest_joints
from humansync_ns.synthetic.body_model_file import (
    NUM_VERTICES,
    SCALE_PER_BETA,
    rest_joints_for_betas,
    synthetic_smpl_arrays,
    write_synthetic_smpl_model,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("body_model")
    write_synthetic_smpl_model(root / "smpl" / "SMPL_NEUTRAL.npz")
    return root


@pytest.fixture(scope="module")
def model(model_dir):
    return SmplBodyModel(model_dir, model_type="smpl")


def _random_params(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), 0.4 * rng.normal(size=(n, 69)), rng.normal(size=(n, 10)), rng.normal(size=(n, 3))


def test_regressor_reproduces_the_rest_skeleton_exactly():
    arrays = synthetic_smpl_arrays()
    np.testing.assert_allclose(arrays["J_regressor"] @ arrays["v_template"], rest_joints(), atol=1e-14)
    assert arrays["v_template"].shape == (NUM_VERTICES, 3) and arrays["shapedirs"].shape == (NUM_VERTICES, 3, 10)
    assert arrays["posedirs"].shape == (NUM_VERTICES, 3, 207) and arrays["weights"].shape == (NUM_VERTICES, 24)
    np.testing.assert_allclose(arrays["weights"].sum(1), 1.0)
    assert arrays["f"].max() < NUM_VERTICES and arrays["f"].shape[1] == 3


def test_smplx_joints_match_forward_kinematics(model):
    go, bp, betas, transl = _random_params(40)
    joints = model.joints(go, bp, betas, transl)
    expected = forward_kinematics(go, bp, transl, rest=rest_joints_for_betas(betas))
    assert joints.shape == (40, 24, 3)
    np.testing.assert_allclose(joints, expected, atol=1e-5)  # smplx runs in float32


def test_shape_space_is_a_plausible_scale_change(model):
    zero = model.joints(np.zeros(3), np.zeros(69))
    taller = model.joints(np.zeros(3), np.zeros(69), betas=np.eye(10)[0])
    np.testing.assert_allclose(zero, rest_joints(), atol=1e-6)
    np.testing.assert_allclose(taller, rest_joints() * (1 + SCALE_PER_BETA), atol=1e-6)
    # Betas 3..9 swell the blobs only: joints stay put.
    np.testing.assert_allclose(model.joints(np.zeros(3), np.zeros(69), betas=np.r_[0, 0, 0, np.ones(7)]), rest_joints(), atol=1e-6)


def test_batch_shapes_and_63_wide_pose(model):
    go, bp, betas, transl = _random_params(6, seed=1)
    joints = model.joints(go.reshape(2, 3, 3), bp.reshape(2, 3, 69), betas[:3], transl.reshape(2, 3, 3))
    assert joints.shape == (2, 3, 24, 3)
    np.testing.assert_allclose(joints.reshape(6, 24, 3)[:3], model.joints(go[:3], bp[:3], betas[:3], transl[:3]), atol=1e-6)
    bp63 = bp[:, :63]
    with_hands_zero = np.concatenate([bp63, np.zeros((6, 6))], axis=1)
    np.testing.assert_allclose(model.joints(go, bp63), model.joints(go, with_hands_zero), atol=1e-6)


def test_pickled_model_loads_with_plain_smplx(tmp_path):
    """The .pkl variant is what `smplx.create(folder, model_type="smpl")` reads without our wrapper."""
    import torch
    import smplx

    write_synthetic_smpl_model(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl")
    body = smplx.create(str(tmp_path), model_type="smpl", gender="neutral")
    go, bp, betas, transl = _random_params(3, seed=2)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    out = body(global_orient=t(go), body_pose=t(bp), betas=t(betas), transl=t(transl))
    expected = forward_kinematics(go, bp, transl, rest=rest_joints_for_betas(betas))
    np.testing.assert_allclose(out.joints[:, :24].numpy(), expected, atol=1e-5)
    assert out.joints.shape[1] > 24  # smplx's extra vertex keypoints resolve: 6890 vertices


def test_missing_or_broken_model_files_are_clear(tmp_path):
    with pytest.raises(BodyModelError, match="no smpl body model file"):
        SmplBodyModel(tmp_path)
    arrays = synthetic_smpl_arrays()
    arrays.pop("J_regressor")
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **arrays)
    with pytest.raises(BodyModelError, match=r"SMPL_NEUTRAL\.npz.*J_regressor"):
        SmplBodyModel(tmp_path / "SMPL_NEUTRAL.npz")
    with pytest.raises(BodyModelError, match="model_type"):
        SmplBodyModel(tmp_path, model_type="mano")


def test_head_above_feet_after_joint_lookup(model):
    joints = model.joints(np.zeros(3), np.zeros(69))
    assert joints[JOINT_INDEX["head"], 1] - joints[JOINT_INDEX["left_foot"], 1] > 1.4
