"""`humansync-render`: novel-view videos of a trained humansync model through time.

Subcommands:
  interpolate    sweeps through the capture's cameras (refined poses) while time runs from start to
                 end; poses *and* times are interpolated (nerfstudio 1.1.5's `ns-render interpolate`
                 drops the times, upstream issue #3418).
  bullet-time    fixed time, camera moving through (or orbiting) the capture's cameras.
  fixed-camera   one video's (refined) pose, time running from start to end.

Times are nerfstudio's normalised times by default (the viewer slider's 0..1, the training videos'
common span); `--seconds` reads them as global seconds (`docs/conventions.md`), mapped through the
model's `time_normalization`. Unset start/end times default to the span covered by every training
video at its refined time offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Union

import torch
import tyro
from typing_extensions import Annotated

from nerfstudio.cameras.cameras import Cameras
from nerfstudio.pipelines.base_pipeline import Pipeline
from nerfstudio.utils.rich_utils import CONSOLE

from humansync_ns.render.camera_paths import (
    CameraPath,
    bullet_time_path,
    fixed_camera_path,
    interpolate_path,
    path_to_cameras,
)
from humansync_ns.render.render_video import (
    OutputFormat,
    capture_cameras,
    find_video,
    render_frames,
    save_frames,
    sweep_keyframes,
    time_normalization_of,
    training_time_span,
)
from humansync_ns.tools.cli_errors import UsageError, run_cli


@dataclass
class _Render:
    load_config: Path
    """The trained model's config.yml (outputs/.../config.yml)."""
    output_path: Path = Path("renders/humansync.mp4")
    """Output mp4 (or, with --output-format images, a folder of that name without the suffix)."""
    output_format: OutputFormat = "video"
    """mp4 video or numbered PNGs."""
    frame_rate: float = 24.0
    """Frames per second of the output video."""
    downscale_factor: float = 1.0
    """Render at 1/N of the cameras' resolution."""
    rendered_output_name: str = "rgb"
    """Model output to render (rgb, depth, accumulation, ...)."""
    seconds: bool = False
    """Read --time/--time-start/--time-end as global seconds instead of normalised time."""
    eval_num_rays_per_chunk: Optional[int] = None
    """Rays per forward pass (default: the config's)."""

    def build_path(self, pipeline: Pipeline) -> tuple[CameraPath, Cameras]:
        """The path and a single template camera for its intrinsics."""
        raise NotImplementedError

    def _time(self, pipeline: Pipeline, value: Optional[float], default: float) -> float:
        if value is None:
            return default
        if not self.seconds:
            return float(value)
        normalization = time_normalization_of(pipeline)
        if normalization is None:
            raise UsageError("--seconds needs the model's time_normalization metadata (humansync-data dataparser)")
        return float(normalization.to_normalized(float(value)))

    def main(self) -> Path:
        from humansync_ns.tools.trained_model import load_trained_model

        _, pipeline, _, _ = load_trained_model(self.load_config, eval_num_rays_per_chunk=self.eval_num_rays_per_chunk, test_mode="test")
        path, template = self.build_path(pipeline)
        cameras = path_to_cameras(path, template)
        if self.downscale_factor != 1.0:
            cameras.rescale_output_resolution(1.0 / self.downscale_factor)
        t = path.times
        CONSOLE.print(f"{len(t)} frames, normalised time {float(t.min()):.4f} → {float(t.max()):.4f}")
        frames = render_frames(pipeline, cameras, self.rendered_output_name)
        written = save_frames(frames, self.output_path, self.output_format, self.frame_rate)
        CONSOLE.print(f"[bold green]wrote {written}")
        return written


@dataclass
class Interpolate(_Render):
    """Sweep through the capture's cameras while time runs from --time-start to --time-end."""

    time_start: Optional[float] = None
    """Time at the first camera (default: start of the training videos' common span)."""
    time_end: Optional[float] = None
    """Time at the last camera (default: end of the common span)."""
    steps_per_camera: int = 12
    """Frames between consecutive cameras."""
    order: Literal["azimuth", "index"] = "azimuth"
    """Visit the cameras in azimuth order around the scene or in video order."""
    include_eval_videos: bool = False
    """Also pass through the held-out video(s) (their calibration pose, not test-time refined)."""

    def build_path(self, pipeline: Pipeline) -> tuple[CameraPath, Cameras]:
        start, end = training_time_span(pipeline)
        videos = capture_cameras(pipeline, include_eval=self.include_eval_videos)
        poses, times, template = sweep_keyframes(
            videos, self._time(pipeline, self.time_start, start), self._time(pipeline, self.time_end, end), self.order
        )
        return interpolate_path(poses, times, self.steps_per_camera, "catmull_rom"), template


@dataclass
class BulletTime(_Render):
    """Freeze time at --time and move the camera through (or around) the capture's cameras."""

    time: Optional[float] = None
    """The frozen time (default: middle of the training videos' common span)."""
    num_frames: int = 48
    """Frames of the camera move."""
    trajectory: Literal["through_cameras", "orbit"] = "through_cameras"
    """Through every training camera (closed loop) or a circle around what the cameras look at."""

    def build_path(self, pipeline: Pipeline) -> tuple[CameraPath, Cameras]:
        start, end = training_time_span(pipeline)
        time = self._time(pipeline, self.time, 0.5 * (start + end))
        videos = capture_cameras(pipeline, include_eval=False)
        poses = [v.at_time(time).camera_to_worlds[0] for v in videos]
        path = bullet_time_path(torch.stack(poses), time, self.num_frames, self.trajectory)
        return path, videos[0].cameras[0:1]


@dataclass
class FixedCamera(_Render):
    """Keep one video's camera and let time run from --time-start to --time-end."""

    camera: str = ""
    """Name of the video whose (refined) camera to use."""
    time_start: Optional[float] = None
    """First time (default: start of the training videos' common span)."""
    time_end: Optional[float] = None
    """Last time (default: end of the common span)."""
    num_frames: int = 48
    """Frames of the video."""

    def build_path(self, pipeline: Pipeline) -> tuple[CameraPath, Cameras]:
        video = find_video(capture_cameras(pipeline, include_eval=True), self.camera)  # an unknown name: one line naming the videos
        start, end = training_time_span(pipeline)
        t0, t1 = self._time(pipeline, self.time_start, start), self._time(pipeline, self.time_end, end)
        template = video.at_time(t0)
        return fixed_camera_path(template.camera_to_worlds[0], t0, t1, self.num_frames), template


Commands = Union[
    Annotated[Interpolate, tyro.conf.subcommand(name="interpolate")],
    Annotated[BulletTime, tyro.conf.subcommand(name="bullet-time")],
    Annotated[FixedCamera, tyro.conf.subcommand(name="fixed-camera")],
]


def entrypoint() -> None:
    """Entry point of `humansync-render`."""
    tyro.extras.set_accent_color("bright_yellow")
    run_cli("humansync-render", Commands)


if __name__ == "__main__":
    entrypoint()
