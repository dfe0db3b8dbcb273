"""GVHMR demo output (`hmr4d_results.pt`) → neutral motion (camera frame, or GVHMR's world).

Layout as written by zju3dv/GVHMR (commit 44fbc19): `tools/demo/demo.py:303` `torch.save(pred,
paths.hmr4d_results)` (`hmr4d/configs/demo.yaml`: `${output_dir}/hmr4d_results.pt`, with
`output_dir = ${output_root}/${video_name}`), where `pred` comes from
`hmr4d/model/gvhmr/gvhmr_pl_demo.py:40-45` `DemoPL.predict`:
- `smpl_params_incam`, `smpl_params_global`: dicts of SMPL-X parameters for the one tracked person
  (`Tracker.get_one_track`, demo.py:98, a box for every frame), each {`body_pose` (F, 63), `betas` (F, 10),
  `global_orient` (F, 3), `transl` (F, 3)} (`hmr4d/model/gvhmr/pipeline/gvhmr_pipeline.py:78-91`); both
  share `body_pose` and `betas` and are posed with `smplx(**params)` (`render_incam`/`render_global`),
- `K_fullimg` (F, 3, 3): the intrinsics the camera-frame `transl` was computed with
  (`compute_transl_full_cam`), OpenCV axes,
- `net_outputs`: intermediate tensors (ignored).

`frame="incam"` (default) imports the camera-frame body. `frame="global"` imports the body in
GVHMR's gravity-aligned world plus `world_to_camera`, derived per frame from the two parameter sets
of the same body. A posed SMPL-X joint is `R_root·L + J0 + transl`, with `L` the same in both
frames and `J0` the rest pelvis (it depends on betas), so

    R_w2c = R_incam · R_globalᵀ,    t_w2c = J0 + transl_incam − R_w2c · (J0 + transl_global).

`J0` is not in the file: give it as `rest_pelvis` (joint 0 of the subject's SMPL-X at zero pose).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional, Union

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.importers.common import (
    ImportedMotion,
    ImporterFormatError,
    TrackRows,
    as_array,
    assemble_track,
    require,
    require_fps,
    resolve_mapping,
    video_name_from_output,
)
from humansync_ns.motion.person_mapping import PersonMapping

OUTPUT_NAME = "hmr4d_results.pt"
TRACK_ID = "0"
"""GVHMR follows one person per run; its track id for the person mapping."""
PARAM_KEYS = ("body_pose", "betas", "global_orient", "transl")


def video_name(path: Union[str, Path]) -> str:
    """GVHMR writes `<output_root>/<video_name>/hmr4d_results.pt`: the folder names the video."""
    return video_name_from_output(path, OUTPUT_NAME)


def read_gvhmr(
    path: Union[str, Path],
    fps: Optional[float] = None,
    person_mapping: Union[PersonMapping, str, Path, None] = None,
    name: Optional[str] = None,
    frame: Literal["incam", "global"] = "incam",
    rest_pelvis: Optional[np.ndarray] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    trust_pickle: bool = False,
) -> ImportedMotion:
    """Reads one GVHMR results file.

    Args:
        path: `hmr4d_results.pt`.
        fps: the video's frame rate (not stored in the file).
        person_mapping: mapping dict or JSON path; GVHMR's one person has track id "0".
        name: video stem; the output folder's name when None.
        frame: "incam" for the camera-frame body, "global" for GVHMR's world + world_to_camera.
        rest_pelvis: (3,) rest pelvis J0 of the subject's SMPL-X body; required for "global".
        width, height: image size, which the results file does not hold.
        trust_pickle: load with `torch.load(weights_only=False)` (runs pickled code: trusted files only).
    """
    path = Path(path)
    fps = require_fps(fps, "GVHMR", path)
    pred = _load_torch(path, trust_pickle)
    incam = _params(path, pred, "smpl_params_incam")
    F = incam["transl"].shape[0]
    K_all = as_array(require(pred, "K_fullimg", path), "K_fullimg", path, (F, 3, 3))
    extra: dict[str, Any] = dict(K=K_all[0], width=width, height=height)
    body = incam
    if frame == "global":
        body = _params(path, pred, "smpl_params_global", F)
        if rest_pelvis is None:
            raise ImporterFormatError(
                f"{path}: frame='global' needs rest_pelvis (SMPL-X joint 0 at zero pose for the subject's betas); "
                "the file does not hold it"
            )
        pelvis = as_array(rest_pelvis, "rest_pelvis", path, (3,))
        extra["world_to_camera"] = world_to_camera_from_two_frames(incam, body, pelvis)
    elif frame != "incam":
        raise ValueError(f"frame must be 'incam' or 'global', got {frame!r}")
    track = TrackRows(TRACK_ID, np.arange(F), body["global_orient"], body["body_pose"], body["transl"], body["betas"])
    return assemble_track(name or video_name(path), path, fps, [track], resolve_mapping(person_mapping), F, **extra)


def load_gvhmr(path: Union[str, Path], fps: Optional[float] = None, person_mapping=None, **kwargs) -> MotionTrack:
    """`read_gvhmr(...).track`: the neutral track only."""
    return read_gvhmr(path, fps=fps, person_mapping=person_mapping, **kwargs).track


def world_to_camera_from_two_frames(incam: dict, world: dict, rest_pelvis: np.ndarray) -> np.ndarray:
    """(F, 4, 4) OpenCV world→camera from one body's camera-frame and world-frame SMPL parameters.

    `R_w2c = R_c R_wᵀ`, `t_w2c = J0 + τ_c − R_w2c (J0 + τ_w)`, with R the root rotations, τ the
    smplx translations and J0 the rest pelvis (see the module docstring).
    """
    R_c = axis_angle_to_matrix(incam["global_orient"])
    R_w = axis_angle_to_matrix(world["global_orient"])
    R_w2c = R_c @ np.swapaxes(R_w, -1, -2)
    t_w2c = rest_pelvis + incam["transl"] - np.einsum("fij,fj->fi", R_w2c, rest_pelvis + world["transl"])
    w2c = np.tile(np.eye(4), (len(R_w2c), 1, 1))
    w2c[:, :3, :3] = R_w2c
    w2c[:, :3, 3] = t_w2c
    return w2c


def _load_torch(path: Path, trust_pickle: bool) -> dict:
    if not path.is_file():
        raise ImporterFormatError(f"{path}: no such GVHMR results file")
    import torch

    try:
        pred = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as err:  # torch.load raises many types for foreign or unsafe files
        hint = "" if trust_pickle else "; if you trust the file, retry with trust_pickle=True (--trust-pickle)"
        raise ImporterFormatError(f"{path}: not a readable torch file ({err}){hint}") from err
    if not isinstance(pred, dict):
        raise ImporterFormatError(f"{path}: expected a dict with 'smpl_params_incam', got {type(pred).__name__}")
    return pred


def _params(path: Path, pred: dict, key: str, F: Optional[int] = None) -> dict[str, np.ndarray]:
    params = require(pred, key, path)
    for sub in PARAM_KEYS:
        require(params, sub, path, where=key)
    transl = as_array(params["transl"], f"{key}/transl", path, (F, 3))
    F = transl.shape[0]
    return {
        "transl": transl,
        "global_orient": as_array(params["global_orient"], f"{key}/global_orient", path, (F, 3)),
        "body_pose": as_array(params["body_pose"], f"{key}/body_pose", path, (F, 63)),
        "betas": as_array(params["betas"], f"{key}/betas", path, (F, 10)),
    }
