"""The people's region: calibrated joints in the world (processing) and the scene box fitted to
them (dataparser), checked against the synthetic capture's true world joints."""

import json

import numpy as np
import pytest

from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.dataparser.normalization import PEOPLE_PADDING_M, apply_scene_transform, fit_scene_to_points
from humansync_ns.dataparser.transforms_io import TransformsFormatError
from humansync_ns.processing.people_region import people_points, world_joints
from humansync_ns.processing.process import process_capture
from humansync_ns.synthetic.capture import generate_capture, simulate_capture
from humansync_ns.synthetic.config import SynthConfig


@pytest.fixture(scope="module")
def capture():
    return simulate_capture(SynthConfig(seed=4, num_cameras=3, moving_camera=True, duration_s=2.0, start_spread_s=0.5).noise_free())


def test_world_joints_of_a_true_calibration_are_the_true_joints(capture):
    """Camera-frame joints (and a moving camera's estimator-world joints) mapped with the true poses
    land on the people's true world joints."""
    truth = capture.ground_truth
    for video, track, bodies in zip(truth.videos, capture.clean_tracks, capture.video_bodies):
        expected = bodies.joints[track.valid].reshape(-1, 3)  # rows where the estimator saw the person
        np.testing.assert_allclose(world_joints(track, video.camera_to_world), expected, atol=1e-6, err_msg=video.name)


def test_people_points_sample_every_video_within_the_walking_area(capture):
    tracks = {t.name: t for t in capture.clean_tracks}
    points = people_points(capture.ground_truth, tracks, max_points=500)
    assert points.shape == (500, 3)
    everyone = capture.world_joints.reshape(-1, 3)
    assert np.all(points.min(axis=0) >= everyone.min(axis=0) - 1e-6) and np.all(points.max(axis=0) <= everyone.max(axis=0) + 1e-6)
    assert people_points(capture.ground_truth, {}) is None


def test_fit_scene_to_points_puts_the_box_in_the_unit_cube():
    """A known box of points, rotated: after the transform its (padded) box is centred and fills
    [-1, 1] along its longest side; the orientation is kept."""
    rng = np.random.default_rng(0)
    points = rng.uniform([-2.0, 1.0, 0.0], [2.0, 2.0, 1.5], size=(4000, 3))
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90° about z
    transform, scale = fit_scene_to_points(np.concatenate([rotation, np.zeros((3, 1))], axis=1), points, scale_factor=1.0)
    np.testing.assert_array_equal(transform[:, :3], rotation)
    mapped = (points @ rotation.T + transform[:, 3]) * scale
    half = 2.0 + PEOPLE_PADDING_M  # the longest side (x, now y) with its padding
    assert scale == pytest.approx(1.0 / half, rel=0.02)
    np.testing.assert_allclose(0.5 * (mapped.max(axis=0) + mapped.min(axis=0)), 0.0, atol=0.03)
    assert np.abs(mapped).max() == pytest.approx(2.0 / half, rel=0.02)


def test_process_records_the_people_and_the_dataparser_fits_its_scene_box_to_them(tmp_path):
    config = SynthConfig(seed=2, num_cameras=3, duration_s=1.0, start_spread_s=0.3, length_jitter_s=0.1, width=32, height=24).noise_free()
    capture_dir = generate_capture(config, tmp_path / "capture")
    process_capture(capture_dir / "videos", tmp_path / "data", motion_dir=capture_dir / "motion", num_downscales=0)
    raw = json.loads((tmp_path / "data" / "transforms.json").read_text())
    assert len(raw["people_points"]) > 100
    cameras = HumanSyncDataParserConfig(data=tmp_path / "data").setup()
    people = HumanSyncDataParserConfig(data=tmp_path / "data", scene_box_from="people").setup()
    # In the cameras' scene box the people are a small part of the unit cube; in the people's box
    # they fill it up to the padding, and the cameras lie outside it.
    points = np.asarray(raw["people_points"])
    extent = {}
    for parser in (cameras, people):
        capture = parser.capture
        mapped = apply_scene_transform(_translation(points), capture.transform, capture.scale)[:, :, 3]
        extent[parser.config.scene_box_from] = np.abs(mapped).max()
    assert extent["cameras"] < 0.5, extent
    assert extent["people"] == pytest.approx(1.0 - PEOPLE_PADDING_M * people.capture.scale, abs=0.05), extent
    camera_centres = people.get_dataparser_outputs("train").cameras.camera_to_worlds[:, :3, 3]
    assert camera_centres.abs().max(dim=1).values.min() > 1.0


def test_scene_box_from_people_needs_the_people(tmp_path):
    config = SynthConfig(seed=2, num_cameras=2, duration_s=1.0, start_spread_s=0.3, length_jitter_s=0.1, width=32, height=24).noise_free()
    capture_dir = generate_capture(config, tmp_path / "capture")
    process_capture(capture_dir / "videos", tmp_path / "data", motion_dir=capture_dir / "motion", num_downscales=0)
    path = tmp_path / "data" / "transforms.json"
    raw = json.loads(path.read_text())
    raw.pop("people_points")
    path.write_text(json.dumps(raw))
    with pytest.raises(TransformsFormatError, match="people_points"):
        HumanSyncDataParserConfig(data=path, scene_box_from="people").setup().get_dataparser_outputs("train")
    raw["people_points"] = [[0.0, float("nan"), 1.0]]
    path.write_text(json.dumps(raw))
    with pytest.raises(TransformsFormatError, match="people_points"):
        HumanSyncDataParserConfig(data=path).setup().get_dataparser_outputs("train")


def _translation(points: np.ndarray) -> np.ndarray:
    """(M, 4, 4) transforms that move the origin to each point."""
    out = np.tile(np.eye(4), (len(points), 1, 1))
    out[:, :3, 3] = points
    return out
