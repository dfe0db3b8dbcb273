"""Renders every video of a capture and writes it as H.264 mp4 (PyAV) and/or PNG frames.

Per-video appearance degradation (gamma, pixel noise; `SynthConfig.gamma_range`,
`image_noise_sigma`) is applied here, after rendering, so the geometry never depends on it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from humansync_ns.synthetic.renderer import FrameRenderer, render_video

if TYPE_CHECKING:
    from humansync_ns.synthetic.capture import SyntheticCapture


def video_gammas(capture: "SyntheticCapture") -> np.ndarray:
    """(V,) per-video gamma, log-uniform in `gamma_range` (all 1 when the range is (1, 1))."""
    from humansync_ns.synthetic.capture import _STREAM_APPEARANCE, stream_rng

    low, high = capture.config.gamma_range
    rng = stream_rng(capture.config.seed, _STREAM_APPEARANCE)
    return np.exp(rng.uniform(np.log(low), np.log(high), size=len(capture.videos)))


def degrade(color: torch.Tensor, gamma: float, noise_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """(F, H, W, 3) float colours → uint8 after gamma and Gaussian pixel noise."""
    image = color.numpy()  # float32
    if gamma != 1.0:
        image = image ** np.float32(gamma)
    if noise_sigma > 0:
        image = image + (noise_sigma * rng.normal(size=image.shape)).astype(np.float32)
    return np.clip(np.round(image * np.float32(255.0)), 0, 255).astype(np.uint8)


class Mp4Writer:
    """H.264 yuv420p mp4 through PyAV (no system ffmpeg needed)."""

    def __init__(self, path: Path, fps: float, width: int, height: int, crf: int) -> None:
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._container = av.open(str(path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": "fast"}
        self._frame_type = av.VideoFrame

    def write(self, frames: np.ndarray) -> None:
        """(F, H, W, 3) uint8 RGB."""
        for image in frames:
            frame = self._frame_type.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in self._stream.encode(frame):
                self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


def write_png_frames(directory: Path, frames: np.ndarray, first_index: int) -> None:
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    for offset, image in enumerate(frames):
        Image.fromarray(image).save(directory / f"frame_{first_index + offset:06d}.png")


def write_videos(capture: "SyntheticCapture", output_dir: Path, mp4: bool = True, png: bool = False) -> None:
    """Renders all videos of `capture` into `output_dir`/videos (and /frames), with a progress bar."""
    from humansync_ns.synthetic.capture import _STREAM_APPEARANCE, stream_rng

    config = capture.config
    renderer = FrameRenderer(capture.scene, config.width, config.height, capture.people.colors, capture.people.sizes)
    gammas = video_gammas(capture)
    columns = (TextColumn("[bold]render[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("videos", total=sum(v.num_frames for v in capture.videos))
        for index, (video, bodies) in enumerate(zip(capture.videos, capture.video_bodies)):
            progress.update(task, description=video.name)
            noise_rng = stream_rng(config.seed, _STREAM_APPEARANCE, 1, index)
            writer = Mp4Writer(output_dir / "videos" / f"{video.name}.mp4", video.fps, config.width, config.height, config.video_crf) if mp4 else None
            done = 0
            try:
                for batch in render_video(renderer, video.K, video.camera_to_world, bodies.joints):
                    images = degrade(batch.color, float(gammas[index]), config.image_noise_sigma, noise_rng)
                    if writer is not None:
                        writer.write(images)
                    if png:
                        write_png_frames(output_dir / "frames" / video.name, images, done)
                    done += len(images)
                    progress.advance(task, len(images))
            finally:
                if writer is not None:
                    writer.close()
