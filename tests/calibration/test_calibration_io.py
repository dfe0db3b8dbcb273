import json

import numpy as np
import pytest

from humansync_ns.calibration.calibration_io import (
    Calibration,
    CalibrationFormatError,
    VideoCalibration,
    VideoObservability,
    load_calibration,
    save_calibration,
)


def make_calibration() -> Calibration:
    K = np.array([[150.0, 0, 80], [0, 150.0, 60], [0, 0, 1]])
    moving = np.tile(np.eye(4), (3, 1, 1))
    moving[:, 0, 3] = [0.0, 0.1, 0.2]
    return Calibration(
        reference="cam00",
        videos=[
            VideoCalibration("cam00", 30.0, 90, 0.0, np.eye(4), K, 160, 120, 1.0),
            VideoCalibration("cam01", 24.0, 3, -1.25, moving, K, 160, 120, 0.5,
                             VideoObservability(time="weak", warnings=["time offset weakly determined"], time_pairs=1, time_contrast=0.4)),
        ],
        pairwise_names=["cam00", "cam01"],
        pairwise_cost=np.array([[0.0, np.inf], [np.inf, 0.0]]),
        pairwise_offset_s=np.array([[0.0, -1.25], [1.25, 0.0]]),
        excluded=[{"name": "cam02", "reason": "person never visible"}],
        method={"time_method": "robust"},
    )


def test_round_trip(tmp_path):
    path = save_calibration(make_calibration(), tmp_path / "calibration.json")
    json.loads(path.read_text())  # strict JSON: no NaN/Infinity tokens
    assert "Infinity" not in path.read_text()
    loaded = load_calibration(path)
    moving = loaded.video("cam01")
    assert moving.is_moving and moving.num_frames == 3 and moving.time_offset_s == -1.25
    np.testing.assert_allclose(moving.camera_to_world_at(2)[0, 3], 0.2)
    np.testing.assert_allclose(loaded.video("cam00").camera_to_world_at(5), np.eye(4))
    assert np.isnan(loaded.pairwise_cost[0, 1])  # unusable pair survives as null
    assert loaded.excluded[0]["name"] == "cam02" and loaded.method["time_method"] == "robust"
    record = moving.observability
    assert record.time == "weak" and record.warnings == ["time offset weakly determined"] and record.time_contrast == 0.4
    assert np.isnan(record.body_scale)  # NaN fields survive as null
    assert loaded.video("cam00").observability is None and "observability" not in json.loads(path.read_text())["videos"][0]


def _rotation_scaled(d):
    d["videos"][0]["camera_to_world"][0][0] = 5.0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("reference"), "missing key 'reference'"),
        (lambda d: d.update(reference="nope"), "reference 'nope'"),
        (lambda d: d["videos"][0].pop("fps"), "video 'cam00': missing key 'fps'"),
        (lambda d: d["videos"][0].update(K=[[1, 0], [0, 1]]), "video 'cam00' K: expected shape"),
        (lambda d: d["videos"][1].update(num_frames=5), "3 per-frame poses for num_frames=5"),
        (lambda d: d["videos"][0]["camera_to_world"][0].__setitem__(0, None), "video 'cam00' camera_to_world: contains NaN"),
        (lambda d: d.update(version=7), "unsupported version 7"),
        # Issue 18 §4: values that parse but make no sense are refused, naming the field.
        (lambda d: d["videos"][0].update(fps=0), "video 'cam00': 'fps' = 0 must be a positive number"),
        (lambda d: d["videos"][0].update(fps=1e9), "video 'cam00': 'fps' = 1000000000.0 must be a positive number ≤ 10000"),
        (lambda d: d["videos"][1].update(time_offset_s=None), "video 'cam01': 'time_offset_s' must be a number, got None"),
        (lambda d: d["videos"][1].update(time_offset_s="inf"), "video 'cam01': 'time_offset_s' = 'inf' must be a finite number"),
        (lambda d: d["videos"][0]["K"][1].__setitem__(1, -150.0), "video 'cam00' K: focal lengths"),
        (_rotation_scaled, "video 'cam00' camera_to_world: not a rigid transform"),
        (lambda d: d["videos"][1]["camera_to_world"][2][0].__setitem__(0, -1.0), "camera_to_world: not a rigid transform (frame 2, 1 such)"),
        (lambda d: d["videos"].append(dict(d["videos"][0])), "video name(s) ['cam00'] appear more than once"),
        (lambda d: d["videos"][0].update(observability={"colour": 1}), "video 'cam00': 'observability' must be an object"),
    ],
)
def test_bad_files_name_file_and_field(tmp_path, mutate, message):
    path = save_calibration(make_calibration(), tmp_path / "calibration.json")
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationFormatError, match="calibration.json") as info:
        load_calibration(path)
    assert message in str(info.value)
