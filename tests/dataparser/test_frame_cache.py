"""The frame cache never holds more than its byte bound and evicts least-recently-used first."""

import numpy as np
import pytest
import torch

from humansync_ns.dataparser.frame_cache import FrameCache, FrameLoadError, load_frame_uint8
from PIL import Image


def _loader(key):
    """Frame `key` = (id, height): a (height, 10, 3) uint8 tensor filled with id."""
    ident, height = key
    return torch.full((height, 10, 3), ident % 256, dtype=torch.uint8)


def test_cache_never_exceeds_its_bound():
    rng = np.random.default_rng(0)
    cache = FrameCache(max_bytes=5000, loader=_loader)
    for _ in range(500):
        ident = int(rng.integers(20))
        key = (ident, 5 + (7 * ident) % 50)  # frames of 150 to 1620 bytes
        frame = cache.get(key)
        assert frame.shape == (key[1], 10, 3) and int(frame[0, 0, 0]) == key[0] % 256
        assert cache.bytes_used <= 5000
        assert cache.bytes_used == sum(v.nbytes for v in cache._items.values())
    assert cache.stats.peak_bytes <= 5000 and cache.stats.evictions > 0 and cache.stats.hits > 0


def test_get_many_respects_the_bound_and_returns_in_order():
    cache = FrameCache(max_bytes=3 * 300, loader=_loader)  # three 10×10×3 frames
    frames = cache.get_many([(i, 10) for i in range(6)], num_threads=2)
    assert [int(f[0, 0, 0]) for f in frames] == list(range(6))
    assert cache.bytes_used <= 900 and len(cache) == 3


def test_lru_order_and_oversized_frames():
    cache = FrameCache(max_bytes=600, loader=_loader)  # two 10×10×3 frames
    cache.get((1, 10))
    cache.get((2, 10))
    cache.get((1, 10))  # 1 is now the most recent
    cache.get((3, 10))  # evicts 2
    assert (1, 10) in cache and (3, 10) in cache and (2, 10) not in cache
    big = cache.get((4, 100))  # 3000 bytes: returned, not kept
    assert big.shape == (100, 10, 3) and (4, 100) not in cache and cache.bytes_used == 600


def test_load_frame_resizes_exact_downscales_only(tmp_path):
    path = tmp_path / "frame.png"
    Image.fromarray(np.full((24, 32, 3), 7, dtype=np.uint8)).save(path)
    assert load_frame_uint8(path, 32, 24).shape == (24, 32, 3)
    assert load_frame_uint8(path, 16, 12).shape == (12, 16, 3)
    with pytest.raises(FrameLoadError, match=r"frame.png: image is 32x24, expected 20x12"):
        load_frame_uint8(path, 20, 12)
    with pytest.raises(FrameLoadError, match="cannot read image"):
        (tmp_path / "bad.png").write_bytes(b"not a png")
        load_frame_uint8(tmp_path / "bad.png", 32, 24)
