"""The two normalisations the dataparser applies: time (seconds → normalised time → the field's
grid time) and space (calibration world → nerfstudio's scene box). Both are plain functions of
arrays so exports can undo them.

Time (docs/conventions.md): `t_norm = (global_time − t0_s)/span_s`, 0..1 over the training videos'
common span; the field's grid time `g = −1 + 2·(global_time − grid_t0_s)/grid_span_s`.
Space (nerfstudio's convention, `dataparser_transforms.json`): an OpenGL camera-to-world `P` in the
calibration world becomes `[R_T·R_P | scale·(R_T·t_P + t_T)]` with `T = [R_T | t_T]` the (3, 4)
`dataparser_transform`; `nerfstudio...transform_poses_to_original_space` undoes it exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, Mapping, TypeVar

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor
from typing_extensions import assert_never

from nerfstudio.cameras import camera_utils

OrientationMethod = Literal["up", "pca", "vertical", "none"]
CenterMethod = Literal["focus", "poses", "none"]
Times = TypeVar("Times", float, np.ndarray, Tensor)


@dataclass(frozen=True)
class TimeNormalization:
    """Global seconds ↔ normalised time (nerfstudio's `Cameras.times`) ↔ the field's grid time.

    Normalised time is 0 at the start and 1 at the end of the training videos' common span (the
    instants every training video saw, at the calibration's offsets): what the viewer's time slider,
    `ns-render spiral` and a camera path's `render_time` sweep. Frames of training videos outside it
    have normalised times below 0 or above 1, and are trained on like any other. The field's time
    axis ([-1, 1], "grid time") covers every training frame plus `margin` of its range at both ends,
    for the learned offsets; the map between the two is affine (`grid_scale`, `grid_shift`).
    """

    t0_s: float
    """Global time at normalised 0: the start of the training videos' common span, seconds."""
    span_s: float
    """Seconds per normalised unit: the length of the common span (> 0)."""
    grid_t0_s: float
    """Global time at grid time −1, seconds."""
    grid_span_s: float
    """Seconds covered by the grid's time axis [-1, 1] (> 0)."""

    @classmethod
    def from_spans(
        cls, frames_s: Float[np.ndarray, "N"], common_s: tuple[float, float], margin: float
    ) -> "TimeNormalization":
        """Normalised time over `common_s` (start, end), the grid over the training frames'
        global times `frames_s` with `margin` of headroom at both ends.

        Degenerate captures: without a common span of positive length (training videos that never
        overlap, or a single instant), normalised time spans all training frames instead; a single
        instant gets a 1 s span so both maps stay defined."""
        if not 0.0 <= margin < 0.5:
            raise ValueError(f"time_margin must be in [0, 0.5), got {margin}")
        first, last = float(np.min(frames_s)), float(np.max(frames_s))
        frames_span = last - first if last > first else 1.0
        grid_span = frames_span / (1.0 - 2.0 * margin)
        start, end = (float(t) for t in common_s)
        if not end > start:
            start, end = first, first + frames_span
        return cls(t0_s=start, span_s=end - start, grid_t0_s=first - margin * grid_span, grid_span_s=grid_span)

    @classmethod
    def from_dict(cls, values: Mapping[str, float]) -> "TimeNormalization":
        """From the dataparser metadata's `time_normalization` (`as_dict`)."""
        norm = cls(**{key: float(values[key]) for key in ("t0_s", "span_s", "grid_t0_s", "grid_span_s")})
        if not (norm.span_s > 0 and norm.grid_span_s > 0):
            raise ValueError(f"time_normalization spans must be > 0, got {norm}")
        return norm

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def to_normalized(self, global_time_s: Times) -> Times:
        return (global_time_s - self.t0_s) / self.span_s

    def to_seconds(self, t_norm: Times) -> Times:
        return self.t0_s + t_norm * self.span_s

    @property
    def grid_scale(self) -> float:
        """d grid time / d normalised time."""
        return 2.0 * self.span_s / self.grid_span_s

    @property
    def grid_shift(self) -> float:
        """Grid time of normalised 0: `grid time = grid_scale·t_norm + grid_shift`."""
        return -1.0 + 2.0 * (self.t0_s - self.grid_t0_s) / self.grid_span_s

    def shifted(self, seconds: float) -> "TimeNormalization":
        """The same normalisation of global times that all moved by `seconds` (a re-referencing)."""
        return TimeNormalization(self.t0_s + seconds, self.span_s, self.grid_t0_s + seconds, self.grid_span_s)


def common_time_span(times: Float[Tensor, "N"], video_index: Int[Tensor, "N"]) -> tuple[float, float]:
    """(start, end) normalised times covered by every video present in `video_index`."""
    videos = torch.unique(video_index)
    if videos.numel() == 0:
        raise ValueError("common_time_span: no frames")
    starts = torch.stack([times[video_index == v].min() for v in videos])
    ends = torch.stack([times[video_index == v].max() for v in videos])
    return float(starts.max()), float(ends.min())


def compute_scene_transform(
    camera_to_world_opengl: np.ndarray,
    orientation_method: OrientationMethod,
    center_method: CenterMethod,
    auto_scale: bool,
    scale_factor: float,
) -> tuple[np.ndarray, float]:
    """Rotation + translation (nerfstudio's `auto_orient_and_center_poses`) and a scale that puts
    every camera centre inside [-1, 1]^3 (times `scale_factor`).

    Args:
        camera_to_world_opengl: (N, 4, 4) representative poses (one per static video, a few per
            moving video, so a long moving video does not outweigh the rig).
    Returns:
        (3, 4) `dataparser_transform` and the float `dataparser_scale`.
    """
    if orientation_method not in ("up", "pca", "vertical", "none"):
        assert_never(orientation_method)  # type: ignore[arg-type]
    poses = torch.from_numpy(np.asarray(camera_to_world_opengl, dtype=np.float32))
    if poses.shape[0] < 2 and center_method == "focus":
        center_method = "poses"  # the focus of a single camera's axis is undefined
    oriented, transform = camera_utils.auto_orient_and_center_poses(
        poses, method=orientation_method, center_method=center_method
    )
    scale = 1.0
    if auto_scale:
        extent = float(torch.max(torch.abs(oriented[:, :3, 3])))
        scale = 1.0 / extent if extent > 1e-9 else 1.0
    return transform.numpy().astype(np.float64), scale * float(scale_factor)


PEOPLE_QUANTILE = 0.01
"""Fraction of the people's joints (per axis and side) left outside the box: garbage frames."""
PEOPLE_PADDING_M = 0.3
"""Margin around the people's joints, metres: limbs' thickness and the joints' depth errors."""


def fit_scene_to_points(transform: np.ndarray, points: np.ndarray, scale_factor: float) -> tuple[np.ndarray, float]:
    """The same orientation as `transform`, re-centred and scaled so that the box around `points`
    ((M, 3) in the calibration world, e.g. the people's joints) fills the scene box [-1, 1]^3.

    The box is axis-aligned in the oriented frame and spans the `PEOPLE_QUANTILE` quantiles of the
    points plus `PEOPLE_PADDING_M`; its centre goes to the origin and its largest half-extent to 1
    (times `scale_factor`). Used to give the people's region the grid's resolution
    (`scene_box_from="people"`); the scene contraction maps everything outside it, the room and the
    cameras, into the outer shell."""
    rotation = np.asarray(transform, dtype=np.float64)[:, :3]
    rotated = np.asarray(points, dtype=np.float64) @ rotation.T
    low = np.quantile(rotated, PEOPLE_QUANTILE, axis=0) - PEOPLE_PADDING_M
    high = np.quantile(rotated, 1.0 - PEOPLE_QUANTILE, axis=0) + PEOPLE_PADDING_M
    centre = 0.5 * (low + high)
    half_extent = float(np.max(0.5 * (high - low)))
    return np.concatenate([rotation, -centre[:, None]], axis=1), scale_factor / half_extent


def apply_scene_transform(camera_to_world_opengl: np.ndarray, transform: np.ndarray, scale: float) -> np.ndarray:
    """(N, 4, 4) calibration-world poses → (N, 3, 4) scene-box poses (see module docstring)."""
    poses = np.einsum("ij,njk->nik", transform[:, :3], camera_to_world_opengl[:, :3, :])
    poses[:, :, 3] += transform[:, 3]
    poses[:, :, 3] *= scale
    return poses


OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def scene_to_calibration_c2w(camera_to_world_scene: np.ndarray, transform: np.ndarray, scale: float) -> np.ndarray:
    """(N, 3|4, 4) scene-box OpenGL poses → (N, 4, 4) OpenGL poses in the calibration world
    (inverse of `apply_scene_transform`)."""
    poses = np.asarray(camera_to_world_scene, dtype=np.float64)
    transform = np.asarray(transform, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[-2:] not in ((3, 4), (4, 4)):
        raise ValueError(f"expected (N, 3, 4) or (N, 4, 4) poses, got {poses.shape}")
    if transform.shape != (3, 4):
        raise ValueError(f"dataparser_transform must be (3, 4), got {transform.shape}")
    if not scale > 0:
        raise ValueError(f"dataparser_scale must be > 0, got {scale}")
    R_T, t_T = transform[:, :3], transform[:, 3]
    out = np.tile(np.eye(4), (poses.shape[0], 1, 1))
    out[:, :3, :3] = R_T.T @ poses[:, :3, :3]
    out[:, :3, 3] = (poses[:, :3, 3] / scale - t_T) @ R_T  # row form of R_Tᵀ·(t/s − t_T)
    return out


def opengl_to_opencv_c2w(camera_to_world_opengl: np.ndarray) -> np.ndarray:
    """(..., 4, 4) OpenGL camera-to-world → OpenCV (flips the camera's y and z axes)."""
    return np.asarray(camera_to_world_opengl, dtype=np.float64) @ OPENGL_TO_OPENCV


def representative_poses(camera_to_world_opengl: np.ndarray, video_index: np.ndarray, moving: list[bool],
                         per_moving_video: int = 30) -> np.ndarray:
    """One pose per static video and up to `per_moving_video` evenly spaced poses per moving one."""
    chosen = []
    for v, is_moving in enumerate(moving):
        rows = np.flatnonzero(video_index == v)
        if rows.size == 0:
            continue
        if is_moving:
            picks = np.unique(np.linspace(0, rows.size - 1, min(per_moving_video, rows.size)).round().astype(int))
            chosen.extend(rows[picks].tolist())
        else:
            chosen.append(int(rows[0]))
    return camera_to_world_opengl[np.array(chosen, dtype=np.int64)]
