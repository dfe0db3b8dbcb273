"""Renders a time-aware camera path with a loaded pipeline and writes an mp4 (PyAV, no ffmpeg
binary needed) or numbered PNGs; and picks keyframes from the capture's (refined) cameras."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch
from jaxtyping import Float
from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor

from nerfstudio.cameras.cameras import Cameras
from nerfstudio.pipelines.base_pipeline import Pipeline
from nerfstudio.utils import colormaps

from humansync_ns.dataparser.normalization import TimeNormalization, common_time_span
from humansync_ns.render.camera_paths import order_by_azimuth, rig_up, scene_focus

OutputFormat = Literal["video", "images"]


class RenderInputError(ValueError):
    """A name the trained model or its capture does not have (a video, a rendered output)."""


def to_uint8(image: Float[Tensor, "H W C"]) -> np.ndarray:
    """(H, W, 3) uint8 from a model output: RGB in [0, 1] as is, one channel through a colormap."""
    if image.shape[-1] == 1:
        image = colormaps.apply_colormap(image)
    return (image[..., :3].clamp(0, 1) * 255).round().byte().cpu().numpy()


def write_video(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    """H.264 (yuv420p) mp4 of equally sized uint8 frames; odd sizes are padded by one edge pixel
    (yuv420p needs even width and height)."""
    import av

    if not frames:
        raise ValueError(f"{path}: no frames to write")
    height, width = frames[0].shape[:2]
    pad_h, pad_w = height % 2, width % 2
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width + pad_w, height + pad_h, "yuv420p"
        stream.options = {"crf": "18"}
        for frame in frames:
            if frame.shape[:2] != (height, width):
                raise ValueError(f"{path}: frame of size {frame.shape[:2]} in a video of size {(height, width)}")
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def render_frames(pipeline: Pipeline, cameras: Cameras, output_name: str = "rgb") -> list[np.ndarray]:
    """One uint8 image per camera of `cameras` (each with its own time), with a progress bar."""
    model = pipeline.model
    model.eval()
    frames = []
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        for i in progress.track(range(cameras.shape[0]), description="rendering"):
            outputs = model.get_outputs_for_camera(cameras[i : i + 1].to(pipeline.device))
            if output_name not in outputs:
                raise RenderInputError(f"the model has no output '{output_name}'; it renders {sorted(outputs)}")
            frames.append(to_uint8(outputs[output_name]))
    return frames


def save_frames(frames: list[np.ndarray], output_path: Path, output_format: OutputFormat, fps: float) -> Path:
    """`output_path` as an mp4, or a folder of PNGs named after it (without suffix)."""
    if output_format == "video":
        return write_video(frames, output_path.with_suffix(".mp4"), fps)
    folder = output_path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:05d}.png")
    return folder


@dataclass(frozen=True)
class VideoCameras:
    """Every frame camera of one video of the capture, as loaded (refined for training videos)."""

    name: str
    cameras: Cameras
    """(n,) frames of the video, with times."""

    def at_time(self, time: float) -> Cameras:
        """The frame whose time is closest to `time` (a static video's pose is the same for all)."""
        if self.cameras.times is None:
            return self.cameras[0:1]
        index = int((self.cameras.times.reshape(-1) - time).abs().argmin())
        return self.cameras[index : index + 1]


def capture_cameras(pipeline: Pipeline, include_eval: bool = True) -> list[VideoCameras]:
    """Per-video cameras from the pipeline's datasets, in video-index order."""
    datasets = [pipeline.datamanager.train_dataset]
    if include_eval and getattr(pipeline.datamanager, "eval_dataset", None) is not None:
        datasets.append(pipeline.datamanager.eval_dataset)
    by_video: dict[int, tuple[str, Cameras]] = {}
    for dataset in datasets:
        metadata = dataset.metadata
        if "video_index" not in metadata:
            raise ValueError("humansync rendering needs metadata['video_index'] from the humansync-data dataparser")
        video_index = torch.as_tensor(metadata["video_index"]).reshape(-1)
        names = list(metadata.get("video_names", []))
        for v in torch.unique(video_index).tolist():
            if v not in by_video:
                name = names[v] if v < len(names) else f"video{v}"
                by_video[v] = (name, dataset.cameras[torch.nonzero(video_index == v).reshape(-1)])
    return [VideoCameras(name, cameras) for _, (name, cameras) in sorted(by_video.items())]


def find_video(videos: list[VideoCameras], name: str) -> VideoCameras:
    """The video called `name`; `RenderInputError` naming the capture's videos if there is none."""
    for video in videos:
        if video.name == name:
            return video
    raise RenderInputError(f"no video named '{name}'; the capture has {[v.name for v in videos]}")


def sweep_keyframes(
    videos: list[VideoCameras], time_start: float, time_end: float, order: Literal["azimuth", "index"] = "azimuth"
) -> tuple[Float[Tensor, "K 3 4"], Float[Tensor, "K"], Cameras]:
    """One keyframe per video, visited in azimuth (or index) order, with times linear from
    `time_start` to `time_end`; each keyframe takes the video's frame nearest its time.

    Returns:
        keyframe poses, keyframe times, and the first video's camera (intrinsics template).
    """
    if not videos:
        raise ValueError("no videos to sweep through")
    first = torch.cat([v.cameras.camera_to_worlds[:1] for v in videos])
    if order == "azimuth" and len(videos) >= 2:
        visit = order_by_azimuth(first, scene_focus(first), rig_up(first)).tolist()
    else:
        visit = list(range(len(videos)))
    times = torch.linspace(float(time_start), float(time_end), len(visit))
    poses = torch.stack([videos[v].at_time(float(t)).camera_to_worlds[0] for v, t in zip(visit, times)])
    return poses, times, videos[visit[0]].cameras[0:1]


def training_time_span(pipeline: Pipeline) -> tuple[float, float]:
    """Normalised (start, end) covered by every training video as loaded: the common span at the
    refined offsets in a pipeline loaded for rendering (0..1 at the calibration's offsets)."""
    dataset = pipeline.datamanager.train_dataset
    if dataset.cameras.times is None:
        raise ValueError("the training cameras carry no times: is this a humansync (time-aware) model?")
    return common_time_span(dataset.cameras.times.reshape(-1), torch.as_tensor(dataset.metadata["video_index"]).reshape(-1))


def time_normalization_of(pipeline: Pipeline) -> Optional[TimeNormalization]:
    """The model's seconds ↔ normalised time map (None without the humansync-data dataparser)."""
    values = pipeline.datamanager.train_dataset.metadata.get("time_normalization")
    return None if values is None else TimeNormalization.from_dict(values)
