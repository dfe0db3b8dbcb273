"""Without --calibration, humansync-process calibrates from the motion files (synthetic capture,
noise free) and the offsets written to transforms.json match the truth."""

import json

import numpy as np

from humansync_ns.motion.format import save_motion
from humansync_ns.processing.procedural import write_procedural_frames
from humansync_ns.processing.process import process_capture
from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig


def test_process_calibrates_from_motion(tmp_path):
    config = SynthConfig(num_cameras=3, duration_s=3.0, start_spread_s=1.0, width=32, height=24, render_videos=False).noise_free()
    capture = simulate_capture(config)
    write_procedural_frames(capture.ground_truth, tmp_path / "videos")
    for track in capture.tracks:
        save_motion(track, tmp_path / "motion" / f"{track.name}.npz")
    report = process_capture(tmp_path / "videos", tmp_path / "data", motion_dir=tmp_path / "motion", num_downscales=0)
    assert report.included == capture.video_names and report.excluded == []
    transforms = json.loads((tmp_path / "data" / "transforms.json").read_text())
    estimated = np.array([v["time_offset_s"] for v in transforms["videos"]])
    truth = capture.time_offsets_s
    error_frames = (estimated - truth - np.mean(estimated - truth)) * config.fps
    assert np.all(np.abs(error_frames) < 0.5), error_frames
    assert (tmp_path / "data" / "calibration.json").is_file()
