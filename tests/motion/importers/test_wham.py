"""WHAM: a `wham_output.pkl` in the demo's layout (joblib dump of a defaultdict by subject id)."""

from collections import defaultdict

import joblib
import numpy as np
import pytest
from importer_truth import CreatesFile, SmplTruth

from humansync_ns.motion.format import MotionFormatError
from humansync_ns.motion.importers import load_wham, read_wham


def subject_entry(rng, truth, frame_ids, betas_noise=0.0):
    F = len(frame_ids)
    per_frame_betas = truth.betas + betas_noise * rng.normal(size=(F, 10))
    return {
        "pose": np.concatenate([truth.global_orient, truth.body_pose], axis=1).astype(np.float32),
        "trans": truth.transl.astype(np.float32),
        "pose_world": np.concatenate([truth.global_orient[::-1], truth.body_pose], axis=1).astype(np.float32),
        "trans_world": (truth.transl + 10.0).astype(np.float32),
        "betas": per_frame_betas.astype(np.float32),
        "frame_ids": np.asarray(frame_ids),
    }, per_frame_betas


@pytest.fixture
def wham_file(tmp_path):
    """Subjects 10 and 2 (ids as np.int64, as `np.unique` gives), on different frames of a 12-frame video."""
    rng = np.random.default_rng(3)
    frames = {np.int64(10): np.arange(4, 12), np.int64(2): np.array([0, 1, 2, 5, 6])}
    truths, betas = {}, {}
    results = defaultdict(dict)
    for subject, frame_ids in frames.items():
        truths[int(subject)] = SmplTruth(rng, len(frame_ids))
        results[subject], betas[int(subject)] = subject_entry(rng, truths[int(subject)], frame_ids, betas_noise=0.1)
    path = tmp_path / "output" / "demo" / "courtyard" / "wham_output.pkl"
    path.parent.mkdir(parents=True)
    joblib.dump(results, path)
    return path, frames, truths, betas


def test_camera_frame_round_trip(wham_file):
    path, frames, truths, betas = wham_file
    result = read_wham(path, fps=29.97, width=640, height=480)
    track = result.track
    assert track.name == "courtyard" and track.num_frames == 12 and track.num_people == 2
    assert result.assignment.person_of_track == {"2": 0, "10": 1}  # numeric order, not text order
    for p, subject in enumerate((2, 10)):
        rows = frames[np.int64(subject)]
        np.testing.assert_array_equal(np.flatnonzero(track.valid[:, p]), rows)
        np.testing.assert_allclose(track.global_orient[rows, p], truths[subject].global_orient, atol=1e-6)
        np.testing.assert_allclose(track.body_pose[rows, p], truths[subject].body_pose, atol=1e-6)
        np.testing.assert_allclose(track.transl[rows, p], truths[subject].transl, atol=1e-5)
        np.testing.assert_allclose(track.betas[p], betas[subject].mean(axis=0), atol=1e-6)
    assert track.world_to_camera is None  # camera-frame body
    np.testing.assert_allclose(track.K, [[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])  # f = hypot(640, 480)


def test_mapping_and_video_length(wham_file):
    path, frames, truths, _ = wham_file
    result = read_wham(path, fps=30.0, num_frames=20, person_mapping={"courtyard": {10: 2}})  # int keys, as a Python caller writes them
    track = result.track
    assert track.num_frames == 20 and track.num_people == 3
    assert result.assignment.dropped == ("2",)
    assert not track.valid[:, :2].any()
    np.testing.assert_array_equal(np.flatnonzero(track.valid[:, 2]), frames[np.int64(10)])


def test_malformed_subject_is_named(tmp_path):
    rng = np.random.default_rng(0)
    entry, _ = subject_entry(rng, SmplTruth(rng, 3), [0, 1, 2])
    entry["pose"] = entry["pose"][:, :69]
    path = tmp_path / "wham_output.pkl"
    joblib.dump({7: entry}, path)
    with pytest.raises(MotionFormatError, match=r"wham_output.pkl: key 'subject 7/pose': expected shape \(3, 72\)"):
        load_wham(path, fps=30.0)
    del entry["frame_ids"]
    joblib.dump({7: entry}, path)
    with pytest.raises(MotionFormatError, match="key 'frame_ids': missing in subject 7"):
        load_wham(path, fps=30.0)
    joblib.dump([entry], path)
    with pytest.raises(MotionFormatError, match="expected a non-empty dict"):
        load_wham(path, fps=30.0)


def test_crafted_pickle_runs_nothing(tmp_path):
    """A pickle whose payload opens a file: refused by name before it runs; it runs only when trusted."""
    rng = np.random.default_rng(0)
    entry, _ = subject_entry(rng, SmplTruth(rng, 3), [0, 1, 2])
    marker = tmp_path / "marker"
    entry["verts"] = CreatesFile(marker)  # a key WHAM writes and the importer does not read
    path = tmp_path / "wham_output.pkl"
    joblib.dump({7: entry}, path)
    with pytest.raises(MotionFormatError, match="refused to load the global 'io.open'") as err:
        load_wham(path, fps=30.0)
    assert str(err.value).startswith(f"{path}: ")
    assert not marker.exists()
    assert load_wham(path, fps=30.0, trust_pickle=True).num_frames == 3  # trusted, the payload runs
    assert marker.exists()


class _DillType:
    """Pickles as `dill._dill._load_type(name)`, the way pickle writes a builtin type once dill has
    extended it; written explicitly, so the test does not depend on whether (and when) the session
    imported dill, which joblib's pickler may or may not have seen."""

    def __init__(self, name: str):
        self.name = name

    def __reduce__(self):
        from dill._dill import _load_type

        return (_load_type, (self.name,))

    def __call__(self):  # a defaultdict's factory must be callable
        raise TypeError("only pickled, never called")


def test_dump_written_with_dill_loaded(wham_file):
    """With dill imported, pickle writes the defaultdict's `dict` as dill._dill._load_type('dict'):
    read as that builtin type; a type outside the allowed ones is refused by its dill name."""
    pytest.importorskip("dill")
    path, frames, truths, _ = wham_file
    results = joblib.load(path)
    joblib.dump(defaultdict(_DillType("dict"), results), path)
    joblib.dump({"code": _DillType("CodeType")}, path.with_name("code.pkl"))
    assert b"_load_type" in path.read_bytes()
    track = load_wham(path, fps=30.0)
    np.testing.assert_allclose(track.transl[frames[np.int64(2)], 0], truths[2].transl, atol=1e-5)
    with pytest.raises(MotionFormatError, match=r"refused to load the global 'dill._dill._load_type\('CodeType'\)'"):
        load_wham(path.with_name("code.pkl"), fps=30.0)
