"""The humansync pipeline: nerfstudio's VanillaPipeline plus the paper's evaluation protocol
(Sec. 4.3) and refined training cameras for viewing.

Evaluation (`ns-eval`, `get_average_eval_image_metrics`): for each held-out video, the field is
frozen and only that video's pose correction and time delta are optimised on its eval frames
(`test_time_optimization.py`); then PSNR, SSIM and LPIPS (when its weights are on disk,
`metrics.py`) are measured on its frames inside the training videos' common time span.

Viewing (`ns-viewer`): nerfstudio draws the training-camera frustums from `train_dataset.cameras`,
and after training (`ns-viewer --load-config`) never asks the model for its pose corrections. When
loaded for inference (`test_mode` "test"/"inference", never while training), the pipeline writes
the refined poses and times into those cameras once, so the frustums sit at the refined poses, and
removes their training-image marker so the model does not refine them twice. `ns-render dataset`
builds datasets of its own from the config: their training cameras keep the marker, and the model
renders them at the refined pose and time (`HumanSyncModel`).

Several processes (`ns-train --machine.num-devices N`): the model is wrapped in torch's
DistributedDataParallel the way nerfstudio does it, but with `device_ids` only on CUDA, so the
same pipeline also runs under gloo on CPUs (`distributed_model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Type, cast

import torch
import torchvision.utils as vutils
from jaxtyping import Float, Int
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor
from torch.amp import GradScaler
from torch.nn.parallel import DistributedDataParallel as DDP

from nerfstudio.cameras.cameras import Cameras
from nerfstudio.models.base_model import Model
from nerfstudio.pipelines.base_pipeline import Pipeline, VanillaPipeline, VanillaPipelineConfig
from nerfstudio.utils import comms
from nerfstudio.utils.rich_utils import CONSOLE

from humansync_ns.dataparser.normalization import common_time_span
from humansync_ns.model.calibration_state import refined_camera_to_worlds, without_train_image_index
from humansync_ns.pipeline.metrics import ImageMetrics, LpipsNet, moving_pixel_masks
from humansync_ns.pipeline.test_time_optimization import (
    TestTimeOptimizationConfig,
    VideoCorrection,
    corrected_cameras,
    optimize_video,
)


@dataclass
class HumanSyncPipelineConfig(VanillaPipelineConfig):
    """VanillaPipeline with test-time optimisation at evaluation and offline-safe metrics."""

    _target: Type = field(default_factory=lambda: HumanSyncPipeline)
    test_time_optimization: TestTimeOptimizationConfig = field(default_factory=TestTimeOptimizationConfig)
    """Refinement of each held-out video's pose and time offset before it is scored."""
    report_before_tto: bool = True
    """Also score the held-out frames before test-time optimisation (keys `*_before_tto`)."""
    restrict_to_common_span: bool = True
    """Score only frames whose time lies inside every training video's time span (paper Sec. 4.3)."""
    moving_threshold: float = 0.1
    """Colour difference (any channel, images in [0, 1]) from a held-out video's temporal median
    above which a pixel counts as moving, for `psnr_dynamic` (metrics.moving_pixel_masks)."""
    lpips_net: LpipsNet = "alex"
    """LPIPS backbone."""
    lpips_weights: Optional[Path] = None
    """Local checkpoint of the LPIPS backbone (torchvision state dict); default: the torch hub cache.
    Without either, LPIPS is reported as unavailable."""
    show_refined_train_cameras: bool = True
    """When loaded for viewing/rendering, move the training cameras to their refined poses and times."""


def refined_times(model: Model, cameras: Cameras, video_index: Int[Tensor, "N"]) -> Optional[Float[Tensor, "N 1"]]:
    """Training camera times shifted by the model's learned per-video deltas (if it has them)."""
    offsets = getattr(model, "time_offsets", None)
    if cameras.times is None or offsets is None:
        return cameras.times
    with torch.no_grad():
        return offsets.shifted_times(cameras.times, video_index.reshape(-1).to(cameras.times.device))


def allow_numpy_scalars_in_checkpoints() -> None:
    """Lets `torch.load` (weights-only by default since torch 2.6) read nerfstudio 1.1.5 checkpoints.

    nerfstudio's exponential-decay scheduler computes its lr factor with numpy, so every
    checkpoint's scheduler state holds numpy float64 scalars, and nerfstudio 1.1.5 calls
    `torch.load` without `weights_only=False` (ns-eval, ns-viewer, ns-render, resuming ns-train):
    all of them fail with "Weights only load failed ... numpy.core.multiarray.scalar". Allowing
    numpy's scalar and dtype reconstructors (data only, no code) fixes that. Called when the
    pipeline is built, which nerfstudio always does before it loads a checkpoint."""
    import numpy as np

    allowed: list = [np.dtype, type(np.dtype(np.float64)), type(np.dtype(np.float32)), type(np.dtype(np.int64))]
    for module_name in ("numpy.core.multiarray", "numpy._core.multiarray"):
        try:
            module = __import__(module_name, fromlist=["scalar"])
        except ImportError:
            continue
        allowed.append(module.scalar)
    torch.serialization.add_safe_globals(allowed)


def distributed_model(model: Model) -> Model:
    """`model` wrapped for DDP over the default process group, on CUDA (NCCL) and on CPU (gloo).

    nerfstudio's VanillaPipeline passes `device_ids=[local_rank]`, which torch refuses for a CPU
    module; here the device is given on CUDA only. `find_unused_parameters` stays on: frozen pose
    and offset corrections and the proposal networks' no-grad steps leave parameters without a
    gradient in some steps (tests/model/test_ddp.py)."""
    device_ids = [model.device] if model.device.type == "cuda" else None
    return cast(Model, DDP(model, device_ids=device_ids, find_unused_parameters=True))


class HumanSyncPipeline(VanillaPipeline):
    """VanillaPipeline whose evaluation follows the paper (test-time optimisation, common span)."""

    config: HumanSyncPipelineConfig

    def __init__(
        self,
        config: HumanSyncPipelineConfig,
        device: str,
        test_mode: Literal["test", "val", "inference"] = "val",
        world_size: int = 1,
        local_rank: int = 0,
        grad_scaler: Optional[GradScaler] = None,
    ):
        # VanillaPipeline.__init__'s setup without its DDP wrapping (device_ids=[local_rank] and
        # dist.barrier(device_ids=...), which fail on CPU): the same data manager and model, then
        # distributed_model. Its seed points are skipped: the humansync dataparser has none.
        allow_numpy_scalars_in_checkpoints()
        Pipeline.__init__(self)
        self.config = config
        self.test_mode = test_mode
        self.datamanager = config.datamanager.setup(device=device, test_mode=test_mode, world_size=world_size, local_rank=local_rank)
        self.datamanager.to(device)
        dataset = self.datamanager.train_dataset
        if dataset is None:
            raise RuntimeError("humansync pipeline: the data manager loaded no training dataset")
        self._model = config.model.setup(
            scene_box=dataset.scene_box, num_train_data=len(dataset), metadata=dataset.metadata, device=device, grad_scaler=grad_scaler
        )
        self.model.to(device)
        self.world_size = world_size
        if world_size > 1:
            self._model = distributed_model(self._model)
            comms.synchronize()
        self._image_metrics: Optional[ImageMetrics] = None
        self.test_time_corrections: Dict[str, VideoCorrection] = {}
        """Each held-out video's correction from the last evaluation, by video name."""

    @property
    def image_metrics(self) -> ImageMetrics:
        """Built on first use, so the LPIPS availability line is printed once, at evaluation."""
        if self._image_metrics is None:
            self._image_metrics = ImageMetrics(self.config.lpips_net, self.config.lpips_weights)
        return self._image_metrics

    # ----- loading -----
    def load_pipeline(self, loaded_state: Dict[str, Any], step: int) -> None:
        super().load_pipeline(loaded_state, step)
        if self.test_mode != "val" and self.config.show_refined_train_cameras:
            self.apply_refined_train_cameras()

    def apply_refined_train_cameras(self) -> None:
        """Writes the refined poses and times into the training dataset's cameras (inference only:
        during training the model applies the corrections to the rays itself)."""
        if self.test_mode == "val":
            raise RuntimeError("refined training cameras are for viewing; training applies corrections to rays")
        dataset = self.datamanager.train_dataset
        if dataset is None:
            return
        cameras = dataset.cameras
        video_index = torch.as_tensor(dataset.metadata["video_index"]).reshape(-1)
        cameras.camera_to_worlds = refined_camera_to_worlds(self.model, cameras)
        cameras.times = refined_times(self.model, cameras, video_index)
        cameras.metadata = without_train_image_index(cameras.metadata)  # refined: never refine again

    # ----- evaluation -----
    def _eval_frames(self) -> Dict[int, Int[Tensor, "n"]]:
        """Eval image indices per held-out video, restricted to the common span when configured."""
        dataset = self.datamanager.eval_dataset
        if dataset is None or len(dataset) == 0:
            raise RuntimeError("humansync evaluation needs an eval dataset (a held-out video); none was loaded")
        video_index = torch.as_tensor(dataset.metadata["video_index"]).reshape(-1)
        keep = torch.ones_like(video_index, dtype=torch.bool)
        train = self.datamanager.train_dataset
        if self.config.restrict_to_common_span and dataset.cameras.times is not None and train is not None:
            train_times = train.cameras.times
            if train_times is not None:
                start, end = common_time_span(train_times.reshape(-1), torch.as_tensor(train.metadata["video_index"]).reshape(-1))
                times = dataset.cameras.times.reshape(-1)
                keep = (times >= start - 1e-6) & (times <= end + 1e-6)
        frames = {int(v): torch.nonzero((video_index == v) & keep).reshape(-1) for v in torch.unique(video_index)}
        return {v: idx for v, idx in frames.items() if idx.numel() > 0}

    def _ground_truth(self, indices: Tensor) -> Float[Tensor, "n H W 3"]:
        dataset = self.datamanager.eval_dataset
        images = [dataset[int(i)]["image"] for i in indices]
        sizes = {tuple(image.shape[:2]) for image in images}
        if len(sizes) != 1:
            raise ValueError(f"frames of one video must share one image size, got {sorted(sizes)}")
        stacked = torch.stack(images).float()
        if stacked.shape[-1] == 4:
            renderer = getattr(self.model, "renderer_rgb", None)
            stacked = renderer.blend_background(stacked) if renderer is not None else stacked[..., :3]
        return stacked

    def _initial_correction(self, video: int) -> VideoCorrection:
        """Start from the mean of the training videos' learned time deltas: a drift they share is a
        shift of the scene's time axis, which the held-out video's frames must follow too."""
        offsets = getattr(self.model, "time_offsets", None)
        train_videos = getattr(self.model, "train_videos", None)
        if offsets is None or not train_videos:
            return VideoCorrection.identity()
        return VideoCorrection.identity(float(offsets.normalized_deltas()[train_videos].mean()))

    def _score_video(
        self,
        cameras: Cameras,
        images: Tensor,
        moving: Optional[Tensor],
        correction: VideoCorrection,
        output_path: Optional[Path],
        prefix: str,
    ) -> List[Dict[str, float]]:
        results = []
        moved = corrected_cameras(cameras, correction)
        for i in range(moved.shape[0]):
            outputs = self.model.get_outputs_for_camera(moved[i : i + 1].to(self.device))
            rgb = outputs["rgb"].clamp(0, 1)
            results.append(self.image_metrics(rgb, images[i].to(rgb.device), None if moving is None else moving[i]))
            if output_path is not None:
                pair = torch.cat([images[i].to(rgb.device), rgb], dim=1)
                vutils.save_image(pair.permute(2, 0, 1).cpu(), output_path / f"{prefix}_{i:04d}.png")
        return results

    def evaluate_held_out_videos(self, output_path: Optional[Path] = None) -> Dict[str, List[Dict[str, float]]]:
        """Test-time optimisation then per-frame metrics of every held-out video.

        Returns:
            per-frame metric dicts under "after" (and "before" with `report_before_tto`).
        """
        dataset = self.datamanager.eval_dataset
        frames = self._eval_frames()
        names = list(dataset.metadata.get("video_names", []))
        moving_videos = {int(v) for v in dataset.metadata.get("moving_videos", [])}
        tto = self.config.test_time_optimization
        results: Dict[str, List[Dict[str, float]]] = {"after": [], "before": []}
        if output_path is not None:
            output_path.mkdir(parents=True, exist_ok=True)
        was_training = self.training
        self.eval()
        columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=True) as progress:
            for video, indices in frames.items():
                name = names[video] if video < len(names) else f"video{video}"
                cameras = dataset.cameras[indices]
                images = self._ground_truth(indices)
                static = video not in moving_videos and len(indices) >= 3  # a moving camera has no fixed background
                moving = moving_pixel_masks(images, self.config.moving_threshold) if static else None
                initial = self._initial_correction(video)
                if self.config.report_before_tto:
                    results["before"] += self._score_video(cameras, images, moving, initial, None, "")
                task = progress.add_task(f"[green]test-time optimisation of {name}", total=tto.steps)
                correction = optimize_video(self.model, cameras, images, tto, initial, lambda: progress.advance(task))
                self.test_time_corrections[name] = correction
                results["after"] += self._score_video(cameras, images, moving, correction, output_path, f"eval_{name}")
                CONSOLE.print(
                    f"held-out {name}: {len(indices)} frames, test-time correction {correction.rotation_rad * 57.2958:.3f}°, "
                    f"{correction.translation:.4f} scene units, time delta {correction.time_delta:+.5f} (normalised)"
                )
        self.train(was_training)
        return results

    def get_average_eval_image_metrics(
        self, step: Optional[int] = None, output_path: Optional[Path] = None, get_std: bool = False
    ) -> Dict[str, float]:
        """Mean (and std) of PSNR, SSIM, LPIPS (when available) and `psnr_dynamic` (over the frames
        where something moves) over the held-out frames after test-time optimisation; `*_before_tto`
        before it; `num_eval_frames`."""
        per_frame = self.evaluate_held_out_videos(output_path)
        summary: Dict[str, float] = {"num_eval_frames": float(len(per_frame["after"]))}
        for phase, suffix in (("after", ""), ("before", "_before_tto")):
            rows = per_frame[phase]
            for key in sorted({key for row in rows for key in row}):
                values = torch.tensor([row[key] for row in rows if key in row], dtype=torch.float64)
                summary[f"{key}{suffix}"] = float(values.mean())
                if get_std:
                    summary[f"{key}{suffix}_std"] = float(values.std()) if len(values) > 1 else 0.0
        return summary

