"""Names the trained model or its capture does not have end as one clear input error (a plain
KeyError used to reach humansync-render's users as a traceback)."""

import pytest
import torch

from nerfstudio.cameras.cameras import Cameras
from humansync_ns.render.render_video import RenderInputError, VideoCameras, find_video, render_frames
from humansync_ns.tools.cli_errors import is_input_error


def _cameras(n: int) -> Cameras:
    return Cameras(camera_to_worlds=torch.eye(4)[:3].expand(n, 3, 4), fx=10.0, fy=10.0, cx=4.0, cy=3.0, width=8, height=6,
                   times=torch.linspace(0, 1, n)[:, None])


def test_find_video_names_the_capture_videos():
    videos = [VideoCameras("cam00", _cameras(2)), VideoCameras("cam01", _cameras(2))]
    assert find_video(videos, "cam01") is videos[1]
    with pytest.raises(RenderInputError, match=r"no video named 'cam7'; the capture has \['cam00', 'cam01'\]") as info:
        find_video(videos, "cam7")
    assert is_input_error(info.value)


class _Model:
    """Renders a grey 'rgb' image for any camera."""

    def eval(self) -> None:
        pass

    def get_outputs_for_camera(self, camera: Cameras) -> dict:
        return {"rgb": torch.full((6, 8, 3), 0.5), "depth": torch.ones(6, 8, 1)}


class _Pipeline:
    model = _Model()
    device = torch.device("cpu")


def test_render_frames_names_the_outputs_the_model_has():
    frames = render_frames(_Pipeline(), _cameras(2), "rgb")
    assert len(frames) == 2 and frames[0].shape == (6, 8, 3) and int(frames[0][0, 0, 0]) == 128
    with pytest.raises(RenderInputError, match=r"the model has no output 'normals'; it renders \['depth', 'rgb'\]") as info:
        render_frames(_Pipeline(), _cameras(2), "normals")
    assert is_input_error(info.value)
