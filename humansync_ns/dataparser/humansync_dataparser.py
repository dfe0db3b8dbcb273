"""`humansync-data`: nerfstudio DataParser for unsynchronized multi-view video with time.

Reads what `humansync-process` writes (`docs/formats.md` section 4) and produces every frame of
every video as its own camera, with `Cameras.times` the frame's normalised global time
(`docs/conventions.md`: 0..1 over the training videos' common span) and
`Cameras.metadata["video_index"]` (num_images, 1) so rays know their video; the training split's
cameras also carry `metadata[TRAIN_IMAGE_INDEX]`.
`DataparserOutputs.metadata` follows the contract of `docs/architecture.md`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Optional, Tuple, Type

import numpy as np
import torch

from humansync_ns.calibration.calibration_io import load_calibration
from humansync_ns.dataparser.normalization import (
    CenterMethod,
    OrientationMethod,
    TimeNormalization,
    apply_scene_transform,
    compute_scene_transform,
    fit_scene_to_points,
    representative_poses,
)
from humansync_ns.dataparser.split import common_span, eval_rows, resolve_eval_videos, strided_rows
from humansync_ns.dataparser.transforms_io import TransformsData, TransformsFormatError, load_transforms
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.dataparsers.base_dataparser import DataParser, DataParserConfig, DataparserOutputs
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.utils.rich_utils import CONSOLE

TRAIN_IMAGE_INDEX = "train_image_index"
"""Key of `Cameras.metadata` (num_images, 1) on the training split's cameras: the image's index
among the training images. It says "this camera is training image i at its dataparser pose and
time", so the model renders it at its refined pose and time; whatever moves a camera drops it."""


@dataclass
class HumanSyncDataParserConfig(DataParserConfig):
    """humansync-data: videos with per-frame time, held-out-video split, normalised global time."""

    _target: Type = field(default_factory=lambda: HumanSyncDataParser)
    data: Path = Path()
    """Data folder written by humansync-process (or its transforms.json)."""
    downscale_factor: int = 1
    """Train at 1/N resolution: reads images_N/ when present, else resizes images/ on load."""
    eval_videos: Tuple[str, ...] = ()
    """Held-out video(s) by name or index; empty holds out the last video (none if only one)."""
    frame_stride: int = 1
    """Keep every N-th frame of each training video."""
    eval_frame_stride: int = 1
    """Keep every N-th frame of each held-out video."""
    restrict_eval_to_common_span: bool = True
    """Eval frames only where every training video has frames (the paper's protocol)."""
    time_margin: float = 0.1
    """Headroom for learned time offsets: the fraction of the field's time axis left at each end
    beyond the first and last training frames (normalised time 0..1 is the common span)."""
    orientation_method: OrientationMethod = "up"
    """How to rotate the calibration world into the scene box (nerfstudio's auto_orient)."""
    center_method: CenterMethod = "focus"
    """How to centre it: 'focus' suits cameras looking inward at people."""
    scene_box_from: Literal["cameras", "people"] = "cameras"
    """What fills the scene box [-1, 1]^3 (the part of space the field's grids resolve finely; the
    scene contraction squeezes everything else into the outer shell). cameras: every camera centre
    (nerfstudio's convention); people: the box around the people's calibrated joints that
    humansync-process records (`people_points` in transforms.json), so the grid cells go where the
    scene moves."""
    auto_scale_poses: bool = True
    """Scale so every camera centre lies in [-1, 1]^3 (scene_box_from cameras)."""
    scale_factor: float = 1.0
    """Extra scale applied after auto scaling."""
    scene_scale: float = 1.0
    """Half-size of the scene box (aabb [-s, s]^3)."""
    plain_fps: Optional[float] = None
    """Read a plain ns-process-data transforms.json (no time) as one moving video at this rate."""


@dataclass
class _Capture:
    """Everything computed once and shared by the train and eval splits."""

    data: TransformsData
    train_videos: list[int]
    eval_videos: list[int]
    time_norm: TimeNormalization
    transform: np.ndarray
    scale: float
    ground_truth: Optional[dict[str, Any]]


class HumanSyncDataParser(DataParser):
    """Builds per-frame cameras with normalised global times from a humansync transforms.json."""

    config: HumanSyncDataParserConfig
    includes_time: bool = True
    """Tells nerfstudio (and the viewer's time slider) that cameras carry times."""

    def __init__(self, config: HumanSyncDataParserConfig):
        super().__init__(config=config)
        self.config = config

    @cached_property
    def capture(self) -> _Capture:
        """Loads and normalises once; the split only selects rows of it."""
        config = self.config
        if config.downscale_factor < 1:
            raise ValueError(f"HumanSyncDataParserConfig.downscale_factor must be >= 1, got {config.downscale_factor}")
        data = load_transforms(config.data, plain_fps=config.plain_fps)
        eval_videos = resolve_eval_videos(config.eval_videos, data.video_names, str(data.path))
        train_videos = [v for v in range(len(data.videos)) if v not in eval_videos]
        time_norm = self._time_normalization(data, train_videos)
        moving = [v.moving for v in data.videos]
        transform, scale = compute_scene_transform(
            representative_poses(data.camera_to_world_opengl, data.video_index, moving),
            config.orientation_method, config.center_method, config.auto_scale_poses, config.scale_factor,
        )
        if config.scene_box_from == "people":
            if data.people_points is None:
                raise TransformsFormatError(
                    f"{data.path}: field 'people_points' is missing, which scene_box_from='people' needs; "
                    "re-run humansync-process with --motion-dir, or use scene_box_from='cameras'"
                )
            transform, scale = fit_scene_to_points(transform, data.people_points, config.scale_factor)
        ground_truth = _load_ground_truth(data) if data.ground_truth_path is not None else None
        if not eval_videos:
            CONSOLE.print("[yellow]humansync-data: a single video, no held-out camera: eval uses the training frames")
        return _Capture(data, train_videos, eval_videos, time_norm, transform, scale, ground_truth)

    def _time_normalization(self, data: TransformsData, train_videos: list[int]) -> TimeNormalization:
        """Normalised time over the training videos' common span (all their frames, any stride),
        the field's time grid over all their frames."""
        common = common_span(data, train_videos)
        if common[0] > common[1]:
            CONSOLE.print(
                f"[yellow]humansync-data: the training videos share no time span ({common[0]:.3f} s to {common[1]:.3f} s): "
                "normalised time 0..1 covers all their frames instead"
            )
        train_rows = np.isin(data.video_index, train_videos)
        return TimeNormalization.from_spans(data.global_time_s[train_rows], common, self.config.time_margin)

    def _generate_dataparser_outputs(self, split: str = "train", **kwargs: Any) -> DataparserOutputs:
        capture = self.capture
        data, config = capture.data, self.config
        if split == "train" or not capture.eval_videos:
            rows = strided_rows(data, capture.train_videos, config.frame_stride)
        else:
            rows = eval_rows(data, capture.eval_videos, capture.train_videos, config.eval_frame_stride,
                             config.restrict_eval_to_common_span)
        cameras = self._cameras(capture, rows)
        metadata = {**self._metadata(capture, rows), "camera_rotations": cameras.camera_to_worlds[:, :3, :3].clone()}
        if split == "train":
            # Marks the cameras as training images at their dataparser poses, so the model renders
            # them at the refined pose and time (ns-render dataset builds its own datasets).
            cameras.metadata[TRAIN_IMAGE_INDEX] = torch.arange(len(rows))[:, None]
        return DataparserOutputs(
            image_filenames=[self._image_path(data, i) for i in rows],
            cameras=cameras,
            scene_box=SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3]) * config.scene_scale),
            metadata=metadata,
            dataparser_transform=torch.from_numpy(capture.transform).float(),
            dataparser_scale=capture.scale,
        )

    def _cameras(self, capture: _Capture, rows: np.ndarray) -> Cameras:
        data = capture.data
        videos = [data.videos[v] for v in data.video_index[rows]]

        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32)[:, None]

        poses = apply_scene_transform(data.camera_to_world_opengl[rows], capture.transform, capture.scale)
        times = capture.time_norm.to_normalized(data.global_time_s[rows])
        cameras = Cameras(
            camera_to_worlds=torch.from_numpy(poses).float(),
            fx=column([v.fl_x for v in videos]),
            fy=column([v.fl_y for v in videos]),
            cx=column([v.cx for v in videos]),
            cy=column([v.cy for v in videos]),
            width=torch.tensor([v.width for v in videos], dtype=torch.int64)[:, None],
            height=torch.tensor([v.height for v in videos], dtype=torch.int64)[:, None],
            camera_type=CameraType.PERSPECTIVE,
            times=torch.from_numpy(times).float(),
            metadata={"video_index": torch.from_numpy(data.video_index[rows]).long()[:, None]},
        )
        if self.config.downscale_factor > 1:
            cameras.rescale_output_resolution(scaling_factor=1.0 / self.config.downscale_factor)
        return cameras

    def _image_path(self, data: TransformsData, row: int) -> Path:
        """images/… at full resolution, images_N/… when downscaled copies exist (ns-process-data layout)."""
        relative = Path(data.relative_paths[row])
        factor = self.config.downscale_factor
        if factor > 1 and relative.parts and relative.parts[0] == "images":
            downscaled = data.root / Path(f"images_{factor}", *relative.parts[1:])
            if downscaled.is_file():
                return downscaled
        return data.root / relative

    def _metadata(self, capture: _Capture, rows: np.ndarray) -> dict[str, Any]:
        data, time_norm = capture.data, capture.time_norm
        offsets = data.time_offset_s
        return {
            "video_index": torch.from_numpy(data.video_index[rows]).long(),
            "frame_index": torch.from_numpy(data.frame_index[rows]).long(),
            "local_time_s": torch.from_numpy(data.local_time_s[rows]).double(),
            "video_names": data.video_names,
            "num_videos": len(data.videos),
            "train_videos": list(capture.train_videos),
            "eval_videos": list(capture.eval_videos),
            "moving_videos": [v for v, video in enumerate(data.videos) if video.moving],
            "fps": torch.tensor([v.fps for v in data.videos], dtype=torch.float32),
            "time_offset_init_s": torch.from_numpy(offsets).float(),
            "time_offset_init_norm": torch.from_numpy(offsets / time_norm.span_s).float(),
            "time_normalization": time_norm.as_dict(),
            "dataparser_transform": torch.from_numpy(capture.transform).float(),
            "dataparser_scale": capture.scale,
            "ground_truth": capture.ground_truth,
        }


def _load_ground_truth(data: TransformsData) -> dict[str, Any]:
    """The true offsets and OpenCV poses of this capture's videos, in the ground truth's world."""
    assert data.ground_truth_path is not None
    truth = load_calibration(data.ground_truth_path)
    truth_names = [v.name for v in truth.videos]
    missing = [name for name in data.video_names if name not in truth_names]
    if missing:
        raise TransformsFormatError(
            f"{data.path}: field 'ground_truth': {data.ground_truth_path.name} has no entry for video(s) {missing}"
        )
    videos = [truth.video(name) for name in data.video_names]
    return {
        "time_offset_s": torch.tensor([v.time_offset_s for v in videos], dtype=torch.float64),
        "camera_to_world": [torch.from_numpy(np.asarray(v.camera_to_world, dtype=np.float64)) for v in videos],
        "fps": torch.tensor([v.fps for v in videos], dtype=torch.float64),
        "video_names": list(data.video_names),
        "source": str(data.ground_truth_path),
    }
