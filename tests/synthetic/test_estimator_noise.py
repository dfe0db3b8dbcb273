"""Each estimator-noise knob changes what it claims and nothing else."""

import numpy as np
import pytest

from humansync_ns.body.rotations import axis_angle_to_matrix, rotation_angle_deg
from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.estimator_noise import bodies_from_params

from conftest import SMALL, project

BASE = SynthConfig(seed=11, **SMALL).noise_free()


def _with(**noise):
    return simulate_capture(BASE.replace(**noise))


@pytest.fixture(scope="module")
def clean():
    return simulate_capture(BASE)


def _pairs(noisy, clean):
    """(noisy, clean, valid) per video, static cameras only."""
    for a, b in zip(noisy.tracks, clean.tracks):
        np.testing.assert_array_equal(a.valid, b.valid)
        yield a, b, a.valid


def test_noise_free_tracks_are_the_ground_truth(clean):
    for track, truth, video, bodies in zip(clean.tracks, clean.clean_tracks, clean.videos, clean.video_bodies):
        for key in ("joints", "global_orient", "body_pose", "transl", "betas"):
            np.testing.assert_array_equal(getattr(track, key), getattr(truth, key), err_msg=key)
        # Camera-frame joints are exactly the true world joints seen by the true camera.
        w2c = np.linalg.inv(video.camera_to_world)
        expected = bodies.joints @ w2c[:3, :3].T + w2c[:3, 3]
        np.testing.assert_allclose(track.joints[track.valid], expected[track.valid], atol=1e-9)
        np.testing.assert_array_equal(track.betas, clean.people.betas)


def test_depth_error_moves_the_root_along_its_ray_only(clean):
    noisy = _with(depth_error=0.05)
    relative = []
    for a, b, valid in _pairs(noisy, clean):
        for key in ("global_orient", "body_pose", "betas"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
        ta, tb = a.transl[valid], b.transl[valid]
        cos = np.sum(ta * tb, -1) / np.linalg.norm(ta, axis=-1) / np.linalg.norm(tb, axis=-1)
        assert np.all(cos > 1 - 1e-12), "the root left its viewing ray"
        ratio = np.linalg.norm(a.transl, axis=-1) / np.linalg.norm(b.transl, axis=-1) - 1
        relative.append(ratio[valid[:, 0], 0])
        # The pelvis projects to the same pixel; the rest of the body moves only a little in 2D.
        np.testing.assert_allclose(project(a.joints[valid][:, 0], a.K), project(b.joints[valid][:, 0], b.K), atol=1e-6)
        shift = np.linalg.norm(project(a.joints[valid], a.K) - project(b.joints[valid], b.K), axis=-1)
        assert np.percentile(shift, 95) < 2.0, f"2D joints moved {np.percentile(shift, 95):.2f} px"
        # Smooth, slow drift: frame-to-frame change far below the error itself.
        assert np.nanmax(np.abs(np.diff(ratio[:, 0]))) < 0.005
    relative = np.concatenate(relative)
    rms = np.sqrt(np.mean(relative**2))
    assert 0.015 < rms < 0.12, f"relative depth error rms {rms:.3f} for depth_error=0.05"


def test_pose_noise_changes_body_pose_only(clean):
    noisy = _with(pose_noise_sigma=0.1)
    for a, b, valid in _pairs(noisy, clean):
        for key in ("global_orient", "transl", "betas"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
        diff = (a.body_pose - b.body_pose)[valid]
        assert abs(diff.std() - 0.1) < 0.01 and abs(diff.mean()) < 0.01
        np.testing.assert_array_equal(a.joints[valid][:, 0], b.joints[valid][:, 0])  # the root stays


def test_rotation_jitter_rotates_the_root_only(clean):
    noisy = _with(rotation_jitter_deg=3.0)
    angles = []
    for a, b, valid in _pairs(noisy, clean):
        for key in ("body_pose", "transl", "betas"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
        angles.append(rotation_angle_deg(axis_angle_to_matrix(a.global_orient[valid]), axis_angle_to_matrix(b.global_orient[valid])))
    angles = np.concatenate(angles)
    # Per-axis σ = 3° gives an RMS rotation angle of σ·√3.
    assert abs(np.sqrt(np.mean(angles**2)) - 3.0 * np.sqrt(3)) < 0.4, np.sqrt(np.mean(angles**2))


def test_outliers_are_garbage_but_valid(clean):
    noisy = _with(outlier_rate=0.1)
    total = bad = 0
    for a, b, valid in _pairs(noisy, clean):
        offset = np.linalg.norm(a.transl - b.transl, axis=-1)[valid]
        total += offset.size
        bad += int((offset > 0.2).sum())
        good = offset < 1e-12
        np.testing.assert_array_equal(a.body_pose[valid][good], b.body_pose[valid][good])
        assert np.all((offset < 1e-12) | (offset > 0.2)), "only garbage frames may move"
    rate = bad / total
    assert 0.06 < rate < 0.14, f"garbage rate {rate:.3f} for outlier_rate=0.1"
    assert sum(o.sum() for o in noisy.outliers) == bad


def test_betas_noise_changes_shape_per_video(clean):
    noisy = _with(betas_noise=0.3)
    errors = []
    for a, b, valid in _pairs(noisy, clean):
        for key in ("global_orient", "body_pose", "transl"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
        errors.append(a.betas - b.betas)
        thigh = lambda j: np.linalg.norm(j[..., 4, :] - j[..., 1, :], axis=-1)  # noqa: E731
        assert np.ptp(thigh(a.joints[valid]) - thigh(b.joints[valid])) < 1e-9, "a shape error is constant over time"
    errors = np.stack(errors)
    assert abs(errors.std() - 0.3) < 0.1
    assert np.abs(errors[0] - errors[1]).max() > 0.05, "each video gets its own shape error"


def test_default_noise_keeps_joints_consistent_with_parameters(small_capture, clean_capture):
    """Noise is applied to the parameters; the joints are their forward kinematics."""
    for track in small_capture.tracks:
        valid = track.valid
        joints = bodies_from_params(track.global_orient, track.body_pose, track.betas, track.transl)
        np.testing.assert_allclose(joints[valid], track.joints[valid], atol=1e-9)
        assert np.all(np.isnan(track.joints[~valid]))
    # The noise knobs never touch the truth: same rig, people and ground truth with and without noise.
    for a, b in zip(small_capture.ground_truth.videos, clean_capture.ground_truth.videos):
        np.testing.assert_array_equal(a.camera_to_world, b.camera_to_world)
        assert a.time_offset_s == b.time_offset_s
    np.testing.assert_array_equal(small_capture.world_joints, clean_capture.world_joints)
