import numpy as np
import pytest

from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.people import walking_area_radius_m
from humansync_ns.synthetic.rig import FRAMING_MARGIN, SCENE_CENTER, invert_rigid, walking_area_points

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


DENSE_RIGS = {"dome": SynthConfig.panoptic_like, "stage": SynthConfig.mobile_stage_like}


@pytest.fixture(scope="module", params=sorted(DENSE_RIGS))
def dense_capture(request):
    """A paper-like dense rig (30-camera dome or 20-camera stage), three seconds, motion only."""
    return simulate_capture(DENSE_RIGS[request.param](seed=5, duration_s=3.0, start_spread_s=0.8, render_videos=False))


def test_dense_rigs_have_the_papers_camera_counts(dense_capture):
    assert len(dense_capture.videos) == {"dome": 30, "stage": 20}[dense_capture.config.rig]


def test_every_dense_rig_camera_sees_the_whole_walking_area(dense_capture):
    """The walking area (the cylinder every person stays inside) projects inside every frame, within
    the framing margin, and its centre lies in front of every camera."""
    config = dense_capture.config
    volume = walking_area_points(walking_area_radius_m(config.num_people))
    for video in dense_capture.videos:
        cam = invert_rigid(video.camera_to_world)
        points = volume @ cam[:3, :3].T + cam[:3, 3]
        assert points[:, 2].min() > 0.5, video.name
        uv = project(points, video.K)
        margin = 0.5 * FRAMING_MARGIN * np.array([video.width, video.height]) * 0.99
        assert np.all(uv >= -1e-6) and np.all(uv <= np.array([video.width, video.height]) + 1e-6), video.name
        # The framing is tight: some point of the area touches the margin on some side.
        slack = np.minimum(uv.min(axis=0), np.array([video.width, video.height]) - uv.max(axis=0))
        assert slack.min() <= margin.max() + 1.0, (video.name, slack)


def test_people_fill_a_sensible_part_of_every_dense_rig_view(dense_capture):
    """Every camera sees every person in every frame, and a person is a large part of the frame
    (the median over frames of the person's height in the image is at least a quarter of it), not a
    few pixels."""
    for video, bodies in zip(dense_capture.videos, dense_capture.video_bodies):
        cam = invert_rigid(video.camera_to_world)
        joints = bodies.joints @ cam[:3, :3].T + cam[:3, 3]
        uv = project(joints, video.K)
        assert np.all((uv >= 0) & (uv <= [video.width, video.height])), video.name
        person_height = uv[..., 1].max(axis=-1) - uv[..., 1].min(axis=-1)  # (T, P) pixels
        assert np.median(person_height) / video.height > 1 / 4, (video.name, np.median(person_height))


def test_stage_cameras_see_the_people_from_the_front_and_sides_only():
    capture = simulate_capture(SynthConfig.mobile_stage_like(seed=1, duration_s=2.0, start_spread_s=0.5, render_videos=False))
    azimuths = np.degrees([np.arctan2(v.camera_to_world[1, 3], v.camera_to_world[0, 3]) for v in capture.videos])
    assert np.abs(azimuths).max() < 105 and np.abs(azimuths).max() > 80, azimuths
    assert len(np.unique(np.round([v.camera_to_world[2, 3] for v in capture.videos], 0))) == 2  # two rows

