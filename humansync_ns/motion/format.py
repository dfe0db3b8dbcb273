"""The neutral motion format: one `.npz` per video with what a monocular estimator saw.

Every importer converts to `MotionTrack`, and the calibration reads only `MotionTrack`s, so the
calibration never depends on which estimator produced the motion. The format is specified in
`docs/formats.md`; `load_motion` enforces it and names the file and key of anything malformed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from humansync_ns.body.rotations import is_proper_rotation
from humansync_ns.motion.joints import NUM_BODY_JOINTS, NUM_JOINTS

SMPL_PARAM_KEYS = ("global_orient", "body_pose", "betas", "transl")
_KNOWN_KEYS = {"fps", "joints", "valid", "K", "width", "height", "frame_times", "world_to_camera", *SMPL_PARAM_KEYS}


class MotionFormatError(ValueError):
    """A motion file (or in-memory track) does not follow `docs/formats.md`."""


@dataclass
class MotionTrack:
    """Per-video human motion, as one monocular estimator gives it.

    Shapes: T rows (frames), P people. Bodies are in the camera frame (OpenCV) unless
    `world_to_camera` is set, in which case they are in the estimator's own world frame.
    """

    name: str
    """Video stem this motion belongs to."""
    fps: float
    valid: np.ndarray
    """(T, P) bool: person p estimated at row t."""
    joints: Optional[np.ndarray] = None
    """(T, P, 24, 3) global joints, metres."""
    global_orient: Optional[np.ndarray] = None
    """(T, P, 3) axis-angle root orientation."""
    body_pose: Optional[np.ndarray] = None
    """(T, P, 69) SMPL or (T, P, 63) SMPL-H/SMPL-X body pose, axis-angle."""
    betas: Optional[np.ndarray] = None
    """(P, B) shape coefficients, B = 10 or 16."""
    transl: Optional[np.ndarray] = None
    """(T, P, 3) translation."""
    K: Optional[np.ndarray] = None
    """(3, 3) intrinsics, pixels."""
    width: Optional[int] = None
    height: Optional[int] = None
    frame_times: Optional[np.ndarray] = field(default=None)
    """(T,) local seconds of each row; `arange(T) / fps` when absent."""
    world_to_camera: Optional[np.ndarray] = None
    """(T, 4, 4) OpenCV world-to-camera per row (moving cameras, estimator world)."""
    source: str = "<memory>"
    """Where the track was read from, for error messages."""

    def __post_init__(self) -> None:
        validate_track(self)

    @property
    def num_frames(self) -> int:
        return int(self.valid.shape[0])

    @property
    def num_people(self) -> int:
        return int(self.valid.shape[1])

    @property
    def has_smpl(self) -> bool:
        return all(getattr(self, k) is not None for k in SMPL_PARAM_KEYS)

    @property
    def times(self) -> np.ndarray:
        """(T,) local time of each row in seconds."""
        if self.frame_times is not None:
            return self.frame_times
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    @property
    def is_moving(self) -> bool:
        return self.world_to_camera is not None


def _fail(track_source: str, key: str, message: str) -> MotionFormatError:
    return MotionFormatError(f"{track_source}: key '{key}': {message}")


def _check_shape(source: str, key: str, value: np.ndarray, expected: tuple) -> None:
    """`expected` holds ints or None (any size); raises naming the key on mismatch."""
    if value.ndim != len(expected) or any(e is not None and e != s for e, s in zip(expected, value.shape)):
        shown = tuple("*" if e is None else e for e in expected)
        raise _fail(source, key, f"expected shape {shown}, got {tuple(value.shape)}")


def validate_track(track: MotionTrack) -> None:
    """Checks shapes, types and finiteness; raises `MotionFormatError` naming source and key."""
    src = track.source
    if not np.isfinite(track.fps) or track.fps <= 0:
        raise _fail(src, "fps", f"must be a positive frame rate, got {track.fps}")
    valid = np.asarray(track.valid)
    if valid.ndim != 2:
        raise _fail(src, "valid", f"expected shape (T, P), got {tuple(valid.shape)}")
    if valid.dtype != bool:
        raise _fail(src, "valid", f"must be boolean, got {valid.dtype}")
    T, P = valid.shape
    if T == 0 or P == 0:
        raise _fail(src, "valid", f"has no frames or no people (shape {valid.shape})")
    if track.joints is None and not track.has_smpl:
        present = [k for k in SMPL_PARAM_KEYS if getattr(track, k) is not None]
        missing = [k for k in SMPL_PARAM_KEYS if getattr(track, k) is None]
        detail = f" (SMPL parameters incomplete: missing {missing})" if present else ""
        raise _fail(src, "joints", f"neither 'joints' nor all of {list(SMPL_PARAM_KEYS)} present{detail}")
    if track.joints is not None:
        _check_shape(src, "joints", track.joints, (T, P, NUM_JOINTS, 3))
        _check_finite_where_valid(src, "joints", track.joints, valid)
    if track.has_smpl:
        _check_shape(src, "global_orient", track.global_orient, (T, P, 3))
        _check_shape(src, "transl", track.transl, (T, P, 3))
        _check_shape(src, "body_pose", track.body_pose, (T, P, None))
        if track.body_pose.shape[2] not in (NUM_BODY_JOINTS * 3, 63):
            raise _fail(src, "body_pose", f"last axis must be 69 (SMPL) or 63 (SMPL-H/X), got {track.body_pose.shape[2]}")
        _check_shape(src, "betas", track.betas, (P, None))
        if track.betas.shape[1] not in (10, 16):
            raise _fail(src, "betas", f"must have 10 or 16 coefficients, got {track.betas.shape[1]}")
        for key in ("global_orient", "body_pose", "transl"):
            _check_finite_where_valid(src, key, getattr(track, key), valid)
        if not np.all(np.isfinite(track.betas)):
            raise _fail(src, "betas", "contains NaN or inf")
    if track.K is not None:
        _check_shape(src, "K", track.K, (3, 3))
        if not np.all(np.isfinite(track.K)) or track.K[0, 0] <= 0 or track.K[1, 1] <= 0:
            raise _fail(src, "K", "focal lengths must be finite and positive")
    for key in ("width", "height"):
        value = getattr(track, key)
        if value is not None and int(value) <= 0:
            raise _fail(src, key, f"must be a positive pixel count, got {value}")
    if track.frame_times is not None:
        _check_frame_times(src, track.frame_times, T, track.fps)
    if track.world_to_camera is not None:
        _check_shape(src, "world_to_camera", track.world_to_camera, (T, 4, 4))
        if not np.all(np.isfinite(track.world_to_camera)):
            raise _fail(src, "world_to_camera", "contains NaN or inf")
        bad = np.flatnonzero(~is_proper_rotation(track.world_to_camera[:, :3, :3]))
        if bad.size or np.any(np.abs(track.world_to_camera[:, 3] - [0.0, 0.0, 0.0, 1.0]) > 1e-9):
            where = f"row {bad[0]} ({bad.size} such row(s))" if bad.size else "the last row of some frames"
            raise _fail(src, "world_to_camera", f"must be rigid (rotation part orthonormal with det +1, last row [0, 0, 0, 1]); "
                        f"not so at {where} (a scaled rotation?)")


_FRAME_INTERVAL_TOLERANCE = 4.0
"""The median interval of `frame_times` may differ from 1/fps by at most this factor."""


def _check_frame_times(source: str, frame_times: np.ndarray, num_frames: int, fps: float) -> None:
    """Shape, finite, strictly increasing, and in seconds: the median interval must match 1/fps
    within `_FRAME_INTERVAL_TOLERANCE` (milliseconds give 1000×)."""
    _check_shape(source, "frame_times", frame_times, (num_frames,))
    if not np.all(np.isfinite(frame_times)) or np.any(np.diff(frame_times) <= 0):
        raise _fail(source, "frame_times", "must be finite and strictly increasing")
    if num_frames > 1:
        ratio = float(np.median(np.diff(frame_times))) * fps
        if not 1.0 / _FRAME_INTERVAL_TOLERANCE <= ratio <= _FRAME_INTERVAL_TOLERANCE:
            raise _fail(source, "frame_times", f"median interval {np.median(np.diff(frame_times)):.4g} is {ratio:.3g}× the frame "
                        f"interval 1/fps = {1.0 / fps:.4g} s: frame_times must be in seconds (milliseconds give 1000×), or 'fps' is wrong")


def _check_finite_where_valid(source: str, key: str, value: np.ndarray, valid: np.ndarray) -> None:
    bad = ~np.isfinite(value[valid])
    if bad.any():
        raise _fail(source, key, "contains NaN or inf in rows marked valid (mark them invalid instead)")


def load_motion(path: str | Path) -> MotionTrack:
    """Reads and validates one neutral motion file; the track is named after the file's stem."""
    path = Path(path)
    if not path.is_file():
        raise MotionFormatError(f"{path}: no such motion file")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as err:  # np.load raises many types for corrupt files
        raise MotionFormatError(f"{path}: not a readable .npz file ({err})") from err
    with data:
        unknown = sorted(set(data.files) - _KNOWN_KEYS)
        if unknown:
            raise MotionFormatError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(_KNOWN_KEYS)}")
        for key in ("fps", "valid"):
            if key not in data.files:
                raise MotionFormatError(f"{path}: key '{key}': missing")
        arrays = {k: data[k] for k in data.files}

    def optional_array(key: str, dtype=np.float64) -> Optional[np.ndarray]:
        return arrays[key].astype(dtype) if key in arrays else None

    def optional_int(key: str) -> Optional[int]:
        return int(arrays[key]) if key in arrays else None

    try:
        fps = float(arrays["fps"])
    except (TypeError, ValueError) as err:
        raise MotionFormatError(f"{path}: key 'fps': must be a scalar ({err})") from err
    return MotionTrack(
        name=path.stem,
        fps=fps,
        valid=arrays["valid"],
        joints=optional_array("joints"),
        global_orient=optional_array("global_orient"),
        body_pose=optional_array("body_pose"),
        betas=optional_array("betas"),
        transl=optional_array("transl"),
        K=optional_array("K"),
        width=optional_int("width"),
        height=optional_int("height"),
        frame_times=optional_array("frame_times"),
        world_to_camera=optional_array("world_to_camera"),
        source=str(path),
    )


def save_motion(track: MotionTrack, path: str | Path) -> Path:
    """Writes `track` as a neutral motion file (float32 bodies, float64 cameras and times)."""
    validate_track(track)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"fps": np.float64(track.fps), "valid": np.asarray(track.valid, dtype=bool)}
    for key in ("joints", *SMPL_PARAM_KEYS):
        value = getattr(track, key)
        if value is not None:
            arrays[key] = np.asarray(value, dtype=np.float32)
    for key in ("K", "frame_times", "world_to_camera"):
        value = getattr(track, key)
        if value is not None:
            arrays[key] = np.asarray(value, dtype=np.float64)
    for key in ("width", "height"):
        value = getattr(track, key)
        if value is not None:
            arrays[key] = np.int64(value)
    with open(path, "wb") as file:  # a path, not a name: numpy would append ".npz" to "cam00.NPZ"
        np.savez_compressed(file, **arrays)
    return path


_STALE_AFTER_S = 3600.0
"""A motion file written this much earlier than the newest one in its folder gets a note."""


@dataclass
class MotionDirListing:
    """What a motion folder holds: the files `load_motion_dir` reads, the ones it leaves alone and why,
    and notes on files it reads that look left over from an earlier run."""

    directory: Path
    files: list[Path]
    """Motion files to read (`*.npz`, any case), sorted by name."""
    skipped: dict[Path, str]
    """Entries not read, and why."""
    notes: dict[Path, str]
    """Files read that deserve a look (e.g. much older than the others)."""

    def messages(self) -> list[str]:
        """One line per skipped entry and per note."""
        return [f"{self.directory}: skipped {p.name}: {why}" for p, why in self.skipped.items()] + [
            f"{self.directory}: note on {p.name}: {note}" for p, note in self.notes.items()
        ]


def _skip_reason(path: Path) -> Optional[str]:
    name = path.name
    if path.is_dir():
        return "a folder"
    if name.startswith("._"):
        return "macOS metadata file (AppleDouble), not motion"
    if name.startswith("."):
        return "hidden file"
    if path.suffix.lower() != ".npz":
        return "not a .npz motion file"
    return None


def scan_motion_dir(directory: str | Path) -> MotionDirListing:
    """Lists a motion folder without reading the files; errors name the folder (or the clashing files)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MotionFormatError(f"{directory}: motion folder does not exist")
    files, skipped = [], {}
    for path in sorted(directory.iterdir()):
        reason = _skip_reason(path)
        if reason is None:
            files.append(path)
        else:
            skipped[path] = reason
    stems = [p.stem for p in files]
    clashes = sorted(p.name for p in files if stems.count(p.stem) > 1)
    if clashes:
        raise MotionFormatError(f"{directory}: {clashes} would be the same video; keep one of them")
    if not files:
        seen = f" (found only: {', '.join(p.name for p in skipped)})" if skipped else ""
        raise MotionFormatError(f"{directory}: no *.npz motion files found{seen}")
    times = {p: p.stat().st_mtime for p in files}
    newest = max(files, key=times.__getitem__)
    notes = {
        p: f"written {(times[newest] - t) / 3600:.1f} h before {newest.name}: left over from an earlier run? (it is read)"
        for p, t in times.items()
        if times[newest] - t > _STALE_AFTER_S
    }
    return MotionDirListing(directory, files, skipped, notes)


def load_motion_dir(directory: str | Path, listing: Optional[MotionDirListing] = None) -> list[MotionTrack]:
    """The motion files of a folder (`scan_motion_dir`), sorted by name; errors name the failing file.

    Without a `listing`, the folder is scanned here and each skipped entry and note is issued as a
    Python warning, so no file is ignored silently.
    """
    if listing is None:
        listing = scan_motion_dir(directory)
        for message in listing.messages():
            warnings.warn(message, stacklevel=2)
    tracks = [load_motion(p) for p in listing.files]
    counts = {t.name: t.num_people for t in tracks}
    if len(set(counts.values())) > 1:
        raise MotionFormatError(
            f"{listing.directory}: motion files disagree on the number of people {counts}; person p must be the "
            "same person in every file (pad with valid=False rows, or use a person mapping when importing)"
        )
    return tracks
