"""Bad transforms.json files give errors that name the file and the field."""

import json
import shutil

import pytest

from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.dataparser.split import SplitError
from humansync_ns.dataparser.transforms_io import TransformsFormatError, load_transforms


@pytest.fixture
def editable(procedural_capture, tmp_path):
    """A private copy of the procedural data folder and a function that rewrites its transforms.json."""
    data = tmp_path / "data"
    shutil.copytree(procedural_capture[0], data)
    path = data / "transforms.json"

    def edit(change):
        content = json.loads(path.read_text())
        change(content)
        path.write_text(json.dumps(content))
        return data

    return edit


def _drop_video_frames(content, video):
    content["frames"] = [f for f in content["frames"] if f["video"] != video]


BAD_CASES = {
    "no frames": (lambda c: c.update(frames=[]), "'frames'", "no frames"),
    "video without frames": (lambda c: _drop_video_frames(c, 1), "videos[1] ('cam01')", "has no frames"),
    "inconsistent intrinsics": (lambda c: c["frames"][3].update(fl_x=999.0), "frames[3].fl_x", "contradicts video"),
    "inconsistent size": (lambda c: c["frames"][0].update(w=64), "frames[0].w", "contradicts video"),
    "missing local_time in one frame": (lambda c: c["frames"][2].pop("local_time"), "local_time", "plain ns-process-data"),
    "video index out of range": (lambda c: c["frames"][0].update(video=9), "frames[0].video", "out of range"),
    "missing fps": (lambda c: c["videos"][0].pop("fps"), "videos[0] ('cam00').fps", "missing"),
    "bad pose": (lambda c: c["frames"][0].update(transform_matrix=[[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),
                 "frames[0].transform_matrix", "not a proper rotation"),
    "static camera with moving poses": (lambda c: c["frames"][1]["transform_matrix"][0].__setitem__(3, 5.0),
                                        "videos[0].moving", "declared static"),
    "duplicate frame": (lambda c: c["frames"].append(dict(c["frames"][0])), "'frames'", "more than once"),
    "missing image": (lambda c: c["frames"][5].update(file_path="images/cam00/nope.png"), "frames.file_path", "nope.png"),
    "missing ground truth file": (lambda c: c.update(ground_truth="gone.json"), "'ground_truth'", "gone.json"),
    "distortion": (lambda c: c["frames"][0].update(k1=0.1), "frames[0].k1", "distortion"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_transforms_name_file_and_field(editable, case):
    change, field, detail = BAD_CASES[case]
    data = editable(change)
    with pytest.raises(TransformsFormatError) as info:
        load_transforms(data)
    message = str(info.value)
    assert "transforms.json" in message and field in message and detail in message, f"{case}: {message}"


def test_missing_file_and_invalid_json(tmp_path):
    with pytest.raises(TransformsFormatError, match="no such transforms file"):
        load_transforms(tmp_path)
    (tmp_path / "transforms.json").write_text("{not json")
    with pytest.raises(TransformsFormatError, match="not valid JSON"):
        load_transforms(tmp_path)
    (tmp_path / "transforms.json").write_bytes(b'{"frames": "\xff\xfe"}')  # not UTF-8: was a UnicodeDecodeError
    with pytest.raises(TransformsFormatError, match=r"transforms.json: not valid JSON \('utf-8' codec can't decode byte 0xff"):
        load_transforms(tmp_path)


def _plain_nerfstudio(content):
    """What ns-process-data writes: frames with file_path, transform_matrix and shared intrinsics."""
    video0 = [f for f in content["frames"] if f["video"] == 0]
    frames = [{"file_path": f["file_path"], "transform_matrix": f["transform_matrix"]} for f in reversed(video0)]
    intrinsics = {k: content["videos"][0][k] for k in ("fl_x", "fl_y", "cx", "cy", "w", "h")}
    content.clear()
    content.update(camera_model="OPENCV", frames=frames, **intrinsics)


def test_plain_ns_process_data_is_a_clear_error_or_one_video_with_plain_fps(editable):
    data = editable(_plain_nerfstudio)
    with pytest.raises(TransformsFormatError, match="plain ns-process-data.*plain-fps"):
        HumanSyncDataParserConfig(data=data).setup().get_dataparser_outputs("train")
    parser = HumanSyncDataParserConfig(data=data, plain_fps=10.0).setup()
    outputs = parser.get_dataparser_outputs("train")
    assert outputs.metadata["num_videos"] == 1 and outputs.metadata["moving_videos"] == [0]
    # frames are ordered by file name, local time = i / fps
    assert [p.name for p in outputs.image_filenames][:2] == ["frame_000000.png", "frame_000001.png"]
    assert outputs.metadata["local_time_s"][:3].tolist() == pytest.approx([0.0, 0.1, 0.2])


def test_bad_eval_video_names_the_choices(procedural_capture):
    parser = HumanSyncDataParserConfig(data=procedural_capture[0], eval_videos=("cam99",)).setup()
    with pytest.raises(SplitError, match=r"cam99.*\['cam00', 'cam01', 'cam02', 'cam03'\]"):
        parser.get_dataparser_outputs("train")
    parser = HumanSyncDataParserConfig(data=procedural_capture[0], eval_videos=("0", "1", "2", "3")).setup()
    with pytest.raises(SplitError, match="holds out every video"):
        parser.get_dataparser_outputs("train")
