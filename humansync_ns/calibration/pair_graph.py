"""Which pairs of videos to align with DTW when aligning all N(N−1)/2 of them is too slow.

DTW is the expensive step: one cost matrix per pair. With N videos the time offsets need only a
connected graph of pairs; cycles in it let the global solve reject a wrong pair. The graph here is
a circulant: video i is paired with i ± s for a few jumps s spread geometrically from 1 to about N/2
(e.g. 1, 3, 10, 32 for N = 100 and 8 pairs per video). Every video gets the same number of pairs,
every pair lies on many short cycles, and any two videos are a few jumps apart, so errors do not
accumulate along long chains (a ring would need N/2 steps). Deterministic: the same videos give the
same pairs. Videos whose pairs fail (no shared time, unobservable offset) get more partners in later
rounds (`more_partners`).
"""

from __future__ import annotations

import numpy as np


def all_pairs(num_videos: int) -> list[tuple[int, int]]:
    """Every pair (i, j), i < j."""
    return [(i, j) for i in range(num_videos) for j in range(i + 1, num_videos)]


def circulant_pairs(num_videos: int, pairs_per_video: int) -> list[tuple[int, int]]:
    """A circulant graph with about `pairs_per_video` pairs per video (all pairs when that is every other video).

    Jumps `s_k = round(H^(k/(m−1)))`, k = 0 … m−1 with m = pairs_per_video / 2 and H = (N − 1) // 2
    (so that each jump gives every video two partners), deduplicated; each jump pairs every video i
    with i + s_k (mod N).
    """
    N = num_videos
    if pairs_per_video >= N - 1:
        return all_pairs(N)
    count = max(1, pairs_per_video // 2)
    half = max(1, (N - 1) // 2)
    jumps = sorted({int(round(half ** (k / max(count - 1, 1)))) for k in range(count)} - {0})
    pairs = {tuple(sorted((i, (i + s) % N))) for s in jumps for i in range(N)}
    return sorted(p for p in pairs if p[0] != p[1])


def more_partners(num_videos: int, videos: list[int], tried: set[tuple[int, int]], per_video: int) -> list[tuple[int, int]]:
    """Up to `per_video` untried pairs for each of `videos`, nearest index distance first (cyclic), so a
    video that failed with its graph neighbours tries the next ones."""
    N = num_videos
    out: set[tuple[int, int]] = set()
    for v in videos:
        distance = np.minimum(np.abs(np.arange(N) - v), N - np.abs(np.arange(N) - v))
        added = 0
        for u in np.argsort(distance, kind="stable"):
            pair = (min(v, int(u)), max(v, int(u)))
            if u == v or pair in tried or pair in out:
                continue
            out.add(pair)
            added += 1
            if added == per_video:
                break
    return sorted(out)
