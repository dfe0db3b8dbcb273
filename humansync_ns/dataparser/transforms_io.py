"""Reads and validates a humansync `transforms.json` (`docs/formats.md`, section 4).

The file is nerfstudio's format (OpenGL camera-to-world per frame, per-frame intrinsics) plus time:
a `videos` list with each video's fps, `time_offset_s` and intrinsics, and per frame its `video`
index, `frame_index` and `local_time`. Everything malformed raises `TransformsFormatError` naming
the file and the field; nothing is silently repaired.

Fallback for a plain `ns-process-data` file (no time): with `plain_fps` given, its frames are read
as the frames of one moving-camera video in file order, `local_time = i / plain_fps`. Without
`plain_fps` such a file is an error that says how to proceed.

No nerfstudio or torch import here: this module is plain numpy, usable by tools and tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from humansync_ns.body.rotations import is_proper_rotation

TRANSFORMS_VERSION = 1
SUPPORTED_CAMERA_MODELS = ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE")
INTRINSIC_KEYS = ("fl_x", "fl_y", "cx", "cy", "w", "h")
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
_MAX_LISTED_MISSING = 5


class TransformsFormatError(ValueError):
    """A `transforms.json` does not follow `docs/formats.md` section 4."""


@dataclass(frozen=True)
class VideoEntry:
    """One video of the capture as `transforms.json` declares it (intrinsics in pixels)."""

    name: str
    fps: float
    time_offset_s: float
    moving: bool
    width: int
    height: int
    fl_x: float
    fl_y: float
    cx: float
    cy: float


@dataclass
class TransformsData:
    """A validated `transforms.json`; frames sorted by (video, frame_index), arrays over frames."""

    path: Path
    """The json file itself; frame paths are relative to its folder."""
    videos: list[VideoEntry]
    relative_paths: list[str]
    """(N,) `file_path` of each frame as written in the file."""
    video_index: np.ndarray
    """(N,) int64 video of each frame (index into `videos`)."""
    frame_index: np.ndarray
    """(N,) int64 frame number inside its video."""
    local_time_s: np.ndarray
    """(N,) float64 local time of each frame, seconds."""
    camera_to_world_opengl: np.ndarray
    """(N, 4, 4) float64 OpenGL camera-to-world in the calibration's world."""
    calibration_path: Optional[Path] = None
    ground_truth_path: Optional[Path] = None
    people_points: Optional[np.ndarray] = None
    """(M, 3) sample of the people's joints in the calibration's world, when humansync-process
    could compute it (processing/people_region.py)."""
    is_plain: bool = False
    """True when read through the plain ns-process-data fallback."""

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def num_frames(self) -> int:
        return int(self.video_index.shape[0])

    @property
    def video_names(self) -> list[str]:
        return [v.name for v in self.videos]

    @property
    def time_offset_s(self) -> np.ndarray:
        """(num_videos,) float64."""
        return np.array([v.time_offset_s for v in self.videos], dtype=np.float64)

    @property
    def global_time_s(self) -> np.ndarray:
        """(N,) `local_time + time_offset_s` of each frame's video (docs/conventions.md)."""
        return self.local_time_s + self.time_offset_s[self.video_index]

    def frames_of(self, video: int) -> np.ndarray:
        """(n,) indices of the frames of one video, in frame order."""
        return np.flatnonzero(self.video_index == video)


def _fail(source: str, field: str, message: str) -> TransformsFormatError:
    return TransformsFormatError(f"{source}: field '{field}': {message}")


def _number(entry: dict, key: str, source: str, where: str, positive: bool = False) -> float:
    if key not in entry:
        raise _fail(source, f"{where}.{key}", "missing")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(source, f"{where}.{key}", f"must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise _fail(source, f"{where}.{key}", f"must be positive, got {value}")
    return float(value)


def _integer(entry: dict, key: str, source: str, where: str, minimum: int = 0) -> int:
    if key not in entry:
        raise _fail(source, f"{where}.{key}", "missing")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < minimum:
        raise _fail(source, f"{where}.{key}", f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _pose(entry: dict, source: str, where: str) -> np.ndarray:
    """The frame's (4, 4) matrix; whether its rotation is proper is checked for all frames at once."""
    if "transform_matrix" not in entry:
        raise _fail(source, f"{where}.transform_matrix", "missing")
    try:
        matrix = np.asarray(entry["transform_matrix"], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise _fail(source, f"{where}.transform_matrix", f"not a numeric 4x4 matrix ({err})") from err
    if matrix.shape == (3, 4):
        matrix = np.vstack([matrix, [0.0, 0.0, 0.0, 1.0]])
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise _fail(source, f"{where}.transform_matrix", f"must be a finite 4x4 matrix, got shape {matrix.shape}")
    return matrix


def _check_rotations(poses: np.ndarray, source: str, where: list[str]) -> None:
    """(N, 4, 4) poses: each rotation part orthonormal with det +1 (`is_proper_rotation`, the one
    check every loader uses); names the first bad frame."""
    bad = np.flatnonzero(~is_proper_rotation(poses[:, :3, :3]))
    if bad.size:
        raise _fail(source, f"{where[bad[0]]}.transform_matrix",
                    f"rotation part is not a proper rotation (orthonormal, det +1); {bad.size} such frame(s)")


def _video_entry(entry: Any, index: int, source: str) -> VideoEntry:
    where = f"videos[{index}]"
    if not isinstance(entry, dict):
        raise _fail(source, where, f"must be an object, got {type(entry).__name__}")
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        raise _fail(source, f"{where}.name", "missing or not a non-empty string")
    where = f"videos[{index}] ('{entry['name']}')"
    return VideoEntry(
        name=entry["name"],
        fps=_number(entry, "fps", source, where, positive=True),
        time_offset_s=_number(entry, "time_offset_s", source, where),
        moving=bool(entry.get("moving", False)),
        width=_integer(entry, "w", source, where, minimum=1),
        height=_integer(entry, "h", source, where, minimum=1),
        fl_x=_number(entry, "fl_x", source, where, positive=True),
        fl_y=_number(entry, "fl_y", source, where, positive=True),
        cx=_number(entry, "cx", source, where),
        cy=_number(entry, "cy", source, where),
    )


def _check_frame_intrinsics(frame: dict, video: VideoEntry, source: str, where: str) -> None:
    """A frame may repeat its video's intrinsics (it does, for plain nerfstudio) but not contradict them."""
    declared = {"fl_x": video.fl_x, "fl_y": video.fl_y, "cx": video.cx, "cy": video.cy, "w": video.width, "h": video.height}
    for key, expected in declared.items():
        if key in frame:
            value = _number(frame, key, source, where)
            if not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-6):
                raise _fail(
                    source, f"{where}.{key}", f"{value} contradicts video '{video.name}' ({key}={expected}): "
                    "intrinsics must be the same for every frame of a video"
                )
    for key in DISTORTION_KEYS:
        if float(frame.get(key, 0.0) or 0.0) != 0.0:
            raise _fail(source, f"{where}.{key}", "lens distortion is not supported; undistort the frames first")


def _read_json(path: Path) -> dict:
    if path.is_dir():
        path = path / "transforms.json"
    if not path.is_file():
        raise TransformsFormatError(f"{path}: no such transforms file (run humansync-process to write one)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:  # json.JSONDecodeError, or UnicodeDecodeError for a file that is not text
        raise TransformsFormatError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise TransformsFormatError(f"{path}: top level must be an object")
    return data


def resolve_transforms_path(data: Path) -> Path:
    """`data` may be the data folder or the json file itself."""
    data = Path(data)
    return data / "transforms.json" if data.is_dir() or data.suffix != ".json" else data


def load_transforms(data: Path, plain_fps: Optional[float] = None, check_files: bool = True) -> TransformsData:
    """Reads and validates a `transforms.json` (folder or file path).

    Args:
        data: The data folder or the json file.
        plain_fps: Frame rate for reading a plain ns-process-data file as one video (see module doc).
        check_files: Check that every frame's image exists.
    """
    path = resolve_transforms_path(data)
    raw = _read_json(path)
    source = str(path)
    frames = raw.get("frames")
    if not isinstance(frames, list) or not frames:
        raise _fail(source, "frames", "missing or empty: the capture has no frames")
    camera_model = raw.get("camera_model", "OPENCV")
    if camera_model not in SUPPORTED_CAMERA_MODELS:
        raise _fail(source, "camera_model", f"'{camera_model}' is not supported (use one of {SUPPORTED_CAMERA_MODELS})")
    if "videos" not in raw or any(isinstance(f, dict) and "local_time" not in f for f in frames):
        result = _read_plain(raw, path, plain_fps)
    else:
        result = _read_humansync(raw, path)
    if check_files:
        _check_files_exist(result)
    return result


def _read_humansync(raw: dict, path: Path) -> TransformsData:
    source = str(path)
    version = raw.get("humansync_version", TRANSFORMS_VERSION)
    if version != TRANSFORMS_VERSION:
        raise _fail(source, "humansync_version", f"{version} is not supported (this humansync reads {TRANSFORMS_VERSION})")
    raw_videos = raw["videos"]
    if not isinstance(raw_videos, list) or not raw_videos:
        raise _fail(source, "videos", "must be a non-empty list")
    videos = [_video_entry(entry, i, source) for i, entry in enumerate(raw_videos)]
    names = [v.name for v in videos]
    if len(set(names)) != len(names):
        raise _fail(source, "videos", f"video names must be unique, got {names}")

    rows = []
    for i, frame in enumerate(raw["frames"]):
        where = f"frames[{i}]"
        if not isinstance(frame, dict):
            raise _fail(source, where, f"must be an object, got {type(frame).__name__}")
        file_path = frame.get("file_path")
        if not isinstance(file_path, str) or not file_path:
            raise _fail(source, f"{where}.file_path", "missing or not a string")
        video = _integer(frame, "video", source, where)
        if video >= len(videos):
            raise _fail(source, f"{where}.video", f"index {video} out of range: the file declares {len(videos)} videos")
        _check_frame_intrinsics(frame, videos[video], source, where)
        rows.append(
            (video, _integer(frame, "frame_index", source, where), _number(frame, "local_time", source, where),
             _pose(frame, source, where), file_path, where)
        )
    rows.sort(key=lambda row: (row[0], row[1]))
    poses = np.stack([row[3] for row in rows])
    _check_rotations(poses, source, [row[5] for row in rows])
    data = TransformsData(
        path=path,
        videos=videos,
        relative_paths=[row[4] for row in rows],
        video_index=np.array([row[0] for row in rows], dtype=np.int64),
        frame_index=np.array([row[1] for row in rows], dtype=np.int64),
        local_time_s=np.array([row[2] for row in rows], dtype=np.float64),
        camera_to_world_opengl=poses,
        calibration_path=_optional_path(raw, "calibration", path),
        ground_truth_path=_optional_path(raw, "ground_truth", path),
        people_points=_people_points(raw, source),
    )
    _check_videos(data)
    return data


def _people_points(raw: dict, source: str) -> Optional[np.ndarray]:
    """The optional `people_points` as an (M, 3) array of finite numbers, M >= 1."""
    entry = raw.get("people_points")
    if entry is None:
        return None
    try:
        points = np.array(entry, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise _fail(source, "people_points", f"must be a list of [x, y, z] points ({err})") from None
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0 or not np.all(np.isfinite(points)):
        raise _fail(source, "people_points", f"must be a non-empty list of finite [x, y, z] points, got shape {points.shape}")
    return points


def _optional_path(raw: dict, key: str, path: Path) -> Optional[Path]:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(str(path), key, f"must be a path relative to the file, got {value!r}")
    resolved = path.parent / value
    if not resolved.is_file():
        raise _fail(str(path), key, f"names '{value}', which does not exist next to the file")
    return resolved


def _check_videos(data: TransformsData) -> None:
    """Every video has frames; frame numbers are unique; time runs forward; static means static."""
    source = str(data.path)
    for v, video in enumerate(data.videos):
        rows = data.frames_of(v)
        if rows.size == 0:
            raise _fail(source, f"videos[{v}] ('{video.name}')", "has no frames (remove the video or add its frames)")
        frame_index = data.frame_index[rows]
        duplicates = np.unique(frame_index[1:][np.diff(frame_index) == 0])
        if duplicates.size:
            raise _fail(source, "frames", f"video '{video.name}' lists frame_index {duplicates[:5].tolist()} more than once")
        if np.any(np.diff(data.local_time_s[rows]) <= 0):
            raise _fail(source, "frames.local_time", f"video '{video.name}': local_time must increase with frame_index")
        if not video.moving:
            poses = data.camera_to_world_opengl[rows]
            if np.abs(poses - poses[0]).max() > 1e-6:
                raise _fail(
                    source, f"videos[{v}].moving",
                    f"video '{video.name}' is declared static (moving: false) but its frames have different poses",
                )


def _read_plain(raw: dict, path: Path, plain_fps: Optional[float]) -> TransformsData:
    """The documented fallback: a plain ns-process-data file read as one moving-camera video."""
    source = str(path)
    if plain_fps is None:
        raise TransformsFormatError(
            f"{source}: field 'videos' / 'frames[].local_time': missing; this looks like a plain ns-process-data "
            "transforms.json without time. Write it with humansync-process, or read it as one video by setting "
            "the dataparser's plain_fps (ns-train ... humansync-data --plain-fps FPS)."
        )
    if not (plain_fps > 0 and math.isfinite(plain_fps)):
        raise _fail(source, "plain_fps", f"must be a positive frame rate, got {plain_fps}")
    frames = raw["frames"]
    intrinsics = {}
    for key in INTRINSIC_KEYS:
        first = frames[0] if isinstance(frames[0], dict) else {}
        owner = first if key in first else raw
        intrinsics[key] = _number(owner, key, source, "frames[0]" if owner is first else "(top level)", positive=key != "cx" and key != "cy")
    video = VideoEntry(
        name=path.parent.name or "video0", fps=float(plain_fps), time_offset_s=0.0, moving=True,
        width=int(intrinsics["w"]), height=int(intrinsics["h"]), fl_x=intrinsics["fl_x"], fl_y=intrinsics["fl_y"],
        cx=intrinsics["cx"], cy=intrinsics["cy"],
    )
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict):
            raise _fail(source, f"frames[{i}]", f"must be an object, got {type(frame).__name__}")
    ordered = sorted(range(len(frames)), key=lambda i: str(frames[i].get("file_path", "")))
    poses, paths = [], []
    for i in ordered:
        where = f"frames[{i}]"
        frame = frames[i]
        if not isinstance(frame.get("file_path"), str):
            raise _fail(source, f"{where}.file_path", "missing or not a string")
        _check_frame_intrinsics(frame, video, source, where)
        poses.append(_pose(frame, source, where))
        paths.append(frame["file_path"])
    n = len(paths)
    _check_rotations(np.stack(poses), source, [f"frames[{i}]" for i in ordered])
    return TransformsData(
        path=path, videos=[video], relative_paths=paths, video_index=np.zeros(n, dtype=np.int64),
        frame_index=np.arange(n, dtype=np.int64), local_time_s=np.arange(n, dtype=np.float64) / plain_fps,
        camera_to_world_opengl=np.stack(poses), is_plain=True,
    )


def _check_files_exist(data: TransformsData) -> None:
    missing = [p for p in data.relative_paths if not (data.root / p).is_file()]
    if missing:
        shown = ", ".join(missing[:_MAX_LISTED_MISSING]) + (" ..." if len(missing) > _MAX_LISTED_MISSING else "")
        raise _fail(str(data.path), "frames.file_path", f"{len(missing)} of {data.num_frames} frame images are missing: {shown}")
