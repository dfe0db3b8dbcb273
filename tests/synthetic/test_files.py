"""What `generate_capture` writes (without videos) and how malformed motion files are rejected."""

import json

import numpy as np
import pytest

from humansync_ns.calibration.calibration_io import load_calibration
from humansync_ns.motion.format import MotionFormatError, load_motion, load_motion_dir
from humansync_ns.synthetic.capture import generate_capture, simulate_capture
from humansync_ns.synthetic.config import SynthConfig


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    config = SynthConfig(seed=8, num_cameras=2, duration_s=1.5, start_spread_s=0.3, moving_camera=True, num_people=2, render_videos=False)
    out = generate_capture(config, tmp_path_factory.mktemp("capture"))
    return config, out


def test_layout_and_round_trip(written):
    config, out = written
    capture = simulate_capture(config)
    for name in ("capture.json", "ground_truth/ground_truth.json", "ground_truth/world_joints.npz", "body_model/smpl/SMPL_NEUTRAL.npz"):
        assert (out / name).is_file(), name
    assert not (out / "videos").exists()
    tracks = load_motion_dir(out / "motion")
    assert [t.name for t in tracks] == ["cam00", "cam01", "cam02"]
    for loaded, track in zip(tracks, capture.tracks):
        np.testing.assert_array_equal(loaded.valid, track.valid)
        np.testing.assert_allclose(loaded.joints[loaded.valid], track.joints[track.valid], atol=1e-5)  # float32 on disk
        np.testing.assert_allclose(loaded.body_pose[loaded.valid], track.body_pose[track.valid], atol=1e-6)
        assert (loaded.width, loaded.height) == (160, 120) and loaded.fps == track.fps
    assert tracks[-1].world_to_camera.shape == (tracks[-1].num_frames, 4, 4) and tracks[0].world_to_camera is None


def test_ground_truth_files(written):
    config, out = written
    capture = simulate_capture(config)
    truth = load_calibration(out / "ground_truth" / "ground_truth.json")
    raw = json.loads((out / "ground_truth" / "ground_truth.json").read_text())
    assert raw["world_up"] == [0.0, 0.0, 1.0] and raw["scene_radius"] > 0 and len(raw["scene_center"]) == 3
    assert [v["moving"] for v in raw["videos"]] == [False, False, True]
    assert truth.reference == "cam00"
    for loaded, expected in zip(truth.videos, capture.ground_truth.videos):
        assert loaded.time_offset_s == pytest.approx(expected.time_offset_s, abs=1e-12)
        np.testing.assert_allclose(loaded.camera_to_world, expected.camera_to_world, atol=1e-12)
    assert truth.videos[-1].camera_to_world.shape == (truth.videos[-1].num_frames, 4, 4)
    with np.load(out / "ground_truth" / "world_joints.npz") as world:
        assert world["joints"].shape == (len(world["times"]), 2, 24, 3)
        np.testing.assert_allclose(world["joints"], capture.world_joints, atol=1e-5)
        # The SMPL parameters stored next to the joints reproduce them (synthetic body model FK).
        from humansync_ns.synthetic.estimator_noise import bodies_from_params

        fk = bodies_from_params(world["global_orient"], world["body_pose"], world["betas"], world["transl"])
        np.testing.assert_allclose(fk, world["joints"], atol=1e-4)
    summary = json.loads((out / "capture.json").read_text())
    assert SynthConfig.from_dict(summary["config"]) == config
    assert [v["num_frames"] for v in summary["videos"]] == [v.num_frames for v in truth.videos]


def _rewrite(src, dst, **changes):
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda a: {"valid": None}, "valid"),
        (lambda a: {"joints": a["joints"][:, :, :20]}, "joints"),
        (lambda a: {"body_pose": a["body_pose"][..., :50]}, "body_pose"),
        (lambda a: {"betas": a["betas"][:, :7]}, "betas"),
        (lambda a: {"valid": a["valid"].astype(np.float32)}, "valid"),
        (lambda a: {"K": np.zeros((3, 3))}, "K"),
        (lambda a: {"transl": np.where(a["valid"][..., None], np.nan, a["transl"])}, "transl"),
        (lambda a: {"joints": None, "transl": None}, "joints"),
        (lambda a: {"world_to_camera": np.tile(np.eye(4), (3, 1, 1))}, "world_to_camera"),
    ],
)
def test_malformed_motion_files_are_rejected_naming_file_and_key(written, tmp_path, change, key):
    _, out = written
    src = out / "motion" / "cam00.npz"
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    bad = _rewrite(src, tmp_path / "broken.npz", **change(arrays))
    with pytest.raises(MotionFormatError) as info:
        load_motion(bad)
    message = str(info.value)
    assert "broken.npz" in message and f"'{key}'" in message, message


def test_unknown_keys_are_rejected(written, tmp_path):
    _, out = written
    bad = _rewrite(out / "motion" / "cam01.npz", tmp_path / "extra.npz", keypoints_2d=np.zeros(3))
    with pytest.raises(MotionFormatError, match=r"extra\.npz.*keypoints_2d"):
        load_motion(bad)
