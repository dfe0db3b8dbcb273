"""`calibrate()` end to end on synthetic captures with known truth (issue 3 targets)."""

import dataclasses

import numpy as np
import pytest

from humansync_ns.calibration.calibrate import CalibrationConfig, CalibrationError, calibrate
from humansync_ns.calibration.calibration_io import load_calibration, save_calibration
from humansync_ns.calibration.errors import calibration_errors
from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig


def _capture(**changes):
    return simulate_capture(SynthConfig(render_videos=False, **changes))


def _noise_free(**changes):
    return simulate_capture(SynthConfig(render_videos=False, **changes).noise_free())


CASES = {
    "default": lambda: _capture(seed=11),
    "mixed-24-30": lambda: _capture(seed=12, mixed_fps=True),
    "two-people": lambda: _capture(seed=13, num_people=2),
    "outliers-10%": lambda: _capture(seed=14, outlier_rate=0.10),
    "moving-camera": lambda: _capture(seed=15, moving_camera=True),
}


@pytest.mark.parametrize("case", ["default", "mixed", "moving"])
def test_noise_free_is_exact(case: str) -> None:
    capture = {
        "default": lambda: _noise_free(seed=21),
        "mixed": lambda: _noise_free(seed=22, mixed_fps=True),
        "moving": lambda: _noise_free(seed=23, moving_camera=True),
    }[case]()
    calibration = calibrate(capture.tracks, CalibrationConfig())
    errors = calibration_errors(calibration, capture.ground_truth)
    assert not calibration.excluded, calibration.excluded
    assert errors.time_frames.max() < 0.1, (case, errors.time_frames)
    assert errors.rotation_deg.max() < 0.1, (case, errors.rotation_deg)
    assert errors.translation_frac.max() < 0.005, (case, errors.translation_frac)


@pytest.mark.parametrize("case", list(CASES))
def test_estimator_noise_within_issue_bounds(case: str) -> None:
    capture = CASES[case]()
    calibration = calibrate(capture.tracks, CalibrationConfig())
    errors = calibration_errors(calibration, capture.ground_truth)
    summary = f"{case}: rot {errors.mean_rotation_deg:.2f}° trans {100 * errors.mean_translation_frac:.2f}% time {errors.mean_time_frames:.2f} fr"
    assert not calibration.excluded, calibration.excluded
    assert errors.mean_time_frames <= 0.5, summary
    assert errors.mean_rotation_deg <= 2.0, summary
    assert errors.mean_translation_frac <= 0.03, summary
    assert calibration.video(calibration.reference).time_offset_s == 0.0
    assert all(0.0 <= v.confidence <= 1.0 for v in calibration.videos)


def test_moving_camera_gets_per_frame_poses() -> None:
    capture = _capture(seed=15, moving_camera=True)
    calibration = calibrate(capture.tracks, CalibrationConfig())
    moving = [v for v in calibration.videos if v.is_moving]
    assert len(moving) == 1 and moving[0].camera_to_world.shape == (moving[0].num_frames, 4, 4)


def test_improved_variant_beats_the_paper_variant() -> None:
    capture = _capture(seed=16)
    paper = calibration_errors(calibrate(capture.tracks, CalibrationConfig.paper()), capture.ground_truth)
    improved = calibration_errors(calibrate(capture.tracks, CalibrationConfig()), capture.ground_truth)
    assert improved.mean_rotation_deg < paper.mean_rotation_deg
    assert improved.mean_translation_frac < paper.mean_translation_frac
    assert improved.mean_time_frames < paper.mean_time_frames


def test_parameter_distance_ablation_runs() -> None:
    capture = _noise_free(seed=17)
    config = CalibrationConfig(distance="params", pose_method="procrustes")
    errors = calibration_errors(calibrate(capture.tracks, config), capture.ground_truth)
    assert errors.mean_time_frames < 0.5 and errors.mean_rotation_deg < 1.0


def test_unusable_videos_are_excluded_with_a_reason() -> None:
    capture = _capture(seed=18)
    tracks = list(capture.tracks)
    never = tracks[2]
    tracks[2] = dataclasses.replace(never, valid=np.zeros_like(never.valid))  # person never visible
    no_params = dict(global_orient=None, body_pose=None, betas=None, transl=None)
    tracks[3] = dataclasses.replace(tracks[3], joints=tracks[3].joints.copy(), **no_params)
    tracks[3].joints[:40] = np.nan  # NaNs slipped into rows marked valid after loading: masked, not spread
    calibration = calibrate(tracks, CalibrationConfig())
    excluded = {e["name"]: e["reason"] for e in calibration.excluded}
    assert list(excluded) == [never.name] and "valid" in excluded[never.name]
    assert never.name not in [v.name for v in calibration.videos]
    errors = calibration_errors(calibration, capture.ground_truth)
    assert errors.missing == [never.name]
    assert errors.mean_rotation_deg < 2.0 and errors.mean_time_frames < 0.5


def test_video_without_time_overlap_is_excluded() -> None:
    capture = _capture(seed=19, num_cameras=4)
    tracks = list(capture.tracks)
    short = tracks[1]
    valid = np.zeros_like(short.valid)
    valid[:12] = short.valid[:12]  # 12 frames: valid, but shorter than any usable overlap
    tracks[1] = dataclasses.replace(short, valid=valid)
    calibration = calibrate(tracks, CalibrationConfig(min_valid_frames=5, min_overlap_frames=20))
    excluded = {e["name"]: e["reason"] for e in calibration.excluded}
    assert short.name in excluded and "overlap" in excluded[short.name], excluded


def test_bad_inputs_raise_naming_the_videos() -> None:
    capture = _capture(seed=20, num_cameras=3)
    joints_only = [dataclasses.replace(t, global_orient=None, body_pose=None, betas=None, transl=None) for t in capture.tracks]
    with pytest.raises(CalibrationError, match="cam00"):
        calibrate(joints_only, CalibrationConfig(distance="params"))
    with pytest.raises(CalibrationError, match="at least two"):
        calibrate(capture.tracks[:1])
    with pytest.raises(CalibrationError, match="nope"):
        calibrate(capture.tracks, CalibrationConfig(reference="nope"))
    two = _capture(seed=20, num_cameras=3, num_people=2)
    with pytest.raises(CalibrationError, match="number of people"):
        calibrate([capture.tracks[0], two.tracks[1], two.tracks[2]])


def test_requested_reference_and_json_round_trip(tmp_path) -> None:
    capture = _capture(seed=24, num_cameras=4)
    calibration = calibrate(capture.tracks, CalibrationConfig(reference="cam02"))
    assert calibration.reference == "cam02"
    reference = calibration.video("cam02")
    assert reference.time_offset_s == 0.0 and np.allclose(reference.camera_to_world, np.eye(4))
    loaded = load_calibration(save_calibration(calibration, tmp_path / "calibration.json"))
    assert [v.name for v in loaded.videos] == [v.name for v in calibration.videos]
    assert np.allclose(loaded.pairwise_offset_s, calibration.pairwise_offset_s, equal_nan=True)
    assert loaded.method["time_method"] == "robust"


def test_heavy_smpl_noise_keeps_offsets_sub_frame() -> None:
    # Table 2's σ = 0.2 row: the DTW path's most frequent lag alone goes several frames off here
    # (measured 12 frames for the paper's variant on this capture); the lag-curve candidate holds.
    capture = _capture(seed=100, pose_noise_sigma=0.2, betas_noise=0.2)
    errors = calibration_errors(calibrate(capture.tracks, CalibrationConfig()), capture.ground_truth)
    assert errors.mean_time_frames <= 0.5 and errors.mean_rotation_deg <= 3.0, (errors.mean_time_frames, errors.mean_rotation_deg)
