"""Read the calibration a humansync model is refining: offsets in seconds, poses, errors vs truth.

Used for live logging (``calibration_log_callback``, scalars through nerfstudio's writer) and by
tests and tools that check that training moves the calibration toward the ground truth.

Frames: nerfstudio cameras are OpenGL camera-to-world in the scene box; the dataparser maps the
calibration world (OpenCV cameras) into the box with ``x_box = scale * (R_t x_cal + t_t)``
(``dataparser_transform = [R_t | t_t]``, nerfstudio's convention), and
``c2w_opencv = c2w_opengl @ diag(1, -1, -1, 1)`` (docs/conventions.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from nerfstudio.cameras.cameras import Cameras
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation

from humansync_ns.body.rotations import rotation_angle_deg
from humansync_ns.calibration.sim3 import DegenerateAlignmentError, umeyama
from humansync_ns.dataparser.humansync_dataparser import TRAIN_IMAGE_INDEX
from humansync_ns.dataparser.normalization import opengl_to_opencv_c2w, scene_to_calibration_c2w
from humansync_ns.model.pose_correction import correct_camera_to_worlds

if TYPE_CHECKING:
    from humansync_ns.model.humansync_model import HumanSyncModel


def time_offsets_s(model: "HumanSyncModel") -> Dict[str, float]:
    """Current offset of every video in seconds (calibration's initial offset + learned delta)."""
    offsets = model.time_offsets.offsets_s().cpu().tolist()
    return {name: float(offsets[v]) for v, name in enumerate(model.video_names)}


def pose_corrections(model: "HumanSyncModel") -> Dict[str, Dict[str, float]]:
    """Per training video: rotation (degrees) and translation (scene units) of its correction."""
    return {model.video_names[v]: c for v, c in model.camera_optimizer.per_video_corrections().items()}


@torch.no_grad()
def refined_camera_to_worlds(model: "HumanSyncModel", cameras: Cameras) -> Float[Tensor, "num_images 3 4"]:
    """Training cameras' OpenGL camera-to-world (scene box) with the learned world-frame corrections
    applied (``pose_correction.correct_camera_to_worlds``, as the training rays are moved)."""
    c2w = cameras.camera_to_worlds.to(model.device)
    return correct_camera_to_worlds(c2w, model.camera_optimizer.get_correction_matrices().to(c2w))


def cameras_moved_to(
    cameras: Cameras, camera_to_worlds: Float[Tensor, "num_images 3 4"], times: Optional[Float[Tensor, "num_images 1"]]
) -> Cameras:
    """A copy of ``cameras`` with other poses and times (intrinsics shared). Its metadata loses
    ``TRAIN_IMAGE_INDEX``: the copy is no longer a training image at its dataparser pose, so the
    model must not refine it again."""
    return Cameras(
        camera_to_worlds=camera_to_worlds,
        fx=cameras.fx,
        fy=cameras.fy,
        cx=cameras.cx,
        cy=cameras.cy,
        width=cameras.width,
        height=cameras.height,
        distortion_params=cameras.distortion_params,
        camera_type=cameras.camera_type,
        times=times,
        metadata=without_train_image_index(cameras.metadata),
    )


def without_train_image_index(metadata: Optional[Dict]) -> Optional[Dict]:
    """Camera metadata without the marker of an unrefined training image (a new dict)."""
    return None if metadata is None else {k: v for k, v in metadata.items() if k != TRAIN_IMAGE_INDEX}


@torch.no_grad()
def refined_train_cameras(model: "HumanSyncModel", cameras: Cameras) -> Cameras:
    """A copy of the training cameras at refined poses and offset-corrected times, for rendering
    training views the way the model saw them during training."""
    video = model.image_to_video.to(model.device)
    times = None
    if cameras.times is not None:
        times = model.time_offsets.shifted_times(cameras.times.to(model.device), video).cpu()
    return cameras_moved_to(cameras, refined_camera_to_worlds(model, cameras).cpu(), times)


def scene_opengl_to_calibration_opencv(
    c2w_scene: Float[np.ndarray, "n 3 4"], dataparser_transform: Float[np.ndarray, "3 4"], dataparser_scale: float
) -> Float[np.ndarray, "n 4 4"]:
    """Undo the dataparser transform and switch camera axes: OpenGL scene-box c2w -> OpenCV
    calibration-world c2w (4x4)."""
    return opengl_to_opencv_c2w(scene_to_calibration_c2w(c2w_scene, dataparser_transform, dataparser_scale))


def time_offset_errors_frames(
    estimate_s: Sequence[float], truth_s: Sequence[float], videos: Sequence[int], reference_fps: float
) -> np.ndarray:
    """|error| of each listed video's offset in frames of ``reference_fps``, after removing the
    common offset (mean difference), as docs/conventions.md prescribes."""
    diff = np.asarray(estimate_s, float)[list(videos)] - np.asarray(truth_s, float)[list(videos)]
    return np.abs(diff - diff.mean()) * reference_fps


def per_video_calibration_errors(model: "HumanSyncModel", cameras: Optional[Cameras] = None) -> Dict[str, Dict[str, float]]:
    """Errors of each training video's current calibration vs ``metadata["ground_truth"]``.

    ``time_offset_error_frames`` (at least 2 training videos): in frames of the reference rate (the
    video whose initial offset is 0, else video 0), after removing the common offset. With
    ``cameras`` and ground-truth poses of at least 3 static videos, for those videos:
    ``rotation_error_deg`` and ``translation_error`` (ground-truth units) after Sim(3) alignment of
    camera centres. Empty without ground truth."""
    truth = model.ground_truth
    if not truth:
        return {}
    out: Dict[str, Dict[str, float]] = {}
    videos = list(model.train_videos)
    if "time_offset_s" in truth and len(videos) >= 2:
        init = model.time_offsets.time_offset_init_s.cpu()
        ref = int(torch.nonzero(init == 0).flatten()[0]) if bool((init == 0).any()) else 0
        fps = float(model.fps[ref]) if model.fps is not None else 1.0
        estimate_s = model.time_offsets.offsets_s().cpu().numpy()
        errors = time_offset_errors_frames(estimate_s, truth["time_offset_s"], videos, fps)
        for v, error in zip(videos, errors):
            out.setdefault(model.video_names[v], {})["time_offset_error_frames"] = float(error)
    meta = model.kwargs.get("metadata") or {}
    if cameras is not None and "camera_to_world" in truth and "dataparser_transform" in meta:
        for v, pose_errors in _pose_errors(model, cameras, truth["camera_to_world"], meta).items():
            out.setdefault(model.video_names[v], {}).update(pose_errors)
    return out


def calibration_errors(model: "HumanSyncModel", cameras: Optional[Cameras] = None) -> Dict[str, float]:
    """Means over the training videos of ``per_video_calibration_errors`` (same keys; a key is
    present when some video has it)."""
    per_video = per_video_calibration_errors(model, cameras)
    keys = sorted({key for errors in per_video.values() for key in errors})
    return {key: float(np.mean([e[key] for e in per_video.values() if key in e])) for key in keys}


def _pose_errors(model: "HumanSyncModel", cameras: Cameras, truth_c2w: List, meta: Dict) -> Dict[int, Dict[str, float]]:
    """Static video -> its rotation (degrees) and translation errors; empty when fewer than 3
    static videos have a ground-truth pose or their centres are degenerate."""
    moving = set(meta.get("moving_videos", []))
    static = [v for v, slots in model.camera_optimizer.video_slots.items() if len(slots) == 1 and v not in moving]
    first_image = {v: int(torch.nonzero(model.image_to_video.cpu() == v).flatten()[0]) for v in static}
    gt = {v: np.asarray(truth_c2w[v], float) for v in static}
    static = [v for v in static if gt[v].shape == (4, 4)]
    if len(static) < 3:
        return {}
    c2w_scene = refined_camera_to_worlds(model, cameras).cpu().numpy()[[first_image[v] for v in static]]
    transform = np.asarray(torch.as_tensor(meta["dataparser_transform"]).cpu(), float)
    est = scene_opengl_to_calibration_opencv(c2w_scene, transform, float(meta.get("dataparser_scale", 1.0)))
    gt_stack = np.stack([gt[v] for v in static])
    try:
        align = umeyama(est[:, :3, 3], gt_stack[:, :3, 3])  # x_gt ~ s R x_est + t
    except DegenerateAlignmentError:
        return {}  # e.g. collinear camera centres: no pose error this time, never a crash in training
    centres = align.apply(est[:, :3, 3])
    angles = rotation_angle_deg(gt_stack[:, :3, :3], align.R @ est[:, :3, :3])
    distances = np.linalg.norm(centres - gt_stack[:, :3, 3], axis=-1)
    return {
        v: {"rotation_error_deg": float(angle), "translation_error": float(distance)}
        for v, angle, distance in zip(static, angles, distances)
    }


def calibration_log_callback(model: "HumanSyncModel", attrs: TrainingCallbackAttributes) -> TrainingCallback:
    """Log offsets (s), pose corrections and errors vs truth every ``logging.steps_per_log`` steps."""
    from nerfstudio.utils import writer

    trainer = attrs.trainer
    every = int(getattr(getattr(getattr(trainer, "config", None), "logging", None), "steps_per_log", 10) or 10)
    datamanager = getattr(attrs.pipeline, "datamanager", None)

    def log(step: int) -> None:
        for name, seconds in time_offsets_s(model).items():
            writer.put_scalar(name=f"calibration/time_offset_s/{name}", scalar=seconds, step=step)
        for name, corr in pose_corrections(model).items():
            writer.put_scalar(name=f"calibration/pose_rotation_deg/{name}", scalar=corr["rotation_deg"], step=step)
            writer.put_scalar(name=f"calibration/pose_translation/{name}", scalar=corr["translation"], step=step)
        cameras = getattr(getattr(datamanager, "train_dataset", None), "cameras", None)
        for key, value in calibration_errors(model, cameras).items():
            writer.put_scalar(name=f"calibration/{key}", scalar=value, step=step)

    return TrainingCallback(
        where_to_run=[TrainingCallbackLocation.AFTER_TRAIN_ITERATION], update_every_num_iters=every, func=log
    )
