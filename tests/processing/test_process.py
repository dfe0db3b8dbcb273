"""humansync-process: frames + transforms.json from videos or frame folders, bad videos left out
with a reason, and the output loads back through humansync-data."""

import dataclasses
import json
from pathlib import Path

import av
import numpy as np
import pytest
import tyro
from PIL import Image

from humansync_ns.calibration.calibration_io import CalibrationFormatError, load_calibration, save_calibration
from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.motion.format import MotionTrack, save_motion
from humansync_ns.processing.frames import extract_frames, frame_size
from humansync_ns.processing.procedural import procedural_calibration, procedural_frame, write_procedural_frames
from humansync_ns.processing.process import ProcessError, process_capture
from humansync_ns.tools.process import Process

OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


def _motion(name, num_frames, fps):
    rng = np.random.default_rng(len(name))
    return MotionTrack(name=name, fps=fps, valid=np.ones((num_frames, 1), bool), joints=rng.normal(size=(num_frames, 1, 24, 3)))


def _write_mp4(path, frames, fps):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"crf": "0"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture
def capture(tmp_path):
    """4 videos of 30×22 (odd downscales), frames on disk, a calibration that excluded cam02, no motion for cam03."""
    calibration = procedural_calibration(num_videos=4, num_frames=6, fps=10.0, width=30, height=22, seed=1, moving_last=True)
    write_procedural_frames(calibration, tmp_path / "videos")
    for video in calibration.videos[:3]:
        save_motion(_motion(video.name, video.num_frames, video.fps), tmp_path / "motion" / f"{video.name}.npz")
    calibration.excluded = [{"name": "cam02", "reason": "too few valid frames"}]
    calibration.videos = [v for v in calibration.videos if v.name != "cam02"]
    save_calibration(calibration, tmp_path / "calibration.json")
    return tmp_path, calibration


def test_process_writes_frames_transforms_and_reports_exclusions(capture):
    root, calibration = capture
    report = process_capture(root / "videos", root / "data", motion_dir=root / "motion",
                             calibration_path=root / "calibration.json", ground_truth_path=root / "calibration.json",
                             num_downscales=2)
    assert report.included == ["cam00", "cam01"]
    reasons = {e["name"]: e["reason"] for e in report.excluded}
    assert set(reasons) == {"cam02", "cam03"}
    assert "calibration" in reasons["cam02"] and "too few valid frames" in reasons["cam02"]
    assert "no motion file" in reasons["cam03"]
    transforms = json.loads((root / "data" / "transforms.json").read_text())
    assert [v["name"] for v in transforms["videos"]] == ["cam00", "cam01"]
    assert {e["name"] for e in transforms["excluded"]} == {"cam02", "cam03"}
    assert not (root / "data" / "images" / "cam03").exists(), "left-out videos get no frames"
    assert transforms["ground_truth"] == "ground_truth.json" and (root / "data" / "ground_truth.json").is_file()
    assert load_calibration(root / "data" / "calibration.json").reference == "cam00"
    for frame in transforms["frames"]:
        video = calibration.video(transforms["videos"][frame["video"]]["name"])
        i = frame["frame_index"]
        assert frame["file_path"] == f"images/{video.name}/frame_{i:06d}.png"
        assert frame["local_time"] == pytest.approx(i / video.fps)
        np.testing.assert_allclose(frame["transform_matrix"], video.camera_to_world_at(i) @ OPENCV_TO_OPENGL)
        assert (frame["fl_x"], frame["cx"], frame["w"], frame["h"]) == (video.K[0, 0], video.K[0, 2], 30, 22)
        for factor, size in ((1, (30, 22)), (2, (15, 11)), (4, (7, 5))):
            folder = "images" if factor == 1 else f"images_{factor}"
            assert Image.open(root / "data" / folder / video.name / f"frame_{i:06d}.png").size == size
    video0 = transforms["videos"][0]
    assert (video0["fps"], video0["time_offset_s"], video0["moving"]) == (10.0, 0.0, False)
    # and it loads back, at the smallest downscale too (floor sizes, as ns-process-data)
    outputs = HumanSyncDataParserConfig(data=root / "data", downscale_factor=4).setup().get_dataparser_outputs("train")
    assert outputs.cameras.width[0, 0].item() == 7 and outputs.cameras.height[0, 0].item() == 5
    assert outputs.metadata["video_names"] == ["cam00", "cam01"]
    assert outputs.metadata["ground_truth"]["time_offset_s"][1].item() == pytest.approx(calibration.videos[1].time_offset_s)


def test_mp4_frames_are_extracted_at_native_rate(tmp_path):
    frames = [procedural_frame(0, t / 12.0, 32, 24) for t in range(9)]
    _write_mp4(tmp_path / "cam00.mp4", frames, fps=12)
    extracted = extract_frames(tmp_path / "cam00.mp4", tmp_path / "data", "cam00", num_downscales=1)
    assert (extracted.num_frames, extracted.width, extracted.height) == (9, 32, 24)
    assert extracted.container_fps == pytest.approx(12.0)
    assert frame_size(tmp_path / "cam00.mp4") == (32, 24)
    for i in (0, 8):
        decoded = np.asarray(Image.open(tmp_path / "data" / "images" / "cam00" / f"frame_{i:06d}.png"), dtype=float)
        assert np.abs(decoded - frames[i]).mean() < 8.0, f"frame {i} does not match its source"
    assert len(list((tmp_path / "data" / "images_2" / "cam00").glob("*.png"))) == 9


def test_unreadable_video_and_wrong_aspect_are_left_out(capture):
    root, calibration = capture
    (root / "videos" / "cam01" / "frame_000003.png").write_bytes(b"broken")
    wide = dataclasses.replace(calibration.video("cam00"), width=60, height=30)
    calibration.videos[0] = wide
    save_calibration(calibration, root / "calibration.json")
    with pytest.raises(ProcessError, match="no usable video") as info:
        process_capture(root / "videos", root / "data", motion_dir=root / "motion", calibration_path=root / "calibration.json")
    message = str(info.value)
    assert "frame_000003.png: cannot read frame" in message and "'cam01'" in message
    assert "different aspect ratio" in message and "'cam00'" in message
    assert "no motion file" in message and "'cam03'" in message


def test_intrinsics_follow_a_uniform_resize(capture):
    root, calibration = capture
    calibration.videos[0] = dataclasses.replace(calibration.videos[0], width=60, height=44, K=calibration.videos[0].K * [[2], [2], [1]])
    save_calibration(calibration, root / "calibration.json")
    report = process_capture(root / "videos", root / "data", calibration_path=root / "calibration.json", num_downscales=0)
    video0 = json.loads((root / "data" / "transforms.json").read_text())["videos"][0]
    assert (video0["w"], video0["fl_x"]) == (30, pytest.approx(calibration.videos[0].K[0, 0] / 2))
    assert any("intrinsics scaled by 0.5" in note for note in report.notes)


def test_cli_parses_and_runs(capture, capsys):
    root, _ = capture
    args = ["--videos", str(root / "videos"), "--output", str(root / "cli"), "--calibration", str(root / "calibration.json"),
            "--num-downscales", "0", "--max-frames", "3"]
    report = tyro.cli(Process, args=args).main()
    assert report.num_frames == {"cam00": 3, "cam01": 3, "cam03": 3}
    assert "cam02" in capsys.readouterr().out


def test_needs_motion_or_calibration(tmp_path):
    with pytest.raises(ProcessError, match="--motion-dir.*--calibration"):
        process_capture(tmp_path, tmp_path / "out")


def test_plain_nerfstudio_reads_the_output(capture):
    """transforms.json stays nerfstudio's format: the stock `nerfstudio-data` parser reads it."""
    from nerfstudio.data.dataparsers.nerfstudio_dataparser import NerfstudioDataParserConfig

    root, _ = capture
    process_capture(root / "videos", root / "data", calibration_path=root / "calibration.json", num_downscales=0)
    outputs = NerfstudioDataParserConfig(data=root / "data", downscale_factor=1, eval_mode="all").setup().get_dataparser_outputs("train")
    assert len(outputs.image_filenames) == 3 * 6
    assert outputs.cameras.width[0, 0].item() == 30


def _snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("overwrite", [False, True])
def test_output_overlapping_the_inputs_is_refused(capture, overwrite):
    """`--videos d/images --output d` used to delete the input frames, then fail."""
    root, _ = capture
    (root / "d").mkdir()
    (root / "videos").rename(root / "d" / "images")
    before = _snapshot(root / "d")
    with pytest.raises(ProcessError, match=r"would write .*images/cam00, which overlaps its input --videos .*d/images"):
        process_capture(root / "d" / "images", root / "d", calibration_path=root / "calibration.json", overwrite=overwrite)
    assert _snapshot(root / "d") == before
    with pytest.raises(ProcessError, match="calibration.json, which overlaps its input --calibration"):
        process_capture(root / "d" / "images", root, calibration_path=root / "calibration.json", overwrite=True)


def test_non_empty_output_needs_overwrite_and_only_its_files_are_replaced(capture):
    root, _ = capture
    data = root / "data"
    (data / "images" / "cam00").mkdir(parents=True)
    (data / "notes.txt").write_text("mine")
    (data / "images" / "cam00" / "frame_000099.png").write_bytes(b"an earlier frame")
    before = _snapshot(data)
    with pytest.raises(ProcessError, match=r"--output .*data: folder is not empty \(images, notes.txt\).*--overwrite"):
        process_capture(root / "videos", data, calibration_path=root / "calibration.json", num_downscales=0)
    assert _snapshot(data) == before
    report = process_capture(root / "videos", data, calibration_path=root / "calibration.json", num_downscales=0, overwrite=True)
    after = _snapshot(data)
    assert after[Path("notes.txt")] == b"mine"
    assert after[Path("images/cam00/frame_000099.png")] == b"an earlier frame"  # never deleted
    assert any(note.startswith("cam00: 1 file(s) in its frame folders not written by this run") for note in report.notes)
    listed = {frame["file_path"] for frame in json.loads((data / "transforms.json").read_text())["frames"]}
    assert "images/cam00/frame_000099.png" not in listed and "images/cam00/frame_000005.png" in listed


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"ground_truth_path": "truth.json"}, CalibrationFormatError, "truth.json: missing key 'reference'"),
        ({"num_downscales": 10}, ProcessError, r"--num-downscales 10: images_1024 of .*cam00 \(30x22\) would be 0x0 pixels; at most 4"),
        ({"num_downscales": -1}, ProcessError, "--num-downscales must be >= 0, got -1"),
        ({"max_frames": 0}, ProcessError, "--max-frames must be >= 1, got 0"),
    ],
)
def test_inputs_are_checked_before_anything_is_written(capture, options, error, message):
    root, _ = capture
    (root / "truth.json").write_text("{}")
    if "ground_truth_path" in options:
        options = {**options, "ground_truth_path": root / options["ground_truth_path"]}
    with pytest.raises(error, match=message):
        process_capture(root / "videos", root / "data", calibration_path=root / "calibration.json", **options)
    assert not (root / "data").exists()
