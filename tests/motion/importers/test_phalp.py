"""4D-Humans / PHALP: a tracking pickle in PHALP's layout (joblib, compress=3, per-frame dicts)."""

import joblib
import numpy as np
import pytest
from importer_truth import PHALP_H as H
from importer_truth import PHALP_NUM_FRAMES as NUM_FRAMES
from importer_truth import PHALP_W as W
from importer_truth import CreatesFile, SmplTruth, write_phalp_tracks

from humansync_ns.motion.format import MotionFormatError
from humansync_ns.motion.importers import load_phalp, read_phalp


@pytest.fixture
def truths():
    rng = np.random.default_rng(5)
    return {3: SmplTruth(rng, NUM_FRAMES), 7: SmplTruth(rng, NUM_FRAMES)}


def test_round_trip_skips_ghosts(tmp_path, truths):
    detected = {3: {0, 1, 2, 3}, 7: {2, 3, 4, 5}}
    path = write_phalp_tracks(tmp_path / "demo_gym.pkl", truths, detected, ghosts={(3, 4), (3, 5)})
    result = read_phalp(path, fps=30.0)
    track = result.track
    assert track.name == "gym" and track.num_frames == NUM_FRAMES and track.num_people == 2
    assert result.assignment.person_of_track == {"3": 0, "7": 1}
    for p, tid in enumerate((3, 7)):
        rows = sorted(detected[tid])
        np.testing.assert_array_equal(np.flatnonzero(track.valid[:, p]), rows)  # ghost frames 4, 5 of track 3 stay invalid
        np.testing.assert_allclose(track.global_orient[rows, p], truths[tid].global_orient[rows], atol=1e-5)
        np.testing.assert_allclose(track.body_pose[rows, p], truths[tid].body_pose[rows], atol=1e-5)
        np.testing.assert_allclose(track.transl[rows, p], truths[tid].transl[rows], atol=1e-6)
        np.testing.assert_allclose(track.betas[p], truths[tid].betas, atol=1e-6)
    focal = 5000.0 * W / 256  # PHALP's virtual camera in image pixels
    np.testing.assert_allclose(track.K, [[focal, 0, W / 2], [0, focal, H / 2], [0, 0, 1]])
    assert (track.width, track.height) == (W, H)


def test_real_focal_length_rescales_depth_only(tmp_path, truths):
    path = write_phalp_tracks(tmp_path / "demo_gym.pkl", truths, {3: set(range(NUM_FRAMES)), 7: set()})
    native = load_phalp(path, fps=30.0)
    real = load_phalp(path, fps=30.0, focal_length=1000.0)
    np.testing.assert_allclose(real.transl[..., 2], native.transl[..., 2] * 1000.0 / (5000.0 * W / 256), rtol=1e-6)
    np.testing.assert_allclose(real.transl[..., :2], native.transl[..., :2])

    # the body's translation projects to the same pixel in both cameras
    def pixel(track):
        x = np.einsum("ij,tj->ti", track.K, track.transl[:, 0])
        return x[:, :2] / x[:, 2:]

    np.testing.assert_allclose(pixel(real), pixel(native), atol=1e-6)


def test_split_track_merges_into_one_person(tmp_path, truths):
    path = write_phalp_tracks(tmp_path / "demo_gym.pkl", truths, {3: {0, 1, 2}, 7: {3, 4, 5}})
    track = load_phalp(path, fps=30.0, person_mapping={"gym": {"3": 0, "7": 0}})
    assert track.num_people == 1 and track.valid.all()
    np.testing.assert_allclose(track.transl[3:, 0], truths[7].transl[3:], atol=1e-6)
    np.testing.assert_allclose(track.betas[0], (truths[3].betas + truths[7].betas) / 2, atol=1e-6)

    overlapping = write_phalp_tracks(tmp_path / "demo_gym2.pkl", truths, {3: {0, 1, 2}, 7: {2, 3}})
    with pytest.raises(MotionFormatError, match="tracks 3 and 7 are both person 0 at frame 2"):
        load_phalp(overlapping, fps=30.0, person_mapping={"gym2": {"3": 0, "7": 0}})


def test_malformed_frames_are_named(tmp_path, truths):
    path = write_phalp_tracks(tmp_path / "demo_gym.pkl", truths, {3: {0, 1}, 7: {1}})
    frames = joblib.load(path)
    frames["vid/000001.jpg"]["smpl"][0]["body_pose"] = np.zeros((21, 3, 3))
    joblib.dump(frames, path)
    with pytest.raises(MotionFormatError, match=r"key 'frame vid/000001.jpg/smpl\[0\]/body_pose': expected shape \(23, 3, 3\)"):
        load_phalp(path, fps=30.0)
    frames["vid/000001.jpg"]["camera"].pop()
    joblib.dump(frames, path)
    with pytest.raises(MotionFormatError, match="'frame vid/000001.jpg/camera': has 1 entries for 2 tracks"):
        load_phalp(path, fps=30.0)
    del frames["vid/000000.jpg"]["tracked_ids"]
    joblib.dump(frames, path)
    with pytest.raises(MotionFormatError, match="key 'tracked_ids': missing in frame vid/000000.jpg"):
        load_phalp(path, fps=30.0)


@pytest.mark.parametrize("where", ["entry", "object array"])
def test_crafted_pickle_runs_nothing(tmp_path, truths, where):
    """PHALP's compressed layout with a payload that opens a file, as a frame entry or inside an
    object array (which joblib before 1.6 unpickles with a bare pickle.load): refused by name, never run."""
    path = write_phalp_tracks(tmp_path / "demo_gym.pkl", truths, {3: {0, 1}, 7: {1}})
    frames = joblib.load(path)
    marker = tmp_path / "marker"
    payload = CreatesFile(marker) if where == "entry" else np.array([CreatesFile(marker), 1], dtype=object)
    frames["vid/000001.jpg"]["bbox"] = payload
    joblib.dump(frames, path, compress=3)
    with pytest.raises(MotionFormatError, match="refused to load the global 'io.open'") as err:
        load_phalp(path, fps=30.0)
    assert str(err.value).startswith(f"{path}: ")
    assert not marker.exists()
