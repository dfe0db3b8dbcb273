"""Rendered pixels agree with the ground-truth cameras and with the motion files."""

import numpy as np
import pytest

import humansync_ns.synthetic.renderer as renderer_module
from humansync_ns.synthetic.renderer import BACKGROUND_ID, FrameRenderer, render_video
from humansync_ns.synthetic.scene import FLOOR_ID, WALL_ID

from conftest import project


@pytest.fixture(scope="module")
def renderer(clean_capture):
    c = clean_capture
    return FrameRenderer(c.scene, c.config.width, c.config.height, c.people.colors, c.people.sizes)


def _frames(renderer, capture, video_index, frame_ids):
    video, bodies = capture.videos[video_index], capture.video_bodies[video_index]
    poses = np.broadcast_to(video.camera_to_world, (len(frame_ids), 4, 4)).copy()
    return renderer.render(video.K, poses, bodies.joints[frame_ids])


def _gt_rays(video, width, height):
    """Pixel-centre rays of the ground-truth camera, computed independently of the renderer."""
    v, u = np.mgrid[0:height, 0:width]
    K_inv = np.linalg.inv(video.K)
    d_cam = np.stack([u + 0.5, v + 0.5, np.ones_like(u, dtype=float)], axis=-1) @ K_inv.T
    d = d_cam @ video.camera_to_world[:3, :3].T
    return video.camera_to_world[:3, 3], d / np.linalg.norm(d, axis=-1, keepdims=True)


@pytest.mark.parametrize("video_index", [0, 2])
def test_room_lands_where_the_ground_truth_camera_says(renderer, clean_capture, video_index):
    """Floor pixels: depth = distance to z = 0 along the true pixel ray; wall pixels: to the wall."""
    video = clean_capture.ground_truth.videos[video_index]
    frames = _frames(renderer, clean_capture, video_index, [0])
    origin, dirs = _gt_rays(video, video.width, video.height)
    surface, depth = frames.surface_id[0].numpy(), frames.depth[0].numpy()
    floor = surface == FLOOR_ID
    assert floor.sum() > 0.15 * floor.size
    np.testing.assert_allclose(depth[floor], -origin[2] / dirs[floor][:, 2], rtol=2e-5)
    wall = surface == WALL_ID
    assert wall.sum() > 0.1 * wall.size
    half = clean_capture.scene.room_half_size
    t_wall = np.min(np.stack([(np.sign(dirs[wall][:, k]) * half - origin[k]) / dirs[wall][:, k] for k in (0, 1)]), axis=0)
    np.testing.assert_allclose(depth[wall], t_wall, rtol=2e-5)


def test_motion_files_reproject_onto_the_rendered_person(renderer, clean_capture):
    hits = total = 0
    for v, (track, video) in enumerate(zip(clean_capture.clean_tracks, clean_capture.videos)):
        frame_ids = np.arange(0, track.num_frames, 15)
        frames = _frames(renderer, clean_capture, v, frame_ids)
        uv = project(track.joints[frame_ids], track.K)  # (F, P, 24, 2)
        for p in range(clean_capture.people.num_people):
            ok = track.valid[frame_ids, p][:, None] & (uv[:, p, :, 0] >= 0) & (uv[:, p, :, 0] < video.width) & (uv[:, p, :, 1] >= 0) & (uv[:, p, :, 1] < video.height)
            f_idx, j_idx = np.nonzero(ok)
            cols, rows = np.floor(uv[f_idx, p, j_idx, 0]).astype(int), np.floor(uv[f_idx, p, j_idx, 1]).astype(int)
            ids = frames.person_id.numpy()[f_idx, rows, cols]
            hits += int((ids == p).sum())
            total += len(ids)
            color = frames.color.numpy()[f_idx, rows, cols]
            on_person = ids == p
            dominant = np.argmax(clean_capture.people.colors[p])
            assert np.mean(np.argmax(color[on_person], axis=-1) == dominant) > 0.99
    assert total > 500
    assert hits / total > 0.97, f"only {hits}/{total} projected joints land on their person"


@pytest.mark.parametrize("video_index", [1, 3])
def test_culling_changes_nothing(renderer, clean_capture, monkeypatch, video_index):
    """Per-capsule culling (fast) = per-body culling (reference) = ray casting the whole image."""
    frame_ids = [0, 7, 19, 33]
    fast = _frames(renderer, clean_capture, video_index, frame_ids)
    c = clean_capture
    reference_renderer = FrameRenderer(c.scene, c.config.width, c.config.height, c.people.colors, c.people.sizes, culling="person")
    reference = _frames(reference_renderer, clean_capture, video_index, frame_ids)
    full = lambda starts, *args: np.tile([0, 0, args[-2], args[-1]], (starts.shape[0], 1))  # noqa: E731
    monkeypatch.setattr(renderer_module, "screen_boxes", full)
    unculled = _frames(reference_renderer, clean_capture, video_index, frame_ids)
    for other in (reference, unculled):
        np.testing.assert_array_equal(fast.person_id.numpy(), other.person_id.numpy())
        # float32 summation order differs; where two body parts meet, a near-tie may pick the other part's shade.
        color_diff = np.abs(fast.color.numpy() - other.color.numpy())
        assert np.mean(color_diff < 1e-3) > 0.999 and color_diff.max() < 0.1
        np.testing.assert_allclose(fast.depth.numpy(), other.depth.numpy(), atol=1e-3)
    assert (fast.person_id.numpy() != BACKGROUND_ID).sum() > 100


def test_batches_cover_every_frame_once(renderer, clean_capture):
    video, bodies = clean_capture.videos[3], clean_capture.video_bodies[3]
    batches = list(render_video(renderer, video.K, video.camera_to_world, bodies.joints[:45], frames_per_batch=16))
    assert [b.color.shape[0] for b in batches] == [16, 16, 13]
    single = _frames(renderer, clean_capture, 3, [40])
    np.testing.assert_array_equal(batches[-1].person_id[8].numpy(), single.person_id[0].numpy())


def test_background_has_texture_gradients(renderer, clean_capture):
    """Photometric refinement needs gradients: the background is far from flat."""
    frames = _frames(renderer, clean_capture, 0, [0])
    gray = frames.color[0].numpy().mean(-1)
    background = frames.person_id[0].numpy() == BACKGROUND_ID
    grad = np.abs(np.diff(gray, axis=1))[background[:, 1:] & background[:, :-1]]
    assert np.median(grad) > 0.01 and np.percentile(grad, 90) > 0.04
