"""WHAM demo output (`wham_output.pkl`) → neutral motion, body in the camera frame.

Layout as written by yohanshin/WHAM (commit 2b54f77), `demo.py` `run(...)` with `--save_pkl`:
`joblib.dump(results, osp.join(output_pth, "wham_output.pkl"))` (line 171, filled at lines 155-168) where `results` is a
`defaultdict(dict)` keyed by the tracker's subject id (`np.unique` of detector ids,
`lib/models/preproc/detector.py` `process`), each holding
- `pose` (F, 72): camera-frame root axis-angle (`poses_root_cam`) then the 23 SMPL body joints,
- `trans` (F, 3): `pred['trans_cam'] - network.output.offset`, i.e. the SMPL `transl` in the
  camera frame (`lib/models/smpl.py:119-123` `get_output` shifts vertices by the hip-centre `offset`, and
  `trans_cam` is that hip centre's camera position, so the two cancel),
- `pose_world` (F, 72), `trans_world` (F, 3): the same body in WHAM's gravity-aligned world,
- `betas` (F, 10) per frame, `verts` (F, 6890, 3), `frame_ids` (F,) video frame indices.
The camera is OpenCV with `K = [[f, 0, w/2], [0, f, h/2]]`, `f = sqrt(w² + h²)` when the demo had
no calibration (`lib/utils/imutils.py:266-274` `compute_cam_intrinsics`, used by
`lib/data/datasets/dataset_custom.py:50`).

Only the camera-frame body is imported. The world-frame entries do not convert exactly: WHAM's
`trans_world` is the world position of its hip centre (regressed from vertices by
`J_regressor_wham`), not an SMPL `transl`, and the file holds no camera trajectory, so neither a
world-frame `transl` nor `world_to_camera` can be recovered without WHAM's regressor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.importers.common import (
    ImportedMotion,
    TrackRows,
    as_array,
    assemble_track,
    frames_to_rows,
    intrinsics_matrix,
    load_joblib_dict,
    require,
    require_fps,
    resolve_mapping,
    track_order,
    video_name_from_output,
)
from humansync_ns.motion.person_mapping import PersonMapping

OUTPUT_NAME = "wham_output.pkl"


def video_name(path: Union[str, Path]) -> str:
    """WHAM writes `<output_pth>/<video stem>/wham_output.pkl`: the folder names the video."""
    return video_name_from_output(path, OUTPUT_NAME)


def read_wham(
    path: Union[str, Path],
    fps: Optional[float] = None,
    person_mapping: Union[PersonMapping, str, Path, None] = None,
    name: Optional[str] = None,
    num_frames: Optional[int] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    K: Optional[np.ndarray] = None,
    trust_pickle: bool = False,
) -> ImportedMotion:
    """Reads one WHAM output pickle.

    Args:
        path: `wham_output.pkl` (joblib).
        fps: the video's frame rate (not stored in the file).
        person_mapping: mapping dict or JSON path; track ids are WHAM's subject ids.
        name: video stem; the output folder's name when None.
        num_frames: the video's length; the last estimated frame + 1 when None.
        width, height: image size; with them, K is WHAM's default intrinsics unless `K` is given.
        K: the (3, 3) intrinsics WHAM ran with, if it had a calibration.
        trust_pickle: unpickle any object (runs code the file holds: trusted files only); by default
            only containers, numbers, strings and numpy arrays are read.
    """
    path = Path(path)
    fps = require_fps(fps, "WHAM", path)
    results = load_joblib_dict(path, "WHAM", "{subject_id: {'pose', 'trans', ...}}", trust_pickle)
    tracks = [_subject_rows(path, subject_id, results[subject_id]) for subject_id in track_order(results)]
    extra: dict[str, Any] = dict(width=width, height=height)
    if K is not None:
        extra["K"] = as_array(K, "K", path, (3, 3))
    elif width is not None and height is not None:
        focal = float(np.hypot(width, height))
        extra["K"] = intrinsics_matrix(focal, focal, width / 2.0, height / 2.0)
    return assemble_track(name or video_name(path), path, fps, tracks, resolve_mapping(person_mapping), num_frames, **extra)


def load_wham(path: Union[str, Path], fps: Optional[float] = None, person_mapping=None, **kwargs) -> MotionTrack:
    """`read_wham(...).track`: the neutral track only."""
    return read_wham(path, fps=fps, person_mapping=person_mapping, **kwargs).track


def _subject_rows(path: Path, subject_id: object, entry: dict) -> TrackRows:
    where = f"subject {subject_id}"
    frames = frames_to_rows(require(entry, "frame_ids", path, where), f"{where}/frame_ids", path)
    F = len(frames)
    pose = as_array(require(entry, "pose", path, where), f"{where}/pose", path, (F, 72))
    trans = as_array(require(entry, "trans", path, where), f"{where}/trans", path, (F, 3))
    betas = np.asarray(require(entry, "betas", path, where))
    betas = as_array(betas, f"{where}/betas", path, (F, 10) if betas.ndim == 2 else (10,))
    return TrackRows(str(subject_id), frames, pose[:, :3], pose[:, 3:], trans, betas)
