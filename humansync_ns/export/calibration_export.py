"""The refined calibration of a trained humansync model, back in the calibration's world.

What the model refined lives in nerfstudio's normalised scene: per-video pose corrections of
the scene-box cameras (OpenGL) and per-video time deltas in normalised time. Exporting undoes the
dataparser's normalisation exactly (`humansync_ns.dataparser.normalization`):

  scene pose   `P_s = [R_T·R | s·(R_T·t + t_T)]`   (`T = [R_T | t_T]` the dataparser transform, `s` its scale)
  calibration  `R = R_Tᵀ·R_s`,  `t = R_Tᵀ·(t_s / s − t_T)`   (OpenGL), then
  OpenCV       `c2w_opencv = c2w_opengl @ diag(1, −1, −1, 1)`  (`docs/conventions.md`),

and writes the offsets in seconds (`global_time = local_time + time_offset_s`), re-referenced so
the calibration's reference video keeps `time_offset_s = 0` (a common shift of every offset is the
same synchronisation).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch

from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration, load_calibration, save_calibration
from humansync_ns.dataparser.normalization import TimeNormalization, opengl_to_opencv_c2w, scene_to_calibration_c2w

@dataclass
class RefinedCapture:
    """Refined per-frame poses and per-video offsets, ordered like the processed capture."""

    video_names: list[str]
    time_offset_s: np.ndarray
    """(num_videos,) refined offsets, seconds, reference video at 0."""
    camera_to_world_opencv: np.ndarray
    """(num_frames, 4, 4) refined OpenCV poses of every frame, calibration world, in the row order
    of the processed transforms (`TransformsData`)."""
    video_index: np.ndarray
    frame_index: np.ndarray
    moving: list[bool]
    refined_videos: list[str] = field(default_factory=list)
    """Videos whose pose and offset were refined (training videos, plus test-time refined ones)."""
    reference: str = ""


def _nearest_rows(frames_wanted: np.ndarray, frames_have: np.ndarray) -> np.ndarray:
    """For each wanted frame number, the index into `frames_have` of the nearest frame."""
    order = np.argsort(frames_have)
    sorted_have = frames_have[order]
    pos = np.clip(np.searchsorted(sorted_have, frames_wanted), 1, len(sorted_have) - 1) if len(sorted_have) > 1 else np.zeros_like(frames_wanted)
    if len(sorted_have) > 1:
        left = sorted_have[pos - 1]
        pos = np.where(np.abs(frames_wanted - left) <= np.abs(sorted_have[pos] - frames_wanted), pos - 1, pos)
    return order[pos]


def refine_capture(pipeline, test_time_corrections: Optional[Dict[str, Any]] = None) -> tuple[RefinedCapture, Any]:
    """The model's refined calibration of every frame of the processed capture.

    Args:
        pipeline: a loaded humansync pipeline (its dataparser must be `humansync-data`).
        test_time_corrections: held-out video name → `VideoCorrection` (from the pipeline's
            evaluation); held-out videos without one keep the calibration's pose and offset.

    Returns:
        the refined capture and the `TransformsData` it was read from.
    """
    from humansync_ns.dataparser.normalization import apply_scene_transform
    from humansync_ns.model.pose_correction import correct_camera_to_worlds

    dataparser = pipeline.datamanager.dataparser
    if not hasattr(dataparser, "capture"):
        raise TypeError(f"export needs the humansync-data dataparser, this model used {type(dataparser).__name__}")
    data = dataparser.capture.data
    outputs = dataparser.get_dataparser_outputs(split="train")
    meta = outputs.metadata
    transform = np.asarray(meta["dataparser_transform"], dtype=np.float64)
    scale = float(meta["dataparser_scale"])
    model = pipeline.model
    test_time_corrections = test_time_corrections or {}

    # Correction of every training image, then of every frame via its video's nearest training frame.
    train_video = np.asarray(meta["video_index"]).reshape(-1)
    train_frame = np.asarray(meta["frame_index"]).reshape(-1)
    optimizer = getattr(model, "camera_optimizer", None)
    num_train = len(train_video)
    if optimizer is not None and getattr(optimizer.config, "mode", "off") != "off":
        with torch.no_grad():
            corrections = optimizer.get_correction_matrices().double().cpu()  # world frame, one per training image
    else:
        corrections = torch.eye(4, dtype=torch.float64)[:3].expand(num_train, 3, 4)
    scene = torch.from_numpy(apply_scene_transform(data.camera_to_world_opengl, transform, scale))
    frame_corrections = torch.eye(4, dtype=torch.float64)[:3].repeat(data.num_frames, 1, 1)
    names = data.video_names
    offsets_s = np.asarray(model.time_offsets.offsets_s().double().cpu().numpy()) if hasattr(model, "time_offsets") else data.time_offset_s.copy()
    refined_videos = []
    for v, name in enumerate(names):
        rows = data.frames_of(v)
        trained = np.flatnonzero(train_video == v)
        if trained.size:
            nearest = trained[_nearest_rows(data.frame_index[rows], train_frame[trained])]
            frame_corrections[rows] = corrections[torch.from_numpy(nearest)]
            refined_videos.append(name)
        elif name in test_time_corrections:
            correction = test_time_corrections[name]
            frame_corrections[rows] = correction.matrix().double()
            offsets_s[v] = data.time_offset_s[v] + correction.time_delta * model.time_offsets.seconds_per_unit
            refined_videos.append(name)
        else:
            offsets_s[v] = data.time_offset_s[v]
    refined_scene = correct_camera_to_worlds(scene, frame_corrections).numpy()
    opencv = opengl_to_opencv_c2w(scene_to_calibration_c2w(refined_scene, transform, scale))

    reference = names[0]
    if data.calibration_path is not None and data.calibration_path.is_file():
        reference = load_calibration(data.calibration_path).reference
    if reference in names:
        offsets_s = offsets_s - offsets_s[names.index(reference)]
    refined = RefinedCapture(
        video_names=list(names), time_offset_s=offsets_s, camera_to_world_opencv=opencv,
        video_index=data.video_index.copy(), frame_index=data.frame_index.copy(),
        moving=[video.moving for video in data.videos], refined_videos=refined_videos, reference=reference,
    )
    return refined, data


def refined_calibration(refined: RefinedCapture, data, method: Optional[dict] = None) -> Calibration:
    """A `Calibration` (calibration.json) of the refined capture. Intrinsics, sizes, confidences
    and the pairwise evidence come from the original calibration when the processed data names one,
    else from the processed transforms."""
    original = None
    if data.calibration_path is not None and data.calibration_path.is_file():
        original = load_calibration(data.calibration_path)
    original_names = [v.name for v in original.videos] if original is not None else []
    videos = []
    for v, name in enumerate(refined.video_names):
        rows = data.frames_of(v)
        poses = refined.camera_to_world_opencv[rows]
        entry = data.videos[v]
        if name in original_names:
            source = original.video(name)
            K, width, height, confidence = source.K, source.width, source.height, source.confidence
            num_frames, fps = source.num_frames, source.fps
        else:
            K = np.array([[entry.fl_x, 0.0, entry.cx], [0.0, entry.fl_y, entry.cy], [0.0, 0.0, 1.0]])
            width, height, confidence, num_frames, fps = entry.width, entry.height, 1.0, len(rows), entry.fps
        if refined.moving[v]:
            if len(rows) != num_frames:
                num_frames = len(rows)
            pose = poses
        else:
            pose = poses[0]
        videos.append(VideoCalibration(name, float(fps), int(num_frames), float(refined.time_offset_s[v]),
                                       pose, np.asarray(K, dtype=np.float64), int(width), int(height), float(confidence)))
    calibration = Calibration(reference=refined.reference, videos=videos, method=dict(method or {}))
    if original is not None:
        calibration.pairwise_names = original.pairwise_names
        calibration.pairwise_cost = original.pairwise_cost
        calibration.pairwise_offset_s = original.pairwise_offset_s
        calibration.excluded = list(original.excluded)
        calibration.method = {**calibration.method, "initial": original.method}
    return calibration


def refined_transforms(refined: RefinedCapture, data, output_dir: Path,
                       time_normalization: Optional[TimeNormalization] = None) -> dict:
    """The processed transforms.json with refined poses and offsets, its frame paths made relative
    to `output_dir`, and per-frame synchronized times: `global_time_s` (seconds) and `time`
    (the model's normalised time, when given: 0..1 over the training videos' common span, so
    frames outside it have times below 0 or above 1)."""
    from humansync_ns.processing.transforms_writer import opencv_to_opengl_c2w

    raw = json.loads(data.path.read_text())
    out = copy.deepcopy(raw)
    row_of = {(int(v), int(f)): i for i, (v, f) in enumerate(zip(refined.video_index, refined.frame_index))}
    opengl = opencv_to_opengl_c2w(refined.camera_to_world_opencv)
    for v, video in enumerate(out["videos"]):
        video["time_offset_s"] = float(refined.time_offset_s[v])
    for frame in out["frames"]:
        row = row_of[(int(frame["video"]), int(frame["frame_index"]))]
        frame["transform_matrix"] = opengl[row].tolist()
        frame["file_path"] = os.path.relpath(data.root / frame["file_path"], output_dir)
        global_time = float(frame["local_time"]) + float(refined.time_offset_s[int(frame["video"])])
        frame["global_time_s"] = global_time
        if time_normalization is not None:
            frame["time"] = time_normalization.to_normalized(global_time)
    out["calibration"] = "calibration.json"
    if data.ground_truth_path is not None:
        out["ground_truth"] = os.path.relpath(data.ground_truth_path, output_dir)
    else:
        out.pop("ground_truth", None)
    return out


def build_refined_calibration(pipeline, test_time_corrections: Optional[Dict[str, Any]] = None,
                              method: Optional[dict] = None) -> Calibration:
    """The refined `Calibration` of a loaded pipeline without writing anything (e.g. to score it
    with `humansync_ns.calibration.errors.calibration_errors` against the ground truth)."""
    refined, data = refine_capture(pipeline, test_time_corrections)
    return refined_calibration(refined, data, method)


def export_refined_calibration(pipeline, output_dir: Path, test_time_corrections: Optional[Dict[str, Any]] = None,
                               method: Optional[dict] = None) -> tuple[Path, Path]:
    """Writes `output_dir/calibration.json` and `output_dir/transforms.json`; returns both paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    refined, data = refine_capture(pipeline, test_time_corrections)
    calibration_path = save_calibration(refined_calibration(refined, data, method), output_dir / "calibration.json")
    # The re-referencing shifted every global time by one constant; the model's normalisation is
    # shifted by the same constant so the exported `time` equals what the model was trained on.
    meta = pipeline.datamanager.train_dataset.metadata
    norm = TimeNormalization.from_dict(meta["time_normalization"]) if "time_normalization" in meta else None
    if norm is not None and hasattr(pipeline.model, "time_offsets"):
        names = refined.video_names
        shift = float(pipeline.model.time_offsets.offsets_s()[names.index(refined.reference)]) if refined.reference in names else 0.0
        norm = norm.shifted(-shift)
    transforms = refined_transforms(refined, data, output_dir, norm)
    transforms_path = output_dir / "transforms.json"
    transforms_path.write_text(json.dumps(transforms, indent=2))
    return calibration_path, transforms_path
