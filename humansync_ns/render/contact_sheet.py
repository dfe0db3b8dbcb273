"""Contact sheets: a grid of frames in one PNG, for a person to look at instead of a number.

The demo writes one beside its novel-view video (read back from the mp4, so the sheet shows what
the video shows), and the benchmarks write held-out frames of several variants side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw


def grid(rows: Sequence[Sequence[np.ndarray]], labels: Optional[Sequence[str]] = None, scale: int = 2, gap: int = 2) -> np.ndarray:
    """(H', W', 3) uint8 grid of equally sized uint8 images, `rows[i][j]` at row i, column j, each
    magnified `scale` times (nearest neighbour, so pixels stay visible); an optional label per row
    is written in its first tile."""
    if not rows or not rows[0]:
        raise ValueError("contact sheet: no images")
    height, width = rows[0][0].shape[:2]
    columns = max(len(row) for row in rows)
    tile_h, tile_w = height * scale, width * scale
    sheet = Image.new("RGB", (columns * tile_w + (columns - 1) * gap, len(rows) * tile_h + (len(rows) - 1) * gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            if image.shape[:2] != (height, width):
                raise ValueError(f"contact sheet: image ({i}, {j}) is {image.shape[:2]}, the first is {(height, width)}")
            tile = Image.fromarray(np.ascontiguousarray(image[..., :3])).resize((tile_w, tile_h), Image.NEAREST)
            sheet.paste(tile, (j * (tile_w + gap), i * (tile_h + gap)))
        if labels is not None and i < len(labels):
            draw.text((3, i * (tile_h + gap) + 2), labels[i], fill=(255, 255, 0))
    return np.asarray(sheet)


def video_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video file as (H, W, 3) uint8 RGB (PyAV, no ffmpeg binary)."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def video_contact_sheet(video_path: Path, output_path: Path, num_frames: int = 12, columns: int = 6, scale: int = 2) -> Path:
    """A PNG of `num_frames` evenly spaced frames of a video, `columns` per row."""
    frames = video_frames(video_path)
    if not frames:
        raise ValueError(f"{video_path}: the video has no frames")
    picks = np.unique(np.linspace(0, len(frames) - 1, min(num_frames, len(frames))).round().astype(int))
    chosen = [frames[i] for i in picks]
    rows = [chosen[k : k + columns] for k in range(0, len(chosen), columns)]
    output_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid(rows, scale=scale)).save(output_path)
    return output_path
