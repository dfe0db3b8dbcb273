"""Lazily decoded frames in a byte-bounded LRU cache.

A capture at the paper's scale (30 videos × 300 frames at 1K) is ~50 GB as uint8 and four times
that as float32, so frames are decoded on demand at the training resolution and kept as uint8
`(H, W, 3)` tensors in a cache whose total size never exceeds `max_bytes`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np
import torch
from jaxtyping import UInt8
from PIL import Image
from torch import Tensor


class FrameLoadError(ValueError):
    """A frame image cannot be read at the size its camera expects."""


def load_frame_uint8(path: Path, width: int, height: int) -> UInt8[Tensor, "height width 3"]:
    """Reads an image as RGB uint8, resized to (width, height) when it is an exact downscale.

    A file already at (width, height) is used as is; a full-resolution file whose size is an
    integer multiple of the target (the ns-process-data `images_N` rule, floor division) is
    resized with a box filter; any other size is an error naming the file.
    """
    try:
        with Image.open(path) as image:
            image = image.convert("RGB") if image.mode != "RGB" else image
            file_width, file_height = image.size
            if (file_width, file_height) != (width, height):
                factor = file_width / width
                if not (factor > 1 and file_width // round(factor) == width and file_height // round(factor) == height):
                    raise FrameLoadError(
                        f"{path}: image is {file_width}x{file_height}, expected {width}x{height} "
                        "(or an integer multiple of it)"
                    )
                image = image.resize((width, height), resample=Image.Resampling.BOX)
            array = np.asarray(image, dtype=np.uint8)
    except OSError as err:
        raise FrameLoadError(f"{path}: cannot read image ({err})") from err
    return torch.from_numpy(array.copy())


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    peak_bytes: int = 0


class FrameCache:
    """Byte-bounded LRU cache of decoded frames.

    Args:
        max_bytes: Upper bound of the summed `nbytes` of the cached tensors. A single frame larger
            than the bound is returned but not kept.
        loader: Decodes one key into a tensor (called outside the lock, possibly in threads).
    """

    def __init__(self, max_bytes: int, loader: Callable[[Hashable], Tensor]):
        if max_bytes <= 0:
            raise ValueError(f"FrameCache max_bytes must be positive, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._loader = loader
        self._items: OrderedDict[Hashable, Tensor] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> Tensor:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.stats.hits += 1
                return self._items[key]
            self.stats.misses += 1
        value = self._loader(key)
        self._insert(key, value)
        return value

    def get_many(self, keys: Sequence[Hashable], num_threads: int = 2) -> list[Tensor]:
        """Several frames at once; misses are decoded in a thread pool (PNG decoding drops the GIL)."""
        with self._lock:
            missing = list(dict.fromkeys(k for k in keys if k not in self._items))
        loaded: dict[Hashable, Tensor] = {}
        if missing:
            if num_threads > 1 and len(missing) > 1:
                with ThreadPoolExecutor(max_workers=num_threads) as pool:
                    loaded = dict(zip(missing, pool.map(self._loader, missing)))
            else:
                loaded = {k: self._loader(k) for k in missing}
            with self._lock:
                self.stats.misses += len(missing)
            for key, value in loaded.items():
                self._insert(key, value)
        out = []
        for key in keys:
            value = loaded.get(key)
            out.append(value if value is not None else self.get(key))
        return out

    def _insert(self, key: Hashable, value: Tensor) -> None:
        size = value.nbytes
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return
            while self._items and self._bytes + size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes
                self.stats.evictions += 1
            self._items[key] = value
            self._bytes += size
            self.stats.peak_bytes = max(self.stats.peak_bytes, self._bytes)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
