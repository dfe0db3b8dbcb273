"""End-to-end on a tiny trained model (session fixture `trained_run`): ns-eval with test-time
optimisation, refined training cameras for the viewer, calibration export round trip, and time-aware
rendering through humansync-render (nerfstudio's own ns-render: test_ns_render.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from humansync_ns.pipeline.humansync_pipeline import HumanSyncPipeline, refined_camera_to_worlds, refined_times
from humansync_ns.pipeline.metrics import psnr
from humansync_ns.pipeline.test_time_optimization import (
    TestTimeOptimizationConfig,
    VideoCorrection,
    corrected_cameras,
    optimize_video,
)

pytestmark = pytest.mark.slow


def original_train_cameras(pipeline):
    """The training cameras as the dataparser made them (before any refinement)."""
    return pipeline.datamanager.dataparser.get_dataparser_outputs(split="train").cameras


def test_ns_eval_reports_psnr_ssim_and_no_fake_lpips(trained_run, tmp_path: Path, capsys) -> None:
    from nerfstudio.scripts.eval import ComputePSNR

    output = tmp_path / "eval.json"
    ComputePSNR(load_config=trained_run.config_path, output_path=output, render_output_path=tmp_path / "renders").main()
    results = json.loads(output.read_text())["results"]
    printed = capsys.readouterr().out
    assert "LPIPS unavailable" in printed
    assert "lpips" not in results, "LPIPS must be absent when its weights are not on disk"
    # held-out cam03, 12 frames at 10 fps, restricted to the training videos' common span
    assert 1 <= results["num_eval_frames"] <= 12
    for key in ("psnr", "ssim", "psnr_before_tto", "ssim_before_tto", "psnr_std", "psnr_dynamic"):
        assert math.isfinite(results[key]), key
    assert 0.0 < results["ssim"] <= 1.0
    assert results["psnr"] >= results["psnr_before_tto"] - 0.5, results
    assert len(list((tmp_path / "renders").glob("eval_cam03_*.png"))) == results["num_eval_frames"]


def test_tto_lowers_error_of_a_perturbed_camera_on_the_trained_model(loaded) -> None:
    """Truth: the trained model's own renders of video cam00 at its refined pose (where the scene
    renders perfectly by construction); the camera is then moved and shifted in time."""
    _, pipeline = loaded
    model = pipeline.model
    dataset = pipeline.datamanager.train_dataset
    rows = torch.nonzero(torch.as_tensor(dataset.metadata["video_index"]) == 0).reshape(-1)[::3]
    cameras = dataset.cameras[rows]
    truth = torch.stack([model.get_outputs_for_camera(cameras[i : i + 1])["rgb"] for i in range(len(rows))])
    perturbation = VideoCorrection(torch.tensor([0.03, -0.02, 0.02, 0.015, 0.01, -0.02]), time_delta=0.03)
    perturbed = corrected_cameras(cameras, perturbation)
    render = lambda cams: torch.stack([model.get_outputs_for_camera(cams[i : i + 1])["rgb"] for i in range(cams.shape[0])])  # noqa: E731
    before = float(psnr(render(perturbed), truth))
    frame = float(model.time_offsets.units_per_parameter[0])  # cam00's frame in normalised time
    config = TestTimeOptimizationConfig(steps=60, rays_per_batch=512, pose_lr=2e-3, time_lr_frames=2e-3 / frame)
    correction = optimize_video(model, perturbed, truth, config)
    after = float(psnr(render(corrected_cameras(perturbed, correction)), truth))
    assert after > before + 1.0, f"PSNR before {before:.2f} dB, after {after:.2f} dB"
    assert correction.loss_after < correction.loss_before


def test_viewer_shows_time_slider_and_refined_training_cameras(loaded) -> None:
    _, pipeline = loaded
    assert isinstance(pipeline, HumanSyncPipeline)
    assert pipeline.datamanager.includes_time, "the viewer's time slider needs includes_time"
    original = original_train_cameras(pipeline)
    shown = pipeline.datamanager.train_dataset.cameras
    expected = refined_camera_to_worlds(pipeline.model, original)
    assert torch.allclose(shown.camera_to_worlds, expected, atol=1e-6)
    moved = (shown.camera_to_worlds - original.camera_to_worlds).abs().max()
    assert float(moved) > 1e-5, "after training with poses refined the frustums must move"
    video_index = torch.as_tensor(pipeline.datamanager.train_dataset.metadata["video_index"])
    assert torch.allclose(shown.times, refined_times(pipeline.model, original, video_index))


def test_viewer_draws_frustums_at_refined_poses(loaded, tmp_path: Path) -> None:
    """nerfstudio's own viewer (as ns-viewer builds it) places each frustum at the refined pose."""
    from nerfstudio.configs.base_config import ViewerConfig
    from nerfstudio.viewer.viewer import VISER_NERFSTUDIO_SCALE_RATIO, Viewer

    _, pipeline = loaded
    viewer = Viewer(ViewerConfig(num_rays_per_chunk=1024, max_num_display_images=8), log_filename=tmp_path / "viewer_log",
                    datapath=tmp_path, pipeline=pipeline)
    try:
        assert viewer.include_time
        viewer.init_scene(train_dataset=pipeline.datamanager.train_dataset, train_state="completed")
        refined = refined_camera_to_worlds(pipeline.model, original_train_cameras(pipeline))
        for idx, handle in viewer.camera_handles.items():
            expected = refined[idx, :3, 3].numpy() * VISER_NERFSTUDIO_SCALE_RATIO
            assert np.allclose(handle.position, expected, atol=1e-4), f"frustum {idx}"
    finally:
        viewer.viser_server.stop()


def test_live_viewer_frustums_follow_refined_poses(loaded) -> None:
    """While training, nerfstudio's viewer moves each frustum to `c2w_dataparser @ camera_optimizer(idx)`
    (`Viewer.update_camera_poses`, run here as is): that must be the refined pose. The tiny run moves
    its cameras by about 1e-4, so a copy of the model gets corrections of a few degrees on top."""
    import copy
    from types import SimpleNamespace

    import viser.transforms as vtf
    from nerfstudio.viewer.viewer import VISER_NERFSTUDIO_SCALE_RATIO, Viewer

    _, pipeline = loaded
    model = copy.deepcopy(pipeline.model)
    with torch.no_grad():
        adjustment = model.camera_optimizer.pose_adjustment
        adjustment += 0.05 * torch.randn(adjustment.shape, generator=torch.Generator().manual_seed(0))
    original = original_train_cameras(pipeline)
    refined = refined_camera_to_worlds(model, original).numpy()
    indices = range(original.shape[0])
    viewer = SimpleNamespace(  # the state update_camera_poses reads, as init_scene leaves it during training
        pipeline=SimpleNamespace(datamanager=SimpleNamespace(), model=model),
        camera_handles={i: SimpleNamespace(position=None, wxyz=None) for i in indices},
        original_c2w={i: original.camera_to_worlds[i].numpy() for i in indices},
    )
    Viewer.update_camera_poses(viewer)
    for i in indices:
        handle = viewer.camera_handles[i]
        expected_wxyz = (vtf.SO3.from_matrix(refined[i, :3, :3]) @ vtf.SO3.from_x_radians(np.pi)).wxyz
        assert np.allclose(handle.position, refined[i, :3, 3] * VISER_NERFSTUDIO_SCALE_RATIO, atol=1e-4), f"frustum {i}"
        assert min(np.abs(handle.wxyz - expected_wxyz).max(), np.abs(handle.wxyz + expected_wxyz).max()) < 1e-5, f"frustum {i}"


def test_export_round_trips_through_the_dataparser(trained_run, loaded, tmp_path: Path) -> None:
    from humansync_ns.calibration.calibration_io import load_calibration
    from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
    from humansync_ns.dataparser.normalization import apply_scene_transform
    from humansync_ns.export.calibration_export import export_refined_calibration

    _, pipeline = loaded
    calibration_path, transforms_path = export_refined_calibration(pipeline, tmp_path / "export")
    model = pipeline.model
    names = model.video_names
    offsets = model.time_offsets.offsets_s().double().numpy()
    assert np.abs(model.time_offsets.deltas_s().numpy()).max() > 1e-4, "training must have moved the offsets"

    # calibration.json: same format as the calibration stage, reference at 0, refined offsets
    calibration = load_calibration(calibration_path)
    assert calibration.reference == "cam00"
    exported = np.array([calibration.video(n).time_offset_s for n in names])
    assert exported[0] == 0.0
    train = model.train_videos
    assert np.allclose(exported[train] - exported[0], offsets[train] - offsets[0], atol=1e-6)

    # transforms.json loads through humansync-data: same offsets and, in the scene box of the
    # trained model, exactly the refined poses of every training frame
    dataparser = HumanSyncDataParserConfig(data=transforms_path).setup()
    reloaded = dataparser.capture.data
    assert np.allclose(reloaded.time_offset_s, exported, atol=1e-9)
    meta = pipeline.datamanager.train_dataset.metadata
    transform, scale = np.asarray(meta["dataparser_transform"], dtype=np.float64), float(meta["dataparser_scale"])
    scene = apply_scene_transform(reloaded.camera_to_world_opengl, transform, scale)
    original = original_train_cameras(pipeline)
    refined = refined_camera_to_worlds(model, original).double().numpy()
    train_rows = np.flatnonzero(np.isin(reloaded.video_index, train))
    assert len(train_rows) == refined.shape[0]
    assert np.allclose(scene[train_rows], refined, atol=1e-5)
    # ... and the calibration.json poses are the transforms.json poses in OpenCV
    for v, name in enumerate(names):
        pose_cv = calibration.video(name).camera_to_world
        pose_gl = reloaded.camera_to_world_opengl[reloaded.frames_of(v)[0]]
        assert np.allclose(pose_cv @ np.diag([1.0, -1.0, -1.0, 1.0]), pose_gl, atol=1e-9), name

    # per-frame synchronized times: the model's refined normalised times of the training frames
    raw = json.loads(transforms_path.read_text())
    by_key = {(f["video"], f["frame_index"]): f for f in raw["frames"]}
    video_index = meta["video_index"].tolist()
    frame_index = meta["frame_index"].tolist()
    times = refined_times(model, original, meta["video_index"]).reshape(-1)
    written = torch.tensor([by_key[(v, f)]["time"] for v, f in zip(video_index, frame_index)], dtype=torch.float64)
    assert torch.allclose(written, times.double(), atol=1e-5), (
        f"max |written - refined| {float((written - times.double()).abs().max()):.2e}; deltas {model.time_offsets.delta.data}, "
        f"normalisation {meta['time_normalization']}, exported offsets {exported}"
    )
    # the frames still point at the processed images
    assert (transforms_path.parent / raw["frames"][0]["file_path"]).is_file()


def test_export_includes_test_time_refined_held_out_video(loaded, tmp_path: Path) -> None:
    from humansync_ns.export.calibration_export import build_refined_calibration

    _, pipeline = loaded
    pipeline.evaluate_held_out_videos()
    correction = pipeline.test_time_corrections["cam03"]
    assert not pipeline.training, "evaluation must leave a loaded pipeline in eval mode"
    plain = build_refined_calibration(pipeline)
    refined = build_refined_calibration(pipeline, pipeline.test_time_corrections)
    seconds_per_unit = pipeline.model.time_offsets.seconds_per_unit
    shift = refined.video("cam03").time_offset_s - plain.video("cam03").time_offset_s
    assert shift == pytest.approx(correction.time_delta * seconds_per_unit, abs=1e-6)
    for name in ("cam00", "cam01", "cam02"):  # training videos are unaffected
        assert refined.video(name).time_offset_s == pytest.approx(plain.video(name).time_offset_s, abs=1e-9)
    moved = np.linalg.norm(refined.video("cam03").camera_to_world[:3, 3] - plain.video("cam03").camera_to_world[:3, 3])
    assert (moved > 0) == (correction.translation > 0)


def _decoded_frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_humansync_render_fixed_camera_frames_change_with_time(trained_run, tmp_path: Path) -> None:
    from humansync_ns.tools.render import FixedCamera

    folder = FixedCamera(load_config=trained_run.config_path, output_path=tmp_path / "fixed", output_format="images",
                         camera="cam00", num_frames=6).main()
    frames = [np.asarray(Image.open(p)).astype(float) for p in sorted(folder.glob("*.png"))]
    assert len(frames) == 6
    change = np.abs(frames[-1] - frames[0]).mean()
    assert change > 0.25, f"same camera, different times: mean change {change:.3f} grey levels"
    video = FixedCamera(load_config=trained_run.config_path, output_path=tmp_path / "fixed.mp4", camera="cam00",
                        num_frames=5).main()
    assert _decoded_frame_count(video) == 5


def test_humansync_render_seconds_map_the_common_span_to_normalised_0_to_1(trained_run, loaded) -> None:
    """--seconds reads global seconds: the training videos' common span is normalised 0..1."""
    from humansync_ns.tools.render import FixedCamera

    _, pipeline = loaded
    videos = trained_run.calibration.videos[:-1]  # the last video is held out
    start = max(v.time_offset_s for v in videos)
    end = min(v.time_offset_s + (v.num_frames - 1) / v.fps for v in videos)
    command = FixedCamera(load_config=trained_run.config_path, camera="cam00", seconds=True, time_start=start,
                          time_end=end, num_frames=3)
    path, _ = command.build_path(pipeline)
    torch.testing.assert_close(path.times.double(), torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), atol=1e-6, rtol=0)


def test_humansync_render_bullet_time_and_interpolate(trained_run, tmp_path: Path) -> None:
    from humansync_ns.tools.render import BulletTime, Interpolate

    video = BulletTime(load_config=trained_run.config_path, output_path=tmp_path / "bullet.mp4", time=0.5, num_frames=6).main()
    assert _decoded_frame_count(video) >= 6
    video = Interpolate(load_config=trained_run.config_path, output_path=tmp_path / "sweep.mp4", steps_per_camera=2).main()
    assert _decoded_frame_count(video) == 2 * (3 - 1) + 1  # three training cameras
