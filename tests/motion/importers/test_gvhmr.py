"""GVHMR: an `hmr4d_results.pt` in the demo's layout (torch.save of a dict of float32 tensors)."""

import numpy as np
import pytest
import torch
from importer_truth import REST_PELVIS, SmplTruth, apply_w2c, random_world_to_camera, to_world

from humansync_ns.motion.format import MotionFormatError
from humansync_ns.motion.importers import load_gvhmr, read_gvhmr

F = 6
K = np.array([[900.0, 0.0, 480.0], [0.0, 900.0, 270.0], [0.0, 0.0, 1.0]])


def params(global_orient, body_pose, betas, transl):
    as_tensor = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    return {"body_pose": as_tensor(body_pose), "betas": as_tensor(betas), "global_orient": as_tensor(global_orient), "transl": as_tensor(transl)}


@pytest.fixture
def gvhmr_file(tmp_path):
    rng = np.random.default_rng(11)
    truth = SmplTruth(rng, F, pose_width=63)
    w2c = random_world_to_camera(rng, F)
    orient_w, transl_w = to_world(truth, w2c)
    betas = np.tile(truth.betas, (F, 1))
    pred = {
        "smpl_params_global": params(orient_w, truth.body_pose, betas, transl_w),
        "smpl_params_incam": params(truth.global_orient, truth.body_pose, betas, truth.transl),
        "K_fullimg": torch.as_tensor(np.tile(K, (F, 1, 1)), dtype=torch.float32),
        "net_outputs": {"static_conf_logits": torch.zeros(1, F, 6)},
    }
    path = tmp_path / "outputs" / "demo" / "tennis" / "hmr4d_results.pt"
    path.parent.mkdir(parents=True)
    torch.save(pred, path)
    return path, truth, w2c, pred


def test_incam_round_trip(gvhmr_file):
    path, truth, _, _ = gvhmr_file
    track = load_gvhmr(path, fps=30.0, width=960, height=540)
    assert track.name == "tennis" and track.num_frames == F and track.num_people == 1 and track.valid.all()
    np.testing.assert_allclose(track.global_orient[:, 0], truth.global_orient, atol=1e-6)
    np.testing.assert_allclose(track.body_pose[:, 0], truth.body_pose, atol=1e-6)
    np.testing.assert_allclose(track.transl[:, 0], truth.transl, atol=1e-5)
    np.testing.assert_allclose(track.betas[0], truth.betas, atol=1e-6)
    np.testing.assert_allclose(track.K, K)
    assert track.world_to_camera is None and (track.width, track.height) == (960, 540)


def test_global_frame_recovers_the_camera(gvhmr_file):
    path, truth, w2c, _ = gvhmr_file
    track = load_gvhmr(path, fps=30.0, frame="global", rest_pelvis=REST_PELVIS)
    np.testing.assert_allclose(track.world_to_camera, w2c, atol=1e-4)
    world_joints = truth.joints(track.global_orient[:, 0], track.transl[:, 0])
    np.testing.assert_allclose(apply_w2c(track.world_to_camera, world_joints), truth.joints(), atol=1e-4)
    # a wrong rest pelvis moves the camera: the pelvis is not optional information
    wrong = load_gvhmr(path, fps=30.0, frame="global", rest_pelvis=np.zeros(3))
    assert np.abs(wrong.world_to_camera[:, :3, 3] - w2c[:, :3, 3]).max() > 0.05


def test_person_mapping_places_the_single_person(gvhmr_file):
    path, truth, _, _ = gvhmr_file
    result = read_gvhmr(path, fps=30.0, person_mapping={"tennis": {"0": 1}, "other": {"3": 0}})
    assert result.track.num_people == 2 and result.track.valid[:, 1].all() and not result.track.valid[:, 0].any()
    np.testing.assert_allclose(result.track.transl[:, 1], truth.transl, atol=1e-5)


def test_malformed_files(gvhmr_file, tmp_path):
    path, _, _, pred = gvhmr_file
    with pytest.raises(MotionFormatError, match="needs rest_pelvis"):
        load_gvhmr(path, fps=30.0, frame="global")
    del pred["smpl_params_incam"]["transl"]
    bad = tmp_path / "hmr4d_results.pt"
    torch.save(pred, bad)
    with pytest.raises(MotionFormatError, match=r"hmr4d_results.pt: key 'transl': missing in smpl_params_incam"):
        load_gvhmr(bad, fps=30.0)
    torch.save({"smpl_params_global": pred["smpl_params_global"]}, bad)
    with pytest.raises(MotionFormatError, match="key 'smpl_params_incam': missing"):
        load_gvhmr(bad, fps=30.0)
    torch.save({"smpl_params_incam": params(np.zeros((F, 3)), np.zeros((F, 69)), np.zeros((F, 10)), np.zeros((F, 3)))}, bad)
    with pytest.raises(MotionFormatError, match=r"key 'smpl_params_incam/body_pose': expected shape \(6, 63\)"):
        load_gvhmr(bad, fps=30.0)
