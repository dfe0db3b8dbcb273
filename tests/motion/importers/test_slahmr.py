"""SLAHMR world results: a file in slahmr's npz layout, made from known bodies and cameras."""

import json

import numpy as np
import pytest
from importer_truth import SmplTruth, apply_w2c, random_world_to_camera, to_world

from humansync_ns.motion.format import MotionFormatError
from humansync_ns.motion.importers import load_slahmr, read_slahmr

B, T = 2, 8


def write_results(path, truths, w2c, track_mask=None, drop=(), **overrides):
    """Keys, shapes and dtypes of `StageOptimizer.save_results` for the "world" entry (float32 tensors → npz)."""
    world = [to_world(truth, w2c) for truth in truths]
    arrays = {
        "trans": np.stack([w[1] for w in world]),
        "root_orient": np.stack([w[0] for w in world]),
        "pose_body": np.stack([t.body_pose for t in truths]),
        "betas": np.stack([t.betas for t in truths]),
        "cam_R": np.repeat(w2c[None, :, :3, :3], B, axis=0),
        "cam_t": np.repeat(w2c[None, :, :3, 3], B, axis=0),
        "intrins": np.array([500.0, 510.0, 320.0, 240.0]),
        # parameters slahmr also saves; the importer must ignore them
        "latent_pose": np.zeros((B, T, 32)),
        "world_scale": np.ones((1, 1)),
        "floor_plane": np.array([[0.0, -1.0, 0.0]]),
        "floor_idcs": np.zeros(B, dtype=np.int64),
    }
    if track_mask is not None:
        arrays["track_mask"] = track_mask
    arrays.update(overrides)
    for key in drop:
        del arrays[key]
    np.savez(path, **{k: np.asarray(v, dtype=np.float32) if v.dtype.kind == "f" else v for k, v in arrays.items()})
    return path


@pytest.fixture
def scene():
    rng = np.random.default_rng(7)
    truths = [SmplTruth(rng, T, pose_width=63, num_betas=16) for _ in range(B)]
    return truths, random_world_to_camera(rng, T)


def test_world_results_round_trip(tmp_path, scene):
    truths, w2c = scene
    mask = np.ones((B, T), dtype=np.float32)
    mask[1, :3] = 0  # track 1 starts at row 3 (synchronize_preds pads before it)
    path = write_results(tmp_path / "dance_000120_world_results.npz", truths, w2c, track_mask=mask)
    track = load_slahmr(path, fps=25.0)

    assert track.name == "dance" and track.fps == 25.0
    assert track.num_frames == T and track.num_people == B
    np.testing.assert_array_equal(track.valid, (mask > 0.5).T)
    np.testing.assert_allclose(track.world_to_camera, w2c, atol=1e-6)
    np.testing.assert_allclose(track.K, [[500, 0, 320], [0, 510, 240], [0, 0, 1]])
    for p, truth in enumerate(truths):
        rows = track.valid[:, p]
        np.testing.assert_allclose(track.body_pose[rows, p], truth.body_pose[rows], atol=1e-6)
        np.testing.assert_allclose(track.betas[p], truth.betas, atol=1e-6)
        # the world body seen through world_to_camera is the known camera-frame body
        world_joints = truth.joints(track.global_orient[:, p], track.transl[:, p])
        np.testing.assert_allclose(apply_w2c(track.world_to_camera, world_joints)[rows], truth.joints()[rows], atol=1e-4)


def test_track_info_gives_ids_visibility_and_start_frame(tmp_path, scene):
    truths, w2c = scene
    run = tmp_path / "run"
    (run / "motion_chunks").mkdir(parents=True)
    vis = np.zeros((B, 30), dtype=bool)
    vis[0, 5:13] = True  # seq_interval starts at 5: rows 0..7
    vis[1, 8:11] = True
    info = {
        "tracks": {"12": {"index": 1, "vis_mask": vis[1].tolist()}, "4": {"index": 0, "vis_mask": vis[0].tolist()}},
        "meta": {"seq_interval": [5, 13], "data_interval": [100, 130]},
    }
    (run / "track_info.json").write_text(json.dumps(info))
    path = write_results(run / "motion_chunks" / "dance_000300_world_results.npz", truths, w2c)

    result = read_slahmr(path, fps=30.0, person_mapping={"dance": {"12": 0, "4": 1}})
    track = result.track
    assert result.assignment.person_of_track == {"4": 1, "12": 0}
    np.testing.assert_array_equal(track.valid[:, 0], vis[1, 5:13])  # track 12 (batch index 1) is person 0
    np.testing.assert_array_equal(track.valid[:, 1], vis[0, 5:13])
    np.testing.assert_allclose(track.body_pose[track.valid[:, 0], 0], truths[1].body_pose[vis[1, 5:13]], atol=1e-6)
    np.testing.assert_allclose(track.times, (105 + np.arange(T)) / 30.0)


def test_missing_camera_key_is_named(tmp_path, scene):
    truths, w2c = scene
    path = write_results(tmp_path / "x_000001_world_results.npz", truths, w2c, drop=("cam_R",))
    with pytest.raises(MotionFormatError, match=r"x_000001_world_results.npz: key 'cam_R': missing"):
        load_slahmr(path, fps=30.0)


def test_odd_pose_width_and_missing_fps(tmp_path, scene):
    truths, w2c = scene
    path = write_results(tmp_path / "x_000001_world_results.npz", truths, w2c, pose_body=np.zeros((B, T, 60)))
    with pytest.raises(MotionFormatError, match="key 'pose_body'.*63 \\(SMPL-H\\) or 69"):
        load_slahmr(path, fps=30.0)
    with pytest.raises(MotionFormatError, match="does not store the frame rate"):
        load_slahmr(path)
