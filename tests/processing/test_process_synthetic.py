"""The synthetic generator's capture (mp4 videos, motion files, ground truth) through
humansync-process and back through humansync-data."""

import numpy as np
import pytest

from humansync_ns.calibration.calibration_io import load_calibration
from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.dataparser.normalization import common_time_span
from humansync_ns.processing.process import process_capture
from humansync_ns.synthetic.capture import generate_capture
from humansync_ns.synthetic.config import SynthConfig


def test_generated_capture_processes_and_loads(tmp_path):
    config = SynthConfig(num_cameras=3, moving_camera=True, duration_s=1.5, start_spread_s=0.5, length_jitter_s=0.2,
                         width=48, height=32).noise_free()
    capture = generate_capture(config, tmp_path / "capture")
    truth = load_calibration(capture / "ground_truth" / "ground_truth.json")
    report = process_capture(capture / "videos", tmp_path / "data", motion_dir=capture / "motion",
                             ground_truth_path=capture / "ground_truth" / "ground_truth.json", num_downscales=1)
    assert report.excluded == [], report.excluded
    assert report.num_frames == {v.name: v.num_frames for v in truth.videos}, "every mp4 frame, at the native rate"

    parser = HumanSyncDataParserConfig(data=tmp_path / "data", eval_videos=("cam01",)).setup()
    train = parser.get_dataparser_outputs("train")
    meta = train.metadata
    assert meta["moving_videos"] == [3] and meta["eval_videos"] == [1]
    # offsets from the calibration agree with the truth (noise-free motion): < 0.1 frame after the common offset
    estimated, true = meta["time_offset_init_s"].numpy(), meta["ground_truth"]["time_offset_s"].numpy()
    error_frames = (estimated - true - np.mean(estimated - true)) * config.fps
    assert np.abs(error_frames).max() < 0.1, error_frames
    # intrinsics are the true ones (the calibration takes K from the motion files)
    first = [int(np.flatnonzero(meta["video_index"].numpy() == v)[0]) for v in (0, 2, 3)]
    np.testing.assert_allclose(train.cameras.fx[first, 0].numpy(), [truth.videos[v].K[0, 0] for v in (0, 2, 3)], rtol=1e-5)
    # normalised time 0..1 is the span every training video covers
    assert common_time_span(train.cameras.times.reshape(-1), meta["video_index"]) == pytest.approx((0.0, 1.0), abs=1e-6)
