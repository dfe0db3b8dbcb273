"""4D-Humans / PHALP tracking pickle (`<track_dataset>_<video>.pkl`) → neutral motion, camera frame.

Layout as written by brjathu/PHALP (commit 96f7e6c), `phalp/trackers/PHALP.py` `PHALP.track`:
`joblib.dump(final_visuals_dic, pkl_path, compress=3)` (line 264) with
`pkl_path = <output_dir>/results/<track_dataset>_<video_seq>.pkl` (`track_dataset` defaults to
"demo", `phalp/configs/base.py:129`). 4D-Humans' `track.py` (shubham-goel/4D-Humans, commit 6ec7965)
runs the same `PHALP.track` (`class HMR2_4dhuman(PHALP)`, its HMR 2.0 predictor derives from PHALP's
`HMR2018Predictor`) and writes the same file. `final_visuals_dic` maps each frame name to a dict with
- `time`: the frame's index in the tracked frame list,
- `tid`: every confirmed track (ghosts included); the per-track lists `smpl`, `camera`, `size`, ...
  are aligned with `tid` (PHALP.py:221-225),
- `tracked_ids`: the tracks actually detected in this frame (`time_since_update == 0`, PHALP.py:228-229),
- `smpl[i]`: {`global_orient` (1, 3, 3), `body_pose` (23, 3, 3) rotation matrices, `betas` (10,)},
- `camera[i]` (3,): `pred_cam_t` of `PHALP.get_human_features` (PHALP.py:455) from
  `HMAR.get_3d_parameters` (`phalp/models/hmar/hmar.py:119-120`): the SMPL translation in the camera frame of a virtual camera with
  focal `EXTRA.FOCAL_LENGTH` (5000, base.py:124) in a `render.res` (256, base.py:67) pixel square holding the padded image,
- `size[i]`: `[img_height, img_width]` (PHALP.py:459; the README says `[imgw imgh]`, the code writes height first).
Following slahmr's own reader (`slahmr/preproc/export_phalp.py:87` in `unpack_frame`), only entries whose
`tid` is in `tracked_ids` are used; ghosts are predictions, not estimates.

Conversion: rotation matrices → axis-angle (`humansync_ns.body.rotations.matrix_to_axis_angle`).
PHALP's camera, in image pixels, has focal `F = 5000 · max(h, w) / 256` and principal point at the
image centre. Its translation is kept as is with that K, or, given the real `focal_length` f of the
video, the depth is rescaled `t_z ← t_z · f / F` (x and y are unchanged: the projection of the body
stays the same), which is what the physical camera would see.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from humansync_ns.body.rotations import matrix_to_axis_angle
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.importers.common import (
    ImportedMotion,
    ImporterFormatError,
    TrackRows,
    as_array,
    assemble_track,
    fail,
    intrinsics_matrix,
    load_joblib_dict,
    require,
    require_fps,
    resolve_mapping,
    track_order,
)
from humansync_ns.motion.person_mapping import PersonMapping

PHALP_FOCAL_LENGTH = 5000.0
"""`EXTRA.FOCAL_LENGTH` in `phalp/configs/base.py`."""
PHALP_RENDER_RES = 256
"""`render.res` in `phalp/configs/base.py`."""


def video_name(path: Union[str, Path]) -> str:
    """`demo_<video>.pkl` (PHALP's default `track_dataset`) → `<video>`; other names → the stem."""
    stem = Path(path).stem
    return stem[len("demo_") :] if stem.startswith("demo_") and len(stem) > len("demo_") else stem


def read_phalp(
    path: Union[str, Path],
    fps: Optional[float] = None,
    person_mapping: Union[PersonMapping, str, Path, None] = None,
    name: Optional[str] = None,
    num_frames: Optional[int] = None,
    focal_length: Optional[float] = None,
    phalp_focal_length: float = PHALP_FOCAL_LENGTH,
    render_res: int = PHALP_RENDER_RES,
    trust_pickle: bool = False,
) -> ImportedMotion:
    """Reads one PHALP / 4D-Humans tracking pickle.

    Args:
        path: the `.pkl` written by PHALP (joblib).
        fps: the video's frame rate (not stored in the file).
        person_mapping: mapping dict or JSON path; track ids are PHALP's `tid`s.
        name: video stem; the file stem without PHALP's `demo_` prefix when None.
        num_frames: the video's length; the last tracked frame + 1 when None.
        focal_length: the video's real focal length in pixels; rescales the depth (module docstring).
        phalp_focal_length, render_res: PHALP's config, if it was run with other values.
        trust_pickle: unpickle any object (runs code the file holds: trusted files only); by default
            only containers, numbers, strings and numpy arrays are read.
    """
    path = Path(path)
    fps = require_fps(fps, "PHALP", path)
    frames = load_joblib_dict(path, "PHALP tracking", "{frame_name: {'time', 'tid', 'smpl', ...}}", trust_pickle)
    per_track: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    sizes = set()
    for frame_name, frame in frames.items():
        for entry in _detections(path, frame_name, frame):
            rows = per_track[entry.pop("tid")]
            sizes.add(entry.pop("size"))
            for key, value in entry.items():
                rows[key].append(value)
    if not per_track:
        raise ImporterFormatError(f"{path}: no frame has a detected track ('tracked_ids' empty everywhere)")
    if len(sizes) != 1:
        raise ImporterFormatError(f"{path}: key 'size': image size changes between frames {sorted(sizes)}")
    height, width = sizes.pop()
    phalp_focal = phalp_focal_length * max(height, width) / render_res
    scale_z = 1.0 if focal_length is None else focal_length / phalp_focal
    tracks = []
    for tid in track_order(per_track):
        rows = per_track[tid]
        transl = np.stack(rows["transl"]) * np.array([1.0, 1.0, scale_z])
        tracks.append(
            TrackRows(tid, np.array(rows["frame"]), np.stack(rows["global_orient"]), np.stack(rows["body_pose"]), transl, np.stack(rows["betas"]))
        )
    focal = phalp_focal if focal_length is None else float(focal_length)
    extra: dict[str, Any] = dict(K=intrinsics_matrix(focal, focal, width / 2.0, height / 2.0), width=width, height=height)
    return assemble_track(name or video_name(path), path, fps, tracks, resolve_mapping(person_mapping), num_frames, **extra)


def load_phalp(path: Union[str, Path], fps: Optional[float] = None, person_mapping=None, **kwargs) -> MotionTrack:
    """`read_phalp(...).track`: the neutral track only."""
    return read_phalp(path, fps=fps, person_mapping=person_mapping, **kwargs).track


def _detections(path: Path, frame_name: object, frame: dict) -> list[dict]:
    """The detected tracks of one frame as flat dicts (axis-angle SMPL, camera translation)."""
    where = f"frame {frame_name}"
    time = require(frame, "time", path, where)
    tids = list(require(frame, "tid", path, where))
    detected = {str(t) for t in require(frame, "tracked_ids", path, where)}
    lists = {key: list(require(frame, key, path, where)) for key in ("smpl", "camera", "size")}
    for key, values in lists.items():
        if len(values) != len(tids):
            raise fail(path, f"{where}/{key}", f"has {len(values)} entries for {len(tids)} tracks in 'tid'")
    out = []
    for i, tid in enumerate(tids):
        if str(tid) not in detected:
            continue
        smpl = lists["smpl"][i]
        at = f"{where}/smpl[{i}]"
        global_orient = as_array(require(smpl, "global_orient", path, at), f"{at}/global_orient", path, (None, 3, 3))
        body_pose = as_array(require(smpl, "body_pose", path, at), f"{at}/body_pose", path, (23, 3, 3))
        betas = as_array(require(smpl, "betas", path, at), f"{at}/betas", path, (10,), flatten=True)
        if global_orient.shape[0] != 1:
            raise fail(path, f"{at}/global_orient", f"expected shape (1, 3, 3), got {global_orient.shape}")
        size = as_array(lists["size"][i], f"{where}/size[{i}]", path, (2,), flatten=True)
        out.append(
            {
                "tid": str(tid),
                "frame": int(time),
                "global_orient": matrix_to_axis_angle(global_orient[0]),
                "body_pose": matrix_to_axis_angle(body_pose).reshape(69),
                "betas": betas,
                "transl": as_array(lists["camera"][i], f"{where}/camera[{i}]", path, (3,), flatten=True),
                "size": (int(size[0]), int(size[1])),
            }
        )
    return out
