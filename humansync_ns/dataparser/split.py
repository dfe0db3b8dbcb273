"""Train/eval split by held-out video (the paper holds out one camera) and per-video subsampling.

Eval frames are restricted to the global time span that every training video covers, so the
held-out camera is only scored at instants the training cameras saw (the paper's protocol).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from humansync_ns.dataparser.transforms_io import TransformsData


class SplitError(ValueError):
    """The requested split cannot be made from this capture."""


def resolve_eval_videos(spec: Sequence[str], video_names: list[str], source: str) -> list[int]:
    """Eval video indices from names or indices (as strings, tyro-friendly).

    An empty `spec` holds out the last video (deterministic; the calibration's reference is
    usually the first), or nothing when the capture has a single video.
    """
    if not spec:
        return [len(video_names) - 1] if len(video_names) > 1 else []
    chosen = []
    for item in spec:
        item = str(item)
        if item in video_names:
            chosen.append(video_names.index(item))
        elif item.lstrip("-").isdigit() and -len(video_names) <= int(item) < len(video_names):
            chosen.append(int(item) % len(video_names))
        else:
            raise SplitError(f"{source}: eval_videos entry '{item}' is neither a video name nor an index; videos: {video_names}")
    chosen = sorted(set(chosen))
    if len(chosen) == len(video_names):
        raise SplitError(f"{source}: eval_videos {list(spec)} holds out every video; keep at least one for training")
    return chosen


def common_span(data: TransformsData, videos: Sequence[int]) -> tuple[float, float]:
    """(start, end) global seconds covered by every one of `videos` (all their frames)."""
    global_time = data.global_time_s
    starts, ends = [], []
    for v in videos:
        times = global_time[data.frames_of(v)]
        starts.append(times.min())
        ends.append(times.max())
    return float(max(starts)), float(min(ends))


def strided_rows(data: TransformsData, videos: Sequence[int], stride: int) -> np.ndarray:
    """Row indices of every `stride`-th frame of each video, in (video, frame) order."""
    if stride < 1:
        raise SplitError(f"frame stride must be >= 1, got {stride}")
    return np.concatenate([data.frames_of(v)[::stride] for v in videos]).astype(np.int64)


def eval_rows(data: TransformsData, eval_videos: Sequence[int], train_videos: Sequence[int], stride: int,
              restrict_to_common_span: bool, tolerance_s: float = 1e-6) -> np.ndarray:
    """Frames of the held-out videos inside the training videos' common span, every `stride`-th."""
    rows = strided_rows(data, eval_videos, stride)
    if not restrict_to_common_span:
        return rows
    start, end = common_span(data, train_videos)
    if start > end:
        raise SplitError(
            f"{data.path}: the training videos have no common time span ({start:.3f} s > {end:.3f} s); "
            "eval frames cannot be restricted to it (set restrict_eval_to_common_span=False)"
        )
    times = data.global_time_s[rows]
    kept = rows[(times >= start - tolerance_s) & (times <= end + tolerance_s)]
    if kept.size == 0:
        names = [data.videos[v].name for v in eval_videos]
        raise SplitError(
            f"{data.path}: held-out video(s) {names} have no frame inside the training videos' common span "
            f"[{start:.3f}, {end:.3f}] s"
        )
    return kept
