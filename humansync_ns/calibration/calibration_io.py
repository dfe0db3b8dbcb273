"""`calibration.json`: the calibration's result, read by `humansync-process` and written back by
`humansync-export-calibration`. Schema in `docs/formats.md` (OpenCV cameras, metres, seconds,
`global_time = local_time + time_offset_s`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

CALIBRATION_VERSION = 1


class CalibrationFormatError(ValueError):
    """A `calibration.json` does not follow `docs/formats.md`."""


@dataclass
class VideoCalibration:
    """Time offset, pose and intrinsics of one video in the calibration's world."""

    name: str
    fps: float
    num_frames: int
    time_offset_s: float
    camera_to_world: np.ndarray
    """(4, 4) OpenCV camera-to-world, or (T, 4, 4) per frame for a moving camera."""
    K: np.ndarray
    """(3, 3) intrinsics in pixels."""
    width: int
    height: int
    confidence: float = 1.0
    """In [0, 1]: how much the time alignment of this video is to be trusted."""

    @property
    def is_moving(self) -> bool:
        return self.camera_to_world.ndim == 3

    def camera_to_world_at(self, frame_index: int) -> np.ndarray:
        """(4, 4) pose of one frame (the same for every frame of a static camera)."""
        return self.camera_to_world[frame_index] if self.is_moving else self.camera_to_world


@dataclass
class Calibration:
    """Every video's calibration plus the pairwise evidence it came from."""

    reference: str
    videos: list[VideoCalibration]
    pairwise_names: list[str] = field(default_factory=list)
    pairwise_cost: Optional[np.ndarray] = None
    """(N, N) symmetric alignment cost."""
    pairwise_offset_s: Optional[np.ndarray] = None
    """(N, N) with offset_s[i, j] ≈ time_offset_s[j] − time_offset_s[i] from the pair alone."""
    excluded: list[dict[str, str]] = field(default_factory=list)
    """Videos left out, each {"name", "reason"}."""
    method: dict[str, Any] = field(default_factory=dict)
    """The settings that produced it (for reports and reproducibility)."""

    def video(self, name: str) -> VideoCalibration:
        for video in self.videos:
            if video.name == name:
                return video
        raise KeyError(f"no video named '{name}' in the calibration (have {[v.name for v in self.videos]})")


def _to_jsonable(value: Any) -> Any:
    """Arrays to lists; non-finite floats to null (JSON has no NaN or inf)."""
    if isinstance(value, np.ndarray):
        return _to_jsonable(value.tolist())
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


def calibration_to_dict(calibration: Calibration) -> dict[str, Any]:
    videos = []
    for video in calibration.videos:
        entry = asdict(video)
        entry["camera_to_world"] = video.camera_to_world
        entry["K"] = video.K
        videos.append(entry)
    out: dict[str, Any] = {"version": CALIBRATION_VERSION, "reference": calibration.reference, "videos": videos}
    if calibration.pairwise_cost is not None:
        out["pairwise"] = {
            "names": list(calibration.pairwise_names),
            "cost": calibration.pairwise_cost,
            "offset_s": calibration.pairwise_offset_s,
        }
    out["excluded"] = list(calibration.excluded)
    out["method"] = calibration.method
    return _to_jsonable(out)


def save_calibration(calibration: Calibration, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration_to_dict(calibration), indent=2))
    return path


def _require(entry: dict, key: str, where: str) -> Any:
    if key not in entry:
        raise CalibrationFormatError(f"{where}: missing key '{key}'")
    return entry[key]


def _matrix(value: Any, shapes: tuple[tuple[int, ...], ...], where: str, finite: bool = True) -> np.ndarray:
    """Parses a nested list; `finite=False` lets pairwise matrices mark unusable pairs with null."""
    if not finite:
        value = [[np.nan if x is None else x for x in row] for row in value]
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CalibrationFormatError(f"{where}: not a numeric array ({err})") from err
    ok = any(array.ndim == len(s) and all(a == b or b < 0 for a, b in zip(array.shape, s)) for s in shapes)
    if not ok:
        raise CalibrationFormatError(f"{where}: expected shape {' or '.join(map(str, shapes))}, got {array.shape}")
    if finite and not np.all(np.isfinite(array)):
        raise CalibrationFormatError(f"{where}: contains NaN or inf")
    return array


def calibration_from_dict(data: dict[str, Any], source: str = "<dict>") -> Calibration:
    version = data.get("version", CALIBRATION_VERSION)
    if version != CALIBRATION_VERSION:
        raise CalibrationFormatError(f"{source}: unsupported version {version} (this humansync reads {CALIBRATION_VERSION})")
    reference = _require(data, "reference", source)
    raw_videos = _require(data, "videos", source)
    if not isinstance(raw_videos, list) or not raw_videos:
        raise CalibrationFormatError(f"{source}: 'videos' must be a non-empty list")
    videos = []
    for i, entry in enumerate(raw_videos):
        where = f"{source}: videos[{i}]"
        name = str(_require(entry, "name", where))
        where = f"{source}: video '{name}'"
        c2w = _matrix(_require(entry, "camera_to_world", where), ((4, 4), (-1, 4, 4)), f"{where} camera_to_world")
        num_frames = int(entry.get("num_frames", c2w.shape[0] if c2w.ndim == 3 else 0))
        if c2w.ndim == 3 and c2w.shape[0] != num_frames:
            raise CalibrationFormatError(f"{where}: {c2w.shape[0]} per-frame poses for num_frames={num_frames}")
        videos.append(
            VideoCalibration(
                name=name,
                fps=float(_require(entry, "fps", where)),
                num_frames=num_frames,
                time_offset_s=float(_require(entry, "time_offset_s", where)),
                camera_to_world=c2w,
                K=_matrix(_require(entry, "K", where), ((3, 3),), f"{where} K"),
                width=int(_require(entry, "width", where)),
                height=int(_require(entry, "height", where)),
                confidence=float(entry.get("confidence", 1.0)),
            )
        )
    names = [v.name for v in videos]
    if reference not in names:
        raise CalibrationFormatError(f"{source}: reference '{reference}' is not one of the videos {names}")
    pairwise = data.get("pairwise")
    calibration = Calibration(reference=reference, videos=videos, excluded=list(data.get("excluded", [])), method=dict(data.get("method", {})))
    if pairwise is not None:
        n = len(pairwise.get("names", []))
        calibration.pairwise_names = list(pairwise["names"])
        calibration.pairwise_cost = _matrix(pairwise.get("cost"), ((n, n),), f"{source}: pairwise cost", finite=False)
        calibration.pairwise_offset_s = _matrix(pairwise.get("offset_s"), ((n, n),), f"{source}: pairwise offset_s", finite=False)
    return calibration


def load_calibration(path: str | Path) -> Calibration:
    path = Path(path)
    if not path.is_file():
        raise CalibrationFormatError(f"{path}: no such calibration file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CalibrationFormatError(f"{path}: not valid JSON ({err})") from err
    return calibration_from_dict(data, source=str(path))
