"""The field benchmarks' shared harness (`benchmarks/field_eval.py`): `--set` parsing and the
frames PNG, which must show the same held-out frame in every row of a column even when the runs
scored different spans (a Sync-NeRF-like start moves the common span) at different resolutions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import field_eval  # noqa: E402


def test_parse_overrides_reads_literals_and_strings():
    overrides = field_eval.parse_overrides(
        ["pipeline.datamanager.importance_sampling=True", "a.b=(64, 64, 64)", "pipeline.datamanager.dataparser.scene_box_from=people", "x=2"]
    )
    assert overrides == {
        "pipeline.datamanager.importance_sampling": True,
        "a.b": (64, 64, 64),
        "pipeline.datamanager.dataparser.scene_box_from": "people",
        "x": 2,
    }


@pytest.mark.parametrize("item", ["no_equals_sign", "=3"])
def test_parse_overrides_rejects_malformed_items(item):
    with pytest.raises(ValueError, match="DOTTED.KEY=VALUE"):
        field_eval.parse_overrides([item])


def _frame_colour(frame: int) -> int:
    return 20 + 10 * frame


def _eval_folder(folder: Path, frames: range, size: tuple[int, int]) -> Path:
    """Eval images as the pipeline writes them (ground truth | render) for `frames` of cam09, with
    `frames.json`: each ground truth is a grey background with a bright square (the walking person)
    that moves right by 1/16 of the width per frame; each render is flat at a grey level that names
    its frame."""
    folder.mkdir(parents=True)
    height, width = size
    index = {}
    for i, frame in enumerate(frames):
        truth = np.full((height, width, 3), 100, np.uint8)
        x = frame * width // 16
        truth[height // 2 : height // 2 + height // 6, x : x + width // 8] = 250
        render = np.full((height, width, 3), _frame_colour(frame), np.uint8)
        name = f"eval_cam09_{i:04d}.png"
        Image.fromarray(np.concatenate([truth, render], axis=1)).save(folder / name)
        index[name] = f"cam09/frame_{frame:06d}"
    (folder / field_eval.FRAMES_INDEX).write_text(json.dumps(index))
    return folder


def test_frames_sheet_matches_runs_by_source_frame(tmp_path):
    # run "a" scored frames 0-9 at 16x12, run "b" frames 4-13 at 32x24: they share frames 4-9
    a = _eval_folder(tmp_path / "a", range(0, 10), (12, 16))
    b = _eval_folder(tmp_path / "b", range(4, 14), (24, 32))
    path = field_eval.held_out_frames_sheet([("a", a), ("b", b)], tmp_path / "frames.png", num_frames=3, tile_width=64)
    sheet = np.asarray(Image.open(path).convert("RGB")).astype(int)
    tile_h, tile_w, gap = 48, 64, 2  # the largest size (32x24) magnified twice
    assert sheet.shape == (6 * tile_h + 5 * gap, 3 * tile_w + 2 * gap, 3)  # 3 rows, then their moving-region crops

    def pixel(row: int, column: int, y: float, x: float) -> int:
        return int(sheet[int(row * (tile_h + gap) + y * tile_h), int(column * (tile_w + gap) + x * tile_w), 0])

    for column, frame in enumerate((4, 6, 9)):  # evenly spaced over the shared frames
        # ground truth (from the sharper run): the square where this frame has it
        square_x = (2 * frame + 2) / 32
        assert pixel(0, column, 0.58, square_x) == 250 and pixel(0, column, 0.58, (square_x + 0.5) % 1) == 100, f"column {column}"
        # each run's render at the same frame (sampled below the row labels written into each row's first tile)
        assert [pixel(row, column, 0.75, 0.5) for row in (1, 2)] == [_frame_colour(frame)] * 2, f"column {column}"
        # the ground truth's crop is centred on the moving square
        assert pixel(3, column, 0.58, 0.56) == 250 and pixel(3, column, 0.9, 0.1) == 100, f"column {column}"


def test_frames_sheet_refuses_runs_without_a_shared_frame(tmp_path):
    a = _eval_folder(tmp_path / "a", range(0, 4), (12, 16))
    b = _eval_folder(tmp_path / "b", range(4, 8), (12, 16))
    with pytest.raises(ValueError, match="no held-out frame in common"):
        field_eval.held_out_frames_sheet([("a", a), ("b", b)], tmp_path / "frames.png")
