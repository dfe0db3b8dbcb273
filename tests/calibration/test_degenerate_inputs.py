"""Issue 18 §1: every input that fooled the calibration (exit 0, high confidence, no warning) now
gets an exclusion, an error or a warning naming the video and the reason; good captures get none.

The inputs are generated from the synthetic capture generator (`degenerate_captures.py`)."""

import dataclasses
import re

import numpy as np
import pytest
from degenerate_captures import capture, clipped, filmed, in_millimetres, on_the_spot, replayed, still, swapped_people

from humansync_ns.calibration.calibrate import CalibrationConfig, CalibrationError, calibrate
from humansync_ns.calibration.errors import calibration_errors
from humansync_ns.motion.format import MotionFormatError


@pytest.fixture(scope="module")
def four():
    return capture(seed=5, num_cameras=4)


def _excluded(calibration) -> dict[str, tuple[str, str]]:
    return {e["name"]: (e["check"], e["reason"]) for e in calibration.excluded}


def _warnings(calibration) -> dict[str, list[str]]:
    return {v.name: v.observability.warnings for v in calibration.videos if v.observability.warnings}


def _remaining_are_accurate(calibration, truth) -> None:
    errors = calibration_errors(calibration, truth)
    assert errors.mean_time_frames < 0.5 and errors.mean_rotation_deg < 2.0, (errors.mean_time_frames, errors.mean_rotation_deg)


def test_person_standing_still_has_no_offset(four) -> None:
    with pytest.raises(CalibrationError, match="fewer than two videos could be synchronized") as info:
        calibrate(still(four))
    message = str(info.value)
    for name in four.video_names:
        assert f"{name}: time offset unobservable" in message
    assert "no distinct best lag" in message and "barely moves" in message


def test_periodic_motion_is_ambiguous(four) -> None:
    with pytest.raises(CalibrationError) as info:
        calibrate(replayed(four, period_s=1.0))
    message = str(info.value)
    assert all(f"{name}: time offset unobservable" in message for name in four.video_names)
    assert "ambiguous" in message and "the motion repeats" in message
    lags = [abs(float(x)) for x in re.findall(r"a lag ([+-][0-9.]+) s away", message)]
    assert lags and all(abs(lag - 1.0) < 0.1 for lag in lags), lags  # the second minimum is one period away


@pytest.mark.parametrize("seed", [0, 1])
def test_two_videos_without_temporal_overlap(seed: int) -> None:
    # Video 0 recorded global seconds 0-4, video 1 seconds 6-10: any offset is a false match.
    c = capture(seed=seed, num_cameras=2)
    tracks = [clipped(c, 0, -10.0, 4.0), clipped(c, 1, 6.0, 100.0)]
    if seed == 0:  # the false match has an equally good twin: unobservable
        with pytest.raises(CalibrationError, match=r"cam00: time offset unobservable: with cam01, ambiguous"):
            calibrate(tracks)
        return
    calibration = calibrate(tracks)  # a shallow minimum: calibrated, with a warning on both videos
    warnings = _warnings(calibration)
    assert sorted(warnings) == ["cam00", "cam01"]
    assert all("time offset weakly determined" in w[0] for w in warnings.values())
    assert all(v.observability.time == "weak" and v.confidence < 0.6 for v in calibration.videos)


def test_a_different_walk_swapped_into_one_video_is_excluded(four) -> None:
    other = capture(seed=8, num_cameras=4)
    tracks = list(four.tracks)
    tracks[1] = dataclasses.replace(other.tracks[1], name="cam01")
    calibration = calibrate(tracks)
    excluded = _excluded(calibration)
    assert list(excluded) == ["cam01"] and excluded["cam01"][0] == "time"
    assert "fits the other videos' much worse than they fit each other" in excluded["cam01"][1]
    assert not _warnings(calibration)
    _remaining_are_accurate(calibration, four.ground_truth)


def test_person_indices_swapped_in_one_file() -> None:
    c = capture(seed=5, num_cameras=4, num_people=2)
    tracks = list(c.tracks)
    tracks[1] = swapped_people(tracks[1])
    calibration = calibrate(tracks)
    excluded = _excluded(calibration)
    assert list(excluded) == ["cam01"] and excluded["cam01"][0] == "time"
    assert "the people are in another order" in excluded["cam01"][1] and "[1, 0]" in excluded["cam01"][1]
    _remaining_are_accurate(calibration, c.ground_truth)
    two = capture(seed=5, num_cameras=2, num_people=2)
    with pytest.raises(CalibrationError, match=r"cam00: time offset unobservable: with cam01, the people are in another order"):
        calibrate([two.tracks[0], swapped_people(two.tracks[1])])


def test_joints_in_millimetres_are_excluded(four) -> None:
    tracks = list(four.tracks)
    tracks[2] = dataclasses.replace(in_millimetres(tracks[2]), source="motion/cam02.npz")
    calibration = calibrate(tracks)
    check, reason = _excluded(calibration)["cam02"]
    assert check == "body_size" and "millimetres" in reason and "motion/cam02.npz" in reason
    assert re.search(r"are 1\.0\de\+03× the size of an adult", reason), reason
    _remaining_are_accurate(calibration, four.ground_truth)


def test_fps_label_25_on_a_30_fps_video(four) -> None:
    tracks = list(four.tracks)
    tracks[3] = dataclasses.replace(tracks[3], fps=25.0, source="motion/cam03.npz")
    calibration = calibrate(tracks)
    check, reason = _excluded(calibration)["cam03"]
    assert check == "fps" and "fps label looks wrong" in reason and "'fps' 25 in motion/cam03.npz" in reason
    suggested = float(re.search(r"([0-9.]+) fps would match", reason).group(1))
    assert abs(suggested - 30.0) < 0.5, reason
    _remaining_are_accurate(calibration, four.ground_truth)
    two = capture(seed=5, num_cameras=2)
    with pytest.raises(CalibrationError, match=r"1\.20× as fast in one video as in the other.*fps labels is wrong"):
        calibrate([two.tracks[0], dataclasses.replace(two.tracks[1], fps=25.0)])


def test_world_to_camera_rotation_scaled_by_five_is_refused() -> None:
    moving = capture(seed=15, num_cameras=3, moving_camera=True).tracks[-1]
    scaled = moving.world_to_camera.copy()
    scaled[:, :3, :3] *= 5.0
    with pytest.raises(MotionFormatError, match=r"cam03\.npz: key 'world_to_camera': must be rigid .*row 0 \(\d+ such"):
        dataclasses.replace(moving, world_to_camera=scaled, source="motion/cam03.npz")


def test_people_on_the_spot_weaken_the_camera_positions(four) -> None:
    calibration = calibrate(on_the_spot(four))
    assert not calibration.excluded
    for video in calibration.videos:
        assert video.observability.pose == "weak" and video.observability.position_spread_m < 0.1
        assert any("camera position weakly determined" in w for w in video.observability.warnings)
        assert video.observability.time == "ok"


GOOD = {
    "default": lambda: capture(seed=11),
    "mixed-24-30": lambda: capture(seed=12, mixed_fps=True),
    "two-people": lambda: capture(seed=13, num_people=2),
    "moving-camera": lambda: capture(seed=15, moving_camera=True),
    "two-videos-a": lambda: capture(seed=1, num_cameras=2),
    "two-videos-b": lambda: capture(seed=3, num_cameras=2),
}


@pytest.mark.parametrize("case", list(GOOD))
def test_good_captures_raise_no_alarm(case: str) -> None:
    calibration = calibrate(GOOD[case]().tracks)
    assert not calibration.excluded and not _warnings(calibration), (calibration.excluded, _warnings(calibration))
    for video in calibration.videos:
        record = video.observability
        assert (record.time, record.pose) == ("ok", "ok"), video.name
        assert video.confidence > 0.6 and record.time_contrast > 0.7 and record.time_separation > 0.3, (video.name, record)
        assert abs(record.body_scale - 1.0) < 0.1 and (np.isnan(record.speed) or abs(record.speed - 1.0) < 0.05)


def test_the_paper_variant_gets_the_same_checks(four) -> None:
    with pytest.raises(CalibrationError, match="barely moves"):
        calibrate(still(four), CalibrationConfig.paper())
    assert not calibrate(four.tracks, CalibrationConfig.paper()).excluded


def test_filmed_without_a_warp_reproduces_the_capture(four) -> None:
    # The generator helper itself: the identity warp gives tracks that calibrate like the originals.
    calibration = calibrate(filmed(four, lambda t: t))
    assert not calibration.excluded and not _warnings(calibration)
    _remaining_are_accurate(calibration, four.ground_truth)
