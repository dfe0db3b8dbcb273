"""SLAHMR world results (`<seq>_<iter>_world_results.npz`) → neutral motion, body in SLAHMR's world.

Layout as written by vye16/slahmr (commit 58518fe):
- `slahmr/optim/optimizers.py:138` (`StageOptimizer.save_results`) does
  `np.savez(f"{out_dir}/{seq_name}_{i:06d}_{name}_results.npz", **results)` for the "world" entry of
  `model.get_optim_result()`.
- `slahmr/optim/base_scene.py:144-155` `get_optim_result`: the optimised params (`trans` (B, T, 3),
  `root_orient` (B, T, 3), `betas` (B, 16), `latent_pose`, ...), `pose_body` (B, T, 63) decoded
  from VPoser, `cam_R` (B, T, 3, 3), `cam_t` (B, T, 3) from `CameraParams.get_cameras`
  (`slahmr/optim/params.py`, the same (T, ...) camera repeated over B, `cam_t` already multiplied by
  `world_scale`) and `intrins` (4,) = (fx, fy, cx, cy).
- `slahmr/optim/moving_scene.py:637` (`synchronize_preds`) adds `track_mask` (B, T) in the motion-prior
  stage: where each track's rollout is defined.
- The body model is SMPL-H (`slahmr/util/loaders.py:37-43` `load_smpl_body_model(..., num_betas=16,
  model_type="smplh")`), posed through `smplx` with `trans` as its `transl`
  (`slahmr/body_model/utils.py` `run_smpl`).
- `cam_R`, `cam_t` are world→camera: `base_scene.py:102` reads
  `R_w2c, t_w2c = cam_data["cam_R"], cam_data["cam_t"]`, `slahmr/geometry/camera.py:39-53` `reproject`
  computes `cam_R @ x + cam_t` then divides by z and adds the principal point (OpenCV axes), and
  `slahmr/vis/output.py:37` builds `T_w2c = make_4x4_pose(cam_R[0], cam_t[0])`.
- `track_info.json` next to the phase folders (`slahmr/optim/output.py:129-147` `save_track_info`): per
  PHALP track id its batch `index` and `vis_mask` over the loaded frames; `meta.data_interval` and
  `meta.seq_interval` place row 0 at frame `data_interval[0] + seq_interval[0]` of the extracted
  frames.

Conversion: rows are the optimised sequence's frames; `valid` is `track_mask` when present, else the
track's `vis_mask` from `track_info.json`, else every row. `world_to_camera[t] = [cam_R[0, t] | cam_t[0, t]]`.
The frame rate is not stored: pass the rate SLAHMR's frames were extracted at (`frame_opts.fps`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional, Union

import numpy as np

from humansync_ns.body.rotations import is_proper_rotation
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.importers.common import (
    ImportedMotion,
    ImporterFormatError,
    TrackRows,
    as_array,
    assemble_track,
    fail,
    intrinsics_matrix,
    require,
    require_fps,
    resolve_mapping,
)
from humansync_ns.motion.person_mapping import PersonMapping

RESULTS_PATTERN = re.compile(r"^(?P<seq>.+)_(?P<iter>\d{6})_world_results$")
REQUIRED_KEYS = ("trans", "root_orient", "pose_body", "betas", "cam_R", "cam_t")


def sequence_name(path: Union[str, Path]) -> str:
    """`<seq>_<iter>_world_results.npz` → `<seq>`; other names → the file stem."""
    match = RESULTS_PATTERN.match(Path(path).stem)
    return match.group("seq") if match else Path(path).stem


def read_slahmr(
    path: Union[str, Path],
    fps: Optional[float] = None,
    person_mapping: Union[PersonMapping, str, Path, None] = None,
    name: Optional[str] = None,
    track_info: Union[str, Path, None] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
) -> ImportedMotion:
    """Reads one SLAHMR world-results file.

    Args:
        path: `<seq>_<iter>_world_results.npz`.
        fps: rate of the frames SLAHMR ran on (not stored in the file).
        person_mapping: mapping dict or JSON path; track ids are PHALP's (from `track_info.json`),
            or the batch index when there is no `track_info.json`.
        name: video stem; `<seq>` from the file name when None.
        track_info: SLAHMR's `track_info.json`; looked for next to the file and one folder up when None.
        width, height: image size, which the results file does not hold.
    """
    path = Path(path)
    fps = require_fps(fps, "SLAHMR", path)
    name = name or sequence_name(path)
    arrays = _read_npz(path)
    trans = as_array(arrays["trans"], "trans", path, (None, None, 3))
    B, T = trans.shape[:2]
    root_orient = as_array(arrays["root_orient"], "root_orient", path, (B, T, 3))
    pose_body = as_array(arrays["pose_body"], "pose_body", path, (B, T, None))
    if pose_body.shape[2] not in (63, 69):
        raise fail(path, "pose_body", f"last axis must be 63 (SMPL-H) or 69 (SMPL), got {pose_body.shape[2]}")
    betas = as_array(arrays["betas"], "betas", path, (B, None))
    world_to_camera = _world_to_camera(arrays, path, B, T)
    info_path = _find_track_info(path, track_info)
    track_ids, vis_masks, first_frame = _read_track_info(info_path, B, T) if info_path else ([str(b) for b in range(B)], None, 0)
    if "track_mask" in arrays:
        valid = as_array(arrays["track_mask"], "track_mask", path, (B, T)) > 0.5
    elif vis_masks is not None:
        valid = vis_masks
    else:
        valid = np.ones((B, T), dtype=bool)
    tracks = [
        TrackRows(
            track_id=track_ids[b],
            frames=np.flatnonzero(valid[b]),
            global_orient=root_orient[b, valid[b]],
            body_pose=pose_body[b, valid[b]],
            transl=trans[b, valid[b]],
            betas=betas[b],
        )
        for b in range(B)
    ]
    extra = dict(world_to_camera=world_to_camera, width=width, height=height)
    if "intrins" in arrays:
        fx, fy, cx, cy = as_array(arrays["intrins"], "intrins", path, (4,))
        extra["K"] = intrinsics_matrix(fx, fy, cx, cy)
    if first_frame:
        extra["frame_times"] = (first_frame + np.arange(T)) / fps
    return assemble_track(name, path, fps, tracks, resolve_mapping(person_mapping), num_frames=T, **extra)


def load_slahmr(path: Union[str, Path], fps: Optional[float] = None, person_mapping=None, **kwargs) -> MotionTrack:
    """`read_slahmr(...).track`: the neutral track only."""
    return read_slahmr(path, fps=fps, person_mapping=person_mapping, **kwargs).track


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ImporterFormatError(f"{path}: no such SLAHMR results file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # np.load raises many types for corrupt files
        raise ImporterFormatError(f"{path}: not a readable .npz file ({err})") from err
    for key in REQUIRED_KEYS:
        require(arrays, key, path, where="SLAHMR world results (the prior/phalp files lack cameras; use *_world_results.npz)")
    return arrays


def _world_to_camera(arrays: dict[str, np.ndarray], path: Path, B: int, T: int) -> np.ndarray:
    """(T, 4, 4) from `cam_R` (B, T, 3, 3) or (T, 3, 3) and `cam_t` (B, T, 3) or (T, 3)."""
    cam_R = np.asarray(arrays["cam_R"], dtype=np.float64)
    cam_t = np.asarray(arrays["cam_t"], dtype=np.float64)
    if cam_R.ndim == 4:
        cam_R = as_array(cam_R, "cam_R", path, (B, T, 3, 3))[0]
    if cam_t.ndim == 3:
        cam_t = as_array(cam_t, "cam_t", path, (B, T, 3))[0]
    cam_R = as_array(cam_R, "cam_R", path, (T, 3, 3))
    cam_t = as_array(cam_t, "cam_t", path, (T, 3))
    if not np.all(is_proper_rotation(cam_R)):
        raise fail(path, "cam_R", "is not a rotation (R Rᵀ ≠ I or det R ≠ +1)")
    w2c = np.tile(np.eye(4), (T, 1, 1))
    w2c[:, :3, :3] = cam_R
    w2c[:, :3, 3] = cam_t
    return w2c


def _find_track_info(path: Path, track_info: Union[str, Path, None]) -> Optional[Path]:
    if track_info is not None:
        if not Path(track_info).is_file():
            raise ImporterFormatError(f"{track_info}: no such SLAHMR track_info.json")
        return Path(track_info)
    for folder in (path.parent, path.parent.parent):
        if (folder / "track_info.json").is_file():
            return folder / "track_info.json"
    return None


def _read_track_info(path: Path, B: int, T: int) -> tuple[list[str], np.ndarray, int]:
    """PHALP track ids in batch order, (B, T) visibility of the optimised rows, first row's frame."""
    try:
        info = json.loads(path.read_text())
        tracks, meta = require(info, "tracks", path), require(info, "meta", path)
        data_start = int(require(meta, "data_interval", path, "meta")[0])
        seq_start = int(require(meta, "seq_interval", path, "meta")[0])
    except (json.JSONDecodeError, TypeError, ValueError, IndexError) as err:
        raise ImporterFormatError(f"{path}: not a SLAHMR track_info.json ({err})") from err
    by_index = sorted(tracks.items(), key=lambda item: int(require(item[1], "index", path, f"track {item[0]}")))
    if len(by_index) != B:
        raise ImporterFormatError(f"{path}: lists {len(by_index)} tracks but the results hold B={B}")
    vis = np.zeros((B, T), dtype=bool)
    for b, (_, entry) in enumerate(by_index):
        mask = np.asarray(require(entry, "vis_mask", path, f"track {b}"), dtype=bool)[seq_start : seq_start + T]
        vis[b, : len(mask)] = mask
    return [str(tid) for tid, _ in by_index], vis, data_start + seq_start
