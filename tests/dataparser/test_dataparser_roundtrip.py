"""Frame i of video v → right local time, normalised global time, pose (after undoing the scene
normalisation) and intrinsics; held-out video absent from training; eval frames in the common span;
normalised time 0..1 is the training videos' common span, and the field's grid time of every
training frame is what it was when normalised time covered the grid."""

import numpy as np
import pytest
import torch

from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.dataparser.normalization import TimeNormalization, common_time_span
from humansync_ns.model.kplanes_field import TimeToGrid, spacetime_grid_coords
from humansync_ns.processing.procedural import procedural_calibration, write_procedural_data_folder
from humansync_ns.synthetic.capture import simulate_capture
from humansync_ns.synthetic.config import SynthConfig
from nerfstudio.data.dataparsers.base_dataparser import transform_poses_to_original_space

OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


def _common_span(videos) -> tuple[float, float]:
    """(start, end) global seconds where every one of `videos` (truth entries) has frames."""
    return (max(v.time_offset_s for v in videos), min(v.time_offset_s + (v.num_frames - 1) / v.fps for v in videos))


def _check_split(outputs, truth, downscale: int, common: tuple[float, float]) -> None:
    meta = outputs.metadata
    cameras = outputs.cameras
    video_index = meta["video_index"].numpy()
    frame_index = meta["frame_index"].numpy()
    assert torch.equal(cameras.metadata["video_index"][:, 0], meta["video_index"])
    poses = transform_poses_to_original_space(
        cameras.camera_to_worlds.double(), outputs.dataparser_transform.double(), outputs.dataparser_scale, "opengl"
    ).numpy()
    for n, (v, i) in enumerate(zip(video_index, frame_index)):
        video = truth.video(meta["video_names"][v])
        local = i / video.fps
        assert meta["local_time_s"][n].item() == pytest.approx(local, abs=1e-9), f"{video.name} frame {i}"
        expected_t = (local + video.time_offset_s - common[0]) / (common[1] - common[0])
        assert cameras.times[n, 0].item() == pytest.approx(expected_t, abs=1e-6), f"{video.name} frame {i}"
        c2w_opengl = video.camera_to_world_at(int(i)) @ OPENCV_TO_OPENGL
        np.testing.assert_allclose(poses[n], c2w_opengl[:3], atol=1e-4, err_msg=f"{video.name} frame {i}")
        K = video.K / downscale
        assert cameras.fx[n, 0].item() == pytest.approx(K[0, 0], rel=1e-5)
        assert cameras.fy[n, 0].item() == pytest.approx(K[1, 1], rel=1e-5)
        assert cameras.cx[n, 0].item() == pytest.approx(K[0, 2], rel=1e-5)
        assert cameras.cy[n, 0].item() == pytest.approx(K[1, 2], rel=1e-5)
        assert (cameras.width[n, 0].item(), cameras.height[n, 0].item()) == (video.width // downscale, video.height // downscale)


@pytest.mark.parametrize("downscale", [1, 2])
def test_procedural_capture_round_trips(procedural_capture, downscale):
    data, truth = procedural_capture
    margin = 0.15
    parser = HumanSyncDataParserConfig(data=data, downscale_factor=downscale, time_margin=margin).setup()
    train = parser.get_dataparser_outputs("train")
    evals = parser.get_dataparser_outputs("val")
    names = train.metadata["video_names"]
    assert names == [v.name for v in truth.videos]
    assert train.metadata["eval_videos"] == [3] and train.metadata["train_videos"] == [0, 1, 2]
    assert 3 not in train.metadata["video_index"].tolist(), "held-out video leaked into training"
    assert set(evals.metadata["video_index"].tolist()) == {3}
    # normalised 0..1 is the training videos' common span; the grid spans all their frames + margin
    common = _common_span(truth.videos[:3])
    global_train = [i / v.fps + v.time_offset_s for v in truth.videos[:3] for i in range(v.num_frames)]
    first, last = min(global_train), max(global_train)
    norm = train.metadata["time_normalization"]
    assert (norm["t0_s"], norm["span_s"]) == pytest.approx((common[0], common[1] - common[0]))
    grid_span = (last - first) / (1 - 2 * margin)
    assert (norm["grid_t0_s"], norm["grid_span_s"]) == pytest.approx((first - margin * grid_span, grid_span))
    assert train.cameras.times.min().item() < -0.1 and train.cameras.times.max().item() > 1.1, "fixture: frames outside the span"
    _check_split(train, truth, downscale, common)
    _check_split(evals, truth, downscale, common)
    assert [p.parent.parent.name for p in train.image_filenames[:1]] == ["images" if downscale == 1 else f"images_{downscale}"]
    # the scene box holds every camera centre
    assert train.cameras.camera_to_worlds[:, :, 3].abs().max().item() <= 1.0 + 1e-5
    gt = train.metadata["ground_truth"]
    np.testing.assert_allclose(gt["time_offset_s"].numpy(), [v.time_offset_s for v in truth.videos])
    offsets_norm = train.metadata["time_offset_init_norm"].numpy()
    np.testing.assert_allclose(offsets_norm, np.array([v.time_offset_s for v in truth.videos]) / (common[1] - common[0]), rtol=1e-5)


def test_eval_frames_lie_in_the_common_span(procedural_capture):
    data, truth = procedural_capture
    parser = HumanSyncDataParserConfig(data=data, eval_videos=("cam01",)).setup()
    evals = parser.get_dataparser_outputs("test")
    starts = [v.time_offset_s for v in truth.videos if v.name != "cam01"]
    ends = [v.time_offset_s + (v.num_frames - 1) / v.fps for v in truth.videos if v.name != "cam01"]
    start, end = max(starts), min(ends)
    cam01 = truth.video("cam01")
    global_times = evals.metadata["local_time_s"].numpy() + cam01.time_offset_s
    assert np.all(global_times >= start - 1e-9) and np.all(global_times <= end + 1e-9)
    expected = [i for i in range(cam01.num_frames) if start - 1e-9 <= i / cam01.fps + cam01.time_offset_s <= end + 1e-9]
    assert evals.metadata["frame_index"].tolist() == expected
    assert len(expected) < cam01.num_frames, "fixture should have eval frames outside the common span"
    # the common span is normalised 0..1 exactly: the training videos' latest start and earliest end
    train = parser.get_dataparser_outputs("train")
    span = common_time_span(train.cameras.times.reshape(-1), train.metadata["video_index"])
    assert span == pytest.approx((0.0, 1.0), abs=1e-6)
    assert evals.cameras.times.min() >= -1e-6 and evals.cameras.times.max() <= 1 + 1e-6


def test_frame_stride_and_eval_by_index(procedural_capture):
    data, _ = procedural_capture
    parser = HumanSyncDataParserConfig(data=data, eval_videos=("0", "2"), frame_stride=3,
                                       restrict_eval_to_common_span=False).setup()
    train = parser.get_dataparser_outputs("train")
    evals = parser.get_dataparser_outputs("val")
    assert train.metadata["train_videos"] == [1, 3]
    assert train.metadata["frame_index"].tolist() == [0, 3, 6, 9, 0, 3, 6, 9]
    assert len(evals.image_filenames) == 24


def test_synthetic_generator_capture_round_trips(tmp_path):
    """The generator's true calibration (mixed 30/24 fps, a moving camera) through process and back."""
    config = SynthConfig(num_cameras=3, moving_camera=True, duration_s=1.0, start_spread_s=0.4, length_jitter_s=0.2,
                         mixed_fps=True, width=32, height=24, render_videos=False)
    truth = simulate_capture(config).ground_truth
    assert truth.videos[-1].is_moving and truth.videos[1].fps != truth.videos[0].fps
    data = write_procedural_data_folder(tmp_path, truth)
    parser = HumanSyncDataParserConfig(data=data, eval_videos=("cam01",), time_margin=0.1).setup()
    train = parser.get_dataparser_outputs("train")
    evals = parser.get_dataparser_outputs("val")
    train_videos = [v for v in truth.videos if v.name != "cam01"]
    assert train.metadata["moving_videos"] == [3]
    np.testing.assert_allclose(train.metadata["fps"].numpy(), [v.fps for v in truth.videos])
    _check_split(train, truth, 1, _common_span(train_videos))
    _check_split(evals, truth, 1, _common_span(train_videos))
    # the truth comes back in the metadata, per video, in the ground truth's world (OpenCV)
    gt = train.metadata["ground_truth"]
    np.testing.assert_allclose(gt["camera_to_world"][3].numpy(), truth.videos[3].camera_to_world)


def test_cameras_generate_rays_with_time_and_video(procedural_capture):
    data, _ = procedural_capture
    outputs = HumanSyncDataParserConfig(data=data).setup().get_dataparser_outputs("train")
    camera = outputs.cameras[5:6]
    rays = camera.generate_rays(camera_indices=0, keep_shape=True)
    assert rays.times.shape == (24, 32, 1)
    assert torch.all(rays.times == outputs.cameras.times[5])
    assert torch.all(rays.metadata["video_index"] == outputs.metadata["video_index"][5])


def test_scene_normalisation_independent_of_split_choice(procedural_capture):
    data, _ = procedural_capture
    a = HumanSyncDataParserConfig(data=data).setup().get_dataparser_outputs("train")
    b = HumanSyncDataParserConfig(data=data, eval_videos=("cam00",)).setup().get_dataparser_outputs("train")
    assert torch.allclose(a.dataparser_transform, b.dataparser_transform) and a.dataparser_scale == b.dataparser_scale


def test_single_video_trains_and_evaluates_on_itself(tmp_path):
    calibration = procedural_calibration(num_videos=1, num_frames=4)
    data = write_procedural_data_folder(tmp_path, calibration)
    parser = HumanSyncDataParserConfig(data=data).setup()
    assert parser.get_dataparser_outputs("train").metadata["eval_videos"] == []
    assert len(parser.get_dataparser_outputs("val").image_filenames) == 4


def test_training_frames_keep_their_grid_time(procedural_capture):
    """The field's grid time of every training frame (float32, as the field computes it) is the one
    it had when normalised time spanned the grid: `2·t − 1`, `t = margin + (1 − 2·margin)(t_global −
    first)/(last − first)`; so training numerics do not move with the common-span normalisation."""
    data, truth = procedural_capture
    margin = 0.1
    train = HumanSyncDataParserConfig(data=data, time_margin=margin).setup().get_dataparser_outputs("train")
    meta = train.metadata
    offsets = np.array([truth.video(name).time_offset_s for name in meta["video_names"]])
    global_s = meta["local_time_s"].numpy() + offsets[meta["video_index"].numpy()]
    first, last = global_s.min(), global_s.max()
    former_times = torch.from_numpy(margin + (1 - 2 * margin) * (global_s - first) / (last - first)).float()
    former_grid = former_times * 2.0 - 1.0
    norm = TimeNormalization.from_dict(meta["time_normalization"])
    positions = torch.zeros(len(global_s), 3)
    coords, _ = spacetime_grid_coords(positions, train.cameras.times, train.scene_box.aabb, None,
                                      TimeToGrid(norm.grid_scale, norm.grid_shift))
    torch.testing.assert_close(coords[:, 3], former_grid, atol=5e-7, rtol=0)
    assert not torch.allclose(train.cameras.times[:, 0], former_times, atol=1e-3), "normalised time did change"
