"""Cheap procedural captures for tests and benchmarks of the data path (no rendering of people).

`procedural_calibration` places static cameras on a ring looking at the origin (world +Z up,
OpenCV cameras) with known offsets, plus optionally one moving camera; `write_procedural_frames`
writes frame folders whose images are a fixed per-camera background with a bright disc that moves
with global time, so every video has a known static background and a known dynamic region.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration

FRAME_NAME = "frame_{:06d}.png"
DISC_COLOR = (242, 217, 51)


def look_at_opencv_c2w(eye: np.ndarray, target: np.ndarray, world_up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """(4, 4) OpenCV camera-to-world (x right, y down, z forward) at `eye` looking at `target`."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, world_up)
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([right, down, forward], axis=1)
    c2w[:3, 3] = eye
    return c2w


def procedural_calibration(num_videos: int = 3, num_frames: int = 12, fps: float = 10.0, width: int = 32,
                           height: int = 24, seed: int = 0, moving_last: bool = False,
                           fps_per_video: Optional[list[float]] = None) -> Calibration:
    """A ground-truth-like calibration: ring of cameras, random offsets in [0, 0.5) s (first at 0)."""
    rng = np.random.default_rng(seed)
    videos = []
    for v in range(num_videos):
        angle = 2 * np.pi * v / num_videos + rng.uniform(-0.2, 0.2)
        eye = np.array([4.0 * np.cos(angle), 4.0 * np.sin(angle), rng.uniform(1.0, 2.0)])
        c2w = look_at_opencv_c2w(eye, np.array([0.0, 0.0, 1.0]))
        video_fps = fps_per_video[v] if fps_per_video else fps
        if moving_last and v == num_videos - 1:
            angles = angle + np.linspace(0.0, 0.5, num_frames)
            c2w = np.stack([look_at_opencv_c2w(np.array([4 * np.cos(a), 4 * np.sin(a), eye[2]]), np.array([0.0, 0.0, 1.0]))
                            for a in angles])
        focal = width * rng.uniform(0.9, 1.3)
        K = np.array([[focal, 0, width / 2 + rng.uniform(-1, 1)], [0, focal * rng.uniform(0.98, 1.02), height / 2], [0, 0, 1]])
        offset = 0.0 if v == 0 else float(rng.uniform(0.0, 0.5))
        videos.append(VideoCalibration(f"cam{v:02d}", video_fps, num_frames, offset, c2w, K, width, height))
    return Calibration(reference="cam00", videos=videos, method={"generator": "procedural"})


def procedural_disc_mask(video_index: int, global_time_s: float, width: int, height: int) -> np.ndarray:
    """(H, W) bool: the moving disc of one video at one global time."""
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    phase = 0.7 * video_index
    cx = width * (0.5 + 0.3 * np.sin(1.3 * global_time_s + phase))
    cy = height * (0.5 + 0.25 * np.cos(0.9 * global_time_s))
    return (x - cx) ** 2 + (y - cy) ** 2 < (0.12 * min(width, height)) ** 2


@lru_cache(maxsize=4)
def _background(video_index: int, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 static background of one video (smooth per-camera colour ramps)."""
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    phase = 0.7 * video_index
    image = np.empty((height, width, 3), dtype=np.float32)
    image[..., 0] = 0.3 + 0.2 * np.sin(x / width * 6.0 + phase)
    image[..., 1] = 0.3 + 0.2 * np.cos(y / height * 5.0 + phase)
    image[..., 2] = 0.25 + 0.05 * (video_index % 4)
    return (image * 255).round().astype(np.uint8)


def procedural_frame(video_index: int, global_time_s: float, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8: per-video smooth background + a disc whose position follows global time."""
    image = _background(video_index, width, height).copy()
    image[procedural_disc_mask(video_index, global_time_s, width, height)] = DISC_COLOR
    return image


def procedural_dynamic_mask(video_index: int, global_times_s: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) bool: pixels the disc covers at some of the given global times (the true dynamic region)."""
    mask = np.zeros((height, width), dtype=bool)
    for t in np.asarray(global_times_s, dtype=np.float64):
        mask |= procedural_disc_mask(video_index, float(t), width, height)
    return mask


def write_procedural_frames(calibration: Calibration, frames_dir: Path, png_compress_level: int = 1,
                            progress: bool = False) -> dict[str, Path]:
    """Writes `frames_dir/<video>/frame_%06d.png` for every video; returns the folders by name."""
    from rich.progress import track

    folders = {}
    videos = list(enumerate(calibration.videos))
    for v, video in track(videos, description="procedural frames", disable=not progress, transient=True):
        folder = Path(frames_dir) / video.name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(video.num_frames):
            image = procedural_frame(v, i / video.fps + video.time_offset_s, video.width, video.height)
            Image.fromarray(image).save(folder / FRAME_NAME.format(i), compress_level=png_compress_level)
        folders[video.name] = folder
    return folders


def write_procedural_data_folder(root: Path, calibration: Calibration, num_downscales: int = 1,
                                 with_ground_truth: bool = True) -> Path:
    """Frames for `calibration` → `root/frames`, then `humansync-process` with that calibration (also
    as ground truth) → `root/data`, which is returned."""
    from humansync_ns.calibration.calibration_io import save_calibration
    from humansync_ns.processing.process import process_capture

    root = Path(root)
    write_procedural_frames(calibration, root / "frames")
    save_calibration(calibration, root / "truth.json")
    process_capture(root / "frames", root / "data", calibration_path=root / "truth.json",
                    ground_truth_path=root / "truth.json" if with_ground_truth else None, num_downscales=num_downscales)
    return root / "data"


def write_procedural_transforms_folder(root: Path, calibration: Calibration, png_compress_level: int = 1) -> Path:
    """The data folder of `calibration` written directly (frames into images/, transforms.json), without
    the re-encoding pass of humansync-process: for benchmarks at scale. Returns `root`."""
    import json

    from humansync_ns.processing.transforms_writer import VideoFrames, build_transforms, local_times

    root = Path(root)
    write_procedural_frames(calibration, root / "images", png_compress_level, progress=True)
    videos = [VideoFrames(v, v.num_frames, local_times(v.num_frames, v.fps, None)) for v in calibration.videos]
    (root / "transforms.json").write_text(json.dumps(build_transforms(videos, calibration_file=None)))
    return root
