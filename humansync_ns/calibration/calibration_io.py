"""`calibration.json`: the calibration's result, read by `humansync-process` and written back by
`humansync-export-calibration`. Schema in `docs/formats.md` (OpenCV cameras, metres, seconds,
`global_time = local_time + time_offset_s`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

import numpy as np

from humansync_ns.body.rotations import is_proper_rotation

CALIBRATION_VERSION = 1
MAX_FPS = 10_000.0
"""Frame rates above this are refused on load: no video is that fast, and a file saying so would
make every per-frame array downstream explode."""


class CalibrationFormatError(ValueError):
    """A `calibration.json` does not follow `docs/formats.md`."""


@dataclass
class VideoObservability:
    """What the calibration could determine for one video, and how well (docs/formats.md §3,
    docs/checks.md §6). Numbers are NaN where they do not apply."""

    time: str = "ok"
    """"ok", or "weak": the offset is usable but rests on a single pair (no cycle check)."""
    pose: str = "ok"
    """"ok", or "weak": the camera's distance rests on the monocular depth alone (people in one spot)."""
    warnings: list[str] = field(default_factory=list)
    """Human-readable warnings (also printed by humansync-calibrate)."""
    time_pairs: int = 0
    """Pairs that fix its offset and agree with the global offsets."""
    time_contrast: float = math.nan
    """Of its best pair: 1 − cost at the best lag / cost at a typical lag (0: flat curve)."""
    time_separation: float = math.nan
    """Of its best pair: how far the next-best minimum of the lag-cost curve lies above the best
    (1: no other minimum, 0: an equally good second lag)."""
    motion_rms: float = math.nan
    """Of its best pair: RMS change of the timing features in the overlap (metres per joint)."""
    overlap_s: float = math.nan
    """Of its best pair: shared time at the chosen lag, seconds."""
    speed: float = math.nan
    """Speed of its motion relative to the other videos (1: its fps label agrees with theirs)."""
    body_scale: float = math.nan
    """Median bone length relative to an average adult (1 for metres)."""
    position_spread_m: float = math.nan
    """Spread of the people's pelvises across its view (bearings' angular spread × distance) over the
    bodies it shares with other videos, metres."""
    rotation_spread_m: float = math.nan
    """Thickness of its root-relative joint cloud (smallest principal spread), metres."""


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
    """In [0, 1]: how well its time offset is pinned down: the agreement of its pairs with the global
    offsets (cycle consistency) times the quality of their lag-cost minima (contrast, lowered when a
    second minimum comes close); with two videos only the quality counts."""
    observability: Optional[VideoObservability] = None
    """What the calibration could determine (None in files written before it was recorded)."""

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
    pairwise_problems: list[dict[str, Any]] = field(default_factory=list)
    """Pairs aligned but not used, each {"videos": [a, b], "reason"}."""
    excluded: list[dict[str, str]] = field(default_factory=list)
    """Videos left out, each {"name", "reason"} and, from the calibration, "check" (which check failed)."""
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
        if video.observability is None:
            del entry["observability"]
        videos.append(entry)
    out: dict[str, Any] = {"version": CALIBRATION_VERSION, "reference": calibration.reference, "videos": videos}
    if calibration.pairwise_cost is not None:
        out["pairwise"] = {
            "names": list(calibration.pairwise_names),
            "cost": calibration.pairwise_cost,
            "offset_s": calibration.pairwise_offset_s,
            "problems": list(calibration.pairwise_problems),
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
        try:
            value = [[np.nan if x is None else x for x in row] for row in value]
        except TypeError as err:
            raise CalibrationFormatError(f"{where}: not a list of rows ({err})") from err
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


_MISSING = object()


def _number(entry: dict, key: str, where: str, positive: bool = False, low: float = -math.inf, high: float = math.inf, default: Any = _MISSING) -> float:
    """A finite number in [low, high] (and > 0 when `positive`); `default` when the key is absent."""
    value = _require(entry, key, where) if default is _MISSING else entry.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise CalibrationFormatError(f"{where}: '{key}' must be a number, got {value!r}") from err
    if not (math.isfinite(number) and low <= number <= high and (number > 0 or not positive)):
        wanted = "a positive number" if positive else "a finite number"
        bounds = f" in [{low:g}, {high:g}]" if math.isfinite(low) and math.isfinite(high) else (f" ≤ {high:g}" if math.isfinite(high) else (f" ≥ {low:g}" if math.isfinite(low) else ""))
        raise CalibrationFormatError(f"{where}: '{key}' = {value!r} must be {wanted}{bounds}")
    return number


def _observability(value: Any, where: str) -> Optional[VideoObservability]:
    if value is None:
        return None
    known = {f.name for f in fields(VideoObservability)}
    if not isinstance(value, dict) or set(value) - known:
        raise CalibrationFormatError(f"{where}: 'observability' must be an object with keys from {sorted(known)}")
    return VideoObservability(**{k: (math.nan if v is None else v) for k, v in value.items()})


def _video(entry: Any, index: int, source: str) -> VideoCalibration:
    where = f"{source}: videos[{index}]"
    if not isinstance(entry, dict):
        raise CalibrationFormatError(f"{where}: must be an object")
    name = str(_require(entry, "name", where))
    where = f"{source}: video '{name}'"
    c2w = _matrix(_require(entry, "camera_to_world", where), ((4, 4), (-1, 4, 4)), f"{where} camera_to_world")
    num_frames = int(_number(entry, "num_frames", where, low=0.0, default=c2w.shape[0] if c2w.ndim == 3 else 0))
    if c2w.ndim == 3 and c2w.shape[0] != num_frames:
        raise CalibrationFormatError(f"{where}: {c2w.shape[0]} per-frame poses for num_frames={num_frames}")
    bad = np.flatnonzero(~is_proper_rotation(c2w.reshape(-1, 4, 4)[:, :3, :3]))
    if bad.size or np.any(np.abs(c2w.reshape(-1, 4, 4)[:, 3] - [0, 0, 0, 1]) > 1e-9):
        frame = f" (frame {bad[0]}, {bad.size} such)" if c2w.ndim == 3 and bad.size else ""
        raise CalibrationFormatError(f"{where} camera_to_world: not a rigid transform{frame}: the rotation part must be orthonormal "
                                     "with determinant +1 and the last row [0, 0, 0, 1]")
    K = _matrix(_require(entry, "K", where), ((3, 3),), f"{where} K")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise CalibrationFormatError(f"{where} K: focal lengths K[0][0], K[1][1] must be positive, got {K[0, 0]:g}, {K[1, 1]:g}")
    return VideoCalibration(
        name=name,
        fps=_number(entry, "fps", where, positive=True, high=MAX_FPS),
        num_frames=num_frames,
        time_offset_s=_number(entry, "time_offset_s", where),
        camera_to_world=c2w,
        K=K,
        width=int(_number(entry, "width", where, low=0.0)),
        height=int(_number(entry, "height", where, low=0.0)),
        confidence=_number(entry, "confidence", where, low=0.0, high=1.0, default=1.0),
        observability=_observability(entry.get("observability"), where),
    )


def calibration_from_dict(data: dict[str, Any], source: str = "<dict>") -> Calibration:
    """Parses and validates a calibration.json's content; errors name `source` and the field."""
    if not isinstance(data, dict):
        raise CalibrationFormatError(f"{source}: must be a JSON object")
    version = data.get("version", CALIBRATION_VERSION)
    if version != CALIBRATION_VERSION:
        raise CalibrationFormatError(f"{source}: unsupported version {version} (this humansync reads {CALIBRATION_VERSION})")
    reference = _require(data, "reference", source)
    raw_videos = _require(data, "videos", source)
    if not isinstance(raw_videos, list) or not raw_videos:
        raise CalibrationFormatError(f"{source}: 'videos' must be a non-empty list")
    videos = [_video(entry, i, source) for i, entry in enumerate(raw_videos)]
    names = [v.name for v in videos]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise CalibrationFormatError(f"{source}: video name(s) {duplicated} appear more than once in 'videos'")
    if reference not in names:
        raise CalibrationFormatError(f"{source}: reference '{reference}' is not one of the videos {names}")
    pairwise = data.get("pairwise")
    calibration = Calibration(reference=reference, videos=videos, excluded=list(data.get("excluded", [])), method=dict(data.get("method", {})))
    if pairwise is not None:
        n = len(pairwise.get("names", []))
        calibration.pairwise_names = list(pairwise["names"])
        calibration.pairwise_cost = _matrix(pairwise.get("cost"), ((n, n),), f"{source}: pairwise cost", finite=False)
        calibration.pairwise_offset_s = _matrix(pairwise.get("offset_s"), ((n, n),), f"{source}: pairwise offset_s", finite=False)
        calibration.pairwise_problems = list(pairwise.get("problems", []))
    return calibration


def load_calibration(path: str | Path) -> Calibration:
    path = Path(path)
    if not path.is_file():
        raise CalibrationFormatError(f"{path}: no such calibration file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:  # json.JSONDecodeError, or UnicodeDecodeError for a file that is not text (an .npz)
        raise CalibrationFormatError(f"{path}: not valid JSON ({err})") from err
    return calibration_from_dict(data, source=str(path))
