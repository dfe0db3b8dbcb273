import numpy as np

from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.rig import SCENE_CENTER, invert_rigid

from conftest import project


def test_static_cameras_surround_and_see_the_scene(small_capture):
    config = small_capture.config
    for video in small_capture.videos:
        c2w = video.camera_to_world
        np.testing.assert_allclose(c2w[:3, :3] @ c2w[:3, :3].T, np.eye(3), atol=1e-12)
        assert np.linalg.det(c2w[:3, :3]) > 0
        center = c2w[:3, 3]
        assert config.camera_distance_m[0] - 1e-9 <= np.linalg.norm(center[:2]) <= config.camera_distance_m[1] + 1e-9
        assert config.camera_height_m[0] <= center[2] <= config.camera_height_m[1]
        # The scene centre lands near the image centre; world up points up in the image (y down).
        cam = invert_rigid(c2w)
        uv = project(cam[:3, :3] @ SCENE_CENTER + cam[:3, 3], video.K)
        assert abs(uv[0] - video.width / 2) < 0.25 * video.width and abs(uv[1] - video.height / 2) < 0.25 * video.height
        assert (cam[:3, :3] @ np.array([0, 0, 1.0]))[1] < -0.5


def test_focal_lengths_differ_and_match_the_fov_range(small_capture):
    config = small_capture.config
    focals = np.array([v.K[0, 0] for v in small_capture.videos])
    fov = np.degrees(2 * np.arctan(0.5 * config.width / focals))
    assert np.all((fov >= config.horizontal_fov_deg[0] - 1e-9) & (fov <= config.horizontal_fov_deg[1] + 1e-9))
    assert len(np.unique(np.round(focals, 6))) == len(focals)


def test_videos_share_the_configured_overlap(small_capture):
    config = small_capture.config
    starts = np.array([v.start_s for v in small_capture.videos])
    ends = np.array([v.end_s for v in small_capture.videos])
    assert starts.min() >= 0 and starts.max() <= config.start_spread_s
    assert ends.min() - starts.max() >= config.overlap_s - 1 / config.fps
    assert len(np.unique(np.round(starts, 9))) == len(starts)


def test_mixed_fps_and_moving_camera_leave_static_cameras_alone():
    base = simulate_capture(SynthConfig(seed=2, num_cameras=3, duration_s=2.0, start_spread_s=0.5))
    more = simulate_capture(SynthConfig(seed=2, num_cameras=3, duration_s=2.0, start_spread_s=0.5, moving_camera=True, mixed_fps=True))
    assert [v.fps for v in more.videos] == [30.0, 24.0, 30.0, 24.0]
    assert more.videos[-1].moving and not any(v.moving for v in more.videos[:-1])
    for a, b in zip(base.videos, more.videos[:3]):
        np.testing.assert_array_equal(a.camera_to_world, b.camera_to_world)
        np.testing.assert_array_equal(a.K, b.K)
        assert a.start_s == b.start_s
    moving = more.videos[-1].camera_to_world
    assert moving.shape == (more.videos[-1].num_frames, 4, 4)
    step = np.linalg.norm(np.diff(moving[:, :3, 3], axis=0), axis=1)
    assert 0.003 < step.mean() < 0.05 and step.max() < 0.1, "hand-held camera should move smoothly, a few mm to cm per frame"


def test_invert_rigid_round_trip():
    rng = np.random.default_rng(0)
    from humansync_ns.body.rotations import random_rotation

    T = np.tile(np.eye(4), (5, 1, 1))
    T[:, :3, :3] = random_rotation(rng, (5,))
    T[:, :3, 3] = rng.normal(size=(5, 3))
    np.testing.assert_allclose(invert_rigid(T) @ T, np.tile(np.eye(4), (5, 1, 1)), atol=1e-12)
