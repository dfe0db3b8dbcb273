"""What every importer shares: layout checks that name the file and key, and the assembly of
per-track rows into one `MotionTrack` (rows = video frames, columns = people).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from humansync_ns.motion.format import MotionFormatError, MotionTrack
from humansync_ns.motion.importers.restricted_pickle import RefusedPickleError, load_restricted_pickle
from humansync_ns.motion.person_mapping import (
    PersonAssignment,
    PersonMapping,
    assign_people,
    load_person_mapping,
    normalize_track_id,
    validate_person_mapping,
)


class ImporterFormatError(MotionFormatError):
    """An estimator's output file does not have the layout its importer expects."""


class ImportedMotion(NamedTuple):
    """An importer's result: the neutral track and how its people were chosen."""

    track: MotionTrack
    assignment: PersonAssignment


@dataclass
class TrackRows:
    """One estimator track: SMPL parameters at some frames of the video (camera or world frame)."""

    track_id: str
    frames: np.ndarray
    """(N,) int video frame (row) indices."""
    global_orient: np.ndarray
    """(N, 3) axis-angle."""
    body_pose: np.ndarray
    """(N, 63) or (N, 69) axis-angle."""
    transl: np.ndarray
    """(N, 3) smplx translation."""
    betas: np.ndarray
    """(N, B) per-frame or (B,) constant shape."""


def fail(source: Union[str, Path], key: str, message: str) -> ImporterFormatError:
    return ImporterFormatError(f"{source}: key '{key}': {message}")


def require(container: Mapping[str, Any], key: str, source: Union[str, Path], where: str = "") -> Any:
    """`container[key]`, or an error naming the file, the key and the keys that are there."""
    if not isinstance(container, Mapping):
        raise ImporterFormatError(f"{source}: {where or 'top level'}: expected a dict, got {type(container).__name__}")
    if key not in container:
        place = f" in {where}" if where else ""
        raise fail(source, key, f"missing{place} (found keys {sorted(map(str, container.keys()))})")
    return container[key]


def as_array(value: Any, key: str, source: Union[str, Path], shape: tuple, flatten: bool = False) -> np.ndarray:
    """float64 array with `shape` (ints, or None for any size); torch tensors are accepted.

    `flatten` first drops singleton layout (a (1, 3) where (3,) is meant).
    """
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch here
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise fail(source, key, f"not a numeric array ({err})") from err
    if flatten:
        array = array.reshape(-1)
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        shown = tuple("*" if s is None else s for s in shape)
        raise fail(source, key, f"expected shape {shown}, got {tuple(array.shape)}")
    return array


def require_fps(fps: Optional[float], tool: str, source: Union[str, Path]) -> float:
    if fps is None:
        raise ImporterFormatError(f"{source}: {tool} output does not store the frame rate; pass fps (--fps) of the video")
    if not np.isfinite(fps) or fps <= 0:
        raise ImporterFormatError(f"{source}: fps must be a positive frame rate, got {fps}")
    return float(fps)


def resolve_mapping(person_mapping: Union[PersonMapping, str, Path, None]) -> Optional[PersonMapping]:
    """A mapping dict (validated, track ids normalised) or one loaded from a JSON path."""
    if person_mapping is None:
        return None
    if isinstance(person_mapping, Mapping):
        return validate_person_mapping(person_mapping)
    return load_person_mapping(person_mapping)


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def assemble_track(
    name: str,
    source: Union[str, Path],
    fps: float,
    tracks: Sequence[TrackRows],
    mapping: Optional[PersonMapping],
    num_frames: Optional[int] = None,
    **extra: Any,
) -> ImportedMotion:
    """Scatters per-track rows into (T, P, ...) arrays by person and builds the `MotionTrack`.

    Rows where a person has no track stay invalid (NaN). A person's betas are the mean over all
    its rows (estimators give per-frame shape; the format holds one shape per person).

    Args:
        num_frames: T; the last frame any track reaches + 1 when None.
        extra: further `MotionTrack` fields (K, width, height, frame_times, world_to_camera).
    """
    for track in tracks:
        track.track_id = normalize_track_id(track.track_id)
    assignment = assign_people(name, [t.track_id for t in tracks], mapping, source=str(source))
    last = max((int(t.frames.max()) for t in tracks if len(t.frames)), default=-1)
    T = last + 1 if num_frames is None else int(num_frames)
    if T <= 0:
        raise ImporterFormatError(f"{source}: no frames with a body estimate")
    if last >= T:
        raise ImporterFormatError(f"{source}: a track reaches frame {last}, beyond num_frames={T}")
    P = assignment.num_people
    pose_dims = {t.body_pose.shape[1] for t in tracks}
    if len(pose_dims) != 1:
        raise ImporterFormatError(f"{source}: tracks disagree on the body pose width {sorted(pose_dims)}")
    beta_dims = {t.betas.shape[-1] for t in tracks}
    if len(beta_dims) != 1:
        raise ImporterFormatError(f"{source}: tracks disagree on the number of betas {sorted(beta_dims)}")
    valid = np.zeros((T, P), dtype=bool)
    out = {
        "global_orient": np.full((T, P, 3), np.nan),
        "body_pose": np.full((T, P, pose_dims.pop()), np.nan),
        "transl": np.full((T, P, 3), np.nan),
    }
    beta_sum = np.zeros((P, beta_dims.pop()))
    beta_count = np.zeros(P)
    owner: dict[tuple[int, int], str] = {}
    for track in tracks:
        if track.track_id not in assignment.person_of_track:
            continue
        p = assignment.person_of_track[track.track_id]
        frames = np.asarray(track.frames, dtype=np.int64)
        if len(np.unique(frames)) != len(frames) or (len(frames) and frames.min() < 0):
            raise ImporterFormatError(f"{source}: track {track.track_id} has repeated or negative frame indices")
        clash = frames[valid[frames, p]]
        if len(clash):
            other = owner[(int(clash[0]), p)]
            raise ImporterFormatError(
                f"{source}: tracks {other} and {track.track_id} are both person {p} at frame {int(clash[0])}; "
                "tracks mapped to one person must not overlap in time"
            )
        valid[frames, p] = True
        owner.update({(int(f), p): track.track_id for f in frames})
        for key in out:
            out[key][frames, p] = getattr(track, key)
        betas = np.atleast_2d(track.betas)
        weight = len(frames) if betas.shape[0] == 1 else 1
        beta_sum[p] += betas.sum(axis=0) * weight
        beta_count[p] += betas.shape[0] * weight
    betas = beta_sum / np.maximum(beta_count, 1)[:, None]
    motion = MotionTrack(name=name, fps=fps, valid=valid, betas=betas, source=str(source), **out, **extra)
    return ImportedMotion(motion, assignment)


def track_order(track_ids) -> list:
    """Track ids sorted numerically where they are numbers (2 before 10), then as text."""

    def key(track_id: object) -> tuple:
        text = normalize_track_id(track_id)
        return (0, int(text), "") if text.lstrip("-").isdigit() else (1, 0, text)

    return sorted(track_ids, key=key)


def frames_to_rows(frame_ids: np.ndarray, key: str, source: Union[str, Path]) -> np.ndarray:
    """Integer frame indices from a float/int array, rejecting fractional or negative values."""
    frames = np.asarray(frame_ids).reshape(-1)
    if frames.size and (not np.all(np.isfinite(frames.astype(np.float64))) or np.any(frames.astype(np.float64) % 1 != 0)):
        raise fail(source, key, "frame indices must be whole numbers")
    frames = frames.astype(np.int64)
    if frames.size and frames.min() < 0:
        raise fail(source, key, f"negative frame index {frames.min()}")
    return frames


def load_joblib_dict(path: Path, tool: str, layout: str, trust_pickle: bool = False) -> dict:
    """A non-empty dict from a joblib dump or plain pickle (PHALP, WHAM); `layout` describes the
    expected content for the error message.

    Only containers, numbers, strings and numpy arrays are unpickled (`restricted_pickle`) unless
    `trust_pickle`, which loads any object with `joblib.load` and so runs any code the file holds.
    """
    if not path.is_file():
        raise ImporterFormatError(f"{path}: no such {tool} output file")
    try:
        if trust_pickle:
            import joblib  # joblib reads both joblib dumps (compressed or not) and plain pickles

            data = joblib.load(path)
        else:
            data = load_restricted_pickle(path)
    except RefusedPickleError as err:
        raise ImporterFormatError(str(err)) from err
    except Exception as err:  # unpickling raises many types for foreign files
        raise ImporterFormatError(f"{path}: not a readable joblib/pickle file ({err})") from err
    if not isinstance(data, dict) or not data:
        raise ImporterFormatError(f"{path}: expected a non-empty dict {layout}, got {type(data).__name__}")
    return data


def video_name_from_output(path: Union[str, Path], output_name: str) -> str:
    """Tools that write `<root>/<video>/<output_name>` (WHAM, GVHMR): the folder names the video;
    any other file name: its stem."""
    path = Path(path)
    return path.parent.name if path.name == output_name else path.stem
