import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix
from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.motion.joints import JOINT_INDEX, NUM_JOINTS, SMPL_PARENTS, rest_joints


def test_parents_precede_children():
    assert SMPL_PARENTS[0] == -1
    assert all(0 <= p < j for j, p in enumerate(SMPL_PARENTS) if j > 0)


def test_rest_pose_is_the_rest_skeleton():
    joints = forward_kinematics(np.zeros(3), np.zeros(69))
    np.testing.assert_allclose(joints, rest_joints(), atol=1e-12)
    assert joints.shape == (NUM_JOINTS, 3)
    # An adult: head above pelvis, ankles ~0.9 m below it, body's left on +x.
    assert joints[JOINT_INDEX["head"], 1] > 0.5
    assert -1.0 < joints[JOINT_INDEX["left_ankle"], 1] < -0.8
    assert joints[JOINT_INDEX["left_hip"], 0] > 0 > joints[JOINT_INDEX["right_hip"], 0]


def test_root_rotation_is_rigid_about_the_pelvis_plus_translation():
    rng = np.random.default_rng(1)
    pose = rng.normal(scale=0.3, size=69)
    rotvec = np.array([0.2, -1.1, 0.4])
    transl = np.array([1.0, 2.0, 3.0])
    base = forward_kinematics(np.zeros(3), pose)
    moved = forward_kinematics(rotvec, pose, transl)
    expected = base @ axis_angle_to_matrix(rotvec).T + transl
    np.testing.assert_allclose(moved, expected, atol=1e-12)
    np.testing.assert_allclose(moved[0], transl, atol=1e-12)


def test_bone_lengths_are_preserved_by_any_pose():
    rng = np.random.default_rng(2)
    rest = rest_joints()
    joints = forward_kinematics(rng.normal(size=(7, 3)), rng.normal(size=(7, 69)), rng.normal(size=(7, 3)))
    for j in range(1, NUM_JOINTS):
        p = SMPL_PARENTS[j]
        np.testing.assert_allclose(
            np.linalg.norm(joints[:, j] - joints[:, p], axis=-1), np.linalg.norm(rest[j] - rest[p]), atol=1e-12
        )


def test_elbow_bend_moves_only_the_arm_below_it():
    pose = np.zeros(69)
    elbow = JOINT_INDEX["left_elbow"]
    pose[(elbow - 1) * 3 : elbow * 3] = [0.0, 0.0, 1.2]
    bent = forward_kinematics(np.zeros(3), pose)
    rest = rest_joints()
    moved = np.where(np.linalg.norm(bent - rest, axis=-1) > 1e-9)[0]
    assert set(moved) == {JOINT_INDEX["left_wrist"], JOINT_INDEX["left_hand"]}


def test_smplh_body_pose_leaves_hands_unrotated():
    rng = np.random.default_rng(3)
    pose63 = rng.normal(scale=0.3, size=63)
    pose69 = np.concatenate([pose63, np.zeros(6)])
    np.testing.assert_allclose(forward_kinematics(np.zeros(3), pose63), forward_kinematics(np.zeros(3), pose69))


def test_batched_matches_single():
    rng = np.random.default_rng(4)
    go, bp, tr = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 69)), rng.normal(size=(4, 2, 3))
    batched = forward_kinematics(go, bp, tr)
    single = forward_kinematics(go[3, 1], bp[3, 1], tr[3, 1])
    np.testing.assert_allclose(batched[3, 1], single)
    assert batched.shape == (4, 2, 24, 3)


def test_long_batches_match_single_rows():
    """Rows are posed in chunks: rows in every chunk, with rest skeletons of their own, match one-row calls."""
    rng = np.random.default_rng(5)
    rows = 600
    go, bp, tr = rng.normal(size=(rows, 3)), rng.normal(scale=0.4, size=(rows, 69)), rng.normal(size=(rows, 3))
    rest = rest_joints()[None] * rng.uniform(0.8, 1.2, size=(rows, 1, 1))
    batched = forward_kinematics(go, bp, tr, rest=rest)
    for row in (0, 255, 256, 511, 599):
        np.testing.assert_allclose(batched[row], forward_kinematics(go[row], bp[row], tr[row], rest=rest[row]), atol=1e-12, err_msg=f"row {row}")
