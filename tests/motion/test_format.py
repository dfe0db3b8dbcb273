import numpy as np
import pytest

import os
import time
import warnings

from humansync_ns.motion.format import MotionFormatError, MotionTrack, load_motion, load_motion_dir, save_motion, scan_motion_dir


def make_track(T=6, P=2, name="cam00", **overrides) -> MotionTrack:
    rng = np.random.default_rng(0)
    fields = dict(
        name=name,
        fps=30.0,
        valid=np.ones((T, P), dtype=bool),
        joints=rng.normal(size=(T, P, 24, 3)),
        global_orient=rng.normal(size=(T, P, 3)),
        body_pose=rng.normal(size=(T, P, 69)),
        betas=rng.normal(size=(P, 10)),
        transl=rng.normal(size=(T, P, 3)),
        K=np.array([[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]]),
        width=160,
        height=120,
    )
    fields.update(overrides)
    return MotionTrack(**fields)


def test_round_trip(tmp_path):
    track = make_track(frame_times=np.arange(6) / 30.0 + 0.5, world_to_camera=np.tile(np.eye(4), (6, 1, 1)))
    loaded = load_motion(save_motion(track, tmp_path / "cam00.npz"))
    assert loaded.name == "cam00" and loaded.fps == 30.0 and loaded.width == 160
    np.testing.assert_allclose(loaded.joints, track.joints, atol=1e-6)  # stored as float32
    np.testing.assert_allclose(loaded.body_pose, track.body_pose, atol=1e-6)
    np.testing.assert_array_equal(loaded.valid, track.valid)
    np.testing.assert_allclose(loaded.times, np.arange(6) / 30.0 + 0.5)
    assert loaded.is_moving and loaded.has_smpl


def test_default_times_and_joints_only():
    track = make_track(global_orient=None, body_pose=None, betas=None, transl=None)
    assert not track.has_smpl
    np.testing.assert_allclose(track.times, np.arange(6) / 30.0)


def test_invalid_rows_may_hold_nan():
    joints = np.random.default_rng(1).normal(size=(6, 2, 24, 3))
    valid = np.ones((6, 2), dtype=bool)
    joints[2, 1] = np.nan
    valid[2, 1] = False
    track = make_track(joints=joints, valid=valid, global_orient=None, body_pose=None, betas=None, transl=None)
    assert track.valid.sum() == 11


@pytest.mark.parametrize(
    "overrides, key",
    [
        (dict(joints=np.zeros((6, 2, 23, 3))), "joints"),
        (dict(body_pose=np.zeros((6, 2, 60))), "body_pose"),
        (dict(betas=np.zeros((2, 7))), "betas"),
        (dict(fps=0.0), "fps"),
        (dict(K=np.zeros((3, 3))), "K"),
        (dict(frame_times=np.array([0, 1, 1, 2, 3, 4.0])), "frame_times"),
        (dict(valid=np.ones((6, 2))), "valid"),
        (dict(joints=None, transl=None), "joints"),
    ],
)
def test_malformed_tracks_name_the_key(overrides, key):
    with pytest.raises(MotionFormatError, match=f"'{key}'"):
        make_track(**overrides)


def _scaled(factor: float, frame: int = 0) -> np.ndarray:
    w2c = np.tile(np.eye(4), (6, 1, 1))
    w2c[frame, :3, :3] *= factor
    return w2c


@pytest.mark.parametrize(
    "overrides, message",
    [
        # Issue 18: a rotation scaled ×5 was accepted (34° off); milliseconds made the clock explode.
        (dict(world_to_camera=_scaled(5.0)), r"'world_to_camera': must be rigid .* at row 0 \(1 such row\(s\)\)"),
        (dict(world_to_camera=_scaled(-1.0, frame=3)), r"'world_to_camera': must be rigid .* at row 3 \(1 such"),
        (dict(frame_times=np.arange(6) * 1000.0 / 30.0), r"'frame_times': median interval 33.33 is 1e\+03× .* in seconds"),
    ],
)
def test_implausible_tracks_are_refused(overrides, message):
    with pytest.raises(MotionFormatError, match=message):
        make_track(**overrides)


def test_nan_in_valid_rows_is_rejected():
    joints = np.zeros((6, 2, 24, 3))
    joints[0, 0, 3] = np.nan
    with pytest.raises(MotionFormatError, match="'joints'.*NaN"):
        make_track(joints=joints)


def test_malformed_files_name_file_and_key(tmp_path):
    path = tmp_path / "cam03.npz"
    np.savez(path, fps=30.0, valid=np.ones((4, 1), bool), joints=np.zeros((4, 1, 24, 3)), colour=np.zeros(3))
    with pytest.raises(MotionFormatError, match=r"cam03\.npz.*unknown key.*colour"):
        load_motion(path)
    np.savez(path, fps=30.0, joints=np.zeros((4, 1, 24, 3)))
    with pytest.raises(MotionFormatError, match=r"cam03\.npz.*'valid'.*missing"):
        load_motion(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(MotionFormatError, match=r"cam03\.npz.*not a readable"):
        load_motion(path)


def test_motion_dir_checks_people_count(tmp_path):
    save_motion(make_track(P=2, name="a"), tmp_path / "a.npz")
    save_motion(make_track(P=1, name="b"), tmp_path / "b.npz")
    with pytest.raises(MotionFormatError, match="number of people"):
        load_motion_dir(tmp_path)
    (tmp_path / "b.npz").unlink()
    assert [t.name for t in load_motion_dir(tmp_path)] == ["a"]
    with pytest.raises(MotionFormatError, match="no such|does not exist"):
        load_motion_dir(tmp_path / "missing")


def test_motion_dir_says_what_it_reads_and_skips(tmp_path):
    save_motion(make_track(name="cam00"), tmp_path / "cam00.npz")
    save_motion(make_track(name="cam01"), tmp_path / "cam01.NPZ")  # upper-case extension: read, not ignored
    (tmp_path / "._cam00.npz").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # aborted the run before
    (tmp_path / ".cam02.npz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("take 3")
    (tmp_path / "old").mkdir()
    listing = scan_motion_dir(tmp_path)
    assert [p.name for p in listing.files] == ["cam00.npz", "cam01.NPZ"]
    assert {p.name: why for p, why in listing.skipped.items()} == {
        "._cam00.npz": "macOS metadata file (AppleDouble), not motion",
        ".cam02.npz": "hidden file",
        "notes.txt": "not a .npz motion file",
        "old": "a folder",
    }
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tracks = load_motion_dir(tmp_path)  # without a listing it says what it skips as warnings
    assert [t.name for t in tracks] == ["cam00", "cam01"]
    assert sorted(str(w.message).split(": skipped ")[1].split(":")[0] for w in record) == ["._cam00.npz", ".cam02.npz", "notes.txt", "old"]
    assert not listing.notes


def test_motion_dir_notes_a_stale_file_and_refuses_clashing_names(tmp_path):
    for name in ("cam00", "cam01", "cam07"):
        save_motion(make_track(name=name), tmp_path / f"{name}.npz")
    two_days_ago = time.time() - 2 * 86400
    os.utime(tmp_path / "cam07.npz", (two_days_ago, two_days_ago))  # left over from an earlier import
    notes = {p.name: note for p, note in scan_motion_dir(tmp_path).notes.items()}
    assert list(notes) == ["cam07.npz"] and "48.0 h before" in notes["cam07.npz"] and "earlier run" in notes["cam07.npz"]
    save_motion(make_track(name="cam00"), tmp_path / "cam00.NPZ")
    with pytest.raises(MotionFormatError, match=r"\['cam00.NPZ', 'cam00.npz'\] would be the same video"):
        scan_motion_dir(tmp_path)
