"""Undoing the dataparser's scene normalisation: exact inverse of the forward transform."""

import numpy as np
import pytest

from humansync_ns.body.rotations import random_rotation
from humansync_ns.dataparser.normalization import apply_scene_transform
from humansync_ns.export.calibration_export import _nearest_rows, opengl_to_opencv_c2w, scene_to_calibration_c2w
from humansync_ns.processing.transforms_writer import opencv_to_opengl_c2w


def random_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, :3] = random_rotation(rng, (n,))
    poses[:, :3, 3] = rng.normal(scale=3.0, size=(n, 3))
    return poses


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scale", [0.2, 1.0, 3.7])
def test_scene_to_calibration_inverts_apply_scene_transform(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    poses = random_poses(rng, 5)
    transform = np.concatenate([random_rotation(rng), rng.normal(size=(3, 1))], axis=1)
    scene = apply_scene_transform(poses, transform, scale)
    back = scene_to_calibration_c2w(scene, transform, scale)
    assert np.allclose(back, poses, atol=1e-10), f"seed {seed}, scale {scale}"


def test_opencv_opengl_round_trip() -> None:
    poses = random_poses(np.random.default_rng(4), 3)
    assert np.allclose(opengl_to_opencv_c2w(opencv_to_opengl_c2w(poses)), poses)
    # the camera centre is unchanged, the viewing axis flips: OpenCV +z = OpenGL −z
    gl = opencv_to_opengl_c2w(poses)
    assert np.allclose(gl[:, :3, 3], poses[:, :3, 3]) and np.allclose(gl[:, :3, 2], -poses[:, :3, 2])


def test_bad_transform_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"dataparser_transform must be \(3, 4\)"):
        scene_to_calibration_c2w(np.zeros((1, 3, 4)), np.eye(4), 1.0)


def test_nearest_rows() -> None:
    have = np.array([0, 4, 8])
    assert _nearest_rows(np.array([0, 1, 2, 3, 5, 7, 9]), have).tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert _nearest_rows(np.array([3, 5]), np.array([6])).tolist() == [0, 0]
