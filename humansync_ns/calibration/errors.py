"""Calibration errors against ground truth, the paper's Table 1 way.

1. Sim(3)-align the estimated camera centres to the true ones (Umeyama; a moving camera
   contributes its centre at every frame), since a calibration's world is arbitrary.
2. Rotation error: geodesic angle between the aligned and the true camera rotation (degrees;
   averaged over frames for a moving camera).
3. Translation error: distance between the aligned and the true camera centre, in metres and as a
   fraction of the scene size (mean distance of the true camera centres to their centroid).
4. Time error: estimated minus true offset, minus the mean of that difference over the videos (the
   common offset is arbitrary), in frames of each video's own rate and in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from humansync_ns.body.rotations import is_proper_rotation, rotation_angle_deg
from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration
from humansync_ns.calibration.sim3 import Sim3, umeyama


class EvaluationError(ValueError):
    """Two calibrations cannot be compared: too few shared videos, or a pose that is not a rotation."""


@dataclass
class CalibrationErrors:
    """Per-video errors (ordered as `names`) and their means."""

    names: list[str]
    rotation_deg: np.ndarray
    translation_m: np.ndarray
    translation_frac: np.ndarray
    time_frames: np.ndarray
    """|error| in frames of the video's own rate, after removing the common offset."""
    time_s: np.ndarray
    scene_size_m: float
    alignment: Sim3
    """Estimated world → true world."""
    missing: list[str] = field(default_factory=list)
    """Videos of the truth that the estimate does not have (excluded)."""

    @property
    def mean_rotation_deg(self) -> float:
        return float(np.mean(self.rotation_deg))

    @property
    def mean_translation_m(self) -> float:
        return float(np.mean(self.translation_m))

    @property
    def mean_translation_frac(self) -> float:
        return float(np.mean(self.translation_frac))

    @property
    def mean_time_frames(self) -> float:
        return float(np.mean(self.time_frames))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": {
                "rotation_deg": self.mean_rotation_deg,
                "translation_m": self.mean_translation_m,
                "translation_frac": self.mean_translation_frac,
                "time_frames": self.mean_time_frames,
            },
            "per_video": {
                name: {
                    "rotation_deg": float(self.rotation_deg[i]),
                    "translation_m": float(self.translation_m[i]),
                    "translation_frac": float(self.translation_frac[i]),
                    "time_frames": float(self.time_frames[i]),
                    "time_s": float(self.time_s[i]),
                }
                for i, name in enumerate(self.names)
            },
            "scene_size_m": self.scene_size_m,
            "alignment": {"R": self.alignment.R.tolist(), "t": self.alignment.t.tolist(), "s": float(self.alignment.s)},
            "missing": list(self.missing),
        }


def _per_frame(video: VideoCalibration, num_frames: int) -> np.ndarray:
    """(F, 4, 4) poses on `num_frames` frames (a static camera repeated)."""
    if video.is_moving:
        return video.camera_to_world[:num_frames]
    return np.broadcast_to(video.camera_to_world, (num_frames, 4, 4))


def _check_rotation(video: VideoCalibration, label: str) -> None:
    bad = np.flatnonzero(~is_proper_rotation(video.camera_to_world[..., :3, :3]).reshape(-1))
    if bad.size:
        frame = f" (frame {bad[0]}, {bad.size} frame(s) in all)" if video.is_moving else ""
        raise EvaluationError(
            f"{label}: video '{video.name}': camera_to_world[:3, :3] is not a rotation (orthonormal, det +1){frame}; "
            "its rotation error would be meaningless"
        )


def calibration_errors(estimate: Calibration, truth: Calibration, estimate_label: str = "estimate",
                       truth_label: str = "truth") -> CalibrationErrors:
    """Table 1 errors of `estimate` against `truth` on the videos both contain (matched by name).

    Raises `EvaluationError`, naming the calibration by its label (its file, for the CLI), when
    fewer than 3 videos are shared or a compared pose is not a rotation.
    """
    truth_names = [v.name for v in truth.videos]
    estimate_names = {v.name for v in estimate.videos}
    names = [n for n in truth_names if n in estimate_names]
    missing = [n for n in truth_names if n not in estimate_names]
    if len(names) < 3:
        raise EvaluationError(f"{estimate_label} and {truth_label}: need at least 3 videos in both to Sim(3)-align them, "
                              f"they share {names}")
    pairs = []
    for name in names:
        est, true = estimate.video(name), truth.video(name)
        _check_rotation(est, estimate_label)
        _check_rotation(true, truth_label)
        lengths = [v.camera_to_world.shape[0] for v in (est, true) if v.is_moving]
        count = min(lengths) if lengths else 1
        pairs.append((_per_frame(est, count), _per_frame(true, count)))
    # Every video weighs the same in the alignment, however many frames a moving camera has.
    src = np.concatenate([p[0][:, :3, 3] for p in pairs])
    dst = np.concatenate([p[1][:, :3, 3] for p in pairs])
    weights = np.concatenate([np.full(len(p[0]), 1.0 / len(p[0])) for p in pairs])
    alignment = umeyama(src, dst, weights)
    static_true_centres = np.array([p[1][:, :3, 3].mean(0) for p in pairs])
    scene_size = float(np.mean(np.linalg.norm(static_true_centres - static_true_centres.mean(0), axis=1)))
    rotation, translation = [], []
    for est_poses, true_poses in pairs:
        R_aligned = alignment.R @ est_poses[:, :3, :3]
        rotation.append(float(np.mean(rotation_angle_deg(R_aligned, true_poses[:, :3, :3]))))
        translation.append(float(np.mean(np.linalg.norm(alignment.apply(est_poses[:, :3, 3]) - true_poses[:, :3, 3], axis=1))))
    diff = np.array([estimate.video(n).time_offset_s - truth.video(n).time_offset_s for n in names])
    time_s = np.abs(diff - diff.mean())
    fps = np.array([truth.video(n).fps for n in names])
    translation_m = np.array(translation)
    return CalibrationErrors(
        names=names,
        rotation_deg=np.array(rotation),
        translation_m=translation_m,
        translation_frac=translation_m / scene_size,
        time_frames=time_s * fps,
        time_s=time_s,
        scene_size_m=scene_size,
        alignment=alignment,
        missing=missing,
    )
