"""The written videos and PNG frames: decodable, right size/rate/length, faithful to the renders."""

import numpy as np
import pytest

from humansync_ns.synthetic.capture import generate_capture, simulate_capture
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.renderer import FrameRenderer

from conftest import project

pytestmark = pytest.mark.slow  # renders and encodes three tiny captures (~15 s on 2 busy cores)

TINY = dict(seed=12, num_cameras=2, duration_s=1.0, start_spread_s=0.2, length_jitter_s=0.0, mixed_fps=True, write_frames=True)


def _decode(path):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return rate, frames


def _png(folder, index):
    from PIL import Image

    return np.asarray(Image.open(folder / f"frame_{index:06d}.png"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    config = SynthConfig(**TINY).noise_free()
    return config, generate_capture(config, tmp_path_factory.mktemp("video"))


def test_videos_decode_with_the_right_rate_size_and_length(tiny):
    config, out = tiny
    capture = simulate_capture(config)
    for video in capture.videos:
        rate, frames = _decode(out / "videos" / f"{video.name}.mp4")
        assert rate == pytest.approx(video.fps)
        assert frames.shape == (video.num_frames, config.height, config.width, 3)
        pngs = sorted((out / "frames" / video.name).glob("frame_*.png"))
        assert len(pngs) == video.num_frames
        png = np.stack([_png(out / "frames" / video.name, i) for i in (0, video.num_frames - 1)])
        mse = np.mean((frames[[0, -1]].astype(float) - png.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / mse) > 28, "H.264 frames should match the PNG renders"
    assert [v.fps for v in capture.videos] == [30.0, 24.0]


def test_png_frames_are_the_renders_and_show_the_person_at_the_motion_file_joints(tiny):
    config, out = tiny
    capture = simulate_capture(config)
    video, bodies, track = capture.videos[0], capture.video_bodies[0], capture.tracks[0]
    renderer = FrameRenderer(capture.scene, config.width, config.height, capture.people.colors, capture.people.sizes)
    frame = 5
    rendered = renderer.render(video.K, video.camera_to_world[None], bodies.joints[frame : frame + 1])
    png = _png(out / "frames" / video.name, frame)
    np.testing.assert_array_equal(png, np.round(rendered.color[0].numpy() * 255).astype(np.uint8))
    uv = project(track.joints[frame, 0], track.K)
    torso = [0, 3, 6, 9]  # pelvis and spine: wide capsules, never a limb's edge
    pixels = png[np.floor(uv[torso, 1]).astype(int), np.floor(uv[torso, 0]).astype(int)].astype(int)
    assert np.all(pixels[:, 0] > pixels[:, 1] + 40) and np.all(pixels[:, 0] > pixels[:, 2] + 40), pixels  # person 0 is red


def test_gamma_and_image_noise_degrade_only_the_images(tmp_path, tiny):
    config, out = tiny
    degraded = config.replace(gamma_range=(2.0, 2.0), render_videos=False)  # same cameras (poses depend on their number)
    out2 = generate_capture(degraded, tmp_path / "gamma")
    a, b = _png(out / "frames" / "cam00", 3).astype(float), _png(out2 / "frames" / "cam00", 3).astype(float)
    np.testing.assert_allclose(b, 255 * (a / 255) ** 2, atol=1.6)
    assert not (out2 / "videos").exists()
    with np.load(out / "motion" / "cam00.npz") as m1, np.load(out2 / "motion" / "cam00.npz") as m2:
        np.testing.assert_array_equal(m1["joints"], m2["joints"])
    noisy = config.replace(image_noise_sigma=0.05, render_videos=False)
    c = _png(generate_capture(noisy, tmp_path / "noise") / "frames" / "cam00", 3).astype(float)
    assert 10 < np.std(c - a) < 15  # σ = 0.05 · 255 ≈ 12.8 (clipped at 0 and 255)
