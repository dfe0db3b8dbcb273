"""A tiny data folder written by humansync-process from a known (ground-truth-like) calibration."""

from pathlib import Path

import pytest

from humansync_ns.calibration.calibration_io import Calibration
from humansync_ns.processing.procedural import procedural_calibration, write_procedural_data_folder


@pytest.fixture(scope="session")
def procedural_capture(tmp_path_factory) -> tuple[Path, Calibration]:
    """4 videos × 12 frames of 32×24 at 10 fps, the last one a moving camera; offsets up to 0.5 s."""
    calibration = procedural_calibration(num_videos=4, num_frames=12, fps=10.0, width=32, height=24, seed=3, moving_last=True)
    return write_procedural_data_folder(tmp_path_factory.mktemp("procedural"), calibration), calibration
