"""nerfstudio's own `ns-render` on the tiny trained model (session fixture `trained_run`), run through
its command line as a user would, with the `ffmpeg` this package installs (nothing patched): the
mp4s are decoded and the times the field rendered are recorded (normalised, and on the grid)."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nerfstudio.cameras.cameras import Cameras

from humansync_ns.dataparser.normalization import TimeNormalization, common_time_span
from humansync_ns.model.calibration_state import refined_train_cameras
from humansync_ns.render.render_video import to_uint8

pytestmark = pytest.mark.slow


def ns_render(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    """`ns-render ARGS` in this process (its entry point parses `sys.argv`)."""
    from nerfstudio.scripts import render

    monkeypatch.setattr(sys, "argv", ["ns-render", *args])
    render.entrypoint()


@pytest.fixture
def field_times(monkeypatch: pytest.MonkeyPatch) -> list:
    """Distinct normalised times of the samples the fields evaluate, one entry per field call (None:
    no times); the grid times they became go to `field_times.grid`."""
    from humansync_ns.model import kplanes_field

    class Seen(list):
        grid: list

    seen = Seen()
    seen.grid = []
    original = kplanes_field.spacetime_grid_coords

    def recording(positions, times, *args):
        seen.append(None if times is None else torch.unique(times.detach().reshape(-1)).cpu())
        coords, inside = original(positions, times, *args)
        seen.grid.append(torch.unique(coords[..., 3].detach().reshape(-1)).cpu())
        return coords, inside

    monkeypatch.setattr(kplanes_field, "spacetime_grid_coords", recording)
    return seen


def grid_to_seconds(grid: torch.Tensor, pipeline) -> torch.Tensor:
    """Global seconds of grid times (docs/conventions.md), from the loaded model's metadata."""
    norm = TimeNormalization.from_dict(pipeline.datamanager.train_dataset.metadata["time_normalization"])
    return norm.grid_t0_s + (grid.double() + 1.0) / 2.0 * norm.grid_span_s


def common_span_s(trained_run) -> tuple[float, float]:
    """Global seconds every training video covers, from the calibration the data was made with
    (the last video is held out)."""
    videos = trained_run.calibration.videos[:-1]
    return (max(v.time_offset_s for v in videos), min(v.time_offset_s + (v.num_frames - 1) / v.fps for v in videos))


def decoded_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def nerfstudio_path_frame_shape(camera) -> tuple[int, int, int]:
    """nerfstudio's spiral and interpolate paths keep only the principal point, so their frames are
    (2 cy) x (2 cx) pixels."""
    return (int(2 * float(camera.cy)), int(2 * float(camera.cx)), 3)


def original_train_cameras(pipeline):
    return pipeline.datamanager.dataparser.get_dataparser_outputs(split="train").cameras


def common_span(pipeline) -> tuple[float, float]:
    cameras = original_train_cameras(pipeline)
    return common_time_span(cameras.times.reshape(-1), cameras.metadata["video_index"].reshape(-1))


def test_ffmpeg_is_found_on_a_path_without_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism alone: from an empty PATH, importing the plugin's helper finds the
    environment's `ffmpeg` console script, and it runs imageio-ffmpeg's binary."""
    import shutil
    import subprocess

    from humansync_ns.render.ffmpeg import find_environment_ffmpeg

    monkeypatch.setenv("PATH", "")
    find_environment_ffmpeg()
    found = shutil.which("ffmpeg")
    assert found is not None, f"no ffmpeg after find_environment_ffmpeg; PATH={os.environ['PATH']!r}"
    result = subprocess.run([found, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "libx264" in result.stdout, "mediapy encodes H.264"


def test_ns_render_spiral_writes_a_video_through_time(trained_run, loaded, tmp_path: Path, monkeypatch, field_times) -> None:
    output = tmp_path / "spiral.mp4"
    ns_render(monkeypatch, "spiral", "--load-config", str(trained_run.config_path), "--output-path", str(output),
              "--seconds", "0.5", "--frame-rate", "12")
    frames = decoded_frames(output)
    _, pipeline = loaded
    camera = pipeline.datamanager.eval_dataset.cameras[0]
    assert len(frames) == 6
    assert frames[0].shape == nerfstudio_path_frame_shape(camera)
    # nerfstudio's spiral runs through the normalised range 0..1, one time per frame ...
    per_frame = sorted({round(float(t), 6) for times in field_times for t in times})
    assert per_frame == pytest.approx(np.linspace(0.0, 1.0, 6).tolist(), abs=1e-6)
    # ... which the field reads at exactly the training videos' common span, in seconds
    seconds = grid_to_seconds(torch.cat(field_times.grid), pipeline)
    start, end = common_span_s(trained_run)
    assert (float(seconds.min()), float(seconds.max())) == pytest.approx((start, end), abs=1e-5)
    assert len({round(float(s), 5) for s in seconds}) == 6


def test_ns_render_interpolate_renders_inside_the_common_span(trained_run, loaded, tmp_path: Path, monkeypatch, field_times) -> None:
    """nerfstudio 1.1.5's interpolate builds cameras without times: the model renders them at the
    middle of the training videos' common span, not t = 0 in the time margin."""
    output = tmp_path / "interpolate.mp4"
    ns_render(monkeypatch, "interpolate", "--load-config", str(trained_run.config_path), "--output-path", str(output),
              "--interpolation-steps", "2", "--frame-rate", "12")
    _, pipeline = loaded
    eval_cameras = pipeline.datamanager.eval_dataset.cameras
    frames = decoded_frames(output)
    assert len(frames) == 2 * (eval_cameras.shape[0] - 1)
    assert frames[0].shape == nerfstudio_path_frame_shape(eval_cameras[0])
    start, end = common_span(pipeline)
    assert all(times is not None for times in field_times), "time-less cameras must get a time"
    rendered = torch.cat(field_times)
    assert torch.allclose(rendered, torch.tensor(0.5 * (start + end)), atol=1e-6), (rendered.unique(), start, end)
    start_s, end_s = common_span_s(trained_run)
    seconds = grid_to_seconds(torch.cat(field_times.grid), pipeline)
    assert torch.allclose(seconds, torch.tensor(0.5 * (start_s + end_s), dtype=torch.float64), atol=1e-5)
    # the first frame is the first held-out camera at that time (nerfstudio's frame size)
    first = eval_cameras[0:1]
    camera = Cameras(camera_to_worlds=first.camera_to_worlds, fx=first.fx, fy=first.fy, cx=first.cx, cy=first.cy,
                     times=torch.full((1, 1), 0.5 * (start + end)))
    expected = to_uint8(pipeline.model.get_outputs_for_camera(camera)["rgb"]).astype(float)
    assert np.abs(frames[0].astype(float) - expected).mean() < 3.0, "H.264 at the default quality is close to lossless"


def test_ns_render_dataset_renders_training_views_at_refined_poses_and_times(trained_run, loaded, tmp_path: Path, monkeypatch) -> None:
    ns_render(monkeypatch, "dataset", "--load-config", str(trained_run.config_path), "--output-path", str(tmp_path),
              "--split", "train", "--rendered-output-names", "rgb", "--image-format", "png")
    _, pipeline = loaded
    model = pipeline.model
    outputs = pipeline.datamanager.dataparser.get_dataparser_outputs(split="train")
    root = Path(os.path.commonpath(outputs.image_filenames))
    original = outputs.cameras
    refined = refined_train_cameras(model, original)
    refined_max, refined_mean, original_mean = [], [], []
    for i in range(0, len(outputs.image_filenames), 4):  # every 4th view of each video (12 frames each)
        filename = outputs.image_filenames[i]
        written = np.asarray(Image.open((tmp_path / "train" / "rgb" / filename.relative_to(root)).with_suffix(".png"))).astype(float)
        at_refined = to_uint8(model.get_outputs_for_camera(refined[i : i + 1])["rgb"]).astype(float)
        unmarked = original[i : i + 1]
        unmarked.metadata = {"video_index": unmarked.metadata["video_index"]}  # as given, no refinement
        at_original = to_uint8(model.get_outputs_for_camera(unmarked)["rgb"]).astype(float)
        refined_max.append(np.abs(written - at_refined).max())
        refined_mean.append(np.abs(written - at_refined).mean())
        original_mean.append(np.abs(written - at_original).mean())
    # equal up to the rounding of the two uint8 conversions, and far from the unrefined views
    assert max(refined_max) <= 1.0, f"ns-render dataset vs the refined training views: max {max(refined_max)} grey levels"
    assert np.mean(refined_mean) < 0.1 * np.mean(original_mean), (np.mean(refined_mean), np.mean(original_mean))


def test_ns_render_camera_path_keeps_render_time(trained_run, loaded, tmp_path: Path, monkeypatch, field_times) -> None:
    """camera-path with per-keyframe render_time: frames change with time from one fixed pose, and
    render_time t is the instant t of the way through the training videos' common span."""
    _, pipeline = loaded
    camera = pipeline.datamanager.train_dataset.cameras[0]
    c2w = torch.cat([camera.camera_to_worlds, torch.tensor([[0.0, 0.0, 0.0, 1.0]])]).reshape(-1).tolist()
    fov = math.degrees(2 * math.atan(float(camera.height) / 2 / float(camera.fy)))
    path = {"render_height": int(camera.height), "render_width": int(camera.width), "seconds": 1.0,
            "camera_path": [{"camera_to_world": c2w, "fov": fov, "aspect": 1.0, "render_time": t} for t in (0.1, 0.5, 0.9)]}
    path_file = tmp_path / "camera_path.json"
    path_file.write_text(json.dumps(path))
    ns_render(monkeypatch, "camera-path", "--load-config", str(trained_run.config_path), "--camera-path-filename",
              str(path_file), "--output-path", str(tmp_path / "path"), "--output-format", "images", "--image-format", "png")
    frames = [np.asarray(Image.open(p)).astype(float) for p in sorted((tmp_path / "path").glob("*.png"))]
    assert len(frames) == 3
    assert np.abs(frames[2] - frames[0]).mean() > 0.25, "one pose, render_time 0.1 vs 0.9: frames must differ"
    start, end = common_span_s(trained_run)
    seconds = sorted({round(float(s), 5) for s in grid_to_seconds(torch.cat(field_times.grid), pipeline)})
    assert seconds == pytest.approx([start + t * (end - start) for t in (0.1, 0.5, 0.9)], abs=1e-5)
