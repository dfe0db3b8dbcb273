"""`transforms.json` from a calibration and the extracted frames (`docs/formats.md` section 4).

Poses: `calibration.json` holds OpenCV camera-to-world; nerfstudio wants OpenGL, so
`c2w_opengl = c2w_opencv @ diag(1, -1, -1, 1)` (`docs/conventions.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from humansync_ns.calibration.calibration_io import VideoCalibration
from humansync_ns.dataparser.transforms_io import TRANSFORMS_VERSION
from humansync_ns.processing.frames import FRAME_NAME

OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


def opencv_to_opengl_c2w(camera_to_world_opencv: np.ndarray) -> np.ndarray:
    """(..., 4, 4) OpenCV camera-to-world → OpenGL camera-to-world (flips the camera's y and z)."""
    return np.asarray(camera_to_world_opencv, dtype=np.float64) @ OPENCV_TO_OPENGL


@dataclass(frozen=True)
class VideoFrames:
    """One included video: its calibration (intrinsics already at the frames' size) and frames."""

    calibration: VideoCalibration
    num_frames: int
    """Frames written (and listed), 0 … num_frames − 1."""
    local_time_s: np.ndarray
    """(num_frames,) local time of each frame."""


def local_times(num_frames: int, fps: float, frame_times: Optional[np.ndarray]) -> np.ndarray:
    """`frame_index / fps`, or the motion file's `frame_times` (extended at `fps` past their end)."""
    times = np.arange(num_frames, dtype=np.float64) / fps
    if frame_times is not None and len(frame_times) > 0:
        known = min(num_frames, len(frame_times))
        times[:known] = frame_times[:known]
        if num_frames > known:
            times[known:] = frame_times[known - 1] + np.arange(1, num_frames - known + 1) / fps
    return times


def _video_entry(video: VideoFrames) -> dict[str, Any]:
    calib = video.calibration
    return {
        "name": calib.name, "fps": float(calib.fps), "num_frames": int(video.num_frames),
        "time_offset_s": float(calib.time_offset_s), "moving": bool(calib.is_moving),
        "w": int(calib.width), "h": int(calib.height),
        "fl_x": float(calib.K[0, 0]), "fl_y": float(calib.K[1, 1]), "cx": float(calib.K[0, 2]), "cy": float(calib.K[1, 2]),
        "confidence": float(calib.confidence),
    }


def build_transforms(videos: list[VideoFrames], calibration_file: Optional[str] = "calibration.json",
                     ground_truth_file: Optional[str] = None,
                     excluded: Optional[list[dict[str, str]]] = None,
                     people_points: Optional[np.ndarray] = None) -> dict[str, Any]:
    """The `transforms.json` dictionary; frame paths are `images/<video>/frame_%06d.png`;
    `people_points` (processing/people_region.py) are recorded when given."""
    frames = []
    for v, video in enumerate(videos):
        entry = _video_entry(video)
        intrinsics = {key: entry[key] for key in ("fl_x", "fl_y", "cx", "cy", "w", "h")}
        poses = opencv_to_opengl_c2w(video.calibration.camera_to_world)
        for i in range(video.num_frames):
            pose = poses[i] if video.calibration.is_moving else poses
            frames.append({
                "file_path": f"images/{video.calibration.name}/{FRAME_NAME.format(i)}",
                "transform_matrix": pose.tolist(),
                "video": v, "frame_index": i, "local_time": float(video.local_time_s[i]),
                **intrinsics,
            })
    out: dict[str, Any] = {"humansync_version": TRANSFORMS_VERSION, "camera_model": "OPENCV"}
    if calibration_file is not None:
        out["calibration"] = calibration_file
    if ground_truth_file is not None:
        out["ground_truth"] = ground_truth_file
    out["videos"] = [_video_entry(video) for video in videos]
    out["excluded"] = list(excluded or [])
    if people_points is not None:
        out["people_points"] = np.round(np.asarray(people_points, dtype=np.float64), 4).tolist()
    out["frames"] = frames
    return out
