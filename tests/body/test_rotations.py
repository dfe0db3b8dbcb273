import numpy as np
import pytest

from humansync_ns.body.rotations import (
    axis_angle_to_matrix,
    is_proper_rotation,
    look_at_opencv,
    matrix_to_axis_angle,
    random_rotation,
    axis_angle_to_matrix_batch_last,
    rotation_angle_deg,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_random_rotations_are_proper(rng):
    R = random_rotation(rng, (200,))
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    assert is_proper_rotation(R).all()


def test_is_proper_rotation_refuses_scale_shear_reflection_and_nan(rng):
    R = random_rotation(rng)
    shear = np.eye(3)
    shear[0, 1] = 1e-3
    bad = np.stack([1.01 * R, R @ shear, R @ np.diag([1.0, -1.0, 1.0]), np.full((3, 3), np.nan), np.zeros((3, 3))])
    assert is_proper_rotation(bad).tolist() == [False] * 5
    assert is_proper_rotation((1 + 3e-5) * R) and not is_proper_rotation((1 + 1e-4) * R)  # 1e-4 on R Rᵀ − I


def test_matrix_axis_angle_round_trip(rng):
    R = random_rotation(rng, (500,))
    np.testing.assert_allclose(axis_angle_to_matrix(matrix_to_axis_angle(R)), R, atol=1e-9)


@pytest.mark.parametrize("angle", [0.0, 1e-10, 1e-5, 0.3, np.pi / 2, np.pi - 1e-4, np.pi])
def test_round_trip_at_singular_angles(angle, rng):
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    R = axis_angle_to_matrix(axis * angle)
    recovered = axis_angle_to_matrix(matrix_to_axis_angle(R))
    np.testing.assert_allclose(recovered, R, atol=1e-8, err_msg=f"angle={angle}")
    assert abs(np.linalg.norm(matrix_to_axis_angle(R)) - angle) < 1e-6


def test_rodrigues_matches_known_rotation():
    # 90° about +z maps x to y.
    R = axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    np.testing.assert_allclose(R @ np.array([1.0, 0, 0]), [0, 1, 0], atol=1e-12)


@pytest.mark.parametrize("scale", [1e-9, 1e-5, 0.5, 3.0])
def test_rodrigues_is_the_exponential_of_the_cross_product_matrix(scale, rng):
    """The entry-by-entry Rodrigues against scipy's matrix exponential of [k]×, in both layouts."""
    from scipy.linalg import expm

    rotvecs = rng.normal(size=(6, 3)) * scale
    cross = [np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]]) for x, y, z in rotvecs]
    expected = np.stack([expm(k) for k in cross])
    np.testing.assert_allclose(axis_angle_to_matrix(rotvecs), expected, atol=1e-12, err_msg=f"scale={scale}")
    np.testing.assert_allclose(np.moveaxis(axis_angle_to_matrix_batch_last(rotvecs.T), (0, 1), (-2, -1)), expected, atol=1e-12)


def test_rotation_angle_deg(rng):
    R = random_rotation(rng, (10,))
    delta = axis_angle_to_matrix(np.array([0.0, np.radians(7.0), 0.0]))
    np.testing.assert_allclose(rotation_angle_deg(R, R @ delta), 7.0, atol=1e-6)


def test_look_at_points_optical_axis_at_target():
    c2w = look_at_opencv(np.array([4.0, 0.0, 2.0]), np.array([0.0, 0.0, 1.0]))
    target_cam = np.linalg.inv(c2w) @ np.array([0.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(target_cam[:2], 0.0, atol=1e-12)
    assert target_cam[2] > 0  # in front of the camera (OpenCV z forward)
    up_cam = c2w[:3, :3].T @ np.array([0.0, 0.0, 1.0])
    assert up_cam[1] < 0  # world up points to image up, i.e. -y in OpenCV
