"""Contact sheets: the frames land in the grid where they belong, magnified, and a video's sheet
shows evenly spaced frames of what the video holds."""

import numpy as np
import pytest

from humansync_ns.render.contact_sheet import grid, video_contact_sheet
from humansync_ns.render.render_video import write_video


def _frames(count: int, height: int = 16, width: int = 24) -> list[np.ndarray]:
    """Frames whose grey level encodes their index (easy to recognise after H.264)."""
    return [np.full((height, width, 3), 10 + 20 * i, dtype=np.uint8) for i in range(count)]


def test_grid_places_each_image_magnified_with_gaps():
    images = _frames(5)
    sheet = grid([images[:3], images[3:]], scale=2, gap=2)
    assert sheet.shape == (2 * 32 + 2, 3 * 48 + 2 * 2, 3)
    for i, image in enumerate(images):
        row, column = divmod(i, 3)
        tile = sheet[row * 34 : row * 34 + 32, column * 50 : column * 50 + 48]
        assert np.all(tile == image[0, 0]), i
    assert np.all(sheet[32:34] == 255), "white gap between rows"
    with pytest.raises(ValueError, match="is"):
        grid([[images[0], np.zeros((8, 8, 3), np.uint8)]])


def test_video_contact_sheet_shows_evenly_spaced_frames(tmp_path):
    video = write_video(_frames(11), tmp_path / "clip.mp4", fps=10.0)
    sheet_path = video_contact_sheet(video, tmp_path / "sheet.png", num_frames=6, columns=3, scale=1)
    from PIL import Image

    sheet = np.asarray(Image.open(sheet_path))
    assert sheet.shape == (2 * 16 + 2, 3 * 24 + 2 * 2, 3)
    levels = [sheet[r * 18 + 8, c * 26 + 12, 0] for r in range(2) for c in range(3)]
    expected = [10 + 20 * i for i in (0, 2, 4, 6, 8, 10)]  # frames 0, 2, ..., 10 of 11
    assert np.all(np.abs(np.array(levels, int) - expected) <= 3), levels
